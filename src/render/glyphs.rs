//! The glyph cache's public names, where the rest of the bar has always
//! found them; the text engine itself lives in [`super::text`].

pub use super::text::{FontError, Glyph, GlyphCache, LineMetrics, DEFAULT_FONT, WARM_CHARS};

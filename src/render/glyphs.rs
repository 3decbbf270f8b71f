//! Glyphs rasterised once per (character, pixel size) and kept.
//!
//! fontdue allocates a fresh coverage buffer on every `rasterize`; this cache
//! is what makes a steady tick allocation-free. It is warmed at start-up with
//! the characters a bar shows most, and fills in on first use otherwise.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The font embedded in the binary (a subset of DejaVu Sans Mono, see
/// `fonts/README.md`).
pub static DEFAULT_FONT: &[u8] = include_bytes!("../../fonts/DejaVuSansMono-subset.ttf");

/// Characters rasterised at start-up: printable ASCII plus the few symbols
/// the built-in modules use.
pub const WARM_CHARS: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~°·";

/// A rasterised glyph: 8-bit coverage plus where it sits relative to the pen.
#[derive(Debug)]
pub struct Glyph {
    /// Left edge of the bitmap relative to the pen position.
    pub left: i32,
    /// Top edge of the bitmap relative to the baseline (negative is above).
    pub top: i32,
    /// Bitmap width in pixels.
    pub width: u32,
    /// Bitmap height in pixels.
    pub height: u32,
    /// How far the pen moves after this glyph, whole pixels.
    pub advance: i32,
    /// `width * height` coverage values, row-major.
    pub coverage: Box<[u8]>,
}

/// Vertical metrics of the font at one size, whole pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineMetrics {
    /// Baseline to the top of the tallest glyphs.
    pub ascent: i32,
    /// Baseline to the bottom of the lowest glyphs (positive).
    pub descent: i32,
}

/// Cheap hasher for the small (char, size) keys: SipHash would cost more than
/// the lookup saves, and the keys are not attacker-chosen.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_u16(&mut self, n: u16) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type Key = (char, u16);

/// A font and every glyph of it drawn so far.
pub struct GlyphCache {
    font: fontdue::Font,
    /// Where glyphs the font lacks come from (the embedded font, under a
    /// user's chosen one).
    fallback: Option<fontdue::Font>,
    glyphs: HashMap<Key, Glyph, BuildHasherDefault<KeyHasher>>,
}

/// Why a font could not be used.
#[derive(Debug)]
pub struct FontError(pub String);

impl std::fmt::Display for FontError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot parse font: {}", self.0)
    }
}

impl GlyphCache {
    /// A cache over the embedded default font.
    pub fn with_default_font() -> GlyphCache {
        // The embedded font is known-good (a test parses it), so failing here
        // would be a build defect, not a runtime condition.
        GlyphCache::from_bytes(DEFAULT_FONT).expect("embedded font parses")
    }

    /// A cache over the TTF/OTF `data`.
    pub fn from_bytes(data: &[u8]) -> Result<GlyphCache, FontError> {
        let settings = fontdue::FontSettings::default();
        let font =
            fontdue::Font::from_bytes(data, settings).map_err(|e| FontError(e.to_string()))?;
        Ok(GlyphCache {
            font,
            fallback: None,
            glyphs: HashMap::default(),
        })
    }

    /// A cache over the TTF/OTF `data`, falling back to the embedded font
    /// for characters it lacks.
    pub fn with_fallback(data: &[u8]) -> Result<GlyphCache, FontError> {
        let mut cache = GlyphCache::from_bytes(data)?;
        let settings = fontdue::FontSettings::default();
        cache.fallback = fontdue::Font::from_bytes(DEFAULT_FONT, settings).ok();
        Ok(cache)
    }

    /// Rasterises every character of `chars` at `px` now, so ticks find them.
    pub fn warm(&mut self, chars: &str, px: u16) {
        self.glyphs.reserve(chars.len());
        for c in chars.chars() {
            self.glyph(c, px);
        }
    }

    /// How many glyphs are cached (for tests and start-up reporting).
    pub fn len(&self) -> usize {
        self.glyphs.len()
    }

    /// True when nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.glyphs.is_empty()
    }

    /// Ascent and descent at `px`.
    pub fn line_metrics(&self, px: u16) -> LineMetrics {
        match self.font.horizontal_line_metrics(px as f32) {
            Some(m) => LineMetrics {
                ascent: m.ascent.round() as i32,
                descent: (-m.descent).round() as i32,
            },
            // A font without a horizontal header: fall back to the usual
            // proportions of a Latin face.
            None => LineMetrics {
                ascent: (px as f32 * 0.8).round() as i32,
                descent: (px as f32 * 0.2).round() as i32,
            },
        }
    }

    /// The glyph for `c` at `px`, rasterising it on first use. A character
    /// the font lacks (or a control character) is drawn as a box, one box per
    /// size shared by all of them, so arbitrary text (window titles, process
    /// names) cannot grow the cache past the font's own glyphs.
    pub fn glyph(&mut self, c: char, px: u16) -> &Glyph {
        let key = (c, px);
        if self.glyphs.contains_key(&key) {
            return &self.glyphs[&key];
        }
        let mut font = &self.font;
        let mut index = font.lookup_glyph_index(c);
        if index == 0 && !c.is_control() {
            if let Some(fb) = &self.fallback {
                let i = fb.lookup_glyph_index(c);
                if i != 0 {
                    (font, index) = (fb, i);
                }
            }
        }
        let key = if c.is_control() || (index == 0 && !c.is_whitespace()) {
            (TOFU, px)
        } else {
            key
        };
        self.glyphs
            .entry(key)
            .or_insert_with(|| rasterize(font, key.0, index, px))
    }

    /// Width in pixels of `text` at `px` (the sum of the glyph advances).
    pub fn text_width(&mut self, text: &str, px: u16) -> i32 {
        text.chars().map(|c| self.glyph(c, px).advance).sum()
    }
}

/// The cache key of the shared missing-glyph box: a non-character that no
/// text contains.
const TOFU: char = '\u{FFFF}';

fn rasterize(font: &fontdue::Font, c: char, index: u16, px: u16) -> Glyph {
    if c == TOFU {
        return tofu(font, px);
    }
    let (m, coverage) = font.rasterize_indexed(index, px as f32);
    Glyph {
        left: m.xmin,
        top: -(m.ymin + m.height as i32),
        width: m.width as u32,
        height: m.height as u32,
        advance: m.advance_width.round() as i32,
        coverage: coverage.into_boxed_slice(),
    }
}

/// The fallback for a missing glyph: a hollow box as wide as a digit and as
/// tall as a capital, so a strange process name still shows *something*.
fn tofu(font: &fontdue::Font, px: u16) -> Glyph {
    let digit = font.metrics('0', px as f32);
    let advance = digit.advance_width.round().max(3.0) as i32;
    let cap = font.metrics('H', px as f32).height.max(3) as u32;
    let width = (advance as u32).saturating_sub(2).max(3);
    let mut coverage = vec![0u8; (width * cap) as usize];
    for y in 0..cap {
        for x in 0..width {
            if x == 0 || y == 0 || x == width - 1 || y == cap - 1 {
                coverage[(y * width + x) as usize] = 255;
            }
        }
    }
    Glyph {
        left: 1,
        top: -(cap as i32),
        width,
        height: cap,
        advance,
        coverage: coverage.into_boxed_slice(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_font_parses_and_digits_are_tabular() {
        let mut g = GlyphCache::with_default_font();
        let w0 = g.glyph('0', 15).advance;
        for c in "123456789 %.".chars() {
            assert_eq!(g.glyph(c, 15).advance, w0, "{c:?}");
        }
        assert!(w0 > 0);
    }

    #[test]
    fn missing_glyph_is_a_box() {
        let mut g = GlyphCache::with_default_font();
        // A private-use code point DejaVu does not have, and a control byte.
        for c in ['\u{F8FF}', '\n', '\u{4E2D}', '\u{FFFF}'] {
            let gl = g.glyph(c, 15);
            assert!(gl.width >= 3 && gl.height >= 3);
            assert_eq!(gl.coverage[0], 255);
        }
        // One shared box, not one entry per missing character.
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn chosen_font_falls_back_to_the_embedded_one() {
        // A DejaVu Serif subset with digits and a few capitals only.
        let serif = include_bytes!("../../tests/fixtures/serif-digits.ttf");
        let mut g = GlyphCache::with_fallback(serif).unwrap();
        let mut mono = GlyphCache::with_default_font();
        // What the chosen font has comes from it...
        assert_ne!(g.glyph('0', 15).coverage, mono.glyph('0', 15).coverage);
        // ...what it lacks from the embedded font, not a box.
        assert_eq!(g.glyph('°', 15).coverage, mono.glyph('°', 15).coverage);
        assert_eq!(g.glyph('z', 15).coverage, mono.glyph('z', 15).coverage);
        // Without the fallback, the same character is the shared box.
        let mut bare = GlyphCache::from_bytes(serif).unwrap();
        assert_eq!(bare.glyph('°', 15).coverage[0], 255);
        assert!(GlyphCache::with_fallback(b"not a font").is_err());
    }

    #[test]
    fn cached_once() {
        let mut g = GlyphCache::with_default_font();
        g.warm("abc", 15);
        g.warm("abc", 15);
        assert_eq!(g.len(), 3);
        g.warm("abc", 30);
        assert_eq!(g.len(), 6);
    }
}

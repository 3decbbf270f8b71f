//! The config's `[bar]` turned into what the layers below take: the surface
//! settings for `wayland`, the look for `render`, the glyph cache for the
//! chosen font. Plain functions of the config, so they are tested without a
//! compositor.

use crate::config::{self, Config, Layer, Outputs, Position};
use crate::modules::rgba;
use crate::render::glyphs::WARM_CHARS;
use crate::render::text::{FontChoice, SystemFonts};
use crate::render::{GlyphCache, Look};
use crate::wayland::{Edge, Stacking, SurfaceConfig};

/// The surface settings of `cfg`.
pub fn surface_config(cfg: &Config, force_argb: bool) -> SurfaceConfig {
    let b = &cfg.bar;
    SurfaceConfig {
        height: b.height,
        edge: match b.position {
            Position::Top => Edge::Top,
            Position::Bottom => Edge::Bottom,
        },
        layer: match b.layer {
            Layer::Background => Stacking::Background,
            Layer::Bottom => Stacking::Bottom,
            Layer::Top => Stacking::Top,
            Layer::Overlay => Stacking::Overlay,
        },
        margin: [b.margin.top, b.margin.right, b.margin.bottom, b.margin.left],
        outputs: match &b.outputs {
            Outputs::All => None,
            Outputs::Named(names) => Some(names.clone()),
        },
        look: look(b),
        force_argb,
    }
}

/// The renderer's look of `[bar]`.
///
/// The config speaks of text: `spacing` between two modules' text, `padding`
/// between the bar's ends and the outer text. The renderer pads each
/// segment's cell (the area a pointer hovers and a segment background
/// fills), puts a gap between cells and a margin at the ends; half the
/// spacing goes into each cell, so both distances come out exact.
pub fn look(b: &config::Bar) -> Look {
    let inner = (b.spacing / 2).min(b.padding);
    Look {
        font_px: b.font.size,
        padding: inner,
        gap: b.spacing - 2 * inner,
        margin: b.padding - inner,
        background: rgba(b.colors.background),
    }
}

/// The glyph cache for `font`, warmed for its size at scale 1: the chosen
/// file and families, the installed faces (found through fontconfig's
/// configuration, now) as per-character fallback, the embedded face last.
/// A file that cannot be used (it changed since validation) is an error
/// naming it.
pub fn glyphs(font: &config::Font) -> Result<GlyphCache, String> {
    let choice = FontChoice {
        families: font.family.clone(),
        path: font.path.clone(),
        index: font.index,
        weight: font.weight,
    };
    let mut cache =
        GlyphCache::load(&choice, SystemFonts::discover()).map_err(|e| format!("font {e}"))?;
    cache.warm(WARM_CHARS, (font.size.round() as u16).max(1));
    Ok(cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_and_padding_are_text_distances() {
        for (spacing, padding) in [(16, 8), (7, 20), (0, 0), (30, 4)] {
            let bar = config::Bar {
                spacing,
                padding,
                ..config::Bar::default()
            };
            let l = look(&bar);
            // Between two texts: the first cell's right padding, the gap,
            // the second cell's left padding.
            assert_eq!(2 * l.padding + l.gap, spacing, "{spacing} {padding}");
            // From the bar's end to the first text: margin + padding.
            assert_eq!(l.margin + l.padding, padding, "{spacing} {padding}");
        }
    }

    #[test]
    fn every_bar_key_reaches_the_surface() {
        let cfg = crate::modules::registry::parse(
            r##"
[bar]
position = "bottom"
layer = "overlay"
height = 40
outputs = ["HEADLESS-1", "DP-2"]
margin = { top = 1, right = 2, bottom = 3, left = 4 }
font = { size = 18 }
[bar.colors]
background = "#10203040"
"##,
            "t.toml",
            None,
        )
        .unwrap();
        let s = surface_config(&cfg, false);
        assert_eq!(s.height, 40);
        assert_eq!(s.edge, Edge::Bottom);
        assert_eq!(s.layer, Stacking::Overlay);
        assert_eq!(s.margin, [1, 2, 3, 4]);
        assert_eq!(
            s.outputs,
            Some(vec!["HEADLESS-1".to_string(), "DP-2".to_string()])
        );
        assert_eq!(s.look.font_px, 18.0);
        assert_eq!(s.look.background.0, [0x10, 0x20, 0x30, 0x40]);
        assert_eq!(
            surface_config(&crate::modules::registry::default_config(), false).outputs,
            None
        );
    }

    #[test]
    fn fonts_load_with_fallback_or_say_why_not() {
        let mut f = config::Font::default();
        assert!(!glyphs(&f).unwrap().is_empty(), "warmed");
        f.path = Some(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/serif-digits.ttf"
            )
            .into(),
        );
        assert!(glyphs(&f).is_ok());
        f.path = Some("/nonexistent/font.ttf".into());
        let e = glyphs(&f).err().unwrap();
        assert!(e.contains("/nonexistent/font.ttf"), "{e}");
    }
}

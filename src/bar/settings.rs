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
        margin: match b.frame.margin {
            Some([t, r, bo, l]) => [t, r, bo, l].map(u32::from),
            None => [b.margin.top, b.margin.right, b.margin.bottom, b.margin.left],
        },
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
        background: match b.frame.background {
            Some(bg) => rgba(bg.from),
            None => rgba(b.colors.background),
        },
        frame: frame(&b.frame),
    }
}

/// The bar's own box of `[bar.style.bar]` as the renderer takes it: what
/// a module's style would give, less its margin (which the compositor
/// leaves around the surface).
fn frame(spec: &config::style::StyleSpec) -> crate::render::Deco {
    let spec = config::style::StyleSpec {
        margin: None,
        ..*spec
    };
    crate::modules::style::apply(crate::render::Style::default(), &spec).deco
}

/// The glyph cache for `font`, warmed for its size at scale 1: the chosen
/// file and families, the installed faces (found through fontconfig's
/// configuration, now) as per-character fallback, the embedded face last.
/// With no font named, the embedded face draws and the installed faces are
/// looked up only for a character it lacks. A file that cannot be used (it
/// changed since validation) is an error naming it.
pub fn glyphs(font: &config::Font) -> Result<GlyphCache, String> {
    let mut cache = if font.family.is_empty() && font.path.is_none() {
        GlyphCache::embedded_then_installed(font.weight)
    } else {
        let choice = FontChoice {
            families: font.family.clone(),
            path: font.path.clone(),
            index: font.index,
            weight: font.weight,
            italic: font.italic,
            width: font.width,
        };
        GlyphCache::load(&choice, SystemFonts::discover()).map_err(|e| format!("font {e}"))?
    };
    cache.warm(WARM_CHARS, (font.size.round() as u16).max(1));
    Ok(cache)
}

/// The (family list, weight) pairs the styles of `cfg` can combine into,
/// the bar's own (0, 0) left out: a module's family with a state's weight
/// is one of them, so each is resolved at load and none while running.
pub fn font_sets(cfg: &Config) -> Vec<(u8, u16)> {
    let mut fams = vec![0u8];
    let mut weights = vec![0u16];
    let specs = std::iter::once(&cfg.bar.style)
        .chain(cfg.modules.iter().map(|m| &m.styles))
        .flat_map(|s| std::iter::once(&s.base).chain(s.states.iter().map(|(_, st)| st)));
    for spec in specs {
        if let Some(f) = spec.font.family {
            if !fams.contains(&f) {
                fams.push(f);
            }
        }
        if let Some(w) = spec.font.weight {
            if !weights.contains(&w) {
                weights.push(w);
            }
        }
    }
    let mut out = Vec::new();
    for &f in &fams {
        for &w in &weights {
            if (f, w) != (0, 0) && out.len() < crate::render::text::MAX_FONTS - 1 {
                out.push((f, w));
            }
        }
    }
    out
}

/// Resolves every font the styles of `cfg` name into `glyphs` (once, at
/// load: a family lookup each), warmed at their sizes; then the installed
/// faces' names are dropped ([`GlyphCache::fonts_chosen`]).
pub fn add_style_fonts(cfg: &Config, glyphs: &mut GlyphCache) {
    let bar = &cfg.bar.font;
    for (f, w) in font_sets(cfg) {
        let families: &[String] = match f {
            0 => &bar.family,
            k => cfg
                .bar
                .style_families
                .get(k as usize - 1)
                .map_or(&[][..], |l| &l[..]),
        };
        let weight = if w == 0 { bar.weight } else { w };
        glyphs.add_font((f, w), families, weight);
    }
    // Every face the config names is chosen: fallback needs no names now.
    glyphs.fonts_chosen();
}

/// The bar's height: `height` when it is set; else at least the default,
/// grown so the tallest font any style names keeps the room above and
/// below its line that the bar's font has (Waybar's bar grows to fit its
/// modules the same way).
pub fn fit_height(cfg: &Config, glyphs: &mut GlyphCache) -> u32 {
    let b = &cfg.bar;
    if b.height_set {
        return b.height;
    }
    let px = |size: f32| (size.round() as u16).max(1);
    let line = |g: &mut GlyphCache, id, size| {
        let m = g.line_metrics_in(id, px(size));
        (m.ascent + m.descent).max(0) as u32
    };
    let own = line(glyphs, 0, b.font.size);
    let room = b.height.saturating_sub(own);
    let mut sizes = vec![b.font.size];
    let specs = std::iter::once(&b.style)
        .chain(cfg.modules.iter().map(|m| &m.styles))
        .flat_map(|s| std::iter::once(&s.base).chain(s.states.iter().map(|(_, st)| st)));
    for spec in specs {
        if let Some(s) = spec.font.size {
            sizes.push(s);
        }
    }
    let mut ids = vec![0];
    ids.extend(font_sets(cfg).into_iter().map(|k| glyphs.font_of(k)));
    let mut tallest = own;
    for &id in &ids {
        for &s in &sizes {
            tallest = tallest.max(line(glyphs, id, s));
        }
    }
    (tallest + room).clamp(b.height, 512)
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
    fn the_bars_own_box_floats_it_and_keeps_its_gap_exclusive() {
        let cfg = crate::modules::registry::parse(
            "[bar]\nheight = 30\nmargin = 2\n[bar.style.bar]\nmargin = [8, 12, 6]\nradius = 10\nbackground = \"#11223380\"\n",
            "t.toml",
            None,
        )
        .unwrap();
        let s = surface_config(&cfg, false);
        // The style's margin wins over `bar.margin`.
        assert_eq!(s.margin, [8, 12, 6, 12]);
        assert_eq!(s.look.frame.radius, [10; 4]);
        assert_eq!(
            s.look.frame.margin, [0; 4],
            "the compositor leaves the margin"
        );
        assert_eq!(s.look.background.0, [0x11, 0x22, 0x33, 0x80]);
        // Top bar: the compositor adds the top margin; the gap below is ours.
        assert_eq!(crate::wayland::exclusive_zone(&s), 36);
        let bottom = crate::wayland::SurfaceConfig {
            edge: Edge::Bottom,
            ..s
        };
        assert_eq!(crate::wayland::exclusive_zone(&bottom), 38);
        let plain = surface_config(&crate::modules::registry::default_config(), false);
        assert_eq!(plain.look.frame, crate::render::Deco::default());
        assert_eq!(crate::wayland::exclusive_zone(&plain), 28);
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

    #[test]
    fn style_fonts_combine_families_and_weights_once_each() {
        let parse = |t: &str| crate::modules::registry::parse(t, "t.toml", None).unwrap();
        let cfg = parse(
            r##"
[bar]
left = ["cpu", "memory"]
[module.cpu.style]
font = { family = "DejaVu Serif", size = 20 }
[module.cpu.style.hover]
font = { weight = "bold" }
[module.memory.style.critical]
font = { family = "DejaVu Serif", weight = 700 }
"##,
        );
        // One family list, one weight: the module's family at the hover's
        // weight is resolved too (the state combines with the module).
        assert_eq!(cfg.bar.style_families, [vec!["DejaVu Serif".to_string()]]);
        assert_eq!(font_sets(&cfg), [(0, 700), (1, 0), (1, 700)]);
        assert_eq!(font_sets(&parse("[bar]\nleft = [\"cpu\"]\n")), []);
        // A size alone resolves no faces (glyphs are kept per size), but
        // the reload still sees the fonts changed when a family does.
        let sized = parse("[bar]\nleft = [\"cpu\"]\n[module.cpu.style]\nfont = { size = 30 }\n");
        assert_eq!(font_sets(&sized), []);
        let plain = parse("[bar]\nleft = [\"cpu\"]\n");
        assert!(!crate::bar::reload::fonts_changed(&sized, &plain));
        assert!(crate::bar::reload::fonts_changed(&cfg, &plain));
        // Its height does change.
        let mut g = GlyphCache::with_default_font();
        add_style_fonts(&sized, &mut g);
        assert!(fit_height(&sized, &mut g) > 28);
        assert_eq!(fit_height(&plain, &mut g), 28);
    }
}

//! Fonts in styles without a compositor: the config's `font` tables reach
//! the renderer through the same resolution the bar runs (settings, then
//! `modules::style`), and pixels show each: a larger size has taller ink, a
//! bold state has more ink, a family that is not installed draws as the
//! bar's font; the bar grows for a larger font unless `height` is set.

use rstat::bar::settings;
use rstat::config::{state, Config};
use rstat::modules::style::{apply, merged};
use rstat::render::glyphs::GlyphCache;
use rstat::render::{Align, Canvas, Look, Renderer, Rgba, Segment, Style};

const BG: Rgba = Rgba::hex(0x000000ff);

fn config(text: &str) -> Config {
    rstat::modules::registry::parse(text, "test.toml", None).unwrap_or_else(|e| panic!("{e}"))
}

fn glyphs(cfg: &Config) -> GlyphCache {
    let mut g = settings::glyphs(&cfg.bar.font).expect("font");
    settings::add_style_fonts(cfg, &mut g);
    g
}

/// Module `name`'s segment saying `text` in `states`, styled by `cfg`.
fn seg(cfg: &Config, name: &str, text: &str, states: u32) -> Segment {
    let m = cfg
        .modules
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no module {name}"));
    let base = Style {
        fg: Rgba::hex(0xffffffff),
        ..Style::default()
    };
    let style = apply(base, &merged(&cfg.bar.style, m, states));
    let mut s = Segment::new(text, style, Align::Left);
    s.states = states;
    s
}

struct Drawn {
    r: Renderer,
    px: Vec<u8>,
    w: u32,
    h: u32,
}

impl Drawn {
    /// Rows and count of pixels of segment `i`'s cell that are not the bar's background.
    fn ink(&self, i: usize) -> (i32, i32, usize) {
        let c = self.r.segment_rect(i).expect("cell");
        let (mut top, mut bottom, mut n) = (i32::MAX, i32::MIN, 0);
        for y in 0..self.h as i32 {
            for x in c.x..c.x + c.w {
                let k = (y as usize * self.w as usize + x as usize) * 4;
                if self.px[k..k + 3] != [0, 0, 0] {
                    top = top.min(y);
                    bottom = bottom.max(y);
                    n += 1;
                }
            }
        }
        (top, bottom, n)
    }

    fn cell_pixels(&self, i: usize) -> Vec<u8> {
        let c = self.r.segment_rect(i).expect("cell");
        let mut out = Vec::new();
        for y in 0..self.h as usize {
            let k = (y * self.w as usize + c.x as usize) * 4;
            out.extend_from_slice(&self.px[k..k + c.w as usize * 4]);
        }
        out
    }
}

fn draw(segs: &[Segment], g: &mut GlyphCache, height: u32) -> Drawn {
    let mut r = Renderer::new(Look {
        background: BG,
        ..Look::default()
    });
    r.resize(500, height, 1);
    let (w, h) = r.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let m = r.update(segs, g);
    r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, g);
    Drawn { r, px, w, h }
}

const SIZES: &str = r##"
[bar]
left = ["cpu#big", "cpu#small"]
[module."cpu#big".style]
font = { size = 20 }
[module."cpu#small"]
"##;

#[test]
fn a_larger_font_size_has_taller_ink_than_its_neighbour() {
    let cfg = config(SIZES);
    let mut g = glyphs(&cfg);
    let h = settings::fit_height(&cfg, &mut g);
    let segs = [
        seg(&cfg, "cpu#big", "Hg 88", 0),
        seg(&cfg, "cpu#small", "Hg 88", 0),
    ];
    let d = draw(&segs, &mut g, h);
    let (bt, bb, _) = d.ink(0);
    let (st, sb, _) = d.ink(1);
    let (big, small) = (bb - bt + 1, sb - st + 1);
    // 20 px over 14 px: the ink is about 20/14 as tall.
    assert!(
        big * 10 >= small * 13,
        "big {big} rows ({bt}..{bb}), small {small} ({st}..{sb})"
    );
    // Wider too, and each line is centred on the bar on its own.
    let (wb, ws) = (
        d.r.segment_rect(0).unwrap().w,
        d.r.segment_rect(1).unwrap().w,
    );
    assert!(wb > ws, "{wb} vs {ws}");
    let mid = |t: i32, b: i32| (t + b) as f32 / 2.0;
    assert!(
        (mid(bt, bb) - mid(st, sb)).abs() <= 3.0,
        "{bt}..{bb} vs {st}..{sb}"
    );
    assert!(
        bt > 0 && bb < h as i32 - 1,
        "the big text fits: {bt}..{bb} in {h}"
    );
}

#[test]
fn the_bar_grows_for_a_larger_font_unless_its_height_is_set() {
    let cfg = config(SIZES);
    let mut g = glyphs(&cfg);
    let grown = settings::fit_height(&cfg, &mut g);
    assert!(grown > 28, "{grown}");
    // The same room around the tallest line as the bar's font has.
    let plain = config("[bar]\nleft = [\"cpu\"]\n");
    let mut pg = glyphs(&plain);
    assert_eq!(settings::fit_height(&plain, &mut pg), 28);
    let fixed = config(&SIZES.replace("[bar]\n", "[bar]\nheight = 24\n"));
    let mut fg = glyphs(&fixed);
    assert_eq!(settings::fit_height(&fixed, &mut fg), 24);
    // In a bar that is too low the big text is centred and clipped to it.
    let segs = [seg(&fixed, "cpu#big", "Hg", 0)];
    let d = draw(&segs, &mut fg, 24);
    let (t, b, n) = d.ink(0);
    assert!(n > 0 && t >= 0 && b <= 23, "{t}..{b}");
}

#[test]
fn a_bold_state_changes_the_ink_and_leaving_it_restores_it() {
    let cfg = config(
        r##"
[bar]
left = ["cpu"]
[module.cpu.style.warning]
font = { weight = "bold" }
"##,
    );
    let mut g = glyphs(&cfg);
    let normal = seg(&cfg, "cpu", "CPU 42%", 0);
    let warn = seg(&cfg, "cpu", "CPU 42%", state::WARNING);
    assert_eq!(warn.style.font.weight, 700);
    let mut r = Renderer::new(Look {
        background: BG,
        ..Look::default()
    });
    r.resize(500, 28, 1);
    let (w, h) = r.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let mut frame = |segs: &[Segment], g: &mut GlyphCache, px: &mut Vec<u8>| {
        let m = r.update(segs, g);
        r.paint(&mut Canvas::new(px, w, h).unwrap(), m, g);
        let c = r.segment_rect(0).unwrap();
        let mut n = 0usize;
        for y in 0..h as usize {
            for x in c.x as usize..(c.x + c.w) as usize {
                n += px[(y * w as usize + x) * 4] as usize;
            }
        }
        n
    };
    let a = frame(&[normal], &mut g, &mut px);
    let b = frame(&[warn], &mut g, &mut px);
    let c = frame(&[normal], &mut g, &mut px);
    assert!(b * 10 > a * 11, "bold ink {b} vs regular {a}");
    assert_eq!(a, c, "leaving the state restores the regular ink");
}

#[test]
fn a_family_that_is_not_installed_draws_as_the_bars_font() {
    let cfg = config(
        r##"
[bar]
left = ["cpu#odd", "cpu"]
[module."cpu#odd".style]
font = { family = "No Such Family Anywhere" }
"##,
    );
    let mut g = glyphs(&cfg);
    let segs = [
        seg(&cfg, "cpu#odd", "CPU 42%", 0),
        seg(&cfg, "cpu", "CPU 42%", 0),
    ];
    assert_ne!(segs[0].style.font, segs[1].style.font);
    let d = draw(&segs, &mut g, 28);
    assert_eq!(
        d.r.segment_rect(0).unwrap().w,
        d.r.segment_rect(1).unwrap().w
    );
    assert!(
        d.cell_pixels(0) == d.cell_pixels(1),
        "the same pixels as the bar's font"
    );
}

#[test]
fn an_installed_family_draws_differently_from_the_bars() {
    let installed = rstat::render::text::SystemFonts::discover();
    if installed.find("DejaVu Serif", 400).is_none() {
        if std::env::var("RSTAT_REQUIRE_E2E").is_ok_and(|v| v == "1") {
            panic!("DejaVu Serif is not installed");
        }
        eprintln!("SKIPPED: DejaVu Serif is not installed");
        return;
    }
    let cfg = config(
        r##"
[bar]
left = ["cpu#serif", "cpu"]
[module."cpu#serif".style]
font = { family = "DejaVu Serif" }
"##,
    );
    let mut g = glyphs(&cfg);
    let segs = [
        seg(&cfg, "cpu#serif", "CPU 42%", 0),
        seg(&cfg, "cpu", "CPU 42%", 0),
    ];
    let d = draw(&segs, &mut g, 28);
    assert!(d.cell_pixels(0) != d.cell_pixels(1));
}

#[test]
fn bold_without_a_bold_face_is_a_second_stroke() {
    // No installed faces: the embedded face has no bold.
    let mut g = GlyphCache::with_default_font();
    let id = g.add_font((0, 700), &[], 700);
    assert!(id != 0 && g.synthetic_bold(id));
    assert_eq!(g.font_of((0, 700)), id);
    let plain = Segment::new(
        "CPU 42%",
        Style {
            fg: Rgba::hex(0xffffffff),
            ..Style::default()
        },
        Align::Left,
    );
    let mut bold = plain;
    bold.style.font.weight = 700;
    let d = draw(&[plain, bold], &mut g, 28);
    let (a, b) = (d.ink(0).2, d.ink(1).2);
    assert!(b > a, "bold {b} vs regular {a} inked pixels");
}

#[test]
fn check_config_names_bad_font_keys_with_their_place_and_the_nearest_name() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("render-font-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("fonts.toml");
    std::fs::write(
        &bad,
        "[bar]\nleft = [\"group#g\"]\n[module.cpu.style]\nfont = { sise = 20 }\n\
         [module.cpu.style.hover]\nfont = { weight = \"boldd\" }\n\
         [bar.style]\nfont = { family = \"Noto Sans\", path = \"x.ttf\" }\n\
         [bar.style.bar]\nfont = \"Noto Sans\"\n\
         [module.\"group#g\"]\nmodules = [\"cpu\"]\nstyle = { font = { size = 20 }, hover = { font = \"x\" } }\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rstat"))
        .args(["--check-config", bad.to_str().unwrap()])
        .output()
        .expect("run rstat");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let f = bad.display();
    for want in [
        format!("{f}:4:10: unknown key `sise` in module.cpu.style.font (did you mean `size`?)"),
        format!("{f}:6:19: `module.cpu.style.hover.font.weight`: `boldd` is not a weight"),
        format!("{f}:8:32: unknown key `path` in bar.style.font (expected one of: family, size, weight)"),
        format!("{f}:10:1: `bar.style.bar.font` does not apply to the bar itself"),
        format!("{f}:13:11: `module.group#g.style.font`: a group's box has no text"),
        format!("{f}:13:43: `module.group#g.style.hover.font`: a group's box has no text"),
    ] {
        assert!(err.contains(&want), "missing {want:?} in:\n{err}");
    }
    // A style's font takes no file: `path` is not read.
    assert!(!err.contains("x.ttf"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bold_font_thickens_markup_text_too() {
    let mut g = GlyphCache::with_default_font();
    g.add_font((0, 700), &[], 700);
    let mk = |weight: u16| {
        let mut s = Segment::new(
            "<span color='#ff0000'>CPU</span> 42%",
            Style {
                fg: Rgba::hex(0xffffffff),
                ..Style::default()
            },
            Align::Left,
        );
        s.markup = true;
        s.style.font.weight = weight;
        s
    };
    let d = draw(&[mk(0), mk(700)], &mut g, 28);
    let (a, b) = (d.ink(0).2, d.ink(1).2);
    assert!(b > a, "bold markup {b} vs regular {a} inked pixels");
}

#[test]
fn an_italic_or_condensed_description_draws_that_face() {
    let installed = rstat::render::text::SystemFonts::discover();
    let oblique = installed.find_style("DejaVu Sans", 400, true, 0);
    if !common_need(
        oblique.is_some_and(|f| f.italic),
        "DejaVu Sans Oblique is not installed",
    ) {
        return;
    }
    let ink = |desc: &str| {
        let cfg = config(&format!("[bar]\nfont = {desc:?}\n"));
        let mut g = settings::glyphs(&cfg.bar.font).expect("font");
        let l = g.glyph('l', 32);
        (l.width, l.coverage.to_vec(), g.glyph('m', 32).advance)
    };
    let upright = ink("DejaVu Sans 24");
    let italic = ink("DejaVu Sans Italic 24");
    assert_ne!(upright.1, italic.1, "the oblique face's l is slanted");
    assert!(
        italic.0 > upright.0,
        "a slanted stem is wider: {} vs {}",
        italic.0,
        upright.0
    );
    let condensed = ink("DejaVu Sans Condensed 24");
    assert!(
        condensed.2 < upright.2,
        "condensed m advances less: {} vs {}",
        condensed.2,
        upright.2
    );
}

fn common_need(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if std::env::var("RSTAT_REQUIRE_E2E").is_ok_and(|v| v == "1") {
        panic!("{what}");
    }
    eprintln!("SKIPPED: {what}");
    false
}

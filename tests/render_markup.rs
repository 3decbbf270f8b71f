//! Markup drawn without a compositor: a bar segment's spans colour their
//! own glyphs only, a background span fills behind its text only, bold
//! and underline add ink, what is not markup is drawn as the text it is,
//! and a tooltip's size follows its plain text (tags take no room).

use rstat::render::glyphs::GlyphCache;
use rstat::render::popup::{PopupLook, PopupSheet};
use rstat::render::tooltip::TooltipRenderer;
use rstat::render::{Align, Canvas, Look, Renderer, Rgba, Segment, Style};

const BG: Rgba = Rgba::hex(0x000000ff);
const WHITE: Rgba = Rgba::hex(0xffffffff);

struct Drawn {
    r: Renderer,
    px: Vec<u8>,
    w: u32,
    h: u32,
}

impl Drawn {
    fn at(&self, x: i32, y: i32) -> [u8; 4] {
        let i = (y as usize * self.w as usize + x as usize) * 4;
        self.px[i..i + 4].try_into().unwrap()
    }

    /// Pixels in columns `x0..x1` whose colour is near `c`.
    fn count(&self, x0: i32, x1: i32, c: [u8; 3]) -> usize {
        let mut n = 0;
        for y in 0..self.h as i32 {
            for x in x0.max(0)..x1.min(self.w as i32) {
                let p = self.at(x, y);
                if (0..3).all(|k| p[k].abs_diff(c[k]) <= 40) && p != [0, 0, 0, 255] {
                    n += 1;
                }
            }
        }
        n
    }

    /// Pixels that are not the bar's background.
    fn ink(&self) -> usize {
        (0..self.h as i32)
            .flat_map(|y| (0..self.w as i32).map(move |x| (x, y)))
            .filter(|&(x, y)| self.at(x, y) != [0, 0, 0, 255])
            .count()
    }
}

fn draw(text: &str, markup: bool, g: &mut GlyphCache) -> Drawn {
    let mut seg = Segment::new(
        text,
        Style {
            fg: WHITE,
            ..Style::default()
        },
        Align::Left,
    );
    seg.markup = markup;
    let mut r = Renderer::new(Look {
        background: BG,
        ..Look::default()
    });
    r.resize(400, 28, 1);
    let (w, h) = r.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let m = r.update(&[seg], g);
    r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, g);
    Drawn { r, px, w, h }
}

#[test]
fn a_colour_span_colours_its_glyphs_only() {
    let mut g = GlyphCache::with_default_font();
    let d = draw("<span color='#ff0000'>RRRR</span>WWWW", true, &mut g);
    let plain = draw("RRRRWWWW", false, &mut g);
    // The tags take no room: the same width as the plain text.
    assert_eq!(d.r.segment_rect(0), plain.r.segment_rect(0));
    let (x, _) = d.r.text_origin(0).unwrap();
    let adv = g.text_width("R", 14);
    let split = x + 4 * adv;
    assert!(d.count(x, split, [0xff, 0, 0]) > 30, "red on the left");
    assert_eq!(
        d.count(split, d.w as i32, [0xff, 0, 0]),
        0,
        "none on the right"
    );
    assert!(
        d.count(split, d.w as i32, [0xff, 0xff, 0xff]) > 30,
        "white on the right"
    );
    assert_eq!(
        d.count(x, split, [0xff, 0xff, 0xff]),
        0,
        "no white on the left"
    );
}

#[test]
fn a_background_span_fills_behind_its_text_only() {
    let mut g = GlyphCache::with_default_font();
    let d = draw("ab<span background='#00ff00'>cd</span>ef", true, &mut g);
    let (x, _) = d.r.text_origin(0).unwrap();
    let adv = g.text_width("a", 14);
    let cell = d.r.segment_rect(0).unwrap();
    let mid_y = cell.y + cell.h / 2;
    let green = [0, 0xff, 0, 0xff];
    // The gap between glyphs of `cd` is green, that of `ab` and `ef` not.
    let row = |x0: i32, x1: i32| (x0..x1).filter(|&x| d.at(x, 1) == green).count();
    assert_eq!(row(x, x + 2 * adv), 0);
    assert!(row(x + 2 * adv, x + 4 * adv) >= (2 * adv - 1) as usize);
    assert_eq!(row(x + 4 * adv + 1, cell.x + cell.w), 0);
    assert!(d.at(x + 2 * adv, mid_y)[1] > 0);
}

#[test]
fn bold_underline_and_strike_add_ink_and_entities_are_characters() {
    let mut g = GlyphCache::with_default_font();
    let plain = draw("Bold", false, &mut g).ink();
    let bold = draw("<b>Bold</b>", true, &mut g).ink();
    let under = draw("<u>Bold</u>", true, &mut g).ink();
    let strike = draw("<s>Bold</s>", true, &mut g).ink();
    let italic = draw("<i>Bold</i>", true, &mut g);
    assert!(bold > plain + 20, "bold {bold} vs {plain}");
    assert!(under > plain + 10, "underline {under} vs {plain}");
    assert!(strike > plain + 10, "strike {strike} vs {plain}");
    assert_ne!(
        italic.px,
        draw("Bold", false, &mut g).px,
        "italic is slanted"
    );
    // `&amp;` is one character wide.
    let e = draw("a&amp;b", true, &mut g);
    let t = draw("a&b", false, &mut g);
    assert_eq!(e.px, t.px);
}

#[test]
fn what_is_not_markup_is_drawn_as_the_text_it_is() {
    let mut g = GlyphCache::with_default_font();
    let d = draw("<blink>x</blink> 1 < 2", true, &mut g);
    let t = draw("<blink>x</blink> 1 < 2", false, &mut g);
    assert_eq!(d.px, t.px);
    // A format without markup is never parsed: `&amp;` stays five characters.
    let raw = draw("&amp;", false, &mut g);
    let one = draw("&", false, &mut g);
    assert!(raw.r.segment_rect(0).unwrap().w > one.r.segment_rect(0).unwrap().w);
}

#[test]
fn a_tooltips_size_follows_its_plain_text() {
    let mut g = GlyphCache::with_default_font();
    let mut t = TooltipRenderer::new(PopupLook::default(), &mut g);
    assert!(t.set_text("one line", &mut g));
    assert!(
        !t.set_text("one line", &mut g),
        "the same text is no change"
    );
    let (w1, h1) = t.size();
    t.set_text("<b>one line</b>", &mut g);
    assert_eq!(t.size(), (w1, h1), "tags take no room");
    t.set_text("one line\nand a second, longer one", &mut g);
    let (w2, h2) = t.size();
    assert!(w2 > w1 && h2 > h1, "{w1}x{h1} → {w2}x{h2}");
    assert_eq!(
        t.plain_lines().collect::<Vec<_>>(),
        ["one line", "and a second, longer one"]
    );
    t.set_scale(2, &mut g);
    let (w4, h4) = t.size();
    let near2 = |a: u32, b: u32| (a as f32 / (2 * b) as f32 - 1.0).abs() < 0.1;
    assert!(
        near2(w4, w2) && near2(h4, h2),
        "scale 2 about doubles it: {w4}x{h4}"
    );
    // Painted: border in the accent, a red span red.
    t.set_scale(1, &mut g);
    t.set_text("<span color='#ff0000'>RED</span>", &mut g);
    let (w, h) = t.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let m = t.update();
    assert!(!m.is_empty());
    t.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, &mut g);
    let accent = PopupLook::default().accent.premultiplied();
    assert_eq!(&px[0..4], &accent);
    let red = px
        .chunks(4)
        .filter(|p| p[0] > 200 && p[1] < 60 && p[2] < 60)
        .count();
    assert!(red > 20, "{red} red pixels");
    assert!(t.update().is_empty(), "nothing new: no new frame");
    // Huge input is cut, never a panic.
    t.set_text(&"x\n".repeat(10_000), &mut g);
    assert_eq!(t.plain_lines().count(), rstat::render::tooltip::MAX_LINES);
}

/// Rows (first, last) and columns (first, last) with ink in columns `x0..x1`.
fn ink_box(d: &Drawn, x0: i32, x1: i32) -> Option<(i32, i32, i32, i32)> {
    let mut b: Option<(i32, i32, i32, i32)> = None;
    for y in 0..d.h as i32 {
        for x in x0.max(0)..x1.min(d.w as i32) {
            if d.at(x, y) != [0, 0, 0, 255] {
                b = Some(match b {
                    None => (y, y, x, x),
                    Some((t, bo, l, r)) => (t.min(y), bo.max(y), l.min(x), r.max(x)),
                });
            }
        }
    }
    b
}

#[test]
fn pango_sizes_draw_at_their_size() {
    let mut g = GlyphCache::with_default_font();
    let plain = draw("HHHH", false, &mut g);
    let (t0, b0, _, _) = ink_box(&plain, 0, 400).unwrap();
    let h0 = b0 - t0 + 1;
    let w0 = plain.r.segment_rect(0).unwrap().w;
    // Each form of a larger size: taller ink and a wider segment (the
    // advances are the larger size's too); the same text smaller: shorter.
    for (text, bigger) in [
        ("<span size='20480'>HHHH</span>", true),
        ("<span font_size='15pt'>HHHH</span>", true),
        ("<span size='x-large'>HHHH</span>", true),
        ("<span size='larger'>HHHH</span>", true),
        ("<span size='150%'>HHHH</span>", true),
        ("<big><big>HHHH</big></big>", true),
        ("<span size='small'>HHHH</span>", false),
        ("<small>HHHH</small>", false),
        ("<span size='9pt'>HHHH</span>", false),
    ] {
        let d = draw(text, true, &mut g);
        let (t, b, _, _) = ink_box(&d, 0, 400).unwrap();
        let (h, w) = (b - t + 1, d.r.segment_rect(0).unwrap().w);
        if bigger {
            assert!(h > h0 && w > w0, "{text}: {h}×{w} vs {h0}×{w0}");
        } else {
            assert!(h < h0 && w < w0, "{text}: {h}×{w} vs {h0}×{w0}");
        }
    }
    // 20480/1024 = 20 pt = 26.7 px: the H is 26.7/14 as tall as at 14 px.
    let d = draw("<span size='20480'>HHHH</span>", true, &mut g);
    let (t, b, _, _) = ink_box(&d, 0, 400).unwrap();
    let ratio = (b - t + 1) as f32 / h0 as f32;
    assert!((ratio - 26.67 / 14.0).abs() < 0.2, "ratio {ratio}");
    // Nested relative sizes multiply: <big><big> is 1.44×, as x-large.
    let a = draw("<big><big>HH</big></big>", true, &mut g);
    let b = draw("<span size='x-large'>HH</span>", true, &mut g);
    assert_eq!(a.px, b.px);
}

#[test]
fn a_sized_span_sits_on_the_line_and_moves_what_follows() {
    let mut g = GlyphCache::with_default_font();
    let d = draw("ab<span size='x-large'>CD</span>ef", true, &mut g);
    let plain = draw("abCDef", false, &mut g);
    let (x, _) = d.r.text_origin(0).unwrap();
    let adv = g.text_width("a", 14);
    let big = g.text_width("C", 20);
    // `ab` is drawn as in the plain text; `ef` starts after the wider `CD`.
    let left = |d: &Drawn| ink_box(d, x, x + 2 * adv).map(|b| (b.0, b.1));
    assert_eq!(left(&d), left(&plain));
    let (_, _, ef_left, _) = ink_box(&d, x + 2 * adv + 2 * big, 400).unwrap();
    assert!(ef_left >= x + 2 * adv + 2 * big, "{ef_left}");
    // One baseline: the large capitals end on the row the small letters do.
    let (_, cd_bottom, _, _) = ink_box(&d, x + 2 * adv + 1, x + 2 * adv + 2 * big - 1).unwrap();
    let (_, ab_bottom) = left(&d).unwrap();
    assert_eq!(cd_bottom, ab_bottom, "the same baseline");
}

#[test]
fn a_family_span_draws_in_that_family_and_an_unknown_one_as_the_segment() {
    if rstat::render::text::SystemFonts::discover()
        .find("DejaVu Serif", 400)
        .is_none()
    {
        if std::env::var("RSTAT_REQUIRE_E2E").is_ok_and(|v| v == "1") {
            panic!("DejaVu Serif is not installed");
        }
        eprintln!("SKIPPED: DejaVu Serif is not installed");
        return;
    }
    let mut g = GlyphCache::embedded_then_installed(400);
    let plain = draw("Hello", false, &mut g);
    let serif = draw(
        "<span font_family='DejaVu Serif'>Hello</span>",
        true,
        &mut g,
    );
    let face = draw("<span face='DejaVu Serif'>Hello</span>", true, &mut g);
    let odd = draw(
        "<span face='No Such Family Anywhere'>Hello</span>",
        true,
        &mut g,
    );
    assert!(serif.px != plain.px, "serif differs from the bar's face");
    assert_eq!(serif.px, face.px, "`face` is `font_family`");
    assert_eq!(odd.px, plain.px, "an unknown family is the segment's font");
    // Resolved once: the same family again finds the same set.
    let a = g.font_named("DejaVu Serif");
    assert_eq!(g.font_named("dejavu serif"), a);
}

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

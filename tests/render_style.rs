//! Styled boxes without a compositor: each style key draws what it says
//! (pixels checked), a style change damages only its segment's cell, and
//! 1000 random style/state/text changes drawn partially equal a full redraw.

use rstat::render::glyphs::GlyphCache;
use rstat::render::{Align, Canvas, Deco, Look, Rect, Renderer, Rgba, Segment, Style, TextAlign};

const BG: Rgba = Rgba::hex(0x000000ff);
const RED: Rgba = Rgba::hex(0xff0000ff);
const GREEN: Rgba = Rgba::hex(0x00ff00ff);
const BLUE: Rgba = Rgba::hex(0x0000ffff);

fn look() -> Look {
    Look {
        background: BG,
        ..Look::default()
    }
}

fn seg(text: &str, bg: Option<Rgba>, deco: Deco, align: Align) -> Segment {
    Segment::new(
        text,
        Style {
            fg: Rgba::hex(0xffffffff),
            bg,
            deco,
            group: None,
            ..Style::default()
        },
        align,
    )
}

struct Drawn {
    r: Renderer,
    px: Vec<u8>,
    w: u32,
}

impl Drawn {
    fn at(&self, x: i32, y: i32) -> [u8; 4] {
        let i = (y as usize * self.w as usize + x as usize) * 4;
        self.px[i..i + 4].try_into().unwrap()
    }
}

fn draw(segs: &[Segment], g: &mut GlyphCache) -> Drawn {
    let mut r = Renderer::new(look());
    r.resize(400, 28, 1);
    let (w, h) = r.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let m = r.update(segs, g);
    r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, g);
    Drawn { r, px, w }
}

fn near(a: [u8; 4], b: Rgba, tol: u8) -> bool {
    a.iter().zip(b.0).all(|(x, y)| x.abs_diff(y) <= tol)
}

#[test]
fn background_fills_the_box_and_nothing_else() {
    let mut g = GlyphCache::with_default_font();
    let d = Deco {
        margin: [4, 6, 4, 6],
        padding: Some([0, 10, 0, 10]),
        ..Deco::default()
    };
    let s = draw(&[seg("A", Some(RED), d, Align::Left)], &mut g);
    let cell = s.r.segment_rect(0).unwrap();
    let b = s.r.box_of(0).unwrap();
    assert_eq!(b, Rect::new(cell.x + 6, 4, cell.w - 12, 20));
    // Inside the box, in the padding (no glyph there): red.
    assert!(near(s.at(b.x + 1, b.y + 1), RED, 0));
    assert!(near(s.at(b.x + b.w - 1, b.y + b.h - 1), RED, 0));
    // The margins and everything outside the box: the bar's background.
    for (x, y) in [
        (b.x - 1, 10),
        (b.x + b.w, 10),
        (b.x + 2, b.y - 1),
        (b.x + 2, b.y + b.h),
        (cell.x + cell.w + 5, 10),
    ] {
        assert!(near(s.at(x, y), BG, 0), "({x},{y}) {:?}", s.at(x, y));
    }
    // Padding offsets the text.
    assert_eq!(s.r.text_origin(0).unwrap().0, b.x + 10);
}

#[test]
fn radius_leaves_corners_transparent() {
    let mut g = GlyphCache::with_default_font();
    let d = Deco {
        radius: [8; 4],
        padding: Some([0, 12, 0, 12]),
        ..Deco::default()
    };
    let s = draw(&[seg("A", Some(RED), d, Align::Left)], &mut g);
    let b = s.r.box_of(0).unwrap();
    for (x, y) in [
        (b.x, b.y),
        (b.x + b.w - 1, b.y),
        (b.x, b.y + b.h - 1),
        (b.x + b.w - 1, b.y + b.h - 1),
    ] {
        assert!(near(s.at(x, y), BG, 0), "corner ({x},{y}) {:?}", s.at(x, y));
    }
    // Mid-edges are filled, and the arc is anti-aliased (a blend).
    assert!(near(s.at(b.x, b.y + b.h / 2), RED, 0));
    assert!(near(s.at(b.x + b.w / 2, b.y), RED, 0));
    let edge = s.at(b.x + 1, b.y + 2);
    assert!(edge[0] > 0 && edge[0] < 255, "{edge:?}");
}

#[test]
fn border_widths_and_colours_per_side() {
    let mut g = GlyphCache::with_default_font();
    let d = Deco {
        border: [(2, GREEN), (0, GREEN), (0, GREEN), (3, BLUE)],
        padding: Some([0, 8, 0, 8]),
        ..Deco::default()
    };
    let s = draw(&[seg("A", Some(RED), d, Align::Left)], &mut g);
    let b = s.r.box_of(0).unwrap();
    let mid = b.y + b.h / 2;
    for x in 0..3 {
        assert!(near(s.at(b.x + x, mid), BLUE, 0), "left border column {x}");
    }
    assert!(near(s.at(b.x + 3, mid), RED, 0), "inside the left border");
    for y in 0..2 {
        assert!(near(s.at(b.x + b.w / 2, b.y + y), GREEN, 0), "top row {y}");
    }
    assert!(near(s.at(b.x + b.w / 2 + 4, b.y + 2), RED, 0));
    assert!(near(s.at(b.x + b.w - 1, mid), RED, 0), "no right border");
    // The border and padding widen the cell: 3 + 8 + text + 8.
    let tw = g.shaped_width("A", s.r.font_px());
    assert_eq!(b.w, 3 + 8 + tw + 8);
    assert_eq!(s.r.text_origin(0).unwrap().0, b.x + 3 + 8);
}

#[test]
fn gradient_ends_underline_opacity_min_width_align() {
    let mut g = GlyphCache::with_default_font();
    let d = Deco {
        gradient: Some((BLUE, 0)),
        min_width: 120,
        align: TextAlign::Right,
        padding: Some([0, 4, 0, 4]),
        underline: (3, GREEN),
        ..Deco::default()
    };
    let s = draw(&[seg("A", Some(RED), d, Align::Left)], &mut g);
    let b = s.r.box_of(0).unwrap();
    assert_eq!(b.w, 120, "min_width");
    let left = s.at(b.x, 5);
    let right = s.at(b.x + b.w - 1, 5);
    assert!(left[0] > 240 && left[2] < 15, "starts red: {left:?}");
    assert!(right[2] > 240 && right[0] < 15, "ends blue: {right:?}");
    for y in b.y + b.h - 3..b.y + b.h {
        assert!(near(s.at(b.x + 10, y), GREEN, 0), "underline row {y}");
    }
    assert!(!near(s.at(b.x + 10, b.y + b.h - 4), GREEN, 40));
    let tw = g.shaped_width("A", s.r.font_px());
    assert_eq!(
        s.r.text_origin(0).unwrap().0,
        b.x + b.w - 4 - tw,
        "align right"
    );

    let half = Deco {
        transparency: 128,
        ..Deco::default()
    };
    let s = draw(&[seg("A", Some(RED), half, Align::Left)], &mut g);
    let b = s.r.box_of(0).unwrap();
    let p = s.at(b.x + 1, 2);
    assert!(
        (120..=135).contains(&p[0]) && p[3] == 255,
        "half red over black: {p:?}"
    );
}

#[test]
fn a_style_change_damages_only_that_segments_cell() {
    let mut g = GlyphCache::with_default_font();
    let plain = Deco::default();
    let mut segs = vec![
        seg("one", None, plain, Align::Left),
        seg("two", None, plain, Align::Left),
        seg("three", None, plain, Align::Right),
    ];
    let mut r = Renderer::new(look());
    r.resize(400, 28, 1);
    r.update(&segs, &mut g);
    // Hover: same box size, another background and border colour.
    segs[1].style.bg = Some(RED);
    segs[1].states |= 1 << 31;
    let m = r.update(&segs, &mut g);
    assert!(!m.full);
    let mut rects = Vec::new();
    r.rects(m, &mut rects);
    assert_eq!(rects, [r.segment_rect(1).unwrap()]);
    // And back.
    segs[1].style.bg = None;
    let m = r.update(&segs, &mut g);
    r.rects(m, &mut rects);
    assert_eq!(rects, [r.segment_rect(1).unwrap()]);
    // Nothing changed: nothing damaged.
    assert!(r.update(&segs, &mut g).is_empty());
}

#[test]
fn a_text_change_copies_the_kept_box_back_and_paints_no_box() {
    let mut g = GlyphCache::with_default_font();
    let rounded = Deco {
        radius: [8; 4],
        border: [(1, GREEN); 4],
        gradient: Some((BLUE, 30)),
        margin: [3, 2, 3, 2],
        ..Deco::default()
    };
    let mut segs = vec![
        seg("CPU  7%", Some(RED), rounded, Align::Left),
        seg("MEM 3.1G", Some(RED), Deco::default(), Align::Right),
    ];
    let mut r = Renderer::new(look());
    r.resize(400, 28, 1);
    let (w, h) = r.size();
    let mut px = vec![0u8; (w * h * 4) as usize];
    let m = r.update(&segs, &mut g);
    r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, &mut g);
    let (painted, bytes) = r.backgrounds();
    assert_eq!(painted, 2, "both boxes painted once");
    // Two cells' worth: every byte kept is under a segment.
    let cells: i32 = (0..2).map(|i| r.segment_rect(i).unwrap().w * 28 * 4).sum();
    assert_eq!(bytes, cells as usize);
    // Same width, new digits: only text is drawn, over the kept box.
    segs[0].text = rstat::render::Text::new("CPU  9%");
    let m = r.update(&segs, &mut g);
    assert!(!m.full);
    r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, &mut g);
    assert_eq!(r.backgrounds().0, 2, "a text change paints no box");
    let fresh = draw(&segs, &mut g);
    assert!(
        px == fresh.px,
        "the kept box under new text = a full redraw"
    );
    // A restyle paints that one box again.
    segs[0].style.bg = Some(GREEN);
    let m = r.update(&segs, &mut g);
    r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, &mut g);
    assert_eq!(r.backgrounds().0, 3);
    assert!(px == draw(&segs, &mut g).px);
}

#[test]
fn a_changed_digit_repaints_only_its_columns() {
    let mut g = GlyphCache::with_default_font();
    let rounded = Deco {
        radius: [8; 4],
        gradient: Some((BLUE, 30)),
        ..Deco::default()
    };
    for (bg, deco) in [(Some(RED), rounded), (None, Deco::default())] {
        let mut segs = vec![seg("CPU  7% MEM 3.1G", bg, deco, Align::Left)];
        let mut r = Renderer::new(look());
        r.resize(400, 28, 1);
        let (w, h) = r.size();
        let mut px = vec![0u8; (w * h * 4) as usize];
        let m = r.update(&segs, &mut g);
        r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, &mut g);
        // A marker left of the text and one right of it: a repaint of
        // the digit's columns leaves both.
        let cell = r.segment_rect(0).unwrap();
        let (x, _) = r.text_origin(0).unwrap();
        let marks = [(x + 1, 14), (cell.x + cell.w - 12, 14)];
        for (mx, my) in marks {
            let i = (my as usize * w as usize + mx as usize) * 4;
            px[i..i + 4].copy_from_slice(&[1, 2, 3, 4]);
        }
        segs[0].text = rstat::render::Text::new("CPU  9% MEM 3.1G");
        let m = r.update(&segs, &mut g);
        r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, &mut g);
        let fresh = draw(&segs, &mut g);
        let mut differ = Vec::new();
        for y in 0..h as i32 {
            for x in 0..w as i32 {
                let i = (y as usize * w as usize + x as usize) * 4;
                if px[i..i + 4] != fresh.px[i..i + 4] {
                    differ.push((x, y));
                }
            }
        }
        assert_eq!(
            differ, marks,
            "{bg:?}: only the markers differ from a full redraw"
        );
    }
}

#[test]
fn a_plain_bar_keeps_no_backgrounds() {
    let mut g = GlyphCache::with_default_font();
    let segs = [
        seg("one", None, Deco::default(), Align::Left),
        seg("two", None, Deco::default(), Align::Right),
    ];
    let d = draw(&segs, &mut g);
    assert_eq!(d.r.backgrounds(), (0, 0));
}

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[(self.next() % v.len() as u64) as usize]
    }
}

#[test]
fn a_thousand_random_changes_drawn_partially_equal_a_full_redraw() {
    let mut g = GlyphCache::with_default_font();
    let decos = [
        Deco::default(),
        Deco {
            radius: [6; 4],
            margin: [3, 2, 3, 2],
            ..Deco::default()
        },
        Deco {
            border: [(2, GREEN); 4],
            padding: Some([0, 6, 0, 6]),
            ..Deco::default()
        },
        Deco {
            gradient: Some((BLUE, 45)),
            underline: (2, GREEN),
            min_width: 60,
            align: TextAlign::Center,
            ..Deco::default()
        },
        Deco {
            transparency: 100,
            radius: [4, 0, 4, 0],
            ..Deco::default()
        },
    ];
    let bgs = [None, Some(RED), Some(Rgba::hex(0x3366ff80))];
    let texts = ["1", "22", "CPU  7%", "MEM 3.1G", "ws", "hello"];
    let aligns = [
        Align::Left,
        Align::Left,
        Align::Center,
        Align::Right,
        Align::Right,
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut segs: Vec<Segment> = aligns
        .iter()
        .map(|&a| seg(rng.pick(&texts), None, Deco::default(), a))
        .collect();
    let mut r = Renderer::new(look());
    r.resize(600, 28, 1);
    let (w, h) = r.size();
    let mut buf = vec![0u8; (w * h * 4) as usize];
    for step in 0..1000 {
        let i = (rng.next() % segs.len() as u64) as usize;
        match rng.next() % 3 {
            0 => segs[i].style.deco = rng.pick(&decos),
            1 => {
                segs[i].style.bg = rng.pick(&bgs);
                segs[i].states ^= 1 << 31;
            }
            _ => segs[i].text = rstat::render::Text::new(rng.pick(&texts)),
        }
        let m = r.update(&segs, &mut g);
        r.paint(&mut Canvas::new(&mut buf, w, h).unwrap(), m, &mut g);
        if step % 10 == 9 || step < 20 {
            let mut fresh = Renderer::new(look());
            fresh.resize(600, 28, 1);
            let mut full = vec![0u8; (w * h * 4) as usize];
            let fm = fresh.update(&segs, &mut g);
            fresh.paint(&mut Canvas::new(&mut full, w, h).unwrap(), fm, &mut g);
            assert!(
                buf == full,
                "step {step}: partial redraw differs from a full one"
            );
        }
    }
}

//! Groups and the bar's own box without a compositor: a group draws one box
//! from its first member to its last (padding before the first, none
//! between members), a group restyle damages exactly its members' cells, a
//! rounded bar is transparent outside its corners, and random changes drawn
//! partially equal a full redraw.

use rstat::render::glyphs::GlyphCache;
use rstat::render::{
    Align, Canvas, Deco, GroupBox, Look, Rect, Renderer, Rgba, Segment, Style, Text,
};

const BG: Rgba = Rgba::hex(0x000000ff);
const ISLAND: Rgba = Rgba::hex(0x3050a0ff);
const HOVER: Rgba = Rgba::hex(0xa05030ff);

fn look() -> Look {
    Look {
        background: BG,
        padding: 6,
        gap: 10,
        margin: 4,
        ..Look::default()
    }
}

fn seg(text: &str, group: Option<GroupBox>, align: Align) -> Segment {
    Segment::new(
        text,
        Style {
            fg: Rgba::hex(0xffffffff),
            bg: None,
            deco: Deco::default(),
            group,
            ..Style::default()
        },
        align,
    )
}

fn island(id: u16, bg: Rgba) -> GroupBox {
    GroupBox {
        id,
        bg: Some(bg),
        deco: Deco {
            padding: Some([0, 12, 0, 12]),
            margin: [3, 0, 3, 0],
            radius: [6; 4],
            ..Deco::default()
        },
        slide: None,
    }
}

struct Bar {
    r: Renderer,
    px: Vec<u8>,
    w: u32,
    h: u32,
}

impl Bar {
    fn new(look: Look, width: u32) -> Bar {
        let mut r = Renderer::new(look);
        r.resize(width, 28, 1);
        let (w, h) = r.size();
        Bar {
            r,
            px: vec![0u8; (w * h * 4) as usize],
            w,
            h,
        }
    }

    fn show(&mut self, segs: &[Segment], g: &mut GlyphCache) -> rstat::render::Mask {
        let m = self.r.update(segs, g);
        self.r.paint(
            &mut Canvas::new(&mut self.px, self.w, self.h).unwrap(),
            m,
            g,
        );
        m
    }

    fn at(&self, x: i32, y: i32) -> [u8; 4] {
        let i = (y as usize * self.w as usize + x as usize) * 4;
        self.px[i..i + 4].try_into().unwrap()
    }
}

fn near(a: [u8; 4], b: Rgba, tol: u8) -> bool {
    a.iter().zip(b.0).all(|(x, y)| x.abs_diff(y) <= tol)
}

#[test]
fn a_group_is_one_box_from_its_first_member_to_its_last() {
    let mut g = GlyphCache::with_default_font();
    let mut bar = Bar::new(look(), 500);
    let segs = [
        seg("solo", None, Align::Left),
        seg("aa", Some(island(1, ISLAND)), Align::Left),
        seg("bb", Some(island(1, ISLAND)), Align::Left),
        seg("cc", Some(island(1, ISLAND)), Align::Left),
        seg("tail", None, Align::Left),
    ];
    bar.show(&segs, &mut g);
    let cells: Vec<Rect> = (0..5).map(|i| bar.r.segment_rect(i).unwrap()).collect();
    // Members abut: no gap inside the group; the bar's gap outside it.
    assert_eq!(cells[1].x + cells[1].w, cells[2].x);
    assert_eq!(cells[2].x + cells[2].w, cells[3].x);
    assert_eq!(cells[0].x + cells[0].w + 10, cells[1].x);
    assert_eq!(cells[3].x + cells[3].w + 10, cells[4].x);
    let gb = bar.r.group_box_of(2).unwrap();
    assert_eq!(gb, bar.r.group_box_of(1).unwrap());
    assert_eq!(gb.x, cells[1].x);
    assert_eq!(gb.x + gb.w, cells[3].x + cells[3].w);
    assert_eq!((gb.y, gb.h), (3, 22));
    assert!(bar.r.group_box_of(0).is_none());
    // The island's colour fills the box (between members too), not its
    // margins, not the bar outside it; its corners are round.
    let mid = 14;
    for x in [gb.x + 8, cells[2].x, cells[2].x - 1, gb.x + gb.w - 8] {
        assert!(
            near(bar.at(x, mid), ISLAND, 0),
            "x {x}: {:?}",
            bar.at(x, mid)
        );
    }
    assert!(near(bar.at(gb.x + 8, 1), BG, 0), "top margin");
    assert!(near(bar.at(gb.x + 8, 26), BG, 0), "bottom margin");
    assert!(near(bar.at(gb.x - 2, mid), BG, 0), "left of the group");
    assert!(
        near(bar.at(gb.x + gb.w + 1, mid), BG, 0),
        "right of the group"
    );
    assert!(near(bar.at(gb.x, gb.y), BG, 0), "rounded corner");
    // The first member's text starts after the group's padding and its own.
    let (tx, _) = bar.r.text_origin(1).unwrap();
    assert_eq!(tx, cells[1].x + 12 + 6);
    let (tx, _) = bar.r.text_origin(2).unwrap();
    assert_eq!(tx, cells[2].x + 6);
}

#[test]
fn a_group_restyle_damages_exactly_its_members() {
    let mut g = GlyphCache::with_default_font();
    let mut bar = Bar::new(look(), 500);
    let mut segs = vec![
        seg("solo", None, Align::Left),
        seg("aa", Some(island(1, ISLAND)), Align::Left),
        seg("bb", Some(island(1, ISLAND)), Align::Left),
        seg("right", None, Align::Right),
    ];
    bar.show(&segs, &mut g);
    for s in &mut segs[1..3] {
        s.style.group = Some(island(1, HOVER));
    }
    let m = bar.show(&segs, &mut g);
    assert!(!m.full);
    let mut rects = Vec::new();
    bar.r.rects(m, &mut rects);
    let want: Vec<Rect> = (1..3).map(|i| bar.r.segment_rect(i).unwrap()).collect();
    assert_eq!(rects, want);
    let gb = bar.r.group_box_of(1).unwrap();
    assert!(near(bar.at(gb.x + gb.w / 2, 14), HOVER, 0));
    // Wider padding moves the members: the whole bar is laid out anew.
    for s in &mut segs[1..3] {
        let mut i = island(1, HOVER);
        i.deco.padding = Some([0, 20, 0, 20]);
        s.style.group = Some(i);
    }
    assert!(bar.show(&segs, &mut g).full);
}

#[test]
fn a_rounded_bar_is_transparent_outside_its_corners() {
    let mut g = GlyphCache::with_default_font();
    let frame = Deco {
        radius: [10; 4],
        border: [(2, Rgba::hex(0xffcc00ff)); 4],
        ..Deco::default()
    };
    let bg = Rgba::hex(0x204060e6);
    let mut bar = Bar::new(
        Look {
            background: bg,
            frame,
            ..look()
        },
        300,
    );
    bar.show(&[seg("left", None, Align::Left)], &mut g);
    let (w, h) = (bar.w as i32, bar.h as i32);
    for (x, y) in [(0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1), (1, 1)] {
        assert_eq!(bar.at(x, y), [0, 0, 0, 0], "corner ({x}, {y})");
    }
    // The border along the edges, the translucent background inside.
    assert!(near(bar.at(w / 2, 0), Rgba::hex(0xffcc00ff), 1));
    assert!(near(bar.at(0, h / 2), Rgba::hex(0xffcc00ff), 1));
    let inside = bar.at(w / 2, h / 2);
    assert_eq!(inside[3], 0xe6);
    assert!(near(inside, Rgba(bg.premultiplied()), 1), "{inside:?}");
    // An anti-aliased edge pixel: partly covered.
    assert!(
        (0..10).any(|x| (1..255).contains(&bar.at(x, 2)[3])),
        "no partly covered pixel on the arc"
    );
}

/// A deterministic xorshift.
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
fn random_group_and_text_changes_drawn_partially_equal_a_full_redraw() {
    let mut g = GlyphCache::with_default_font();
    let frame = Deco {
        radius: [12; 4],
        border: [(1, Rgba::hex(0x808080ff)); 4],
        ..Deco::default()
    };
    let l = Look {
        background: Rgba::hex(0x101010e0),
        frame,
        ..look()
    };
    let texts = ["1", "22", "333", "a b", "wide text"];
    let mut hover = island(1, HOVER);
    hover.deco.radius = [2; 4];
    let groups = [None, Some(island(1, ISLAND)), Some(hover)];
    let aligns = [
        Align::Left,
        Align::Left,
        Align::Left,
        Align::Center,
        Align::Right,
        Align::Right,
    ];
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut segs: Vec<Segment> = aligns
        .iter()
        .map(|&a| seg(rng.pick(&texts), None, a))
        .collect();
    let mut bar = Bar::new(l, 600);
    for step in 0..1000 {
        let i = (rng.next() % segs.len() as u64) as usize;
        if rng.next() % 2 == 0 {
            // Members 1 and 2 share a group look (a group restyles whole).
            let gl = rng.pick(&groups);
            for s in &mut segs[1..3] {
                s.style.group = gl;
            }
        } else {
            segs[i].text = Text::new(rng.pick(&texts));
        }
        bar.show(&segs, &mut g);
        if step % 10 == 9 || step < 20 {
            let mut fresh = Bar::new(l, 600);
            fresh.show(&segs, &mut g);
            assert!(
                bar.px == fresh.px,
                "step {step}: partial redraw differs from a full one"
            );
        }
    }
}

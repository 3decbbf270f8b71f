//! A drawer's `transition_ms` without a compositor: the whole pipeline
//! (config → modules → renderer) driven with chosen clock times. Opening
//! grows the revealed width frame by frame to the instant-open drawing,
//! pixel for pixel; closing shrinks it back to the closed drawing; a
//! reversal midway goes on from where the slide was; every frame drawn
//! partially (two buffers of any age; the ARGB path too) equals a full
//! redraw, on a plain and on a floating rounded bar, damages only
//! the columns that moved, and what the pointer finds is what is drawn;
//! `transition_ms = 0` is the instant drawer. `--check-config` names the
//! key's mistakes with file:line:column.

mod common;

use std::time::{Duration, Instant};

use rstat::collect::Sample;
use rstat::modules::{Context, Modules};
use rstat::render::paint::copy_rect_to_argb;
use rstat::render::{Canvas, GlyphCache, Mask, Rect, Renderer, Segment, MAX_SEGMENTS};

/// A drawer on the left with neighbours after it (they move), a centre
/// and a right module (they do not); a hidden member has its own box.
fn config(drawer: &str) -> String {
    format!(
        r##"
[bar]
left = ["group#d", "memory"]
center = ["load"]
right = ["cpu"]
[module."group#d"]
modules = ["cpu#h", "load#a", "memory#b"]
drawer = {drawer}
[module."group#d".style]
background = "#3050a0"
padding = [0, 12]
radius = 6
[module."cpu#h"]
format = "CPU {{usage:>3.0}}%"
[module."memory#b"]
[module."load#a".style]
background = "#a05030"
radius = 4
"##
    )
}

/// The same drawer on the right, opening leftwards.
fn config_leftward(ms: u32) -> String {
    let right = config(&format!(
        "{{ transition_ms = {ms}, transition_left_to_right = false }}"
    ));
    let layout = "left = [\"group#d\", \"memory\"]\ncenter = [\"load\"]\nright = [\"cpu\"]";
    assert!(right.contains(layout), "the left config's layout moved");
    right.replacen(
        layout,
        "left = [\"memory\"]\ncenter = [\"load\"]\nright = [\"cpu\", \"group#d\"]",
        1,
    )
}

const W: u32 = 1600;
const H: u32 = 28;

fn sample() -> Sample {
    let mut s = Sample {
        cpu_percent: 42.0,
        cores: 2,
        load: [1.25, 0.5, 0.25],
        ..Sample::default()
    };
    s.mem.total = 16 << 30;
    s.mem.used = 5 << 30;
    s
}

/// A bar run frame by frame at chosen times, drawn into two buffers the
/// way the bar reuses them.
struct Run {
    t0: Instant,
    modules: Modules,
    r: Renderer,
    look: rstat::render::Look,
    glyphs: GlyphCache,
    segs: Vec<Segment>,
    bufs: [Vec<u8>; 2],
    /// The ARGB path's private buffer and its two shared ones.
    private: Vec<u8>,
    argb: [Vec<u8>; 2],
    shown: [u64; 2],
    frames: u64,
}

impl Run {
    fn new(text: &str) -> Run {
        let cfg = rstat::modules::registry::parse(text, "drawer.toml", None).expect("valid");
        let t0 = Instant::now();
        let mut modules = Modules::from_config(&cfg, t0);
        let s = sample();
        modules.update_all(&Context {
            now: t0,
            wall: Duration::from_secs(1_764_092_520),
            sample: &s,
        });
        let look = rstat::bar::settings::surface_config(&cfg, false).look;
        let mut r = Renderer::new(look);
        r.resize(W, H, 1);
        let size = (W * H * 4) as usize;
        Run {
            t0,
            modules,
            r,
            look,
            glyphs: GlyphCache::with_default_font(),
            segs: Vec::with_capacity(MAX_SEGMENTS),
            bufs: [vec![0xab; size], vec![0x5a; size]],
            private: vec![0; size],
            argb: [vec![0x33; size], vec![0x77; size]],
            shown: [0; 2],
            frames: 0,
        }
    }

    /// The segment the module `name` wrote in the last write.
    fn index_of(&self, name: &str) -> Option<usize> {
        (0..self.segs.len()).find(|&i| self.modules.owner(i).is_some_and(|m| m.name == name))
    }

    /// One frame at `ms` after the start with the pointer on `hover` (a
    /// segment of the last write): the drawing, checked against a full
    /// redraw of the same segments, and its damage.
    fn frame(&mut self, hover: Option<usize>, ms: u64) -> (Vec<u8>, Mask) {
        self.modules.set_hover(hover);
        if self.modules.sliding() {
            self.modules.animate(self.t0 + Duration::from_millis(ms));
        }
        self.modules.write(&mut self.segs);
        let changed = self.r.update(&self.segs, &mut self.glyphs);
        // Mostly alternate; every third frame reuse the same buffer, so
        // buffers of age 1 and 2 both occur.
        self.frames += 1;
        let k = if self.frames % 3 == 0 {
            (self.frames as usize + 1) % 2
        } else {
            self.frames as usize % 2
        };
        let repaint = self.r.since(self.shown[k]);
        self.r.paint(
            &mut Canvas::new(&mut self.bufs[k], W, H).unwrap(),
            repaint,
            &mut self.glyphs,
        );
        self.shown[k] = self.r.frame();
        // The ARGB path: the newest frame painted into a private buffer,
        // the rectangles the reused buffer missed copied (swizzled) out.
        self.r.paint(
            &mut Canvas::new(&mut self.private, W, H).unwrap(),
            changed,
            &mut self.glyphs,
        );
        let mut rects = Vec::new();
        self.r.rects(repaint, &mut rects);
        for rect in &rects {
            copy_rect_to_argb(&self.private, &mut self.argb[k], W, *rect);
        }
        let want = self.full();
        let mut want_argb = want.clone();
        copy_rect_to_argb(
            &want,
            &mut want_argb,
            W,
            Rect::new(0, 0, W as i32, H as i32),
        );
        assert!(
            self.argb[k] == want_argb,
            "at {ms} ms the ARGB buffer differs from a full redraw"
        );
        if self.bufs[k] != want {
            let first = self.bufs[k].iter().zip(&want).position(|(a, b)| a != b);
            let px = first.unwrap() / 4;
            panic!(
                "at {ms} ms the partial redraw differs from a full one at ({}, {}); changed {changed:?}, repaint {repaint:?}",
                px as u32 % W,
                px as u32 / W
            );
        }
        (want, changed)
    }

    /// A fresh renderer's full drawing of the current segments.
    fn full(&mut self) -> Vec<u8> {
        let mut r = Renderer::new(self.look);
        r.resize(W, H, 1);
        let mut px = vec![0u8; (W * H * 4) as usize];
        let m = r.update(&self.segs, &mut self.glyphs);
        assert!(m.full);
        r.paint(
            &mut Canvas::new(&mut px, W, H).unwrap(),
            m,
            &mut self.glyphs,
        );
        px
    }

    /// The drawer's box (its first member is in every write).
    fn group_box(&self) -> Rect {
        let lead = self.index_of("cpu#h").expect("the handle is drawn");
        self.r.group_box_of(lead).expect("in a group")
    }

    /// The damage of `m` as rectangles.
    fn rects(&self, m: Mask) -> Vec<Rect> {
        let mut out = Vec::new();
        self.r.rects(m, &mut out);
        out
    }

    /// Every column the pointer can find belongs to the segment drawn
    /// there: cells never overlap, and each non-empty cell is found at
    /// its own columns.
    fn check_hits(&self) {
        for x in 0..W as i32 {
            if let Some(i) = self.r.segment_at(x) {
                let c = self.r.segment_rect(i).unwrap();
                assert!(c.x <= x && x < c.x + c.w, "x {x} → {i} at {c:?}");
            }
        }
        for i in 0..self.segs.len() {
            let c = self.r.segment_rect(i).unwrap();
            if !c.is_empty() {
                assert_eq!(self.r.segment_at(c.x), Some(i));
                assert_eq!(self.r.segment_at(c.x + c.w - 1), Some(i));
            }
        }
    }
}

/// The columns `x0..x1` (all rows) of a drawing.
fn cols(px: &[u8], x0: i32, x1: i32) -> Vec<u8> {
    let mut out = Vec::new();
    for y in 0..H as usize {
        let row = &px[y * W as usize * 4..(y + 1) * W as usize * 4];
        out.extend_from_slice(&row[x0 as usize * 4..x1 as usize * 4]);
    }
    out
}

/// The drawing and group box of the drawer open at once (no transition),
/// hovered on its handle, and closed.
fn instant(text: &str) -> ((Vec<u8>, Rect), (Vec<u8>, Rect)) {
    let mut run = Run::new(text);
    let closed = run.frame(None, 0).0;
    let closed_box = run.group_box();
    let lead = run.index_of("cpu#h");
    let open = run.frame(lead, 0).0;
    ((open, run.group_box()), (closed, closed_box))
}

#[test]
fn opening_grows_to_the_instant_open_drawing_and_closing_shrinks_back() {
    let ((open, open_box), (closed, closed_box)) = instant(&config("true"));
    assert!(
        open_box.w > closed_box.w + 40,
        "{open_box:?} vs {closed_box:?}"
    );

    let mut run = Run::new(&config("{ transition_ms = 300 }"));
    let (first, _) = run.frame(None, 0);
    assert_eq!(
        first, closed,
        "closed, a sliding drawer draws as an instant one"
    );
    let lead = run.index_of("cpu#h");
    let right = run.r.segment_rect(run.index_of("cpu").unwrap()).unwrap();
    let centre = run.r.segment_rect(run.index_of("load").unwrap()).unwrap();
    let mut widths = vec![closed_box.w];
    let mut last = Vec::new();
    for ms in (0..=320).step_by(16) {
        let (px, changed) = run.frame(lead, ms);
        let gb = run.group_box();
        widths.push(gb.w);
        run.check_hits();
        // Only what moved is damaged: never the whole bar, never the
        // centre or right modules, which stayed where they were.
        assert!(!changed.full, "at {ms} ms: {changed:?}");
        for r in run.rects(changed) {
            assert!(
                r.intersect(right).is_none(),
                "at {ms} ms {r:?} hits the right module"
            );
            assert!(
                r.intersect(centre).is_none(),
                "at {ms} ms {r:?} hits the centre"
            );
        }
        // The neighbour after the drawer starts where the group ends.
        let next = run.r.segment_rect(run.index_of("memory").unwrap()).unwrap();
        assert!(next.x >= gb.x + gb.w, "at {ms} ms: {next:?} inside {gb:?}");
        // Left of the moving edge the group is what the open drawer shows
        // (its members clipped, not squeezed); the edge keeps the group's
        // right padding (12 px) and corners.
        let edge = gb.x + gb.w - 12;
        assert_eq!(
            cols(&px, gb.x, edge),
            cols(&open, gb.x, edge),
            "at {ms} ms the revealed part is not the open drawer's"
        );
        last = px;
    }
    assert!(
        widths.windows(2).all(|w| w[0] <= w[1]),
        "the revealed width grows monotonically: {widths:?}"
    );
    let steps = widths.windows(2).filter(|w| w[0] < w[1]).count();
    assert!(steps >= 10, "a slide, not a jump: {widths:?}");
    assert_eq!(*widths.last().unwrap(), open_box.w);
    assert!(!run.modules.sliding(), "the slide is over after 300 ms");
    assert!(
        last == open,
        "the last frame equals the instant-open drawing"
    );
    // Idle: nothing changes any more.
    let (_, m) = run.frame(lead, 400);
    assert!(m.is_empty(), "{m:?}");

    // Closing reverses it.
    let mut widths = vec![open_box.w];
    for ms in (400..=720).step_by(16) {
        let (px, changed) = run.frame(None, ms);
        assert!(!changed.full);
        run.check_hits();
        widths.push(run.group_box().w);
        last = px;
    }
    assert!(
        widths.windows(2).all(|w| w[0] >= w[1]),
        "closing shrinks monotonically: {widths:?}"
    );
    assert!(widths.windows(2).filter(|w| w[0] > w[1]).count() >= 10);
    assert_eq!(*widths.last().unwrap(), closed_box.w);
    assert!(
        last == closed,
        "closed again, the drawing is the closed one"
    );
    assert!(run.frame(None, 800).1.is_empty());
}

#[test]
fn a_reversal_midway_goes_on_from_where_the_slide_is() {
    let (_, (_, closed_box)) = instant(&config("true"));
    let mut run = Run::new(&config("{ transition_ms = 400 }"));
    run.frame(None, 0);
    let lead = run.index_of("cpu#h");
    let mut at_leave = 0;
    for ms in (0..=200).step_by(20) {
        run.frame(lead, ms);
        at_leave = run.group_box().w;
    }
    assert!(at_leave > closed_box.w + 10 && run.modules.sliding());
    // The pointer leaves halfway (at 220 ms): the drawer closes from
    // where it is then, next to where it was, in about the time it took
    // to open this far.
    let mut widths = vec![at_leave];
    let mut done_at = None;
    for ms in (220..=700).step_by(20) {
        run.frame(None, ms);
        widths.push(run.group_box().w);
        if done_at.is_none() && !run.modules.sliding() {
            done_at = Some(ms);
        }
    }
    let step = (widths[1] - widths[0]).abs();
    assert!(step <= 40, "no jump at the reversal: {widths:?}");
    assert!(widths[1..].windows(2).all(|w| w[0] >= w[1]), "{widths:?}");
    assert!(widths[2] < widths[1], "closing at once: {widths:?}");
    assert_eq!(*widths.last().unwrap(), closed_box.w);
    let done = done_at.expect("closed");
    assert!(
        (420..=480).contains(&done),
        "closed {done} ms after start (opened for 220 ms, then reversed)"
    );
}

#[test]
fn a_leftward_drawer_reveals_from_its_left_edge() {
    let ((open, open_box), (_, closed_box)) = instant(&config_leftward(0));
    let mut run = Run::new(&config_leftward(300));
    run.frame(None, 0);
    let lead = run.index_of("cpu#h");
    let mut widths = vec![closed_box.w];
    for ms in (0..=320).step_by(16) {
        let (px, changed) = run.frame(lead, ms);
        let gb = run.group_box();
        widths.push(gb.w);
        run.check_hits();
        // On the right: the group's right end stays; the left one moves.
        assert_eq!(gb.x + gb.w, open_box.x + open_box.w);
        let edge = gb.x + 12;
        let end = gb.x + gb.w;
        assert_eq!(
            cols(&px, edge, end),
            cols(&open, edge, end),
            "at {ms} ms the revealed part is not the open drawer's"
        );
        // The left module never moves, so it is never damaged.
        let left = run.r.segment_rect(run.index_of("memory").unwrap()).unwrap();
        assert!(run
            .rects(changed)
            .iter()
            .all(|r| r.intersect(left).is_none()));
    }
    assert!(widths.windows(2).all(|w| w[0] <= w[1]), "{widths:?}");
    assert_eq!(*widths.last().unwrap(), open_box.w);
}

#[test]
fn random_hovers_texts_and_times_drawn_partially_equal_a_full_redraw() {
    // Also on islands over a floating rounded bar (its frame is the
    // backdrop a moved column is painted with).
    let framed = config("{ transition_ms = 220 }")
        + "[bar.style]\nbackground = \"#206040\"\nradius = 5\nmargin = [3, 2]\n\
           [bar.style.bar]\nmargin = [2, 6]\nradius = 10\nborder = { width = 1, color = \"#c0c0c0\" }\n";
    // Two drawers sliding at once, at both ends: a buffer that missed
    // frames gets one span across both, with modules between that neither
    // frame changed.
    let two = config_leftward(200).replacen(
        r#"left = ["memory"]"#,
        r#"left = ["memory", "group#e", "clock"]"#,
        1,
    ) + "[module.\"group#e\"]\nmodules = [\"cpu#e\", \"memory#e\"]\n\
         drawer = { transition_ms = 150 }\n[module.\"cpu#e\"]\n[module.\"memory#e\"]\n\
         [module.clock]\nformat = \"%H:%M\"\n";
    for text in [
        config("{ transition_ms = 250 }"),
        config_leftward(180),
        framed,
        two,
    ] {
        let mut run = Run::new(&text);
        run.frame(None, 0);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut ms, mut slid) = (0, 0);
        for _ in 0..600 {
            ms += rnd(40);
            // The pointer: the handle, another segment, or off the bar.
            let hover = match rnd(4) {
                0 | 1 => run.index_of("cpu#h"),
                2 => Some(rnd(run.segs.len() as u64) as usize),
                _ => None,
            };
            if rnd(5) == 0 {
                let mut s = sample();
                s.cpu_percent = rnd(100) as f32;
                s.load[0] = rnd(900) as f32 / 100.0;
                run.modules.update_all(&Context {
                    now: run.t0 + Duration::from_millis(ms),
                    wall: Duration::from_secs(1_764_092_520),
                    sample: &s,
                });
            }
            slid += run.modules.sliding() as u32;
            // `frame` compares each frame with a full redraw.
            run.frame(hover, ms);
            run.check_hits();
        }
        assert!(slid > 100, "the drawer slid in {slid} frames");
    }
}

#[test]
fn no_transition_is_the_instant_drawer() {
    for zero in [
        "true",
        "{ transition_ms = 0 }",
        "{ transition_ms = 0, click_to_reveal = false }",
    ] {
        let mut run = Run::new(&config(zero));
        let (closed, m) = run.frame(None, 0);
        assert!(m.full);
        let lead = run.index_of("cpu#h");
        // One write opens it, laid out anew as before.
        let (open, m) = run.frame(lead, 0);
        assert!(m.full && !run.modules.sliding(), "{zero}");
        assert_eq!(run.segs.len(), 6);
        let ((want_open, _), (want_closed, _)) = instant(&config("true"));
        assert!(open == want_open && closed == want_closed, "{zero}");
        assert!(run
            .segs
            .iter()
            .all(|s| s.style.group.is_none_or(|g| g.slide.is_none())));
    }
}

#[test]
fn a_click_drawer_slides_too() {
    let mut run = Run::new(&config("{ transition_ms = 200, click_to_reveal = true }"));
    run.frame(None, 0);
    let w0 = run.group_box().w;
    let lead = run.index_of("cpu#h").unwrap();
    // Hovering does not open it; a click on the handle does, over 200 ms.
    run.frame(Some(lead), 10);
    assert!(!run.modules.sliding() && run.group_box().w == w0);
    assert!(run.modules.click_drawer(lead));
    let mut widths = Vec::new();
    for ms in (20..=240).step_by(20) {
        run.frame(Some(lead), ms);
        widths.push(run.group_box().w);
    }
    assert!(widths.windows(2).all(|w| w[0] <= w[1]), "{widths:?}");
    assert!(widths[0] < widths[widths.len() - 1] && !run.modules.sliding());
}

#[test]
fn check_config_names_the_transition_keys_mistakes() {
    let dir = std::env::temp_dir().join(format!("rstat-drawer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (body, at, says) in [
        (
            "drawer = { transition_sm = 300 }",
            "5:12",
            "did you mean `transition_ms`?",
        ),
        ("drawer = { transition_ms = 99999 }", "5:28", "out of range"),
        (
            "drawer = { transition_ms = \"fast\" }",
            "5:28",
            "expected a whole number",
        ),
    ] {
        let path = dir.join("config.toml");
        std::fs::write(
            &path,
            format!(
                "[bar]\nleft = [\"group#a\"]\n[module.\"group#a\"]\nmodules = [\"cpu\"]\n{body}\n"
            ),
        )
        .unwrap();
        let out = std::process::Command::new(common::rstat_bin())
            .arg("--check-config")
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{body}: {err}");
        assert!(err.contains(&format!("config.toml:{at}")), "{body}: {err}");
        assert!(err.contains(says), "{body}: {err}");
    }
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        config("{ transition_ms = 250, transition_left_to_right = false }"),
    )
    .unwrap();
    let out = std::process::Command::new(common::rstat_bin())
        .arg("--check-config")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

//! The renderer without a compositor: text placement, damage, and partial
//! redraws (with two buffers of any age) equal to a full redraw.

use rstat::render::glyphs::GlyphCache;
use rstat::render::paint::copy_rect_to_argb;
use rstat::render::{Align, Canvas, Look, Mask, Rect, Renderer, Rgba, Segment, Style};

const BG: Rgba = Rgba::hex(0x1e1e2eff);

fn look() -> Look {
    Look {
        background: BG,
        ..Look::default()
    }
}

fn seg(text: &str, fg: u32, align: Align) -> Segment {
    Segment::new(
        text,
        Style {
            fg: Rgba::hex(fg),
            bg: None,
            ..Style::default()
        },
        align,
    )
}

/// A fresh renderer's full redraw of `segs`.
fn full(segs: &[Segment], w: u32, h: u32, scale120: u32, g: &mut GlyphCache) -> Vec<u8> {
    let mut r = Renderer::new(look());
    r.resize_fractional(w, h, scale120);
    let (pw, ph) = r.size();
    let mut px = vec![0u8; (pw * ph * 4) as usize];
    let m = r.update(segs, g);
    assert!(m.full);
    r.paint(&mut Canvas::new(&mut px, pw, ph).unwrap(), m, g);
    px
}

fn dump(name: &str, px: &[u8], w: u32, h: u32) {
    // RSTAT_DUMP=dir writes PPMs to look at (premultiplied, opaque here).
    if let Some(dir) = std::env::var_os("RSTAT_DUMP") {
        let mut out = format!("P6\n{w} {h}\n255\n").into_bytes();
        for p in px.chunks_exact(4) {
            out.extend_from_slice(&p[..3]);
        }
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.ppm")), out).unwrap();
    }
}

#[test]
fn text_lands_where_layout_says() {
    let mut g = GlyphCache::with_default_font();
    let colours = [0xff0000ffu32, 0x00ff00ff, 0x0000ffff, 0xffff00ff];
    let segs = [
        seg("left HQ", colours[0], Align::Left),
        seg("centre", colours[1], Align::Center),
        seg("CPU  42%", colours[2], Align::Right),
        seg("MEM 3.1G", colours[3], Align::Right),
    ];
    for scale in [1, 2] {
        let mut r = Renderer::new(look());
        r.resize(800, 28, scale);
        let (w, h) = r.size();
        let mut px = vec![0u8; (w * h * 4) as usize];
        let m = r.update(&segs, &mut g);
        r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, &mut g);
        dump(&format!("layout_scale{scale}"), &px, w, h);
        let font_px = r.font_px();
        let lm = g.line_metrics(font_px);
        for (i, s) in segs.iter().enumerate() {
            let (x0, base) = r.text_origin(i).unwrap();
            let tw = g.shaped_width(s.text.as_str(), font_px);
            let text_box = Rect::new(x0, base - lm.ascent, tw, lm.ascent + lm.descent);
            let cell = r.segment_rect(i).unwrap();
            assert!(
                cell.intersect(text_box) == Some(text_box),
                "text inside its cell"
            );
            // Pixels tinted by this segment's colour: the colour's dominant
            // channels exceed the background's.
            let fg = Rgba::hex(colours[i]).0;
            let mut ink = 0;
            for y in 0..h as i32 {
                for x in 0..w as i32 {
                    let p = &px[((y as u32 * w + x as u32) * 4) as usize..][..4];
                    let tinted = (0..3).all(|c| (fg[c] == 0xff) == (p[c] > 0x60))
                        && (0..3).any(|c| p[c] > 0x60);
                    if tinted {
                        ink += 1;
                        assert!(
                            text_box.contains(x, y),
                            "scale {scale}: segment {i} ink at ({x},{y}) outside {text_box:?}"
                        );
                    }
                }
            }
            assert!(ink > 20 * scale * scale, "segment {i} drew {ink} pixels");
        }
        // Hit testing finds each cell, and nothing in the gaps.
        let cell = r.segment_rect(i_last(&segs)).unwrap();
        assert_eq!(r.segment_at(cell.x), Some(segs.len() - 1));
        assert_eq!(r.segment_at(cell.x + cell.w - 1), Some(segs.len() - 1));
        assert_eq!(r.segment_at(0), None);
        // Centre segment is centred, right group ends at the right margin.
        let c = r.segment_rect(1).unwrap();
        assert!((c.x + c.w / 2 - w as i32 / 2).abs() <= 1);
        let last = r.segment_rect(3).unwrap();
        assert_eq!(last.x + last.w, w as i32 - (look().margin * scale) as i32);
        // Vertically: the text box is centred within a pixel.
        let lm_top = r.text_origin(0).unwrap().1 - lm.ascent;
        let bottom = h as i32 - (r.text_origin(0).unwrap().1 + lm.descent);
        assert!((lm_top - bottom).abs() <= 1, "{lm_top} vs {bottom}");
    }
}

fn i_last(segs: &[Segment]) -> usize {
    segs.len() - 1
}

#[test]
fn one_changed_number_damages_that_segment_only() {
    let mut g = GlyphCache::with_default_font();
    let mut segs = vec![
        seg("Wed 25 Nov 17:42", 0xffffffff, Align::Center),
        seg("CPU   7%", 0xffffffff, Align::Right),
        seg("MEM  3.1G", 0xffffffff, Align::Right),
        seg("LOAD  0.42", 0xffffffff, Align::Right),
    ];
    let mut r = Renderer::new(look());
    r.resize(1920, 28, 1);
    let (w, h) = r.size();
    assert!(r.update(&segs, &mut g).full);
    let before = full(&segs, 1920, 28, 120, &mut g);

    segs[1] = seg("CPU  63%", 0xffffffff, Align::Right);
    let changed = r.update(&segs, &mut g);
    assert!(!changed.full);
    assert_eq!(changed.bits, 0b10);
    let mut rects = Vec::new();
    r.rects(changed, &mut rects);
    let cell = r.segment_rect(1).unwrap();
    assert_eq!(rects, vec![cell]);

    // And the damage really covers every changed pixel.
    let after = full(&segs, 1920, 28, 120, &mut g);
    for y in 0..h as i32 {
        for x in 0..w as i32 {
            let i = ((y as u32 * w + x as u32) * 4) as usize;
            if before[i..i + 4] != after[i..i + 4] {
                assert!(
                    cell.contains(x, y),
                    "pixel ({x},{y}) changed outside damage"
                );
            }
        }
    }
    // An unchanged tick damages nothing.
    assert!(r.update(&segs, &mut g).is_empty());
}

#[test]
fn a_changed_digit_repaints_only_the_rows_its_glyphs_cover() {
    let mut g = GlyphCache::with_default_font();
    for scale in [1, 2] {
        let mut segs = vec![
            seg("CPU   7%", 0xffffffff, Align::Left),
            seg("2026-12-01 23:14:05", 0xffffffff, Align::Right),
        ];
        let mut r = Renderer::new(look());
        r.resize(1920, 28, scale);
        let (w, h) = r.size();
        assert!(r.update(&segs, &mut g).full);
        // A buffer of garbage: whatever the repaint writes stops being it.
        let mut px = vec![0x5au8; (w * h * 4) as usize];
        for (text, i) in [("CPU  63%", 0), ("2026-12-01 23:14:06", 1)] {
            segs[i] = seg(text, 0xffffffff, segs[i].align);
            let m = r.update(&segs, &mut g);
            assert_eq!(m.bits, 1 << i, "{text}");
            px.fill(0x5a);
            r.paint(&mut Canvas::new(&mut px, w, h).unwrap(), m, &mut g);
            let cell = r.segment_rect(i).unwrap();
            let mut rows = std::collections::BTreeSet::new();
            for y in 0..h as i32 {
                for x in 0..w as i32 {
                    let at = ((y as u32 * w + x as u32) * 4) as usize;
                    if px[at..at + 4] != [0x5a; 4] {
                        assert!(cell.contains(x, y), "{text}: ({x},{y}) outside its cell");
                        rows.insert(y);
                    }
                }
            }
            // The digits' ink: about a third of the bar's height, never all
            // of the cell's rows.
            let n = rows.len() as i32;
            assert!(
                n > 0 && n * 2 <= cell.h,
                "scale {scale}, {text}: {n} of {} rows",
                cell.h
            );
        }
    }
}

/// xorshift64*: deterministic randomness without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn random_segments(rng: &mut Rng, out: &mut Vec<Segment>) {
    let palette = [0xcdd6f4ffu32, 0xf9e2afff, 0xf38ba8ff, 0x89b4fa80];
    for s in out.iter_mut() {
        if rng.below(3) == 0 {
            let v = rng.below(1000);
            let prefix: String = s.text.as_str().chars().take(4).collect();
            // Same width as before (fixed-width numbers)…
            let text = format!("{prefix}{v:>3}%");
            s.text = rstat::render::Text::new(&text);
        }
        if rng.below(10) == 0 {
            s.style.fg = Rgba::hex(palette[rng.below(4) as usize]);
        }
        if rng.below(15) == 0 {
            s.style.bg = match rng.below(3) {
                0 => None,
                1 => Some(Rgba::hex(0x45475aff)),
                _ => Some(Rgba::hex(0xa6e3a140)),
            };
        }
    }
    // …but now and then a width change, a new segment or one gone (relayout).
    match rng.below(60) {
        0 => {
            let i = rng.below(out.len() as u64) as usize;
            out[i].text = rstat::render::Text::new("wider text é ✓ \u{F8FF}");
        }
        1 if out.len() < 12 => out.push(seg("NEW  1%", 0xffffffff, Align::Left)),
        2 if out.len() > 3 => {
            out.pop();
        }
        _ => {}
    }
}

fn initial_segments() -> Vec<Segment> {
    let aligns = [Align::Left, Align::Center, Align::Right];
    (0..8)
        .map(|i| seg(&format!("S{i}:   0%"), 0xcdd6f4ff, aligns[i % 3]))
        .collect()
}

/// Drives `frames` random updates through a renderer drawing into two
/// buffers the way the Wayland side does (ABGR: repaint `since(shown)`
/// directly; ARGB: paint `changed` into a private image and convert
/// `since(shown)` rectangles), with the compositor holding a random buffer
/// back now and then so buffers come back at ages 1, 2 and more. After every
/// frame the buffer just committed must equal a full redraw.
fn partial_equals_full(argb: bool, scale120: u32, frames: usize, seed: u64) {
    let mut g = GlyphCache::with_default_font();
    let mut rng = Rng(seed);
    let (lw, lh) = (700, 28);
    let mut r = Renderer::new(look());
    r.resize_fractional(lw, lh, scale120);
    let (w, h) = r.size();
    let size = (w * h * 4) as usize;
    // Buffers start with garbage: the first frame in each must be full.
    let mut bufs = [vec![0xabu8; size], vec![0x5au8; size]];
    let mut shown = [0u64; 2];
    let mut private = vec![0u8; size];
    let mut segs = initial_segments();
    let mut rects = Vec::new();
    let mut next = 0usize;
    let (mut partial, mut aged) = (0, 0);
    for frame in 0..frames {
        random_segments(&mut rng, &mut segs);
        let changed = r.update(&segs, &mut g);
        if changed.is_empty() {
            continue;
        }
        // Usually alternate; sometimes the other buffer is still held, so the
        // same one is reused (age 1), or one sits out several frames.
        if rng.below(4) != 0 {
            next ^= 1;
        }
        let k = next;
        let repaint = r.since(shown[k]);
        if !repaint.full {
            partial += 1;
            if repaint != changed {
                aged += 1;
            }
        }
        if argb {
            r.paint(
                &mut Canvas::new(&mut private, w, h).unwrap(),
                changed,
                &mut g,
            );
            r.rects(repaint, &mut rects);
            for rect in &rects {
                copy_rect_to_argb(&private, &mut bufs[k], w, *rect);
            }
        } else {
            r.paint(
                &mut Canvas::new(&mut bufs[k], w, h).unwrap(),
                repaint,
                &mut g,
            );
        }
        shown[k] = r.frame();

        let mut want = full(&segs, lw, lh, scale120, &mut g);
        if argb {
            let all = Rect::new(0, 0, w as i32, h as i32);
            let src = want.clone();
            copy_rect_to_argb(&src, &mut want, w, all);
        }
        if bufs[k] != want {
            let first = bufs[k].iter().zip(&want).position(|(a, b)| a != b).unwrap();
            let px = first / 4;
            panic!(
                "frame {frame} (argb {argb}, scale {scale120}/120): buffer {k} differs from a full redraw at ({}, {}); changed {changed:?}, repaint {repaint:?}",
                px as u32 % w,
                px as u32 / w
            );
        }
    }
    // The test is only worth something if most frames were partial and many
    // buffers came back having missed more than the current frame.
    assert!(partial > frames / 2, "only {partial} partial frames");
    assert!(
        aged > frames / 4,
        "only {aged} frames repainted missed damage"
    );
}

#[test]
fn thousand_random_partial_updates_equal_full_redraw_abgr() {
    partial_equals_full(false, 120, 1000, 0x9e37_79b9_7f4a_7c15);
}

#[test]
fn thousand_random_partial_updates_equal_full_redraw_argb() {
    partial_equals_full(true, 120, 1000, 0x1234_5678_9abc_def1);
}

#[test]
fn random_partial_updates_equal_full_redraw_scale2() {
    partial_equals_full(false, 240, 300, 42);
}

#[test]
fn random_partial_updates_equal_full_redraw_fractional() {
    // 1.25× and 1.5×, as wp_fractional_scale_v1 reports them.
    partial_equals_full(false, 150, 300, 7);
    partial_equals_full(true, 180, 300, 8);
}

#[test]
fn fractional_scale_rounds_the_buffer_size() {
    let mut r = Renderer::new(look());
    r.resize_fractional(1366, 28, 150);
    assert_eq!(r.size(), (1708, 35));
    r.resize_fractional(1366, 28, 180);
    assert_eq!(r.size(), (2049, 42));
    assert_eq!(r.font_px(), 21);
}

#[test]
fn scale_two_doubles_the_buffer_and_font() {
    let mut g = GlyphCache::with_default_font();
    let segs = [seg("CPU  42%", 0xffffffff, Align::Left)];
    let mut r1 = Renderer::new(look());
    r1.resize(1920, 28, 1);
    let mut r2 = Renderer::new(look());
    r2.resize(1920, 28, 2);
    assert_eq!(r2.size(), (3840, 56));
    r1.update(&segs, &mut g);
    r2.update(&segs, &mut g);
    assert_eq!(r2.font_px(), 2 * r1.font_px());
    let (a, b) = (r1.segment_rect(0).unwrap(), r2.segment_rect(0).unwrap());
    assert_eq!((b.x, b.h), (2 * a.x, 2 * a.h));
    // Advances round per glyph, so the width is double within a pixel a glyph.
    assert!((b.w - 2 * a.w).abs() <= 8, "{a:?} {b:?}");
    let _ = Mask::FULL;
}

//! One line of plain text drawn the way the bar draws a segment — shaped
//! (ligatures, marks, Arabic joining, visual order), each character from a
//! face that has it, missing-glyph boxes counted — for the popups that are
//! not segments: the process tables, the calendar, the tray's menus.
//!
//! The shaped glyphs go into a buffer the glyph cache keeps, so a popup
//! tick that redraws a few cells allocates nothing.

use super::glyphs::GlyphCache;
use super::layout::Rect;
use super::paint::Canvas;
use super::text::{round_px, Shaped, NO_FACE};

/// What a line cut short ends with.
pub const ELLIPSIS: char = '…';

/// Where the line sits, in buffer pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// Starts at this x.
    Left(i32),
    /// Ends at this x (figures line up); never starts left of the clip.
    Right(i32),
}

/// Width in whole pixels of `text` shaped at `px`.
pub fn width(glyphs: &mut GlyphCache, text: &str, px: u16) -> i32 {
    glyphs.text_width(text, px)
}

/// Draws `text` shaped at `px` on `baseline`, placed by `place`, in `color`
/// (premultiplied), touching only `clip`. With `cut`, text wider than the
/// room up to the clip's right edge keeps as many whole grapheme clusters as
/// fit before an [`ELLIPSIS`]; without, it is clipped. Returns the x where
/// the drawn text ends.
#[allow(clippy::too_many_arguments)]
pub fn draw(
    canvas: &mut Canvas,
    glyphs: &mut GlyphCache,
    text: &str,
    px: u16,
    place: Place,
    baseline: i32,
    color: [u8; 4],
    clip: Rect,
    cut: bool,
) -> i32 {
    let mut line = glyphs.take_line();
    glyphs.shape(text, px, &mut line);
    let w = line.width_px();
    let end = clip.x + clip.w;
    let x = match place {
        Place::Left(x) => x,
        Place::Right(r) => (r - w).max(clip.x),
    };
    let keep = if cut && x + w > end {
        let room = end - glyphs.glyph(ELLIPSIS, px).advance - x;
        fitting(&line, room)
    } else {
        line.glyphs.len()
    };
    for p in &line.glyphs[..keep] {
        if p.face == NO_FACE {
            glyphs.count_box(Some(p.ch));
        }
        let g = glyphs.glyph_id(p.face, p.gid, px);
        canvas.draw_glyph(g, x + round_px(p.x), baseline + round_px(p.y), color, clip);
    }
    let cut_at = line.glyphs.get(keep).filter(|_| keep < line.glyphs.len());
    let mut pen = x + cut_at.map_or(w, |next| next.x.round() as i32);
    if cut_at.is_some() {
        let g = glyphs.glyph(ELLIPSIS, px);
        canvas.draw_glyph(g, pen, baseline, color, clip);
        pen += g.advance;
    }
    glyphs.put_line(line);
    pen
}

/// How many of `line`'s glyphs (from the left) fit in `room` pixels, cut
/// only where the cluster changes: a letter keeps its marks, a ZWJ emoji
/// stays whole.
fn fitting(line: &Shaped, room: i32) -> usize {
    let g = &line.glyphs;
    let mut keep = 0;
    let mut k = 0;
    while k < g.len() {
        let mut next = k + 1;
        while next < g.len() && g[next].at == g[k].at {
            next += 1;
        }
        let end = g.get(next).map_or(line.width, |n| n.x);
        if end.round() as i32 > room {
            break;
        }
        keep = next;
        k = next;
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas_run(glyphs: &mut GlyphCache, text: &str, clip_w: i32, cut: bool) -> (Vec<u8>, i32) {
        let (w, h) = (200u32, 24u32);
        let mut px = vec![0u8; (w * h * 4) as usize];
        let mut c = Canvas::new(&mut px, w, h).expect("canvas");
        let clip = Rect::new(10, 0, clip_w, h as i32);
        let end = draw(
            &mut c,
            glyphs,
            text,
            14,
            Place::Left(10),
            18,
            [255; 4],
            clip,
            cut,
        );
        (px, end)
    }

    #[test]
    fn a_line_that_fits_is_drawn_whole_and_as_wide_as_shaped() {
        let mut g = GlyphCache::with_default_font();
        let w = width(&mut g, "cc1plus 12.5%", 14);
        let (_, end) = canvas_run(&mut g, "cc1plus 12.5%", 180, true);
        assert_eq!(end, 10 + w);
    }

    #[test]
    fn a_long_line_is_cut_between_clusters_with_an_ellipsis() {
        let mut g = GlyphCache::with_default_font();
        // e + combining acute, twenty times: a cut must never leave a bare e.
        let text = "e\u{301}".repeat(20);
        let mut s = Shaped::default();
        g.shape(&text, 14, &mut s);
        let ell = g.glyph(ELLIPSIS, 14).advance;
        let (_, end) = canvas_run(&mut g, &text, 60, true);
        assert!(end <= 10 + 60, "drawn past the clip: {end}");
        let kept = fitting(&s, 60 - ell);
        assert!(kept > 0 && kept < s.glyphs.len());
        // Every kept cluster is whole: the next glyph starts a new cluster.
        assert_ne!(s.glyphs[kept].at, s.glyphs[kept - 1].at);
        // Without the cut the whole line is laid out (and clipped).
        let (_, end) = canvas_run(&mut g, &text, 60, false);
        assert_eq!(end, 10 + s.width_px());
    }

    #[test]
    fn right_placed_text_ends_at_the_edge() {
        let mut g = GlyphCache::with_default_font();
        let w = width(&mut g, "3.0 GiB", 14);
        let (wd, h) = (200u32, 24u32);
        let mut px = vec![0u8; (wd * h * 4) as usize];
        let mut c = Canvas::new(&mut px, wd, h).expect("canvas");
        let clip = Rect::new(0, 0, 150, 24);
        let end = draw(
            &mut c,
            &mut g,
            "3.0 GiB",
            14,
            Place::Right(150),
            18,
            [255; 4],
            clip,
            true,
        );
        assert_eq!(end, 150);
        assert!(w > 0);
    }
}

//! A segment's box: background (plain or a two-stop gradient), border per
//! side, rounded corners, underline, opacity. Drawn pixel by pixel with
//! 4×4 supersampling at the corners only, straight into the canvas: no
//! path objects, so a redraw allocates nothing. Glyphs are drawn over it by
//! the renderer, separately.

use super::layout::Rect;
use super::paint::Canvas;
use super::segment::{Deco, Rgba};

/// A box in buffer pixels, everything already scaled.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxPx {
    pub rect: Rect,
    /// Border widths: top, right, bottom, left.
    pub border: [i32; 4],
    /// Corner radii: top-left, top-right, bottom-right, bottom-left.
    pub radius: [i32; 4],
    pub underline: i32,
}

impl BoxPx {
    /// The box of `d` inside `rect`, lengths scaled by `px`.
    pub fn of(d: &Deco, rect: Rect, px: impl Fn(u16) -> i32) -> BoxPx {
        let lim = rect.w.min(rect.h) / 2;
        BoxPx {
            rect,
            border: d.border.map(|(w, _)| px(w)),
            radius: d.radius.map(|r| px(r).min(lim.max(0))),
            underline: px(d.underline.0),
        }
    }
}

/// Coverage (0–16) of pixel (x, y) by the rounded rectangle `r` with `rad`.
fn coverage(x: i32, y: i32, r: Rect, rad: [i32; 4]) -> u32 {
    if r.is_empty() || !r.contains(x, y) {
        return 0;
    }
    let (x0, y0, x1, y1) = (r.x, r.y, r.x + r.w, r.y + r.h);
    // Which corner square the pixel sits in, and that corner's centre.
    let corner = if x < x0 + rad[0] && y < y0 + rad[0] {
        Some((rad[0], x0 + rad[0], y0 + rad[0]))
    } else if x >= x1 - rad[1] && y < y0 + rad[1] {
        Some((rad[1], x1 - rad[1], y0 + rad[1]))
    } else if x >= x1 - rad[2] && y >= y1 - rad[2] {
        Some((rad[2], x1 - rad[2], y1 - rad[2]))
    } else if x < x0 + rad[3] && y >= y1 - rad[3] {
        Some((rad[3], x0 + rad[3], y1 - rad[3]))
    } else {
        None
    };
    let Some((rr, cx, cy)) = corner else {
        return 16;
    };
    // Relative to the corner's centre: the same coverage wherever the box
    // is drawn (in the bar, or in a segment's kept background).
    let (rr, ox, oy) = (rr as f32, (x - cx) as f32, (y - cy) as f32);
    let mut n = 0;
    for sy in 0..4 {
        for sx in 0..4 {
            let dx = ox + (sx as f32 + 0.5) / 4.0;
            let dy = oy + (sy as f32 + 0.5) / 4.0;
            if dx * dx + dy * dy <= rr * rr {
                n += 1;
            }
        }
    }
    n
}

fn scale_alpha(c: Rgba, f: u8) -> Rgba {
    let [r, g, b, a] = c.0;
    Rgba([r, g, b, ((a as u32 * f as u32 + 127) / 255) as u8])
}

fn lerp(a: Rgba, b: Rgba, t: f32) -> Rgba {
    let t = t.clamp(0.0, 1.0);
    let mut out = [0u8; 4];
    for (k, o) in out.iter_mut().enumerate() {
        *o = (a.0[k] as f32 + (b.0[k] as f32 - a.0[k] as f32) * t).round() as u8;
    }
    Rgba(out)
}

/// Paints the box `b` of style `d` with background `bg` (blended over what
/// the canvas holds there: the bar's background).
pub fn paint(canvas: &mut Canvas<'_>, b: &BoxPx, bg: Option<Rgba>, d: &Deco) {
    paint_clipped(canvas, b, bg, d, b.rect);
}

/// As [`paint`], touching only the pixels inside `clip` (a repainted
/// segment's cell inside a group's or the bar's box): the same pixels come
/// out as when the whole box is painted.
pub fn paint_clipped(canvas: &mut Canvas<'_>, b: &BoxPx, bg: Option<Rgba>, d: &Deco, clip: Rect) {
    let Some(area) = b.rect.intersect(clip) else {
        return;
    };
    let p = Prepared::new(b, d);
    for y in area.y..area.y + area.h {
        // The plain inside of the row is one blend; only the corners and
        // border columns are worked out pixel by pixel (same result).
        let (lo, hi) = match (bg, p.plain_span(b, y, d)) {
            (Some(c), Some((lo, hi))) => {
                let (lo, hi) = (lo.max(area.x), hi.min(area.x + area.w));
                if hi > lo {
                    let c = scale_alpha(c, p.op).premultiplied();
                    canvas.blend_rect(Rect::new(lo, y, hi - lo, 1), c);
                    (lo, hi)
                } else {
                    (0, 0)
                }
            }
            _ => (0, 0),
        };
        for x in area.x..area.x + area.w {
            if x < lo || x >= hi {
                p.pixel(canvas, x, y, bg, d);
            }
        }
    }
}

/// Paints the bar's own box (`b` covers the whole buffer) inside `clip`,
/// replacing what was there: pixels outside the rounded box become
/// transparent, so the compositor shows what lies behind the corners. The
/// plain inside is one fill; only the corner squares and border bands are
/// worked out pixel by pixel, so a steady tick's repaint of a cell costs
/// about what a plain fill does.
pub fn paint_frame(canvas: &mut Canvas<'_>, b: &BoxPx, bg: Rgba, d: &Deco, clip: Rect) {
    let Some(area) = b.rect.intersect(clip) else {
        return;
    };
    if d.gradient.is_some() {
        canvas.fill(area, [0; 4]);
        paint_clipped(canvas, b, Some(bg), d, area);
        return;
    }
    canvas.fill(area, scale_alpha(bg, d.opacity()).premultiplied());
    let p = Prepared::new(b, d);
    let r = b.rect;
    let [bt, br, bb, bl] = b.border;
    let [r0, r1, r2, r3] = b.radius;
    let ut = b.underline.max(bb);
    // What is not a plain fill: the four corner squares, the border bands
    // and the underline rows.
    let odd = [
        Rect::new(r.x, r.y, r0, r0),
        Rect::new(r.x + r.w - r1, r.y, r1, r1),
        Rect::new(r.x + r.w - r2, r.y + r.h - r2, r2, r2),
        Rect::new(r.x, r.y + r.h - r3, r3, r3),
        Rect::new(r.x, r.y, r.w, bt),
        Rect::new(r.x, r.y + r.h - ut, r.w, ut),
        Rect::new(r.x, r.y, bl, r.h),
        Rect::new(r.x + r.w - br, r.y, br, r.h),
    ];
    for o in odd {
        let Some(o) = o.intersect(area) else {
            continue;
        };
        for y in o.y..o.y + o.h {
            for x in o.x..o.x + o.w {
                // Overlapping squares and bands are redone from clear:
                // the result does not depend on how often.
                canvas.put_px(x, y, [0; 4]);
                p.pixel(canvas, x, y, Some(bg), d);
            }
        }
    }
}

/// A box's geometry worked out once, for painting it pixel by pixel.
struct Prepared {
    r: Rect,
    radius: [i32; 4],
    inner: Rect,
    irad: [i32; 4],
    has_border: bool,
    /// The gradient's direction, start and length along it.
    dir: (f32, f32, f32, f32),
    under_top: i32,
    underline: i32,
    op: u8,
}

impl Prepared {
    fn new(b: &BoxPx, d: &Deco) -> Prepared {
        let r = b.rect;
        let [bt, br, bb, bl] = b.border;
        let inner = Rect::new(r.x + bl, r.y + bt, r.w - bl - br, r.h - bt - bb);
        let irad = [
            (b.radius[0] - bt.max(bl)).max(0),
            (b.radius[1] - bt.max(br)).max(0),
            (b.radius[2] - bb.max(br)).max(0),
            (b.radius[3] - bb.max(bl)).max(0),
        ];
        // The gradient runs along the angle's direction across the box,
        // measured from the box's corner (so the same colours come out
        // wherever the box is drawn).
        let dir = match d.gradient {
            Some((_, angle)) => {
                let a = (angle as f32).to_radians();
                let (dx, dy) = (a.cos(), a.sin());
                let (w, h) = (r.w as f32, r.h as f32);
                let corners = [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h)];
                let proj = corners.map(|(x, y)| x * dx + y * dy);
                let lo = proj.iter().copied().fold(f32::MAX, f32::min);
                let hi = proj.iter().copied().fold(f32::MIN, f32::max);
                (dx, dy, lo, (hi - lo).max(1.0))
            }
            None => (0.0, 0.0, 0.0, 1.0),
        };
        Prepared {
            r,
            radius: b.radius,
            inner,
            irad,
            has_border: b.border.iter().any(|&w| w > 0),
            dir,
            under_top: r.y + r.h - b.underline,
            underline: b.underline,
            op: d.opacity(),
        }
    }

    /// The columns of row `y` that are plain background (inside the border,
    /// off the corners and the underline), if any; `None` for a gradient.
    fn plain_span(&self, b: &BoxPx, y: i32, d: &Deco) -> Option<(i32, i32)> {
        if d.gradient.is_some() {
            return None;
        }
        let r = self.r;
        let [bt, br, bb, bl] = b.border;
        let [r0, r1, r2, r3] = self.radius;
        let (y0, y1) = (r.y, r.y + r.h);
        if y < y0 + bt || y >= y1 - bb.max(self.underline) {
            return None;
        }
        let (mut lo, mut hi) = (r.x + bl, r.x + r.w - br);
        if y < y0 + r0 {
            lo = lo.max(r.x + r0);
        }
        if y < y0 + r1 {
            hi = hi.min(r.x + r.w - r1);
        }
        if y >= y1 - r3 {
            lo = lo.max(r.x + r3);
        }
        if y >= y1 - r2 {
            hi = hi.min(r.x + r.w - r2);
        }
        (hi > lo).then_some((lo, hi))
    }

    fn pixel(&self, canvas: &mut Canvas<'_>, x: i32, y: i32, bg: Option<Rgba>, d: &Deco) {
        let outer = coverage(x, y, self.r, self.radius);
        if outer == 0 {
            return;
        }
        let fill_cov = if self.has_border {
            coverage(x, y, self.inner, self.irad)
        } else {
            outer
        };
        if let Some(c) = bg {
            let c = match d.gradient {
                Some((to, _)) => {
                    let (dx, dy, t0, span) = self.dir;
                    let p = ((x - self.r.x) as f32 + 0.5) * dx + ((y - self.r.y) as f32 + 0.5) * dy;
                    lerp(c, to, (p - t0) / span)
                }
                None => c,
            };
            blend(canvas, x, y, scale_alpha(c, self.op), fill_cov);
        }
        if self.has_border && outer > fill_cov {
            let inner = self.inner;
            // The side whose band the pixel is in (top and bottom win at
            // the corners).
            let side = if y < inner.y {
                0
            } else if y >= inner.y + inner.h {
                2
            } else if x < inner.x {
                3
            } else {
                1
            };
            blend(
                canvas,
                x,
                y,
                scale_alpha(d.border[side].1, self.op),
                outer - fill_cov,
            );
        }
        if self.underline > 0 && y >= self.under_top {
            blend(canvas, x, y, scale_alpha(d.underline.1, self.op), outer);
        }
    }
}

fn blend(canvas: &mut Canvas<'_>, x: i32, y: i32, c: Rgba, cov16: u32) {
    let cov = (cov16 * 255 / 16) as u8;
    canvas.blend_px(x, y, c.premultiplied(), cov);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_inside_fast_path_paints_what_every_pixel_would() {
        let red = Rgba::hex(0xff000080);
        let decos = [
            Deco::default(),
            Deco {
                radius: [8, 3, 0, 11],
                ..Deco::default()
            },
            Deco {
                radius: [6; 4],
                border: [(1, Rgba::hex(0x00ff00ff)), (3, red), (2, red), (4, red)],
                underline: (3, Rgba::hex(0x0000ffff)),
                transparency: 40,
                ..Deco::default()
            },
        ];
        for d in decos {
            for bg in [Rgba::hex(0x2050a0ff), Rgba::hex(0x2050a080)] {
                let (w, h) = (60u32, 24u32);
                let mut fast = vec![7u8; (w * h * 4) as usize];
                let mut slow = fast.clone();
                let b = BoxPx::of(&d, Rect::new(3, 2, 50, 20), |v| v as i32);
                let clip = Rect::new(5, 0, 40, 24);
                paint_clipped(
                    &mut Canvas::new(&mut fast, w, h).unwrap(),
                    &b,
                    Some(bg),
                    &d,
                    clip,
                );
                let p = Prepared::new(&b, &d);
                let mut c = Canvas::new(&mut slow, w, h).unwrap();
                for y in 2..22 {
                    for x in 5..45 {
                        p.pixel(&mut c, x, y, Some(bg), &d);
                    }
                }
                assert!(fast == slow, "{d:?} {bg:?}");
            }
        }
    }

    #[test]
    fn a_box_drawn_elsewhere_has_the_same_pixels() {
        let d = Deco {
            radius: [7, 3, 9, 0],
            border: [
                (1, Rgba::hex(0x00ff00ff)),
                (2, Rgba::hex(0xff0000ff)),
                (3, Rgba::hex(0x0000ffff)),
                (1, Rgba::hex(0xffffffff)),
            ],
            gradient: Some((Rgba::hex(0xff8000ff), 33)),
            underline: (2, Rgba::hex(0x80808080)),
            transparency: 30,
            ..Deco::default()
        };
        let (w, h) = (50u32, 22u32);
        let at = |x0: i32, y0: i32, cw: u32, ch: u32| {
            let mut px = vec![9u8; (cw * ch * 4) as usize];
            let b = BoxPx::of(&d, Rect::new(x0, y0, w as i32, h as i32), |v| v as i32);
            let mut c = Canvas::new(&mut px, cw, ch).unwrap();
            paint(&mut c, &b, Some(Rgba::hex(0x2050a0c0)), &d);
            px
        };
        let here = at(0, 0, w, h);
        let (x0, y0, cw) = (1337, 3, 1400u32);
        let there = at(x0, y0, cw, 30);
        for y in 0..h as usize {
            let a = &here[y * w as usize * 4..(y + 1) * w as usize * 4];
            let at = ((y + y0 as usize) * cw as usize + x0 as usize) * 4;
            assert_eq!(a, &there[at..at + w as usize * 4], "row {y}");
        }
    }

    #[test]
    fn corners() {
        let r = Rect::new(0, 0, 20, 10);
        assert_eq!(coverage(10, 5, r, [4; 4]), 16);
        assert_eq!(coverage(0, 0, r, [4; 4]), 0, "outside the arc");
        assert_eq!(coverage(0, 0, r, [0; 4]), 16, "square");
        assert_eq!(coverage(19, 9, r, [4; 4]), 0);
        assert_eq!(coverage(0, 9, r, [4; 4]), 0);
        assert_eq!(coverage(19, 0, r, [4; 4]), 0);
        assert_eq!(coverage(20, 5, r, [0; 4]), 0, "outside");
    }
}

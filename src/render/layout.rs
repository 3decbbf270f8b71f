//! Where each segment goes: left, centre and right groups on one row.

use super::segment::Align;

/// An integer rectangle in buffer pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rect {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width (≤ 0: empty).
    pub w: i32,
    /// Height (≤ 0: empty).
    pub h: i32,
}

impl Rect {
    /// The rectangle at (`x`, `y`) of size `w` × `h`.
    pub const fn new(x: i32, y: i32, w: i32, h: i32) -> Rect {
        Rect { x, y, w, h }
    }

    /// True when it covers no pixel.
    pub fn is_empty(&self) -> bool {
        self.w <= 0 || self.h <= 0
    }

    /// The overlap of two rectangles, `None` when they do not overlap.
    pub fn intersect(&self, o: Rect) -> Option<Rect> {
        let x0 = self.x.max(o.x);
        let y0 = self.y.max(o.y);
        let x1 = (self.x + self.w).min(o.x + o.w);
        let y1 = (self.y + self.h).min(o.y + o.h);
        (x1 > x0 && y1 > y0).then(|| Rect::new(x0, y0, x1 - x0, y1 - y0))
    }

    /// Whether the pixel (`x`, `y`) is inside.
    pub fn contains(&self, x: i32, y: i32) -> bool {
        x >= self.x && y >= self.y && x < self.x + self.w && y < self.y + self.h
    }
}

/// Spacing of the row, in buffer pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spacing {
    /// Space between neighbouring segments of a group.
    pub gap: i32,
    /// Space between the bar's ends and the left/right groups.
    pub margin: i32,
}

/// Places segments of the given `widths` and `aligns` on a bar `width` ×
/// `height`, writing one rectangle per segment into `out` (cleared first).
/// A segment whose `joined` entry is true follows the one before it with no
/// gap (members of a group; `joined` may be shorter than `widths`).
///
/// Left segments run from the left margin, right ones end at the right margin,
/// centre ones are centred. Rectangles never overlap: on a bar too narrow for
/// everything, later groups (centre, then right) are cut, possibly to nothing,
/// which keeps "repaint one segment" independent of its neighbours.
pub fn layout(
    widths: &[i32],
    aligns: &[Align],
    joined: &[bool],
    width: i32,
    height: i32,
    sp: Spacing,
    out: &mut Vec<Rect>,
) {
    out.clear();
    out.resize(widths.len(), Rect::default());
    let group_width = |a: Align| {
        let (sum, n, joins) = widths
            .iter()
            .zip(aligns)
            .enumerate()
            .filter(|(_, (_, &al))| al == a)
            .fold((0, 0, 0), |(s, n, j), (i, (&w, _))| {
                let joined = n > 0 && joined.get(i).copied().unwrap_or(false);
                (s + w, n + 1, j + joined as i32)
            });
        sum + sp.gap * ((n - 1).max(0) - joins)
    };
    let (lw, cw, rw) = (
        group_width(Align::Left),
        group_width(Align::Center),
        group_width(Align::Right),
    );
    let has = |a: Align| aligns.contains(&a);
    let right_start = width - sp.margin - rw;
    // The centre group is centred on the bar, but slides sideways rather
    // than cover a neighbour when the bar is narrow and there is room.
    let lo = if has(Align::Left) {
        sp.margin + lw + sp.gap
    } else {
        sp.margin
    };
    let hi = if has(Align::Right) {
        right_start - sp.gap - cw
    } else {
        width - sp.margin - cw
    };
    let mut cx = (width - cw) / 2;
    if lo <= hi {
        cx = cx.clamp(lo, hi);
    }
    let starts = [
        (Align::Left, sp.margin),
        (Align::Center, cx),
        (Align::Right, right_start),
    ];
    let mut edge = 0;
    for (group, start) in starts {
        let mut x = start;
        let mut n = 0;
        for (i, (&w, &a)) in widths.iter().zip(aligns).enumerate() {
            if a != group {
                continue;
            }
            if n > 0 && joined.get(i).copied().unwrap_or(false) {
                x -= sp.gap;
            }
            n += 1;
            let x0 = x.max(edge).min(width);
            let x1 = (x + w).min(width).max(x0);
            out[i] = Rect::new(x0, 0, x1 - x0, height);
            edge = x1;
            x += w + sp.gap;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Align::*;

    const SP: Spacing = Spacing { gap: 4, margin: 10 };

    #[test]
    fn groups_sit_left_centre_right() {
        let mut out = Vec::new();
        layout(
            &[20, 30, 40, 10],
            &[Left, Right, Center, Right],
            &[],
            200,
            28,
            SP,
            &mut out,
        );
        assert_eq!(out[0], Rect::new(10, 0, 20, 28));
        assert_eq!(out[2], Rect::new(80, 0, 40, 28));
        // Right group: 30 + 4 + 10 = 44 wide, ending at 190.
        assert_eq!(out[1], Rect::new(146, 0, 30, 28));
        assert_eq!(out[3], Rect::new(180, 0, 10, 28));
    }

    #[test]
    fn centre_slides_rather_than_cover_the_right_group() {
        let mut out = Vec::new();
        // Centred, the 100-px clock would span 100..200 and the 120-px right
        // group starts at 170: slide the clock left, cut nothing.
        layout(&[100, 120], &[Center, Right], &[], 300, 28, SP, &mut out);
        assert_eq!(out[1], Rect::new(170, 0, 120, 28));
        assert_eq!(out[0], Rect::new(66, 0, 100, 28));
    }

    #[test]
    fn joined_segments_have_no_gap() {
        let mut out = Vec::new();
        layout(
            &[20, 30, 40, 10],
            &[Left, Left, Left, Right],
            &[false, true, false, true],
            200,
            28,
            SP,
            &mut out,
        );
        assert_eq!(out[0], Rect::new(10, 0, 20, 28));
        assert_eq!(out[1], Rect::new(30, 0, 30, 28));
        assert_eq!(out[2], Rect::new(64, 0, 40, 28));
        // The first of a side never joins across sides.
        assert_eq!(out[3], Rect::new(180, 0, 10, 28));
    }

    #[test]
    fn too_narrow_never_overlaps() {
        let mut out = Vec::new();
        layout(
            &[80, 80, 80],
            &[Left, Center, Right],
            &[],
            120,
            28,
            SP,
            &mut out,
        );
        for w in out.windows(2) {
            assert!(w[0].x + w[0].w <= w[1].x, "{out:?}");
        }
        assert!(out.iter().all(|r| r.x + r.w <= 120 && r.w >= 0));
    }
}

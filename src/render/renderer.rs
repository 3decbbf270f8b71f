//! One bar's pixels: diffs the segments against what it drew last, lays them
//! out, paints only what changed, and says which rectangles those were.

use super::backs::{Backs, Key};
use super::boxes::{self, BoxPx};
use super::damage::{History, Mask, HISTORY, MAX_SEGMENTS};
use super::glyphs::GlyphCache;
use super::icon::icon_of;
use super::layout::{layout, Rect, Spacing};
use super::markup::{self, SpanList};
use super::paint::Canvas;
use super::segment::{Deco, FontKey, GroupBox, Rgba, Segment, Slide, Text, TextAlign};
use super::text::{round_px, FontId, Shaped, NO_FACE};

/// Glyphs each segment's shaped text has room for from the start: more than
/// any number-and-unit segment a tick rewrites, so steady ticks never grow
/// them (a long window title may, once).
const SHAPED_CAP: usize = 64;

/// The font a segment is drawn in, in buffer pixels: resolved on relayout
/// from its style's [`FontKey`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct SegFont {
    id: FontId,
    px: u16,
    /// Each font's line is centred on the bar on its own (as Waybar
    /// centres each module's label): a larger module font sits lower.
    baseline: i32,
    /// A second stroke, for bold asked of a face that has none.
    bold: bool,
}

/// Where a frame placed its segments (what a sliding frame is compared
/// with).
#[derive(Default)]
struct Placed {
    drawn: Vec<Segment>,
    rects: Vec<Rect>,
    group_rects: Vec<Rect>,
    ext: Vec<(i32, i32)>,
    cut: Vec<(i32, bool)>,
}

impl Placed {
    fn with_capacity(n: usize) -> Placed {
        Placed {
            drawn: Vec::with_capacity(n),
            rects: Vec::with_capacity(n),
            group_rects: Vec::with_capacity(n),
            ext: Vec::with_capacity(n),
            cut: Vec::with_capacity(n),
        }
    }
}

/// Whether any of `segs` is a sliding drawer's member.
fn sliding(segs: &[Segment]) -> bool {
    segs.iter()
        .any(|s| s.style.group.is_some_and(|g| g.slide.is_some()))
}

/// How the bar looks, in logical pixels (multiplied by the scale when drawn).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Look {
    /// Font size: the em height in logical pixels.
    pub font_px: f32,
    /// Space inside each segment, left and right of its text.
    pub padding: u32,
    /// Space between segments of a group.
    pub gap: u32,
    /// Space between the bar's ends and the outer segments.
    pub margin: u32,
    /// The bar's background (may be translucent).
    pub background: Rgba,
    /// The bar's own box (`[bar.style.bar]`): radius, border, gradient,
    /// opacity, underline; outside a rounded box the buffer is transparent.
    /// The default is a plain fill of `background`.
    pub frame: Deco,
}

impl Default for Look {
    fn default() -> Self {
        Look {
            font_px: 14.0,
            padding: 6,
            gap: 2,
            margin: 4,
            background: Rgba::hex(0x1e1e2eff),
            frame: Deco::default(),
        }
    }
}

/// The renderer of one bar surface (one per output: each has its own size,
/// scale and set of buffers to keep up to date).
pub struct Renderer {
    look: Look,
    /// Buffer size in pixels and the scale it was derived with, in 120ths
    /// (the unit of wp_fractional_scale_v1: 120 is 1×, 180 is 1.5×).
    width: u32,
    height: u32,
    scale120: u32,
    font_px: u16,
    baseline: i32,
    padding: i32,
    /// The segments as of the newest frame, their text widths and rectangles.
    drawn: Vec<Segment>,
    /// Each drawn segment's text, shaped (reshaped only when it changes).
    shaped: Vec<Shaped>,
    /// Where a changed segment is shaped before it replaces its slot.
    scratch: Shaped,
    /// Where one run of a markup segment in its own size or family is shaped.
    runs: Shaped,
    /// Each drawn segment's markup spans (empty for plain text), and the
    /// scratch's.
    spans: Vec<SpanList>,
    scratch_spans: SpanList,
    widths: Vec<i32>,
    /// Per segment: its font.
    fonts: Vec<SegFont>,
    aligns: Vec<super::segment::Align>,
    rects: Vec<Rect>,
    /// Per segment: the room its group's box takes before and after it
    /// (margin, border and padding of the group; the first and last
    /// member only), buffer pixels.
    ext: Vec<(i32, i32)>,
    /// Per segment: whether it joins the one before (same group: no gap).
    joined: Vec<bool>,
    /// Per segment: its group's box (empty: no group).
    group_rects: Vec<Rect>,
    /// Per segment: the width of its own cell a sliding drawer hides
    /// (0: none), and whether that is on its left (the drawer opens
    /// leftwards) rather than its right.
    cut: Vec<(i32, bool)>,
    /// The layout before the newest relayout, kept while a drawer slides
    /// so the frame repaints only the columns that moved.
    prev: Placed,
    history: History,
    /// The pixels under each segment's text (on a bar with boxes).
    backs: Backs,
    /// Per frame (its number modulo [`HISTORY`]) and segment: the columns
    /// and rows whose pixels changed, when only its text did ([`WHOLE`]:
    /// the cell).
    cols: [[Ink; MAX_SEGMENTS]; HISTORY],
    /// Size, scale or look changed: the next update lays out and repaints all.
    stale: bool,
}

impl Renderer {
    /// A renderer with no size yet (call [`Renderer::resize`] before drawing).
    pub fn new(look: Look) -> Renderer {
        Renderer {
            look,
            width: 0,
            height: 0,
            scale120: 120,
            font_px: 1,
            baseline: 0,
            padding: 0,
            drawn: Vec::with_capacity(MAX_SEGMENTS),
            shaped: Vec::with_capacity(MAX_SEGMENTS),
            scratch: Shaped::with_capacity(SHAPED_CAP),
            runs: Shaped::with_capacity(SHAPED_CAP),
            spans: Vec::with_capacity(MAX_SEGMENTS),
            scratch_spans: SpanList::default(),
            widths: Vec::with_capacity(MAX_SEGMENTS),
            fonts: Vec::with_capacity(MAX_SEGMENTS),
            aligns: Vec::with_capacity(MAX_SEGMENTS),
            rects: Vec::with_capacity(MAX_SEGMENTS),
            ext: Vec::with_capacity(MAX_SEGMENTS),
            joined: Vec::with_capacity(MAX_SEGMENTS),
            group_rects: Vec::with_capacity(MAX_SEGMENTS),
            cut: Vec::with_capacity(MAX_SEGMENTS),
            prev: Placed::with_capacity(MAX_SEGMENTS),
            history: History::default(),
            backs: Backs::default(),
            cols: [[WHOLE; MAX_SEGMENTS]; HISTORY],
            stale: true,
        }
    }

    /// Sets the logical size and integer scale; the buffer is their product.
    pub fn resize(&mut self, logical_width: u32, logical_height: u32, scale: u32) {
        self.resize_fractional(logical_width, logical_height, scale.max(1) * 120);
    }

    /// Sets the logical size and a scale in 120ths (fractional-scale-v1):
    /// the buffer is the logical size times `scale120 / 120`, rounded.
    pub fn resize_fractional(&mut self, logical_width: u32, logical_height: u32, scale120: u32) {
        let scale120 = scale120.max(1);
        let (w, h) = (
            scaled(logical_width, scale120),
            scaled(logical_height, scale120),
        );
        if (w, h, scale120) != (self.width, self.height, self.scale120) {
            self.width = w;
            self.height = h;
            self.scale120 = scale120;
            self.stale = true;
        }
    }

    /// Changes the look (a config reload); the next update lays out and
    /// repaints everything.
    pub fn set_look(&mut self, look: Look) {
        if look != self.look {
            self.look = look;
            self.stale = true;
        }
    }

    /// Forces the next update to lay out and repaint everything.
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Buffer size in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The scale the buffer is drawn at, in 120ths.
    pub fn scale120(&self) -> u32 {
        self.scale120
    }

    /// The font size in buffer pixels (for warming the glyph cache).
    pub fn font_px(&self) -> u16 {
        ((self.look.font_px * self.scale120 as f32 / 120.0).round() as u16).max(1)
    }

    /// Takes the newest segments (at most [`MAX_SEGMENTS`]) and returns which
    /// of them changed since the previous update: a new frame when non-empty.
    /// A change of count, alignment or width relays out the whole bar.
    pub fn update(&mut self, segments: &[Segment], glyphs: &mut GlyphCache) -> Mask {
        let segments = &segments[..segments.len().min(MAX_SEGMENTS)];
        let mut mask = Mask::EMPTY;
        let mut cols = [WHOLE; MAX_SEGMENTS];
        let mut relayout = self.stale || segments.len() != self.drawn.len();
        if !relayout {
            for (i, (new, old)) in segments.iter().zip(&self.drawn).enumerate() {
                if new == old {
                    continue;
                }
                let slide = |s: &Segment| s.style.group.and_then(|g| g.slide);
                if new.align != old.align
                    || new.style.font != old.style.font
                    || slide(new) != slide(old)
                {
                    relayout = true;
                    break;
                }
                if new.style.group != old.style.group && !self.same_group_room(i, new, old) {
                    relayout = true;
                    break;
                }
                let icons = (icon_of(new.text.as_str()), icon_of(old.text.as_str()));
                let text_changed = new.text != old.text || new.markup != old.markup;
                if text_changed && (icons.0.is_some() || icons.1.is_some()) {
                    // An icon keeps its width (unless its box changed too);
                    // an icon for text does not.
                    if icons.0.is_none()
                        || icons.1.is_none()
                        || (new.style.deco != old.style.deco
                            && self.seg_width(i, new, self.icon_px(glyphs) as i32)
                                != self.widths[i])
                    {
                        relayout = true;
                        break;
                    }
                } else if text_changed {
                    let (out, spans) = (&mut self.scratch, &mut self.scratch_spans);
                    let f = (&self.fonts[i], self.scale120);
                    shape_segment(glyphs, new, f, (out, &mut self.runs), spans);
                    if self.seg_width(i, new, self.scratch.width_px()) != self.widths[i] {
                        relayout = true;
                        break;
                    }
                    if new.style == old.style
                        && !new.markup
                        && !old.markup
                        && self.spans[i].as_slice().is_empty()
                        && self.scratch_spans.as_slice().is_empty()
                    {
                        cols[i] = self.changed_cols(i, glyphs);
                    }
                    std::mem::swap(&mut self.scratch, &mut self.shaped[i]);
                    self.spans[i] = self.scratch_spans;
                } else if new.style.deco != old.style.deco && {
                    let content_w = match icons.0 {
                        Some(_) => self.icon_px(glyphs) as i32,
                        None => self.shaped[i].width_px(),
                    };
                    self.seg_width(i, new, content_w) != self.widths[i]
                } {
                    relayout = true;
                    break;
                }
                mask.set(i);
            }
        }
        if relayout {
            // A drawer sliding (or just stopped) repaints what moved, not
            // the whole bar: keep the layout it is compared with.
            let slid = !self.stale
                && self.history.frame() > 0
                && (sliding(segments) || sliding(&self.drawn));
            if slid {
                self.keep_placed();
            }
            self.relayout(segments, glyphs);
            mask = if slid { self.moved() } else { Mask::FULL };
            // Columns worked out before the relayout was found no longer hold.
            cols = [WHOLE; MAX_SEGMENTS];
        } else {
            for (i, (new, old)) in segments.iter().zip(self.drawn.iter_mut()).enumerate() {
                if mask.contains(i) {
                    *old = *new;
                }
            }
        }
        // A renumbering is recorded even when no pixel changed: the frames
        // before it name other segments.
        if !mask.is_empty() || mask.reindexed {
            let f = self.history.push(mask);
            self.cols[f as usize % HISTORY] = cols;
            self.refresh_backs(mask);
            mask.from = f - 1;
        }
        mask
    }

    /// Moves the current layout into `prev` (the vectors swap, so neither
    /// allocates).
    fn keep_placed(&mut self) {
        let p = &mut self.prev;
        std::mem::swap(&mut p.drawn, &mut self.drawn);
        std::mem::swap(&mut p.rects, &mut self.rects);
        std::mem::swap(&mut p.group_rects, &mut self.group_rects);
        std::mem::swap(&mut p.ext, &mut self.ext);
        std::mem::swap(&mut p.cut, &mut self.cut);
    }

    /// The damage of a relayout against the kept layout: the segments that
    /// sit or look the same at both ends of the bar are left alone; the
    /// columns from the first to the last that differ (old places and new)
    /// are the span, repainted with every segment in it.
    fn moved(&self) -> Mask {
        let old = &self.prev;
        let same = |a: usize, b: usize| {
            // The share shown is in `cut`; the segment is otherwise alike.
            let mut o = old.drawn[a];
            if let (Some(g), Some(n)) = (o.style.group.as_mut(), self.drawn[b].style.group) {
                g.slide = n.slide;
            }
            o == self.drawn[b]
                && old.rects[a] == self.rects[b]
                && old.ext[a] == self.ext[b]
                && old.cut[a] == self.cut[b]
                && self.same_group_pixels(old.group_rects[a], b)
        };
        let (no, nn) = (old.drawn.len(), self.drawn.len());
        let n = no.min(nn);
        let mut pre = 0;
        while pre < n && same(pre, pre) {
            pre += 1;
        }
        let mut suf = 0;
        while suf < n - pre && same(no - 1 - suf, nn - 1 - suf) {
            suf += 1;
        }
        let (mut x0, mut x1) = (i32::MAX, i32::MIN);
        let olds = old.rects[pre..no - suf].iter();
        for r in olds.chain(&self.rects[pre..nn - suf]) {
            if !r.is_empty() {
                (x0, x1) = (x0.min(r.x), x1.max(r.x + r.w));
            }
        }
        let mut mask = Mask {
            reindexed: no != nn,
            ..Mask::EMPTY
        };
        if x1 > x0 {
            mask.span = (x0, x1);
            for (k, r) in self.rects.iter().enumerate() {
                if !r.is_empty() && r.x < x1 && r.x + r.w > x0 {
                    mask.set(k);
                }
            }
        }
        mask
    }

    /// Whether segment `i`'s share of its group's box is the same whether
    /// the box is at `old` or where it is now: the same box, or one whose
    /// far edge moved (a drawer sliding) while the cell sits clear of that
    /// edge's corners and border, with no gradient (which spans the box).
    fn same_group_pixels(&self, old: Rect, i: usize) -> bool {
        let new = self.group_rects[i];
        if old == new {
            return true;
        }
        let Some(g) = self.drawn[i].style.group else {
            return false;
        };
        // Same height, both at least as wide as high: the same radii.
        if g.deco.gradient.is_some()
            || (old.y, old.h) != (new.y, new.h)
            || old.w < old.h
            || new.w < new.h
        {
            return false;
        }
        let mut reach = 0;
        for k in 0..4 {
            reach = reach
                .max(self.px(g.deco.radius[k]))
                .max(self.px(g.deco.border[k].0));
        }
        let reach = reach + 1;
        let c = self.rects[i];
        if old.x == new.x {
            c.x + c.w + reach <= (old.x + old.w).min(new.x + new.w)
        } else if old.x + old.w == new.x + new.w {
            c.x - reach >= old.x.max(new.x)
        } else {
            false
        }
    }

    /// The columns and rows of segment `i`'s cell whose pixels differ
    /// between its drawn text (`shaped[i]`) and the newly shaped one
    /// (`scratch`), same style and width: the ink of the glyphs between the
    /// first and the last that differ, old and new. [`WHOLE`] when the text
    /// moved. Outside those rows neither the old nor the new glyphs have
    /// ink, so the pixels there stay as they are (a digit is about a third
    /// of the bar's height: the rest of its columns is not touched).
    fn changed_cols(&self, i: usize, glyphs: &mut GlyphCache) -> Ink {
        let (old, new) = (&self.shaped[i], &self.scratch);
        let (Some((ox, _)), Some((nx, _))) = (
            self.content_origin(i, old.width_px()),
            self.content_origin(i, new.width_px()),
        ) else {
            return WHOLE;
        };
        if ox != nx {
            return WHOLE;
        }
        let (a, b) = (&old.glyphs[..], &new.glyphs[..]);
        let same = |p: &super::text::Placed, q: &super::text::Placed| {
            p.face == q.face && p.gid == q.gid && p.x == q.x && p.y == q.y
        };
        let pre = a.iter().zip(b).take_while(|(p, q)| same(p, q)).count();
        let suf = a[pre..]
            .iter()
            .rev()
            .zip(b[pre..].iter().rev())
            .take_while(|(p, q)| same(p, q))
            .count();
        let font = self.fonts.get(i).copied().unwrap_or_default();
        let stroke = if font.bold {
            (font.px as i32 / 14).max(1)
        } else {
            0
        };
        let mut ink = Ink::NONE;
        for p in a[pre..a.len() - suf].iter().chain(&b[pre..b.len() - suf]) {
            let g = glyphs.glyph_id(p.face, p.gid, font.px);
            if g.width == 0 || g.height == 0 {
                continue;
            }
            // As `draw_text` places it.
            let gx = ox + round_px(p.x) + g.left;
            let gy = font.baseline + round_px(p.y) + g.top;
            ink.x0 = ink.x0.min(gx);
            ink.x1 = ink.x1.max(gx + g.width as i32 + stroke);
            ink.y0 = ink.y0.min(gy);
            ink.y1 = ink.y1.max(gy + g.height as i32);
        }
        ink
    }

    /// The columns and rows of segment `i` that `mask` (a mask of frames
    /// after `mask.from`) repaints: `None` for the whole cell, an empty
    /// range when no pixel changed.
    fn repaint_cols(&self, i: usize, mask: Mask) -> Option<Ink> {
        let frame = self.history.frame();
        if mask.full || mask.from == 0 || mask.from >= frame {
            return None;
        }
        let mut ink = Ink::NONE;
        for f in mask.from + 1..=frame {
            let m = self.history.mask_of(f)?;
            if !m.contains(i) {
                continue;
            }
            let c = self.cols[f as usize % HISTORY][i];
            if c == WHOLE || m.full {
                return None;
            }
            ink = Ink {
                x0: ink.x0.min(c.x0),
                x1: ink.x1.max(c.x1),
                y0: ink.y0.min(c.y0),
                y1: ink.y1.max(c.y1),
            };
        }
        Some(ink)
    }

    /// Brings the kept background of each segment in `mask` up to date
    /// (painted again only when its box or place changed).
    fn refresh_backs(&mut self, mask: Mask) {
        if !self.backs.is_on() {
            return;
        }
        let mut backs = std::mem::take(&mut self.backs);
        for i in 0..self.drawn.len() {
            if !mask.contains(i) {
                continue;
            }
            let Some(key) = self.back_key(i) else {
                continue;
            };
            backs.refresh(i, key, |c| {
                self.paint_back(c, i, key.cell, (key.cell.x, key.cell.y));
            });
        }
        self.backs = backs;
    }

    /// What segment `i`'s background depends on (see [`Key`]).
    fn back_key(&self, i: usize) -> Option<Key> {
        let (seg, cell) = (self.drawn.get(i)?, *self.rects.get(i)?);
        let own = self.own_cell(i).unwrap_or(cell);
        Some(Key {
            cell,
            own: self.box_rect(seg, own),
            bg: seg.style.bg,
            deco: seg.style.deco,
            group: seg.style.group,
            group_rect: self.group_box_of(i).unwrap_or_default(),
        })
    }

    /// Paints segment `i`'s background — the bar's backdrop, its group's
    /// box, its own box — inside its `cell`, every position less `off`
    /// (the canvas's origin in the bar: (0, 0) for the bar's buffer, the
    /// cell's corner for its kept copy).
    fn paint_back(&self, canvas: &mut Canvas, i: usize, cell: Rect, off: (i32, i32)) {
        let Some(seg) = self.drawn.get(i) else {
            return;
        };
        let at = |r: Rect| Rect::new(r.x - off.0, r.y - off.1, r.w, r.h);
        self.backdrop_at(canvas, at(cell), off);
        self.paint_boxes(canvas, i, seg, cell, off);
    }

    /// Segment `i`'s group box (clipped to its `cell`) and its own box,
    /// every position less `off`.
    fn paint_boxes(
        &self,
        canvas: &mut Canvas,
        i: usize,
        seg: &Segment,
        cell: Rect,
        off: (i32, i32),
    ) {
        let at = |r: Rect| Rect::new(r.x - off.0, r.y - off.1, r.w, r.h);
        if let (Some(g), Some(gr)) = (seg.style.group, self.group_box_of(i)) {
            if g.bg.is_some() || g.deco != Deco::default() {
                let b = BoxPx::of(&g.deco, at(gr), |v| self.px(v));
                boxes::paint_clipped(canvas, &b, g.bg, &g.deco, at(cell));
            }
        }
        let own = self.own_cell(i).unwrap_or(cell);
        let d = &seg.style.deco;
        if seg.style.bg.is_some() || *d != Deco::default() {
            let b = BoxPx::of(d, at(self.box_rect(seg, own)), |v| self.px(v));
            match self.slide_clip(i) {
                Some(clip) => boxes::paint_clipped(canvas, &b, seg.style.bg, d, at(clip)),
                None => boxes::paint(canvas, &b, seg.style.bg, d),
            }
        }
    }

    fn relayout(&mut self, segments: &[Segment], glyphs: &mut GlyphCache) {
        self.stale = false;
        self.font_px = self.font_px();
        let scale120 = self.scale120;
        let px = |v: u32| scaled(v, scale120) as i32;
        self.padding = px(self.look.padding);
        let lm = glyphs.line_metrics(self.font_px);
        let top = (self.height as i32 - (lm.ascent + lm.descent)) / 2;
        self.baseline = top + lm.ascent;
        self.drawn.clear();
        self.drawn.extend_from_slice(segments);
        self.fonts.clear();
        for seg in segments {
            let f = self.seg_font(seg.style.font, glyphs);
            self.fonts.push(f);
        }
        self.widths.clear();
        self.aligns.clear();
        self.ext.clear();
        self.joined.clear();
        let gid = |i: usize| {
            segments
                .get(i)
                .and_then(|s: &Segment| s.style.group.map(|g| g.id))
        };
        for (i, seg) in segments.iter().enumerate() {
            let g = gid(i);
            let first = i == 0 || gid(i - 1) != g;
            let last = gid(i + 1) != g;
            let ext = match seg.style.group {
                Some(gb) => self.group_ext(&gb, first, last),
                None => (0, 0),
            };
            self.ext.push(ext);
            self.joined.push(g.is_some() && !first);
        }
        if self.shaped.len() < segments.len() {
            // Room for a full segment each, so a tick's reshaping never grows them.
            self.shaped
                .resize_with(segments.len(), || Shaped::with_capacity(SHAPED_CAP));
        }
        if self.spans.len() < segments.len() {
            self.spans.resize(segments.len(), SpanList::default());
        }
        let icon_px = self.icon_px(glyphs) as i32;
        for (i, seg) in segments.iter().enumerate() {
            let text_w = if icon_of(seg.text.as_str()).is_some() {
                self.shaped[i].glyphs.clear();
                self.spans[i].clear();
                icon_px
            } else {
                let (out, spans) = (&mut self.shaped[i], &mut self.spans[i]);
                let f = (&self.fonts[i], self.scale120);
                shape_segment(glyphs, seg, f, (out, &mut self.runs), spans);
                self.shaped[i].width_px()
            };
            let w = self.cell_width(seg, text_w) + self.ext[i].0 + self.ext[i].1;
            self.widths.push(w);
            self.aligns.push(seg.align);
        }
        self.slide_cuts(segments);
        let sp = Spacing {
            gap: px(self.look.gap),
            margin: px(self.look.margin),
        };
        layout(
            &self.widths,
            &self.aligns,
            &self.joined,
            self.width as i32,
            self.height as i32,
            sp,
            &mut self.rects,
        );
        // Each group's box: from its first member's cell to its last's,
        // less the group's margins.
        self.group_rects.clear();
        self.group_rects.resize(segments.len(), Rect::default());
        let mut i = 0;
        while i < segments.len() {
            let Some(g) = segments[i].style.group else {
                i += 1;
                continue;
            };
            let mut j = i;
            while j + 1 < segments.len() && self.joined[j + 1] {
                j += 1;
            }
            let m = g.deco.margin.map(|v| self.px(v));
            let (a, b) = (self.rects[i], self.rects[j]);
            let r = Rect::new(
                a.x + m[3],
                m[0],
                b.x + b.w - m[1] - (a.x + m[3]),
                self.height as i32 - m[0] - m[2],
            );
            for k in i..=j {
                self.group_rects[k] = r;
            }
            i = j + 1;
        }
        // Keep backgrounds when anything but a plain fill lies under text.
        let boxed = self.look.frame != Deco::default()
            || segments.iter().any(|s| {
                s.style.bg.is_some() || s.style.deco != Deco::default() || s.style.group.is_some()
            });
        self.backs
            .layout(&self.rects, self.width, self.height, boxed);
    }

    /// A sliding drawer's hidden members share the width it shows: the
    /// member nearest the first gets it first; each loses the rest of its
    /// own cell (never its group's room) from its width.
    fn slide_cuts(&mut self, segments: &[Segment]) {
        self.cut.clear();
        self.cut.resize(segments.len(), (0, false));
        let slide = |s: &Segment| s.style.group.and_then(|g| g.slide);
        let mut i = 0;
        while i < segments.len() {
            let mut j = i;
            while j + 1 < segments.len() && self.joined[j + 1] {
                j += 1;
            }
            let Some(sl) = segments[i..=j].iter().find_map(slide) else {
                i = j + 1;
                continue;
            };
            let own = |k: usize, w: &[i32]| (w[k] - self.ext[k].0 - self.ext[k].1).max(0);
            let total: i64 = (i..=j)
                .filter(|&k| slide(&segments[k]).is_some())
                .map(|k| own(k, &self.widths) as i64)
                .sum();
            let all = Slide::ALL as i64;
            let mut left = (total * sl.shown as i64 + all / 2) / all;
            let mut take = |k: usize| {
                if slide(&segments[k]).is_none() {
                    return;
                }
                let w = own(k, &self.widths);
                let v = left.min(w as i64) as i32;
                left -= v as i64;
                self.cut[k] = (w - v, sl.leftward);
                self.widths[k] -= w - v;
            };
            if sl.leftward {
                (i..=j).rev().for_each(&mut take);
            } else {
                (i..=j).for_each(&mut take);
            }
            i = j + 1;
        }
    }

    /// The font `key` names at this scale (the bar's when it names none).
    fn seg_font(&self, key: FontKey, glyphs: &mut GlyphCache) -> SegFont {
        let bar = SegFont {
            id: 0,
            px: self.font_px,
            baseline: self.baseline,
            bold: false,
        };
        if key == FontKey::default() {
            return bar;
        }
        let id = glyphs.font_of(key.faces());
        let px = match key.size {
            0 => self.font_px,
            q => ((q as f32 / 4.0 * self.scale120 as f32 / 120.0).round() as u16).max(1),
        };
        let lm = glyphs.line_metrics_in(id, px);
        let top = (self.height as i32 - (lm.ascent + lm.descent)) / 2;
        SegFont {
            id,
            px,
            baseline: top + lm.ascent,
            bold: glyphs.synthetic_bold(id),
        }
    }

    /// The room group box `g` takes before and after a member that is the
    /// group's `first` and/or `last`: (before, after), buffer pixels.
    fn group_ext(&self, g: &GroupBox, first: bool, last: bool) -> (i32, i32) {
        let d = &g.deco;
        let p = d.padding.unwrap_or([0; 4]);
        let side = |k: usize| self.px(d.margin[k]) + self.px(d.border[k].0) + self.px(p[k]);
        (
            if first { side(3) } else { 0 },
            if last { side(1) } else { 0 },
        )
    }

    /// Whether segment `i` may change from `old` to `new` group look without
    /// a relayout: same group, same room before and after, same margins
    /// (which place the group's box).
    fn same_group_room(&self, i: usize, new: &Segment, old: &Segment) -> bool {
        let (Some(n), Some(o)) = (new.style.group, old.style.group) else {
            return false;
        };
        let first = !self.joined.get(i).copied().unwrap_or(false);
        let last = !self.joined.get(i + 1).copied().unwrap_or(false);
        n.id == o.id
            && n.deco.margin == o.deco.margin
            && self.group_ext(&n, first, last) == self.ext.get(i).copied().unwrap_or((0, 0))
    }

    /// Segment `i`'s width for content `content_w` wide in `seg`'s style,
    /// its group's room included.
    fn seg_width(&self, i: usize, seg: &Segment, content_w: i32) -> i32 {
        let (a, b) = self.ext.get(i).copied().unwrap_or((0, 0));
        self.cell_width(seg, content_w) + a + b
    }

    /// Segment `i`'s own cell: its layout cell less its group's room (on a
    /// sliding drawer, where it sits when the drawer is open: partly
    /// outside its layout cell).
    fn own_cell(&self, i: usize) -> Option<Rect> {
        let c = *self.rects.get(i)?;
        let (a, b) = self.ext.get(i).copied().unwrap_or((0, 0));
        let w = (c.w - a - b).max(0);
        Some(match self.cut.get(i).copied().unwrap_or_default() {
            (0, _) => Rect::new(c.x + a, c.y, w, c.h),
            (cut, true) => Rect::new(c.x + a - cut, c.y, w + cut, c.h),
            (cut, false) => Rect::new(c.x + a, c.y, w + cut, c.h),
        })
    }

    /// What shows of a sliding drawer member's own cell (its layout cell
    /// less its group's room); `None` for any other segment.
    fn slide_clip(&self, i: usize) -> Option<Rect> {
        let (cut, _) = self.cut.get(i).copied().unwrap_or_default();
        if cut == 0 {
            return None;
        }
        let c = *self.rects.get(i)?;
        let (a, b) = self.ext.get(i).copied().unwrap_or((0, 0));
        Some(Rect::new(c.x + a, c.y, (c.w - a - b).max(0), c.h))
    }

    /// How many segment backgrounds (the bar's backdrop, group box and own
    /// box under a segment's text) were painted into the kept copies so
    /// far, and the bytes those copies take: a change of text alone paints
    /// none (its kept background is copied back under the new text).
    pub fn backgrounds(&self) -> (u64, usize) {
        (self.backs.painted(), self.backs.bytes())
    }

    /// Where segment `i`'s group box is drawn, if it is in a group.
    pub fn group_box_of(&self, i: usize) -> Option<Rect> {
        self.group_rects.get(i).copied().filter(|r| !r.is_empty())
    }

    /// The edge of an icon in the bar (px): the line's height, within the bar.
    pub fn icon_px(&self, glyphs: &GlyphCache) -> u32 {
        let lm = glyphs.line_metrics(self.font_px);
        ((lm.ascent + lm.descent).max(1) as u32).min(self.height.max(1))
    }

    /// Number of the newest frame (0 before the first update).
    pub fn frame(&self) -> u64 {
        self.history.frame()
    }

    /// What a buffer that last showed frame `shown` must repaint.
    pub fn since(&self, shown: u64) -> Mask {
        self.history.since(shown)
    }

    /// Where segment `i` is drawn (its whole cell, padding included).
    pub fn segment_rect(&self, i: usize) -> Option<Rect> {
        self.rects.get(i).copied()
    }

    /// The segment under buffer pixel column `x`, if any (for the pointer:
    /// hover and clicks).
    pub fn segment_at(&self, x: i32) -> Option<usize> {
        self.rects
            .iter()
            .position(|r| !r.is_empty() && x >= r.x && x < r.x + r.w)
    }

    /// The pen position where segment `i`'s text starts: (x, baseline).
    pub fn text_origin(&self, i: usize) -> Option<(i32, i32)> {
        self.content_origin(i, self.shaped.get(i)?.width_px())
    }

    /// Where content `content_w` wide (text or an icon) starts in segment
    /// `i`'s box, after its border, padding and alignment: (x, baseline).
    fn content_origin(&self, i: usize, content_w: i32) -> Option<(i32, i32)> {
        let (seg, cell) = (self.drawn.get(i)?, self.own_cell(i)?);
        let d = &seg.style.deco;
        let b = self.box_rect(seg, cell);
        let (pl, pr) = self.pad_lr(d);
        let (bl, br) = (self.px(d.border[3].0), self.px(d.border[1].0));
        let room = b.w - bl - pl - pr - br - content_w;
        let off = match d.align {
            TextAlign::Left => 0,
            TextAlign::Center => room.max(0) / 2,
            TextAlign::Right => room.max(0),
        };
        let baseline = self.fonts.get(i).map_or(self.baseline, |f| f.baseline);
        Some((b.x + bl + pl + off, baseline))
    }

    /// Where segment `i`'s box is drawn (its cell less its margins).
    pub fn box_of(&self, i: usize) -> Option<Rect> {
        Some(self.box_rect(self.drawn.get(i)?, self.own_cell(i)?))
    }

    fn px(&self, v: u16) -> i32 {
        scaled(v as u32, self.scale120) as i32
    }

    /// Left and right padding of a box of style `d`.
    fn pad_lr(&self, d: &Deco) -> (i32, i32) {
        match d.padding {
            Some(p) => (self.px(p[3]), self.px(p[1])),
            None => (self.padding, self.padding),
        }
    }

    /// A cell's width for text `text_w` wide in `seg`'s style.
    fn cell_width(&self, seg: &Segment, text_w: i32) -> i32 {
        let d = &seg.style.deco;
        let (pl, pr) = self.pad_lr(d);
        let inner = self.px(d.border[3].0) + pl + text_w + pr + self.px(d.border[1].0);
        self.px(d.margin[3]) + inner.max(self.px(d.min_width)) + self.px(d.margin[1])
    }

    fn box_rect(&self, seg: &Segment, cell: Rect) -> Rect {
        let m = seg.style.deco.margin.map(|v| self.px(v));
        Rect::new(
            cell.x + m[3],
            cell.y + m[0],
            cell.w - m[1] - m[3],
            cell.h - m[0] - m[2],
        )
    }

    /// The rectangles covered by `mask`, into `out` (cleared first). A full
    /// mask is one rectangle, the whole bar; empty cells are left out.
    pub fn rects(&self, mask: Mask, out: &mut Vec<Rect>) {
        out.clear();
        if mask.full {
            out.push(Rect::new(0, 0, self.width as i32, self.height as i32));
            return;
        }
        let span = self.span_rect(mask);
        if let Some(s) = span {
            out.push(s);
        }
        for (i, r) in self.rects.iter().enumerate() {
            let inside = span.is_some_and(|s| r.intersect(s) == Some(*r));
            if mask.contains(i) && !r.is_empty() && !inside {
                out.push(*r);
            }
        }
    }

    /// The columns a mask's span covers, top to bottom, within the bar.
    fn span_rect(&self, mask: Mask) -> Option<Rect> {
        if !mask.has_span() {
            return None;
        }
        let (x0, x1) = mask.span;
        Rect::new(x0, 0, x1 - x0, self.height as i32).intersect(Rect::new(
            0,
            0,
            self.width as i32,
            self.height as i32,
        ))
    }

    /// Paints the newest frame's content for `mask` into `canvas` (which must
    /// be this renderer's size; otherwise nothing is drawn).
    pub fn paint(&self, canvas: &mut Canvas, mask: Mask, glyphs: &mut GlyphCache) {
        if (canvas.width(), canvas.height()) != (self.width, self.height) || self.stale {
            return;
        }
        if mask.full {
            self.backdrop(
                canvas,
                Rect::new(0, 0, self.width as i32, self.height as i32),
            );
        }
        // Segments moved there: the backdrop and every segment in it are
        // painted again (spans of several frames join into one, which may
        // cover segments none of them changed).
        let span = self.span_rect(mask);
        if let (false, Some(span)) = (mask.full, span) {
            self.backdrop(canvas, span);
        }
        for (i, seg) in self.drawn.iter().enumerate() {
            let cell = self.rects[i];
            let spanned = span.is_some_and(|s| cell.intersect(s).is_some());
            if !mask.contains(i) && !spanned {
                continue;
            }
            if cell.is_empty() {
                continue;
            }
            // Only the columns a text change touched, over the kept
            // background (or the bar's plain fill): the same pixels.
            let plain = !self.backs.is_on()
                && self.look.frame == Deco::default()
                && seg.style.bg.is_none()
                && seg.style.deco == Deco::default()
                && seg.style.group.is_none();
            let narrow = match self.repaint_cols(i, mask) {
                Some(ink) if !spanned && (plain || self.backs.is_on()) => {
                    let (x0, x1) = (ink.x0.max(cell.x), ink.x1.min(cell.x + cell.w));
                    let (y0, y1) = (ink.y0.max(cell.y), ink.y1.min(cell.y + cell.h));
                    Some(Rect::new(x0, y0, (x1 - x0).max(0), (y1 - y0).max(0)))
                }
                _ => None,
            };
            if let Some(cols) = narrow {
                if cols.is_empty() {
                    continue;
                }
                let kept = self
                    .back_key(i)
                    .is_some_and(|key| self.backs.put_cols(i, &key, cols, canvas));
                if kept || plain {
                    if !kept {
                        self.backdrop(canvas, cols);
                    }
                    self.draw_text(canvas, i, seg, cols, glyphs);
                    continue;
                }
            }
            // The kept background when there is one (the same pixels).
            let kept = self
                .back_key(i)
                .is_some_and(|key| self.backs.put(i, &key, canvas));
            if !kept {
                if mask.full {
                    self.paint_boxes(canvas, i, seg, cell, (0, 0));
                } else {
                    self.paint_back(canvas, i, cell, (0, 0));
                }
            }
            self.draw_text(canvas, i, seg, cell, glyphs);
        }
        glyphs.release_pages();
    }

    /// Draws segment `i`'s text (or icon) over its background, touching
    /// only pixels inside `clip` (its cell, or the columns a text change
    /// touched).
    fn draw_text(
        &self,
        canvas: &mut Canvas,
        i: usize,
        seg: &Segment,
        clip: Rect,
        glyphs: &mut GlyphCache,
    ) {
        let cell = self.rects[i];
        let d = &seg.style.deco;
        // A sliding drawer's member shows up to the moving edge.
        let clip = match self.slide_clip(i) {
            Some(c) => match clip.intersect(c) {
                Some(c) => c,
                None => return,
            },
            None => clip,
        };
        if let Some(id) = icon_of(seg.text.as_str()) {
            let px = self.icon_px(glyphs);
            let y = (self.height as i32 - px as i32) / 2;
            let (x, _) = self
                .content_origin(i, px as i32)
                .unwrap_or((cell.x + self.padding, 0));
            if let Some(img) = glyphs.icons.get(id, px) {
                canvas.draw_image_alpha(img, x, y, clip, d.opacity());
            }
            return;
        }
        let (x, _) = self.text_origin(i).unwrap_or((cell.x + self.padding, 0));
        let font = self.fonts.get(i).copied().unwrap_or_default();
        let spans = self.spans.get(i).map_or(&[][..], |s| s.as_slice());
        if !spans.is_empty() {
            let b = self.box_rect(seg, cell);
            markup::draw(
                canvas,
                glyphs,
                &self.shaped[i],
                (spans, 0),
                (x, font.baseline),
                (b.y, b.h),
                (font.px, self.scale120, font.bold),
                seg.style.fg,
                d.opacity(),
                clip,
            );
            return;
        }
        let [r, g, b, a] = seg.style.fg.0;
        let a = (a as u32 * d.opacity() as u32 + 127) / 255;
        let fg = Rgba([r, g, b, a as u8]).premultiplied();
        // A synthetic bold's second stroke, as markup's `<b>` draws it.
        let stroke = (font.px as i32 / 14).max(1);
        for p in &self.shaped[i].glyphs {
            if p.face == NO_FACE {
                glyphs.count_box(Some(p.ch));
            }
            let g = glyphs.glyph_id(p.face, p.gid, font.px);
            let gx = x + round_px(p.x);
            let gy = font.baseline + round_px(p.y);
            canvas.draw_glyph(g, gx, gy, fg, clip);
            if font.bold {
                canvas.draw_glyph(g, gx + stroke, gy, fg, clip);
            }
        }
    }

    /// Paints the bar's background inside `clip`: a plain fill, or the
    /// bar's own box ([`Look::frame`]) with transparency outside it.
    fn backdrop(&self, canvas: &mut Canvas, clip: Rect) {
        self.backdrop_at(canvas, clip, (0, 0));
    }

    /// [`Renderer::backdrop`] into a canvas whose origin is at `off` in
    /// the bar (`clip` is in the canvas's coordinates).
    fn backdrop_at(&self, canvas: &mut Canvas, clip: Rect, off: (i32, i32)) {
        let bg = self.look.background;
        if self.look.frame == Deco::default() {
            canvas.fill(clip, bg.premultiplied());
            return;
        }
        let all = Rect::new(-off.0, -off.1, self.width as i32, self.height as i32);
        let b = BoxPx::of(&self.look.frame, all, |v| self.px(v));
        boxes::paint_frame(canvas, &b, bg, &self.look.frame, clip);
    }
}

/// Shapes `seg`'s text in `font` (at `scale120`) into `out`; markup is
/// parsed first (its families resolved, once each), its plain text shaped
/// run by run where spans change the size or family (`runs`: scratch), and
/// its spans kept in `spans` (empty for plain text).
fn shape_segment(
    glyphs: &mut GlyphCache,
    seg: &Segment,
    (font, scale120): (&SegFont, u32),
    (out, runs): (&mut Shaped, &mut Shaped),
    spans: &mut SpanList,
) {
    spans.clear();
    if seg.markup {
        let mut plain = Text::default();
        let report = &mut |s: &str| markup::report_once(s);
        let family = &mut |name: &str| glyphs.font_named(name);
        markup::parse_fonts(seg.text.as_str(), &mut plain, 0, spans, report, family);
        let f = (font.id, font.px, scale120);
        markup::shape(glyphs, plain.as_str(), (spans.as_slice(), 0), f, out, runs);
    } else {
        glyphs.shape_in(font.id, seg.text.as_str(), font.px, out);
    }
}

/// The part of a segment's cell a text change repainted: columns `x0..x1`,
/// rows `y0..y1` (buffer pixels).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Ink {
    x0: i32,
    x1: i32,
    y0: i32,
    y1: i32,
}

impl Ink {
    /// Nothing (the start of a union).
    const NONE: Ink = Ink {
        x0: i32::MAX,
        x1: i32::MIN,
        y0: i32::MAX,
        y1: i32::MIN,
    };
}

/// A change that repaints a segment's whole cell (see `Renderer::cols`).
const WHOLE: Ink = Ink {
    x0: i32::MIN,
    x1: i32::MAX,
    y0: i32::MIN,
    y1: i32::MAX,
};

/// `v × scale120 / 120`, rounded half up (as fractional-scale-v1 asks).
fn scaled(v: u32, scale120: u32) -> u32 {
    ((v as u64 * scale120 as u64 + 60) / 120) as u32
}

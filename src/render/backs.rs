//! What lies under each segment's text — the bar's backdrop, its group's
//! box, its own box with rounded corners, border, gradient and underline —
//! kept per segment. A tick whose text changed copies those pixels back and
//! draws only the glyphs over them; the boxes are painted again only when
//! what they depend on changes (a restyle, a relayout). A plain bar (no box
//! anywhere, no frame) keeps nothing: its background is one fill anyway.

use super::layout::Rect;
use super::paint::Canvas;
use super::segment::{Deco, GroupBox, Rgba};

/// Everything a segment's background depends on but the bar's look, size
/// and scale (whose change relays out, and so empties every slot).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The segment's cell (where its pixels go).
    pub cell: Rect,
    /// Its own box, in the cell less its group's room and its margins.
    pub own: Rect,
    pub bg: Option<Rgba>,
    pub deco: Deco,
    pub group: Option<GroupBox>,
    /// Its group's whole box (empty: none).
    pub group_rect: Rect,
}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// Byte offset of its rows (packed: `cell.w × 4` bytes a row).
    at: usize,
    /// Whose pixels it holds; `None`: nothing yet.
    key: Option<Key>,
}

/// The backgrounds of one bar's segments, packed one after another.
#[derive(Debug, Default)]
pub struct Backs {
    px: Vec<u8>,
    slots: Vec<Slot>,
    /// Backgrounds painted into slots so far (for tests and benches).
    painted: u64,
}

impl Backs {
    /// Forgets every background and, when `on`, gives each of `cells` a
    /// slot. Room for a whole `width × height` bar is reserved once per
    /// size (cells never overlap), so a relayout never allocates; only the
    /// cells' bytes are ever written, so only they become resident.
    pub fn layout(&mut self, cells: &[Rect], width: u32, height: u32, on: bool) {
        self.slots.clear();
        if !on {
            self.px.clear();
            return;
        }
        let cap = width as usize * height as usize * 4;
        if self.px.capacity() < cap {
            self.px = Vec::with_capacity(cap);
        }
        let mut at = 0;
        for c in cells {
            let n = bytes(*c);
            if at + n > cap {
                // Not possible for cells of one bar; then it is painted directly.
                self.slots.push(Slot {
                    at: usize::MAX,
                    key: None,
                });
                continue;
            }
            self.slots.push(Slot { at, key: None });
            at += n;
        }
        self.px.resize(at, 0);
    }

    /// Whether segments have slots (the bar has boxes).
    pub fn is_on(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Makes segment `i`'s slot hold the background `key` describes,
    /// painting it with `paint` (into a canvas the size of the cell, whose
    /// origin is the cell's top-left corner) when it holds anything else.
    pub fn refresh(&mut self, i: usize, key: Key, paint: impl FnOnce(&mut Canvas<'_>)) {
        let Some(slot) = self.slots.get_mut(i) else {
            return;
        };
        if slot.key == Some(key) || slot.at == usize::MAX || key.cell.is_empty() {
            return;
        }
        let Some(data) = self.px.get_mut(slot.at..slot.at + bytes(key.cell)) else {
            return;
        };
        let Some(mut c) = Canvas::new(data, key.cell.w as u32, key.cell.h as u32) else {
            return;
        };
        paint(&mut c);
        slot.key = Some(key);
        self.painted += 1;
    }

    /// How many backgrounds were painted into slots so far.
    pub fn painted(&self) -> u64 {
        self.painted
    }

    /// Bytes the kept backgrounds take (the cells of the bar).
    pub fn bytes(&self) -> usize {
        self.px.len()
    }

    /// Copies segment `i`'s background into `canvas` at its cell when its
    /// slot holds the one `key` describes; false when it does not (paint
    /// it directly then).
    pub fn put(&self, i: usize, key: &Key, canvas: &mut Canvas<'_>) -> bool {
        let Some(slot) = self.slots.get(i) else {
            return false;
        };
        if slot.key.as_ref() != Some(key) {
            return false;
        }
        match self.px.get(slot.at..slot.at + bytes(key.cell)) {
            Some(rows) => canvas.put_rows(key.cell, rows),
            None => false,
        }
    }

    /// [`Backs::put`] of the part `cols` of the cell only (some of its
    /// columns and rows).
    pub fn put_cols(&self, i: usize, key: &Key, cols: Rect, canvas: &mut Canvas<'_>) -> bool {
        let Some(slot) = self.slots.get(i) else {
            return false;
        };
        let c = key.cell;
        if slot.key.as_ref() != Some(key) || cols.intersect(c) != Some(cols) {
            return false;
        }
        let row = c.w as usize * 4;
        let skip = (cols.y - c.y) as usize * row + (cols.x - c.x) as usize * 4;
        let n = cols.w as usize * 4;
        let Some(px) = self.px.get(slot.at..slot.at + bytes(c)) else {
            return false;
        };
        canvas.put_rows_strided(cols, &px[skip..], row, n)
    }
}

/// Bytes of a packed image of `r`.
fn bytes(r: Rect) -> usize {
    r.w.max(0) as usize * r.h.max(0) as usize * 4
}

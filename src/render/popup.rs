//! The hover popup's pixels: three small tables (top processes by CPU, by
//! resident memory, by IO rate), each a title line and [`POPUP_ROWS`] rows of
//! pid, name and value, in fixed columns.
//!
//! Like the bar, the popup is diffed line by line: a tick repaints only the
//! lines whose text changed, and a reused buffer repaints what it missed
//! (the same [`History`] of masks, one bit per line). Columns sit at fixed x
//! positions and every cell is clipped to itself, so no name — multibyte,
//! control bytes, glyphs the font lacks — can push a value out of line.

use super::damage::{History, Mask};
use super::glyphs::GlyphCache;
use super::layout::Rect;
use super::line::{self, Place};
use super::paint::Canvas;
use super::segment::{Rgba, Text};

/// Rows per table (the sampler keeps the top 5 of each list).
pub const POPUP_ROWS: usize = 5;
/// Tables in the popup: CPU, memory, IO.
pub const POPUP_TABLES: usize = 3;
/// Lines in the popup: a title and the rows, per table.
pub const POPUP_LINES: usize = POPUP_TABLES * (1 + POPUP_ROWS);

// Each line is one bit of a damage mask.
const _: () = assert!(POPUP_LINES <= super::damage::MAX_SEGMENTS);

/// Width of the pid column, in digit advances (pids go up to 4194304).
const PID_CHARS: i32 = 7;
/// Width of the name column, in digit advances: the kernel's 15-byte limit,
/// so a whole ASCII name always fits and only stranger ones are cut.
const NAME_CHARS: i32 = 15;
/// Width of the value column, in digit advances ("1023.9 MiB/s").
const VALUE_CHARS: i32 = 12;
/// Space between columns, in digit advances.
const GAP_CHARS: i32 = 2;

/// One process in a table. `pid == 0` is not a process: blank, or a dim
/// note (its `name`) when the table has nothing to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PopupRow {
    /// Process id.
    pub pid: u32,
    /// The name as shown (already made printable; cut to fit when drawn).
    pub name: Text,
    /// The figure, formatted to a fixed width ("12.5%", "1.2 GiB").
    pub value: Text,
}

/// A titled table of up to [`POPUP_ROWS`] processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PopupTable {
    /// Shown above the rows.
    pub title: Text,
    /// The rows, largest first; unused ones have pid 0.
    pub rows: [PopupRow; POPUP_ROWS],
}

/// Everything the popup shows. Fixed-size and `Copy`, like a segment: a tick
/// rewrites it without touching the heap and the renderer diffs it with `==`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PopupContent {
    /// CPU, memory, IO.
    pub tables: [PopupTable; POPUP_TABLES],
}

impl PopupContent {
    /// Line `i` (0..[`POPUP_LINES`]): `Err(title)` for a title line, `Ok(row)`.
    fn line(&self, i: usize) -> Result<&PopupRow, &Text> {
        let t = &self.tables[i / (1 + POPUP_ROWS)];
        match i % (1 + POPUP_ROWS) {
            0 => Err(&t.title),
            r => Ok(&t.rows[r - 1]),
        }
    }
}

/// How the popup looks, in logical pixels and straight RGBA.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PopupLook {
    /// Font size (em height), logical pixels.
    pub font_px: f32,
    /// Space between the border and the text.
    pub padding: u32,
    /// Extra space between lines.
    pub line_gap: u32,
    /// Fill.
    pub background: Rgba,
    /// Names and values.
    pub foreground: Rgba,
    /// Pids.
    pub dim: Rgba,
    /// Titles and the 1-px border.
    pub accent: Rgba,
}

impl Default for PopupLook {
    fn default() -> Self {
        // The bar's default palette (modules::Palette), opaque: a tooltip
        // over arbitrary windows must stay readable.
        PopupLook {
            font_px: 14.0,
            padding: 8,
            line_gap: 3,
            background: Rgba::hex(0x1e1e2eff),
            foreground: Rgba::hex(0xcdd6f4ff),
            dim: Rgba::hex(0x9399b2ff),
            accent: Rgba::hex(0x89b4faff),
        }
    }
}

/// Lays out, diffs and paints the popup at one integer scale.
pub struct PopupRenderer {
    look: PopupLook,
    scale: u32,
    font_px: u16,
    /// Buffer size in pixels (a multiple of `scale` both ways).
    width: u32,
    height: u32,
    border: i32,
    line_h: i32,
    /// First line's top; baseline offset within a line.
    top: i32,
    baseline: i32,
    /// Column edges: pid ends, name starts/ends, value ends; text starts.
    left: i32,
    pid_end: i32,
    name_x: i32,
    name_end: i32,
    value_end: i32,
    drawn: PopupContent,
    history: History,
    /// Scale changed (or never laid out): the next update repaints all.
    stale: bool,
}

impl PopupRenderer {
    /// A renderer at scale 1 (call [`PopupRenderer::set_scale`] for others).
    pub fn new(look: PopupLook, glyphs: &mut GlyphCache) -> PopupRenderer {
        let mut r = PopupRenderer {
            look,
            scale: 0,
            font_px: 1,
            width: 0,
            height: 0,
            border: 0,
            line_h: 0,
            top: 0,
            baseline: 0,
            left: 0,
            pid_end: 0,
            name_x: 0,
            name_end: 0,
            value_end: 0,
            drawn: PopupContent::default(),
            history: History::default(),
            stale: true,
        };
        r.set_scale(1, glyphs);
        r
    }

    /// Lays the popup out for integer `scale` (buffer = logical × scale).
    /// The size depends only on the font and scale, never on the content,
    /// so an open popup never resizes.
    pub fn set_scale(&mut self, scale: u32, glyphs: &mut GlyphCache) {
        let scale = scale.max(1);
        if scale == self.scale {
            return;
        }
        self.scale = scale;
        self.stale = true;
        let s = scale as i32;
        self.font_px = ((self.look.font_px * scale as f32).round() as u16).max(1);
        let lm = glyphs.line_metrics(self.font_px);
        let adv = glyphs.glyph('0', self.font_px).advance.max(1);
        self.border = s;
        let pad = self.look.padding as i32 * s;
        self.line_h = lm.ascent + lm.descent + self.look.line_gap as i32 * s;
        self.baseline = lm.ascent + self.look.line_gap as i32 * s / 2;
        self.left = self.border + pad;
        self.top = self.border + pad;
        self.pid_end = self.left + PID_CHARS * adv;
        self.name_x = self.pid_end + GAP_CHARS * adv;
        self.name_end = self.name_x + NAME_CHARS * adv;
        self.value_end = self.name_end + (GAP_CHARS + VALUE_CHARS) * adv;
        let round_up = |v: i32| ((v + s - 1) / s * s) as u32;
        self.width = round_up(self.value_end + pad + self.border);
        self.height = round_up(self.top + POPUP_LINES as i32 * self.line_h + pad + self.border);
    }

    /// Forgets the layout (the font changed): the next
    /// [`PopupRenderer::set_scale`] measures anew, whatever the scale.
    pub fn forget_layout(&mut self) {
        self.scale = 0;
        self.stale = true;
    }

    /// The integer scale laid out for.
    pub fn scale(&self) -> u32 {
        self.scale
    }

    /// Buffer size in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// Size in logical pixels (what the positioner is told).
    pub fn logical_size(&self) -> (u32, u32) {
        (self.width / self.scale, self.height / self.scale)
    }

    /// The font size in buffer pixels (to warm the glyph cache).
    pub fn font_px(&self) -> u16 {
        self.font_px
    }

    /// Forces the next update to repaint everything (a new buffer pool).
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Takes the newest content; returns the lines that changed (a new
    /// frame when non-empty).
    pub fn update(&mut self, content: &PopupContent) -> Mask {
        let mask = if self.stale {
            self.stale = false;
            Mask::FULL
        } else {
            let mut m = Mask::EMPTY;
            for i in 0..POPUP_LINES {
                if content.line(i) != self.drawn.line(i) {
                    m.set(i);
                }
            }
            m
        };
        self.drawn = *content;
        if !mask.is_empty() {
            self.history.push(mask);
        }
        mask
    }

    /// Number of the newest frame (0 before the first update).
    pub fn frame(&self) -> u64 {
        self.history.frame()
    }

    /// What a buffer that last showed frame `shown` must repaint.
    pub fn since(&self, shown: u64) -> Mask {
        self.history.since(shown)
    }

    /// Where line `i` is drawn (inside the border, full inner width).
    pub fn line_rect(&self, i: usize) -> Rect {
        Rect::new(
            self.border,
            self.top + i as i32 * self.line_h,
            self.width as i32 - 2 * self.border,
            self.line_h,
        )
    }

    /// The rectangles covered by `mask`, into `out` (cleared first).
    pub fn rects(&self, mask: Mask, out: &mut Vec<Rect>) {
        out.clear();
        if mask.full {
            out.push(Rect::new(0, 0, self.width as i32, self.height as i32));
            return;
        }
        for i in 0..POPUP_LINES {
            if mask.contains(i) {
                out.push(self.line_rect(i));
            }
        }
    }

    /// Paints the newest content's `mask` lines into `canvas` (which must be
    /// this renderer's size; otherwise nothing is drawn).
    pub fn paint(&self, canvas: &mut Canvas, mask: Mask, glyphs: &mut GlyphCache) {
        if (canvas.width(), canvas.height()) != (self.width, self.height) || self.stale {
            return;
        }
        let bg = self.look.background.premultiplied();
        if mask.full {
            let (w, h) = (self.width as i32, self.height as i32);
            canvas.fill(Rect::new(0, 0, w, h), self.look.accent.premultiplied());
            canvas.fill(
                Rect::new(
                    self.border,
                    self.border,
                    w - 2 * self.border,
                    h - 2 * self.border,
                ),
                bg,
            );
        }
        for i in 0..POPUP_LINES {
            if !mask.contains(i) {
                continue;
            }
            let line = self.line_rect(i);
            if !mask.full {
                canvas.fill(line, bg);
            }
            let base = line.y + self.baseline;
            let cell = |x0: i32, x1: i32| Rect::new(x0, line.y, x1 - x0, line.h);
            match self.drawn.line(i) {
                Err(title) => {
                    let c = cell(self.left, self.value_end);
                    self.text(canvas, glyphs, title.as_str(), c, base, self.look.accent);
                }
                Ok(row) if row.pid != 0 => {
                    let fg = self.look.foreground;
                    let mut pid = Text::default();
                    let _ = std::fmt::Write::write_fmt(&mut pid, format_args!("{}", row.pid));
                    let c = cell(self.left, self.pid_end);
                    self.right(canvas, glyphs, pid.as_str(), c, base, self.look.dim);
                    let c = cell(self.name_x, self.name_end);
                    self.text(canvas, glyphs, row.name.as_str(), c, base, fg);
                    let c = cell(self.name_end, self.value_end);
                    self.right(canvas, glyphs, row.value.as_str(), c, base, fg);
                }
                Ok(row) if !row.name.as_str().is_empty() => {
                    // A note in place of processes ("none"): dim, no pid.
                    let c = cell(self.name_x, self.value_end);
                    self.text(canvas, glyphs, row.name.as_str(), c, base, self.look.dim);
                }
                Ok(_) => {}
            }
        }
    }

    /// Draws `text` from the left of `cell`, shaped as the bar's text is;
    /// when it is wider than the cell, as many whole grapheme clusters as
    /// fit before an ellipsis.
    fn text(
        &self,
        canvas: &mut Canvas,
        glyphs: &mut GlyphCache,
        text: &str,
        cell: Rect,
        baseline: i32,
        color: Rgba,
    ) {
        let fg = color.premultiplied();
        let at = Place::Left(cell.x);
        line::draw(
            canvas,
            glyphs,
            text,
            self.font_px,
            at,
            baseline,
            fg,
            cell,
            true,
        );
    }

    /// Draws `text` ending at the right of `cell` (numbers line up).
    fn right(
        &self,
        canvas: &mut Canvas,
        glyphs: &mut GlyphCache,
        text: &str,
        cell: Rect,
        baseline: i32,
        color: Rgba,
    ) {
        let fg = color.premultiplied();
        let at = Place::Right(cell.x + cell.w);
        line::draw(
            canvas,
            glyphs,
            text,
            self.font_px,
            at,
            baseline,
            fg,
            cell,
            true,
        );
    }

    /// Where the text of each column of line `i` starts and ends, for tests:
    /// (pid end, name start, name end, value end), buffer pixels.
    pub fn columns(&self) -> (i32, i32, i32, i32) {
        (self.pid_end, self.name_x, self.name_end, self.value_end)
    }

    /// The baseline of line `i`, buffer pixels (for tests).
    pub fn baseline_of(&self, i: usize) -> i32 {
        self.line_rect(i).y + self.baseline
    }
}

/// What the popup surface needs of whatever it shows (the process tables,
/// the clock's calendar): a layout per scale whose size does not depend on
/// the content, a frame history for reused buffers, and painting. The
/// content itself is passed to each renderer's own `update`.
pub trait PopupSheet {
    /// Lays out for integer `scale` (buffer = logical × scale).
    fn set_scale(&mut self, scale: u32, glyphs: &mut GlyphCache);
    /// Forgets the layout (the font changed).
    fn forget_layout(&mut self);
    /// The integer scale laid out for.
    fn scale(&self) -> u32;
    /// Buffer size in pixels.
    fn size(&self) -> (u32, u32);
    /// Size in logical pixels (what the positioner is told).
    fn logical_size(&self) -> (u32, u32) {
        let (w, h) = self.size();
        let s = self.scale().max(1);
        (w / s, h / s)
    }
    /// The font size in buffer pixels (to warm the glyph cache).
    fn font_px(&self) -> u16;
    /// Forces the next update to repaint everything.
    fn invalidate(&mut self);
    /// Number of the newest frame.
    fn frame(&self) -> u64;
    /// What a buffer that last showed frame `shown` must repaint.
    fn since(&self, shown: u64) -> Mask;
    /// The rectangles covered by `mask`, into `out` (cleared first).
    fn rects(&self, mask: Mask, out: &mut Vec<Rect>);
    /// Paints the newest content's `mask` lines into `canvas`.
    fn paint(&self, canvas: &mut Canvas, mask: Mask, glyphs: &mut GlyphCache);
}

impl PopupSheet for PopupRenderer {
    fn set_scale(&mut self, scale: u32, glyphs: &mut GlyphCache) {
        PopupRenderer::set_scale(self, scale, glyphs)
    }
    fn forget_layout(&mut self) {
        PopupRenderer::forget_layout(self)
    }
    fn scale(&self) -> u32 {
        PopupRenderer::scale(self)
    }
    fn size(&self) -> (u32, u32) {
        PopupRenderer::size(self)
    }
    fn font_px(&self) -> u16 {
        PopupRenderer::font_px(self)
    }
    fn invalidate(&mut self) {
        PopupRenderer::invalidate(self)
    }
    fn frame(&self) -> u64 {
        PopupRenderer::frame(self)
    }
    fn since(&self, shown: u64) -> Mask {
        PopupRenderer::since(self, shown)
    }
    fn rects(&self, mask: Mask, out: &mut Vec<Rect>) {
        PopupRenderer::rects(self, mask, out)
    }
    fn paint(&self, canvas: &mut Canvas, mask: Mask, glyphs: &mut GlyphCache) {
        PopupRenderer::paint(self, canvas, mask, glyphs);
        // Process names in new scripts read new pages of fallback faces.
        glyphs.release_pages();
    }
}

//! A module's tooltip in the hover popup: lines of text with the markup
//! subset ([`super::markup`]), in the popup's look.
//!
//! Unlike the tables and the calendar, a tooltip's size follows its text:
//! the popup is laid out when the text is set, and a tooltip whose text
//! changes size while it is open is opened anew (the bar's wayland layer
//! does that). A change repaints the whole popup: a tooltip is a few lines.

use super::damage::{History, Mask};
use super::glyphs::GlyphCache;
use super::layout::Rect;
use super::markup::{self, Span};
use super::paint::Canvas;
use super::popup::{PopupLook, PopupSheet};
use super::text::Shaped;

/// Lines shown at most (the rest is cut).
pub const MAX_LINES: usize = 32;
/// Widest tooltip, logical pixels (longer lines are clipped).
pub const MAX_WIDTH: u32 = 720;
/// Bytes of tooltip text taken at most.
pub const MAX_BYTES: usize = 8 * 1024;

/// Lays out and paints one tooltip.
pub struct TooltipRenderer {
    look: PopupLook,
    scale: u32,
    font_px: u16,
    width: u32,
    height: u32,
    border: i32,
    pad: i32,
    line_h: i32,
    baseline: i32,
    /// The text as set (markup), and what it parsed to.
    source: String,
    plain: String,
    spans: Vec<Span>,
    /// Each line: where it starts in `plain`, and its shaped glyphs.
    lines: Vec<(usize, Shaped)>,
    /// Scratch for a run in its own size or family.
    runs: Shaped,
    used: usize,
    history: History,
    /// Text or scale changed since the last layout.
    dirty: bool,
    /// The next update starts a new frame.
    changed: bool,
}

impl TooltipRenderer {
    /// An empty tooltip at scale 1.
    pub fn new(look: PopupLook, glyphs: &mut GlyphCache) -> TooltipRenderer {
        let mut r = TooltipRenderer {
            look,
            scale: 0,
            font_px: 1,
            width: 0,
            height: 0,
            border: 0,
            pad: 0,
            line_h: 0,
            baseline: 0,
            source: String::with_capacity(256),
            plain: String::with_capacity(256),
            spans: Vec::with_capacity(16),
            lines: Vec::new(),
            runs: Shaped::default(),
            used: 0,
            history: History::default(),
            dirty: true,
            changed: true,
        };
        PopupSheet::set_scale(&mut r, 1, glyphs);
        r
    }

    /// The text (markup) shown from now on; true when it differs from
    /// what was shown. Lays out anew (the size may change).
    pub fn set_text(&mut self, text: &str, glyphs: &mut GlyphCache) -> bool {
        let mut end = text.len().min(MAX_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let text = &text[..end];
        if text == self.source {
            return false;
        }
        self.source.clear();
        self.source.push_str(text);
        self.dirty = true;
        self.layout(glyphs);
        true
    }

    /// The text (markup) as set.
    pub fn text(&self) -> &str {
        &self.source
    }

    /// The plain text as drawn, line by line (for tests and reports).
    pub fn plain_lines(&self) -> impl Iterator<Item = &str> {
        self.plain.split('\n').take(self.used)
    }

    fn layout(&mut self, glyphs: &mut GlyphCache) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        self.changed = true;
        let s = self.scale as i32;
        self.font_px = ((self.look.font_px * self.scale as f32).round() as u16).max(1);
        let lm = glyphs.line_metrics(self.font_px);
        self.border = s;
        self.pad = self.look.padding as i32 * s;
        self.line_h = lm.ascent + lm.descent + self.look.line_gap as i32 * s;
        self.baseline = lm.ascent + self.look.line_gap as i32 * s / 2;
        self.plain.clear();
        self.spans.clear();
        let report = &mut |t: &str| markup::report_once(t);
        let family = &mut |name: &str| glyphs.font_named(name);
        markup::parse_fonts(
            &self.source,
            &mut self.plain,
            0,
            &mut self.spans,
            report,
            family,
        );
        let scale120 = self.scale * 120;
        let mut widest = 0;
        let mut used = 0;
        let mut start = 0;
        for line in self.plain.split('\n').take(MAX_LINES) {
            if self.lines.len() <= used {
                self.lines.push((0, Shaped::with_capacity(64)));
            }
            let slot = &mut self.lines[used];
            slot.0 = start;
            let line = line.trim_end_matches('\r');
            let f = (0, self.font_px, scale120);
            let spans = (&self.spans[..], start);
            markup::shape(glyphs, line, spans, f, &mut slot.1, &mut self.runs);
            widest = widest.max(slot.1.width_px());
            start += line.len() + 1;
            used += 1;
        }
        self.used = used;
        let max_w = MAX_WIDTH as i32 * s;
        let inner = widest.min(max_w - 2 * (self.border + self.pad));
        let round_up = |v: i32| ((v.max(s) + s - 1) / s * s) as u32;
        self.width = round_up(inner + 2 * (self.border + self.pad));
        self.height = round_up(used as i32 * self.line_h + 2 * (self.border + self.pad));
    }
}

impl PopupSheet for TooltipRenderer {
    fn set_scale(&mut self, scale: u32, glyphs: &mut GlyphCache) {
        let scale = scale.max(1);
        if scale != self.scale {
            self.scale = scale;
            self.dirty = true;
        }
        self.layout(glyphs);
    }

    fn forget_layout(&mut self) {
        self.scale = 0;
        self.dirty = true;
    }

    fn scale(&self) -> u32 {
        self.scale
    }

    fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    fn font_px(&self) -> u16 {
        self.font_px
    }

    fn invalidate(&mut self) {
        self.changed = true;
    }

    fn frame(&self) -> u64 {
        self.history.frame()
    }

    fn since(&self, shown: u64) -> Mask {
        self.history.since(shown)
    }

    fn rects(&self, mask: Mask, out: &mut Vec<Rect>) {
        out.clear();
        if !mask.is_empty() {
            out.push(Rect::new(0, 0, self.width as i32, self.height as i32));
        }
    }

    fn paint(&self, canvas: &mut Canvas, mask: Mask, glyphs: &mut GlyphCache) {
        if (canvas.width(), canvas.height()) != (self.width, self.height) || mask.is_empty() {
            return;
        }
        let (w, h) = (self.width as i32, self.height as i32);
        canvas.fill(Rect::new(0, 0, w, h), self.look.accent.premultiplied());
        let b = self.border;
        let inside = Rect::new(b, b, w - 2 * b, h - 2 * b);
        canvas.fill(inside, self.look.background.premultiplied());
        let text = Rect::new(b + self.pad, b, w - 2 * (b + self.pad), h - 2 * b);
        for (n, (start, shaped)) in self.lines[..self.used].iter().enumerate() {
            let top = b + self.pad + n as i32 * self.line_h;
            markup::draw(
                canvas,
                glyphs,
                shaped,
                (&self.spans, *start),
                (b + self.pad, top + self.baseline),
                (top, self.line_h),
                (self.font_px, self.scale * 120, false),
                self.look.foreground,
                255,
                text,
            );
        }
        glyphs.release_pages();
    }
}

impl TooltipRenderer {
    /// Takes the text set since the last frame: a full repaint when it
    /// changed (or a new pool needs one), nothing otherwise.
    pub fn update(&mut self) -> Mask {
        if !std::mem::take(&mut self.changed) {
            return Mask::EMPTY;
        }
        self.history.push(Mask::FULL);
        Mask::FULL
    }
}

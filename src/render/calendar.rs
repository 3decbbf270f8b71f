//! The clock's hover popup: the current month as a calendar — a
//! title ("November 2026"), a Monday-first weekday header and up to six
//! week rows of day numbers, today's cell inverted in the accent colour.
//!
//! The grid is plain date arithmetic (no calendar crate): the weekday of the
//! first comes from the day count since the epoch. The popup always has
//! room for six weeks, so its size never depends on the month and an open
//! popup never resizes at midnight. Like the process tables it is diffed
//! line by line: the day changing repaints the one or two week rows whose
//! highlight moved, a new month repaints everything.

use super::damage::{History, Mask};
use super::glyphs::GlyphCache;
use super::layout::Rect;
use super::paint::Canvas;
use super::popup::{PopupLook, PopupSheet};

/// Week rows the popup has room for (a 31-day month starting on a Saturday
/// or Sunday needs six).
pub const CALENDAR_WEEKS: usize = 6;
/// Lines: the title, the weekday header, the weeks.
pub const CALENDAR_LINES: usize = 2 + CALENDAR_WEEKS;
/// The weekday header, Monday first (ISO 8601).
pub const WEEKDAYS: [&str; 7] = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"];
/// Month names for the title (English, like the rest of the bar's text).
pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Width of a day cell, in digit advances ("31").
const CELL_CHARS: i32 = 2;
/// Space between cells, in digit advances.
const GAP_CHARS: i32 = 1;
/// Width of the grid, in digit advances.
const GRID_CHARS: i32 = 7 * CELL_CHARS + 6 * GAP_CHARS;

/// Whether `year` (proleptic Gregorian) has a 29 February.
pub fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1–12) of `year`; 0 for a month that does not exist.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to `year`-`month`-`day` (Howard Hinnant's
/// `days_from_civil`: exact for every proleptic Gregorian date).
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let (m, d) = (month as i64, day as i64);
    let y = year as i64 - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The weekday of a date, Monday = 0 … Sunday = 6.
pub fn weekday(year: i32, month: u8, day: u8) -> u8 {
    // 1970-01-01 was a Thursday (3).
    (days_from_civil(year, month, day) + 3).rem_euclid(7) as u8
}

/// What the calendar shows: a month and the day to highlight. Fixed-size
/// and `Copy`; the default (month 0) shows an empty popup.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CalendarContent {
    /// The year.
    pub year: i32,
    /// 1–12 (0: nothing to show yet).
    pub month: u8,
    /// The highlighted day of that month (0: none).
    pub today: u8,
}

impl CalendarContent {
    /// `month` (1–12) of `year` with `today` highlighted (0 for none).
    pub fn new(year: i32, month: u8, today: u8) -> CalendarContent {
        CalendarContent { year, month, today }
    }

    /// Days in the month shown.
    pub fn days(&self) -> u8 {
        days_in_month(self.year, self.month)
    }

    /// The column (Monday = 0) of the month's first day.
    pub fn first_weekday(&self) -> u8 {
        if self.days() == 0 {
            return 0;
        }
        weekday(self.year, self.month, 1)
    }

    /// Week rows the month needs (4 to 6; 0 for no month).
    pub fn weeks(&self) -> usize {
        let days = self.days() as usize;
        if days == 0 {
            return 0;
        }
        (self.first_weekday() as usize + days).div_ceil(7)
    }

    /// The day in week `row`, column `col` (Monday = 0), if any.
    pub fn day_at(&self, row: usize, col: usize) -> Option<u8> {
        let n = (row * 7 + col) as i64 - self.first_weekday() as i64 + 1;
        (col < 7 && n >= 1 && n <= self.days() as i64).then_some(n as u8)
    }

    /// The (week row, column) of `today`, if it is in the month.
    pub fn today_cell(&self) -> Option<(usize, usize)> {
        if self.today == 0 || self.today > self.days() {
            return None;
        }
        let i = self.first_weekday() as usize + self.today as usize - 1;
        Some((i / 7, i % 7))
    }

    /// What line `i` depends on: two contents with the same key draw that
    /// line the same (the diff compares these).
    fn line_key(&self, i: usize) -> (i32, u8, u8) {
        match i {
            0 => (self.year, self.month, 0),
            1 => (0, u8::from(self.days() != 0), 0),
            _ => {
                let row = i - 2;
                let today = match self.today_cell() {
                    Some((r, c)) if r == row => c as u8 + 1,
                    _ => 0,
                };
                (self.year, self.month, today)
            }
        }
    }
}

/// Lays out, diffs and paints the calendar at one integer scale (the same
/// life cycle as [`super::popup::PopupRenderer`]).
pub struct CalendarRenderer {
    look: PopupLook,
    scale: u32,
    font_px: u16,
    width: u32,
    height: u32,
    border: i32,
    line_h: i32,
    top: i32,
    baseline: i32,
    left: i32,
    /// One digit's advance (the font is monospaced: every character's).
    adv: i32,
    drawn: CalendarContent,
    history: History,
    stale: bool,
}

impl CalendarRenderer {
    /// A renderer at scale 1.
    pub fn new(look: PopupLook, glyphs: &mut GlyphCache) -> CalendarRenderer {
        let mut r = CalendarRenderer {
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
            adv: 1,
            drawn: CalendarContent::default(),
            history: History::default(),
            stale: true,
        };
        r.set_scale(1, glyphs);
        r
    }

    /// Takes the newest content; returns the lines that changed.
    pub fn update(&mut self, content: &CalendarContent) -> Mask {
        let mask = if self.stale {
            self.stale = false;
            Mask::FULL
        } else {
            let mut m = Mask::EMPTY;
            for i in 0..CALENDAR_LINES {
                if content.line_key(i) != self.drawn.line_key(i) {
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

    /// Where line `i` is drawn (inside the border, full inner width).
    pub fn line_rect(&self, i: usize) -> Rect {
        Rect::new(
            self.border,
            self.top + i as i32 * self.line_h,
            self.width as i32 - 2 * self.border,
            self.line_h,
        )
    }

    /// The highlight box of the cell in week `row`, column `col`: the
    /// two digits and half a gap either side, the line's height.
    pub fn cell_rect(&self, row: usize, col: usize) -> Rect {
        let line = self.line_rect(2 + row);
        let x = self.left + col as i32 * (CELL_CHARS + GAP_CHARS) * self.adv;
        let half = GAP_CHARS * self.adv / 2;
        Rect::new(x - half, line.y, CELL_CHARS * self.adv + 2 * half, line.h)
    }

    /// The baseline of line `i`, buffer pixels (for tests).
    pub fn baseline_of(&self, i: usize) -> i32 {
        self.line_rect(i).y + self.baseline
    }

    /// Draws `text` with its left end at `x`, clipped to `clip` (shaped, as
    /// the bar's text is).
    #[allow(clippy::too_many_arguments)]
    fn text(
        &self,
        canvas: &mut Canvas,
        glyphs: &mut GlyphCache,
        text: &str,
        x: i32,
        baseline: i32,
        color: [u8; 4],
        clip: Rect,
    ) {
        let at = super::line::Place::Left(x);
        super::line::draw(
            canvas,
            glyphs,
            text,
            self.font_px,
            at,
            baseline,
            color,
            clip,
            false,
        );
    }
}

impl PopupSheet for CalendarRenderer {
    fn set_scale(&mut self, scale: u32, glyphs: &mut GlyphCache) {
        let scale = scale.max(1);
        if scale == self.scale {
            return;
        }
        self.scale = scale;
        self.stale = true;
        let s = scale as i32;
        self.font_px = ((self.look.font_px * scale as f32).round() as u16).max(1);
        let lm = glyphs.line_metrics(self.font_px);
        self.adv = glyphs.glyph('0', self.font_px).advance.max(1);
        self.border = s;
        let pad = self.look.padding as i32 * s;
        self.line_h = lm.ascent + lm.descent + self.look.line_gap as i32 * s;
        self.baseline = lm.ascent + self.look.line_gap as i32 * s / 2;
        self.left = self.border + pad;
        self.top = self.border + pad;
        let round_up = |v: i32| ((v + s - 1) / s * s) as u32;
        self.width = round_up(self.left + GRID_CHARS * self.adv + pad + self.border);
        self.height = round_up(self.top + CALENDAR_LINES as i32 * self.line_h + pad + self.border);
    }

    fn forget_layout(&mut self) {
        self.scale = 0;
        self.stale = true;
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
        self.stale = true;
    }

    fn frame(&self) -> u64 {
        self.history.frame()
    }

    fn since(&self, shown: u64) -> Mask {
        self.history.since(shown)
    }

    fn rects(&self, mask: Mask, out: &mut Vec<Rect>) {
        out.clear();
        if mask.full {
            out.push(Rect::new(0, 0, self.width as i32, self.height as i32));
            return;
        }
        for i in 0..CALENDAR_LINES {
            if mask.contains(i) {
                out.push(self.line_rect(i));
            }
        }
    }

    fn paint(&self, canvas: &mut Canvas, mask: Mask, glyphs: &mut GlyphCache) {
        if (canvas.width(), canvas.height()) != (self.width, self.height) || self.stale {
            return;
        }
        let bg = self.look.background.premultiplied();
        let accent = self.look.accent.premultiplied();
        if mask.full {
            let (w, h) = (self.width as i32, self.height as i32);
            canvas.fill(Rect::new(0, 0, w, h), accent);
            let b = self.border;
            canvas.fill(Rect::new(b, b, w - 2 * b, h - 2 * b), bg);
        }
        let c = &self.drawn;
        if c.days() == 0 {
            return;
        }
        let today = c.today_cell();
        let step = (CELL_CHARS + GAP_CHARS) * self.adv;
        for i in 0..CALENDAR_LINES {
            if !mask.contains(i) {
                continue;
            }
            let line = self.line_rect(i);
            if !mask.full {
                canvas.fill(line, bg);
            }
            let base = line.y + self.baseline;
            match i {
                0 => {
                    // "November 2026", centred over the grid.
                    let mut title = super::Text::default();
                    let name = MONTHS[(c.month - 1) as usize];
                    let _ =
                        std::fmt::Write::write_fmt(&mut title, format_args!("{name} {}", c.year));
                    let w = glyphs.text_width(title.as_str(), self.font_px);
                    let x = self.left + ((GRID_CHARS * self.adv - w) / 2).max(0);
                    self.text(canvas, glyphs, title.as_str(), x, base, accent, line);
                }
                1 => {
                    let dim = self.look.dim.premultiplied();
                    for (col, name) in WEEKDAYS.iter().enumerate() {
                        let x = self.left + col as i32 * step;
                        self.text(canvas, glyphs, name, x, base, dim, line);
                    }
                }
                _ => {
                    let row = i - 2;
                    let fg = self.look.foreground.premultiplied();
                    for col in 0..7 {
                        let Some(day) = c.day_at(row, col) else {
                            continue;
                        };
                        let mut color = fg;
                        if today == Some((row, col)) {
                            // Inverted: accent box, text in the background colour.
                            canvas.fill(self.cell_rect(row, col), accent);
                            color = bg;
                        }
                        let digits = [b'0' + day / 10, b'0' + day % 10];
                        let (text, x) = if day < 10 {
                            (&digits[1..], self.adv)
                        } else {
                            (&digits[..], 0)
                        };
                        // ASCII digits: always valid UTF-8.
                        let text = std::str::from_utf8(text).unwrap_or("");
                        let x = self.left + col as i32 * step + x;
                        self.text(canvas, glyphs, text, x, base, color, line);
                    }
                }
            }
        }
    }
}

//! The clock's popup content: the local date as a
//! [`CalendarContent`] — this month, today highlighted. Converted once a
//! minute ([`Today`]) into a reused value (no heap); it only differs, and so
//! only redraws, when the day changes. [`grid`] writes the same month as lines of text
//! for a clock's `tooltip_format` (`{calendar}`, as Waybar has it).

use std::fmt::Write;
use std::time::Duration;

use crate::render::calendar::{CalendarContent, MONTHS, WEEKDAYS};

/// Characters in a line of [`grid`]: seven two-digit days and six spaces.
pub const GRID_WIDTH: usize = 7 * 2 + 6;

/// Rewrites `out` with the month and day of `wall` (since the epoch) in the
/// local time zone (libc's, which the clock re-reads each minute). On a
/// time libc cannot convert, `out` is left as it was.
pub fn write(wall: Duration, out: &mut CalendarContent) {
    let t = wall.as_secs() as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // re-entrant form and writes only into `tm`.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return;
    }
    *out = CalendarContent::new(
        tm.tm_year.saturating_add(1900),
        (tm.tm_mon + 1).clamp(1, 12) as u8,
        tm.tm_mday.clamp(1, 31) as u8,
    );
}

/// Writes month `c` into `out` (cleared first) as Waybar's `{calendar}`
/// draws it: the month and year centred over a Monday-first weekday
/// header, then one line per week of right-aligned day numbers, today in
/// `<b><u>…</u></b>`. Markup (the tooltip draws it); the columns line up in
/// a monospaced font (`<tt>`). No allocation once `out` is large enough.
pub fn grid(c: &CalendarContent, out: &mut String) {
    out.clear();
    if c.days() == 0 {
        return;
    }
    let name = MONTHS[(c.month - 1) as usize];
    // "November 2026" is 13 characters; the year may have more digits.
    let mut title = [0u8; 32];
    let mut w = Cursor(&mut title, 0);
    let _ = write!(w, "{name} {}", c.year);
    let n = w.1;
    let title = std::str::from_utf8(&title[..n]).unwrap_or(name);
    let room = GRID_WIDTH.saturating_sub(title.len());
    out.extend(std::iter::repeat_n(' ', room / 2));
    out.push_str(title);
    out.push('\n');
    for (i, d) in WEEKDAYS.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(d);
    }
    let today = c.today_cell();
    for row in 0..c.weeks() {
        out.push('\n');
        let line = out.len();
        for col in 0..7 {
            if col > 0 {
                out.push(' ');
            }
            match c.day_at(row, col) {
                Some(d) if today == Some((row, col)) => {
                    let _ = write!(out, "<b><u>{d:>2}</u></b>");
                }
                Some(d) => {
                    let _ = write!(out, "{d:>2}");
                }
                None => out.push_str("  "),
            }
        }
        // A short last week leaves no trailing spaces.
        let end = out[line..].trim_end().len() + line;
        out.truncate(end);
    }
}

/// The local date for the calendar, converted at most once a minute: a day
/// starts on a minute boundary in every zone in use (offsets are whole
/// minutes), and `localtime_r` a second after its last call runs cold
/// through libc's zone code. After a zone or wall-clock change, [`forget`]
/// makes the next [`write`](Today::write) convert again.
///
/// [`forget`]: Today::forget
#[derive(Debug, Default)]
pub struct Today {
    /// The minute since the epoch the content was last converted in.
    minute: Option<u64>,
    /// Conversions made (the tests count them).
    conversions: u64,
}

impl Today {
    /// [`write`] of `wall` into `out`, unless `out` already holds this
    /// minute's date.
    pub fn write(&mut self, wall: Duration, out: &mut CalendarContent) {
        let minute = wall.as_secs() / 60;
        if self.minute != Some(minute) {
            self.minute = Some(minute);
            self.conversions += 1;
            write(wall, out);
        }
    }

    /// The zone or the wall clock changed: convert at the next write.
    pub fn forget(&mut self) {
        self.minute = None;
    }
}

/// A `fmt::Write` into a fixed byte array (the title, without a heap).
struct Cursor<'a>(&'a mut [u8], usize);

impl Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.1 + s.len();
        let slot = self.0.get_mut(self.1..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.1 = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_grid_is_the_month_with_today_marked() {
        let mut out = String::new();
        // December 2026 starts on a Tuesday; today the 1st.
        grid(&CalendarContent::new(2026, 12, 1), &mut out);
        assert_eq!(
            out,
            "   December 2026\n\
             Mo Tu We Th Fr Sa Su\n   \
             <b><u> 1</u></b>  2  3  4  5  6\n \
             7  8  9 10 11 12 13\n\
             14 15 16 17 18 19 20\n\
             21 22 23 24 25 26 27\n\
             28 29 30 31"
        );
        // February 2027 fills four weeks exactly, Monday first.
        grid(&CalendarContent::new(2027, 2, 28), &mut out);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 6, "{out}");
        assert_eq!(lines[2], " 1  2  3  4  5  6  7");
        assert_eq!(lines[5], "22 23 24 25 26 27 <b><u>28</u></b>");
        grid(&CalendarContent::default(), &mut out);
        assert_eq!(out, "", "no month yet");
    }

    #[test]
    fn today_converts_once_a_minute_and_again_when_told() {
        let mut today = Today::default();
        let (mut kept, mut each) = (CalendarContent::default(), CalendarContent::default());
        // Three minutes of 1 s ticks from a minute's start, across midnight
        // UTC (a day boundary in zones on whole hours).
        let start = 1_784_160_000 - 60;
        for s in start..start + 180 {
            let wall = Duration::new(s, 5_000_000);
            today.write(wall, &mut kept);
            write(wall, &mut each);
            assert_eq!(kept, each, "{s}");
        }
        assert_eq!(today.conversions, 3);
        today.write(Duration::from_secs(start + 179), &mut kept);
        assert_eq!(today.conversions, 3, "the same minute");
        today.forget();
        today.write(Duration::from_secs(start + 179), &mut kept);
        assert_eq!(today.conversions, 4);
    }

    #[test]
    fn mid_month_noon_is_the_same_day_in_every_zone() {
        // 2026-07-15 12:00 UTC: 14, 15 or 16 July in any zone (±14 h).
        let mut c = CalendarContent::default();
        write(Duration::from_secs(1_784_116_800), &mut c);
        assert_eq!((c.year, c.month), (2026, 7));
        assert!((14..=16).contains(&c.today), "{c:?}");
    }
}

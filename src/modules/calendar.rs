//! The clock's popup content: the local date as a
//! [`CalendarContent`] — this month, today highlighted. Written every tick
//! into a reused value (no heap); it only differs, and so only redraws,
//! when the day changes.

use std::time::Duration;

use crate::render::calendar::CalendarContent;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_month_noon_is_the_same_day_in_every_zone() {
        // 2026-07-15 12:00 UTC: 14, 15 or 16 July in any zone (±14 h).
        let mut c = CalendarContent::default();
        write(Duration::from_secs(1_784_116_800), &mut c);
        assert_eq!((c.year, c.month), (2026, 7));
        assert!((14..=16).contains(&c.today), "{c:?}");
    }
}

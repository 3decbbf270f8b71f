//! The clock module: local date and time to the minute, updated on the minute
//! boundary (nothing wakes the bar in between).

use std::fmt::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{Align, Level, Palette, Segment};

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Broken-down local time, the fields the clock shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalTime {
    /// 0 = Sunday.
    pub weekday: u8,
    /// Day of the month, 1–31.
    pub day: u8,
    /// 0 = January.
    pub month: u8,
    /// 0–23.
    pub hour: u8,
    /// 0–59.
    pub minute: u8,
}

impl LocalTime {
    /// `secs` since the epoch in the process's time zone (`TZ`, else
    /// `/etc/localtime`, as libc decides). `None` if libc cannot convert.
    pub fn at(secs: i64) -> Option<LocalTime> {
        let t: libc::time_t = secs as libc::time_t;
        // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: both pointers are valid for the call; localtime_r is the
        // re-entrant form and writes only into `tm`.
        let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
        ok.then(|| LocalTime {
            weekday: tm.tm_wday.clamp(0, 6) as u8,
            day: tm.tm_mday.clamp(1, 31) as u8,
            month: tm.tm_mon.clamp(0, 11) as u8,
            hour: tm.tm_hour.clamp(0, 23) as u8,
            minute: tm.tm_min.clamp(0, 59) as u8,
        })
    }
}

/// The clock's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Clock {
    /// Colours.
    pub palette: Palette,
    /// Where on the bar (centre by default).
    pub align: Align,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            palette: Palette::default(),
            align: Align::Center,
        }
    }
}

impl Clock {
    /// Appends the segment for `time`, like `Wed 25 Nov 16:58`.
    pub fn write(&self, time: LocalTime, out: &mut Vec<Segment>) {
        let mut seg = Segment {
            style: self.palette.style(Level::Normal),
            align: self.align,
            ..Segment::default()
        };
        let _ = write!(
            seg.text,
            "{} {:>2} {} {:02}:{:02}",
            DAYS[time.weekday as usize],
            time.day,
            MONTHS[time.month as usize],
            time.hour,
            time.minute
        );
        out.push(seg);
    }

    /// Appends the segment for the current time.
    pub fn write_now(&self, out: &mut Vec<Segment>) {
        if let Some(t) = LocalTime::at(now_secs()) {
            self.write(t, out);
        }
    }
}

/// Seconds since the epoch now (0 if the clock is before 1970).
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// How long from `now` (since the epoch) until the next minute starts. Time
/// zones move by whole minutes (at least the ones in use), so the UTC minute
/// boundary is the local one.
pub fn until_next_minute(now: Duration) -> Duration {
    let into = Duration::new(now.as_secs() % 60, now.subsec_nanos());
    Duration::from_secs(60) - into
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_padded() {
        let mut out = Vec::new();
        let t = LocalTime {
            weekday: 3,
            day: 5,
            month: 10,
            hour: 7,
            minute: 4,
        };
        Clock::default().write(t, &mut out);
        assert_eq!(out[0].text.as_str(), "Wed  5 Nov 07:04");
        assert_eq!(out[0].align, Align::Center);
    }

    #[test]
    fn next_minute() {
        assert_eq!(
            until_next_minute(Duration::new(120, 0)),
            Duration::from_secs(60)
        );
        assert_eq!(
            until_next_minute(Duration::new(179, 500_000_000)),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn local_time_converts() {
        assert!(LocalTime::at(0).is_some());
    }
}

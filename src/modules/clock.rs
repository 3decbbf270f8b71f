//! The clock module: local time through libc's `strftime`, updated exactly on
//! the second or minute boundary its format needs (nothing wakes the bar in
//! between).
//!
//! `localtime_r` does not look at the time zone again once libc has read it,
//! so the clock calls `tzset()` at each new minute, and at once when the bar
//! sees the zone file replaced or the wall clock set (a resume from suspend
//! included; `bar::wallclock`): both show within a second.
//!
//! Its segments open the month calendar on hover (`popup`, on by default);
//! the bar's tick writes that popup's content ([`super::calendar`]) after
//! the clock has run, so the calendar sees the zone the clock just read.

use std::ffi::CString;
use std::time::{Duration, Instant};

use super::{
    Align, Context, Init, Module, Palette, Placement, PopupId, Segment, Text, CLOCK_POPUP,
};
use crate::config::kind::Syntax;
use crate::config::{self, KindDef};

/// `clock`: its `format` is strftime's rather than placeholders.
pub const KIND: KindDef = KindDef {
    name: "clock",
    about: "local time (strftime format), with the month's calendar on hover",
    format: "%a %d %b  %H:%M",
    syntax: Syntax::Own(check_clock_format),
    popup: true,
    ..KindDef::BASE
};

/// Builds a clock (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Clock::new(spec, init.place, init.now))
}

/// How far past a boundary the clock reads the time, so the new second or
/// minute is what it reads even if the timer fires a little early.
const PAST_BOUNDARY: Duration = Duration::from_millis(5);

/// The most bytes one formatted time may take.
const OUT_CAP: usize = 256;

/// The clock module.
pub struct Clock {
    spec: config::Module,
    palette: Palette,
    align: Align,
    popup: Option<PopupId>,
    /// The strftime format as C wants it.
    format: CString,
    /// The format shows seconds: tick every second, else every minute.
    seconds: bool,
    next: Instant,
    /// The minute (since the epoch) `tzset` last ran in.
    tz_minute: Option<u64>,
    segment: Segment,
}

impl Clock {
    /// The instance of `spec`, due at `now`.
    pub fn new(spec: &config::Module, place: Placement, now: Instant) -> Clock {
        // Validation rejects nothing C cannot take but NUL; drop any NUL
        // rather than fail (a string cannot hold one in TOML unescaped).
        let bytes: Vec<u8> = spec.format.source.bytes().filter(|&b| b != 0).collect();
        let format = CString::new(bytes).unwrap_or_default();
        let popup = spec.popup.then_some(CLOCK_POPUP);
        Clock {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            popup,
            seconds: clock_shows_seconds(&spec.format.source),
            format,
            next: now,
            tz_minute: None,
            segment: Segment {
                align: place.align,
                popup,
                ..Segment::default()
            },
        }
    }

    /// Formats the local time `secs` since the epoch into the segment; true
    /// when the text changed.
    pub fn show(&mut self, secs: i64) -> bool {
        let mut buf = [0u8; OUT_CAP];
        let text = format_local(secs, &self.format, &mut buf).unwrap_or("");
        let seg = Segment {
            markup: false,
            text: Text::new(text),
            style: self.palette.style(super::Level::Normal),
            align: self.align,
            popup: self.popup,
            output: None,
            states: 0,
        };
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }

    /// The segment as last formatted.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

impl Module for Clock {
    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        Some(self.next)
    }

    fn update(&mut self, cx: &Context<'_>) -> bool {
        let minute = cx.wall.as_secs() / 60;
        if self.tz_minute != Some(minute) {
            self.tz_minute = Some(minute);
            // SAFETY: tzset has no arguments; it re-reads TZ or
            // /etc/localtime into libc's globals, which only this thread
            // reads (localtime_r below).
            unsafe { tzset() };
        }
        self.next = cx.now + until_next_boundary(cx.wall, self.seconds) + PAST_BOUNDARY;
        self.show(cx.wall.as_secs() as i64)
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.push(self.segment);
    }

    fn wall_clock_changed(&mut self, now: Instant) {
        // Due now, and the zone read again whatever the minute.
        self.next = now;
        self.tz_minute = None;
    }
}

/// The strftime conversions the clock accepts (glibc's, minus the
/// locale-modifier forms `%E` and `%O`; glibc has no `%+`, it would print
/// it literally).
pub const CLOCK_CONVERSIONS: &str = "aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%";

/// The widest field a conversion may ask for (`%10S`): a wider one would
/// not fit the formatted text, and the clock would draw nothing.
pub const MAX_WIDTH: usize = 64;

/// Checks a clock format; the error is the offending byte offset and why.
pub fn check_clock_format(f: &str) -> Result<(), (usize, String)> {
    let b = f.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            // glibc flags and a width may follow: %-d, %_H, %02d
            let mut j = i + 1;
            while j < b.len() && b"-_0^#".contains(&b[j]) {
                j += 1;
            }
            let digits = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            // Any number of digits: only its size matters here.
            let width = f[digits..j]
                .bytes()
                .try_fold(0usize, |w, d| {
                    w.checked_mul(10)?.checked_add(usize::from(d - b'0'))
                })
                .unwrap_or(usize::MAX);
            if width > MAX_WIDTH {
                return Err((
                    i,
                    format!("a field width of {} (at most {MAX_WIDTH})", &f[digits..j]),
                ));
            }
            match b.get(j) {
                Some(c) if c.is_ascii() && CLOCK_CONVERSIONS.as_bytes().contains(c) => i = j + 1,
                Some(_) => {
                    let c = f[j..].chars().next().unwrap_or('?');
                    return Err((i, format!("unknown clock conversion `%{c}`")));
                }
                None => return Err((i, "a `%` at the end (write `%%` for a percent sign)".into())),
            }
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// The conversions of a clock format, in order (`%%` included as `%`),
/// skipping glibc's flags and widths (`%-S`, `%02S`).
fn clock_conversions(f: &str) -> impl Iterator<Item = u8> + '_ {
    let b = f.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            if b[i] != b'%' {
                i += 1;
                continue;
            }
            let mut j = i + 1;
            while j < b.len() && (b"-_0^#".contains(&b[j]) || b[j].is_ascii_digit()) {
                j += 1;
            }
            i = j + 1;
            if let Some(&c) = b.get(j) {
                return Some(c);
            }
        }
        None
    })
}

/// Whether the clock format shows seconds, so the clock must tick each second
/// rather than each minute.
pub fn clock_shows_seconds(f: &str) -> bool {
    clock_conversions(f).any(|c| b"SsTrcX".contains(&c))
}

extern "C" {
    /// POSIX `tzset(3)` (the `libc` crate does not bind it).
    fn tzset();
}

/// `secs` since the epoch as local time in `format` (strftime), written into
/// `buf`; `None` when libc cannot convert the time or the result does not fit.
pub fn format_local<'b>(secs: i64, format: &CString, buf: &'b mut [u8]) -> Option<&'b str> {
    let t = secs as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // re-entrant form and writes only into `tm`.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    if format.as_bytes().is_empty() {
        return Some("");
    }
    // SAFETY: `buf` is valid for `buf.len()` bytes, the format is a
    // NUL-terminated C string and `tm` was filled by localtime_r. strftime
    // writes at most `buf.len()` bytes and returns how many (0 when it did
    // not fit).
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr(), &tm) };
    if n == 0 {
        return None;
    }
    // The C locale's output is ASCII; a UTF-8 locale's is UTF-8. Anything
    // else (a Latin-1 locale) is cut at the first bad byte.
    let out = &buf[..n];
    match std::str::from_utf8(out) {
        Ok(s) => Some(s),
        Err(e) => std::str::from_utf8(&out[..e.valid_up_to()]).ok(),
    }
}

/// How long from `now` (since the epoch) until the next second, or minute,
/// starts. Time zones move by whole minutes (the ones in use), so the UTC
/// minute boundary is the local one.
pub fn until_next_boundary(now: Duration, seconds: bool) -> Duration {
    let period = if seconds { 1 } else { 60 };
    let into = Duration::new(now.as_secs() % period, now.subsec_nanos());
    Duration::from_secs(period) - into
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    #[test]
    fn formats_that_would_draw_nothing_or_print_literally_are_rejected() {
        let e = check_clock_format("%H:%1000S").unwrap_err();
        assert_eq!(e.0, 3);
        assert!(e.1.contains("width of 1000"), "{}", e.1);
        assert!(check_clock_format("%99999999999999999999999d").is_err());
        let e = check_clock_format("at %+").unwrap_err();
        assert!(e.1.contains("`%+`"), "{}", e.1);
        assert!(check_clock_format("%-d %_H %02M %64S").is_ok());
        // The widest accepted field still draws.
        let mut buf = [0u8; OUT_CAP];
        assert_eq!(
            format_local(0, &c("%64S"), &mut buf).map(str::len),
            Some(64)
        );
    }

    #[test]
    fn boundaries() {
        let d = |s, ns| Duration::new(s, ns);
        assert_eq!(until_next_boundary(d(120, 0), false), d(60, 0));
        assert_eq!(
            until_next_boundary(d(179, 500_000_000), false),
            d(0, 500_000_000)
        );
        assert_eq!(
            until_next_boundary(d(179, 250_000_000), true),
            d(0, 750_000_000)
        );
        assert_eq!(until_next_boundary(d(180, 0), true), d(1, 0));
    }

    #[test]
    fn strftime_formats() {
        let mut buf = [0u8; 64];
        // Zone-independent conversions.
        assert_eq!(
            format_local(1_234_567_890, &c("%s"), &mut buf),
            Some("1234567890")
        );
        assert_eq!(format_local(0, &c("100%%"), &mut buf), Some("100%"));
        // Mid-year noon UTC is 2026 in every zone.
        assert_eq!(
            format_local(1_782_907_200, &c("%Y"), &mut buf),
            Some("2026")
        );
        assert_eq!(format_local(0, &c(""), &mut buf), Some(""));
        // Too long for the buffer: nothing, not a cut string.
        let mut small = [0u8; 4];
        assert_eq!(format_local(0, &c("%Y-%m-%d"), &mut small), None);
    }

    #[test]
    fn ticks_on_the_boundary_its_format_needs() {
        let now = Instant::now();
        let place = Placement {
            align: Align::Center,
            palette: Palette::default(),
        };
        let mut spec = config::Module::defaults("clock", &KIND);
        spec.format.source = "%H:%M:%S".into();
        let mut clock = Clock::new(&spec, place, now);
        let sample = crate::collect::Sample::default();
        let cx = Context {
            now,
            wall: Duration::new(1_000_000_007, 900_000_000),
            sample: &sample,
        };
        assert!(clock.update(&cx));
        assert_eq!(
            clock.next_due(),
            Some(now + Duration::from_millis(100) + PAST_BOUNDARY)
        );
        assert_eq!(clock.segment().text.as_str().len(), 8);
        assert_eq!(clock.segment().popup, Some(CLOCK_POPUP));

        spec.format.source = "%H:%M".into();
        let mut clock = Clock::new(&spec, place, now);
        clock.update(&cx);
        assert_eq!(
            clock.next_due(),
            Some(now + Duration::from_millis(12_100) + PAST_BOUNDARY)
        );
        // The same minute again: unchanged text, nothing to redraw.
        let later = Context {
            wall: Duration::new(1_000_000_010, 0),
            ..cx
        };
        assert!(!clock.update(&later));
    }

    #[test]
    fn clock_formats() {
        assert!(check_clock_format("%a %-d %b %H:%M:%S %%").is_ok());
        assert_eq!(check_clock_format("%H:%Q").unwrap_err().0, 3);
        assert!(check_clock_format("100%").is_err());
        assert!(check_clock_format("%é").is_err());
        assert!(clock_shows_seconds("%H:%M:%S"));
        assert!(!clock_shows_seconds("%H:%M"));
        assert!(clock_shows_seconds("%H:%M:%-S"));
        assert!(clock_shows_seconds("%T"));
        assert!(!clock_shows_seconds("%H:%M %%S"), "a literal %S");
    }
}

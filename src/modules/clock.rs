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
//!
//! With a `tooltip_format` the hover shows that text instead, as Waybar's
//! clock does: strftime like `format`, with `{calendar}` for the month as a
//! text grid ([`super::calendar::grid`]; Waybar's
//! `"<tt><small>{calendar}</small></tt>"` reads the same here) and
//! Waybar's `{:%H:%M}` form taken as the strftime inside it. The grid goes
//! through the tooltip popup, not the calendar's own drawing, so it sits
//! among the template's lines and takes its markup. Both are rendered at
//! the clock's update into reused buffers. `tooltip = false` turns off
//! either.

use std::ffi::CString;
use std::time::{Duration, Instant};

use super::{
    Align, Context, Init, Module, Palette, Placement, PopupId, Segment, Text, CLOCK_POPUP,
};
use crate::config::kind::Syntax;
use crate::config::{self, KindDef};
use crate::render::calendar::CalendarContent;

/// `clock`: its `format` is strftime's rather than placeholders.
pub const KIND: KindDef = KindDef {
    name: "clock",
    about: "local time (strftime format), with the month's calendar on hover",
    format: "%a %d %b  %H:%M",
    syntax: Syntax::Own(check_clock_format),
    popup: true,
    tooltip_placeholders: TOOLTIP_PLACEHOLDERS,
    tooltip_syntax: Some(Syntax::Own(check_clock_tooltip)),
    ..KindDef::BASE
};

/// What a clock's `tooltip_format` may hold besides strftime conversions.
pub const TOOLTIP_PLACEHOLDERS: &[config::kind::Doc] = &[(
    "calendar",
    "this month as a text grid, today in bold and underlined (wrap it in `<tt>` where the bar's font is not monospaced)",
)];

/// Builds a clock (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Clock::new(spec, init.place, init.now))
}

/// How far past a boundary the clock reads the time, so the new second or
/// minute is what it reads even if the timer fires a little early.
const PAST_BOUNDARY: Duration = Duration::from_millis(5);

/// The most bytes one formatted time may take.
const OUT_CAP: usize = 256;

/// A piece of a clock's `tooltip_format`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TipPart {
    /// strftime text.
    Time(CString),
    /// `{calendar}`.
    Calendar,
}

/// The clock module.
pub struct Clock {
    spec: config::Module,
    palette: Palette,
    align: Align,
    popup: Option<PopupId>,
    /// The format, split where the seconds are (see [`Split`]).
    format: Split,
    /// The format shows seconds: tick every second, else every minute.
    seconds: bool,
    next: Instant,
    /// The minute (since the epoch) `tzset` last ran in.
    tz_minute: Option<u64>,
    /// This minute's local time, converted once.
    minute: Option<Minute>,
    segment: Segment,
    /// `tooltip_format` split at its `{calendar}`s; empty without one
    /// (or with `tooltip = false`).
    tip_parts: Vec<TipPart>,
    /// The tooltip as last rendered (markup).
    tip: String,
    /// strftime's output for one piece (sized for the longest piece).
    tip_buf: Vec<u8>,
    /// The month as [`super::calendar::grid`] last wrote it, and for what.
    grid: String,
    grid_of: CalendarContent,
}

impl Clock {
    /// The instance of `spec`, due at `now`.
    pub fn new(spec: &config::Module, place: Placement, now: Instant) -> Clock {
        // Validation rejects nothing C cannot take but NUL; drop any NUL
        // rather than fail (a string cannot hold one in TOML unescaped).
        let bytes: Vec<u8> = spec.format.source.bytes().filter(|&b| b != 0).collect();
        let format = CString::new(bytes).unwrap_or_default();
        let tip_parts = match &spec.tooltip_format {
            Some(t) if spec.tooltip => tooltip_parts(&t.source),
            _ => Vec::new(),
        };
        // A tooltip replaces the calendar popup; `tooltip = false` turns
        // off both.
        let popup = (spec.popup && spec.tooltip && tip_parts.is_empty()).then_some(CLOCK_POPUP);
        let longest = tip_parts
            .iter()
            .map(|p| match p {
                TipPart::Time(c) => c.as_bytes().len(),
                TipPart::Calendar => 0,
            })
            .max()
            .unwrap_or(0);
        let tip_seconds = tip_parts
            .iter()
            .any(|p| matches!(p, TipPart::Time(c) if clock_shows_seconds(&String::from_utf8_lossy(c.as_bytes()))));
        Clock {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            popup,
            // A tooltip showing seconds ticks the clock each second too.
            seconds: clock_shows_seconds(&spec.format.source) || tip_seconds,
            format: Split::new(format),
            next: now,
            tz_minute: None,
            minute: None,
            segment: Segment {
                align: place.align,
                popup,
                ..Segment::default()
            },
            // strftime's text may grow (`%A` is longer than itself).
            tip_buf: if tip_parts.is_empty() {
                Vec::new()
            } else {
                vec![0; (4 * longest + OUT_CAP).min(crate::render::tooltip::MAX_BYTES)]
            },
            tip: String::with_capacity(if tip_parts.is_empty() { 0 } else { 512 }),
            tip_parts,
            grid: String::new(),
            grid_of: CalendarContent::default(),
        }
    }

    /// Renders the tooltip for the local time `secs` since the epoch.
    fn render_tip(&mut self, secs: i64) {
        self.tip.clear();
        for part in &self.tip_parts {
            match part {
                TipPart::Time(f) => {
                    if let Some(t) = format_local(secs, f, &mut self.tip_buf) {
                        self.tip.push_str(t);
                    }
                }
                TipPart::Calendar => {
                    let mut month = self.grid_of;
                    super::calendar::write(Duration::from_secs(secs.max(0) as u64), &mut month);
                    if month != self.grid_of || self.grid.is_empty() {
                        self.grid_of = month;
                        super::calendar::grid(&month, &mut self.grid);
                    }
                    self.tip.push_str(&self.grid);
                }
            }
        }
    }

    /// The tooltip as last rendered; `None` without a `tooltip_format`.
    pub fn tip(&self) -> Option<&str> {
        let t = self.tip.trim_end();
        (!self.tip_parts.is_empty() && !t.is_empty()).then_some(t)
    }

    /// Formats the local time `secs` since the epoch into the segment; true
    /// when the text changed.
    pub fn show(&mut self, secs: i64) -> bool {
        let mut buf = [0u8; OUT_CAP];
        let text = self
            .format
            .format(&mut self.minute, secs, localtime, &mut buf)
            .unwrap_or("");
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
        if !self.tip_parts.is_empty() {
            self.render_tip(secs);
        }
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
        self.minute = None;
        self.format.forget();
    }

    fn tooltip(&self, _index: usize) -> Option<&str> {
        self.tip()
    }
}

/// The pieces of a clock's `tooltip_format` (checked by
/// [`check_clock_tooltip`]): strftime text, `{{`/`}}` as braces, Waybar's
/// `{:FORMAT}` as FORMAT, and `{calendar}`.
fn tooltip_parts(f: &str) -> Vec<TipPart> {
    let mut parts = Vec::new();
    let mut text = Vec::new();
    let mut rest = f;
    let flush = |text: &mut Vec<u8>, parts: &mut Vec<TipPart>| {
        if !text.is_empty() {
            let bytes: Vec<u8> = std::mem::take(text)
                .into_iter()
                .filter(|&b| b != 0)
                .collect();
            parts.push(TipPart::Time(CString::new(bytes).unwrap_or_default()));
        }
    };
    while let Some(i) = rest.find(['{', '}']) {
        text.extend_from_slice(&rest.as_bytes()[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            text.push(tail.as_bytes()[0]);
            rest = &tail[2..];
            continue;
        }
        let Some(close) = tail.find('}').filter(|_| tail.starts_with('{')) else {
            // Refused by the check; kept as text here.
            text.push(tail.as_bytes()[0]);
            rest = &tail[1..];
            continue;
        };
        let inner = &tail[1..close];
        if let Some(time) = inner.strip_prefix(':') {
            text.extend_from_slice(time.as_bytes());
        } else {
            flush(&mut text, &mut parts);
            parts.push(TipPart::Calendar);
        }
        rest = &tail[close + 1..];
    }
    text.extend_from_slice(rest.as_bytes());
    flush(&mut text, &mut parts);
    parts
}

/// Checks a clock's `tooltip_format`: strftime like `format`, and in braces
/// only `{calendar}` or Waybar's `{:FORMAT}`; `{{` and `}}` are braces.
/// The error is the byte offset of the first problem and what it is.
pub fn check_clock_tooltip(f: &str) -> Result<(), (usize, String)> {
    let b = f.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' | b'}' if b.get(i + 1) == Some(&b[i]) => i += 2,
            b'}' => return Err((i, "a lone `}` (write `}}` for a brace)".into())),
            b'{' => {
                let Some(n) = f[i..].find('}') else {
                    return Err((i, "`{` without a closing `}`".into()));
                };
                let inner = &f[i + 1..i + n];
                if let Some(time) = inner.strip_prefix(':') {
                    check_clock_format(time).map_err(|(at, why)| (i + 2 + at, why))?;
                } else if inner != "calendar" {
                    let names = TOOLTIP_PLACEHOLDERS.iter().map(|(n, _)| *n);
                    let hint = config::suggest::nearest(inner, names)
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    return Err((
                        i,
                        format!(
                            "unknown placeholder `{{{inner}}}`{hint}; the clock's tooltip offers: calendar (and strftime conversions, as in `format`)"
                        ),
                    ));
                }
                i += n + 1;
            }
            b'%' => {
                // One conversion at a time, checked as `format` is.
                let end = f[i + 1..]
                    .find(|c: char| !(c.is_ascii_digit() || "-_0^#".contains(c)))
                    .map_or(f.len(), |n| {
                        let at = i + 1 + n;
                        at + f[at..].chars().next().map_or(0, char::len_utf8)
                    });
                check_clock_format(&f[i..end]).map_err(|(at, why)| (i + at, why))?;
                i = end;
            }
            _ => i += 1,
        }
    }
    Ok(())
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
    format_tm(&localtime(secs)?, format, buf)
}

/// `secs` since the epoch as local time (`localtime_r`).
fn localtime(secs: i64) -> Option<libc::tm> {
    let t = secs as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value of this plain C struct.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the
    // re-entrant form and writes only into `tm`.
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return None;
    }
    Some(tm)
}

/// The local time at the start of one minute since the epoch.
#[derive(Clone, Copy)]
struct Minute {
    minute: i64,
    tm: libc::tm,
}

/// `secs` as local time through `convert` (`localtime_r`), converting once
/// per minute: zones in use change their offset on whole UTC minutes, so
/// within one only the seconds move. A minute whose local start is not at
/// second 0 (a `right/` zone counting leap seconds) is converted each time.
/// The cached `tm_zone` points into libc's zone data, which only `tzset`
/// replaces: the clock runs it on a new minute or a zone change, and drops
/// the cache then.
fn local_time(
    cache: &mut Option<Minute>,
    secs: i64,
    convert: impl Fn(i64) -> Option<libc::tm>,
) -> Option<libc::tm> {
    let minute = secs.div_euclid(60);
    let second = secs.rem_euclid(60) as libc::c_int;
    let start = match *cache {
        Some(c) if c.minute == minute => c.tm,
        _ => {
            *cache = None;
            let tm = convert(minute.checked_mul(60)?)?;
            if tm.tm_sec != 0 {
                return convert(secs);
            }
            *cache = Some(Minute { minute, tm });
            tm
        }
    };
    Some(libc::tm {
        tm_sec: second,
        ..start
    })
}

/// A clock format split where the seconds are, so that a clock showing
/// seconds calls strftime once a minute rather than every second: glibc's
/// strftime, its locale and zone code run cold a second after their last
/// use (≈ 10 µs against 0.4 µs warm, measured here), the most expensive
/// part of the clock's tick.
///
/// strftime formats each conversion on its own, so the output of a format
/// is the outputs of its pieces, in order. What does not read the seconds
/// (every conversion but `%S`, `%T`, `%r`, `%c`, `%X` and `%s`) is the same
/// for the whole minute and written by strftime at its start; `%S` (plain,
/// or with the `-`, `_` or `0` flag) is written here, and `%T` as
/// `%H:%M:` then `%S`, which is what glibc makes of it. The other seconds
/// conversions (locale-dependent or flagged) are left to strftime each
/// second. A minute whose conversion failed (text too long, or empty
/// where strftime's 0 cannot tell) is formatted whole by strftime.
#[derive(Debug)]
struct Split {
    /// The whole format: the reference, and the path for odd minutes.
    whole: CString,
    pieces: Vec<Piece>,
    /// The minute (since the epoch) `minute_text` holds, if any.
    minute: Option<i64>,
    /// The `Minute` pieces' strftime output, one after the other.
    minute_text: Vec<u8>,
    /// Where each `Minute` piece's output ends in `minute_text`.
    ends: Vec<usize>,
    /// This minute is formatted by strftime whole.
    whole_minute: bool,
    /// strftime calls made (the tests count them).
    strftimes: u64,
}

/// A piece of a [`Split`] clock format.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// Text and conversions that do not read the seconds: strftime at the
    /// start of each minute.
    Minute(CString),
    /// `%S`: the seconds, two digits, padded as the flag says.
    Seconds(Pad),
    /// A conversion reading the seconds that only strftime writes: each
    /// second.
    Second(CString),
}

/// How `%S` pads a one-digit second (glibc's flags `0`, `_` and `-`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pad {
    Zero,
    Space,
    None,
}

impl Split {
    fn new(whole: CString) -> Split {
        let pieces = split_pieces(whole.as_bytes());
        let minutes = pieces
            .iter()
            .filter(|p| matches!(p, Piece::Minute(_)))
            .count();
        Split {
            whole,
            pieces,
            minute: None,
            minute_text: Vec::with_capacity(OUT_CAP),
            ends: Vec::with_capacity(minutes),
            whole_minute: false,
            strftimes: 0,
        }
    }

    /// The minute's text is written again at the next call (the zone or the
    /// wall clock changed).
    fn forget(&mut self) {
        self.minute = None;
    }

    /// The local time `secs` since the epoch in this format, written into
    /// `buf` (as [`format_tm`] of the whole format would): the minute's
    /// conversion through `cache` ([`local_time`]) and `convert`.
    fn format<'b>(
        &mut self,
        cache: &mut Option<Minute>,
        secs: i64,
        convert: impl Fn(i64) -> Option<libc::tm>,
        buf: &'b mut [u8],
    ) -> Option<&'b str> {
        let tm = local_time(cache, secs, convert)?;
        let minute = secs.div_euclid(60);
        // Only a minute converted once holds for all its seconds.
        let held = cache.as_ref().is_some_and(|c| c.minute == minute);
        if !held {
            self.minute = None;
            self.strftimes += 1;
            return format_tm(&tm, &self.whole, buf);
        }
        if self.minute != Some(minute) {
            self.write_minute(&tm);
            self.minute = Some(minute);
        }
        if self.whole_minute {
            self.strftimes += 1;
            return format_tm(&tm, &self.whole, buf);
        }
        let (mut n, mut k) = (0, 0);
        let mut scratch = [0u8; OUT_CAP];
        for piece in &self.pieces {
            let part: &[u8] = match piece {
                Piece::Minute(_) => {
                    let start = if k == 0 { 0 } else { self.ends[k - 1] };
                    k += 1;
                    &self.minute_text[start..self.ends[k - 1]]
                }
                Piece::Seconds(pad) => {
                    let s = tm.tm_sec.clamp(0, 99) as u8;
                    let (tens, ones) = (b'0' + s / 10, b'0' + s % 10);
                    scratch[..2].copy_from_slice(&[tens, ones]);
                    match (s < 10, pad) {
                        (false, _) | (true, Pad::Zero) => &scratch[..2],
                        (true, Pad::Space) => {
                            scratch[0] = b' ';
                            &scratch[..2]
                        }
                        (true, Pad::None) => &scratch[1..2],
                    }
                }
                Piece::Second(f) => {
                    self.strftimes += 1;
                    match format_raw(&tm, f, &mut scratch) {
                        Some(len) => &scratch[..len],
                        // Empty, or too long for the whole text anyway.
                        None => {
                            self.strftimes += 1;
                            return format_tm(&tm, &self.whole, buf);
                        }
                    }
                }
            };
            // strftime needs room for its NUL: a text that fills `buf`
            // is one it refuses.
            if n + part.len() >= buf.len() {
                return None;
            }
            buf[n..n + part.len()].copy_from_slice(part);
            n += part.len();
        }
        utf8_prefix(&buf[..n])
    }

    /// Writes the `Minute` pieces' text for the minute starting at `tm`.
    fn write_minute(&mut self, tm: &libc::tm) {
        self.minute_text.clear();
        self.ends.clear();
        self.whole_minute = false;
        let mut scratch = [0u8; OUT_CAP];
        for piece in &self.pieces {
            if let Piece::Minute(f) = piece {
                self.strftimes += 1;
                match format_raw(tm, f, &mut scratch) {
                    Some(len) => self.minute_text.extend_from_slice(&scratch[..len]),
                    None => {
                        self.whole_minute = true;
                        return;
                    }
                }
                self.ends.push(self.minute_text.len());
            }
        }
    }
}

/// Splits a clock format (checked, no NUL) into [`Piece`]s.
fn split_pieces(f: &[u8]) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut minute = Vec::new();
    let flush = |minute: &mut Vec<u8>, pieces: &mut Vec<Piece>| {
        if !minute.is_empty() {
            let text = std::mem::take(minute);
            pieces.push(Piece::Minute(CString::new(text).unwrap_or_default()));
        }
    };
    let mut i = 0;
    while i < f.len() {
        if f[i] != b'%' {
            minute.push(f[i]);
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < f.len() && (b"-_0^#".contains(&f[j]) || f[j].is_ascii_digit()) {
            j += 1;
        }
        // A conversion the check refuses (`%Ec`, a `%` at the end) could
        // mean more than it says here: strftime takes the whole format,
        // each second.
        let known = f
            .get(j)
            .is_some_and(|c| c.is_ascii() && CLOCK_CONVERSIONS.as_bytes().contains(c));
        if !known {
            let whole = CString::new(f.to_vec()).unwrap_or_default();
            return vec![Piece::Second(whole)];
        }
        let conv = f[j];
        let conversion = &f[i..=j];
        let mods = &f[i + 1..j];
        match (conv, mods) {
            (b'S', b"" | b"0" | b"_" | b"-") => {
                flush(&mut minute, &mut pieces);
                pieces.push(Piece::Seconds(match mods {
                    b"_" => Pad::Space,
                    b"-" => Pad::None,
                    _ => Pad::Zero,
                }));
            }
            (b'T', b"") => {
                minute.extend_from_slice(b"%H:%M:");
                flush(&mut minute, &mut pieces);
                pieces.push(Piece::Seconds(Pad::Zero));
            }
            (c, _) if b"STrcXs".contains(&c) => {
                flush(&mut minute, &mut pieces);
                pieces.push(Piece::Second(
                    CString::new(conversion.to_vec()).unwrap_or_default(),
                ));
            }
            _ => minute.extend_from_slice(conversion),
        }
        i = j + 1;
    }
    flush(&mut minute, &mut pieces);
    pieces
}

/// `tm` in `format` (strftime), written into `buf`; `None` when the result
/// does not fit.
fn format_tm<'b>(tm: &libc::tm, format: &CString, buf: &'b mut [u8]) -> Option<&'b str> {
    if format.as_bytes().is_empty() {
        return Some("");
    }
    let n = format_raw(tm, format, buf)?;
    utf8_prefix(&buf[..n])
}

/// strftime of `tm` in `format` into `buf`: the length written, `None`
/// when nothing was (the text did not fit, or is empty).
fn format_raw(tm: &libc::tm, format: &CString, buf: &mut [u8]) -> Option<usize> {
    // SAFETY: `buf` is valid for `buf.len()` bytes, the format is a
    // NUL-terminated C string and `tm` was filled by localtime_r. strftime
    // writes at most `buf.len()` bytes and returns how many (0 when it did
    // not fit).
    let n = unsafe { libc::strftime(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr(), tm) };
    (n > 0).then_some(n)
}

/// `out` as text: the C locale's output is ASCII, a UTF-8 locale's is
/// UTF-8; anything else (a Latin-1 locale) is cut at the first bad byte.
fn utf8_prefix(out: &[u8]) -> Option<&str> {
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
    fn one_conversion_a_minute_gives_what_localtime_gives_each_second() {
        let fields = |t: &libc::tm| {
            (
                t.tm_year,
                t.tm_yday,
                t.tm_mon,
                t.tm_mday,
                t.tm_wday,
                t.tm_hour,
                t.tm_min,
                t.tm_sec,
                t.tm_isdst,
                t.tm_gmtoff,
            )
        };
        // This process's zone, every second across three minute boundaries
        // (and before the epoch).
        let calls = std::cell::Cell::new(0);
        let counted = |s| {
            calls.set(calls.get() + 1);
            localtime(s)
        };
        let mut cache = None;
        for base in [1_782_907_170i64, -130] {
            for secs in base..base + 200 {
                let got = local_time(&mut cache, secs, counted).expect("local time");
                let want = localtime(secs).expect("localtime_r");
                assert_eq!(fields(&got), fields(&want), "{secs}");
            }
        }
        assert!(
            calls.get() <= 10,
            "{} conversions for 400 seconds",
            calls.get()
        );

        // A zone counting leap seconds: its minutes do not start at second
        // 0 of the UTC minute, so each second is converted.
        let leap = |s: i64| {
            let mut tm = localtime(s - 27)?;
            tm.tm_gmtoff = 0;
            Some(tm)
        };
        calls.set(0);
        let mut cache = None;
        for secs in 1_782_907_170i64..1_782_907_290 {
            let got = local_time(&mut cache, secs, |s| {
                calls.set(calls.get() + 1);
                leap(s)
            })
            .expect("local time");
            assert_eq!(fields(&got), fields(&leap(secs).expect("leap")), "{secs}");
        }
        assert!(calls.get() >= 120, "{}", calls.get());
    }

    /// Every conversion the clock accepts, alone and with each flag and a
    /// width, and formats mixing them: the split formatter's text against
    /// strftime of the whole format, for the same broken-down time.
    fn split_formats() -> Vec<String> {
        let mut v = Vec::new();
        for c in CLOCK_CONVERSIONS.chars() {
            for m in ["", "-", "_", "0", "^", "#", "3", "-3", "_10", "010"] {
                v.push(format!("%{m}{c}"));
            }
        }
        for f in [
            "",
            "x",
            "%Y-%m-%d %H:%M:%S",
            "%a %d %b  %H:%M",
            "%T|%-S|%_S|%0S|%S",
            "[%S] %%S %S%% %T%T",
            "%c / %r / %X / %x / %s",
            "%H:%M:%S %Z %z",
            "%A %B %e %j %U %W %V %G %g %u %w %C %y %D %F %R %I %l %k %p %P %h %n%t",
            // 4 × 64 bytes: too long, in pieces as whole.
            "%64S%64S%64S%64S",
            "%64c%64S%64c%64S",
            "%60H%60M%60y%60S ok",
        ] {
            v.push(f.to_string());
        }
        v
    }

    fn check_split(format: &str, seconds: &[i64], convert: &dyn Fn(i64) -> Option<libc::tm>) {
        let whole = c(format);
        let mut split = Split::new(whole.clone());
        let mut cache = None;
        for &secs in seconds {
            let (mut a, mut b) = ([0u8; OUT_CAP], [0u8; OUT_CAP]);
            let got = split.format(&mut cache, secs, convert, &mut a);
            let tm = convert(secs).expect("local time");
            let want = format_tm(&tm, &whole, &mut b);
            assert_eq!(got, want, "{format:?} at {secs}");
        }
    }

    #[test]
    fn the_split_format_writes_what_strftime_writes() {
        // Consecutive seconds across minute boundaries (the minute's text
        // reused), before the epoch, past 2038, and far ahead.
        let mut runs: Vec<i64> = Vec::new();
        for base in [-130i64, 0, 1_782_907_170, 2_147_483_590, 10_000_000_000] {
            runs.extend(base..base + 130);
        }
        // Every hour, weekday, week number and month over four years.
        let sparse: Vec<i64> = (0..1500)
            .map(|k| 1_700_000_000 + k * 86_400 + k * 3_607)
            .collect();
        let local = |s: i64| localtime(s);
        // Other zones' offsets and names, as strftime reads them from the
        // broken-down time (the process's own zone is left alone: other
        // tests convert with it).
        let zoned = |off: libc::c_long, zone: &'static std::ffi::CStr| {
            move |s: i64| {
                let mut tm = localtime(s)?;
                tm.tm_gmtoff = off;
                tm.tm_zone = zone.as_ptr();
                Some(tm)
            }
        };
        let india = zoned(19_800, c"IST");
        let newfoundland = zoned(-12_600, c"NDT");
        let nameless = zoned(0, c"");
        for f in split_formats() {
            check_split(&f, &runs, &local);
            check_split(&f, &sparse, &local);
            check_split(&f, &runs[130..260], &india);
            check_split(&f, &runs[260..390], &newfoundland);
            check_split(&f, &runs[390..520], &nameless);
        }
        // Conversions the check refuses go to strftime whole.
        for f in ["%Ec %S", "%OS %S", "%H %"] {
            assert_eq!(split_pieces(f.as_bytes()), vec![Piece::Second(c(f))]);
            check_split(f, &runs[..130], &local);
        }
    }

    #[test]
    fn a_clock_showing_seconds_calls_strftime_once_a_minute() {
        // 180 seconds from a minute's start: three minutes.
        let start = 1_782_907_200i64;
        assert_eq!(start % 60, 0);
        let count = |format: &str| {
            let mut clock = clock(&format!("format = \"{format}\"\n")).unwrap();
            for secs in start..start + 180 {
                clock.show(secs);
            }
            clock.format.strftimes
        };
        // The bench's clock, and one with a weekday and a zone name.
        assert_eq!(count("%Y-%m-%d %H:%M:%S"), 3);
        assert_eq!(count("%a %H:%M:%S %Z"), 6, "two pieces a minute");
        assert_eq!(count("%T"), 3);
        // Only strftime writes these, every second.
        assert_eq!(count("%r"), 180);
        assert_eq!(count("%H:%M %3S"), 180 + 3);
        // A wall-clock change writes the minute again.
        let mut clock = clock("format = \"%H:%M:%S\"\n").unwrap();
        clock.show(start);
        clock.show(start + 1);
        clock.wall_clock_changed(Instant::now());
        clock.show(start + 2);
        assert_eq!(clock.format.strftimes, 2);
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

    fn clock(extra: &str) -> Result<Clock, String> {
        let cfg = crate::modules::registry::parse(
            &format!("[bar]\ncenter = [\"clock\"]\nright = []\n[module.clock]\n{extra}"),
            "t.toml",
            None,
        )
        .map_err(|e| e.to_string())?;
        let place = Placement {
            align: Align::Center,
            palette: Palette::default(),
        };
        Ok(Clock::new(
            cfg.module("clock").unwrap(),
            place,
            Instant::now(),
        ))
    }

    fn clock_err(extra: &str) -> String {
        match clock(extra) {
            Ok(_) => panic!("{extra} parsed"),
            Err(e) => e,
        }
    }

    #[test]
    fn tooltip_format_is_strftime_with_a_calendar() {
        // 2026-07-15 12:00:00 UTC; zone-independent conversions only (and
        // the grid's month: mid-month noon is July in every zone).
        let t = 1_784_116_800;
        let mut c = clock("tooltip_format = \"<b>%s</b> {{%%}} {:%Y} %Y\\n<tt>{calendar}</tt>\"\n")
            .unwrap();
        c.show(t);
        let tip = c.tip().expect("a tooltip").to_string();
        let (head, grid) = tip.split_once('\n').unwrap();
        assert_eq!(head, "<b>1784116800</b> {%} 2026 2026");
        assert!(
            grid.starts_with("<tt>     July 2026\nMo Tu We Th Fr Sa Su\n"),
            "{grid}"
        );
        assert!(grid.ends_with("27 28 29 30 31</tt>"), "{grid}");
        assert!(grid.contains("</u></b>"), "today marked: {grid}");
        // The tooltip replaces the calendar popup; the segment opens none
        // of its own (the bar gives it the tooltip's).
        assert_eq!(c.segment().popup, None);
        assert_eq!(Module::tooltip(&c, 0), Some(tip.as_str()));
        // A minute format with a seconds tooltip ticks each second.
        assert!(c.seconds, "%s in the tooltip");
        let m = clock("tooltip_format = \"%H:%M\"\n").unwrap();
        assert!(!m.seconds);
    }

    #[test]
    fn without_tooltip_format_the_calendar_popup_stays_and_tooltip_false_ends_both() {
        let mut c = clock("").unwrap();
        c.show(0);
        assert_eq!(c.segment().popup, Some(CLOCK_POPUP));
        assert_eq!(c.tip(), None);
        for extra in [
            "tooltip = false\n",
            "tooltip = false\ntooltip_format = \"{calendar}\"\n",
        ] {
            let mut off = clock(extra).unwrap();
            off.show(0);
            assert_eq!((off.segment().popup, off.tip()), (None, None), "{extra}");
        }
    }

    #[test]
    fn a_bad_tooltip_placeholder_or_conversion_is_an_error_with_its_position() {
        let e = clock_err("tooltip_format = \"%H {calender}\"\n");
        assert!(e.contains("t.toml:5:22"), "{e}");
        assert!(e.contains("did you mean `calendar`?"), "{e}");
        let e = clock_err("tooltip_format = \"ok {:%Q}\"\n");
        assert!(e.contains("t.toml:5:24") && e.contains("`%Q`"), "{e}");
        let e = clock_err("tooltip_format = \"{calendar} %\"\n");
        assert!(e.contains("t.toml:5:30") && e.contains("at the end"), "{e}");
        let e = clock_err("tooltip_format = \"a } b\"\n");
        assert!(e.contains("t.toml:5:21") && e.contains("lone"), "{e}");
        assert!(check_clock_tooltip("%a %-d {calendar}{{x}} %%{:%H:%M}").is_ok());
        assert!(check_clock_tooltip("%{calendar}").is_err());
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

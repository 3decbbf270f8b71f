//! The i3bar protocol (swaybar-protocol(7)) from the status command's side:
//! what i3status, i3blocks, py3status and i3status-rs print, and the click
//! events they read.
//!
//! The command prints a header object (`version`, `click_events`,
//! `stop_signal`, `cont_signal`), then an endless JSON array whose every
//! element is the whole status line: an array of blocks. [`Stream`] takes
//! the bytes as they come and hands back each complete status line; it
//! never holds more than [`MAX_LINE`] bytes (a longer line is skipped with
//! an error, and the next one is read). [`I3bar`] runs the command: stdout
//! a non-blocking pipe read when the loop says so, stdin for click events,
//! exits collected with `try_wait`, restarts with backoff, and the stop and
//! continue signals sent to its process group while the bar is hidden.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::CommandLine;

/// The longest status line (one element of the endless array) read; a
/// longer one is skipped.
pub const MAX_LINE: usize = 4 << 20;

/// Blocks kept per status line; the rest are dropped (the bar has room for
/// a few dozen segments, not thousands).
pub const MAX_BLOCKS: usize = 32;

/// Bytes of text kept per block.
pub const MAX_TEXT: usize = 256;

/// Bytes of a block's `tooltip` kept (a tooltip is a few lines).
pub const MAX_TOOLTIP: usize = 4096;

/// The header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: i64,
    pub click_events: bool,
    pub stop_signal: i32,
    pub cont_signal: i32,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            version: 1,
            click_events: false,
            stop_signal: libc::SIGSTOP,
            cont_signal: libc::SIGCONT,
        }
    }
}

/// `min_width`: pixels, or the width of a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MinWidth {
    Pixels(u32),
    Text(String),
}

/// One block, as the protocol defines it (defaults filled in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub full_text: String,
    pub short_text: Option<String>,
    /// `#RRGGBB` or `#RRGGBBAA`, parsed; `None`: the bar's colour.
    pub color: Option<[u8; 4]>,
    pub background: Option<[u8; 4]>,
    pub border: Option<[u8; 4]>,
    /// Top, right, bottom, left border widths (default 1 each).
    pub border_widths: [u32; 4],
    pub min_width: Option<MinWidth>,
    /// `left` (default), `center`, `right`.
    pub align: String,
    pub urgent: bool,
    pub separator: bool,
    pub separator_block_width: u32,
    /// `markup: "pango"`: the text is Pango markup (tags are stripped here).
    pub pango: bool,
    pub name: String,
    pub instance: String,
    /// `tooltip`: not in the protocol, but some status commands of one's
    /// own send it (as Waybar's custom scripts do); markup, kept as sent.
    pub tooltip: Option<String>,
}

/// A colour in the protocol's `#RRGGBB` / `#RRGGBBAA` notation.
pub fn parse_color(s: &str) -> Option<[u8; 4]> {
    let h = s.strip_prefix('#')?;
    if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(h.get(i..i + 2)?, 16).ok();
    match h.len() {
        6 => Some([byte(0)?, byte(2)?, byte(4)?, 0xff]),
        8 => Some([byte(0)?, byte(2)?, byte(4)?, byte(6)?]),
        _ => None,
    }
}

/// Pango markup to plain text: tags dropped, the five entities decoded.
pub fn strip_pango(s: &str, out: &mut String) {
    let mut in_tag = false;
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if in_tag {
            in_tag = c != '>';
            rest = &rest[c.len_utf8()..];
            continue;
        }
        if c == '<' {
            in_tag = true;
            rest = &rest[1..];
            continue;
        }
        if c == '&' {
            let ents = [
                ("&amp;", '&'),
                ("&lt;", '<'),
                ("&gt;", '>'),
                ("&quot;", '"'),
                ("&apos;", '\''),
            ];
            if let Some((e, ch)) = ents.iter().find(|(e, _)| rest.starts_with(e)) {
                out.push(*ch);
                rest = &rest[e.len()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
}

fn cut(s: &str) -> String {
    cut_at(s, MAX_TEXT)
}

fn cut_at(s: &str, max: usize) -> String {
    let mut n = s.len().min(max);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    s[..n].to_string()
}

impl Block {
    /// A block from its JSON object; `None` without a string `full_text`
    /// (the protocol skips such blocks). Fields of the wrong type take
    /// their defaults.
    pub fn from_json(v: &Value) -> Option<Block> {
        let o = v.as_object()?;
        let text = |k: &str| o.get(k).and_then(Value::as_str);
        let pango = text("markup") == Some("pango");
        let shown = |s: &str| {
            if pango {
                let mut t = String::with_capacity(s.len().min(MAX_TEXT));
                strip_pango(&s[..s.len().min(MAX_TEXT * 4)], &mut t);
                cut(&t)
            } else {
                cut(s)
            }
        };
        let full_text = shown(text("full_text")?);
        let width = |k: &str| {
            o.get(k)
                .and_then(Value::as_u64)
                .map_or(1, |w| w.min(64) as u32)
        };
        Some(Block {
            full_text,
            short_text: text("short_text").map(shown),
            color: text("color").and_then(parse_color),
            background: text("background").and_then(parse_color),
            border: text("border").and_then(parse_color),
            border_widths: [
                width("border_top"),
                width("border_right"),
                width("border_bottom"),
                width("border_left"),
            ],
            min_width: match o.get("min_width") {
                Some(Value::Number(n)) => n.as_u64().map(|p| MinWidth::Pixels(p.min(4096) as u32)),
                Some(Value::String(s)) => Some(MinWidth::Text(cut(s))),
                _ => None,
            },
            align: match text("align") {
                Some(a @ ("center" | "right")) => a.to_string(),
                _ => "left".to_string(),
            },
            urgent: o.get("urgent").and_then(Value::as_bool).unwrap_or(false),
            separator: o.get("separator").and_then(Value::as_bool).unwrap_or(true),
            separator_block_width: o
                .get("separator_block_width")
                .and_then(Value::as_u64)
                .map_or(9, |w| w.min(256) as u32),
            pango,
            name: text("name").map(cut).unwrap_or_default(),
            instance: text("instance").map(cut).unwrap_or_default(),
            tooltip: text("tooltip").map(|t| cut_at(t, MAX_TOOLTIP)),
        })
    }
}

/// Parses a header object.
pub fn parse_header(raw: &[u8]) -> Result<Header, String> {
    let v: Value = serde_json::from_slice(raw).map_err(|e| {
        format!(
            "the header is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&raw[..raw.len().min(60)])
        )
    })?;
    let o = v
        .as_object()
        .ok_or("the header is not a JSON object with a \"version\"")?;
    let version = o
        .get("version")
        .and_then(Value::as_i64)
        .ok_or("the header has no integer \"version\"")?;
    let sig = |k: &str, d: i32| {
        o.get(k)
            .and_then(Value::as_i64)
            .and_then(|s| i32::try_from(s).ok())
            .filter(|s| (1..=64).contains(s))
            .unwrap_or(d)
    };
    Ok(Header {
        version,
        click_events: o
            .get("click_events")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        stop_signal: sig("stop_signal", libc::SIGSTOP),
        cont_signal: sig("cont_signal", libc::SIGCONT),
    })
}

/// Blocks from one status line (a JSON array of objects).
pub fn parse_line(raw: &[u8], out: &mut Vec<Block>) -> Result<(), String> {
    let v: Value =
        serde_json::from_slice(raw).map_err(|e| format!("a status line is not JSON ({e})"))?;
    let list = v
        .as_array()
        .ok_or("a status line is not an array of blocks")?;
    out.clear();
    out.extend(list.iter().filter_map(Block::from_json).take(MAX_BLOCKS));
    Ok(())
}

/// What [`Stream::feed`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Item<'a> {
    Header(Header),
    /// A complete status line's bytes (an array).
    Line(&'a [u8]),
    /// Input that breaks the protocol (the stream goes on past it).
    Error(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Before the header object.
    Header,
    /// Before the `[` opening the endless array.
    Open,
    /// Between status lines (`,` and whitespace allowed).
    Between,
    /// Inside a status line at `depth`.
    Line,
    /// Skipping an over-long status line.
    Skip,
}

/// The incremental reader of the protocol's stdout.
pub struct Stream {
    phase: Phase,
    buf: Vec<u8>,
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            phase: Phase::Header,
            buf: Vec::with_capacity(4096),
            depth: 0,
            in_string: false,
            escaped: false,
        }
    }
}

impl Stream {
    /// Takes `bytes` and hands every complete item to `f`.
    pub fn feed(&mut self, bytes: &[u8], mut f: impl FnMut(Item<'_>)) {
        for &b in bytes {
            match self.phase {
                Phase::Header | Phase::Line | Phase::Skip => {
                    if self.depth == 0 && self.phase == Phase::Header {
                        if b.is_ascii_whitespace() {
                            continue;
                        }
                        if b != b'{' {
                            self.phase = Phase::Skip;
                            f(Item::Error(format!(
                                "the output does not start with a header object (found {:?})",
                                b as char
                            )));
                            // Resynchronise on the next line's array.
                            self.phase = Phase::Between;
                            continue;
                        }
                    }
                    if self.phase != Phase::Skip {
                        if self.buf.len() >= MAX_LINE {
                            self.phase = Phase::Skip;
                            self.buf.clear();
                            f(Item::Error(format!(
                                "a status line longer than {} MiB, skipped",
                                MAX_LINE >> 20
                            )));
                        } else {
                            self.buf.push(b);
                        }
                    }
                    if self.in_string {
                        if self.escaped {
                            self.escaped = false;
                        } else if b == b'\\' {
                            self.escaped = true;
                        } else if b == b'"' {
                            self.in_string = false;
                        }
                        continue;
                    }
                    match b {
                        b'"' => self.in_string = true,
                        b'{' | b'[' => self.depth += 1,
                        b'}' | b']' => {
                            self.depth = self.depth.saturating_sub(1);
                            if self.depth == 0 {
                                match self.phase {
                                    Phase::Header => {
                                        match parse_header(&self.buf) {
                                            Ok(h) => f(Item::Header(h)),
                                            Err(e) => f(Item::Error(e)),
                                        }
                                        self.phase = Phase::Open;
                                    }
                                    Phase::Line => {
                                        f(Item::Line(&self.buf));
                                        self.phase = Phase::Between;
                                    }
                                    _ => self.phase = Phase::Between,
                                }
                                self.buf.clear();
                                // Give back what a huge line took.
                                if self.buf.capacity() > 256 * 1024 {
                                    self.buf.shrink_to(4096);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                Phase::Open => match b {
                    b'[' => self.phase = Phase::Between,
                    b if b.is_ascii_whitespace() => {}
                    _ => {
                        f(Item::Error(format!(
                            "expected `[` after the header, found {:?}",
                            b as char
                        )));
                        self.phase = Phase::Between;
                    }
                },
                Phase::Between => match b {
                    b'[' => {
                        self.phase = Phase::Line;
                        self.depth = 1;
                        self.buf.clear();
                        self.buf.push(b);
                    }
                    b',' => {}
                    b if b.is_ascii_whitespace() => {}
                    _ => {
                        // Garbage between lines: say it once per run of it.
                        if self.buf.is_empty() {
                            f(Item::Error(format!(
                                "unexpected {:?} between status lines",
                                b as char
                            )));
                            self.buf.push(b);
                        }
                    }
                },
            }
        }
        if self.phase == Phase::Between && !self.buf.is_empty() && bytes.last() == Some(&b'\n') {
            self.buf.clear();
        }
    }
}

/// A click, as the protocol sends it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Click {
    pub name: String,
    pub instance: String,
    /// X11 button number (1 left, 2 middle, 3 right, 4/5 scroll).
    pub button: u32,
    /// The Linux input event code (`BTN_LEFT` …; 0 for scrolling).
    pub event: u32,
    pub x: i32,
    pub y: i32,
    pub relative_x: i32,
    pub relative_y: i32,
    pub width: u32,
    pub height: u32,
}

impl Click {
    /// The event's JSON object.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "name": self.name,
            "instance": self.instance,
            "button": self.button,
            "event": self.event,
            "x": self.x,
            "y": self.y,
            "relative_x": self.relative_x,
            "relative_y": self.relative_y,
            "width": self.width,
            "height": self.height,
            "modifiers": [],
        })
        .to_string()
    }
}

/// Whether the status command is healthy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// No status line yet.
    Waiting,
    Ok,
    /// It died or broke the protocol; the message says how.
    Error(String),
}

/// A running status command.
pub struct I3bar {
    cmd: CommandLine,
    child: Option<Child>,
    stdout: Option<ChildStdout>,
    /// Names the running command's pipe ([`super::next_serial`]): the next
    /// run's reuses its number.
    serial: u64,
    stdin: Option<ChildStdin>,
    stream: Stream,
    pub header: Header,
    /// The latest status line's blocks.
    pub blocks: Vec<Block>,
    pub status: Status,
    /// The click array was opened on stdin.
    clicks_open: bool,
    next_run: Option<Instant>,
    restart_delay: Duration,
    /// Stopped (the bar is hidden).
    stopped: bool,
    scratch: Vec<Block>,
}

impl I3bar {
    /// A runner that starts the command on the first [`I3bar::on_timer`].
    pub fn new(cmd: CommandLine) -> I3bar {
        I3bar {
            cmd,
            child: None,
            stdout: None,
            serial: 0,
            stdin: None,
            stream: Stream::default(),
            header: Header::default(),
            blocks: Vec::with_capacity(MAX_BLOCKS),
            status: Status::Waiting,
            clicks_open: false,
            next_run: Some(Instant::now()),
            restart_delay: Duration::from_millis(500),
            stopped: false,
            scratch: Vec::with_capacity(MAX_BLOCKS),
        }
    }

    /// The stdout pipe to watch.
    pub fn fd(&self) -> Option<RawFd> {
        self.stdout.as_ref().map(|s| s.as_raw_fd())
    }

    /// Names the pipe [`I3bar::fd`] gives: a new value for each run.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// The command's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// When [`I3bar::on_timer`] is next needed (a restart, or collecting an
    /// exit after stdout closed).
    pub fn next_deadline(&self) -> Option<Instant> {
        match (&self.child, &self.stdout) {
            (Some(_), None) => Some(Instant::now() + Duration::from_millis(50)),
            (Some(_), Some(_)) => None,
            (None, _) => self.next_run,
        }
    }

    fn start(&mut self, now: Instant) {
        self.next_run = None;
        self.stream = Stream::default();
        self.header = Header::default();
        self.clicks_open = false;
        let Some(mut c) = self.cmd.command() else {
            self.status = Status::Error("an empty command".into());
            return;
        };
        // Its own process group: stop/cont and the final kill reach what it
        // started too (i3blocks' block scripts).
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        match c.spawn() {
            Ok(mut child) => {
                for fd in [
                    child.stdout.as_ref().map(|o| o.as_raw_fd()),
                    child.stdin.as_ref().map(|i| i.as_raw_fd()),
                ]
                .into_iter()
                .flatten()
                {
                    // SAFETY: fcntl on a pipe descriptor we own.
                    unsafe {
                        let fl = libc::fcntl(fd, libc::F_GETFL);
                        libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
                    }
                }
                self.stdout = child.stdout.take();
                self.serial = super::next_serial();
                self.stdin = child.stdin.take();
                if let Ok(pgid) = i32::try_from(child.id()) {
                    // Its group dies with the bar, however the bar ends.
                    super::reaper::watch(pgid);
                }
                self.child = Some(child);
                if self.stopped {
                    self.signal(self.header.stop_signal);
                }
            }
            Err(e) => {
                self.status = Status::Error(format!("cannot run `{}`: {e}", self.cmd.display()));
                self.schedule_restart(now);
            }
        }
    }

    fn schedule_restart(&mut self, now: Instant) {
        self.next_run = Some(now + self.restart_delay);
        self.restart_delay = (self.restart_delay * 2).min(Duration::from_secs(30));
    }

    /// Starts a due run or collects an exit; true when what is shown changed.
    pub fn on_timer(&mut self, now: Instant) -> bool {
        let before = self.status.clone();
        if self.child.is_none() {
            if self.next_run.is_some_and(|t| now >= t) {
                self.start(now);
            }
        } else {
            self.try_reap(now);
        }
        self.status != before
    }

    /// Reads what the command printed; true when what is shown changed.
    pub fn on_readable(&mut self) -> bool {
        let before = (self.status.clone(), self.blocks.len());
        let mut changed = false;
        let mut chunk = [0u8; 16 * 1024];
        // A slice at a time: a command printing without end cannot hold the
        // loop (the pipe is level-triggered; the rest comes next turn).
        for _ in 0..16 {
            let Some(out) = self.stdout.as_mut() else {
                break;
            };
            match out.read(&mut chunk) {
                Ok(0) => {
                    self.stdout = None;
                    self.try_reap(Instant::now());
                    break;
                }
                Ok(n) => changed |= self.take(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.stdout = None;
                    break;
                }
            }
        }
        changed || (self.status.clone(), self.blocks.len()) != before
    }

    /// Feeds bytes as if the command printed them (tests, and the reader).
    pub fn take(&mut self, bytes: &[u8]) -> bool {
        let mut changed = false;
        let (header, scratch, blocks, status, delay) = (
            &mut self.header,
            &mut self.scratch,
            &mut self.blocks,
            &mut self.status,
            &mut self.restart_delay,
        );
        self.stream.feed(bytes, |it| match it {
            Item::Header(h) => {
                *header = h;
                if h.version != 1 {
                    *status = Status::Error(format!(
                        "protocol version {} (only 1 is known); reading it as 1",
                        h.version
                    ));
                }
            }
            Item::Line(raw) => match parse_line(raw, scratch) {
                Ok(()) => {
                    if scratch != blocks {
                        std::mem::swap(scratch, blocks);
                        changed = true;
                    }
                    *status = Status::Ok;
                    *delay = Duration::from_millis(500);
                }
                Err(e) => *status = Status::Error(e),
            },
            Item::Error(e) => {
                *status = Status::Error(e);
                changed = true;
            }
        });
        changed
    }

    fn try_reap(&mut self, now: Instant) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        match child.try_wait() {
            Ok(Some(s)) => {
                if let Ok(pgid) = i32::try_from(child.id()) {
                    super::reaper::forget(pgid);
                }
                self.child = None;
                self.stdout = None;
                self.stdin = None;
                self.status = Status::Error(format!(
                    "`{}` {}; restarting in {:.1} s",
                    self.cmd.display(),
                    describe(s),
                    self.restart_delay.as_secs_f32()
                ));
                self.schedule_restart(now);
            }
            Ok(None) => {}
            Err(e) => {
                self.status = Status::Error(format!("waiting for `{}`: {e}", self.cmd.display()));
                self.child = None;
                self.schedule_restart(now);
            }
        }
    }

    /// Sends a click event, when the header asked for them. Errors (a full
    /// or closed pipe) are dropped: a click is not worth blocking for.
    pub fn click(&mut self, c: &Click) {
        if !self.header.click_events {
            return;
        }
        let Some(stdin) = self.stdin.as_mut() else {
            return;
        };
        let mut msg = String::with_capacity(256);
        // As i3bar writes it: the array opened once, then each event on its
        // own line, comma-separated.
        if !self.clicks_open {
            msg.push_str("[\n");
        } else {
            msg.push(',');
        }
        msg.push_str(&c.to_json());
        msg.push('\n');
        if stdin.write_all(msg.as_bytes()).is_ok() {
            self.clicks_open = true;
        }
    }

    /// The bar was hidden (`false`) or shown: the header's stop or continue
    /// signal to the command's process group.
    pub fn set_visible(&mut self, shown: bool) {
        if self.stopped != shown {
            return;
        }
        self.stopped = !shown;
        let sig = if shown {
            self.header.cont_signal
        } else {
            self.header.stop_signal
        };
        self.signal(sig);
    }

    fn signal(&self, sig: i32) {
        if let Some(pgid) = self.pid().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: signals the process group we created for this child.
            unsafe { libc::kill(-pgid, sig) };
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pgid) = i32::try_from(child.id()) {
                // SAFETY: the process group we created; SIGKILL needs no
                // SIGCONT even for a stopped group.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                super::reaper::forget(pgid);
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stdout = None;
        self.stdin = None;
    }
}

impl Drop for I3bar {
    fn drop(&mut self) {
        self.kill();
    }
}

fn describe(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "exited".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items as owned values: (header, line bytes, error).
    #[derive(Debug, PartialEq)]
    enum Got {
        H(Header),
        L(Vec<u8>),
        E(String),
    }

    fn items(chunks: &[&[u8]]) -> Vec<Got> {
        let mut s = Stream::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |i| {
                out.push(match i {
                    Item::Header(h) => Got::H(h),
                    Item::Line(l) => Got::L(l.to_vec()),
                    Item::Error(e) => Got::E(e),
                })
            });
        }
        out
    }

    #[test]
    fn header_then_endless_array_in_any_chunks() {
        let all = b"{\"version\":1,\"click_events\":true,\"stop_signal\":10}\n[\n[{\"full_text\":\"a ]\\\" [\"}],\n[{\"full_text\":\"b\"}]\n,[]";
        for split in [1, 2, 7, 13, all.len()] {
            let chunks: Vec<&[u8]> = all.chunks(split).collect();
            let got = items(&chunks);
            assert_eq!(got.len(), 4, "split {split}: {got:?}");
            assert_eq!(
                got[0],
                Got::H(Header {
                    version: 1,
                    click_events: true,
                    stop_signal: 10,
                    cont_signal: libc::SIGCONT
                })
            );
            let mut b = Vec::new();
            let Got::L(l) = &got[1] else { panic!() };
            parse_line(l, &mut b).unwrap();
            assert_eq!(b[0].full_text, "a ]\" [");
            let Got::L(l) = &got[3] else { panic!() };
            parse_line(l, &mut b).unwrap();
            assert!(b.is_empty());
        }
    }

    #[test]
    fn blocks_with_every_field_and_defaults() {
        let v: Value = serde_json::from_str(
            r##"{"full_text": "<b>CPU</b> &amp; 5%", "short_text": "5%", "color": "#ff0000",
                "background": "#00ff0080", "border": "#0000ff", "border_top": 2, "border_left": 0,
                "min_width": "100%", "align": "center", "urgent": true, "separator": false,
                "separator_block_width": 20, "markup": "pango", "name": "cpu", "instance": "0"}"##,
        )
        .unwrap();
        let b = Block::from_json(&v).unwrap();
        assert_eq!(b.full_text, "CPU & 5%");
        assert_eq!(b.short_text.as_deref(), Some("5%"));
        assert_eq!(b.color, Some([255, 0, 0, 255]));
        assert_eq!(b.background, Some([0, 255, 0, 0x80]));
        assert_eq!(b.border, Some([0, 0, 255, 255]));
        assert_eq!(b.border_widths, [2, 1, 1, 0]);
        assert_eq!(b.min_width, Some(MinWidth::Text("100%".into())));
        assert_eq!(
            (b.align.as_str(), b.urgent, b.separator),
            ("center", true, false)
        );
        assert_eq!(b.separator_block_width, 20);
        assert_eq!((b.name.as_str(), b.instance.as_str()), ("cpu", "0"));
        assert_eq!(b.tooltip, None);
        let t = Block::from_json(
            &serde_json::json!({"full_text": "x", "tooltip": "<b>é</b>".repeat(1000)}),
        )
        .unwrap();
        let tip = t.tooltip.unwrap();
        assert!(
            tip.len() <= MAX_TOOLTIP && tip.starts_with("<b>é</b>"),
            "{}",
            tip.len()
        );
        let d = Block::from_json(&serde_json::json!({"full_text": "x"})).unwrap();
        assert_eq!(
            (
                d.color,
                d.border_widths,
                d.separator,
                d.separator_block_width,
                d.align.as_str()
            ),
            (None, [1, 1, 1, 1], true, 9, "left")
        );
        assert_eq!(
            Block::from_json(&serde_json::json!({"full_text": "x", "min_width": 80}))
                .unwrap()
                .min_width,
            Some(MinWidth::Pixels(80))
        );
    }

    #[test]
    fn bad_input_is_an_error_never_a_panic() {
        // Wrong types take defaults; no full_text skips the block.
        let mut b = Vec::new();
        parse_line(
            br#"[{"full_text": 5}, {"full_text": "ok", "color": 7, "urgent": "yes", "border_top": -3, "min_width": [1]}, 3, null]"#,
            &mut b,
        )
        .unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(
            (b[0].color, b[0].urgent, b[0].min_width.clone()),
            (None, false, None)
        );
        assert!(parse_line(b"{\"full_text\": \"x\"}", &mut b).is_err());
        assert!(parse_line(b"[{\"full_", &mut b).is_err());
        // A truncated or missing header.
        assert!(parse_header(b"{\"vers").is_err());
        assert!(parse_header(b"[1]").is_err());
        assert!(parse_header(b"{\"click_events\": true}").is_err());
        let got = items(&[b"hello world\n"]);
        assert!(
            matches!(&got[0], Got::E(e) if e.contains("header")),
            "{got:?}"
        );
        // 10,000 blocks: the first MAX_BLOCKS kept.
        let many = format!("[{}]", vec![r#"{"full_text":"b"}"#; 10_000].join(","));
        parse_line(many.as_bytes(), &mut b).unwrap();
        assert_eq!(b.len(), MAX_BLOCKS);
        // 1 MB of full_text: cut.
        let big = format!(r#"[{{"full_text":"{}"}}]"#, "é".repeat(500_000));
        parse_line(big.as_bytes(), &mut b).unwrap();
        assert!(b[0].full_text.len() <= MAX_TEXT);
        // Colours.
        assert_eq!(parse_color("#12345"), None);
        assert_eq!(parse_color("red"), None);
        assert_eq!(parse_color("#zz0000"), None);
        assert_eq!(parse_color("#é12345"), None);
    }

    #[test]
    fn a_runner_takes_lines_and_reports_protocol_errors() {
        let mut r = I3bar::new(CommandLine::Exec(vec!["true".into()]));
        assert!(r.take(b"{\"version\":1}\n[[{\"full_text\":\"one\"}],"));
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.blocks[0].full_text, "one");
        // Same line again: nothing changed.
        assert!(!r.take(b"[{\"full_text\":\"one\"}],"));
        r.take(b"[{\"full_text\": }],");
        assert!(matches!(&r.status, Status::Error(e) if e.contains("not JSON")));
        assert_eq!(r.blocks[0].full_text, "one", "the last good line stays");
        r.take(b"[{\"full_text\":\"two\"}]");
        assert_eq!(
            (r.status.clone(), r.blocks[0].full_text.as_str()),
            (Status::Ok, "two")
        );
    }

    #[test]
    fn click_events_json() {
        let c = Click {
            name: "time".into(),
            instance: "local".into(),
            button: 1,
            event: 0x110,
            ..Click::default()
        };
        let v: Value = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(v["name"], "time");
        assert_eq!(v["button"], 1);
        assert_eq!(v["event"], 272);
        for k in [
            "x",
            "y",
            "relative_x",
            "relative_y",
            "width",
            "height",
            "modifiers",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }
}

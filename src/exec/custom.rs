//! The custom module's script runner: a command run every interval, or a
//! long-running one whose output lines update the module, speaking plain
//! text or Waybar's JSON, so Waybar scripts come along unchanged.
//!
//! Nothing blocks: stdout is a non-blocking pipe read when the event loop
//! says so, exits are collected with `try_wait`, a run past its timeout is
//! killed with its whole process group. Lines are capped, so a script that
//! prints endlessly without a newline costs at most [`MAX_LINE`] bytes.
//!
//! A script that floods its pipe (`yes`, `cat /dev/urandom`, a loop without
//! a pause) costs the bar little: each wakeup reads at most [`READ_BUDGET`]
//! bytes ([`RESUME_BUDGET`] after a pause), only the last whole line of a read is shown (the screen cannot show
//! more), and past [`FLOOD_LINES`] lines or [`FLOOD_BYTES`] bytes in a second
//! the pipe is not read for [`PAUSE`]; the script blocks on its full pipe
//! meanwhile, and the module says it is throttled.
//!
//! Every run is its own process group, killed whole when it times out, when
//! the runner is dropped (the bar exits, a reload removes the module), and by
//! the [`super::reaper`] watchdog when the bar is killed outright (without a
//! watchdog, the script's first process gets `PR_SET_PDEATHSIG` instead).

use std::io::{ErrorKind, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{vfork, CommandLine};

/// The longest output line taken; a longer one is reported and dropped
/// (Waybar's JSON lines can be long: a tooltip with a table).
pub const MAX_LINE: usize = 1024 * 1024;

/// At most this much is read from a script's pipe per wakeup.
pub const READ_BUDGET: usize = 64 * 1024;

/// More lines than this within a second is a flood.
pub const FLOOD_LINES: u32 = 200;

/// More bytes than this within a second is a flood.
pub const FLOOD_BYTES: usize = 2 * 1024 * 1024;

/// The first wakeup after a pause reads up to this much (the backlog a
/// flood left, so the newest line shows soon; well under a millisecond).
pub const RESUME_BUDGET: usize = 256 * 1024;

/// How long a flooding pipe is left unread.
pub const PAUSE: Duration = Duration::from_secs(1);

/// A line buffer grown past this by one long line is given back afterwards.
const LINE_KEEP: usize = 4096;

/// When the command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Run, read its output, wait for it to exit; again after the interval.
    Interval(Duration),
    /// Keep it running; every line it prints is the module's new content.
    /// Restarted with backoff when it exits.
    Continuous,
}

/// How its output reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Waybar's plain text: line 1 text, line 2 tooltip, line 3 class
    /// (interval mode); each line is the text (continuous mode).
    Plain,
    /// Waybar's `return-type: json`: `{"text", "tooltip", "class", "percentage"}`.
    Json,
}

/// What the module shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    pub text: String,
    pub tooltip: String,
    pub class: String,
    pub percentage: Option<u8>,
}

/// Whether the script is healthy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Nothing printed yet.
    Waiting,
    Ok,
    /// It hung, died or printed something unreadable; the message says which.
    Error(String),
    /// It prints faster than the bar reads: its pipe is read once per
    /// [`PAUSE`]; `output` is the latest line read.
    Throttled,
}

/// One custom module's script.
pub struct Custom {
    cmd: CommandLine,
    /// `cmd` ready for [`super::vfork::spawn`] (paths and argv as C
    /// strings, made once); `None` when it cannot be (an empty argv, a NUL
    /// byte): std's spawn then, which says why.
    program: Option<vfork::Program>,
    mode: Mode,
    format: Format,
    timeout: Duration,
    child: Option<Proc>,
    /// Readable once the running script's first process has exited: its
    /// exit wakes the loop, no timer polls for it. `None` where pidfds are
    /// not to be had ([`open_pidfd`]): the reap timers then.
    pidfd: Option<OwnedFd>,
    stdout: Option<std::fs::File>,
    /// Names this run's descriptors ([`super::next_serial`]): the next
    /// run's reuse their numbers.
    serial: u64,
    started: Instant,
    /// When the running (or last) interval run was due: the next one is due
    /// an interval later, on the same grid however late the timer fired.
    due: Instant,
    /// An interval run with a pidfd leaves its pipe unwatched for its first
    /// [`FIRST_LOOK`]: a script that prints and exits by then wakes the
    /// loop once, at its exit, which reads what it printed. Past that (a
    /// long run, one that may fill its pipe), the pipe is watched too.
    quiet: bool,
    /// The last run outlasted its quiet start: the next is watched whole
    /// from its start (no timer to end the quiet start; its output read
    /// as it comes, as before).
    slow: bool,
    next_run: Option<Instant>,
    /// When to look for the exit of a script whose stdout has closed.
    reap_at: Option<Instant>,
    restart_delay: Duration,
    line: Vec<u8>,
    /// Dropping the rest of an over-long line.
    skipping: bool,
    /// How long the over-long line is so far.
    skipped: usize,
    /// Continuous mode: the last whole line of the current read.
    last: Vec<u8>,
    /// `last` holds a line not applied yet (or an over-long one, `Err(len)`).
    fresh: Option<Result<(), usize>>,
    /// Interval mode: the lines of this run (at most three matter).
    lines: Vec<String>,
    /// Interval mode: a line of this run was over [`MAX_LINE`] (its length).
    overlong: Option<usize>,
    /// Counting lines and bytes for the flood check: since when, how many.
    window: Instant,
    window_lines: u32,
    window_bytes: usize,
    /// The pipe is left unread until then.
    paused_until: Option<Instant>,
    /// The next read is the first after a pause.
    resumed: bool,
    /// Groups of finished runs that still had members when their first
    /// process exited (a background child): killed with the runner.
    groups: Vec<i32>,
    pub output: Output,
    pub status: Status,
}

impl Custom {
    /// A runner that starts on the first [`Custom::on_timer`]. `timeout`
    /// bounds an interval run.
    pub fn new(cmd: CommandLine, mode: Mode, format: Format, timeout: Duration) -> Custom {
        let program = match &cmd {
            CommandLine::Exec(argv) => {
                let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
                vfork::Program::new(&argv, std::env::var("PATH").ok().as_deref())
            }
            CommandLine::Shell(line) => vfork::Program::new(&["/bin/sh", "-c", line], None),
        };
        Custom {
            cmd,
            program,
            mode,
            format,
            timeout,
            child: None,
            pidfd: None,
            stdout: None,
            serial: 0,
            started: Instant::now(),
            due: Instant::now(),
            quiet: false,
            slow: false,
            next_run: Some(Instant::now()),
            reap_at: None,
            restart_delay: Duration::from_secs(1),
            line: Vec::with_capacity(1024),
            skipping: false,
            skipped: 0,
            last: Vec::new(),
            fresh: None,
            lines: Vec::new(),
            overlong: None,
            window: Instant::now(),
            window_lines: 0,
            window_bytes: 0,
            paused_until: None,
            resumed: false,
            groups: Vec::new(),
            output: Output::default(),
            status: Status::Waiting,
        }
    }

    /// The pipe to watch for readability, while a run is going and its
    /// pipe is not paused for flooding.
    pub fn fd(&self) -> Option<RawFd> {
        if self.paused_until.is_some() || self.quiet {
            return None;
        }
        self.stdout.as_ref().map(|s| s.as_raw_fd())
    }

    /// The descriptor that is readable when the running script exits (a
    /// pidfd), while there is one: from the run's start until the runner
    /// closes it (its exit collected, the run killed, the runner dropped),
    /// never hidden while open.
    pub fn exit_fd(&self) -> Option<RawFd> {
        self.child.as_ref()?;
        self.pidfd.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Names the running script's descriptors ([`Custom::fd`],
    /// [`Custom::exit_fd`]): a new value for each run.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// A run in its quiet start is going: one whose last run ended within
    /// it, so its output is expected within milliseconds, at its exit.
    pub fn quick_run_pending(&self) -> bool {
        self.quiet && self.child.is_some()
    }

    /// Whether the pipe is paused for flooding now.
    pub fn throttled(&self) -> bool {
        self.paused_until.is_some()
    }

    /// When the next interval run is due, while none runs.
    pub fn planned(&self) -> Option<Instant> {
        match (self.mode, &self.child) {
            (Mode::Interval(_), None) => self.next_run,
            _ => None,
        }
    }

    /// Moves the next interval run (see [`Custom::planned`]) to `at`.
    pub fn replan(&mut self, at: Instant) {
        if self.planned().is_some() {
            self.next_run = Some(at);
        }
    }

    /// The pid of the running script, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Proc::id)
    }

    /// When [`Custom::on_timer`] next needs to run.
    pub fn next_deadline(&self) -> Option<Instant> {
        let own = self.own_deadline();
        match (own, self.paused_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn own_deadline(&self) -> Option<Instant> {
        match (&self.child, self.mode) {
            // The exit wakes the loop through the pidfd: only the timeout,
            // and the end of the quiet start (the pipe is watched from then).
            (Some(_), Mode::Interval(_)) if self.pidfd.is_some() => {
                let end = self.started + self.timeout;
                Some(if self.quiet {
                    end.min(self.started + FIRST_LOOK)
                } else {
                    end
                })
            }
            (Some(_), Mode::Continuous) if self.pidfd.is_some() => None,
            // Output is over: collect the exit soon (an interval run is still
            // bounded by its timeout).
            (Some(_), mode) if self.stdout.is_none() => {
                let reap = self.reap_at.unwrap_or(self.started);
                match mode {
                    Mode::Interval(_) => Some(reap.min(self.started + self.timeout)),
                    Mode::Continuous => Some(reap),
                }
            }
            // Still reading: the first process may exit while a background
            // child holds the pipe; look for that now and then.
            (Some(_), Mode::Interval(_)) => {
                let end = self.started + self.timeout;
                Some(self.reap_at.map_or(end, |r| r.min(end)))
            }
            (Some(_), Mode::Continuous) => None,
            (None, _) => self.next_run,
        }
    }

    fn start(&mut self, now: Instant) {
        // The grid holds through a late or slightly early timer; a start
        // more than an interval late (a suspend) starts a new grid.
        self.due = match self.mode {
            Mode::Interval(i) => self.next_run.filter(|t| *t + i > now).unwrap_or(now),
            Mode::Continuous => now,
        };
        self.next_run = None;
        self.quiet = false;
        self.lines.clear();
        self.line.clear();
        self.skipping = false;
        self.fresh = None;
        self.overlong = None;
        self.paused_until = None;
        self.prune_groups();
        // Without the watchdog (which kills the whole group when the bar
        // dies), the first process at least dies with the bar.
        let orphan_guard = !super::reaper::active();
        if self.program.is_none() && self.cmd.command().is_none() {
            self.status = Status::Error("an empty command".into());
            return;
        }
        let started = match (&self.program, dev_null_fd()) {
            (Some(p), Some(null)) => match vfork::spawn(p, null.as_fd(), orphan_guard) {
                Err(e) if e.kind() == ErrorKind::Unsupported => self.spawn_std(orphan_guard),
                r => r.map(|s| {
                    let pidfd = s.pidfd.filter(on_pidfs);
                    (Proc(s.pid), std::fs::File::from(s.stdout), pidfd)
                }),
            },
            _ => self.spawn_std(orphan_guard),
        };
        match started {
            Ok((child, out, pidfd)) => {
                super::reaper::watch(child.0);
                self.serial = super::next_serial();
                self.pidfd = pidfd;
                self.quiet =
                    !self.slow && self.pidfd.is_some() && matches!(self.mode, Mode::Interval(_));
                self.stdout = Some(out);
                self.child = Some(child);
                self.started = now;
                self.reap_at = match self.mode {
                    Mode::Interval(_) => Some(now + FIRST_LOOK),
                    Mode::Continuous => None,
                };
            }
            Err(e) => {
                self.status = Status::Error(format!("cannot run `{}`: {e}", self.cmd.display()));
                self.schedule_after_failure(now);
            }
        }
    }

    /// Spawns through the standard library: where the kernel refuses the
    /// clone's flags, for a command [`vfork::Program`] cannot hold, or
    /// without a `/dev/null`.
    fn spawn_std(
        &self,
        orphan_guard: bool,
    ) -> std::io::Result<(Proc, std::fs::File, Option<OwnedFd>)> {
        let mut c = self
            .cmd
            .command()
            .ok_or_else(|| std::io::Error::new(ErrorKind::InvalidInput, "an empty command"))?;
        // Its own process group, so a timeout kills what it started too.
        c.stdin(dev_null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        if orphan_guard {
            // SAFETY: prctl is async-signal-safe and only sets the child's
            // own parent-death signal (the bar's one thread spawns every
            // script).
            unsafe {
                c.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let mut child = c.spawn()?;
        let out = child
            .stdout
            .take()
            .map(OwnedFd::from)
            .map(std::fs::File::from);
        let pid = libc::pid_t::try_from(child.id())
            .map_err(|_| std::io::Error::other("a pid out of range"))?;
        // The runner waits for it by pid from here on (dropping a `Child`
        // neither waits nor kills).
        drop(child);
        let Some(out) = out else {
            return Err(std::io::Error::other("no pipe for its stdout"));
        };
        // A fresh pipe's read end has no status flag but O_RDONLY (which
        // F_SETFL leaves alone): no F_GETFL.
        // SAFETY: fcntl on a pipe descriptor we own.
        unsafe { libc::fcntl(out.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        Ok((Proc(pid), out, open_pidfd(pid as u32)))
    }

    fn schedule_after_failure(&mut self, now: Instant) {
        match self.mode {
            Mode::Interval(i) => self.next_run = Some(now + i),
            Mode::Continuous => {
                self.next_run = Some(now + self.restart_delay);
                self.restart_delay = (self.restart_delay * 2).min(Duration::from_secs(60));
            }
        }
    }

    /// Starts a due run, kills one past its timeout, collects an exit.
    /// Returns whether what the module shows changed.
    pub fn on_timer(&mut self, now: Instant) -> bool {
        self.on_timer_within(now, Duration::ZERO)
    }

    /// [`Custom::on_timer`], starting a run due within `early` of `now`
    /// too: the bar handles deadlines that close together in one wakeup.
    pub fn on_timer_within(&mut self, now: Instant, early: Duration) -> bool {
        let before = (self.output.clone(), self.status.clone());
        if self.quiet && self.child.is_some() && now >= self.started + FIRST_LOOK {
            // Still running: watch the pipe too (it may fill), and the
            // next runs from their start. (A quiet run that ended keeps
            // `quiet` until the next start: that one is quiet again.)
            self.quiet = false;
            self.slow = true;
        }
        if self.paused_until.is_some_and(|t| now >= t) {
            // Read again (the fd shows up for the loop once more); the
            // status stays throttled until a quiet second.
            self.paused_until = None;
            self.resumed = true;
        }
        if self.child.is_none() {
            if self.next_run.is_some_and(|t| now + early >= t) {
                self.start(now);
            }
        } else if matches!(self.mode, Mode::Interval(_)) && now >= self.started + self.timeout {
            self.kill();
            self.status = Status::Error(format!(
                "`{}` timed out after {:.1} s",
                self.cmd.display(),
                self.timeout.as_secs_f32()
            ));
            self.schedule_after_failure(now);
        } else if self.reap_at.is_some_and(|t| now >= t) || self.stdout.is_none() {
            self.try_reap(now);
            if self.child.is_some() {
                let waited = now.saturating_duration_since(self.started);
                self.reap_at = Some(if self.stdout.is_none() {
                    // Closed its stdout but still running: look again shortly.
                    now + Duration::from_millis(100)
                } else {
                    // Still printing: look less often the longer it runs.
                    now + waited.clamp(FIRST_LOOK, Duration::from_secs(1))
                });
            }
        }
        (self.output.clone(), self.status.clone()) != before
    }

    /// Reads what the script printed (at most [`READ_BUDGET`] bytes).
    /// Returns whether the module changed.
    pub fn on_readable(&mut self) -> bool {
        self.on_readable_at(Instant::now())
    }

    /// [`Custom::on_readable`] at a given time (tests drive the flood
    /// window with it).
    pub fn on_readable_at(&mut self, now: Instant) -> bool {
        let before = (self.output.clone(), self.status.clone());
        if self.paused_until.is_some() {
            // Only the pidfd is watched meanwhile: the script may have
            // exited (and the pidfd stays readable until it is reaped).
            if self.pidfd.is_some() {
                self.try_reap(now);
            }
            return (self.output.clone(), self.status.clone()) != before;
        }
        if self.fd().is_none() && self.pidfd.is_some() && self.child.is_some() {
            // Only the pidfd is watched (a quiet start): the wakeup is the
            // script's exit. Collected first, so its output is read once the
            // writer is gone: one read that comes back short has it all.
            self.try_reap(now);
            return (self.output.clone(), self.status.clone()) != before;
        }
        if now.saturating_duration_since(self.window) >= Duration::from_secs(1) {
            if self.status == Status::Throttled && self.window_lines <= FLOOD_LINES {
                // A quiet second after a pause: shown normally again.
                self.status = Status::Ok;
            }
            self.window = now;
            self.window_lines = 0;
            self.window_bytes = 0;
        }
        let budget = if std::mem::take(&mut self.resumed) {
            RESUME_BUDGET
        } else {
            READ_BUDGET
        };
        let (eof, read) = self.drain_pipe(budget, false);
        self.window_bytes += read;
        self.apply_last();
        if eof {
            self.close_pipe();
            self.apply_last();
            self.try_reap(now);
        } else if self.pidfd.is_some()
            && self.child.is_some()
            && (read == 0 || matches!(self.mode, Mode::Interval(_)))
        {
            // Woken with nothing to read (the pidfd: the script exited, a
            // background child holding its pipe), or an interval run whose
            // first process may be done while a child still prints.
            self.try_reap(now);
        }
        let flooding = self.window_lines > FLOOD_LINES || self.window_bytes > FLOOD_BYTES;
        if !eof && self.child.is_some() && flooding {
            self.paused_until = Some(now + PAUSE);
            if !matches!(self.status, Status::Error(_)) {
                self.status = Status::Throttled;
            }
        }
        (self.output.clone(), self.status.clone()) != before
    }

    /// Reads the pipe until it would block or `budget` bytes are read;
    /// returns whether it reached EOF, and how much it read. `exited`: the
    /// first process is reaped, so everything it wrote is in the pipe, and
    /// a read that comes back short has taken the rest (what a background
    /// child writes later is not the run's): no second read to see EOF.
    fn drain_pipe(&mut self, budget: usize, exited: bool) -> (bool, usize) {
        let mut chunk = [0u8; 8192];
        let mut read = 0;
        while let Some(out) = self.stdout.as_mut() {
            if read >= budget {
                return (false, read);
            }
            let want = chunk.len().min(budget - read);
            match out.read(&mut chunk[..want]) {
                Ok(0) => return (true, read),
                Ok(n) => {
                    read += n;
                    self.take_bytes(&chunk[..n]);
                    if exited && n < want {
                        return (false, read);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return (false, read),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return (true, read),
            }
        }
        (false, read)
    }

    /// Continuous mode: shows the last whole line read, if a new one came.
    fn apply_last(&mut self) {
        match self.fresh.take() {
            Some(Ok(())) => {
                let last = std::mem::take(&mut self.last);
                let text = String::from_utf8_lossy(&last);
                self.apply(&[text.as_ref()]);
                if self.status == Status::Ok && self.paused_until.is_some() {
                    self.status = Status::Throttled;
                }
                self.last = last;
                if self.last.capacity() > LINE_KEEP {
                    self.last = Vec::new();
                }
            }
            Some(Err(len)) => self.status = Status::Error(too_long(len)),
            None => {}
        }
    }

    /// Closes stdout; a last line without a newline still counts.
    fn close_pipe(&mut self) {
        self.stdout = None;
        // Scripts exit right after their output ends, usually (with a
        // pidfd, the exit itself wakes the loop).
        self.reap_at = match self.pidfd {
            Some(_) => None,
            None => Some(Instant::now() + Duration::from_millis(10)),
        };
        if !self.line.is_empty() || self.skipping {
            self.end_line();
        }
    }

    fn take_bytes(&mut self, mut bytes: &[u8]) {
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            self.push_part(&bytes[..nl]);
            self.end_line();
            bytes = &bytes[nl + 1..];
        }
        self.push_part(bytes);
    }

    /// Adds part of a line, up to [`MAX_LINE`]; past it, only counts.
    fn push_part(&mut self, part: &[u8]) {
        if self.skipping {
            self.skipped += part.len();
            return;
        }
        let room = MAX_LINE.saturating_sub(self.line.len());
        if part.len() > room {
            self.skipping = true;
            self.skipped = self.line.len() + part.len();
            self.line.clear();
        } else {
            self.line.extend_from_slice(part);
        }
    }

    /// A whole line is in `line` (or was over-long): hand it on.
    fn end_line(&mut self) {
        self.window_lines = self.window_lines.saturating_add(1);
        let overlong = self.skipping.then_some(self.skipped);
        self.skipping = false;
        self.skipped = 0;
        match self.mode {
            Mode::Continuous => {
                if let Some(len) = overlong {
                    self.fresh = Some(Err(len));
                } else {
                    std::mem::swap(&mut self.last, &mut self.line);
                    self.fresh = Some(Ok(()));
                }
            }
            Mode::Interval(_) => {
                if let Some(len) = overlong {
                    self.overlong = self.overlong.or(Some(len));
                    if self.lines.len() < 3 {
                        self.lines.push(String::new());
                    }
                } else if self.lines.len() < 3 {
                    self.lines
                        .push(String::from_utf8_lossy(&self.line).into_owned());
                }
            }
        }
        self.line.clear();
        if self.line.capacity() > LINE_KEEP {
            self.line = Vec::with_capacity(1024);
        }
    }

    /// Sets the output from a run's lines (plain) or one line (JSON).
    fn apply(&mut self, lines: &[&str]) {
        match self.format {
            Format::Plain => {
                self.output = Output {
                    text: lines.first().copied().unwrap_or("").to_string(),
                    tooltip: lines.get(1).copied().unwrap_or("").to_string(),
                    class: lines.get(2).copied().unwrap_or("").to_string(),
                    percentage: None,
                };
                self.status = Status::Ok;
            }
            Format::Json => {
                let first = lines.first().copied().unwrap_or("").trim();
                match parse_waybar_json(first) {
                    Ok(o) => {
                        self.output = o;
                        self.status = Status::Ok;
                    }
                    Err(why) => self.status = Status::Error(why),
                }
            }
        }
    }

    fn try_reap(&mut self, now: Instant) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        let status = match child.try_wait() {
            Ok(Some(s)) => s,
            Ok(None) => return,
            Err(e) => {
                self.status = Status::Error(format!("waiting for `{}`: {e}", self.cmd.display()));
                self.child = None;
                self.pidfd = None;
                self.schedule_after_failure(now);
                return;
            }
        };
        if self.stdout.is_some() {
            // Output may still be in the pipe: read it before deciding. (A
            // background child holding the pipe open loses what it writes
            // later: the run is over when its first process is.)
            self.drain_pipe(MAX_LINE, true);
            self.close_pipe();
            self.apply_last();
        }
        self.pidfd = None;
        // A run done within its quiet start lets the next one be quiet.
        self.slow = now.saturating_duration_since(self.started) >= FIRST_LOOK;
        if let Some(pgid) = self.child.take().map(|c| c.0) {
            if group_alive(pgid) {
                self.groups.push(pgid);
            } else {
                super::reaper::forget(pgid);
            }
        }
        match self.mode {
            Mode::Interval(i) => {
                let lines: Vec<String> = std::mem::take(&mut self.lines);
                if let Some(len) = self.overlong.take() {
                    self.status = Status::Error(too_long(len));
                } else if lines.is_empty() {
                    self.status = if status.success() {
                        // An empty answer hides the module, as in Waybar.
                        self.output = Output::default();
                        Status::Ok
                    } else {
                        Status::Error(format!("`{}` {}", self.cmd.display(), describe(status)))
                    };
                } else {
                    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
                    self.apply(&refs);
                }
                // On the grid of due times (a late timer does not push
                // every later run back); at once when a run overran it.
                self.next_run = Some(self.due + i).filter(|t| *t > now).or(Some(now));
            }
            Mode::Continuous => {
                self.status = Status::Error(format!(
                    "`{}` {}; restarting in {} s",
                    self.cmd.display(),
                    describe(status),
                    self.restart_delay.as_secs()
                ));
                self.schedule_after_failure(now);
            }
        }
    }

    fn kill(&mut self) {
        self.pidfd = None;
        if let Some(child) = self.child.take() {
            let pgid = child.0;
            // SAFETY: signals the process group we created for this child.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            super::reaper::forget(pgid);
            child.kill_and_wait();
        }
        self.stdout = None;
        self.paused_until = None;
    }

    /// Forgets groups of past runs that have no member left.
    fn prune_groups(&mut self) {
        self.groups.retain(|&g| {
            let alive = group_alive(g);
            if !alive {
                super::reaper::forget(g);
            }
            alive
        });
    }

    /// Kills the running script's group and what past runs left behind.
    pub fn kill_all(&mut self) {
        self.kill();
        for g in self.groups.drain(..) {
            // SAFETY: signals a group this runner created; a group with a
            // live member keeps its id, so it cannot name someone else's.
            unsafe { libc::kill(-g, libc::SIGKILL) };
            super::reaper::forget(g);
        }
    }
}

impl Drop for Custom {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// How long an interval run may go before the runner first looks whether its
/// first process exited while something else holds the pipe.
const FIRST_LOOK: Duration = Duration::from_millis(50);

/// `statfs.f_type` of the pidfd file system (Linux 6.9 and later).
const PIDFS_MAGIC: i64 = 0x5049_4446;

/// A pidfd for `pid`, readable once it exits; `None` where there is none
/// (`pidfd_open` is Linux 5.3: ENOSYS before) or where pidfds are not on
/// pidfs (before Linux 6.9 they all share one anonymous inode, and the bar
/// tells a watched descriptor from a newer one with the same number by its
/// inode): the caller falls back to its reap timers.
pub fn open_pidfd(pid: u32) -> Option<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: pidfd_open(2) with a pid and no flags; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = RawFd::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    on_pidfs(&fd).then_some(fd)
}

/// Whether pidfds live on pidfs: a property of the running kernel, so the
/// first pidfd's `fstatfs` answers for every later one (one system call
/// less per script run).
fn on_pidfs(fd: &OwnedFd) -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    // 0: not known yet, 1: on pidfs, 2: not.
    static KNOWN: AtomicU8 = AtomicU8::new(0);
    match KNOWN.load(Ordering::Relaxed) {
        1 => return true,
        2 => return false,
        _ => {}
    }
    // SAFETY: fstatfs writes into the zeroed struct we pass, for an open fd.
    let (answered, yes) = unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        let r = libc::fstatfs(fd.as_raw_fd(), &mut st);
        (r == 0, r == 0 && st.f_type as i64 == PIDFS_MAGIC)
    };
    // A failed fstatfs (no memory, say) says nothing about the kernel: ask
    // again next time.
    if answered {
        KNOWN.store(if yes { 1 } else { 2 }, Ordering::Relaxed);
    }
    yes
}

/// The script's stdin: a copy of one `/dev/null` descriptor opened once
/// (a `dup` instead of a path lookup and open per run); a fresh
/// `Stdio::null()` if that cannot be had.
fn dev_null() -> Stdio {
    dev_null_fd()
        .and_then(|f| f.try_clone().ok())
        .map_or_else(Stdio::null, Stdio::from)
}

/// `/dev/null`, opened once for every run's stdin.
fn dev_null_fd() -> Option<&'static std::fs::File> {
    static NULL: std::sync::OnceLock<Option<std::fs::File>> = std::sync::OnceLock::new();
    NULL.get_or_init(|| std::fs::File::open("/dev/null").ok())
        .as_ref()
}

/// A running script's first process, waited for by pid (the group leader:
/// its pid is its group's id).
struct Proc(libc::pid_t);

impl Proc {
    fn id(&self) -> u32 {
        self.0 as u32
    }

    /// Its exit status once it has exited, without waiting.
    fn try_wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        use std::os::unix::process::ExitStatusExt;
        let mut status = 0;
        loop {
            // SAFETY: waitpid on our own child with a valid out-pointer.
            let r = unsafe { libc::waitpid(self.0, &mut status, libc::WNOHANG) };
            if r == 0 {
                return Ok(None);
            }
            if r == self.0 {
                return Ok(Some(ExitStatus::from_raw(status)));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != ErrorKind::Interrupted {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("waitpid {}: {e}", self.0),
                ));
            }
        }
    }

    /// Kills it and collects it (at once: SIGKILL cannot be caught).
    fn kill_and_wait(self) {
        // SAFETY: signals and waits for our own child, which has not been
        // collected yet (a collected `Proc` is dropped, not kept).
        unsafe {
            libc::kill(self.0, libc::SIGKILL);
            let mut status = 0;
            while libc::waitpid(self.0, &mut status, 0) < 0
                && std::io::Error::last_os_error().kind() == ErrorKind::Interrupted
            {}
        }
    }
}

/// Whether process group `pgid` still has a member.
fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only checks for existence and permission.
    unsafe { libc::kill(-pgid, 0) == 0 }
}

fn too_long(len: usize) -> String {
    format!(
        "printed a line of {} KiB, over the {} KiB limit; it was dropped",
        len / 1024,
        MAX_LINE / 1024
    )
}

fn describe(s: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        _ => "exited".into(),
    }
}

/// Parses one line of Waybar's JSON protocol. `text` may be a string or a
/// number; `class` a string or an array of strings; `percentage` 0–100.
pub fn parse_waybar_json(line: &str) -> Result<Output, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| {
        let shown: String = line.chars().take(40).collect();
        format!("output is not JSON ({e}): {shown:?}")
    })?;
    let Value::Object(o) = v else {
        return Err("output is JSON but not an object with a \"text\"".into());
    };
    let text_of = |k: &str| match o.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let class = match o.get("class") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    Ok(Output {
        text: text_of("text"),
        tooltip: text_of("tooltip"),
        class,
        percentage: o
            .get("percentage")
            .and_then(Value::as_f64)
            .map(|p| p.clamp(0.0, 100.0).round() as u8),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waybar_json_shapes() {
        let o = parse_waybar_json(
            r#"{"text": "42°", "tooltip": "t", "class": ["warn", "x"], "percentage": 42.4}"#,
        )
        .unwrap();
        assert_eq!(
            o,
            Output {
                text: "42°".into(),
                tooltip: "t".into(),
                class: "warn x".into(),
                percentage: Some(42)
            }
        );
        assert_eq!(parse_waybar_json(r#"{"text": 7}"#).unwrap().text, "7");
        assert_eq!(
            parse_waybar_json(r#"{"percentage": 400}"#)
                .unwrap()
                .percentage,
            Some(100)
        );
        assert!(parse_waybar_json("not json")
            .unwrap_err()
            .contains("not JSON"));
        assert!(parse_waybar_json("[1]").is_err());
    }
}

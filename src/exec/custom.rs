//! The custom module's script runner: a command run every interval, or a
//! long-running one whose output lines update the module, speaking plain
//! text or Waybar's JSON, so Waybar scripts come along unchanged.
//!
//! Nothing blocks: stdout is a non-blocking pipe read when the event loop
//! says so, exits are collected with `try_wait`, a run past its timeout is
//! killed with its whole process group. Lines are capped, so a script that
//! prints a megabyte without a newline costs at most [`MAX_LINE`] bytes.

use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdout, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::CommandLine;

/// The longest output line kept; the rest of a longer line is dropped.
pub const MAX_LINE: usize = 64 * 1024;

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
}

/// One custom module's script.
pub struct Custom {
    cmd: CommandLine,
    mode: Mode,
    format: Format,
    timeout: Duration,
    child: Option<Child>,
    stdout: Option<ChildStdout>,
    started: Instant,
    next_run: Option<Instant>,
    /// When to look for the exit of a script whose stdout has closed.
    reap_at: Option<Instant>,
    restart_delay: Duration,
    line: Vec<u8>,
    /// Dropping the rest of an over-long line.
    skipping: bool,
    /// Interval mode: the lines of this run (at most three matter).
    lines: Vec<String>,
    pub output: Output,
    pub status: Status,
}

impl Custom {
    /// A runner that starts on the first [`Custom::on_timer`]. `timeout`
    /// bounds an interval run.
    pub fn new(cmd: CommandLine, mode: Mode, format: Format, timeout: Duration) -> Custom {
        Custom {
            cmd,
            mode,
            format,
            timeout,
            child: None,
            stdout: None,
            started: Instant::now(),
            next_run: Some(Instant::now()),
            reap_at: None,
            restart_delay: Duration::from_secs(1),
            line: Vec::with_capacity(1024),
            skipping: false,
            lines: Vec::new(),
            output: Output::default(),
            status: Status::Waiting,
        }
    }

    /// The pipe to watch for readability, while a run is going.
    pub fn fd(&self) -> Option<RawFd> {
        self.stdout.as_ref().map(|s| s.as_raw_fd())
    }

    /// The pid of the running script, if any.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// When [`Custom::on_timer`] next needs to run.
    pub fn next_deadline(&self) -> Option<Instant> {
        match (&self.child, self.mode) {
            // Output is over: collect the exit soon (an interval run is still
            // bounded by its timeout).
            (Some(_), mode) if self.stdout.is_none() => {
                let reap = self.reap_at.unwrap_or(self.started);
                match mode {
                    Mode::Interval(_) => Some(reap.min(self.started + self.timeout)),
                    Mode::Continuous => Some(reap),
                }
            }
            (Some(_), Mode::Interval(_)) => Some(self.started + self.timeout),
            (Some(_), Mode::Continuous) => None,
            (None, _) => self.next_run,
        }
    }

    fn start(&mut self, now: Instant) {
        self.next_run = None;
        self.lines.clear();
        self.line.clear();
        self.skipping = false;
        let Some(mut c) = self.cmd.command() else {
            self.status = Status::Error("an empty command".into());
            return;
        };
        // Its own process group, so a timeout kills what it started too.
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0);
        match c.spawn() {
            Ok(mut child) => {
                let out = child.stdout.take();
                if let Some(o) = &out {
                    // SAFETY: fcntl on a pipe descriptor we own.
                    unsafe {
                        let fl = libc::fcntl(o.as_raw_fd(), libc::F_GETFL);
                        libc::fcntl(o.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
                    }
                }
                self.stdout = out;
                self.child = Some(child);
                self.started = now;
            }
            Err(e) => {
                self.status = Status::Error(format!("cannot run `{}`: {e}", self.cmd.display()));
                self.schedule_after_failure(now);
            }
        }
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
        let before = (self.output.clone(), self.status.clone());
        if self.child.is_none() {
            if self.next_run.is_some_and(|t| now >= t) {
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
        } else {
            self.try_reap(now);
            if self.child.is_some() && self.stdout.is_none() {
                // Closed its stdout but still running: look again shortly.
                self.reap_at = Some(now + Duration::from_millis(100));
            }
        }
        (self.output.clone(), self.status.clone()) != before
    }

    /// Reads what the script printed. Returns whether the module changed.
    pub fn on_readable(&mut self) -> bool {
        let before = (self.output.clone(), self.status.clone());
        if self.drain_pipe() {
            self.close_pipe();
            self.try_reap(Instant::now());
        }
        (self.output.clone(), self.status.clone()) != before
    }

    /// Reads the pipe until it would block; returns whether it reached EOF.
    fn drain_pipe(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        while let Some(out) = self.stdout.as_mut() {
            match out.read(&mut chunk) {
                Ok(0) => return true,
                Ok(n) => self.take_bytes(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return true,
            }
        }
        false
    }

    /// Closes stdout; a last line without a newline still counts.
    fn close_pipe(&mut self) {
        self.stdout = None;
        // Scripts exit right after their output ends, usually.
        self.reap_at = Some(Instant::now() + Duration::from_millis(10));
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.finish_line(&line);
        }
    }

    fn take_bytes(&mut self, mut bytes: &[u8]) {
        while let Some(nl) = bytes.iter().position(|&b| b == b'\n') {
            if !self.skipping {
                let room = MAX_LINE.saturating_sub(self.line.len());
                self.line.extend_from_slice(&bytes[..nl.min(room)]);
            }
            let line = std::mem::take(&mut self.line);
            self.finish_line(&line);
            self.line = line;
            self.line.clear();
            self.skipping = false;
            bytes = &bytes[nl + 1..];
        }
        if !self.skipping {
            let room = MAX_LINE.saturating_sub(self.line.len());
            self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
            self.skipping = self.line.len() >= MAX_LINE;
        }
    }

    fn finish_line(&mut self, raw: &[u8]) {
        let text = String::from_utf8_lossy(raw);
        match self.mode {
            Mode::Continuous => self.apply(&[text.as_ref()]),
            Mode::Interval(_) => {
                if self.lines.len() < 3 {
                    self.lines.push(text.into_owned());
                }
            }
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
                self.schedule_after_failure(now);
                return;
            }
        };
        if self.stdout.is_some() {
            // Output may still be in the pipe: read it before deciding. (A
            // grandchild holding the pipe open loses what it writes later.)
            self.drain_pipe();
            self.close_pipe();
        }
        self.child = None;
        match self.mode {
            Mode::Interval(i) => {
                let lines: Vec<String> = std::mem::take(&mut self.lines);
                if lines.is_empty() {
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
                self.next_run = Some(self.started + i).filter(|t| *t > now).or(Some(now));
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
        if let Some(mut child) = self.child.take() {
            if let Ok(pgid) = i32::try_from(child.id()) {
                // SAFETY: signals the process group we created for this child.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
            }
            let _ = child.kill();
            // The child was just killed: this wait returns at once.
            let _ = child.wait();
        }
        self.stdout = None;
    }
}

impl Drop for Custom {
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

//! strace attached to a running thread or process, for tests that count
//! the system calls something makes.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running strace writing to a log file.
pub struct Strace {
    child: Child,
    log: PathBuf,
}

impl Strace {
    /// Attaches to `pid` (a thread id or a process id), tracing `filter`
    /// (strace's `-e`, or every call when `None`) into `log`. `None`, with
    /// the skip (or the `RSTAT_REQUIRE_E2E` failure) said, when strace is
    /// missing or cannot attach.
    pub fn attach(pid: i32, filter: Option<&str>, log: &Path) -> Option<Strace> {
        if !super::need(super::have("strace"), "this test needs `strace`") {
            return None;
        }
        let mut cmd = Command::new("strace");
        if let Some(f) = filter {
            cmd.args(["-e", f]);
        }
        let mut child = cmd
            .arg("-o")
            .arg(log)
            .args(["-p", &pid.to_string()])
            .stderr(Stdio::piped())
            .spawn()
            .expect("start strace");
        // strace says on stderr when it is attached (or why it cannot be).
        let mut err = BufReader::new(child.stderr.take().expect("strace stderr"));
        let mut first = String::new();
        let _ = err.read_line(&mut first);
        if !first.contains("attached") {
            let _ = child.kill();
            let _ = child.wait();
            super::need(false, &format!("strace cannot attach here: {first}"));
            return None;
        }
        Some(Strace {
            child,
            log: log.to_path_buf(),
        })
    }

    /// Detaches and returns the log.
    pub fn stop(mut self) -> String {
        // SAFETY: SIGINT to the strace we started: it detaches and exits.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.log).expect("read the strace log");
        let _ = std::fs::remove_file(&self.log);
        text
    }
}

/// How many calls in strace's `log` are to one of `names`.
pub fn calls(log: &str, names: &[&str]) -> usize {
    log.lines()
        .filter(|l| names.iter().any(|n| l.starts_with(&format!("{n}("))))
        .count()
}

/// How many `futex` calls in `log` woke every waiter (`FUTEX_WAKE` of
/// `i32::MAX`): a condition variable's `notify_all`, which is what dropping
/// wayland-backend's read guard makes.
pub fn futex_wake_alls(log: &str) -> usize {
    log.lines()
        .filter(|l| l.starts_with("futex(") && l.contains("FUTEX_WAKE") && l.contains("2147483647"))
        .count()
}

/// How many `recvmsg` calls in `log` returned something (not `EAGAIN`).
pub fn socket_reads(log: &str) -> usize {
    log.lines()
        .filter(|l| l.starts_with("recvmsg(") && !l.contains("EAGAIN"))
        .count()
}

/// How many stat calls in `log` asked about a descriptor (`fstat(fd)`, or
/// `newfstatat`/`statx` of a descriptor with an empty path), leaving out
/// lookups by path: glibc's `localtime` checks `/etc/localtime` by name once
/// a minute when the clock formats its minute, which is no descriptor.
pub fn descriptor_stats(log: &str) -> usize {
    log.lines()
        .filter(|l| {
            l.starts_with("fstat(")
                || ((l.starts_with("newfstatat(") || l.starts_with("statx("))
                    && !l.contains("AT_FDCWD"))
        })
        .count()
}

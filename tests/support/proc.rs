//! Processes for the end-to-end tests: commands with a deadline, polling with a
//! deadline, children that are killed when the test lets go of them, and the
//! `/proc` figures the cost benchmark reports.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// What a finished command printed.
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Runs `cmd` to completion, but never longer than `timeout`: a compositor that
/// stopped answering must fail the test with a message, not hang the run.
/// stdout and stderr are drained by threads while we wait, because a full pipe
/// (a 6 MB screenshot, a large tree) would otherwise block the child forever.
pub fn run(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let out = drain(child.stdout.take().expect("stdout was piped"));
    let err = drain(child.stderr.take().expect("stderr was piped"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} did not finish within {timeout:?}"));
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for {what}: {e}")),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err.join().unwrap_or_default()).into_owned();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

/// Polls `f` every 25 ms until it gives `Some`, or `None` after `timeout`.
/// Tests wait for real state (a socket, a mapped surface, a pixel) this way
/// instead of sleeping a fixed time that is either too long or too short.
pub fn wait_for<T>(timeout: Duration, f: impl FnMut() -> Option<T>) -> Option<T> {
    poll_every(Duration::from_millis(25), timeout, f)
}

/// [`wait_for`] with a chosen polling interval, for timing measurements.
pub fn poll_every<T>(
    interval: Duration,
    timeout: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(interval);
    }
}

/// A child process that is killed (SIGKILL) and reaped when dropped, so a
/// failing assertion never leaves a bar or a client running. Its stderr goes
/// to a file so that a test can quote it after the fact.
pub struct Guarded {
    pub child: Child,
    pub name: String,
    pub stderr_path: PathBuf,
    status: Option<ExitStatus>,
}

impl Guarded {
    /// Spawns `cmd` with stdout discarded and stderr written to `stderr_path`.
    pub fn spawn(name: &str, cmd: &mut Command, stderr_path: &Path) -> Guarded {
        let log = File::create(stderr_path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", stderr_path.display()));
        die_with_parent(cmd);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Guarded {
            child,
            name: name.to_string(),
            stderr_path: stderr_path.to_path_buf(),
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (e.g. `libc::SIGUSR1`) unless the process has ended.
    pub fn signal(&mut self, signal: i32) {
        if self.exited().is_none() {
            // SAFETY: kill(2) on our own unreaped child: the pid is still ours.
            unsafe { libc::kill(self.child.id() as i32, signal) };
        }
    }

    /// The exit status if the process has ended (it is reaped then).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `timeout` for the process to end on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        wait_for(timeout, || self.exited())
    }

    /// Everything the process has written to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read(&self.stderr_path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Panics with the process's stderr if it has exited: used right before
    /// an assertion that only makes sense while it runs.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.exited() {
            panic!(
                "{} exited unexpectedly ({status}); its stderr:\n{}",
                self.name,
                self.stderr()
            );
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Makes the child get SIGKILL when the thread that spawned it ends, so that
/// even a test run killed from outside (a CI timeout) leaves no compositor or
/// bar behind: Drop guards only run when the test process unwinds.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child, after
    // fork and after any uid change (which would clear the setting).
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// CPU time and memory of one process from `/proc`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcCost {
    /// utime + stime of the process itself, plus cutime + cstime of its reaped
    /// children, in clock ticks.
    pub cpu_ticks: u64,
    /// Resident set now (VmRSS) and its peak (VmHWM), in KiB.
    pub rss_kib: u64,
    pub hwm_kib: u64,
    /// The anonymous part of the resident set (RssAnon), in KiB: heap and
    /// stacks, without pages of the binary and mapped files faulted in for
    /// the first time.
    pub anon_kib: u64,
}

/// Reads `/proc/PID/stat` and `/proc/PID/status`; `None` once the process is gone.
pub fn proc_cost(pid: u32) -> Option<ProcCost> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: the
    // fields after it start behind the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime..cstime are fields 14..17.
    let tick = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    let cpu_ticks = tick(14)? + tick(15)? + tick(16)? + tick(17)?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some(ProcCost {
        cpu_ticks,
        rss_kib: kib("VmRSS:"),
        hwm_kib: kib("VmHWM:"),
        anon_kib: kib("RssAnon:"),
    })
}

/// The live descendants of `pid` (children, grandchildren, ...), from the
/// parent links in `/proc/*/stat`.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                continue;
            };
            let Some(close) = stat.rfind(')') else {
                continue;
            };
            let ppid = stat[close + 2..]
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((p, ppid));
            }
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(p, pp) in &parent_of {
            if pp == parent && !found.contains(&p) {
                found.push(p);
                frontier.push(p);
            }
        }
    }
    found
}

/// Clock ticks per second for the `/proc/PID/stat` times.
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as u64
    } else {
        100
    }
}

/// Nanoseconds on a CPU of all live threads of `pid`
/// (`/proc/PID/task/*/schedstat`, first field). Finer than the clock ticks of
/// `/proc/PID/stat` (10 ms each), which matters for a bar that uses a few
/// milliseconds a minute; threads that ended are not counted.
pub fn sched_ns(pid: u32) -> Option<u64> {
    let mut total = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
    {
        let s = std::fs::read_to_string(t.path().join("schedstat")).unwrap_or_default();
        total += s
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Some(total)
}

/// Turns on the kernel's run-time accounting of BPF programs for as long as
/// the returned descriptor lives (`BPF_ENABLE_STATS`). Unlike the
/// `kernel.bpf_stats_enabled` sysctl, this is reference-counted: it cannot
/// switch off anybody else's accounting. `None` without CAP_SYS_ADMIN or on
/// kernels without it.
pub fn enable_bpf_stats() -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    const BPF_ENABLE_STATS: libc::c_long = 32;
    // union bpf_attr { struct { __u32 type; } enable_stats; ... }, type 0 =
    // BPF_STATS_RUN_TIME; the rest of the attribute must be zero.
    let attr = [0u8; 16];
    // SAFETY: bpf(2) reads `attr.len()` bytes from a live buffer.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_ENABLE_STATS,
            attr.as_ptr(),
            attr.len() as libc::c_uint,
        )
    };
    // SAFETY: a non-negative return is a new descriptor we now own.
    (fd >= 0).then(|| unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Total `run_time_ns` and `run_cnt` of the BPF programs whose descriptors
/// `pid` holds (`/proc/PID/fdinfo`): the in-kernel time of its probes, which
/// runs in other tasks' context and so is not in its own CPU time. Counts
/// only while accounting is on ([`enable_bpf_stats`]).
pub fn bpf_run(pid: u32) -> (u64, u64) {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return (0, 0);
    };
    let field = |info: &str, key: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|info| Some((field(&info, "run_time_ns:")?, field(&info, "run_cnt:")?)))
        .fold((0, 0), |(ns, n), (a, b)| (ns + a, n + b))
}

/// The machine's context switches so far (`ctxt` in `/proc/stat`): a
/// sched_switch probe's cost is proportional to their rate.
pub fn context_switches() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("ctxt "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

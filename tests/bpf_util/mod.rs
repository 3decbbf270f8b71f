//! Shared by the `bpf_*` integration tests: a helper child (the test binary
//! re-run as a known load) and `/proc` truth readers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Env var that turns a run of the test binary into a helper load.
pub const HELPER_ENV: &str = "RSTAT_BPF_HELPER";

/// A helper child: the current test binary running its ignored `helper`
/// test with `RSTAT_BPF_HELPER=<spec>`. It prints "ready" when its load is
/// in place, waits for a line on stdin where the spec says so, and is
/// killed on drop.
pub struct Helper {
    pub child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Helper {
    pub fn spawn(spec: &str) -> Helper {
        let mut child = Command::new(std::env::current_exe().expect("current exe"))
            .args([
                "--exact",
                "helper",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(HELPER_ENV, spec)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn helper");
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("helper stdout"));
        Helper {
            child,
            stdin,
            stdout,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the helper to print `word` on a line of its own.
    pub fn wait_for(&mut self, word: &str) {
        let mut line = String::new();
        loop {
            line.clear();
            let n = self
                .stdout
                .read_line(&mut line)
                .expect("read helper stdout");
            assert!(n > 0, "helper exited before printing {word:?}");
            if line.trim() == word {
                return;
            }
        }
    }

    /// Sends one line to the helper.
    pub fn tell(&mut self, line: &str) {
        let s = self.stdin.as_mut().expect("helper stdin");
        writeln!(s, "{line}").expect("write helper stdin");
        s.flush().expect("flush helper stdin");
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn say(word: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{word}");
    let _ = out.flush();
}

fn wait_line() {
    let mut s = String::new();
    let _ = std::io::stdin().read_line(&mut s);
}

fn burn_for(d: Duration) {
    let end = Instant::now() + d;
    let mut x = 0u64;
    while Instant::now() < end {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// The helper loads, selected by `spec`:
/// - `burn:N`: N threads spin until killed.
/// - `rss:MiB`: touch MiB of heap, say ready, sleep.
/// - `io:PATH:MiB`: say ready, wait for a line, write MiB to PATH with
///   O_DIRECT, say done, sleep.
pub fn run_helper() {
    let Ok(spec) = std::env::var(HELPER_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split(':').collect();
    match parts[0] {
        "burn" => {
            let n: usize = parts[1].parse().expect("thread count");
            // Each burner sleeps once before it spins, and "ready" comes
            // after all of them did: the sched_switch collector records a
            // thread when it switches out, and a thread spinning since its
            // start on an otherwise idle CPU may not switch out for
            // seconds, so a test's first reading would miss it and the
            // next would count its whole life as the window's.
            let slept = std::sync::Arc::new(std::sync::Barrier::new(n.max(1)));
            for _ in 1..n {
                let slept = slept.clone();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(1));
                    slept.wait();
                    loop {
                        burn_for(Duration::from_secs(3600));
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(1));
            slept.wait();
            say("ready");
            loop {
                burn_for(Duration::from_secs(3600));
            }
        }
        "rss" => {
            let mib: usize = parts[1].parse().expect("MiB");
            let mut v = vec![0u8; mib << 20];
            for i in (0..v.len()).step_by(4096) {
                v[i] = 1;
            }
            std::hint::black_box(&v);
            say("ready");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        "io" => {
            use std::os::unix::fs::OpenOptionsExt;
            let path = parts[1];
            let mib: usize = parts[2].parse().expect("MiB");
            let layout = std::alloc::Layout::from_size_align(1 << 20, 4096).expect("layout");
            // SAFETY: the layout has a non-zero size; the buffer is freed never
            // (the helper is killed), and is only written through below.
            let buf = unsafe { std::alloc::alloc_zeroed(layout) };
            assert!(!buf.is_null());
            // SAFETY: buf points to 1 MiB we just allocated.
            let chunk = unsafe { std::slice::from_raw_parts(buf, 1 << 20) };
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .custom_flags(libc::O_DIRECT)
                .open(path)
                .expect("open O_DIRECT");
            say("ready");
            wait_line();
            for _ in 0..mib {
                f.write_all(chunk).expect("O_DIRECT write");
            }
            say("done");
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        other => panic!("unknown helper {other}"),
    }
}

/// Sum of `se.sum_exec_runtime` over the live threads of `pid`
/// (`/proc/PID/task/*/schedstat`, in ns).
pub fn proc_cpu_ns(pid: u32) -> u64 {
    let mut sum = 0;
    if let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in rd.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("schedstat")) {
                sum += s
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    sum
}

/// Resident bytes from `/proc/PID/statm`.
pub fn proc_rss_bytes(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/statm")).expect("statm");
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("statm resident");
    pages * page_size()
}

/// `(read_bytes, write_bytes)` from `/proc/PID/io`.
pub fn proc_io(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/io")).expect("/proc/PID/io");
    let get = |k: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .expect("io field")
    };
    (get("read_bytes:"), get("write_bytes:"))
}

pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_PAGESIZE) as u64 }
}

/// Online CPUs.
pub fn cores() -> u32 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) as u32 }
}

/// `(busy, total)` jiffies from `/proc/stat`'s `cpu` line; busy is all but
/// idle and iowait.
pub fn proc_stat_busy() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
    let line = s.lines().next().expect("cpu line");
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest is inside user).
    let total: u64 = v.iter().take(8).sum();
    (total - v[3] - v[4], total)
}

/// Monotonic time in ns.
pub fn now_ns() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The two BPF collectors the accuracy tests run against, the same checks
/// for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The `sched_switch` probe (`--collector bpf`).
    Bpf,
    /// The task iterator (`--collector iter`).
    Iter,
}

/// An open collector of either kind, with the per-process totals both keep.
pub enum Src {
    Bpf(rstat::collect::bpf::BpfSource),
    Iter(rstat::collect::bpf::IterSource),
}

impl Src {
    /// Loads the collector (panics with the reason when it cannot).
    pub fn open(kind: Kind) -> Src {
        match kind {
            Kind::Bpf => Src::Bpf(rstat::collect::bpf::open_bpf().expect("open bpf")),
            Kind::Iter => Src::Iter(rstat::collect::bpf::open_iter().expect("open iter")),
        }
    }

    pub fn collect(
        &mut self,
        elapsed_ns: u64,
        cores: u32,
        out: &mut rstat::collect::Sample,
    ) -> Result<(), rstat::collect::Error> {
        use rstat::collect::ProcessSource;
        match self {
            Src::Bpf(s) => s.collect(elapsed_ns, cores, out),
            Src::Iter(s) => s.collect(elapsed_ns, cores, out),
        }
    }

    /// Cumulative figures of process `tgid` as of the last collect.
    pub fn process(&self, tgid: u32) -> Option<rstat::collect::bpf::ProcessTotals> {
        match self {
            Src::Bpf(s) => s.process(tgid),
            Src::Iter(s) => s.process(tgid),
        }
    }

    /// Into a boxed process source (for a full `Sampler`).
    pub fn boxed(self) -> Box<dyn rstat::collect::ProcessSource> {
        match self {
            Src::Bpf(s) => Box::new(s),
            Src::Iter(s) => Box::new(s),
        }
    }
}

/// Forks a child that burns `ms` of CPU and exits; waits for it.
pub fn fork_burner(ms: u64) {
    // SAFETY: the child only calls async-signal-safe functions
    // (clock_gettime, _exit) before exiting, as required after fork in a
    // multi-threaded process.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
            let start = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
            loop {
                libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
                let now = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
                if now - start >= ms * 1_000_000 {
                    break;
                }
            }
            libc::_exit(0);
        }
        assert!(pid > 0, "fork failed");
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
}

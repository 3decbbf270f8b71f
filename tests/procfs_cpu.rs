//! The procfs collector against the running kernel: CPU shares and names.
//! Tests here measure system CPU, so they take a lock to run one at a time.

mod common;

use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rstat::collect::procfs::ProcfsSource;
use rstat::collect::{Roots, Sample, Sampler};

static QUIET: Mutex<()> = Mutex::new(());

fn burn(d: Duration) {
    let t = Instant::now();
    let mut x = 0u64;
    while t.elapsed() < d {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// This process's CPU time so far, from the kernel's own clock for it.
fn own_cpu_ns() -> u64 {
    // SAFETY: clock_gettime only writes the timespec we own.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid clock id and pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// A busy thread's share is measured against what the kernel says this
/// process used over the same window, not against a whole core: on a loaded
/// machine (a build beside the tests) the thread gets less than a core and
/// another process may lead the list.
#[test]
fn one_busy_thread_shows_its_share_in_top_cpu_and_in_the_system_figure() {
    let _g = QUIET.lock().unwrap_or_else(|e| e.into_inner());
    let roots = Roots::default();
    let mut sampler = Sampler::new(&roots, Box::new(ProcfsSource::open(&roots).unwrap())).unwrap();
    let mut s = Sample::default();
    // A moment's neighbour can still push this process out of the top list;
    // a few attempts tell that from a wrong figure.
    let mut seen = Vec::new();
    for _ in 0..4 {
        sampler.sample(&mut s).unwrap();
        let c0 = own_cpu_ns();
        std::thread::spawn(|| burn(Duration::from_secs(1)))
            .join()
            .unwrap();
        let c1 = own_cpu_ns();
        sampler.sample(&mut s).unwrap();
        assert!(s.interval_ns >= 1_000_000_000);
        let truth = (c1 - c0) as f64 * 100.0 / (s.interval_ns as f64 * f64::from(s.cores));
        assert!(truth > 10.0, "the burner ran ({truth:.1}%)");
        let mine = s
            .top_cpu
            .as_slice()
            .iter()
            .find(|p| p.pid == std::process::id())
            .map(|p| f64::from(p.cpu_percent));
        if let Some(mine) = mine {
            if (mine - truth).abs() <= 10.0 && f64::from(s.cpu_percent) >= truth - 10.0 {
                return;
            }
        }
        seen.push((truth, mine, s.cpu_percent, s.top_cpu.as_slice()[0]));
    }
    panic!(
        "a busy thread's share (kernel's clock, top_cpu, system, top) of {} cores: {seen:?}",
        s.cores
    );
}

/// Forks a child that names itself `name` and spins for `secs`; only
/// async-signal-safe calls happen in the child.
fn spinning_child(name: &'static [u8], secs: i64) -> libc::pid_t {
    // SAFETY: the child only calls prctl, clock_gettime and _exit, all
    // async-signal-safe, so forking a multi-threaded test process is sound.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            libc::prctl(libc::PR_SET_NAME, name.as_ptr());
            let mut t0: libc::timespec = std::mem::zeroed();
            libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t0);
            let mut now = t0;
            while now.tv_sec - t0.tv_sec < secs {
                libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now);
            }
            libc::_exit(0);
        }
        pid
    }
}

fn reap(pid: libc::pid_t) {
    // SAFETY: plain syscalls on our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
}

#[test]
fn names_with_any_bytes_come_out_as_valid_json() {
    let _g = QUIET.lock().unwrap_or_else(|e| e.into_inner());
    let quoted = spinning_child("a\"b\\c\n\u{1f600}\0".as_bytes(), 10);
    let invalid = spinning_child(b"\xff\xfe\t\x01x)(y\0", 10);
    std::thread::sleep(Duration::from_millis(100));
    let out = Command::new(common::rstat_bin())
        .args(["--once", "--collector", "procfs", "--interval-ms", "500"])
        .output()
        .expect("running rstat --once");
    reap(quoted);
    reap(invalid);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let top = v["top_cpu"].as_array().expect("top_cpu");
    let name_of = |pid: libc::pid_t| {
        top.iter()
            .find(|p| p["pid"].as_u64() == Some(pid as u64))
            .and_then(|p| p["name"].as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("spinning child {pid} not in top_cpu: {top:?}"))
    };
    assert_eq!(name_of(quoted), "a\"b\\c\n\u{1f600}");
    assert_eq!(name_of(invalid), "\u{fffd}\u{fffd}\t\u{1}x)(y");
}

#[test]
fn processes_exiting_mid_walk_are_skipped_silently() {
    let _g = QUIET.lock().unwrap_or_else(|e| e.into_inner());
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = Command::new("true").status();
                n += 1;
            }
            n
        })
    };
    let roots = Roots::default();
    let mut sampler = Sampler::new(&roots, Box::new(ProcfsSource::open(&roots).unwrap())).unwrap();
    let mut s = Sample::default();
    for _ in 0..100 {
        sampler
            .sample(&mut s)
            .expect("a walk racing exits must not fail");
        assert!(s.tasks > 0);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let spawned = churn.join().unwrap();
    assert!(spawned > 10, "only {spawned} processes came and went");
}

//! Dropping privilege after the probe is attached: no capability is left
//! in any set, no_new_privs is on, and the collector still reads its maps
//! (Linux ≥ 6.5 needs no CAP_BPF for that; see `bpf_reads_need_cap`).
//!
//! The same for the task-iterator collector, which must create a new
//! iterator from its held link every tick: on this kernel (6.18)
//! `BPF_ITER_CREATE` checks no capability (kernel/bpf/syscall.c,
//! `bpf_iter_create`, and since 6.5 no blanket check in `bpf()` either), and
//! reading the iterator runs the already-verified program. So it keeps
//! working with every capability gone; only loading a new program fails.
//!
//! `drop_privileges` is per thread and refuses to run in a multi-threaded
//! process, so each check runs in a forked child (single-threaded by
//! construction); the test harness's threads are untouched.

mod common;

use rstat::collect::bpf;
use rstat::collect::privilege::{bpf_reads_need_cap, drop_privileges};
use rstat::collect::{ProcessSource, Sample};

/// Status fields of this process as (name, value) pairs.
fn status_field(status: &str, key: &str) -> Option<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
}

/// Runs `f` in a forked child; returns its exit code.
fn in_child(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: fork in a multi-threaded process: the child runs only `f`
    // (glibc keeps malloc usable in the child) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
        // SAFETY: leaving the child without running the parent's atexit state.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "child died: {status:#x}");
    libc::WEXITSTATUS(status)
}

#[test]
fn drops_everything_and_still_reads_the_maps() {
    if !common::need(
        common::is_root(),
        "needs root to load BPF and hold capabilities",
    ) {
        return;
    }
    assert!(
        !bpf_reads_need_cap(),
        "this kernel (≥ 6.5) reads maps without CAP_BPF"
    );
    let mut src = bpf::open_bpf().expect("open bpf");
    let code = in_child(move || {
        if let Err(e) = drop_privileges(false) {
            eprintln!("drop_privileges: {e}");
            return 2;
        }
        let st = std::fs::read_to_string("/proc/self/status").expect("status");
        for key in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
            let v = status_field(&st, key).unwrap_or_default();
            if v != "0000000000000000" {
                eprintln!("{key} {v}");
                return 3;
            }
        }
        if status_field(&st, "NoNewPrivs:").as_deref() != Some("1") {
            return 4;
        }
        let mut s = Sample::default();
        if let Err(e) = src.collect(0, 2, &mut s) {
            eprintln!("collect after the drop: {e}");
            return 5;
        }
        if s.tasks < 10 {
            return 6;
        }
        // A new probe cannot be loaded any more.
        if bpf::open_bpf().is_ok() {
            return 7;
        }
        0
    });
    assert_eq!(code, 0, "child check failed (see stderr)");
}

#[test]
fn iterator_walks_after_every_capability_is_dropped() {
    if !common::need(
        common::is_root(),
        "needs root to load BPF and hold capabilities",
    ) {
        return;
    }
    assert!(
        !bpf_reads_need_cap(),
        "this kernel (≥ 6.5) creates iterators from a held link without CAP_BPF"
    );
    let mut src = bpf::open_iter().expect("open iter");
    let code = in_child(move || {
        if let Err(e) = drop_privileges(false) {
            eprintln!("drop_privileges: {e}");
            return 2;
        }
        let st = std::fs::read_to_string("/proc/self/status").expect("status");
        for key in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
            let v = status_field(&st, key).unwrap_or_default();
            if v != "0000000000000000" {
                eprintln!("{key} {v}");
                return 3;
            }
        }
        // Two ticks: each creates and reads a fresh iterator with no
        // capability at all; the second has rates.
        let mut s = Sample::default();
        for (i, el) in [0u64, 50_000_000].into_iter().enumerate() {
            if i == 1 {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            if let Err(e) = src.collect(el, 2, &mut s) {
                eprintln!("iterator walk after the drop: {e}");
                return 5;
            }
        }
        if s.tasks < 10 || src.process(std::process::id()).is_none() {
            eprintln!("walk saw {} processes", s.tasks);
            return 6;
        }
        // Loading a program is what needs the capabilities.
        if bpf::open_iter().is_ok() {
            return 7;
        }
        0
    });
    assert_eq!(code, 0, "child check failed (see stderr)");
}

#[test]
fn keeps_cap_bpf_alone_when_asked() {
    if !common::need(common::is_root(), "needs root to hold capabilities") {
        return;
    }
    let code = in_child(|| {
        if let Err(e) = drop_privileges(true) {
            eprintln!("drop_privileges: {e}");
            return 2;
        }
        let st = std::fs::read_to_string("/proc/self/status").expect("status");
        let want = format!("{:016x}", 1u64 << 39);
        if status_field(&st, "CapEff:") != Some(want.clone())
            || status_field(&st, "CapPrm:") != Some(want)
            || status_field(&st, "CapBnd:").as_deref() != Some("0000000000000000")
        {
            eprintln!("{st}");
            return 3;
        }
        0
    });
    assert_eq!(code, 0, "child check failed (see stderr)");
}

#[test]
fn refuses_in_a_multithreaded_process() {
    // The harness runs tests on several threads: the call must refuse, not
    // drop privileges on one thread only.
    let t = std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(200)));
    assert!(drop_privileges(false).is_err());
    t.join().expect("join");
}

//! 20,000 live processes: more than the `bpf` collector's tables held at
//! first (16,384 threads: it stopped there without a word) and more than a
//! small iterator table holds. Both grow, reloading their programs, and
//! count every process; nothing is lost, nothing panics.
//!
//! The processes are forks of this test that wait in `pause()`; each dies
//! with the thread that forked it (`PR_SET_PDEATHSIG`), and the test kills
//! and reaps every one of them when it ends, passing or not.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use rstat::collect::bpf::{self, IterSource, PROBE_OBJECT};
use rstat::collect::{ProcessSource, Sample};

const CHILDREN: usize = 20_000;

/// The forked children: killed and reaped on drop.
struct Children(Vec<libc::pid_t>);

impl Children {
    fn spawn(n: usize) -> Children {
        let mut kids = Children(Vec::with_capacity(n));
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        for _ in 0..n {
            // SAFETY: the child calls only async-signal-safe functions
            // (prctl, getppid, pause, _exit), as required after fork in a
            // multi-threaded process.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                // SAFETY: see above; the child never returns into Rust code.
                unsafe {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    if libc::getppid() != parent {
                        libc::_exit(0);
                    }
                    loop {
                        libc::pause();
                    }
                }
            }
            assert!(
                pid > 0,
                "fork failed after {} children: {}",
                kids.0.len(),
                std::io::Error::last_os_error()
            );
            kids.0.push(pid);
        }
        kids
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for &pid in &self.0 {
            // SAFETY: our own children, not yet reaped (so the pid is theirs).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for &pid in &self.0 {
            let mut status = 0;
            // SAFETY: reaps our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
        }
    }
}

/// Processes `/proc` lists now.
fn proc_processes() -> usize {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .count()
}

/// How many of `pids` the collector has totals for.
fn found(pids: &[libc::pid_t], has: impl Fn(u32) -> bool) -> usize {
    pids.iter().filter(|&&p| has(p as u32)).count()
}

/// `tasks` against `/proc` around the same moment: other processes come
/// and go on a shared machine, so within a small margin.
fn assert_counts_all(what: &str, tasks: u32, before: usize, after: usize) {
    let (lo, hi) = (before.min(after), before.max(after));
    assert!(
        tasks as usize + 50 >= lo && tasks as usize <= hi + 50,
        "{what}: counted {tasks} processes, /proc listed {before} then {after}"
    );
}

#[test]
fn twenty_thousand_processes_are_all_counted_by_both_bpf_collectors() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let limit = bpf::thread_limit() as usize;
    if !common::need(
        limit > CHILDREN + proc_processes() + 1000,
        "needs room for 20,000 more tasks (kernel.pid_max, kernel.threads-max)",
    ) {
        return;
    }
    // Loaded before the processes exist: the tables must grow at run time.
    let mut bpf_src = bpf::open_bpf().expect("open the bpf collector");
    assert_eq!(bpf_src.capacity(), bpf::START_THREADS);
    let mut small_iter =
        IterSource::open_walk_sized(PROBE_OBJECT, 4096).expect("the one-pass walk loads on 6.18");
    let mut iter = bpf::open_iter().expect("open the iter collector");

    let t = Instant::now();
    let kids = Children::spawn(CHILDREN);
    eprintln!("{CHILDREN} processes forked in {:?}", t.elapsed());
    // Each child has switched out (it is in pause(), state S) before the
    // first tick, so the probe has seen them all.
    let deadline = Instant::now() + Duration::from_secs(120);
    for &pid in &kids.0 {
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let s = state
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            if s == Some("S") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "child {pid} never waited: {state}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    let cores = 2;
    let mut s = Sample::default();

    // bpf: the first tick finds threads without a slot and grows.
    let before = proc_processes();
    bpf_src.collect(0, cores, &mut s).expect("bpf tick 0");
    bpf_src
        .collect(1_000_000_000, cores, &mut s)
        .expect("bpf tick 1");
    let after = proc_processes();
    eprintln!(
        "bpf: tables of {} threads, {} map entries, {} processes counted (/proc: {before}, {after})",
        bpf_src.capacity(),
        bpf_src.thread_ids().len(),
        s.tasks
    );
    assert!(bpf_src.capacity() > bpf::START_THREADS, "the tables grew");
    assert_eq!(
        bpf_src.dropped().expect("meta"),
        0,
        "no thread without a slot"
    );
    assert_eq!(bpf_src.take_notice(), None, "nothing to say: it grew");
    let ids: HashSet<u32> = bpf_src.thread_ids().iter().copied().collect();
    assert_eq!(
        found(&kids.0, |p| ids.contains(&p)),
        CHILDREN,
        "every child tracked"
    );
    assert_eq!(found(&kids.0, |p| bpf_src.process(p).is_some()), CHILDREN);
    assert_counts_all("bpf", s.tasks, before, after);
    // Rates went on across the reload: a tick later every child is still
    // there and idle (none in the CPU list with a bogus share).
    bpf_src
        .collect(1_000_000_000, cores, &mut s)
        .expect("bpf tick 2");
    for p in s.top_cpu.as_slice() {
        assert!(p.cpu_percent <= 100.0, "{p:?}");
    }
    drop(bpf_src);

    // iter, from a 4,096-record table: grows until every thread fits, within
    // the one tick.
    let mut s = Sample::default();
    let before = proc_processes();
    small_iter.collect(0, cores, &mut s).expect("iter tick 0");
    let after = proc_processes();
    eprintln!(
        "iter from 4096: table of {:?} records, {} threads walked, {} processes counted",
        small_iter.capacity(),
        small_iter.threads_seen(),
        s.tasks
    );
    assert!(
        small_iter.capacity().expect("one-pass") >= 32768,
        "the table grew"
    );
    assert_eq!(small_iter.dropped(), 0, "no thread unrecorded");
    assert_eq!(small_iter.take_notice(), None);
    assert_eq!(
        found(&kids.0, |p| small_iter.process(p).is_some()),
        CHILDREN
    );
    assert_counts_all("iter (grown)", s.tasks, before, after);
    drop(small_iter);

    // iter as `auto` opens it.
    let mut s = Sample::default();
    let before = proc_processes();
    iter.collect(0, cores, &mut s).expect("iter tick");
    let after = proc_processes();
    assert_eq!(iter.dropped(), 0);
    assert_eq!(found(&kids.0, |p| iter.process(p).is_some()), CHILDREN);
    assert_counts_all("iter", s.tasks, before, after);

    let pids = kids.0.clone();
    drop(kids);
    // SAFETY: kill with signal 0 only checks that the pid exists.
    let alive = pids
        .iter()
        .filter(|&&p| unsafe { libc::kill(p, 0) } == 0)
        .count();
    assert_eq!(alive, 0, "every child killed and reaped");
}

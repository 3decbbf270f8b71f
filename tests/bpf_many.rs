//! More than 8192 live tasks (the seed's hash map silently stopped there):
//! both BPF collectors keep every one of them and the figures stay right.
//! One test per collector, run one after the other (each spawns 9000
//! threads).

mod bpf_util;
mod common;

use bpf_util::*;
use rstat::collect::Sample;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[test]
#[ignore = "helper process for the other tests"]
fn helper() {
    run_helper();
}

const THREADS: usize = 9000;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Opens the gate on drop, so a failed check does not leave 9000 threads
/// blocked for the next test to trip over.
struct Release(Arc<(Mutex<bool>, Condvar)>);

impl Drop for Release {
    fn drop(&mut self) {
        let (m, c) = &*self.0;
        *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
        c.notify_all();
    }
}

#[test]
fn more_than_8192_tasks_bpf() {
    more_than_8192_tasks(Kind::Bpf);
}

#[test]
fn more_than_8192_tasks_iter() {
    more_than_8192_tasks(Kind::Iter);
}

fn more_than_8192_tasks(kind: Kind) {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut src = Src::open(kind);
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let release = Release(gate.clone());
    let mut handles = Vec::with_capacity(THREADS);
    for _ in 0..THREADS {
        let gate = gate.clone();
        let h = std::thread::Builder::new()
            .stack_size(64 << 10)
            .spawn(move || {
                let (m, c) = &*gate;
                let mut open = m.lock().unwrap_or_else(|e| e.into_inner());
                while !*open {
                    open = c.wait(open).unwrap_or_else(|e| e.into_inner());
                }
            })
            .expect("spawn thread");
        handles.push(h);
    }
    let mut burner = Helper::spawn("burn:1");
    burner.wait_for("ready");
    // Every thread has blocked (switched out) by now.
    std::thread::sleep(Duration::from_millis(300));

    let mut s = Sample::default();
    src.collect(0, cores(), &mut s).expect("tick 0");
    let b0 = src.process(burner.pid()).map_or(0, |p| p.cpu_ns);
    let w = Instant::now();
    let c0 = proc_cpu_ns(burner.pid());
    std::thread::sleep(Duration::from_millis(500));
    let c1 = proc_cpu_ns(burner.pid());
    let el = w.elapsed().as_nanos() as u64;
    let t = Instant::now();
    src.collect(el, cores(), &mut s).expect("tick 1");
    let b1 = src.process(burner.pid()).expect("burner tracked").cpu_ns;
    let tick = t.elapsed();
    let truth = (c1 - c0) as f64 * 100.0 / (el as f64 * cores() as f64);

    let me = std::process::id();
    let mine: Vec<u32> = std::fs::read_dir(format!("/proc/{me}/task"))
        .expect("own tasks")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    match &src {
        Src::Bpf(b) => {
            let ids = b.thread_ids();
            let seen = mine.iter().filter(|t| ids.contains(t)).count();
            eprintln!(
                "{} map entries; {seen} of our {} threads; tick took {tick:?}; top cpu {:?}",
                ids.len(),
                mine.len(),
                s.top_cpu.as_slice().first()
            );
            assert!(ids.len() > 8192 + 100, "map holds {} entries", ids.len());
            assert!(
                seen >= THREADS,
                "only {seen} of our {} threads in the map",
                mine.len()
            );
            assert_eq!(b.dropped().expect("meta"), 0, "no thread went untracked");
        }
        Src::Iter(it) => {
            eprintln!(
                "iterator walked {} threads in {} reads; we have {}; tick took {tick:?}",
                it.threads_seen(),
                it.reads_per_walk(),
                mine.len()
            );
            assert!(
                it.threads_seen() >= mine.len(),
                "walked {} threads, we alone have {}",
                it.threads_seen(),
                mine.len()
            );
            assert_eq!(it.dropped(), 0, "no thread went unrecorded");
            if !it.one_pass() {
                assert!(
                    it.reads_per_walk() > 2,
                    "a walk this big spans several reads"
                );
            }
        }
    }
    assert!(src.process(me).is_some(), "our own process is seen");
    // The burner's figure stays right among 9000 other threads (compared
    // as cumulative time: on a busy shared machine it may not make the top 5).
    let got = (b1 - b0) as f64 * 100.0 / (el as f64 * cores() as f64);
    assert!(
        (got - truth).abs() < 5.0,
        "{kind:?}: burner {got:.1}% vs /proc {truth:.1}%"
    );

    drop(release);
    for h in handles {
        h.join().expect("join");
    }
}

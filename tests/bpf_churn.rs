//! Process churn: hundreds of short-lived, CPU-burning processes a second.
//! Their CPU must still show in system CPU (they exit between ticks, so a
//! per-process sum would miss it), and their map entries must go when they
//! exit (the PF_EXITING re-creation leak).
//!
//! One test per file on purpose: it measures the whole machine's CPU, so
//! nothing else in this binary may run beside it.

mod bpf_util;
mod common;

use bpf_util::*;
use rstat::collect::bpf;
use rstat::collect::{ProcessSource, Sample};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn live_threads() -> usize {
    let mut n = 0;
    for p in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if p.file_name()
            .to_str()
            .is_some_and(|s| s.parse::<u32>().is_ok())
        {
            if let Ok(t) = std::fs::read_dir(p.path().join("task")) {
                n += t.count();
            }
        }
    }
    n
}

#[test]
fn churn_is_counted_and_does_not_leak() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let mut src = bpf::open_bpf().expect("open bpf");
    let cores = cores();
    let stop = Arc::new(AtomicBool::new(false));
    let spawned = Arc::new(AtomicU64::new(0));
    let spawners: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            let spawned = spawned.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    fork_burner(2);
                    spawned.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(2));
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    let mut s = Sample::default();
    src.collect(0, cores, &mut s).expect("tick 0");
    let (b0, t0) = proc_stat_busy();
    let n0 = spawned.load(Ordering::Relaxed);
    let w0 = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let el = w0.elapsed().as_nanos() as u64;
    src.collect(el, cores, &mut s).expect("tick 1");
    let (b1, t1) = proc_stat_busy();
    let n1 = spawned.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for t in spawners {
        t.join().expect("spawner");
    }

    let rate = (n1 - n0) as f64 / (el as f64 / 1e9);
    let truth = (b1 - b0) as f64 * 100.0 / (t1 - t0) as f64;
    let got = s.cpu_percent as f64;
    let listed: f32 = s.top_cpu.as_slice().iter().map(|p| p.cpu_percent).sum();
    eprintln!("churn: {rate:.0} processes/s; system CPU bpf {got:.1}% /proc/stat {truth:.1}%; top-5 rows sum {listed:.1}%");
    assert!(rate >= 200.0, "churn reached only {rate:.0} processes/s");
    assert!(truth > 20.0, "the churn load burned CPU ({truth:.1}%)");
    assert!(
        (got - truth).abs() <= 10.0,
        "bpf {got:.1}% vs /proc/stat {truth:.1}%"
    );

    // No leak: once the churn is over, every entry is a live thread.
    std::thread::sleep(Duration::from_millis(300));
    src.collect(300_000_000, cores, &mut s).expect("tick 2");
    let live = live_threads();
    let ids = src.thread_ids();
    let stale: Vec<u32> = ids
        .iter()
        .copied()
        .filter(|t| !Path::new(&format!("/proc/{t}")).exists())
        .collect();
    eprintln!(
        "after churn: {} map entries, {live} live threads, stale {stale:?}",
        ids.len()
    );
    assert!(
        stale.len() <= 3,
        "{} entries of exited threads: {stale:?}",
        stale.len()
    );
    assert!(
        ids.len() <= live + 5,
        "{} entries for {live} live threads",
        ids.len()
    );
    assert!(
        ids.len() + 30 >= live,
        "{} entries for {live} live threads",
        ids.len()
    );
    // Exits gave their slots back: hundreds of processes came and went, yet
    // the slots handed out never spread far past the live count.
    let hw = src.slot_high_water().expect("meta") as usize;
    eprintln!("slot high water {hw} after {n1} short-lived processes");
    assert!(
        hw < live + 100,
        "slot high water {hw} for {live} live threads"
    );
}

//! The task-iterator collector's two walks see the same machine: the
//! one-pass walk (Linux 6.7+, chosen here) and the per-task iterator it
//! falls back to on older kernels, compared moments apart, and both against
//! /proc.

mod common;

use rstat::collect::bpf::{IterSource, PROBE_OBJECT};
use rstat::collect::{CollectorKind, ProcessSource, Sample};

fn live_processes() -> usize {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|s| s.parse::<u32>().is_ok())
        })
        .count()
}

#[test]
fn both_walks_see_every_process() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let mut walk = IterSource::open_walk(PROBE_OBJECT).expect("the one-pass walk loads on 6.18");
    let mut recs = IterSource::open_records(PROBE_OBJECT).expect("the per-task iterator loads");
    assert!(walk.one_pass() && !recs.one_pass());
    assert!(rstat::collect::bpf::open_iter().expect("open").one_pass());
    assert_eq!(walk.kind(), CollectorKind::Iter);
    let (mut a, mut b) = (Sample::default(), Sample::default());
    for _ in 0..2 {
        walk.collect(0, 2, &mut a).expect("walk");
        recs.collect(0, 2, &mut b).expect("records");
    }
    let procs = live_processes();
    eprintln!(
        "one-pass: {} processes, {} threads, {} read(s); per-task: {} processes, {} threads, {} reads; /proc: {procs}",
        a.tasks,
        walk.threads_seen(),
        walk.reads_per_walk(),
        b.tasks,
        recs.threads_seen(),
        recs.reads_per_walk()
    );
    assert_eq!(walk.dropped(), 0);
    for (name, n) in [("one-pass", a.tasks), ("per-task", b.tasks)] {
        let n = n as usize;
        assert!(
            n + 10 >= procs && n <= procs + 10,
            "{name} walk sees {n} processes, /proc lists {procs}"
        );
    }
    assert!((walk.threads_seen() as i64 - recs.threads_seen() as i64).abs() <= 10);
    // One read per tick for the one-pass walk: the program ran once and
    // wrote nothing to the read.
    assert_eq!(walk.reads_per_walk(), 1);
    // Same figures for our own process, a second apart at most.
    let me = std::process::id();
    let (x, y) = (walk.process(me).expect("me"), recs.process(me).expect("me"));
    assert!(
        x.rss_bytes.abs_diff(y.rss_bytes) < 16 << 20,
        "{x:?} vs {y:?}"
    );
    assert!(
        x.cpu_ns.abs_diff(y.cpu_ns) < 1_000_000_000,
        "{x:?} vs {y:?}"
    );
    // Names come from the leader record.
    let top = a.top_mem.as_slice();
    assert!(!top.is_empty() && top.iter().all(|p| !p.name.as_bytes().is_empty()));
}

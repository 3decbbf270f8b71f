//! The probe loads and attaches on this kernel, and the map fills.

mod common;

use rstat::collect::bpf;
use rstat::collect::{CollectorKind, ProcessSource, Sample};
use std::time::Duration;

fn live_processes() -> usize {
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|s| s.parse::<u32>().is_ok())
        })
        .count()
}

#[test]
fn probe_loads_attaches_and_sees_every_process() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let mut src = bpf::open_bpf().expect("the probe loads and attaches");
    assert_eq!(src.kind(), CollectorKind::Bpf);
    let mut s = Sample::default();
    src.collect(0, 2, &mut s).expect("first tick");
    std::thread::sleep(Duration::from_millis(200));
    src.collect(200_000_000, 2, &mut s).expect("second tick");
    assert!(src.batched(), "BPF_MAP_LOOKUP_BATCH works on this kernel");
    let procs = live_processes();
    // The walk seeded every process; allow for ones born or gone meanwhile.
    let seen = s.tasks as usize;
    assert!(
        seen + 10 >= procs && seen <= procs + 10,
        "collector sees {seen} processes, /proc lists {procs}"
    );
    // Our own process is there, named like /proc says.
    let me = std::process::id();
    assert!(src.process(me).is_some(), "own pid {me} in the map");
    assert!(!s.top_mem.as_slice().is_empty());
    let stats = src.probe_stats().expect("prog info");
    eprintln!(
        "tasks={seen} /proc={procs} stats={stats:?} top_mem={:?}",
        s.top_mem.as_slice()
    );
}

#[test]
fn iterative_fallback_reads_the_same_map() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let mut src = bpf::open_bpf().expect("open bpf");
    let mut s = Sample::default();
    src.collect(0, 2, &mut s).expect("batched tick");
    let batched = src.thread_ids().len();
    src.force_iterative();
    src.collect(0, 2, &mut s).expect("iterative tick");
    assert!(!src.batched());
    let iterative = src.thread_ids().len();
    // Threads come and go on a shared machine; the two reads are moments apart.
    assert!(
        batched.abs_diff(iterative) <= 10,
        "batch {batched} vs iterative {iterative}"
    );
    assert!(iterative > 20);
}

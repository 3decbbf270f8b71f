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
    assert_eq!(
        src.read_mode(),
        bpf::ReadMode::Mmap,
        "the slots map into our memory"
    );
    assert_eq!(src.dropped().expect("meta"), 0);
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
fn fallback_reads_see_the_same_slots() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let mut src = bpf::open_bpf().expect("open bpf");
    let mut s = Sample::default();
    let mut counts = Vec::new();
    for mode in [
        bpf::ReadMode::Mmap,
        bpf::ReadMode::Batch,
        bpf::ReadMode::Elem,
    ] {
        src.force_read_mode(mode);
        src.collect(0, 2, &mut s).expect("tick");
        assert_eq!(src.read_mode(), mode, "{mode:?} works on this kernel");
        let mut ids = src.thread_ids().to_vec();
        ids.sort_unstable();
        counts.push((mode, ids));
    }
    // Threads come and go on a shared machine; the reads are moments apart.
    let (_, base) = &counts[0];
    assert!(base.len() > 20);
    for (mode, ids) in &counts[1..] {
        let common = ids.iter().filter(|t| base.binary_search(t).is_ok()).count();
        assert!(
            common + 10 >= base.len() && ids.len() <= base.len() + 10,
            "{mode:?} read {} threads, mmap {} ({common} in common)",
            ids.len(),
            base.len()
        );
    }
}

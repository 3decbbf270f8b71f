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

/// A busy loop alone on an idle core does not switch tasks: the probe must
/// still know what every CPU runs from the moment it attaches, or that loop
/// (and the core's busy time) goes uncounted until its next switch.
#[test]
fn every_cpu_is_known_as_soon_as_the_probe_attaches() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    // A busy loop on the last CPU we may use, started before the probe.
    // SAFETY: cpu_set_t is a plain bit array, written by the kernel.
    let mut mask: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: writes at most size_of::<cpu_set_t>() bytes into `mask`.
    let got = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&mask), &mut mask) };
    assert_eq!(got, 0, "sched_getaffinity");
    let hog_cpu = (0..libc::CPU_SETSIZE as usize)
        .rev()
        // SAFETY: below CPU_SETSIZE.
        .find(|&c| unsafe { libc::CPU_ISSET(c, &mask) })
        .expect("a CPU in our mask");
    let mut hog = std::process::Command::new("taskset")
        .args([
            "-c",
            &hog_cpu.to_string(),
            "sh",
            "-c",
            "while :; do :; done",
        ])
        .spawn()
        .expect("starting a busy loop");
    std::thread::sleep(Duration::from_millis(300));
    let hog_pid = hog.id();

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut src = bpf::open_bpf().expect("the probe loads and attaches");
        assert_eq!(
            src.unseen_cpus().expect("reading the cpus map"),
            0,
            "an online CPU has not been seen switching right after attach"
        );
        // What the kernel says the loop ran, over the same interval: on a
        // loaded machine it gets only a share of its core.
        let ran_ns = || -> u64 {
            std::fs::read_to_string(format!("/proc/{hog_pid}/schedstat"))
                .ok()
                .and_then(|t| t.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let mut s = Sample::default();
        let ran0 = ran_ns();
        let t0 = std::time::Instant::now();
        src.collect(0, ncpu as u32, &mut s).expect("first tick");
        std::thread::sleep(Duration::from_millis(400));
        let elapsed = t0.elapsed().as_nanos() as u64;
        src.collect(elapsed, ncpu as u32, &mut s)
            .expect("second tick");
        let truth = (ran_ns() - ran0) as f32 * 100.0 / (elapsed as f32 * ncpu as f32);
        assert!(truth > 1.0, "the busy loop hardly ran ({truth}%)");
        let row = s.top_cpu.as_slice().iter().find(|p| p.pid == hog_pid);
        assert!(
            row.is_some_and(|p| p.cpu_percent > truth * 0.5),
            "the busy loop (pid {hog_pid}, {truth}% by its schedstat) is not counted: {:?}",
            s.top_cpu.as_slice()
        );
        assert!(
            s.cpu_percent > truth * 0.5,
            "system CPU {}% misses the busy loop's {truth}%",
            s.cpu_percent
        );
    }));
    let _ = hog.kill();
    let _ = hog.wait();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}

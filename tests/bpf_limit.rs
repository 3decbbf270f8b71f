//! The `bpf` collector at its table limit: past it, one notice says so,
//! once, and sampling goes on. The limit is made small through the
//! constructor (the real one is `min(kernel.pid_max, kernel.threads-max)`,
//! which this shared machine's test cannot lower): tables of 64 threads
//! growing to at most 128, with 300 threads of this test waking every
//! millisecond so the probe meets threads it has no slot for, whatever the
//! machine runs besides.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rstat::collect::bpf;
use rstat::collect::{ProcessSource, Sample};

#[test]
fn past_its_limit_the_bpf_collector_says_so_once_and_goes_on() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..300)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            })
        })
        .collect();
    let mut src = bpf::open_bpf_limited(64, 128).expect("load the probe");
    let mut sample = Sample::default();
    let mut notices = Vec::new();
    let end = Instant::now() + Duration::from_secs(60);
    // Grows 64 -> 128, then, still short of room, says so.
    while notices.is_empty() {
        assert!(
            Instant::now() < end,
            "no notice; tables of {} threads",
            src.capacity()
        );
        std::thread::sleep(Duration::from_millis(100));
        src.collect(100_000_000, 1, &mut sample)
            .expect("a sample at the limit");
        notices.extend(src.take_notice());
    }
    assert_eq!(src.capacity(), 128, "grew to the limit, not past it");
    for _ in 0..10 {
        std::thread::sleep(Duration::from_millis(50));
        src.collect(50_000_000, 1, &mut sample)
            .expect("a sample at the limit");
        notices.extend(src.take_notice());
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    eprintln!("notices: {notices:?}");
    assert_eq!(notices.len(), 1, "said once: {notices:?}");
    assert_eq!(
        notices[0],
        "the bpf collector tracks at most 128 threads (the kernel's pid_max and threads-max); threads past that are not counted (--collector iter counts them all)"
    );
    assert!(sample.tasks > 0, "it still counts");
}

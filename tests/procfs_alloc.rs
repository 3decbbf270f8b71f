//! The procfs collector's steady-state tick allocates nothing: counted with a
//! global allocator that tallies every allocation in this test binary.

mod common;

use rstat::collect::procfs::ProcfsSource;
use rstat::collect::{Roots, Sample, Sampler};
use rstat::report::{once, waybar};

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

#[test]
fn steady_procfs_tick_and_outputs_allocate_nothing() {
    let roots = Roots::default();
    let mut sampler = Sampler::new(&roots, Box::new(ProcfsSource::open(&roots).unwrap())).unwrap();
    let mut s = Sample::default();
    // The `--once` buffer main uses; names escape to at most 6 bytes each.
    let mut json = Vec::with_capacity(64 * 1024);
    let mut line = waybar::WaybarLine::default();
    let thresholds = waybar::Thresholds::default();
    // Warm-up: buffers reach their working size.
    for _ in 0..3 {
        sampler.sample(&mut s).unwrap();
        json.clear();
        once::write_sample(&mut json, &s);
        line.format(&s, &thresholds);
    }
    let ((), n) = common::alloc::count(|| {
        for _ in 0..50 {
            sampler.sample(&mut s).unwrap();
            json.clear();
            once::write_sample(&mut json, &s);
            line.format(&s, &thresholds);
        }
    });
    assert!(s.tasks > 10, "the walk saw processes");
    assert_eq!(n, 0, "{n} allocations in 50 steady ticks");
}

/// The bar's ticks while nobody looks at processes (the system half only),
/// and the walks that start and stop as the popup opens and closes,
/// allocate nothing once the walk's buffers have their size.
#[test]
fn lazy_ticks_and_walks_allocate_nothing() {
    let roots = Roots::default();
    let mut sampler = Sampler::new(&roots, Box::new(ProcfsSource::open(&roots).unwrap())).unwrap();
    let mut s = Sample::default();
    for _ in 0..3 {
        sampler.sample(&mut s).unwrap();
    }
    let walks = sampler.walks();
    let ((), n) = common::alloc::count(|| {
        for _ in 0..10 {
            // Closed: the system half only.
            sampler.pause_walks();
            s.clear_processes();
            for _ in 0..5 {
                sampler.sample_system(&mut s).unwrap();
            }
            // Opening: a baseline, then rates; open: a walk per tick.
            sampler.walk(&mut s).unwrap();
            sampler.walk(&mut s).unwrap();
            sampler.sample(&mut s).unwrap();
        }
    });
    assert_eq!(sampler.walks() - walks, 30, "walks counted");
    assert!(sampler.last_walk_rated());
    assert!(s.tasks > 10, "the walk saw processes");
    assert_eq!(n, 0, "{n} allocations in the lazy ticks");
}

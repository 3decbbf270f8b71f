//! The procfs collector's steady-state tick allocates nothing: counted with a
//! global allocator that tallies every allocation in this test binary.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use rstat::collect::procfs::ProcfsSource;
use rstat::collect::{Roots, Sample, Sampler};
use rstat::report::{once, waybar};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: defers to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

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
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..50 {
        sampler.sample(&mut s).unwrap();
        json.clear();
        once::write_sample(&mut json, &s);
        line.format(&s, &thresholds);
    }
    let n = ALLOCS.load(Ordering::Relaxed) - before;
    assert!(s.tasks > 10, "the walk saw processes");
    assert_eq!(n, 0, "{n} allocations in 50 steady ticks");
}

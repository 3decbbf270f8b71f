//! Issue 5: opening and closing the popup a thousand times leaks nothing.
//! The test is itself the Wayland client (the library's `Bars`, in a real
//! headless Sway), so it can count what a binary could not show: live heap
//! bytes (a counting global allocator), open file descriptors, and shm
//! pools created (one, reused by every popup).
//!
//! Needs root (Sway runs as uid 65534), `sway`.

mod common;
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use rstat::render::{GlyphCache, Rect};
use rstat::wayland::{Bars, SurfaceConfig};
use support::sway::HeadlessSway;

struct Counting;

/// Heap bytes currently allocated by the whole process.
static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards every call unchanged to the system allocator; the only
// addition is a relaxed counter update, which cannot allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[test]
fn opening_and_closing_the_popup_1000_times_leaks_nothing() {
    if !common::need(common::is_root(), "needs root to start Sway as uid 65534")
        || !common::need(common::have("sway"), "needs `sway` on PATH")
    {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    for (k, v) in sway.env() {
        // This test binary runs this one test: no other thread reads the
        // environment while it changes.
        std::env::set_var(k, v);
    }
    let (mut bars, _conn, mut queue) =
        Bars::connect(SurfaceConfig::default(), GlyphCache::with_default_font())
            .unwrap_or_else(|e| panic!("connect: {e:?}"));
    let mut until = |bars: &mut Bars, what: &str, f: &dyn Fn(&Bars) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        // At least one roundtrip: what was sent is handled, its answers read.
        loop {
            queue.roundtrip(bars).expect("roundtrip");
            if f(bars) {
                break;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
        }
    };
    until(&mut bars, "a configured bar", &|b| {
        b.first_configured_bar().is_some()
    });
    let bar = bars.first_configured_bar().expect("a bar");
    // At the right end of the bar, like the health module.
    let anchor = Rect::new(1800, 0, 116, 28);
    let mut cycle = |bars: &mut Bars| {
        let commits = bars.popup_stats().commits;
        bars.open_popup(bar, anchor);
        until(bars, "the popup's first frame", &|b| {
            b.popup_shown() && b.popup_stats().commits > commits
        });
        bars.close_popup();
        until(bars, "the close to reach the compositor", &|_| true);
    };
    // Warm-up: first-use caches (glyphs at the popup's size, the pool).
    for _ in 0..20 {
        cycle(&mut bars);
    }
    let (fds0, live0) = (open_fds(), LIVE.load(Ordering::Relaxed));
    let t0 = Instant::now();
    for i in 0..1000 {
        cycle(&mut bars);
        if std::env::var_os("RSTAT_LEAK_TRACE").is_some() && i % 100 == 0 {
            eprintln!("cycle {i}: live heap {}", LIVE.load(Ordering::Relaxed));
        }
    }
    let per = t0.elapsed() / 1000;
    let (fds1, live1) = (open_fds(), LIVE.load(Ordering::Relaxed));
    let stats = bars.popup_stats();
    eprintln!(
        "1000 open/close cycles: {per:?} each; fds {fds0} -> {fds1}; live heap {live0} -> {live1} bytes; {stats:?}"
    );
    assert_eq!(stats.opened, 1020);
    assert_eq!(stats.pools, 1, "one shm pool, reused by every popup");
    assert_eq!(fds1, fds0, "file descriptors leaked");
    assert!(
        live1 - live0 < 4096,
        "live heap grew by {} bytes over 1000 cycles",
        live1 - live0
    );
}

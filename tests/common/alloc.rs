//! A counting global allocator for the tests that prove a steady tick
//! allocates nothing, or that memory stays flat over many events. A test
//! binary opts in with
//! `#[global_allocator] static A: common::alloc::Counting = common::alloc::Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};

/// Forwards to the system allocator, counting as it goes.
pub struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    // Const-initialised: reading it never allocates.
    static ON: Cell<bool> = const { Cell::new(false) };
}

fn counting() -> bool {
    ON.with(Cell::get)
}

// SAFETY: every call goes to the system allocator unchanged; the additions
// are relaxed atomics and a const thread-local, none of which allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(p, l, n) }
    }
}

/// Runs `f` and returns its result with the number of allocations (and
/// reallocations) this thread made during it; other threads' do not count.
pub fn count<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = ALLOCS.load(Ordering::Relaxed);
    ON.with(|c| c.set(true));
    let r = f();
    ON.with(|c| c.set(false));
    // Only this thread counts while ON is set here; others may count too if
    // they set it, so take the difference rather than a reset total.
    (r, ALLOCS.load(Ordering::Relaxed) - before)
}

/// Bytes the whole process has allocated and not freed.
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

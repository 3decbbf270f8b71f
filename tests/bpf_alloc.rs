//! The steady-state tick of both BPF collectors (the `sched_switch` probe
//! and the task iterator) allocates nothing: a counting global allocator
//! counts what the collecting thread allocates inside `collect`, while
//! processes come and go around it (new processes are the path most likely
//! to allocate).

mod common;

use rstat::collect::bpf;
use rstat::collect::{ProcessSource, Sample};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

/// The two tests take turns: each counts its own thread only, but the
/// churn of one would be the other's background.
static TURN: Mutex<()> = Mutex::new(());

#[test]
fn steady_state_tick_allocates_nothing_bpf() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let _t = TURN.lock().unwrap_or_else(|e| e.into_inner());
    ticks_allocate_nothing(&mut bpf::open_bpf().expect("open bpf"));
}

#[test]
fn steady_state_tick_allocates_nothing_iter() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let _t = TURN.lock().unwrap_or_else(|e| e.into_inner());
    ticks_allocate_nothing(&mut bpf::open_iter().expect("open iter"));
}

fn ticks_allocate_nothing(src: &mut dyn ProcessSource) {
    let mut s = Sample::default();
    // Churn so ticks see processes appear and vanish.
    let mut churn = std::process::Command::new("sh")
        .args(["-c", "while :; do /bin/true; sleep 0.01; done"])
        .spawn()
        .expect("spawn churn");
    let mut last = Instant::now();
    src.collect(0, 2, &mut s).expect("first tick");
    // Warm-up ticks may size things; then none may allocate.
    for i in 0..40 {
        std::thread::sleep(Duration::from_millis(20));
        let el = last.elapsed().as_nanos() as u64;
        last = Instant::now();
        let (r, n) = common::alloc::count(|| src.collect(el, 2, &mut s));
        r.expect("tick");
        if i >= 3 {
            assert_eq!(n, 0, "tick {i} allocated {n} times");
        }
    }
    let _ = churn.kill();
    let _ = churn.wait();
    assert!(s.tasks > 10);
}

//! Measurements, not checks: run with
//! `cargo test --release --test bpf_perf -- --ignored --nocapture --test-threads=1`.
//! They print the probe's in-kernel cost per event and the collector's tick
//! time; the figures go into the README's performance table.

mod common;

use rstat::collect::bpf;
use rstat::collect::{ProcessSource, Sample};
use std::process::Command;
use std::time::{Duration, Instant};

fn sysctl_bpf_stats(on: bool) -> Option<String> {
    let path = "/proc/sys/kernel/bpf_stats_enabled";
    let old = std::fs::read_to_string(path).ok()?;
    std::fs::write(path, if on { "1" } else { "0" }).ok()?;
    Some(old)
}

#[test]
#[ignore = "measurement"]
fn probe_cost_per_event() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let old = sysctl_bpf_stats(true).expect("enable kernel.bpf_stats_enabled");
    let src = bpf::open_bpf().expect("open bpf");
    let s0 = src.probe_stats().expect("stats");
    let t = Instant::now();
    // A context-switch-heavy load: perf's pipe ping-pong when present.
    let ran_perf = common::have("perf")
        && Command::new("perf")
            .args(["bench", "sched", "pipe", "-l", "200000"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ran_perf {
        std::thread::sleep(Duration::from_secs(3));
    }
    let s1 = src.probe_stats().expect("stats");
    let el = t.elapsed().as_secs_f64();
    let (ns, n) = (s1.run_time_ns - s0.run_time_ns, s1.run_cnt - s0.run_cnt);
    eprintln!(
        "probe: {n} events in {el:.2} s ({:.0}/s), {ns} ns in the probe: {:.0} ns/event, {:.3}% of one CPU",
        n as f64 / el,
        ns as f64 / n.max(1) as f64,
        ns as f64 / (el * 1e9) * 100.0
    );
    let _ = std::fs::write("/proc/sys/kernel/bpf_stats_enabled", old.trim());
    assert!(n > 0);
}

#[test]
#[ignore = "measurement"]
fn tick_time() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let mut src = bpf::open_bpf().expect("open bpf");
    let mut s = Sample::default();
    src.collect(0, 2, &mut s).expect("tick");
    let mut v = Vec::with_capacity(2000);
    for _ in 0..2000 {
        std::thread::sleep(Duration::from_millis(1));
        let t = Instant::now();
        src.collect(1_000_000, 2, &mut s).expect("tick");
        v.push(t.elapsed().as_nanos() as u64);
    }
    v.sort_unstable();
    eprintln!(
        "collect(): p50 {:.1} µs p95 {:.1} µs; {} map entries, {} processes",
        v[1000] as f64 / 1e3,
        v[1900] as f64 / 1e3,
        src.thread_ids().len(),
        s.tasks
    );
}

/// Keeps the probe attached for `RSTAT_HOLD_SECS` seconds (default 20) so
/// an outside benchmark (`perf bench sched pipe`) can run against it.
#[test]
#[ignore = "measurement"]
fn hold_probe_attached() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let secs: u64 = std::env::var("RSTAT_HOLD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let _src = bpf::open_bpf().expect("open bpf");
    eprintln!("probe attached");
    std::thread::sleep(Duration::from_secs(secs));
}

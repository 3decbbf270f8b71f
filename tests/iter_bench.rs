//! The collectors' total cost, measured the way the README's performance
//! table states it: about 400 live processes (340 `sleep 1000` beside the
//! machine's own), `rstat --bench 500 --collector all` idle and again under
//! a context-switch storm (`stress-ng --switch 1 --switch-freq 7000`, about
//! 20,000 switches/s here), several rounds. Each bench run ends with five
//! ticks 1 s apart with BPF run-time statistics on; its lines report every
//! collector's tick CPU time, BPF kernel time per second and total.
//!
//! A measurement, not a check of this machine's speed: run with
//! `cargo build --release && cargo test --release --test iter_bench -- --ignored --nocapture`.
//! The one firm check is the ranking `--collector auto` relies on under the
//! storm: the iterator's total below the sched_switch probe's.

mod common;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Children killed (and reaped) on drop; SIGTERM first so stress-ng stops
/// its workers.
struct Kids(Vec<Child>);

impl Drop for Kids {
    fn drop(&mut self) {
        for c in &mut self.0 {
            // SAFETY: signalling our own child by its pid.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

type Line = BTreeMap<String, String>;
/// (condition, collector) -> (tick_cpu_us, bpf_ns_per_s, total_us_per_s) per round.
type Figures<'a> = BTreeMap<(&'a str, String), Vec<(f64, f64, f64)>>;

fn bench() -> Vec<Line> {
    let out = Command::new(common::rstat_bin())
        .args(["--bench", "500", "--collector", "all"])
        .output()
        .expect("run rstat --bench");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn num(l: &Line, k: &str) -> f64 {
    l.get(k).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[test]
#[ignore = "measurement"]
fn total_cost_idle_and_under_a_switch_storm() {
    if !common::need(common::is_root(), "needs root to load BPF")
        || !common::need(common::have("stress-ng"), "needs stress-ng")
        || !common::need(common::have("sleep"), "needs sleep")
    {
        return;
    }
    let rounds: usize = std::env::var("RSTAT_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let _sleepers = Kids(
        (0..340)
            .map(|_| {
                Command::new("sleep")
                    .arg("1000")
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("spawn sleep")
            })
            .collect(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let mut all: Figures = BTreeMap::new();
    let mut switches: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for round in 0..rounds {
        for cond in ["idle", "storm"] {
            let storm = (cond == "storm").then(|| {
                let k = Kids(vec![Command::new("stress-ng")
                    .args([
                        "--switch",
                        "1",
                        "--switch-freq",
                        "7000",
                        "--timeout",
                        "120s",
                    ])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn stress-ng")]);
                std::thread::sleep(Duration::from_secs(1));
                k
            });
            let lines = bench();
            drop(storm);
            for l in &lines {
                let c = l.get("collector").cloned().unwrap_or_default();
                eprintln!(
                    "round {round} {cond:5} {c:6} tasks={} p50_us={} tick_cpu_us={} bpf_ns_per_s={} total_us_per_s={} total_pct_core={} switches_per_s={}",
                    l["tasks"], l["p50_us"], l["tick_cpu_us"], l["bpf_ns_per_s"],
                    l["total_us_per_s"], l["total_pct_core"], l["switches_per_s"]
                );
                all.entry((cond, c)).or_default().push((
                    num(l, "tick_cpu_us"),
                    num(l, "bpf_ns_per_s"),
                    num(l, "total_us_per_s"),
                ));
            }
            if let Some(l) = lines.first() {
                switches
                    .entry(cond)
                    .or_default()
                    .push(num(l, "switches_per_s"));
            }
        }
    }
    eprintln!("\nmedians over {rounds} rounds:");
    let mut totals = BTreeMap::new();
    for ((cond, c), v) in &all {
        let tick = median(v.iter().map(|x| x.0).collect());
        let bpf = median(v.iter().map(|x| x.1).collect());
        let total = median(v.iter().map(|x| x.2).collect());
        eprintln!(
            "{cond:5} {c:6} switches/s {:>6.0}  tick CPU {tick:7.1} µs  BPF {:8.1} µs/s  total {total:8.1} µs/s = {:.4}% of a core",
            median(switches[cond].clone()),
            bpf / 1000.0,
            total / 1e4
        );
        totals.insert((*cond, c.clone()), total);
    }
    let get = |cond: &str, c: &str| totals.get(&(cond, c.to_string())).copied();
    if let (Some(i), Some(b)) = (get("storm", "iter"), get("storm", "bpf")) {
        assert!(i < b, "under the storm iter {i:.1} µs/s vs bpf {b:.1} µs/s");
    }
}

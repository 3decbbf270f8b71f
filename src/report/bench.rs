//! `--bench N`: time samples of one or more collectors, interleaved, and
//! what each costs in total at the bar's 1 s tick.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::collect::{Error, Sample, Sampler};

/// Timing statistics of one collector, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub samples: usize,
    pub avg_us: f64,
    pub p50_us: f64,
    pub p95_us: f64,
    pub p99_us: f64,
    pub min_us: f64,
    pub max_us: f64,
}

/// Summarises durations in nanoseconds (sorted in place).
pub fn stats(ns: &mut [u64]) -> Stats {
    ns.sort_unstable();
    let n = ns.len();
    let us = |v: u64| v as f64 / 1000.0;
    let pct = |p: f64| {
        if n == 0 {
            0.0
        } else {
            us(ns[((n as f64 * p).ceil() as usize).clamp(1, n) - 1])
        }
    };
    Stats {
        samples: n,
        avg_us: if n == 0 {
            0.0
        } else {
            ns.iter().sum::<u64>() as f64 / n as f64 / 1000.0
        },
        p50_us: pct(0.50),
        p95_us: pct(0.95),
        p99_us: pct(0.99),
        min_us: ns.first().map_or(0.0, |&v| us(v)),
        max_us: ns.last().map_or(0.0, |&v| us(v)),
    }
}

/// Ticks of the cost phase, 1 s apart (see [`run`]).
pub const COST_TICKS: usize = 5;

/// Keeps the kernel counting BPF programs' run time while alive, then puts
/// things back as they were.
///
/// `BPF_ENABLE_STATS` first: the kernel counts while our fd is open and
/// stops by itself when it closes, even if we crash. Where that is refused,
/// `kernel.bpf_stats_enabled` is set to 1 and its old value written back on
/// drop.
struct StatsOn {
    _fd: Option<std::os::fd::OwnedFd>,
    restore: Option<String>,
    on: bool,
}

const STATS_SYSCTL: &str = "/proc/sys/kernel/bpf_stats_enabled";

impl StatsOn {
    fn enable() -> StatsOn {
        if let Ok(fd) = crate::collect::bpf::syscall::enable_stats() {
            return StatsOn {
                _fd: Some(fd),
                restore: None,
                on: true,
            };
        }
        let old = std::fs::read_to_string(STATS_SYSCTL).ok();
        let on = old.is_some() && std::fs::write(STATS_SYSCTL, "1").is_ok();
        StatsOn {
            _fd: None,
            restore: if on { old } else { None },
            on,
        }
    }
}

impl Drop for StatsOn {
    fn drop(&mut self) {
        if let Some(old) = &self.restore {
            let _ = std::fs::write(STATS_SYSCTL, old.trim());
        }
    }
}

/// CPU time of the calling thread, in ns: user and kernel time, so the
/// syscalls a tick makes (an iterator walk runs inside `read()`) count.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Context switches of the whole machine since boot (`/proc/stat` `ctxt`).
fn context_switches() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("ctxt "))
        .and_then(|v| v.trim().parse().ok())
}

/// Run time summed over a sampler's BPF programs, if it has any and the
/// kernel counts them.
fn bpf_run_ns(s: &Sampler) -> Option<u64> {
    match s.source().bpf_stats() {
        Some(Ok(st)) => Some(st.run_time_ns),
        _ => None,
    }
}

/// What one collector costs at a 1 s tick.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Cost {
    /// CPU time (user + kernel) of one tick, averaged over the cost phase.
    pub tick_cpu_us: f64,
    /// Kernel time of its BPF programs per second of wall time.
    pub bpf_ns_per_s: Option<f64>,
    /// Whether that kernel time is already inside the tick's CPU time.
    pub bpf_in_tick: bool,
    /// Tick CPU once a second plus the BPF time outside the tick.
    pub total_us_per_s: f64,
}

impl Cost {
    /// `total_us_per_s` as a share of one core, in percent.
    pub fn pct_of_core(&self) -> f64 {
        self.total_us_per_s / 1e6 * 100.0
    }
}

/// Adds up the parts (see [`Cost`]).
pub fn total_cost(tick_cpu_us: f64, bpf_ns_per_s: Option<f64>, bpf_in_tick: bool) -> Cost {
    let outside = if bpf_in_tick {
        0.0
    } else {
        bpf_ns_per_s.unwrap_or(0.0) / 1000.0
    };
    Cost {
        tick_cpu_us,
        bpf_ns_per_s,
        bpf_in_tick,
        total_us_per_s: tick_cpu_us + outside,
    }
}

/// Two phases, every collector in each, so all see the same machine.
///
/// Speed: `n` timed samples from each sampler, 1 ms apart, interleaved,
/// after one untimed warm-up sample each (wall time per sample: the
/// percentiles).
///
/// Cost: then [`COST_TICKS`] ticks 1 s apart, the bar's default rate, with
/// BPF run-time statistics on. Per collector: the CPU time of its ticks
/// (cold caches, as a real 1 s tick has them) and its BPF programs' kernel
/// time per second, which for the `bpf` collector is spent on every context
/// switch between ticks and for `iter` only inside the tick's own `read()`
/// (already in the tick's CPU time, so not added twice). The machine's
/// context-switch rate over the phase is reported beside them.
///
/// Returns one report line per sampler.
pub fn run(samplers: &mut [Sampler], n: usize) -> Result<String, Error> {
    run_with(samplers, n, COST_TICKS, Duration::from_secs(1))
}

/// [`run`] with the cost phase's tick count and interval chosen (tests use
/// short ones).
pub fn run_with(
    samplers: &mut [Sampler],
    n: usize,
    cost_ticks: usize,
    tick: Duration,
) -> Result<String, Error> {
    let mut times: Vec<Vec<u64>> = samplers.iter().map(|_| Vec::with_capacity(n)).collect();
    // The bar's tick while nobody looks at processes: the system half only.
    let mut system_times: Vec<u64> = Vec::with_capacity(n);
    let mut tasks = vec![0u32; samplers.len()];
    let mut sample = Sample::default();
    for s in samplers.iter_mut() {
        s.sample(&mut sample)?;
    }
    for _ in 0..n {
        std::thread::sleep(Duration::from_millis(1));
        for (i, s) in samplers.iter_mut().enumerate() {
            let t0 = Instant::now();
            s.sample(&mut sample)?;
            times[i].push(t0.elapsed().as_nanos() as u64);
            tasks[i] = sample.tasks;
        }
        if let Some(s) = samplers.first_mut() {
            let t0 = Instant::now();
            s.sample_system(&mut sample)?;
            system_times.push(t0.elapsed().as_nanos() as u64);
        }
    }

    // The cost phase.
    let stats_on = StatsOn::enable();
    let mut cpu = vec![0u64; samplers.len()];
    let run0: Vec<Option<u64>> = samplers.iter().map(bpf_run_ns).collect();
    let ctxt0 = context_switches();
    let w0 = Instant::now();
    let mut system_cpu = 0u64;
    for _ in 0..cost_ticks {
        std::thread::sleep(tick);
        for (i, s) in samplers.iter_mut().enumerate() {
            let c0 = thread_cpu_ns();
            s.sample(&mut sample)?;
            cpu[i] += thread_cpu_ns().saturating_sub(c0);
        }
    }
    // Cold as the bar's own tick is: a second apart, after nothing else.
    if let Some(s) = samplers.first_mut() {
        for _ in 0..cost_ticks {
            std::thread::sleep(tick);
            let c0 = thread_cpu_ns();
            s.sample_system(&mut sample)?;
            system_cpu += thread_cpu_ns().saturating_sub(c0);
        }
    }
    let wall = w0.elapsed().as_secs_f64();
    let ctxt1 = context_switches();
    let run1: Vec<Option<u64>> = samplers.iter().map(bpf_run_ns).collect();
    let on = stats_on.on;
    drop(stats_on);
    let switches_per_s = match (ctxt0, ctxt1) {
        (Some(a), Some(b)) if wall > 0.0 => format!("{:.0}", b.saturating_sub(a) as f64 / wall),
        _ => "na".into(),
    };

    let mut out = Vec::new();
    for (i, s) in samplers.iter().enumerate() {
        let st = stats(&mut times[i]);
        let tick_cpu_us = cpu[i] as f64 / cost_ticks.max(1) as f64 / 1000.0;
        let bpf = match (run0[i], run1[i]) {
            (Some(a), Some(b)) if on && wall > 0.0 => Some(b.saturating_sub(a) as f64 / wall),
            _ => None,
        };
        let cost = total_cost(tick_cpu_us, bpf, s.source().bpf_runs_in_tick());
        let bpf_field = match (bpf, s.source().bpf_stats().is_some()) {
            (Some(v), _) => format!("{v:.0}"),
            (None, true) => "na".into(),
            (None, false) => "0".into(),
        };
        let _ = writeln!(
            out,
            "collector={} samples={} tasks={} avg_us={:.1} p50_us={:.1} p95_us={:.1} p99_us={:.1} min_us={:.1} max_us={:.1} \
             tick_cpu_us={:.1} bpf_ns_per_s={} bpf_in_tick={} total_us_per_s={:.1} total_pct_core={:.4} switches_per_s={}",
            s.kind().name(),
            st.samples,
            tasks[i],
            st.avg_us,
            st.p50_us,
            st.p95_us,
            st.p99_us,
            st.min_us,
            st.max_us,
            cost.tick_cpu_us,
            bpf_field,
            if cost.bpf_in_tick { "yes" } else { "no" },
            cost.total_us_per_s,
            cost.pct_of_core(),
            switches_per_s,
        );
    }
    if let Some(s) = samplers.first() {
        let st = stats(&mut system_times);
        let _ = writeln!(
            out,
            "collector={} walk=no samples={} avg_us={:.1} p50_us={:.1} p95_us={:.1} p99_us={:.1} min_us={:.1} max_us={:.1} tick_cpu_us={:.1} \
             (the bar's tick while no popup or `tasks` placeholder needs the process walk: CPU, memory, load, sensors)",
            s.kind().name(),
            st.samples,
            st.avg_us,
            st.p50_us,
            st.p95_us,
            st.p99_us,
            st.min_us,
            st.max_us,
            system_cpu as f64 / cost_ticks.max(1) as f64 / 1000.0,
        );
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let mut v: Vec<u64> = (1..=100).rev().map(|x| x * 1000).collect();
        let s = stats(&mut v);
        assert_eq!((s.p50_us, s.p95_us, s.p99_us), (50.0, 95.0, 99.0));
        assert_eq!((s.min_us, s.max_us, s.avg_us), (1.0, 100.0, 50.5));
        assert_eq!(stats(&mut []).samples, 0);
    }

    #[test]
    fn in_tick_bpf_time_is_not_counted_twice() {
        let hook = total_cost(50.0, Some(4_000_000.0), false);
        assert_eq!(hook.total_us_per_s, 4050.0);
        assert!((hook.pct_of_core() - 0.405).abs() < 1e-9);
        let iter = total_cost(120.0, Some(60_000.0), true);
        assert_eq!(iter.total_us_per_s, 120.0);
        assert_eq!(total_cost(5000.0, None, false).total_us_per_s, 5000.0);
    }
}

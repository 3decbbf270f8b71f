//! `--bench N`: time samples of one or more collectors, interleaved.

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

/// Takes `n` timed samples from each sampler, 1 ms apart, interleaved so
/// every collector sees the same machine, after one untimed warm-up sample
/// each. Returns one report line per sampler.
pub fn run(samplers: &mut [Sampler], n: usize) -> Result<String, Error> {
    let mut times: Vec<Vec<u64>> = samplers.iter().map(|_| Vec::with_capacity(n)).collect();
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
    }
    let mut out = Vec::new();
    for (i, s) in samplers.iter().enumerate() {
        let st = stats(&mut times[i]);
        let _ = writeln!(
            out,
            "collector={} samples={} tasks={} avg_us={:.1} p50_us={:.1} p95_us={:.1} p99_us={:.1} min_us={:.1} max_us={:.1}",
            s.kind().name(),
            st.samples,
            tasks[i],
            st.avg_us,
            st.p50_us,
            st.p95_us,
            st.p99_us,
            st.min_us,
            st.max_us
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
}

//! Measurements, not checks: where a tick of the task-iterator collector
//! spends its CPU time, cold (1 s apart, as the bar ticks) and warm (1 ms
//! apart). Run with
//! `cargo test --release --test iter_perf -- --ignored --nocapture --test-threads=1`.

mod common;

use rstat::collect::bpf;
use rstat::collect::system::SystemReader;
use rstat::collect::{ProcessSource, Roots, Sample};
use std::time::Duration;

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn median(v: &mut [u64]) -> f64 {
    v.sort_unstable();
    v[v.len() / 2] as f64 / 1000.0
}

#[test]
#[ignore = "measurement"]
fn tick_parts_cold_and_warm() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let mut sys = SystemReader::open(&Roots::default()).expect("system reader");
    let mut it = bpf::open_iter().expect("open iter");
    let mut s = Sample::default();
    sys.read(std::time::Instant::now(), &mut s).expect("system");
    it.collect(0, 2, &mut s).expect("iter");
    for (label, gap, n) in [
        ("cold (1 s apart)", Duration::from_secs(1), 6),
        ("warm (1 ms apart)", Duration::from_millis(1), 500),
    ] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..n {
            std::thread::sleep(gap);
            let c0 = thread_cpu_ns();
            sys.read(std::time::Instant::now(), &mut s).expect("system");
            let c1 = thread_cpu_ns();
            it.collect(gap.as_nanos() as u64, 2, &mut s).expect("iter");
            let c2 = thread_cpu_ns();
            a.push(c1 - c0);
            b.push(c2 - c1);
        }
        eprintln!(
            "{label}: system CPU ({}) + /proc/meminfo + sysinfo {:.1} µs; iterator walk + fold {:.1} µs \
             ({} threads, {} processes, {} reads)",
            sys.cpu_source(),
            median(&mut a),
            median(&mut b),
            it.threads_seen(),
            s.tasks,
            it.reads_per_walk()
        );
    }
}

/// System CPU for the iterator collector: `/proc/stat` through a kept
/// descriptor (what every sampler already reads) — this is its price.
#[test]
#[ignore = "measurement"]
fn proc_stat_pread_cold_and_warm() {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::open("/proc/stat").expect("/proc/stat");
    let mut buf = vec![0u8; 8192];
    for (label, gap, n) in [
        ("cold (1 s apart)", Duration::from_secs(1), 5),
        ("warm (1 ms apart)", Duration::from_millis(1), 500),
    ] {
        let mut v = Vec::new();
        for _ in 0..n {
            std::thread::sleep(gap);
            let c0 = thread_cpu_ns();
            let got = f.read_at(&mut buf, 0).expect("pread");
            v.push(thread_cpu_ns() - c0);
            assert!(got > 0);
        }
        eprintln!("/proc/stat pread, {label}: {:.1} µs", median(&mut v));
    }
}

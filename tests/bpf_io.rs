//! IO bytes from both BPF collectors agree with /proc/PID/io after a real 64 MiB
//! O_DIRECT write (which bypasses the page cache, so write_bytes is
//! accounted when the write is issued, by the writing thread).

mod bpf_util;
mod common;

use bpf_util::*;
use rstat::collect::Sample;
use std::time::{Duration, Instant};

#[test]
#[ignore = "helper process for the other tests"]
fn helper() {
    run_helper();
}

#[test]
fn o_direct_write_matches_proc_io_bpf() {
    o_direct_write_matches_proc_io(Kind::Bpf);
}

#[test]
fn o_direct_write_matches_proc_io_iter() {
    o_direct_write_matches_proc_io(Kind::Iter);
}

fn o_direct_write_matches_proc_io(kind: Kind) {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    // A real disk-backed file system (tmpfs may not do O_DIRECT or block IO).
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(format!("bpf-io-{}-{kind:?}.bin", std::process::id()));
    let mut h = Helper::spawn(&format!("io:{}:64", path.display()));
    h.wait_for("ready");
    let pid = h.pid();
    let mut src = Src::open(kind);
    let mut s = Sample::default();
    std::thread::sleep(Duration::from_millis(50));
    src.collect(0, cores(), &mut s).expect("tick 0");
    let (_, w0) = proc_io(pid);
    let before = src.process(pid).expect("helper in the map").write_bytes;
    let t0 = Instant::now();
    h.tell("go");
    h.wait_for("done");
    // It now sleeps: its last switch-out snapshotted the counters (the
    // iterator reads them at the walk).
    std::thread::sleep(Duration::from_millis(100));
    let el = t0.elapsed().as_nanos() as u64;
    src.collect(el, cores(), &mut s).expect("tick 1");
    let (_, w1) = proc_io(pid);
    let _ = std::fs::remove_file(&path);

    let truth = w1 - w0;
    let got = src
        .process(pid)
        .expect("helper still in the map")
        .write_bytes
        - before;
    eprintln!(
        "io: {kind:?} wrote {got} /proc {truth} (cumulative {} /proc {w1})",
        before + got
    );
    assert!(truth >= 64 << 20, "the helper wrote 64 MiB ({truth})");
    let within = |a: u64, b: u64| (a as f64 - b as f64).abs() <= 0.05 * b as f64;
    assert!(within(got, truth), "{kind:?} {got} vs /proc {truth}");
    assert!(
        within(before + got, w1),
        "cumulative {kind:?} vs /proc {w1}"
    );

    // The same through the sample: the rate over the interval.
    let row = s
        .top_io
        .as_slice()
        .iter()
        .find(|p| p.pid == pid)
        .expect("helper in the IO list");
    let bytes = (row.write_bytes_per_s as u128 * el as u128 / 1_000_000_000) as u64;
    assert!(
        within(bytes, truth),
        "rate {} B/s over {el} ns = {bytes} vs {truth}",
        row.write_bytes_per_s
    );
}

//! After start-up, a running `rstat --waybar --collector bpf` (or `iter`)
//! holds no capability (CAP_BPF alone only where `bpf_reads_need_cap()`
//! says the kernel needs it for map reads and iterator creation), has
//! no_new_privs set, and still works: the iterator collector prints lines
//! tick after tick, each one a fresh `BPF_ITER_CREATE` made without
//! capabilities.

mod common;

use rstat::collect::privilege::bpf_reads_need_cap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn field(status: &str, key: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

#[test]
fn running_waybar_holds_no_capabilities_bpf() {
    running_waybar_holds_no_capabilities("bpf");
}

#[test]
fn running_waybar_holds_no_capabilities_iter() {
    running_waybar_holds_no_capabilities("iter");
}

fn running_waybar_holds_no_capabilities(collector: &str) {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let mut child = Command::new(common::rstat_bin())
        .args(["--waybar", "--collector", collector, "--interval-ms", "200"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start rstat");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    // The first line means start-up is over: probe attached, privileges gone.
    let n = out.read_line(&mut line).expect("read a waybar line");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("status");
    // Ticks keep coming with no capability left (each one re-reads the
    // kernel: for `iter`, a new iterator per tick).
    let mut later = String::new();
    for _ in 0..3 {
        later.clear();
        out.read_line(&mut later).expect("read a later waybar line");
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        n > 0 && line.starts_with('{'),
        "rstat printed a Waybar line: {line:?}"
    );
    assert!(
        later.starts_with('{'),
        "rstat --collector {collector} keeps ticking after the drop: {later:?}"
    );
    let allowed = if bpf_reads_need_cap() { 1u64 << 39 } else { 0 };
    for key in ["CapInh:", "CapPrm:", "CapEff:", "CapAmb:"] {
        let v = u64::from_str_radix(&field(&status, key), 16).expect("hex caps");
        assert_eq!(v & !allowed, 0, "{key} {v:016x} after start-up");
    }
    assert_eq!(
        field(&status, "CapBnd:"),
        "0000000000000000",
        "bounding set emptied"
    );
    assert_eq!(field(&status, "NoNewPrivs:"), "1");
}

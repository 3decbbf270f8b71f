//! After start-up, a running `rstat --waybar --collector bpf` holds no
//! capability (CAP_BPF alone only where `bpf_reads_need_cap()` says the
//! kernel needs it for map reads), has no_new_privs set, and still works.

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
fn running_waybar_holds_no_capabilities() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let mut child = Command::new(common::rstat_bin())
        .args(["--waybar", "--collector", "bpf", "--interval-ms", "200"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start rstat");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    // The first line means start-up is over: probe attached, privileges gone.
    let n = out.read_line(&mut line).expect("read a waybar line");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("status");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        n > 0 && line.starts_with('{'),
        "rstat printed a Waybar line: {line:?}"
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

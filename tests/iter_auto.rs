//! `--collector auto` picks the task iterator where it loads (the lowest
//! total cost, see `collect::AUTO_ORDER`), silently; `--collector iter`
//! works on its own and is named in the output.

mod common;

use std::process::Command;

fn once(args: &[&str]) -> (serde_json::Value, String) {
    let out = Command::new(common::rstat_bin())
        .args(["--once", "--interval-ms", "50"])
        .args(args)
        .output()
        .expect("run rstat --once");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).expect("JSON"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn auto_picks_iter_and_says_nothing() {
    if !common::need(common::is_root(), "needs root to load BPF") {
        return;
    }
    let (v, err) = once(&[]);
    assert_eq!(v["collector"], "iter", "stderr: {err}");
    assert!(err.is_empty(), "{err}");
    assert!(v["tasks"].as_u64().unwrap_or(0) > 10);
    let (v, err) = once(&["--collector", "iter"]);
    assert_eq!(v["collector"], "iter", "stderr: {err}");
    assert!(!v["top_mem"].as_array().expect("top_mem").is_empty());
}

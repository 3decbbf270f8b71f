//! Without a compositor the bar exits 1 at once with one sentence that
//! suggests `rstat --once` (no hang, no panic).

use std::process::Command;
use std::time::{Duration, Instant};

fn run_bar(envs: &[(&str, &str)], unset: &[&str]) -> (i32, String, Duration) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rstat"));
    cmd.arg("--collector").arg("procfs");
    for k in unset {
        cmd.env_remove(k);
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let t0 = Instant::now();
    let out = cmd.output().expect("run rstat");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        t0.elapsed(),
    )
}

#[test]
fn no_wayland_display() {
    let (code, err, took) = run_bar(&[], &["WAYLAND_DISPLAY", "WAYLAND_SOCKET"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("rstat --once"), "{err}");
    assert!(err.contains("WAYLAND_DISPLAY"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(took < Duration::from_secs(5));
}

#[test]
fn display_that_does_not_exist() {
    let dir = std::env::temp_dir().join("rstat-test-no-compositor");
    let _ = std::fs::create_dir_all(&dir);
    let (code, err, _) = run_bar(
        &[
            ("WAYLAND_DISPLAY", "wayland-nonexistent"),
            ("XDG_RUNTIME_DIR", dir.to_str().unwrap()),
        ],
        &["WAYLAND_SOCKET"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot connect to a Wayland compositor"),
        "{err}"
    );
    assert!(err.contains("rstat --once"), "{err}");
}

//! The mode and scratchpad kinds against a real headless Sway, through
//! `rstat --once --modules`: `swaymsg mode resize` (a mode this test's Sway
//! config defines) is shown and hidden again on `mode default`; two windows
//! moved to the scratchpad show 2, with their titles.

mod common;
mod support;

use std::time::Duration;

use serde_json::Value;
use support::proc::run;
use support::sway::HeadlessSway;

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
}

fn once(sway: &HeadlessSway) -> Value {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--once", "--modules", "--collector", "procfs"]);
    let out = run(&mut cmd, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", out.stderr);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn texts(v: &Value, module: &str) -> Vec<String> {
    v[module]["segments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["text"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn mode_and_scratchpad_follow_swaymsg() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start_with(
        "output HEADLESS-1 resolution 1920x1080 position 0 0\nmode \"resize\" {\n  bindsym Escape mode default\n}\n",
    );
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[bar]\nleft = [\"mode\", \"scratchpad\"]\ncenter = []\nright = []\n",
    )
    .unwrap();

    let v = once(&sway);
    assert!(texts(&v, "mode").is_empty(), "default mode hidden: {v}");
    assert!(
        texts(&v, "scratchpad").is_empty(),
        "empty scratchpad hidden: {v}"
    );

    sway.swaymsg(&["mode", "resize"]);
    assert_eq!(texts(&once(&sway), "mode"), ["resize"]);
    sway.swaymsg(&["mode", "default"]);
    assert!(texts(&once(&sway), "mode").is_empty());

    let _a = support::window::TestWindow::open(&sway, "alpha").expect("window alpha");
    sway.swaymsg(&["move", "scratchpad"]);
    assert_eq!(texts(&once(&sway), "scratchpad"), ["⧉ 1"]);
    let _b = support::window::TestWindow::open(&sway, "beta").expect("window beta");
    sway.swaymsg(&["move", "scratchpad"]);
    let v = once(&sway);
    assert_eq!(texts(&v, "scratchpad"), ["⧉ 2"], "{v}");
}

//! Workspaces and window keys against a real headless Sway: `persistent`
//! workspaces shown while they do not exist (on every output, or on the one
//! named), `all_outputs` drawing every output's workspaces on every bar
//! (checked in screenshots of the second output's bar), and the window's
//! `{class}` (its app id) and `fullscreen` state following `swaymsg
//! fullscreen`.

mod common;
mod support;

use std::time::Duration;

use serde_json::Value;
use support::proc::{poll_every, run, Guarded};
use support::sway::HeadlessSway;

const PATIENCE: Duration = Duration::from_secs(15);

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
}

fn write_config(sway: &HeadlessSway, text: &str) {
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("create the config directory");
    std::fs::write(dir.join("config.toml"), text).expect("write the config");
}

fn once(sway: &HeadlessSway) -> Value {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--once", "--modules", "--collector", "procfs"]);
    let out = run(&mut cmd, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", out.stderr);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// (text, output, states) of each segment of `module`.
fn segs(v: &Value, module: &str) -> Vec<(String, String, Vec<String>)> {
    v[module]["segments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let states = s["states"]
                        .as_array()
                        .map(|l| {
                            l.iter()
                                .filter_map(|x| x.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    (
                        s["text"].as_str().unwrap_or("").to_string(),
                        s["output"].as_str().unwrap_or("").to_string(),
                        states,
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn names(v: &Value) -> Vec<String> {
    segs(v, "workspaces").into_iter().map(|s| s.0).collect()
}

fn add_output(sway: &HeadlessSway) {
    sway.swaymsg(&["create_output"]);
    poll_every(Duration::from_millis(20), PATIENCE, || {
        sway.output("HEADLESS-2")
    })
    .expect("create_output adds HEADLESS-2");
}

#[test]
fn persistent_workspaces_are_shown_while_empty() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        "[bar]\nleft = [\"workspaces\"]\ncenter = []\nright = []\n[module.workspaces]\npersistent = [\"5\", \"3@HEADLESS-1\", \"mail\"]\n",
    );

    // Only workspace 1 exists: 3 and 5 and mail are shown anyway, in order.
    let v = once(&sway);
    let s = segs(&v, "workspaces");
    assert_eq!(names(&v), ["1", "3", "5", "mail"], "{v}");
    assert!(s[0].2.contains(&"focused".to_string()), "{v}");
    for p in &s[1..] {
        assert_eq!(p.2, ["persistent"], "{v}");
        assert_eq!(p.1, "HEADLESS-1", "{v}");
    }

    // Go to 5: it is a real workspace now, focused, not `persistent`; 1
    // (empty) is gone as Sway removes it, and 3 keeps its place.
    sway.swaymsg(&["workspace", "5"]);
    let v = once(&sway);
    let s = segs(&v, "workspaces");
    assert_eq!(names(&v), ["3", "5", "mail"], "{v}");
    assert_eq!(s[1].2, ["visible", "focused"], "{v}");

    // A second output: the everywhere ones appear on its bar too, the one
    // named for HEADLESS-1 does not.
    add_output(&sway);
    let v = poll_every(Duration::from_millis(100), PATIENCE, || {
        let v = once(&sway);
        segs(&v, "workspaces")
            .iter()
            .any(|s| s.1 == "HEADLESS-2")
            .then_some(v)
    })
    .expect("workspaces on HEADLESS-2");
    let on2: Vec<String> = segs(&v, "workspaces")
        .into_iter()
        .filter(|s| s.1 == "HEADLESS-2")
        .map(|s| s.0)
        .collect();
    assert_eq!(on2.len(), 2, "its own workspace and `mail`: {v}");
    assert!(
        on2.contains(&"mail".to_string()) && !on2.contains(&"3".to_string()),
        "{v}"
    );
}

/// How far right the bar on `output` draws anything, once `ok` accepts it.
fn bar_extent(sway: &HeadlessSway, output: &str, ok: impl Fn(usize) -> bool) -> usize {
    let mut last = 0;
    poll_every(Duration::from_millis(50), PATIENCE, || {
        let img = sway.try_screenshot(output).ok()?;
        let bg = img.dominant(0, 28);
        last = (0..img.width)
            .rev()
            .find(|&x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 24))
            .map_or(0, |x| x + 1);
        ok(last).then_some(last)
    })
    .unwrap_or_else(|| panic!("{output}: an extent of {last} px was never accepted"))
}

#[test]
fn all_outputs_draws_every_outputs_workspaces_on_each_bar() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    add_output(&sway);
    let long = "wwwwwwwwwwwwwwwwwwwwwwww";
    let ws = sway.get_workspaces();
    let one = ws
        .as_array()
        .and_then(|a| a.iter().find(|w| w["output"] == "HEADLESS-1"))
        .and_then(|w| w["name"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no workspace on HEADLESS-1: {ws}"));
    sway.swaymsg(&["rename", "workspace", &one, "to", long]);

    write_config(
        &sway,
        "[bar]\nleft = [\"workspaces\"]\ncenter = []\nright = []\n[module.workspaces]\nall_outputs = true\n",
    );
    let v = once(&sway);
    let s = segs(&v, "workspaces");
    assert_eq!(s.len(), 2, "{v}");
    assert!(
        s.iter().all(|x| x.1.is_empty()),
        "for every bar, no output tag: {v}"
    );

    // The bar on HEADLESS-2 draws HEADLESS-1's long name too.
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let e2 = bar_extent(&sway, "HEADLESS-2", |x| x > 200);
    let e1 = bar_extent(&sway, "HEADLESS-1", |x| x > 200);
    eprintln!("all_outputs: HEADLESS-1 ends at {e1} px, HEADLESS-2 at {e2} px");
    bar.assert_running();
    drop(bar);

    // Without it, HEADLESS-2's bar holds only its own short name.
    write_config(
        &sway,
        "[bar]\nleft = [\"workspaces\"]\ncenter = []\nright = []\n",
    );
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let f2 = bar_extent(&sway, "HEADLESS-2", |x| x > 0 && x < 60);
    eprintln!("per output: HEADLESS-2 ends at {f2} px");
    bar.assert_running();
}

#[test]
fn window_class_and_fullscreen_follow_sway() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        "[bar]\nleft = [\"window\"]\ncenter = []\nright = []\n[module.window]\nformat = \"{title} [{class}]\"\n",
    );
    let _w = support::window::TestWindow::open(&sway, "editor").expect("a test window");
    let v = once(&sway);
    assert_eq!(
        segs(&v, "window"),
        [(
            "editor [rstat-test-window]".to_string(),
            String::new(),
            vec![]
        )],
        "{v}"
    );
    sway.swaymsg(&["fullscreen", "enable"]);
    let v = once(&sway);
    assert_eq!(segs(&v, "window")[0].2, ["fullscreen"], "{v}");
    sway.swaymsg(&["fullscreen", "disable"]);
    let v = once(&sway);
    assert!(segs(&v, "window")[0].2.is_empty(), "{v}");

    // The running bar (on the overlay layer, over the fullscreen window)
    // restyles the module by the state: red while fullscreen, none after.
    write_config(
        &sway,
        "[bar]
layer = \"overlay\"\nleft = [\"window\"]\ncenter = []\nright = []\n[module.window.style.fullscreen]\nbackground = \"#ff0000\"\n",
    );
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let red = |on: bool| {
        poll_every(Duration::from_millis(50), PATIENCE, || {
            let img = sway.try_screenshot("HEADLESS-1").ok()?;
            let n = (0..img.width.min(600))
                .filter(|&x| {
                    let p = img.px(x, 14);
                    p[0] > 230 && p[1] < 30 && p[2] < 30
                })
                .count();
            ((n > 20) == on).then_some(n)
        })
    };
    sway.swaymsg(&["fullscreen", "enable"]);
    let n = red(true).unwrap_or_else(|| panic!("no red box while fullscreen\n{}", bar.stderr()));
    eprintln!("fullscreen: {n} red pixels on the bar's middle row");
    sway.swaymsg(&["fullscreen", "disable"]);
    red(false).unwrap_or_else(|| panic!("the red box stayed after fullscreen disable"));
    bar.assert_running();
}

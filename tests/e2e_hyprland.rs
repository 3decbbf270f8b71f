//! The bar against the Hyprland stand-in (Hyprland cannot run here; see
//! tests/common/hyprland.rs for the sources it follows), drawn on a real
//! headless Sway that serves only as the Wayland compositor: the bar talks
//! to "Hyprland" through `HYPRLAND_INSTANCE_SIGNATURE`, Sway's IPC hidden
//! from it. A click on a workspace button sends the dispatch form
//! `j/status` chose (Lua, then, after a reconnect to a hyprlang config, the
//! legacy one, the stand-in refusing the other), and a closed socket2 is
//! recovered with fresh state within a second.

mod common;
mod support;

use std::time::{Duration, Instant};

use common::hyprland::{FakeHyprland, Model};
use serde_json::json;
use support::proc::{poll_every, Guarded};
use support::sway::HeadlessSway;

const PATIENCE: Duration = Duration::from_secs(10);

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
}

fn model() -> Model {
    let mut m = Model::new(
        json!([
            {"id": 1, "name": "1", "monitor": "HEADLESS-1", "monitorID": 0, "windows": 1, "hasfullscreen": false,
             "lastwindow": "0x1", "lastwindowtitle": "kitty", "ispersistent": false, "tiledLayout": "dwindle"},
            {"id": 2, "name": "2", "monitor": "HEADLESS-1", "monitorID": 0, "windows": 1, "hasfullscreen": false,
             "lastwindow": "0x2", "lastwindowtitle": "foot", "ispersistent": false, "tiledLayout": "dwindle"}
        ]),
        json!([
            {"id": 0, "name": "HEADLESS-1", "activeWorkspace": {"id": 2, "name": "2"},
             "specialWorkspace": {"id": 0, "name": ""}, "focused": true, "width": 1920, "height": 1080}
        ]),
        json!({"address": "0x2", "class": "foot", "title": "foot", "workspace": {"id": 2, "name": "2"}, "fullscreen": 0}),
        json!([]),
    );
    m.provider = Some("lua".into());
    m
}

/// The first column of each run of non-background columns in the bar.
fn button_starts(sway: &HeadlessSway, n: usize) -> Vec<usize> {
    poll_every(Duration::from_millis(50), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let bg = img.dominant(0, 28);
        let cols: Vec<usize> = (0..img.width / 4)
            .filter(|&x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 24))
            .collect();
        let mut starts = vec![*cols.first()?];
        for w in cols.windows(2) {
            if w[1] > w[0] + 1 {
                starts.push(w[1]);
            }
        }
        (starts.len() >= n).then_some(starts)
    })
    .unwrap_or_else(|| panic!("{n} workspace buttons never drawn"))
}

#[test]
fn clicks_follow_the_config_provider_and_a_closed_socket2_is_recovered() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let hypr = FakeHyprland::start_in(sway.runtime_dir(), "bar", model());
    let s2 = hypr.serve_events();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[bar]\nleft = [\"workspaces\"]\ncenter = []\nright = []\n",
    )
    .unwrap();
    let mut cmd = sway.client(common::rstat_bin());
    cmd.env_remove("SWAYSOCK")
        .env("HYPRLAND_INSTANCE_SIGNATURE", &hypr.sig)
        .args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (s2.clients() == 1).then_some(())
    })
    .unwrap_or_else(|| panic!("the bar never subscribed to socket2\n{}", bar.stderr()));

    let x = button_starts(&sway, 2);
    let mut pointer = support::pointer::VirtualPointer::new(&sway).expect("virtual pointer");
    pointer.move_to(x[0] as u32 + 2, 14).expect("onto button 1");
    pointer.click(support::pointer::BTN_LEFT).expect("click");
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (!hypr.model.lock().unwrap().commands.is_empty()).then_some(())
    })
    .unwrap_or_else(|| panic!("the click sent nothing\n{}", bar.stderr()));
    {
        let m = hypr.model.lock().unwrap();
        assert_eq!(
            m.commands,
            [r#"dispatch hl.dsp.focus({ workspace = "name:1" })"#]
        );
        assert!(m.refused.is_empty(), "{:?}", m.refused);
    }

    // The user switches to a hyprlang config and Hyprland closes socket2
    // (as 0.56.2 does after its idle lock); a third workspace appeared.
    let t0 = Instant::now();
    {
        let mut m = hypr.model.lock().unwrap();
        m.provider = Some("hyprlang".into());
        m.commands.clear();
        m.workspaces.as_array_mut().unwrap().push(json!(
            {"id": 3, "name": "3", "monitor": "HEADLESS-1", "monitorID": 0, "windows": 1}
        ));
    }
    s2.close_all();
    let back = poll_every(Duration::from_millis(5), Duration::from_secs(5), || {
        let m = hypr.model.lock().unwrap();
        let fresh = ["j/status", "j/workspaces", "j/monitors", "j/activewindow"]
            .iter()
            .all(|r| m.last(r).is_some_and(|t| t > t0));
        (fresh && s2.clients() == 1).then(|| t0.elapsed())
    })
    .unwrap_or_else(|| panic!("socket2 never reconnected\n{}", bar.stderr()));
    eprintln!("socket2 closed: reconnected with fresh state in {back:?}");
    assert!(back < Duration::from_secs(1), "took {back:?}");
    let x = button_starts(&sway, 3);
    assert_eq!(x.len(), 3, "the new workspace is drawn");

    pointer.move_to(x[0] as u32 + 2, 14).expect("onto button 1");
    pointer.click(support::pointer::BTN_LEFT).expect("click");
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (!hypr.model.lock().unwrap().commands.is_empty()).then_some(())
    })
    .unwrap_or_else(|| panic!("the second click sent nothing\n{}", bar.stderr()));
    assert_eq!(
        hypr.model.lock().unwrap().commands,
        ["dispatch workspace name:1"]
    );
    let err = bar.stderr();
    // A loss recovered at the first retry need not be said at all; never twice.
    assert!(err.matches("compositor IPC lost").count() <= 1, "{err}");
    bar.assert_running();
}

/// Hyprland answering socket1 late (a busy compositor) stalls nothing: the
/// requests run in the client's worker thread while the bar keeps drawing
/// (its clock keeps changing in screenshots), and the answers, when they
/// come, are shown.
#[test]
fn a_slow_socket1_does_not_stall_the_bar() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let hypr = FakeHyprland::start_in(sway.runtime_dir(), "slow", model());
    let s2 = hypr.serve_events();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[bar]\nleft = [\"workspaces\"]\ncenter = [\"clock\"]\nright = []\n[module.clock]\nformat = \"%H:%M:%S\"\npopup = false\n",
    )
    .unwrap();
    let mut cmd = sway.client(common::rstat_bin());
    cmd.env_remove("SWAYSOCK")
        .env("HYPRLAND_INSTANCE_SIGNATURE", &hypr.sig)
        .args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (s2.clients() == 1).then_some(())
    })
    .unwrap_or_else(|| panic!("the bar never subscribed to socket2\n{}", bar.stderr()));
    assert_eq!(button_starts(&sway, 2).len(), 2);

    // Every socket1 answer now takes 1.5 s; a new workspace appears.
    let t0 = Instant::now();
    {
        let mut m = hypr.model.lock().unwrap();
        m.delay = Duration::from_millis(1500);
        m.workspaces.as_array_mut().unwrap().push(json!(
            {"id": 3, "name": "3", "monitor": "HEADLESS-1", "monitorID": 0, "windows": 1}
        ));
    }
    s2.post("createworkspace", "3");
    s2.post("createworkspacev2", "3,3");
    s2.flush();
    let clock = |img: &support::image::Image| img.crop(760, 0, 400, 28).rgb.clone();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    while t0.elapsed() < Duration::from_secs(4) {
        if let Ok(img) = sway.try_screenshot("HEADLESS-1") {
            let c = clock(&img);
            if seen.last() != Some(&c) {
                seen.push(c);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let asked = hypr
        .model
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|(t, _)| *t > t0)
        .count();
    eprintln!(
        "while socket1 answered in 1.5 s: {} clock faces in 4 s, {asked} requests answered",
        seen.len()
    );
    assert!(
        seen.len() >= 3,
        "the clock stopped while Hyprland was slow: {} distinct faces in 4 s",
        seen.len()
    );
    // The slow answers arrive and are drawn.
    hypr.model.lock().unwrap().delay = Duration::ZERO;
    assert_eq!(
        button_starts(&sway, 3).len(),
        3,
        "the new workspace is drawn"
    );
    bar.assert_running();
}

/// What Hyprland's sockets could send that they should not: events with
/// data of the wrong form, replies of unexpected shapes, a 4 MB reply of
/// 20,000 workspaces. The bar draws on (its clock keeps changing), shows at
/// most its 32 buttons, and follows sane state again when it comes.
#[test]
fn odd_events_and_replies_from_hyprland_leave_the_bar_drawing() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let hypr = FakeHyprland::start_in(sway.runtime_dir(), "odd", model());
    let s2 = hypr.serve_events();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[bar]\nleft = [\"workspaces\"]\ncenter = [\"clock\"]\nright = []\n[module.clock]\nformat = \"%H:%M:%S\"\npopup = false\n",
    )
    .unwrap();
    let mut cmd = sway.client(common::rstat_bin());
    cmd.env_remove("SWAYSOCK")
        .env("HYPRLAND_INSTANCE_SIGNATURE", &hypr.sig)
        .args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (s2.clients() == 1).then_some(())
    })
    .unwrap_or_else(|| panic!("the bar never subscribed to socket2\n{}", bar.stderr()));
    button_starts(&sway, 2);

    // Replies of the wrong shape, then events of the wrong form.
    {
        let mut m = hypr.model.lock().unwrap();
        m.workspaces = json!("not a list");
        m.monitors = json!({"weird": true});
        m.active = json!([1, 2, 3]);
        m.devices = json!(null);
    }
    for (name, data) in [
        ("workspace", "\u{fffd}\u{fffd}"),
        ("workspacev2", "no comma"),
        ("activewindow", "no comma at all"),
        ("activewindowv2", "zz"),
        ("fullscreen", "banana"),
        ("submap", &"x".repeat(5000)),
        ("activelayout", ""),
        ("createworkspacev2", "abc,def"),
        ("notanevent", "whatever"),
    ] {
        s2.post(name, data);
    }
    s2.flush();
    let clock = |img: &support::image::Image| img.crop(760, 0, 400, 28).rgb.clone();
    let mut faces: Vec<Vec<u8>> = Vec::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_millis(3500) {
        if let Ok(img) = sway.try_screenshot("HEADLESS-1") {
            let c = clock(&img);
            if faces.last() != Some(&c) {
                faces.push(c);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.assert_running();
    assert!(
        faces.len() >= 2,
        "the clock stopped: {} faces\n{}",
        faces.len(),
        bar.stderr()
    );

    // A 4 MB reply of 20,000 workspaces: at most 32 buttons, still drawing.
    {
        let mut m = hypr.model.lock().unwrap();
        m.workspaces = serde_json::Value::Array(
            (1..=20_000)
                .map(|i| json!({"id": i, "name": format!("{i}-{}", "w".repeat(180)), "monitor": "HEADLESS-1", "windows": 1}))
                .collect(),
        );
        m.monitors = model().monitors;
        m.active = model().active;
    }
    s2.post("createworkspacev2", "20000,20000");
    s2.flush();
    poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let bg = img.dominant(0, 28);
        // Long names fill the left of the bar.
        (0..700)
            .rev()
            .find(|&x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 24))
            .filter(|&x| x > 500)
            .map(|_| ())
    })
    .unwrap_or_else(|| panic!("the big reply was never drawn\n{}", bar.stderr()));
    bar.assert_running();

    // Sane again: the two workspaces of the model.
    {
        let mut m = hypr.model.lock().unwrap();
        *m = model();
    }
    s2.post("destroyworkspacev2", "20000,20000");
    s2.flush();
    poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let bg = img.dominant(0, 28);
        let cols: Vec<usize> = (0..img.width / 4)
            .filter(|&x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 24))
            .collect();
        let runs = cols.windows(2).filter(|w| w[1] > w[0] + 1).count() + 1;
        (!cols.is_empty() && runs == 2 && *cols.last()? < 100).then_some(())
    })
    .unwrap_or_else(|| panic!("the sane state was never drawn again\n{}", bar.stderr()));
    let err = bar.stderr();
    assert!(!err.contains("panicked"), "{err}");
    eprintln!("{} clock faces while odd; stderr:\n{err}", faces.len());
    bar.assert_running();
}

//! The built-in config in a real headless Sway: with no config file the bar
//! shows Waybar's layout (workspaces and mode at the left, the window title
//! in the centre, sound, network, health, backlight, battery, tray and the
//! clock at the right), modules whose source this machine lacks show nothing
//! and say nothing on stderr, and `--print-default-config` saved as the
//! config passes `--check-config` and gives the same modules.

mod common;
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::dbus::PrivateBus;
use support::proc::{run, Guarded};
use support::sway::HeadlessSway;
use support::window::TestWindow;

const PATIENCE: Duration = Duration::from_secs(20);

/// The default layout, in drawing order.
const LAYOUT: &[&str] = &[
    "workspaces",
    "mode",
    "window",
    "audio",
    "network",
    "health",
    "backlight",
    "battery",
    "tray",
    "clock",
];

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
        && common::need(common::have("grim"), "needs grim (apt-get install grim)")
}

/// A client of `sway` on a desktop with a session bus (`bus`) but no sound
/// server, no system bus (its address names a file that does not exist),
/// and nothing of this test's own environment.
fn client(sway: &HeadlessSway, bus: &PrivateBus) -> std::process::Command {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            format!(
                "unix:path={}",
                sway.runtime_dir().join("no-system-bus").display()
            ),
        )
        .env_remove("PULSE_SERVER")
        .env_remove("PULSE_RUNTIME_PATH")
        .env("RUST_BACKTRACE", "1");
    cmd
}

fn session_bus() -> Option<PrivateBus> {
    let bus = PrivateBus::start("default");
    common::need(
        bus.is_some(),
        "needs dbus-daemon (apt-get install dbus-daemon)",
    );
    bus
}

fn once(sway: &HeadlessSway, bus: &PrivateBus, config: Option<&Path>) -> Value {
    let mut cmd = client(sway, bus);
    cmd.args(["--once", "--modules", "--collector", "procfs"]);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let out = run(&mut cmd, PATIENCE).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", out.stderr);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn text(v: &Value, module: &str) -> String {
    v[module]["text"].as_str().unwrap_or("").to_string()
}

/// Whether the machine has a device of `class` (`power_supply` of type
/// Battery, any `backlight`).
fn machine_has(class: &str) -> bool {
    let Ok(dir) = std::fs::read_dir(Path::new("/sys/class").join(class)) else {
        return false;
    };
    dir.flatten().any(|e| {
        class != "power_supply"
            || std::fs::read_to_string(e.path().join("type")).is_ok_and(|t| t.trim() == "Battery")
    })
}

/// The focused workspace's segment states.
fn focused_states(v: &Value) -> Vec<String> {
    v["workspaces"]["segments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["states"].as_array())
        .find(|st| st.iter().any(|x| x == "focused"))
        .map(|st| {
            st.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn with_no_config_the_bar_is_waybars_layout_and_quiet() {
    if !ready() {
        return;
    }
    let Some(bus) = session_bus() else { return };
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    assert!(
        !sway.config_home().join("rstat/config.toml").exists(),
        "the test needs no config file"
    );
    let win = TestWindow::open(&sway, "default-bar-title").expect("a test window");

    // What each module would draw: the layout's keys in order, the sources
    // this machine has shown, the others empty.
    let v = once(&sway, &bus, None);
    drop(win);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want: Vec<&str> = LAYOUT.to_vec();
    want.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, want, "{v}");
    assert!(!text(&v, "workspaces").is_empty(), "{v}");
    assert!(focused_states(&v).iter().any(|s| s == "focused"), "{v}");
    assert_eq!(text(&v, "mode"), "", "the default mode is hidden: {v}");
    assert_eq!(text(&v, "window"), "default-bar-title", "{v}");
    assert!(text(&v, "health").contains("CPU"), "{v}");
    assert!(!text(&v, "clock").is_empty(), "{v}");
    assert_eq!(text(&v, "audio"), "", "no sound server: hidden: {v}");
    assert_eq!(text(&v, "tray"), "", "no items: {v}");
    if !machine_has("power_supply") {
        assert_eq!(text(&v, "battery"), "", "{v}");
    }
    if !machine_has("backlight") {
        assert_eq!(text(&v, "backlight"), "", "{v}");
    }

    // The bar itself: drawn, and nothing on stderr for the sources it lacks,
    // past the sound server's first reconnect attempts.
    let mut bar = Guarded::spawn(
        "rstat",
        client(&sway, &bus).args(["--collector", "procfs"]),
        &sway.runtime_dir().join("rstat.stderr"),
    );
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE)
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(4) {
        bar.assert_running();
        std::thread::sleep(Duration::from_millis(200));
    }
    let err = bar.stderr();
    assert!(
        err.trim().is_empty(),
        "the default bar said something on a desktop without sound, system bus, battery or backlight:\n{err}"
    );
}

#[test]
fn the_printed_default_is_a_clean_config_with_the_same_modules() {
    if !ready() {
        return;
    }
    let Some(bus) = session_bus() else { return };
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let printed = run(
        std::process::Command::new(common::rstat_bin()).arg("--print-default-config"),
        PATIENCE,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(printed.status.success(), "{}", printed.stderr);
    let path = sway.runtime_dir().join("printed.toml");
    std::fs::write(&path, &printed.stdout).expect("write the printed config");

    let check = run(
        std::process::Command::new(common::rstat_bin())
            .arg("--check-config")
            .arg(&path),
        PATIENCE,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{said}{}", check.stderr);
    assert!(said.trim_end().ends_with(": ok"), "{said}");
    assert!(check.stderr.trim().is_empty(), "{}", check.stderr);

    let builtin = once(&sway, &bus, None);
    let saved = once(&sway, &bus, Some(&path));
    let shape = |v: &Value| -> Vec<(String, Vec<Value>)> {
        let mut out: Vec<_> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, m)| {
                // Text and states, but not the figures that move between
                // two runs (health's, the clock's).
                let segs = m["segments"].as_array().cloned().unwrap_or_default();
                let segs = segs
                    .into_iter()
                    .map(|s| match k.as_str() {
                        "health" | "clock" | "network" => s["states"].clone(),
                        _ => serde_json::json!([s["text"], s["states"]]),
                    })
                    .collect();
                (k.clone(), segs)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    assert_eq!(shape(&saved), shape(&builtin), "{saved}\n{builtin}");
}

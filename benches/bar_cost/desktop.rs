//! The "desktop" scenario: the bar a Waybar user runs, beside Waybar 0.9.17
//! with the same modules, in one headless Sway and the same run.
//!
//! What both bars see:
//! - a real sound server: `pipewire`, `wireplumber` and `pipewire-pulse` as
//!   uid 65534 in their own runtime directory, a null sink as the default
//!   sink; both bars reach it through `PULSE_SERVER`;
//! - a private session bus (`dbus-daemon`) with two tray items, started once
//!   each bar shows its first frame (so the watcher the bar hosts is there):
//!   an Ayatana AppIndicator (python3-gi) and a Qt `QSystemTrayIcon`
//!   (python3-pyqt5), both real clients on the Wayland display;
//! - a battery, a mains adapter, a backlight and a thermal zone: fixture
//!   directories bind-mounted over `/sys/class` in a mount namespace of the
//!   bar's own (`unshare --mount`), every other class left as the kernel
//!   has it (absolute symlinks into `/sys/devices`). Waybar reads these
//!   files directly, so both bars read the same numbers;
//! - a custom script run every second (`sh`, no other program);
//! - Sway's workspaces, binding mode and focused window.
//!
//! rstat's config lists a module kind only when this build knows it (each
//! candidate is checked with `rstat --check-config`), and the bench prints
//! which were included. Everything updates at 1 s. `RSTAT_BENCH_BASELINE`
//! adds another rstat build with the same config (row `rstat-baseline`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::support::dbus::PrivateBus;
use super::support::proc::{wait_for, Guarded};
use super::support::sway::HeadlessSway;
use super::{baseline_verdict, common, get, measure_with, report, version, Row, SETTLE};

/// rstat's modules, by kind, as (kind, instance name, its table's keys).
/// The first three go left, the clock centre, the rest right.
const RSTAT_MODULES: &[(&str, &str, &str)] = &[
    ("workspaces", "workspaces", ""),
    ("mode", "mode", ""),
    ("window", "window", ""),
    ("clock", "clock", "format = \"%H:%M:%S\"\n"),
    ("audio", "audio", ""),
    ("network", "network", "interval_ms = 1000\n"),
    ("cpu", "cpu", "interval_ms = 1000\n"),
    ("memory", "memory", "interval_ms = 1000\n"),
    ("temperature", "temperature", "interval_ms = 1000\n"),
    ("backlight", "backlight", ""),
    ("battery", "battery", "interval_ms = 1000\n"),
    ("tray", "tray", ""),
    (
        "custom",
        "custom#script",
        "exec = \"SCRIPT\"\ninterval_ms = 1000\n",
    ),
];

/// Waybar 0.9.17 with the modules the issue lists (and the backlight both
/// can read), every interval 1 s.
const WAYBAR_CONFIG: &str = r#"{
  "layer": "top",
  "position": "top",
  "height": 28,
  "modules-left": ["sway/workspaces", "sway/mode", "sway/window"],
  "modules-center": ["clock"],
  "modules-right": ["pulseaudio", "network", "cpu", "memory", "temperature", "backlight", "battery", "tray", "custom/script"],
  "clock": { "interval": 1, "format": "{:%H:%M:%S}" },
  "cpu": { "interval": 1, "format": "CPU {usage}%" },
  "memory": { "interval": 1, "format": "MEM {percentage}%" },
  "temperature": { "interval": 1, "thermal-zone": 0, "format": "{temperatureC}°C" },
  "network": { "interval": 1, "format": "{ifname} {ipaddr}", "format-disconnected": "offline" },
  "battery": { "interval": 1, "format": "BAT {capacity}%" },
  "backlight": { "format": "LIGHT {percent}%" },
  "pulseaudio": { "format": "VOL {volume}%" },
  "tray": { "spacing": 4 },
  "custom/script": { "exec": "SCRIPT", "interval": 1 }
}
"#;

const WAYBAR_STYLE: &str = r#"* { font-family: monospace; font-size: 14px; min-height: 0; }
window#waybar { background: #202020; color: #ffffff; }
#workspaces button, #mode, #window, #clock, #pulseaudio, #network, #cpu, #memory,
#temperature, #backlight, #battery, #tray, #custom-script { padding: 0 6px; }
"#;

/// The custom script: shell builtins only, so each run is one `sh`.
const SCRIPT: &str = "#!/bin/sh\nread up idle < /proc/uptime\necho \"up ${up%.*}s\"\n";

const APPINDICATOR: &str = r#"
import signal, gi
gi.require_version('Gtk', '3.0')
gi.require_version('AyatanaAppIndicator3', '0.1')
from gi.repository import Gtk, AyatanaAppIndicator3 as A
ind = A.Indicator.new('rstat-bench', 'audio-volume-high', A.IndicatorCategory.APPLICATION_STATUS)
ind.set_status(A.IndicatorStatus.ACTIVE)
menu = Gtk.Menu()
item = Gtk.MenuItem(label='Quit')
menu.append(item)
menu.show_all()
ind.set_menu(menu)
signal.signal(signal.SIGTERM, signal.SIG_DFL)
Gtk.main()
"#;

const QT_TRAY: &str = r#"
import signal, sys
from PyQt5.QtWidgets import QApplication, QSystemTrayIcon, QMenu
from PyQt5.QtGui import QIcon, QPixmap, QColor
signal.signal(signal.SIGTERM, signal.SIG_DFL)
app = QApplication(sys.argv)
app.setQuitOnLastWindowClosed(False)
pm = QPixmap(22, 22)
pm.fill(QColor('#3daee9'))
icon = QSystemTrayIcon(QIcon(pm))
menu = QMenu()
menu.addAction('Quit')
icon.setContextMenu(menu)
icon.setToolTip('rstat bench')
icon.show()
sys.exit(app.exec_())
"#;

/// The sysfs fixture: `/sys/class` as the kernel has it, but with a
/// battery, an adapter, a backlight and a thermal zone of ours.
fn sys_class(dir: &Path) -> std::io::Result<PathBuf> {
    let root = dir.join("sys-class");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root)?;
    let ours = ["power_supply", "backlight", "thermal"];
    for class in std::fs::read_dir("/sys/class")?.flatten() {
        let name = class.file_name();
        if ours.iter().any(|o| name == *o) {
            continue;
        }
        let to = root.join(&name);
        std::fs::create_dir_all(&to)?;
        for e in std::fs::read_dir(class.path())?.flatten() {
            if let Ok(target) = std::fs::canonicalize(e.path()) {
                std::os::unix::fs::symlink(target, to.join(e.file_name()))?;
            }
        }
    }
    let files = |dir: PathBuf, list: &[(&str, &str)]| -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        for (f, v) in list {
            std::fs::write(dir.join(f), format!("{v}\n"))?;
        }
        Ok(())
    };
    files(
        root.join("power_supply/BAT0"),
        &[
            ("type", "Battery"),
            ("present", "1"),
            ("status", "Discharging"),
            ("capacity", "76"),
            ("energy_now", "38000000"),
            ("energy_full", "50000000"),
            ("energy_full_design", "52000000"),
            ("power_now", "9500000"),
            ("voltage_now", "12100000"),
            ("technology", "Li-ion"),
            ("scope", "System"),
            ("uevent", "POWER_SUPPLY_NAME=BAT0"),
        ],
    )?;
    files(
        root.join("power_supply/AC"),
        &[
            ("type", "Mains"),
            ("online", "0"),
            ("uevent", "POWER_SUPPLY_NAME=AC"),
        ],
    )?;
    files(
        root.join("backlight/bench_backlight"),
        &[
            ("brightness", "400"),
            ("actual_brightness", "400"),
            ("max_brightness", "1000"),
            ("type", "raw"),
            ("uevent", ""),
        ],
    )?;
    files(
        root.join("thermal/thermal_zone0"),
        &[("type", "x86_pkg_temp"), ("temp", "47000")],
    )?;
    Ok(root)
}

/// A bar's command inside its own mount namespace with `class` over
/// `/sys/class`. `unshare` and `sh` exec into the bar: its pid stays the one
/// measured.
fn in_fixture(sway: &HeadlessSway, class: &Path, bar: &Path, args: &[String]) -> Command {
    let mut cmd = sway.client("unshare");
    cmd.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        "mount --bind \"$1\" /sys/class && shift && exec \"$@\"",
        "sh",
    ])
    .arg(class)
    .arg(bar)
    .args(args);
    cmd
}

/// The sound server as uid 65534 in `dir`, with a null sink as default.
struct Sound {
    _daemons: Vec<Guarded>,
    /// `unix:…/pulse/native`.
    server: String,
}

fn as_nobody(program: &str, dir: &Path, bus: &str) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", program])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_RUNTIME_DIR", dir)
        .env("DBUS_SESSION_BUS_ADDRESS", bus)
        .current_dir(dir);
    c
}

fn start_sound(dir: &Path, bus: &str) -> Result<Sound, String> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    std::os::unix::fs::chown(dir, Some(65534), Some(65534))
        .map_err(|e| format!("chown {}: {e}", dir.display()))?;
    let mut daemons = Vec::new();
    for (program, ready) in [
        ("pipewire", "pipewire-0"),
        ("wireplumber", ""),
        ("pipewire-pulse", "pulse/native"),
    ] {
        daemons.push(Guarded::spawn(
            program,
            &mut as_nobody(program, dir, bus),
            &dir.join(format!("{program}.stderr")),
        ));
        if !ready.is_empty()
            && wait_for(Duration::from_secs(10), || {
                dir.join(ready).exists().then_some(())
            })
            .is_none()
        {
            return Err(format!("{program} did not create {ready}"));
        }
    }
    let pactl = |args: &[&str]| -> Result<String, String> {
        let out = super::support::proc::run(
            as_nobody("pactl", dir, bus).args(args),
            Duration::from_secs(10),
        )?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!("pactl {args:?}: {}", out.stderr))
        }
    };
    pactl(&["load-module", "module-null-sink", "sink_name=bench_null"])?;
    // The session manager picks up the new sink a moment later.
    let default = wait_for(Duration::from_secs(10), || {
        let _ = pactl(&["set-default-sink", "bench_null"]);
        pactl(&["get-default-sink"])
            .ok()
            .filter(|s| s.trim() == "bench_null")
    });
    if default.is_none() {
        return Err("the null sink did not become the default sink".into());
    }
    // The bars run as root without CAP_DAC_OVERRIDE (rstat drops it):
    // let them through to the socket, as their own user's session would.
    for (p, mode) in [(dir.to_path_buf(), 0o711), (dir.join("pulse"), 0o711)] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("chmod {}: {e}", p.display()))?;
    }
    Ok(Sound {
        _daemons: daemons,
        server: format!("unix:{}", dir.join("pulse/native").display()),
    })
}

/// The kinds of [`RSTAT_MODULES`] this rstat build accepts, each checked
/// alone with `--check-config`.
fn known_kinds(dir: &Path) -> Vec<&'static str> {
    let mut known = Vec::new();
    for &(kind, name, keys) in RSTAT_MODULES {
        let path = dir.join(format!("check-{kind}.toml"));
        let text = format!(
            "[bar]\nleft = [\"{name}\"]\ncenter = []\nright = []\n[module.\"{name}\"]\n{}",
            keys.replace("SCRIPT", "/bin/true")
        );
        if std::fs::write(&path, text).is_err() {
            continue;
        }
        let ok = super::support::proc::run(
            Command::new(common::rstat_bin())
                .arg("--check-config")
                .arg(&path),
            Duration::from_secs(10),
        )
        .is_ok_and(|o| o.status.success());
        if ok {
            known.push(kind);
        }
    }
    known
}

/// rstat's config for the kinds in `known`.
fn rstat_config(known: &[&str], script: &Path) -> String {
    let listed: Vec<&(&str, &str, &str)> = RSTAT_MODULES
        .iter()
        .filter(|(k, _, _)| known.contains(k))
        .collect();
    let names = |side: &[&str]| {
        listed
            .iter()
            .filter(|(k, _, _)| side.contains(k))
            .map(|(_, n, _)| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!(
        "[bar]\nheight = 28\nleft = [{}]\ncenter = [{}]\nright = [{}]\n",
        names(&["workspaces", "mode", "window"]),
        names(&["clock"]),
        names(&[
            "audio",
            "network",
            "cpu",
            "memory",
            "temperature",
            "backlight",
            "battery",
            "tray",
            "custom"
        ]),
    );
    for (_, name, keys) in &listed {
        if !keys.is_empty() {
            text += &format!(
                "[module.\"{name}\"]\n{}",
                keys.replace("SCRIPT", &script.display().to_string())
            );
        }
    }
    text
}

/// Runs the scenario and prints its table and verdict.
pub fn run(window: Duration, bpf_stats: bool, rstat_args: &str) {
    let tools = [
        "unshare",
        "setpriv",
        "pipewire",
        "wireplumber",
        "pipewire-pulse",
        "pactl",
        "dbus-daemon",
        "waybar",
    ];
    if !tools.iter().all(|t| {
        common::need(
            common::have(t),
            &format!("the desktop scenario needs `{t}`"),
        )
    }) {
        return;
    }
    let python = "/usr/bin/python3";
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().to_path_buf();
    let Some(bus) = PrivateBus::start("bench-desktop") else {
        common::need(false, "the desktop scenario needs dbus-daemon");
        return;
    };
    let sound = match start_sound(&dir.join("sound"), &bus.address) {
        Ok(s) => s,
        Err(e) => {
            common::need(false, &format!("the desktop scenario's sound server: {e}"));
            return;
        }
    };
    let class = sys_class(&dir).unwrap_or_else(|e| panic!("the /sys/class fixture: {e}"));
    let script = dir.join("script.sh");
    std::fs::write(&script, SCRIPT).expect("write the custom script");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the custom script");
    }
    let known = known_kinds(&dir);
    let left_out: Vec<&str> = RSTAT_MODULES
        .iter()
        .map(|(k, _, _)| *k)
        .filter(|k| !known.contains(k))
        .collect();
    // In a directory of its own the unprivileged bar may read, so it watches
    // the file for changes as a user's bar does (the runtime directory is
    // only searchable).
    let config_dir = dir.join("rstat-config");
    std::fs::create_dir_all(&config_dir).expect("create rstat's config directory");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config_dir, std::fs::Permissions::from_mode(0o755))
            .expect("chmod rstat's config directory");
    }
    let config = config_dir.join("desktop.toml");
    std::fs::write(&config, rstat_config(&known, &script)).expect("write rstat's config");
    let wconf = dir.join("waybar-desktop.json");
    let wstyle = dir.join("waybar-desktop.css");
    std::fs::write(
        &wconf,
        WAYBAR_CONFIG.replace("SCRIPT", &script.display().to_string()),
    )
    .expect("write Waybar's config");
    std::fs::write(&wstyle, WAYBAR_STYLE).expect("write Waybar's style");
    for (f, text) in [("appindicator.py", APPINDICATOR), ("qt_tray.py", QT_TRAY)] {
        std::fs::write(dir.join(f), text).expect("write a tray client");
    }

    // Everything a bar and its tray items share.
    let env = |cmd: &mut Command| {
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .env("PULSE_SERVER", &sound.server);
    };
    let tray_items = |tag: &str| -> Vec<Guarded> {
        let mut items = Vec::new();
        for (f, extra) in [
            ("appindicator.py", ("GDK_BACKEND", "wayland")),
            ("qt_tray.py", ("QT_QPA_PLATFORM", "wayland")),
        ] {
            let mut cmd = sway.client(python);
            env(&mut cmd);
            cmd.arg(dir.join(f)).env(extra.0, extra.1);
            items.push(Guarded::spawn(
                f,
                &mut cmd,
                &dir.join(format!("{tag}-{f}.stderr")),
            ));
        }
        items
    };

    let mut rows = Vec::new();
    let mut args: Vec<String> = rstat_args.split_whitespace().map(String::from).collect();
    args.push("--config".into());
    args.push(config.display().to_string());
    let mut runs: Vec<(&'static str, Command)> = Vec::new();
    let mut r = in_fixture(&sway, &class, Path::new(common::rstat_bin()), &args);
    env(&mut r);
    runs.push(("rstat", r));
    // Another build with the same config, for a before/after in this run.
    let baseline = std::env::var_os("RSTAT_BENCH_BASELINE").map(PathBuf::from);
    if let Some(base) = &baseline {
        let mut b = in_fixture(&sway, &class, base, &args);
        env(&mut b);
        runs.push(("rstat-baseline", b));
    }
    let wargs = vec![
        "-c".to_string(),
        wconf.display().to_string(),
        "-s".to_string(),
        wstyle.display().to_string(),
    ];
    let waybar_bin = which("waybar").unwrap_or_else(|| PathBuf::from("waybar"));
    let mut w = in_fixture(&sway, &class, &waybar_bin, &wargs);
    env(&mut w);
    runs.push(("waybar", w));
    for (name, mut cmd) in runs {
        let mut items = Vec::new();
        let result = measure_with(&sway, name, &mut cmd, window, bpf_stats, &mut || {
            items = tray_items(name);
        });
        let dead: Vec<String> = items
            .iter_mut()
            .filter_map(|i| i.exited().map(|s| format!("{s}: {}", i.stderr())))
            .collect();
        if !dead.is_empty() {
            eprintln!("{name}: a tray item exited during the window: {dead:?}");
        }
        drop(items);
        // What the bar said (a source it could not reach shows here).
        let said =
            std::fs::read_to_string(dir.join(format!("{name}.bench.stderr"))).unwrap_or_default();
        for line in said.lines().filter(|l| !l.trim().is_empty()).take(8) {
            println!("{name} stderr: {line}");
        }
        let program = match (name, &baseline) {
            ("rstat", _) => common::rstat_bin().to_string(),
            ("rstat-baseline", Some(b)) => b.display().to_string(),
            _ => name.to_string(),
        };
        rows.push(Row {
            name,
            version: version(&program, &["--version"]),
            result,
        });
    }
    report(
        &rows,
        &format!(
            "bar_cost desktop: the bar a Waybar user runs, each bar alone in one headless Sway \
             with PipeWire (null sink), a private session bus with 2 tray items, battery/backlight/thermal \
             fixtures, a custom script; 1 s intervals, {}s window after {}s settling",
            window.as_secs(),
            SETTLE.as_secs()
        ),
    );
    println!(
        "rstat modules included: {}; not known to this build: {}",
        known.join(", "),
        if left_out.is_empty() {
            "none".to_string()
        } else {
            left_out.join(", ")
        }
    );
    if let (Some(r), Some(w)) = (get(&rows, "rstat"), get(&rows, "waybar")) {
        let mib = r.rss_kib as f64 / 1024.0;
        let rss = r.rss_kib as f64 / w.rss_kib.max(1) as f64;
        let cpu = r.total_secs() / w.total_secs().max(1e-9);
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "rstat / waybar: RSS {rss:.2}x, CPU {cpu:.3}x ({:.4} s vs {:.4} s), wakeups {:.2}/s vs {:.2}/s, first frame {} ms vs {} ms",
            r.total_secs(),
            w.total_secs(),
            r.wakeups_per_sec,
            w.wakeups_per_sec,
            r.zone_after.map_or(0, |d| d.as_millis()),
            w.zone_after.map_or(0, |d| d.as_millis())
        );
        println!(
            "targets: RSS <= 1/5 of Waybar's ({}), CPU <= 1/10 of Waybar's ({}), RSS <= 8 MiB ({mib:.1} MiB: {})",
            verdict(rss <= 0.2),
            verdict(cpu <= 0.1),
            verdict(mib <= 8.0)
        );
    }
    baseline_verdict(&rows);
    if let (Some(b), Some(w)) = (get(&rows, "rstat-baseline"), get(&rows, "waybar")) {
        println!(
            "rstat-baseline / waybar: CPU {:.3}x",
            b.total_secs() / w.total_secs().max(1e-9)
        );
    }
    drop(sound);
    drop(bus);
}

/// The full path of `program` on `PATH`.
fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// `RSTAT_BENCH_SCENARIO=builtin`: rstat with no config file (its built-in
/// Waybar-like layout and theme) on the desktop scenario's machine: PipeWire's
/// pulse server with a null sink, a private session bus with the two tray
/// items, the battery/backlight/thermal fixtures. rstat alone: the issue's
/// target is its own resident memory (≤ 6 MiB).
pub fn builtin(window: Duration, bpf_stats: bool, rstat_args: &str) {
    let tools = [
        "unshare",
        "setpriv",
        "pipewire",
        "wireplumber",
        "pipewire-pulse",
        "dbus-daemon",
    ];
    if !tools.iter().all(|t| {
        common::need(
            common::have(t),
            &format!("the builtin scenario needs `{t}`"),
        )
    }) {
        return;
    }
    let python = "/usr/bin/python3";
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().to_path_buf();
    assert!(
        !sway.config_home().join("rstat/config.toml").exists(),
        "the builtin scenario runs rstat without a config file"
    );
    let Some(bus) = PrivateBus::start("bench-builtin") else {
        common::need(false, "the builtin scenario needs dbus-daemon");
        return;
    };
    let sound = match start_sound(&dir.join("sound"), &bus.address) {
        Ok(s) => s,
        Err(e) => {
            common::need(false, &format!("the builtin scenario's sound server: {e}"));
            return;
        }
    };
    let class = sys_class(&dir).unwrap_or_else(|e| panic!("the /sys/class fixture: {e}"));
    for (f, text) in [("appindicator.py", APPINDICATOR), ("qt_tray.py", QT_TRAY)] {
        std::fs::write(dir.join(f), text).expect("write a tray client");
    }
    let args: Vec<String> = rstat_args.split_whitespace().map(String::from).collect();
    let mut cmd = in_fixture(&sway, &class, Path::new(common::rstat_bin()), &args);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("PULSE_SERVER", &sound.server);
    let mut items = Vec::new();
    let result = measure_with(&sway, "rstat", &mut cmd, window, bpf_stats, &mut || {
        for (f, extra) in [
            ("appindicator.py", ("GDK_BACKEND", "wayland")),
            ("qt_tray.py", ("QT_QPA_PLATFORM", "wayland")),
        ] {
            let mut c = sway.client(python);
            c.env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
                .env("PULSE_SERVER", &sound.server)
                .arg(dir.join(f))
                .env(extra.0, extra.1);
            items.push(Guarded::spawn(
                f,
                &mut c,
                &dir.join(format!("builtin-{f}.stderr")),
            ));
        }
    });
    drop(items);
    let said = std::fs::read_to_string(dir.join("rstat.bench.stderr")).unwrap_or_default();
    for line in said.lines().filter(|l| !l.trim().is_empty()).take(8) {
        println!("rstat stderr: {line}");
    }
    let rows = vec![Row {
        name: "rstat",
        version: version(common::rstat_bin(), &["--version"]),
        result,
    }];
    report(
        &rows,
        &format!(
            "bar_cost builtin: rstat with no config file (the built-in layout and theme) in one \
             headless Sway with PipeWire (null sink), a private session bus with 2 tray items, \
             battery/backlight/thermal fixtures; {}s window after {}s settling",
            window.as_secs(),
            SETTLE.as_secs()
        ),
    );
    if let Some(r) = get(&rows, "rstat") {
        let mib = r.rss_kib as f64 / 1024.0;
        println!(
            "target: whole-bar RSS with the default layout <= 6 MiB ({mib:.1} MiB: {})",
            if mib <= 6.0 { "met" } else { "NOT met" }
        );
    }
    drop(sound);
    drop(bus);
}

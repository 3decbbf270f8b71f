//! `rstat --once --modules` reads the buses: a real power-profiles-daemon,
//! a real mpv with mpv-mpris and the BlueZ stand-in
//! (`tests/fixtures/bluez/standin.py`: no Bluetooth controller here) on one
//! private bus the test starts, named to rstat as both its session and its
//! system bus. The JSON shows power_profile, media and bluetooth with their
//! states.

mod common;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command as Proc, Stdio};
use std::time::Duration;

use support::dbus::PrivateBus;
use support::proc::{wait_for, Guarded};

const PPD: &str = "/usr/libexec/power-profiles-daemon";
const MPRIS: &str = "/usr/lib/mpv-mpris/mpris.so";
const PY: &str = "/usr/bin/python3";

fn ask(address: &str, cmd: &str, args: &[&str]) -> String {
    let out = Proc::new(cmd)
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .env("DBUS_SYSTEM_BUS_ADDRESS", address)
        .output()
        .unwrap_or_else(|e| panic!("run {cmd}: {e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn once_modules_shows_power_profile_media_and_bluetooth() {
    let gi = Proc::new(PY)
        .args(["-c", "from gi.repository import Gio"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !common::need(common::is_root(), "needs root to run power-profiles-daemon")
        || !common::need(
            Path::new(PPD).exists() && common::have("powerprofilesctl"),
            "needs power-profiles-daemon (apt-get install power-profiles-daemon)",
        )
        || !common::need(
            Path::new(MPRIS).exists() && common::have("mpv") && common::have("playerctl"),
            "needs mpv, mpv-mpris and playerctl",
        )
        || !common::need(common::have("sox"), "needs sox (apt-get install sox)")
        || !common::need(gi, "needs python3-gi (apt-get install python3-gi)")
    {
        return;
    }
    let Some(bus) = PrivateBus::start("once-desktop") else {
        common::need(false, "needs dbus-daemon (apt-get install dbus-daemon)");
        return;
    };
    let a = bus.address.clone();

    let mut cmd = Proc::new(PPD);
    cmd.env("DBUS_SYSTEM_BUS_ADDRESS", &a);
    let ppd = Guarded::spawn(
        "power-profiles-daemon",
        &mut cmd,
        &bus.dir().join("ppd.stderr"),
    );
    let up = wait_for(Duration::from_secs(20), || {
        (!ask(&a, "powerprofilesctl", &["get"]).is_empty()).then_some(())
    });
    assert!(up.is_some(), "the daemon never answered: {}", ppd.stderr());
    ask(&a, "powerprofilesctl", &["set", "balanced"]);

    let tone = bus.dir().join("tone.ogg");
    let ok = Proc::new("sox")
        .args(["-n", "-r", "8000", "-c", "1"])
        .arg(&tone)
        .args(["synth", "600", "sine", "440"])
        .status()
        .expect("run sox");
    assert!(ok.success(), "sox made no tone");
    let mut cmd = Proc::new("mpv");
    cmd.args([
        "--no-config",
        &format!("--script={MPRIS}"),
        "--ao=null",
        "--no-video",
        "--no-terminal",
        "--force-media-title=Rstat Test Tone",
    ])
    .arg(&tone)
    .env("DBUS_SESSION_BUS_ADDRESS", &a);
    let mpv = Guarded::spawn("mpv", &mut cmd, &bus.dir().join("mpv.stderr"));
    let playing = wait_for(Duration::from_secs(20), || {
        (ask(&a, "playerctl", &["status"]) == "Playing").then_some(())
    });
    assert!(playing.is_some(), "mpv never played: {}", mpv.stderr());

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bluez/standin.py");
    let mut cmd = Proc::new(PY);
    cmd.arg(&script)
        .arg(&a)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    support::proc::die_with_parent(&mut cmd);
    let mut bluez = cmd.spawn().expect("start the BlueZ stand-in");
    let mut stdin = bluez.stdin.take().expect("stdin");
    let mut lines = BufReader::new(bluez.stdout.take().expect("stdout")).lines();
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("ready"));
    for (i, c) in [
        r#"{"op":"adapter","path":"/org/bluez/hci0","props":{"Powered":true}}"#,
        r#"{"op":"device","path":"/org/bluez/hci0/dev_AA_BB_CC_DD_EE_01","props":{"Name":"Headphones","Connected":true},"battery":55}"#,
    ]
    .iter()
    .enumerate()
    {
        writeln!(stdin, "{c}").unwrap();
        let want = format!("ok {}", i + 1);
        assert_eq!(lines.next().and_then(Result::ok), Some(want));
    }

    // The machine's /proc; a /sys without an ACPI platform profile, so the
    // profile shown is the daemon's.
    let t = common::fixture::Tree::new("once-desktop");
    std::os::unix::fs::symlink("/proc", t.0.join("proc")).unwrap();
    let path = t.0.join("config.toml");
    std::fs::write(
        &path,
        "[bar]\nleft = [\"power_profile\", \"media\", \"bluetooth\"]\ncenter = []\nright = []\n\
         [module.power_profile]\nformat = \"{profile} {source}\"\n\
         [module.media]\nformat = \"{status} {title}\"\n\
         [module.bluetooth]\nformat = \"{status} {device} {battery}%\"\n",
    )
    .unwrap();
    let out = Proc::new(common::rstat_bin())
        .args(["--once", "--modules", "--interval-ms", "10", "--config"])
        .arg(&path)
        .arg("--root")
        .arg(&t.0)
        .env("DBUS_SESSION_BUS_ADDRESS", &a)
        .env("DBUS_SYSTEM_BUS_ADDRESS", &a)
        .output()
        .expect("run rstat");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["power_profile"]["text"], "balanced daemon", "{v}\n{err}");
    assert_eq!(v["power_profile"]["state"], "balanced", "{v}");
    assert_eq!(v["media"]["text"], "playing Rstat Test Tone", "{v}\n{err}");
    assert_eq!(v["media"]["state"], "playing", "{v}");
    assert_eq!(
        v["bluetooth"]["text"], "connected Headphones 55%",
        "{v}\n{err}"
    );
    assert_eq!(v["bluetooth"]["state"], "connected", "{v}");
    let _ = bluez.kill();
    let _ = bluez.wait();
}

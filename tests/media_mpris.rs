//! The media module against a real `mpv` with Debian's `mpv-mpris` plugin,
//! on a private session bus this test starts, playing a tone the test
//! generates with `sox` (`--ao=null`): title and status are shown,
//! `playerctl pause` is followed, a click toggles what `playerctl status`
//! prints, a 1 MB title set through mpv's own IPC is cut (the bar carries
//! on), a thousand play/pause changes leave the live heap flat, and mpv
//! quitting hides the module. One test, so the process-wide live heap
//! counts only this.

mod common;
mod support;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command as Proc;
use std::time::{Duration, Instant};

use rstat::modules::{Button, Modules, Segment, Sources};
use rstat::services::bus::{session_clients, BusService};
use rstat::services::Service;
use support::dbus::PrivateBus;
use support::proc::Guarded;

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

const MPRIS: &str = "/usr/lib/mpv-mpris/mpris.so";

fn text(m: &mut Modules) -> String {
    let mut out: Vec<Segment> = Vec::new();
    m.write(&mut out);
    out.iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One turn: wait for the bus (at most `ms`), read it, hand it to the modules.
fn turn(svc: &mut BusService, m: &mut Modules, ms: i32) {
    let Some(fd) = svc.fd() else {
        return;
    };
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, ms) };
    if svc.dispatch().is_err() {
        svc.disconnect();
    }
    m.on_service(svc.view());
}

fn pump_until(
    svc: &mut BusService,
    m: &mut Modules,
    timeout: Duration,
    done: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let end = Instant::now() + timeout;
    loop {
        let t = text(m);
        if done(&t) {
            return Ok(t);
        }
        if Instant::now() >= end {
            return Err(t);
        }
        turn(svc, m, 100);
    }
}

fn playerctl(address: &str, args: &[&str]) -> String {
    let out = Proc::new("playerctl")
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .output()
        .expect("run playerctl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn mpv_with_mpris_on_a_private_session_bus() {
    if !common::need(
        Path::new(MPRIS).exists() && common::have("mpv"),
        "needs mpv and mpv-mpris (apt-get install mpv mpv-mpris)",
    ) || !common::need(
        common::have("playerctl"),
        "needs playerctl (apt-get install playerctl)",
    ) || !common::need(common::have("sox"), "needs sox (apt-get install sox)")
    {
        return;
    }
    let Some(mut bus) = PrivateBus::start("mpris") else {
        common::need(false, "needs dbus-daemon (apt-get install dbus-daemon)");
        return;
    };
    let tone = bus.dir().join("tone.ogg");
    let ok = Proc::new("sox")
        .args(["-n", "-r", "8000", "-c", "1"])
        .arg(&tone)
        .args(["synth", "600", "sine", "440"])
        .status()
        .expect("run sox");
    assert!(ok.success(), "sox made no tone");
    let ipc = bus.dir().join("mpv.sock");
    let mut cmd = Proc::new("mpv");
    cmd.args([
        "--no-config",
        &format!("--script={MPRIS}"),
        "--ao=null",
        "--no-video",
        "--no-terminal",
        "--force-media-title=Rstat Test Tone",
        &format!("--input-ipc-server={}", ipc.display()),
    ])
    .arg(&tone)
    .env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    let mut mpv = Guarded::spawn("mpv", &mut cmd, &bus.dir().join("mpv.stderr"));

    let cfg = rstat::modules::registry::parse(
        "[bar]\nleft = [\"media\"]\ncenter = []\nright = []\n\
         [module.media]\nformat = \"{status} {title} {length}\"\n",
        "test.toml",
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut m = Modules::with_sources(&cfg, Instant::now(), &Sources::default());
    let addr = bus.address.clone();
    let env = move |k: &str| (k == "DBUS_SESSION_BUS_ADDRESS").then(|| addr.clone());
    let mut svc = BusService::session(&env, session_clients());
    svc.connect().expect("connect to the private session bus");
    let wait = Duration::from_secs(15);
    pump_until(&mut svc, &mut m, wait, |t| {
        t == "playing Rstat Test Tone 10:00"
    })
    .unwrap_or_else(|t| panic!("shown: {t:?}; mpv: {}", mpv.stderr()));
    assert_eq!(m.iter().next().and_then(|x| x.state()), Some("playing"));

    // playerctl pause: followed.
    playerctl(&bus.address, &["pause"]);
    pump_until(&mut svc, &mut m, wait, |t| t.starts_with("paused "))
        .unwrap_or_else(|t| panic!("pause not followed: {t:?}"));
    assert_eq!(playerctl(&bus.address, &["status"]), "Paused");

    // A click: play-pause, as playerctl sees it.
    let cmd = m.pointer(0, Button::Left).expect("a click asks the player");
    svc.run(&cmd).expect("run");
    pump_until(&mut svc, &mut m, wait, |t| t.starts_with("playing "))
        .unwrap_or_else(|t| panic!("the click did not play: {t:?}"));
    assert_eq!(playerctl(&bus.address, &["status"]), "Playing");
    let cmd = m.pointer(0, Button::Left).expect("a click asks the player");
    svc.run(&cmd).expect("run");
    pump_until(&mut svc, &mut m, wait, |t| t.starts_with("paused "))
        .unwrap_or_else(|t| panic!("the second click did not pause: {t:?}"));
    assert_eq!(playerctl(&bus.address, &["status"]), "Paused");

    // A 1 MB title (the same file loaded again through mpv's own IPC with
    // that title): cut, shown, no harm.
    let mut sock = UnixStream::connect(&ipc).expect("mpv's IPC socket");
    let load = |title: &str| {
        serde_json::json!({"command": ["loadfile", tone.display().to_string(), "replace",
            format!("force-media-title={title}")]})
        .to_string()
    };
    writeln!(sock, "{}", load(&"T".repeat(1 << 20))).expect("write to mpv");
    pump_until(&mut svc, &mut m, wait, |t| t.contains(" TTTTTTTT"))
        .unwrap_or_else(|t| panic!("the long title never showed: {t:?}"));
    assert!(
        text(&mut m).len() <= rstat::render::segment::TEXT_CAP,
        "a segment is at most TEXT_CAP bytes"
    );
    writeln!(sock, "{}", load("Rstat Test Tone")).expect("write to mpv");
    pump_until(&mut svc, &mut m, wait, |t| {
        t.ends_with(" Rstat Test Tone 10:00")
    })
    .unwrap_or_else(|t| panic!("title not restored: {t:?}"));
    playerctl(&bus.address, &["pause"]);
    pump_until(&mut svc, &mut m, wait, |t| t.starts_with("paused "))
        .unwrap_or_else(|t| panic!("pause not followed: {t:?}"));

    // A thousand play/pause changes: the live heap stays where it was.
    let mut before = 0;
    let rounds = 1000 + 20;
    for k in 0..rounds {
        let cmd = m.pointer(0, Button::Left).expect("a click");
        svc.run(&cmd).expect("run");
        let want = if k % 2 == 0 { "playing " } else { "paused " };
        pump_until(&mut svc, &mut m, wait, |t| t.starts_with(want))
            .unwrap_or_else(|t| panic!("round {k}: {t:?}"));
        if k == 19 {
            before = common::alloc::live_bytes();
        }
    }
    let grown = common::alloc::live_bytes() - before;
    assert!(
        grown < 16 << 10,
        "live heap grew {grown} bytes over 1000 changes"
    );

    // mpv quits: the module hides.
    writeln!(sock, "{{\"command\": [\"quit\"]}}").expect("write to mpv");
    mpv.wait_exit(Duration::from_secs(10));
    pump_until(&mut svc, &mut m, wait, |t| t.is_empty())
        .unwrap_or_else(|t| panic!("still shown after mpv quit: {t:?}"));

    // The bus goes: still hidden, nothing breaks.
    bus.kill();
    turn(&mut svc, &mut m, 200);
    assert!(text(&mut m).is_empty());
}

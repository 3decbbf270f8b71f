//! The media module's scroll gestures against a real `mpv` with
//! `mpv-mpris` on a private session bus, playing a two-file playlist of
//! tones the test makes with `sox`: scrolling down sends `Next`, up
//! `Previous`, as the title shown and `playerctl metadata title` agree.

mod common;
mod support;

use std::path::Path;
use std::process::Command as Proc;
use std::time::{Duration, Instant};

use rstat::modules::{Button, Modules, Segment, Sources};
use rstat::services::bus::{session_clients, BusService};
use rstat::services::Service;
use support::dbus::PrivateBus;
use support::proc::Guarded;

const MPRIS: &str = "/usr/lib/mpv-mpris/mpris.so";

fn text(m: &mut Modules) -> String {
    let mut out: Vec<Segment> = Vec::new();
    m.write(&mut out);
    out.first().map_or("", |s| s.text.as_str()).to_string()
}

fn pump_until(svc: &mut BusService, m: &mut Modules, want: &str) -> Result<(), String> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let t = text(m);
        if t == want {
            return Ok(());
        }
        if Instant::now() >= end {
            return Err(t);
        }
        let fd = svc.fd().ok_or("not connected")?;
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 100) };
        if svc.dispatch().is_err() {
            svc.disconnect();
        }
        m.on_service(svc.view());
    }
}

fn title(address: &str) -> String {
    let out = Proc::new("playerctl")
        .args(["metadata", "title"])
        .env("DBUS_SESSION_BUS_ADDRESS", address)
        .output()
        .expect("run playerctl");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn scrolling_sends_next_and_previous_to_mpv() {
    if !common::need(
        Path::new(MPRIS).exists() && common::have("mpv") && common::have("playerctl"),
        "needs mpv, mpv-mpris and playerctl (apt-get install mpv mpv-mpris playerctl)",
    ) || !common::need(common::have("sox"), "needs sox (apt-get install sox)")
    {
        return;
    }
    let Some(bus) = PrivateBus::start("mpris-scroll") else {
        common::need(false, "needs dbus-daemon (apt-get install dbus-daemon)");
        return;
    };
    let mut files = Vec::new();
    for (name, hz) in [("tone-a.ogg", "440"), ("tone-b.ogg", "660")] {
        let f = bus.dir().join(name);
        let ok = Proc::new("sox")
            .args(["-n", "-r", "8000", "-c", "1"])
            .arg(&f)
            .args(["synth", "600", "sine", hz])
            .status()
            .expect("run sox");
        assert!(ok.success(), "sox made no tone");
        files.push(f);
    }
    let mut cmd = Proc::new("mpv");
    cmd.args([
        "--no-config",
        &format!("--script={MPRIS}"),
        "--ao=null",
        "--no-video",
        "--no-terminal",
    ])
    .args(&files)
    .env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    let mpv = Guarded::spawn("mpv", &mut cmd, &bus.dir().join("mpv.stderr"));

    let cfg = rstat::modules::registry::parse(
        "[bar]\nleft = [\"media\"]\ncenter = []\nright = []\n[module.media]\nformat = \"{title}\"\n",
        "test.toml",
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut m = Modules::with_sources(&cfg, Instant::now(), &Sources::default());
    let addr = bus.address.clone();
    let env = move |k: &str| (k == "DBUS_SESSION_BUS_ADDRESS").then(|| addr.clone());
    let mut svc = BusService::session(&env, session_clients());
    svc.connect().expect("connect to the private session bus");
    pump_until(&mut svc, &mut m, "tone-a.ogg")
        .unwrap_or_else(|t| panic!("shown {t:?}; mpv: {}", mpv.stderr()));

    // Down: the next track.
    let cmd = m
        .pointer(0, Button::ScrollDown)
        .expect("a scroll asks the player");
    svc.run(&cmd).expect("run the command");
    pump_until(&mut svc, &mut m, "tone-b.ogg").unwrap_or_else(|t| panic!("after Next: {t:?}"));
    assert_eq!(title(&bus.address), "tone-b.ogg");

    // Up: the previous one.
    let cmd = m
        .pointer(0, Button::ScrollUp)
        .expect("a scroll asks the player");
    svc.run(&cmd).expect("run the command");
    pump_until(&mut svc, &mut m, "tone-a.ogg").unwrap_or_else(|t| panic!("after Previous: {t:?}"));
    assert_eq!(title(&bus.address), "tone-a.ogg");
}

//! The sound-server client, service and audio module against real servers
//! the tests start (PulseAudio, and PipeWire + WirePlumber + pipewire-pulse,
//! as `nobody` with their own runtime directory and a null sink), changed
//! with `pactl` and `wpctl`; `rstat --once --modules` against the same
//! servers; and fake servers that misbehave.
//!
//! Needs root (to start the servers as another uid) and the servers'
//! packages; skips otherwise, fails under `RSTAT_REQUIRE_E2E=1`.

mod common;
mod support;

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rstat::config;
use rstat::modules::audio::{Audio, KIND};
use rstat::modules::{Align, Module, Palette, Placement, Segment};
use rstat::services::pulse::{self, Client, State, Target, Which};
use rstat::services::sound::Sound;
use rstat::services::{Service, View};
use support::proc::run;
use support::sound::{Flavour, SoundServer};

#[global_allocator]
static ALLOC: common::alloc::Counting = common::alloc::Counting;

fn lock() -> MutexGuard<'static, ()> {
    static L: Mutex<()> = Mutex::new(());
    L.lock().unwrap_or_else(|p| p.into_inner())
}

fn can_run(f: Flavour) -> bool {
    let missing: Vec<&str> = f
        .programs()
        .iter()
        .copied()
        .filter(|p| !common::have(p))
        .collect();
    common::need(
        common::is_root(),
        "needs root to start the servers as nobody",
    ) && common::need(
        missing.is_empty(),
        &format!("{f:?} needs {}", missing.join(", ")),
    )
}

fn target(s: &SoundServer) -> Target {
    let env = s.env();
    pulse::target_from_env(&|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .unwrap_or_else(|e| s.fail(&e.0))
}

/// Dispatches `c` as its socket becomes readable until `done` holds;
/// how long that took, or `None` at `timeout`.
fn pump(c: &mut Client, timeout: Duration, done: impl Fn(&State) -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    loop {
        if c.state().ready && c.idle() && done(c.state()) {
            return Some(t0.elapsed());
        }
        let left = timeout.checked_sub(t0.elapsed())?;
        let mut p = libc::pollfd {
            fd: c.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the client's open socket.
        unsafe { libc::poll(&mut p, 1, left.as_millis().max(1) as i32) };
        c.dispatch().expect("the server stays connected");
    }
}

fn sink_pct(s: &State) -> Option<u32> {
    s.sink.as_ref().map(|d| d.percent())
}

const CONFIG: &str = r#"
[bar]
left = []
center = []
right = ["audio"]
[module.audio]
format = "{volume}%|{desc}|{sink}|{port}"
"#;

fn config_file(dir: &Path) -> PathBuf {
    let p = dir.join("rstat.toml");
    std::fs::write(&p, CONFIG).expect("write config");
    p
}

/// `rstat --once --modules`' entry for the audio module.
fn once(env: &[(&str, String)], config: &Path) -> serde_json::Value {
    let mut cmd = std::process::Command::new(common::rstat_bin());
    cmd.args(["--once", "--modules", "--interval-ms", "100", "--config"])
        .arg(config)
        .env_remove("PULSE_SERVER")
        .env_remove("PULSE_COOKIE")
        .env("HOME", "/nonexistent");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(&mut cmd, Duration::from_secs(30)).expect("rstat --once runs");
    assert!(out.status.success(), "rstat --once failed: {}", out.stderr);
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {:?}", out.stdout));
    v["audio"].clone()
}

fn states(entry: &serde_json::Value) -> Vec<String> {
    entry["segments"][0]["states"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn follows(f: Flavour) {
    let _l = lock();
    let s = SoundServer::start(f);
    let cfg = config_file(&s.dir);
    let mut c = Client::connect(&target(&s)).unwrap_or_else(|e| s.fail(&e.0));
    pump(&mut c, Duration::from_secs(10), |st| st.sink.is_some())
        .unwrap_or_else(|| s.fail("no default sink from the client"));
    assert_eq!(sink_pct(c.state()), Some(s.volume()), "as pactl rounds it");
    assert_eq!(c.state().sink.as_ref().unwrap().name, "null1");

    let mut lat = Vec::new();
    for pct in [37, 81, 5] {
        s.pactl(&["set-sink-volume", "@DEFAULT_SINK@", &format!("{pct}%")])
            .unwrap_or_else(|e| s.fail(&e));
        let d = pump(&mut c, Duration::from_secs(5), |st| {
            sink_pct(st) == Some(pct)
        })
        .unwrap_or_else(|| s.fail(&format!("{pct}% not followed")));
        lat.push(d);
        assert_eq!(s.volume(), pct);
    }
    eprintln!("{f:?}: pactl set-sink-volume returned -> client's state: {lat:?}");
    s.pactl(&["set-sink-volume", "@DEFAULT_SINK@", "37%"])
        .unwrap_or_else(|e| s.fail(&e));
    let e = once(&s.env(), &cfg);
    assert_eq!(e["text"], "37%|Null1|null1|unknown", "{e}");
    assert_eq!(e["state"], "normal");

    s.pactl(&["set-sink-mute", "@DEFAULT_SINK@", "1"])
        .unwrap_or_else(|e| s.fail(&e));
    pump(&mut c, Duration::from_secs(5), |st| {
        st.sink.as_ref().is_some_and(|d| d.muted)
    })
    .unwrap_or_else(|| s.fail("mute not followed"));
    let e = once(&s.env(), &cfg);
    assert_eq!(e["text"], "✗ muted", "{e}");
    assert!(states(&e).contains(&"muted".to_string()), "{e}");
    s.pactl(&["set-sink-mute", "@DEFAULT_SINK@", "0"])
        .unwrap_or_else(|e| s.fail(&e));

    if f == Flavour::PipeWire {
        // Through PipeWire itself: pipewire-pulse passes the change on.
        s.wpctl(&["set-volume", "@DEFAULT_AUDIO_SINK@", "0.42"])
            .unwrap_or_else(|e| s.fail(&e));
        pump(&mut c, Duration::from_secs(5), |st| {
            sink_pct(st) == Some(42)
        })
        .unwrap_or_else(|| s.fail("wpctl set-volume 0.42 not followed"));
        let e = once(&s.env(), &cfg);
        assert!(e["text"].as_str().unwrap().starts_with("42%|"), "{e}");
    }

    // A second sink made the default is followed.
    s.pactl(&[
        "load-module",
        "module-null-sink",
        "sink_name=null2",
        "sink_properties=device.description=Second",
    ])
    .unwrap_or_else(|e| s.fail(&e));
    s.pactl(&["set-default-sink", "null2"])
        .unwrap_or_else(|e| s.fail(&e));
    pump(&mut c, Duration::from_secs(5), |st| {
        st.sink.as_ref().is_some_and(|d| d.name == "null2")
    })
    .unwrap_or_else(|| s.fail("the new default sink was not followed"));
    assert_eq!(c.state().sink.as_ref().unwrap().description, "Second");
    let e = once(&s.env(), &cfg);
    assert!(
        e["text"].as_str().unwrap().contains("|Second|null2|"),
        "{e}"
    );

    // Changes through the protocol, as the bar makes them.
    c.set_volume(Which::Sink, 65).expect("set volume");
    pump(&mut c, Duration::from_secs(5), |st| {
        sink_pct(st) == Some(65)
    })
    .unwrap_or_else(|| s.fail("our own change not seen"));
    assert_eq!(s.volume(), 65, "pactl sees our change");
    c.set_mute(Which::Sink, true).expect("mute");
    pump(&mut c, Duration::from_secs(5), |st| {
        st.sink.as_ref().is_some_and(|d| d.muted)
    })
    .unwrap_or_else(|| s.fail("our mute not seen"));
    assert!(s.muted(), "pactl sees our mute");
}

#[test]
fn pulseaudio_changes_and_the_default_sink_are_followed() {
    if can_run(Flavour::PulseAudio) {
        follows(Flavour::PulseAudio);
    }
}

#[test]
fn pipewire_changes_and_the_default_sink_are_followed() {
    if can_run(Flavour::PipeWire) {
        follows(Flavour::PipeWire);
    }
}

fn audio_module() -> Audio {
    Audio::new(
        &config::Module::defaults("audio", &KIND),
        Placement {
            align: Align::Right,
            palette: Palette::default(),
        },
    )
}

fn text(m: &Audio) -> String {
    let mut v: Vec<Segment> = Vec::new();
    m.write(&mut v);
    v.first()
        .map(|s| s.text.as_str().to_string())
        .unwrap_or_default()
}

/// Dispatches the service until `done` holds for its state; false when it
/// lost the connection (or at the timeout).
fn pump_service(sv: &mut Sound, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if let View::Sound(Some(st)) = sv.view() {
            if st.ready && done(st) {
                return true;
            }
        }
        let Some(fd) = sv.fd() else { return false };
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the service's open socket.
        unsafe { libc::poll(&mut p, 1, 100) };
        if sv.dispatch().is_err() {
            sv.disconnect();
            return false;
        }
    }
    false
}

fn restart(f: Flavour) {
    let _l = lock();
    let mut s = SoundServer::start(f);
    let env = s.env();
    let mut sv = Sound::from_env(&|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
    let mut m = audio_module();
    sv.connect().unwrap_or_else(|e| s.fail(&e.0));
    assert!(pump_service(&mut sv, Duration::from_secs(10), |st| st
        .sink
        .is_some()));
    m.on_service(sv.view());
    assert!(text(&m).ends_with("100%"), "{}", text(&m));

    s.kill();
    assert!(
        !pump_service(&mut sv, Duration::from_secs(5), |_| false),
        "the loss is seen"
    );
    m.on_service(sv.view());
    assert_eq!(text(&m), "audio: disconnected");
    assert!(sv.connect().is_err(), "no server: connecting fails");

    s.restart();
    sv.connect().unwrap_or_else(|e| s.fail(&e.0));
    assert!(pump_service(&mut sv, Duration::from_secs(10), |st| st
        .sink
        .is_some()));
    m.on_service(sv.view());
    assert!(text(&m).ends_with("100%"), "{}", text(&m));
    s.pactl(&["set-sink-volume", "@DEFAULT_SINK@", "23%"])
        .unwrap_or_else(|e| s.fail(&e));
    assert!(pump_service(
        &mut sv,
        Duration::from_secs(5),
        |st| sink_pct(st) == Some(23)
    ));
    m.on_service(sv.view());
    assert_eq!(text(&m), "▂  23%");
}

#[test]
fn a_killed_pulseaudio_disconnects_and_a_new_one_is_picked_up() {
    if can_run(Flavour::PulseAudio) {
        restart(Flavour::PulseAudio);
    }
}

#[test]
fn a_killed_pipewire_disconnects_and_a_new_one_is_picked_up() {
    if can_run(Flavour::PipeWire) {
        restart(Flavour::PipeWire);
    }
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

#[test]
fn a_thousand_volume_changes_keep_heap_and_descriptors_flat() {
    if !can_run(Flavour::PulseAudio) {
        return;
    }
    let _l = lock();
    let s = SoundServer::start(Flavour::PulseAudio);
    let t = target(&s);
    let mut changer = Client::connect(&t).unwrap_or_else(|e| s.fail(&e.0));
    let mut seen = Client::connect(&t).unwrap_or_else(|e| s.fail(&e.0));
    let mut m = audio_module();
    for c in [&mut changer, &mut seen] {
        pump(c, Duration::from_secs(10), |st| st.sink.is_some())
            .unwrap_or_else(|| s.fail("no sink"));
    }
    let mut cpu = Duration::ZERO;
    let mut marks = Vec::new();
    for i in 0..1000u32 {
        if i == 100 || i == 999 {
            marks.push((common::alloc::live_bytes(), fds()));
        }
        let pct = 10 + i % 80;
        changer.set_volume(Which::Sink, pct).expect("set volume");
        changer.dispatch().expect("changer connected");
        let mut shown = false;
        let deadline = Instant::now() + Duration::from_secs(5);
        while !shown {
            assert!(Instant::now() < deadline, "change {i} to {pct}% not seen");
            let mut p = libc::pollfd {
                fd: seen.fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd for the client's open socket.
            unsafe { libc::poll(&mut p, 1, 100) };
            let a = thread_cpu();
            if seen.dispatch().expect("connected") {
                m.on_service(View::Sound(Some(seen.state())));
            }
            cpu += thread_cpu() - a;
            shown = sink_pct(seen.state()) == Some(pct) && seen.idle();
        }
    }
    let (live0, fd0) = marks[0];
    let (live1, fd1) = marks[1];
    eprintln!(
        "1000 volume changes: live heap {live0} -> {live1} bytes, descriptors {fd0} -> {fd1}, \
         client + module CPU {:.1} µs per change",
        cpu.as_secs_f64() * 1e6 / 1000.0
    );
    // Other tests' fake servers may still be closing theirs: none of ours
    // may be added.
    assert!(fd1 <= fd0, "descriptors flat: {fd0} -> {fd1}");
    assert!(
        (live1 - live0).abs() < 4096,
        "live heap flat: {live0} -> {live1}"
    );
    assert!(text(&m).ends_with('%'), "{}", text(&m));
}

/// A fake server on a fresh socket that runs `behave` on each connection.
struct Fake {
    dir: PathBuf,
    _thread: std::thread::JoinHandle<()>,
}

impl Fake {
    fn start(tag: &str, behave: fn(std::os::unix::net::UnixStream)) -> Fake {
        let dir =
            std::env::temp_dir().join(format!("rstat-fake-pulse-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fake dir");
        let l = UnixListener::bind(dir.join("native")).expect("bind");
        let _thread = std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                behave(c);
            }
        });
        Fake { dir, _thread }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![(
            "PULSE_SERVER",
            format!("unix:{}", self.dir.join("native").display()),
        )]
    }
}

/// Reads the client's authentication request and returns its tag.
fn read_auth(c: &mut std::os::unix::net::UnixStream) -> u32 {
    let mut d = [0u8; 20];
    if c.read_exact(&mut d).is_err() {
        return 0;
    }
    let len = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
    let mut body = vec![0; len.min(4096)];
    let _ = c.read_exact(&mut body);
    u32::from_be_bytes([body[6], body[7], body[8], body[9]])
}

fn reply_with(c: &mut std::os::unix::net::UnixStream, command: u32, tag: u32, cut: bool) {
    let mut out = Vec::new();
    let mut w = pulse::tagstruct::Writer::command(&mut out, command, tag);
    w.u32(pulse::PROTOCOL_VERSION);
    w.finish();
    let n = if cut { out.len() - 3 } else { out.len() };
    let _ = c.write_all(&out[..n]);
}

fn garbage(mut c: std::os::unix::net::UnixStream) {
    read_auth(&mut c);
    let _ = c.write_all(&[0xa5; 200]);
    std::thread::sleep(Duration::from_millis(300));
}

fn midway(mut c: std::os::unix::net::UnixStream) {
    let tag = read_auth(&mut c);
    reply_with(&mut c, pulse::command::REPLY, tag, true);
}

fn unknown(mut c: std::os::unix::net::UnixStream) {
    let tag = read_auth(&mut c);
    reply_with(&mut c, 0x7777, tag, false);
    std::thread::sleep(Duration::from_millis(300));
}

fn assert_disconnects(env: &[(&'static str, String)], why: &str) {
    // One at a time with the others: the thousand-change test counts the
    // process's descriptors.
    let _l = lock();
    let mut sv = Sound::from_env(&|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
    let mut m = audio_module();
    if sv.connect().is_ok() {
        assert!(
            !pump_service(&mut sv, Duration::from_secs(5), |_| true),
            "{why}: must not become ready"
        );
    }
    m.on_service(sv.view());
    assert_eq!(text(&m), "audio: disconnected", "{why}");
    assert!(m.state() == Some("disconnected"), "{why}");
    // The command-line snapshot carries on too, exit 0, `disconnected`.
    // One directory per call: these tests run in parallel, and a config
    // rewritten under another test's bar could be read half-written.
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rstat-fake-cfg-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cfg dir");
    let e = once(env, &config_file(&dir));
    assert_eq!(e["state"], "disconnected", "{why}: {e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_server_sending_garbage_shows_disconnected() {
    let f = Fake::start("garbage", garbage);
    assert_disconnects(&f.env(), "garbage");
}

#[test]
fn a_server_closing_mid_message_shows_disconnected() {
    let f = Fake::start("midway", midway);
    assert_disconnects(&f.env(), "closed mid-message");
}

#[test]
fn a_server_replying_with_an_unknown_command_shows_disconnected() {
    let f = Fake::start("unknown", unknown);
    assert_disconnects(&f.env(), "unknown command");
}

#[test]
fn a_malformed_cookie_shows_disconnected() {
    // A well-behaved socket that is never reached: the cookie is refused
    // first, with a message naming the file.
    let f = Fake::start("cookie", unknown);
    let cookie = f.dir.join("cookie");
    std::fs::write(&cookie, b"not a cookie").expect("cookie");
    let mut env = f.env();
    env.push(("PULSE_COOKIE", cookie.display().to_string()));
    let vars = env.clone();
    let mut sv = Sound::from_env(&|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
    let e = sv.connect().unwrap_err();
    assert!(e.0.contains("12 bytes, not a 256-byte"), "{e}");
    drop(sv);
    assert_disconnects(&env, "malformed cookie");
}

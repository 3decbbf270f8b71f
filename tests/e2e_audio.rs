//! The running bar's audio module in a real headless Sway against a real
//! PulseAudio the test starts (as `nobody`, its own runtime directory, a
//! null sink): how soon a volume change is on screen (the bar's own
//! `wl_surface.commit` times, from `WAYLAND_DEBUG=client`), scrolling and
//! clicking it with the virtual pointer (seen by `pactl`), the server
//! killed (`disconnected`, critical colour) and a new one picked up without
//! restarting the bar, and the bar's cost over 1000 volume changes.
//!
//! Needs root, sway, grim, pulseaudio and pactl; skips otherwise, fails
//! under `RSTAT_REQUIRE_E2E=1`.

mod common;
mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rstat::services::pulse::{self, Client, State, Which};
use support::image::{diff, Image, Rgb};
use support::pointer::{VirtualPointer, BTN_LEFT};
use support::proc::{proc_cost, wait_for, Guarded};
use support::sound::{Flavour, SoundServer};
use support::sway::HeadlessSway;

const OUTPUT: &str = "HEADLESS-1";
const BAR: usize = 28;
const CRITICAL: Rgb = [0xf3, 0x8b, 0xa8];
const WARNING: Rgb = [0xf9, 0xe2, 0xaf];
const FOREGROUND: Rgb = [0xcd, 0xd6, 0xf4];

fn can_run() -> bool {
    if !common::need(
        common::is_root(),
        "needs root (Sway and the server run as nobody)",
    ) {
        return false;
    }
    ["sway", "swaymsg", "grim", "pulseaudio", "pactl"]
        .iter()
        .all(|t| common::need(common::have(t), &format!("needs `{t}` on PATH")))
}

fn start_bar(sway: &HeadlessSway, s: &SoundServer, tag: &str, debug: bool) -> Guarded {
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("config.toml"),
        "[bar]\nleft = []\ncenter = [\"audio\"]\nright = []\n",
    )
    .expect("write config");
    let mut cmd = sway.client(common::rstat_bin());
    for (k, v) in s.env() {
        cmd.env(k, v);
    }
    if debug {
        cmd.env("WAYLAND_DEBUG", "client");
    }
    Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join(format!("rstat-{tag}.stderr")),
    )
}

/// Pixels of the bar band within a small distance of `c`.
fn count(img: &Image, c: Rgb) -> usize {
    let mut n = 0;
    for y in 0..BAR.min(img.height) {
        for x in 0..img.width {
            if diff(img.px(x, y), c) < 24 {
                n += 1;
            }
        }
    }
    n
}

/// Waits until the bar's band shows text in colour `c` (and none in
/// `not`).
fn wait_colour(sway: &HeadlessSway, bar: &mut Guarded, c: Rgb, not: Rgb, what: &str) {
    let ok = wait_for(Duration::from_secs(15), || {
        let img = sway.try_screenshot(OUTPUT).ok()?;
        (count(&img, c) > 10 && count(&img, not) < 3).then_some(())
    });
    if ok.is_none() {
        bar.assert_running();
        panic!(
            "the bar never showed {what}\n--- rstat ---\n{}",
            tail(&bar.stderr())
        );
    }
}

fn tail(s: &str) -> String {
    let l: Vec<&str> = s.lines().rev().take(20).collect();
    l.into_iter().rev().collect::<Vec<_>>().join("\n")
}

fn pump(c: &mut Client, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if c.state().ready && c.idle() && done(c.state()) {
            return true;
        }
        let mut p = libc::pollfd {
            fd: c.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd for the client's open socket.
        unsafe { libc::poll(&mut p, 1, 100) };
        if c.dispatch().is_err() {
            return false;
        }
    }
    false
}

fn pct(s: &State) -> Option<u32> {
    s.sink.as_ref().map(|d| d.percent())
}

/// Wall-clock microseconds cut to 32 bits, as `WAYLAND_DEBUG` stamps lines.
fn stamp_now() -> u32 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_secs() * 1_000_000 + t.subsec_micros() as u64) as u32
}

/// The stamps of the bar's `wl_surface.commit` requests.
fn commits(stderr: &str) -> Vec<u32> {
    stderr
        .lines()
        .filter(|l| l.contains("-> wl_surface@") && l.contains(".commit("))
        .filter_map(|l| {
            let inner = l.strip_prefix('[')?.split(']').next()?;
            let (ms, us) = inner.trim().split_once('.')?;
            Some(ms.parse::<u32>().ok()? * 1000 + us.parse::<u32>().ok()?)
        })
        .collect()
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// The first commit of the bar after stamp `sent` (waits a little for it).
fn commit_after(bar: &Guarded, sent: u32, what: &str) -> u32 {
    wait_for(Duration::from_secs(2), || {
        commits(&bar.stderr())
            .into_iter()
            .find(|&ts| ts.wrapping_sub(sent) < 10_000_000)
    })
    .unwrap_or_else(|| panic!("no commit after {what}\n{}", tail(&bar.stderr())))
}

#[test]
fn the_running_bar_follows_pulseaudio_and_changes_it() {
    if can_run() {
        follows(Flavour::PulseAudio);
    }
}

#[test]
fn the_running_bar_follows_pipewire_and_changes_it() {
    if can_run()
        && [
            "pipewire",
            "wireplumber",
            "pipewire-pulse",
            "wpctl",
            "dbus-daemon",
        ]
        .iter()
        .all(|t| common::need(common::have(t), &format!("needs `{t}` on PATH")))
    {
        follows(Flavour::PipeWire);
    }
}

fn follows(f: Flavour) {
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let mut s = SoundServer::start(f);
    s.pactl(&["set-sink-volume", "@DEFAULT_SINK@", "50%"])
        .unwrap_or_else(|e| s.fail(&e));
    let mut bar = start_bar(&sway, &s, "follow", true);
    wait_colour(&sway, &mut bar, FOREGROUND, CRITICAL, "the volume");

    // Latency: a change through the protocol, the bar's next commit.
    let t = pulse::target_from_env(&|k| s.env().into_iter().find(|(n, _)| *n == k).map(|(_, v)| v))
        .expect("target");
    let mut c = Client::connect(&t).expect("connect");
    assert!(pump(&mut c, Duration::from_secs(10), |st| st
        .sink
        .is_some()));
    let mut lat = Vec::new();
    for i in 0..10u32 {
        let want = 20 + i * 5;
        std::thread::sleep(Duration::from_millis(150));
        let sent = stamp_now();
        c.set_volume(Which::Sink, want).expect("set");
        assert!(pump(&mut c, Duration::from_secs(5), |st| pct(st) == Some(want)));
        let seen = stamp_now();
        let first = commit_after(&bar, sent, &format!("change {i}"));
        lat.push((
            first.wrapping_sub(sent) as f64 / 1000.0,
            first as i64 - seen as i64,
        ));
    }
    let mut ms: Vec<f64> = lat.iter().map(|l| l.0).collect();
    ms.sort_by(f64::total_cmp);
    eprintln!(
        "{f:?}: volume request -> the bar's wl_surface.commit: {ms:.2?} ms (p50 {:.2} ms); \
         commit minus the test client's own sight of the event (µs): {:?}",
        ms[ms.len() / 2],
        lat.iter().map(|l| l.1).collect::<Vec<_>>()
    );
    assert!(
        ms[ms.len() / 2] < 50.0,
        "the bar must redraw within 50 ms of the change: {ms:?}"
    );

    // The same through pactl (and wpctl, PipeWire's own tool): from the
    // tool's start, its own start-up included, to the bar's commit.
    let mut tools = Vec::new();
    for (i, want) in [33u32, 44, 66].into_iter().enumerate() {
        std::thread::sleep(Duration::from_millis(150));
        let sent = stamp_now();
        if f == Flavour::PipeWire && i == 1 {
            s.wpctl(&["set-volume", "@DEFAULT_AUDIO_SINK@", &format!("0.{want}")])
                .unwrap_or_else(|e| s.fail(&e));
        } else {
            s.pactl(&["set-sink-volume", "@DEFAULT_SINK@", &format!("{want}%")])
                .unwrap_or_else(|e| s.fail(&e));
        }
        assert!(pump(&mut c, Duration::from_secs(5), |st| pct(st) == Some(want)));
        let first = commit_after(&bar, sent, "a pactl/wpctl change");
        tools.push(first.wrapping_sub(sent) as f64 / 1000.0);
    }
    eprintln!("{f:?}: pactl/wpctl start -> the bar's commit: {tools:.2?} ms");
    assert!(
        tools.iter().all(|&t| t < 200.0),
        "the bar follows pactl/wpctl: {tools:?}"
    );

    // The pointer: scroll up one step, click to mute.
    s.pactl(&["set-sink-volume", "@DEFAULT_SINK@", "50%"])
        .unwrap_or_else(|e| s.fail(&e));
    assert!(pump(&mut c, Duration::from_secs(5), |st| pct(st) == Some(50)));
    std::thread::sleep(Duration::from_millis(100));
    let mut ptr = VirtualPointer::new(&sway).expect("virtual pointer");
    ptr.move_to(960, (BAR / 2) as u32).expect("move");
    // The bar gets its wl_pointer only once the seat has one (the virtual
    // pointer just made it): let it bind and see the enter first.
    std::thread::sleep(Duration::from_millis(300));
    ptr.move_to(961, (BAR / 2) as u32).expect("move");
    std::thread::sleep(Duration::from_millis(100));
    ptr.scroll(-1).expect("scroll up");
    assert!(
        wait_for(Duration::from_secs(5), || (s.volume() == 55).then_some(())).is_some(),
        "scrolling up did not make pactl report 55%: {}\n{}",
        s.volume(),
        bar.stderr()
            .lines()
            .filter(|l| !l.contains("[rs]"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    ptr.scroll(1).expect("scroll down");
    assert!(
        wait_for(Duration::from_secs(5), || (s.volume() == 50).then_some(())).is_some(),
        "scrolling down did not make pactl report 50%: {}",
        s.volume()
    );
    ptr.click(BTN_LEFT).expect("click");
    assert!(
        wait_for(Duration::from_secs(5), || s.muted().then_some(())).is_some(),
        "a click did not mute"
    );
    wait_colour(&sway, &mut bar, WARNING, CRITICAL, "muted (warning colour)");
    ptr.click(BTN_LEFT).expect("click");
    assert!(
        wait_for(Duration::from_secs(5), || (!s.muted()).then_some(())).is_some(),
        "a second click did not unmute"
    );
    drop(ptr);

    // The server killed: `disconnected`; a new one is picked up.
    drop(c);
    s.kill();
    wait_colour(
        &sway,
        &mut bar,
        CRITICAL,
        WARNING,
        "disconnected (critical colour)",
    );
    bar.assert_running();
    s.restart();
    wait_colour(
        &sway,
        &mut bar,
        FOREGROUND,
        CRITICAL,
        "the new server's volume",
    );
    s.pactl(&["set-sink-mute", "@DEFAULT_SINK@", "1"])
        .unwrap_or_else(|e| s.fail(&e));
    wait_colour(&sway, &mut bar, WARNING, CRITICAL, "the new server's mute");
    bar.assert_running();
}

#[test]
fn a_thousand_volume_changes_cost_the_bar_little_and_leak_nothing() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let s = SoundServer::start(Flavour::PulseAudio);
    let mut bar = start_bar(&sway, &s, "cost", false);
    wait_colour(&sway, &mut bar, FOREGROUND, CRITICAL, "the volume");
    let t = pulse::target_from_env(&|k| s.env().into_iter().find(|(n, _)| *n == k).map(|(_, v)| v))
        .expect("target");
    let mut c = Client::connect(&t).expect("connect");
    assert!(pump(&mut c, Duration::from_secs(10), |st| st
        .sink
        .is_some()));
    let pid = bar.pid();
    let run = |c: &mut Client, n: u32| {
        for i in 0..n {
            let want = 10 + i % 80;
            c.set_volume(Which::Sink, want).expect("set");
            assert!(pump(c, Duration::from_secs(5), |st| pct(st) == Some(want)));
        }
    };
    // A first thousand settles what the first redraws map and cache (every
    // digit's glyph, allocator arenas); the second is measured.
    run(&mut c, 1000);
    std::thread::sleep(Duration::from_millis(300));
    let (c0, fd0) = (proc_cost(pid).expect("bar alive"), fd_count(pid));
    let t0 = Instant::now();
    run(&mut c, 1000);
    let wall = t0.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let (c1, fd1) = (proc_cost(pid).expect("bar alive"), fd_count(pid));
    let hz = support::proc::clock_ticks_per_sec() as f64;
    let cpu_s = (c1.cpu_ticks - c0.cpu_ticks) as f64 / hz;
    eprintln!(
        "1000 volume changes in {wall:.2?}: the bar used {:.0} ms CPU ({:.0} µs per change), \
         RSS {} -> {} KiB (anonymous {} -> {} KiB), descriptors {fd0} -> {fd1}",
        cpu_s * 1000.0,
        cpu_s * 1e6 / 1000.0,
        c0.rss_kib,
        c1.rss_kib,
        c0.anon_kib,
        c1.anon_kib
    );
    assert_eq!(fd0, fd1, "the bar's descriptors stay flat");
    // Anonymous memory, not VmRSS: VmRSS also counts the binary's pages as
    // code runs for the first time (64 KiB of fault-around each), which is
    // not growth with events.
    assert!(
        c1.anon_kib <= c0.anon_kib + 128,
        "the bar's memory stays flat: {} -> {} KiB anonymous",
        c0.anon_kib,
        c1.anon_kib
    );
    bar.assert_running();
}

#[test]
fn a_server_sending_garbage_leaves_the_bar_running_and_disconnected() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = std::env::temp_dir().join(format!("rstat-e2e-garbage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let sock = dir.join("native");
    let l = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = accepted.clone();
    std::thread::spawn(move || {
        use std::io::Write;
        for mut c in l.incoming().flatten() {
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let _ = c.write_all(&[0x5a; 300]);
        }
    });
    let dirc = std::env::temp_dir().join(format!("rstat-e2e-garbage-cfg-{}", std::process::id()));
    let _ = std::fs::create_dir_all(sway.config_home().join("rstat"));
    std::fs::write(
        sway.config_home().join("rstat/config.toml"),
        "[bar]\nleft = []\ncenter = [\"audio\"]\nright = [\"clock\"]\n",
    )
    .expect("config");
    let _ = dirc;
    let mut cmd = sway.client(common::rstat_bin());
    cmd.env("PULSE_SERVER", format!("unix:{}", sock.display()));
    let mut bar = Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join("rstat-garbage.stderr"),
    );
    wait_colour(&sway, &mut bar, CRITICAL, WARNING, "disconnected");
    // It keeps trying with backoff, and keeps running.
    assert!(
        wait_for(Duration::from_secs(10), || {
            (accepted.load(std::sync::atomic::Ordering::Relaxed) >= 3).then_some(())
        })
        .is_some(),
        "the bar did not retry"
    );
    bar.assert_running();
    let err = bar.stderr();
    assert!(err.contains("sound server"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

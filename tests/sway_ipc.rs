//! The Sway IPC client and the modules it feeds, against a real headless
//! Sway: the state follows `swaymsg` within one event, commands switch
//! workspaces, and a lost connection is an error the bar answers by
//! reconnecting (which reads the full state again).

mod common;
mod support;

use std::time::{Duration, Instant};

use rstat::collect::Sample;
use rstat::compositor::{sway, Connection, Detected};
use rstat::modules::{once, Context, Modules, Palette, Segment};
use support::sway::HeadlessSway;

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
}

fn swaysock(s: &HeadlessSway) -> String {
    s.env()
        .into_iter()
        .find(|(k, _)| *k == "SWAYSOCK")
        .map(|(_, v)| v)
        .expect("the harness sets SWAYSOCK")
}

/// Waits (3 s at most) for the event socket, then applies what arrived.
fn pump(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, bounded timeout.
    unsafe { libc::poll(&mut p, 1, 3000) > 0 }
}

/// Dispatches the events of one `swaymsg` (which may arrive in a burst
/// of several reads), until `done` holds or 3 s pass.
fn follow(c: &mut Connection, done: impl Fn(&Connection) -> bool) {
    let t = Instant::now();
    while !done(c) {
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "the state did not follow within 3 s"
        );
        assert!(pump(c.event_fd()), "no IPC event within 3 s");
        c.dispatch().expect("dispatching sway events");
    }
}

fn focused(c: &Connection) -> Vec<String> {
    c.state()
        .workspaces
        .iter()
        .filter(|w| w.focused)
        .map(|w| w.name.clone())
        .collect()
}

#[test]
fn workspaces_follow_swaymsg_and_commands() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let s = HeadlessSway::start();
    let detected = rstat::compositor::detect(|k| (k == "SWAYSOCK").then(|| swaysock(&s)));
    assert!(matches!(detected, Detected::Sway(_)));
    let mut c = Connection::open(&detected, None).expect("connecting to sway");
    assert_eq!(focused(&c), ["1"]);
    assert_eq!(c.state().workspaces[0].output, "HEADLESS-1");
    assert!(c.state().workspaces[0].visible);

    s.swaymsg(&["workspace", "3:mail"]);
    follow(&mut c, |c| focused(c) == ["3:mail"]);
    assert_eq!(
        c.state()
            .workspaces
            .iter()
            .find(|w| w.focused)
            .map(|w| w.id),
        Some(3)
    );

    s.swaymsg(&["rename", "workspace", "3:mail", "to", "3:inbox"]);
    follow(&mut c, |c| focused(c) == ["3:inbox"]);

    // What a click on a workspace segment does (a name that needs quoting).
    let name = "7 with \"quotes\"";
    c.focus_workspace(name).expect("switching by command");
    let ws = s.get_workspaces();
    let now = ws
        .as_array()
        .and_then(|a| a.iter().find(|w| w["focused"] == true))
        .map(|w| w["name"].clone());
    assert_eq!(now, Some(serde_json::Value::from(name)));
    follow(&mut c, |c| focused(c) == [name]);

    // Scrolling: the previous workspace on the output (a window keeps the
    // named one alive: Sway removes empty workspaces it leaves).
    let _w = support::window::TestWindow::open(&s, "keeper").expect("a test window");
    s.swaymsg(&["workspace", "8"]);
    follow(&mut c, |c| focused(c) == ["8"]);
    c.cycle_workspace(-1).expect("cycling");
    follow(&mut c, |c| focused(c) == [name]);

    // A bad command is Sway's error, not a panic.
    if let Connection::Sway(client) = &mut c {
        let e = client
            .run_command("no_such_command")
            .expect_err("sway refuses it");
        assert!(
            e.to_string().contains("no_such_command") || e.to_string().contains("Unknown"),
            "{e}"
        );
    }
}

fn draw(m: &mut Modules) -> Vec<Segment> {
    let mut out = Vec::new();
    m.write(&mut out);
    out
}

#[test]
fn the_modules_follow_within_one_event() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let s = HeadlessSway::start();
    let cfg = rstat::modules::registry::parse(
        "[bar]\nleft = [\"workspaces\", \"window\"]\n",
        "t.toml",
        None,
    )
    .unwrap();
    let palette = Palette::from_colors(&cfg.bar.colors);
    let now = Instant::now();
    let mut m = Modules::from_config(&cfg, now);
    m.update_all(&Context {
        now,
        wall: Duration::ZERO,
        sample: &Sample::default(),
    });
    let mut c = sway::Client::connect(std::path::Path::new(&swaysock(&s))).expect("connecting");
    m.on_service(rstat::services::View::Compositor(Some(c.state())));
    let segs = draw(&mut m);
    assert_eq!(segs.len(), 1, "workspace 1, no window: {segs:?}");

    // Each switch is one workspace event: one dispatch shows it.
    for ws in ["2", "5", "2"] {
        s.swaymsg(&["workspace", ws]);
        assert!(pump(c.event_fd()));
        // Sway may split one event over reads: dispatch what is there,
        // then whatever completes it (still the same event).
        let mut changed = c.dispatch().expect("dispatch");
        while !c
            .state()
            .workspaces
            .iter()
            .any(|w| w.focused && w.name == ws)
        {
            assert!(pump(c.event_fd()));
            changed |= c.dispatch().expect("dispatch");
        }
        assert!(changed);
        assert!(m.on_service(rstat::services::View::Compositor(Some(c.state()))));
        let segs = draw(&mut m);
        let focused: Vec<&str> = segs
            .iter()
            .filter(|s| once::class(s, &palette) == "accent")
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(focused, [ws]);
    }

    // A window: its title shows.
    let _w = support::window::TestWindow::open(&s, "notes — vim").expect("a test window");
    let t = Instant::now();
    loop {
        assert!(pump(c.event_fd()), "no window event");
        c.dispatch().expect("dispatch");
        m.on_service(rstat::services::View::Compositor(Some(c.state())));
        let segs = draw(&mut m);
        if segs.iter().any(|s| s.text.as_str() == "notes — vim") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(5), "{segs:?}");
    }
}

#[test]
fn a_lost_connection_is_reported_and_a_new_one_reads_everything() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let mut s = HeadlessSway::start();
    let path = swaysock(&s);
    let mut c = sway::Client::connect(std::path::Path::new(&path)).expect("connecting");
    s.swaymsg(&["workspace", "2"]);
    let t = Instant::now();
    while !c
        .state()
        .workspaces
        .iter()
        .any(|w| w.name == "2" && w.focused)
    {
        assert!(pump(c.event_fd()) && t.elapsed() < Duration::from_secs(3));
        c.dispatch().expect("dispatch");
    }

    // The compositor goes away: an error (the bar then reconnects with
    // backoff), never a spin on a dead socket.
    s.kill(libc::SIGTERM);
    let t = Instant::now();
    let err = loop {
        assert!(pump(c.event_fd()), "a closed socket is readable");
        match c.dispatch() {
            Err(e) => break e,
            Ok(_) => assert!(t.elapsed() < Duration::from_secs(5), "no error"),
        }
    };
    assert!(err.to_string().contains("sway"), "{err}");

    // A new Sway: reconnecting reads the full state again.
    let s2 = HeadlessSway::start();
    let c2 = sway::Client::connect(std::path::Path::new(&swaysock(&s2))).expect("reconnecting");
    assert!(c2.state().workspaces.iter().any(|w| w.focused));
}

//! The Hyprland client against a local stand-in that speaks Hyprland's
//! documented socket protocol (Hyprland cannot run on this machine): requests
//! on `.socket.sock` answered from a model, events written as the
//! `NAME>>DATA` lines Hyprland sends, in the order a real session produces them.

mod common;

use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

use common::hyprland::{FakeHyprland, Model};
use rstat::compositor::{hyprland, Connection, Detected};
use serde_json::json;

/// The session the transcript starts from: two monitors, three workspaces.
fn session_model() -> Model {
    Model::new(
        json!([
            {"id": 1, "name": "1", "monitor": "DP-1", "monitorID": 0, "windows": 1, "hasfullscreen": false, "lastwindow": "0x55a3c0", "lastwindowtitle": "kitty"},
            {"id": 2, "name": "2", "monitor": "DP-1", "monitorID": 0, "windows": 0, "hasfullscreen": false, "lastwindow": "0x0", "lastwindowtitle": ""},
            {"id": 3, "name": "3", "monitor": "HDMI-A-1", "monitorID": 1, "windows": 1, "hasfullscreen": false, "lastwindow": "0x66b4d0", "lastwindowtitle": "mpv"}
        ]),
        json!([
            {"id": 0, "name": "DP-1", "activeWorkspace": {"id": 1, "name": "1"}, "specialWorkspace": {"id": 0, "name": ""}, "focused": true},
            {"id": 1, "name": "HDMI-A-1", "activeWorkspace": {"id": 3, "name": "3"}, "specialWorkspace": {"id": 0, "name": ""}, "focused": false}
        ]),
        json!({"address": "0x55a3c0", "class": "kitty", "title": "kitty", "workspace": {"id": 1, "name": "1"}}),
        json!([
            {"address": "0x55a3c0", "workspace": {"id": 1, "name": "1"}, "class": "kitty", "title": "kitty"},
            {"address": "0x66b4d0", "workspace": {"id": 3, "name": "3"}, "class": "mpv", "title": "mpv"}
        ]),
    )
}

/// Waits until the client's event socket is readable, then dispatches.
fn pump(c: &mut Connection) -> Result<bool, rstat::compositor::Error> {
    let mut p = libc::pollfd {
        fd: c.event_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, bounded timeout.
    let r = unsafe { libc::poll(&mut p, 1, 2000) };
    assert!(r > 0, "no event arrived within 2 s");
    c.dispatch()
}

fn names(c: &Connection, pred: impl Fn(&rstat::compositor::Workspace) -> bool) -> Vec<String> {
    c.state()
        .workspaces
        .iter()
        .filter(|w| pred(w))
        .map(|w| w.name.clone())
        .collect()
}

#[test]
fn a_session_transcript() {
    let hypr = FakeHyprland::start("session", session_model());
    let detected = rstat::compositor::detect(|k| {
        (k == "HYPRLAND_INSTANCE_SIGNATURE").then(|| hypr.sig.clone())
    });
    assert_eq!(detected, Detected::Hyprland(hypr.sig.clone()));
    let mut c = Connection::open(&detected, Some(&hypr.runtime)).expect("connecting");
    let mut ev = hypr.accept_events();

    // The full state is read at connect.
    assert_eq!(names(&c, |_| true), ["1", "2", "3"]);
    assert_eq!(names(&c, |w| w.focused), ["1"]);
    assert_eq!(names(&c, |w| w.visible), ["1", "3"]);
    assert_eq!(c.state().title, "kitty");
    assert_eq!(c.state().on_output("HDMI-A-1").count(), 1);

    // The user presses SUPER+2: Hyprland switches, then says so.
    hypr.model.lock().unwrap().monitors[0]["activeWorkspace"] = json!({"id": 2, "name": "2"});
    hypr.model.lock().unwrap().active = json!({});
    ev.write_all(b"workspace>>2\nworkspacev2>>2,2\nactivewindow>>,\nactivewindowv2>>\n")
        .unwrap();
    assert!(pump(&mut c).unwrap());
    assert_eq!(names(&c, |w| w.focused), ["2"]);
    assert_eq!(c.state().title, "");

    // A window opens and takes focus; its title arrives with the event.
    ev.write_all(b"openwindow>>77c5e0,2,firefox,Mozilla Firefox\nactivewindow>>firefox,Rust, the book - Mozilla Firefox\nactivewindowv2>>77c5e0\n").unwrap();
    assert!(pump(&mut c).unwrap());
    assert_eq!(c.state().title, "Rust, the book - Mozilla Firefox");

    // Workspace 4 is created on the other monitor, which gains focus.
    {
        let mut m = hypr.model.lock().unwrap();
        m.workspaces
            .as_array_mut()
            .unwrap()
            .push(json!({"id": 4, "name": "4", "monitor": "HDMI-A-1", "windows": 0}));
        m.monitors[0]["focused"] = json!(false);
        m.monitors[1]["focused"] = json!(true);
        m.monitors[1]["activeWorkspace"] = json!({"id": 4, "name": "4"});
    }
    ev.write_all(b"createworkspace>>4\ncreateworkspacev2>>4,4\nfocusedmon>>HDMI-A-1,4\nfocusedmonv2>>HDMI-A-1,4\nworkspace>>4\n").unwrap();
    assert!(pump(&mut c).unwrap());
    assert_eq!(names(&c, |w| w.focused), ["4"]);
    assert_eq!(names(&c, |w| w.visible), ["2", "4"]);

    // kitty on workspace 1 asks for attention.
    ev.write_all(b"urgent>>55a3c0\n").unwrap();
    assert!(pump(&mut c).unwrap());
    assert_eq!(names(&c, |w| w.urgent), ["1"]);

    // Events this client does not know change nothing.
    ev.write_all(b"bell>>\nconfigreloaded>>\nscreencast>>1,0\n")
        .unwrap();
    assert!(!pump(&mut c).unwrap());
    // A submap is shown (the mode module), and leaving it hides it.
    ev.write_all(b"submap>>resize\n").unwrap();
    assert!(pump(&mut c).unwrap());
    assert_eq!(c.state().mode, "resize");
    ev.write_all(b"submap>>\n").unwrap();
    assert!(pump(&mut c).unwrap());
    assert_eq!(c.state().mode, "");

    // A line split across two writes is reassembled.
    ev.write_all(b"activewindow>>kitty,ha").unwrap();
    ev.flush().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let _ = pump(&mut c).unwrap();
    ev.write_all(b"lf a title\n").unwrap();
    assert!(pump(&mut c).unwrap());
    assert_eq!(c.state().title, "half a title");

    // Clicking workspace 1 in the bar, scrolling.
    c.focus_workspace("1").unwrap();
    c.cycle_workspace(1).unwrap();
    assert_eq!(
        hypr.model.lock().unwrap().commands,
        ["dispatch workspace name:1", "dispatch workspace m+1"]
    );

    // Hyprland goes away: the client says so instead of spinning.
    drop(ev);
    let err = pump(&mut c).expect_err("a closed socket is an error");
    assert!(err.to_string().contains("closed"), "{err}");

    // And a reconnect reads the full state again.
    let c2 = Connection::open(&detected, Some(&hypr.runtime)).expect("reconnecting");
    assert_eq!(c2.state().workspaces.len(), 4);
    assert!(hypr.dir.exists());
}

#[test]
fn sockets_in_the_pre_040_location_are_found() {
    let sig = format!("rstat-test-{}", std::process::id());
    let tmp = Path::new("/tmp/hypr").join(&sig);
    std::fs::create_dir_all(&tmp).unwrap();
    let _l = UnixListener::bind(tmp.join(".socket2.sock")).unwrap();
    let found = hyprland::socket_dir(&sig, Some(Path::new("/nonexistent-runtime")));
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(found, Some(tmp));
    assert_eq!(hyprland::socket_dir("no-such-instance", None), None);
}

#[test]
fn no_instance_is_a_clear_error() {
    let err = Connection::open(
        &Detected::Hyprland("missing".into()),
        Some(Path::new("/nonexistent")),
    )
    .err()
    .expect("no sockets");
    assert!(
        err.to_string()
            .contains("no .socket2.sock for instance missing"),
        "{err}"
    );
}

/// A 0.56 session: the JSON shapes `HyprCtl.cpp` writes, one special
/// workspace (open) and one name-based one.
fn session_056(provider: Option<&str>) -> Model {
    let mut m = Model::new(
        json!([
            {"id": 1, "name": "1", "monitor": "DP-1", "monitorID": 0, "windows": 1, "hasfullscreen": false,
             "lastwindow": "0x55a3c0", "lastwindowtitle": "kitty", "ispersistent": false, "tiledLayout": "dwindle"},
            {"id": -98, "name": "special:magic", "monitor": "DP-1", "monitorID": 0, "windows": 1, "hasfullscreen": false,
             "lastwindow": "0x66b4d0", "lastwindowtitle": "btop", "ispersistent": false, "tiledLayout": "dwindle"},
            {"id": -1337, "name": "code", "monitor": "DP-1", "monitorID": 0, "windows": 0, "hasfullscreen": false,
             "lastwindow": "0x0", "lastwindowtitle": "", "ispersistent": true, "tiledLayout": "dwindle"}
        ]),
        json!([
            {"id": 0, "name": "DP-1", "description": "Dell U2720Q", "make": "Dell", "model": "U2720Q", "serial": "",
             "width": 3840, "height": 2160, "refreshRate": 60.0, "x": 0, "y": 0,
             "activeWorkspace": {"id": 1, "name": "1"}, "specialWorkspace": {"id": 0, "name": ""},
             "reserved": [0, 30, 0, 0], "scale": 1.5, "transform": 0, "focused": true, "dpmsStatus": true,
             "vrr": false, "disabled": false, "currentFormat": "XRGB8888", "mirrorOf": "none", "availableModes": []}
        ]),
        json!({"address": "0x55a3c0", "mapped": true, "hidden": false, "at": [0, 30], "size": [1280, 1410],
               "workspace": {"id": 1, "name": "1"}, "floating": false, "monitor": 0, "class": "kitty",
               "title": "~", "initialClass": "kitty", "initialTitle": "kitty", "pid": 4242,
               "xwayland": false, "pinned": false, "fullscreen": 0, "fullscreenClient": 0,
               "grouped": [], "tags": [], "swallowing": "0x0", "focusHistoryID": 0}),
        json!([]),
    );
    m.provider = provider.map(str::to_string);
    m
}

fn open(hypr: &FakeHyprland) -> Connection {
    Connection::open(&Detected::Hyprland(hypr.sig.clone()), Some(&hypr.runtime))
        .expect("connecting to the stand-in")
}

#[test]
fn clicks_use_the_form_the_config_provider_takes() {
    for (provider, want_focus, want_cycle) in [
        (
            Some("lua"),
            r#"dispatch hl.dsp.focus({ workspace = "name:code" })"#,
            r#"dispatch hl.dsp.focus({ workspace = "m+1" })"#,
        ),
        (
            Some("hyprlang"),
            "dispatch workspace name:code",
            "dispatch workspace m+1",
        ),
        // Before 0.55: no configProvider, the legacy form.
        (
            None,
            "dispatch workspace name:code",
            "dispatch workspace m+1",
        ),
    ] {
        let hypr = FakeHyprland::start(
            &format!("form-{}", provider.unwrap_or("none")),
            session_056(provider),
        );
        let mut c = open(&hypr);
        c.focus_workspace("code")
            .unwrap_or_else(|e| panic!("{provider:?}: {e}"));
        c.cycle_workspace(1)
            .unwrap_or_else(|e| panic!("{provider:?}: {e}"));
        let m = hypr.model.lock().unwrap();
        assert_eq!(m.commands, [want_focus, want_cycle], "{provider:?}");
        assert!(m.refused.is_empty(), "{provider:?}: {:?}", m.refused);
        // `j/status` once per connection.
        let asked = m.requests.iter().filter(|(_, r)| r == "j/status").count();
        assert_eq!(asked, 1, "{provider:?}");
    }
}

#[test]
fn the_stand_in_refuses_the_other_form_with_hyprlands_text() {
    // What a bar that ignored configProvider would see (Waybar's breakage).
    let hypr = FakeHyprland::start("refuse", session_056(Some("lua")));
    let mut c = open(&hypr);
    let Connection::Hyprland(h) = &mut c else {
        unreachable!()
    };
    let e = h
        .dispatch_command("dispatch workspace name:code")
        .expect_err("the legacy form under Lua");
    let msg = e.to_string();
    assert!(msg.contains("')' expected near 'name'"), "{msg}");
    assert!(
        msg.contains("your syntax might need to be updated"),
        "{msg}"
    );
    // A special workspace toggles in Lua form.
    c.focus_workspace("special:magic").expect("toggle special");
    assert_eq!(
        hypr.model.lock().unwrap().commands,
        [r#"dispatch hl.dsp.workspace.toggle_special("magic")"#]
    );

    let hypr = FakeHyprland::start("refuse-legacy", session_056(Some("hyprlang")));
    let c = open(&hypr);
    let Connection::Hyprland(mut h) = c else {
        unreachable!()
    };
    let e = h
        .dispatch_command(r#"dispatch hl.dsp.focus({ workspace = "1" })"#)
        .expect_err("the Lua form under hyprlang");
    assert!(e.to_string().contains("Invalid dispatcher"), "{e}");
}

#[test]
fn special_named_submap_layout_class_and_fullscreen() {
    let hypr = FakeHyprland::start("state056", session_056(Some("lua")));
    let mut c = open(&hypr);
    let s2 = hypr.serve_events();
    support_wait(|| s2.clients() == 1);
    // Closed special workspaces are not listed; name-based ones are.
    assert_eq!(names(&c, |_| true), ["1", "code"]);
    assert_eq!(c.state().class, "kitty");
    assert_eq!(c.state().layout, "English (US)");
    assert_eq!(c.state().mode, "");
    assert!(!c.state().fullscreen);

    // The user opens the special workspace: the monitor says so.
    hypr.model.lock().unwrap().monitors[0]["specialWorkspace"] =
        json!({"id": -98, "name": "special:magic"});
    s2.post("activespecial", "special:magic,DP-1");
    s2.post("activespecialv2", "-98,special:magic,DP-1");
    pump(&mut c).unwrap();
    let sp: Vec<_> = c
        .state()
        .workspaces
        .iter()
        .map(|w| (w.name.as_str(), w.special))
        .collect();
    assert_eq!(sp, [("1", false), ("code", false), ("special:magic", true)]);

    s2.post("submap", "resize");
    pump(&mut c).unwrap();
    assert_eq!(c.state().mode, "resize");
    s2.post("submap", "");
    pump(&mut c).unwrap();
    assert_eq!(c.state().mode, "");

    s2.post("activelayout", "at-translated-set-2-keyboard,German");
    pump(&mut c).unwrap();
    assert_eq!(c.state().layout, "German");

    hypr.model.lock().unwrap().active["fullscreen"] = json!(2);
    s2.post("fullscreen", "1");
    pump(&mut c).unwrap();
    assert!(c.state().fullscreen);

    // A title past 1024 bytes, with a newline: Hyprland cuts the event, the
    // client reads the whole title from j/activewindow instead.
    let long = format!("{}\nend", "é".repeat(700));
    {
        let mut m = hypr.model.lock().unwrap();
        m.active["title"] = json!(long);
        m.active["class"] = json!("foot");
    }
    s2.post("activewindow", &format!("foot,{long}"));
    pump(&mut c).unwrap();
    assert_eq!(c.state().title, long);
    assert_eq!(c.state().class, "foot");

    // A workspace changes its id (0.56's changeworkspaceid).
    hypr.model.lock().unwrap().workspaces[0]["id"] = json!(7);
    hypr.model.lock().unwrap().monitors[0]["activeWorkspace"] = json!({"id": 7, "name": "1"});
    s2.post("changeworkspaceid", "1,7");
    pump(&mut c).unwrap();
    assert_eq!(c.state().workspaces[0].id, 7);
    assert!(c.state().workspaces[0].focused);
}

#[test]
fn a_client_64_events_behind_is_dropped_and_reconnects_to_fresh_state() {
    let hypr = FakeHyprland::start("drop64", session_056(Some("lua")));
    let mut c = open(&hypr);
    let s2 = hypr.serve_events();
    support_wait(|| s2.clients() == 1);
    // The client does not read: the socket fills, then 64 queue, then drop.
    let mut n = 0;
    while s2.dropped() == 0 && n < 100_000 {
        s2.post("windowtitle", "55a3c0");
        n += 1;
    }
    assert_eq!(s2.dropped(), 1, "dropped after {n} events");
    // The client reads what was written, then the end.
    let err = loop {
        match pump(&mut c) {
            Ok(_) => continue,
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("closed the event socket"), "{err}");
    // Meanwhile a workspace appeared: the new connection has it.
    hypr.model.lock().unwrap().workspaces[0]["name"] = json!("one");
    let c2 = open(&hypr);
    assert_eq!(names(&c2, |_| true), ["one", "code"]);
}

#[test]
fn unexpected_reply_shapes_are_errors_or_empty_never_panics() {
    let mut m = session_056(Some("lua"));
    m.workspaces = json!({"not": "a list"});
    m.monitors = json!([{"name": 5, "activeWorkspace": "x"}, null, 3]);
    m.active = json!(["odd"]);
    m.devices = json!("nope");
    let hypr = FakeHyprland::start("shapes", m);
    let c = open(&hypr);
    assert!(c.state().workspaces.is_empty());
    assert_eq!(c.state().title, "");
    assert_eq!(c.state().layout, "");
    // Workspaces with wrong field types are skipped, the rest kept.
    let mut m = session_056(None);
    m.workspaces = json!([{"id": "1", "name": "1"}, {"id": 2, "name": 2}, {"id": 3, "name": "3", "monitor": "DP-1"}]);
    let hypr = FakeHyprland::start("shapes2", m);
    assert_eq!(names(&open(&hypr), |_| true), ["3"]);
}

fn support_wait(mut f: impl FnMut() -> bool) {
    let t = std::time::Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(5), "timed out");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A window title with invalid UTF-8 (Hyprland copies a title's bytes into
/// its JSON unchecked) is read lossily, like Sway's: the title shows
/// U+FFFD, and the replies that carry it (`j/activewindow`, `j/clients`,
/// `j/workspaces`' `lastwindowtitle`) still give workspaces and a title.
#[test]
fn a_title_with_invalid_utf8_is_read_lossily_in_replies() {
    const MARK: &str = "RAW-TITLE";
    let mut m = session_model();
    m.workspaces[0]["lastwindowtitle"] = json!(MARK);
    m.active["title"] = json!(MARK);
    m.clients[0]["title"] = json!(MARK);
    m.raw = vec![(MARK.to_string(), b"caf\xe9 \xff\xfe menu".to_vec())];
    let hypr = FakeHyprland::start("lossy", m);
    let mut c = open(&hypr);
    let mut ev = hypr.accept_events();
    assert_eq!(names(&c, |_| true), ["1", "2", "3"], "workspaces kept");
    assert_eq!(c.state().title, "caf\u{FFFD} \u{FFFD}\u{FFFD} menu");
    assert_eq!(c.state().class, "kitty");

    // A title change is read again from `j/activewindow`: still lossy.
    hypr.model.lock().unwrap().raw[0].1 = b"\xc3\x28 second".to_vec();
    ev.write_all(b"windowtitle>>55a3c0\nwindowtitlev2>>55a3c0,x\n")
        .unwrap();
    assert!(pump(&mut c).unwrap());
    assert_eq!(c.state().title, "\u{FFFD}( second");
    assert_eq!(names(&c, |w| w.focused), ["1"]);
}

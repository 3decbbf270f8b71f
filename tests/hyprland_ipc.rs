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
    ev.write_all(b"bell>>\nconfigreloaded>>\nsubmap>>resize\nscreencast>>1,0\n")
        .unwrap();
    assert!(!pump(&mut c).unwrap());

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

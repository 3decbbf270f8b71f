//! The whole bar against a compositor IPC that misbehaves, on a real
//! headless Sway (which draws the bar): an i3-IPC socket of the test's own
//! that first answers garbage, a reply declaring 4 GiB, a cut reply, non-JSON
//! and a 16 MiB reply of the wrong shape, then goes away, and then comes back
//! as Sway itself (forwarded). The bar keeps drawing its clock throughout,
//! says what went wrong on stderr without flooding it, never panics, and
//! shows Sway's workspaces once the socket is sane. And without any
//! compositor IPC, the one line saying so is printed once, not at every
//! reload.

mod common;
mod support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::proc::{poll_every, Guarded};
use support::sway::HeadlessSway;

const PATIENCE: Duration = Duration::from_secs(20);

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
}

fn write_config(sway: &HeadlessSway, text: &str) {
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("create the config directory");
    std::fs::write(dir.join("config.toml"), text).expect("write the config");
}

/// An i3 IPC message header: magic, length, type.
fn header(len: u32, kind: u32) -> Vec<u8> {
    let mut h = b"i3-ipc".to_vec();
    h.extend_from_slice(&len.to_ne_bytes());
    h.extend_from_slice(&kind.to_ne_bytes());
    h
}

/// What the hostile socket does with connection `n` while it misbehaves.
fn misbehave(n: usize, mut c: UnixStream) {
    let mut req = [0u8; 4096];
    let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
    let _ = c.read(&mut req);
    let kind = u32::from_ne_bytes([req[10], req[11], req[12], req[13]]);
    let _ = match n % 5 {
        // Not the protocol at all.
        0 => c.write_all(&[0x5a; 65536]),
        // A reply of 4 GiB announced, a few bytes sent.
        1 => c
            .write_all(&header(u32::MAX, kind))
            .and_then(|()| c.write_all(b"[{")),
        // A reply cut short.
        2 => c
            .write_all(&header(100, kind))
            .and_then(|()| c.write_all(b"[{\"num\": 1")),
        // Not JSON.
        3 => {
            let body = b"{{{ this is not json \xff\xfe";
            c.write_all(&header(body.len() as u32, kind))
                .and_then(|()| c.write_all(body))
        }
        // 16 MiB of JSON of the wrong shape.
        _ => {
            let mut body = Vec::with_capacity(16 << 20);
            body.push(b'[');
            while body.len() < (16 << 20) - 8 {
                body.extend_from_slice(b"\"x\",");
            }
            body.extend_from_slice(b"\"x\"]");
            c.write_all(&header(body.len() as u32, kind))
                .and_then(|()| c.write_all(&body))
        }
    };
    let _ = c.shutdown(Shutdown::Both);
}

/// Copies one direction of a forwarded connection.
fn pipe(mut from: UnixStream, mut to: UnixStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// The hostile socket: misbehaves while `sane` is false, then forwards to
/// Sway's own socket.
fn serve(path: &Path, upstream: PathBuf, sane: Arc<AtomicBool>, count: Arc<AtomicUsize>) {
    let listener = UnixListener::bind(path).expect("bind the hostile socket");
    std::thread::spawn(move || {
        for c in listener.incoming() {
            let Ok(c) = c else { break };
            let n = count.fetch_add(1, Ordering::SeqCst);
            if !sane.load(Ordering::SeqCst) {
                std::thread::spawn(move || misbehave(n, c));
                continue;
            }
            let Ok(up) = UnixStream::connect(&upstream) else {
                continue;
            };
            if let (Ok(c2), Ok(up2)) = (c.try_clone(), up.try_clone()) {
                pipe(c2, up2);
                pipe(up, c);
            }
        }
    });
}

/// The bar's clock area, in a screenshot of HEADLESS-1.
fn clock(sway: &HeadlessSway) -> Option<Vec<u8>> {
    let img = sway.try_screenshot("HEADLESS-1").ok()?;
    Some(img.crop(760, 0, 400, 28).rgb)
}

/// Whether the bar draws something in its left 100 columns (a workspace).
fn left_drawn(sway: &HeadlessSway) -> bool {
    sway.try_screenshot("HEADLESS-1").is_ok_and(|img| {
        let bg = img.dominant(0, 28);
        (0..100).any(|x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 24))
    })
}

#[test]
fn a_hostile_ipc_socket_then_sway_itself() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        "[bar]\nleft = [\"workspaces\", \"window\", \"mode\"]\ncenter = [\"clock\"]\nright = []\n[module.clock]\nformat = \"%H:%M:%S\"\npopup = false\n",
    );
    let swaysock = sway
        .env()
        .into_iter()
        .find(|(k, _)| *k == "SWAYSOCK")
        .map(|(_, v)| PathBuf::from(v))
        .expect("Sway's SWAYSOCK");
    let hostile = sway.runtime_dir().join("hostile.sock");
    let sane = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    serve(&hostile, swaysock, sane.clone(), count.clone());

    let mut cmd = sway.client(common::rstat_bin());
    cmd.env("SWAYSOCK", &hostile)
        .args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));

    // Every kind of misbehaviour once (the bar backs off: 100 ms doubling);
    // the clock keeps going.
    let t0 = Instant::now();
    let mut faces: Vec<Vec<u8>> = Vec::new();
    while count.load(Ordering::SeqCst) < 5 || t0.elapsed() < Duration::from_secs(3) {
        assert!(
            t0.elapsed() < PATIENCE,
            "the bar stopped reconnecting: {} connections\n{}",
            count.load(Ordering::SeqCst),
            bar.stderr()
        );
        if let Some(c) = clock(&sway) {
            if faces.last() != Some(&c) {
                faces.push(c);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.assert_running();
    assert!(
        faces.len() >= 3,
        "the clock stalled: {} faces in {:?}",
        faces.len(),
        t0.elapsed()
    );
    assert!(!left_drawn(&sway), "no workspaces from garbage");

    // Sway itself behind the socket: the workspaces appear.
    sane.store(true, Ordering::SeqCst);
    poll_every(Duration::from_millis(100), PATIENCE, || {
        left_drawn(&sway).then_some(())
    })
    .unwrap_or_else(|| panic!("the workspaces never came back\n{}", bar.stderr()));
    bar.assert_running();
    let err = bar.stderr();
    assert!(!err.contains("panicked"), "{err}");
    let lines = err.lines().filter(|l| l.contains("sway IPC")).count();
    eprintln!(
        "{} connections, {lines} stderr lines about it, {} clock faces\n{err}",
        count.load(Ordering::SeqCst),
        faces.len()
    );
    assert!(lines >= 1, "the trouble was said: {err}");
    assert!(
        lines <= count.load(Ordering::SeqCst),
        "at most one line per connection: {err}"
    );
}

#[test]
fn no_compositor_ipc_is_said_once_not_at_every_reload() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let cfg = |h: u32| {
        format!("[bar]\nheight = {h}\nleft = [\"workspaces\"]\ncenter = [\"clock\"]\nright = []\n")
    };
    write_config(&sway, &cfg(28));
    let mut cmd = sway.client(common::rstat_bin());
    cmd.env_remove("SWAYSOCK")
        .env_remove("I3SOCK")
        .env_remove("HYPRLAND_INSTANCE_SIGNATURE")
        .args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    // The bar is up (its exclusive zone), then three reloads (SIGUSR2),
    // each seen in the exclusive zone.
    for h in [28, 30, 32, 34] {
        if h != 28 {
            write_config(&sway, &cfg(h));
            bar.signal(libc::SIGUSR2);
        }
        poll_every(Duration::from_millis(20), PATIENCE, || {
            sway.usable_area("HEADLESS-1")
                .filter(|a| a.y == h as i64)
                .map(|_| ())
        })
        .unwrap_or_else(|| panic!("reload to height {h} not seen\n{}", bar.stderr()));
    }
    bar.assert_running();
    let err = bar.stderr();
    let said = err.matches("no compositor IPC").count();
    assert_eq!(said, 1, "said once:\n{err}");
}

/// Start-up and reconnects never wait for the compositor's IPC: with a
/// socket that accepts and never answers (a stalled compositor), the bar's
/// first frame comes at once and it goes on committing frames at its
/// script's pace. Frames are read on the wire (`WAYLAND_DEBUG=client` logs
/// each `wl_surface.commit` with a timestamp); a client that asked the
/// socket on the loop would leave gaps as long as its 2 s read timeout.
#[test]
fn a_silent_ipc_socket_delays_no_frame() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        "[bar]\nleft = [\"workspaces\", \"custom#fast\"]\nright = [\"clock\"]\n\
         [module.\"custom#fast\"]\nexec = \"i=0; while :; do i=$((i+1)); echo $i; sleep 0.02; done\"\n\
         continuous = true\n[module.clock]\nformat = \"%H:%M:%S\"\npopup = false\n",
    );
    let silent = sway.runtime_dir().join("silent.sock");
    let listener = UnixListener::bind(&silent).expect("bind the silent socket");
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for c in listener.incoming().flatten() {
            // Held open, never read from or written to.
            if let Ok(mut k) = keep.lock() {
                k.push(c);
            }
        }
    });

    let mut cmd = sway.client(common::rstat_bin());
    cmd.env("SWAYSOCK", &silent)
        .env("WAYLAND_DEBUG", "client")
        .args(["--collector", "procfs"]);
    let stderr = sway.runtime_dir().join("rstat-silent.stderr");
    let mut bar = Guarded::spawn("rstat", &mut cmd, &stderr);
    let commit_times = || support::wire::commit_times(&std::fs::read(&stderr).unwrap_or_default());
    // Five seconds of frames after the first: more than two of the
    // client's 2 s timeouts and a reconnect.
    let times = poll_every(Duration::from_millis(100), PATIENCE, || {
        bar.assert_running();
        let t = commit_times();
        (t.len() > 2 && t[t.len() - 1] - t[1] > 5000.0).then_some(t)
    })
    .unwrap_or_else(|| {
        panic!(
            "the bar committed {} frames in {PATIENCE:?}\n{}",
            commit_times().len(),
            bar.stderr()
        )
    });
    let accepted = held.lock().map_or(0, |h| h.len());
    assert!(accepted >= 1, "the bar never connected to the socket");
    let widest = support::wire::widest_gap(&times[1..]);
    eprintln!(
        "{} frames, widest gap {widest:.0} ms, {accepted} connections to the silent socket",
        times.len()
    );
    assert!(
        widest < 1000.0,
        "the bar committed no frame for {widest:.0} ms while the IPC socket was silent"
    );
    bar.assert_running();
    let err = bar.stderr();
    assert!(!err.contains("panicked"), "{err}");
}

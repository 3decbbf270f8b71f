//! The compositor modules end to end in a real headless Sway: what
//! `rstat --once --modules` reports follows `swaymsg` on each output, and a
//! running bar survives losing its IPC connection (killed under it through
//! a proxy socket, refused for a while, then back) without a crash or a
//! spin, and goes on following Sway.

mod common;
mod support;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use support::proc::{poll_every, proc_cost, run, Guarded};
use support::sway::HeadlessSway;

const PATIENCE: Duration = Duration::from_secs(10);

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
}

fn write_config(sway: &HeadlessSway, text: &str) {
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("create the config directory");
    std::fs::write(dir.join("config.toml"), text).expect("write the config");
}

/// `rstat --once --modules` as a client of `sway`.
fn once(sway: &HeadlessSway) -> Value {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--once", "--modules", "--collector", "procfs"]);
    let out = run(&mut cmd, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", out.stderr);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// (text, class, output) of each workspace segment.
fn buttons(v: &Value) -> Vec<(String, String, String)> {
    v["workspaces"]["segments"]
        .as_array()
        .expect("workspaces segments")
        .iter()
        .map(|s| {
            let f = |k: &str| s[k].as_str().unwrap_or("").to_string();
            (f("text"), f("class"), f("output"))
        })
        .collect()
}

fn b(t: &str, c: &str, o: &str) -> (String, String, String) {
    (t.into(), c.into(), o.into())
}

#[test]
fn once_modules_follows_swaymsg_on_each_output() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        r#"
[bar]
left = ["workspaces", "window"]
center = ["clock"]
right = ["custom#hello", "network", "battery", "health"]
[module."custom#hello"]
exec = ["echo", "hello"]
"#,
    );
    let v = once(&sway);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "workspaces",
        "window",
        "clock",
        "custom#hello",
        "network",
        "battery",
        "health",
    ] {
        assert!(keys.contains(&k), "{k} missing from {v}");
    }
    assert_eq!(buttons(&v), [b("1", "accent", "HEADLESS-1")]);
    assert_eq!(
        v["workspaces"]["segments"][0]["states"],
        serde_json::json!(["visible", "focused"]),
        "{v}"
    );
    assert_eq!(v["window"]["text"], "", "no window: hidden");
    assert_eq!(v["custom#hello"]["text"], "hello");
    assert!(v["health"]["text"].as_str().unwrap().starts_with("CPU"));
    assert!(v["clock"]["text"].as_str().unwrap().len() > 5);
    let has_battery = std::fs::read_dir("/sys/class/power_supply")
        .map(|d| {
            d.flatten().any(|e| {
                std::fs::read_to_string(e.path().join("type")).is_ok_and(|t| t.trim() == "Battery")
            })
        })
        .unwrap_or(false);
    if !has_battery {
        assert_eq!(v["battery"]["text"], "", "no battery: hidden");
    }

    // A window on workspace 1, then workspace 4: 1 stays (not empty).
    let _w = support::window::TestWindow::open(&sway, "editor").expect("a test window");
    sway.swaymsg(&["workspace", "4"]);
    let v = once(&sway);
    assert_eq!(
        buttons(&v),
        [b("1", "dim", "HEADLESS-1"), b("4", "accent", "HEADLESS-1")]
    );

    // A second output: its workspace is tagged for its own bar.
    sway.swaymsg(&["create_output"]);
    let v = poll_every(Duration::from_millis(100), PATIENCE, || {
        let v = once(&sway);
        (buttons(&v).iter().any(|x| x.2 == "HEADLESS-2")).then_some(v)
    })
    .expect("a workspace on HEADLESS-2");
    let on2: Vec<_> = buttons(&v)
        .into_iter()
        .filter(|x| x.2 == "HEADLESS-2")
        .collect();
    assert_eq!(on2.len(), 1, "{v}");
    sway.swaymsg(&["focus", "output", "HEADLESS-2"]);
    let v = once(&sway);
    let focused: Vec<_> = buttons(&v)
        .into_iter()
        .filter(|x| x.1 == "accent")
        .collect();
    assert_eq!(focused.len(), 1);
    assert_eq!(focused[0].2, "HEADLESS-2");
    assert_eq!(
        v["window"]["text"], "",
        "an empty output has no focused window"
    );
    sway.swaymsg(&["focus", "output", "HEADLESS-1"]);
    sway.swaymsg(&["workspace", "1"]);
    let v = once(&sway);
    assert_eq!(v["window"]["text"], "editor");
}

/// A socket that forwards to Sway's, so a test can cut the bar's IPC
/// connections without touching Sway, and refuse new ones for a while.
struct Proxy {
    path: PathBuf,
    streams: Arc<Mutex<Vec<UnixStream>>>,
    accepted: Arc<AtomicUsize>,
    /// Bytes the bar sent to Sway over the forwarded connections.
    sent: Arc<AtomicUsize>,
    open: Arc<AtomicBool>,
}

impl Proxy {
    fn start(path: &Path, upstream: PathBuf) -> Proxy {
        let listener = UnixListener::bind(path).expect("bind the proxy");
        let streams = Arc::new(Mutex::new(Vec::new()));
        let accepted = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicBool::new(true));
        let (st, ac, se, op) = (
            streams.clone(),
            accepted.clone(),
            sent.clone(),
            open.clone(),
        );
        std::thread::spawn(move || {
            for c in listener.incoming() {
                let Ok(client) = c else { break };
                if !op.load(Ordering::SeqCst) {
                    // Refused: the connection closes before any reply.
                    drop(client);
                    continue;
                }
                let Ok(up) = UnixStream::connect(&upstream) else {
                    continue;
                };
                ac.fetch_add(1, Ordering::SeqCst);
                let pipe =
                    |mut from: UnixStream, mut to: UnixStream, count: Option<Arc<AtomicUsize>>| {
                        std::thread::spawn(move || {
                            let mut buf = [0u8; 8192];
                            loop {
                                match from.read(&mut buf) {
                                    Ok(0) | Err(_) => break,
                                    Ok(n) => {
                                        if let Some(c) = &count {
                                            c.fetch_add(n, Ordering::SeqCst);
                                        }
                                        if to.write_all(&buf[..n]).is_err() {
                                            break;
                                        }
                                    }
                                }
                            }
                            let _ = to.shutdown(Shutdown::Both);
                        });
                    };
                let mut list = st.lock().unwrap();
                list.push(client.try_clone().unwrap());
                list.push(up.try_clone().unwrap());
                pipe(
                    client.try_clone().unwrap(),
                    up.try_clone().unwrap(),
                    Some(se.clone()),
                );
                pipe(up, client, None);
            }
        });
        Proxy {
            path: path.to_path_buf(),
            streams,
            accepted,
            sent,
            open,
        }
    }

    /// Cuts every forwarded connection.
    fn cut(&self) {
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

#[test]
fn the_bar_survives_losing_its_ipc_connection() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        "[bar]\nleft = [\"workspaces\", \"window\"]\ncenter = [\"clock\"]\nright = []\n",
    );
    let real = sway
        .env()
        .into_iter()
        .find(|(k, _)| *k == "SWAYSOCK")
        .map(|(_, v)| PathBuf::from(v))
        .unwrap();
    let proxy = Proxy::start(&sway.runtime_dir().join("proxy.sock"), real);
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"])
        .env("SWAYSOCK", &proxy.path)
        .env("RUST_BACKTRACE", "1");
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE).unwrap_or_else(|e| panic!("{e}"));
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (proxy.accepted.load(Ordering::SeqCst) >= 2).then_some(())
    })
    .expect("the bar connects to Sway's IPC (requests + events)");

    // Cut, and refuse reconnects for three seconds: the bar retries with
    // backoff, costing next to nothing meanwhile.
    proxy.open.store(false, Ordering::SeqCst);
    proxy.cut();
    let pid = bar.pid();
    let before = proc_cost(pid).expect("the bar runs").cpu_ticks;
    std::thread::sleep(Duration::from_secs(3));
    bar.assert_running();
    let spent = proc_cost(pid).expect("the bar runs").cpu_ticks - before;
    let hz = support::proc::clock_ticks_per_sec();
    eprintln!("bar CPU over 3 s without IPC: {} ms", spent * 1000 / hz);
    assert!(
        spent * 1000 / hz <= 150,
        "{spent} ticks ({} ms) of CPU in 3 s without IPC: a spin?",
        spent * 1000 / hz
    );

    // Back: the bar reconnects (at most the 5 s backoff cap later) and
    // follows Sway again.
    let accepted = proxy.accepted.load(Ordering::SeqCst);
    proxy.open.store(true, Ordering::SeqCst);
    poll_every(Duration::from_millis(50), Duration::from_secs(15), || {
        (proxy.accepted.load(Ordering::SeqCst) >= accepted + 2).then_some(())
    })
    .unwrap_or_else(|| panic!("the bar did not reconnect\n{}", bar.stderr()));
    std::thread::sleep(Duration::from_millis(300));
    let sent = proxy.sent.load(Ordering::SeqCst);
    sway.swaymsg(&["workspace", "3"]);
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (proxy.sent.load(Ordering::SeqCst) > sent).then_some(())
    })
    .expect("the bar asks Sway for the workspaces after the event");
    bar.assert_running();
    let err = bar.stderr();
    assert_eq!(
        err.matches("compositor IPC lost").count(),
        1,
        "said once:\n{err}"
    );
    assert!(err.contains("compositor IPC connected again"), "{err}");
    drop(bar);
}

#[test]
fn custom_scripts_in_the_bar_restart_and_never_spin() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().join("scripts");
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("runs");
    let lines = dir.join("interval-runs");
    write_config(
        &sway,
        &format!(
            r#"
[bar]
left = ["custom#dies", "custom#every", "custom#big", "custom#silent"]
center = ["clock"]
right = []
[module."custom#dies"]
exec = "echo run >> {m}; echo hi; sleep 0.2; exit 1"
continuous = true
[module."custom#every"]
exec = "echo run >> {l}; echo tick"
interval_ms = 300
[module."custom#big"]
exec = "head -c 1000000 /dev/zero | tr '\\0' a; echo; sleep 1000"
continuous = true
[module."custom#silent"]
exec = "sleep 1000"
continuous = true
"#,
            m = marker.display(),
            l = lines.display()
        ),
    );
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE).unwrap_or_else(|e| panic!("{e}"));
    let pid = bar.pid();
    let before = proc_cost(pid).expect("the bar runs").cpu_ticks;
    let count = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    // The dying script: started, exits, restarted after 1 s (then 2 s).
    poll_every(Duration::from_millis(50), PATIENCE, || {
        (count(&marker) >= 2).then_some(())
    })
    .unwrap_or_else(|| panic!("not restarted: {} runs\n{}", count(&marker), bar.stderr()));
    std::thread::sleep(Duration::from_secs(2));
    bar.assert_running();
    let spent = proc_cost(pid).expect("the bar runs").cpu_ticks - before;
    let hz = support::proc::clock_ticks_per_sec();
    let ms = spent * 1000 / hz;
    eprintln!("bar CPU with four custom scripts over ~3 s: {ms} ms");
    // Three runs of the interval script per second and a 1 MB line cost a
    // little; a closed pipe left on the loop would burn a whole core.
    assert!(ms <= 600, "{ms} ms of CPU over about 3 s: a spin?");
    assert!(
        count(&lines) >= 5,
        "the interval script ran {} times",
        count(&lines)
    );
    let err = bar.stderr();
    assert!(err.contains("custom#dies: `"), "its failure is said: {err}");
    assert!(
        !err.contains("custom#silent"),
        "a silent script is no error: {err}"
    );
    drop(bar);
}

/// How far right the bar on `output` draws anything (text, the focused
/// workspace's tint): one past the last column that differs from the bar's
/// background, once `ok` accepts it.
fn bar_extent(sway: &HeadlessSway, output: &str, ok: impl Fn(usize) -> bool) -> usize {
    let mut last = 0;
    poll_every(Duration::from_millis(50), PATIENCE, || {
        let img = sway.try_screenshot(output).ok()?;
        let bg = img.dominant(0, 28);
        last = (0..img.width)
            .rev()
            .find(|&x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 24))
            .map_or(0, |x| x + 1);
        ok(last).then_some(last)
    })
    .unwrap_or_else(|| panic!("{output}: an extent of {last} px was never accepted"))
}

#[test]
fn each_output_bar_shows_its_own_workspaces() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    sway.swaymsg(&["create_output"]);
    poll_every(Duration::from_millis(20), PATIENCE, || {
        sway.output("HEADLESS-2")
    })
    .expect("create_output adds HEADLESS-2");
    let long = "wwwwwwwwwwwwwwwwwwwwwwww";
    let ws = sway.get_workspaces();
    let on = |out: &str| {
        ws.as_array()
            .and_then(|a| a.iter().find(|w| w["output"] == out))
            .and_then(|w| w["name"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no workspace on {out}: {ws}"))
    };
    let (one, two) = (on("HEADLESS-1"), on("HEADLESS-2"));
    sway.swaymsg(&["rename", "workspace", &one, "to", long]);
    write_config(
        &sway,
        "[bar]\nleft = [\"workspaces\"]\ncenter = []\nright = []\n",
    );
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE).ok();

    // HEADLESS-1 shows the long name only, HEADLESS-2 its short one only.
    let e1 = bar_extent(&sway, "HEADLESS-1", |x| x > 100);
    let e2 = bar_extent(&sway, "HEADLESS-2", |x| x > 0 && x < 60);
    eprintln!("bars end at: HEADLESS-1 {e1} px, HEADLESS-2 {e2} px");

    // Swap the names: each bar follows its own output (events, no tick).
    sway.swaymsg(&["rename", "workspace", long, "to", "1"]);
    sway.swaymsg(&["rename", "workspace", &two, "to", long]);
    let f2 = bar_extent(&sway, "HEADLESS-2", |x| x > 100);
    let f1 = bar_extent(&sway, "HEADLESS-1", |x| x > 0 && x < 60);
    eprintln!("after the swap: HEADLESS-1 {f1} px, HEADLESS-2 {f2} px");
    bar.assert_running();
}

/// Waybar's users report memory growing with every compositor event; here
/// thousands of workspace and focus changes leave the bar's RSS flat.
#[test]
fn thousands_of_compositor_events_keep_the_bar_flat() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        "[bar]\nleft = [\"workspaces\", \"window\"]\ncenter = [\"clock\"]\nright = []\n",
    );
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE).unwrap_or_else(|e| panic!("{e}"));
    let _w = support::window::TestWindow::open(&sway, "a window with a title").expect("window");
    let pid = bar.pid();
    // Each switch: workspace events (and a window focus when back on 1).
    let switch = |n: usize| {
        for i in 0..n {
            let ws = if i % 2 == 0 { "2" } else { "1" };
            sway.ipc(0, &format!("workspace {ws}")).expect("a command");
        }
        // Let the bar catch up: until it has used no CPU for 300 ms.
        let mut last = proc_cost(pid).map_or(0, |c| c.cpu_ticks);
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(300));
            let now = proc_cost(pid).map_or(0, |c| c.cpu_ticks);
            if now == last {
                break;
            }
            last = now;
        }
        proc_cost(pid).expect("the bar runs").anon_kib
    };
    // A burst may grow buffers once (the event backlog, glibc's arenas);
    // what must not happen is growth with every further event. Anonymous
    // memory only: a code path run for the first time faults in pages of
    // the binary (64 KiB at a time), which is not growth with events.
    let warm = switch(1000);
    let first = switch(2000);
    let second = switch(2000);
    bar.assert_running();
    eprintln!(
        "anonymous RSS: {warm} KiB warm, {first} KiB after 2000 more switches, {second} KiB after 2000 more"
    );
    assert!(
        second <= first + 128,
        "anonymous RSS keeps growing: {warm} -> {first} -> {second} KiB"
    );
}

/// The focused workspace's name, per Sway.
fn focused_workspace(sway: &HeadlessSway) -> String {
    sway.get_workspaces()
        .as_array()
        .and_then(|a| a.iter().find(|w| w["focused"] == true))
        .and_then(|w| w["name"].as_str())
        .unwrap_or("")
        .to_string()
}

#[test]
fn clicking_a_workspace_focuses_it_and_scrolling_cycles() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        "[bar]\nleft = [\"workspaces\"]\ncenter = []\nright = []\n",
    );
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    bar_extent(&sway, "HEADLESS-1", |x| x > 0);
    // Two workspaces that stay (each holds a window); 2 is focused.
    let _a = support::window::TestWindow::open(&sway, "a").expect("window a");
    sway.swaymsg(&["workspace", "2"]);
    let _b = support::window::TestWindow::open(&sway, "b").expect("window b");
    // Where the first button ("1") is drawn: the first column that differs
    // from the bar's background, once both buttons are there.
    let x1 = poll_every(Duration::from_millis(50), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let bg = img.dominant(0, 28);
        let cols: Vec<usize> = (0..img.width / 4)
            .filter(|&x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 24))
            .collect();
        // Two runs of columns: the buttons "1" and "2" (the focused one tinted).
        let runs = cols.windows(2).filter(|w| w[1] > w[0] + 1).count() + 1;
        (cols.len() > 2 && runs >= 2).then(|| cols[0])
    })
    .expect("both workspace buttons drawn");
    let mut pointer = support::pointer::VirtualPointer::new(&sway).expect("virtual pointer");
    pointer
        .move_to(x1 as u32 + 2, 14)
        .expect("move onto button 1");
    pointer.click(support::pointer::BTN_LEFT).expect("click");
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (focused_workspace(&sway) == "1").then_some(())
    })
    .unwrap_or_else(|| panic!("the click did not focus workspace 1\n{}", bar.stderr()));

    // Scrolling down: the next workspace; up: back.
    pointer.scroll(1).expect("scroll down");
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (focused_workspace(&sway) == "2").then_some(())
    })
    .unwrap_or_else(|| panic!("scrolling down did not cycle to 2\n{}", bar.stderr()));
    pointer.scroll(-1).expect("scroll up");
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (focused_workspace(&sway) == "1").then_some(())
    })
    .unwrap_or_else(|| panic!("scrolling up did not cycle to 1\n{}", bar.stderr()));
    bar.assert_running();
}

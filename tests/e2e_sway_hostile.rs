//! What a real headless Sway can send that once hurt the bar: a window title
//! holding invalid UTF-8 (Sway passes the bytes through into its IPC JSON),
//! and 1 MB replies (a big tree) whose memory must be given back after the
//! burst.

mod common;
mod support;

use std::time::Duration;

use serde_json::Value;
use support::proc::{proc_cost, run, wait_for, Guarded};
use support::sway::HeadlessSway;
use support::window::TestWindow;

const APPEAR: Duration = Duration::from_secs(15);

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
}

fn write_config(sway: &HeadlessSway, text: &str) {
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("create the config directory");
    std::fs::write(dir.join("config.toml"), text).expect("write the config");
}

const LAYOUT: &str = r#"
[bar]
left = ["workspaces", "window"]
right = ["clock"]
"#;

/// `rstat --once --modules` as a client of `sway`.
fn once(sway: &HeadlessSway) -> Value {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--once", "--modules", "--collector", "procfs"]);
    let out = run(&mut cmd, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", out.stderr);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The focused window's title bytes as Sway's raw `GET_TREE` reply holds them.
fn raw_tree_has(sway: &HeadlessSway, needle: &[u8]) -> bool {
    let mut cmd = std::process::Command::new("swaymsg");
    cmd.args(["-r", "-t", "get_tree"]);
    for (k, v) in sway.env() {
        cmd.env(k, v);
    }
    cmd.output()
        .is_ok_and(|o| o.stdout.windows(needle.len()).any(|w| w == needle))
}

#[test]
fn a_title_with_invalid_utf8_is_shown_lossily_and_blanks_nothing() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(&sway, LAYOUT);
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, APPEAR)
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));

    let win = TestWindow::open(&sway, "plain").expect("a test window");
    let title: &[u8] = b"caf\xe9 \xff\xfe menu";
    win.set_raw_title(title).expect("set the raw title");
    let seen = wait_for(Duration::from_secs(5), || {
        raw_tree_has(&sway, title).then_some(())
    });
    if seen.is_none() {
        // A Sway that cleans titles itself sends valid JSON: nothing to test.
        let _ = common::need(false, "this Sway does not pass invalid UTF-8 through");
        return;
    }
    let v = once(&sway);
    assert_eq!(
        v["window"]["text"], "caf\u{fffd} \u{fffd}\u{fffd} menu",
        "the title, decoded lossily: {v}"
    );
    let ws = v["workspaces"]["segments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(ws.len(), 1, "the workspaces still show: {v}");

    // The running bar took the same event: still connected, nothing dropped.
    std::thread::sleep(Duration::from_millis(500));
    bar.assert_running();
    let err = bar.stderr();
    assert!(
        !err.contains("not JSON") && !err.contains("lost"),
        "the bar dropped the compositor over one title:\n{err}"
    );
}

/// A Sway command over IPC with a minute to answer: a loaded machine's
/// Sway can take seconds over a long mark while it also serves the bar's
/// 1 MB trees (the harness's own call gives it 10 s).
fn run_command_patiently(sway: &HeadlessSway, cmd: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let path = sway
        .env()
        .into_iter()
        .find(|(k, _)| *k == "SWAYSOCK")
        .map(|(_, v)| v)
        .unwrap_or_default();
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut msg = b"i3-ipc".to_vec();
    msg.extend_from_slice(&(cmd.len() as u32).to_ne_bytes());
    msg.extend_from_slice(&0u32.to_ne_bytes());
    msg.extend_from_slice(cmd.as_bytes());
    s.write_all(&msg)?;
    let mut head = [0u8; 14];
    s.read_exact(&mut head)?;
    let len = u32::from_ne_bytes([head[6], head[7], head[8], head[9]]) as usize;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// VmRSS of `pid`, KiB.
fn rss_kib(pid: u32) -> u64 {
    proc_cost(pid).map_or(0, |c| c.rss_kib)
}

#[test]
fn one_megabyte_replies_give_their_memory_back() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(&sway, LAYOUT);
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, APPEAR)
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));
    let _win = TestWindow::open(&sway, "first").expect("a test window");
    std::thread::sleep(Duration::from_secs(1));
    let base = rss_kib(bar.pid());

    // Marks are part of the tree: 32 of 32 KiB make every GET_TREE reply
    // 1 MB. Each focus change asks the bar to read the tree again. (Sway
    // parses a long argument slowly: 64 KiB marks could take it seconds.)
    let t0 = std::time::Instant::now();
    for i in 0..32 {
        let mark = format!("{i:04}{}", "m".repeat((32 << 10) - 4));
        let reply = run_command_patiently(&sway, &format!("mark --add {mark}"))
            .unwrap_or_else(|e| panic!("mark: {e}"));
        assert!(reply.contains("true"), "mark refused: {:.200}", reply);
    }
    eprintln!("marks set in {:?}", t0.elapsed());
    let _other = TestWindow::open(&sway, "second").expect("a second window");
    let tree = sway.ipc(4, "").map(|t| t.len()).unwrap_or(0);
    assert!(tree >= 1 << 20, "the tree is {tree} bytes, not 1 MB");
    let mut peak = base;
    for i in 0..40 {
        sway.swaymsg(&["focus", if i % 2 == 0 { "left" } else { "right" }]);
        std::thread::sleep(Duration::from_millis(50));
        peak = peak.max(rss_kib(bar.pid()));
    }
    let _ = sway.ipc(0, "unmark");
    std::thread::sleep(Duration::from_secs(2));
    bar.assert_running();
    let after = rss_kib(bar.pid());
    eprintln!(
        "{tree}-byte trees: resident {base} KiB before, {peak} KiB at most during, {after} KiB after"
    );
    assert!(
        after <= base + 1024,
        "{after} KiB after the burst, {base} KiB before: the replies' memory was kept\n{}",
        bar.stderr()
    );
}

#[test]
fn the_compositor_going_away_is_one_line_by_sigkill_as_by_sigterm() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    for (signal, name) in [(libc::SIGKILL, "SIGKILL"), (libc::SIGTERM, "SIGTERM")] {
        let mut sway = HeadlessSway::start();
        write_config(&sway, LAYOUT);
        let mut cmd = sway.client(common::rstat_bin());
        cmd.args(["--collector", "procfs"]);
        let mut bar = Guarded::spawn(
            "rstat",
            &mut cmd,
            &sway.runtime_dir().join(format!("rstat-{name}.stderr")),
        );
        support::wait_for_bar(&sway, "HEADLESS-1", 28, APPEAR)
            .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));
        let before = bar.stderr().lines().count();
        sway.kill(signal);
        bar.wait_exit(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("the bar outlived Sway's {name}"));
        let err = bar.stderr();
        let new: Vec<&str> = err
            .lines()
            .skip(before)
            .filter(|l| !l.trim().is_empty())
            .collect();
        eprintln!("{name}: {new:?}");
        assert_eq!(new.len(), 1, "{name}: one line on exit, got {new:?}");
    }
}

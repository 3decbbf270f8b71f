//! Custom scripts that misbehave, against the real bar in a real headless
//! Sway: scripts that flood their pipe cost the bar at most 5% of a core
//! (its CPU time from `/proc` over 10 s), and the background children of
//! continuous and interval scripts are gone after the bar exits by SIGTERM,
//! after it is killed by SIGKILL, and after a reload removes their module.

mod common;
mod support;

use std::time::{Duration, Instant};

use support::proc::{clock_ticks_per_sec, proc_cost, wait_for, Guarded};
use support::sway::HeadlessSway;

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

fn start_bar(sway: &HeadlessSway, tag: &str) -> Guarded {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join(format!("rstat-{tag}.stderr")),
    )
}

/// Live (not zombie) processes whose command line is exactly `argv`.
fn count_cmdline(argv: &[&str]) -> usize {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == want))
        .filter(|e| {
            std::fs::read_to_string(e.path().join("stat"))
                .is_ok_and(|s| s.rfind(')').is_some_and(|r| !s[r + 2..].starts_with('Z')))
        })
        .count()
}

#[test]
fn flooding_scripts_cost_the_bar_at_most_five_percent_of_a_core() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        r#"
[bar]
left = ["custom#yes", "custom#random", "custom#loop"]
right = ["clock"]
[module."custom#yes"]
exec = ["yes"]
continuous = true
[module."custom#random"]
exec = ["cat", "/dev/urandom"]
continuous = true
[module."custom#loop"]
exec = "while :; do echo $RANDOM; done"
continuous = true
"#,
    );
    let mut bar = start_bar(&sway, "flood");
    support::wait_for_bar(&sway, "HEADLESS-1", 28, APPEAR)
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));
    // Past start-up and the first bursts.
    std::thread::sleep(Duration::from_secs(2));
    bar.assert_running();
    let before = proc_cost(bar.pid()).expect("the bar runs");
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    let after = proc_cost(bar.pid()).expect("the bar runs");
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (after.cpu_ticks - before.cpu_ticks) as f64 / clock_ticks_per_sec() as f64;
    let share = cpu / wall;
    eprintln!(
        "three flooding scripts: the bar used {:.3} s of CPU in {wall:.1} s ({:.2}% of a core)",
        cpu,
        share * 100.0
    );
    bar.assert_running();
    assert!(
        share <= 0.05,
        "the bar used {:.1}% of a core with flooding scripts\n{}",
        share * 100.0,
        bar.stderr()
    );
    let err = bar.stderr();
    for name in ["custom#yes", "custom#random", "custom#loop"] {
        assert!(
            err.contains(&format!(
                "rstat: {name}: prints faster than the bar can show"
            )),
            "{name} should say it is throttled:\n{err}"
        );
    }
}

/// A config whose continuous and interval scripts each leave background
/// children running (`sleep TAG`), with the argv those children show.
fn leaky_config(tag: &str) -> String {
    format!(
        r#"
[bar]
left = ["custom#stream", "custom#every"]
right = ["clock"]
[module."custom#stream"]
exec = "sleep {tag} & sleep {tag} & while :; do echo tick; sleep 1; done"
continuous = true
[module."custom#every"]
exec = "sleep {tag} & echo every"
interval_ms = 300
"#
    )
}

/// Starts the leaky bar and waits until both scripts have children running.
fn leaky_bar(sway: &HeadlessSway, tag: &str) -> Guarded {
    write_config(sway, &leaky_config(tag));
    let mut bar = start_bar(sway, tag);
    let n = wait_for(APPEAR, || {
        bar.assert_running();
        let n = count_cmdline(&["sleep", tag]);
        (n >= 4).then_some(n)
    });
    assert!(
        n.is_some(),
        "the scripts never started their children ({} running)\n{}",
        count_cmdline(&["sleep", tag]),
        bar.stderr()
    );
    bar
}

/// A `sleep` argument no other run of these tests uses (their children are
/// counted by command line).
fn unique_tag(n: u32) -> String {
    format!("{}{n}", 100_000 + std::process::id())
}

#[test]
fn no_script_children_outlive_the_bar_after_sigterm_or_sigkill() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    for (signal, name, n) in [
        (libc::SIGTERM, "SIGTERM", 1),
        (libc::SIGKILL, "SIGKILL", 2),
        (libc::SIGINT, "SIGINT", 3),
    ] {
        let tag = &unique_tag(n);
        let mut bar = leaky_bar(&sway, tag);
        let running = count_cmdline(&["sleep", tag]);
        bar.signal(signal);
        let status = bar
            .wait_exit(Duration::from_secs(5))
            .unwrap_or_else(|| panic!("the bar is still running 5 s after {name}"));
        if signal != libc::SIGKILL {
            use std::os::unix::process::ExitStatusExt;
            assert!(
                status.success(),
                "{name} ends the bar cleanly (exit 0), got {status}\n{}",
                bar.stderr()
            );
            assert!(status.signal().is_none());
        }
        let left = wait_for(Duration::from_secs(2), || {
            let n = count_cmdline(&["sleep", tag]);
            (n == 0).then_some(())
        });
        eprintln!(
            "{name}: {running} background children before, {} after",
            count_cmdline(&["sleep", tag])
        );
        assert!(
            left.is_some(),
            "{} of the scripts' children outlived the bar after {name}\n{}",
            count_cmdline(&["sleep", tag]),
            bar.stderr()
        );
    }
}

#[test]
fn a_reload_that_removes_a_script_kills_its_children() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let tag = &unique_tag(4);
    let mut bar = leaky_bar(&sway, tag);
    write_config(
        &sway,
        r#"
[bar]
right = ["clock"]
"#,
    );
    bar.signal(libc::SIGUSR2);
    let gone = wait_for(Duration::from_secs(3), || {
        (count_cmdline(&["sleep", tag]) == 0).then_some(())
    });
    bar.assert_running();
    assert!(
        gone.is_some(),
        "{} children of removed scripts still run after the reload\n{}",
        count_cmdline(&["sleep", tag]),
        bar.stderr()
    );
}

/// A 1 s script whose text changes every second, beside a seconds clock: the
/// tick's frame waits for the script's exit (milliseconds), so each second
/// is one commit showing both, not two. Counted from the bar's own Wayland
/// requests (`WAYLAND_DEBUG=1` makes the client library log each one).
#[test]
fn a_quick_scripts_output_is_drawn_in_the_ticks_frame() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        r#"
[bar]
left = ["custom#date"]
right = ["clock"]
[module.clock]
format = "%H:%M:%S"
[module."custom#date"]
exec = ["date", "+%s"]
interval_ms = 1000
"#,
    );
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"])
        .env("WAYLAND_DEBUG", "1");
    let log = sway.runtime_dir().join("rstat-commits.stderr");
    let mut bar = Guarded::spawn("rstat", &mut cmd, &log);
    support::wait_for_bar(&sway, "HEADLESS-1", 28, APPEAR)
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));
    let commits = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("-> wl_surface@") && l.ends_with(".commit()"))
            .count()
    };
    // Past the first runs (the first is not known to be quick yet).
    std::thread::sleep(Duration::from_secs(3));
    let (c0, t0) = (commits(), Instant::now());
    std::thread::sleep(Duration::from_secs(10));
    let (n, secs) = (commits() - c0, t0.elapsed().as_secs_f64());
    bar.assert_running();
    eprintln!("{n} commits in {secs:.1} s with a seconds clock and a 1 s script");
    // Both change every second: one frame each second (two were drawn before).
    assert!(
        n >= 9 && (n as f64) <= secs + 2.0,
        "{n} commits in {secs:.1} s; stderr tail:\n{}",
        bar.stderr()
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

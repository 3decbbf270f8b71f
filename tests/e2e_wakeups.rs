//! Wakeups of an idle bar, measured (printed for the cost figures, bounded
//! loosely): voluntary context switches per second with a seconds clock, a
//! 1 s script, workspaces and health, and the bar's CPU per workspace switch.
//! And counted: a bar of many 1 s modules wakes once a second for all of
//! them, and a 1 s script adds its start and its exit, nothing more.

mod common;
mod support;

use std::time::{Duration, Instant};

use support::proc::{clock_ticks_per_sec, descendants, proc_cost, Guarded};
use support::sway::HeadlessSway;

fn switches(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn idle_wakeups_and_the_cost_of_a_workspace_switch() {
    if !(common::need(common::is_root(), "needs root to start Sway")
        && common::need(common::have("sway"), "needs sway"))
    {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        r#"
[bar]
left = ["workspaces"]
center = ["clock"]
right = ["custom#date", "health"]
[module.clock]
format = "%H:%M:%S"
[module."custom#date"]
exec = ["date", "+%s"]
interval_ms = 1000
"#,
    )
    .unwrap();
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));
    std::thread::sleep(Duration::from_secs(2));
    let pid = bar.pid();
    let (s0, t0) = (switches(pid), Instant::now());
    std::thread::sleep(Duration::from_secs(10));
    let per_s = (switches(pid) - s0) as f64 / t0.elapsed().as_secs_f64();
    bar.assert_running();

    let c0 = proc_cost(pid).unwrap().cpu_ticks;
    let n = 100;
    for i in 0..n {
        sway.ipc(0, &format!("workspace {}", 1 + i % 2)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let ms = (proc_cost(pid).unwrap().cpu_ticks - c0) as f64 * 1000.0
        / clock_ticks_per_sec() as f64
        / n as f64;
    eprintln!("idle: {per_s:.1} voluntary context switches/s; {ms:.2} ms of CPU per workspace switch (debug build)");
    bar.assert_running();
    // Loose: the seconds clock and the script are ~2 wakeups a second each.
    assert!(per_s < 30.0, "{per_s:.1} wakeups a second while idle");
}

/// Voluntary context switches of every thread of `pid` and of its children
/// (the script watchdog): each is the process going to sleep, i.e. one
/// wakeup of it.
fn all_switches(pid: u32) -> u64 {
    let mut total = 0;
    for p in std::iter::once(pid).chain(descendants(pid)) {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let status = std::fs::read_to_string(t.path().join("status")).unwrap_or_default();
            total += status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

/// Seven kinds of 1 s module (health figures, sysfs readers, the network)
/// whose text never changes (and whose level never does: the thresholds are
/// out of reach, or a busy machine's CPU crossing 70% would restyle and
/// redraw), so nothing is drawn and the count is the loop's own: they share one wakeup a second (they were on two phases
/// before: the health sample's and the sysfs modules' own). A 1 s script
/// beside them adds its exit (its output read in the same wakeup) and the
/// bar's wait for its exec (a vfork-style spawn): not a wakeup of its own to
/// start it, none for its output apart from its exit, none of the watchdog.
#[test]
fn one_second_modules_share_one_wakeup_a_second() {
    if !(common::need(common::is_root(), "needs root to start Sway")
        && common::need(common::have("sway"), "needs sway"))
    {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let modules = r#"
[module.cpu]
warning = 1000000
critical = 1000000
format = "CPU"
interval_ms = 1000
[module.memory]
warning = 1000000
critical = 1000000
format = "MEM"
interval_ms = 1000
[module.temperature]
warning = 1000000
critical = 1000000
format = "T"
interval_ms = 1000
[module.network]
format = "NET"
interval_ms = 1000
[module.battery]
warning = -1
critical = -1
format = "BAT"
interval_ms = 1000
[module.backlight]
format = "LIGHT"
interval_ms = 1000
[module.disk]
warning = 1000000
critical = 1000000
format = "DISK"
interval_ms = 1000
[module."custom#same"]
exec = "echo same"
interval_ms = 1000
"#;
    let secs = 10u64;
    for (script, per_s, slack) in [(false, 1, 4), (true, 4, 10)] {
        let right = if script {
            r#"right = ["network", "battery", "backlight", "disk", "custom#same"]"#
        } else {
            r#"right = ["network", "battery", "backlight", "disk"]"#
        };
        let dir = sway.config_home().join("rstat");
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join(format!("ones-{script}.toml"));
        std::fs::write(
            &config,
            format!("[bar]\nleft = [\"cpu\", \"memory\", \"temperature\"]\ncenter = []\n{right}\n{modules}"),
        )
        .unwrap();
        let mut cmd = sway.client(common::rstat_bin());
        cmd.args(["--collector", "procfs", "--config"]).arg(&config);
        let mut bar = Guarded::spawn(
            "rstat",
            &mut cmd,
            &sway.runtime_dir().join(format!("ones-{script}.stderr")),
        );
        support::wait_for_bar(&sway, "HEADLESS-1", 28, Duration::from_secs(15))
            .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));
        // Past start-up (the first runs, the second memory release).
        std::thread::sleep(Duration::from_secs(12));
        let pid = bar.pid();
        let s0 = all_switches(pid);
        std::thread::sleep(Duration::from_secs(secs));
        let woke = all_switches(pid) - s0;
        bar.assert_running();
        let bound = per_s * secs + slack;
        eprintln!(
            "{} 1 s modules{}: {woke} wakeups in {secs} s (bound {bound})",
            if script { 8 } else { 7 },
            if script { " with a script" } else { "" }
        );
        assert!(
            woke <= bound,
            "{woke} wakeups in {secs} s (at most {bound}); stderr:\n{}",
            bar.stderr()
        );
        drop(bar);
        // Gone (its exclusive zone with it) before the next one starts.
        support::proc::wait_for(Duration::from_secs(15), || {
            sway.usable_area("HEADLESS-1").filter(|a| a.y == 0)
        })
        .expect("the bar's exclusive zone did not go away");
    }
}

//! Wakeups of an idle bar, measured (printed for the cost figures, bounded
//! loosely): voluntary context switches per second with a seconds clock, a
//! 1 s script, workspaces and health, and the bar's CPU per workspace switch.

mod common;
mod support;

use std::time::{Duration, Instant};

use support::proc::{clock_ticks_per_sec, proc_cost, Guarded};
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

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

/// The loop's waits: a steady bar (seconds clock, CPU, memory) makes one
/// syscall per wait and arms nothing around it — no `epoll_ctl`, no
/// `timerfd_settime`, no eventfd `read` (calloop's poller made those four
/// around every wait) — and waits about twice a second (the tick, and the
/// compositor's release of the previous buffer); only a wakeup that reads
/// the compositor's socket makes a `futex` call (the read guard's release).
/// Counted by strace attached to the bar's thread for 5 s, past start-up.
#[test]
fn a_steady_bar_waits_with_one_syscall_and_arms_nothing() {
    if !(common::need(common::is_root(), "needs root to start Sway")
        && common::need(common::have("sway"), "needs sway")
        && common::need(common::have("strace"), "needs strace"))
    {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    // The default scenario's bar (a seconds clock, CPU and memory at 1 s).
    let config = support::bars::rstat_config_args(sway.runtime_dir());
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]).args(&config);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("steady.stderr"));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));
    // Past start-up (the second release of start-up memory comes at 10 s).
    std::thread::sleep(Duration::from_secs(12));
    let log = sway.runtime_dir().join("steady.strace");
    let Some(strace) = common::strace::Strace::attach(bar.pid() as i32, None, &log) else {
        return;
    };
    let secs = 5;
    std::thread::sleep(Duration::from_secs(secs));
    let text = strace.stop();
    bar.assert_running();
    let calls = |names: &[&str]| common::strace::calls(&text, names);
    let waits = calls(&["epoll_pwait2", "epoll_wait", "epoll_pwait"]);
    eprintln!("{waits} waits in {secs} s");
    for (what, names) in [
        ("changed an epoll registration", &["epoll_ctl"][..]),
        ("armed a timerfd", &["timerfd_settime"]),
        ("read a descriptor (an eventfd) with no event", &["read"]),
    ] {
        assert_eq!(calls(names), 0, "the steady bar {what}:\n{text}");
    }
    assert!(
        (secs as usize..=3 * secs as usize).contains(&waits),
        "{waits} waits in {secs} s:\n{text}"
    );
    // The Wayland read guard is taken only to read: its release wakes a
    // condition variable (a futex call), which a timer's wakeup made too.
    let wakes = common::strace::futex_wake_alls(&text);
    let reads = common::strace::socket_reads(&text);
    eprintln!("{wakes} futex wakes, {reads} reads of the Wayland socket");
    assert!(
        wakes <= reads && wakes < waits,
        "{wakes} futex wakes for {reads} reads and {waits} waits:\n{text}"
    );
}

/// The registrations in the bar's epoll sets (`tfd` lines of their
/// fdinfo): each a descriptor the loop watches.
fn epoll_registrations(pid: u32) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().contains("[eventpoll]"))
        })
        .map(|e| {
            let info = std::fs::read_to_string(format!(
                "/proc/{pid}/fdinfo/{}",
                e.file_name().to_string_lossy()
            ))
            .unwrap_or_default();
            info.lines().filter(|l| l.starts_with("tfd:")).count()
        })
        .sum()
}

/// A 1 s script's run costs the loop one registration call: its pidfd is
/// added as the script's own descriptor (no copy: no `F_DUPFD_CLOEXEC`, no
/// `fstat` of it, no `EPOLL_CTL_DEL` and `close` of the copy at its exit),
/// and its close at the exit is what unregisters it — the epoll set does
/// not grow run after run. The bar matches its registrations to the
/// modules' descriptors without asking the kernel (no `fstat` of the
/// network module's route socket either), yet tells each run's pidfd from
/// the last one's though they have the same number: every run's exit is
/// heard (its `wait4`), none is mistaken for the one already watched.
/// Counted by strace attached to the bar's thread for 6 s, past start-up.
#[test]
fn a_script_run_registers_its_pidfd_once_without_a_copy() {
    if !(common::need(common::is_root(), "needs root to start Sway")
        && common::need(common::have("sway"), "needs sway")
        && common::need(common::have("strace"), "needs strace"))
    {
        return;
    }
    // Scripts' exits are watched through pidfds where those live on pidfs.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut v = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|x| x.parse::<u32>().unwrap_or(0));
    let (major, minor) = (v.next().unwrap_or(0), v.next().unwrap_or(0));
    if (major, minor) < (6, 9) {
        println!("SKIPPED: no pidfds on pidfs before Linux 6.9 (this is {release})");
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("pidfd.toml");
    std::fs::write(
        &config,
        r#"
[bar]
left = []
center = ["clock"]
right = ["network", "custom#up"]
[module.clock]
format = "%H:%M:%S"
[module.network]
interval_ms = 1000
[module."custom#up"]
exec = "read up idle < /proc/uptime; echo ${up%.*}"
interval_ms = 1000
"#,
    )
    .unwrap();
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs", "--config"]).arg(&config);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("pidfd.stderr"));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));
    // Past start-up (the second release of start-up memory comes at 10 s).
    std::thread::sleep(Duration::from_secs(12));
    let pid = bar.pid();
    let log = sway.runtime_dir().join("pidfd.strace");
    let Some(strace) = common::strace::Strace::attach(pid as i32, None, &log) else {
        return;
    };
    // The epoll sets' size, sampled through the window: a run's pidfd
    // adds one while it runs, nothing may stay.
    let mut sizes = Vec::new();
    let end = Instant::now() + Duration::from_secs(6);
    while Instant::now() < end {
        sizes.push(epoll_registrations(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = strace.stop();
    bar.assert_running();
    let calls = |names: &[&str]| common::strace::calls(&text, names);
    let runs = calls(&["clone", "clone3", "vfork", "fork"]);
    let adds = text
        .lines()
        .filter(|l| l.starts_with("epoll_ctl(") && l.contains("EPOLL_CTL_ADD"))
        .count();
    let waited = text
        .lines()
        .filter(|l| l.starts_with("wait4(") && !l.ends_with("= 0") && !l.contains("ECHILD"))
        .count();
    // The pidfd numbers the clones returned (`parent_tid=[N]`).
    let pidfds: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("clone(") && l.contains("CLONE_PIDFD"))
        .filter_map(|l| l.split("parent_tid=[").nth(1)?.split(']').next())
        .collect();
    eprintln!(
        "{runs} runs, {adds} registrations, {waited} exits collected; pidfds {pidfds:?}; epoll set sizes {}..{}",
        sizes.iter().min().unwrap_or(&0),
        sizes.iter().max().unwrap_or(&0)
    );
    assert!(runs >= 4, "{runs} runs in 6 s:\n{text}");
    assert_eq!(
        pidfds.len(),
        runs,
        "runs without a pidfd from the clone:\n{text}"
    );
    // Each run's pidfd registered, the same number as an earlier run's
    // included: the reuse did not hide it.
    assert!(
        pidfds.windows(2).any(|w| w[0] == w[1]),
        "no run reused the last one's pidfd number here, nothing shown: {pidfds:?}"
    );
    assert!(
        (runs - 1..=runs).contains(&adds),
        "{adds} registrations for {runs} runs:\n{text}"
    );
    assert!(
        waited + 1 >= runs,
        "{waited} exits collected of {runs} runs:\n{text}"
    );
    let dels = text
        .lines()
        .filter(|l| l.starts_with("epoll_ctl(") && l.contains("EPOLL_CTL_DEL"))
        .count();
    let dups = text
        .lines()
        .filter(|l| l.starts_with("fcntl(") && l.contains("F_DUPFD"))
        .count();
    for (what, n) in [
        ("unregistered a descriptor (EPOLL_CTL_DEL)", dels),
        ("copied a descriptor (F_DUPFD_CLOEXEC)", dups),
        (
            "asked for a descriptor's inode",
            common::strace::descriptor_stats(&text),
        ),
    ] {
        assert_eq!(n, 0, "the loop {what} {n} times over {runs} runs:\n{text}");
    }
    let (lo, hi) = (
        *sizes.iter().min().expect("samples"),
        *sizes.iter().max().expect("samples"),
    );
    assert!(
        hi <= lo + 1,
        "the epoll sets grew from {lo} to {hi} registrations: {sizes:?}"
    );
}

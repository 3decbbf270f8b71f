//! What each bar costs while it runs: rstat, yambar and Waybar, one after the
//! other in the same headless Sway, each showing CPU, memory and a clock
//! updated every second, measured from `/proc` over the same window.
//!
//! `cargo bench --bench bar_cost` (root; Sway, grim, yambar, waybar on PATH).
//! `RSTAT_BENCH_SECS` sets the measured window per bar (default 60);
//! `RSTAT_BENCH_ARGS` gives rstat extra arguments (`--collector procfs`).
//! `RSTAT_BENCH_BASELINE=PATH` also measures another rstat binary (an older
//! build) in the same run, as the row `rstat-baseline`: before and after a
//! change on the same machine minutes apart, not across noisy runs.
//!
//! Reported per bar: resident memory at the end (VmRSS) and its peak (VmHWM),
//! CPU seconds (utime + stime of the bar and any children, from
//! `/proc/PID/stat`) over the window after a settling period, the same as a
//! share of one core, and the CPU Sway itself spent meanwhile (drawing what
//! the bar commits is part of the bar's cost). rstat's figures are also given
//! as a ratio to yambar's, the target DESIGN.md sets. The default scenario
//! ends with the row `floor` (see `bar_cost/floor.rs`): what reading the two
//! files and committing once a second costs with no bar around it, the
//! lowest ratio any such bar can reach in that run.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "bar_cost/desktop.rs"]
mod desktop;
#[path = "bar_cost/floor.rs"]
mod floor;

use std::process::Command;
use std::time::{Duration, Instant};

use support::proc::{
    bpf_run, clock_ticks_per_sec, context_switches, descendants, enable_bpf_stats, poll_every,
    proc_cost, sched_ns, wait_for, Guarded, ProcCost,
};
use support::sway::HeadlessSway;

/// Start-up (font loading, first frames, GTK's theme parsing) is not the
/// steady state being compared: each bar runs this long before the window.
const SETTLE: Duration = Duration::from_secs(3);

struct Row {
    name: &'static str,
    version: String,
    result: Result<Measured, String>,
}

struct Measured {
    /// Spawn to exclusive zone visible in Sway's tree: Sway applies the zone
    /// when the layer surface maps, i.e. with the bar's first frame (none for
    /// the floor, which draws nothing).
    zone_after: Option<Duration>,
    window: Duration,
    cpu_secs: f64,
    /// The same from the scheduler's nanosecond accounting.
    sched_secs: f64,
    sway_cpu_secs: f64,
    /// In-kernel run time of the bar's BPF programs (None: not measurable).
    bpf_secs: Option<f64>,
    /// How many times those programs ran.
    bpf_runs: u64,
    /// The machine's context switches per second during the window.
    ctxt_per_sec: f64,
    /// The bar's own voluntary context switches per second (all its
    /// threads and children): how often it goes to sleep, i.e. wakes up.
    wakeups_per_sec: f64,
    rss_kib: u64,
    max_rss_kib: u64,
    hwm_kib: u64,
    /// The bar's largest mappings at the end of the window (smaps `Rss`, KiB,
    /// summed by name): where its resident memory goes.
    largest: Vec<(u64, String)>,
}

fn main() {
    if let Some(socket) = std::env::var_os(floor::SOCKET_ENV) {
        floor::child(std::path::Path::new(&socket));
    }
    if !common::need(
        common::is_root(),
        "bar_cost needs root to start Sway as uid 65534",
    ) || !["sway", "swaymsg", "grim"]
        .iter()
        .all(|t| common::need(common::have(t), &format!("bar_cost needs `{t}` on PATH")))
    {
        return;
    }
    let secs: u64 = std::env::var("RSTAT_BENCH_SECS")
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("RSTAT_BENCH_SECS={v:?} is not a number of seconds"))
        })
        .unwrap_or(60);
    let window = Duration::from_secs(secs);

    // Extra arguments for rstat, e.g. `--collector bpf`.
    let rstat_args = std::env::var("RSTAT_BENCH_ARGS").unwrap_or_default();
    // Accounting of BPF run time, held for the whole run: rstat's probe
    // runs in other tasks' context, so its cost is not in rstat's CPU time.
    let stats_fd = enable_bpf_stats();
    let bpf_stats = stats_fd.is_some();
    let scenario = std::env::var("RSTAT_BENCH_SCENARIO").unwrap_or_else(|_| "all".into());
    // `builtin` (rstat with no config file) runs only when asked for.
    let known = ["all", "default", "desktop", "builtin"];
    assert!(
        known.contains(&scenario.as_str()),
        "RSTAT_BENCH_SCENARIO={scenario:?}: one of {known:?}"
    );
    if scenario == "builtin" {
        desktop::builtin(window, bpf_stats, &rstat_args);
    } else {
        if scenario != "desktop" {
            default_scenario(window, bpf_stats, &rstat_args);
        }
        if scenario != "default" {
            desktop::run(window, bpf_stats, &rstat_args);
        }
    }
    if !bpf_stats {
        println!("(BPF run-time accounting unavailable: a probe's in-kernel cost is not counted)");
    }
    drop(stats_fd);
}

/// Clock, CPU and memory at 1 s: rstat (and `RSTAT_BENCH_BASELINE`) with
/// `support::bars::RSTAT_CONFIG`, yambar, Waybar.
fn default_scenario(window: Duration, bpf_stats: bool, rstat_args: &str) {
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().to_path_buf();
    // An explicit config: the built-in layout may change, this comparison not.
    let config = support::bars::rstat_config_args(&dir);
    let mut rows = Vec::new();

    rows.push(Row {
        name: "rstat",
        version: version(common::rstat_bin(), &["--version"]),
        result: measure(
            &sway,
            "rstat",
            sway.client(common::rstat_bin())
                .args(&config)
                .args(rstat_args.split_whitespace()),
            window,
            bpf_stats,
        ),
    });
    if let Some(base) = std::env::var_os("RSTAT_BENCH_BASELINE") {
        rows.push(Row {
            name: "rstat-baseline",
            version: version(&base.to_string_lossy(), &["--version"]),
            result: measure(
                &sway,
                "rstat-baseline",
                sway.client(&base)
                    .args(&config)
                    .args(rstat_args.split_whitespace()),
                window,
                bpf_stats,
            ),
        });
    }
    for (name, cmd) in [
        ("yambar", support::bars::yambar as fn(&_, &_) -> Command),
        ("waybar", support::bars::waybar),
    ] {
        let result = if common::have(name) {
            measure(&sway, name, &mut cmd(&sway, &dir), window, bpf_stats)
        } else {
            Err(format!("`{name}` is not installed"))
        };
        rows.push(Row {
            name,
            version: version(name, &["--version"]),
            result,
        });
    }
    rows.push(Row {
        name: "floor",
        version: "2 wakeups/s + procfs reads + a commit-sized send".into(),
        result: floor::command(&dir).and_then(|mut cmd| {
            let sway_pid = sway.pid().ok_or("sway is not running")?;
            let bar = Guarded::spawn("floor", &mut cmd, &dir.join("floor.bench.stderr"));
            std::thread::sleep(SETTLE);
            measure_window(sway_pid, "floor", bar, None, window, bpf_stats)
        }),
    });
    report(
        &rows,
        &format!(
            "bar_cost default: each bar alone in one headless Sway (1920x1080, pixman), \
             CPU, memory and clock at a 1 s interval, {}s window after {}s settling",
            window.as_secs(),
            SETTLE.as_secs()
        ),
    );
    default_verdict(&rows);
}

/// Runs one bar: waits until Sway shows its exclusive zone, lets it settle,
/// then measures it over `window`, and stops it.
fn measure(
    sway: &HeadlessSway,
    name: &'static str,
    cmd: &mut Command,
    window: Duration,
    bpf_stats: bool,
) -> Result<Measured, String> {
    measure_with(sway, name, cmd, window, bpf_stats, &mut || {})
}

/// [`measure`], calling `shown` once the bar's first frame is up (before the
/// settling period): clients that need the bar running (tray items looking
/// for the watcher it hosts) start there.
fn measure_with(
    sway: &HeadlessSway,
    name: &'static str,
    cmd: &mut Command,
    window: Duration,
    bpf_stats: bool,
    on_shown: &mut dyn FnMut(),
) -> Result<Measured, String> {
    // The previous bar's zone must be gone, or this one's would be faked.
    wait_for(Duration::from_secs(10), || {
        sway.usable_area("HEADLESS-1").filter(|a| a.y == 0)
    })
    .ok_or("the previous bar's exclusive zone did not go away")?;
    let sway_pid = sway.pid().ok_or("sway is not running")?;
    let started = Instant::now();
    let mut bar = Guarded::spawn(
        name,
        cmd,
        &sway.runtime_dir().join(format!("{name}.bench.stderr")),
    );
    // Polled every 2 ms over the IPC socket (about 1 ms a query): the time
    // to the first committed frame, within a few milliseconds.
    let shown = poll_every(Duration::from_millis(2), Duration::from_secs(30), || {
        if bar.exited().is_some() {
            return Some(false);
        }
        sway.usable_area("HEADLESS-1")
            .filter(|a| a.y > 0)
            .map(|_| true)
    });
    if shown != Some(true) {
        return Err(format!(
            "{name} did not show a bar ({}); stderr:\n{}",
            bar.exited()
                .map_or("still running".to_string(), |s| format!("exited: {s}")),
            bar.stderr()
        ));
    }
    let zone_after = started.elapsed();
    on_shown();
    std::thread::sleep(SETTLE);
    measure_window(sway_pid, name, bar, Some(zone_after), window, bpf_stats)
}

/// Measures the settled `bar` over `window`, then stops it.
fn measure_window(
    sway_pid: u32,
    name: &str,
    mut bar: Guarded,
    zone_after: Option<Duration>,
    window: Duration,
    bpf_stats: bool,
) -> Result<Measured, String> {
    let pid = bar.pid();
    let cost = |pid: u32| -> Option<ProcCost> {
        let mut total = proc_cost(pid)?;
        for child in descendants(pid) {
            if let Some(c) = proc_cost(child) {
                total.cpu_ticks += c.cpu_ticks;
                total.rss_kib += c.rss_kib;
                total.hwm_kib += c.hwm_kib;
            }
        }
        Some(total)
    };
    let sched = |pid: u32| -> u64 {
        std::iter::once(pid)
            .chain(descendants(pid))
            .filter_map(sched_ns)
            .sum()
    };
    let bpf = |pid: u32| -> (u64, u64) {
        std::iter::once(pid)
            .chain(descendants(pid))
            .map(bpf_run)
            .fold((0, 0), |(ns, n), (a, b)| (ns + a, n + b))
    };
    let wakeups = |pid: u32| -> u64 {
        std::iter::once(pid)
            .chain(descendants(pid))
            .map(voluntary_switches)
            .sum()
    };
    let wake_before = wakeups(pid);
    let bpf_before = bpf(pid);
    let ctxt_before = context_switches();
    let sched_before = sched(pid);
    let before = cost(pid).ok_or("the bar vanished before the window")?;
    let sway_before = sched_ns(sway_pid).ok_or("sway vanished")?;
    let t0 = Instant::now();
    let mut max_rss_kib = before.rss_kib;
    // Sample the resident set every second: a bar whose memory grows shows
    // it in the maximum, not only at the end.
    while t0.elapsed() < window {
        std::thread::sleep(Duration::from_secs(1).min(window.saturating_sub(t0.elapsed())));
        if let Some(c) = cost(pid) {
            max_rss_kib = max_rss_kib.max(c.rss_kib);
        }
        if let Some(status) = bar.exited() {
            return Err(format!(
                "{name} exited during the window ({status}); stderr:\n{}",
                bar.stderr()
            ));
        }
    }
    let after = cost(pid).ok_or("the bar vanished at the end of the window")?;
    let largest = smaps_by_name(pid);
    let sched_after = sched(pid);
    let bpf_after = bpf(pid);
    let wake_after = wakeups(pid);
    let ctxt_after = context_switches();
    let sway_after = sched_ns(sway_pid).ok_or("sway vanished")?;
    let measured = t0.elapsed();
    let tick = clock_ticks_per_sec() as f64;
    drop(bar);
    Ok(Measured {
        zone_after,
        window: measured,
        cpu_secs: after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / tick,
        sched_secs: sched_after.saturating_sub(sched_before) as f64 / 1e9,
        bpf_secs: bpf_stats.then(|| bpf_after.0.saturating_sub(bpf_before.0) as f64 / 1e9),
        bpf_runs: bpf_after.1.saturating_sub(bpf_before.1),
        ctxt_per_sec: ctxt_after.saturating_sub(ctxt_before) as f64 / measured.as_secs_f64(),
        wakeups_per_sec: wake_after.saturating_sub(wake_before) as f64 / measured.as_secs_f64(),
        sway_cpu_secs: sway_after.saturating_sub(sway_before) as f64 / 1e9,
        rss_kib: after.rss_kib,
        max_rss_kib,
        hwm_kib: after.hwm_kib,
        largest,
    })
}

/// Voluntary context switches of all live threads of `pid`
/// (`voluntary_ctxt_switches` of `/proc/PID/task/*/status`): each is the bar
/// going to sleep, so their rate is its wakeups.
fn voluntary_switches(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .filter_map(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum()
}

/// Resident KiB per mapping name (`[heap]`, a library's path,
/// `anon_inode:bpf-map`, ...), largest first, from `/proc/PID/smaps`.
fn smaps_by_name(pid: u32) -> Vec<(u64, String)> {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps")) else {
        return Vec::new();
    };
    let mut by: Vec<(u64, String)> = Vec::new();
    let mut name = String::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if first == "Rss:" {
            let kib: u64 = f.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            match by.iter_mut().find(|(_, n)| *n == name) {
                Some(e) => e.0 += kib,
                None => by.push((kib, name.clone())),
            }
        } else if first.contains('-') && !first.ends_with(':') {
            // A mapping's header: address range, perms, offset, dev, inode, name.
            name = f.nth(4).unwrap_or("[anon]").to_string();
        }
    }
    by.sort_by(|a, b| b.cmp(a));
    by
}

impl Measured {
    /// Everything the bar costs the machine: its own CPU time plus its BPF
    /// programs' in-kernel time.
    fn total_secs(&self) -> f64 {
        self.sched_secs + self.bpf_secs.unwrap_or(0.0)
    }
}

fn version(program: &str, args: &[&str]) -> String {
    let out = support::proc::run(Command::new(program).args(args), Duration::from_secs(5));
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout).into_owned() + &o.stderr;
            text.lines().next().unwrap_or("").trim().to_string()
        }
        _ => "?".to_string(),
    }
}

/// The measured row called `name`.
fn get<'a>(rows: &'a [Row], name: &str) -> Option<&'a Measured> {
    rows.iter()
        .find(|r| r.name == name)
        .and_then(|r| r.result.as_ref().ok())
}

fn report(rows: &[Row], title: &str) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!();
    println!("{title}");
    println!(
        "| bar | version | RSS MiB | max RSS MiB | peak (HWM) MiB | CPU s (ticks) | CPU s (schedstat) | BPF progs s | CPU % of a core (incl. BPF) | Sway CPU s | ctx switches/s | bar wakeups/s | zone shown after |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        match &r.result {
            Ok(m) => println!(
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.4} | {} | {:.3} | {:.3} | {:.0} | {:.2} | {} |",
                r.name,
                r.version,
                mib(m.rss_kib),
                mib(m.max_rss_kib),
                mib(m.hwm_kib),
                m.cpu_secs,
                m.sched_secs,
                m.bpf_secs.map_or("n/a".to_string(), |b| format!("{b:.4}")),
                100.0 * m.total_secs() / m.window.as_secs_f64(),
                m.sway_cpu_secs,
                m.ctxt_per_sec,
                m.wakeups_per_sec,
                m.zone_after
                    .map_or("—".to_string(), |d| format!("{} ms", d.as_millis()))
            ),
            Err(e) => println!(
                "| {} | {} | not measured: {} |",
                r.name,
                r.version,
                first_line(e)
            ),
        }
    }
    if let Some(Ok(m)) = rows.first().map(|r| &r.result) {
        let top: Vec<String> = m
            .largest
            .iter()
            .take(10)
            .map(|(kib, name)| format!("{name} {kib}"))
            .collect();
        println!(
            "{} largest mappings (smaps Rss, KiB): {}",
            rows[0].name,
            top.join(", ")
        );
    }
    for r in rows {
        if let Ok(m) = &r.result {
            if let (Some(b), true) = (m.bpf_secs, m.bpf_runs > 0) {
                println!(
                    "{}: BPF programs ran {} times ({:.0}/s), {:.0} ns per run",
                    r.name,
                    m.bpf_runs,
                    m.bpf_runs as f64 / m.window.as_secs_f64(),
                    b * 1e9 / m.bpf_runs as f64
                );
            }
        }
    }
    for r in rows {
        if let Err(e) = &r.result {
            eprintln!("{}: {e}", r.name);
        }
    }
}

/// The default scenario's ratios and targets.
fn default_verdict(rows: &[Row]) {
    let mib = |kib: u64| kib as f64 / 1024.0;
    let get = |name: &str| get(rows, name);
    if let (Some(r), Some(y)) = (get("rstat"), get("yambar")) {
        // CPU ratios from the scheduler's nanoseconds (at these levels the
        // 10 ms clock ticks are too coarse to divide), plus BPF run time.
        println!(
            "rstat / yambar: RSS {:.2}x, CPU {:.2}x ({:.4} s vs {:.4} s)",
            r.rss_kib as f64 / y.rss_kib.max(1) as f64,
            r.total_secs() / y.total_secs().max(1e-9),
            r.total_secs(),
            y.total_secs()
        );
        println!(
            "targets: RSS <= 5.6 MiB ({}), CPU <= 1/8 of yambar's ({})",
            if mib(r.rss_kib) <= 5.6 {
                "met"
            } else {
                "NOT met"
            },
            if r.total_secs() * 8.0 <= y.total_secs() {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    if let (Some(f), Some(y)) = (get("floor"), get("yambar")) {
        println!(
            "floor / yambar: CPU {:.3}x ({:.4} s): a bar that reads these two files and commits a frame each second cannot go below this ratio here{}",
            f.total_secs() / y.total_secs().max(1e-9),
            f.total_secs(),
            get("rstat").map_or(String::new(), |r| format!(
                "; rstat's own work above the floor: {:.4} s ({:.0} us a second)",
                r.total_secs() - f.total_secs(),
                1e6 * (r.total_secs() - f.total_secs()) / r.window.as_secs_f64()
            ))
        );
    }
    baseline_verdict(rows);
}

/// rstat beside `RSTAT_BENCH_BASELINE` (another build) in the same run,
/// when there is one.
fn baseline_verdict(rows: &[Row]) {
    if let (Some(r), Some(b)) = (get(rows, "rstat"), get(rows, "rstat-baseline")) {
        println!(
            "rstat / rstat-baseline: RSS {:.2}x, CPU {:.3}x ({:.4} s vs {:.4} s), wakeups {:.2}/s vs {:.2}/s",
            r.rss_kib as f64 / b.rss_kib.max(1) as f64,
            r.total_secs() / b.total_secs().max(1e-9),
            r.total_secs(),
            b.total_secs(),
            r.wakeups_per_sec,
            b.wakeups_per_sec
        );
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

//! The per-process walk runs only while somebody looks at what it finds:
//! the `rstat` binary in a real headless Sway, the health popup opened by
//! hovering with a virtual pointer, and the walks counted from outside the
//! process by the kernel:
//!
//! - `iter` collector: the run count of rstat's BPF programs
//!   (`/proc/PID/fdinfo`, `run_cnt`, with BPF statistics on). The iterator
//!   program runs only inside a walk, so any run is a walk.
//! - `procfs` collector: the read syscalls rstat made (`/proc/PID/io`,
//!   `syscr`). A walk reads `/proc/PID/stat` and `/proc/PID/io` of every
//!   process, hundreds of reads; a tick without it reads a few files.
//!
//! Counts, not times. Needs root (Sway as uid 65534, BPF), `sway`, `swaymsg`,
//! `grim`.

mod common;
mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::image::Image;
use support::pointer::VirtualPointer;
use support::proc::{bpf_run, enable_bpf_stats, wait_for, Guarded};
use support::sway::HeadlessSway;

const BAR: usize = 28;
const OUTPUT: &str = "HEADLESS-1";
const APPEAR: Duration = Duration::from_secs(5);
/// Where the pointer rests on the health module (the first module on the
/// left, its text far wider than this).
const ON_MODULE: (u32, u32) = (60, (BAR / 2) as u32);
const AWAY: (u32, u32) = (900, 700);

fn can_run() -> bool {
    if !common::need(common::is_root(), "needs root to start Sway as uid 65534") {
        return false;
    }
    ["sway", "swaymsg", "grim"]
        .iter()
        .all(|t| common::need(common::have(t), &format!("needs `{t}` on PATH")))
}

/// Whether anything but the wallpaper (and the cursor at `pointer`) shows
/// below the bar: the popup.
fn popup_shown(img: &Image, pointer: (u32, u32)) -> bool {
    let wall = img.px(0, img.height - 1);
    let (px, py) = (pointer.0 as usize, pointer.1 as usize);
    (BAR..img.height).any(|y| {
        (0..img.width).any(|x| {
            let cursor = (px.saturating_sub(4)..px + 40).contains(&x)
                && (py.saturating_sub(4)..py + 40).contains(&y);
            !cursor && img.px(x, y) != wall
        })
    })
}

/// The processes now (numeric entries of `/proc`).
fn live_processes() -> u64 {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.parse::<u32>().is_ok())
                })
                .count() as u64
        })
        .unwrap_or(0)
}

/// `syscr` of `/proc/PID/io`: read syscalls so far.
fn read_syscalls(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/io"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("syscr:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or_else(|| panic!("no syscr in /proc/{pid}/io"))
}

/// What the kernel counted in each phase of [`run_phases`].
#[derive(Debug)]
struct Phases {
    /// 4 s after start-up settled, nobody looking.
    closed: u64,
    /// From the pointer arriving on the module to the popup showing.
    opening: u64,
    /// 3 s with the popup open.
    open: u64,
    /// 4 s after the popup closed again.
    closed_again: u64,
}

fn write_config(sway: &HeadlessSway, text: &str) -> PathBuf {
    let path = sway.runtime_dir().join("lazy-walk.toml");
    std::fs::write(&path, text).expect("write the config");
    path
}

/// Starts rstat with `collector` and `config` (its left module the health
/// module), then counts with `count` over the phases of [`Phases`].
fn run_phases(collector: &str, config: &str, count: &dyn Fn(u32) -> u64) -> Phases {
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let config = write_config(&sway, config);
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", collector, "--config"])
        .arg(&config);
    let mut rstat = Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join(format!("rstat-{collector}.stderr")),
    );
    support::wait_for_bar(&sway, OUTPUT, BAR, APPEAR)
        .unwrap_or_else(|e| panic!("no bar: {e}\n--- rstat stderr ---\n{}", rstat.stderr()));
    let pid = rstat.pid();
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    pointer.move_to(AWAY.0, AWAY.1).expect("move away");
    // Start-up done (first samples, first frames).
    std::thread::sleep(Duration::from_millis(1500));

    let c0 = count(pid);
    std::thread::sleep(Duration::from_secs(4));
    let c1 = count(pid);

    pointer
        .move_to(ON_MODULE.0, ON_MODULE.1)
        .expect("move onto the module");
    wait_for(APPEAR, || {
        rstat.assert_running();
        let img = sway.try_screenshot(OUTPUT).ok()?;
        popup_shown(&img, ON_MODULE).then_some(())
    })
    .unwrap_or_else(|| panic!("no popup after hovering\n{}", rstat.stderr()));
    let c2 = count(pid);
    std::thread::sleep(Duration::from_secs(3));
    let c3 = count(pid);

    pointer.move_to(AWAY.0, AWAY.1).expect("move away");
    wait_for(APPEAR, || {
        let img = sway.try_screenshot(OUTPUT).ok()?;
        (!popup_shown(&img, AWAY)).then_some(())
    })
    .unwrap_or_else(|| panic!("the popup stayed after the pointer left"));
    std::thread::sleep(Duration::from_millis(500));
    let c4 = count(pid);
    std::thread::sleep(Duration::from_secs(4));
    let c5 = count(pid);
    rstat.assert_running();
    assert!(!rstat.stderr().contains("panicked"), "{}", rstat.stderr());
    let p = Phases {
        closed: c1 - c0,
        opening: c2 - c1,
        open: c3 - c2,
        closed_again: c5 - c4,
    };
    eprintln!("{collector}: {p:?}");
    p
}

/// The health module alone on the left, updated every second.
const HEALTH: &str = r#"
[bar]
left = ["health"]
center = []
right = []
[module.health]
interval_ms = 1000
"#;

/// Done means: with the `iter` collector, its program never runs while
/// the popup is closed and no module needs it, and does while it is open.
#[test]
fn iter_walks_only_while_the_popup_is_looked_at() {
    if !can_run() {
        return;
    }
    let Some(stats) = enable_bpf_stats() else {
        common::need(false, "BPF run-time statistics (BPF_ENABLE_STATS) refused");
        return;
    };
    if let Err(e) = rstat::collect::bpf::open_iter() {
        common::need(
            false,
            &format!("the iter collector does not load here: {e}"),
        );
        return;
    }
    let runs = |pid: u32| bpf_run(pid).1;
    let p = run_phases("iter", HEALTH, &runs);
    drop(stats);
    assert_eq!(p.closed, 0, "walks with the popup closed: {p:?}");
    assert!(p.opening > 0, "no walk before the popup showed: {p:?}");
    assert!(p.open > 0, "no walk while the popup was open: {p:?}");
    assert_eq!(p.closed_again, 0, "walks after the popup closed: {p:?}");
}

/// The same with the `procfs` collector, counted in read syscalls: with the
/// popup closed, four ticks read far fewer files than one walk would; on
/// opening, two walks (a baseline when the pointer arrives, then rates when
/// the popup opens) before it shows; while open, one walk per tick.
#[test]
fn procfs_walks_only_while_the_popup_is_looked_at() {
    if !can_run() {
        return;
    }
    let n = live_processes();
    let p = run_phases("procfs", HEALTH, &read_syscalls);
    // One walk reads two files of every process.
    let walk = 2 * n;
    assert!(
        p.closed < walk / 2,
        "{} reads in 4 s with the popup closed: {p:?}, one walk ≈ {walk}",
        p.closed
    );
    assert!(
        p.opening >= walk * 3 / 2,
        "two walks before the popup showed: {p:?}, one walk ≈ {walk}"
    );
    assert!(
        p.open >= walk * 2,
        "a walk per tick while open (3 s): {p:?}, one walk ≈ {walk}"
    );
    assert!(
        p.closed_again < walk / 2,
        "reads after the popup closed: {p:?}, one walk ≈ {walk}"
    );
}

/// A module showing the task count needs the walk: it runs every tick
/// although the popup stays closed.
#[test]
fn a_tasks_placeholder_walks_every_tick() {
    if !can_run() {
        return;
    }
    let n = live_processes();
    let cfg = format!("{HEALTH}format = \"CPU {{usage:>3.0}}%  {{tasks}} tasks\"\n");
    let p = run_phases("procfs", &cfg, &read_syscalls);
    let walk = 2 * n;
    assert!(
        p.closed >= walk * 3,
        "a walk per tick (4 s) with the popup closed: {p:?}, one walk ≈ {walk}"
    );
    assert!(
        p.closed_again >= walk * 3,
        "still a walk per tick after the popup closed: {p:?}, one walk ≈ {walk}"
    );
}

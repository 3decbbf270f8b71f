//! End to end: the `rstat` binary against a real headless Sway, its
//! config file edited while it runs. Black box: the tests see what a user
//! sees (the exclusive zone through Sway's workspace rectangle, pixels via
//! `grim`, the process's stderr and exit).
//!
//! Needs root (Sway runs as uid 65534), `sway` and `grim`.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::proc::{poll_every, wait_for, Guarded};
use support::sway::{HeadlessSway, Rect};
use support::unwatched::UnwatchedConfig;

/// How long a change may take to show before a test gives up (the targets
/// are much tighter; this is only where waiting stops).
const PATIENCE: Duration = Duration::from_secs(5);

fn can_run() -> bool {
    if !common::need(common::is_root(), "needs root to start Sway as uid 65534") {
        return false;
    }
    ["sway", "grim"]
        .iter()
        .all(|t| common::need(common::have(t), &format!("needs `{t}` on PATH")))
}

/// `$XDG_CONFIG_HOME/rstat/config.toml` of `sway`'s clients.
fn config_path(sway: &HeadlessSway) -> PathBuf {
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("create the config directory");
    dir.join("config.toml")
}

/// Saves `text` at `path` the way editors do: a new file renamed over the old.
/// A text that sets no layout gets the clock and health one
/// (`common::clock_health`), which these tests' reloads were measured with.
fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, pinned(text)).expect("write the new config");
    std::fs::rename(&tmp, path).expect("rename it over the config");
}

/// `text` (a lone `[bar]` table) with the clock and health layout unless it
/// sets a layout itself; appended, so the lines an error names stay put.
fn pinned(text: &str) -> String {
    if ["left =", "center =", "right ="]
        .iter()
        .any(|k| text.contains(k))
    {
        return text.to_string();
    }
    assert!(
        text.starts_with("[bar]\n") && !text[1..].contains("\n["),
        "pinned() appends to a lone [bar] table: {text:?}"
    );
    format!("{text}center = [\"clock\"]\nright = [\"health\"]\n")
}

/// Starts `rstat` (no flags: the config comes from the XDG location).
fn start_rstat(sway: &HeadlessSway, tag: &str, args: &[&str]) -> Guarded {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(args).env("RUST_BACKTRACE", "1");
    Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join(format!("rstat-{tag}.stderr")),
    )
}

/// Waits until the visible workspace on HEADLESS-1 has rectangle `want`.
fn expect_area(sway: &HeadlessSway, rstat: &mut Guarded, want: Rect) -> Duration {
    let t0 = Instant::now();
    poll_every(Duration::from_millis(10), PATIENCE, || {
        rstat.assert_running();
        (sway.usable_area("HEADLESS-1") == Some(want)).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the usable area never became {want:?}: {:?}\n--- rstat stderr ---\n{}",
            sway.usable_area("HEADLESS-1"),
            rstat.stderr()
        )
    });
    t0.elapsed()
}

/// The usable area below a top bar of `h` logical pixels on the 1920×1080 output.
fn below_top_bar(h: i64) -> Rect {
    Rect {
        x: 0,
        y: h,
        width: 1920,
        height: 1080 - h,
    }
}

/// Waits for `needle` in rstat's stderr.
fn expect_stderr(rstat: &mut Guarded, needle: &str) -> String {
    wait_for(PATIENCE, || {
        rstat.assert_running();
        let e = rstat.stderr();
        e.contains(needle).then_some(e)
    })
    .unwrap_or_else(|| {
        panic!(
            "rstat never said {needle:?}; its stderr:\n{}",
            rstat.stderr()
        )
    })
}

fn assert_no_panic(rstat: &Guarded) {
    let err = rstat.stderr();
    assert!(!err.contains("panicked"), "rstat panicked:\n{err}");
}

/// Done means: "edit the config file (height 28 → 40) and the bar's
/// exclusive zone follows within a second"; then "write an invalid file and
/// the bar keeps running with the old one, reporting the error on stderr".
#[test]
fn editing_the_file_resizes_the_bar_and_a_bad_edit_keeps_the_old_one() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let path = config_path(&sway);
    save(&path, "[bar]\nheight = 28\n");
    let mut rstat = start_rstat(&sway, "edit", &[]);
    expect_area(&sway, &mut rstat, below_top_bar(28));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE).unwrap_or_else(|e| panic!("{e}"));

    let t0 = Instant::now();
    save(&path, "[bar]\nheight = 40\n");
    expect_area(&sway, &mut rstat, below_top_bar(40));
    let took = t0.elapsed();
    eprintln!("exclusive zone followed the edit after {took:?}");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    // The pixels too: a 40-row bar, nothing below it.
    support::wait_for_bar(&sway, "HEADLESS-1", 40, PATIENCE).unwrap_or_else(|e| {
        panic!(
            "no 40-row bar: {e}\n--- rstat stderr ---\n{}",
            rstat.stderr()
        )
    });

    // An invalid file: reported with file, line and column; the bar stays
    // as it was.
    save(&path, "[bar]\nheight = 40\nposition = \"left\"\n");
    let err = expect_stderr(&mut rstat, "keeping the running one");
    let at = format!("{}:3:12", path.display());
    assert!(err.contains(&at), "error names {at}:\n{err}");
    assert!(err.contains("`left` is not one of top, bottom"), "{err}");
    std::thread::sleep(Duration::from_millis(300));
    rstat.assert_running();
    assert_eq!(sway.usable_area("HEADLESS-1"), Some(below_top_bar(40)));
    support::wait_for_bar(&sway, "HEADLESS-1", 40, PATIENCE).unwrap_or_else(|e| panic!("{e}"));

    // Fixed again: applied.
    save(&path, "[bar]\nheight = 32\n");
    expect_area(&sway, &mut rstat, below_top_bar(32));
    assert_no_panic(&rstat);
}

/// Done means: "SIGUSR1 hides and shows the bar": hidden, the exclusive
/// zone is gone and no pixel of the bar is on screen; shown, both are back.
#[test]
fn sigusr1_hides_and_shows_the_bar() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    sway.write_rstat_config(common::CLOCK_HEALTH);
    let mut rstat = start_rstat(&sway, "toggle", &[]);
    expect_area(&sway, &mut rstat, below_top_bar(28));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE).unwrap_or_else(|e| panic!("{e}"));
    for round in 0..3 {
        rstat.signal(libc::SIGUSR1);
        expect_area(&sway, &mut rstat, below_top_bar(0));
        // No bar in the screenshot: the whole output is the background.
        let img = wait_for(PATIENCE, || {
            let img = sway.try_screenshot("HEADLESS-1").ok()?;
            let bg = img.px(0, img.height - 1);
            (img.top_band_height(bg) == 0).then_some(img)
        });
        assert!(
            img.is_some(),
            "round {round}: the bar is still drawn while hidden"
        );

        rstat.signal(libc::SIGUSR1);
        expect_area(&sway, &mut rstat, below_top_bar(28));
        support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE)
            .unwrap_or_else(|e| panic!("round {round}: not shown again: {e}"));
    }
    rstat.assert_running();
    assert_no_panic(&rstat);
}

/// SIGUSR2 reloads. The config directory is a symlink repointed to another
/// version (a profile switch): the bar's watch stays where the link led at
/// start, so only the signal can apply the change.
#[test]
fn sigusr2_reloads() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let mut config = UnwatchedConfig::new(&sway.config_home(), &pinned("[bar]\nheight = 28\n"));
    let mut rstat = start_rstat(&sway, "usr2", &[]);
    expect_area(&sway, &mut rstat, below_top_bar(28));

    config.swap(&pinned("[bar]\nheight = 36\n"));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sway.usable_area("HEADLESS-1"),
        Some(below_top_bar(28)),
        "nothing changes before the signal"
    );
    let t0 = Instant::now();
    rstat.signal(libc::SIGUSR2);
    expect_area(&sway, &mut rstat, below_top_bar(36));
    eprintln!("SIGUSR2 reload applied after {:?}", t0.elapsed());
    expect_stderr(&mut rstat, "config reloaded from");
    // A second signal with nothing changed touches nothing.
    rstat.signal(libc::SIGUSR2);
    expect_stderr(&mut rstat, "unchanged");
    rstat.assert_running();
    assert_no_panic(&rstat);
}

/// A config that is a symlink into a dotfiles checkout reloads on its own
/// when the file it leads to is saved (an editor's write-and-rename there),
/// and follows the link when it is pointed at another file.
#[test]
fn a_symlinked_config_reloads_when_its_target_is_saved() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let link = config_path(&sway);
    let dotfiles = sway.config_home().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).expect("create dotfiles dir");
    let target = dotfiles.join("rstat.toml");
    save(&target, "[bar]\nheight = 28\n");
    std::os::unix::fs::symlink("../dotfiles/rstat.toml", &link).expect("symlink the config");
    let mut rstat = start_rstat(&sway, "symlink", &[]);
    expect_area(&sway, &mut rstat, below_top_bar(28));

    save(&target, "[bar]\nheight = 36\n");
    let took = expect_area(&sway, &mut rstat, below_top_bar(36));
    eprintln!("the target's save applied after {took:?}");

    // Pointed at another file: that file is the config now, the old one not.
    let laptop = dotfiles.join("laptop.toml");
    save(&laptop, "[bar]\nheight = 32\n");
    let new_link = link.with_extension("toml.new");
    std::os::unix::fs::symlink(&laptop, &new_link).expect("link the other file");
    std::fs::rename(&new_link, &link).expect("repoint the config link");
    expect_area(&sway, &mut rstat, below_top_bar(32));
    save(&laptop, "[bar]\nheight = 40\n");
    expect_area(&sway, &mut rstat, below_top_bar(40));
    save(&target, "[bar]\nheight = 24\n");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sway.usable_area("HEADLESS-1"),
        Some(below_top_bar(40)),
        "the file the link left is not the config"
    );
    rstat.assert_running();
    assert_no_panic(&rstat);
}

/// The `[bar]` keys reach the compositor: position bottom with margins moves
/// the exclusive zone to the bottom (margin included), a bigger font makes
/// taller text, and `outputs` naming another output removes the bar here.
/// `--config PATH` is the file used.
#[test]
fn bar_keys_take_effect_and_reload() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.config_home().join("elsewhere");
    std::fs::create_dir_all(&dir).expect("create config dir");
    let path = dir.join("bar.toml");
    save(&path, "[bar]\nheight = 30\n");
    let mut rstat = start_rstat(&sway, "keys", &["--config", path.to_str().unwrap()]);
    expect_area(&sway, &mut rstat, below_top_bar(30));
    let (_, small) =
        support::wait_for_bar(&sway, "HEADLESS-1", 30, PATIENCE).unwrap_or_else(|e| panic!("{e}"));

    save(
        &path,
        "[bar]\nheight = 30\nfont = { size = 24 }\nright = [\"cpu\", \"memory\"]\n",
    );
    let big = wait_for(PATIENCE, || {
        let (_, s) = support::wait_for_bar(&sway, "HEADLESS-1", 30, PATIENCE).ok()?;
        (s.last_row - s.first_row > small.last_row - small.first_row + 3).then_some(s)
    });
    assert!(
        big.is_some(),
        "text never grew with font size 24 (14 px text: {small:?})\n{}",
        rstat.stderr()
    );

    save(
        &path,
        "[bar]\nposition = \"bottom\"\nheight = 30\nmargin = { bottom = 6, left = 10 }\n",
    );
    expect_area(
        &sway,
        &mut rstat,
        Rect {
            x: 0,
            y: 0,
            width: 1920,
            height: 1080 - 36,
        },
    );

    save(&path, "[bar]\noutputs = [\"HEADLESS-9\"]\n");
    expect_area(&sway, &mut rstat, below_top_bar(0));
    save(
        &path,
        "[bar]\noutputs = [\"HEADLESS-1\"]\nlayer = \"overlay\"\n",
    );
    expect_area(&sway, &mut rstat, below_top_bar(28));
    rstat.assert_running();
    assert_no_panic(&rstat);
}

/// At start-up a bad config is fatal: exit 1 and the error with its
/// position. (No compositor needed: the config is read before connecting.)
#[test]
fn a_bad_config_at_start_up_is_fatal() {
    let dir = std::env::temp_dir().join(format!("rstat-e2e-config-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create dir");
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[bar]\nheight = \"tall\"\n").expect("write");
    let out = std::process::Command::new(common::rstat_bin())
        .args(["--collector", "procfs", "--config"])
        .arg(&path)
        .env("WAYLAND_DISPLAY", "wayland-nonexistent")
        .output()
        .expect("run rstat");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("{}:2:10", path.display())), "{err}");
    assert!(err.contains("expected a whole number"), "{err}");
    assert!(
        !err.contains("compositor"),
        "fails before connecting: {err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waybar's most reported reload trouble is a reload that kills, duplicates
/// or leaks the bar. Thirty reloads here, by signal and by file, alternate
/// height, edge, layer (which recreates the surfaces), font size and
/// visibility: afterwards there is exactly one bar (the exclusive zone is
/// one bar's, not a sum), and rstat holds as many descriptors as before,
/// with resident memory within allocator noise.
#[test]
fn thirty_reloads_leave_one_bar_and_no_leaks() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let path = config_path(&sway);
    save(&path, "[bar]\nheight = 28\n");
    let mut rstat = start_rstat(&sway, "storm", &[]);
    expect_area(&sway, &mut rstat, below_top_bar(28));
    let fds = |pid: u32| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let rss = |pid: u32| support::proc::proc_cost(pid).map_or(0, |c| c.rss_kib);
    // One round first, so lazily made things (a second font size's glyphs,
    // the other layer's first surface) exist before the baseline.
    let configs = [
        "[bar]\nheight = 34\nlayer = \"overlay\"\nfont = { size = 18 }\n",
        "[bar]\nheight = 26\nposition = \"bottom\"\n",
        "[bar]\nheight = 28\n",
    ];
    let expect = [
        below_top_bar(34),
        Rect {
            x: 0,
            y: 0,
            width: 1920,
            height: 1080 - 26,
        },
        below_top_bar(28),
    ];
    let round = |rstat: &mut Guarded, i: usize| {
        let k = i % 3;
        if i % 2 == 0 {
            save(&path, configs[k]);
        } else {
            // By signal: written in place, then SIGUSR2 (the watch also
            // sees the write; the second reload finds nothing changed).
            std::fs::write(&path, pinned(configs[k])).expect("write config");
            rstat.signal(libc::SIGUSR2);
        }
        expect_area(&sway, rstat, expect[k]);
        if i % 5 == 4 {
            rstat.signal(libc::SIGUSR1);
            expect_area(&sway, rstat, below_top_bar(0));
            rstat.signal(libc::SIGUSR1);
            expect_area(&sway, rstat, expect[k]);
        }
    };
    for i in 0..6 {
        round(&mut rstat, i);
    }
    std::thread::sleep(Duration::from_millis(300));
    let (fd0, rss0) = (fds(rstat.pid()), rss(rstat.pid()));
    for i in 6..36 {
        round(&mut rstat, i);
    }
    // The last round ends on the 28-px top bar: exactly one of it.
    save(&path, "[bar]\nheight = 28\nspacing = 20\n");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sway.usable_area("HEADLESS-1"), Some(below_top_bar(28)));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, PATIENCE).unwrap_or_else(|e| panic!("{e}"));
    let (fd1, rss1) = (fds(rstat.pid()), rss(rstat.pid()));
    eprintln!("30 reloads: fds {fd0} -> {fd1}, RSS {rss0} -> {rss1} KiB");
    assert_eq!(fd0, fd1, "descriptors leaked across reloads");
    assert!(
        rss1 < rss0 + 1024,
        "resident memory grew by {} KiB over 30 reloads",
        rss1.saturating_sub(rss0)
    );
    rstat.assert_running();
    assert_no_panic(&rstat);
}

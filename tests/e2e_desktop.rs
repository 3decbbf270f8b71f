//! The idle inhibitor and the backlight end to end in a real headless Sway:
//! with a real `swayidle -w timeout 2 'touch FILE'`, an activated inhibitor
//! keeps FILE from appearing (also across a config reload and while the bar
//! is hidden with SIGUSR1) and a deactivated one lets it appear; scrolling
//! over the backlight module with the virtual pointer changes a fixture
//! tree's `brightness`.

mod common;
mod support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use support::pointer::{VirtualPointer, BTN_LEFT};
use support::proc::{poll_every, Guarded};
use support::sway::HeadlessSway;

const PATIENCE: Duration = Duration::from_secs(10);

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
}

fn write_config(sway: &HeadlessSway, text: &str) {
    let dir = sway.config_home().join("rstat");
    fs::create_dir_all(&dir).expect("create the config directory");
    fs::write(dir.join("config.toml"), text).expect("write the config");
}

/// Waits until the bar on HEADLESS-1 draws something left of `x_max`, and
/// returns the first such column.
fn first_ink(sway: &HeadlessSway) -> usize {
    poll_every(Duration::from_millis(50), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let bg = img.dominant(0, 28);
        (0..img.width / 2).find(|&x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 24))
    })
    .expect("the bar drew its module")
}

/// True when `path` appears within `within`.
fn appears(path: &Path, within: Duration) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    path.exists()
}

#[test]
fn idle_inhibitor_keeps_swayidle_from_firing_across_reload_and_hiding() {
    if !ready()
        || !common::need(
            common::have("swayidle"),
            "needs swayidle (apt-get install swayidle)",
        )
    {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let base = "[bar]\nleft = [\"idle_inhibitor\"]\ncenter = []\nright = []\n";
    write_config(&sway, base);
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let x = first_ink(&sway);

    let file = sway.runtime_dir().join("idle-fired");
    let mut idle = sway.client("swayidle");
    idle.args(["-w", "timeout", "2"])
        .arg(format!("touch {}", file.display()));
    let mut swayidle = Guarded::spawn(
        "swayidle",
        &mut idle,
        &sway.runtime_dir().join("swayidle.stderr"),
    );

    // Deactivated (the start): swayidle fires after 2 s of no input.
    assert!(
        appears(&file, Duration::from_secs(8)),
        "swayidle never fired without an inhibitor: {}",
        swayidle.stderr()
    );

    // Activated by a click: 6 s of no input and FILE stays away.
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    pointer
        .move_to(x as u32 + 3, 14)
        .expect("move onto the module");
    pointer.click(BTN_LEFT).expect("click");
    std::thread::sleep(Duration::from_millis(300));
    let _ = fs::remove_file(&file);
    assert!(
        !appears(&file, Duration::from_secs(6)),
        "swayidle fired while the inhibitor was activated\nrstat: {}",
        bar.stderr()
    );

    // A config reload (the format changes) keeps it activated.
    write_config(
        &sway,
        &format!("{base}[module.idle_inhibitor]\nformat = \"{{icon}} {{state}}\"\n"),
    );
    poll_every(Duration::from_millis(50), PATIENCE, || {
        bar.stderr().contains("config reloaded").then_some(())
    })
    .unwrap_or_else(|| panic!("no reload: {}", bar.stderr()));
    assert!(
        !appears(&file, Duration::from_secs(6)),
        "swayidle fired after a reload\nrstat: {}",
        bar.stderr()
    );

    // Hidden (SIGUSR1): no bar surface, and still no idle.
    bar.signal(libc::SIGUSR1);
    poll_every(Duration::from_millis(50), PATIENCE, || {
        sway.usable_area("HEADLESS-1")
            .filter(|a| a.y == 0)
            .map(|_| ())
    })
    .expect("the bar hid");
    assert!(
        !appears(&file, Duration::from_secs(6)),
        "swayidle fired while the bar was hidden\nrstat: {}",
        bar.stderr()
    );
    bar.signal(libc::SIGUSR1);
    let x = first_ink(&sway);

    // Deactivated by a second click: FILE appears again.
    pointer
        .move_to(x as u32 + 3, 14)
        .expect("move onto the module");
    pointer.click(BTN_LEFT).expect("click");
    std::thread::sleep(Duration::from_millis(300));
    let _ = fs::remove_file(&file);
    assert!(
        appears(&file, Duration::from_secs(8)),
        "swayidle did not fire after deactivating\nrstat: {}",
        bar.stderr()
    );
    bar.assert_running();
    swayidle.assert_running();
}

#[test]
fn scrolling_over_the_backlight_changes_the_fixture_brightness() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    // A fixture root: the real /proc, and a sysfs with one intel_backlight.
    let root = sway.runtime_dir().join("root");
    let dev =
        root.join("sys/devices/pci0000:00/0000:00:02.0/drm/card1/card1-eDP-1/intel_backlight");
    fs::create_dir_all(&dev).unwrap();
    fs::create_dir_all(root.join("sys/class/backlight")).unwrap();
    symlink("/proc", root.join("proc")).unwrap();
    symlink(
        "../../devices/pci0000:00/0000:00:02.0/drm/card1/card1-eDP-1/intel_backlight",
        root.join("sys/class/backlight/intel_backlight"),
    )
    .unwrap();
    for (f, v) in [
        ("max_brightness", "1000"),
        ("actual_brightness", "500"),
        ("brightness", "500"),
        ("type", "raw"),
    ] {
        fs::write(dev.join(f), format!("{v}\n")).unwrap();
    }
    write_config(
        &sway,
        "[bar]\nleft = [\"backlight\"]\ncenter = []\nright = []\n[module.backlight]\nstep = 10\n",
    );
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs", "--root"]).arg(&root);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let x = first_ink(&sway);
    let level = || {
        fs::read_to_string(dev.join("brightness"))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    pointer
        .move_to(x as u32 + 3, 14)
        .expect("move onto the module");
    pointer.scroll(-1).expect("scroll up");
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (level() == "600").then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "scrolling up left brightness at {}\n{}",
            level(),
            bar.stderr()
        )
    });
    // The fixture's actual_brightness stays 500 (no kernel behind it), and
    // the bar read it again after the step: down from there.
    std::thread::sleep(Duration::from_millis(100));
    pointer.scroll(1).expect("scroll down");
    poll_every(Duration::from_millis(20), PATIENCE, || {
        (level() == "400").then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "scrolling down left brightness at {}\n{}",
            level(),
            bar.stderr()
        )
    });
    bar.assert_running();
}

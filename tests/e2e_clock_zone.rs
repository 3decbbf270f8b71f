//! The clock follows a replaced `/etc/localtime` within a second (it used to
//! wait for the next minute): the bar watches the file and reads the time
//! and zone again at once. The machine's own `/etc` is not touched: the bar
//! runs in a mount namespace whose `/etc` is a copy (`unshare -m`, a bind
//! mount), and the test renames a new zone file into that copy. The wall clock
//! being set (and a resume) reaches the same path through a
//! `TFD_TIMER_CANCEL_ON_SET` timerfd, which no test can trigger without
//! setting this machine's clock.

mod common;
mod support;

use std::time::{Duration, Instant};

use support::proc::Guarded;
use support::sway::HeadlessSway;

fn bar_pixels(sway: &HeadlessSway) -> Vec<support::image::Rgb> {
    let img = sway.screenshot("HEADLESS-1");
    (0..28)
        .flat_map(|y| (0..img.width).map(move |x| (x, y)))
        .map(|(x, y)| img.px(x, y))
        .collect()
}

#[test]
fn a_replaced_zone_file_shows_within_a_second() {
    let ready = common::need(common::is_root(), "needs root to start Sway")
        && common::need(
            ["sway", "grim", "unshare"].iter().all(|t| common::have(t)),
            "needs sway, grim and unshare",
        )
        && common::need(
            std::path::Path::new("/usr/share/zoneinfo/Asia/Tokyo").exists(),
            "needs tzdata (/usr/share/zoneinfo)",
        );
    if !ready {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().join("etc");
    let cp = std::process::Command::new("cp")
        .args(["-a", "/etc"])
        .arg(&dir)
        .status()
        .expect("cp");
    assert!(cp.success(), "copy /etc");
    let zone = dir.join("localtime");
    let _ = std::fs::remove_file(&zone);
    std::fs::copy("/usr/share/zoneinfo/UTC", &zone).unwrap();
    let cfg = sway.config_home().join("rstat");
    std::fs::create_dir_all(&cfg).unwrap();
    // Only the zone's name: the text changes with the zone, never with the minute.
    std::fs::write(
        cfg.join("config.toml"),
        "[bar]\ncenter = [\"clock\"]\nright = []\nleft = []\n[module.clock]\nformat = \"zone %Z\"\npopup = false\n",
    )
    .unwrap();
    let mut cmd = sway.client("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount --bind {} /etc && exec {} --collector procfs",
            dir.display(),
            common::rstat_bin()
        ))
        .env_remove("TZ");
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    support::wait_for_bar(&sway, "HEADLESS-1", 28, Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("no bar: {e}\n{}", bar.stderr()));
    std::thread::sleep(Duration::from_millis(300));
    let before = bar_pixels(&sway);

    // Replaced as package managers and timedatectl do: a new file renamed over.
    let tmp = dir.join("localtime.new");
    std::fs::copy("/usr/share/zoneinfo/Asia/Tokyo", &tmp).unwrap();
    std::fs::rename(&tmp, &zone).unwrap();
    let t0 = Instant::now();
    let mut changed = None;
    while t0.elapsed() < Duration::from_secs(3) {
        if bar_pixels(&sway) != before {
            changed = Some(t0.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bar.assert_running();
    eprintln!("zone change shown after {changed:?}");
    let took = changed.unwrap_or_else(|| {
        panic!(
            "the clock still shows the old zone 3 s later\n{}",
            bar.stderr()
        )
    });
    assert!(took <= Duration::from_secs(1), "shown after {took:?}");
}

//! The i3bar kind with real status commands from Debian's packages, in a
//! real headless Sway: i3status's and i3blocks' blocks (configs written
//! here) are what `rstat --once --modules` shows; in a running bar, hiding
//! it (SIGUSR1) stops i3status (state `T` in /proc) and showing it again
//! continues it.

mod common;
mod support;

use std::time::Duration;

use serde_json::Value;
use support::proc::{poll_every, run, Guarded};
use support::sway::HeadlessSway;

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
        && common::need(
            common::have("i3status"),
            "needs i3status (apt-get install i3status)",
        )
        && common::need(
            common::have("i3blocks"),
            "needs i3blocks (apt-get install i3blocks)",
        )
}

fn texts(v: &Value, module: &str) -> Vec<String> {
    v[module]["segments"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["text"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn once(sway: &HeadlessSway) -> Value {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args([
        "--once",
        "--modules",
        "--collector",
        "procfs",
        "--interval-ms",
        "1500",
    ]);
    let out = run(&mut cmd, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", out.stderr);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn proc_state(pid: u32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s.rsplit_once(')')?.1.trim_start().chars().next()
}

#[test]
fn i3status_and_i3blocks_blocks_are_shown_and_a_hidden_bar_stops_the_command() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().join("i3bar");
    std::fs::create_dir_all(&dir).unwrap();
    let i3status = dir.join("i3status.conf");
    std::fs::write(
        &i3status,
        "general {\n  output_format = \"i3bar\"\n  colors = true\n  interval = 1\n}\norder += \"tztime utc\"\norder += \"load\"\ntztime utc {\n  format = \"UTC %Y\"\n  timezone = \"UTC\"\n}\nload {\n  format = \"L %1min\"\n}\n",
    )
    .unwrap();
    let i3blocks = dir.join("i3blocks.conf");
    std::fs::write(
        &i3blocks,
        "[hello]\ncommand=echo hello from i3blocks\ninterval=once\ncolor=#FF0000\n\n[static]\nfull_text=static block\n",
    )
    .unwrap();
    let cfg = sway.config_home().join("rstat");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.toml"),
        format!(
            "[bar]\nleft = [\"i3bar#status\", \"i3bar#blocks\"]\ncenter = []\nright = []\n[module.\"i3bar#status\"]\nexec = [\"i3status\", \"-c\", \"{}\"]\n[module.\"i3bar#blocks\"]\nexec = [\"i3blocks\", \"-c\", \"{}\"]\n",
            i3status.display(),
            i3blocks.display()
        ),
    )
    .unwrap();

    let v = once(&sway);
    let year = 1970
        + (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / 31_556_952);
    let status = texts(&v, "i3bar#status");
    assert_eq!(status.len(), 2, "{v}");
    assert!(status[0].starts_with("UTC 20"), "{status:?} (about {year})");
    assert!(status[1].starts_with("L "), "{status:?}");
    assert_eq!(
        texts(&v, "i3bar#blocks"),
        ["hello from i3blocks", "static block"],
        "{v}"
    );

    // The running bar: hide it, the command stops; show it, it continues.
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let pid = poll_every(Duration::from_millis(50), Duration::from_secs(10), || {
        support::proc::descendants(bar.pid())
            .into_iter()
            .find(|&p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == "i3status")
            })
    })
    .unwrap_or_else(|| panic!("i3status never started\n{}", bar.stderr()));
    assert_ne!(proc_state(pid), Some('T'));
    bar.signal(libc::SIGUSR1);
    poll_every(Duration::from_millis(20), Duration::from_secs(5), || {
        (proc_state(pid) == Some('T')).then_some(())
    })
    .unwrap_or_else(|| panic!("hiding did not stop i3status: {:?}", proc_state(pid)));
    bar.signal(libc::SIGUSR1);
    poll_every(Duration::from_millis(20), Duration::from_secs(5), || {
        (proc_state(pid).is_some_and(|s| s != 'T')).then_some(())
    })
    .unwrap_or_else(|| panic!("showing did not continue i3status: {:?}", proc_state(pid)));
    bar.assert_running();
}

//! The other bars, configured like rstat's default (CPU, memory, a clock, all
//! updated every second, 28 px at the top): the harness checks itself against
//! them, and the cost benchmark measures them next to rstat.

use std::path::Path;
use std::process::Command;

use super::sway::HeadlessSway;

/// yambar 1.9 (Debian 12). Its cpu module takes `poll-interval`, its mem
/// module `interval` (both in ms; the man pages of 1.9 still say `interval`
/// for both). A clock format with seconds makes it tick every second.
pub const YAMBAR_CONFIG: &str = r#"bar:
  height: 28
  location: top
  background: 202020ff
  foreground: ffffffff
  font: monospace:pixelsize=14
  left:
    - cpu:
        poll-interval: 1000
        content:
          map:
            conditions:
              id < 0:
                - string: {text: "cpu {cpu}%  "}
    - mem:
        interval: 1000
        content:
          string: {text: "mem {percent_used}%"}
  right:
    - clock:
        time-format: "%H:%M:%S"
        content:
          string: {text: "{date} {time}"}
"#;

/// Waybar 0.9 (Debian 12): the same three modules at a 1 s interval.
pub const WAYBAR_CONFIG: &str = r#"{
  "layer": "top",
  "position": "top",
  "height": 28,
  "modules-left": ["cpu", "memory"],
  "modules-right": ["clock"],
  "cpu": { "interval": 1, "format": "cpu {usage}%" },
  "memory": { "interval": 1, "format": "mem {percentage}%" },
  "clock": { "interval": 1, "format": "{:%Y-%m-%d %H:%M:%S}" }
}
"#;

pub const WAYBAR_STYLE: &str = r#"* { font-family: monospace; font-size: 14px; min-height: 0; }
window#waybar { background: #202020; color: #ffffff; }
#cpu, #memory, #clock { padding: 0 8px; }
"#;

/// rstat with the same three modules (not the built-in layout, which may
/// change): CPU and memory at 1 s, a clock with seconds, 28 px at the top,
/// no font named (the embedded face; yambar and Waybar ask for `monospace`,
/// DejaVu Sans Mono on Debian, the family the embedded face is cut from).
pub const RSTAT_CONFIG: &str = r#"[bar]
height = 28
position = "top"
left = ["cpu", "memory"]
center = []
right = ["clock"]

[module.cpu]
format = "cpu {usage:>3.0}%"
interval_ms = 1000

[module.memory]
format = "mem {mem_percent:>3.0}%"
interval_ms = 1000

[module.clock]
format = "%Y-%m-%d %H:%M:%S"
"#;

/// The arguments that run rstat with [`RSTAT_CONFIG`], written into `dir`.
pub fn rstat_config_args(dir: &Path) -> Vec<std::ffi::OsString> {
    let conf = dir.join("rstat-default.toml");
    std::fs::write(&conf, RSTAT_CONFIG).expect("write rstat config");
    vec!["--config".into(), conf.into()]
}

/// A command that runs yambar on `sway`, its config written into `dir`.
pub fn yambar(sway: &HeadlessSway, dir: &Path) -> Command {
    let conf = dir.join("yambar.yml");
    std::fs::write(&conf, YAMBAR_CONFIG).expect("write yambar config");
    let mut cmd = sway.client("yambar");
    // No syslog: the test's stderr file is the log.
    cmd.arg("-s").arg("-c").arg(conf);
    cmd
}

/// A command that runs Waybar on `sway`, its config and style in `dir`.
pub fn waybar(sway: &HeadlessSway, dir: &Path) -> Command {
    let conf = dir.join("waybar.json");
    let style = dir.join("waybar.css");
    std::fs::write(&conf, WAYBAR_CONFIG).expect("write waybar config");
    std::fs::write(&style, WAYBAR_STYLE).expect("write waybar style");
    let mut cmd = sway.client("waybar");
    cmd.arg("-c").arg(conf).arg("-s").arg(style);
    cmd
}

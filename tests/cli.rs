//! The command line as users and Waybar see it: real process, real /proc.

mod common;

use std::process::{Command, Output};

fn rstat(args: &[&str]) -> Output {
    Command::new(common::rstat_bin())
        .args(args)
        .output()
        .expect("running rstat")
}

fn meminfo_kib(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").expect("reading /proc/meminfo");
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{key} missing from /proc/meminfo"))
}

#[test]
fn once_prints_every_key_and_agrees_with_meminfo() {
    let out = rstat(&["--once", "--collector", "procfs", "--interval-ms", "100"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--once must print JSON");
    let total = meminfo_kib("MemTotal") * 1024;
    let available = meminfo_kib("MemAvailable") * 1024;

    assert_eq!(v["collector"], "procfs");
    assert_eq!(v["mem_total_bytes"].as_u64(), Some(total));
    let got_avail = v["mem_available_bytes"]
        .as_u64()
        .expect("mem_available_bytes");
    let diff = (got_avail as f64 - available as f64).abs() / available as f64;
    assert!(
        diff < 0.02,
        "available {got_avail} vs /proc/meminfo {available}"
    );
    let used = v["mem_used_bytes"].as_u64().expect("mem_used_bytes");
    assert_eq!(used, total - got_avail, "used must be total - available");
    assert_eq!(
        v["swap_total_bytes"].as_u64(),
        Some(meminfo_kib("SwapTotal") * 1024)
    );
    assert!(v["swap_used_bytes"].as_u64().is_some());

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    assert_eq!(v["cores"].as_u64(), Some(cores));
    let cpu = v["cpu_percent"].as_f64().expect("cpu_percent");
    assert!((0.0..=100.0).contains(&cpu));
    let load = v["load"].as_array().expect("load array");
    assert_eq!(load.len(), 3);
    let loadavg = std::fs::read_to_string("/proc/loadavg").expect("reading /proc/loadavg");
    let l1: f64 = loadavg.split_whitespace().next().unwrap().parse().unwrap();
    assert!((load[0].as_f64().unwrap() - l1).abs() < 1.0);

    // This VM has none of these sensors: absent means null, not an error.
    for key in [
        "cpu_temp_c",
        "cpu_freq_mhz",
        "cpu_freq_max_mhz",
        "gpu_busy_percent",
        "gpu_freq_mhz",
        "gpu_freq_max_mhz",
        "power_profile",
    ] {
        assert!(v.get(key).is_some(), "key {key} missing");
    }
    assert!(v["throttle"].is_array());
    let tasks = v["tasks"].as_u64().expect("tasks");
    let live = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .count() as u64;
    assert!(tasks.abs_diff(live) < 50, "tasks {tasks}, /proc has {live}");

    let top_mem = v["top_mem"].as_array().expect("top_mem");
    assert!(!top_mem.is_empty() && top_mem.len() <= 5);
    let rss: Vec<u64> = top_mem
        .iter()
        .map(|p| p["rss_bytes"].as_u64().unwrap())
        .collect();
    assert!(
        rss.windows(2).all(|w| w[0] >= w[1]),
        "top_mem sorted: {rss:?}"
    );
    for list in ["top_cpu", "top_io"] {
        assert!(v[list].is_array(), "{list}");
    }
    for p in top_mem {
        assert!(p["pid"].as_u64().is_some() && p["name"].is_string());
    }
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    for args in [
        &["--frobnicate"][..],
        &["--once", "--interval-ms", "zero"],
        &["--collector", "nope", "--once"],
        &["--bench"],
    ] {
        let out = rstat(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("rstat: "), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn help_and_version() {
    let out = rstat(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    // Every flag, signal, file and environment variable a user may need.
    for word in [
        "--once",
        "--modules",
        "--waybar",
        "--bench",
        "--bench-render",
        "--collector",
        "--interval-ms",
        "--root",
        "--config",
        "--check-config",
        "--print-default-config",
        "--help",
        "--version",
        "SIGUSR1",
        "SIGUSR2",
        "config.toml",
        "/sys/kernel/btf/vmlinux",
        "WAYLAND_DISPLAY",
        "SWAYSOCK",
        "HYPRLAND_INSTANCE_SIGNATURE",
        "XDG_CONFIG_HOME",
        "RSTAT_SHM_FORMAT",
        "CAP_BPF",
    ] {
        assert!(help.contains(word), "--help must mention {word}");
    }
    let out = rstat(&["--version"]);
    assert!(out.status.success());
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(version.starts_with("rstat 0."), "{version}");
    let probe = version.lines().nth(1).unwrap_or("");
    assert!(probe.starts_with("eBPF probe: "), "{version}");
    assert!(
        !probe.contains("STALE"),
        "the committed probe is out of date: {probe}"
    );
}

#[test]
fn bench_reports_one_line_per_collector() {
    let out = rstat(&["--bench", "20", "--collector", "procfs"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next().expect("a report line");
    assert!(
        line.starts_with("collector=procfs samples=20 tasks="),
        "{line}"
    );
    for k in [
        "avg_us=", "p50_us=", "p95_us=", "p99_us=", "min_us=", "max_us=",
    ] {
        assert!(line.contains(k), "{line}");
    }
    let p50: f64 = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("p50_us="))
        .and_then(|v| v.parse().ok())
        .expect("p50_us number");
    assert!(p50 > 0.0);
}

#[test]
fn waybar_lines_are_json_with_the_waybar_keys() {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(common::rstat_bin())
        .args(["--waybar", "--collector", "procfs", "--interval-ms", "50"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawning rstat --waybar");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for _ in 0..3 {
        let line = lines.next().expect("a line").expect("readable line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("each line is JSON");
        let text = v["text"].as_str().expect("text");
        assert!(text.starts_with("CPU") && text.contains("MEM"), "{text}");
        let tooltip = v["tooltip"].as_str().expect("tooltip");
        for table in ["Top CPU", "Top memory", "Top IO"] {
            assert!(tooltip.contains(table), "{tooltip}");
        }
        assert!(["", "warning", "critical"].contains(&v["class"].as_str().unwrap()));
        assert!(v["percentage"].as_u64().unwrap() <= 100);
    }
    // Closing the pipe (Waybar going away) ends rstat quietly.
    drop(lines);
    let status = child.wait().expect("waiting for rstat");
    assert!(status.success(), "rstat --waybar after EPIPE: {status}");
}

#[test]
fn check_config_and_print_default_config() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let out = rstat(&["--print-default-config"]);
    assert!(out.status.success());
    let good = dir.join("default.toml");
    std::fs::write(&good, &out.stdout).unwrap();
    let out = rstat(&["--check-config", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(": ok\n"));

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[bar]\nheight = 40\nposition = \"middle\"\n").unwrap();
    let out = rstat(&["--check-config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:3:12: `bar.position`: `middle` is not one of top, bottom",
            bad.display()
        )),
        "{err}"
    );

    // --config names the file --check-config validates when it has no PATH.
    let out = rstat(&["--check-config", "--config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Pango font description in `font = "…"` is checked as the bar reads
/// it: a good one passes; a trailing number too small to be a size, and a
/// variant rstat does not draw, are errors at their place.
#[test]
fn check_config_reads_font_strings_as_pango_descriptions() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-font-desc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let check = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        let out = rstat(&["--check-config", p.to_str().unwrap()]);
        (p, out)
    };
    let (_, out) = check("good.toml", "[bar]\nfont = \"Sans Bold 12\"\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, out) = check("plain.toml", "[bar]\nfont = \"Noto Sans Symbols 2,\"\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (p, out) = check("number.toml", "[bar]\nfont = \"Noto Sans Symbols 2\"\n");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{}:2:8: `bar.font`: `Noto Sans Symbols 2` ends in the size 2",
            p.display()
        )) && err.contains("\"Noto Sans Symbols 2,\""),
        "{err}"
    );
    let (_, out) = check("caps.toml", "[bar]\nfont = \"Sans Small-Caps 12\"\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`Small-Caps`"));
    let _ = std::fs::remove_dir_all(&dir);
}

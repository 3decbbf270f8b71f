//! The install path for everyone without Nix: copy the binary somewhere,
//! `setcap cap_bpf,cap_perfmon+ep` on it, run it as an ordinary user. It must
//! pick the eBPF collector, then hold no capability at all while it runs.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const NOBODY: u32 = 65534;

/// A temporary prefix (`PREFIX/bin/rstat`) every user can traverse.
struct Prefix(PathBuf);

impl Prefix {
    fn install() -> Prefix {
        let dir = std::env::temp_dir().join(format!("rstat-install-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).expect("creating the prefix");
        for d in [&dir, &dir.join("bin")] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))
                .expect("chmod prefix");
        }
        let bin = dir.join("bin/rstat");
        std::fs::copy(common::rstat_bin(), &bin).expect("copying the binary");
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))
            .expect("chmod binary");
        Prefix(dir)
    }
    fn bin(&self) -> PathBuf {
        self.0.join("bin/rstat")
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn as_nobody(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    c.uid(NOBODY)
        .gid(NOBODY)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/nonexistent");
    c
}

fn status_field(pid: u32, key: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

#[test]
fn setcap_install_runs_bpf_as_nobody_then_holds_nothing() {
    if !common::need(common::is_root(), "needs root to setcap and switch users")
        || !common::need(
            common::have("setcap") || Path::new("/usr/sbin/setcap").exists(),
            "needs setcap (apt-get install libcap2-bin)",
        )
    {
        return;
    }
    let prefix = Prefix::install();
    let setcap = if common::have("setcap") {
        "setcap".to_string()
    } else {
        "/usr/sbin/setcap".to_string()
    };
    let out = Command::new(&setcap)
        .args(["cap_bpf,cap_perfmon+ep"])
        .arg(prefix.bin())
        .output()
        .expect("running setcap");
    assert!(
        out.status.success(),
        "setcap: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without the capabilities nobody gets procfs, and is told why once.
    let plain = Prefix(prefix.0.join("plain"));
    std::fs::create_dir_all(plain.0.join("bin")).unwrap();
    for d in [&plain.0, &plain.0.join("bin")] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::copy(common::rstat_bin(), plain.bin()).unwrap();
    let out = as_nobody(&plain.bin())
        .args(["--once", "--interval-ms", "50"])
        .output()
        .expect("running rstat");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["collector"], "procfs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("using the procfs collector"), "{err}");

    // With them, auto picks eBPF.
    let out = as_nobody(&prefix.bin())
        .args(["--once", "--interval-ms", "50"])
        .output()
        .expect("running rstat");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_ne!(
        v["collector"],
        "procfs",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // And a long-running one holds nothing once it is up.
    let mut child = as_nobody(&prefix.bin())
        .args(["--waybar", "--interval-ms", "200"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting rstat --waybar");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    let pid = child.id();
    let caps: Vec<(String, String)> = [
        "CapInh:",
        "CapPrm:",
        "CapEff:",
        "CapBnd:",
        "CapAmb:",
        "NoNewPrivs:",
        "Uid:",
    ]
    .iter()
    .map(|k| (k.to_string(), status_field(pid, k)))
    .collect();
    let second = lines.next().and_then(Result::ok).unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        serde_json::from_str::<serde_json::Value>(&first).is_ok(),
        "first line: {first:?}"
    );
    assert!(
        serde_json::from_str::<serde_json::Value>(&second).is_ok(),
        "still sampling after the drop: {second:?}"
    );
    for (k, v) in &caps {
        match k.as_str() {
            "NoNewPrivs:" => assert_eq!(v, "1", "{caps:?}"),
            "Uid:" => assert!(v.split_whitespace().all(|u| u == "65534"), "{caps:?}"),
            // The bounding set is a ceiling, not something held: shrinking it
            // needs CAP_SETPCAP, which the file does not grant; with
            // no_new_privs set and nothing permitted, no exec can use it.
            "CapBnd:" => {}
            // This kernel (6.18) lets held map fds be read without CAP_BPF.
            _ => assert_eq!(v, "0000000000000000", "{k} {caps:?}"),
        }
    }
}

//! Compiles the eBPF probe when clang is available; otherwise the committed
//! `probe/probe.bpf.o` is embedded. Either way the object's path reaches the
//! crate as `RSTAT_PROBE_OBJECT` for `include_bytes!`.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let probe = dir.join("probe");
    let src = probe.join("probe.bpf.c");
    let committed = probe.join("probe.bpf.o");
    println!("cargo:rerun-if-changed=probe/probe.bpf.c");
    println!("cargo:rerun-if-changed=probe/probe.h");
    println!("cargo:rerun-if-changed=probe/probe.bpf.o");
    println!("cargo:rerun-if-env-changed=RSTAT_NO_CLANG");

    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("probe.bpf.o");
    let use_clang = std::env::var_os("RSTAT_NO_CLANG").is_none();
    let built = use_clang
        && Command::new("clang")
            .args(["-target", "bpf", "-mcpu=v3", "-O2", "-g", "-c"])
            // Paths in the debug info must not depend on where the tree lives.
            .arg(format!("-fdebug-prefix-map={}=.", probe.display()))
            .arg(&src)
            .arg("-o")
            .arg(&out)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
    let (chosen, status) = if built {
        let clang = Command::new("clang")
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.lines().next().map(str::to_string))
            .unwrap_or_else(|| "clang".into());
        (
            out,
            format!("built from probe/probe.bpf.c at compile time ({clang})"),
        )
    } else {
        println!(
            "cargo:warning=clang unavailable or failed: embedding the committed probe/probe.bpf.o"
        );
        (committed, committed_status(&probe))
    };
    println!("cargo:rerun-if-changed=probe/probe.bpf.o.sha256");
    println!("cargo:rustc-env=RSTAT_PROBE_OBJECT={}", chosen.display());
    println!("cargo:rustc-env=RSTAT_PROBE_STATUS={status}");
}

/// Whether the committed object still matches its source, by the stamp
/// `probe/build.sh` writes (`sha256sum` of source, header and object).
fn committed_status(probe: &std::path::Path) -> String {
    let stamp = std::fs::read_to_string(probe.join("probe.bpf.o.sha256")).unwrap_or_default();
    let now = Command::new("sha256sum")
        .args(["probe.bpf.c", "probe.h", "probe.bpf.o"])
        .current_dir(probe)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok());
    match now {
        Some(now) if now.trim() == stamp.trim() => {
            "the committed probe/probe.bpf.o, which matches its source".into()
        }
        Some(_) => "the committed probe/probe.bpf.o, which is STALE: its source changed since it was built (run probe/build.sh)".into(),
        None => "the committed probe/probe.bpf.o (sha256sum unavailable: match with its source not checked)".into(),
    }
}

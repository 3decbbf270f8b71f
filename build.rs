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
    let chosen = if built {
        out
    } else {
        println!(
            "cargo:warning=clang unavailable or failed: embedding the committed probe/probe.bpf.o"
        );
        committed
    };
    println!("cargo:rustc-env=RSTAT_PROBE_OBJECT={}", chosen.display());
}

//! The committed probe object must be what its source compiles to: builds
//! without clang embed it, so a stale one would ship silently.
//!
//! Two checks. The stamp `probe/probe.bpf.o.sha256` (written by
//! `probe/build.sh`) must match the current source, header and object: this
//! catches an edited source whose object was not rebuilt, on any machine
//! and regardless of file times. And where clang is present (the same
//! version that built the object, recorded beside it), compiling the source
//! now must give the same instructions, maps and license as the committed
//! object: this catches a stamp refreshed without rebuilding.

mod common;

use goblin::elf::Elf;
use std::path::Path;
use std::process::Command;

fn probe_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/probe"))
}

#[test]
fn stamp_matches_source_and_object() {
    if !common::need(common::have("sha256sum"), "needs sha256sum") {
        return;
    }
    let out = Command::new("sha256sum")
        .args(["--check", "--strict", "probe.bpf.o.sha256"])
        .current_dir(probe_dir())
        .output()
        .expect("run sha256sum");
    assert!(
        out.status.success(),
        "probe/probe.bpf.o is stale: run probe/build.sh and commit the result\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stamped = std::fs::read_to_string(probe_dir().join("probe.bpf.o.sha256")).expect("stamp");
    for f in ["probe.bpf.c", "probe.h", "probe.bpf.o"] {
        assert!(stamped.contains(&format!("  {f}\n")), "stamp covers {f}");
    }
}

/// The sections that decide what runs in the kernel, by name.
fn loaded_sections(obj: &[u8]) -> Vec<(String, Vec<u8>)> {
    let elf = Elf::parse(obj).expect("parse BPF ELF");
    let mut v = Vec::new();
    for sh in &elf.section_headers {
        let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("").to_string();
        let code = sh.sh_flags & goblin::elf::section_header::SHF_EXECINSTR as u64 != 0;
        if code || name == "maps" || name == "license" {
            let start = sh.sh_offset as usize;
            v.push((name, obj[start..start + sh.sh_size as usize].to_vec()));
        }
    }
    v
}

#[test]
fn committed_object_is_what_clang_builds_now() {
    if !common::need(common::have("clang"), "needs clang to rebuild the probe") {
        return;
    }
    let version = Command::new("clang")
        .arg("--version")
        .output()
        .expect("clang --version");
    let version = String::from_utf8_lossy(&version.stdout);
    let recorded = std::fs::read_to_string(probe_dir().join("probe.bpf.o.clang"))
        .expect("recorded clang version");
    if version.lines().next().unwrap_or("") != recorded.trim() {
        eprintln!(
            "SKIPPED: clang here is not the one that built the object ({})",
            recorded.trim()
        );
        return;
    }
    let tmp = std::env::temp_dir().join(format!("rstat-probe-{}.o", std::process::id()));
    let status = Command::new("clang")
        .args([
            "-target",
            "bpf",
            "-mcpu=v3",
            "-O2",
            "-g",
            "-c",
            "probe.bpf.c",
            "-o",
        ])
        .arg(&tmp)
        .current_dir(probe_dir())
        .status()
        .expect("run clang");
    assert!(status.success(), "clang compiles probe.bpf.c");
    let fresh = std::fs::read(&tmp).expect("read fresh object");
    let _ = std::fs::remove_file(&tmp);
    let committed = std::fs::read(probe_dir().join("probe.bpf.o")).expect("read committed object");
    let (a, b) = (loaded_sections(&fresh), loaded_sections(&committed));
    assert!(!a.is_empty());
    assert_eq!(
        a, b,
        "probe/probe.bpf.o differs from what probe.bpf.c compiles to: run probe/build.sh"
    );
}

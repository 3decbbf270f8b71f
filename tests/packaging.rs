//! Packaging files that cannot be built here (Nix needs the network) are at
//! least checked to parse and to say what the README promises.

mod common;

use std::process::Command;

#[test]
fn flake_parses_and_grants_only_bpf_capabilities() {
    let flake = concat!(env!("CARGO_MANIFEST_DIR"), "/flake.nix");
    let text = std::fs::read_to_string(flake).expect("reading flake.nix");
    assert!(text.contains("capabilities = \"cap_bpf,cap_perfmon+ep\""));
    assert!(
        !text.contains("setuid = true"),
        "rstat must not be installed setuid root"
    );
    assert!(text.contains("ExecReload"));
    if !common::need(
        common::have("nix-instantiate"),
        "needs nix-instantiate (apt-get install nix-bin)",
    ) {
        return;
    }
    let out = Command::new("nix-instantiate")
        .args(["--parse", flake])
        .output()
        .expect("running nix-instantiate");
    assert!(
        out.status.success(),
        "flake.nix does not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The unit file the README tells users to save, checked by systemd itself.
#[test]
fn readme_systemd_unit_verifies() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let start = readme
        .find("```ini\n")
        .expect("README has the unit in an ```ini block")
        + 7;
    let unit = &readme[start..start + readme[start..].find("```").expect("closed block")];
    for want in [
        "PartOf=graphical-session.target",
        "ExecReload=/bin/kill -USR2 $MAINPID",
        "ExecStart=%h/.cargo/bin/rstat",
    ] {
        assert!(unit.contains(want), "the unit lacks {want}");
    }
    if !common::need(
        common::have("systemd-analyze"),
        "needs systemd-analyze (apt-get install systemd)",
    ) {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("unit-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("runtime")).unwrap();
    // Verify against the binary this test suite built, where ~/.cargo/bin may hold none.
    let file = dir.join("rstat.service");
    std::fs::write(
        &file,
        unit.replace("%h/.cargo/bin/rstat", common::rstat_bin()),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["--user", "verify", "--man=no"])
        .arg(&file)
        // --user needs a runtime dir; no user manager has to run.
        .env("XDG_RUNTIME_DIR", dir.join("runtime"))
        .output()
        .expect("running systemd-analyze");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

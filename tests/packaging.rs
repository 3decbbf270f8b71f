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

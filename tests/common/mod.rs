//! Shared by the integration tests: gating on root, tools and a compositor.
#![allow(dead_code)]

use std::path::Path;

pub mod alloc;
pub mod fixture;
pub mod hyprland;
pub mod strace;

/// Whether CI demands that every end-to-end test runs (`RSTAT_REQUIRE_E2E=1`).
pub fn e2e_required() -> bool {
    std::env::var("RSTAT_REQUIRE_E2E").is_ok_and(|v| v == "1")
}

/// Decides whether a test that needs something can run. When `ok` is false it
/// prints the reason and returns false (skip), or panics when
/// `RSTAT_REQUIRE_E2E=1`, so CI cannot pass by skipping.
pub fn need(ok: bool, what: &str) -> bool {
    if ok {
        return true;
    }
    if e2e_required() {
        panic!("RSTAT_REQUIRE_E2E=1 but this test cannot run: {what}");
    }
    eprintln!("SKIPPED: {what}");
    false
}

/// True when running as root (BPF loads, Sway as another uid).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// True when `cmd` is an executable on `PATH`.
pub fn have(cmd: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(cmd);
            Path::new(&p).is_file()
        })
    })
}

/// Path of the built `rstat` binary.
pub fn rstat_bin() -> &'static str {
    env!("CARGO_BIN_EXE_rstat")
}

/// A config holding the layout the built-in one had before it became
/// Waybar-like: the clock in the centre, the health module at the right.
/// Tests of the bar itself (geometry, damage, popups, reloads, wakeups) pin
/// it, so they keep measuring the two modules they were written for
/// whatever the built-in layout shows.
pub const CLOCK_HEALTH: &str = "[bar]\ncenter = [\"clock\"]\nright = [\"health\"]\n";

/// `text`, a config that sets no layout, with the [`CLOCK_HEALTH`] one
/// (merged into its `[bar]` table when it has one).
pub fn clock_health(text: &str) -> String {
    if text.contains("[bar]\n") {
        text.replacen("[bar]\n", CLOCK_HEALTH, 1)
    } else {
        format!("{CLOCK_HEALTH}{text}")
    }
}

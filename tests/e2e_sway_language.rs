//! The language kind end to end in a real headless Sway: a virtual keyboard
//! (`zwp_virtual_keyboard_v1`, a client of ours) with a keymap of two
//! layouts, English (US) and German. `swaymsg input type:keyboard
//! xkb_switch_layout next` switches it: `rstat --once --modules` reads the
//! new layout, and the running bar follows Sway's `input` event (its text
//! changes width in screenshots). A click on the module switches back.

mod common;
mod support;

use std::time::Duration;

use serde_json::Value;
use support::proc::{poll_every, run, Guarded};
use support::sway::HeadlessSway;

const PATIENCE: Duration = Duration::from_secs(15);

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
        && common::need(
            std::path::Path::new("/usr/share/X11/xkb/symbols/de").exists(),
            "needs xkeyboard-config's data (apt-get install xkb-data)",
        )
}

fn once(sway: &HeadlessSway) -> Value {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--once", "--modules", "--collector", "procfs"]);
    let out = run(&mut cmd, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", out.stderr);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn language(sway: &HeadlessSway) -> String {
    once(sway)["language"]["text"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Sway's GET_INPUTS reply.
fn get_inputs(sway: &HeadlessSway) -> String {
    sway.ipc(100, "").expect("GET_INPUTS")
}

/// What Sway itself says the virtual keyboard's layout is.
fn sway_layout(sway: &HeadlessSway) -> String {
    let inputs: Value = serde_json::from_str(&get_inputs(sway)).expect("GET_INPUTS is JSON");
    inputs
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|i| i["xkb_active_layout_name"].as_str())
        .unwrap_or("")
        .to_string()
}

/// One past the last column the bar on HEADLESS-1 draws, once `ok` takes it.
fn bar_extent(sway: &HeadlessSway, ok: impl Fn(usize) -> bool) -> Option<usize> {
    poll_every(Duration::from_millis(50), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let bg = img.dominant(0, 28);
        let last = (0..img.width)
            .rev()
            .find(|&x| (0..28).any(|y| support::image::diff(img.px(x, y), bg) > 24))
            .map_or(0, |x| x + 1);
        ok(last).then_some(last)
    })
}

#[test]
fn a_virtual_keyboards_layout_switch_is_followed() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[bar]\nleft = [\"language\"]\ncenter = []\nright = []\n[module.language]\nformat = \"{short} {layout}\"\n",
    )
    .unwrap();

    // No keyboard yet (headless Sway has none): hidden.
    assert_eq!(language(&sway), "", "no keyboard, no layout");
    let mut kb =
        support::keyboard::VirtualKeyboard::new(&sway, &["us", "de"]).expect("virtual keyboard");
    poll_every(Duration::from_millis(50), PATIENCE, || {
        (sway_layout(&sway) == "English (US)").then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "Sway never took the keymap: {}\n{}",
            get_inputs(&sway),
            sway.log_tail(30)
        )
    });
    assert_eq!(language(&sway), "us English (US)");

    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let us = bar_extent(&sway, |x| x > 60)
        .unwrap_or_else(|| panic!("the bar never drew the layout\n{}", bar.stderr()));

    sway.swaymsg(&["input", "type:keyboard", "xkb_switch_layout", "next"]);
    kb.sync().expect("keyboard still connected");
    assert_eq!(sway_layout(&sway), "German");
    assert_eq!(language(&sway), "de German");
    // "de German" is narrower than "us English (US)": the bar followed the event.
    let de = bar_extent(&sway, |x| x > 20 && x + 20 < us)
        .unwrap_or_else(|| panic!("the bar did not follow the switch (was {us} px)"));
    eprintln!("bar text ends at {us} px with us, {de} px with de");

    // A click on the module: the next layout, back to English (US).
    let mut pointer = support::pointer::VirtualPointer::new(&sway).expect("virtual pointer");
    pointer.move_to(14, 14).expect("move onto the module");
    pointer.click(support::pointer::BTN_LEFT).expect("click");
    poll_every(Duration::from_millis(50), PATIENCE, || {
        (sway_layout(&sway) == "English (US)").then_some(())
    })
    .unwrap_or_else(|| panic!("the click did not switch the layout\n{}", bar.stderr()));
    bar_extent(&sway, |x| x.abs_diff(us) <= 2)
        .unwrap_or_else(|| panic!("the bar did not follow the click's switch"));
    bar.assert_running();
}

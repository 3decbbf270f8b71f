//! Self-tests of the end-to-end harness, against a bar we did not write
//! (yambar): if these pass, a failing rstat test is about rstat, not about the
//! compositor, the screenshots or the measurements.

mod common;
mod support;

use std::time::Duration;

use support::image::{text_stats, Image};
use support::proc::{wait_for, Guarded};
use support::sway::{tree_nodes, HeadlessSway};

fn can_run(tools: &[&str]) -> bool {
    if !common::need(common::is_root(), "needs root to start Sway as uid 65534") {
        return false;
    }
    tools
        .iter()
        .all(|t| common::need(common::have(t), &format!("needs `{t}` on PATH")))
}

#[test]
fn ppm_reader_parses_header_comments_and_pixels() {
    let mut data = b"P6\n# grim\n3 2\n255\n".to_vec();
    data.extend((0..18).map(|i| i as u8));
    let img = Image::from_ppm(&data).expect("valid PPM");
    assert_eq!((img.width, img.height), (3, 2));
    assert_eq!(img.px(0, 0), [0, 1, 2]);
    assert_eq!(img.px(2, 1), [15, 16, 17]);
    assert!(
        Image::from_ppm(&data[..data.len() - 1]).is_err(),
        "truncated"
    );
    assert!(
        Image::from_ppm(b"P3\n1 1\n255\n0 0 0").is_err(),
        "ASCII PPM"
    );
}

/// The crispness measures tell a native 2× rendering from a 1× one that the
/// compositor scaled up, on synthetic "glyphs": 2-px stems with a soft edge.
#[test]
fn text_stats_tell_upscaled_from_native() {
    let bg = [32u8, 32, 32];
    let mut native = Image {
        width: 64,
        height: 16,
        rgb: bg.repeat(64 * 16),
    };
    let put = |img: &mut Image, x: usize, y: usize, v: u8| {
        let i = (y * img.width + x) * 3;
        img.rgb[i..i + 3].copy_from_slice(&[v, v, v]);
    };
    for stem in 0..6 {
        let x = 4 + stem * 9;
        for y in 3..13 {
            put(&mut native, x, y, 255);
            put(&mut native, x + 1, y, 255);
            put(&mut native, x + 2, y, 120);
        }
    }
    // The same picture at half resolution, then doubled by nearest neighbour.
    let half = Image {
        width: 32,
        height: 8,
        rgb: (0..8)
            .flat_map(|y| (0..32).map(move |x| (x, y)))
            .flat_map(|(x, y)| native.px(x * 2 + 1, y * 2 + 1))
            .collect(),
    };
    let doubled = Image {
        width: 64,
        height: 16,
        rgb: (0..16)
            .flat_map(|y| (0..64).map(move |x| (x, y)))
            .flat_map(|(x, y)| half.px(x / 2, y / 2))
            .collect(),
    };
    let n = text_stats(&native, 0, 16);
    let d = text_stats(&doubled, 0, 16);
    assert!(n.mixed_2x2_share > 0.5, "{n:?}");
    assert_eq!(d.mixed_2x2_share, 0.0, "{d:?}");
}

/// A headless Sway comes up, shows a flat background, and answers IPC.
#[test]
fn harness_sway_starts_and_screenshots() {
    if !can_run(&["sway", "swaymsg", "grim"]) {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let out = sway.output("HEADLESS-1").expect("HEADLESS-1 listed");
    assert_eq!(out["current_mode"]["width"], 1920);
    assert_eq!(out["current_mode"]["height"], 1080);
    let img = sway.screenshot("HEADLESS-1");
    assert_eq!((img.width, img.height), (1920, 1080));
    let bg = img.px(0, 0);
    assert!(
        (0..img.height).all(|y| img.row_is(y, bg)),
        "an empty output is one flat colour"
    );
    let area = sway.usable_area("HEADLESS-1").expect("a visible workspace");
    assert_eq!(
        (area.y, area.height),
        (0, 1080),
        "nothing reserves space yet"
    );
    let err = support::check_bar(&img, 28).expect_err("no bar is running");
    assert!(
        err.contains("no bar") || err.contains("not background"),
        "{err}"
    );
}

/// yambar, a real layer-shell bar, is seen by every check the rstat tests use:
/// the bar in the screenshot, the exclusive zone in the workspace rect, and
/// our test window placed below it.
#[test]
fn harness_sees_yambar() {
    if !can_run(&["sway", "swaymsg", "grim", "yambar"]) {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().to_path_buf();
    let mut bar = Guarded::spawn(
        "yambar",
        &mut support::bars::yambar(&sway, &dir),
        &dir.join("yambar.stderr"),
    );
    let area = wait_for(Duration::from_secs(10), || {
        bar.assert_running();
        sway.usable_area("HEADLESS-1").filter(|a| a.y == 28)
    });
    assert!(
        area.is_some(),
        "yambar's exclusive zone never showed in the workspace rect: {:?}\n{}",
        sway.usable_area("HEADLESS-1"),
        bar.stderr()
    );
    let (_img, stats) = support::wait_for_bar(&sway, "HEADLESS-1", 28, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("yambar's bar not seen: {e}"));
    assert!(stats.first_row < 28 && stats.last_row < 28, "{stats:?}");

    let _window = support::window::TestWindow::open(&sway, "under-yambar").expect("open a window");
    let rect = wait_for(Duration::from_secs(10), || {
        let tree = sway.get_tree();
        tree_nodes(&tree)
            .into_iter()
            .find(|n| n["name"] == "under-yambar")
            .map(|n| support::sway::Rect::from_json(&n["rect"]))
    })
    .expect("the window appears in the tree");
    assert_eq!((rect.y, rect.height), (28, 1052), "window below the bar");
}

/// A nested Sway's second output is removed for real by closing its window in
/// the parent, which the rstat hot-unplug test relies on.
#[test]
fn harness_nested_outputs_come_and_go() {
    if !can_run(&["sway", "swaymsg", "grim"]) {
        return;
    }
    let _lock = support::compositor_lock();
    let outer = HeadlessSway::start();
    let inner = HeadlessSway::start_nested(&outer);
    inner.swaymsg(&["create_output"]);
    wait_for(Duration::from_secs(5), || inner.output("WL-2"))
        .unwrap_or_else(|| inner.fail("create_output did not add WL-2"));
    let img = inner.screenshot("WL-2");
    assert!(img.width > 0 && img.height > 0);
    outer.swaymsg(&["[title=\"WL-2\"] kill"]);
    wait_for(Duration::from_secs(5), || {
        inner.output("WL-2").is_none().then_some(())
    })
    .unwrap_or_else(|| inner.fail("WL-2 still listed after its window was closed"));
    assert!(inner.output("WL-1").is_some(), "WL-1 survives");
}

/// The crispness check the rstat scale-2 test uses accepts a bar that really
/// renders at scale 2 (Waybar does, through GTK; yambar keeps a 28-physical-px
/// bar and 14 px text at any scale), and rejects the same bar's scale-1
/// pixels stretched by nearest-neighbour or bilinear filtering.
#[test]
fn harness_crispness_check_on_waybar() {
    if !can_run(&["sway", "swaymsg", "grim", "waybar"]) {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.runtime_dir().to_path_buf();
    let mut bar = Guarded::spawn(
        "waybar",
        &mut support::bars::waybar(&sway, &dir),
        &dir.join("waybar.stderr"),
    );
    let (img1, s1) = support::wait_for_bar(&sway, "HEADLESS-1", 28, Duration::from_secs(15))
        .unwrap_or_else(|e| panic!("waybar at scale 1: {e}\n{}", bar.stderr()));
    sway.swaymsg(&["output", "HEADLESS-1", "scale", "2"]);
    let (img2, s2) =
        support::wait_for_bar_where(&sway, "HEADLESS-1", 56, Duration::from_secs(10), |s2| {
            support::check_crisp_at_2x(&s1, s2)
        })
        .unwrap_or_else(|e| {
            panic!(
                "waybar at scale 2 (it renders natively there): {e}\n{}",
                bar.stderr()
            )
        });
    bar.assert_running();
    assert_eq!((img2.width, img2.height), (1920, 1080), "physical pixels");
    eprintln!("waybar scale 1: {s1:?}\nwaybar scale 2: {s2:?}");

    // What a bar that ignored the scale would look like: its 1× buffer
    // (the scale-1 band, as wide as the 960-px logical output) stretched.
    let band = img1.crop(0, 0, 960, 28);
    let bilinear = support::image::upscale2_bilinear(&band);
    let nearest = Image {
        width: 1920,
        height: 56,
        rgb: (0..56)
            .flat_map(|y| (0..1920).map(move |x| (x, y)))
            .flat_map(|(x, y)| band.px(x / 2, y / 2))
            .collect(),
    };
    let half = text_stats(&band, 0, 28);
    for (name, img) in [("bilinear", &bilinear), ("nearest", &nearest)] {
        let s = text_stats(img, 0, 56);
        let verdict = support::check_crisp_at_2x(&half, &s);
        eprintln!("{name}: {verdict:?}");
        assert!(verdict.is_err(), "{name} upscale passed as crisp: {s:?}");
    }
}

/// The virtual pointer moves and clicks for real: with two windows side by
/// side, clicking into the one without focus gives it the focus.
#[test]
fn harness_virtual_pointer_clicks_focus_a_window() {
    if !can_run(&["sway", "swaymsg", "grim"]) {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let mut windows = Vec::new();
    for title in ["left", "right"] {
        windows.push(support::window::TestWindow::open(&sway, title).expect("open a window"));
        wait_for(Duration::from_secs(10), || {
            let tree = sway.get_tree();
            tree_nodes(&tree)
                .into_iter()
                .find(|n| n["name"] == title && n["rect"]["width"].as_i64() > Some(0))
                .map(|_| ())
        })
        .unwrap_or_else(|| sway.fail(&format!("window {title:?} never appeared")));
    }
    let focused = |sway: &HeadlessSway| -> Option<String> {
        let tree = sway.get_tree();
        tree_nodes(&tree)
            .into_iter()
            .find(|n| n["focused"] == true)
            .and_then(|n| n["name"].as_str().map(str::to_string))
    };
    assert_eq!(
        focused(&sway).as_deref(),
        Some("right"),
        "the newest window has focus"
    );
    let mut pointer = support::pointer::VirtualPointer::new(&sway).expect("virtual pointer");
    pointer.move_to(480, 540).expect("move");
    pointer.click(support::pointer::BTN_LEFT).expect("click");
    let now = wait_for(Duration::from_secs(5), || {
        focused(&sway).filter(|f| f == "left")
    });
    assert_eq!(
        now.as_deref(),
        Some("left"),
        "the click focused the left window"
    );
    pointer.move_to(1440, 540).expect("move");
    pointer.click(support::pointer::BTN_LEFT).expect("click");
    let now = wait_for(Duration::from_secs(5), || {
        focused(&sway).filter(|f| f == "right")
    });
    assert_eq!(now.as_deref(), Some("right"), "and back");
    let seats = sway.swaymsg(&["-t", "get_seats"]);
    assert!(
        seats.contains("\"pointer\""),
        "a pointer device on the seat: {seats}"
    );
}

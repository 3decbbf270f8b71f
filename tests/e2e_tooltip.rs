//! End-to-end: tooltips in the hover popup. The `rstat` binary in a real
//! headless Sway with a config whose custom script answers in Waybar's JSON
//! (its `tooltip` has markup: a red span, bold text, an entity) and a CPU
//! module with a `tooltip_format` of its own (a green span around a
//! placeholder); a virtual pointer hovers each, and `grim` screenshots must
//! show the popup under the module with the markup's colours drawn (and no
//! tag drawn as text: the popup is only as wide as its plain text).
//!
//! A clock's `tooltip_format` likewise: hovering it shows that text (a
//! green line of strftime) with the month's calendar (`{calendar}`, a
//! magenta grid of six to eight lines) instead of the calendar popup, and
//! `--once --modules` has the same text.
//!
//! Needs root (Sway runs as uid 65534), `sway`, `swaymsg`, `grim`.
//! `RSTAT_WRITE_TOOLTIP_SCREENSHOT=PATH` also writes a PNG of the open
//! tooltip.

mod common;
mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::image::{Image, Rgb};
use support::pointer::VirtualPointer;
use support::proc::{wait_for, Guarded};
use support::sway::HeadlessSway;

const BAR: usize = 28;
const OUTPUT: &str = "HEADLESS-1";
/// How long anything may take to show; targets are far shorter.
const APPEAR: Duration = Duration::from_secs(8);
/// The popup's border: the default accent (`PopupLook::default`), opaque.
const ACCENT: Rgb = [0x89, 0xb4, 0xfa];

fn can_run() -> bool {
    if !common::need(common::is_root(), "needs root to start Sway as uid 65534") {
        return false;
    }
    ["sway", "swaymsg", "grim"]
        .iter()
        .all(|t| common::need(common::have(t), &format!("needs `{t}` on PATH")))
}

/// The config: the script on the left, the CPU module on the right.
fn write_config(sway: &HeadlessSway) -> PathBuf {
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("create the config directory");
    let script = dir.join("tip.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nprintf '%s\\n' '{\"text\": \"TIPTIP\", \"tooltip\": \"<span color=\\\"#ff0000\\\">RED RED RED</span>\\n<b>bold</b> &amp; plain\"}'\n",
    )
    .expect("write the script");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            r##"
[bar]
left = ["custom#tip"]
center = []
right = ["cpu"]

[module."custom#tip"]
exec = ["sh", "{}"]
return_type = "json"
interval_ms = 1000

[module.cpu]
popup = false
tooltip_format = "<span color='#00ff00'>GREEN CPU {{usage:.0}} %</span>"
"##,
            script.display()
        ),
    )
    .expect("write the config");
    config
}

fn start_rstat(sway: &HeadlessSway, config: &std::path::Path, tag: &str) -> Guarded {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs", "--config"]).arg(config);
    cmd.env("RUST_BACKTRACE", "1");
    Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join(format!("rstat-{tag}.stderr")),
    )
}

/// Whether column `x` of the bar holds text.
fn is_text(img: &Image, bg: Rgb, x: usize) -> bool {
    (0..BAR).any(|y| support::image::diff(img.px(x, y), bg) > 60)
}

/// The first and last text columns of the bar's left and right halves.
fn halves(img: &Image) -> Option<((usize, usize), (usize, usize))> {
    let bg = img.dominant(0, BAR);
    let mid = img.width / 2;
    let cols = |r: std::ops::Range<usize>| {
        let xs: Vec<usize> = r.filter(|&x| is_text(img, bg, x)).collect();
        Some((*xs.first()?, *xs.last()?))
    };
    Some((cols(0..mid)?, cols(mid..img.width)?))
}

/// Whether (`x`, `y`) may be covered by the cursor image at `pointer`.
fn under_cursor(pointer: (usize, usize), x: usize, y: usize) -> bool {
    (pointer.0.saturating_sub(4)..pointer.0 + 40).contains(&x)
        && (pointer.1.saturating_sub(4)..pointer.1 + 40).contains(&y)
}

/// The bounding box (x0, y0, x1, y1, exclusive ends) of everything below
/// the bar that is not the wallpaper nor the cursor.
fn below_bar(img: &Image, pointer: (usize, usize)) -> Option<(usize, usize, usize, usize)> {
    let wall = img.px(0, img.height - 1);
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in BAR..img.height {
        for x in 0..img.width {
            if img.px(x, y) != wall && !under_cursor(pointer, x, y) {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    (x0 != usize::MAX).then_some((x0, y0, x1, y1))
}

/// Pixels inside `b` close to `want` (each channel within 60).
fn count_near(img: &Image, b: (usize, usize, usize, usize), want: Rgb) -> usize {
    let (x0, y0, x1, y1) = b;
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.px(x, y);
            if (0..3).all(|k| p[k].abs_diff(want[k]) <= 60) {
                n += 1;
            }
        }
    }
    n
}

/// A popup box with the accent border at its top-left corner.
fn popup_box(img: &Image, pointer: (usize, usize)) -> Option<(usize, usize, usize, usize)> {
    let b = below_bar(img, pointer)?;
    (img.px(b.0, b.1) == ACCENT && b.1 == BAR).then_some(b)
}

/// Hovers (`x`, middle of the bar) until a popup shows `colour`; returns
/// the screenshot and the popup's box.
fn hover_until(
    sway: &HeadlessSway,
    rstat: &mut Guarded,
    pointer: &mut VirtualPointer,
    x: usize,
    colour: Rgb,
) -> (Image, (usize, usize, usize, usize)) {
    let at = (x, BAR / 2);
    let mut wiggle = 0;
    wait_for(APPEAR, || {
        // Moved on every look, a pixel either way inside the module: a
        // first motion sent before the bar bound the seat's new pointer
        // reaches no one, the next one does (and moving within the module
        // does not restart its rest).
        wiggle ^= 1;
        pointer
            .move_to((at.0 + wiggle) as u32, at.1 as u32)
            .expect("move onto the module");
        rstat.assert_running();
        let img = sway.try_screenshot(OUTPUT).ok()?;
        let b = popup_box(&img, at)?;
        (count_near(&img, b, colour) >= 20).then_some((img, b))
    })
    .unwrap_or_else(|| {
        let img = sway.screenshot(OUTPUT);
        let b = below_bar(&img, at);
        panic!(
            "no tooltip with {colour:?} after hovering x={x}: box {b:?}\n--- rstat stderr ---\n{}",
            rstat.stderr()
        )
    })
}

/// Rows (y) inside `b` holding a pixel close to `want`.
fn rows_near(img: &Image, b: (usize, usize, usize, usize), want: Rgb) -> Vec<usize> {
    (b.1..b.3)
        .filter(|&y| count_near(img, (b.0, y, b.2, y + 1), want) > 0)
        .collect()
}

/// Moves the pointer away until nothing is below the bar.
fn leave(sway: &HeadlessSway, pointer: &mut VirtualPointer) {
    pointer.move_to(400, 700).expect("move away");
    wait_for(APPEAR, || {
        let img = sway.try_screenshot(OUTPUT).ok()?;
        below_bar(&img, (400, 700)).is_none().then_some(())
    })
    .unwrap_or_else(|| panic!("the tooltip stayed after the pointer left"));
}

/// Done means: a custom script's JSON tooltip opens on hover with its
/// markup drawn (the red span red, no tags as text), another module's
/// `tooltip_format` likewise, and leaving closes each.
#[test]
fn hovering_shows_the_scripts_json_tooltip_and_a_tooltip_format_with_markup() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let config = write_config(&sway);
    let mut rstat = start_rstat(&sway, &config, "tooltip");
    // Both modules drawn (the script answered, the CPU was sampled).
    let (left, right) = wait_for(APPEAR, || {
        rstat.assert_running();
        halves(&sway.try_screenshot(OUTPUT).ok()?)
    })
    .unwrap_or_else(|| panic!("no bar with both modules\n{}", rstat.stderr()));
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");

    let hx = (left.0 + left.1) / 2;
    let (img, b) = hover_until(&sway, &mut rstat, &mut pointer, hx, [0xff, 0, 0]);
    let (x0, y0, x1, y1) = b;
    eprintln!("script tooltip {x0},{y0} – {x1},{y1}");
    if let Some(path) = std::env::var_os("RSTAT_WRITE_TOOLTIP_SCREENSHOT") {
        let path = std::path::absolute(PathBuf::from(path)).expect("a usable path");
        let geometry = format!("0,0 {}x{}", (x1 + 40).min(img.width), y1 + 8);
        sway.screenshot_png(&geometry, &path)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
    }
    // Two lines of text, under the module.
    assert!(
        x0 <= hx + 1 && hx < x1,
        "under the hovered module (x={hx}): {b:?}"
    );
    let h = y1 - y0;
    assert!((30..80).contains(&h), "two lines tall: {b:?}");
    // "RED RED RED" at 14 px is about 100 px wide; the markup source
    // (`<span color="#ff0000">RED RED RED</span>`) drawn as text would be
    // three times that.
    let w = x1 - x0;
    assert!((80..220).contains(&w), "as wide as the plain text: {b:?}");
    let red = count_near(&img, b, [0xff, 0, 0]);
    let fg = count_near(&img, b, [0xcd, 0xd6, 0xf4]);
    assert!(red >= 40, "the red span is red: {red} pixels");
    assert!(fg >= 40, "the rest in the popup's text colour: {fg} pixels");
    // The red span is the first line only.
    let second = (x0, y0 + h / 2 + 2, x1, y1);
    assert_eq!(
        count_near(&img, second, [0xff, 0, 0]),
        0,
        "the span ends with its tag"
    );
    leave(&sway, &mut pointer);

    let hx = (right.0 + right.1) / 2;
    let (_, b) = hover_until(&sway, &mut rstat, &mut pointer, hx, [0, 0xff, 0]);
    eprintln!("cpu tooltip {b:?}");
    assert!(
        b.0 <= hx + 1 && hx < b.2 && b.2 <= 1920,
        "under the CPU module, on the output: {b:?}"
    );
    leave(&sway, &mut pointer);
    rstat.assert_running();
    let err = rstat.stderr();
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        !err.contains("markup:"),
        "all of it is markup rstat knows: {err}"
    );
}

/// The clock's `tooltip_format` with `{calendar}`: hover shows the
/// template's text and the month's grid in the tooltip popup.
#[test]
fn hovering_a_clock_with_tooltip_format_shows_its_text_and_the_calendar() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("create the config directory");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        r##"
[bar]
left = ["clock"]
center = []
right = []

[module.clock]
format = "CLOCK %H:%M"
tooltip_format = "<span color='#00ff00'>TIME %H:%M {:%Y}</span>\n<span color='#ff00ff'>{calendar}</span>"
"##,
    )
    .expect("write the config");

    // The text, without pixels: `--once --modules` has what hover shows.
    let mut once = sway.client(common::rstat_bin());
    once.args(["--once", "--modules", "--collector", "procfs", "--config"])
        .arg(&config);
    let out =
        support::proc::run(&mut once, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let tip = v["clock"]["segments"][0]["tooltip"]
        .as_str()
        .unwrap_or_else(|| panic!("the clock's tooltip in --once: {v}"))
        .to_string();
    let date = |f: &str| {
        let o = std::process::Command::new("date")
            .arg(f)
            .output()
            .expect("date");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let (lines, year, day) = (tip.lines().collect::<Vec<_>>(), date("+%Y"), date("+%-d"));
    assert!(
        lines[0].starts_with("<span color='#00ff00'>TIME ")
            && lines[0].ends_with(&format!(" {year}</span>")),
        "{tip}"
    );
    assert_eq!(lines[2], "Mo Tu We Th Fr Sa Su", "{tip}");
    assert!(
        (7..=9).contains(&lines.len()),
        "title, header, 4–6 weeks: {tip}"
    );
    assert!(
        tip.contains(&format!("<b><u>{day:>2}</u></b>")) || date("+%H%M") == "0000",
        "today ({day}) marked: {tip}"
    );
    assert!(!tip.contains('{') && !tip.contains('%'), "{tip}");

    let mut rstat = start_rstat(&sway, &config, "clock-tooltip");
    let (left, _) = wait_for(APPEAR, || {
        rstat.assert_running();
        let img = sway.try_screenshot(OUTPUT).ok()?;
        let bg = img.dominant(0, BAR);
        let xs: Vec<usize> = (0..img.width / 2)
            .filter(|&x| is_text(&img, bg, x))
            .collect();
        Some(((*xs.first()?, *xs.last()?), ()))
    })
    .unwrap_or_else(|| panic!("no clock drawn\n{}", rstat.stderr()));
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    let hx = (left.0 + left.1) / 2;
    // The calendar's magenta grid is the larger part: wait for it.
    let (img, b) = hover_until(&sway, &mut rstat, &mut pointer, hx, [0xff, 0, 0xff]);
    eprintln!("clock tooltip {b:?}");
    if let Some(path) = std::env::var_os("RSTAT_WRITE_CLOCK_TOOLTIP_SCREENSHOT") {
        let path = std::path::absolute(PathBuf::from(path)).expect("a usable path");
        let geometry = format!("0,0 {}x{}", (b.2 + 40).min(img.width), b.3 + 8);
        sway.screenshot_png(&geometry, &path)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
    assert!(b.0 <= hx + 1 && hx < b.2, "under the clock (x={hx}): {b:?}");
    let green = rows_near(&img, b, [0, 0xff, 0]);
    let magenta = rows_near(&img, b, [0xff, 0, 0xff]);
    assert!(
        !green.is_empty(),
        "the template's first line is drawn, green"
    );
    let (g1, m0, m1) = (
        green[green.len() - 1],
        magenta[0],
        magenta[magenta.len() - 1],
    );
    // One line of text is about 17 px: the grid spans at least its title,
    // header and four weeks below the green line, all inside the popup.
    assert!(
        g1 < m0,
        "the calendar below the text: green to {g1}, magenta from {m0}"
    );
    assert!(
        m1 - m0 >= 5 * 13,
        "six lines or more of calendar: rows {m0}..{m1}"
    );
    // Twenty monospaced characters wide at least (the weekday header).
    let w = b.2 - b.0;
    assert!((20 * 7..400).contains(&w), "as wide as the grid: {b:?}");
    leave(&sway, &mut pointer);
    rstat.assert_running();
    let err = rstat.stderr();
    assert!(
        !err.contains("panicked") && !err.contains("markup:"),
        "{err}"
    );
}

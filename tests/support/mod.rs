//! The end-to-end harness: a real Sway per test, screenshots, processes with
//! deadlines. Shared by `tests/e2e_*.rs` and `benches/bar_cost.rs`; each
//! includes only what it uses, hence the dead-code allowance.
//!
//! A test, in outline (see `tests/e2e_bar.rs`):
//!
//! ```ignore
//! let _lock = support::compositor_lock();          // one compositor at a time
//! let sway = HeadlessSway::start();                // HEADLESS-1, 1920x1080
//! let mut bar = Guarded::spawn("rstat", &mut sway.client(common::rstat_bin()),
//!                              &sway.runtime_dir().join("rstat.stderr"));
//! let (img, text) = support::wait_for_bar(&sway, "HEADLESS-1", 28, timeout)?;
//! sway.swaymsg(&["output", "HEADLESS-1", "scale", "2"]);
//! let area = sway.usable_area("HEADLESS-1");       // exclusive zones applied
//! let win = support::window::TestWindow::open(&sway, "title")?;
//! let mut ptr = support::pointer::VirtualPointer::new(&sway)?;
//! ptr.move_to(x, y)?; ptr.click(support::pointer::BTN_LEFT)?;
//! bar.signal(libc::SIGUSR1);                       // config reload, toggle
//! // sway.config_home() is the clients' XDG_CONFIG_HOME (empty by default)
//! ```
//!
//! Everything started is killed on drop, and with the test process if that is
//! killed outright. `RSTAT_E2E_KEEP=1` keeps each Sway's directory (its log,
//! the clients' stderr) for a post-mortem.
#![allow(dead_code)]

pub mod dbus;
pub mod image;
pub mod keyboard;
pub mod pointer;
pub mod proc;
pub mod sound;
pub mod sway;
pub mod unwatched;
pub mod window;
pub mod wire;

use std::sync::{Mutex, MutexGuard};

/// Held by every test that starts a compositor. Each Sway has its own runtime
/// directory, so they could run side by side; they take turns because the
/// tests measure time (an exit within a second) and a few 1920×1080 pixman
/// compositors at once on a 2-core machine make that measurement noisy.
pub fn compositor_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    // A test that failed while holding the lock must not fail the others.
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

pub mod bars;

use image::{text_stats, Image, TextStats};

/// Checks that `img` (a whole output) shows a bar of exactly `height` rows
/// across the top: every column of those rows covers the background, the
/// band holds text-like pixels, and every row below is plain background.
/// The background is read from the bottom-left pixel, which nothing covers.
pub fn check_bar(img: &Image, height: usize) -> Result<TextStats, String> {
    let wallpaper = img.px(0, img.height - 1);
    if let Some(y) = (height..img.height).find(|&y| !img.row_is(y, wallpaper)) {
        let x = (0..img.width)
            .find(|&x| img.px(x, y) != wallpaper)
            .unwrap_or(0);
        return Err(format!(
            "row {y} (below the {height}-row bar) is not background {wallpaper:?}: \
             pixel ({x},{y}) is {:?}; bar band measured {} rows",
            img.px(x, y),
            img.top_band_height(wallpaper)
        ));
    }
    let bar_bg = img.dominant(0, height);
    if bar_bg == wallpaper {
        return Err(format!(
            "the top {height} rows are mostly the background colour {wallpaper:?}: no bar"
        ));
    }
    for x in 0..img.width {
        let bare = (0..height).filter(|&y| img.px(x, y) == wallpaper).count();
        if bare > 2 {
            return Err(format!(
                "column {x} of the top {height} rows shows the background in {bare} rows: \
                 the bar does not span the full width ({} px)",
                img.width
            ));
        }
    }
    let stats = text_stats(img, 0, height);
    let area = img.width * height;
    if stats.pixels < 50 || stats.column_runs < 3 || stats.rows < height / 4 {
        return Err(format!(
            "no text-like pixels in the bar (background {bar_bg:?}): {stats:?}"
        ));
    }
    if stats.pixels * 2 > area {
        return Err(format!(
            "over half the bar differs from its own background colour {bar_bg:?}: {stats:?}"
        ));
    }
    Ok(stats)
}

/// Polls screenshots of `output` until [`check_bar`] passes (up to `timeout`),
/// returning the image and its text statistics, or the last failure.
pub fn wait_for_bar(
    sway: &sway::HeadlessSway,
    output: &str,
    height: usize,
    timeout: std::time::Duration,
) -> Result<(Image, TextStats), String> {
    wait_for_bar_where(sway, output, height, timeout, |_| Ok(()))
}

/// [`wait_for_bar`], and also until `also` accepts the text. After a scale
/// change the compositor may show the bar's old buffer stretched for a frame
/// or two before the bar's new one arrives: a test waits that out.
pub fn wait_for_bar_where(
    sway: &sway::HeadlessSway,
    output: &str,
    height: usize,
    timeout: std::time::Duration,
    also: impl Fn(&TextStats) -> Result<(), String>,
) -> Result<(Image, TextStats), String> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let img = sway.try_screenshot(output)?;
        let res = check_bar(&img, height).and_then(|stats| also(&stats).map(|()| stats));
        match res {
            Ok(stats) => return Ok((img, stats)),
            Err(e) if std::time::Instant::now() >= deadline => {
                return Err(format!("after {timeout:?}: {e}"))
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
}

/// Compares a bar's text at output scale 2 (`s2`, physical pixels) with the
/// same bar at scale 1 (`s1`). A bar that sets buffer scale 2 and renders at
/// twice the size has about four times the text pixels, twice the text
/// height, and text as sharp as at scale 1. A 1× buffer that the compositor
/// stretches is as big, but blocky (nearest neighbour: every aligned 2×2
/// block uniform) or blurred (bilinear: far fewer full-contrast pixels).
pub fn check_crisp_at_2x(s1: &TextStats, s2: &TextStats) -> Result<(), String> {
    let area = s2.pixels as f64 / s1.pixels.max(1) as f64;
    let height = (s2.last_row + 1 - s2.first_row) as f64 / (s1.last_row + 1 - s1.first_row) as f64;
    let mut problems = Vec::new();
    if !(2.5..=6.0).contains(&area) {
        problems.push(format!("text pixels ×{area:.2} (expected about ×4)"));
    }
    if !(1.6..=2.5).contains(&height) {
        problems.push(format!("text height ×{height:.2} (expected about ×2)"));
    }
    if s2.mixed_2x2_share < 0.25 {
        problems.push(format!(
            "only {:.0}% of 2×2 blocks on text have detail: a 1× buffer doubled",
            s2.mixed_2x2_share * 100.0
        ));
    }
    if s2.solid_share < s1.solid_share * 0.85 {
        problems.push(format!(
            "full-contrast share fell from {:.2} to {:.2}: blurred, a 1× buffer stretched",
            s1.solid_share, s2.solid_share
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\nscale 1: {s1:?}\nscale 2: {s2:?}",
            problems.join("; ")
        ))
    }
}

//! A bad font on reload keeps the old one, in a real headless Sway: the bar
//! runs with a good font file; the config is saved naming a truncated copy
//! of it, a file that is not a font, and a collection index the file does
//! not have (each edit also changes the text colour, which must not apply
//! either). Each time the bar says so once on stderr, naming the file, and
//! keeps drawing exactly the same pixels; then a good edit (another face)
//! applies.
//!
//! Black box: what a user sees (pixels via `grim`, the bar's stderr), not
//! where the check runs.

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::image::{diff, Image};
use support::proc::{poll_every, Guarded};
use support::sway::HeadlessSway;

const PATIENCE: Duration = Duration::from_secs(15);
const BAR: usize = 28;
const GOOD: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const OTHER: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf";

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
        && common::need(common::have("grim"), "needs grim (apt-get install grim)")
        && [GOOD, OTHER].iter().all(|f| {
            common::need(
                Path::new(f).exists(),
                &format!("needs {f} (fonts-dejavu-core)"),
            )
        })
}

/// A bar of one fixed text (a clock format without conversions) in `font`
/// (a TOML inline table's inside) and `color`.
fn config(font: &str, color: &str) -> String {
    format!(
        "[bar]\nleft = [\"clock\"]\ncenter = []\nright = []\nheight = {BAR}\n\
         font = {{ {font}, size = 16.0 }}\n\
         [bar.colors]\nforeground = \"{color}\"\nbackground = \"#000000\"\n\
         [module.clock]\nformat = \"Reload Wavy Text 0123\"\n"
    )
}

/// Saves `text` the way editors do: a new file renamed over the old.
fn save(path: &Path, text: &str) {
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).expect("write the new config");
    std::fs::rename(&tmp, path).expect("rename it over the config");
}

fn bar_of(img: &Image) -> Image {
    img.crop(0, 0, img.width, BAR)
}

/// Pixels of the bar that differ clearly from its black background.
fn ink(bar: &Image) -> usize {
    (0..bar.height)
        .flat_map(|y| (0..bar.width).map(move |x| (x, y)))
        .filter(|&(x, y)| diff(bar.px(x, y), [0, 0, 0]) > 60)
        .count()
}

fn same(a: &Image, b: &Image) -> bool {
    a.width == b.width && a.height == b.height && a.rgb == b.rgb
}

/// The bar's pixels once two screenshots in a row agree (the first frame
/// drawn and nothing still arriving).
fn settled_bar(sway: &HeadlessSway, bar: &mut Guarded) -> Image {
    let mut last: Option<Image> = None;
    poll_every(Duration::from_millis(150), PATIENCE, || {
        bar.assert_running();
        // The bar's surface is placed (Sway took its exclusive zone): an
        // empty output's background has ink too, and stays the same.
        sway.usable_area("HEADLESS-1")
            .filter(|a| a.y == BAR as i64)?;
        let now = bar_of(&sway.try_screenshot("HEADLESS-1").ok()?);
        let stable = last.as_ref().is_some_and(|l| same(l, &now)) && ink(&now) > 100;
        last = Some(now.clone());
        stable.then_some(now)
    })
    .unwrap_or_else(|| panic!("the bar never settled\n{}", bar.stderr()))
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_bad_font_on_reload_keeps_the_old_font_and_a_good_one_applies() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let fonts: PathBuf = sway.runtime_dir().join("fonts");
    std::fs::create_dir_all(&fonts).expect("create the font directory");
    let good = fonts.join("good.ttf");
    let data = std::fs::read(GOOD).expect("read DejaVuSans.ttf");
    std::fs::write(&good, &data).expect("copy the font");
    let truncated = fonts.join("truncated.ttf");
    std::fs::write(&truncated, &data[..data.len() / 3]).expect("write the truncated font");
    let not_a_font = fonts.join("notes.ttf");
    std::fs::write(&not_a_font, "these are notes, not a font\n".repeat(200)).expect("write");

    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("create the config directory");
    let path = dir.join("config.toml");
    let path_font = |p: &Path| format!("path = \"{}\"", p.display());
    save(&path, &config(&path_font(&good), "#ffffff"));
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    let before = settled_bar(&sway, &mut bar);

    let bad = [
        ("truncated", path_font(&truncated), truncated.clone()),
        ("not a font", path_font(&not_a_font), not_a_font.clone()),
        (
            "no such face index",
            format!("{}, index = 7", path_font(&good)),
            good.clone(),
        ),
    ];
    for (what, font, file) in &bad {
        let said_before = count(&bar.stderr(), "keeping the running");
        save(&path, &config(font, "#ff0000"));
        let log = poll_every(Duration::from_millis(50), PATIENCE, || {
            bar.assert_running();
            let log = bar.stderr();
            (count(&log, "keeping the running") > said_before).then_some(log)
        })
        .unwrap_or_else(|| panic!("{what}: the bad font was never reported\n{}", bar.stderr()));
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            log.contains(name),
            "{what}: the error does not name {name}:\n{log}"
        );
        // Nothing else arrives for the same edit, and the pixels are the
        // old font's, in the old colour.
        std::thread::sleep(Duration::from_millis(1500));
        bar.assert_running();
        let log = bar.stderr();
        assert_eq!(
            count(&log, "keeping the running"),
            said_before + 1,
            "{what}: said more than once:\n{log}"
        );
        let now = bar_of(&sway.screenshot("HEADLESS-1"));
        assert!(
            same(&now, &before),
            "{what}: the bar's pixels changed after a rejected font\n{log}"
        );
    }

    // A good edit applies: another face, the same text and colour.
    let reloads = count(&bar.stderr(), "config reloaded");
    save(&path, &config(&path_font(Path::new(OTHER)), "#ffffff"));
    let after = poll_every(Duration::from_millis(100), PATIENCE, || {
        bar.assert_running();
        let now = bar_of(&sway.try_screenshot("HEADLESS-1").ok()?);
        (!same(&now, &before) && ink(&now) > 100).then_some(now)
    })
    .unwrap_or_else(|| panic!("the good font never showed\n{}", bar.stderr()));
    let log = bar.stderr();
    assert!(
        count(&log, "config reloaded") > reloads,
        "no reload said:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    eprintln!(
        "ink: {} px with DejaVu Sans, {} px with DejaVu Serif\n--- rstat stderr ---\n{log}",
        ink(&before),
        ink(&after)
    );
}

//! Text end to end in a real headless Sway, with the fonts Debian installs
//! (fonts-dejavu-core, fonts-noto-core, fonts-noto-cjk,
//! fonts-noto-color-emoji, fonts-font-awesome): a window title in many
//! scripts is drawn by the window module with no missing-glyph box, the
//! emoji in colour, and as wide as Pango draws the same string with the same
//! family (`pango-view`, within 10%); a `max_chars` cut keeps a combining
//! accent with its letter; a week of new window titles does not grow the bar.

mod common;
mod support;

use std::time::Duration;

use support::image::{diff, Image};
use support::proc::{poll_every, proc_cost, run, Guarded};
use support::sway::HeadlessSway;

const PATIENCE: Duration = Duration::from_secs(15);
const BAR: usize = 28;

/// Latin, CJK, an emoji, Arabic, Devanagari, a combining accent and Font
/// Awesome's battery icon (U+F240, Private Use Area).
const TITLE: &str = "vim — 日本語のテキスト 🚀 مرحبا नमस्ते cafe\u{301} \u{F240} end";

const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf",
];

fn ready() -> bool {
    common::need(common::is_root(), "needs root to start Sway as another uid")
        && common::need(common::have("sway"), "needs sway (apt-get install sway)")
        && common::need(common::have("grim"), "needs grim (apt-get install grim)")
        && FONTS.iter().all(|f| {
            common::need(
                std::path::Path::new(f).exists(),
                &format!("needs {f} (fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji)"),
            )
        })
}

fn write_config(sway: &HeadlessSway, text: &str) {
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("create the config directory");
    std::fs::write(dir.join("config.toml"), text).expect("write the config");
}

const CONFIG: &str = "[bar]\nleft = [\"window\"]\ncenter = []\nright = []\n\
font = { family = [\"DejaVu Sans\"], size = 14.0 }\n\
[bar.colors]\nforeground = \"#ffffff\"\nbackground = \"#000000\"\n\
[module.window]\nmax_chars = 200\n";

/// Columns of the bar (rows 0..BAR) that differ from its background: the
/// title's ink, first and last.
fn ink_span(img: &Image) -> Option<(usize, usize)> {
    let bg = img.dominant(0, BAR);
    let cols: Vec<usize> = (0..img.width)
        .filter(|&x| (0..BAR).any(|y| diff(img.px(x, y), bg) > 40))
        .collect();
    Some((*cols.first()?, *cols.last()?))
}

/// Pixels of the bar that are clearly coloured (the emoji), where the text
/// is white on black: one channel far from another.
fn coloured_pixels(img: &Image) -> usize {
    let mut n = 0;
    for y in 0..BAR {
        for x in 0..img.width {
            let [r, g, b] = img.px(x, y);
            let (hi, lo) = (r.max(g).max(b), r.min(g).min(b));
            if hi > 120 && hi - lo > 80 {
                n += 1;
            }
        }
    }
    n
}

/// The ink width Pango gives `text` in `font` (pango-view's PNG, at 72 dpi
/// so that a pixel size is a pixel size).
fn pango_ink_width(text: &str, font: &str, dir: &std::path::Path) -> Result<usize, String> {
    let png_path = dir.join("pango.png");
    let mut cmd = std::process::Command::new("pango-view");
    cmd.args([
        "-q",
        "--pixels",
        "--margin=0",
        "--font",
        font,
        "--text",
        text,
        "-o",
    ])
    .arg(&png_path);
    let r = run(&mut cmd, Duration::from_secs(30))?;
    if !r.status.success() {
        return Err(format!("pango-view failed: {}", r.stderr));
    }
    let file =
        std::fs::File::open(&png_path).map_err(|e| format!("{}: {e}", png_path.display()))?;
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(|e| format!("pango's PNG: {e}"))?;
    let mut buf = vec![0u8; reader.output_buffer_size().ok_or("PNG too large")?];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|e| format!("pango's PNG: {e}"))?;
    let (w, h) = (frame.width as usize, frame.height as usize);
    let ch = frame.line_size / w.max(1);
    let px = |x: usize, y: usize| &buf[y * frame.line_size + x * ch..][..ch];
    let bg = px(0, 0).to_vec();
    let differs = |p: &[u8]| p.iter().zip(&bg).any(|(a, b)| a.abs_diff(*b) > 40);
    let cols: Vec<usize> = (0..w)
        .filter(|&x| (0..h).any(|y| differs(px(x, y))))
        .collect();
    match (cols.first(), cols.last()) {
        (Some(a), Some(b)) => Ok(b - a + 1),
        _ => Err("pango-view drew nothing".into()),
    }
}

#[test]
fn a_title_in_many_scripts_is_drawn_whole_and_as_wide_as_pango() {
    if !ready()
        || !common::need(
            common::have("pango-view"),
            "needs pango-view (pango1.0-tools)",
        )
    {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(&sway, CONFIG);
    let _w = support::window::TestWindow::open(&sway, TITLE).expect("window");
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let stderr = sway.runtime_dir().join("rstat.stderr");
    let mut bar = Guarded::spawn("rstat", &mut cmd, &stderr);
    // Wait until the title is drawn whole (the emoji's colour shows).
    let img = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        (coloured_pixels(&img) > 20 && ink_span(&img).is_some()).then_some(img)
    })
    .unwrap_or_else(|| {
        panic!(
            "no coloured title drawn\n--- rstat stderr ---\n{}",
            bar.stderr()
        )
    });
    bar.assert_running();
    let log = bar.stderr();
    assert!(
        !log.contains("drawn as a box"),
        "missing-glyph boxes were drawn:\n{log}"
    );
    let (first, last) = ink_span(&img).unwrap();
    let ours = last - first + 1;
    let dir = sway.runtime_dir().to_path_buf();
    let pango = pango_ink_width(TITLE, "DejaVu Sans 14px", &dir).unwrap_or_else(|e| panic!("{e}"));
    let ratio = ours as f64 / pango as f64;
    eprintln!(
        "title ink: rstat {ours} px, Pango {pango} px (ratio {ratio:.3}); coloured pixels {}",
        coloured_pixels(&img)
    );
    assert!(
        (0.9..=1.1).contains(&ratio),
        "rstat {ours} px vs Pango {pango} px"
    );
    drop(bar);

    // `max_chars` counts what a reader counts: the accent stays with its e.
    write_config(
        &sway,
        "[bar]\nleft = [\"window\"]\ncenter = []\nright = []\n[module.window]\nmax_chars = 5\n",
    );
    let _w2 = support::window::TestWindow::open(&sway, "cafe\u{301} noir").expect("window");
    let shown = poll_every(Duration::from_millis(200), PATIENCE, || {
        let mut cmd = sway.client(common::rstat_bin());
        cmd.args(["--once", "--modules", "--collector", "procfs"]);
        let out = run(&mut cmd, Duration::from_secs(20)).ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let text = v.to_string();
        text.contains("cafe").then_some(text)
    })
    .expect("the window module reports the title");
    assert!(shown.contains("cafe\u{301}…"), "{shown}");
}

/// Thousands of window titles of distinct random CJK characters: the glyph
/// cache's budget and the released font pages keep the bar flat.
#[test]
fn ten_thousand_cjk_titles_do_not_grow_the_bar() {
    if !ready() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    write_config(
        &sway,
        "[bar]\nleft = [\"window\"]\ncenter = []\nright = []\n\
         font = { family = [\"Noto Sans CJK JP\"], size = 14.0 }\n[module.window]\nmax_chars = 200\n",
    );
    let w = support::window::TestWindow::open(&sway, "start").expect("window");
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"]);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &sway.runtime_dir().join("rstat.stderr"));
    poll_every(Duration::from_millis(100), PATIENCE, || {
        ink_span(&sway.try_screenshot("HEADLESS-1").ok()?)
    })
    .unwrap_or_else(|| panic!("no title drawn\n{}", bar.stderr()));
    let pid = bar.pid();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut title = String::new();
    let mut send = |n: usize| {
        for _ in 0..n {
            title.clear();
            for _ in 0..12 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // CJK Unified Ideographs: 20,992 code points.
                let c = char::from_u32(0x4E00 + (seed % 20_992) as u32).unwrap();
                title.push(c);
            }
            w.set_raw_title(title.as_bytes()).expect("set the title");
        }
        // Sway has taken the last title (so its event is on the way to the
        // bar: a busy compositor must not make the bar look idle too early)…
        poll_every(Duration::from_millis(50), Duration::from_secs(60), || {
            let tree = sway.get_tree();
            support::sway::tree_nodes(&tree)
                .iter()
                .any(|n| n["name"].as_str() == Some(title.as_str()))
                .then_some(())
        })
        .unwrap_or_else(|| panic!("Sway never showed the title {title:?}"));
        // …then let the bar catch up: until it has used no CPU for 300 ms.
        let mut last = proc_cost(pid).map_or(0, |c| c.cpu_ticks);
        for _ in 0..100 {
            std::thread::sleep(Duration::from_millis(300));
            let now = proc_cost(pid).map_or(0, |c| c.cpu_ticks);
            if now == last {
                break;
            }
            last = now;
        }
        proc_cost(pid).expect("the bar runs").rss_kib
    };
    let after_100 = send(100);
    let mut after = after_100;
    for _ in 0..9 {
        after = send(1100);
    }
    bar.assert_running();
    eprintln!("RSS: {after_100} KiB after 100 CJK titles, {after} KiB after 10,000");
    assert!(
        after <= after_100 + 1024,
        "the bar grew: {after_100} -> {after} KiB"
    );
}

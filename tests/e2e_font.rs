//! Fonts in styles in a real headless Sway, checked in `grim` screenshots:
//! a module with a larger font has taller ink than its neighbour and the
//! bar (no `height` set) grows to fit it, its exclusive zone too; hovering a
//! module whose hover state is bold thickens its text and leaving restores
//! it; a family that is not installed is said once on stderr and drawn in
//! the bar's font.
//!
//! Needs root (Sway runs as uid 65534), `sway`, `swaymsg`, `grim`.

mod common;
mod support;

use std::time::{Duration, Instant};

use support::image::{Image, Rgb};
use support::pointer::VirtualPointer;
use support::proc::Guarded;
use support::sway::HeadlessSway;

const OUTPUT: &str = "HEADLESS-1";
const W: usize = 1000;
/// How long anything may take to show; a loaded CI machine is slow.
const APPEAR: Duration = Duration::from_secs(20);

const BIG: Rgb = [0xc0, 0x20, 0x20];
const SMALL: Rgb = [0x20, 0x50, 0xa0];
const ODD: Rgb = [0x20, 0xa0, 0x50];

const CONFIG: &str = r##"
[bar]
left = ["custom#big", "custom#small", "custom#odd"]
[bar.colors]
background = "#101010"
foreground = "#ffffff"
[bar.style]
padding = [0, 30, 0, 6]
[module."custom#big"]
exec = "echo Hg88"
interval_ms = 60000
[module."custom#big".style]
background = "#c02020"
font = { size = 24 }
[module."custom#small"]
exec = "echo Hg88"
interval_ms = 60000
[module."custom#small".style]
background = "#2050a0"
[module."custom#small".style.hover]
font = { weight = "bold" }
[module."custom#odd"]
exec = "echo Hg88"
interval_ms = 60000
[module."custom#odd".style]
background = "#20a050"
font = { family = "No Such Family Anywhere" }
"##;

fn can_run() -> bool {
    if !common::need(common::is_root(), "needs root to start Sway as uid 65534") {
        return false;
    }
    ["sway", "swaymsg", "grim"]
        .iter()
        .all(|t| common::need(common::have(t), &format!("needs `{t}` on PATH")))
}

/// Polls screenshots until `check` gives a value; panics with the last
/// reason and rstat's stderr after [`APPEAR`].
fn wait_shot<T>(
    sway: &HeadlessSway,
    rstat: &mut Guarded,
    what: &str,
    check: impl Fn(&Image) -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + APPEAR;
    loop {
        rstat.assert_running();
        let img = sway.screenshot(OUTPUT);
        match check(&img) {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => {
                panic!("{what}: {e}\n--- rstat stderr ---\n{}", rstat.stderr())
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The first and last column of row `y` showing exactly `c`.
fn span_of(img: &Image, y: usize, c: Rgb) -> Result<(usize, usize), String> {
    let first = (0..img.width).find(|&x| img.px(x, y) == c);
    let last = (0..img.width).rev().find(|&x| img.px(x, y) == c);
    first
        .zip(last)
        .ok_or_else(|| format!("no {c:02x?} on row {y}"))
}

/// The text of the box coloured `c` (a bar `h` rows high): its inked rows
/// (first, last) and the sum of its ink's brightness, left of the box's
/// 30-column right padding (where the pointer rests).
fn ink(img: &Image, h: usize, c: Rgb) -> Result<(usize, usize, u64), String> {
    let (x0, x1) = span_of(img, 1, c)?;
    let (mut top, mut bottom, mut sum) = (usize::MAX, 0, 0u64);
    for y in 0..h {
        for x in x0..x1.saturating_sub(30) {
            let p = img.px(x, y);
            if p != c {
                top = top.min(y);
                bottom = bottom.max(y);
                sum += p.iter().map(|&v| v as u64).sum::<u64>();
            }
        }
    }
    if sum == 0 {
        return Err(format!("no text in the {c:02x?} box"));
    }
    Ok((top, bottom, sum))
}

#[test]
fn per_module_fonts_in_sway() {
    if !can_run() {
        return;
    }
    // The height the bar must grow to, as the library works it out.
    let cfg = rstat::modules::registry::parse(CONFIG, "font.toml", None).expect("config");
    let mut g = rstat::bar::settings::glyphs(&cfg.bar.font).expect("font");
    rstat::bar::settings::add_style_fonts(&cfg, &mut g);
    let h = rstat::bar::settings::fit_height(&cfg, &mut g) as usize;
    assert!(h > 28, "a 24 px font grows the bar: {h}");

    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start_with(&format!(
        "output {OUTPUT} resolution {W}x400 position 0 0\n"
    ));
    let dir = std::env::temp_dir().join(format!("rstat-font-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let path = dir.join("font.toml");
    std::fs::write(&path, CONFIG).expect("write config");
    let mut cmd = sway.client(common::rstat_bin());
    cmd.arg("--config").arg(&path).env("RUST_BACKTRACE", "1");
    let mut rstat = Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join("rstat-font.stderr"),
    );

    let area = support::proc::wait_for(APPEAR, || {
        sway.usable_area(OUTPUT).filter(|a| a.y as usize == h)
    });
    assert!(
        area.is_some(),
        "windows start below the grown bar ({h} rows): {:?}\n{}",
        sway.usable_area(OUTPUT),
        rstat.stderr()
    );
    let (big, small) = wait_shot(&sway, &mut rstat, "three boxes", |img| {
        // Each box fills the bar's height; the bar ends at row h.
        for c in [BIG, SMALL, ODD] {
            let (x0, _) = span_of(img, 1, c)?;
            if img.px(x0, h - 1) != c || img.px(x0, h) == c {
                return Err(format!("the {c:02x?} box is not {h} rows high"));
            }
        }
        Ok((ink(img, h, BIG)?, ink(img, h, SMALL)?))
    });
    let (bh, sh) = (big.1 - big.0 + 1, small.1 - small.0 + 1);
    assert!(
        bh * 10 >= sh * 14,
        "24 px ink {bh} rows ({big:?}), 14 px ink {sh} rows ({small:?})"
    );
    // Both lines are centred on the bar.
    let mid = |t: usize, b: usize| (t + b) as f32 / 2.0;
    assert!(
        (mid(big.0, big.1) - mid(small.0, small.1)).abs() <= 3.0,
        "{big:?} vs {small:?}"
    );
    // The family that is not installed: said once, drawn as the bar's font.
    let line = "font family `No Such Family Anywhere` is not installed";
    let said = rstat.stderr().matches(line).count();
    assert_eq!(said, 1, "{line:?} once:\n{}", rstat.stderr());
    let img = sway.screenshot(OUTPUT);
    let odd = ink(&img, h, ODD).expect("odd box");
    assert_eq!(
        (odd.0, odd.1),
        (small.0, small.1),
        "the fallback draws like the bar's font"
    );

    // Hover the small box (the pointer in its right padding): bold.
    let img = sway.screenshot(OUTPUT);
    let (_, x1) = span_of(&img, 1, SMALL).expect("small box");
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    pointer
        .move_to(x1 as u32 - 3, (h / 2) as u32)
        .expect("move");
    let bold = wait_shot(&sway, &mut rstat, "bold on hover", |img| {
        let b = ink(img, h, SMALL)?;
        if b.2 * 10 > small.2 * 11 {
            Ok(b)
        } else {
            Err(format!("hovered ink {} vs {}", b.2, small.2))
        }
    });
    assert!(bold.2 > small.2);
    pointer.move_to(500, 300).expect("move away");
    wait_shot(&sway, &mut rstat, "regular again", |img| {
        let b = ink(img, h, SMALL)?;
        if b.2 == small.2 {
            Ok(())
        } else {
            Err(format!("ink {} after leaving, {} before", b.2, small.2))
        }
    });
    drop(pointer);
    rstat.signal(libc::SIGTERM);
    assert!(rstat.wait_exit(APPEAR).is_some(), "rstat exits on SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);
}

//! End-to-end tests: the `rstat` binary in a real headless Sway,
//! a pointer injected with the wlr virtual-pointer protocol (our helper in
//! `support::pointer`, kept connected while screenshots are taken: Sway
//! drops the pointer, and any hover, when its client goes), the popup seen
//! in `grim` screenshots, and a click seen through a file its command writes.
//!
//! Needs root (Sway runs as uid 65534), `sway`, `swaymsg`, `grim`.
//! `RSTAT_WRITE_POPUP_SCREENSHOT=PATH` also writes a PNG of the open popup
//! (`tests/screenshots/popup.png` is made this way), and
//! `RSTAT_WRITE_CALENDAR_SCREENSHOT=PATH` one of the clock's calendar
//! (`tests/screenshots/calendar.png`).

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::image::{Image, Rgb};
use support::pointer::{VirtualPointer, BTN_LEFT, BTN_RIGHT};
use support::proc::{wait_for, Guarded};
use support::sway::HeadlessSway;

const BAR: usize = 28;
const OUTPUT: &str = "HEADLESS-1";
/// How long anything may take to show; targets are far shorter.
const APPEAR: Duration = Duration::from_secs(5);
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

/// A directory with a fake `foot` (the right-click command the tests
/// configure is `foot btop`, the config's suggestion) that writes its
/// arguments to `foot.out` next to it. Root
/// owns it, so rstat (root without CAP_DAC_OVERRIDE) may run and write there.
struct FakeBin {
    dir: PathBuf,
}

impl FakeBin {
    fn new() -> FakeBin {
        use std::os::unix::fs::PermissionsExt;
        // One directory per test: tests run in parallel, and each removes
        // its directory when done.
        static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("rstat-popup-bin-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create fake bin dir");
        let out = dir.join("foot.out");
        let script = dir.join("foot");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" > {}.tmp && mv {0}.tmp {0}\n",
                out.display()
            ),
        )
        .expect("write fake foot");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .expect("chmod fake foot");
        FakeBin { dir }
    }

    fn out(&self) -> PathBuf {
        self.dir.join("foot.out")
    }
}

impl Drop for FakeBin {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts rstat with `bin` first in its PATH; a test that wrote no config
/// gets the clock and health layout these tests hover.
fn start_rstat(sway: &HeadlessSway, bin: &Path, tag: &str) -> Guarded {
    if !sway.config_home().join("rstat/config.toml").exists() {
        sway.write_rstat_config(common::CLOCK_HEALTH);
    }
    let mut cmd = sway.client(common::rstat_bin());
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    cmd.env("PATH", std::env::join_paths(dirs).expect("PATH joins"));
    cmd.env("RUST_BACKTRACE", "1");
    Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join(format!("rstat-{tag}.stderr")),
    )
}

/// The bar's screenshot once it is up.
fn wait_bar(sway: &HeadlessSway, rstat: &mut Guarded) -> Image {
    rstat.assert_running();
    let (img, _) = support::wait_for_bar(sway, OUTPUT, BAR, APPEAR)
        .unwrap_or_else(|e| panic!("no bar: {e}\n--- rstat stderr ---\n{}", rstat.stderr()));
    img
}

/// Whether column `x` of the bar holds text.
fn is_text(img: &Image, bg: Rgb, x: usize) -> bool {
    (0..BAR).any(|y| support::image::diff(img.px(x, y), bg) > 60)
}

/// The run of text columns around text column `seed`: (first, last),
/// walking both ways over gaps between glyphs and words (< 20 px).
fn text_run(img: &Image, seed: usize) -> (usize, usize) {
    let bg = img.dominant(0, BAR);
    let walk = |step: isize| {
        let (mut end, mut x, mut gap) = (seed, seed as isize, 0);
        while gap < 20 {
            x += step;
            if x < 0 || x as usize >= img.width {
                break;
            }
            if is_text(img, bg, x as usize) {
                end = x as usize;
                gap = 0;
            } else {
                gap += 1;
            }
        }
        end
    };
    (walk(-1), walk(1))
}

/// Columns of the bar holding text: (first, last) of the rightmost run of
/// text, i.e. the health module's last segment (it sits on the right).
fn rightmost_text(img: &Image) -> (usize, usize) {
    let bg = img.dominant(0, BAR);
    let last = (0..img.width)
        .rev()
        .find(|&x| is_text(img, bg, x))
        .expect("text on the bar");
    text_run(img, last)
}

/// Columns of the centred module's text (the clock, by default): the run
/// of text nearest the middle of the bar.
fn centre_text(img: &Image) -> (usize, usize) {
    let bg = img.dominant(0, BAR);
    let mid = img.width / 2;
    let seed = (0..mid)
        .flat_map(|d| [mid - d, mid + d])
        .find(|&x| x < img.width && is_text(img, bg, x))
        .expect("text near the middle of the bar");
    text_run(img, seed)
}

/// Whether (`x`, `y`) may be covered by the cursor image at `pointer`
/// (screenshots include the cursor).
fn under_cursor(pointer: (usize, usize), x: usize, y: usize) -> bool {
    (pointer.0.saturating_sub(4)..pointer.0 + 40).contains(&x)
        && (pointer.1.saturating_sub(4)..pointer.1 + 40).contains(&y)
}

/// The bounding box (x0, y0, x1, y1, exclusive ends) of everything below the
/// bar that is not the wallpaper (nor the cursor at `pointer`), or `None`
/// when there is nothing.
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

/// Checks the popup's box: a full accent border on all four sides (so
/// nothing of it is cut off by the output's edge) and text inside. Pixels
/// within 40 px right/below of `pointer` are skipped: the cursor image,
/// which screenshots include, may cover the border there.
fn check_popup(
    img: &Image,
    b: (usize, usize, usize, usize),
    pointer: (usize, usize),
) -> Result<(), String> {
    let (x0, y0, x1, y1) = b;
    let under_cursor = |x: usize, y: usize| under_cursor(pointer, x, y);
    if x1 - x0 < 100 || y1 - y0 < 100 {
        return Err(format!("popup box {b:?} too small"));
    }
    for x in x0..x1 {
        for y in [y0, y1 - 1] {
            if img.px(x, y) != ACCENT && !under_cursor(x, y) {
                return Err(format!("border pixel ({x},{y}) is {:?}", img.px(x, y)));
            }
        }
    }
    for y in y0..y1 {
        for x in [x0, x1 - 1] {
            if img.px(x, y) != ACCENT && !under_cursor(x, y) {
                return Err(format!("border pixel ({x},{y}) is {:?}", img.px(x, y)));
            }
        }
    }
    let inner = img.crop(x0 + 1, y0 + 1, x1 - x0 - 2, y1 - y0 - 2);
    let bg = inner.px(1, 1);
    let text = inner.count_foreground(0, inner.height, bg, 60);
    if text < 500 {
        return Err(format!("only {text} text pixels in the popup"));
    }
    Ok(())
}

/// Done means: hovering the health module makes a popup appear below the
/// module; at the right edge of the output it stays fully on screen; moving
/// away makes it disappear.
#[test]
fn hover_opens_the_popup_below_the_module_and_leaving_closes_it() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let bin = FakeBin::new();
    let mut rstat = start_rstat(&sway, &bin.dir, "hover");
    let img = wait_bar(&sway, &mut rstat);
    assert!(
        below_bar(&img, (0, 0)).is_none(),
        "nothing below the bar yet"
    );
    let (first, last) = rightmost_text(&img);
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");

    let hx = ((first + last) / 2) as u32;
    // Passing over the module quicker than the hover delay opens nothing.
    pointer
        .move_to(hx, (BAR / 2) as u32)
        .expect("move onto the module");
    std::thread::sleep(Duration::from_millis(50));
    pointer.move_to(400, 700).expect("move away");
    std::thread::sleep(Duration::from_millis(700));
    let img = sway.screenshot(OUTPUT);
    assert_eq!(
        below_bar(&img, (400, 700)),
        None,
        "a quick pass opens no popup"
    );

    let hovered = Instant::now();
    pointer
        .move_to(hx, (BAR / 2) as u32)
        .expect("move onto the module");
    let (img, b) = wait_for(APPEAR, || {
        rstat.assert_running();
        let img = sway.try_screenshot(OUTPUT).ok()?;
        let b = below_bar(&img, (0, 0))?;
        check_popup(&img, b, (hx as usize, BAR / 2)).ok()?;
        Some((img, b))
    })
    .unwrap_or_else(|| {
        let img = sway.screenshot(OUTPUT);
        let b = below_bar(&img, (0, 0));
        panic!(
            "no whole popup after hovering x={hx} for {APPEAR:?}: box {b:?}, {:?}\n--- rstat stderr ---\n{}",
            b.map(|b| check_popup(&img, b, (hx as usize, BAR / 2))),
            rstat.stderr()
        )
    });
    let shown_after = hovered.elapsed();
    let (x0, y0, x1, y1) = b;
    if let Some(path) = std::env::var_os("RSTAT_WRITE_POPUP_SCREENSHOT") {
        // The bar's right half and the popup, as a user sees them.
        let path = std::path::absolute(PathBuf::from(path)).expect("a usable path");
        let geometry = format!("960,0 960x{}", y1 + 8);
        sway.screenshot_png(&geometry, &path)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
    }
    eprintln!("popup {x0},{y0} – {x1},{y1} after {shown_after:?} (screenshot polling)");
    assert!(
        shown_after >= Duration::from_millis(250),
        "the popup waits for the hover delay: {shown_after:?}"
    );
    assert_eq!(y0, BAR, "the popup starts right below the bar");
    assert!(x1 <= img.width && x0 > 0, "fully on the output: {b:?}");
    assert!(
        x0 <= hx as usize && (hx as usize) < x1,
        "below the hovered module (x={hx}): {b:?}"
    );
    assert!(
        x1 >= last,
        "a module at the right edge opens leftwards, ending at the module's right end: {b:?}, text ends at {last}"
    );

    // Into the popup: it stays open (the grace lets the pointer travel).
    let inside = ((x0 + x1) / 2, (y0 + y1) / 2);
    pointer
        .move_to(inside.0 as u32, inside.1 as u32)
        .expect("move into the popup");
    std::thread::sleep(Duration::from_millis(600));
    let img = sway.screenshot(OUTPUT);
    assert_eq!(
        below_bar(&img, inside),
        Some(b),
        "still open with the pointer on it"
    );

    // Away: it disappears.
    let left = Instant::now();
    pointer.move_to(400, 700).expect("move away");
    wait_for(APPEAR, || {
        let img = sway.try_screenshot(OUTPUT).ok()?;
        below_bar(&img, (400, 700)).is_none().then_some(())
    })
    .unwrap_or_else(|| panic!("the popup stayed after the pointer left"));
    eprintln!("popup gone {:?} after leaving", left.elapsed());
    rstat.assert_running();
    assert!(!rstat.stderr().contains("panicked"), "{}", rstat.stderr());
}

/// Done means: a click runs the configured command (observable through a
/// file the command writes). The config file gives the health module
/// `on_right_click = ["foot", "btop"]`; a fake `foot` early in rstat's PATH
/// records it. A left
/// click has no default action and runs nothing, but closes the open popup,
/// which then stays closed while the pointer rests on the module.
#[test]
fn right_click_on_the_health_module_runs_its_command() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let bin = FakeBin::new();
    let cfg = sway.config_home().join("rstat");
    std::fs::create_dir_all(&cfg).expect("config dir");
    std::fs::write(
        cfg.join("config.toml"),
        common::clock_health("[module.health]\non_right_click = [\"foot\", \"btop\"]\n"),
    )
    .expect("write config");
    let mut rstat = start_rstat(&sway, &bin.dir, "click");
    let img = wait_bar(&sway, &mut rstat);
    let (first, last) = rightmost_text(&img);
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    let at = ((first + last) / 2, BAR / 2);
    pointer
        .move_to(at.0 as u32, at.1 as u32)
        .expect("move onto the module");
    wait_for(APPEAR, || below_bar(&sway.try_screenshot(OUTPUT).ok()?, at))
        .unwrap_or_else(|| panic!("no popup\n--- rstat stderr ---\n{}", rstat.stderr()));
    // A click closes the popup, and it stays closed while the pointer rests
    // on the module (no reopen loop).
    pointer.click(BTN_LEFT).expect("left click");
    wait_for(APPEAR, || {
        below_bar(&sway.try_screenshot(OUTPUT).ok()?, at)
            .is_none()
            .then_some(())
    })
    .unwrap_or_else(|| panic!("a click did not close the popup"));
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(
        below_bar(&sway.screenshot(OUTPUT), at),
        None,
        "the popup reopened under a resting pointer after a click"
    );
    assert!(!bin.out().exists(), "a left click has no default action");
    let clicked = Instant::now();
    pointer.click(BTN_RIGHT).expect("right click");
    let got = wait_for(APPEAR, || std::fs::read_to_string(bin.out()).ok()).unwrap_or_else(|| {
        panic!(
            "the right-click command never ran\n--- rstat stderr ---\n{}",
            rstat.stderr()
        )
    });
    eprintln!("command ran {:?} after the click", clicked.elapsed());
    assert_eq!(got.trim(), "btop");
    // The child was reaped: no zombie left under rstat.
    let zombies = wait_for(APPEAR, || {
        let kids = support::proc::descendants(rstat.pid());
        kids.iter()
            .all(|k| {
                std::fs::read_to_string(format!("/proc/{k}/stat"))
                    .map(|s| !s.contains(") Z "))
                    .unwrap_or(true)
            })
            .then_some(())
    });
    assert!(zombies.is_some(), "the action's child was never reaped");
    rstat.assert_running();
}

/// VmRSS and its parts (anonymous, file, shared memory), KiB.
fn rss(pid: u32) -> [u64; 4] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    ["VmRSS:", "RssAnon:", "RssFile:", "RssShmem:"].map(|key| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    })
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// The real binary through whole hover cycles (open seen, close seen): its
/// descriptors and resident memory stay where the first popup left them
/// (the popup's pool is made once and reused; the in-process test counts
/// heap bytes over a thousand cycles).
#[test]
fn hover_cycles_leave_rstats_fds_and_memory_unchanged() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let bin = FakeBin::new();
    let mut rstat = start_rstat(&sway, &bin.dir, "cycles");
    let img = wait_bar(&sway, &mut rstat);
    let (first, last) = rightmost_text(&img);
    let pid = rstat.pid();
    // Past the first ticks, so the sampler's buffers have settled.
    std::thread::sleep(Duration::from_millis(2500));
    let before = rss(pid);
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    let on = (((first + last) / 2) as u32, (BAR / 2) as u32);
    let off = (400u32, 700u32);
    let mut hold = Duration::from_millis(2500);
    let mut cycle = |rstat: &mut Guarded| {
        pointer.move_to(on.0, on.1).expect("move on");
        wait_for(APPEAR, || {
            below_bar(
                &sway.try_screenshot(OUTPUT).ok()?,
                (on.0 as usize, on.1 as usize),
            )
        })
        .unwrap_or_else(|| panic!("no popup\n--- rstat stderr ---\n{}", rstat.stderr()));
        // The first popup stays open over two ticks, so both of its buffers
        // have been drawn into (their pages touched) before the comparison.
        std::thread::sleep(std::mem::take(&mut hold));
        pointer.move_to(off.0, off.1).expect("move off");
        wait_for(APPEAR, || {
            below_bar(
                &sway.try_screenshot(OUTPUT).ok()?,
                (off.0 as usize, off.1 as usize),
            )
            .is_none()
            .then_some(())
        })
        .unwrap_or_else(|| panic!("popup stayed"));
    };
    cycle(&mut rstat);
    cycle(&mut rstat);
    let (fds1, mem1) = (fd_count(pid), rss(pid));
    for _ in 0..10 {
        cycle(&mut rstat);
    }
    let (fds2, mem2) = (fd_count(pid), rss(pid));
    eprintln!(
        "rstat [VmRSS, RssAnon, RssFile, RssShmem] KiB: {before:?} before any pointer, \
         {mem1:?} after 2 popups, {mem2:?} after 12; fds {fds1} -> {fds2}"
    );
    assert_eq!(fds2, fds1, "descriptors leaked over 10 popups");
    // A page or two of slack: the sampler's own buffers may still settle.
    assert!(
        mem2[0] <= mem1[0] + 64,
        "RSS grew from {mem1:?} to {mem2:?} KiB over 10 popups"
    );
    rstat.assert_running();
}

/// Hiding the bar (SIGUSR1) while the popup is open takes the popup with
/// it (its parent surface goes) without an error, and the bar comes back
/// working: the pointer resting on the module opens the popup again.
#[test]
fn hiding_the_bar_takes_the_open_popup_with_it() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let bin = FakeBin::new();
    let mut rstat = start_rstat(&sway, &bin.dir, "hide");
    let img = wait_bar(&sway, &mut rstat);
    let (first, last) = rightmost_text(&img);
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    let at = ((first + last) / 2, BAR / 2);
    let open = |sway: &HeadlessSway| below_bar(&sway.try_screenshot(OUTPUT).ok()?, at);
    pointer.move_to(at.0 as u32, at.1 as u32).expect("move");
    wait_for(APPEAR, || open(&sway)).expect("popup opens");
    rstat.signal(libc::SIGUSR1);
    wait_for(APPEAR, || {
        let img = sway.try_screenshot(OUTPUT).ok()?;
        let wall = img.px(0, img.height - 1);
        // No bar (the top rows are wallpaper but for the cursor) and no popup.
        let bar_gone = (0..img.width)
            .filter(|&x| !under_cursor(at, x, 1))
            .all(|x| img.px(x, 1) == wall);
        (bar_gone && below_bar(&img, at).is_none()).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "bar and popup not hidden\n--- rstat stderr ---\n{}",
            rstat.stderr()
        )
    });
    rstat.assert_running();
    rstat.signal(libc::SIGUSR1);
    // The bar comes back under the resting pointer, which enters it: the
    // popup opens again after the hover delay.
    wait_for(APPEAR, || open(&sway))
        .unwrap_or_else(|| panic!("no popup after showing the bar again\n{}", rstat.stderr()));
    rstat.assert_running();
    assert!(!rstat.stderr().contains("panicked"), "{}", rstat.stderr());
}

/// The longest horizontal run of `ACCENT` pixels strictly inside the popup
/// box `b` (its border excluded): the calendar's inverted "today" cell is
/// one, the process tables have none (accent only in their title text).
fn accent_box(img: &Image, b: (usize, usize, usize, usize)) -> usize {
    let (x0, y0, x1, y1) = b;
    let mut best = 0;
    for y in y0 + 2..y1 - 2 {
        let mut run = 0;
        for x in x0 + 2..x1 - 2 {
            run = if img.px(x, y) == ACCENT { run + 1 } else { 0 };
            best = best.max(run);
        }
    }
    best
}

/// Hovering the clock (centred, its `popup` on by default) opens
/// the month calendar below it, whole on the output, with today's cell
/// inverted (a solid accent box); moving away closes it.
#[test]
fn hovering_the_clock_opens_the_calendar_and_leaving_closes_it() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let bin = FakeBin::new();
    let mut rstat = start_rstat(&sway, &bin.dir, "calendar");
    let img = wait_bar(&sway, &mut rstat);
    let (first, last) = centre_text(&img);
    let (hfirst, _) = rightmost_text(&img);
    assert!(
        last < hfirst,
        "the clock ({first}..{last}) is left of the health module"
    );
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    let at = ((first + last) / 2, BAR / 2);
    pointer
        .move_to(at.0 as u32, at.1 as u32)
        .expect("move onto the clock");
    let (img, b) = wait_for(APPEAR, || {
        rstat.assert_running();
        let img = sway.try_screenshot(OUTPUT).ok()?;
        let b = below_bar(&img, (0, 0))?;
        check_popup(&img, b, at).ok()?;
        Some((img, b))
    })
    .unwrap_or_else(|| {
        let img = sway.screenshot(OUTPUT);
        let b = below_bar(&img, (0, 0));
        panic!(
            "no whole calendar after hovering the clock at {at:?}: box {b:?}, {:?}\n--- rstat stderr ---\n{}",
            b.map(|b| check_popup(&img, b, at)),
            rstat.stderr()
        )
    });
    let (x0, y0, x1, y1) = b;
    eprintln!("calendar {x0},{y0} – {x1},{y1}");
    if let Some(path) = std::env::var_os("RSTAT_WRITE_CALENDAR_SCREENSHOT") {
        let path = std::path::absolute(PathBuf::from(path)).expect("a usable path");
        let geometry = format!("{},0 {}x{}", x0.saturating_sub(40), x1 - x0 + 80, y1 + 8);
        sway.screenshot_png(&geometry, &path)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
    }
    assert_eq!(y0, BAR, "the calendar starts right below the bar");
    assert!(
        x0 <= at.0 && at.0 < x1,
        "below the clock (x={}): {b:?}",
        at.0
    );
    // Centred under the clock (give or take the border and rounding).
    let (mid, clock_mid) = ((x0 + x1) as isize / 2, (first + last) as isize / 2);
    assert!(
        (mid - clock_mid).abs() <= 4,
        "centred under the clock ({first}..{last}): {b:?}"
    );
    assert!(x1 <= img.width, "fully on the output: {b:?}");
    // The calendar, not the process tables: narrower, and today inverted.
    assert!(x1 - x0 < 260, "a calendar's width, not the tables': {b:?}");
    let today = accent_box(&img, b);
    assert!(
        today >= 16,
        "today's cell is an accent box ({today} px wide)"
    );

    // Away: it disappears.
    pointer.move_to(400, 700).expect("move away");
    wait_for(APPEAR, || {
        let img = sway.try_screenshot(OUTPUT).ok()?;
        below_bar(&img, (400, 700)).is_none().then_some(())
    })
    .unwrap_or_else(|| panic!("the calendar stayed after the pointer left"));

    // From the clock straight to the health module: its tables replace the
    // calendar (each popup module opens its own).
    pointer
        .move_to(at.0 as u32, at.1 as u32)
        .expect("back onto the clock");
    wait_for(APPEAR, || below_bar(&sway.try_screenshot(OUTPUT).ok()?, at))
        .unwrap_or_else(|| panic!("no calendar the second time"));
    let (hfirst, hlast) = rightmost_text(&img);
    let h = ((hfirst + hlast) / 2, BAR / 2);
    pointer
        .move_to(h.0 as u32, h.1 as u32)
        .expect("move onto health");
    wait_for(APPEAR, || {
        let img = sway.try_screenshot(OUTPUT).ok()?;
        let b = below_bar(&img, (0, 0))?;
        (b.2 - b.0 >= 260 && b.0 <= h.0 && accent_box(&img, b) < 16).then_some(())
    })
    .unwrap_or_else(|| {
        panic!(
            "the health popup did not replace the calendar\n{}",
            rstat.stderr()
        )
    });
    rstat.assert_running();
    assert!(!rstat.stderr().contains("panicked"), "{}", rstat.stderr());
}

/// A clock at the right edge (config `right = ["clock"]`) opens its
/// calendar leftwards, fully on the output.
#[test]
fn a_clock_at_the_right_edge_keeps_its_calendar_on_screen() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let bin = FakeBin::new();
    let cfg = sway.config_home().join("rstat");
    std::fs::create_dir_all(&cfg).expect("config dir");
    std::fs::write(
        cfg.join("config.toml"),
        "[bar]\ncenter = []\nright = [\"clock\"]\n",
    )
    .expect("write config");
    let mut rstat = start_rstat(&sway, &bin.dir, "calendar-edge");
    let img = wait_bar(&sway, &mut rstat);
    let (first, last) = rightmost_text(&img);
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    let at = ((first + last) / 2, BAR / 2);
    pointer
        .move_to(at.0 as u32, at.1 as u32)
        .expect("move onto the clock");
    let (img, b) = wait_for(APPEAR, || {
        let img = sway.try_screenshot(OUTPUT).ok()?;
        let b = below_bar(&img, (0, 0))?;
        check_popup(&img, b, at).ok()?;
        Some((img, b))
    })
    .unwrap_or_else(|| panic!("no whole calendar at the right edge\n{}", rstat.stderr()));
    assert!(b.2 <= img.width && b.0 > 0, "fully on the output: {b:?}");
    assert!(b.0 <= at.0 && at.0 < b.2, "below the clock: {b:?}");
    assert!(accent_box(&img, b) >= 16, "the calendar, today inverted");
    rstat.assert_running();
}

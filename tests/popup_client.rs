//! With the test itself as the Wayland client (the library's
//! `Bars` in a real headless Sway), which lets it count what a binary could
//! not show, and place popups where the default layout never puts them:
//!
//! - opening and closing the popup a thousand times leaks nothing: live heap
//!   bytes (a counting global allocator), open file descriptors, and shm
//!   pools created (one, reused by every popup);
//! - the positioner keeps the popup on screen: under a top bar it hangs
//!   down, over a bottom bar it opens upwards, at the left end it grows
//!   rightwards and at the right end leftwards (`grim` screenshots).
//!
//! Needs root (Sway runs as uid 65534), `sway`, and `grim` for the second.

mod common;
mod support;

use std::time::{Duration, Instant};

use rstat::render::{GlyphCache, Rect};
use rstat::wayland::{Bars, Edge, SurfaceConfig};
use support::image::{Image, Rgb};
use support::sway::HeadlessSway;

#[global_allocator]
static GLOBAL: common::alloc::Counting = common::alloc::Counting;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Points this process's Wayland clients at `sway`. Both tests take the
/// compositor lock first, so no other test thread reads the environment
/// while it changes, and only Rust code (which locks it) reads it at all.
fn use_sway(sway: &HeadlessSway) {
    for (k, v) in sway.env() {
        std::env::set_var(k, v);
    }
}

fn can_run(tools: &[&str]) -> bool {
    common::need(common::is_root(), "needs root to start Sway as uid 65534")
        && ["sway"]
            .iter()
            .chain(tools)
            .all(|t| common::need(common::have(t), &format!("needs `{t}` on PATH")))
}

#[test]
fn opening_and_closing_the_popup_1000_times_leaks_nothing() {
    if !can_run(&[]) {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    use_sway(&sway);
    let (mut bars, _conn, mut queue) =
        Bars::connect(SurfaceConfig::default(), GlyphCache::with_default_font())
            .unwrap_or_else(|e| panic!("connect: {e:?}"));
    let mut until = |bars: &mut Bars, what: &str, f: &dyn Fn(&Bars) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        // At least one roundtrip: what was sent is handled, its answers read.
        loop {
            queue.roundtrip(bars).expect("roundtrip");
            if f(bars) {
                break;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
        }
    };
    until(&mut bars, "a configured bar", &|b| {
        b.first_configured_bar().is_some()
    });
    let bar = bars.first_configured_bar().expect("a bar");
    // At the right end of the bar, like the health module.
    let anchor = Rect::new(1800, 0, 116, 28);
    let mut cycle = |bars: &mut Bars| {
        let commits = bars.popup_stats().commits;
        bars.open_popup(bar, anchor);
        until(bars, "the popup's first frame", &|b| {
            b.popup_shown() && b.popup_stats().commits > commits
        });
        bars.close_popup();
        until(bars, "the close to reach the compositor", &|_| true);
    };
    // Warm-up: first-use caches (glyphs at the popup's size, the pool).
    for _ in 0..20 {
        cycle(&mut bars);
    }
    let (fds0, live0) = (open_fds(), common::alloc::live_bytes());
    let t0 = Instant::now();
    for i in 0..1000 {
        cycle(&mut bars);
        if std::env::var_os("RSTAT_LEAK_TRACE").is_some() && i % 100 == 0 {
            eprintln!("cycle {i}: live heap {}", common::alloc::live_bytes());
        }
    }
    let per = t0.elapsed() / 1000;
    let (fds1, live1) = (open_fds(), common::alloc::live_bytes());
    let stats = bars.popup_stats();
    eprintln!(
        "1000 open/close cycles: {per:?} each; fds {fds0} -> {fds1}; live heap {live0} -> {live1} bytes; {stats:?}"
    );
    assert_eq!(stats.opened, 1020);
    assert_eq!(stats.pools, 1, "one shm pool, reused by every popup");
    assert_eq!(fds1, fds0, "file descriptors leaked");
    assert!(
        live1 - live0 < 4096,
        "live heap grew by {} bytes over 1000 cycles",
        live1 - live0
    );

    // Closed for long enough, the pool is given back (its memfd closed);
    // the next popup makes a new one and shows as before.
    bars.release_idle_popup_pool(Instant::now(), Duration::from_secs(30));
    assert_eq!(bars.popup_stats().pools_released, 0, "kept while recent");
    bars.release_idle_popup_pool(
        Instant::now() + Duration::from_secs(31),
        Duration::from_secs(30),
    );
    queue.roundtrip(&mut bars).expect("roundtrip");
    assert_eq!(bars.popup_stats().pools_released, 1);
    assert!(open_fds() < fds1, "the pool's descriptor is closed");
    let commits = bars.popup_stats().commits;
    bars.open_popup(bar, anchor);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(bars.popup_shown() && bars.popup_stats().commits > commits) {
        assert!(
            Instant::now() < deadline,
            "no popup after the pool was given back"
        );
        queue.roundtrip(&mut bars).expect("roundtrip");
    }
    assert_eq!(bars.popup_stats().pools, 2);
}

/// The popup's border colour (`PopupLook::default().accent`), opaque.
const ACCENT: Rgb = [0x89, 0xb4, 0xfa];

/// The box (x0, y0, x1, y1; ends exclusive) of the accent-coloured pixels
/// outside the bar's rows `bar_rows`, after checking they form a complete
/// border (every pixel of the box's edges is accent: nothing cut off).
fn popup_box(img: &Image, bar_rows: std::ops::Range<usize>) -> Result<[usize; 4], String> {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in (0..img.height).filter(|y| !bar_rows.contains(y)) {
        for x in 0..img.width {
            if img.px(x, y) == ACCENT {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
    }
    if x0 == usize::MAX {
        return Err("no popup".into());
    }
    let edges = (x0..x1)
        .flat_map(|x| [(x, y0), (x, y1 - 1)])
        .chain((y0..y1).flat_map(|y| [(x0, y), (x1 - 1, y)]));
    for (x, y) in edges {
        if img.px(x, y) != ACCENT {
            return Err(format!("border broken at ({x},{y}): {:?}", img.px(x, y)));
        }
    }
    Ok([x0, y0, x1, y1])
}

#[test]
fn the_popup_stays_on_screen_at_either_end_of_a_top_or_bottom_bar() {
    if !can_run(&["grim"]) {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    use_sway(&sway);
    const H: i32 = 28;
    for edge in [Edge::Top, Edge::Bottom] {
        let cfg = SurfaceConfig {
            edge,
            ..SurfaceConfig::default()
        };
        let (mut bars, _conn, mut queue) = Bars::connect(cfg, GlyphCache::with_default_font())
            .unwrap_or_else(|e| panic!("connect: {e:?}"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while bars.first_configured_bar().is_none() {
            assert!(Instant::now() < deadline, "no bar configured");
            queue.roundtrip(&mut bars).expect("roundtrip");
        }
        let bar = bars.first_configured_bar().expect("a bar");
        // A module at the very left, and one at the very right (1920 wide).
        for (name, anchor) in [
            ("left", Rect::new(4, 0, 100, H)),
            ("right", Rect::new(1816, 0, 100, H)),
        ] {
            bars.open_popup(bar, anchor);
            while !bars.popup_shown() {
                assert!(
                    Instant::now() < deadline + Duration::from_secs(10),
                    "popup never shown"
                );
                queue.roundtrip(&mut bars).expect("roundtrip");
            }
            // The frame was committed while dispatching: send it.
            queue.roundtrip(&mut bars).expect("roundtrip");
            let bar_rows = match edge {
                Edge::Top => 0..H as usize,
                Edge::Bottom => 1080 - H as usize..1080,
            };
            let got = support::proc::wait_for(Duration::from_secs(5), || {
                let img = sway.try_screenshot("HEADLESS-1").ok()?;
                popup_box(&img, bar_rows.clone()).ok()
            })
            .unwrap_or_else(|| {
                let img = sway.screenshot("HEADLESS-1");
                panic!(
                    "{edge:?} bar, {name} module: {:?}",
                    popup_box(&img, bar_rows.clone())
                )
            });
            let [x0, y0, x1, y1] = got;
            eprintln!("{edge:?} bar, {name} module: popup {x0},{y0} – {x1},{y1}");
            match edge {
                Edge::Top => assert_eq!(y0, H as usize, "hangs from the top bar"),
                Edge::Bottom => assert_eq!(y1, 1080 - H as usize, "opens upwards"),
            }
            match name {
                "left" => assert_eq!(x0, 4, "starts at the module's left end"),
                _ => assert_eq!(x1, 1916, "ends at the module's right end"),
            }
            assert!(x1 <= 1920 && y1 <= 1080);
            bars.close_popup();
            queue.roundtrip(&mut bars).expect("roundtrip");
        }
    }
}

/// A test can set any module's actions: scroll and middle click on a
/// segment run its module's commands (directly, and through `sh -c` when
/// given as a line), through the real pointer path (virtual pointer →
/// Sway → `wl_pointer` → hit test → hover → launcher), children reaped.
#[test]
fn scroll_and_clicks_run_the_module_commands_a_test_sets() {
    use rstat::bar::hover::{Actions, Hover, HoverOptions};
    use rstat::exec::CommandLine;
    use rstat::render::{Align, Rgba, Segment, Style};
    use support::pointer::{VirtualPointer, BTN_MIDDLE};

    if !can_run(&[]) {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    use_sway(&sway);
    let dir = std::env::temp_dir().join(format!("rstat-popup-actions-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let log = dir.join("log");
    let line = |word: &str| format!("echo {word} >> {}", log.display());
    // What the module that wrote segment 0 would say (the bar asks the
    // config's module instance; the test answers itself).
    let actions = Actions {
        on_scroll_up: Some(CommandLine::Shell(line("up"))),
        on_scroll_down: Some(CommandLine::Exec(vec![
            "/bin/sh".into(),
            "-c".into(),
            line("down"),
        ])),
        on_middle_click: Some(CommandLine::Shell(line("middle"))),
        ..Actions::default()
    };
    let command = |segment: usize, gesture, _spot| {
        (segment == 0)
            .then(|| actions.for_gesture(gesture).cloned())
            .flatten()
    };
    let mut hover = Hover::new(HoverOptions::default());

    let (mut bars, _conn, mut queue) =
        Bars::connect(SurfaceConfig::default(), GlyphCache::with_default_font())
            .unwrap_or_else(|e| panic!("connect: {e:?}"));
    let seg = Segment::new(
        "VOLUME 42%",
        Style {
            fg: Rgba::hex(0xffffffff),
            bg: None,
            ..Style::default()
        },
        Align::Right,
    );
    bars.set_segments(&[seg]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while bars.first_configured_bar().is_none() {
        assert!(Instant::now() < deadline, "no bar configured");
        queue.roundtrip(&mut bars).expect("roundtrip");
    }
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    // The segment ends at the right margin: 4 px from the output's edge.
    pointer.move_to(1905, 14).expect("move");
    let mut turn = |bars: &mut Bars| {
        queue.roundtrip(bars).expect("roundtrip");
        hover.process(Instant::now(), bars, &command);
        hover.running()
    };
    let count = |word: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == word)
            .count()
    };
    turn(&mut bars);
    // Sway 1.7 drops the first axis frame of a new virtual pointer (seen
    // whichever the direction): prime it, and count from what it left.
    pointer.scroll(1).expect("priming scroll");
    for _ in 0..10 {
        turn(&mut bars);
        std::thread::sleep(Duration::from_millis(50));
    }
    let primed = count("down");
    pointer.scroll(-1).expect("scroll up");
    turn(&mut bars);
    pointer.scroll(2).expect("scroll down");
    turn(&mut bars);
    pointer.click(BTN_MIDDLE).expect("middle click");
    turn(&mut bars);
    let got = support::proc::wait_for(Duration::from_secs(5), || {
        let running = turn(&mut bars);
        let done = count("up") == 1 && count("down") == primed + 2 && count("middle") == 1;
        (done && running == 0).then_some(())
    });
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        got.is_some(),
        "commands run: {text:?} (or children not reaped)"
    );
}

/// At output scale 2 the popup's buffer is drawn at twice the size with
/// buffer scale 2: on screen it covers exactly its buffer's pixels (a 1×
/// buffer stretched, or a 2× buffer shown at scale 1, would not), and its
/// border is two physical pixels thick.
#[test]
fn at_scale_2_the_popup_is_drawn_at_twice_the_size() {
    use rstat::render::popup::{PopupLook, PopupRenderer};
    if !can_run(&["grim"]) {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    sway.swaymsg(&["output", "HEADLESS-1", "scale", "2"]);
    use_sway(&sway);
    let (mut bars, _conn, mut queue) =
        Bars::connect(SurfaceConfig::default(), GlyphCache::with_default_font())
            .unwrap_or_else(|e| panic!("connect: {e:?}"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while bars.first_configured_bar().is_none() {
        assert!(Instant::now() < deadline, "no bar configured");
        queue.roundtrip(&mut bars).expect("roundtrip");
    }
    let bar = bars.first_configured_bar().expect("a bar");
    bars.open_popup(bar, Rect::new(856, 0, 100, 28));
    while !bars.popup_shown() {
        assert!(Instant::now() < deadline, "popup never shown");
        queue.roundtrip(&mut bars).expect("roundtrip");
    }
    queue.roundtrip(&mut bars).expect("roundtrip");
    let mut g = GlyphCache::with_default_font();
    let mut r = PopupRenderer::new(PopupLook::default(), &mut g);
    r.set_scale(2, &mut g);
    let (w, h) = r.size();
    let [x0, y0, x1, y1] = support::proc::wait_for(Duration::from_secs(5), || {
        popup_box(&sway.try_screenshot("HEADLESS-1").ok()?, 0..56).ok()
    })
    .unwrap_or_else(|| panic!("no whole popup at scale 2"));
    eprintln!("scale 2: popup {x0},{y0} – {x1},{y1}, buffer {w}x{h}");
    assert_eq!(
        (x1 - x0, y1 - y0),
        (w as usize, h as usize),
        "one buffer pixel per screen pixel"
    );
    assert_eq!(
        (y0, x1),
        (56, 1912),
        "under the 28-px bar, ending at the module's right end"
    );
    let img = sway.screenshot("HEADLESS-1");
    assert_eq!(img.px(x0 + 1, y0 + h as usize / 2), ACCENT, "a 2-px border");
    assert_ne!(img.px(x0 + 2, y0 + h as usize / 2), ACCENT);
}

/// The clock's calendar popup through the real protocol. Open, it
/// commits a frame only when its day changes (the tick writes the same
/// month and day every minute: nothing), never for the health tables'
/// content; the health popup opened after it shows the tables again.
#[test]
fn the_calendar_popup_redraws_only_when_the_day_changes() {
    use rstat::render::calendar::CalendarContent;
    use rstat::render::popup::PopupContent;
    use rstat::wayland::popup::PopupKind;
    if !can_run(&[]) {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    use_sway(&sway);
    let (mut bars, _conn, mut queue) =
        Bars::connect(SurfaceConfig::default(), GlyphCache::with_default_font())
            .unwrap_or_else(|e| panic!("connect: {e:?}"));
    let mut until = |bars: &mut Bars, what: &str, f: &dyn Fn(&Bars) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            queue.roundtrip(bars).expect("roundtrip");
            if f(bars) {
                break;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
        }
    };
    until(&mut bars, "a configured bar", &|b| {
        b.first_configured_bar().is_some()
    });
    let bar = bars.first_configured_bar().expect("a bar");
    let day = |d| CalendarContent::new(2026, 11, d);
    bars.set_calendar_content(&day(24));
    bars.open_popup_of(bar, PopupKind::Calendar, Rect::new(900, 0, 120, 28));
    assert_eq!(bars.popup_kind(), Some(PopupKind::Calendar));
    until(&mut bars, "the calendar's first frame", &|b| {
        b.popup_shown()
    });
    let shown = bars.popup_stats().commits;
    // A day of minute ticks, and the health tables changing each one.
    let mut tables = PopupContent::default();
    for i in 0..1440u32 {
        bars.set_calendar_content(&day(24));
        tables.tables[0].rows[0].pid = i + 1;
        bars.set_popup_content(&tables);
    }
    until(&mut bars, "the compositor to catch up", &|_| true);
    assert_eq!(bars.popup_stats().commits, shown, "no frame for nothing");
    // Midnight: one frame.
    bars.set_calendar_content(&day(25));
    until(&mut bars, "the new day's frame", &|b| {
        b.popup_stats().commits == shown + 1
    });
    until(&mut bars, "nothing more", &|_| true);
    assert_eq!(bars.popup_stats().commits, shown + 1);
    // The health popup after it: the tables, in a pool of their size.
    let pools = bars.popup_stats().pools;
    let commits = bars.popup_stats().commits;
    bars.open_popup(bar, Rect::new(1800, 0, 116, 28));
    assert_eq!(bars.popup_kind(), Some(PopupKind::Tables));
    until(&mut bars, "the tables' first frame", &|b| {
        b.popup_shown() && b.popup_stats().commits > commits
    });
    assert_eq!(bars.popup_stats().pools, pools + 1);
    bars.close_popup();
    assert_eq!(bars.popup_kind(), None);
}

//! Themes in a real headless Sway, checked in `grim` screenshots pixel by
//! pixel against what the config says: rounded islands at the positions
//! their margins give, a custom script's class restyling its module and
//! back, hovering a module (a virtual pointer) restyling it and leaving
//! restoring it, a group's shared box and a drawer opening on hover and
//! closing when the pointer leaves, one opening leftwards by click and
//! closing by a second click, a drawer sliding over its `transition_ms`
//! (frames spread over it, ending on the instant drawer's pixels, none
//! while idle), a plain bar and a floating rounded one
//! (transparent corners, the gap to the edge, the exclusive zone).
//!
//! Needs root (Sway runs as uid 65534), `sway`, `swaymsg`, `grim`.
//! `RSTAT_WRITE_THEME_SCREENSHOTS=DIR` also writes a PNG of each theme's
//! bar there (the README's `tests/screenshots/theme-*.png` are made so).

mod common;
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use support::image::{Image, Rgb};
use support::pointer::VirtualPointer;
use support::proc::Guarded;
use support::sway::HeadlessSway;

const OUTPUT: &str = "HEADLESS-1";
const W: usize = 1000;
/// How long anything may take to show; a loaded CI machine is slow.
const APPEAR: Duration = Duration::from_secs(20);

fn can_run() -> bool {
    if !common::need(common::is_root(), "needs root to start Sway as uid 65534") {
        return false;
    }
    ["sway", "swaymsg", "grim"]
        .iter()
        .all(|t| common::need(common::have(t), &format!("needs `{t}` on PATH")))
}

fn sway() -> HeadlessSway {
    HeadlessSway::start_with(&format!(
        "output {OUTPUT} resolution {W}x400 position 0 0\n"
    ))
}

/// A scratch directory for configs and script state, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("rstat-style-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("create scratch dir");
        Scratch(d)
    }
    fn put(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        // Written whole and renamed: a script never reads half a file.
        let tmp = self.0.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).expect("write scratch file");
        std::fs::rename(&tmp, &p).expect("rename scratch file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn start(sway: &HeadlessSway, config: &Path, tag: &str) -> Guarded {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.arg("--config").arg(config).env("RUST_BACKTRACE", "1");
    Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join(format!("rstat-{tag}.stderr")),
    )
}

/// Polls screenshots until `check` accepts one; panics with the last reason
/// and rstat's stderr after [`APPEAR`].
fn wait_shot(
    sway: &HeadlessSway,
    rstat: &mut Guarded,
    what: &str,
    check: impl Fn(&Image) -> Result<(), String>,
) -> Image {
    let deadline = Instant::now() + APPEAR;
    loop {
        rstat.assert_running();
        let img = sway.screenshot(OUTPUT);
        match check(&img) {
            Ok(()) => return img,
            Err(e) if Instant::now() >= deadline => {
                panic!("{what}: {e}\n--- rstat stderr ---\n{}", rstat.stderr())
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn rgb(hex: u32) -> Rgb {
    [(hex >> 16) as u8, (hex >> 8) as u8, hex as u8]
}

/// The first and last column of row `y` showing exactly `c`.
fn span_of(img: &Image, y: usize, c: Rgb) -> Option<(usize, usize)> {
    let first = (0..img.width).find(|&x| img.px(x, y) == c)?;
    let last = (0..img.width).rev().find(|&x| img.px(x, y) == c)?;
    Some((first, last))
}

fn expect_px(img: &Image, x: usize, y: usize, c: Rgb, what: &str) -> Result<(), String> {
    let got = img.px(x, y);
    if got == c {
        Ok(())
    } else {
        Err(format!("{what}: ({x}, {y}) is {got:02x?}, want {c:02x?}"))
    }
}

/// Writes the bar's region as a PNG when the environment asks for it.
fn keep_screenshot(sway: &HeadlessSway, name: &str, height: usize) {
    let Some(dir) = std::env::var_os("RSTAT_WRITE_THEME_SCREENSHOTS") else {
        return;
    };
    let path = Path::new(&dir).join(format!("theme-{name}.png"));
    if let Err(e) = sway.screenshot_png(&format!("0,0 {W}x{height}"), &path) {
        panic!("writing {}: {e}", path.display());
    }
}

const ISLAND_BAR: u32 = 0x101010;
const ISLAND: u32 = 0x2050a0;
const ISLAND_HOVER: u32 = 0x20a050;
const ALARM: u32 = 0xc02020;
const GROUP: u32 = 0x806020;

/// Done means: rounded islands at the positions and in the colours the
/// config gives; a script's class restyles its module and back; hovering a
/// module restyles it and moving away restores it; a group's members sit on
/// one shared box.
#[test]
fn islands_states_and_hover_restyle_in_sway() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = sway();
    let dir = Scratch::new("islands");
    let state = dir.put("state.json", "{\"text\": \"state\"}\n");
    let config = dir.put(
        "config.toml",
        &format!(
            r##"
[bar]
height = 30
spacing = 0
padding = 0
left = ["custom#calm", "custom#state"]
right = ["group#isl"]
[bar.colors]
background = "#{ISLAND_BAR:06x}"
foreground = "#ffffff"
[bar.style]
background = "#{ISLAND:06x}"
radius = 8
margin = [3, 4]
padding = [0, 10]
[bar.style.hover]
background = "#{ISLAND_HOVER:06x}"
[module."custom#calm"]
exec = "echo calm"
interval_ms = 60000
[module."custom#state"]
exec = ["cat", "{}"]
return_type = "json"
interval_ms = 200
[module."custom#state".style.alarm]
background = "#{ALARM:06x}"
[module."group#isl"]
modules = ["custom#g1", "custom#g2"]
[module."group#isl".style]
background = "#{GROUP:06x}"
radius = 10
padding = [0, 6]
[module."custom#g1"]
exec = "echo g1"
interval_ms = 60000
[module."custom#g2"]
exec = "echo g2"
interval_ms = 60000
"##,
            state.display()
        ),
    );
    let mut rstat = start(&sway, &config, "islands");
    let mid = 15;
    let (bar, island, group) = (rgb(ISLAND_BAR), rgb(ISLAND), rgb(GROUP));
    // Three islands of the style's colour: calm, state, and the group's two.
    let img = wait_shot(&sway, &mut rstat, "islands", |img| {
        let (l, r) = span_of(img, mid, island).ok_or("no island colour on the bar")?;
        // The first island starts after its left margin (4 px, bar colour
        // before it); the group's box reaches the right edge.
        expect_px(img, 3, mid, bar, "margin before the first island")?;
        expect_px(img, 4, mid, island, "first island's left edge")?;
        if l != 4 {
            return Err(format!("first island starts at {l}"));
        }
        expect_px(img, W - 1, mid, group, "the group's box at the right end")?;
        // g2's island ends before the group's padding (6) and its margin (4).
        expect_px(img, W - 11, mid, island, "g2's island")?;
        expect_px(img, W - 10, mid, group, "the group's padding after g2")?;
        if r != W - 11 {
            return Err(format!("last island ends at {r}"));
        }
        Ok(())
    });
    // Between calm's and state's islands: the two margins (4 + 4) of bar
    // (text is never exactly the bar's colour, and sits inside padding).
    let gap_start = (4..W).find(|&x| img.px(x, mid) == bar).expect("calm ends");
    let gap_end = (gap_start..W)
        .find(|&x| img.px(x, mid) != bar)
        .expect("state starts");
    assert_eq!(gap_end - gap_start, 8, "8 columns between islands");
    assert_eq!(img.px(gap_end, mid), island, "state's island after the gap");
    let state_left = gap_end;
    // Rounded: the island's top-left corner pixel shows the bar; top
    // margin rows show the bar above it.
    assert_eq!(img.px(4, 3), bar, "calm's rounded corner");
    assert_eq!(img.px(20, 1), bar, "calm's top margin");
    assert_eq!(img.px(20, 4), island, "calm's top edge, past the corner");
    // The group's box runs between g1 and g2 (their margins) and above them.
    let g1g2 = (W / 2..W - 11).filter(|&x| img.px(x, 5) == group).count();
    assert!(g1g2 >= 8, "the group's colour between its members: {g1g2}");
    assert_eq!(
        img.px(W - 30, 1),
        group,
        "the group's box above its members"
    );
    keep_screenshot(&sway, "islands", 30);

    // The script says `alarm`: its island turns red, the others stay.
    dir.put(
        "state.json",
        "{\"text\": \"state\", \"class\": \"alarm\"}\n",
    );
    wait_shot(&sway, &mut rstat, "alarm state", |img| {
        expect_px(
            img,
            state_left + 2,
            mid,
            rgb(ALARM),
            "state's island in alarm",
        )?;
        expect_px(img, 6, mid, island, "calm's island unchanged")
    });
    dir.put("state.json", "{\"text\": \"state\"}\n");
    wait_shot(&sway, &mut rstat, "state back to normal", |img| {
        expect_px(img, state_left + 2, mid, island, "state's island back")
    });

    // Hover calm's island: it alone takes the hover colour; leave: back.
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    // The pointer at the island's right end: the cursor (drawn right of
    // and below its hot spot) covers nothing sampled.
    pointer
        .move_to(gap_start as u32 - 3, mid as u32)
        .expect("move");
    wait_shot(&sway, &mut rstat, "hover restyle", |img| {
        expect_px(img, 6, mid, rgb(ISLAND_HOVER), "hovered island")?;
        expect_px(img, state_left + 2, mid, island, "the other island")
    });
    pointer.move_to(500, 300).expect("move away");
    wait_shot(&sway, &mut rstat, "hover left", |img| {
        expect_px(img, 6, mid, island, "island restored")
    });
    drop(pointer);
}

const DRAWER_BAR: u32 = 0x181818;
const DRAWER: u32 = 0x404040;
const DRAWER_HOVER: u32 = 0xa04040;
const X_BOX: u32 = 0x2080c0;
const Y_BOX: u32 = 0x20c080;
const AFTER: u32 = 0xc0c020;

/// Done means: a drawer shows its first member only, opens the rest when
/// hovered (its box restyled by `hover`), and closes when the pointer
/// leaves; the module after it moves with it.
#[test]
fn a_drawer_opens_on_hover_and_closes_on_leave_in_sway() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = sway();
    let dir = Scratch::new("drawer");
    let config = dir.put(
        "config.toml",
        &format!(
            r##"
[bar]
height = 30
spacing = 0
padding = 0
left = ["group#d", "custom#after"]
[bar.colors]
background = "#{DRAWER_BAR:06x}"
[module."group#d"]
modules = ["custom#lead", "custom#x", "custom#y"]
drawer = true
[module."group#d".style]
background = "#{DRAWER:06x}"
padding = [0, 4]
[module."group#d".style.hover]
background = "#{DRAWER_HOVER:06x}"
[module."custom#lead"]
exec = "echo LEAD"
interval_ms = 60000
[module."custom#x"]
exec = "echo x"
interval_ms = 60000
[module."custom#x".style]
background = "#{X_BOX:06x}"
margin = [3, 2]
[module."custom#y"]
exec = "echo y"
interval_ms = 60000
[module."custom#y".style]
background = "#{Y_BOX:06x}"
margin = [3, 2]
[module."custom#after"]
exec = "echo after"
interval_ms = 60000
[module."custom#after".style]
background = "#{AFTER:06x}"
"##
        ),
    );
    let mut rstat = start(&sway, &config, "drawer");
    let mid = 15;
    let closed = |img: &Image| -> Result<usize, String> {
        expect_px(img, 1, 2, rgb(DRAWER), "the closed drawer's box")?;
        if span_of(img, mid, rgb(X_BOX)).is_some() || span_of(img, mid, rgb(Y_BOX)).is_some() {
            return Err("a hidden member shows".into());
        }
        span_of(img, 2, rgb(AFTER))
            .map(|(l, _)| l)
            .ok_or_else(|| "no `after` module".into())
    };
    let img = wait_shot(&sway, &mut rstat, "closed drawer", |img| {
        closed(img).map(|_| ())
    });
    let after_closed = closed(&img).expect("closed");
    let (_, drawer_end) = span_of(&img, 2, rgb(DRAWER)).expect("drawer box");
    assert_eq!(drawer_end + 1, after_closed, "`after` follows the drawer");
    keep_screenshot(&sway, "drawer-closed", 30);

    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    pointer
        .move_to(10, mid as u32)
        .expect("move onto the handle");
    let img = wait_shot(&sway, &mut rstat, "open drawer", |img| {
        let (xl, xr) = span_of(img, mid, rgb(X_BOX)).ok_or("x not shown")?;
        let (yl, _) = span_of(img, mid, rgb(Y_BOX)).ok_or("y not shown")?;
        if xr >= yl {
            return Err(format!("x ({xl}..{xr}) should come before y ({yl})"));
        }
        expect_px(img, 1, 2, rgb(DRAWER_HOVER), "the hovered group's box")?;
        // x's margin (2) shows the group's box around it.
        expect_px(img, xl - 1, mid, rgb(DRAWER_HOVER), "group box before x")
    });
    let (after_open, _) = span_of(&img, 2, rgb(AFTER)).expect("after");
    assert!(
        after_open > after_closed,
        "`after` moves right as the drawer opens: {after_closed} -> {after_open}"
    );
    keep_screenshot(&sway, "drawer-open", 30);
    // Over another member it stays open.
    let (xl, _) = span_of(&img, mid, rgb(X_BOX)).expect("x");
    pointer
        .move_to(xl as u32 + 3, mid as u32)
        .expect("move onto x");
    std::thread::sleep(Duration::from_millis(300));
    let img = wait_shot(&sway, &mut rstat, "still open", |img| {
        span_of(img, mid, rgb(X_BOX))
            .map(|_| ())
            .ok_or_else(|| "closed over a member".into())
    });
    assert_eq!(img.px(1, 2), rgb(DRAWER_HOVER));
    pointer.move_to(500, 300).expect("move away");
    wait_shot(&sway, &mut rstat, "closed again", |img| {
        let a = closed(img)?;
        if a != after_closed {
            return Err(format!("`after` at {a}, was {after_closed}"));
        }
        Ok(())
    });
    drop(pointer);
}

const LEAD_BOX: u32 = 0xc04080;

/// A drawer that opens by click: hovering does nothing, a click on its
/// first member opens the others to its left (`transition_left_to_right =
/// false`), it stays open when the pointer leaves, and a second click
/// closes it.
#[test]
fn a_click_drawer_opens_leftwards_and_closes_on_a_second_click_in_sway() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = sway();
    let dir = Scratch::new("click-drawer");
    let config = dir.put(
        "config.toml",
        &format!(
            r##"
[bar]
height = 30
spacing = 0
padding = 0
right = ["group#d"]
[bar.colors]
background = "#{DRAWER_BAR:06x}"
[module."group#d"]
modules = ["custom#lead", "custom#x"]
drawer = {{ click_to_reveal = true, transition_left_to_right = false }}
[module."custom#lead"]
exec = "echo LEAD"
interval_ms = 60000
[module."custom#lead".style]
background = "#{LEAD_BOX:06x}"
[module."custom#x"]
exec = "echo x"
interval_ms = 60000
[module."custom#x".style]
background = "#{X_BOX:06x}"
"##
        ),
    );
    let mut rstat = start(&sway, &config, "click-drawer");
    let mid = 15;
    let img = wait_shot(&sway, &mut rstat, "closed click drawer", |img| {
        expect_px(img, W - 1, 2, rgb(LEAD_BOX), "the handle at the right end")?;
        match span_of(img, 2, rgb(X_BOX)) {
            Some(s) => Err(format!("x shows at {s:?}")),
            None => Ok(()),
        }
    });
    let (lead_left, _) = span_of(&img, 2, rgb(LEAD_BOX)).expect("handle");
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    let at = ((lead_left + W) / 2) as u32;
    pointer
        .move_to(at, mid as u32)
        .expect("move onto the handle");
    // Hovering alone opens nothing: the bar has had time to redraw a hover
    // (it restyles nothing here) and still shows no x.
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        span_of(&sway.screenshot(OUTPUT), 2, rgb(X_BOX)).is_none(),
        "hover opened a click drawer"
    );
    pointer.click(support::pointer::BTN_LEFT).expect("click");
    let img = wait_shot(&sway, &mut rstat, "drawer opened by click", |img| {
        let (_, xr) = span_of(img, 2, rgb(X_BOX)).ok_or("x not shown")?;
        let (ll, _) = span_of(img, 2, rgb(LEAD_BOX)).ok_or("no handle")?;
        if xr + 1 != ll {
            return Err(format!(
                "x should end where the handle starts: {xr} vs {ll}"
            ));
        }
        Ok(())
    });
    let (lead_open, _) = span_of(&img, 2, rgb(LEAD_BOX)).expect("handle");
    assert_eq!(lead_open, lead_left, "the handle stays at the right end");
    pointer.move_to(100, 300).expect("move away");
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        span_of(&sway.screenshot(OUTPUT), 2, rgb(X_BOX)).is_some(),
        "leaving closed a click drawer"
    );
    pointer
        .move_to(at, mid as u32)
        .expect("back onto the handle");
    pointer.click(support::pointer::BTN_LEFT).expect("click");
    wait_shot(
        &sway,
        &mut rstat,
        "drawer closed by a second click",
        |img| match span_of(img, 2, rgb(X_BOX)) {
            Some(s) => Err(format!("x still shows at {s:?}")),
            None => Ok(()),
        },
    );
    drop(pointer);
}

/// The drawer of [`a_sliding_drawer_draws_frames_over_its_transition_then_none_in_sway`].
fn slide_config(ms: u32) -> String {
    format!(
        r##"
[bar]
height = 30
spacing = 0
padding = 0
left = ["group#d", "custom#after"]
[bar.colors]
background = "#{DRAWER_BAR:06x}"
[module."group#d"]
modules = ["custom#lead", "custom#x", "custom#y"]
drawer = {{ transition_ms = {ms} }}
[module."group#d".style]
background = "#{DRAWER:06x}"
padding = [0, 4]
radius = 6
[module."custom#lead"]
exec = "echo LEAD"
interval_ms = 60000
[module."custom#x"]
exec = "echo xxxxxxxx"
interval_ms = 60000
[module."custom#x".style]
background = "#{X_BOX:06x}"
margin = [3, 2]
[module."custom#y"]
exec = "echo yyyyyyyy"
interval_ms = 60000
[module."custom#y".style]
background = "#{Y_BOX:06x}"
margin = [3, 2]
[module."custom#after"]
exec = "echo after"
interval_ms = 60000
[module."custom#after".style]
background = "#{AFTER:06x}"
"##
    )
}

/// A bar whose protocol log (`WAYLAND_DEBUG=client`) is its stderr.
fn start_logged(sway: &HeadlessSway, config: &Path, tag: &str) -> Guarded {
    let mut cmd = sway.client(common::rstat_bin());
    cmd.arg("--config")
        .arg(config)
        .env("RUST_BACKTRACE", "1")
        .env("WAYLAND_DEBUG", "client");
    Guarded::spawn(
        "rstat",
        &mut cmd,
        &sway.runtime_dir().join(format!("rstat-{tag}.stderr")),
    )
}

/// The bar's own lines of a logged bar's stderr (not the protocol's).
fn said(rstat: &Guarded) -> String {
    let all = rstat.stderr();
    let own: Vec<&str> = all.lines().filter(|l| !l.starts_with('[')).collect();
    own.join("\n")
}

/// The bar's protocol log so far.
fn wire_log(rstat: &Guarded) -> Vec<u8> {
    std::fs::read(&rstat.stderr_path).unwrap_or_default()
}

/// Waits until the bar has its wl_pointer (motions before that reach no
/// one) and has drawn `want` (the bar's rows of a screenshot).
fn wait_ready(sway: &HeadlessSway, rstat: &mut Guarded, what: &str, want: Option<&Image>) {
    let bound = support::proc::wait_for(APPEAR, || {
        rstat.assert_running();
        let log = wire_log(rstat);
        String::from_utf8_lossy(&log)
            .contains(".get_pointer(")
            .then_some(())
    });
    assert!(
        bound.is_some(),
        "{what}: the bar never bound the pointer\n{}",
        said(rstat)
    );
    if let Some(want) = want {
        wait_bar(sway, rstat, what, want);
    }
}

/// Polls screenshots until the bar's rows equal `want`.
fn wait_bar(sway: &HeadlessSway, rstat: &mut Guarded, what: &str, want: &Image) {
    let deadline = Instant::now() + APPEAR;
    loop {
        rstat.assert_running();
        let img = sway.screenshot(OUTPUT).crop(0, 0, W, 30);
        if img.rgb == want.rgb {
            return;
        }
        if Instant::now() >= deadline {
            let n = img
                .rgb
                .iter()
                .zip(&want.rgb)
                .filter(|(a, b)| a != b)
                .count();
            panic!("{what}: {n} bytes of the bar differ\n{}", said(rstat));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The `damage_buffer` rectangles (x, y, w, h) a protocol log holds after
/// its first `skip` commits.
fn damage_after(log: &[u8], skip: usize) -> Vec<[i64; 4]> {
    let mut commits = 0;
    let mut out = Vec::new();
    for l in String::from_utf8_lossy(log).lines() {
        if !l.contains("-> wl_surface@") {
            continue;
        }
        if l.contains(".commit()") {
            commits += 1;
        } else if commits >= skip {
            let args = l
                .split(".damage_buffer(")
                .nth(1)
                .and_then(|a| a.split(')').next());
            let v: Vec<i64> = args
                .into_iter()
                .flat_map(|a| a.split(','))
                .filter_map(|x| x.trim().parse().ok())
                .collect();
            if let [x, y, w, h] = v[..] {
                out.push([x, y, w, h]);
            }
        }
    }
    out
}

/// Waits until the bar has committed nothing for `quiet`; the commit
/// times of its protocol log then.
fn wait_quiet(rstat: &mut Guarded, quiet: Duration) -> Vec<f64> {
    let deadline = Instant::now() + APPEAR;
    let mut last = (support::wire::commits(&wire_log(rstat)), Instant::now());
    loop {
        rstat.assert_running();
        std::thread::sleep(Duration::from_millis(100));
        let n = support::wire::commits(&wire_log(rstat));
        if n != last.0 {
            last = (n, Instant::now());
        } else if last.1.elapsed() >= quiet {
            return support::wire::commit_times(&wire_log(rstat));
        }
        assert!(
            Instant::now() < deadline,
            "the bar never went quiet\n{}",
            said(rstat)
        );
    }
}

/// Done means: a drawer with `transition_ms` slides open when hovered:
/// several frames spread over about that time, each damaging only the
/// columns that moved, the last one the instant drawer's open bar pixel for
/// pixel, then no frame at all while nothing changes; leaving slides it
/// closed the same way, back to the closed bar.
#[test]
fn a_sliding_drawer_draws_frames_over_its_transition_then_none_in_sway() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = sway();
    let dir = Scratch::new("slide");
    let mid = 15;
    // The seat gets its pointer before any bar starts: each bar binds it
    // at start-up, and the test waits for that before moving it.
    let mut pointer = VirtualPointer::new(&sway).expect("virtual pointer");
    pointer.move_to(500, 300).expect("park the pointer");

    // What the instant drawer draws, closed and open.
    let mut rstat = start_logged(&sway, &dir.put("instant.toml", &slide_config(0)), "instant");
    wait_ready(&sway, &mut rstat, "instant drawer", None);
    let closed = wait_shot(&sway, &mut rstat, "closed drawer", |img| {
        expect_px(img, 1, 15, rgb(DRAWER), "the closed drawer's box")?;
        span_of(img, 2, rgb(AFTER)).ok_or("no `after` module")?;
        match span_of(img, mid, rgb(X_BOX)) {
            Some(s) => Err(format!("x shows at {s:?}")),
            None => Ok(()),
        }
    })
    .crop(0, 0, W, 30);
    pointer.move_to(10, mid as u32).expect("onto the handle");
    let open = wait_shot(&sway, &mut rstat, "open drawer", |img| {
        span_of(img, mid, rgb(X_BOX)).ok_or("x not shown")?;
        span_of(img, mid, rgb(Y_BOX)).ok_or("y not shown")?;
        Ok(())
    })
    .crop(0, 0, W, 30);
    // Right of the `after` module nothing ever moves.
    let reach = span_of(&open, 2, rgb(AFTER)).expect("after").1 as i64 + 1;
    let instant_open = {
        let before = support::wire::commits(&wire_log(&rstat));
        pointer.move_to(500, 300).expect("away");
        wait_bar(&sway, &mut rstat, "instant drawer closed again", &closed);
        let after = wait_quiet(&mut rstat, Duration::from_millis(500)).len();
        after - before
    };
    drop(rstat);

    // Long enough that even a loaded machine draws several frames.
    const MS: f64 = 1000.0;
    let mut rstat = start_logged(
        &sway,
        &dir.put("slide.toml", &slide_config(MS as u32)),
        "slide",
    );
    wait_ready(&sway, &mut rstat, "sliding drawer", Some(&closed));
    for (what, to, want) in [
        ("opening", (10, mid as u32), &open),
        ("closing", (500, 300), &closed),
    ] {
        let before = wait_quiet(&mut rstat, Duration::from_millis(500)).len();
        pointer.move_to(to.0, to.1).expect("move");
        wait_bar(&sway, &mut rstat, what, want);
        let times = wait_quiet(&mut rstat, Duration::from_millis(1000));
        let frames = &times[before..];
        let spread = frames.last().unwrap_or(&0.0) - frames.first().unwrap_or(&0.0);
        eprintln!(
            "{what}: {} commits over {spread:.0} ms, damage at most {} columns wide",
            frames.len(),
            damage_after(&wire_log(&rstat), before)
                .iter()
                .map(|d| d[2])
                .max()
                .unwrap_or(0)
        );
        assert!(
            frames.len() >= 5 && frames.len() > instant_open + 3,
            "{what}: a slide draws several frames, got {} (the instant drawer {instant_open})",
            frames.len()
        );
        assert!(
            (0.6 * MS..=MS + 4000.0).contains(&spread),
            "{what}: frames over {spread:.0} ms, the transition is {MS} ms: {frames:?}"
        );
        // Each frame damages only the columns that moved (the drawer and
        // `after`), never the whole bar.
        let damage = damage_after(&wire_log(&rstat), before);
        assert!(
            damage.len() >= frames.len() / 2,
            "{what}: damage {damage:?}"
        );
        for d in &damage {
            assert!(
                d[0] + d[2] <= reach && d[2] < W as i64,
                "{what}: damage {d:?} reaches past column {reach}"
            );
        }
        // The bar is what the instant drawer showed, and stays so: no
        // frame while nothing changes.
        wait_bar(&sway, &mut rstat, what, want);
        let n = support::wire::commits(&wire_log(&rstat));
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            support::wire::commits(&wire_log(&rstat)),
            n,
            "{what}: the bar commits while idle"
        );
    }
    drop(pointer);
}

const FLOAT_BG: u32 = 0x303060;
const FLOAT_BORDER: u32 = 0xe0c040;

/// Done means: a plain bar spans the output edge to edge; a floating one
/// leaves the gap its margin gives, is transparent outside its rounded
/// corners, and its exclusive zone keeps windows below the gap.
#[test]
fn plain_and_floating_bars_in_sway() {
    if !can_run() {
        return;
    }
    let _lock = support::compositor_lock();
    let sway = sway();
    let dir = Scratch::new("float");
    let plain = dir.put(
        "plain.toml",
        r##"
[bar]
height = 30
left = ["custom#a"]
right = ["custom#b"]
[bar.colors]
background = "#303060"
[module."custom#a"]
exec = "echo plain bar"
interval_ms = 60000
[module."custom#b"]
exec = "echo right"
interval_ms = 60000
"##,
    );
    let wall = sway.screenshot(OUTPUT).px(0, 399);
    let mut rstat = start(&sway, &plain, "plain");
    let bg = rgb(FLOAT_BG);
    wait_shot(&sway, &mut rstat, "plain bar", |img| {
        for (x, y) in [(0, 0), (W - 1, 0), (0, 29), (W - 1, 29), (W / 2, 15)] {
            expect_px(img, x, y, bg, "the plain bar")?;
        }
        expect_px(img, 0, 30, wall, "below the plain bar")
    });
    let area = support::proc::wait_for(APPEAR, || sway.usable_area(OUTPUT).filter(|a| a.y == 30));
    assert!(
        area.is_some(),
        "windows start below a plain bar: {:?}",
        sway.usable_area(OUTPUT)
    );
    keep_screenshot(&sway, "plain", 30);
    rstat.signal(libc::SIGTERM);
    assert!(rstat.wait_exit(APPEAR).is_some(), "rstat exits on SIGTERM");

    let float = dir.put(
        "float.toml",
        &format!(
            r##"
[bar]
height = 30
left = ["custom#a"]
[bar.style.bar]
margin = [10, 12]
radius = 12
background = "#{FLOAT_BG:06x}"
border = {{ width = 2, color = "#{FLOAT_BORDER:06x}" }}
[module."custom#a"]
exec = "echo floating"
interval_ms = 60000
"##
        ),
    );
    let mut rstat = start(&sway, &float, "float");
    let border = rgb(FLOAT_BORDER);
    wait_shot(&sway, &mut rstat, "floating bar", |img| {
        // The gap to the screen's edges shows what is behind the bar.
        expect_px(img, W / 2, 5, wall, "gap above the bar")?;
        expect_px(img, 5, 25, wall, "gap left of the bar")?;
        expect_px(img, W - 5, 25, wall, "gap right of the bar")?;
        expect_px(img, W / 2, 45, wall, "gap below the bar")?;
        // Border on the edges, background inside.
        expect_px(img, W / 2, 10, border, "top border")?;
        expect_px(img, W / 2, 39, border, "bottom border")?;
        expect_px(img, 12, 25, border, "left border")?;
        expect_px(img, W - 13, 25, border, "right border")?;
        expect_px(img, W / 2, 25, bg, "inside the bar")?;
        // Outside the rounded corners: transparent, so the wall shows.
        for (x, y) in [(12, 10), (W - 13, 10), (12, 39), (W - 13, 39)] {
            expect_px(img, x, y, wall, "a rounded corner")?;
        }
        Ok(())
    });
    // The exclusive zone: top margin + height + the gap below.
    let area = support::proc::wait_for(APPEAR, || sway.usable_area(OUTPUT).filter(|a| a.y == 50));
    assert!(
        area.is_some_and(|a| a.height == 400 - 50),
        "windows start below the floating bar's gap: {:?}",
        sway.usable_area(OUTPUT)
    );
    if let Some(dir) = std::env::var_os("RSTAT_WRITE_THEME_SCREENSHOTS") {
        let path = Path::new(&dir).join("theme-floating.png");
        sway.screenshot_png(&format!("0,0 {W}x50"), &path)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

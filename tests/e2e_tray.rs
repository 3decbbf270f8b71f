//! The tray in a real headless Sway with real tray clients on a private
//! session bus: an appindicator item (python3-gi) whose icon is a PNG the
//! test made, drawn as that file rendered at the bar's icon size; a Qt item
//! (QSystemTrayIcon on Wayland) clicked, its callback run; a status change
//! followed; `--once --modules` (a second rstat, a host of the bar's
//! watcher) listing the items; clients exiting removing their icons.

mod common;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use rstat::services::dbus::{daemon_call, Bus, ClientId, Event};
use support::dbus::PrivateBus;
use support::image::Image;
use support::proc::{poll_every, run, Guarded};
use support::sway::HeadlessSway;

const PY: &str = "/usr/bin/python3";
const PATIENCE: Duration = Duration::from_secs(20);
const BAR: usize = 28;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tray")
        .join(name)
}

fn python_has(module: &str) -> bool {
    Path::new(PY).exists()
        && Command::new(PY)
            .args(["-c", &format!("import {module}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Client {
    fn spawn(mut cmd: Command, log: &Path) -> Client {
        let err = std::fs::File::create(log).expect("client log");
        support::proc::die_with_parent(&mut cmd);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("start the tray client");
        let stdin = child.stdin.take();
        Client { child, stdin }
    }

    fn say(&mut self, line: &str) {
        if let Some(s) = self.stdin.as_mut() {
            let _ = writeln!(s, "{line}");
            let _ = s.flush();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Who owns `name` on the bus (a blocking helper: tests may wait).
fn owner(address: &str, name: &str) -> Option<String> {
    let mut bus = Bus::open(address).ok()?;
    bus.call(
        ClientId(1),
        1,
        &daemon_call(
            "GetNameOwner",
            vec![rstat::services::dbus::Value::Str(name.into())],
        ),
        Duration::from_secs(2),
    );
    let end = Instant::now() + Duration::from_secs(3);
    while Instant::now() < end {
        let mut p = libc::pollfd {
            fd: bus.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll(2) on the bus's own socket.
        unsafe { libc::poll(&mut p, 1, 50) };
        let _ = bus.on_readable();
        bus.expire(Instant::now());
        while let Some((_, ev)) = bus.poll() {
            if let Event::Reply { cookie: 1, result } = ev {
                return result
                    .ok()
                    .and_then(|m| m.body.first()?.as_str().map(String::from));
            }
        }
    }
    None
}

/// Runs of bar columns holding something else than the bar's background:
/// the icons, left to right, as (x, width).
fn icon_runs(img: &Image) -> Vec<(usize, usize)> {
    let bg = img.dominant(0, BAR);
    let busy: Vec<bool> = (0..img.width)
        .map(|x| (0..BAR).any(|y| support::image::diff(img.px(x, y), bg) > 40))
        .collect();
    let mut runs = Vec::new();
    let mut x = 0;
    while x < busy.len() {
        if busy[x] {
            let s = x;
            while x < busy.len() && busy[x] {
                x += 1;
            }
            runs.push((s, x - s));
        }
        x += 1;
    }
    runs
}

/// A 48×48 PNG of four coloured quadrants (distinct under any scaling).
fn make_icon(path: &Path) {
    let mut p = tiny_skia::Pixmap::new(48, 48).expect("pixmap");
    let colours = [
        (0, 0, [230, 30, 30]),
        (24, 0, [30, 200, 30]),
        (0, 24, [30, 60, 230]),
        (24, 24, [240, 220, 20]),
    ];
    for (x, y, [r, g, b]) in colours {
        let rect = tiny_skia::Rect::from_xywh(x as f32, y as f32, 24.0, 24.0).expect("rect");
        let mut paint = tiny_skia::Paint::default();
        paint.set_color_rgba8(r, g, b, 255);
        p.fill_rect(rect, &paint, tiny_skia::Transform::identity(), None);
    }
    p.save_png(path).expect("write the icon");
}

/// The icon file rendered at `px` square (bilinear, as any scaler would),
/// compared with the bar's pixels at (x, y): the mean channel difference.
fn compare_with_file(img: &Image, x: usize, y: usize, px: usize, file: &Path) -> f64 {
    let src = tiny_skia::Pixmap::load_png(file).expect("read the icon");
    let mut want = tiny_skia::Pixmap::new(px as u32, px as u32).expect("pixmap");
    let s = px as f32 / 48.0;
    want.draw_pixmap(
        0,
        0,
        src.as_ref(),
        &tiny_skia::PixmapPaint {
            quality: tiny_skia::FilterQuality::Bilinear,
            ..Default::default()
        },
        tiny_skia::Transform::from_scale(s, s),
        None,
    );
    let mut sum = 0u64;
    for row in 0..px {
        for col in 0..px {
            let got = img.px(x + col, y + row);
            let i = (row * px + col) * 4;
            let w = &want.data()[i..i + 3];
            for k in 0..3 {
                sum += (got[k] as i64 - w[k] as i64).unsigned_abs();
            }
        }
    }
    sum as f64 / (px * px * 3) as f64
}

#[test]
fn tray_icons_drawn_clicked_followed_listed_and_removed() {
    if !common::need(common::is_root(), "needs root to start Sway as another uid")
        || !common::need(common::have("sway"), "needs sway")
        || !common::need(
            python_has("gi") && python_has("PyQt5.QtWidgets"),
            "needs python3-gi and python3-pyqt5",
        )
    {
        return;
    }
    let Some(pb) = PrivateBus::start("e2e-tray") else {
        common::need(false, "dbus-daemon is not installed");
        return;
    };
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("config.toml"),
        "[bar]\nleft = []\ncenter = []\nright = [\"tray\"]\n",
    )
    .expect("config");
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"])
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &pb.dir().join("rstat.stderr"));
    // The bar is the watcher: nobody else was.
    let watcher = poll_every(Duration::from_millis(100), PATIENCE, || {
        owner(&pb.address, "org.kde.StatusNotifierWatcher")
    });
    assert!(
        watcher.is_some(),
        "rstat became the watcher\n{}",
        bar.stderr()
    );

    // The appindicator item, its icon a file the test made.
    let icon = pb.dir().join("quadrants.png");
    make_icon(&icon);
    let ai_out = pb.dir().join("ai.out");
    let mut ai_cmd = sway.client(PY);
    ai_cmd
        .arg(fixture("ai_item.py"))
        .arg(&ai_out)
        .arg(&icon)
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address)
        .env("GDK_BACKEND", "wayland");
    let mut ai = Client::spawn(ai_cmd, &pb.dir().join("ai.stderr"));
    let first = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let runs = icon_runs(&img);
        (runs.len() == 1 && runs[0].1 >= 10).then(|| (img, runs[0]))
    });
    let (img, (x, w)) = first.unwrap_or_else(|| {
        let mut once = sway.client(common::rstat_bin());
        once.args(["--once", "--modules", "--collector", "procfs"])
            .env("DBUS_SESSION_BUS_ADDRESS", &pb.address);
        let out = run(&mut once, Duration::from_secs(20))
            .map(|o| o.stdout)
            .unwrap_or_default();
        let shot = sway.screenshot("HEADLESS-1");
        if let Some(mut p) = tiny_skia::Pixmap::new(shot.width as u32, 40) {
            for (i, px) in p.data_mut().chunks_exact_mut(4).enumerate() {
                let (x, y) = (i % shot.width, i / shot.width);
                let c = shot.px(x, y);
                px.copy_from_slice(&[c[0], c[1], c[2], 255]);
            }
            // Kept with RSTAT_E2E_KEEP=1 for a look.
            let _ = p.save_png(pb.dir().join("shot.png"));
        }
        panic!(
            "the appindicator icon was not drawn (--once: {})\n{}\n{}",
            String::from_utf8_lossy(&out),
            bar.stderr(),
            std::fs::read_to_string(pb.dir().join("ai.stderr")).unwrap_or_default()
        )
    });
    // The icon is square and vertically centred in the bar.
    let y = (BAR - w) / 2;
    let diff = compare_with_file(&img, x, y, w, &icon);
    assert!(
        diff < 12.0,
        "the icon drawn at {w} px differs from the file rendered at {w} px by {diff:.1} per channel"
    );

    // The Qt item joins, to the right; a left click on it is Activate.
    let qt_out = pb.dir().join("qt.out");
    let mut qt_cmd = sway.client(PY);
    qt_cmd
        .arg(fixture("qt_item.py"))
        .arg(&qt_out)
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address)
        .env("QT_QPA_PLATFORM", "wayland");
    let mut qt = Client::spawn(qt_cmd, &pb.dir().join("qt.stderr"));
    let two = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let runs = icon_runs(&img);
        (runs.len() == 2).then_some(runs)
    })
    .unwrap_or_else(|| panic!("the Qt icon was not drawn\n{}", bar.stderr()));
    let (qx, qw) = two[1];
    let mut pointer = support::pointer::VirtualPointer::new(&sway).expect("virtual pointer");
    pointer
        .move_to((qx + qw / 2) as u32, (BAR / 2) as u32)
        .expect("move onto the Qt icon");
    let activated = PathBuf::from(format!("{}.activated", qt_out.display()));
    // The first click may land before the pointer's enter reached the bar.
    let mut clicked = None;
    for _ in 0..3 {
        pointer.click(support::pointer::BTN_LEFT).expect("click");
        clicked = poll_every(Duration::from_millis(50), Duration::from_secs(5), || {
            std::fs::read_to_string(&activated)
                .ok()
                .filter(|s| s == "3")
        });
        if clicked.is_some() {
            break;
        }
    }
    assert!(
        clicked.is_some(),
        "the click reached Qt's activated callback\n{}",
        bar.stderr()
    );
    // The cursor off the bar: it would count as an icon in the screenshots.
    pointer.move_to(900, 700).expect("move away");

    // `--once --modules` in a second rstat: the bar keeps the watcher
    // name, the second is a host of it and lists both items.
    let mut once = sway.client(common::rstat_bin());
    once.args(["--once", "--modules", "--collector", "procfs"])
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address);
    let out = run(&mut once, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let items = v["tray"]["items"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = items.iter().filter_map(|i| i["id"].as_str()).collect();
    assert!(
        ids.contains(&"rstat-ai-item") && ids.contains(&"rstat-qt-item"),
        "--once --modules lists the items: {}",
        v["tray"]
    );
    let ai_row = items.iter().find(|i| i["id"] == "rstat-ai-item").cloned();
    assert_eq!(
        ai_row.as_ref().map(|r| r["title"].clone()),
        Some("AI Item".into())
    );
    assert_eq!(ai_row.map(|r| r["status"].clone()), Some("Active".into()));
    assert_eq!(
        owner(&pb.address, "org.kde.StatusNotifierWatcher"),
        watcher,
        "the second rstat did not take the watcher name"
    );

    // Status: attention shows another icon; passive hides it.
    // The tray's icons as they are now (the second item has moved the
    // first: where each lands depends on the order they registered in).
    let shot = sway.screenshot("HEADLESS-1");
    let tray_x = icon_runs(&shot)
        .first()
        .map_or(x, |r| r.0)
        .saturating_sub(2);
    let tray_w = shot.width - tray_x;
    let before = shot.crop(tray_x, 0, tray_w, BAR);
    ai.say("attention");
    // Another icon in the item's place: the attention icon's own drawing
    // need not fill the slot (a triangle's corners are transparent).
    let changed = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        (icon_runs(&img).len() == 2 && img.crop(tray_x, 0, tray_w, BAR).rgb != before.rgb)
            .then_some(())
    });
    assert!(
        changed.is_some(),
        "NeedsAttention shows the attention icon (icons at {:?}, before at {:?})\n{}",
        sway.try_screenshot("HEADLESS-1")
            .map(|i| icon_runs(&i))
            .unwrap_or_default(),
        icon_runs(&shot),
        bar.stderr()
    );
    ai.say("passive");
    let hidden = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        (icon_runs(&img).len() == 1).then_some(())
    });
    assert!(hidden.is_some(), "a Passive item is hidden");

    // Exits: the icons go.
    qt.say("quit");
    ai.say("quit");
    let empty = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        icon_runs(&img).is_empty().then_some(())
    });
    assert!(empty.is_some(), "the clients' exits removed their icons");
    bar.assert_running();
}

/// The bounding box (x0, y0, x1, y1, exclusive ends) of what changed
/// between `before` and `img` under the bar, leaving out a square around
/// the pointer at `cursor` (grim draws the cursor).
fn changed_below_bar(
    before: &Image,
    img: &Image,
    cursor: (usize, usize),
) -> Option<(usize, usize, usize, usize)> {
    // Where the pointer was for `before`.
    let away = (AWAY.0 as usize, AWAY.1 as usize);
    let mut b: Option<(usize, usize, usize, usize)> = None;
    for y in BAR..img.height.min(before.height) {
        for x in 0..img.width.min(before.width) {
            let near = |c: (usize, usize)| x.abs_diff(c.0) < 40 && y.abs_diff(c.1) < 40;
            let near = near(cursor) || near(away);
            if near || support::image::diff(img.px(x, y), before.px(x, y)) <= 40 {
                continue;
            }
            b = Some(match b {
                None => (x, y, x + 1, y + 1),
                Some((x0, y0, x1, y1)) => (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1)),
            });
        }
    }
    b
}

/// Where the pointer rests for a reference screenshot.
const AWAY: (u32, u32) = (300, 600);

#[test]
fn tray_menu_drawn_in_our_popup_followed_and_clicked() {
    if !common::need(common::is_root(), "needs root to start Sway as another uid")
        || !common::need(common::have("sway"), "needs sway")
        || !common::need(python_has("gi"), "needs python3-gi")
    {
        return;
    }
    let Some(pb) = PrivateBus::start("e2e-tray-menu") else {
        common::need(false, "dbus-daemon is not installed");
        return;
    };
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("config.toml"),
        "[bar]\nleft = []\ncenter = []\nright = [\"tray\"]\n",
    )
    .expect("config");
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"])
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &pb.dir().join("rstat.stderr"));
    // The bar is the watcher before the item starts (an empty tray draws
    // nothing to wait for).
    poll_every(Duration::from_millis(100), PATIENCE, || {
        owner(&pb.address, "org.kde.StatusNotifierWatcher")
    })
    .unwrap_or_else(|| panic!("rstat became the watcher\n{}", bar.stderr()));
    let icon = pb.dir().join("quadrants.png");
    make_icon(&icon);
    let out = pb.dir().join("ai.out");
    let mut ai_cmd = sway.client(PY);
    ai_cmd
        .arg(fixture("ai_item.py"))
        .arg(&out)
        .arg(&icon)
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address)
        .env("GDK_BACKEND", "wayland");
    let mut ai = Client::spawn(ai_cmd, &pb.dir().join("ai.stderr"));
    let (x, w) = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let runs = icon_runs(&img);
        (runs.len() == 1 && runs[0].1 >= 10).then(|| runs[0])
    })
    .unwrap_or_else(|| panic!("the appindicator icon was not drawn\n{}", bar.stderr()));
    let mut pointer = support::pointer::VirtualPointer::new(&sway).expect("virtual pointer");
    let on_icon = ((x + w / 2) as u32, (BAR / 2) as u32);
    pointer.move_to(AWAY.0, AWAY.1).expect("away");
    let before = poll_every(Duration::from_millis(100), PATIENCE, || {
        // The cursor drawn where it was sent.
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        (img.px(AWAY.0 as usize + 2, AWAY.1 as usize + 2)
            != img.px(AWAY.0 as usize + 60, AWAY.1 as usize))
        .then_some(img)
    })
    .unwrap_or_else(|| sway.screenshot("HEADLESS-1"));
    pointer
        .move_to(on_icon.0, on_icon.1)
        .expect("onto the icon");
    let cursor = (on_icon.0 as usize, on_icon.1 as usize);

    // Right click: the item's GTK menu, drawn by us under the icon.
    let open = |pointer: &mut support::pointer::VirtualPointer, cursor| {
        let mut found = None;
        for _ in 0..3 {
            pointer
                .click(support::pointer::BTN_RIGHT)
                .expect("right click");
            found = poll_every(Duration::from_millis(100), Duration::from_secs(8), || {
                let img = sway.try_screenshot("HEADLESS-1").ok()?;
                changed_below_bar(&before, &img, cursor).filter(|b| b.3 - b.1 > 60)
            });
            if found.is_some() {
                break;
            }
        }
        found
    };
    let (x0, y0, x1, y1) = open(&mut pointer, cursor).unwrap_or_else(|| {
        panic!(
            "right click opened no menu under the bar\n{}\n{}",
            bar.stderr(),
            std::fs::read_to_string(pb.dir().join("ai.stderr")).unwrap_or_default()
        )
    });
    let _ = sway.screenshot_png(
        &format!("{},0 {}x{}", x0.saturating_sub(200), x1 - x0 + 200, y1 + 10),
        &pb.dir().join("menu.png"),
    );
    assert_eq!(y0, BAR, "the menu hangs from the bar's lower edge");
    assert!(
        x1 <= before.width && x0 < x + w,
        "the menu stays on the output, under its icon: {x0}..{x1} for the icon at {x}"
    );
    // Five entries (Write file, a separator, Check me, Quit, More): at
    // least four text rows tall.
    let height = y1 - y0;
    assert!(height >= 4 * 16, "menu {height} px tall");

    // Hovering the first row lights it up (its left end, before the text).
    let plain = sway.screenshot("HEADLESS-1").px(x0 + 3, y0 + 8);
    let first = (x0 + 12, y0 + 14);
    pointer
        .move_to(first.0 as u32, first.1 as u32)
        .expect("onto the first row");
    let lit = poll_every(Duration::from_millis(50), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let p = img.px(x0 + 3, y0 + 8);
        (support::image::diff(p, plain) > 40).then_some(p)
    });
    assert!(lit.is_some(), "the hovered row is highlighted");

    // The last row ("More") opens its submenu beside the menu; its entry
    // clicked runs the client's callback.
    let more = (x0 + 30, y1 - 14);
    pointer
        .move_to(more.0 as u32, more.1 as u32)
        .expect("onto More");
    let sub = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let b = changed_below_bar(&before, &img, (more.0, more.1))?;
        // Something new outside the first level's columns.
        (b.0 < x0 || b.2 > x1).then_some(b)
    })
    .unwrap_or_else(|| panic!("no submenu beside the menu\n{}", bar.stderr()));
    // Flipped to the left at the output's right end, or to the right.
    let deep_x = if sub.0 < x0 { sub.0 + 30 } else { x1 + 30 };
    // The submenu's top is the More row's top: its first row is there.
    let deep_y = y1 - 12;
    pointer
        .move_to(deep_x as u32, deep_y as u32)
        .expect("into the submenu");
    let mut deep = None;
    for _ in 0..3 {
        // A little wiggle: the first motion may land before the surface maps.
        pointer
            .move_to(deep_x as u32 + 2, deep_y as u32)
            .expect("into the submenu");
        pointer.click(support::pointer::BTN_LEFT).expect("click");
        deep = poll_every(Duration::from_millis(50), Duration::from_secs(5), || {
            std::fs::read_to_string(&out).ok().filter(|s| s == "deep")
        });
        if deep.is_some() {
            break;
        }
    }
    assert!(
        deep.is_some(),
        "the submenu's entry ran the client's callback (submenu at {sub:?}, clicked {deep_x},{deep_y})\n{}",
        bar.stderr()
    );
    let closed = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        changed_below_bar(&before, &img, (deep_x, deep_y))
            .is_none()
            .then_some(())
    });
    if closed.is_none() {
        let img = sway.screenshot("HEADLESS-1");
        let _ = sway.screenshot_png("0,0 1280x400", &pb.dir().join("left-open.png"));
        panic!(
            "a click closes the menu: still {:?} changed (menu was {x0},{y0}..{x1},{y1})\n{}",
            changed_below_bar(&before, &img, (deep_x, deep_y)),
            bar.stderr()
        );
    }

    // Open again; the client adds an entry while it is open: the menu
    // follows (LayoutUpdated) and grows by a row.
    pointer
        .move_to(on_icon.0, on_icon.1)
        .expect("onto the icon");
    let (_, _, _, y1b) = open(&mut pointer, cursor).expect("the menu opens again");
    assert_eq!(y1b, y1, "the same menu again");
    ai.say("grow");
    let grown = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        changed_below_bar(&before, &img, cursor).filter(|b| b.3 > y1 + 10)
    });
    assert!(
        grown.is_some(),
        "the open menu followed the client's new entry\n{}",
        bar.stderr()
    );
    // The first entry clicked: "clicked", and the menu closes.
    pointer
        .move_to(first.0 as u32, first.1 as u32)
        .expect("onto the first row");
    let mut clicked = None;
    for _ in 0..3 {
        pointer
            .move_to(first.0 as u32 + 2, first.1 as u32)
            .expect("wiggle");
        pointer.click(support::pointer::BTN_LEFT).expect("click");
        clicked = poll_every(Duration::from_millis(50), Duration::from_secs(5), || {
            std::fs::read_to_string(&out)
                .ok()
                .filter(|s| s == "clicked")
        });
        if clicked.is_some() {
            break;
        }
    }
    assert!(clicked.is_some(), "Write file ran the client's callback");
    bar.assert_running();
}

/// A bare Gio item: a left click reaches it with the click's screen
/// position; its menu never answers, so a right click shows, after the
/// call's timeout, a menu saying why (and stderr does), while the bar goes
/// on answering clicks. Its themed icon exists only in Adwaita, found
/// without any GTK setting.
#[test]
fn tray_click_position_and_a_menu_that_never_comes() {
    if !common::need(common::is_root(), "needs root to start Sway as another uid")
        || !common::need(common::have("sway"), "needs sway")
        || !common::need(python_has("gi"), "needs python3-gi")
    {
        return;
    }
    if !Path::new("/usr/share/icons/Adwaita/index.theme").exists() {
        common::need(false, "needs adwaita-icon-theme");
        return;
    }
    let Some(pb) = PrivateBus::start("e2e-tray-gio") else {
        common::need(false, "dbus-daemon is not installed");
        return;
    };
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("config.toml"),
        "[bar]\nleft = []\ncenter = []\nright = [\"tray\"]\n",
    )
    .expect("config");
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"])
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &pb.dir().join("rstat.stderr"));
    poll_every(Duration::from_millis(100), PATIENCE, || {
        owner(&pb.address, "org.kde.StatusNotifierWatcher")
    })
    .unwrap_or_else(|| panic!("rstat became the watcher\n{}", bar.stderr()));
    let out = pb.dir().join("gio.out");
    let mut gio_cmd = Command::new(PY);
    gio_cmd
        .arg(fixture("gio_item.py"))
        .arg(&out)
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address);
    let mut gio = Client::spawn(gio_cmd, &pb.dir().join("gio.stderr"));
    let (x, w) = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let runs = icon_runs(&img);
        (runs.len() == 1 && runs[0].1 >= 10).then(|| runs[0])
    })
    .unwrap_or_else(|| {
        panic!(
            "the Adwaita icon was not drawn\n{}\n{}",
            bar.stderr(),
            std::fs::read_to_string(pb.dir().join("gio.stderr")).unwrap_or_default()
        )
    });
    let mut pointer = support::pointer::VirtualPointer::new(&sway).expect("virtual pointer");
    pointer.move_to(AWAY.0, AWAY.1).expect("away");
    let before = sway.screenshot("HEADLESS-1");
    let at = ((x + w / 2) as u32, (BAR / 2) as u32);
    pointer.move_to(at.0, at.1).expect("onto the icon");
    let mut line = None;
    for _ in 0..3 {
        pointer.click(support::pointer::BTN_LEFT).expect("click");
        line = poll_every(Duration::from_millis(50), Duration::from_secs(5), || {
            let text = std::fs::read_to_string(&out).ok()?;
            text.lines()
                .find(|l| l.starts_with("Activate "))
                .map(str::to_string)
        });
        if line.is_some() {
            break;
        }
    }
    let line = line.unwrap_or_else(|| panic!("no Activate reached the item\n{}", bar.stderr()));
    let xy: Vec<i32> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // HEADLESS-1 sits at 0,0: the screen position is the pointer's.
    assert_eq!(xy.len(), 2, "{line}");
    assert!(
        (xy[0] - at.0 as i32).abs() <= 1 && (xy[1] - at.1 as i32).abs() <= 1,
        "Activate at {xy:?}, the click was at {at:?}"
    );

    // Right click: GetLayout is never answered. After the call's 3 s the
    // menu shows one dim row saying why; nothing hung meanwhile.
    let cursor = (at.0 as usize, at.1 as usize);
    pointer
        .click(support::pointer::BTN_RIGHT)
        .expect("right click");
    let note = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        changed_below_bar(&before, &img, cursor).filter(|b| b.1 == BAR && b.3 - b.1 < 60)
    });
    assert!(
        note.is_some(),
        "a one-row menu says the menu did not come\n{}",
        bar.stderr()
    );
    assert!(
        bar.stderr().contains("its menu did not come"),
        "stderr says why: {}",
        bar.stderr()
    );
    // The bar still answers: a middle click reaches the item.
    pointer
        .click(support::pointer::BTN_MIDDLE)
        .expect("middle click");
    let second = poll_every(Duration::from_millis(50), PATIENCE, || {
        std::fs::read_to_string(&out)
            .ok()
            .filter(|t| t.contains("SecondaryActivate "))
    });
    assert!(
        second.is_some(),
        "the bar answers clicks after the silent menu"
    );
    gio.say("quit");
    bar.assert_running();
}

/// Green pixels (each channel within 60 of #00ff00) under the bar, near
/// `x`, leaving out the cursor's square at `cursor`.
fn green_below_bar(img: &Image, x: usize, cursor: (usize, usize)) -> usize {
    let mut n = 0;
    for y in BAR..(BAR + 160).min(img.height) {
        for col in x.saturating_sub(500)..(x + 500).min(img.width) {
            let near = col.abs_diff(cursor.0) < 40 && y.abs_diff(cursor.1) < 40;
            let p = img.px(col, y);
            if !near && p[0] < 60 && p[1] > 195 && p[2] < 60 {
                n += 1;
            }
        }
    }
    n
}

/// `tooltip_format` over real items' properties (libayatana-appindicator
/// and Qt's QSystemTrayIcon): `--once --modules` has each icon's text,
/// and hovering an icon in the bar opens that tooltip (its green span
/// drawn under the bar).
#[test]
fn tray_tooltip_format_shows_each_items_properties_on_hover() {
    if !common::need(common::is_root(), "needs root to start Sway as another uid")
        || !common::need(common::have("sway"), "needs sway")
        || !common::need(
            python_has("gi") && python_has("PyQt5.QtWidgets"),
            "needs python3-gi and python3-pyqt5",
        )
    {
        return;
    }
    let Some(pb) = PrivateBus::start("e2e-tray-tooltip") else {
        common::need(false, "dbus-daemon is not installed");
        return;
    };
    let _lock = support::compositor_lock();
    let sway = HeadlessSway::start();
    let dir = sway.config_home().join("rstat");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("config.toml"),
        "[bar]\nleft = []\ncenter = []\nright = [\"tray\"]\n[module.tray]\n\
         tooltip_format = \"<span color='#00ff00'>{title}</span> {id} {status}\\n{tooltip_title}|{tooltip_body}\"\n",
    )
    .expect("config");
    let mut cmd = sway.client(common::rstat_bin());
    cmd.args(["--collector", "procfs"])
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address);
    let mut bar = Guarded::spawn("rstat", &mut cmd, &pb.dir().join("rstat.stderr"));
    // The bar is the watcher before the items start (an empty tray draws
    // nothing to wait for).
    let watcher = poll_every(Duration::from_millis(100), PATIENCE, || {
        owner(&pb.address, "org.kde.StatusNotifierWatcher")
    });
    assert!(
        watcher.is_some(),
        "rstat became the watcher\n{}",
        bar.stderr()
    );
    let icon = pb.dir().join("quadrants.png");
    make_icon(&icon);
    let mut ai_cmd = sway.client(PY);
    ai_cmd
        .arg(fixture("ai_item.py"))
        .arg(pb.dir().join("ai.out"))
        .arg(&icon)
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address)
        .env("GDK_BACKEND", "wayland");
    let _ai = Client::spawn(ai_cmd, &pb.dir().join("ai.stderr"));
    let mut qt_cmd = sway.client(PY);
    qt_cmd
        .arg(fixture("qt_item.py"))
        .arg(pb.dir().join("qt.out"))
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address)
        .env("QT_QPA_PLATFORM", "wayland");
    let _qt = Client::spawn(qt_cmd, &pb.dir().join("qt.stderr"));
    let runs = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let runs = icon_runs(&img);
        (runs.len() == 2 && runs.iter().all(|r| r.1 >= 10)).then_some(runs)
    })
    .unwrap_or_else(|| panic!("the two icons were not drawn\n{}", bar.stderr()));

    // The text, from a second rstat (a host of the bar's watcher).
    let mut once = sway.client(common::rstat_bin());
    once.args(["--once", "--modules", "--collector", "procfs"])
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address);
    let out = run(&mut once, Duration::from_secs(20)).unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    let items = v["tray"]["items"].as_array().cloned().unwrap_or_default();
    let segs = v["tray"]["segments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    eprintln!("--once: {}", v["tray"]);
    assert_eq!((items.len(), segs.len()), (2, 2), "{}", v["tray"]);
    let tip_of = |id: &str| {
        let i = items.iter().position(|r| r["id"] == id)?;
        segs[i]["tooltip"].as_str().map(str::to_string)
    };
    assert_eq!(
        tip_of("rstat-ai-item").as_deref(),
        Some("<span color='#00ff00'>AI Item</span> rstat-ai-item Active\n|"),
        "{}",
        v["tray"]
    );
    let qt = tip_of("rstat-qt-item").unwrap_or_else(|| panic!("{}", v["tray"]));
    assert!(
        qt.starts_with("<span color='#00ff00'>")
            && qt.contains("</span> rstat-qt-item Active\n")
            && qt.ends_with("\nQt tip|"),
        "Qt's ToolTip in the format: {qt:?}"
    );

    // Hover the first icon: its tooltip opens under the bar, green.
    let (x, w) = runs[0];
    let mut pointer = support::pointer::VirtualPointer::new(&sway).expect("virtual pointer");
    let at = (x + w / 2, BAR / 2);
    let mut wiggle = 0;
    let green = poll_every(Duration::from_millis(100), PATIENCE, || {
        // Moved on every look (a first motion may precede the bar's
        // wl_pointer; moving inside the icon keeps the rest going).
        wiggle ^= 1;
        pointer
            .move_to((at.0 + wiggle) as u32, at.1 as u32)
            .expect("onto the icon");
        bar.assert_running();
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        let n = green_below_bar(&img, at.0, at);
        (n >= 20).then_some(n)
    });
    assert!(
        green.is_some(),
        "hovering the icon opened its tooltip with the green span\n{}",
        bar.stderr()
    );
    pointer.move_to(AWAY.0, AWAY.1).expect("away");
    let gone = poll_every(Duration::from_millis(100), PATIENCE, || {
        let img = sway.try_screenshot("HEADLESS-1").ok()?;
        (green_below_bar(&img, at.0, (AWAY.0 as usize, AWAY.1 as usize)) == 0).then_some(())
    });
    assert!(gone.is_some(), "leaving the icon closed its tooltip");
    bar.assert_running();
    let err = bar.stderr();
    assert!(
        !err.contains("panicked") && !err.contains("markup:"),
        "{err}"
    );
}

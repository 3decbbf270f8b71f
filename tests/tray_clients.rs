//! The tray's session-bus side against real tray clients on a private
//! `dbus-daemon`: Qt's QSystemTrayIcon (python3-pyqt5, offscreen) and
//! libayatana-appindicator (python3-gi; GTK needs a display, so it runs in
//! a headless Sway). Our watcher serves them, our host reads their
//! properties and menus, clicks run their callbacks, their exit removes
//! them; a watcher already on the bus is used, not fought; 200 items come
//! and go with memory and descriptors flat; hostile items are bounded.

mod common;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use rstat::services::bus::BusService;
use rstat::services::dbus::{daemon_call, Bus, ClientId, Event, Message, Value};
use rstat::services::tray::{Action, Status, Toggle, Tray};
use rstat::services::Service;
use support::dbus::PrivateBus;

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

const PY: &str = "/usr/bin/python3";

/// One test at a time: the heap figures are the whole process's.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

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

fn service(pb: &PrivateBus) -> BusService {
    let addr = pb.address.clone();
    let mut svc = BusService::session(
        &move |k| (k == "DBUS_SESSION_BUS_ADDRESS").then(|| addr.clone()),
        vec![Box::new(Tray::new())],
    );
    svc.connect().expect("connect the tray to the private bus");
    svc
}

fn tray(svc: &BusService) -> &Tray {
    svc.shared().client::<Tray>().expect("the tray client")
}

/// Dispatches `svc` as the bar's loop would until `done` or `timeout`.
fn drive(svc: &mut BusService, timeout: Duration, mut done: impl FnMut(&Tray) -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if done(tray(svc)) {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        let Some(fd) = svc.fd() else { return false };
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll(2) on the service's own descriptor.
        unsafe { libc::poll(&mut p, 1, 20) };
        svc.dispatch().expect("dispatch");
    }
}

struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Client {
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

fn spawn(mut cmd: Command, dir: &Path, name: &str) -> Client {
    let err = std::fs::File::create(dir.join(format!("{name}.stderr"))).expect("stderr file");
    support::proc::die_with_parent(&mut cmd);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    let stdin = child.stdin.take();
    Client { child, stdin }
}

fn wait_file(path: &Path, want: &str, timeout: Duration) -> bool {
    support::proc::wait_for(timeout, || {
        std::fs::read_to_string(path)
            .ok()
            .filter(|s| s == want)
            .map(|_| ())
    })
    .is_some()
}

/// Qt's offscreen platform has no tray (its theme makes no D-Bus tray
/// icon), so the Qt client runs on Wayland in a headless Sway too.
fn qt_client(pb: &PrivateBus, sway: &support::sway::HeadlessSway, out: &Path) -> Client {
    let mut cmd = sway.client(PY);
    cmd.arg(fixture("qt_item.py"))
        .arg(out)
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address)
        .env("QT_QPA_PLATFORM", "wayland");
    spawn(cmd, pb.dir(), "qt")
}

fn have_qt() -> bool {
    let wayland =
        Path::new("/usr/lib/x86_64-linux-gnu/qt5/plugins/platforms/libqwayland-generic.so");
    common::need(
        python_has("PyQt5.QtWidgets") && wayland.exists(),
        "python3-pyqt5 or qtwayland5 is not installed",
    )
}

fn menu_call<R>(svc: &mut BusService, f: impl FnOnce(&mut Tray, &mut Bus) -> R) -> R {
    svc.shared_mut().command(f).expect("connected")
}

#[test]
fn qt_item_shown_menu_clicked_and_removed() {
    let _serial = serial();
    if !have_qt() {
        return;
    }
    let Some(pb) = PrivateBus::start("tray-qt") else {
        common::need(false, "dbus-daemon is not installed");
        return;
    };
    let _lock = support::compositor_lock();
    let sway = support::sway::HeadlessSway::start();
    let mut svc = service(&pb);
    assert!(
        drive(&mut svc, Duration::from_secs(5), Tray::is_watcher),
        "we became the watcher"
    );
    let out = pb.dir().join("qt.out");
    let mut qt = qt_client(&pb, &sway, &out);
    let shown = drive(&mut svc, Duration::from_secs(20), |t| {
        t.items.len() == 1 && t.items[0].loaded
    });
    assert!(
        shown,
        "the Qt item registered and was read: {:?}",
        tray(&svc).items
    );
    let it = tray(&svc).items[0].clone();
    assert_eq!(it.id, "rstat-qt-item");
    assert_eq!(it.status, Status::Active);
    assert!(it.menu.is_some(), "Qt exports a dbusmenu");
    let px = rstat::services::tray::nearest_pixmap(&it.icon_pixmaps, 22).expect("Qt sends pixmaps");
    assert_eq!(&px.argb[..4], &[255, 255, 0, 0], "ARGB red, network order");

    // The context menu: labels, separator, submenu, check mark, disabled.
    assert!(menu_call(&mut svc, |t, bus| t.open_menu(bus, it.uid)));
    assert!(drive(&mut svc, Duration::from_secs(5), |t| t
        .menu
        .as_ref()
        .is_some_and(|m| m.loaded)));
    let menu = tray(&svc).menu.clone().expect("menu");
    let label = |l: &str| menu.entries.iter().find(|e| e.label == l).cloned();
    let write = label("Write file").expect("'&Write file' with its mnemonic stripped");
    assert!(menu.entries.iter().any(|e| e.separator));
    let more = label("More").expect("submenu");
    assert!(more.submenu);
    let inner = label("Inner").expect("submenu entry");
    assert_eq!(
        inner.parent,
        menu.entries.iter().position(|e| e.label == "More")
    );
    assert_eq!(
        label("Checked").map(|e| e.toggle),
        Some(Toggle::Check(true))
    );
    assert_eq!(label("Disabled").map(|e| e.enabled), Some(false));
    menu_call(&mut svc, |t, bus| t.menu_clicked(bus, write.id));
    assert!(tray(&svc).menu.is_none(), "a click closes the menu");
    drive(&mut svc, Duration::from_millis(300), |_| false);
    assert!(
        wait_file(&out, "clicked", Duration::from_secs(5)),
        "the Qt action ran"
    );

    // Left click: Activate, which Qt reports as Trigger (3).
    menu_call(&mut svc, |t, bus| {
        t.act(bus, it.uid, Action::Activate(10, 10))
    });
    drive(&mut svc, Duration::from_millis(300), |_| false);
    let activated = out.with_extension("out.activated");
    assert!(
        wait_file(&activated, "3", Duration::from_secs(5)),
        "Activate reached Qt"
    );

    // A new icon is followed.
    qt.say("blue");
    let blue = drive(&mut svc, Duration::from_secs(5), |t| {
        t.items
            .first()
            .and_then(|i| i.icon_pixmaps.first())
            .is_some_and(|p| p.argb[..4] == [255, 0, 0, 255])
    });
    assert!(blue, "NewIcon followed");

    // Exit: the item goes.
    qt.say("quit");
    assert!(
        drive(&mut svc, Duration::from_secs(10), |t| t.items.is_empty()),
        "the item left with its client"
    );
}

#[test]
fn existing_watcher_used_not_fought() {
    let _serial = serial();
    if !have_qt() {
        return;
    }
    let Some(pb) = PrivateBus::start("tray-two") else {
        common::need(false, "dbus-daemon is not installed");
        return;
    };
    let _lock = support::compositor_lock();
    let sway = support::sway::HeadlessSway::start();
    // The first tray owns the watcher name; the second only hosts.
    let mut first = service(&pb);
    assert!(drive(&mut first, Duration::from_secs(5), Tray::is_watcher));
    let mut second = service(&pb);
    for _ in 0..25 {
        drive(&mut first, Duration::from_millis(10), |_| false);
        drive(&mut second, Duration::from_millis(10), |_| false);
    }
    assert!(
        !tray(&second).is_watcher(),
        "the second tray did not take the name"
    );
    assert!(tray(&first).is_watcher(), "the first keeps it");
    let out = pb.dir().join("qt2.out");
    let _qt = qt_client(&pb, &sway, &out);
    assert!(drive(&mut first, Duration::from_secs(20), |t| t
        .items
        .len()
        == 1));
    // In a desktop the two are two processes; here one thread runs both.
    let both = |first: &mut BusService, second: &mut BusService, done: &dyn Fn(&Tray) -> bool| {
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end && !done(tray(second)) {
            drive(first, Duration::from_millis(10), |_| false);
            drive(second, Duration::from_millis(10), |_| false);
        }
        done(tray(second))
    };
    let seen = both(&mut first, &mut second, &|t| {
        t.items.len() == 1 && t.items[0].loaded
    });
    assert!(
        seen,
        "the host of another watcher lists its items: {:?}",
        tray(&second).items
    );
    assert_eq!(tray(&second).items[0].id, "rstat-qt-item");

    // The first watcher goes: the second, queued, takes over and the item
    // (Qt re-registers with the new watcher) stays shown.
    drop(first);
    let took = drive(&mut second, Duration::from_secs(10), |t| t.is_watcher());
    assert!(took, "the queued watcher took over");
    let kept = drive(&mut second, Duration::from_secs(10), |t| t.items.len() == 1);
    assert!(kept, "the item re-registered with the new watcher");
}

/// A hand-made item on its own connection (for counts and hostile
/// properties no real toolkit sends).
struct FakeItem {
    bus: Bus,
    pixmap: Option<(i32, usize)>,
    answer_layout: bool,
    menu_entries: usize,
}

impl FakeItem {
    fn register(pb: &PrivateBus) -> FakeItem {
        let mut bus = Bus::open(&pb.address).expect("fake item connects");
        bus.export(ClientId(1), "/StatusNotifierItem");
        bus.export(ClientId(1), "/Menu");
        let reg = Message::call(
            "org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            "org.kde.StatusNotifierWatcher",
            "RegisterStatusNotifierItem",
        )
        .with(vec![Value::Str("/StatusNotifierItem".into())]);
        bus.call(ClientId(1), 1, &reg, Duration::from_secs(5));
        FakeItem {
            bus,
            pixmap: None,
            answer_layout: true,
            menu_entries: 3,
        }
    }

    /// Answers whatever arrived.
    fn serve(&mut self) {
        if let Err(e) = self.bus.on_readable() {
            eprintln!("fake item: {e}");
        }
        while let Some((_, ev)) = self.bus.poll() {
            let Event::MethodCall(m) = ev else { continue };
            let reply = match m.member.as_deref() {
                Some("GetAll") => {
                    let mut props = vec![
                        ("Id", Value::Str("fake".into())),
                        ("Title", Value::Str("Fake".into())),
                        ("Status", Value::Str("Active".into())),
                        ("IconName", Value::Str("".into())),
                        ("Menu", Value::Path("/Menu".into())),
                    ];
                    if let Some((w, n)) = self.pixmap {
                        props.push((
                            "IconPixmap",
                            Value::Array(
                                "(iiay)".into(),
                                vec![Value::Struct(vec![
                                    Value::I32(w),
                                    Value::I32(w),
                                    Value::Bytes(vec![0x80; n]),
                                ])],
                            ),
                        ));
                    }
                    Message::method_return(&m).with(vec![Value::dict_sv(props)])
                }
                Some("GetLayout") if !self.answer_layout => continue,
                Some("GetLayout") => {
                    let kids = (0..self.menu_entries)
                        .map(|i| {
                            Value::Variant(Box::new(Value::Struct(vec![
                                Value::I32(i as i32 + 1),
                                Value::dict_sv(vec![("label", Value::Str(format!("entry {i}")))]),
                                Value::Array("v".into(), vec![]),
                            ])))
                        })
                        .collect();
                    Message::method_return(&m).with(vec![
                        Value::U32(1),
                        Value::Struct(vec![
                            Value::I32(0),
                            Value::dict_sv(vec![]),
                            Value::Array("v".into(), kids),
                        ]),
                    ])
                }
                _ => Message::method_return(&m),
            };
            let _ = self.bus.send(&reply);
        }
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

fn drive_with(
    svc: &mut BusService,
    items: &mut [FakeItem],
    timeout: Duration,
    mut done: impl FnMut(&Tray) -> bool,
) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        for i in items.iter_mut() {
            i.serve();
        }
        if drive(svc, Duration::from_millis(5), &mut done) {
            return true;
        }
    }
    done(tray(svc))
}

#[test]
fn two_hundred_items_come_and_go_memory_and_fds_flat() {
    let _serial = serial();
    let Some(pb) = PrivateBus::start("tray-many") else {
        common::need(false, "dbus-daemon is not installed");
        return;
    };
    let mut svc = service(&pb);
    assert!(drive(&mut svc, Duration::from_secs(5), Tray::is_watcher));
    let round = |svc: &mut BusService| {
        let mut items: Vec<FakeItem> = (0..200).map(|_| FakeItem::register(&pb)).collect();
        let all = drive_with(svc, &mut items, Duration::from_secs(60), |t| {
            t.items.len() == 200 && t.items.iter().all(|i| i.loaded)
        });
        assert!(all, "200 items shown: {}", tray(svc).items.len());
        drop(items);
        assert!(
            drive(svc, Duration::from_secs(30), |t| t.items.is_empty()),
            "all 200 gone"
        );
    };
    round(&mut svc);
    let fds = open_fds();
    let heap = common::alloc::live_bytes();
    round(&mut svc);
    round(&mut svc);
    assert_eq!(open_fds(), fds, "descriptors after two more rounds");
    let grown = common::alloc::live_bytes() - heap;
    assert!(
        grown < 64 * 1024,
        "live heap grew {grown} bytes over 400 items coming and going"
    );
}

#[test]
fn hostile_items_are_bounded() {
    let _serial = serial();
    let Some(pb) = PrivateBus::start("tray-hostile") else {
        common::need(false, "dbus-daemon is not installed");
        return;
    };
    let mut svc = service(&pb);
    assert!(drive(&mut svc, Duration::from_secs(5), Tray::is_watcher));
    let heap0 = common::alloc::live_bytes();
    // A true 4096×4096 pixmap (64 MiB) cannot be sent at all: an a(iiay)
    // holding it exceeds the protocol's 64 MiB array limit and the daemon
    // drops the sender. The largest that passes the daemon, 2896×2896
    // (32 MiB), is over our 8 MiB message limit: skipped unread, the item
    // shown without it.
    let mut big = FakeItem::register(&pb);
    big.pixmap = Some((2896, 2896 * 2896 * 4));
    let mut items = vec![big];
    let shown = drive_with(&mut svc, &mut items, Duration::from_secs(60), |t| {
        t.items.len() == 1 && (t.items[0].loaded || t.items[0].error.is_some())
    });
    assert!(shown, "the item is listed");
    assert!(tray(&svc).items[0].icon_pixmaps.is_empty());
    // The fake item's own 64 MiB send buffer is in this process too: let
    // it drain before counting what the tray kept.
    let end = Instant::now() + Duration::from_secs(30);
    while items[0].bus.wants_write() && Instant::now() < end {
        items[0].serve();
        let _ = items[0].bus.flush();
        drive(&mut svc, Duration::from_millis(5), |_| false);
    }
    drive(&mut svc, Duration::from_millis(200), |_| false);
    let grown = common::alloc::live_bytes() - heap0;
    assert!(grown < 4 << 20, "the 64 MiB pixmap cost {grown} live bytes");

    // One claiming 4096×4096 with 64 KiB of data: refused, nothing allocated.
    let mut liar = FakeItem::register(&pb);
    liar.pixmap = Some((4096, 65536));
    items.push(liar);
    let both = drive_with(&mut svc, &mut items, Duration::from_secs(20), |t| {
        t.items.len() == 2 && t.items[1].loaded
    });
    assert!(both, "the lying item is listed");
    assert!(tray(&svc).items[1].icon_pixmaps.is_empty());

    // A 10,000-entry menu: kept to the cap.
    items[1].menu_entries = 10_000;
    let uid = tray(&svc).items[1].uid;
    assert!(menu_call(&mut svc, |t, bus| t.open_menu(bus, uid)));
    let got = drive_with(&mut svc, &mut items, Duration::from_secs(30), |t| {
        t.menu.as_ref().is_some_and(|m| m.loaded)
    });
    assert!(got, "the big menu arrived");
    let m = tray(&svc).menu.clone().expect("menu");
    assert_eq!(m.entries.len(), rstat::services::tray::menu::MAX_ENTRIES);
    assert!(m.truncated);

    // GetLayout never answered: the menu stays pending, then fails by timeout.
    items[1].answer_layout = false;
    menu_call(&mut svc, |t, _| t.close_menu());
    assert!(menu_call(&mut svc, |t, bus| t.open_menu(bus, uid)));
    let failed = drive_with(&mut svc, &mut items, Duration::from_secs(10), |t| {
        t.menu.as_ref().is_some_and(|m| m.error.is_some())
    });
    assert!(failed, "a GetLayout nobody answers times out");
    assert_eq!(tray(&svc).items.len(), 2, "the items themselves are kept");
}

/// The appindicator item needs a display for GTK: a headless Sway.
#[test]
fn appindicator_item_shown_menu_clicked_status_followed_and_removed() {
    let _serial = serial();
    if !common::need(python_has("gi"), "python3-gi is not installed") {
        return;
    }
    let Some(pb) = PrivateBus::start("tray-ai") else {
        common::need(false, "dbus-daemon is not installed");
        return;
    };
    let _lock = support::compositor_lock();
    let sway = support::sway::HeadlessSway::start();
    let mut svc = service(&pb);
    assert!(drive(&mut svc, Duration::from_secs(5), Tray::is_watcher));
    let out = pb.dir().join("ai.out");
    let mut cmd = sway.client(PY);
    cmd.arg(fixture("ai_item.py"))
        .arg(&out)
        .arg("dialog-information")
        .env("DBUS_SESSION_BUS_ADDRESS", &pb.address)
        .env("GDK_BACKEND", "wayland");
    let mut ai = spawn(cmd, pb.dir(), "ai");
    let shown = drive(&mut svc, Duration::from_secs(20), |t| {
        t.items.len() == 1 && t.items[0].loaded
    });
    let err = || std::fs::read_to_string(pb.dir().join("ai.stderr")).unwrap_or_default();
    assert!(
        shown,
        "the appindicator item registered: {:?}\n{}",
        tray(&svc).items,
        err()
    );
    let it = tray(&svc).items[0].clone();
    assert_eq!(it.id, "rstat-ai-item");
    assert_eq!(it.title, "AI Item");
    assert_eq!(it.icon_name, "dialog-information");
    assert_eq!(it.attention_icon_name, "dialog-warning");
    assert_eq!(it.status, Status::Active);

    assert!(menu_call(&mut svc, |t, bus| t.open_menu(bus, it.uid)));
    assert!(drive(&mut svc, Duration::from_secs(5), |t| t
        .menu
        .as_ref()
        .is_some_and(|m| m.loaded)));
    let menu = tray(&svc).menu.clone().expect("menu");
    let write = menu
        .entries
        .iter()
        .find(|e| e.label == "Write file")
        .cloned();
    let write = write.unwrap_or_else(|| panic!("labels: {:?}", menu.entries));
    assert!(menu.entries.iter().any(|e| e.separator));
    assert!(menu
        .entries
        .iter()
        .any(|e| e.label == "Check me" && e.toggle == Toggle::Check(true)));
    menu_call(&mut svc, |t, bus| t.menu_clicked(bus, write.id));
    drive(&mut svc, Duration::from_millis(300), |_| false);
    assert!(
        wait_file(&out, "clicked", Duration::from_secs(5)),
        "the GTK callback ran"
    );

    ai.say("attention");
    assert!(drive(&mut svc, Duration::from_secs(5), |t| t
        .items
        .first()
        .is_some_and(|i| i.status == Status::NeedsAttention)));
    ai.say("passive");
    assert!(drive(&mut svc, Duration::from_secs(5), |t| t
        .items
        .first()
        .is_some_and(|i| i.status == Status::Passive)));
    ai.say("icon dialog-error");
    assert!(drive(&mut svc, Duration::from_secs(5), |t| t
        .items
        .first()
        .is_some_and(|i| i.icon_name == "dialog-error")));
    ai.say("quit");
    assert!(
        drive(&mut svc, Duration::from_secs(10), |t| t.items.is_empty()),
        "the item left with its client"
    );
    let _ = daemon_call("GetId", vec![]);
}

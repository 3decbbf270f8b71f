//! The bluetooth module against a BlueZ stand-in on a private bus this test
//! starts (a real dbus-daemon as an unprivileged uid). No Bluetooth
//! controller exists on the machines the tests run on (the kernel has no
//! Bluetooth at all), so bluetoothd cannot serve an adapter here: the
//! stand-in, `tests/fixtures/bluez/standin.py` (GDBus, an implementation
//! independent of ours), serves BlueZ's documented objects and signals —
//! ObjectManager at `/`, org.bluez.Adapter1, Device1 and Battery1,
//! InterfacesAdded/Removed, PropertiesChanged — and does what bluetoothd
//! does when Powered is switched off (drops connections first).
//!
//! Covered: hidden without bluetoothd and without an adapter; off, on and
//! connected with the device's name and battery; the tooltip; a click
//! switching Powered (read back from the stand-in with dbus-send); devices
//! coming and going; a flood of battery changes (heap flat, no hang);
//! properties and signals of the wrong types (a clear message, state kept);
//! objects of the wrong shape (the error state); bluetoothd gone and back,
//! killed; the bus going away. One test, so the live heap counts only this.

mod common;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Proc, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rstat::modules::{Button, Modules, Segment, Sources};
use rstat::services::bus::{system_clients, BusService};
use rstat::services::Service;
use support::dbus::PrivateBus;

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

const PY: &str = "/usr/bin/python3";
const HCI0: &str = "/org/bluez/hci0";
const DEV: &str = "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_01";
const DEV2: &str = "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_02";

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bluez/standin.py")
}

/// The stand-in bluetoothd, driven through its stdin; killed on drop.
struct Bluez {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    sent: usize,
    stderr: PathBuf,
}

impl Bluez {
    fn start(bus: &PrivateBus) -> Bluez {
        let stderr = bus.dir().join("bluez.stderr");
        let log = std::fs::File::create(&stderr).expect("stand-in log");
        let mut cmd = Proc::new(PY);
        cmd.arg(script())
            .arg(&bus.address)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        support::proc::die_with_parent(&mut cmd);
        let mut child = cmd.spawn().expect("start the BlueZ stand-in");
        let stdin = child.stdin.take().expect("piped stdin");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut b = Bluez {
            child,
            stdin,
            lines,
            sent: 0,
            stderr,
        };
        b.expect("ready");
        b
    }

    fn expect(&mut self, want: &str) {
        match self.lines.recv_timeout(Duration::from_secs(30)) {
            Ok(l) if l == want => {}
            other => panic!(
                "the stand-in said {other:?}, not {want:?}; its stderr:\n{}",
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            ),
        }
    }

    /// Sends one command (a JSON object) and waits until it is done.
    fn cmd(&mut self, json: &str) {
        writeln!(self.stdin, "{json}").expect("write to the stand-in");
        self.sent += 1;
        let want = format!("ok {}", self.sent);
        self.expect(&want);
    }
}

impl Drop for Bluez {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Bar {
    svc: BusService,
    m: Modules,
}

impl Bar {
    fn text(&mut self) -> String {
        let mut out: Vec<Segment> = Vec::new();
        self.m.write(&mut out);
        out.iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn module(&self) -> &dyn rstat::modules::Module {
        self.m.iter().next().expect("one module")
    }

    /// Reads the bus until `done` holds for the text (or `timeout`).
    fn until(&mut self, timeout: Duration, done: impl Fn(&str) -> bool) -> Result<String, String> {
        let end = Instant::now() + timeout;
        loop {
            let t = self.text();
            if done(&t) {
                return Ok(t);
            }
            if Instant::now() >= end {
                return Err(t);
            }
            let Some(fd) = self.svc.fd() else {
                return Err(format!("{t} (not connected)"));
            };
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            unsafe { libc::poll(&mut p, 1, 100) };
            match self.svc.dispatch() {
                Ok(_) => {
                    self.m.on_service(self.svc.view());
                }
                Err(_) => {
                    self.svc.disconnect();
                    self.m.on_service(self.svc.view());
                }
            }
        }
    }

    fn wait(&mut self, want: &str) {
        let w = Duration::from_secs(20);
        if let Err(t) = self.until(w, |t| t == want) {
            panic!("shown {t:?}, expected {want:?}");
        }
    }

    /// Reads the bus until the module's message says `what`.
    fn said(&mut self, what: &str) {
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if self.module().error().is_some_and(|e| e.contains(what)) {
                return;
            }
            let _ = self.until(Duration::from_millis(100), |_| false);
        }
        panic!(
            "the module never said {what:?}: {:?}",
            self.module().error()
        );
    }

    fn click(&mut self) {
        let cmd = self
            .m
            .pointer(0, Button::Left)
            .expect("a click switches the adapter");
        self.svc.run(&cmd).expect("run the command");
    }
}

/// The stand-in's `Powered`, as a real client (dbus-send) reads it.
fn powered(bus: &PrivateBus) -> String {
    let out = Proc::new("dbus-send")
        .args([
            &format!("--bus={}", bus.address),
            "--print-reply",
            "--dest=org.bluez",
            HCI0,
            "org.freedesktop.DBus.Properties.Get",
            "string:org.bluez.Adapter1",
            "string:Powered",
        ])
        .output()
        .expect("run dbus-send");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn bluez_stand_in_on_a_private_bus() {
    let gi = Proc::new(PY)
        .args(["-c", "from gi.repository import Gio"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !common::need(gi, "needs python3-gi (apt-get install python3-gi)")
        || !common::need(
            common::have("dbus-send"),
            "needs dbus-send (apt-get install dbus-daemon)",
        )
    {
        return;
    }
    let Some(mut bus) = PrivateBus::start("bluez") else {
        common::need(false, "needs dbus-daemon (apt-get install dbus-daemon)");
        return;
    };
    let cfg = rstat::modules::registry::parse(
        "[bar]\nleft = [\"bluetooth\"]\ncenter = []\nright = []\n\
         [module.bluetooth]\nformat = \"{status}|{device}|{battery}|{count}|{discovering}\"\n",
        "test.toml",
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let t = common::fixture::Tree::new("bluez-root");
    let m = Modules::with_sources(&cfg, Instant::now(), &Sources { roots: t.roots() });
    let addr = bus.address.clone();
    let env = move |k: &str| (k == "DBUS_SYSTEM_BUS_ADDRESS").then(|| addr.clone());
    let mut bar = Bar {
        svc: BusService::system(&env, system_clients()),
        m,
    };
    bar.svc.connect().expect("connect to the private bus");

    // No bluetoothd: hidden. bluetoothd without an adapter: still hidden.
    let quiet = Duration::from_millis(500);
    bar.until(quiet, |t| !t.is_empty())
        .expect_err("shown without bluetoothd");
    let mut bluez = Bluez::start(&bus);
    bar.until(Duration::from_secs(2), |t| !t.is_empty())
        .expect_err("shown without an adapter");
    assert!(!bar.svc.busy(), "calls still in flight");

    // An adapter, off; powered on; scanning.
    bluez.cmd(&format!(
        r#"{{"op":"adapter","path":"{HCI0}","props":{{"Alias":"laptop"}}}}"#
    ));
    bar.wait("off||--|0|");
    assert_eq!(bar.module().state(), Some("off"));
    bluez.cmd(&format!(
        r#"{{"op":"set","path":"{HCI0}","iface":"org.bluez.Adapter1","props":{{"Powered":true}}}}"#
    ));
    bar.wait("on||--|0|");
    assert_eq!(bar.module().state(), Some("on"));
    bluez.cmd(&format!(r#"{{"op":"set","path":"{HCI0}","iface":"org.bluez.Adapter1","props":{{"Discovering":true}}}}"#));
    bar.wait("on||--|0|discovering");

    // A device comes, with a battery, and connects; a paired one, not.
    bluez.cmd(&format!(
        r#"{{"op":"device","path":"{DEV}","props":{{"Name":"Headphones","Paired":true,"Connected":true}},"battery":80}}"#
    ));
    bar.wait("connected|Headphones|80|1|discovering");
    assert_eq!(bar.module().state(), Some("connected"));
    bluez.cmd(&format!(
        r#"{{"op":"device","path":"{DEV2}","props":{{"Name":"Mouse","Paired":true}}}}"#
    ));
    bluez.cmd(&format!(
        r#"{{"op":"set","path":"{DEV}","iface":"org.bluez.Battery1","props":{{"Percentage":65}}}}"#
    ));
    bar.wait("connected|Headphones|65|1|discovering");
    let tip = bar.module().tooltip(0).unwrap_or("").to_string();
    assert_eq!(
        tip,
        "laptop (00:1A:7D:DA:71:13): on, discovering\n\
         Headphones: connected, battery 65%\nMouse: paired"
    );

    // A click switches it off (bluetoothd drops the connection first), as
    // a real client reads back; another switches it on.
    bar.click();
    bar.wait("off||--|0|");
    assert!(powered(&bus).contains("boolean false"), "{}", powered(&bus));
    bar.click();
    bar.wait("on||--|0|");
    assert!(powered(&bus).contains("boolean true"), "{}", powered(&bus));
    bluez.cmd(&format!(
        r#"{{"op":"set","path":"{DEV}","iface":"org.bluez.Device1","props":{{"Connected":true}}}}"#
    ));
    bar.wait("connected|Headphones|65|1|");

    // Bad peers: a property of the wrong type, signals of the wrong
    // signature. Ignored with a message naming what was wrong; the state
    // stays.
    bluez.cmd(&format!(
        r#"{{"op":"set","path":"{DEV}","iface":"org.bluez.Device1","props":{{"Connected":"yes"}}}}"#
    ));
    bar.said("Connected is s, not b");
    assert_eq!(bar.text(), "connected|Headphones|65|1|");
    bluez.cmd(&format!(
        r#"{{"op":"raw","path":"{DEV}","iface":"org.freedesktop.DBus.Properties","member":"PropertiesChanged","sig":"(ss)","body":["org.bluez.Battery1","x"]}}"#
    ));
    bar.said("PropertiesChanged with signature \"ss\"");
    bluez.cmd(r#"{"op":"raw","path":"/","iface":"org.freedesktop.DBus.ObjectManager","member":"InterfacesAdded","sig":"(s)","body":["/org/bluez/hci0/dev_X"]}"#);
    bar.said("InterfacesAdded with signature \"s\"");
    assert_eq!(bar.text(), "connected|Headphones|65|1|");

    // A flood: 20000 battery changes as fast as the stand-in sends them,
    // twice. The module follows to the last one each time; the second
    // flood finds the buffers the first one grew and leaves the heap where
    // it was.
    let flood = format!(r#"{{"op":"flood","path":"{DEV}","n":20000}}"#);
    let reset = format!(
        r#"{{"op":"set","path":"{DEV}","iface":"org.bluez.Battery1","props":{{"Percentage":70}}}}"#
    );
    bluez.cmd(&flood);
    // 19999 % 101 = 1
    bar.wait("connected|Headphones|1|1|");
    bluez.cmd(&reset);
    bar.wait("connected|Headphones|70|1|");
    let before = common::alloc::live_bytes();
    let started = Instant::now();
    bluez.cmd(&flood);
    bar.wait("connected|Headphones|1|1|");
    eprintln!(
        "20000 PropertiesChanged followed in {:?}",
        started.elapsed()
    );
    bluez.cmd(&reset);
    bar.wait("connected|Headphones|70|1|");
    let grown = common::alloc::live_bytes() - before;
    assert!(
        grown < 16 << 10,
        "live heap grew {grown} bytes over 20000 signals"
    );

    // The device goes (InterfacesRemoved): on, nothing connected.
    bluez.cmd(&format!(
        r#"{{"op":"remove","path":"{DEV}","ifaces":null}}"#
    ));
    bar.wait("on||--|0|");

    // bluetoothd stops (its name released): hidden; back: read again.
    bluez.cmd(r#"{"op":"release"}"#);
    bar.wait("");
    assert_eq!(bar.module().state(), None);
    bluez.cmd(r#"{"op":"own"}"#);
    bar.wait("on||--|0|");

    // Objects of the wrong shape: the error state, said in full.
    bluez.cmd(r#"{"op":"bad_objects"}"#);
    bluez.cmd(r#"{"op":"release"}"#);
    bar.wait("");
    bluez.cmd(r#"{"op":"own"}"#);
    bar.wait("bluetooth: error");
    assert_eq!(bar.module().state(), Some("error"));
    let said = bar.module().error().unwrap_or("").to_string();
    assert!(
        said.contains("GetManagedObjects answered with signature \"as\""),
        "{said:?}"
    );

    // bluetoothd killed outright: hidden; a fresh one: shown again.
    drop(bluez);
    bar.wait("");
    let mut bluez = Bluez::start(&bus);
    bluez.cmd(&format!(
        r#"{{"op":"adapter","path":"{HCI0}","props":{{"Powered":true}}}}"#
    ));
    bar.wait("on||--|0|");

    // The bus goes away: hidden, no panic.
    bus.kill();
    bar.until(Duration::from_secs(20), |t| t.is_empty())
        .unwrap_or_else(|t| panic!("still shown with no bus: {t:?}"));
    drop(bluez);
}

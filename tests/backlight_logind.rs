//! The backlight module where the user may not write the `brightness` file
//! (root's, mode 0644, as on a laptop): scrolling asks logind's
//! `Session.SetBrightness` on the system bus instead. logind cannot run here
//! (it needs systemd as PID 1 to make sessions, and this process is in
//! none), so a stand-in (`tests/fixtures/logind/standin.py`, GDBus) serves
//! that one method on a private bus as systemd's logind-session-dbus.c
//! checks it. The bar's side runs on a thread whose credentials are
//! `nobody`'s (per-thread setresuid), so its write fails with the real
//! EACCES and the bus sees the real uid.

mod common;
mod support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Child, Command as Proc, Stdio};
use std::time::{Duration, Instant};

use common::fixture::Tree;
use rstat::collect::Sample;
use rstat::modules::{Button, Context, Modules, Segment, Sources};
use rstat::services::bus::{system_clients, BusService};
use rstat::services::{Command, Service};
use support::dbus::PrivateBus;

const PY: &str = "/usr/bin/python3";
const NOBODY: u32 = 65534;
const DEV: &str = "sys/devices/pci0000:00/0000:00:02.0/drm/card1/card1-eDP-1/intel_backlight";

fn texts(m: &mut Modules) -> String {
    let sample = Sample::default();
    m.update_all(&Context {
        now: Instant::now(),
        wall: Duration::from_secs(1_700_000_000),
        sample: &sample,
    });
    let mut out: Vec<Segment> = Vec::new();
    m.write(&mut out);
    out.iter()
        .map(|s| s.text.as_str().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads the bus and hands the modules its state until `done` holds for
/// the module's error or text.
fn pump(
    svc: &mut BusService,
    m: &mut Modules,
    done: impl Fn(&str, Option<&str>) -> bool,
) -> Result<(), String> {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let mut out: Vec<Segment> = Vec::new();
        m.write(&mut out);
        let text = out.first().map_or("", |s| s.text.as_str()).to_string();
        let err = m.iter().next().and_then(|x| x.error()).map(String::from);
        if done(&text, err.as_deref()) {
            return Ok(());
        }
        if Instant::now() >= end {
            return Err(format!("text {text:?}, error {err:?}"));
        }
        let fd = svc.fd().ok_or("not connected")?;
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 100) };
        if svc.dispatch().is_err() {
            svc.disconnect();
        }
        m.on_service(svc.view());
    }
}

#[test]
fn scrolling_without_write_access_goes_through_logind() {
    let gi = Proc::new(PY)
        .args(["-c", "from gi.repository import Gio"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !common::need(
        common::is_root(),
        "needs root (to own the sysfs fixture and run the bar's side as nobody)",
    ) || !common::need(gi, "needs python3-gi (apt-get install python3-gi)")
    {
        return;
    }
    let Some(bus) = PrivateBus::start("logind") else {
        common::need(false, "needs dbus-daemon (apt-get install dbus-daemon)");
        return;
    };

    // An Intel panel as the kernel lays it out, every file root's and 0644,
    // in a directory nobody can reach (the target dir may not be).
    let dir = std::env::temp_dir().join(format!("rstat-bl-logind-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("sys")).unwrap();
    let t = Tree(dir);
    for (f, v) in [
        ("max_brightness", "1000"),
        ("actual_brightness", "500"),
        ("brightness", "500"),
        ("type", "raw"),
    ] {
        t.put(&format!("{DEV}/{f}"), &format!("{v}\n"));
    }
    t.mkdir("sys/class/backlight");
    symlink(
        format!("../../{}", DEV.trim_start_matches("sys/")),
        t.0.join("sys/class/backlight/intel_backlight"),
    )
    .unwrap();

    // logind's stand-in, as root (logind is), the session nobody's.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/logind/standin.py");
    let stderr = bus.dir().join("logind.stderr");
    let log = fs::File::create(&stderr).unwrap();
    let mut cmd = Proc::new(PY);
    cmd.arg(&script)
        .arg(&bus.address)
        .arg(t.0.join("sys"))
        .arg(NOBODY.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log);
    support::proc::die_with_parent(&mut cmd);
    let mut logind: Child = cmd.spawn().expect("start the logind stand-in");
    let mut stdin = logind.stdin.take().unwrap();
    let mut lines = BufReader::new(logind.stdout.take().unwrap()).lines();
    let said = lines.next().and_then(Result::ok);
    let why = || fs::read_to_string(&stderr).unwrap_or_default();
    assert_eq!(said.as_deref(), Some("ready"), "{}", why());

    let address = bus.address.clone();
    let root = t.0.clone();
    // The bar's side, on a thread of nobody's (everything it makes stays
    // on it: modules and connections are not Send).
    let bar = std::thread::spawn(move || {
        // SAFETY: the raw syscall changes this thread's credentials only
        // (glibc's wrapper would change every thread's); the thread ends
        // with the bar's side.
        let r = unsafe { libc::syscall(libc::SYS_setresuid, NOBODY, NOBODY, NOBODY) };
        assert_eq!(r, 0, "setresuid: {}", std::io::Error::last_os_error());
        let cfg = rstat::modules::registry::parse(
            "[bar]\nleft = [\"backlight\"]\ncenter = []\nright = []\n\
             [module.backlight]\nstep = 10\nformat = \"{brightness}\"\n",
            "test.toml",
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let src = Sources {
            roots: rstat::collect::Roots::under(&root),
        };
        let mut m = Modules::with_sources(&cfg, Instant::now(), &src);
        assert_eq!(texts(&mut m), "500");
        let env = move |k: &str| (k == "DBUS_SYSTEM_BUS_ADDRESS").then(|| address.clone());
        let mut svc = BusService::system(&env, system_clients());
        svc.connect().expect("connect to the private bus");
        let level = || {
            fs::read_to_string(root.join(DEV).join("brightness"))
                .unwrap_or_default()
                .trim()
                .to_string()
        };

        // The file is not ours: the module asks logind, which sets it.
        let cmd = m
            .pointer(0, Button::ScrollUp)
            .expect("a request for logind");
        assert_eq!(
            cmd,
            Command::SetBrightness {
                device: "intel_backlight".into(),
                value: 600
            }
        );
        assert_eq!(level(), "500", "we could not write it ourselves");
        svc.run(&cmd).expect("run the command");
        pump(&mut svc, &mut m, |text, _| text == "600").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(level(), "600");
        assert!(m.iter().next().and_then(|x| x.error()).is_none());
        // Steps add up from what logind set.
        for _ in 0..2 {
            let cmd = m.pointer(0, Button::ScrollDown).expect("a request");
            svc.run(&cmd).expect("run the command");
        }
        pump(&mut svc, &mut m, |text, _| text == "400").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(level(), "400");

        // The session passes to someone else: logind refuses, the module
        // says why and keeps showing the level.
        writeln!(stdin, r#"{{"op":"owner","uid":1000}}"#).unwrap();
        assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("ok 1"));
        let cmd = m.pointer(0, Button::ScrollUp).expect("a request");
        svc.run(&cmd).expect("run the command");
        pump(&mut svc, &mut m, |_, e| {
            e.is_some_and(|e| e.contains("Only owner of session may change brightness"))
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(texts(&mut m), "400");
        assert_eq!(level(), "400");

        // No logind at all (the stand-in ends with its stdin; nobody may
        // not kill root's process): the call fails with the bus's word for it.
        drop(stdin);
        drop(lines);
        let _ = logind.wait();
        let cmd = m.pointer(0, Button::ScrollUp).expect("a request");
        svc.run(&cmd).expect("run the command");
        pump(&mut svc, &mut m, |_, e| {
            e.is_some_and(|e| e.contains("logind SetBrightness") && e.contains("ServiceUnknown"))
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(texts(&mut m), "400");
    });
    bar.join().expect("the bar's side");
    drop(bus);
}

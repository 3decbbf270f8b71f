//! The power_profile module against a real power-profiles-daemon on a
//! private system bus this test starts (its placeholder driver offers
//! `power-saver` and `balanced` here): the profile is shown, a click without
//! polkit is refused ("Not Authorized", shown as a clear error), and with
//! Debian's polkitd on the same bus and a rule for the test's user
//! `powerprofilesctl set` is followed and a click changes what
//! `powerprofilesctl get` prints; the daemon restarting, a thousand changes
//! (heap flat) and the bus going away. One test, so the process-wide live
//! heap counts only this.

mod common;
mod support;

use std::path::Path;
use std::process::Command as Proc;
use std::time::{Duration, Instant};

use rstat::modules::{Button, Modules, Segment, Sources};
use rstat::services::bus::{system_clients, BusService};
use rstat::services::Service;
use support::dbus::PrivateBus;
use support::proc::Guarded;

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

const PPD: &str = "/usr/libexec/power-profiles-daemon";
const POLKITD: &str = "/usr/lib/polkit-1/polkitd";

/// Reads the bus until `done` holds for the module's text (or `timeout`).
fn pump_until(
    svc: &mut BusService,
    m: &mut Modules,
    timeout: Duration,
    done: impl Fn(&str) -> bool,
) -> Result<String, String> {
    let end = Instant::now() + timeout;
    loop {
        let t = text(m);
        if done(&t) {
            return Ok(t);
        }
        if Instant::now() >= end {
            return Err(t);
        }
        let Some(fd) = svc.fd() else {
            return Err(format!("{t} (not connected)"));
        };
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 100) };
        match svc.dispatch() {
            Ok(_) => {
                m.on_service(svc.view());
            }
            Err(_) => {
                svc.disconnect();
                m.on_service(svc.view());
            }
        }
    }
}

fn text(m: &mut Modules) -> String {
    let mut out: Vec<Segment> = Vec::new();
    m.write(&mut out);
    out.iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn ctl(address: &str, args: &[&str]) -> (bool, String) {
    let out = Proc::new("powerprofilesctl")
        .args(args)
        .env("DBUS_SYSTEM_BUS_ADDRESS", address)
        .output()
        .expect("run powerprofilesctl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string()
            + &String::from_utf8_lossy(&out.stderr),
    )
}

fn daemon(bus: &PrivateBus) -> Guarded {
    let mut cmd = Proc::new(PPD);
    cmd.env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address);
    let g = Guarded::spawn(
        "power-profiles-daemon",
        &mut cmd,
        &bus.dir().join("ppd.stderr"),
    );
    let ok = support::proc::wait_for(Duration::from_secs(10), || {
        ctl(&bus.address, &["get"]).0.then_some(())
    });
    assert!(ok.is_some(), "the daemon never answered: {}", g.stderr());
    g
}

/// polkitd on `bus`, in a mount namespace of its own where
/// /etc/polkit-1/rules.d is `rules` (the machine's own rules stay as they are).
fn polkitd(bus: &PrivateBus, rules: &Path) -> Guarded {
    let script = format!(
        "mount --make-rprivate / && mount --bind {} /etc/polkit-1/rules.d && exec {POLKITD} --no-debug",
        rules.display()
    );
    let mut cmd = Proc::new("unshare");
    cmd.args(["-m", "sh", "-c", &script])
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address);
    let g = Guarded::spawn("polkitd", &mut cmd, &bus.dir().join("polkitd.stderr"));
    let owned = support::proc::wait_for(Duration::from_secs(10), || {
        let out = Proc::new("dbus-send")
            .args([
                &format!("--bus={}", bus.address),
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.PolicyKit1",
            ])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .contains("boolean true")
            .then_some(())
    });
    assert!(
        owned.is_some(),
        "polkitd never took its name: {}",
        g.stderr()
    );
    g
}

#[test]
fn power_profiles_daemon_on_a_private_system_bus() {
    if !common::need(
        common::is_root(),
        "needs root to run power-profiles-daemon and polkitd",
    ) || !common::need(
        Path::new(PPD).exists() && common::have("powerprofilesctl"),
        "needs power-profiles-daemon (apt-get install power-profiles-daemon)",
    ) || !common::need(
        Path::new(POLKITD).exists(),
        "needs polkitd (apt-get install polkitd)",
    ) {
        return;
    }
    let Some(mut bus) = PrivateBus::start("ppd") else {
        common::need(false, "needs dbus-daemon (apt-get install dbus-daemon)");
        return;
    };
    let mut ppd = daemon(&bus);
    ctl(&bus.address, &["set", "balanced"]);

    let cfg = rstat::modules::registry::parse(
        "[bar]\nleft = [\"power_profile\"]\ncenter = []\nright = []\n",
        "test.toml",
        None,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // No ACPI platform profile under this root: only the daemon speaks.
    let t = common::fixture::Tree::new("ppd-root");
    let mut m = Modules::with_sources(&cfg, Instant::now(), &Sources { roots: t.roots() });
    let addr = bus.address.clone();
    let env = move |k: &str| (k == "DBUS_SYSTEM_BUS_ADDRESS").then(|| addr.clone());
    let mut svc = BusService::system(&env, system_clients());
    svc.connect().expect("connect to the private system bus");
    let wait = Duration::from_secs(10);
    pump_until(&mut svc, &mut m, wait, |t| t == "balanced")
        .unwrap_or_else(|t| panic!("shown: {t:?}"));
    assert_eq!(m.iter().next().and_then(|x| x.state()), Some("balanced"));

    // A click without polkit: the daemon says Not Authorized; the module
    // says so, in the critical colour, and keeps running.
    let cmd = m.pointer(0, Button::Left).expect("a click asks the daemon");
    svc.run(&cmd).expect("run the command");
    pump_until(&mut svc, &mut m, wait, |t| t.contains("not authorized"))
        .unwrap_or_else(|t| panic!("no error shown: {t:?}"));
    assert_eq!(text(&mut m), "power_profile: not authorized");
    let err = m
        .iter()
        .next()
        .and_then(|x| x.error())
        .unwrap_or("")
        .to_string();
    assert!(err.contains("Not Authorized"), "{err}");
    assert_eq!(m.iter().next().and_then(|x| x.state()), Some("error"));
    assert_eq!(ctl(&bus.address, &["get"]).1, "balanced");

    // polkitd with a rule allowing the test's user (root) to switch.
    let rules = bus.dir().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(
        rules.join("50-rstat-test.rules"),
        "polkit.addRule(function(action, subject) {\n\
         if (action.id == \"net.hadess.PowerProfiles.switch-profile\" && subject.user == \"root\") {\n\
         return polkit.Result.YES; }\n});\n",
    )
    .unwrap();
    let _pk = polkitd(&bus, &rules);
    let (ok, out) = ctl(&bus.address, &["set", "power-saver"]);
    assert!(ok, "powerprofilesctl set: {out}");
    pump_until(&mut svc, &mut m, wait, |t| t == "power-saver")
        .unwrap_or_else(|t| panic!("set not followed: {t:?}"));

    // A click: the next profile, as powerprofilesctl sees it.
    let cmd = m.pointer(0, Button::Left).expect("a click asks the daemon");
    svc.run(&cmd).expect("run the command");
    pump_until(&mut svc, &mut m, wait, |t| t == "balanced")
        .unwrap_or_else(|t| panic!("the click did not switch: {t:?}"));
    assert_eq!(ctl(&bus.address, &["get"]).1, "balanced");
    assert!(m.iter().next().and_then(|x| x.error()).is_none());

    // A thousand changes: the live heap stays where it was.
    let set = |p: &str| {
        format!(
            "dbus-send --bus={} --print-reply --dest=net.hadess.PowerProfiles /net/hadess/PowerProfiles \
             org.freedesktop.DBus.Properties.Set string:net.hadess.PowerProfiles string:ActiveProfile variant:string:{p} >/dev/null",
            bus.address
        )
    };
    let mut changes = 0;
    let mut before = 0;
    let rounds = 1000 + 20;
    let script = format!(
        "for i in $(seq {}); do {}; {}; done",
        rounds / 2,
        set("power-saver"),
        set("balanced")
    );
    let mut writer = Proc::new("sh").args(["-c", &script]).spawn().expect("sh");
    // dbus-send and a polkit check per change: slow on a loaded machine.
    let end = Instant::now() + Duration::from_secs(900);
    let mut last = text(&mut m);
    while changes < rounds && Instant::now() < end {
        let fd = svc.fd().expect("connected");
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 200) };
        svc.dispatch().expect("dispatch");
        m.on_service(svc.view());
        let now = text(&mut m);
        if now != last {
            changes += 1;
            last = now;
            if changes == 20 {
                before = common::alloc::live_bytes();
            }
        }
        if writer.try_wait().ok().flatten().is_some() && changes >= rounds - 2 {
            break;
        }
    }
    let _ = writer.wait();
    assert!(changes >= 1000, "only {changes} changes seen");
    let grown = common::alloc::live_bytes() - before;
    assert!(
        grown < 16 << 10,
        "live heap grew {grown} bytes over {changes} changes"
    );

    // The daemon restarts: hidden while it is gone, back after.
    ppd.signal(libc::SIGTERM);
    ppd.wait_exit(Duration::from_secs(5));
    pump_until(&mut svc, &mut m, wait, |t| t.is_empty())
        .unwrap_or_else(|t| panic!("still shown with no daemon: {t:?}"));
    let _ppd = daemon(&bus);
    pump_until(&mut svc, &mut m, wait, |t| !t.is_empty())
        .unwrap_or_else(|t| panic!("not back after the restart: {t:?}"));

    // The bus goes away: hidden, no panic.
    bus.kill();
    pump_until(&mut svc, &mut m, wait, |t| t.is_empty())
        .unwrap_or_else(|t| panic!("still shown with no bus: {t:?}"));
}

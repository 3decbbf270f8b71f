//! The disk and backlight modules against real things: `statvfs` of `/` and
//! of a tmpfs this test mounts, compared with `df`; fixture sysfs trees of
//! the backlight layouts laptops have (intel_backlight, amdgpu_bl0, an ACPI
//! video device); a uevent sent on a netlink socket in the test's own
//! network namespace, which the module follows without waiting for its
//! interval; scrolling, a backlight that goes away and comes back, and the
//! heap over a thousand uevents.

mod common;

use std::fs;
use std::os::fd::RawFd;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::fixture::Tree;
use rstat::collect::disk::DiskPath;
use rstat::collect::Sample;
use rstat::config::Config;
use rstat::modules::{Button, Context, Modules, Segment, Sources};

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

fn config(toml: &str) -> Config {
    rstat::modules::registry::parse(toml, "test.toml", None).unwrap_or_else(|e| panic!("{e}"))
}

fn draw(m: &mut Modules, now: Instant) -> Vec<String> {
    let sample = Sample::default();
    m.update_all(&Context {
        now,
        wall: Duration::from_secs(1_700_000_000),
        sample: &sample,
    });
    texts(m)
}

fn texts(m: &mut Modules) -> Vec<String> {
    let mut out: Vec<Segment> = Vec::new();
    m.write(&mut out);
    out.iter().map(|s| s.text.as_str().to_string()).collect()
}

/// `df -B1` of `path`: (size, used, avail, use%).
fn df(path: &Path) -> (u64, u64, u64, u64) {
    let out = Command::new("df")
        .args(["-B1", "--output=size,used,avail,pcent"])
        .arg(path)
        .output()
        .expect("run df");
    assert!(out.status.success(), "df failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().nth(1).expect("a df line");
    let f: Vec<u64> = line
        .split_whitespace()
        .map(|w| w.trim_end_matches('%').parse().expect("a number"))
        .collect();
    (f[0], f[1], f[2], f[3])
}

#[test]
fn disk_agrees_with_df_for_root() {
    let r = DiskPath::new("/").unwrap().read().expect("statvfs /");
    let (size, used, avail, pct) = df(Path::new("/"));
    assert_eq!(r.total, size, "size");
    // `/` is shared with the other builds on this machine: allow what they
    // may write between the two calls.
    let slack = 256 << 20;
    assert!(
        r.used.abs_diff(used) < slack,
        "used {} vs df {used}",
        r.used
    );
    assert!(
        r.available.abs_diff(avail) < slack,
        "avail {} vs df {avail}",
        r.available
    );
    // df rounds Use% up.
    assert!(
        (r.percent().ceil() as i64 - pct as i64).abs() <= 1,
        "{} vs {pct}",
        r.percent()
    );
}

#[test]
fn disk_agrees_with_df_for_a_tmpfs_and_hides_when_its_path_goes() {
    if !common::need(common::is_root(), "needs root to mount a tmpfs") {
        return;
    }
    let t = Tree::new("disk-tmpfs");
    let mnt = t.0.join("mnt");
    fs::create_dir_all(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64m", "rstat-test"])
        .arg(&mnt)
        .status()
        .expect("run mount");
    assert!(ok.success(), "mount tmpfs");
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _u = Unmount(&mnt);
    fs::write(mnt.join("ten-mib"), vec![7u8; 10 << 20]).unwrap();

    let p = mnt.display().to_string();
    let cfg = config(&format!(
        "[bar]\nleft = [\"disk\"]\ncenter = []\nright = []\n\
         [module.disk]\npaths = [\"{p}\"]\n\
         format = \"{{used_gib:.4}} {{free_gib:.4}} {{total_gib:.4}} {{percent:.2}} {{used}} {{total}}\"\n"
    ));
    let t0 = Instant::now();
    let mut m = Modules::with_sources(&cfg, t0, &Sources::default());
    let shown = draw(&mut m, t0);
    let (size, used, avail, pct) = df(&mnt);
    let gib = |b: u64| format!("{:.4}", b as f64 / (1u64 << 30) as f64);
    let want = format!(
        "{} {} {} {:.2} {} {}",
        gib(used),
        gib(avail),
        gib(size),
        used as f64 * 100.0 / (used + avail) as f64,
        "10M",
        "64M"
    );
    assert_eq!(shown, [want]);
    assert_eq!(size, 64 << 20);
    assert_eq!(pct, 16, "df: 10 of 64 MiB, rounded up");

    // Unmounted and removed: the segment goes, the module says why.
    drop(_u);
    fs::remove_dir_all(&mnt).unwrap();
    let shown = draw(&mut m, t0 + Duration::from_secs(30));
    assert!(shown.is_empty(), "{shown:?}");
    let err = m.iter().next().and_then(|m| m.error()).unwrap_or("");
    assert!(err.contains("statvfs") && err.contains("mnt"), "{err}");
}

/// A backlight device laid out as the kernel does: the class entry is a
/// symlink into the device tree.
fn backlight(t: &Tree, name: &str, device_dir: &str, kind: &str, max: u64, actual: u64) {
    let dev = format!("sys/devices/{device_dir}/{name}");
    t.put(&format!("{dev}/max_brightness"), &format!("{max}\n"));
    t.put(&format!("{dev}/actual_brightness"), &format!("{actual}\n"));
    t.put(&format!("{dev}/brightness"), &format!("{actual}\n"));
    t.put(&format!("{dev}/type"), &format!("{kind}\n"));
    t.put(&format!("{dev}/bl_power"), "0\n");
    t.put(&format!("{dev}/scale"), "unknown\n");
    t.put(&format!("{dev}/uevent"), "");
    t.mkdir("sys/class/backlight");
    let link = t.0.join(format!("sys/class/backlight/{name}"));
    let _ = fs::remove_file(&link);
    let depth = "../../";
    symlink(format!("{depth}devices/{device_dir}/{name}"), &link).unwrap();
}

const INTEL: &str = "pci0000:00/0000:00:02.0/drm/card1/card1-eDP-1";
const AMD: &str = "pci0000:00/0000:00:08.1/0000:04:00.0/drm/card0/card0-eDP-1";
const ACPI: &str = "pci0000:00/0000:00:02.0/backlight";

fn set_level(t: &Tree, name: &str, device_dir: &str, actual: u64) {
    let dev = format!("sys/devices/{device_dir}/{name}");
    t.put(&format!("{dev}/actual_brightness"), &format!("{actual}\n"));
}

fn brightness(t: &Tree, name: &str, device_dir: &str) -> String {
    fs::read_to_string(t.0.join(format!("sys/devices/{device_dir}/{name}/brightness")))
        .unwrap()
        .trim()
        .to_string()
}

const LAYOUT: &str = "[bar]\nleft = [\"backlight\", \"backlight#acpi\"]\ncenter = []\nright = []\n\
    [module.backlight]\nformat = \"{device} {percent:.1} {brightness}/{max} {icon}\"\n\
    [module.\"backlight#acpi\"]\ndevice = \"acpi_video0\"\nformat = \"{device} {percent:.0} {icon}\"\nicons = [\"lo\", \"mid\", \"hi\"]\n";

#[test]
fn backlight_layouts_pick_the_finest_or_the_named_device() {
    // An Intel laptop: the native panel and the ACPI firmware interface.
    let t = Tree::new("bl-intel");
    backlight(&t, "intel_backlight", INTEL, "raw", 96000, 48000);
    backlight(&t, "acpi_video0", ACPI, "firmware", 15, 15);
    let cfg = config(LAYOUT);
    let t0 = Instant::now();
    let src = Sources { roots: t.roots() };
    let mut m = Modules::with_sources(&cfg, t0, &src);
    assert_eq!(
        draw(&mut m, t0),
        ["intel_backlight 50.0 48000/96000 ▅", "acpi_video0 100 hi"]
    );
    // The interval read follows a change.
    set_level(&t, "intel_backlight", INTEL, 960);
    set_level(&t, "acpi_video0", ACPI, 4);
    assert_eq!(
        draw(&mut m, t0 + Duration::from_secs(5)),
        ["intel_backlight 1.0 960/96000 ▁", "acpi_video0 27 lo"]
    );

    // An AMD laptop: amdgpu_bl0 alone; the named ACPI device is absent, so
    // that instance hides.
    let t = Tree::new("bl-amd");
    backlight(&t, "amdgpu_bl0", AMD, "raw", 255, 191);
    let src = Sources { roots: t.roots() };
    let mut m = Modules::with_sources(&cfg, t0, &src);
    assert_eq!(draw(&mut m, t0), ["amdgpu_bl0 74.9 191/255 ▆"]);

    // No backlight at all (a desktop): hidden.
    let t = Tree::new("bl-none");
    let src = Sources { roots: t.roots() };
    let mut m = Modules::with_sources(&cfg, t0, &src);
    assert!(draw(&mut m, t0).is_empty());
}

#[test]
fn backlight_scroll_writes_brightness_or_states_why_not() {
    let t = Tree::new("bl-scroll");
    backlight(&t, "intel_backlight", INTEL, "raw", 1000, 500);
    let cfg = config(
        "[bar]\nleft = [\"backlight\"]\ncenter = []\nright = []\n[module.backlight]\nstep = 10\n",
    );
    let t0 = Instant::now();
    let src = Sources { roots: t.roots() };
    let mut m = Modules::with_sources(&cfg, t0, &src);
    draw(&mut m, t0);
    assert!(m.pointer(0, Button::ScrollUp).is_none());
    assert_eq!(brightness(&t, "intel_backlight", INTEL), "600");
    // The module is due at once, so the bar shows the new level next turn.
    assert!(m.next_due().unwrap() <= Instant::now());
    set_level(&t, "intel_backlight", INTEL, 600);
    draw(&mut m, Instant::now());
    m.pointer(0, Button::ScrollDown);
    m.pointer(0, Button::ScrollDown);
    assert_eq!(brightness(&t, "intel_backlight", INTEL), "400");
    // Never past the ends.
    set_level(&t, "intel_backlight", INTEL, 990);
    draw(&mut m, Instant::now());
    m.pointer(0, Button::ScrollUp);
    assert_eq!(brightness(&t, "intel_backlight", INTEL), "1000");

    // A brightness file that cannot be written: a stated error, the value
    // still shown.
    let f =
        t.0.join(format!("sys/devices/{INTEL}/intel_backlight/brightness"));
    fs::remove_file(&f).unwrap();
    fs::create_dir(&f).unwrap();
    m.pointer(0, Button::ScrollUp);
    let err = m
        .iter()
        .next()
        .and_then(|m| m.error())
        .unwrap_or("")
        .to_string();
    assert!(
        err.contains("writing") && err.contains("brightness"),
        "{err}"
    );
    assert_eq!(draw(&mut m, Instant::now()), ["█  99%"]);
}

#[test]
fn backlight_that_vanishes_hides_and_comes_back() {
    let t = Tree::new("bl-vanish");
    backlight(&t, "intel_backlight", INTEL, "raw", 100, 30);
    let cfg = config("[bar]\nleft = [\"backlight\"]\ncenter = []\nright = []\n");
    let t0 = Instant::now();
    let src = Sources { roots: t.roots() };
    let mut m = Modules::with_sources(&cfg, t0, &src);
    assert_eq!(draw(&mut m, t0), ["▃  30%"]);
    // The driver unbinds: the class entry and the device go.
    fs::remove_file(t.0.join("sys/class/backlight/intel_backlight")).unwrap();
    fs::remove_dir_all(t.0.join(format!("sys/devices/{INTEL}"))).unwrap();
    assert!(draw(&mut m, t0 + Duration::from_secs(5)).is_empty());
    // Garbage where a number belongs: hidden too, with the reason.
    backlight(&t, "intel_backlight", INTEL, "raw", 100, 30);
    t.put(
        &format!("sys/devices/{INTEL}/intel_backlight/actual_brightness"),
        &"x".repeat(1 << 20),
    );
    assert!(draw(&mut m, t0 + Duration::from_secs(10)).is_empty());
    let err = m
        .iter()
        .next()
        .and_then(|m| m.error())
        .unwrap_or("")
        .to_string();
    assert!(err.contains("not a number"), "{err}");
    // Back: shown again.
    set_level(&t, "intel_backlight", INTEL, 70);
    assert_eq!(draw(&mut m, t0 + Duration::from_secs(15)), ["▆  70%"]);
}

/// Sends `msg` to the kernel uevent group (1) of the caller's network
/// namespace, as the kernel would.
fn send_uevent(msg: &[u8]) {
    // SAFETY: plain socket/sendto/close on a socket we own; `sa` and `msg`
    // are valid for the lengths passed.
    unsafe {
        let fd = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::NETLINK_KOBJECT_UEVENT,
        );
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let mut sa: libc::sockaddr_nl = std::mem::zeroed();
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        sa.nl_groups = 1;
        let n = libc::sendto(
            fd,
            msg.as_ptr().cast(),
            msg.len(),
            0,
            &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        );
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        assert_eq!(n, msg.len() as isize, "sendto: {err}");
    }
}

/// Waits until `fd` is readable (at most `ms`).
fn readable(fd: RawFd, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut p, 1, ms) == 1 }
}

fn change_event(name: &str) -> Vec<u8> {
    let path = format!("/devices/{INTEL}/{name}");
    format!(
        "change@{path}\0ACTION=change\0DEVPATH={path}\0SUBSYSTEM=backlight\0SOURCE=sysfs\0SEQNUM=1\0"
    )
    .into_bytes()
}

#[test]
fn a_uevent_in_our_own_netns_updates_at_once_and_the_heap_stays_flat() {
    if !common::need(
        common::is_root(),
        "needs root for a network namespace of its own",
    ) {
        return;
    }
    // A thread of its own: unshare moves only this thread into the new
    // namespace, where the module's socket and ours meet.
    std::thread::spawn(|| {
        // SAFETY: unshare affects only the calling thread here.
        let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
        let t = Tree::new("bl-uevent");
        backlight(&t, "intel_backlight", INTEL, "raw", 1000, 100);
        // A long interval: only the uevent can bring the change.
        let cfg = config(
            "[bar]\nleft = [\"backlight\"]\ncenter = []\nright = []\n\
             [module.backlight]\ninterval_ms = 3600000\nformat = \"{brightness}\"\n",
        );
        let t0 = Instant::now();
        let src = Sources { roots: t.roots() };
        let mut m = Modules::with_sources(&cfg, t0, &src);
        assert_eq!(draw(&mut m, t0), ["100"]);
        let (i, fd) = m.fds().next().expect("the module's uevent socket");

        // Another subsystem's uevent changes nothing.
        set_level(&t, "intel_backlight", INTEL, 200);
        send_uevent(
            b"change@/devices/x/power_supply/BAT0\0ACTION=change\0SUBSYSTEM=power_supply\0",
        );
        assert!(readable(fd, 2000));
        assert!(!m.on_readable(i));
        assert_eq!(texts(&mut m), ["100"]);

        let ev = change_event("intel_backlight");
        send_uevent(&ev);
        assert!(readable(fd, 2000), "no uevent arrived");
        assert!(m.on_readable(i));
        assert_eq!(texts(&mut m), ["200"]);
        assert!(m.next_due().unwrap() > t0 + Duration::from_secs(3000));

        // A thousand events: not one allocation in handling them, so the
        // heap cannot grow with events. (Counted on this thread only: the
        // other tests of this binary run beside it.)
        let mut allocs = 0;
        for k in 0..1000u64 {
            set_level(&t, "intel_backlight", INTEL, 300 + k % 500);
            send_uevent(&ev);
            assert!(readable(fd, 2000));
            let (_, n) = common::alloc::count(|| m.on_readable(i));
            allocs += n;
        }
        assert_eq!(texts(&mut m), [format!("{}", 300 + 999 % 500)]);
        assert_eq!(allocs, 0, "allocations handling 1000 uevents");

        // remove: the module chooses again and hides.
        fs::remove_file(t.0.join("sys/class/backlight/intel_backlight")).unwrap();
        fs::remove_dir_all(t.0.join(format!("sys/devices/{INTEL}"))).unwrap();
        let path = format!("/devices/{INTEL}/intel_backlight");
        send_uevent(
            format!("remove@{path}\0ACTION=remove\0DEVPATH={path}\0SUBSYSTEM=backlight\0")
                .as_bytes(),
        );
        assert!(readable(fd, 2000));
        assert!(m.on_readable(i));
        assert!(texts(&mut m).is_empty());
        // add: back at once.
        backlight(&t, "amdgpu_bl0", AMD, "raw", 255, 255);
        let path = format!("/devices/{AMD}/amdgpu_bl0");
        send_uevent(
            format!("add@{path}\0ACTION=add\0DEVPATH={path}\0SUBSYSTEM=backlight\0").as_bytes(),
        );
        assert!(readable(fd, 2000));
        assert!(m.on_readable(i));
        assert_eq!(texts(&mut m), ["255"]);
    })
    .join()
    .expect("the namespace thread");
}

#[test]
fn once_modules_shows_disk_backlight_and_idle_inhibitor() {
    let t = Tree::new("bl-once");
    symlink("/proc", t.0.join("proc")).unwrap();
    backlight(&t, "intel_backlight", INTEL, "raw", 400, 100);
    let dir = t.0.join("cfg");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    fs::write(
        &path,
        "[bar]\nleft = [\"disk\", \"backlight\", \"idle_inhibitor\"]\ncenter = []\nright = []\n",
    )
    .unwrap();
    let out = Command::new(common::rstat_bin())
        .args(["--once", "--modules", "--interval-ms", "10", "--config"])
        .arg(&path)
        .arg("--root")
        .arg(&t.0)
        .output()
        .expect("run rstat");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(v["disk"]["text"].as_str().unwrap().starts_with("/ "), "{v}");
    // The state follows the built-in levels (85 / 95 %) for what `/` holds now.
    let pct = DiskPath::new("/").unwrap().read().unwrap().percent();
    let want = if pct >= 95.0 {
        "critical"
    } else if pct >= 85.0 {
        "warning"
    } else {
        "normal"
    };
    let state = v["disk"]["state"].as_str().unwrap_or("");
    assert!(
        state == want || (85.0 - pct).abs() < 0.5 || (95.0 - pct).abs() < 0.5,
        "{state} at {pct:.1}%"
    );
    assert_eq!(v["backlight"]["text"], "▃  25%");
    assert_eq!(v["idle_inhibitor"]["text"], "○");
    assert_eq!(v["idle_inhibitor"]["state"], "deactivated");
}

#[test]
fn a_thousand_disk_reads_and_idle_toggles_allocate_nothing() {
    let cfg = config(
        "[bar]\nleft = [\"disk\", \"idle_inhibitor\"]\ncenter = []\nright = []\n\
         [module.disk]\npaths = [\"/\", \"/no/such/mount\"]\n",
    );
    let t0 = Instant::now();
    let mut m = Modules::with_sources(&cfg, t0, &Sources::default());
    draw(&mut m, t0);
    // The idle inhibitor's segment is the disk's one visible path's next.
    let segs = texts(&mut m);
    assert_eq!(segs.len(), 2, "{segs:?}");
    assert!(m.iter().next().and_then(|d| d.error()).is_some());
    let sample = Sample::default();
    let mut out: Vec<Segment> = Vec::with_capacity(16);
    let mut allocs = 0;
    for k in 1..=1000u64 {
        let now = t0 + Duration::from_secs(30 * k);
        let (_, n) = common::alloc::count(|| {
            m.pointer(1, Button::Left);
            m.update_due(&Context {
                now,
                wall: Duration::from_secs(1_700_000_000),
                sample: &sample,
            });
            m.write(&mut out);
        });
        allocs += n;
    }
    assert_eq!(allocs, 0, "allocations in 1000 disk reads and idle toggles");
    assert!(!m.inhibits_idle(), "an even number of toggles");
    m.pointer(1, Button::Left);
    assert!(m.inhibits_idle());
    draw(&mut m, Instant::now());
    assert_eq!(texts(&mut m)[1], "●");
}

#[test]
fn power_profile_falls_back_to_the_acpi_platform_profile() {
    // A laptop whose firmware offers profiles, no power-profiles-daemon (no
    // bus here at all): the kernel's platform_profile, read at the interval.
    let t = Tree::new("acpi-profile");
    t.put("sys/firmware/acpi/platform_profile", "low-power\n");
    t.put(
        "sys/firmware/acpi/platform_profile_choices",
        "low-power balanced performance\n",
    );
    let cfg = config(
        "[bar]\nleft = [\"power_profile\"]\ncenter = []\nright = []\n\
         [module.power_profile]\nformat = \"{profile} ({source})\"\n",
    );
    let t0 = Instant::now();
    let src = Sources { roots: t.roots() };
    let mut m = Modules::with_sources(&cfg, t0, &src);
    assert_eq!(draw(&mut m, t0), ["low-power (acpi)"]);
    assert_eq!(m.iter().next().and_then(|x| x.state()), Some("low-power"));
    // Not switchable from the bar without the daemon.
    assert!(m.pointer(0, Button::Left).is_none());
    // The firmware switched (a hotkey): the next interval read shows it.
    t.put(
        "sys/firmware/acpi/platform_profile",
        "balanced-performance\n",
    );
    assert_eq!(
        draw(&mut m, t0 + Duration::from_secs(5)),
        ["balanced-performance (acpi)"]
    );
    assert_eq!(
        m.iter().next().and_then(|x| x.state()),
        Some("balanced-performance")
    );
    // No platform_profile (a desktop): hidden.
    let t = Tree::new("acpi-none");
    let src = Sources { roots: t.roots() };
    let mut m = Modules::with_sources(&cfg, t0, &src);
    assert!(draw(&mut m, t0).is_empty());
}

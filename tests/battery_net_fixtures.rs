//! Battery and network readers against fixture trees with the layouts real
//! laptops have, plus the network reader against this machine.

mod common;

#[global_allocator]
static A: common::alloc::Counting = common::alloc::Counting;

use std::fs;
use std::time::{Duration, Instant};

use rstat::collect::battery::{Batteries, Status};
use rstat::collect::net::{Family, Link, Network};
use rstat::collect::Roots;

use common::fixture::Tree;

/// An energy-reporting battery (ThinkPads, most Intel laptops), values in µWh/µW.
fn energy_battery(t: &Tree, name: &str, status: &str, now: u64, full: u64, power: u64) {
    let d = format!("sys/class/power_supply/{name}");
    t.put(&format!("{d}/type"), "Battery\n");
    t.put(&format!("{d}/scope"), "System\n");
    t.put(&format!("{d}/status"), &format!("{status}\n"));
    t.put(&format!("{d}/present"), "1\n");
    t.put(&format!("{d}/energy_now"), &format!("{now}\n"));
    t.put(&format!("{d}/energy_full"), &format!("{full}\n"));
    t.put(&format!("{d}/energy_full_design"), &format!("{full}\n"));
    t.put(&format!("{d}/power_now"), &format!("{power}\n"));
    t.put(&format!("{d}/voltage_now"), "12400000\n");
    t.put(&format!("{d}/capacity"), &format!("{}\n", now * 100 / full));
}

fn ac(t: &Tree, online: bool) {
    t.put("sys/class/power_supply/AC/type", "Mains\n");
    t.put(
        "sys/class/power_supply/AC/online",
        if online { "1\n" } else { "0\n" },
    );
}

#[test]
fn a_laptop_discharging() {
    let t = Tree::new("bat-discharging");
    ac(&t, false);
    energy_battery(
        &t,
        "BAT0",
        "Discharging",
        30_000_000,
        50_000_000,
        10_000_000,
    );
    let r = Batteries::discover(&t.sys()).read().expect("a battery");
    assert_eq!(r.count, 1);
    assert_eq!(r.status, Status::Discharging);
    assert!((r.percent - 60.0).abs() < 0.01, "{r:?}");
    assert_eq!(r.time_to_empty_s, Some(3 * 3600));
    assert_eq!(r.time_to_full_s, None);
    assert_eq!(r.power_w, Some(10.0));
}

#[test]
fn a_laptop_charging_that_reports_charge() {
    // Many AMD and older laptops report µAh / µA and a design voltage.
    let t = Tree::new("bat-charging");
    ac(&t, true);
    let d = "sys/class/power_supply/BAT1";
    t.put(&format!("{d}/type"), "Battery\n");
    t.put(&format!("{d}/status"), "Charging\n");
    t.put(&format!("{d}/charge_now"), "2000000\n");
    t.put(&format!("{d}/charge_full"), "4000000\n");
    t.put(&format!("{d}/current_now"), "1000000\n");
    t.put(&format!("{d}/voltage_min_design"), "11100000\n");
    t.put(&format!("{d}/voltage_now"), "12000000\n");
    let r = Batteries::discover(&t.sys()).read().expect("a battery");
    assert_eq!(r.status, Status::Charging);
    assert!((r.percent - 50.0).abs() < 0.01, "{r:?}");
    assert_eq!(r.time_to_full_s, Some(2 * 3600));
    assert_eq!(r.time_to_empty_s, None);
    assert!((r.power_w.unwrap() - 11.1).abs() < 0.01);
}

#[test]
fn two_batteries_combine_and_peripherals_are_ignored() {
    // A T480-style internal + external pair: one drains while the other idles full.
    let t = Tree::new("bat-two");
    ac(&t, false);
    energy_battery(
        &t,
        "BAT0",
        "Discharging",
        30_000_000,
        50_000_000,
        10_000_000,
    );
    energy_battery(&t, "BAT1", "Unknown", 20_000_000, 20_000_000, 0);
    t.put("sys/class/power_supply/hidpp_battery_0/type", "Battery\n");
    t.put("sys/class/power_supply/hidpp_battery_0/scope", "Device\n");
    t.put("sys/class/power_supply/hidpp_battery_0/capacity", "5\n");
    t.put(
        "sys/class/power_supply/hidpp_battery_0/status",
        "Discharging\n",
    );
    let r = Batteries::discover(&t.sys()).read().expect("batteries");
    assert_eq!(r.count, 2, "the mouse battery is not the laptop's");
    assert_eq!(r.status, Status::Discharging);
    assert!((r.percent - 50.0 / 70.0 * 100.0).abs() < 0.01, "{r:?}");
    assert_eq!(
        r.time_to_empty_s,
        Some(5 * 3600),
        "both batteries' energy over the draw"
    );
}

#[test]
fn full_capacity_only_and_none() {
    let t = Tree::new("bat-full");
    energy_battery(&t, "BAT0", "Full", 50_000_000, 50_000_000, 0);
    let r = Batteries::discover(&t.sys()).read().unwrap();
    assert_eq!(
        (r.status, r.percent, r.time_to_empty_s, r.power_w),
        (Status::Full, 100.0, None, None)
    );

    let t = Tree::new("bat-capacity");
    t.put("sys/class/power_supply/BAT0/type", "Battery\n");
    t.put("sys/class/power_supply/BAT0/capacity", "42\n");
    t.put("sys/class/power_supply/BAT0/status", "Discharging\n");
    let r = Batteries::discover(&t.sys()).read().unwrap();
    assert_eq!(
        (r.percent, r.status, r.time_to_empty_s),
        (42.0, Status::Discharging, None)
    );

    let t = Tree::new("bat-none");
    ac(&t, true);
    let mut b = Batteries::discover(&t.sys());
    assert!(b.is_empty());
    assert_eq!(b.read(), None);
}

#[test]
fn a_battery_whose_files_turn_odd_reads_as_absent() {
    let t = Tree::new("bat-odd");
    energy_battery(
        &t,
        "BAT0",
        "Discharging",
        30_000_000,
        50_000_000,
        10_000_000,
    );
    let mut b = Batteries::discover(&t.sys());
    assert!(b.read().is_some());
    t.put("sys/class/power_supply/BAT0/energy_now", "");
    assert_eq!(b.read(), None);
    t.put("sys/class/power_supply/BAT0/energy_now", "25000000\n");
    assert!((b.read().unwrap().percent - 50.0).abs() < 0.01);
}

const ROUTE_HEADER: &str =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

fn wired_and_wifi(t: &Tree) {
    t.mkdir("sys/class/net/enp3s0/device");
    t.put("sys/class/net/enp3s0/operstate", "up\n");
    t.put("sys/class/net/enp3s0/statistics/rx_bytes", "1000000\n");
    t.put("sys/class/net/enp3s0/statistics/tx_bytes", "500000\n");
    t.mkdir("sys/class/net/wlan0/device");
    t.mkdir("sys/class/net/wlan0/wireless");
    t.put("sys/class/net/wlan0/operstate", "up\n");
    t.put("sys/class/net/wlan0/statistics/rx_bytes", "0\n");
    t.put("sys/class/net/wlan0/statistics/tx_bytes", "0\n");
    t.put(
        "proc/net/wireless",
        "Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n \
face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n \
wlan0: 0000   63.  -47.  -256        0      0      0      0      3        0\n",
    );
}

#[test]
fn network_follows_the_default_route_and_counts_rates() {
    let t = Tree::new("net");
    wired_and_wifi(&t);
    t.put(
        "proc/net/route",
        &format!("{ROUTE_HEADER}enp3s0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\nwlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"),
    );
    let mut net = Network::open(&t.roots());
    let t0 = Instant::now();
    let r = net.read(t0).expect("a default route");
    assert_eq!(r.iface.as_str(), "enp3s0");
    assert_eq!(r.link, Link::Wired);
    assert!(r.up);
    assert_eq!(
        (r.rx_bytes_per_s, r.tx_bytes_per_s),
        (0, 0),
        "first reading sets the baseline"
    );
    assert_eq!(r.ipv4, None, "no such interface on this machine");
    assert_eq!(r.signal_percent, None);

    t.put("sys/class/net/enp3s0/statistics/rx_bytes", "3000000\n");
    t.put("sys/class/net/enp3s0/statistics/tx_bytes", "1500000\n");
    let r = net.read(t0 + Duration::from_secs(2)).unwrap();
    assert_eq!((r.rx_bytes_per_s, r.tx_bytes_per_s), (1_000_000, 500_000));

    // Cable pulled: the wifi route takes over.
    t.put("sys/class/net/enp3s0/operstate", "down\n");
    t.put(
        "proc/net/route",
        &format!("{ROUTE_HEADER}wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"),
    );
    let r = net.read(t0 + Duration::from_secs(3)).unwrap();
    assert_eq!(r.iface.as_str(), "wlan0");
    assert_eq!(r.link, Link::Wireless);
    assert_eq!(r.signal_percent, Some(90));
    assert_eq!(r.rx_bytes_per_s, 0, "a new interface starts a new baseline");

    // Offline.
    t.put("proc/net/route", ROUTE_HEADER);
    assert_eq!(net.read(t0 + Duration::from_secs(4)), None);
}

/// The kernel-format tables of `tests/fixtures/net/NAME/` into `t`'s proc.
fn net_fixture(t: &Tree, name: &str) {
    for file in ["route", "ipv6_route", "if_inet6"] {
        let src = format!(
            "{}/tests/fixtures/net/{name}/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        t.put(
            &format!("proc/net/{file}"),
            &fs::read_to_string(&src).expect("the fixture"),
        );
    }
}

#[test]
fn an_ipv6_only_modem_is_connected_and_a_dual_stack_laptop_shows_both() {
    let t = Tree::new("net-v6");
    t.mkdir("sys/class/net/wwan0/device");
    t.put("sys/class/net/wwan0/operstate", "up\n");
    t.put("sys/class/net/wwan0/statistics/rx_bytes", "10\n");
    t.put("sys/class/net/wwan0/statistics/tx_bytes", "20\n");
    net_fixture(&t, "ipv6only");
    let mut net = Network::open(&t.roots());
    let r = net.read(Instant::now()).expect("connected over IPv6");
    assert_eq!(
        r.iface.as_str(),
        "wwan0",
        "the modem's metric 1024, not wifi's 20600"
    );
    assert!(r.up && r.via_ipv6);
    assert_eq!(r.gateway, Some("fe80::6c:a1ff:fe00:1".parse().unwrap()));
    assert_eq!(r.ipv4, None);
    assert_eq!(
        (r.ipv6, r.ipv6_prefix),
        (Some("2001:db8:77::5c1e:1".parse().unwrap()), 64),
        "the settled global address: not the tentative one, not link-local"
    );
    net.set_family(Family::V4);
    assert_eq!(
        net.read(Instant::now()),
        None,
        "family = ipv4: no connection"
    );

    let t = Tree::new("net-dual");
    wired_and_wifi(&t);
    net_fixture(&t, "dualstack");
    let mut net = Network::open(&t.roots());
    let r = net.read(Instant::now()).expect("connected");
    assert_eq!((r.iface.as_str(), r.via_ipv6), ("wlan0", false));
    assert_eq!(r.gateway, Some("192.168.1.1".parse().unwrap()));
    assert_eq!(
        r.ipv6,
        Some("2001:db8:1:2:21e:6ff:fe45:ab12".parse().unwrap()),
        "stable before temporary, current before deprecated"
    );
    net.set_family(Family::V6V4);
    let r = net.read(Instant::now()).expect("connected");
    assert_eq!(r.gateway, Some("fe80::1".parse().unwrap()));
    assert!(r.via_ipv6);
}

/// Writes raw bytes (not UTF-8 text) to a file of `t`'s proc.
fn put_proc(t: &Tree, rel: &str, bytes: &[u8]) {
    fs::write(t.roots().proc.join(rel), bytes).expect("write the fixture");
}

#[test]
fn garbage_truncated_and_vanishing_tables_give_a_clear_state() {
    let t = Tree::new("net-junk");
    wired_and_wifi(&t);
    net_fixture(&t, "dualstack");
    let mut net = Network::open(&t.roots());
    assert!(net.read(Instant::now()).is_some());
    let whole = fs::read(format!(
        "{}/tests/fixtures/net/ipv6only/ipv6_route",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    t.put("proc/net/route", ROUTE_HEADER);
    // Every cut of the IPv6 table: offline, or the modem's full name.
    for cut in 0..whole.len() {
        put_proc(&t, "net/ipv6_route", &whole[..cut]);
        if let Some(r) = net.read(Instant::now()) {
            assert!(
                ["wwan0", "wlan0"].contains(&r.iface.as_str()),
                "cut {cut}: {r:?}"
            );
        }
    }
    for junk in [
        &b"\xff\xfe\x00\x01 binary \x7f\n"[..],
        b"00000000000000000000000000000000 00\n",
        &[b'0'; 40000][..],
        b"",
    ] {
        put_proc(&t, "net/ipv6_route", junk);
        put_proc(&t, "net/if_inet6", junk);
        put_proc(&t, "net/route", junk);
        assert_eq!(net.read(Instant::now()), None);
    }
    // The tables gone (the namespace's proc vanished): offline.
    for file in ["route", "ipv6_route", "if_inet6"] {
        let _ = fs::remove_file(t.roots().proc.join("net").join(file));
    }
    let mut net = Network::open(&t.roots());
    assert_eq!(net.read(Instant::now()), None);
    // A route to an interface that is gone from sysfs: shown down, no rates.
    let t = Tree::new("net-gone");
    net_fixture(&t, "ipv6only");
    let mut net = Network::open(&t.roots());
    let r = net.read(Instant::now()).expect("the route is there");
    assert_eq!(
        (r.iface.as_str(), r.up, r.rx_bytes_per_s),
        ("wwan0", false, 0)
    );
}

#[test]
fn network_on_this_machine() {
    let route = fs::read_to_string("/proc/net/route").unwrap_or_default();
    let Some(iface) = route
        .lines()
        .skip(1)
        .find(|l| l.split_whitespace().nth(1) == Some("00000000"))
        .and_then(|l| l.split_whitespace().next())
    else {
        eprintln!("SKIPPED: this machine has no IPv4 default route");
        return;
    };
    let mut net = Network::open(&Roots::default());
    let r = net.read(Instant::now()).expect("the default route");
    assert_eq!(r.iface.as_str(), iface);
    let ip = r
        .ipv4
        .expect("the default-route interface has an IPv4 address");
    assert_ne!(ip, [0, 0, 0, 0]);
    // The address is one of the kernel's local addresses.
    let trie = fs::read_to_string("/proc/net/fib_trie").unwrap_or_default();
    let dotted = format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]);
    assert!(trie.contains(&dotted), "{dotted} not in /proc/net/fib_trie");
}

/// The network reader in a network namespace of the test's own (a thread
/// unshared from the host's, reading `/proc/thread-self` and a sysfs
/// mounted in its own mount namespace): the route table is read at the
/// first reading and again only after the kernel's route socket said
/// something changed. A default route over `lo`, a new address and the
/// link taken down are each heard on the socket (no interval passes) and
/// shown; readings with no change in between do not read the route.
#[test]
fn the_route_is_read_again_only_when_the_kernel_says_it_changed() {
    on_a_thread_of_its_own(in_own_netns);
}

/// Runs `body` (which unshares its thread's network and mount namespaces)
/// on a thread of its own, so the test's other threads keep the host's; a
/// panic there is the test's. Skipped without root or `ip`.
fn on_a_thread_of_its_own(body: fn()) {
    if !common::need(
        common::is_root(),
        "a network namespace of its own needs root",
    ) || !common::need(common::have("ip"), "this test needs `ip` (iproute2)")
    {
        return;
    }
    if let Err(e) = std::thread::spawn(body).join() {
        std::panic::resume_unwind(e);
    }
}

/// This thread in a network and mount namespace of its own, with a sysfs
/// of that namespace mounted; returns the roots to read it through (or
/// `None`: the test is skipped) and a guard unmounting it.
fn own_netns(tag: &str) -> Option<(Roots, SysMount)> {
    use std::ffi::CString;
    // SAFETY: unshare of this thread's own network and mount namespaces
    // (the thread ends with the test; no other thread is affected).
    if unsafe { libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS) } != 0 {
        let e = std::io::Error::last_os_error();
        common::need(false, &format!("unshare(CLONE_NEWNET | CLONE_NEWNS): {e}"));
        return None;
    }
    let sys = std::env::temp_dir().join(format!("rstat-netns-sys-{tag}-{}", std::process::id()));
    fs::create_dir_all(&sys).expect("make the sysfs mount point");
    let c = |s: &str| CString::new(s).expect("no NUL");
    let (root, none, sysfs, at) = (
        c("/"),
        c("none"),
        c("sysfs"),
        c(sys.to_str().expect("a UTF-8 temp dir")),
    );
    // SAFETY: mount(2) with NUL-terminated strings in our own mount
    // namespace: first private (nothing propagates to the host's), then a
    // sysfs showing this namespace's interfaces.
    let mounted = unsafe {
        libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) == 0
            && libc::mount(
                none.as_ptr(),
                at.as_ptr(),
                sysfs.as_ptr(),
                0,
                std::ptr::null(),
            ) == 0
    };
    assert!(mounted, "mount sysfs: {}", std::io::Error::last_os_error());
    let roots = Roots {
        proc: "/proc/thread-self".into(),
        sys: sys.clone(),
    };
    Some((roots, SysMount(at, sys)))
}

/// Unmounts the namespace's sysfs and removes its mount point.
struct SysMount(std::ffi::CString, std::path::PathBuf);

impl Drop for SysMount {
    fn drop(&mut self) {
        // SAFETY: unmounting our own mount, by its NUL-terminated path.
        unsafe { libc::umount(self.0.as_ptr()) };
        let _ = fs::remove_dir(&self.1);
    }
}

/// Runs `ip` with `args`; panics with its stderr when it fails.
fn ip(args: &[&str]) {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .expect("run ip");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn in_own_netns() {
    let Some((roots, _mount)) = own_netns("v4") else {
        return;
    };
    let mut net = Network::open_watching(&roots);
    let fd = net.fd().expect("a route socket");
    // Waits for change messages until a reading satisfies `want`.
    let until = |net: &mut Network,
                 want: &dyn Fn(&Option<rstat::collect::net::NetReading>) -> bool| {
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, bounded timeout.
            unsafe { libc::poll(&mut p, 1, 200) };
            if net.drain() {
                let r = net.read(Instant::now());
                if want(&r) {
                    return r;
                }
            }
        }
        panic!("no change message brought the reading expected");
    };

    // A new namespace: `lo` down, no route.
    assert_eq!(net.read(Instant::now()), None);
    assert_eq!(net.route_reads(), 1);
    assert_eq!(net.read(Instant::now()), None);
    assert_eq!(
        net.route_reads(),
        1,
        "offline, nothing changed: not read again"
    );

    ip(&["link", "set", "lo", "up"]);
    ip(&["route", "add", "default", "dev", "lo"]);
    let r = until(&mut net, &|r| r.is_some()).expect("a default route");
    assert_eq!(r.iface.as_str(), "lo");
    assert!(r.up, "lo's operstate is `unknown`: up");
    assert_eq!(r.ipv4, Some([127, 0, 0, 1]));
    let reads = net.route_reads();
    for _ in 0..5 {
        let again = net.read(Instant::now()).expect("still routed");
        assert_eq!(again.iface.as_str(), "lo");
    }
    assert_eq!(
        net.route_reads(),
        reads,
        "nothing changed: the route not read again"
    );

    // A new address (its first one gone, which takes the route with it;
    // the route back).
    ip(&["addr", "flush", "dev", "lo"]);
    ip(&["addr", "add", "10.77.0.2/8", "dev", "lo"]);
    ip(&["route", "add", "default", "dev", "lo"]);
    let r = until(&mut net, &|r| {
        r.as_ref().and_then(|r| r.ipv4) == Some([10, 77, 0, 2])
    });
    assert_eq!(
        r.map(|r| r.iface),
        Some(rstat::collect::sample::ShortStr::from_bytes(b"lo"))
    );

    // Down: the route goes with the link.
    ip(&["link", "set", "lo", "down"]);
    until(&mut net, &|r| r.is_none());
    let reads = net.route_reads();
    assert_eq!(net.read(Instant::now()), None);
    assert_eq!(net.route_reads(), reads);
}

/// The network module on an IPv6-only network (a veth pair in a network
/// namespace of the test's own: a global IPv6 address, a `::/0` default
/// route, no IPv4 default — what a mobile carrier or a 464XLAT network
/// gives): shown connected with that address, where it showed nothing
/// before. The route removed and added again and the address changed are
/// each heard on the route socket and shown; readings in between read only
/// the byte counters (the route tables not again) and allocate nothing.
/// Then an IPv4 default beside it: IPv4 wins unless `prefer = "ipv6"`, and
/// `family = "ipv4"` (Waybar's default) ignores the IPv6 route.
#[test]
fn an_ipv6_only_network_is_followed_and_its_changes_heard() {
    on_a_thread_of_its_own(in_ipv6_only_netns);
}

fn module_spec(toml: &str) -> rstat::config::Module {
    let cfg =
        rstat::modules::registry::parse(toml, "test.toml", None).unwrap_or_else(|e| panic!("{e}"));
    cfg.modules
        .into_iter()
        .find(|m| m.name == "network")
        .expect("the network module")
}

fn segment_text(m: &rstat::modules::network::Network) -> Option<String> {
    use rstat::modules::Module;
    let mut out = Vec::new();
    m.write(&mut out);
    out.first().map(|s| s.text.as_str().to_string())
}

/// The port id the kernel gave a bound netlink socket.
fn netlink_port(fd: i32) -> u32 {
    // SAFETY: all-zero is a valid sockaddr_nl; getsockname writes at most
    // `len` bytes into it.
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: as above; `fd` is the collector's open socket.
    let rc = unsafe { libc::getsockname(fd, (&mut sa as *mut libc::sockaddr_nl).cast(), &mut len) };
    assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
    sa.nl_pid
}

/// Sends `msg` as one datagram to netlink port `port` from a fresh
/// `NETLINK_ROUTE` socket; false when the kernel refuses (its queue full).
fn send_netlink(port: u32, msg: &[u8]) -> bool {
    thread_local! {
        static SENDER: i32 = {
            // SAFETY: plain socket(2); checked below.
            let fd = unsafe {
                libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, libc::NETLINK_ROUTE)
            };
            assert!(fd >= 0, "netlink socket: {}", std::io::Error::last_os_error());
            fd
        };
    }
    // SAFETY: all-zero is a valid sockaddr_nl.
    let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    to.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    to.nl_pid = port;
    SENDER.with(|&fd| {
        // SAFETY: `msg` is valid for reads of its length; `to` is a valid
        // sockaddr_nl of the size passed.
        let n = unsafe {
            libc::sendto(
                fd,
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&to as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        n >= 0
    })
}

/// The `Drops` of netlink socket `port` in this namespace's
/// `/proc/net/netlink` (broadcasts lost to a full queue).
fn netlink_drops(port: u32) -> u64 {
    let t = fs::read_to_string("/proc/thread-self/net/netlink").expect("/proc/net/netlink");
    t.lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(1) == Some(&"0") && f.get(2) == Some(&port.to_string().as_str()))
        .and_then(|f| f.get(8).and_then(|d| d.parse().ok()))
        .expect("the route socket in /proc/net/netlink")
}

/// Waits up to 200 ms for `fd` to be readable.
fn wait_readable(fd: i32) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, bounded timeout.
    unsafe { libc::poll(&mut p, 1, 200) };
}

fn in_ipv6_only_netns() {
    use rstat::collect::Sample;
    use rstat::modules::network::Network as NetModule;
    use rstat::modules::{Align, Context, Module, Palette, Placement};

    let Some((roots, _mount)) = own_netns("v6") else {
        return;
    };
    let spec = module_spec(
        "[bar]\nright = [\"network\"]\n[module.network]\n\
         format = \"{ifname} {family} {ipaddr}/{cidr} via {gwaddr} v4={ipv4} v6={ipv6}/{cidr6}\"\n",
    );
    let place = Placement {
        align: Align::Right,
        palette: Palette::default(),
    };
    let mut m =
        NetModule::with_source(&spec, place, Instant::now(), Network::open_watching(&roots));
    let fd = m.source_mut().fd().expect("a route socket");
    let sample = Sample::default();
    let cx = |now| Context {
        now,
        wall: Duration::from_secs(1_700_000_000),
        sample: &sample,
    };
    // Waits for change messages, shown as the bar shows them (the module's
    // `on_readable`), until the text satisfies `want`.
    let until = |m: &mut NetModule, what: &str, want: &dyn Fn(&Option<String>) -> bool| {
        let end = Instant::now() + Duration::from_secs(20);
        let mut last = None;
        while Instant::now() < end {
            let mut p = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, bounded timeout.
            unsafe { libc::poll(&mut p, 1, 200) };
            m.on_readable();
            last = segment_text(m);
            if want(&last) {
                return last;
            }
        }
        panic!("{what}: no change message brought it; last shown {last:?}");
    };

    // Nothing yet: hidden.
    m.update(&cx(Instant::now()));
    assert_eq!(segment_text(&m), None);

    let veth = std::process::Command::new("ip")
        .args([
            "link", "add", "v6up", "type", "veth", "peer", "name", "v6peer",
        ])
        .output()
        .expect("run ip");
    if !common::need(
        veth.status.success(),
        &format!(
            "a veth pair (kernel without veth?): {}",
            String::from_utf8_lossy(&veth.stderr).trim()
        ),
    ) {
        return;
    }
    // No address of the kernel's own: its link-local one's duplicate
    // address detection ends with a message a second or two later, which
    // would make any step below look heard. A link-local one without
    // detection instead, which must never be shown beside a global one.
    ip(&["link", "del", "v6up"]);
    setup_v6_link();
    ip(&[
        "-6",
        "addr",
        "add",
        "2001:db8:6::2/64",
        "dev",
        "v6up",
        "nodad",
    ]);
    // A deprecated one beside it (preferred lifetime 0): never shown while
    // the current one is there.
    ip(&[
        "-6",
        "addr",
        "add",
        "2001:db8:6::5/64",
        "dev",
        "v6up",
        "nodad",
        "preferred_lft",
        "0",
    ]);
    ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8:6::1",
        "dev",
        "v6up",
    ]);
    let want = "v6up ipv6 2001:db8:6::2/64 via 2001:db8:6::1 v4=-- v6=2001:db8:6::2/64";
    let shown = until(&mut m, "connected over IPv6", &|t| {
        t.as_deref() == Some(want)
    });
    assert_eq!(shown.as_deref(), Some(want));
    let inet6 = fs::read_to_string("/proc/thread-self/net/if_inet6").unwrap_or_default();
    assert!(
        inet6
            .lines()
            .any(|l| l.starts_with("fe80") && l.ends_with("v6up")),
        "the link has a link-local address too: {inet6}"
    );

    // Steady: readings at the interval read the byte counters only, and
    // allocate nothing.
    let reads = m.source_mut().route_reads();
    let mut allocs = 0;
    let t0 = Instant::now();
    for i in 1..=5 {
        let now = t0 + Duration::from_secs(i);
        let (_, n) = common::alloc::count(|| m.update(&cx(now)));
        allocs += n;
        assert_eq!(segment_text(&m).as_deref(), Some(want));
    }
    assert_eq!(
        m.source_mut().route_reads(),
        reads,
        "nothing changed: the route tables not read again"
    );
    assert_eq!(allocs, 0, "allocations in 5 steady readings");

    // Messages of any shape on the socket (sent to its port by another
    // netlink socket of this namespace, as root may): one byte (the kernel
    // refuses an empty one), junk, a header
    // claiming more than it holds, 60 KiB, then enough to overrun the
    // queue (ENOBUFS). Each drain says "read again"; the tables say the
    // truth: the same text, no panic.
    let port = netlink_port(fd);
    let junk: [&[u8]; 4] = [
        b"\0",
        b"\xff\x00garbage",
        &[0xff, 0xff, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[0x5a; 60 * 1024],
    ];
    for msg in junk {
        let reads = m.source_mut().route_reads();
        assert!(
            send_netlink(port, msg),
            "sendto the route socket ({} bytes): {}",
            msg.len(),
            std::io::Error::last_os_error()
        );
        let end = Instant::now() + Duration::from_secs(20);
        while m.source_mut().route_reads() == reads && Instant::now() < end {
            wait_readable(fd);
            m.on_readable();
        }
        assert!(
            m.source_mut().route_reads() > reads,
            "{} bytes heard",
            msg.len()
        );
        assert_eq!(segment_text(&m).as_deref(), Some(want));
    }
    let reads = m.source_mut().route_reads();
    let mut sent = 0;
    while sent < 100_000 && send_netlink(port, &[0; 1024]) {
        sent += 1;
    }
    assert!(
        m.source_mut().drain(),
        "after {sent} messages (its queue full)"
    );
    m.update(&cx(t0 + Duration::from_secs(6)));
    assert_eq!(m.source_mut().route_reads(), reads + 1);
    assert_eq!(segment_text(&m).as_deref(), Some(want));

    // A burst of real changes overrunning the socket's queue (the kernel
    // drops broadcasts and the next receive says ENOBUFS): 2000 routes
    // added with the socket's buffer at its smallest; drained, it says
    // "read again", and the reading is right.
    let small: libc::c_int = 0;
    // SAFETY: setsockopt on the collector's socket with an int of the
    // size passed (the kernel rounds it up to its minimum).
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&small as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    let batch = std::env::temp_dir().join(format!("rstat-netns-batch-{}", std::process::id()));
    let add: String = (0..2000)
        .map(|i| format!("route add 2001:db8:100:{i:x}::/64 via 2001:db8:6::1 dev v6up\n"))
        .collect();
    fs::write(&batch, add).expect("write the batch");
    ip(&["-6", "-batch", batch.to_str().expect("UTF-8")]);
    let _ = fs::remove_file(&batch);
    assert!(
        netlink_drops(port) > 0,
        "the burst overran the socket (its Drops in /proc/net/netlink)"
    );
    let reads = m.source_mut().route_reads();
    assert!(m.source_mut().drain(), "the overrun heard");
    m.update(&cx(t0 + Duration::from_secs(7)));
    assert_eq!(m.source_mut().route_reads(), reads + 1);
    assert_eq!(segment_text(&m).as_deref(), Some(want));

    // The route removed: offline (hidden), heard; added back: shown again.
    ip(&["-6", "route", "del", "default", "dev", "v6up"]);
    until(&mut m, "the route removed", &|t| t.is_none());
    let reads = m.source_mut().route_reads();
    ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8:6::1",
        "dev",
        "v6up",
    ]);
    until(&mut m, "the route back", &|t| t.as_deref() == Some(want));
    assert!(m.source_mut().route_reads() > reads, "read on the message");

    // The address changed.
    ip(&[
        "-6",
        "addr",
        "add",
        "2001:db8:6::99/64",
        "dev",
        "v6up",
        "nodad",
    ]);
    ip(&["-6", "addr", "del", "2001:db8:6::2/64", "dev", "v6up"]);
    let want = "v6up ipv6 2001:db8:6::99/64 via 2001:db8:6::1 v4=-- v6=2001:db8:6::99/64";
    until(&mut m, "the new address", &|t| t.as_deref() == Some(want));
    // Lifetimes changed (an address message and no route one): the
    // deprecated ::5 current again, ::99 deprecated.
    for (addr, lft) in [("2001:db8:6::5/64", "forever"), ("2001:db8:6::99/64", "0")] {
        ip(&[
            "-6",
            "addr",
            "change",
            addr,
            "dev",
            "v6up",
            "nodad",
            "preferred_lft",
            lft,
        ]);
    }
    let want = "v6up ipv6 2001:db8:6::5/64 via 2001:db8:6::1 v4=-- v6=2001:db8:6::5/64";
    until(&mut m, "the deprecated address replaced", &|t| {
        t.as_deref() == Some(want)
    });

    // `family = "ipv4"` (Waybar's default) sees no connection here; the
    // module's default (`ipv4_6`) did.
    let mut only4 = Network::open_watching(&roots);
    only4.set_family(Family::V4);
    assert_eq!(only4.read(Instant::now()), None);

    // Dual stack: an IPv4 default too. IPv4 wins by default, its address
    // in {ipaddr}, the IPv6 one still in {ipv6}.
    ip(&["addr", "add", "10.66.0.2/24", "dev", "v6up"]);
    ip(&["route", "add", "default", "via", "10.66.0.1", "dev", "v6up"]);
    let want4 = "v6up ipv4 10.66.0.2/24 via 10.66.0.1 v4=10.66.0.2 v6=2001:db8:6::5/64";
    until(&mut m, "the IPv4 default preferred", &|t| {
        t.as_deref() == Some(want4)
    });
    let mut prefer6 = Network::open_watching(&roots);
    prefer6.set_family(Family::V6V4);
    let r = prefer6.read(Instant::now()).expect("routed");
    assert!(r.via_ipv6, "prefer = ipv6: {r:?}");
    assert_eq!(r.ipv6, Some("2001:db8:6::5".parse().unwrap()));
    assert_eq!(r.ipv4, Some([10, 66, 0, 2]));
    assert_eq!(r.ipv4_prefix, 24);

    // Removed and made again under the same name before anything was
    // read (a tether plugged back): the new device's state and counters,
    // not the dead files of the old one.
    let mut replug = Network::open_watching(&roots);
    assert!(replug.read(Instant::now()).is_some_and(|r| r.up));
    ip(&["link", "del", "v6up"]);
    setup_v6_link();
    ip(&[
        "-6",
        "addr",
        "add",
        "2001:db8:6::7/64",
        "dev",
        "v6up",
        "nodad",
    ]);
    ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8:6::1",
        "dev",
        "v6up",
    ]);
    let end = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    while Instant::now() < end {
        wait_readable(replug.fd().expect("a route socket"));
        replug.drain();
        last = replug.read(Instant::now());
        if last.is_some_and(|r| r.up && r.ipv6 == Some("2001:db8:6::7".parse().unwrap())) {
            break;
        }
    }
    let r = last.expect("routed again");
    assert!(r.up, "the new device's operstate: {r:?}");
    assert_eq!(r.ipv6, Some("2001:db8:6::7".parse().unwrap()));

    // The interface gone: offline, heard.
    ip(&["link", "del", "v6up"]);
    until(&mut m, "the link deleted", &|t| t.is_none());
}

/// The veth pair `v6up`/`v6peer` up, without addresses of the kernel's
/// own (see the test), with a link-local one without detection on `v6up`.
fn setup_v6_link() {
    ip(&[
        "link", "add", "v6up", "type", "veth", "peer", "name", "v6peer",
    ]);
    for dev in ["v6up", "v6peer"] {
        ip(&["link", "set", dev, "addrgenmode", "none"]);
        ip(&["link", "set", dev, "up"]);
    }
    ip(&["-6", "addr", "add", "fe80::77/64", "dev", "v6up", "nodad"]);
}

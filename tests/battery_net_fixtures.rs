//! Battery and network readers against fixture trees with the layouts real
//! laptops have, plus the network reader against this machine.

mod common;

use std::fs;
use std::time::{Duration, Instant};

use rstat::collect::battery::{Batteries, Status};
use rstat::collect::net::{Link, Network};
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

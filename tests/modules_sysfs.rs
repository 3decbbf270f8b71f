//! The battery and network modules against fixture sysfs/procfs trees (the
//! layouts real laptops have): what they draw, their colours, and that they
//! hide when the source is absent.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use rstat::collect::{Roots, Sample};
use rstat::config::Config;
use rstat::modules::{once, Context, Modules, Palette, Segment, Sources};

struct Tree(PathBuf);

impl Tree {
    fn new(name: &str) -> Tree {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("mod-{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("proc")).unwrap();
        fs::create_dir_all(dir.join("sys")).unwrap();
        Tree(dir)
    }
    fn put(&self, rel: &str, content: &str) {
        let p = self.0.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
    }
    fn mkdir(&self, rel: &str) {
        fs::create_dir_all(self.0.join(rel)).unwrap();
    }
    fn sources(&self) -> Sources {
        Sources {
            roots: Roots::under(&self.0),
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn battery(t: &Tree, name: &str, status: &str, now_uwh: u64, full_uwh: u64, power_uw: u64) {
    let d = format!("sys/class/power_supply/{name}");
    t.put(&format!("{d}/type"), "Battery\n");
    t.put(&format!("{d}/scope"), "System\n");
    t.put(&format!("{d}/status"), &format!("{status}\n"));
    t.put(&format!("{d}/energy_now"), &format!("{now_uwh}\n"));
    t.put(&format!("{d}/energy_full"), &format!("{full_uwh}\n"));
    t.put(&format!("{d}/power_now"), &format!("{power_uw}\n"));
}

fn config(toml: &str) -> Config {
    rstat::modules::registry::parse(toml, "test.toml", None).unwrap_or_else(|e| panic!("{e}"))
}

/// Updates every module at `now` and returns what they draw.
fn draw(m: &mut Modules, now: Instant) -> Vec<Segment> {
    let sample = Sample::default();
    m.update_all(&Context {
        now,
        wall: Duration::from_secs(1_700_000_000),
        sample: &sample,
    });
    let mut out = Vec::new();
    m.write(&mut out);
    out
}

fn texts(segs: &[Segment]) -> Vec<&str> {
    segs.iter().map(|s| s.text.as_str()).collect()
}

#[test]
fn battery_discharging_charging_two_and_none() {
    let t = Tree::new("bat");
    battery(
        &t,
        "BAT0",
        "Discharging",
        30_000_000,
        50_000_000,
        10_000_000,
    );
    let cfg = config(
        "[bar]\nright = [\"battery\", \"battery#detail\"]\n\
         [module.\"battery#detail\"]\nformat = \"{percent:.0}|{status}|{time_to_empty}|{time_to_full}|{power:.1}|{count}\"\n",
    );
    let palette = Palette::from_colors(&cfg.bar.colors);
    let t0 = Instant::now();
    let mut m = Modules::with_sources(&cfg, t0, &t.sources());
    let segs = draw(&mut m, t0);
    // 30 Wh left at 10 W: three hours.
    assert_eq!(
        texts(&segs),
        ["BAT  60% 3:00", "60|discharging|3:00|--|10.0|1"]
    );
    assert_eq!(once::class(&segs[0], &palette), "normal");

    // Low: the warning colour at 30 % and below, critical at 15 %.
    battery(
        &t,
        "BAT0",
        "Discharging",
        14_000_000,
        50_000_000,
        10_000_000,
    );
    let segs = draw(&mut m, t0 + Duration::from_secs(5));
    assert_eq!(segs[0].text.as_str(), "BAT  28% 1:24");
    assert_eq!(once::class(&segs[0], &palette), "warning");
    battery(&t, "BAT0", "Discharging", 5_000_000, 50_000_000, 10_000_000);
    let segs = draw(&mut m, t0 + Duration::from_secs(10));
    assert_eq!(once::class(&segs[0], &palette), "critical");

    // Plugged in: charging shows the time to full and no alarm.
    battery(&t, "BAT0", "Charging", 5_000_000, 50_000_000, 45_000_000);
    let segs = draw(&mut m, t0 + Duration::from_secs(15));
    assert_eq!(
        texts(&segs),
        ["BAT  10% 1:00", "10|charging|--|1:00|45.0|1"]
    );
    assert_eq!(segs[0].text.as_str(), "BAT  10% 1:00");
    assert_eq!(once::class(&segs[0], &palette), "normal");

    // A second battery: combined.
    battery(&t, "BAT1", "Discharging", 20_000_000, 50_000_000, 0);
    battery(
        &t,
        "BAT0",
        "Discharging",
        30_000_000,
        50_000_000,
        10_000_000,
    );
    let mut m = Modules::with_sources(&cfg, t0, &t.sources());
    let segs = draw(&mut m, t0);
    assert_eq!(segs[1].text.as_str(), "50|discharging|5:00|--|10.0|2");

    // No battery at all (a desktop): hidden, and never due.
    let empty = Tree::new("no-bat");
    let mut m = Modules::with_sources(&cfg, t0, &empty.sources());
    assert!(draw(&mut m, t0).is_empty());
    assert_eq!(m.next_due(), None);
}

const ROUTE_HEADER: &str =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

#[test]
fn network_wired_then_wifi_then_offline() {
    let t = Tree::new("net");
    t.mkdir("sys/class/net/enp3s0/device");
    t.put("sys/class/net/enp3s0/operstate", "up\n");
    t.put("sys/class/net/enp3s0/statistics/rx_bytes", "1000000\n");
    t.put("sys/class/net/enp3s0/statistics/tx_bytes", "500000\n");
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
    t.put(
        "proc/net/route",
        &format!("{ROUTE_HEADER}enp3s0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"),
    );
    let cfg = config(
        "[bar]\nright = [\"network\", \"network#all\"]\n\
         [module.\"network#all\"]\nformat = \"{iface} {kind} {state} {ipv4} {rx} {tx} {rx_kib:.0} {tx_kib:.0} {signal}\"\n",
    );
    let palette = Palette::from_colors(&cfg.bar.colors);
    let t0 = Instant::now();
    let mut m = Modules::with_sources(&cfg, t0, &t.sources());
    let segs = draw(&mut m, t0);
    // No such interface here, so no address: `--`.
    assert_eq!(
        texts(&segs),
        [
            "enp3s0 --  rx    0B tx    0B",
            "enp3s0 wired up -- 0B 0B 0 0 --"
        ]
    );
    t.put("sys/class/net/enp3s0/statistics/rx_bytes", "3000000\n");
    t.put("sys/class/net/enp3s0/statistics/tx_bytes", "1500000\n");
    let segs = draw(&mut m, t0 + Duration::from_secs(2));
    assert_eq!(
        texts(&segs),
        [
            "enp3s0 --  rx  977K tx  488K",
            "enp3s0 wired up -- 977K 488K 977 488 --"
        ]
    );
    assert_eq!(once::class(&segs[0], &palette), "normal");

    // The cable is pulled: the wifi route takes over.
    t.put(
        "proc/net/route",
        &format!("{ROUTE_HEADER}wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"),
    );
    let segs = draw(&mut m, t0 + Duration::from_secs(4));
    assert_eq!(segs[1].text.as_str(), "wlan0 wifi up -- 0B 0B 0 0 90");

    // A link that is down draws in the warning colour.
    t.put("sys/class/net/wlan0/operstate", "down\n");
    let segs = draw(&mut m, t0 + Duration::from_secs(6));
    assert_eq!(once::class(&segs[0], &palette), "warning");

    // Offline (no default route): hidden.
    t.put("proc/net/route", ROUTE_HEADER);
    assert!(draw(&mut m, t0 + Duration::from_secs(8)).is_empty());
}

#[test]
fn network_on_an_ipv6_only_network_shows_its_address() {
    let t = Tree::new("net-v6");
    t.mkdir("sys/class/net/wwan0/device");
    t.put("sys/class/net/wwan0/operstate", "up\n");
    t.put("sys/class/net/wwan0/statistics/rx_bytes", "0\n");
    t.put("sys/class/net/wwan0/statistics/tx_bytes", "0\n");
    for file in ["route", "ipv6_route", "if_inet6"] {
        let src = format!(
            "{}/tests/fixtures/net/ipv6only/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        t.put(
            &format!("proc/net/{file}"),
            &fs::read_to_string(src).unwrap(),
        );
    }
    let cfg = config(
        "[bar]\nright = [\"network\", \"network#v6\", \"network#v4\"]\n\
         [module.\"network#v6\"]\nformat = \"{ifname} {family} {ipaddr}/{cidr} gw {gwaddr} {ipv4} {ipv6}/{cidr6} {netmask6}\"\n\
         [module.\"network#v4\"]\nformat = \"{ipaddr}\"\nfamily = \"ipv4\"\n",
    );
    let t0 = Instant::now();
    let mut m = Modules::with_sources(&cfg, t0, &t.sources());
    let segs = draw(&mut m, t0);
    // The built-in format shows the IPv6 address; `family = "ipv4"`
    // (Waybar's default) finds no connection and hides.
    assert_eq!(
        texts(&segs),
        [
            "wwan0 2001:db8:77::5c1e:1  rx    0B tx    0B",
            "wwan0 ipv6 2001:db8:77::5c1e:1/64 gw fe80::6c:a1ff:fe00:1 -- 2001:db8:77::5c1e:1/64 ffff:ffff:ffff:ffff::",
        ]
    );
    assert!(
        rstat::modules::registry::parse(
            "[bar]\nright = [\"network\"]\n[module.network]\nfamily = \"ipv5\"\n",
            "test.toml",
            None
        )
        .is_err(),
        "an unknown family is a config error"
    );
}

#[test]
fn network_on_this_machine_shows_an_address() {
    let route = fs::read_to_string("/proc/net/route").unwrap_or_default();
    if !route
        .lines()
        .skip(1)
        .any(|l| l.split_whitespace().nth(1) == Some("00000000"))
    {
        eprintln!("SKIPPED: this machine has no IPv4 default route");
        return;
    }
    let cfg =
        config("[bar]\nright = [\"network\"]\n[module.network]\nformat = \"{iface}={ipv4}\"\n");
    let t0 = Instant::now();
    let mut m = Modules::with_sources(&cfg, t0, &Sources::default());
    let segs = draw(&mut m, t0);
    let text = segs[0].text.as_str();
    let ip = text.split_once('=').unwrap().1;
    assert_eq!(ip.split('.').count(), 4, "{text}");
}

#[test]
fn the_readme_module_table_lists_every_kind_and_placeholder() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find("### Modules: placeholders and sources")
        .expect("the module table");
    let s = &readme[start..];
    let s = &s[..s.find("\n## ").unwrap_or(s.len())];
    for e in rstat::modules::registry::REGISTRY {
        let kind = e.def.name;
        assert!(s.contains(&format!("`{kind}`")), "{kind} missing");
        if e.def.placeholders == rstat::modules::sample::SAMPLE_PLACEHOLDERS {
            continue;
        }
        for (p, doc) in e.def.placeholders {
            assert!(
                s.contains(&format!("| `{kind}.{p}` | {doc} |")),
                "{kind}.{p} missing"
            );
        }
    }
    assert!(s.contains("Hyprland cannot run on this machine"));
}

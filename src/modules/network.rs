//! The network module: the interface holding the default route (IPv4 or
//! IPv6, as `family` says), its state, addresses and traffic rates, read
//! through [`crate::collect::net`] at its own interval (the rates; the
//! routes, state and addresses when the kernel's route socket, on the loop,
//! said they changed, and shown at once then). Hidden while there is no
//! default route of a family it follows (offline).

use std::fmt::Write;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::{
    next_on_wall_second, Align, Context, Init, Level, Module, Palette, Placement, Segment, Text,
};
use crate::collect::net::{self, Family, Link, NetReading};
use crate::collect::Roots;
use crate::config::{self, format::Value, Key, KeyType, KindDef};

/// `network`: the interface holding the default route.
pub const KIND: KindDef = KindDef {
    name: "network",
    about: "the interface holding the default route: address and rates",
    placeholders: &[
        ("iface", "the default route's interface"),
        ("kind", "wired, wifi or other"),
        ("state", "up or down"),
        ("ipv4", "its IPv4 address"),
        ("rx", "receive rate, human-readable (`1.2M`, bytes/s)"),
        ("tx", "transmit rate, human-readable"),
        ("rx_kib", "receive rate, KiB/s"),
        ("tx_kib", "transmit rate, KiB/s"),
        ("signal", "wifi link quality, %"),
        (
            "ipv6",
            "its IPv6 address (global before link-local; stable before temporary; never a deprecated one when a current one exists)",
        ),
        (
            "ipaddr",
            "the address of the default route's family (`ipv4` or `ipv6`)",
        ),
        ("cidr", "the prefix length of `ipaddr`"),
        ("cidr6", "the prefix length of `ipv6`"),
        ("netmask", "the IPv4 netmask, dotted"),
        ("netmask6", "the IPv6 prefix as a mask (`ffff:ffff:ffff:ffff::`)"),
        ("gwaddr", "the default route's gateway (absent for an on-link route)"),
        ("family", "the default route's family: ipv4 or ipv6"),
        ("ifname", "the default route's interface (Waybar's name for `iface`)"),
    ],
    format: "{iface} {ipaddr}  rx {rx:>5} tx {tx:>5}",
    interval_ms: 2000,
    states: &[
        ("ethernet", "the route is over a wired link"),
        ("wifi", "the route is over a wireless link"),
        ("disconnected", "the route's link is down"),
    ],
    keys: &[
        Key::new(
            "family",
            KeyType::Choice(&["ipv4_6", "ipv4", "ipv6"]),
            "which default routes count: either family (`ipv4_6`), or only `ipv4` (Waybar's default) or only `ipv6`",
        ),
        Key::new(
            "prefer",
            KeyType::Choice(&["ipv4", "ipv6"]),
            "with `family = \"ipv4_6\"`, whose default route wins when both families have one",
        ),
    ],
    ..KindDef::BASE
};

/// Builds the network module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Network::new(spec, init.place, init.now, &init.src.roots))
}

/// The network module.
pub struct Network {
    spec: config::Module,
    palette: Palette,
    align: Align,
    interval: Duration,
    next: Instant,
    source: net::Network,
    text: String,
    segment: Option<Segment>,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
}

impl Network {
    /// The instance of `spec`, reading under `roots`, due at `now`.
    pub fn new(spec: &config::Module, place: Placement, now: Instant, roots: &Roots) -> Network {
        Network {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            interval: Duration::from_millis(spec.interval_ms.max(1)),
            next: now,
            source: {
                let mut s = net::Network::open(roots);
                s.set_family(family_of(spec));
                s
            },
            text: String::with_capacity(128),
            tip: super::Tip::default(),
            segment: None,
        }
    }

    /// As [`Network::new`], reading from `source` (a test's own network
    /// namespace); `family` and `prefer` set on it.
    pub fn with_source(
        spec: &config::Module,
        place: Placement,
        now: Instant,
        mut source: net::Network,
    ) -> Network {
        source.set_family(family_of(spec));
        Network {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            interval: Duration::from_millis(spec.interval_ms.max(1)),
            next: now,
            source,
            text: String::with_capacity(128),
            tip: super::Tip::default(),
            segment: None,
        }
    }

    /// The collector it reads (its route socket and counts, for tests).
    pub fn source_mut(&mut self) -> &mut net::Network {
        &mut self.source
    }

    /// Shows `r` (`None`: hidden); true when the segment changed.
    pub fn show(&mut self, r: Option<&NetReading>) -> bool {
        let seg = r.map(|r| {
            let (mut ip, mut rx, mut tx) = (Text::default(), Text::default(), Text::default());
            let (mut ip6, mut mask, mut mask6, mut gw) = (
                Text::default(),
                Text::default(),
                Text::default(),
                Text::default(),
            );
            if let Some([a, b, c, d]) = r.ipv4 {
                let _ = write!(ip, "{a}.{b}.{c}.{d}");
                let m = u32::MAX
                    .checked_shl(32u32.saturating_sub(u32::from(r.ipv4_prefix)))
                    .unwrap_or(0);
                let [a, b, c, d] = m.to_be_bytes();
                let _ = write!(mask, "{a}.{b}.{c}.{d}");
            }
            if let Some(a) = r.ipv6 {
                // std's Display: RFC 5952 form, written without allocating.
                let _ = write!(ip6, "{a}");
                let m = u128::MAX
                    .checked_shl(128u32.saturating_sub(u32::from(r.ipv6_prefix)))
                    .unwrap_or(0);
                let _ = write!(mask6, "{}", std::net::Ipv6Addr::from(m));
            }
            if let Some(g) = r.gateway {
                let _ = write!(gw, "{g}");
            }
            fn text_or_absent(present: bool, t: &Text) -> Value<'_> {
                if present {
                    Value::Text(t.as_str())
                } else {
                    Value::Absent
                }
            }
            let (ipaddr, cidr) = if r.via_ipv6 {
                (
                    text_or_absent(r.ipv6.is_some(), &ip6),
                    r.ipv6.map(|_| r.ipv6_prefix),
                )
            } else {
                (
                    text_or_absent(r.ipv4.is_some(), &ip),
                    r.ipv4.map(|_| r.ipv4_prefix),
                )
            };
            human_rate(r.rx_bytes_per_s, &mut rx);
            human_rate(r.tx_bytes_per_s, &mut tx);
            let kind = match r.link {
                Link::Wired => "wired",
                Link::Wireless => "wifi",
                Link::Other => "other",
            };
            let values = [
                Value::Text(r.iface.as_str()),
                Value::Text(kind),
                Value::Text(if r.up { "up" } else { "down" }),
                if r.ipv4.is_some() {
                    Value::Text(ip.as_str())
                } else {
                    Value::Absent
                },
                Value::Text(rx.as_str()),
                Value::Text(tx.as_str()),
                Value::Float(r.rx_bytes_per_s as f64 / 1024.0),
                Value::Float(r.tx_bytes_per_s as f64 / 1024.0),
                r.signal_percent
                    .map_or(Value::Absent, |s| Value::Int(s as i64)),
                text_or_absent(r.ipv6.is_some(), &ip6),
                ipaddr,
                cidr.map_or(Value::Absent, |c| Value::Int(i64::from(c))),
                r.ipv6
                    .map_or(Value::Absent, |_| Value::Int(i64::from(r.ipv6_prefix))),
                text_or_absent(r.ipv4.is_some(), &mask),
                text_or_absent(r.ipv6.is_some(), &mask6),
                text_or_absent(r.gateway.is_some(), &gw),
                Value::Text(if r.via_ipv6 { "ipv6" } else { "ipv4" }),
                Value::Text(r.iface.as_str()),
            ];
            let level = if r.up { Level::Normal } else { Level::Warning };
            let link = match r.link {
                Link::Wired => 1,
                Link::Wireless => 2,
                Link::Other => 0,
            };
            let states = link | if r.up { 0 } else { 4 };
            self.text.clear();
            self.spec.render(&mut self.text, states, &values);
            self.tip.render(&self.spec, &values);
            Segment {
                markup: false,
                text: Text::new(&self.text),
                style: self.palette.style(level),
                align: self.align,
                popup: None,
                output: None,
                states,
            }
        });
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }
}

/// The routes `spec`'s `family` and `prefer` follow.
fn family_of(spec: &config::Module) -> Family {
    match (spec.text("family"), spec.text("prefer")) {
        ("ipv4", _) => Family::V4,
        ("ipv6", _) => Family::V6,
        (_, "ipv6") => Family::V6V4,
        _ => Family::V4V6,
    }
}

/// Bytes per second in at most five characters: `512B`, `3.4K`, `12M`.
pub fn human_rate(bytes: u64, out: &mut Text) {
    const UNITS: [char; 7] = ['B', 'K', 'M', 'G', 'T', 'P', 'E'];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    let _ = if u == 0 {
        write!(out, "{bytes}B")
    } else if v < 10.0 {
        write!(out, "{v:.1}{}", UNITS[u])
    } else {
        write!(out, "{v:.0}{}", UNITS[u])
    };
}

impl Module for Network {
    fn tooltip(&self, _index: usize) -> Option<&str> {
        self.tip.get()
    }

    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        Some(self.next)
    }

    fn update(&mut self, cx: &Context<'_>) -> bool {
        self.next = next_on_wall_second(self.next, self.interval, cx.now, cx.wall);
        let r = self.source.read(cx.now);
        self.show(r.as_ref())
    }

    fn forget_rates(&mut self) {
        self.source.forget_rates();
    }

    fn fd(&self) -> Option<RawFd> {
        self.source.fd()
    }

    fn on_readable(&mut self) -> bool {
        // A route, link or address changed: shown now, not at the next
        // interval (the rates over the time since the last reading).
        if !self.source.drain() {
            return false;
        }
        let r = self.source.read(Instant::now());
        self.show(r.as_ref())
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_prefix_length_draws_a_mask_without_panic() {
        let spec = config::Module::defaults("network", &KIND);
        let place = Placement {
            align: Align::Right,
            palette: Palette::default(),
        };
        let mut m = Network::with_source(
            &spec,
            place,
            Instant::now(),
            net::Network::open(&Roots::under(std::path::Path::new("/nonexistent"))),
        );
        for p in [0, 1, 24, 32, 64, 128, 129, 255] {
            let r = NetReading {
                iface: crate::collect::sample::ShortStr::from_bytes(b"eth0"),
                link: Link::Wired,
                up: true,
                via_ipv6: p % 2 == 0,
                gateway: None,
                ipv4: Some([10, 0, 0, 1]),
                ipv4_prefix: p,
                ipv6: Some(std::net::Ipv6Addr::LOCALHOST),
                ipv6_prefix: p,
                rx_bytes_per_s: 0,
                tx_bytes_per_s: 0,
                signal_percent: None,
            };
            // A prefix beyond the family's width is no panic: a full mask.
            m.show(Some(&r));
            let mut out = Vec::new();
            m.write(&mut out);
            assert_eq!(out.len(), 1, "prefix {p}: shown");
        }
    }

    #[test]
    fn rates_fit_five_characters() {
        let r = |b| {
            let mut t = Text::default();
            human_rate(b, &mut t);
            t.as_str().to_string()
        };
        assert_eq!(r(0), "0B");
        assert_eq!(r(999), "999B");
        assert_eq!(r(1000), "1.0K");
        assert_eq!(r(3500), "3.4K");
        assert_eq!(r(150_000), "146K");
        assert_eq!(r(12 << 20), "12M");
        for b in [0, 999, 1023, 1024, 99_999, 1 << 30, u64::MAX] {
            assert!(r(b).len() <= 5, "{b}: {}", r(b));
        }
    }
}

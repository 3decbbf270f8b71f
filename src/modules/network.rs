//! The network module: the interface holding the default route, its state,
//! IPv4 address and traffic rates, read through [`crate::collect::net`] at
//! its own interval. Hidden while there is no default route (offline).

use std::fmt::Write;
use std::time::{Duration, Instant};

use super::{
    next_on_wall_second, Align, Context, Init, Level, Module, Palette, Placement, Segment, Text,
};
use crate::collect::net::{self, Link, NetReading};
use crate::collect::Roots;
use crate::config::{self, format::Value, KindDef};

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
    ],
    format: "{iface} {ipv4}  rx {rx:>5} tx {tx:>5}",
    interval_ms: 2000,
    states: &[
        ("ethernet", "the route is over a wired link"),
        ("wifi", "the route is over a wireless link"),
        ("disconnected", "the route's link is down"),
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
            source: net::Network::open(roots),
            text: String::with_capacity(128),
            tip: super::Tip::default(),
            segment: None,
        }
    }

    /// Shows `r` (`None`: hidden); true when the segment changed.
    pub fn show(&mut self, r: Option<&NetReading>) -> bool {
        let seg = r.map(|r| {
            let (mut ip, mut rx, mut tx) = (Text::default(), Text::default(), Text::default());
            if let Some([a, b, c, d]) = r.ipv4 {
                let _ = write!(ip, "{a}.{b}.{c}.{d}");
            }
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

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segment);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

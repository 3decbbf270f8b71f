//! The network interface that holds the default route: its kind, state,
//! IPv4 address and traffic rates.
//!
//! The route table is read each tick through a kept descriptor (a laptop
//! moving from wired to wifi changes it); the interface's counters are opened
//! once per interface and read with `pread`; the address is one ioctl.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Instant;

use super::parse::{fields, u64_prefix};
use super::sample::ShortStr;
use super::system::pread_start;
use super::Roots;

/// What kind of link an interface is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    Wired,
    Wireless,
    /// Tunnels, bridges, anything else.
    Other,
}

/// The default-route interface, now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetReading {
    pub iface: ShortStr,
    pub link: Link,
    /// `operstate` says `up` (or `unknown`, which tunnels and some drivers
    /// report while passing traffic).
    pub up: bool,
    pub ipv4: Option<[u8; 4]>,
    pub rx_bytes_per_s: u64,
    pub tx_bytes_per_s: u64,
    /// Wireless link quality, 0–100, from `/proc/net/wireless`.
    pub signal_percent: Option<u8>,
}

struct Iface {
    name: ShortStr,
    link: Link,
    rx: Option<File>,
    tx: Option<File>,
    operstate: Option<File>,
}

/// Follows the default route.
pub struct Network {
    sys: PathBuf,
    route: Option<File>,
    wireless: Option<File>,
    sock: Option<OwnedFd>,
    current: Option<Iface>,
    prev: Option<(u64, u64, Instant)>,
    /// The last rates read; after a sleep the baseline reading shows them
    /// again rather than zeros.
    rates: (u64, u64),
    buf: Box<[u8; 16384]>,
}

/// The interface of the best IPv4 default route in `/proc/net/route` text:
/// destination and mask 0, flag RTF_UP, lowest metric.
pub fn default_route(text: &[u8]) -> Option<&[u8]> {
    let mut best: Option<(&[u8], u64)> = None;
    for line in text.split(|&c| c == b'\n').skip(1) {
        let mut f = fields(line);
        let (Some(iface), Some(dest), Some(_gw), Some(flags)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let (Some(_refcnt), Some(_use), Some(metric), Some(mask)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        let flags = std::str::from_utf8(flags)
            .ok()
            .and_then(|s| u32::from_str_radix(s, 16).ok());
        if dest != b"00000000" || mask != b"00000000" || flags.is_none_or(|f| f & 1 == 0) {
            continue;
        }
        let metric = u64_prefix(metric).unwrap_or(u64::MAX);
        if best.is_none_or(|(_, m)| metric < m) {
            best = Some((iface, metric));
        }
    }
    best.map(|(i, _)| i)
}

/// Link quality in percent for `iface` from `/proc/net/wireless` text
/// (`wlan0: 0000   54.  -56.  -256 …`, quality out of 70).
pub fn wireless_quality(text: &[u8], iface: &[u8]) -> Option<u8> {
    for line in text.split(|&c| c == b'\n').skip(2) {
        let line = line.trim_ascii_start();
        let Some(rest) = line.strip_prefix(iface).and_then(|r| r.strip_prefix(b":")) else {
            continue;
        };
        let q = fields(rest).nth(1).and_then(u64_prefix)?;
        return Some((q * 100 / 70).min(100) as u8);
    }
    None
}

impl Network {
    /// Opens the route table under `roots` (absent: always disconnected).
    pub fn open(roots: &Roots) -> Network {
        // SAFETY: plain socket(2); the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        Network {
            sys: roots.sys.clone(),
            route: File::open(roots.proc.join("net/route")).ok(),
            wireless: File::open(roots.proc.join("net/wireless")).ok(),
            // SAFETY: `fd` is fresh and owned by nothing else.
            sock: (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) }),
            current: None,
            prev: None,
            rates: (0, 0),
            buf: Box::new([0; 16384]),
        }
    }

    /// The machine slept: the next reading is a baseline (the counters may
    /// have moved, or started from zero, while the monotonic clock stood
    /// still), and it shows the rates from before the sleep.
    pub fn forget_rates(&mut self) {
        self.prev = None;
    }

    /// Reads the default-route interface; `None` when there is no default
    /// route (offline).
    pub fn read(&mut self, now: Instant) -> Option<NetReading> {
        let text = pread_start(self.route.as_ref()?, &mut self.buf[..]).ok()?;
        let Some(name) = default_route(text) else {
            self.current = None;
            self.prev = None;
            self.rates = (0, 0);
            return None;
        };
        if self
            .current
            .as_ref()
            .is_none_or(|c| c.name.as_bytes() != name)
        {
            // A new interface: open its files (allocation only on change).
            let name = ShortStr::from_bytes(name);
            let dir = self.sys.join("class/net").join(name.as_str());
            let link = if dir.join("wireless").exists() || dir.join("phy80211").exists() {
                Link::Wireless
            } else if dir.join("device").exists() {
                Link::Wired
            } else {
                Link::Other
            };
            self.current = Some(Iface {
                name,
                link,
                rx: File::open(dir.join("statistics/rx_bytes")).ok(),
                tx: File::open(dir.join("statistics/tx_bytes")).ok(),
                operstate: File::open(dir.join("operstate")).ok(),
            });
            self.prev = None;
            self.rates = (0, 0);
        }
        let cur = self.current.as_ref()?;
        let buf = &mut self.buf[..];
        let mut counter = |f: &Option<File>| {
            f.as_ref()
                .and_then(|f| u64_prefix(pread_start(f, buf).ok()?))
        };
        let (rx, tx) = (counter(&cur.rx), counter(&cur.tx));
        let up = cur
            .operstate
            .as_ref()
            .and_then(|f| pread_start(f, buf).ok())
            .is_some_and(|s| matches!(s.trim_ascii(), b"up" | b"unknown"));
        // A new interface's first reading shows zeros (`rates` was reset
        // with it); the one after a sleep, the rates from before.
        let (mut rx_rate, mut tx_rate) = self.rates;
        if let (Some(rx), Some(tx)) = (rx, tx) {
            if let Some((rx0, tx0, t0)) = self.prev {
                let secs = now.duration_since(t0).as_secs_f64();
                if secs > 0.0 {
                    rx_rate = (rx.saturating_sub(rx0) as f64 / secs) as u64;
                    tx_rate = (tx.saturating_sub(tx0) as f64 / secs) as u64;
                }
            }
            self.prev = Some((rx, tx, now));
        } else {
            (rx_rate, tx_rate) = (0, 0);
        }
        self.rates = (rx_rate, tx_rate);
        let signal = match (cur.link, &self.wireless) {
            (Link::Wireless, Some(f)) => pread_start(f, buf)
                .ok()
                .and_then(|t| wireless_quality(t, cur.name.as_bytes())),
            _ => None,
        };
        Some(NetReading {
            iface: cur.name,
            link: cur.link,
            up,
            ipv4: self
                .sock
                .as_ref()
                .and_then(|s| ipv4_of(s, cur.name.as_bytes())),
            rx_bytes_per_s: rx_rate,
            tx_bytes_per_s: tx_rate,
            signal_percent: signal,
        })
    }
}

/// `struct ifreq` with the address member of its union (40 bytes on Linux).
#[repr(C)]
struct IfReqAddr {
    name: [u8; libc::IFNAMSIZ],
    addr: libc::sockaddr_in,
    _pad: [u8; 8],
}

/// The interface's primary IPv4 address (`SIOCGIFADDR`); `None` when it
/// has none.
fn ipv4_of(sock: &OwnedFd, name: &[u8]) -> Option<[u8; 4]> {
    if name.len() >= libc::IFNAMSIZ {
        return None;
    }
    // SAFETY: all-zero is a valid ifreq.
    let mut req: IfReqAddr = unsafe { std::mem::zeroed() };
    req.name[..name.len()].copy_from_slice(name);
    // SAFETY: the ioctl reads the NUL-terminated name and writes at most
    // sizeof(struct ifreq) bytes into `req`, which is that size.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFADDR, &mut req) };
    (r == 0 && req.addr.sin_family == libc::AF_INET as libc::sa_family_t)
        .then(|| req.addr.sin_addr.s_addr.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTE: &[u8] =
        b"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
enp3s0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n\
enp3s0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n\
tun0\t00000000\t00000000\t0000\t0\t0\t1\t00000000\t0\t0\t0\n";

    #[test]
    fn default_route_prefers_lowest_metric_and_up_routes() {
        assert_eq!(default_route(ROUTE), Some(&b"enp3s0"[..]));
        assert_eq!(default_route(b"Iface\tDestination\n"), None);
        assert_eq!(default_route(b""), None);
        assert_eq!(default_route(b"header\ngarbage line\n\xff\xfe\n"), None);
    }

    #[test]
    fn wireless_quality_line() {
        let t =
            b"Inter-| sta-|   Quality        |   Discarded packets               | Missed | WE\n \
face | tus | link level noise |  nwid  crypt   frag  retry   misc | beacon | 22\n \
wlan0: 0000   54.  -56.  -256        0      0      0      0     12        0\n";
        assert_eq!(wireless_quality(t, b"wlan0"), Some(77));
        assert_eq!(wireless_quality(t, b"wlan1"), None);
    }
}

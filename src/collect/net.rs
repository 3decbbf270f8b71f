//! The network interface that holds the default route: its kind, state,
//! IPv4 and IPv6 addresses and traffic rates.
//!
//! The default route is followed over both families: `/proc/net/route`
//! (IPv4) and `/proc/net/ipv6_route` (IPv6, `::/0`), each family's lowest
//! metric winning and, when both have one, the preferred family's
//! ([`Family`]; IPv4 unless configured otherwise). An IPv6-only network
//! (mobile carriers, 464XLAT, some Wi-Fi) is as connected as a dual-stack
//! one. The interface's IPv4 address comes from two ioctls, its IPv6 one
//! from `/proc/net/if_inet6` (global scope before site, host and
//! link-local; not deprecated, not tentative, not temporary preferred).
//!
//! What changes seldom — the default routes, the interface's state and
//! addresses — is read again only when the kernel says something changed: a
//! `NETLINK_ROUTE` socket joined to the link, IPv4/IPv6 address and
//! IPv4/IPv6 route groups is on the event loop, and any message on it (or an
//! overrun) marks the route stale; the next reading reads the two route
//! tables, the interface's `operstate` and its addresses again. Each
//! interval reads only the interface's two byte counters (opened once per
//! interface, read with `pread`) and, on wifi, the link quality. Without
//! that socket (fixture trees, a kernel refusing it) everything is read
//! every interval, as the route table cannot be told apart from a
//! fixture's otherwise. The tables are read whole in buffer-sized pieces
//! (a router's table can be long), nothing allocated.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
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

/// Which default routes count, and which wins when both families have one
/// (Waybar's `family`: `ipv4`, `ipv6`, `ipv4_6`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Family {
    /// Only an IPv4 default route (Waybar's default).
    V4,
    /// Only an IPv6 default route.
    V6,
    /// Either; the IPv4 one when both exist.
    #[default]
    V4V6,
    /// Either; the IPv6 one when both exist.
    V6V4,
}

/// The default-route interface, now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetReading {
    pub iface: ShortStr,
    pub link: Link,
    /// `operstate` says `up` (or `unknown`, which tunnels and some drivers
    /// report while passing traffic).
    pub up: bool,
    /// The family of the default route followed: true for IPv6.
    pub via_ipv6: bool,
    /// The route's next hop (`None`: a route straight onto the link).
    pub gateway: Option<IpAddr>,
    pub ipv4: Option<[u8; 4]>,
    /// The IPv4 address's prefix length (from its netmask).
    pub ipv4_prefix: u8,
    /// The interface's best IPv6 address (see the module doc).
    pub ipv6: Option<Ipv6Addr>,
    pub ipv6_prefix: u8,
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
    /// What the last route reading found.
    up: bool,
    route: Route,
    ipv4: Option<([u8; 4], u8)>,
    ipv6: Option<(Ipv6Addr, u8)>,
}

/// A default route: its interface, metric and next hop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Route {
    pub iface: ShortStr,
    pub metric: u64,
    pub gateway: Option<IpAddr>,
    /// From the IPv6 table.
    pub ipv6: bool,
}

/// Follows the default route.
pub struct Network {
    sys: PathBuf,
    route: Option<File>,
    route6: Option<File>,
    inet6: Option<File>,
    wireless: Option<File>,
    sock: Option<OwnedFd>,
    /// Route, link and address changes (see the module's doc); `None`:
    /// read everything every interval.
    changes: Option<OwnedFd>,
    family: Family,
    /// The route, state and address must be read again.
    stale: bool,
    /// How many times the route tables were read (the count the tests take).
    route_reads: u64,
    current: Option<Iface>,
    prev: Option<(u64, u64, Instant)>,
    /// The last rates read; after a sleep the baseline reading shows them
    /// again rather than zeros.
    rates: (u64, u64),
    buf: Box<[u8; 16384]>,
}

const RTF_UP: u32 = 0x0001;
/// Unreachable, prohibit and blackhole routes (and IPv6's root null entry,
/// an unreachable `::/0` over `lo` present on every machine).
const RTF_REJECT: u32 = 0x0200;

/// The newline-terminated lines of `text`, without their newlines: the
/// kernel ends every line, so a last one without is a read cut short whose
/// last field (the interface name) may be half of one.
fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split_inclusive(|&c| c == b'\n')
        .filter_map(|l| l.strip_suffix(b"\n"))
}

fn hex_u32(b: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(b).ok()?, 16).ok()
}

/// 32 hex digits (`/proc/net/ipv6_route`, `/proc/net/if_inet6`: `%pi6`,
/// network byte order) as an address.
fn hex_ipv6(b: &[u8]) -> Option<Ipv6Addr> {
    if b.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
        *o = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(Ipv6Addr::from(out))
}

/// One line of `/proc/net/route`, when it is a usable IPv4 default route:
/// destination and mask 0, flag RTF_UP, not a reject route.
pub fn route4_line(line: &[u8]) -> Option<Route> {
    let mut f = fields(line);
    let (iface, dest, gw, flags) = (f.next()?, f.next()?, f.next()?, f.next()?);
    let (_refcnt, _use, metric, mask) = (f.next()?, f.next()?, f.next()?, f.next()?);
    let flags = hex_u32(flags)?;
    if dest != b"00000000" || mask != b"00000000" || flags & RTF_UP == 0 || flags & RTF_REJECT != 0
    {
        return None;
    }
    // The kernel prints the network-order word as a host integer.
    let gw = hex_u32(gw).filter(|&g| g != 0).map(|g| {
        let [a, b, c, d] = g.to_ne_bytes();
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    });
    Some(Route {
        iface: ShortStr::from_bytes(iface),
        metric: u64_prefix(metric).unwrap_or(u64::MAX),
        gateway: gw,
        ipv6: false,
    })
}

/// One line of `/proc/net/ipv6_route` (destination, its prefix length,
/// source, its prefix length, next hop, metric, refcount, use, flags,
/// interface), when it is a usable IPv6 default route: `::/0`, RTF_UP, not
/// a reject route. A route without a next hop shows `::` there.
pub fn route6_line(line: &[u8]) -> Option<Route> {
    let mut f = fields(line);
    let (dest, dlen, _src, _slen, hop) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    let (metric, _refcnt, _use, flags, iface) =
        (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
    let flags = hex_u32(flags)?;
    if hex_ipv6(dest)? != Ipv6Addr::UNSPECIFIED
        || hex_u32(dlen)? != 0
        || flags & RTF_UP == 0
        || flags & RTF_REJECT != 0
    {
        return None;
    }
    let hop = hex_ipv6(hop)?;
    Some(Route {
        iface: ShortStr::from_bytes(iface),
        metric: u64::from(hex_u32(metric)?),
        gateway: (!hop.is_unspecified()).then_some(IpAddr::V6(hop)),
        ipv6: true,
    })
}

/// The lower-metric route of `a` and `b` (the first on a tie: the table's
/// order, as the kernel's own lookup keeps it).
fn better(a: Option<Route>, b: Option<Route>) -> Option<Route> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.metric < a.metric { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The interface of the best IPv4 default route in `/proc/net/route` text
/// (the lowest metric).
pub fn default_route(text: &[u8]) -> Option<ShortStr> {
    lines(text)
        .skip(1)
        .map(route4_line)
        .fold(None, better)
        .map(|r| r.iface)
}

/// The best IPv6 default route in `/proc/net/ipv6_route` text.
pub fn default_route6(text: &[u8]) -> Option<Route> {
    lines(text).map(route6_line).fold(None, better)
}

/// An address's scope (higher: wider), then not deprecated, not tentative,
/// not temporary; compared as a tuple.
type Rank = (u8, bool, bool, bool);

/// An address, its prefix length and its [`Rank`].
type Inet6 = (Ipv6Addr, u8, Rank);

/// How good an `/proc/net/if_inet6` address is to show: the scope first
/// (global, site, host, link-local), then not deprecated, not tentative,
/// not temporary (a privacy address changes daily; the stable one is the
/// machine's). `None`: never shown (duplicate address detection failed).
fn inet6_rank(scope: u32, flags: u32) -> Option<Rank> {
    const TEMPORARY: u32 = 0x01;
    const DADFAILED: u32 = 0x08;
    const DEPRECATED: u32 = 0x20;
    const TENTATIVE: u32 = 0x40;
    if flags & DADFAILED != 0 {
        return None;
    }
    let scope = match scope {
        0x00 => 4,
        0x40 => 3,
        0x10 => 2,
        0x20 => 1,
        _ => 0,
    };
    Some((
        scope,
        flags & DEPRECATED == 0,
        flags & TENTATIVE == 0,
        flags & TEMPORARY == 0,
    ))
}

/// One line of `/proc/net/if_inet6` (address, ifindex, prefix length,
/// scope, flags, name, all hex but the name) when it is `iface`'s: the
/// address, its prefix length and its rank.
fn inet6_line(line: &[u8], iface: &[u8]) -> Option<Inet6> {
    let mut f = fields(line);
    let (addr, _index, plen, scope, flags, name) = (
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
        f.next()?,
    );
    if name != iface {
        return None;
    }
    let plen = u8::try_from(hex_u32(plen)?).ok().filter(|&p| p <= 128)?;
    let rank = inet6_rank(hex_u32(scope)?, hex_u32(flags)?)?;
    Some((hex_ipv6(addr)?, plen, rank))
}

/// `iface`'s address to show from `/proc/net/if_inet6` text.
pub fn ipv6_address(text: &[u8], iface: &[u8]) -> Option<(Ipv6Addr, u8)> {
    let mut best = None;
    for line in lines(text) {
        pick_inet6(&mut best, line, iface);
    }
    best.map(|(a, p, _)| (a, p))
}

fn pick_inet6(best: &mut Option<Inet6>, line: &[u8], iface: &[u8]) {
    if let Some(c) = inet6_line(line, iface) {
        if best.is_none_or(|b| c.2 > b.2) {
            *best = Some(c);
        }
    }
}

/// Calls `line` with every line of `file` from its start, read in pieces
/// of `buf`'s size at increasing offsets (a seq_file continues where the
/// last read ended); a line longer than `buf` is skipped whole, and so is
/// a last one without its newline (see [`lines`]). Errors
/// are the read's (the file gone with its namespace, say).
fn each_line(file: &File, buf: &mut [u8], mut line: impl FnMut(&[u8])) -> std::io::Result<()> {
    let mut pos = 0u64;
    let mut keep = 0;
    let mut skipping = false;
    loop {
        let n = file.read_at(&mut buf[keep..], pos)?;
        pos += n as u64;
        let end = keep + n;
        let mut start = 0;
        while let Some(i) = buf[start..end].iter().position(|&c| c == b'\n') {
            if !skipping {
                line(&buf[start..start + i]);
            }
            skipping = false;
            start += i + 1;
        }
        if n == 0 {
            // A last line without its newline was cut short (the kernel
            // ends every line): its last field may be half a name.
            return Ok(());
        }
        if start == 0 && end == buf.len() {
            skipping = true;
            keep = 0;
        } else {
            buf.copy_within(start..end, 0);
            keep = end - start;
        }
    }
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
    /// Opens the route tables under `roots` (absent: always disconnected).
    /// Under the running system's own `/proc` and `/sys`, route changes are
    /// heard on a `NETLINK_ROUTE` socket ([`Network::fd`]); under other
    /// roots (fixture trees, whose files no kernel message describes)
    /// everything is read every interval.
    pub fn open(roots: &Roots) -> Network {
        let live = *roots == Roots::default();
        Network::open_with(roots, live)
    }

    /// As [`Network::open`], with the change socket whatever the roots
    /// (tests reading a network namespace of their own through
    /// `/proc/thread-self` and a sysfs mounted in it).
    pub fn open_watching(roots: &Roots) -> Network {
        Network::open_with(roots, true)
    }

    fn open_with(roots: &Roots, watch: bool) -> Network {
        // SAFETY: plain socket(2); the result is checked before use.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        let net = roots.proc.join("net");
        Network {
            sys: roots.sys.clone(),
            route: File::open(net.join("route")).ok(),
            // Absent where IPv6 is disabled (`ipv6.disable=1`): IPv4 only.
            route6: File::open(net.join("ipv6_route")).ok(),
            inet6: File::open(net.join("if_inet6")).ok(),
            wireless: File::open(net.join("wireless")).ok(),
            // SAFETY: `fd` is fresh and owned by nothing else.
            sock: (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) }),
            changes: if watch { route_changes() } else { None },
            family: Family::default(),
            stale: true,
            route_reads: 0,
            current: None,
            prev: None,
            rates: (0, 0),
            buf: Box::new([0; 16384]),
        }
    }

    /// Which default routes count ([`Family`]); the next reading reads
    /// the tables again.
    pub fn set_family(&mut self, family: Family) {
        self.family = family;
        self.stale = true;
    }

    /// The machine slept: the next reading is a baseline (the counters may
    /// have moved, or started from zero, while the monotonic clock stood
    /// still), and it shows the rates from before the sleep.
    pub fn forget_rates(&mut self) {
        self.prev = None;
    }

    /// The change socket, for the event loop; readable when a link, an
    /// address or a route of either family changed.
    pub fn fd(&self) -> Option<RawFd> {
        self.changes.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// Reads every queued change message (never blocks); true when there
    /// was one (or the socket overran: messages were lost), so the next
    /// [`Network::read`] reads the routes, state and addresses again. The
    /// messages are not parsed: whatever their shape, they only say "look
    /// again", and the tables say what is true.
    pub fn drain(&mut self) -> bool {
        let Some(fd) = self.changes.as_ref() else {
            return false;
        };
        let mut seen = false;
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe {
                libc::recv(
                    fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n > 0 {
                seen = true;
                continue;
            }
            if n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOBUFS) {
                seen = true;
                continue;
            }
            break;
        }
        self.stale |= seen;
        seen
    }

    /// How many times the route tables have been read.
    pub fn route_reads(&self) -> u64 {
        self.route_reads
    }

    /// Reads the default-route interface; `None` when there is no default
    /// route (offline).
    pub fn read(&mut self, now: Instant) -> Option<NetReading> {
        if self.stale || self.changes.is_none() {
            let routed = self.read_route()?;
            // Until the next change message (without a socket, stale stays);
            // an offline state is kept as well as a route.
            self.stale = self.changes.is_none();
            if !routed {
                return None;
            }
        }
        self.read_counters(now)
    }

    /// The best default route of each family the config follows, and the
    /// one that wins. `None` when no table the family needs could be read.
    fn best_route(&mut self) -> Option<Option<Route>> {
        let buf = &mut self.buf[..];
        let (want4, want6) = match self.family {
            Family::V4 => (true, false),
            Family::V6 => (false, true),
            Family::V4V6 | Family::V6V4 => (true, true),
        };
        let mut read_any = false;
        let mut v4 = None;
        if let Some(f) = self.route.as_ref().filter(|_| want4) {
            // The header line is no route (its destination is no number).
            read_any |= each_line(f, buf, |l| v4 = better(v4, route4_line(l))).is_ok();
        }
        let mut v6 = None;
        if let Some(f) = self.route6.as_ref().filter(|_| want6) {
            read_any |= each_line(f, buf, |l| v6 = better(v6, route6_line(l))).is_ok();
        }
        if !read_any {
            return None;
        }
        Some(match self.family {
            Family::V6V4 => v6.or(v4),
            _ => v4.or(v6),
        })
    }

    /// Reads the route tables and, for the winner's interface, the state
    /// and addresses. `None` when no table can be read (nothing changes
    /// then); `Some(false)` when there is no default route.
    fn read_route(&mut self) -> Option<bool> {
        self.route_reads += 1;
        let Some(route) = self.best_route()? else {
            self.current = None;
            self.prev = None;
            self.rates = (0, 0);
            return Some(false);
        };
        let name = route.iface;
        let state = |c: &Iface, buf: &mut [u8]| {
            let f = c.operstate.as_ref()?;
            let s = pread_start(f, buf).ok()?;
            Some(matches!(s.trim_ascii(), b"up" | b"unknown"))
        };
        // The same interface when its name is and its files still read: one
        // removed and made again under that name (a phone's tether plugged
        // back) leaves our files reading ENODEV, so it is opened anew.
        let mut up = self
            .current
            .as_ref()
            .filter(|c| c.name == name)
            .and_then(|c| state(c, &mut self.buf[..]));
        if up.is_none() {
            // A new interface: open its files (allocation only on change).
            let dir = self.sys.join("class/net").join(name.as_str());
            let link = if dir.join("wireless").exists() || dir.join("phy80211").exists() {
                Link::Wireless
            } else if dir.join("device").exists() {
                Link::Wired
            } else {
                Link::Other
            };
            let iface = Iface {
                name,
                link,
                rx: File::open(dir.join("statistics/rx_bytes")).ok(),
                tx: File::open(dir.join("statistics/tx_bytes")).ok(),
                operstate: File::open(dir.join("operstate")).ok(),
                up: false,
                route,
                ipv4: None,
                ipv6: None,
            };
            up = state(&iface, &mut self.buf[..]);
            self.current = Some(iface);
            self.prev = None;
            self.rates = (0, 0);
        }
        let buf = &mut self.buf[..];
        let cur = self.current.as_mut()?;
        cur.route = route;
        // A vanished interface reads as down with no address until the
        // message of its removal brings the next table.
        cur.up = up.unwrap_or(false);
        cur.ipv4 = self
            .sock
            .as_ref()
            .and_then(|s| ipv4_of(s, cur.name.as_bytes()));
        let mut best = None;
        let ok = self
            .inet6
            .as_ref()
            .map(|f| each_line(f, buf, |l| pick_inet6(&mut best, l, cur.name.as_bytes())));
        cur.ipv6 = best
            .filter(|_| matches!(ok, Some(Ok(()))))
            .map(|(a, p, _)| (a, p));
        Some(true)
    }

    /// The counters (rates) and wifi quality of the current interface.
    fn read_counters(&mut self, now: Instant) -> Option<NetReading> {
        let cur = self.current.as_ref()?;
        let buf = &mut self.buf[..];
        let mut counter = |f: &Option<File>| {
            f.as_ref()
                .and_then(|f| u64_prefix(pread_start(f, buf).ok()?))
        };
        let (rx, tx) = (counter(&cur.rx), counter(&cur.tx));
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
            up: cur.up,
            via_ipv6: cur.route.ipv6,
            gateway: cur.route.gateway,
            ipv4: cur.ipv4.map(|(a, _)| a),
            ipv4_prefix: cur.ipv4.map_or(0, |(_, p)| p),
            ipv6: cur.ipv6.map(|(a, _)| a),
            ipv6_prefix: cur.ipv6.map_or(0, |(_, p)| p),
            rx_bytes_per_s: rx_rate,
            tx_bytes_per_s: tx_rate,
            signal_percent: signal,
        })
    }
}

/// A non-blocking `NETLINK_ROUTE` socket joined to the link, IPv4 and IPv6
/// address and IPv4 and IPv6 route groups; `None` if the kernel refuses
/// one (the caller then reads everything every interval). A kernel without
/// IPv6 accepts the IPv6 groups and sends nothing on them.
fn route_changes() -> Option<OwnedFd> {
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just returned by socket(2) and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: all-zero is a valid sockaddr_nl; the fields are set below.
    let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    sa.nl_groups = (libc::RTMGRP_LINK
        | libc::RTMGRP_IPV4_IFADDR
        | libc::RTMGRP_IPV4_ROUTE
        | libc::RTMGRP_IPV6_IFADDR
        | libc::RTMGRP_IPV6_ROUTE) as u32;
    // SAFETY: `sa` is a valid sockaddr_nl of the size passed.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    (rc == 0).then_some(fd)
}

/// `struct ifreq` with the address member of its union (40 bytes on Linux).
#[repr(C)]
struct IfReqAddr {
    name: [u8; libc::IFNAMSIZ],
    addr: libc::sockaddr_in,
    _pad: [u8; 8],
}

/// One `SIOCGIF*ADDR`-style ioctl's address family and IPv4 address for
/// `name`.
fn ifreq_ipv4(sock: &OwnedFd, name: &[u8], request: libc::Ioctl) -> Option<(i32, [u8; 4])> {
    if name.len() >= libc::IFNAMSIZ {
        return None;
    }
    // SAFETY: all-zero is a valid ifreq.
    let mut req: IfReqAddr = unsafe { std::mem::zeroed() };
    req.name[..name.len()].copy_from_slice(name);
    // SAFETY: the ioctl reads the NUL-terminated name and writes at most
    // sizeof(struct ifreq) bytes into `req`, which is that size.
    let r = unsafe { libc::ioctl(sock.as_raw_fd(), request, &mut req) };
    (r == 0).then(|| {
        (
            i32::from(req.addr.sin_family),
            req.addr.sin_addr.s_addr.to_ne_bytes(),
        )
    })
}

/// The interface's primary IPv4 address (`SIOCGIFADDR`) and its prefix
/// length (`SIOCGIFNETMASK`); `None` when it has none.
fn ipv4_of(sock: &OwnedFd, name: &[u8]) -> Option<([u8; 4], u8)> {
    let (family, addr) = ifreq_ipv4(sock, name, libc::SIOCGIFADDR)?;
    if family != libc::AF_INET {
        return None;
    }
    let prefix = ifreq_ipv4(sock, name, libc::SIOCGIFNETMASK)
        .map_or(0, |(_, m)| u32::from_be_bytes(m).leading_ones() as u8);
    Some((addr, prefix))
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

    fn name(r: Option<ShortStr>) -> Option<String> {
        r.map(|s| s.as_str().to_string())
    }

    #[test]
    fn default_route_prefers_lowest_metric_and_up_routes() {
        assert_eq!(name(default_route(ROUTE)).as_deref(), Some("enp3s0"));
        assert_eq!(default_route(b"Iface\tDestination\n"), None);
        assert_eq!(default_route(b""), None);
        assert_eq!(default_route(b"header\ngarbage line\n\xff\xfe\n"), None);
        // `ip route add unreachable default`: flag RTF_REJECT, no interface.
        let reject = b"h\n*\t00000000\t00000000\t0201\t0\t0\t0\t00000000\t0\t0\t0\n";
        assert_eq!(default_route(reject), None);
    }

    const DUAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/net/dualstack/");
    const V6ONLY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/net/ipv6only/");

    fn fixture(dir: &str, file: &str) -> Vec<u8> {
        std::fs::read(format!("{dir}{file}")).expect("the fixture")
    }

    #[test]
    fn the_ipv4_route_of_a_dual_stack_laptop_has_its_gateway() {
        let t = fixture(DUAL, "route");
        let r = t
            .split(|&c| c == b'\n')
            .skip(1)
            .find_map(route4_line)
            .expect("a default route");
        assert_eq!(r.iface.as_str(), "wlan0");
        assert_eq!((r.metric, r.ipv6), (600, false));
        assert_eq!(r.gateway, Some("192.168.1.1".parse().unwrap()));
    }

    #[test]
    fn the_ipv6_default_is_the_lowest_metric_and_never_the_null_entry() {
        let r = default_route6(&fixture(DUAL, "ipv6_route")).expect("a v6 default");
        assert_eq!(r.iface.as_str(), "wlan0");
        assert_eq!(r.gateway, Some("fe80::1".parse().unwrap()));
        assert!(r.ipv6);
        // Two defaults (modem 1024, wifi 20600): the modem's.
        let r = default_route6(&fixture(V6ONLY, "ipv6_route")).expect("a v6 default");
        assert_eq!((r.iface.as_str(), r.metric), ("wwan0", 1024));
        // This machine's table without a default: only the unreachable
        // `::/0` over `lo` that every kernel lists.
        let none = b"00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n\
fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0\n";
        assert_eq!(default_route6(none), None);
        // A route straight onto the link (`ip -6 route add default dev x`).
        let onlink = b"00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 00000400 00000001 00000000 00000001   dummy0\n";
        let r = default_route6(onlink).expect("on-link default");
        assert_eq!((r.iface.as_str(), r.gateway), ("dummy0", None));
    }

    #[test]
    fn the_address_shown_is_global_stable_and_current() {
        let t = fixture(DUAL, "if_inet6");
        // Deprecated temporary, temporary, link-local, stable: the stable.
        assert_eq!(
            ipv6_address(&t, b"wlan0"),
            Some(("2001:db8:1:2:21e:6ff:fe45:ab12".parse().unwrap(), 64))
        );
        assert_eq!(ipv6_address(&t, b"lo"), Some((Ipv6Addr::LOCALHOST, 128)));
        assert_eq!(ipv6_address(&t, b"eth0"), None);
        // Tentative (DAD running) loses to a settled one; link-local only
        // when nothing else is there.
        let t = fixture(V6ONLY, "if_inet6");
        assert_eq!(
            ipv6_address(&t, b"wwan0"),
            Some(("2001:db8:77::5c1e:1".parse().unwrap(), 64))
        );
        let ll = b"fe80000000000000021e06fffe45ab12 03 40 20 80    wlan0\n\
20010db800010002021e06fffe45ab12 03 40 00 08    wlan0\n";
        assert_eq!(
            ipv6_address(ll, b"wlan0"),
            Some(("fe80::21e:6ff:fe45:ab12".parse().unwrap(), 64)),
            "the global one failed duplicate address detection"
        );
    }

    #[test]
    fn garbage_and_truncated_tables_give_nothing_and_no_panic() {
        for dir in [DUAL, V6ONLY] {
            for file in ["route", "ipv6_route", "if_inet6"] {
                let t = fixture(dir, file);
                // Every cut of a real file (a read cut short): never a
                // panic, never a route or address from a half line.
                let whole: Vec<Ipv6Addr> = lines(&t)
                    .filter_map(|l| inet6_line(l, b"wlan0").map(|a| a.0))
                    .collect();
                for cut in 0..t.len() {
                    let part = &t[..cut];
                    for r in [default_route(part), default_route6(part).map(|r| r.iface)] {
                        let r = r.map(|r| r.as_str().to_string());
                        assert!(
                            r.is_none_or(|n| ["wlan0", "wwan0"].contains(&n.as_str())),
                            "{file} cut at {cut}"
                        );
                    }
                    if let Some((a, _)) = ipv6_address(part, b"wlan0") {
                        assert!(whole.contains(&a), "{file} cut at {cut}: {a}");
                    }
                }
            }
        }
        let junk: &[&[u8]] = &[
            b"\xff\xfe\x00 00 zz\n",
            b"0000000000000000000000000000000 00 00 00 00 00 00 00 00000001 x\n",
            b"00000000000000000000000000000000 00 00000000000000000000000000000000 00 0000000000000000000000000000000g 00000400 00000001 00000000 00000001 x\n",
            b"00000000000000000000000000000000 zz 00000000000000000000000000000000 00 00000000000000000000000000000000 00000400 00000001 00000000 00000001 x\n",
            b"20010db800010002021e06fffe45ab12 03 ff 00 00 wlan0\n",
            b"20010db800010002021e06fffe45ab12 03 40 00 wlan0\n",
            b"                                                                   \n\n\n",
        ];
        for j in junk {
            assert_eq!(default_route6(j), None, "{:?}", String::from_utf8_lossy(j));
            assert_eq!(ipv6_address(j, b"wlan0"), None);
            assert_eq!(default_route(j), None);
        }
    }

    #[test]
    fn each_line_reads_a_file_longer_than_its_buffer_and_skips_overlong_lines() {
        let dir = std::env::temp_dir().join(format!("rstat-each-line-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t");
        let mut text = String::new();
        for i in 0..500 {
            text.push_str(&format!("line {i}\n"));
        }
        text.push_str(&"x".repeat(100));
        text.push('\n');
        text.push_str("last without newline");
        std::fs::write(&p, &text).unwrap();
        let f = File::open(&p).unwrap();
        let mut buf = [0u8; 64];
        let mut seen = Vec::new();
        each_line(&f, &mut buf, |l| {
            seen.push(String::from_utf8_lossy(l).into_owned())
        })
        .unwrap();
        assert_eq!(
            seen.len(),
            500,
            "500 lines; the overlong one skipped, the unterminated one not trusted"
        );
        assert_eq!(seen[0], "line 0");
        assert_eq!(seen[499], "line 499");
        let _ = std::fs::remove_dir_all(&dir);
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

//! One D-Bus connection (the session bus, the system bus) shared by every
//! module that talks D-Bus: the tray, and later media players, power
//! profiles, Bluetooth.
//!
//! The connection is a non-blocking Unix socket meant to sit on the bar's
//! one event loop: nothing here ever waits for a peer. Calls are sent at
//! once and their replies (or a timeout, or the connection's loss) come back
//! later as [`Event`]s addressed to the [`ClientId`] that made them, with the
//! caller's own cookie. Signals reach every client whose [`Rule`] matches;
//! method calls on an object path a client [`Bus::export`]ed reach that
//! client, which answers with [`Bus::send`]. Authentication (EXTERNAL, by
//! uid) and `Hello` are pipelined with the first write, so opening a
//! connection does not wait either.
//!
//! The wire format is our own ([`wire`]): the crates that do this pulled in
//! an async executor or a blocking read loop; see the README for the sizes.

pub mod shared;
pub mod wire;

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

pub use shared::{Client, Shared};
pub use wire::{Kind, Message, Value, WireError, NO_REPLY_EXPECTED};

/// The bus daemon's own name, path and interface.
pub const DBUS_NAME: &str = "org.freedesktop.DBus";
pub const DBUS_PATH: &str = "/org/freedesktop/DBus";
pub const DBUS_IFACE: &str = DBUS_NAME;

/// A message bigger than this is dropped unread (its bytes skipped as they
/// arrive); a call whose reply it was fails with [`CallError::TooLarge`].
/// Icon pixmaps of a few sizes fit many times over; a hostile 4096×4096
/// pixmap (64 MiB) does not.
pub const MAX_MESSAGE: usize = 8 << 20;

/// At most this many calls wait for replies at once; more fail at once
/// ([`CallError::Busy`]) rather than growing without bound.
pub const MAX_PENDING: usize = 1024;

/// Output not yet taken by the daemon beyond this means it is not reading:
/// the connection is dropped as lost. (The protocol's largest message.)
const MAX_OUTPUT: usize = 128 << 20;

/// How much one read asks of the socket.
const READ_CHUNK: usize = 64 * 1024;

/// Decoded events waiting for [`Bus::poll`] past this stop the reading: the
/// rest stays in the socket, which stays readable, until the bar has routed
/// these. A peer's flood then costs a bounded queue, not one event per
/// message of 64 reads' worth.
const MAX_BACKLOG: usize = 1024;

/// A drained queue keeps at most this much room. How far a burst grew the
/// queue depends on how the peer's writes met our reads, so keeping that
/// room would make what a burst leaves behind a matter of timing; a burst
/// past this pays its growth again instead (bursts are rare: floods, a
/// peer's start).
const KEEP_EVENTS: usize = 64;

/// Which connection user an [`Event`] is for. The bar gives each user (a
/// module instance, a service) its own number; it stays the same across
/// reconnections.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u32);

/// Why a call got no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The peer answered with a D-Bus error (`name: text`).
    Remote(String),
    /// No answer within the call's timeout.
    Timeout,
    /// The reply was larger than [`MAX_MESSAGE`] and was dropped.
    TooLarge,
    /// Too many calls were waiting already.
    Busy,
    /// The connection was lost before the answer came.
    Disconnected,
    /// The reply could not be parsed or the call could not be encoded.
    Malformed(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::Remote(e) => f.write_str(e),
            CallError::Timeout => f.write_str("no reply in time"),
            CallError::TooLarge => {
                write!(f, "reply larger than {} MiB, dropped", MAX_MESSAGE >> 20)
            }
            CallError::Busy => write!(f, "more than {MAX_PENDING} calls waiting"),
            CallError::Disconnected => f.write_str("bus connection lost"),
            CallError::Malformed(e) => write!(f, "malformed message: {e}"),
        }
    }
}

/// What the connection hands a client.
#[derive(Clone, Debug)]
pub enum Event {
    /// The reply to the call made with `cookie`.
    Reply {
        cookie: u64,
        result: Result<Rc<Message>, CallError>,
    },
    /// A signal one of the client's rules matched.
    Signal(Rc<Message>),
    /// A method call on an object path the client exported; answer it with
    /// [`Message::method_return`] / [`Message::error`] and [`Bus::send`]
    /// (unless it has [`NO_REPLY_EXPECTED`]).
    MethodCall(Rc<Message>),
}

/// Why the connection could not be opened or was lost.
#[derive(Debug)]
pub enum Error {
    /// No address to connect to (`DBUS_SESSION_BUS_ADDRESS` unset…).
    NoAddress(String),
    /// Every address failed; the last failure.
    Connect(String),
    /// The daemon refused our authentication.
    Auth(String),
    /// The socket failed or closed.
    Lost(String),
    /// The daemon sent bytes that are not D-Bus.
    Protocol(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoAddress(w) => write!(f, "no D-Bus address: {w}"),
            Error::Connect(w) => write!(f, "cannot connect to D-Bus: {w}"),
            Error::Auth(w) => write!(f, "D-Bus authentication refused: {w}"),
            Error::Lost(w) => write!(f, "D-Bus connection lost: {w}"),
            Error::Protocol(w) => write!(f, "D-Bus protocol error: {w}"),
        }
    }
}

impl std::error::Error for Error {}

/// Which signals a client wants: every field given must equal the
/// message's. Also sent to the daemon as an `AddMatch` rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    /// A unique name (`:1.42`) is checked here too; a well-known name only
    /// by the daemon (signals carry the unique name of their sender).
    pub sender: Option<String>,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    /// The first argument, a string (e.g. the name in `NameOwnerChanged`).
    pub arg0: Option<String>,
}

impl Rule {
    /// Signals `interface.member` from anyone.
    pub fn signal(interface: &str, member: &str) -> Rule {
        Rule {
            interface: Some(interface.into()),
            member: Some(member.into()),
            ..Rule::default()
        }
    }

    /// Every signal of `interface` from anyone.
    pub fn interface(interface: &str) -> Rule {
        Rule {
            interface: Some(interface.into()),
            ..Rule::default()
        }
    }

    /// `NameOwnerChanged` for `name` only.
    pub fn name_owner(name: &str) -> Rule {
        Rule {
            sender: Some(DBUS_NAME.into()),
            arg0: Some(name.into()),
            ..Rule::signal(DBUS_IFACE, "NameOwnerChanged")
        }
    }

    /// `PropertiesChanged` of `interface` on `path` (any sender unless set).
    pub fn properties_changed(path: &str, interface: &str) -> Rule {
        Rule {
            path: Some(path.into()),
            arg0: Some(interface.into()),
            ..Rule::signal(wire::PROPERTIES, "PropertiesChanged")
        }
    }

    /// This rule limited to `sender`.
    pub fn from(mut self, sender: &str) -> Rule {
        self.sender = Some(sender.into());
        self
    }

    /// The daemon's match-rule string.
    pub fn to_match_string(&self) -> String {
        let mut s = String::from("type='signal'");
        let mut add = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                s.push_str(&format!(",{k}='{}'", v.replace('\'', "'\\''")));
            }
        };
        add("sender", &self.sender);
        add("path", &self.path);
        add("interface", &self.interface);
        add("member", &self.member);
        add("arg0", &self.arg0);
        s
    }

    /// Whether signal `m` matches.
    pub fn matches(&self, m: &Message) -> bool {
        fn eq(want: &Option<String>, got: &Option<String>) -> bool {
            want.is_none() || want == got
        }
        let sender_ok = match &self.sender {
            Some(s) if s.starts_with(':') => Some(s) == m.sender.as_ref(),
            _ => true,
        };
        let arg0_ok = match &self.arg0 {
            None => true,
            Some(a) => m.body.first().and_then(Value::as_str) == Some(a.as_str()),
        };
        m.kind == Kind::Signal
            && sender_ok
            && arg0_ok
            && eq(&self.path, &m.path)
            && eq(&self.interface, &m.interface)
            && eq(&self.member, &m.member)
    }
}

/// Where a connection goes: one of a D-Bus address's `unix:` entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Addr {
    Path(String),
    Abstract(Vec<u8>),
}

/// The `unix:path=` / `unix:abstract=` entries of a D-Bus address (others,
/// `tcp:` and such, are skipped), values unescaped.
pub fn parse_address(address: &str) -> Vec<Addr> {
    fn unescape(v: &str) -> Vec<u8> {
        let b = v.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                if let Some(n) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    out.push(n);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        out
    }
    let mut out = Vec::new();
    for entry in address.split(';') {
        let Some(params) = entry.strip_prefix("unix:") else {
            continue;
        };
        for kv in params.split(',') {
            match kv.split_once('=') {
                Some(("path", v)) => {
                    out.push(Addr::Path(String::from_utf8_lossy(&unescape(v)).into()))
                }
                Some(("abstract", v)) => out.push(Addr::Abstract(unescape(v))),
                _ => {}
            }
        }
    }
    out
}

/// The session bus's address from the environment.
pub fn session_address() -> Result<String, Error> {
    std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| Error::NoAddress("DBUS_SESSION_BUS_ADDRESS is not set".into()))
}

/// The system bus's address: `DBUS_SYSTEM_BUS_ADDRESS` or the standard socket.
pub fn system_address() -> String {
    std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unix:path=/var/run/dbus/system_bus_socket".into())
}

fn connect_unix(addr: &Addr) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_un is plain old data; all-zero is a valid value.
    let mut sa: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    sa.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let (bytes, lead) = match addr {
        Addr::Path(p) => (p.as_bytes(), 0),
        Addr::Abstract(a) => (a.as_slice(), 1),
    };
    if lead + bytes.len() >= sa.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "socket path too long",
        ));
    }
    for (i, b) in bytes.iter().enumerate() {
        sa.sun_path[lead + i] = *b as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + lead + bytes.len() + (1 - lead);
    // SAFETY: `sa` is a valid sockaddr_un of `len` meaningful bytes.
    let r = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            &sa as *const libc::sockaddr_un as *const libc::sockaddr,
            len as libc::socklen_t,
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        // A Unix stream connect completes at once or not at all, but a
        // non-blocking one may say EAGAIN while the backlog is full.
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    Ok(fd)
}

enum Phase {
    /// Waiting for the daemon's `OK <guid>` line.
    Auth,
    /// Messages.
    Ready,
}

struct Pending {
    serial: u32,
    client: ClientId,
    cookie: u64,
    deadline: Instant,
}

/// One bus connection. See the module documentation.
pub struct Bus {
    fd: OwnedFd,
    phase: Phase,
    rbuf: Vec<u8>,
    /// Bytes of an oversized message still to throw away.
    skip: usize,
    wbuf: Vec<u8>,
    /// How much of `wbuf` the socket took already.
    wpos: usize,
    serial: u32,
    hello_serial: u32,
    unique: Option<String>,
    pending: Vec<Pending>,
    rules: Vec<(ClientId, Rule)>,
    exports: Vec<(ClientId, String)>,
    events: VecDeque<(ClientId, Event)>,
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("fd", &self.fd.as_raw_fd())
            .field("unique", &self.unique)
            .field("pending", &self.pending.len())
            .finish()
    }
}

impl AsFd for Bus {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Bus {
    /// Opens the session bus (`DBUS_SESSION_BUS_ADDRESS`).
    pub fn session() -> Result<Bus, Error> {
        Bus::open(&session_address()?)
    }

    /// Opens the system bus.
    pub fn system() -> Result<Bus, Error> {
        Bus::open(&system_address())
    }

    /// Opens the first `unix:` entry of `address` that accepts a
    /// connection. Returns at once: authentication and `Hello` are queued
    /// and complete as the loop dispatches [`Bus::on_readable`].
    pub fn open(address: &str) -> Result<Bus, Error> {
        let addrs = parse_address(address);
        if addrs.is_empty() {
            return Err(Error::NoAddress(format!(
                "no unix: entry in address {address:?}"
            )));
        }
        let mut last = String::new();
        for a in &addrs {
            match connect_unix(a) {
                Ok(fd) => return Ok(Bus::start(fd)),
                Err(e) => last = format!("{a:?}: {e}"),
            }
        }
        Err(Error::Connect(last))
    }

    fn start(fd: OwnedFd) -> Bus {
        let mut bus = Bus {
            fd,
            phase: Phase::Auth,
            rbuf: Vec::new(),
            skip: 0,
            wbuf: Vec::new(),
            wpos: 0,
            serial: 0,
            hello_serial: 0,
            unique: None,
            pending: Vec::new(),
            rules: Vec::new(),
            exports: Vec::new(),
            events: VecDeque::new(),
        };
        // SAFETY: geteuid(2) cannot fail.
        let uid = unsafe { libc::geteuid() }.to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        bus.wbuf.push(0);
        bus.wbuf
            .extend_from_slice(format!("AUTH EXTERNAL {hex}\r\nBEGIN\r\n").as_bytes());
        let hello = Message::call(DBUS_NAME, DBUS_PATH, DBUS_IFACE, "Hello");
        bus.hello_serial = bus.queue(&hello).unwrap_or(0);
        bus
    }

    /// The socket, for the loop to watch (readable; writable while
    /// [`Bus::wants_write`]).
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Our unique name once `Hello` was answered.
    pub fn unique_name(&self) -> Option<&str> {
        self.unique.as_deref()
    }

    /// Whether output waits for the socket to become writable.
    pub fn wants_write(&self) -> bool {
        self.wpos < self.wbuf.len()
    }

    /// The earliest call deadline; the loop wakes then for [`Bus::expire`].
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.deadline).min()
    }

    fn next_serial(&mut self) -> u32 {
        self.serial = self.serial.wrapping_add(1).max(1);
        self.serial
    }

    fn queue(&mut self, m: &Message) -> Result<u32, CallError> {
        let serial = self.next_serial();
        let bytes = m
            .encode(serial)
            .map_err(|e| CallError::Malformed(e.to_string()))?;
        self.wbuf.extend_from_slice(&bytes);
        Ok(serial)
    }

    /// Sends `m` (a signal, a reply, a call whose reply nobody wants) and
    /// returns its serial. Written at once as far as the socket takes it.
    pub fn send(&mut self, m: &Message) -> Result<u32, CallError> {
        let s = self.queue(m)?;
        let _ = self.flush();
        Ok(s)
    }

    /// Calls `m`; its reply, error or timeout (after `timeout`) comes back
    /// as [`Event::Reply`] with `cookie` to `client`. Always exactly one
    /// such event per call, even when this fails at once.
    pub fn call(&mut self, client: ClientId, cookie: u64, m: &Message, timeout: Duration) {
        let now = Instant::now();
        if self.pending.len() >= MAX_PENDING {
            self.events.push_back((
                client,
                Event::Reply {
                    cookie,
                    result: Err(CallError::Busy),
                },
            ));
            return;
        }
        match self.queue(m) {
            Ok(serial) => self.pending.push(Pending {
                serial,
                client,
                cookie,
                deadline: now + timeout,
            }),
            Err(e) => self.events.push_back((
                client,
                Event::Reply {
                    cookie,
                    result: Err(e),
                },
            )),
        }
        let _ = self.flush();
    }

    /// Delivers the signals `rule` matches to `client` from now on (and
    /// asks the daemon to route them to us).
    pub fn subscribe(&mut self, client: ClientId, rule: Rule) {
        let add = Message::call(DBUS_NAME, DBUS_PATH, DBUS_IFACE, "AddMatch")
            .with(vec![Value::Str(rule.to_match_string())]);
        let _ = self.send(&add);
        self.rules.push((client, rule));
    }

    /// Drops one subscription of `client` equal to `rule`.
    pub fn unsubscribe(&mut self, client: ClientId, rule: &Rule) {
        if let Some(i) = self
            .rules
            .iter()
            .position(|(c, r)| *c == client && r == rule)
        {
            self.rules.swap_remove(i);
            let rm = Message::call(DBUS_NAME, DBUS_PATH, DBUS_IFACE, "RemoveMatch")
                .with(vec![Value::Str(rule.to_match_string())]);
            let _ = self.send(&rm);
        }
    }

    /// Routes method calls on object `path` (and paths below it) to
    /// `client`. Calls on paths nobody exported are answered with
    /// `UnknownObject` here, so no caller ever waits on us.
    pub fn export(&mut self, client: ClientId, path: &str) {
        self.exports.push((client, path.to_string()));
    }

    /// Forgets everything of `client`: its rules, exports and waiting calls
    /// (their replies are dropped when they come).
    pub fn forget(&mut self, client: ClientId) {
        let rules: Vec<Rule> = self
            .rules
            .iter()
            .filter(|(c, _)| *c == client)
            .map(|(_, r)| r.clone())
            .collect();
        for r in rules {
            self.unsubscribe(client, &r);
        }
        self.exports.retain(|(c, _)| *c != client);
        self.pending.retain(|p| p.client != client);
        self.events.retain(|(c, _)| *c != client);
    }

    /// Writes what the socket takes now.
    pub fn flush(&mut self) -> Result<(), Error> {
        while self.wpos < self.wbuf.len() {
            let rest = &self.wbuf[self.wpos..];
            // SAFETY: writing initialised bytes from our own buffer to our
            // own socket; MSG_NOSIGNAL keeps a closed peer from raising SIGPIPE.
            let n = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    rest.as_ptr().cast(),
                    rest.len(),
                    libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => break,
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(Error::Lost(format!("send: {e}"))),
                }
            }
            self.wpos += n as usize;
        }
        if self.wpos == self.wbuf.len() {
            self.wbuf.clear();
            self.wpos = 0;
            // As the read buffer: a burst's growth is given back.
            if self.wbuf.capacity() > READ_CHUNK {
                self.wbuf.shrink_to(READ_CHUNK);
            }
        } else if self.wpos > READ_CHUNK && self.wpos * 2 > self.wbuf.len() {
            // Compact now and then, not per send (a big message would be
            // moved once per socket-buffer's worth otherwise).
            self.wbuf.drain(..self.wpos);
            self.wpos = 0;
        }
        if self.wbuf.len() - self.wpos > MAX_OUTPUT {
            return Err(Error::Lost("the daemon stopped reading".into()));
        }
        Ok(())
    }

    /// The socket is readable (or writable): reads what arrived, turns it
    /// into events ([`Bus::poll`]) and writes pending output. An error means
    /// the connection is gone: every waiting call has had its
    /// [`CallError::Disconnected`] reply queued, drain them with `poll`,
    /// then drop this `Bus` and open a new one (with backoff).
    pub fn on_readable(&mut self) -> Result<(), Error> {
        let r = self.read_some().and_then(|()| self.flush());
        if r.is_err() {
            self.fail_all();
        }
        r
    }

    /// Queues [`CallError::Disconnected`] for every waiting call.
    pub fn fail_all(&mut self) {
        for p in self.pending.drain(..) {
            self.events.push_back((
                p.client,
                Event::Reply {
                    cookie: p.cookie,
                    result: Err(CallError::Disconnected),
                },
            ));
        }
    }

    fn read_some(&mut self) -> Result<(), Error> {
        // Bounded per dispatch so one flood cannot hold the loop.
        for _ in 0..64 {
            if self.events.len() >= MAX_BACKLOG {
                break;
            }
            let start = self.rbuf.len();
            self.rbuf.reserve(READ_CHUNK);
            // Never more than a chunk, whatever the vector's growth left.
            let spare = (self.rbuf.capacity() - start).min(READ_CHUNK);
            // SAFETY: reading into the vector's spare capacity, at most
            // `spare` bytes; the length is set to what was written.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.rbuf.as_mut_ptr().add(start).cast(),
                    spare,
                    0,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock => break,
                    io::ErrorKind::Interrupted => continue,
                    _ => return Err(Error::Lost(format!("recv: {e}"))),
                }
            }
            if n == 0 {
                self.parse()?;
                return Err(Error::Lost("the daemon closed the connection".into()));
            }
            // SAFETY: recv wrote `n` bytes after `start`.
            unsafe { self.rbuf.set_len(start + n as usize) };
            self.parse()?;
        }
        // A drained buffer keeps one chunk's room: how far a burst grew it
        // (a read that ended inside a message doubles it) depends on how
        // the daemon's writes met our reads, and must not stay behind.
        if self.rbuf.is_empty() && self.rbuf.capacity() > READ_CHUNK {
            self.rbuf.shrink_to(READ_CHUNK);
        }
        Ok(())
    }

    fn parse(&mut self) -> Result<(), Error> {
        let mut at = 0;
        loop {
            let rest = &self.rbuf[at..];
            if self.skip > 0 {
                let n = self.skip.min(rest.len());
                self.skip -= n;
                at += n;
                if self.skip > 0 {
                    break;
                }
                continue;
            }
            if let Phase::Auth = self.phase {
                let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                    if rest.len() > 4096 {
                        return Err(Error::Auth("over-long authentication line".into()));
                    }
                    break;
                };
                let line = String::from_utf8_lossy(&rest[..eol]).into_owned();
                at += eol + 2;
                if line.starts_with("OK ") {
                    self.phase = Phase::Ready;
                    continue;
                }
                return Err(Error::Auth(line));
            }
            if rest.len() < 16 {
                break;
            }
            let mut head = [0u8; 16];
            head.copy_from_slice(&rest[..16]);
            let len = wire::frame_len(&head).map_err(|e| Error::Protocol(e.to_string()))?;
            if len > MAX_MESSAGE {
                // Keep only the header fields (for a reply's serial), skip
                // the body as it streams in.
                let fields = len.min(16 + 4096);
                if rest.len() < fields {
                    break;
                }
                if let Ok(m) = wire::decode_header_prefix(&rest[..fields]) {
                    self.fail_reply(&m, CallError::TooLarge);
                }
                self.skip = len;
                continue;
            }
            if rest.len() < len {
                break;
            }
            match wire::decode(&rest[..len], false) {
                Ok(m) => self.handle(m),
                Err(e) => {
                    // A well-framed message we cannot parse: fail its call
                    // if it was a reply, otherwise drop it.
                    if let Ok(m) = wire::decode(&rest[..len], true) {
                        self.fail_reply(&m, CallError::Malformed(e.to_string()));
                    }
                }
            }
            at += len;
        }
        self.rbuf.drain(..at);
        Ok(())
    }

    fn take_pending(&mut self, reply_serial: Option<u32>) -> Option<Pending> {
        let r = reply_serial?;
        let i = self.pending.iter().position(|p| p.serial == r)?;
        Some(self.pending.swap_remove(i))
    }

    fn fail_reply(&mut self, m: &Message, e: CallError) {
        if matches!(m.kind, Kind::MethodReturn | Kind::Error) {
            if let Some(p) = self.take_pending(m.reply_serial) {
                self.events.push_back((
                    p.client,
                    Event::Reply {
                        cookie: p.cookie,
                        result: Err(e),
                    },
                ));
            }
        } else if m.kind == Kind::MethodCall && m.flags & NO_REPLY_EXPECTED == 0 {
            let _ = self.queue(&Message::error(
                m,
                "org.freedesktop.DBus.Error.LimitsExceeded",
                &e.to_string(),
            ));
        }
    }

    fn handle(&mut self, m: Message) {
        match m.kind {
            Kind::MethodReturn | Kind::Error => {
                if self.hello_serial != 0 && m.reply_serial == Some(self.hello_serial) {
                    self.unique = m.body.first().and_then(Value::as_str).map(str::to_string);
                    return;
                }
                if let Some(p) = self.take_pending(m.reply_serial) {
                    let result = if m.kind == Kind::Error {
                        Err(CallError::Remote(m.error_text()))
                    } else {
                        Ok(Rc::new(m))
                    };
                    self.events.push_back((
                        p.client,
                        Event::Reply {
                            cookie: p.cookie,
                            result,
                        },
                    ));
                }
            }
            Kind::Signal => {
                let m = Rc::new(m);
                // One event per client even when two of its rules match.
                let mut told: Vec<ClientId> = Vec::new();
                for (c, r) in &self.rules {
                    if !told.contains(c) && r.matches(&m) {
                        told.push(*c);
                        self.events.push_back((*c, Event::Signal(m.clone())));
                    }
                }
            }
            Kind::MethodCall => {
                let path = m.path.as_deref().unwrap_or("");
                let owner = self
                    .exports
                    .iter()
                    .filter(|(_, p)| {
                        path == p
                            || (path.starts_with(p.as_str())
                                && (p == "/" || path.as_bytes().get(p.len()) == Some(&b'/')))
                    })
                    .max_by_key(|(_, p)| p.len())
                    .map(|(c, _)| *c);
                if m.interface.as_deref() == Some("org.freedesktop.DBus.Peer") {
                    let reply = match m.member.as_deref() {
                        Some("Ping") => Message::method_return(&m),
                        _ => Message::error(
                            &m,
                            "org.freedesktop.DBus.Error.UnknownMethod",
                            "only Ping",
                        ),
                    };
                    let _ = self.queue(&reply);
                    return;
                }
                match owner {
                    Some(c) => self.events.push_back((c, Event::MethodCall(Rc::new(m)))),
                    None if m.flags & NO_REPLY_EXPECTED == 0 => {
                        let e = Message::error(
                            &m,
                            "org.freedesktop.DBus.Error.UnknownObject",
                            &format!("no object at {path}"),
                        );
                        let _ = self.queue(&e);
                    }
                    None => {}
                }
            }
        }
    }

    /// Fails the calls whose deadline passed ([`CallError::Timeout`]).
    pub fn expire(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.pending.len() {
            if self.pending[i].deadline <= now {
                let p = self.pending.swap_remove(i);
                self.events.push_back((
                    p.client,
                    Event::Reply {
                        cookie: p.cookie,
                        result: Err(CallError::Timeout),
                    },
                ));
            } else {
                i += 1;
            }
        }
    }

    /// The next event for any client, oldest first.
    pub fn poll(&mut self) -> Option<(ClientId, Event)> {
        let next = self.events.pop_front();
        if next.is_none() && self.events.capacity() > KEEP_EVENTS {
            self.events = VecDeque::new();
        }
        next
    }

    /// Whether events wait for [`Bus::poll`].
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// Calls waiting for replies (for tests and the memory checks).
    pub fn pending_calls(&self) -> usize {
        self.pending.len()
    }
}

/// Encodes a match rule's value for tests and logs.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_match_string())
    }
}

/// `RequestName` flags.
pub mod name_flags {
    /// Let a later `RequestName` with [`REPLACE_EXISTING`] take the name.
    pub const ALLOW_REPLACEMENT: u32 = 1;
    /// Take the name from an owner that allows it.
    pub const REPLACE_EXISTING: u32 = 2;
    /// Fail rather than wait in the queue.
    pub const DO_NOT_QUEUE: u32 = 4;
}

/// `RequestName` replies.
pub mod name_reply {
    pub const PRIMARY_OWNER: u32 = 1;
    pub const IN_QUEUE: u32 = 2;
    pub const EXISTS: u32 = 3;
    pub const ALREADY_OWNER: u32 = 4;
}

/// A call to the daemon itself (`RequestName`, `GetNameOwner`, …).
pub fn daemon_call(member: &str, body: Vec<Value>) -> Message {
    Message::call(DBUS_NAME, DBUS_PATH, DBUS_IFACE, member).with(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            parse_address("unix:path=/run/user/1000/bus"),
            vec![Addr::Path("/run/user/1000/bus".into())]
        );
        assert_eq!(
            parse_address("tcp:host=x;unix:abstract=/tmp/dbus-X%2cy,guid=ab"),
            vec![Addr::Abstract(b"/tmp/dbus-X,y".to_vec())]
        );
        assert!(parse_address("tcp:host=localhost,port=1").is_empty());
        // A truncated escape is kept as it is, never a panic.
        assert_eq!(
            parse_address("unix:path=/a%2"),
            vec![Addr::Path("/a%2".into())]
        );
    }

    /// A peer that sends faster than the bar routes: each read stops once
    /// the backlog is full, the rest waits in the socket, nothing is lost,
    /// and the queue it grew is given back once drained.
    #[test]
    fn a_flood_waits_in_the_socket_beyond_a_bounded_backlog() {
        let mut fds = [0; 2];
        // SAFETY: socketpair writes two descriptors into `fds`.
        let r = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        assert_eq!(r, 0, "socketpair: {}", io::Error::last_os_error());
        // SAFETY: both fresh from socketpair and owned only here.
        let (ours, theirs) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fcntl on our own open descriptor.
        unsafe { libc::fcntl(ours.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
        let mut bus = Bus::start(ours);
        bus.subscribe(ClientId(7), Rule::interface("a.b"));
        let n = 3 * MAX_BACKLOG + 5;
        let mut bytes = b"OK 0123456789abcdef0123456789abcdef\r\n".to_vec();
        let mut one = 0;
        for i in 0..n {
            let m = Message::signal("/x", "a.b", "C").with(vec![Value::U32(i as u32)]);
            let e = m.encode(i as u32 + 1).expect("encode");
            one = e.len();
            bytes.extend_from_slice(&e);
        }
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            let mut peer = std::fs::File::from(theirs);
            peer.write_all(&bytes).expect("write the flood");
            peer
        });
        let mut got = Vec::new();
        let end = Instant::now() + Duration::from_secs(10);
        while got.len() < n && Instant::now() < end {
            bus.on_readable().expect("read");
            let waiting = bus.events.len();
            assert!(
                waiting <= MAX_BACKLOG + READ_CHUNK / one + 1,
                "{waiting} events waiting at once"
            );
            while let Some((c, ev)) = bus.poll() {
                assert_eq!(c, ClientId(7));
                let Event::Signal(m) = ev else {
                    panic!("not a signal")
                };
                got.push(m.body.first().and_then(|v| match v {
                    Value::U32(x) => Some(*x),
                    _ => None,
                }));
            }
            assert!(
                bus.events.capacity() <= KEEP_EVENTS,
                "the drained queue kept its capacity"
            );
        }
        let _peer = writer.join().expect("writer");
        let want: Vec<Option<u32>> = (0..n as u32).map(Some).collect();
        assert_eq!(got, want, "every signal, in order");
    }

    #[test]
    fn rules() {
        let r = Rule::name_owner("org.kde.StatusNotifierWatcher");
        assert_eq!(
            r.to_match_string(),
            "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='org.kde.StatusNotifierWatcher'"
        );
        let mut m = Message::signal(DBUS_PATH, DBUS_IFACE, "NameOwnerChanged").with(vec![
            Value::Str("org.kde.StatusNotifierWatcher".into()),
            Value::Str("".into()),
            Value::Str(":1.4".into()),
        ]);
        m.sender = Some(DBUS_NAME.into());
        assert!(r.matches(&m));
        m.body[0] = Value::Str("other".into());
        assert!(!r.matches(&m));
        let u = Rule::interface("a.b").from(":1.9");
        let mut s = Message::signal("/x", "a.b", "C");
        s.sender = Some(":1.8".into());
        assert!(!u.matches(&s));
        s.sender = Some(":1.9".into());
        assert!(u.matches(&s));
    }
}

//! The sound server: a PulseAudio native-protocol client, which PipeWire's
//! `pipewire-pulse` and PulseAudio itself both serve.
//!
//! A plain state machine over one non-blocking Unix socket, like the
//! compositor clients: the bar watches [`Client::fd`] and calls
//! [`Client::dispatch`] when it is readable. Requests are written and never
//! waited for; replies and the server's change events are read as they
//! come. It follows the default sink and source: a change event about them,
//! or about the server (a new default), queues one query, and a query
//! already in flight is asked again once it is answered rather than twice at
//! once, so a burst of a thousand volume changes costs at most two queries
//! in flight. An error means the connection is unusable: drop the client,
//! show `disconnected` and reconnect with backoff.

pub mod tagstruct;

use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use tagstruct::{CVolume, Descriptor, ParseError, Reader, Writer, DESCRIPTOR};

/// The protocol version asked for: 35 (PulseAudio 15+, pipewire-pulse) has
/// port types. The server answers with the lower of its and ours.
pub const PROTOCOL_VERSION: u32 = 35;
/// The oldest version whose replies this client reads (PulseAudio 0.9.11).
pub const MIN_PROTOCOL_VERSION: u32 = 13;
/// 100 % (`PA_VOLUME_NORM`).
pub const VOLUME_NORM: u32 = 0x10000;
/// The highest volume the protocol carries (`PA_VOLUME_MAX`).
pub const VOLUME_MAX: u32 = u32::MAX / 2;
/// Bytes in an authentication cookie (`PA_NATIVE_COOKIE_LENGTH`).
pub const COOKIE_LEN: usize = 256;

/// Commands (`pulsecore/native-common.h`).
pub mod command {
    pub const ERROR: u32 = 0;
    pub const REPLY: u32 = 2;
    pub const AUTH: u32 = 8;
    pub const SET_CLIENT_NAME: u32 = 9;
    pub const GET_SERVER_INFO: u32 = 20;
    pub const GET_SINK_INFO: u32 = 21;
    pub const GET_SOURCE_INFO: u32 = 23;
    pub const SUBSCRIBE: u32 = 35;
    pub const SET_SINK_VOLUME: u32 = 36;
    pub const SET_SOURCE_VOLUME: u32 = 38;
    pub const SET_SINK_MUTE: u32 = 39;
    pub const SET_SOURCE_MUTE: u32 = 40;
    pub const SUBSCRIBE_EVENT: u32 = 66;
    /// The last command PulseAudio 16 defines (`SEND_OBJECT_MESSAGE`).
    /// Others below it that a server may send a client without streams are
    /// skipped; one above it is a protocol error, as it is for libpulse.
    pub const LAST: u32 = 104;
}

/// Subscription masks and event fields (`pulse/def.h`).
pub mod event {
    pub const MASK_SINK: u32 = 0x0001;
    pub const MASK_SOURCE: u32 = 0x0002;
    pub const MASK_SERVER: u32 = 0x0080;
    pub const FACILITY_MASK: u32 = 0x000f;
    pub const FACILITY_SINK: u32 = 0;
    pub const FACILITY_SOURCE: u32 = 1;
    pub const FACILITY_SERVER: u32 = 7;
    pub const TYPE_MASK: u32 = 0x0030;
    pub const TYPE_REMOVE: u32 = 0x0020;
}

/// `PA_ERR_NOENTITY`: no such sink or source.
const ERR_NOENTITY: u32 = 5;
/// A write backlog past this means the server stopped reading.
const MAX_BACKLOG: usize = 256 * 1024;
/// How much one dispatch reads before handing the loop back.
const READ_SLICE: usize = 256 * 1024;

/// A sound-server failure, with what was being done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A volume as a percentage of [`VOLUME_NORM`], rounded as `pactl` and
/// `wpctl` print it (`pa_volume_snprint`).
pub fn percent(v: u32) -> u32 {
    ((v as u64 * 100 + VOLUME_NORM as u64 / 2) / VOLUME_NORM as u64) as u32
}

/// The volume of `p` percent.
pub fn from_percent(p: u32) -> u32 {
    ((p as u64 * VOLUME_NORM as u64 + 50) / 100).min(VOLUME_MAX as u64) as u32
}

/// Port types (`pa_device_port_type_t`), by their protocol number.
pub const PORT_TYPES: [&str; 23] = [
    "unknown",
    "aux",
    "speaker",
    "headphones",
    "line",
    "mic",
    "headset",
    "handset",
    "earpiece",
    "spdif",
    "hdmi",
    "tv",
    "radio",
    "video",
    "usb",
    "bluetooth",
    "portable",
    "handsfree",
    "car",
    "hifi",
    "phone",
    "network",
    "analog",
];

/// What kind of device a port is: an index into [`PORT_TYPES`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Port(pub u8);

impl Port {
    pub const UNKNOWN: Port = Port(0);
    pub const SPEAKER: Port = Port(2);
    pub const HEADPHONES: Port = Port(3);
    pub const HEADSET: Port = Port(6);
    pub const HDMI: Port = Port(10);
    pub const BLUETOOTH: Port = Port(15);
    pub const HANDSFREE: Port = Port(17);

    /// Its name (`speaker`, `headphones`, …).
    pub fn name(self) -> &'static str {
        PORT_TYPES
            .get(self.0 as usize)
            .copied()
            .unwrap_or("unknown")
    }

    /// The port of a protocol type number; numbers past the table (a newer
    /// server) are `unknown`.
    pub fn from_wire(t: u32) -> Port {
        if (t as usize) < PORT_TYPES.len() {
            Port(t as u8)
        } else {
            Port::UNKNOWN
        }
    }

    /// The port a device's `device.form_factor` suggests, for devices whose
    /// ports carry no type (older servers, Bluetooth and USB devices).
    pub fn from_form_factor(f: &str) -> Port {
        match f {
            "internal" | "speaker" => Port::SPEAKER,
            "headphone" => Port::HEADPHONES,
            "headset" => Port::HEADSET,
            "hands-free" => Port::HANDSFREE,
            "handset" => Port(7),
            "tv" => Port(11),
            "car" => Port(18),
            "hifi" => Port(19),
            "portable" => Port(16),
            "microphone" => Port(5),
            _ => Port::UNKNOWN,
        }
    }
}

/// A sink or source as modules show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    /// The server's index (what volume and mute changes address).
    pub index: u32,
    pub name: String,
    pub description: String,
    pub volume: CVolume,
    pub muted: bool,
    /// The active port's type, else what the device's properties say.
    pub port: Port,
    /// On a Bluetooth bus (`device.bus`, `device.api`, or the port type).
    pub bluetooth: bool,
}

impl Device {
    /// Its volume in percent: the channels' mean, as `pactl` rounds it.
    pub fn percent(&self) -> u32 {
        percent(self.volume.avg())
    }
}

/// Which of the two followed devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Sink,
    Source,
}

/// Everything the audio module shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// The server has answered its first query (false while authenticating).
    pub ready: bool,
    /// The server's package name and version (`pulseaudio 16.1`,
    /// `PulseAudio (on PipeWire 0.3.65)`).
    pub server: String,
    /// The default sink; `None` when the server has none.
    pub sink: Option<Device>,
    /// The default source.
    pub source: Option<Device>,
}

impl State {
    /// The followed device `w`.
    pub fn device(&self, w: Which) -> Option<&Device> {
        match w {
            Which::Sink => self.sink.as_ref(),
            Which::Source => self.source.as_ref(),
        }
    }
}

/// Where the server listens and how to prove who we are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub socket: PathBuf,
    /// The cookie and the file it came from; `None`: no cookie file, so
    /// send zeros and rely on the server's credential check (same user) or
    /// anonymous access.
    pub cookie: Option<(PathBuf, [u8; COOKIE_LEN])>,
}

/// The server's socket from `$PULSE_SERVER` (its first `unix:` or plain-path
/// entry) or `$XDG_RUNTIME_DIR/pulse/native`.
pub fn socket_path(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, Error> {
    if let Some(list) = env("PULSE_SERVER").filter(|s| !s.trim().is_empty()) {
        for entry in list.split_whitespace() {
            // `{machine-id}` prefixes restrict an entry to one host: this one
            // is the only host a Unix socket can be on.
            let e = match entry.strip_prefix('{') {
                Some(rest) => rest.split_once('}').map_or("", |(_, r)| r),
                None => entry,
            };
            if let Some(p) = e.strip_prefix("unix:") {
                return Ok(PathBuf::from(p));
            }
            if e.starts_with('/') {
                return Ok(PathBuf::from(e));
            }
        }
        return Err(Error(format!(
            "PULSE_SERVER={list:?}: no unix: entry (only local Unix sockets are supported)"
        )));
    }
    match env("XDG_RUNTIME_DIR").filter(|s| !s.is_empty()) {
        Some(d) => Ok(Path::new(&d).join("pulse/native")),
        // SAFETY: getuid cannot fail and touches no memory.
        None => Ok(PathBuf::from(format!(
            "/run/user/{}/pulse/native",
            unsafe { libc::getuid() }
        ))),
    }
}

/// The cookie file: `$PULSE_COOKIE`, `$XDG_CONFIG_HOME/pulse/cookie`,
/// `~/.config/pulse/cookie`, `~/.pulse-cookie`; the first that exists. A
/// file that exists but is not a 256-byte cookie is an error naming it.
pub fn cookie(
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(PathBuf, [u8; COOKIE_LEN])>, Error> {
    let home = env("HOME").filter(|h| !h.is_empty());
    let mut candidates: Vec<PathBuf> = Vec::with_capacity(4);
    if let Some(p) = env("PULSE_COOKIE").filter(|s| !s.is_empty()) {
        candidates.push(p.into());
    }
    if let Some(c) = env("XDG_CONFIG_HOME").filter(|s| !s.is_empty()) {
        candidates.push(Path::new(&c).join("pulse/cookie"));
    }
    if let Some(h) = &home {
        candidates.push(Path::new(h).join(".config/pulse/cookie"));
        candidates.push(Path::new(h).join(".pulse-cookie"));
    }
    for p in candidates {
        let f = match std::fs::File::open(&p) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(Error(format!("cookie {}: {e}", p.display()))),
        };
        let mut buf = Vec::with_capacity(COOKIE_LEN + 1);
        if let Err(e) = f.take(COOKIE_LEN as u64 + 1).read_to_end(&mut buf) {
            return Err(Error(format!("cookie {}: {e}", p.display())));
        }
        let Ok(c) = <[u8; COOKIE_LEN]>::try_from(buf.as_slice()) else {
            return Err(Error(format!(
                "cookie {}: {} bytes, not a {COOKIE_LEN}-byte PulseAudio cookie",
                p.display(),
                if buf.len() > COOKIE_LEN {
                    format!("more than {COOKIE_LEN}")
                } else {
                    buf.len().to_string()
                }
            )));
        };
        return Ok(Some((p, c)));
    }
    Ok(None)
}

/// The target the environment names.
pub fn target_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Target, Error> {
    Ok(Target {
        socket: socket_path(env)?,
        cookie: cookie(env)?,
    })
}

/// What a sent request's reply answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Request {
    Auth,
    ClientName,
    Subscribe,
    ServerInfo,
    Info(Which),
    /// A change (volume, mute): nothing to read but errors.
    Change,
}

/// One query kept to at most one in flight.
#[derive(Clone, Copy, Debug, Default)]
struct Query {
    inflight: bool,
    /// Asked again while in flight: ask once more when answered.
    again: bool,
}

/// A connection to the sound server.
pub struct Client {
    sock: UnixStream,
    socket: PathBuf,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    /// Negotiated protocol version; 0 until authenticated.
    version: u32,
    next_tag: u32,
    pending: Vec<(u32, Request)>,
    server_q: Query,
    info_q: [Query; 2],
    /// The server's default sink and source names.
    defaults: [String; 2],
    state: State,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("socket", &self.socket)
            .field("version", &self.version)
            .field("state", &self.state)
            .finish()
    }
}

/// Connects a non-blocking Unix socket: a server whose listen queue is full
/// is an error to retry later, not a wait.
fn connect_nonblocking(path: &Path) -> Result<UnixStream, Error> {
    use std::os::unix::ffi::OsStrExt;
    let ctx = |what: &str, e: std::io::Error| Error(format!("{} {what}: {e}", path.display()));
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: an all-zero sockaddr_un is a valid value of the type.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(Error(format!(
            "{}: not usable as a socket path",
            path.display()
        )));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, &s) in addr.sun_path.iter_mut().zip(bytes) {
        *d = s as libc::c_char;
    }
    // SAFETY: plain syscall with constant arguments.
    let fd = unsafe {
        libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(ctx("socket", std::io::Error::last_os_error()));
    }
    // SAFETY: fd was just returned by socket() and is owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    // SAFETY: addr is a valid sockaddr_un and len does not exceed its size.
    let r = unsafe {
        libc::connect(
            fd.as_raw_fd(),
            &addr as *const libc::sockaddr_un as *const libc::sockaddr,
            len as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(ctx("connect", std::io::Error::last_os_error()));
    }
    Ok(UnixStream::from(fd))
}

impl Client {
    /// Connects to `t` and sends the authentication; nothing is waited for.
    pub fn connect(t: &Target) -> Result<Client, Error> {
        let sock = connect_nonblocking(&t.socket)?;
        let mut c = Client {
            sock,
            socket: t.socket.clone(),
            rbuf: Vec::with_capacity(8192),
            wbuf: Vec::with_capacity(1024),
            version: 0,
            next_tag: 0,
            pending: Vec::with_capacity(8),
            server_q: Query::default(),
            info_q: [Query::default(); 2],
            defaults: [String::new(), String::new()],
            state: State::default(),
        };
        let zeros = [0u8; COOKIE_LEN];
        let cookie = t.cookie.as_ref().map_or(&zeros, |(_, c)| c);
        let tag = c.tag(Request::Auth);
        let mut w = Writer::command(&mut c.wbuf, command::AUTH, tag);
        // No shared memory or memfd flags: this client carries no audio.
        w.u32(PROTOCOL_VERSION).arbitrary(cookie);
        w.finish();
        c.flush()?;
        Ok(c)
    }

    /// The socket to watch for readability (and writability while
    /// [`Client::wants_write`]).
    pub fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// The socket it is connected to.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The negotiated protocol version (0 before authentication).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// No query is waiting for its answer: the state is as current as
    /// the server's last event.
    pub fn idle(&self) -> bool {
        !self.server_q.inflight && !self.info_q.iter().any(|q| q.inflight)
    }

    /// Requests are written but the socket took only part: wait for it to
    /// be writable and call [`Client::flush`].
    pub fn wants_write(&self) -> bool {
        !self.wbuf.is_empty()
    }

    fn tag(&mut self, r: Request) -> u32 {
        let t = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1);
        self.pending.push((t, r));
        t
    }

    fn err(&self, what: impl fmt::Display) -> Error {
        Error(format!("sound server {}: {what}", self.socket.display()))
    }

    /// Writes what is queued, as far as the socket takes it.
    pub fn flush(&mut self) -> Result<(), Error> {
        let mut done = 0;
        while done < self.wbuf.len() {
            match self.sock.write(&self.wbuf[done..]) {
                Ok(0) => return Err(self.err("write: the connection is closed")),
                Ok(n) => done += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.err(format_args!("write: {e}"))),
            }
        }
        self.wbuf.drain(..done);
        if self.wbuf.len() > MAX_BACKLOG {
            return Err(self.err("it stopped reading our requests"));
        }
        Ok(())
    }

    /// Reads what arrived and answers it; true when [`Client::state`]
    /// changed. An error (the server closed, sent something malformed or
    /// refused us) means the connection is gone.
    pub fn dispatch(&mut self) -> Result<bool, Error> {
        let mut chunk = [0u8; 4096];
        let mut read = 0;
        let mut closed = false;
        while read < READ_SLICE {
            match self.sock.read(&mut chunk) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => {
                    self.rbuf.extend_from_slice(&chunk[..n]);
                    read += n;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(self.err(format_args!("read: {e}"))),
            }
        }
        let changed = self.process()?;
        if closed {
            return Err(if self.rbuf.is_empty() {
                self.err("the server closed the connection")
            } else {
                self.err("the server closed the connection inside a packet")
            });
        }
        self.flush()?;
        Ok(changed)
    }

    /// Handles every complete packet in the read buffer.
    fn process(&mut self) -> Result<bool, Error> {
        let buf = std::mem::take(&mut self.rbuf);
        let mut at = 0;
        let mut changed = false;
        let mut result = Ok(());
        while buf.len() - at >= DESCRIPTOR {
            let mut d = [0u8; DESCRIPTOR];
            d.copy_from_slice(&buf[at..at + DESCRIPTOR]);
            let desc = match Descriptor::parse(&d) {
                Ok(d) => d,
                Err(e) => {
                    result = Err(self.err(format_args!("a bad frame: {e}")));
                    break;
                }
            };
            let end = at + DESCRIPTOR + desc.length;
            if buf.len() < end {
                break;
            }
            match self.packet(&buf[at + DESCRIPTOR..end]) {
                Ok(c) => changed |= c,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            at = end;
        }
        self.rbuf = buf;
        self.rbuf.drain(..at);
        // A burst may have grown the buffer: give the memory back.
        if self.rbuf.capacity() > 4 * 8192 && self.rbuf.len() < 8192 {
            self.rbuf.shrink_to(8192);
        }
        result.map(|()| changed)
    }

    fn packet(&mut self, p: &[u8]) -> Result<bool, Error> {
        let mut r = Reader::new(p);
        let bad = |c: &Client, e: ParseError| c.err(format_args!("a malformed packet: {e}"));
        let cmd = r.u32().map_err(|e| bad(self, e))?;
        let tag = r.u32().map_err(|e| bad(self, e))?;
        match cmd {
            command::REPLY | command::ERROR => {
                let Some(i) = self.pending.iter().position(|&(t, _)| t == tag) else {
                    return Err(self.err(format_args!("a reply to no request (tag {tag})")));
                };
                let (_, req) = self.pending.swap_remove(i);
                if cmd == command::ERROR {
                    let code = r.u32().map_err(|e| bad(self, e))?;
                    self.refused(req, code)
                } else {
                    self.reply(req, &mut r).map_err(|e| bad(self, e))
                }
            }
            command::SUBSCRIBE_EVENT => {
                let ev = r.u32().map_err(|e| bad(self, e))?;
                let index = r.u32().map_err(|e| bad(self, e))?;
                self.event(ev, index);
                Ok(false)
            }
            c if c <= command::LAST && self.version != 0 => Ok(false),
            c => Err(self.err(format_args!("an unknown command {c}"))),
        }
    }

    /// An error reply to `req`.
    fn refused(&mut self, req: Request, code: u32) -> Result<bool, Error> {
        match req {
            Request::Auth => Err(self.err(format_args!(
                "authentication refused ({}): check the cookie",
                error_name(code)
            ))),
            Request::Info(w) => {
                self.info_q[w as usize].inflight = false;
                if code != ERR_NOENTITY {
                    return Err(self.err(format_args!(
                        "{} info refused: {}",
                        which_name(w),
                        error_name(code)
                    )));
                }
                // The device went away between the event and the query: the
                // server event naming the new default follows.
                let changed = self.slot(w).take().is_some();
                self.query_server();
                Ok(changed)
            }
            // A change to a device that just went away.
            Request::Change => Ok(false),
            Request::ClientName | Request::Subscribe | Request::ServerInfo => {
                Err(self.err(format_args!("{req:?} refused: {}", error_name(code))))
            }
        }
    }

    fn reply(&mut self, req: Request, r: &mut Reader<'_>) -> Result<bool, ParseError> {
        match req {
            Request::Auth => {
                let v = r.u32()? & 0xffff;
                if v < MIN_PROTOCOL_VERSION {
                    return Err(ParseError {
                        at: 0,
                        what: "the server's protocol version is older than 13",
                    });
                }
                self.version = v.min(PROTOCOL_VERSION);
                let pid = std::process::id().to_string();
                let tag = self.tag(Request::ClientName);
                let mut w = Writer::command(&mut self.wbuf, command::SET_CLIENT_NAME, tag);
                w.proplist(&[
                    ("application.name", "rstat"),
                    ("application.process.binary", "rstat"),
                    ("application.process.id", &pid),
                ]);
                w.finish();
                let tag = self.tag(Request::Subscribe);
                let mut w = Writer::command(&mut self.wbuf, command::SUBSCRIBE, tag);
                w.u32(event::MASK_SINK | event::MASK_SOURCE | event::MASK_SERVER);
                w.finish();
                self.query_server();
                Ok(false)
            }
            Request::ClientName | Request::Subscribe | Request::Change => Ok(false),
            Request::ServerInfo => {
                self.server_q.inflight = false;
                let mut changed = false;
                let name = r.string()?.unwrap_or("");
                let version = r.string()?.unwrap_or("");
                r.string()?; // user
                r.string()?; // host
                r.sample_spec()?;
                let sink = r.string()?.unwrap_or("");
                let source = r.string()?.unwrap_or("");
                if !self.state.ready {
                    self.state.ready = true;
                    self.state.server.clear();
                    self.state.server.push_str(name);
                    self.state.server.push(' ');
                    self.state.server.push_str(version);
                    changed = true;
                }
                for (w, new) in [(Which::Sink, sink), (Which::Source, source)] {
                    let i = w as usize;
                    if self.defaults[i] != new {
                        self.defaults[i].clear();
                        self.defaults[i].push_str(new);
                        if new.is_empty() {
                            changed |= self.slot(w).take().is_some();
                        } else {
                            // The old device stays shown until the new one's
                            // info arrives: no flicker through "none".
                            self.query_info(w);
                        }
                    } else if !new.is_empty() && self.slot(w).is_none() {
                        self.query_info(w);
                    }
                }
                if std::mem::take(&mut self.server_q.again) {
                    self.query_server();
                }
                Ok(changed)
            }
            Request::Info(w) => {
                self.info_q[w as usize].inflight = false;
                let changed = self.read_device(w, r)?;
                if std::mem::take(&mut self.info_q[w as usize].again) {
                    self.query_info(w);
                }
                Ok(changed)
            }
        }
    }

    fn slot(&mut self, w: Which) -> &mut Option<Device> {
        match w {
            Which::Sink => &mut self.state.sink,
            Which::Source => &mut self.state.source,
        }
    }

    /// Reads a sink or source info reply (their layouts agree up to the
    /// active port) into the state, if it is still the default.
    fn read_device(&mut self, w: Which, r: &mut Reader<'_>) -> Result<bool, ParseError> {
        let v = self.version;
        let index = r.u32()?;
        let name = r.string()?.unwrap_or("");
        let desc = r.string()?.unwrap_or("");
        r.sample_spec()?;
        r.channel_map()?;
        r.u32()?; // owner module
        let volume = r.cvolume()?;
        let muted = r.bool()?;
        r.u32()?; // monitor source / monitored sink
        r.string()?;
        r.usec()?; // latency
        r.string()?; // driver
        r.u32()?; // flags
        let mut form = Port::UNKNOWN;
        let mut bluetooth = false;
        r.proplist(|k, val| match k {
            "device.form_factor" => {
                form = Port::from_form_factor(std::str::from_utf8(val).unwrap_or(""))
            }
            "device.bus" | "device.api" => bluetooth |= val == b"bluetooth" || val == b"bluez5",
            _ => {}
        })?;
        r.usec()?; // configured latency
        let mut port = Port::UNKNOWN;
        if v >= 15 {
            r.volume()?; // base volume
            r.u32()?; // state
            r.u32()?; // volume steps
            r.u32()?; // card
        }
        if v >= 16 {
            // Ports come before the name of the active one: keep the first
            // few (name, type) pairs without allocating.
            let mut ports: [(&str, u32); 16] = [("", 0); 16];
            let n = r.u32()?;
            for i in 0..n {
                let pname = r.string()?.unwrap_or("");
                r.string()?; // description
                r.u32()?; // priority
                if v >= 24 {
                    r.u32()?; // available
                }
                let mut ptype = 0;
                if v >= 34 {
                    r.string()?; // availability group
                    ptype = r.u32()?;
                }
                if let Some(p) = ports.get_mut(i as usize) {
                    *p = (pname, ptype);
                }
            }
            if let Some(active) = r.string()? {
                let shown = (n as usize).min(ports.len());
                if let Some(&(_, t)) = ports[..shown].iter().find(|(p, _)| *p == active) {
                    port = Port::from_wire(t);
                }
            }
        }
        if port == Port::UNKNOWN {
            port = form;
        }
        if port == Port::UNKNOWN && bluetooth {
            port = Port::BLUETOOTH;
        }
        bluetooth |= port == Port::BLUETOOTH;
        if name != self.defaults[w as usize] {
            // An answer about a device that stopped being the default.
            return Ok(false);
        }
        let slot = self.slot(w);
        let dev = slot.get_or_insert_with(Device::default);
        let same = dev.index == index
            && dev.name == name
            && dev.description == desc
            && dev.volume == volume
            && dev.muted == muted
            && dev.port == port
            && dev.bluetooth == bluetooth;
        if same {
            return Ok(false);
        }
        dev.index = index;
        if dev.name != name {
            dev.name.clear();
            dev.name.push_str(name);
        }
        if dev.description != desc {
            dev.description.clear();
            dev.description.push_str(desc);
        }
        dev.volume = volume;
        dev.muted = muted;
        dev.port = port;
        dev.bluetooth = bluetooth;
        Ok(true)
    }

    fn event(&mut self, ev: u32, index: u32) {
        let removed = ev & event::TYPE_MASK == event::TYPE_REMOVE;
        let w = match ev & event::FACILITY_MASK {
            event::FACILITY_SERVER => return self.query_server(),
            event::FACILITY_SINK => Which::Sink,
            event::FACILITY_SOURCE => Which::Source,
            _ => return,
        };
        let ours = self.slot(w).as_ref().map(|d| d.index);
        match ours {
            Some(i) if i == index => {
                if removed {
                    self.query_server();
                } else {
                    self.query_info(w);
                }
            }
            // A device appeared or changed while none is shown: it may be
            // the default we could not find before.
            None if !self.defaults[w as usize].is_empty() => self.query_info(w),
            _ => {}
        }
    }

    fn query_server(&mut self) {
        if self.server_q.inflight {
            self.server_q.again = true;
            return;
        }
        self.server_q.inflight = true;
        let tag = self.tag(Request::ServerInfo);
        Writer::command(&mut self.wbuf, command::GET_SERVER_INFO, tag).finish();
    }

    fn query_info(&mut self, w: Which) {
        let q = &mut self.info_q[w as usize];
        if q.inflight {
            q.again = true;
            return;
        }
        q.inflight = true;
        let cmd = match w {
            Which::Sink => command::GET_SINK_INFO,
            Which::Source => command::GET_SOURCE_INFO,
        };
        let tag = self.tag(Request::Info(w));
        let mut wr = Writer::command(&mut self.wbuf, cmd, tag);
        wr.u32(u32::MAX).string(Some(&self.defaults[w as usize]));
        wr.finish();
    }

    /// Sets device `w`'s volume to `pct` percent, keeping the balance
    /// between channels (the loudest channel gets `pct`). Nothing happens
    /// without a device; the server's change event brings the new state.
    pub fn set_volume(&mut self, w: Which, pct: u32) -> Result<(), Error> {
        let Some(d) = self.state.device(w) else {
            return Ok(());
        };
        let target = from_percent(pct);
        let (max, mut vol, index) = (d.volume.max(), d.volume, d.index);
        for v in &mut vol.values[..vol.channels as usize] {
            *v = if max == 0 {
                target
            } else {
                (*v as u64 * target as u64 / max as u64).min(VOLUME_MAX as u64) as u32
            };
        }
        let cmd = match w {
            Which::Sink => command::SET_SINK_VOLUME,
            Which::Source => command::SET_SOURCE_VOLUME,
        };
        let tag = self.tag(Request::Change);
        let mut wr = Writer::command(&mut self.wbuf, cmd, tag);
        wr.u32(index).string(None).cvolume(&vol);
        wr.finish();
        self.flush()
    }

    /// Mutes or unmutes device `w`.
    pub fn set_mute(&mut self, w: Which, mute: bool) -> Result<(), Error> {
        let Some(index) = self.state.device(w).map(|d| d.index) else {
            return Ok(());
        };
        let cmd = match w {
            Which::Sink => command::SET_SINK_MUTE,
            Which::Source => command::SET_SOURCE_MUTE,
        };
        let tag = self.tag(Request::Change);
        let mut wr = Writer::command(&mut self.wbuf, cmd, tag);
        wr.u32(index).string(None).bool(mute);
        wr.finish();
        self.flush()
    }
}

fn which_name(w: Which) -> &'static str {
    match w {
        Which::Sink => "sink",
        Which::Source => "source",
    }
}

/// The name of a protocol error code (`pa_strerror`'s subjects).
pub fn error_name(code: u32) -> &'static str {
    const NAMES: [&str; 27] = [
        "ok",
        "access denied",
        "unknown command",
        "invalid argument",
        "entity exists",
        "no such entity",
        "connection refused",
        "protocol error",
        "timeout",
        "no authentication key",
        "internal error",
        "connection terminated",
        "entity killed",
        "invalid server",
        "module initialisation failed",
        "bad state",
        "no data",
        "incompatible protocol version",
        "too large",
        "not supported",
        "unknown error code",
        "no such extension",
        "obsolete functionality",
        "missing implementation",
        "client forked",
        "input/output error",
        "device or resource busy",
    ];
    NAMES.get(code as usize).copied().unwrap_or("unknown error")
}

#[cfg(test)]
mod tests;

//! A local stand-in for Hyprland's two sockets (Hyprland cannot run on this
//! machine), replaying the protocol of Hyprland 0.56 as its sources define
//! it (read, not copied):
//! - `.socket.sock` (`src/debug/HyprCtl.cpp`; `src/ipc/s1/` on the
//!   development branch): one request per connection, answered and closed;
//!   `j/` asks for JSON. `j/workspaces`, `j/activeworkspace`, `j/monitors`,
//!   `j/activewindow`, `j/clients`, `j/devices`, `j/submap` answer from a
//!   [`Model`] the test changes as a real session would; `j/status` gives
//!   `configProvider` (`src/helpers/SystemInfo.cpp`, `Config::typeToString`
//!   in `src/config/ConfigManager.cpp`: `lua` or `hyprlang`).
//! - `dispatch` (`dispatchRequest` in `HyprCtl.cpp`): with a Lua config the
//!   payload is evaluated as `return hl.dispatch(PAYLOAD)`, so the legacy
//!   form is a Lua syntax error (with Hyprland's note appended); with a
//!   hyprlang config the first word names a dispatcher, and a Lua payload is
//!   `Invalid dispatcher`.
//! - `.socket2.sock` (`src/managers/EventManager.cpp`; `src/ipc/s2/` on the
//!   development branch): `NAME>>DATA\n` lines, data cut at 1024 bytes with
//!   newlines replaced by spaces; a client with 64 events queued (its socket
//!   full) is dropped.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Events a client may have queued before Hyprland drops it.
pub const MAX_QUEUED_EVENTS: usize = 64;
/// How many requests [`Model::requests`] keeps.
pub const REQUEST_LOG: usize = 256;
/// Event data is cut at this many bytes.
pub const EVENT_DATA_CUT: usize = 1024;

/// What the stand-in answers, and what it was asked.
pub struct Model {
    pub workspaces: Value,
    pub monitors: Value,
    pub active: Value,
    pub clients: Value,
    /// `j/devices` (keyboards with `active_keymap`).
    pub devices: Value,
    /// The current submap (`""`: default).
    pub submap: String,
    /// `configProvider` of `j/status`: `lua`, `hyprlang`, or `None` for a
    /// Hyprland before 0.55 (the field absent).
    pub provider: Option<String>,
    /// Dispatches that succeeded, as sent.
    pub commands: Vec<String>,
    /// Dispatches refused, as sent, with the reply.
    pub refused: Vec<(String, String)>,
    /// The last [`REQUEST_LOG`] requests, with when they arrived (bounded,
    /// so tests counting the heap see the client's memory, not this log).
    pub requests: VecDeque<(Instant, String)>,
    /// How long each socket1 request waits before its answer (a busy
    /// Hyprland); zero by default.
    pub delay: Duration,
    /// Text replaced by raw bytes in every socket1 reply: Hyprland writes
    /// the bytes of a window title into its JSON unchecked, so a title
    /// holding invalid UTF-8 arrives as such.
    pub raw: Vec<(String, Vec<u8>)>,
}

impl Model {
    /// A model with these replies, a hyprlang config, one keyboard and no
    /// commands yet.
    pub fn new(workspaces: Value, monitors: Value, active: Value, clients: Value) -> Model {
        Model {
            workspaces,
            monitors,
            active,
            clients,
            devices: keyboards("English (US)"),
            submap: String::new(),
            provider: Some("hyprlang".into()),
            commands: Vec::new(),
            refused: Vec::new(),
            requests: VecDeque::with_capacity(REQUEST_LOG),
            delay: Duration::ZERO,
            raw: Vec::new(),
        }
    }

    /// `reply` with each [`Model::raw`] marker replaced by its bytes.
    fn splice(&self, reply: String) -> Vec<u8> {
        let mut out = reply.into_bytes();
        for (marker, bytes) in &self.raw {
            let m = marker.as_bytes();
            while let Some(at) = out.windows(m.len()).position(|w| w == m) {
                out.splice(at..at + m.len(), bytes.iter().copied());
            }
        }
        out
    }

    /// When `req` was last asked, if ever.
    pub fn last(&self, req: &str) -> Option<Instant> {
        self.requests
            .iter()
            .rev()
            .find(|(_, r)| r == req)
            .map(|(t, _)| *t)
    }

    fn answer(&mut self, req: &str) -> String {
        if self.requests.len() == REQUEST_LOG {
            self.requests.pop_front();
        }
        self.requests.push_back((Instant::now(), req.to_string()));
        // Flags before the slash (`j/`, `[[BATCH]]` aside).
        let (flags, cmd) = match req.split_once('/') {
            Some((f, c)) if !f.contains(' ') => (f, c),
            _ => ("", req),
        };
        let json = flags.contains('j');
        match cmd {
            "workspaces" => self.workspaces.to_string(),
            "monitors" => self.monitors.to_string(),
            "activewindow" => self.active.to_string(),
            "clients" => self.clients.to_string(),
            "devices" => self.devices.to_string(),
            "activeworkspace" => {
                let id = self
                    .monitors
                    .as_array()
                    .and_then(|m| m.iter().find(|m| m["focused"] == true))
                    .map(|m| m["activeWorkspace"]["id"].clone())
                    .unwrap_or(Value::Null);
                self.workspaces
                    .as_array()
                    .and_then(|w| w.iter().find(|w| w["id"] == id))
                    .map_or_else(|| "{}".to_string(), Value::to_string)
            }
            "submap" => {
                let s = if self.submap.is_empty() {
                    "default"
                } else {
                    &self.submap
                };
                if json {
                    format!("\"{s}\"\n")
                } else {
                    format!("{s}\n")
                }
            }
            "status" => {
                match &self.provider {
                    Some(p) => {
                        format!("\n{{\n    \"configProvider\": \"{p}\",\n    \"backend\": \"drm\"\n}}\n")
                    }
                    // Before 0.55 there was no `status` request.
                    None => "unknown request".into(),
                }
            }
            c if c.starts_with("dispatch ") => {
                let reply = self.dispatch(&c["dispatch ".len()..]);
                if reply == "ok" {
                    self.commands.push(c.to_string());
                } else {
                    self.refused.push((c.to_string(), reply.clone()));
                }
                reply
            }
            _ => "unknown request".into(),
        }
    }

    /// `dispatchRequest` of `HyprCtl.cpp` for the provider in use.
    fn dispatch(&self, payload: &str) -> String {
        if self.provider.as_deref() == Some("lua") {
            if lua_dispatch_ok(payload) {
                return "ok".into();
            }
            // `return hl.dispatch(workspace name:1)` does not parse: Lua
            // names the token after the first word.
            let near: String = payload
                .split_whitespace()
                .nth(1)
                .unwrap_or("<eof>")
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let err = format!(
                "error: [string \"return hl.dispatch({payload})\"]:1: ')' expected near '{near}'"
            );
            if payload.contains('(') {
                return err;
            }
            return format!("{err}\n\n → Note: dispatch in lua is a shorthand for hl.dispatch(...), your syntax might need to be updated.");
        }
        let dispatcher = payload.split(' ').next().unwrap_or("");
        const KNOWN: &[&str] = &[
            "workspace",
            "togglespecialworkspace",
            "exec",
            "killactive",
            "movetoworkspace",
            "submap",
            "fullscreen",
            "focuswindow",
        ];
        if KNOWN.contains(&dispatcher) {
            "ok".into()
        } else {
            "Invalid dispatcher".into()
        }
    }
}

/// Whether `payload` is a Lua dispatch the stand-in knows:
/// `hl.dsp.focus({ workspace = "…" })` or
/// `hl.dsp.workspace.toggle_special("…")` with one well-formed string.
fn lua_dispatch_ok(payload: &str) -> bool {
    let string_arg = |s: &str| -> Option<usize> {
        // A double-quoted Lua string with escapes; its byte length.
        let b = s.as_bytes();
        if b.first() != Some(&b'"') {
            return None;
        }
        let mut i = 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                b'\n' => return None,
                _ => i += 1,
            }
        }
        None
    };
    if let Some(rest) = payload.strip_prefix("hl.dsp.focus({ workspace = ") {
        return string_arg(rest).is_some_and(|n| &rest[n..] == " })");
    }
    if let Some(rest) = payload.strip_prefix("hl.dsp.workspace.toggle_special(") {
        return string_arg(rest).is_some_and(|n| &rest[n..] == ")");
    }
    false
}

/// A `j/devices` reply with one main keyboard on `layout`.
pub fn keyboards(layout: &str) -> Value {
    json!({
        "mice": [],
        "keyboards": [{
            "address": "0x5613a8e0", "name": "at-translated-set-2-keyboard",
            "rules": "", "model": "", "layout": "us,de", "variant": "", "options": "",
            "active_layout_index": 0, "active_keymap": layout,
            "capsLock": false, "numLock": false, "main": true
        }],
        "tablets": [], "touch": [], "switches": []
    })
}

/// One Hyprland instance's sockets, served by threads of the test.
pub struct FakeHyprland {
    /// The `XDG_RUNTIME_DIR` the sockets are under (`hypr/SIG/`).
    pub runtime: PathBuf,
    /// `runtime/hypr/SIG`.
    pub dir: PathBuf,
    /// `HYPRLAND_INSTANCE_SIGNATURE`.
    pub sig: String,
    pub model: Arc<Mutex<Model>>,
    events: UnixListener,
    own_runtime: bool,
}

impl FakeHyprland {
    /// Binds both sockets under a fresh runtime dir named after `name`.
    pub fn start(name: &str, model: Model) -> FakeHyprland {
        let runtime = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("hypr-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&runtime);
        let mut h = FakeHyprland::start_in(&runtime, name, model);
        h.own_runtime = true;
        h
    }

    /// Binds both sockets under `runtime/hypr/SIG` (a compositor's runtime
    /// dir, so a bar on that compositor finds them).
    pub fn start_in(runtime: &Path, name: &str, model: Model) -> FakeHyprland {
        // Real ones are a commit hash, a time and a pid; shorter here, as the
        // socket path must fit in sun_path.
        let sig = format!("h056_{name}");
        let dir = runtime.join("hypr").join(&sig);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the stand-in's socket dir");
        let model = Arc::new(Mutex::new(model));
        let requests = UnixListener::bind(dir.join(".socket.sock")).expect("binding .socket.sock");
        let events = UnixListener::bind(dir.join(".socket2.sock")).expect("binding .socket2.sock");
        let m = model.clone();
        std::thread::spawn(move || {
            for conn in requests.incoming() {
                let Ok(mut conn) = conn else { break };
                let mut buf = [0u8; 8192];
                let n = conn.read(&mut buf).unwrap_or(0);
                let cmd = String::from_utf8_lossy(&buf[..n]).into_owned();
                let delay = m.lock().unwrap_or_else(|p| p.into_inner()).delay;
                std::thread::sleep(delay);
                let reply = {
                    let mut m = m.lock().unwrap_or_else(|p| p.into_inner());
                    let r = m.answer(&cmd);
                    m.splice(r)
                };
                let _ = conn.write_all(&reply);
                // Answered and closed at once, as Hyprland does.
            }
        });
        FakeHyprland {
            runtime: runtime.to_path_buf(),
            dir,
            sig,
            model,
            events,
            own_runtime: false,
        }
    }

    /// Waits for the client's event connection; the test writes raw event
    /// lines into it.
    pub fn accept_events(&self) -> UnixStream {
        let (s, _) = self
            .events
            .accept()
            .expect("accepting the event connection");
        s
    }

    /// Serves `.socket2.sock` from a thread: every client that connects
    /// (again) is added, and [`Socket2::post`] sends to all, as Hyprland's
    /// event manager does.
    pub fn serve_events(&self) -> Socket2 {
        let listener = self.events.try_clone().expect("cloning the listener");
        let peers: Arc<Mutex<Vec<Peer>>> = Arc::default();
        let accepted = Arc::new(AtomicUsize::new(0));
        let (p, a) = (peers.clone(), accepted.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(s) = conn else { break };
                let _ = s.set_nonblocking(true);
                // A small send buffer, so "the client stopped reading" is
                // reached after a few hundred events, not a few thousand.
                let size: libc::c_int = 4096;
                // SAFETY: setsockopt on a socket we own, with an int option.
                unsafe {
                    libc::setsockopt(
                        s.as_raw_fd(),
                        libc::SOL_SOCKET,
                        libc::SO_SNDBUF,
                        (&size as *const libc::c_int).cast(),
                        std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                    );
                }
                p.lock().unwrap_or_else(|e| e.into_inner()).push(Peer {
                    stream: s,
                    queue: VecDeque::new(),
                    offset: 0,
                });
                a.fetch_add(1, Ordering::SeqCst);
            }
        });
        Socket2 {
            peers,
            accepted,
            dropped: AtomicUsize::new(0),
        }
    }
}

impl Drop for FakeHyprland {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(if self.own_runtime {
            &self.runtime
        } else {
            &self.dir
        });
    }
}

struct Peer {
    stream: UnixStream,
    queue: VecDeque<Arc<Vec<u8>>>,
    offset: usize,
}

impl Peer {
    /// Writes what the socket takes; false when the client is gone.
    fn flush(&mut self) -> bool {
        while let Some(ev) = self.queue.front() {
            match self.stream.write(&ev[self.offset..]) {
                Ok(n) if n > 0 => {
                    self.offset += n;
                    if self.offset == ev.len() {
                        self.offset = 0;
                        self.queue.pop_front();
                    }
                }
                Ok(_) => return false,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }
}

/// The event socket's clients (see [`FakeHyprland::serve_events`]).
pub struct Socket2 {
    peers: Arc<Mutex<Vec<Peer>>>,
    accepted: Arc<AtomicUsize>,
    dropped: AtomicUsize,
}

/// `formatEvent`: `NAME>>DATA\n`, data cut at 1024 bytes, newlines in it
/// replaced by spaces.
pub fn format_event(name: &str, data: &str) -> Vec<u8> {
    let d = data.as_bytes();
    let d = &d[..d.len().min(EVENT_DATA_CUT)];
    let mut out = Vec::with_capacity(name.len() + d.len() + 3);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b">>");
    out.extend(d.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
    out.push(b'\n');
    out
}

impl Socket2 {
    /// Sends one event to every client; a client with 64 events already
    /// queued is dropped instead (its socket closed).
    pub fn post(&self, name: &str, data: &str) {
        let ev = Arc::new(format_event(name, data));
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        let before = peers.len();
        peers.retain_mut(|p| {
            if p.queue.len() >= MAX_QUEUED_EVENTS {
                return false;
            }
            p.queue.push_back(ev.clone());
            p.flush()
        });
        self.dropped
            .fetch_add(before - peers.len(), Ordering::SeqCst);
    }

    /// Flushes what the clients have made room for.
    pub fn flush(&self) {
        let mut peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
        peers.retain_mut(Peer::flush);
    }

    /// Closes every client's event socket (what 0.56.2 does after its idle
    /// lock).
    pub fn close_all(&self) {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Clients connected now.
    pub fn clients(&self) -> usize {
        self.peers.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Clients dropped for falling 64 events behind.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

//! Sway (and i3-compatible) IPC: `i3-ipc` framed JSON over `$SWAYSOCK`.
//!
//! Two connections, as the protocol intends: one subscribed to events (read
//! when poll says it is readable, never polled on a timer), one for requests
//! (`GET_WORKSPACES`, `GET_TREE`, `RUN_COMMAND`) answered synchronously with
//! a 2 s timeout. The bar runs this client in the compositor service's worker
//! thread (`services::compositor`), so a hung Sway stalls no frame; `--once`
//! runs it directly.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::{Error, State, Workspace};

const MAGIC: &[u8; 6] = b"i3-ipc";
const HEADER: usize = 14;
/// Replies past this are refused rather than buffered (a tree of thousands
/// of windows is a few MiB).
const MAX_PAYLOAD: usize = 64 << 20;

pub const RUN_COMMAND: u32 = 0;
pub const GET_WORKSPACES: u32 = 1;
pub const SUBSCRIBE: u32 = 2;
pub const GET_TREE: u32 = 4;
pub const GET_BINDING_STATE: u32 = 12;
pub const GET_INPUTS: u32 = 100;
pub const EVENT_WORKSPACE: u32 = 0x8000_0000;
pub const EVENT_OUTPUT: u32 = 0x8000_0001;
pub const EVENT_MODE: u32 = 0x8000_0002;
pub const EVENT_WINDOW: u32 = 0x8000_0003;
pub const EVENT_SHUTDOWN: u32 = 0x8000_0006;
pub const EVENT_INPUT: u32 = 0x8000_0015;

/// Frames one message.
pub fn encode(kind: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEADER + payload.len());
    m.extend_from_slice(MAGIC);
    m.extend_from_slice(&(payload.len() as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(payload);
    m
}

/// One framed message: its type, its payload, and the bytes it took.
pub type Frame<'a> = (u32, &'a [u8], usize);

/// Splits one complete message off the front of `buf`. `Ok(None)` when more
/// bytes are needed.
pub fn decode(buf: &[u8]) -> Result<Option<Frame<'_>>, Error> {
    if buf.len() < HEADER {
        return Ok(None);
    }
    if &buf[..6] != MAGIC {
        return Err(Error("sway IPC: a message without the i3-ipc magic".into()));
    }
    let len = u32::from_ne_bytes([buf[6], buf[7], buf[8], buf[9]]) as usize;
    let kind = u32::from_ne_bytes([buf[10], buf[11], buf[12], buf[13]]);
    if len > MAX_PAYLOAD {
        return Err(Error(format!(
            "sway IPC: a {len}-byte message is too large"
        )));
    }
    if buf.len() < HEADER + len {
        return Ok(None);
    }
    Ok(Some((kind, &buf[HEADER..HEADER + len], HEADER + len)))
}

/// Quotes a workspace name for a sway command. Sway 1.7 keeps the
/// backslash of an escaped `"` in the name, so a name with double quotes
/// (and no single quote or backslash) is put in single quotes instead,
/// which sway's argument splitter also takes.
pub fn quote(name: &str) -> String {
    if name.contains('"') && !name.contains('\'') && !name.contains('\\') {
        return format!("'{name}'");
    }
    let mut q = String::with_capacity(name.len() + 2);
    q.push('"');
    for c in name.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// Workspaces from a `GET_WORKSPACES` reply.
pub fn parse_workspaces(v: &Value) -> Vec<Workspace> {
    let Some(list) = v.as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|w| {
            Some(Workspace {
                id: w.get("num").and_then(Value::as_i64).unwrap_or(-1),
                name: w.get("name")?.as_str()?.to_string(),
                output: w
                    .get("output")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                focused: w.get("focused").and_then(Value::as_bool).unwrap_or(false),
                visible: w.get("visible").and_then(Value::as_bool).unwrap_or(false),
                urgent: w.get("urgent").and_then(Value::as_bool).unwrap_or(false),
                special: false,
            })
        })
        .collect()
}

/// The binding mode a `GET_BINDING_STATE` reply or a `mode` event names
/// (`name` or `change`); empty for `default`.
pub fn mode_of(v: &Value) -> String {
    let m = v
        .get("name")
        .or_else(|| v.get("change"))
        .and_then(Value::as_str)
        .unwrap_or("");
    if m == "default" {
        String::new()
    } else {
        m.to_string()
    }
}

/// The active layout of a keyboard in a `GET_INPUTS` reply: the first
/// keyboard with a layout (Sway applies `input type:keyboard` settings to
/// all of them alike).
pub fn keyboard_layout(inputs: &Value) -> String {
    inputs
        .as_array()
        .and_then(|a| {
            a.iter()
                .filter(|i| i.get("type").and_then(Value::as_str) == Some("keyboard"))
                .find_map(|i| i.get("xkb_active_layout_name")?.as_str())
        })
        .unwrap_or("")
        .to_string()
}

/// The windows in the scratchpad: the titles of the windows under the
/// `__i3_scratch` workspace of a `GET_TREE` reply.
pub fn scratchpad_titles(tree: &Value, out: &mut Vec<String>) {
    out.clear();
    let mut stack = vec![tree];
    let mut scratch = None;
    while let Some(n) = stack.pop() {
        if n.get("type").and_then(Value::as_str) == Some("workspace")
            && n.get("name").and_then(Value::as_str) == Some("__i3_scratch")
        {
            scratch = Some(n);
            break;
        }
        if let Some(children) = n.get("nodes").and_then(Value::as_array) {
            stack.extend(children.iter());
        }
    }
    let Some(ws) = scratch else { return };
    let mut stack: Vec<&Value> = Vec::new();
    for key in ["nodes", "floating_nodes"] {
        if let Some(c) = ws.get(key).and_then(Value::as_array) {
            stack.extend(c.iter());
        }
    }
    while let Some(n) = stack.pop() {
        let mut leaf = true;
        for key in ["nodes", "floating_nodes"] {
            if let Some(c) = n.get(key).and_then(Value::as_array) {
                leaf &= c.is_empty();
                stack.extend(c.iter());
            }
        }
        if leaf {
            out.push(
                n.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            );
        }
    }
    out.sort();
}

/// The focused window's title in a `GET_TREE` reply ("" when a workspace,
/// not a window, has focus).
pub fn focused_title(tree: &Value) -> String {
    focused_window(tree).0
}

/// The focused window's title, app id (or X11 class) and fullscreen state.
pub fn focused_window(tree: &Value) -> (String, String, bool) {
    // Iterative walk: trees can be deep, and recursion depth would be the
    // compositor's to choose.
    let mut stack = vec![tree];
    while let Some(n) = stack.pop() {
        if n.get("focused").and_then(Value::as_bool) == Some(true) {
            let is_window = matches!(
                n.get("type").and_then(Value::as_str),
                Some("con" | "floating_con")
            );
            if !is_window {
                return (String::new(), String::new(), false);
            }
            let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
            let class = match n.get("app_id").and_then(Value::as_str) {
                Some(a) => a.to_string(),
                None => text(n.get("window_properties").and_then(|p| p.get("class"))),
            };
            let full = n
                .get("fullscreen_mode")
                .and_then(Value::as_i64)
                .unwrap_or(0)
                != 0;
            return (text(n.get("name")), class, full);
        }
        for key in ["nodes", "floating_nodes"] {
            if let Some(children) = n.get(key).and_then(Value::as_array) {
                stack.extend(children.iter());
            }
        }
    }
    (String::new(), String::new(), false)
}

/// A connection to Sway.
pub struct Client {
    requests: UnixStream,
    events: UnixStream,
    rbuf: Vec<u8>,
    state: State,
}

fn io(what: &str, e: std::io::Error) -> Error {
    Error(format!("sway IPC: {what}: {e}"))
}

impl Client {
    /// Connects to the socket at `path`, subscribes and reads the full state.
    pub fn connect(path: &Path) -> Result<Client, Error> {
        let open = |what| {
            let s = UnixStream::connect(path)
                .map_err(|e| io(&format!("connecting to {} ({what})", path.display()), e))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))
                .map_err(|e| io("setting a timeout", e))?;
            s.set_write_timeout(Some(Duration::from_secs(2)))
                .map_err(|e| io("setting a timeout", e))?;
            Ok::<_, Error>(s)
        };
        let mut requests = open("requests")?;
        let mut events = open("events")?;
        let reply = request(
            &mut events,
            SUBSCRIBE,
            br#"["workspace","window","output","mode","input","shutdown"]"#,
        )?;
        if reply.get("success").and_then(Value::as_bool) != Some(true) {
            // Sway before 1.9 has no `output` event and refuses the whole
            // list; workspace events still cover outputs coming and going
            // there. A fresh socket, as the refused one may hold part of
            // the list.
            events = open("events")?;
            let reply = request(
                &mut events,
                SUBSCRIBE,
                br#"["workspace","window","mode","input","shutdown"]"#,
            )?;
            if reply.get("success").and_then(Value::as_bool) != Some(true) {
                return Err(Error(format!("sway IPC: subscribing was refused: {reply}")));
            }
        }
        events
            .set_nonblocking(true)
            .map_err(|e| io("making the event socket non-blocking", e))?;
        let mut c = Client {
            state: State::default(),
            rbuf: Vec::with_capacity(64 * 1024),
            events,
            requests: {
                // Prove the request socket answers before handing it out.
                request(&mut requests, GET_WORKSPACES, b"")?;
                requests
            },
        };
        c.refresh_workspaces()?;
        c.refresh_title()?;
        c.state.mode = mode_of(&request(&mut c.requests, GET_BINDING_STATE, b"")?);
        c.refresh_layout()?;
        Ok(c)
    }

    fn refresh_layout(&mut self) -> Result<(), Error> {
        let v = request(&mut self.requests, GET_INPUTS, b"")?;
        self.state.layout = keyboard_layout(&v);
        Ok(())
    }

    /// The event socket, for the event loop to watch.
    pub fn event_fd(&self) -> RawFd {
        self.events.as_raw_fd()
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    fn refresh_workspaces(&mut self) -> Result<(), Error> {
        let v = request(&mut self.requests, GET_WORKSPACES, b"")?;
        self.state.workspaces = parse_workspaces(&v);
        self.state.sort();
        Ok(())
    }

    fn refresh_title(&mut self) -> Result<(), Error> {
        let (tree, len) = request_sized(&mut self.requests, GET_TREE, b"")?;
        (self.state.title, self.state.class, self.state.fullscreen) = focused_window(&tree);
        scratchpad_titles(&tree, &mut self.state.scratchpad);
        drop(tree);
        if len >= super::BIG_REPLY {
            // A big tree's reply and its parsed form are freed now; without
            // this glibc keeps their pages, and the bar's memory ratchets up
            // with the largest tree it ever read.
            super::give_back_heap();
        }
        Ok(())
    }

    /// Reads and applies every event that has arrived. Returns whether the
    /// state changed; an error means the connection is gone.
    pub fn dispatch(&mut self) -> Result<bool, Error> {
        let mut chunk = [0u8; 16 * 1024];
        // A burst of thousands of events is taken a slice at a time (the
        // socket is watched level-triggered, so the rest comes next turn):
        // the buffer stays small however far behind the bar fell.
        let limit = self.rbuf.len() + super::READ_SLICE;
        while self.rbuf.len() < limit {
            match self.events.read(&mut chunk) {
                Ok(0) => return Err(Error("sway closed the IPC connection".into())),
                Ok(n) => self.rbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(io("reading events", e)),
            }
        }
        let before = self.state.clone();
        let (mut workspaces, mut title) = (false, false);
        let mut used = 0;
        while let Some((kind, payload, n)) = decode(&self.rbuf[used..])? {
            used += n;
            match kind {
                EVENT_WORKSPACE | EVENT_OUTPUT => {
                    // Event payloads carry only the workspaces involved; the
                    // full list is one request away and never stale.
                    workspaces = true;
                    title = true;
                }
                EVENT_WINDOW => {
                    let v: Value = super::json_lossy(payload).unwrap_or(Value::Null);
                    let change = v.get("change").and_then(Value::as_str).unwrap_or("");
                    let c = v.get("container");
                    let focused =
                        c.and_then(|c| c.get("focused")).and_then(Value::as_bool) == Some(true);
                    let name = || {
                        c.and_then(|c| c.get("name"))
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    match change {
                        "title" if focused => self.state.title = name(),
                        "title" => {}
                        "urgent" => workspaces = true,
                        // focus, close, move (to the scratchpad), floating,
                        // fullscreen_mode, new: the tree says the rest.
                        _ => title = true,
                    }
                }
                EVENT_MODE => {
                    let v: Value = super::json_lossy(payload).unwrap_or(Value::Null);
                    self.state.mode = mode_of(&v);
                }
                EVENT_INPUT => {
                    let v: Value = super::json_lossy(payload).unwrap_or(Value::Null);
                    let input = v.get("input");
                    let layout = input
                        .filter(|i| i.get("type").and_then(Value::as_str) == Some("keyboard"))
                        .and_then(|i| i.get("xkb_active_layout_name"))
                        .and_then(Value::as_str);
                    if let Some(l) = layout {
                        if l != self.state.layout {
                            self.state.layout = l.to_string();
                        }
                    }
                }
                EVENT_SHUTDOWN => return Err(Error("sway is shutting down".into())),
                _ => {}
            }
        }
        self.rbuf.drain(..used);
        super::trim(&mut self.rbuf);
        if workspaces {
            self.refresh_workspaces()?;
        }
        if title {
            self.refresh_title()?;
        }
        Ok(self.state != before)
    }

    /// Runs a sway command (`workspace 3`); the error is sway's own message.
    pub fn run_command(&mut self, cmd: &str) -> Result<(), Error> {
        let v = request(&mut self.requests, RUN_COMMAND, cmd.as_bytes())?;
        let results = v.as_array().cloned().unwrap_or_default();
        match results
            .iter()
            .find(|r| r.get("success").and_then(Value::as_bool) != Some(true))
        {
            None if !results.is_empty() => Ok(()),
            None => Err(Error(format!("sway IPC: `{cmd}`: an empty reply"))),
            Some(r) => Err(Error(format!(
                "sway IPC: `{cmd}`: {}",
                r.get("error").and_then(Value::as_str).unwrap_or("failed")
            ))),
        }
    }
}

/// Sends one request and reads its reply (skipping any event that arrives
/// first on a subscribed socket).
fn request(s: &mut UnixStream, kind: u32, payload: &[u8]) -> Result<Value, Error> {
    request_sized(s, kind, payload).map(|(v, _)| v)
}

/// [`request`], also returning the reply's size in bytes.
fn request_sized(s: &mut UnixStream, kind: u32, payload: &[u8]) -> Result<(Value, usize), Error> {
    s.write_all(&encode(kind, payload))
        .map_err(|e| io("sending a request", e))?;
    loop {
        let mut head = [0u8; HEADER];
        s.read_exact(&mut head)
            .map_err(|e| io("reading a reply", e))?;
        // Checks the magic; the payload is read below.
        decode(&head)?;
        let len = u32::from_ne_bytes([head[6], head[7], head[8], head[9]]) as usize;
        let got = u32::from_ne_bytes([head[10], head[11], head[12], head[13]]);
        if len > MAX_PAYLOAD {
            return Err(Error(format!("sway IPC: a {len}-byte reply is too large")));
        }
        let mut body = vec![0u8; len];
        s.read_exact(&mut body)
            .map_err(|e| io("reading a reply", e))?;
        if got == kind {
            let v = super::json_lossy(&body)
                .map_err(|e| Error(format!("sway IPC: a reply that is not JSON: {e}")))?;
            return Ok((v, len));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn invalid_utf8_in_a_title_is_decoded_lossily() {
        let raw = b"{\"change\": \"title\", \"container\": {\"name\": \"ab\xff\xfecd\"}}";
        assert!(serde_json::from_slice::<Value>(raw).is_err());
        let v = crate::compositor::json_lossy(raw).unwrap();
        assert_eq!(v["container"]["name"], "ab\u{fffd}\u{fffd}cd");
        assert!(crate::compositor::json_lossy(b"{\"x\": 1").is_err());
    }

    #[test]
    fn framing_round_trip_and_partial_reads() {
        let m = encode(GET_WORKSPACES, b"[1]");
        assert_eq!(&m[..6], b"i3-ipc");
        assert_eq!(decode(&m[..10]).unwrap(), None);
        assert_eq!(decode(&m[..m.len() - 1]).unwrap(), None);
        let (k, p, n) = decode(&m).unwrap().unwrap();
        assert_eq!((k, p, n), (GET_WORKSPACES, &b"[1]"[..], m.len()));
        assert!(decode(b"not-ipc-at-all").is_err());
        let mut huge = encode(0, b"");
        huge[6..10].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert!(decode(&huge).is_err());
    }

    #[test]
    fn workspaces_and_titles_from_real_shapes() {
        let ws = json!([
            {"num": 2, "name": "2:web", "visible": false, "focused": false, "urgent": true, "output": "HEADLESS-1"},
            {"num": 1, "name": "1", "visible": true, "focused": true, "urgent": false, "output": "HEADLESS-1"},
            {"num": -1, "name": "mail", "visible": true, "focused": false, "urgent": false, "output": "HEADLESS-2"},
            {"bogus": true}
        ]);
        let list = parse_workspaces(&ws);
        assert_eq!(list.len(), 3);
        assert_eq!((list[0].name.as_str(), list[0].urgent), ("2:web", true));
        assert_eq!(list[2].id, -1);
        let tree = json!({"type": "root", "focused": false, "nodes": [
            {"type": "output", "nodes": [{"type": "workspace", "focused": false, "nodes": [
                {"type": "con", "name": "vim — notes", "focused": true, "nodes": []}
            ], "floating_nodes": []}]}
        ]});
        assert_eq!(focused_title(&tree), "vim — notes");
        let empty_ws =
            json!({"type": "root", "nodes": [{"type": "workspace", "focused": true, "name": "3"}]});
        assert_eq!(focused_title(&empty_ws), "");
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(quote(r#"7 "q""#), r#"'7 "q"'"#);
        assert_eq!(quote("3:web"), r#""3:web""#);
    }
}

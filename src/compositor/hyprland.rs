//! Hyprland IPC: requests on `.socket.sock` (one connection per request,
//! answered then closed), events as `NAME>>DATA` lines on `.socket2.sock`.
//!
//! Hyprland 0.40 moved its sockets from `/tmp/hypr/SIG/` to
//! `$XDG_RUNTIME_DIR/hypr/SIG/`; both are tried. The full state is queried
//! at connect (and so after every reconnect); events only say *that*
//! something changed, and the state is re-read from `j/workspaces` and
//! `j/monitors` rather than patched, so it can never drift. Unknown events
//! are ignored.
//!
//! Since 0.55 a Lua config changes what `dispatch` takes: with one, the
//! payload is Lua (`hl.dsp.focus({ workspace = "1" })`) and the old form is
//! a Lua syntax error; `j/status` says which (`configProvider`: `lua` or
//! `hyprlang`), asked once per connection. Hyprland drops an event client
//! 64 events behind and cuts event data at 1024 bytes (its
//! `src/managers/EventManager.cpp`): a drop is a lost connection the bar
//! answers by reconnecting, and a cut title is re-read from
//! `j/activewindow`.

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::{Error, State, Workspace};

/// The socket directory for instance `sig`: the runtime dir first, then /tmp.
pub fn socket_dir(sig: &str, runtime_dir: Option<&Path>) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(rt) = runtime_dir {
        candidates.push(rt.join("hypr").join(sig));
    }
    candidates.push(Path::new("/tmp/hypr").join(sig));
    candidates
        .into_iter()
        .find(|d| d.join(".socket2.sock").exists())
}

/// Event data longer than this was cut by Hyprland.
pub const EVENT_DATA_CUT: usize = 1024;

/// Special workspaces have ids from -99 down (to -1336); name-based ones
/// (`workspace name:code`) from -1337 down.
pub const SPECIAL_FIRST: i64 = -99;
/// The first id of name-based workspaces.
pub const NAMED_FIRST: i64 = -1337;

/// Which `dispatch` payload the running Hyprland takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Dispatch {
    /// `dispatch workspace name:3` (hyprlang configs; before 0.55 always).
    #[default]
    Legacy,
    /// `dispatch hl.dsp.focus({ workspace = "name:3" })` (a Lua config).
    Lua,
}

impl Dispatch {
    /// From a `j/status` reply: `configProvider` `lua` is Lua, anything else
    /// (`hyprlang`, the field absent, a reply that is not JSON) the legacy form.
    pub fn from_status(reply: &[u8]) -> Dispatch {
        let v: Value = super::json_lossy(reply).unwrap_or(Value::Null);
        match v.get("configProvider").and_then(Value::as_str) {
            Some("lua") => Dispatch::Lua,
            _ => Dispatch::Legacy,
        }
    }

    /// The command that focuses the workspace `selector` (a Hyprland
    /// workspace selector: `name:code`, `m+1`).
    pub fn focus(self, selector: &str) -> String {
        match self {
            Dispatch::Legacy => format!("dispatch workspace {selector}"),
            Dispatch::Lua => format!(
                "dispatch hl.dsp.focus({{ workspace = {} }})",
                lua_string(selector)
            ),
        }
    }

    /// The command that opens or closes special workspace `name` (without
    /// its `special:` prefix).
    pub fn toggle_special(self, name: &str) -> String {
        match self {
            Dispatch::Legacy => format!("dispatch togglespecialworkspace {name}"),
            Dispatch::Lua => format!(
                "dispatch hl.dsp.workspace.toggle_special({})",
                lua_string(name)
            ),
        }
    }
}

/// A Lua string literal of `s` (any bytes a workspace name may hold).
pub fn lua_string(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\r' => q.push_str("\\r"),
            '\0' => q.push_str("\\0"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Workspaces from `j/workspaces` and `j/monitors` replies, with
/// visibility and focus from each monitor's active workspace. Special
/// workspaces are listed while open on a monitor (its `specialWorkspace`);
/// name-based ones always.
pub fn parse_state(workspaces: &Value, monitors: &Value, urgent: &BTreeSet<i64>) -> Vec<Workspace> {
    let mons: Vec<(&str, i64, bool, i64)> = monitors
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| {
                    Some((
                        m.get("name")?.as_str()?,
                        m.get("activeWorkspace")?.get("id")?.as_i64()?,
                        m.get("focused").and_then(Value::as_bool).unwrap_or(false),
                        m.get("specialWorkspace")
                            .and_then(|s| s.get("id"))
                            .and_then(Value::as_i64)
                            .unwrap_or(0),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    workspaces
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| {
                    let id = w.get("id")?.as_i64()?;
                    let name = w.get("name")?.as_str()?;
                    let output = w.get("monitor").and_then(Value::as_str).unwrap_or("");
                    let special =
                        (NAMED_FIRST < id && id <= SPECIAL_FIRST) || name.starts_with("special:");
                    if special {
                        let open = mons.iter().any(|&(m, _, _, sp)| m == output && sp == id);
                        if !open {
                            return None;
                        }
                    } else if id < 0 && id > NAMED_FIRST {
                        // -1 (invalid) and the like: nothing a user made.
                        return None;
                    }
                    let visible = special
                        || mons
                            .iter()
                            .any(|&(m, active, _, _)| m == output && active == id);
                    let focused = !special
                        && mons
                            .iter()
                            .any(|&(m, active, f, _)| f && m == output && active == id);
                    Some(Workspace {
                        id,
                        name: name.to_string(),
                        output: output.to_string(),
                        focused,
                        visible,
                        urgent: urgent.contains(&id) && !focused,
                        special,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What an event line asks the client to re-read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Refresh {
    pub workspaces: bool,
    /// The focused window (title, class, fullscreen) from `j/activewindow`.
    pub title: bool,
    /// A window asked for attention (its address is the event's data).
    pub urgent: bool,
}

/// What an event line says directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Says<'a> {
    Nothing,
    /// `activewindow>>CLASS,TITLE`.
    Window {
        class: &'a str,
        title: &'a str,
    },
    /// `submap>>NAME` (empty: the default one).
    Submap(&'a str),
    /// `activelayout>>KEYBOARD,LAYOUT`.
    Layout(&'a str),
    /// `fullscreen>>1`.
    Fullscreen(bool),
}

/// Classifies one event line (`workspace>>2`).
pub fn classify(line: &str) -> (Refresh, Says<'_>) {
    let (name, data) = line.split_once(">>").unwrap_or((line, ""));
    let mut r = Refresh::default();
    // Data cut at 1024 bytes: what it says is incomplete; ask instead.
    let cut = data.len() >= EVENT_DATA_CUT;
    match name {
        "workspace" | "workspacev2" | "focusedmon" | "focusedmonv2" | "createworkspace"
        | "createworkspacev2" | "destroyworkspace" | "destroyworkspacev2" | "moveworkspace"
        | "moveworkspacev2" | "renameworkspace" | "monitoradded" | "monitoraddedv2"
        | "monitorremoved" | "monitorremovedv2" | "movewindow" | "movewindowv2" | "openwindow"
        | "activespecial" | "activespecialv2" | "changeworkspaceid" => {
            r.workspaces = true;
        }
        // activewindow>>CLASS,TITLE: the title may itself hold commas.
        "activewindow" if !cut => {
            let (class, title) = data.split_once(',').unwrap_or((data, ""));
            return (r, Says::Window { class, title });
        }
        "activewindow" | "closewindow" | "windowtitle" | "windowtitlev2" => r.title = true,
        "urgent" => r.urgent = true,
        "submap" => return (r, Says::Submap(data)),
        "activelayout" => {
            // Keyboard names have no commas; layout names may.
            return (r, Says::Layout(data.split_once(',').map_or("", |(_, l)| l)));
        }
        "fullscreen" => return (r, Says::Fullscreen(data.trim() == "1")),
        _ => {}
    }
    (r, Says::Nothing)
}

/// The active layout of the keyboard a `j/devices` reply marks `main`
/// (the last one used), or of the first keyboard.
pub fn main_layout(devices: &Value) -> String {
    let kbs = devices.get("keyboards").and_then(Value::as_array);
    let pick = kbs.and_then(|a| {
        a.iter()
            .find(|k| k.get("main").and_then(Value::as_bool) == Some(true))
            .or_else(|| a.first())
    });
    pick.and_then(|k| k.get("active_keymap"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The submap a `j/submap` reply names; `default` is none.
pub fn submap_of(reply: &[u8]) -> String {
    match super::json_lossy(reply) {
        Ok(Value::String(s)) if s != "default" => s,
        _ => String::new(),
    }
}

/// Replaces `dst` with `src`, keeping its allocation.
fn set(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

/// A connection to Hyprland.
pub struct Client {
    dir: PathBuf,
    events: UnixStream,
    rbuf: Vec<u8>,
    urgent: BTreeSet<i64>,
    state: State,
    /// The dispatch form, from `j/status` at connect.
    form: Dispatch,
}

impl Client {
    /// Finds instance `sig`'s sockets, subscribes to events and reads the state.
    pub fn connect(sig: &str, runtime_dir: Option<&Path>) -> Result<Client, Error> {
        let dir = socket_dir(sig, runtime_dir).ok_or_else(|| {
            Error(format!(
                "Hyprland IPC: no .socket2.sock for instance {sig} in $XDG_RUNTIME_DIR/hypr/ or /tmp/hypr/"
            ))
        })?;
        let path = dir.join(".socket2.sock");
        let events = UnixStream::connect(&path).map_err(|e| {
            Error(format!(
                "Hyprland IPC: connecting to {}: {e}",
                path.display()
            ))
        })?;
        events
            .set_nonblocking(true)
            .map_err(|e| Error(format!("Hyprland IPC: {e}")))?;
        let mut c = Client {
            dir,
            events,
            rbuf: Vec::with_capacity(16 * 1024),
            urgent: BTreeSet::new(),
            state: State::default(),
            form: Dispatch::Legacy,
        };
        // Before 0.55 `j/status` is an unknown request: the legacy form.
        c.form = Dispatch::from_status(&c.request("j/status")?);
        c.refresh_workspaces()?;
        c.refresh_title()?;
        // Both are extras: a Hyprland without them still gives workspaces.
        c.state.mode = submap_of(&c.request("j/submap")?);
        c.state.layout = c
            .json("j/devices")
            .map_or_else(|_| String::new(), |d| main_layout(&d));
        Ok(c)
    }

    /// The event socket, for the event loop to watch.
    pub fn event_fd(&self) -> RawFd {
        self.events.as_raw_fd()
    }

    /// The current state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The dispatch form this connection chose.
    pub fn form(&self) -> Dispatch {
        self.form
    }

    /// One request on `.socket.sock`; the reply is everything until EOF.
    fn request(&self, cmd: &str) -> Result<Vec<u8>, Error> {
        let path = self.dir.join(".socket.sock");
        let err = |what: &str, e: std::io::Error| {
            Error(format!(
                "Hyprland IPC: {what} `{cmd}` on {}: {e}",
                path.display()
            ))
        };
        let mut s = UnixStream::connect(&path).map_err(|e| err("connecting for", e))?;
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| err("a timeout for", e))?;
        s.set_write_timeout(Some(Duration::from_secs(2)))
            .map_err(|e| err("a timeout for", e))?;
        s.write_all(cmd.as_bytes()).map_err(|e| err("sending", e))?;
        let mut out = Vec::new();
        s.take(64 << 20)
            .read_to_end(&mut out)
            .map_err(|e| err("reading the reply to", e))?;
        Ok(out)
    }

    fn json(&self, cmd: &str) -> Result<Value, Error> {
        let raw = self.request(cmd)?;
        // A title's invalid UTF-8 reaches the JSON as it is: read it
        // lossily (U+FFFD) rather than lose the whole reply.
        super::json_lossy(&raw).map_err(|e| {
            Error(format!(
                "Hyprland IPC: the reply to `{cmd}` is not JSON: {e}"
            ))
        })
    }

    fn refresh_workspaces(&mut self) -> Result<(), Error> {
        let ws = self.json("j/workspaces")?;
        let mons = self.json("j/monitors")?;
        self.state.workspaces = parse_state(&ws, &mons, &self.urgent);
        // Attention is answered once the workspace is looked at.
        let focused: Vec<i64> = self
            .state
            .workspaces
            .iter()
            .filter(|w| w.focused)
            .map(|w| w.id)
            .collect();
        for id in focused {
            self.urgent.remove(&id);
        }
        self.state.sort();
        Ok(())
    }

    fn refresh_title(&mut self) -> Result<(), Error> {
        let w = self.json("j/activewindow")?;
        let text = |k| w.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        self.state.title = text("title");
        self.state.class = text("class");
        // 0: none; 1 maximised, 2 fullscreen, 3 both (its fullscreen modes).
        self.state.fullscreen = w.get("fullscreen").and_then(Value::as_i64).unwrap_or(0) != 0;
        Ok(())
    }

    fn mark_urgent(&mut self, address: &str) -> Result<(), Error> {
        let clients = self.json("j/clients")?;
        let want = address.trim_start_matches("0x");
        let ws = clients.as_array().and_then(|a| {
            a.iter().find_map(|c| {
                let addr = c.get("address")?.as_str()?.trim_start_matches("0x");
                (addr == want).then(|| c.get("workspace")?.get("id")?.as_i64())?
            })
        });
        if let Some(id) = ws {
            self.urgent.insert(id);
        }
        Ok(())
    }

    /// Reads and applies every event line that has arrived. Returns whether
    /// the state changed; an error means the connection is gone.
    pub fn dispatch(&mut self) -> Result<bool, Error> {
        let mut chunk = [0u8; 8192];
        // A slice at a time, as in the Sway client: bounded memory in a burst.
        let limit = self.rbuf.len() + super::READ_SLICE;
        while self.rbuf.len() < limit {
            match self.events.read(&mut chunk) {
                Ok(0) => return Err(Error("Hyprland closed the event socket".into())),
                Ok(n) => self.rbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error(format!("Hyprland IPC: reading events: {e}"))),
            }
        }
        let before = self.state.clone();
        let mut todo = Refresh::default();
        let mut urgent = Vec::new();
        let mut fullscreen = false;
        let mut consumed = 0;
        while let Some(nl) = self.rbuf[consumed..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&self.rbuf[consumed..consumed + nl]).into_owned();
            consumed += nl + 1;
            let (r, says) = classify(&line);
            match says {
                Says::Nothing => {}
                Says::Window { class, title } => {
                    set(&mut self.state.title, title);
                    set(&mut self.state.class, class);
                    // Whether the newly focused window is fullscreen (the
                    // `fullscreen` event says only changes).
                    fullscreen = true;
                }
                Says::Submap(m) => set(&mut self.state.mode, if m == "default" { "" } else { m }),
                Says::Layout(l) => set(&mut self.state.layout, l),
                Says::Fullscreen(f) => self.state.fullscreen = f,
            }
            todo.workspaces |= r.workspaces;
            todo.title |= r.title;
            if r.urgent {
                urgent.push(line.split_once(">>").map_or("", |(_, a)| a).to_string());
            }
        }
        self.rbuf.drain(..consumed);
        super::trim(&mut self.rbuf);
        // A line longer than any event means a broken stream; do not grow forever.
        if self.rbuf.len() > 1 << 20 {
            self.rbuf.clear();
        }
        for a in &urgent {
            self.mark_urgent(a)?;
        }
        if todo.workspaces || !urgent.is_empty() {
            self.refresh_workspaces()?;
        }
        if todo.title {
            self.refresh_title()?;
        } else if fullscreen {
            let w = self.json("j/activewindow")?;
            self.state.fullscreen = w.get("fullscreen").and_then(Value::as_i64).unwrap_or(0) != 0;
        }
        Ok(self.state != before)
    }

    /// Focuses workspace `name`, in the form this Hyprland takes (special
    /// workspaces are toggled).
    pub fn focus_workspace(&mut self, name: &str) -> Result<(), Error> {
        let cmd = match name.strip_prefix("special:") {
            Some(sp) => self.form.toggle_special(sp),
            None => self.form.focus(&format!("name:{name}")),
        };
        self.dispatch_command(&cmd)
    }

    /// The next (+1) or previous workspace on the focused monitor.
    pub fn cycle_workspace(&mut self, dir: i32) -> Result<(), Error> {
        let cmd = self.form.focus(if dir > 0 { "m+1" } else { "m-1" });
        self.dispatch_command(&cmd)
    }

    /// Sends a command such as `dispatch workspace name:3`; Hyprland answers `ok`.
    pub fn dispatch_command(&mut self, cmd: &str) -> Result<(), Error> {
        let reply = self.request(cmd)?;
        if reply.trim_ascii() == b"ok" {
            Ok(())
        } else {
            Err(Error(format!(
                "Hyprland IPC: `{cmd}`: {}",
                String::from_utf8_lossy(&reply).trim()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn state_from_replies() {
        let ws = json!([
            {"id": 1, "name": "1", "monitor": "DP-1", "windows": 2},
            {"id": 2, "name": "2", "monitor": "DP-1", "windows": 0},
            {"id": 5, "name": "chat", "monitor": "eDP-1", "windows": 1},
            {"id": -98, "name": "special:magic", "monitor": "DP-1"}
        ]);
        let mons = json!([
            {"name": "DP-1", "activeWorkspace": {"id": 2, "name": "2"}, "focused": true},
            {"name": "eDP-1", "activeWorkspace": {"id": 5, "name": "chat"}, "focused": false}
        ]);
        let urgent: BTreeSet<i64> = [1, 2].into_iter().collect();
        let s = parse_state(&ws, &mons, &urgent);
        assert_eq!(s.len(), 3, "special workspaces are not shown");
        let one = &s[0];
        assert_eq!((one.visible, one.focused, one.urgent), (false, false, true));
        let two = &s[1];
        assert_eq!((two.visible, two.focused, two.urgent), (true, true, false));
        let chat = &s[2];
        assert_eq!(
            (chat.visible, chat.focused, chat.output.as_str()),
            (true, false, "eDP-1")
        );
    }

    #[test]
    fn event_lines() {
        assert!(classify("workspace>>2").0.workspaces);
        assert!(classify("workspacev2>>2,2").0.workspaces);
        assert!(classify("focusedmon>>DP-1,2").0.workspaces);
        assert!(
            classify("activespecialv2>>-98,special:magic,DP-1")
                .0
                .workspaces
        );
        assert!(classify("changeworkspaceid>>3,7").0.workspaces);
        assert_eq!(
            classify("activewindow>>kitty,~: vim, notes").1,
            Says::Window {
                class: "kitty",
                title: "~: vim, notes"
            }
        );
        assert_eq!(
            classify("activewindow>>,").1,
            Says::Window {
                class: "",
                title: ""
            }
        );
        // Cut at 1024 bytes: re-read instead of showing a cut title.
        let long = format!("activewindow>>kitty,{}", "x".repeat(EVENT_DATA_CUT - 6));
        assert_eq!(
            classify(&long),
            (
                Refresh {
                    title: true,
                    ..Default::default()
                },
                Says::Nothing
            )
        );
        assert_eq!(classify("submap>>resize").1, Says::Submap("resize"));
        assert_eq!(classify("submap>>").1, Says::Submap(""));
        assert_eq!(
            classify("activelayout>>at-translated-set-2-keyboard,German (Neo 2)").1,
            Says::Layout("German (Neo 2)")
        );
        assert_eq!(classify("fullscreen>>1").1, Says::Fullscreen(true));
        assert_eq!(classify("fullscreen>>0").1, Says::Fullscreen(false));
        assert!(classify("closewindow>>80a6f50").0.title);
        assert!(classify("urgent>>80a6f50").0.urgent);
        assert_eq!(
            classify("someday_new_event>>x"),
            (Refresh::default(), Says::Nothing)
        );
        assert_eq!(
            classify("garbage without separator"),
            (Refresh::default(), Says::Nothing)
        );
    }

    #[test]
    fn special_and_named_workspaces() {
        let ws = json!([
            {"id": 1, "name": "1", "monitor": "DP-1"},
            {"id": -98, "name": "special:magic", "monitor": "DP-1"},
            {"id": -97, "name": "special:term", "monitor": "DP-1"},
            {"id": -1337, "name": "code", "monitor": "DP-1"},
            {"id": -1338, "name": "chat", "monitor": "DP-1"},
            {"id": -1, "name": "", "monitor": "DP-1"}
        ]);
        let mons = json!([
            {"name": "DP-1", "activeWorkspace": {"id": -1337, "name": "code"},
             "specialWorkspace": {"id": -98, "name": "special:magic"}, "focused": true}
        ]);
        let mut st = State {
            workspaces: parse_state(&ws, &mons, &BTreeSet::new()),
            ..State::default()
        };
        st.sort();
        let names: Vec<(&str, bool, bool)> = st
            .workspaces
            .iter()
            .map(|w| (w.name.as_str(), w.special, w.focused))
            .collect();
        assert_eq!(
            names,
            [
                ("1", false, false),
                ("chat", false, false),
                ("code", false, true),
                ("special:magic", true, false)
            ]
        );
    }

    #[test]
    fn dispatch_forms() {
        assert_eq!(
            Dispatch::from_status(br#"{"configProvider": "lua", "backend": "drm"}"#),
            Dispatch::Lua
        );
        assert_eq!(
            Dispatch::from_status(br#"{"configProvider": "hyprlang"}"#),
            Dispatch::Legacy
        );
        assert_eq!(
            Dispatch::from_status(br#"{"backend": "drm"}"#),
            Dispatch::Legacy
        );
        assert_eq!(Dispatch::from_status(b"unknown request"), Dispatch::Legacy);
        assert_eq!(
            Dispatch::Lua.focus("name:1"),
            r#"dispatch hl.dsp.focus({ workspace = "name:1" })"#
        );
        assert_eq!(Dispatch::Legacy.focus("m+1"), "dispatch workspace m+1");
        assert_eq!(lua_string("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(
            Dispatch::Lua.toggle_special("magic"),
            r#"dispatch hl.dsp.workspace.toggle_special("magic")"#
        );
        assert_eq!(submap_of(b"\"resize\"\n"), "resize");
        assert_eq!(submap_of(b"\"default\"\n"), "");
        assert_eq!(submap_of(b"unknown request"), "");
        let dev = json!({"keyboards": [
            {"name": "a", "active_keymap": "English (US)", "main": false},
            {"name": "b", "active_keymap": "German", "main": true}
        ]});
        assert_eq!(main_layout(&dev), "German");
        assert_eq!(main_layout(&json!({"mice": []})), "");
    }
}

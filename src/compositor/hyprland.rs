//! Hyprland IPC: requests on `.socket.sock` (one connection per request,
//! answered then closed), events as `NAME>>DATA` lines on `.socket2.sock`.
//!
//! Hyprland 0.40 moved its sockets from `/tmp/hypr/SIG/` to
//! `$XDG_RUNTIME_DIR/hypr/SIG/`; both are tried. The full state is queried
//! at connect (and so after every reconnect); events only say *that*
//! something changed, and the state is re-read from `j/workspaces` and
//! `j/monitors` rather than patched, so it can never drift. Unknown events
//! are ignored.

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

/// Workspaces from `j/workspaces` and `j/monitors` replies, with
/// visibility and focus from each monitor's active workspace.
pub fn parse_state(workspaces: &Value, monitors: &Value, urgent: &BTreeSet<i64>) -> Vec<Workspace> {
    let mons: Vec<(&str, i64, bool)> = monitors
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| {
                    Some((
                        m.get("name")?.as_str()?,
                        m.get("activeWorkspace")?.get("id")?.as_i64()?,
                        m.get("focused").and_then(Value::as_bool).unwrap_or(false),
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
                    // Special (scratchpad) workspaces have negative ids.
                    if id < 0 || name.starts_with("special:") {
                        return None;
                    }
                    let output = w.get("monitor").and_then(Value::as_str).unwrap_or("");
                    let visible = mons
                        .iter()
                        .any(|&(m, active, _)| m == output && active == id);
                    let focused = mons
                        .iter()
                        .any(|&(m, active, f)| f && m == output && active == id);
                    Some(Workspace {
                        id,
                        name: name.to_string(),
                        output: output.to_string(),
                        focused,
                        visible,
                        urgent: urgent.contains(&id) && !focused,
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
    pub title: bool,
    /// A window asked for attention (its address is the event's data).
    pub urgent: bool,
}

/// Classifies one event line (`workspace>>2`); `title` holds the new window
/// title when the event carries it.
pub fn classify(line: &str) -> (Refresh, Option<&str>) {
    let (name, data) = line.split_once(">>").unwrap_or((line, ""));
    let mut r = Refresh::default();
    match name {
        "workspace" | "workspacev2" | "focusedmon" | "focusedmonv2" | "createworkspace"
        | "createworkspacev2" | "destroyworkspace" | "destroyworkspacev2" | "moveworkspace"
        | "moveworkspacev2" | "renameworkspace" | "monitoradded" | "monitoraddedv2"
        | "monitorremoved" | "monitorremovedv2" | "movewindow" | "movewindowv2" | "openwindow" => {
            r.workspaces = true;
        }
        // activewindow>>CLASS,TITLE: the title may itself hold commas.
        "activewindow" => {
            return (r, Some(data.split_once(',').map_or("", |(_, t)| t)));
        }
        "closewindow" | "windowtitle" | "windowtitlev2" => r.title = true,
        "urgent" => r.urgent = true,
        _ => {}
    }
    (r, None)
}

/// A connection to Hyprland.
pub struct Client {
    dir: PathBuf,
    events: UnixStream,
    rbuf: Vec<u8>,
    urgent: BTreeSet<i64>,
    state: State,
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
        };
        c.refresh_workspaces()?;
        c.refresh_title()?;
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
        serde_json::from_slice(&raw).map_err(|e| {
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
        self.state.title = w
            .get("title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
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
        let mut consumed = 0;
        while let Some(nl) = self.rbuf[consumed..].iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&self.rbuf[consumed..consumed + nl]).into_owned();
            consumed += nl + 1;
            let (r, title) = classify(&line);
            if let Some(t) = title {
                self.state.title = t.to_string();
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
        }
        Ok(self.state != before)
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
        assert_eq!(
            classify("activewindow>>kitty,~: vim, notes").1,
            Some("~: vim, notes")
        );
        assert_eq!(classify("activewindow>>,").1, Some(""));
        assert!(classify("closewindow>>80a6f50").0.title);
        assert!(classify("urgent>>80a6f50").0.urgent);
        assert_eq!(classify("someday_new_event>>x"), (Refresh::default(), None));
        assert_eq!(
            classify("garbage without separator"),
            (Refresh::default(), None)
        );
    }
}

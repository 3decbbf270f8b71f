//! What the compositor knows that a bar shows: workspaces per output and the
//! focused window's title, over Sway's i3 IPC or Hyprland's sockets.
//!
//! Both clients are plain state machines over non-blocking sockets: the bar's
//! event loop watches [`Connection::event_fd`] and calls
//! [`Connection::dispatch`] when it is readable, so nothing here polls,
//! spawns threads or blocks on events. A lost socket is an error the caller
//! answers by reconnecting with backoff (the bar's services do:
//! [`crate::services::compositor`]).

pub mod hyprland;
pub mod sway;

use std::fmt;
use std::os::fd::RawFd;

/// How much of an event backlog one dispatch reads.
const READ_SLICE: usize = 64 * 1024;

/// Gives back an event buffer's memory after a burst made it large: memory
/// must not ratchet up with every compositor event storm.
fn trim(buf: &mut Vec<u8>) {
    if buf.capacity() > 4 * READ_SLICE {
        buf.shrink_to(2 * READ_SLICE.max(buf.len()));
    }
}

/// A reply at least this large is followed by [`give_back_heap`].
const BIG_REPLY: usize = 256 * 1024;

/// Returns freed heap pages to the kernel (glibc keeps them otherwise): after
/// a big reply, so a burst of 1 MB trees does not stay resident.
fn give_back_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; no pointers of ours
    // are involved and it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Parses a compositor's JSON, decoding invalid UTF-8 (a window title
/// passed through byte for byte) as U+FFFD rather than refusing the whole
/// message: one odd title must not blank the compositor modules.
pub fn json_lossy(bytes: &[u8]) -> serde_json::Result<serde_json::Value> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_str(&String::from_utf8_lossy(bytes)),
    }
}

/// One workspace as the bar draws it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workspace {
    /// Sway's `num` (-1 for named-only workspaces) or Hyprland's `id`.
    pub id: i64,
    pub name: String,
    /// The output (monitor) it is on.
    pub output: String,
    /// Has keyboard focus.
    pub focused: bool,
    /// Shown on its output (focused or not).
    pub visible: bool,
    pub urgent: bool,
    /// A special (scratchpad-like) workspace of Hyprland's, listed only
    /// while open on its monitor.
    pub special: bool,
}

/// Everything the bar's compositor modules show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Sorted by output, then id, then name.
    pub workspaces: Vec<Workspace>,
    /// The focused window's title; empty when none.
    pub title: String,
    /// The focused window's class (Hyprland) or app id (Sway); empty when none.
    pub class: String,
    /// The focused window is fullscreen.
    pub fullscreen: bool,
    /// The binding mode (Sway) or submap (Hyprland); empty in the default one.
    pub mode: String,
    /// The focused keyboard's active layout, as the compositor names it
    /// ("English (US)"); empty when unknown.
    pub layout: String,
    /// Titles of the windows in Sway's scratchpad.
    pub scratchpad: Vec<String>,
}

impl State {
    /// The workspaces on `output`, in order.
    pub fn on_output<'a>(&'a self, output: &'a str) -> impl Iterator<Item = &'a Workspace> + 'a {
        self.workspaces.iter().filter(move |w| w.output == output)
    }

    /// Sway's order ([`order`]).
    fn sort(&mut self) {
        self.workspaces.sort_by(order);
    }
}

/// Sway's order of workspaces: per output, numbered workspaces by number,
/// then the named ones by name (Hyprland's name-based ids count down, so
/// they too go by name), then open special workspaces.
pub fn order(a: &Workspace, b: &Workspace) -> std::cmp::Ordering {
    fn key(w: &Workspace) -> (&str, bool, bool, i64, &str) {
        (
            w.output.as_str(),
            w.special,
            w.id < 0,
            w.id.max(0),
            w.name.as_str(),
        )
    }
    key(a).cmp(&key(b))
}

/// A compositor IPC failure, with what was being done.
#[derive(Debug)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Which compositor the environment says we run under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Detected {
    /// `$SWAYSOCK`.
    Sway(std::path::PathBuf),
    /// `$HYPRLAND_INSTANCE_SIGNATURE` (the socket directory is found later).
    Hyprland(String),
    None,
}

/// Detects the compositor from environment variables (`SWAYSOCK`, then
/// `HYPRLAND_INSTANCE_SIGNATURE`; `I3SOCK` for i3-compatible ones).
pub fn detect(env: impl Fn(&str) -> Option<String>) -> Detected {
    if let Some(s) = env("SWAYSOCK")
        .or_else(|| env("I3SOCK"))
        .filter(|s| !s.is_empty())
    {
        return Detected::Sway(s.into());
    }
    if let Some(sig) = env("HYPRLAND_INSTANCE_SIGNATURE").filter(|s| !s.is_empty()) {
        return Detected::Hyprland(sig);
    }
    Detected::None
}

/// A live connection to either compositor.
pub enum Connection {
    Sway(sway::Client),
    Hyprland(hyprland::Client),
}

impl Connection {
    /// Connects to what `detect` found and reads the full state.
    pub fn open(d: &Detected, runtime_dir: Option<&std::path::Path>) -> Result<Connection, Error> {
        match d {
            Detected::Sway(p) => Ok(Connection::Sway(sway::Client::connect(p)?)),
            Detected::Hyprland(sig) => Ok(Connection::Hyprland(hyprland::Client::connect(
                sig,
                runtime_dir,
            )?)),
            Detected::None => Err(Error(
                "no compositor IPC: neither SWAYSOCK nor HYPRLAND_INSTANCE_SIGNATURE is set".into(),
            )),
        }
    }

    /// The descriptor to watch for readability.
    pub fn event_fd(&self) -> RawFd {
        match self {
            Connection::Sway(c) => c.event_fd(),
            Connection::Hyprland(c) => c.event_fd(),
        }
    }

    /// Reads what arrived; returns whether the state changed. An error means
    /// the connection is gone: drop it and reconnect.
    pub fn dispatch(&mut self) -> Result<bool, Error> {
        match self {
            Connection::Sway(c) => c.dispatch(),
            Connection::Hyprland(c) => c.dispatch(),
        }
    }

    /// The current state.
    pub fn state(&self) -> &State {
        match self {
            Connection::Sway(c) => c.state(),
            Connection::Hyprland(c) => c.state(),
        }
    }

    /// Switches to the workspace named `name`.
    pub fn focus_workspace(&mut self, name: &str) -> Result<(), Error> {
        match self {
            Connection::Sway(c) => c.run_command(&format!("workspace {}", sway::quote(name))),
            Connection::Hyprland(c) => c.focus_workspace(name),
        }
    }

    /// Switches the focused keyboard to its next layout.
    pub fn next_layout(&mut self) -> Result<(), Error> {
        match self {
            Connection::Sway(c) => c.run_command("input type:keyboard xkb_switch_layout next"),
            Connection::Hyprland(c) => c.dispatch_command("switchxkblayout current next"),
        }
    }

    /// Moves to the next (`+1`) or previous (`-1`) workspace on the focused output.
    pub fn cycle_workspace(&mut self, dir: i32) -> Result<(), Error> {
        match self {
            Connection::Sway(c) => c.run_command(if dir > 0 {
                "workspace next_on_output"
            } else {
                "workspace prev_on_output"
            }),
            Connection::Hyprland(c) => c.cycle_workspace(dir),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            detect(env(&[
                ("SWAYSOCK", "/run/s.sock"),
                ("HYPRLAND_INSTANCE_SIGNATURE", "x")
            ])),
            Detected::Sway("/run/s.sock".into())
        );
        assert_eq!(
            detect(env(&[("HYPRLAND_INSTANCE_SIGNATURE", "abc")])),
            Detected::Hyprland("abc".into())
        );
        assert_eq!(detect(env(&[("SWAYSOCK", "")])), Detected::None);
        assert_eq!(detect(env(&[])), Detected::None);
    }
}

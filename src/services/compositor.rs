//! The compositor IPC as a service: Sway's or Hyprland's client
//! ([`crate::compositor`]) behind [`Service`], found from the environment.

use std::os::fd::RawFd;
use std::path::PathBuf;

use super::{Command, Error, Id, Service, View};
use crate::compositor::{self, Connection, Detected};

/// The compositor's IPC: what the environment names and, while connected,
/// the client.
pub struct Compositor {
    detected: Detected,
    runtime_dir: Option<PathBuf>,
    conn: Option<Connection>,
}

impl Compositor {
    /// The compositor `env` names (`SWAYSOCK`, `HYPRLAND_INSTANCE_SIGNATURE`;
    /// Hyprland's sockets under `XDG_RUNTIME_DIR`), not connected yet.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Compositor {
        Compositor {
            detected: compositor::detect(env),
            runtime_dir: env("XDG_RUNTIME_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            conn: None,
        }
    }

    /// The live client, if connected.
    pub fn connection(&self) -> Option<&Connection> {
        self.conn.as_ref()
    }
}

/// Connects to the compositor the process environment names, reading its
/// full state (`--once`, which needs no loop).
pub fn open_from_env() -> Result<Connection, Error> {
    let mut c = Compositor::from_env(&|k| std::env::var(k).ok());
    if let Some(why) = c.unavailable() {
        return Err(Error(why));
    }
    c.connect()?;
    c.conn
        .take()
        .ok_or_else(|| Error("compositor IPC: connected but no client".into()))
}

impl Service for Compositor {
    fn id(&self) -> Id {
        Id::Compositor
    }

    fn unavailable(&self) -> Option<String> {
        (self.detected == Detected::None).then(|| {
            "no compositor IPC (neither SWAYSOCK nor HYPRLAND_INSTANCE_SIGNATURE is set); workspaces and window stay hidden".into()
        })
    }

    fn connect(&mut self) -> Result<(), Error> {
        self.conn = Some(Connection::open(
            &self.detected,
            self.runtime_dir.as_deref(),
        )?);
        Ok(())
    }

    fn fd(&self) -> Option<RawFd> {
        self.conn.as_ref().map(Connection::event_fd)
    }

    fn dispatch(&mut self) -> Result<bool, Error> {
        match self.conn.as_mut() {
            Some(c) => Ok(c.dispatch()?),
            None => Err(Error("compositor IPC: not connected".into())),
        }
    }

    fn disconnect(&mut self) {
        self.conn = None;
    }

    fn view(&self) -> View<'_> {
        View::Compositor(self.conn.as_ref().map(Connection::state))
    }

    fn run(&mut self, cmd: &Command) -> Result<(), Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        match cmd {
            Command::FocusWorkspace(name) => conn.focus_workspace(name)?,
            Command::CycleWorkspace(d) => conn.cycle_workspace(*d)?,
            Command::NextLayout => conn.next_layout()?,
            // Other services' commands are routed to them, never here.
            _ => {}
        }
        Ok(())
    }
}

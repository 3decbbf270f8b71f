//! The compositor IPC as a service: Sway's or Hyprland's client
//! ([`crate::compositor`]) behind [`Service`], found from the environment.
//!
//! Hyprland answers state only on request sockets (socket1: connect, write,
//! read to EOF) that a busy or stalled Hyprland may answer late, so its
//! client runs in one worker thread: it connects, reads socket2's events,
//! asks socket1 what they imply and sends each new state to the loop as a
//! plain message ([`super::channel`]); the loop's clicks go to it the same
//! way. Nothing on the loop waits for Hyprland.

use std::os::fd::RawFd;
use std::path::PathBuf;

use super::channel::{self, Receiver, Sender};
use super::{Command, Error, Id, Service, View};
use crate::compositor::{self, hyprland, Connection, Detected, State};

/// The compositor's IPC: what the environment names and, while connected,
/// the client (Sway's on the loop, Hyprland's in its worker).
pub struct Compositor {
    detected: Detected,
    runtime_dir: Option<PathBuf>,
    conn: Option<Connection>,
    worker: Option<Worker>,
}

/// What the Hyprland worker tells the loop.
enum Report {
    /// The state changed (or the first state after connecting).
    State(Box<State>),
    /// A dispatch failed; the connection is fine.
    Refused(String),
    /// The connection is gone (the worker has ended).
    Lost(String),
}

/// What the loop asks of the Hyprland worker.
enum Ask {
    Focus(String),
    Cycle(i32),
    NextLayout,
}

/// The loop's end of a Hyprland worker thread.
struct Worker {
    reports: Receiver<Report>,
    asks: Sender<Ask>,
    state: Option<State>,
}

impl Worker {
    /// Starts the worker; it connects on its own thread.
    fn start(sig: String, runtime_dir: Option<PathBuf>) -> Result<Worker, Error> {
        let (report, reports) = channel::channel::<Report>()
            .map_err(|e| Error(format!("Hyprland IPC: eventfd for its worker: {e}")))?;
        let (asks, asked) = channel::channel::<Ask>()
            .map_err(|e| Error(format!("Hyprland IPC: eventfd for its worker: {e}")))?;
        std::thread::Builder::new()
            .name("rstat-hyprland".into())
            .spawn(move || work(&sig, runtime_dir.as_deref(), &report, &asked))
            .map_err(|e| Error(format!("Hyprland IPC: starting its worker thread: {e}")))?;
        Ok(Worker {
            reports,
            asks,
            state: None,
        })
    }
}

/// The worker's life: connect, then follow events and run asks until the
/// connection is lost or the loop drops its end.
fn work(
    sig: &str,
    runtime_dir: Option<&std::path::Path>,
    report: &Sender<Report>,
    asked: &Receiver<Ask>,
) {
    let mut client = match hyprland::Client::connect(sig, runtime_dir) {
        Ok(c) => c,
        Err(e) => {
            let _ = report.send(Report::Lost(e.0));
            return;
        }
    };
    if report
        .send(Report::State(Box::new(client.state().clone())))
        .is_err()
    {
        return;
    }
    loop {
        let mut polls = [
            libc::pollfd {
                fd: client.event_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: asked.fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds; both descriptors stay open while this
        // frame owns the client and the receiver.
        let n = unsafe { libc::poll(polls.as_mut_ptr(), 2, -1) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            let _ = report.send(Report::Lost(format!("Hyprland IPC: poll: {e}")));
            return;
        }
        if polls[1].revents != 0 {
            let mut asks = Vec::new();
            let gone = asked.drain(|a| asks.push(a)).is_err();
            for a in asks {
                let r = match &a {
                    Ask::Focus(name) => client.focus_workspace(name),
                    Ask::Cycle(d) => client.cycle_workspace(*d),
                    Ask::NextLayout => client.dispatch_command("switchxkblayout current next"),
                };
                if let Err(e) = r {
                    if report.send(Report::Refused(e.0)).is_err() {
                        return;
                    }
                }
            }
            if gone {
                // The loop dropped its end (disconnect, reload, exit).
                return;
            }
        }
        if polls[0].revents != 0 {
            match client.dispatch() {
                Ok(false) => {}
                Ok(true) => {
                    if report
                        .send(Report::State(Box::new(client.state().clone())))
                        .is_err()
                    {
                        return;
                    }
                }
                Err(e) => {
                    let _ = report.send(Report::Lost(e.0));
                    return;
                }
            }
        }
    }
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
            worker: None,
        }
    }

    /// The live client, if connected (Sway's: Hyprland's lives in its worker).
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
        if let Detected::Hyprland(sig) = &self.detected {
            self.worker = Some(Worker::start(sig.clone(), self.runtime_dir.clone())?);
            return Ok(());
        }
        self.conn = Some(Connection::open(
            &self.detected,
            self.runtime_dir.as_deref(),
        )?);
        Ok(())
    }

    fn fd(&self) -> Option<RawFd> {
        if let Some(w) = &self.worker {
            return Some(w.reports.fd());
        }
        self.conn.as_ref().map(Connection::event_fd)
    }

    fn dispatch(&mut self) -> Result<bool, Error> {
        if let Some(w) = self.worker.as_mut() {
            let mut changed = false;
            let mut lost = None;
            let state = &mut w.state;
            let ended = w
                .reports
                .drain(|r| match r {
                    Report::State(s) => {
                        changed |= state.as_ref() != Some(&*s);
                        *state = Some(*s);
                    }
                    Report::Refused(e) => eprintln!("rstat: {e}"),
                    Report::Lost(e) => lost = Some(e),
                })
                .is_err();
            return match lost {
                Some(e) => Err(Error(e)),
                None if ended => Err(Error("Hyprland IPC: its worker thread ended".into())),
                None => Ok(changed),
            };
        }
        match self.conn.as_mut() {
            Some(c) => Ok(c.dispatch()?),
            None => Err(Error("compositor IPC: not connected".into())),
        }
    }

    fn disconnect(&mut self) {
        self.conn = None;
        // Dropping the worker's end wakes it and it ends (after a request
        // it may be waiting on: never joined here, so never waited for).
        self.worker = None;
    }

    fn view(&self) -> View<'_> {
        if let Some(w) = &self.worker {
            return View::Compositor(w.state.as_ref());
        }
        View::Compositor(self.conn.as_ref().map(Connection::state))
    }

    fn run(&mut self, cmd: &Command) -> Result<(), Error> {
        if let Some(w) = &self.worker {
            let ask = match cmd {
                Command::FocusWorkspace(name) => Ask::Focus(name.clone()),
                Command::CycleWorkspace(d) => Ask::Cycle(*d),
                Command::NextLayout => Ask::NextLayout,
                _ => return Ok(()),
            };
            return w
                .asks
                .send(ask)
                .map_err(|_| Error("Hyprland IPC: its worker thread ended".into()));
        }
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

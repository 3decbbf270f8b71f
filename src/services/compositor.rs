//! The compositor IPC as a service: Sway's or Hyprland's client
//! ([`crate::compositor`]) behind [`Service`], found from the environment.
//!
//! Both answer state only to requests that a busy or stalled compositor
//! may answer late (Sway: replies on its request socket, read with a 2 s
//! timeout; Hyprland: socket1, connect, write, read to EOF), and an event
//! implies follow-up requests. So the client runs in one worker thread: it
//! connects, follows the events, asks what they imply and sends each new
//! state to the loop as a plain message ([`super::channel`]); the loop's
//! clicks go to it the same way. Nothing on the loop waits for the
//! compositor, not even the first frame.

use std::os::fd::RawFd;
use std::path::PathBuf;

use super::channel::{self, Receiver, Sender};
use super::{Command, Error, Id, Service, View};
use crate::compositor::{self, Connection, Detected, State};

/// The compositor's IPC: what the environment names and, while connected,
/// the loop's end of the worker that holds the client.
pub struct Compositor {
    detected: Detected,
    runtime_dir: Option<PathBuf>,
    worker: Option<Worker>,
}

/// What the worker tells the loop.
enum Report {
    /// The state changed (or the first state after connecting).
    State(Box<State>),
    /// A dispatch failed; the connection is fine.
    Refused(String),
    /// The connection is gone (the worker has ended).
    Lost(String),
}

/// What the loop asks of the worker.
enum Ask {
    Focus(String),
    Cycle(i32),
    NextLayout,
}

/// The loop's end of the worker thread.
struct Worker {
    reports: Receiver<Report>,
    asks: Sender<Ask>,
    state: Option<State>,
}

impl Worker {
    /// Starts the worker; it connects on its own thread.
    fn start(detected: Detected, runtime_dir: Option<PathBuf>) -> Result<Worker, Error> {
        let (report, reports) = channel::channel::<Report>()
            .map_err(|e| Error(format!("compositor IPC: eventfd for its worker: {e}")))?;
        let (asks, asked) = channel::channel::<Ask>()
            .map_err(|e| Error(format!("compositor IPC: eventfd for its worker: {e}")))?;
        std::thread::Builder::new()
            .name("rstat-compositor".into())
            .spawn(move || work(&detected, runtime_dir.as_deref(), &report, &asked))
            .map_err(|e| Error(format!("compositor IPC: starting its worker thread: {e}")))?;
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
    detected: &Detected,
    runtime_dir: Option<&std::path::Path>,
    report: &Sender<Report>,
    asked: &Receiver<Ask>,
) {
    let mut client = match Connection::open(detected, runtime_dir) {
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
            let _ = report.send(Report::Lost(format!("compositor IPC: poll: {e}")));
            return;
        }
        if polls[1].revents != 0 {
            let mut asks = Vec::new();
            let gone = asked.drain(|a| asks.push(a)).is_err();
            for a in asks {
                let r = match &a {
                    Ask::Focus(name) => client.focus_workspace(name),
                    Ask::Cycle(d) => client.cycle_workspace(*d),
                    Ask::NextLayout => client.next_layout(),
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
            worker: None,
        }
    }
}

/// Connects to the compositor the process environment names, reading its
/// full state on this thread (`--once`, which needs no loop).
pub fn open_from_env() -> Result<Connection, Error> {
    let c = Compositor::from_env(&|k| std::env::var(k).ok());
    if let Some(why) = c.unavailable() {
        return Err(Error(why));
    }
    Ok(Connection::open(&c.detected, c.runtime_dir.as_deref())?)
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
        self.worker = Some(Worker::start(
            self.detected.clone(),
            self.runtime_dir.clone(),
        )?);
        Ok(())
    }

    fn fd(&self) -> Option<RawFd> {
        self.worker.as_ref().map(|w| w.reports.fd())
    }

    fn ready(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| w.state.is_some())
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
                None if ended => Err(Error("compositor IPC: its worker thread ended".into())),
                None => Ok(changed),
            };
        }
        Err(Error("compositor IPC: not connected".into()))
    }

    fn disconnect(&mut self) {
        // Dropping the worker's end wakes it and it ends (after a request
        // it may be waiting on: never joined here, so never waited for).
        self.worker = None;
    }

    fn view(&self) -> View<'_> {
        View::Compositor(self.worker.as_ref().and_then(|w| w.state.as_ref()))
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
                .map_err(|_| Error("compositor IPC: its worker thread ended".into()));
        }
        Ok(())
    }
}

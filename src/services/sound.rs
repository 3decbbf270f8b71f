//! The sound server as a service: the PulseAudio native-protocol client
//! ([`super::pulse`]) behind [`Service`], its socket and cookie found from
//! the environment at every connection (a cookie file fixed meanwhile is
//! picked up).

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::pulse::{self, Client, State, Target};
use super::{Backoff, Command, Error, Id, Service, View};

/// The variables that name the server and the cookie.
const VARS: [&str; 5] = [
    "PULSE_SERVER",
    "PULSE_COOKIE",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "HOME",
];

/// The sound server's connection.
pub struct Sound {
    /// [`VARS`] as the environment had them.
    vars: Vec<(&'static str, String)>,
    client: Option<Client>,
    /// A connection that failed before the server answered its first query
    /// (a wrong cookie, garbage): the next attempts wait this backoff of
    /// their own, since the socket's connect itself keeps succeeding.
    early: Backoff,
    retry_at: Option<(Instant, String)>,
}

impl Sound {
    /// The server `env` names, not connected yet.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Sound {
        Sound {
            vars: VARS.iter().filter_map(|&k| Some((k, env(k)?))).collect(),
            client: None,
            early: Backoff::default(),
            retry_at: None,
        }
    }

    fn env(&self, k: &str) -> Option<String> {
        self.vars
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
    }

    fn target(&self) -> Result<Target, Error> {
        pulse::target_from_env(&|k| self.env(k)).map_err(|e| Error(e.0))
    }

    /// The live client, if connected.
    pub fn client(&self) -> Option<&Client> {
        self.client.as_ref()
    }
}

impl Service for Sound {
    fn id(&self) -> Id {
        Id::Sound
    }

    fn unavailable(&self) -> Option<String> {
        // Only a server list naming no Unix socket can never work; a
        // missing socket may appear (the server starts after the bar).
        match pulse::socket_path(&|k| self.env(k)) {
            Err(e) => Some(format!("{e}; the audio module shows `disconnected`")),
            Ok(_) => None,
        }
    }

    fn absent(&self) -> bool {
        pulse::socket_path(&|k| self.env(k)).is_ok_and(|p| !p.exists())
    }

    fn connect(&mut self) -> Result<(), Error> {
        if let Some((at, why)) = &self.retry_at {
            if Instant::now() < *at {
                return Err(Error(why.clone()));
            }
        }
        let t = self.target()?;
        self.client = Some(Client::connect(&t).map_err(|e| Error(e.0))?);
        Ok(())
    }

    /// Confirmed once the server has answered its first query: the socket
    /// accepts at once, and a peer that then sends garbage or closes has
    /// failed to connect (the backoff grows, the second failure is said),
    /// not lost a connection that worked.
    fn ready(&self) -> bool {
        self.client.as_ref().is_some_and(|c| c.state().ready)
    }

    fn fd(&self) -> Option<RawFd> {
        self.client.as_ref().map(Client::fd)
    }

    fn dispatch(&mut self) -> Result<bool, Error> {
        let Some(c) = self.client.as_mut() else {
            return Err(Error("sound server: not connected".into()));
        };
        let was_ready = c.state().ready;
        match c.dispatch() {
            Ok(changed) => {
                if !was_ready && c.state().ready {
                    self.early.reset();
                    self.retry_at = None;
                }
                Ok(changed)
            }
            Err(e) => {
                if !was_ready {
                    let d: Duration = self.early.next_delay();
                    self.retry_at = Some((Instant::now() + d, e.0.clone()));
                }
                Err(Error(e.0))
            }
        }
    }

    fn disconnect(&mut self) {
        self.client = None;
    }

    fn view(&self) -> View<'_> {
        View::Sound(self.client.as_ref().map(Client::state))
    }

    fn run(&mut self, cmd: &Command) -> Result<(), Error> {
        let Some(c) = self.client.as_mut() else {
            return Ok(());
        };
        let r = match *cmd {
            Command::SetVolume(w, pct) => c.set_volume(w, pct),
            Command::SetMute(w, mute) => c.set_mute(w, mute),
            _ => Ok(()),
        };
        r.map_err(|e| Error(e.0))
    }
}

/// The server's state once: connects, waits at most `timeout` for the
/// handshake and the default devices' info, and returns what it has
/// (`rstat --once`, which has no loop; the bar never waits like this).
pub fn query_once(t: &Target, timeout: Duration) -> Result<State, Error> {
    let mut c = Client::connect(t).map_err(|e| Error(e.0))?;
    let until = Instant::now() + timeout;
    loop {
        if c.state().ready && c.idle() {
            return Ok(c.state().clone());
        }
        let now = Instant::now();
        if now >= until {
            return Err(Error(format!(
                "sound server {}: no answer within {timeout:?}",
                c.socket().display()
            )));
        }
        let mut p = libc::pollfd {
            fd: c.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = (until - now).as_millis().clamp(1, i32::MAX as u128) as i32;
        // SAFETY: one valid pollfd for the client's open socket.
        unsafe { libc::poll(&mut p, 1, ms) };
        c.dispatch().map_err(|e| Error(e.0))?;
    }
}

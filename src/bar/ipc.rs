//! The compositor IPC connection of the bar: opened from the environment,
//! its event socket an event source on the loop (never polled), lost
//! connections reconnected with backoff ([`Backoff`]) — the bar keeps
//! drawing meanwhile, the workspaces and window modules hidden.

use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

use crate::compositor::{self, Backoff, Connection, Detected};

/// Connects to the compositor the environment names (`SWAYSOCK`,
/// `HYPRLAND_INSTANCE_SIGNATURE`), reading its full state.
pub fn open_from_env() -> Result<Connection, compositor::Error> {
    Connection::open(&detected(), runtime_dir().as_deref())
}

/// The compositor the environment names.
pub fn detected() -> Detected {
    compositor::detect(|k| std::env::var(k).ok())
}

/// `$XDG_RUNTIME_DIR` (Hyprland's sockets live under it since 0.40).
pub fn runtime_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A duplicate of a connection's event descriptor, owned by the loop's
/// registration: dropping the registration closes only the duplicate, and
/// the connection can be dropped independently.
pub struct EventFd(OwnedFd);

impl EventFd {
    /// Duplicates `fd`; `None` when the process is out of descriptors.
    pub fn dup(fd: RawFd) -> Option<EventFd> {
        // SAFETY: dup(2) of a descriptor the caller holds open; the result
        // is checked and then owned by nothing but the returned value.
        let d = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        // SAFETY: `d` is a fresh descriptor nobody else owns.
        (d >= 0).then(|| EventFd(unsafe { OwnedFd::from_raw_fd(d) }))
    }
}

impl AsFd for EventFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// The bar's view of the compositor: the connection while there is one,
/// and how long to wait before the next attempt when there is not.
pub struct Ipc {
    /// What the environment names (`None`: no IPC, never connect).
    pub detected: Detected,
    /// The live connection.
    pub conn: Option<Connection>,
    /// Reconnect delays.
    pub backoff: Backoff,
    /// A loss was already said on stderr (say it once per outage).
    pub warned: bool,
}

impl Ipc {
    /// Not connected yet.
    pub fn new(detected: Detected) -> Ipc {
        Ipc {
            detected,
            conn: None,
            backoff: Backoff::default(),
            warned: false,
        }
    }

    /// Tries to connect; on success the backoff resets.
    pub fn connect(&mut self) -> Result<(), compositor::Error> {
        let c = Connection::open(&self.detected, runtime_dir().as_deref())?;
        self.conn = Some(c);
        self.backoff.reset();
        if self.warned {
            eprintln!("rstat: compositor IPC connected again");
        }
        self.warned = false;
        Ok(())
    }

    /// The connection failed with `e`: drops it (the caller schedules the
    /// next attempt after [`Backoff::next_delay`]).
    pub fn lost(&mut self, e: &compositor::Error) {
        self.conn = None;
        if !self.warned {
            eprintln!("rstat: compositor IPC lost ({e}); reconnecting");
            self.warned = true;
        }
    }
}

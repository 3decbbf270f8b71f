//! Services: the bar's long-lived connections to peers (the compositor's
//! IPC today; the sound server, the session and system buses, kernel
//! uevents next), each handing modules plain state.
//!
//! One mechanism for all of them: a [`Service`] says which descriptor the
//! loop watches ([`Service::fd`]), what to do when it is readable
//! ([`Service::dispatch`]) and how to connect again ([`Service::connect`]);
//! the bar (`bar/services.rs`) puts the descriptor on its one event loop,
//! reconnects with [`Backoff`] when the peer goes, and hands every module
//! that listed the service ([`crate::modules::Module::services`]) the
//! service's [`View`]. A peer that needs blocking calls lives on one worker
//! thread that sends plain messages through [`channel`]: its receiving end
//! is the descriptor, so the loop never waits for a peer either way.
//!
//! Adding a service: an [`Id`] (and its name), a [`View`] variant with its
//! plain state, a file here with a type implementing [`Service`], and one
//! line in [`registry`] (the README's "Services" section walks through it).

pub mod bluetooth;
pub mod bus;
pub mod channel;
pub mod compositor;
pub mod dbus;
pub mod logind;
pub mod media;
pub mod power;
pub mod pulse;
pub mod sound;
pub mod tray;

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

pub use channel::{channel, Receiver, Sender};

/// Which service (one of each per bar).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Id {
    /// Sway's or Hyprland's IPC: workspaces, the focused window.
    Compositor,
    /// The D-Bus session bus: the tray, media players.
    SessionBus,
    /// The D-Bus system bus: power profiles, Bluetooth.
    SystemBus,
    /// The PulseAudio-protocol sound server (PulseAudio, pipewire-pulse).
    Sound,
}

impl Id {
    /// Every service, in registry order.
    pub const ALL: [Id; 4] = [Id::Compositor, Id::SessionBus, Id::SystemBus, Id::Sound];

    /// How messages name it ("compositor IPC lost …").
    pub fn name(self) -> &'static str {
        match self {
            Id::Compositor => "compositor IPC",
            Id::SessionBus => "session bus",
            Id::SystemBus => "system bus",
            Id::Sound => "sound server",
        }
    }

    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// A set of services (what a module listens to).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Set(u32);

impl Set {
    /// No service.
    pub const EMPTY: Set = Set(0);

    /// Just `id`.
    pub const fn of(id: Id) -> Set {
        Set(id.bit())
    }

    /// This set and `id`.
    pub const fn with(self, id: Id) -> Set {
        Set(self.0 | id.bit())
    }

    /// Whether `id` is in it.
    pub const fn contains(self, id: Id) -> bool {
        self.0 & id.bit() != 0
    }

    /// Whether it holds no service.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The plain state one service hands to the modules that listen to it;
/// `None` inside: not connected (modules show nothing or their error state).
#[derive(Clone, Copy, Debug)]
pub enum View<'a> {
    /// Workspaces and the focused window.
    Compositor(Option<&'a crate::compositor::State>),
    /// The session bus's connection and clients (read yours with
    /// [`dbus::Shared::client`]).
    SessionBus(Option<&'a dbus::Shared>),
    /// The system bus's.
    SystemBus(Option<&'a dbus::Shared>),
    /// The default sink and source (`None`: not connected).
    Sound(Option<&'a pulse::State>),
}

impl View<'_> {
    /// The service it comes from.
    pub fn id(&self) -> Id {
        match self {
            View::Compositor(_) => Id::Compositor,
            View::SessionBus(_) => Id::SessionBus,
            View::SystemBus(_) => Id::SystemBus,
            View::Sound(_) => Id::Sound,
        }
    }
}

impl<'a> View<'a> {
    /// The compositor's state, when this is the compositor's view.
    pub fn compositor(self) -> Option<Option<&'a crate::compositor::State>> {
        match self {
            View::Compositor(s) => Some(s),
            _ => None,
        }
    }

    /// The session bus, when this is its view (`Some(None)`: not connected).
    pub fn session_bus(self) -> Option<Option<&'a dbus::Shared>> {
        match self {
            View::SessionBus(s) => Some(s),
            _ => None,
        }
    }

    /// The system bus, when this is its view.
    pub fn system_bus(self) -> Option<Option<&'a dbus::Shared>> {
        match self {
            View::SystemBus(s) => Some(s),
            _ => None,
        }
    }

    /// The sound server's state, when this is the sound server's view.
    pub fn sound(self) -> Option<Option<&'a pulse::State>> {
        match self {
            View::Sound(s) => Some(s),
            _ => None,
        }
    }
}

/// What a module asks of a service in answer to a pointer action (the bar
/// hands it to the service: modules never hold sockets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Switch to the workspace of this name.
    FocusWorkspace(String),
    /// The next (+1) or previous (-1) workspace on the focused output.
    CycleWorkspace(i32),
    /// The focused keyboard's next layout (Sway `xkb_switch_layout next`,
    /// Hyprland `switchxkblayout current next`).
    NextLayout,
    /// A tray item (its uid) was clicked or scrolled.
    Tray(u32, tray::Action),
    /// power-profiles-daemon: switch to the profile after the active one.
    CyclePowerProfile,
    /// BlueZ: switch the adapter at this object path on or off.
    ToggleBluetooth(String),
    /// logind: set backlight `device` (`intel_backlight`) to `value`, raw.
    SetBrightness { device: String, value: u32 },
    /// Set the default sink's or source's volume, in percent.
    SetVolume(pulse::Which, u32),
    /// Mute (true) or unmute the default sink or source.
    SetMute(pulse::Which, bool),
    /// An MPRIS player (its name without the MPRIS prefix): play-pause,
    /// next, previous.
    Media {
        player: String,
        action: media::Action,
    },
}

impl Command {
    /// The command with a screen position (global logical pixels) filled
    /// in where it takes one: a tray item's `Activate`, `SecondaryActivate`
    /// and `ContextMenu` get where the click was.
    pub fn at(self, x: i32, y: i32) -> Command {
        use tray::Action as A;
        match self {
            Command::Tray(uid, A::Activate(..)) => Command::Tray(uid, A::Activate(x, y)),
            Command::Tray(uid, A::SecondaryActivate(..)) => {
                Command::Tray(uid, A::SecondaryActivate(x, y))
            }
            Command::Tray(uid, A::ContextMenu(..)) => Command::Tray(uid, A::ContextMenu(x, y)),
            other => other,
        }
    }

    /// The service that runs it.
    pub fn service(&self) -> Id {
        match self {
            Command::FocusWorkspace(_) | Command::CycleWorkspace(_) | Command::NextLayout => {
                Id::Compositor
            }
            Command::CyclePowerProfile
            | Command::ToggleBluetooth(_)
            | Command::SetBrightness { .. } => Id::SystemBus,
            Command::Tray(..) => Id::SessionBus,
            Command::SetVolume(..) | Command::SetMute(..) => Id::Sound,
            Command::Media { .. } => Id::SessionBus,
        }
    }
}

/// A service failure, with what was being done and with whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<crate::compositor::Error> for Error {
    fn from(e: crate::compositor::Error) -> Error {
        Error(e.0)
    }
}

/// One service: a connection the bar keeps while some module listens to it.
/// Every method returns at once: nothing here waits for the peer.
pub trait Service {
    /// Which one it is.
    fn id(&self) -> Id;

    /// Whether answers are still awaited (calls in flight): `--once
    /// --modules` reads until they are in.
    fn busy(&self) -> bool {
        false
    }

    /// Why it can never connect here (the compositor's socket is not named
    /// in the environment, say): said once on stderr, no retries.
    fn unavailable(&self) -> Option<String> {
        None
    }

    /// Its peer is not there (no file at its socket's path): a machine
    /// without a sound server or a system bus is no error, so the bar
    /// retries without a word and picks up a server started later.
    fn absent(&self) -> bool {
        false
    }

    /// Opens the connection and reads the peer's full state (called at
    /// start and after every loss, after the backoff's delay).
    fn connect(&mut self) -> Result<(), Error>;

    /// The connection made by `connect` has been confirmed by the peer. A
    /// service that connects in a worker thread returns from `connect` at
    /// once and is ready only when its worker's first state arrives; a loss
    /// before that is a failed connect (the backoff keeps growing).
    fn ready(&self) -> bool {
        true
    }

    /// The descriptor the loop watches for readability while connected
    /// (a socket, or a [`Receiver`]'s).
    fn fd(&self) -> Option<RawFd>;

    /// The descriptor is readable: reads what arrived without blocking;
    /// true when the state changed. An error means the connection is gone:
    /// the bar drops it ([`Service::disconnect`]) and reconnects.
    fn dispatch(&mut self) -> Result<bool, Error>;

    /// Drops the connection (lost, or no module listens any more).
    fn disconnect(&mut self);

    /// Its state for the modules.
    fn view(&self) -> View<'_>;

    /// Runs a module's command on the peer.
    fn run(&mut self, _cmd: &Command) -> Result<(), Error> {
        Ok(())
    }
}

/// Every service the bar knows, in [`Id::ALL`] order, none connected: the
/// one registration list. `env` reads the environment (tests pass their own).
pub fn registry(env: &dyn Fn(&str) -> Option<String>) -> Vec<Box<dyn Service>> {
    vec![
        Box::new(compositor::Compositor::from_env(env)),
        Box::new(bus::BusService::session(env, bus::session_clients())),
        Box::new(bus::BusService::system(env, bus::system_clients())),
        Box::new(sound::Sound::from_env(env)),
    ]
}

/// Reconnect delays: 100 ms doubling to 5 s, reset after a success.
#[derive(Clone, Debug)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: Duration::from_millis(100),
        }
    }
}

impl Backoff {
    /// The delay before the next attempt (and doubles the one after).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Duration::from_secs(5));
        d
    }

    /// Call after a successful connection.
    pub fn reset(&mut self) {
        *self = Backoff::default();
    }
}

/// A duplicate of a service's descriptor, owned by the loop's registration:
/// dropping the registration closes only the duplicate, and the service can
/// drop its connection independently.
pub struct EventFd(OwnedFd);

impl EventFd {
    /// Duplicates `fd`; `None` when the process is out of descriptors.
    pub fn dup(fd: RawFd) -> Option<EventFd> {
        // SAFETY: F_DUPFD_CLOEXEC of a descriptor the caller holds open; the
        // result is checked and then owned by nothing but the returned value.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap() {
        let mut b = Backoff::default();
        let d: Vec<u64> = (0..8).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(d, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn sets() {
        let s = Set::of(Id::Compositor);
        assert!(s.contains(Id::Compositor));
        assert!(!Set::EMPTY.contains(Id::Compositor));
        assert!(Set::EMPTY.is_empty() && !s.is_empty());
        assert_eq!(Set::EMPTY.with(Id::Compositor), s);
        for id in Id::ALL {
            assert!(!id.name().is_empty());
        }
    }
}

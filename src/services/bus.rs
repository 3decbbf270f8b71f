//! The session and system buses as services: each one [`Shared`] D-Bus
//! connection whose [`Client`]s (the tray, media players, power profiles…)
//! are listed here, once, and reached by the modules through
//! [`View::SessionBus`] / [`View::SystemBus`].

use std::os::fd::RawFd;
use std::time::Instant;

use super::dbus::{self, Client, Shared};
use super::{Command, Error, Id, Service, View};

/// One bus: where it is and the connection with its clients.
pub struct BusService {
    id: Id,
    /// The address, or why there is none.
    address: Result<String, String>,
    shared: Shared,
}

impl BusService {
    /// The session bus (`DBUS_SESSION_BUS_ADDRESS` from `env`) with its clients.
    pub fn session(
        env: &dyn Fn(&str) -> Option<String>,
        clients: Vec<Box<dyn Client>>,
    ) -> BusService {
        let address = env("DBUS_SESSION_BUS_ADDRESS")
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                "no session bus (DBUS_SESSION_BUS_ADDRESS is not set); the tray and media modules stay empty".to_string()
            });
        BusService {
            id: Id::SessionBus,
            address,
            shared: Shared::new(clients),
        }
    }

    /// The system bus (`DBUS_SYSTEM_BUS_ADDRESS` or the standard socket).
    pub fn system(
        env: &dyn Fn(&str) -> Option<String>,
        clients: Vec<Box<dyn Client>>,
    ) -> BusService {
        let address = Ok(env("DBUS_SYSTEM_BUS_ADDRESS")
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "unix:path=/var/run/dbus/system_bus_socket".into()));
        BusService {
            id: Id::SystemBus,
            address,
            shared: Shared::new(clients),
        }
    }

    /// The connection and its clients.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// As [`BusService::shared`], mutably (tests, commands).
    pub fn shared_mut(&mut self) -> &mut Shared {
        &mut self.shared
    }
}

/// The clients of the session bus, in one place (add yours here).
pub fn session_clients() -> Vec<Box<dyn Client>> {
    vec![
        Box::new(super::tray::Tray::new()),
        Box::new(super::media::Media::default()),
    ]
}

/// The clients of the system bus, in one place (add yours here).
pub fn system_clients() -> Vec<Box<dyn Client>> {
    vec![
        Box::new(super::power::PowerProfiles::default()),
        Box::new(super::bluetooth::Bluetooth::default()),
        Box::new(super::logind::Logind::default()),
    ]
}

impl Service for BusService {
    fn id(&self) -> Id {
        self.id
    }

    fn unavailable(&self) -> Option<String> {
        self.address.as_ref().err().cloned()
    }

    fn absent(&self) -> bool {
        // Only an address whose every entry is a socket file that does not
        // exist: an abstract socket cannot be looked at without connecting.
        let Ok(address) = &self.address else {
            return false;
        };
        let entries = super::dbus::parse_address(address);
        !entries.is_empty()
            && entries.iter().all(|a| match a {
                super::dbus::Addr::Path(p) => !std::path::Path::new(p).exists(),
                super::dbus::Addr::Abstract(_) => false,
            })
    }

    fn connect(&mut self) -> Result<(), Error> {
        let addr = self.address.clone().map_err(Error)?;
        self.shared
            .connect(&addr)
            .map_err(|e| Error(format!("{}: {e}", self.id.name())))
    }

    fn fd(&self) -> Option<RawFd> {
        self.shared.fd()
    }

    fn dispatch(&mut self) -> Result<bool, Error> {
        self.shared
            .dispatch(Instant::now())
            .map_err(|e| Error(format!("{}: {e}", self.id.name())))
    }

    fn disconnect(&mut self) {
        self.shared.disconnect();
    }

    fn busy(&self) -> bool {
        // Every call in flight has a timeout, so a deadline is pending.
        self.shared.deadline().is_some()
    }

    fn run(&mut self, cmd: &Command) -> Result<(), Error> {
        match cmd {
            Command::CyclePowerProfile => {
                self.shared
                    .command(|p: &mut super::power::PowerProfiles, bus| p.cycle(bus));
            }
            Command::ToggleBluetooth(path) => {
                self.shared
                    .command(|b: &mut super::bluetooth::Bluetooth, bus| b.toggle(bus, path));
            }
            Command::SetBrightness { device, value } => {
                let done = self.shared.command(|l: &mut super::logind::Logind, bus| {
                    l.set_brightness(bus, "backlight", device, *value)
                });
                if done.is_none() {
                    return Err(Error(format!(
                        "{}: not connected; cannot ask logind to set {device}'s brightness",
                        self.id.name()
                    )));
                }
            }
            Command::Media { player, action } => {
                self.shared
                    .command(|m: &mut super::media::Media, bus| m.act(bus, player, *action));
            }
            Command::Tray(uid, action) => {
                self.shared
                    .command(|t: &mut super::tray::Tray, bus| t.act(bus, *uid, *action));
            }
            _ => {}
        }
        Ok(())
    }

    fn view(&self) -> View<'_> {
        let s = self.shared.is_connected().then_some(&self.shared);
        match self.id {
            Id::SystemBus => View::SystemBus(s),
            _ => View::SessionBus(s),
        }
    }
}

/// Keeps `dbus` reachable as `services::bus::dbus` for clients' code.
pub use dbus::{Bus, ClientId, Event};

//! One bus connection shared by several users ([`Client`]s: the tray, media
//! players, power profiles…): opens and reopens the [`Bus`], routes each
//! [`Event`] to the client it is addressed to, and tells every client when
//! the connection comes and goes so it can set itself up again.

use std::any::Any;
use std::os::fd::RawFd;
use std::time::Instant;

use super::{Bus, ClientId, Error, Event};

/// A user of a shared bus. Every method returns at once: calls go out with
/// [`Bus::call`] and their replies come back as [`Event::Reply`] later.
pub trait Client {
    /// Its address on the connection (unique among the bus's clients).
    fn id(&self) -> ClientId;

    /// The connection is (again) open: subscribe, export objects, make the
    /// first calls. Whatever it held from an earlier connection is stale.
    fn connected(&mut self, bus: &mut Bus);

    /// An event for it; true when its state (what modules show) changed.
    fn event(&mut self, bus: &mut Bus, event: Event) -> bool;

    /// The connection is gone; true when its state changed (cleared or
    /// kept, as it chooses: the bar keeps drawing either way).
    fn lost(&mut self) -> bool;

    /// A deadline of its own (a retry, a debounce), for the loop to wake at.
    fn deadline(&self) -> Option<Instant> {
        None
    }

    /// Its own deadline passed (called on every dispatch; check `now`);
    /// true when its state changed.
    fn on_time(&mut self, _bus: &mut Bus, _now: Instant) -> bool {
        false
    }

    /// For the module that shows it to read its state ([`Shared::client`]).
    fn as_any(&self) -> &dyn Any;

    /// As [`Client::as_any`], mutably (pointer actions).
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// A bus connection (while there is one) and its clients.
pub struct Shared {
    bus: Option<Bus>,
    clients: Vec<Box<dyn Client>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("bus", &self.bus)
            .field("clients", &self.clients.len())
            .finish()
    }
}

impl Shared {
    /// Not connected; `clients` get the connection once [`Shared::connect`] opens it.
    pub fn new(clients: Vec<Box<dyn Client>>) -> Shared {
        Shared { bus: None, clients }
    }

    /// Opens `address` (a fresh connection even when one is open) and sets
    /// every client up on it. Returns at once.
    pub fn connect(&mut self, address: &str) -> Result<(), Error> {
        self.disconnect();
        let mut bus = Bus::open(address)?;
        for c in &mut self.clients {
            c.connected(&mut bus);
        }
        self.bus = Some(bus);
        Ok(())
    }

    /// Drops the connection; clients hear [`Client::lost`].
    pub fn disconnect(&mut self) -> bool {
        let mut changed = false;
        if let Some(mut bus) = self.bus.take() {
            bus.fail_all();
            changed |= self.route(&mut bus);
            for c in &mut self.clients {
                changed |= c.lost();
            }
        }
        changed
    }

    /// The socket to watch while connected.
    pub fn fd(&self) -> Option<RawFd> {
        self.bus.as_ref().map(Bus::fd)
    }

    /// Whether output waits for the socket to take it (watch for writable).
    pub fn wants_write(&self) -> bool {
        self.bus.as_ref().is_some_and(Bus::wants_write)
    }

    /// The connection, to make calls outside an event (a pointer action).
    pub fn bus(&mut self) -> Option<&mut Bus> {
        self.bus.as_mut()
    }

    /// When to wake next: the earliest call timeout or client deadline.
    pub fn deadline(&self) -> Option<Instant> {
        let calls = self.bus.as_ref().and_then(Bus::next_deadline);
        let own = self.clients.iter().filter_map(|c| c.deadline()).min();
        calls.into_iter().chain(own).min()
    }

    /// The socket is readable or a deadline passed: reads, expires calls
    /// past their timeout, routes every event. True when some client's
    /// state changed. An error: the connection is gone (already dropped
    /// here and every client told); reconnect after a backoff.
    pub fn dispatch(&mut self, now: Instant) -> Result<bool, Error> {
        let Some(mut bus) = self.bus.take() else {
            return Ok(false);
        };
        let read = bus.on_readable();
        bus.expire(now);
        let mut changed = self.route(&mut bus);
        for c in &mut self.clients {
            changed |= c.on_time(&mut bus, now);
        }
        // A client's answers may have produced more events (an immediate
        // failure): route until quiet, bounded.
        for _ in 0..8 {
            if !bus.has_events() {
                break;
            }
            changed |= self.route(&mut bus);
        }
        let _ = bus.flush();
        match read {
            Ok(()) => {
                self.bus = Some(bus);
                Ok(changed)
            }
            Err(e) => {
                for c in &mut self.clients {
                    c.lost();
                }
                Err(e)
            }
        }
    }

    fn route(&mut self, bus: &mut Bus) -> bool {
        let mut changed = false;
        // Events a client causes while handling one are routed in the
        // same pass; the cap keeps a client that loops from holding the loop.
        for _ in 0..100_000 {
            let Some((id, ev)) = bus.poll() else { break };
            if let Some(c) = self.clients.iter_mut().find(|c| c.id() == id) {
                changed |= c.event(bus, ev);
            }
        }
        changed
    }

    /// The client of type `T`, for the module that shows it.
    pub fn client<T: 'static>(&self) -> Option<&T> {
        self.clients.iter().find_map(|c| c.as_any().downcast_ref())
    }

    /// The client of type `T` and the connection (when open), for a pointer action.
    pub fn client_mut<T: 'static>(&mut self) -> Option<(&mut T, Option<&mut Bus>)> {
        let c = self
            .clients
            .iter_mut()
            .find_map(|c| c.as_any_mut().downcast_mut())?;
        Some((c, self.bus.as_mut()))
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.bus.is_some()
    }
}

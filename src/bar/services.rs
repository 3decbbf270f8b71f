//! The services on the bar's loop: each one's descriptor an event source
//! (never polled), a lost connection reconnected with its own [`Backoff`]
//! while the bar keeps drawing, and every change handed to the modules that
//! listen to it. One mechanism for every [`Service`]: adding one adds no
//! wiring here.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use super::event_loop::{PostAction, TimeoutAction, Token};
use super::{Control, Handle};
use crate::services::{Backoff, Command, Error, EventFd, Id, Service};
use crate::wayland::Bars;

/// One service and its place on the loop.
struct Slot {
    service: Box<dyn Service>,
    /// Its descriptor's registration.
    token: Option<Token>,
    backoff: Backoff,
    /// A reconnect timer is pending.
    reconnecting: bool,
    /// A loss was already said on stderr (say it once per outage).
    warned: bool,
    /// A loss not said yet: said when the first reconnect fails, so a
    /// compositor that dies whole (its Wayland socket too, which ends the
    /// bar with its own line) costs one line, not two.
    unsaid: Option<String>,
    /// Connected now.
    connected: bool,
    /// Connected, but the service has not confirmed it yet (its worker's
    /// first state has not arrived): see [`crate::services::Service::ready`].
    pending: bool,
    /// Connected at least once: a peer that was there and went away is
    /// said, one that never was and has no socket file is not.
    ever: bool,
    /// Why it is unavailable was said on stderr: once per process, not at
    /// every reload (the environment does not change under a running bar).
    said_unavailable: bool,
}

/// Every service the bar knows, connected while some module listens.
pub struct Services {
    slots: Vec<Slot>,
}

impl Services {
    /// The services of `list` (normally [`crate::services::registry`]),
    /// none connected.
    pub fn new(list: Vec<Box<dyn Service>>) -> Services {
        Services {
            slots: list
                .into_iter()
                .map(|service| Slot {
                    service,
                    token: None,
                    backoff: Backoff::default(),
                    reconnecting: false,
                    warned: false,
                    unsaid: None,
                    connected: false,
                    pending: false,
                    ever: false,
                    said_unavailable: false,
                })
                .collect(),
        }
    }

    fn slot(&mut self, id: Id) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.service.id() == id)
    }

    /// Runs a module's command on the service it names (nothing when that
    /// service is not connected).
    pub fn run(&mut self, cmd: &Command) -> Result<(), Error> {
        match self.slot(cmd.service()) {
            Some(s) if s.connected => s.service.run(cmd),
            _ => Ok(()),
        }
    }
}

impl Slot {
    fn connect(&mut self) -> Result<(), Error> {
        self.service.connect()?;
        self.connected = true;
        self.pending = true;
        if self.service.ready() {
            self.confirmed();
        }
        Ok(())
    }

    /// The peer answered: the outage (if any) is over.
    fn confirmed(&mut self) {
        self.pending = false;
        self.ever = true;
        self.backoff.reset();
        // Back at the first retry: the loss was never said, nor is this.
        if self.warned && self.unsaid.is_none() {
            eprintln!("rstat: {} connected again", self.service.id().name());
        }
        self.warned = false;
        self.unsaid = None;
    }

    /// A connection lost before the service confirmed it: what a failed
    /// `connect` is for a service that connects synchronously (the first
    /// failure of an outage is held back, the next one says it).
    fn failed_connect(&mut self, e: &Error) {
        let first = self.unsaid.is_none() && !self.warned;
        self.lost(e);
        if !first {
            self.say_loss();
        }
    }

    fn lost(&mut self, e: &Error) {
        self.service.disconnect();
        self.connected = false;
        self.pending = false;
        if !self.warned && (self.ever || !self.service.absent()) {
            self.unsaid = Some(format!(
                "rstat: {} lost ({e}); reconnecting",
                self.service.id().name()
            ));
            self.warned = true;
        }
    }

    /// Says a loss held back by [`Slot::lost`].
    fn say_loss(&mut self) {
        if let Some(m) = self.unsaid.take() {
            eprintln!("{m}");
        }
    }
}

/// Connects every service some module listens to (and drops those no
/// module listens to any more), handing the modules their state.
pub(super) fn sync(handle: &Handle, ctl: &Rc<RefCell<Control>>, bars: &mut Bars) {
    for id in Id::ALL {
        sync_one(handle, ctl, bars, id);
    }
}

fn sync_one(handle: &Handle, ctl: &Rc<RefCell<Control>>, bars: &mut Bars, id: Id) {
    let mut guard = ctl.borrow_mut();
    let c = &mut *guard;
    let wanted = c.ticker.modules.uses(id);
    let Some(slot) = c.services.slot(id) else {
        return;
    };
    if !wanted {
        slot.service.disconnect();
        slot.connected = false;
        slot.pending = false;
        if let Some(t) = slot.token.take() {
            handle.remove(t);
        }
        return;
    }
    if !slot.connected && !slot.reconnecting {
        if let Some(why) = slot.service.unavailable() {
            if !slot.said_unavailable {
                eprintln!("rstat: {why}");
                slot.said_unavailable = true;
            }
        } else if let Err(e) = slot.connect() {
            slot.lost(&e);
            drop(guard);
            schedule_reconnect(handle, ctl, id);
            return;
        }
    }
    let register = slot.connected && slot.token.is_none();
    if c.ticker.modules.on_service(slot.service.view()) {
        c.ticker.redraw(bars);
    }
    drop(guard);
    if register {
        watch(handle, ctl, id);
    }
}

/// Puts the service's descriptor on the loop.
fn watch(handle: &Handle, ctl: &Rc<RefCell<Control>>, id: Id) {
    let fd = match ctl.borrow_mut().services.slot(id) {
        Some(s) => s.service.fd(),
        None => return,
    };
    let Some(fd) = fd else { return };
    let Some(dup) = EventFd::dup(fd) else {
        eprintln!(
            "rstat: out of descriptors; {} events will not arrive",
            id.name()
        );
        return;
    };
    let (c, h) = (ctl.clone(), handle.clone());
    let inserted = handle.insert_fd(dup, move |_, bars| {
        let lost = c.borrow_mut().service_event(id, bars);
        if lost {
            if let Some(s) = c.borrow_mut().services.slot(id) {
                s.token = None;
            }
            schedule_reconnect(&h, &c, id);
            return PostAction::Remove;
        }
        PostAction::Continue
    });
    match inserted {
        Ok(t) => {
            if let Some(s) = ctl.borrow_mut().services.slot(id) {
                s.token = Some(t);
            }
        }
        Err(e) => eprintln!("rstat: cannot watch the {}: {}", id.name(), e),
    }
}

/// Tries to reconnect after the backoff's next delay, again and again
/// until it works (or no module listens any more).
fn schedule_reconnect(handle: &Handle, ctl: &Rc<RefCell<Control>>, id: Id) {
    let delay = {
        let mut c = ctl.borrow_mut();
        let Some(s) = c.services.slot(id) else { return };
        if s.reconnecting {
            return;
        }
        s.reconnecting = true;
        s.backoff.next_delay()
    };
    let (c, h) = (ctl.clone(), handle.clone());
    handle.insert_timer(Instant::now() + delay, move |bars| {
        let mut guard = c.borrow_mut();
        let ctl = &mut *guard;
        let wanted = ctl.ticker.modules.uses(id);
        let Some(slot) = ctl.services.slot(id) else {
            return TimeoutAction::Drop;
        };
        if !wanted || slot.connected {
            slot.reconnecting = false;
            return TimeoutAction::Drop;
        }
        match slot.connect() {
            Ok(()) => {
                slot.reconnecting = false;
                // The full state again (events during the outage are lost).
                if ctl.ticker.modules.on_service(slot.service.view()) {
                    ctl.ticker.redraw(bars);
                }
                drop(guard);
                watch(&h, &c, id);
                TimeoutAction::Drop
            }
            Err(_) => {
                slot.say_loss();
                TimeoutAction::ToDuration(slot.backoff.next_delay())
            }
        }
    });
}

impl Control {
    /// Service `id`'s descriptor is readable: applies what arrived. True
    /// when its connection is lost (the caller reconnects).
    fn service_event(&mut self, id: Id, bars: &mut Bars) -> bool {
        let Some(slot) = self.services.slot(id) else {
            return true;
        };
        if !slot.connected {
            return true;
        }
        let result = slot.service.dispatch();
        if result.is_ok() && slot.pending && slot.service.ready() {
            slot.confirmed();
        }
        match result {
            Ok(false) => false,
            Ok(true) => {
                if self.ticker.modules.on_service(slot.service.view()) {
                    self.ticker.redraw(bars);
                }
                false
            }
            Err(e) => {
                if slot.pending {
                    slot.failed_connect(&e);
                } else {
                    slot.lost(&e);
                }
                if self.ticker.modules.on_service(slot.service.view()) {
                    self.ticker.redraw(bars);
                }
                true
            }
        }
    }
}

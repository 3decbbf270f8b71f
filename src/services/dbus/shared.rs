//! One bus connection shared by several users ([`Client`]s: the tray, media
//! players, power profiles…): opens and reopens the [`Bus`], routes each
//! [`Event`] to the client it is addressed to, and tells every client when
//! the connection comes and goes so it can set itself up again.

use std::any::Any;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

use super::{Bus, ClientId, Error, Event};

/// What the loop watches for a shared bus: an epoll set holding the bus
/// socket (readable, and writable while output waits) and a timerfd armed
/// at the earliest deadline, so call timeouts wake the loop through the
/// same one descriptor.
struct Waker {
    epoll: OwnedFd,
    timer: OwnedFd,
    /// The socket is in the set with EPOLLOUT too.
    out: bool,
}

fn owned(fd: i32, what: &str) -> Result<OwnedFd, Error> {
    if fd < 0 {
        return Err(Error::Connect(format!(
            "{what}: {}",
            io::Error::last_os_error()
        )));
    }
    // SAFETY: a fresh descriptor just returned by the kernel, owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Waker {
    fn new(socket: RawFd) -> Result<Waker, Error> {
        // SAFETY: plain epoll_create1/timerfd_create; results checked in `owned`.
        let epoll = owned(
            unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) },
            "epoll_create1",
        )?;
        // SAFETY: as above.
        let timer = owned(
            unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            },
            "timerfd_create",
        )?;
        let w = Waker {
            epoll,
            timer,
            out: false,
        };
        w.ctl(libc::EPOLL_CTL_ADD, socket, libc::EPOLLIN as u32)?;
        w.ctl(
            libc::EPOLL_CTL_ADD,
            w.timer.as_raw_fd(),
            libc::EPOLLIN as u32,
        )?;
        Ok(w)
    }

    fn ctl(&self, op: i32, fd: RawFd, events: u32) -> Result<(), Error> {
        let mut ev = libc::epoll_event {
            events,
            u64: fd as u64,
        };
        // SAFETY: epoll_ctl on our own epoll set with a valid event struct.
        let r = unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, fd, &mut ev) };
        if r < 0 {
            return Err(Error::Connect(format!(
                "epoll_ctl: {}",
                io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// Clears the timer's expiry and re-arms it at `at`; adds or drops
    /// write interest.
    fn update(&mut self, socket: RawFd, want_out: bool, at: Option<Instant>, now: Instant) {
        let mut buf = [0u8; 8];
        // SAFETY: reading the 8-byte expiry count of our own non-blocking timerfd.
        let _ = unsafe { libc::read(self.timer.as_raw_fd(), buf.as_mut_ptr().cast(), 8) };
        if want_out != self.out {
            let ev = libc::EPOLLIN as u32 | if want_out { libc::EPOLLOUT as u32 } else { 0 };
            if self.ctl(libc::EPOLL_CTL_MOD, socket, ev).is_ok() {
                self.out = want_out;
            }
        }
        // Re-armed every time: the read above disarmed nothing, but an
        // expiry already consumed must not leave a stale deadline behind.
        let left = at.map(|t| t.saturating_duration_since(now));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: match left {
                // Zero would disarm: a past deadline fires in 1 ns.
                Some(d) => libc::timespec {
                    tv_sec: d.as_secs() as libc::time_t,
                    tv_nsec: (d.subsec_nanos().max(u32::from(d.is_zero()))) as libc::c_long,
                },
                None => libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                },
            },
        };
        // SAFETY: timerfd_settime on our own timerfd with a valid itimerspec.
        unsafe { libc::timerfd_settime(self.timer.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
    }
}

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
    waker: Option<Waker>,
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
        Shared {
            bus: None,
            waker: None,
            clients,
        }
    }

    /// Opens `address` (a fresh connection even when one is open) and sets
    /// every client up on it. Returns at once.
    pub fn connect(&mut self, address: &str) -> Result<(), Error> {
        self.disconnect();
        let mut bus = Bus::open(address)?;
        let mut waker = Waker::new(bus.fd())?;
        for c in &mut self.clients {
            c.connected(&mut bus);
        }
        self.bus = Some(bus);
        waker.update(
            self.fd_socket(),
            self.wants_write(),
            self.deadline(),
            Instant::now(),
        );
        self.waker = Some(waker);
        Ok(())
    }

    /// Drops the connection; clients hear [`Client::lost`].
    pub fn disconnect(&mut self) -> bool {
        self.waker = None;
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

    /// The one descriptor to watch (readable) while connected: readable
    /// when the socket is (or is writable with output waiting) and when a
    /// deadline passes. Call [`Shared::dispatch`] then.
    pub fn fd(&self) -> Option<RawFd> {
        self.waker.as_ref().map(|w| w.epoll.as_raw_fd())
    }

    fn fd_socket(&self) -> RawFd {
        self.bus.as_ref().map_or(-1, Bus::fd)
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
                let (sock, out, at) = (self.fd_socket(), self.wants_write(), self.deadline());
                if let Some(w) = self.waker.as_mut() {
                    w.update(sock, out, at, Instant::now());
                }
                Ok(changed)
            }
            Err(e) => {
                self.waker = None;
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

    /// Runs `f` on the client of type `T` and the open connection (a
    /// pointer action's calls), then flushes and re-arms the deadline.
    /// `None` when there is no such client or no connection.
    pub fn command<T: 'static, R>(&mut self, f: impl FnOnce(&mut T, &mut Bus) -> R) -> Option<R> {
        let bus = self.bus.as_mut()?;
        let c = self
            .clients
            .iter_mut()
            .find_map(|c| c.as_any_mut().downcast_mut())?;
        let r = f(c, bus);
        let _ = bus.flush();
        let (sock, out, at) = (self.fd_socket(), self.wants_write(), self.deadline());
        if let Some(w) = self.waker.as_mut() {
            w.update(sock, out, at, Instant::now());
        }
        Some(r)
    }

    /// Whether a connection is open.
    pub fn is_connected(&self) -> bool {
        self.bus.is_some()
    }
}

//! The bar's one event loop: epoll over the Wayland socket and every other
//! descriptor the bar listens to, and a short list of timers whose earliest
//! deadline is the wait's timeout.
//!
//! One syscall per wait is the point. The bar wakes about twice a second
//! and every wakeup starts cold, where each syscall costs 5–20 µs: calloop's
//! poller re-armed a timerfd and an eventfd around every wait (a
//! `timerfd_settime`, two `epoll_ctl` and a `read`: four extra syscalls).
//! Here the earliest deadline is `epoll_pwait2`'s timeout (nanoseconds;
//! `epoll_wait` in milliseconds, rounded up, on kernels before 5.11 or where
//! a sandbox refuses it), and the Wayland socket is read when epoll says it
//! is readable (its read guard taken only then: the guard's release is a
//! futex call, which every timer-only wakeup made before).
//!
//! Callbacks may add and remove sources (their own included) while the loop
//! runs them: each is taken out of the list while it runs and put back
//! after, unless it was removed meanwhile. Tokens are never reused.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::{Duration, Instant};

use wayland_client::backend::WaylandError;
use wayland_client::{DispatchError, EventQueue};

/// What a descriptor's callback wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostAction {
    /// Keep listening.
    Continue,
    /// Forget the source (its descriptor is closed with it).
    Remove,
}

/// What a timer's callback wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutAction {
    /// The timer is done.
    Drop,
    /// Fire again at this instant.
    ToInstant(Instant),
    /// Fire again this long from now.
    ToDuration(Duration),
}

/// Names a source for [`Handle::remove`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token(u64);

/// The Wayland socket's token: the first, never given to another source.
const WAYLAND: u64 = 0;

/// Most events taken from one wait; more stay ready for the next.
const MAX_EVENTS: usize = 32;

type FdCallback<D> = Box<dyn FnMut(&mut D) -> PostAction>;
type TimerCallback<D> = Box<dyn FnMut(&mut D) -> TimeoutAction>;

struct FdSource<D> {
    token: u64,
    fd: RawFd,
    /// Registered as its owner's descriptor, whose close unregisters it
    /// ([`Handle::insert_borrowed_fd`]): no `EPOLL_CTL_DEL`.
    borrowed: bool,
    /// Owns whatever keeps `fd` open; `None` while it runs.
    callback: Option<FdCallback<D>>,
}

struct TimerSource<D> {
    token: u64,
    at: Instant,
    /// `None` while it runs.
    callback: Option<TimerCallback<D>>,
}

struct Sources<D> {
    epoll: OwnedFd,
    next: u64,
    fds: Vec<FdSource<D>>,
    timers: Vec<TimerSource<D>>,
}

impl<D> Sources<D> {
    fn token(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn remove(&mut self, token: u64) {
        if let Some(i) = self.fds.iter().position(|s| s.token == token) {
            let s = self.fds.remove(i);
            // Before the descriptor closes (when the callback drops): epoll
            // forgets a closed descriptor only once every copy is closed.
            // A borrowed one is closed already, and its number may name
            // another file by now.
            if !s.borrowed {
                epoll_ctl(&self.epoll, libc::EPOLL_CTL_DEL, s.fd, 0).ok();
            }
        } else if let Some(i) = self.timers.iter().position(|s| s.token == token) {
            self.timers.remove(i);
        }
    }

    fn earliest(&self) -> Option<Instant> {
        self.timers.iter().map(|t| t.at).min()
    }
}

/// Adds and removes the loop's sources, from anywhere (callbacks included).
pub struct Handle<D>(Rc<RefCell<Sources<D>>>);

impl<D> Clone for Handle<D> {
    fn clone(&self) -> Self {
        Handle(self.0.clone())
    }
}

impl<D> Handle<D> {
    /// Calls `callback` with `source` whenever its descriptor is readable
    /// (level-triggered: again after each wait while data is left), or has
    /// hung up or failed. `source` is dropped with the registration.
    pub fn insert_fd<T: AsFd + 'static>(
        &self,
        mut source: T,
        mut callback: impl FnMut(&mut T, &mut D) -> PostAction + 'static,
    ) -> io::Result<Token> {
        let fd = source.as_fd().as_raw_fd();
        let mut s = self.0.borrow_mut();
        let token = s.token();
        epoll_ctl(&s.epoll, libc::EPOLL_CTL_ADD, fd, token)?;
        s.fds.push(FdSource {
            token,
            fd,
            borrowed: false,
            callback: Some(Box::new(move |d| callback(&mut source, d))),
        });
        Ok(Token(token))
    }

    /// Calls `callback` whenever `fd` is readable, as [`Handle::insert_fd`],
    /// for a descriptor someone else owns and closes: no copy of it is
    /// made. The owner must close it before the source is removed (and
    /// hold no other copy, nor let a child inherit one): the close of a
    /// file's last descriptor is what takes it out of the epoll set, and
    /// removing the source then only forgets it (an `EPOLL_CTL_DEL` by
    /// number could name another file by then). Until the source is
    /// removed the callback may run after the close: it must not read `fd`
    /// without asking its owner whether it is still open.
    pub fn insert_borrowed_fd(
        &self,
        fd: RawFd,
        callback: impl FnMut(&mut D) -> PostAction + 'static,
    ) -> io::Result<Token> {
        let mut s = self.0.borrow_mut();
        let token = s.token();
        epoll_ctl(&s.epoll, libc::EPOLL_CTL_ADD, fd, token)?;
        s.fds.push(FdSource {
            token,
            fd,
            borrowed: true,
            callback: Some(Box::new(callback)),
        });
        Ok(Token(token))
    }

    /// Calls `callback` once `at` has come, and again as it asks.
    pub fn insert_timer(
        &self,
        at: Instant,
        callback: impl FnMut(&mut D) -> TimeoutAction + 'static,
    ) -> Token {
        let mut s = self.0.borrow_mut();
        let token = s.token();
        s.timers.push(TimerSource {
            token,
            at,
            callback: Some(Box::new(callback)),
        });
        Token(token)
    }

    /// Forgets a source; nothing happens for one already gone.
    pub fn remove(&self, token: Token) {
        self.0.borrow_mut().remove(token.0);
    }
}

/// The loop: its sources, and the Wayland queue it reads and dispatches.
pub struct EventLoop<D> {
    sources: Rc<RefCell<Sources<D>>>,
    queue: EventQueue<D>,
    events: [libc::epoll_event; MAX_EVENTS],
    /// Tokens ready or due in this turn (kept: no allocation per turn).
    ready: Vec<u64>,
    /// `epoll_pwait2` is missing (kernels before 5.11): `epoll_wait`.
    old_kernel: bool,
}

impl<D: 'static> EventLoop<D> {
    /// A loop dispatching `queue` (whose connection's socket it watches).
    pub fn new(queue: EventQueue<D>, wayland_fd: RawFd) -> io::Result<EventLoop<D>> {
        // SAFETY: epoll_create1 takes no pointers; a valid result is a new
        // descriptor nobody else owns.
        let epoll = unsafe {
            let fd = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            if fd < 0 {
                return Err(context("epoll_create1", io::Error::last_os_error()));
            }
            OwnedFd::from_raw_fd(fd)
        };
        epoll_ctl(&epoll, libc::EPOLL_CTL_ADD, wayland_fd, WAYLAND)
            .map_err(|e| context("watching the Wayland socket", e))?;
        Ok(EventLoop {
            sources: Rc::new(RefCell::new(Sources {
                epoll,
                next: WAYLAND,
                fds: Vec::with_capacity(16),
                timers: Vec::with_capacity(8),
            })),
            queue,
            events: [libc::epoll_event { events: 0, u64: 0 }; MAX_EVENTS],
            ready: Vec::with_capacity(MAX_EVENTS),
            old_kernel: false,
        })
    }

    /// A handle to add and remove sources.
    pub fn handle(&self) -> Handle<D> {
        Handle(self.sources.clone())
    }

    /// One turn: sends what is queued for the compositor, waits until a
    /// descriptor is ready, a timer is due or `timeout` has passed, then
    /// dispatches the compositor's events and runs the callbacks of what
    /// is ready and due. An error is the compositor connection's.
    pub fn dispatch(&mut self, timeout: Option<Duration>, data: &mut D) -> io::Result<()> {
        // Everything read so far is dispatched first (a callback may have
        // read the socket): nothing queued waits through the sleep.
        self.dispatch_wayland(data)?;
        let now = Instant::now();
        let due = self.sources.borrow().earliest();
        let wait = match (due, timeout) {
            (Some(at), t) => {
                let d = at.saturating_duration_since(now);
                Some(t.map_or(d, |t| t.min(d)))
            }
            (None, t) => t,
        };
        let n = self.wait(wait)?;
        self.ready.clear();
        let mut wayland = false;
        for e in &self.events[..n] {
            if e.u64 == WAYLAND {
                wayland = true;
            } else {
                self.ready.push(e.u64);
            }
        }
        // The read guard only when there is something to read: the loop is
        // the socket's one reader, so no other thread can have read between
        // the dispatch above and the wait. (Taken and dropped unused, the
        // guard's release wakes a condition variable: a futex call on every
        // timer-only wakeup.) `None` would mean another reader holds queued
        // events: the dispatch below takes them.
        if wayland {
            if let Some(guard) = self.queue.prepare_read() {
                match guard.read() {
                    Ok(_) => {}
                    Err(WaylandError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(wayland_error(e)),
                }
            }
        }
        self.dispatch_wayland(data)?;
        for i in 0..self.ready.len() {
            let token = self.ready[i];
            self.run_fd(token, data);
        }
        self.run_timers(data);
        Ok(())
    }

    /// Dispatches every event already read, and sends what that queued.
    fn dispatch_wayland(&mut self, data: &mut D) -> io::Result<()> {
        loop {
            match self.queue.dispatch_pending(data) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(DispatchError::Backend(e)) => return Err(wayland_error(e)),
                Err(DispatchError::BadMessage {
                    interface,
                    sender_id,
                    opcode,
                }) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "a bad message on {interface} (object {sender_id}, opcode {opcode})"
                        ),
                    ))
                }
            }
        }
        match self.queue.flush() {
            // The compositor is not reading fast enough: sent on a later turn.
            Err(WaylandError::Io(e)) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(wayland_error(e)),
            Ok(()) => Ok(()),
        }
    }

    /// Waits for events into `self.events`; their count.
    fn wait(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        let epoll = self.sources.borrow().epoll.as_raw_fd();
        let events = self.events.as_mut_ptr();
        loop {
            let n = if self.old_kernel {
                // Rounded up: waking before the deadline would be a turn
                // with nothing to do.
                let ms = timeout.map_or(-1, |t| {
                    t.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32
                });
                // SAFETY: `events` points at MAX_EVENTS writable entries.
                unsafe { libc::epoll_wait(epoll, events, MAX_EVENTS as i32, ms) as libc::c_long }
            } else {
                let ts = timeout.map(|t| libc::timespec {
                    tv_sec: t.as_secs().min(i64::MAX as u64) as libc::time_t,
                    tv_nsec: t.subsec_nanos() as libc::c_long,
                });
                let tsp = ts
                    .as_ref()
                    .map_or(std::ptr::null(), |t| t as *const libc::timespec);
                // SAFETY: `events` points at MAX_EVENTS writable entries, `tsp`
                // is null or points at a timespec that outlives the call, and
                // no signal mask is passed.
                unsafe {
                    libc::syscall(
                        libc::SYS_epoll_pwait2,
                        epoll,
                        events,
                        MAX_EVENTS as libc::c_int,
                        tsp,
                        std::ptr::null::<libc::sigset_t>(),
                        0usize,
                    )
                }
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                // Missing, or refused by a sandbox's seccomp filter that
                // predates it (such filters answer EPERM).
                Some(libc::ENOSYS | libc::EPERM) if !self.old_kernel => self.old_kernel = true,
                _ => return Err(context("epoll_pwait2", e)),
            }
        }
    }

    /// Runs the callback of the descriptor source `token`, if it is still
    /// there.
    fn run_fd(&mut self, token: u64, data: &mut D) {
        let taken = {
            let mut s = self.sources.borrow_mut();
            s.fds
                .iter_mut()
                .find(|f| f.token == token)
                .and_then(|f| f.callback.take())
        };
        let Some(mut callback) = taken else { return };
        let action = callback(data);
        let mut s = self.sources.borrow_mut();
        match action {
            PostAction::Continue => {
                if let Some(f) = s.fds.iter_mut().find(|f| f.token == token) {
                    f.callback = Some(callback);
                }
            }
            PostAction::Remove => s.remove(token),
        }
        // Removed meanwhile (by itself or another): `callback` drops here,
        // after the registration is gone.
    }

    /// Runs every timer due now, each once.
    fn run_timers(&mut self, data: &mut D) {
        let now = Instant::now();
        self.ready.clear();
        {
            let s = self.sources.borrow();
            self.ready
                .extend(s.timers.iter().filter(|t| t.at <= now).map(|t| t.token));
        }
        for i in 0..self.ready.len() {
            let token = self.ready[i];
            let taken = {
                let mut s = self.sources.borrow_mut();
                s.timers
                    .iter_mut()
                    .find(|t| t.token == token)
                    .and_then(|t| t.callback.take())
            };
            let Some(mut callback) = taken else { continue };
            let next = match callback(data) {
                TimeoutAction::Drop => None,
                TimeoutAction::ToInstant(at) => Some(at),
                TimeoutAction::ToDuration(d) => Some(Instant::now() + d),
            };
            let mut s = self.sources.borrow_mut();
            match next {
                Some(at) => {
                    if let Some(t) = s.timers.iter_mut().find(|t| t.token == token) {
                        t.at = at;
                        t.callback = Some(callback);
                    }
                }
                None => s.remove(token),
            }
        }
    }
}

fn epoll_ctl(epoll: &OwnedFd, op: libc::c_int, fd: RawFd, token: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: token,
    };
    // SAFETY: `ev` is a valid epoll_event for the call's duration (the
    // kernel ignores it for EPOLL_CTL_DEL).
    let r = unsafe { libc::epoll_ctl(epoll.as_raw_fd(), op, fd, &mut ev) };
    if r < 0 {
        Err(context("epoll_ctl", io::Error::last_os_error()))
    } else {
        Ok(())
    }
}

fn context(what: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// The connection's error as the bar reports it ("Broken pipe (os error 32)").
fn wayland_error(e: WaylandError) -> io::Error {
    match e {
        WaylandError::Io(e) => e,
        WaylandError::Protocol(p) => {
            io::Error::new(io::ErrorKind::InvalidData, format!("protocol error: {p}"))
        }
    }
}

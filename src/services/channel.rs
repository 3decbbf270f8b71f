//! Plain messages from one worker thread to the loop: a queue and an
//! eventfd the loop watches. The worker may block on its peer (a D-Bus
//! call, say); the loop only ever drains what is already there.
//!
//! When every [`Sender`] is gone (the worker ended or panicked), the
//! [`Receiver`] reports it once the queue is empty, so the service's
//! dispatch fails and the bar restarts it with backoff.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::mpsc::{self, TryRecvError};
use std::sync::Arc;

/// The sending end (on the worker thread); cheap to clone.
pub struct Sender<T> {
    tx: mpsc::Sender<T>,
    wake: Arc<OwnedFd>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            tx: self.tx.clone(),
            wake: self.wake.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Wake the loop so it notices the last sender going.
        bump(&self.wake);
    }
}

/// The receiving end (in the service, on the loop).
pub struct Receiver<T> {
    rx: mpsc::Receiver<T>,
    wake: Arc<OwnedFd>,
}

/// A channel whose receiving end has a descriptor for the loop.
pub fn channel<T: Send>() -> io::Result<(Sender<T>, Receiver<T>)> {
    // SAFETY: eventfd(2) with constant flags; the result is checked.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let wake = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
    let (tx, rx) = mpsc::channel();
    Ok((
        Sender {
            tx,
            wake: wake.clone(),
        },
        Receiver { rx, wake },
    ))
}

fn bump(fd: &OwnedFd) {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live u64 to an eventfd we own; a full
    // counter (EAGAIN) only means the loop is already woken.
    unsafe {
        libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8);
    }
}

impl<T> Sender<T> {
    /// Queues `msg` and wakes the loop; an error when the receiver is gone
    /// (the worker should end).
    pub fn send(&self, msg: T) -> Result<(), mpsc::SendError<T>> {
        self.tx.send(msg)?;
        bump(&self.wake);
        Ok(())
    }
}

impl<T> Receiver<T> {
    /// The descriptor to watch ([`crate::services::Service::fd`]).
    pub fn fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Hands every queued message to `f`; `Err` when the senders are all
    /// gone and nothing is left (the worker ended).
    pub fn drain(&self, mut f: impl FnMut(T)) -> Result<(), Disconnected> {
        let mut n: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64 from our non-blocking
        // eventfd; EAGAIN (nothing pending) leaves it untouched.
        unsafe {
            libc::read(self.wake.as_raw_fd(), (&mut n as *mut u64).cast(), 8);
        }
        loop {
            match self.rx.try_recv() {
                Ok(m) => f(m),
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Disconnected) => return Err(Disconnected),
            }
        }
    }
}

/// Every [`Sender`] is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected;

#[cfg(test)]
mod tests {
    use super::*;

    fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn messages_wake_then_drain_then_end() {
        let (tx, rx) = channel::<u32>().unwrap();
        assert!(!readable(rx.fd()));
        let worker = std::thread::spawn(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
            }
        });
        worker.join().unwrap();
        assert!(readable(rx.fd()));
        let mut got = Vec::new();
        // The worker is gone: the queued messages first, then the end.
        assert_eq!(rx.drain(|m| got.push(m)), Err(Disconnected));
        assert_eq!(got, [0, 1, 2]);
        assert!(!readable(rx.fd()));
    }

    #[test]
    fn live_sender_is_not_an_end() {
        let (tx, rx) = channel::<&str>().unwrap();
        tx.send("a").unwrap();
        let mut got = Vec::new();
        assert_eq!(rx.drain(|m| got.push(m)), Ok(()));
        assert_eq!(got, ["a"]);
        assert_eq!(rx.drain(|_| {}), Ok(()));
        drop(tx);
        assert!(readable(rx.fd()));
        assert_eq!(rx.drain(|_| {}), Err(Disconnected));
    }
}

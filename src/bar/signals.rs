//! SIGUSR1 (toggle visibility), SIGUSR2 (reload) and SIGTERM, SIGINT and
//! SIGHUP (exit, killing the scripts first) as a file descriptor on
//! the event loop: the signals are blocked, so they queue in the kernel
//! instead of interrupting anything, and a `signalfd` reads them when the
//! loop gets to it. No handler runs in signal context, no thread, no
//! self-pipe.
//!
//! Children inherit the blocked mask, but `std::process::Command` resets
//! the mask in the child before `exec`, so spawned commands see the
//! signals normally.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// What a signal asks of the bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// SIGUSR1: hide the bar if shown, show it if hidden.
    ToggleVisible,
    /// SIGUSR2: read the config again.
    Reload,
    /// SIGTERM, SIGINT, SIGHUP: stop the scripts and exit.
    Quit,
}

/// A signalfd for SIGUSR1, SIGUSR2, SIGTERM, SIGINT and SIGHUP.
pub struct Signals {
    fd: OwnedFd,
}

fn sigset() -> libc::sigset_t {
    // SAFETY: an all-zero sigset_t is valid storage; sigemptyset and
    // sigaddset initialise it and cannot fail for valid signal numbers.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigaddset(&mut set, libc::SIGUSR2);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGHUP);
        set
    }
}

impl Signals {
    /// Blocks these signals in this thread (the bar's only one) and
    /// opens a non-blocking signalfd that reads them.
    pub fn new() -> io::Result<Signals> {
        let set = sigset();
        // SAFETY: `set` is an initialised sigset; the old mask is not wanted.
        let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: -1 asks for a new descriptor; `set` is initialised.
        let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: signalfd returned a new descriptor that nothing else owns.
        Ok(Signals {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Reads every pending signal, calling `f` with what each asks.
    pub fn drain(&self, mut f: impl FnMut(Request)) {
        loop {
            // SAFETY: an all-zero signalfd_siginfo is valid storage.
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            // SAFETY: reads at most `size` bytes into `info`, which is
            // exactly that large; the fd is ours and open.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    size,
                )
            };
            if n != size as isize {
                // EAGAIN: nothing left (anything else: nothing we can do).
                return;
            }
            match info.ssi_signo as i32 {
                libc::SIGUSR1 => f(Request::ToggleVisible),
                libc::SIGUSR2 => f(Request::Reload),
                libc::SIGTERM | libc::SIGINT | libc::SIGHUP => f(Request::Quit),
                _ => {}
            }
        }
    }
}

impl AsFd for Signals {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each test runs on its own thread, and the mask is per thread: these
    // block the signals only where they run.

    #[test]
    fn queued_signals_are_read_as_requests() {
        let s = Signals::new().unwrap();
        let mut got = Vec::new();
        s.drain(|r| got.push(r));
        assert!(got.is_empty());
        for sig in [libc::SIGUSR2, libc::SIGUSR1, libc::SIGTERM] {
            // SAFETY: sends a blocked signal to this very thread, where it
            // stays pending until the signalfd reads it.
            assert_eq!(unsafe { libc::pthread_kill(libc::pthread_self(), sig) }, 0);
        }
        s.drain(|r| got.push(r));
        got.sort_by_key(|r| *r as u8);
        assert_eq!(
            got,
            [Request::ToggleVisible, Request::Reload, Request::Quit]
        );
    }

    #[test]
    fn spawned_commands_do_not_inherit_the_blocked_signals() {
        let _s = Signals::new().unwrap();
        let out = std::process::Command::new("sh")
            .args(["-c", "grep SigBlk /proc/self/status"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("0000000000000000"), "{text}");
    }
}

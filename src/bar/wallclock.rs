//! The wall clock and the time zone, watched: a `CLOCK_REALTIME` timerfd
//! armed far in the future with `TFD_TIMER_CANCEL_ON_SET` becomes readable
//! (its read fails with `ECANCELED`) whenever the wall clock is set or jumps,
//! which the kernel also does at resume from suspend; the zone file
//! (`/etc/localtime`, or the file `TZ=:/path` names) is watched with inotify.
//! Either makes the clock read the time (and the zone) again at once,
//! instead of at its next boundary on the monotonic clock, which stood
//! still during the suspend.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

/// A timerfd cancelled by wall-clock changes.
pub struct ClockSet {
    fd: OwnedFd,
}

impl ClockSet {
    /// Opens and arms it.
    pub fn new() -> io::Result<ClockSet> {
        // SAFETY: creates a new descriptor; the result is checked.
        let raw = unsafe {
            libc::timerfd_create(libc::CLOCK_REALTIME, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
        };
        if raw < 0 {
            return Err(io::Error::other(format!(
                "timerfd_create: {}",
                io::Error::last_os_error()
            )));
        }
        // SAFETY: a fresh descriptor nothing else owns.
        let c = ClockSet {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        };
        c.arm()?;
        Ok(c)
    }

    fn arm(&self) -> io::Result<()> {
        // Far in the future: it never expires, it is only ever cancelled.
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: libc::time_t::MAX / 2,
                tv_nsec: 0,
            },
        };
        // SAFETY: our descriptor and a valid itimerspec; no old value wanted.
        let rc = unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME | libc::TFD_TIMER_CANCEL_ON_SET,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Err(io::Error::other(format!(
                "timerfd_settime: {}",
                io::Error::last_os_error()
            )));
        }
        Ok(())
    }

    /// The descriptor was readable: whether the wall clock was set (it is
    /// armed again for the next change).
    pub fn was_set(&self) -> bool {
        let mut v = 0u64;
        // SAFETY: reads at most 8 bytes into `v`.
        let n = unsafe { libc::read(self.fd.as_raw_fd(), (&mut v as *mut u64).cast(), 8) };
        let set = n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ECANCELED);
        if set {
            if let Err(e) = self.arm() {
                eprintln!("rstat: the clock will not follow wall-clock changes ({e})");
            }
        }
        set
    }
}

impl AsFd for ClockSet {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The zone file libc reads: `TZ=:/path` or `TZ=/path` names one, other
/// `TZ` values are zone names or rules (nothing to watch but
/// `/etc/localtime` then only when `TZ` is unset).
pub fn zone_file(tz: Option<&str>) -> Option<PathBuf> {
    match tz {
        None => Some(PathBuf::from("/etc/localtime")),
        Some(t) => {
            let t = t.strip_prefix(':').unwrap_or(t);
            t.starts_with('/').then(|| PathBuf::from(t))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armed_and_quiet_until_the_clock_is_set() {
        let c = ClockSet::new().unwrap();
        // Nothing happened: reading says so (EAGAIN), and it stays armed.
        assert!(!c.was_set());
        assert!(!c.was_set());
    }

    #[test]
    fn zone_files() {
        assert_eq!(zone_file(None), Some("/etc/localtime".into()));
        assert_eq!(zone_file(Some(":/tmp/z")), Some("/tmp/z".into()));
        assert_eq!(zone_file(Some("/tmp/z")), Some("/tmp/z".into()));
        assert_eq!(zone_file(Some("UTC0")), None);
        assert_eq!(zone_file(Some(":Europe/Paris")), None);
    }
}

//! Display backlights from `/sys/class/backlight`, and the kernel's uevents
//! that say when one changed.
//!
//! A device is chosen once (the configured name, else the one with the
//! largest `max_brightness`: on a laptop with both `intel_backlight` and an
//! ACPI `acpi_video0`, the native one has the finer range), its
//! `actual_brightness` kept open and read with `pread`. [`Uevents`] is a
//! `NETLINK_KOBJECT_UEVENT` socket (no libudev): the kernel sends a
//! `change` on it whenever a backlight's brightness is set through sysfs or
//! a hotkey, and `add` / `remove` when a device comes or goes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use super::parse::u64_prefix;
use super::system::pread_start;
use super::Error;

/// One reading of the chosen backlight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BacklightReading {
    /// `actual_brightness` (the hardware's level; `brightness` where a
    /// driver lacks it).
    pub brightness: u64,
    /// `max_brightness`.
    pub max: u64,
}

impl BacklightReading {
    /// The level as a percentage of the range, 0–100.
    pub fn percent(&self) -> f64 {
        if self.max == 0 {
            0.0
        } else {
            (self.brightness.min(self.max) as f64 * 100.0 / self.max as f64).clamp(0.0, 100.0)
        }
    }
}

/// The chosen backlight device, its level file kept open.
#[derive(Debug)]
pub struct Backlight {
    /// Its name in `/sys/class/backlight` (`intel_backlight`).
    pub name: String,
    dir: PathBuf,
    actual: File,
    max: u64,
}

impl Backlight {
    /// The device named `wanted` under `sys/class/backlight`, or (`None`)
    /// the one with the largest `max_brightness`. `Ok(None)`: no such
    /// device, or no backlight at all.
    pub fn discover(sys: &Path, wanted: Option<&str>) -> Result<Option<Backlight>, Error> {
        let class = sys.join("class/backlight");
        let entries = match fs::read_dir(&class) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("reading {}", class.display()), e)),
        };
        let mut best: Option<(u64, String)> = None;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if wanted.is_some_and(|w| w != name) {
                continue;
            }
            let Some(max) = read_u64(&class.join(&name).join("max_brightness")) else {
                continue;
            };
            // Ties go to the first name in order, so the choice is stable.
            let better = match &best {
                None => true,
                Some((m, n)) => max > *m || (max == *m && name < *n),
            };
            if better {
                best = Some((max, name));
            }
        }
        let Some((max, name)) = best else {
            return Ok(None);
        };
        let dir = class.join(&name);
        // Some drivers lack actual_brightness; brightness is what was asked.
        let actual = File::open(dir.join("actual_brightness"))
            .or_else(|_| File::open(dir.join("brightness")))
            .map_err(|e| Error::io(format!("opening {}/actual_brightness", dir.display()), e))?;
        Ok(Some(Backlight {
            name,
            dir,
            actual,
            max,
        }))
    }

    /// The level now. An error means the device went away (its sysfs files
    /// fail with ENODEV once the driver unbinds) or holds garbage.
    pub fn read(&self) -> Result<BacklightReading, Error> {
        let mut buf = [0u8; 32];
        let b = pread_start(&self.actual, &mut buf)
            .map_err(|e| Error::io(format!("reading {}/actual_brightness", self.name), e))?;
        // A fixture tree, or a sysfs whose device went, can leave us reading
        // a file no longer linked anywhere: that is gone too.
        // SAFETY: all-zero is a valid `stat`; fstat writes into it.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: the descriptor is ours and open; `st` is a valid out-pointer.
        if unsafe { libc::fstat(self.actual.as_raw_fd(), &mut st) } == 0 && st.st_nlink == 0 {
            return Err(Error::msg(format!("{}: the device went away", self.name)));
        }
        let brightness = u64_prefix(b).ok_or_else(|| {
            Error::msg(format!(
                "{}/actual_brightness: not a number: {:?}",
                self.name,
                String::from_utf8_lossy(b.trim_ascii())
            ))
        })?;
        Ok(BacklightReading {
            brightness,
            max: self.max,
        })
    }

    /// Sets `brightness` to `value` (clamped to the range) by writing the
    /// sysfs file: needs write access to it (root, or a udev rule giving the
    /// `video` group the file).
    pub fn write(&self, value: u64) -> Result<(), Error> {
        let path = self.dir.join("brightness");
        let v = value.min(self.max);
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|mut f| f.write_all(format!("{v}\n").as_bytes()))
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))
    }

    /// The level `step` percent of the range away from `from` (negative:
    /// darker), never past the ends, and at least one raw unit away so a
    /// small step on a coarse device still moves.
    pub fn stepped(&self, from: u64, step: f64) -> u64 {
        let delta = (self.max as f64 * step.abs() / 100.0).round().max(1.0) as u64;
        if step < 0.0 {
            from.saturating_sub(delta)
        } else {
            from.saturating_add(delta).min(self.max)
        }
    }
}

fn read_u64(path: &Path) -> Option<u64> {
    let mut buf = [0u8; 32];
    let f = File::open(path).ok()?;
    u64_prefix(pread_start(&f, &mut buf).ok()?)
}

/// What a uevent says about backlights.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BacklightEvent {
    /// A backlight's level changed (`change`).
    Changed,
    /// A backlight appeared or went away (`add`, `remove`, …): choose again.
    Devices,
}

/// The kernel's uevent broadcast: a non-blocking `NETLINK_KOBJECT_UEVENT`
/// socket in the caller's network namespace.
#[derive(Debug)]
pub struct Uevents {
    fd: OwnedFd,
    buf: Box<[u8; 8192]>,
}

impl Uevents {
    /// Joins the kernel's uevent group (1; udev's re-broadcast is group 2,
    /// which we do not need).
    pub fn open() -> Result<Uevents, Error> {
        // SAFETY: plain socket(2); the result is checked before use.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::NETLINK_KOBJECT_UEVENT,
            )
        };
        if fd < 0 {
            return Err(Error::io(
                "socket(NETLINK_KOBJECT_UEVENT)",
                io::Error::last_os_error(),
            ));
        }
        // SAFETY: `fd` was just returned by socket(2) and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: all-zero is a valid sockaddr_nl; the fields are set below.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        sa.nl_groups = 1;
        // SAFETY: `sa` is a valid sockaddr_nl of the size passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(Error::io(
                "bind(NETLINK_KOBJECT_UEVENT, group 1)",
                io::Error::last_os_error(),
            ));
        }
        Ok(Uevents {
            fd,
            buf: Box::new([0; 8192]),
        })
    }

    /// The socket, for the event loop.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Reads every queued uevent; the strongest backlight event among them
    /// (`Devices` over `Changed`), `None` when none was about a backlight.
    /// Never blocks; an overrun socket (ENOBUFS: events were lost) counts as
    /// `Devices`, so the caller looks again.
    pub fn drain(&mut self) -> Option<BacklightEvent> {
        let mut seen = None;
        loop {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if n < 0 {
                if io::Error::last_os_error().raw_os_error() == Some(libc::ENOBUFS) {
                    seen = Some(BacklightEvent::Devices);
                    continue;
                }
                return seen;
            }
            if n == 0 {
                return seen;
            }
            let msg = &self.buf[..n as usize];
            match parse_uevent(msg) {
                Some(BacklightEvent::Devices) => seen = Some(BacklightEvent::Devices),
                Some(BacklightEvent::Changed) if seen.is_none() => {
                    seen = Some(BacklightEvent::Changed)
                }
                _ => {}
            }
        }
    }
}

/// What one kernel uevent message (`ACTION@DEVPATH\0KEY=VALUE\0…`) says
/// about backlights; `None` for other subsystems and for udev's messages
/// (they start with `libudev`).
pub fn parse_uevent(msg: &[u8]) -> Option<BacklightEvent> {
    let mut fields = msg.split(|&c| c == 0);
    let header = fields.next()?;
    if !header.contains(&b'@') {
        return None;
    }
    let mut action: &[u8] = &[];
    let mut backlight = false;
    for f in fields {
        if let Some(v) = f.strip_prefix(b"ACTION=") {
            action = v;
        } else if f == b"SUBSYSTEM=backlight" {
            backlight = true;
        }
    }
    if !backlight {
        return None;
    }
    if action.is_empty() {
        action = header.split(|&c| c == b'@').next().unwrap_or_default();
    }
    Some(if action == b"change" {
        BacklightEvent::Changed
    } else {
        BacklightEvent::Devices
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uevent_messages() {
        let change = b"change@/devices/pci0000:00/0000:00:02.0/drm/card1/card1-eDP-1/intel_backlight\0ACTION=change\0DEVPATH=/devices/pci0000:00/0000:00:02.0/drm/card1/card1-eDP-1/intel_backlight\0SUBSYSTEM=backlight\0SOURCE=sysfs\0SEQNUM=4711\0";
        assert_eq!(parse_uevent(change), Some(BacklightEvent::Changed));
        let add = b"add@/devices/x/backlight/acpi_video0\0ACTION=add\0SUBSYSTEM=backlight\0";
        assert_eq!(parse_uevent(add), Some(BacklightEvent::Devices));
        let other = b"change@/devices/x/power_supply/BAT0\0ACTION=change\0SUBSYSTEM=power_supply\0";
        assert_eq!(parse_uevent(other), None);
        assert_eq!(parse_uevent(b"libudev\0\xfe\xed\xca\xfe"), None);
        assert_eq!(parse_uevent(b""), None);
        assert_eq!(parse_uevent(b"\0\0\0"), None);
    }

    #[test]
    fn percent_and_steps() {
        let r = BacklightReading {
            brightness: 480,
            max: 960,
        };
        assert_eq!(r.percent(), 50.0);
        let over = BacklightReading {
            brightness: 2000,
            max: 960,
        };
        assert_eq!(over.percent(), 100.0);
        assert_eq!(
            BacklightReading {
                brightness: 3,
                max: 0
            }
            .percent(),
            0.0
        );
    }
}

//! Notices when the config file changes on disk, with inotify on its
//! directory and on the file itself: editors save by writing a new file and
//! renaming it over the old one, which a watch on the old file's inode alone
//! would never see again; and a watch of the directory's writes would wake
//! the bar for every write to any file beside the config (a log kept there).

use std::cell::Cell;
use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Events in the directory that can put another file in the config's
/// place: renamed in or away, created, deleted. Writes are not among them,
/// so a busy file beside the config never wakes the bar.
const DIR_MASK: u32 =
    libc::IN_MOVED_TO | libc::IN_MOVED_FROM | libc::IN_CREATE | libc::IN_DELETE | libc::IN_ONLYDIR;

/// Events on the file itself (not followed through a symlink, whose own
/// replacement the directory sees): written and closed, modified in place.
const FILE_MASK: u32 = libc::IN_CLOSE_WRITE | libc::IN_MODIFY | libc::IN_DONT_FOLLOW;

/// An inotify descriptor watching one file and its directory.
pub struct Watch {
    fd: OwnedFd,
    /// The file's name inside the directory.
    name: OsString,
    /// The file's path, to watch again when another file takes its place.
    path: CString,
    /// The directory's watch descriptor.
    dir_wd: i32,
    /// The file's watch descriptor; -1 while there is no file.
    file_wd: Cell<i32>,
}

/// Room for many events with names at once (inotify never splits one).
#[repr(C, align(8))]
struct EventBuf([u8; 4096]);

/// One event: its watch descriptor, mask and name (empty for the watched
/// object itself).
struct Event<'a> {
    wd: i32,
    mask: u32,
    name: &'a [u8],
}

impl Watch {
    /// Watches `file` (which need not exist yet) and its directory.
    pub fn new(file: &Path) -> io::Result<Watch> {
        let name = file
            .file_name()
            .ok_or_else(|| io::Error::other(format!("{} names no file", file.display())))?
            .to_os_string();
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let cstr = |p: &Path| {
            CString::new(p.as_os_str().as_bytes())
                .map_err(|_| io::Error::other("a NUL in the config path"))
        };
        let (cdir, path) = (cstr(&dir)?, cstr(file)?);
        // SAFETY: no pointers; returns a new descriptor or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: inotify_init1 returned a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: `cdir` is a NUL-terminated path; the fd is ours.
        let dir_wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), cdir.as_ptr(), DIR_MASK) };
        if dir_wd < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("watching {}: {e}", dir.display()),
            ));
        }
        let w = Watch {
            fd,
            name,
            path,
            dir_wd,
            file_wd: Cell::new(-1),
        };
        w.watch_file();
        Ok(w)
    }

    /// (Re)watches the file now at the path; a missing file is watched once
    /// the directory says one arrived.
    fn watch_file(&self) {
        // SAFETY: `path` is a NUL-terminated path; the fd is ours.
        let wd =
            unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), self.path.as_ptr(), FILE_MASK) };
        let old = self.file_wd.replace(wd.max(-1));
        if old >= 0 && old != wd {
            // The old file was renamed away (an editor's backup): its writes
            // are no longer the config's. Fails harmlessly if it is gone.
            // SAFETY: no pointers; removes one of our own watches.
            unsafe { libc::inotify_rm_watch(self.fd.as_raw_fd(), old) };
        }
    }

    /// Reads every pending event; true when one concerned the file.
    pub fn changed(&self) -> bool {
        let mut hit = false;
        let mut replaced = false;
        let mut buf = EventBuf([0; 4096]);
        loop {
            // SAFETY: reads at most the buffer's size into it; the fd is ours.
            let n =
                unsafe { libc::read(self.fd.as_raw_fd(), buf.0.as_mut_ptr().cast(), buf.0.len()) };
            if n <= 0 {
                // EAGAIN: drained.
                break;
            }
            for ev in events(&buf.0[..n as usize]) {
                if ev.wd == self.dir_wd {
                    if ev.name == self.name.as_bytes() {
                        hit = true;
                        replaced = true;
                    }
                } else if ev.wd == self.file_wd.get() {
                    if ev.mask & libc::IN_IGNORED != 0 {
                        self.file_wd.set(-1);
                    } else if ev.mask & (libc::IN_MODIFY | libc::IN_CLOSE_WRITE) != 0 {
                        hit = true;
                    }
                }
            }
        }
        if replaced {
            self.watch_file();
        }
        hit
    }
}

/// The events in a buffer of inotify records (a truncated record ends it).
fn events(mut buf: &[u8]) -> impl Iterator<Item = Event<'_>> {
    const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
    std::iter::from_fn(move || {
        if buf.len() < HEADER {
            return None;
        }
        // The header is four 32-bit fields (wd, mask, cookie, len), read by
        // offset: the buffer holds variable-size records.
        let field = |at: usize| -> Option<[u8; 4]> { buf[at..at + 4].try_into().ok() };
        let wd = i32::from_ne_bytes(field(0)?);
        let mask = u32::from_ne_bytes(field(4)?);
        let len = u32::from_ne_bytes(field(12)?) as usize;
        if HEADER + len > buf.len() {
            return None;
        }
        let raw = &buf[HEADER..HEADER + len];
        buf = &buf[HEADER + len..];
        let name = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
        Some(Event { wd, mask, name })
    })
}

impl AsFd for Watch {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A unique directory under the temp dir for a test, removed on drop.
#[cfg(test)]
struct TempDir(std::path::PathBuf);

#[cfg(test)]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("rstat-watch-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        TempDir(d)
    }

    #[test]
    fn sees_writes_and_renames_of_the_file_only() {
        let d = tmp("a");
        let file = d.0.join("config.toml");
        let w = Watch::new(&file).unwrap();
        assert!(!w.changed());
        std::fs::write(d.0.join("other.toml"), "x").unwrap();
        assert!(!w.changed(), "another file in the directory");
        std::fs::write(&file, "a = 1").unwrap();
        assert!(w.changed(), "written in place");
        assert!(!w.changed(), "drained");
        // An editor's save: write a temporary file, rename it over.
        let tmpf = d.0.join(".config.toml.swp");
        std::fs::write(&tmpf, "a = 2").unwrap();
        assert!(!w.changed());
        std::fs::rename(&tmpf, &file).unwrap();
        assert!(w.changed(), "renamed over");
        std::fs::remove_file(&file).unwrap();
        assert!(w.changed(), "deleted");
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it() {
        let e = Watch::new(Path::new("/nonexistent-rstat/config.toml"))
            .err()
            .unwrap();
        assert!(e.to_string().contains("/nonexistent-rstat"), "{e}");
    }

    /// Whether the watch's descriptor has an event to read (a wakeup of
    /// the loop), without reading it.
    fn readable(w: &Watch) -> bool {
        let mut p = libc::pollfd {
            fd: w.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd of ours, no wait.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn writes_to_other_files_beside_it_wake_nobody() {
        let d = tmp("busy");
        let file = d.0.join("config.toml");
        std::fs::write(&file, "a = 1").unwrap();
        let log = d.0.join("bar.log");
        std::fs::write(&log, "").unwrap();
        let w = Watch::new(&file).unwrap();
        assert!(!readable(&w));
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
        for i in 0..1000 {
            writeln!(f, "line {i}").unwrap();
        }
        drop(f);
        assert!(
            !readable(&w),
            "1000 writes to a log beside the config: no event"
        );
        std::fs::write(&file, "a = 2").unwrap();
        assert!(readable(&w) && w.changed(), "the config written in place");
    }

    #[test]
    fn follows_the_file_that_takes_the_name() {
        let d = tmp("swap");
        let file = d.0.join("config.toml");
        let w = Watch::new(&file).unwrap();
        // Created after the start: seen, and watched from then on.
        std::fs::write(&file, "a = 1").unwrap();
        assert!(w.changed(), "created");
        std::fs::write(&file, "a = 2").unwrap();
        assert!(w.changed(), "the new file written in place");
        // A backup-style save: the old file renamed away, a new one written.
        let backup = d.0.join("config.toml~");
        std::fs::rename(&file, &backup).unwrap();
        std::fs::write(&file, "a = 3").unwrap();
        assert!(w.changed(), "renamed away and written anew");
        std::fs::write(&backup, "old").unwrap();
        assert!(!w.changed(), "the backup's writes are not the config's");
        std::fs::write(&file, "a = 4").unwrap();
        assert!(w.changed(), "the file in the name's place written in place");
    }

    #[test]
    fn events_parses_records() {
        let mut buf = Vec::new();
        for (wd, name, padded) in [(1i32, &b""[..], 0usize), (2, b"config.toml", 16)] {
            buf.extend_from_slice(&wd.to_ne_bytes());
            buf.extend_from_slice(&libc::IN_MODIFY.to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            buf.extend_from_slice(&(padded as u32).to_ne_bytes());
            let mut n = name.to_vec();
            n.resize(padded, 0);
            buf.extend_from_slice(&n);
        }
        let got: Vec<(i32, u32, &[u8])> = events(&buf).map(|e| (e.wd, e.mask, e.name)).collect();
        assert_eq!(
            got,
            [
                (1, libc::IN_MODIFY, &b""[..]),
                (2, libc::IN_MODIFY, &b"config.toml"[..])
            ]
        );
        // A truncated record ends the walk rather than reading past it.
        assert_eq!(events(&buf[..buf.len() - 20]).count(), 1);
    }
}

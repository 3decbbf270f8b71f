//! Notices when the config file changes on disk, with inotify on its
//! directory rather than on the file: editors save by writing a new file and
//! renaming it over the old one, which a watch on the old file's inode would
//! never see again.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Events in the directory that can change what the file holds: written
/// and closed, modified in place, renamed in or away, created, deleted.
const MASK: u32 = libc::IN_CLOSE_WRITE
    | libc::IN_MODIFY
    | libc::IN_MOVED_TO
    | libc::IN_MOVED_FROM
    | libc::IN_CREATE
    | libc::IN_DELETE;

/// An inotify descriptor watching one file's directory.
pub struct Watch {
    fd: OwnedFd,
    /// The file's name inside the directory.
    name: OsString,
}

/// Room for many events with names at once (inotify never splits one).
#[repr(C, align(8))]
struct EventBuf([u8; 4096]);

impl Watch {
    /// Watches the directory of `file` (which need not exist yet).
    pub fn new(file: &Path) -> io::Result<Watch> {
        let name = file
            .file_name()
            .ok_or_else(|| io::Error::other(format!("{} names no file", file.display())))?
            .to_os_string();
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let cdir = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::other("a NUL in the config path"))?;
        // SAFETY: no pointers; returns a new descriptor or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: inotify_init1 returned a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: `cdir` is a NUL-terminated path; the fd is ours.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), cdir.as_ptr(), MASK) };
        if wd < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("watching {}: {e}", dir.display()),
            ));
        }
        Ok(Watch { fd, name })
    }

    /// Reads every pending event; true when one concerned the file.
    pub fn changed(&self) -> bool {
        let mut hit = false;
        let mut buf = EventBuf([0; 4096]);
        loop {
            // SAFETY: reads at most the buffer's size into it; the fd is ours.
            let n =
                unsafe { libc::read(self.fd.as_raw_fd(), buf.0.as_mut_ptr().cast(), buf.0.len()) };
            if n <= 0 {
                // EAGAIN: drained.
                return hit;
            }
            hit |= names(&buf.0[..n as usize]).any(|n| n == self.name.as_bytes());
        }
    }
}

/// The names in a buffer of inotify events (events on the directory itself
/// have none and are skipped).
fn names(mut buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    const HEADER: usize = std::mem::size_of::<libc::inotify_event>();
    std::iter::from_fn(move || loop {
        if buf.len() < HEADER {
            return None;
        }
        // The header's last field is the name's length (wd, mask, cookie,
        // len: four 32-bit fields); read it by offset, as the buffer holds
        // variable-size records.
        let len = u32::from_ne_bytes(buf[12..16].try_into().ok()?) as usize;
        let end = (HEADER + len).min(buf.len());
        let raw = &buf[HEADER..end];
        buf = &buf[end..];
        let name = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
        if !name.is_empty() {
            return Some(name);
        }
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

    #[test]
    fn names_parses_records() {
        let mut buf = Vec::new();
        for (name, padded) in [(&b""[..], 0usize), (b"config.toml", 16)] {
            buf.extend_from_slice(&1i32.to_ne_bytes());
            buf.extend_from_slice(&2u32.to_ne_bytes());
            buf.extend_from_slice(&0u32.to_ne_bytes());
            buf.extend_from_slice(&(padded as u32).to_ne_bytes());
            let mut n = name.to_vec();
            n.resize(padded, 0);
            buf.extend_from_slice(&n);
        }
        let got: Vec<&[u8]> = names(&buf).collect();
        assert_eq!(got, [&b"config.toml"[..]]);
        // A truncated record ends the walk rather than reading past it.
        assert_eq!(names(&buf[..buf.len() - 20]).count(), 0);
    }
}

//! Notices when the config file changes on disk, with inotify on its
//! directory and on the file itself: editors save by writing a new file and
//! renaming it over the old one, which a watch on the old file's inode alone
//! would never see again; and a watch of the directory's writes would wake
//! the bar for every write to any file beside the config (a log kept there).
//!
//! A config that is a symlink (a dotfiles checkout linked into
//! `~/.config`) is watched twice: the link in its directory, whose
//! replacement points the bar at another file, and the file it resolves to
//! in that file's directory, where the edits happen.

use std::cell::{Cell, RefCell};
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

/// As the kernel's own limit on symlinks followed in one lookup.
const MAX_LINKS: usize = 40;

/// An inotify descriptor watching one file and its directory, and, when
/// the file is a symlink, the file it points to and that file's directory.
pub struct Watch {
    fd: OwnedFd,
    /// The configured path.
    link: Place,
    /// Where the symlink at `link` leads; `None` when it is no symlink (or
    /// its target's directory cannot be watched).
    target: RefCell<Option<Place>>,
}

/// One name in one directory, both watched.
struct Place {
    /// The file's name inside the directory.
    name: OsString,
    /// The file's path, to watch again when another file takes its place.
    path: CString,
    /// The directory's watch descriptor (shared with the other place when
    /// both are in one directory: inotify gives one per inode).
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
        // SAFETY: no pointers; returns a new descriptor or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: inotify_init1 returned a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let link = Place::watch(&fd, file)?;
        let w = Watch {
            fd,
            link,
            target: RefCell::new(None),
        };
        w.follow_link();
        Ok(w)
    }

    /// Points the second watch at where the link now leads (no second
    /// watch when the file is no symlink). A target whose directory cannot
    /// be watched leaves only the link watched, as a plain file is.
    fn follow_link(&self) {
        let to = symlink_target(Path::new(std::ffi::OsStr::from_bytes(
            self.link.path.as_bytes(),
        )));
        let mut target = self.target.borrow_mut();
        let same = match (&*target, &to) {
            (Some(t), Some(p)) => t.path.as_bytes() == p.as_os_str().as_bytes(),
            (None, None) => true,
            _ => false,
        };
        if same {
            return;
        }
        let old = target.take();
        *target = to.and_then(|p| Place::watch(&self.fd, &p).ok());
        if let Some(old) = old {
            let new_dir = target.as_ref().map(|t| t.dir_wd);
            // A directory watch still used by the link or the new target
            // stays: inotify has one watch per directory, not per place.
            if old.dir_wd != self.link.dir_wd && Some(old.dir_wd) != new_dir {
                forget(&self.fd, old.dir_wd);
            }
            let new_file = target.as_ref().map(|t| t.file_wd.get());
            if old.file_wd.get() >= 0 && Some(old.file_wd.get()) != new_file {
                forget(&self.fd, old.file_wd.get());
            }
        }
    }

    /// Reads every pending event; true when one concerned the file (the
    /// link, or the file it leads to).
    pub fn changed(&self) -> bool {
        let mut hit = false;
        let (mut relinked, mut retargeted) = (false, false);
        let mut buf = EventBuf([0; 4096]);
        loop {
            // SAFETY: reads at most the buffer's size into it; the fd is ours.
            let n =
                unsafe { libc::read(self.fd.as_raw_fd(), buf.0.as_mut_ptr().cast(), buf.0.len()) };
            if n <= 0 {
                // EAGAIN: drained.
                break;
            }
            let target = self.target.borrow();
            for ev in events(&buf.0[..n as usize]) {
                if self.link.replaced_by(&ev) {
                    hit = true;
                    relinked = true;
                }
                if self.link.written_by(&ev) {
                    hit = true;
                }
                if let Some(t) = target.as_ref() {
                    if t.replaced_by(&ev) {
                        hit = true;
                        retargeted = true;
                    }
                    if t.written_by(&ev) {
                        hit = true;
                    }
                }
            }
        }
        if relinked {
            self.link.watch_file(&self.fd);
            self.follow_link();
        }
        if retargeted {
            if let Some(t) = self.target.borrow().as_ref() {
                t.watch_file(&self.fd);
            }
        }
        hit
    }
}

impl Place {
    /// Watches `file`'s directory, and the file if it exists.
    fn watch(fd: &OwnedFd, file: &Path) -> io::Result<Place> {
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
        // SAFETY: `cdir` is a NUL-terminated path; the fd is ours.
        let dir_wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), cdir.as_ptr(), DIR_MASK) };
        if dir_wd < 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("watching {}: {e}", dir.display()),
            ));
        }
        let place = Place {
            name,
            path,
            dir_wd,
            file_wd: Cell::new(-1),
        };
        place.watch_file(fd);
        Ok(place)
    }

    /// (Re)watches the file now at the path; a missing file is watched once
    /// the directory says one arrived.
    fn watch_file(&self, fd: &OwnedFd) {
        // SAFETY: `path` is a NUL-terminated path; the fd is ours.
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), self.path.as_ptr(), FILE_MASK) };
        let old = self.file_wd.replace(wd.max(-1));
        if old >= 0 && old != wd {
            // The old file was renamed away (an editor's backup): its writes
            // are no longer the config's.
            forget(fd, old);
        }
    }

    /// Another file took (or left) this name in the directory.
    fn replaced_by(&self, ev: &Event) -> bool {
        ev.wd == self.dir_wd && ev.name == self.name.as_bytes()
    }

    /// The file at this name was written; notes when its watch is gone.
    fn written_by(&self, ev: &Event) -> bool {
        if ev.wd != self.file_wd.get() {
            return false;
        }
        if ev.mask & libc::IN_IGNORED != 0 {
            self.file_wd.set(-1);
            return false;
        }
        ev.mask & (libc::IN_MODIFY | libc::IN_CLOSE_WRITE) != 0
    }
}

/// Drops one of our watches; fails harmlessly if it is already gone.
fn forget(fd: &OwnedFd, wd: i32) {
    // SAFETY: no pointers; removes one of our own watches.
    unsafe { libc::inotify_rm_watch(fd.as_raw_fd(), wd) };
}

/// Where a symlink at `path` finally leads (which need not exist: a link
/// made before its target is watched for the target's arrival); `None`
/// when `path` is no symlink, or the links loop.
fn symlink_target(path: &Path) -> Option<PathBuf> {
    let mut at = path.to_path_buf();
    for hops in 0..=MAX_LINKS {
        match std::fs::read_link(&at) {
            Ok(to) if hops < MAX_LINKS => {
                at = match at.parent() {
                    Some(dir) => dir.join(to),
                    None => to,
                };
            }
            Ok(_) => return None,
            Err(_) => return (hops > 0).then_some(at),
        }
    }
    None
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
    fn a_symlinked_config_is_watched_where_it_leads() {
        let d = tmp("link");
        let (home, dots) = (d.0.join("config"), d.0.join("dotfiles"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&dots).unwrap();
        let real = dots.join("rstat.toml");
        std::fs::write(&real, "a = 1").unwrap();
        let file = home.join("config.toml");
        std::os::unix::fs::symlink("../dotfiles/rstat.toml", &file).unwrap();
        let w = Watch::new(&file).unwrap();
        assert!(!w.changed());
        std::fs::write(&real, "a = 2").unwrap();
        assert!(w.changed(), "the target written in place");
        std::fs::write(dots.join("notes.txt"), "x").unwrap();
        assert!(!w.changed(), "another file beside the target");
        // An editor's save of the target: a new file renamed over it.
        let swap = dots.join(".rstat.toml.swp");
        std::fs::write(&swap, "a = 3").unwrap();
        std::fs::rename(&swap, &real).unwrap();
        assert!(w.changed(), "the target renamed over");
        std::fs::write(&real, "a = 4").unwrap();
        assert!(w.changed(), "the new target written in place");
        // The link pointed elsewhere: the old target's edits no longer count.
        let other = dots.join("laptop.toml");
        std::fs::write(&other, "a = 5").unwrap();
        let tmp_link = home.join(".config.toml.new");
        std::os::unix::fs::symlink(&other, &tmp_link).unwrap();
        std::fs::rename(&tmp_link, &file).unwrap();
        assert!(w.changed(), "the link replaced");
        std::fs::write(&other, "a = 6").unwrap();
        assert!(w.changed(), "the new target written");
        std::fs::write(&real, "old").unwrap();
        assert!(!w.changed(), "the old target is no longer the config");
        // A plain file in the link's place: watched as any file.
        std::fs::remove_file(&file).unwrap();
        assert!(w.changed(), "the link removed");
        std::fs::write(&file, "a = 7").unwrap();
        assert!(w.changed(), "a plain file created in its place");
        std::fs::write(&other, "x").unwrap();
        assert!(!w.changed(), "the former target is not the config");
    }

    #[test]
    fn a_link_beside_its_target_and_a_dangling_link_are_followed() {
        let d = tmp("samedir");
        let file = d.0.join("config.toml");
        std::os::unix::fs::symlink("desk.toml", &file).unwrap();
        // The target does not exist yet: its arrival is the config's.
        let w = Watch::new(&file).unwrap();
        std::fs::write(d.0.join("desk.toml"), "a = 1").unwrap();
        assert!(w.changed(), "the dangling link's target created");
        std::fs::write(d.0.join("desk.toml"), "a = 2").unwrap();
        assert!(w.changed(), "the target written");
        // Repointed within the one directory (one inotify watch for both
        // places): the directory stays watched for the link.
        std::fs::write(d.0.join("laptop.toml"), "a = 3").unwrap();
        assert!(!w.changed(), "not the config yet");
        let tmp_link = d.0.join(".config.toml.new");
        std::os::unix::fs::symlink("laptop.toml", &tmp_link).unwrap();
        std::fs::rename(&tmp_link, &file).unwrap();
        assert!(w.changed(), "the link replaced");
        std::fs::write(d.0.join("laptop.toml"), "a = 4").unwrap();
        assert!(w.changed(), "the new target written");
        std::fs::write(d.0.join("desk.toml"), "x").unwrap();
        assert!(!w.changed(), "the old target");
        std::fs::remove_file(&file).unwrap();
        assert!(
            w.changed(),
            "the link removed: its directory is still watched"
        );
    }

    #[test]
    fn symlink_targets_resolve_relative_links_and_refuse_loops() {
        let d = tmp("resolve");
        let a = d.0.join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("sub/c", d.0.join("b")).unwrap();
        assert_eq!(symlink_target(&a), Some(d.0.join("sub/c")));
        assert_eq!(symlink_target(&d.0.join("plain")), None);
        let l = d.0.join("loop");
        std::os::unix::fs::symlink("loop", &l).unwrap();
        assert_eq!(symlink_target(&l), None);
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

//! File-system space by `statvfs`, counted the way `df` counts it.
//!
//! Nothing is kept open: a path is looked up at each read (a `statvfs` is
//! one syscall and never blocks on a local file system), so a file system
//! mounted or unmounted later is seen at the next read.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::Error;

/// One file system's space, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskReading {
    /// The file system's size (`f_blocks`).
    pub total: u64,
    /// In use (`f_blocks - f_bfree`), as `df`'s Used.
    pub used: u64,
    /// Free for unprivileged users (`f_bavail`), as `df`'s Avail.
    pub available: u64,
}

impl DiskReading {
    /// Used as a percentage of what users may fill (`used + available`),
    /// which is how `df` computes Use% (it leaves out the blocks reserved
    /// for root); 0 for a file system without blocks (procfs).
    pub fn percent(&self) -> f64 {
        let room = self.used.saturating_add(self.available);
        if room == 0 {
            0.0
        } else {
            self.used as f64 * 100.0 / room as f64
        }
    }
}

/// One configured path, ready to be `statvfs`ed without allocating.
#[derive(Clone, Debug)]
pub struct DiskPath {
    /// As configured (what `{path}` shows).
    pub shown: String,
    c: CString,
}

impl DiskPath {
    /// `path` as a C string; `None` when it holds a NUL byte.
    pub fn new(path: &str) -> Option<DiskPath> {
        let c = CString::new(Path::new(path).as_os_str().as_bytes()).ok()?;
        Some(DiskPath {
            shown: path.to_string(),
            c,
        })
    }

    /// The space of the file system holding the path. The error is the
    /// bare OS error (allocation-free, so a path that stays missing costs
    /// nothing per read); [`DiskPath::error`] gives it its context.
    pub fn read(&self) -> Result<DiskReading, io::Error> {
        // SAFETY: all-zero bytes are a valid `statvfs` (plain integers).
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is NUL-terminated and `st` is a valid out-pointer.
        let rc = unsafe { libc::statvfs(self.c.as_ptr(), &mut st) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // f_frsize is the unit of the block counts; some old file systems
        // leave it 0 and mean f_bsize.
        let unit = if st.f_frsize != 0 {
            st.f_frsize
        } else {
            st.f_bsize
        } as u64;
        let blocks = st.f_blocks as u64;
        let free = (st.f_bfree as u64).min(blocks);
        Ok(DiskReading {
            total: blocks.saturating_mul(unit),
            used: (blocks - free).saturating_mul(unit),
            available: (st.f_bavail as u64).saturating_mul(unit),
        })
    }

    /// `e`, from [`DiskPath::read`], with the syscall and path.
    pub fn error(&self, e: io::Error) -> Error {
        Error::io(format!("statvfs {}", self.shown), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_missing() {
        let root = DiskPath::new("/").unwrap().read().unwrap();
        assert!(root.total > 0 && root.used <= root.total);
        assert!((0.0..=100.0).contains(&root.percent()));
        let p = DiskPath::new("/no/such/dir").unwrap();
        let e = p.error(p.read().unwrap_err());
        assert!(e.to_string().contains("statvfs /no/such/dir"), "{e}");
        assert!(DiskPath::new("a\0b").is_none());
        assert_eq!(DiskReading::default().percent(), 0.0);
    }
}

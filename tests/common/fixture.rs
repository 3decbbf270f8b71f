//! Fixture trees: a fresh directory per test laid out like `/proc` and
//! `/sys` of some machine, removed on drop.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use rstat::collect::Roots;

/// A fixture root (`ROOT/proc`, `ROOT/sys`) under the target dir.
pub struct Tree(pub PathBuf);

impl Tree {
    /// A new, empty tree; tests run in parallel, so each gets its own directory.
    pub fn new(name: &str) -> Tree {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("{name}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sys")).expect("creating a fixture tree");
        Tree(dir)
    }

    /// Writes `content` at `rel` (relative to the root), creating directories.
    pub fn put(&self, rel: &str, content: &str) {
        let p = self.0.join(rel);
        fs::create_dir_all(p.parent().expect("a file path")).expect("creating fixture dirs");
        fs::write(&p, content).expect("writing a fixture file");
    }

    /// Creates the directory `rel` (relative to the root).
    pub fn mkdir(&self, rel: &str) {
        fs::create_dir_all(self.0.join(rel)).expect("creating a fixture dir");
    }

    /// `ROOT/sys`.
    pub fn sys(&self) -> PathBuf {
        self.0.join("sys")
    }

    /// The roots a collector reads.
    pub fn roots(&self) -> Roots {
        Roots::under(&self.0)
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

//! The procfs collector: a walk of `/proc/PID/{stat,io}` each tick.
//!
//! The fallback for every machine where BPF cannot load, so it is built to be
//! cheap: `/proc` is opened once and listed with `getdents64` into a reused
//! buffer; each process costs one `openat` + `read` + `close` per file, with
//! paths formatted on the stack; per-process state lives in two sorted,
//! pre-allocated vectors swapped each tick (the seed's design). RSS comes from
//! field 24 of `stat` (the same `file + anon + shmem` count `statm` reports),
//! which saves a third file per process.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::parse::{fields, keyed_u64, u64_prefix};
use super::{CollectorKind, Comm, Error, ProcCpu, ProcIo, ProcMem, ProcessSource, Roots, Sample};

/// What one tick knows about one process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    /// Start time in clock ticks since boot: tells a reused pid apart.
    pub start: u64,
    /// utime + stime of all threads, live and exited, in clock ticks.
    pub cpu_ticks: u64,
    pub rss_pages: u64,
    pub name: Comm,
}

/// Parses `/proc/PID/stat`. The name sits between the first `(` and the
/// *last* `)`, because it may itself hold parentheses, spaces or newlines.
pub fn parse_stat(pid: u32, b: &[u8]) -> Option<ProcStat> {
    let open = b.iter().position(|&c| c == b'(')?;
    let close = b.iter().rposition(|&c| c == b')')?;
    if close < open {
        return None;
    }
    let name = Comm::from_bytes(&b[open + 1..close]);
    // Fields after the name, numbered from 3 (`state`) as in proc(5).
    let mut it = fields(&b[close + 1..]);
    let mut get = |skip: usize| it.nth(skip).and_then(u64_prefix);
    let utime = get(11)?; // field 14
    let stime = get(0)?; // 15
    let start = get(6)?; // 22
    let _vsize = get(0)?; // 23
    let rss_pages = get(0)?; // 24
    Some(ProcStat {
        pid,
        start,
        cpu_ticks: utime + stime,
        rss_pages,
        name,
    })
}

/// One process's state kept between ticks.
#[derive(Clone, Copy, Debug, Default)]
struct Record {
    stat: ProcStat,
    /// `read_bytes`, `write_bytes`; `None` when `/proc/PID/io` is not readable
    /// (another user's process without privilege).
    io: Option<(u64, u64)>,
}

/// Per-process figures from `/proc`.
pub struct ProcfsSource {
    dir: OwnedFd,
    dir_path: String,
    dents: Vec<u8>,
    cur: Vec<Record>,
    prev: Vec<Record>,
    file_buf: Box<[u8; 2048]>,
    clk_tck: u64,
    page_size: u64,
    first: bool,
}

impl ProcfsSource {
    /// Opens `/proc` under `roots` for listing.
    pub fn open(roots: &Roots) -> Result<ProcfsSource, Error> {
        let dir = open_dir(&roots.proc)
            .map_err(|e| Error::io(format!("opening {}", roots.proc.display()), e))?;
        // SAFETY: sysconf has no memory-safety preconditions.
        let (clk, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        Ok(ProcfsSource {
            dir,
            dir_path: roots.proc.display().to_string(),
            dents: vec![0; 32 * 1024],
            cur: Vec::with_capacity(4096),
            prev: Vec::with_capacity(4096),
            file_buf: Box::new([0; 2048]),
            clk_tck: u64::try_from(clk).ok().filter(|&c| c > 0).unwrap_or(100),
            page_size: u64::try_from(page).ok().filter(|&p| p > 0).unwrap_or(4096),
            first: true,
        })
    }

    /// Lists `/proc` and reads every process into `self.cur`.
    fn walk(&mut self) -> Result<(), Error> {
        self.cur.clear();
        let fd = self.dir.as_raw_fd();
        // SAFETY: lseek on a directory fd we own; rewinds the listing.
        if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } < 0 {
            return Err(Error::io(
                format!("rewinding {}", self.dir_path),
                io::Error::last_os_error(),
            ));
        }
        loop {
            // SAFETY: the kernel writes at most `dents.len()` bytes into the
            // buffer we own and returns how many it wrote.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    fd,
                    self.dents.as_mut_ptr(),
                    self.dents.len(),
                )
            };
            if n < 0 {
                return Err(Error::io(
                    format!("listing {}", self.dir_path),
                    io::Error::last_os_error(),
                ));
            }
            if n == 0 {
                break;
            }
            let n = n as usize;
            let mut off = 0;
            while off + 19 <= n {
                // linux_dirent64: ino u64, off i64, reclen u16, type u8, name.
                let reclen = u16::from_ne_bytes([self.dents[off + 16], self.dents[off + 17]]);
                let reclen = reclen as usize;
                if reclen == 0 || off + reclen > n {
                    break;
                }
                let name = &self.dents[off + 19..off + reclen];
                let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
                if let Some(pid) = pid_of(name) {
                    if let Some(rec) = read_process(fd, pid, &mut self.file_buf[..]) {
                        self.cur.push(rec);
                    }
                }
                off += reclen;
            }
        }
        // The kernel lists pids in ascending order already; sort only if not.
        if !self.cur.is_sorted_by_key(|r| r.stat.pid) {
            self.cur.sort_unstable_by_key(|r| r.stat.pid);
        }
        Ok(())
    }
}

fn open_dir(p: &Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let mut c = p.as_os_str().as_bytes().to_vec();
    c.push(0);
    // SAFETY: `c` is NUL-terminated and outlives the call.
    let fd = unsafe {
        libc::open(
            c.as_ptr().cast(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A directory name made only of digits is a pid.
fn pid_of(name: &[u8]) -> Option<u32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    u32::try_from(u64_prefix(name)?).ok()
}

/// Opens `PID/FILE` relative to the `/proc` descriptor, path built on the stack.
fn open_at(dir: i32, pid: u32, file: &[u8]) -> Option<File> {
    let mut path = [0u8; 40];
    let mut digits = [0u8; 10];
    let mut n = 0;
    let mut v = pid;
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for i in 0..n {
        path[i] = digits[n - 1 - i];
    }
    path[n] = b'/';
    path[n + 1..n + 1 + file.len()].copy_from_slice(file);
    // path[n + 1 + file.len()] is already the NUL terminator.
    // SAFETY: `path` is NUL-terminated and lives across the call.
    let fd = unsafe { libc::openat(dir, path.as_ptr().cast(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Some(unsafe { File::from_raw_fd(fd) })
}

/// Reads one process. `None` when it vanished mid-walk (or is unreadable):
/// processes come and go, and that is not an error.
fn read_process(dir: i32, pid: u32, buf: &mut [u8]) -> Option<Record> {
    let f = open_at(dir, pid, b"stat")?;
    let n = f.read_at(buf, 0).ok()?;
    let stat = parse_stat(pid, &buf[..n])?;
    drop(f);
    let io = open_at(dir, pid, b"io").and_then(|f| {
        let n = f.read_at(buf, 0).ok()?;
        let b = &buf[..n];
        Some((keyed_u64(b, b"read_bytes")?, keyed_u64(b, b"write_bytes")?))
    });
    Some(Record { stat, io })
}

impl ProcessSource for ProcfsSource {
    fn kind(&self) -> CollectorKind {
        CollectorKind::Procfs
    }

    fn collect(&mut self, elapsed_ns: u64, cores: u32, out: &mut Sample) -> Result<(), Error> {
        self.walk()?;
        out.tasks = self.cur.len() as u32;
        out.top_cpu.clear();
        out.top_mem.clear();
        out.top_io.clear();

        let secs = elapsed_ns as f64 / 1e9;
        let machine_ticks = secs * self.clk_tck as f64 * cores.max(1) as f64;
        for rec in &self.cur {
            let s = &rec.stat;
            let rss = s.rss_pages * self.page_size;
            out.top_mem.offer(
                rss,
                ProcMem {
                    pid: s.pid,
                    name: s.name,
                    rss_bytes: rss,
                },
            );
            if self.first || secs <= 0.0 {
                continue;
            }
            // A process absent last tick (or a reused pid) was born during the
            // interval: everything it has done, it did since then.
            let before = self
                .prev
                .binary_search_by_key(&s.pid, |r| r.stat.pid)
                .ok()
                .map(|i| self.prev[i])
                .filter(|p| p.stat.start == s.start);
            let (cpu0, io0) = match before {
                Some(p) => (p.stat.cpu_ticks, p.io),
                None => (0, Some((0, 0))),
            };
            let dticks = s.cpu_ticks.saturating_sub(cpu0);
            out.top_cpu.offer(
                dticks,
                ProcCpu {
                    pid: s.pid,
                    name: s.name,
                    cpu_percent: (dticks as f64 * 100.0 / machine_ticks) as f32,
                },
            );
            if let (Some((r, w)), Some((r0, w0))) = (rec.io, io0) {
                let (dr, dw) = (r.saturating_sub(r0), w.saturating_sub(w0));
                out.top_io.offer(
                    dr + dw,
                    ProcIo {
                        pid: s.pid,
                        name: s.name,
                        read_bytes_per_s: (dr as f64 / secs) as u64,
                        write_bytes_per_s: (dw as f64 / secs) as u64,
                    },
                );
            }
        }
        self.first = false;
        std::mem::swap(&mut self.cur, &mut self.prev);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &[u8] = b"1234 (a) b) c) S 1 1234 1234 0 -1 4194304 100 0 0 0 \
        250 50 0 0 20 0 3 0 98765 123456789 777 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn stat_with_parens_and_spaces_in_name() {
        let s = parse_stat(1234, STAT).unwrap();
        assert_eq!(s.name.as_bytes(), b"a) b) c");
        assert_eq!(s.cpu_ticks, 300);
        assert_eq!(s.start, 98765);
        assert_eq!(s.rss_pages, 777);
    }

    #[test]
    fn stat_with_newline_quote_and_invalid_utf8() {
        let mut b =
            b"7 (x\n\"\xff\\) R 1 7 7 0 -1 0 0 0 0 0 5 6 0 0 20 0 1 0 42 1000 9 0\n".to_vec();
        let s = parse_stat(7, &b).unwrap();
        assert_eq!(s.name.as_bytes(), b"x\n\"\xff\\");
        assert_eq!((s.cpu_ticks, s.start, s.rss_pages), (11, 42, 9));
        b.truncate(20);
        assert!(parse_stat(7, &b).is_none());
        assert!(parse_stat(7, b"garbage").is_none());
        assert!(parse_stat(7, b") (").is_none());
    }

    #[test]
    fn pid_names() {
        assert_eq!(pid_of(b"1"), Some(1));
        assert_eq!(pid_of(b"4194304"), Some(4194304));
        assert_eq!(pid_of(b"self"), None);
        assert_eq!(pid_of(b""), None);
        assert_eq!(pid_of(b"99999999999"), None);
    }
}

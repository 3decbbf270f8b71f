//! The task-iterator collector: nothing of ours runs between ticks.
//!
//! Each tick makes one iterator from the held link (`BPF_ITER_CREATE`) and
//! `read()`s it to the end. Inside those reads the kernel walks every task
//! of our pid namespace and runs `dump_task` (probe.bpf.c) once per thread;
//! the program appends a packed record: 32 bytes for a thread (ids, its
//! exact runtime and IO bytes), 56 for a thread-group leader (the same,
//! plus its process's dead threads' totals from `signal_struct`, the
//! resident pages and the name). We fold threads into processes here, in
//! buffers sized at start: the steady state allocates nothing.
//!
//! Why not fold in the kernel: the iterator visits every thread anyway
//! (there is no "leaders only" task walk), so the kernel-side cost is paid
//! per thread regardless; folding there would need a walk of each leader's
//! thread list (loops and subprograms the loader does not support) only to
//! save 32 bytes of copy per extra thread.
//!
//! What the figures are: CPU from `se.sum_exec_runtime`, the scheduler's
//! exact ns count (a thread running on another CPU right now lags by at most
//! one scheduler tick); RSS and IO as of the read. System CPU is left to
//! `/proc/stat`, which [`super::super::system`] reads through a kept
//! descriptor every tick anyway (one `pread`, about 6 µs): it counts tasks
//! that came and went between two ticks, with no per-switch or per-exit hook
//! at all.
//!
//! Privilege: creating an iterator from a held link checks no capability on
//! Linux >= 6.5 (see [`syscall::iter_create`]), so this keeps working after
//! `privilege::drop_privileges(false)`; tests/iter_privilege.rs checks it.

use std::os::fd::{AsRawFd, OwnedFd};

use super::super::{CollectorKind, Comm, Error, ProcCpu, ProcIo, ProcMem, ProcessSource, Sample};
use super::loader::Loaded;
use super::source::{ProbeStats, ProcessTotals};
use super::syscall;

/// The iterator program's name in probe.bpf.c.
pub const PROGRAM: &str = "dump_task";

/// `struct iter_thread` in probe.bpf.c.
const THREAD_REC: usize = 32;
/// `struct iter_leader`: a thread record, resident pages, name.
const LEADER_REC: usize = THREAD_REC + 8 + 16;

/// Bytes per `read()`. The kernel fills at most its seq_file buffer (eight
/// pages) per call; a larger buffer only wastes memory.
const READ_BUF: usize = 64 * 1024;

/// Threads and processes the buffers hold before they must grow: a desktop
/// has a few thousand; past this, the first larger tick allocates once.
const START_THREADS: usize = 16384;

/// One record as read.
#[derive(Clone, Copy, Debug, Default)]
struct Row {
    tgid: u32,
    cpu_ns: u64,
    read_bytes: u64,
    write_bytes: u64,
    /// Leader rows only.
    rss_pages: u64,
    comm: [u8; 16],
    leader: bool,
}

/// A process's cumulative counters at the last tick (high-water marks, as
/// in the `bpf` collector: a thread exiting mid-walk can make a total dip
/// for one tick, and the recovery must not count twice).
#[derive(Clone, Copy, Debug, Default)]
struct ProcState {
    tgid: u32,
    cpu_ns: u64,
    read_bytes: u64,
    write_bytes: u64,
    rss_pages: u64,
}

/// The task-iterator collector. Dropping it closes the link.
pub struct IterSource {
    link: OwnedFd,
    probe: Loaded,
    buf: Vec<u8>,
    rows: Vec<Row>,
    /// `(tgid << 32) | row index`, sorted to group threads.
    order: Vec<u64>,
    prev: Vec<ProcState>,
    cur: Vec<ProcState>,
    page_size: u64,
    reads: u32,
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(w)
}

impl IterSource {
    /// Wraps a loaded, attached iterator program; allocates every buffer.
    pub fn new(probe: Loaded) -> Result<IterSource, Error> {
        let link = probe
            .link(PROGRAM)?
            .try_clone()
            .map_err(|e| Error::io("duplicating the iterator link fd", e))?;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Ok(IterSource {
            link,
            probe,
            buf: vec![0u8; READ_BUF],
            rows: Vec::with_capacity(START_THREADS),
            order: Vec::with_capacity(START_THREADS),
            prev: Vec::with_capacity(START_THREADS),
            cur: Vec::with_capacity(START_THREADS),
            page_size: if page > 0 { page as u64 } else { 4096 },
            reads: 0,
        })
    }

    /// Run time and count of the iterator program so far (the kernel counts
    /// them while BPF stats are enabled). It runs inside our `read()`, so
    /// this time is already part of the tick's own time.
    pub fn probe_stats(&self) -> Result<ProbeStats, Error> {
        let mut s = ProbeStats::default();
        for p in &self.probe.progs {
            let (t, n) = syscall::prog_run_stats(&p.fd)
                .map_err(|e| Error::io(format!("bpf(BPF_OBJ_GET_INFO_BY_FD) for {}", p.name), e))?;
            s.run_time_ns += t;
            s.run_cnt += n;
        }
        Ok(s)
    }

    /// Threads seen by the last walk.
    pub fn threads_seen(&self) -> usize {
        self.rows.len()
    }

    /// `read()` calls the last walk took.
    pub fn reads_per_walk(&self) -> u32 {
        self.reads
    }

    /// The cumulative figures of process `tgid` as of the last `collect`.
    pub fn process(&self, tgid: u32) -> Option<ProcessTotals> {
        let i = self.prev.binary_search_by_key(&tgid, |p| p.tgid).ok()?;
        let p = self.prev[i];
        Some(ProcessTotals {
            cpu_ns: p.cpu_ns,
            read_bytes: p.read_bytes,
            write_bytes: p.write_bytes,
            rss_bytes: p.rss_pages * self.page_size,
        })
    }

    /// Walks every task once: fills `rows`.
    fn walk(&mut self) -> Result<(), Error> {
        self.rows.clear();
        self.reads = 0;
        let it = syscall::iter_create(&self.link)
            .map_err(|e| Error::io("bpf(BPF_ITER_CREATE) on the task iterator", e))?;
        // Records never straddle reads today (the kernel hands out whole
        // seq_file buffers), but a partial tail is carried over anyway.
        let mut have = 0usize;
        loop {
            let room = &mut self.buf[have..];
            // SAFETY: reads into the free part of our buffer, which is valid
            // for writes of `room.len()` bytes; the fd is ours.
            let n = unsafe {
                libc::read(
                    it.as_raw_fd(),
                    room.as_mut_ptr() as *mut libc::c_void,
                    room.len(),
                )
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::io("reading the task iterator", e));
            }
            self.reads += 1;
            if n == 0 {
                break;
            }
            have += n as usize;
            let used = Self::parse(&self.buf[..have], &mut self.rows);
            self.buf.copy_within(used..have, 0);
            have -= used;
        }
        if have != 0 {
            return Err(Error::msg(format!(
                "task iterator: {have} stray bytes at the end: probe.bpf.c and iter.rs disagree"
            )));
        }
        Ok(())
    }

    /// Parses whole records from `b` into `rows`; returns the bytes used.
    fn parse(b: &[u8], rows: &mut Vec<Row>) -> usize {
        let mut at = 0usize;
        while b.len() - at >= THREAD_REC {
            let tgid = u32_at(b, at);
            let pid = u32_at(b, at + 4);
            let leader = pid == tgid;
            let len = if leader { LEADER_REC } else { THREAD_REC };
            if b.len() - at < len {
                break;
            }
            let mut r = Row {
                tgid,
                cpu_ns: u64_at(b, at + 8),
                read_bytes: u64_at(b, at + 16),
                write_bytes: u64_at(b, at + 24),
                leader,
                ..Row::default()
            };
            if leader {
                r.rss_pages = u64_at(b, at + 32);
                r.comm.copy_from_slice(&b[at + 40..at + 56]);
            }
            // Grows only past START_THREADS threads (then stays grown).
            rows.push(r);
            at += len;
        }
        at
    }
}

impl ProcessSource for IterSource {
    fn kind(&self) -> CollectorKind {
        CollectorKind::Iter
    }

    fn bpf_stats(&self) -> Option<Result<ProbeStats, Error>> {
        Some(self.probe_stats())
    }

    fn bpf_runs_in_tick(&self) -> bool {
        true
    }

    fn collect(&mut self, elapsed_ns: u64, cores: u32, out: &mut Sample) -> Result<(), Error> {
        self.walk()?;
        let cores = if cores == 0 { 1 } else { cores } as u64;
        let span = elapsed_ns.saturating_mul(cores);

        self.order.clear();
        for (i, r) in self.rows.iter().enumerate() {
            self.order.push(((r.tgid as u64) << 32) | i as u64);
        }
        self.order.sort_unstable();

        out.top_cpu.clear();
        out.top_mem.clear();
        out.top_io.clear();
        self.cur.clear();
        let mut tasks = 0u32;
        let mut j = 0usize;
        let mut i = 0usize;
        while i < self.order.len() {
            let tgid = (self.order[i] >> 32) as u32;
            let mut total = ProcState {
                tgid,
                ..ProcState::default()
            };
            let mut leader: Option<&Row> = None;
            while i < self.order.len() && (self.order[i] >> 32) as u32 == tgid {
                let r = &self.rows[(self.order[i] & 0xffff_ffff) as usize];
                i += 1;
                total.cpu_ns = total.cpu_ns.wrapping_add(r.cpu_ns);
                total.read_bytes = total.read_bytes.wrapping_add(r.read_bytes);
                total.write_bytes = total.write_bytes.wrapping_add(r.write_bytes);
                if r.leader {
                    total.rss_pages = r.rss_pages;
                    leader = Some(r);
                }
            }
            // No leader: the whole process exited while the walk was between
            // its threads. It is gone; the next tick will not see it either.
            let Some(leader) = leader else {
                continue;
            };
            tasks += 1;
            while j < self.prev.len() && self.prev[j].tgid < tgid {
                j += 1;
            }
            let before = self.prev.get(j).filter(|p| p.tgid == tgid).copied();
            let (d_cpu, d_rb, d_wb, kept) = match before {
                Some(p) => (
                    total.cpu_ns.saturating_sub(p.cpu_ns),
                    total.read_bytes.saturating_sub(p.read_bytes),
                    total.write_bytes.saturating_sub(p.write_bytes),
                    ProcState {
                        tgid,
                        cpu_ns: total.cpu_ns.max(p.cpu_ns),
                        read_bytes: total.read_bytes.max(p.read_bytes),
                        write_bytes: total.write_bytes.max(p.write_bytes),
                        rss_pages: total.rss_pages,
                    },
                ),
                // New since the last tick: all it did happened in this
                // interval (a first tick has no interval: zero).
                None if elapsed_ns > 0 => (
                    total.cpu_ns.min(span),
                    total.read_bytes,
                    total.write_bytes,
                    total,
                ),
                None => (0, 0, 0, total),
            };
            // Grows only past START_THREADS processes.
            self.cur.push(kept);
            let name = Comm::from_bytes(&leader.comm);
            let rss = total.rss_pages * self.page_size;
            out.top_mem.offer(
                rss,
                ProcMem {
                    pid: tgid,
                    name,
                    rss_bytes: rss,
                },
            );
            if elapsed_ns == 0 {
                continue;
            }
            let d_cpu = d_cpu.min(span);
            out.top_cpu.offer(
                d_cpu,
                ProcCpu {
                    pid: tgid,
                    name,
                    cpu_percent: (d_cpu as f64 * 100.0 / span as f64) as f32,
                },
            );
            let per_s = |d: u64| (d as u128 * 1_000_000_000 / elapsed_ns as u128) as u64;
            let (r, w) = (per_s(d_rb), per_s(d_wb));
            out.top_io.offer(
                r.saturating_add(w),
                ProcIo {
                    pid: tgid,
                    name,
                    read_bytes_per_s: r,
                    write_bytes_per_s: w,
                },
            );
        }
        out.tasks = tasks;
        std::mem::swap(&mut self.prev, &mut self.cur);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(tgid: u32, pid: u32, cpu: u64) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&tgid.to_ne_bytes());
        v.extend_from_slice(&pid.to_ne_bytes());
        v.extend_from_slice(&cpu.to_ne_bytes());
        v.extend_from_slice(&7u64.to_ne_bytes());
        v.extend_from_slice(&9u64.to_ne_bytes());
        v
    }

    #[test]
    fn parses_both_record_sizes_and_keeps_a_partial_tail() {
        let mut b = thread(10, 10, 100);
        b.extend_from_slice(&5u64.to_ne_bytes());
        b.extend_from_slice(b"bash\0\0\0\0\0\0\0\0\0\0\0\0");
        b.extend_from_slice(&thread(10, 11, 50));
        b.extend_from_slice(&thread(12, 12, 1)[..20]);
        let mut rows = Vec::new();
        let used = IterSource::parse(&b, &mut rows);
        assert_eq!(used, LEADER_REC + THREAD_REC);
        assert_eq!(rows.len(), 2);
        assert!(rows[0].leader && !rows[1].leader);
        assert_eq!((rows[0].rss_pages, rows[0].cpu_ns), (5, 100));
        assert_eq!(&rows[0].comm[..4], b"bash");
        assert_eq!(
            (rows[1].tgid, rows[1].cpu_ns, rows[1].write_bytes),
            (10, 50, 9)
        );
    }
}

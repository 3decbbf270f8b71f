//! The task-iterator collector: nothing of ours runs between ticks.
//!
//! Each tick makes one iterator from the held link (`BPF_ITER_CREATE`) and
//! `read()`s it to the end; our program runs inside that read. Two ways,
//! the cheaper one first:
//!
//! - **One-pass walk** (Linux 6.7+, `walk_tasks`): the link names a single
//!   task (our own main thread), so the program runs once per read, and it
//!   walks every thread itself with the open-coded task iterator kfuncs
//!   (`bpf_iter_task_new(ALL_THREADS)`: the task list under RCU, no
//!   references taken), writing one 56-byte record per thread into an
//!   mmap-able array that we read in place. The loader resolves the kfunc
//!   calls against the kernel's BTF.
//! - **Per-task iterator** (Linux 5.8+, `dump_task`): the kernel's
//!   `iter/task` walk calls the program once per thread, and each call
//!   appends a packed record to the read's output: 32 bytes for a thread
//!   (ids, exact runtime, IO bytes), 56 for a thread-group leader (plus the
//!   process's dead threads' totals from `signal_struct`, resident pages,
//!   name). Measured here with ~420 threads, the walk itself (an IDR lookup
//!   and a reference per thread) is two thirds of its cost: 311 of 482 µs
//!   per tick cold with an empty program; the one-pass walk does the whole
//!   job in ~150 µs cold, ~35 µs warm.
//!
//! Records of both ways share a layout (thread records of the one-pass walk
//! are full-size with stale leader fields). Threads fold into processes
//! here, in buffers sized at start: the steady state allocates nothing.
//! Folding in the kernel would need a nested per-process thread loop for a
//! saving of one 56-byte record per extra thread; not worth the verifier
//! risk.
//!
//! What the figures are: CPU from `se.sum_exec_runtime`, the scheduler's
//! exact ns count (a thread running on another CPU right now lags by at most
//! one scheduler tick); RSS and IO as of the read.
//!
//! System CPU is left to the root cgroup's `cpu.stat` (else `/proc/stat`),
//! which [`super::super::system`] reads through a kept descriptor every tick
//! for every collector: it counts
//! tasks that came and went between two ticks (they never appear in a
//! walk), with no hook at all. Measured here (tests/iter_perf.rs): one
//! `pread` of it costs 36 µs cold at a 1 s tick, 12 µs warm. The
//! alternative, summing the walked runtimes plus a `sched_process_exit`
//! hook adding each exiting task's runtime to a per-CPU counter, would save
//! that read only if the sampler stopped making it, and costs per exit what
//! a raw tracepoint program costs per event here (≈ 0.3–1 µs): it breaks
//! even at roughly 40–120 exits a second, which a busy build exceeds. Not
//! worth a second program and a second source of truth.
//!
//! Privilege: creating an iterator from a held link checks no capability on
//! Linux >= 6.5 (see [`syscall::iter_create`]), so this keeps working after
//! `privilege::drop_privileges(false)`; tests/iter_privilege.rs checks it.

use std::os::fd::{AsRawFd, OwnedFd};

use super::super::{CollectorKind, Comm, Error, ProcessSource, Sample};
use super::fold::{self, ProcState, Tick};
use super::loader::Loaded;
use super::source::{ProbeStats, ProcessTotals};
use super::syscall::{self, Mmap};

/// The per-task iterator program in probe.bpf.c (any kernel since 5.8).
pub const PROGRAM: &str = "dump_task";
/// The one-pass walk program (Linux 6.7+: open-coded task iterators).
pub const WALK_PROGRAM: &str = "walk_tasks";

/// `struct walk_meta` in probe.bpf.c.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
struct WalkMeta {
    n: u32,
    dropped: u32,
    walks: u64,
}

/// How the records reach us.
enum Mode {
    /// `walk_tasks` wrote them into a shared array, read in place.
    Walk {
        /// The used prefix of `walk_out` (see [`Mmap`]): grown by `walk`
        /// when a walk writes past it.
        out: Mmap,
        /// `walk_out` itself, to map it again larger.
        out_fd: OwnedFd,
        meta: Mmap,
        max: u32,
        walks: u64,
    },
    /// `dump_task` appended them to the iterator's `read()` output.
    Records,
}

/// `struct iter_thread` in probe.bpf.c.
const THREAD_REC: usize = 32;
/// `struct iter_leader`: a thread record, resident pages, name.
const LEADER_REC: usize = THREAD_REC + 8 + 16;

/// Bytes per `read()`. The kernel fills at most its seq_file buffer (eight
/// pages) per call; a larger buffer only wastes memory.
const READ_BUF: usize = 64 * 1024;

/// Records the one-pass walk's table holds at first (`WALK_MAX` in
/// probe.bpf.c); it grows when a walk finds more threads.
pub const START_RECORDS: u32 = 32768;

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

/// The task-iterator collector. Dropping it closes the link.
pub struct IterSource {
    link: OwnedFd,
    mode: Mode,
    dropped: u32,
    /// The probe object, to load the walk again with a larger table.
    object: &'static [u8],
    /// The most records the walk's table grows to ([`super::thread_limit`]).
    limit: u32,
    /// What to say once on stderr; `noticed`: said already.
    notice: Option<String>,
    noticed: bool,
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
    /// Loads the cheapest walk this kernel supports: the one-pass walk,
    /// else the per-task iterator. The error is the per-task one's (the
    /// older, wider requirement).
    pub fn open(object: &'static [u8]) -> Result<IterSource, Error> {
        match Self::open_walk(object) {
            Ok(s) => Ok(s),
            Err(_) => Self::open_records(object),
        }
    }

    /// The one-pass walk (`walk_tasks`), Linux 6.7+.
    ///
    /// Its link names one thread, our own main thread (whose tid is our
    /// pid): the iterator then offers exactly that task, so the program runs
    /// once per walk, and the anchor exists for as long as we do (a leader
    /// that exits before its threads stays as a zombie until they are gone).
    /// Pid 1 would seem the obvious anchor, but this 6.18 kernel's
    /// single-thread task iterator offers it no task at all.
    pub fn open_walk(object: &'static [u8]) -> Result<IterSource, Error> {
        Self::open_walk_sized(object, START_RECORDS)
    }

    /// Like [`IterSource::open_walk`], with room for `records` threads per
    /// walk to start with (the table grows when a walk finds more).
    pub fn open_walk_sized(object: &'static [u8], records: u32) -> Result<IterSource, Error> {
        let mut probe = super::loader::load_sized(
            object,
            Some(&[WALK_PROGRAM]),
            &[("walk_out", records.max(1))],
        )?;
        // SAFETY: getpid has no preconditions and cannot fail.
        let anchor = unsafe { libc::getpid() } as u32;
        probe.attach_task_iter(WALK_PROGRAM, anchor)?;
        let rec = std::mem::size_of::<[u8; LEADER_REC]>();
        let out = probe.map("walk_out", 4, rec)?;
        let max = out.def.max_entries;
        let out_fd = out
            .fd
            .try_clone()
            .map_err(|e| Error::io("duplicating the fd of map \"walk_out\"", e))?;
        // Only a prefix: mapping all of it would make every page resident
        // (1.8 MB for 32768 records, where a desktop's ~430 threads use
        // 24 KB). `walk` maps more once a walk needs it.
        let out = Mmap::new(&out_fd, Mmap::prefix_len(0, max as usize * rec))
            .map_err(|e| Error::io("mapping map \"walk_out\"", e))?;
        let meta = probe.map("walk_meta", 4, std::mem::size_of::<WalkMeta>())?;
        let meta = Mmap::new(&meta.fd, std::mem::size_of::<WalkMeta>())
            .map_err(|e| Error::io("mapping map \"walk_meta\"", e))?;
        Self::new(
            object,
            probe,
            WALK_PROGRAM,
            Mode::Walk {
                out,
                out_fd,
                meta,
                max,
                walks: 0,
            },
        )
    }

    /// The per-task iterator (`dump_task`), Linux 5.8+.
    pub fn open_records(object: &'static [u8]) -> Result<IterSource, Error> {
        let mut probe = super::loader::load_only(object, Some(&[PROGRAM]))?;
        probe.attach()?;
        Self::new(object, probe, PROGRAM, Mode::Records)
    }

    /// Wraps a loaded, attached iterator program; allocates every buffer.
    /// Before the first read, tells the program which tasks this user may
    /// see (see [`visibility`](super::visibility)).
    fn new(
        object: &'static [u8],
        probe: Loaded,
        program: &str,
        mode: Mode,
    ) -> Result<IterSource, Error> {
        use super::visibility::{self, Visibility};
        let vis = probe.map("visible", 4, std::mem::size_of::<Visibility>())?;
        visibility::apply(&vis.fd, &visibility::current()?)?;
        let link = probe
            .link(program)?
            .try_clone()
            .map_err(|e| Error::io("duplicating the iterator link fd", e))?;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Ok(IterSource {
            link,
            mode,
            dropped: 0,
            object,
            limit: super::thread_limit(),
            notice: None,
            noticed: false,
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

    /// Whether this is the one-pass walk (else the per-task iterator).
    pub fn one_pass(&self) -> bool {
        matches!(self.mode, Mode::Walk { .. })
    }

    /// Threads the last one-pass walk had no room for.
    pub fn dropped(&self) -> u32 {
        self.dropped
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
            if matches!(self.mode, Mode::Walk { .. }) {
                return Err(Error::msg(
                    "task walk: the one-pass program wrote to the iterator",
                ));
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
        if let Mode::Walk {
            out,
            out_fd,
            meta,
            max,
            walks,
        } = &mut self.mode
        {
            // SAFETY: the mapping holds one WalkMeta, page-aligned, alive
            // as long as self; only our own walk (finished: the read
            // returned) writes it.
            let m = unsafe { std::ptr::read_volatile(meta.as_ptr() as *const WalkMeta) };
            if m.walks == *walks {
                return Err(Error::msg("task walk: the program did not run"));
            }
            *walks = m.walks;
            self.dropped = m.dropped;
            let n = (m.n.min(*max) as usize) * LEADER_REC;
            if n > out.len() {
                // More threads than the mapped prefix holds (rare: once
                // after start-up on a busy machine, or when the thread
                // count grows by half). The records are in the map
                // already; map enough of it to read them. No heap use.
                let len = Mmap::prefix_len(n, *max as usize * LEADER_REC);
                out.remap(out_fd, len)
                    .map_err(|e| Error::io("mapping map \"walk_out\" again, larger", e))?;
            }
            let n = n.min(out.len());
            // SAFETY: `n` bytes lie inside the mapping (checked above), which
            // nothing writes until our next read().
            let bytes = unsafe { std::slice::from_raw_parts(out.as_ptr(), n) };
            let mut at = 0;
            while at + LEADER_REC <= bytes.len() {
                Self::push_row(&bytes[at..at + LEADER_REC], &mut self.rows);
                at += LEADER_REC;
            }
        }
        if self.dropped > 0 && !self.noticed && self.grow() {
            // The same tick walks again, with room for every thread.
            return self.walk();
        }
        Ok(())
    }

    /// Room in the walk's table for the table's capacity in threads (the
    /// one-pass walk only).
    pub fn capacity(&self) -> Option<u32> {
        match self.mode {
            Mode::Walk { max, .. } => Some(max),
            Mode::Records => None,
        }
    }

    /// A walk found more threads than the table holds: loads the walk
    /// again with a table twice as large (up to [`super::thread_limit`]).
    /// False when it cannot, which is said once.
    fn grow(&mut self) -> bool {
        let Mode::Walk { max, .. } = self.mode else {
            return false;
        };
        if max >= self.limit {
            self.say(format!(
                "the iter collector records at most {max} threads per walk (the kernel's pid_max and threads-max); {} threads past that are not counted",
                self.dropped
            ));
            return false;
        }
        let n = max.saturating_mul(2).min(self.limit);
        match Self::open_walk_sized(self.object, n) {
            Ok(fresh) => {
                // The old link and program go as they are replaced.
                self.link = fresh.link;
                self.mode = fresh.mode;
                self.probe = fresh.probe;
                true
            }
            Err(e) => {
                self.say(format!(
                    "the iter collector could not grow its table past {max} threads ({e}); threads past that are not counted"
                ));
                false
            }
        }
    }

    fn say(&mut self, what: String) {
        if !self.noticed {
            self.noticed = true;
            self.notice = Some(what);
        }
    }

    /// One fixed-size record of the one-pass walk: a leader record's
    /// layout, whose leader-only fields are stale in thread records.
    fn push_row(b: &[u8], rows: &mut Vec<Row>) {
        let tgid = u32_at(b, 0);
        let leader = u32_at(b, 4) == tgid;
        let mut r = Row {
            tgid,
            cpu_ns: u64_at(b, 8),
            read_bytes: u64_at(b, 16),
            write_bytes: u64_at(b, 24),
            leader,
            ..Row::default()
        };
        if leader {
            r.rss_pages = u64_at(b, 32);
            r.comm.copy_from_slice(&b[40..56]);
        }
        rows.push(r);
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

    fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    fn collect(&mut self, elapsed_ns: u64, cores: u32, out: &mut Sample) -> Result<(), Error> {
        self.walk()?;
        let cores = if cores == 0 { 1 } else { cores } as u64;
        let span = elapsed_ns.saturating_mul(cores);
        let tick = Tick {
            elapsed_ns,
            span,
            page_size: self.page_size,
        };

        self.order.clear();
        let mut sorted = true;
        let mut last = 0u64;
        for (i, r) in self.rows.iter().enumerate() {
            let key = ((r.tgid as u64) << 32) | i as u64;
            sorted &= key >= last;
            last = key;
            self.order.push(key);
        }
        // The one-pass walk lists each process's threads together, in
        // process-creation order: already sorted until pids wrap around.
        if !sorted {
            self.order.sort_unstable();
        }

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
            // The idle task (pid 0, "swapper") is where the one-pass walk
            // starts; /proc does not list it and it is not a process.
            if tgid == 0 {
                continue;
            }
            tasks += 1;
            let before = fold::previous(&self.prev, &mut j, tgid);
            let kept = fold::account(total, before, Comm::from_bytes(&leader.comm), &tick, out);
            // Grows only past START_THREADS processes.
            self.cur.push(kept);
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

//! The eBPF `ProcessSource`: each tick, a copy of the used slots out of the
//! shared mapping (no syscall) and one lookup of the per-CPU array, folded
//! into per-process figures with buffers allocated at start (the steady
//! state allocates nothing).
//!
//! Conventions: threads fold into their process (TGID); `cpu_percent` is a
//! share of the whole machine (all cores = 100%), like the system figure;
//! `tasks` counts processes. System CPU is overwritten with the probe's
//! per-CPU busy time, which keeps the CPU of processes that started and
//! exited between two ticks.

use super::super::{CollectorKind, Comm, Error, ProcessSource, Sample};
use super::fold::{self, ProcState, Tick};
use super::loader::Loaded;
use std::os::fd::OwnedFd;

use super::maps::{CpuMap, CpuState, Meta, ReadMode, TaskMap, TaskStat};
use super::syscall;
use super::visibility::{self, Visibility};

/// Cumulative figures of one process, as of the last `collect`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcessTotals {
    /// On-CPU time of all its threads, live and dead, in nanoseconds.
    pub cpu_ns: u64,
    /// Storage-layer bytes, as `/proc/PID/io`.
    pub read_bytes: u64,
    pub write_bytes: u64,
    /// Resident set (file + anon + shmem), approximate (`percpu_counter`).
    pub rss_bytes: u64,
}

/// The probe's own cost so far (`kernel.bpf_stats_enabled` must be 1 for
/// the kernel to count it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeStats {
    pub run_time_ns: u64,
    pub run_cnt: u64,
}

/// The eBPF collector. Dropping it detaches the probe.
pub struct BpfSource {
    tasks: TaskMap,
    cpus: CpuMap,
    // Declared last: the maps above are read through fds the programs also
    // hold, and the programs detach when this drops.
    probe: Loaded,
    /// `(tgid << 32) | index into the read values`, sorted to group threads.
    order: Vec<u64>,
    /// Sorted by tgid; `prev` is last tick's, `cur` is being built.
    prev: Vec<ProcState>,
    cur: Vec<ProcState>,
    /// Threads on a CPU right now: (tid, ns since switched in).
    running: Vec<(u32, u64)>,
    /// CPUs online at start, by number: one of them the probe has not yet
    /// seen switch keeps system CPU at `/proc/stat`'s figure.
    online: Vec<bool>,
    prev_busy: Option<u64>,
    page_size: u64,
    /// The most slots the tables grow to (see [`super::thread_limit`]).
    limit: u32,
    /// What to say once on stderr (the tables hit `limit`, or could not grow).
    notice: Option<String>,
    /// `notice` has been set once: never again.
    noticed: bool,
}

fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes into the timespec we own; CLOCK_MONOTONIC is what
    // bpf_ktime_get_ns() reads, so the two can be subtracted.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl BpfSource {
    /// Wraps a loaded probe: finds its maps, tells the probe which tasks
    /// this user may see (see [`visibility`]) and allocates every buffer a
    /// tick will need.
    pub fn new(probe: Loaded, ncpu: usize) -> Result<BpfSource, Error> {
        let dup = |name: &str, key: usize, value: usize| -> Result<OwnedFd, Error> {
            probe
                .map(name, key, value)?
                .fd
                .try_clone()
                .map_err(|e| Error::io(format!("duplicating the fd of map {name:?}"), e))
        };
        let stat = std::mem::size_of::<TaskStat>();
        let max = probe.map("slots", 4, stat)?.def.max_entries;
        let tasks = TaskMap::new(
            dup("slots", 4, stat)?,
            dup("slot_of", 4, 4)?,
            dup("free_slots", 0, 4)?,
            dup("meta", 4, std::mem::size_of::<Meta>())?,
            max,
        );
        let cpus_fd = dup("cpus", 4, std::mem::size_of::<CpuState>())?;
        let vis = probe.map("visible", 4, std::mem::size_of::<Visibility>())?;
        visibility::apply(&vis.fd, &visibility::current()?)?;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Ok(BpfSource {
            tasks,
            cpus: CpuMap::new(cpus_fd, ncpu),
            probe,
            order: Vec::with_capacity(max as usize),
            prev: Vec::with_capacity(max as usize),
            cur: Vec::with_capacity(max as usize),
            running: Vec::with_capacity(ncpu),
            online: super::cpus::online(ncpu),
            prev_busy: None,
            page_size: if page > 0 { page as u64 } else { 4096 },
            limit: super::thread_limit().max(max),
            notice: None,
            noticed: false,
        })
    }

    /// The task map (the start-up walk inserts through it).
    pub(super) fn task_map(&self) -> &TaskMap {
        &self.tasks
    }

    /// Attaches the probe's programs.
    pub(super) fn attach(&mut self) -> Result<(), Error> {
        self.probe.attach()
    }

    /// This source with its tables growing to at most `limit` threads
    /// (never below what they hold now) instead of [`super::thread_limit`].
    pub(super) fn limited(mut self, limit: u32) -> BpfSource {
        self.limit = limit.max(self.tasks.capacity());
        self
    }

    /// Threads the task tables hold at once (they grow when full).
    pub fn capacity(&self) -> u32 {
        self.tasks.capacity()
    }

    /// The probe found no free slot for some thread: loads it again with
    /// tables twice as large (up to [`super::thread_limit`]), seeded from
    /// `/proc` like at start, and carries the per-process baselines over so
    /// rates go on. The busy counters start again: this tick's system CPU
    /// stays `/proc/stat`'s. Where it cannot grow, it says so once and goes
    /// on with the threads it has.
    fn grow(&mut self) -> Result<(), Error> {
        let max = self.tasks.capacity();
        if max >= self.limit {
            self.say(format!(
                "the bpf collector tracks at most {max} threads (the kernel's pid_max and threads-max); threads past that are not counted (--collector iter counts them all)"
            ));
            return Ok(());
        }
        let n = max.saturating_mul(2).min(self.limit);
        let mut fresh = match super::open_bpf_sized(n) {
            Ok(f) => f,
            Err(e) => {
                self.say(format!(
                    "the bpf collector could not grow past {max} threads ({e}); threads past that are not counted"
                ));
                return Ok(());
            }
        };
        let mut prev = std::mem::take(&mut self.prev);
        prev.reserve((n as usize).saturating_sub(prev.len()));
        fresh.prev = prev;
        fresh.noticed = self.noticed;
        fresh.limit = self.limit;
        fresh.force_read_mode(self.tasks.mode());
        // The old probe detaches as it drops.
        *self = fresh;
        self.tasks.read()
    }

    fn say(&mut self, what: String) {
        if !self.noticed {
            self.noticed = true;
            self.notice = Some(what);
        }
    }

    /// One past the highest slot ever used: stays near the peak number of
    /// live threads when exits free their slots for reuse.
    pub fn slot_high_water(&self) -> Result<u32, Error> {
        Ok(self.tasks.meta()?.next_slot)
    }

    /// Threads the probe could not track since start (all slots taken).
    pub fn dropped(&self) -> Result<u32, Error> {
        Ok(self.tasks.meta()?.dropped)
    }

    /// Thread ids in the task map as of the last `collect`.
    pub fn thread_ids(&self) -> &[u32] {
        self.tasks.keys()
    }

    /// How the last reads were done.
    pub fn read_mode(&self) -> ReadMode {
        self.tasks.mode()
    }

    /// Makes later reads take a slower path (to test the fallbacks).
    pub fn force_read_mode(&mut self, mode: ReadMode) {
        self.tasks.force_mode(mode);
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

    /// Run time and count summed over the probe's programs.
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

    /// Busy time of all CPUs so far, crediting each CPU's current task with
    /// the time since it was switched in (it is only accounted when it
    /// switches out). Fills `running`. `None` while an online CPU has not
    /// switched since the probe attached: its busy time is unknown.
    fn busy_ns(
        cpus: &[CpuState],
        online: &[bool],
        now: u64,
        running: &mut Vec<(u32, u64)>,
    ) -> Option<u64> {
        running.clear();
        let mut busy = 0u64;
        let mut known = true;
        for (i, c) in cpus.iter().enumerate() {
            if c.switch_in_ns == 0 && online.get(i).copied().unwrap_or(false) {
                known = false;
            }
            busy = busy.wrapping_add(c.busy_ns);
            if c.cur_tid != 0 && c.switch_in_ns != 0 && now > c.switch_in_ns {
                let d = now - c.switch_in_ns;
                busy = busy.wrapping_add(d);
                if running.len() < running.capacity() {
                    running.push((c.cur_tid, d));
                }
            }
        }
        known.then_some(busy)
    }

    /// Online CPUs the probe has not seen switch tasks since it attached
    /// (none, once [`super::cpus::visit_each`] has run on every CPU).
    pub fn unseen_cpus(&mut self) -> Result<usize, Error> {
        let online = &self.online;
        let cpus = self.cpus.read()?;
        Ok(cpus
            .iter()
            .enumerate()
            .filter(|(i, c)| c.switch_in_ns == 0 && online.get(*i).copied().unwrap_or(false))
            .count())
    }
}

/// Per process, while folding its threads.
#[derive(Default)]
struct Fold {
    cpu: u64,
    rb: u64,
    wb: u64,
    sig_cpu: u64,
    sig_rb: u64,
    sig_wb: u64,
    freshest: u64,
    rss: u64,
    comm: [u8; 16],
    leader: bool,
}

impl ProcessSource for BpfSource {
    fn kind(&self) -> CollectorKind {
        CollectorKind::Bpf
    }

    fn bpf_stats(&self) -> Option<Result<ProbeStats, Error>> {
        Some(self.probe_stats())
    }

    fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    fn collect(&mut self, elapsed_ns: u64, cores: u32, out: &mut Sample) -> Result<(), Error> {
        self.tasks.read()?;
        if self.tasks.meta()?.dropped > 0 && !self.noticed {
            self.grow()?;
        }
        let now = monotonic_ns();
        let busy = {
            let cpus = self.cpus.read()?;
            Self::busy_ns(cpus, &self.online, now, &mut self.running)
        };
        let cores = if cores == 0 { 1 } else { cores } as u64;
        let span = elapsed_ns.saturating_mul(cores);
        let tick = Tick {
            elapsed_ns,
            span,
            page_size: self.page_size,
        };

        // Until every online CPU has been seen, `/proc/stat`'s figure stays.
        if let (Some(pb), Some(b)) = (self.prev_busy, busy) {
            if span > 0 {
                let pct = b.saturating_sub(pb) as f64 * 100.0 / span as f64;
                out.cpu_percent = pct.clamp(0.0, 100.0) as f32;
            }
        }
        self.prev_busy = busy;

        let keys = self.tasks.keys();
        let vals = self.tasks.values();
        self.order.clear();
        for (i, v) in vals.iter().enumerate() {
            self.order.push(((v.tgid as u64) << 32) | i as u64);
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
            let mut f = Fold::default();
            while i < self.order.len() && (self.order[i] >> 32) as u32 == tgid {
                let idx = (self.order[i] & 0xffff_ffff) as usize;
                i += 1;
                let v: &TaskStat = &vals[idx];
                let tid = keys[idx];
                let credit = self.running.iter().find(|r| r.0 == tid).map_or(0, |r| r.1);
                f.cpu = f.cpu.wrapping_add(v.cpu_ns).wrapping_add(credit);
                f.rb = f.rb.wrapping_add(v.read_bytes);
                f.wb = f.wb.wrapping_add(v.write_bytes);
                // signal_struct counters only grow: the largest is the freshest.
                f.sig_cpu = f.sig_cpu.max(v.sig_cpu_ns);
                f.sig_rb = f.sig_rb.max(v.sig_read_bytes);
                f.sig_wb = f.sig_wb.max(v.sig_write_bytes);
                // Threads share one mm: the latest snapshot is the truest.
                if v.at_ns >= f.freshest {
                    f.freshest = v.at_ns;
                    f.rss = v.rss_pages;
                }
                // The process is named after its leader, whose tid is the tgid.
                if tid == tgid || (!f.leader && f.comm[0] == 0) {
                    f.leader = tid == tgid;
                    f.comm = v.comm;
                }
            }
            if tgid == 0 {
                continue;
            }
            tasks += 1;
            let total = ProcState {
                tgid,
                cpu_ns: f.cpu.wrapping_add(f.sig_cpu),
                read_bytes: f.rb.wrapping_add(f.sig_rb),
                write_bytes: f.wb.wrapping_add(f.sig_wb),
                rss_pages: f.rss,
            };
            let before = fold::previous(&self.prev, &mut j, tgid);
            let kept = fold::account(total, before, Comm::from_bytes(&f.comm), &tick, out);
            // Within capacity: at most one state per map entry.
            if self.cur.len() < self.cur.capacity() {
                self.cur.push(kept);
            }
        }
        out.tasks = tasks;
        std::mem::swap(&mut self.prev, &mut self.cur);
        Ok(())
    }
}

//! Reading the probe's maps into buffers allocated once.
//!
//! The thread counters live in an array of slots. The fast path maps that
//! array into our memory (`BPF_F_MMAPABLE`) and copies the used slots out
//! with no syscall. Where mapping fails, the slots are read with
//! `BPF_MAP_LOOKUP_BATCH` (one syscall), and where that is missing, one
//! `BPF_MAP_LOOKUP_ELEM` per slot. The per-CPU array is one lookup.

use std::os::fd::OwnedFd;

use super::super::Error;
use super::syscall::{self, Mmap};

/// One thread's counters as the probe stores them (`struct task_stat` in
/// probe.bpf.c; keep both in step).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskStat {
    pub tgid: u32,
    /// The thread id; 0 marks a free slot.
    pub tid: u32,
    /// `bpf_ktime_get_ns()` when this snapshot was taken.
    pub at_ns: u64,
    pub cpu_ns: u64,
    pub rss_pages: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub sig_cpu_ns: u64,
    pub sig_read_bytes: u64,
    pub sig_write_bytes: u64,
    pub comm: [u8; 16],
}

/// One CPU's slot of the `cpus` per-CPU array (`struct cpu_state`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuState {
    pub switch_in_ns: u64,
    pub busy_ns: u64,
    pub cur_tid: u32,
    pub _pad: u32,
}

/// The `meta` map's one value (`struct meta` in probe.bpf.c).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// Slots below this have been handed out at some point.
    pub next_slot: u32,
    /// Threads the probe could not track (every slot taken).
    pub dropped: u32,
}

/// How the slots are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// Straight from the shared mapping: no syscall.
    Mmap,
    /// `BPF_MAP_LOOKUP_BATCH` into our buffers.
    Batch,
    /// One `BPF_MAP_LOOKUP_ELEM` per slot.
    Elem,
}

/// The slot array, its index and free list, and the read buffers.
pub struct TaskMap {
    slots: OwnedFd,
    slot_of: OwnedFd,
    free: OwnedFd,
    meta: OwnedFd,
    max: u32,
    slots_mem: Option<Mmap>,
    meta_mem: Option<Mmap>,
    mode: ReadMode,
    /// Thread ids of the used slots read last (same order as `vals`).
    keys: Vec<u32>,
    vals: Vec<TaskStat>,
    /// Slot numbers written by the batch read (unused by the mmap path).
    batch_keys: Vec<u32>,
    /// Where each of `vals` sits in the slot array.
    slot_nums: Vec<u32>,
}

fn unsupported(e: &std::io::Error) -> bool {
    // ENOTSUPP (524) is the kernel-internal code some versions leak.
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) | Some(524)
    )
}

impl TaskMap {
    /// Takes the maps' fds, maps the slots when the kernel allows, and
    /// reserves room for every slot so no read grows a buffer.
    pub fn new(
        slots: OwnedFd,
        slot_of: OwnedFd,
        free: OwnedFd,
        meta: OwnedFd,
        max: u32,
    ) -> TaskMap {
        let n = max as usize;
        // Only a prefix: mapping the whole array would make every page
        // resident (1.4 MB for 16384 slots, where a desktop's ~430 threads
        // use 38 KB). `read` maps more as the probe hands out more slots.
        let slots_mem = Mmap::new(
            &slots,
            Mmap::prefix_len(0, n * std::mem::size_of::<TaskStat>()),
        )
        .ok();
        let meta_mem = Mmap::new(&meta, std::mem::size_of::<Meta>()).ok();
        let mode = if slots_mem.is_some() && meta_mem.is_some() {
            ReadMode::Mmap
        } else {
            ReadMode::Batch
        };
        TaskMap {
            slots,
            slot_of,
            free,
            meta,
            max,
            slots_mem,
            meta_mem,
            mode,
            keys: Vec::with_capacity(n),
            vals: Vec::with_capacity(n),
            batch_keys: Vec::with_capacity(n),
            slot_nums: Vec::with_capacity(n),
        }
    }

    /// Slots in the array (threads it can track at once).
    pub fn capacity(&self) -> u32 {
        self.max
    }

    /// Thread ids read by the last `read`.
    pub fn keys(&self) -> &[u32] {
        &self.keys
    }

    /// Values read by the last `read`, in the same order as `keys`.
    pub fn values(&self) -> &[TaskStat] {
        &self.vals
    }

    /// How the last reads were done.
    pub fn mode(&self) -> ReadMode {
        self.mode
    }

    /// Forces a slower read path (to test the fallbacks).
    pub fn force_mode(&mut self, mode: ReadMode) {
        if mode != ReadMode::Mmap || self.slots_mem.is_some() && self.meta_mem.is_some() {
            self.mode = mode;
        }
    }

    /// The probe's bookkeeping.
    pub fn meta(&self) -> Result<Meta, Error> {
        if let Some(m) = &self.meta_mem {
            // SAFETY: the mapping is at least one Meta long, page-aligned, and
            // lives as long as self; the probe writes it concurrently, hence
            // a volatile read (a torn value only misplaces the scan bound).
            return Ok(unsafe { std::ptr::read_volatile(m.as_ptr() as *const Meta) });
        }
        let mut v = [Meta::default()];
        syscall::lookup_elem(&self.meta, &0u32, &mut v)
            .map_err(|e| Error::io("bpf(BPF_MAP_LOOKUP_ELEM) on map \"meta\"", e))?;
        Ok(v[0])
    }

    /// Reads every used slot.
    pub fn read(&mut self) -> Result<(), Error> {
        self.keys.clear();
        self.vals.clear();
        self.slot_nums.clear();
        let n = self.meta()?.next_slot.min(self.max) as usize;
        if self.mode == ReadMode::Mmap {
            self.grow_mapping(n);
        }
        match self.mode {
            ReadMode::Mmap => self.read_mmap(n),
            ReadMode::Batch => match self.read_batch(n) {
                Ok(()) => {}
                Err(e) if unsupported(&e) => {
                    self.mode = ReadMode::Elem;
                    self.read_elems(n)?;
                }
                Err(e) => return Err(Error::io("bpf(BPF_MAP_LOOKUP_BATCH) on map \"slots\"", e)),
            },
            ReadMode::Elem => self.read_elems(n)?,
        }
        Ok(())
    }

    /// Maps more of the slot array when the first `n` slots no longer fit
    /// in the mapped prefix (the probe's high-water mark grew). Where the
    /// kernel refuses, reads go through `BPF_MAP_LOOKUP_BATCH` from then on,
    /// like a kernel that cannot map at all. Allocates nothing.
    fn grow_mapping(&mut self, n: usize) {
        let size = std::mem::size_of::<TaskStat>();
        let Some(mem) = &mut self.slots_mem else {
            return;
        };
        if n * size <= mem.len() {
            return;
        }
        let len = Mmap::prefix_len(n * size, self.max as usize * size);
        if mem.remap(&self.slots, len).is_err() {
            self.mode = ReadMode::Batch;
        }
    }

    fn keep(&mut self, slot: u32, v: TaskStat) {
        if v.tid != 0 && self.vals.len() < self.vals.capacity() {
            self.keys.push(v.tid);
            self.vals.push(v);
            self.slot_nums.push(slot);
        }
    }

    fn read_mmap(&mut self, n: usize) {
        let Some(mem) = &self.slots_mem else {
            return;
        };
        let base = mem.as_ptr() as *const TaskStat;
        let n = n.min(mem.len() / std::mem::size_of::<TaskStat>());
        for i in 0..n {
            // SAFETY: i < n slots, all inside the mapping, which is
            // page-aligned (so every TaskStat is aligned) and outlives this
            // call; the probe writes slots concurrently, so read volatile
            // and accept a value torn between two snapshots.
            let v = unsafe { std::ptr::read_volatile(base.add(i)) };
            self.keep(i as u32, v);
        }
    }

    fn read_batch(&mut self, n: usize) -> std::io::Result<()> {
        let mut total = 0usize;
        let mut token = 0u64;
        let mut first = true;
        self.batch_keys.clear();
        let mut raw: Vec<TaskStat> = std::mem::take(&mut self.vals);
        raw.clear();
        let r = (|| {
            while total < n {
                // SAFETY: both buffers have capacity `max` >= n and the kernel
                // writes at most `n - total` entries past `total`.
                let (got, done) = unsafe {
                    syscall::lookup_batch(
                        &self.slots,
                        first,
                        &mut token,
                        self.batch_keys.as_mut_ptr().add(total),
                        raw.as_mut_ptr().add(total),
                        (n - total) as u32,
                    )?
                };
                total += (got as usize).min(n - total);
                // SAFETY: the kernel initialised the first `total` entries
                // (plain integers: any bit pattern is valid).
                unsafe {
                    self.batch_keys.set_len(total);
                    raw.set_len(total);
                }
                if done {
                    break;
                }
                first = false;
            }
            Ok(())
        })();
        // Compact in place: used slots only, with their thread ids as keys.
        let mut kept = 0;
        for i in 0..raw.len() {
            if raw[i].tid != 0 {
                raw[kept] = raw[i];
                self.keys.push(raw[i].tid);
                self.slot_nums.push(self.batch_keys[i]);
                kept += 1;
            }
        }
        raw.truncate(kept);
        self.vals = raw;
        r
    }

    fn read_elems(&mut self, n: usize) -> Result<(), Error> {
        for slot in 0..n as u32 {
            let mut v = [TaskStat::default()];
            if syscall::lookup_elem(&self.slots, &slot, &mut v)
                .map_err(|e| Error::io("bpf(BPF_MAP_LOOKUP_ELEM) on map \"slots\"", e))?
            {
                self.keep(slot, v[0]);
            }
        }
        Ok(())
    }

    /// Records `stat` for thread `tid` in a fresh slot, unless the probe
    /// tracks the thread already. Only for the start-up walk, before the
    /// probe is attached (so nothing else hands out slots meanwhile).
    pub fn insert_before_attach(&self, tid: u32, stat: &TaskStat) -> Result<bool, Error> {
        let mut meta = self.meta()?;
        if meta.next_slot >= self.max {
            return Ok(false);
        }
        let slot = meta.next_slot;
        match syscall::update_elem(&self.slot_of, &tid, &slot, syscall::NOEXIST) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => return Ok(false),
            Err(e) => return Err(Error::io("bpf(BPF_MAP_UPDATE_ELEM) on map \"slot_of\"", e)),
        }
        let mut v = *stat;
        v.tid = tid;
        syscall::update_elem(&self.slots, &slot, &v, 0)
            .map_err(|e| Error::io("bpf(BPF_MAP_UPDATE_ELEM) on map \"slots\"", e))?;
        meta.next_slot += 1;
        syscall::update_elem(&self.meta, &0u32, &meta, 0)
            .map_err(|e| Error::io("bpf(BPF_MAP_UPDATE_ELEM) on map \"meta\"", e))?;
        Ok(true)
    }

    /// Frees thread `tid`'s slot, as the exit hook does (for walked threads
    /// that exited before the hook was attached).
    pub fn remove(&self, tid: u32) -> Result<(), Error> {
        let mut slot = [0u32];
        let found = syscall::lookup_elem(&self.slot_of, &tid, &mut slot)
            .map_err(|e| Error::io("bpf(BPF_MAP_LOOKUP_ELEM) on map \"slot_of\"", e))?;
        if !found {
            return Ok(());
        }
        let mut v = [TaskStat::default()];
        if syscall::lookup_elem(&self.slots, &slot[0], &mut v).unwrap_or(false) && v[0].tid == tid {
            syscall::update_elem(&self.slots, &slot[0], &TaskStat::default(), 0)
                .map_err(|e| Error::io("bpf(BPF_MAP_UPDATE_ELEM) on map \"slots\"", e))?;
        }
        syscall::delete_elem(&self.slot_of, &tid)
            .map_err(|e| Error::io("bpf(BPF_MAP_DELETE_ELEM) on map \"slot_of\"", e))?;
        syscall::push_elem(&self.free, &slot[0])
            .map_err(|e| Error::io("bpf(BPF_MAP_UPDATE_ELEM) on map \"free_slots\"", e))
    }
}

/// The per-CPU array of switch-in times and busy counters.
pub struct CpuMap {
    fd: OwnedFd,
    vals: Vec<CpuState>,
}

/// How many CPUs the kernel may ever bring up: per-CPU maps hold one value
/// for each (`/sys/devices/system/cpu/possible`, like "0-3" or "0,2-5").
pub fn possible_cpus() -> Result<usize, Error> {
    const PATH: &str = "/sys/devices/system/cpu/possible";
    let text =
        std::fs::read_to_string(PATH).map_err(|e| Error::io(format!("reading {PATH}"), e))?;
    super::cpus::ranges(&text)
        .and_then(|r| r.iter().map(|&(_, hi)| hi.saturating_add(1)).max())
        .ok_or_else(|| Error::msg(format!("{PATH}: cannot parse {text:?}")))
}

impl CpuMap {
    /// Takes the map fd; `ncpu` is `possible_cpus()`.
    pub fn new(fd: OwnedFd, ncpu: usize) -> CpuMap {
        CpuMap {
            fd,
            vals: vec![CpuState::default(); ncpu],
        }
    }

    /// Reads every CPU's state.
    pub fn read(&mut self) -> Result<&[CpuState], Error> {
        match syscall::lookup_elem(&self.fd, &0u32, &mut self.vals) {
            Ok(true) => Ok(&self.vals),
            Ok(false) => Err(Error::msg("map \"cpus\" has no slot 0")),
            Err(e) => Err(Error::io("bpf(BPF_MAP_LOOKUP_ELEM) on map \"cpus\"", e)),
        }
    }
}

//! Reading the probe's maps into buffers allocated once: the task map with
//! `BPF_MAP_LOOKUP_BATCH` (one syscall for the whole map), falling back to
//! `GET_NEXT_KEY` + `LOOKUP_ELEM` on kernels without batch ops; the per-CPU
//! array with one lookup.

use std::os::fd::OwnedFd;

use super::super::Error;
use super::syscall;

/// One thread's counters as the probe stores them (`struct task_stat` in
/// probe.bpf.c; keep both in step).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskStat {
    pub tgid: u32,
    pub _pad: u32,
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

/// The task map and its read buffers.
pub struct TaskMap {
    fd: OwnedFd,
    keys: Vec<u32>,
    vals: Vec<TaskStat>,
    batch: bool,
}

fn unsupported(e: &std::io::Error) -> bool {
    // ENOTSUPP (524) is the kernel-internal code some versions leak.
    matches!(
        e.raw_os_error(),
        Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) | Some(524)
    )
}

impl TaskMap {
    /// Takes the map fd and reserves room for `max_entries` entries, so no
    /// read ever grows the buffers.
    pub fn new(fd: OwnedFd, max_entries: u32) -> TaskMap {
        TaskMap {
            fd,
            keys: Vec::with_capacity(max_entries as usize),
            vals: Vec::with_capacity(max_entries as usize),
            batch: true,
        }
    }

    /// The map's fd (for inserting the start-up walk).
    pub fn fd(&self) -> &OwnedFd {
        &self.fd
    }

    /// Thread ids read by the last `read`.
    pub fn keys(&self) -> &[u32] {
        &self.keys
    }

    /// Values read by the last `read`, in the same order as `keys`.
    pub fn values(&self) -> &[TaskStat] {
        &self.vals
    }

    /// Whether reads use `BPF_MAP_LOOKUP_BATCH` (false after a fallback).
    pub fn batched(&self) -> bool {
        self.batch
    }

    /// Forces the iterative path (to test it).
    pub fn force_iterative(&mut self) {
        self.batch = false;
    }

    /// Reads the whole map.
    pub fn read(&mut self) -> Result<(), Error> {
        self.keys.clear();
        self.vals.clear();
        if self.batch {
            match self.read_batch() {
                Ok(()) => return Ok(()),
                Err(e) if unsupported(&e) => self.batch = false,
                Err(e) => return Err(Error::io("bpf(BPF_MAP_LOOKUP_BATCH) on map \"tasks\"", e)),
            }
        }
        self.read_iter()
            .map_err(|e| Error::io("bpf(BPF_MAP_GET_NEXT_KEY/LOOKUP_ELEM) on map \"tasks\"", e))
    }

    fn read_batch(&mut self) -> std::io::Result<()> {
        let cap = self.keys.capacity().min(self.vals.capacity());
        let mut total = 0usize;
        let mut token = 0u64;
        let mut first = true;
        while total < cap {
            // SAFETY: both buffers have capacity `cap` and the kernel writes at
            // most `cap - total` entries past `total`.
            let r = unsafe {
                syscall::lookup_batch(
                    &self.fd,
                    first,
                    &mut token,
                    self.keys.as_mut_ptr().add(total),
                    self.vals.as_mut_ptr().add(total),
                    (cap - total) as u32,
                )
            };
            let (n, done) = match r {
                Ok(x) => x,
                // The next bucket no longer fits (map nearly full): keep what we have.
                Err(e) if !first && e.raw_os_error() == Some(libc::ENOSPC) => break,
                Err(e) => return Err(e),
            };
            total += (n as usize).min(cap - total);
            // SAFETY: the kernel initialised the first `total` keys and values
            // (plain integers: any bit pattern is valid).
            unsafe {
                self.keys.set_len(total);
                self.vals.set_len(total);
            }
            if done {
                break;
            }
            first = false;
        }
        Ok(())
    }

    fn read_iter(&mut self) -> std::io::Result<()> {
        let cap = self.keys.capacity().min(self.vals.capacity());
        let mut key = 0u32;
        let mut next = 0u32;
        let mut have = false;
        while self.keys.len() < cap {
            if !syscall::get_next_key(&self.fd, have.then_some(&key), &mut next)? {
                break;
            }
            let mut v = [TaskStat::default()];
            // An entry deleted between the two calls is simply skipped.
            if syscall::lookup_elem(&self.fd, &next, &mut v)? {
                self.keys.push(next);
                self.vals.push(v[0]);
            }
            key = next;
            have = true;
        }
        Ok(())
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
    let mut max = None;
    for part in text.trim().split(',') {
        let hi = part.rsplit('-').next().unwrap_or(part);
        let n: usize = hi
            .parse()
            .map_err(|_| Error::msg(format!("{PATH}: cannot parse {text:?}")))?;
        max = Some(max.map_or(n, |m: usize| m.max(n)));
    }
    max.map(|m| m + 1)
        .ok_or_else(|| Error::msg(format!("{PATH} is empty")))
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

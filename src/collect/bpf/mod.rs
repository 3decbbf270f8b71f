//! The eBPF collector: loads the probe embedded in the binary, attaches it
//! to `sched_switch` (tp_btf) and `sched_process_exit` (raw_tp) with
//! `BPF_RAW_TRACEPOINT_OPEN`, and reads what it keeps.
//!
//! The probe keeps one slot per live thread in an mmap-able array (the
//! thread's cumulative CPU time, RSS, IO, and its process's dead-thread
//! totals from `signal_struct`), a hash from thread id to slot, a stack of
//! freed slots, and a per-CPU busy counter. Reading the slots through the
//! shared mapping costs no syscall; `BPF_MAP_LOOKUP_BATCH` and then
//! per-element lookups are the fallbacks where mapping is refused.
//!
//! Needs Linux 5.12+ with BTF (`/sys/kernel/btf/vmlinux`): tp_btf and
//! mmap-able arrays (5.5), BPF atomic fetch-and-add (5.12, `-mcpu=v3`).
//! The iterator collector needs BTF and Linux 5.8+ (`iter/task`), 6.7+ for
//! its one-pass walk (open-coded task iterator kfuncs, single-task links
//! from 6.1). Anything older fails to load, and `--collector auto` falls
//! back to procfs.
//!
//! Known limits: a thread that changes its id in a multi-threaded `exec`
//! (de_thread) leaves its old slot until restart; the task tables start at
//! 16384 threads and grow, reloading the probe, when a thread finds no slot
//! (up to [`thread_limit`]; past that, said once, threads go untracked and
//! are counted in [`BpfSource::dropped`]); RSS is
//! `percpu_counter`-approximate (off by at most 3 × ncpu × batch pages).
//!
//! The second collector here, [`iter`], attaches nothing that runs between
//! ticks: once per tick it creates a BPF task iterator and reads it; inside
//! that read, our program walks every thread (with the open-coded task
//! iterator kfuncs on Linux 6.7+, else once per task through `iter/task`,
//! Linux 5.8+) and hands over one packed record per thread.
//!
//! The iterator collector's limits: the one-pass walk's table starts at
//! 32768 threads and grows, reloading the walk, when a walk finds more (up
//! to [`thread_limit`]; past that, said once, the rest are counted in
//! [`IterSource::dropped`]); the per-task fallback has no limit but costs
//! about three times as much. RSS is `percpu_counter`-approximate there too.
//!
//! One job per module: [`elf`] reads the object, [`btf`] reads type info,
//! [`core_reloc`] rewrites field offsets for the running kernel, [`syscall`]
//! wraps `bpf(2)`, [`loader`] puts them together, [`maps`] reads the maps,
//! [`walk`] seeds the task map at start, [`visibility`] keeps what `/proc`
//! hides from this user hidden, [`source`] turns it all into a
//! [`Sample`](super::Sample), [`iter`] is the task-iterator collector.

pub mod btf;
pub mod core_reloc;
pub mod cpus;
pub mod elf;
mod fold;
pub mod iter;
pub mod loader;
pub mod maps;
pub mod source;
pub mod syscall;
pub mod visibility;
pub mod walk;

pub use iter::IterSource;
pub use maps::ReadMode;
pub use source::{BpfSource, ProbeStats, ProcessTotals};

use super::{Error, ProcessSource};

/// The compiled probe: built from `probe/probe.bpf.c` by build.rs when clang
/// is present, else the committed `probe/probe.bpf.o`.
pub static PROBE_OBJECT: &[u8] = include_bytes!(env!("RSTAT_PROBE_OBJECT"));

/// Loads and attaches the probe; the error says why BPF cannot be used here.
pub fn open() -> Result<Box<dyn ProcessSource>, Error> {
    Ok(Box::new(open_bpf()?))
}

/// Like [`open`], keeping the concrete type (for tests and `--bench`, which
/// read the probe's own statistics).
pub fn open_bpf() -> Result<BpfSource, Error> {
    open_bpf_sized(START_THREADS)
}

/// Threads the `bpf` collector's tables hold at first; they grow (twice as
/// large, reloading the probe) when a thread finds no slot.
pub const START_THREADS: u32 = 16384;

/// The most threads this kernel can have at once: no task table needs more
/// (`kernel.pid_max` bounds thread ids, `kernel.threads-max` their number).
/// 4,194,304 (the largest pid_max) when neither can be read.
pub fn thread_limit() -> u32 {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    };
    let pid_max = read("/proc/sys/kernel/pid_max").unwrap_or(1 << 22);
    let threads = read("/proc/sys/kernel/threads-max").unwrap_or(u32::MAX);
    pid_max.min(threads).max(1)
}

/// Like [`open_bpf`], with tables of `slots` threads to start with.
pub fn open_bpf_sized(slots: u32) -> Result<BpfSource, Error> {
    let ncpu = maps::possible_cpus()?;
    let sizes = [("slots", slots), ("slot_of", slots), ("free_slots", slots)];
    let loaded = loader::load_sized(PROBE_OBJECT, Some(&["on_switch", "on_exit"]), &sizes)
        .map_err(explain)?;
    let mut src = BpfSource::new(loaded, ncpu)?;
    // Walk first, then attach: until the probe runs, the walk is the only
    // one handing out slots. A walked thread that exits before the exit hook
    // is attached would keep its slot: `prune` frees those afterwards.
    let walked = walk::seed(src.task_map())?;
    src.attach()?;
    cpus::visit_each();
    walk::prune(src.task_map(), &walked)?;
    Ok(src)
}

/// Like [`open_bpf_sized`], growing to at most `limit` threads rather than
/// [`thread_limit`] (a test reaches the limit with a few hundred threads).
pub fn open_bpf_limited(slots: u32, limit: u32) -> Result<BpfSource, Error> {
    Ok(open_bpf_sized(slots)?.limited(limit))
}

/// Loads the task-iterator program and creates its link; the error says
/// why it cannot be used here.
pub fn open_iter() -> Result<IterSource, Error> {
    IterSource::open(PROBE_OBJECT).map_err(explain)
}

/// Adds the likely cause to the usual failures.
fn explain(e: Error) -> Error {
    let hint = match e.os_error().and_then(|o| o.raw_os_error()) {
        Some(libc::EPERM) | Some(libc::EACCES) => {
            " (loading eBPF needs root or CAP_BPF + CAP_PERFMON)"
        }
        Some(libc::ENOSYS) => " (this kernel has no bpf() syscall)",
        _ => "",
    };
    if hint.is_empty() {
        e
    } else {
        Error::msg(format!("{e}{hint}"))
    }
}

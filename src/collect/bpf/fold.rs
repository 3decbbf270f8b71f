//! One process's part of a tick, shared by both BPF collectors: its totals
//! against the last tick's, offered to the three top lists.

use super::super::{Comm, ProcCpu, ProcIo, ProcMem, Sample};

/// What a process had accumulated at the last tick. Counters are
/// high-water marks: when a thread exits, its share can vanish for a tick
/// before it shows up in the survivors' `signal_struct` snapshot, and a dip
/// followed by a recovery must not count the recovery twice.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ProcState {
    pub tgid: u32,
    pub cpu_ns: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub rss_pages: u64,
}

/// The tick's clock and units.
pub(super) struct Tick {
    /// Wall time since the last tick (0 on the first).
    pub elapsed_ns: u64,
    /// `elapsed_ns` × cores: all the CPU time the machine had.
    pub span: u64,
    pub page_size: u64,
}

/// Last tick's state of `tgid` in `prev` (sorted by tgid), walking the
/// cursor `j` forward: callers visit processes in ascending tgid order.
pub(super) fn previous(prev: &[ProcState], j: &mut usize, tgid: u32) -> Option<ProcState> {
    while *j < prev.len() && prev[*j].tgid < tgid {
        *j += 1;
    }
    prev.get(*j).filter(|p| p.tgid == tgid).copied()
}

/// Offers process `total.tgid` to `out`'s top lists, its rates taken
/// against `before`; returns the state to keep for the next tick.
pub(super) fn account(
    total: ProcState,
    before: Option<ProcState>,
    name: Comm,
    t: &Tick,
    out: &mut Sample,
) -> ProcState {
    let (d_cpu, d_rb, d_wb, kept) = match before {
        Some(p) => (
            total.cpu_ns.saturating_sub(p.cpu_ns),
            total.read_bytes.saturating_sub(p.read_bytes),
            total.write_bytes.saturating_sub(p.write_bytes),
            ProcState {
                tgid: total.tgid,
                cpu_ns: total.cpu_ns.max(p.cpu_ns),
                read_bytes: total.read_bytes.max(p.read_bytes),
                write_bytes: total.write_bytes.max(p.write_bytes),
                rss_pages: total.rss_pages,
            },
        ),
        // New since the last tick: all it did happened in this interval (a
        // first tick has no interval: zero).
        None if t.elapsed_ns > 0 => (
            total.cpu_ns.min(t.span),
            total.read_bytes,
            total.write_bytes,
            total,
        ),
        None => (0, 0, 0, total),
    };
    let pid = total.tgid;
    // Memory needs no interval: the first tick has it too.
    let rss = total.rss_pages * t.page_size;
    out.top_mem.offer(
        rss,
        ProcMem {
            pid,
            name,
            rss_bytes: rss,
        },
    );
    if t.elapsed_ns == 0 {
        return kept;
    }
    let d_cpu = d_cpu.min(t.span);
    out.top_cpu.offer(
        d_cpu,
        ProcCpu {
            pid,
            name,
            cpu_percent: (d_cpu as f64 * 100.0 / t.span as f64) as f32,
        },
    );
    let per_s = |d: u64| (d as u128 * 1_000_000_000 / t.elapsed_ns as u128) as u64;
    let (r, w) = (per_s(d_rb), per_s(d_wb));
    out.top_io.offer(
        r.saturating_add(w),
        ProcIo {
            pid,
            name,
            read_bytes_per_s: r,
            write_bytes_per_s: w,
        },
    );
    kept
}

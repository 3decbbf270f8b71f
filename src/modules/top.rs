//! The health module's popup content: the sample's top processes by CPU,
//! resident memory and IO rate, as rows of text for
//! [`crate::render::popup`]. Written into a reused [`PopupContent`]: no heap.

use std::fmt::Write;

use super::human;
use crate::collect::sample::{Comm, TOP_N};
use crate::collect::Sample;
use crate::render::popup::{PopupContent, PopupRow, PopupTable, POPUP_ROWS};
use crate::render::Text;

// The popup has a row for every process the sampler keeps.
const _: () = assert!(POPUP_ROWS == TOP_N);

/// Titles of the three tables, in order.
pub const TITLES: [&str; 3] = ["CPU", "Memory (resident)", "Disk IO (read + write)"];

/// Rewrites `out` with `s`'s top lists.
pub fn write(s: &Sample, out: &mut PopupContent) {
    let [cpu, mem, io] = &mut out.tables;
    fill(cpu, TITLES[0], s.top_cpu.as_slice(), |p, row| {
        row.pid = p.pid;
        name(&mut row.name, &p.name);
        let pct = if p.cpu_percent.is_finite() {
            p.cpu_percent.clamp(0.0, 100.0)
        } else {
            0.0
        };
        let _ = write!(row.value, "{pct:.1}%");
    });
    fill(mem, TITLES[1], s.top_mem.as_slice(), |p, row| {
        row.pid = p.pid;
        name(&mut row.name, &p.name);
        bytes(&mut row.value, p.rss_bytes);
    });
    fill(io, TITLES[2], s.top_io.as_slice(), |p, row| {
        row.pid = p.pid;
        name(&mut row.name, &p.name);
        bytes(
            &mut row.value,
            p.read_bytes_per_s.saturating_add(p.write_bytes_per_s),
        );
        row.value.push_str("/s");
    });
}

fn fill<T>(
    table: &mut PopupTable,
    title: &str,
    items: &[T],
    mut row: impl FnMut(&T, &mut PopupRow),
) {
    table.title.clear();
    table.title.push_str(title);
    for (i, r) in table.rows.iter_mut().enumerate() {
        r.pid = 0;
        r.name.clear();
        r.value.clear();
        if let Some(p) = items.get(i) {
            row(p, r);
        }
    }
    if items.is_empty() {
        // Say so, rather than show a title over nothing.
        table.rows[0].name.push_str(NONE);
    }
}

/// What an empty table shows (no process used any CPU, memory or IO since
/// the last sample).
pub const NONE: &str = "none";

/// A kernel process name made printable ([`human::Name`]). Fifteen bytes
/// become at most 45 (fifteen U+FFFD), which a [`Text`] holds whole.
pub fn name(out: &mut Text, comm: &Comm) {
    out.clear();
    let _ = write!(out, "{}", human::Name(comm.as_bytes()));
}

/// A byte count with a binary unit ([`human::Bytes`]).
pub fn bytes(out: &mut Text, v: u64) {
    let _ = write!(out, "{}", human::Bytes(v));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::sample::{ProcCpu, ProcIo, ProcMem};

    #[test]
    fn rows_follow_the_top_lists() {
        let mut s = Sample::default();
        s.top_cpu.offer(
            500,
            ProcCpu {
                pid: 42,
                name: Comm::from_bytes(b"cc1"),
                cpu_percent: 50.04,
            },
        );
        s.top_mem.offer(
            3 << 30,
            ProcMem {
                pid: 7,
                name: Comm::from_bytes(b"firefox"),
                rss_bytes: 3 << 30,
            },
        );
        s.top_io.offer(
            1,
            ProcIo {
                pid: 9,
                name: Comm::from_bytes(b"a\nb\xff"),
                read_bytes_per_s: 1536,
                write_bytes_per_s: 0,
            },
        );
        let mut c = PopupContent::default();
        write(&s, &mut c);
        let [cpu, mem, io] = &c.tables;
        assert_eq!(cpu.title.as_str(), "CPU");
        assert_eq!((cpu.rows[0].pid, cpu.rows[0].name.as_str()), (42, "cc1"));
        assert_eq!(cpu.rows[0].value.as_str(), "50.0%");
        assert_eq!(cpu.rows[1].pid, 0);
        assert_eq!(cpu.rows[1].name.as_str(), "");
        assert_eq!(mem.rows[0].value.as_str(), "3.0 GiB");
        assert_eq!(io.rows[0].name.as_str(), "a?b\u{fffd}");
        assert_eq!(io.rows[0].value.as_str(), "1.5 KiB/s");
        // A second write with fewer processes clears the rows it no longer fills.
        write(&Sample::default(), &mut c);
        assert!(c.tables.iter().all(|t| t.rows.iter().all(|r| r.pid == 0)));
        assert!(c.tables.iter().all(|t| t.rows[0].name.as_str() == NONE));
    }

    #[test]
    fn worst_case_names_fit_whole() {
        let mut t = Text::default();
        name(&mut t, &Comm::from_bytes(&[0xff; 15]));
        assert_eq!(t.as_str(), "\u{fffd}".repeat(15));
        name(&mut t, &Comm::from_bytes(&[0xc3, 0x28].repeat(8)));
        assert_eq!(t.as_str().chars().count(), 15);
    }
}

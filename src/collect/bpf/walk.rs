//! The start-up task walk: the probe only learns of a thread when it is
//! switched out, so a thread that sleeps through the first ticks (or runs
//! without a break) would be missing. We seed the map from `/proc` once,
//! just before attaching, with the same quantities the probe records.
//!
//! Runs once at start: it may allocate freely.

use std::fs;
use std::path::Path;

use super::super::Error;
use super::maps::{TaskMap, TaskStat};

fn read(path: &Path) -> Option<String> {
    fs::read_to_string(path).ok()
}

/// `read_bytes` and `write_bytes` of a `/proc/.../io` file.
fn io_of(text: &str) -> (u64, u64) {
    let mut rb = 0;
    let mut wb = 0;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("read_bytes: ") {
            rb = v.trim().parse().unwrap_or(0);
        } else if let Some(v) = line.strip_prefix("write_bytes: ") {
            wb = v.trim().parse().unwrap_or(0);
        }
    }
    (rb, wb)
}

/// The fields after the `(comm)` of a `stat` file: state is `[0]`, utime
/// `[11]`, stime `[12]`.
fn stat_fields(text: &str) -> Option<Vec<&str>> {
    let close = text.rfind(')')?;
    Some(text[close + 1..].split_whitespace().collect())
}

fn numeric(name: &std::ffi::OsStr) -> Option<u32> {
    name.to_str()?.parse().ok()
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; MONOTONIC is
    // the clock bpf_ktime_get_ns() reads.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Whether thread `tid` still exists and has not started exiting.
fn alive(tid: u32) -> bool {
    read(Path::new(&format!("/proc/{tid}/stat")))
        .and_then(|t| stat_fields(&t).map(|f| f.first().is_some_and(|s| *s != "Z" && *s != "X")))
        .unwrap_or(false)
}

/// Records every live thread in the task map, before the probe is
/// attached. Returns the thread ids recorded.
pub fn seed(map: &TaskMap) -> Result<Vec<u32>, Error> {
    let clk_tck = {
        // SAFETY: sysconf has no preconditions.
        let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if t > 0 {
            t as u64
        } else {
            100
        }
    };
    let proc_dir = fs::read_dir("/proc").map_err(|e| Error::io("reading /proc", e))?;
    let mut inserted = Vec::new();
    let mut threads: Vec<(u32, TaskStat)> = Vec::new();
    for ent in proc_dir.flatten() {
        let Some(pid) = numeric(&ent.file_name()) else {
            continue;
        };
        let base = ent.path();
        let Ok(tasks) = fs::read_dir(base.join("task")) else {
            continue;
        };
        let rss = read(&base.join("statm"))
            .and_then(|t| t.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            .unwrap_or(0u64);
        threads.clear();
        let at = now_ns();
        for t in tasks.flatten() {
            let Some(tid) = numeric(&t.file_name()) else {
                continue;
            };
            let tp = t.path();
            let cpu = read(&tp.join("schedstat"))
                .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
                .unwrap_or(0);
            let (rb, wb) = read(&tp.join("io")).map_or((0, 0), |s| io_of(&s));
            let comm = read(&tp.join("comm")).unwrap_or_default();
            let mut c = [0u8; 16];
            let n = comm.trim_end_matches('\n').len().min(15);
            c[..n].copy_from_slice(&comm.as_bytes()[..n]);
            threads.push((
                tid,
                TaskStat {
                    tgid: pid,
                    at_ns: at,
                    cpu_ns: cpu,
                    rss_pages: rss,
                    read_bytes: rb,
                    write_bytes: wb,
                    comm: c,
                    ..Default::default()
                },
            ));
        }
        // What the process's dead threads left in signal_struct: the whole
        // process's figures minus its live threads'.
        let (prb, pwb) = read(&base.join("io")).map_or((0, 0), |s| io_of(&s));
        let pcpu = read(&base.join("stat"))
            .and_then(|t| {
                let f = stat_fields(&t)?;
                let ut: u64 = f.get(11)?.parse().ok()?;
                let st: u64 = f.get(12)?.parse().ok()?;
                Some((ut + st) * (1_000_000_000 / clk_tck))
            })
            .unwrap_or(0);
        let sum = |f: fn(&TaskStat) -> u64| threads.iter().map(|(_, s)| f(s)).sum::<u64>();
        let sig_cpu = pcpu.saturating_sub(sum(|s| s.cpu_ns));
        let sig_rb = prb.saturating_sub(sum(|s| s.read_bytes));
        let sig_wb = pwb.saturating_sub(sum(|s| s.write_bytes));
        for (tid, st) in threads.iter_mut() {
            st.sig_cpu_ns = sig_cpu;
            st.sig_read_bytes = sig_rb;
            st.sig_write_bytes = sig_wb;
            if map.insert_before_attach(*tid, st)? {
                inserted.push(*tid);
            }
        }
    }
    Ok(inserted)
}

/// Frees the slots of walked threads that are gone: their exit may have
/// come before the exit hook was attached.
pub fn prune(map: &TaskMap, walked: &[u32]) -> Result<(), Error> {
    for &tid in walked {
        if !alive(tid) {
            map.remove(tid)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_io_and_stat() {
        let io = "rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 4096\nwrite_bytes: 8192\ncancelled_write_bytes: 0\n";
        assert_eq!(io_of(io), (4096, 8192));
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 1 0 0 0 7 3 0 0 20 0 1 0";
        let f = stat_fields(stat).expect("fields");
        assert_eq!(f[0], "S");
        assert_eq!((f[11], f[12]), ("7", "3"));
    }
}

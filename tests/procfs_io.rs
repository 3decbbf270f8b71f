//! The procfs collector sees a real O_DIRECT write in the IO top list.

use std::os::unix::fs::OpenOptionsExt;
use std::time::Instant;

use rstat::collect::procfs::ProcfsSource;
use rstat::collect::{Roots, Sample, Sampler};

const MIB: usize = 1 << 20;

/// Writes `total` bytes with O_DIRECT (bypassing the page cache, so the
/// kernel accounts them to this process at once) and syncs.
fn direct_write(path: &std::path::Path, total: usize) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(path)
        .expect("opening the scratch file with O_DIRECT");
    // O_DIRECT wants an aligned buffer: carve a 4096-aligned MiB out of a Vec.
    let raw = vec![0x5au8; MIB + 4096];
    let off = raw.as_ptr().align_offset(4096);
    let chunk = &raw[off..off + MIB];
    for _ in 0..total / MIB {
        f.write_all(chunk).expect("O_DIRECT write");
    }
    f.sync_all().expect("fsync");
}

#[test]
fn a_64_mib_direct_write_shows_in_top_io() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("procfs_io.scratch");
    let roots = Roots::default();
    let mut sampler = Sampler::new(&roots, Box::new(ProcfsSource::open(&roots).unwrap())).unwrap();
    let mut s = Sample::default();
    sampler.sample(&mut s).unwrap();
    let t0 = Instant::now();
    direct_write(&path, 64 * MIB);
    let took = t0.elapsed();
    sampler.sample(&mut s).unwrap();
    let _ = std::fs::remove_file(&path);

    let me = std::process::id();
    let row = s
        .top_io
        .as_slice()
        .iter()
        .find(|p| p.pid == me)
        .unwrap_or_else(|| panic!("this process is not in top_io: {:?}", s.top_io));
    assert_eq!(s.top_io.as_slice()[0].pid, me, "{:?}", s.top_io);
    let secs = s.interval_ns as f64 / 1e9;
    let written = row.write_bytes_per_s as f64 * secs;
    let want = (64 * MIB) as f64;
    assert!(
        (written - want).abs() / want < 0.05,
        "rate {} B/s over {secs:.3}s = {written:.0} B, wrote {want} B in {took:?}",
        row.write_bytes_per_s
    );
}

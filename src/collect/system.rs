//! System-wide figures: CPU from `/proc/stat`, memory from `/proc/meminfo`,
//! load from `sysinfo()`. Files are opened once and read with `pread`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::parse::{fields, first_line, keyed_u64, u64_prefix};
use super::{Error, Roots, Sample};

/// Busy and total jiffies of all CPUs together, from `/proc/stat`'s first line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub busy: u64,
    pub total: u64,
}

impl CpuTimes {
    /// Parses `cpu  user nice system idle iowait irq softirq steal guest guest_nice`.
    /// Guest time is already inside user/nice, so it is not added again.
    pub fn parse(stat: &[u8]) -> Option<CpuTimes> {
        let line = first_line(stat);
        let mut it = fields(line);
        if it.next()? != b"cpu" {
            return None;
        }
        let mut v = [0u64; 8];
        let mut n = 0;
        for f in it.take(8) {
            v[n] = u64_prefix(f)?;
            n += 1;
        }
        if n < 4 {
            return None;
        }
        let [user, nice, system, idle, iowait, irq, softirq, steal] = v;
        let busy = user + nice + system + irq + softirq + steal;
        Some(CpuTimes {
            busy,
            total: busy + idle + iowait,
        })
    }

    /// Busy share between two readings, 0–100 (0 when no time passed).
    pub fn percent_since(self, prev: CpuTimes) -> f32 {
        let total = self.total.saturating_sub(prev.total);
        if total == 0 {
            return 0.0;
        }
        let busy = self.busy.saturating_sub(prev.busy).min(total);
        (busy as f64 * 100.0 / total as f64) as f32
    }
}

/// Which system-wide figures a reading takes. Each `/proc` read makes the
/// kernel generate the file's whole text (`/proc/stat` walks every
/// interrupt's counts), and each sensor is a sysfs read that costs tens of
/// microseconds after a second's sleep, so a figure nobody shows is not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Needs {
    /// `cpu_percent`, from `/proc/stat`.
    pub cpu: bool,
    /// `mem`, from `/proc/meminfo`.
    pub memory: bool,
    /// `load`, from `sysinfo()`.
    pub load: bool,
    /// `sensors.cpu_temp_c`: the CPU package temperature file.
    pub temp: bool,
    /// `sensors.cpu_freq_mhz`: every CPU's `scaling_cur_freq`.
    pub freq: bool,
    /// `sensors.gpu_*`: the GPU's busy and frequency files.
    pub gpu: bool,
    /// `sensors.power_profile`: the ACPI platform profile.
    pub profile: bool,
    /// `sensors.throttle`: the GPU's throttle reason files.
    pub throttle: bool,
}

impl Needs {
    /// Everything (reports, benchmarks, the health popup).
    pub const ALL: Needs = Needs {
        cpu: true,
        memory: true,
        load: true,
        temp: true,
        freq: true,
        gpu: true,
        profile: true,
        throttle: true,
    };
    /// Nothing but the online CPU count (always known) and the highest CPU
    /// frequency (read once at start-up).
    pub const NONE: Needs = Needs {
        cpu: false,
        memory: false,
        load: false,
        temp: false,
        freq: false,
        gpu: false,
        profile: false,
        throttle: false,
    };

    /// What either needs.
    pub fn union(self, other: Needs) -> Needs {
        Needs {
            cpu: self.cpu || other.cpu,
            memory: self.memory || other.memory,
            load: self.load || other.load,
            temp: self.temp || other.temp,
            freq: self.freq || other.freq,
            gpu: self.gpu || other.gpu,
            profile: self.profile || other.profile,
            throttle: self.throttle || other.throttle,
        }
    }
}

/// How many times each source was read (what a test counts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reads {
    pub stat: u64,
    pub meminfo: u64,
    pub sysinfo: u64,
}

/// Reads the system-wide part of a sample.
pub struct SystemReader {
    stat: File,
    meminfo: File,
    stat_path: String,
    meminfo_path: String,
    prev: Option<CpuTimes>,
    cores: u32,
    buf: Box<[u8; 8192]>,
    needs: Needs,
    reads: Reads,
}

fn open(path: &Path) -> Result<File, Error> {
    File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))
}

/// Reads as much of the file as fits from offset 0 in one `pread`.
pub fn pread_start<'a>(file: &File, buf: &'a mut [u8]) -> std::io::Result<&'a [u8]> {
    let n = file.read_at(buf, 0)?;
    Ok(&buf[..n])
}

impl SystemReader {
    /// Opens `/proc/stat` and `/proc/meminfo` under `roots`.
    pub fn open(roots: &Roots) -> Result<SystemReader, Error> {
        let stat_path = roots.proc.join("stat");
        let meminfo_path = roots.proc.join("meminfo");
        // SAFETY: sysconf has no memory-safety preconditions.
        let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        Ok(SystemReader {
            stat: open(&stat_path)?,
            meminfo: open(&meminfo_path)?,
            stat_path: stat_path.display().to_string(),
            meminfo_path: meminfo_path.display().to_string(),
            prev: None,
            // Read once: glibc's sysconf opens a sysfs file on every call.
            cores: u32::try_from(online).unwrap_or(1).max(1),
            buf: Box::new([0; 8192]),
            needs: Needs::ALL,
            reads: Reads::default(),
        })
    }

    /// From the next reading on, reads only what `needs` asks for; the
    /// figures not read keep what they held. CPU that was not followed
    /// starts again from a baseline (not an average over the pause).
    pub fn set_needs(&mut self, needs: Needs) {
        if !needs.cpu {
            self.prev = None;
        }
        self.needs = needs;
    }

    /// The sources read so far.
    pub fn reads(&self) -> Reads {
        self.reads
    }

    /// The next reading is a baseline: it leaves `cpu_percent` as it was.
    pub fn forget_rates(&mut self) {
        self.prev = None;
    }

    /// Fills `cores` and what [`SystemReader::set_needs`] asked for:
    /// `cpu_percent` (left as it was on a baseline reading), `mem`, `load`.
    pub fn read(&mut self, out: &mut Sample) -> Result<(), Error> {
        out.cores = self.cores;
        if self.needs.cpu {
            self.read_cpu(out)?;
        }
        if self.needs.memory {
            self.read_memory(out)?;
        }
        if self.needs.load {
            self.reads.sysinfo += 1;
            out.load = load_averages();
        }
        Ok(())
    }

    fn read_cpu(&mut self, out: &mut Sample) -> Result<(), Error> {
        self.reads.stat += 1;
        let stat = pread_start(&self.stat, &mut self.buf[..])
            .map_err(|e| Error::io(format!("reading {}", self.stat_path), e))?;
        let now = CpuTimes::parse(stat)
            .ok_or_else(|| Error::msg(format!("{}: no aggregate cpu line", self.stat_path)))?;
        // Without a baseline (the first reading, or after a sleep) the
        // figure shown stays what it was.
        if let Some(prev) = self.prev {
            out.cpu_percent = now.percent_since(prev);
        }
        self.prev = Some(now);
        Ok(())
    }

    fn read_memory(&mut self, out: &mut Sample) -> Result<(), Error> {
        self.reads.meminfo += 1;
        let mem = pread_start(&self.meminfo, &mut self.buf[..])
            .map_err(|e| Error::io(format!("reading {}", self.meminfo_path), e))?;
        let kib = |key: &[u8]| keyed_u64(mem, key).map(|v| v * 1024);
        let total = kib(b"MemTotal")
            .ok_or_else(|| Error::msg(format!("{}: no MemTotal line", self.meminfo_path)))?;
        // Kernels before 3.14 lack MemAvailable; free + cached is what free(1)
        // estimated then.
        let available = kib(b"MemAvailable")
            .or_else(|| Some(kib(b"MemFree")? + kib(b"Cached").unwrap_or(0)))
            .unwrap_or(0)
            .min(total);
        let swap_total = kib(b"SwapTotal").unwrap_or(0);
        let swap_free = kib(b"SwapFree").unwrap_or(0).min(swap_total);
        out.mem.total = total;
        out.mem.available = available;
        out.mem.used = total - available;
        out.mem.swap_total = swap_total;
        out.mem.swap_used = swap_total - swap_free;
        Ok(())
    }
}

/// Load averages from `sysinfo()` (one syscall, no text).
fn load_averages() -> [f32; 3] {
    // SAFETY: sysinfo only writes into the zeroed struct we own.
    let mut info: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is valid for the duration of the call.
    if unsafe { libc::sysinfo(&mut info) } != 0 {
        return [0.0; 3];
    }
    // The kernel's fixed point: SI_LOAD_SHIFT = 16.
    info.loads.map(|l| l as f32 / 65536.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_the_sources_it_needs_from_the_running_kernel() {
        let mut r = SystemReader::open(&Roots::default()).unwrap();
        let mut s = Sample {
            cpu_percent: -1.0,
            load: [-1.0; 3],
            ..Sample::default()
        };
        r.set_needs(Needs {
            memory: true,
            ..Needs::NONE
        });
        for _ in 0..3 {
            r.read(&mut s).unwrap();
        }
        assert_eq!(
            r.reads(),
            Reads {
                stat: 0,
                meminfo: 3,
                sysinfo: 0
            }
        );
        assert!(s.mem.total > 0 && s.mem.used <= s.mem.total);
        assert!(s.cores >= 1);
        assert_eq!((s.cpu_percent, s.load), (-1.0, [-1.0; 3]), "not read: kept");

        r.set_needs(Needs::NONE);
        r.read(&mut s).unwrap();
        assert_eq!(r.reads().meminfo, 3, "nothing read");

        r.set_needs(Needs::ALL);
        r.read(&mut s).unwrap();
        // A baseline first: the CPU figure stays until the second reading.
        assert_eq!(s.cpu_percent, -1.0);
        r.read(&mut s).unwrap();
        assert!((0.0..=100.0).contains(&s.cpu_percent), "{}", s.cpu_percent);
        assert!(s.load.iter().all(|l| *l >= 0.0));
        assert_eq!(
            r.reads(),
            Reads {
                stat: 2,
                meminfo: 5,
                sysinfo: 2
            }
        );
    }

    #[test]
    fn cpu_line() {
        let t = CpuTimes::parse(b"cpu  100 5 50 800 20 3 2 1 7 0\ncpu0 1 2 3 4\n").unwrap();
        assert_eq!(t.busy, 161);
        assert_eq!(t.total, 981);
        let later = CpuTimes {
            busy: t.busy + 50,
            total: t.total + 100,
        };
        assert!((later.percent_since(t) - 50.0).abs() < 1e-3);
        assert_eq!(t.percent_since(t), 0.0);
        assert!(CpuTimes::parse(b"intr 5\n").is_none());
        assert!(CpuTimes::parse(b"cpu 1 2\n").is_none());
    }
}

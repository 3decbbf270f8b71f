//! System-wide figures: CPU from the root cgroup's `cpu.stat` where cgroup v2
//! is mounted, else `/proc/stat`; memory from `/proc/meminfo`; load from
//! `sysinfo()`. Files are opened once and read with `pread`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use super::parse::{fields, first_line, keyed_u64s, u64_prefix};
use super::{Error, Roots, Sample};

/// Busy and total CPU time of all CPUs together: jiffies from `/proc/stat`'s
/// first line, or µs from the root cgroup (only differences are used).
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

    /// Busy time from a root cgroup's `cpu.stat` (`usage_usec`, in µs), the
    /// total being `elapsed_us` of monotonic time on each of `cores` CPUs.
    pub fn from_cgroup(cpu_stat: &[u8], elapsed_us: u64, cores: u32) -> Option<CpuTimes> {
        let line = first_line(cpu_stat);
        let usage = line.strip_prefix(b"usage_usec ")?;
        Some(CpuTimes {
            busy: u64_prefix(usage)?,
            total: elapsed_us.saturating_mul(cores as u64),
        })
    }
}

/// Where the machine's busy CPU time comes from.
enum CpuSource {
    /// `/proc/stat`'s first line. The kernel generates the whole file for
    /// each read, walking every interrupt's counts per CPU: 8 µs a read
    /// here, warm.
    Stat,
    /// The root cgroup's `cpu.stat` (cgroup v2, also mounted on hybrid
    /// systems): the same per-CPU counters summed (user, nice, system, irq,
    /// softirq; steal, which only a guest has, is not busy here) without the
    /// interrupt walk, 1.3 µs a read here. It has no idle time, so the total
    /// is the monotonic time since `epoch` on every online CPU.
    RootCgroup {
        file: File,
        path: String,
        epoch: Instant,
    },
}

/// The root cgroup's `cpu.stat` under `sys`, if cgroup v2 is mounted in one
/// of the usual places (`fs/cgroup` unified, `fs/cgroup/unified` hybrid) and
/// that directory is the real root: only a child cgroup, which is what a
/// cgroup namespace shows as its root, has `cgroup.events`, and a child's
/// usage is its own tasks', not the machine's.
fn root_cgroup_cpu_stat(sys: &Path) -> Option<(File, String)> {
    for dir in ["fs/cgroup", "fs/cgroup/unified"] {
        let dir = sys.join(dir);
        if !dir.join("cgroup.controllers").exists() || dir.join("cgroup.events").exists() {
            continue;
        }
        let path = dir.join("cpu.stat");
        let Ok(file) = File::open(&path) else {
            continue;
        };
        let mut buf = [0u8; 256];
        let readable = pread_start(&file, &mut buf)
            .ok()
            .and_then(|text| CpuTimes::from_cgroup(text, 0, 1));
        if readable.is_some() {
            return Some((file, path.display().to_string()));
        }
    }
    None
}

/// Which system-wide figures a reading takes. Each `/proc` read makes the
/// kernel generate the file's whole text (`/proc/stat` walks every
/// interrupt's counts), and each sensor is a sysfs read that costs tens of
/// microseconds after a second's sleep, so a figure nobody shows is not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Needs {
    /// `cpu_percent`, from the root cgroup or `/proc/stat`.
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
    /// The CPU source (the root cgroup's `cpu.stat` or `/proc/stat`).
    pub stat: u64,
    pub meminfo: u64,
    pub sysinfo: u64,
}

/// Reads the system-wide part of a sample.
pub struct SystemReader {
    stat: File,
    cpu: CpuSource,
    meminfo: File,
    stat_path: String,
    meminfo_path: String,
    prev: Option<CpuTimes>,
    cores: u32,
    buf: Box<[u8; 8192]>,
    needs: Needs,
    reads: Reads,
    /// A change of source the user should hear of, once.
    notice: Option<String>,
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
        let cpu = match root_cgroup_cpu_stat(&roots.sys) {
            Some((file, path)) => CpuSource::RootCgroup {
                file,
                path,
                epoch: Instant::now(),
            },
            None => CpuSource::Stat,
        };
        Ok(SystemReader {
            stat: open(&stat_path)?,
            cpu,
            meminfo: open(&meminfo_path)?,
            stat_path: stat_path.display().to_string(),
            meminfo_path: meminfo_path.display().to_string(),
            prev: None,
            cores: online_cpus(),
            buf: Box::new([0; 8192]),
            needs: Needs::ALL,
            reads: Reads::default(),
            notice: None,
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
    /// Called after the machine slept, which is also when CPUs go offline
    /// and come back, so the online count is taken again.
    pub fn forget_rates(&mut self) {
        self.prev = None;
        self.cores = online_cpus();
    }

    /// What the reader has to say once, if anything.
    pub fn take_notice(&mut self) -> Option<String> {
        self.notice.take()
    }

    /// Where CPU time is read from (for reports and tests).
    pub fn cpu_source(&self) -> &str {
        match &self.cpu {
            CpuSource::Stat => &self.stat_path,
            CpuSource::RootCgroup { path, .. } => path,
        }
    }

    /// Fills `cores` and what [`SystemReader::set_needs`] asked for:
    /// `cpu_percent` (left as it was on a baseline reading), `mem`, `load`.
    pub fn read(&mut self, now: Instant, out: &mut Sample) -> Result<(), Error> {
        out.cores = self.cores;
        if self.needs.cpu {
            self.read_cpu(now, out)?;
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

    fn read_cpu(&mut self, at: Instant, out: &mut Sample) -> Result<(), Error> {
        self.reads.stat += 1;
        let now = match &self.cpu {
            CpuSource::Stat => {
                let stat = pread_start(&self.stat, &mut self.buf[..])
                    .map_err(|e| Error::io(format!("reading {}", self.stat_path), e))?;
                CpuTimes::parse(stat).ok_or_else(|| {
                    Error::msg(format!("{}: no aggregate cpu line", self.stat_path))
                })?
            }
            CpuSource::RootCgroup { file, path, epoch } => {
                let us = at.saturating_duration_since(*epoch).as_micros() as u64;
                let read = pread_start(file, &mut self.buf[..])
                    .ok()
                    .and_then(|text| CpuTimes::from_cgroup(text, us, self.cores));
                match read {
                    Some(t) => t,
                    None => {
                        // The cgroup file went away or changed form: from
                        // now on `/proc/stat`, from a new baseline (the
                        // two count in different units).
                        self.notice = Some(format!(
                            "{path} cannot be read; CPU time from {} from now on",
                            self.stat_path
                        ));
                        self.cpu = CpuSource::Stat;
                        self.prev = None;
                        return self.read_cpu(at, out);
                    }
                }
            }
        };
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
        let [total, available, free, cached, swap_total, swap_free] = keyed_u64s(
            mem,
            [
                b"MemTotal",
                b"MemAvailable",
                b"MemFree",
                b"Cached",
                b"SwapTotal",
                b"SwapFree",
            ],
        )
        .map(|v| v.map(|kib| kib.saturating_mul(1024)));
        let total =
            total.ok_or_else(|| Error::msg(format!("{}: no MemTotal line", self.meminfo_path)))?;
        // Kernels before 3.14 lack MemAvailable; free + cached is what free(1)
        // estimated then.
        let available = available
            .or_else(|| Some(free?.saturating_add(cached.unwrap_or(0))))
            .unwrap_or(0)
            .min(total);
        let swap_total = swap_total.unwrap_or(0);
        let swap_free = swap_free.unwrap_or(0).min(swap_total);
        out.mem.total = total;
        out.mem.available = available;
        out.mem.used = total - available;
        out.mem.swap_total = swap_total;
        out.mem.swap_used = swap_total - swap_free;
        Ok(())
    }
}

/// The online CPU count. Not per reading: glibc's sysconf opens a sysfs
/// file on every call.
fn online_cpus() -> u32 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    u32::try_from(online).unwrap_or(1).max(1)
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
            r.read(Instant::now(), &mut s).unwrap();
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
        r.read(Instant::now(), &mut s).unwrap();
        assert_eq!(r.reads().meminfo, 3, "nothing read");

        r.set_needs(Needs::ALL);
        r.read(Instant::now(), &mut s).unwrap();
        // A baseline first: the CPU figure stays until the second reading.
        assert_eq!(s.cpu_percent, -1.0);
        r.read(Instant::now(), &mut s).unwrap();
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

    #[test]
    fn cgroup_usage_line() {
        let text = b"usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\n";
        let t = CpuTimes::from_cgroup(text, 10_000_000, 2).unwrap();
        assert_eq!((t.busy, t.total), (3_000_000, 20_000_000));
        // One second later on two CPUs, one of them busy throughout.
        let later = CpuTimes::from_cgroup(b"usage_usec 4000000\n", 11_000_000, 2).unwrap();
        assert!((later.percent_since(t) - 50.0).abs() < 1e-3);
        assert!(CpuTimes::from_cgroup(b"user_usec 5\n", 0, 1).is_none());
        assert!(CpuTimes::from_cgroup(b"usage_usec x\n", 0, 1).is_none());
        assert!(CpuTimes::from_cgroup(b"", 0, 1).is_none());
    }

    /// A fixture machine: `proc/{stat,meminfo}` and, where asked, a cgroup v2
    /// directory at `sys/fs/cgroup/unified` (a hybrid layout).
    fn fixture(name: &str, cgroup: Option<&[(&str, &str)]>) -> (std::path::PathBuf, Roots) {
        let dir =
            std::env::temp_dir().join(format!("rstat-cpu-source-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let roots = Roots::under(&dir);
        std::fs::create_dir_all(&roots.proc).unwrap();
        std::fs::write(roots.proc.join("stat"), "cpu  100 0 100 800 0 0 0 0 0 0\n").unwrap();
        std::fs::write(
            roots.proc.join("meminfo"),
            "MemTotal: 1000 kB\nMemAvailable: 400 kB\n",
        )
        .unwrap();
        if let Some(files) = cgroup {
            let cg = roots.sys.join("fs/cgroup/unified");
            std::fs::create_dir_all(&cg).unwrap();
            for (file, text) in files {
                std::fs::write(cg.join(file), text).unwrap();
            }
        }
        (dir, roots)
    }

    #[test]
    fn the_root_cgroup_is_the_cpu_source_where_there_is_one() {
        let root: &[(&str, &str)] = &[("cgroup.controllers", ""), ("cpu.stat", "usage_usec 5\n")];
        // A child cgroup (a container's namespace root) counts only its own
        // tasks: not the machine's figure.
        let child: &[(&str, &str)] = &[
            ("cgroup.controllers", ""),
            ("cgroup.events", "populated 1\n"),
            ("cpu.stat", "usage_usec 5\n"),
        ];
        let odd: &[(&str, &str)] = &[("cgroup.controllers", ""), ("cpu.stat", "usage 5\n")];
        // No cgroup v2 (a v1-only machine), or one whose file is not the
        // expected form: `/proc/stat`.
        for (name, cgroup, source) in [
            ("root", Some(root), "fs/cgroup/unified/cpu.stat"),
            ("child", Some(child), "proc/stat"),
            ("none", None, "proc/stat"),
            ("odd", Some(odd), "proc/stat"),
        ] {
            let (dir, roots) = fixture(name, cgroup);
            let r = SystemReader::open(&roots).unwrap();
            assert!(
                r.cpu_source().ends_with(source),
                "{name}: {}",
                r.cpu_source()
            );
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn a_cgroup_file_gone_bad_falls_back_to_proc_stat_with_one_notice() {
        let cg = [("cgroup.controllers", ""), ("cpu.stat", "usage_usec 5\n")];
        let (dir, roots) = fixture("bad", Some(&cg));
        let mut r = SystemReader::open(&roots).unwrap();
        r.set_needs(Needs {
            cpu: true,
            ..Needs::NONE
        });
        let mut s = Sample::default();
        r.read(Instant::now(), &mut s).unwrap();
        assert_eq!(r.take_notice(), None);
        let file = roots.sys.join("fs/cgroup/unified/cpu.stat");
        std::fs::write(&file, "garbage\n").unwrap();
        s.cpu_percent = -1.0;
        r.read(Instant::now(), &mut s).unwrap();
        assert!(r.cpu_source().ends_with("proc/stat"), "{}", r.cpu_source());
        let notice = r.take_notice().expect("the change of source is said");
        assert!(
            notice.contains("cpu.stat") && notice.contains("proc/stat"),
            "{notice}"
        );
        assert_eq!(r.take_notice(), None, "said once");
        assert_eq!(
            s.cpu_percent, -1.0,
            "a new baseline, not a rate across units"
        );
        std::fs::write(roots.proc.join("stat"), "cpu  150 0 150 900 0 0 0 0 0 0\n").unwrap();
        r.read(Instant::now(), &mut s).unwrap();
        assert!((s.cpu_percent - 50.0).abs() < 1e-3, "{}", s.cpu_percent);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The running kernel: with one of the CPUs kept busy, the root cgroup's
    /// figure and `/proc/stat`'s agree.
    #[test]
    fn the_root_cgroup_and_proc_stat_agree_on_the_running_kernel() {
        let mut cgroup = SystemReader::open(&Roots::default()).unwrap();
        if !cgroup.cpu_source().ends_with("cpu.stat") {
            eprintln!("skipped: no cgroup v2 root here ({})", cgroup.cpu_source());
            return;
        }
        let mut stat = SystemReader::open(&Roots {
            proc: "/proc".into(),
            sys: "/nonexistent".into(),
        })
        .unwrap();
        assert!(stat.cpu_source().ends_with("proc/stat"));
        let only_cpu = Needs {
            cpu: true,
            ..Needs::NONE
        };
        cgroup.set_needs(only_cpu);
        stat.set_needs(only_cpu);
        let (mut a, mut b) = (Sample::default(), Sample::default());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let spin = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        let now = Instant::now();
        cgroup.read(now, &mut a).unwrap();
        stat.read(now, &mut b).unwrap();
        std::thread::sleep(std::time::Duration::from_secs(2));
        let now = Instant::now();
        cgroup.read(now, &mut a).unwrap();
        stat.read(now, &mut b).unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        spin.join().unwrap();
        let floor = 100.0 / a.cores as f32;
        eprintln!(
            "busy: cgroup {:.1}%, /proc/stat {:.1}% ({} CPUs, one spinning)",
            a.cpu_percent, b.cpu_percent, a.cores
        );
        assert!(a.cpu_percent >= floor * 0.8, "cgroup {}", a.cpu_percent);
        assert!(
            (a.cpu_percent - b.cpu_percent).abs() <= 10.0,
            "cgroup {} vs /proc/stat {}",
            a.cpu_percent,
            b.cpu_percent
        );
    }
}

//! The kernel side: everything the bar knows about the machine's health.
//!
//! No Wayland, no pixels. A [`Sampler`] combines the system-wide readers
//! ([`system`], [`sysfs`]) with one [`ProcessSource`], the per-process half,
//! which has two real implementations: [`procfs::ProcfsSource`] (works
//! everywhere) and [`bpf`] (reads what the eBPF probe keeps in the kernel).

pub mod battery;
pub mod bpf;
pub mod error;
pub mod net;
pub mod parse;
pub mod privilege;
pub mod procfs;
pub mod sample;
pub mod sysfs;
pub mod system;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use error::Error;
pub use sample::*;

/// Where the kernel's pseudo-filesystems are; tests point these at fixture
/// trees (`--root DIR` means `DIR/proc` and `DIR/sys`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Roots {
    pub proc: PathBuf,
    pub sys: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc: PathBuf::from("/proc"),
            sys: PathBuf::from("/sys"),
        }
    }
}

impl Roots {
    /// `dir/proc` and `dir/sys`.
    pub fn under(dir: &Path) -> Roots {
        Roots {
            proc: dir.join("proc"),
            sys: dir.join("sys"),
        }
    }
}

/// The per-process half of a collector.
pub trait ProcessSource {
    /// Which collector this is, for output and benchmarks.
    fn kind(&self) -> CollectorKind;

    /// Refreshes per-process figures and fills `out.tasks` and the three top
    /// lists. `elapsed_ns` is the wall time since the previous call (0 on the
    /// first, whose rates are zero); `cores` converts CPU time to a share of
    /// the machine. Must not allocate in the steady state.
    ///
    /// A source that counts system CPU better than `/proc/stat` (it saw
    /// short-lived tasks too) may overwrite `out.cpu_percent`, which holds the
    /// `/proc/stat` figure when this is called.
    fn collect(&mut self, elapsed_ns: u64, cores: u32, out: &mut Sample) -> Result<(), Error>;
}

/// Which collector the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// BPF when it loads, else procfs (saying why once on stderr).
    Auto,
    Bpf,
    Procfs,
}

impl Choice {
    /// Parses the `--collector` value.
    pub fn parse(s: &str) -> Option<Choice> {
        match s {
            "auto" => Some(Choice::Auto),
            "bpf" => Some(Choice::Bpf),
            "procfs" => Some(Choice::Procfs),
            _ => None,
        }
    }
}

/// Opens the process source for `choice`. For `Auto`, a BPF failure falls back
/// to procfs and the reason is returned beside it so the caller can say it
/// once; for `Bpf`, the failure is the error.
pub fn open_source(
    choice: Choice,
    roots: &Roots,
) -> Result<(Box<dyn ProcessSource>, Option<Error>), Error> {
    match choice {
        Choice::Procfs => Ok((Box::new(procfs::ProcfsSource::open(roots)?), None)),
        Choice::Bpf => Ok((bpf::open()?, None)),
        Choice::Auto => match bpf::open() {
            Ok(src) => Ok((src, None)),
            Err(why) => Ok((Box::new(procfs::ProcfsSource::open(roots)?), Some(why))),
        },
    }
}

/// One collector: system readers plus a process source, with the clock that
/// turns counters into rates.
pub struct Sampler {
    system: system::SystemReader,
    sensors: sysfs::SensorSet,
    procs: Box<dyn ProcessSource>,
    last: Option<Instant>,
}

impl Sampler {
    /// Opens the system files under `roots` and discovers sensors (once).
    pub fn new(roots: &Roots, procs: Box<dyn ProcessSource>) -> Result<Sampler, Error> {
        Ok(Sampler {
            system: system::SystemReader::open(roots)?,
            sensors: sysfs::SensorSet::discover(&roots.sys),
            procs,
            last: None,
        })
    }

    /// Which collector fills the per-process part.
    pub fn kind(&self) -> CollectorKind {
        self.procs.kind()
    }

    /// Takes one sample into `out`. Rates cover the time since the previous
    /// call; the first call only sets baselines (rates zero).
    pub fn sample(&mut self, out: &mut Sample) -> Result<(), Error> {
        let now = Instant::now();
        let elapsed_ns = match self.last {
            Some(t) => now.duration_since(t).as_nanos() as u64,
            None => 0,
        };
        self.last = Some(now);
        out.collector = self.procs.kind();
        out.interval_ns = elapsed_ns;
        self.system.read(out)?;
        self.sensors.read(now, &mut out.sensors);
        self.procs.collect(elapsed_ns, out.cores, out)
    }
}

//! The kernel side: everything the bar knows about the machine's health.
//!
//! No Wayland, no pixels. A [`Sampler`] combines the system-wide readers
//! ([`system`], [`sysfs`]) with one [`ProcessSource`], the per-process half,
//! which has three real implementations: [`procfs::ProcfsSource`] (works
//! everywhere), [`bpf::BpfSource`] (reads what the eBPF probe keeps in the
//! kernel) and [`bpf::IterSource`] (walks the tasks with a BPF iterator).

pub mod backlight;
pub mod battery;
pub mod bpf;
pub mod disk;
pub mod error;
pub mod net;
pub mod parse;
pub mod privilege;
pub mod procfs;
pub mod sample;
pub mod suspend;
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
    /// A source that counts system CPU better than the system reader (it saw
    /// short-lived tasks too) may overwrite `out.cpu_percent`, which holds the
    /// system reader's figure (root cgroup or `/proc/stat`) when this is
    /// called.
    fn collect(&mut self, elapsed_ns: u64, cores: u32, out: &mut Sample) -> Result<(), Error>;

    /// Run time and run count of this collector's BPF programs so far
    /// (counted only while BPF stats are enabled); `None` for a collector
    /// without any.
    fn bpf_stats(&self) -> Option<Result<bpf::ProbeStats, Error>> {
        None
    }

    /// Something the user should hear once (a table that cannot grow any
    /// further): taken by the bar after a walk and said on stderr.
    fn take_notice(&mut self) -> Option<String> {
        None
    }

    /// Whether those programs run inside `collect` (an iterator read by the
    /// tick itself, so their time is already in the tick's) rather than in
    /// other tasks' context between ticks (a tracepoint hook).
    fn bpf_runs_in_tick(&self) -> bool {
        false
    }
}

/// Which collector the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    /// The cheapest collector that loads: see [`AUTO_ORDER`]; procfs (saying
    /// why once on stderr) when no BPF collector loads.
    Auto,
    Bpf,
    Iter,
    Procfs,
}

/// The order `auto` tries the BPF collectors in: cheapest total cost first.
///
/// Total cost is the tick's own CPU time (user + kernel) times ticks per
/// second, plus the time our BPF programs spend in the kernel outside the
/// tick. Measured on this project's 2-core 6.18 VM with ~430 processes at a 1 s
/// tick (`cargo test --release --test iter_bench --
/// --ignored --nocapture`; README, "Performance"):
///
/// | collector | idle (~1,400–2,300 switches/s) | storm (~23,000 switches/s) |
/// |-----------|-------------------------------|----------------------------|
/// | `iter`    | 196 µs/s (0.020%)             | 205–219 µs/s (0.021–0.022%) |
/// | `bpf`     | 1,086–1,543 µs/s (0.11–0.15%) | 5,996–7,747 µs/s (0.60–0.77%) |
/// | `procfs`  | 6,869–7,449 µs/s (0.69–0.74%) | 7,242–7,423 µs/s (0.72–0.74%) |
///
/// (medians of two sessions of three rounds each.)
///
/// - `iter` pays for its walk and nothing else: its program runs only
///   inside our `read()` (so its kernel time is already in the tick's), and
///   nothing of ours runs between ticks, whatever the switch rate.
/// - `bpf` has the cheapest tick (≈ 50 µs: it reads a shared mapping), but
///   its `sched_switch` hook runs on every switch of every CPU: ≈ 260–340
///   ns per switch when switches are frequent, 0.4–1 µs at a quiet
///   machine's rate (colder caches), so already 5–8× `iter`'s whole cost
///   at 1,400–2,300 switches/s. It would win only below roughly 150–350
///   switches/s, which a machine running a compositor and a bar hardly sees.
/// - `procfs` reads two files per process: milliseconds per tick.
///
/// So `iter` first, `bpf` where the iterator cannot load (a kernel whose
/// BTF lacks `bpf_iter_task`, or one that refuses iterator links), procfs
/// last. The order is fixed rather than measured at
/// start-up: measuring would cost more than it could save, and the ranking
/// held idle and under the storm in every round.
pub const AUTO_ORDER: [Choice; 2] = [Choice::Iter, Choice::Bpf];

impl Choice {
    /// Parses the `--collector` value.
    pub fn parse(s: &str) -> Option<Choice> {
        match s {
            "auto" => Some(Choice::Auto),
            "bpf" => Some(Choice::Bpf),
            "iter" => Some(Choice::Iter),
            "procfs" => Some(Choice::Procfs),
            _ => None,
        }
    }
}

/// Opens the process source for `choice`. For `Auto`, the collectors of
/// [`AUTO_ORDER`] are tried in turn; when none loads, procfs is used and the
/// first collector's reason is returned beside it so the caller can say it
/// once. For `Bpf` or `Iter`, the failure is the error.
pub fn open_source(
    choice: Choice,
    roots: &Roots,
) -> Result<(Box<dyn ProcessSource>, Option<Error>), Error> {
    match choice {
        Choice::Procfs => Ok((Box::new(procfs::ProcfsSource::open(roots)?), None)),
        Choice::Bpf => Ok((bpf::open()?, None)),
        Choice::Iter => Ok((Box::new(bpf::open_iter()?), None)),
        Choice::Auto => {
            let mut first_err = None;
            for c in AUTO_ORDER {
                let r = match c {
                    Choice::Iter => bpf::open_iter().map(|s| Box::new(s) as Box<dyn ProcessSource>),
                    _ => bpf::open(),
                };
                match r {
                    Ok(src) => return Ok((src, None)),
                    Err(why) => {
                        first_err.get_or_insert(why);
                    }
                }
            }
            // The caller says why in one line: a verifier log stays for
            // `--collector iter|bpf`, which fail with the whole error.
            let why = first_err.map(|e| {
                let text = e.to_string();
                match text.lines().next() {
                    Some(first) if first.len() < text.len() => Error::msg(first.to_string()),
                    _ => e,
                }
            });
            Ok((Box::new(procfs::ProcfsSource::open(roots)?), why))
        }
    }
}

/// One collector: system readers plus a process source, with the clocks
/// that turn counters into rates.
///
/// The two halves run apart: the system figures (CPU, memory, load,
/// sensors) every time a module shows them, the per-process walk only when
/// somebody looks at its result (the health popup, a `tasks` placeholder).
/// Each half keeps its own clock, so a walk's rates cover the time since the
/// previous walk, whenever that was.
pub struct Sampler {
    system: system::SystemReader,
    sensors: sysfs::SensorSet,
    procs: Box<dyn ProcessSource>,
    needs: system::Needs,
    last: Option<Instant>,
    /// The previous walk; `None`: the next walk only sets baselines.
    last_walk: Option<Instant>,
    walk_rated: bool,
    walks: u64,
    /// The machine slept: the next walk is a baseline that keeps showing
    /// the rates from before (not an empty list for a tick).
    hold_walk_rates: bool,
}

impl Sampler {
    /// Opens the system files under `roots` and discovers sensors (once).
    pub fn new(roots: &Roots, procs: Box<dyn ProcessSource>) -> Result<Sampler, Error> {
        Ok(Sampler {
            system: system::SystemReader::open(roots)?,
            sensors: sysfs::SensorSet::discover(&roots.sys),
            procs,
            needs: system::Needs::ALL,
            last: None,
            last_walk: None,
            walk_rated: false,
            walks: 0,
            hold_walk_rates: false,
        })
    }

    /// Which system-wide figures [`Sampler::sample_system`] reads from now
    /// on ([`system::Needs::ALL`] until told otherwise).
    pub fn set_needs(&mut self, needs: system::Needs) {
        self.system.set_needs(needs);
        if !needs.gpu {
            // GPU busy from idle residency starts again from a baseline.
            self.sensors.forget_rates();
        }
        self.needs = needs;
    }

    /// How often each system source was read.
    pub fn system_reads(&self) -> system::Reads {
        self.system.reads()
    }

    /// How many sensor files were read.
    pub fn sensor_reads(&self) -> u64 {
        self.sensors.reads()
    }

    /// Which collector fills the per-process part.
    pub fn kind(&self) -> CollectorKind {
        self.procs.kind()
    }

    /// The process source (for benchmarks: its BPF programs' cost).
    pub fn source(&self) -> &dyn ProcessSource {
        self.procs.as_ref()
    }

    /// Takes one whole sample into `out`: the system figures and the
    /// process walk. Rates cover the time since the previous call; the first
    /// call only sets baselines (rates zero).
    pub fn sample(&mut self, out: &mut Sample) -> Result<(), Error> {
        self.sample_system(out)?;
        self.walk(out)
    }

    /// The system half only: CPU, memory, load and sensors into `out`; the
    /// per-process fields keep what the last walk left there. Costs no walk.
    pub fn sample_system(&mut self, out: &mut Sample) -> Result<(), Error> {
        let now = Instant::now();
        let elapsed_ns = match self.last {
            Some(t) => now.duration_since(t).as_nanos() as u64,
            None => 0,
        };
        self.last = Some(now);
        out.collector = self.procs.kind();
        out.interval_ns = elapsed_ns;
        self.system.read(now, out)?;
        self.sensors.read(now, self.needs, &mut out.sensors);
        Ok(())
    }

    /// The process half: walks every process and fills `out.tasks` and the
    /// top lists, with rates since the previous walk (none after
    /// [`Sampler::pause_walks`] or on the first: baselines only). A source
    /// that counts system CPU itself may refine `out.cpu_percent`, so call
    /// it after [`Sampler::sample_system`] of the same moment.
    pub fn walk(&mut self, out: &mut Sample) -> Result<(), Error> {
        let now = Instant::now();
        let elapsed_ns = match self.last_walk {
            Some(t) => now.duration_since(t).as_nanos() as u64,
            None => 0,
        };
        self.last_walk = Some(now);
        self.walk_rated = elapsed_ns > 0;
        self.walks += 1;
        if !std::mem::take(&mut self.hold_walk_rates) {
            return self.procs.collect(elapsed_ns, out.cores, out);
        }
        let (cpu, io) = (out.top_cpu, out.top_io);
        let r = self.procs.collect(elapsed_ns, out.cores, out);
        (out.top_cpu, out.top_io) = (cpu, io);
        r
    }

    /// The machine slept since the last sample (see [`suspend`]): counters
    /// may have moved, or started again, while the monotonic clock stood
    /// still, so every rate starts from a new baseline. The next sample and
    /// walk take those baselines and leave the rates they would have shown
    /// (system CPU, GPU busy, the CPU and IO top lists) as they were; the
    /// ones after show rates over time awake only.
    pub fn forget_rates(&mut self) {
        self.last = None;
        self.system.forget_rates();
        self.sensors.forget_rates();
        if self.last_walk.take().is_some() {
            self.walk_rated = false;
            self.hold_walk_rates = true;
        }
    }

    /// What the system reader or the process source has to say once, if
    /// anything (see [`ProcessSource::take_notice`]).
    pub fn take_notice(&mut self) -> Option<String> {
        self.system
            .take_notice()
            .or_else(|| self.procs.take_notice())
    }

    /// Nobody looks at per-process figures for now: the next walk takes
    /// baselines rather than rates averaged over the whole pause.
    pub fn pause_walks(&mut self) {
        self.last_walk = None;
        self.walk_rated = false;
    }

    /// Whether the last walk had rates (it was not a baseline).
    pub fn last_walk_rated(&self) -> bool {
        self.walk_rated
    }

    /// When the last walk was taken (since the last pause).
    pub fn last_walk(&self) -> Option<Instant> {
        self.last_walk
    }

    /// How many process walks this sampler has taken.
    pub fn walks(&self) -> u64 {
        self.walks
    }
}

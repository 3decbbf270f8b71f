//! Rates across a suspend: the tick after a resume takes new baselines
//! instead of dividing what the counters did over the sleep by the
//! monotonic time, which stood still.
//!
//! The clocks are injected (this shared machine cannot be suspended), the
//! same way the bar feeds them: its ticker asks a `SleepWatch` with
//! `Clocks::now()` before each sample and, when it says the machine slept,
//! calls `Sampler::forget_rates` and `Modules::forget_rates`. The counters
//! are a fixture tree doing what real ones do across a resume: a virtual
//! machine's steal time counts the whole pause (`/proc/stat`), a GPU's RC6
//! residency starts again from zero, a NIC's counters moved.

mod common;

use std::time::{Duration, Instant};

use rstat::collect::procfs::ProcfsSource;
use rstat::collect::suspend::{Clocks, SleepWatch};
use rstat::collect::{Sample, Sampler};
use rstat::modules::{Context, Modules, Segment, Sources};

use common::fixture::Tree;

const ROUTE: &str =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";

/// What the counters say at one moment.
#[derive(Clone, Copy)]
struct Counters {
    /// `/proc/stat` busy (user) and idle jiffies; steal counts as busy.
    user: u64,
    idle: u64,
    steal: u64,
    /// The GPU's RC6 residency, ms.
    rc6_ms: u64,
    /// eth0's received bytes.
    rx: u64,
    /// Process 4242's utime (ticks) and read bytes.
    proc_ticks: u64,
    proc_read: u64,
}

fn machine(name: &str) -> Tree {
    let t = Tree::new(name);
    t.put(
        "proc/meminfo",
        "MemTotal: 8000000 kB\nMemFree: 4000000 kB\nMemAvailable: 6000000 kB\n",
    );
    t.put("proc/net/route", ROUTE);
    t.mkdir("sys/class/net/eth0/device");
    t.put("sys/class/net/eth0/operstate", "up\n");
    t.put("sys/class/net/eth0/statistics/tx_bytes", "0\n");
    let gt = "sys/class/drm/card1/gt/gt0";
    t.put(&format!("{gt}/rps_act_freq_mhz"), "1300\n");
    t.put(&format!("{gt}/rps_max_freq_mhz"), "1500\n");
    t
}

fn set(t: &Tree, c: Counters) {
    t.put(
        "proc/stat",
        &format!(
            "cpu  {} 0 0 {} 0 0 0 {} 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n",
            c.user, c.idle, c.steal
        ),
    );
    t.put(
        "sys/class/drm/card1/gt/gt0/rc6_residency_ms",
        &format!("{}\n", c.rc6_ms),
    );
    t.put(
        "sys/class/net/eth0/statistics/rx_bytes",
        &format!("{}\n", c.rx),
    );
    t.put(
        "proc/4242/stat",
        &format!(
            "4242 (busy) R 1 4242 4242 0 -1 0 0 0 0 0 {} 0 0 0 20 0 1 0 500 1000000 100 0\n",
            c.proc_ticks
        ),
    );
    t.put(
        "proc/4242/io",
        &format!(
            "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: {}\nwrite_bytes: 0\ncancelled_write_bytes: 0\n",
            c.proc_read
        ),
    );
}

/// One bar's worth of state over the fixture: sampler, modules, sample.
struct Bar {
    sampler: Sampler,
    modules: Modules,
    sample: Sample,
    sleep: SleepWatch,
    /// Whether it resets baselines after a sleep (the control does not).
    resets: bool,
}

impl Bar {
    fn new(t: &Tree, t0: Instant, resets: bool) -> Bar {
        let cfg = rstat::modules::registry::parse(
            "[bar]\nleft = [\"cpu\", \"gpu\", \"network\"]\ncenter = []\nright = []\n\
             [module.cpu]\nformat = \"{usage:.0}\"\n\
             [module.gpu]\nformat = \"{gpu_busy:.0}\"\n\
             [module.network]\nformat = \"{rx_kib:.0}\"\n",
            "suspend.toml",
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let roots = t.roots();
        let procs = ProcfsSource::open(&roots).expect("the fixture /proc");
        Bar {
            sampler: Sampler::new(&roots, Box::new(procs)).expect("a sampler"),
            modules: Modules::with_sources(&cfg, t0, &Sources { roots }),
            sample: Sample::default(),
            sleep: SleepWatch::default(),
            resets,
        }
    }

    /// One tick at monotonic `now` with the clocks reading `clocks`: what
    /// the modules draw, and the sample's top lists (CPU, IO) by pid.
    fn tick(&mut self, now: Instant, clocks: Clocks) -> (Vec<String>, Vec<u32>, Vec<u32>) {
        if self.sleep.slept(clocks).is_some() && self.resets {
            self.sampler.forget_rates();
            self.modules.forget_rates();
        }
        self.sampler.sample(&mut self.sample).expect("a sample");
        self.modules.update_all(&Context {
            now,
            wall: Duration::from_secs(1_764_090_000),
            sample: &self.sample,
        });
        let mut segs: Vec<Segment> = Vec::new();
        self.modules.write(&mut segs);
        let texts = segs.iter().map(|s| s.text.as_str().to_string()).collect();
        let cpu = self
            .sample
            .top_cpu
            .as_slice()
            .iter()
            .map(|p| p.pid)
            .collect();
        let io = self
            .sample
            .top_io
            .as_slice()
            .iter()
            .map(|p| p.pid)
            .collect();
        (texts, cpu, io)
    }
}

fn clocks(mono_s: u64, asleep_s: u64) -> Clocks {
    Clocks {
        monotonic: Duration::from_secs(mono_s),
        boottime: Duration::from_secs(mono_s + asleep_s),
    }
}

/// Both bars (one resetting, one not) through the same four ticks: start,
/// one awake second, a resume after eight hours asleep, one awake second.
#[test]
fn the_tick_after_a_resume_shows_no_spike_and_no_zero() {
    const HOURS_8: u64 = 8 * 3600;
    const KIB: u64 = 1024;
    let mut c = Counters {
        user: 1000,
        idle: 3000,
        steal: 0,
        rc6_ms: 5_000,
        rx: 1_000_000,
        proc_ticks: 10,
        proc_read: 0,
    };
    let fixed = machine("suspend-fixed");
    let control = machine("suspend-control");
    set(&fixed, c);
    set(&control, c);
    let t0 = Instant::now();
    let mut bars = [Bar::new(&fixed, t0, true), Bar::new(&control, t0, false)];
    let mut tick = |c: Counters, mono: u64, asleep: u64| {
        set(&fixed, c);
        set(&control, c);
        let now = t0 + Duration::from_secs(mono - 100);
        let [a, b] = &mut bars;
        (
            a.tick(now, clocks(mono, asleep)),
            b.tick(now, clocks(mono, asleep)),
        )
    };

    let (first, _) = tick(c, 100, 0);
    assert_eq!(
        first.0,
        ["0", "--", "0"],
        "baselines only (the GPU waits for a second reading)"
    );

    // An awake second: 25% busy; the GPU idle for far longer than the
    // second took (so 0% busy whatever the real time between the two
    // samples); 1,000 KiB/s received; process 4242 ran and read.
    c.user += 50;
    c.idle += 150;
    c.rc6_ms += 1_000_000;
    c.rx += 1000 * KIB;
    c.proc_ticks += 20;
    c.proc_read += 4096;
    let (awake, awake_control) = tick(c, 101, 0);
    assert_eq!(awake.0, ["25", "0", "1000"]);
    assert_eq!(awake_control.0, awake.0);
    assert_eq!(awake.1, [4242], "the CPU top list");
    assert_eq!(awake.2, [4242], "the IO top list");

    // Eight hours asleep; the monotonic clock moved one second. Steal time
    // counted the pause, RC6 started again from zero, the NIC counted 50 GiB.
    c.steal += HOURS_8 * 100;
    c.rc6_ms = 0;
    c.rx += 50 << 30;
    let (resumed, resumed_control) = tick(c, 102, HOURS_8);
    // Without new baselines: a machine 100% busy, a GPU 100% busy, 50 GiB/s.
    assert_eq!(
        resumed_control.0,
        ["100", "100", &(50 * (1u64 << 30) / KIB).to_string()],
        "the control shows the spikes this fixture provokes"
    );
    // With them: what was shown before the sleep, not a spike, not a zero.
    assert_eq!(
        resumed.0, awake.0,
        "the resume tick keeps the figures from before"
    );
    assert_eq!(resumed.1, [4242], "the CPU top list is kept, not emptied");
    assert_eq!(resumed.2, [4242], "the IO top list is kept, not emptied");

    // The next awake second: rates over that second alone.
    c.user += 100;
    c.idle += 100;
    c.rc6_ms += 1_000_000;
    c.rx += 2000 * KIB;
    c.proc_ticks += 20;
    let (after, _) = tick(c, 103, HOURS_8);
    assert_eq!(after.0, ["50", "0", "2000"]);
    assert_eq!(after.1, [4242]);
    assert_eq!(after.2, Vec::<u32>::new(), "no IO in that second");
}

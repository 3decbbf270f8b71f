//! The health-sample modules (`health`, `cpu`, `memory`, `temperature`,
//! `load`, `gpu`): one type, since they differ only in their defaults. Each
//! renders its format template with the sample's values and takes the colour
//! of the worst threshold it crosses.

use std::time::{Duration, Instant};

use super::{next_on_wall_second, Context, Init, Level, Module, Palette, Placement, Segment, Text};
use super::{Align, PopupId, HEALTH_POPUP};
use crate::collect::system::Needs;
use crate::collect::Sample;
use crate::config::format::Value;
use crate::config::kind::Doc;
use crate::config::{self, KindDef, Thresholds};

/// The placeholders of every health-sample kind, in the order of the values
/// [`values`] hands to the template, with what each means.
pub const SAMPLE_PLACEHOLDERS: &[Doc] = &[
    ("usage", "CPU busy, % of the whole machine"),
    ("cores", "online CPUs"),
    ("freq_mhz", "mean CPU frequency, MHz"),
    ("freq_max_mhz", "highest CPU frequency, MHz"),
    ("freq_ghz", "mean CPU frequency, GHz"),
    ("temp", "CPU package temperature, °C"),
    ("mem_percent", "memory used (total − available), %"),
    ("mem_used_gib", "memory used, GiB"),
    ("mem_total_gib", "memory total, GiB"),
    ("mem_available_gib", "memory available, GiB"),
    ("swap_percent", "swap used, %"),
    ("swap_used_gib", "swap used, GiB"),
    ("swap_total_gib", "swap total, GiB"),
    ("load1", "load average, 1 minute"),
    ("load5", "load average, 5 minutes"),
    ("load15", "load average, 15 minutes"),
    ("gpu_busy", "GPU busy, %"),
    ("gpu_freq_mhz", "GPU frequency, MHz"),
    ("gpu_freq_max_mhz", "GPU maximum frequency, MHz"),
    ("power_profile", "ACPI platform profile (text)"),
    ("throttle", "active GPU throttle reasons (text)"),
    ("tasks", "processes"),
];

/// What the sample kinds share.
const SAMPLE: KindDef = KindDef {
    placeholders: SAMPLE_PLACEHOLDERS,
    ..KindDef::BASE
};

/// `health`: CPU, memory, temperature and load together, with the
/// top-processes popup.
pub const HEALTH: KindDef = KindDef {
    name: "health",
    about: "CPU, memory, temperature and load, with the top processes on hover",
    format: "CPU {usage:>3.0}%  MEM {mem_used_gib:>4.1}G  {temp:>3.0}°C  LOAD {load1:>5.2}",
    primary: Some("usage"),
    warning: &[("usage", 70.0), ("mem_percent", 80.0), ("temp", 80.0)],
    critical: &[("usage", 90.0), ("mem_percent", 90.0), ("temp", 90.0)],
    popup: true,
    ..SAMPLE
};

/// `cpu`.
pub const CPU: KindDef = KindDef {
    name: "cpu",
    about: "CPU busy and frequency",
    format: "CPU {usage:>3.0}%",
    primary: Some("usage"),
    warning: &[("usage", 70.0)],
    critical: &[("usage", 90.0)],
    ..SAMPLE
};

/// `memory`.
pub const MEMORY: KindDef = KindDef {
    name: "memory",
    about: "memory and swap used",
    format: "MEM {mem_used_gib:>4.1}G",
    primary: Some("mem_percent"),
    warning: &[("mem_percent", 80.0)],
    critical: &[("mem_percent", 90.0)],
    ..SAMPLE
};

/// `temperature`.
pub const TEMPERATURE: KindDef = KindDef {
    name: "temperature",
    about: "the CPU package temperature",
    format: "{temp:>3.0}°C",
    primary: Some("temp"),
    warning: &[("temp", 80.0)],
    critical: &[("temp", 90.0)],
    ..SAMPLE
};

/// `load`.
pub const LOAD: KindDef = KindDef {
    name: "load",
    about: "the load averages",
    format: "{load1:.2} {load5:.2} {load15:.2}",
    primary: Some("load1"),
    interval_ms: 5000,
    ..SAMPLE
};

/// `gpu`.
pub const GPU: KindDef = KindDef {
    name: "gpu",
    about: "GPU busy and frequency",
    format: "GPU {gpu_busy:>3.0}%",
    primary: Some("gpu_busy"),
    warning: &[("gpu_busy", 80.0)],
    critical: &[("gpu_busy", 95.0)],
    ..SAMPLE
};

/// Builds a health-sample instance (every sample kind's registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(SampleModule::new(spec, init.place, init.now))
}

/// How many values a sample offers (one per [`SAMPLE_PLACEHOLDERS`] entry).
pub const VALUES: usize = 22;
const _: () = assert!(VALUES == SAMPLE_PLACEHOLDERS.len());

/// The placeholders only a process walk fills (indices into
/// [`SAMPLE_PLACEHOLDERS`]): `tasks`.
pub const PROCESS_PLACEHOLDERS: [usize; 1] = [21];
const _: () = assert!(matches!(SAMPLE_PLACEHOLDERS[21].0.as_bytes(), b"tasks"));

/// The placeholders each system source fills (indices into
/// [`SAMPLE_PLACEHOLDERS`]): `usage` from the root cgroup's `cpu.stat` or
/// `/proc/stat`; `mem_*` and `swap_*` from `/proc/meminfo`; `load*` from
/// `sysinfo()`; the sensors from their sysfs files (`freq_max_mhz` is read
/// once at start-up, `cores` is always known).
const CPU_PLACEHOLDERS: &[usize] = &[0];
const MEMORY_PLACEHOLDERS: &[usize] = &[6, 7, 8, 9, 10, 11, 12];
const LOAD_PLACEHOLDERS: &[usize] = &[13, 14, 15];
const FREQ_PLACEHOLDERS: &[usize] = &[2, 4];
const TEMP_PLACEHOLDERS: &[usize] = &[5];
const GPU_PLACEHOLDERS: &[usize] = &[16, 17, 18];
const PROFILE_PLACEHOLDERS: &[usize] = &[19];
const THROTTLE_PLACEHOLDERS: &[usize] = &[20];
const _: () = assert!(matches!(SAMPLE_PLACEHOLDERS[0].0.as_bytes(), b"usage"));
const _: () = assert!(matches!(SAMPLE_PLACEHOLDERS[2].0.as_bytes(), b"freq_mhz"));
const _: () = assert!(matches!(SAMPLE_PLACEHOLDERS[4].0.as_bytes(), b"freq_ghz"));
const _: () = assert!(matches!(SAMPLE_PLACEHOLDERS[5].0.as_bytes(), b"temp"));
const _: () = assert!(matches!(SAMPLE_PLACEHOLDERS[16].0.as_bytes(), b"gpu_busy"));
const _: () = assert!(matches!(
    SAMPLE_PLACEHOLDERS[18].0.as_bytes(),
    b"gpu_freq_max_mhz"
));
const _: () = assert!(matches!(
    SAMPLE_PLACEHOLDERS[19].0.as_bytes(),
    b"power_profile"
));
const _: () = assert!(matches!(SAMPLE_PLACEHOLDERS[20].0.as_bytes(), b"throttle"));
const _: () = assert!(matches!(
    SAMPLE_PLACEHOLDERS[6].0.as_bytes(),
    b"mem_percent"
));
const _: () = assert!(matches!(
    SAMPLE_PLACEHOLDERS[12].0.as_bytes(),
    b"swap_total_gib"
));
const _: () = assert!(matches!(SAMPLE_PLACEHOLDERS[13].0.as_bytes(), b"load1"));
const _: () = assert!(matches!(SAMPLE_PLACEHOLDERS[15].0.as_bytes(), b"load15"));

/// Whether `spec` shows placeholder `i` anywhere: its format, a state's
/// format, its tooltip, or a threshold that colours it.
fn shows(spec: &config::Module, i: usize) -> bool {
    spec.format.uses(i)
        || spec.formats.iter().any(|(_, t)| t.uses(i))
        || spec.tooltip_format.as_ref().is_some_and(|t| t.uses(i))
        || spec.warning.iter().any(|&(j, _)| j == i)
        || spec.critical.iter().any(|&(j, _)| j == i)
}

const GIB: f64 = (1u64 << 30) as f64;

/// Bytes reserved up front for a module's text, so rendering never grows it
/// in steady state (templates are a few words; a longer one grows it once).
const TEXT_RESERVE: usize = 256;

/// Bytes reserved for the joined throttle reasons (16 × 31 + separators).
const THROTTLE_RESERVE: usize = 16 * 32;

/// A module showing figures of the health sample.
pub struct SampleModule {
    spec: config::Module,
    palette: Palette,
    align: Align,
    popup: Option<PopupId>,
    interval: Duration,
    next: Instant,
    /// Scratch: the rendered template, and the throttle reasons joined.
    text: String,
    throttle: String,
    segment: Segment,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
}

impl SampleModule {
    /// The instance of `spec`, due at `now`.
    pub fn new(spec: &config::Module, place: Placement, now: Instant) -> SampleModule {
        SampleModule {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            popup: spec.popup.then_some(HEALTH_POPUP),
            interval: Duration::from_millis(spec.interval_ms.max(1)),
            next: now,
            text: String::with_capacity(TEXT_RESERVE),
            throttle: String::with_capacity(THROTTLE_RESERVE),
            tip: super::Tip::default(),
            segment: Segment {
                align: place.align,
                popup: spec.popup.then_some(HEALTH_POPUP),
                ..Segment::default()
            },
        }
    }

    /// Renders `sample` into the module's segment; true when it changed.
    pub fn render(&mut self, sample: &Sample) -> bool {
        let values = values(sample, &mut self.throttle);
        let level = level(&values, &self.spec.warning, &self.spec.critical);
        self.text.clear();
        self.spec
            .render(&mut self.text, super::level_states(level), &values);
        self.tip.render(&self.spec, &values);
        let seg = Segment {
            markup: false,
            text: Text::new(&self.text),
            style: self.palette.style(level),
            align: self.align,
            popup: self.popup,
            output: None,
            states: super::level_states(level),
        };
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }

    /// The segment as last rendered.
    pub fn segment(&self) -> &Segment {
        &self.segment
    }
}

impl Module for SampleModule {
    fn tooltip(&self, _index: usize) -> Option<&str> {
        self.tip.get()
    }

    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        Some(self.next)
    }

    fn uses_sample(&self) -> bool {
        true
    }

    fn uses_processes(&self) -> bool {
        PROCESS_PLACEHOLDERS.iter().any(|&i| shows(&self.spec, i))
    }

    fn sample_needs(&self) -> Needs {
        let any = |r: &[usize]| r.iter().any(|&i| shows(&self.spec, i));
        Needs {
            cpu: any(CPU_PLACEHOLDERS),
            memory: any(MEMORY_PLACEHOLDERS),
            load: any(LOAD_PLACEHOLDERS),
            temp: any(TEMP_PLACEHOLDERS),
            freq: any(FREQ_PLACEHOLDERS),
            gpu: any(GPU_PLACEHOLDERS),
            profile: any(PROFILE_PLACEHOLDERS),
            throttle: any(THROTTLE_PLACEHOLDERS),
        }
    }

    fn update(&mut self, cx: &Context<'_>) -> bool {
        self.next = next_on_wall_second(self.next, self.interval, cx.now, cx.wall);
        self.render(cx.sample)
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.push(self.segment);
    }
}

/// The worst level any threshold reaches: critical levels first, then
/// warning. Text and absent values never cross a threshold.
pub fn level(values: &[Value<'_>], warning: &Thresholds, critical: &Thresholds) -> Level {
    let crosses = |list: &Thresholds| {
        list.iter().any(|&(i, limit)| {
            let v = match values.get(i) {
                Some(Value::Float(f)) => *f,
                Some(Value::Int(n)) => *n as f64,
                _ => return false,
            };
            v >= limit
        })
    };
    if crosses(critical) {
        Level::Critical
    } else if crosses(warning) {
        Level::Warning
    } else {
        Level::Normal
    }
}

/// The value of every placeholder for `s`, in [`SAMPLE_PLACEHOLDERS`]
/// order. `throttle` is scratch for the joined throttle reasons (its
/// capacity is kept, so this allocates nothing once it is large enough).
pub fn values<'a>(s: &'a Sample, throttle: &'a mut String) -> [Value<'a>; VALUES] {
    let sn = &s.sensors;
    let m = &s.mem;
    let pct = |part: u64, whole: u64| {
        if whole > 0 {
            Value::Float(part as f64 * 100.0 / whole as f64)
        } else {
            Value::Float(0.0)
        }
    };
    let gib = |b: u64| Value::Float(b as f64 / GIB);
    let int = |v: Option<u32>| v.map_or(Value::Absent, |n| Value::Int(n as i64));
    let float = |v: Option<f32>| match v {
        Some(f) if f.is_finite() => Value::Float(f as f64),
        _ => Value::Absent,
    };
    throttle.clear();
    for (i, r) in sn.throttle.as_slice().iter().enumerate() {
        if i > 0 {
            throttle.push(',');
        }
        throttle.push_str(r.as_str());
    }
    let throttle: &'a str = throttle;
    [
        Value::Float(finite(s.cpu_percent).clamp(0.0, 100.0) as f64),
        Value::Int(s.cores as i64),
        int(sn.cpu_freq_mhz),
        int(sn.cpu_freq_max_mhz),
        sn.cpu_freq_mhz
            .map_or(Value::Absent, |f| Value::Float(f as f64 / 1000.0)),
        float(sn.cpu_temp_c),
        if m.total > 0 {
            pct(m.used, m.total)
        } else {
            Value::Absent
        },
        gib(m.used),
        gib(m.total),
        gib(m.available),
        pct(m.swap_used, m.swap_total),
        gib(m.swap_used),
        gib(m.swap_total),
        Value::Float(finite(s.load[0]).max(0.0) as f64),
        Value::Float(finite(s.load[1]).max(0.0) as f64),
        Value::Float(finite(s.load[2]).max(0.0) as f64),
        float(sn.gpu_busy_percent),
        int(sn.gpu_freq_mhz),
        int(sn.gpu_freq_max_mhz),
        sn.power_profile
            .as_ref()
            .map_or(Value::Absent, |p| Value::Text(p.as_str())),
        Value::Text(throttle),
        Value::Int(s.tasks as i64),
    ]
}

/// NaN and infinities (a broken sensor) show as 0 rather than "NaN".
fn finite(v: f32) -> f32 {
    if v.is_finite() {
        v
    } else {
        0.0
    }
}

//! The battery module: every system battery combined (charge, state, time to
//! empty or full), read with `pread` through [`crate::collect::battery`] at
//! its own interval. Warning and critical levels count downwards (at or
//! below) and apply only while discharging. Hidden on machines without a
//! battery.

use std::fmt::Write;
use std::time::{Duration, Instant};

use super::{
    next_on_wall_second, Align, Context, Init, Level, Module, Palette, Placement, Segment, Text,
};
use crate::collect::battery::{Batteries, BatteryReading, Status};
use crate::collect::Roots;
use crate::config::{self, format::Value, KindDef, Thresholds};

/// `battery`: every system battery combined. Levels count downwards.
pub const KIND: KindDef = KindDef {
    name: "battery",
    about: "the system batteries combined: charge, state, time left",
    placeholders: &[
        ("percent", "charge left, % (all batteries together)"),
        (
            "status",
            "charging, discharging, full, not charging, unknown",
        ),
        (
            "time",
            "time to empty (discharging) or to full (charging), H:MM",
        ),
        ("time_to_empty", "time to empty, H:MM"),
        ("time_to_full", "time to full, H:MM"),
        ("power", "watts in or out"),
        ("count", "batteries read"),
    ],
    format: "BAT {percent:>3.0}% {time}",
    interval_ms: 5000,
    primary: Some("percent"),
    // At or below these, while discharging.
    warning: &[("percent", 30.0)],
    critical: &[("percent", 15.0)],
    states: &[
        ("charging", "charging"),
        ("discharging", "running on the batteries"),
        ("full", "full, on mains"),
        ("not_charging", "on mains, held below full"),
    ],
    ..KindDef::BASE
};

/// Builds the battery module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Battery::new(spec, init.place, init.now, &init.src.roots))
}

/// The state bit of a battery status, in [`KIND`]'s order.
fn status_state(s: Status) -> u32 {
    match s {
        Status::Charging => 1,
        Status::Discharging => 2,
        Status::Full => 4,
        Status::NotCharging => 8,
        Status::Unknown => 0,
    }
}

/// The battery module.
pub struct Battery {
    spec: config::Module,
    palette: Palette,
    align: Align,
    interval: Duration,
    next: Instant,
    /// `None` when the machine has no battery: never due, never shown.
    source: Option<Batteries>,
    text: String,
    segment: Option<Segment>,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
}

impl Battery {
    /// The instance of `spec`, reading batteries under `roots.sys`, due at `now`.
    pub fn new(spec: &config::Module, place: Placement, now: Instant, roots: &Roots) -> Battery {
        let b = Batteries::discover(&roots.sys);
        Battery {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            interval: Duration::from_millis(spec.interval_ms.max(1)),
            next: now,
            source: (!b.is_empty()).then_some(b),
            text: String::with_capacity(128),
            tip: super::Tip::default(),
            segment: None,
        }
    }

    /// Shows `r` (`None`: hidden); true when the segment changed.
    pub fn show(&mut self, r: Option<&BatteryReading>) -> bool {
        let seg = r.map(|r| {
            let (mut time, mut empty, mut full) =
                (Text::default(), Text::default(), Text::default());
            let hm = |t: &mut Text, s: Option<u32>| {
                s.map(|s| {
                    let _ = write!(t, "{}:{:02}", s / 3600, s / 60 % 60);
                })
            };
            let has_empty = hm(&mut empty, r.time_to_empty_s).is_some();
            let has_full = hm(&mut full, r.time_to_full_s).is_some();
            let now_time = match r.status {
                Status::Discharging => hm(&mut time, r.time_to_empty_s),
                Status::Charging => hm(&mut time, r.time_to_full_s),
                _ => None,
            };
            fn text_or(t: &Text, has: bool) -> Value<'_> {
                if has {
                    Value::Text(t.as_str())
                } else {
                    Value::Absent
                }
            }
            let values = [
                Value::Float(r.percent.clamp(0.0, 100.0) as f64),
                Value::Text(r.status.name()),
                text_or(&time, now_time.is_some()),
                text_or(&empty, has_empty),
                text_or(&full, has_full),
                r.power_w
                    .filter(|w| w.is_finite())
                    .map_or(Value::Absent, |w| Value::Float(w as f64)),
                Value::Int(r.count as i64),
            ];
            let level = if r.status == Status::Discharging {
                level_below(&values, &self.spec.warning, &self.spec.critical)
            } else {
                Level::Normal
            };
            let states = status_state(r.status) | super::level_states(level);
            self.text.clear();
            self.spec.render(&mut self.text, states, &values);
            self.tip.render(&self.spec, &values);
            Segment {
                markup: false,
                text: Text::new(&self.text),
                style: self.palette.style(level),
                align: self.align,
                popup: None,
                output: None,
                states,
            }
        });
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }
}

/// The worst level reached counting downwards: a value at or below a
/// critical limit is critical, at or below a warning one a warning.
pub fn level_below(values: &[Value<'_>], warning: &Thresholds, critical: &Thresholds) -> Level {
    let crosses = |list: &Thresholds| {
        list.iter().any(|&(i, limit)| match values.get(i) {
            Some(Value::Float(f)) => *f <= limit,
            Some(Value::Int(n)) => (*n as f64) <= limit,
            _ => false,
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

impl Module for Battery {
    fn tooltip(&self, _index: usize) -> Option<&str> {
        self.tip.get()
    }

    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        self.source.as_ref().map(|_| self.next)
    }

    fn update(&mut self, cx: &Context<'_>) -> bool {
        self.next = next_on_wall_second(self.next, self.interval, cx.now, cx.wall);
        let r = self.source.as_mut().and_then(Batteries::read);
        self.show(r.as_ref())
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segment);
    }
}

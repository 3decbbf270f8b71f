//! The custom module: a user's command through [`crate::exec::custom`], run
//! every interval or kept running, plain text or Waybar's JSON. Its stdout
//! is a descriptor the bar watches ([`Module::fd`]); nothing here waits. A
//! script that hangs, dies or prints garbage shows `LABEL: error` (`weather`
//! of `custom#weather`) in the
//! critical colour (the reason goes to stderr once) and never blocks the bar;
//! one that floods its pipe shows `LABEL: throttled` in the warning colour
//! while the bar reads it only once a second.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::sample::level;
use super::{Align, Context, Init, Level, Module, Palette, Placement, Segment, Text};
use crate::config::{self, format::Value, Key, KeyType, KindDef};

/// `custom`: a user's command (Waybar's `custom` module).
pub const KIND: KindDef = KindDef {
    name: "custom",
    about: "a user's command: plain lines or Waybar's JSON",
    placeholders: &[
        ("text", "the script's text (plain: line 1; JSON: `text`)"),
        ("tooltip", "line 2 / `tooltip`"),
        (
            "class",
            "line 3 / `class` (`warning`, `critical` colour the module)",
        ),
        ("percentage", "JSON `percentage`, 0–100"),
    ],
    format: "{text}",
    primary: Some("percentage"),
    // `format_CLASS`, `[…style.CLASS]`: the script's classes are states.
    classes: true,
    keys: &[
        Key::required("exec", KeyType::Command, "the command to run"),
        Key::new(
            "return_type",
            KeyType::Choice(&["plain", "json"]),
            "`plain` lines (text, tooltip, class) or Waybar's `json` object",
        ),
        Key::new(
            "continuous",
            KeyType::Bool(false),
            "one long-running process, every line an update",
        ),
        Key::new(
            "timeout_ms",
            KeyType::Uint {
                min: 100,
                max: 3_600_000,
                default: 10_000,
            },
            "how long one interval run may take before it is killed",
        ),
    ],
    ..KindDef::BASE
};

/// Builds a custom module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(CustomModule::new(spec, init.place, init.now))
}

/// How long one interval run of `spec`'s command may take.
pub fn timeout(spec: &config::Module) -> Duration {
    Duration::from_millis(spec.uint("timeout_ms").max(1))
}
use crate::exec::custom::{Custom, Format, Mode, Status};
use crate::exec::CommandLine;

/// The custom module.
pub struct CustomModule {
    spec: config::Module,
    palette: Palette,
    align: Align,
    runner: Option<Custom>,
    /// The interval of an interval script (zero: continuous).
    interval: Duration,
    /// The error last reported on stderr (each new one is reported once).
    reported: Option<String>,
    text: String,
    /// The states of the script's last answer.
    states: u32,
    segment: Option<Segment>,
    /// `tooltip_format` rendered with the last answer.
    tip: super::Tip,
}

impl CustomModule {
    /// The instance of `spec`; its command first runs at its first update.
    pub fn new(spec: &config::Module, place: Placement, _now: Instant) -> CustomModule {
        let mode = if spec.flag("continuous") {
            Mode::Continuous
        } else {
            Mode::Interval(Duration::from_millis(spec.interval_ms.max(1)))
        };
        let interval = match mode {
            Mode::Interval(i) => i,
            Mode::Continuous => Duration::ZERO,
        };
        let format = if spec.text("return_type") == "json" {
            Format::Json
        } else {
            Format::Plain
        };
        let timeout = timeout(spec);
        CustomModule {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            runner: spec
                .command("exec")
                .map(|a| Custom::new(CommandLine::from(a), mode, format, timeout)),
            interval,
            reported: None,
            text: String::with_capacity(256),
            states: 0,
            segment: None,
            tip: super::Tip::default(),
        }
    }

    /// Rebuilds the segment from the runner; true when it changed.
    fn refresh(&mut self) -> bool {
        let Some(r) = &self.runner else {
            return false;
        };
        let seg = match &r.status {
            Status::Waiting => None,
            Status::Throttled => {
                let why = "prints faster than the bar can show; its output is read once a second";
                if self.reported.as_deref() != Some(why) {
                    eprintln!("rstat: {}: {why}", self.spec.name);
                    self.reported = Some(why.to_string());
                }
                let name = self.spec.name.as_str();
                let label = name.split_once('#').map_or(name, |(_, l)| l);
                self.text.clear();
                self.text.push_str(label);
                self.text.push_str(": throttled");
                Some(Level::Warning)
            }
            Status::Error(why) => {
                if self.reported.as_deref() != Some(why.as_str()) {
                    eprintln!("rstat: {}: {why}", self.spec.name);
                    self.reported = Some(why.clone());
                }
                let name = self.spec.name.as_str();
                let label = name.split_once('#').map_or(name, |(_, l)| l);
                self.text.clear();
                self.text.push_str(label);
                self.text.push_str(": error");
                Some(Level::Critical)
            }
            Status::Ok => {
                self.reported = None;
                let o = &r.output;
                if o.text.trim().is_empty() {
                    // An empty answer hides the module, as in Waybar.
                    None
                } else {
                    // The script's text and tooltip are markup (as
                    // Waybar draws them): put into the format unescaped.
                    let values = [
                        Value::Markup(o.text.trim_end()),
                        Value::Markup(&o.tooltip),
                        Value::Text(&o.class),
                        o.percentage.map_or(Value::Absent, |p| Value::Int(p as i64)),
                    ];
                    let by_class = if o.class.split_whitespace().any(|c| c == "critical") {
                        Level::Critical
                    } else if o.class.split_whitespace().any(|c| c == "warning") {
                        Level::Warning
                    } else {
                        Level::Normal
                    };
                    let by_value = level(&values, &self.spec.warning, &self.spec.critical);
                    let lvl = by_class.max(by_value);
                    // The classes the config names are states too.
                    let mut states = super::level_states(lvl);
                    for c in o.class.split_whitespace() {
                        states |= self.spec.state_bit(c).unwrap_or(0);
                    }
                    self.text.clear();
                    self.spec.render(&mut self.text, states, &values);
                    self.tip.render(&self.spec, &values);
                    self.states = states;
                    Some(lvl)
                }
            }
        };
        let seg = seg.map(|lvl| Segment {
            markup: false,
            text: Text::new(&self.text),
            style: self.palette.style(lvl),
            align: self.align,
            popup: None,
            output: None,
            states: if matches!(r.status, Status::Ok) {
                self.states
            } else {
                super::level_states(lvl)
            },
        });
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }

    /// A whole-second interval's next run moved onto the wall clock's
    /// seconds, where the clock and the other 1 s modules tick: one wakeup
    /// starts it with them (the first move shifts one interval by at most
    /// half a second; after it the phase holds).
    fn align(&mut self, now: Instant, wall: Duration) {
        let whole = self.interval.subsec_nanos() == 0 && !self.interval.is_zero();
        let Some(r) = self.runner.as_mut().filter(|_| whole) else {
            return;
        };
        if let Some(at) = r.planned().filter(|t| *t > now + super::DUE_SLACK) {
            r.replan(super::on_wall_second(at, now, wall));
        }
    }

    /// The script's process id while it runs (tests).
    pub fn pid(&self) -> Option<u32> {
        self.runner.as_ref().and_then(Custom::pid)
    }
}

impl Module for CustomModule {
    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        self.runner.as_ref()?.next_deadline()
    }

    fn update(&mut self, cx: &Context<'_>) -> bool {
        if let Some(r) = &mut self.runner {
            // Due with the other modules of this wakeup: started now.
            r.on_timer_within(cx.now, super::DUE_SLACK);
        }
        self.align(cx.now, cx.wall);
        self.refresh()
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segment);
    }

    fn fd(&self) -> Option<RawFd> {
        self.runner.as_ref().and_then(Custom::fd)
    }

    fn exit_fd(&self) -> Option<RawFd> {
        self.runner.as_ref().and_then(Custom::exit_fd)
    }

    fn fd_serial(&self) -> u64 {
        self.runner.as_ref().map_or(0, Custom::serial)
    }

    fn on_readable(&mut self) -> bool {
        if let Some(r) = &mut self.runner {
            r.on_readable();
        }
        self.align(Instant::now(), super::wall_now());
        self.refresh()
    }

    fn quick_run_pending(&self) -> bool {
        self.runner.as_ref().is_some_and(Custom::quick_run_pending)
    }

    fn markup(&self) -> bool {
        true
    }

    fn tooltip(&self, _index: usize) -> Option<&str> {
        if self.spec.tooltip_format.is_some() {
            return self.tip.get();
        }
        let r = self.runner.as_ref()?;
        let t = r.output.tooltip.trim_end();
        (matches!(r.status, Status::Ok) && !t.is_empty()).then_some(t)
    }

    fn error(&self) -> Option<&str> {
        match self.runner.as_ref().map(|r| &r.status) {
            Some(Status::Error(why)) => Some(why),
            _ => None,
        }
    }
}

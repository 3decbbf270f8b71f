//! The backlight module: the chosen `/sys/class/backlight` device's level
//! as a percentage and an `{icon}` from a ramp, through
//! [`crate::collect::backlight`]. It follows the kernel's uevents (a socket
//! the bar watches: a change shows at once) and also reads at its interval,
//! for drivers that change the level without telling. Scrolling changes it
//! by `step` percent by writing the sysfs file, or, where that file is
//! root's alone (the usual case for a user), through logind's
//! `Session.SetBrightness` on the system bus ([`crate::services::logind`]).
//! Hidden without a backlight (and when the device goes away, until one
//! comes back).

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::{next_on_wall_second, Align, Button, Command, Context, Init, Level, Module, Palette};
use super::{Placement, Segment, Text};
use crate::collect::backlight::{Backlight as Device, BacklightEvent, BacklightReading, Uevents};
use crate::config::kind::Opt;
use crate::config::{self, format::Value, Key, KeyType, KindDef};
use crate::services::logind::Logind;
use crate::services::{self, View};

/// The built-in `{icon}` ramp, dimmest first (block elements: the embedded
/// font has them).
pub const DEFAULT_ICONS: &[&str] = &["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

/// `backlight`: a display backlight from `/sys/class/backlight`.
pub const KIND: KindDef = KindDef {
    name: "backlight",
    about: "a display backlight (sysfs, kernel uevents); scrolling steps it",
    placeholders: &[
        (
            "percent",
            "`actual_brightness` as % of `max_brightness`",
        ),
        (
            "icon",
            "one of `icons` by percent (the first below 1/n, …)",
        ),
        ("device", "the device's name (`intel_backlight`)"),
        ("brightness", "`actual_brightness`, raw"),
        ("max", "`max_brightness`, raw"),
    ],
    format: "{icon} {percent:>3.0}%",
    // Uevents bring changes at once; the interval only catches drivers
    // that change brightness without one (firmware hotkeys).
    interval_ms: 5000,
    primary: Some("percent"),
    keys: &[
        Key::new(
            "device",
            KeyType::Text(""),
            "the /sys/class/backlight device to show; unset: the one with the largest max_brightness",
        )
        .checked(device_name),
        Key::new(
            "step",
            KeyType::Float {
                min: 0.1,
                max: 100.0,
                default: 5.0,
            },
            "percent of the range one scroll step changes",
        ),
    ],
    icons: DEFAULT_ICONS,
    ..KindDef::BASE
};

/// Builds a backlight module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Backlight::new(
        spec,
        init.place,
        init.now,
        &init.src.roots.sys,
    ))
}

fn device_name(v: &Opt) -> Result<(), String> {
    match v {
        Opt::Text(d) if d.is_empty() || d.contains('/') || d == "." || d == ".." => Err(format!(
            "`{d}` is not a device name in /sys/class/backlight"
        )),
        _ => Ok(()),
    }
}

/// The backlight module.
pub struct Backlight {
    spec: config::Module,
    palette: Palette,
    align: Align,
    interval: Duration,
    next: Instant,
    sys: std::path::PathBuf,
    device: Option<Device>,
    uevents: Option<Uevents>,
    last: Option<BacklightReading>,
    text: String,
    segment: Option<Segment>,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
    /// Why the backlight cannot be read or set, when that is so.
    error: Option<String>,
    /// logind's count of answered calls when last seen.
    logind_done: u64,
}

impl Backlight {
    /// The instance of `spec`, reading under `sys` (`/sys` or a test's
    /// tree), due at `now`. The uevent socket is opened here, in the
    /// caller's network namespace.
    pub fn new(
        spec: &config::Module,
        place: Placement,
        now: Instant,
        sys: &std::path::Path,
    ) -> Backlight {
        let mut b = Backlight {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            interval: Duration::from_millis(spec.interval_ms.max(1)),
            next: now,
            sys: sys.to_path_buf(),
            device: None,
            uevents: None,
            last: None,
            text: String::with_capacity(128),
            tip: super::Tip::default(),
            segment: None,
            error: None,
            logind_done: 0,
        };
        b.discover();
        match Uevents::open() {
            Ok(u) => b.uevents = Some(u),
            // Without the socket the interval still brings changes.
            Err(e) => eprintln!(
                "rstat: backlight: {e}; following it only every {} ms",
                spec.interval_ms
            ),
        }
        b
    }

    fn discover(&mut self) {
        self.device = match Device::discover(
            &self.sys,
            Some(self.spec.text("device")).filter(|d| !d.is_empty()),
        ) {
            Ok(d) => d,
            Err(e) => {
                self.error = Some(e.to_string());
                None
            }
        };
    }

    /// Reads the device (choosing again when it failed) and shows the
    /// result; true when the segment changed.
    fn refresh(&mut self) -> bool {
        let mut r = self.device.as_ref().map(Device::read);
        if matches!(r, Some(Err(_))) {
            // Gone (driver unbound, hot-unplugged panel): choose again.
            self.discover();
            r = self.device.as_ref().map(Device::read);
        }
        let r = match r {
            Some(Ok(r)) => Some(r),
            Some(Err(e)) => {
                if self.error.is_none() {
                    self.error = Some(e.to_string());
                }
                self.device = None;
                None
            }
            None => None,
        };
        self.show(r)
    }

    /// Shows `r` (`None`: hidden); true when the segment changed.
    pub fn show(&mut self, r: Option<BacklightReading>) -> bool {
        self.last = r;
        let name = self.device.as_ref().map_or("", |d| d.name.as_str());
        let seg = r.map(|r| {
            let pct = r.percent();
            let values = [
                Value::Float(pct),
                // Set below: a state may pick the icon.
                Value::Text(""),
                Value::Text(name),
                Value::Int(r.brightness.min(i64::MAX as u64) as i64),
                Value::Int(r.max.min(i64::MAX as u64) as i64),
            ];
            self.text.clear();
            let lv = super::sample::level(&values, &self.spec.warning, &self.spec.critical);
            let states = super::level_states(lv);
            let mut values = values;
            values[1] = Value::Text(self.spec.icon(states, pct));
            self.spec.render(&mut self.text, states, &values);
            self.tip.render(&self.spec, &values);
            Segment {
                markup: false,
                text: Text::new(&self.text),
                style: self.palette.style(lv),
                align: self.align,
                popup: None,
                output: None,
                states: super::level_states(lv),
            }
        });
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }

    /// Steps the level; what to ask of logind when the file is not ours
    /// to write.
    fn scroll(&mut self, up: bool) -> Option<Command> {
        let (Some(dev), Some(last)) = (self.device.as_ref(), self.last) else {
            return None;
        };
        let step = self.spec.float("step");
        let step = if up { step } else { -step };
        let to = dev.stepped(last.brightness, step);
        let mut ask = None;
        match dev.write(to) {
            Ok(()) => self.error = None,
            Err(e) if not_ours(&e) => {
                // The user's way: logind writes it for the active session.
                ask = Some(Command::SetBrightness {
                    device: dev.name.clone(),
                    value: to.min(u32::MAX as u64) as u32,
                });
            }
            Err(e) => {
                let msg = format!(
                    "{e} (give the user write access to it, e.g. a udev rule for the video group)"
                );
                if self.error.as_deref() != Some(msg.as_str()) {
                    eprintln!("rstat: backlight: {msg}");
                }
                self.error = Some(msg);
                return None;
            }
        }
        // Steps before the next read add up.
        if let Some(l) = &mut self.last {
            l.brightness = to;
        }
        ask
    }
}

/// Whether writing failed because the file is not ours to write (root's
/// alone, or a read-only mount), rather than the device being broken.
fn not_ours(e: &crate::collect::Error) -> bool {
    e.os_error().is_some_and(|o| {
        o.kind() == std::io::ErrorKind::PermissionDenied
            || o.raw_os_error() == Some(libc::EROFS)
            || o.raw_os_error() == Some(libc::EPERM)
    })
}

impl Module for Backlight {
    fn tooltip(&self, _index: usize) -> Option<&str> {
        self.tip.get()
    }

    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        Some(self.next)
    }

    fn update(&mut self, cx: &Context<'_>) -> bool {
        self.next = next_on_wall_second(self.next, self.interval, cx.now, cx.wall);
        if self.device.is_none() {
            // A backlight may have come (a monitor with DDC, a driver
            // loaded late) without our having heard it.
            self.discover();
        }
        self.refresh()
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segment);
    }

    fn fd(&self) -> Option<RawFd> {
        self.uevents.as_ref().map(Uevents::fd)
    }

    fn on_readable(&mut self) -> bool {
        let Some(ev) = self.uevents.as_mut().and_then(Uevents::drain) else {
            return false;
        };
        if ev == BacklightEvent::Devices {
            self.discover();
        }
        self.refresh()
    }

    fn pointer(&mut self, _index: usize, button: Button) -> Option<Command> {
        let ask = match button {
            Button::ScrollUp => self.scroll(true),
            Button::ScrollDown => self.scroll(false),
            _ => return None,
        };
        // Due now: the bar's next turn reads and shows the new level, also
        // where no uevent follows (a driver that sends none, a fixture tree).
        self.next = Instant::now();
        ask
    }

    fn services(&self) -> services::Set {
        // logind sets the brightness of a device there is; without one the
        // system bus is not needed.
        if self.device.is_some() {
            services::Set::of(services::Id::SystemBus)
        } else {
            services::Set::EMPTY
        }
    }

    fn on_service(&mut self, view: View<'_>) -> bool {
        let Some(Some(bus)) = view.system_bus() else {
            return false;
        };
        let Some(l) = bus.client::<Logind>() else {
            return false;
        };
        let mine = self.device.as_ref().is_some_and(|d| d.name == l.device);
        if !mine || l.done == self.logind_done && l.error == self.error {
            return false;
        }
        if l.done != self.logind_done {
            self.logind_done = l.done;
            self.error = None;
        }
        if let Some(e) = &l.error {
            if self.error.as_ref() != Some(e) {
                eprintln!("rstat: backlight: {e}");
                self.error = Some(e.clone());
            }
        }
        // logind has set it: show the level it reached.
        self.refresh()
    }

    fn state(&self) -> Option<&str> {
        self.segment.map(|s| {
            if s.style == self.palette.style(Level::Critical) {
                "critical"
            } else if s.style == self.palette.style(Level::Warning) {
                "warning"
            } else {
                "normal"
            }
        })
    }

    fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(icons: &[String], pct: f64) -> String {
        let i = config::module::Icons {
            ramp: icons.to_vec(),
            named: Vec::new(),
        };
        i.ramp(pct).to_string()
    }

    #[test]
    fn ramp_bands() {
        let icons: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        assert_eq!(ramp(&icons, 0.0), "a");
        assert_eq!(ramp(&icons, 24.9), "a");
        assert_eq!(ramp(&icons, 25.0), "b");
        assert_eq!(ramp(&icons, 99.0), "d");
        assert_eq!(ramp(&icons, 100.0), "d");
        assert_eq!(ramp(&icons, f64::NAN), "a");
        assert_eq!(ramp(&icons, 1e9), "d");
        assert_eq!(ramp(&[], 50.0), "");
    }
}

//! The power profile module: the active profile from power-profiles-daemon
//! ([`crate::services::power`], on the shared system-bus connection),
//! following its `PropertiesChanged`; a click asks it for the next profile.
//! Without the daemon it shows the kernel's ACPI platform profile
//! (`/sys/firmware/acpi/platform_profile`, read with `pread` at its
//! interval), which cannot be switched from here. Hidden when neither
//! exists. States: the profile's name, or `error` while the daemon refuses
//! a switch (polkit's "Not Authorized"), shown as `power_profile: not
//! authorized` in the critical colour.

use std::fs::File;
use std::time::{Duration, Instant};

use super::{next_on_wall_second, Align, Button, Command, Context, Init, Level, Module, Palette};
use super::{Placement, Segment, Text};
use crate::collect::system::pread_start;
use crate::config::{self, format::Value, KindDef};
use crate::services::power::PowerProfiles;
use crate::services::{self, View};

/// `power_profile`: power-profiles-daemon's active profile, else ACPI's.
pub const KIND: KindDef = KindDef {
    name: "power_profile",
    about: "the active power profile (power-profiles-daemon on the system bus, else ACPI); a click switches to the next",
    placeholders: &[
        (
            "profile",
            "the active profile (`power-saver`, `balanced`, `performance`; ACPI's names without the daemon)",
        ),
        (
            "source",
            "`daemon` (power-profiles-daemon) or `acpi` (the platform profile)",
        ),
    ],
    format: "{profile}",
    // Only the ACPI fallback is read at an interval.
    interval_ms: 5000,
    states: &[
        ("power-saver", "the daemon's power-saver profile"),
        ("balanced", "balanced (the daemon's or ACPI's)"),
        ("performance", "performance (the daemon's or ACPI's)"),
        ("low-power", "ACPI: low-power"),
        ("quiet", "ACPI: quiet"),
        ("cool", "ACPI: cool"),
        ("balanced-performance", "ACPI: balanced-performance"),
        ("error", "the daemon refused a switch (polkit: not authorized)"),
    ],
    ..KindDef::BASE
};

/// Builds a power profile module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(PowerProfile::new(
        spec,
        init.place,
        init.now,
        &init.src.roots.sys,
    ))
}

/// The bit of state `name` of this kind (0: none declared).
fn state_bit(name: &str) -> u32 {
    KIND.states
        .iter()
        .position(|(n, _)| *n == name)
        .map_or(0, |i| 1 << i)
}

/// The power profile module.
pub struct PowerProfile {
    spec: config::Module,
    palette: Palette,
    align: Align,
    interval: Duration,
    next: Instant,
    /// The daemon's state, copied on each of its events.
    daemon: Option<PowerProfiles>,
    /// `/sys/firmware/acpi/platform_profile`, when the kernel has one.
    acpi: Option<File>,
    acpi_profile: Text,
    text: String,
    state: Text,
    segment: Option<Segment>,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
}

impl PowerProfile {
    /// The instance of `spec`, reading the ACPI fallback under `sys`.
    pub fn new(
        spec: &config::Module,
        place: Placement,
        now: Instant,
        sys: &std::path::Path,
    ) -> PowerProfile {
        PowerProfile {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            interval: Duration::from_millis(spec.interval_ms.max(1)),
            next: now,
            daemon: None,
            acpi: File::open(sys.join("firmware/acpi/platform_profile")).ok(),
            acpi_profile: Text::default(),
            text: String::with_capacity(64),
            state: Text::default(),
            tip: super::Tip::default(),
            segment: None,
        }
    }

    fn read_acpi(&mut self) {
        self.acpi_profile.clear();
        let Some(f) = &self.acpi else {
            return;
        };
        let mut buf = [0u8; 64];
        if let Ok(b) = pread_start(f, &mut buf) {
            if let Ok(s) = std::str::from_utf8(b.trim_ascii()) {
                self.acpi_profile.push_str(s);
            }
        }
    }

    fn show(&mut self) -> bool {
        let daemon = self.daemon.as_ref().filter(|d| d.present());
        let (profile, source, error) = match daemon {
            Some(d) => (
                d.active.as_deref().unwrap_or(""),
                "daemon",
                d.error.as_deref(),
            ),
            None if !self.acpi_profile.as_str().is_empty() => {
                (self.acpi_profile.as_str(), "acpi", None)
            }
            None => ("", "", None),
        };
        let seg = (!profile.is_empty()).then(|| {
            self.text.clear();
            let level = if let Some(e) = error {
                self.text.push_str(&self.spec.name);
                self.text.push_str(": ");
                self.text.push_str(if e.contains("Not Authorized") {
                    "not authorized"
                } else {
                    "error"
                });
                Level::Critical
            } else {
                let values = [Value::Text(profile), Value::Text(source)];
                self.spec.format.render(&mut self.text, &values);
                self.tip.render(&self.spec, &values);
                Level::Normal
            };
            let states = state_bit(if error.is_some() { "error" } else { profile })
                | super::level_states(level);
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
        self.state.clear();
        if seg.is_some() {
            self.state
                .push_str(if error.is_some() { "error" } else { profile });
        }
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }
}

impl Module for PowerProfile {
    fn tooltip(&self, _index: usize) -> Option<&str> {
        self.tip.get()
    }

    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        // The ACPI file is read only while no daemon speaks for it.
        let daemon = self.daemon.as_ref().is_some_and(PowerProfiles::present);
        (self.acpi.is_some() && !daemon).then_some(self.next)
    }

    fn update(&mut self, cx: &Context<'_>) -> bool {
        self.next = next_on_wall_second(self.next, self.interval, cx.now, cx.wall);
        if !self.daemon.as_ref().is_some_and(PowerProfiles::present) {
            self.read_acpi();
        }
        self.show()
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segment);
    }

    fn services(&self) -> services::Set {
        services::Set::of(services::Id::SystemBus)
    }

    fn on_service(&mut self, view: View<'_>) -> bool {
        let Some(bus) = view.system_bus() else {
            return false;
        };
        let now = bus.and_then(|s| s.client::<PowerProfiles>());
        if now == self.daemon.as_ref() {
            return false;
        }
        self.daemon = now.cloned();
        if !self.daemon.as_ref().is_some_and(PowerProfiles::present) {
            self.read_acpi();
        }
        self.show()
    }

    fn pointer(&mut self, _index: usize, button: Button) -> Option<Command> {
        let daemon = self.daemon.as_ref().is_some_and(PowerProfiles::present);
        (button == Button::Left && daemon).then_some(Command::CyclePowerProfile)
    }

    fn state(&self) -> Option<&str> {
        (!self.state.as_str().is_empty()).then(|| self.state.as_str())
    }

    fn error(&self) -> Option<&str> {
        self.daemon.as_ref().and_then(|d| d.error.as_deref())
    }
}

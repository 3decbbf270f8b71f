//! The Bluetooth module: an adapter and its devices from BlueZ
//! ([`crate::services::bluetooth`], on the shared system-bus connection),
//! following its signals. States `off` (not powered), `on`, `connected` (a
//! device is connected), and `error` while BlueZ's objects cannot be read
//! or it refused a switch. A click switches the adapter on or off
//! (`on_click` replaces that with a command); the tooltip lists the
//! adapter and its connected and paired devices, with battery levels.
//! Hidden without bluetoothd or an adapter.

use std::fmt::Write;

use super::{Align, Button, Command, Init, Level, Module, Palette, Placement, Segment, Text};
use crate::config::{self, format::Value, Key, KeyType, KindDef};
use crate::services::bluetooth::{Adapter, Bluetooth as Bluez, Device};
use crate::services::{self, View};

/// `bluetooth`: BlueZ's adapter and connected devices.
pub const KIND: KindDef = KindDef {
    name: "bluetooth",
    about: "a Bluetooth adapter and its connected devices (BlueZ on the system bus); a click switches it on or off",
    placeholders: &[
        ("status", "`off`, `on` or `connected`"),
        ("adapter", "the adapter's alias (its friendly name)"),
        ("address", "the adapter's address"),
        ("count", "how many devices are connected"),
        ("device", "the first connected device's alias"),
        (
            "battery",
            "that device's battery percentage (`--` when it reports none)",
        ),
        ("devices", "every connected device's alias, comma-separated"),
        ("discovering", "`discovering` while the adapter scans, else empty"),
    ],
    format: "bt {status}",
    states: &[
        ("off", "the adapter is powered off"),
        ("on", "powered, nothing connected"),
        ("connected", "at least one device is connected"),
        (
            "error",
            "BlueZ's objects came in the wrong shape, or it refused a switch",
        ),
    ],
    keys: &[Key::new(
        "adapter",
        KeyType::Text(""),
        "the adapter to show, by its object's last name (`hci1`); unset: the first",
    )],
    ..KindDef::BASE
};

/// Builds a Bluetooth module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Bluetooth::new(spec, init.place))
}

fn state_bit(name: &str) -> u32 {
    KIND.states
        .iter()
        .position(|(n, _)| *n == name)
        .map_or(0, |i| 1 << i)
}

/// What the module shows, copied from the service on each of its events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Shown {
    adapter: Adapter,
    /// The adapter's connected and paired devices, in path order.
    devices: Vec<Device>,
    error: Option<String>,
}

/// The Bluetooth module.
pub struct Bluetooth {
    spec: config::Module,
    palette: Palette,
    align: Align,
    shown: Option<Shown>,
    complaint: Option<String>,
    text: String,
    tooltip: String,
    state: &'static str,
    segment: Option<Segment>,
}

impl Bluetooth {
    /// The instance of `spec`, hidden until BlueZ is read.
    pub fn new(spec: &config::Module, place: Placement) -> Bluetooth {
        Bluetooth {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            shown: None,
            complaint: None,
            text: String::with_capacity(64),
            tooltip: String::with_capacity(256),
            state: "",
            segment: None,
        }
    }

    fn show(&mut self) -> bool {
        self.text.clear();
        self.tooltip.clear();
        self.state = "";
        let Some(s) = &self.shown else {
            let changed = self.segment.is_some();
            self.segment = None;
            return changed;
        };
        let connected: Vec<&Device> = s.devices.iter().filter(|d| d.connected).collect();
        let status = if !s.adapter.powered {
            "off"
        } else if connected.is_empty() {
            "on"
        } else {
            "connected"
        };
        let level = if let Some(e) = &s.error {
            self.state = "error";
            self.text.push_str(&self.spec.name);
            self.text.push_str(": ");
            self.text.push_str(
                if e.contains("NotAuthorized") || e.contains("Not Authorized") {
                    "not authorized"
                } else {
                    "error"
                },
            );
            Level::Critical
        } else {
            self.state = status;
            let mut names = String::new();
            for (i, d) in connected.iter().enumerate() {
                if i > 0 {
                    names.push_str(", ");
                }
                names.push_str(&d.name);
            }
            let mut battery = Text::default();
            let first = connected.first();
            let has_battery = first
                .and_then(|d| d.battery)
                .map(|b| write!(battery, "{b}"))
                .is_some();
            let values = [
                Value::Text(status),
                Value::Text(&s.adapter.name),
                Value::Text(&s.adapter.address),
                Value::Int(connected.len() as i64),
                Value::Text(first.map_or("", |d| d.name.as_str())),
                if has_battery {
                    Value::Text(battery.as_str())
                } else {
                    Value::Absent
                },
                Value::Text(&names),
                Value::Text(if s.adapter.discovering {
                    "discovering"
                } else {
                    ""
                }),
            ];
            let states = state_bit(status);
            self.spec.render(&mut self.text, states, &values);
            if !self.spec.render_tooltip(&mut self.tooltip, &values) && self.spec.tooltip {
                self.write_tooltip();
            }
            Level::Normal
        };
        let text = self.text.trim();
        let seg = Segment {
            markup: false,
            text: Text::new(text),
            style: self.palette.style(level),
            align: self.align,
            popup: None,
            output: None,
            states: state_bit(self.state) | super::level_states(level),
        };
        let changed = self.segment != Some(seg);
        self.segment = Some(seg);
        changed
    }

    /// The built-in tooltip: the adapter, then one line per device.
    fn write_tooltip(&mut self) {
        let Some(s) = &self.shown else {
            return;
        };
        let a = &s.adapter;
        let _ = write!(
            self.tooltip,
            "{} ({}): {}{}",
            a.name,
            a.address,
            if a.powered { "on" } else { "off" },
            if a.discovering { ", discovering" } else { "" }
        );
        for d in &s.devices {
            let _ = write!(
                self.tooltip,
                "\n{}: {}",
                d.name,
                if d.connected { "connected" } else { "paired" }
            );
            if let Some(b) = d.battery {
                let _ = write!(self.tooltip, ", battery {b}%");
            }
        }
    }
}

impl Module for Bluetooth {
    fn spec(&self) -> &config::Module {
        &self.spec
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
        let bluez = bus.and_then(|s| s.client::<Bluez>());
        let complaint = bluez.and_then(|b| b.complaint.clone());
        let now = bluez.and_then(|b| {
            // BlueZ's objects unreadable: no adapter to show, but a stated error.
            if b.present() && b.adapters.is_empty() && b.error.is_some() {
                return Some(Shown {
                    error: b.error.clone(),
                    ..Shown::default()
                });
            }
            let a = b.adapter(self.spec.text("adapter"))?;
            Some(Shown {
                adapter: a.clone(),
                devices: b
                    .devices_of(&a.path)
                    .filter(|d| d.connected || d.paired)
                    .cloned()
                    .collect(),
                error: b.error.clone(),
            })
        });
        if now == self.shown && complaint == self.complaint {
            return false;
        }
        self.complaint = complaint;
        self.shown = now;
        self.show()
    }

    fn pointer(&mut self, _index: usize, button: Button) -> Option<Command> {
        let s = self.shown.as_ref()?;
        (button == Button::Left && !s.adapter.path.is_empty())
            .then(|| Command::ToggleBluetooth(s.adapter.path.clone()))
    }

    fn state(&self) -> Option<&str> {
        (!self.state.is_empty()).then_some(self.state)
    }

    fn error(&self) -> Option<&str> {
        let s = self.shown.as_ref()?;
        s.error.as_deref().or(self.complaint.as_deref())
    }

    fn tooltip(&self, _index: usize) -> Option<&str> {
        (self.segment.is_some() && !self.tooltip.is_empty()).then_some(self.tooltip.as_str())
    }

    fn listing(&self) -> Vec<[(&'static str, &str); 3]> {
        let Some(s) = &self.shown else {
            return Vec::new();
        };
        s.devices
            .iter()
            .map(|d| {
                [
                    ("device", d.name.as_str()),
                    ("address", d.address.as_str()),
                    ("state", if d.connected { "connected" } else { "paired" }),
                ]
            })
            .collect()
    }
}

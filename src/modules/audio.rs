//! The audio module: the sound server's default sink (volume, mute,
//! description, port type) and default source, from the sound service
//! ([`crate::services::sound`]); event-driven, never polled. Scrolling
//! changes the volume by `step` up to `max_volume`, a click toggles mute,
//! both through the protocol (the bar hands the module's [`Command`] to the
//! service); the middle and right buttons run the configured commands.
//!
//! States (what a style or `--once` sees): `muted`, `source_muted`,
//! `bluetooth`, `disconnected`.

use std::time::Instant;

use super::{Align, Button, Command, Context, Init, Level, Module, Palette, Placement};
use super::{Segment, Text};
use crate::config::kind::Opt;
use crate::config::{self, format::Value, Key, KeyType, KindDef, Template};
use crate::services::pulse::{Device, State, Which, PORT_TYPES};
use crate::services::{self, View};

/// The built-in `{icon}` ramp, quietest first (block elements: the
/// embedded font has them).
pub const DEFAULT_ICONS: &[&str] = &["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];

/// Its placeholders, in the order [`Audio::show`] hands the values over.
const PLACEHOLDERS: &[(&str, &str)] = &[
    (
        "volume",
        "the default sink's volume, % (as `pactl` and `wpctl` round it)",
    ),
    (
        "icon",
        "`icons` (or the port type's `port_icons`, or `icon_muted`), ramped by volume",
    ),
    ("desc", "the sink's description"),
    (
        "port",
        "its port type: speaker, headphones, headset, hdmi, bluetooth, …",
    ),
    ("sink", "the sink's name"),
    ("muted", "`muted` when muted, else empty"),
    ("source_volume", "the default source's volume, %"),
    ("source_desc", "the default source's description"),
    ("source_muted", "`muted` when the source is muted"),
    ("server", "the server's name and version"),
];

const PLACEHOLDER_NAMES: [&str; 10] = [
    "volume",
    "icon",
    "desc",
    "port",
    "sink",
    "muted",
    "source_volume",
    "source_desc",
    "source_muted",
    "server",
];

/// `audio`: the sound server's default sink and source.
pub const KIND: KindDef = KindDef {
    name: "audio",
    about: "the default sink's volume and mute over the PulseAudio protocol (pipewire-pulse, PulseAudio); scroll and click change them",
    placeholders: PLACEHOLDERS,
    format: "{icon} {volume:>3}%",
    primary: Some("volume"),
    // The `{icon}` ramp, quietest first (n icons split 0–max_volume into n bands).
    icons: DEFAULT_ICONS,
    states: &[
        ("muted", "the default sink is muted"),
        ("source_muted", "the default source is muted"),
        ("bluetooth", "the default sink is a Bluetooth device"),
        ("disconnected", "no sound server answers"),
    ],
    keys: &[
        Key::new(
            "step",
            KeyType::Float {
                min: 1.0,
                max: 100.0,
                default: 5.0,
            },
            "percent one scroll step changes the volume (rounded to a whole percent)",
        ),
        Key::new(
            "max_volume",
            KeyType::Uint {
                min: 1,
                max: 150,
                default: 100,
            },
            "scrolling up stops here, percent (a volume set above it elsewhere is left alone)",
        ),
        Key::new(
            "format_muted",
            KeyType::Text("{icon} muted"),
            "the format while the sink is muted (the same placeholders)",
        )
        .checked(muted_format),
        Key::new(
            "format_disconnected",
            KeyType::Text("audio: disconnected"),
            "the text while no sound server answers",
        ),
        Key::new(
            "port_icons",
            KeyType::Strings(&[]),
            "ramps by port type, each \"PORT=ICON ICON …\" (`headphones=🎧`, `bluetooth=ᛒ`); other ports use `icons`",
        )
        .checked(port_icons),
        Key::new(
            "icon_muted",
            KeyType::Text("✗"),
            "the `{icon}` while muted",
        ),
    ],
    ..KindDef::BASE
};

fn muted_format(v: &Opt) -> Result<(), String> {
    match v {
        Opt::Text(f) => Template::parse(f, &PLACEHOLDER_NAMES)
            .map(|_| ())
            .map_err(|e| e.message),
        _ => Ok(()),
    }
}

fn port_icons(v: &Opt) -> Result<(), String> {
    let Opt::Strings(list) = v else {
        return Ok(());
    };
    for e in list {
        let Some((port, icons)) = e.split_once('=') else {
            return Err(format!("`{e}`: expected \"PORT=ICON ICON …\""));
        };
        if !PORT_TYPES.contains(&port) {
            return Err(format!(
                "`{port}` is not a port type ({})",
                PORT_TYPES.join(", ")
            ));
        }
        if icons.split_whitespace().next().is_none() {
            return Err(format!("`{e}`: no icon after `=`"));
        }
    }
    Ok(())
}

/// Builds an audio module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Audio::new(spec, init.place))
}

/// What the module last showed, for deciding what a gesture does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Shown {
    volume: Option<u32>,
    muted: bool,
}

/// The audio module.
pub struct Audio {
    spec: config::Module,
    palette: Palette,
    align: Align,
    format_muted: Template,
    /// `icons`, then each `port_icons` entry: (port type or "", ramp).
    icons: Vec<(String, Vec<String>)>,
    text: String,
    segment: Option<Segment>,
    /// Its states, kept while an empty text hides the segment.
    bits: u32,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
    shown: Shown,
}

impl Audio {
    /// The instance of `spec`; `disconnected` until the service says more.
    pub fn new(spec: &config::Module, place: Placement) -> Audio {
        let mut icons = vec![(String::new(), spec.icons.ramp.clone())];
        for e in spec.strings("port_icons") {
            if let Some((port, ramp)) = e.split_once('=') {
                let ramp = ramp.split_whitespace().map(String::from).collect();
                icons.push((port.to_string(), ramp));
            }
        }
        let mut a = Audio {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            // Checked when the config was read; the default otherwise.
            format_muted: Template::parse(spec.text("format_muted"), &PLACEHOLDER_NAMES)
                .unwrap_or_else(|_| {
                    Template::parse("{icon} muted", &PLACEHOLDER_NAMES).unwrap_or_default()
                }),
            icons,
            text: String::with_capacity(128),
            tip: super::Tip::default(),
            segment: None,
            bits: 0,
            shown: Shown::default(),
        };
        a.show(None);
        a
    }

    /// The icon for `d`: `muted`'s when muted, else its port type's (or
    /// `default`'s) ramp entry for its volume.
    fn icon<'a>(&'a self, d: &Device, max_volume: u32) -> &'a str {
        if d.muted {
            return self.spec.text("icon_muted");
        }
        let find = |n: &str| self.icons.iter().find(|(k, _)| k == n).map(|(_, r)| r);
        let ramp = find(d.port.name()).or_else(|| find(""));
        let Some(ramp) = ramp.filter(|r| !r.is_empty()) else {
            return "";
        };
        let pct = d.percent().min(max_volume) as usize;
        let i = (pct * ramp.len() / (max_volume as usize + 1)).min(ramp.len() - 1);
        &ramp[i]
    }

    /// Shows `state` (`None`: not connected); true when the segment changed.
    pub fn show(&mut self, state: Option<&State>) -> bool {
        let before = self.segment;
        let ready = state.filter(|s| s.ready);
        let sink = ready.and_then(|s| s.sink.as_ref());
        let source = ready.and_then(|s| s.source.as_ref());
        let max_volume = self.spec.uint("max_volume") as u32;
        let mut states = 0u32;
        let mut level = Level::Normal;
        let mut text = std::mem::take(&mut self.text);
        let mut tip = std::mem::take(&mut self.tip);
        text.clear();
        match ready {
            None => {
                states |= DISCONNECTED;
                level = Level::Critical;
                text.push_str(self.spec.text("format_disconnected"));
                self.shown = Shown::default();
            }
            Some(s) => {
                let icon = sink.map_or("", |d| self.icon(d, max_volume));
                let muted = sink.is_some_and(|d| d.muted);
                let yes = |b: bool| Value::Text(if b { "muted" } else { "" });
                let values = [
                    sink.map_or(Value::Absent, |d| Value::Int(d.percent() as i64)),
                    Value::Text(icon),
                    sink.map_or(Value::Absent, |d| Value::Text(&d.description)),
                    sink.map_or(Value::Absent, |d| Value::Text(d.port.name())),
                    sink.map_or(Value::Absent, |d| Value::Text(&d.name)),
                    yes(muted),
                    source.map_or(Value::Absent, |d| Value::Int(d.percent() as i64)),
                    source.map_or(Value::Absent, |d| Value::Text(&d.description)),
                    yes(source.is_some_and(|d| d.muted)),
                    Value::Text(&s.server),
                ];
                let format = if muted {
                    &self.format_muted
                } else {
                    &self.spec.format
                };
                format.render(&mut text, &values);
                tip.render(&self.spec, &values);
                if muted {
                    states |= MUTED;
                    level = Level::Warning;
                }
                if source.is_some_and(|d| d.muted) {
                    states |= SOURCE_MUTED;
                }
                if sink.is_some_and(|d| d.bluetooth) {
                    states |= BLUETOOTH;
                }
                if let Some(d) = sink {
                    let t = self.threshold_level(d.percent() as f64);
                    states |= match t {
                        Level::Critical => config::state::CRITICAL,
                        Level::Warning => config::state::WARNING,
                        Level::Normal => 0,
                    };
                    level = level.max(t);
                }
                self.shown = Shown {
                    volume: sink.map(Device::percent),
                    muted,
                };
            }
        }
        self.bits = states;
        // An empty text (`format_disconnected = ""`) hides the module.
        self.segment = (!text.is_empty()).then(|| Segment {
            markup: false,
            text: Text::new(&text),
            style: self.palette.style(level),
            align: self.align,
            popup: None,
            output: None,
            states,
        });
        self.text = text;
        self.tip = tip;
        self.segment != before
    }

    /// The level the configured `warning`/`critical` volumes put `pct` at.
    fn threshold_level(&self, pct: f64) -> Level {
        let at = |t: &config::Thresholds| t.iter().any(|&(i, v)| i == 0 && pct >= v);
        if at(&self.spec.critical) {
            Level::Critical
        } else if at(&self.spec.warning) {
            Level::Warning
        } else {
            Level::Normal
        }
    }

    /// The state names it is in now.
    pub fn states(&self) -> impl Iterator<Item = &str> + '_ {
        config::state::names(&KIND, &[], self.bits)
    }
}

/// The bits of its own states, in [`KIND`]'s order.
const MUTED: u32 = 1;
const SOURCE_MUTED: u32 = 1 << 1;
const BLUETOOTH: u32 = 1 << 2;
const DISCONNECTED: u32 = 1 << 3;

impl Module for Audio {
    fn tooltip(&self, _index: usize) -> Option<&str> {
        self.tip.get()
    }

    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        None
    }

    fn update(&mut self, _cx: &Context<'_>) -> bool {
        false
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segment);
    }

    fn services(&self) -> services::Set {
        services::Set::of(services::Id::Sound)
    }

    fn on_service(&mut self, view: View<'_>) -> bool {
        match view.sound() {
            Some(state) => self.show(state),
            None => false,
        }
    }

    fn pointer(&mut self, _index: usize, button: Button) -> Option<Command> {
        let vol = self.shown.volume?;
        let max = self.spec.uint("max_volume") as u32;
        let step = self.spec.float("step").round().max(1.0) as u32;
        match button {
            Button::Left => Some(Command::SetMute(Which::Sink, !self.shown.muted)),
            // Above the ceiling already (set elsewhere): scrolling up leaves it.
            Button::ScrollUp if vol >= max => None,
            Button::ScrollUp => Some(Command::SetVolume(Which::Sink, (vol + step).min(max))),
            Button::ScrollDown => Some(Command::SetVolume(Which::Sink, vol.saturating_sub(step))),
            Button::Middle | Button::Right => None,
        }
    }

    /// The first of its states (`disconnected`, then `muted`, …), else
    /// `normal`; every one is on the segment.
    fn state(&self) -> Option<&str> {
        Some(if self.bits & DISCONNECTED != 0 {
            "disconnected"
        } else {
            self.states().next().unwrap_or("normal")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::pulse::tagstruct::CVolume;
    use crate::services::pulse::{from_percent, Port};

    fn spec() -> config::Module {
        config::Module::defaults("audio", &KIND)
    }

    fn state(pct: u32, muted: bool, port: Port) -> State {
        State {
            ready: true,
            server: "pulseaudio 16.1".into(),
            sink: Some(Device {
                index: 1,
                name: "out".into(),
                description: "Speakers".into(),
                volume: CVolume::uniform(2, from_percent(pct)),
                muted,
                port,
                bluetooth: port == Port::BLUETOOTH,
            }),
            source: None,
        }
    }

    fn text(a: &Audio) -> String {
        let mut v = Vec::new();
        a.write(&mut v);
        v[0].text.as_str().to_string()
    }

    fn place() -> Placement {
        Placement {
            align: Align::Right,
            palette: Palette::default(),
        }
    }

    #[test]
    fn shows_volume_mute_and_states() {
        let mut a = Audio::new(&spec(), place());
        assert_eq!(text(&a), "audio: disconnected");
        assert_eq!(a.states().collect::<Vec<_>>(), ["disconnected"]);
        assert!(a.show(Some(&state(50, false, Port::SPEAKER))));
        assert_eq!(text(&a), "▄  50%");
        assert_eq!(a.states().count(), 0);
        assert!(!a.show(Some(&state(50, false, Port::SPEAKER))), "unchanged");
        assert!(a.show(Some(&state(50, true, Port::BLUETOOTH))));
        assert_eq!(text(&a), "✗ muted");
        assert_eq!(a.states().collect::<Vec<_>>(), ["muted", "bluetooth"]);
        assert!(a.show(None));
        assert_eq!(text(&a), "audio: disconnected");
    }

    #[test]
    fn an_empty_format_hides_it_while_disconnected() {
        let mut s = spec();
        s.options[KIND.key("format_disconnected").unwrap()] = Opt::Text(String::new());
        let mut a = Audio::new(&s, place());
        let mut v = Vec::new();
        a.write(&mut v);
        assert!(v.is_empty(), "{v:?}");
        assert_eq!(a.state(), Some("disconnected"));
        assert!(a.show(Some(&state(50, false, Port::SPEAKER))));
        assert_eq!(text(&a), "▄  50%");
        assert!(a.show(None));
        v.clear();
        a.write(&mut v);
        assert!(v.is_empty(), "hidden again: {v:?}");
    }

    #[test]
    fn icons_ramp_by_port_type() {
        let mut s = spec();
        s.format = Template::parse("{icon} {port} {desc}", &PLACEHOLDER_NAMES).unwrap();
        let i = KIND.key("port_icons").unwrap();
        s.options[i] = Opt::Strings(vec!["headphones=h0 h1".into()]);
        assert_eq!(port_icons(&s.options[i]), Ok(()));
        assert!(port_icons(&Opt::Strings(vec!["phone=x".into()])).is_ok());
        assert!(port_icons(&Opt::Strings(vec!["speakers=x".into()])).is_err());
        assert!(port_icons(&Opt::Strings(vec!["hdmi=".into()])).is_err());
        let mut a = Audio::new(&s, place());
        a.show(Some(&state(0, false, Port::HEADPHONES)));
        assert_eq!(text(&a), "h0 headphones Speakers");
        a.show(Some(&state(100, false, Port::HEADPHONES)));
        assert_eq!(text(&a), "h1 headphones Speakers");
        a.show(Some(&state(100, false, Port::HDMI)));
        assert_eq!(text(&a), "█ hdmi Speakers", "default ramp, loudest");
    }

    #[test]
    fn gestures_step_to_the_ceiling() {
        let mut a = Audio::new(&spec(), place());
        assert_eq!(a.pointer(0, Button::ScrollUp), None, "nothing shown");
        a.show(Some(&state(97, false, Port::SPEAKER)));
        assert_eq!(
            a.pointer(0, Button::ScrollUp),
            Some(Command::SetVolume(Which::Sink, 100))
        );
        assert_eq!(
            a.pointer(0, Button::ScrollDown),
            Some(Command::SetVolume(Which::Sink, 92))
        );
        assert_eq!(
            a.pointer(0, Button::Left),
            Some(Command::SetMute(Which::Sink, true))
        );
        a.show(Some(&state(120, true, Port::SPEAKER)));
        assert_eq!(a.pointer(0, Button::ScrollUp), None);
        assert_eq!(
            a.pointer(0, Button::Left),
            Some(Command::SetMute(Which::Sink, false))
        );
        a.show(Some(&state(3, false, Port::SPEAKER)));
        assert_eq!(
            a.pointer(0, Button::ScrollDown),
            Some(Command::SetVolume(Which::Sink, 0))
        );
        assert_eq!(a.pointer(0, Button::Middle), None);
    }
}

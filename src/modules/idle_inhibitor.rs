//! The idle inhibitor: a click toggles whether the bar asks the compositor
//! not to go idle (`zwp_idle_inhibitor_v1`, so swayidle or hypridle do not
//! blank or lock the screen). The module only holds the wish; the bar hands
//! it to the Wayland layer, which owns the protocol object, and carries it
//! over a config reload. States `activated` / `deactivated`.

use std::time::Instant;

use super::{Align, Button, Command, Context, Init, Module, Palette, Placement, Segment, Text};
use crate::config::{self, format::Value, KindDef};

/// `idle_inhibitor`: a toggle that keeps the compositor's idle timeout
/// from firing.
pub const KIND: KindDef = KindDef {
    name: "idle_inhibitor",
    about: "a click toggles keeping the compositor from going idle",
    placeholders: &[
        ("state", "activated or deactivated"),
        (
            "icon",
            "`icons[0]` while deactivated, `icons[1]` while activated",
        ),
    ],
    format: "{icon}",
    states: &[
        ("deactivated", "idle may happen as usual"),
        ("activated", "the compositor is asked not to go idle"),
    ],
    // Deactivated, activated (or a table by those state names).
    icons: &["○", "●"],
    ..KindDef::BASE
};

/// Builds an idle inhibitor (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(IdleInhibitor::new(spec, init.place, init.now))
}

/// The idle inhibitor module.
pub struct IdleInhibitor {
    spec: config::Module,
    palette: Palette,
    align: Align,
    active: bool,
    /// Set by a click: due at once, so the bar redraws and applies it.
    due: Option<Instant>,
    text: String,
    segment: Option<Segment>,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
}

impl IdleInhibitor {
    /// The instance of `spec`, deactivated, drawn at its first update.
    pub fn new(spec: &config::Module, place: Placement, now: Instant) -> IdleInhibitor {
        IdleInhibitor {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            active: false,
            due: Some(now),
            text: String::with_capacity(64),
            tip: super::Tip::default(),
            segment: None,
        }
    }

    fn state_name(&self) -> &'static str {
        if self.active {
            "activated"
        } else {
            "deactivated"
        }
    }

    fn show(&mut self) -> bool {
        let icons = &self.spec.icons;
        let icon = icons.named(self.state_name()).unwrap_or_else(|| {
            icons
                .ramp
                .get(self.active as usize)
                .or(icons.ramp.first())
                .map_or("", String::as_str)
        });
        let values = [Value::Text(self.state_name()), Value::Text(icon)];
        self.text.clear();
        let states = if self.active { 2 } else { 1 };
        self.spec.render(&mut self.text, states, &values);
        self.tip.render(&self.spec, &values);
        let mut style = self.palette.style(super::Level::Normal);
        if self.active {
            style.fg = self.palette.accent;
        }
        let seg = Some(Segment {
            markup: false,
            text: Text::new(&self.text),
            style,
            align: self.align,
            popup: None,
            output: None,
            states,
        });
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }
}

impl Module for IdleInhibitor {
    fn tooltip(&self, _index: usize) -> Option<&str> {
        self.tip.get()
    }

    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        self.due
    }

    fn update(&mut self, _cx: &Context<'_>) -> bool {
        self.due = None;
        self.show()
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segment);
    }

    fn pointer(&mut self, _index: usize, button: Button) -> Option<Command> {
        if button == Button::Left {
            self.active = !self.active;
            self.due = Some(Instant::now());
        }
        None
    }

    fn inhibits_idle(&self) -> Option<bool> {
        Some(self.active)
    }

    fn set_inhibit_idle(&mut self, on: bool) {
        if on != self.active {
            self.active = on;
            self.due = Some(Instant::now());
        }
    }

    fn state(&self) -> Option<&str> {
        Some(self.state_name())
    }
}

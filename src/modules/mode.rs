//! The mode module: Sway's binding mode (`mode resize`) or Hyprland's
//! submap, hidden in the default one. Event-driven (the compositor's `mode`
//! / `submap` events).

use super::{Align, Init, Level, Module, Palette, Placement, Segment};
use crate::compositor::State;
use crate::config::{self, format::Value, KindDef};
use crate::services::{self, View};

/// `mode`: the binding mode or submap.
pub const KIND: KindDef = KindDef {
    name: "mode",
    about: "Sway's binding mode or Hyprland's submap, hidden in the default one",
    placeholders: &[("mode", "the mode's name (`resize`)")],
    format: "{mode}",
    ..KindDef::BASE
};

/// Builds the mode module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Mode::new(spec, init.place))
}

/// The mode module.
pub struct Mode {
    spec: config::Module,
    palette: Palette,
    align: Align,
    text: String,
    segment: Option<Segment>,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
}

impl Mode {
    /// Hidden until a mode other than the default is entered.
    pub fn new(spec: &config::Module, place: Placement) -> Mode {
        Mode {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            text: String::with_capacity(64),
            tip: super::Tip::default(),
            segment: None,
        }
    }

    /// The compositor's state changed; true when the segment did.
    pub fn on_compositor(&mut self, state: Option<&State>) -> bool {
        let mode = state.map_or("", |s| s.mode.as_str());
        let seg = (!mode.is_empty()).then(|| {
            self.text.clear();
            let values = [Value::Text(mode)];
            self.spec.format.render(&mut self.text, &values);
            self.tip.render(&self.spec, &values);
            let mut style = self.palette.style(Level::Normal);
            // A mode changes what keys do: make it stand out.
            style.fg = self.palette.warning;
            Segment::new(&self.text, style, self.align)
        });
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }
}

impl Module for Mode {
    fn tooltip(&self, _index: usize) -> Option<&str> {
        self.tip.get()
    }

    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segment);
    }

    fn services(&self) -> services::Set {
        services::Set::of(services::Id::Compositor)
    }

    fn on_service(&mut self, view: View<'_>) -> bool {
        let Some(state) = view.compositor() else {
            return false;
        };
        self.on_compositor(state)
    }
}

//! The scratchpad module: how many windows Sway's scratchpad holds (the
//! `__i3_scratch` workspace of its tree), hidden at zero; the tooltip lists
//! their titles. Event-driven (window events re-read the tree).

use super::{Align, Init, Level, Module, Palette, Placement, Segment};
use crate::compositor::State;
use crate::config::{self, format::Value, KindDef};
use crate::services::{self, View};

/// `scratchpad`: the scratchpad's window count.
pub const KIND: KindDef = KindDef {
    name: "scratchpad",
    about: "the number of windows in Sway's scratchpad, hidden at zero (tooltip: their titles)",
    placeholders: &[
        ("count", "windows in the scratchpad"),
        ("titles", "their titles, comma-separated"),
    ],
    format: "⧉ {count}",
    ..KindDef::BASE
};

/// Builds the scratchpad module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Scratchpad::new(spec, init.place))
}

/// The scratchpad module.
pub struct Scratchpad {
    spec: config::Module,
    palette: Palette,
    align: Align,
    text: String,
    titles: String,
    tooltip: String,
    segment: Option<Segment>,
}

impl Scratchpad {
    /// Hidden until a window is in the scratchpad.
    pub fn new(spec: &config::Module, place: Placement) -> Scratchpad {
        Scratchpad {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            text: String::with_capacity(64),
            titles: String::with_capacity(256),
            tooltip: String::with_capacity(256),
            segment: None,
        }
    }

    /// The compositor's state changed; true when the segment or tooltip did.
    pub fn on_compositor(&mut self, state: Option<&State>) -> bool {
        let list = state.map_or(&[][..], |s| s.scratchpad.as_slice());
        let before = self.tooltip.len();
        self.titles.clear();
        self.tooltip.clear();
        for (i, t) in list.iter().enumerate() {
            if i > 0 {
                self.titles.push_str(", ");
                self.tooltip.push('\n');
            }
            self.titles.push_str(t);
            self.tooltip.push_str(t);
        }
        let seg = (!list.is_empty()).then(|| {
            self.text.clear();
            self.spec.format.render(
                &mut self.text,
                &[Value::Int(list.len() as i64), Value::Text(&self.titles)],
            );
            Segment::new(&self.text, self.palette.style(Level::Normal), self.align)
        });
        let changed = seg != self.segment || before != self.tooltip.len();
        self.segment = seg;
        changed
    }
}

impl Module for Scratchpad {
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

    fn tooltip(&self, _index: usize) -> Option<&str> {
        (!self.tooltip.is_empty()).then_some(self.tooltip.as_str())
    }
}

//! The language module: the focused keyboard's active layout (Sway's
//! `xkb_active_layout_name` from `input` events, Hyprland's `activelayout`),
//! as the full name (`English (US)`) or the short one (`us`, looked up in
//! xkeyboard-config's `evdev.lst`). A click switches to the next layout
//! unless `on_click` says otherwise.

use super::{Align, Button, Command, Init, Level, Module, Palette, Placement, Segment};
use crate::compositor::State;
use crate::config::{self, format::Value, KindDef};
use crate::services::{self, View};

/// `language`: the keyboard layout.
pub const KIND: KindDef = KindDef {
    name: "language",
    about: "the focused keyboard's layout; a click switches to the next one",
    placeholders: &[
        (
            "short",
            "the layout's short name (`us`, `de`; the full name when unknown)",
        ),
        ("layout", "the layout's full name (`English (US)`)"),
    ],
    format: "{short}",
    ..KindDef::BASE
};

/// Where xkeyboard-config lists layouts: `  CODE   Description` lines.
pub const EVDEV_LST: &str = "/usr/share/X11/xkb/rules/evdev.lst";

/// Builds the language module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Language::new(spec, init.place))
}

/// The short name of layout `full` in an `evdev.lst` text: its `! layout`
/// code, or for a variant (`intl  us: English (US, intl., …)`) the layout's.
pub fn short_name(lst: &str, full: &str) -> Option<String> {
    let mut section = "";
    for line in lst.lines() {
        if let Some(s) = line.strip_prefix("! ") {
            section = s.trim();
            continue;
        }
        let t = line.trim_start();
        let Some((code, desc)) = t.split_once(char::is_whitespace) else {
            continue;
        };
        let desc = desc.trim();
        match section {
            "layout" if desc == full => return Some(code.to_string()),
            "variant" => {
                if let Some((layout, d)) = desc.split_once(": ") {
                    if d == full {
                        return Some(layout.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// The language module.
pub struct Language {
    spec: config::Module,
    palette: Palette,
    align: Align,
    /// The full name last shown, and its short name.
    full: String,
    short: String,
    text: String,
    segment: Option<Segment>,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
}

impl Language {
    /// Hidden until the compositor names a layout.
    pub fn new(spec: &config::Module, place: Placement) -> Language {
        Language {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            full: String::with_capacity(64),
            short: String::with_capacity(16),
            text: String::with_capacity(64),
            tip: super::Tip::default(),
            segment: None,
        }
    }

    /// The compositor's state changed; true when the segment did.
    pub fn on_compositor(&mut self, state: Option<&State>) -> bool {
        let full = state.map_or("", |s| s.layout.as_str());
        if full != self.full {
            self.full.clear();
            self.full.push_str(full);
            self.short.clear();
            // Read only when the layout changes (a keypress, not a tick).
            let lst = std::fs::read_to_string(EVDEV_LST).unwrap_or_default();
            match short_name(&lst, full) {
                Some(s) => self.short.push_str(&s),
                None => self.short.push_str(full),
            }
        }
        let seg = (!full.is_empty()).then(|| {
            self.text.clear();
            let values = [Value::Text(&self.short), Value::Text(&self.full)];
            self.spec.format.render(&mut self.text, &values);
            self.tip.render(&self.spec, &values);
            Segment::new(&self.text, self.palette.style(Level::Normal), self.align)
        });
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }
}

impl Module for Language {
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

    fn pointer(&mut self, _index: usize, button: Button) -> Option<Command> {
        (button == Button::Left).then_some(Command::NextLayout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_from_evdev_lst() {
        let lst = "! model\n  pc104  Generic 104-key PC\n\n! layout\n  us              English (US)\n  de              German\n\n! variant\n  intl            us: English (US, intl., with dead keys)\n";
        assert_eq!(short_name(lst, "English (US)").as_deref(), Some("us"));
        assert_eq!(short_name(lst, "German").as_deref(), Some("de"));
        assert_eq!(
            short_name(lst, "English (US, intl., with dead keys)").as_deref(),
            Some("us")
        );
        assert_eq!(short_name(lst, "Generic 104-key PC"), None);
        assert_eq!(short_name(lst, "Klingon"), None);
    }
}

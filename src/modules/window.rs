//! The window module: the focused window's title, cut to `max_chars`
//! characters, and its class (app id); in state `fullscreen` while that
//! window is. Event-driven, like the workspaces; hidden when no window has
//! focus or there is no compositor connection.

use super::{Align, Init, Level, Module, Palette, Placement, Segment, Text};
use crate::compositor::State;
use crate::config::{self, format::Value, KeyType, KindDef};
use crate::services::{self, View};

/// `window`: the focused window's title.
pub const KIND: KindDef = KindDef {
    name: "window",
    about: "the focused window's title",
    placeholders: &[
        (
            "title",
            "the focused window's title, cut to `max_chars` characters",
        ),
        (
            "class",
            "its class (Hyprland, X11 windows on Sway) or app id (Wayland windows on Sway)",
        ),
    ],
    format: "{title}",
    states: &[("fullscreen", "the focused window is fullscreen")],
    keys: &[config::Key::new(
        "max_chars",
        KeyType::Uint {
            min: 1,
            max: 1000,
            default: 50,
        },
        "the longest title shown, in characters (longer ones end in …)",
    )],
    ..KindDef::BASE
};

/// The state bit of `fullscreen`, in [`KIND`]'s order.
const FULLSCREEN: u32 = 1;

/// Builds the window module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Window::new(spec, init.place))
}

/// The window module.
pub struct Window {
    spec: config::Module,
    max_chars: usize,
    palette: Palette,
    align: Align,
    /// The title as cut, and the rendered template (capacity kept).
    title: String,
    text: String,
    segment: Option<Segment>,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
}

impl Window {
    /// The compositor's state changed (`None`: not connected); true when
    /// the title shown changed.
    pub fn on_compositor(&mut self, state: Option<&State>) -> bool {
        match state {
            Some(s) => self.show_window(&s.title, &s.class, s.fullscreen),
            None => self.show(""),
        }
    }

    /// The instance of `spec`; hidden until the compositor's state arrives.
    pub fn new(spec: &config::Module, place: Placement) -> Window {
        Window {
            spec: spec.clone(),
            max_chars: spec.uint("max_chars") as usize,
            palette: place.palette,
            align: place.align,
            title: String::with_capacity(256),
            text: String::with_capacity(256),
            tip: super::Tip::default(),
            segment: None,
        }
    }

    /// Shows `title` (empty: hidden); true when the segment changed.
    pub fn show(&mut self, title: &str) -> bool {
        self.show_window(title, "", false)
    }

    /// Shows the window `title` of `class`, `fullscreen` or not (an empty
    /// title: hidden); true when the segment changed.
    pub fn show_window(&mut self, title: &str, class: &str, fullscreen: bool) -> bool {
        let states = if fullscreen { FULLSCREEN } else { 0 };
        let seg = if title.trim().is_empty() {
            None
        } else {
            self.title.clear();
            truncate_chars(title, self.max_chars, &mut self.title);
            self.text.clear();
            let values = [Value::Text(&self.title), Value::Text(class)];
            self.spec.render(&mut self.text, states, &values);
            self.tip.render(&self.spec, &values);
            Some(Segment {
                markup: false,
                text: Text::new(&self.text),
                style: self.palette.style(Level::Normal),
                align: self.align,
                popup: None,
                output: None,
                states,
            })
        };
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }
}

/// Appends `s` cut to `max` characters to `out`, ending in `…` when cut.
/// Characters are grapheme clusters (a letter with its accents, an emoji
/// with its modifiers): a cut never separates them. Control characters (a
/// title may hold a newline or tab) become spaces.
pub fn truncate_chars(s: &str, max: usize, out: &mut String) {
    use unicode_segmentation::UnicodeSegmentation;
    let cut = s.graphemes(true).nth(max).is_some();
    let keep = if cut { max.saturating_sub(1) } else { max };
    for g in s.graphemes(true).take(keep) {
        for c in g.chars() {
            out.push(if c.is_control() { ' ' } else { c });
        }
    }
    if cut {
        out.push('…');
    }
}

impl Module for Window {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_by_characters() {
        let mut s = String::new();
        truncate_chars("héllo wörld", 5, &mut s);
        assert_eq!(s, "héll…");
        s.clear();
        truncate_chars("héllo", 5, &mut s);
        assert_eq!(s, "héllo");
        s.clear();
        truncate_chars("a\nb", 9, &mut s);
        assert_eq!(s, "a b");
    }

    #[test]
    fn cut_keeps_accents_and_emoji_whole() {
        let mut s = String::new();
        // "e" + U+0301 COMBINING ACUTE is one character to the reader.
        truncate_chars("cafe\u{301} noir", 5, &mut s);
        assert_eq!(s, "cafe\u{301}…");
        s.clear();
        // A family emoji (ZWJ sequence) and a flag stay whole.
        truncate_chars("👨\u{200d}👩\u{200d}👧🇯🇵abc", 3, &mut s);
        assert_eq!(s, "👨\u{200d}👩\u{200d}👧🇯🇵…");
        s.clear();
        let marks: String = std::iter::once('a')
            .chain(std::iter::repeat_n('\u{301}', 10_000))
            .collect();
        truncate_chars(&marks, 5, &mut s);
        assert_eq!(s, marks);
    }
}

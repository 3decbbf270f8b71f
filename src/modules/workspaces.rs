//! The workspaces module: one button per workspace, each output's on that
//! output's bar, styled focused / visible / urgent; a click switches, a
//! scroll cycles. Event-driven: it changes only when the compositor says so
//! ([`Module::on_service`]), never by the clock.

use std::time::Instant;

use super::{Align, Button, Command, Context, Init, Module, OutputTag, Palette, Placement};
use super::{Rgba, Segment, Style, Text};
use crate::compositor::{State, Workspace};
use crate::config::{self, format::Value, KindDef};
use crate::services::{self, View};

/// `workspaces`: one button per workspace (each renders the format once).
pub const KIND: KindDef = KindDef {
    name: "workspaces",
    about: "the compositor's workspaces, each output's on its own bar",
    placeholders: &[
        ("name", "the workspace's name"),
        (
            "id",
            "its number (Sway `num`, Hyprland `id`; -1 when named only)",
        ),
        ("output", "the output it is on"),
        (
            "icon",
            "its glyph from `icons` (a table by name, then by state), else its name",
        ),
    ],
    format: "{name}",
    states: &[
        ("visible", "shown on its output (focused or not)"),
        ("focused", "the focused workspace"),
        ("urgent", "a window on it wants attention"),
        ("special", "a Hyprland special workspace, listed while open"),
    ],
    ..KindDef::BASE
};

/// State bits of a button, in [`KIND`]'s order.
const VISIBLE: u32 = 1;
const FOCUSED: u32 = 2;
const URGENT: u32 = 4;
const SPECIAL: u32 = 8;

/// Builds the workspaces module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Workspaces::new(spec, init.place))
}

/// The state bits of a workspace's button.
pub fn states(w: &Workspace) -> u32 {
    let mut s = 0;
    if w.visible {
        s |= VISIBLE;
    }
    if w.focused {
        s |= FOCUSED;
    }
    if w.urgent {
        s |= URGENT;
    }
    if w.special {
        s |= SPECIAL;
    }
    s
}

/// At most this many workspace buttons (the bar holds 64 segments in all).
pub const MAX_BUTTONS: usize = 32;

/// The workspaces module.
pub struct Workspaces {
    spec: config::Module,
    palette: Palette,
    align: Align,
    segments: Vec<Segment>,
    /// Scratch for the next segments, swapped with `segments` (both keep
    /// their capacity, so events do not grow memory).
    next: Vec<Segment>,
    /// `names[i]`: the workspace of `segments[i]`, for clicks. Strings are
    /// reused in place.
    names: Vec<String>,
    text: String,
}

impl Workspaces {
    /// The instance of `spec`; hidden until the compositor's state arrives.
    pub fn new(spec: &config::Module, place: Placement) -> Workspaces {
        Workspaces {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            segments: Vec::with_capacity(MAX_BUTTONS),
            next: Vec::with_capacity(MAX_BUTTONS),
            names: Vec::with_capacity(MAX_BUTTONS),
            text: String::with_capacity(64),
        }
    }

    /// The style of a workspace's button.
    pub fn style(&self, w: &Workspace) -> Style {
        let p = &self.palette;
        let fg = if w.urgent {
            p.critical
        } else if w.focused {
            p.accent
        } else if w.visible {
            p.foreground
        } else {
            dim(p.foreground)
        };
        // The focused one also gets a faint accent background, so it reads
        // as selected even to users who cannot tell the colours apart.
        let bg = w
            .focused
            .then(|| Rgba([p.accent.0[0], p.accent.0[1], p.accent.0[2], 0x40]));
        Style {
            fg,
            bg,
            ..Style::default()
        }
    }

    /// The compositor's state changed (`None`: not connected); true when
    /// the buttons changed.
    pub fn on_compositor(&mut self, state: Option<&State>) -> bool {
        self.next.clear();

        let list = state.map_or(&[][..], |s| s.workspaces.as_slice());
        for (i, w) in list.iter().take(MAX_BUTTONS).enumerate() {
            let st = states(w);
            // `icons` by the workspace's name, else by its state.
            let icons = &self.spec.icons;
            let icon = icons
                .named(&w.name)
                .unwrap_or_else(|| match self.spec.icon(st, 0.0) {
                    "" => w.name.as_str(),
                    i => i,
                });
            self.text.clear();
            self.spec.render(
                &mut self.text,
                st,
                &[
                    Value::Text(&w.name),
                    Value::Int(w.id),
                    Value::Text(&w.output),
                    Value::Text(icon),
                ],
            );
            self.next.push(Segment {
                text: Text::new(&self.text),
                style: self.style(w),
                align: self.align,
                popup: None,
                output: Some(OutputTag::of(&w.output)),
                states: st,
            });
            match self.names.get_mut(i) {
                Some(n) => {
                    n.clear();
                    n.push_str(&w.name);
                }
                None => self.names.push(w.name.clone()),
            }
        }
        self.names.truncate(self.next.len());
        let changed = self.next != self.segments;
        std::mem::swap(&mut self.next, &mut self.segments);
        changed
    }

    /// The name of the workspace behind button `i`.
    pub fn name(&self, i: usize) -> Option<&str> {
        self.names.get(i).map(String::as_str)
    }
}

/// A colour at 60 % of its opacity (workspaces not shown anywhere).
fn dim(c: Rgba) -> Rgba {
    let [r, g, b, a] = c.0;
    Rgba([r, g, b, (a as u16 * 6 / 10) as u8])
}

impl Module for Workspaces {
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
        out.extend_from_slice(&self.segments);
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

    fn pointer(&mut self, index: usize, button: Button) -> Option<Command> {
        match button {
            Button::Left => self
                .name(index)
                .map(|n| Command::FocusWorkspace(n.to_string())),
            // Scrolling down moves right, as in Waybar.
            Button::ScrollDown => Some(Command::CycleWorkspace(1)),
            Button::ScrollUp => Some(Command::CycleWorkspace(-1)),
            Button::Middle | Button::Right => None,
        }
    }
}

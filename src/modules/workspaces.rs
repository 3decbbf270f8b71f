//! The workspaces module: one button per workspace, each output's on that
//! output's bar (every output's on every bar with `all_outputs`), styled
//! focused / visible / urgent, plus the `persistent` ones that do not exist
//! at the moment; a click switches, a scroll cycles. Event-driven: it
//! changes only when the compositor says so ([`Module::on_service`]), never
//! by the clock.

use std::time::Instant;

use super::{Align, Button, Command, Context, Init, Module, OutputTag, Palette, Placement};
use super::{Rgba, Segment, Style, Text};
use crate::compositor::{self, State, Workspace};
use crate::config::kind::Opt;
use crate::config::{self, format::Value, Key, KeyType, KindDef};
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
        (
            "persistent",
            "a `persistent` workspace that does not exist at the moment",
        ),
    ],
    keys: &[
        Key::new(
            "persistent",
            KeyType::Strings(&[]),
            "workspaces shown even while they do not exist: `NAME` on every output's bar, `NAME@OUTPUT` on that output's only",
        )
        .checked(persistent_names),
        Key::new(
            "all_outputs",
            KeyType::Bool(false),
            "every output's workspaces on every bar, not only the bar's own output's",
        ),
    ],
    ..KindDef::BASE
};

/// At most this many `persistent` entries.
const MAX_PERSISTENT: usize = 32;

fn persistent_names(v: &Opt) -> Result<(), String> {
    let Opt::Strings(list) = v else {
        return Ok(());
    };
    if list.len() > MAX_PERSISTENT {
        return Err(format!("{} entries: at most {MAX_PERSISTENT}", list.len()));
    }
    for e in list {
        let (name, output) = split_persistent(e);
        if name.trim().is_empty() {
            return Err(format!("`{e}`: the workspace's name is empty"));
        }
        if output.is_some_and(|o| o.trim().is_empty()) {
            return Err(format!(
                "`{e}`: the output after `@` is empty (write `{name}` for every output)"
            ));
        }
    }
    Ok(())
}

/// `NAME@OUTPUT` into its name and output (split at the last `@`, so a
/// name may hold one); `NAME` alone is for every output.
fn split_persistent(e: &str) -> (&str, Option<&str>) {
    match e.rsplit_once('@') {
        Some((name, output)) => (name, Some(output)),
        None => (e, None),
    }
}

/// The number Sway gives a workspace called `name`: its leading digits
/// (`"3:web"` is 3), else -1.
fn number_of(name: &str) -> i64 {
    let digits = name.bytes().take_while(u8::is_ascii_digit).count();
    name[..digits].parse().unwrap_or(-1)
}

/// State bits of a button, in [`KIND`]'s order.
const VISIBLE: u32 = 1;
const FOCUSED: u32 = 2;
const URGENT: u32 = 4;
const SPECIAL: u32 = 8;
const PERSISTENT: u32 = 16;

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
    /// `tips[i]`: `tooltip_format` rendered for `segments[i]` (reused in
    /// place as `names`).
    tips: Vec<super::Tip>,
    text: String,
    /// The compositor's workspaces with the missing `persistent` ones added
    /// (`true`), in Sway's order; reused between events.
    merged: Vec<(Workspace, bool)>,
    /// `persistent`, split: (name, its output or every output).
    persistent: Vec<(String, Option<String>)>,
    all_outputs: bool,
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
            tips: Vec::with_capacity(MAX_BUTTONS),
            text: String::with_capacity(64),
            merged: Vec::with_capacity(MAX_BUTTONS),
            persistent: spec
                .strings("persistent")
                .iter()
                .map(|e| {
                    let (name, output) = split_persistent(e);
                    (name.to_string(), output.map(str::to_string))
                })
                .collect(),
            all_outputs: spec.flag("all_outputs"),
        }
    }

    /// Fills `merged`: the compositor's workspaces and each `persistent`
    /// one that exists nowhere, on its output, or on every output the
    /// compositor has workspaces on (once, for every bar, with
    /// `all_outputs`).
    fn merge(&mut self, list: &[Workspace]) {
        self.merged.clear();
        self.merged
            .extend(list.iter().take(MAX_BUTTONS).map(|w| (w.clone(), false)));
        if list.is_empty() {
            // Not connected (or nothing to place them on): no buttons.
            return;
        }
        let empty = |name: &str, output: &str| Workspace {
            id: number_of(name),
            name: name.to_string(),
            output: output.to_string(),
            focused: false,
            visible: false,
            urgent: false,
            special: false,
        };
        for (name, output) in &self.persistent {
            if list.iter().any(|w| w.name == *name) {
                continue;
            }
            match output {
                Some(o) => self.merged.push((empty(name, o), true)),
                None if self.all_outputs => self.merged.push((empty(name, ""), true)),
                None => {
                    for (i, w) in list.iter().enumerate() {
                        if list[..i].iter().all(|v| v.output != w.output) {
                            self.merged.push((empty(name, &w.output), true));
                        }
                    }
                }
            }
        }
        if self.all_outputs {
            // One row for every bar: by number, then name, whatever the output.
            self.merged.sort_by(|(a, _), (b, _)| {
                let key = |w: &Workspace| (w.special, w.id < 0, w.id.max(0));
                key(a)
                    .cmp(&key(b))
                    .then_with(|| a.name.cmp(&b.name))
                    .then_with(|| a.output.cmp(&b.output))
            });
        } else {
            self.merged
                .sort_by(|(a, _), (b, _)| compositor::order(a, b));
        }
        self.merged.truncate(MAX_BUTTONS);
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
        self.merge(list);
        // Taken for the loop (which borrows self) and put back after it,
        // capacity and all.
        let merged = std::mem::take(&mut self.merged);
        for (i, (w, persistent)) in merged.iter().enumerate() {
            let mut st = states(w);
            if *persistent {
                st |= PERSISTENT;
            }
            // `icons` by the workspace's name, else by its state.
            let icons = &self.spec.icons;
            let icon = icons
                .named(&w.name)
                .unwrap_or_else(|| match self.spec.icon(st, 0.0) {
                    "" => w.name.as_str(),
                    i => i,
                });
            let values = [
                Value::Text(&w.name),
                Value::Int(w.id),
                Value::Text(&w.output),
                Value::Text(icon),
            ];
            self.text.clear();
            self.spec.render(&mut self.text, st, &values);
            match self.tips.get_mut(i) {
                Some(t) => t.render(&self.spec, &values),
                None => {
                    let mut t = super::Tip::default();
                    t.render(&self.spec, &values);
                    self.tips.push(t);
                }
            }
            let output =
                (!self.all_outputs && !w.output.is_empty()).then(|| OutputTag::of(&w.output));
            self.next.push(Segment {
                markup: false,
                text: Text::new(&self.text),
                style: self.style(w),
                align: self.align,
                popup: None,
                output,
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
        self.merged = merged;
        self.names.truncate(self.next.len());
        self.tips.truncate(self.next.len());
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

    fn tooltip(&self, index: usize) -> Option<&str> {
        self.tips.get(index)?.get()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persistent_entries() {
        assert_eq!(split_persistent("5"), ("5", None));
        assert_eq!(split_persistent("mail@DP-1"), ("mail", Some("DP-1")));
        assert_eq!(split_persistent("a@b@DP-1"), ("a@b", Some("DP-1")));
        assert_eq!(number_of("3:web"), 3);
        assert_eq!(number_of("mail"), -1);
        assert_eq!(number_of("99999999999999999999"), -1);
        let ok =
            |v: &[&str]| persistent_names(&Opt::Strings(v.iter().map(|s| s.to_string()).collect()));
        assert!(ok(&["1", "mail@DP-1"]).is_ok());
        assert!(ok(&["@DP-1"]).unwrap_err().contains("name is empty"));
        assert!(ok(&["1@"]).unwrap_err().contains("after `@`"));
        assert!(ok(&["x"; 33]).is_err());
    }

    fn ws(name: &str, id: i64, focused: bool) -> Workspace {
        Workspace {
            id,
            name: name.into(),
            output: "DP-1".into(),
            focused,
            visible: focused,
            urgent: false,
            special: false,
        }
    }

    fn instance(text: &str) -> Workspaces {
        let c = crate::modules::registry::parse(text, "test.toml", None)
            .unwrap_or_else(|e| panic!("{e}"));
        let place = Placement {
            align: Align::Left,
            palette: Palette::default(),
        };
        Workspaces::new(&c.modules[0], place)
    }

    #[test]
    fn tooltip_format_per_button() {
        let mut w = instance(
            "[bar]\nleft = [\"workspaces\"]\n[module.workspaces]\n\
             tooltip_format = \"workspace {name} (#{id}) on {output}\"\n",
        );
        let state = State {
            workspaces: vec![ws("1", 1, true), ws("mail", -1, false)],
            ..State::default()
        };
        assert!(w.on_compositor(Some(&state)));
        assert_eq!(w.tooltip(0), Some("workspace 1 (#1) on DP-1"));
        assert_eq!(w.tooltip(1), Some("workspace mail (#-1) on DP-1"));
        assert_eq!(w.tooltip(2), None);
        let state = State {
            workspaces: vec![ws("2", 2, true)],
            ..State::default()
        };
        w.on_compositor(Some(&state));
        assert_eq!(w.tooltip(0), Some("workspace 2 (#2) on DP-1"));
        assert_eq!(w.tooltip(1), None, "a closed workspace's tooltip goes");
        let mut off = instance(
            "[bar]\nleft = [\"workspaces\"]\n[module.workspaces]\ntooltip = false\n\
             tooltip_format = \"{name}\"\n",
        );
        off.on_compositor(Some(&state));
        assert_eq!(off.tooltip(0), None);
        let mut none = instance("[bar]\nleft = [\"workspaces\"]\n");
        none.on_compositor(Some(&state));
        assert_eq!(none.tooltip(0), None, "no tooltip_format: none");
    }
}

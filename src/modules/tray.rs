//! The tray module: one icon per StatusNotifierItem the session bus's tray
//! client ([`crate::services::tray`]) knows, in registration order. Left
//! click `Activate`, middle `SecondaryActivate`, right `ContextMenu`, the
//! wheel `Scroll`. (The dbusmenu is fetched by the client; drawing it in
//! our popup is not done yet, so right click asks the item for its own.) `Passive`
//! items are hidden, dimmed or shown (`passive`). States per icon:
//! `active`, `passive`, `needs-attention`.

use super::{Button, Command, Init, Module, Placement, Segment};
use crate::config::{self, Key, KeyType, KindDef};
use crate::render::icon::{icon_text, IconId, IconSource, Icons};
use crate::render::Style;
use crate::services::tray::{Action, Item, Status, Tray as TrayClient};
use crate::services::{self, View};

/// `tray`: the system tray.
pub const KIND: KindDef = KindDef {
    name: "tray",
    about: "the system tray (StatusNotifierItem icons on the session bus; rstat is the watcher when nobody else is)",
    // Event-driven: nothing is read at an interval.
    interval_ms: 60_000,
    states: &[
        ("active", "an item with something to show"),
        ("passive", "an item with nothing to show (shown only with `passive = \"dim\"` or `\"show\"`)"),
        ("needs-attention", "an item asking for attention (its attention icon)"),
    ],
    keys: &[
        Key::new(
            "passive",
            KeyType::Choice(&["hide", "dim", "show"]),
            "what to do with items whose status is Passive",
        ),
        Key::new(
            "icon_theme",
            KeyType::Text(""),
            "the icon theme to look names up in (empty: the user's GTK theme, then hicolor)",
        ),
    ],
    ..KindDef::BASE
};

/// Builds a tray module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(TrayModule::new(spec, init.place))
}

/// What the module keeps of one item.
#[derive(Clone, Debug, PartialEq)]
struct Shown {
    uid: u32,
    id: String,
    title: String,
    status: Status,
    /// The icon's revision (what [`Icons::offer`] compares).
    rev: u32,
    source: IconSource,
}

/// The tray module.
pub struct TrayModule {
    spec: config::Module,
    place: Placement,
    passive: Passive,
    theme: Option<String>,
    generation: Option<u64>,
    shown: Vec<Shown>,
    segments: Vec<Segment>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Passive {
    Hide,
    Dim,
    Show,
}

fn state_bit(name: &str) -> u32 {
    KIND.states
        .iter()
        .position(|(n, _)| *n == name)
        .map_or(0, |i| 1 << i)
}

fn source_of(it: &Item, dim: bool) -> IconSource {
    let attention = it.status == Status::NeedsAttention
        && (!it.attention_icon_name.is_empty() || !it.attention_pixmaps.is_empty());
    let (name, pixmaps) = if attention {
        (&it.attention_icon_name, &it.attention_pixmaps)
    } else {
        (&it.icon_name, &it.icon_pixmaps)
    };
    IconSource {
        name: name.clone(),
        theme_path: it.icon_theme_path.clone(),
        pixmaps: pixmaps
            .iter()
            .map(|p| (p.width, p.height, p.argb.clone()))
            .collect(),
        dim,
    }
}

impl TrayModule {
    /// The instance of `spec`.
    pub fn new(spec: &config::Module, place: Placement) -> TrayModule {
        let passive = match spec.text("passive") {
            "dim" => Passive::Dim,
            "show" => Passive::Show,
            _ => Passive::Hide,
        };
        let theme = Some(spec.text("icon_theme").to_string()).filter(|t| !t.is_empty());
        TrayModule {
            spec: spec.clone(),
            place,
            passive,
            theme,
            generation: None,
            shown: Vec::new(),
            segments: Vec::new(),
        }
    }

    fn rebuild(&mut self, tray: &TrayClient) {
        self.shown.clear();
        for it in &tray.items {
            if it.status == Status::Passive && self.passive == Passive::Hide {
                continue;
            }
            let dim = it.status == Status::Passive && self.passive == Passive::Dim;
            let flag = u32::from(it.status == Status::NeedsAttention) | u32::from(dim) << 1;
            self.shown.push(Shown {
                uid: it.uid,
                id: it.id.clone(),
                title: it.label().to_string(),
                status: it.status,
                rev: it.revision.wrapping_mul(4) | flag,
                source: source_of(it, dim),
            });
        }
        self.segments.clear();
        for s in &self.shown {
            let name = match s.status {
                Status::Active => "active",
                Status::Passive => "passive",
                Status::NeedsAttention => "needs-attention",
            };
            self.segments.push(Segment {
                text: icon_text(IconId(s.uid), s.rev),
                style: Style {
                    fg: self.place.palette.foreground,
                    bg: None,
                    ..Style::default()
                },
                align: self.place.align,
                popup: None,
                output: None,
                states: state_bit(name),
            });
        }
    }

    /// The items shown: (id, title, status), for `--once --modules`.
    pub fn items(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.shown
            .iter()
            .map(|s| (s.id.as_str(), s.title.as_str(), s.status.name()))
    }
}

impl Module for TrayModule {
    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<std::time::Instant> {
        None
    }

    fn update(&mut self, _cx: &super::Context<'_>) -> bool {
        false
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend_from_slice(&self.segments);
    }

    fn services(&self) -> services::Set {
        services::Set::of(services::Id::SessionBus)
    }

    fn on_service(&mut self, view: View<'_>) -> bool {
        let Some(bus) = view.session_bus() else {
            return false;
        };
        // Not connected: keep what is shown (the bus may come back).
        let Some(tray) = bus.and_then(|s| s.client::<TrayClient>()) else {
            return false;
        };
        if self.generation == Some(tray.generation) {
            return false;
        }
        self.generation = Some(tray.generation);
        let before = self.segments.clone();
        let before_revs: Vec<u32> = self.shown.iter().map(|s| s.rev).collect();
        self.rebuild(tray);
        before != self.segments
            || before_revs != self.shown.iter().map(|s| s.rev).collect::<Vec<_>>()
    }

    fn offer_icons(&self, icons: &mut Icons) {
        if icons.theme != self.theme {
            icons.theme = self.theme.clone();
        }
        for s in &self.shown {
            icons.offer(IconId(s.uid), s.rev, || s.source.clone());
        }
    }

    fn pointer(&mut self, index: usize, button: Button) -> Option<Command> {
        let uid = self.shown.get(index)?.uid;
        let action = match button {
            Button::Left => Action::Activate(0, 0),
            Button::Middle => Action::SecondaryActivate(0, 0),
            Button::Right => Action::ContextMenu(0, 0),
            Button::ScrollUp => Action::Scroll(-1, true),
            Button::ScrollDown => Action::Scroll(1, true),
        };
        Some(Command::Tray(uid, action))
    }

    fn state(&self) -> Option<&str> {
        (!self.shown.is_empty()).then_some("active")
    }

    fn listing(&self) -> Vec<[(&'static str, &str); 3]> {
        self.items()
            .map(|(id, title, status)| [("id", id), ("title", title), ("status", status)])
            .collect()
    }
}

//! The tray module: one icon per StatusNotifierItem the session bus's tray
//! client ([`crate::services::tray`]) knows, in registration order. Left
//! click `Activate` (the menu for an `ItemIsMenu` item), middle
//! `SecondaryActivate`, right the item's dbusmenu drawn in our own popup
//! (`ContextMenu` for an item without one), the wheel `Scroll`. `Passive`
//! items are hidden, dimmed or shown (`passive`). States per icon:
//! `active`, `passive`, `needs-attention`.
//!
//! Hovering an icon shows the item's own `ToolTip` (its title, then its
//! text), or `tooltip_format` over the item's properties, rendered when
//! the client's items change (never on a tick: the tray has none).

use super::{Button, Command, Init, Module, Placement, Segment};
use crate::config::format::Value;
use crate::config::{self, Key, KeyType, KindDef};
use crate::render::icon::{icon_text, IconId, IconSource, Icons};
use crate::render::menu::{Mark, MenuContent, MenuEvent, MenuRow};
use crate::render::Style;
use crate::services::tray::{Action, Item, Menu, Status, Toggle, Tray as TrayClient};
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
            "the icon theme to look names up in (empty: the user's GTK theme, else Adwaita; then hicolor)",
        ),
    ],
    tooltip_placeholders: TOOLTIP_PLACEHOLDERS,
    ..KindDef::BASE
};

/// What `tooltip_format` may show of an item (its StatusNotifierItem
/// properties), in the order [`tooltip_values`] hands them.
pub const TOOLTIP_PLACEHOLDERS: &[config::kind::Doc] = &[
    ("title", "the item's `Title` (its `Id` when it has none)"),
    ("tooltip_title", "the title of its `ToolTip`"),
    (
        "tooltip_body",
        "the text of its `ToolTip`, its markup dropped",
    ),
    ("id", "its `Id`"),
    (
        "status",
        "its `Status`: `Active`, `Passive` or `NeedsAttention`",
    ),
];

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
    /// It exports a dbusmenu.
    has_menu: bool,
    /// A left click opens the menu.
    item_is_menu: bool,
    /// What hovering it shows (markup): `tooltip_format` rendered over its
    /// properties, else its `ToolTip`'s title, then its text.
    tooltip: String,
}

/// The menu the module shows: whose, its revision, its rows.
#[derive(Clone, Debug, PartialEq)]
struct ShownMenu {
    uid: u32,
    rev: u64,
    content: MenuContent,
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
    /// The item whose menu was asked for (shown once its layout arrives).
    wanted: Option<u32>,
    menu: Option<ShownMenu>,
    menu_rev: u64,
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
        overlay: (!it.overlay_icon_name.is_empty() || !it.overlay_pixmaps.is_empty()).then(|| {
            Box::new(IconSource {
                name: it.overlay_icon_name.clone(),
                theme_path: it.icon_theme_path.clone(),
                pixmaps: it
                    .overlay_pixmaps
                    .iter()
                    .map(|p| (p.width, p.height, p.argb.clone()))
                    .collect(),
                ..IconSource::default()
            })
        }),
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
            wanted: None,
            menu: None,
            menu_rev: 0,
        }
    }

    fn rebuild(&mut self, items: &[Item]) {
        self.shown.clear();
        for it in items {
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
                has_menu: it.menu.is_some(),
                item_is_menu: it.item_is_menu,
                tooltip: self.tooltip_for(it),
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
                markup: false,
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

    /// The tooltip of item `it`: `tooltip_format` over its properties, else
    /// its own `ToolTip`; markup either way (the popup draws markup), so the
    /// item's text is escaped into it. Empty: none (or `tooltip = false`).
    fn tooltip_for(&self, it: &Item) -> String {
        let mut out = String::new();
        if !self.spec.tooltip {
            return out;
        }
        let body = tooltip_body(it);
        if self.spec.tooltip_format.is_some() {
            self.spec
                .render_tooltip(&mut out, &tooltip_values(it, &body));
        } else {
            crate::render::markup::escape_into(
                &mut out,
                &tooltip_of(it.tooltip_title.trim(), &body),
            );
        }
        out
    }

    /// Follows the client's open menu: shown once its layout (or its
    /// failure) arrived, for the item asked for; gone when the client
    /// dropped it (the item left, the bus went).
    fn follow_menu(&mut self, tray: &TrayClient) {
        let Some(uid) = self.wanted else {
            self.menu = None;
            return;
        };
        let Some(m) = tray.menu.as_ref().filter(|m| m.item == uid) else {
            // Asked for but not open on the client: closed or never came.
            if self.menu.is_some() || tray.item(uid).is_none() {
                self.wanted = None;
                self.menu = None;
            }
            return;
        };
        if !m.loaded && m.error.is_none() {
            return;
        }
        let label = tray.item(uid).map_or("?", Item::label);
        let content = menu_content(m, label);
        if self.menu.as_ref().is_some_and(|s| s.content == content) {
            return;
        }
        if let Some(e) = &m.error {
            eprintln!("rstat: tray item {label}: its menu did not come ({e})");
        } else if m.truncated && self.menu.is_none() {
            eprintln!(
                "rstat: tray item {label}: its menu has more than {} entries; the rest is not shown",
                crate::services::tray::menu::MAX_ENTRIES
            );
        }
        self.menu_rev += 1;
        self.menu = Some(ShownMenu {
            uid,
            rev: self.menu_rev,
            content,
        });
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
        self.follow_menu(tray);
        let before = self.segments.clone();
        let before_revs: Vec<u32> = self.shown.iter().map(|s| s.rev).collect();
        self.rebuild(&tray.items);
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
        let s = self.shown.get(index)?;
        let uid = s.uid;
        let menu = match button {
            Button::Left => s.has_menu && s.item_is_menu,
            Button::Right => s.has_menu,
            _ => false,
        };
        if menu {
            // A click on the icon whose menu is open closes it (the bar
            // closed the popup on the press already).
            let again = self.menu.as_ref().is_some_and(|m| m.uid == uid);
            self.menu = None;
            if again {
                self.wanted = None;
                return Some(Command::Tray(uid, Action::CloseMenu));
            }
            self.wanted = Some(uid);
            return Some(Command::Tray(uid, Action::OpenMenu));
        }
        let action = match button {
            Button::Left => Action::Activate(0, 0),
            Button::Middle => Action::SecondaryActivate(0, 0),
            Button::Right => Action::ContextMenu(0, 0),
            Button::ScrollUp => Action::Scroll(-1, true),
            Button::ScrollDown => Action::Scroll(1, true),
        };
        Some(Command::Tray(uid, action))
    }

    fn tooltip(&self, index: usize) -> Option<&str> {
        Some(self.shown.get(index)?.tooltip.trim_end()).filter(|t| !t.is_empty())
    }

    fn menu(&self) -> Option<(u64, usize, &MenuContent)> {
        let m = self.menu.as_ref()?;
        let at = self.shown.iter().position(|s| s.uid == m.uid)?;
        Some((m.rev, at, &m.content))
    }

    fn menu_event(&mut self, event: MenuEvent) -> Option<Command> {
        let uid = self.menu.as_ref()?.uid;
        let action = match event {
            MenuEvent::Opened(id) => return Some(Command::Tray(uid, Action::MenuOpened(id))),
            MenuEvent::Clicked(id) => Action::MenuClicked(id),
            MenuEvent::Dismissed => Action::CloseMenu,
        };
        self.menu = None;
        self.wanted = None;
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

/// The text of an item's `ToolTip` as plain text: its markup (the spec
/// allows a subset of HTML) dropped, the entities decoded, trimmed.
fn tooltip_body(it: &Item) -> String {
    let mut body = String::with_capacity(it.tooltip_text.len());
    let mut in_tag = false;
    for c in it.tooltip_text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => body.push(c),
            _ => {}
        }
    }
    body.trim()
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// An item's own tooltip as plain text: the title, then the body on its
/// own line.
fn tooltip_of(title: &str, body: &str) -> String {
    match (title, body) {
        ("", b) => b.to_string(),
        (t, "") => t.to_string(),
        (t, b) => format!("{t}\n{b}"),
    }
}

/// The values of [`TOOLTIP_PLACEHOLDERS`] for item `it` (`body`: its
/// [`tooltip_body`]).
fn tooltip_values<'a>(it: &'a Item, body: &'a str) -> [Value<'a>; 5] {
    [
        Value::Text(it.label()),
        Value::Text(it.tooltip_title.trim()),
        Value::Text(body),
        Value::Text(&it.id),
        Value::Text(it.status.name()),
    ]
}

/// The rows of the client's menu `m` (of item `label`) as the popup draws
/// them; a failed fetch is one dim note saying why.
fn menu_content(m: &Menu, label: &str) -> MenuContent {
    if let Some(e) = &m.error {
        return MenuContent {
            rows: Vec::new(),
            note: Some(format!("{label}: menu unavailable ({e})")),
        };
    }
    let rows = m
        .entries
        .iter()
        .map(|e| MenuRow {
            id: e.id,
            parent: e.parent,
            label: e.label.clone(),
            enabled: e.enabled,
            separator: e.separator,
            mark: match e.toggle {
                Toggle::None => Mark::None,
                Toggle::Check(on) => Mark::Check(on),
                Toggle::Radio(on) => Mark::Radio(on),
            },
            submenu: e.submenu,
        })
        .collect();
    MenuContent { rows, note: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::tray::MenuItem;

    fn tray(extra: &str) -> TrayModule {
        let cfg = crate::modules::registry::parse(
            &format!("[bar]\nright = [\"tray\"]\n[module.tray]\n{extra}"),
            "t.toml",
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let place = Placement {
            align: crate::render::Align::Right,
            palette: super::super::Palette::default(),
        };
        TrayModule::new(cfg.module("tray").unwrap(), place)
    }

    fn mail() -> Item {
        let mut it = Item::default();
        it.uid = 4;
        it.id = "thunderbird".into();
        it.title = "Mail & News".into();
        it.status = Status::NeedsAttention;
        it.tooltip_title = " Mail ".into();
        it.tooltip_text = "<b>3</b> unread &amp; <i>1</i> flagged".into();
        it
    }

    fn shown_tooltip(t: &mut TrayModule, items: Vec<Item>) -> Vec<Option<String>> {
        t.rebuild(&items);
        (0..t.shown.len())
            .map(|i| t.tooltip(i).map(str::to_string))
            .collect()
    }

    #[test]
    fn tooltips_lose_their_markup() {
        let it = mail();
        assert_eq!(tooltip_body(&it), "3 unread & 1 flagged");
        assert_eq!(
            tooltip_of(it.tooltip_title.trim(), &tooltip_body(&it)),
            "Mail\n3 unread & 1 flagged"
        );
        assert_eq!(tooltip_of("", &tooltip_body(&Item::default())), "");
        // The popup draws markup: the item's own text is escaped into it.
        let mut t = tray("");
        assert_eq!(
            shown_tooltip(&mut t, vec![mail(), Item::default()]),
            [Some("Mail\n3 unread &amp; 1 flagged".to_string()), None]
        );
    }

    #[test]
    fn tooltip_format_renders_each_items_properties() {
        let mut t = tray(
            "passive = \"show\"\ntooltip_format = \"<b>{title}</b> ({id}, {status}): {tooltip_title} / {tooltip_body}\"\n",
        );
        let mut quiet = Item::default();
        quiet.uid = 5;
        quiet.id = "nm-applet".into();
        quiet.status = Status::Passive;
        assert_eq!(
            shown_tooltip(&mut t, vec![mail(), quiet]),
            [
                Some(
                    "<b>Mail &amp; News</b> (thunderbird, NeedsAttention): Mail / 3 unread &amp; 1 flagged"
                        .to_string()
                ),
                Some("<b>nm-applet</b> (nm-applet, Passive):  /".to_string()),
            ]
        );
        // tooltip = false: neither the format nor the item's own.
        for extra in [
            "tooltip = false\ntooltip_format = \"{id}\"\n",
            "tooltip = false\n",
        ] {
            let mut off = tray(extra);
            assert_eq!(shown_tooltip(&mut off, vec![mail()]), [None], "{extra}");
        }
    }

    #[test]
    fn an_unknown_tooltip_placeholder_is_an_error_with_its_position() {
        let e = crate::modules::registry::parse(
            "[bar]\nright = [\"tray\"]\n[module.tray]\ntooltip_format = \"x {tooltip_tittle}\"\n",
            "t.toml",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.toml:4:21"), "{e}");
        assert!(e.contains("did you mean `tooltip_title`?"), "{e}");
        assert!(
            e.contains("title, tooltip_title, tooltip_body, id, status"),
            "{e}"
        );
    }

    #[test]
    fn a_failed_menu_is_one_note_saying_why() {
        let mut m = Menu::pending(1, ":1.5".into(), None, "/Menu".into());
        m.error = Some("no reply within 3 s".into());
        let c = menu_content(&m, "Mail");
        assert!(c.rows.is_empty());
        assert_eq!(
            c.note.as_deref(),
            Some("Mail: menu unavailable (no reply within 3 s)")
        );
        m.error = None;
        m.entries = vec![MenuItem {
            id: 7,
            label: "Quit".into(),
            enabled: true,
            toggle: Toggle::Radio(true),
            ..MenuItem::default()
        }];
        let c = menu_content(&m, "Mail");
        assert_eq!(c.rows[0].id, 7);
        assert_eq!(c.rows[0].mark, Mark::Radio(true));
    }
}

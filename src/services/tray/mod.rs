//! The system tray on the session bus (freedesktop StatusNotifierItem):
//! the `StatusNotifierWatcher` when nobody else is (the name requested in
//! the queue, never taken from an owner), a `StatusNotifierHost` of
//! whichever watcher owns the name, and every registered item's properties
//! and menu (`com.canonical.dbusmenu`, [`menu`]), as plain state for the
//! `tray` module.
//!
//! Nothing waits: every property and menu comes back as a reply event; an
//! item that never answers keeps what it had (or shows its bus name).

pub mod menu;
mod watcher;

use std::any::Any;
use std::rc::Rc;
use std::time::Duration;

use super::dbus::{
    daemon_call, name_flags, Bus, CallError, Client, ClientId, Event, Message, Rule, Value,
    DBUS_IFACE, DBUS_NAME,
};
pub use menu::{Menu, MenuItem, Toggle};

/// The tray's address on the session bus.
pub const TRAY_CLIENT: ClientId = ClientId(1);

/// The watcher's well-known names and object.
pub const KDE_WATCHER: &str = "org.kde.StatusNotifierWatcher";
pub const FDO_WATCHER: &str = "org.freedesktop.StatusNotifierWatcher";
pub const WATCHER_PATH: &str = "/StatusNotifierWatcher";
/// The item interfaces (Qt and libappindicator use the KDE one).
pub const KDE_ITEM: &str = "org.kde.StatusNotifierItem";
pub const FDO_ITEM: &str = "org.freedesktop.StatusNotifierItem";
/// The dbusmenu interface.
pub const DBUSMENU: &str = "com.canonical.dbusmenu";

/// How long an item gets to answer a property or menu call.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// At most this many items (registrations beyond are refused): a tray of
/// hundreds is a flood, not a desktop.
pub const MAX_ITEMS: usize = 256;

/// Pixmap bytes one item may keep (all its icon, attention and overlay
/// sizes together); larger sizes are dropped, smallest kept first.
pub const MAX_PIXMAP_BYTES: usize = 1 << 20;

/// An item's `Status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Status {
    /// Nothing to show; hidden or dimmed (the module's `passive` setting).
    Passive,
    #[default]
    Active,
    /// Shows the attention icon.
    NeedsAttention,
}

impl Status {
    /// The spec's string for it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Passive => "Passive",
            Status::Active => "Active",
            Status::NeedsAttention => "NeedsAttention",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "Passive" => Status::Passive,
            "NeedsAttention" => Status::NeedsAttention,
            _ => Status::Active,
        }
    }
}

/// One icon pixmap as the item sent it: ARGB32, network byte order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pixmap {
    pub width: u32,
    pub height: u32,
    pub argb: Vec<u8>,
}

/// The pixmap nearest `size` px (preferring one at least that big).
pub fn nearest_pixmap(list: &[Pixmap], size: u32) -> Option<&Pixmap> {
    list.iter().min_by_key(|p| {
        let s = p.width.max(p.height);
        if s >= size {
            (0, s - size)
        } else {
            (1, size - s)
        }
    })
}

/// One tray item.
#[derive(Clone, Debug, Default)]
pub struct Item {
    /// Ours, stable while the item lives (icon cache keys, commands).
    pub uid: u32,
    /// The bus name it registered (unique or well-known).
    pub service: String,
    /// Its object path.
    pub path: String,
    /// The unique name of its connection (its leaving removes the item).
    pub owner: Option<String>,
    /// Which item interface answers (`org.kde…` or `org.freedesktop…`).
    pub iface: &'static str,
    pub id: String,
    pub title: String,
    pub status: Status,
    pub icon_name: String,
    pub icon_pixmaps: Vec<Pixmap>,
    pub attention_icon_name: String,
    pub attention_pixmaps: Vec<Pixmap>,
    pub overlay_icon_name: String,
    pub overlay_pixmaps: Vec<Pixmap>,
    pub icon_theme_path: String,
    pub tooltip_title: String,
    pub tooltip_text: String,
    /// Its dbusmenu object, if it has one.
    pub menu: Option<String>,
    /// A left click opens the menu instead of `Activate`.
    pub item_is_menu: bool,
    /// Its properties have been read once.
    pub loaded: bool,
    /// Bumped whenever anything shown changed (icon caches key on it).
    pub revision: u32,
    fetching: bool,
    dirty: bool,
    /// The last property fetch failed (said once per item).
    pub error: Option<String>,
}

impl Item {
    /// What [`Item::id`] falls back to before properties arrive.
    pub fn label(&self) -> &str {
        if !self.title.is_empty() {
            &self.title
        } else if !self.id.is_empty() {
            &self.id
        } else {
            &self.service
        }
    }
}

/// A pointer action on an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Left click at a screen position.
    Activate(i32, i32),
    /// Middle click.
    SecondaryActivate(i32, i32),
    /// Right click without a dbusmenu.
    ContextMenu(i32, i32),
    /// Wheel: steps and "vertical"/"horizontal" (true: vertical).
    Scroll(i32, bool),
    /// Fetch the item's dbusmenu to show it (`AboutToShow`, `GetLayout`).
    OpenMenu,
    /// The open menu's submenu of this entry is shown (`AboutToShow`,
    /// `Event "opened"`).
    MenuOpened(i32),
    /// This entry of the open menu was clicked (`Event "clicked"`).
    MenuClicked(i32),
    /// The open menu went away without a click (`Event "closed"`).
    CloseMenu,
}

const K_WATCHER_KDE: u64 = 1;
const K_WATCHER_FDO: u64 = 2;
const K_HOST_NAME: u64 = 3;
const K_WATCHER_OWNER: u64 = 4;
const K_REGISTER_HOST: u64 = 5;
const K_REMOTE_ITEMS: u64 = 6;
const K_GETALL: u64 = 7;
const K_ITEM_OWNER: u64 = 8;
const K_MENU_LAYOUT: u64 = 9;
const K_IGNORED: u64 = 10;

fn cookie(kind: u64, uid: u32) -> u64 {
    kind << 32 | u64::from(uid)
}

/// The tray's client of the session bus: watcher, host and items.
#[derive(Debug, Default)]
pub struct Tray {
    /// The items shown, in registration order.
    pub items: Vec<Item>,
    /// Bumped on every change of `items` or `menu`.
    pub generation: u64,
    /// The menu open now (fetched for one item), if any.
    pub menu: Option<Menu>,
    watcher: watcher::Watcher,
    /// Our unique name on this connection.
    me: Option<String>,
    /// Who owns `org.kde.StatusNotifierWatcher` now.
    watcher_owner: Option<String>,
    host_name: String,
    next_uid: u32,
}

/// Splits a registration (`:1.5/org/ayatana/NotificationItem/x`, a bus
/// name, or a path from `sender`) into (service, path).
pub fn split_registration(arg: &str, sender: &str) -> (String, String) {
    if arg.starts_with('/') {
        return (sender.to_string(), arg.to_string());
    }
    match arg.find('/') {
        Some(i) => (arg[..i].to_string(), arg[i..].to_string()),
        None => (arg.to_string(), "/StatusNotifierItem".to_string()),
    }
}

impl Tray {
    /// No items, not connected.
    pub fn new() -> Tray {
        Tray {
            host_name: format!("org.kde.StatusNotifierHost-{}-1", std::process::id()),
            next_uid: 1,
            ..Tray::default()
        }
    }

    /// The item of `uid`.
    pub fn item(&self, uid: u32) -> Option<&Item> {
        self.items.iter().find(|i| i.uid == uid)
    }

    /// Whether we are the watcher now.
    pub fn is_watcher(&self) -> bool {
        self.me.is_some() && self.watcher_owner == self.me
    }

    fn changed(&mut self) -> bool {
        self.generation = self.generation.wrapping_add(1);
        true
    }

    /// Sets the shown item list to `entries` (registrations as the watcher
    /// lists them): new ones fetched, gone ones dropped.
    fn set_sources(&mut self, bus: &mut Bus, entries: &[(String, String, Option<String>)]) -> bool {
        let before = self.items.len();
        self.items.retain(|it| {
            entries
                .iter()
                .any(|(s, p, _)| *s == it.service && *p == it.path)
        });
        let mut changed = before != self.items.len();
        for (s, p, owner) in entries {
            changed |= self.add_item(bus, s, p, owner.clone());
        }
        if changed {
            self.changed();
        }
        changed
    }

    fn add_item(
        &mut self,
        bus: &mut Bus,
        service: &str,
        path: &str,
        owner: Option<String>,
    ) -> bool {
        if self
            .items
            .iter()
            .any(|i| i.service == service && i.path == path)
            || self.items.len() >= MAX_ITEMS
        {
            return false;
        }
        let uid = self.next_uid;
        self.next_uid = self.next_uid.wrapping_add(1).max(1);
        let owner = owner.or_else(|| service.starts_with(':').then(|| service.to_string()));
        if owner.is_none() {
            let q = daemon_call("GetNameOwner", vec![Value::Str(service.into())]);
            bus.call(TRAY_CLIENT, cookie(K_ITEM_OWNER, uid), &q, CALL_TIMEOUT);
        }
        self.items.push(Item {
            uid,
            service: service.to_string(),
            path: path.to_string(),
            owner,
            iface: KDE_ITEM,
            ..Item::default()
        });
        self.fetch(bus, uid);
        self.changed()
    }

    fn remove_item(&mut self, uid: u32) -> bool {
        let before = self.items.len();
        self.items.retain(|i| i.uid != uid);
        if self.menu.as_ref().is_some_and(|m| m.item == uid) {
            self.menu = None;
        }
        before != self.items.len() && self.changed()
    }

    /// Asks item `uid` for all its properties (once at a time; a change
    /// signal during the fetch fetches again after it).
    fn fetch(&mut self, bus: &mut Bus, uid: u32) {
        let Some(it) = self.items.iter_mut().find(|i| i.uid == uid) else {
            return;
        };
        if it.fetching {
            it.dirty = true;
            return;
        }
        it.fetching = true;
        it.dirty = false;
        let m = Message::get_all(&it.service, &it.path, it.iface);
        bus.call(TRAY_CLIENT, cookie(K_GETALL, uid), &m, CALL_TIMEOUT);
    }

    fn apply_props(&mut self, uid: u32, props: &Value) -> bool {
        let Some(it) = self.items.iter_mut().find(|i| i.uid == uid) else {
            return false;
        };
        let s = |k: &str| {
            props
                .dict_get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let before = (
            it.id.clone(),
            it.title.clone(),
            it.status,
            it.icon_name.clone(),
            it.icon_pixmaps.clone(),
            it.attention_icon_name.clone(),
            it.overlay_icon_name.clone(),
            it.icon_theme_path.clone(),
            it.menu.clone(),
            it.item_is_menu,
            it.tooltip_title.clone(),
        );
        it.id = s("Id");
        it.title = s("Title");
        it.status = Status::parse(&s("Status"));
        it.icon_name = s("IconName");
        it.attention_icon_name = s("AttentionIconName");
        it.overlay_icon_name = s("OverlayIconName");
        it.icon_theme_path = s("IconThemePath");
        let mut budget = MAX_PIXMAP_BYTES;
        it.icon_pixmaps = pixmaps(props.dict_get("IconPixmap"), &mut budget);
        it.attention_pixmaps = pixmaps(props.dict_get("AttentionIconPixmap"), &mut budget);
        it.overlay_pixmaps = pixmaps(props.dict_get("OverlayIconPixmap"), &mut budget);
        it.menu = props
            .dict_get("Menu")
            .and_then(Value::as_str)
            .filter(|p| p.starts_with('/') && *p != "/")
            .map(str::to_string);
        it.item_is_menu = props
            .dict_get("ItemIsMenu")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        // ToolTip: (icon name, pixmaps, title, text).
        if let Some(tt) = props.dict_get("ToolTip").and_then(Value::as_struct) {
            it.tooltip_title = tt.get(2).and_then(Value::as_str).unwrap_or("").into();
            it.tooltip_text = tt.get(3).and_then(Value::as_str).unwrap_or("").into();
        }
        it.loaded = true;
        it.error = None;
        let after = (
            it.id.clone(),
            it.title.clone(),
            it.status,
            it.icon_name.clone(),
            it.icon_pixmaps.clone(),
            it.attention_icon_name.clone(),
            it.overlay_icon_name.clone(),
            it.icon_theme_path.clone(),
            it.menu.clone(),
            it.item_is_menu,
            it.tooltip_title.clone(),
        );
        if before != after || it.attention_pixmaps.len() + it.overlay_pixmaps.len() > 0 {
            it.revision = it.revision.wrapping_add(1);
            return self.changed();
        }
        false
    }

    /// Runs a pointer action on item `uid` (the reply, if any, is ignored:
    /// items answer these with nothing useful, or not at all).
    pub fn act(&mut self, bus: &mut Bus, uid: u32, action: Action) {
        let ours = self.menu.as_ref().is_some_and(|m| m.item == uid);
        match action {
            Action::OpenMenu => {
                self.open_menu(bus, uid);
                return;
            }
            Action::MenuOpened(id) if ours => return self.menu_opened(bus, id),
            Action::MenuClicked(id) if ours => return self.menu_clicked(bus, id),
            Action::CloseMenu if ours => {
                self.menu_event(bus, 0, "closed");
                self.close_menu();
                return;
            }
            Action::MenuOpened(_) | Action::MenuClicked(_) | Action::CloseMenu => return,
            _ => {}
        }
        let Some(it) = self.item(uid) else { return };
        let (member, body) = match action {
            Action::Activate(x, y) => ("Activate", vec![Value::I32(x), Value::I32(y)]),
            Action::SecondaryActivate(x, y) => {
                ("SecondaryActivate", vec![Value::I32(x), Value::I32(y)])
            }
            Action::ContextMenu(x, y) => ("ContextMenu", vec![Value::I32(x), Value::I32(y)]),
            Action::Scroll(delta, vertical) => (
                "Scroll",
                vec![
                    Value::I32(delta),
                    Value::Str(if vertical { "vertical" } else { "horizontal" }.into()),
                ],
            ),
            _ => return,
        };
        let m = Message::call(&it.service, &it.path, it.iface, member).with(body);
        bus.call(TRAY_CLIENT, cookie(K_IGNORED, uid), &m, CALL_TIMEOUT);
    }

    /// Opens item `uid`'s dbusmenu: `AboutToShow(0)` (its answer does not
    /// matter) then `GetLayout(0, -1, [])`; the menu appears in
    /// [`Tray::menu`] when the layout arrives. False when it has no menu.
    pub fn open_menu(&mut self, bus: &mut Bus, uid: u32) -> bool {
        let Some(it) = self.item(uid) else {
            return false;
        };
        let Some(path) = it.menu.clone() else {
            return false;
        };
        let service = it.service.clone();
        let owner = it.owner.clone();
        let about =
            Message::call(&service, &path, DBUSMENU, "AboutToShow").with(vec![Value::I32(0)]);
        bus.call(TRAY_CLIENT, cookie(K_IGNORED, uid), &about, CALL_TIMEOUT);
        self.menu = Some(Menu::pending(uid, service, owner, path));
        self.request_layout(bus);
        self.changed();
        true
    }

    fn request_layout(&mut self, bus: &mut Bus) {
        let Some(m) = self.menu.as_mut() else { return };
        if m.fetching {
            m.dirty = true;
            return;
        }
        m.fetching = true;
        m.dirty = false;
        let q = Message::call(&m.service, &m.path, DBUSMENU, "GetLayout").with(vec![
            Value::I32(0),
            Value::I32(-1),
            Value::strings::<&str>(&[]),
        ]);
        bus.call(TRAY_CLIENT, cookie(K_MENU_LAYOUT, m.item), &q, CALL_TIMEOUT);
    }

    /// The open menu's entry `id` was clicked: `Event(id, "clicked", 0, 0)`;
    /// the menu closes.
    pub fn menu_clicked(&mut self, bus: &mut Bus, id: i32) {
        if self.menu_event(bus, id, "clicked") {
            self.menu = None;
            self.changed();
        }
    }

    /// The open menu's submenu of entry `id` is shown: `AboutToShow(id)`
    /// (the item may fill it in now: the layout is asked for again) and
    /// `Event(id, "opened")`.
    pub fn menu_opened(&mut self, bus: &mut Bus, id: i32) {
        let Some(m) = self.menu.as_ref() else { return };
        let about =
            Message::call(&m.service, &m.path, DBUSMENU, "AboutToShow").with(vec![Value::I32(id)]);
        bus.call(TRAY_CLIENT, cookie(K_IGNORED, m.item), &about, CALL_TIMEOUT);
        self.menu_event(bus, id, "opened");
        self.request_layout(bus);
    }

    /// Sends `Event(id, kind, 0, 0)` to the open menu's item; false when
    /// no menu is open. The reply is ignored (some items never send one).
    fn menu_event(&mut self, bus: &mut Bus, id: i32, kind: &str) -> bool {
        let Some(m) = self.menu.as_ref() else {
            return false;
        };
        let ev = Message::call(&m.service, &m.path, DBUSMENU, "Event").with(vec![
            Value::I32(id),
            Value::Str(kind.into()),
            Value::Variant(Box::new(Value::I32(0))),
            Value::U32(0),
        ]);
        bus.call(TRAY_CLIENT, cookie(K_IGNORED, m.item), &ev, CALL_TIMEOUT);
        true
    }

    /// Closes the open menu (nothing is sent).
    pub fn close_menu(&mut self) -> bool {
        self.menu.take().is_some() && self.changed()
    }

    fn item_by_signal(&self, m: &Message) -> Option<u32> {
        let sender = m.sender.as_deref()?;
        let path = m.path.as_deref()?;
        self.items
            .iter()
            .find(|i| i.path == path && (i.owner.as_deref() == Some(sender) || i.service == sender))
            .map(|i| i.uid)
    }

    /// The registrations to show: ours when we are the watcher.
    fn own_sources(&self) -> Vec<(String, String, Option<String>)> {
        self.watcher
            .items
            .iter()
            .map(|r| (r.service.clone(), r.path.clone(), Some(r.owner.clone())))
            .collect()
    }

    fn watcher_changed(&mut self, bus: &mut Bus, owner: Option<String>) -> bool {
        self.watcher_owner = owner;
        if self.is_watcher() {
            // Taking over from a watcher that left: keep the items it had.
            // (Qt re-registers only when the name was free in between, not
            // when a queued owner gets it directly.)
            let adopted: Vec<(String, String, String)> = self
                .items
                .iter()
                .filter_map(|i| Some((i.service.clone(), i.path.clone(), i.owner.clone()?)))
                .collect();
            for (service, path, owner) in adopted {
                self.watcher.adopt(bus, service, path, owner);
            }
            let own = self.own_sources();
            return self.set_sources(bus, &own);
        }
        let Some(w) = self.watcher_owner.clone() else {
            // No watcher at all (ours is queued behind a leaving one):
            // keep what we show until one appears.
            return false;
        };
        let reg = Message::call(&w, WATCHER_PATH, KDE_WATCHER, "RegisterStatusNotifierHost")
            .with(vec![Value::Str(self.host_name.clone())]);
        bus.call(TRAY_CLIENT, cookie(K_REGISTER_HOST, 0), &reg, CALL_TIMEOUT);
        self.fetch_remote_items(bus);
        false
    }

    fn fetch_remote_items(&mut self, bus: &mut Bus) {
        if let Some(w) = self.watcher_owner.clone() {
            let q = Message::get_property(
                &w,
                WATCHER_PATH,
                KDE_WATCHER,
                "RegisteredStatusNotifierItems",
            );
            bus.call(TRAY_CLIENT, cookie(K_REMOTE_ITEMS, 0), &q, CALL_TIMEOUT);
        }
    }

    fn on_reply(
        &mut self,
        bus: &mut Bus,
        cookie: u64,
        result: Result<Rc<Message>, CallError>,
    ) -> bool {
        let kind = cookie >> 32;
        let uid = cookie as u32;
        match kind {
            K_WATCHER_OWNER => {
                let owner = result
                    .ok()
                    .and_then(|m| m.body.first()?.as_str().map(str::to_string));
                self.watcher_changed(bus, owner)
            }
            K_REMOTE_ITEMS => {
                let Ok(m) = result else { return false };
                let Some(list) = m.body.first().and_then(Value::as_array) else {
                    return false;
                };
                let sender = self.watcher_owner.clone().unwrap_or_default();
                let entries: Vec<_> = list
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| {
                        let (svc, path) = split_registration(s, &sender);
                        (svc, path, None)
                    })
                    .collect();
                self.set_sources(bus, &entries)
            }
            K_ITEM_OWNER => match result {
                Ok(m) => {
                    let owner = m.body.first().and_then(Value::as_str).map(str::to_string);
                    if let Some(it) = self.items.iter_mut().find(|i| i.uid == uid) {
                        it.owner = owner;
                    }
                    false
                }
                // Nobody owns it any more: the item is gone.
                Err(CallError::Remote(_)) => self.remove_item(uid),
                Err(_) => false,
            },
            K_GETALL => {
                let Some(it) = self.items.iter_mut().find(|i| i.uid == uid) else {
                    return false;
                };
                it.fetching = false;
                let again = it.dirty;
                let changed = match result {
                    Ok(m) => match m.body.first() {
                        Some(props) if props.as_array().is_some_and(|a| !a.is_empty()) => {
                            self.apply_props(uid, props)
                        }
                        _ if it.iface == KDE_ITEM => {
                            // Some items answer only on the freedesktop name.
                            it.iface = FDO_ITEM;
                            it.dirty = true;
                            false
                        }
                        _ => false,
                    },
                    Err(e) => {
                        let first = it.error.is_none();
                        it.error = Some(e.to_string());
                        if it.iface == KDE_ITEM && matches!(e, CallError::Remote(_)) {
                            it.iface = FDO_ITEM;
                            it.dirty = true;
                        }
                        first && self.changed()
                    }
                };
                if again || self.item(uid).is_some_and(|i| i.dirty) {
                    self.fetch(bus, uid);
                }
                changed
            }
            K_MENU_LAYOUT => {
                let Some(menu) = self.menu.as_mut().filter(|m| m.item == uid) else {
                    return false;
                };
                menu.fetching = false;
                let changed = match result {
                    Ok(m) => menu.apply_layout(&m.body),
                    Err(e) => {
                        menu.error = Some(e.to_string());
                        true
                    }
                };
                if self.menu.as_ref().is_some_and(|m| m.dirty) {
                    self.request_layout(bus);
                }
                changed && self.changed()
            }
            K_WATCHER_KDE | K_WATCHER_FDO | K_HOST_NAME | K_REGISTER_HOST | K_IGNORED => false,
            _ => false,
        }
    }

    fn on_signal(&mut self, bus: &mut Bus, m: &Message) -> bool {
        if m.is_signal(DBUS_IFACE, "NameOwnerChanged") {
            let arg = |i: usize| m.body.get(i).and_then(Value::as_str).unwrap_or("");
            let (name, old, new) = (arg(0), arg(1), arg(2));
            let mut changed = false;
            if name == KDE_WATCHER {
                let owner = (!new.is_empty()).then(|| new.to_string());
                changed |= self.watcher_changed(bus, owner);
            }
            if new.is_empty() && !old.is_empty() && name.starts_with(':') {
                // A connection left: its registrations, hosts and items go.
                changed |= self.watcher.forget(bus, name);
                let gone: Vec<u32> = self
                    .items
                    .iter()
                    .filter(|i| i.owner.as_deref() == Some(name) || i.service == name)
                    .map(|i| i.uid)
                    .collect();
                for uid in gone {
                    changed |= self.remove_item(uid);
                }
            }
            return changed;
        }
        // The external watcher's item list changed.
        if (m.is_signal(KDE_WATCHER, "StatusNotifierItemRegistered")
            || m.is_signal(KDE_WATCHER, "StatusNotifierItemUnregistered"))
            && !self.is_watcher()
            && m.sender.is_some()
            && m.sender == self.watcher_owner
        {
            self.fetch_remote_items(bus);
            return false;
        }
        let iface = m.interface.as_deref().unwrap_or("");
        if iface == KDE_ITEM || iface == FDO_ITEM {
            if let Some(uid) = self.item_by_signal(m) {
                self.fetch(bus, uid);
            }
            return false;
        }
        if iface == DBUSMENU {
            let ours = self.menu.as_ref().is_some_and(|menu| {
                m.path.as_deref() == Some(menu.path.as_str())
                    && (m.sender == menu.owner || m.sender.as_deref() == Some(&menu.service))
            });
            if ours
                && matches!(
                    m.member.as_deref(),
                    Some("LayoutUpdated" | "ItemsPropertiesUpdated")
                )
            {
                self.request_layout(bus);
            }
        }
        false
    }
}

fn pixmaps(v: Option<&Value>, budget: &mut usize) -> Vec<Pixmap> {
    let Some(list) = v.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, u32, &[u8])> = list
        .iter()
        .filter_map(|p| {
            let f = p.as_struct()?;
            let w = u32::try_from(f.first()?.as_i32()?).ok()?;
            let h = u32::try_from(f.get(1)?.as_i32()?).ok()?;
            let data = f.get(2)?.as_bytes()?;
            let need = (w as usize).checked_mul(h as usize)?.checked_mul(4)?;
            (w > 0 && h > 0 && data.len() >= need).then(|| (w, h, &data[..need]))
        })
        .collect();
    // Smallest first, so a budget cut drops the huge ones.
    found.sort_by_key(|(w, h, _)| w * h);
    let mut out = Vec::new();
    for (w, h, data) in found {
        if data.len() > *budget {
            break;
        }
        *budget -= data.len();
        out.push(Pixmap {
            width: w,
            height: h,
            argb: data.to_vec(),
        });
    }
    out
}

impl Client for Tray {
    fn id(&self) -> ClientId {
        TRAY_CLIENT
    }

    fn connected(&mut self, bus: &mut Bus) {
        // Whatever we knew belongs to the old connection.
        self.watcher = watcher::Watcher::default();
        self.watcher_owner = None;
        self.me = None;
        self.menu = None;
        bus.export(TRAY_CLIENT, WATCHER_PATH);
        bus.subscribe(
            TRAY_CLIENT,
            Rule::signal(DBUS_IFACE, "NameOwnerChanged").from(DBUS_NAME),
        );
        bus.subscribe(TRAY_CLIENT, Rule::interface(KDE_ITEM));
        bus.subscribe(TRAY_CLIENT, Rule::interface(FDO_ITEM));
        bus.subscribe(TRAY_CLIENT, Rule::interface(KDE_WATCHER));
        bus.subscribe(TRAY_CLIENT, Rule::interface(DBUSMENU));
        // Queued behind any owner, never replacing it; a later watcher that
        // asks to replace us may.
        let flags = Value::U32(name_flags::ALLOW_REPLACEMENT);
        for (name, k) in [(KDE_WATCHER, K_WATCHER_KDE), (FDO_WATCHER, K_WATCHER_FDO)] {
            let q = daemon_call("RequestName", vec![Value::Str(name.into()), flags.clone()]);
            bus.call(TRAY_CLIENT, cookie(k, 0), &q, CALL_TIMEOUT);
        }
        let q = daemon_call(
            "RequestName",
            vec![
                Value::Str(self.host_name.clone()),
                Value::U32(name_flags::DO_NOT_QUEUE),
            ],
        );
        bus.call(TRAY_CLIENT, cookie(K_HOST_NAME, 0), &q, CALL_TIMEOUT);
        // After the RequestNames (the daemon answers in order): who owns it.
        let q = daemon_call("GetNameOwner", vec![Value::Str(KDE_WATCHER.into())]);
        bus.call(TRAY_CLIENT, cookie(K_WATCHER_OWNER, 0), &q, CALL_TIMEOUT);
    }

    fn event(&mut self, bus: &mut Bus, event: Event) -> bool {
        if self.me.is_none() {
            self.me = bus.unique_name().map(str::to_string);
        }
        match event {
            Event::Reply { cookie, result } => self.on_reply(bus, cookie, result),
            Event::Signal(m) => self.on_signal(bus, &m),
            Event::MethodCall(m) => {
                let (changed_regs, host_name) = (self.watcher.items.len(), self.host_name.clone());
                self.watcher.handle(bus, &m, &host_name);
                if self.is_watcher() && self.watcher.items.len() != changed_regs {
                    let own = self.own_sources();
                    return self.set_sources(bus, &own);
                }
                if self.is_watcher() {
                    let own = self.own_sources();
                    return self.set_sources(bus, &own);
                }
                false
            }
        }
    }

    fn lost(&mut self) -> bool {
        // Keep the icons: the bar goes on showing what it had until the
        // bus is back (then the items are read afresh).
        self.watcher_owner = None;
        self.menu.take().is_some() && self.changed()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_split() {
        assert_eq!(
            split_registration("/org/ayatana/NotificationItem/x", ":1.5"),
            (":1.5".into(), "/org/ayatana/NotificationItem/x".into())
        );
        assert_eq!(
            split_registration("org.kde.StatusNotifierItem-4-1", ":1.5"),
            (
                "org.kde.StatusNotifierItem-4-1".into(),
                "/StatusNotifierItem".into()
            )
        );
        assert_eq!(
            split_registration(":1.7/StatusNotifierItem", ":1.5"),
            (":1.7".into(), "/StatusNotifierItem".into())
        );
    }

    fn px(w: u32) -> Pixmap {
        Pixmap {
            width: w,
            height: w,
            argb: vec![0; (w * w * 4) as usize],
        }
    }

    #[test]
    fn nearest_pixmap_prefers_larger() {
        let l = [px(16), px(22), px(32), px(64)];
        assert_eq!(nearest_pixmap(&l, 24).map(|p| p.width), Some(32));
        assert_eq!(nearest_pixmap(&l, 22).map(|p| p.width), Some(22));
        assert_eq!(nearest_pixmap(&l, 128).map(|p| p.width), Some(64));
        assert!(nearest_pixmap(&[], 16).is_none());
    }

    #[test]
    fn pixmaps_bounded_and_checked() {
        let entry = |w: i32, n: usize| {
            Value::Struct(vec![Value::I32(w), Value::I32(w), Value::Bytes(vec![1; n])])
        };
        let list = Value::Array(
            "(iiay)".into(),
            vec![
                entry(256, 256 * 256 * 4),
                entry(16, 16 * 16 * 4),
                entry(8, 3),
                entry(-1, 4),
                entry(1024, 1024 * 1024 * 4),
            ],
        );
        let mut budget = MAX_PIXMAP_BYTES;
        let got = pixmaps(Some(&list), &mut budget);
        // The short and negative ones are refused; 1024² does not fit the budget.
        assert_eq!(
            got.iter().map(|p| p.width).collect::<Vec<_>>(),
            vec![16, 256]
        );
    }
}

//! Groups: `[module."group#NAME"]` with `modules = [...]` (instances drawn
//! on one shared box, an island), a `style` (with `hover` and `open` state
//! tables) and an optional `drawer` (only the first member shows until the
//! group is hovered or, with `click_to_reveal`, its first member clicked).
//! A layout lists `group#NAME` where the members go; groups do not nest.

use toml::de::DeValue;

use super::style::Styles;
use super::{Cx, Names, Val};

/// The prefix that makes a layout name or a `[module]` table a group.
pub const PREFIX: &str = "group#";

/// The keys of a group's table.
pub const GROUP_KEYS: &[&str] = &["modules", "style", "drawer"];

/// The keys of a group's `drawer` table (Waybar's, with underscores).
pub const DRAWER_KEYS: &[&str] = &[
    "click_to_reveal",
    "transition_left_to_right",
    "transition_ms",
];

/// The longest `transition_ms` (ten seconds: longer is a typo, not a look).
pub const MAX_TRANSITION_MS: u64 = 10_000;

/// The states a group's style may name, in the order they apply.
pub const GROUP_STATES: &[&str] = &["open", "hover"];

/// How a drawer opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drawer {
    /// Open and close by clicking the first member instead of on hover.
    pub click_to_reveal: bool,
    /// The hidden members open to the right of the first (`true`, the
    /// default) or to its left.
    pub left_to_right: bool,
    /// How long the hidden members take to slide open or closed, ms
    /// (Waybar's `transition-duration`); 0: at once.
    pub transition_ms: u16,
}

impl Default for Drawer {
    fn default() -> Self {
        Drawer {
            click_to_reveal: false,
            left_to_right: true,
            transition_ms: 0,
        }
    }
}

/// One `[module."group#NAME"]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    /// `group#NAME` as written.
    pub name: String,
    /// Member instance names, in drawing order.
    pub modules: Vec<String>,
    /// The shared box's style and its `open` / `hover` tables.
    pub styles: Styles,
    /// `Some`: a drawer.
    pub drawer: Option<Drawer>,
}

/// Whether a layout or `[module]` name is a group's.
pub fn is_group(name: &str) -> bool {
    name.starts_with(PREFIX)
}

impl Cx<'_> {
    /// A group's box has no text: `font` in its style tables is an error
    /// (a member's own style sets its font).
    fn group_fonts(&mut self, v: &Val<'_>, at: &str) {
        let DeValue::Table(t) = v.get_ref() else {
            return;
        };
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            let inner = match v.get_ref() {
                DeValue::Table(st) if key != "font" => {
                    st.iter().find(|(k, _)| k.get_ref() == "font")
                }
                _ => None,
            };
            let span = match (key, inner) {
                ("font", _) => k.span(),
                (_, Some((fk, _))) => fk.span(),
                _ => continue,
            };
            let q = if key == "font" {
                format!("{at}.font")
            } else {
                format!("{at}.{key}.font")
            };
            self.err(
                span,
                format!("`{q}`: a group's box has no text; set `font` in its members' [module.NAME.style]"),
            );
        }
    }

    /// Reads `[module."group#NAME"]`; the members with their spans (checked
    /// by the caller against the defined modules and kinds).
    pub(super) fn group(&mut self, name: &str, body: &Val<'_>) -> Option<(Group, Names)> {
        let at = format!("[module.\"{name}\"]");
        let t = self.table(body, &format!("module.{name}"))?;
        self.known_keys(t, GROUP_KEYS, &at);
        let mut g = Group {
            name: name.to_string(),
            modules: Vec::new(),
            styles: Styles::default(),
            drawer: None,
        };
        let mut members: Option<Names> = None;
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            let q = format!("module.{name}.{key}");
            match key {
                "modules" => members = self.string_list(v, &q),
                "style" => {
                    g.styles = self.styles(v, &q, GROUP_STATES, |_| false);
                    self.group_fonts(v, &q);
                }
                "drawer" => g.drawer = self.drawer(v, &q),
                _ => {}
            }
        }
        // A group in error still counts as defined: the layout that lists
        // it gets no second error.
        let members = members.unwrap_or_else(|| {
            self.err(
                body.span(),
                format!("{at}: a group needs `modules`, the instances it draws together"),
            );
            Vec::new()
        });
        if members.is_empty() && t.iter().any(|(k, _)| k.get_ref() == "modules") {
            self.err(body.span(), format!("{at}: `modules` is empty"));
        }
        g.modules = members.iter().map(|(n, _)| n.clone()).collect();
        Some((g, members))
    }

    /// `drawer = true | false`, or a table of [`DRAWER_KEYS`].
    fn drawer(&mut self, v: &Val<'_>, q: &str) -> Option<Drawer> {
        if let DeValue::Boolean(b) = v.get_ref() {
            return b.then(Drawer::default);
        }
        let DeValue::Table(t) = v.get_ref() else {
            self.wrong_type(
                v,
                q,
                "true, false or a table { click_to_reveal, transition_left_to_right, transition_ms }",
            );
            return None;
        };
        self.known_keys(t, DRAWER_KEYS, q);
        let mut d = Drawer::default();
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            let qk = format!("{q}.{key}");
            match key {
                "click_to_reveal" => {
                    if let Some(b) = self.boolean(v, &qk) {
                        d.click_to_reveal = b;
                    }
                }
                "transition_left_to_right" => {
                    if let Some(b) = self.boolean(v, &qk) {
                        d.left_to_right = b;
                    }
                }
                "transition_ms" => {
                    if let Some(n) = self.uint(v, &qk, 0, MAX_TRANSITION_MS) {
                        d.transition_ms = n as u16;
                    }
                }
                _ => {}
            }
        }
        Some(d)
    }
}

//! An item's dbusmenu (`com.canonical.dbusmenu`) as plain data: the layout
//! `GetLayout` returned, flattened into a bounded list (a hostile menu of
//! ten thousand entries keeps [`MAX_ENTRIES`]), labels with their
//! mnemonic underscores removed.

use crate::services::dbus::Value;

/// Entries kept of one menu (all levels together).
pub const MAX_ENTRIES: usize = 500;
/// Submenu levels kept.
pub const MAX_DEPTH: u8 = 6;
/// Bytes kept of one label.
const MAX_LABEL: usize = 200;

/// A check or radio mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Toggle {
    #[default]
    None,
    Check(bool),
    Radio(bool),
}

/// One menu entry.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MenuItem {
    /// The item's dbusmenu id (what `Event` names).
    pub id: i32,
    /// Index of the parent entry in [`Menu::entries`]; `None`: top level.
    pub parent: Option<usize>,
    pub depth: u8,
    /// Label, mnemonics stripped.
    pub label: String,
    pub enabled: bool,
    pub separator: bool,
    pub toggle: Toggle,
    pub icon_name: String,
    /// Opens a submenu (has children here).
    pub submenu: bool,
}

/// The menu open for one item.
#[derive(Clone, Debug, Default)]
pub struct Menu {
    /// The tray item's uid.
    pub item: u32,
    pub service: String,
    pub owner: Option<String>,
    pub path: String,
    /// Visible entries, parents before their children, in menu order.
    pub entries: Vec<MenuItem>,
    /// The layout has arrived at least once.
    pub loaded: bool,
    /// Entries beyond [`MAX_ENTRIES`] were dropped.
    pub truncated: bool,
    /// `GetLayout` failed or timed out.
    pub error: Option<String>,
    /// The layout revision the item reported.
    pub revision: u32,
    pub(super) fetching: bool,
    pub(super) dirty: bool,
}

/// `label` without mnemonic marks: `_File` → `File`, `__` → `_`.
pub fn strip_mnemonic(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut chars = label.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '_' {
            if chars.peek() == Some(&'_') {
                chars.next();
                out.push('_');
            }
            continue;
        }
        out.push(c);
    }
    out
}

impl Menu {
    /// A menu asked for but not arrived.
    pub fn pending(item: u32, service: String, owner: Option<String>, path: String) -> Menu {
        Menu {
            item,
            service,
            owner,
            path,
            ..Menu::default()
        }
    }

    /// The top-level entries' indices.
    pub fn top(&self) -> impl Iterator<Item = usize> + '_ {
        self.children(None)
    }

    /// The indices of `parent`'s children (`None`: the top level).
    pub fn children(&self, parent: Option<usize>) -> impl Iterator<Item = usize> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(move |(_, e)| e.parent == parent)
            .map(|(i, _)| i)
    }

    /// Replaces the entries with a `GetLayout` reply body `(u, (ia{sv}av))`;
    /// true when anything changed.
    pub fn apply_layout(&mut self, body: &[Value]) -> bool {
        let revision = body.first().and_then(Value::as_u32).unwrap_or(0);
        let Some(root) = body.get(1) else {
            self.error = Some("GetLayout reply without a layout".into());
            return true;
        };
        let mut entries = Vec::new();
        let mut truncated = false;
        if let Some(f) = root.as_struct() {
            if let Some(children) = f.get(2).and_then(Value::as_array) {
                walk(children, None, 0, &mut entries, &mut truncated);
            }
        }
        let changed = !self.loaded || entries != self.entries || self.error.is_some();
        self.entries = entries;
        self.truncated = truncated;
        self.revision = revision;
        self.loaded = true;
        self.error = None;
        changed
    }
}

fn walk(
    children: &[Value],
    parent: Option<usize>,
    depth: u8,
    out: &mut Vec<MenuItem>,
    truncated: &mut bool,
) {
    for c in children {
        if out.len() >= MAX_ENTRIES {
            *truncated = true;
            return;
        }
        let Some(f) = c.as_struct() else { continue };
        let Some(id) = f.first().and_then(Value::as_i32) else {
            continue;
        };
        let props = f.get(1);
        let prop = |k: &str| props.and_then(|p| p.dict_get(k));
        let text = |k: &str| prop(k).and_then(Value::as_str).unwrap_or("");
        if prop("visible").and_then(Value::as_bool) == Some(false) {
            continue;
        }
        let mut label = strip_mnemonic(text("label"));
        if label.len() > MAX_LABEL {
            let mut n = MAX_LABEL;
            while !label.is_char_boundary(n) {
                n -= 1;
            }
            label.truncate(n);
        }
        let on = prop("toggle-state").and_then(Value::as_i32) == Some(1);
        let toggle = match text("toggle-type") {
            "checkmark" => Toggle::Check(on),
            "radio" => Toggle::Radio(on),
            _ => Toggle::None,
        };
        let kids = f.get(2).and_then(Value::as_array).unwrap_or(&[]);
        let submenu = text("children-display") == "submenu" || !kids.is_empty();
        let me = out.len();
        out.push(MenuItem {
            id,
            parent,
            depth,
            label,
            enabled: prop("enabled").and_then(Value::as_bool).unwrap_or(true),
            separator: text("type") == "separator",
            toggle,
            icon_name: text("icon-name").to_string(),
            submenu: submenu && depth < MAX_DEPTH,
        });
        if depth < MAX_DEPTH && !kids.is_empty() {
            walk(kids, Some(me), depth + 1, out, truncated);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: i32, props: Vec<(&str, Value)>, kids: Vec<Value>) -> Value {
        Value::Struct(vec![
            Value::I32(id),
            Value::dict_sv(props),
            Value::Array(
                "v".into(),
                kids.into_iter()
                    .map(|k| Value::Variant(Box::new(k)))
                    .collect(),
            ),
        ])
    }

    #[test]
    fn mnemonics() {
        assert_eq!(strip_mnemonic("_Quit"), "Quit");
        assert_eq!(strip_mnemonic("Save __As"), "Save _As");
        assert_eq!(strip_mnemonic("plain"), "plain");
    }

    #[test]
    fn layout_flattened() {
        let s = |v: &str| Value::Str(v.into());
        let root = node(
            0,
            vec![("children-display", s("submenu"))],
            vec![
                node(1, vec![("label", s("_Open"))], vec![]),
                node(2, vec![("type", s("separator"))], vec![]),
                node(
                    3,
                    vec![("label", s("Hidden")), ("visible", Value::Bool(false))],
                    vec![],
                ),
                node(
                    4,
                    vec![("label", s("More")), ("children-display", s("submenu"))],
                    vec![node(
                        5,
                        vec![
                            ("label", s("Dark")),
                            ("toggle-type", s("checkmark")),
                            ("toggle-state", Value::I32(1)),
                            ("enabled", Value::Bool(false)),
                        ],
                        vec![],
                    )],
                ),
            ],
        );
        let mut m = Menu::default();
        assert!(m.apply_layout(&[Value::U32(3), root.clone()]));
        let labels: Vec<_> = m.entries.iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["Open", "", "More", "Dark"]);
        assert!(m.entries[1].separator);
        assert!(m.entries[2].submenu);
        assert_eq!(m.entries[3].parent, Some(2));
        assert_eq!(m.entries[3].toggle, Toggle::Check(true));
        assert!(!m.entries[3].enabled);
        assert_eq!(m.top().collect::<Vec<_>>(), vec![0, 1, 2]);
        // The same layout again is no change.
        assert!(!m.apply_layout(&[Value::U32(3), root]));
    }

    #[test]
    fn huge_menu_truncated() {
        let kids = (0..10_000)
            .map(|i| node(i, vec![("label", Value::Str(format!("entry {i}")))], vec![]))
            .collect();
        let mut m = Menu::default();
        m.apply_layout(&[Value::U32(1), node(0, vec![], kids)]);
        assert_eq!(m.entries.len(), MAX_ENTRIES);
        assert!(m.truncated);
    }
}

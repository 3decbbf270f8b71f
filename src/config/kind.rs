//! What a module kind tells the config machinery about itself: its name,
//! placeholders, built-in format and levels, the states it reports and the
//! keys only it takes. Each kind declares one [`KindDef`] as a `const` in
//! its own file (`src/modules/KIND.rs`); the registry
//! (`src/modules/registry.rs`) lists them and hands the list to
//! [`super::parse_with`]. Nothing here knows any particular kind.

use std::fmt;

use super::Action;

/// A name and what it means (a placeholder, a state, a key), for error
/// messages, `--print-default-config` and the README.
pub type Doc = (&'static str, &'static str);

/// A built-in threshold: (placeholder, value).
pub type Level = (&'static str, f64);

/// How a kind's `format` is written.
#[derive(Clone, Copy)]
pub enum Syntax {
    /// A [`super::Template`] over the kind's placeholders.
    Template,
    /// The kind's own syntax (the clock's strftime); the check returns the
    /// byte offset of the first problem and what it is. The text is kept as
    /// written in [`super::Template::source`].
    Own(fn(&str) -> Result<(), (usize, String)>),
}

/// The type, range and default of one kind-specific key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum KeyType {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number in `min..=max`.
    Uint { min: u64, max: u64, default: u64 },
    /// A number in `min..=max`.
    Float { min: f64, max: f64, default: f64 },
    /// Any string.
    Text(&'static str),
    /// One of the names; the default is the first.
    Choice(&'static [&'static str]),
    /// A command: an array (run directly) or a string (`sh -c`). No default.
    Command,
    /// An array of strings, by default these.
    Strings(&'static [&'static str]),
}

/// A further check of a key's value: why it is wrong.
pub type Check = fn(&Opt) -> Result<(), String>;

/// One key only some kinds take (`max_chars`, `exec`, …).
#[derive(Clone, Copy, Debug)]
pub struct Key {
    pub name: &'static str,
    pub ty: KeyType,
    /// What it does (for the README and the default config).
    pub doc: &'static str,
    /// An instance without it is an error (`custom` without `exec`).
    pub required: bool,
    /// A further check of a value of the right type (a device name without
    /// `/`, a list of 1 to 16 entries): why it is wrong.
    pub check: Option<Check>,
}

impl Key {
    /// An optional key.
    pub const fn new(name: &'static str, ty: KeyType, doc: &'static str) -> Key {
        Key {
            name,
            ty,
            doc,
            required: false,
            check: None,
        }
    }

    /// This key with a further check of its values.
    pub const fn checked(self, check: Check) -> Key {
        Key {
            check: Some(check),
            ..self
        }
    }

    /// A key every instance must set.
    pub const fn required(name: &'static str, ty: KeyType, doc: &'static str) -> Key {
        Key {
            name,
            ty,
            doc,
            required: true,
            check: None,
        }
    }

    /// The value an instance that does not set it gets.
    pub fn default_value(&self) -> Opt {
        match self.ty {
            KeyType::Bool(b) => Opt::Bool(b),
            KeyType::Uint { default, .. } => Opt::Uint(default),
            KeyType::Float { default, .. } => Opt::Float(default),
            KeyType::Text(s) => Opt::Text(s.to_string()),
            KeyType::Choice(names) => Opt::Text(names.first().copied().unwrap_or("").to_string()),
            KeyType::Command => Opt::Command(None),
            KeyType::Strings(v) => Opt::Strings(v.iter().map(|s| s.to_string()).collect()),
        }
    }
}

/// A [`Key::check`] for lists: 1 to 16 entries, none empty.
pub fn short_list(v: &Opt) -> Result<(), String> {
    match v {
        Opt::Strings(l) if l.is_empty() || l.len() > 16 => Err("expected 1 to 16 entries".into()),
        Opt::Strings(l) if l.iter().any(String::is_empty) => Err("an empty entry".into()),
        _ => Ok(()),
    }
}

/// The value of a kind-specific key, validated against its [`KeyType`].
#[derive(Clone, Debug, PartialEq)]
pub enum Opt {
    Bool(bool),
    Uint(u64),
    Float(f64),
    /// [`KeyType::Text`] and [`KeyType::Choice`].
    Text(String),
    Command(Option<Action>),
    Strings(Vec<String>),
}

/// Everything the config machinery knows about one module kind.
///
/// Built as a `const` with struct-update syntax from [`KindDef::BASE`], so a
/// kind states only what differs.
#[derive(Clone, Copy)]
pub struct KindDef {
    /// The config name (`cpu`; instances are `cpu` or `cpu#LABEL`).
    pub name: &'static str,
    /// One line on what it shows.
    pub about: &'static str,
    /// The placeholders `format` may use, in the order the module hands its
    /// values to [`super::Template::render`].
    pub placeholders: &'static [Doc],
    /// The built-in format. Numbers have fixed widths so the module keeps
    /// its size as digits change.
    pub format: &'static str,
    pub syntax: Syntax,
    /// The built-in update interval (ms); event-driven kinds ignore it.
    pub interval_ms: u64,
    /// The placeholder a bare-number `warning` / `critical` applies to.
    pub primary: Option<&'static str>,
    /// Built-in warning and critical levels.
    pub warning: &'static [Level],
    pub critical: &'static [Level],
    /// Whether a hover popup is on by default.
    pub popup: bool,
    /// The kind's own states (beyond [`super::state::COMMON`]), in the order
    /// their styles apply (later wins). At most [`super::state::OWN_MAX`].
    pub states: &'static [Doc],
    /// Keys only this kind takes.
    pub keys: &'static [Key],
    /// The built-in `icons` ramp (for kinds with an `{icon}` placeholder).
    pub icons: &'static [&'static str],
    /// Any other state name the config uses is one of its script's classes
    /// (the custom module).
    pub classes: bool,
    /// The placeholders `tooltip_format` may use, in the order the module
    /// hands their values, when they are not `format`'s (a tray item's
    /// properties, an i3bar block's fields). Empty: `format`'s.
    pub tooltip_placeholders: &'static [Doc],
    /// How `tooltip_format` is written when not as `format` is (the clock's:
    /// strftime with a `{calendar}`); `None`: as `format`.
    pub tooltip_syntax: Option<Syntax>,
}

impl KindDef {
    /// The base every kind's definition starts from.
    pub const BASE: KindDef = KindDef {
        name: "",
        about: "",
        placeholders: &[],
        format: "",
        syntax: Syntax::Template,
        interval_ms: 1000,
        primary: None,
        warning: &[],
        critical: &[],
        popup: false,
        states: &[],
        keys: &[],
        icons: &[],
        classes: false,
        tooltip_placeholders: &[],
        tooltip_syntax: None,
    };

    /// The placeholder names, in order.
    pub fn placeholder_names(&self) -> Vec<&'static str> {
        self.placeholders.iter().map(|(n, _)| *n).collect()
    }

    /// The placeholder names `tooltip_format` may use, in order.
    pub fn tooltip_placeholder_names(&self) -> Vec<&'static str> {
        if self.tooltip_placeholders.is_empty() {
            return self.placeholder_names();
        }
        self.tooltip_placeholders.iter().map(|(n, _)| *n).collect()
    }

    /// The index of placeholder `name`.
    pub fn placeholder(&self, name: &str) -> Option<usize> {
        self.placeholders.iter().position(|(n, _)| *n == name)
    }

    /// The index of kind-specific key `name`.
    pub fn key(&self, name: &str) -> Option<usize> {
        self.keys.iter().position(|k| k.name == name)
    }

    /// The bit of the kind's own state `name`, or of a common one.
    pub fn state(&self, name: &str) -> Option<u32> {
        super::state::bit_of(self, name)
    }
}

/// Kinds are compared by name: two definitions with one name cannot both be
/// registered (the registry's test says so).
impl PartialEq for KindDef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for KindDef {}

impl fmt::Debug for KindDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KindDef({})", self.name)
    }
}

/// Finds kind `name` among `kinds`.
pub fn find(kinds: &[&'static KindDef], name: &str) -> Option<&'static KindDef> {
    kinds.iter().copied().find(|k| k.name == name)
}

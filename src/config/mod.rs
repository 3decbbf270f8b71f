//! The config file: types, built-in defaults, validation with positions.
//!
//! TOML, read rarely (start-up and reload), never per tick. The file is
//! parsed into a spanned document and walked by hand, so every error can name
//! the file, line, column and key, suggest the nearest valid name, and all
//! problems are reported at once.

pub mod color;
pub mod error;
pub mod format;
pub mod module;
pub mod suggest;

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub use color::Color;
pub use error::{ConfigError, ConfigErrors};
pub use format::Template;
pub use module::Kind;

/// The complete, commented built-in config (`--print-default-config`); a
/// test proves it parses back to [`Config::default`].
pub const DEFAULT_TEXT: &str = include_str!("default.toml");

/// The keys of `[bar]`.
pub const BAR_KEYS: &[&str] = &[
    "position", "layer", "height", "outputs", "margin", "spacing", "padding", "font", "colors",
    "left", "center", "right",
];

/// The keys of `[bar.colors]`.
pub const COLOR_KEYS: &[&str] = &["foreground", "background", "warning", "critical", "accent"];

/// The keys of a `[module.NAME]` table.
pub const MODULE_KEYS: &[&str] = &[
    "format",
    "interval_ms",
    "warning",
    "critical",
    "on_click",
    "on_middle_click",
    "on_right_click",
    "on_scroll_up",
    "on_scroll_down",
    "popup",
    "max_chars",
    "exec",
    "return_type",
    "continuous",
    "timeout_ms",
    "paths",
    "device",
    "step",
    "icons",
];

/// Keys that only some kinds take: (key, the kinds' names).
pub const KIND_KEYS: &[(&str, &[&str])] = &[
    ("max_chars", &["window"]),
    ("exec", &["custom"]),
    ("return_type", &["custom"]),
    ("continuous", &["custom"]),
    ("timeout_ms", &["custom"]),
    ("paths", &["disk"]),
    ("device", &["backlight"]),
    ("step", &["backlight"]),
    ("icons", &["backlight", "idle_inhibitor"]),
];

/// Which screen edge the bar sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Top,
    Bottom,
}

/// The layer-shell layer of the bar's surfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    Background,
    Bottom,
    Top,
    Overlay,
}

/// Which outputs get a bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outputs {
    All,
    Named(Vec<String>),
}

/// Space around the bar, in logical pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Margin {
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
    pub left: u32,
}

/// The text font.
#[derive(Clone, Debug, PartialEq)]
pub struct Font {
    /// A TTF/OTF file; `None` is the embedded font (always the fallback for
    /// glyphs the chosen font lacks).
    pub path: Option<PathBuf>,
    /// Size in logical pixels.
    pub size: f32,
}

/// The palette.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colors {
    pub foreground: Color,
    pub background: Color,
    pub warning: Color,
    pub critical: Color,
    pub accent: Color,
}

/// `[bar]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub position: Position,
    pub layer: Layer,
    /// Logical pixels.
    pub height: u32,
    pub outputs: Outputs,
    pub margin: Margin,
    /// Logical pixels between modules.
    pub spacing: u32,
    /// Logical pixels between the bar's ends and the first/last module.
    pub padding: u32,
    pub font: Font,
    pub colors: Colors,
    /// Module instance names, in drawing order.
    pub left: Vec<String>,
    pub center: Vec<String>,
    pub right: Vec<String>,
}

impl Default for Bar {
    fn default() -> Self {
        Bar {
            position: Position::Top,
            layer: Layer::Top,
            height: 28,
            outputs: Outputs::All,
            margin: Margin::default(),
            spacing: 16,
            padding: 8,
            font: Font {
                path: None,
                size: 14.0,
            },
            colors: Colors {
                foreground: Color::hex(0xcdd6f4ff),
                background: Color::hex(0x1e1e2ee6),
                warning: Color::hex(0xf9e2afff),
                critical: Color::hex(0xf38ba8ff),
                accent: Color::hex(0x89b4faff),
            },
            left: vec![],
            center: vec!["clock".into()],
            right: vec!["health".into()],
        }
    }
}

/// A command run on a pointer action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// An array in the config: the program and its arguments, run directly.
    Exec(Vec<String>),
    /// A string in the config: run with `sh -c`, for pipes and variables.
    Shell(String),
}

/// Levels at which a module changes colour: (placeholder index, value).
pub type Thresholds = Vec<(usize, f64)>;

/// One `[module.NAME]` table, or the built-in defaults of a kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// Instance name as written (`cpu`, `cpu#big`).
    pub name: String,
    pub kind: Kind,
    /// Placeholders resolved against `kind.placeholders()`; empty for the clock.
    pub format: Template,
    /// The clock's strftime format (other kinds: empty).
    pub clock_format: String,
    pub interval_ms: u64,
    pub warning: Thresholds,
    pub critical: Thresholds,
    pub on_click: Option<Action>,
    pub on_middle_click: Option<Action>,
    pub on_right_click: Option<Action>,
    pub on_scroll_up: Option<Action>,
    pub on_scroll_down: Option<Action>,
    pub popup: bool,
    /// window: the longest title shown, in characters.
    pub max_chars: usize,
    /// custom: the command (required).
    pub exec: Option<Action>,
    /// custom: its output is Waybar's JSON rather than plain lines.
    pub json: bool,
    /// custom: one long-running process, every line an update.
    pub continuous: bool,
    /// custom: how long one interval run may take before it is killed.
    pub timeout_ms: u64,
    /// disk: the mount points (any path on the file system) to show, in order.
    pub paths: Vec<String>,
    /// backlight: the `/sys/class/backlight` device to show; `None`: the
    /// one with the largest `max_brightness`.
    pub device: Option<String>,
    /// backlight: percent of the range one scroll step changes.
    pub step: f64,
    /// backlight: the `{icon}` ramp, lowest first.
    pub icons: Vec<String>,
}

impl Module {
    /// The built-in settings of `kind`, under instance `name`.
    pub fn defaults(name: &str, kind: Kind) -> Module {
        let index = |p: &str| kind.placeholders().iter().position(|n| *n == p);
        let (w, c) = kind.default_thresholds();
        let resolve = |list: &[(&str, f64)]| -> Thresholds {
            let mut t: Thresholds = list
                .iter()
                .filter_map(|&(p, v)| Some((index(p)?, v)))
                .collect();
            t.sort_by_key(|&(i, _)| i);
            t
        };
        let is_clock = kind == Kind::Clock;
        Module {
            name: name.to_string(),
            kind,
            format: if is_clock {
                Template::default()
            } else {
                module::default_template(kind)
            },
            clock_format: if is_clock {
                kind.default_format().to_string()
            } else {
                String::new()
            },
            interval_ms: kind.default_interval_ms(),
            warning: resolve(w),
            critical: resolve(c),
            on_click: None,
            on_middle_click: None,
            on_right_click: None,
            on_scroll_up: None,
            on_scroll_down: None,
            popup: kind.default_popup(),
            max_chars: 50,
            exec: None,
            json: false,
            continuous: false,
            timeout_ms: 10_000,
            paths: vec!["/".to_string()],
            device: None,
            step: 5.0,
            icons: module::default_icons(kind)
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// A whole, valid configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub bar: Bar,
    /// Every module the layout lists, resolved (defined or built-in).
    pub modules: Vec<Module>,
}

impl Default for Config {
    fn default() -> Self {
        let bar = Bar::default();
        let modules = layout_names(&bar)
            .filter_map(|n| Some(Module::defaults(n, Kind::from_name(n)?)))
            .collect();
        Config { bar, modules }
    }
}

fn layout_names(bar: &Bar) -> impl Iterator<Item = &str> {
    bar.left
        .iter()
        .chain(&bar.center)
        .chain(&bar.right)
        .map(String::as_str)
}

impl Config {
    /// The module instance called `name`.
    pub fn module(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.name == name)
    }
}

/// The config file to use: `explicit` (`--config`), else
/// `$XDG_CONFIG_HOME/rstat/config.toml`, else `~/.config/rstat/config.toml`.
/// `None` when no file exists there: the built-in defaults apply.
pub fn find(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    candidates().into_iter().flatten().find(|p| p.is_file())
}

/// Where a config file would be looked for first when none exists yet (the
/// XDG location, else the one under `$HOME`): a running bar watches this
/// file's directory so a config created later is picked up.
pub fn default_path() -> Option<PathBuf> {
    candidates().into_iter().flatten().next()
}

fn candidates() -> [Option<PathBuf>; 2] {
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(|d| PathBuf::from(d).join("rstat/config.toml"));
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".config/rstat/config.toml"));
    [xdg, home]
}

/// Where the running bar's config comes from, so a reload reads the same
/// place: `--config PATH`, or the XDG lookup done afresh each time (a file
/// created or deleted since start-up counts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// `--config PATH`.
    pub explicit: Option<PathBuf>,
}

impl Source {
    /// The file to read now; `None`: the built-in defaults apply.
    pub fn file(&self) -> Option<PathBuf> {
        find(self.explicit.as_deref())
    }

    /// Reads the config: the file's (validated) or the defaults when there
    /// is no file. Also returns the file read.
    pub fn load(&self) -> Result<(Config, Option<PathBuf>), ConfigErrors> {
        match self.file() {
            None => Ok((Config::default(), None)),
            Some(p) => load(&p).map(|c| (c, Some(p))),
        }
    }

    /// The file whose directory a running bar watches for changes.
    pub fn watched(&self) -> Option<PathBuf> {
        self.file().or_else(default_path)
    }
}

/// Reads and validates the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let text = std::fs::read(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            message: format!("cannot read the config file: {e}"),
        }])
    })?;
    let text = String::from_utf8(text).map_err(|e| {
        let (line, column) = error::line_col(
            &String::from_utf8_lossy(e.as_bytes()),
            e.utf8_error().valid_up_to(),
        );
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line,
            column,
            message: "the file is not valid UTF-8 (TOML must be)".into(),
        }])
    })?;
    parse(&text, &file, path.parent())
}

/// Validates config `text`; `file` names it in errors, and relative font
/// paths resolve against `dir`.
pub fn parse(text: &str, file: &str, dir: Option<&Path>) -> Result<Config, ConfigErrors> {
    let mut cx = Cx {
        src: text,
        file,
        dir,
        errors: Vec::new(),
    };
    let doc = match DeTable::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            cx.err(span, format!("TOML syntax: {}", e.message().trim()));
            return Err(ConfigErrors(cx.errors));
        }
    };
    let config = cx.config(doc.get_ref());
    if cx.errors.is_empty() {
        Ok(config)
    } else {
        // Tables are walked in key order; users read files top to bottom.
        cx.errors.sort_by_key(|e| (e.line, e.column));
        Err(ConfigErrors(cx.errors))
    }
}

/// Validation state: the source (for positions) and the errors so far.
struct Cx<'a> {
    src: &'a str,
    file: &'a str,
    dir: Option<&'a Path>,
    errors: Vec<ConfigError>,
}

type Val<'i> = Spanned<DeValue<'i>>;

/// Strings of an array with each one's span, for errors that point at it.
type Names = Vec<(String, Range<usize>)>;

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn int_of(v: &DeValue<'_>) -> Option<i64> {
    match v {
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    }
}

impl<'a> Cx<'a> {
    fn err(&mut self, span: Range<usize>, message: String) {
        let (line, column) = error::line_col(self.src, span.start);
        self.errors.push(ConfigError {
            file: self.file.to_string(),
            line,
            column,
            message,
        });
    }

    /// Reports keys of `table` not in `allowed`, with a suggestion.
    fn known_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], at: &str) {
        for (k, _) in table.iter() {
            let key: &str = k.get_ref();
            if !allowed.contains(&key) {
                let hint = suggest::nearest(key, allowed.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_else(|| format!(" (expected one of: {})", allowed.join(", ")));
                self.err(k.span(), format!("unknown key `{key}` in {at}{hint}"));
            }
        }
    }

    fn wrong_type(&mut self, v: &Val<'_>, key: &str, expected: &str) {
        let found = type_name(v.get_ref());
        self.err(
            v.span(),
            format!("`{key}`: expected {expected}, found {found}"),
        );
    }

    fn uint(&mut self, v: &Val<'_>, key: &str, min: u64, max: u64) -> Option<u64> {
        match int_of(v.get_ref()) {
            Some(n) if n >= min as i64 && n <= max as i64 => Some(n as u64),
            Some(n) => {
                self.err(
                    v.span(),
                    format!("`{key}`: {n} is out of range ({min}..={max})"),
                );
                None
            }
            None => {
                self.wrong_type(v, key, &format!("a whole number {min}..={max}"));
                None
            }
        }
    }

    fn float(&mut self, v: &Val<'_>, key: &str, min: f64, max: f64) -> Option<f64> {
        let f = match v.get_ref() {
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            other => int_of(other).map(|i| i as f64),
        };
        match f {
            Some(f) if f.is_finite() && f >= min && f <= max => Some(f),
            Some(f) => {
                self.err(
                    v.span(),
                    format!("`{key}`: {f} is out of range ({min}..={max})"),
                );
                None
            }
            None => {
                self.wrong_type(v, key, "a number");
                None
            }
        }
    }

    fn string<'v>(&mut self, v: &'v Val<'_>, key: &str) -> Option<&'v str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.wrong_type(v, key, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, v: &Val<'_>, key: &str) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(v, key, "true or false");
                None
            }
        }
    }

    fn choice<T: Copy>(&mut self, v: &Val<'_>, key: &str, options: &[(&str, T)]) -> Option<T> {
        let s = self.string(v, key)?;
        if let Some(&(_, t)) = options.iter().find(|(n, _)| *n == s) {
            return Some(t);
        }
        let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
        self.err(
            v.span(),
            format!("`{key}`: `{s}` is not one of {}", names.join(", ")),
        );
        None
    }

    fn color(&mut self, v: &Val<'_>, key: &str) -> Option<Color> {
        let s = self.string(v, key)?;
        let c = Color::parse(s);
        if c.is_none() {
            self.err(
                v.span(),
                format!("`{key}`: `{s}` is not a colour (expected #rgb, #rrggbb or #rrggbbaa)"),
            );
        }
        c
    }

    fn table<'v, 'i>(&mut self, v: &'v Val<'i>, key: &str) -> Option<&'v DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(v, key, "a table");
                None
            }
        }
    }

    fn string_list(&mut self, v: &Val<'_>, key: &str) -> Option<Names> {
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(v, key, "an array of strings");
            return None;
        };
        let mut out = Vec::new();
        for item in items.iter() {
            if let Some(s) = self.string(item, key) {
                out.push((s.to_string(), item.span()));
            }
        }
        Some(out)
    }

    fn config(&mut self, doc: &DeTable<'_>) -> Config {
        self.known_keys(doc, &["bar", "module"], "the top level");
        let mut bar = Bar::default();
        let mut layout_spans: Vec<(String, Range<usize>, &'static str)> = Vec::new();
        let mut explicit_layout = false;
        if let Some((_, v)) = doc.iter().find(|(k, _)| k.get_ref() == "bar") {
            if let Some(t) = self.table(v, "bar") {
                explicit_layout = self.bar(t, &mut bar, &mut layout_spans);
            }
        }
        let mut defined: Vec<(Module, Range<usize>)> = Vec::new();
        if let Some((_, v)) = doc.iter().find(|(k, _)| k.get_ref() == "module") {
            if let Some(t) = self.table(v, "module") {
                for (name, body) in t.iter() {
                    if let Some(m) = self.module(name, body) {
                        defined.push((m, name.span()));
                    }
                }
            }
        }
        if !explicit_layout {
            layout_spans = layout_names(&bar)
                .map(|n| (n.to_string(), 0..0, "layout"))
                .collect();
        }
        // Resolve the layout: defined instances, else a kind's defaults.
        let mut modules: Vec<Module> = Vec::new();
        for (name, span, side) in &layout_spans {
            if modules.iter().any(|m| &m.name == name) {
                self.err(
                    span.clone(),
                    format!(
                        "`{side}`: `{name}` is listed twice (use `{name}#2` for a second instance)"
                    ),
                );
                continue;
            }
            if let Some((m, def)) = defined.iter().find(|(m, _)| &m.name == name) {
                if m.kind == Kind::Custom && m.exec.is_none() {
                    self.err(
                        def.clone(),
                        format!(
                            "[module.\"{name}\"]: a custom module needs `exec`, the command to run"
                        ),
                    );
                }
                modules.push(m.clone());
            } else if let Some(kind) = Kind::from_name(name) {
                if kind == Kind::Custom {
                    self.err(
                        span.clone(),
                        format!("`{side}` lists `{name}`: a custom module needs a [module.\"{name}\"] table with `exec`"),
                    );
                }
                modules.push(Module::defaults(name, kind));
            } else {
                let defined_names = defined.iter().map(|(m, _)| m.name.as_str());
                let kinds = module::KINDS.iter().map(|(n, _)| *n);
                let hint = suggest::nearest(name, defined_names.chain(kinds))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.err(
                    span.clone(),
                    format!("`{side}` lists `{name}`, but no [module.\"{name}\"] table defines it and it is not a module kind{hint}"),
                );
            }
        }
        Config { bar, modules }
    }

    /// Fills `bar` from `[bar]`; returns whether the table set the layout.
    fn bar(
        &mut self,
        t: &DeTable<'_>,
        bar: &mut Bar,
        layout: &mut Vec<(String, Range<usize>, &'static str)>,
    ) -> bool {
        self.known_keys(t, BAR_KEYS, "[bar]");
        let mut sides: [Option<Names>; 3] = [None, None, None];
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            match key {
                "position" => {
                    if let Some(p) = self.choice(
                        v,
                        "bar.position",
                        &[("top", Position::Top), ("bottom", Position::Bottom)],
                    ) {
                        bar.position = p;
                    }
                }
                "layer" => {
                    let opts = [
                        ("background", Layer::Background),
                        ("bottom", Layer::Bottom),
                        ("top", Layer::Top),
                        ("overlay", Layer::Overlay),
                    ];
                    if let Some(l) = self.choice(v, "bar.layer", &opts) {
                        bar.layer = l;
                    }
                }
                "height" => {
                    if let Some(h) = self.uint(v, "bar.height", 8, 512) {
                        bar.height = h as u32;
                    }
                }
                "spacing" => {
                    if let Some(s) = self.uint(v, "bar.spacing", 0, 512) {
                        bar.spacing = s as u32;
                    }
                }
                "padding" => {
                    if let Some(s) = self.uint(v, "bar.padding", 0, 512) {
                        bar.padding = s as u32;
                    }
                }
                "outputs" => {
                    if let Some(list) = self.string_list(v, "bar.outputs") {
                        bar.outputs = if list.is_empty() || list.iter().any(|(n, _)| n == "*") {
                            Outputs::All
                        } else {
                            Outputs::Named(list.into_iter().map(|(n, _)| n).collect())
                        };
                    }
                }
                "margin" => self.margin(v, &mut bar.margin),
                "font" => self.font(v, &mut bar.font),
                "colors" => self.colors(v, &mut bar.colors),
                "left" | "center" | "right" => {
                    let i = ["left", "center", "right"]
                        .iter()
                        .position(|s| *s == key)
                        .unwrap_or(0);
                    sides[i] = self.string_list(v, &format!("bar.{key}"));
                }
                _ => {}
            }
        }
        let explicit = sides.iter().any(Option::is_some);
        if explicit {
            let [l, c, r] = sides;
            let (l, c, r) = (
                l.unwrap_or_default(),
                c.unwrap_or_default(),
                r.unwrap_or_default(),
            );
            bar.left = l.iter().map(|(n, _)| n.clone()).collect();
            bar.center = c.iter().map(|(n, _)| n.clone()).collect();
            bar.right = r.iter().map(|(n, _)| n.clone()).collect();
            for (list, side) in [(l, "bar.left"), (c, "bar.center"), (r, "bar.right")] {
                layout.extend(list.into_iter().map(|(n, s)| (n, s, side)));
            }
        }
        explicit
    }

    fn margin(&mut self, v: &Val<'_>, m: &mut Margin) {
        if let DeValue::Integer(_) = v.get_ref() {
            if let Some(n) = self.uint(v, "bar.margin", 0, 1000) {
                let n = n as u32;
                *m = Margin {
                    top: n,
                    right: n,
                    bottom: n,
                    left: n,
                };
            }
            return;
        }
        let DeValue::Table(t) = v.get_ref() else {
            self.wrong_type(
                v,
                "bar.margin",
                "a whole number or a table {top, right, bottom, left}",
            );
            return;
        };
        self.known_keys(t, &["top", "right", "bottom", "left"], "bar.margin");
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            let slot = match key {
                "top" => &mut m.top,
                "right" => &mut m.right,
                "bottom" => &mut m.bottom,
                "left" => &mut m.left,
                _ => continue,
            };
            if let Some(n) = self.uint(v, &format!("bar.margin.{key}"), 0, 1000) {
                *slot = n as u32;
            }
        }
    }

    fn font(&mut self, v: &Val<'_>, font: &mut Font) {
        let Some(t) = self.table(v, "bar.font") else {
            return;
        };
        self.known_keys(t, &["path", "size"], "bar.font");
        for (k, v) in t.iter() {
            match k.get_ref().as_ref() {
                "size" => {
                    if let Some(s) = self.float(v, "bar.font.size", 4.0, 256.0) {
                        font.size = s as f32;
                    }
                }
                "path" => {
                    let Some(p) = self.string(v, "bar.font.path") else {
                        continue;
                    };
                    if p.is_empty() {
                        font.path = None;
                        continue;
                    }
                    let path = expand_home(p);
                    let path = match self.dir {
                        Some(d) if path.is_relative() => d.join(path),
                        _ => path,
                    };
                    match std::fs::read(&path) {
                        Err(e) => self.err(
                            v.span(),
                            format!("`bar.font.path`: cannot read {}: {e}", path.display()),
                        ),
                        Ok(bytes) => match check_font(&bytes) {
                            Ok(()) => font.path = Some(path),
                            Err(why) => self.err(
                                v.span(),
                                format!(
                                    "`bar.font.path`: {} is not a usable font: {why}",
                                    path.display()
                                ),
                            ),
                        },
                    }
                }
                _ => {}
            }
        }
    }

    fn colors(&mut self, v: &Val<'_>, c: &mut Colors) {
        let Some(t) = self.table(v, "bar.colors") else {
            return;
        };
        self.known_keys(t, COLOR_KEYS, "bar.colors");
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            let slot = match key {
                "foreground" => &mut c.foreground,
                "background" => &mut c.background,
                "warning" => &mut c.warning,
                "critical" => &mut c.critical,
                "accent" => &mut c.accent,
                _ => continue,
            };
            if let Some(col) = self.color(v, &format!("bar.colors.{key}")) {
                *slot = col;
            }
        }
    }

    fn module(
        &mut self,
        name: &Spanned<std::borrow::Cow<'_, str>>,
        body: &Val<'_>,
    ) -> Option<Module> {
        let full: &str = name.get_ref();
        let kind_name = full.split_once('#').map_or(full, |(k, _)| k);
        let Some(kind) = Kind::from_name(kind_name) else {
            let hint = suggest::nearest(kind_name, module::KINDS.iter().map(|(n, _)| *n))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_else(|| {
                    let all: Vec<&str> = module::KINDS.iter().map(|(n, _)| *n).collect();
                    format!(" (module kinds: {})", all.join(", "))
                });
            self.err(
                name.span(),
                format!("[module.\"{full}\"]: unknown module kind `{kind_name}`{hint}"),
            );
            return None;
        };
        let at = format!("[module.\"{full}\"]");
        let t = self.table(body, &format!("module.{full}"))?;
        self.known_keys(t, MODULE_KEYS, &at);
        let mut m = Module::defaults(full, kind);
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            let qkey = format!("module.{full}.{key}");
            if let Some((_, kinds)) = KIND_KEYS.iter().find(|(n, _)| *n == key) {
                if !kinds.contains(&kind.name()) {
                    self.err(
                        k.span(),
                        format!("`{qkey}`: only {} modules take `{key}`", kinds.join(", ")),
                    );
                    continue;
                }
            }
            match key {
                "max_chars" => {
                    if let Some(n) = self.uint(v, &qkey, 1, 1000) {
                        m.max_chars = n as usize;
                    }
                }
                "exec" => m.exec = self.action(v, &qkey),
                "return_type" => {
                    if let Some(j) = self.choice(v, &qkey, &[("plain", false), ("json", true)]) {
                        m.json = j;
                    }
                }
                "continuous" => {
                    if let Some(b) = self.boolean(v, &qkey) {
                        m.continuous = b;
                    }
                }
                "timeout_ms" => {
                    if let Some(n) = self.uint(v, &qkey, 100, 3_600_000) {
                        m.timeout_ms = n;
                    }
                }
                "paths" | "icons" => {
                    let Some(list) = self.string_list(v, &qkey) else {
                        continue;
                    };
                    if list.is_empty() || list.len() > 16 {
                        self.err(v.span(), format!("`{qkey}`: expected 1 to 16 entries"));
                        continue;
                    }
                    if let Some((_, span)) = list.iter().find(|(s, _)| s.is_empty()) {
                        self.err(span.clone(), format!("`{qkey}`: an empty entry"));
                        continue;
                    }
                    let list = list.into_iter().map(|(s, _)| s).collect();
                    if key == "paths" {
                        m.paths = list;
                    } else {
                        m.icons = list;
                    }
                }
                "device" => {
                    let Some(d) = self.string(v, &qkey) else {
                        continue;
                    };
                    if d.is_empty() || d.contains('/') || d == "." || d == ".." {
                        self.err(
                            v.span(),
                            format!("`{qkey}`: `{d}` is not a device name in /sys/class/backlight"),
                        );
                    } else {
                        m.device = Some(d.to_string());
                    }
                }
                "step" => {
                    if let Some(f) = self.float(v, &qkey, 0.1, 100.0) {
                        m.step = f;
                    }
                }
                "format" => {
                    let Some(f) = self.string(v, &qkey) else {
                        continue;
                    };
                    if kind == Kind::Clock {
                        match module::check_clock_format(f) {
                            Ok(()) => m.clock_format = f.to_string(),
                            Err((off, why)) => self.err(
                                string_offset(self.src, v.span(), off),
                                format!("`{qkey}`: {why}"),
                            ),
                        }
                    } else {
                        match Template::parse(f, kind.placeholders()) {
                            Ok(t) => m.format = t,
                            Err(e) => {
                                let span = string_offset(self.src, v.span(), e.offset);
                                self.err(span, format!("`{qkey}`: {}", e.message));
                            }
                        }
                    }
                }
                "interval_ms" => {
                    if let Some(n) = self.uint(v, &qkey, 100, 86_400_000) {
                        m.interval_ms = n;
                    }
                }
                "warning" | "critical" => {
                    if let Some(th) = self.thresholds(v, &qkey, kind) {
                        if key == "warning" {
                            m.warning = th;
                        } else {
                            m.critical = th;
                        }
                    }
                }
                "popup" => {
                    if let Some(b) = self.boolean(v, &qkey) {
                        m.popup = b;
                    }
                }
                "on_click" | "on_middle_click" | "on_right_click" | "on_scroll_up"
                | "on_scroll_down" => {
                    let action = self.action(v, &qkey);
                    let slot = match key {
                        "on_click" => &mut m.on_click,
                        "on_middle_click" => &mut m.on_middle_click,
                        "on_right_click" => &mut m.on_right_click,
                        "on_scroll_up" => &mut m.on_scroll_up,
                        _ => &mut m.on_scroll_down,
                    };
                    if action.is_some() {
                        *slot = action;
                    }
                }
                // Unknown keys were reported by `known_keys`.
                _ => {}
            }
        }
        Some(m)
    }

    /// A bare number (for the kind's main value) or a table of
    /// placeholder = number.
    fn thresholds(&mut self, v: &Val<'_>, key: &str, kind: Kind) -> Option<Thresholds> {
        let names = kind.placeholders();
        let index = |p: &str| names.iter().position(|n| *n == p);
        if let DeValue::Table(t) = v.get_ref() {
            let mut out = Vec::new();
            for (k, val) in t.iter() {
                let p: &str = k.get_ref();
                match index(p) {
                    Some(i) => {
                        if let Some(f) = self.float(val, &format!("{key}.{p}"), -1e12, 1e12) {
                            out.push((i, f));
                        }
                    }
                    None => {
                        let hint = suggest::nearest(p, names.iter().copied())
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default();
                        self.err(
                            k.span(),
                            format!("`{key}`: `{p}` is not a placeholder of this module{hint}"),
                        );
                    }
                }
            }
            out.sort_by_key(|&(i, _)| i);
            return Some(out);
        }
        let Some(primary) = kind.primary().and_then(index) else {
            self.err(
                v.span(),
                format!("`{key}`: this module has no value to compare"),
            );
            return None;
        };
        let f = self.float(v, key, -1e12, 1e12)?;
        Some(vec![(primary, f)])
    }

    fn action(&mut self, v: &Val<'_>, key: &str) -> Option<Action> {
        match v.get_ref() {
            DeValue::String(s) if s.trim().is_empty() => {
                self.err(v.span(), format!("`{key}`: the command is empty"));
                None
            }
            DeValue::String(s) => Some(Action::Shell(s.to_string())),
            DeValue::Array(_) => {
                let argv: Vec<String> = self
                    .string_list(v, key)?
                    .into_iter()
                    .map(|(s, _)| s)
                    .collect();
                if argv.first().is_none_or(|p| p.is_empty()) {
                    self.err(v.span(), format!("`{key}`: the command is empty"));
                    return None;
                }
                Some(Action::Exec(argv))
            }
            _ => {
                self.wrong_type(
                    v,
                    key,
                    "a command: an array [\"program\", \"arg\", …] or a shell string",
                );
                None
            }
        }
    }
}

/// The span of the character `offset` bytes into the string value whose
/// literal spans `span` (so format errors point inside the string). Falls
/// back to the literal's start when the literal has escapes.
fn string_offset(src: &str, span: Range<usize>, offset: usize) -> Range<usize> {
    let lit = src.get(span.clone()).unwrap_or("");
    let quote = if lit.starts_with("\"\"\"") || lit.starts_with("'''") {
        3
    } else {
        1
    };
    if lit.contains('\\') {
        return span;
    }
    let at = span.start + quote + offset;
    at..at
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// Whether `bytes` is a font fontdue can draw with.
pub fn check_font(bytes: &[u8]) -> Result<(), String> {
    fontdue::Font::from_bytes(bytes, fontdue::FontSettings::default())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;

//! The config file: types, built-in defaults, validation with positions.
//!
//! TOML, read rarely (start-up and reload), never per tick. The file is
//! parsed into a spanned document and walked by hand, so every error can name
//! the file, line, column and key, suggest the nearest valid name, and all
//! problems are reported at once.

pub mod color;
pub mod error;
pub mod format;
pub mod group;
pub mod kind;
pub mod module;
pub mod state;
pub mod style;
pub mod suggest;

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub use color::Color;
pub use error::{ConfigError, ConfigErrors};
pub use format::Template;
pub use group::Group;
pub use kind::{Key, KeyType, KindDef, Opt};
pub use module::{Module, MODULE_KEYS};

/// The complete, commented built-in config (`--print-default-config`); a
/// test proves it parses back to the built-in config.
pub const DEFAULT_TEXT: &str = include_str!("default.toml");

/// The keys of `[bar]`.
pub const BAR_KEYS: &[&str] = &[
    "position", "layer", "height", "outputs", "margin", "spacing", "padding", "font", "colors",
    "left", "center", "right", "style",
];

/// The keys of `[bar.colors]`.
pub const COLOR_KEYS: &[&str] = &["foreground", "background", "warning", "critical", "accent"];

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

/// The keys of `bar.font`.
pub const FONT_KEYS: &[&str] = &["family", "path", "index", "size", "weight"];

/// The text font.
#[derive(Clone, Debug, PartialEq)]
pub struct Font {
    /// Families (or fontconfig aliases such as `monospace`) in order of
    /// preference; empty with no `path` is the embedded font.
    pub family: Vec<String>,
    /// A TTF/OTF/TTC file, tried before the families; `None`: none. The
    /// embedded font is always the last fallback.
    pub path: Option<PathBuf>,
    /// Face index in a collection file.
    pub index: u32,
    /// OS/2 weight, 100..=900 (400 normal, 700 bold).
    pub weight: u16,
    /// Size in logical pixels.
    pub size: f32,
    /// An italic (or oblique) face is wanted (a Pango description's
    /// `Italic`).
    pub italic: bool,
    /// OS/2 width class wanted, 1..=9 (5 normal, 3 condensed); 0: not said.
    pub width: u16,
}

impl Default for Font {
    fn default() -> Font {
        Font {
            family: Vec::new(),
            path: None,
            index: 0,
            weight: 400,
            size: 14.0,
            italic: false,
            width: 0,
        }
    }
}

/// A Pango font description (`"Sans Bold 12"`, what Waybar and Sway
/// configs hold), read as `pango_font_description_from_string` reads it:
/// from the end, a size (points, or pixels with `px`), then style words;
/// what is left is the comma-separated family list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FontDescription {
    /// Families in order.
    pub families: Vec<String>,
    /// Weight, when a weight word was given.
    pub weight: Option<u16>,
    /// Size in logical pixels (points at 96 dpi: 12 pt is 16 px).
    pub size: Option<f32>,
    /// `Italic` or `Oblique` (`Roman` or `Normal`: upright).
    pub italic: Option<bool>,
    /// OS/2 width class, when a stretch word was given.
    pub width: Option<u16>,
}

/// Pango's weight words (`-` optional), as `pango/fonts.c` lists them.
const PANGO_WEIGHTS: &[(&str, u16)] = &[
    ("thin", 100),
    ("ultralight", 200),
    ("extralight", 200),
    ("light", 300),
    ("semilight", 350),
    ("demilight", 350),
    ("book", 380),
    ("regular", 400),
    ("medium", 500),
    ("semibold", 600),
    ("demibold", 600),
    ("bold", 700),
    ("ultrabold", 800),
    ("extrabold", 800),
    ("heavy", 900),
    ("black", 900),
    ("ultraheavy", 900),
    ("extraheavy", 900),
];

/// Pango's stretch words, as OS/2 width classes.
const PANGO_STRETCHES: &[(&str, u16)] = &[
    ("ultracondensed", 1),
    ("extracondensed", 2),
    ("condensed", 3),
    ("semicondensed", 4),
    ("semiexpanded", 6),
    ("expanded", 7),
    ("extraexpanded", 8),
    ("ultraexpanded", 9),
];

/// Pango's variant and gravity words: understood, not drawn by rstat.
const PANGO_UNSUPPORTED: &[&str] = &[
    "smallcaps",
    "allsmallcaps",
    "petitecaps",
    "allpetitecaps",
    "unicase",
    "titlecaps",
    "notrotated",
    "south",
    "upsidedown",
    "north",
    "rotatedleft",
    "east",
    "rotatedright",
    "west",
];

impl FontDescription {
    /// Reads `text` (a leading `pango:`, as Sway writes it, is dropped). A
    /// plain family name (no trailing size or style word) is one family. An
    /// error names the word rstat cannot honour.
    pub fn parse(text: &str) -> Result<FontDescription, String> {
        let text = text.trim();
        let text = text.strip_prefix("pango:").unwrap_or(text).trim();
        let mut d = FontDescription::default();
        let mut rest = text;
        // The size: only the last word can be one.
        if let Some((head, last)) = split_last_word(rest) {
            let (num, px) = match last.strip_suffix("px") {
                Some(n) => (n, true),
                None => (last, false),
            };
            if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                let n: f64 = num.parse().map_err(|_| format!("`{last}` is not a size"))?;
                let size = if px { n } else { n * 96.0 / 72.0 };
                if !(4.0..=256.0).contains(&size) {
                    return Err(format!(
                        "`{text}` ends in the size {last} ({size:.1} px; 4 to 256 px are drawn); to name a family whose name ends in a number, end it with a comma: \"{text},\""
                    ));
                }
                d.size = Some(size as f32);
                rest = head;
            }
        }
        // Style words, from the end, until one is not.
        while let Some((head, last)) = split_last_word(rest) {
            let w = last.to_ascii_lowercase().replace('-', "");
            if let Some(&(_, n)) = PANGO_WEIGHTS.iter().find(|(k, _)| *k == w) {
                d.weight = Some(n);
            } else if let Some(&(_, n)) = PANGO_STRETCHES.iter().find(|(k, _)| *k == w) {
                d.width = Some(n);
            } else if w == "italic" || w == "oblique" {
                d.italic = Some(true);
            } else if w == "roman" {
                d.italic = Some(false);
            } else if w == "normal" {
                // Pango: normal style, weight and stretch at once.
                d.italic.get_or_insert(false);
                d.weight.get_or_insert(400);
                d.width.get_or_insert(5);
            } else if PANGO_UNSUPPORTED.contains(&w.as_str()) {
                return Err(format!(
                    "`{last}` (a Pango variant or gravity) is not drawn by rstat; leave it out"
                ));
            } else {
                break;
            }
            rest = head;
        }
        d.families = rest
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        Ok(d)
    }
}

/// `text` without its last whitespace-separated word, and that word; `None`
/// when nothing follows a final comma (the family list's end: no word).
fn split_last_word(text: &str) -> Option<(&str, &str)> {
    let text = text.trim_end();
    let (head, last) = match text.rfind(|c: char| c.is_whitespace() || c == ',') {
        Some(at) => (&text[..at + 1], &text[at + 1..]),
        None => ("", text),
    };
    (!last.is_empty()).then_some((head, last))
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

/// The layout of a config that sets none, Waybar's for a Sway or Hyprland
/// user: workspaces and the binding mode at the left, the window title in
/// the centre, then whatever the machine has of sound, network, health,
/// backlight, battery and tray, and the clock (modules whose source is
/// absent show nothing).
pub const DEFAULT_LEFT: &[&str] = &["workspaces", "mode"];
/// See [`DEFAULT_LEFT`].
pub const DEFAULT_CENTER: &[&str] = &["window"];
/// See [`DEFAULT_LEFT`].
pub const DEFAULT_RIGHT: &[&str] = &[
    "audio",
    "network",
    "health",
    "backlight",
    "battery",
    "tray",
    "clock",
];

/// `[bar]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub position: Position,
    pub layer: Layer,
    /// Logical pixels.
    pub height: u32,
    /// `height` was given: the bar keeps it even when a module's larger
    /// font would need more (that text is centred and clipped); without
    /// it the bar grows to fit its tallest font.
    pub height_set: bool,
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
    /// `[bar.style]`: every module's defaults, with per-state tables.
    pub style: style::Styles,
    /// `[bar.style.bar]`: the bar's own box (background, border, radius,
    /// margin, opacity, underline); its margin, when set, replaces
    /// `margin`.
    pub frame: style::StyleSpec,
    /// The family lists named by style `font` tables anywhere in the file,
    /// each once: a style's `FontPatch::family` k names entry k − 1.
    pub style_families: Vec<Vec<String>>,
}

impl Default for Bar {
    fn default() -> Self {
        Bar {
            position: Position::Top,
            layer: Layer::Top,
            height: 28,
            height_set: false,
            outputs: Outputs::All,
            margin: Margin::default(),
            spacing: 16,
            padding: 8,
            font: Font::default(),
            colors: Colors {
                foreground: Color::hex(0xcdd6f4ff),
                background: Color::hex(0x1e1e2ee6),
                warning: Color::hex(0xf9e2afff),
                critical: Color::hex(0xf38ba8ff),
                accent: Color::hex(0x89b4faff),
            },
            style_families: Vec::new(),
            left: DEFAULT_LEFT.iter().map(|s| s.to_string()).collect(),
            center: DEFAULT_CENTER.iter().map(|s| s.to_string()).collect(),
            right: DEFAULT_RIGHT.iter().map(|s| s.to_string()).collect(),
            style: style::Styles::default(),
            frame: style::StyleSpec::default(),
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

/// A whole, valid configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub bar: Bar,
    /// Every module the layout lists, resolved (defined or built-in);
    /// a group's members too.
    pub modules: Vec<Module>,
    /// The groups the layout lists.
    pub groups: Vec<Group>,
}

impl Config {
    /// The built-in config, its modules drawn from `kinds`.
    pub fn defaults(kinds: &[&'static KindDef]) -> Config {
        let bar = Bar::default();
        let modules = layout_names(&bar)
            .filter_map(|n| Some(Module::defaults(n, kind::find(kinds, n)?)))
            .collect();
        Config {
            bar,
            modules,
            groups: Vec::new(),
        }
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

    /// The group called `name` (`group#NAME`), if the layout lists it.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
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
#[derive(Clone, Debug, Default)]
pub struct Source {
    /// `--config PATH`.
    pub explicit: Option<PathBuf>,
    /// The module kinds a config may use (the registry's).
    pub kinds: Kinds,
    /// The config used when there is no file (the registry's built-in
    /// layout and theme); `None`: [`Config::defaults`].
    pub builtin: Option<fn() -> Config>,
}

/// The module kinds a config may name: the registry's list, handed down so
/// this machinery knows no particular kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Kinds(pub Vec<&'static KindDef>);

impl Source {
    /// The file to read now; `None`: the built-in defaults apply.
    pub fn file(&self) -> Option<PathBuf> {
        find(self.explicit.as_deref())
    }

    /// Reads the config: the file's (validated) or the built-in one when
    /// there is no file. Also returns the file read.
    pub fn load(&self) -> Result<(Config, Option<PathBuf>), ConfigErrors> {
        match self.file() {
            None => Ok((
                self.builtin
                    .map_or_else(|| Config::defaults(&self.kinds.0), |f| f()),
                None,
            )),
            Some(p) => load(&p, &self.kinds.0).map(|c| (c, Some(p))),
        }
    }

    /// The file whose directory a running bar watches for changes.
    pub fn watched(&self) -> Option<PathBuf> {
        self.file().or_else(default_path)
    }
}

/// The largest config file read (a real one is a few KiB).
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Reads a config file without ever blocking or reading without bound: it
/// must be a regular file (a FIFO would block the bar forever, `/dev/zero`
/// would fill its memory) of at most [`MAX_CONFIG_BYTES`].
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO with no writer returns at once.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("cannot read the config file: {e}"))?;
    let meta = f
        .metadata()
        .map_err(|e| format!("cannot read the config file: {e}"))?;
    if !meta.is_file() {
        return Err("the config is not a regular file (a FIFO, a device or a directory)".into());
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(format!(
            "the config file is {} KiB, over the {} KiB a config may be",
            meta.len() / 1024,
            MAX_CONFIG_BYTES / 1024
        ));
    }
    let mut text = Vec::with_capacity(meta.len() as usize);
    // Bounded even if the file grows while it is read.
    f.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read the config file: {e}"))?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!(
            "the config file grew past {} KiB while it was read",
            MAX_CONFIG_BYTES / 1024
        ));
    }
    Ok(text)
}

/// Reads and validates the file at `path`, whose modules are of `kinds`.
pub fn load(path: &Path, kinds: &[&'static KindDef]) -> Result<Config, ConfigErrors> {
    let file = path.display().to_string();
    let text = read_bounded(path).map_err(|message| {
        ConfigErrors(vec![ConfigError {
            file: file.clone(),
            line: 0,
            column: 0,
            message,
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
    parse_with(&text, &file, path.parent(), kinds)
}

/// Validates config `text`, whose modules are of `kinds`; `file` names it in
/// errors, and relative font paths resolve against `dir`.
pub fn parse_with(
    text: &str,
    file: &str,
    dir: Option<&Path>,
    kinds: &[&'static KindDef],
) -> Result<Config, ConfigErrors> {
    let mut cx = Cx {
        src: text,
        file,
        dir,
        kinds,
        errors: Vec::new(),
        found: Vec::new(),
        positions: error::Positions::new(text),
        unlisted: 0,
        families: Vec::new(),
    };
    let doc = match DeTable::parse(text) {
        Ok(d) => d,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            cx.err(span, format!("TOML syntax: {}", e.message().trim()));
            cx.finish_errors();
            return Err(ConfigErrors(cx.errors));
        }
    };
    let config = cx.config(doc.get_ref());
    if cx.found.is_empty() {
        Ok(config)
    } else {
        // Tables are walked in key order; users read files top to bottom.
        cx.finish_errors();
        Err(ConfigErrors(cx.errors))
    }
}

/// Validation state: the source (for positions) and the errors so far.
struct Cx<'a> {
    src: &'a str,
    file: &'a str,
    dir: Option<&'a Path>,
    kinds: &'a [&'static KindDef],
    /// The errors, once [`Cx::finish_errors`] has placed them.
    errors: Vec<ConfigError>,
    /// The errors found so far: byte offset and message.
    found: Vec<(usize, String)>,
    /// Line and column of an offset, from one pass over the source.
    positions: error::Positions<'a>,
    /// Errors found past [`MAX_ERRORS`], counted but not listed.
    unlisted: usize,
    /// The family lists style `font` tables name, each once (see
    /// [`Bar::style_families`]).
    families: Vec<Vec<String>>,
}

/// The most errors one file reports; past them only a count.
pub const MAX_ERRORS: usize = 100;

type Val<'i> = Spanned<DeValue<'i>>;

/// Strings of an array with each one's span, for errors that point at it.
type Names = Vec<(String, Range<usize>)>;

/// Layout names with their spans and the place that lists them.
type Placed = Vec<(String, Range<usize>, String)>;

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
    pub(crate) fn err(&mut self, span: Range<usize>, message: String) {
        // The first MAX_ERRORS in the file are kept, whatever order the
        // walk finds them in; positions are worked out once at the end.
        self.found.push((span.start, message));
        if self.found.len() > MAX_ERRORS {
            self.unlisted += 1;
            if let Some((i, _)) = self.found.iter().enumerate().max_by_key(|(_, e)| e.0) {
                self.found.swap_remove(i);
            }
        }
    }

    /// Whether an error at `offset` would be among those listed (so worth
    /// the work of a suggestion).
    fn may_list(&self, offset: usize) -> bool {
        self.found.len() < MAX_ERRORS || self.found.iter().any(|e| e.0 > offset)
    }

    /// The errors kept, in file order, with their line and column.
    fn finish_errors(&mut self) {
        self.found.sort_by_key(|e| e.0);
        for (offset, message) in std::mem::take(&mut self.found) {
            let (line, column) = self.positions.line_col(offset);
            self.errors.push(ConfigError {
                file: self.file.to_string(),
                line,
                column,
                message,
            });
        }
        if self.unlisted > 0 {
            self.errors.push(ConfigError {
                file: self.file.to_string(),
                line: 0,
                column: 0,
                message: format!(
                    "{} more errors not listed (the first {MAX_ERRORS} are above)",
                    self.unlisted
                ),
            });
        }
    }

    /// Reports keys of `table` not in `allowed`, with a suggestion.
    fn known_keys(&mut self, table: &DeTable<'_>, allowed: &[&str], at: &str) {
        for (k, _) in table.iter() {
            let key: &str = k.get_ref();
            if !allowed.contains(&key) {
                if !self.may_list(k.span().start) {
                    self.err(k.span(), String::new());
                    continue;
                }
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
        let mut layout_spans: Placed = Vec::new();
        let mut explicit_layout = false;
        if let Some((_, v)) = doc.iter().find(|(k, _)| k.get_ref() == "bar") {
            if let Some(t) = self.table(v, "bar") {
                explicit_layout = self.bar(t, &mut bar, &mut layout_spans);
            }
        }
        let mut defined: Vec<(Module, Range<usize>)> = Vec::new();
        let mut groups: Vec<(Group, Names)> = Vec::new();
        if let Some((_, v)) = doc.iter().find(|(k, _)| k.get_ref() == "module") {
            if let Some(t) = self.table(v, "module") {
                for (name, body) in t.iter() {
                    if group::is_group(name.get_ref()) {
                        if let Some((g, members)) = self.group(name.get_ref(), body) {
                            groups.push((g, members));
                        }
                        continue;
                    }
                    if let Some(m) = self.module(name, body) {
                        defined.push((m, name.span()));
                    }
                }
            }
        }
        if !explicit_layout {
            layout_spans = layout_names(&bar)
                .map(|n| (n.to_string(), 0..0, "layout".to_string()))
                .collect();
        }
        let (layout_spans, used_groups) = self.expand_groups(layout_spans, groups);
        // Resolve the layout: defined instances, else a kind's defaults.
        // Looked up by name in maps: a layout of 100,000 entries is linear.
        let mut modules: Vec<Module> = Vec::new();
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut by_name: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, (m, _)) in defined.iter().enumerate() {
            by_name.entry(m.name.as_str()).or_insert(i);
        }
        for (name, span, side) in &layout_spans {
            if !seen.insert(name.as_str()) {
                self.err(
                    span.clone(),
                    format!(
                        "`{side}`: `{name}` is listed twice (use `{name}#2` for a second instance)"
                    ),
                );
                continue;
            }
            if let Some((m, def)) = by_name.get(name.as_str()).map(|&i| &defined[i]) {
                if let Some(k) = m.missing_key() {
                    self.err(
                        def.clone(),
                        format!(
                            "[module.\"{name}\"]: a {} module needs `{}`, {}",
                            m.kind.name, k.name, k.doc
                        ),
                    );
                }
                modules.push(m.clone());
            } else if let Some(kind) = kind::find(self.kinds, name) {
                let m = Module::defaults(name, kind);
                if let Some(k) = m.missing_key() {
                    self.err(
                        span.clone(),
                        format!("`{side}` lists `{name}`: a {} module needs a [module.\"{name}\"] table with `{}`", kind.name, k.name),
                    );
                }
                modules.push(m);
            } else if !self.may_list(span.start) {
                // Past the listed errors: counted, not worded.
                self.err(span.clone(), String::new());
            } else {
                let defined_names = defined.iter().map(|(m, _)| m.name.as_str());
                let kinds = self.kinds.iter().map(|k| k.name);
                let hint = suggest::nearest(name, defined_names.chain(kinds))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.err(
                    span.clone(),
                    format!("`{side}` lists `{name}`, but no [module.\"{name}\"] table defines it and it is not a module kind{hint}"),
                );
            }
        }
        bar.style_families = std::mem::take(&mut self.families);
        Config {
            bar,
            modules,
            groups: used_groups,
        }
    }

    /// Replaces each `group#NAME` of the layout by its members (with the
    /// group's name as their place, for errors); the groups used, in layout
    /// order. A group the file does not define, or one inside another, is an
    /// error.
    fn expand_groups(
        &mut self,
        layout: Placed,
        mut groups: Vec<(Group, Names)>,
    ) -> (Placed, Vec<Group>) {
        let mut out = Vec::with_capacity(layout.len());
        let mut used = Vec::new();
        for (name, span, side) in layout {
            if !group::is_group(&name) {
                out.push((name, span, side));
                continue;
            }
            let Some(i) = groups.iter().position(|(g, _)| g.name == name) else {
                let hint = suggest::nearest(&name, groups.iter().map(|(g, _)| g.name.as_str()))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.err(
                    span,
                    format!("`{side}` lists `{name}`, but no [module.\"{name}\"] table defines it{hint}"),
                );
                continue;
            };
            let (g, members) = groups.swap_remove(i);
            let at = format!("module.\"{name}\".modules");
            for (m, mspan) in members {
                if group::is_group(&m) {
                    self.err(
                        mspan,
                        format!("`{at}` lists `{m}`: groups do not nest (list its modules here instead)"),
                    );
                    continue;
                }
                out.push((m, mspan, at.clone()));
            }
            used.push(g);
        }
        (out, used)
    }

    /// Fills `bar` from `[bar]`; returns whether the table set the layout.
    fn bar(&mut self, t: &DeTable<'_>, bar: &mut Bar, layout: &mut Placed) -> bool {
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
                        bar.height_set = true;
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
                "style" => {
                    // Any state some kind has may be styled bar-wide.
                    let mut names: Vec<&str> =
                        self.kinds.iter().flat_map(|k| state::all(k)).collect();
                    names.sort_unstable();
                    names.dedup();
                    self.frame_keys(v);
                    bar.style = self.styles(v, "bar.style", &names, |n| n == style::FRAME);
                    if let Some(i) = bar.style.states.iter().position(|(n, _)| n == style::FRAME) {
                        bar.frame = bar.style.states.remove(i).1;
                    }
                }
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
                layout.extend(list.into_iter().map(|(n, s)| (n, s, side.to_string())));
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
        self.font_table(v, "bar.font", font, FONT_KEYS);
    }

    /// Reads a font: a string (one family) or a table of `family` (a string
    /// or a list, fontconfig aliases allowed), `path`, `index`, `size` and
    /// `weight`, naming keys as `at.KEY`. Any style key that takes a font
    /// reads it with this.
    pub(crate) fn font_table(&mut self, v: &Val<'_>, at: &str, font: &mut Font, keys: &[&str]) {
        if let DeValue::String(s) = v.get_ref() {
            match FontDescription::parse(s) {
                Ok(d) => {
                    font.family = d.families;
                    font.path = None;
                    if let Some(w) = d.weight {
                        font.weight = w;
                    }
                    if let Some(px) = d.size {
                        font.size = px;
                    }
                    if let Some(i) = d.italic {
                        font.italic = i;
                    }
                    if let Some(w) = d.width {
                        font.width = w;
                    }
                }
                Err(why) => self.err(v.span(), format!("`{at}`: {why}")),
            }
            return;
        }
        let Some(t) = self.table(v, at) else {
            return;
        };
        self.known_keys(t, keys, at);
        for (k, v) in t.iter() {
            let key = format!("{at}.{}", k.get_ref());
            match k.get_ref().as_ref() {
                "size" => {
                    if let Some(s) = self.float(v, &key, 4.0, 256.0) {
                        font.size = s as f32;
                    }
                }
                "family" => match v.get_ref() {
                    DeValue::String(s) => font.family = vec![s.to_string()],
                    _ => {
                        if let Some(list) = self.string_list(v, &key) {
                            font.family = list.into_iter().map(|(n, _)| n).collect();
                        }
                    }
                },
                "weight" => {
                    let named = match v.get_ref() {
                        DeValue::String(s) => match s.as_ref() {
                            "thin" => Some(100),
                            "light" => Some(300),
                            "normal" | "regular" => Some(400),
                            "medium" => Some(500),
                            "semibold" => Some(600),
                            "bold" => Some(700),
                            "black" | "heavy" => Some(900),
                            other => {
                                self.err(
                                    v.span(),
                                    format!(
                                        "`{key}`: `{other}` is not a weight (thin, light, normal, medium, semibold, bold, black, or 100..=900)"
                                    ),
                                );
                                None
                            }
                        },
                        _ => self.uint(v, &key, 100, 900).map(|n| n as u16),
                    };
                    if let Some(w) = named {
                        font.weight = w;
                    }
                }
                "index" => {
                    if let Some(n) = self.uint(v, &key, 0, 255) {
                        font.index = n as u32;
                    }
                }
                _ => {}
            }
        }
        // The path last: a collection index given after it still applies.
        let path = keys
            .contains(&"path")
            .then(|| t.iter().find(|(k, _)| k.get_ref() == "path"))
            .flatten();
        if let Some((_, v)) = path {
            let key = format!("{at}.path");
            let Some(p) = self.string(v, &key) else {
                return;
            };
            if p.is_empty() {
                font.path = None;
                return;
            }
            let path = expand_home(p);
            let path = match self.dir {
                Some(d) if path.is_relative() => d.join(path),
                _ => path,
            };
            match check_font(&path, font.index) {
                Ok(()) => font.path = Some(path),
                Err(why) => self.err(v.span(), format!("`{key}`: {why}")),
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
}

/// The span of the character `offset` bytes into the string value whose
/// literal spans `span` (so format errors point inside the string). Falls
/// back to the literal's start when the literal has escapes.
pub(crate) fn string_offset(src: &str, span: Range<usize>, offset: usize) -> Range<usize> {
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

/// Whether face `index` of the file at `path` is a font the bar can draw
/// with: opened without blocking, a regular file of a font's size, every
/// table inside the file, a character map, and a few glyphs rasterised (a
/// corrupt outline shows here, bounded, not in the running bar).
pub fn check_font(path: &Path, index: u32) -> Result<(), String> {
    let mut face = crate::render::text::Face::open(path, index).map_err(|e| e.to_string())?;
    let mut drawn = 0;
    for c in ['0', 'a', 'A', '\u{4E00}', '\u{1F600}'] {
        if let Some(gid) = face.glyph_index(c) {
            if face.rasterize(gid, 14.0).is_some() {
                drawn += 1;
            }
        }
    }
    if drawn == 0 && face.glyph_index('0').is_some() {
        return Err(format!("{}: its glyphs cannot be drawn", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

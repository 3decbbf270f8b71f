//! Styles: `[bar.style]` (every module's defaults), `[module.NAME.style]`
//! and `[module.NAME.style.STATE]`. Plain data with every key optional;
//! [`StyleSpec::over`] lays one on another (later wins), so a module's look
//! in a set of states is the bar's style, then the bar's per-state styles,
//! then the module's, then its per-state ones, states in bit order
//! (`super::state`). Resolved once per state change, never per tick.

use toml::de::{DeTable, DeValue};

use super::{suggest, Color, Cx, Val};

/// The keys of a style table (and of each of its state tables).
pub const STYLE_KEYS: &[&str] = &[
    "color",
    "background",
    "padding",
    "margin",
    "border",
    "border_top",
    "border_right",
    "border_bottom",
    "border_left",
    "radius",
    "min_width",
    "align",
    "opacity",
    "underline",
    "font",
];

/// The keys of a style's `font` table (a file and face index are the
/// bar's alone: `bar.font`).
pub const STYLE_FONT_KEYS: &[&str] = &["family", "size", "weight"];

/// The table of `[bar.style]` that styles the bar itself, not its modules.
pub const FRAME: &str = "bar";

/// The style keys `[bar.style.bar]` takes (the bar's own box has no text).
pub const FRAME_KEYS: &[&str] = &[
    "background",
    "margin",
    "border",
    "border_top",
    "border_right",
    "border_bottom",
    "border_left",
    "radius",
    "opacity",
    "underline",
];

/// Text placement inside a box wider than the text (`min_width`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextAlign {
    Left,
    Center,
    Right,
}

/// A module's background: a colour, or a two-stop linear gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Background {
    pub from: Color,
    /// The second stop and the angle in degrees (0: left to right, 90: top
    /// to bottom); `None`: a plain colour.
    pub to: Option<(Color, f32)>,
}

/// A border side: width in logical pixels and its colour.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Side {
    pub width: u16,
    pub color: Color,
}

/// A style's `font`: the bar's font with what it sets replaced.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FontPatch {
    /// Which family list ([`super::Bar::style_families`], from 1).
    pub family: Option<u8>,
    /// Logical pixels.
    pub size: Option<f32>,
    /// 100..=900.
    pub weight: Option<u16>,
}

impl FontPatch {
    /// Lays `top` over `self`, key by key.
    pub fn over(&mut self, top: &FontPatch) {
        self.family = top.family.or(self.family);
        self.size = top.size.or(self.size);
        self.weight = top.weight.or(self.weight);
    }
}

/// One style table; `None`: not set here (an earlier layer's, or the
/// built-in look, applies).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StyleSpec {
    pub color: Option<Color>,
    pub background: Option<Background>,
    /// Top, right, bottom, left (CSS order), logical pixels.
    pub padding: Option<[u16; 4]>,
    pub margin: Option<[u16; 4]>,
    /// Top, right, bottom, left.
    pub border: [Option<Side>; 4],
    /// Top-left, top-right, bottom-right, bottom-left.
    pub radius: Option<[u16; 4]>,
    pub min_width: Option<u16>,
    pub align: Option<TextAlign>,
    /// 0–1.
    pub opacity: Option<f32>,
    /// A bar of colour along the box's bottom edge.
    pub underline: Option<Side>,
    /// The font, partly overriding the bar's (and earlier layers').
    pub font: FontPatch,
}

impl StyleSpec {
    /// Lays `top` over `self`: every key `top` sets wins.
    pub fn over(&mut self, top: &StyleSpec) {
        fn set<T: Copy>(a: &mut Option<T>, b: Option<T>) {
            if b.is_some() {
                *a = b;
            }
        }
        set(&mut self.color, top.color);
        set(&mut self.background, top.background);
        set(&mut self.padding, top.padding);
        set(&mut self.margin, top.margin);
        for (a, b) in self.border.iter_mut().zip(top.border) {
            set(a, b);
        }
        set(&mut self.radius, top.radius);
        set(&mut self.min_width, top.min_width);
        set(&mut self.align, top.align);
        set(&mut self.opacity, top.opacity);
        set(&mut self.underline, top.underline);
        self.font.over(&top.font);
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        *self == StyleSpec::default()
    }
}

/// A style table with its state tables.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Styles {
    pub base: StyleSpec,
    /// (state name, its style), in the file's order; applied in state order.
    pub states: Vec<(String, StyleSpec)>,
}

impl Styles {
    /// The style of state `name`, if set.
    pub fn state(&self, name: &str) -> Option<&StyleSpec> {
        self.states.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

impl Cx<'_> {
    /// Reports the style keys of `[bar.style.bar]` that mean nothing for
    /// the bar's own box (the rest are read with the other style tables).
    pub(super) fn frame_keys(&mut self, v: &Val<'_>) {
        let DeValue::Table(t) = v.get_ref() else {
            return;
        };
        let Some((_, f)) = t.iter().find(|(k, _)| k.get_ref() == FRAME) else {
            return;
        };
        let DeValue::Table(f) = f.get_ref() else {
            return;
        };
        for (k, _) in f.iter() {
            let key: &str = k.get_ref();
            if STYLE_KEYS.contains(&key) && !FRAME_KEYS.contains(&key) {
                let hint = match key {
                    "color" => "text colour: set it in [bar.style]",
                    "padding" => "the space at the bar's ends is `bar.padding`",
                    "font" => "the bar's font is `bar.font`",
                    _ => "the bar's own box spans the output",
                };
                self.err(
                    k.span(),
                    format!(
                        "`bar.style.bar.{key}` does not apply to the bar itself ({hint}; keys here: {})",
                        FRAME_KEYS.join(", ")
                    ),
                );
            }
        }
    }

    /// A style table at `at` (`bar.style`, `module.cpu.style`): its keys and
    /// its state tables, each state checked by `is_state` (which names the
    /// states that are valid there, for the error).
    pub(super) fn styles(
        &mut self,
        v: &Val<'_>,
        at: &str,
        states: &[&str],
        mut add_class: impl FnMut(&str) -> bool,
    ) -> Styles {
        let mut out = Styles::default();
        let Some(t) = self.table(v, at) else {
            return out;
        };
        out.base = self.style_keys(t, at, true);
        for (k, v) in t.iter() {
            let name: &str = k.get_ref();
            if STYLE_KEYS.contains(&name) {
                continue;
            }
            let DeValue::Table(st) = v.get_ref() else {
                // A misspelt key, not a state.
                self.unknown_style_key(k.span(), name, at, states);
                continue;
            };
            if !states.contains(&name) && !add_class(name) {
                let hint = suggest::nearest(name, states.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                self.err(
                    k.span(),
                    format!(
                        "`{at}.{name}`: `{name}` is not a state here{hint} (states: {})",
                        states.join(", ")
                    ),
                );
                continue;
            }
            let spec = self.style_keys(st, &format!("{at}.{name}"), false);
            out.states.push((name.to_string(), spec));
        }
        out
    }

    fn unknown_style_key(
        &mut self,
        span: std::ops::Range<usize>,
        key: &str,
        at: &str,
        states: &[&str],
    ) {
        let hint = suggest::nearest(key, STYLE_KEYS.iter().chain(states).copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_else(|| format!(" (style keys: {})", STYLE_KEYS.join(", ")));
        self.err(span, format!("unknown key `{key}` in {at}{hint}"));
    }

    /// The keys of one style table; `nested`: tables are states (checked by
    /// the caller), else every non-key is an error.
    fn style_keys(&mut self, t: &DeTable<'_>, at: &str, nested: bool) -> StyleSpec {
        let mut s = StyleSpec::default();
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            let q = format!("{at}.{key}");
            match key {
                "color" => s.color = self.color(v, &q),
                "background" => s.background = self.background(v, &q),
                "padding" => s.padding = self.sides(v, &q),
                "margin" => s.margin = self.sides(v, &q),
                "border" => {
                    if let Some(side) = self.side(v, &q) {
                        s.border = [Some(side); 4];
                    }
                }
                "border_top" | "border_right" | "border_bottom" | "border_left" => {
                    let i = ["border_top", "border_right", "border_bottom", "border_left"]
                        .iter()
                        .position(|n| *n == key)
                        .unwrap_or(0);
                    if let Some(side) = self.side(v, &q) {
                        s.border[i] = Some(side);
                    }
                }
                "radius" => {
                    // One number, or four corners: top-left, top-right,
                    // bottom-right, bottom-left.
                    s.radius = match v.get_ref() {
                        DeValue::Array(a) if a.len() != 4 => {
                            self.err(v.span(), format!("`{q}`: one number or four corners"));
                            None
                        }
                        _ => self.sides(v, &q),
                    }
                }
                "min_width" => s.min_width = self.uint(v, &q, 0, 4096).map(|n| n as u16),
                "align" => {
                    let opts = [
                        ("left", TextAlign::Left),
                        ("center", TextAlign::Center),
                        ("right", TextAlign::Right),
                    ];
                    s.align = self.choice(v, &q, &opts);
                }
                "opacity" => s.opacity = self.float(v, &q, 0.0, 1.0).map(|f| f as f32),
                "underline" => {
                    // A colour (3 px), or { width, color }.
                    s.underline = match v.get_ref() {
                        DeValue::String(_) => {
                            self.color(v, &q).map(|color| Side { width: 3, color })
                        }
                        _ => self.side(v, &q),
                    }
                }
                "font" => s.font = self.style_font(v, &q),
                // The caller reports what is neither a key nor a state.
                _ if nested => {}
                _ => self.unknown_style_key(k.span(), key, at, &[]),
            }
        }
        s
    }

    /// A style's `font`: a family name, or a table of `family`, `size` and
    /// `weight` (as `bar.font`'s); only what it sets is kept.
    fn style_font(&mut self, v: &Val<'_>, q: &str) -> FontPatch {
        let mut f = super::Font {
            family: Vec::new(),
            path: None,
            index: 0,
            weight: 0,
            size: 0.0,
            italic: false,
            width: 0,
        };
        self.font_table(v, q, &mut f, STYLE_FONT_KEYS);
        if f.italic || f.width != 0 {
            self.err(
                v.span(),
                format!(
                    "`{q}`: italic and stretch words apply to `bar.font` only; a style's font takes a family, a weight and a size"
                ),
            );
        }
        let family = if f.family.is_empty() {
            None
        } else {
            let i = match self.families.iter().position(|l| *l == f.family) {
                Some(i) => i,
                None if self.families.len() < 200 => {
                    self.families.push(f.family);
                    self.families.len() - 1
                }
                None => {
                    self.err(v.span(), format!("`{q}`: too many different font families"));
                    return FontPatch::default();
                }
            };
            Some(i as u8 + 1)
        };
        FontPatch {
            family,
            size: (f.size > 0.0).then_some(f.size),
            weight: (f.weight > 0).then_some(f.weight),
        }
    }

    /// One to four numbers (CSS order: all; vertical horizontal; top
    /// horizontal bottom; top right bottom left).
    fn sides(&mut self, v: &Val<'_>, q: &str) -> Option<[u16; 4]> {
        let one = |cx: &mut Self, v: &Val<'_>| cx.uint(v, q, 0, 512).map(|n| n as u16);
        match v.get_ref() {
            DeValue::Array(a) => {
                let mut n = Vec::with_capacity(4);
                for item in a.iter() {
                    n.push(one(self, item)?);
                }
                match n[..] {
                    [a] => Some([a; 4]),
                    [a, b] => Some([a, b, a, b]),
                    [a, b, c] => Some([a, b, c, b]),
                    [a, b, c, d] => Some([a, b, c, d]),
                    _ => {
                        self.err(v.span(), format!("`{q}`: expected 1 to 4 numbers"));
                        None
                    }
                }
            }
            _ => one(self, v).map(|n| [n; 4]),
        }
    }

    /// `{ width, color }`.
    fn side(&mut self, v: &Val<'_>, q: &str) -> Option<Side> {
        let DeValue::Table(t) = v.get_ref() else {
            self.wrong_type(v, q, "a table { width, color }");
            return None;
        };
        self.known_keys(t, &["width", "color"], q);
        let mut side = Side {
            width: 1,
            color: Color::hex(0xffffffff),
        };
        for (k, v) in t.iter() {
            match k.get_ref().as_ref() {
                "width" => side.width = self.uint(v, &format!("{q}.width"), 0, 64)? as u16,
                "color" => side.color = self.color(v, &format!("{q}.color"))?,
                _ => {}
            }
        }
        Some(side)
    }

    /// A colour, or `{ from, to, angle }`.
    fn background(&mut self, v: &Val<'_>, q: &str) -> Option<Background> {
        match v.get_ref() {
            DeValue::String(_) => self.color(v, q).map(|from| Background { from, to: None }),
            DeValue::Table(t) => {
                self.known_keys(t, &["from", "to", "angle"], q);
                let (mut from, mut to, mut angle) = (None, None, 0.0f32);
                for (k, v) in t.iter() {
                    let key: &str = k.get_ref();
                    let qk = format!("{q}.{key}");
                    match key {
                        "from" => from = self.color(v, &qk),
                        "to" => to = self.color(v, &qk),
                        "angle" => angle = self.float(v, &qk, -360.0, 360.0)? as f32,
                        _ => {}
                    }
                }
                match (from, to) {
                    (Some(from), Some(to)) => Some(Background {
                        from,
                        to: Some((to, angle)),
                    }),
                    _ => {
                        self.err(v.span(), format!("`{q}`: a gradient needs `from` and `to`"));
                        None
                    }
                }
            }
            _ => {
                self.wrong_type(v, q, "a colour or a gradient { from, to, angle }");
                None
            }
        }
    }
}

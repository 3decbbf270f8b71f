//! `[module.NAME]` tables: the keys every kind takes, walked with positions;
//! a kind's own keys are validated against its [`KindDef::keys`].

use toml::de::DeValue;
use toml::Spanned;

use super::format::Value;
use super::kind::{KeyType, KindDef, Opt};
use super::{string_offset, suggest, Action, Cx, Template, Thresholds, Val};

/// The keys every `[module.NAME]` table takes (a kind adds its own).
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
    "icons",
    "tooltip",
    "tooltip_format",
    "style",
];

/// The `{icon}` choices of a module (`icons`): a ramp over its main value
/// (a list, lowest first) or glyphs by state or name (a table).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Icons {
    /// n icons split 0–100 % into n bands, 100 % in the last.
    pub ramp: Vec<String>,
    /// (state or name, glyph), in the file's order.
    pub named: Vec<(String, String)>,
}

impl Icons {
    /// The ramp's icon for `percent` ("" without a ramp).
    pub fn ramp(&self, percent: f64) -> &str {
        let n = self.ramp.len();
        if n == 0 {
            return "";
        }
        let p = if percent.is_finite() { percent } else { 0.0 };
        let i = ((p.clamp(0.0, 100.0) / 100.0) * n as f64) as usize;
        self.ramp[i.min(n - 1)].as_str()
    }

    /// The glyph given for `name` (a state, a workspace's name).
    pub fn named(&self, name: &str) -> Option<&str> {
        self.named
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, g)| g.as_str())
    }
}

/// One `[module.NAME]` table, or the built-in defaults of a kind.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// Instance name as written (`cpu`, `cpu#big`).
    pub name: String,
    pub kind: &'static KindDef,
    /// The format: placeholders resolved against the kind's; for a kind
    /// with its own syntax (the clock) only [`Template::source`] is set.
    pub format: Template,
    pub interval_ms: u64,
    pub warning: Thresholds,
    pub critical: Thresholds,
    pub on_click: Option<Action>,
    pub on_middle_click: Option<Action>,
    pub on_right_click: Option<Action>,
    pub on_scroll_up: Option<Action>,
    pub on_scroll_down: Option<Action>,
    pub popup: bool,
    /// The kind's own keys ([`KindDef::keys`]), in that order.
    pub options: Vec<Opt>,
    /// `format_STATE`: (the state's bit, its format), in bit order; the
    /// highest set state's replaces `format`.
    pub formats: Vec<(u32, Template)>,
    /// `icons`; the kind's built-in ramp by default.
    pub icons: Icons,
    /// `tooltip = false` turns the module's tooltip off.
    pub tooltip: bool,
    /// `tooltip_format`: the tooltip's template (the kind's
    /// [`KindDef::tooltip_placeholders`], else `format`'s; always markup);
    /// `None`: the kind's own tooltip, if it has one.
    pub tooltip_format: Option<Template>,
    /// A custom module's script classes named in the config (`format_wet`),
    /// each a state: bit `kind.states.len() + i`.
    pub classes: Vec<String>,
    /// `[module.NAME.style]` and its state tables.
    pub styles: super::style::Styles,
}

impl Module {
    /// The built-in settings of `kind`, under instance `name`.
    pub fn defaults(name: &str, kind: &'static KindDef) -> Module {
        let resolve = |list: &[(&str, f64)]| -> Thresholds {
            let mut t: Thresholds = list
                .iter()
                .filter_map(|&(p, v)| Some((kind.placeholder(p)?, v)))
                .collect();
            t.sort_by_key(|&(i, _)| i);
            t
        };
        Module {
            name: name.to_string(),
            kind,
            format: default_template(kind),
            interval_ms: kind.interval_ms,
            warning: resolve(kind.warning),
            critical: resolve(kind.critical),
            on_click: None,
            on_middle_click: None,
            on_right_click: None,
            on_scroll_up: None,
            on_scroll_down: None,
            popup: kind.popup,
            options: kind.keys.iter().map(|k| k.default_value()).collect(),
            formats: Vec::new(),
            icons: Icons {
                ramp: kind.icons.iter().map(|s| s.to_string()).collect(),
                named: Vec::new(),
            },
            tooltip: true,
            tooltip_format: None,
            classes: Vec::new(),
            styles: super::style::Styles::default(),
        }
    }

    /// The format that applies in `states`: the `format_STATE` of the
    /// latest set state that has one, else `format`.
    pub fn format_for(&self, states: u32) -> &Template {
        self.formats
            .iter()
            .rev()
            .find(|(bit, _)| states & bit != 0)
            .map_or(&self.format, |(_, t)| t)
    }

    /// Renders the format that applies in `states` with `values` into `out`
    /// (appended; no allocation once `out` is large enough).
    pub fn render(&self, out: &mut String, states: u32, values: &[Value<'_>]) {
        self.format_for(states).render(out, values);
    }

    /// Renders `tooltip_format` into `out`; false (and `out` untouched)
    /// when there is none or tooltips are off.
    pub fn render_tooltip(&self, out: &mut String, values: &[Value<'_>]) -> bool {
        match (&self.tooltip_format, self.tooltip) {
            (Some(t), true) => {
                t.render(out, values);
                true
            }
            _ => false,
        }
    }

    /// The `{icon}` for `states` and the main value `percent` (0–100): the
    /// glyph named by the latest set state, else the ramp's.
    pub fn icon(&self, states: u32, percent: f64) -> &str {
        let mut by_state = None;
        for n in super::state::names(self.kind, &self.classes, states) {
            by_state = self.icons.named(n).or(by_state);
        }
        by_state.unwrap_or_else(|| self.icons.ramp(percent))
    }

    /// The bit of state `name` for this instance: the kind's own or a
    /// common state, or one of its script classes.
    pub fn state_bit(&self, name: &str) -> Option<u32> {
        self.kind.state(name).or_else(|| {
            let i = self.classes.iter().position(|c| c == name)?;
            let bit = self.kind.states.len() + i;
            (bit < super::state::OWN_MAX).then(|| 1 << bit)
        })
    }

    /// The value of the kind's own key `key` (`None`: the kind has no such key).
    pub fn option(&self, key: &str) -> Option<&Opt> {
        self.options.get(self.kind.key(key)?)
    }

    /// A [`KeyType::Bool`] key; false when absent.
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.option(key), Some(Opt::Bool(true)))
    }

    /// A [`KeyType::Uint`] key; 0 when absent.
    pub fn uint(&self, key: &str) -> u64 {
        match self.option(key) {
            Some(Opt::Uint(n)) => *n,
            _ => 0,
        }
    }

    /// A [`KeyType::Float`] key; 0 when absent.
    pub fn float(&self, key: &str) -> f64 {
        match self.option(key) {
            Some(Opt::Float(f)) => *f,
            _ => 0.0,
        }
    }

    /// A [`KeyType::Text`] or [`KeyType::Choice`] key; "" when absent.
    pub fn text(&self, key: &str) -> &str {
        match self.option(key) {
            Some(Opt::Text(s)) => s,
            _ => "",
        }
    }

    /// A [`KeyType::Command`] key.
    pub fn command(&self, key: &str) -> Option<&Action> {
        match self.option(key) {
            Some(Opt::Command(c)) => c.as_ref(),
            _ => None,
        }
    }

    /// A [`KeyType::Strings`] key; empty when absent.
    pub fn strings(&self, key: &str) -> &[String] {
        match self.option(key) {
            Some(Opt::Strings(v)) => v,
            _ => &[],
        }
    }

    /// The first required key of its kind the instance lacks.
    pub fn missing_key(&self) -> Option<&'static super::kind::Key> {
        self.kind
            .keys
            .iter()
            .zip(&self.options)
            .find(|(k, v)| k.required && **v == k.default_value())
            .map(|(k, _)| k)
    }
}

/// Parses a kind's default format (the registry's test proves each valid).
pub fn default_template(kind: &KindDef) -> Template {
    match kind.syntax {
        super::kind::Syntax::Own(_) => Template {
            pieces: Vec::new(),
            source: kind.format.to_string(),
            markup: crate::render::markup::has_markup(kind.format),
        },
        super::kind::Syntax::Template => {
            Template::parse(kind.format, &kind.placeholder_names()).unwrap_or_default()
        }
    }
}

impl Cx<'_> {
    pub(super) fn module(
        &mut self,
        name: &Spanned<std::borrow::Cow<'_, str>>,
        body: &Val<'_>,
    ) -> Option<Module> {
        let full: &str = name.get_ref();
        let kind_name = full.split_once('#').map_or(full, |(k, _)| k);
        let Some(kind) = super::kind::find(self.kinds, kind_name) else {
            let names = self.kinds.iter().map(|k| k.name);
            let hint = suggest::nearest(kind_name, names)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_else(|| {
                    let all: Vec<&str> = self.kinds.iter().map(|k| k.name).collect();
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
        let mut m = Module::defaults(full, kind);
        for (k, v) in t.iter() {
            let key: &str = k.get_ref();
            let qkey = format!("module.{full}.{key}");
            if let Some(i) = kind.key(key) {
                let spec = &kind.keys[i];
                if let Some(o) = self.option(v, &qkey, spec.ty) {
                    match spec.check.map_or(Ok(()), |c| c(&o)) {
                        Ok(()) => m.options[i] = o,
                        Err(why) => self.err(v.span(), format!("`{qkey}`: {why}")),
                    }
                }
                continue;
            }
            if let Some(state) = key.strip_prefix("format_") {
                let Some(bit) = self.state_of(&mut m, k, state, &qkey) else {
                    continue;
                };
                if let Some(t) = self.format(v, &qkey, kind) {
                    m.formats.retain(|(b, _)| *b != bit);
                    m.formats.push((bit, t));
                    m.formats.sort_by_key(|(b, _)| *b);
                }
                continue;
            }
            match key {
                "format" => {
                    if let Some(t) = self.format(v, &qkey, kind) {
                        m.format = t;
                    }
                }
                "tooltip" => {
                    if let Some(b) = self.boolean(v, &qkey) {
                        m.tooltip = b;
                    }
                }
                "tooltip_format" => {
                    let syntax = kind.tooltip_syntax.unwrap_or(kind.syntax);
                    let names = kind.tooltip_placeholder_names();
                    if let Some(mut t) = self.template(v, &qkey, syntax, &names) {
                        // The popup draws every tooltip as markup: a value
                        // holding `&` or `<` (a window title) is escaped
                        // into it, whatever the format's own text is.
                        t.markup = true;
                        m.tooltip_format = Some(t);
                    }
                }
                "icons" => {
                    if let Some(i) = self.icons(v, &qkey) {
                        m.icons = i;
                    }
                }
                "style" => {
                    let owned: Vec<String> = super::state::all(kind)
                        .map(str::to_string)
                        .chain(m.classes.iter().cloned())
                        .collect();
                    let names: Vec<&str> = owned.iter().map(String::as_str).collect();
                    let classes = &mut m.classes;
                    let open = kind.classes;
                    let own = kind.states.len();
                    m.styles = self.styles(v, &qkey, &names, |name| {
                        if !open || own + classes.len() >= super::state::OWN_MAX {
                            return false;
                        }
                        classes.push(name.to_string());
                        true
                    });
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
                _ => self.unknown_module_key(k, kind, &at, &qkey),
            }
        }
        Some(m)
    }

    /// A format string in the kind's syntax.
    fn format(&mut self, v: &Val<'_>, qkey: &str, kind: &KindDef) -> Option<Template> {
        self.template(v, qkey, kind.syntax, &kind.placeholder_names())
    }

    /// A format string in `syntax`, over placeholders `names`.
    fn template(
        &mut self,
        v: &Val<'_>,
        qkey: &str,
        syntax: super::kind::Syntax,
        names: &[&str],
    ) -> Option<Template> {
        let f = self.string(v, qkey)?;
        let checked = match syntax {
            super::kind::Syntax::Own(check) => check(f).map(|()| Template {
                pieces: Vec::new(),
                source: f.to_string(),
                markup: crate::render::markup::has_markup(f),
            }),
            super::kind::Syntax::Template => {
                Template::parse(f, names).map_err(|e| (e.offset, e.message))
            }
        };
        match checked {
            Ok(t) => Some(t),
            Err((off, why)) => {
                self.err(
                    string_offset(self.src, v.span(), off),
                    format!("`{qkey}`: {why}"),
                );
                None
            }
        }
    }

    /// The bit of state `name` of `m` (a custom module gains its script
    /// class as a state); an error naming the nearest state otherwise.
    pub(super) fn state_of(
        &mut self,
        m: &mut Module,
        k: &Spanned<std::borrow::Cow<'_, str>>,
        name: &str,
        qkey: &str,
    ) -> Option<u32> {
        if let Some(bit) = m.state_bit(name) {
            return Some(bit);
        }
        if m.kind.classes && !name.is_empty() {
            if m.kind.states.len() + m.classes.len() >= super::state::OWN_MAX {
                self.err(k.span(), format!("`{qkey}`: too many script classes"));
                return None;
            }
            m.classes.push(name.to_string());
            return m.state_bit(name);
        }
        let all: Vec<&str> = super::state::all(m.kind).collect();
        let hint = suggest::nearest(name, all.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        self.err(
            k.span(),
            format!(
                "`{qkey}`: `{name}` is not a state of {} modules{hint} (states: {})",
                m.kind.name,
                all.join(", ")
            ),
        );
        None
    }

    /// `icons`: an array (a ramp) or a table of name = glyph.
    fn icons(&mut self, v: &Val<'_>, qkey: &str) -> Option<Icons> {
        match v.get_ref() {
            DeValue::Array(_) => {
                let list = self.string_list(v, qkey)?;
                if list.is_empty() || list.len() > 64 {
                    self.err(v.span(), format!("`{qkey}`: expected 1 to 64 entries"));
                    return None;
                }
                Some(Icons {
                    ramp: list.into_iter().map(|(s, _)| s).collect(),
                    named: Vec::new(),
                })
            }
            DeValue::Table(t) => {
                let mut named = Vec::new();
                for (k, g) in t.iter() {
                    let name: &str = k.get_ref();
                    if let Some(g) = self.string(g, &format!("{qkey}.{name}")) {
                        named.push((name.to_string(), g.to_string()));
                    }
                }
                Some(Icons {
                    ramp: Vec::new(),
                    named,
                })
            }
            _ => {
                self.wrong_type(
                    v,
                    qkey,
                    "an array of icons (a ramp, lowest first) or a table of name = icon",
                );
                None
            }
        }
    }

    /// A key neither common nor the kind's own: another kind's, or a typo.
    fn unknown_module_key(
        &mut self,
        k: &Spanned<std::borrow::Cow<'_, str>>,
        kind: &KindDef,
        at: &str,
        qkey: &str,
    ) {
        let key: &str = k.get_ref();
        let takers: Vec<&str> = self
            .kinds
            .iter()
            .filter(|d| d.key(key).is_some())
            .map(|d| d.name)
            .collect();
        if !takers.is_empty() {
            self.err(
                k.span(),
                format!("`{qkey}`: only {} modules take `{key}`", takers.join(", ")),
            );
            return;
        }
        let allowed: Vec<&str> = MODULE_KEYS
            .iter()
            .copied()
            .chain(kind.keys.iter().map(|k| k.name))
            .collect();
        let hint = suggest::nearest(key, allowed.iter().copied())
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_else(|| format!(" (expected one of: {})", allowed.join(", ")));
        self.err(k.span(), format!("unknown key `{key}` in {at}{hint}"));
    }

    /// A kind-specific key's value, checked against its type.
    fn option(&mut self, v: &Val<'_>, key: &str, ty: KeyType) -> Option<Opt> {
        Some(match ty {
            KeyType::Bool(_) => Opt::Bool(self.boolean(v, key)?),
            KeyType::Uint { min, max, .. } => Opt::Uint(self.uint(v, key, min, max)?),
            KeyType::Float { min, max, .. } => Opt::Float(self.float(v, key, min, max)?),
            KeyType::Text(_) => Opt::Text(self.string(v, key)?.to_string()),
            KeyType::Choice(names) => {
                let opts: Vec<(&str, &str)> = names.iter().map(|n| (*n, *n)).collect();
                Opt::Text(self.choice(v, key, &opts)?.to_string())
            }
            KeyType::Command => Opt::Command(Some(self.action(v, key)?)),
            KeyType::Strings(_) => Opt::Strings(
                self.string_list(v, key)?
                    .into_iter()
                    .map(|(s, _)| s)
                    .collect(),
            ),
        })
    }

    /// A bare number (for the kind's main value) or a table of
    /// placeholder = number.
    fn thresholds(&mut self, v: &Val<'_>, key: &str, kind: &KindDef) -> Option<Thresholds> {
        if let DeValue::Table(t) = v.get_ref() {
            let mut out = Vec::new();
            for (k, val) in t.iter() {
                let p: &str = k.get_ref();
                match kind.placeholder(p) {
                    Some(i) => {
                        if let Some(f) = self.float(val, &format!("{key}.{p}"), -1e12, 1e12) {
                            out.push((i, f));
                        }
                    }
                    None => {
                        let hint = suggest::nearest(p, kind.placeholders.iter().map(|(n, _)| *n))
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
        let Some(primary) = kind.primary.and_then(|p| kind.placeholder(p)) else {
            self.err(
                v.span(),
                format!("`{key}`: this module has no value to compare"),
            );
            return None;
        };
        let f = self.float(v, key, -1e12, 1e12)?;
        Some(vec![(primary, f)])
    }

    pub(super) fn action(&mut self, v: &Val<'_>, key: &str) -> Option<Action> {
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

//! The one list of module kinds. Adding a kind: a file `KIND.rs` beside this
//! one with its `KindDef` (config: keys, defaults, placeholders, states) and
//! a `build` function, a `pub mod KIND;` line in `mod.rs`, and one line in
//! [`REGISTRY`]. Nothing else names a kind.

use std::path::Path;

use super::{audio, bluetooth, media, sample};
use super::{backlight, battery, clock, custom, disk, idle_inhibitor, network, power_profile};
use super::{i3bar, language, mode, scratchpad, tray, window, workspaces};
use super::{Build, Init, Module};
use crate::config::style::{Background, Side, StyleSpec, Styles};
use crate::config::{self, Color, Config, ConfigErrors, KindDef, Kinds};

/// A kind's config definition and how to build an instance of it.
#[derive(Clone, Copy)]
pub struct Entry {
    pub def: &'static KindDef,
    pub build: Build,
}

impl Entry {
    /// The registry line of a kind.
    pub const fn new(def: &'static KindDef, build: Build) -> Entry {
        Entry { def, build }
    }
}

/// Every module kind, in the order the README and `--print-default-config`
/// list them.
pub const REGISTRY: &[Entry] = &[
    Entry::new(&sample::HEALTH, sample::build),
    Entry::new(&sample::CPU, sample::build),
    Entry::new(&sample::MEMORY, sample::build),
    Entry::new(&sample::TEMPERATURE, sample::build),
    Entry::new(&sample::LOAD, sample::build),
    Entry::new(&sample::GPU, sample::build),
    Entry::new(&clock::KIND, clock::build),
    Entry::new(&workspaces::KIND, workspaces::build),
    Entry::new(&window::KIND, window::build),
    Entry::new(&mode::KIND, mode::build),
    Entry::new(&language::KIND, language::build),
    Entry::new(&scratchpad::KIND, scratchpad::build),
    Entry::new(&battery::KIND, battery::build),
    Entry::new(&network::KIND, network::build),
    Entry::new(&custom::KIND, custom::build),
    Entry::new(&i3bar::KIND, i3bar::build),
    Entry::new(&disk::KIND, disk::build),
    Entry::new(&backlight::KIND, backlight::build),
    Entry::new(&idle_inhibitor::KIND, idle_inhibitor::build),
    Entry::new(&power_profile::KIND, power_profile::build),
    Entry::new(&audio::KIND, audio::build),
    Entry::new(&media::KIND, media::build),
    Entry::new(&bluetooth::KIND, bluetooth::build),
    Entry::new(&tray::KIND, tray::build),
];

/// The kinds' config definitions, as the config machinery takes them.
pub fn kinds() -> Kinds {
    Kinds(REGISTRY.iter().map(|e| e.def).collect())
}

/// The registry entry of kind `name`.
pub fn entry(name: &str) -> Option<&'static Entry> {
    REGISTRY.iter().find(|e| e.def.name == name)
}

/// Builds the instance for `spec` (`None`: its kind is not registered,
/// which validation rules out).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Option<Box<dyn Module>> {
    Some((entry(spec.kind.name)?.build)(spec, init))
}

/// Validates config `text` against the registered kinds
/// ([`config::parse_with`]).
pub fn parse(text: &str, file: &str, dir: Option<&Path>) -> Result<Config, ConfigErrors> {
    config::parse_with(text, file, dir, &kinds().0)
}

/// Reads and validates the config file at `path` ([`config::load`]).
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    config::load(path, &kinds().0)
}

/// The config rstat runs with no file, which `--print-default-config`
/// prints ([`config::DEFAULT_TEXT`] parses to it): the default layout, the
/// [`theme`], a little more room around each module, and an audio module
/// that hides while no sound server answers.
pub fn default_config() -> Config {
    let mut c = Config::defaults(&kinds().0);
    c.bar.spacing = 8;
    c.bar.style = theme();
    for m in &mut c.modules {
        if m.kind.name == audio::KIND.name {
            if let Some(i) = m.kind.key("format_disconnected") {
                m.options[i] = config::Opt::Text(String::new());
            }
        }
    }
    c
}

/// The built-in theme (`[bar.style]` of the default config): quiet, on the
/// palette of `[bar.colors]`; a box that shows under the pointer, the
/// focused and urgent workspaces, levels, a muted sink, a link that is
/// down, a charging or full battery and a tray item asking for attention.
pub fn theme() -> Styles {
    let hex = Color::hex;
    let side = |width, c| {
        Some(Side {
            width,
            color: hex(c),
        })
    };
    let bg = |c| {
        Some(Background {
            from: hex(c),
            to: None,
        })
    };
    let fg = |c| StyleSpec {
        color: Some(hex(c)),
        ..StyleSpec::default()
    };
    let alarm = StyleSpec {
        color: Some(hex(0x1e1e2eff)),
        background: bg(0xf38ba8ff),
        ..StyleSpec::default()
    };
    let states: [(&str, StyleSpec); 9] = [
        (
            "focused",
            StyleSpec {
                background: bg(0x45475aff),
                underline: side(2, 0x89b4faff),
                ..StyleSpec::default()
            },
        ),
        ("urgent", alarm),
        ("muted", fg(0x6c7086ff)),
        ("disconnected", fg(0x6c7086ff)),
        ("charging", fg(0xa6e3a1ff)),
        ("full", fg(0xa6e3a1ff)),
        (
            "needs-attention",
            StyleSpec {
                underline: side(2, 0xf38ba8ff),
                ..StyleSpec::default()
            },
        ),
        ("critical", alarm),
        (
            "hover",
            StyleSpec {
                background: bg(0x313244ff),
                ..StyleSpec::default()
            },
        ),
    ];
    Styles {
        base: StyleSpec {
            padding: Some([0, 6, 0, 6]),
            radius: Some([4; 4]),
            ..StyleSpec::default()
        },
        // In name order, as a parsed file lists them (they apply in state
        // order whatever the list's).
        states: {
            let mut v: Vec<_> = states
                .into_iter()
                .map(|(n, s)| (n.to_string(), s))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        },
    }
}

/// Where the config comes from: `--config PATH` or the XDG lookup, with the
/// registered kinds.
pub fn source(explicit: Option<std::path::PathBuf>) -> config::Source {
    config::Source {
        explicit,
        kinds: kinds(),
        builtin: Some(default_config),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::kind::Syntax;
    use crate::config::state;

    #[test]
    fn every_kind_is_consistent() {
        for (i, e) in REGISTRY.iter().enumerate() {
            let k = e.def;
            assert!(!k.name.is_empty() && !k.name.contains('#'), "{}", k.name);
            assert!(!k.about.is_empty(), "{}: about", k.name);
            assert!(
                REGISTRY[..i].iter().all(|o| o.def.name != k.name),
                "{} registered twice",
                k.name
            );
            match k.syntax {
                Syntax::Own(check) => check(k.format).unwrap_or_else(|e| panic!("{e:?}")),
                Syntax::Template => {
                    config::Template::parse(k.format, &k.placeholder_names())
                        .unwrap_or_else(|e| panic!("{}: {e:?}", k.name));
                }
            }
            for (p, _) in k.warning.iter().chain(k.critical) {
                assert!(k.placeholder(p).is_some(), "{}: {p}", k.name);
            }
            if let Some(p) = k.primary {
                assert!(k.placeholder(p).is_some(), "{}: primary {p}", k.name);
            }
            if let Some(Syntax::Own(check)) = k.tooltip_syntax {
                assert!(
                    !k.tooltip_placeholders.is_empty(),
                    "{}: tooltip syntax",
                    k.name
                );
                for (p, _) in k.tooltip_placeholders {
                    check(&format!("{{{p}}}")).unwrap_or_else(|e| panic!("{}: {e:?}", k.name));
                }
            }
            for (p, doc) in k.tooltip_placeholders {
                assert!(!p.is_empty() && !doc.is_empty(), "{}: tooltip {p}", k.name);
            }
            for (p, doc) in k.placeholders.iter().chain(k.states) {
                assert!(
                    !p.is_empty() && !doc.is_empty(),
                    "{}: {p} undocumented",
                    k.name
                );
            }
            assert!(k.states.len() <= state::OWN_MAX);
            for (s, _) in k.states {
                assert!(
                    state::COMMON.iter().all(|(c, _)| c != s),
                    "{}: own state {s} shadows a common one",
                    k.name
                );
            }
            for key in k.keys {
                assert!(
                    !config::MODULE_KEYS.contains(&key.name),
                    "{}: {} is a common key",
                    k.name,
                    key.name
                );
                assert!(!key.doc.is_empty());
            }
            assert_eq!(entry(k.name).map(|e| e.def.name), Some(k.name));
        }
    }
}

//! The README's config section is complete and true: it lists every key,
//! module kind and placeholder the parser knows, and its full example parses.

use rstat::config;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// The README's `## Configuration` section.
fn section(readme: &str) -> &str {
    let start = readme
        .find("## Configuration")
        .expect("a ## Configuration section");
    let rest = &readme[start + 3..];
    &readme[start..start + 3 + rest.find("\n## ").unwrap_or(rest.len())]
}

#[test]
fn every_key_kind_and_placeholder_is_listed() {
    let text = readme();
    let s = section(&text);
    for key in config::BAR_KEYS {
        if *key == "font" || *key == "colors" {
            continue; // listed by their sub-keys
        }
        assert!(s.contains(&format!("`bar.{key}")), "bar.{key} missing");
    }
    for key in ["bar.font.path", "bar.font.size"] {
        assert!(s.contains(&format!("`{key}`")), "{key} missing");
    }
    for key in config::COLOR_KEYS {
        assert!(
            s.contains(&format!("`bar.colors.{key}`")),
            "bar.colors.{key} missing"
        );
    }
    for key in config::MODULE_KEYS {
        assert!(
            s.contains(&format!("module.NAME.{key}")) || s.contains(&format!("`.{key}`")),
            "module key {key} missing"
        );
    }
    for e in rstat::modules::registry::REGISTRY {
        let (name, kind) = (e.def.name, e.def);
        assert!(
            s.contains(&format!("| `{name}` |")),
            "module kind {name} missing"
        );
        if matches!(kind.syntax, rstat::config::kind::Syntax::Template) {
            assert!(s.contains(kind.format), "{name}'s default format missing");
        }
        for key in kind.keys {
            assert!(
                s.contains(&format!("module.NAME.{}", key.name))
                    || s.contains(&format!("`.{}`", key.name)),
                "{name}'s key {} missing",
                key.name
            );
        }
    }
    for e in rstat::modules::registry::REGISTRY {
        for (p, doc) in e.def.tooltip_placeholders {
            let row = format!("| `{}.tooltip_format.{p}` | {doc} |", e.def.name);
            assert!(
                s.contains(&row),
                "{row} missing (or its description differs)"
            );
        }
    }
    for (p, doc) in rstat::modules::sample::SAMPLE_PLACEHOLDERS {
        assert!(
            s.contains(&format!("| `{p}` | {doc} |")),
            "placeholder {p} missing (or its description differs)"
        );
    }
}

#[test]
fn the_full_example_parses() {
    let text = readme();
    let s = section(&text);
    let start = s.find("```toml\n").expect("a toml example") + "```toml\n".len();
    let mut example = s[start..start + s[start..].find("```").unwrap()].to_string();
    let font = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
    if !std::path::Path::new(font).exists() {
        // Not Debian's fonts-dejavu-core: the embedded font instead.
        example = example.replace(font, "");
    }
    let cfg = rstat::modules::registry::parse(&example, "README.md", None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.modules.len(), 7);
    assert!(cfg.module("cpu#detail").is_some());
}

#[test]
fn every_theme_parses() {
    let text = readme();
    let start = text.find("### Themes").expect("a ### Themes section");
    let rest = &text[start..];
    let themes = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
    let mut n = 0;
    for block in themes.split("```toml\n").skip(1) {
        let toml = &block[..block.find("```").expect("a closed toml block")];
        rstat::modules::registry::parse(toml, "README.md (themes)", None)
            .unwrap_or_else(|e| panic!("{e}\n{toml}"));
        n += 1;
    }
    assert!(n >= 4, "{n} themes");
}

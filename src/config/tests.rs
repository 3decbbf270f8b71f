use super::*;
// The machinery is tested through the registered kinds.
use crate::modules::registry::{default_config, parse, REGISTRY};
use crate::modules::sample;
use style::Styles;

fn errors(text: &str) -> Vec<ConfigError> {
    match parse(text, "test.toml", None) {
        Ok(c) => panic!("expected errors, got {c:?}"),
        Err(e) => e.0,
    }
}

fn one_error(text: &str) -> ConfigError {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.into_iter().next().unwrap()
}

/// An empty file is every key's plain default: the default layout, no
/// theme (the built-in config adds the theme, more spacing and a quiet
/// audio module: `default_config`).
#[test]
fn empty_file_is_the_plain_defaults() {
    let plain = Config::defaults(&crate::modules::registry::kinds().0);
    assert_eq!(parse("", "t", None).unwrap(), plain);
    assert_eq!(parse("# only a comment\n", "t", None).unwrap(), plain);
    assert_eq!(plain.bar.style, Styles::default());
    assert_eq!(plain.bar.spacing, 16);
    let builtin = default_config();
    assert_eq!(
        (&plain.bar.left, &plain.bar.center, &plain.bar.right),
        (&builtin.bar.left, &builtin.bar.center, &builtin.bar.right)
    );
    assert_ne!(builtin.bar.style, Styles::default());
}

/// `--print-default-config`, saved as the config, is the built-in config:
/// compared piece by piece (the bar's keys, its theme state by state,
/// each module) so a difference names itself, then whole.
#[test]
fn default_text_parses_back_to_the_builtin_config() {
    let printed = parse(DEFAULT_TEXT, "default.toml", None).unwrap();
    let builtin = default_config();
    let (p, b) = (&printed.bar, &builtin.bar);
    assert_eq!(
        (p.position, p.layer, p.height, &p.outputs, p.margin),
        (b.position, b.layer, b.height, &b.outputs, b.margin)
    );
    assert_eq!(
        (p.spacing, p.padding, &p.font),
        (b.spacing, b.padding, &b.font)
    );
    assert_eq!(p.colors, b.colors);
    assert_eq!(
        (&p.left, &p.center, &p.right),
        (&b.left, &b.center, &b.right)
    );
    assert_eq!(p.style.base, b.style.base);
    let names = |s: &Styles| s.states.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&p.style), names(&b.style));
    for (name, spec) in &b.style.states {
        assert_eq!(p.style.state(name), Some(spec), "[bar.style.{name}]");
    }
    assert_eq!(p.frame, b.frame);
    assert_eq!(
        printed.modules.iter().map(|m| &m.name).collect::<Vec<_>>(),
        builtin.modules.iter().map(|m| &m.name).collect::<Vec<_>>()
    );
    for (pm, bm) in printed.modules.iter().zip(&builtin.modules) {
        assert_eq!(pm, bm, "[module.{}]", bm.name);
    }
    assert_eq!(printed.groups, builtin.groups);
    assert_eq!(printed, builtin);
}

#[test]
fn default_text_mentions_every_key_and_placeholder() {
    for key in [
        "position",
        "layer",
        "height",
        "outputs",
        "margin",
        "spacing",
        "padding",
        "font",
        "colors",
        "left",
        "center",
        "right",
        "foreground",
        "background",
        "warning",
        "critical",
        "accent",
        "format",
        "interval_ms",
        "on_click",
        "on_middle_click",
        "on_right_click",
        "on_scroll_up",
        "on_scroll_down",
        "popup",
    ] {
        assert!(
            DEFAULT_TEXT.contains(key),
            "default config does not mention `{key}`"
        );
    }
    for (p, _) in sample::SAMPLE_PLACEHOLDERS {
        assert!(
            DEFAULT_TEXT.contains(p),
            "default config does not mention `{p}`"
        );
    }
    for kind in REGISTRY.iter().map(|e| e.def.name) {
        assert!(
            DEFAULT_TEXT.contains(kind),
            "default config does not mention `{kind}`"
        );
    }
}

#[test]
fn every_default() {
    let c = default_config();
    let b = &c.bar;
    assert_eq!(b.position, Position::Top);
    assert_eq!(b.layer, Layer::Top);
    assert_eq!(b.height, 28);
    assert_eq!(b.outputs, Outputs::All);
    assert_eq!(b.margin, Margin::default());
    assert_eq!((b.spacing, b.padding), (8, 8));
    assert_eq!(
        b.font,
        Font {
            path: None,
            size: 14.0,
            ..Font::default()
        }
    );
    assert_eq!(b.colors.background, Color::hex(0x1e1e2ee6));
    assert_eq!((b.left.clone(), b.center.clone(), b.right.clone()), {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        (v(DEFAULT_LEFT), v(DEFAULT_CENTER), v(DEFAULT_RIGHT))
    });
    assert_eq!(
        b.left.iter().chain(&b.center).chain(&b.right).count(),
        c.modules.len()
    );
    let h = c.module("health").unwrap();
    assert_eq!(h.kind, &sample::HEALTH);
    assert_eq!(h.interval_ms, 1000);
    assert!(h.popup);
    assert_eq!(h.format.source, sample::HEALTH.format);
    assert_eq!(h.warning.len(), 3);
    assert_eq!(h.on_click, None);
    let clock = c.module("clock").unwrap();
    assert_eq!(clock.format.source, "%a %d %b  %H:%M");
    assert!(clock.format.pieces.is_empty());
}

#[test]
fn a_full_config() {
    let text = r##"
[bar]
position = "bottom"
layer = "overlay"
height = 40
outputs = ["eDP-1", "HDMI-A-1"]
margin = { top = 4, left = 8 }
font = { size = 16 }
left = ["cpu#big", "memory"]
center = []
right = ["clock"]

[bar.colors]
background = "#000"
accent = "#11223344"

[module."cpu#big"]
format = "{usage:>5.1}% @ {freq_ghz:.1}GHz"
interval_ms = 500
warning = 50
critical = { usage = 80, temp = 95 }
on_click = ["foot", "btop"]
on_scroll_up = "pactl set-sink-volume @DEFAULT_SINK@ +5%"

[module.clock]
format = "%H:%M:%S"
"##;
    let c = parse(text, "t", None).unwrap();
    assert_eq!(c.bar.position, Position::Bottom);
    assert_eq!(c.bar.layer, Layer::Overlay);
    assert_eq!(c.bar.height, 40);
    assert_eq!(
        c.bar.outputs,
        Outputs::Named(vec!["eDP-1".into(), "HDMI-A-1".into()])
    );
    assert_eq!(
        c.bar.margin,
        Margin {
            top: 4,
            right: 0,
            bottom: 0,
            left: 8
        }
    );
    assert_eq!(c.bar.font.size, 16.0);
    assert_eq!(c.bar.colors.background, Color::hex(0x000000ff));
    assert_eq!(c.bar.colors.accent, Color::hex(0x11223344));
    assert_eq!(c.modules.len(), 3);
    let big = c.module("cpu#big").unwrap();
    assert_eq!(big.kind, &sample::CPU);
    assert_eq!(big.interval_ms, 500);
    let usage = 0;
    let temp = sample::CPU.placeholder("temp").unwrap();
    assert_eq!(big.warning, vec![(usage, 50.0)]);
    assert_eq!(big.critical, vec![(usage, 80.0), (temp, 95.0)]);
    assert!(usage < temp);
    assert_eq!(
        big.on_click,
        Some(Action::Exec(vec!["foot".into(), "btop".into()]))
    );
    assert!(matches!(big.on_scroll_up, Some(Action::Shell(_))));
    let mem = c.module("memory").unwrap();
    assert_eq!(mem, &Module::defaults("memory", &sample::MEMORY));
    assert_eq!(c.module("clock").unwrap().format.source, "%H:%M:%S");
}

#[test]
fn unknown_key_names_position_and_suggests() {
    let e = one_error("[bar]\nheigth = 40\n");
    assert_eq!((e.line, e.column), (2, 1));
    assert!(
        e.message.contains("unknown key `heigth` in [bar]"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("did you mean `height`?"),
        "{}",
        e.message
    );
    assert_eq!(e.to_string(), format!("test.toml:2:1: {}", e.message));

    let e = one_error("[module.cpu]\nintervall_ms = 5\n");
    assert!(
        e.message.contains("did you mean `interval_ms`?"),
        "{}",
        e.message
    );
    let e = one_error("[bar.colors]\nforground = \"#fff\"\n");
    assert!(
        e.message.contains("did you mean `foreground`?"),
        "{}",
        e.message
    );
    let e = one_error("[baar]\n");
    assert!(e.message.contains("did you mean `bar`?"), "{}", e.message);
}

#[test]
fn wrong_types() {
    let e = one_error("[bar]\nheight = \"tall\"\n");
    assert_eq!((e.line, e.column), (2, 10));
    assert!(
        e.message
            .contains("`bar.height`: expected a whole number 8..=512, found a string"),
        "{}",
        e.message
    );
    let e = one_error("[bar]\nheight = 4\n");
    assert!(e.message.contains("out of range"), "{}", e.message);
    let e = one_error("[bar]\nleft = \"clock\"\n");
    assert!(
        e.message.contains("expected an array of strings"),
        "{}",
        e.message
    );
    let e = one_error("[module.health]\npopup = 1\n");
    assert!(
        e.message
            .contains("expected true or false, found an integer"),
        "{}",
        e.message
    );
    let e = one_error("[bar]\nposition = \"left\"\n");
    assert!(
        e.message.contains("`left` is not one of top, bottom"),
        "{}",
        e.message
    );
    let e = one_error("[module.cpu]\non_click = 3\n");
    assert!(e.message.contains("expected a command"), "{}", e.message);
    let e = one_error("[module.cpu]\non_click = []\n");
    assert!(e.message.contains("the command is empty"), "{}", e.message);
}

#[test]
fn bad_colours() {
    let e = one_error("[bar.colors]\nforeground = \"#ggg\"\n");
    assert_eq!((e.line, e.column), (2, 14));
    assert!(
        e.message
            .contains("`#ggg` is not a colour (expected #rgb, #rrggbb or #rrggbbaa)"),
        "{}",
        e.message
    );
    let e = one_error("[bar.colors]\naccent = \"red\"\n");
    assert!(e.message.contains("not a colour"), "{}", e.message);
}

#[test]
fn unknown_placeholder_points_into_the_string() {
    let e = one_error("[module.cpu]\nformat = \"CPU {usag}%\"\n");
    // The `{` of `{usag}` is column 15: `format = "` is 10 characters, `CPU ` 4 more.
    assert_eq!((e.line, e.column), (2, 15));
    assert!(
        e.message
            .contains("unknown placeholder `{usag}` (did you mean `usage`?)"),
        "{}",
        e.message
    );
    let e = one_error("[module.clock]\nformat = \"%H:%Q\"\n");
    assert!(
        e.message.contains("unknown clock conversion `%Q`"),
        "{}",
        e.message
    );
    assert_eq!((e.line, e.column), (2, 14));
}

#[test]
fn clock_formats_that_draw_nothing_are_config_errors() {
    let e = one_error("[module.clock]\nformat = \"%H:%1000S\"\n");
    assert!(e.message.contains("width of 1000"), "{}", e.message);
    assert_eq!((e.line, e.column), (2, 14));
    let e = one_error("[module.clock]\nformat = \"%+\"\n");
    assert!(e.message.contains("`%+`"), "{}", e.message);
}

#[test]
fn layout_references_must_be_defined() {
    let e = one_error("[bar]\nright = [\"cpu#big\"]\n");
    assert_eq!((e.line, e.column), (2, 10));
    assert!(
        e.message
            .contains("`bar.right` lists `cpu#big`, but no [module.\"cpu#big\"] table defines it"),
        "{}",
        e.message
    );
    let e = one_error("[bar]\nleft = [\"clok\"]\n");
    assert!(e.message.contains("did you mean `clock`?"), "{}", e.message);
    let e = one_error("[bar]\nleft = [\"cpu\", \"cpu\"]\n");
    assert!(e.message.contains("listed twice"), "{}", e.message);
    let e = one_error("[module.cpux]\n");
    assert!(
        e.message
            .contains("unknown module kind `cpux` (did you mean `cpu`?)"),
        "{}",
        e.message
    );
}

#[test]
fn fonts_must_be_readable_and_parse() {
    let dir = std::env::temp_dir().join(format!("rstat-font-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.ttf");
    std::fs::write(&junk, b"definitely not a font").unwrap();
    let text = format!("[bar]\nfont = {{ path = \"{}\" }}\n", junk.display());
    let e = one_error(&text);
    assert!(e.message.contains("is not a usable font"), "{}", e.message);
    assert_eq!((e.line, e.column), (2, 17));
    let e = one_error("[bar]\nfont = { path = \"/nonexistent/x.ttf\" }\n");
    assert!(
        e.message.contains("cannot read /nonexistent/x.ttf"),
        "{}",
        e.message
    );
    // A real font (Debian's, when installed) is accepted.
    let dejavu = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    if Path::new(dejavu).exists() {
        let c = parse(
            &format!("[bar]\nfont = {{ path = \"{dejavu}\", size = 12 }}\n"),
            "t",
            None,
        )
        .unwrap();
        assert_eq!(c.bar.font.path.as_deref(), Some(Path::new(dejavu)));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn syntax_errors_have_positions() {
    let e = one_error("[bar]\nheight = = 3\n");
    assert_eq!(e.line, 2);
    assert!(e.message.starts_with("TOML syntax"), "{}", e.message);
    let e = one_error("[bar\n");
    assert_eq!(e.line, 1);
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = errors("[bar]\nheigth = 1\nposition = 3\n[bar.colors]\naccent = \"#12\"\n");
    assert_eq!(e.len(), 3, "{e:#?}");
    assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), vec![2, 3, 5]);
}

#[test]
fn load_names_the_file() {
    let e = crate::modules::registry::load(Path::new("/nonexistent/rstat.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/rstat.toml: cannot read the config file"),
        "{e}"
    );
}

#[test]
fn an_explicit_source_reads_that_file_every_time() {
    let dir = std::env::temp_dir().join(format!("rstat-source-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.toml");
    let src = crate::modules::registry::source(Some(path.clone()));
    assert_eq!(src.file(), Some(path.clone()));
    assert_eq!(src.watched(), Some(path.clone()));
    // Named but missing: an error naming it, not the defaults.
    assert!(src.load().unwrap_err().to_string().contains("c.toml"));
    std::fs::write(&path, "[bar]\nheight = 40\n").unwrap();
    let (cfg, from) = src.load().unwrap();
    assert_eq!((cfg.bar.height, from), (40, Some(path.clone())));
    // Read afresh: a change shows at the next load.
    std::fs::write(&path, "[bar]\nheight = 30\n").unwrap();
    assert_eq!(src.load().unwrap().0.bar.height, 30);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A tiny deterministic PRNG (xorshift), so the fuzz corpus is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn thousands_of_malformed_configs_never_panic() {
    const PIECES: &[&str] = &[
        "[bar]",
        "[bar.colors]",
        "[module.cpu]",
        "[module.\"cpu#x\"]",
        "[module.clock]",
        "[module]",
        "height = ",
        "position = ",
        "format = ",
        "left = ",
        "warning = ",
        "font = ",
        "margin = ",
        "on_click = ",
        "\"{usage:>3.1}\"",
        "\"{nope}\"",
        "\"%H:%\"",
        "\"#fff\"",
        "40",
        "-1",
        "1e400",
        "99999999999999999999",
        "true",
        "[",
        "]",
        "{",
        "}",
        "\"",
        "'",
        "=",
        ",",
        "\n",
        "\"cpu#big\"",
        "[\"health\", 3]",
        "{ top = 1, x = 2 }",
        "# comment",
        "\u{1f600}",
        "\\u0000",
        "1979-05-27T07:32:00Z",
        "inf",
        "nan",
        "\"\"\"",
        "0x10",
        "\t",
    ];
    let mut rng = Rng(0x2545F4914F6CDD1D);
    let mut outcomes = [0usize; 2];
    for round in 0..4000 {
        let text: String = if round % 2 == 0 {
            // Random soup of config-ish tokens.
            (0..rng.below(30))
                .map(|_| PIECES[rng.below(PIECES.len())])
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            // The default config with a few bytes changed, inserted or removed.
            let mut b = DEFAULT_TEXT.as_bytes().to_vec();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(b.len());
                match rng.below(3) {
                    0 => b[at] = rng.next() as u8,
                    1 => b.insert(at, b"{}[]=\"#\n"[rng.below(8)]),
                    _ => {
                        b.remove(at);
                    }
                }
            }
            String::from_utf8_lossy(&b).into_owned()
        };
        match parse(&text, "fuzz.toml", None) {
            Ok(_) => outcomes[0] += 1,
            Err(errs) => {
                outcomes[1] += 1;
                assert!(!errs.0.is_empty());
                for e in &errs.0 {
                    assert!(
                        e.line >= 1 && e.column >= 1,
                        "no position for {e} in {text:?}"
                    );
                    assert!(
                        e.line <= text.lines().count().max(1) + 1,
                        "{e} past the end of {text:?}"
                    );
                }
            }
        }
    }
    // Both paths were exercised.
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
}

#[test]
fn a_kinds_own_keys_are_checked_with_positions_and_suggestions() {
    let e = one_error("[module.window]\nmax_char = 8\n");
    assert_eq!((e.line, e.column), (2, 1));
    assert!(
        e.message.contains("did you mean `max_chars`?"),
        "{}",
        e.message
    );
    let e = one_error("[module.window]\nmax_chars = 0\n");
    assert_eq!((e.line, e.column), (2, 13));
    assert!(
        e.message.contains("out of range (1..=1000)"),
        "{}",
        e.message
    );
    let e = one_error("[module.\"custom#a\"]\nexec = \"x\"\nreturn_type = \"jsn\"\n");
    assert_eq!(e.line, 3);
    assert!(
        e.message.contains("not one of plain, json"),
        "{}",
        e.message
    );
    let e = one_error("[module.cpu]\ntimeout_ms = 100\n");
    assert!(
        e.message.contains("only custom modules take `timeout_ms`"),
        "{}",
        e.message
    );
    let c = parse(
        "[module.\"custom#a\"]\nexec = [\"date\"]\nreturn_type = \"json\"\ntimeout_ms = 500\n[bar]\nright = [\"custom#a\"]\n",
        "t",
        None,
    )
    .unwrap();
    let m = c.module("custom#a").unwrap();
    assert_eq!(m.command("exec"), Some(&Action::Exec(vec!["date".into()])));
    assert_eq!((m.text("return_type"), m.uint("timeout_ms")), ("json", 500));
    assert!(!m.flag("continuous"));
    assert_eq!(m.option("max_chars"), None, "another kind's key");
}

#[test]
fn formats_by_state_icons_and_tooltips() {
    let c = parse(
        r#"
[bar]
right = ["battery", "custom#w", "workspaces"]
[module.battery]
format_charging = "CHG {percent}"
format_critical = "LOW {percent}"
icons = { charging = "+", discharging = "-" }
tooltip_format = "{time} left"
[module."custom#w"]
exec = "x"
format_wet = "rain {text}"
tooltip = false
[module.workspaces]
icons = ["a", "b"]
"#,
        "t",
        None,
    )
    .unwrap();
    let b = c.module("battery").unwrap();
    let (chg, crit) = (b.state_bit("charging").unwrap(), state::CRITICAL);
    assert_eq!(b.format_for(0).source, b.format.source);
    assert_eq!(b.format_for(chg).source, "CHG {percent}");
    assert_eq!(
        b.format_for(chg | crit).source,
        "LOW {percent}",
        "later wins"
    );
    assert_eq!(b.icon(chg, 50.0), "+");
    assert_eq!(b.icon(0, 50.0), "", "no ramp");
    let mut out = String::new();
    assert!(b.render_tooltip(&mut out, &[]));
    let w = c.module("custom#w").unwrap();
    assert_eq!(w.classes, ["wet"]);
    let wet = w.state_bit("wet").unwrap();
    assert_eq!(w.format_for(wet).source, "rain {text}");
    assert!(!w.tooltip);
    let names: Vec<&str> = state::names(w.kind, &w.classes, wet | state::HOVER).collect();
    assert_eq!(names, ["wet", "hover"]);
    let ws = c.module("workspaces").unwrap();
    assert_eq!((ws.icon(0, 0.0), ws.icon(0, 100.0)), ("a", "b"));

    let e = one_error("[module.clock]\nformat_focused = \"%H\"\n");
    assert_eq!((e.line, e.column), (2, 1));
    assert!(
        e.message.contains("not a state of clock modules"),
        "{}",
        e.message
    );
    let e = one_error("[module.battery]\nformat_chargin = \"x\"\n");
    assert!(
        e.message.contains("did you mean `charging`?"),
        "{}",
        e.message
    );
    let e = one_error("[module.battery]\nformat_charging = \"{nope}\"\n");
    assert_eq!(e.line, 2);
    let e = one_error("[module.battery]\nicons = 3\n");
    assert!(
        e.message.contains("a table of name = icon"),
        "{}",
        e.message
    );
}

/// Hostile font files, the text side of the fuzzer: special files, huge and
/// truncated files, collection indexes that do not exist, and fonts with
/// flipped bits. Each is a config error or a font that draws, within a time
/// bound per case; none blocks, grows the process, or panics.
#[test]
fn hostile_font_files_are_errors_or_draw_quickly() {
    use crate::render::text::{FontChoice, GlyphCache, Shaped, SystemFonts, DEFAULT_FONT};
    use std::time::{Duration, Instant};
    let dir = std::env::temp_dir().join(format!("rstat-font-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bound = Duration::from_millis(1500);
    let check = |path: &Path, extra: &str| -> Result<(), String> {
        let text = format!("[bar]\nfont = {{ path = \"{}\"{extra} }}\n", path.display());
        let t = Instant::now();
        let r = parse(&text, "fonts.toml", None);
        assert!(
            t.elapsed() < bound,
            "{} took {:?}",
            path.display(),
            t.elapsed()
        );
        match r {
            Ok(c) => {
                // Accepted: the bar draws with it, also within the bound.
                let choice = FontChoice {
                    path: c.bar.font.path.clone(),
                    index: c.bar.font.index,
                    weight: 400,
                    ..FontChoice::default()
                };
                let t = Instant::now();
                let mut g =
                    GlyphCache::load(&choice, SystemFonts::default()).map_err(|e| e.to_string())?;
                let mut s = Shaped::default();
                g.shape("CPU 42% ffi Wo → ü ق", 28, &mut s);
                for p in &s.glyphs {
                    g.glyph_id(p.face, p.gid, 28);
                }
                g.warm(crate::render::glyphs::WARM_CHARS, 28);
                assert!(
                    t.elapsed() < bound,
                    "{} drew in {:?}",
                    path.display(),
                    t.elapsed()
                );
                Ok(())
            }
            Err(e) => {
                let e = &e.0[0];
                assert_eq!((e.line, e.column), (2, 17), "{e}");
                Err(e.message.clone())
            }
        }
    };
    // Special files: never opened for reading in a way that blocks.
    let fifo = dir.join("fifo.ttf");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    let e = check(&fifo, "").unwrap_err();
    assert!(e.contains("FIFO"), "{e}");
    for dev in ["/dev/zero", "/dev/null", "/dev/urandom"] {
        let e = check(Path::new(dev), "").unwrap_err();
        assert!(e.contains("device"), "{e}");
    }
    let e = check(&dir, "").unwrap_err();
    assert!(e.contains("directory"), "{e}");
    // Huge: a sparse 1 GiB file is refused by its size, not read.
    let huge = dir.join("huge.ttf");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let e = check(&huge, "").unwrap_err();
    assert!(e.contains("larger than any font"), "{e}");
    // A good face, and a collection index it does not have.
    let good = dir.join("good.ttf");
    std::fs::write(&good, DEFAULT_FONT).unwrap();
    check(&good, "").unwrap();
    let e = check(&good, ", index = 2").unwrap_err();
    assert!(e.contains("no face with that index"), "{e}");
    // Truncated at many lengths.
    let mut rng = Rng(0x5eed_f0e7);
    let cut = dir.join("cut.ttf");
    for _ in 0..40 {
        let n = rng.below(DEFAULT_FONT.len());
        std::fs::write(&cut, &DEFAULT_FONT[..n]).unwrap();
        assert!(check(&cut, "").is_err(), "truncated at {n} accepted");
    }
    // Flipped bits in the embedded face and in a full system face.
    let mut sources: Vec<Vec<u8>> = vec![DEFAULT_FONT.to_vec()];
    if let Ok(b) = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf") {
        sources.push(b);
    }
    let flipped = dir.join("flipped.ttf");
    let mut outcomes = [0usize; 2];
    for case in 0..120 {
        let mut b = sources[case % sources.len()].clone();
        for _ in 0..45 {
            let i = rng.below(b.len());
            b[i] ^= 1 << rng.below(8);
        }
        std::fs::write(&flipped, &b).unwrap();
        match check(&flipped, "") {
            Ok(()) => outcomes[0] += 1,
            Err(_) => outcomes[1] += 1,
        }
    }
    println!(
        "flipped fonts: {} drawn, {} refused",
        outcomes[0], outcomes[1]
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn styles_parse_with_positions_states_and_suggestions() {
    let c = parse(
        r##"
[bar.style]
color = "#ffffff"
radius = 6
[bar.style.hover]
background = "#333333"
[module.battery.style]
background = { from = "#ff0000", to = "#0000ff", angle = 90 }
padding = [2, 8]
margin = [1, 2, 3]
border = { width = 2, color = "#00ff00" }
border_left = { width = 4, color = "#0000ff" }
min_width = 80
align = "center"
opacity = 0.5
underline = "#ffcc00"
[module.battery.style.charging]
color = "#00ff00"
[module.battery.style.critical]
color = "#ff0000"
[module."custom#x"]
exec = "x"
[module."custom#x".style.wet]
color = "#0000ff"
[bar]
right = ["battery", "custom#x"]
"##,
        "t",
        None,
    )
    .unwrap();
    assert_eq!(c.bar.style.base.radius, Some([6; 4]));
    assert!(c.bar.style.state("hover").is_some());
    let b = c.module("battery").unwrap();
    let s = &b.styles.base;
    assert_eq!(s.padding, Some([2, 8, 2, 8]));
    assert_eq!(s.margin, Some([1, 2, 3, 2]));
    assert_eq!(s.border[0].unwrap().width, 2);
    assert_eq!(s.border[3].unwrap().width, 4);
    assert_eq!(s.underline.unwrap().width, 3);
    assert_eq!(s.background.unwrap().to.unwrap().1, 90.0);
    assert_eq!(s.align, Some(style::TextAlign::Center));
    assert_eq!(b.styles.states.len(), 2);
    assert_eq!(c.module("custom#x").unwrap().classes, ["wet"]);

    let e = one_error("[module.cpu.style]\nbackgrund = \"#fff\"\n");
    assert_eq!((e.line, e.column), (2, 1));
    assert!(
        e.message.contains("did you mean `background`?"),
        "{}",
        e.message
    );
    let e = one_error("[module.cpu.style.hovr]\ncolor = \"#fff\"\n");
    assert_eq!(e.line, 1);
    assert!(e.message.contains("did you mean `hover`?"), "{}", e.message);
    let e = one_error("[module.clock.style.focused]\ncolor = \"#fff\"\n");
    assert!(e.message.contains("is not a state here"), "{}", e.message);
    let e = one_error("[module.cpu.style]\nopacity = 2\n");
    assert_eq!((e.line, e.column), (2, 11));
    let e = one_error("[module.cpu.style]\nbackground = { from = \"#fff\" }\n");
    assert!(e.message.contains("needs `from` and `to`"), "{}", e.message);
    let e = one_error("[module.cpu.style]\npadding = [1, 2, 3, 4, 5]\n");
    assert!(e.message.contains("1 to 4 numbers"), "{}", e.message);
    let e = one_error("[bar.style.nope]\ncolor = \"#fff\"\n");
    assert!(e.message.contains("not a state here"), "{}", e.message);
    let e = one_error("[module.cpu.style]\ncolor = \"red\"\n");
    assert!(e.message.contains("is not a colour"), "{}", e.message);
}

#[test]
fn groups_expand_in_place_and_are_checked_with_positions() {
    let c = parse(
        r##"
[bar]
left = ["clock", "group#sys", "load"]
[module."group#sys"]
modules = ["cpu", "memory#m"]
drawer = { click_to_reveal = true, transition_left_to_right = false, transition_ms = 250 }
[module."group#sys".style]
background = "#223344"
radius = 8
[module."group#sys".style.hover]
background = "#334455"
[module."memory#m"]
format = "{mem_percent}"
"##,
        "t",
        None,
    )
    .unwrap();
    let names: Vec<&str> = c.modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["clock", "cpu", "memory#m", "load"]);
    let g = c.group("group#sys").unwrap();
    assert_eq!(g.modules, ["cpu", "memory#m"]);
    assert_eq!(g.styles.base.radius, Some([8; 4]));
    assert!(g.styles.state("hover").is_some());
    let d = g.drawer.unwrap();
    assert!(d.click_to_reveal && !d.left_to_right);
    assert_eq!(d.transition_ms, 250);
    assert_eq!(group::Drawer::default().transition_ms, 0);
    assert_eq!(
        parse(
            "[bar]\nleft=[\"group#g\"]\n[module.\"group#g\"]\nmodules=[\"cpu\"]\ndrawer=true\n",
            "t",
            None
        )
        .unwrap()
        .group("group#g")
        .unwrap()
        .drawer,
        Some(group::Drawer::default())
    );

    let e =
        one_error("[bar]\nleft = [\"group#sy\"]\n[module.\"group#sys\"]\nmodules = [\"cpu\"]\n");
    assert_eq!((e.line, e.column), (2, 9));
    assert!(
        e.message.contains("did you mean `group#sys`?"),
        "{}",
        e.message
    );
    let e = one_error(
        "[bar]\nleft = [\"group#a\"]\n[module.\"group#a\"]\nmodules = [\"cpu\", \"cpux\"]\n",
    );
    assert_eq!((e.line, e.column), (4, 19));
    assert!(
        e.message
            .contains("`module.\"group#a\".modules` lists `cpux`"),
        "{}",
        e.message
    );
    assert!(e.message.contains("did you mean `cpu`?"), "{}", e.message);
    let e = one_error(
        "[bar]\nleft = [\"group#a\"]\n[module.\"group#a\"]\nmodules = [\"cpu\"]\nmodule = 1\n",
    );
    assert_eq!(e.line, 5);
    assert!(
        e.message.contains("did you mean `modules`?"),
        "{}",
        e.message
    );
    let e = one_error("[bar]\nleft = [\"group#a\"]\n[module.\"group#a\"]\nstyle = {}\n");
    assert!(
        e.message.contains("a group needs `modules`"),
        "{}",
        e.message
    );
    let e = one_error(
        "[bar]\nleft = [\"group#a\", \"cpu\"]\n[module.\"group#a\"]\nmodules = [\"cpu\"]\n",
    );
    assert!(e.message.contains("`cpu` is listed twice"), "{}", e.message);
    let e = errors("[bar]\nleft = [\"group#a\"]\n[module.\"group#a\"]\nmodules = [\"group#b\"]\n[module.\"group#b\"]\nmodules = [\"cpu\"]\n");
    assert!(e[0].message.contains("groups do not nest"), "{e:?}");
    let e = one_error("[bar]\nleft = [\"group#a\"]\n[module.\"group#a\"]\nmodules = [\"cpu\"]\ndrawer = { click_to_revel = true }\n");
    assert!(
        e.message.contains("did you mean `click_to_reveal`?"),
        "{}",
        e.message
    );
    let e = one_error("[bar]\nleft = [\"group#a\"]\n[module.\"group#a\"]\nmodules = [\"cpu\"]\ndrawer = { transition_sm = 300 }\n");
    assert_eq!((e.line, e.column), (5, 12));
    assert!(
        e.message.contains("did you mean `transition_ms`?"),
        "{}",
        e.message
    );
    for (bad, says) in [
        ("-5", "out of range (0..=10000)"),
        ("20000", "out of range (0..=10000)"),
        ("\"fast\"", "expected a whole number 0..=10000"),
        ("0.5", "expected a whole number 0..=10000"),
    ] {
        let e = one_error(&format!("[bar]\nleft = [\"group#a\"]\n[module.\"group#a\"]\nmodules = [\"cpu\"]\ndrawer = {{ transition_ms = {bad} }}\n"));
        assert_eq!((e.line, e.column), (5, 28), "{bad}: {}", e.message);
        assert!(e.message.contains("transition_ms"), "{}", e.message);
        assert!(e.message.contains(says), "{bad}: {}", e.message);
    }
    let e = one_error("[bar]\nleft = [\"group#a\"]\n[module.\"group#a\"]\nmodules = [\"cpu\"]\n[module.\"group#a\".style.focused]\ncolor = \"#fff\"\n");
    assert!(e.message.contains("not a state here"), "{}", e.message);
    assert!(e.message.contains("open, hover"), "{}", e.message);
}

#[test]
fn the_bars_own_box_is_read_from_bar_style_bar() {
    let c = parse(
        "[bar.style]\nradius = 4\n[bar.style.bar]\nmargin = [6, 10]\nradius = 12\nbackground = \"#102030\"\n",
        "t",
        None,
    )
    .unwrap();
    assert_eq!(c.bar.frame.margin, Some([6, 10, 6, 10]));
    assert_eq!(c.bar.frame.radius, Some([12; 4]));
    assert!(c.bar.style.states.is_empty(), "the bar's box is no state");
    assert_eq!(c.bar.style.base.radius, Some([4; 4]));
    let e = one_error("[bar.style.bar]\ncolor = \"#fff\"\n");
    assert_eq!((e.line, e.column), (2, 1));
    assert!(
        e.message.contains("does not apply to the bar itself"),
        "{}",
        e.message
    );
    let e = one_error("[bar.style.bar]\nradus = 3\n");
    assert!(
        e.message.contains("did you mean `radius`?"),
        "{}",
        e.message
    );
}

/// `font = "…"` is read as Pango reads a font description (what Waybar
/// and Sway configs hold): a trailing size (points at 96 dpi, or `px`) and
/// style words; a plain family stays one family.
#[test]
fn a_font_string_is_a_pango_description() {
    let font = |s: &str| {
        parse(&format!("[bar]\nfont = {s:?}\n"), "t", None)
            .unwrap_or_else(|e| panic!("{s}: {e:?}"))
            .bar
            .font
    };
    let f = font("Sans Bold 12");
    assert_eq!(f.family, ["Sans"]);
    assert_eq!((f.weight, f.size, f.italic, f.width), (700, 16.0, false, 0));
    let plain = font("JetBrainsMono Nerd Font");
    assert_eq!(plain.family, ["JetBrainsMono Nerd Font"]);
    assert_eq!((plain.weight, plain.size), (400, 14.0), "defaults kept");
    assert_eq!(font("DejaVu Sans Mono").family, ["DejaVu Sans Mono"]);
    let f = font("pango:DejaVu Sans Mono, Noto Sans Semi-Bold Italic 10");
    assert_eq!(f.family, ["DejaVu Sans Mono", "Noto Sans"]);
    assert_eq!((f.weight, f.italic), (600, true));
    assert!((f.size - 13.333).abs() < 0.01, "{}", f.size);
    let f = font("Noto Sans Condensed Light 15px");
    assert_eq!(
        (f.family.as_slice(), f.weight, f.width, f.size),
        (&["Noto Sans".to_string()][..], 300, 3, 15.0)
    );
    let f = font("Noto Sans Symbols 2,");
    assert_eq!(f.family, ["Noto Sans Symbols 2"]);
    assert_eq!(f.size, 14.0);
    let f = font("Bold");
    assert!(
        f.family.is_empty() && f.weight == 700,
        "a style alone: the embedded font, bold"
    );
    assert_eq!(font("Sans Normal").weight, 400);

    let e = one_error("[bar]\nfont = \"Noto Sans Symbols 2\"\n");
    assert!(
        e.message.contains("\"Noto Sans Symbols 2,\""),
        "{}",
        e.message
    );
    let e = one_error("[bar]\nfont = \"Sans Small-Caps 12\"\n");
    assert!(e.message.contains("Small-Caps"), "{}", e.message);
    let e = one_error("[module.cpu.style]\nfont = \"Sans Italic\"\n");
    assert!(e.message.contains("`bar.font` only"), "{}", e.message);
    // A style's description gives its family, weight and size.
    let c = parse(
        "[bar]\nleft = [\"cpu\"]\n[module.cpu.style]\nfont = \"DejaVu Serif Bold 9\"\n",
        "t",
        None,
    )
    .unwrap();
    let m = c.modules.iter().find(|m| m.name == "cpu").unwrap();
    let p = m.styles.base.font;
    assert_eq!((p.weight, p.size), (Some(700), Some(12.0)));
    assert_eq!(
        c.bar.style_families[p.family.unwrap() as usize - 1],
        ["DejaVu Serif"]
    );
}

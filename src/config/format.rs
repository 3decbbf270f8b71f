//! Format strings with named placeholders: `"CPU {usage:>3.0}%"`.
//!
//! A template is parsed once, when the config is loaded, against the list of
//! placeholder names its module offers; rendering a tick only writes into a
//! reused `String` (no allocation). Syntax, a subset of Rust's:
//! `{name}` or `{name:SPEC}` with SPEC = `[align][width][.precision]`,
//! align one of `<` `>` `^`; `{{` and `}}` are literal braces.

use std::fmt::Write;

/// How a placeholder is padded to its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
    Center,
}

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    /// Index into the module's placeholder list.
    Field {
        index: usize,
        /// `None`: numbers right-aligned, text left-aligned (Rust's default).
        align: Option<Align>,
        width: usize,
        precision: Option<usize>,
    },
}

/// A parsed format string.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Template {
    pub pieces: Vec<Piece>,
    /// The text as written, for error messages and re-printing.
    pub source: String,
    /// Its literal text holds markup ([`crate::render::markup`]): what it
    /// renders is drawn as markup, and text values are escaped into it.
    pub markup: bool,
}

/// A value a module hands to [`Template::render`] for one placeholder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Float(f64),
    Int(i64),
    Text(&'a str),
    /// Text that is markup itself (a script's output): never escaped.
    Markup(&'a str),
    /// The source is absent (no sensor): drawn as `--`, padded like the rest.
    Absent,
}

/// Where in the format string something is wrong (character offset) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    pub offset: usize,
    pub message: String,
}

/// The longest width or precision accepted: a bar has no room for more, and
/// it bounds what one placeholder can make a tick write.
pub const MAX_WIDTH: usize = 64;

impl Template {
    /// Parses `src`; `names` are the placeholders the module offers.
    pub fn parse(src: &str, names: &[&str]) -> Result<Template, FormatError> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let chars: Vec<(usize, char)> = src.char_indices().collect();
        let mut i = 0;
        let err = |offset: usize, message: String| FormatError { offset, message };
        while i < chars.len() {
            let (off, c) = chars[i];
            match c {
                '{' if chars.get(i + 1).map(|p| p.1) == Some('{') => {
                    lit.push('{');
                    i += 2;
                }
                '}' if chars.get(i + 1).map(|p| p.1) == Some('}') => {
                    lit.push('}');
                    i += 2;
                }
                '}' => return Err(err(off, "a lone `}` (write `}}` for a brace)".into())),
                '{' => {
                    let close = chars[i..]
                        .iter()
                        .position(|p| p.1 == '}')
                        .map(|n| i + n)
                        .ok_or_else(|| err(off, "`{` without a closing `}`".into()))?;
                    let inner: String = chars[i + 1..close].iter().map(|p| p.1).collect();
                    let (name, spec) = match inner.split_once(':') {
                        Some((n, s)) => (n, Some(s)),
                        None => (inner.as_str(), None),
                    };
                    let index = names.iter().position(|n| *n == name).ok_or_else(|| {
                        let hint = super::suggest::nearest(name, names.iter().copied())
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default();
                        err(
                            off,
                            format!(
                                "unknown placeholder `{{{name}}}`{hint}; this module offers: {}",
                                names.join(", ")
                            ),
                        )
                    })?;
                    let (align, width, precision) = match spec {
                        Some(s) => parse_spec(s).map_err(|m| err(off, m))?,
                        None => (None, 0, None),
                    };
                    if !lit.is_empty() {
                        pieces.push(Piece::Literal(std::mem::take(&mut lit)));
                    }
                    pieces.push(Piece::Field {
                        index,
                        align,
                        width,
                        precision,
                    });
                    i = close + 1;
                }
                c => {
                    lit.push(c);
                    i += 1;
                }
            }
        }
        if !lit.is_empty() {
            pieces.push(Piece::Literal(lit));
        }
        let markup = pieces.iter().any(|p| match p {
            Piece::Literal(s) => crate::render::markup::has_markup(s),
            Piece::Field { .. } => false,
        });
        Ok(Template {
            pieces,
            source: src.to_string(),
            markup,
        })
    }

    /// Appends the template with `values[i]` for placeholder `i` into `out`.
    /// A placeholder without a value renders as absent.
    pub fn render(&self, out: &mut String, values: &[Value<'_>]) {
        for p in &self.pieces {
            match p {
                Piece::Literal(s) => out.push_str(s),
                Piece::Field {
                    index,
                    align,
                    width,
                    precision,
                } => {
                    let v = values.get(*index).copied().unwrap_or(Value::Absent);
                    render_value(out, v, *align, *width, *precision, self.markup);
                }
            }
        }
    }

    /// Whether placeholder `index` appears in the template (a module can skip
    /// work for values nobody shows).
    pub fn uses(&self, index: usize) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Field { index: i, .. } if *i == index))
    }
}

fn parse_spec(s: &str) -> Result<(Option<Align>, usize, Option<usize>), String> {
    let mut rest = s;
    let align = match rest.chars().next() {
        Some('<') => Some(Align::Left),
        Some('>') => Some(Align::Right),
        Some('^') => Some(Align::Center),
        _ => None,
    };
    if align.is_some() {
        rest = &rest[1..];
    }
    let (w, p) = match rest.split_once('.') {
        Some((w, p)) => (w, Some(p)),
        None => (rest, None),
    };
    let num = |t: &str, what: &str| -> Result<usize, String> {
        let n: usize = t.parse().map_err(|_| {
            format!(
                "bad format spec `{s}`: {what} `{t}` is not a number (expected e.g. `>3` or `.1`)"
            )
        })?;
        if n > MAX_WIDTH {
            return Err(format!(
                "bad format spec `{s}`: {what} {n} is over {MAX_WIDTH}"
            ));
        }
        Ok(n)
    };
    let width = if w.is_empty() { 0 } else { num(w, "width")? };
    let precision = match p {
        Some(p) => Some(num(p, "precision")?),
        None => None,
    };
    Ok((align, width, precision))
}

/// Below this every `f64` is a whole number or has a fraction, and rounds to
/// a whole number exactly (2^53).
const EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// Appends `n` in decimal, as `{n}` would.
fn push_digits(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        out.push(char::from(d));
    }
}

fn render_value(
    out: &mut String,
    v: Value<'_>,
    align: Option<Align>,
    width: usize,
    prec: Option<usize>,
    escape: bool,
) {
    let numeric = matches!(v, Value::Float(_) | Value::Int(_));
    let align = align.unwrap_or(if numeric { Align::Right } else { Align::Left });
    // Formatting into `out` directly keeps this allocation-free; the padding
    // is computed from the characters written.
    let start = out.len();
    // Characters shown, when escaping makes it differ from those written.
    let mut shown = None;
    let _ = match v {
        // Whole numbers (`{usage:>3.0}`, counts) skip `core::fmt`'s float
        // machinery: most templates show them, every tick.
        Value::Float(f) if prec == Some(0) && f.abs() < EXACT_INT => {
            let r = f.round_ties_even();
            // `{:.0}` keeps the sign of a negative value that rounds to 0.
            if f.is_sign_negative() {
                out.push('-');
            }
            push_digits(out, r.abs() as u64);
            Ok(())
        }
        Value::Float(f) => write!(out, "{f:.p$}", p = prec.unwrap_or(1)),
        Value::Int(n) => {
            if n < 0 {
                out.push('-');
            }
            push_digits(out, n.unsigned_abs());
            Ok(())
        }
        Value::Text(t) if escape => {
            let mut n = 0;
            for c in t.chars().take(prec.unwrap_or(usize::MAX)) {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    c => out.push(c),
                }
                n += 1;
            }
            shown = Some(n);
            Ok(())
        }
        Value::Text(t) | Value::Markup(t) => {
            match prec {
                // Precision on text truncates by characters, as in Rust.
                Some(p) => {
                    for c in t.chars().take(p) {
                        out.push(c);
                    }
                }
                None => out.push_str(t),
            }
            Ok(())
        }
        Value::Absent => {
            out.push_str("--");
            Ok(())
        }
    };
    let n = shown.unwrap_or_else(|| out[start..].chars().count());
    if n >= width {
        return;
    }
    let pad = width - n;
    let (before, after) = match align {
        Align::Left => (0, pad),
        Align::Right => (pad, 0),
        Align::Center => (pad / 2, pad - pad / 2),
    };
    if before > 0 {
        // Shift the written value right by inserting spaces in front of it.
        for _ in 0..before {
            out.insert(start, ' ');
        }
    }
    for _ in 0..after {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["usage", "temp", "name"];

    fn render(src: &str, values: &[Value<'_>]) -> String {
        let t = Template::parse(src, NAMES).unwrap();
        let mut s = String::new();
        t.render(&mut s, values);
        s
    }

    #[test]
    fn widths_precision_and_alignment() {
        let v = [Value::Float(7.25), Value::Int(52), Value::Text("fire")];
        assert_eq!(render("CPU {usage:>5.1}%", &v), "CPU   7.2%");
        assert_eq!(render("{usage:.0}|{temp}|{name}", &v), "7|52|fire");
        assert_eq!(
            render("[{name:>6}][{name:<6}][{name:^7}]", &v),
            "[  fire][fire  ][ fire  ]"
        );
        assert_eq!(render("[{temp:4}][{name:6}]", &v), "[  52][fire  ]");
        assert_eq!(render("{name:.2}", &v), "fi");
        assert_eq!(render("{{literal}} {usage}", &v), "{literal} 7.2");
        assert_eq!(render("{usage}", &[Value::Float(12.345)]), "12.3");
    }

    #[test]
    fn whole_numbers_render_as_core_fmt_does() {
        // Ties (x.5), negatives rounding to zero, -0, large values, the
        // limits of i64 and of exact integers, and values past them.
        let mut floats = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            -0.4,
            -2.5,
            99.5,
            100.0,
            4503599627370495.5,
            EXACT_INT - 1.0,
            EXACT_INT,
            1e300,
            -1e300,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ];
        floats.extend((0..4000).map(|i| i as f64 * 0.037 - 20.0));
        floats.extend((0..200).map(|i| i as f64 + 0.5));
        for f in floats {
            for spec in ["{usage:.0}", "{usage:>3.0}", "{usage:<5.0}"] {
                let want = match spec {
                    "{usage:.0}" => format!("{f:.0}"),
                    "{usage:>3.0}" => format!("{f:>3.0}"),
                    _ => format!("{f:<5.0}"),
                };
                assert_eq!(render(spec, &[Value::Float(f)]), want, "{f:?} {spec}");
            }
        }
        for n in [0, 1, -1, 9, 10, -10, 12345, i64::MAX, i64::MIN] {
            assert_eq!(
                render("{temp:>4}", &[Value::Absent, Value::Int(n)]),
                format!("{n:>4}")
            );
        }
    }

    #[test]
    fn absent_values_keep_their_width() {
        assert_eq!(
            render("[{temp:>4}]", &[Value::Absent, Value::Absent]),
            "[  --]"
        );
        assert_eq!(render("{name}", &[]), "--");
    }

    #[test]
    fn multibyte_text_pads_by_characters() {
        let v = [
            Value::Absent,
            Value::Absent,
            Value::Text("h\u{e9}\u{1f600}"),
        ];
        assert_eq!(render("[{name:>5}]", &v), "[  h\u{e9}\u{1f600}]");
    }

    #[test]
    fn errors_point_at_the_placeholder() {
        let e = Template::parse("ok {usag}", NAMES).unwrap_err();
        assert_eq!(e.offset, 3);
        assert!(
            e.message.contains("unknown placeholder `{usag}`"),
            "{}",
            e.message
        );
        assert!(e.message.contains("did you mean `usage`"), "{}", e.message);
        for (bad, want) in [
            ("{usage", "without a closing"),
            ("x } y", "lone `}`"),
            ("{usage:>x}", "not a number"),
            ("{usage:.999}", "over 64"),
            ("{}", "unknown placeholder `{}`"),
        ] {
            let e = Template::parse(bad, NAMES).unwrap_err();
            assert!(e.message.contains(want), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn uses_reports_placeholders() {
        let t = Template::parse("{temp} x", NAMES).unwrap();
        assert!(t.uses(1) && !t.uses(0));
    }
}

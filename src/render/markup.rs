//! The markup subset formats, scripts and tooltips use (Pango's, as Waybar
//! themes write it): `<b>`, `<i>`, `<u>`, `<s>`, `<tt>`, `<small>`, `<big>`,
//! `<sub>`, `<sup>`, `<span …>` with `color`/`foreground`/`fgcolor`,
//! `background`/`bgcolor`, `font_weight`/`weight`, `font_style`/`style`,
//! `underline`, `strikethrough`, `font_size`/`size`, `font_family`/`face`,
//! and the entities `&amp;` `&lt;` `&gt;` `&quot;` `&apos;` `&#N;` `&#xH;`.
//! Sizes and families are drawn: [`shape`] shapes a run in its own size or
//! family separately, [`draw`] rasterises each glyph at its run's size.
//!
//! Parsing writes the plain text and runs of uniform [`Attrs`] ([`Span`]s,
//! byte ranges of the plain text). It never fails: whatever is not markup
//! it knows (an unknown tag, a stray `<` or `&`, a closing tag that closes
//! nothing) stays in the text as written, and is handed to a `report`
//! callback so the caller can say so once. Nothing here allocates: the
//! plain text and the spans go into what the caller passes.

use std::fmt::Write;

use super::glyphs::GlyphCache;
use super::layout::Rect;
use super::paint::Canvas;
use super::segment::Rgba;
use super::text::{FontId, Placed, Shaped, NO_FACE};

/// How a run of text is drawn, beyond the segment's own style.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Attrs {
    /// Text colour; `None`: the segment's.
    pub fg: Option<Rgba>,
    /// A fill behind the run's glyphs.
    pub bg: Option<Rgba>,
    /// Drawn bold (a second stroke one pixel right when the face has no
    /// bold of its own).
    pub bold: bool,
    /// Drawn slanted.
    pub italic: bool,
    pub underline: bool,
    pub strike: bool,
    /// Raised (`> 0`, `<sup>`) or lowered (`< 0`, `<sub>`).
    pub rise: i8,
    /// An absolute size (`size="12288"`, `"12pt"`), logical pixels × 4;
    /// 0: the segment's.
    pub size: u16,
    /// Times that size, in 1024ths (`<big>`, `larger`, `x-large`, `150%`);
    /// 0 stands for 1×.
    pub scale: u16,
    /// The font set of a `font_family`/`face` (the caller resolves the
    /// name once per text change); 0: the segment's.
    pub family: FontId,
}

impl Attrs {
    /// Whether the run is drawn in another font or size than the segment.
    pub fn resized(&self) -> bool {
        self.size != 0 || (self.scale != 0 && self.scale != 1024) || self.family != 0
    }

    /// Its glyphs' size in buffer pixels, for a segment drawn at `px` at
    /// `scale120` (120ths, as the renderer's).
    pub fn px(&self, px: u16, scale120: u32) -> u16 {
        let base = match self.size {
            0 => px as f32,
            q => q as f32 / 4.0 * scale120 as f32 / 120.0,
        };
        let k = match self.scale {
            0 => 1.0,
            n => n as f32 / 1024.0,
        };
        (base * k).round().clamp(1.0, 1024.0) as u16
    }

    fn times(&mut self, k: f32) {
        let now = match self.scale {
            0 => 1024.0,
            n => n as f32,
        };
        self.scale = (now * k).round().clamp(64.0, 16384.0) as u16;
    }
}

/// Pango's sizes: 1024ths of a point (`"12288"`), points (`"12pt"`,
/// `"12.5pt"`; 96 dpi: 4/3 px each), the absolute keywords (`medium` is
/// the segment's size, each step 1.2×), `larger`/`smaller` and a
/// percentage of the current size.
fn size_attr(a: &mut Attrs, v: &str) -> bool {
    let steps = [
        ("xx-small", -3),
        ("x-small", -2),
        ("small", -1),
        ("medium", 0),
        ("large", 1),
        ("x-large", 2),
        ("xx-large", 3),
    ];
    if let Some(&(_, n)) = steps.iter().find(|(k, _)| *k == v) {
        a.size = 0;
        a.scale = 0;
        a.times(1.2f32.powi(n));
        return true;
    }
    let pt = |n: f32| ((n * 4.0 / 3.0 * 4.0).round().clamp(4.0, 4096.0)) as u16;
    match v {
        "larger" => a.times(1.2),
        "smaller" => a.times(1.0 / 1.2),
        _ => {
            if let Some(p) = v.strip_suffix('%') {
                match p.trim().parse::<f32>() {
                    Ok(p) if p > 0.0 && p <= 1000.0 => a.times(p / 100.0),
                    _ => return false,
                }
            } else if let Some(p) = v.strip_suffix("pt") {
                match p.trim().parse::<f32>() {
                    Ok(p) if p > 0.0 && p <= 1000.0 => {
                        a.size = pt(p);
                        a.scale = 0;
                    }
                    _ => return false,
                }
            } else {
                match v.parse::<u32>() {
                    Ok(n) if n > 0 && n <= 1024 * 1000 => {
                        a.size = pt(n as f32 / 1024.0);
                        a.scale = 0;
                    }
                    _ => return false,
                }
            }
        }
    }
    true
}

/// A run of plain text `start..end` (bytes) drawn with `attrs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub start: u16,
    pub end: u16,
    pub attrs: Attrs,
}

/// Most spans one bar segment keeps; later changes of attributes extend
/// the last span (a segment is a few words).
pub const SEGMENT_SPANS: usize = 12;

/// A fixed list of spans (a bar segment's: no heap, `Copy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SpanList {
    items: [Span; SEGMENT_SPANS],
    len: u8,
}

impl SpanList {
    /// The spans.
    pub fn as_slice(&self) -> &[Span] {
        &self.items[..self.len as usize]
    }

    /// Empties the list.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Extend<Span> for SpanList {
    fn extend<I: IntoIterator<Item = Span>>(&mut self, iter: I) {
        for s in iter {
            if (self.len as usize) < SEGMENT_SPANS {
                self.items[self.len as usize] = s;
                self.len += 1;
            } else if let Some(last) = self.items.last_mut() {
                // Out of room: the rest keeps the last run's look.
                last.end = s.end;
            }
        }
    }
}

/// The attributes at byte `at` of the plain text (the default outside
/// every span).
pub fn attrs_at(spans: &[Span], at: usize) -> Attrs {
    spans
        .iter()
        .find(|s| (s.start as usize) <= at && at < s.end as usize)
        .map_or(Attrs::default(), |s| s.attrs)
}

/// Whether `s` holds something markup would change: a tag it knows or an
/// entity. Text without either is drawn as it is, unparsed.
pub fn has_markup(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| match c {
        b'<' => tag_at(&s[i..]).is_some(),
        b'&' => entity_at(&s[i..]).is_some(),
        _ => false,
    })
}

/// Appends `s` to `out` with `&`, `<` and `>` written as entities (a value
/// put into a markup format stays text).
pub fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
}

/// Nesting kept; deeper tags still parse, their looks fold into the
/// innermost kept one.
const DEPTH: usize = 8;

/// Tags that open an element.
const TAGS: &[&str] = &[
    "b", "i", "u", "s", "tt", "small", "big", "sub", "sup", "span",
];

/// The known tag at the start of `s` (which begins with `<`): its name,
/// whether it closes, its attribute text and its length in bytes.
fn tag_at(s: &str) -> Option<(&str, bool, &str, usize)> {
    let end = s.find('>')?;
    let inner = &s[1..end];
    let (closing, inner) = match inner.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, inner),
    };
    let inner = inner.trim_end_matches('/');
    let name_end = inner
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(inner.len());
    let name = &inner[..name_end];
    if !TAGS.contains(&name) {
        return None;
    }
    let rest = &inner[name_end..];
    if (closing || name != "span") && !rest.trim().is_empty() {
        return None;
    }
    Some((name, closing, rest, end + 1))
}

/// The character an entity at the start of `s` (beginning with `&`) stands
/// for, and its length.
fn entity_at(s: &str) -> Option<(char, usize)> {
    let end = s.bytes().take(12).position(|b| b == b';')?;
    let name = &s[1..end];
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        _ => {
            let n = name.strip_prefix('#')?;
            let v = match n.strip_prefix(['x', 'X']) {
                Some(h) => u32::from_str_radix(h, 16).ok()?,
                None => n.parse().ok()?,
            };
            char::from_u32(v).filter(|c| !c.is_control() || *c == '\n' || *c == '\t')?
        }
    };
    Some((c, end + 1))
}

/// Pango's colour names that themes use, beside `#rgb`, `#rrggbb`,
/// `#rrggbbaa`.
fn color(v: &str) -> Option<Rgba> {
    if let Some(h) = v.strip_prefix('#') {
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let n = u32::from_str_radix(h, 16).ok()?;
        return match h.len() {
            3 => {
                let d = |i: u32| ((n >> (8 - 4 * i)) & 0xf) * 17;
                Some(Rgba::hex(d(0) << 24 | d(1) << 16 | d(2) << 8 | 0xff))
            }
            6 => Some(Rgba::hex(n << 8 | 0xff)),
            8 => Some(Rgba::hex(n)),
            _ => None,
        };
    }
    let hex = match v.to_ascii_lowercase().as_str() {
        "black" => 0x000000,
        "white" => 0xffffff,
        "red" => 0xff0000,
        "green" => 0x008000,
        "lime" => 0x00ff00,
        "blue" => 0x0000ff,
        "yellow" => 0xffff00,
        "orange" => 0xffa500,
        "cyan" | "aqua" => 0x00ffff,
        "magenta" | "fuchsia" => 0xff00ff,
        "purple" => 0x800080,
        "pink" => 0xffc0cb,
        "brown" => 0xa52a2a,
        "gray" | "grey" => 0xbebebe,
        "darkgray" | "darkgrey" => 0xa9a9a9,
        "lightgray" | "lightgrey" => 0xd3d3d3,
        _ => return None,
    };
    Some(Rgba::hex(hex << 8 | 0xff))
}

/// Resolves a `font_family` name to a font set (once per text change).
pub type Families<'a> = dyn FnMut(&str) -> FontId + 'a;

/// Applies one `name="value"` of a `<span>`; false when it is not one this
/// subset knows (or its value is bad).
fn span_attr(a: &mut Attrs, name: &str, value: &str, family: &mut Families) -> bool {
    match name {
        "color" | "foreground" | "fgcolor" => color(value).map(|c| a.fg = Some(c)).is_some(),
        "background" | "bgcolor" => color(value).map(|c| a.bg = Some(c)).is_some(),
        "font_weight" | "weight" => {
            let bold = match value {
                "bold" | "ultrabold" | "heavy" | "semibold" | "ultraheavy" | "extrabold" => true,
                "normal" | "light" | "ultralight" | "book" | "medium" | "thin" => false,
                n => match n.parse::<u16>() {
                    Ok(w) => w >= 600,
                    Err(_) => return false,
                },
            };
            a.bold = bold;
            true
        }
        "font_style" | "style" => match value {
            "italic" | "oblique" => {
                a.italic = true;
                true
            }
            "normal" => {
                a.italic = false;
                true
            }
            _ => false,
        },
        "underline" => match value {
            "single" | "double" | "low" | "error" | "true" => {
                a.underline = true;
                true
            }
            "none" | "false" => {
                a.underline = false;
                true
            }
            _ => false,
        },
        "strikethrough" => match value {
            "true" => {
                a.strike = true;
                true
            }
            "false" => {
                a.strike = false;
                true
            }
            _ => false,
        },
        "font_size" | "size" => size_attr(a, value.trim()),
        "font_family" | "face" => {
            let name = value.trim();
            if !name.is_empty() {
                a.family = family(name);
            }
            !name.is_empty()
        }
        // A whole font description ("Sans Bold 12") is accepted; the text
        // keeps the segment's font.
        "font" | "font_desc" => !value.is_empty(),
        _ => false,
    }
}

/// Applies a `<span>`'s attribute text; false when any part of it is not
/// understood (then the whole tag is text).
fn span_attrs(a: &mut Attrs, mut rest: &str, family: &mut Families) -> bool {
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return true;
        }
        let Some(eq) = rest.find('=') else {
            return false;
        };
        let name = rest[..eq].trim();
        let after = rest[eq + 1..].trim_start();
        let Some(q) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            return false;
        };
        let Some(close) = after[1..].find(q) else {
            return false;
        };
        let value = &after[1..1 + close];
        if !span_attr(a, name, value, family) {
            return false;
        }
        rest = &after[close + 2..];
    }
}

/// Parses `src` into plain text appended to `plain` and spans (byte ranges
/// counted from `plain`'s length before the call, `base`) into `spans`.
/// `report` hears each piece of the source kept as text because it is not
/// markup this subset knows (an unknown tag, a bad attribute, a stray `&`).
pub fn parse<W: Write, S: Extend<Span>>(
    src: &str,
    plain: &mut W,
    base: usize,
    spans: &mut S,
    report: &mut dyn FnMut(&str),
) {
    parse_fonts(src, plain, base, spans, report, &mut |_| 0);
}

/// [`parse`], with `font_family` names resolved by `family`.
pub fn parse_fonts<W: Write, S: Extend<Span>>(
    src: &str,
    plain: &mut W,
    base: usize,
    spans: &mut S,
    report: &mut dyn FnMut(&str),
    family: &mut Families,
) {
    let mut stack = [(Attrs::default(), ""); DEPTH];
    let mut depth = 0usize;
    let mut cur = Attrs::default();
    let mut at = base;
    let mut run_start = base;
    let mut i = 0;
    let bytes = src.as_bytes();
    let mut text_from = 0;
    let flush_text = |plain: &mut W, at: &mut usize, t: &str| {
        let _ = plain.write_str(t);
        *at += t.len();
    };
    while i < bytes.len() {
        match bytes[i] {
            b'<' => {
                flush_text(plain, &mut at, &src[text_from..i]);
                text_from = i;
                let rest = &src[i..];
                let mut next = cur;
                let ok = match tag_at(rest) {
                    Some((name, false, attrs, len)) => {
                        let good = match name {
                            "b" => {
                                next.bold = true;
                                true
                            }
                            "i" => {
                                next.italic = true;
                                true
                            }
                            "u" => {
                                next.underline = true;
                                true
                            }
                            "s" => {
                                next.strike = true;
                                true
                            }
                            "sub" => {
                                next.rise = -1;
                                true
                            }
                            "sup" => {
                                next.rise = 1;
                                true
                            }
                            "small" => {
                                next.times(1.0 / 1.2);
                                true
                            }
                            "big" => {
                                next.times(1.2);
                                true
                            }
                            "tt" => {
                                next.family = family("monospace");
                                true
                            }
                            _ => span_attrs(&mut next, attrs, family),
                        };
                        if good {
                            if depth < DEPTH {
                                stack[depth] = (cur, name);
                            }
                            depth += 1;
                            Some(len)
                        } else {
                            None
                        }
                    }
                    Some((name, true, _, len)) => {
                        let top = depth.checked_sub(1).map(|d| stack[d.min(DEPTH - 1)]);
                        match top {
                            Some((before, open)) if open == name || depth > DEPTH => {
                                depth -= 1;
                                next = if depth < DEPTH { before } else { cur };
                                Some(len)
                            }
                            _ => None,
                        }
                    }
                    None => None,
                };
                match ok {
                    Some(len) => {
                        if next != cur {
                            if at > run_start {
                                spans.extend([span(run_start, at, cur)]);
                            }
                            run_start = at;
                            cur = next;
                        }
                        i += len;
                        text_from = i;
                    }
                    None => {
                        // The would-be tag up to its `>`, or a stray `<` alone.
                        let gt = rest.find('>');
                        let lt = rest[1..].find('<').map(|n| n + 1);
                        let end = match (gt, lt) {
                            (Some(g), Some(l)) if l < g => 1,
                            (Some(g), _) => g + 1,
                            _ => 1,
                        };
                        report(&rest[..end]);
                        i += 1;
                    }
                }
            }
            b'&' => {
                flush_text(plain, &mut at, &src[text_from..i]);
                match entity_at(&src[i..]) {
                    Some((c, len)) => {
                        let mut b = [0u8; 4];
                        flush_text(plain, &mut at, c.encode_utf8(&mut b));
                        i += len;
                    }
                    None => {
                        report("&");
                        flush_text(plain, &mut at, "&");
                        i += 1;
                    }
                }
                text_from = i;
            }
            _ => i += 1,
        }
    }
    flush_text(plain, &mut at, &src[text_from..]);
    if at > run_start {
        spans.extend([span(run_start, at, cur)]);
    }
}

fn span(start: usize, end: usize, attrs: Attrs) -> Span {
    let c = |v: usize| v.min(u16::MAX as usize) as u16;
    Span {
        start: c(start),
        end: c(end),
        attrs,
    }
}

/// Shapes `text` (plain text that starts at byte `base` of what `spans`
/// count) into `out`: in font set `font` at `px`, or, where spans change
/// the size or family, run by run in theirs (`tmp` is scratch), one pen.
#[allow(clippy::too_many_arguments)]
pub fn shape(
    glyphs: &mut GlyphCache,
    text: &str,
    (spans, base): (&[Span], usize),
    (font, px, scale120): (FontId, u16, u32),
    out: &mut Shaped,
    tmp: &mut Shaped,
) {
    let end = base + text.len();
    let resized = spans
        .iter()
        .any(|s| s.attrs.resized() && (s.start as usize) < end && (s.end as usize) > base);
    if !resized {
        glyphs.shape_in(font, text, px, out);
        return;
    }
    out.glyphs.clear();
    let mut pen = 0.0;
    let mut at = 0;
    while at < text.len() {
        // The run from `at` in one font and size: spans that agree join
        // (shaped together, so kerning holds across them).
        let a = attrs_at(spans, base + at);
        let key = |a: &Attrs| {
            (
                if a.family != 0 { a.family } else { font },
                a.px(px, scale120),
            )
        };
        let mut to = at;
        while to < text.len() {
            let b = attrs_at(spans, base + to);
            if key(&b) != key(&a) {
                break;
            }
            // The end of the span holding `to`, or the start of the next.
            let p = base + to;
            let next = spans
                .iter()
                .find(|s| (s.start as usize) <= p && p < s.end as usize)
                .map(|s| s.end as usize)
                .or_else(|| {
                    spans
                        .iter()
                        .map(|s| s.start as usize)
                        .filter(|&st| st > p)
                        .min()
                })
                .map_or(text.len(), |e| (e - base).min(text.len()));
            to = next.max(to + 1);
        }
        while !text.is_char_boundary(to) {
            to += 1;
        }
        let (id, run_px) = key(&a);
        glyphs.shape_in(id, &text[at..to], run_px, tmp);
        for g in &tmp.glyphs {
            out.glyphs.push(Placed {
                x: g.x + pen,
                at: g.at + at as u16,
                ..*g
            });
        }
        pen += tmp.width;
        at = to;
    }
    out.width = pen;
}

/// Draws shaped plain text with its spans' looks (the text starts at byte
/// `base` of what the spans count): pen at (`x`, `baseline`) in buffer
/// pixels, glyphs at `px` (a span's size scaled at `scale120`), all of it
/// bold with `bold` (the segment's font asks bold of a face without it),
/// in `fg` (straight RGBA)
/// where a span gives no colour, each colour's alpha scaled by `opacity`;
/// backgrounds fill `line_top..line_top + line_h`. Touches only `clip`.
#[allow(clippy::too_many_arguments)]
pub fn draw(
    canvas: &mut Canvas,
    glyphs: &mut GlyphCache,
    shaped: &Shaped,
    (spans, base): (&[Span], usize),
    (x, baseline): (i32, i32),
    (line_top, line_h): (i32, i32),
    (px, scale120, bold): (u16, u32, bool),
    fg: Rgba,
    opacity: u8,
    clip: Rect,
) {
    let fade = |c: Rgba| {
        let [r, g, b, a] = c.0;
        Rgba([r, g, b, ((a as u32 * opacity as u32 + 127) / 255) as u8]).premultiplied()
    };
    let p = px as i32;
    let stroke = (p / 14).max(1);
    let advance_end = |k: usize| {
        shaped
            .glyphs
            .get(k + 1)
            .map_or(shaped.width, |n| n.x)
            .round() as i32
    };
    // Backgrounds, underlines and strikes under and over whole advances.
    for (k, g) in shaped.glyphs.iter().enumerate() {
        let a = attrs_at(spans, base + g.at as usize);
        let x0 = x + g.x.round() as i32;
        let x1 = x + advance_end(k);
        let w = (x1 - x0).max(0);
        if let Some(bg) = a.bg {
            if let Some(r) = Rect::new(x0, line_top, w, line_h).intersect(clip) {
                canvas.blend_rect(r, fade(bg));
            }
        }
    }
    for (k, g) in shaped.glyphs.iter().enumerate() {
        let a = attrs_at(spans, base + g.at as usize);
        let color = fade(a.fg.unwrap_or(fg));
        if g.face == NO_FACE {
            glyphs.count_box(Some(g.ch));
        }
        let gx = x + g.x.round() as i32;
        let by = baseline + g.y.round() as i32 - a.rise as i32 * p / 3;
        let slant = if a.italic { 56 } else { 0 };
        let glyph = glyphs.glyph_id(g.face, g.gid, a.px(px, scale120));
        canvas.draw_glyph_slanted(glyph, gx, by, color, clip, slant);
        if a.bold || bold {
            canvas.draw_glyph_slanted(glyph, gx + stroke, by, color, clip, slant);
        }
        let w = (x + advance_end(k) - gx).max(0);
        if a.underline {
            if let Some(r) = Rect::new(gx, baseline + stroke + 1, w, stroke).intersect(clip) {
                canvas.blend_rect(r, color);
            }
        }
        if a.strike {
            if let Some(r) = Rect::new(gx, baseline - p * 3 / 10, w, stroke).intersect(clip) {
                canvas.blend_rect(r, color);
            }
        }
    }
}

/// A report that each distinct problem is said once per process (at most
/// a few of them): markup is parsed again whenever text changes, and a
/// script printing the same bad tag every second must not fill the log.
pub fn report_once(what: &str) {
    use std::sync::Mutex;
    static SAID: Mutex<Vec<String>> = Mutex::new(Vec::new());
    const MAX: usize = 8;
    let Ok(mut said) = SAID.lock() else { return };
    if said.len() >= MAX || said.iter().any(|s| s == what) {
        return;
    }
    said.push(what.to_string());
    eprintln!("rstat: markup: `{what}` is not markup rstat knows; shown as text");
    if said.len() == MAX {
        eprintln!("rstat: markup: further problems are not reported");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(src: &str) -> (String, Vec<Span>, Vec<String>) {
        let mut plain = String::new();
        let mut spans = Vec::new();
        let mut bad = Vec::new();
        parse(src, &mut plain, 0, &mut spans, &mut |s| {
            bad.push(s.to_string())
        });
        (plain, spans, bad)
    }

    #[test]
    fn pango_sizes_parse_to_pixels() {
        let px = |src: &str| {
            let (_, s, bad) = run(src);
            assert!(bad.is_empty(), "{src}: {bad:?}");
            s[0].attrs.px(14, 120)
        };
        // 1024ths of a point and points: 96 dpi, 4/3 px a point.
        assert_eq!(px("<span size='12288'>x</span>"), 16);
        assert_eq!(px("<span font_size='12pt'>x</span>"), 16);
        assert_eq!(px("<span size='7.5pt'>x</span>"), 10);
        // Keywords: medium is the segment's size, 1.2× a step.
        assert_eq!(px("<span size='medium'>x</span>"), 14);
        assert_eq!(px("<span size='x-large'>x</span>"), 20);
        assert_eq!(px("<span size='small'>x</span>"), 12);
        // Relative: to the current size, and they nest.
        assert_eq!(px("<span size='200%'>x</span>"), 28);
        assert_eq!(px("<big>x</big>"), 17);
        assert_eq!(px("<small><small>x</small></small>"), 10);
        assert_eq!(px("<span size='12pt'><big>x</big></span>"), 19);
        assert_eq!(px("<span size='larger'>x</span>"), 17);
        // At scale 2 an absolute size doubles; a relative one follows px.
        let (_, s, _) = run("<span size='12pt'>x</span>");
        assert_eq!(s[0].attrs.px(28, 240), 32);
        // Bad sizes are text, reported.
        for bad in [
            "<span size='huge'>x</span>",
            "<span size='-3pt'>x</span>",
            "<span size='0'>x</span>",
        ] {
            let (t, _, b) = run(bad);
            assert_eq!(t, bad, "{bad}");
            assert_eq!(b.len(), 2, "{bad}: {b:?}");
        }
    }

    #[test]
    fn tags_make_spans_of_the_plain_text() {
        let (t, s, bad) =
            run("a <b>bold</b> <span color='#ff0000' font_weight=\"bold\">red</span>!");
        assert_eq!(t, "a bold red!");
        assert!(bad.is_empty(), "{bad:?}");
        let at = |i| attrs_at(&s, i);
        assert_eq!(at(0), Attrs::default());
        assert!(at(2).bold && at(5).bold && !at(6).bold);
        assert_eq!(at(7).fg, Some(Rgba::hex(0xff0000ff)));
        assert!(at(7).bold);
        assert_eq!(at(10), Attrs::default());
        let (t, s, _) = run("<i>x<u>y</u></i><s>z</s><sup>2</sup><sub>3</sub>");
        assert_eq!(t, "xyz23");
        assert!(attrs_at(&s, 0).italic && !attrs_at(&s, 0).underline);
        assert!(attrs_at(&s, 1).italic && attrs_at(&s, 1).underline);
        assert!(attrs_at(&s, 2).strike && !attrs_at(&s, 2).italic);
        assert_eq!((attrs_at(&s, 3).rise, attrs_at(&s, 4).rise), (1, -1));
        let (_, s, bad) =
            run("<span background='#00f' fgcolor='white' underline='single'>x</span>");
        assert!(bad.is_empty());
        let a = attrs_at(&s, 0);
        assert_eq!(a.bg, Some(Rgba::hex(0x0000ffff)));
        assert_eq!(a.fg, Some(Rgba::hex(0xffffffff)));
        assert!(a.underline);
    }

    #[test]
    fn entities() {
        let (t, _, bad) = run("a &amp; b &lt;c&gt; &quot;&apos; &#65;&#x42; &nbsp;");
        assert_eq!(t, "a & b <c> \"' AB \u{a0}");
        assert!(bad.is_empty());
        // A stray ampersand stays, and is reported.
        let (t, _, bad) = run("R&D &bogus; &#xzz;");
        assert_eq!(t, "R&D &bogus; &#xzz;");
        assert_eq!(bad, ["&", "&", "&"]);
    }

    #[test]
    fn what_is_not_markup_stays_text_and_is_reported() {
        let (t, s, bad) = run("<blink>x</blink> 1 < 2 <b>y</i></b>");
        assert_eq!(t, "<blink>x</blink> 1 < 2 y</i>");
        assert_eq!(bad, ["<blink>", "</blink>", "<", "</i>"]);
        assert!(attrs_at(&s, t.find('y').unwrap()).bold);
        let (t, _, bad) = run("<span nonsense='1'>x</span>");
        assert_eq!(t, "<span nonsense='1'>x</span>");
        assert_eq!(bad.len(), 2);
        let (t, _, bad) = run("<span color='#zzz'>x");
        assert_eq!(t, "<span color='#zzz'>x");
        assert_eq!(bad.len(), 1);
        // Unclosed tags just run to the end; closing nothing is text.
        let (t, s, _) = run("<b>open");
        assert_eq!(t, "open");
        assert!(attrs_at(&s, 3).bold);
        // Never panics on odd input, multibyte included.
        for src in [
            "<",
            "&",
            "<<b>>",
            "<b",
            "&#;",
            "&#99999999;",
            "é<é>&é;",
            "<span color=>",
        ] {
            let _ = run(src);
        }
    }

    #[test]
    fn deep_nesting_stays_consistent() {
        let src = format!("{}x{}", "<b>".repeat(20), "</b>".repeat(20));
        let (t, s, bad) = run(&format!("{src}y"));
        assert_eq!(t, "xy");
        assert!(bad.is_empty(), "{bad:?}");
        assert!(attrs_at(&s, 0).bold && !attrs_at(&s, 1).bold);
    }

    #[test]
    fn detection_and_escaping() {
        assert!(has_markup("<b>x</b>") && has_markup("a &amp; b"));
        assert!(!has_markup("1 < 2 & 3 > 0") && !has_markup("CPU {usage}%"));
        let mut s = String::new();
        escape_into(&mut s, "a<b> & c");
        assert_eq!(s, "a&lt;b&gt; &amp; c");
        assert_eq!(run(&s).0, "a<b> & c");
    }

    #[test]
    fn a_span_list_keeps_its_room() {
        let src = "<b>a</b>b".repeat(SEGMENT_SPANS);
        let mut plain = String::new();
        let mut list = SpanList::default();
        parse(&src, &mut plain, 0, &mut list, &mut |_| {});
        assert_eq!(list.as_slice().len(), SEGMENT_SPANS);
        assert_eq!(list.as_slice().last().unwrap().end as usize, plain.len());
    }
}

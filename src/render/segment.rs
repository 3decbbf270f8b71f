//! What a module hands the renderer: short inline text with a style.
//!
//! Everything here is fixed-size and `Copy` so a tick can rebuild the whole
//! list of segments without touching the heap, and the renderer can diff it
//! against what it drew last with a plain `==`.

use std::fmt;

/// Most bytes of text one segment holds; longer text is cut between grapheme
/// clusters (a bar segment is a few words, never a paragraph: 254 bytes is a
/// 60-character title in any script, 84 CJK characters).
pub const TEXT_CAP: usize = 254;

/// Short UTF-8 text stored inline. Implements [`fmt::Write`], so modules can
/// `write!` numbers into it without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Text {
    bytes: [u8; TEXT_CAP],
    len: u8,
}

impl Default for Text {
    fn default() -> Self {
        Text {
            bytes: [0; TEXT_CAP],
            len: 0,
        }
    }
}

impl Text {
    /// Text holding `s` (cut to [`TEXT_CAP`] bytes at a character boundary).
    pub fn new(s: &str) -> Text {
        let mut t = Text::default();
        t.push_str(s);
        t
    }

    /// Empties the text.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        let bytes = &self.bytes[..self.len as usize];
        debug_assert!(std::str::from_utf8(bytes).is_ok());
        // SAFETY: the bytes only ever come from `push_str`, which copies
        // whole characters of a `&str` (it cuts at a char boundary), so
        // they are valid UTF-8. Checking them again costs every tick that
        // diffs, measures and draws segments.
        unsafe { std::str::from_utf8_unchecked(bytes) }
    }

    /// Appends as much of `s` as fits, cut between grapheme clusters (an
    /// accent stays with its letter); only a single cluster longer than the
    /// room (thousands of combining marks) is cut inside, at a character.
    pub fn push_str(&mut self, s: &str) {
        let room = TEXT_CAP - self.len as usize;
        let mut n = s.len().min(room);
        if n < s.len() {
            use unicode_segmentation::UnicodeSegmentation;
            let fit = s
                .grapheme_indices(true)
                .map(|(i, g)| i + g.len())
                .take_while(|&end| end <= room)
                .last();
            match fit {
                Some(end) => n = end,
                None if self.len > 0 => n = 0,
                None => {}
            }
        }
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        let at = self.len as usize;
        self.bytes[at..at + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n as u8;
    }
}

impl fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Truncate silently: a cut label is better than a failed tick.
        self.push_str(s);
        Ok(())
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A colour as straight (not premultiplied) RGBA, the way users write them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rgba(pub [u8; 4]);

impl Rgba {
    /// `0xRRGGBBAA`.
    pub const fn hex(v: u32) -> Rgba {
        Rgba(v.to_be_bytes())
    }

    /// The colour premultiplied by its alpha, as tiny-skia stores pixels
    /// (R, G, B, A in memory order).
    pub fn premultiplied(self) -> [u8; 4] {
        let [r, g, b, a] = self.0;
        let m = |c: u8| ((c as u32 * a as u32 + 127) / 255) as u8;
        [m(r), m(g), m(b), a]
    }
}

/// How a segment is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Style {
    /// Text colour.
    pub fg: Rgba,
    /// Background behind this segment only (its box); `None` shows the bar's.
    pub bg: Option<Rgba>,
    /// The box around the text: padding, border, radius, … (the default is
    /// a plain cell, the bar's padding either side).
    pub deco: Deco,
    /// The group box the segment sits on, shared with its neighbours of the
    /// same group; `None`: none.
    pub group: Option<GroupBox>,
    /// The font of its text (the default: the bar's).
    pub font: FontKey,
}

/// Which font a segment's text is drawn in, as a style names it; every
/// field 0 is the bar's. The renderer finds the faces the config resolved
/// for (`family`, `weight`) when the config was loaded
/// ([`super::text::GlyphCache::font_of`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FontKey {
    /// The style's family list (from 1), 0: the bar's families.
    pub family: u8,
    /// 100..=900; 0: the bar's weight.
    pub weight: u16,
    /// Logical pixels × 4; 0: the bar's size.
    pub size: u16,
}

impl FontKey {
    /// The set of faces it names (family list, weight).
    pub fn faces(&self) -> (u8, u16) {
        (self.family, self.weight)
    }
}

/// The shared box of a group of modules (an island): consecutive segments
/// with the same `id` are drawn on one box, whose padding, border and
/// margin sit before the first of them and after the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct GroupBox {
    /// Which group (the layout's order, from 1).
    pub id: u16,
    /// The box's background; `None`: the bar's shows through.
    pub bg: Option<Rgba>,
    /// Its gradient, padding (`None`: none), margin, border, radius,
    /// opacity and underline; `min_width` and `align` do not apply.
    pub deco: Deco,
    /// On a drawer's hidden member while the drawer slides open or closed:
    /// how much of the hidden members shows. `None`: all of the segment.
    pub slide: Option<Slide>,
}

/// How far a drawer has slid open: its hidden members together show
/// `shown / Slide::ALL` of their width, members nearest the first one
/// first, each clipped at the moving edge and drawn where it sits when the
/// drawer is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Slide {
    /// The part shown, 0 ..= [`Slide::ALL`].
    pub shown: u16,
    /// The drawer opens to the left of its first member (the moving edge
    /// is the left one).
    pub leftward: bool,
}

impl Slide {
    /// Everything shown.
    pub const ALL: u16 = u16::MAX;
}

/// Text placement inside a box wider than the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TextAlign {
    #[default]
    Left,
    Center,
    Right,
}

/// A segment's box, in logical pixels (the renderer scales them). Sides are
/// top, right, bottom, left; corners top-left, top-right, bottom-right,
/// bottom-left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Deco {
    /// The background's second stop and the angle in degrees (a linear
    /// gradient from [`Style::bg`]); `None`: plain.
    pub gradient: Option<(Rgba, i16)>,
    /// Inside the border; `None`: the bar's padding left and right.
    pub padding: Option<[u16; 4]>,
    /// Outside the border (the space that separates islands).
    pub margin: [u16; 4],
    /// Border widths and colours.
    pub border: [(u16, Rgba); 4],
    pub radius: [u16; 4],
    /// The box's least width (border and padding included).
    pub min_width: u16,
    pub align: TextAlign,
    /// 255 − opacity (so the default is opaque).
    pub transparency: u8,
    /// A bar of colour along the box's bottom edge: (height, colour).
    pub underline: (u16, Rgba),
}

impl Deco {
    /// The opacity as a 0–255 factor.
    pub fn opacity(&self) -> u8 {
        255 - self.transparency
    }
}

/// Which part of the bar a segment sits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Align {
    /// From the left end, in order.
    #[default]
    Left,
    /// Centred as a group.
    Center,
    /// Ending at the right end, in order.
    Right,
}

/// Names the popup a segment opens on hover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PopupId(pub u16);

impl PopupId {
    /// Tables of rows ([`super::popup`]): the health module's top processes.
    pub const TABLES: PopupId = PopupId(1);
    /// A month calendar ([`super::calendar`]): the clock's.
    pub const CALENDAR: PopupId = PopupId(2);
    /// The bit of every tooltip's id ([`super::tooltip`]: text, with
    /// markup); the rest names the segment it belongs to.
    pub const TOOLTIP_BASE: u16 = 0x8000;

    /// Whether this id names a tooltip.
    pub fn is_tooltip(self) -> bool {
        self.0 & Self::TOOLTIP_BASE != 0
    }
}

/// Where a click landed, in logical pixels: on the bar (`x`, `y` from its
/// top-left corner), inside the segment's box (`rel_x`, `rel_y`), and that
/// box's size (the i3bar protocol's click fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spot {
    pub x: i32,
    pub y: i32,
    pub rel_x: i32,
    pub rel_y: i32,
    pub width: i32,
    pub height: i32,
}

/// Names an output (monitor) by a hash of its name, so a fixed-size segment
/// can say which output's bar shows it (the workspaces module: each output
/// its own workspaces) without holding the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OutputTag(pub u32);

impl OutputTag {
    /// The tag of the output called `name` (FNV-1a; two names colliding
    /// would only show one output's workspaces on the other's bar too).
    pub fn of(name: &str) -> OutputTag {
        let mut h: u32 = 0x811c_9dc5;
        for b in name.bytes() {
            h ^= b as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
        OutputTag(h)
    }
}

/// One piece of the bar: text, style, where it goes, and what hovering it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Segment {
    /// What it says.
    pub text: Text,
    /// Colours.
    pub style: Style,
    /// Which group of the bar it sits in.
    pub align: Align,
    /// The popup hovering it opens, if any.
    pub popup: Option<PopupId>,
    /// Shown only on this output's bar; `None`: on every bar.
    pub output: Option<OutputTag>,
    /// The module's states while it drew this (bits named by the config's
    /// `state` table; the renderer only compares them).
    pub states: u32,
    /// The text is markup ([`super::markup`]): parsed before it is drawn.
    pub markup: bool,
}

impl Segment {
    /// A segment with `text` in `style` at `align`, no popup.
    pub fn new(text: &str, style: Style, align: Align) -> Segment {
        Segment {
            text: Text::new(text),
            style,
            align,
            popup: None,
            output: None,
            states: 0,
            markup: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    #[test]
    fn text_cuts_at_char_boundary() {
        let mut t = Text::default();
        for _ in 0..TEXT_CAP {
            t.push_str("é");
        }
        assert_eq!(t.as_str().chars().count(), TEXT_CAP / 2);
        let mut t = Text::new(&"a".repeat(TEXT_CAP - 1));
        t.push_str("é");
        assert_eq!(t.as_str().len(), TEXT_CAP - 1);
    }

    #[test]
    fn text_cuts_between_graphemes() {
        // "e" + combining acute: the cut must not leave a bare "e".
        let mut t = Text::new(&"a".repeat(TEXT_CAP - 2));
        t.push_str("e\u{301}");
        assert_eq!(t.as_str().len(), TEXT_CAP - 2);
        let t = Text::new(&format!("{}e\u{301}x", "a".repeat(TEXT_CAP - 3)));
        assert!(t.as_str().ends_with("e\u{301}"), "{:?}", t.as_str());
        // One huge cluster is cut inside rather than dropped whole.
        let marks: String = std::iter::once('a')
            .chain(std::iter::repeat_n('\u{301}', 10_000))
            .collect();
        let t = Text::new(&marks);
        assert!(t.as_str().starts_with('a') && t.as_str().len() > TEXT_CAP - 2);
    }

    #[test]
    fn text_formats_numbers() {
        let mut t = Text::default();
        write!(t, "CPU {:>3.0}%", 7.4f32).unwrap();
        assert_eq!(t.as_str(), "CPU   7%");
    }

    #[test]
    fn output_tags_differ_by_name() {
        assert_eq!(OutputTag::of("DP-1"), OutputTag::of("DP-1"));
        assert_ne!(OutputTag::of("DP-1"), OutputTag::of("DP-2"));
        assert_ne!(OutputTag::of("HEADLESS-1"), OutputTag::of("HEADLESS-2"));
    }

    #[test]
    fn premultiply() {
        assert_eq!(Rgba::hex(0xff804080).premultiplied(), [128, 64, 32, 128]);
        assert_eq!(Rgba::hex(0x11223344).0, [0x11, 0x22, 0x33, 0x44]);
    }
}

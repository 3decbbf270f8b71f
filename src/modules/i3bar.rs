//! The i3bar module: runs a swaybar/i3bar status command (i3status,
//! i3blocks, py3status, i3status-rs) and draws each block of its latest
//! status line as a segment in the block's `color` and `background`
//! (`short_text` and `markup: "pango"` applied; urgent blocks in the critical
//! colour). A click is sent to the command as the protocol's click event;
//! while the bar is hidden the command gets its `stop_signal`, and its
//! `cont_signal` when the bar is shown again. The protocol itself is in
//! [`crate::exec::i3bar`].
//!
//! Each block has its own tooltip: `tooltip_format` over the block's fields,
//! else the block's own `tooltip` if its command sends one (not in the
//! protocol, and i3blocks prints only the protocol's keys; a command of
//! one's own may send it), drawn as markup like a custom script's.
//! Rendered when a status line arrives.

use std::os::fd::RawFd;
use std::time::Instant;

use super::{
    Align, Button, Command, Context, Init, Level, Module, Palette, Placement, Segment, Tip,
};
use crate::config::format::Value;
use crate::config::{self, Key, KeyType, KindDef};
use crate::exec::i3bar::{Block, Click, I3bar, MinWidth, Status, MAX_BLOCKS};
use crate::exec::CommandLine;
use crate::render::{Deco, Rgba, Spot, Text, TextAlign};

/// The line between two blocks, as swaybar's default `separator` colour.
const SEPARATOR: Rgba = Rgba([0x66, 0x66, 0x66, 0xff]);

/// `i3bar`: a status command's blocks.
pub const KIND: KindDef = KindDef {
    name: "i3bar",
    about: "the blocks of an i3bar-protocol status command (i3status, i3blocks, py3status)",
    placeholders: &[("text", "a block's full_text")],
    format: "{text}",
    keys: &[
        Key::required("exec", KeyType::Command, "the status command to run"),
        Key::new(
            "short",
            KeyType::Bool(false),
            "draw each block's short_text where it has one",
        ),
    ],
    tooltip_placeholders: TOOLTIP_PLACEHOLDERS,
    ..KindDef::BASE
};

/// What `tooltip_format` may show of a block (its protocol fields), in
/// the order [`I3barModule`] hands them.
pub const TOOLTIP_PLACEHOLDERS: &[config::kind::Doc] = &[
    (
        "text",
        "what the block shows (`full_text`, or `short_text` with `short = true`)",
    ),
    ("full_text", "the block's `full_text` (Pango tags stripped)"),
    ("short_text", "its `short_text` (empty when it has none)"),
    ("name", "its `name`"),
    ("instance", "its `instance`"),
    (
        "tooltip",
        "its own `tooltip` (markup), if its command sends one",
    ),
];

/// Builds an i3bar module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(I3barModule::new(spec, init.place))
}

/// The i3bar module.
pub struct I3barModule {
    spec: config::Module,
    palette: Palette,
    align: Align,
    runner: Option<I3bar>,
    segments: Vec<Segment>,
    next: Vec<Segment>,
    /// `blocks[i]`: the block segment `i` shows (for clicks).
    blocks: Vec<usize>,
    /// `tips[i]`: `tooltip_format` rendered for segment `i` (the strings
    /// kept and reused, so a status line like the last allocates none).
    tips: Vec<Tip>,
    /// A block's text padded to a `min_width` string (capacity kept).
    padded: String,
    error: Option<String>,
}

/// The box of block `b` as swaybar draws it: its border (each side's width),
/// `min_width` in pixels, the text's `align` inside it, and after it
/// `separator_block_width` of space with the separator line in its middle
/// (none after the `last` block, nor where `separator` is false or the
/// block's own right border is drawn); the `first` and `last` blocks keep
/// half that space from the module's neighbours.
pub fn deco(b: &Block, first: bool, last: bool) -> Deco {
    let mut d = Deco::default();
    if let Some(c) = b.border {
        for (slot, w) in d.border.iter_mut().zip(b.border_widths) {
            *slot = (w.min(64) as u16, Rgba(c));
        }
    }
    let width = b.separator_block_width.min(256) as u16;
    let gap = if last { 0 } else { width };
    let line = !last && b.separator && gap > 0 && b.border.is_none();
    let half = width / 2;
    // The ends of the module keep half a separator's space from what is
    // beside it; between blocks the separator's space is all there is.
    d.padding = Some([0, half, 0, if first { half } else { 0 }]);
    if line {
        d.border[1] = (1, SEPARATOR);
    }
    d.margin = [0, gap.saturating_sub(half + u16::from(line)), 0, 0];
    if let Some(MinWidth::Pixels(px)) = b.min_width {
        // swaybar's min_width is the block's, before the separator's space.
        d.min_width = (px as u16).saturating_add(half + u16::from(line));
    }
    d.align = match b.align.as_str() {
        "center" => TextAlign::Center,
        "right" => TextAlign::Right,
        _ => TextAlign::Left,
    };
    d
}

/// `text` padded with spaces to as many characters as a `min_width` string
/// has, placed by `align` (the width such a string takes in the bar's font,
/// exactly so with a monospaced one).
fn pad_to(text: &str, min: &str, align: &str, out: &mut String) {
    out.clear();
    let (have, want) = (text.chars().count(), min.chars().count());
    let room = want.saturating_sub(have);
    let before = match align {
        "center" => room / 2,
        "right" => room,
        _ => 0,
    };
    out.extend(std::iter::repeat_n(' ', before));
    out.push_str(text);
    out.extend(std::iter::repeat_n(' ', room - before));
}

fn rgba(c: [u8; 4]) -> Rgba {
    Rgba(c)
}

impl I3barModule {
    /// The instance of `spec`; the command starts at the first update.
    pub fn new(spec: &config::Module, place: Placement) -> I3barModule {
        I3barModule {
            runner: spec
                .command("exec")
                .map(|a| I3bar::new(CommandLine::from(a))),
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            segments: Vec::with_capacity(MAX_BLOCKS),
            next: Vec::with_capacity(MAX_BLOCKS),
            blocks: Vec::with_capacity(MAX_BLOCKS),
            tips: Vec::with_capacity(MAX_BLOCKS),
            padded: String::with_capacity(64),
            error: None,
        }
    }

    /// The status command's pid while it runs (tests).
    pub fn pid(&self) -> Option<u32> {
        self.runner.as_ref().and_then(I3bar::pid)
    }

    fn refresh(&mut self) -> bool {
        let Some(r) = &self.runner else {
            return false;
        };
        self.next.clear();
        self.blocks.clear();
        let short = self.spec.flag("short");
        fn text_of(b: &Block, short: bool) -> &str {
            match (&b.short_text, short) {
                (Some(s), true) => s.as_str(),
                _ => b.full_text.as_str(),
            }
        }
        let first = r.blocks.iter().position(|b| !text_of(b, short).is_empty());
        let last = r.blocks.iter().rposition(|b| !text_of(b, short).is_empty());
        for (i, b) in r.blocks.iter().enumerate() {
            let mut text = text_of(b, short);
            if text.is_empty() {
                continue;
            }
            if let Some(MinWidth::Text(min)) = &b.min_width {
                pad_to(text, min, &b.align, &mut self.padded);
                text = &self.padded;
            }
            let mut style = self.palette.style(if b.urgent {
                Level::Critical
            } else {
                Level::Normal
            });
            if let Some(c) = b.color.filter(|_| !b.urgent) {
                style.fg = rgba(c);
            }
            style.bg = b.background.map(rgba);
            style.deco = deco(b, Some(i) == first, Some(i) == last);
            if self.spec.tooltip_format.is_some() {
                let k = self.blocks.len();
                if self.tips.len() <= k {
                    self.tips.push(Tip::default());
                }
                let values = [
                    Value::Text(text_of(b, short)),
                    Value::Text(&b.full_text),
                    Value::Text(b.short_text.as_deref().unwrap_or("")),
                    Value::Text(&b.name),
                    Value::Text(&b.instance),
                    Value::Markup(b.tooltip.as_deref().unwrap_or("")),
                ];
                self.tips[k].render(&self.spec, &values);
            }
            self.blocks.push(i);
            self.next.push(Segment {
                markup: false,
                text: Text::new(text),
                style,
                align: self.align,
                popup: None,
                output: None,
                states: if b.urgent { config::state::CRITICAL } else { 0 },
            });
        }
        let err = match &r.status {
            Status::Error(e) => Some(e.as_str()),
            _ => None,
        };
        if err != self.error.as_deref() {
            if let Some(e) = err {
                eprintln!("rstat: {}: {e}", self.spec.name);
            }
            self.error = err.map(str::to_string);
        }
        if self.next.is_empty() {
            if let Some(_e) = &self.error {
                let mut t = Text::new(&self.spec.name);
                t.push_str(": error");
                self.next.push(Segment {
                    markup: false,
                    text: t,
                    style: self.palette.style(Level::Critical),
                    align: self.align,
                    popup: None,
                    output: None,
                    states: config::state::CRITICAL,
                });
            }
        }
        let changed = self.next != self.segments;
        std::mem::swap(&mut self.next, &mut self.segments);
        changed
    }
}

impl Module for I3barModule {
    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        self.runner.as_ref()?.next_deadline()
    }

    fn update(&mut self, cx: &Context<'_>) -> bool {
        if let Some(r) = &mut self.runner {
            r.on_timer(cx.now);
        }
        self.refresh()
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend_from_slice(&self.segments);
    }

    fn fd(&self) -> Option<RawFd> {
        self.runner.as_ref().and_then(I3bar::fd)
    }

    fn fd_serial(&self) -> u64 {
        self.runner.as_ref().map_or(0, I3bar::serial)
    }

    fn on_readable(&mut self) -> bool {
        if let Some(r) = &mut self.runner {
            r.on_readable();
        }
        self.refresh()
    }

    fn pointer(&mut self, index: usize, button: Button) -> Option<Command> {
        self.pointer_at(index, button, Spot::default())
    }

    fn pointer_at(&mut self, index: usize, button: Button, spot: Spot) -> Option<Command> {
        let r = self.runner.as_mut()?;
        let b = r.blocks.get(*self.blocks.get(index)?)?;
        let (button, event) = match button {
            Button::Left => (1, 0x110),
            Button::Middle => (2, 0x112),
            Button::Right => (3, 0x111),
            Button::ScrollUp => (4, 0),
            Button::ScrollDown => (5, 0),
        };
        let click = Click {
            name: b.name.clone(),
            instance: b.instance.clone(),
            button,
            event,
            x: spot.x,
            y: spot.y,
            relative_x: spot.rel_x,
            relative_y: spot.rel_y,
            width: spot.width.max(0) as u32,
            height: spot.height.max(0) as u32,
        };
        r.click(&click);
        None
    }

    fn set_visible(&mut self, shown: bool) {
        if let Some(r) = &mut self.runner {
            r.set_visible(shown);
        }
    }

    fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    fn tooltip(&self, index: usize) -> Option<&str> {
        // Past the blocks: the `LABEL: error` segment, which has none.
        let block = *self.blocks.get(index)?;
        if !self.spec.tooltip {
            return None;
        }
        if self.spec.tooltip_format.is_some() {
            return self.tips.get(index)?.get();
        }
        let b = self.runner.as_ref()?.blocks.get(block)?;
        Some(b.tooltip.as_deref()?.trim_end()).filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::i3bar::parse_line;

    fn blocks(json: &str) -> Vec<Block> {
        let mut out = Vec::new();
        parse_line(json.as_bytes(), &mut out).unwrap();
        out
    }

    #[test]
    fn boxes_as_swaybar_draws_them() {
        let b = blocks(
            r##"[{"full_text":"a","border":"#00ff00","border_left":3,"border_top":0,"min_width":100,"align":"right"},
                {"full_text":"b","separator_block_width":20},
                {"full_text":"c","separator":false},
                {"full_text":"d"}]"##,
        );
        let green = Rgba([0, 0xff, 0, 0xff]);
        let d = deco(&b[0], true, false);
        assert_eq!(d.border, [(0, green), (1, green), (1, green), (3, green)]);
        assert_eq!(d.align, TextAlign::Right);
        // Its own border: no separator line; 9 px of space after it.
        assert_eq!(d.padding, Some([0, 4, 0, 4]));
        assert_eq!(d.margin, [0, 5, 0, 0]);
        assert_eq!(d.min_width, 104);
        // A separator line in the middle of 20 px.
        let d = deco(&b[1], false, false);
        assert_eq!(d.border[1], (1, SEPARATOR));
        assert_eq!(d.padding, Some([0, 10, 0, 0]));
        assert_eq!(d.margin, [0, 9, 0, 0]);
        // separator false: the space, no line.
        let d = deco(&b[2], false, false);
        assert_eq!(d.border[1].0, 0);
        assert_eq!(d.margin, [0, 5, 0, 0]);
        // No separator after the last block; half its space to the edge.
        let d = deco(&b[3], false, true);
        assert_eq!(
            (d.border[1].0, d.padding, d.margin),
            (0, Some([0, 4, 0, 0]), [0; 4])
        );
    }

    fn module(extra: &str) -> I3barModule {
        let cfg = crate::modules::registry::parse(
            &format!("[bar]\nright = [\"i3bar\"]\n[module.i3bar]\nexec = \"true\"\n{extra}"),
            "t.toml",
            None,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let place = Placement {
            align: Align::Right,
            palette: Palette::default(),
        };
        let mut m = I3barModule::new(cfg.module("i3bar").unwrap(), place);
        m.runner.as_mut().unwrap().take(b"{\"version\":1}\n[\n");
        m
    }

    /// The tooltips of `m`'s segments after its command printed `line`.
    fn tips(m: &mut I3barModule, line: &str) -> Vec<Option<String>> {
        m.runner.as_mut().unwrap().take(line.as_bytes());
        m.refresh();
        (0..m.segments.len())
            .map(|i| m.tooltip(i).map(str::to_string))
            .collect()
    }

    const LINE: &str = r#"[{"full_text":"<b>cpu</b> 5% & up","short_text":"5%","markup":"pango","name":"cpu","instance":"0","tooltip":"<i>busy</i>"},
                        {"full_text":""},
                        {"full_text":"disk","name":"disk"}],
"#;

    #[test]
    fn tooltip_format_per_block_over_its_fields() {
        let mut m = module(
            "short = true\ntooltip_format = \"<b>{name}</b>/{instance}: {text} | {full_text} | {short_text} | {tooltip}\"\n",
        );
        assert_eq!(
            tips(&mut m, LINE),
            [
                Some("<b>cpu</b>/0: 5% | cpu 5% &amp; up | 5% | <i>busy</i>".to_string()),
                Some("<b>disk</b>/: disk | disk |  |".to_string()),
            ],
            "the empty block has no segment and so no tooltip"
        );
        // A shorter status line: the tooltips follow its blocks.
        assert_eq!(
            tips(&mut m, r#"[{"full_text":"mem","name":"mem"}],"#),
            [Some("<b>mem</b>/: mem | mem |  |".to_string())]
        );
    }

    #[test]
    fn without_a_format_a_blocks_own_tooltip_shows() {
        let mut m = module("");
        assert_eq!(tips(&mut m, LINE), [Some("<i>busy</i>".to_string()), None]);
        // tooltip = false: none, whatever the block sends.
        let mut off = module("tooltip = false\n");
        assert_eq!(tips(&mut off, LINE), [None, None]);
        let mut off = module("tooltip = false\ntooltip_format = \"{name}\"\n");
        assert_eq!(tips(&mut off, LINE), [None, None]);
    }

    #[test]
    fn an_unknown_tooltip_placeholder_is_an_error_with_its_position() {
        let e = crate::modules::registry::parse(
            "[bar]\nright = [\"i3bar\"]\n[module.i3bar]\nexec = \"true\"\ntooltip_format = \"{instnce}\"\n",
            "t.toml",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("t.toml:5:19"), "{e}");
        assert!(e.contains("did you mean `instance`?"), "{e}");
        // `format` keeps its own placeholder list.
        let e = crate::modules::registry::parse(
            "[bar]\nright = [\"i3bar\"]\n[module.i3bar]\nexec = \"true\"\nformat = \"{name}\"\n",
            "t.toml",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("t.toml:5:11") && e.contains("offers: text"),
            "{e}"
        );
    }

    #[test]
    fn min_width_strings_pad_by_align() {
        let mut s = String::new();
        pad_to("ab", "123456", "left", &mut s);
        assert_eq!(s, "ab    ");
        pad_to("ab", "123456", "right", &mut s);
        assert_eq!(s, "    ab");
        pad_to("ab", "12345", "center", &mut s);
        assert_eq!(s, " ab  ");
        pad_to("abcdef", "12", "center", &mut s);
        assert_eq!(s, "abcdef");
    }
}

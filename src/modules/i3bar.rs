//! The i3bar module: runs a swaybar/i3bar status command (i3status,
//! i3blocks, py3status, i3status-rs) and draws each block of its latest
//! status line as a segment in the block's `color` and `background`
//! (`short_text` and `markup: "pango"` applied; urgent blocks in the critical
//! colour). A click is sent to the command as the protocol's click event;
//! while the bar is hidden the command gets its `stop_signal`, and its
//! `cont_signal` when the bar is shown again. The protocol itself is in
//! [`crate::exec::i3bar`].

use std::os::fd::RawFd;
use std::time::Instant;

use super::{Align, Button, Command, Context, Init, Level, Module, Palette, Placement, Segment};
use crate::config::{self, Key, KeyType, KindDef};
use crate::exec::i3bar::{Click, I3bar, Status, MAX_BLOCKS};
use crate::exec::CommandLine;
use crate::render::{Rgba, Text};

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
    ..KindDef::BASE
};

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
    error: Option<String>,
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
        let short = self.spec.flag("short");
        for b in &r.blocks {
            let text = match (&b.short_text, short) {
                (Some(s), true) => s.as_str(),
                _ => b.full_text.as_str(),
            };
            if text.is_empty() {
                continue;
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
            self.next.push(Segment {
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

    fn on_readable(&mut self) -> bool {
        if let Some(r) = &mut self.runner {
            r.on_readable();
        }
        self.refresh()
    }

    fn pointer(&mut self, index: usize, button: Button) -> Option<Command> {
        let r = self.runner.as_mut()?;
        // Segment `index` is the index-th block with text.
        let b = r
            .blocks
            .iter()
            .filter(|b| !b.full_text.is_empty())
            .nth(index)?;
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
            ..Click::default()
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
}

//! The media module: an MPRIS player on the session bus
//! ([`crate::services::media`], the shared connection): the one named in
//! `player`, else the most recently active. Its status, artist, title and
//! album follow the player's `PropertiesChanged`; `{position}` ticks each
//! `interval_ms` only while playing and shown. A click sends play-pause,
//! scrolling next / previous (a middle click runs `on_middle_click`).
//! Hidden while no player is there. States `playing`, `paused`, `stopped`.

use std::fmt::Write;
use std::time::{Duration, Instant};

use super::{Align, Button, Command, Context, Init, Module, Palette, Placement, Segment, Text};
use crate::config::{self, format::Value, Key, KeyType, KindDef};
use crate::services::media::{Action, Media as Players, Player, Status};
use crate::services::{self, View};

/// `media`: an MPRIS media player.
pub const KIND: KindDef = KindDef {
    name: "media",
    about: "an MPRIS media player (session bus): click play-pause, scroll next/previous",
    placeholders: &[
        ("player", "the player's bus name without `org.mpris.MediaPlayer2.` (`mpv`)"),
        ("status", "playing, paused or stopped"),
        ("artist", "the track's (first) artist"),
        ("title", "the track's title"),
        ("album", "the track's album"),
        ("position", "how far into the track, M:SS (H:MM:SS past an hour)"),
        ("length", "the track's length, M:SS"),
    ],
    format: "{status}: {artist} - {title}",
    interval_ms: 1000,
    states: &[
        ("playing", "the player plays"),
        ("paused", "paused"),
        ("stopped", "stopped"),
    ],
    keys: &[Key::new(
        "player",
        KeyType::Text(""),
        "the player to show (`mpv`, `spotify`; a prefix before `.` matches its instances); unset: the most recently active",
    )],
    ..KindDef::BASE
};

/// Builds a media module (its registry line).
pub fn build(spec: &config::Module, init: &Init<'_>) -> Box<dyn Module> {
    Box::new(Media::new(spec, init.place))
}

const POSITION: usize = 5;

/// What the module shows of its player (a copy, so a steady tick reads no
/// bus state).
#[derive(Clone, Debug, Default, PartialEq)]
struct Shown {
    player: Player,
}

/// The media module.
pub struct Media {
    spec: config::Module,
    palette: Palette,
    align: Align,
    interval: Duration,
    shown: Option<Shown>,
    next: Option<Instant>,
    text: String,
    segment: Option<Segment>,
    /// `tooltip_format` rendered at the last update.
    tip: super::Tip,
}

impl Media {
    /// The instance of `spec`, hidden until a player is seen.
    pub fn new(spec: &config::Module, place: Placement) -> Media {
        Media {
            spec: spec.clone(),
            palette: place.palette,
            align: place.align,
            interval: Duration::from_millis(spec.interval_ms.max(1)),
            shown: None,
            next: None,
            text: String::with_capacity(128),
            tip: super::Tip::default(),
            segment: None,
        }
    }

    fn show(&mut self, now: Instant) -> bool {
        let seg = self.shown.as_ref().map(|s| {
            let p = &s.player;
            let (mut pos, mut len) = (Text::default(), Text::default());
            let has_pos = p.position_now(now).map(|us| clock(&mut pos, us)).is_some();
            let has_len = p.length_us.map(|us| clock(&mut len, us)).is_some();
            fn opt(t: &str, has: bool) -> Value<'_> {
                if has {
                    Value::Text(t)
                } else {
                    Value::Absent
                }
            }
            let values = [
                Value::Text(&p.name),
                Value::Text(p.status.name()),
                Value::Text(&p.artist),
                Value::Text(&p.title),
                Value::Text(&p.album),
                opt(pos.as_str(), has_pos),
                opt(len.as_str(), has_len),
            ];
            self.text.clear();
            self.spec.format.render(&mut self.text, &values);
            self.tip.render(&self.spec, &values);
            let states = match p.status {
                Status::Playing => 1,
                Status::Paused => 2,
                Status::Stopped => 4,
            };
            Segment {
                markup: false,
                text: Text::new(self.text.trim()),
                style: self.palette.style(super::Level::Normal),
                align: self.align,
                popup: None,
                output: None,
                states,
            }
        });
        // The position moves only while playing, and matters only if shown.
        let ticking = self.shown.as_ref().is_some_and(|s| {
            s.player.status == Status::Playing
                && s.player.position_us.is_some()
                && self.spec.format.uses(POSITION)
        });
        self.next = ticking.then(|| now + self.interval);
        let changed = seg != self.segment;
        self.segment = seg;
        changed
    }
}

/// `us` as M:SS, or H:MM:SS from an hour on.
fn clock(out: &mut Text, us: i64) {
    let s = us.max(0) / 1_000_000;
    let _ = if s >= 3600 {
        write!(out, "{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        write!(out, "{}:{:02}", s / 60, s % 60)
    };
}

impl Module for Media {
    fn tooltip(&self, _index: usize) -> Option<&str> {
        self.tip.get()
    }

    fn spec(&self) -> &config::Module {
        &self.spec
    }

    fn next_due(&self) -> Option<Instant> {
        self.next
    }

    fn update(&mut self, cx: &Context<'_>) -> bool {
        self.show(cx.now)
    }

    fn write(&self, out: &mut Vec<Segment>) {
        out.extend(self.segment);
    }

    fn services(&self) -> services::Set {
        services::Set::of(services::Id::SessionBus)
    }

    fn on_service(&mut self, view: View<'_>) -> bool {
        let Some(bus) = view.session_bus() else {
            return false;
        };
        let chosen = bus
            .and_then(|s| s.client::<Players>())
            .and_then(|m| m.choose(self.spec.text("player")));
        if chosen == self.shown.as_ref().map(|s| &s.player) {
            return false;
        }
        self.shown = chosen.map(|p| Shown { player: p.clone() });
        self.show(Instant::now())
    }

    fn pointer(&mut self, _index: usize, button: Button) -> Option<Command> {
        let action = match button {
            Button::Left => Action::PlayPause,
            Button::ScrollUp => Action::Previous,
            Button::ScrollDown => Action::Next,
            _ => return None,
        };
        let player = self.shown.as_ref()?.player.name.clone();
        Some(Command::Media { player, action })
    }

    fn state(&self) -> Option<&str> {
        self.shown.as_ref().map(|s| s.player.status.name())
    }
}

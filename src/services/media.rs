//! MPRIS media players on the session bus (`org.mpris.MediaPlayer2.*`):
//! each player's status, metadata and position, following
//! `PropertiesChanged`, `Seeked` and players coming and going; play-pause,
//! next and previous sent to the one a module names.
//!
//! Whatever a player sends is bounded here: strings are cut to
//! [`MAX_TEXT`] characters, a length or position that is negative or absurd
//! is treated as absent, at most [`MAX_PLAYERS`] players are kept.

use std::time::{Duration, Instant};

use super::dbus::{daemon_call, wire, Bus, Client, ClientId, Event, Message, Rule, Value};
use super::dbus::{DBUS_IFACE, DBUS_NAME};

/// Our id among the session bus's clients.
const ME: ClientId = ClientId(2);

/// The well-known name prefix of MPRIS players.
pub const PREFIX: &str = "org.mpris.MediaPlayer2.";
const PATH: &str = "/org/mpris/MediaPlayer2";
const PLAYER: &str = "org.mpris.MediaPlayer2.Player";

/// Longest string kept from a player, in characters.
pub const MAX_TEXT: usize = 256;
/// Most players followed at once.
pub const MAX_PLAYERS: usize = 32;
/// A length or position past this (a year, in µs) is nonsense.
const MAX_US: i64 = 365 * 24 * 3600 * 1_000_000;

const TIMEOUT: Duration = Duration::from_secs(5);
const LIST: u64 = 1;
/// Cookies of a player's `GetNameOwner` and `GetAll`: a running number,
/// with the low bit telling which.
const FIRST_PLAYER_COOKIE: u64 = 16;

/// What a player is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Status {
    Playing,
    Paused,
    #[default]
    Stopped,
}

impl Status {
    fn parse(s: &str) -> Status {
        match s {
            "Playing" => Status::Playing,
            "Paused" => Status::Paused,
            _ => Status::Stopped,
        }
    }

    /// The lower-case name (`playing`), as formats and states say it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Playing => "playing",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// One player, as plain state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Player {
    /// Its bus name without [`PREFIX`] (`mpv`, `firefox.instance_1_23`).
    pub name: String,
    /// The unique name owning it (signals come from this).
    owner: String,
    pub status: Status,
    pub artist: String,
    pub title: String,
    pub album: String,
    /// Track length, µs, when the player reports a sane one.
    pub length_us: Option<i64>,
    /// Position, µs, when last reported, and when that was.
    pub position_us: Option<i64>,
    pub position_at: Option<Instant>,
    /// Playback rate (1.0 normally).
    pub rate: f64,
    /// When it last started playing or changed track (the most recent
    /// active player is shown).
    pub active_seq: u64,
    /// `GetAll` has answered.
    ready: bool,
}

impl Player {
    /// The position now, extrapolated while playing.
    pub fn position_now(&self, now: Instant) -> Option<i64> {
        let p = self.position_us?;
        if self.status != Status::Playing {
            return Some(p);
        }
        let dt = self
            .position_at
            .map_or(0.0, |t| now.saturating_duration_since(t).as_secs_f64());
        let moved = (dt * 1e6 * self.rate.clamp(0.0, 16.0)) as i64;
        let p = p.saturating_add(moved);
        Some(self.length_us.map_or(p, |l| p.min(l)))
    }
}

/// What a pointer asks of a player.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    PlayPause,
    Next,
    Previous,
}

impl Action {
    fn member(self) -> &'static str {
        match self {
            Action::PlayPause => "PlayPause",
            Action::Next => "Next",
            Action::Previous => "Previous",
        }
    }
}

/// Every MPRIS player on the bus.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Media {
    pub players: Vec<Player>,
    next_cookie: u64,
    seq: u64,
    /// Cookies of calls in flight: (cookie, player name, is GetAll).
    pending: Vec<(u64, String, bool)>,
}

impl Media {
    /// The player a module shows: the one named `wanted` (its name or a
    /// prefix of it before a `.`), else the most recently active, playing
    /// ones first. Only players whose state has been read.
    pub fn choose(&self, wanted: &str) -> Option<&Player> {
        let ready = self.players.iter().filter(|p| p.ready);
        if !wanted.is_empty() {
            return ready
                .filter(|p| {
                    p.name == wanted
                        || p.name
                            .strip_prefix(wanted)
                            .is_some_and(|r| r.starts_with('.'))
                })
                .max_by_key(|p| p.active_seq);
        }
        ready.max_by_key(|p| (p.status == Status::Playing, p.active_seq))
    }

    /// Sends `action` to player `name` (as [`Player::name`]).
    pub fn act(&mut self, bus: &mut Bus, name: &str, action: Action) {
        if !self.players.iter().any(|p| p.name == name) {
            return;
        }
        let mut m = Message::call(&format!("{PREFIX}{name}"), PATH, PLAYER, action.member());
        m.flags |= wire::NO_REPLY_EXPECTED;
        let _ = bus.send(&m);
    }

    fn cookie(&mut self) -> u64 {
        self.next_cookie = self.next_cookie.max(FIRST_PLAYER_COOKIE) + 1;
        self.next_cookie
    }

    /// Starts following `bus_name` (a well-known MPRIS name).
    fn add(&mut self, bus: &mut Bus, bus_name: &str, owner: Option<&str>) -> bool {
        let Some(name) = bus_name.strip_prefix(PREFIX) else {
            return false;
        };
        if name.is_empty() || self.players.len() >= MAX_PLAYERS {
            return false;
        }
        self.players.retain(|p| p.name != name);
        self.pending.retain(|(_, n, _)| n != name);
        self.players.push(Player {
            name: clip(name),
            owner: owner.unwrap_or("").to_string(),
            rate: 1.0,
            ..Player::default()
        });
        let name = clip(name);
        if owner.is_none() {
            let c = self.cookie();
            self.pending.push((c, name.clone(), false));
            bus.call(
                ME,
                c,
                &daemon_call("GetNameOwner", vec![Value::Str(bus_name.into())]),
                TIMEOUT,
            );
        }
        let c = self.cookie();
        self.pending.push((c, name, true));
        bus.call(ME, c, &Message::get_all(bus_name, PATH, PLAYER), TIMEOUT);
        true
    }

    /// Applies a player's properties; true when it changed.
    fn apply(&mut self, i: usize, props: &Value, now: Instant) -> bool {
        let before = self.players[i].clone();
        let p = &mut self.players[i];
        let mut became_active = false;
        if let Some(s) = props.dict_get("PlaybackStatus").and_then(Value::as_str) {
            let s = Status::parse(s);
            if s != p.status {
                // Keep the position where it got to.
                if let Some(pos) = p.position_now(now) {
                    p.position_us = Some(pos);
                    p.position_at = Some(now);
                }
                became_active |= s == Status::Playing;
                p.status = s;
            }
        }
        if let Some(r) = props.dict_get("Rate").and_then(|v| match v.unvariant() {
            Value::F64(f) => Some(*f),
            _ => None,
        }) {
            if r.is_finite() {
                p.rate = r;
            }
        }
        if let Some(pos) = props.dict_get("Position").and_then(Value::as_i64) {
            p.position_us = sane_us(pos);
            p.position_at = Some(now);
        }
        if let Some(md) = props.dict_get("Metadata") {
            let s = |k: &str| md.dict_get(k).and_then(Value::as_str).map(clip);
            let title = s("xesam:title").unwrap_or_default();
            let album = s("xesam:album").unwrap_or_default();
            let artist = md
                .dict_get("xesam:artist")
                .and_then(|a| match a.as_array() {
                    Some(list) => list.iter().find_map(Value::as_str).map(clip),
                    None => a.as_str().map(clip),
                })
                .unwrap_or_default();
            let length = md.dict_get("mpris:length").and_then(Value::as_i64);
            if title != p.title || artist != p.artist || album != p.album {
                became_active |= p.status == Status::Playing;
                p.title = title;
                p.artist = artist;
                p.album = album;
            }
            p.length_us = length.and_then(sane_us);
        }
        if became_active || (!p.ready && p.status == Status::Playing) {
            self.seq += 1;
            p.active_seq = self.seq;
        }
        p.ready = true;
        *p != before
    }
}

/// A µs figure a player sent: absent when negative or past a year.
fn sane_us(v: i64) -> Option<i64> {
    (0..=MAX_US).contains(&v).then_some(v)
}

/// A player's string, cut to [`MAX_TEXT`] characters, control characters
/// made spaces (a title with a newline must not break the bar's line).
fn clip(s: &str) -> String {
    s.chars()
        .take(MAX_TEXT)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl Client for Media {
    fn id(&self) -> ClientId {
        ME
    }

    fn connected(&mut self, bus: &mut Bus) {
        *self = Media::default();
        bus.subscribe(
            ME,
            Rule::signal(DBUS_IFACE, "NameOwnerChanged").from(DBUS_NAME),
        );
        bus.subscribe(ME, Rule::properties_changed(PATH, PLAYER));
        bus.subscribe(
            ME,
            Rule {
                path: Some(PATH.into()),
                ..Rule::signal(PLAYER, "Seeked")
            },
        );
        bus.call(ME, LIST, &daemon_call("ListNames", vec![]), TIMEOUT);
    }

    fn event(&mut self, bus: &mut Bus, ev: Event) -> bool {
        let now = Instant::now();
        match ev {
            Event::Reply {
                cookie: LIST,
                result: Ok(m),
            } => {
                let names: Vec<String> = m
                    .body
                    .first()
                    .and_then(Value::as_array)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|n| n.starts_with(PREFIX))
                    .map(String::from)
                    .collect();
                let mut changed = false;
                for n in names {
                    changed |= self.add(bus, &n, None);
                }
                changed
            }
            Event::Reply { cookie, result } => {
                let Some(k) = self.pending.iter().position(|(c, _, _)| *c == cookie) else {
                    return false;
                };
                let (_, name, get_all) = self.pending.swap_remove(k);
                let Some(i) = self.players.iter().position(|p| p.name == name) else {
                    return false;
                };
                match (result, get_all) {
                    (Ok(m), false) => {
                        if let Some(o) = m.body.first().and_then(Value::as_str) {
                            self.players[i].owner = o.to_string();
                        }
                        false
                    }
                    (Ok(m), true) => m.body.first().is_some_and(|p| self.apply(i, p, now)),
                    // The player left (or never answers): forget it.
                    (Err(_), _) => {
                        self.players.remove(i);
                        true
                    }
                }
            }
            Event::Signal(m) if m.is_signal(DBUS_IFACE, "NameOwnerChanged") => {
                let arg = |k: usize| m.body.get(k).and_then(Value::as_str).unwrap_or("");
                let (name, new) = (arg(0), arg(2));
                let Some(short) = name.strip_prefix(PREFIX) else {
                    return false;
                };
                if new.is_empty() {
                    let before = self.players.len();
                    self.players.retain(|p| p.name != short);
                    self.players.len() != before
                } else {
                    self.add(bus, name, Some(new))
                }
            }
            Event::Signal(m) if m.is_signal(wire::PROPERTIES, "PropertiesChanged") => {
                if m.body.first().and_then(Value::as_str) != Some(PLAYER) {
                    return false;
                }
                let sender = m.sender.as_deref().unwrap_or("");
                let Some(i) = self.players.iter().position(|p| p.owner == sender) else {
                    return false;
                };
                m.body.get(1).is_some_and(|p| self.apply(i, p, now))
            }
            Event::Signal(m) if m.is_signal(PLAYER, "Seeked") => {
                let sender = m.sender.as_deref().unwrap_or("");
                let Some(p) = self.players.iter_mut().find(|p| p.owner == sender) else {
                    return false;
                };
                p.position_us = m.body.first().and_then(Value::as_i64).and_then(sane_us);
                p.position_at = Some(now);
                true
            }
            _ => false,
        }
    }

    fn lost(&mut self) -> bool {
        let had = !self.players.is_empty();
        *self = Media::default();
        had
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player(name: &str, status: Status, seq: u64) -> Player {
        Player {
            name: name.into(),
            status,
            active_seq: seq,
            ready: true,
            rate: 1.0,
            ..Player::default()
        }
    }

    #[test]
    fn choosing_a_player() {
        let m = Media {
            players: vec![
                player("mpv", Status::Paused, 5),
                player("firefox.instance_1_2", Status::Playing, 3),
                player("spotify", Status::Paused, 4),
            ],
            ..Media::default()
        };
        assert_eq!(
            m.choose("").map(|p| p.name.as_str()),
            Some("firefox.instance_1_2")
        );
        assert_eq!(
            m.choose("firefox").map(|p| p.name.as_str()),
            Some("firefox.instance_1_2")
        );
        assert_eq!(m.choose("fire").map(|p| p.name.as_str()), None);
        assert_eq!(m.choose("mpv").map(|p| p.name.as_str()), Some("mpv"));
        assert!(Media::default().choose("").is_none());
    }

    #[test]
    fn absurd_metadata_is_bounded() {
        let mut m = Media {
            players: vec![player("x", Status::Playing, 0)],
            ..Media::default()
        };
        let md = Value::dict_sv(vec![
            ("xesam:title", Value::Str("t\n".repeat(1 << 19))),
            ("xesam:artist", Value::strings(&["a", "b"])),
            ("mpris:length", Value::I64(-5)),
        ]);
        let props = Value::dict_sv(vec![("Metadata", md), ("Position", Value::I64(i64::MAX))]);
        assert!(m.apply(0, &props, Instant::now()));
        let p = &m.players[0];
        assert_eq!(p.title.chars().count(), MAX_TEXT);
        assert!(!p.title.contains('\n'));
        assert_eq!(p.artist, "a");
        assert_eq!(p.length_us, None);
        assert_eq!(p.position_us, None);
    }
}

//! power-profiles-daemon on the system bus: the active profile and the ones
//! it offers, followed through `PropertiesChanged`, and a call that moves to
//! the next one. Newer daemons (0.20+) serve `org.freedesktop.UPower.
//! PowerProfiles` beside the old `net.hadess.PowerProfiles`; the newer name
//! is used where it has an owner.

use std::time::Duration;

use super::dbus::Value;
use super::dbus::{daemon_call, wire, Bus, CallError, Client, ClientId, Event, Message, Rule};

/// Our id among the system bus's clients.
const ME: ClientId = ClientId(3);

/// The two names the daemon is served under, newest first: (name, path,
/// interface).
pub const NAMES: [(&str, &str, &str); 2] = [
    (
        "org.freedesktop.UPower.PowerProfiles",
        "/org/freedesktop/UPower/PowerProfiles",
        "org.freedesktop.UPower.PowerProfiles",
    ),
    (
        "net.hadess.PowerProfiles",
        "/net/hadess/PowerProfiles",
        "net.hadess.PowerProfiles",
    ),
];

const TIMEOUT: Duration = Duration::from_secs(5);
/// Cookies: `GetNameOwner` of NAMES[i] is `OWNER + i`, `GetAll` is `ALL + i`.
const OWNER: u64 = 1;
const ALL: u64 = 10;
const SET: u64 = 20;

/// What the daemon says, as plain state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PowerProfiles {
    /// The unique name owning each of [`NAMES`], when one does.
    owners: [Option<String>; 2],
    /// Which of [`NAMES`] is read.
    serving: Option<usize>,
    /// The active profile (`balanced`, `power-saver`, `performance`).
    pub active: Option<String>,
    /// The profiles the daemon offers, in its order.
    pub profiles: Vec<String>,
    /// Why the last switch failed (the daemon's error, e.g. polkit's
    /// "Not Authorized"); cleared by the next change.
    pub error: Option<String>,
}

impl PowerProfiles {
    /// Whether a daemon serves profiles now.
    pub fn present(&self) -> bool {
        self.serving.is_some() && self.active.is_some()
    }

    /// The bus name read from, when a daemon serves.
    pub fn name(&self) -> Option<&'static str> {
        self.serving.map(|i| NAMES[i].0)
    }

    /// Asks the daemon to switch to the profile after the active one (the
    /// first after the last). The change shows when the daemon announces it.
    pub fn cycle(&mut self, bus: &mut Bus) {
        let Some(i) = self.serving else {
            return;
        };
        let Some(next) = next_profile(&self.profiles, self.active.as_deref()) else {
            return;
        };
        let (name, path, iface) = NAMES[i];
        let m = Message::call(name, path, wire::PROPERTIES, "Set").with(vec![
            Value::Str(iface.into()),
            Value::Str("ActiveProfile".into()),
            Value::Variant(Box::new(Value::Str(next.to_string()))),
        ]);
        bus.call(ME, SET, &m, TIMEOUT);
    }

    fn choose(&mut self, bus: &mut Bus) -> bool {
        let now = self.owners.iter().position(Option::is_some);
        if now == self.serving {
            return false;
        }
        self.serving = now;
        self.active = None;
        self.profiles.clear();
        if let Some(i) = now {
            let (name, path, iface) = NAMES[i];
            bus.call(
                ME,
                ALL + i as u64,
                &Message::get_all(name, path, iface),
                TIMEOUT,
            );
        }
        true
    }

    /// Applies an `a{sv}` of the daemon's properties; true when it changed
    /// what we show.
    fn apply(&mut self, props: &Value) -> bool {
        let mut changed = false;
        if let Some(a) = props.dict_get("ActiveProfile").and_then(Value::as_str) {
            if self.active.as_deref() != Some(a) {
                self.active = Some(clip(a));
                self.error = None;
                changed = true;
            }
        }
        if let Some(list) = props.dict_get("Profiles").and_then(Value::as_array) {
            let names: Vec<String> = list
                .iter()
                .filter_map(|p| p.dict_get("Profile").and_then(Value::as_str))
                .take(16)
                .map(clip)
                .collect();
            if names != self.profiles {
                self.profiles = names;
                changed = true;
            }
        }
        changed
    }
}

/// A daemon's string, cut to what a bar can show.
fn clip(s: &str) -> String {
    s.chars().take(64).collect()
}

/// The profile after `active` in `profiles`, wrapping; the first when the
/// active one is not listed.
pub fn next_profile<'a>(profiles: &'a [String], active: Option<&str>) -> Option<&'a str> {
    let at = profiles.iter().position(|p| Some(p.as_str()) == active);
    let i = at.map_or(0, |i| (i + 1) % profiles.len().max(1));
    profiles.get(i).map(String::as_str)
}

impl Client for PowerProfiles {
    fn id(&self) -> ClientId {
        ME
    }

    fn connected(&mut self, bus: &mut Bus) {
        *self = PowerProfiles::default();
        for (i, (name, path, iface)) in NAMES.iter().enumerate() {
            bus.subscribe(ME, Rule::name_owner(name));
            bus.subscribe(ME, Rule::properties_changed(path, iface));
            bus.call(
                ME,
                OWNER + i as u64,
                &daemon_call("GetNameOwner", vec![Value::Str((*name).into())]),
                TIMEOUT,
            );
        }
    }

    fn event(&mut self, bus: &mut Bus, ev: Event) -> bool {
        match ev {
            Event::Reply { cookie, result } if (OWNER..OWNER + 2).contains(&cookie) => {
                let i = (cookie - OWNER) as usize;
                // An error is NameHasNoOwner: nobody serves that name.
                self.owners[i] = result
                    .ok()
                    .and_then(|m| m.body.first().and_then(Value::as_str).map(String::from));
                self.choose(bus)
            }
            Event::Reply { cookie, result } if (ALL..ALL + 2).contains(&cookie) => {
                if self.serving != Some((cookie - ALL) as usize) {
                    return false;
                }
                match result {
                    Ok(m) => m.body.first().is_some_and(|p| self.apply(p)),
                    Err(e) => {
                        self.error = Some(format!("reading the power profiles: {e}"));
                        true
                    }
                }
            }
            Event::Reply {
                cookie: SET,
                result,
            } => {
                let before = self.error.clone();
                self.error = match result {
                    Ok(_) => None,
                    Err(CallError::Remote(text)) => Some(text),
                    Err(e) => Some(e.to_string()),
                };
                self.error != before
            }
            Event::Signal(m) if m.is_signal("org.freedesktop.DBus", "NameOwnerChanged") => {
                let arg = |k: usize| m.body.get(k).and_then(Value::as_str).unwrap_or("");
                let Some(i) = NAMES.iter().position(|(n, _, _)| *n == arg(0)) else {
                    return false;
                };
                let new = arg(2);
                self.owners[i] = (!new.is_empty()).then(|| new.to_string());
                if self.serving == Some(i) && !new.is_empty() {
                    // A restarted daemon: read it again.
                    self.serving = None;
                }
                self.choose(bus)
            }
            Event::Signal(m) if m.is_signal(wire::PROPERTIES, "PropertiesChanged") => {
                let Some(i) = self.serving else {
                    return false;
                };
                if m.sender != self.owners[i] || m.path.as_deref() != Some(NAMES[i].1) {
                    return false;
                }
                if m.body.first().and_then(Value::as_str) != Some(NAMES[i].2) {
                    return false;
                }
                m.body.get(1).is_some_and(|p| self.apply(p))
            }
            _ => false,
        }
    }

    fn lost(&mut self) -> bool {
        let had = *self != PowerProfiles::default();
        *self = PowerProfiles::default();
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

    #[test]
    fn cycling_wraps_and_starts_at_the_first() {
        let p: Vec<String> = ["power-saver", "balanced", "performance"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(next_profile(&p, Some("power-saver")), Some("balanced"));
        assert_eq!(next_profile(&p, Some("performance")), Some("power-saver"));
        assert_eq!(next_profile(&p, Some("unknown")), Some("power-saver"));
        assert_eq!(next_profile(&p, None), Some("power-saver"));
        assert_eq!(next_profile(&[], Some("balanced")), None);
    }

    #[test]
    fn properties_apply() {
        let mut s = PowerProfiles::default();
        let props = Value::dict_sv(vec![
            ("ActiveProfile", Value::Str("balanced".into())),
            (
                "Profiles",
                Value::Array(
                    "a{sv}".into(),
                    vec![
                        Value::dict_sv(vec![("Profile", Value::Str("power-saver".into()))]),
                        Value::dict_sv(vec![("Profile", Value::Str("balanced".into()))]),
                    ],
                ),
            ),
        ]);
        assert!(s.apply(&props));
        assert_eq!(s.active.as_deref(), Some("balanced"));
        assert_eq!(s.profiles, ["power-saver", "balanced"]);
        assert!(!s.apply(&props), "no change the second time");
        let long = Value::dict_sv(vec![("ActiveProfile", Value::Str("x".repeat(1 << 20)))]);
        assert!(s.apply(&long));
        assert_eq!(s.active.as_ref().map(String::len), Some(64));
    }
}

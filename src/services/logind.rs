//! systemd-logind on the system bus, for one call: the caller's session's
//! `SetBrightness(subsystem, name, value)`, which logind allows the user of
//! the active session where the sysfs `brightness` file is root's alone.
//! The session is `/org/freedesktop/login1/session/auto` (logind resolves
//! it to the caller's session, else the user's display session).

use std::time::Duration;

use super::dbus::{Bus, CallError, Client, ClientId, Event, Message, Value};

/// Our id among the system bus's clients.
const ME: ClientId = ClientId(5);

/// logind's name, our session's object and its interface.
pub const NAME: &str = "org.freedesktop.login1";
pub const SESSION: &str = "/org/freedesktop/login1/session/auto";
pub const SESSION_IFACE: &str = "org.freedesktop.login1.Session";

const TIMEOUT: Duration = Duration::from_secs(5);
const SET: u64 = 1;

/// The last `SetBrightness` and how it went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Logind {
    /// The device (`intel_backlight`) of the call in flight or answered.
    pub device: String,
    /// Calls answered successfully so far (a module reads the level again
    /// when this moves).
    pub done: u64,
    /// Why the last call failed (logind's error, or no logind), for the
    /// device in [`Logind::device`]; cleared by the next success.
    pub error: Option<String>,
}

impl Logind {
    /// Asks logind to set `subsystem` (`backlight`) device `name` to `value`.
    pub fn set_brightness(&mut self, bus: &mut Bus, subsystem: &str, name: &str, value: u32) {
        self.device.clear();
        self.device.push_str(name);
        let m = Message::call(NAME, SESSION, SESSION_IFACE, "SetBrightness").with(vec![
            Value::Str(subsystem.into()),
            Value::Str(name.into()),
            Value::U32(value),
        ]);
        bus.call(ME, SET, &m, TIMEOUT);
    }
}

impl Client for Logind {
    fn id(&self) -> ClientId {
        ME
    }

    fn connected(&mut self, _bus: &mut Bus) {
        *self = Logind::default();
    }

    fn event(&mut self, _bus: &mut Bus, ev: Event) -> bool {
        let Event::Reply {
            cookie: SET,
            result,
        } = ev
        else {
            return false;
        };
        match result {
            Ok(_) => {
                self.done += 1;
                self.error = None;
            }
            Err(CallError::Remote(text)) => {
                self.error = Some(format!("logind SetBrightness: {text}"));
            }
            Err(e) => self.error = Some(format!("logind SetBrightness: {e}")),
        }
        true
    }

    fn lost(&mut self) -> bool {
        false
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

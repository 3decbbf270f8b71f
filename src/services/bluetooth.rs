//! BlueZ on the system bus (`org.bluez`): its adapters and devices read
//! with the ObjectManager's `GetManagedObjects` and followed through
//! `InterfacesAdded`, `InterfacesRemoved` and `PropertiesChanged`;
//! bluetoothd stopping clears everything, its return reads it all again.
//! One call: switch an adapter's `Powered`.
//!
//! BlueZ is a peer like any other: a property of the wrong type is ignored
//! and said in [`Bluetooth::complaint`], a reply of the wrong shape is an
//! error ([`Bluetooth::error`]), strings are cut to [`MAX_TEXT`] characters
//! and at most [`MAX_DEVICES`] devices are kept (a discovery in a crowded
//! room lists hundreds).

use std::time::Duration;

use super::dbus::{daemon_call, wire, Bus, CallError, Client, ClientId, Event, Message, Rule};
use super::dbus::{Value, DBUS_IFACE, DBUS_NAME};

/// Our id among the system bus's clients.
const ME: ClientId = ClientId(4);

/// BlueZ's bus name.
pub const NAME: &str = "org.bluez";
const OBJECT_MANAGER: &str = "org.freedesktop.DBus.ObjectManager";
/// The interfaces read (BlueZ's doc/org.bluez.Adapter.rst, Device.rst,
/// battery-api.txt).
pub const ADAPTER: &str = "org.bluez.Adapter1";
pub const DEVICE: &str = "org.bluez.Device1";
pub const BATTERY: &str = "org.bluez.Battery1";

/// Longest name kept, in characters.
pub const MAX_TEXT: usize = 64;
/// Most devices kept (known, paired and discovered ones alike).
pub const MAX_DEVICES: usize = 256;
/// Most adapters kept.
pub const MAX_ADAPTERS: usize = 16;

const TIMEOUT: Duration = Duration::from_secs(5);
const OWNER: u64 = 1;
const SET: u64 = 2;
/// `GetManagedObjects` goes out with `OBJECTS + generation`: a reply for an
/// earlier owner is recognised and dropped.
const OBJECTS: u64 = 1 << 32;

/// One adapter (`/org/bluez/hci0`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adapter {
    pub path: String,
    /// Its `Alias` (the friendly name), else `Name`.
    pub name: String,
    pub address: String,
    pub powered: bool,
    pub discovering: bool,
    alias: String,
    system_name: String,
}

/// One device (`/org/bluez/hci0/dev_XX_XX_XX_XX_XX_XX`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Device {
    pub path: String,
    /// The adapter's object path.
    pub adapter: String,
    /// Its `Alias` (BlueZ falls back to the name, then the address).
    pub name: String,
    pub address: String,
    pub connected: bool,
    pub paired: bool,
    /// `org.bluez.Battery1.Percentage`, when the device reports one.
    pub battery: Option<u8>,
    /// It has a `Device1` interface (not only a stray `Battery1`).
    device: bool,
}

/// What BlueZ says, as plain state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bluetooth {
    /// The unique name owning [`NAME`], when bluetoothd runs.
    owner: Option<String>,
    /// Bumped per owner: tells a stale `GetManagedObjects` reply.
    generation: u64,
    /// `GetManagedObjects` has answered for this owner.
    ready: bool,
    /// In object-path order.
    pub adapters: Vec<Adapter>,
    /// In object-path order.
    pub devices: Vec<Device>,
    /// Why BlueZ's state cannot be shown (its objects came in the wrong
    /// shape) or the last switch failed; cleared by the next good read or
    /// switch.
    pub error: Option<String>,
    /// The last thing BlueZ sent that was ignored (a property of the wrong
    /// type), for `--once --modules` and stderr.
    pub complaint: Option<String>,
}

impl Bluetooth {
    /// Whether bluetoothd runs and its objects have been read.
    pub fn present(&self) -> bool {
        self.owner.is_some() && self.ready
    }

    /// The adapter a module shows: the one whose path ends in `/{wanted}`
    /// (`hci1`), else the first.
    pub fn adapter(&self, wanted: &str) -> Option<&Adapter> {
        if !self.present() {
            return None;
        }
        if wanted.is_empty() {
            return self.adapters.first();
        }
        self.adapters
            .iter()
            .find(|a| a.path.rsplit('/').next() == Some(wanted))
    }

    /// The devices of adapter `path` (with a `Device1` interface).
    pub fn devices_of<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Device> + 'a {
        self.devices
            .iter()
            .filter(move |d| d.device && d.adapter == path)
    }

    /// Asks BlueZ to switch adapter `path` on when it is off and off when
    /// it is on; the change shows when BlueZ announces it.
    pub fn toggle(&mut self, bus: &mut Bus, path: &str) {
        let Some(a) = self.adapters.iter().find(|a| a.path == path) else {
            return;
        };
        let m = Message::call(NAME, path, wire::PROPERTIES, "Set").with(vec![
            Value::Str(ADAPTER.into()),
            Value::Str("Powered".into()),
            Value::Variant(Box::new(Value::Bool(!a.powered))),
        ]);
        bus.call(ME, SET, &m, TIMEOUT);
    }

    fn clear(&mut self) {
        self.ready = false;
        self.adapters.clear();
        self.devices.clear();
        self.error = None;
    }

    fn read_objects(&mut self, bus: &mut Bus) {
        self.generation += 1;
        let m = Message::call(NAME, "/", OBJECT_MANAGER, "GetManagedObjects");
        bus.call(ME, OBJECTS + self.generation, &m, TIMEOUT);
    }

    /// `GetManagedObjects`' answer: `a{oa{sa{sv}}}`.
    fn apply_objects(&mut self, m: &Message) -> bool {
        let before = (
            self.adapters.clone(),
            self.devices.clone(),
            self.error.clone(),
        );
        self.adapters.clear();
        self.devices.clear();
        self.ready = true;
        let sig = m.signature();
        if sig != "a{oa{sa{sv}}}" {
            self.error = Some(format!(
                "{NAME}: GetManagedObjects answered with signature {sig:?}, not a{{oa{{sa{{sv}}}}}}"
            ));
        } else {
            self.error = None;
            for entry in m.body[0].as_array().unwrap_or_default() {
                if let Value::Entry(path, ifaces) = entry {
                    if let Some(path) = path.as_str() {
                        self.add_interfaces(path, ifaces);
                    }
                }
            }
        }
        before
            != (
                self.adapters.clone(),
                self.devices.clone(),
                self.error.clone(),
            )
    }

    /// The interfaces (`a{sa{sv}}`) object `path` gained.
    fn add_interfaces(&mut self, path: &str, ifaces: &Value) -> bool {
        let mut changed = false;
        for e in ifaces.as_array().unwrap_or_default() {
            let Value::Entry(name, props) = e else {
                continue;
            };
            match name.as_str() {
                Some(ADAPTER) => {
                    let i = match self
                        .adapters
                        .binary_search_by(|a| a.path.as_str().cmp(path))
                    {
                        Ok(i) => i,
                        Err(_) if self.adapters.len() >= MAX_ADAPTERS => continue,
                        Err(i) => {
                            self.adapters.insert(
                                i,
                                Adapter {
                                    path: path.to_string(),
                                    ..Adapter::default()
                                },
                            );
                            i
                        }
                    };
                    self.adapter_props(i, props);
                    changed = true;
                }
                Some(DEVICE) | Some(BATTERY) => {
                    let Some(i) = self.device_slot(path) else {
                        continue;
                    };
                    if name.as_str() == Some(DEVICE) {
                        self.devices[i].device = true;
                        self.device_props(i, props);
                    } else {
                        self.battery_props(i, props);
                    }
                    changed = true;
                }
                _ => {}
            }
        }
        changed
    }

    /// The index of device `path`, added when new (unless full).
    fn device_slot(&mut self, path: &str) -> Option<usize> {
        match self.devices.binary_search_by(|d| d.path.as_str().cmp(path)) {
            Ok(i) => Some(i),
            Err(_) if self.devices.len() >= MAX_DEVICES => None,
            Err(i) => {
                let adapter = path.rsplit_once('/').map_or("", |(a, _)| a);
                self.devices.insert(
                    i,
                    Device {
                        path: path.to_string(),
                        adapter: adapter.to_string(),
                        ..Device::default()
                    },
                );
                Some(i)
            }
        }
    }

    fn remove_interfaces(&mut self, path: &str, names: &Value) -> bool {
        let mut changed = false;
        for n in names.as_array().unwrap_or_default() {
            match n.as_str() {
                Some(ADAPTER) => {
                    let before = self.adapters.len();
                    self.adapters.retain(|a| a.path != path);
                    changed |= self.adapters.len() != before;
                }
                Some(DEVICE) => {
                    let before = self.devices.len();
                    self.devices.retain(|d| d.path != path);
                    changed |= self.devices.len() != before;
                }
                Some(BATTERY) => {
                    if let Some(d) = self.devices.iter_mut().find(|d| d.path == path) {
                        changed |= d.battery.take().is_some();
                    }
                }
                _ => {}
            }
        }
        changed
    }

    fn adapter_props(&mut self, i: usize, props: &Value) {
        let path = self.adapters[i].path.clone();
        let mut bad = None;
        let a = &mut self.adapters[i];
        for (key, v) in entries(props) {
            match key {
                "Powered" => set_bool(&mut a.powered, v, &path, key, &mut bad),
                "Discovering" => set_bool(&mut a.discovering, v, &path, key, &mut bad),
                "Alias" => set_text(&mut a.alias, v, &path, key, &mut bad),
                "Name" => set_text(&mut a.system_name, v, &path, key, &mut bad),
                "Address" => set_text(&mut a.address, v, &path, key, &mut bad),
                _ => {}
            }
        }
        a.name.clone_from(if a.alias.is_empty() {
            &a.system_name
        } else {
            &a.alias
        });
        if bad.is_some() {
            self.complaint = bad;
        }
    }

    fn device_props(&mut self, i: usize, props: &Value) {
        let path = self.devices[i].path.clone();
        let mut bad = None;
        let d = &mut self.devices[i];
        for (key, v) in entries(props) {
            match key {
                "Connected" => set_bool(&mut d.connected, v, &path, key, &mut bad),
                "Paired" => set_bool(&mut d.paired, v, &path, key, &mut bad),
                "Alias" => set_text(&mut d.name, v, &path, key, &mut bad),
                "Address" => set_text(&mut d.address, v, &path, key, &mut bad),
                "Adapter" => set_text(&mut d.adapter, v, &path, key, &mut bad),
                _ => {}
            }
        }
        if d.name.is_empty() {
            d.name.clone_from(&d.address);
        }
        if bad.is_some() {
            self.complaint = bad;
        }
    }

    fn battery_props(&mut self, i: usize, props: &Value) {
        let d = &mut self.devices[i];
        for (key, v) in entries(props) {
            if key != "Percentage" {
                continue;
            }
            match v.unvariant() {
                Value::Byte(p) if *p <= 100 => d.battery = Some(*p),
                other => {
                    self.complaint = Some(format!(
                        "{NAME} {}: Percentage is {}, not a byte 0-100; ignored",
                        d.path,
                        describe(other)
                    ));
                }
            }
        }
    }

    /// `PropertiesChanged(s interface, a{sv} changed, as invalidated)` on `path`.
    fn properties_changed(&mut self, path: &str, m: &Message) -> bool {
        let sig = m.signature();
        if sig != "sa{sv}as" {
            self.complaint = Some(format!(
                "{NAME} {path}: PropertiesChanged with signature {sig:?}, not sa{{sv}}as; ignored"
            ));
            return true;
        }
        let props = &m.body[1];
        match m.body[0].as_str() {
            Some(ADAPTER) => match self.adapters.iter().position(|a| a.path == path) {
                Some(i) => {
                    let before = self.adapters[i].clone();
                    self.adapter_props(i, props);
                    self.adapters[i] != before
                }
                None => false,
            },
            Some(iface @ (DEVICE | BATTERY)) => {
                match self.devices.iter().position(|d| d.path == path) {
                    Some(i) => {
                        let before = self.devices[i].clone();
                        if iface == DEVICE {
                            self.device_props(i, props);
                        } else {
                            self.battery_props(i, props);
                        }
                        self.devices[i] != before
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }
}

/// The (key, value) pairs of an `a{sv}`.
fn entries(props: &Value) -> impl Iterator<Item = (&str, &Value)> {
    props
        .as_array()
        .unwrap_or_default()
        .iter()
        .filter_map(|e| match e {
            Value::Entry(k, v) => Some((k.as_str()?, &**v)),
            _ => None,
        })
}

/// A value's D-Bus type, for complaints.
fn describe(v: &Value) -> String {
    let mut s = String::new();
    v.signature(&mut s);
    s
}

fn set_bool(field: &mut bool, v: &Value, path: &str, key: &str, bad: &mut Option<String>) {
    match v.unvariant() {
        Value::Bool(b) => *field = *b,
        other => {
            *bad = Some(format!(
                "{NAME} {path}: {key} is {}, not b; ignored",
                describe(other)
            ))
        }
    }
}

fn set_text(field: &mut String, v: &Value, path: &str, key: &str, bad: &mut Option<String>) {
    match v.unvariant() {
        Value::Str(s) | Value::Path(s) => {
            field.clear();
            field.extend(
                s.chars()
                    .take(MAX_TEXT)
                    .map(|c| if c.is_control() { ' ' } else { c }),
            );
        }
        other => {
            *bad = Some(format!(
                "{NAME} {path}: {key} is {}, not s; ignored",
                describe(other)
            ))
        }
    }
}

impl Client for Bluetooth {
    fn id(&self) -> ClientId {
        ME
    }

    fn connected(&mut self, bus: &mut Bus) {
        *self = Bluetooth::default();
        bus.subscribe(ME, Rule::name_owner(NAME));
        // The daemon limits these to the name's owner; the owner's unique
        // name is checked again here.
        bus.subscribe(
            ME,
            Rule::signal(OBJECT_MANAGER, "InterfacesAdded").from(NAME),
        );
        bus.subscribe(
            ME,
            Rule::signal(OBJECT_MANAGER, "InterfacesRemoved").from(NAME),
        );
        bus.subscribe(
            ME,
            Rule::signal(wire::PROPERTIES, "PropertiesChanged").from(NAME),
        );
        bus.call(
            ME,
            OWNER,
            &daemon_call("GetNameOwner", vec![Value::Str(NAME.into())]),
            TIMEOUT,
        );
    }

    fn event(&mut self, bus: &mut Bus, ev: Event) -> bool {
        match ev {
            Event::Reply {
                cookie: OWNER,
                result,
            } => {
                // An error is NameHasNoOwner: bluetoothd does not run.
                let owner = result
                    .ok()
                    .and_then(|m| m.body.first().and_then(Value::as_str).map(String::from));
                if owner.is_none() || self.owner.is_some() {
                    return false;
                }
                self.owner = owner;
                self.read_objects(bus);
                false
            }
            Event::Reply { cookie, result } if cookie > OBJECTS => {
                if cookie != OBJECTS + self.generation || self.owner.is_none() {
                    return false;
                }
                match result {
                    Ok(m) => self.apply_objects(&m),
                    Err(e) => {
                        self.ready = true;
                        self.error = Some(format!("{NAME}: GetManagedObjects: {e}"));
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
                    Err(e) => Some(format!("{NAME}: switching Powered: {e}")),
                };
                self.error != before
            }
            Event::Signal(m) if m.is_signal(DBUS_IFACE, "NameOwnerChanged") => {
                if m.sender.as_deref() != Some(DBUS_NAME)
                    || m.body.first().and_then(Value::as_str) != Some(NAME)
                {
                    return false;
                }
                let new = m.body.get(2).and_then(Value::as_str).unwrap_or("");
                let had = self.present() || self.error.is_some();
                self.clear();
                if new.is_empty() {
                    self.owner = None;
                    return had;
                }
                // Started, or restarted: everything is read again.
                self.owner = Some(new.to_string());
                self.read_objects(bus);
                had
            }
            Event::Signal(m) => {
                if self.owner.is_none() || m.sender != self.owner || !self.ready {
                    return false;
                }
                let path = m.path.as_deref().unwrap_or("");
                if m.is_signal(wire::PROPERTIES, "PropertiesChanged") {
                    return self.properties_changed(path, &m);
                }
                let added = m.is_signal(OBJECT_MANAGER, "InterfacesAdded");
                let removed = m.is_signal(OBJECT_MANAGER, "InterfacesRemoved");
                if !added && !removed {
                    return false;
                }
                let (sig, want) = (m.signature(), if added { "oa{sa{sv}}" } else { "oas" });
                if sig != want {
                    let member = m.member.as_deref().unwrap_or("");
                    self.complaint = Some(format!(
                        "{NAME}: {member} with signature {sig:?}, not {want}; ignored"
                    ));
                    return true;
                }
                let Some(object) = m.body[0].as_str() else {
                    return false;
                };
                if added {
                    self.add_interfaces(object, &m.body[1])
                } else {
                    self.remove_interfaces(object, &m.body[1])
                }
            }
            _ => false,
        }
    }

    fn lost(&mut self) -> bool {
        let had = *self != Bluetooth::default();
        *self = Bluetooth::default();
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

    fn objects(body: Vec<Value>) -> Message {
        Message::method_return(&Message::call(
            NAME,
            "/",
            OBJECT_MANAGER,
            "GetManagedObjects",
        ))
        .with(body)
    }

    fn iface(name: &str, props: Vec<(&str, Value)>) -> Value {
        Value::Entry(
            Box::new(Value::Str(name.into())),
            Box::new(Value::dict_sv(props)),
        )
    }

    fn object(path: &str, ifaces: Vec<Value>) -> Value {
        Value::Entry(
            Box::new(Value::Path(path.into())),
            Box::new(Value::Array("{sa{sv}}".into(), ifaces)),
        )
    }

    fn present() -> Bluetooth {
        Bluetooth {
            owner: Some(":1.5".into()),
            ready: true,
            ..Bluetooth::default()
        }
    }

    #[test]
    fn managed_objects_are_read() {
        let mut b = present();
        let m = objects(vec![Value::Array(
            "{oa{sa{sv}}}".into(),
            vec![
                object(
                    "/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF",
                    vec![
                        iface(
                            DEVICE,
                            vec![
                                ("Alias", Value::Str("Headphones\n".into())),
                                ("Connected", Value::Bool(true)),
                                ("Adapter", Value::Path("/org/bluez/hci0".into())),
                            ],
                        ),
                        iface(BATTERY, vec![("Percentage", Value::Byte(80))]),
                    ],
                ),
                object(
                    "/org/bluez/hci0",
                    vec![
                        iface("org.freedesktop.DBus.Properties", vec![]),
                        iface(
                            ADAPTER,
                            vec![
                                ("Powered", Value::Bool(true)),
                                ("Name", Value::Str("x".into())),
                            ],
                        ),
                    ],
                ),
            ],
        )]);
        assert!(b.apply_objects(&m));
        let a = b.adapter("").expect("an adapter");
        assert!(a.powered && a.name == "x");
        assert_eq!(
            b.adapter("hci0").map(|a| a.path.as_str()),
            Some("/org/bluez/hci0")
        );
        assert!(b.adapter("hci1").is_none());
        let d: Vec<&Device> = b.devices_of("/org/bluez/hci0").collect();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].name, "Headphones ");
        assert_eq!(d[0].battery, Some(80));
        assert!(d[0].connected);
        assert!(!b.apply_objects(&m), "the same objects change nothing");
    }

    #[test]
    fn wrong_shapes_are_said_not_applied() {
        let mut b = present();
        assert!(b.apply_objects(&objects(vec![Value::strings(&["no"])])));
        assert!(
            b.error.as_deref().unwrap_or("").contains("\"as\""),
            "{:?}",
            b.error
        );
        assert!(b.adapters.is_empty());

        let mut b = present();
        b.adapters.push(Adapter {
            path: "/org/bluez/hci0".into(),
            powered: true,
            ..Adapter::default()
        });
        let pc = |props: Value| {
            Message::signal("/org/bluez/hci0", wire::PROPERTIES, "PropertiesChanged").with(vec![
                Value::Str(ADAPTER.into()),
                props,
                Value::strings::<&str>(&[]),
            ])
        };
        b.properties_changed(
            "/org/bluez/hci0",
            &pc(Value::dict_sv(vec![("Powered", Value::Str("no".into()))])),
        );
        assert!(b.adapters[0].powered, "a string is not a boolean");
        assert!(b
            .complaint
            .as_deref()
            .unwrap_or("")
            .contains("Powered is s"));
        let short = Message::signal("/org/bluez/hci0", wire::PROPERTIES, "PropertiesChanged")
            .with(vec![Value::Str(ADAPTER.into())]);
        b.properties_changed("/org/bluez/hci0", &short);
        assert!(b
            .complaint
            .as_deref()
            .unwrap_or("")
            .contains("signature \"s\""));
        b.properties_changed(
            "/org/bluez/hci0",
            &pc(Value::dict_sv(vec![("Powered", Value::Bool(false))])),
        );
        assert!(!b.adapters[0].powered);
    }

    #[test]
    fn devices_are_bounded() {
        let mut b = present();
        for i in 0..MAX_DEVICES + 50 {
            let p = format!("/org/bluez/hci0/dev_{i:04}");
            let ifaces = Value::Array(
                "{sa{sv}}".into(),
                vec![iface(DEVICE, vec![("Alias", Value::Str("n".repeat(1000)))])],
            );
            b.add_interfaces(&p, &ifaces);
        }
        assert_eq!(b.devices.len(), MAX_DEVICES);
        assert!(b.devices.iter().all(|d| d.name.chars().count() == MAX_TEXT));
        let gone = Value::strings(&[DEVICE]);
        assert!(b.remove_interfaces("/org/bluez/hci0/dev_0000", &gone));
        assert_eq!(b.devices.len(), MAX_DEVICES - 1);
    }
}

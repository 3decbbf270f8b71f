//! Our `StatusNotifierWatcher` object: the registrations it holds, its
//! methods, properties, signals and introspection data (Qt reads
//! `IsStatusNotifierHostRegistered` through introspection and falls back to
//! XEmbed when the property is not listed there).

use super::{split_registration, FDO_WATCHER, KDE_WATCHER, MAX_ITEMS, WATCHER_PATH};
use crate::services::dbus::{wire::PROPERTIES, Bus, Kind, Message, Value, NO_REPLY_EXPECTED};

/// One registered item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub service: String,
    pub path: String,
    /// The unique name of the connection that registered it.
    pub owner: String,
}

impl Registration {
    /// How the watcher lists it: service and path joined, as KDE's does.
    pub fn entry(&self) -> String {
        format!("{}{}", self.service, self.path)
    }
}

/// The watcher's state.
#[derive(Debug, Default)]
pub struct Watcher {
    pub items: Vec<Registration>,
    /// Unique names of the hosts other than us.
    pub hosts: Vec<String>,
}

const INTROSPECT: &str = r#"<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="org.freedesktop.DBus.Introspectable">
    <method name="Introspect"><arg name="xml" type="s" direction="out"/></method>
  </interface>
  <interface name="org.freedesktop.DBus.Properties">
    <method name="Get"><arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="v" direction="out"/></method>
    <method name="GetAll"><arg type="s" direction="in"/><arg type="a{sv}" direction="out"/></method>
    <method name="Set"><arg type="s" direction="in"/><arg type="s" direction="in"/><arg type="v" direction="in"/></method>
    <signal name="PropertiesChanged"><arg type="s"/><arg type="a{sv}"/><arg type="as"/></signal>
  </interface>
  <interface name="org.freedesktop.DBus.Peer">
    <method name="Ping"/>
  </interface>
IFACES</node>
"#;

const IFACE: &str = r#"  <interface name="NAME">
    <method name="RegisterStatusNotifierItem"><arg name="service" type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg name="service" type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
    <signal name="StatusNotifierHostUnregistered"/>
  </interface>
"#;

/// The introspection XML of `/StatusNotifierWatcher`.
pub fn introspection() -> String {
    let ifaces = [KDE_WATCHER, FDO_WATCHER]
        .iter()
        .map(|n| IFACE.replace("NAME", n))
        .collect::<String>();
    INTROSPECT.replace("IFACES", &ifaces)
}

fn is_watcher_iface(s: &str) -> bool {
    s == KDE_WATCHER || s == FDO_WATCHER
}

impl Watcher {
    fn property(&self, name: &str) -> Option<Value> {
        Some(match name {
            "RegisteredStatusNotifierItems" => Value::strings(
                &self
                    .items
                    .iter()
                    .map(Registration::entry)
                    .collect::<Vec<_>>(),
            ),
            // We are a host ourselves.
            "IsStatusNotifierHostRegistered" => Value::Bool(true),
            "ProtocolVersion" => Value::I32(0),
            _ => return None,
        })
    }

    fn signal(bus: &mut Bus, member: &str, body: Vec<Value>) {
        for iface in [KDE_WATCHER, FDO_WATCHER] {
            let s = Message::signal(WATCHER_PATH, iface, member).with(body.clone());
            let _ = bus.send(&s);
        }
    }

    /// Answers a method call on the watcher object.
    pub fn handle(&mut self, bus: &mut Bus, m: &Message, _host: &str) {
        if m.kind != Kind::MethodCall {
            return;
        }
        let wants_reply = m.flags & NO_REPLY_EXPECTED == 0;
        let arg = |i: usize| m.body.get(i).and_then(Value::as_str).unwrap_or("");
        let iface = m.interface.as_deref().unwrap_or("");
        let member = m.member.as_deref().unwrap_or("");
        let sender = m.sender.as_deref().unwrap_or("");
        let unknown = |what: &str| {
            Message::error(
                m,
                "org.freedesktop.DBus.Error.UnknownMethod",
                &format!("no method {what} on {WATCHER_PATH}"),
            )
        };
        let reply = match (iface, member) {
            ("org.freedesktop.DBus.Introspectable", "Introspect") | ("", "Introspect") => {
                Message::method_return(m).with(vec![Value::Str(introspection())])
            }
            (PROPERTIES, "Get") => match (is_watcher_iface(arg(0)), self.property(arg(1))) {
                (true, Some(v)) => {
                    Message::method_return(m).with(vec![Value::Variant(Box::new(v))])
                }
                _ => Message::error(
                    m,
                    "org.freedesktop.DBus.Error.UnknownProperty",
                    &format!("no property {}.{}", arg(0), arg(1)),
                ),
            },
            (PROPERTIES, "GetAll") => {
                let pairs = if is_watcher_iface(arg(0)) {
                    [
                        "RegisteredStatusNotifierItems",
                        "IsStatusNotifierHostRegistered",
                        "ProtocolVersion",
                    ]
                    .iter()
                    .filter_map(|n| Some((*n, self.property(n)?)))
                    .collect()
                } else {
                    Vec::new()
                };
                Message::method_return(m).with(vec![Value::dict_sv(pairs)])
            }
            (PROPERTIES, "Set") => Message::error(
                m,
                "org.freedesktop.DBus.Error.PropertyReadOnly",
                "the watcher's properties are read-only",
            ),
            (i, "RegisterStatusNotifierItem") if i.is_empty() || is_watcher_iface(i) => {
                let (service, path) = split_registration(arg(0), sender);
                if service.is_empty() || !path.starts_with('/') {
                    Message::error(
                        m,
                        "org.freedesktop.DBus.Error.InvalidArgs",
                        "no service or path",
                    )
                } else if self.items.len() >= MAX_ITEMS {
                    Message::error(
                        m,
                        "org.freedesktop.DBus.Error.LimitsExceeded",
                        "too many items",
                    )
                } else {
                    let r = Registration {
                        service,
                        path,
                        owner: sender.to_string(),
                    };
                    if !self.items.contains(&r) {
                        let entry = r.entry();
                        self.items.push(r);
                        if wants_reply {
                            let _ = bus.send(&Message::method_return(m));
                        }
                        Watcher::signal(
                            bus,
                            "StatusNotifierItemRegistered",
                            vec![Value::Str(entry)],
                        );
                        return;
                    }
                    Message::method_return(m)
                }
            }
            (i, "RegisterStatusNotifierHost") if i.is_empty() || is_watcher_iface(i) => {
                if !self.hosts.iter().any(|h| h == sender) && self.hosts.len() < 64 {
                    self.hosts.push(sender.to_string());
                }
                if wants_reply {
                    let _ = bus.send(&Message::method_return(m));
                }
                Watcher::signal(bus, "StatusNotifierHostRegistered", vec![]);
                return;
            }
            _ => unknown(&format!("{iface}.{member}")),
        };
        if wants_reply {
            let _ = bus.send(&reply);
        }
    }

    /// Registers an item we already show (one a previous watcher held).
    pub fn adopt(&mut self, bus: &mut Bus, service: String, path: String, owner: String) {
        let r = Registration {
            service,
            path,
            owner,
        };
        if !self.items.contains(&r) && self.items.len() < MAX_ITEMS {
            let entry = r.entry();
            self.items.push(r);
            Watcher::signal(bus, "StatusNotifierItemRegistered", vec![Value::Str(entry)]);
        }
    }

    /// Connection `unique` left the bus: drops what it registered; true
    /// when an item went.
    pub fn forget(&mut self, bus: &mut Bus, unique: &str) -> bool {
        let mut gone = Vec::new();
        self.items.retain(|r| {
            let keep = r.owner != unique && r.service != unique;
            if !keep {
                gone.push(r.entry());
            }
            keep
        });
        for e in &gone {
            Watcher::signal(
                bus,
                "StatusNotifierItemUnregistered",
                vec![Value::Str(e.clone())],
            );
        }
        let hosts = self.hosts.len();
        self.hosts.retain(|h| h != unique);
        if hosts != self.hosts.len() {
            Watcher::signal(bus, "StatusNotifierHostUnregistered", vec![]);
        }
        !gone.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn introspection_lists_the_properties_on_both_names() {
        let x = introspection();
        for name in [KDE_WATCHER, FDO_WATCHER] {
            assert!(x.contains(&format!("<interface name=\"{name}\">")));
        }
        assert_eq!(x.matches("IsStatusNotifierHostRegistered").count(), 2);
        assert_eq!(x.matches("RegisteredStatusNotifierItems").count(), 2);
    }
}

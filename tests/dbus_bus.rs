//! The shared D-Bus connection against a real, private `dbus-daemon`: calls,
//! replies, errors, properties, signals, NameOwnerChanged, timeouts, an
//! oversized reply and the daemon going away. Nothing here blocks on the
//! socket: the test drives the connections with poll(2) as the bar's loop does.

mod common;
mod support;

use std::rc::Rc;
use std::time::{Duration, Instant};

use rstat::services::dbus::{
    daemon_call, name_flags, name_reply, Bus, CallError, Client, ClientId, Event, Message, Rule,
    Value,
};
use support::dbus::PrivateBus;

const ME: ClientId = ClientId(7);

fn bus_or_skip(tag: &str) -> Option<PrivateBus> {
    let b = PrivateBus::start(tag);
    common::need(b.is_some(), "dbus-daemon is not installed")
        .then_some(())
        .and(b)
}

/// Runs the buses' I/O until `want` picks an event (from any bus, tagged
/// with its index) or `timeout` passes; other events are kept in `seen`.
fn pump<T>(
    buses: &mut [&mut Bus],
    timeout: Duration,
    seen: &mut Vec<(usize, ClientId, Event)>,
    mut want: impl FnMut(usize, &ClientId, &Event) -> Option<T>,
) -> Option<T> {
    let end = Instant::now() + timeout;
    loop {
        for (i, b) in buses.iter_mut().enumerate() {
            b.expire(Instant::now());
            while let Some((c, e)) = b.poll() {
                if let Some(t) = want(i, &c, &e) {
                    return Some(t);
                }
                seen.push((i, c, e));
            }
        }
        let now = Instant::now();
        if now >= end {
            return None;
        }
        let mut fds: Vec<libc::pollfd> = buses
            .iter()
            .map(|b| libc::pollfd {
                fd: b.fd(),
                events: libc::POLLIN | if b.wants_write() { libc::POLLOUT } else { 0 },
                revents: 0,
            })
            .collect();
        let wait = (end - now).min(Duration::from_millis(20));
        // SAFETY: poll(2) on descriptors the buses keep open.
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as _, wait.as_millis() as i32) };
        for (b, p) in buses.iter_mut().zip(&fds) {
            if p.revents != 0 {
                let _ = b.on_readable();
            }
        }
    }
}

fn reply_of(
    cookie: u64,
) -> impl FnMut(usize, &ClientId, &Event) -> Option<Result<Rc<Message>, CallError>> {
    move |_, _, e| match e {
        Event::Reply { cookie: c, result } if *c == cookie => Some(result.clone()),
        _ => None,
    }
}

fn connect(pb: &PrivateBus) -> Bus {
    let mut b = Bus::open(&pb.address).expect("connect to the private bus");
    // Hello is answered on the first dispatch: make one call to get there.
    b.call(ME, 0, &daemon_call("GetId", vec![]), Duration::from_secs(5));
    let id = pump(
        &mut [&mut b],
        Duration::from_secs(5),
        &mut Vec::new(),
        reply_of(0),
    );
    assert!(matches!(id, Some(Ok(_))), "GetId: {id:?}");
    assert!(b.unique_name().is_some_and(|n| n.starts_with(':')));
    b
}

#[test]
fn calls_replies_errors_and_properties() {
    let Some(pb) = bus_or_skip("calls") else {
        return;
    };
    let mut a = connect(&pb);
    let mut b = connect(&pb);
    let a_name = a.unique_name().unwrap_or_default().to_string();

    // A D-Bus error from the daemon comes back as Remote, with its name.
    b.call(
        ME,
        1,
        &daemon_call("GetNameOwner", vec![Value::Str("org.rstat.Nobody".into())]),
        Duration::from_secs(5),
    );
    let r = pump(
        &mut [&mut b],
        Duration::from_secs(5),
        &mut Vec::new(),
        reply_of(1),
    );
    match r {
        Some(Err(CallError::Remote(e))) => assert!(e.contains("NameHasNoOwner"), "{e}"),
        other => panic!("GetNameOwner of a free name: {other:?}"),
    }

    // A serves Properties.Get on /obj; B asks it.
    a.export(ClientId(1), "/obj");
    b.call(
        ME,
        2,
        &Message::get_property(&a_name, "/obj", "org.rstat.T", "Title"),
        Duration::from_secs(5),
    );
    let call = pump(
        &mut [&mut a, &mut b],
        Duration::from_secs(5),
        &mut Vec::new(),
        |i, c, e| match e {
            Event::MethodCall(m) if i == 0 && *c == ClientId(1) => Some(m.clone()),
            _ => None,
        },
    )
    .expect("A sees B's call");
    assert_eq!(call.member.as_deref(), Some("Get"));
    assert_eq!(call.body[1].as_str(), Some("Title"));
    let reply = Message::method_return(&call)
        .with(vec![Value::Variant(Box::new(Value::Str("hello".into())))]);
    a.send(&reply).expect("send reply");
    let got = pump(
        &mut [&mut a, &mut b],
        Duration::from_secs(5),
        &mut Vec::new(),
        reply_of(2),
    );
    let got = got.expect("B gets a reply").expect("B's reply is a return");
    assert_eq!(got.body[0].as_str(), Some("hello"));

    // A path nobody exported is answered UnknownObject by the connection
    // itself: the caller never waits on us.
    b.call(
        ME,
        3,
        &Message::call(&a_name, "/elsewhere", "org.rstat.T", "X"),
        Duration::from_secs(5),
    );
    let r = pump(
        &mut [&mut a, &mut b],
        Duration::from_secs(5),
        &mut Vec::new(),
        reply_of(3),
    );
    match r {
        Some(Err(CallError::Remote(e))) => assert!(e.contains("UnknownObject"), "{e}"),
        other => panic!("call on an unexported path: {other:?}"),
    }
}

#[test]
fn signals_and_name_owner_changed() {
    let Some(pb) = bus_or_skip("signals") else {
        return;
    };
    let mut a = connect(&pb);
    let mut b = connect(&pb);
    let name = "org.rstat.TestName";
    b.subscribe(ClientId(2), Rule::name_owner(name));
    b.subscribe(ClientId(3), Rule::properties_changed("/obj", "org.rstat.T"));
    // The AddMatch calls must reach the daemon before A acts: a round trip.
    b.call(ME, 9, &daemon_call("GetId", vec![]), Duration::from_secs(5));
    let rt = pump(
        &mut [&mut b],
        Duration::from_secs(5),
        &mut Vec::new(),
        reply_of(9),
    );
    assert!(matches!(rt, Some(Ok(_))), "round trip: {rt:?}");

    a.call(
        ME,
        1,
        &daemon_call(
            "RequestName",
            vec![
                Value::Str(name.into()),
                Value::U32(name_flags::DO_NOT_QUEUE),
            ],
        ),
        Duration::from_secs(5),
    );
    let mut seen = Vec::new();
    let r = pump(
        &mut [&mut a, &mut b],
        Duration::from_secs(5),
        &mut seen,
        reply_of(1),
    );
    let r = r.expect("RequestName answered").expect("RequestName ok");
    assert_eq!(r.body[0].as_u32(), Some(name_reply::PRIMARY_OWNER));
    let owner_is = |want_new_empty: bool, at: usize| {
        move |i: usize, c: &ClientId, e: &Event| match e {
            Event::Signal(m)
                if i == at
                    && *c == ClientId(2)
                    && m.is_signal("org.freedesktop.DBus", "NameOwnerChanged")
                    && m.body
                        .get(2)
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.is_empty())
                        == want_new_empty =>
            {
                Some(m.clone())
            }
            _ => None,
        }
    };
    let got = seen
        .iter()
        .find_map(|(i, c, e)| owner_is(false, 1)(*i, c, e))
        .or_else(|| {
            pump(
                &mut [&mut a, &mut b],
                Duration::from_secs(5),
                &mut Vec::new(),
                owner_is(false, 1),
            )
        })
        .expect("NameOwnerChanged for the new owner");
    assert_eq!(got.body[0].as_str(), Some(name));
    assert_eq!(got.body[2].as_str(), a.unique_name());

    // PropertiesChanged from A reaches B's client 3 only.
    let mut sig = Message::signal(
        "/obj",
        "org.freedesktop.DBus.Properties",
        "PropertiesChanged",
    );
    sig.body = vec![
        Value::Str("org.rstat.T".into()),
        Value::dict_sv(vec![("Title", Value::Str("new".into()))]),
        Value::strings::<&str>(&[]),
    ];
    a.send(&sig).expect("send signal");
    let mut seen = Vec::new();
    let got = pump(
        &mut [&mut a, &mut b],
        Duration::from_secs(5),
        &mut seen,
        |i, c, e| match e {
            Event::Signal(m) if i == 1 && m.member.as_deref() == Some("PropertiesChanged") => {
                Some((*c, m.clone()))
            }
            _ => None,
        },
    )
    .expect("PropertiesChanged delivered");
    assert_eq!(got.0, ClientId(3));
    assert_eq!(
        got.1.body[1].dict_get("Title").and_then(Value::as_str),
        Some("new")
    );

    // A leaves the bus: its name goes, B hears it.
    drop(a);
    let gone = pump(
        &mut [&mut b],
        Duration::from_secs(5),
        &mut Vec::new(),
        owner_is(true, 0),
    );
    assert!(
        gone.is_some(),
        "NameOwnerChanged to no owner after the owner left"
    );
}

#[test]
fn timeouts_oversized_replies_and_lost_bus() {
    let Some(mut pb) = bus_or_skip("limits") else {
        return;
    };
    let mut a = connect(&pb);
    let mut b = connect(&pb);
    let a_name = a.unique_name().unwrap_or_default().to_string();
    a.export(ClientId(1), "/obj");

    // A never answers: B's call times out at its deadline, not later.
    let t0 = Instant::now();
    b.call(
        ME,
        1,
        &Message::call(&a_name, "/obj", "org.rstat.T", "Slow"),
        Duration::from_millis(300),
    );
    assert!(b.next_deadline().is_some());
    let r = pump(
        &mut [&mut a, &mut b],
        Duration::from_secs(5),
        &mut Vec::new(),
        reply_of(1),
    );
    assert_eq!(r, Some(Err(CallError::Timeout)));
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(b.pending_calls(), 0);

    // A answers with 12 MiB: B drops it unread (TooLarge) and the
    // connection goes on working.
    b.call(
        ME,
        2,
        &Message::call(&a_name, "/obj", "org.rstat.T", "Big"),
        Duration::from_secs(20),
    );
    let mut seen = Vec::new();
    let call = pump(
        &mut [&mut a, &mut b],
        Duration::from_secs(5),
        &mut seen,
        |_, _, e| match e {
            Event::MethodCall(m) if m.member.as_deref() == Some("Big") => Some(m.clone()),
            _ => None,
        },
    )
    .expect("A sees Big");
    a.send(&Message::method_return(&call).with(vec![Value::Bytes(vec![7; 12 << 20])]))
        .expect("queue the big reply");
    let r = pump(
        &mut [&mut a, &mut b],
        Duration::from_secs(20),
        &mut Vec::new(),
        reply_of(2),
    );
    assert_eq!(r, Some(Err(CallError::TooLarge)));
    b.call(ME, 3, &daemon_call("GetId", vec![]), Duration::from_secs(5));
    let r = pump(
        &mut [&mut a, &mut b],
        Duration::from_secs(5),
        &mut Vec::new(),
        reply_of(3),
    );
    assert!(matches!(r, Some(Ok(_))), "after the big reply: {r:?}");

    // The daemon dies: the read fails, every waiting call gets
    // Disconnected at once.
    b.call(
        ME,
        4,
        &Message::call(&a_name, "/obj", "org.rstat.T", "Never"),
        Duration::from_secs(60),
    );
    pb.kill();
    let end = Instant::now() + Duration::from_secs(5);
    let mut failed = false;
    while Instant::now() < end && !failed {
        let mut p = libc::pollfd {
            fd: b.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll(2) on the bus's own socket.
        unsafe { libc::poll(&mut p, 1, 50) };
        failed = b.on_readable().is_err();
    }
    assert!(failed, "the lost daemon was noticed");
    let r = std::iter::from_fn(|| b.poll()).find_map(|(_, e)| match e {
        Event::Reply { cookie: 4, result } => Some(result),
        _ => None,
    });
    assert_eq!(r.map(|r| r.err()), Some(Some(CallError::Disconnected)));
}

#[test]
fn no_bus_is_an_error_not_a_hang() {
    let t0 = Instant::now();
    let e = Bus::open("unix:path=/nonexistent/rstat-no-bus").expect_err("no socket there");
    assert!(e.to_string().contains("/nonexistent/rstat-no-bus"), "{e}");
    assert!(Bus::open("tcp:host=localhost,port=1").is_err());
    assert!(t0.elapsed() < Duration::from_secs(1));
}

/// What a module-side user of the shared bus looks like: follows who owns
/// a name (GetNameOwner at connect, then NameOwnerChanged).
struct OwnerWatch {
    name: &'static str,
    owner: Option<String>,
    connects: u32,
    losses: u32,
    timeouts: u32,
}

impl Client for OwnerWatch {
    fn id(&self) -> ClientId {
        ClientId(40)
    }
    fn connected(&mut self, bus: &mut Bus) {
        self.connects += 1;
        self.owner = None;
        bus.subscribe(self.id(), Rule::name_owner(self.name));
        let q = daemon_call("GetNameOwner", vec![Value::Str(self.name.into())]);
        bus.call(self.id(), 1, &q, Duration::from_secs(2));
    }
    fn event(&mut self, _bus: &mut Bus, ev: Event) -> bool {
        let before = self.owner.clone();
        match ev {
            Event::Reply {
                cookie: 5,
                result: Err(CallError::Timeout),
            } => self.timeouts += 1,
            Event::Reply { cookie: 1, result } => {
                // NameHasNoOwner (an error) means nobody.
                self.owner = result
                    .ok()
                    .and_then(|m| m.body.first()?.as_str().map(String::from));
            }
            Event::Signal(m) if m.is_signal("org.freedesktop.DBus", "NameOwnerChanged") => {
                self.owner = m
                    .body
                    .get(2)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .map(String::from);
            }
            _ => {}
        }
        before != self.owner
    }
    fn lost(&mut self) -> bool {
        self.losses += 1;
        self.owner.take().is_some()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

fn drive(
    shared: &mut rstat::services::dbus::Shared,
    timeout: Duration,
    mut done: impl FnMut(&rstat::services::dbus::Shared) -> bool,
) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if done(shared) {
            return true;
        }
        let Some(fd) = shared.fd() else {
            return done(shared);
        };
        let mut p = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll(2) on the shared bus's socket.
        unsafe { libc::poll(&mut p, 1, 20) };
        let _ = shared.dispatch(Instant::now());
    }
    done(shared)
}

#[test]
fn shared_connection_routes_to_clients_and_reconnects() {
    let Some(mut pb) = bus_or_skip("shared1") else {
        return;
    };
    let watch = OwnerWatch {
        name: "org.rstat.Watched",
        owner: None,
        connects: 0,
        losses: 0,
        timeouts: 0,
    };
    let mut shared = rstat::services::dbus::Shared::new(vec![Box::new(watch)]);
    shared.connect(&pb.address).expect("connect");
    let owner =
        |s: &rstat::services::dbus::Shared| s.client::<OwnerWatch>().and_then(|w| w.owner.clone());
    // Nobody owns it yet: the GetNameOwner error is answered and routed.
    assert!(drive(&mut shared, Duration::from_secs(2), |s| s
        .deadline()
        .is_none()));
    assert_eq!(owner(&shared), None);

    // Another connection takes the name: the client hears it.
    let mut other = connect(&pb);
    other.call(
        ME,
        1,
        &daemon_call(
            "RequestName",
            vec![Value::Str("org.rstat.Watched".into()), Value::U32(0)],
        ),
        Duration::from_secs(5),
    );
    let _ = pump(
        &mut [&mut other],
        Duration::from_secs(5),
        &mut Vec::new(),
        reply_of(1),
    );
    let want = other.unique_name().map(String::from);
    assert!(
        drive(&mut shared, Duration::from_secs(5), |s| owner(s) == want),
        "owner {:?}",
        owner(&shared)
    );

    // A call nobody answers: its timeout alone makes the shared
    // descriptor readable, at the deadline.
    let to = want.clone().unwrap_or_default();
    shared
        .command(|w: &mut OwnerWatch, bus| {
            let m = Message::call(&to, "/nothing", "org.rstat.T", "Never");
            bus.call(w.id(), 5, &m, Duration::from_millis(300))
        })
        .expect("connected, client present");
    let t0 = Instant::now();
    let fd = shared.fd().expect("fd");
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // `other` never reads its socket, so only the timer can wake us.
    // SAFETY: poll(2) on the shared bus's descriptor.
    let n = unsafe { libc::poll(&mut p, 1, 3000) };
    assert_eq!(n, 1);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(2000),
        "{took:?}"
    );
    let _ = shared.dispatch(Instant::now());
    assert_eq!(shared.client::<OwnerWatch>().map(|w| w.timeouts), Some(1));

    // The daemon goes: dispatch fails, the client is told, and a new bus
    // sets it up again.
    pb.kill();
    let mut failed = false;
    let end = Instant::now() + Duration::from_secs(5);
    while !failed && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
        failed = shared.dispatch(Instant::now()).is_err();
    }
    assert!(failed && !shared.is_connected());
    let w = shared.client::<OwnerWatch>().expect("client");
    assert_eq!((w.connects, w.losses, w.owner.clone()), (1, 1, None));
    let Some(pb2) = bus_or_skip("shared2") else {
        return;
    };
    shared.connect(&pb2.address).expect("reconnect");
    assert!(drive(&mut shared, Duration::from_secs(2), |s| s
        .deadline()
        .is_none()));
    assert_eq!(shared.client::<OwnerWatch>().map(|w| w.connects), Some(2));
}

#[test]
fn session_bus_service_hands_modules_its_clients() {
    use rstat::services::{bus::BusService, Service};
    let none = BusService::session(&|_| None, vec![]);
    assert!(none
        .unavailable()
        .is_some_and(|w| w.contains("DBUS_SESSION_BUS_ADDRESS")));
    let Some(pb) = bus_or_skip("service") else {
        return;
    };
    let addr = pb.address.clone();
    let watch = OwnerWatch {
        name: "org.freedesktop.DBus",
        owner: None,
        connects: 0,
        losses: 0,
        timeouts: 0,
    };
    let mut svc = BusService::session(
        &move |k| (k == "DBUS_SESSION_BUS_ADDRESS").then(|| addr.clone()),
        vec![Box::new(watch)],
    );
    assert!(svc.unavailable().is_none());
    assert!(svc.view().session_bus().is_some_and(|s| s.is_none()));
    svc.connect().expect("connect");
    let end = Instant::now() + Duration::from_secs(5);
    let owner = |svc: &BusService| {
        svc.view()
            .session_bus()
            .flatten()
            .and_then(|s| s.client::<OwnerWatch>())
            .and_then(|w| w.owner.clone())
    };
    while owner(&svc).is_none() && Instant::now() < end {
        let mut p = libc::pollfd {
            fd: svc.fd().expect("fd while connected"),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll(2) on the service's descriptor.
        unsafe { libc::poll(&mut p, 1, 50) };
        svc.dispatch().expect("dispatch");
    }
    // The daemon owns its own name.
    assert_eq!(owner(&svc).as_deref(), Some("org.freedesktop.DBus"));
    svc.disconnect();
    assert!(svc.fd().is_none());
}

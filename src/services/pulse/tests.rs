//! The client against an in-process server speaking the protocol's layouts
//! (as `pulsecore/protocol-native.c` writes them): the handshake, queries,
//! events and their coalescing, and bad input. Real servers are exercised by
//! tests/audio_*.rs.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

use super::tagstruct::{CVolume, Reader, Writer, DESCRIPTOR};
use super::*;

struct Fake {
    _dir: TempDir,
    conn: UnixStream,
    client: Client,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir(tag: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!(
        "rstat-pulse-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
}

/// One packet from the client: (command, tag, body reader bytes).
fn read_packet(s: &mut UnixStream) -> (u32, u32, Vec<u8>) {
    let mut d = [0u8; DESCRIPTOR];
    s.read_exact(&mut d).unwrap();
    let len = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize;
    let mut body = vec![0; len];
    s.read_exact(&mut body).unwrap();
    let mut r = Reader::new(&body);
    let (c, t) = (r.u32().unwrap(), r.u32().unwrap());
    (c, t, body)
}

fn send(s: &mut UnixStream, build: impl FnOnce(&mut Vec<u8>)) {
    let mut out = Vec::new();
    build(&mut out);
    s.write_all(&out).unwrap();
}

fn reply(s: &mut UnixStream, tag: u32, body: impl FnOnce(&mut Writer<'_>)) {
    send(s, |o| {
        let mut w = Writer::command(o, command::REPLY, tag);
        body(&mut w);
        w.finish();
    });
}

fn server_info(w: &mut Writer<'_>, sink: Option<&str>, source: Option<&str>) {
    w.string(Some("pulseaudio"))
        .string(Some("16.1"))
        .string(Some("nobody"))
        .string(Some("host"));
    sample_spec(w);
    w.string(sink).string(source).u32(0);
    channel_map(w);
}

fn sample_spec(w: &mut Writer<'_>) {
    w.sample_spec(tagstruct::SampleSpec {
        format: 3,
        channels: 2,
        rate: 48000,
    });
}

fn channel_map(w: &mut Writer<'_>) {
    w.channel_map(&[1, 2]);
}

struct Dev<'a> {
    index: u32,
    name: &'a str,
    desc: &'a str,
    vol: u32,
    mute: bool,
    props: &'a [(&'a str, &'a str)],
    ports: &'a [(&'a str, u32)],
    active: Option<&'a str>,
}

fn device_info(w: &mut Writer<'_>, d: &Dev<'_>) {
    w.u32(d.index).string(Some(d.name)).string(Some(d.desc));
    sample_spec(w);
    channel_map(w);
    w.u32(1).cvolume(&CVolume::uniform(2, d.vol)).bool(d.mute);
    w.u32(2).string(Some("x.monitor"));
    w.usec(9);
    w.string(Some("driver")).u32(0).proplist(d.props);
    w.usec(9);
    w.volume(VOLUME_NORM);
    w.u32(0).u32(0).u32(u32::MAX).u32(d.ports.len() as u32);
    for (n, t) in d.ports {
        w.string(Some(n)).string(Some("Port")).u32(100).u32(2);
        w.string(None).u32(*t);
    }
    w.string(d.active);
    // Formats follow in a real reply: the client stops before them.
    w.u8(0);
}

const SINK: Dev<'static> = Dev {
    index: 3,
    name: "out",
    desc: "Speakers",
    vol: VOLUME_NORM / 2,
    mute: false,
    props: &[("device.form_factor", "internal")],
    ports: &[
        ("analog-output-speaker", 2),
        ("analog-output-headphones", 3),
    ],
    active: Some("analog-output-headphones"),
};

impl Fake {
    /// A connected client, authenticated at `version`, with the requests
    /// after authentication read (client name, subscribe, server info).
    fn start(tag: &str, version: u32) -> (Fake, u32) {
        let dir = tempdir(tag);
        let sock = dir.0.join("native");
        let l = UnixListener::bind(&sock).unwrap();
        let client = Client::connect(&Target {
            socket: sock,
            cookie: None,
        })
        .unwrap();
        let (mut conn, _) = l.accept().unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let (c, t, body) = read_packet(&mut conn);
        assert_eq!(c, command::AUTH);
        let mut r = Reader::new(&body);
        r.u32().unwrap();
        r.u32().unwrap();
        assert_eq!(r.u32(), Ok(PROTOCOL_VERSION));
        assert_eq!(r.arbitrary().unwrap().len(), COOKIE_LEN);
        reply(&mut conn, t, |w| {
            w.u32(version);
        });
        let mut f = Fake {
            _dir: dir,
            conn,
            client,
        };
        assert_eq!(f.client.dispatch(), Ok(false));
        let (c, t, _) = read_packet(&mut f.conn);
        assert_eq!(c, command::SET_CLIENT_NAME);
        reply(&mut f.conn, t, |w| {
            w.u32(7);
        });
        let (c, t, body) = read_packet(&mut f.conn);
        assert_eq!(c, command::SUBSCRIBE);
        let mut r = Reader::new(&body);
        r.u32().unwrap();
        r.u32().unwrap();
        assert_eq!(r.u32(), Ok(0x83));
        reply(&mut f.conn, t, |_| {});
        let (c, t, _) = read_packet(&mut f.conn);
        assert_eq!(c, command::GET_SERVER_INFO);
        (f, t)
    }

    /// Answers the next request, which must be `cmd` for `name`.
    fn answer_info(&mut self, cmd: u32, name: &str, d: &Dev<'_>) {
        let (c, t, body) = read_packet(&mut self.conn);
        assert_eq!(c, cmd);
        let mut r = Reader::new(&body);
        r.u32().unwrap();
        r.u32().unwrap();
        assert_eq!(r.u32(), Ok(u32::MAX));
        assert_eq!(r.string(), Ok(Some(name)));
        reply(&mut self.conn, t, |w| device_info(w, d));
    }

    fn event(&mut self, ev: u32, index: u32) {
        send(&mut self.conn, |o| {
            let mut w = Writer::command(o, command::SUBSCRIBE_EVENT, u32::MAX);
            w.u32(ev).u32(index);
            w.finish();
        });
    }

    /// Whether the client sent nothing more.
    fn quiet(&mut self) -> bool {
        self.conn.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        let r = self.conn.read(&mut b);
        self.conn.set_nonblocking(false).unwrap();
        matches!(r, Err(e) if e.kind() == ErrorKind::WouldBlock)
    }
}

/// A ready client showing SINK and a source.
fn ready(tag: &str) -> Fake {
    let (mut f, t) = Fake::start(tag, PROTOCOL_VERSION);
    reply(&mut f.conn, t, |w| server_info(w, Some("out"), Some("mic")));
    assert_eq!(f.client.dispatch(), Ok(true));
    assert!(f.client.state().ready);
    f.answer_info(command::GET_SINK_INFO, "out", &SINK);
    let mic = Dev {
        index: 5,
        name: "mic",
        desc: "Mic",
        vol: VOLUME_NORM,
        mute: true,
        props: &[("device.bus", "bluetooth")],
        ports: &[],
        active: None,
    };
    f.answer_info(command::GET_SOURCE_INFO, "mic", &mic);
    assert_eq!(f.client.dispatch(), Ok(true));
    f
}

#[test]
fn handshake_then_default_devices() {
    let f = ready("handshake");
    let s = f.client.state();
    assert_eq!(s.server, "pulseaudio 16.1");
    assert_eq!(f.client.version(), PROTOCOL_VERSION);
    let sink = s.sink.as_ref().unwrap();
    assert_eq!(
        (sink.index, sink.name.as_str(), sink.description.as_str()),
        (3, "out", "Speakers")
    );
    assert_eq!(sink.percent(), 50);
    assert!(!sink.muted);
    assert_eq!(sink.port, Port::HEADPHONES, "the active port's type");
    assert!(!sink.bluetooth);
    let src = s.source.as_ref().unwrap();
    assert_eq!((src.percent(), src.muted), (100, true));
    assert!(src.bluetooth);
    assert_eq!(src.port, Port::BLUETOOTH, "from device.bus");
}

#[test]
fn older_protocol_has_no_port_types() {
    // Version 33: ports without availability group and type.
    let (mut f, t) = Fake::start("v33", 33);
    assert_eq!(f.client.version(), 33);
    reply(&mut f.conn, t, |w| server_info(w, Some("out"), None));
    f.client.dispatch().unwrap();
    let (c, t, _) = read_packet(&mut f.conn);
    assert_eq!(c, command::GET_SINK_INFO);
    reply(&mut f.conn, t, |w| {
        w.u32(3).string(Some("out")).string(Some("Out"));
        sample_spec(w);
        channel_map(w);
        w.u32(1).cvolume(&CVolume::uniform(2, 0x10000)).bool(false);
        w.u32(2).string(Some("x.monitor"));
        w.usec(9);
        w.string(Some("d")).u32(0);
        w.proplist(&[("device.form_factor", "headset")]);
        w.usec(9);
        w.volume(VOLUME_NORM);
        w.u32(0).u32(0).u32(0).u32(1);
        w.string(Some("p")).string(Some("P")).u32(1).u32(0);
        w.string(Some("p"));
    });
    assert_eq!(f.client.dispatch(), Ok(true));
    let s = f.client.state().sink.clone().unwrap();
    assert_eq!((s.percent(), s.port), (100, Port::HEADSET));
    assert!(f.client.state().source.is_none());
}

#[test]
fn events_are_coalesced_and_followed() {
    let mut f = ready("events");
    // Three changes of the sink before the client reads: one query.
    for _ in 0..3 {
        f.event(event::FACILITY_SINK | 0x10, 3);
    }
    // An event about another sink: ignored.
    f.event(event::FACILITY_SINK | 0x10, 99);
    assert_eq!(f.client.dispatch(), Ok(false));
    let louder = Dev {
        vol: VOLUME_NORM,
        mute: true,
        ..SINK
    };
    // While that query is in flight, another change: asked again after.
    f.event(event::FACILITY_SINK | 0x10, 3);
    f.answer_info(command::GET_SINK_INFO, "out", &louder);
    assert_eq!(f.client.dispatch(), Ok(true));
    let s = f.client.state().sink.clone().unwrap();
    assert_eq!((s.percent(), s.muted), (100, true));
    f.answer_info(command::GET_SINK_INFO, "out", &louder);
    assert_eq!(f.client.dispatch(), Ok(false), "same state: no change");
    assert!(f.quiet(), "no third query");

    // A new default sink: a server event, server info, then its info.
    f.event(event::FACILITY_SERVER | 0x10, u32::MAX);
    f.client.dispatch().unwrap();
    let (c, t, _) = read_packet(&mut f.conn);
    assert_eq!(c, command::GET_SERVER_INFO);
    reply(&mut f.conn, t, |w| {
        server_info(w, Some("hdmi"), Some("mic"))
    });
    assert_eq!(
        f.client.dispatch(),
        Ok(false),
        "old sink kept until the new arrives"
    );
    let hdmi = Dev {
        index: 8,
        name: "hdmi",
        desc: "HDMI",
        ports: &[("hdmi-output-0", 10)],
        active: Some("hdmi-output-0"),
        ..SINK
    };
    f.answer_info(command::GET_SINK_INFO, "hdmi", &hdmi);
    assert_eq!(f.client.dispatch(), Ok(true));
    let s = f.client.state().sink.clone().unwrap();
    assert_eq!((s.index, s.port.name()), (8, "hdmi"));

    // The default sink removed and none left.
    f.event(event::FACILITY_SINK | event::TYPE_REMOVE, 8);
    f.client.dispatch().unwrap();
    let (c, t, _) = read_packet(&mut f.conn);
    assert_eq!(c, command::GET_SERVER_INFO);
    reply(&mut f.conn, t, |w| server_info(w, None, Some("mic")));
    assert_eq!(f.client.dispatch(), Ok(true));
    assert!(f.client.state().sink.is_none());
}

#[test]
fn a_vanished_default_is_none_then_asked_again() {
    let mut f = ready("noentity");
    f.event(event::FACILITY_SINK | 0x10, 3);
    f.client.dispatch().unwrap();
    let (c, t, _) = read_packet(&mut f.conn);
    assert_eq!(c, command::GET_SINK_INFO);
    send(&mut f.conn, |o| {
        let mut w = Writer::command(o, command::ERROR, t);
        w.u32(ERR_NOENTITY);
        w.finish();
    });
    assert_eq!(f.client.dispatch(), Ok(true));
    assert!(f.client.state().sink.is_none());
    let (c, _, _) = read_packet(&mut f.conn);
    assert_eq!(c, command::GET_SERVER_INFO);
}

#[test]
fn changes_go_out_as_commands() {
    let mut f = ready("changes");
    f.client.set_volume(Which::Sink, 65).unwrap();
    let (c, _, body) = read_packet(&mut f.conn);
    assert_eq!(c, command::SET_SINK_VOLUME);
    let mut r = Reader::new(&body);
    r.u32().unwrap();
    r.u32().unwrap();
    assert_eq!(r.u32(), Ok(3));
    assert_eq!(r.string(), Ok(None));
    let v = r.cvolume().unwrap();
    assert_eq!(v.as_slice(), &[from_percent(65); 2]);
    assert_eq!(percent(v.avg()), 65);
    f.client.set_mute(Which::Source, false).unwrap();
    let (c, _, body) = read_packet(&mut f.conn);
    assert_eq!(c, command::SET_SOURCE_MUTE);
    let mut r = Reader::new(&body);
    r.u32().unwrap();
    r.u32().unwrap();
    assert_eq!(r.u32(), Ok(5));
    r.string().unwrap();
    assert_eq!(r.bool(), Ok(false));
}

#[test]
fn percent_rounds_as_pactl() {
    assert_eq!(percent(0), 0);
    assert_eq!(percent(VOLUME_NORM), 100);
    assert_eq!(percent(32768), 50);
    // pactl prints 65535 as 100 %, 655 as 1 %, 327 as 0 %.
    assert_eq!(percent(65535), 100);
    assert_eq!(percent(655), 1);
    assert_eq!(percent(327), 0);
    for p in 0..=150 {
        assert_eq!(percent(from_percent(p)), p);
    }
}

fn bad(tag: &str, payload: &[u8]) -> Error {
    let (mut f, _) = Fake::start(tag, PROTOCOL_VERSION);
    f.conn.write_all(payload).unwrap();
    f.client.dispatch().unwrap_err()
}

#[test]
fn garbage_is_an_error() {
    let e = bad("garbage", &[0xde; 64]);
    assert!(e.0.contains("bad frame"), "{e}");
}

#[test]
fn unknown_commands_and_tags_are_errors() {
    let mut p = Vec::new();
    let w = Writer::command(&mut p, 0x7777, 1);
    w.finish();
    let e = bad("unknown", &p);
    assert!(e.0.contains("unknown command 30583"), "{e}");
    let mut p = Vec::new();
    Writer::command(&mut p, command::REPLY, 12345).finish();
    let e = bad("tag", &p);
    assert!(e.0.contains("no request"), "{e}");
}

#[test]
fn a_malformed_reply_is_an_error() {
    let (mut f, t) = Fake::start("malformed", PROTOCOL_VERSION);
    reply(&mut f.conn, t, |w| {
        w.string(Some("pulseaudio")).u32(5);
    });
    let e = f.client.dispatch().unwrap_err();
    assert!(e.0.contains("malformed"), "{e}");
}

#[test]
fn closing_mid_message_is_an_error() {
    let (mut f, t) = Fake::start("midway", PROTOCOL_VERSION);
    let mut p = Vec::new();
    let mut w = Writer::command(&mut p, command::REPLY, t);
    server_info(&mut w, Some("out"), None);
    w.finish();
    f.conn.write_all(&p[..p.len() / 2]).unwrap();
    assert_eq!(f.client.dispatch(), Ok(false), "half a packet: wait");
    drop(f.conn);
    let e = f.client.dispatch().unwrap_err();
    assert!(e.0.contains("inside a packet"), "{e}");
}

#[test]
fn refused_authentication_is_an_error() {
    let dir = tempdir("auth");
    let sock = dir.0.join("native");
    let l = UnixListener::bind(&sock).unwrap();
    let mut c = Client::connect(&Target {
        socket: sock,
        cookie: None,
    })
    .unwrap();
    let (mut conn, _) = l.accept().unwrap();
    let (_, t, _) = read_packet(&mut conn);
    send(&mut conn, |o| {
        let mut w = Writer::command(o, command::ERROR, t);
        w.u32(1);
        w.finish();
    });
    let e = c.dispatch().unwrap_err();
    assert!(e.0.contains("access denied"), "{e}");
}

#[test]
fn no_server_is_an_error_naming_the_socket() {
    let e = Client::connect(&Target {
        socket: "/nonexistent/pulse/native".into(),
        cookie: None,
    })
    .unwrap_err();
    assert!(e.0.contains("/nonexistent/pulse/native connect"), "{e}");
}

#[test]
fn socket_and_cookie_from_the_environment() {
    let env = |pairs: Vec<(&'static str, String)>| {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    };
    let p = |e: &dyn Fn(&str) -> Option<String>| socket_path(e);
    assert_eq!(
        p(&env(vec![("XDG_RUNTIME_DIR", "/run/user/7".into())])),
        Ok("/run/user/7/pulse/native".into())
    );
    assert_eq!(
        p(&env(vec![
            ("PULSE_SERVER", "tcp:host:4713 {abc}unix:/tmp/p".into()),
            ("XDG_RUNTIME_DIR", "/r".into())
        ])),
        Ok("/tmp/p".into())
    );
    assert_eq!(
        p(&env(vec![("PULSE_SERVER", "/s/native".into())])),
        Ok("/s/native".into())
    );
    assert!(p(&env(vec![("PULSE_SERVER", "tcp:h".into())]))
        .unwrap_err()
        .0
        .contains("no unix: entry"));

    let dir = tempdir("cookie");
    let good = dir.0.join("good");
    std::fs::write(&good, [7u8; COOKIE_LEN]).unwrap();
    let short = dir.0.join("short");
    std::fs::write(&short, b"not a cookie").unwrap();
    let home = dir.0.join("home");
    std::fs::create_dir_all(home.join(".config/pulse")).unwrap();
    let e = env(vec![("PULSE_COOKIE", good.display().to_string())]);
    let (path, c) = cookie(&e).unwrap().unwrap();
    assert_eq!((path, c), (good.clone(), [7u8; COOKIE_LEN]));
    let e = env(vec![("PULSE_COOKIE", short.display().to_string())]);
    let err = cookie(&e).unwrap_err();
    assert!(err.0.contains("short: 12 bytes"), "{err}");
    let e = env(vec![("HOME", home.display().to_string())]);
    assert_eq!(cookie(&e), Ok(None), "no file: none");
    std::fs::write(home.join(".config/pulse/cookie"), [1u8; COOKIE_LEN + 9]).unwrap();
    assert!(cookie(&e).unwrap_err().0.contains("more than 256"));
}

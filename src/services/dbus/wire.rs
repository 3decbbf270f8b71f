//! The D-Bus wire format: values, signatures and messages, marshalled and
//! parsed by hand (the specification's "Message Protocol" section). Only what
//! a bar needs: every basic and container type, both byte orders on input,
//! little endian on output, no Unix descriptors.
//!
//! Parsing is bounded: nesting depth, signature length and the message size
//! are checked against the specification's limits before anything is
//! allocated for them, so a hostile peer costs at most one message's bytes.

use std::fmt;

/// One D-Bus value. `ay` has its own variant ([`Value::Bytes`]) so an icon
/// pixmap is one allocation, not one `Value` per byte.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Byte(u8),
    Bool(bool),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
    /// An object path (`o`).
    Path(String),
    /// A signature (`g`).
    Sig(String),
    /// A Unix descriptor's index (`h`); never negotiated, parsed for completeness.
    Fd(u32),
    /// `v`: any single complete type.
    Variant(Box<Value>),
    /// `ay`.
    Bytes(Vec<u8>),
    /// `a…` of any element but a byte: the element signature (kept for
    /// empty arrays) and the items.
    Array(String, Vec<Value>),
    /// `(…)`.
    Struct(Vec<Value>),
    /// `{kv}`, only as an array element.
    Entry(Box<Value>, Box<Value>),
}

impl Value {
    /// Appends this value's signature to `out`.
    pub fn signature(&self, out: &mut String) {
        let c = match self {
            Value::Byte(_) => 'y',
            Value::Bool(_) => 'b',
            Value::I16(_) => 'n',
            Value::U16(_) => 'q',
            Value::I32(_) => 'i',
            Value::U32(_) => 'u',
            Value::I64(_) => 'x',
            Value::U64(_) => 't',
            Value::F64(_) => 'd',
            Value::Str(_) => 's',
            Value::Path(_) => 'o',
            Value::Sig(_) => 'g',
            Value::Fd(_) => 'h',
            Value::Variant(_) => 'v',
            Value::Bytes(_) => {
                out.push_str("ay");
                return;
            }
            Value::Array(sig, _) => {
                out.push('a');
                out.push_str(sig);
                return;
            }
            Value::Struct(fields) => {
                out.push('(');
                for f in fields {
                    f.signature(out);
                }
                out.push(')');
                return;
            }
            Value::Entry(k, v) => {
                out.push('{');
                k.signature(out);
                v.signature(out);
                out.push('}');
                return;
            }
        };
        out.push(c);
    }

    /// A string, object path or signature; through one variant layer.
    pub fn as_str(&self) -> Option<&str> {
        match self.unvariant() {
            Value::Str(s) | Value::Path(s) | Value::Sig(s) => Some(s),
            _ => None,
        }
    }

    /// Any integer type that fits an `i64`; through one variant layer.
    pub fn as_i64(&self) -> Option<i64> {
        Some(match *self.unvariant() {
            Value::Byte(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I64(v) => v,
            Value::U64(v) => i64::try_from(v).ok()?,
            _ => return None,
        })
    }

    /// A `u32` (or any integer in its range); through one variant layer.
    pub fn as_u32(&self) -> Option<u32> {
        self.as_i64().and_then(|v| u32::try_from(v).ok())
    }

    /// An `i32` (or any integer in its range); through one variant layer.
    pub fn as_i32(&self) -> Option<i32> {
        self.as_i64().and_then(|v| i32::try_from(v).ok())
    }

    /// A boolean; through one variant layer.
    pub fn as_bool(&self) -> Option<bool> {
        match *self.unvariant() {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The items of an array (`ay` is not one); through one variant layer.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self.unvariant() {
            Value::Array(_, items) => Some(items),
            _ => None,
        }
    }

    /// The fields of a struct; through one variant layer.
    pub fn as_struct(&self) -> Option<&[Value]> {
        match self.unvariant() {
            Value::Struct(f) => Some(f),
            _ => None,
        }
    }

    /// The bytes of an `ay`; through one variant layer.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self.unvariant() {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The value inside any number of variant layers.
    pub fn unvariant(&self) -> &Value {
        let mut v = self;
        while let Value::Variant(inner) = v {
            v = inner;
        }
        v
    }

    /// In a dictionary (`a{s…}`): the value under string key `key`.
    pub fn dict_get(&self, key: &str) -> Option<&Value> {
        self.as_array()?.iter().find_map(|e| match e {
            Value::Entry(k, v) if k.as_str() == Some(key) => Some(&**v),
            _ => None,
        })
    }

    /// `a{sv}` from (key, value) pairs, each value wrapped in a variant.
    pub fn dict_sv(pairs: Vec<(&str, Value)>) -> Value {
        Value::Array(
            "{sv}".into(),
            pairs
                .into_iter()
                .map(|(k, v)| {
                    Value::Entry(
                        Box::new(Value::Str(k.into())),
                        Box::new(Value::Variant(Box::new(v))),
                    )
                })
                .collect(),
        )
    }

    /// `as` from strings.
    pub fn strings<S: AsRef<str>>(items: &[S]) -> Value {
        Value::Array(
            "s".into(),
            items
                .iter()
                .map(|s| Value::Str(s.as_ref().into()))
                .collect(),
        )
    }
}

/// Why bytes are not a valid message or a value does not fit its signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

fn err<T>(what: impl Into<String>) -> Result<T, WireError> {
    Err(WireError(what.into()))
}

/// The specification's limits.
pub const MAX_SIGNATURE: usize = 255;
const MAX_DEPTH: u32 = 32;
const MAX_ARRAY_BYTES: usize = 64 << 20;

/// The length in bytes of the first complete type of `sig`.
pub fn complete_type_len(sig: &[u8]) -> Result<usize, WireError> {
    fn walk(sig: &[u8], i: usize, arrays: u32, structs: u32) -> Result<usize, WireError> {
        if arrays > MAX_DEPTH || structs > MAX_DEPTH {
            return err("signature nested too deep");
        }
        match sig.get(i) {
            None => err("signature ends inside a type"),
            Some(
                b'y' | b'b' | b'n' | b'q' | b'i' | b'u' | b'x' | b't' | b'd' | b's' | b'o' | b'g'
                | b'h' | b'v',
            ) => Ok(i + 1),
            Some(b'a') => walk(sig, i + 1, arrays + 1, structs),
            Some(b'(') => {
                let mut j = i + 1;
                if sig.get(j) == Some(&b')') {
                    return err("empty struct in signature");
                }
                while sig.get(j) != Some(&b')') {
                    j = walk(sig, j, arrays, structs + 1)?;
                }
                Ok(j + 1)
            }
            Some(b'{') => {
                if i == 0 || sig[i - 1] != b'a' {
                    return err("dict entry outside an array in signature");
                }
                let k = sig.get(i + 1).copied();
                if !matches!(
                    k,
                    Some(
                        b'y' | b'b'
                            | b'n'
                            | b'q'
                            | b'i'
                            | b'u'
                            | b'x'
                            | b't'
                            | b'd'
                            | b's'
                            | b'o'
                            | b'g'
                            | b'h'
                    )
                ) {
                    return err("dict key is not a basic type");
                }
                let j = walk(sig, i + 2, arrays, structs + 1)?;
                if sig.get(j) != Some(&b'}') {
                    return err("dict entry of more than two types");
                }
                Ok(j + 1)
            }
            Some(&c) => err(format!("unknown type code {:?} in signature", c as char)),
        }
    }
    walk(sig, 0, 0, 0)
}

/// Checks that `sig` is a sequence of complete types.
pub fn check_signature(sig: &str) -> Result<(), WireError> {
    if sig.len() > MAX_SIGNATURE {
        return err("signature longer than 255 bytes");
    }
    let b = sig.as_bytes();
    let mut i = 0;
    while i < b.len() {
        i += complete_type_len(&b[i..])?;
    }
    Ok(())
}

fn align_of(code: u8) -> usize {
    match code {
        b'y' | b'g' | b'v' => 1,
        b'n' | b'q' => 2,
        b'b' | b'i' | b'u' | b's' | b'o' | b'h' | b'a' => 4,
        _ => 8,
    }
}

/// Marshals values, little endian, into a buffer whose offset 0 is 8-aligned
/// in the message (the body starts on an 8-byte boundary).
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, n: usize) {
        while self.buf.len() % n != 0 {
            self.buf.push(0);
        }
    }

    fn u32_at(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    fn string(&mut self, s: &str) {
        self.pad(4);
        self.buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    fn sig(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }

    /// Appends `v`.
    pub fn put(&mut self, v: &Value) {
        match v {
            Value::Byte(b) => self.buf.push(*b),
            Value::Bool(b) => {
                self.pad(4);
                self.buf.extend_from_slice(&u32::from(*b).to_le_bytes());
            }
            Value::I16(x) => {
                self.pad(2);
                self.buf.extend_from_slice(&x.to_le_bytes());
            }
            Value::U16(x) => {
                self.pad(2);
                self.buf.extend_from_slice(&x.to_le_bytes());
            }
            Value::I32(x) => {
                self.pad(4);
                self.buf.extend_from_slice(&x.to_le_bytes());
            }
            Value::U32(x) | Value::Fd(x) => {
                self.pad(4);
                self.buf.extend_from_slice(&x.to_le_bytes());
            }
            Value::I64(x) => {
                self.pad(8);
                self.buf.extend_from_slice(&x.to_le_bytes());
            }
            Value::U64(x) => {
                self.pad(8);
                self.buf.extend_from_slice(&x.to_le_bytes());
            }
            Value::F64(x) => {
                self.pad(8);
                self.buf.extend_from_slice(&x.to_le_bytes());
            }
            Value::Str(s) | Value::Path(s) => self.string(s),
            Value::Sig(s) => self.sig(s),
            Value::Variant(inner) => {
                let mut s = String::new();
                inner.signature(&mut s);
                self.sig(&s);
                self.put(inner);
            }
            Value::Bytes(b) => {
                self.pad(4);
                self.buf.extend_from_slice(&(b.len() as u32).to_le_bytes());
                self.buf.extend_from_slice(b);
            }
            Value::Array(sig, items) => {
                self.pad(4);
                let at = self.buf.len();
                self.buf.extend_from_slice(&[0; 4]);
                self.pad(sig.bytes().next().map_or(1, align_of));
                let start = self.buf.len();
                for it in items {
                    self.put(it);
                }
                let len = (self.buf.len() - start) as u32;
                self.u32_at(at, len);
            }
            Value::Struct(fields) => {
                self.pad(8);
                for f in fields {
                    self.put(f);
                }
            }
            Value::Entry(k, v) => {
                self.pad(8);
                self.put(k);
                self.put(v);
            }
        }
    }
}

/// Parses values of a signature out of a message's bytes (`base`: where the
/// slice starts in the message, for alignment).
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    big: bool,
}

impl<'a> Reader<'a> {
    /// A reader over `buf`, whose byte 0 is 8-aligned in its message.
    pub fn new(buf: &'a [u8], big_endian: bool) -> Reader<'a> {
        Reader {
            buf,
            pos: 0,
            big: big_endian,
        }
    }

    fn align(&mut self, n: usize) -> Result<(), WireError> {
        let to = self.pos.div_ceil(n) * n;
        if to > self.buf.len() {
            return err("message ends inside padding");
        }
        self.pos = to;
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return err("message ends inside a value");
        };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        self.align(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        if self.big {
            a.reverse();
        }
        Ok(a)
    }

    fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.fixed()?))
    }

    fn string(&mut self) -> Result<String, WireError> {
        let n = self.u32()? as usize;
        let b = self.take(n)?;
        if self.take(1)? != [0] {
            return err("string not NUL-terminated");
        }
        String::from_utf8(b.to_vec()).map_err(|_| WireError("string is not UTF-8".into()))
    }

    fn signature(&mut self) -> Result<String, WireError> {
        let n = self.take(1)?[0] as usize;
        let b = self.take(n)?;
        if self.take(1)? != [0] {
            return err("signature not NUL-terminated");
        }
        let s = std::str::from_utf8(b).map_err(|_| WireError("signature not ASCII".into()))?;
        check_signature(s)?;
        Ok(s.to_string())
    }

    /// Reads every complete type of `sig` in turn.
    pub fn read_all(&mut self, sig: &str) -> Result<Vec<Value>, WireError> {
        let b = sig.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let n = complete_type_len(&b[i..])?;
            out.push(self.read(&b[i..i + n], 0)?);
            i += n;
        }
        Ok(out)
    }

    /// Reads one value of the complete type `t`.
    fn read(&mut self, t: &[u8], depth: u32) -> Result<Value, WireError> {
        if depth > 2 * MAX_DEPTH {
            return err("value nested too deep");
        }
        Ok(match t[0] {
            b'y' => Value::Byte(self.take(1)?[0]),
            b'b' => match self.u32()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                n => return err(format!("boolean of value {n}")),
            },
            b'n' => Value::I16(i16::from_le_bytes(self.fixed()?)),
            b'q' => Value::U16(u16::from_le_bytes(self.fixed()?)),
            b'i' => Value::I32(i32::from_le_bytes(self.fixed()?)),
            b'u' => Value::U32(self.u32()?),
            b'h' => Value::Fd(self.u32()?),
            b'x' => Value::I64(i64::from_le_bytes(self.fixed()?)),
            b't' => Value::U64(u64::from_le_bytes(self.fixed()?)),
            b'd' => Value::F64(f64::from_le_bytes(self.fixed()?)),
            b's' => Value::Str(self.string()?),
            b'o' => Value::Path(self.string()?),
            b'g' => Value::Sig(self.signature()?),
            b'v' => {
                let s = self.signature()?;
                if s.is_empty() || complete_type_len(s.as_bytes())? != s.len() {
                    return err("variant signature is not one complete type");
                }
                Value::Variant(Box::new(self.read(s.as_bytes(), depth + 1)?))
            }
            b'a' => {
                let n = self.u32()? as usize;
                if n > MAX_ARRAY_BYTES {
                    return err("array longer than 64 MiB");
                }
                let elem = &t[1..];
                self.align(align_of(elem[0]))?;
                if elem == b"y" {
                    return Ok(Value::Bytes(self.take(n)?.to_vec()));
                }
                let end = self.pos + n;
                if end > self.buf.len() {
                    return err("message ends inside an array");
                }
                let mut items = Vec::new();
                while self.pos < end {
                    items.push(self.read(elem, depth + 1)?);
                }
                if self.pos != end {
                    return err("array's items overrun its length");
                }
                let sig = String::from_utf8_lossy(elem).into_owned();
                Value::Array(sig, items)
            }
            b'(' => {
                self.align(8)?;
                let inner = &t[1..t.len() - 1];
                let mut fields = Vec::new();
                let mut i = 0;
                while i < inner.len() {
                    let n = complete_type_len(&inner[i..])?;
                    fields.push(self.read(&inner[i..i + n], depth + 1)?);
                    i += n;
                }
                Value::Struct(fields)
            }
            b'{' => {
                self.align(8)?;
                let k = self.read(&t[1..2], depth + 1)?;
                let v = self.read(&t[2..t.len() - 1], depth + 1)?;
                Value::Entry(Box::new(k), Box::new(v))
            }
            c => return err(format!("unknown type code {:?}", c as char)),
        })
    }
}

/// The four message types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    MethodCall = 1,
    MethodReturn = 2,
    Error = 3,
    Signal = 4,
}

/// Header flag: the sender wants no reply.
pub const NO_REPLY_EXPECTED: u8 = 0x1;
/// Header flag: do not start a service to receive this.
pub const NO_AUTO_START: u8 = 0x2;

/// One message, header fields decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    pub kind: Kind,
    pub flags: u8,
    /// Set by the connection when sending.
    pub serial: u32,
    pub path: Option<String>,
    pub interface: Option<String>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub reply_serial: Option<u32>,
    pub destination: Option<String>,
    pub sender: Option<String>,
    pub body: Vec<Value>,
}

impl Message {
    fn new(kind: Kind) -> Message {
        Message {
            kind,
            flags: 0,
            serial: 0,
            path: None,
            interface: None,
            member: None,
            error_name: None,
            reply_serial: None,
            destination: None,
            sender: None,
            body: Vec::new(),
        }
    }

    /// A method call of `interface.member` on `destination`'s object `path`.
    pub fn call(destination: &str, path: &str, interface: &str, member: &str) -> Message {
        Message {
            destination: Some(destination.into()),
            path: Some(path.into()),
            interface: Some(interface.into()),
            member: Some(member.into()),
            ..Message::new(Kind::MethodCall)
        }
    }

    /// A signal `interface.member` from our object `path`.
    pub fn signal(path: &str, interface: &str, member: &str) -> Message {
        Message {
            path: Some(path.into()),
            interface: Some(interface.into()),
            member: Some(member.into()),
            ..Message::new(Kind::Signal)
        }
    }

    /// The successful reply to `call`.
    pub fn method_return(call: &Message) -> Message {
        Message {
            reply_serial: Some(call.serial),
            destination: call.sender.clone(),
            ..Message::new(Kind::MethodReturn)
        }
    }

    /// The error reply `name` to `call`, with a human-readable `text`.
    pub fn error(call: &Message, name: &str, text: &str) -> Message {
        Message {
            reply_serial: Some(call.serial),
            destination: call.sender.clone(),
            error_name: Some(name.into()),
            body: vec![Value::Str(text.into())],
            ..Message::new(Kind::Error)
        }
    }

    /// `org.freedesktop.DBus.Properties.Get(interface, name)` on `destination`.
    pub fn get_property(destination: &str, path: &str, interface: &str, name: &str) -> Message {
        Message::call(destination, path, PROPERTIES, "Get")
            .with(vec![Value::Str(interface.into()), Value::Str(name.into())])
    }

    /// `org.freedesktop.DBus.Properties.GetAll(interface)` on `destination`.
    pub fn get_all(destination: &str, path: &str, interface: &str) -> Message {
        Message::call(destination, path, PROPERTIES, "GetAll")
            .with(vec![Value::Str(interface.into())])
    }

    /// This message with `body`.
    pub fn with(mut self, body: Vec<Value>) -> Message {
        self.body = body;
        self
    }

    /// The body's signature.
    pub fn signature(&self) -> String {
        let mut s = String::new();
        for v in &self.body {
            v.signature(&mut s);
        }
        s
    }

    /// Whether this is a signal `interface.member`.
    pub fn is_signal(&self, interface: &str, member: &str) -> bool {
        self.kind == Kind::Signal
            && self.interface.as_deref() == Some(interface)
            && self.member.as_deref() == Some(member)
    }

    /// An error reply's name and first string, as one line.
    pub fn error_text(&self) -> String {
        let name = self.error_name.as_deref().unwrap_or("error");
        match self.body.first().and_then(Value::as_str) {
            Some(t) => format!("{name}: {t}"),
            None => name.to_string(),
        }
    }

    /// The whole message on the wire (little endian) with serial `serial`.
    pub fn encode(&self, serial: u32) -> Result<Vec<u8>, WireError> {
        let sig = self.signature();
        check_signature(&sig)?;
        let mut body = Writer { buf: Vec::new() };
        for v in &self.body {
            body.put(v);
        }
        let mut fields = Vec::new();
        let mut field = |code: u8, v: Value| {
            fields.push(Value::Struct(vec![
                Value::Byte(code),
                Value::Variant(Box::new(v)),
            ]))
        };
        if let Some(p) = &self.path {
            field(1, Value::Path(p.clone()));
        }
        if let Some(s) = &self.interface {
            field(2, Value::Str(s.clone()));
        }
        if let Some(s) = &self.member {
            field(3, Value::Str(s.clone()));
        }
        if let Some(s) = &self.error_name {
            field(4, Value::Str(s.clone()));
        }
        if let Some(r) = self.reply_serial {
            field(5, Value::U32(r));
        }
        if let Some(s) = &self.destination {
            field(6, Value::Str(s.clone()));
        }
        if !sig.is_empty() {
            field(8, Value::Sig(sig));
        }
        let mut w = Writer {
            buf: Vec::with_capacity(64 + body.buf.len()),
        };
        w.buf
            .extend_from_slice(&[b'l', self.kind as u8, self.flags, 1]);
        w.buf
            .extend_from_slice(&(body.buf.len() as u32).to_le_bytes());
        w.buf.extend_from_slice(&serial.to_le_bytes());
        w.put(&Value::Array("(yv)".into(), fields));
        w.pad(8);
        w.buf.extend_from_slice(&body.buf);
        Ok(w.buf)
    }
}

/// `org.freedesktop.DBus.Properties`.
pub const PROPERTIES: &str = "org.freedesktop.DBus.Properties";

/// What the first 16 bytes of a message say: its total length and byte order.
pub fn frame_len(head: &[u8; 16]) -> Result<usize, WireError> {
    let big = match head[0] {
        b'l' => false,
        b'B' => true,
        c => return err(format!("bad byte-order mark {c:#x}")),
    };
    if head[3] != 1 {
        return err(format!("protocol version {}", head[3]));
    }
    let word = |at: usize| {
        let mut a = [0u8; 4];
        a.copy_from_slice(&head[at..at + 4]);
        if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    };
    let body = word(4) as usize;
    let fields = word(12) as usize;
    let header = (16 + fields).div_ceil(8) * 8;
    Ok(header + body)
}

/// The header of a message from its first bytes (at least the header
/// fields): for a message too large to keep, what it answers.
pub fn decode_header_prefix(buf: &[u8]) -> Result<Message, WireError> {
    decode(buf, true)
}

/// Parses the whole message in `buf` (exactly [`frame_len`] bytes). With
/// `header_only`, the body is left empty (a message too big to keep).
pub fn decode(buf: &[u8], header_only: bool) -> Result<Message, WireError> {
    if buf.len() < 16 {
        return err("message shorter than its header");
    }
    let big = buf[0] == b'B';
    let kind = match buf[1] {
        1 => Kind::MethodCall,
        2 => Kind::MethodReturn,
        3 => Kind::Error,
        4 => Kind::Signal,
        t => return err(format!("unknown message type {t}")),
    };
    let mut r = Reader::new(buf, big);
    r.pos = 4;
    let body_len = r.u32()? as usize;
    let serial = r.u32()?;
    if serial == 0 {
        return err("message serial 0");
    }
    let fields = r.read(b"a(yv)", 0)?;
    let body_start = r.pos.div_ceil(8) * 8;
    let mut m = Message {
        serial,
        flags: buf[2],
        ..Message::new(kind)
    };
    let mut sig = String::new();
    for f in fields.as_array().unwrap_or(&[]) {
        let Some([Value::Byte(code), v]) = f.as_struct() else {
            continue;
        };
        let v = v.unvariant();
        match code {
            1 => m.path = v.as_str().map(str::to_string),
            2 => m.interface = v.as_str().map(str::to_string),
            3 => m.member = v.as_str().map(str::to_string),
            4 => m.error_name = v.as_str().map(str::to_string),
            5 => m.reply_serial = v.as_u32(),
            6 => m.destination = v.as_str().map(str::to_string),
            7 => m.sender = v.as_str().map(str::to_string),
            8 => sig = v.as_str().unwrap_or("").to_string(),
            _ => {}
        }
    }
    if header_only {
        return Ok(m);
    }
    let end = body_start.checked_add(body_len).filter(|&e| e <= buf.len());
    let Some(end) = end else {
        return err("message shorter than its body length");
    };
    let mut br = Reader::new(&buf[body_start..end], big);
    m.body = br.read_all(&sig)?;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: Value) {
        let m = Message::signal("/a", "x.y", "Z").with(vec![v.clone(), Value::Byte(7)]);
        let bytes = m.encode(5).unwrap();
        let head: [u8; 16] = bytes[..16].try_into().unwrap();
        assert_eq!(frame_len(&head).unwrap(), bytes.len());
        let back = decode(&bytes, false).unwrap();
        assert_eq!(back.body, vec![v, Value::Byte(7)]);
        assert_eq!(back.serial, 5);
        assert_eq!(back.member.as_deref(), Some("Z"));
    }

    #[test]
    fn values_roundtrip() {
        roundtrip(Value::Str("héllo".into()));
        roundtrip(Value::Bool(true));
        roundtrip(Value::I64(-3));
        roundtrip(Value::F64(2.5));
        roundtrip(Value::Bytes(vec![1, 2, 3]));
        roundtrip(Value::Array("s".into(), vec![]));
        roundtrip(Value::Array("(iiay)".into(), vec![]));
        roundtrip(Value::dict_sv(vec![
            ("a", Value::I32(1)),
            ("b", Value::strings(&["x", "y"])),
        ]));
        roundtrip(Value::Struct(vec![
            Value::I32(1),
            Value::dict_sv(vec![("label", Value::Str("_Quit".into()))]),
            Value::Array(
                "v".into(),
                vec![Value::Variant(Box::new(Value::Struct(vec![
                    Value::I32(2),
                    Value::dict_sv(vec![]),
                    Value::Array("v".into(), vec![]),
                ])))],
            ),
        ]));
        roundtrip(Value::Array(
            "(iiay)".into(),
            vec![Value::Struct(vec![
                Value::I32(1),
                Value::I32(1),
                Value::Bytes(vec![255, 0, 0, 255]),
            ])],
        ));
    }

    #[test]
    fn dict_lookup() {
        let d = Value::dict_sv(vec![("Id", Value::Str("nm".into()))]);
        assert_eq!(d.dict_get("Id").and_then(Value::as_str), Some("nm"));
        assert!(d.dict_get("Title").is_none());
    }

    #[test]
    fn signatures_checked() {
        assert!(check_signature("a{sv}(iiay)").is_ok());
        assert!(check_signature("a{vs}").is_err());
        assert!(check_signature("{ss}").is_err());
        assert!(check_signature("(i").is_err());
        assert!(check_signature("()").is_err());
        assert!(check_signature(&"a".repeat(40).to_string()).is_err());
        assert!(check_signature("z").is_err());
    }

    #[test]
    fn truncated_and_garbage_never_panic() {
        let m = Message::call("a.b", "/o", "i.f", "M")
            .with(vec![Value::dict_sv(vec![("k", Value::Bytes(vec![9; 40]))])]);
        let bytes = m.encode(1).unwrap();
        for n in 0..bytes.len() {
            let _ = decode(&bytes[..n], false);
        }
        let mut flipped = bytes.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0xa5;
            let _ = decode(&flipped, false);
            flipped[i] ^= 0xa5;
        }
    }

    #[test]
    fn big_endian_input() {
        // A big-endian signal with one `u` (0x01020304), hand-assembled.
        let mut b = vec![b'B', 4, 0, 1, 0, 0, 0, 4, 0, 0, 0, 9];
        let mut fields = Vec::new();
        // (yv) 8 = SIGNATURE "u"
        fields.extend_from_slice(&[8, 1, b'g', 0, 1, b'u', 0]);
        b.extend_from_slice(&(fields.len() as u32).to_be_bytes());
        b.extend_from_slice(&fields);
        while b.len() % 8 != 0 {
            b.push(0);
        }
        b.extend_from_slice(&[1, 2, 3, 4]);
        let m = decode(&b, false).unwrap();
        assert_eq!(m.body, vec![Value::U32(0x01020304)]);
        assert_eq!(m.serial, 9);
    }
}

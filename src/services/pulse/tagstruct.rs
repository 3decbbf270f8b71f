//! The PulseAudio native protocol's wire format: frames and "tagstructs"
//! (each value preceded by a one-byte type tag, integers big-endian).
//!
//! Written from the protocol as libpulse and `pulsecore/tagstruct.c` define
//! it. The reader is bounded: every read checks the tag and the bytes left,
//! so garbage from a peer is an error, never a panic or an over-read.

use std::fmt;

/// The tags of the values this client reads or writes.
pub mod tag {
    pub const STRING: u8 = b't';
    pub const STRING_NULL: u8 = b'N';
    pub const U32: u8 = b'L';
    pub const U8: u8 = b'B';
    pub const U64: u8 = b'R';
    pub const S64: u8 = b'r';
    pub const SAMPLE_SPEC: u8 = b'a';
    pub const ARBITRARY: u8 = b'x';
    pub const TRUE: u8 = b'1';
    pub const FALSE: u8 = b'0';
    pub const TIMEVAL: u8 = b'T';
    pub const USEC: u8 = b'U';
    pub const CHANNEL_MAP: u8 = b'm';
    pub const CVOLUME: u8 = b'v';
    pub const PROPLIST: u8 = b'P';
    pub const VOLUME: u8 = b'V';
    pub const FORMAT_INFO: u8 = b'f';
}

/// Bytes of a frame's descriptor: length, channel, offset (two words), flags.
pub const DESCRIPTOR: usize = 20;
/// The channel of control packets (commands and replies); others carry
/// stream data, which a client without streams never receives.
pub const CONTROL_CHANNEL: u32 = u32::MAX;
/// The largest control packet accepted. A sink's info with a long proplist
/// is a few KiB; libpulse's own limit for a packet is 64 KiB.
pub const MAX_PACKET: usize = 64 * 1024;
/// Channels in a volume or channel map (`PA_CHANNELS_MAX`).
pub const CHANNELS_MAX: usize = 32;

/// Why a packet could not be read, with where in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset in the packet.
    pub at: usize,
    pub what: &'static str,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

/// A frame's header, once its 20 bytes have arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub length: usize,
    pub channel: u32,
}

impl Descriptor {
    /// Decodes and checks the first [`DESCRIPTOR`] bytes of `b`: a control
    /// packet of at most [`MAX_PACKET`] bytes.
    pub fn parse(b: &[u8; DESCRIPTOR]) -> Result<Descriptor, ParseError> {
        let word = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let d = Descriptor {
            length: word(0) as usize,
            channel: word(4),
        };
        if d.channel != CONTROL_CHANNEL {
            return Err(ParseError {
                at: 4,
                what: "a stream-data frame (this client opens no streams)",
            });
        }
        if d.length > MAX_PACKET {
            return Err(ParseError {
                at: 0,
                what: "a control packet larger than 64 KiB",
            });
        }
        Ok(d)
    }
}

/// Reads a tagstruct packet front to back.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A sample spec (`a`): format, channels, rate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SampleSpec {
    pub format: u8,
    pub channels: u8,
    pub rate: u32,
}

/// A per-channel volume (`v`), kept without allocating.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CVolume {
    pub channels: u8,
    pub values: [u32; CHANNELS_MAX],
}

impl Default for CVolume {
    fn default() -> Self {
        CVolume {
            channels: 0,
            values: [0; CHANNELS_MAX],
        }
    }
}

impl fmt::Debug for CVolume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl CVolume {
    /// The channels' volumes.
    pub fn as_slice(&self) -> &[u32] {
        &self.values[..self.channels as usize]
    }

    /// `n` channels at `v`.
    pub fn uniform(n: u8, v: u32) -> CVolume {
        let mut c = CVolume {
            channels: n.min(CHANNELS_MAX as u8),
            ..CVolume::default()
        };
        for x in &mut c.values[..c.channels as usize] {
            *x = v;
        }
        c
    }

    /// The mean over channels, as `pa_cvolume_avg` takes it.
    pub fn avg(&self) -> u32 {
        let s = self.as_slice();
        if s.is_empty() {
            return 0;
        }
        (s.iter().map(|&v| v as u64).sum::<u64>() / s.len() as u64) as u32
    }

    /// The loudest channel (`pa_cvolume_max`).
    pub fn max(&self) -> u32 {
        self.as_slice().iter().copied().max().unwrap_or(0)
    }
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn err<T>(&self, what: &'static str) -> Result<T, ParseError> {
        Err(ParseError { at: self.pos, what })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        match self.buf.get(self.pos..self.pos.saturating_add(n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => self.err("the packet ends inside a value"),
        }
    }

    fn want_tag(&mut self, t: u8, what: &'static str) -> Result<(), ParseError> {
        match self.buf.get(self.pos) {
            Some(&b) if b == t => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => self.err(what),
            None => self.err("the packet ends before a value"),
        }
    }

    fn raw_u32(&mut self) -> Result<u32, ParseError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn raw_u64(&mut self) -> Result<u64, ParseError> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub fn u32(&mut self) -> Result<u32, ParseError> {
        self.want_tag(tag::U32, "expected a u32")?;
        self.raw_u32()
    }

    pub fn u8(&mut self) -> Result<u8, ParseError> {
        self.want_tag(tag::U8, "expected a u8")?;
        Ok(self.take(1)?[0])
    }

    pub fn u64(&mut self) -> Result<u64, ParseError> {
        self.want_tag(tag::U64, "expected a u64")?;
        self.raw_u64()
    }

    pub fn usec(&mut self) -> Result<u64, ParseError> {
        self.want_tag(tag::USEC, "expected a usec")?;
        self.raw_u64()
    }

    pub fn volume(&mut self) -> Result<u32, ParseError> {
        self.want_tag(tag::VOLUME, "expected a volume")?;
        self.raw_u32()
    }

    pub fn bool(&mut self) -> Result<bool, ParseError> {
        match self.buf.get(self.pos) {
            Some(&tag::TRUE) => {
                self.pos += 1;
                Ok(true)
            }
            Some(&tag::FALSE) => {
                self.pos += 1;
                Ok(false)
            }
            _ => self.err("expected a boolean"),
        }
    }

    /// A string (`t`, NUL-terminated UTF-8) or the null string (`N`,
    /// `None`). Invalid UTF-8 is an error: names and descriptions are
    /// UTF-8 by the protocol's rules.
    pub fn string(&mut self) -> Result<Option<&'a str>, ParseError> {
        match self.buf.get(self.pos) {
            Some(&tag::STRING_NULL) => {
                self.pos += 1;
                Ok(None)
            }
            Some(&tag::STRING) => {
                self.pos += 1;
                let rest = &self.buf[self.pos..];
                let Some(n) = rest.iter().position(|&b| b == 0) else {
                    return self.err("a string without its NUL");
                };
                let Ok(s) = std::str::from_utf8(&rest[..n]) else {
                    return self.err("a string that is not UTF-8");
                };
                self.pos += n + 1;
                Ok(Some(s))
            }
            _ => self.err("expected a string"),
        }
    }

    /// Bytes (`x`, length-prefixed).
    pub fn arbitrary(&mut self) -> Result<&'a [u8], ParseError> {
        self.want_tag(tag::ARBITRARY, "expected arbitrary bytes")?;
        let n = self.raw_u32()? as usize;
        self.take(n)
    }

    pub fn sample_spec(&mut self) -> Result<SampleSpec, ParseError> {
        self.want_tag(tag::SAMPLE_SPEC, "expected a sample spec")?;
        let b = self.take(2)?;
        let (format, channels) = (b[0], b[1]);
        Ok(SampleSpec {
            format,
            channels,
            rate: self.raw_u32()?,
        })
    }

    /// A channel map (`m`); only its channel count is kept.
    pub fn channel_map(&mut self) -> Result<u8, ParseError> {
        self.want_tag(tag::CHANNEL_MAP, "expected a channel map")?;
        let n = self.take(1)?[0];
        if n as usize > CHANNELS_MAX {
            return self.err("a channel map of more than 32 channels");
        }
        self.take(n as usize)?;
        Ok(n)
    }

    pub fn cvolume(&mut self) -> Result<CVolume, ParseError> {
        self.want_tag(tag::CVOLUME, "expected a channel volume")?;
        let n = self.take(1)?[0];
        if n == 0 || n as usize > CHANNELS_MAX {
            return self.err("a channel volume of 0 or more than 32 channels");
        }
        let mut v = CVolume {
            channels: n,
            ..CVolume::default()
        };
        for x in &mut v.values[..n as usize] {
            *x = self.raw_u32()?;
        }
        Ok(v)
    }

    /// A property list (`P`): each `(key, value)` handed to `each`, values
    /// without their trailing NUL. Ends at the null string.
    pub fn proplist(&mut self, mut each: impl FnMut(&'a str, &'a [u8])) -> Result<(), ParseError> {
        self.want_tag(tag::PROPLIST, "expected a property list")?;
        loop {
            let Some(key) = self.string()? else {
                return Ok(());
            };
            let n = self.u32()? as usize;
            let v = self.arbitrary()?;
            if v.len() != n {
                return self.err("a property whose length disagrees with its bytes");
            }
            each(key, v.strip_suffix(&[0]).unwrap_or(v));
        }
    }
}

/// Builds one control packet, descriptor included, into a reused buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Writer<'a> {
    /// Starts a command packet (`command`, `tag`) at the end of `out`.
    pub fn command(out: &'a mut Vec<u8>, command: u32, tag: u32) -> Writer<'a> {
        let start = out.len();
        out.extend_from_slice(&[0; DESCRIPTOR]);
        out[start + 4..start + 8].copy_from_slice(&CONTROL_CHANNEL.to_be_bytes());
        let mut w = Writer { out, start };
        w.u32(command).u32(tag);
        w
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.out.push(tag::U32);
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.out.extend_from_slice(&[tag::U8, v]);
        self
    }

    pub fn usec(&mut self, v: u64) -> &mut Self {
        self.out.push(tag::USEC);
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn volume(&mut self, v: u32) -> &mut Self {
        self.out.push(tag::VOLUME);
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn sample_spec(&mut self, s: SampleSpec) -> &mut Self {
        self.out
            .extend_from_slice(&[tag::SAMPLE_SPEC, s.format, s.channels]);
        self.out.extend_from_slice(&s.rate.to_be_bytes());
        self
    }

    /// A channel map of `positions`.
    pub fn channel_map(&mut self, positions: &[u8]) -> &mut Self {
        self.out
            .extend_from_slice(&[tag::CHANNEL_MAP, positions.len() as u8]);
        self.out.extend_from_slice(positions);
        self
    }

    /// Bytes as they are: for a test's server to send what no method
    /// writes (garbage included).
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.out.extend_from_slice(b);
        self
    }

    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.out.push(if v { tag::TRUE } else { tag::FALSE });
        self
    }

    /// A string; one holding a NUL is cut at it (the wire cannot carry it).
    pub fn string(&mut self, v: Option<&str>) -> &mut Self {
        match v {
            None => self.out.push(tag::STRING_NULL),
            Some(s) => {
                let s = s.split('\0').next().unwrap_or("");
                self.out.push(tag::STRING);
                self.out.extend_from_slice(s.as_bytes());
                self.out.push(0);
            }
        }
        self
    }

    pub fn arbitrary(&mut self, v: &[u8]) -> &mut Self {
        self.out.push(tag::ARBITRARY);
        self.out.extend_from_slice(&(v.len() as u32).to_be_bytes());
        self.out.extend_from_slice(v);
        self
    }

    pub fn cvolume(&mut self, v: &CVolume) -> &mut Self {
        self.out.push(tag::CVOLUME);
        self.out.push(v.channels);
        for x in v.as_slice() {
            self.out.extend_from_slice(&x.to_be_bytes());
        }
        self
    }

    /// A property list of string values.
    pub fn proplist(&mut self, props: &[(&str, &str)]) -> &mut Self {
        self.out.push(tag::PROPLIST);
        for (k, v) in props {
            self.string(Some(k));
            let n = v.len() as u32 + 1;
            self.u32(n);
            self.out.push(tag::ARBITRARY);
            self.out.extend_from_slice(&n.to_be_bytes());
            self.out.extend_from_slice(v.as_bytes());
            self.out.push(0);
        }
        self.string(None)
    }

    /// Writes the descriptor's length: the packet is complete.
    pub fn finish(self) {
        let len = (self.out.len() - self.start - DESCRIPTOR) as u32;
        self.out[self.start..self.start + 4].copy_from_slice(&len.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(f: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = Writer::command(&mut out, 20, 7);
        f(&mut w);
        w.finish();
        out
    }

    #[test]
    fn round_trip() {
        let vol = CVolume::uniform(2, 0x8000);
        let p = packet(|w| {
            w.string(Some("sink")).string(None).bool(true).cvolume(&vol);
            w.proplist(&[("application.name", "rstat")])
                .arbitrary(&[1, 2]);
        });
        let mut d = [0; DESCRIPTOR];
        d.copy_from_slice(&p[..DESCRIPTOR]);
        let desc = Descriptor::parse(&d).unwrap();
        assert_eq!(desc.length, p.len() - DESCRIPTOR);
        let mut r = Reader::new(&p[DESCRIPTOR..]);
        assert_eq!(r.u32(), Ok(20));
        assert_eq!(r.u32(), Ok(7));
        assert_eq!(r.string(), Ok(Some("sink")));
        assert_eq!(r.string(), Ok(None));
        assert_eq!(r.bool(), Ok(true));
        let v = r.cvolume().unwrap();
        assert_eq!(v.as_slice(), &[0x8000, 0x8000]);
        assert_eq!(v.avg(), 0x8000);
        let mut seen = Vec::new();
        r.proplist(|k, v| seen.push((k.to_string(), v.to_vec())))
            .unwrap();
        assert_eq!(seen, [("application.name".into(), b"rstat".to_vec())]);
        assert_eq!(r.arbitrary(), Ok(&[1u8, 2][..]));
        assert!(r.is_empty());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        // Every prefix and every single-byte corruption of a real-shaped
        // packet either parses or fails cleanly.
        let p = packet(|w| {
            w.string(Some("x"))
                .cvolume(&CVolume::uniform(2, 1))
                .proplist(&[("a", "b")]);
        });
        let body = &p[DESCRIPTOR..];
        let walk = |b: &[u8]| {
            let mut r = Reader::new(b);
            let _ = r.u32().and_then(|_| r.u32());
            let _ = r.string();
            let _ = r.cvolume();
            let _ = r.proplist(|_, _| {});
        };
        for n in 0..body.len() {
            walk(&body[..n]);
        }
        for i in 0..body.len() {
            for x in [0u8, 0xff, b'x', b't', b'v', b'P'] {
                let mut b = body.to_vec();
                b[i] = x;
                walk(&b);
            }
        }
        let mut r = Reader::new(&[tag::ARBITRARY, 0xff, 0xff, 0xff, 0xff]);
        assert!(r.arbitrary().is_err());
        let mut r = Reader::new(&[tag::CVOLUME, 200]);
        assert!(r.cvolume().is_err());
        let mut r = Reader::new(&[tag::STRING, b'a']);
        assert!(r.string().is_err());
        let mut r = Reader::new(&[tag::STRING, 0xff, 0]);
        assert!(r.string().is_err());
    }

    #[test]
    fn descriptors_are_checked() {
        let mut d = [0u8; DESCRIPTOR];
        d[4..8].copy_from_slice(&0u32.to_be_bytes());
        assert!(Descriptor::parse(&d).is_err(), "stream channel");
        d[4..8].copy_from_slice(&CONTROL_CHANNEL.to_be_bytes());
        d[0..4].copy_from_slice(&(MAX_PACKET as u32 + 1).to_be_bytes());
        assert!(Descriptor::parse(&d).is_err(), "too large");
        d[0..4].copy_from_slice(&12u32.to_be_bytes());
        assert_eq!(Descriptor::parse(&d).unwrap().length, 12);
    }
}

//! A small JSON emitter writing into a reused byte buffer.
//!
//! The schema is fixed and tiny, so a general serializer would only add
//! allocation (the seed measured it). Output is always valid JSON whatever
//! bytes a process name holds: invalid UTF-8 becomes U+FFFD, control
//! characters are escaped, non-finite floats become `null`.

use std::io::Write;

/// Writes JSON values into `buf`, inserting commas itself.
pub struct JsonWriter<'a> {
    buf: &'a mut Vec<u8>,
    /// Per nesting level: does the next value need a comma before it?
    comma: [bool; 8],
    depth: usize,
    after_key: bool,
}

impl<'a> JsonWriter<'a> {
    /// Starts writing at the end of `buf` (which the caller clears and reuses).
    pub fn new(buf: &'a mut Vec<u8>) -> JsonWriter<'a> {
        JsonWriter {
            buf,
            comma: [false; 8],
            depth: 0,
            after_key: false,
        }
    }

    fn sep(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if self.comma[self.depth] {
            self.buf.push(b',');
        }
        self.comma[self.depth] = true;
    }

    fn open(&mut self, c: u8) -> &mut Self {
        self.sep();
        self.buf.push(c);
        // Deeper than our schema ever goes would be a bug in this crate.
        debug_assert!(self.depth + 1 < self.comma.len());
        self.depth = (self.depth + 1).min(self.comma.len() - 1);
        self.comma[self.depth] = false;
        self
    }

    fn close(&mut self, c: u8) -> &mut Self {
        self.buf.push(c);
        self.depth = self.depth.saturating_sub(1);
        self
    }

    /// `{`
    pub fn begin_object(&mut self) -> &mut Self {
        self.open(b'{')
    }

    /// `}`
    pub fn end_object(&mut self) -> &mut Self {
        self.close(b'}')
    }

    /// `[`
    pub fn begin_array(&mut self) -> &mut Self {
        self.open(b'[')
    }

    /// `]`
    pub fn end_array(&mut self) -> &mut Self {
        self.close(b']')
    }

    /// An object key; the next call writes its value.
    pub fn key(&mut self, k: &str) -> &mut Self {
        self.sep();
        write_string(self.buf, k.as_bytes());
        self.buf.push(b':');
        self.after_key = true;
        self
    }

    /// A string from arbitrary bytes.
    pub fn string(&mut self, s: &[u8]) -> &mut Self {
        self.sep();
        write_string(self.buf, s);
        self
    }

    /// An unsigned integer.
    pub fn uint(&mut self, v: u64) -> &mut Self {
        self.sep();
        let _ = write!(self.buf, "{v}");
        self
    }

    /// A float with `decimals` places; `null` when not finite.
    pub fn float(&mut self, v: f64, decimals: usize) -> &mut Self {
        self.sep();
        if v.is_finite() {
            let _ = write!(self.buf, "{v:.decimals$}");
        } else {
            self.buf.extend_from_slice(b"null");
        }
        self
    }

    /// `null`
    pub fn null(&mut self) -> &mut Self {
        self.sep();
        self.buf.extend_from_slice(b"null");
        self
    }

    /// An optional float: the value or `null`.
    pub fn opt_float(&mut self, v: Option<f64>, decimals: usize) -> &mut Self {
        match v {
            Some(v) => self.float(v, decimals),
            None => self.null(),
        }
    }

    /// An optional integer: the value or `null`.
    pub fn opt_uint(&mut self, v: Option<u64>) -> &mut Self {
        match v {
            Some(v) => self.uint(v),
            None => self.null(),
        }
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_string(buf: &mut Vec<u8>, s: &[u8]) {
    buf.push(b'"');
    for chunk in s.utf8_chunks() {
        for &b in chunk.valid().as_bytes() {
            match b {
                b'"' => buf.extend_from_slice(b"\\\""),
                b'\\' => buf.extend_from_slice(b"\\\\"),
                b'\n' => buf.extend_from_slice(b"\\n"),
                b'\r' => buf.extend_from_slice(b"\\r"),
                b'\t' => buf.extend_from_slice(b"\\t"),
                c if c < 0x20 || c == 0x7f => {
                    let _ = write!(buf, "\\u{:04x}", c);
                }
                c => buf.push(c),
            }
        }
        if !chunk.invalid().is_empty() {
            buf.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(bytes: &[u8]) -> String {
        let mut v = Vec::new();
        write_string(&mut v, bytes);
        String::from_utf8(v).expect("emitter wrote invalid UTF-8")
    }

    #[test]
    fn escapes() {
        assert_eq!(s(b"plain"), "\"plain\"");
        assert_eq!(s(b"a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(s(b"\x01\x1f\x7f"), r#""\u0001\u001f\u007f""#);
        assert_eq!(s(b"\xff\xfeok"), "\"\u{fffd}\u{fffd}ok\"");
        assert_eq!(
            s("caf\u{e9} \u{1f600}".as_bytes()),
            "\"caf\u{e9} \u{1f600}\""
        );
    }

    #[test]
    fn structure_and_commas() {
        let mut buf = Vec::new();
        let mut w = JsonWriter::new(&mut buf);
        w.begin_object();
        w.key("a").uint(1);
        w.key("b").begin_array();
        w.float(1.25, 1).null().opt_uint(Some(3));
        w.end_array();
        w.key("c").begin_object().key("d").string(b"x").end_object();
        w.key("e").float(f64::NAN, 2);
        w.end_object();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            r#"{"a":1,"b":[1.2,null,3],"c":{"d":"x"},"e":null}"#
        );
    }
}

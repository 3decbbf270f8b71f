//! Human-readable numbers and names, as `Display` values so they write into
//! any reused buffer (`write!` into a `Vec<u8>` or a fixed [`Text`]) without
//! allocating.
//!
//! [`Text`]: crate::render::Text

use std::fmt;

/// A byte count with a binary unit: `512 B`, `1.5 KiB`, `12.3 GiB`.
#[derive(Clone, Copy, Debug)]
pub struct Bytes(pub u64);

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
        let v = self.0;
        if v < 1024 {
            return write!(f, "{v} B");
        }
        let mut x = v as f64;
        let mut u = 0;
        while x >= 1024.0 && u < UNITS.len() - 1 {
            x /= 1024.0;
            u += 1;
        }
        write!(f, "{x:.1} {}", UNITS[u])
    }
}

/// A kernel process name made printable: invalid UTF-8 as U+FFFD, control
/// characters (a newline in a name would break a table) as `?`.
#[derive(Clone, Copy, Debug)]
pub struct Name<'a>(pub &'a [u8]);

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        for chunk in self.0.utf8_chunks() {
            for ch in chunk.valid().chars() {
                f.write_char(if ch.is_control() { '?' } else { ch })?;
            }
            if !chunk.invalid().is_empty() {
                f.write_char('\u{fffd}')?;
            }
        }
        Ok(())
    }
}

/// Display width of `raw` as [`Name`] writes it, in characters.
pub fn name_chars(raw: &[u8]) -> usize {
    raw.utf8_chunks()
        .map(|c| c.valid().chars().count() + usize::from(!c.invalid().is_empty()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_units() {
        for (n, want) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1536, "1.5 KiB"),
            (5 << 30, "5.0 GiB"),
        ] {
            assert_eq!(Bytes(n).to_string(), want);
        }
    }

    #[test]
    fn names() {
        assert_eq!(Name(b"a\nb\xffc").to_string(), "a?b\u{fffd}c");
        assert_eq!(name_chars(b"a\nb\xffc"), 5);
        assert_eq!(name_chars("\u{1f600}x".as_bytes()), 2);
    }
}

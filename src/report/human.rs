//! Human-readable numbers and names for text outputs, written into reused
//! buffers (no allocation).

use std::io::Write;

/// Appends a byte count with a binary unit: `512 B`, `1.5 KiB`, `12.3 GiB`.
pub fn bytes(out: &mut Vec<u8>, v: u64) {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if v < 1024 {
        let _ = write!(out, "{v} B");
        return;
    }
    let mut x = v as f64;
    let mut u = 0;
    while x >= 1024.0 && u < UNITS.len() - 1 {
        x /= 1024.0;
        u += 1;
    }
    let _ = write!(out, "{x:.1} {}", UNITS[u]);
}

/// Appends a process name for display: invalid UTF-8 as U+FFFD, control
/// characters (a newline in a name would break a table) as `?`.
pub fn name(out: &mut Vec<u8>, raw: &[u8]) {
    for chunk in raw.utf8_chunks() {
        for ch in chunk.valid().chars() {
            let ch = if ch.is_control() { '?' } else { ch };
            let mut tmp = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut tmp).as_bytes());
        }
        if !chunk.invalid().is_empty() {
            out.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
}

/// Display width of `raw` as [`name`] writes it, in characters.
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
        let mut v = Vec::new();
        for (n, want) in [
            (0, "0 B"),
            (1023, "1023 B"),
            (1536, "1.5 KiB"),
            (5 << 30, "5.0 GiB"),
        ] {
            v.clear();
            bytes(&mut v, n);
            assert_eq!(std::str::from_utf8(&v).unwrap(), want);
        }
    }

    #[test]
    fn names() {
        let mut v = Vec::new();
        name(&mut v, b"a\nb\xffc");
        assert_eq!(std::str::from_utf8(&v).unwrap(), "a?b\u{fffd}c");
        assert_eq!(name_chars(b"a\nb\xffc"), 5);
        assert_eq!(name_chars("\u{1f600}x".as_bytes()), 2);
    }
}

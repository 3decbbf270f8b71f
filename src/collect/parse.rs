//! Byte-level parsing of kernel text files, without allocation or UTF-8 checks.

/// Parses the leading unsigned decimal number of `b`, after optional ASCII
/// whitespace. `None` when there is no digit or it overflows.
pub fn u64_prefix(b: &[u8]) -> Option<u64> {
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    let mut v: u64 = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        v = v.checked_mul(10)?.checked_add((b[i] - b'0') as u64)?;
        i += 1;
    }
    (i > start).then_some(v)
}

/// Like [`u64_prefix`] but accepts a leading `-` (sysfs temperatures can be
/// negative).
pub fn i64_prefix(b: &[u8]) -> Option<i64> {
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let neg = b.get(i) == Some(&b'-');
    let v = u64_prefix(&b[i + neg as usize..])?;
    let v = i64::try_from(v).ok()?;
    Some(if neg { -v } else { v })
}

/// The whitespace-separated fields of `b`.
pub fn fields(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(|c| c.is_ascii_whitespace())
        .filter(|f| !f.is_empty())
}

/// In a `Key: value` file (`/proc/meminfo`, `/proc/PID/io`), the number after
/// the line that starts with `key` followed by `:`.
pub fn keyed_u64(buf: &[u8], key: &[u8]) -> Option<u64> {
    for line in buf.split(|&c| c == b'\n') {
        if line.len() > key.len() && line.starts_with(key) && line[key.len()] == b':' {
            return u64_prefix(&line[key.len() + 1..]);
        }
    }
    None
}

/// In a `Key: value` file, the numbers after each of `keys` in one pass,
/// which ends once every key has been seen: `/proc/meminfo` has some fifty
/// lines and the keys a reading needs are among its first twenty, where
/// one [`keyed_u64`] call per key would start over from the top each time.
pub fn keyed_u64s<const N: usize>(buf: &[u8], keys: [&[u8]; N]) -> [Option<u64>; N] {
    let mut out = [None; N];
    let mut seen = [false; N];
    let mut left = N;
    for line in buf.split(|&c| c == b'\n') {
        if left == 0 {
            break;
        }
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let key = &line[..colon];
        // The first line of a key counts, as with [`keyed_u64`], even when
        // its number does not parse.
        if let Some(i) = keys.iter().position(|k| *k == key) {
            if !seen[i] {
                seen[i] = true;
                out[i] = u64_prefix(&line[colon + 1..]);
                left -= 1;
            }
        }
    }
    out
}

/// The first line of `b` (without its newline).
pub fn first_line(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == b'\n') {
        Some(n) => &b[..n],
        None => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(u64_prefix(b"  42\n"), Some(42));
        assert_eq!(u64_prefix(b"42 kB"), Some(42));
        assert_eq!(u64_prefix(b"x42"), None);
        assert_eq!(u64_prefix(b""), None);
        assert_eq!(u64_prefix(b"99999999999999999999999"), None);
        assert_eq!(i64_prefix(b"-5000\n"), Some(-5000));
        assert_eq!(i64_prefix(b"47000\n"), Some(47000));
        assert_eq!(i64_prefix(b"-"), None);
    }

    #[test]
    fn keyed() {
        let m = b"MemTotal:       16314220 kB\nMemFree:  1 kB\nMemAvailable:   9000 kB\n";
        assert_eq!(keyed_u64(m, b"MemTotal"), Some(16314220));
        assert_eq!(keyed_u64(m, b"MemAvailable"), Some(9000));
        assert_eq!(keyed_u64(m, b"Mem"), None);
        assert_eq!(keyed_u64(m, b"SwapTotal"), None);
    }

    #[test]
    fn keyed_in_one_pass() {
        let m = b"MemTotal:       16314220 kB\nMemFree:  1 kB\nMemAvailable:   9000 kB\n\
                  junk line\nSwapTotal: 7 kB\nMemTotal: 5 kB\n";
        assert_eq!(
            keyed_u64s(m, [b"MemTotal", b"MemAvailable", b"SwapTotal", b"SwapFree"]),
            [Some(16314220), Some(9000), Some(7), None],
            "the first line of a key counts; a missing key is None"
        );
        assert_eq!(keyed_u64s(b"Mem: x\n", [b"Mem"]), [None]);
        assert_eq!(
            keyed_u64s(b"A: x\nA: 1\nB: 2\n", [b"A", b"B"]),
            [None, Some(2)],
            "a malformed first line is that key's answer, and the others are still found"
        );
        assert_eq!(keyed_u64s(b"", [b"MemTotal"]), [None]);
    }

    #[test]
    fn split_fields() {
        let v: Vec<&[u8]> = fields(b"cpu  1 2\t3\n").collect();
        assert_eq!(v, vec![&b"cpu"[..], b"1", b"2", b"3"]);
    }
}

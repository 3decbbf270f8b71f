//! Config errors: which file, where in it, which key, and what was expected.

use std::fmt;

/// One problem in a config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole (unreadable).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// Every problem found in one file (validation goes on after the first, so
/// a user fixes them all in one edit).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// 1-based line and column (in characters) of byte `offset` in `src`.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Line and column of offsets in one source, each found from an index of
/// line starts built once (the first time one is asked for), not by
/// rescanning the file: thousands of errors cost one pass.
pub struct Positions<'a> {
    src: &'a str,
    starts: Vec<usize>,
    /// The last answer: a later offset on the same line counts on from it
    /// (a 1 MB line of layout entries is walked once, not once per error).
    last: (usize, usize, usize),
}

impl<'a> Positions<'a> {
    /// Positions in `src` (nothing is computed yet).
    pub fn new(src: &'a str) -> Positions<'a> {
        Positions {
            src,
            starts: Vec::new(),
            last: (0, 1, 1),
        }
    }

    /// As [`line_col`].
    pub fn line_col(&mut self, offset: usize) -> (usize, usize) {
        let src = self.src;
        if self.starts.is_empty() {
            self.starts.push(0);
            self.starts.extend(
                src.bytes()
                    .enumerate()
                    .filter(|(_, b)| *b == b'\n')
                    .map(|(i, _)| i + 1),
            );
        }
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let (last_off, last_line, last_col) = self.last;
        let col = if last_line == line && last_off >= start && last_off <= offset {
            last_col + src[last_off..offset].chars().count()
        } else {
            src[start..offset].chars().count() + 1
        };
        self.last = (offset, line, col);
        (line, col)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_from_the_index_match_a_rescan() {
        let s = "a = 1\nbé = [\"x\", \"yé\", \"z\"]\n\nlast";
        let mut p = Positions::new(s);
        let offsets = [0, 3, 6, 9, 14, 20, 25, 26, 30, 8, 2, 999];
        for o in offsets {
            assert_eq!(p.line_col(o), line_col(s, o), "offset {o}");
        }
    }

    #[test]
    fn positions() {
        let s = "a = 1\nbé = 2\n";
        assert_eq!(line_col(s, 0), (1, 1));
        assert_eq!(line_col(s, 6), (2, 1));
        assert_eq!(
            line_col(s, 9),
            (2, 3),
            "columns count characters, not bytes"
        );
        assert_eq!(line_col(s, 999), (3, 1));
        assert_eq!(line_col(s, 8), (2, 2), "inside a character: its start");
    }
}

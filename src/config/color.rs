//! Colours as users write them: `#rgb`, `#rrggbb`, `#rrggbbaa`.

/// A straight-alpha sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Color {
    pub r: u8,
    pub g: u8,
    pub b: u8,
    pub a: u8,
}

impl Color {
    /// From `0xRRGGBBAA`.
    pub const fn hex(v: u32) -> Color {
        Color {
            r: (v >> 24) as u8,
            g: (v >> 16) as u8,
            b: (v >> 8) as u8,
            a: v as u8,
        }
    }

    /// Parses `#rgb`, `#rrggbb` or `#rrggbbaa` (hex digits in either case).
    pub fn parse(s: &str) -> Option<Color> {
        let h = s.strip_prefix('#')?;
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize| u8::from_str_radix(&h[i..i + 1], 16).ok();
        let byte = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
        match h.len() {
            3 => Some(Color {
                r: digit(0)? * 17,
                g: digit(1)? * 17,
                b: digit(2)? * 17,
                a: 255,
            }),
            6 => Some(Color {
                r: byte(0)?,
                g: byte(2)?,
                b: byte(4)?,
                a: 255,
            }),
            8 => Some(Color {
                r: byte(0)?,
                g: byte(2)?,
                b: byte(4)?,
                a: byte(6)?,
            }),
            _ => None,
        }
    }
}

impl std::fmt::Display for Color {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.r, self.g, self.b)?;
        if self.a != 255 {
            write!(f, "{:02x}", self.a)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(Color::parse("#fff"), Some(Color::hex(0xffffffff)));
        assert_eq!(Color::parse("#1E1e2E"), Some(Color::hex(0x1e1e2eff)));
        assert_eq!(Color::parse("#1e1e2ecc"), Some(Color::hex(0x1e1e2ecc)));
        for bad in [
            "fff",
            "#ff",
            "#fffff",
            "#ggg",
            "#1e1e2ecc0",
            "",
            "#",
            "#+12",
            "#ééé",
        ] {
            assert_eq!(Color::parse(bad), None, "{bad}");
        }
        assert_eq!(Color::hex(0x1e1e2ecc).to_string(), "#1e1e2ecc");
        assert_eq!(Color::hex(0x1e1e2eff).to_string(), "#1e1e2e");
    }
}

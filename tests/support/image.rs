//! Screenshots as plain RGB pixels: a tiny reader for the binary PPM that
//! `grim -t ppm` writes, and the measurements the bar tests make on them.

pub type Rgb = [u8; 3];

/// An RGB image, rows top to bottom, 3 bytes a pixel.
#[derive(Clone)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl Image {
    /// Parses a binary PPM (`P6`, maxval 255), as grim writes it.
    pub fn from_ppm(data: &[u8]) -> Result<Image, String> {
        let mut pos = 0;
        let mut fields = [0usize; 3];
        let magic = token(data, &mut pos).ok_or("empty PPM")?;
        if magic != b"P6" {
            return Err(format!(
                "not a binary PPM: magic {:?}",
                String::from_utf8_lossy(magic)
            ));
        }
        for f in fields.iter_mut() {
            let t = token(data, &mut pos).ok_or("truncated PPM header")?;
            *f = std::str::from_utf8(t)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("bad PPM header field {:?}", String::from_utf8_lossy(t)))?;
        }
        let [width, height, maxval] = fields;
        if maxval != 255 {
            return Err(format!("PPM maxval {maxval}, only 255 is supported"));
        }
        // Exactly one whitespace byte separates the header from the pixels.
        pos += 1;
        let len = width * height * 3;
        let rgb = data
            .get(pos..pos + len)
            .ok_or_else(|| {
                format!(
                    "PPM {width}x{height} needs {len} pixel bytes, has {}",
                    data.len().saturating_sub(pos)
                )
            })?
            .to_vec();
        Ok(Image { width, height, rgb })
    }

    pub fn px(&self, x: usize, y: usize) -> Rgb {
        let i = (y * self.width + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The rectangle `x, y, w, h` as a new image.
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Image {
        assert!(
            x + w <= self.width && y + h <= self.height,
            "crop outside image"
        );
        let mut rgb = Vec::with_capacity(w * h * 3);
        for row in y..y + h {
            let start = (row * self.width + x) * 3;
            rgb.extend_from_slice(&self.rgb[start..start + w * 3]);
        }
        Image {
            width: w,
            height: h,
            rgb,
        }
    }

    /// The most frequent colour in rows `y0..y1`.
    pub fn dominant(&self, y0: usize, y1: usize) -> Rgb {
        let mut counts: std::collections::HashMap<Rgb, usize> = Default::default();
        for y in y0..y1 {
            for x in 0..self.width {
                *counts.entry(self.px(x, y)).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|&(_, n)| n)
            .map(|(c, _)| c)
            .expect("empty row range")
    }

    /// Whether every pixel of row `y` is `c`.
    pub fn row_is(&self, y: usize, c: Rgb) -> bool {
        (0..self.width).all(|x| self.px(x, y) == c)
    }

    /// The number of rows from the top, before the first row that is entirely
    /// `background`: the height of whatever is drawn across the top.
    pub fn top_band_height(&self, background: Rgb) -> usize {
        (0..self.height)
            .find(|&y| self.row_is(y, background))
            .unwrap_or(self.height)
    }

    /// Counts pixels in rows `y0..y1` that differ from `bg` by more than
    /// `min_diff` in some channel.
    pub fn count_foreground(&self, y0: usize, y1: usize, bg: Rgb, min_diff: u8) -> usize {
        let mut n = 0;
        for y in y0..y1 {
            for x in 0..self.width {
                if diff(self.px(x, y), bg) > min_diff {
                    n += 1;
                }
            }
        }
        n
    }
}

/// The largest per-channel difference between two colours.
pub fn diff(a: Rgb, b: Rgb) -> u8 {
    (0..3).map(|i| a[i].abs_diff(b[i])).max().unwrap_or(0)
}

/// What the foreground (text) of a band looks like, measured against the
/// band's own background colour.
#[derive(Debug, Clone, Copy)]
pub struct TextStats {
    /// Pixels that differ from the band background (by more than 24).
    pub pixels: usize,
    /// Separate runs of columns that contain foreground: glyphs and words.
    pub column_runs: usize,
    /// Rows that contain foreground.
    pub rows: usize,
    /// Topmost and bottommost rows with foreground.
    pub first_row: usize,
    pub last_row: usize,
    /// Share of foreground pixels at (nearly) full contrast, versus the
    /// antialiased in-between ones: crisp text has a high share, text that was
    /// rendered small and scaled up by the compositor has a low one.
    pub solid_share: f64,
    /// Share of aligned 2×2 blocks touching foreground whose four pixels are
    /// not all equal: a buffer scaled up 2× by nearest neighbour has none.
    pub mixed_2x2_share: f64,
}

/// Measures the text-like pixels in rows `y0..y1` of `img`.
pub fn text_stats(img: &Image, y0: usize, y1: usize) -> TextStats {
    let bg = img.dominant(y0, y1);
    let is_fg = |x: usize, y: usize| diff(img.px(x, y), bg) > 24;
    let mut pixels = 0;
    let mut rows = 0;
    let mut first_row = usize::MAX;
    let mut last_row = 0;
    let mut max_contrast = 0u8;
    for y in y0..y1 {
        let mut any = false;
        for x in 0..img.width {
            if is_fg(x, y) {
                pixels += 1;
                any = true;
                max_contrast = max_contrast.max(diff(img.px(x, y), bg));
            }
        }
        if any {
            rows += 1;
            first_row = first_row.min(y);
            last_row = y;
        }
    }
    let mut column_runs = 0;
    let mut in_run = false;
    for x in 0..img.width {
        let col = (y0..y1).any(|y| is_fg(x, y));
        if col && !in_run {
            column_runs += 1;
        }
        in_run = col;
    }
    let mut solid = 0;
    for y in y0..y1 {
        for x in 0..img.width {
            let d = diff(img.px(x, y), bg);
            if d > 24 && u32::from(d) * 10 >= u32::from(max_contrast) * 9 {
                solid += 1;
            }
        }
    }
    let (mut blocks, mut mixed) = (0usize, 0usize);
    let start = y0 + (y0 % 2);
    for y in (start..y1.saturating_sub(1)).step_by(2) {
        for x in (0..img.width.saturating_sub(1)).step_by(2) {
            let q = [
                img.px(x, y),
                img.px(x + 1, y),
                img.px(x, y + 1),
                img.px(x + 1, y + 1),
            ];
            if q.iter().any(|&c| diff(c, bg) > 24) {
                blocks += 1;
                if q.iter().any(|&c| c != q[0]) {
                    mixed += 1;
                }
            }
        }
    }
    TextStats {
        pixels,
        column_runs,
        rows,
        first_row: if pixels == 0 { 0 } else { first_row },
        last_row,
        solid_share: if pixels == 0 {
            0.0
        } else {
            solid as f64 / pixels as f64
        },
        mixed_2x2_share: if blocks == 0 {
            0.0
        } else {
            mixed as f64 / blocks as f64
        },
    }
}

/// Next whitespace-separated token of a PPM header, skipping `#` comments.
fn token<'a>(data: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    loop {
        while *pos < data.len() && data[*pos].is_ascii_whitespace() {
            *pos += 1;
        }
        if *pos < data.len() && data[*pos] == b'#' {
            while *pos < data.len() && data[*pos] != b'\n' {
                *pos += 1;
            }
            continue;
        }
        break;
    }
    let start = *pos;
    while *pos < data.len() && !data[*pos].is_ascii_whitespace() {
        *pos += 1;
    }
    (start < *pos).then(|| &data[start..*pos])
}

/// `img` scaled up 2× with bilinear filtering, sampling at pixel centres the
/// way pixman's bilinear filter does: what a compositor shows for a 1× buffer
/// on a scale-2 output. Lets the tests check that the crispness measures
/// reject exactly that.
pub fn upscale2_bilinear(img: &Image) -> Image {
    let (w, h) = (img.width, img.height);
    let src = |x: isize, y: isize, c: usize| -> f64 {
        let x = x.clamp(0, w as isize - 1) as usize;
        let y = y.clamp(0, h as isize - 1) as usize;
        f64::from(img.rgb[(y * w + x) * 3 + c])
    };
    let mut rgb = Vec::with_capacity(w * h * 12);
    for oy in 0..h * 2 {
        let v = (oy as f64 + 0.5) / 2.0 - 0.5;
        let (y0, ty) = (v.floor() as isize, v - v.floor());
        for ox in 0..w * 2 {
            let u = (ox as f64 + 0.5) / 2.0 - 0.5;
            let (x0, tx) = (u.floor() as isize, u - u.floor());
            for c in 0..3 {
                let top = src(x0, y0, c) * (1.0 - tx) + src(x0 + 1, y0, c) * tx;
                let bottom = src(x0, y0 + 1, c) * (1.0 - tx) + src(x0 + 1, y0 + 1, c) * tx;
                rgb.push((top * (1.0 - ty) + bottom * ty).round() as u8);
            }
        }
    }
    Image {
        width: w * 2,
        height: h * 2,
        rgb,
    }
}

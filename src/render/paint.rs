//! Pixel operations on a premultiplied RGBA buffer (tiny-skia's layout, which
//! is DRM/wl_shm ABGR8888 on a little-endian machine).

use super::glyphs::Glyph;
use super::layout::Rect;

/// A borrowed premultiplied RGBA image, rows packed (stride = width × 4).
pub struct Canvas<'a> {
    data: &'a mut [u8],
    width: u32,
    height: u32,
}

impl<'a> Canvas<'a> {
    /// Wraps `data`, which must hold at least `width × height × 4` bytes
    /// (an shm slot may be longer; the tail is ignored). `None` when too short
    /// or empty.
    pub fn new(data: &'a mut [u8], width: u32, height: u32) -> Option<Canvas<'a>> {
        let len = width as usize * height as usize * 4;
        if width == 0 || height == 0 || data.len() < len {
            return None;
        }
        Some(Canvas {
            data: &mut data[..len],
            width,
            height,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The pixels, row-major RGBA.
    pub fn data(&self) -> &[u8] {
        self.data
    }

    /// The rectangle clipped to the canvas, or `None` when nothing is left.
    fn clip(&self, r: Rect) -> Option<Rect> {
        r.intersect(Rect::new(0, 0, self.width as i32, self.height as i32))
    }

    /// Draws premultiplied RGBA `img` with its top-left at (`x`, `y`),
    /// source-over, inside `clip`.
    pub fn draw_image(&mut self, img: &tiny_skia::Pixmap, x: i32, y: i32, clip: Rect) {
        self.draw_image_alpha(img, x, y, clip, 255);
    }

    /// [`Canvas::draw_image`] with the image's alpha scaled by `alpha`
    /// (a style's opacity).
    pub fn draw_image_alpha(
        &mut self,
        img: &tiny_skia::Pixmap,
        x: i32,
        y: i32,
        clip: Rect,
        alpha: u8,
    ) {
        let Some(area) = self
            .clip(clip)
            .and_then(|c| c.intersect(Rect::new(x, y, img.width() as i32, img.height() as i32)))
        else {
            return;
        };
        let (w, src) = (self.width as usize, img.data());
        for row in area.y..area.y + area.h {
            for col in area.x..area.x + area.w {
                let si = (((row - y) as usize) * img.width() as usize + (col - x) as usize) * 4;
                let di = (row as usize * w + col as usize) * 4;
                // Premultiplied: every channel scales with the opacity.
                let sc = |c: u8| (c as u32 * alpha as u32 + 127) / 255;
                let a = sc(src[si + 3]);
                if a == 0 {
                    continue;
                }
                for k in 0..4 {
                    let d = self.data[di + k] as u32;
                    self.data[di + k] = (sc(src[si + k]) + (d * (255 - a) + 127) / 255) as u8;
                }
            }
        }
    }

    /// Replaces every pixel of `r` with `color` (premultiplied RGBA).
    pub fn fill(&mut self, r: Rect, color: [u8; 4]) {
        let Some(r) = self.clip(r) else { return };
        // Every pixel becomes the same value: computed once, then copied,
        // rather than building tiny-skia's pipeline for each rect.
        let px = source_pixel(color);
        let stride = self.width as usize * 4;
        for y in r.y..r.y + r.h {
            let at = y as usize * stride + r.x as usize * 4;
            for p in self.data[at..at + r.w as usize * 4].chunks_exact_mut(4) {
                p.copy_from_slice(&px);
            }
        }
    }

    /// What [`Canvas::fill`] wrote before it copied [`source_pixel`]:
    /// tiny-skia's pipeline, kept to check that the two agree.
    #[cfg(test)]
    fn fill_pipeline(&mut self, r: Rect, color: [u8; 4]) {
        let Some(mut pm) = tiny_skia::PixmapMut::from_bytes(self.data, self.width, self.height)
        else {
            return;
        };
        let Some(rect) = tiny_skia::Rect::from_xywh(r.x as f32, r.y as f32, r.w as f32, r.h as f32)
        else {
            return;
        };
        let mut paint = tiny_skia::Paint::default();
        // Colours arrive premultiplied; hand tiny-skia the straight form.
        let [pr, pg, pb, a] = color;
        let unmul = |c: u8| {
            if a == 0 {
                0
            } else {
                ((c as u32 * 255 + a as u32 / 2) / a as u32).min(255) as u8
            }
        };
        paint.set_color_rgba8(unmul(pr), unmul(pg), unmul(pb), a);
        // Source, not SourceOver: a repainted segment must not blend with
        // what was there before, or partial and full redraws would differ.
        paint.blend_mode = tiny_skia::BlendMode::Source;
        paint.anti_alias = false;
        pm.fill_rect(rect, &paint, tiny_skia::Transform::identity(), None);
    }

    /// Blends `color` (premultiplied) over `r` (for a segment background with alpha).
    pub fn blend_rect(&mut self, r: Rect, color: [u8; 4]) {
        let Some(r) = self.clip(r) else { return };
        let stride = self.width as usize * 4;
        if color[3] == 255 {
            // Opaque: source-over is a plain copy.
            for y in r.y..r.y + r.h {
                let at = y as usize * stride + r.x as usize * 4;
                for px in self.data[at..at + r.w as usize * 4].chunks_exact_mut(4) {
                    px.copy_from_slice(&color);
                }
            }
            return;
        }
        for y in r.y..r.y + r.h {
            let row = y as usize * stride;
            for x in r.x..r.x + r.w {
                let i = row + x as usize * 4;
                over(&mut self.data[i..i + 4], color, 255);
            }
        }
    }

    /// Replaces the pixels of `r` with `rows` (a packed image of `r`,
    /// `r.w × 4` bytes a row). False, and nothing drawn, when `r` is not
    /// wholly inside the canvas or `rows` is not its size.
    pub fn put_rows(&mut self, r: Rect, rows: &[u8]) -> bool {
        let row = r.w.max(0) as usize * 4;
        if r.is_empty() || self.clip(r) != Some(r) || rows.len() != row * r.h as usize {
            return false;
        }
        let stride = self.width as usize * 4;
        for (k, src) in rows.chunks_exact(row).enumerate() {
            let at = (r.y as usize + k) * stride + r.x as usize * 4;
            self.data[at..at + row].copy_from_slice(src);
        }
        true
    }

    /// Replaces the pixels of `r` with rows of `r.w × 4` bytes taken every
    /// `stride` bytes of `src` (a column band of a wider image). False, and
    /// nothing drawn, when `r` is not wholly inside the canvas or `src` is short.
    pub fn put_rows_strided(&mut self, r: Rect, src: &[u8], stride: usize, n: usize) -> bool {
        let h = r.h.max(0) as usize;
        if r.is_empty()
            || self.clip(r) != Some(r)
            || n != r.w as usize * 4
            || src.len() < (h - 1) * stride + n
        {
            return false;
        }
        let width = self.width as usize * 4;
        for k in 0..h {
            let at = (r.y as usize + k) * width + r.x as usize * 4;
            self.data[at..at + n].copy_from_slice(&src[k * stride..k * stride + n]);
        }
        true
    }

    /// Sets pixel (x, y) to `color` (premultiplied); nothing outside the canvas.
    pub fn put_px(&mut self, x: i32, y: i32, color: [u8; 4]) {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 {
            return;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        self.data[i..i + 4].copy_from_slice(&color);
    }

    /// Blends `color` (premultiplied) at coverage `cov` over pixel (x, y);
    /// nothing outside the canvas.
    pub fn blend_px(&mut self, x: i32, y: i32, color: [u8; 4], cov: u8) {
        if x < 0 || y < 0 || x >= self.width as i32 || y >= self.height as i32 || cov == 0 {
            return;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        over(&mut self.data[i..i + 4], color, cov);
    }

    /// Draws `glyph` with its pen at (`x`, `baseline`), in `color`
    /// (premultiplied), touching only pixels inside `clip`.
    pub fn draw_glyph(&mut self, glyph: &Glyph, x: i32, baseline: i32, color: [u8; 4], clip: Rect) {
        let gx = x + glyph.left;
        let gy = baseline + glyph.top;
        let area = Rect::new(gx, gy, glyph.width as i32, glyph.height as i32);
        let Some(area) = area.intersect(clip).and_then(|a| self.clip(a)) else {
            return;
        };
        let stride = self.width as usize * 4;
        for y in area.y..area.y + area.h {
            let src_row = (y - gy) as usize * glyph.width as usize;
            let dst_row = y as usize * stride;
            if glyph.color {
                for x in area.x..area.x + area.w {
                    let s = (src_row + (x - gx) as usize) * 4;
                    let Some(px) = glyph.coverage.get(s..s + 4) else {
                        break;
                    };
                    if px[3] == 0 {
                        continue;
                    }
                    let i = dst_row + x as usize * 4;
                    // The colour is the glyph's own (premultiplied), only
                    // its opacity follows the text colour's.
                    let c = [px[0], px[1], px[2], px[3]];
                    over(&mut self.data[i..i + 4], c, color[3]);
                }
                continue;
            }
            // One row at a time, slices zipped (no per-pixel index checks).
            let from = src_row + (area.x - gx) as usize;
            let at = dst_row + area.x as usize * 4;
            let n = area.w as usize;
            let (Some(src), Some(dst)) = (
                glyph.coverage.get(from..from + n),
                self.data.get_mut(at..at + n * 4),
            ) else {
                continue;
            };
            let opaque = color[3] == 255;
            for (d, &cov) in dst.chunks_exact_mut(4).zip(src) {
                match cov {
                    0 => {}
                    // What `over` gives at full coverage of an opaque colour.
                    255 if opaque => d.copy_from_slice(&color),
                    _ => over(d, color, cov),
                }
            }
        }
    }
}

impl Canvas<'_> {
    /// As [`Canvas::draw_glyph`], each row shifted right by its height above
    /// the baseline times `slant / 256` (a synthesised italic); colour
    /// glyphs are drawn upright.
    pub fn draw_glyph_slanted(
        &mut self,
        glyph: &Glyph,
        x: i32,
        baseline: i32,
        color: [u8; 4],
        clip: Rect,
        slant: i32,
    ) {
        if glyph.color || slant == 0 {
            self.draw_glyph(glyph, x, baseline, color, clip);
            return;
        }
        let gx = x + glyph.left;
        let gy = baseline + glyph.top;
        let stride = self.width as usize * 4;
        for row in 0..glyph.height as i32 {
            let y = gy + row;
            let dx = ((baseline - y) * slant) >> 8;
            let area = Rect::new(gx + dx, y, glyph.width as i32, 1);
            let Some(area) = area.intersect(clip).and_then(|a| self.clip(a)) else {
                continue;
            };
            let src_row = row as usize * glyph.width as usize;
            let dst_row = y as usize * stride;
            for x in area.x..area.x + area.w {
                let Some(&cov) = glyph.coverage.get(src_row + (x - gx - dx) as usize) else {
                    break;
                };
                if cov == 0 {
                    continue;
                }
                let i = dst_row + x as usize * 4;
                over(&mut self.data[i..i + 4], color, cov);
            }
        }
    }
}

/// `a × b / 255`, rounded.
#[inline]
fn mul255(a: u32, b: u32) -> u32 {
    let t = a * b + 128;
    (t + (t >> 8)) >> 8
}

/// Premultiplied source-over of `color` scaled by coverage `cov` onto `dst`.
#[inline]
fn over(dst: &mut [u8], color: [u8; 4], cov: u8) {
    let cov = cov as u32;
    let sa = mul255(color[3] as u32, cov);
    let keep = 255 - sa;
    for k in 0..4 {
        let s = mul255(color[k] as u32, cov);
        dst[k] = (s + mul255(dst[k] as u32, keep)).min(255) as u8;
    }
}

/// Copies `r` of `src` (premultiplied RGBA) into `dst` as ARGB8888 (B, G, R, A
/// in memory on little endian): the fallback for compositors without
/// ABGR8888, done only over damaged rectangles. Both are `width` wide with
/// packed rows.
pub fn copy_rect_to_argb(src: &[u8], dst: &mut [u8], width: u32, r: Rect) {
    let stride = width as usize * 4;
    let rows = src.len().min(dst.len()) / stride.max(1);
    let Some(r) = r.intersect(Rect::new(0, 0, width as i32, rows as i32)) else {
        return;
    };
    for y in r.y..r.y + r.h {
        let start = y as usize * stride + r.x as usize * 4;
        let end = start + r.w as usize * 4;
        let (s, d) = (&src[start..end], &mut dst[start..end]);
        for (sp, dp) in s.chunks_exact(4).zip(d.chunks_exact_mut(4)) {
            dp[0] = sp[2];
            dp[1] = sp[1];
            dp[2] = sp[0];
            dp[3] = sp[3];
        }
    }
}

/// Copies `r` of `src` into `dst` unchanged (same format, same width).
pub fn copy_rect(src: &[u8], dst: &mut [u8], width: u32, r: Rect) {
    let stride = width as usize * 4;
    let rows = src.len().min(dst.len()) / stride.max(1);
    let Some(r) = r.intersect(Rect::new(0, 0, width as i32, rows as i32)) else {
        return;
    };
    for y in r.y..r.y + r.h {
        let start = y as usize * stride + r.x as usize * 4;
        let end = start + r.w as usize * 4;
        dst[start..end].copy_from_slice(&src[start..end]);
    }
}

/// The pixel tiny-skia's `Source` fill writes for premultiplied `color`:
/// the colour un-premultiplied to 8 bits (rounded), then premultiplied again
/// in `f32` and rounded as its 8-bit pipeline stores it.
fn source_pixel(color: [u8; 4]) -> [u8; 4] {
    let [pr, pg, pb, a] = color;
    match a {
        0 => [0; 4],
        255 => color,
        _ => {
            let af = a as f32 / 255.0;
            let again = |c: u8| {
                let straight = ((c as u32 * 255 + a as u32 / 2) / a as u32).min(255);
                ((straight as f32 / 255.0) * af * 255.0 + 0.5) as u8
            };
            [again(pr), again(pg), again(pb), a]
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn an_image_at_half_opacity_blends_half() {
        let mut img = tiny_skia::Pixmap::new(1, 1).expect("pixmap");
        img.data_mut().copy_from_slice(&[200, 100, 0, 255]);
        let mut data = vec![0u8; 4];
        let mut c = Canvas::new(&mut data, 1, 1).expect("canvas");
        c.draw_image_alpha(&img, 0, 0, Rect::new(0, 0, 1, 1), 128);
        assert_eq!(data, [100, 50, 0, 128]);
    }

    use super::*;

    #[test]
    fn filling_writes_what_the_pipeline_writes() {
        let (w, h) = (13u32, 7u32);
        let rects = [
            Rect::new(0, 0, 13, 7),
            Rect::new(2, 1, 5, 3),
            Rect::new(-3, -2, 6, 4),
            Rect::new(10, 5, 9, 9),
            Rect::new(4, 4, 0, 2),
        ];
        let colors = [
            [0, 0, 0, 255],
            [255, 255, 255, 255],
            [17, 200, 3, 255],
            [0, 0, 0, 0],
            [9, 9, 9, 0],
            [50, 20, 10, 128],
        ];
        for r in rects {
            for c in colors {
                let base: Vec<u8> = (0..w * h * 4).map(|i| (i * 37 % 251) as u8).collect();
                let (mut a, mut b) = (base.clone(), base);
                Canvas::new(&mut a, w, h).expect("canvas").fill(r, c);
                let mut cb = Canvas::new(&mut b, w, h).expect("canvas");
                if let Some(cr) = cb.clip(r) {
                    cb.fill_pipeline(cr, c);
                }
                assert_eq!(a, b, "{r:?} {c:?}");
            }
        }
    }

    #[test]
    fn the_fill_pixel_is_the_pipelines_for_every_colour() {
        // Every alpha with every channel value (over-range ones included).
        let mut bad = Vec::new();
        for a in 0..=255u8 {
            for c in 0..=255u8 {
                let color = [c, 255 - c, c / 3, a];
                let mut data = vec![7u8; 4];
                let mut canvas = Canvas::new(&mut data, 1, 1).expect("canvas");
                canvas.fill_pipeline(Rect::new(0, 0, 1, 1), color);
                if data != source_pixel(color) {
                    bad.push((color, data.clone(), source_pixel(color)));
                }
            }
        }
        assert!(
            bad.is_empty(),
            "{} differ, e.g. {:?}",
            bad.len(),
            &bad[..bad.len().min(5)]
        );
    }

    #[test]
    fn mul255_is_exact_division_rounded() {
        for a in 0..=255u32 {
            for b in 0..=255u32 {
                let want = ((a * b) as f64 / 255.0).round() as u32;
                assert_eq!(mul255(a, b), want, "{a}*{b}");
            }
        }
    }

    #[test]
    fn glyph_rows_blend_as_each_pixel_would() {
        let glyph = Glyph {
            width: 5,
            height: 2,
            left: 0,
            top: -2,
            advance: 5,
            color: false,
            coverage: vec![0, 255, 128, 1, 255, 255, 0, 77, 200, 255].into(),
        };
        for color in [[200, 100, 50, 255], [60, 30, 10, 128]] {
            let mut px = vec![90u8; 8 * 4 * 4];
            let mut want = px.clone();
            let mut c = Canvas::new(&mut px, 8, 4).unwrap();
            c.draw_glyph(&glyph, 2, 3, color, Rect::new(3, 0, 8, 4));
            for (k, &cov) in glyph.coverage.iter().enumerate() {
                let (gx, gy) = (2 + k as i32 % 5, 1 + k as i32 / 5);
                if (3..8).contains(&gx) && cov > 0 {
                    let i = (gy as usize * 8 + gx as usize) * 4;
                    over(&mut want[i..i + 4], color, cov);
                }
            }
            assert_eq!(px, want);
        }
    }

    #[test]
    fn fill_is_exact_and_clipped() {
        let mut px = vec![0u8; 8 * 4 * 4];
        let mut c = Canvas::new(&mut px, 8, 4).unwrap();
        c.fill(Rect::new(6, 1, 10, 2), [10, 20, 30, 255]);
        for y in 0..4 {
            for x in 0..8 {
                let i = (y * 8 + x) * 4;
                let inside = x >= 6 && (1..3).contains(&y);
                let want = if inside { [10, 20, 30, 255] } else { [0; 4] };
                assert_eq!(&c.data()[i..i + 4], &want, "({x},{y})");
            }
        }
    }

    #[test]
    fn argb_swizzle_only_touches_rect() {
        let src: Vec<u8> = (0..4 * 2 * 4).map(|i| i as u8).collect();
        let mut dst = vec![0xeeu8; src.len()];
        copy_rect_to_argb(&src, &mut dst, 4, Rect::new(1, 1, 2, 1));
        assert_eq!(&dst[..16], &[0xee; 16]);
        assert_eq!(&dst[20..24], &[22, 21, 20, 23]);
        assert_eq!(&dst[28..32], &[0xee; 4]);
    }
}

//! One font face: its bytes mapped from the file (never copied), parsed
//! lazily by ttf-parser, shaped by rustybuzz, and glyphs rasterised one at a
//! time when first drawn.
//!
//! fontdue, the project's rasteriser, parses and keeps every outline of a
//! face it loads: 25 MiB for DejaVu Sans, 320 MiB for Noto Sans CJK, 1.1 MiB
//! even for the embedded subset. So a small TrueType face (the embedded one,
//! an icon face) is handed to fontdue cut down to the glyphs drawn so far
//! (see `subset`); a larger face costs its table directory until a glyph is
//! drawn, and its outlines are parsed one glyph at a time by ttf-parser and
//! filled by `ab_glyph_rasterizer` (the same exact-area method fontdue uses).

use std::fs::File;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use rustybuzz::ttf_parser::{self, GlyphId, OutlineBuilder, RasterImageFormat};

use super::subset::Subset;

/// Largest font file opened (the largest Debian ships, Noto Serif CJK's
/// collection, is about 60 MiB); a bigger "font" is a mistake or an attack.
pub const MAX_FONT_BYTES: u64 = 128 << 20;

/// A face rasterised by fontdue has at most this many glyphs and bytes: its
/// subset is rebuilt as new glyphs are drawn, and that costs time in
/// proportion to the face (its glyph index, its tables).
const FONTDUE_MAX_GLYPHS: u16 = 1024;
const FONTDUE_MAX_BYTES: usize = 256 << 10;

/// A rasterised glyph: coverage (or colour) plus where it sits relative to
/// the pen.
#[derive(Debug)]
pub struct Glyph {
    /// Left edge of the bitmap relative to the pen position.
    pub left: i32,
    /// Top edge of the bitmap relative to the baseline (negative is above).
    pub top: i32,
    /// Bitmap width in pixels.
    pub width: u32,
    /// Bitmap height in pixels.
    pub height: u32,
    /// How far the pen moves after this glyph, whole pixels (the nominal
    /// advance; shaped text uses the shaper's positions instead).
    pub advance: i32,
    /// `width * height` coverage values, row-major; for a colour glyph
    /// `width * height * 4` premultiplied RGBA bytes.
    pub coverage: Box<[u8]>,
    /// The bitmap is colour (an emoji), drawn as is rather than in the text
    /// colour.
    pub color: bool,
}

impl Glyph {
    /// Heap bytes this glyph holds (for the cache's byte budget).
    pub fn bytes(&self) -> usize {
        self.coverage.len() + std::mem::size_of::<Glyph>()
    }
}

/// Why a font could not be used.
#[derive(Debug)]
pub struct FontError(pub String);

impl std::fmt::Display for FontError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a face's bytes live.
enum Bytes {
    Static(&'static [u8]),
    Mapped(memmap2::Mmap),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Static(s) => s,
            Bytes::Mapped(m) => m,
        }
    }
}

/// One parsed face.
pub struct Face {
    // Declared before `bytes` so it is dropped first: it borrows them.
    shaper: rustybuzz::Face<'static>,
    /// fontdue over the glyphs drawn so far, for small TrueType faces only
    /// (see [`FONTDUE_MAX_GLYPHS`]); `None` rasterises lazily parsed outlines.
    fontdue: Option<Subset>,
    bytes: Bytes,
    /// Units per em.
    pub upem: f32,
    /// Ascender and descender in font units (descender negative).
    pub ascender: f32,
    /// See `ascender`.
    pub descender: f32,
    /// The face has colour glyphs (CBDT, sbix or COLR).
    pub color: bool,
    /// Family name (for messages and fallback ordering).
    pub family: String,
    /// No substitution, positioning or kerning tables: shaping simple text
    /// is the character map and advances alone.
    pub simple: bool,
}

impl Face {
    /// The face embedded in the binary (or any static bytes).
    pub fn from_static(data: &'static [u8], index: u32) -> Result<Face, FontError> {
        Face::new(Bytes::Static(data), index)
    }

    /// Maps the font file at `path` and parses face `index` of it.
    pub fn open(path: &Path, index: u32) -> Result<Face, FontError> {
        let map = map_font_file(path)?;
        Face::new(Bytes::Mapped(map), index)
            .map_err(|e| FontError(format!("{} is not a usable font: {e}", path.display())))
    }

    /// [`Face::open`], but only when face `index` of `path` has `c`: the
    /// character map is asked first, so a fallback search that passes over
    /// a face builds none of its shaping tables or outlines.
    pub fn open_if_has(path: &Path, index: u32, c: char) -> Result<Option<Face>, FontError> {
        let map = map_font_file(path)?;
        let has = ttf_parser::Face::parse(&map, index)
            .map_err(|e| {
                FontError(format!(
                    "{} is not a usable font: {}",
                    path.display(),
                    parse_error(e)
                ))
            })?
            .glyph_index(c)
            .is_some_and(|g| g.0 != 0);
        if !has {
            return Ok(None);
        }
        Face::new(Bytes::Mapped(map), index)
            .map(Some)
            .map_err(|e| FontError(format!("{} is not a usable font: {e}", path.display())))
    }

    fn new(bytes: Bytes, index: u32) -> Result<Face, FontError> {
        let data = bytes.as_slice();
        // SAFETY: the slice points into `bytes` (a static or a mapping that
        // is never remapped or unmapped while this Face lives); `shaper` is
        // declared before `bytes`, so it is dropped before they are, and it
        // is never handed out with the 'static lifetime.
        let data: &'static [u8] = unsafe { std::slice::from_raw_parts(data.as_ptr(), data.len()) };
        check_tables(data, index)?;
        let face = ttf_parser::Face::parse(data, index).map_err(|e| FontError(parse_error(e)))?;
        if face.tables().cmap.is_none() {
            return Err(FontError("the face has no character map (cmap)".into()));
        }
        let t = face.tables();
        let color = t.cbdt.is_some() || t.sbix.is_some() || t.colr.is_some();
        let simple = t.gsub.is_none_or(|g| g.lookups.is_empty())
            && t.gpos.is_none_or(|g| g.lookups.is_empty())
            && t.kern.is_none_or(|k| k.subtables.is_empty())
            && t.morx.is_none()
            && t.kerx.is_none()
            && t.trak.is_none();
        let family = family_name(&face).unwrap_or_default();
        let upem = face.units_per_em().max(1) as f32;
        let (ascender, descender) = (face.ascender() as f32, face.descender() as f32);
        let small = !color
            && data.len() <= FONTDUE_MAX_BYTES
            && face.number_of_glyphs() <= FONTDUE_MAX_GLYPHS;
        let fontdue = if small { Subset::new(&face) } else { None };
        let shaper = rustybuzz::Face::from_face(face);
        Ok(Face {
            shaper,
            fontdue,
            bytes,
            upem,
            ascender,
            descender,
            color,
            family,
            simple,
        })
    }

    /// The shaper's view of the face.
    pub fn shaper(&self) -> &rustybuzz::Face<'_> {
        &self.shaper
    }

    /// The glyph for `c`, if the face has one.
    pub fn glyph_index(&self, c: char) -> Option<u16> {
        self.shaper.glyph_index(c).map(|g| g.0).filter(|&g| g != 0)
    }

    /// The nominal advance of glyph `gid`, in font units.
    pub fn advance_units(&self, gid: u16) -> u16 {
        self.shaper.glyph_hor_advance(GlyphId(gid)).unwrap_or(0)
    }

    /// The nominal advance of `gid` at `px` pixels per em.
    pub fn advance(&self, gid: u16, px: f32) -> f32 {
        self.shaper.glyph_hor_advance(GlyphId(gid)).unwrap_or(0) as f32 * px / self.upem
    }

    /// Gives the kernel back the pages of the mapping touched so far (they
    /// stay in the page cache): a face read glyph by glyph over a week of
    /// window titles would otherwise keep every page it ever read resident.
    pub fn release_pages(&mut self) {
        if self.fontdue.as_mut().is_some_and(Subset::release) {
            // Its outlines were a few hundred small allocations spread over
            // the heap: give the pages back, not only the chunks.
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: malloc_trim only walks glibc's own arenas.
            unsafe {
                libc::malloc_trim(0);
            }
        }
        if let Bytes::Mapped(m) = &self.bytes {
            // SAFETY: the mapping is private and read-only: dropped pages
            // are read back from the file on the next access, unchanged.
            // A failure only means the pages stay resident.
            let _ = unsafe { m.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }

    /// Readies glyphs `gids` for rasterising (one fontdue subset rebuild for
    /// all those it lacks); nothing to do for a lazily parsed face.
    pub fn prepare(&mut self, gids: &[u16]) {
        if let Some(sub) = &mut self.fontdue {
            if gids.iter().any(|&g| !sub.has(g)) && !sub.ensure(&self.shaper, gids) {
                // A face that cannot be cut is drawn through the lazy path.
                self.fontdue = None;
            }
        }
    }

    /// Whether glyph `gid` needs [`Face::prepare`] before it is drawn
    /// cheaply (checked per drawn glyph: no heap, no parsing).
    pub fn needs_prepare(&self, gid: u16) -> bool {
        self.fontdue.as_ref().is_some_and(|s| !s.has(gid))
    }

    /// Rasterises glyph `gid` at `px` pixels per em, or `None` when the face
    /// has no drawing for it (a space, or a broken glyph).
    pub fn rasterize(&mut self, gid: u16, px: f32) -> Option<Glyph> {
        let advance = self.advance(gid, px).round() as i32;
        if self.color {
            if let Some(g) = self.raster_image(gid, px, advance) {
                return Some(g);
            }
        }
        self.outline(gid, px, advance)
    }

    fn outline(&mut self, gid: u16, px: f32, advance: i32) -> Option<Glyph> {
        self.prepare(&[gid]);
        if let Some(drawn) = self.fontdue.as_ref().and_then(|s| s.rasterize(gid, px)) {
            return fontdue_glyph(drawn, advance);
        }
        let mut rec = Recorder::default();
        let bbox = self.shaper.outline_glyph(GlyphId(gid), &mut rec);
        let bbox = match bbox {
            Some(b) => b,
            // COLR glyphs have no outline of their own: draw their layers'
            // outlines in the text colour.
            None if self.shaper.is_color_glyph(GlyphId(gid)) => {
                let mut layers = Layers {
                    face: &self.shaper,
                    rec: &mut rec,
                };
                let fg = ttf_parser::RgbaColor::new(0, 0, 0, 255);
                self.shaper
                    .paint_color_glyph(GlyphId(gid), 0, fg, &mut layers)?;
                rec.bbox()?
            }
            None => return None,
        };
        let s = px / self.upem;
        let x0 = (bbox.x_min as f32 * s).floor();
        let y1 = (bbox.y_max as f32 * s).ceil();
        let x1 = (bbox.x_max as f32 * s).ceil();
        let y0 = (bbox.y_min as f32 * s).floor();
        // A corrupt glyph may claim any box: never rasterise more than a few
        // ems, whatever it says (it is cut, not refused).
        let cap = (px * 4.0).max(8.0);
        let w = (x1 - x0).clamp(1.0, cap) as usize;
        let h = (y1 - y0).clamp(1.0, cap) as usize;
        let mut r = ab_glyph_rasterizer::Rasterizer::new(w, h);
        let tf = |x: f32, y: f32| ab_glyph_rasterizer::point(x * s - x0, y1 - y * s);
        rec.replay(&mut r, tf);
        let mut cov = vec![0u8; w * h];
        r.for_each_pixel(|i, a| {
            if let Some(c) = cov.get_mut(i) {
                *c = (a.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
            }
        });
        Some(Glyph {
            left: x0 as i32,
            top: -(y1 as i32),
            width: w as u32,
            height: h as u32,
            advance,
            coverage: cov.into_boxed_slice(),
            color: false,
        })
    }

    /// A colour bitmap glyph (CBDT/sbix), scaled from its strike to `px`.
    fn raster_image(&self, gid: u16, px: f32, advance: i32) -> Option<Glyph> {
        let img = self
            .shaper
            .glyph_raster_image(GlyphId(gid), px.round() as u16)?;
        let ppem = img.pixels_per_em.max(1) as f32;
        let (sw, sh, rgba) = match img.format {
            RasterImageFormat::PNG => decode_png(img.data)?,
            RasterImageFormat::BitmapPremulBgra32 => {
                let (w, h) = (img.width as usize, img.height as usize);
                if img.data.len() < w * h * 4 {
                    return None;
                }
                let mut out = img.data[..w * h * 4].to_vec();
                for p in out.chunks_exact_mut(4) {
                    p.swap(0, 2);
                }
                (w, h, out)
            }
            _ => return None,
        };
        let scale = px / ppem;
        let dw = ((sw as f32 * scale).round() as usize).clamp(1, (px * 4.0) as usize + 1);
        let dh = ((sh as f32 * scale).round() as usize).clamp(1, (px * 4.0) as usize + 1);
        let data = downscale(&rgba, sw, sh, dw, dh);
        // (x, y): the image's left and bottom edges at the strike's size,
        // relative to the pen and baseline, y up.
        let left = (img.x as f32 * scale).round() as i32;
        let bottom = (img.y as f32 * scale).round() as i32;
        Some(Glyph {
            left,
            top: -(bottom + dh as i32),
            width: dw as u32,
            height: dh as u32,
            advance,
            coverage: data.into_boxed_slice(),
            color: true,
        })
    }
}

/// A glyph fontdue rasterised (`None` for an empty one, a space).
fn fontdue_glyph(drawn: Option<(fontdue::Metrics, Vec<u8>)>, advance: i32) -> Option<Glyph> {
    let (m, coverage) = drawn?;
    Some(Glyph {
        left: m.xmin,
        top: -(m.ymin + m.height as i32),
        width: m.width as u32,
        height: m.height as u32,
        advance,
        coverage: coverage.into_boxed_slice(),
        color: false,
    })
}

/// Opens `path` as a font file may be opened: without blocking (a FIFO or a
/// device must not stall the loop), only a regular file, only of a size a
/// font can have; then maps it.
pub fn map_font_file(path: &Path) -> Result<memmap2::Mmap, FontError> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| FontError(format!("cannot read {}: {e}", path.display())))?;
    let meta = file
        .metadata()
        .map_err(|e| FontError(format!("cannot stat {}: {e}", path.display())))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let what = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_dir() {
            "a directory"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(FontError(format!(
            "{} is {what}, not a font file",
            path.display()
        )));
    }
    let len = meta.len();
    if len < 12 {
        return Err(FontError(format!(
            "{} is {len} bytes: too short for a font",
            path.display()
        )));
    }
    if len > MAX_FONT_BYTES {
        return Err(FontError(format!(
            "{} is {} MiB: larger than any font ({} MiB at most)",
            path.display(),
            len >> 20,
            MAX_FONT_BYTES >> 20
        )));
    }
    map_file(&file).map_err(|e| FontError(format!("cannot map {}: {e}", path.display())))
}

fn map_file(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: the mapping is read-only and private. Its one hazard is the
    // file shrinking under it (SIGBUS on access): fonts are package files
    // replaced by rename, never truncated in place.
    let map = unsafe { memmap2::Mmap::map(file) }?;
    // A face is read in small pieces far apart (table directory, character
    // map, a few outlines): the kernel's read-around of 128 KiB per fault
    // made opening Noto Sans CJK with a cold page cache ~18 ms, against ~2
    // ms reading only the pages touched. Only a hint: ignoring its failure
    // costs time, not correctness.
    let _ = map.advise(memmap2::Advice::Random);
    Ok(map)
}

/// Refuses a face whose table directory points past the end of the data (a
/// truncated file): ttf-parser would silently drop such tables.
fn check_tables(data: &[u8], index: u32) -> Result<(), FontError> {
    let raw = ttf_parser::RawFace::parse(data, index).map_err(|e| FontError(parse_error(e)))?;
    for rec in raw.table_records {
        let end = rec.offset as u64 + rec.length as u64;
        if end > data.len() as u64 {
            return Err(FontError(format!(
                "table `{}` ends at byte {end}, past the end of the data ({} bytes): truncated",
                rec.tag,
                data.len()
            )));
        }
    }
    Ok(())
}

fn parse_error(e: ttf_parser::FaceParsingError) -> String {
    use ttf_parser::FaceParsingError as E;
    match e {
        E::MalformedFont => "not a font (malformed data)".into(),
        E::UnknownMagic => "not a font (unknown file signature)".into(),
        E::FaceIndexOutOfBounds => "the collection has no face with that index".into(),
        other => format!("not a usable font: {other}"),
    }
}

/// The face's family name: the typographic family when present, else the
/// legacy one (Unicode or Mac Roman records).
pub fn family_name(face: &ttf_parser::Face) -> Option<String> {
    use ttf_parser::name_id;
    for id in [name_id::TYPOGRAPHIC_FAMILY, name_id::FAMILY] {
        for n in face.names() {
            if n.name_id == id {
                if let Some(s) = n.to_string() {
                    return Some(s);
                }
            }
        }
    }
    None
}

fn decode_png(data: &[u8]) -> Option<(usize, usize, Vec<u8>)> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(data));
    dec.set_transformations(
        png::Transformations::normalize_to_color8() | png::Transformations::ALPHA,
    );
    let mut reader = dec.read_info().ok()?;
    let info = reader.info();
    let (w, h) = (info.width as usize, info.height as usize);
    // Emoji strikes are about 136 px; anything huge is not one.
    if w == 0 || h == 0 || w > 1024 || h > 1024 {
        return None;
    }
    let mut buf = vec![0u8; reader.output_buffer_size()?];
    let frame = reader.next_frame(&mut buf).ok()?;
    let ch = match frame.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::GrayscaleAlpha => 2,
        _ => return None,
    };
    let mut out = vec![0u8; w * h * 4];
    for (i, p) in out.chunks_exact_mut(4).enumerate() {
        let s = &buf[i * ch..i * ch + ch];
        let (r, g, b, a) = if ch == 4 {
            (s[0], s[1], s[2], s[3])
        } else {
            (s[0], s[0], s[0], s[1])
        };
        let m = |c: u8| ((c as u32 * a as u32 + 127) / 255) as u8;
        p.copy_from_slice(&[m(r), m(g), m(b), a]);
    }
    Some((w, h, out))
}

/// Box-filter resampling of premultiplied RGBA `src` (`sw`×`sh`) to `dw`×`dh`.
fn downscale(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize) -> Vec<u8> {
    let mut out = vec![0u8; dw * dh * 4];
    for dy in 0..dh {
        let y0 = dy * sh / dh;
        let y1 = ((dy + 1) * sh / dh).max(y0 + 1).min(sh);
        for dx in 0..dw {
            let x0 = dx * sw / dw;
            let x1 = ((dx + 1) * sw / dw).max(x0 + 1).min(sw);
            let mut acc = [0u32; 4];
            for y in y0..y1 {
                for x in x0..x1 {
                    let i = (y * sw + x) * 4;
                    for k in 0..4 {
                        acc[k] += src[i + k] as u32;
                    }
                }
            }
            let n = ((y1 - y0) * (x1 - x0)).max(1) as u32;
            let o = (dy * dw + dx) * 4;
            for k in 0..4 {
                out[o + k] = ((acc[k] + n / 2) / n) as u8;
            }
        }
    }
    out
}

/// One outline command, in font units.
#[derive(Clone, Copy)]
enum Cmd {
    Move(f32, f32),
    Line(f32, f32),
    Quad(f32, f32, f32, f32),
    Cubic(f32, f32, f32, f32, f32, f32),
    Close,
}

/// An outline recorded so it can be replayed once its box is known.
#[derive(Default)]
struct Recorder {
    cmds: Vec<Cmd>,
}

impl Recorder {
    fn replay(
        &self,
        r: &mut ab_glyph_rasterizer::Rasterizer,
        tf: impl Fn(f32, f32) -> ab_glyph_rasterizer::Point,
    ) {
        let mut start = tf(0.0, 0.0);
        let mut last = start;
        for c in &self.cmds {
            match *c {
                Cmd::Move(x, y) => {
                    if last != start {
                        r.draw_line(last, start);
                    }
                    start = tf(x, y);
                    last = start;
                }
                Cmd::Line(x, y) => {
                    let p = tf(x, y);
                    r.draw_line(last, p);
                    last = p;
                }
                Cmd::Quad(x1, y1, x, y) => {
                    let p = tf(x, y);
                    r.draw_quad(last, tf(x1, y1), p);
                    last = p;
                }
                Cmd::Cubic(x1, y1, x2, y2, x, y) => {
                    let p = tf(x, y);
                    r.draw_cubic(last, tf(x1, y1), tf(x2, y2), p);
                    last = p;
                }
                Cmd::Close => {
                    if last != start {
                        r.draw_line(last, start);
                    }
                    last = start;
                }
            }
        }
        if last != start {
            r.draw_line(last, start);
        }
    }

    /// The box of every point recorded (for COLR layers, which carry none).
    fn bbox(&self) -> Option<ttf_parser::Rect> {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        let mut add = |x: f32, y: f32| {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        };
        for c in &self.cmds {
            match *c {
                Cmd::Move(x, y) | Cmd::Line(x, y) => add(x, y),
                Cmd::Quad(a, b, x, y) => {
                    add(a, b);
                    add(x, y)
                }
                Cmd::Cubic(a, b, c, d, x, y) => {
                    add(a, b);
                    add(c, d);
                    add(x, y)
                }
                Cmd::Close => {}
            }
        }
        let c = |v: f32| v.clamp(i16::MIN as f32, i16::MAX as f32) as i16;
        (x0 <= x1).then(|| ttf_parser::Rect {
            x_min: c(x0),
            y_min: c(y0),
            x_max: c(x1),
            y_max: c(y1),
        })
    }
}

/// Outlines past this many commands are not drawn further (a corrupt glyph
/// must not cost unbounded time).
const MAX_CMDS: usize = 20_000;

impl OutlineBuilder for Recorder {
    fn move_to(&mut self, x: f32, y: f32) {
        if self.cmds.len() < MAX_CMDS {
            self.cmds.push(Cmd::Move(x, y));
        }
    }
    fn line_to(&mut self, x: f32, y: f32) {
        if self.cmds.len() < MAX_CMDS {
            self.cmds.push(Cmd::Line(x, y));
        }
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        if self.cmds.len() < MAX_CMDS {
            self.cmds.push(Cmd::Quad(x1, y1, x, y));
        }
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        if self.cmds.len() < MAX_CMDS {
            self.cmds.push(Cmd::Cubic(x1, y1, x2, y2, x, y));
        }
    }
    fn close(&mut self) {
        if self.cmds.len() < MAX_CMDS {
            self.cmds.push(Cmd::Close);
        }
    }
}

/// A COLR painter that keeps only the layers' outlines (one colour).
struct Layers<'a, 'f> {
    face: &'a ttf_parser::Face<'f>,
    rec: &'a mut Recorder,
}

impl<'a> ttf_parser::colr::Painter<'a> for Layers<'_, '_> {
    fn outline_glyph(&mut self, glyph_id: GlyphId) {
        self.face.outline_glyph(glyph_id, self.rec);
    }
    fn paint(&mut self, _: ttf_parser::colr::Paint<'a>) {}
    fn push_clip(&mut self) {}
    fn push_clip_box(&mut self, _: ttf_parser::colr::ClipBox) {}
    fn pop_clip(&mut self) {}
    fn push_layer(&mut self, _: ttf_parser::colr::CompositeMode) {}
    fn pop_layer(&mut self) {}
    fn push_transform(&mut self, _: ttf_parser::Transform) {}
    fn pop_transform(&mut self) {}
}

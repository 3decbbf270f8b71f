//! Text: faces by family through the system's fontconfig configuration, a
//! fallback face per character, shaping per run and face (rustybuzz), bidi
//! visual order, colour bitmap glyphs, and a glyph cache keyed by (face,
//! glyph id, size) with a byte budget.
//!
//! Order in which a character's face is chosen (once per character, then
//! remembered): for emoji presentation, colour faces first; the chosen
//! families in order; faces already loaded for earlier fallbacks; the
//! installed faces (icon faces first for the Private Use Area, then the
//! `sans-serif` alias's families, then every other family); the embedded
//! face last. Only when no face has it is a box drawn, and counted.

pub mod face;
mod fonts;
mod index;
mod lru;
mod shape;
mod subset;
pub mod system;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::PathBuf;
use std::time::Duration;

pub use face::{Face, FontError, Glyph, MAX_FONT_BYTES};
pub use fonts::{FontId, MAX_FONTS};
pub use shape::{round_px, Placed, Shaped};
pub use system::{IndexAt, Installed, SystemFonts};

use lru::{GlyphKey, Lru};

/// The font embedded in the binary (a subset of DejaVu Sans Mono, see
/// `fonts/README.md`).
pub static DEFAULT_FONT: &[u8] = include_bytes!("../../../fonts/DejaVuSansMono-subset.ttf");

/// Characters rasterised at start-up: printable ASCII plus the few symbols
/// the built-in modules use.
pub const WARM_CHARS: &str = " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~°·";

/// Bytes of rasterised glyphs kept (least recently used out first): a few
/// thousand glyphs at bar sizes, so a week of new window titles does not
/// grow the bar.
pub const GLYPH_BUDGET: usize = 256 << 10;

/// Characters whose face is remembered before the memory is cleared (and
/// rebuilt from the loaded faces, which is cheap).
const MEMO_CAP: usize = 4096;

/// Faces loaded for fallback, at most (each is a mapping, not a copy).
const MAX_FACES: usize = 48;

/// Lines about characters no face has, at most, per font set.
const MAX_MISSING_REPORTS: u32 = 4;

/// Index of a loaded face.
pub type FaceId = u16;

/// The face id that marks the missing-glyph box.
pub const NO_FACE: FaceId = u16::MAX;

/// Vertical metrics of the font at one size, whole pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineMetrics {
    /// Baseline to the top of the tallest glyphs.
    pub ascent: i32,
    /// Baseline to the bottom of the lowest glyphs (positive).
    pub descent: i32,
}

/// What the user asked for: a file, or families in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FontChoice {
    /// Family names or fontconfig aliases (`monospace`, `sans-serif`), in order.
    pub families: Vec<String>,
    /// A font file, tried before the families.
    pub path: Option<PathBuf>,
    /// Face index in a collection file.
    pub index: u32,
    /// OS/2 weight (400 regular, 700 bold).
    pub weight: u16,
    /// An italic (or oblique) face is wanted.
    pub italic: bool,
    /// OS/2 width class wanted (5 normal, 3 condensed); 0: normal.
    pub width: u16,
}

/// Cheap hasher for small integer keys: SipHash would cost more than the
/// lookup saves, and the keys are not attacker-chosen.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_u16(&mut self, n: u16) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// Marks a simple character whose face is not decided yet.
const UNSEEN: FaceId = u16::MAX - 1;

/// Entries of the simple characters' table (U+0000 to the last simple one).
const SIMPLE_SLOTS: usize = shape::SIMPLE_END as usize + 1;

/// What was decided per character: its face and glyph there. The simple
/// characters — Latin and its symbols, the digits and units a steady tick
/// rewrites — sit in a table with the glyph's advance in font units, so
/// reshaping changed figures needs no hashing and no metrics read; the rest
/// in a map. The table is boxed: font sets swap memories by pointer.
#[derive(Clone)]
pub(super) struct Memo {
    simple: Box<[(FaceId, u16, u16); SIMPLE_SLOTS]>,
    map: FastMap<char, (FaceId, u16)>,
}

impl Default for Memo {
    fn default() -> Memo {
        Memo {
            simple: Box::new([(UNSEEN, 0, 0); SIMPLE_SLOTS]),
            map: FastMap::default(),
        }
    }
}

impl Memo {
    fn get(&self, c: char) -> Option<(FaceId, u16)> {
        match self.simple.get(c as usize) {
            Some(&(f, g, _)) => (f != UNSEEN).then_some((f, g)),
            None => self.map.get(&c).copied(),
        }
    }

    /// The face, glyph and advance (font units) of a simple character
    /// already decided.
    #[inline]
    fn simple(&self, c: char) -> Option<(FaceId, u16, u16)> {
        self.simple
            .get(c as usize)
            .copied()
            .filter(|e| e.0 != UNSEEN)
    }

    fn insert(&mut self, c: char, (face, gid): (FaceId, u16), advance: u16) {
        if let Some(e) = self.simple.get_mut(c as usize) {
            *e = (face, gid, advance);
            return;
        }
        if self.map.len() >= MEMO_CAP {
            self.map.clear();
        }
        self.map.insert(c, (face, gid));
    }
}

/// The faces in use, every glyph drawn from them so far (within a budget),
/// and the installed faces to fall back to.
pub struct GlyphCache {
    faces: Vec<Face>,
    /// The chosen faces in order, then the embedded one.
    chain: Vec<FaceId>,
    /// The primary face: line metrics come from it.
    primary: FaceId,
    /// The installed faces with their names, while fonts are being chosen
    /// (empty once [`GlyphCache::fonts_chosen`] dropped them).
    system: SystemFonts,
    /// What fallback keeps of them, in the same order.
    installed: Installed,
    /// The names were dropped: a family named later is looked up in the
    /// index read again.
    names_dropped: bool,
    /// Installed faces in the order they are asked, and which are loaded.
    fallback: Vec<usize>,
    loaded: Vec<(usize, FaceId)>,
    /// System faces that failed to load (not asked again).
    broken: Vec<usize>,
    /// Character → its face and glyph there, decided once.
    memo: Memo,
    glyphs: Lru,
    shaper: shape::Shaper,
    /// Where popups' lines are shaped (kept: their ticks allocate nothing).
    line: Shaped,
    /// Boxes drawn for characters no face has (the renderer counts them).
    boxes: u64,
    missing_reported: u32,
    /// New pages of some mapping were read since the last release.
    touched: bool,
    /// Text was shaped (layout tables read) since the last release, and
    /// when that was: a title changing many times a second must not pay
    /// the madvise on every frame.
    shaped: bool,
    released: Option<std::time::Instant>,
    /// The embedded face is asked before the installed ones (no font was
    /// named), and these are found only when it lacks a character: the
    /// weight to find them at, until then.
    embedded_first: bool,
    discover_at: Option<u16>,
    /// Other fonts' chosen faces (`fonts.rs`): slot 0 keeps the bar's
    /// while another set is in use; `active` is the one in the fields above.
    sets: Vec<fonts::FontSet>,
    active: FontId,
    /// Families a style named that are not installed (said once each).
    not_installed: Vec<String>,
    /// The other images segments show (the tray's icons): rasterised once
    /// per size like glyphs, kept here so they reach every renderer the
    /// glyphs do.
    pub icons: crate::render::icon::Icons,
}

impl GlyphCache {
    /// A cache over the embedded default font alone.
    pub fn with_default_font() -> GlyphCache {
        // The embedded font is known-good (a test parses it), so failing here
        // would be a build defect, not a runtime condition.
        let face = Face::from_static(DEFAULT_FONT, 0).expect("embedded font parses");
        GlyphCache::from_faces(vec![face], SystemFonts::default())
    }

    /// No font named: the embedded face draws, and the installed faces (at
    /// `weight`) are looked up — fontconfig's configuration read, their
    /// names indexed — only when it lacks a character, so a bar of digits
    /// and Latin text never reads them.
    pub fn embedded_then_installed(weight: u16) -> GlyphCache {
        let mut cache = GlyphCache::with_default_font();
        cache.embedded_first = true;
        cache.discover_at = Some(weight);
        cache
    }

    /// A cache over the TTF/OTF `data` alone (no fallback).
    pub fn from_bytes(data: &'static [u8]) -> Result<GlyphCache, FontError> {
        let face = Face::from_static(data, 0)?;
        Ok(GlyphCache::from_faces(vec![face], SystemFonts::default()))
    }

    /// A cache over `data`, falling back to the embedded font.
    pub fn with_fallback(data: &'static [u8]) -> Result<GlyphCache, FontError> {
        let face = Face::from_static(data, 0)?;
        let emb = Face::from_static(DEFAULT_FONT, 0)?;
        Ok(GlyphCache::from_faces(
            vec![face, emb],
            SystemFonts::default(),
        ))
    }

    /// The faces `choice` names, resolved against the installed `system`
    /// fonts, which also serve as fallback; the embedded face comes last.
    /// A file that cannot be used is an error; a family that is not installed
    /// is reported on stderr once, and the next one (or the embedded face)
    /// used instead.
    pub fn load(choice: &FontChoice, system: SystemFonts) -> Result<GlyphCache, FontError> {
        let mut faces = Vec::new();
        let mut from_system = Vec::new();
        if let Some(p) = &choice.path {
            faces.push(Face::open(p, choice.index)?);
        }
        let weight = if choice.weight == 0 {
            400
        } else {
            choice.weight
        };
        let (italic, width) = (choice.italic, choice.width);
        for fam in &choice.families {
            let found = system.find_style(fam, weight, italic, width).or_else(|| {
                system
                    .expand(fam)
                    .iter()
                    .find_map(|f| system.find_style(f, weight, italic, width))
            });
            let Some(info) = found else {
                let instead = faces
                    .first()
                    .map(|f: &Face| f.family.clone())
                    .or_else(|| {
                        system
                            .resolve("sans-serif", weight)
                            .map(|f| f.family.clone())
                    })
                    .unwrap_or_else(|| "the embedded font".into());
                eprintln!("rstat: font family `{fam}` is not installed; using {instead}");
                continue;
            };
            let idx = system
                .faces
                .iter()
                .position(|f| f.path == info.path && f.index == info.index);
            match Face::open(&info.path, info.index) {
                Ok(f) => {
                    faces.push(f);
                    if let Some(i) = idx {
                        system.check_opened(i);
                    }
                    from_system.push(idx);
                }
                Err(e) => eprintln!("rstat: font family `{fam}`: {e}"),
            }
        }
        let n_chosen = faces.len();
        faces.push(Face::from_static(DEFAULT_FONT, 0)?);
        let mut cache = GlyphCache::from_faces(faces, system);
        cache.fallback = cache.system.fallback_order(weight);
        // A chosen system face is also "loaded": fallback does not map it twice.
        for (i, idx) in from_system.into_iter().enumerate() {
            if let Some(idx) = idx {
                let id = i + usize::from(choice.path.is_some());
                if id < n_chosen {
                    cache.loaded.push((idx, id as FaceId));
                }
            }
        }
        Ok(cache)
    }

    fn from_faces(faces: Vec<Face>, system: SystemFonts) -> GlyphCache {
        let chain = (0..faces.len() as FaceId).collect();
        GlyphCache {
            faces,
            chain,
            primary: 0,
            installed: Installed::of(&system),
            system,
            names_dropped: false,
            fallback: Vec::new(),
            loaded: Vec::new(),
            broken: Vec::new(),
            memo: Memo::default(),
            glyphs: Lru::new(GLYPH_BUDGET),
            shaper: shape::Shaper::default(),
            line: Shaped::with_capacity(64),
            boxes: 0,
            missing_reported: 0,
            touched: false,
            shaped: false,
            released: None,
            embedded_first: false,
            discover_at: None,
            sets: Vec::new(),
            active: 0,
            not_installed: Vec::new(),
            icons: crate::render::icon::Icons::default(),
        }
    }

    /// How long discovering the installed fonts took (zero without).
    pub fn discovery_time(&self) -> Duration {
        self.installed.scan_time
    }

    /// How many installed faces discovery found.
    pub fn installed_faces(&self) -> usize {
        self.installed.len()
    }

    /// The bar's faces (and its styles') are chosen: drop the installed
    /// faces' names, styles and the aliases, keeping what fallback per
    /// character needs ([`Installed`]). A family named after this (markup's
    /// `font_family`) is resolved against the index read again.
    pub fn fonts_chosen(&mut self) {
        self.system = SystemFonts::default();
        self.names_dropped = true;
    }

    /// Takes `sys` as the installed faces, fallback asked at `weight`.
    fn set_system(&mut self, sys: SystemFonts, weight: u16) {
        self.fallback = sys.fallback_order(weight);
        self.installed = Installed::of(&sys);
        if !self.names_dropped {
            self.system = sys;
        }
    }

    /// Family names of the faces loaded so far (chosen, then fallbacks).
    pub fn loaded_families(&self) -> Vec<&str> {
        self.faces.iter().map(|f| f.family.as_str()).collect()
    }

    /// Missing-glyph boxes drawn so far.
    pub fn boxes_drawn(&self) -> u64 {
        self.boxes
    }

    /// Rasterises every character of `chars` at `px` now, so ticks find them.
    pub fn warm(&mut self, chars: &str, px: u16) {
        let mut by_face: Vec<(FaceId, u16)> = chars
            .chars()
            .map(|c| self.glyph_for(c, is_emoji(c)))
            .collect();
        self.prepare(&mut by_face);
        for c in chars.chars() {
            self.glyph(c, px);
        }
    }

    /// How many glyphs are cached (for tests and start-up reporting).
    pub fn len(&self) -> usize {
        self.glyphs.len()
    }

    /// True when nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.glyphs.len() == 0
    }

    /// Bytes the cached glyphs hold.
    pub fn cached_bytes(&self) -> usize {
        self.glyphs.bytes()
    }

    /// Ascent and descent at `px`, from the primary face.
    pub fn line_metrics(&self, px: u16) -> LineMetrics {
        let f = &self.faces[self.primary as usize];
        let s = px as f32 / f.upem;
        let (a, d) = (f.ascender * s, -f.descender * s);
        if a <= 0.0 {
            // A face without sane metrics: the usual proportions of a Latin face.
            return LineMetrics {
                ascent: (px as f32 * 0.8).round() as i32,
                descent: (px as f32 * 0.2).round() as i32,
            };
        }
        LineMetrics {
            ascent: a.round() as i32,
            descent: d.round() as i32,
        }
    }

    /// The face to draw `c` with, decided once and remembered; `NO_FACE`
    /// when no face has it.
    pub fn face_for(&mut self, c: char, emoji: bool) -> FaceId {
        self.glyph_for(c, emoji).0
    }

    /// The face to draw `c` with and its glyph there (0 with `NO_FACE`).
    pub fn glyph_for(&mut self, c: char, emoji: bool) -> (FaceId, u16) {
        if let Some(f) = self.memo.get(c) {
            return f;
        }
        let face = self.choose_face(c, emoji);
        let (gid, advance) = match self.faces.get(face as usize) {
            Some(f) => {
                let gid = f.glyph_index(c).unwrap_or(0);
                (gid, f.advance_units(gid))
            }
            None => (0, 0),
        };
        self.memo.insert(c, (face, gid), advance);
        (face, gid)
    }

    fn has(&self, id: FaceId, c: char) -> bool {
        self.faces[id as usize].glyph_index(c).is_some()
    }

    fn choose_face(&mut self, c: char, emoji: bool) -> FaceId {
        if c.is_control() {
            return NO_FACE;
        }
        if emoji {
            let colour = (0..self.faces.len() as FaceId)
                .find(|&i| self.faces[i as usize].color && self.has(i, c));
            if let Some(i) = colour {
                return i;
            }
            if let Some(i) = self.search_system(c, |f| f.color) {
                return i;
            }
        }
        // Asking a face's character map reads its pages: hand them back
        // after the frame.
        self.touched = true;
        // The chosen faces, but not the embedded one yet — unless it is the
        // chosen one (no font named, or none of those named installed).
        let n = if self.embedded_first || self.chain.len() == 1 {
            self.chain.len()
        } else {
            self.chain.len().saturating_sub(1)
        };
        for k in 0..n {
            let id = self.chain[k];
            if self.has(id, c) {
                return id;
            }
        }
        for k in 0..self.loaded.len() {
            let id = self.loaded[k].1;
            if self.has(id, c) {
                return id;
            }
        }
        if is_private_use(c) {
            if let Some(i) = self.search_system(c, |f| f.is_symbol()) {
                return i;
            }
        }
        if let Some(i) = self.search_system(c, |f| !f.color) {
            return i;
        }
        if let Some(&emb) = self.chain.last() {
            if self.has(emb, c) {
                return emb;
            }
        }
        if !emoji {
            if let Some(i) = self.search_system(c, |f| f.color) {
                return i;
            }
        }
        NO_FACE
    }

    /// Asks the installed faces that pass `want`, in fallback order, for `c`;
    /// loads the first that has it.
    fn search_system(&mut self, c: char, want: impl Fn(&system::Slim) -> bool) -> Option<FaceId> {
        if self.faces.len() >= MAX_FACES {
            return None;
        }
        if let Some(weight) = self.discover_at.take() {
            self.set_system(SystemFonts::discover(), weight);
        }
        for k in 0..self.fallback.len() {
            let si = self.fallback[k];
            let Some(info) = self.installed.get(si) else {
                continue;
            };
            if !self.installed.covers(info, c) || !want(info) || self.broken.contains(&si) {
                continue;
            }
            if self.loaded.iter().any(|&(s, _)| s == si) {
                continue;
            }
            self.touched = true;
            let face = match Face::open_if_has(self.installed.path(info), info.index, c) {
                Ok(Some(face)) => face,
                Ok(None) => continue,
                Err(_) => {
                    self.broken.push(si);
                    continue;
                }
            };
            self.installed.check_opened(si);
            let id = self.faces.len() as FaceId;
            self.faces.push(face);
            self.loaded.push((si, id));
            return Some(id);
        }
        None
    }

    /// The glyph for `c` at `px` (unshaped: popups, tables), rasterising it
    /// on first use; a character no face has is the shared box.
    pub fn glyph(&mut self, c: char, px: u16) -> &Glyph {
        let (face, gid) = match self.memo.get(c) {
            Some(fg) => fg,
            None => self.glyph_for(c, is_emoji(c)),
        };
        let face = if gid == 0 && !c.is_whitespace() {
            NO_FACE
        } else {
            face
        };
        self.glyph_id(face, gid, px)
    }

    /// Glyph `gid` of face `face` at `px` (`NO_FACE`: the missing-glyph box).
    pub fn glyph_id(&mut self, face: FaceId, gid: u16, px: u16) -> &Glyph {
        let key = GlyphKey { face, gid, px };
        let i = match self.glyphs.find(key) {
            Some(i) => i,
            None => {
                let g = self.rasterize(key);
                self.glyphs.insert(key, g)
            }
        };
        self.glyphs.slot(i)
    }

    fn rasterize(&mut self, key: GlyphKey) -> Glyph {
        let px = key.px as f32;
        if key.face == NO_FACE || key.face as usize >= self.faces.len() {
            return tofu(&self.faces[self.primary as usize], key.px);
        }
        self.touched = true;
        let f = &mut self.faces[key.face as usize];
        f.rasterize(key.gid, px).unwrap_or_else(|| Glyph {
            left: 0,
            top: 0,
            width: 0,
            height: 0,
            advance: f.advance(key.gid, px).round() as i32,
            coverage: Box::new([]),
            color: false,
        })
    }

    /// Readies the glyphs `placed` for drawing: faces rasterised through a
    /// fontdue subset get every glyph they lack at once (sorts `placed`).
    fn prepare(&mut self, placed: &mut [(FaceId, u16)]) {
        placed.sort_unstable();
        let mut gids = Vec::new();
        for run in placed.chunk_by(|a, b| a.0 == b.0) {
            let Some(face) = self.faces.get_mut(run[0].0 as usize) else {
                continue;
            };
            gids.clear();
            gids.extend(run.iter().map(|p| p.1).filter(|&g| face.needs_prepare(g)));
            if !gids.is_empty() {
                face.prepare(&gids);
            }
        }
    }

    /// Readies the glyphs of shaped text for drawing (see `prepare`):
    /// nothing is allocated when every glyph is ready, as in a steady tick.
    pub(crate) fn prepare_shaped(&mut self, shaped: &Shaped) {
        let needs = |g: &Placed| {
            self.faces
                .get(g.face as usize)
                .is_some_and(|f| f.needs_prepare(g.gid))
        };
        if !shaped.glyphs.iter().any(needs) {
            return;
        }
        let mut placed: Vec<(FaceId, u16)> = shaped
            .glyphs
            .iter()
            .filter(|g| needs(g))
            .map(|g| (g.face, g.gid))
            .collect();
        self.prepare(&mut placed);
    }

    /// Counts a missing-glyph box drawn for `c` (and says so on stderr, the
    /// first few times).
    pub(crate) fn count_box(&mut self, c: Option<char>) {
        self.boxes += 1;
        if self.missing_reported < MAX_MISSING_REPORTS {
            self.missing_reported += 1;
            match c {
                Some(c) => eprintln!(
                    "rstat: no installed font has U+{:04X}; drawn as a box",
                    c as u32
                ),
                None => eprintln!("rstat: a glyph is missing; drawn as a box"),
            }
        }
    }

    /// Width in whole pixels of `text` shaped at `px` (popups' columns and
    /// menus), through a buffer kept between calls: no allocation once it
    /// has grown to the longest line.
    pub fn text_width(&mut self, text: &str, px: u16) -> i32 {
        let mut line = self.take_line();
        self.shape(text, px, &mut line);
        let w = line.width_px();
        self.put_line(line);
        w
    }

    /// The kept line buffer (see [`crate::render::line`]); hand it back
    /// with [`GlyphCache::put_line`] so its room is reused.
    pub(crate) fn take_line(&mut self) -> Shaped {
        std::mem::take(&mut self.line)
    }

    /// Returns the line buffer taken by [`GlyphCache::take_line`].
    pub(crate) fn put_line(&mut self, line: Shaped) {
        self.line = line;
    }

    /// Width in whole pixels of `text` shaped at `px`, as the bar lays out
    /// a segment (allocates: for tests and start-up, not ticks).
    pub fn shaped_width(&mut self, text: &str, px: u16) -> i32 {
        let mut s = Shaped::default();
        self.shape(text, px, &mut s);
        s.width_px()
    }

    /// Gives back the pages of the font mappings read since the last call
    /// (they stay in the page cache): call after a frame that drew new text.
    pub fn release_pages(&mut self) {
        let shaped_long_ago = self.shaped
            && self
                .released
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
        if std::mem::take(&mut self.touched) || shaped_long_ago {
            self.shaped = false;
            self.released = Some(std::time::Instant::now());
            for f in &mut self.faces {
                f.release_pages();
            }
        }
    }
}

/// The Private Use Areas (BMP, planes 15 and 16), where icon fonts live.
pub fn is_private_use(c: char) -> bool {
    matches!(c as u32, 0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD)
}

/// Characters drawn as emoji by default (Unicode's Emoji_Presentation, the
/// blocks and the BMP code points that have it).
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1F0FF | 0x1F18E | 0x1F191..=0x1F19A | 0x1F1E6..=0x1F1FF
        | 0x1F200..=0x1F2FF | 0x1F300..=0x1F64F | 0x1F680..=0x1F6FF
        | 0x1F7E0..=0x1F7EB | 0x1F90C..=0x1F9FF | 0x1FA70..=0x1FAFF
        | 0x231A | 0x231B | 0x23E9..=0x23EC | 0x23F0 | 0x23F3 | 0x25FD | 0x25FE
        | 0x2614 | 0x2615 | 0x2648..=0x2653 | 0x267F | 0x2693 | 0x26A1 | 0x26AA
        | 0x26AB | 0x26BD | 0x26BE | 0x26C4 | 0x26C5 | 0x26CE | 0x26D4 | 0x26EA
        | 0x26F2 | 0x26F3 | 0x26F5 | 0x26FA | 0x26FD | 0x2705 | 0x270A | 0x270B
        | 0x2728 | 0x274C | 0x274E | 0x2753..=0x2755 | 0x2757 | 0x2795..=0x2797
        | 0x27B0 | 0x27BF | 0x2B1B | 0x2B1C | 0x2B50 | 0x2B55)
}

/// The missing-glyph box: hollow, as wide as a digit and as tall as a
/// capital, so a strange process name still shows *something*.
fn tofu(face: &Face, px: u16) -> Glyph {
    let s = px as f32 / face.upem;
    let digit = face
        .glyph_index('0')
        .map(|g| face.advance(g, px as f32))
        .unwrap_or(px as f32 * 0.6);
    let advance = digit.round().max(3.0) as i32;
    let cap = ((face.ascender * s * 0.75).round() as u32).max(3);
    let width = (advance as u32).saturating_sub(2).max(3);
    let mut coverage = vec![0u8; (width * cap) as usize];
    for y in 0..cap {
        for x in 0..width {
            if x == 0 || y == 0 || x == width - 1 || y == cap - 1 {
                coverage[(y * width + x) as usize] = 255;
            }
        }
    }
    Glyph {
        left: 1,
        top: -(cap as i32),
        width,
        height: cap,
        advance,
        coverage: coverage.into_boxed_slice(),
        color: false,
    }
}

#[cfg(test)]
mod tests;

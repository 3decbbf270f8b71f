//! fontdue over the glyphs in use: a small TrueType face is cut down to the
//! glyphs drawn so far (plus the components of composite ones), renumbered
//! densely, and handed to fontdue, which then parses and keeps only those.
//!
//! fontdue keeps every outline of a face it loads, flattened into lines:
//! about 2 KiB per glyph (the embedded face's 534 glyphs cost 1.1 MiB, Font
//! Awesome's 707 icons 3.9 MiB), whatever the bar draws. A subset of the
//! hundred glyphs a bar shows costs a fifth of that. A glyph not in the
//! subset yet makes a new one (every glyph a frame needs at once, so one
//! rebuild per new title, not per glyph); past [`MAX_KEPT`] glyphs the
//! subset starts again from the glyphs asked for, whose bitmaps the glyph
//! cache holds anyway. After a frame fontdue's parse is dropped (the glyph
//! cache holds what was drawn), and parsed again, from the same glyphs, for
//! the next glyph to rasterise.

use rustybuzz::ttf_parser::{self, GlyphId, Tag};

/// Glyphs a subset holds, at most, before it starts again (fontdue's cost
/// is about 2 KiB a glyph; rebuilding costs about 2 µs a glyph).
const MAX_KEPT: usize = 256;

/// Levels of composite glyphs followed (a loop in a corrupt face stops here).
const MAX_DEPTH: u32 = 8;

/// fontdue over a subset of one face's glyphs.
pub(super) struct Subset {
    font: Option<fontdue::Font>,
    /// Original glyph id → index in the subset + 1 (0: not in it).
    index: Vec<u16>,
    /// Original glyph ids in subset order.
    kept: Vec<u16>,
    /// Subset builds so far (tests: batching works).
    pub(super) builds: u32,
}

impl Subset {
    /// An empty subset of a face of `glyphs` glyphs (`None` when the face
    /// has no `glyf` outlines fontdue could be given this way).
    pub(super) fn new(face: &ttf_parser::Face<'_>) -> Option<Subset> {
        let raw = face.raw_face();
        for t in [b"glyf", b"loca", b"head", b"hhea", b"maxp"] {
            raw.table(Tag::from_bytes(t))?;
        }
        Some(Subset {
            font: None,
            index: vec![0; face.number_of_glyphs() as usize],
            kept: Vec::new(),
            builds: 0,
        })
    }

    /// Whether glyph `gid` can be rasterised without a rebuild.
    pub(super) fn has(&self, gid: u16) -> bool {
        self.index.get(gid as usize).is_some_and(|&i| i != 0)
    }

    /// Makes every glyph of `gids` available, rebuilding the subset at most
    /// once. False when the face could not be cut (the caller draws those
    /// glyphs another way).
    pub(super) fn ensure(&mut self, face: &ttf_parser::Face<'_>, gids: &[u16]) -> bool {
        let missing = gids
            .iter()
            .filter(|&&g| (g as usize) < self.index.len() && !self.has(g))
            .count();
        if missing == 0 {
            if self.font.is_none() && !gids.is_empty() {
                // Dropped after the last frame: the same glyphs again.
                let kept = std::mem::take(&mut self.kept);
                return self.build(face, kept);
            }
            return self.font.is_some() || gids.is_empty();
        }
        let mut want: Vec<u16> = Vec::with_capacity(self.kept.len() + missing);
        if self.kept.len() + missing <= MAX_KEPT {
            want.extend_from_slice(&self.kept);
        }
        want.extend(
            gids.iter()
                .copied()
                .filter(|&g| (g as usize) < self.index.len()),
        );
        self.build(face, want)
    }

    fn build(&mut self, face: &ttf_parser::Face<'_>, want: Vec<u16>) -> bool {
        self.builds += 1;
        for &g in self.kept.iter().chain(&want) {
            if let Some(slot) = self.index.get_mut(g as usize) {
                *slot = 0;
            }
        }
        self.kept.clear();
        self.font = None;
        let Some(glyf) = Glyf::of(face) else {
            return false;
        };
        // Notdef first (fontdue and ttf-parser expect glyph 0 to exist),
        // then the glyphs asked for and, after them, their components.
        let mut order = vec![0u16];
        self.index[0] = 1;
        let mut i = 0;
        let add = |g: u16, order: &mut Vec<u16>, index: &mut Vec<u16>| {
            if let Some(slot) = index.get_mut(g as usize) {
                if *slot == 0 {
                    order.push(g);
                    *slot = order.len() as u16;
                }
            }
        };
        for &g in &want {
            add(g, &mut order, &mut self.index);
        }
        let mut depth_end = order.len();
        let mut depth = 0;
        while i < order.len() && depth <= MAX_DEPTH {
            let data = glyf.data(order[i]);
            for c in components(data) {
                add(c.gid, &mut order, &mut self.index);
            }
            i += 1;
            if i == depth_end {
                depth += 1;
                depth_end = order.len();
            }
        }
        self.kept = order;
        let bytes = match self.sfnt(face, &glyf) {
            Some(b) => b,
            None => return false,
        };
        self.font = fontdue::Font::from_bytes(bytes, fontdue::FontSettings::default()).ok();
        self.font.is_some()
    }

    /// Drops fontdue's parse (the glyphs drawn from it are in the glyph
    /// cache); the next glyph to rasterise parses the same subset again.
    /// True when there was one to drop.
    pub(super) fn release(&mut self) -> bool {
        self.font.take().is_some()
    }

    /// Glyph `gid` rasterised at `px`: `None` when it is not in the subset,
    /// `Some(None)` when it is and draws nothing (a space).
    pub(super) fn rasterize(
        &self,
        gid: u16,
        px: f32,
    ) -> Option<Option<(fontdue::Metrics, Vec<u8>)>> {
        let font = self.font.as_ref()?;
        let i = *self.index.get(gid as usize)?;
        if i == 0 {
            return None;
        }
        let (m, cov) = font.rasterize_indexed(i - 1, px);
        Some((m.width > 0 && m.height > 0).then_some((m, cov)))
    }

    /// The subset as a TrueType file: head, hhea, maxp, hmtx, loca, glyf,
    /// and a character map from the Private Use Area to every glyph (fontdue
    /// loads only the glyphs some character maps to; it is then asked by
    /// glyph index only).
    fn sfnt(&self, face: &ttf_parser::Face<'_>, glyf: &Glyf<'_>) -> Option<Vec<u8>> {
        let raw = face.raw_face();
        let n = self.kept.len();
        let mut glyf_out = Vec::new();
        let mut loca = Vec::with_capacity((n + 1) * 4);
        for &g in &self.kept {
            loca.extend_from_slice(&(glyf_out.len() as u32).to_be_bytes());
            let start = glyf_out.len();
            glyf_out.extend_from_slice(glyf.data(g));
            // Components point at the subset's numbering.
            for c in components(glyf.data(g)) {
                let new = self.index.get(c.gid as usize).copied().unwrap_or(0);
                let at = start + c.at;
                if new != 0 && at + 2 <= glyf_out.len() {
                    glyf_out[at..at + 2].copy_from_slice(&(new - 1).to_be_bytes());
                }
            }
            while glyf_out.len() % 4 != 0 {
                glyf_out.push(0);
            }
        }
        loca.extend_from_slice(&(glyf_out.len() as u32).to_be_bytes());
        let mut hmtx = Vec::with_capacity(n * 4);
        for &g in &self.kept {
            let adv = face.glyph_hor_advance(GlyphId(g)).unwrap_or(0);
            let lsb = face.glyph_hor_side_bearing(GlyphId(g)).unwrap_or(0);
            hmtx.extend_from_slice(&adv.to_be_bytes());
            hmtx.extend_from_slice(&lsb.to_be_bytes());
        }
        let mut head = raw.table(Tag::from_bytes(b"head"))?.to_vec();
        let mut hhea = raw.table(Tag::from_bytes(b"hhea"))?.to_vec();
        let mut maxp = raw.table(Tag::from_bytes(b"maxp"))?.to_vec();
        // head.indexToLocFormat (offset 50): long offsets.
        put_u16(&mut head, 50, 1)?;
        // hhea.numberOfHMetrics (offset 34), maxp.numGlyphs (offset 4).
        put_u16(&mut hhea, 34, n as u16)?;
        put_u16(&mut maxp, 4, n as u16)?;
        let mut cmap = Vec::with_capacity(22 + 2 * n);
        // Version 0, one subtable: Windows Unicode BMP, format 6 (a trimmed
        // array) at offset 12, from U+E000, glyph i for U+E000 + i.
        for v in [0u16, 1, 3, 1] {
            cmap.extend_from_slice(&v.to_be_bytes());
        }
        cmap.extend_from_slice(&12u32.to_be_bytes());
        for v in [6u16, (10 + 2 * n) as u16, 0, 0xE000, n as u16] {
            cmap.extend_from_slice(&v.to_be_bytes());
        }
        for i in 0..n as u16 {
            cmap.extend_from_slice(&i.to_be_bytes());
        }
        Some(write_sfnt(&mut [
            (*b"cmap", cmap),
            (*b"glyf", glyf_out),
            (*b"head", head),
            (*b"hhea", hhea),
            (*b"hmtx", hmtx),
            (*b"loca", loca),
            (*b"maxp", maxp),
        ]))
    }
}

fn put_u16(t: &mut [u8], at: usize, v: u16) -> Option<()> {
    t.get_mut(at..at + 2)?.copy_from_slice(&v.to_be_bytes());
    Some(())
}

/// A TrueType file of `tables` (sorted by tag, as the format wants).
fn write_sfnt(tables: &mut [([u8; 4], Vec<u8>)]) -> Vec<u8> {
    tables.sort_by_key(|t| t.0);
    let n = tables.len() as u16;
    let mut out = Vec::new();
    let pow2 = 1u16 << (15 - n.max(1).leading_zeros() as u16);
    out.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    for v in [
        n,
        pow2 * 16,
        pow2.trailing_zeros() as u16,
        n * 16 - pow2 * 16,
    ] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    let mut offset = 12 + 16 * tables.len();
    for (tag, data) in tables.iter() {
        out.extend_from_slice(tag);
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&(offset as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in tables.iter() {
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }
    out
}

/// A face's glyph data, by glyph id.
struct Glyf<'a> {
    glyf: &'a [u8],
    loca: &'a [u8],
    long: bool,
}

impl<'a> Glyf<'a> {
    fn of(face: &ttf_parser::Face<'a>) -> Option<Glyf<'a>> {
        let raw = face.raw_face();
        let head = raw.table(Tag::from_bytes(b"head"))?;
        let long = u16::from_be_bytes([*head.get(50)?, *head.get(51)?]) == 1;
        Some(Glyf {
            glyf: raw.table(Tag::from_bytes(b"glyf"))?,
            loca: raw.table(Tag::from_bytes(b"loca"))?,
            long,
        })
    }

    /// Glyph `gid`'s bytes (empty for an empty glyph or a bad offset).
    fn data(&self, gid: u16) -> &'a [u8] {
        let at = |i: usize| -> Option<usize> {
            if self.long {
                let b = self.loca.get(i * 4..i * 4 + 4)?;
                Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
            } else {
                let b = self.loca.get(i * 2..i * 2 + 2)?;
                Some(u16::from_be_bytes([b[0], b[1]]) as usize * 2)
            }
        };
        let g = gid as usize;
        match (at(g), at(g + 1)) {
            (Some(a), Some(b)) if a < b => self.glyf.get(a..b).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// One component of a composite glyph: its glyph id and where that id sits
/// in the glyph's bytes.
struct Component {
    gid: u16,
    at: usize,
}

/// The components of composite glyph `data` (none for a simple glyph).
fn components(data: &[u8]) -> impl Iterator<Item = Component> + '_ {
    const WORDS: u16 = 0x0001;
    const SCALE: u16 = 0x0008;
    const MORE: u16 = 0x0020;
    const XY_SCALE: u16 = 0x0040;
    const TWO_BY_TWO: u16 = 0x0080;
    let composite = data.len() >= 10 && i16::from_be_bytes([data[0], data[1]]) < 0;
    let mut pos = if composite { 10 } else { data.len() };
    let mut done = !composite;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let flags = u16::from_be_bytes([*data.get(pos)?, *data.get(pos + 1)?]);
        let gid = u16::from_be_bytes([*data.get(pos + 2)?, *data.get(pos + 3)?]);
        let at = pos + 2;
        pos += 4 + if flags & WORDS != 0 { 4 } else { 2 };
        pos += if flags & SCALE != 0 {
            2
        } else if flags & XY_SCALE != 0 {
            4
        } else if flags & TWO_BY_TWO != 0 {
            8
        } else {
            0
        };
        done = flags & MORE == 0;
        Some(Component { gid, at })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subset_draws_as_the_whole_face_does() {
        let data = super::super::DEFAULT_FONT;
        let face = ttf_parser::Face::parse(data, 0).unwrap();
        let whole = fontdue::Font::from_bytes(data, fontdue::FontSettings::default()).unwrap();
        let mut sub = Subset::new(&face).unwrap();
        // Plain letters, digits, and composite accented ones.
        let gids: Vec<u16> = "Ag0%éÅñ°"
            .chars()
            .filter_map(|c| face.glyph_index(c).map(|g| g.0))
            .collect();
        assert!(sub.ensure(&face, &gids));
        assert_eq!(sub.builds, 1, "one build for the batch");
        for &g in &gids {
            let (wm, wc) = whole.rasterize_indexed(g, 15.0);
            let (sm, sc) = sub.rasterize(g, 15.0).unwrap().unwrap();
            assert_eq!(
                (wm.xmin, wm.ymin, wm.width, wm.height),
                (sm.xmin, sm.ymin, sm.width, sm.height),
                "gid {g}"
            );
            assert_eq!(wc, sc, "gid {g}");
        }
        assert!(
            sub.kept.len() < 20,
            "only what was asked: {}",
            sub.kept.len()
        );
        // Asking again builds nothing; a new glyph builds once more.
        assert!(sub.ensure(&face, &gids));
        assert_eq!(sub.builds, 1);
        let z = face.glyph_index('z').unwrap().0;
        assert!(sub.rasterize(z, 15.0).is_none());
        assert!(sub.ensure(&face, &[z]));
        assert_eq!(sub.builds, 2);
        assert!(sub.rasterize(z, 15.0).unwrap().is_some());
        assert!(sub.has(gids[0]), "earlier glyphs stay");
        // Dropped after a frame, parsed again for the next glyph.
        assert!(sub.release());
        assert!(sub.rasterize(z, 15.0).is_none());
        assert!(sub.ensure(&face, &[z]));
        assert_eq!(sub.builds, 3);
        assert!(sub.rasterize(z, 15.0).unwrap().is_some());
        assert!(sub.rasterize(gids[0], 15.0).unwrap().is_some());
    }

    #[test]
    fn the_subset_is_bounded() {
        let data = super::super::DEFAULT_FONT;
        let face = ttf_parser::Face::parse(data, 0).unwrap();
        let mut sub = Subset::new(&face).unwrap();
        for g in 1..face.number_of_glyphs() {
            assert!(sub.ensure(&face, &[g]));
            assert!(sub.kept.len() <= MAX_KEPT + MAX_DEPTH as usize + 1);
            assert!(sub.has(g));
        }
    }

    #[test]
    fn corrupt_composites_end() {
        // A composite claiming more components past its end, and one
        // naming itself: both end.
        let mut g = vec![0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0];
        g.extend_from_slice(&[0x00, 0x20, 0x00, 0x05, 1, 2]);
        assert_eq!(components(&g).count(), 1);
        assert_eq!(components(&[]).count(), 0);
    }
}

//! Fonts besides the bar's: a module's (or a state's) `font` table names
//! other families, a weight or a size. Each distinct (families, weight)
//! resolves once, when the config is loaded, into a set of chosen faces
//! with its own character memory; sizes need nothing resolved (glyphs are
//! cached per size). Shaping in a set swaps its faces in and back, which
//! moves vectors and maps without touching the heap.

use super::{FaceId, GlyphCache, LineMetrics, Shaped};

/// Index of a font set; 0 is the bar's own.
pub type FontId = u8;

/// Font sets one cache holds, at most (a theme names a handful).
pub const MAX_FONTS: usize = 32;

/// One set of chosen faces and what it decided per character.
#[derive(Default)]
pub(super) struct FontSet {
    chain: Vec<FaceId>,
    primary: FaceId,
    memo: super::Memo,
    embedded_first: bool,
    /// What the config calls it: (family list index, weight); the bar's is
    /// (0, 0).
    key: (u8, u16),
    /// Bold was asked and the chosen face is not: glyphs get a second stroke.
    synth_bold: bool,
    /// The family name markup asked for (empty: a config's set).
    name: String,
}

impl GlyphCache {
    /// Resolves the font set called `key` by the config — `families` in
    /// order (empty: the bar's), at `weight` — and returns its id. Called
    /// when the config is loaded, never per tick; the same key twice is one
    /// set. A family that is not installed is reported on stderr once and
    /// the bar's faces are used instead; past [`MAX_FONTS`] sets, the bar's.
    pub fn add_font(&mut self, key: (u8, u16), families: &[String], weight: u16) -> FontId {
        self.use_font(0);
        if key == (0, 0) {
            return 0;
        }
        if let Some(i) = self.sets.iter().position(|s| s.key == key) {
            return i as FontId;
        }
        self.build_set(key, families, weight)
    }

    /// The font set of the family markup names (`font_family`, `face`,
    /// `<tt>`'s `monospace`), resolved at the bar's weight the first time
    /// and remembered by name: asked again, it is a search, no lookup.
    pub fn font_named(&mut self, name: &str) -> FontId {
        if let Some(i) = self
            .sets
            .iter()
            .position(|s| !s.name.is_empty() && s.name.eq_ignore_ascii_case(name))
        {
            return i as FontId;
        }
        self.use_font(0);
        let id = self.build_set((u8::MAX, 0), &[name.to_string()], 0);
        if id != 0 {
            self.sets[id as usize].name = name.to_string();
        }
        id
    }

    fn build_set(&mut self, key: (u8, u16), families: &[String], weight: u16) -> FontId {
        if self.sets.len() >= MAX_FONTS {
            return 0;
        }
        let weight = if weight == 0 { 400 } else { weight };
        // An installed face is needed now: discover them (once) when the
        // bar's font did not; and once the names were dropped (the bar's
        // fonts chosen), read the index again for this lookup (warm, well
        // under a millisecond), keeping only what fallback needs.
        let pending = self.discover_at.take();
        let reread;
        let system = if pending.is_some() || self.names_dropped {
            let sys = super::SystemFonts::discover();
            if let Some(w) = pending {
                self.fallback = sys.fallback_order(w);
                self.installed = super::Installed::of(&sys);
            }
            if self.names_dropped {
                reread = sys;
                &reread
            } else {
                self.system = sys;
                &self.system
            }
        } else {
            &self.system
        };
        let mut chosen: Vec<FaceId> = Vec::new();
        let wanted: Vec<String> = if families.is_empty() {
            // The bar's families at another weight: the bar's face's own
            // family (the embedded face's is installed in its bold too).
            vec![self.faces[self.primary as usize].family.clone()]
        } else {
            families.to_vec()
        };
        for fam in &wanted {
            let found = system
                .find(fam, weight)
                .or_else(|| system.resolve(fam, weight));
            let Some(info) = found else {
                if !families.is_empty() && !self.not_installed.contains(fam) {
                    self.not_installed.push(fam.clone());
                    let instead = self.faces[self.primary as usize].family.clone();
                    eprintln!("rstat: font family `{fam}` is not installed; using {instead}");
                }
                continue;
            };
            // Its place among the faces fallback knows (none when the fonts
            // changed since: then it is opened on its own).
            let si = self.installed.position(&info.path, info.index);
            let known = si.and_then(|si| self.loaded.iter().find(|l| l.0 == si).map(|l| l.1));
            let id = match known {
                Some(id) => id,
                None => match super::Face::open(&info.path, info.index) {
                    Ok(f) => {
                        let id = self.faces.len() as FaceId;
                        self.faces.push(f);
                        if let Some(si) = si {
                            self.installed.check_opened(si);
                            self.loaded.push((si, id));
                        }
                        id
                    }
                    Err(e) => {
                        eprintln!("rstat: font family `{fam}`: {e}");
                        continue;
                    }
                },
            };
            if !chosen.contains(&id) {
                chosen.push(id);
            }
        }
        let base_first = self.embedded_first && chosen.is_empty();
        let mut chain = chosen;
        for &id in &self.chain {
            if !chain.contains(&id) {
                chain.push(id);
            }
        }
        let primary = chain.first().copied().unwrap_or(self.primary);
        let face_weight = self.faces[primary as usize].shaper().weight().to_number();
        if self.sets.is_empty() {
            // Slot 0 holds the bar's set while another is in use.
            self.sets.push(FontSet::default());
        }
        self.sets.push(FontSet {
            chain,
            primary,
            memo: super::Memo::default(),
            embedded_first: base_first,
            key,
            synth_bold: weight >= 600 && face_weight < 600,
            name: String::new(),
        });
        (self.sets.len() - 1) as FontId
    }

    /// The set the config calls `key` (the bar's when there is none).
    pub fn font_of(&self, key: (u8, u16)) -> FontId {
        self.sets
            .iter()
            .position(|s| s.key == key && key != (0, 0))
            .map_or(0, |i| i as FontId)
    }

    /// Whether set `id` draws bold by a second stroke (no bold face).
    pub fn synthetic_bold(&self, id: FontId) -> bool {
        self.sets
            .get(id as usize)
            .is_some_and(|s| s.synth_bold && id != 0)
    }

    /// Makes set `id` the one characters are chosen from (the bar's: 0).
    fn use_font(&mut self, id: FontId) {
        let id = if (id as usize) < self.sets.len() {
            id
        } else {
            0
        };
        if id == self.active {
            return;
        }
        for i in [self.active, id] {
            // Out of the fields into its slot, then the other's in.
            let s = &mut self.sets[i as usize];
            std::mem::swap(&mut self.chain, &mut s.chain);
            std::mem::swap(&mut self.primary, &mut s.primary);
            std::mem::swap(&mut self.memo, &mut s.memo);
            std::mem::swap(&mut self.embedded_first, &mut s.embedded_first);
        }
        self.active = id;
    }

    /// [`GlyphCache::shape`] in font set `id`.
    pub fn shape_in(&mut self, id: FontId, text: &str, px: u16, out: &mut Shaped) {
        self.use_font(id);
        self.shape(text, px, out);
        self.use_font(0);
    }

    /// [`GlyphCache::line_metrics`] of font set `id`'s first face.
    pub fn line_metrics_in(&mut self, id: FontId, px: u16) -> LineMetrics {
        self.use_font(id);
        let m = self.line_metrics(px);
        self.use_font(0);
        m
    }
}

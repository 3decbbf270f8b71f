//! Shaping: text → positioned glyphs, in visual order.
//!
//! The text is split into bidi runs (only when it holds right-to-left
//! characters), each run into pieces of one face and one script, cut only
//! between grapheme clusters; each piece is shaped by rustybuzz with a plan
//! cached per (face, direction, script). Buffers and plans are kept, so
//! reshaping a segment whose digits changed touches no heap.

use rustybuzz::ttf_parser::Tag;
use rustybuzz::{Direction, Script, ShapePlan, UnicodeBuffer};
use unicode_script::UnicodeScript;
use unicode_segmentation::UnicodeSegmentation;

use super::{is_emoji, FaceId, GlyphCache, NO_FACE};

/// Plans kept, at most (one per face, direction and script in use).
const MAX_PLANS: usize = 24;

/// One glyph placed on the line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placed {
    /// The face (`NO_FACE`: the missing-glyph box).
    pub face: FaceId,
    /// Glyph id in that face.
    pub gid: u16,
    /// Pen position relative to the text's start, pixels.
    pub x: f32,
    /// Vertical offset from the baseline, pixels (down is positive).
    pub y: f32,
    /// The first character of the glyph's cluster (to name a missing one).
    pub ch: char,
    /// Where that cluster starts in the text, bytes (markup spans are
    /// byte ranges).
    pub at: u16,
}

/// Shaped text: glyphs in visual order and the total advance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Shaped {
    /// The glyphs, left to right.
    pub glyphs: Vec<Placed>,
    /// Total advance, pixels.
    pub width: f32,
}

impl Shaped {
    /// Empty, with room for `n` glyphs.
    pub fn with_capacity(n: usize) -> Shaped {
        Shaped {
            glyphs: Vec::with_capacity(n),
            width: 0.0,
        }
    }

    /// The width rounded up to whole pixels.
    pub fn width_px(&self) -> i32 {
        self.width.ceil() as i32
    }
}

#[derive(Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
    face: FaceId,
    script: Option<Script>,
    rtl: bool,
}

/// Buffers and plans kept between calls.
#[derive(Default)]
pub(super) struct Shaper {
    buf: Option<UnicodeBuffer>,
    plans: Vec<(FaceId, Direction, Option<Script>, ShapePlan)>,
    runs: Vec<Run>,
    /// Tests: always shape with rustybuzz, to compare with the fast path.
    no_fast: bool,
}

/// Shapes `text` with rustybuzz even where the fast path would serve.
#[cfg(test)]
pub(super) fn test_full_shaping(g: &mut GlyphCache, text: &str, px: u16, out: &mut Shaped) -> bool {
    g.shaper.no_fast = true;
    g.shape(text, px, out);
    g.shaper.no_fast = false;
    true
}

/// Characters that are each their own grapheme cluster, left to right, with
/// no marks to place: text made only of these is itemised without the
/// segmentation tables (the steady tick's numbers and units).
pub(super) fn is_simple(c: char) -> bool {
    matches!(c as u32, 0x20..=0x7E | 0xA0..=SIMPLE_END)
}

/// The last simple character (the end of the spacing modifier letters).
pub(super) const SIMPLE_END: u32 = 0x2FF;

/// `v.round() as i32` for pixel positions (|v| < 2³¹), without the library
/// call the baseline x86-64 target makes for `f32::round`: glyphs are
/// placed with it per glyph, per frame.
#[inline]
pub fn round_px(v: f32) -> i32 {
    let r = (v.abs() + 0.5) as i32;
    if v < 0.0 {
        -r
    } else {
        r
    }
}

/// Characters that make a text need the bidi algorithm.
fn is_rtl(c: char) -> bool {
    matches!(c as u32,
        0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF
        | 0x1E800..=0x1EFFF | 0x200F | 0x202B | 0x202E | 0x2067)
}

fn script_of(c: char) -> Option<Script> {
    use unicode_script::Script as S;
    match c.script() {
        S::Common | S::Inherited | S::Unknown => None,
        s => Script::from_iso15924_tag(Tag::from_bytes_lossy(s.short_name().as_bytes())),
    }
}

impl GlyphCache {
    /// Shapes `text` at `px` into `out` (its capacity reused), and readies
    /// its glyphs for drawing.
    pub fn shape(&mut self, text: &str, px: u16, out: &mut Shaped) {
        self.shape_only(text, px, out);
        self.prepare_shaped(out);
    }

    fn shape_only(&mut self, text: &str, px: u16, out: &mut Shaped) {
        out.glyphs.clear();
        out.width = 0.0;
        if text.is_empty() {
            return;
        }
        let mut runs = std::mem::take(&mut self.shaper.runs);
        runs.clear();
        if text.chars().any(is_rtl) {
            let bidi = unicode_bidi::BidiInfo::new(text, None);
            for para in &bidi.paragraphs {
                let (levels, vruns) = bidi.visual_runs(para, para.range.clone());
                for r in vruns {
                    let rtl = levels.get(r.start).is_some_and(|l| l.is_rtl());
                    self.itemize(text, r, rtl, &mut runs);
                }
            }
        } else if text.chars().all(is_simple) {
            if self.shape_simple(text, px, out) {
                self.shaper.runs = runs;
                return;
            }
            self.itemize_simple(text, &mut runs);
        } else {
            self.itemize(text, 0..text.len(), false, &mut runs);
        }
        let mut pen = 0.0;
        for run in &runs {
            pen = self.shape_run(text, run, px, pen, out);
        }
        out.width = pen;
        self.shaper.runs = runs;
    }

    /// Text of simple characters whose faces have no layout tables: what
    /// rustybuzz would do, without its set-up: map and advance (each glyph
    /// remembered with its character). False (and `out` empty) when some
    /// character's face needs real shaping.
    fn shape_simple(&mut self, text: &str, px: u16, out: &mut Shaped) -> bool {
        if self.shaper.no_fast {
            return false;
        }
        let mut pen = 0.0;
        let (mut last, mut scale) = (NO_FACE, 0.0);
        for (at, ch) in text.char_indices() {
            // The memory's table holds face, glyph and advance of every
            // simple character: no hashing, no metrics read per tick.
            let (face, gid, adv) = match self.memo.simple(ch) {
                Some(e) => e,
                None => {
                    self.glyph_for(ch, false);
                    self.memo.simple(ch).unwrap_or((NO_FACE, 0, 0))
                }
            };
            if face != last {
                let Some(f) = self.faces.get(face as usize).filter(|f| f.simple) else {
                    out.glyphs.clear();
                    return false;
                };
                (last, scale) = (face, px as f32 / f.upem);
            }
            out.glyphs.push(Placed {
                face,
                gid,
                x: pen,
                y: 0.0,
                ch,
                at: at as u16,
            });
            // Whole-pixel advances, as a hinted face has: every glyph on
            // the pixel grid the same way (crisp digits), and no wider
            // than the embedded face's cells always were.
            pen += round_px(adv as f32 * scale) as f32;
        }
        out.width = pen;
        true
    }

    /// Runs of one face over text of simple characters only.
    fn itemize_simple(&mut self, text: &str, runs: &mut Vec<Run>) {
        for (start, c) in text.char_indices() {
            let end = start + c.len_utf8();
            let face = self.face_for(c, false);
            if let Some(last) = runs.last_mut() {
                if last.face == face && face != NO_FACE {
                    last.end = end;
                    continue;
                }
            }
            runs.push(Run {
                start,
                end,
                face,
                script: None,
                rtl: false,
            });
        }
    }

    /// Splits `text[range]` into runs of one face and script (in visual
    /// order: reversed for a right-to-left run).
    fn itemize(
        &mut self,
        text: &str,
        range: std::ops::Range<usize>,
        rtl: bool,
        runs: &mut Vec<Run>,
    ) {
        let first = runs.len();
        let Some(part) = text.get(range.clone()) else {
            return;
        };
        for (off, cluster) in part.grapheme_indices(true) {
            let start = range.start + off;
            let end = start + cluster.len();
            let mut chars = cluster.chars();
            let Some(base) = chars.next() else { continue };
            let emoji = is_emoji(base) || cluster.contains('\u{FE0F}');
            let face = self.face_for(base, emoji);
            let script = cluster.chars().find_map(script_of);
            if let Some(last) = runs[first..].last_mut() {
                if last.face == face
                    && last.end == start
                    && face != NO_FACE
                    && (script.is_none() || last.script.is_none() || script == last.script)
                {
                    last.end = end;
                    if last.script.is_none() {
                        last.script = script;
                    }
                    continue;
                }
            }
            runs.push(Run {
                start,
                end,
                face,
                script,
                rtl,
            });
        }
        if rtl {
            runs[first..].reverse();
        }
    }

    fn shape_run(&mut self, text: &str, run: &Run, px: u16, mut pen: f32, out: &mut Shaped) -> f32 {
        let part = &text[run.start..run.end];
        if run.face == NO_FACE || run.face as usize >= self.faces.len() {
            let adv = self.glyph_id(NO_FACE, 0, px).advance as f32;
            for (off, ch) in part.char_indices() {
                out.glyphs.push(Placed {
                    face: NO_FACE,
                    gid: 0,
                    x: pen,
                    y: 0.0,
                    ch,
                    at: (run.start + off) as u16,
                });
                pen += adv;
            }
            return pen;
        }
        // Shaping reads the face's layout tables: their pages are handed
        // back too, at most once a second (see `release_pages`).
        self.shaped = true;
        let face = &self.faces[run.face as usize];
        let mut buf = self.shaper.buf.take().unwrap_or_default();
        buf.push_str(part);
        buf.set_direction(if run.rtl {
            Direction::RightToLeft
        } else {
            Direction::LeftToRight
        });
        if let Some(s) = run.script {
            buf.set_script(s);
        }
        buf.guess_segment_properties();
        let (dir, script) = (buf.direction(), Some(buf.script()));
        let plans = &mut self.shaper.plans;
        let pi = match plans
            .iter()
            .position(|p| p.0 == run.face && p.1 == dir && p.2 == script)
        {
            Some(i) => i,
            None => {
                if plans.len() >= MAX_PLANS {
                    plans.clear();
                }
                let plan = ShapePlan::new(face.shaper(), dir, script, None, &[]);
                plans.push((run.face, dir, script, plan));
                plans.len() - 1
            }
        };
        let glyphs = rustybuzz::shape_with_plan(face.shaper(), &plans[pi].3, buf);
        let s = px as f32 / face.upem;
        for (info, pos) in glyphs.glyph_infos().iter().zip(glyphs.glyph_positions()) {
            let ch = part
                .get(info.cluster as usize..)
                .and_then(|t| t.chars().next())
                .unwrap_or('\u{FFFD}');
            let missing = info.glyph_id == 0 && !ch.is_whitespace();
            out.glyphs.push(Placed {
                face: if missing { NO_FACE } else { run.face },
                gid: info.glyph_id as u16,
                x: pen + pos.x_offset as f32 * s,
                y: -(pos.y_offset as f32) * s,
                ch,
                at: (run.start + info.cluster as usize) as u16,
            });
            let adv = pos.x_advance as f32 * s;
            // Faces without layout tables advance by whole pixels (as the
            // map-and-advance path does).
            pen += if face.simple {
                round_px(adv) as f32
            } else {
                adv
            };
        }
        self.shaper.buf = Some(glyphs.clear());
        pen
    }
}

//! Which segments changed in each recent frame, so a reused buffer can be
//! brought up to date by repainting exactly what it missed.
//!
//! The renderer numbers its frames. A buffer remembers the frame it last
//! showed; when it comes back, the union of the masks of every frame since
//! then is what it must repaint (alacritty's scheme, generalised to any age).
//! A frame that moved things (relayout, resize, scale) is `full`, and so is
//! any buffer older than the history.

/// Most segments a bar tracks individually (one bit each).
pub const MAX_SEGMENTS: usize = 64;

/// Frames of history kept; a buffer older than this is repainted whole.
pub const HISTORY: usize = 8;

/// A set of segments to repaint, or the whole bar.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mask {
    /// The whole bar (then `bits` is ignored).
    pub full: bool,
    /// Bit `i` set: segment `i`.
    pub bits: u64,
    /// The frames it covers are those after this one, up to the newest (0:
    /// not known; a renderer then repaints whole cells).
    pub from: u64,
    /// Columns `span.0 .. span.1` of the bar, top to bottom, where segments
    /// moved (a drawer sliding): the backdrop and every segment there are
    /// painted again. Empty when `span.1 <= span.0`.
    pub span: (i32, i32),
    /// The segments were numbered anew in this frame (their count changed):
    /// the bits of earlier frames name other segments.
    pub reindexed: bool,
}

impl Mask {
    /// The whole bar.
    pub const FULL: Mask = Mask {
        full: true,
        bits: 0,
        from: 0,
        span: (0, 0),
        reindexed: false,
    };

    /// Nothing.
    pub const EMPTY: Mask = Mask {
        full: false,
        bits: 0,
        from: 0,
        span: (0, 0),
        reindexed: false,
    };

    /// Nothing to repaint.
    pub fn is_empty(self) -> bool {
        !self.full && self.bits == 0 && !self.has_span()
    }

    /// Whether [`Mask::span`] covers any column.
    pub fn has_span(self) -> bool {
        self.span.1 > self.span.0
    }

    /// Adds segment `i`.
    pub fn set(&mut self, i: usize) {
        self.bits |= 1 << i;
    }

    /// Whether segment `i` is in the set (always, when full).
    pub fn contains(self, i: usize) -> bool {
        self.full || self.bits & (1 << i) != 0
    }

    /// Both sets.
    pub fn union(self, other: Mask) -> Mask {
        if self.full || other.full {
            Mask::FULL
        } else {
            let span = match (self.has_span(), other.has_span()) {
                (true, true) => (self.span.0.min(other.span.0), self.span.1.max(other.span.1)),
                (true, false) => self.span,
                (false, _) => other.span,
            };
            Mask {
                full: false,
                bits: self.bits | other.bits,
                from: self.from.min(other.from),
                span,
                reindexed: self.reindexed || other.reindexed,
            }
        }
    }
}

/// The masks of the last few frames.
#[derive(Clone, Debug)]
pub struct History {
    /// Number of the newest frame; 0 means none yet (buffers that never
    /// showed anything also say 0, and get a full repaint).
    frame: u64,
    masks: [Mask; HISTORY],
}

impl Default for History {
    fn default() -> Self {
        History {
            frame: 0,
            masks: [Mask::FULL; HISTORY],
        }
    }
}

impl History {
    /// Records a new frame that changed `mask`; returns its number.
    pub fn push(&mut self, mask: Mask) -> u64 {
        self.frame += 1;
        self.masks[(self.frame as usize) % HISTORY] = mask;
        self.frame
    }

    /// The newest frame's number.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// What a buffer that last showed frame `shown` must repaint to show the
    /// newest frame.
    pub fn since(&self, shown: u64) -> Mask {
        if shown == 0 || shown > self.frame || self.frame - shown >= HISTORY as u64 {
            return Mask::FULL;
        }
        let mut m = Mask {
            from: shown,
            ..Mask::EMPTY
        };
        for f in shown + 1..=self.frame {
            let fm = self.masks[(f as usize) % HISTORY];
            // Renumbered after the first missed frame: what the frames
            // before said names other segments.
            if fm.reindexed && f > shown + 1 {
                return Mask::FULL;
            }
            m = m.union(fm);
        }
        Mask {
            from: shown,
            reindexed: false,
            ..m
        }
    }

    /// The mask of frame `f`, if it is still in the history.
    pub fn mask_of(&self, f: u64) -> Option<Mask> {
        (f > 0 && f <= self.frame && self.frame - f < HISTORY as u64)
            .then(|| self.masks[(f as usize) % HISTORY])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(b: u64) -> Mask {
        Mask {
            bits: b,
            ..Mask::EMPTY
        }
    }

    #[test]
    fn spans_union_and_renumbering_repaints_older_buffers_whole() {
        let mut h = History::default();
        let f1 = h.push(bits(0b1));
        let moved = |x0, x1, re| Mask {
            span: (x0, x1),
            reindexed: re,
            ..bits(0b10)
        };
        let f2 = h.push(moved(10, 40, false));
        let f3 = h.push(moved(30, 80, true));
        // A buffer that missed frame 3 only: its span (the bits of frame 3
        // are in frame 3's numbering).
        let m = h.since(f2);
        assert_eq!((m.span, m.bits, m.full), ((30, 80), 0b10, false));
        // One that missed frames 2 and 3: frame 2's bits are stale.
        assert_eq!(h.since(f1), Mask::FULL);
        h.push(moved(5, 20, false));
        let m = h.since(f3);
        assert_eq!(m.span, (5, 20));
        // The renumbering frame was the first missed: spans join.
        let m = h.since(f2);
        assert_eq!((m.span, m.full), ((5, 80), false));
        assert!(!Mask::EMPTY.has_span() && moved(3, 3, false).bits != 0);
        assert!(Mask {
            span: (1, 2),
            ..Mask::EMPTY
        }
        .has_span());
        let u = moved(10, 20, false).union(moved(50, 60, false));
        assert_eq!(u.span, (10, 60));
    }

    #[test]
    fn since_unions_the_frames_a_buffer_missed() {
        let mut h = History::default();
        let f1 = h.push(Mask::FULL);
        let f2 = h.push(bits(0b001));
        let _f3 = h.push(bits(0b100));
        assert_eq!(h.since(0), Mask::FULL);
        let from = |m: Mask, f: u64| Mask { from: f, ..m };
        assert_eq!(h.since(f1), from(bits(0b101), f1));
        assert_eq!(h.since(f2), from(bits(0b100), f2));
        assert_eq!(h.since(h.frame()), from(Mask::EMPTY, h.frame()));
    }

    #[test]
    fn old_buffers_repaint_whole() {
        let mut h = History::default();
        let f1 = h.push(bits(1));
        for _ in 0..HISTORY {
            h.push(bits(2));
        }
        assert_eq!(h.since(f1), Mask::FULL);
        let fresh = h.frame() - 1;
        assert_eq!(
            h.since(fresh),
            Mask {
                from: fresh,
                ..bits(2)
            }
        );
    }
}

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
}

impl Mask {
    /// The whole bar.
    pub const FULL: Mask = Mask {
        full: true,
        bits: 0,
        from: 0,
    };

    /// Nothing.
    pub const EMPTY: Mask = Mask {
        full: false,
        bits: 0,
        from: 0,
    };

    /// Nothing to repaint.
    pub fn is_empty(self) -> bool {
        !self.full && self.bits == 0
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
            Mask {
                full: false,
                bits: self.bits | other.bits,
                from: self.from.min(other.from),
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
            m = m.union(self.masks[(f as usize) % HISTORY]);
        }
        Mask { from: shown, ..m }
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
            full: false,
            bits: b,
            from: 0,
        }
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

//! Rasterised glyphs within a byte budget, least recently used out first.
//!
//! A hit touches no heap (a lookup and a counter), so a steady tick stays
//! allocation-free; eviction scans the entries, which happens only on a miss,
//! when a rasterisation costs far more anyway.

use super::{FastMap, Glyph};

/// A glyph of a face at a size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlyphKey {
    pub face: u16,
    pub gid: u16,
    pub px: u16,
}

struct Slot {
    key: GlyphKey,
    glyph: Glyph,
    used: u64,
}

pub struct Lru {
    map: FastMap<GlyphKey, u32>,
    /// A direct-mapped guess of each key's slot, checked against the slot's
    /// own key (evictions move slots, so a guess may be stale): a frame's
    /// glyphs are found without hashing.
    recent: [u32; RECENT],
    slots: Vec<Slot>,
    bytes: usize,
    budget: usize,
    clock: u64,
}

/// Entries of [`Lru::recent`] (a power of two).
const RECENT: usize = 256;

fn recent_index(k: GlyphKey) -> usize {
    (k.gid as usize ^ (k.px as usize).wrapping_mul(37) ^ (k.face as usize).wrapping_mul(101))
        & (RECENT - 1)
}

impl Lru {
    pub fn new(budget: usize) -> Lru {
        Lru {
            recent: [u32::MAX; RECENT],
            map: FastMap::default(),
            slots: Vec::new(),
            bytes: 0,
            budget,
            clock: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The slot of `key`, marked as just used.
    pub fn find(&mut self, key: GlyphKey) -> Option<usize> {
        let r = recent_index(key);
        let guess = self.recent[r] as usize;
        if let Some(slot) = self.slots.get_mut(guess).filter(|s| s.key == key) {
            self.clock += 1;
            slot.used = self.clock;
            return Some(guess);
        }
        let &i = self.map.get(&key)?;
        self.recent[r] = i;
        self.clock += 1;
        self.slots[i as usize].used = self.clock;
        Some(i as usize)
    }

    /// The glyph in slot `i` (from [`Lru::find`] or [`Lru::insert`]).
    pub fn slot(&self, i: usize) -> &Glyph {
        &self.slots[i].glyph
    }

    #[cfg(test)]
    pub fn get(&mut self, key: GlyphKey) -> Option<&Glyph> {
        let &i = self.map.get(&key)?;
        self.clock += 1;
        let slot = &mut self.slots[i as usize];
        slot.used = self.clock;
        Some(&slot.glyph)
    }

    /// Adds `glyph`, first evicting the oldest entries until it fits (the
    /// new entry itself is never evicted, even when larger than the budget).
    pub fn insert(&mut self, key: GlyphKey, glyph: Glyph) -> usize {
        if let Some(&i) = self.map.get(&key) {
            return i as usize;
        }
        let need = glyph.bytes();
        while self.bytes + need > self.budget && !self.slots.is_empty() {
            self.evict_oldest();
        }
        self.clock += 1;
        self.bytes += need;
        self.map.insert(key, self.slots.len() as u32);
        self.slots.push(Slot {
            key,
            glyph,
            used: self.clock,
        });
        self.slots.len() - 1
    }

    fn evict_oldest(&mut self) {
        let Some((i, _)) = self.slots.iter().enumerate().min_by_key(|(_, s)| s.used) else {
            return;
        };
        let old = self.slots.swap_remove(i);
        self.map.remove(&old.key);
        self.bytes -= old.glyph.bytes();
        if let Some(moved) = self.slots.get(i) {
            self.map.insert(moved.key, i as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glyph(n: usize) -> Glyph {
        Glyph {
            left: 0,
            top: 0,
            width: n as u32,
            height: 1,
            advance: 1,
            coverage: vec![0; n].into_boxed_slice(),
            color: false,
        }
    }

    #[test]
    fn stays_within_budget_and_keeps_what_is_used() {
        let per = glyph(100).bytes();
        let mut lru = Lru::new(per * 10);
        let key = |gid| GlyphKey {
            face: 0,
            gid,
            px: 14,
        };
        for gid in 0..10 {
            lru.insert(key(gid), glyph(100));
        }
        assert_eq!(lru.len(), 10);
        // Glyph 0 is used every "tick" while 1000 others pass through.
        for gid in 10..1010 {
            assert!(lru.get(key(0)).is_some());
            lru.insert(key(gid), glyph(100));
            assert!(lru.bytes() <= per * 10);
        }
        assert!(lru.get(key(0)).is_some());
        assert!(lru.get(key(5)).is_none());
        assert!(lru.get(key(1009)).is_some());
        // Indices stay consistent after swap_remove.
        for s in 0..lru.slots.len() {
            let k = lru.slots[s].key;
            assert_eq!(lru.map[&k] as usize, s);
        }
    }

    #[test]
    fn oversized_entry_is_kept_alone() {
        let mut lru = Lru::new(10);
        lru.insert(
            GlyphKey {
                face: 0,
                gid: 1,
                px: 9,
            },
            glyph(1000),
        );
        assert!(lru
            .get(GlyphKey {
                face: 0,
                gid: 1,
                px: 9
            })
            .is_some());
        lru.insert(
            GlyphKey {
                face: 0,
                gid: 2,
                px: 9,
            },
            glyph(1000),
        );
        assert_eq!(lru.len(), 1);
    }
}

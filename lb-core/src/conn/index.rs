//! An open-addressing index from a 32-bit hash to entry ids: linear probing, deletion by
//! tombstone, grown at 3/4 load, rebuilt in place when tombstones fill it, shrunk below 1/8.
//!
//! A slot is one `u32`: the top 8 bits of the hash as a tag (compared before an entry is
//! looked at) and `id + 1` in the low 24 bits (0 = empty; a tag with an id field of 0 is a
//! tombstone). Four bytes a slot keep the index of a million connections in a few
//! megabytes, small enough to stay in the CPU's caches while the entries themselves do not.
//! A removal marks its slot a tombstone, or empties it (and the tombstones just before it)
//! when the slot after it is empty: it never reads another entry, so reaping a connection
//! costs one probe of each index. Tombstones are reused by insertions and cleared by a
//! rebuild, which [`Index::size_for_insert`] asks for when live slots and tombstones
//! together pass 3/4. The index never reads entries itself: lookups take a predicate that
//! checks the full key, and rebuilding takes the hash of every entry from the caller.

/// The smallest table, in slots.
const MIN_SLOTS: usize = 16;
/// Bits of a slot holding `id + 1`.
const ID_BITS: u32 = 24;
const ID_MASK: u32 = (1 << ID_BITS) - 1;
/// The largest id an index holds.
pub(crate) const MAX_ID: u32 = ID_MASK - 1;
/// A removed member's slot: a tag, no id.
const TOMBSTONE: u32 = 1 << ID_BITS;

/// An index; empty ones hold no allocation.
#[derive(Debug, Default)]
pub(crate) struct Index {
    slots: Vec<u32>,
    len: usize,
    tombstones: usize,
}

#[inline]
fn tag(hash: u32) -> u32 {
    hash & !ID_MASK
}

#[inline]
fn pack(hash: u32, id: u32) -> u32 {
    tag(hash) | (id.wrapping_add(1) & ID_MASK)
}

#[inline]
fn id_of(slot: u32) -> u32 {
    (slot & ID_MASK).wrapping_sub(1)
}

/// True for a slot that holds no id (empty, or a tombstone).
#[inline]
fn vacant(slot: u32) -> bool {
    slot & ID_MASK == 0
}

impl Index {
    /// Number of ids held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Bytes allocated.
    pub fn bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u32>()
    }

    /// Number of slots.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot count one more insertion needs, if the index must be rebuilt first: twice
    /// the current one past 3/4 load, the same one when tombstones take the room.
    pub fn size_for_insert(&self) -> Option<usize> {
        let n = self.slots.len();
        if n == 0 {
            Some(MIN_SLOTS)
        } else if (self.len + 1) * 4 > n * 3 {
            Some(n * 2)
        } else if (self.len + self.tombstones + 1) * 4 > n * 3 {
            Some(n)
        } else {
            None
        }
    }

    /// The slot count after a removal, if it should shrink.
    pub fn size_after_remove(&self) -> Option<usize> {
        self.size_after_remove_at(self.slots.len())
    }

    /// The slot count an index of `n` slots holding as many ids as this one shrinks to,
    /// if it should.
    pub fn size_after_remove_at(&self, n: usize) -> Option<usize> {
        if n > MIN_SLOTS && self.len * 8 < n {
            Some(n / 2)
        } else {
            None
        }
    }

    /// Bytes an index of `slots` slots takes.
    pub fn bytes_for(slots: usize) -> usize {
        slots.max(MIN_SLOTS).next_power_of_two() * std::mem::size_of::<u32>()
    }

    /// Empties the index into `slots` slots (rounded up to a power of two), to be filled
    /// again with [`Index::refill`].
    pub fn reset(&mut self, slots: usize) {
        let n = slots.max(MIN_SLOTS).next_power_of_two();
        if self.slots.len() == n {
            self.slots.fill(0);
        } else {
            self.slots = vec![0; n];
        }
        self.len = 0;
        self.tombstones = 0;
    }

    /// Puts back one (hash, id) after [`Index::reset`] (room is there: the caller sized it).
    #[inline]
    pub fn refill(&mut self, hash: u32, id: u32) {
        self.place(pack(hash, id), hash);
        self.len += 1;
    }

    /// Rebuilds the index with `slots` slots (rounded up to a power of two) from every
    /// (hash, id) it must hold.
    #[cfg(test)]
    pub fn rebuild(&mut self, slots: usize, members: impl Iterator<Item = (u32, u32)>) {
        self.reset(slots);
        for (hash, id) in members {
            self.refill(hash, id);
        }
    }

    /// Drops the allocation of an empty index.
    pub fn free(&mut self) {
        if self.len == 0 {
            self.slots = Vec::new();
            self.tombstones = 0;
        }
    }

    /// Stores `slot` in the first vacant slot of the probe sequence of `hash`.
    #[inline]
    fn place(&mut self, slot: u32, hash: u32) {
        let mask = self.mask();
        let mut pos = hash as usize & mask;
        loop {
            let s = self.slots[pos];
            if vacant(s) {
                if s != 0 {
                    self.tombstones -= 1;
                }
                self.slots[pos] = slot;
                return;
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Adds `id` (at most [`MAX_ID`]) under `hash`. The caller made room
    /// ([`Index::size_for_insert`]); false if there was none.
    pub fn insert(&mut self, hash: u32, id: u32) -> bool {
        if self.slots.is_empty()
            || self.len + self.tombstones + 1 >= self.slots.len()
            || id > MAX_ID
        {
            return false;
        }
        self.place(pack(hash, id), hash);
        self.len += 1;
        true
    }

    /// The first id under `hash` for which `is_it` holds.
    #[inline]
    pub fn find(&self, hash: u32, mut is_it: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.len == 0 {
            return None;
        }
        let mask = self.mask();
        let want = tag(hash);
        let mut pos = hash as usize & mask;
        loop {
            let s = self.slots[pos];
            if s == 0 {
                return None;
            }
            if tag(s) == want && !vacant(s) && is_it(id_of(s)) {
                return Some(id_of(s));
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Removes `id`, filed under `hash`. False if `id` was not there.
    pub fn remove(&mut self, hash: u32, id: u32) -> bool {
        if self.len == 0 {
            return false;
        }
        let mask = self.mask();
        let target = pack(hash, id);
        let mut pos = hash as usize & mask;
        loop {
            let s = self.slots[pos];
            if s == 0 {
                return false;
            }
            if s == target {
                break;
            }
            pos = (pos + 1) & mask;
        }
        self.len -= 1;
        if self.slots[(pos + 1) & mask] != 0 {
            // A run goes on after it: lookups must still walk past.
            self.slots[pos] = TOMBSTONE;
            self.tombstones += 1;
            return true;
        }
        // The end of a run: this slot and the tombstones just before it are empty now.
        self.slots[pos] = 0;
        let mut prev = pos.wrapping_sub(1) & mask;
        while self.slots[prev] == TOMBSTONE {
            self.slots[prev] = 0;
            self.tombstones -= 1;
            prev = prev.wrapping_sub(1) & mask;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A small deterministic generator for the randomized check.
    fn lcg(s: &mut u64) -> u64 {
        *s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *s >> 33
    }

    /// Few distinct homes, so that runs are long and collide; tags collide too.
    fn hash(id: u32) -> u32 {
        (id % 97).wrapping_mul(0x9e37_79b9) ^ ((id % 3) << 24)
    }

    #[test]
    fn matches_a_hashmap_under_churn() {
        let mut idx = Index::default();
        let mut model: HashMap<u32, u32> = HashMap::new();
        let mut s = 1u64;
        for step in 0..20_000u32 {
            let id = (lcg(&mut s) % 3000) as u32;
            if !model.contains_key(&id) {
                if let Some(n) = idx.size_for_insert() {
                    idx.rebuild(n, v_keys(&model).into_iter());
                }
                assert!(idx.insert(hash(id), id));
                model.insert(id, hash(id));
            } else {
                assert!(idx.remove(hash(id), id), "step {step}");
                model.remove(&id);
                if let Some(n) = idx.size_after_remove() {
                    idx.rebuild(n, v_keys(&model).into_iter());
                }
            }
            assert_eq!(idx.len(), model.len());
        }
        for (&id, &h) in &model {
            assert_eq!(idx.find(h, |x| x == id), Some(id));
        }
        assert_eq!(idx.find(12345, |_| true), None);
        assert!(!idx.remove(1, 999_999));
    }

    fn v_keys(model: &HashMap<u32, u32>) -> Vec<(u32, u32)> {
        model.iter().map(|(&id, &h)| (h, id)).collect()
    }

    #[test]
    fn tombstones_keep_runs_and_are_cleared() {
        let mut idx = Index::default();
        idx.rebuild(16, std::iter::empty());
        // Three members with one home (slot 3): a run of slots 3, 4, 5.
        let h = 0x0500_0003;
        for id in [10, 11, 12] {
            assert!(idx.insert(h, id));
        }
        // The middle one leaves a tombstone: the last is still found past it.
        assert!(idx.remove(h, 11));
        assert_eq!((idx.len(), idx.tombstones), (2, 1));
        assert_eq!(idx.find(h, |x| x == 12), Some(12));
        assert_eq!(idx.find(h, |x| x == 11), None);
        // The end of the run empties itself and the tombstone before it.
        assert!(idx.remove(h, 12));
        assert_eq!((idx.len(), idx.tombstones), (1, 0));
        assert_eq!(idx.slots[3..6], [pack(h, 10), 0, 0]);
        // A tombstone is reused by the next insertion on its run.
        assert!(idx.insert(h, 13));
        assert!(idx.insert(h, 14));
        assert!(idx.remove(h, 13));
        assert!(idx.insert(h, 15));
        assert_eq!(idx.slots[3..6], [pack(h, 10), pack(h, 15), pack(h, 14)]);
        assert_eq!(idx.tombstones, 0);
        // Tombstones count towards the load: past 3/4 a same-size rebuild is asked for.
        let mut idx = Index::default();
        idx.rebuild(16, std::iter::empty());
        for id in 0..12u32 {
            assert!(idx.insert(h, id));
        }
        assert_eq!(idx.size_for_insert(), Some(32));
        for id in 0..6u32 {
            assert!(idx.remove(h, id));
        }
        assert_eq!((idx.len(), idx.tombstones), (6, 6));
        assert_eq!(idx.size_for_insert(), Some(16));
        assert_eq!(idx.find(h, |x| x == 11), Some(11));
        idx.rebuild(16, (6..12u32).map(|id| (h, id)));
        assert_eq!((idx.len(), idx.tombstones), (6, 0));
        assert_eq!(idx.size_for_insert(), None);
    }

    #[test]
    fn grows_shrinks_and_refuses_without_room() {
        let mut idx = Index::default();
        assert_eq!(idx.bytes(), 0);
        assert!(!idx.insert(1, 1));
        let h = |id: u32| id.wrapping_mul(2654435761);
        let mut held = Vec::new();
        for id in 0..1000u32 {
            if let Some(n) = idx.size_for_insert() {
                idx.rebuild(n, held.iter().map(|&i| (h(i), i)));
            }
            assert!(idx.insert(h(id), id));
            held.push(id);
        }
        assert_eq!(idx.bytes(), 2048 * 4);
        assert_eq!(Index::bytes_for(2048), 2048 * 4);
        for id in 0..990u32 {
            assert!(idx.remove(h(id), id));
            held.retain(|&i| i != id);
            if let Some(n) = idx.size_after_remove() {
                idx.rebuild(n, held.iter().map(|&i| (h(i), i)));
            }
        }
        assert_eq!(idx.len(), 10);
        assert_eq!(idx.bytes(), 64 * 4);
        for id in 990..1000u32 {
            assert_eq!(idx.find(h(id), |x| x == id), Some(id));
        }
        assert!(!idx.insert(5, MAX_ID + 1));
    }
}

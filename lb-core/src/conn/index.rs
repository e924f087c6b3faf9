//! An open-addressing index from a 32-bit hash to entry ids: linear probing, deletion by
//! backward shift (no tombstones), grown at 3/4 load and shrunk below 1/8.
//!
//! A slot is one `u32`: the top 8 bits of the hash as a tag (compared before an entry is
//! looked at) and `id + 1` in the low 24 bits (0 = empty). Four bytes a slot keep the index
//! of a million connections in a few megabytes, small enough to stay in the CPU's caches
//! while the entries themselves do not; the price is paid on deletion, where the home
//! position of a shifted slot is recomputed from its entry. The index never reads entries
//! itself: lookups take a predicate that checks the full key, and deletion and rebuilding
//! take the hash of an entry from the caller.

/// The smallest table, in slots.
const MIN_SLOTS: usize = 16;
/// Bits of a slot holding `id + 1`.
const ID_BITS: u32 = 24;
const ID_MASK: u32 = (1 << ID_BITS) - 1;
/// The largest id an index holds.
pub(crate) const MAX_ID: u32 = ID_MASK - 1;

/// An index; empty ones hold no allocation.
#[derive(Debug, Default)]
pub(crate) struct Index {
    slots: Vec<u32>,
    len: usize,
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

    #[inline]
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot count one more insertion needs, if it is not the current one.
    pub fn size_for_insert(&self) -> Option<usize> {
        let n = self.slots.len();
        if n == 0 {
            Some(MIN_SLOTS)
        } else if (self.len + 1) * 4 > n * 3 {
            Some(n * 2)
        } else {
            None
        }
    }

    /// The slot count after a removal, if it should shrink.
    pub fn size_after_remove(&self) -> Option<usize> {
        let n = self.slots.len();
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

    /// Rebuilds the index with `slots` slots (rounded up to a power of two) from every
    /// (hash, id) it must hold.
    pub fn rebuild(&mut self, slots: usize, members: impl Iterator<Item = (u32, u32)>) {
        self.slots = vec![0; slots.max(MIN_SLOTS).next_power_of_two()];
        self.len = 0;
        for (hash, id) in members {
            self.place(pack(hash, id), hash);
            self.len += 1;
        }
    }

    /// Drops the allocation of an empty index.
    pub fn free(&mut self) {
        if self.len == 0 {
            self.slots = Vec::new();
        }
    }

    #[inline]
    fn place(&mut self, slot: u32, hash: u32) {
        let mask = self.mask();
        let mut pos = hash as usize & mask;
        while self.slots[pos] != 0 {
            pos = (pos + 1) & mask;
        }
        self.slots[pos] = slot;
    }

    /// Adds `id` (at most [`MAX_ID`]) under `hash`. The caller made room
    /// ([`Index::size_for_insert`]); false if there was none.
    pub fn insert(&mut self, hash: u32, id: u32) -> bool {
        if self.slots.is_empty() || self.len + 1 >= self.slots.len() || id > MAX_ID {
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
            if tag(s) == want && is_it(id_of(s)) {
                return Some(id_of(s));
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Removes `id`, filed under `hash`; `hash_of` gives the hash of any other id held (to
    /// find the home position of the slots that move back). False if `id` was not there.
    pub fn remove(&mut self, hash: u32, id: u32, hash_of: impl Fn(u32) -> u32) -> bool {
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
        // Backward shift: pull later members of the run into the hole when their home
        // position does not lie cyclically in (hole, their position].
        let mut hole = pos;
        let mut next = (hole + 1) & mask;
        loop {
            let s = self.slots[next];
            if s == 0 {
                break;
            }
            let home = hash_of(id_of(s)) as usize & mask;
            let dist_home = next.wrapping_sub(home) & mask;
            let dist_hole = next.wrapping_sub(hole) & mask;
            if dist_home >= dist_hole {
                self.slots[hole] = s;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = 0;
        self.len -= 1;
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
                assert!(idx.remove(hash(id), id, hash), "step {step}");
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
        assert!(!idx.remove(1, 999_999, hash));
    }

    fn v_keys(model: &HashMap<u32, u32>) -> Vec<(u32, u32)> {
        model.iter().map(|(&id, &h)| (h, id)).collect()
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
            assert!(idx.remove(h(id), id, h));
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

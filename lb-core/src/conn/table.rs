//! One family's connection table inside a shard: entries in fixed-size chunks, a primary
//! index on (protocol, client, virtual service), a reply index on (protocol, client, real
//! server) for NAT connections, and a timer wheel.
//!
//! Entries are named by a `u32` id (chunk × [`CHUNK`] + slot). Free slots are kept per
//! chunk and the lowest chunk with room is filled first, so that after a burst the highest
//! chunks empty out and are given back.
//!
//! The wheel has [`WHEEL_SLOTS`] buckets of one tick each. An entry is filed under the tick
//! it expires at; re-arming it later (every packet does) only writes the new expiry, and the
//! entry is moved when its old bucket comes round — so a busy connection costs the wheel
//! nothing per packet. Re-arming it earlier (a state change to a shorter timeout) moves it at
//! once. Ticks are `u32` and compared with wrap-around, so a table runs forever.

use super::addr::Addr;
use super::entry::{flags, Entry, Key, ReplyKey, NIL};
use super::hash::TupleHasher;
use super::index::{Index, MAX_ID};
use super::memory::MemoryBudget;

/// Entries per chunk.
pub(crate) const CHUNK: usize = 1024;
/// log2 of the number of wheel buckets.
const WHEEL_BITS: u32 = 12;
/// Buckets of the timer wheel (one tick each: 40.96 s per turn at 10 ms ticks).
pub(crate) const WHEEL_SLOTS: usize = 1 << WHEEL_BITS;
const WHEEL_MASK: u32 = (WHEEL_SLOTS as u32) - 1;

/// lb's own flag: the entry is filed in the wheel.
const IN_WHEEL: u16 = 0x8000;

/// `a` is not later than `b`, on wrapping ticks.
#[inline]
pub(crate) fn tick_le(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) >= 0
}

#[derive(Debug)]
struct Chunk<A> {
    slots: Box<[Entry<A>]>,
    /// First freed slot (offset in the chunk), linked through `next`.
    free: u32,
    /// Slots from here to the end have never been used (handed out after the freed ones).
    fresh: u32,
    live: u32,
}

impl<A: Addr> Chunk<A> {
    fn new() -> Chunk<A> {
        Chunk {
            slots: vec![Entry::<A>::default(); CHUNK].into_boxed_slice(),
            free: NIL,
            fresh: 0,
            live: 0,
        }
    }

    /// True when no slot is left.
    #[inline]
    fn full(&self) -> bool {
        self.free == NIL && self.fresh as usize == CHUNK
    }

    /// Takes a slot (the chunk is not full): a freed one first, else a fresh one.
    #[inline]
    fn take(&mut self) -> u32 {
        let off = if self.free != NIL {
            let off = self.free;
            self.free = self.slots[off as usize].next;
            off
        } else {
            self.fresh += 1;
            self.fresh - 1
        };
        self.live += 1;
        off
    }
}

/// One family's table.
#[derive(Debug)]
pub(crate) struct Table<A> {
    hasher: TupleHasher,
    max_entries: usize,
    chunks: Vec<Chunk<A>>,
    /// No chunk below this one has a free slot.
    hint: usize,
    live: usize,
    primary: Index,
    reply: Index,
    wheel: Vec<u32>,
    /// One bit per wheel bucket that may hold entries (set when one is filed, cleared when
    /// a sweep leaves the bucket empty): a sweep skips the buckets known to be empty.
    wheel_marks: Vec<u64>,
    /// Every tick up to this one has been processed.
    wheel_tick: u32,
    wheel_started: bool,
    /// Where the next defensive scan starts (spec §12 drop_entry).
    scan_cursor: usize,
    /// Inside [`Table::batch`]: removals leave giving memory back to the end.
    batching: bool,
}

/// Bytes of one chunk.
fn chunk_bytes<A>() -> usize {
    CHUNK * std::mem::size_of::<Entry<A>>()
}

/// Bytes of a wheel of `slots` buckets with its bucket marks.
fn wheel_bytes(slots: usize) -> usize {
    slots * std::mem::size_of::<u32>() + slots.div_ceil(64) * std::mem::size_of::<u64>()
}

/// The primary-index hash of an entry.
#[inline]
fn primary_of<A: Addr>(h: &TupleHasher, e: &Entry<A>) -> u32 {
    let client = h.client(e.proto, e.caddr, e.cport);
    (h.tuple(client, e.vaddr, e.vport) >> 32) as u32
}

/// The reply-index hash of an entry.
#[inline]
fn reply_of<A: Addr>(h: &TupleHasher, e: &Entry<A>) -> u32 {
    let client = h.client(e.proto, e.caddr, e.cport);
    (h.tuple(client, e.daddr, e.dport) >> 32) as u32
}

#[inline]
fn entry_at<A>(chunks: &[Chunk<A>], id: u32) -> Option<&Entry<A>> {
    let i = id as usize;
    chunks.get(i / CHUNK).map(|c| &c.slots[i % CHUNK])
}

/// Every live entry with its id.
fn live_entries<A: Addr>(chunks: &[Chunk<A>]) -> impl Iterator<Item = (u32, &Entry<A>)> {
    chunks.iter().enumerate().flat_map(|(c, chunk)| {
        chunk
            .slots
            .iter()
            .enumerate()
            .filter(|(_, e)| e.live())
            .map(move |(off, e)| ((c * CHUNK + off) as u32, e))
    })
}

impl<A: Addr> Table<A> {
    /// An empty table (no allocation) holding at most `max_entries`.
    pub fn new(hasher: TupleHasher, max_entries: usize) -> Table<A> {
        Table {
            hasher,
            max_entries: max_entries.min(MAX_ID as usize + 1),
            chunks: Vec::new(),
            hint: 0,
            live: 0,
            primary: Index::default(),
            reply: Index::default(),
            wheel: Vec::new(),
            wheel_marks: Vec::new(),
            wheel_tick: 0,
            wheel_started: false,
            scan_cursor: 0,
            batching: false,
        }
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Bytes allocated by this table (what it took from its budget).
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.chunks.len() * chunk_bytes::<A>()
            + self.primary.bytes()
            + self.reply.bytes()
            + wheel_bytes(self.wheel.capacity())
    }

    /// The hash of (protocol, client address, client port).
    #[inline]
    pub fn client_hash(&self, proto: u8, caddr: A, cport: u16) -> u64 {
        self.hasher.client(proto, caddr, cport)
    }

    #[inline]
    fn primary_hash(&self, client: u64, vaddr: A, vport: u16) -> u32 {
        (self.hasher.tuple(client, vaddr, vport) >> 32) as u32
    }

    #[inline]
    fn reply_hash(&self, client: u64, daddr: A, dport: u16) -> u32 {
        (self.hasher.tuple(client, daddr, dport) >> 32) as u32
    }

    #[inline]
    fn slot(&self, id: u32) -> Option<&Entry<A>> {
        let i = id as usize;
        self.chunks.get(i / CHUNK).map(|c| &c.slots[i % CHUNK])
    }

    #[inline]
    fn slot_mut(&mut self, id: u32) -> Option<&mut Entry<A>> {
        let i = id as usize;
        self.chunks
            .get_mut(i / CHUNK)
            .map(|c| &mut c.slots[i % CHUNK])
    }

    /// The live entry `id`.
    #[inline]
    pub fn get(&self, id: u32) -> Option<&Entry<A>> {
        self.slot(id).filter(|e| e.live())
    }

    /// The live entry `id`, to change fields that are not part of a key or of the timer
    /// (state, flags other than the forwarding method, counters). Use [`Table::arm`] for
    /// the expiry and [`Table::rekey`] for key fields.
    #[inline]
    pub fn get_mut(&mut self, id: u32) -> Option<&mut Entry<A>> {
        self.slot_mut(id).filter(|e| e.live())
    }

    /// The entry with primary key `key`; `client` is [`Table::client_hash`] of it.
    #[inline]
    pub fn find(&self, key: &Key<A>, client: u64) -> Option<u32> {
        let h = self.primary_hash(client, key.vaddr, key.vport);
        self.primary
            .find(h, |id| self.slot(id).is_some_and(|e| e.has_key(key)))
    }

    /// The NAT connection whose reply tuple is `key`.
    #[inline]
    pub fn find_reply(&self, key: &ReplyKey<A>, client: u64) -> Option<u32> {
        let h = self.reply_hash(client, key.daddr, key.dport);
        self.reply
            .find(h, |id| self.slot(id).is_some_and(|e| e.has_reply_key(key)))
    }

    /// Makes sure that one [`Table::insert`] (with a reply index entry if `reply`) needs no
    /// allocation the budget refuses. False if the budget (or the table's size limit)
    /// refuses it; nothing is then changed.
    pub fn reserve(&mut self, budget: &MemoryBudget, reply: bool) -> bool {
        let need_chunk = self.chunks[self.hint.min(self.chunks.len())..]
            .iter()
            .all(Chunk::full);
        let mut take = 0usize;
        if need_chunk {
            if (self.chunks.len() + 1) * CHUNK > self.max_entries {
                return false;
            }
            take += chunk_bytes::<A>();
        }
        let grow = |idx: &Index| {
            idx.size_for_insert()
                .map(|n| (n, Index::bytes_for(n).saturating_sub(idx.bytes())))
        };
        let primary = grow(&self.primary);
        let reply_grow = if reply { grow(&self.reply) } else { None };
        take += primary.map_or(0, |g| g.1) + reply_grow.map_or(0, |g| g.1);
        let wheel = if self.wheel.is_empty() {
            wheel_bytes(WHEEL_SLOTS)
        } else {
            0
        };
        take += wheel;
        if take > 0 && !budget.try_take(take) {
            return false;
        }
        if need_chunk {
            self.chunks.push(Chunk::new());
        }
        if primary.is_some() || reply_grow.is_some() {
            self.rebuild_indexes(primary.map(|g| g.0), reply_grow.map(|g| g.0));
        }
        if wheel > 0 {
            self.wheel = vec![NIL; WHEEL_SLOTS];
            self.wheel_marks = vec![0; WHEEL_SLOTS / 64];
        }
        true
    }

    /// Stores `e` (made live), indexes it and files it under its expiry; `now` is the
    /// current tick. None when no room was reserved.
    pub fn insert(&mut self, mut e: Entry<A>, now: u32) -> Option<u32> {
        if self.wheel.is_empty() {
            return None;
        }
        let c = (self.hint..self.chunks.len()).find(|&c| !self.chunks[c].full())?;
        self.hint = c;
        let chunk = &mut self.chunks[c];
        let off = chunk.take();
        if chunk.full() {
            self.hint = c + 1;
        }
        let id = (c * CHUNK) as u32 + off;
        e.flags = (e.flags | flags::LIVE) & !IN_WHEEL;
        let client = self.client_hash(e.proto, e.caddr, e.cport);
        let ph = self.primary_hash(client, e.vaddr, e.vport);
        let rh = e
            .indexed_reply()
            .then(|| self.reply_hash(client, e.daddr, e.dport));
        let expires = e.expires;
        self.chunks[c].slots[off as usize] = e;
        self.live += 1;
        let indexed = self.primary.insert(ph, id) && rh.is_none_or(|rh| self.reply.insert(rh, id));
        if !indexed {
            // No room was reserved: take it back out.
            self.unindex(id);
            self.free_slot(id);
            return None;
        }
        self.start_wheel(now);
        self.file(id, expires);
        Some(id)
    }

    /// Removes entry `id` from the table and returns it.
    pub fn remove(&mut self, id: u32, budget: &MemoryBudget) -> Option<Entry<A>> {
        let e = *self.get(id)?;
        if e.flags & IN_WHEEL != 0 {
            self.unlink(id);
        }
        self.unindex_entry(id, &e);
        self.free_slot(id);
        if !self.batching {
            self.release(budget);
        }
        Some(e)
    }

    /// Runs `f` (a run of removals, such as an expiry pass) on this table and gives back
    /// the memory they freed once at the end: the indexes shrink once to their final size
    /// (not once per halving), and not at all when the table empties.
    pub fn batch<R>(&mut self, budget: &MemoryBudget, f: impl FnOnce(&mut Table<A>) -> R) -> R {
        let outer = self.batching;
        self.batching = true;
        let r = f(self);
        self.batching = outer;
        if !outer {
            self.release(budget);
        }
        r
    }

    /// Takes live entry `id` out of both indexes.
    fn unindex(&mut self, id: u32) {
        if let Some(e) = entry_at(&self.chunks, id).copied() {
            self.unindex_entry(id, &e);
        }
    }

    /// Takes entry `id`, whose fields are `e`, out of both indexes (one probe each: the
    /// index leaves a tombstone and reads no other entry).
    fn unindex_entry(&mut self, id: u32, e: &Entry<A>) {
        let client = self.hasher.client(e.proto, e.caddr, e.cport);
        self.primary
            .remove(self.primary_hash(client, e.vaddr, e.vport), id);
        if e.indexed_reply() {
            self.reply
                .remove(self.reply_hash(client, e.daddr, e.dport), id);
        }
    }

    /// Puts live entry `id` into both indexes (room was made). An index whose tombstones
    /// leave no room is rebuilt at its size instead, which takes `id` in with the others.
    fn index(&mut self, id: u32) {
        let Some(e) = self.get(id).copied() else {
            return;
        };
        if !self.primary.insert(primary_of(&self.hasher, &e), id) {
            self.rebuild_indexes(Some(self.primary.slot_count()), None);
        }
        if e.indexed_reply() && !self.reply.insert(reply_of(&self.hasher, &e), id) {
            self.rebuild_indexes(None, Some(self.reply.slot_count()));
        }
    }

    /// Returns slot `id` to its chunk's free list.
    fn free_slot(&mut self, id: u32) {
        let i = id as usize;
        let (c, off) = (i / CHUNK, i % CHUNK);
        let Some(chunk) = self.chunks.get_mut(c) else {
            return;
        };
        if !chunk.slots[off].live() {
            return;
        }
        chunk.slots[off].flags = 0;
        chunk.slots[off].next = chunk.free;
        chunk.free = off as u32;
        chunk.live -= 1;
        self.live -= 1;
        self.hint = self.hint.min(c);
    }

    /// Rebuilds the primary index with `primary` slots and the reply index with `reply`
    /// slots (either or both), in one pass over the entries.
    fn rebuild_indexes(&mut self, primary: Option<usize>, reply: Option<usize>) {
        let Table {
            primary: pidx,
            reply: ridx,
            chunks,
            hasher,
            ..
        } = self;
        if let Some(n) = primary {
            pidx.reset(n);
        }
        if let Some(n) = reply {
            ridx.reset(n);
        }
        for (id, e) in live_entries(chunks) {
            let client = hasher.client(e.proto, e.caddr, e.cport);
            if primary.is_some() {
                pidx.refill((hasher.tuple(client, e.vaddr, e.vport) >> 32) as u32, id);
            }
            if reply.is_some() && e.indexed_reply() {
                ridx.refill((hasher.tuple(client, e.daddr, e.dport) >> 32) as u32, id);
            }
        }
    }

    /// Gives back trailing empty chunks and oversized indexes.
    fn release(&mut self, budget: &MemoryBudget) {
        while self.chunks.last().is_some_and(|c| c.live == 0) {
            self.chunks.pop();
            budget.give(chunk_bytes::<A>());
        }
        let before = self.primary.bytes() + self.reply.bytes();
        if self.live == 0 {
            self.primary.free();
            self.reply.free();
        } else {
            let primary = Self::shrunk(&self.primary);
            let reply = Self::shrunk(&self.reply);
            if primary.is_some() || reply.is_some() {
                self.rebuild_indexes(primary, reply);
            }
        }
        let freed = before.saturating_sub(self.primary.bytes() + self.reply.bytes());
        if freed > 0 {
            // The budget is shared by every thread: no atomic write for nothing.
            budget.give(freed);
        }
        if self.live == 0 && !self.wheel.is_empty() {
            budget.give(wheel_bytes(self.wheel.capacity()));
            self.wheel = Vec::new();
            self.wheel_marks = Vec::new();
            self.wheel_started = false;
        }
    }

    /// The size `idx` shrinks to after removals, if it shrinks: halved while it is below
    /// 1/8 load.
    fn shrunk(idx: &Index) -> Option<usize> {
        let mut n = idx.size_after_remove()?;
        while let Some(half) = idx.size_after_remove_at(n) {
            n = half;
        }
        Some(n)
    }

    /// Changes key fields of entry `id` (the kernel's unhash, edit, rehash): `edit` may
    /// change anything but the forwarding method and the template flag.
    pub fn rekey(&mut self, id: u32, edit: impl FnOnce(&mut Entry<A>)) {
        let Some(e) = self.get(id).copied() else {
            return;
        };
        self.unindex(id);
        let Some(slot) = self.get_mut(id) else {
            return;
        };
        edit(slot);
        slot.flags = (slot.flags & !(flags::FWD_MASK | flags::TEMPLATE))
            | (e.flags & (flags::FWD_MASK | flags::TEMPLATE));
        self.index(id);
    }

    fn start_wheel(&mut self, now: u32) {
        if !self.wheel_started {
            self.wheel_started = true;
            self.wheel_tick = now.wrapping_sub(1);
        }
    }

    /// Files `id` under tick `at` (or the next unprocessed tick if `at` has passed).
    fn file(&mut self, id: u32, at: u32) {
        let next_tick = self.wheel_tick.wrapping_add(1);
        let at = if tick_le(at, self.wheel_tick) {
            next_tick
        } else {
            at
        };
        let bucket = (at & WHEEL_MASK) as usize;
        if let Some(w) = self.wheel_marks.get_mut(bucket / 64) {
            *w |= 1 << (bucket % 64);
        }
        let head = self.wheel[bucket];
        if let Some(h) = self.slot_mut(head) {
            h.prev = id;
        }
        if let Some(e) = self.slot_mut(id) {
            e.filed = at;
            e.prev = NIL;
            e.next = head;
            e.flags |= IN_WHEEL;
        }
        self.wheel[bucket] = id;
    }

    fn unlink(&mut self, id: u32) {
        let Some(e) = self.slot(id).copied() else {
            return;
        };
        if e.prev == NIL {
            let bucket = (e.filed & WHEEL_MASK) as usize;
            if let Some(h) = self.wheel.get_mut(bucket) {
                *h = e.next;
            }
        } else if let Some(p) = self.slot_mut(e.prev) {
            p.next = e.next;
        }
        if let Some(n) = self.slot_mut(e.next) {
            n.prev = e.prev;
        }
        if let Some(e) = self.slot_mut(id) {
            e.flags &= !IN_WHEEL;
            e.prev = NIL;
            e.next = NIL;
        }
    }

    /// Re-arms entry `e` of this table in place when `expires` is not earlier than the tick
    /// it is filed under (the common case: a packet pushes the expiry later), which needs no
    /// change to the wheel. False if [`Table::arm`] must do it.
    #[inline]
    pub fn rearm_later(e: &mut Entry<A>, expires: u32) -> bool {
        if e.flags & IN_WHEEL != 0 && tick_le(e.filed, expires) {
            e.expires = expires;
            true
        } else {
            false
        }
    }

    /// Sets entry `id` to expire at tick `expires` (the kernel's `mod_timer`).
    pub fn arm(&mut self, id: u32, expires: u32) {
        let Some(e) = self.get_mut(id) else {
            return;
        };
        e.expires = expires;
        let filed = e.flags & IN_WHEEL != 0;
        if filed && tick_le(e.filed, expires) {
            // Later than where it is filed: moved when that bucket comes round.
            return;
        }
        if filed {
            self.unlink(id);
        }
        if !self.wheel.is_empty() {
            self.file(id, expires);
        }
    }

    /// Advances the wheel to tick `now` and appends to `out` every entry that has expired
    /// by then. Those entries are taken off the wheel but stay in the table: the caller
    /// removes each one or re-arms it.
    pub fn take_expired(&mut self, now: u32, out: &mut Vec<u32>) {
        if self.wheel.is_empty() {
            return;
        }
        if !self.wheel_started {
            self.start_wheel(now);
            return;
        }
        let gap = now.wrapping_sub(self.wheel_tick);
        if gap as i32 <= 0 {
            return;
        }
        // Buckets are visited in tick order, skipping those marked empty (a sweep may file
        // entries into buckets still ahead: the marks are read as the walk goes).
        if gap as usize >= WHEEL_SLOTS {
            let mut bucket = 0;
            while bucket < WHEEL_SLOTS {
                let ahead = self.marks_from(bucket);
                if ahead == 0 {
                    bucket = (bucket / 64 + 1) * 64;
                    continue;
                }
                bucket += ahead.trailing_zeros() as usize;
                self.sweep(bucket, now, now, out);
                bucket += 1;
            }
        } else {
            let base = self.wheel_tick;
            let mut step = 1;
            while step <= gap {
                let t = base.wrapping_add(step);
                let bucket = (t & WHEEL_MASK) as usize;
                let ahead = self.marks_from(bucket);
                if ahead == 0 {
                    step += 64 - (bucket % 64) as u32;
                    continue;
                }
                let skip = ahead.trailing_zeros();
                if skip > 0 {
                    step += skip;
                    continue;
                }
                self.sweep(bucket, t, now, out);
                step += 1;
            }
        }
        self.wheel_tick = now;
    }

    /// Visits the bucket of tick `t`: entries filed up to `t` have either expired by `now`
    /// (taken out) or were re-armed later (filed again under their expiry).
    fn sweep(&mut self, bucket: usize, t: u32, now: u32, out: &mut Vec<u32>) {
        let mut id = self.wheel[bucket];
        while let Some(e) = self.slot(id) {
            let (next, filed, expires) = (e.next, e.filed, e.expires);
            if tick_le(filed, t) {
                self.unlink(id);
                if tick_le(expires, now) {
                    out.push(id);
                } else {
                    self.file(id, expires);
                }
            }
            id = next;
        }
        if self.wheel[bucket] == NIL {
            if let Some(w) = self.wheel_marks.get_mut(bucket / 64) {
                *w &= !(1 << (bucket % 64));
            }
        }
    }

    /// The marks of bucket `bucket` and of the later buckets of its word, shifted so that
    /// bit 0 is `bucket`'s.
    #[inline]
    fn marks_from(&self, bucket: usize) -> u64 {
        self.wheel_marks
            .get(bucket / 64)
            .map_or(0, |w| w >> (bucket % 64))
    }

    /// Ids of every live entry, in storage order.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.chunks.iter().enumerate().flat_map(|(c, chunk)| {
            chunk
                .slots
                .iter()
                .enumerate()
                .filter(|(_, e)| e.live())
                .map(move |(off, _)| (c * CHUNK + off) as u32)
        })
    }

    /// The ids a defensive scan looks at this round: the next `1/parts` of the slots,
    /// wrapping round (the kernel scans a random 1/32 of its buckets each second).
    pub fn scan_window(&mut self, parts: usize) -> Vec<u32> {
        let cap = self.chunks.len() * CHUNK;
        if cap == 0 {
            return Vec::new();
        }
        let n = cap.div_ceil(parts.max(1));
        let start = self.scan_cursor % cap;
        self.scan_cursor = (start + n) % cap;
        (0..n)
            .map(|k| ((start + k) % cap) as u32)
            .filter(|&id| self.get(id).is_some())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::addr::V4;
    use super::*;

    fn entry(cport: u16, expires: u32, nat: bool) -> Entry<V4> {
        Entry {
            proto: 6,
            caddr: V4(0xc612_0001),
            cport,
            vaddr: V4(0xc612_0101),
            vport: 80,
            daddr: V4(0xc613_0001),
            dport: 8080,
            flags: if nat { 0 } else { 3 | flags::NOOUTPUT },
            expires,
            ..Entry::default()
        }
    }

    fn key(cport: u16) -> Key<V4> {
        Key {
            proto: 6,
            caddr: V4(0xc612_0001),
            cport,
            vaddr: V4(0xc612_0101),
            vport: 80,
        }
    }

    fn insert(t: &mut Table<V4>, b: &MemoryBudget, e: Entry<V4>, now: u32) -> u32 {
        assert!(t.reserve(b, e.indexed_reply()));
        t.insert(e, now).unwrap()
    }

    #[test]
    fn find_both_ways_and_remove() {
        let b = MemoryBudget::new(usize::MAX);
        let mut t = Table::<V4>::new(TupleHasher::new(9), usize::MAX);
        let nat = insert(&mut t, &b, entry(1000, 100, true), 0);
        let dr = insert(&mut t, &b, entry(1001, 100, false), 0);
        let hasher = TupleHasher::new(9);
        let h = |p| hasher.client(6, V4(0xc612_0001), p);
        assert_eq!(t.find(&key(1000), h(1000)), Some(nat));
        assert_eq!(t.find(&key(1001), h(1001)), Some(dr));
        assert_eq!(t.find(&key(1002), h(1002)), None);
        let rk = |cport| ReplyKey {
            proto: 6,
            caddr: V4(0xc612_0001),
            cport,
            daddr: V4(0xc613_0001),
            dport: 8080,
        };
        assert_eq!(t.find_reply(&rk(1000), h(1000)), Some(nat));
        // Direct-routing connections have no reply index entry.
        assert_eq!(t.find_reply(&rk(1001), h(1001)), None);
        assert_eq!(t.len(), 2);
        let used = b.used();
        assert_eq!(used, t.bytes());
        assert_eq!(t.remove(nat, &b).map(|e| e.cport), Some(1000));
        assert_eq!(t.find(&key(1000), h(1000)), None);
        assert_eq!(t.find_reply(&rk(1000), h(1000)), None);
        assert!(t.remove(nat, &b).is_none());
        t.remove(dr, &b);
        assert_eq!(t.len(), 0);
        // Everything given back once empty.
        assert_eq!(b.used(), t.bytes());
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn wheel_expires_in_order_and_follows_rearms() {
        let b = MemoryBudget::new(usize::MAX);
        let mut t = Table::<V4>::new(TupleHasher::new(9), usize::MAX);
        let a = insert(&mut t, &b, entry(1, 300, true), 0);
        let c = insert(&mut t, &b, entry(2, 500, true), 0);
        let d = insert(&mut t, &b, entry(3, 10_000, true), 0);
        let mut out = Vec::new();
        t.take_expired(299, &mut out);
        assert!(out.is_empty());
        // Extending a (lazily) and shortening d (at once).
        t.arm(a, 600);
        t.arm(d, 400);
        t.take_expired(450, &mut out);
        assert_eq!(out, vec![d]);
        out.clear();
        t.take_expired(599, &mut out);
        assert_eq!(out, vec![c]);
        out.clear();
        // A long jump covers a whole turn of the wheel.
        t.take_expired(600 + 3 * WHEEL_SLOTS as u32, &mut out);
        assert_eq!(out, vec![a]);
        for id in [a, c, d] {
            t.remove(id, &b);
        }
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn wheel_survives_tick_wraparound() {
        let b = MemoryBudget::new(usize::MAX);
        let mut t = Table::<V4>::new(TupleHasher::new(9), usize::MAX);
        let start = u32::MAX - 100;
        let a = insert(&mut t, &b, entry(1, start.wrapping_add(200), true), start);
        let mut out = Vec::new();
        t.take_expired(start.wrapping_add(199), &mut out);
        assert!(out.is_empty());
        t.take_expired(start.wrapping_add(200), &mut out);
        assert_eq!(out, vec![a]);
    }

    #[test]
    fn budget_refuses_and_chunks_come_back() {
        let per_chunk = chunk_bytes::<V4>();
        let wheel = WHEEL_SLOTS * 4;
        // Room for one chunk, the wheel and small indexes, not for a second chunk.
        let b = MemoryBudget::new(per_chunk + wheel + 4096 * 8);
        let mut t = Table::<V4>::new(TupleHasher::new(3), usize::MAX);
        let mut ids = Vec::new();
        for p in 0..CHUNK as u16 {
            ids.push(insert(&mut t, &b, entry(p, 100, false), 0));
        }
        assert!(!t.reserve(&b, false));
        assert_eq!(t.len(), CHUNK);
        assert!(b.used() <= b.limit());
        for id in ids {
            t.remove(id, &b);
        }
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn rekey_moves_the_index_entry() {
        let b = MemoryBudget::new(usize::MAX);
        let mut t = Table::<V4>::new(TupleHasher::new(9), usize::MAX);
        let a = insert(&mut t, &b, entry(1, 300, false), 0);
        t.rekey(a, |e| {
            e.vport = 0xffff;
            e.cport = 0;
        });
        let h0 = t.client_hash(6, V4(0xc612_0001), 0);
        assert_eq!(t.find(&key(1), t.client_hash(6, V4(0xc612_0001), 1)), None);
        let k = Key {
            cport: 0,
            vport: 0xffff,
            ..key(0)
        };
        assert_eq!(t.find(&k, h0), Some(a));
    }
}

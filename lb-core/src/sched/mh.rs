//! mh — Maglev hashing (spec §3.12, kernel `ip_vs_mh.c`).
//!
//! A lookup table of M slots, M the prime chosen by the table index (default 12 → 4093),
//! each slot naming a destination. Every destination has a preference permutation of the
//! slots, `offset + k·skip (mod M)`, where offset and skip are [`hsiphash`] values of its
//! address and port under the two fixed keys of ip_vs_mh.c. The table is populated in rounds
//! over the list, head first: each destination in turn claims its next free preferred slot,
//! `turns` times per round, `turns` coming from its `last_weight` divided by the GCD of all
//! `last_weight`s and shifted right until the largest fits in `index / 2` bits. A destination
//! added with weight 0 has no slots; one edited to weight 0 keeps its slots (its `last_weight`
//! stays) and is merely unavailable. The table is rebuilt completely on every add, delete and
//! edit; with more destinations than slots the kernel refuses (EINVAL) and keeps the old table.
//!
//! A client lands in slot `hsiphash(port + folded source address) mod M` (the port only with
//! `mh-port`). The destination there must have weight > 0 and no OVERLOAD; otherwise there is
//! none, unless `mh-fallback` is set: then for k = 0..M−1 the slot of the hash of
//! `(k + h) mod M + port + address` is tried — a fresh hash per probe — and an empty slot ends
//! the search.

use std::fmt;

use super::sh::is_unavailable;
use super::{SchedFlags, SchedInput, Scheduler};
use crate::dest::Destination;
use crate::error::Error;
use crate::hash::{fold_addr, fold_addr_for, hsiphash, mh_value, MH_KEY1, MH_KEY2};
use crate::service::{DestList, Family};

/// The table sizes of ip_vs_mh.c (`primes[]`), for table indexes 8 to 17.
pub const MH_PRIMES: [u32; 10] = [
    251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
];

/// The default table index (Kconfig `IP_VS_MH_TAB_INDEX`): 4093 slots.
pub const MH_DEFAULT_TAB_INDEX: u8 = 12;

/// The number of slots for a table index (8..=17), or [`Error::Invalid`] outside that range.
pub fn table_size(table_index: u8) -> Result<u32, Error> {
    table_index
        .checked_sub(8)
        .and_then(|i| MH_PRIMES.get(usize::from(i)))
        .copied()
        .ok_or(Error::Invalid)
}

/// The permutation of a destination in a table of `size` slots: `(offset, skip)`, with
/// `offset = hsiphash_K1(v) mod size` and `skip = hsiphash_K2(v) mod (size − 1) + 1`, where
/// `v = port + folded address` (`ip_vs_mh_permutate`). `addr_fold` is the address folded for
/// the service's family ([`crate::hash::fold_addr_for`]). `size` must be at least 2.
pub fn permutation(addr_fold: u32, port: u16, size: u32) -> (u32, u32) {
    let v = mh_value(addr_fold, port, 0);
    let size = size.max(2);
    let offset = hsiphash(v, &MH_KEY1) % size;
    let skip = hsiphash(v, &MH_KEY2) % (size - 1) + 1;
    (offset, skip)
}

/// The slot a client hashes to (`ip_vs_mh_hashkey` with the first key, mod M); `offset` is 0
/// for the first lookup and the probe offset for mh-fallback.
pub fn lookup_slot(addr_fold: u32, port: u16, offset: u32, size: u32) -> u32 {
    hsiphash(mh_value(addr_fold, port, offset), &MH_KEY1) % size.max(1)
}

/// Marks a slot no destination owns (only while the table is empty).
const NO_OWNER: u32 = u32::MAX;

/// Words of the occupancy bitmap of the largest table (131071 slots).
const TAKEN_WORDS: usize = 2048;

/// Free slots left when population stops probing preference lists and instead picks, among
/// the few free slots, the one that comes first in the claimer's preference list.
const TAIL_SLOTS: u32 = 192;

/// Per-destination population state (`struct ip_vs_mh_dest_setup`).
#[derive(Debug, Clone, Copy, Default)]
struct DestSetup {
    /// Next preferred slot to try. The kernel leaves `perm` on the slot it just claimed and
    /// steps over it at the next claim; lb steps right after claiming (same sequence).
    perm: u32,
    /// Slots claimed per round.
    turns: u32,
    /// `k·skip mod M` for k = 0..3: four consecutive preferences are tested at once.
    mult: [u32; 4],
    /// `4·skip mod M`.
    step: u32,
}

impl DestSetup {
    fn new(offset: u32, skip: u32, turns: u32, size: u32) -> Self {
        let s2 = add_mod(skip, skip, size);
        let s3 = add_mod(s2, skip, size);
        DestSetup {
            perm: offset,
            turns,
            mult: [0, skip, s2, s3],
            step: add_mod(s3, skip, size),
        }
    }
    fn skip(&self) -> u32 {
        self.mult[1]
    }
}

/// `(a + b) mod m` for `a, b < m`. Branch-free: the condition is a coin toss on random
/// preference lists, and a mispredicted branch would cost more than the whole step.
#[inline(always)]
fn add_mod(a: u32, b: u32, m: u32) -> u32 {
    let t = a + b;
    std::hint::select_unpredictable(t >= m, t.wrapping_sub(m), t)
}

/// 1 if `slot` is claimed.
#[inline(always)]
fn is_taken(taken: &[u64; TAKEN_WORDS], slot: u32) -> u64 {
    (taken[(slot >> 6) as usize & (TAKEN_WORDS - 1)] >> (slot & 63)) & 1
}

/// The first free slot of a destination's preference list from its `perm` on: the kernel's
/// `while (test_bit(c, table)) c = (c + skip) mod M`, four preferences per step. There must
/// be a free slot (the list visits every slot: the skip is coprime with the prime size).
#[inline(always)]
fn first_free_by_probing(taken: &[u64; TAKEN_WORDS], ds: &DestSetup, m: u32) -> u32 {
    let mut c = ds.perm;
    loop {
        let busy = is_taken(taken, c)
            | is_taken(taken, add_mod(c, ds.mult[1], m)) << 1
            | is_taken(taken, add_mod(c, ds.mult[2], m)) << 2
            | is_taken(taken, add_mod(c, ds.mult[3], m)) << 3;
        let free = !busy & 0b1111;
        if free != 0 {
            return add_mod(c, ds.mult[(free.trailing_zeros() & 3) as usize], m);
        }
        c = add_mod(c, ds.step, m);
    }
}

/// The inverse of `a` modulo the prime `m` (extended Euclid), for `0 < a < m`.
fn inverse_mod(a: u32, m: u32) -> u32 {
    let (mut r0, mut r1) = (i64::from(m), i64::from(a));
    let (mut t0, mut t1) = (0i64, 1i64);
    while r1 != 0 {
        let q = r0 / r1;
        (r0, r1) = (r1, r0 - q * r1);
        (t0, t1) = (t1, t0 - q * t1);
    }
    t0.rem_euclid(i64::from(m)) as u32
}

/// Among the free slots, the index of the one that comes first in a destination's preference
/// list from its `perm` on: slot `f` is `((f − perm) · skip⁻¹) mod M` steps away, and the
/// probing loop would stop at the nearest. The same answer as probing, in O(free slots).
fn nearest_free(free: &[u32], ds: &DestSetup, m: u32) -> usize {
    let inv = u64::from(inverse_mod(ds.skip(), m));
    let m64 = u64::from(m);
    // Barrett reduction of products below 2^34: the quotient estimate is exact or one short.
    let magic = u64::MAX / m64;
    let mut best = (u64::MAX, 0);
    for (j, &f) in free.iter().enumerate() {
        let x = u64::from(add_mod(f, m - ds.perm, m)) * inv;
        let q = ((u128::from(x) * u128::from(magic)) >> 64) as u64;
        let mut steps = x - q * m64;
        if steps >= m64 {
            steps -= m64;
        }
        if steps < best.0 {
            best = (steps, j);
        }
    }
    best.1
}

/// Whose turn it is during population, and how many slots are claimed.
struct Cursor {
    dest: usize,
    turn: u32,
    filled: u32,
}

/// Claims `slot` for the destination whose turn it is, and moves to the next claimer: the same
/// destination until it has claimed `turns` slots this round, then the next one with turns,
/// cyclically.
#[inline(always)]
fn claim(
    cur: &mut Cursor,
    setup: &mut [DestSetup],
    slots: &mut [u32],
    taken: &mut [u64; TAKEN_WORDS],
    slot: u32,
    m: u32,
) {
    taken[(slot >> 6) as usize & (TAKEN_WORDS - 1)] |= 1 << (slot & 63);
    if let Some(s) = slots.get_mut(slot as usize) {
        *s = cur.dest as u32;
    }
    let n = setup.len();
    let ds = &mut setup[cur.dest];
    ds.perm = add_mod(slot, ds.skip(), m);
    let turns = ds.turns;
    cur.filled += 1;
    cur.turn += 1;
    if cur.turn >= turns {
        cur.turn = 0;
        // Some destination has turns (the caller checked), so this ends.
        loop {
            cur.dest += 1;
            if cur.dest == n {
                cur.dest = 0;
            }
            if setup[cur.dest].turns != 0 {
                break;
            }
        }
    }
}

/// `ip_vs_mh_populate`: rounds over the list, each destination claiming `turns` free slots
/// along its preference list, until all `m` slots are claimed. Probing finds the next free
/// preference while many slots are free; for the last [`TAIL_SLOTS`] the nearest free slot
/// is computed instead (probing would take M/free steps per claim).
fn populate(
    setup: &mut [DestSetup],
    m: u32,
    slots: &mut [u32],
    taken: &mut [u64; TAKEN_WORDS],
    free: &mut Vec<u32>,
) {
    taken.fill(0);
    let Some(first) = setup.iter().position(|d| d.turns > 0) else {
        return;
    };
    let mut cur = Cursor {
        dest: first,
        turn: 0,
        filled: 0,
    };
    let probe_until = m.saturating_sub(TAIL_SLOTS);
    while cur.filled < probe_until {
        let slot = first_free_by_probing(taken, &setup[cur.dest], m);
        claim(&mut cur, setup, slots, taken, slot, m);
    }
    free.clear();
    for (w, &bits) in taken.iter().enumerate().take((m as usize).div_ceil(64)) {
        let mut unclaimed = !bits;
        while unclaimed != 0 {
            let slot = w as u32 * 64 + unclaimed.trailing_zeros();
            if slot >= m {
                break;
            }
            free.push(slot);
            unclaimed &= unclaimed - 1;
        }
    }
    while cur.filled < m && !free.is_empty() {
        let j = nearest_free(free, &setup[cur.dest], m);
        let slot = free.swap_remove(j);
        claim(&mut cur, setup, slots, taken, slot, m);
    }
}

/// A Maglev lookup table: slot → destination.
///
/// Destinations are named by their `link_seq` ([`Destination::link_seq`]), which survives
/// list changes; map one back to a list position with [`DestList::position_of_seq`].
#[derive(Clone)]
pub struct MhTable {
    size: u32,
    /// Half the table index: the bit width `turns` are shifted into (`IP_VS_MH_TAB_BITS`).
    tab_bits: u32,
    /// Slot → index into `members`, or [`NO_OWNER`].
    slots: Vec<u32>,
    /// `link_seq`s of the destinations the table was built from, in list order.
    members: Vec<u64>,
    /// Scratch kept between rebuilds so a rebuild allocates nothing.
    setup: Vec<DestSetup>,
    taken: Box<[u64; TAKEN_WORDS]>,
    free: Vec<u32>,
}

impl MhTable {
    /// An empty table for a table index (8..=17).
    pub fn empty(table_index: u8) -> Result<Self, Error> {
        let size = table_size(table_index)?;
        Ok(MhTable {
            size,
            tab_bits: u32::from(table_index / 2),
            slots: vec![NO_OWNER; size as usize],
            members: Vec::new(),
            setup: Vec::new(),
            taken: Box::new([0; TAKEN_WORDS]),
            free: Vec::new(),
        })
    }

    /// Builds the table the kernel builds for `dests`, folding every address in its own
    /// family (see [`MhTable::rebuild`] for services with real servers of the other family).
    pub fn build(dests: &DestList, table_index: u8) -> Result<Self, Error> {
        let mut t = MhTable::empty(table_index)?;
        t.rebuild(dests, None)?;
        Ok(t)
    }

    /// Number of slots (M).
    pub fn size(&self) -> usize {
        self.size as usize
    }

    /// The `link_seq` of the destination owning `slot`, or `None` for an empty table or a
    /// slot out of range.
    pub fn owner(&self, slot: usize) -> Option<u64> {
        let i = *self.slots.get(slot)?;
        self.members.get(i as usize).copied()
    }

    /// Every slot's owner, slot 0 first.
    pub fn owners(&self) -> impl ExactSizeIterator<Item = Option<u64>> + '_ {
        self.slots
            .iter()
            .map(|&i| self.members.get(i as usize).copied())
    }

    /// How many slots each destination of the build owns: `(link_seq, slots)` in list order
    /// at the time of the build, destinations without slots included (with 0).
    pub fn slot_counts(&self) -> Vec<(u64, usize)> {
        let mut counts = vec![0usize; self.members.len()];
        for &i in &self.slots {
            if let Some(c) = counts.get_mut(i as usize) {
                *c += 1;
            }
        }
        self.members.iter().copied().zip(counts).collect()
    }

    /// Rebuilds the table for `dests` (`ip_vs_mh_dest_changed`: GCD, shift, permutations,
    /// population). `family` is the service's family when known: the kernel folds every
    /// destination address by the service's family (it matters only for IPv6 real servers of
    /// an IPv4 service); `None` folds each address in its own family.
    ///
    /// With more destinations than slots this is [`Error::Invalid`] and the table is left as
    /// it was, as the kernel leaves it.
    pub fn rebuild(&mut self, dests: &DestList, family: Option<Family>) -> Result<(), Error> {
        if dests.len() > self.size as usize {
            return Err(Error::Invalid);
        }
        let gcd = dests
            .iter()
            .map(Destination::last_weight)
            .filter(|&w| w > 0)
            .fold(0, gcd);
        self.members.clear();
        self.members.extend(dests.iter().map(Destination::link_seq));
        if gcd == 0 {
            // No destination, or every last_weight is 0: ip_vs_mh_reset.
            self.slots.fill(NO_OWNER);
            return Ok(());
        }
        let max_weight = dests
            .iter()
            .map(Destination::last_weight)
            .max()
            .unwrap_or(0);
        let shift = fls(max_weight / gcd).saturating_sub(self.tab_bits);
        self.setup.clear();
        let size = self.size;
        self.setup.extend(dests.iter().map(|d| {
            let fold = match family {
                Some(f) => fold_addr_for(&d.addr(), f),
                None => fold_addr(&d.addr()),
            };
            let (offset, skip) = permutation(fold, d.port(), size);
            let lw = d.last_weight();
            let turns = match (lw / gcd) >> shift {
                0 => u32::from(lw != 0),
                t => t,
            };
            DestSetup::new(offset, skip, turns, size)
        }));
        populate(
            &mut self.setup,
            self.size,
            &mut self.slots,
            &mut self.taken,
            &mut self.free,
        );
        Ok(())
    }
}

impl fmt::Debug for MhTable {
    /// A summary: the size and how many slots each destination owns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MhTable")
            .field("size", &self.size)
            .field("slot_counts", &self.slot_counts())
            .finish()
    }
}

/// Greatest common divisor (`gcd` of lib/math/gcd.c for positive values).
fn gcd(a: u32, b: u32) -> u32 {
    if a == 0 {
        return b;
    }
    let (mut a, mut b) = (a, b);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `fls`: the position of the most significant set bit, 1-based; 0 for 0.
fn fls(x: u32) -> u32 {
    32 - x.leading_zeros()
}

/// How a table changes when some destinations leave: see [`slots_moved`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disruption {
    /// Slots in the table (M).
    pub slots: usize,
    /// Slots whose owner differs between the two tables.
    pub moved: usize,
    /// Of those, the slots the removed destinations owned (they must move).
    pub of_removed: usize,
    /// Of those, the slots whose owner stayed in the list but lost the slot anyway.
    pub collateral: usize,
}

/// For a set of servers, how many Maglev slots change owner when the destinations at list
/// positions `removed` are deleted (each table built as the kernel builds it, default
/// family folding). Out-of-range and repeated positions are ignored.
///
/// ```
/// use lb_core::{DestConf, DestList, Destination};
/// use lb_core::sched::mh::slots_moved;
/// let dests = DestList::from_list_order(
///     (1..=10u32)
///         .map(|i| {
///             let addr = format!("198.19.0.{i}").parse().unwrap();
///             Destination::detached(addr, 80, DestConf::default(), 0)
///         })
///         .collect(),
/// );
/// let d = slots_moved(&dests, &[3], 12).unwrap();
/// assert_eq!(d.slots, 4093);
/// assert_eq!(d.moved, d.of_removed + d.collateral);
/// assert!(d.of_removed >= 409 && d.of_removed <= 410);
/// ```
pub fn slots_moved(
    dests: &DestList,
    removed: &[usize],
    table_index: u8,
) -> Result<Disruption, Error> {
    let before = MhTable::build(dests, table_index)?;
    let mut remaining = dests.clone();
    let mut positions: Vec<usize> = removed
        .iter()
        .copied()
        .filter(|&p| p < dests.len())
        .collect();
    positions.sort_unstable();
    positions.dedup();
    let mut gone = Vec::with_capacity(positions.len());
    // Highest position first, so the lower ones stay valid.
    for &p in positions.iter().rev() {
        gone.push(remaining.remove(p).link_seq());
    }
    let after = MhTable::build(&remaining, table_index)?;
    let mut d = Disruption {
        slots: before.size(),
        moved: 0,
        of_removed: 0,
        collateral: 0,
    };
    for (old, new) in before.owners().zip(after.owners()) {
        if old != new {
            d.moved += 1;
            if old.is_some_and(|s| gone.contains(&s)) {
                d.of_removed += 1;
            } else {
                d.collateral += 1;
            }
        }
    }
    Ok(d)
}

/// The Maglev hashing scheduler.
#[derive(Debug, Clone)]
pub struct Mh {
    table: MhTable,
    /// The service's family, learnt from the first packet (the fold of a destination address
    /// depends on it only for mixed-family services).
    family: Option<Family>,
}

impl Mh {
    /// The scheduler for a service whose list is `dests`, with a table of index
    /// `table_index` (8..=17; `ip_vs_mh_init_svc`). [`Error::Invalid`] for another index or
    /// more destinations than slots (EINVAL).
    pub fn new(dests: &DestList, table_index: u8) -> Result<Self, Error> {
        Ok(Mh {
            table: MhTable::build(dests, table_index)?,
            family: None,
        })
    }

    /// The lookup table, for inspection.
    pub fn table(&self) -> &MhTable {
        &self.table
    }

    /// `ip_vs_mh_dest_changed`. A refusal (more destinations than slots) keeps the old table,
    /// as in the kernel, whose callback result is ignored by the caller.
    fn dest_changed(&mut self, dests: &DestList) {
        let _ = self.table.rebuild(dests, self.family);
    }

    /// Who owns `slot`, as a list position.
    fn owner_at(&self, dests: &DestList, slot: u32) -> SlotOwner {
        match self.table.owner(slot as usize) {
            None => SlotOwner::Empty,
            Some(seq) => dests
                .position_of_seq(seq)
                .map_or(SlotOwner::Gone, SlotOwner::At),
        }
    }
}

/// The owner of a slot at lookup time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotOwner {
    /// No owner: the table is empty (ends a fallback search).
    Empty,
    /// An owner no longer in the list — possible only after a refused rebuild. The kernel
    /// would still return that deleted server; lb treats it as unavailable.
    Gone,
    /// The destination at this list position.
    At(usize),
}

impl Scheduler for Mh {
    fn name(&self) -> &'static str {
        "mh"
    }

    fn schedule(&mut self, dests: &DestList, input: &SchedInput) -> Option<usize> {
        let family = Some(Family::of(&input.vaddr));
        if self.family != family {
            // Only IPv6 real servers of an IPv4 service fold differently once the family is
            // known: rebuild then, before the first lookup.
            let v4 = |f: Option<Family>| f == Some(Family::V4);
            let refold = v4(self.family) != v4(family)
                && dests.iter().any(|d| Family::of(&d.addr()) == Family::V6);
            self.family = family;
            if refold {
                self.dest_changed(dests);
            }
        }
        let size = self.table.size;
        let fold = fold_addr(&input.caddr);
        let port = if input.flags.contains(SchedFlags::PORT) {
            input.cport
        } else {
            0
        };
        let usable = |owner: SlotOwner| match owner {
            SlotOwner::At(pos) => dests.get(pos).filter(|d| !is_unavailable(d)).map(|_| pos),
            SlotOwner::Empty | SlotOwner::Gone => None,
        };
        let ihash = lookup_slot(fold, port, 0, size);
        let first = self.owner_at(dests, ihash);
        if !input.flags.contains(SchedFlags::FALLBACK) {
            return usable(first);
        }
        // ip_vs_mh_get_fallback
        if first == SlotOwner::Empty {
            return None;
        }
        if let Some(pos) = usable(first) {
            return Some(pos);
        }
        for k in 0..size {
            let roffset = ((u64::from(k) + u64::from(ihash)) % u64::from(size)) as u32;
            let owner = self.owner_at(dests, lookup_slot(fold, port, roffset, size));
            if owner == SlotOwner::Empty {
                return None;
            }
            if let Some(pos) = usable(owner) {
                return Some(pos);
            }
        }
        None
    }

    fn add_dest(&mut self, dests: &DestList, _pos: usize) {
        self.dest_changed(dests);
    }

    fn del_dest(&mut self, dests: &DestList, _removed: &Destination, _old_pos: usize) {
        self.dest_changed(dests);
    }

    fn upd_dest(&mut self, dests: &DestList, _pos: usize) {
        self.dest_changed(dests);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dest::DestConf;

    fn dests(weights: &[u32]) -> DestList {
        DestList::from_list_order(
            weights
                .iter()
                .enumerate()
                .map(|(i, &w)| {
                    let conf = DestConf {
                        weight: w,
                        ..DestConf::default()
                    };
                    let addr = format!("10.0.{}.{}", i / 250, i % 250 + 1).parse().unwrap();
                    Destination::detached(addr, 80, conf, 0)
                })
                .collect(),
        )
    }

    #[test]
    fn table_sizes() {
        assert_eq!(table_size(8), Ok(251));
        assert_eq!(table_size(12), Ok(4093));
        assert_eq!(table_size(17), Ok(131071));
        assert_eq!(table_size(7), Err(Error::Invalid));
        assert_eq!(table_size(18), Err(Error::Invalid));
    }

    #[test]
    fn gcd_and_fls() {
        assert_eq!(gcd(0, 6), 6);
        assert_eq!(gcd(12, 18), 6);
        assert_eq!(fls(0), 0);
        assert_eq!(fls(1), 1);
        assert_eq!(fls(64), 7);
    }

    #[test]
    fn weights_share_slots_in_proportion() {
        // Weights 3 and 1: turns 3 and 1, so 3/4 and 1/4 of the slots (± one round).
        let l = dests(&[3, 1]);
        let t = MhTable::build(&l, 8).unwrap();
        let counts: Vec<usize> = t.slot_counts().iter().map(|c| c.1).collect();
        assert_eq!(counts.iter().sum::<usize>(), 251);
        assert_eq!(counts, vec![189, 62]);
    }

    #[test]
    fn large_weights_are_shifted_into_tab_bits() {
        // 65535/1: fls = 16, shift = 16 − 6 = 10, turns 63 and 1 (0 rounded up).
        let l = dests(&[65535, 1]);
        let t = MhTable::build(&l, 12).unwrap();
        let counts: Vec<usize> = t.slot_counts().iter().map(|c| c.1).collect();
        assert_eq!(counts, vec![4030, 63]);
    }

    #[test]
    fn more_dests_than_slots_is_invalid() {
        let l = dests(&[1; 252]);
        assert_eq!(Mh::new(&l, 8).unwrap_err(), Error::Invalid);
        assert!(Mh::new(&l, 9).is_ok());
    }

    /// The kernel's population loop, literally: the oracle of the fast one.
    fn kernel_populate(dests: &DestList, table_index: u8) -> Vec<Option<u64>> {
        let m = table_size(table_index).unwrap();
        let tab_bits = u32::from(table_index / 2);
        let g = dests
            .iter()
            .map(|d| d.last_weight())
            .filter(|&w| w > 0)
            .fold(0, gcd);
        if g == 0 {
            return vec![None; m as usize];
        }
        let mw = dests.iter().map(|d| d.last_weight()).max().unwrap();
        let shift = fls(mw / g).saturating_sub(tab_bits);
        let mut ds: Vec<(u32, u32, u32, u64)> = dests
            .iter()
            .map(|d| {
                let (offset, skip) = permutation(fold_addr(&d.addr()), d.port(), m);
                let lw = d.last_weight();
                let t = (lw / g) >> shift;
                (
                    offset,
                    skip,
                    if t == 0 { u32::from(lw != 0) } else { t },
                    d.link_seq(),
                )
            })
            .collect();
        let mut table: Vec<Option<u64>> = vec![None; m as usize];
        let mut taken = vec![false; m as usize];
        let mut n = 0;
        let mut dt_count = 0;
        loop {
            let mut i = 0;
            while i < ds.len() {
                if ds[i].2 < 1 {
                    i += 1;
                    continue;
                }
                let mut c = ds[i].0;
                while taken[c as usize] {
                    ds[i].0 += ds[i].1;
                    if ds[i].0 >= m {
                        ds[i].0 -= m;
                    }
                    c = ds[i].0;
                }
                taken[c as usize] = true;
                table[c as usize] = Some(ds[i].3);
                n += 1;
                if n == m {
                    return table;
                }
                dt_count += 1;
                if dt_count >= ds[i].2 {
                    dt_count = 0;
                    i += 1;
                }
            }
        }
    }

    #[test]
    fn fast_population_equals_the_kernel_loop() {
        let cases: Vec<(Vec<u32>, u8)> = vec![
            (vec![1; 3], 12),
            (vec![1; 251], 8),
            (vec![5, 0, 3, 7, 1, 0, 2], 8),
            (vec![65535, 1, 300, 4096], 10),
            ((1..=300).map(|i| i % 7).collect(), 11),
            ((1..=1000).map(|i| 1 + i % 3).collect(), 13),
            (vec![0, 0], 12),
        ];
        for (weights, index) in cases {
            let l = dests(&weights);
            let fast: Vec<Option<u64>> = MhTable::build(&l, index).unwrap().owners().collect();
            assert_eq!(
                fast,
                kernel_populate(&l, index),
                "weights {weights:?} index {index}"
            );
        }
    }

    #[test]
    fn inverse_mod_inverts() {
        for &m in &MH_PRIMES {
            for a in [1, 2, 3, m / 2, m - 2, m - 1] {
                assert_eq!(
                    u64::from(a) * u64::from(inverse_mod(a, m)) % u64::from(m),
                    1
                );
            }
        }
    }

    #[test]
    fn every_slot_is_owned() {
        let l = dests(&[1; 7]);
        let t = MhTable::build(&l, 10).unwrap();
        assert!(t.owners().all(|o| o.is_some()));
        assert_eq!(t.owners().len(), 1021);
    }
}

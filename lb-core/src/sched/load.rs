//! What the load-aware schedulers share: the kernel's integer view of a destination, an index
//! of destinations kept in step with the scheduler hooks, and a tree over list order.
//!
//! # The kernel's integer arithmetic
//!
//! The kernel reads weights and connection counters as C `int`s and computes
//! `ip_vs_dest_conn_overhead()` (`activeconns << 8 + inactconns`) in `int`, so the overhead
//! wraps once a destination holds 2^23 active connections; lc then compares it as `unsigned
//! int`, wlc/sed/nq widen it to 64 bits before cross-multiplying, twos multiplies in `int`.
//! The functions here reproduce those views exactly (wrapping, as the kernel's
//! `-fno-strict-overflow` build does), so the choices stay the kernel's even there. Weights
//! above `i32::MAX`, which the kernel cannot hold (ipvsadm accepts 0..=65535), read as
//! `i32::MAX`.
//!
//! # The index
//!
//! The kernel scans the whole list for every least-connection pick. [`LoadIndex`] keeps, for
//! each destination, the values its keys were computed from ([`Snapshot`]) and files the
//! destination into ordered sets chosen by a [`Policy`]; picking is then a look at the first
//! element of a set, O(log n), and every hook costs O(log n). Ties are broken by `link_seq`,
//! highest first, which is list order.
//!
//! The index is exact only while it is told about every change: through [`crate::Service`]
//! that is automatic; whoever drives a scheduler over their own [`DestList`] must call
//! `load_changed` after changing a destination's counters or OVERLOAD flag. As a safeguard the
//! index rebuilds itself when it notices it is out of step (a different number of
//! destinations, or a chosen destination whose values moved), and counts these
//! resynchronisations (`resyncs` in its `Debug` output; always 0 when driven through
//! [`crate::Service`], which the tests check).

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::marker::PhantomData;

use crate::dest::Destination;
use crate::service::DestList;

/// The kernel's `atomic_read(&dest->weight)`: the weight as a C `int`.
pub(crate) fn kernel_weight(d: &Destination) -> i32 {
    i32::try_from(d.weight()).unwrap_or(i32::MAX)
}

/// `ip_vs_dest_conn_overhead()` in the kernel's `int` arithmetic: `active * 256 + inactive`,
/// wrapping.
pub(crate) fn conn_overhead(active: u32, inactive: u32) -> i32 {
    ((active as i32) << 8).wrapping_add(inactive as i32)
}

/// sed's and nq's expected delay numerator, `activeconns + 1`, in `int` arithmetic.
pub(crate) fn active_plus_one(active: u32) -> i32 {
    (active as i32).wrapping_add(1)
}

/// The values of one destination that the least-connection keys are computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// The weight as the kernel reads it.
    pub weight: i32,
    /// OVERLOAD.
    pub overload: bool,
    /// ActiveConn.
    pub active: u32,
    /// InActConn.
    pub inactive: u32,
}

impl Snapshot {
    /// The current values of `d`.
    pub fn of(d: &Destination) -> Self {
        Snapshot {
            weight: kernel_weight(d),
            overload: d.is_overloaded(),
            active: d.active_conns(),
            inactive: d.inactive_conns(),
        }
    }
    /// Weight > 0 and no OVERLOAD.
    pub fn eligible(&self) -> bool {
        self.weight > 0 && !self.overload
    }
    /// `ip_vs_dest_conn_overhead()` as the kernel computes it.
    pub fn overhead(&self) -> i32 {
        conn_overhead(self.active, self.inactive)
    }
}

/// A load per unit of weight, `cost / weight` with `weight > 0`, ordered exactly by 64-bit
/// cross-multiplication as the kernel compares (`loh * w(d) > doh * w(least)`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ratio {
    cost: i64,
    weight: i64,
}

impl Ratio {
    /// `cost / weight`; `None` unless `weight > 0`.
    pub fn new(cost: i32, weight: i32) -> Option<Self> {
        (weight > 0).then_some(Ratio {
            cost: cost.into(),
            weight: weight.into(),
        })
    }
}

impl Ord for Ratio {
    fn cmp(&self, other: &Self) -> Ordering {
        // |cost| ≤ 2^31 and weight < 2^31: both products fit an i64.
        (self.cost * other.weight).cmp(&(other.cost * self.weight))
    }
}
impl PartialOrd for Ratio {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for Ratio {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ratio {}

/// An ordered set of destinations by a key, ties broken by list order (higher `link_seq`
/// first): the first element is what a kernel scan keeping "the first strictly better" finds.
#[derive(Debug, Clone)]
pub(crate) struct Ranking<K>(BTreeSet<(K, Reverse<u64>)>);

impl<K: Ord> Default for Ranking<K> {
    fn default() -> Self {
        Ranking(BTreeSet::new())
    }
}

impl<K: Ord> Ranking<K> {
    /// Files `seq` under `key`.
    pub fn insert(&mut self, key: K, seq: u64) {
        self.0.insert((key, Reverse(seq)));
    }
    /// Takes `seq` out from under `key`.
    pub fn remove(&mut self, key: K, seq: u64) {
        self.0.remove(&(key, Reverse(seq)));
    }
    /// The `link_seq` of the least key (the earliest in list order among equals).
    pub fn first(&self) -> Option<u64> {
        self.0.first().map(|(_, Reverse(seq))| *seq)
    }
}

/// How one scheduler files destinations into its ordered sets, and picks from them.
pub(crate) trait Policy: Default + fmt::Debug + Send + Sync {
    /// Files the destination `seq` with values `s`.
    fn file(&mut self, seq: u64, s: &Snapshot);
    /// Undoes [`Policy::file`] of exactly these values.
    fn unfile(&mut self, seq: u64, s: &Snapshot);
    /// The `link_seq` the kernel's scan would return, if any.
    fn pick(&self) -> Option<u64>;
}

/// The index of one least-connection scheduler: what was filed for each destination, and the
/// policy's ordered sets.
#[derive(Debug, Default)]
pub(crate) struct LoadIndex<P> {
    filed: HashMap<u64, Snapshot>,
    policy: P,
    /// How many times the index found itself out of step with the list and was rebuilt.
    resyncs: u64,
}

impl<P: Policy> LoadIndex<P> {
    /// Indexes every destination of `dests`.
    pub fn build(dests: &DestList) -> Self {
        let mut ix = LoadIndex {
            filed: HashMap::with_capacity(dests.len()),
            policy: P::default(),
            resyncs: 0,
        };
        for d in dests.iter() {
            ix.refresh(d);
        }
        ix
    }

    /// Re-files `d` with its current values.
    pub fn refresh(&mut self, d: &Destination) {
        let now = Snapshot::of(d);
        match self.filed.insert(d.link_seq(), now) {
            Some(before) if before == now => {}
            Some(before) => {
                self.policy.unfile(d.link_seq(), &before);
                self.policy.file(d.link_seq(), &now);
            }
            None => self.policy.file(d.link_seq(), &now),
        }
    }

    /// Forgets the destination linked with `seq`.
    pub fn forget(&mut self, seq: u64) {
        if let Some(before) = self.filed.remove(&seq) {
            self.policy.unfile(seq, &before);
        }
    }

    /// The list position the kernel's scan would return.
    pub fn pick(&mut self, dests: &DestList) -> Option<usize> {
        if self.filed.len() != dests.len() {
            self.resync(dests);
        }
        match self.locate(dests) {
            Some(found) => found,
            None => {
                self.resync(dests);
                self.locate(dests).flatten()
            }
        }
    }

    /// Rebuilds the index from `dests`, counting it.
    fn resync(&mut self, dests: &DestList) {
        let resyncs = self.resyncs + 1;
        *self = Self::build(dests);
        self.resyncs = resyncs;
    }

    /// The position of the policy's pick; `None` when the index is out of step with `dests`.
    fn locate(&self, dests: &DestList) -> Option<Option<usize>> {
        let Some(seq) = self.policy.pick() else {
            return Some(None);
        };
        let pos = dests.position_of_seq(seq)?;
        let d = dests.get(pos)?;
        (self.filed.get(&seq) == Some(&Snapshot::of(d))).then_some(Some(pos))
    }
}

/// From this many destinations on, an adaptive picker keeps an index; below
/// [`SCAN_BELOW`] it drops it again. Under a few dozen destinations the kernel's scan of a
/// short list costs less than keeping ordered sets up to date on every bind and unbind
/// (measured in `benches/benches/schedulers.rs`, see docs/schedulers.md).
pub(crate) const INDEX_FROM: usize = 128;
/// See [`INDEX_FROM`]; the gap between the two keeps a list that grows and shrinks around
/// one size from rebuilding its index over and over.
pub(crate) const SCAN_BELOW: usize = 96;

/// A least-connection scheduler's engine: the index, or the kernel's plain scan.
#[derive(Debug)]
pub(crate) enum Picker<P> {
    /// O(log n) picks from a [`LoadIndex`], whatever the list's size.
    Indexed(LoadIndex<P>),
    /// The kernel's scan for short lists, an index for long ones (what [`super::new`] uses).
    Adaptive(Option<LoadIndex<P>>),
    /// The kernel's linear scan at every pick (the reference the index is tested against).
    Linear,
}

impl<P: Policy> Picker<P> {
    /// Chooses with the index, or with `scan`.
    pub fn schedule(
        &mut self,
        dests: &DestList,
        scan: fn(&DestList) -> Option<usize>,
    ) -> Option<usize> {
        match self {
            Picker::Indexed(ix) => ix.pick(dests),
            Picker::Adaptive(slot) => {
                if slot.is_none() && dests.len() >= INDEX_FROM {
                    *slot = Some(LoadIndex::build(dests));
                } else if slot.is_some() && dests.len() < SCAN_BELOW {
                    *slot = None;
                }
                match slot {
                    Some(ix) => ix.pick(dests),
                    None => scan(dests),
                }
            }
            Picker::Linear => scan(dests),
        }
    }
    /// The adaptive engine for a list: an index only if the list is long.
    pub fn adaptive(dests: &DestList) -> Self {
        Picker::Adaptive((dests.len() >= INDEX_FROM).then(|| LoadIndex::build(dests)))
    }
    /// The index, if this picker keeps one now.
    fn index(&mut self) -> Option<&mut LoadIndex<P>> {
        match self {
            Picker::Indexed(ix) | Picker::Adaptive(Some(ix)) => Some(ix),
            Picker::Adaptive(None) | Picker::Linear => None,
        }
    }
    /// The destination at `pos` was added, edited, or its load changed.
    pub fn refresh_at(&mut self, dests: &DestList, pos: usize) {
        if let (Some(ix), Some(d)) = (self.index(), dests.get(pos)) {
            ix.refresh(d);
        }
    }
    /// `removed` left the list.
    pub fn removed(&mut self, removed: &Destination) {
        if let Some(ix) = self.index() {
            ix.forget(removed.link_seq());
        }
    }
}

/// The four hooks of a least-connection scheduler whose engine is a field `picker`.
macro_rules! picker_hooks {
    () => {
        fn add_dest(&mut self, dests: &DestList, pos: usize) {
            self.picker.refresh_at(dests, pos);
        }
        fn del_dest(&mut self, _dests: &DestList, removed: &Destination, _old_pos: usize) {
            self.picker.removed(removed);
        }
        fn upd_dest(&mut self, dests: &DestList, pos: usize) {
            self.picker.refresh_at(dests, pos);
        }
        fn load_changed(&mut self, dests: &DestList, pos: usize) {
            self.picker.refresh_at(dests, pos);
        }
    };
}
pub(crate) use picker_hooks;

/// The cost a [`WeightedLeast`] scheduler divides by the weight.
pub(crate) trait Cost: fmt::Debug + Send + Sync {
    /// The numerator of the load, as the kernel computes it.
    fn cost(s: &Snapshot) -> i32;
}

/// wlc's cost: the connection overhead.
#[derive(Debug)]
pub(crate) struct Overhead;
impl Cost for Overhead {
    fn cost(s: &Snapshot) -> i32 {
        s.overhead()
    }
}

/// sed's cost: active connections plus the new one.
#[derive(Debug)]
pub(crate) struct ActivePlusOne;
impl Cost for ActivePlusOne {
    fn cost(s: &Snapshot) -> i32 {
        active_plus_one(s.active)
    }
}

/// The policy of wlc and sed, whose scans are: the first eligible destination (weight > 0,
/// no OVERLOAD) is the first candidate; every later destination without OVERLOAD replaces the
/// candidate when `cost(cand) * w(d) > cost(d) * w(cand)`.
///
/// Among eligible destinations that is the least `cost / weight`, the earliest in list order
/// on ties. A later destination of weight 0 takes over (for good: nothing can beat it after)
/// exactly when its cost is negative, which only the kernel's `int` wrap-around produces
/// (2^23 active connections for wlc); this policy reproduces that too.
#[derive(Debug)]
pub(crate) struct WeightedLeast<C> {
    by_load: Ranking<Ratio>,
    eligible: BTreeSet<u64>,
    zero_weight_negative: BTreeSet<u64>,
    cost: PhantomData<C>,
}

impl<C> Default for WeightedLeast<C> {
    fn default() -> Self {
        WeightedLeast {
            by_load: Ranking::default(),
            eligible: BTreeSet::new(),
            zero_weight_negative: BTreeSet::new(),
            cost: PhantomData,
        }
    }
}

impl<C: Cost> WeightedLeast<C> {
    fn is_zero_weight_negative(s: &Snapshot) -> bool {
        !s.overload && s.weight == 0 && C::cost(s) < 0
    }
}

impl<C: Cost> Policy for WeightedLeast<C> {
    fn file(&mut self, seq: u64, s: &Snapshot) {
        if s.eligible() {
            if let Some(r) = Ratio::new(C::cost(s), s.weight) {
                self.by_load.insert(r, seq);
            }
            self.eligible.insert(seq);
        } else if Self::is_zero_weight_negative(s) {
            self.zero_weight_negative.insert(seq);
        }
    }
    fn unfile(&mut self, seq: u64, s: &Snapshot) {
        if s.eligible() {
            if let Some(r) = Ratio::new(C::cost(s), s.weight) {
                self.by_load.remove(r, seq);
            }
            self.eligible.remove(&seq);
        } else if Self::is_zero_weight_negative(s) {
            self.zero_weight_negative.remove(&seq);
        }
    }
    fn pick(&self) -> Option<u64> {
        let first = *self.eligible.last()?;
        match self.zero_weight_negative.range(..first).next_back() {
            Some(&takeover) => Some(takeover),
            None => self.by_load.first(),
        }
    }
}

/// How a [`ListTree`] combines the values of two ranges.
pub(crate) trait Combine: fmt::Debug + Send + Sync {
    /// The value of the union of two adjacent ranges.
    fn combine(a: i64, b: i64) -> i64;
}

/// Ranges keep their largest value.
#[derive(Debug)]
pub(crate) struct MaxOf;
impl Combine for MaxOf {
    fn combine(a: i64, b: i64) -> i64 {
        a.max(b)
    }
}

/// Ranges keep the sum of their values.
#[derive(Debug)]
pub(crate) struct SumOf;
impl Combine for SumOf {
    fn combine(a: i64, b: i64) -> i64 {
        a.saturating_add(b)
    }
}

/// A non-negative value per destination in a segment tree laid out in list order, for range
/// queries in O(log n): "the next destination after this one with a value ≥ t" (wrr), "the
/// destination where the running sum of values reaches r" (twos).
///
/// Destinations occupy slots in increasing `link_seq` order, so list order (newest first) is
/// decreasing slot order. A new destination (always at the head, with the highest
/// `link_seq`) takes the next slot; a deleted one leaves a hole of value 0 until the tree is
/// compacted. Values must be ≥ 0; 0 means "never chosen".
#[derive(Debug)]
pub(crate) struct ListTree<C> {
    /// `link_seq` of each slot, increasing.
    seqs: Vec<u64>,
    /// False for holes left by deletions.
    alive: Vec<bool>,
    live: usize,
    /// Number of leaves, a power of two ≥ `seqs.len()`.
    leaves: usize,
    /// Node `i` has children `2i` and `2i + 1`; leaf of slot `s` is `leaves + s`.
    nodes: Vec<i64>,
    combine: PhantomData<C>,
}

impl<C: Combine> ListTree<C> {
    /// A tree over `dests` with `value` of each.
    pub fn build(dests: &DestList, value: impl Fn(&Destination) -> i64) -> Self {
        Self::from_entries(
            dests
                .iter()
                .rev()
                .map(|d| (d.link_seq(), value(d)))
                .collect(),
        )
    }

    /// A tree over `(link_seq, value)` pairs given in increasing `link_seq` order.
    fn from_entries(entries: Vec<(u64, i64)>) -> Self {
        let leaves = entries.len().max(1).next_power_of_two();
        let mut nodes = vec![0; 2 * leaves];
        let mut seqs = Vec::with_capacity(entries.len());
        for (slot, (seq, value)) in entries.into_iter().enumerate() {
            seqs.push(seq);
            nodes[leaves + slot] = value.max(0);
        }
        for i in (1..leaves).rev() {
            nodes[i] = C::combine(nodes[2 * i], nodes[2 * i + 1]);
        }
        let live = seqs.len();
        ListTree {
            alive: vec![true; live],
            seqs,
            live,
            leaves,
            nodes,
            combine: PhantomData,
        }
    }

    /// Number of destinations held.
    pub fn len(&self) -> usize {
        self.live
    }
    /// Number of slots (destinations and holes); slot queries take bounds up to this.
    pub fn slot_count(&self) -> usize {
        self.seqs.len()
    }
    /// The combined value of every slot.
    pub fn total(&self) -> i64 {
        self.nodes[1]
    }
    /// The slot of the destination linked with `seq`.
    pub fn slot_of(&self, seq: u64) -> Option<usize> {
        let slot = self.seqs.binary_search(&seq).ok()?;
        self.alive[slot].then_some(slot)
    }
    /// The `link_seq` in `slot`.
    pub fn seq_at(&self, slot: usize) -> Option<u64> {
        self.seqs.get(slot).copied()
    }

    /// Adds a destination at the head. False (and nothing changes) unless `seq` is higher
    /// than every `link_seq` held, in which case the caller rebuilds.
    pub fn push_head(&mut self, seq: u64, value: i64) -> bool {
        if self.seqs.last().is_some_and(|&last| last >= seq) {
            return false;
        }
        if self.seqs.len() == self.leaves {
            let mut entries = self.entries();
            entries.push((seq, value));
            *self = Self::from_entries(entries);
            return true;
        }
        self.seqs.push(seq);
        self.alive.push(true);
        self.live += 1;
        self.write(self.seqs.len() - 1, value);
        true
    }

    /// Sets the value of the destination linked with `seq`; false if it is not held.
    pub fn set(&mut self, seq: u64, value: i64) -> bool {
        match self.slot_of(seq) {
            Some(slot) => {
                self.write(slot, value);
                true
            }
            None => false,
        }
    }

    /// Removes the destination linked with `seq`, if held.
    pub fn remove(&mut self, seq: u64) {
        let Some(slot) = self.slot_of(seq) else {
            return;
        };
        self.write(slot, 0);
        self.alive[slot] = false;
        self.live -= 1;
        let holes = self.seqs.len() - self.live;
        if holes > 32 && holes > self.live {
            *self = Self::from_entries(self.entries());
        }
    }

    /// The live `(link_seq, value)` pairs, in slot order.
    fn entries(&self) -> Vec<(u64, i64)> {
        (0..self.seqs.len())
            .filter(|&s| self.alive[s])
            .map(|s| (self.seqs[s], self.nodes[self.leaves + s]))
            .collect()
    }

    fn write(&mut self, slot: usize, value: i64) {
        let mut i = self.leaves + slot;
        self.nodes[i] = value.max(0);
        while i > 1 {
            i /= 2;
            self.nodes[i] = C::combine(self.nodes[2 * i], self.nodes[2 * i + 1]);
        }
    }
}

impl ListTree<MaxOf> {
    /// The highest slot below `below` whose value is ≥ `threshold` (≥ 1): the first such
    /// destination in list order after the one in slot `below` (or from the head when
    /// `below` is [`ListTree::slot_count`]).
    pub fn highest_at_least(&self, below: usize, threshold: i64) -> Option<usize> {
        self.descend_max(1, 0, self.leaves, below, threshold.max(1))
    }

    fn descend_max(
        &self,
        node: usize,
        lo: usize,
        hi: usize,
        below: usize,
        t: i64,
    ) -> Option<usize> {
        if lo >= below || self.nodes[node] < t {
            return None;
        }
        if hi - lo == 1 {
            return Some(lo);
        }
        let mid = lo + (hi - lo) / 2;
        self.descend_max(2 * node + 1, mid, hi, below, t)
            .or_else(|| self.descend_max(2 * node, lo, mid, below, t))
    }
}

impl ListTree<SumOf> {
    /// Walking the list from the head and adding up values, the slot where the sum first
    /// reaches `r` (≥ 1); `None` if the total is below `r`.
    pub fn running_sum_reaches(&self, r: i64) -> Option<usize> {
        let mut r = r.max(1);
        if self.total() < r {
            return None;
        }
        let mut node = 1;
        while node < self.leaves {
            let later_in_slots = 2 * node + 1;
            if self.nodes[later_in_slots] >= r {
                node = later_in_slots;
            } else {
                r -= self.nodes[later_in_slots];
                node *= 2;
            }
        }
        Some(node - self.leaves)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_wraps_like_a_c_int() {
        assert_eq!(conn_overhead(3, 5), 3 * 256 + 5);
        assert_eq!(conn_overhead((1 << 23) - 1, 255), i32::MAX);
        assert_eq!(conn_overhead(1 << 23, 0), i32::MIN);
        assert_eq!(conn_overhead(1 << 23, 7) as u32, (1u32 << 31) + 7);
        assert_eq!(active_plus_one(0), 1);
        assert_eq!(active_plus_one(i32::MAX as u32), i32::MIN);
    }

    #[test]
    fn ratio_orders_by_cross_multiplication() {
        let r = |c, w| Ratio::new(c, w).unwrap();
        assert!(r(1, 2) < r(1, 1));
        assert_eq!(r(2, 4), r(1, 2));
        assert!(r(-1, 3) < r(0, 1));
        assert!(r(i32::MAX, 1) > r(i32::MAX, 2));
        assert!(Ratio::new(5, 0).is_none());
    }

    #[test]
    fn max_tree_finds_the_next_slot_at_least() {
        let mut t: ListTree<MaxOf> = ListTree::from_entries(vec![(1, 3), (2, 0), (5, 2), (9, 4)]);
        // list order: seq 9 (slot 3), 5 (slot 2), 2 (slot 1), 1 (slot 0)
        assert_eq!(t.highest_at_least(4, 1), Some(3));
        assert_eq!(t.highest_at_least(3, 3), Some(0));
        assert_eq!(t.highest_at_least(3, 2), Some(2));
        assert_eq!(t.highest_at_least(2, 4), None);
        assert!(t.push_head(10, 7));
        assert!(!t.push_head(10, 1));
        assert_eq!(t.highest_at_least(t.slot_count(), 5), Some(4));
        t.remove(10);
        assert_eq!(t.highest_at_least(t.slot_count(), 5), None);
        assert_eq!(t.len(), 4);
        assert!(t.set(1, 0));
        assert_eq!(t.highest_at_least(3, 3), None);
        assert_eq!(t.slot_of(10), None);
        assert_eq!(t.seq_at(2), Some(5));
    }

    #[test]
    fn sum_tree_walks_from_the_head() {
        let t: ListTree<SumOf> = ListTree::from_entries(vec![(1, 3), (2, 0), (5, 2), (9, 4)]);
        // list order values: 4, 2, 0, 3 → running sums 4, 6, 6, 9
        assert_eq!(t.total(), 9);
        assert_eq!(t.running_sum_reaches(1), Some(3));
        assert_eq!(t.running_sum_reaches(4), Some(3));
        assert_eq!(t.running_sum_reaches(5), Some(2));
        assert_eq!(t.running_sum_reaches(6), Some(2));
        assert_eq!(t.running_sum_reaches(7), Some(0));
        assert_eq!(t.running_sum_reaches(9), Some(0));
        assert_eq!(t.running_sum_reaches(10), None);
    }

    #[test]
    fn tree_compacts_after_many_deletions() {
        let mut t: ListTree<SumOf> = ListTree::from_entries((1..=100).map(|s| (s, 1)).collect());
        for s in 1..=90 {
            t.remove(s);
        }
        assert_eq!(t.len(), 10);
        assert!(t.slot_count() < 100);
        assert_eq!(t.total(), 10);
        assert_eq!(
            t.running_sum_reaches(10).and_then(|s| t.seq_at(s)),
            Some(91)
        );
    }
}

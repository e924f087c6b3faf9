//! wrr, weighted round-robin scheduling (spec §3.2, kernel `ip_vs_wrr.c`).

use std::collections::{BTreeMap, HashMap};

use super::load::{kernel_weight, ListTree, MaxOf};
use super::{SchedInput, Scheduler};
use crate::dest::Destination;
use crate::service::DestList;

/// The weighted round-robin scheduler (spec §3.2, kernel `ip_vs_wrr.c`).
///
/// The kernel's state ("mark"): a cursor `cl` (the list head, or the destination chosen
/// last), the current weight `cw`, `di` the GCD of the positive weights (1 if none) and `mw`
/// the largest weight minus `di - 1`. Passes over the list from the cursor take the first
/// destination with no OVERLOAD and weight ≥ `cw`; each time a pass runs off the end of the
/// list `cw` drops by `di`, and when it reaches 0 a new round starts at `mw`. A pass with
/// `cw ≤ di` checks everything of weight ≥ 1, so once such a pass has covered the whole list
/// without a hit the pick fails ("all destinations are overloaded"), leaving the cursor
/// where that pass ended; with `mw = 0` (every weight 0) it fails at once.
///
/// At creation (the kernel's `init_service`) `cw = mw` for the destinations present then. On
/// every add, delete and edit the cursor goes back to the head, `di` and `mw` are recomputed,
/// and `cw` becomes `mw` if it is 0 or above `mw`, else, when `di > 1`, `(cw / di)·di + 1`.
///
/// [`Wrr::new`] runs the same state machine with its passes answered by a segment tree in
/// list order ("the next destination after slot s with weight ≥ cw and no OVERLOAD",
/// O(log n)), skips runs of passes that cannot succeed arithmetically, and keeps the GCD and
/// maximum over a weight histogram, so a pick costs O(log n) where the kernel's can cost
/// O(n · mw/di). [`Wrr::new_linear`] walks the list as the kernel does.
#[derive(Debug)]
pub struct Wrr {
    mark: Mark,
    engine: Engine,
    /// How many times the index was found out of step with the list and rebuilt.
    resyncs: u64,
}

/// The kernel's `struct ip_vs_wrr_mark`.
#[derive(Debug, Clone, Copy)]
struct Mark {
    /// `link_seq` of the destination chosen last; `None` is the list head.
    cl: Option<u64>,
    cw: i64,
    mw: i64,
    di: i64,
}

#[derive(Debug)]
enum Engine {
    Indexed(WrrIndex),
    Linear,
}

/// What [`Wrr::new`] keeps besides the mark.
#[derive(Debug)]
struct WrrIndex {
    /// Per destination, in list order: its weight, or 0 under OVERLOAD.
    passable: ListTree<MaxOf>,
    /// How many destinations have each positive weight (OVERLOAD or not).
    weights: BTreeMap<i32, usize>,
    /// The weight each destination is counted with in `weights`.
    weight_of: HashMap<u64, i32>,
}

/// The index could not vouch for its answer: it is out of step with the list.
struct Stale;

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A destination's value in the pass tree: its weight, or 0 under OVERLOAD.
fn passable_weight(d: &Destination) -> i64 {
    if d.is_overloaded() {
        0
    } else {
        kernel_weight(d).into()
    }
}

impl Mark {
    /// `init_service`: cursor at the head, `cw = mw`.
    fn init(di: i64, max_weight: i64) -> Self {
        let mw = max_weight - (di - 1);
        Mark {
            cl: None,
            cw: mw,
            mw,
            di,
        }
    }

    /// `ip_vs_wrr_dest_changed`.
    fn dest_changed(&mut self, di: i64, max_weight: i64) {
        self.cl = None;
        self.di = di;
        self.mw = max_weight - (di - 1);
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }
}

/// `ip_vs_wrr_gcd_weight` and `ip_vs_wrr_max_weight` over the list, as the kernel loops.
fn scan_gcd_and_max(dests: &DestList) -> (i64, i64) {
    let (mut g, mut max) = (0i64, 0i64);
    for d in dests.iter() {
        let w = i64::from(kernel_weight(d));
        if w > 0 {
            g = if g > 0 { gcd(w, g) } else { w };
        }
        max = max.max(w);
    }
    (if g > 0 { g } else { 1 }, max)
}

impl WrrIndex {
    fn build(dests: &DestList) -> Self {
        let mut ix = WrrIndex {
            passable: ListTree::build(dests, passable_weight),
            weights: BTreeMap::new(),
            weight_of: HashMap::with_capacity(dests.len()),
        };
        for d in dests.iter() {
            ix.count(d.link_seq(), kernel_weight(d));
        }
        ix
    }

    fn count(&mut self, seq: u64, w: i32) {
        if let Some(before) = self.weight_of.insert(seq, w) {
            self.uncount_weight(before);
        }
        if w > 0 {
            *self.weights.entry(w).or_insert(0) += 1;
        }
    }

    fn uncount_weight(&mut self, w: i32) {
        if let Some(n) = self.weights.get_mut(&w) {
            *n -= 1;
            if *n == 0 {
                self.weights.remove(&w);
            }
        }
    }

    /// The GCD of the positive weights (1 if none) and the largest weight (0 if none).
    fn gcd_and_max(&self) -> (i64, i64) {
        let max = self
            .weights
            .last_key_value()
            .map_or(0, |(&w, _)| i64::from(w));
        let mut g = 0i64;
        for &w in self.weights.keys() {
            g = gcd(i64::from(w), g);
            if g == 1 {
                break;
            }
        }
        (if g > 0 { g } else { 1 }, max)
    }

    fn add(&mut self, d: &Destination) -> bool {
        self.count(d.link_seq(), kernel_weight(d));
        self.passable.push_head(d.link_seq(), passable_weight(d))
    }

    fn update(&mut self, d: &Destination) -> bool {
        self.count(d.link_seq(), kernel_weight(d));
        self.passable.set(d.link_seq(), passable_weight(d))
    }

    fn remove(&mut self, seq: u64) {
        if let Some(before) = self.weight_of.remove(&seq) {
            self.uncount_weight(before);
        }
        self.passable.remove(seq);
    }

    /// The kernel's `ip_vs_wrr_schedule` on a copy of the mark, passes answered by the tree.
    fn schedule(&self, dests: &DestList, mut mark: Mark) -> Result<(Mark, Option<usize>), Stale> {
        if mark.mw == 0 {
            return Ok((mark, None));
        }
        let tree = &self.passable;
        let head = tree.slot_count();
        // The slot the walk starts after (and, once `stop` is set, ends at); `None` = head.
        let last = mark.cl.and_then(|seq| tree.slot_of(seq));
        let mut from = last.unwrap_or(head);
        let mut stop: Option<usize> = None;
        let (mut last_pass, mut restarted) = (false, false);
        loop {
            let hit = tree.highest_at_least(from, mark.cw);
            if let Some(end) = stop {
                // This pass runs from the head down to `stop` inclusive.
                return match hit.filter(|&s| s >= end) {
                    Some(slot) => Self::found(tree, dests, mark, slot),
                    None => {
                        mark.cl = tree.seq_at(end);
                        Ok((mark, None))
                    }
                };
            }
            if let Some(slot) = hit {
                return Self::found(tree, dests, mark, slot);
            }
            if from == head {
                // A whole pass failed: so will every pass while cw stays above the largest
                // passable weight; skip those that cannot end a round or start the last pass.
                let best = tree.total();
                let skip =
                    ((mark.cw - best - 1) / mark.di + 1).min((mark.cw - mark.di - 1) / mark.di);
                if skip >= 1 {
                    mark.cw -= skip * mark.di;
                    last_pass = false;
                    continue;
                }
            }
            mark.cw -= mark.di;
            if mark.cw <= 0 {
                mark.cw = mark.mw;
                if last_pass || last.is_none() {
                    mark.cl = None;
                    return Ok((mark, None));
                }
                restarted = true;
            }
            last_pass = mark.cw <= mark.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
            from = head;
        }
    }

    fn found(
        tree: &ListTree<MaxOf>,
        dests: &DestList,
        mut mark: Mark,
        slot: usize,
    ) -> Result<(Mark, Option<usize>), Stale> {
        let seq = tree.seq_at(slot).ok_or(Stale)?;
        let pos = dests.position_of_seq(seq).ok_or(Stale)?;
        let d = dests.get(pos).ok_or(Stale)?;
        if d.is_overloaded() || i64::from(kernel_weight(d)) < mark.cw {
            return Err(Stale);
        }
        mark.cl = Some(seq);
        Ok((mark, Some(pos)))
    }
}

impl Wrr {
    /// A wrr scheduler initialised over `dests` (cursor at the head, `cw = mw`), picking in
    /// O(log n).
    pub fn new(dests: &DestList) -> Self {
        let ix = WrrIndex::build(dests);
        let (di, max) = ix.gcd_and_max();
        Wrr {
            mark: Mark::init(di, max),
            engine: Engine::Indexed(ix),
            resyncs: 0,
        }
    }

    /// A wrr scheduler initialised over `dests` that walks the list as the kernel does.
    pub fn new_linear(dests: &DestList) -> Self {
        let (di, max) = scan_gcd_and_max(dests);
        Wrr {
            mark: Mark::init(di, max),
            engine: Engine::Linear,
            resyncs: 0,
        }
    }

    /// The kernel's `ip_vs_wrr_schedule`, line for line.
    fn walk(&mut self, dests: &DestList) -> Option<usize> {
        let m = &mut self.mark;
        let last = m.cl.and_then(|seq| dests.position_of_seq(seq));
        if m.mw == 0 {
            return None;
        }
        let mut stop: Option<usize> = None;
        let (mut last_pass, mut restarted) = (false, false);
        let mut next = last.map_or(0, |p| p + 1);
        loop {
            for pos in next..dests.len() {
                let d = dests.get(pos)?;
                if !d.is_overloaded() && i64::from(kernel_weight(d)) >= m.cw {
                    m.cl = Some(d.link_seq());
                    return Some(pos);
                }
                if Some(pos) == stop {
                    m.cl = Some(d.link_seq());
                    return None;
                }
            }
            m.cw -= m.di;
            if m.cw <= 0 {
                m.cw = m.mw;
                if last_pass || last.is_none() {
                    m.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = m.cw <= m.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
            next = 0;
        }
    }

    fn lookup(&mut self, dests: &DestList) -> Option<usize> {
        let Engine::Indexed(ix) = &mut self.engine else {
            return None;
        };
        if ix.passable.len() != dests.len() {
            *ix = WrrIndex::build(dests);
            self.resyncs += 1;
        }
        let (mark, pos) = match ix.schedule(dests, self.mark) {
            Ok(done) => done,
            Err(Stale) => {
                *ix = WrrIndex::build(dests);
                self.resyncs += 1;
                ix.schedule(dests, self.mark).unwrap_or((self.mark, None))
            }
        };
        self.mark = mark;
        pos
    }

    /// `ip_vs_wrr_dest_changed`, after the index has been brought up to date.
    fn dest_changed(&mut self, dests: &DestList) {
        let (di, max) = match &self.engine {
            Engine::Indexed(ix) => ix.gcd_and_max(),
            Engine::Linear => scan_gcd_and_max(dests),
        };
        self.mark.dest_changed(di, max);
    }

    /// Applies `change` to the index, rebuilding it if the index cannot.
    fn reindex(&mut self, dests: &DestList, change: impl FnOnce(&mut WrrIndex) -> bool) {
        if let Engine::Indexed(ix) = &mut self.engine {
            if !change(ix) {
                *ix = WrrIndex::build(dests);
                self.resyncs += 1;
            }
        }
    }
}

impl Scheduler for Wrr {
    fn name(&self) -> &'static str {
        "wrr"
    }
    fn schedule(&mut self, dests: &DestList, _input: &SchedInput) -> Option<usize> {
        match self.engine {
            Engine::Indexed(_) => self.lookup(dests),
            Engine::Linear => self.walk(dests),
        }
    }
    fn add_dest(&mut self, dests: &DestList, pos: usize) {
        if let Some(d) = dests.get(pos) {
            self.reindex(dests, |ix| ix.add(d));
        }
        self.dest_changed(dests);
    }
    fn del_dest(&mut self, dests: &DestList, removed: &Destination, _old_pos: usize) {
        self.reindex(dests, |ix| {
            ix.remove(removed.link_seq());
            true
        });
        self.dest_changed(dests);
    }
    fn upd_dest(&mut self, dests: &DestList, pos: usize) {
        if let Some(d) = dests.get(pos) {
            self.reindex(dests, |ix| ix.update(d));
        }
        self.dest_changed(dests);
    }
    fn load_changed(&mut self, dests: &DestList, pos: usize) {
        if let Some(d) = dests.get(pos) {
            self.reindex(dests, |ix| {
                ix.passable.set(d.link_seq(), passable_weight(d))
            });
        }
    }
}

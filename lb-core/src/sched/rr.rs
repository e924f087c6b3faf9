//! rr, round-robin scheduling (spec §3.1, kernel `ip_vs_rr.c`).

use std::collections::BTreeSet;

use super::{eligible, SchedInput, Scheduler};
use crate::dest::Destination;
use crate::service::DestList;

/// The round-robin scheduler (spec §3.1, kernel `ip_vs_rr.c`).
///
/// The kernel keeps a cursor into the destination list (`sched_data`): initially the list
/// head itself, afterwards the destination chosen last. A pick walks forward from the cursor,
/// wrapping once through the head, and takes the first destination with weight > 0 and no
/// OVERLOAD; reaching the cursor again ends the walk with nothing. Deleting the destination
/// under the cursor moves the cursor to its predecessor (the head if it was first); adding a
/// destination leaves the cursor alone.
///
/// [`Rr::new`] keeps the eligible destinations in an ordered set by `link_seq` (list order is
/// decreasing `link_seq`), so "the next eligible one after the cursor" is one O(log n) lookup
/// instead of a walk; [`Rr::new_linear`] walks as the kernel does.
#[derive(Debug)]
pub struct Rr {
    /// `link_seq` of the destination chosen last; `None` is the list head.
    cursor: Option<u64>,
    engine: Engine,
    /// How many times the index was found out of step with the list and rebuilt.
    resyncs: u64,
}

#[derive(Debug)]
enum Engine {
    /// `link_seq`s of the eligible destinations, and how many destinations are linked.
    Indexed {
        eligible: BTreeSet<u64>,
        linked: usize,
    },
    /// The kernel's walk.
    Linear,
}

impl Rr {
    /// An rr scheduler over `dests` with the cursor at the list head, picking in O(log n).
    pub fn new(dests: &DestList) -> Self {
        Rr {
            cursor: None,
            engine: Self::index(dests),
            resyncs: 0,
        }
    }

    /// An rr scheduler that walks the list as the kernel does.
    pub fn new_linear(dests: &DestList) -> Self {
        let _ = dests;
        Rr {
            cursor: None,
            engine: Engine::Linear,
            resyncs: 0,
        }
    }

    fn index(dests: &DestList) -> Engine {
        Engine::Indexed {
            eligible: dests
                .iter()
                .filter(|d| eligible(d))
                .map(|d| d.link_seq())
                .collect(),
            linked: dests.len(),
        }
    }

    /// The kernel's walk from the cursor, line for line.
    fn walk(&mut self, dests: &DestList) -> Option<usize> {
        // `last`: where the walk started; `None` is the list head.
        let last = self.cursor.and_then(|seq| dests.position_of_seq(seq));
        let mut next = last.map_or(0, |p| p + 1);
        let mut pass = 0;
        loop {
            for pos in next..dests.len() {
                let d = dests.get(pos)?;
                if eligible(d) {
                    self.cursor = Some(d.link_seq());
                    return Some(pos);
                }
                if Some(pos) == last {
                    return None;
                }
            }
            pass += 1;
            if pass >= 2 || last.is_none() {
                return None;
            }
            next = 0;
        }
    }

    /// The same choice from the ordered set: the highest eligible `link_seq` below the
    /// cursor's, or else (the walk wrapped through the head) the highest of all.
    fn lookup(&mut self, dests: &DestList) -> Option<usize> {
        for attempt in 0..2 {
            let Engine::Indexed {
                eligible: set,
                linked,
            } = &self.engine
            else {
                return None;
            };
            let below_cursor = self.cursor.and_then(|c| set.range(..c).next_back());
            let &seq = below_cursor.or_else(|| set.last())?;
            let pos = dests.position_of_seq(seq);
            let in_step =
                *linked == dests.len() && pos.and_then(|p| dests.get(p)).is_some_and(eligible);
            if in_step || attempt == 1 {
                self.cursor = Some(seq);
                return pos;
            }
            self.engine = Self::index(dests);
            self.resyncs += 1;
        }
        None
    }

    fn track(&mut self, dests: &DestList, pos: usize) {
        if let (Engine::Indexed { eligible: set, .. }, Some(d)) = (&mut self.engine, dests.get(pos))
        {
            if eligible(d) {
                set.insert(d.link_seq());
            } else {
                set.remove(&d.link_seq());
            }
        }
    }
}

impl Scheduler for Rr {
    fn name(&self) -> &'static str {
        "rr"
    }
    fn schedule(&mut self, dests: &DestList, _input: &SchedInput) -> Option<usize> {
        match self.engine {
            Engine::Indexed { .. } => self.lookup(dests),
            Engine::Linear => self.walk(dests),
        }
    }
    fn add_dest(&mut self, dests: &DestList, pos: usize) {
        if let Engine::Indexed { linked, .. } = &mut self.engine {
            *linked += 1;
        }
        self.track(dests, pos);
    }
    fn del_dest(&mut self, dests: &DestList, removed: &Destination, old_pos: usize) {
        if let Engine::Indexed {
            eligible: set,
            linked,
        } = &mut self.engine
        {
            set.remove(&removed.link_seq());
            *linked = linked.saturating_sub(1);
        }
        // The kernel's `p->next->prev` of the unlinked cursor: its predecessor, or the head.
        if self.cursor == Some(removed.link_seq()) {
            self.cursor = old_pos
                .checked_sub(1)
                .and_then(|p| dests.get(p))
                .map(|d| d.link_seq());
        }
    }
    fn upd_dest(&mut self, dests: &DestList, pos: usize) {
        self.track(dests, pos);
    }
    fn load_changed(&mut self, dests: &DestList, pos: usize) {
        self.track(dests, pos);
    }
}

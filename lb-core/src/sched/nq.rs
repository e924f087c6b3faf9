//! nq, never-queue scheduling (spec §3.6, kernel `ip_vs_nq.c`).

use std::collections::BTreeSet;

use super::load::{
    active_plus_one, picker_hooks, LoadIndex, Picker, Policy, Ranking, Ratio, Snapshot,
};
use super::{SchedInput, Scheduler};
use crate::dest::Destination;
use crate::service::DestList;

/// The never-queue scheduler (spec §3.6, kernel `ip_vs_nq.c`).
///
/// Among destinations with weight > 0 and no OVERLOAD, the first one in list order with no
/// active connection is returned at once; if every one is busy, the one with the least
/// `(active + 1) / weight` (sed's cost, 64-bit cross-multiplication, strict), the earliest in
/// list order on ties. Inactive connections are ignored.
///
/// [`Nq::new`] picks in O(log n) from ordered sets kept up to date by the scheduler hooks
/// (including [`Scheduler::load_changed`], which [`crate::Service`] calls on every bind,
/// unbind and activity change); [`Nq::scan`] is the kernel's loop.
#[derive(Debug)]
pub struct Nq {
    picker: Picker<NqPolicy>,
}

impl Nq {
    /// A nq scheduler over `dests` choosing exactly as the kernel: by the kernel's scan
    /// while the list is short, from an O(log n) index once it is long (from 128
    /// destinations; back to the scan under 96).
    pub fn new(dests: &DestList) -> Self {
        Nq {
            picker: Picker::adaptive(dests),
        }
    }

    /// A nq scheduler that always picks from its O(log n) index, whatever the list's size.
    pub fn new_indexed(dests: &DestList) -> Self {
        Nq {
            picker: Picker::Indexed(LoadIndex::build(dests)),
        }
    }

    /// An nq scheduler that scans the list at every pick as the kernel does ([`Nq::scan`]).
    pub fn new_linear(dests: &DestList) -> Self {
        let _ = dests;
        Nq {
            picker: Picker::Linear,
        }
    }

    /// The kernel's scan, line for line: the list position nq chooses in `dests`.
    pub fn scan(dests: &DestList) -> Option<usize> {
        let mut least: Option<(usize, i64, i64)> = None;
        for (pos, s) in dests.iter().map(Snapshot::of).enumerate() {
            if s.overload || s.weight == 0 {
                continue;
            }
            let doh = i64::from(active_plus_one(s.active));
            if s.active == 0 {
                return Some(pos);
            }
            let dw = i64::from(s.weight);
            if least.is_none_or(|(_, lw, loh)| loh * dw > doh * lw) {
                least = Some((pos, dw, doh));
            }
        }
        least.map(|(pos, _, _)| pos)
    }
}

/// Idle eligible destinations by list order; all eligible ones by expected delay.
#[derive(Debug, Default)]
struct NqPolicy {
    idle: BTreeSet<u64>,
    by_delay: Ranking<Ratio>,
}

impl NqPolicy {
    /// The kernel skips OVERLOAD and weight 0 (only; a negative `int` weight cannot occur).
    fn delay(s: &Snapshot) -> Option<Ratio> {
        if s.overload {
            return None;
        }
        Ratio::new(active_plus_one(s.active), s.weight)
    }
}

impl Policy for NqPolicy {
    fn file(&mut self, seq: u64, s: &Snapshot) {
        if let Some(r) = Self::delay(s) {
            self.by_delay.insert(r, seq);
            if s.active == 0 {
                self.idle.insert(seq);
            }
        }
    }
    fn unfile(&mut self, seq: u64, s: &Snapshot) {
        if let Some(r) = Self::delay(s) {
            self.by_delay.remove(r, seq);
            if s.active == 0 {
                self.idle.remove(&seq);
            }
        }
    }
    fn pick(&self) -> Option<u64> {
        self.idle.last().copied().or_else(|| self.by_delay.first())
    }
}

impl Scheduler for Nq {
    fn name(&self) -> &'static str {
        "nq"
    }
    fn schedule(&mut self, dests: &DestList, _input: &SchedInput) -> Option<usize> {
        self.picker.schedule(dests, Nq::scan)
    }
    picker_hooks!();
}

//! ovf, overflow scheduling (spec §3.8, kernel `ip_vs_ovf.c`).

use std::cmp::Reverse;

use super::load::{picker_hooks, LoadIndex, Picker, Policy, Ranking, Snapshot};
use super::{SchedInput, Scheduler};
use crate::dest::Destination;
use crate::service::DestList;

/// The overflow scheduler (spec §3.8, kernel `ip_vs_ovf.c`).
///
/// Among destinations with weight > 0, no OVERLOAD and no more active connections than their
/// weight, the one with the highest weight; the kernel keeps the first strictly heavier one,
/// so ties go to the earliest in list order. Traffic stays on the heaviest server until its
/// active connections exceed its weight, then overflows to the next. UDP connections are
/// never active, so with UDP ovf never overflows.
///
/// [`Ovf::new`] picks in O(log n) from ordered sets kept up to date by the scheduler hooks
/// (including [`Scheduler::load_changed`], which [`crate::Service`] calls on every bind,
/// unbind and activity change); [`Ovf::scan`] is the kernel's loop.
#[derive(Debug)]
pub struct Ovf {
    picker: Picker<OvfPolicy>,
}

impl Ovf {
    /// A ovf scheduler over `dests` choosing exactly as the kernel: by the kernel's scan
    /// while the list is short, from an O(log n) index once it is long (from 128
    /// destinations; back to the scan under 96).
    pub fn new(dests: &DestList) -> Self {
        Ovf {
            picker: Picker::adaptive(dests),
        }
    }

    /// A ovf scheduler that always picks from its O(log n) index, whatever the list's size.
    pub fn new_indexed(dests: &DestList) -> Self {
        Ovf {
            picker: Picker::Indexed(LoadIndex::build(dests)),
        }
    }

    /// An ovf scheduler that scans the list at every pick as the kernel does ([`Ovf::scan`]).
    pub fn new_linear(dests: &DestList) -> Self {
        let _ = dests;
        Ovf {
            picker: Picker::Linear,
        }
    }

    /// The kernel's scan, line for line: the list position ovf chooses in `dests`.
    pub fn scan(dests: &DestList) -> Option<usize> {
        let mut h: Option<(usize, i32)> = None;
        for (pos, s) in dests.iter().map(Snapshot::of).enumerate() {
            let w = s.weight;
            if s.overload || (s.active as i32) > w || w == 0 {
                continue;
            }
            if h.is_none_or(|(_, hw)| w > hw) {
                h = Some((pos, w));
            }
        }
        h.map(|(pos, _)| pos)
    }
}

/// Destinations that may take an overflow, heaviest first.
#[derive(Debug, Default)]
struct OvfPolicy {
    by_weight: Ranking<Reverse<i32>>,
}

impl OvfPolicy {
    fn key(s: &Snapshot) -> Option<Reverse<i32>> {
        let w = s.weight;
        (!s.overload && (s.active as i32) <= w && w != 0).then_some(Reverse(w))
    }
}

impl Policy for OvfPolicy {
    fn file(&mut self, seq: u64, s: &Snapshot) {
        if let Some(k) = Self::key(s) {
            self.by_weight.insert(k, seq);
        }
    }
    fn unfile(&mut self, seq: u64, s: &Snapshot) {
        if let Some(k) = Self::key(s) {
            self.by_weight.remove(k, seq);
        }
    }
    fn pick(&self) -> Option<u64> {
        self.by_weight.first()
    }
}

impl Scheduler for Ovf {
    fn name(&self) -> &'static str {
        "ovf"
    }
    fn schedule(&mut self, dests: &DestList, _input: &SchedInput) -> Option<usize> {
        self.picker.schedule(dests, Ovf::scan)
    }
    picker_hooks!();
}

//! lc, least-connection scheduling (spec §3.3, kernel `ip_vs_lc.c`).

use super::load::{picker_hooks, LoadIndex, Picker, Policy, Ranking, Snapshot};
use super::{SchedInput, Scheduler};
use crate::dest::Destination;
use crate::service::DestList;

/// The least-connection scheduler (spec §3.3, kernel `ip_vs_lc.c`).
///
/// The destination with the smallest connection overhead (`active * 256 + inactive`) among
/// those with weight > 0 and no OVERLOAD; weights play no other part. The kernel compares the
/// overhead as an `unsigned int` and keeps the first strictly smaller one, so ties go to the
/// earliest in list order (the newest).
///
/// [`Lc::new`] picks in O(log n) from ordered sets kept up to date by the scheduler hooks
/// (including [`Scheduler::load_changed`], which [`crate::Service`] calls on every bind,
/// unbind and activity change); [`Lc::scan`] is the kernel's loop.
#[derive(Debug)]
pub struct Lc {
    picker: Picker<LcPolicy>,
}

impl Lc {
    /// A lc scheduler over `dests` choosing exactly as the kernel: by the kernel's scan
    /// while the list is short, from an O(log n) index once it is long (from 128
    /// destinations; back to the scan under 96).
    pub fn new(dests: &DestList) -> Self {
        Lc {
            picker: Picker::adaptive(dests),
        }
    }

    /// A lc scheduler that always picks from its O(log n) index, whatever the list's size.
    pub fn new_indexed(dests: &DestList) -> Self {
        Lc {
            picker: Picker::Indexed(LoadIndex::build(dests)),
        }
    }

    /// An lc scheduler that scans the list at every pick as the kernel does ([`Lc::scan`]).
    pub fn new_linear(dests: &DestList) -> Self {
        let _ = dests;
        Lc {
            picker: Picker::Linear,
        }
    }

    /// The kernel's scan, line for line: the list position lc chooses in `dests`.
    pub fn scan(dests: &DestList) -> Option<usize> {
        let mut least: Option<(usize, u32)> = None;
        for (pos, d) in dests.iter().enumerate() {
            let s = Snapshot::of(d);
            if s.overload || s.weight == 0 {
                continue;
            }
            let doh = s.overhead() as u32;
            if least.is_none_or(|(_, loh)| doh < loh) {
                least = Some((pos, doh));
            }
        }
        least.map(|(pos, _)| pos)
    }
}

/// Eligible destinations by unsigned overhead.
#[derive(Debug, Default)]
struct LcPolicy {
    by_overhead: Ranking<u32>,
}

impl LcPolicy {
    /// The kernel skips OVERLOAD and weight 0 (only; a negative `int` weight cannot occur).
    fn key(s: &Snapshot) -> Option<u32> {
        (!s.overload && s.weight != 0).then_some(s.overhead() as u32)
    }
}

impl Policy for LcPolicy {
    fn file(&mut self, seq: u64, s: &Snapshot) {
        if let Some(k) = Self::key(s) {
            self.by_overhead.insert(k, seq);
        }
    }
    fn unfile(&mut self, seq: u64, s: &Snapshot) {
        if let Some(k) = Self::key(s) {
            self.by_overhead.remove(k, seq);
        }
    }
    fn pick(&self) -> Option<u64> {
        self.by_overhead.first()
    }
}

impl Scheduler for Lc {
    fn name(&self) -> &'static str {
        "lc"
    }
    fn schedule(&mut self, dests: &DestList, _input: &SchedInput) -> Option<usize> {
        self.picker.schedule(dests, Lc::scan)
    }
    picker_hooks!();
}

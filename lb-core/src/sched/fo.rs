//! fo, weighted fail-over scheduling (spec §3.7, kernel `ip_vs_fo.c`).

use std::cmp::Reverse;

use super::load::{picker_hooks, LoadIndex, Picker, Policy, Ranking, Snapshot};
use super::{SchedInput, Scheduler};
use crate::dest::Destination;
use crate::service::DestList;

/// The weighted fail-over scheduler (spec §3.7, kernel `ip_vs_fo.c`).
///
/// The destination without OVERLOAD with the highest weight (> 0); the kernel keeps the first
/// strictly heavier one, so ties go to the earliest in list order. Connection counts play no
/// part.
///
/// [`Fo::new`] picks in O(log n) from ordered sets kept up to date by the scheduler hooks
/// (including [`Scheduler::load_changed`], which [`crate::Service`] calls on every bind,
/// unbind and activity change); [`Fo::scan`] is the kernel's loop.
#[derive(Debug)]
pub struct Fo {
    picker: Picker<FoPolicy>,
}

impl Fo {
    /// A fo scheduler over `dests` choosing exactly as the kernel: by the kernel's scan
    /// while the list is short, from an O(log n) index once it is long (from 128
    /// destinations; back to the scan under 96).
    pub fn new(dests: &DestList) -> Self {
        Fo {
            picker: Picker::adaptive(dests),
        }
    }

    /// A fo scheduler that always picks from its O(log n) index, whatever the list's size.
    pub fn new_indexed(dests: &DestList) -> Self {
        Fo {
            picker: Picker::Indexed(LoadIndex::build(dests)),
        }
    }

    /// An fo scheduler that scans the list at every pick as the kernel does ([`Fo::scan`]).
    pub fn new_linear(dests: &DestList) -> Self {
        let _ = dests;
        Fo {
            picker: Picker::Linear,
        }
    }

    /// The kernel's scan, line for line: the list position fo chooses in `dests`.
    pub fn scan(dests: &DestList) -> Option<usize> {
        let mut hweight = None;
        let mut hw = 0;
        for (pos, s) in dests.iter().map(Snapshot::of).enumerate() {
            if !s.overload && s.weight > hw {
                hweight = Some(pos);
                hw = s.weight;
            }
        }
        hweight
    }
}

/// Destinations without OVERLOAD and with weight > 0, heaviest first.
#[derive(Debug, Default)]
struct FoPolicy {
    by_weight: Ranking<Reverse<i32>>,
}

impl FoPolicy {
    fn key(s: &Snapshot) -> Option<Reverse<i32>> {
        s.eligible().then_some(Reverse(s.weight))
    }
}

impl Policy for FoPolicy {
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

impl Scheduler for Fo {
    fn name(&self) -> &'static str {
        "fo"
    }
    fn schedule(&mut self, dests: &DestList, _input: &SchedInput) -> Option<usize> {
        self.picker.schedule(dests, Fo::scan)
    }
    picker_hooks!();
}

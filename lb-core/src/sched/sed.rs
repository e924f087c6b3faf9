//! sed, shortest expected delay scheduling (spec §3.5, kernel `ip_vs_sed.c`).

use super::load::{
    active_plus_one, picker_hooks, ActivePlusOne, LoadIndex, Picker, Snapshot, WeightedLeast,
};
use super::{SchedInput, Scheduler};
use crate::dest::Destination;
use crate::service::DestList;

/// The shortest expected delay scheduler (spec §3.5, kernel `ip_vs_sed.c`).
///
/// Like wlc with the cost `activeconns + 1` (inactive connections ignored): minimises
/// `(active + 1) / weight`, first candidate the first destination with weight > 0 and no
/// OVERLOAD, later destinations without OVERLOAD replacing it on a strictly smaller load by
/// 64-bit cross-multiplication; ties keep the earliest in list order.
///
/// [`Sed::new`] picks in O(log n) from ordered sets kept up to date by the scheduler hooks
/// (including [`Scheduler::load_changed`], which [`crate::Service`] calls on every bind,
/// unbind and activity change); [`Sed::scan`] is the kernel's loop.
#[derive(Debug)]
pub struct Sed {
    picker: Picker<WeightedLeast<ActivePlusOne>>,
}

impl Sed {
    /// A sed scheduler over `dests` choosing exactly as the kernel: by the kernel's scan
    /// while the list is short, from an O(log n) index once it is long (from 128
    /// destinations; back to the scan under 96).
    pub fn new(dests: &DestList) -> Self {
        Sed {
            picker: Picker::adaptive(dests),
        }
    }

    /// A sed scheduler that always picks from its O(log n) index, whatever the list's size.
    pub fn new_indexed(dests: &DestList) -> Self {
        Sed {
            picker: Picker::Indexed(LoadIndex::build(dests)),
        }
    }

    /// A sed scheduler that scans the list at every pick as the kernel does ([`Sed::scan`]).
    pub fn new_linear(dests: &DestList) -> Self {
        let _ = dests;
        Sed {
            picker: Picker::Linear,
        }
    }

    /// The kernel's scan, line for line: the list position sed chooses in `dests`.
    pub fn scan(dests: &DestList) -> Option<usize> {
        let mut rest = dests.iter().map(Snapshot::of).enumerate();
        let (mut least, mut lw, mut loh) = rest
            .by_ref()
            .find(|(_, s)| !s.overload && s.weight > 0)
            .map(|(pos, s)| {
                (
                    pos,
                    i64::from(s.weight),
                    i64::from(active_plus_one(s.active)),
                )
            })?;
        for (pos, s) in rest {
            if s.overload {
                continue;
            }
            let doh = i64::from(active_plus_one(s.active));
            if loh * i64::from(s.weight) > doh * lw {
                (least, lw, loh) = (pos, i64::from(s.weight), doh);
            }
        }
        Some(least)
    }
}

impl Scheduler for Sed {
    fn name(&self) -> &'static str {
        "sed"
    }
    fn schedule(&mut self, dests: &DestList, _input: &SchedInput) -> Option<usize> {
        self.picker.schedule(dests, Sed::scan)
    }
    picker_hooks!();
}

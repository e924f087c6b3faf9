//! wlc, weighted least-connection scheduling (spec §3.4, kernel `ip_vs_wlc.c`).

use super::load::{picker_hooks, LoadIndex, Overhead, Picker, Snapshot, WeightedLeast};
use super::{SchedInput, Scheduler};
use crate::dest::Destination;
use crate::service::DestList;

/// The weighted least-connection scheduler, ipvsadm's default (spec §3.4, kernel
/// `ip_vs_wlc.c`).
///
/// Minimises `overhead / weight`. The kernel takes the first destination with weight > 0 and
/// no OVERLOAD as the first candidate, then lets every later destination without OVERLOAD
/// replace it when `overhead(cand) * w(d) > overhead(d) * w(cand)` (64-bit products, strict),
/// so ties keep the earliest in list order and a later weight-0 destination never wins — as
/// long as the kernel's `int` overhead does not wrap (2^23 active connections on one
/// destination), which is reproduced too: a later weight-0 destination whose overhead has
/// wrapped negative takes over.
///
/// [`Wlc::new`] picks in O(log n) from ordered sets kept up to date by the scheduler hooks
/// (including [`Scheduler::load_changed`], which [`crate::Service`] calls on every bind,
/// unbind and activity change); [`Wlc::scan`] is the kernel's loop.
#[derive(Debug)]
pub struct Wlc {
    picker: Picker<WeightedLeast<Overhead>>,
}

impl Wlc {
    /// A wlc scheduler over `dests` choosing exactly as the kernel: by the kernel's scan
    /// while the list is short, from an O(log n) index once it is long (from 128
    /// destinations; back to the scan under 96).
    pub fn new(dests: &DestList) -> Self {
        Wlc {
            picker: Picker::adaptive(dests),
        }
    }

    /// A wlc scheduler that always picks from its O(log n) index, whatever the list's size.
    pub fn new_indexed(dests: &DestList) -> Self {
        Wlc {
            picker: Picker::Indexed(LoadIndex::build(dests)),
        }
    }

    /// A wlc scheduler that scans the list at every pick as the kernel does ([`Wlc::scan`]).
    pub fn new_linear(dests: &DestList) -> Self {
        let _ = dests;
        Wlc {
            picker: Picker::Linear,
        }
    }

    /// The kernel's scan, line for line: the list position wlc chooses in `dests`.
    pub fn scan(dests: &DestList) -> Option<usize> {
        let mut rest = dests.iter().map(Snapshot::of).enumerate();
        let (mut least, mut lw, mut loh) = rest
            .by_ref()
            .find(|(_, s)| !s.overload && s.weight > 0)
            .map(|(pos, s)| (pos, i64::from(s.weight), i64::from(s.overhead())))?;
        for (pos, s) in rest {
            if s.overload {
                continue;
            }
            let doh = i64::from(s.overhead());
            if loh * i64::from(s.weight) > doh * lw {
                (least, lw, loh) = (pos, i64::from(s.weight), doh);
            }
        }
        Some(least)
    }
}

impl Scheduler for Wlc {
    fn name(&self) -> &'static str {
        "wlc"
    }
    fn schedule(&mut self, dests: &DestList, _input: &SchedInput) -> Option<usize> {
        self.picker.schedule(dests, Wlc::scan)
    }
    picker_hooks!();
}

//! lblcr — locality-based least-connection with replication (spec §3.14, kernel
//! `ip_vs_lblcr.c`).
//!
//! Like lblc, but each packet destination address maps to a *set* of real servers. The pick
//! is the set's weighted least-loaded member (AVAILABLE, weight > 0, no OVERLOAD), unless it
//! is "overloaded" in lblc's sense or there is none: then the service's weighted
//! least-connection server is chosen and added to the set. When a set of more than one member
//! was not modified for `lblcr_expiration` (default 24 h), its weighted most-loaded member is
//! dropped at the next lookup. New members go to the head of the set, so ties of the set's
//! minimum and maximum go to the member added last. The cache and its 60-second collector are
//! lblc's.

use std::net::IpAddr;

use super::lblc::{is_overloaded, least_loaded, CacheEntry, CacheTable, DestRef};
use super::{SchedInput, Scheduler};
use crate::dest::Destination;
use crate::service::DestList;
use crate::time::Time;

/// A cache entry of lblcr (`struct ip_vs_lblcr_entry` with its `ip_vs_dest_set`).
#[derive(Debug, Clone)]
struct LblcrEntry {
    addr: IpAddr,
    /// Members, oldest first (the kernel's set list is newest first).
    set: Vec<DestRef>,
    /// When the set last changed.
    lastmod: Time,
    lastuse: Time,
}

impl CacheEntry for LblcrEntry {
    fn addr(&self) -> &IpAddr {
        &self.addr
    }
    fn lastuse(&self) -> Time {
        self.lastuse
    }
    fn refs_mut(&mut self) -> &mut [DestRef] {
        &mut self.set
    }
}

/// The locality-based least-connection scheduler with replication.
#[derive(Debug, Clone)]
pub struct Lblcr {
    table: CacheTable<LblcrEntry>,
}

impl Lblcr {
    /// The scheduler for a service (its cache starts empty); `expiration_secs` is the
    /// `lblcr_expiration` sysctl (default 86400).
    pub fn new(dests: &DestList, expiration_secs: u32) -> Self {
        let _ = dests;
        Lblcr {
            table: CacheTable::new(expiration_secs),
        }
    }

    /// Number of cached destination addresses.
    pub fn cache_len(&self) -> usize {
        self.table.len()
    }

    /// The server set cached for destination address `daddr`, newest member first: each
    /// member's list position, or `None` for a member deleted from the list.
    pub fn cached_set(&self, dests: &DestList, daddr: &IpAddr) -> Option<Vec<Option<usize>>> {
        let en = self.table.get(daddr)?;
        Some(en.set.iter().rev().map(|r| r.resolve(dests)).collect())
    }
}

/// The weighted least-loaded usable member (`ip_vs_dest_set_min`): members deleted from the
/// list (not AVAILABLE), with OVERLOAD or with weight 0 never win. Returns its list position.
fn set_min(set: &[DestRef], dests: &DestList) -> Option<usize> {
    let mut members = set
        .iter()
        .rev()
        .filter_map(|r| r.resolve(dests))
        .filter_map(|p| Some((p, dests.get(p)?)))
        .filter(|(_, d)| !d.is_overloaded());
    let (mut pos, mut least) = members.find(|(_, d)| d.weight() > 0)?;
    let mut loh = u128::from(least.overhead());
    for (p, d) in members {
        let doh = u128::from(d.overhead());
        if loh * u128::from(d.weight()) > doh * u128::from(least.weight()) {
            (pos, least, loh) = (p, d, doh);
        }
    }
    Some(pos)
}

impl Lblcr {
    /// The weighted most-loaded member with weight > 0 (`ip_vs_dest_set_max`); deleted members
    /// count too, with their weight and load at deletion. Returns its index in `set`.
    fn set_max(&self, set: &[DestRef], dests: &DestList) -> Option<usize> {
        let load = |r: &DestRef| -> Option<(u32, u64)> {
            match r.resolve(dests).and_then(|p| dests.get(p)) {
                Some(d) => Some((d.weight(), d.overhead())),
                None => self.table.departed(r.id()).map(|g| (g.weight, g.overhead)),
            }
        };
        let mut members = set
            .iter()
            .enumerate()
            .rev()
            .filter_map(|(i, r)| Some((i, load(r)?)))
            .filter(|(_, (w, _))| *w > 0);
        let (mut most, (mut mw, mut moh)) = members.next()?;
        for (i, (dw, doh)) in members {
            if u128::from(moh) * u128::from(dw) < u128::from(doh) * u128::from(mw) {
                (most, mw, moh) = (i, dw, doh);
            }
        }
        Some(most)
    }
}

impl Scheduler for Lblcr {
    fn name(&self) -> &'static str {
        "lblcr"
    }

    fn schedule(&mut self, dests: &DestList, input: &SchedInput) -> Option<usize> {
        let now = input.now;
        let daddr = input.vaddr;
        self.table.observe(now);
        let expiration = self.table.expiration();
        let Some(en) = self.table.get(&daddr) else {
            // No entry: weighted least-connection, then a new one-member set.
            let pos = least_loaded(dests)?;
            let member = DestRef::of(dests.get(pos)?);
            self.table.insert(LblcrEntry {
                addr: daddr,
                set: vec![member],
                lastmod: now,
                lastuse: now,
            });
            return Some(pos);
        };
        let min = set_min(&en.set, dests);
        // More than one member and unchanged for the expiration time: drop the most loaded.
        let shrink = en.set.len() > 1 && now > en.lastmod + expiration;
        let drop = if shrink {
            self.set_max(&en.set, dests)
        } else {
            None
        };
        let en = self.table.get_mut(&daddr)?;
        en.lastuse = now;
        if let Some(i) = drop {
            en.set.remove(i);
            en.lastmod = now;
        }
        if let Some(pos) = min {
            if !is_overloaded(dests.get(pos)?, dests) {
                return Some(pos);
            }
        }
        let pos = least_loaded(dests)?;
        let member = DestRef::of(dests.get(pos)?);
        if !en.set.contains(&member) {
            en.set.push(member);
            en.lastmod = now;
        }
        Some(pos)
    }

    fn add_dest(&mut self, dests: &DestList, pos: usize) {
        self.table.dest_added(dests, pos);
    }

    fn del_dest(&mut self, _dests: &DestList, removed: &Destination, _old_pos: usize) {
        self.table.dest_deleted(removed);
    }

    fn timer(&mut self, _dests: &DestList, now: Time) {
        self.table.run_timer(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dest::DestConf;

    fn list(weights: &[u32]) -> DestList {
        DestList::from_list_order(
            weights
                .iter()
                .enumerate()
                .map(|(i, &w)| {
                    let conf = DestConf {
                        weight: w,
                        ..DestConf::default()
                    };
                    let seq = i as u64 + 1;
                    Destination::detached(
                        format!("10.0.0.{}", i + 1).parse().unwrap(),
                        80,
                        conf,
                        seq,
                    )
                })
                .collect(),
        )
    }

    #[test]
    fn min_and_max_prefer_the_newest_member_on_ties() {
        let l = list(&[1, 1, 1]);
        let refs: Vec<DestRef> = l.iter().map(DestRef::of).collect();
        // Set stored oldest first: [pos 2, pos 0, pos 1] → newest member is pos 1.
        let set = vec![refs[2], refs[0], refs[1]];
        assert_eq!(set_min(&set, &l), Some(1));
        let s = Lblcr::new(&l, 60);
        assert_eq!(s.set_max(&set, &l), Some(2));
    }

    #[test]
    fn min_skips_weight_zero_and_overload() {
        let mut l = list(&[0, 2, 1]);
        let refs: Vec<DestRef> = l.iter().map(DestRef::of).collect();
        let set = vec![refs[2], refs[1], refs[0]];
        assert_eq!(set_min(&set, &l), Some(1));
        l.get_mut(1).unwrap().set_counters_for_test(0, 0, true);
        assert_eq!(set_min(&set, &l), Some(2));
        l.get_mut(2).unwrap().set_counters_for_test(0, 0, true);
        assert_eq!(set_min(&set, &l), None);
    }
}

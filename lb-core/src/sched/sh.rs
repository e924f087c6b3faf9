//! sh — source hashing (spec §3.10, kernel `ip_vs_sh.c`, current version).
//!
//! A table of 256 buckets, each naming a destination. It is filled by walking the list
//! cyclically from the head, each destination taking `max(weight, 1)` consecutive buckets, and
//! rebuilt on every add, delete and edit (the kernel's `ip_vs_sh_reassign`). A client lands in
//! bucket `hash_32(port + folded source address, 8)`; the port counts only with `sh-port`.
//! The chosen destination must have weight > 0 and no OVERLOAD; otherwise there is no
//! destination, unless `sh-fallback` is set: then buckets `(2·h + k) mod 256`, k = 0..255, are
//! probed in turn (the kernel adds the probe offset `(k + h) mod 256` to the hash, so the first
//! fallback probe is bucket `2·h`, not `h + 1`), and an empty bucket ends the search.

use super::{SchedFlags, SchedInput, Scheduler};
use crate::dest::Destination;
use crate::hash::{fold_addr, hash_32};
use crate::service::DestList;

/// Bits of the sh table (Kconfig `IP_VS_SH_TAB_BITS`, default 8).
pub const SH_TAB_BITS: u32 = 8;
/// Buckets of the sh table.
pub const SH_TAB_SIZE: usize = 1 << SH_TAB_BITS;
const SH_TAB_MASK: u32 = (1 << SH_TAB_BITS) - 1;

/// The source-hashing scheduler.
#[derive(Debug, Clone)]
pub struct Sh {
    /// Bucket → `link_seq` of its destination (`None` when the list is empty).
    buckets: [Option<u64>; SH_TAB_SIZE],
}

impl Sh {
    /// The scheduler for a service whose list is `dests` (`ip_vs_sh_init_svc`).
    pub fn new(dests: &DestList) -> Self {
        let mut sh = Sh {
            buckets: [None; SH_TAB_SIZE],
        };
        sh.reassign(dests);
        sh
    }

    /// The bucket of a client (`ip_vs_sh_hashkey`): `(offset + hash_32(port + fold(addr), 8))
    /// mod 256`, 32-bit wrapping arithmetic.
    pub fn bucket_of(addr_fold: u32, port: u16, offset: u32) -> usize {
        let h = hash_32(u32::from(port).wrapping_add(addr_fold), SH_TAB_BITS);
        (offset.wrapping_add(h) & SH_TAB_MASK) as usize
    }

    /// The `link_seq` of the destination in each bucket, bucket 0 first.
    pub fn buckets(&self) -> &[Option<u64>; SH_TAB_SIZE] {
        &self.buckets
    }

    /// Refills the table from the list (`ip_vs_sh_reassign`): cyclically from the head, each
    /// destination holding its bucket until it has `weight` of them (at least one).
    fn reassign(&mut self, dests: &DestList) {
        let n = dests.len();
        let mut pos = 0;
        let mut count = 0u32;
        for bucket in self.buckets.iter_mut() {
            let Some(d) = dests.get(pos) else {
                *bucket = None;
                continue;
            };
            *bucket = Some(d.link_seq());
            count += 1;
            if count >= d.weight() {
                pos = (pos + 1) % n;
                count = 0;
            }
        }
    }

    /// The list position of the destination in `bucket`, if the bucket has one that is still
    /// in the list.
    fn dest_at(&self, dests: &DestList, bucket: usize) -> Option<usize> {
        let seq = (*self.buckets.get(bucket)?)?;
        dests.position_of_seq(seq)
    }
}

/// sh's and mh's "unavailable": weight 0 or OVERLOAD (`is_unavailable`).
pub(crate) fn is_unavailable(d: &Destination) -> bool {
    d.weight() == 0 || d.is_overloaded()
}

impl Scheduler for Sh {
    fn name(&self) -> &'static str {
        "sh"
    }

    fn schedule(&mut self, dests: &DestList, input: &SchedInput) -> Option<usize> {
        let fold = fold_addr(&input.caddr);
        // Every protocol lb knows (TCP, UDP, SCTP) has ports where sh-port reads them.
        let port = if input.flags.contains(SchedFlags::PORT) {
            input.cport
        } else {
            0
        };
        let usable = |pos: usize| dests.get(pos).is_some_and(|d| !is_unavailable(d));
        let ihash = Self::bucket_of(fold, port, 0);
        let first = self.dest_at(dests, ihash);
        if !input.flags.contains(SchedFlags::FALLBACK) {
            return first.filter(|&p| usable(p));
        }
        // ip_vs_sh_get_fallback
        let first = first?;
        if usable(first) {
            return Some(first);
        }
        for k in 0..SH_TAB_SIZE as u32 {
            let roffset = (k + ihash as u32) % SH_TAB_SIZE as u32;
            let pos = self.dest_at(dests, Self::bucket_of(fold, port, roffset))?;
            if usable(pos) {
                return Some(pos);
            }
        }
        None
    }

    fn add_dest(&mut self, dests: &DestList, _pos: usize) {
        self.reassign(dests);
    }

    fn del_dest(&mut self, dests: &DestList, _removed: &Destination, _old_pos: usize) {
        self.reassign(dests);
    }

    fn upd_dest(&mut self, dests: &DestList, _pos: usize) {
        self.reassign(dests);
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
                    Destination::detached(format!("10.0.0.{}", i + 1).parse().unwrap(), 80, conf, 0)
                })
                .collect(),
        )
    }

    #[test]
    fn weight_zero_still_takes_one_bucket_per_cycle() {
        let l = list(&[0, 2]);
        let sh = Sh::new(&l);
        let head = l.get(0).unwrap().link_seq();
        let second = l.get(1).unwrap().link_seq();
        assert_eq!(
            &sh.buckets()[..6],
            &[
                Some(head),
                Some(second),
                Some(second),
                Some(head),
                Some(second),
                Some(second)
            ]
        );
        assert_eq!(
            sh.buckets().iter().filter(|b| **b == Some(head)).count(),
            86
        );
    }

    #[test]
    fn empty_list_empties_the_table() {
        let sh = Sh::new(&DestList::default());
        assert!(sh.buckets().iter().all(Option::is_none));
    }

    #[test]
    fn fallback_probes_twice_the_hash_first() {
        // 10.1.2.3 hashes to bucket 2: the first fallback probe is bucket 4.
        assert_eq!(Sh::bucket_of(0x0A01_0203, 0, 0), 2);
        assert_eq!(Sh::bucket_of(0x0A01_0203, 0, 2), 4);
        assert_eq!(Sh::bucket_of(0x0A01_0203, 0, 255), 1);
    }
}

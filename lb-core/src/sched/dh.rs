//! dh — destination hashing (spec §3.11, kernel `ip_vs_dh.c`, current version).
//!
//! A table of 256 buckets filled with one bucket per destination, cycling through the list
//! from the head (weights are ignored), rebuilt when a destination is added or deleted (the
//! kernel's dh has no `upd_dest` callback; an edit cannot change the table anyway). A packet
//! lands in bucket `hash_32(folded destination address, 8)`; the destination there must be
//! AVAILABLE, have weight > 0 and no OVERLOAD, otherwise there is no destination.

use super::{SchedInput, Scheduler};
use crate::dest::Destination;
use crate::hash::{fold_addr, hash_32};
use crate::service::DestList;

/// Bits of the dh table (Kconfig `IP_VS_DH_TAB_BITS`, default 8).
pub const DH_TAB_BITS: u32 = 8;
/// Buckets of the dh table.
pub const DH_TAB_SIZE: usize = 1 << DH_TAB_BITS;

/// The destination-hashing scheduler.
#[derive(Debug, Clone)]
pub struct Dh {
    /// Bucket → `link_seq` of its destination (`None` when the list is empty).
    buckets: [Option<u64>; DH_TAB_SIZE],
}

impl Dh {
    /// The scheduler for a service whose list is `dests` (`ip_vs_dh_init_svc`).
    pub fn new(dests: &DestList) -> Self {
        let mut dh = Dh {
            buckets: [None; DH_TAB_SIZE],
        };
        dh.reassign(dests);
        dh
    }

    /// The bucket of a packet's destination address (`ip_vs_dh_hashkey`).
    pub fn bucket_of(addr_fold: u32) -> usize {
        hash_32(addr_fold, DH_TAB_BITS) as usize
    }

    /// The `link_seq` of the destination in each bucket, bucket 0 first.
    pub fn buckets(&self) -> &[Option<u64>; DH_TAB_SIZE] {
        &self.buckets
    }

    /// `ip_vs_dh_reassign`: bucket i holds list entry i mod n.
    fn reassign(&mut self, dests: &DestList) {
        let n = dests.len().max(1);
        for (i, bucket) in self.buckets.iter_mut().enumerate() {
            *bucket = dests.get(i % n).map(Destination::link_seq);
        }
    }
}

impl Scheduler for Dh {
    fn name(&self) -> &'static str {
        "dh"
    }

    fn schedule(&mut self, dests: &DestList, input: &SchedInput) -> Option<usize> {
        let bucket = Self::bucket_of(fold_addr(&input.vaddr));
        let seq = self.buckets[bucket]?;
        // A destination that left the list is not AVAILABLE.
        let pos = dests.position_of_seq(seq)?;
        let d = dests.get(pos)?;
        (d.is_available() && d.weight() > 0 && !d.is_overloaded()).then_some(pos)
    }

    fn add_dest(&mut self, dests: &DestList, _pos: usize) {
        self.reassign(dests);
    }

    fn del_dest(&mut self, dests: &DestList, _removed: &Destination, _old_pos: usize) {
        self.reassign(dests);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dest::DestConf;

    #[test]
    fn one_bucket_each_whatever_the_weight() {
        let mk = |i: u32, w: u32| {
            let conf = DestConf {
                weight: w,
                ..DestConf::default()
            };
            Destination::detached(format!("10.0.0.{i}").parse().unwrap(), 80, conf, 0)
        };
        let l = DestList::from_list_order(vec![mk(1, 100), mk(2, 1), mk(3, 0)]);
        let dh = Dh::new(&l);
        let seqs: Vec<u64> = l.iter().map(Destination::link_seq).collect();
        for (i, b) in dh.buckets().iter().enumerate() {
            assert_eq!(*b, Some(seqs[i % 3]));
        }
    }
}

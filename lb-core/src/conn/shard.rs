//! Shards: the table split into independently locked parts.
//!
//! A connection lives in the shard chosen by the hash of (protocol, client address, client
//! port), and so does the reply index entry of a NAT connection (its reply is addressed to
//! the client): a packet of either direction takes exactly one shard lock, and threads
//! working on other clients never wait for it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::addr::{Addr, V4, V6};
use super::hash::TupleHasher;
use super::table::Table;
use crate::stats::Counters;

/// Destination ids below this have their traffic counters in a plain array.
const DENSE_IDS: usize = 1 << 16;

/// Packets and bytes counted under a shard's lock, per destination id, not yet folded into
/// the model's statistics. Counting under the lock already held costs two plain additions
/// and shares no cache line with other threads (the kernel keeps per-CPU counters for the
/// same reason).
#[derive(Debug, Default)]
pub(crate) struct ShardTraffic {
    dense: Vec<Counters>,
    sparse: HashMap<u32, Counters>,
}

impl ShardTraffic {
    #[inline]
    fn slot(&mut self, dest: u32) -> &mut Counters {
        let i = dest as usize;
        if i < self.dense.len() {
            return &mut self.dense[i];
        }
        self.slot_slow(dest)
    }

    /// A destination not counted in the dense array yet, or whose id is too large for it.
    #[cold]
    fn slot_slow(&mut self, dest: u32) -> &mut Counters {
        let i = dest as usize;
        if i < DENSE_IDS {
            if i >= self.dense.len() {
                self.dense.resize(i + 1, Counters::default());
            }
            &mut self.dense[i]
        } else {
            self.sparse.entry(dest).or_default()
        }
    }

    /// One packet client → server of `bytes` for destination `dest`.
    #[inline]
    pub fn count_in(&mut self, dest: u32, bytes: u64) {
        let c = self.slot(dest);
        c.inpkts = c.inpkts.wrapping_add(1);
        c.inbytes = c.inbytes.wrapping_add(bytes);
    }

    /// One connection scheduled to destination `dest`.
    #[inline]
    pub fn count_conn(&mut self, dest: u32) {
        let c = self.slot(dest);
        c.conns = c.conns.wrapping_add(1);
    }

    /// One packet server → client of `bytes` for destination `dest`.
    #[inline]
    pub fn count_out(&mut self, dest: u32, bytes: u64) {
        let c = self.slot(dest);
        c.outpkts = c.outpkts.wrapping_add(1);
        c.outbytes = c.outbytes.wrapping_add(bytes);
    }

    /// Appends every non-zero count to `out` and starts again from zero.
    pub fn drain(&mut self, out: &mut Vec<(u32, Counters)>) {
        let zero = Counters::default();
        for (i, c) in self.dense.iter_mut().enumerate() {
            if *c != zero {
                out.push((i as u32, std::mem::take(c)));
            }
        }
        out.extend(self.sparse.drain().filter(|(_, c)| *c != zero));
    }
}

/// One shard: an IPv4 and an IPv6 table, and the traffic counted under its lock.
#[derive(Debug)]
pub(crate) struct Shard {
    pub v4: Table<V4>,
    pub v6: Table<V6>,
    pub traffic: ShardTraffic,
}

/// Choosing a family's table in a shard.
pub(crate) trait InShard: Addr {
    fn table(shard: &Shard) -> &Table<Self>;
    fn table_mut(shard: &mut Shard) -> &mut Table<Self>;
    /// The family's table and the shard's traffic counters, both writable.
    fn split(shard: &mut Shard) -> (&mut Table<Self>, &mut ShardTraffic);
}

impl InShard for V4 {
    #[inline]
    fn table(shard: &Shard) -> &Table<V4> {
        &shard.v4
    }
    #[inline]
    fn table_mut(shard: &mut Shard) -> &mut Table<V4> {
        &mut shard.v4
    }
    #[inline]
    fn split(shard: &mut Shard) -> (&mut Table<V4>, &mut ShardTraffic) {
        (&mut shard.v4, &mut shard.traffic)
    }
}

impl InShard for V6 {
    #[inline]
    fn table(shard: &Shard) -> &Table<V6> {
        &shard.v6
    }
    #[inline]
    fn table_mut(shard: &mut Shard) -> &mut Table<V6> {
        &mut shard.v6
    }
    #[inline]
    fn split(shard: &mut Shard) -> (&mut Table<V6>, &mut ShardTraffic) {
        (&mut shard.v6, &mut shard.traffic)
    }
}

/// The shards of one table (connections, or persistence templates).
#[derive(Debug)]
pub(crate) struct Shards {
    shards: Box<[Mutex<Shard>]>,
    bits: u32,
    hasher: TupleHasher,
}

impl Shards {
    /// `2^bits` shards whose tables hold at most `max_entries` per family.
    pub fn new(bits: u32, seed: u64, max_entries: usize) -> Shards {
        let hasher = TupleHasher::new(seed);
        let shards = (0..1usize << bits)
            .map(|_| {
                Mutex::new(Shard {
                    v4: Table::new(hasher, max_entries),
                    v6: Table::new(hasher, max_entries),
                    traffic: ShardTraffic::default(),
                })
            })
            .collect();
        Shards {
            shards,
            bits,
            hasher,
        }
    }

    /// Number of shards.
    pub fn count(&self) -> usize {
        self.shards.len()
    }

    /// The client hash of a tuple (see [`TupleHasher::client`]).
    #[inline]
    pub fn client_hash<A: Addr>(&self, proto: u8, caddr: A, cport: u16) -> u64 {
        self.hasher.client(proto, caddr, cport)
    }

    /// The shard a client hash belongs to.
    #[inline]
    pub fn shard_of(&self, client_hash: u64) -> usize {
        client_hash.checked_shr(64 - self.bits).unwrap_or(0) as usize
    }

    /// Locks shard `i` (a poisoned lock is taken over: a shard is consistent between
    /// operations, and nothing on the packet path panics).
    #[inline]
    pub fn lock(&self, i: usize) -> MutexGuard<'_, Shard> {
        // The count is a power of two.
        let m = &self.shards[i & (self.shards.len() - 1)];
        m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_counts_drain_once() {
        let mut t = ShardTraffic::default();
        t.count_in(3, 100);
        t.count_in(3, 50);
        t.count_out(3, 40);
        t.count_in(70_000, 10);
        let mut out = Vec::new();
        t.drain(&mut out);
        out.sort_by_key(|(id, _)| *id);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].0, 3);
        let c = out[0].1;
        assert_eq!(
            (c.inpkts, c.inbytes, c.outpkts, c.outbytes),
            (2, 150, 1, 40)
        );
        assert_eq!((out[1].0, out[1].1.inbytes), (70_000, 10));
        out.clear();
        t.drain(&mut out);
        assert!(out.is_empty());
    }
}

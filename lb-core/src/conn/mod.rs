//! The connection table (spec §4, §6.2): every connection the director forwards, and the
//! persistence templates that tie a client to a real server.
//!
//! The table is sharded: a connection lives in the shard of its (protocol, client address,
//! client port), where the reply index of a NAT connection also lives, so a packet in either
//! direction takes one shard lock and no global one. Persistence templates are kept in a
//! second set of shards, keyed by their own tuple (client network, port 0, virtual address
//! or firewall mark). Inside a shard, IPv4 and IPv6 have separate tables so that an IPv4
//! entry stores 4-byte addresses (60 bytes an entry, 96 for IPv6); entries sit in
//! fixed-size chunks and are found through open-addressing indexes of 4-byte slots.
//! Expiry is driven by a timer wheel per table, advanced by the time the caller passes in;
//! lookups also check the expiry of what they find, so an entry never outlives its timeout
//! whatever the housekeeping rhythm. Every allocation is taken from a [`MemoryBudget`].
//!
//! Time is kept in ticks of [`TICK_MS`] milliseconds (the kernel's jiffies at HZ=100).
//!
//! The table is driven by [`crate::engine::Engine`]; [`Conn`] is what it shows of an entry.

mod addr;
mod entry;
mod hash;
mod index;
mod memory;
mod shard;
mod table;
mod view;

use std::time::Duration;

use crate::time::Time;

pub(crate) use addr::{Addr, V4, V6};
pub use entry::flags;
pub(crate) use entry::{Entry, Key, ReplyKey, NIL, TEMPLATE_ASSURED};
pub use memory::MemoryBudget;
pub(crate) use shard::{InShard, ShardTraffic, Shards};
pub(crate) use table::{tick_le, Table};
pub use view::{Conn, ConnState};

/// Milliseconds per tick of the connection timers.
pub const TICK_MS: u64 = 10;

/// The largest timeout kept, in ticks (a quarter of the wrapping range: 62 days).
const MAX_TIMEOUT_TICKS: u32 = 1 << 29;

/// The tick `t` falls in (rounded down): an entry has expired when its tick is not later.
#[inline]
pub(crate) fn tick_floor(t: Time) -> u32 {
    (t.as_millis() / TICK_MS) as u32
}

/// The first tick not before `t` (rounded up): timers are armed from here, so that no
/// entry expires before its full timeout.
#[inline]
pub(crate) fn tick_ceil(t: Time) -> u32 {
    t.as_millis().div_ceil(TICK_MS) as u32
}

/// A timeout in ticks (64-bit arithmetic only: this is on the packet path).
#[inline]
pub(crate) fn ticks(d: Duration) -> u32 {
    let t = d
        .as_secs()
        .saturating_mul(1000 / TICK_MS)
        .saturating_add(u64::from(d.subsec_millis()) / TICK_MS);
    u32::try_from(t)
        .unwrap_or(MAX_TIMEOUT_TICKS)
        .min(MAX_TIMEOUT_TICKS)
}

/// Ticks back to a duration.
#[inline]
pub(crate) fn ticks_duration(t: u32) -> Duration {
    Duration::from_millis(u64::from(t) * TICK_MS)
}

/// Time left from `now` until tick `expires` (zero if it has passed).
pub(crate) fn remaining(expires: u32, now: Time) -> Duration {
    let diff = expires.wrapping_sub(tick_floor(now)) as i32;
    if diff <= 0 {
        return Duration::ZERO;
    }
    let ms = u64::from(diff.unsigned_abs()) * TICK_MS - now.as_millis() % TICK_MS;
    Duration::from_millis(ms)
}

/// The two sets of shards and their memory account.
#[derive(Debug)]
pub(crate) struct ConnTable {
    /// Connections.
    pub conns: Shards,
    /// Persistence templates. A handle to one is `shard << TEMPLATE_ID_BITS | id`.
    pub templates: Shards,
    /// Every byte both take.
    pub budget: MemoryBudget,
}

/// Bits of a template id inside a template handle.
pub(crate) const TEMPLATE_ID_BITS: u32 = 24;

impl ConnTable {
    /// `2^shard_bits` shards of each kind (`shard_bits` ≤ 8).
    pub fn new(shard_bits: u32, seed: u64, budget: usize) -> ConnTable {
        let bits = shard_bits.min(8);
        ConnTable {
            conns: Shards::new(bits, seed, u32::MAX as usize - 1),
            templates: Shards::new(bits, seed ^ 0x7465_6d70_6c61_7465, 1 << TEMPLATE_ID_BITS),
            budget: MemoryBudget::new(budget),
        }
    }

    /// A template handle.
    #[inline]
    pub fn template_handle(shard: usize, id: u32) -> u32 {
        ((shard as u32) << TEMPLATE_ID_BITS) | id
    }

    /// The shard and id of a template handle.
    #[inline]
    pub fn template_parts(handle: u32) -> (usize, u32) {
        (
            (handle >> TEMPLATE_ID_BITS) as usize,
            handle & ((1 << TEMPLATE_ID_BITS) - 1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_rounding() {
        assert_eq!(tick_floor(Time::from_millis(1009)), 100);
        assert_eq!(tick_ceil(Time::from_millis(1001)), 101);
        assert_eq!(tick_ceil(Time::from_millis(1000)), 100);
        assert_eq!(ticks(Duration::from_secs(900)), 90_000);
        assert_eq!(ticks(Duration::from_millis(1_234)), 123);
        assert_eq!(ticks(Duration::from_secs(u64::MAX)), MAX_TIMEOUT_TICKS);
        assert_eq!(
            remaining(400, Time::from_millis(1000)),
            Duration::from_secs(3)
        );
        assert_eq!(
            remaining(400, Time::from_millis(3995)),
            Duration::from_millis(5)
        );
        assert_eq!(remaining(400, Time::from_millis(4000)), Duration::ZERO);
        assert_eq!(remaining(400, Time::from_millis(9000)), Duration::ZERO);
        assert_eq!(
            ConnTable::template_parts(ConnTable::template_handle(5, 77)),
            (5, 77)
        );
    }
}

//! lblc — locality-based least-connection (spec §3.13, kernel `ip_vs_lblc.c`).
//!
//! A cache maps each packet *destination* address (the address a cache cluster is asked
//! for) to one real server. A cached server is used while it is AVAILABLE, has weight > 0 and
//! is not "overloaded" in lblc's own sense: more active connections than its weight while some
//! server of the service has fewer than half its weight (the threshold OVERLOAD flag is not
//! consulted for a cached server). Otherwise the weighted least-connection server is chosen
//! and cached. Entries live in 1024 hash buckets; a garbage collector runs every 60 s: every
//! 30th run removes the entries unused for `lblc_expiration` (default 24 h), the other runs
//! act only when the table holds more than 16384 entries and then remove entries unused for
//! 6 minutes, resuming from a rotating bucket, until enough are gone.
//!
//! This file also holds the cache machinery lblcr shares: the bucketed table, its collector,
//! the references to destinations, the least-connection pick and the overload test.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::{SchedInput, Scheduler};
use crate::dest::{DestId, Destination};
use crate::hash::{fold_addr, hash_32};
use crate::service::DestList;
use crate::time::Time;

/// Bits of the cache hash table (Kconfig `IP_VS_LBLC_TAB_BITS` / `IP_VS_LBLCR_TAB_BITS`).
pub(crate) const CACHE_TAB_BITS: u32 = 10;
const CACHE_TAB_SIZE: usize = 1 << CACHE_TAB_BITS;
const CACHE_TAB_MASK: usize = CACHE_TAB_SIZE - 1;
/// Entries above which the collector's partial runs act (`max_size = 16 × table size`).
pub(crate) const CACHE_MAX_SIZE: i64 = 16 * CACHE_TAB_SIZE as i64;
/// Period of the collector (`CHECK_EXPIRE_INTERVAL`).
pub(crate) const CHECK_EXPIRE_INTERVAL: Duration = Duration::from_secs(60);
/// Idle time after which a partial run may remove an entry (`ENTRY_TIMEOUT`).
pub(crate) const ENTRY_TIMEOUT: Duration = Duration::from_secs(6 * 60);
/// Every this many runs, a full expiration sweep (`COUNT_FOR_FULL_EXPIRATION`).
const COUNT_FOR_FULL_EXPIRATION: u32 = 30;
/// At most this many missed collector runs are caught up in one `timer` call; older ones
/// are skipped (a clock jump of more than a week).
const MAX_CATCH_UP_RUNS: u64 = 10_080;

/// A reference from a cache to a destination that survives list changes: its identity and
/// its place in the list when it was last seen there. A deleted destination no longer
/// resolves; one revived from the trash resolves again (the kernel's cache holds the same
/// object, which becomes AVAILABLE again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DestRef {
    id: DestId,
    seq: u64,
}

impl DestRef {
    pub(crate) fn of(d: &Destination) -> Self {
        DestRef {
            id: d.id(),
            seq: d.link_seq(),
        }
    }
    /// The list position of the destination, if it is still linked (AVAILABLE).
    pub(crate) fn resolve(&self, dests: &DestList) -> Option<usize> {
        let pos = dests.position_of_seq(self.seq)?;
        (dests.get(pos)?.id() == self.id).then_some(pos)
    }
    pub(crate) fn id(&self) -> DestId {
        self.id
    }
}

/// What the cache still knows of a deleted destination it refers to: its weight and load
/// when it was deleted (lblcr's "most loaded member" still weighs deleted members).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Departed {
    pub(crate) weight: u32,
    pub(crate) overhead: u64,
}

/// An entry of a locality cache.
pub(crate) trait CacheEntry {
    /// The destination address the entry is for.
    fn addr(&self) -> &IpAddr;
    /// When it was last used.
    fn lastuse(&self) -> Time;
    /// Every destination reference it holds.
    fn refs_mut(&mut self) -> &mut [DestRef];
}

/// The bucket of a destination address (`ip_vs_lblc_hashkey`, `ip_vs_lblcr_hashkey`).
pub(crate) fn cache_bucket(addr: &IpAddr) -> usize {
    hash_32(fold_addr(addr), CACHE_TAB_BITS) as usize
}

/// The hash table of lblc and lblcr with its garbage collector (`struct ip_vs_lblc_table`).
#[derive(Clone)]
pub(crate) struct CacheTable<E> {
    /// Buckets; within one, entries are stored oldest first (the kernel's hlist is newest
    /// first: entries are added at its head).
    buckets: Vec<Vec<E>>,
    /// The kernel's `entries` counter. lblc's replacement of an entry does not decrement it
    /// (`ip_vs_lblc_new` deletes without `atomic_dec`), so it can exceed the real count.
    counted: i64,
    /// Bucket the collector last visited (`rover`).
    rover: usize,
    /// Runs since the last full sweep, plus one (`counter`).
    counter: u32,
    /// When the collector runs next; set at the first time the scheduler sees.
    next_run: Option<Time>,
    /// Full-sweep expiration (`lblc_expiration`, `lblcr_expiration`).
    expiration: Duration,
    /// Deleted destinations some entry still refers to.
    departed: HashMap<DestId, Departed>,
}

impl<E: CacheEntry> CacheTable<E> {
    pub(crate) fn new(expiration_secs: u32) -> Self {
        CacheTable {
            buckets: (0..CACHE_TAB_SIZE).map(|_| Vec::new()).collect(),
            counted: 0,
            rover: 0,
            counter: 1,
            next_run: None,
            expiration: Duration::from_secs(u64::from(expiration_secs)),
            departed: HashMap::new(),
        }
    }

    pub(crate) fn expiration(&self) -> Duration {
        self.expiration
    }

    /// Entries really held.
    pub(crate) fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    pub(crate) fn get(&self, addr: &IpAddr) -> Option<&E> {
        self.buckets[cache_bucket(addr)]
            .iter()
            .find(|e| e.addr() == addr)
    }

    pub(crate) fn get_mut(&mut self, addr: &IpAddr) -> Option<&mut E> {
        self.buckets[cache_bucket(addr)]
            .iter_mut()
            .find(|e| e.addr() == addr)
    }

    /// Adds an entry at the head of its bucket (`hlist_add_head_rcu` + `atomic_inc`).
    pub(crate) fn insert(&mut self, e: E) {
        self.buckets[cache_bucket(e.addr())].push(e);
        self.counted += 1;
    }

    /// Unhashes the entry for `addr` without touching the counter (`ip_vs_lblc_del` as
    /// `ip_vs_lblc_new` calls it).
    pub(crate) fn unhash_uncounted(&mut self, addr: &IpAddr) {
        self.buckets[cache_bucket(addr)].retain(|e| e.addr() != addr);
    }

    /// Notes the first time the scheduler sees: the collector's first run is 60 s later (the
    /// kernel arms its timer when the service gets the scheduler).
    pub(crate) fn observe(&mut self, now: Time) {
        if self.next_run.is_none() {
            self.next_run = Some(now + CHECK_EXPIRE_INTERVAL);
        }
    }

    /// Runs the collector for every 60-second tick up to `now`
    /// (`ip_vs_lblc_check_expire`, `ip_vs_lblcr_check_expire`).
    pub(crate) fn run_timer(&mut self, now: Time) {
        self.observe(now);
        let Some(next) = self.next_run else {
            return;
        };
        if next > now {
            return;
        }
        let period = CHECK_EXPIRE_INTERVAL.as_millis() as u64;
        let due = (now.as_millis() - next.as_millis()) / period + 1;
        let runs = due.min(MAX_CATCH_UP_RUNS);
        let first = next.as_millis() + (due - runs) * period;
        for r in 0..runs {
            self.check_expire(Time::from_millis(first + r * period));
        }
        self.next_run = Some(Time::from_millis(first.saturating_add(runs * period)));
        self.prune_departed();
    }

    /// One collector run at time `now`.
    fn check_expire(&mut self, now: Time) {
        if self.counter.is_multiple_of(COUNT_FOR_FULL_EXPIRATION) {
            let expiration = self.expiration;
            // A full sweep visits every bucket once, so the rover ends where it started.
            for bucket in &mut self.buckets {
                let before = bucket.len();
                bucket.retain(|e| now < e.lastuse() + expiration);
                self.counted -= (before - bucket.len()) as i64;
            }
            self.counter = 1;
            return;
        }
        if self.counted <= CACHE_MAX_SIZE {
            self.counter += 1;
            return;
        }
        let mut goal = ((self.counted - CACHE_MAX_SIZE) * 4 / 3).min(CACHE_MAX_SIZE / 2);
        let mut j = self.rover;
        for _ in 0..CACHE_TAB_SIZE {
            j = (j + 1) & CACHE_TAB_MASK;
            let bucket = &mut self.buckets[j];
            let before = bucket.len();
            bucket.retain(|e| now < e.lastuse() + ENTRY_TIMEOUT);
            let removed = (before - bucket.len()) as i64;
            self.counted -= removed;
            goal -= removed;
            if goal <= 0 {
                break;
            }
        }
        self.rover = j;
    }

    fn for_each_ref(&mut self, mut f: impl FnMut(&mut DestRef)) {
        for e in self.buckets.iter_mut().flatten() {
            e.refs_mut().iter_mut().for_each(&mut f);
        }
    }

    /// A destination left the list: remember what the cache still needs of it.
    pub(crate) fn dest_deleted(&mut self, removed: &Destination) {
        let id = removed.id();
        let mut referenced = false;
        self.for_each_ref(|r| referenced |= r.id == id);
        if referenced {
            self.departed.insert(
                id,
                Departed {
                    weight: removed.weight(),
                    overhead: removed.overhead(),
                },
            );
        }
    }

    /// A destination was linked at `pos`: if it is a deleted one revived from the trash, the
    /// cache's references to it become valid again.
    pub(crate) fn dest_added(&mut self, dests: &DestList, pos: usize) {
        let Some(d) = dests.get(pos) else {
            return;
        };
        if self.departed.remove(&d.id()).is_none() {
            return;
        }
        let (id, seq) = (d.id(), d.link_seq());
        self.for_each_ref(|r| {
            if r.id == id && dests.position_of_seq(r.seq).is_none() {
                r.seq = seq;
            }
        });
    }

    /// What is known of a deleted destination the cache refers to.
    pub(crate) fn departed(&self, id: DestId) -> Option<Departed> {
        self.departed.get(&id).copied()
    }

    /// Forgets deleted destinations no entry refers to any more.
    fn prune_departed(&mut self) {
        if self.departed.is_empty() {
            return;
        }
        let mut still = HashSet::new();
        for e in self.buckets.iter_mut().flatten() {
            for r in e.refs_mut().iter() {
                if self.departed.contains_key(&r.id) {
                    still.insert(r.id);
                }
            }
        }
        self.departed.retain(|id, _| still.contains(id));
    }
}

impl<E: CacheEntry> fmt::Debug for CacheTable<E> {
    /// A summary, not the entries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheTable")
            .field("entries", &self.len())
            .field("counted", &self.counted)
            .field("rover", &self.rover)
            .field("counter", &self.counter)
            .field("next_run", &self.next_run)
            .field("expiration", &self.expiration)
            .field("departed", &self.departed.len())
            .finish()
    }
}

/// The weighted least-connection choice of lblc and lblcr (`__ip_vs_lblc_schedule`): the
/// first destination without OVERLOAD and with weight > 0, then any later one without
/// OVERLOAD whose `overhead/weight` is strictly lower.
pub(crate) fn least_loaded(dests: &DestList) -> Option<usize> {
    let mut candidates = dests.iter().enumerate().filter(|(_, d)| !d.is_overloaded());
    let (mut pos, mut least) = candidates.find(|(_, d)| d.weight() > 0)?;
    let mut loh = u128::from(least.overhead());
    for (p, d) in candidates {
        let doh = u128::from(d.overhead());
        if loh * u128::from(d.weight()) > doh * u128::from(least.weight()) {
            (pos, least, loh) = (p, d, doh);
        }
    }
    Some(pos)
}

/// lblc's and lblcr's "overloaded" (`is_overloaded`): more active connections than weight,
/// while some destination of the service has fewer than half its weight.
pub(crate) fn is_overloaded(d: &Destination, dests: &DestList) -> bool {
    u64::from(d.active_conns()) > u64::from(d.weight())
        && dests
            .iter()
            .any(|o| u64::from(o.active_conns()) * 2 < u64::from(o.weight()))
}

/// A cache entry of lblc (`struct ip_vs_lblc_entry`).
#[derive(Debug, Clone)]
struct LblcEntry {
    addr: IpAddr,
    /// A one-element array so the shared machinery sees it as a slice.
    dest: [DestRef; 1],
    lastuse: Time,
}

impl CacheEntry for LblcEntry {
    fn addr(&self) -> &IpAddr {
        &self.addr
    }
    fn lastuse(&self) -> Time {
        self.lastuse
    }
    fn refs_mut(&mut self) -> &mut [DestRef] {
        &mut self.dest
    }
}

/// The locality-based least-connection scheduler.
#[derive(Debug, Clone)]
pub struct Lblc {
    table: CacheTable<LblcEntry>,
}

impl Lblc {
    /// The scheduler for a service (its cache starts empty); `expiration_secs` is the
    /// `lblc_expiration` sysctl (default 86400).
    pub fn new(dests: &DestList, expiration_secs: u32) -> Self {
        let _ = dests;
        Lblc {
            table: CacheTable::new(expiration_secs),
        }
    }

    /// Number of cached destination addresses.
    pub fn cache_len(&self) -> usize {
        self.table.len()
    }

    /// The list position of the server cached for destination address `daddr`, if there is
    /// an entry and its server is still in the list.
    pub fn cached(&self, dests: &DestList, daddr: &IpAddr) -> Option<usize> {
        self.table.get(daddr)?.dest[0].resolve(dests)
    }

    fn insert(&mut self, addr: IpAddr, dest: DestRef, now: Time) {
        self.table.insert(LblcEntry {
            addr,
            dest: [dest],
            lastuse: now,
        });
    }
}

impl Scheduler for Lblc {
    fn name(&self) -> &'static str {
        "lblc"
    }

    fn schedule(&mut self, dests: &DestList, input: &SchedInput) -> Option<usize> {
        let now = input.now;
        let daddr = input.vaddr;
        self.table.observe(now);
        let mut cached = None;
        if let Some(en) = self.table.get_mut(&daddr) {
            en.lastuse = now;
            cached = Some(en.dest[0]);
            if let Some(pos) = en.dest[0].resolve(dests) {
                let d = dests.get(pos)?;
                if d.weight() > 0 && !is_overloaded(d, dests) {
                    return Some(pos);
                }
            }
        }
        let pos = least_loaded(dests)?;
        let chosen = DestRef::of(dests.get(pos)?);
        // ip_vs_lblc_new: keep an entry that already names this server, else replace it.
        match cached {
            Some(r) if r == chosen => {}
            Some(_) => {
                self.table.unhash_uncounted(&daddr);
                self.insert(daddr, chosen, now);
            }
            None => self.insert(daddr, chosen, now),
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

    fn entry(addr: &str, lastuse_secs: u64) -> LblcEntry {
        LblcEntry {
            addr: addr.parse().unwrap(),
            dest: [DestRef {
                id: DestId(1),
                seq: 1,
            }],
            lastuse: Time::from_secs(lastuse_secs),
        }
    }

    #[test]
    fn full_sweep_every_thirtieth_run() {
        let mut t: CacheTable<LblcEntry> = CacheTable::new(3600);
        t.observe(Time::ZERO);
        t.insert(entry("198.18.0.1", 0));
        t.insert(entry("198.18.0.2", 1900));
        // Runs at 60 s, 120 s, …; the 30th (1800 s) sweeps: nothing is an hour old yet.
        t.run_timer(Time::from_secs(1800));
        assert_eq!(t.len(), 2);
        // Runs between sweeps never expire anything below the size limit.
        t.run_timer(Time::from_secs(3599));
        assert_eq!(t.len(), 2);
        // The 60th run (3600 s) sweeps again: the entry unused since 0 goes.
        t.run_timer(Time::from_secs(3600));
        assert_eq!(t.len(), 1);
        assert!(t.get(&"198.18.0.2".parse().unwrap()).is_some());
        // The next sweep, at 5400 s, keeps the entry used at 1900 s (expires at 5500 s)…
        t.run_timer(Time::from_secs(5400));
        assert_eq!(t.len(), 1);
        // …and the one at 7200 s removes it.
        t.run_timer(Time::from_secs(7200));
        assert_eq!(t.len(), 0);
        assert_eq!(t.counted, 0);
    }

    #[test]
    fn partial_runs_only_above_max_size() {
        let mut t: CacheTable<LblcEntry> = CacheTable::new(86400);
        t.observe(Time::ZERO);
        let n = CACHE_MAX_SIZE + 3;
        let addrs: Vec<IpAddr> = (0..n)
            .map(|i| IpAddr::from(std::net::Ipv4Addr::from(0xC612_0000 + i as u32)))
            .collect();
        for &a in &addrs {
            t.insert(LblcEntry {
                addr: a,
                dest: [DestRef {
                    id: DestId(1),
                    seq: 1,
                }],
                lastuse: Time::ZERO,
            });
        }
        // Runs at 60 s … 300 s: entries are not 6 minutes old, nothing goes.
        t.run_timer(Time::from_secs(300));
        assert_eq!(t.len() as i64, n);
        // At 360 s: goal = (3·4)/3 = 4; whole buckets from rover + 1 = 1 are emptied until at
        // least 4 entries went.
        let mut per_bucket = vec![0i64; CACHE_TAB_SIZE];
        for a in &addrs {
            per_bucket[cache_bucket(a)] += 1;
        }
        let (mut gone, mut last) = (0, 0);
        for (j, &c) in per_bucket.iter().enumerate().skip(1) {
            gone += c;
            last = j;
            if gone >= 4 {
                break;
            }
        }
        t.run_timer(Time::from_secs(360));
        assert_eq!(t.len() as i64, n - gone);
        assert_eq!(t.rover, last);
        assert_eq!(t.counted, n - gone);
        // Now at or below max size: the next runs only count.
        t.run_timer(Time::from_secs(420));
        assert_eq!(t.len() as i64, n - gone);
        assert_eq!(t.counter, 2);
    }

    #[test]
    fn a_clock_jump_to_the_end_of_time_is_bounded() {
        let mut t: CacheTable<LblcEntry> = CacheTable::new(86400);
        t.observe(Time::ZERO);
        t.insert(entry("198.18.0.1", 0));
        let end = Time::from_millis(u64::MAX);
        t.run_timer(end);
        // The last 10080 runs were caught up: 336 full sweeps, the entry is gone.
        assert_eq!(t.len(), 0);
        t.run_timer(end);
        t.run_timer(end);
        assert_eq!(t.next_run, Some(end));
    }

    #[test]
    fn least_loaded_breaks_ties_by_list_order() {
        let mk = |i: u32, w: u32| {
            let conf = DestConf {
                weight: w,
                ..DestConf::default()
            };
            Destination::detached(format!("10.0.0.{i}").parse().unwrap(), 80, conf, 0)
        };
        let mut l = DestList::from_list_order(vec![mk(1, 0), mk(2, 1), mk(3, 1)]);
        assert_eq!(least_loaded(&l), Some(1));
        l.get_mut(1).unwrap().set_counters_for_test(1, 0, false);
        assert_eq!(least_loaded(&l), Some(2));
        l.get_mut(2).unwrap().set_counters_for_test(0, 0, true);
        assert_eq!(least_loaded(&l), Some(1));
    }
}

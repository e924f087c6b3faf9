//! The IPVS engine without I/O: one packet summary in, one verdict out (spec §2, §4, §6,
//! §9, §10, §12).
//!
//! [`Engine::process`] decides the fate of a packet exactly as the kernel's hooks do: a
//! real server's reply to a NAT connection is translated back (`ip_vs_out_hook`); a
//! client's packet follows its connection, or opens one through the service's scheduler and
//! persistence template, or is left to the host, or is answered with an ICMP error
//! (`ip_vs_in_hook`); ICMP errors are relayed along their connection. The engine keeps the
//! connection table, runs the protocol state machines, moves the real servers' connection
//! counters (and so their OVERLOAD flags), counts traffic, and applies the defenses.
//!
//! # Threads
//!
//! `process` takes `&self` and is meant to be called by several workers at once; a NAT
//! reply may reach another worker than its request. No lock shared by all packets is taken
//! on the packet path:
//! - every packet takes one connection-shard lock: the shard of its client, where both
//!   directions of a connection and its reply index entry live;
//! - a new connection also takes its service's lock once (its scheduler's choice and the
//!   chosen server's counters; bound already counted as its first packet leaves it, active
//!   or inactive, which is where the kernel's bind-then-move ends), and for a persistent
//!   service the lock of its template's shard first;
//! - a state change that moves a server between active and inactive, and an expiry or
//!   removal, take the lock of that server's service, briefly. Services are independent:
//!   their locks are never held together on the packet path.
//!
//! A packet of an established connection that changes nothing takes only its shard lock.
//! Each service's live state (scheduler, destination list, connection counters, OVERLOAD
//! flags) is kept in its own cell (`cell.rs`) while the engine runs, as the kernel keeps a
//! per-service `sched_lock`; the [`Ipvs`] table that `ipvsadm` edits, lists and saves is
//! behind the model lock, which only administrative calls take ([`Engine::configure`],
//! [`Engine::read`], [`Engine::zero`], the settings, and the estimator and trash timers of
//! [`Engine::housekeeping`]). Such a call checks every service in: it takes the model lock,
//! then every service's lock, moves the live services into the table, works on one
//! consistent table, moves them back out (into new cells for new services) and publishes
//! the new configuration before it lets go — so an edit or a listing never sees a
//! scheduler halfway through a choice, and new connections wait for an edit as they would
//! for the kernel's service mutex. A server deleted into the trash keeps its counters: a
//! counter move for it made on the packet path is queued in its service's cell and applied
//! at the next check-in.
//!
//! The configuration reaches workers as an immutable snapshot, swapped whole when it
//! changes; each thread keeps the snapshot it last used and only reloads it when the
//! generation counter says it changed. Traffic and scheduled connections are counted per
//! destination under the shard lock already held, and moved into the model's statistics
//! when they are read. Locks are always taken in the order connection shard, template
//! shard, service; administrative calls drain the shards one at a time before they take
//! the model lock, then the services' locks.
//!
//! # Time
//!
//! Every call takes the current [`Time`]. Connections expire when their timer runs out;
//! [`Engine::housekeeping`] (call it every few tens of milliseconds, at least once a
//! second) reaps them through the timer wheels and runs the once-a-second defense update,
//! the 2-second rate estimator and the 60-second trash timer. Lookups check expiry
//! themselves, so the rhythm of housekeeping only affects when memory comes back.
//!
//! ```
//! use lb_core::engine::{Engine, EngineConfig, PacketMeta, Settings, Verdict};
//! use lb_core::{ipvsadm, Ipvs, Time};
//! let engine = Engine::new(Ipvs::new(), Settings::default(), EngineConfig::default());
//! for line in ["-A -t 198.18.0.1:80 -s rr", "-a -t 198.18.0.1:80 -r 198.19.0.11:8080 -m"] {
//!     let cmd = ipvsadm::parse(&line.split(' ').collect::<Vec<_>>()).unwrap();
//!     engine.configure(|ipvs| ipvsadm::apply(ipvs, &cmd)).unwrap();
//! }
//! let client = ("198.18.1.1".parse().unwrap(), 40000);
//! let vip = ("198.18.0.1".parse().unwrap(), 80);
//! let syn = PacketMeta::tcp(client, vip, lb_core::proto::tcp::SYN, 60);
//! match engine.process(&syn, Time::from_secs(1)) {
//!     Verdict::Forward(f) => assert_eq!((f.daddr.to_string(), f.dport), ("198.19.0.11".to_string(), 8080)),
//!     other => panic!("{other:?}"),
//! }
//! let conn = engine.connection(6, client, vip, Time::from_secs(1)).unwrap();
//! assert_eq!(conn.state.name(), "SYN_RECV");
//! ```

mod admin;
mod cell;
mod counters;
mod defense;
mod fast_hash;
mod housekeeping;
mod icmp;
mod inbound;
mod lifecycle;
mod listing;
mod model;
mod packet;
mod reply;
mod schedule;
mod settings;
mod snapshot;
mod state;
mod verdict;

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

pub use admin::{Invocation, SYNC_NOT_SUPPORTED};
pub use counters::DropCounts;
pub use defense::DefenseStatus;
pub use fast_hash::{BuildFastHasher, FastHasher};
pub use packet::{
    IcmpInfo, InnerTuple, PacketMeta, Side, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP,
    IPPROTO_TCP, IPPROTO_UDP,
};
pub use settings::{DefenseMode, InvalidSetting, Settings, DEFAULT_AMEMTHRESH};
pub use verdict::{DropReason, Forward, IcmpKind, IcmpSend, Reply, TunnelIcmp, Verdict};

use crate::conn::{ConnTable, V4, V6};
use crate::dest::Destination;
use crate::error::Error;
use crate::estimator::Rates;
use crate::ipvs::Ipvs;
use crate::proto::{TimeoutOutOfRange, UserTimeouts};
use crate::service::{Service, ServiceKey};
use crate::time::Time;
use counters::DropCounters;
use defense::Defense;
use housekeeping::Housekeeping;
use model::{EstimatorOf, Model};
use snapshot::Snapshot;

/// How the engine is built (fixed for its life).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// log2 of the number of shards of the connection table (at most 8). More shards, less
    /// waiting between workers; each costs a few hundred bytes while empty.
    pub shard_bits: u32,
    /// Seed of the table's hash functions. Give a random one in a director, so that nobody
    /// can craft flows that collide.
    pub hash_seed: u64,
}

impl Default for EngineConfig {
    /// 64 shards, a fixed seed.
    fn default() -> Self {
        EngineConfig {
            shard_bits: 6,
            hash_seed: 0x6c62_2d63_6f6e_6e73,
        }
    }
}

/// A source of engine identities, for the per-thread snapshot cache.
static NEXT_ENGINE_ID: AtomicU64 = AtomicU64::new(1);

#[derive(Clone)]
struct CachedSnapshot {
    engine: u64,
    generation: u64,
    snapshot: Arc<Snapshot>,
}

thread_local! {
    /// [`Engine::process`]'s copy of the configuration, for a caller that holds none.
    static SNAPSHOT: RefCell<SnapshotCache> = const { RefCell::new(SnapshotCache { cached: None }) };
}

/// A worker's copy of an engine's configuration, for [`Engine::process_with`]: the
/// thread-local copy [`Engine::process`] keeps, held by the caller instead. Reloaded when
/// the engine publishes a new configuration (or the cache meets another engine).
///
/// ```
/// use lb_core::engine::{Engine, EngineConfig, PacketMeta, Settings, SnapshotCache, Verdict};
/// use lb_core::{ipvsadm, FwdMethod, Ipvs, Time};
///
/// let engine = Engine::new(Ipvs::new(), Settings::default(), EngineConfig::default());
/// let mut cache = SnapshotCache::default(); // one per worker thread
/// let syn = PacketMeta::tcp(
///     ("198.18.0.10".parse().unwrap(), 40000),
///     ("198.18.1.1".parse().unwrap(), 80),
///     0x02,
///     60,
/// );
/// // No virtual service: the packet is left to the host.
/// assert_eq!(engine.process_with(&mut cache, &syn, Time::ZERO), Verdict::Pass);
///
/// for line in ["-A -t 198.18.1.1:80 -s rr", "-a -t 198.18.1.1:80 -r 198.19.0.21 -g"] {
///     let args: Vec<&str> = line.split(' ').collect();
///     let cmd = ipvsadm::parse(&args).unwrap();
///     engine.configure(|ipvs| ipvsadm::apply(ipvs, &cmd)).unwrap();
/// }
/// // The cache follows the change.
/// match engine.process_with(&mut cache, &syn, Time::ZERO) {
///     Verdict::Forward(f) => assert_eq!(f.method, FwdMethod::Route),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug, Default, Clone)]
pub struct SnapshotCache {
    cached: Option<CachedSnapshot>,
}

impl SnapshotCache {
    /// The engine's current configuration, reloaded if it changed.
    #[inline]
    fn current(&mut self, engine: &Engine) -> &Snapshot {
        let generation = engine.generation.load(Ordering::Acquire);
        let fresh = matches!(&self.cached,
            Some(c) if c.engine == engine.id && c.generation == generation);
        if !fresh {
            self.cached = None;
        }
        &self
            .cached
            .get_or_insert_with(|| CachedSnapshot::load(engine, generation))
            .snapshot
    }
}

impl CachedSnapshot {
    /// `engine`'s published configuration, of `generation`.
    #[cold]
    #[inline(never)]
    fn load(engine: &Engine, generation: u64) -> CachedSnapshot {
        CachedSnapshot {
            engine: engine.id,
            generation,
            snapshot: engine.current_snapshot(),
        }
    }
}

/// The IPVS engine: configuration, connection table, counters.
#[derive(Debug)]
pub struct Engine {
    id: u64,
    table: ConnTable,
    model: Mutex<Model>,
    published: RwLock<Arc<Snapshot>>,
    generation: AtomicU64,
    drops: DropCounters,
    defense: Defense,
    housekeeping: Mutex<Housekeeping>,
    nodest_flush: AtomicBool,
}

impl std::fmt::Debug for CachedSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSnapshot")
            .field("engine", &self.engine)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `ipvs` with `settings`.
    pub fn new(ipvs: Ipvs, settings: Settings, config: EngineConfig) -> Engine {
        let table = ConnTable::new(config.shard_bits, config.hash_seed, settings.memory_budget);
        let mut model = Model::new(ipvs, settings);
        model.cells.cover(&model.ipvs);
        let snapshot = Arc::new(model.snapshot());
        let cells = model.cells.all();
        let mut locked: Vec<_> = cells.iter().map(|c| c.lock()).collect();
        cell::check_out(
            &mut model.ipvs,
            cells
                .iter()
                .map(|c| &**c)
                .zip(locked.iter_mut().map(|g| &mut **g)),
        );
        drop(locked);
        let engine = Engine {
            id: NEXT_ENGINE_ID.fetch_add(1, Ordering::Relaxed),
            table,
            model: Mutex::new(model),
            published: RwLock::new(snapshot),
            generation: AtomicU64::new(1),
            drops: DropCounters::default(),
            defense: Defense::default(),
            housekeeping: Mutex::new(Housekeeping::default()),
            nodest_flush: AtomicBool::new(false),
        };
        engine.update_defense();
        engine
    }

    /// The model lock (a poisoned lock is taken over: the model is consistent between
    /// operations). The services stay checked out: use [`Engine::admin`] to read or change
    /// them.
    fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the model with every service checked in (see [`cell`]) and the traffic
    /// the packet path counted in every shard folded into the statistics; then, with
    /// `publish`, publishes the configuration to the packet path. Locks are taken in the
    /// order shards (one at a time, to drain them, before anything else), model, cells.
    fn admin<R>(&self, publish: bool, f: impl FnOnce(&mut Model) -> R) -> R {
        let mut drained = Vec::new();
        for i in 0..self.table.conns.count() {
            self.table.conns.lock(i).traffic.drain(&mut drained);
        }
        let mut guard = self.model();
        let m = &mut *guard;
        let cells = m.cells.all();
        let mut locked: Vec<_> = cells.iter().map(|c| c.lock()).collect();
        cell::check_in(
            &mut m.ipvs,
            cells
                .iter()
                .map(|c| &**c)
                .zip(locked.iter_mut().map(|g| &mut **g)),
        );
        m.fold(&drained);
        let r = f(m);
        m.cells.cover(&m.ipvs);
        let snapshot = publish.then(|| Arc::new(m.snapshot()));
        let fresh: Vec<_> = m
            .cells
            .all()
            .into_iter()
            .filter(|c| !cells.iter().any(|o| Arc::ptr_eq(o, c)))
            .collect();
        let mut fresh_locked: Vec<_> = fresh.iter().map(|c| c.lock()).collect();
        cell::check_out(
            &mut m.ipvs,
            cells.iter().chain(fresh.iter()).map(|c| &**c).zip(
                locked
                    .iter_mut()
                    .map(|g| &mut **g)
                    .chain(fresh_locked.iter_mut().map(|g| &mut **g)),
            ),
        );
        if let Some(snapshot) = snapshot {
            let mut g = self.published.write().unwrap_or_else(|p| p.into_inner());
            *g = snapshot;
            drop(g);
            self.generation.fetch_add(1, Ordering::Release);
        }
        drop(fresh_locked);
        drop(locked);
        r
    }

    /// The latest published snapshot, from the lock.
    fn current_snapshot(&self) -> Arc<Snapshot> {
        let g = self.published.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&g)
    }

    /// Runs the packet path with this thread's snapshot of the configuration, reloading it
    /// first if a newer one was published (no shared counter is touched otherwise).
    fn dispatch_cached(&self, pkt: &PacketMeta, now: Time) -> Verdict {
        // The verdict is written where the caller wants it, not carried out of the closure
        // in an `Option`: a copy of a value just written costs a stall.
        let mut verdict = Verdict::Pass;
        let ran = SNAPSHOT
            .try_with(|cell| match cell.try_borrow_mut() {
                Ok(mut cache) => {
                    verdict = self.dispatch(cache.current(self), pkt, now);
                    true
                }
                Err(_) => false,
            })
            .unwrap_or(false);
        if !ran {
            verdict = self.dispatch(&self.current_snapshot(), pkt, now);
        }
        verdict
    }

    /// Decides the fate of one packet at time `now`.
    pub fn process(&self, pkt: &PacketMeta, now: Time) -> Verdict {
        let verdict = self.dispatch_cached(pkt, now);
        self.count_drop(&verdict);
        verdict
    }

    /// Decides the fate of one packet at time `now`, as [`Engine::process`] does, with the
    /// configuration held in `cache` rather than in a thread-local copy: for a worker that
    /// keeps its state in one place (the verdict is written straight where the caller
    /// wants it, where the thread-local lookup costs copies of it).
    #[inline]
    pub fn process_with(&self, cache: &mut SnapshotCache, pkt: &PacketMeta, now: Time) -> Verdict {
        let verdict = self.dispatch(cache.current(self), pkt, now);
        self.count_drop(&verdict);
        verdict
    }

    #[inline(always)]
    fn count_drop(&self, verdict: &Verdict) {
        match *verdict {
            Verdict::Drop(reason) | Verdict::SendIcmp(IcmpSend { reason, .. }) => {
                self.drops.count(reason)
            }
            _ => {}
        }
    }

    #[inline(always)]
    fn dispatch(&self, snap: &Snapshot, pkt: &PacketMeta, now: Time) -> Verdict {
        match (pkt.src, pkt.dst) {
            (std::net::IpAddr::V4(_), std::net::IpAddr::V4(_)) => {
                self.dispatch_in::<V4>(snap, pkt, now)
            }
            (std::net::IpAddr::V6(_), std::net::IpAddr::V6(_)) => {
                self.dispatch_in::<V6>(snap, pkt, now)
            }
            _ => Verdict::Pass,
        }
    }

    fn dispatch_in<A: crate::conn::InShard>(
        &self,
        snap: &Snapshot,
        pkt: &PacketMeta,
        now: Time,
    ) -> Verdict {
        if pkt.protocol == IPPROTO_ICMP || pkt.protocol == IPPROTO_ICMPV6 {
            return match pkt.icmp {
                Some(info) => self.icmp::<A>(snap, pkt, &info, now),
                None => Verdict::Pass,
            };
        }
        if !matches!(pkt.protocol, IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP) {
            return Verdict::Pass;
        }
        if pkt.side != Side::Client {
            // From neither a real server's address nor a virtual one (a client's packet,
            // the common case): no reply lookup, and no NAT server to refuse.
            let sources = snap.reply_sources(pkt.src);
            if sources.nat || sources.other {
                if let Some(v) = self.reply::<A>(snap, sources, pkt, now) {
                    return v;
                }
            }
            // Every NAT server's address is a NAT source.
            if sources.nat {
                if let Some(v) = self.nat_icmp_send(snap, pkt) {
                    return v;
                }
            }
        }
        self.inbound::<A>(snap, pkt, now)
    }

    /// Changes the configuration: `f` edits the [`Ipvs`] table (an `ipvsadm` command, for
    /// instance through [`crate::ipvsadm::apply`]); the result is published to the packet
    /// path before this returns. Use [`Engine::zero`] for `-Z`, which also resets rates.
    pub fn configure<R>(&self, f: impl FnOnce(&mut Ipvs) -> R) -> R {
        self.admin(true, |m| {
            let trash_before: Vec<_> = m.ipvs.trash().iter().map(|t| t.dest.id()).collect();
            let r = f(&mut m.ipvs);
            let deleted = m
                .ipvs
                .trash()
                .iter()
                .any(|t| !trash_before.contains(&t.dest.id()));
            if deleted && m.settings.expire_nodest_conn {
                self.nodest_flush.store(true, Ordering::Relaxed);
            }
            r
        })
    }

    /// Reads the configuration and its counters (traffic counted so far folded in): `f`
    /// gets the table and the rates of a service (`None`) or of one of its real servers —
    /// what [`crate::ipvsadm::ListContext`] takes.
    pub fn read<R>(
        &self,
        f: impl FnOnce(&Ipvs, &dyn Fn(&Service, Option<&Destination>) -> Rates) -> R,
    ) -> R {
        self.admin(false, |m| {
            let m = &*m;
            let rates = |s: &Service, d: Option<&Destination>| match d {
                Some(d) => m.rates(EstimatorOf::Dest(d.id())),
                None => m.rates(EstimatorOf::Service(*s.key())),
            };
            f(&m.ipvs, &rates)
        })
    }

    /// The director-wide rates.
    pub fn total_rates(&self) -> Rates {
        self.model().rates(EstimatorOf::Total)
    }

    /// `ipvsadm -Z`: zeroes the counters and rates of one service and its real servers, or
    /// of everything.
    pub fn zero(&self, key: Option<&ServiceKey>) -> Result<(), Error> {
        self.admin(false, |m| {
            m.ipvs.zero(key)?;
            m.zero_estimators(key);
            Ok(())
        })
    }

    /// The settings in force (the automatic defense modes show 2 while active, as the
    /// kernel's sysctls do).
    pub fn settings(&self) -> Settings {
        self.model().settings.clone()
    }

    /// Replaces the settings; the defenses are re-evaluated at once (as writing a defense
    /// sysctl does).
    pub fn set_settings(&self, settings: Settings) {
        self.table.budget.set_limit(settings.memory_budget);
        self.admin(true, |m| m.settings = settings);
        self.update_defense();
    }

    /// `ipvsadm --set tcp tcpfin udp`.
    pub fn set_timeouts(&self, timeouts: UserTimeouts) -> Result<(), TimeoutOutOfRange> {
        self.admin(true, |m| m.settings.timeouts.set(timeouts))
    }

    /// Packets dropped so far, by reason.
    pub fn drop_counts(&self) -> DropCounts {
        self.drops.snapshot()
    }

    /// The defenses' state.
    pub fn defense_status(&self) -> DefenseStatus {
        let low = self.table.budget.available() < self.model().settings.amemthresh;
        self.defense.status(low)
    }

    /// Bytes the connection table has allocated (entries, indexes, timer wheels).
    pub fn memory_used(&self) -> usize {
        self.table.budget.used()
    }

    /// Number of connections and of persistence templates in the table (expired entries
    /// not yet reaped included).
    pub fn entry_counts(&self) -> (usize, usize) {
        let count = |shards: &crate::conn::Shards| {
            (0..shards.count())
                .map(|i| {
                    let s = shards.lock(i);
                    s.v4.len() + s.v6.len()
                })
                .sum()
        };
        (count(&self.table.conns), count(&self.table.templates))
    }

    /// The once-a-second defense update (`update_defense_level`).
    fn update_defense(&self) -> DefenseStatus {
        let available = self.table.budget.available();
        let mut m = self.model();
        let before = (
            m.settings.drop_entry,
            m.settings.drop_packet,
            m.settings.secure_tcp,
        );
        let status = {
            let Model { settings, .. } = &mut *m;
            self.defense.update(settings, available)
        };
        let after = (
            m.settings.drop_entry,
            m.settings.drop_packet,
            m.settings.secure_tcp,
        );
        drop(m);
        if before != after {
            self.admin(true, |_| ());
        }
        status
    }
}

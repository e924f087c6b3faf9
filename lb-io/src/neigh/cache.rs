//! The neighbour cache: next-hop IP address → Ethernet address, kept as Linux's neighbour
//! table keeps it (`net/core/neighbour.c`, `arp_process`, `ndisc_recv_ns/na`), with time
//! passed in.
//!
//! States: *incomplete* (being resolved: solicitations every `retrans_time`, up to
//! `mcast_solicit`, frames queued meanwhile), *reachable* (confirmed within
//! `reachable_time`), *stale* (usable, unconfirmed), *delay* (stale and used: confirmation
//! awaited for `delay_first_probe_time`), *probe* (unicast solicitations every
//! `retrans_time`, up to `ucast_solicit`), and *permanent* (configured). Entries that fail
//! resolution are removed, their queued frames dropped; stale entries unused for
//! `gc_stale_time` are removed.
//!
//! Learning follows the kernel:
//! - an ARP request for one of our addresses, or a neighbour solicitation for one (with a
//!   source link-layer option), creates or refreshes the sender's entry as stale;
//! - other ARP packets update existing entries only (`arp_accept` = 0): a unicast reply
//!   makes the entry reachable, anything else stale; a different Ethernet address replaces
//!   the known one only if the entry was last changed more than `locktime` ago, or the packet
//!   is a gratuitous ARP;
//! - neighbour advertisements update existing entries only (`accept_untracked_na` = 0):
//!   solicited → reachable, else stale; without the override flag a different address is not
//!   taken (a reachable entry becomes stale);
//! - [`NeighbourCache::learn_from_frame`] (not a kernel behaviour, for a caller who knows the
//!   sender is on-link) confirms an entry with the same address, completes an incomplete one,
//!   or creates a stale one.
//!
//! Differences from the kernel: `reachable_time` is not randomised (the kernel draws it from
//! ½..1½ of the base), queue limits count frame bytes rather than socket-buffer truesize, and
//! a failed entry is removed at once rather than left for garbage collection.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::Duration;

use lb_core::hash::BuildFastHasher;
use lb_core::Time;

use super::arp::ArpReceived;
use super::ndp::NdpReceived;
use crate::wire::{ArpOperation, EthernetAddress, NdpNeighborFlags, NdpRepr};

/// The cache's timers and limits; [`Default`] gives Linux's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighParams {
    /// How long a confirmation keeps an entry reachable (`base_reachable_time`, 30 s).
    pub reachable_time: Duration,
    /// Time between solicitations (`retrans_time`, 1 s).
    pub retrans_time: Duration,
    /// How long a used stale entry waits for a confirmation before probing
    /// (`delay_first_probe_time`, 5 s).
    pub delay_first_probe_time: Duration,
    /// How long an unused stale entry is kept (`gc_stale_time`, 60 s).
    pub gc_stale_time: Duration,
    /// Broadcast / multicast solicitations before an incomplete entry fails
    /// (`mcast_solicit`, 3).
    pub mcast_solicit: u32,
    /// Unicast probes before a probed entry fails (`ucast_solicit`, 3).
    pub ucast_solicit: u32,
    /// How long after a change an ARP packet may not replace the Ethernet address
    /// (`locktime`, 1 s for ARP; neighbour discovery does not use it).
    pub locktime: Duration,
    /// Bytes of frames queued per entry awaiting resolution (`unres_qlen_bytes`, 212992);
    /// the oldest are dropped first.
    pub queue_bytes: usize,
    /// The most entries (`gc_thresh3`, 1024); beyond, new resolutions fail.
    pub max_entries: usize,
}

impl Default for NeighParams {
    fn default() -> Self {
        NeighParams {
            reachable_time: Duration::from_secs(30),
            retrans_time: Duration::from_secs(1),
            delay_first_probe_time: Duration::from_secs(5),
            gc_stale_time: Duration::from_secs(60),
            mcast_solicit: 3,
            ucast_solicit: 3,
            locktime: Duration::from_secs(1),
            queue_bytes: 212_992,
            max_entries: 1024,
        }
    }
}

/// The state of an entry (Linux's `NUD_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeighState {
    /// Being resolved; no Ethernet address yet.
    Incomplete,
    /// Confirmed recently.
    Reachable,
    /// Known, not confirmed recently.
    Stale,
    /// Stale and used: waiting for a confirmation before probing.
    Delay,
    /// Being probed with unicast solicitations.
    Probe,
    /// Configured; never expires.
    Permanent,
}

/// A solicitation to send: an ARP request ([`arp_request`](super::arp_request)) or a
/// neighbour solicitation ([`neighbour_solicitation`](super::neighbour_solicitation)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Probe {
    /// The address to resolve.
    pub target: IpAddr,
    /// Send it to this Ethernet address (re-probing a known neighbour) instead of
    /// broadcast / the solicited-node group.
    pub unicast_to: Option<EthernetAddress>,
}

/// What a frame for a next hop can do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Send it to this Ethernet address.
    Ready(EthernetAddress),
    /// The address is being resolved; the frame (if one was given) is queued.
    Pending {
        /// A first solicitation to send now (when this call started the resolution).
        probe: Option<Probe>,
        /// Queued frames dropped to make room (oldest first).
        dropped: usize,
    },
    /// The table is full: the frame cannot be sent.
    TableFull,
}

/// Frames that waited for an address now resolved: send each to `mac`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    /// The resolved address.
    pub addr: IpAddr,
    /// Its Ethernet address.
    pub mac: EthernetAddress,
    /// The queued frames, oldest first (their Ethernet destination is still to be set).
    pub frames: Vec<Vec<u8>>,
}

/// Something [`NeighbourCache::poll`] asks the caller to do or report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeighEvent {
    /// Send this solicitation.
    Probe(Probe),
    /// Resolution failed: the entry is gone, its queued frames dropped (Linux then reports
    /// "host unreachable" to their senders).
    Failed {
        /// The address that could not be resolved.
        addr: IpAddr,
        /// How many queued frames were dropped.
        dropped: usize,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    state: NeighState,
    mac: Option<EthernetAddress>,
    /// Last change of address or state.
    updated: Time,
    /// Last confirmation of reachability.
    confirmed: Time,
    /// Last use for sending.
    used: Time,
    /// When the state's timer fires (incomplete / probe: next solicitation; delay: end).
    timer: Time,
    /// Solicitations sent in this state.
    probes: u32,
    queue: VecDeque<Vec<u8>>,
    queued_bytes: usize,
}

impl Entry {
    fn new(state: NeighState, mac: Option<EthernetAddress>, now: Time) -> Entry {
        Entry {
            state,
            mac,
            updated: now,
            confirmed: Time::ZERO,
            used: now,
            timer: now,
            probes: 0,
            queue: VecDeque::new(),
            queued_bytes: 0,
        }
    }
}

/// How a received message updates an entry (the kernel's `neigh_update` flags).
#[derive(Debug, Clone, Copy)]
struct Update {
    lladdr: Option<EthernetAddress>,
    state: NeighState,
    /// A different address replaces the known one.
    override_addr: bool,
    /// Without `override_addr`, a different address makes a reachable entry stale.
    weak_override: bool,
}

/// The neighbour cache. See the [module](self).
#[derive(Debug, Clone, Default)]
pub struct NeighbourCache {
    params: NeighParams,
    // A multiply-fold hash: asked on every forwarded packet, where SipHash costs more than
    // the rest of the lookup; next hops are bounded and not chosen by packets.
    entries: HashMap<Key, Entry, BuildFastHasher>,
}

/// An entry's address, hashed as one word (IPv4) or two (IPv6): the derived hash of an
/// [`IpAddr`] feeds the hasher its tag, the address's length and its bytes, three
/// multiplications in a row where one does. Asked on every forwarded frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key(IpAddr);

impl std::hash::Hash for Key {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self.0 {
            IpAddr::V4(a) => state.write_u64(1 << 32 | u64::from(a.to_bits())),
            IpAddr::V6(a) => state.write_u128(a.to_bits()),
        }
    }
}

impl NeighbourCache {
    /// An empty cache.
    pub fn new(params: NeighParams) -> NeighbourCache {
        NeighbourCache {
            params,
            entries: HashMap::default(),
        }
    }

    /// The timers and limits.
    pub fn params(&self) -> &NeighParams {
        &self.params
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The Ethernet address known for `addr` (in any state that has one), without counting
    /// it as used.
    pub fn lookup(&self, addr: &IpAddr) -> Option<EthernetAddress> {
        self.entries.get(&Key(*addr)).and_then(|e| e.mac)
    }

    /// The state of `addr`'s entry.
    pub fn state(&self, addr: &IpAddr) -> Option<NeighState> {
        self.entries.get(&Key(*addr)).map(|e| e.state)
    }

    /// Adds a configured entry, never expiring nor replaced by what is received.
    pub fn insert_permanent(&mut self, addr: IpAddr, mac: EthernetAddress) {
        self.entries.insert(
            Key(addr),
            Entry::new(NeighState::Permanent, Some(mac), Time::ZERO),
        );
    }

    /// Removes an entry (dropping its queued frames); returns whether there was one.
    pub fn remove(&mut self, addr: &IpAddr) -> bool {
        self.entries.remove(&Key(*addr)).is_some()
    }

    /// The Ethernet address to send to `addr` now, or the start of its resolution (without a
    /// frame to queue). See [`resolve_or_queue`](Self::resolve_or_queue).
    pub fn resolve(&mut self, addr: IpAddr, now: Time) -> Resolution {
        self.resolve_inner(addr, None, now)
    }

    /// The Ethernet address to send `frame` to `addr` now; if unknown, `frame` is copied into
    /// the entry's queue (the oldest queued frames dropped beyond
    /// [`NeighParams::queue_bytes`]) and, for a new entry, the first solicitation is returned.
    /// A stale entry used here enters the delay state (`neigh_event_send`).
    pub fn resolve_or_queue(&mut self, addr: IpAddr, frame: &[u8], now: Time) -> Resolution {
        self.resolve_inner(addr, Some(frame), now)
    }

    #[inline]
    fn resolve_inner(&mut self, addr: IpAddr, frame: Option<&[u8]>, now: Time) -> Resolution {
        // Fields borrowed apart: the parameters are not copied on the hit path.
        let params = &self.params;
        if let Some(e) = self.entries.get_mut(&Key(addr)) {
            e.used = now;
            match (e.state, e.mac) {
                (NeighState::Stale, Some(mac)) => {
                    e.state = NeighState::Delay;
                    e.timer = now + params.delay_first_probe_time;
                    return Resolution::Ready(mac);
                }
                (_, Some(mac)) => return Resolution::Ready(mac),
                _ => {
                    let dropped = frame.map_or(0, |f| enqueue(e, f, params.queue_bytes));
                    return Resolution::Pending {
                        probe: None,
                        dropped,
                    };
                }
            }
        }
        if !self.make_room(now) {
            return Resolution::TableFull;
        }
        let params = &self.params;
        let mut e = Entry::new(NeighState::Incomplete, None, now);
        e.probes = 1;
        e.timer = now + params.retrans_time;
        let dropped = frame.map_or(0, |f| enqueue(&mut e, f, params.queue_bytes));
        self.entries.insert(Key(addr), e);
        Resolution::Pending {
            probe: Some(Probe {
                target: addr,
                unicast_to: None,
            }),
            dropped,
        }
    }

    /// Whether a new entry fits, after removing stale entries unused for `gc_stale_time`
    /// if needed (the kernel's forced garbage collection).
    fn make_room(&mut self, now: Time) -> bool {
        if self.entries.len() < self.params.max_entries {
            return true;
        }
        let gc = self.params.gc_stale_time;
        self.entries
            .retain(|_, e| !(e.state == NeighState::Stale && now >= e.used + gc));
        self.entries.len() < self.params.max_entries
    }

    /// Applies `update` to `addr`'s entry as `neigh_update` does; returns the frames released
    /// if the entry was incomplete.
    fn update(&mut self, addr: IpAddr, update: Update, now: Time) -> Option<Released> {
        let e = self.entries.get_mut(&Key(addr))?;
        if e.state == NeighState::Permanent {
            return None;
        }
        let mut state = update.state;
        let mac = match (e.mac, update.lladdr) {
            (None, None) => return None,
            (None, Some(new)) => new,
            (Some(known), None) => known,
            (Some(known), Some(new)) if new != known && !update.override_addr => {
                if update.weak_override && e.state == NeighState::Reachable {
                    state = NeighState::Stale;
                    known
                } else {
                    return None;
                }
            }
            (Some(known), Some(new)) => {
                if new == known && state == NeighState::Stale {
                    state = e.state;
                }
                new
            }
        };
        let was_incomplete = e.state == NeighState::Incomplete;
        if state == NeighState::Reachable {
            e.confirmed = now;
        }
        if state != e.state || Some(mac) != e.mac {
            e.updated = now;
            e.probes = 0;
        }
        e.state = state;
        e.mac = Some(mac);
        if !was_incomplete {
            return None;
        }
        e.queued_bytes = 0;
        Some(Released {
            addr,
            mac,
            frames: e.queue.drain(..).collect(),
        })
    }

    /// The kernel's `neigh_event_ns` / solicitation learning: a sender without an entry
    /// gets a stale one with `mac`; an existing entry gets `update`.
    fn learn_sender(
        &mut self,
        addr: IpAddr,
        mac: EthernetAddress,
        update: Update,
        now: Time,
    ) -> Option<Released> {
        if self.entries.contains_key(&Key(addr)) {
            return self.update(addr, update, now);
        }
        if self.make_room(now) {
            self.entries
                .insert(Key(addr), Entry::new(NeighState::Stale, Some(mac), now));
        }
        None
    }

    /// Learns from an ARP packet read by [`answer_arp`](super::answer_arp) (see the
    /// [module](self) for the rules). Returns the frames released by a resolution.
    pub fn learn_arp(&mut self, rx: &ArpReceived, now: Time) -> Option<Released> {
        let p = &rx.packet;
        let sip = p.sender_protocol_addr;
        let sha = p.sender_hardware_addr;
        if sip.is_unspecified() || !sha.is_unicast() {
            return None;
        }
        let addr = IpAddr::V4(sip);
        if rx.request_for_us {
            let update = Update {
                lladdr: Some(sha),
                state: NeighState::Stale,
                override_addr: true,
                weak_override: false,
            };
            return self.learn_sender(addr, sha, update, now);
        }
        let e = self.entries.get(&Key(addr))?;
        let mut garp = sip == p.target_protocol_addr;
        if garp && p.operation == ArpOperation::REPLY {
            garp = p.target_hardware_addr == sha;
        }
        let unlocked = now > e.updated + self.params.locktime;
        let state = if p.operation == ArpOperation::REPLY && rx.link_unicast {
            NeighState::Reachable
        } else {
            NeighState::Stale
        };
        let update = Update {
            lladdr: Some(sha),
            state,
            override_addr: unlocked || garp,
            weak_override: false,
        };
        self.update(addr, update, now)
    }

    /// Learns from a neighbour solicitation or advertisement read by
    /// [`answer_ndp`](super::answer_ndp) (see the [module](self) for the rules). Returns the
    /// frames released by a resolution.
    pub fn learn_ndp(&mut self, rx: &NdpReceived, now: Time) -> Option<Released> {
        match rx.message {
            NdpRepr::NeighborSolicit {
                source_lladdr: Some(mac),
                ..
            } if rx.solicits_us && !rx.src_addr.is_unspecified() && mac.is_unicast() => {
                let update = Update {
                    lladdr: Some(mac),
                    state: NeighState::Stale,
                    override_addr: true,
                    weak_override: true,
                };
                self.learn_sender(IpAddr::V6(rx.src_addr), mac, update, now)
            }
            NdpRepr::NeighborAdvert {
                flags,
                target_addr,
                target_lladdr,
            } => {
                if target_lladdr.is_some_and(|m| !m.is_unicast()) {
                    return None;
                }
                let state = if flags.contains(NdpNeighborFlags::SOLICITED) {
                    NeighState::Reachable
                } else {
                    NeighState::Stale
                };
                let update = Update {
                    lladdr: target_lladdr,
                    state,
                    override_addr: flags.contains(NdpNeighborFlags::OVERRIDE),
                    weak_override: true,
                };
                self.update(IpAddr::V6(target_addr), update, now)
            }
            NdpRepr::NeighborSolicit { .. } => None,
        }
    }

    /// Learns that `addr` sent a frame from `mac`, for a caller who knows `addr` is on-link:
    /// confirms an entry holding `mac`, completes an incomplete entry, creates a stale entry;
    /// an entry holding another address is left alone (ARP / NDP decide). Returns the frames
    /// released by a completion.
    pub fn learn_from_frame(
        &mut self,
        addr: IpAddr,
        mac: EthernetAddress,
        now: Time,
    ) -> Option<Released> {
        if !mac.is_unicast() {
            return None;
        }
        let state = match self.entries.get(&Key(addr)) {
            None => {
                if self.make_room(now) {
                    self.entries
                        .insert(Key(addr), Entry::new(NeighState::Stale, Some(mac), now));
                }
                return None;
            }
            Some(e) if e.mac == Some(mac) => NeighState::Reachable,
            Some(e) if e.mac.is_none() => NeighState::Stale,
            Some(_) => return None,
        };
        let update = Update {
            lladdr: Some(mac),
            state,
            override_addr: false,
            weak_override: false,
        };
        self.update(addr, update, now)
    }

    /// Runs the timers up to `now`: solicitations to send, entries becoming stale, probed,
    /// failed or collected. Events are ordered by address.
    pub fn poll(&mut self, now: Time) -> Vec<NeighEvent> {
        let p = self.params;
        let mut events = Vec::new();
        let mut gone = Vec::new();
        for (&Key(addr), e) in self.entries.iter_mut() {
            match e.state {
                NeighState::Incomplete if now >= e.timer => {
                    if e.probes >= p.mcast_solicit {
                        gone.push(addr);
                        events.push(NeighEvent::Failed {
                            addr,
                            dropped: e.queue.len(),
                        });
                    } else {
                        e.probes += 1;
                        e.timer = now + p.retrans_time;
                        events.push(NeighEvent::Probe(Probe {
                            target: addr,
                            unicast_to: None,
                        }));
                    }
                }
                NeighState::Reachable if now >= e.confirmed + p.reachable_time => {
                    e.updated = now;
                    if now <= e.used + p.delay_first_probe_time {
                        e.state = NeighState::Delay;
                        e.timer = now + p.delay_first_probe_time;
                    } else {
                        e.state = NeighState::Stale;
                    }
                }
                NeighState::Delay if now >= e.timer => {
                    e.state = NeighState::Probe;
                    e.updated = now;
                    e.probes = 1;
                    e.timer = now + p.retrans_time;
                    events.push(NeighEvent::Probe(Probe {
                        target: addr,
                        unicast_to: e.mac,
                    }));
                }
                NeighState::Probe if now >= e.timer => {
                    if e.probes >= p.ucast_solicit {
                        gone.push(addr);
                        events.push(NeighEvent::Failed { addr, dropped: 0 });
                    } else {
                        e.probes += 1;
                        e.timer = now + p.retrans_time;
                        events.push(NeighEvent::Probe(Probe {
                            target: addr,
                            unicast_to: e.mac,
                        }));
                    }
                }
                NeighState::Stale if now >= e.used.max(e.updated) + p.gc_stale_time => {
                    gone.push(addr);
                }
                _ => {}
            }
        }
        for addr in gone {
            self.entries.remove(&Key(addr));
        }
        events.sort_by_key(|event| match event {
            NeighEvent::Probe(probe) => probe.target,
            NeighEvent::Failed { addr, .. } => *addr,
        });
        events
    }

    /// The earliest time [`poll`](Self::poll) has something to do, if any.
    pub fn next_deadline(&self) -> Option<Time> {
        let p = &self.params;
        self.entries
            .values()
            .filter_map(|e| match e.state {
                NeighState::Incomplete | NeighState::Delay | NeighState::Probe => Some(e.timer),
                NeighState::Reachable => Some(e.confirmed + p.reachable_time),
                NeighState::Stale => Some(e.used.max(e.updated) + p.gc_stale_time),
                NeighState::Permanent => None,
            })
            .min()
    }
}

/// Queues a copy of `frame`, dropping the oldest queued frames beyond `limit` bytes; returns
/// how many were dropped (the new frame itself, if it alone exceeds the limit).
fn enqueue(e: &mut Entry, frame: &[u8], limit: usize) -> usize {
    e.queue.push_back(frame.to_vec());
    e.queued_bytes += frame.len();
    let mut dropped = 0;
    while e.queued_bytes > limit {
        match e.queue.pop_front() {
            Some(old) => {
                e.queued_bytes -= old.len();
                dropped += 1;
            }
            None => break,
        }
    }
    dropped
}

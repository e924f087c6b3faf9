//! The per-packet path of the director: a received Ethernet frame in, the frames to send
//! out — parse (the [`wire`](crate::wire) views) → [`Engine::process`] → rewrite
//! ([`rewrite`](crate::rewrite)) — with no allocation per packet.
//!
//! ```text
//! frame ─► ARP / NS / NA ─────────────► Neighbours: answer for an owned VIP, learn, release
//!      └─► IP ─► PacketMeta ─► Engine ─► Verdict
//!                                         ├ Forward     NAT in place · DR in place · TUN into `out`
//!                                         ├ Reply       NAT out in place (others forwarded as they are)
//!                                         ├ IcmpTo*     ICMP relay in place
//!                                         ├ TunnelIcmp  a new ICMP error for the client, into `out`
//!                                         ├ SendIcmp    port unreachable into `out`, packet dropped
//!                                         ├ Drop        counted by reason
//!                                         └ Pass        left to the host
//! ```
//!
//! A [`Director`] holds what one worker needs besides the engine: its links
//! ([`Interface`]: Ethernet address, MTU, the director's addresses and on-link prefixes,
//! the VIPs answered for, the neighbour cache), the default gateways, the IPv4
//! identification counter, tunnel settings and the [`PathCounters`].
//! [`Director::process`] takes one received frame, rewrites it in place where the method
//! allows (NAT, direct routing, ICMP relay) and builds into a caller's output buffer what
//! needs a new frame (tunnel packets, ICMP errors, ARP / NDP answers and solicitations). Its
//! [`Outcome`] says what to send and on which link, or why nothing is sent.
//!
//! Next hops: the destination itself when one of a link's prefixes holds it, else the
//! gateway of its family; direct routing always sends to the real server itself (the
//! kernel's "known next hop"). The routes of the last destinations are cached (the next
//! hop's address and link, never its Ethernet address); changing the links or the gateways
//! goes through [`Director::interfaces_mut`] and [`Director::set_gateways`], which empty
//! that cache. An unresolved next hop queues the rewritten frame in the
//! link's neighbour cache and emits the first ARP request / neighbour solicitation; the
//! answer releases the queued frames ([`Outcome::released`]); [`Director::poll`] runs the
//! cache's timers (retransmissions, failures).
//!
//! ICMP errors about a received packet (time exceeded, fragmentation needed / packet too
//! big, port unreachable) go back the way it came: on the receiving link, to the frame's
//! Ethernet source, with its VLAN tags.
//!
//! Not done here, and counted where it matters: reassembly (a non-first fragment is left to
//! the host, [`PassCause::Fragment`]), fragmentation (a packet that needs it is dropped,
//! [`DropCause::NeedsFragmenting`]), path-MTU exceptions, ICMP rate limiting, and the
//! "host unreachable" the kernel sends when no route leads to a destination.

mod apply;
mod counters;
mod interface;
mod outcome;
mod parse;
mod route_cache;
mod tunnel_icmp;

pub use counters::PathCounters;
pub use interface::{BadPrefix, Gateways, Interface, InterfaceConfig, IpPrefix, LinkId, NextHop};
pub use outcome::{Action, DropCause, Emit, Outcome, PassCause, ReleasedFrames};

use std::net::IpAddr;

use lb_core::engine::{Engine, SnapshotCache};
use lb_core::Time;

use crate::neigh::{
    arp_request, neighbour_solicitation, NeighError, NeighEvent, NeighParams, Neighbours, Probe,
    Released,
};
use crate::rewrite::IpIdCounter;
use crate::wire::{EthernetFrame, VlanStack};
use parse::{NotForEngine, Received};
use route_cache::RouteCache;

/// Room enough for any solicitation: Ethernet with two VLAN tags, IPv6, a neighbour
/// solicitation with its link-layer option (ARP needs less).
const SOLICITATION_MAX_LEN: usize = 128;

/// The per-worker state of the packet path. See the [module](self).
#[derive(Debug, Clone)]
pub struct Director {
    /// The links, indexed by [`LinkId`] (behind methods: a change empties `routes`).
    interfaces: Vec<Interface>,
    /// Default gateways (behind methods: a change empties `routes`).
    gateways: Gateways,
    /// The routes of the last destinations.
    routes: RouteCache,
    /// The `pmtu_disc` sysctl for tunnels (default on): copy the inner DF outside and refuse
    /// DF packets that do not fit.
    pub pmtu_disc: bool,
    /// Seed of the flow hash GUE source ports are drawn from.
    pub flow_hash_seed: u32,
    /// Identification of the IPv4 headers the director builds.
    pub ids: IpIdCounter,
    /// What the path did so far.
    pub counters: PathCounters,
    /// The engine's configuration as this worker last saw it.
    snapshot: SnapshotCache,
}

impl Director {
    /// A director with links configured by `interfaces` (in [`LinkId`] order), each with a
    /// neighbour cache of `params`; no gateway, `pmtu_disc` on, flow hash seed 0, IPv4
    /// identifications from 0.
    pub fn new(interfaces: Vec<InterfaceConfig>, params: NeighParams) -> Director {
        Director {
            interfaces: interfaces
                .into_iter()
                .map(|c| Interface::new(c, params))
                .collect(),
            gateways: Gateways::default(),
            routes: RouteCache::default(),
            pmtu_disc: true,
            flow_hash_seed: 0,
            ids: IpIdCounter::default(),
            counters: PathCounters::default(),
            snapshot: SnapshotCache::default(),
        }
    }

    /// Answers ARP / neighbour solicitations for `addr` (a VIP) on `link`, with the link's
    /// Ethernet address. Returns whether it was not owned before (and so is to be
    /// announced: [`Neighbours::announce`](crate::neigh::Neighbours::announce)); false
    /// also for an unknown link.
    pub fn own(&mut self, link: LinkId, addr: IpAddr) -> bool {
        match self.interfaces.get_mut(link.0) {
            Some(i) => i.neighbours.owned.add(addr, i.config.mac),
            None => false,
        }
    }

    /// The links, indexed by [`LinkId`].
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }

    /// The links, to change: their configuration (which the routes depend on) or their
    /// neighbours. Forgets the cached routes.
    pub fn interfaces_mut(&mut self) -> &mut [Interface] {
        self.routes.clear();
        &mut self.interfaces
    }

    /// The neighbours of `link` (owned addresses and neighbour cache), to change; `None`
    /// for an unknown link. The routes do not depend on them: they stay cached.
    pub fn neighbours_mut(&mut self, link: LinkId) -> Option<&mut Neighbours> {
        self.interfaces.get_mut(link.0).map(|i| &mut i.neighbours)
    }

    /// The default gateways.
    pub fn gateways(&self) -> Gateways {
        self.gateways
    }

    /// Sets the default gateways. Forgets the cached routes.
    pub fn set_gateways(&mut self, gateways: Gateways) {
        self.gateways = gateways;
        self.routes.clear();
    }

    /// The next hop toward `dst`.
    pub fn route(&self, dst: &IpAddr) -> Option<NextHop> {
        interface::route(&self.interfaces, &self.gateways, dst)
    }

    /// The next hop toward `dst`, from the route cache when it holds it.
    #[inline]
    fn cached_route(&mut self, dst: &IpAddr) -> Option<NextHop> {
        self.routes.route(&self.interfaces, &self.gateways, dst)
    }

    /// Processes one frame received on `rx` at `now` with `engine`: `frame` may be rewritten
    /// in place, and `out` receive a frame built anew (64 KiB + 128 bytes hold any). The
    /// [`Outcome`] says what to send; [`Director::counters`] count it.
    #[inline]
    pub fn process(
        &mut self,
        engine: &Engine,
        rx: LinkId,
        frame: &mut [u8],
        now: Time,
        out: &mut [u8],
    ) -> Outcome {
        let outcome = self.handle(engine, rx, frame, now, out);
        self.counters.record(
            outcome.action,
            outcome.in_place.is_some(),
            outcome.built.is_some(),
        );
        outcome
    }

    #[inline(always)]
    fn handle(
        &mut self,
        engine: &Engine,
        rx: LinkId,
        frame: &mut [u8],
        now: Time,
        out: &mut [u8],
    ) -> Outcome {
        let Some(iface) = self.interfaces.get(rx.0) else {
            return Outcome::dropped(DropCause::UnknownLink);
        };
        // Borrowed where `read_frame` built it, never moved: the summary is large.
        let received = parse::read_frame(frame, iface, &self.interfaces);
        let parsed = match &received {
            Ok(Received::Ip(p)) => p,
            Ok(Received::Neighbour) => return self.neighbour(rx, frame, now, out),
            Err(NotForEngine::Drop(c)) => return Outcome::dropped(*c),
            Err(NotForEngine::Pass(c)) => return Outcome::passed(*c),
        };
        let verdict = engine.process_with(&mut self.snapshot, &parsed.meta, now);
        self.apply(verdict, parsed, rx, frame, now, out)
    }

    /// An ARP or neighbour-discovery frame: answered for an owned address, learnt from.
    fn neighbour(&mut self, rx: LinkId, frame: &[u8], now: Time, out: &mut [u8]) -> Outcome {
        let Some(iface) = self.interfaces.get_mut(rx.0) else {
            return Outcome::dropped(DropCause::UnknownLink);
        };
        match iface.neighbours.handle_frame(frame, now, out) {
            Ok(handled) => {
                let released = handled.released.map(|r| release(rx, r));
                let frames = released.as_ref().map_or(0, |r| r.frames.len());
                self.counters.frames_out += frames as u64;
                Outcome {
                    action: Action::Neighbour {
                        answered: handled.reply_len.is_some(),
                    },
                    in_place: None,
                    built: handled.reply_len.map(|len| Emit { link: rx, len }),
                    released,
                }
            }
            Err(NeighError::Malformed(e)) => Outcome::dropped(DropCause::of_wire(e)),
            Err(NeighError::Invalid(_)) => Outcome::dropped(DropCause::InvalidNeighbour),
            Err(NeighError::BufferTooSmall { .. }) => Outcome::dropped(DropCause::BufferTooSmall),
            Err(NeighError::NotNeighbour | NeighError::FamilyMismatch) => {
                Outcome::passed(PassCause::NotIp)
            }
        }
    }

    /// Runs the neighbour caches' timers up to `now`: sends (through `send`) the
    /// solicitations due, counts the queued frames of failed resolutions. Returns how many
    /// frames were sent. Call it every few hundred milliseconds, or at
    /// [`NeighbourCache::next_deadline`](crate::neigh::NeighbourCache::next_deadline).
    pub fn poll(&mut self, now: Time, send: &mut dyn FnMut(LinkId, &[u8])) -> usize {
        let mut buf = [0u8; SOLICITATION_MAX_LEN];
        let mut sent = 0;
        for (i, iface) in self.interfaces.iter_mut().enumerate() {
            for event in iface.neighbours.cache.poll(now) {
                match event {
                    NeighEvent::Probe(probe) => {
                        if let Some(len) =
                            solicitation(&iface.config, probe, VlanStack::None, &mut buf)
                        {
                            send(LinkId(i), buf.get(..len).unwrap_or(&[]));
                            sent += 1;
                        }
                    }
                    NeighEvent::Failed { dropped, .. } => {
                        self.counters.queue_dropped += dropped as u64;
                    }
                }
            }
        }
        self.counters.frames_out += sent as u64;
        sent
    }
}

/// Builds into `out` the ARP request or neighbour solicitation of `probe`, from the link's
/// first address of the family; `None` if it has none or `out` is too small.
fn solicitation(
    config: &InterfaceConfig,
    probe: Probe,
    vlans: VlanStack,
    out: &mut [u8],
) -> Option<usize> {
    match probe.target {
        IpAddr::V4(target) => arp_request(
            config.mac,
            config.ipv4()?,
            target,
            probe.unicast_to,
            vlans,
            out,
        )
        .ok(),
        IpAddr::V6(target) => neighbour_solicitation(
            config.mac,
            config.ipv6()?,
            target,
            probe.unicast_to,
            vlans,
            out,
        )
        .ok(),
    }
}

/// The frames a resolution released, their Ethernet destination set.
fn release(link: LinkId, released: Released) -> ReleasedFrames {
    let mut frames = released.frames;
    for f in &mut frames {
        if let Ok(mut eth) = EthernetFrame::new_checked(&mut f[..]) {
            eth.set_dst_addr(released.mac);
        }
    }
    ReleasedFrames { link, frames }
}

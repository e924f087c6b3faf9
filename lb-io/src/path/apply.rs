//! The engine's verdict carried out on the frame: the rewrite of its method, the next hop's
//! Ethernet address, or the ICMP error that answers it.

use std::net::IpAddr;

use lb_core::engine::{DropReason, Forward, Reply, TunnelIcmp, Verdict};
use lb_core::{FwdMethod, Time};

use super::outcome::{Action, DropCause, Emit, Outcome, PassCause};
use super::parse::Parsed;
use super::tunnel_icmp::{build_client_error, TunnelIcmpOut, TunnelIcmpSkip};
use super::{solicitation, Director, LinkId, NextHop};
use crate::neigh::{Probe, Resolution};
use crate::rewrite::frame::set_dst_mac;
use crate::rewrite::{
    direct_route_parsed, icmp_error, icmp_relay_to_client, icmp_relay_to_server, nat_in_parsed,
    nat_out_parsed, reply_forwarding, tunnel_parsed, Forwarding, IcmpError, IcmpSource, NatTarget,
    RewriteError, Tunnel,
};
use crate::wire::{EthernetAddress, EthernetFrame, VlanStack};

/// The received packet being handled.
struct Rx<'p> {
    /// The link it came from.
    link: LinkId,
    /// What was read of it.
    parsed: &'p Parsed,
    /// When.
    now: Time,
}

/// Which buffer holds the frame to send.
#[derive(Debug, Clone, Copy)]
enum Ready {
    /// The received frame, rewritten: `frame[..len]`.
    InPlace(usize),
    /// A frame built in the output buffer: `out[..len]`.
    Built(usize),
}

impl Director {
    /// Carries out `verdict` for the packet `parsed`, received on `rx`.
    #[inline(always)]
    pub(super) fn apply(
        &mut self,
        verdict: Verdict,
        parsed: &Parsed,
        rx: LinkId,
        frame: &mut [u8],
        now: Time,
        out: &mut [u8],
    ) -> Outcome {
        let pkt = Rx {
            link: rx,
            parsed,
            now,
        };
        match verdict {
            // One call site each: the hot functions are inlined once.
            Verdict::Forward(ref f) | Verdict::IcmpToServer(ref f) => {
                let relay = matches!(verdict, Verdict::IcmpToServer(_));
                self.forward_to_server(f, relay, &pkt, frame, out)
            }
            Verdict::Reply(ref r) | Verdict::IcmpToClient(ref r) => {
                let relay = matches!(verdict, Verdict::IcmpToClient(_));
                self.forward_to_client(r, relay, &pkt, frame, out)
            }
            Verdict::TunnelIcmp(t) => self.tunnel_icmp(&t, &pkt, frame, out),
            Verdict::SendIcmp(s) => {
                let sent_to_us = s.reason != DropReason::UnknownNatReply;
                let built = self.answer(IcmpError::PortUnreachable, sent_to_us, &pkt, frame, out);
                Outcome {
                    built,
                    ..Outcome::dropped(DropCause::Engine(s.reason))
                }
            }
            Verdict::Drop(reason) => Outcome::dropped(DropCause::Engine(reason)),
            Verdict::Pass => Outcome::passed(PassCause::NotVirtual),
        }
    }

    /// A client's packet (or, `relay`, an ICMP error about a reply) to the real server of
    /// `f`: routed, rewritten for its method, sent.
    #[inline(always)]
    fn forward_to_server(
        &mut self,
        f: &Forward,
        relay: bool,
        pkt: &Rx<'_>,
        frame: &mut [u8],
        out: &mut [u8],
    ) -> Outcome {
        let action = if relay {
            Action::IcmpRelayed
        } else {
            Action::Forwarded(f.method)
        };
        if f.method == FwdMethod::Local {
            return Outcome::passed(PassCause::LocalDelivery);
        }
        let Some(route) = self.cached_route(&f.daddr) else {
            return Outcome::dropped(DropCause::NoRoute);
        };
        let Some(link) = self.interfaces.get(route.link.0) else {
            return Outcome::dropped(DropCause::UnknownLink);
        };
        // The Ethernet destination is set once the next hop is resolved.
        let fwd = Forwarding {
            src_mac: link.config.mac,
            dst_mac: EthernetAddress::UNSPECIFIED,
            mtu: link.config.mtu,
        };
        let target = NatTarget {
            addr: f.daddr,
            port: f.dport,
        };
        // The frame is as it was parsed: the rewrites start from that parse.
        let ip = &pkt.parsed.ip;
        let (hop, done) = match f.method {
            FwdMethod::Local => return Outcome::passed(PassCause::LocalDelivery),
            FwdMethod::Masq if relay => {
                let done = icmp_relay_to_server(frame, target, &fwd);
                (route, done.map(Ready::InPlace))
            }
            FwdMethod::Masq => (
                route,
                nat_in_parsed(frame, ip, target, &fwd).map(Ready::InPlace),
            ),
            // Direct routing: the real server is the next hop itself ("known next hop").
            FwdMethod::Route => {
                let hop = NextHop {
                    link: route.link,
                    addr: f.daddr,
                };
                (
                    hop,
                    direct_route_parsed(frame, ip, &fwd).map(Ready::InPlace),
                )
            }
            FwdMethod::Tunnel => {
                let Some(src) = link.config.addr_like_ref(&f.daddr) else {
                    return Outcome::dropped(DropCause::NoSourceAddress);
                };
                let tun = Tunnel {
                    pmtu_disc: self.pmtu_disc,
                    flow_hash_seed: self.flow_hash_seed,
                    ..Tunnel::new(&f.tunnel, *src, f.daddr)
                };
                let done = tunnel_parsed(frame, ip, out, &tun, &fwd, &mut self.ids);
                (route, done.map(Ready::Built))
            }
        };
        self.send_or_refuse(done, hop, action, pkt, frame, out)
    }

    /// A real server's reply (or, `relay`, an ICMP error about a request) on to the client.
    #[inline(always)]
    fn forward_to_client(
        &mut self,
        r: &Reply,
        relay: bool,
        pkt: &Rx<'_>,
        frame: &mut [u8],
        out: &mut [u8],
    ) -> Outcome {
        let action = if relay {
            Action::IcmpRelayed
        } else {
            Action::Replied
        };
        let Some(hop) = self.cached_route(&pkt.parsed.meta.dst) else {
            return Outcome::dropped(DropCause::NoRoute);
        };
        let Some(link) = self.interfaces.get(hop.link.0) else {
            return Outcome::dropped(DropCause::UnknownLink);
        };
        let fwd = Forwarding {
            src_mac: link.config.mac,
            dst_mac: EthernetAddress::UNSPECIFIED,
            mtu: link.config.mtu,
        };
        let vip = NatTarget {
            addr: r.vaddr,
            port: r.vport,
        };
        let ip = &pkt.parsed.ip;
        let done = match r.method {
            FwdMethod::Masq if relay => icmp_relay_to_client(frame, vip, &fwd),
            FwdMethod::Masq => nat_out_parsed(frame, ip, vip, &fwd),
            // Other methods' replies are forwarded as they are (`handle_response` only
            // translates NAT).
            FwdMethod::Route | FwdMethod::Tunnel | FwdMethod::Local => {
                direct_route_parsed(frame, ip, &fwd)
            }
        };
        self.send_or_refuse(done.map(Ready::InPlace), hop, action, pkt, frame, out)
    }

    /// Sends a rewritten frame to `hop` as `action`, or answers the rewrite's refusal.
    #[inline(always)]
    fn send_or_refuse(
        &mut self,
        done: Result<Ready, RewriteError>,
        hop: NextHop,
        action: Action,
        pkt: &Rx<'_>,
        frame: &mut [u8],
        out: &mut [u8],
    ) -> Outcome {
        match done {
            Ok(ready) => self.send_to(hop, ready, action, frame, pkt.now, out),
            Err(e) => {
                // A request was addressed to the director, which decides the source of an
                // ICMP error about it; a relayed error is never answered.
                let sent_to_us = matches!(action, Action::Forwarded(_));
                self.refused(e, sent_to_us, pkt, frame, out)
            }
        }
    }

    /// Sends a ready frame to `hop`: its Ethernet destination when known, else queued in the
    /// link's neighbour cache while the first solicitation goes out.
    #[inline(always)]
    fn send_to(
        &mut self,
        hop: NextHop,
        ready: Ready,
        action: Action,
        frame: &mut [u8],
        now: Time,
        out: &mut [u8],
    ) -> Outcome {
        let Some(iface) = self.interfaces.get_mut(hop.link.0) else {
            return Outcome::dropped(DropCause::UnknownLink);
        };
        let (buf, len) = match ready {
            Ready::InPlace(len) => (&mut *frame, len),
            Ready::Built(len) => (&mut *out, len),
        };
        let Some(ready_frame) = buf.get_mut(..len) else {
            return Outcome::dropped(DropCause::BufferTooSmall);
        };
        match iface
            .neighbours
            .cache
            .resolve_or_queue(hop.addr, ready_frame, now)
        {
            Resolution::Ready(mac) => {
                set_dst_mac(ready_frame, mac);
                let emit = Some(Emit {
                    link: hop.link,
                    len,
                });
                let (in_place, built) = match ready {
                    Ready::InPlace(_) => (emit, None),
                    Ready::Built(_) => (None, emit),
                };
                Outcome {
                    in_place,
                    built,
                    ..Outcome::just(action)
                }
            }
            Resolution::Pending { probe, dropped } => {
                let vlans = EthernetFrame::new_checked(&*ready_frame)
                    .map(|e| e.vlans())
                    .unwrap_or_default();
                self.queued(hop.link, probe, dropped, vlans, out)
            }
            Resolution::TableFull => Outcome::dropped(DropCause::NeighbourTableFull),
        }
    }

    /// A frame queued for its next hop on `link` (`dropped` older ones pushed out): the
    /// solicitation of `probe`, if any, with the frame's VLAN tags, into `out`.
    #[inline(never)]
    fn queued(
        &mut self,
        link: LinkId,
        probe: Option<Probe>,
        dropped: usize,
        vlans: VlanStack,
        out: &mut [u8],
    ) -> Outcome {
        self.counters.queue_dropped += dropped as u64;
        let built = self.interfaces.get(link.0).and_then(|iface| {
            probe
                .and_then(|p| solicitation(&iface.config, p, vlans, out))
                .map(|len| Emit { link, len })
        });
        Outcome {
            built,
            ..Outcome::just(Action::Queued)
        }
    }

    /// A rewrite refused the packet: dropped, answered with the ICMP error the kernel sends
    /// at that point (time exceeded, fragmentation needed / packet too big).
    #[inline(never)]
    fn refused(
        &mut self,
        e: RewriteError,
        sent_to_us: bool,
        pkt: &Rx<'_>,
        frame: &[u8],
        out: &mut [u8],
    ) -> Outcome {
        let error = match e {
            RewriteError::TtlExceeded => Some(IcmpError::TimeExceeded),
            RewriteError::TooBig { mtu, icmp: true } => Some(IcmpError::TooBig { mtu }),
            _ => None,
        };
        let built = error.and_then(|err| self.answer(err, sent_to_us, pkt, frame, out));
        Outcome {
            built,
            ..Outcome::dropped(DropCause::of_rewrite(e))
        }
    }

    /// Builds into `out` the ICMP error `error` about the received packet, back to its
    /// sender on the link it came from. `None` when the kernel would send none, or when the
    /// link has no address to send it from.
    fn answer(
        &mut self,
        error: IcmpError,
        sent_to_us: bool,
        pkt: &Rx<'_>,
        frame: &[u8],
        out: &mut [u8],
    ) -> Option<Emit> {
        let iface = self.interfaces.get(pkt.link.0)?;
        let fwd = reply_forwarding(frame, iface.config.mac, iface.config.mtu)?;
        let packet_dst = pkt.parsed.meta.dst;
        let director_addr = iface
            .config
            .addr_like(&packet_dst)
            .or(sent_to_us.then_some(packet_dst))?;
        let source = IcmpSource::linux(error, packet_dst.is_ipv6(), sent_to_us, director_addr);
        let len = icmp_error(frame, error, source, &fwd, &mut self.ids, out).ok()?;
        Some(Emit {
            link: pkt.link,
            len,
        })
    }

    /// An ICMP error about one of our tunnel packets: the error for the client.
    fn tunnel_icmp(
        &mut self,
        t: &TunnelIcmp,
        pkt: &Rx<'_>,
        frame: &[u8],
        out: &mut [u8],
    ) -> Outcome {
        let Some(quote) = pkt.parsed.tunnel else {
            return Outcome::dropped(DropCause::Unsupported);
        };
        let Some(hop) = self.cached_route(&t.client) else {
            return Outcome::dropped(DropCause::NoRoute);
        };
        let mtu_of = |d: &Director, link: LinkId| d.interfaces.get(link.0).map(|i| i.config.mtu);
        let Some(client_mtu) = mtu_of(self, hop.link) else {
            return Outcome::dropped(DropCause::UnknownLink);
        };
        let route_mtu = self
            .route(&IpAddr::V4(quote.real_server))
            .and_then(|h| mtu_of(self, h.link))
            .or_else(|| mtu_of(self, pkt.link))
            .unwrap_or(client_mtu);
        let Some(src_mac) = self.interfaces.get(hop.link.0).map(|i| i.config.mac) else {
            return Outcome::dropped(DropCause::UnknownLink);
        };
        let how = TunnelIcmpOut {
            icmp_type: t.icmp_type,
            code: t.code,
            route_mtu,
            client_mtu,
            src_mac,
        };
        match build_client_error(frame, &pkt.parsed.ip, &quote, &how, &mut self.ids, out) {
            Ok(len) => {
                let mut no_frame = [0u8; 0];
                let ready = Ready::Built(len);
                self.send_to(hop, ready, Action::TunnelIcmp, &mut no_frame, pkt.now, out)
            }
            Err(TunnelIcmpSkip::Silent) => Outcome::just(Action::TunnelIcmp),
            Err(TunnelIcmpSkip::Failed(e)) => Outcome::dropped(DropCause::of_rewrite(e)),
        }
    }
}

//! The engine's verdict carried out on the frame: the rewrite of its method, the next hop's
//! Ethernet address, or the ICMP error that answers it.

use std::net::IpAddr;

use lb_core::engine::{DropReason, Forward, Reply, TunnelIcmp, Verdict};
use lb_core::{FwdMethod, Time};

use super::outcome::{Action, DropCause, Emit, Outcome, PassCause};
use super::parse::Parsed;
use super::tunnel_icmp::{build_client_error, TunnelIcmpOut, TunnelIcmpSkip};
use super::{solicitation, Director, LinkId, NextHop};
use crate::neigh::Resolution;
use crate::rewrite::frame::set_dst_mac;
use crate::rewrite::{
    direct_route_parsed, icmp_error, icmp_relay_to_client, icmp_relay_to_server, nat_in_parsed,
    nat_out_parsed, reply_forwarding, tunnel_parsed, Forwarding, IcmpError, IcmpSource, NatTarget,
    RewriteError, Tunnel,
};
use crate::wire::{EthernetAddress, EthernetFrame};

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

/// What a rewrite does with a frame going toward a next hop.
#[derive(Debug, Clone, Copy)]
enum Rewrite {
    NatIn(NatTarget),
    NatOut(NatTarget),
    RelayToServer(NatTarget),
    RelayToClient(NatTarget),
    AsIs,
    Tunnel(Tunnel),
}

impl Director {
    /// Carries out `verdict` for the packet `parsed`, received on `rx`.
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
            Verdict::Forward(f) => self.forward_to_server(&f, false, &pkt, frame, out),
            Verdict::IcmpToServer(f) => self.forward_to_server(&f, true, &pkt, frame, out),
            Verdict::Reply(r) => self.forward_to_client(&r, false, &pkt, frame, out),
            Verdict::IcmpToClient(r) => self.forward_to_client(&r, true, &pkt, frame, out),
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
    /// `f`.
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
        let Some(route) = self.route(&f.daddr) else {
            return Outcome::dropped(DropCause::NoRoute);
        };
        let target = NatTarget {
            addr: f.daddr,
            port: f.dport,
        };
        let (hop, rewrite) = match f.method {
            FwdMethod::Local => return Outcome::passed(PassCause::LocalDelivery),
            FwdMethod::Masq if relay => (route, Rewrite::RelayToServer(target)),
            FwdMethod::Masq => (route, Rewrite::NatIn(target)),
            // Direct routing: the real server is the next hop itself ("known next hop").
            FwdMethod::Route => (
                NextHop {
                    link: route.link,
                    addr: f.daddr,
                },
                Rewrite::AsIs,
            ),
            FwdMethod::Tunnel => {
                let Some(src) = self.link_addr_like(route.link, &f.daddr) else {
                    return Outcome::dropped(DropCause::NoSourceAddress);
                };
                let tun = Tunnel {
                    pmtu_disc: self.pmtu_disc,
                    flow_hash_seed: self.flow_hash_seed,
                    ..Tunnel::new(&f.tunnel, src, f.daddr)
                };
                (route, Rewrite::Tunnel(tun))
            }
        };
        self.rewrite_and_send(rewrite, hop, action, pkt, frame, out)
    }

    /// A real server's reply (or, `relay`, an ICMP error about a request) on to the client.
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
        let Some(hop) = self.route(&pkt.parsed.meta.dst) else {
            return Outcome::dropped(DropCause::NoRoute);
        };
        let vip = NatTarget {
            addr: r.vaddr,
            port: r.vport,
        };
        let rewrite = match r.method {
            FwdMethod::Masq if relay => Rewrite::RelayToClient(vip),
            FwdMethod::Masq => Rewrite::NatOut(vip),
            // Other methods' replies are forwarded as they are (`handle_response` only
            // translates NAT).
            FwdMethod::Route | FwdMethod::Tunnel | FwdMethod::Local => Rewrite::AsIs,
        };
        self.rewrite_and_send(rewrite, hop, action, pkt, frame, out)
    }

    /// Runs `rewrite` with the Ethernet source of `hop`'s link (the destination is set once
    /// resolved), then sends the result to `hop` as `action`.
    fn rewrite_and_send(
        &mut self,
        rewrite: Rewrite,
        hop: NextHop,
        action: Action,
        pkt: &Rx<'_>,
        frame: &mut [u8],
        out: &mut [u8],
    ) -> Outcome {
        let Some(link) = self.interfaces.get(hop.link.0) else {
            return Outcome::dropped(DropCause::UnknownLink);
        };
        let fwd = Forwarding {
            src_mac: link.config.mac,
            dst_mac: EthernetAddress::UNSPECIFIED,
            mtu: link.config.mtu,
        };
        // The frame is as it was parsed: the rewrites start from that parse.
        let ip = &pkt.parsed.ip;
        let done = match rewrite {
            Rewrite::NatIn(t) => nat_in_parsed(frame, ip, t, &fwd).map(Ready::InPlace),
            Rewrite::NatOut(t) => nat_out_parsed(frame, ip, t, &fwd).map(Ready::InPlace),
            Rewrite::RelayToServer(t) => icmp_relay_to_server(frame, t, &fwd).map(Ready::InPlace),
            Rewrite::RelayToClient(t) => icmp_relay_to_client(frame, t, &fwd).map(Ready::InPlace),
            Rewrite::AsIs => direct_route_parsed(frame, ip, &fwd).map(Ready::InPlace),
            Rewrite::Tunnel(tun) => {
                tunnel_parsed(frame, ip, out, &tun, &fwd, &mut self.ids).map(Ready::Built)
            }
        };
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
                self.counters.queue_dropped += dropped as u64;
                let vlans = EthernetFrame::new_checked(&*ready_frame)
                    .map(|e| e.vlans())
                    .unwrap_or_default();
                let built = probe
                    .and_then(|p| solicitation(&iface.config, p, vlans, out))
                    .map(|len| Emit {
                        link: hop.link,
                        len,
                    });
                Outcome {
                    built,
                    ..Outcome::just(Action::Queued)
                }
            }
            Resolution::TableFull => Outcome::dropped(DropCause::NeighbourTableFull),
        }
    }

    /// A rewrite refused the packet: dropped, answered with the ICMP error the kernel sends
    /// at that point (time exceeded, fragmentation needed / packet too big).
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
        let Some(hop) = self.route(&t.client) else {
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

    /// The first address of `addr`'s family on `link`.
    fn link_addr_like(&self, link: LinkId, addr: &IpAddr) -> Option<IpAddr> {
        self.interfaces.get(link.0)?.config.addr_like(addr)
    }
}

//! From a received frame to what the engine sees ([`PacketMeta`]), with the wire views.
//!
//! The checks follow what the kernel does before and in IPVS's hooks: an Ethernet header,
//! an IPv4 header with a correct checksum (`ip_rcv`) or an IPv6 header whose extension
//! headers lead to the transport header; then the transport header IPVS reads — TCP's 20
//! bytes, UDP's 8, SCTP's 12, ICMP's 8 — whose absence makes IPVS drop the packet
//! (`skb_header_pointer` failing in `*_conn_schedule` and `ip_vs_in_icmp`). Transport
//! checksums are not checked: IPVS forwards what it receives, updating checksums
//! incrementally.

use std::net::IpAddr;

use lb_core::engine::{IcmpInfo, InnerTuple, PacketMeta, Side};
use lb_core::proto::sctp::Event as SctpEvent;

use super::interface::Interface;
use super::outcome::{DropCause, PassCause};
use super::tunnel_icmp::{find_tunnel_quote, TunnelQuote};
use crate::rewrite::frame::{ethernet_layout, Fragment, IpFrame, IpVersion};
use crate::rewrite::RewriteError;
use crate::wire::{
    icmpv4, sctp, tcp, udp, EtherType, Icmpv6Type, IpProtocol, Ipv4Packet, Ipv6Packet, SctpPacket,
    TcpPacket, UdpPacket,
};

/// What a received frame is, for the path.
#[derive(Debug)]
pub(crate) enum Received {
    /// ARP, or an IPv6 neighbour solicitation / advertisement.
    Neighbour,
    /// An IP packet for the engine.
    Ip(Parsed),
}

/// An IP packet read from a frame.
#[derive(Debug)]
pub(crate) struct Parsed {
    /// Where its headers are.
    pub ip: IpFrame,
    /// The engine's summary.
    pub meta: PacketMeta,
    /// For an ICMP error about one of our tunnel packets: where the client's packet is.
    pub tunnel: Option<TunnelQuote>,
}

/// Why a frame does not reach the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotForEngine {
    Drop(DropCause),
    Pass(PassCause),
}

impl From<DropCause> for NotForEngine {
    fn from(c: DropCause) -> Self {
        NotForEngine::Drop(c)
    }
}

/// Reads a frame received on `rx` (one of `interfaces`).
#[inline(always)]
pub(crate) fn read_frame(
    frame: &[u8],
    rx: &Interface,
    interfaces: &[Interface],
) -> Result<Received, NotForEngine> {
    let (ethertype, l3) = ethernet_layout(frame).map_err(DropCause::of_wire)?;
    if ethertype == EtherType::ARP {
        return Ok(Received::Neighbour);
    }
    if ethertype != EtherType::IPV4 && ethertype != EtherType::IPV6 {
        return Err(NotForEngine::Pass(PassCause::NotIp));
    }
    let ip = IpFrame::parse_ip(frame, ethertype, l3).map_err(|e| match e {
        RewriteError::NotIp => NotForEngine::Pass(PassCause::NotIp),
        e => NotForEngine::Drop(DropCause::of_rewrite(e)),
    })?;
    if is_neighbour_discovery(frame, &ip) {
        return Ok(Received::Neighbour);
    }
    if frame.first_chunk::<6>() != Some(&rx.config.mac.0) {
        return Err(NotForEngine::Pass(PassCause::NotForUs));
    }
    if ip.fragment == Fragment::Later {
        return Err(NotForEngine::Pass(PassCause::Fragment));
    }
    // Built where the caller keeps it: no copy of the summary on the way.
    summarize(frame, &ip, rx.config.side, interfaces)
}

/// An unfragmented ICMPv6 neighbour solicitation or advertisement.
fn is_neighbour_discovery(frame: &[u8], ip: &IpFrame) -> bool {
    ip.version == IpVersion::V6
        && ip.protocol == IpProtocol::ICMPV6
        && ip.fragment == Fragment::Whole
        && matches!(
            ip.transport(frame).first().map(|&t| Icmpv6Type(t)),
            Some(Icmpv6Type::NEIGHBOR_SOLICIT | Icmpv6Type::NEIGHBOR_ADVERT)
        )
}

/// The big-endian 16-bit word at `at`.
fn word(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn has_ports(protocol: IpProtocol) -> bool {
    matches!(
        protocol,
        IpProtocol::TCP | IpProtocol::UDP | IpProtocol::SCTP
    )
}

/// The engine's summary of a packet that is not a later fragment, received from `side`.
#[inline(always)]
fn summarize(
    frame: &[u8],
    ip: &IpFrame,
    side: Side,
    interfaces: &[Interface],
) -> Result<Received, NotForEngine> {
    let parsed = |meta: PacketMeta, tunnel: Option<TunnelQuote>| {
        Ok(Received::Ip(Parsed {
            ip: *ip,
            meta: PacketMeta { side, ..meta },
            tunnel,
        }))
    };
    let src = ip.src_addr(frame);
    let dst = ip.dst_addr(frame);
    let ip_len = u32::try_from(ip.ip_len).unwrap_or(u32::MAX);
    let t = ip.transport(frame);
    let meta = match ip.protocol {
        IpProtocol::TCP => {
            if t.len() < tcp::MIN_HEADER_LEN {
                return Err(DropCause::Truncated.into());
            }
            let p = TcpPacket::new_unchecked(t);
            let flags = (p.flags().0 & 0xFF) as u8;
            PacketMeta::tcp((src, p.src_port()), (dst, p.dst_port()), flags, ip_len)
        }
        IpProtocol::UDP => {
            if t.len() < udp::HEADER_LEN {
                return Err(DropCause::Truncated.into());
            }
            let p = UdpPacket::new_unchecked(t);
            PacketMeta::udp((src, p.src_port()), (dst, p.dst_port()), ip_len)
        }
        IpProtocol::SCTP => {
            if t.len() < sctp::HEADER_LEN {
                return Err(DropCause::Truncated.into());
            }
            let p = SctpPacket::new_unchecked(t);
            let chunks = t.get(sctp::HEADER_LEN..).unwrap_or(&[]);
            let first = chunks.first().copied().unwrap_or(0);
            let mut meta =
                PacketMeta::sctp((src, p.src_port()), (dst, p.dst_port()), first, ip_len);
            meta.sctp_event = SctpEvent::from_chunks(chunks);
            if meta.sctp_event.is_none() {
                meta.sctp_chunk = None;
            }
            meta
        }
        IpProtocol::ICMP | IpProtocol::ICMPV6 => {
            let (info, tunnel) = icmp_info(frame, ip, interfaces)?;
            let mut meta = PacketMeta::icmp(src, dst, info, ip_len);
            // An error in fragments: the kernel drops ICMPv6 ones (errors never are
            // fragmented) and reassembles IPv4 ones, which this director cannot.
            meta.fragment = ip.fragment != Fragment::Whole;
            return parsed(meta, tunnel);
        }
        other => {
            let mut meta = PacketMeta::udp((src, 0), (dst, 0), ip_len);
            meta.protocol = other.0;
            meta
        }
    };
    parsed(meta, None)
}

/// The ICMP message, and the packet it quotes when it is an error IPVS relates to
/// connections (spec §7.6).
fn icmp_info(
    frame: &[u8],
    ip: &IpFrame,
    interfaces: &[Interface],
) -> Result<(IcmpInfo, Option<TunnelQuote>), DropCause> {
    let t = ip.transport(frame);
    if t.len() < icmpv4::HEADER_LEN {
        return Err(DropCause::Truncated);
    }
    let (icmp_type, code) = (t[0], t[1]);
    let mut info = IcmpInfo {
        icmp_type,
        code,
        inner: None,
        tunnel: false,
    };
    let quote_at = ip.l4 + icmpv4::HEADER_LEN;
    let quote = frame.get(quote_at..ip.end()).unwrap_or(&[]);
    let related = match (ip.version, ip.protocol) {
        (IpVersion::V4, IpProtocol::ICMP) => matches!(icmp_type, 3 | 4 | 11),
        (IpVersion::V6, IpProtocol::ICMPV6) => icmp_type < 128,
        _ => false,
    };
    if !related {
        return Ok((info, None));
    }
    match ip.version {
        IpVersion::V4 => {
            if let Some(tq) = find_tunnel_quote(frame, ip, quote_at, interfaces) {
                let inner = frame.get(tq.inner_at..ip.end()).unwrap_or(&[]);
                info.inner = quoted_v4(inner);
                info.tunnel = info.inner.is_some();
                return Ok((info, info.tunnel.then_some(tq)));
            }
            info.inner = quoted_v4(quote);
        }
        IpVersion::V6 => info.inner = quoted_v6(quote),
    }
    Ok((info, None))
}

/// The tuple of an IPv4 packet quoted in an error; `None` when its header is not there,
/// or its ports are not while it should have them (the kernel then finds no connection).
fn quoted_v4(quote: &[u8]) -> Option<InnerTuple> {
    let q = Ipv4Packet::new_checked_embedded(quote).ok()?;
    let protocol = q.protocol();
    let fragment = q.frag_offset() != 0;
    let ports = if has_ports(protocol) && !fragment {
        let l4 = q.header_len();
        Some((word(quote, l4)?, word(quote, l4 + 2)?))
    } else {
        None
    };
    Some(tuple(
        protocol,
        q.src_addr().into(),
        q.dst_addr().into(),
        ports,
        fragment,
    ))
}

/// The tuple of an IPv6 packet quoted in an error (see [`quoted_v4`]).
fn quoted_v6(quote: &[u8]) -> Option<InnerTuple> {
    let q = Ipv6Packet::new_checked_embedded(quote).ok()?;
    let transport = q.transport().ok()?;
    let fragment = !transport.has_transport_header();
    let ports = if has_ports(transport.protocol) && !fragment {
        let l4 = transport.offset;
        Some((word(quote, l4)?, word(quote, l4 + 2)?))
    } else {
        None
    };
    Some(tuple(
        transport.protocol,
        q.src_addr().into(),
        q.dst_addr().into(),
        ports,
        fragment,
    ))
}

fn tuple(
    protocol: IpProtocol,
    src: IpAddr,
    dst: IpAddr,
    ports: Option<(u16, u16)>,
    fragment: bool,
) -> InnerTuple {
    let (sport, dport) = ports.unwrap_or((0, 0));
    InnerTuple {
        protocol: protocol.0,
        src,
        dst,
        sport,
        dport,
        fragment,
    }
}

//! ICMP errors about NAT connections (spec §7.6, `ip_vs_in_icmp`, `ip_vs_out_icmp`,
//! `ip_vs_nat_icmp[_v6]`): which connection an error is about ([`icmp_embedded_flow`], for
//! the engine's lookup), and its translation for the other side:
//!
//! - [`icmp_relay_to_client`]: an error from the real-server side about a client's packet
//!   (which the director had sent on as client → real server): outer source → VIP, quoted
//!   destination address and port → VIP and virtual port;
//! - [`icmp_relay_to_server`]: an error from the client side about a reply (which left the
//!   director as VIP → client): outer destination → real server, quoted source address and
//!   port → real server's address and port.
//!
//! As in the kernel, the quoted IPv4 header gets its checksum recomputed, the quoted
//! transport checksum is left alone, and the ICMP checksum is recomputed over the whole
//! message. Only the errors IPVS relates to connections are handled: ICMP destination
//! unreachable, source quench and time exceeded; every ICMPv6 error. An error with a bad
//! checksum is refused.

use std::net::IpAddr;

use super::error::RewriteError;
use super::frame::{
    is_related_icmpv4_type, is_related_icmpv6_type, put_u16, set_macs, Fragment, IpFrame, IpVersion,
};
use super::nat::NatTarget;
use super::Forwarding;
use crate::wire::checksum::PseudoHeader;
use crate::wire::{icmpv4, Icmpv4Packet, Icmpv6Packet, IpProtocol, Ipv4Packet, Ipv6Packet};

/// What an ICMP error says about the packet it quotes: enough to find its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EmbeddedFlow {
    /// The ICMP / ICMPv6 type.
    pub icmp_type: u8,
    /// The ICMP / ICMPv6 code.
    pub icmp_code: u8,
    /// The four bytes after the checksum: the next-hop MTU of a fragmentation-needed (low 16
    /// bits), the MTU of a packet-too-big, a pointer of a parameter problem.
    pub icmp_info: u32,
    /// The quoted packet's transport protocol (for IPv6, after its extension headers).
    pub protocol: IpProtocol,
    /// The quoted packet's source address.
    pub src_addr: IpAddr,
    /// The quoted packet's destination address.
    pub dst_addr: IpAddr,
    /// The quoted TCP / UDP / SCTP source and destination ports, when the quote holds them
    /// (not for a non-first fragment, nor a quote cut before them).
    pub ports: Option<(u16, u16)>,
    /// Whether the quoted packet had DF set (IPv4; false for IPv6).
    pub dont_frag: bool,
}

/// Where the parts of an ICMP error are in a frame.
struct IcmpLayout {
    outer: IpFrame,
    /// Where the quoted IP header starts.
    quoted_at: usize,
    /// The quoted header's length (IPv4 with options, or 40).
    quoted_header_len: usize,
    /// Where the quoted transport header starts.
    quoted_l4: usize,
    quoted_protocol: IpProtocol,
    quoted_later_fragment: bool,
}

impl IcmpLayout {
    /// Reads an ICMP error related to connections, checking its checksum.
    fn parse(frame: &[u8]) -> Result<IcmpLayout, RewriteError> {
        let outer = IpFrame::parse(frame)?;
        let icmp = outer.transport(frame);
        let related = match (outer.version, outer.protocol) {
            (IpVersion::V4, IpProtocol::ICMP) => {
                icmp.first().is_some_and(|&t| is_related_icmpv4_type(t))
            }
            (IpVersion::V6, IpProtocol::ICMPV6) => {
                icmp.first().is_some_and(|&t| is_related_icmpv6_type(t))
            }
            _ => false,
        };
        if !related || outer.fragment == Fragment::Later {
            return Err(RewriteError::NotRelatedIcmp);
        }
        if outer.fragment == Fragment::First {
            return Err(RewriteError::NeedsReassembly);
        }
        let quoted_at = outer.l4 + icmpv4::HEADER_LEN;
        let quoted = frame.get(quoted_at..outer.end()).unwrap_or(&[]);
        match outer.version {
            IpVersion::V4 => {
                let packet = Icmpv4Packet::new_checked(icmp)?;
                if !packet.verify_checksum() {
                    return Err(RewriteError::BadIcmpChecksum);
                }
                let inner = Ipv4Packet::new_checked_embedded(quoted)?;
                Ok(IcmpLayout {
                    outer,
                    quoted_at,
                    quoted_header_len: inner.header_len(),
                    quoted_l4: quoted_at + inner.header_len(),
                    quoted_protocol: inner.protocol(),
                    quoted_later_fragment: inner.frag_offset() != 0,
                })
            }
            IpVersion::V6 => {
                let packet = Icmpv6Packet::new_checked(icmp)?;
                let pseudo = match (outer.src_addr(frame), outer.dst_addr(frame)) {
                    (IpAddr::V6(s), IpAddr::V6(d)) => PseudoHeader::v6(s, d),
                    _ => return Err(RewriteError::FamilyMismatch),
                };
                if !packet.verify_checksum(&pseudo) {
                    return Err(RewriteError::BadIcmpChecksum);
                }
                let inner = Ipv6Packet::new_checked_embedded(quoted)?;
                let transport = inner.transport()?;
                Ok(IcmpLayout {
                    outer,
                    quoted_at,
                    quoted_header_len: crate::wire::ipv6::HEADER_LEN,
                    quoted_l4: quoted_at + transport.offset,
                    quoted_protocol: transport.protocol,
                    quoted_later_fragment: !transport.has_transport_header(),
                })
            }
        }
    }

    fn quoted<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        frame.get(self.quoted_at..self.outer.end()).unwrap_or(&[])
    }

    fn quoted_mut<'a>(&self, frame: &'a mut [u8]) -> &'a mut [u8] {
        let end = self.outer.end();
        frame.get_mut(self.quoted_at..end).unwrap_or(&mut [])
    }

    /// Whether the quote holds the ports of a TCP, UDP or SCTP header.
    fn quoted_ports(&self, frame: &[u8]) -> Option<(u16, u16)> {
        let has_ports = matches!(
            self.quoted_protocol,
            IpProtocol::TCP | IpProtocol::UDP | IpProtocol::SCTP
        );
        if !has_ports || self.quoted_later_fragment {
            return None;
        }
        let p = frame.get(self.quoted_l4..self.quoted_l4.checked_add(4)?)?;
        Some((
            u16::from_be_bytes([p[0], p[1]]),
            u16::from_be_bytes([p[2], p[3]]),
        ))
    }

    fn quoted_addrs(&self, frame: &[u8]) -> (IpAddr, IpAddr, bool) {
        let quoted = self.quoted(frame);
        match self.outer.version {
            IpVersion::V4 => {
                let p = Ipv4Packet::new_unchecked(quoted);
                (p.src_addr().into(), p.dst_addr().into(), p.dont_frag())
            }
            IpVersion::V6 => {
                let p = Ipv6Packet::new_unchecked(quoted);
                (p.src_addr().into(), p.dst_addr().into(), false)
            }
        }
    }

    /// Rewrites one quoted address and its port (`src` side or destination side), fixing
    /// the quoted IPv4 header checksum.
    fn rewrite_quoted(&self, frame: &mut [u8], src_side: bool, target: NatTarget) {
        let has_ports = self.quoted_ports(frame).is_some();
        let header_len = self.quoted_header_len;
        let quoted = self.quoted_mut(frame);
        match (self.outer.version, target.addr) {
            (IpVersion::V4, IpAddr::V4(addr)) => {
                if let Some(header) = quoted.get_mut(..header_len) {
                    let mut p = Ipv4Packet::new_unchecked(header);
                    if src_side {
                        p.set_src_addr(addr);
                    } else {
                        p.set_dst_addr(addr);
                    }
                    p.fill_checksum();
                }
            }
            (IpVersion::V6, IpAddr::V6(addr)) => {
                if let Some(header) = quoted.get_mut(..header_len) {
                    let mut p = Ipv6Packet::new_unchecked(header);
                    if src_side {
                        p.set_src_addr(addr);
                    } else {
                        p.set_dst_addr(addr);
                    }
                }
            }
            _ => {}
        }
        if has_ports {
            let at = self.quoted_l4 + if src_side { 0 } else { 2 };
            put_u16(frame, at, target.port);
        }
    }

    /// Recomputes the ICMP / ICMPv6 checksum over the whole message.
    fn fill_icmp_checksum(&self, frame: &mut [u8]) {
        let ip = self.outer;
        let pseudo = match (ip.src_addr(frame), ip.dst_addr(frame)) {
            (IpAddr::V6(s), IpAddr::V6(d)) => Some(PseudoHeader::v6(s, d)),
            _ => None,
        };
        let icmp = ip.transport_mut(frame);
        match pseudo {
            None => Icmpv4Packet::new_unchecked(icmp).fill_checksum(),
            Some(p) => Icmpv6Packet::new_unchecked(icmp).fill_checksum(&p),
        }
    }
}

/// Reads which packet an ICMP / ICMPv6 error is about, for the connection lookup: the
/// engine looks the quoted tuple up as an inbound reply or an outbound request (spec §7.6).
/// Fails with [`RewriteError::NotRelatedIcmp`] for other ICMP messages and non-ICMP frames,
/// [`RewriteError::BadIcmpChecksum`] for a corrupted error, [`RewriteError::NeedsReassembly`]
/// for an error that arrived in fragments.
pub fn icmp_embedded_flow(frame: &[u8]) -> Result<EmbeddedFlow, RewriteError> {
    let layout = IcmpLayout::parse(frame)?;
    let icmp = layout.outer.transport(frame);
    let (icmp_type, icmp_code, icmp_info) = match layout.outer.version {
        IpVersion::V4 => {
            let p = Icmpv4Packet::new_checked(icmp)?;
            (p.msg_type().0, p.msg_code(), p.rest_of_header())
        }
        IpVersion::V6 => {
            let p = Icmpv6Packet::new_checked(icmp)?;
            (p.msg_type().0, p.msg_code(), p.rest_of_header())
        }
    };
    let (src_addr, dst_addr, dont_frag) = layout.quoted_addrs(frame);
    Ok(EmbeddedFlow {
        icmp_type,
        icmp_code,
        icmp_info,
        protocol: layout.quoted_protocol,
        src_addr,
        dst_addr,
        ports: layout.quoted_ports(frame),
        dont_frag,
    })
}

/// Translates, in place, an ICMP error from a NAT real server's side about a client's packet
/// and sends it on to the client (`handle_response_icmp`): outer source → `vip.addr`, quoted
/// destination → `vip.addr` and quoted destination port → `vip.port`, checksums as the
/// [module](self) says, TTL / hop limit − 1 (forwarding path order: TTL check, MTU check,
/// decrement), the Ethernet addresses of `fwd`. Returns the frame length to send; on every
/// error the frame is untouched. A relayed error is never answered: too big for the MTU, it
/// is [`RewriteError::NeedsFragmenting`] (IPv4) or a silent [`RewriteError::TooBig`] (IPv6).
pub fn icmp_relay_to_client(
    frame: &mut [u8],
    vip: NatTarget,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    let layout = IcmpLayout::parse(frame)?;
    let ip = layout.outer;
    ip.check_family(&vip.addr)?;
    ip.check_ttl(frame)?;
    ip.check_mtu(frame, fwd.mtu, true)?;
    ip.decrement_ttl(frame);
    ip.set_src_addr(frame, vip.addr);
    layout.rewrite_quoted(frame, false, vip);
    layout.fill_icmp_checksum(frame);
    set_macs(frame, fwd.src_mac, fwd.dst_mac);
    Ok(ip.end())
}

/// Translates, in place, an ICMP error from the client side about a reply of a NAT
/// connection and sends it on to the real server (`ip_vs_in_icmp` → `ip_vs_icmp_xmit`):
/// outer destination → `rs.addr`, quoted source → `rs.addr` and quoted source port →
/// `rs.port`, checksums as the [module](self) says, TTL / hop limit − 1 (IPVS transmit
/// order: TTL check and decrement, then the MTU check), the Ethernet addresses of `fwd`.
/// Returns the frame length to send. On an MTU error the TTL has already been decremented;
/// on every other error the frame is untouched.
pub fn icmp_relay_to_server(
    frame: &mut [u8],
    rs: NatTarget,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    let layout = IcmpLayout::parse(frame)?;
    let ip = layout.outer;
    ip.check_family(&rs.addr)?;
    ip.check_ttl(frame)?;
    ip.decrement_ttl(frame);
    ip.check_mtu(frame, fwd.mtu, true)?;
    ip.set_dst_addr(frame, rs.addr);
    layout.rewrite_quoted(frame, true, rs);
    layout.fill_icmp_checksum(frame);
    set_macs(frame, fwd.src_mac, fwd.dst_mac);
    Ok(ip.end())
}

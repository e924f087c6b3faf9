//! ICMP errors about the director's own tunnel packets (spec §7.3, `ip_vs_in_icmp`): a
//! router between the director and a tunnel real server answers the IPIP / GUE / GRE
//! packet; the director turns that into an error of the same type and code for the client,
//! about the client's packet found inside the quote.
//!
//! As in the kernel, only IPv4 is handled (IPv4 outside, IPv4 inside), the error must be
//! addressed to the director (it arrives at LOCAL_IN), the quoted outer packet must not be
//! a later fragment, GUE must be version 0 without control flag and carry IPIP, GRE must have
//! no flag but the checksum one and carry IPv4. The kernel recognises its tunnel by its
//! real server (a known tunnel destination of that type and port); the path, which does
//! not see the destinations, recognises it by its source: one of the director's addresses.
//!
//! The error sent (`icmp_send` about the client's packet) is built as Linux's `__icmp_send`
//! builds it: from the client packet's destination (the VIP: the received error's route is
//! local), TTL 64, TOS `0xC0 | (tos & 0x1E)`, DF clear, quoting the client's packet as far
//! as the received quote goes, at most 576 bytes in all. For "fragmentation needed" the
//! kernel relays nothing unless the client's packet had DF, and reports the MTU less the
//! 20 bytes of the outer header when above 88.

use std::net::{IpAddr, Ipv4Addr};

use super::interface::Interface;
use crate::rewrite::frame::{IpFrame, IpVersion};
use crate::rewrite::{IpIdCounter, RewriteError};
use crate::wire::{
    icmpv4, ipv4, EtherType, EthernetAddress, EthernetFrame, Icmpv4Packet, Icmpv4Type, IpProtocol,
    Ipv4Packet, Ipv4Repr,
};

/// ICMP destination unreachable.
const DEST_UNREACHABLE: u8 = 3;
/// ICMP code: fragmentation needed and DF set.
const FRAG_NEEDED: u8 = 4;
/// The UDP header before a GUE header.
const UDP_LEN: usize = 8;
/// The GUE base header.
const GUE_LEN: usize = 4;
/// The GRE checksum flag.
const GRE_CSUM: u16 = 0x8000;
/// The most an ICMPv4 error may be, IP header included.
const ICMPV4_MAX_LEN: usize = 576;
/// TTL of the errors.
const ERROR_TTL: u8 = 64;

/// Where the client's packet is in an ICMP error about one of our tunnel packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TunnelQuote {
    /// Where the client's IP header starts, from the start of the frame.
    pub inner_at: usize,
    /// The tunnel's far end: the real server.
    pub real_server: Ipv4Addr,
}

/// Whether `addr` is one of the director's addresses.
fn ours(interfaces: &[Interface], addr: &IpAddr) -> bool {
    interfaces.iter().any(|i| i.config.owns(addr))
}

/// The length of a GUE encapsulation (UDP header, GUE header and its options) carrying IPIP
/// at the start of `udp`, as `ipvs_udp_decap` accepts it.
fn gue_len(udp: &[u8]) -> Option<usize> {
    let gue = udp.get(UDP_LEN..UDP_LEN + GUE_LEN)?;
    let (version_control, hlen) = (gue[0] >> 5, usize::from(gue[0] & 0x1F));
    (version_control == 0 && gue[1] == IpProtocol::IPIP.0).then_some(UDP_LEN + GUE_LEN + hlen * 4)
}

/// The length of a GRE header carrying IPv4 at the start of `gre`, as `ipvs_gre_decap`
/// accepts it: version 0, no flag but the checksum.
fn gre_len(gre: &[u8]) -> Option<usize> {
    let flags = u16::from_be_bytes([*gre.first()?, *gre.get(1)?]);
    let protocol = u16::from_be_bytes([*gre.get(2)?, *gre.get(3)?]);
    if flags & !GRE_CSUM != 0 || protocol != EtherType::IPV4.0 {
        return None;
    }
    Some(if flags & GRE_CSUM != 0 { 8 } else { 4 })
}

/// Finds the client's packet in an IPv4 ICMP error (`ip` / `frame`) whose quote starts at
/// `quote_at`, if the quoted packet is one of our tunnel packets.
pub(crate) fn find_tunnel_quote(
    frame: &[u8],
    ip: &IpFrame,
    quote_at: usize,
    interfaces: &[Interface],
) -> Option<TunnelQuote> {
    if ip.version != IpVersion::V4 || !ours(interfaces, &ip.dst_addr(frame)) {
        return None;
    }
    let quote = frame.get(quote_at..ip.end())?;
    let outer = Ipv4Packet::new_checked_embedded(quote).ok()?;
    if outer.frag_offset() != 0 || !ours(interfaces, &IpAddr::V4(outer.src_addr())) {
        return None;
    }
    let hl = outer.header_len();
    let encap = quote.get(hl..)?;
    let encap_len = match outer.protocol() {
        IpProtocol::IPIP => 0,
        IpProtocol::UDP => gue_len(encap)?,
        IpProtocol::GRE => gre_len(encap)?,
        _ => return None,
    };
    Some(TunnelQuote {
        inner_at: quote_at + hl + encap_len,
        real_server: outer.dst_addr(),
    })
}

/// Why no error goes to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TunnelIcmpSkip {
    /// The kernel sends nothing (fragmentation needed without DF; a later fragment; an
    /// error about an error; a bad client address; no room for the quote).
    Silent,
    /// The frame cannot be built.
    Failed(RewriteError),
}

/// The error for the client, as it goes out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TunnelIcmpOut {
    /// The received ICMP type and code.
    pub icmp_type: u8,
    /// The code.
    pub code: u8,
    /// The route MTU toward the real server (the kernel's cached route of the destination).
    pub route_mtu: u32,
    /// The route MTU toward the client (it bounds the quote).
    pub client_mtu: u32,
    /// Our Ethernet address on the way to the client.
    pub src_mac: EthernetAddress,
}

/// The ICMP type of an error about an error (the kernel never answers those): any type but
/// echo, timestamp, information and address mask ones.
fn is_icmp_error_type(t: u8) -> bool {
    t > 18 || !matches!(t, 0 | 8 | 13..=18)
}

/// Builds into `out` the error for the client about its packet at `quote.inner_at` in
/// `frame` (the received error, read as `ip`). The Ethernet destination is left zero, for
/// the caller to resolve. Returns the frame length.
pub(crate) fn build_client_error(
    frame: &[u8],
    ip: &IpFrame,
    quote: &TunnelQuote,
    how: &TunnelIcmpOut,
    ids: &mut IpIdCounter,
    out: &mut [u8],
) -> Result<usize, TunnelIcmpSkip> {
    let received = Icmpv4Packet::new_checked(ip.transport(frame))
        .map_err(|e| TunnelIcmpSkip::Failed(e.into()))?;
    if !received.verify_checksum() {
        return Err(TunnelIcmpSkip::Failed(RewriteError::BadIcmpChecksum));
    }
    let client_packet = frame.get(quote.inner_at..ip.end()).unwrap_or(&[]);
    let client = Ipv4Packet::new_checked_embedded(client_packet)
        .map_err(|e| TunnelIcmpSkip::Failed(e.into()))?;
    let mut info = received.rest_of_header();
    if how.icmp_type == DEST_UNREACHABLE && how.code == FRAG_NEEDED {
        if !client.dont_frag() {
            return Err(TunnelIcmpSkip::Silent);
        }
        let reported = u32::from(received.next_hop_mtu());
        let mut mtu = match reported {
            0 => how.route_mtu,
            r => r.min(how.route_mtu),
        };
        if mtu > 68 + ipv4::MIN_HEADER_LEN as u32 {
            mtu -= ipv4::MIN_HEADER_LEN as u32;
        }
        info = mtu;
    }
    let (to, from) = (client.src_addr(), client.dst_addr());
    if client.frag_offset() != 0
        || to.is_unspecified()
        || to.is_multicast()
        || to.is_broadcast()
        || to.is_loopback()
        || from.is_multicast()
        || from.is_broadcast()
    {
        return Err(TunnelIcmpSkip::Silent);
    }
    if client.protocol() == IpProtocol::ICMP {
        let t = client_packet.get(client.header_len()).copied();
        if t.is_none_or(is_icmp_error_type) {
            return Err(TunnelIcmpSkip::Silent);
        }
    }
    let room = (how.client_mtu as usize)
        .min(ICMPV4_MAX_LEN)
        .saturating_sub(ipv4::MIN_HEADER_LEN + icmpv4::HEADER_LEN);
    if room <= ipv4::MIN_HEADER_LEN {
        return Err(TunnelIcmpSkip::Silent);
    }
    let quoted = &client_packet[..client_packet.len().min(room)];
    let icmp_len = icmpv4::HEADER_LEN + quoted.len();
    let needed = ip.l3 + ipv4::MIN_HEADER_LEN + icmp_len;
    let Some(out) = out.get_mut(..needed) else {
        return Err(TunnelIcmpSkip::Failed(RewriteError::BufferTooSmall {
            needed,
        }));
    };
    let (l2, rest) = out.split_at_mut(ip.l3);
    let Some(received_l2) = frame.get(..ip.l3) else {
        return Err(TunnelIcmpSkip::Failed(RewriteError::NotIp));
    };
    l2.copy_from_slice(received_l2);
    let mut eth = EthernetFrame::new_unchecked(&mut *l2);
    eth.set_src_addr(how.src_mac);
    eth.set_dst_addr(EthernetAddress::UNSPECIFIED);
    eth.set_inner_ethertype(EtherType::IPV4);
    let (ip_out, icmp_out) = rest.split_at_mut(ipv4::MIN_HEADER_LEN);
    Ipv4Repr {
        src_addr: from,
        dst_addr: to,
        protocol: IpProtocol::ICMP,
        payload_len: icmp_len,
        ttl: ERROR_TTL,
        tos: 0xC0 | (client.tos() & 0x1E),
        ident: ids.next_id(),
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut Ipv4Packet::new_unchecked(ip_out))
    .map_err(|e| TunnelIcmpSkip::Failed(e.into()))?;
    icmp_out[icmpv4::HEADER_LEN..].copy_from_slice(quoted);
    let mut icmp = Icmpv4Packet::new_unchecked(icmp_out);
    icmp.set_msg_type(Icmpv4Type(how.icmp_type));
    icmp.set_msg_code(how.code);
    icmp.set_rest_of_header(info);
    icmp.set_checksum(0);
    icmp.fill_checksum();
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gue_and_gre_headers_are_recognised_as_the_kernel_does() {
        let mut udp = [0u8; 12];
        udp[9] = 4;
        assert_eq!(gue_len(&udp), Some(12));
        udp[8] = 0x02; // two words of options
        assert_eq!(gue_len(&udp), Some(20));
        udp[8] = 0x20; // control flag
        assert_eq!(gue_len(&udp), None);
        udp[8] = 0;
        udp[9] = 41; // IPv6 inside: not handled
        assert_eq!(gue_len(&udp), None);
        assert_eq!(gue_len(&udp[..11]), None);

        assert_eq!(gre_len(&[0, 0, 0x08, 0x00]), Some(4));
        assert_eq!(gre_len(&[0x80, 0, 0x08, 0x00, 0, 0, 0, 0]), Some(8));
        assert_eq!(gre_len(&[0x20, 0, 0x08, 0x00]), None); // key flag
        assert_eq!(gre_len(&[0, 1, 0x08, 0x00]), None); // version 1
        assert_eq!(gre_len(&[0, 0, 0x86, 0xDD]), None);
        assert_eq!(gre_len(&[0, 0, 0x08]), None);
    }

    #[test]
    fn error_types_follow_the_kernel_table() {
        for t in [0u8, 8, 13, 14, 15, 16, 17, 18] {
            assert!(!is_icmp_error_type(t), "{t}");
        }
        for t in [1u8, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 19, 255] {
            assert!(is_icmp_error_type(t), "{t}");
        }
    }
}

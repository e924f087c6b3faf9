//! IPv6 neighbour discovery (RFC 4861) as Linux's `ndisc_recv_ns` / `ndisc_send_na` answer
//! it for owned addresses, and the messages the director sends: an unsolicited
//! advertisement when a VIP comes up, solicitations to resolve a next hop.
//!
//! Answers follow Linux:
//! - a solicitation sent to the target's solicited-node multicast address is answered to its
//!   sender with the solicited and override flags and a target link-layer address option;
//!   one sent to the target's unicast address (a reachability probe) with the solicited flag
//!   only and no option (`ndisc_send_na(…, solicited, override = inc, inc_opt = inc)`); the
//!   answer goes to the solicitation's source link-layer address, or without one to the
//!   frame's source address (where Linux would use, or first resolve, its neighbour entry);
//! - a duplicate-address-detection solicitation (unspecified source) is answered to all
//!   nodes (ff02::1), override set, solicited clear, with the option;
//! - advertisements come from the target address with hop limit 255; the router flag is
//!   [`OwnedAddresses::router`].

use std::net::{IpAddr, Ipv6Addr};

use super::error::NeighError;
use super::owned::OwnedAddresses;
use crate::rewrite::frame::{Fragment, IpFrame, IpVersion};
use crate::wire::checksum::PseudoHeader;
use crate::wire::{
    ipv6, EtherType, EthernetAddress, EthernetFrame, EthernetRepr, Icmpv6Packet, Icmpv6Type,
    IpProtocol, Ipv6Packet, Ipv6Repr, NdpNeighborFlags, NdpRepr, VlanStack,
};

/// The hop limit every neighbour-discovery message has (RFC 4861 §7.1).
const NDP_HOP_LIMIT: u8 = 255;

/// ff02::1, all nodes on the link.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// The solicited-node multicast address of `addr`: ff02::1:ffXX:XXXX with its low 24 bits.
pub fn solicited_node(addr: &Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet address of an IPv6 multicast group: 33:33 and the group's low 32 bits
/// (RFC 2464 §7).
pub fn multicast_mac(group: &Ipv6Addr) -> EthernetAddress {
    let o = group.octets();
    EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// A neighbour solicitation or advertisement received, and the advertisement built for it if
/// it solicited an address the director owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdpReceived {
    /// The message's IPv6 source address.
    pub src_addr: Ipv6Addr,
    /// Whether the IPv6 destination was a multicast address.
    pub dst_multicast: bool,
    /// The frame's Ethernet source address.
    pub frame_src: EthernetAddress,
    /// The solicitation or advertisement.
    pub message: NdpRepr,
    /// Whether the message is a solicitation for an address the director owns.
    pub solicits_us: bool,
    /// The length of the advertisement written to the output buffer, if one was.
    pub reply_len: Option<usize>,
}

/// A neighbour advertisement to build.
struct Advert {
    eth_dst: EthernetAddress,
    src_mac: EthernetAddress,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    flags: NdpNeighborFlags,
    with_option: bool,
}

/// Writes the Ethernet header (with `vlans`), the IPv6 header and the message into `out`,
/// with the ICMPv6 checksum; returns the frame length.
fn emit_ndp_frame(
    eth_dst: EthernetAddress,
    eth_src: EthernetAddress,
    vlans: VlanStack,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    message: &NdpRepr,
    out: &mut [u8],
) -> Result<usize, NeighError> {
    let eth = EthernetRepr {
        src_addr: eth_src,
        dst_addr: eth_dst,
        vlans,
        ethertype: EtherType::IPV6,
    };
    let l3 = eth.buffer_len();
    let needed = l3 + ipv6::HEADER_LEN + message.buffer_len();
    let Some(out) = out.get_mut(..needed) else {
        return Err(NeighError::BufferTooSmall { needed });
    };
    eth.emit(&mut EthernetFrame::new_unchecked(&mut *out))?;
    let (ip, icmp) = out[l3..].split_at_mut(ipv6::HEADER_LEN);
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::ICMPV6,
        payload_len: message.buffer_len(),
        hop_limit: NDP_HOP_LIMIT,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut Ipv6Packet::new_unchecked(ip))?;
    let mut packet = Icmpv6Packet::new_unchecked(icmp);
    message.emit(&mut packet)?;
    packet.fill_checksum(&PseudoHeader::v6(src, dst));
    Ok(needed)
}

fn emit_advert(advert: &Advert, vlans: VlanStack, out: &mut [u8]) -> Result<usize, NeighError> {
    let message = NdpRepr::NeighborAdvert {
        flags: advert.flags,
        target_addr: advert.src,
        target_lladdr: advert.with_option.then_some(advert.src_mac),
    };
    emit_ndp_frame(
        advert.eth_dst,
        advert.src_mac,
        vlans,
        advert.src,
        advert.dst,
        &message,
        out,
    )
}

/// Reads a neighbour solicitation or advertisement and, when it solicits an address in
/// `owned`, writes the advertisement answering it into `out` (see the [module](self)).
///
/// Fails with [`NeighError::NotNeighbour`] for other frames and [`NeighError::Invalid`] for
/// messages failing RFC 4861's validity checks. A solicitation is taken as meant for us only
/// if sent to its target or to the target's solicited-node group, the only ones a host
/// owning the target receives.
pub fn answer_ndp(
    frame: &[u8],
    owned: &OwnedAddresses,
    out: &mut [u8],
) -> Result<NdpReceived, NeighError> {
    let ip = match IpFrame::parse(frame) {
        Ok(ip) if ip.version == IpVersion::V6 => ip,
        _ => return Err(NeighError::NotNeighbour),
    };
    let icmp = ip.transport(frame);
    let is_nd = ip.protocol == IpProtocol::ICMPV6
        && ip.fragment == Fragment::Whole
        && matches!(
            icmp.first().map(|&t| Icmpv6Type(t)),
            Some(Icmpv6Type::NEIGHBOR_SOLICIT | Icmpv6Type::NEIGHBOR_ADVERT)
        );
    if !is_nd {
        return Err(NeighError::NotNeighbour);
    }
    let (src, dst) = match (ip.src_addr(frame), ip.dst_addr(frame)) {
        (IpAddr::V6(s), IpAddr::V6(d)) => (s, d),
        _ => return Err(NeighError::NotNeighbour),
    };
    if ip.ttl(frame) != NDP_HOP_LIMIT {
        return Err(NeighError::Invalid("hop limit is not 255"));
    }
    let packet = Icmpv6Packet::new_checked(icmp)?;
    if !packet.verify_checksum(&PseudoHeader::v6(src, dst)) {
        return Err(NeighError::Invalid("bad ICMPv6 checksum"));
    }
    let message = NdpRepr::parse(&packet)?;
    let eth = EthernetFrame::new_checked(frame)?;
    let mut received = NdpReceived {
        src_addr: src,
        dst_multicast: dst.is_multicast(),
        frame_src: eth.src_addr(),
        message,
        solicits_us: false,
        reply_len: None,
    };
    match message {
        NdpRepr::NeighborSolicit {
            target_addr,
            source_lladdr,
        } => {
            if target_addr.is_multicast() {
                return Err(NeighError::Invalid("solicited target is multicast"));
            }
            let dad = src.is_unspecified();
            if dad && (dst != solicited_node(&target_addr) || source_lladdr.is_some()) {
                return Err(NeighError::Invalid("bad duplicate address detection"));
            }
            let Some(mac) = owned.mac_for(&IpAddr::V6(target_addr)) else {
                return Ok(received);
            };
            if dst != target_addr && dst != solicited_node(&target_addr) {
                return Ok(received);
            }
            received.solicits_us = true;
            let router = if owned.router {
                NdpNeighborFlags::ROUTER
            } else {
                NdpNeighborFlags::default()
            };
            let advert = if dad {
                Advert {
                    eth_dst: multicast_mac(&ALL_NODES),
                    src_mac: mac,
                    src: target_addr,
                    dst: ALL_NODES,
                    flags: router | NdpNeighborFlags::OVERRIDE,
                    with_option: true,
                }
            } else {
                let multicast = dst.is_multicast();
                let mut flags = router | NdpNeighborFlags::SOLICITED;
                if multicast {
                    flags = flags | NdpNeighborFlags::OVERRIDE;
                }
                Advert {
                    eth_dst: source_lladdr.unwrap_or(received.frame_src),
                    src_mac: mac,
                    src: target_addr,
                    dst: src,
                    flags,
                    with_option: multicast,
                }
            };
            received.reply_len = Some(emit_advert(&advert, eth.vlans(), out)?);
            Ok(received)
        }
        NdpRepr::NeighborAdvert {
            flags, target_addr, ..
        } => {
            if target_addr.is_multicast() {
                return Err(NeighError::Invalid("advertised target is multicast"));
            }
            if dst.is_multicast() && flags.contains(NdpNeighborFlags::SOLICITED) {
                return Err(NeighError::Invalid("solicited advertisement is multicast"));
            }
            Ok(received)
        }
    }
}

/// Builds the unsolicited advertisement Linux sends for an address that comes up
/// (`ndisc_send_unsol_na`): to all nodes, override set, solicited clear, router flag as
/// given, with the target link-layer address option. Returns the frame length.
pub fn unsolicited_na(
    mac: EthernetAddress,
    ip: Ipv6Addr,
    router: bool,
    vlans: VlanStack,
    out: &mut [u8],
) -> Result<usize, NeighError> {
    let mut flags = NdpNeighborFlags::OVERRIDE;
    if router {
        flags = flags | NdpNeighborFlags::ROUTER;
    }
    let advert = Advert {
        eth_dst: multicast_mac(&ALL_NODES),
        src_mac: mac,
        src: ip,
        dst: ALL_NODES,
        flags,
        with_option: true,
    };
    emit_advert(&advert, vlans, out)
}

/// Builds a neighbour solicitation for `target` from our `src_mac` / `src_ip`
/// (`ndisc_send_ns`): to the target's solicited-node group, or to the target itself at
/// `unicast_to` when re-probing a known neighbour; with our link-layer address option unless
/// the source is unspecified. Returns the frame length.
pub fn neighbour_solicitation(
    src_mac: EthernetAddress,
    src_ip: Ipv6Addr,
    target: Ipv6Addr,
    unicast_to: Option<EthernetAddress>,
    vlans: VlanStack,
    out: &mut [u8],
) -> Result<usize, NeighError> {
    let (dst, eth_dst) = match unicast_to {
        Some(mac) => (target, mac),
        None => {
            let group = solicited_node(&target);
            (group, multicast_mac(&group))
        }
    };
    let message = NdpRepr::NeighborSolicit {
        target_addr: target,
        source_lladdr: (!src_ip.is_unspecified()).then_some(src_mac),
    };
    emit_ndp_frame(eth_dst, src_mac, vlans, src_ip, dst, &message, out)
}

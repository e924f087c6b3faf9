//! The ICMP errors the director answers with (spec §2.3, §7.0.3, §7.0.4): time exceeded,
//! fragmentation needed / packet too big, port unreachable — built as Linux's `__icmp_send`
//! and `icmp6_send` build them.
//!
//! IPv4 (`__icmp_send`):
//! - quotes the offending IP packet from its header on, up to 576 bytes in all: at most
//!   `min(route MTU, 576) − 20 − 8` bytes (548 on any usual link) — not just the header and
//!   8 bytes; nothing is sent when that room is not more than an IP header;
//! - TOS `0xC0 | (tos & 0x1E)` (precedence "internetwork control", the TOS bits kept), TTL 64
//!   (`ip_default_ttl`), DF clear (the ICMP socket does no PMTU discovery), identification
//!   from the caller's [`IpIdCounter`], no IP options (the kernel echoes source-route and
//!   similar options; those are not supported here);
//! - fragmentation needed carries the MTU in the 32 bits after the checksum (`htonl(mtu)`:
//!   the next-hop MTU field of RFC 1191, the unused half zero).
//!
//! IPv6 (`icmp6_send`): quotes up to 1280 bytes in all (at most 1232 of the packet), traffic
//! class 0, hop limit 64. Linux puts an automatic flow label (a hash with a boot-time random
//! key); this crate puts 0.
//!
//! Neither answers what the kernel would not answer ([`IcmpRefusal`]): an ICMP error (over
//! IPv4 also redirects, unassigned and unknown types), an IPv4 fragment other than the first, a packet to a
//! broadcast or multicast address (IPv6: except for packet too big), a packet from an
//! unspecified, multicast, broadcast or loopback source. Rate limiting (`icmp_ratelimit`,
//! `icmp_msgs_per_sec`) is the caller's.

use std::net::IpAddr;

use thiserror::Error;

use super::error::RewriteError;
use super::frame::{Fragment, IpFrame, IpVersion};
use super::tunnel::IpIdCounter;
use super::Forwarding;
use crate::wire::checksum::PseudoHeader;
use crate::wire::{
    icmpv4, icmpv6, ipv4, ipv6, EthernetAddress, EthernetFrame, Icmpv4Packet, Icmpv4Type,
    Icmpv6Packet, Icmpv6Type, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr,
};

/// The most an ICMPv4 error may be, IP header included (RFC 1812 §4.3.2.3, `icmp_send`).
const ICMPV4_MAX_LEN: u32 = 576;
/// The most an ICMPv6 error may be, IPv6 header included (`IPV6_MIN_MTU`).
const ICMPV6_MAX_LEN: usize = 1280;
/// TTL / hop limit of the errors (`net.ipv4.ip_default_ttl`, IPv6 `hop_limit` defaults).
const ERROR_TTL: u8 = 64;
/// `IPTOS_PREC_INTERNETCONTROL`.
const TOS_PREC_INTERNETCONTROL: u8 = 0xC0;
/// `IPTOS_TOS_MASK`.
const TOS_MASK: u8 = 0x1E;
/// The highest ICMPv4 type the kernel knows (`NR_ICMP_TYPES`).
const NR_ICMP_TYPES: u8 = 18;

/// Which error to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpError {
    /// TTL / hop limit exceeded in transit: ICMP type 11 code 0, ICMPv6 type 3 code 0.
    TimeExceeded,
    /// Too big for the path: ICMP type 3 code 4 (fragmentation needed, RFC 1191) with the
    /// next-hop MTU; ICMPv6 type 2 code 0 (packet too big) with the MTU.
    TooBig {
        /// The MTU to report.
        mtu: u32,
    },
    /// No real server: ICMP type 3 code 3; ICMPv6 type 1 code 4 (port unreachable).
    PortUnreachable,
}

/// Which address an error comes from.
///
/// Linux answers from the address the offending packet was sent to when that address is its
/// own (`__icmp_send`: `RTCF_LOCAL`; `icmp6_send`: the address is on the device), otherwise
/// from the address the route back to the sender selects. See [`IcmpSource::linux`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpSource {
    /// The director's address toward the sender (the kernel's route-selected source).
    pub director_addr: IpAddr,
    /// Answer from the address the packet was sent to (the VIP) instead, when it is unicast.
    pub from_packet_destination: bool,
}

impl IcmpSource {
    /// Linux's choice for IPVS, in the usual setup where the VIP is an address of the
    /// interface that receives the clients' traffic. `sent_to_us` says whether the packet
    /// was addressed to the director (to a VIP: a request), rather than forwarded through it
    /// (a NAT reply, addressed to a client).
    ///
    /// - IPv4: from the VIP for every error about a packet sent to it (port unreachable, but
    ///   also time exceeded and fragmentation needed, which IPVS sends while the packet still
    ///   has its local input route); from the director's address otherwise.
    /// - IPv6: port unreachable and packet too big likewise; time exceeded always from the
    ///   director's address: IPVS sets the packet's device to the output device
    ///   (`decrement_ttl`), which does not hold the VIP.
    pub fn linux(
        error: IcmpError,
        packet_is_v6: bool,
        sent_to_us: bool,
        director_addr: IpAddr,
    ) -> IcmpSource {
        let from_vip = sent_to_us && !(packet_is_v6 && error == IcmpError::TimeExceeded);
        IcmpSource {
            director_addr,
            from_packet_destination: from_vip,
        }
    }
}

/// Why no error is sent about a packet, as the kernel decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpRefusal {
    /// The packet is an ICMP error itself (over IPv4: any type but echo, timestamp,
    /// information and address mask ones; or its ICMP header is cut off): errors about errors
    /// are never sent.
    AboutIcmpError,
    /// An IPv4 fragment other than the first.
    NotFirstFragment,
    /// The packet was sent to a broadcast or multicast address (link or IP).
    NotUnicast,
    /// The sender's address is unspecified, multicast, broadcast or loopback.
    BadSource,
    /// The route MTU leaves no room for the quote (IPv4: `min(mtu, 576) − 28 ≤ 20`).
    NoRoom,
}

/// Why [`icmp_error`] built nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum IcmpGenError {
    /// The offending frame cannot be read, an address is of the wrong family, or the output
    /// buffer is too small.
    #[error(transparent)]
    Packet(#[from] RewriteError),
    /// The kernel would not answer this packet.
    #[error("no ICMP error is sent about this packet: {0:?}")]
    Refused(IcmpRefusal),
}

/// Whether an ICMPv4 type counts as an error for the "no error about an error" rule: the
/// kernel's `icmp_pointers[].error` marks destination unreachable, source quench, redirect,
/// time exceeded, parameter problem and the unassigned or obsolete types 1, 2, 6, 7, 9 and
/// 10; any type above 18 (`NR_ICMP_TYPES`) is assumed to be one. Echo (0, 8), timestamp
/// (13, 14), information (15, 16) and address mask (17, 18) are not.
fn icmpv4_type_is_error(msg_type: u8) -> bool {
    msg_type > NR_ICMP_TYPES || !matches!(msg_type, 0 | 8 | 13..=18)
}

/// The kernel's refusals, from the offending packet alone.
fn refusal(frame: &[u8], ip: &IpFrame, error: IcmpError) -> Option<IcmpRefusal> {
    let link_unicast = EthernetFrame::new_checked(frame)
        .map(|eth| !eth.dst_addr().is_multicast())
        .unwrap_or(false);
    let first_byte = ip.transport(frame).first().copied();
    match (ip.src_addr(frame), ip.dst_addr(frame)) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            if !link_unicast || dst.is_multicast() || dst.is_broadcast() {
                return Some(IcmpRefusal::NotUnicast);
            }
            if ip.fragment == Fragment::Later {
                return Some(IcmpRefusal::NotFirstFragment);
            }
            if src.is_unspecified() || src.is_multicast() || src.is_broadcast() || src.is_loopback()
            {
                return Some(IcmpRefusal::BadSource);
            }
            if ip.protocol == IpProtocol::ICMP && first_byte.is_none_or(icmpv4_type_is_error) {
                return Some(IcmpRefusal::AboutIcmpError);
            }
            None
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            let too_big = matches!(error, IcmpError::TooBig { .. });
            if (!link_unicast || dst.is_multicast()) && !too_big {
                return Some(IcmpRefusal::NotUnicast);
            }
            if src.is_unspecified() || src.is_multicast() {
                return Some(IcmpRefusal::BadSource);
            }
            let icmp_error = match first_byte {
                Some(t) => Icmpv6Type(t).is_error(),
                None => ip.fragment != Fragment::Later,
            };
            if ip.protocol == IpProtocol::ICMPV6 && icmp_error {
                return Some(IcmpRefusal::AboutIcmpError);
            }
            None
        }
        _ => None,
    }
}

/// Builds into `out` the ICMP / ICMPv6 error `error` about the packet in `frame`, addressed
/// to its sender, from the address `source` chooses, in a frame with the Ethernet addresses
/// of `fwd` and the VLAN tags of `frame`. `fwd.mtu` is the MTU of the route back to the
/// sender (it bounds the IPv4 quote). Returns the length of the frame written.
pub fn icmp_error(
    frame: &[u8],
    error: IcmpError,
    source: IcmpSource,
    fwd: &Forwarding,
    ids: &mut IpIdCounter,
    out: &mut [u8],
) -> Result<usize, IcmpGenError> {
    let ip = IpFrame::parse(frame)?;
    if let Some(why) = refusal(frame, &ip, error) {
        return Err(IcmpGenError::Refused(why));
    }
    let packet_dst = ip.dst_addr(frame);
    let dst_is_unicast = match packet_dst {
        IpAddr::V4(a) => !a.is_multicast() && !a.is_broadcast(),
        IpAddr::V6(a) => !a.is_multicast(),
    };
    let src = if source.from_packet_destination && dst_is_unicast {
        packet_dst
    } else {
        source.director_addr
    };
    ip.check_family(&src)?;
    let (header_len, quote_room) = match ip.version {
        IpVersion::V4 => {
            let room = (fwd.mtu.min(ICMPV4_MAX_LEN) as usize)
                .saturating_sub(ipv4::MIN_HEADER_LEN + icmpv4::HEADER_LEN);
            if room <= ipv4::MIN_HEADER_LEN {
                return Err(IcmpGenError::Refused(IcmpRefusal::NoRoom));
            }
            (ipv4::MIN_HEADER_LEN, room)
        }
        IpVersion::V6 => (
            ipv6::HEADER_LEN,
            ICMPV6_MAX_LEN - ipv6::HEADER_LEN - icmpv6::HEADER_LEN,
        ),
    };
    let quote = ip.packet(frame);
    let quote = &quote[..quote.len().min(quote_room)];
    let icmp_len = icmpv4::HEADER_LEN + quote.len();
    let needed = ip.l3 + header_len + icmp_len;
    if out.len() < needed {
        return Err(RewriteError::BufferTooSmall { needed }.into());
    }
    let out = &mut out[..needed];
    write_link_header(frame, &ip, fwd, out);
    let (ip_out, icmp_out) = out[ip.l3..].split_at_mut(header_len);
    icmp_out[icmpv4::HEADER_LEN..].copy_from_slice(quote);
    match (src, ip.src_addr(frame)) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let tos = TOS_PREC_INTERNETCONTROL | (ip.ds_field(frame) & TOS_MASK);
            Ipv4Repr {
                src_addr: src,
                dst_addr: dst,
                protocol: IpProtocol::ICMP,
                payload_len: icmp_len,
                ttl: ERROR_TTL,
                tos,
                ident: ids.next_id(),
                dont_frag: false,
                more_frags: false,
                frag_offset: 0,
            }
            .emit(&mut Ipv4Packet::new_unchecked(ip_out))
            .map_err(RewriteError::from)?;
            let (msg_type, code, info) = match error {
                IcmpError::TimeExceeded => {
                    (Icmpv4Type::TIME_EXCEEDED, icmpv4::code::TTL_EXCEEDED, 0)
                }
                IcmpError::TooBig { mtu } => {
                    (Icmpv4Type::DEST_UNREACHABLE, icmpv4::code::FRAG_NEEDED, mtu)
                }
                IcmpError::PortUnreachable => (
                    Icmpv4Type::DEST_UNREACHABLE,
                    icmpv4::code::PORT_UNREACHABLE,
                    0,
                ),
            };
            let mut icmp = Icmpv4Packet::new_unchecked(icmp_out);
            icmp.set_msg_type(msg_type);
            icmp.set_msg_code(code);
            icmp.set_rest_of_header(info);
            icmp.set_checksum(0);
            icmp.fill_checksum();
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            Ipv6Repr {
                src_addr: src,
                dst_addr: dst,
                next_header: IpProtocol::ICMPV6,
                payload_len: icmp_len,
                hop_limit: ERROR_TTL,
                traffic_class: 0,
                flow_label: 0,
            }
            .emit(&mut Ipv6Packet::new_unchecked(ip_out))
            .map_err(RewriteError::from)?;
            let (msg_type, code, info) = match error {
                IcmpError::TimeExceeded => (
                    Icmpv6Type::TIME_EXCEEDED,
                    icmpv6::code::HOP_LIMIT_EXCEEDED,
                    0,
                ),
                IcmpError::TooBig { mtu } => (Icmpv6Type::PACKET_TOO_BIG, 0, mtu),
                IcmpError::PortUnreachable => (
                    Icmpv6Type::DEST_UNREACHABLE,
                    icmpv6::code::PORT_UNREACHABLE,
                    0,
                ),
            };
            let mut icmp = Icmpv6Packet::new_unchecked(icmp_out);
            icmp.set_msg_type(msg_type);
            icmp.set_msg_code(code);
            icmp.set_rest_of_header(info);
            icmp.set_checksum(0);
            icmp.fill_checksum(&PseudoHeader::v6(src, dst));
        }
        _ => return Err(RewriteError::FamilyMismatch.into()),
    }
    Ok(needed)
}

/// Copies the Ethernet header of `frame` (VLAN tags included) into `out`, with the
/// addresses of `fwd` and the EtherType of `ip`'s family.
fn write_link_header(frame: &[u8], ip: &IpFrame, fwd: &Forwarding, out: &mut [u8]) {
    if let (Some(src), Some(dst)) = (frame.get(..ip.l3), out.get_mut(..ip.l3)) {
        dst.copy_from_slice(src);
        let mut eth = EthernetFrame::new_unchecked(dst);
        eth.set_src_addr(fwd.src_mac);
        eth.set_dst_addr(fwd.dst_mac);
        eth.set_inner_ethertype(ip.version.ethertype());
    }
}

/// The [`Forwarding`] of an answer going back where `frame` came from: from `our_mac` to the
/// frame's source address, on a route of MTU `mtu`.
pub fn reply_forwarding(frame: &[u8], our_mac: EthernetAddress, mtu: u32) -> Option<Forwarding> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    Some(Forwarding {
        src_mac: our_mac,
        dst_mac: eth.src_addr(),
        mtu,
    })
}

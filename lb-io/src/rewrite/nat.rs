//! NAT / masquerading (spec §7.1): requests get the real server's address and port, replies
//! the virtual service's, in place.
//!
//! The transport checksum follows both the port and the address (which TCP and UDP cover
//! through their pseudo-header), as the kernel's `tcp_/udp_/sctp_{s,d}nat_handler` do:
//! - TCP: RFC 1624 incremental update;
//! - UDP: incremental update; a datagram sent without checksum (0) gets a full checksum, a
//!   computed 0 being sent as `0xFFFF` (quirk 21); the first fragment of a datagram without
//!   checksum keeps 0, since it cannot be summed whole;
//! - SCTP: its CRC32c does not cover addresses and is recomputed over the packet only when
//!   the port really changes; a first fragment whose port changes cannot be rewritten
//!   ([`RewriteError::NeedsReassembly`]);
//! - a non-first fragment has no transport header: only its address changes.
//!
//! Other transport protocols are refused ([`RewriteError::UnsupportedProtocol`]).

use std::net::IpAddr;

use super::error::RewriteError;
use super::frame::{set_macs, Fragment, IpFrame, IpVersion};
use super::transport::{self, PortSide};
use super::Forwarding;
use crate::wire::{self, checksum, ipv4, tcp, IpProtocol};

/// An address and port NAT writes into a packet: the real server's for a request
/// ([`nat_in`]), the virtual service's for a reply ([`nat_out`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatTarget {
    /// The new address (same family as the packet).
    pub addr: IpAddr,
    /// The new port.
    pub port: u16,
}

/// Rewrites a client's request to a NAT real server, in place (`ip_vs_nat_xmit`): TTL / hop
/// limit − 1, then the MTU check, then destination address → `target.addr` and destination
/// port → `target.port` with the checksum rules of the [module](self), the IPv4 header
/// checksum updated, and the Ethernet addresses of `fwd`.
///
/// Returns the length of the frame to send (the Ethernet header and the IP packet, without
/// link padding). On [`RewriteError::TooBig`] the TTL has already been decremented, as in the
/// kernel, whose ICMP error quotes the packet at that point; on every other error the frame
/// is untouched.
pub fn nat_in(
    frame: &mut [u8],
    target: NatTarget,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    let ip = IpFrame::parse(frame)?;
    nat_in_parsed(frame, &ip, target, fwd)
}

/// [`nat_in`] of a frame already parsed into `ip` (by the packet path, which read it).
#[inline(always)]
pub(crate) fn nat_in_parsed(
    frame: &mut [u8],
    ip: &IpFrame,
    target: NatTarget,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    match nat_ipv4_tcp(frame, ip, Direction::In, target, fwd) {
        Some(done) => done,
        None => nat_in_general(frame, ip, target, fwd),
    }
}

/// [`nat_in_parsed`] for any packet, one step at a time.
fn nat_in_general(
    frame: &mut [u8],
    ip: &IpFrame,
    target: NatTarget,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    let ip = *ip;
    ip.check_family(&target.addr)?;
    transport::check(frame, &ip, PortSide::Dst, target.port)?;
    ip.check_ttl(frame)?;
    ip.decrement_ttl(frame);
    ip.check_mtu(frame, fwd.mtu, false)?;
    let old = ip.dst_addr(frame);
    ip.set_dst_addr(frame, target.addr);
    transport::rewrite(frame, &ip, PortSide::Dst, target.port, &old, &target.addr);
    set_macs(frame, fwd.src_mac, fwd.dst_mac);
    Ok(ip.end())
}

/// Rewrites a NAT real server's reply to the client, in place (`handle_response` after the
/// kernel's `ip_forward`): the TTL check, the MTU check, TTL / hop limit − 1, then source
/// address → `vip.addr` and source port → `vip.port` with the same checksum rules as
/// [`nat_in`], and the Ethernet addresses of `fwd`.
///
/// The order is the forwarding path's, so on [`RewriteError::TooBig`] the frame is untouched
/// (the kernel's ICMP error then quotes the TTL as received); on every error the frame is
/// untouched.
pub fn nat_out(frame: &mut [u8], vip: NatTarget, fwd: &Forwarding) -> Result<usize, RewriteError> {
    let ip = IpFrame::parse(frame)?;
    nat_out_parsed(frame, &ip, vip, fwd)
}

/// [`nat_out`] of a frame already parsed into `ip` (by the packet path, which read it).
#[inline(always)]
pub(crate) fn nat_out_parsed(
    frame: &mut [u8],
    ip: &IpFrame,
    vip: NatTarget,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    match nat_ipv4_tcp(frame, ip, Direction::Out, vip, fwd) {
        Some(done) => done,
        None => nat_out_general(frame, ip, vip, fwd),
    }
}

/// [`nat_out_parsed`] for any packet, one step at a time.
fn nat_out_general(
    frame: &mut [u8],
    ip: &IpFrame,
    vip: NatTarget,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    let ip = *ip;
    ip.check_family(&vip.addr)?;
    transport::check(frame, &ip, PortSide::Src, vip.port)?;
    ip.check_ttl(frame)?;
    ip.check_mtu(frame, fwd.mtu, false)?;
    ip.decrement_ttl(frame);
    let old = ip.src_addr(frame);
    ip.set_src_addr(frame, vip.addr);
    transport::rewrite(frame, &ip, PortSide::Src, vip.port, &old, &vip.addr);
    set_macs(frame, fwd.src_mac, fwd.dst_mac);
    Ok(ip.end())
}

/// Which way a NAT rewrite goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// A request: the destination changes; the TTL is decremented before the MTU check.
    In,
    /// A reply: the source changes; the TTL is decremented after the MTU check.
    Out,
}

/// The NAT rewrite of the common case, an IPv4 TCP segment (not a later fragment) given an
/// IPv4 target, in one pass over fixed-size views of the two headers: the same checks in
/// the same order as the general path ([`transport::check`], the TTL, the MTU), then the
/// TTL, the address and the port written and both checksums updated with one RFC 1624
/// sum each (the same value as the general path's successive updates: one's-complement
/// addition is associative). `None` for any other packet (or a frame whose headers are
/// not where the parse put them, which does not happen), left to the general path.
#[inline(always)]
fn nat_ipv4_tcp(
    frame: &mut [u8],
    ip: &IpFrame,
    direction: Direction,
    target: NatTarget,
    fwd: &Forwarding,
) -> Option<Result<usize, RewriteError>> {
    let IpAddr::V4(new_addr) = target.addr else {
        return None;
    };
    if ip.version != IpVersion::V4 || ip.protocol != IpProtocol::TCP {
        return None;
    }
    if ip.fragment == Fragment::Later {
        return None;
    }
    let end = ip.end();
    let (head, segment) = frame.get_mut(..end)?.split_at_mut_checked(ip.l4)?;
    let (macs, rest) = head.split_first_chunk_mut::<12>()?;
    let header = rest
        .get_mut(ip.l3 - 12..)?
        .first_chunk_mut::<{ ipv4::MIN_HEADER_LEN }>()?;

    // The transport check: the TCP header, options included, in the segment.
    let Some(tcp_header) = segment.first_chunk_mut::<{ tcp::MIN_HEADER_LEN }>() else {
        return Some(Err(wire::Error::Truncated.into()));
    };
    let tcp_header_len = usize::from(tcp_header[12] >> 4) * 4;
    if tcp_header_len < tcp::MIN_HEADER_LEN {
        return Some(Err(wire::Error::Malformed.into()));
    }
    if end - ip.l4 < tcp_header_len {
        return Some(Err(wire::Error::Truncated.into()));
    }

    let ttl = header[8];
    if ttl <= 1 {
        return Some(Err(RewriteError::TtlExceeded));
    }
    let proto = u16::from(header[9]);
    let ttl_word = (u16::from(ttl) << 8) | proto;
    let new_ttl_word = (u16::from(ttl - 1) << 8) | proto;
    let ip_checksum = u16::from_be_bytes([header[10], header[11]]);
    if ip.ip_len as u64 > u64::from(fwd.mtu) {
        if direction == Direction::In {
            // The kernel decrements the TTL before this check: its ICMP error quotes it.
            header[8] = ttl - 1;
            let c = checksum::update_word(ip_checksum, ttl_word, new_ttl_word);
            header[10..12].copy_from_slice(&c.to_be_bytes());
        }
        let dont_frag = header[6] & 0x40 != 0;
        return Some(Err(if dont_frag {
            RewriteError::TooBig {
                mtu: fwd.mtu,
                icmp: true,
            }
        } else {
            RewriteError::NeedsFragmenting { mtu: fwd.mtu }
        }));
    }

    let (addr_at, port_at) = match direction {
        Direction::In => (16, 2),
        Direction::Out => (12, 0),
    };
    let old_addr = u32::from_be_bytes([
        header[addr_at],
        header[addr_at + 1],
        header[addr_at + 2],
        header[addr_at + 3],
    ]);
    let new_addr = new_addr.to_bits();
    header[8] = ttl - 1;
    header[addr_at..addr_at + 4].copy_from_slice(&new_addr.to_be_bytes());
    let ip_checksum =
        checksum::update_word_and_u32(ip_checksum, (ttl_word, new_ttl_word), (old_addr, new_addr));
    header[10..12].copy_from_slice(&ip_checksum.to_be_bytes());

    let old_port = u16::from_be_bytes([tcp_header[port_at], tcp_header[port_at + 1]]);
    tcp_header[port_at..port_at + 2].copy_from_slice(&target.port.to_be_bytes());
    let tcp_checksum = u16::from_be_bytes([tcp_header[16], tcp_header[17]]);
    let tcp_checksum =
        checksum::update_word_and_u32(tcp_checksum, (old_port, target.port), (old_addr, new_addr));
    tcp_header[16..18].copy_from_slice(&tcp_checksum.to_be_bytes());

    let (dst_mac, src_mac) = macs.split_at_mut(6);
    dst_mac.copy_from_slice(&fwd.dst_mac.0);
    src_mac.copy_from_slice(&fwd.src_mac.0);
    Some(Ok(end))
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::wire::EthernetAddress;

    /// An Ethernet + IPv4 (with `options` bytes of options) + TCP frame, both checksums
    /// right, then link padding.
    fn frame(ttl: u8, flags_frag: u16, options: usize, tcp_header_len: usize) -> Vec<u8> {
        let ip_header_len = 20 + options;
        // A header of 44 announced in a segment of 30: cut short.
        let tcp_len = if tcp_header_len == 44 {
            30
        } else {
            tcp_header_len.max(20) + 5
        };
        let total = ip_header_len + tcp_len;
        let mut f = vec![0u8; 14 + total + 6];
        f[..12].copy_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[14..14 + ip_header_len];
        ip[0] = 0x40 | (ip_header_len / 4) as u8;
        ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        ip[6..8].copy_from_slice(&flags_frag.to_be_bytes());
        ip[8] = ttl;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&[198, 18, 0, 10]);
        ip[16..20].copy_from_slice(&[198, 18, 1, 1]);
        for (i, b) in ip[20..].iter_mut().enumerate() {
            *b = 1 + i as u8;
        }
        let sum = checksum::checksum(ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let seg = &mut f[14 + ip_header_len..14 + total];
        seg[..4].copy_from_slice(&[0x9c, 0x40, 0x00, 0x50]);
        seg[4..8].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        seg[12] = ((tcp_header_len / 4) as u8) << 4;
        seg[13] = 0x10;
        for (i, b) in seg[14..].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37);
        }
        seg[16..18].copy_from_slice(&[0, 0]);
        let pseudo =
            checksum::PseudoHeader::v4(Ipv4Addr::new(198, 18, 0, 10), Ipv4Addr::new(198, 18, 1, 1));
        let sum = checksum::transport_checksum(&pseudo, IpProtocol::TCP, seg, 16);
        seg[16..18].copy_from_slice(&sum.to_be_bytes());
        f
    }

    /// The one-pass IPv4 TCP rewrite gives what the step-by-step path gives — result and
    /// every byte of the frame — for TTLs around the limit, DF on and off, first fragments,
    /// IP options, TCP headers malformed, cut short or with options, MTUs on both sides of the
    /// packet's size, both directions, and addresses and ports that carry through the
    /// one's-complement sums.
    #[test]
    fn one_pass_ipv4_tcp_equals_the_general_path() {
        let fwd = |mtu| Forwarding {
            src_mac: EthernetAddress([2, 0xd1, 0, 0, 0, 1]),
            dst_mac: EthernetAddress([2, 0x6a, 0, 0, 0, 9]),
            mtu,
        };
        let targets = [
            NatTarget {
                addr: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 21)),
                port: 8080,
            },
            NatTarget {
                addr: IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
                port: 0xFFFF,
            },
            NatTarget {
                addr: IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)),
                port: 0,
            },
        ];
        let mut cases = 0;
        for ttl in [0, 1, 2, 64, 255] {
            for flags_frag in [0x0000, 0x4000, 0x2000, 0x6000] {
                for options in [0, 4, 40] {
                    for tcp_header_len in [16, 20, 32, 44, 60] {
                        for mtu in [40, 64, 68, 1500] {
                            for target in targets {
                                let original = frame(ttl, flags_frag, options, tcp_header_len);
                                let ip = IpFrame::parse(&original).unwrap();
                                let fwd = fwd(mtu);
                                let (mut a, mut b) = (original.clone(), original.clone());
                                let fast = nat_ipv4_tcp(&mut a, &ip, Direction::In, target, &fwd);
                                let general = nat_in_general(&mut b, &ip, target, &fwd);
                                assert_eq!(
                                    fast,
                                    Some(general),
                                    "in {ttl} {flags_frag:#x} {options} {tcp_header_len} {mtu}"
                                );
                                assert_eq!(a, b);
                                let (mut a, mut b) = (original.clone(), original.clone());
                                let fast = nat_ipv4_tcp(&mut a, &ip, Direction::Out, target, &fwd);
                                let general = nat_out_general(&mut b, &ip, target, &fwd);
                                assert_eq!(
                                    fast,
                                    Some(general),
                                    "out {ttl} {flags_frag:#x} {options} {tcp_header_len} {mtu}"
                                );
                                assert_eq!(a, b);
                                cases += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(cases, 5 * 4 * 3 * 5 * 4 * 3);
    }

    /// Packets the one-pass rewrite does not take: later fragments, other protocols, IPv6
    /// targets, IPv6 packets.
    #[test]
    fn one_pass_leaves_other_packets_to_the_general_path() {
        let fwd = Forwarding {
            src_mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
            mtu: 1500,
        };
        let v4 = NatTarget {
            addr: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 21)),
            port: 8080,
        };
        let v6 = NatTarget {
            addr: "2001:db8::21".parse().unwrap(),
            port: 8080,
        };
        let mut later = frame(64, 0x0010, 0, 20);
        let ip = IpFrame::parse(&later).unwrap();
        assert_eq!(nat_ipv4_tcp(&mut later, &ip, Direction::In, v4, &fwd), None);
        let mut udp = frame(64, 0, 0, 20);
        udp[14 + 9] = 17;
        let sum = checksum::checksum(&{
            let mut h = udp[14..34].to_vec();
            h[10..12].copy_from_slice(&[0, 0]);
            h
        });
        udp[24..26].copy_from_slice(&sum.to_be_bytes());
        let ip = IpFrame::parse(&udp).unwrap();
        assert_eq!(nat_ipv4_tcp(&mut udp, &ip, Direction::In, v4, &fwd), None);
        let mut tcp = frame(64, 0, 0, 20);
        let before = tcp.clone();
        let ip = IpFrame::parse(&tcp).unwrap();
        assert_eq!(nat_ipv4_tcp(&mut tcp, &ip, Direction::Out, v6, &fwd), None);
        assert_eq!(tcp, before);
    }
}

//! Where the IP and transport headers of an Ethernet frame are, found once per rewrite, and
//! the IP-level edits every method shares: TTL, addresses, the MTU check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::error::RewriteError;
use crate::wire::{self, checksum, ethernet, ipv4, ipv6};
use crate::wire::{EtherType, EthernetAddress, IpProtocol, Ipv4Packet, Ipv6Packet};

/// The IP version of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IpVersion {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

impl IpVersion {
    /// The version of an address.
    pub(crate) fn of(addr: &IpAddr) -> IpVersion {
        match addr {
            IpAddr::V4(_) => IpVersion::V4,
            IpAddr::V6(_) => IpVersion::V6,
        }
    }

    /// The EtherType of packets of this version.
    pub(crate) fn ethertype(self) -> EtherType {
        match self {
            IpVersion::V4 => EtherType::IPV4,
            IpVersion::V6 => EtherType::IPV6,
        }
    }
}

/// Which piece of a fragmented datagram a packet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fragment {
    /// A whole datagram (an IPv6 "atomic fragment", offset 0 without more fragments, is one).
    Whole,
    /// The first fragment: it has the transport header but not all of the payload.
    First,
    /// A later fragment: no transport header.
    Later,
}

/// The layout of an IP packet in an Ethernet frame. Every offset counts from the start of
/// the frame, and every one of them was checked to lie in the frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IpFrame {
    /// IP version.
    pub version: IpVersion,
    /// Where the IP header starts (after the Ethernet header and VLAN tags).
    pub l3: usize,
    /// The IP packet's length (total length, or 40 + payload length).
    pub ip_len: usize,
    /// The transport protocol (for IPv6, after the extension headers).
    pub protocol: IpProtocol,
    /// Where the transport header starts (for a later fragment, where its data starts).
    pub l4: usize,
    /// Fragment status.
    pub fragment: Fragment,
}

impl IpFrame {
    /// Finds the IP packet in `frame`: Ethernet (up to two VLAN tags), then IPv4 with a
    /// correct header checksum, or IPv6 whose extension headers are walked to the transport
    /// header.
    #[inline]
    pub(crate) fn parse(frame: &[u8]) -> Result<IpFrame, RewriteError> {
        let (ethertype, l3) = ethernet_layout(frame)?;
        IpFrame::parse_ip(frame, ethertype, l3)
    }

    /// [`parse`](Self::parse) after the Ethernet header was read by [`ethernet_layout`]:
    /// the payload of EtherType `ethertype` starts at `l3`.
    #[inline]
    pub(crate) fn parse_ip(
        frame: &[u8],
        ethertype: EtherType,
        l3: usize,
    ) -> Result<IpFrame, RewriteError> {
        let rest = frame.get(l3..).unwrap_or(&[]);
        if ethertype == EtherType::IPV4 {
            parse_ipv4(rest, l3)
        } else if ethertype == EtherType::IPV6 {
            let ip = Ipv6Packet::new_checked(rest)?;
            let transport = ip.transport()?;
            let fragment = match transport.fragment {
                None => Fragment::Whole,
                Some(f) if !f.is_first() => Fragment::Later,
                Some(f) if f.more_frags => Fragment::First,
                Some(_) => Fragment::Whole,
            };
            Ok(IpFrame {
                version: IpVersion::V6,
                l3,
                ip_len: crate::wire::ipv6::HEADER_LEN + usize::from(ip.payload_len()),
                protocol: transport.protocol,
                l4: l3 + transport.offset,
                fragment,
            })
        } else {
            Err(RewriteError::NotIp)
        }
    }

    /// The first 20 bytes of the IPv4 header (`None` for IPv6, never for a parsed IPv4
    /// frame): fixed offsets read without bounds checks.
    #[inline]
    fn v4_header<'a>(&self, frame: &'a [u8]) -> Option<&'a [u8; ipv4::MIN_HEADER_LEN]> {
        match self.version {
            IpVersion::V4 => frame.get(self.l3..)?.first_chunk(),
            IpVersion::V6 => None,
        }
    }

    /// [`v4_header`](Self::v4_header), mutable.
    #[inline]
    fn v4_header_mut<'a>(&self, frame: &'a mut [u8]) -> Option<&'a mut [u8; ipv4::MIN_HEADER_LEN]> {
        match self.version {
            IpVersion::V4 => frame.get_mut(self.l3..)?.first_chunk_mut(),
            IpVersion::V6 => None,
        }
    }

    /// The fixed IPv6 header (`None` for IPv4, never for a parsed IPv6 frame).
    #[inline]
    fn v6_header<'a>(&self, frame: &'a [u8]) -> Option<&'a [u8; ipv6::HEADER_LEN]> {
        match self.version {
            IpVersion::V6 => frame.get(self.l3..)?.first_chunk(),
            IpVersion::V4 => None,
        }
    }

    /// [`v6_header`](Self::v6_header), mutable.
    #[inline]
    fn v6_header_mut<'a>(&self, frame: &'a mut [u8]) -> Option<&'a mut [u8; ipv6::HEADER_LEN]> {
        match self.version {
            IpVersion::V6 => frame.get_mut(self.l3..)?.first_chunk_mut(),
            IpVersion::V4 => None,
        }
    }

    /// Where the IP packet ends: the frame's length without link padding.
    #[inline]
    pub(crate) fn end(&self) -> usize {
        self.l3 + self.ip_len
    }

    /// The IP packet.
    #[inline]
    pub(crate) fn packet<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        frame.get(self.l3..self.end()).unwrap_or(&[])
    }

    /// The transport header and payload (for a later fragment, its data).
    #[inline]
    pub(crate) fn transport<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        frame.get(self.l4..self.end()).unwrap_or(&[])
    }

    /// The transport header and payload, mutable.
    #[inline]
    pub(crate) fn transport_mut<'a>(&self, frame: &'a mut [u8]) -> &'a mut [u8] {
        let end = self.end();
        frame.get_mut(self.l4..end).unwrap_or(&mut [])
    }

    /// The source address.
    #[inline]
    pub(crate) fn src_addr(&self, frame: &[u8]) -> IpAddr {
        if let Some(h) = self.v4_header(frame) {
            IpAddr::V4(Ipv4Packet::new_unchecked(&h[..]).src_addr())
        } else if let Some(h) = self.v6_header(frame) {
            IpAddr::V6(Ipv6Packet::new_unchecked(&h[..]).src_addr())
        } else {
            unspecified(self.version)
        }
    }

    /// The destination address.
    #[inline]
    pub(crate) fn dst_addr(&self, frame: &[u8]) -> IpAddr {
        if let Some(h) = self.v4_header(frame) {
            IpAddr::V4(Ipv4Packet::new_unchecked(&h[..]).dst_addr())
        } else if let Some(h) = self.v6_header(frame) {
            IpAddr::V6(Ipv6Packet::new_unchecked(&h[..]).dst_addr())
        } else {
            unspecified(self.version)
        }
    }

    /// TTL or hop limit.
    #[inline]
    pub(crate) fn ttl(&self, frame: &[u8]) -> u8 {
        if let Some(h) = self.v4_header(frame) {
            Ipv4Packet::new_unchecked(&h[..]).ttl()
        } else if let Some(h) = self.v6_header(frame) {
            Ipv6Packet::new_unchecked(&h[..]).hop_limit()
        } else {
            0
        }
    }

    /// The IPv4 DF flag (false for IPv6).
    #[inline]
    pub(crate) fn dont_frag(&self, frame: &[u8]) -> bool {
        self.v4_header(frame)
            .is_some_and(|h| Ipv4Packet::new_unchecked(&h[..]).dont_frag())
    }

    /// The DS field: IPv4 TOS or IPv6 traffic class.
    #[inline]
    pub(crate) fn ds_field(&self, frame: &[u8]) -> u8 {
        if let Some(h) = self.v4_header(frame) {
            Ipv4Packet::new_unchecked(&h[..]).tos()
        } else if let Some(h) = self.v6_header(frame) {
            Ipv6Packet::new_unchecked(&h[..]).traffic_class()
        } else {
            0
        }
    }

    /// Whether the packet is an ICMP / ICMPv6 error of the kinds IPVS relates to connections
    /// (spec §7.6): the kernel forwards those without ever answering them.
    #[inline]
    pub(crate) fn is_related_icmp_error(&self, frame: &[u8]) -> bool {
        if self.fragment == Fragment::Later {
            return false;
        }
        let Some(&msg_type) = self.transport(frame).first() else {
            return false;
        };
        match (self.version, self.protocol) {
            (IpVersion::V4, IpProtocol::ICMP) => is_related_icmpv4_type(msg_type),
            (IpVersion::V6, IpProtocol::ICMPV6) => is_related_icmpv6_type(msg_type),
            _ => false,
        }
    }

    /// Fails with [`RewriteError::FamilyMismatch`] unless `addr` is of the packet's family.
    #[inline]
    pub(crate) fn check_family(&self, addr: &IpAddr) -> Result<(), RewriteError> {
        if IpVersion::of(addr) == self.version {
            Ok(())
        } else {
            Err(RewriteError::FamilyMismatch)
        }
    }

    /// The kernel's TTL check before forwarding: TTL / hop limit ≤ 1 cannot be forwarded.
    #[inline]
    pub(crate) fn check_ttl(&self, frame: &[u8]) -> Result<(), RewriteError> {
        if self.ttl(frame) <= 1 {
            Err(RewriteError::TtlExceeded)
        } else {
            Ok(())
        }
    }

    /// Decrements the TTL (updating the IPv4 header checksum, RFC 1624) or the hop limit.
    /// Call after [`check_ttl`](Self::check_ttl).
    #[inline]
    pub(crate) fn decrement_ttl(&self, frame: &mut [u8]) {
        if let Some(h) = self.v4_header_mut(frame) {
            let mut ip = Ipv4Packet::new_unchecked(&mut h[..]);
            let ttl = ip.ttl();
            let new = ttl.saturating_sub(1);
            let proto = u16::from(ip.protocol().0);
            let old_word = (u16::from(ttl) << 8) | proto;
            let new_word = (u16::from(new) << 8) | proto;
            ip.set_ttl(new);
            ip.set_checksum(checksum::update_word(ip.checksum(), old_word, new_word));
        } else if let Some(h) = self.v6_header_mut(frame) {
            let mut ip = Ipv6Packet::new_unchecked(&mut h[..]);
            let hop = ip.hop_limit();
            ip.set_hop_limit(hop.saturating_sub(1));
        }
    }

    /// The kernel's MTU check for a packet leaving on a route of MTU `mtu` (spec §7.0.4,
    /// `ensure_mtu_is_adequate`): IPv4 with DF and IPv6 bigger than `mtu` are refused, with an
    /// ICMP answer except for non-first IPv6 fragments; IPv4 without DF is to be fragmented.
    /// An ICMP error being relayed (`relaying_icmp`) is never answered: over IPv4 the kernel
    /// even lets it through, to be fragmented.
    #[inline]
    pub(crate) fn check_mtu(
        &self,
        frame: &[u8],
        mtu: u32,
        relaying_icmp: bool,
    ) -> Result<(), RewriteError> {
        if self.ip_len as u64 <= u64::from(mtu) {
            return Ok(());
        }
        match self.version {
            IpVersion::V4 if self.dont_frag(frame) && !relaying_icmp => {
                Err(RewriteError::TooBig { mtu, icmp: true })
            }
            IpVersion::V4 => Err(RewriteError::NeedsFragmenting { mtu }),
            IpVersion::V6 => Err(RewriteError::TooBig {
                mtu,
                icmp: !relaying_icmp && self.fragment != Fragment::Later,
            }),
        }
    }

    /// Sets the destination address (updating the IPv4 header checksum).
    /// The address must be of the packet's family ([`check_family`](Self::check_family)).
    #[inline]
    pub(crate) fn set_dst_addr(&self, frame: &mut [u8], addr: IpAddr) {
        match addr {
            IpAddr::V4(new) => {
                if let Some(h) = self.v4_header_mut(frame) {
                    let mut ip = Ipv4Packet::new_unchecked(&mut h[..]);
                    let old = ip.dst_addr();
                    ip.set_dst_addr(new);
                    ip.set_checksum(checksum::update_ipv4_addr(ip.checksum(), old, new));
                }
            }
            IpAddr::V6(new) => {
                if let Some(h) = self.v6_header_mut(frame) {
                    Ipv6Packet::new_unchecked(&mut h[..]).set_dst_addr(new);
                }
            }
        }
    }

    /// Sets the source address (updating the IPv4 header checksum).
    /// The address must be of the packet's family ([`check_family`](Self::check_family)).
    #[inline]
    pub(crate) fn set_src_addr(&self, frame: &mut [u8], addr: IpAddr) {
        match addr {
            IpAddr::V4(new) => {
                if let Some(h) = self.v4_header_mut(frame) {
                    let mut ip = Ipv4Packet::new_unchecked(&mut h[..]);
                    let old = ip.src_addr();
                    ip.set_src_addr(new);
                    ip.set_checksum(checksum::update_ipv4_addr(ip.checksum(), old, new));
                }
            }
            IpAddr::V6(new) => {
                if let Some(h) = self.v6_header_mut(frame) {
                    Ipv6Packet::new_unchecked(&mut h[..]).set_src_addr(new);
                }
            }
        }
    }
}

/// The unspecified address of a version (what an accessor answers for a frame it was not
/// given by a parse, which never happens on the path).
fn unspecified(version: IpVersion) -> IpAddr {
    match version {
        IpVersion::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpVersion::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// Reads the Ethernet header as [`EthernetFrame::check_len`] checks it and
/// [`EthernetFrame::inner_ethertype`] reads it, in one pass: the EtherType of the payload
/// and where the payload starts (14, 18 or 22).
#[inline]
pub(crate) fn ethernet_layout(frame: &[u8]) -> Result<(EtherType, usize), wire::Error> {
    let Some(head) = frame.first_chunk::<{ ethernet::HEADER_LEN }>() else {
        return Err(wire::Error::Truncated);
    };
    let mut type_at = ethernet::HEADER_LEN - 2;
    let mut ethertype = EtherType(u16::from_be_bytes([head[12], head[13]]));
    for _ in 0..ethernet::MAX_VLAN_TAGS {
        if !ethertype.is_vlan_tag() {
            break;
        }
        type_at += ethernet::VLAN_TAG_LEN;
        match frame.get(type_at..type_at + 2) {
            Some(&[hi, lo]) => ethertype = EtherType(u16::from_be_bytes([hi, lo])),
            _ => return Err(wire::Error::Truncated),
        }
    }
    Ok((ethertype, type_at + 2))
}

/// The IPv4 packet at the start of `rest` (found at `l3` in the frame): the checks of
/// [`Ipv4Packet::new_checked`] in its order, then the header checksum (`ip_rcv`).
#[inline]
fn parse_ipv4(rest: &[u8], l3: usize) -> Result<IpFrame, RewriteError> {
    let Some(fixed) = rest.first_chunk::<{ ipv4::MIN_HEADER_LEN }>() else {
        return Err(wire::Error::Truncated.into());
    };
    let ip = Ipv4Packet::new_unchecked(&fixed[..]);
    if ip.version() != 4 {
        return Err(wire::Error::Malformed.into());
    }
    let header_len = ip.header_len();
    if header_len < ipv4::MIN_HEADER_LEN {
        return Err(wire::Error::Malformed.into());
    }
    let Some(header) = rest.get(..header_len) else {
        return Err(wire::Error::Truncated.into());
    };
    let total_len = usize::from(ip.total_len());
    if total_len < header_len {
        return Err(wire::Error::Malformed.into());
    }
    if rest.len() < total_len {
        return Err(wire::Error::Truncated.into());
    }
    let checksum_ok = if header_len == ipv4::MIN_HEADER_LEN {
        checksum::sum_array(fixed) == 0xFFFF
    } else {
        checksum::is_valid(header)
    };
    if !checksum_ok {
        return Err(RewriteError::BadHeaderChecksum);
    }
    let fragment = if !ip.is_fragment() {
        Fragment::Whole
    } else if ip.frag_offset() == 0 {
        Fragment::First
    } else {
        Fragment::Later
    };
    Ok(IpFrame {
        version: IpVersion::V4,
        l3,
        ip_len: total_len,
        protocol: ip.protocol(),
        l4: l3 + header_len,
        fragment,
    })
}

/// Sets the Ethernet source and destination addresses of a frame (checked by
/// [`IpFrame::parse`] to hold an Ethernet header): its first 12 bytes.
#[inline]
pub(crate) fn set_macs(frame: &mut [u8], src: EthernetAddress, dst: EthernetAddress) {
    if let Some(macs) = frame.first_chunk_mut::<12>() {
        let (d, s) = macs.split_at_mut(6);
        d.copy_from_slice(&dst.0);
        s.copy_from_slice(&src.0);
    }
}

/// Sets the Ethernet destination address of a frame that holds an Ethernet header (one a
/// rewrite made ready, or one built): its first 6 bytes, if the frame has a header.
#[inline]
pub(crate) fn set_dst_mac(frame: &mut [u8], dst: EthernetAddress) {
    if frame.len() >= ethernet::HEADER_LEN {
        if let Some(d) = frame.first_chunk_mut::<6>() {
            *d = dst.0;
        }
    }
}

/// The big-endian 16-bit value at `at`, if it is in `data`.
#[inline]
pub(crate) fn get_u16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// Writes a big-endian 16-bit value at `at`; does nothing if it is not in `data`.
#[inline]
pub(crate) fn put_u16(data: &mut [u8], at: usize, value: u16) {
    if let Some(bytes) = at.checked_add(2).and_then(|end| data.get_mut(at..end)) {
        bytes.copy_from_slice(&value.to_be_bytes());
    }
}

/// The ICMPv4 errors IPVS relates to connections: destination unreachable, source quench,
/// time exceeded (`ip_vs_in_icmp`).
pub(crate) fn is_related_icmpv4_type(msg_type: u8) -> bool {
    matches!(msg_type, 3 | 4 | 11)
}

/// The ICMPv6 messages IPVS relates to connections: every error (type below 128).
pub(crate) fn is_related_icmpv6_type(msg_type: u8) -> bool {
    msg_type < 128
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::EthernetFrame;

    /// The one-pass read of the Ethernet header answers what the view's `check_len`,
    /// `inner_ethertype` and `payload_offset` answer, for 0–3 tags of each kind and every
    /// length the frame may be cut to.
    #[test]
    fn ethernet_layout_equals_the_view() {
        let tags = [0x8100u16, 0x88A8, 0x9100];
        let mut stacks: Vec<Vec<u16>> = vec![vec![]];
        for &a in &tags {
            stacks.push(vec![a]);
            for &b in &tags {
                stacks.push(vec![a, b]);
                stacks.push(vec![a, b, 0x8100]);
            }
        }
        let mut checked = 0;
        for stack in &stacks {
            for last in [0x0800u16, 0x86DD, 0x0806, 0x1234] {
                let mut f = vec![0xAAu8; 12];
                for &t in stack {
                    f.extend_from_slice(&t.to_be_bytes());
                    f.extend_from_slice(&[0x20, 0x05]);
                }
                f.extend_from_slice(&last.to_be_bytes());
                f.extend_from_slice(&[0x45; 8]);
                for len in 0..=f.len() {
                    let cut = &f[..len];
                    let view = EthernetFrame::new_checked(cut)
                        .map(|e| (e.inner_ethertype(), e.payload_offset()));
                    assert_eq!(ethernet_layout(cut), view, "{stack:x?} {last:#x} {len}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 2792);
    }
}

//! Where the IP and transport headers of an Ethernet frame are, found once per rewrite, and
//! the IP-level edits every method shares: TTL, addresses, the MTU check.

use std::net::IpAddr;

use super::error::RewriteError;
use crate::wire::checksum;
use crate::wire::{EtherType, EthernetAddress, EthernetFrame, IpProtocol, Ipv4Packet, Ipv6Packet};

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
    pub(crate) fn parse(frame: &[u8]) -> Result<IpFrame, RewriteError> {
        let eth = EthernetFrame::new_checked(frame)?;
        let l3 = eth.payload_offset();
        let ethertype = eth.inner_ethertype();
        let rest = frame.get(l3..).unwrap_or(&[]);
        if ethertype == EtherType::IPV4 {
            let ip = Ipv4Packet::new_checked(rest)?;
            if !ip.verify_checksum() {
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
                ip_len: usize::from(ip.total_len()),
                protocol: ip.protocol(),
                l4: l3 + ip.header_len(),
                fragment,
            })
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

    /// Where the IP packet ends: the frame's length without link padding.
    pub(crate) fn end(&self) -> usize {
        self.l3 + self.ip_len
    }

    /// The IP packet.
    pub(crate) fn packet<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        frame.get(self.l3..self.end()).unwrap_or(&[])
    }

    /// The transport header and payload (for a later fragment, its data).
    pub(crate) fn transport<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        frame.get(self.l4..self.end()).unwrap_or(&[])
    }

    /// The transport header and payload, mutable.
    pub(crate) fn transport_mut<'a>(&self, frame: &'a mut [u8]) -> &'a mut [u8] {
        let end = self.end();
        frame.get_mut(self.l4..end).unwrap_or(&mut [])
    }

    fn ip<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        self.packet(frame)
    }

    fn ip_mut<'a>(&self, frame: &'a mut [u8]) -> &'a mut [u8] {
        let end = self.end();
        frame.get_mut(self.l3..end).unwrap_or(&mut [])
    }

    /// The source address.
    pub(crate) fn src_addr(&self, frame: &[u8]) -> IpAddr {
        match self.version {
            IpVersion::V4 => Ipv4Packet::new_unchecked(self.ip(frame)).src_addr().into(),
            IpVersion::V6 => Ipv6Packet::new_unchecked(self.ip(frame)).src_addr().into(),
        }
    }

    /// The destination address.
    pub(crate) fn dst_addr(&self, frame: &[u8]) -> IpAddr {
        match self.version {
            IpVersion::V4 => Ipv4Packet::new_unchecked(self.ip(frame)).dst_addr().into(),
            IpVersion::V6 => Ipv6Packet::new_unchecked(self.ip(frame)).dst_addr().into(),
        }
    }

    /// TTL or hop limit.
    pub(crate) fn ttl(&self, frame: &[u8]) -> u8 {
        match self.version {
            IpVersion::V4 => Ipv4Packet::new_unchecked(self.ip(frame)).ttl(),
            IpVersion::V6 => Ipv6Packet::new_unchecked(self.ip(frame)).hop_limit(),
        }
    }

    /// The IPv4 DF flag (false for IPv6).
    pub(crate) fn dont_frag(&self, frame: &[u8]) -> bool {
        match self.version {
            IpVersion::V4 => Ipv4Packet::new_unchecked(self.ip(frame)).dont_frag(),
            IpVersion::V6 => false,
        }
    }

    /// The DS field: IPv4 TOS or IPv6 traffic class.
    pub(crate) fn ds_field(&self, frame: &[u8]) -> u8 {
        match self.version {
            IpVersion::V4 => Ipv4Packet::new_unchecked(self.ip(frame)).tos(),
            IpVersion::V6 => Ipv6Packet::new_unchecked(self.ip(frame)).traffic_class(),
        }
    }

    /// Whether the packet is an ICMP / ICMPv6 error of the kinds IPVS relates to connections
    /// (spec §7.6): the kernel forwards those without ever answering them.
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
    pub(crate) fn check_family(&self, addr: &IpAddr) -> Result<(), RewriteError> {
        if IpVersion::of(addr) == self.version {
            Ok(())
        } else {
            Err(RewriteError::FamilyMismatch)
        }
    }

    /// The kernel's TTL check before forwarding: TTL / hop limit ≤ 1 cannot be forwarded.
    pub(crate) fn check_ttl(&self, frame: &[u8]) -> Result<(), RewriteError> {
        if self.ttl(frame) <= 1 {
            Err(RewriteError::TtlExceeded)
        } else {
            Ok(())
        }
    }

    /// Decrements the TTL (updating the IPv4 header checksum, RFC 1624) or the hop limit.
    /// Call after [`check_ttl`](Self::check_ttl).
    pub(crate) fn decrement_ttl(&self, frame: &mut [u8]) {
        match self.version {
            IpVersion::V4 => {
                let mut ip = Ipv4Packet::new_unchecked(self.ip_mut(frame));
                let ttl = ip.ttl();
                let new = ttl.saturating_sub(1);
                let proto = u16::from(ip.protocol().0);
                let old_word = (u16::from(ttl) << 8) | proto;
                let new_word = (u16::from(new) << 8) | proto;
                ip.set_ttl(new);
                ip.set_checksum(checksum::update_word(ip.checksum(), old_word, new_word));
            }
            IpVersion::V6 => {
                let mut ip = Ipv6Packet::new_unchecked(self.ip_mut(frame));
                let hop = ip.hop_limit();
                ip.set_hop_limit(hop.saturating_sub(1));
            }
        }
    }

    /// The kernel's MTU check for a packet leaving on a route of MTU `mtu` (spec §7.0.4,
    /// `ensure_mtu_is_adequate`): IPv4 with DF and IPv6 bigger than `mtu` are refused, with an
    /// ICMP answer except for non-first IPv6 fragments; IPv4 without DF is to be fragmented.
    /// An ICMP error being relayed (`relaying_icmp`) is never answered: over IPv4 the kernel
    /// even lets it through, to be fragmented.
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
    pub(crate) fn set_dst_addr(&self, frame: &mut [u8], addr: IpAddr) {
        match (self.version, addr) {
            (IpVersion::V4, IpAddr::V4(new)) => {
                let mut ip = Ipv4Packet::new_unchecked(self.ip_mut(frame));
                let old = ip.dst_addr();
                ip.set_dst_addr(new);
                ip.set_checksum(checksum::update_ipv4_addr(ip.checksum(), old, new));
            }
            (IpVersion::V6, IpAddr::V6(new)) => {
                Ipv6Packet::new_unchecked(self.ip_mut(frame)).set_dst_addr(new);
            }
            _ => {}
        }
    }

    /// Sets the source address (updating the IPv4 header checksum).
    /// The address must be of the packet's family ([`check_family`](Self::check_family)).
    pub(crate) fn set_src_addr(&self, frame: &mut [u8], addr: IpAddr) {
        match (self.version, addr) {
            (IpVersion::V4, IpAddr::V4(new)) => {
                let mut ip = Ipv4Packet::new_unchecked(self.ip_mut(frame));
                let old = ip.src_addr();
                ip.set_src_addr(new);
                ip.set_checksum(checksum::update_ipv4_addr(ip.checksum(), old, new));
            }
            (IpVersion::V6, IpAddr::V6(new)) => {
                Ipv6Packet::new_unchecked(self.ip_mut(frame)).set_src_addr(new);
            }
            _ => {}
        }
    }
}

/// Sets the Ethernet source and destination addresses of a frame (checked by
/// [`IpFrame::parse`] to hold an Ethernet header).
pub(crate) fn set_macs(frame: &mut [u8], src: EthernetAddress, dst: EthernetAddress) {
    if let Ok(mut eth) = EthernetFrame::new_checked(frame) {
        eth.set_src_addr(src);
        eth.set_dst_addr(dst);
    }
}

/// The big-endian 16-bit value at `at`, if it is in `data`.
pub(crate) fn get_u16(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// Writes a big-endian 16-bit value at `at`; does nothing if it is not in `data`.
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

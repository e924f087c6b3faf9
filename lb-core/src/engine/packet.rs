//! What the engine sees of a packet: a small summary the I/O layer fills in after parsing.

use std::net::IpAddr;

use crate::proto::sctp;
use crate::service::Family;

/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// IP protocol number of SCTP.
pub const IPPROTO_SCTP: u8 = 132;
/// IP protocol number of ICMP.
pub const IPPROTO_ICMP: u8 = 1;
/// IP protocol number of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;

/// Where a packet came from, when the I/O layer knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Side {
    /// Not known: the packet is first looked up as a reply from a real server, then as a
    /// request — the order of the kernel's hooks at LOCAL_IN.
    #[default]
    Unknown,
    /// From the clients' side: only the request path is tried.
    Client,
}

/// The transport tuple of the packet inside an ICMP error, as it appears there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InnerTuple {
    /// IP protocol of the embedded packet.
    pub protocol: u8,
    /// Its source address.
    pub src: IpAddr,
    /// Its destination address.
    pub dst: IpAddr,
    /// Its source port (0 when not TCP, UDP or SCTP).
    pub sport: u16,
    /// Its destination port.
    pub dport: u16,
    /// It is a non-first fragment (its ports are not there).
    pub fragment: bool,
}

/// An ICMP or ICMPv6 message and the packet it quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpInfo {
    /// ICMP type.
    pub icmp_type: u8,
    /// ICMP code.
    pub code: u8,
    /// The quoted packet, when the message quotes one and its header could be read.
    pub inner: Option<InnerTuple>,
    /// The quoted packet is one of the director's own tunnel packets (IPIP, GUE or GRE to a
    /// tunnel real server) and `inner` is the client's packet inside it.
    pub tunnel: bool,
}

impl IcmpInfo {
    /// True for the error messages IPVS relays: IPv4 destination unreachable, source quench
    /// and time exceeded; every ICMPv6 type below 128 (spec §7.6).
    pub fn is_error(&self, family: Family) -> bool {
        match family {
            Family::V4 => matches!(self.icmp_type, 3 | 4 | 11),
            Family::V6 => self.icmp_type < 128,
        }
    }
}

/// The summary of one received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketMeta {
    /// Source address (its family is the packet's).
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol (for IPv6: of the first non-extension header).
    pub protocol: u8,
    /// Source port (TCP, UDP, SCTP).
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// TCP flags (FIN 0x01, SYN 0x02, RST 0x04, ACK 0x10).
    pub tcp_flags: u8,
    /// SCTP: type of the first chunk; `None` when no chunk header is there.
    pub sctp_chunk: Option<u8>,
    /// SCTP: the event of the state machine ([`sctp::Event::from_chunks`]).
    pub sctp_event: Option<sctp::Event>,
    /// IP length in bytes as received (what the traffic counters count).
    pub ip_len: u32,
    /// The packet's firewall mark (0 = none).
    pub fwmark: u32,
    /// A non-first fragment: its ports must be those of its first fragment. Such a packet
    /// follows an existing connection but never creates one.
    pub fragment: bool,
    /// Where it came from.
    pub side: Side,
    /// For ICMP and ICMPv6: the message.
    pub icmp: Option<IcmpInfo>,
}

impl PacketMeta {
    fn base(protocol: u8, src: (IpAddr, u16), dst: (IpAddr, u16), ip_len: u32) -> PacketMeta {
        PacketMeta {
            src: src.0,
            dst: dst.0,
            protocol,
            sport: src.1,
            dport: dst.1,
            tcp_flags: 0,
            sctp_chunk: None,
            sctp_event: None,
            ip_len,
            fwmark: 0,
            fragment: false,
            side: Side::Unknown,
            icmp: None,
        }
    }

    /// A TCP segment.
    pub fn tcp(src: (IpAddr, u16), dst: (IpAddr, u16), tcp_flags: u8, ip_len: u32) -> PacketMeta {
        PacketMeta {
            tcp_flags,
            ..PacketMeta::base(IPPROTO_TCP, src, dst, ip_len)
        }
    }

    /// A UDP datagram.
    pub fn udp(src: (IpAddr, u16), dst: (IpAddr, u16), ip_len: u32) -> PacketMeta {
        PacketMeta::base(IPPROTO_UDP, src, dst, ip_len)
    }

    /// An SCTP packet whose first chunk has type `first_chunk` (the event is that chunk's).
    pub fn sctp(
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        first_chunk: u8,
        ip_len: u32,
    ) -> PacketMeta {
        PacketMeta {
            sctp_chunk: Some(first_chunk),
            sctp_event: Some(sctp::Event::from_chunk_type(first_chunk)),
            ..PacketMeta::base(IPPROTO_SCTP, src, dst, ip_len)
        }
    }

    /// An ICMP (or ICMPv6, by family) message.
    pub fn icmp(src: IpAddr, dst: IpAddr, info: IcmpInfo, ip_len: u32) -> PacketMeta {
        let protocol = match src {
            IpAddr::V4(_) => IPPROTO_ICMP,
            IpAddr::V6(_) => IPPROTO_ICMPV6,
        };
        PacketMeta {
            icmp: Some(info),
            ..PacketMeta::base(protocol, (src, 0), (dst, 0), ip_len)
        }
    }

    /// The same packet with a firewall mark.
    pub fn with_fwmark(self, fwmark: u32) -> PacketMeta {
        PacketMeta { fwmark, ..self }
    }

    /// The same packet, known to come from `side`.
    pub fn from_side(self, side: Side) -> PacketMeta {
        PacketMeta { side, ..self }
    }

    /// The packet's address family.
    pub fn family(&self) -> Family {
        Family::of(&self.src)
    }
}

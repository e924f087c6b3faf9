//! IP protocol numbers, shared by IPv4 (protocol field) and IPv6 (next header field).

use core::fmt;

/// An IP protocol number (IPv4 "protocol", IPv6 "next header").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpProtocol(pub u8);

impl IpProtocol {
    /// IPv6 hop-by-hop options.
    pub const HOP_BY_HOP: IpProtocol = IpProtocol(0);
    /// ICMP for IPv4.
    pub const ICMP: IpProtocol = IpProtocol(1);
    /// IPv4 encapsulated in IP (IPIP tunnels).
    pub const IPIP: IpProtocol = IpProtocol(4);
    /// TCP.
    pub const TCP: IpProtocol = IpProtocol(6);
    /// UDP.
    pub const UDP: IpProtocol = IpProtocol(17);
    /// IPv6 encapsulated in IP.
    pub const IPV6: IpProtocol = IpProtocol(41);
    /// IPv6 routing header.
    pub const IPV6_ROUTING: IpProtocol = IpProtocol(43);
    /// IPv6 fragment header.
    pub const IPV6_FRAGMENT: IpProtocol = IpProtocol(44);
    /// Generic routing encapsulation.
    pub const GRE: IpProtocol = IpProtocol(47);
    /// IPsec encapsulating security payload.
    pub const ESP: IpProtocol = IpProtocol(50);
    /// IPsec authentication header.
    pub const AH: IpProtocol = IpProtocol(51);
    /// ICMP for IPv6.
    pub const ICMPV6: IpProtocol = IpProtocol(58);
    /// IPv6 "no next header".
    pub const IPV6_NO_NEXT_HEADER: IpProtocol = IpProtocol(59);
    /// IPv6 destination options.
    pub const IPV6_DEST_OPTS: IpProtocol = IpProtocol(60);
    /// SCTP.
    pub const SCTP: IpProtocol = IpProtocol(132);
}

impl From<u8> for IpProtocol {
    fn from(value: u8) -> Self {
        IpProtocol(value)
    }
}

impl From<IpProtocol> for u8 {
    fn from(value: IpProtocol) -> Self {
        value.0
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            IpProtocol::ICMP => f.write_str("ICMP"),
            IpProtocol::TCP => f.write_str("TCP"),
            IpProtocol::UDP => f.write_str("UDP"),
            IpProtocol::ICMPV6 => f.write_str("ICMPv6"),
            IpProtocol::SCTP => f.write_str("SCTP"),
            IpProtocol(other) => write!(f, "{other}"),
        }
    }
}

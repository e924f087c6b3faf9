//! The director's links as the path sees them: Ethernet address, MTU, the director's own
//! addresses with their on-link prefixes, the neighbours, and the routes they imply.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use lb_core::engine::Side;

use crate::neigh::{NeighParams, Neighbours};
use crate::wire::EthernetAddress;

/// A link of the director, by its position in [`Director::interfaces`](super::Director).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct LinkId(pub usize);

/// An address with the length of its on-link prefix (`198.18.0.2/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpPrefix {
    /// The address.
    pub addr: IpAddr,
    /// The prefix length (at most 32 / 128; longer is taken as the maximum).
    pub len: u8,
}

impl IpPrefix {
    /// `addr/len`.
    pub fn new(addr: IpAddr, len: u8) -> IpPrefix {
        IpPrefix { addr, len }
    }

    /// Whether `other` is in the prefix (same family, same leading `len` bits).
    #[inline]
    pub fn contains(&self, other: &IpAddr) -> bool {
        match (self.addr, other) {
            (IpAddr::V4(a), IpAddr::V4(b)) => {
                let len = u32::from(self.len.min(32));
                let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                a.to_bits() & mask == b.to_bits() & mask
            }
            (IpAddr::V6(a), IpAddr::V6(b)) => {
                let len = u32::from(self.len.min(128));
                let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
                a.to_bits() & mask == b.to_bits() & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for IpPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Why an [`IpPrefix`] could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPrefix(pub String);

impl fmt::Display for BadPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid address or prefix `{}'", self.0)
    }
}

impl std::error::Error for BadPrefix {}

impl FromStr for IpPrefix {
    type Err = BadPrefix;

    /// `ADDR/LEN`, or a bare `ADDR`, which takes /24 (IPv4) or /64 (IPv6).
    fn from_str(s: &str) -> Result<IpPrefix, BadPrefix> {
        let bad = || BadPrefix(s.to_string());
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None if addr.is_ipv4() => 24,
            None => 64,
            Some(l) => l.parse::<u8>().ok().filter(|&l| l <= max).ok_or_else(bad)?,
        };
        Ok(IpPrefix { addr, len })
    }
}

/// How a link is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// The link's Ethernet address (the source of every frame sent on it; VIPs owned on
    /// it are answered for with it).
    pub mac: EthernetAddress,
    /// The link's MTU (the route MTU of every next hop on it).
    pub mtu: u32,
    /// The director's addresses on the link, each with its on-link prefix. The first of a
    /// family is the source of the tunnels, solicitations and ICMP errors of that family.
    pub addrs: Vec<IpPrefix>,
    /// Where the frames received on this link come from: [`Side::Client`] for a link
    /// facing only clients (only the request path is tried), [`Side::Unknown`] otherwise.
    pub side: Side,
}

impl InterfaceConfig {
    /// A link with Ethernet address `mac`, MTU 1500, no address, side unknown.
    pub fn new(mac: EthernetAddress) -> InterfaceConfig {
        InterfaceConfig {
            mac,
            mtu: 1500,
            addrs: Vec::new(),
            side: Side::Unknown,
        }
    }

    /// The director's first IPv4 address on the link.
    #[inline]
    pub fn ipv4(&self) -> Option<Ipv4Addr> {
        self.addrs.iter().find_map(|p| match p.addr {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
    }

    /// The director's first IPv6 address on the link.
    #[inline]
    pub fn ipv6(&self) -> Option<Ipv6Addr> {
        self.addrs.iter().find_map(|p| match p.addr {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        })
    }

    /// The director's first address on the link of the family of `like`.
    #[inline]
    pub fn addr_like(&self, like: &IpAddr) -> Option<IpAddr> {
        self.addr_like_ref(like).copied()
    }

    /// [`addr_like`](Self::addr_like), where the configuration keeps it: a copy made from
    /// there reads memory written long ago, not a value just built on the stack.
    #[inline]
    pub(crate) fn addr_like_ref(&self, like: &IpAddr) -> Option<&IpAddr> {
        let v6 = like.is_ipv6();
        self.addrs
            .iter()
            .map(|p| &p.addr)
            .find(|a| a.is_ipv6() == v6)
    }

    /// Whether `addr` is one of the director's addresses on the link.
    pub fn owns(&self, addr: &IpAddr) -> bool {
        self.addrs.iter().any(|p| p.addr == *addr)
    }

    /// The length of the longest of the link's prefixes holding `addr`.
    #[inline]
    fn longest_match(&self, addr: &IpAddr) -> Option<u8> {
        let mut best: Option<u8> = None;
        for p in &self.addrs {
            if best.is_none_or(|b| p.len > b) && p.contains(addr) {
                best = Some(p.len);
            }
        }
        best
    }
}

/// A link: its configuration and its neighbours (the VIPs answered for on it, and the
/// neighbour cache of its next hops).
#[derive(Debug, Clone)]
pub struct Interface {
    /// The configuration.
    pub config: InterfaceConfig,
    /// Owned addresses and neighbour cache.
    pub neighbours: Neighbours,
}

impl Interface {
    /// A link configured by `config`, owning no VIP yet, with a neighbour cache of `params`.
    pub fn new(config: InterfaceConfig, params: NeighParams) -> Interface {
        Interface {
            config,
            neighbours: Neighbours::new(params),
        }
    }
}

/// Where a packet to some address goes next.
// The address first, at the start of the value (and of an `Option` of it, whose tag is the
// address's): a copy of the address then reads the bytes as they were written, not across
// two stores (which the processor cannot forward to the load).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NextHop {
    /// The neighbour to send it to: the address itself, or the gateway.
    pub addr: IpAddr,
    /// The link it leaves by.
    pub link: LinkId,
}

/// The routes: one on-link route per interface prefix, and a default gateway per family
/// (reached through the on-link routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Gateways {
    /// The IPv4 default gateway.
    pub v4: Option<Ipv4Addr>,
    /// The IPv6 default gateway.
    pub v6: Option<Ipv6Addr>,
}

/// The on-link route to `addr`: the link with the longest prefix holding it (the first
/// such link on a tie).
#[inline]
pub(crate) fn on_link(interfaces: &[Interface], addr: &IpAddr) -> Option<LinkId> {
    if let [only] = interfaces {
        // One link (a one-armed director): no comparison between links.
        return only.config.longest_match(addr).map(|_| LinkId(0));
    }
    let mut best: Option<(LinkId, u8)> = None;
    for (i, iface) in interfaces.iter().enumerate() {
        if let Some(len) = iface.config.longest_match(addr) {
            if best.is_none_or(|(_, l)| len > l) {
                best = Some((LinkId(i), len));
            }
        }
    }
    best.map(|(link, _)| link)
}

/// The next hop toward `dst`: on-link if a prefix holds it, else the gateway of its family
/// if one is on-link.
pub(crate) fn route(
    interfaces: &[Interface],
    gateways: &Gateways,
    dst: &IpAddr,
) -> Option<NextHop> {
    if let Some(link) = on_link(interfaces, dst) {
        return Some(NextHop { link, addr: *dst });
    }
    let gateway = match dst {
        IpAddr::V4(_) => gateways.v4.map(IpAddr::V4),
        IpAddr::V6(_) => gateways.v6.map(IpAddr::V6),
    }?;
    on_link(interfaces, &gateway).map(|link| NextHop {
        link,
        addr: gateway,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iface(addrs: &[&str]) -> Interface {
        let mut config = InterfaceConfig::new(EthernetAddress([2, 0, 0, 0, 0, 1]));
        config.addrs = addrs.iter().map(|a| a.parse().unwrap()).collect();
        Interface::new(config, NeighParams::default())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn prefixes_parse_and_contain() {
        let p: IpPrefix = "198.18.0.2/24".parse().unwrap();
        assert!(p.contains(&ip("198.18.0.200")));
        assert!(!p.contains(&ip("198.18.1.1")));
        assert!(!p.contains(&ip("2001:db8::1")));
        assert_eq!("198.18.0.2".parse::<IpPrefix>().unwrap().len, 24);
        assert_eq!("2001:db8::2".parse::<IpPrefix>().unwrap().len, 64);
        let all: IpPrefix = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(&ip("203.0.113.9")));
        let host: IpPrefix = "2001:db8::2/128".parse().unwrap();
        assert!(host.contains(&ip("2001:db8::2")));
        assert!(!host.contains(&ip("2001:db8::3")));
        assert!("198.18.0.2/33".parse::<IpPrefix>().is_err());
        assert!("198.18.0/24".parse::<IpPrefix>().is_err());
        assert_eq!(p.to_string(), "198.18.0.2/24");
    }

    #[test]
    fn routes_prefer_the_longest_prefix_then_the_gateway() {
        let ifaces = [
            iface(&["198.18.0.2/16"]),
            iface(&["198.18.5.2/24", "2001:db8::2/64"]),
        ];
        let gw = Gateways {
            v4: Some("198.18.0.1".parse().unwrap()),
            v6: None,
        };
        let hop = |d: &str| route(&ifaces, &gw, &ip(d));
        assert_eq!(
            hop("198.18.5.9"),
            Some(NextHop {
                link: LinkId(1),
                addr: ip("198.18.5.9")
            })
        );
        assert_eq!(
            hop("198.18.7.9"),
            Some(NextHop {
                link: LinkId(0),
                addr: ip("198.18.7.9")
            })
        );
        assert_eq!(
            hop("203.0.113.1"),
            Some(NextHop {
                link: LinkId(0),
                addr: ip("198.18.0.1")
            })
        );
        assert_eq!(hop("2001:db9::1"), None);
        assert_eq!(
            hop("2001:db8::77"),
            Some(NextHop {
                link: LinkId(1),
                addr: ip("2001:db8::77")
            })
        );
    }
}

//! Addresses as the connection table stores them: 4 bytes for IPv4 connections, 16 for IPv6
//! ones. The table is generic over the two, so an IPv4 connection never pays for IPv6 room.

use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::service::Family;

/// An address family's address, stored compactly in table entries.
pub(crate) trait Addr: Copy + Eq + Default + Debug + Send + Sync + 'static {
    /// The family.
    const FAMILY: Family;
    /// The address of this family, if `ip` is one.
    fn from_ip(ip: &IpAddr) -> Option<Self>;
    /// Back to a standard address.
    fn to_ip(self) -> IpAddr;
    /// The address folded to 64 bits for hashing (not yet mixed).
    fn words(self) -> (u64, u64);
    /// The client network of a persistence template: an IPv4 address ANDed with the mask
    /// `netmask`, an IPv6 address cut to the prefix length `netmask` (spec §6.1).
    fn masked(self, netmask: u32) -> Self;
    /// A firewall mark stored where the virtual address goes, as the kernel's
    /// `union nf_inet_addr { .ip = htonl(fwmark) }` holds it (spec §6.2).
    fn from_fwmark(mark: u32) -> Self;
}

/// An IPv4 address, host order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub(crate) struct V4(pub u32);

/// An IPv6 address as four host-order words, most significant first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub(crate) struct V6(pub [u32; 4]);

impl Addr for V4 {
    const FAMILY: Family = Family::V4;
    #[inline]
    fn from_ip(ip: &IpAddr) -> Option<Self> {
        match ip {
            IpAddr::V4(a) => Some(V4(u32::from(*a))),
            IpAddr::V6(_) => None,
        }
    }
    #[inline]
    fn to_ip(self) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(self.0))
    }
    #[inline]
    fn words(self) -> (u64, u64) {
        (u64::from(self.0), 0)
    }
    fn masked(self, netmask: u32) -> Self {
        V4(self.0 & netmask)
    }
    fn from_fwmark(mark: u32) -> Self {
        V4(mark)
    }
}

impl Addr for V6 {
    const FAMILY: Family = Family::V6;
    #[inline]
    fn from_ip(ip: &IpAddr) -> Option<Self> {
        match ip {
            IpAddr::V6(a) => {
                let s = a.octets();
                let w = |i: usize| u32::from_be_bytes([s[i], s[i + 1], s[i + 2], s[i + 3]]);
                Some(V6([w(0), w(4), w(8), w(12)]))
            }
            IpAddr::V4(_) => None,
        }
    }
    #[inline]
    fn to_ip(self) -> IpAddr {
        let [a, b, c, d] = self.0;
        let v =
            (u128::from(a) << 96) | (u128::from(b) << 64) | (u128::from(c) << 32) | u128::from(d);
        IpAddr::V6(Ipv6Addr::from(v))
    }
    #[inline]
    fn words(self) -> (u64, u64) {
        let [a, b, c, d] = self.0;
        (
            (u64::from(a) << 32) | u64::from(b),
            (u64::from(c) << 32) | u64::from(d),
        )
    }
    fn masked(self, netmask: u32) -> Self {
        let plen = netmask.min(128);
        let mut out = self.0;
        for (i, w) in out.iter_mut().enumerate() {
            let start = (i as u32) * 32;
            let keep = plen.saturating_sub(start).min(32);
            *w &= if keep == 0 {
                0
            } else {
                u32::MAX << (32 - keep)
            };
        }
        V6(out)
    }
    fn from_fwmark(mark: u32) -> Self {
        V6([mark, 0, 0, 0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v6_prefix_masks() {
        let a = V6::from_ip(&"2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff".parse().unwrap()).unwrap();
        assert_eq!(a.masked(128), a);
        assert_eq!(a.masked(64).to_ip().to_string(), "2001:db8:aaaa:bbbb::");
        assert_eq!(a.masked(36).to_ip().to_string(), "2001:db8:a000::");
        assert_eq!(a.masked(1).to_ip().to_string(), "::");
        assert_eq!(a.masked(0).to_ip().to_string(), "::");
    }

    #[test]
    fn fwmark_addresses() {
        assert_eq!(V4::from_fwmark(1).to_ip().to_string(), "0.0.0.1");
        assert_eq!(V6::from_fwmark(1).to_ip().to_string(), "0:1::");
        let a = V4::from_ip(&"192.168.1.77".parse().unwrap()).unwrap();
        assert_eq!(a.masked(0xffff_ff00).to_ip().to_string(), "192.168.1.0");
    }
}

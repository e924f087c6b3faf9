//! What the director reads from the host's kernel, in its own network namespace: the
//! forwarding sysctls, the interfaces' addresses, and the default routes.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lb_io::link::{interface_addresses, InterfaceAddress};
use lb_io::path::Gateways;

/// The sysctl of IPv4 forwarding.
pub const IPV4_FORWARD: &str = "/proc/sys/net/ipv4/ip_forward";
/// The sysctl of IPv6 forwarding (all interfaces).
pub const IPV6_FORWARD: &str = "/proc/sys/net/ipv6/conf/all/forwarding";

/// The host's state that matters to the director.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFacts {
    /// `net.ipv4.ip_forward` is on.
    pub ipv4_forwarding: bool,
    /// `net.ipv6.conf.all.forwarding` is on.
    pub ipv6_forwarding: bool,
    /// Every address of every interface.
    pub addresses: Vec<InterfaceAddress>,
}

/// Reads a 0/1 sysctl; a missing file (IPv6 disabled) reads as off.
fn sysctl_on(path: &str) -> io::Result<bool> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text.trim() != "0"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads the host's facts.
pub fn read_host() -> io::Result<HostFacts> {
    Ok(HostFacts {
        ipv4_forwarding: sysctl_on(IPV4_FORWARD)?,
        ipv6_forwarding: sysctl_on(IPV6_FORWARD)?,
        addresses: interface_addresses()?,
    })
}

/// The gateway of the IPv4 default route in `/proc/net/route`'s text: a line with
/// destination and mask 0 and the gateway flag (its fields are hexadecimal, in the host's
/// byte order).
pub fn ipv4_default_gateway(route: &str) -> Option<Ipv4Addr> {
    const RTF_UP: u32 = 0x1;
    const RTF_GATEWAY: u32 = 0x2;
    route.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let hex = |i: usize| f.get(i).and_then(|s| u32::from_str_radix(s, 16).ok());
        let (dst, gw, flags, mask) = (hex(1)?, hex(2)?, hex(3)?, hex(7)?);
        let default =
            dst == 0 && mask == 0 && flags & (RTF_UP | RTF_GATEWAY) == RTF_UP | RTF_GATEWAY;
        (default && gw != 0).then(|| Ipv4Addr::from(gw.to_ne_bytes()))
    })
}

/// The next hop of the IPv6 default route in `/proc/net/ipv6_route`'s text: a line with
/// destination `::/0` and a next hop other than `::`.
pub fn ipv6_default_gateway(route: &str) -> Option<Ipv6Addr> {
    route.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (dst, plen, next_hop) = (f.first()?, f.get(1)?, f.get(4)?);
        let next = u128::from_str_radix(next_hop, 16).ok()?;
        let default = dst.len() == 32 && dst.chars().all(|c| c == '0') && *plen == "00";
        (default && next != 0).then(|| Ipv6Addr::from(next))
    })
}

/// The kernel's default gateways (none where there is no default route).
pub fn default_gateways() -> Gateways {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    Gateways {
        v4: ipv4_default_gateway(&read("/proc/net/route")),
        v6: ipv6_default_gateway(&read("/proc/net/ipv6_route")),
    }
}

/// The addresses of interface `name` among `all`: global ones first, IPv6 link-local
/// ones last (the first of a family is the source of what the director builds).
pub fn addresses_of<'a>(all: &'a [InterfaceAddress], name: &str) -> Vec<&'a InterfaceAddress> {
    let link_local = |a: &IpAddr| matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local());
    let mut mine: Vec<&InterfaceAddress> = all.iter().filter(|a| a.interface == name).collect();
    mine.sort_by_key(|a| link_local(&a.addr));
    mine
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_routes_are_found() {
        let route = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth1\t000212C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\tFE0112C6\t0003\t0\t0\t0\t00000000\t0\t0\t0
";
        assert_eq!(
            ipv4_default_gateway(route),
            Some(Ipv4Addr::new(198, 18, 1, 254))
        );
        assert_eq!(
            ipv4_default_gateway(
                route
                    .lines()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join("\n")
                    .as_str()
            ),
            None
        );
        let route6 = "\
20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0
00000000000000000000000000000000 00 00000000000000000000000000000000 00 20010db80000000000000000000000fe 00000400 00000001 00000000 00000003 eth0
";
        assert_eq!(
            ipv6_default_gateway(route6),
            Some("2001:db8::fe".parse().unwrap())
        );
        assert_eq!(ipv6_default_gateway(route6.lines().next().unwrap()), None);
    }

    #[test]
    fn global_addresses_come_before_link_local_ones() {
        let a = |i: &str, s: &str, l| InterfaceAddress {
            interface: i.into(),
            addr: s.parse().unwrap(),
            prefix_len: l,
        };
        let all = [
            a("eth0", "fe80::1", 64),
            a("eth1", "198.18.2.1", 24),
            a("eth0", "2001:db8::1", 64),
            a("eth0", "198.18.1.1", 24),
        ];
        let mine: Vec<String> = addresses_of(&all, "eth0")
            .iter()
            .map(|a| a.addr.to_string())
            .collect();
        assert_eq!(mine, ["2001:db8::1", "198.18.1.1", "fe80::1"]);
    }
}

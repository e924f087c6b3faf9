//! The routes of the last destinations: a few next hops kept so that an established flow
//! does not walk the links' prefixes for every packet.
//!
//! A route depends only on the links' addresses and prefixes and on the default gateways,
//! never on the neighbours: the cache holds the next hop (its address and link), not its
//! Ethernet address, which the neighbour cache still gives for every frame. Whatever may
//! change a link's configuration or the gateways empties it
//! ([`Director::interfaces_mut`](super::Director::interfaces_mut),
//! [`Director::set_gateways`](super::Director::set_gateways)).

use std::net::IpAddr;

use super::interface::{route, Gateways, Interface, NextHop};

/// How many destinations are kept: a slot per value of the address's last byte, modulo.
const SLOTS: usize = 8;

/// A destination and its route (`None`: no route).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    dst: IpAddr,
    hop: Option<NextHop>,
}

/// A direct-mapped cache of routes, indexed by the destination's last byte.
#[derive(Debug, Clone, Default)]
pub(crate) struct RouteCache {
    slots: [Option<Entry>; SLOTS],
}

impl RouteCache {
    /// Forgets every route.
    pub(crate) fn clear(&mut self) {
        self.slots = [None; SLOTS];
    }

    /// The next hop toward `dst` over `interfaces` and `gateways`: the cached one, else
    /// computed and kept.
    #[inline]
    pub(crate) fn route(
        &mut self,
        interfaces: &[Interface],
        gateways: &Gateways,
        dst: &IpAddr,
    ) -> Option<NextHop> {
        let last = match dst {
            IpAddr::V4(a) => a.octets()[3],
            IpAddr::V6(a) => a.octets()[15],
        };
        let slot = self.slots.get_mut(usize::from(last) % SLOTS)?;
        match slot {
            Some(e) if e.dst == *dst => e.hop,
            _ => {
                let hop = route(interfaces, gateways, dst);
                *slot = Some(Entry { dst: *dst, hop });
                hop
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::neigh::NeighParams;
    use crate::path::{InterfaceConfig, LinkId};
    use crate::wire::EthernetAddress;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn links(prefixes: &[&str]) -> Vec<Interface> {
        prefixes
            .iter()
            .map(|p| {
                let mut config = InterfaceConfig::new(EthernetAddress([2, 0, 0, 0, 0, 1]));
                config.addrs = vec![p.parse().unwrap()];
                Interface::new(config, NeighParams::default())
            })
            .collect()
    }

    #[test]
    fn gives_what_the_routes_give_for_every_destination() {
        let ifaces = links(&["198.18.0.2/24", "198.19.0.2/24", "2001:db8::2/64"]);
        let gw = Gateways {
            v4: Some("198.18.0.1".parse().unwrap()),
            v6: None,
        };
        let mut cache = RouteCache::default();
        // Colliding slots (last bytes 1, 9, 17), both families, hits and misses, no route.
        let dsts = [
            "198.18.0.1",
            "198.19.0.9",
            "203.0.113.17",
            "198.19.0.1",
            "2001:db8::9",
            "2001:db9::1",
            "198.18.0.1",
            "198.19.0.9",
            "2001:db8::9",
        ];
        for _ in 0..3 {
            for d in dsts {
                let d = ip(d);
                assert_eq!(
                    cache.route(&ifaces, &gw, &d),
                    route(&ifaces, &gw, &d),
                    "{d}"
                );
            }
        }
        assert_eq!(
            cache.route(&ifaces, &gw, &ip("203.0.113.17")),
            Some(NextHop {
                link: LinkId(0),
                addr: ip("198.18.0.1")
            })
        );
        assert_eq!(cache.route(&ifaces, &gw, &ip("2001:db9::1")), None);
    }

    #[test]
    fn a_cleared_cache_sees_new_gateways() {
        let ifaces = links(&["198.18.0.2/24"]);
        let mut cache = RouteCache::default();
        let dst = ip("203.0.113.5");
        assert_eq!(cache.route(&ifaces, &Gateways::default(), &dst), None);
        let gw = Gateways {
            v4: Some("198.18.0.1".parse().unwrap()),
            v6: None,
        };
        // Kept until cleared.
        assert_eq!(cache.route(&ifaces, &gw, &dst), None);
        cache.clear();
        assert_eq!(
            cache.route(&ifaces, &gw, &dst),
            Some(NextHop {
                link: LinkId(0),
                addr: ip("198.18.0.1")
            })
        );
    }
}

//! The addresses the director answers ARP and neighbour solicitations for: its VIPs (which
//! no kernel interface holds, see the design notes) and the Ethernet address to give for
//! each.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::EthernetAddress;

/// The IPv4 and IPv6 addresses owned by the director, each with the Ethernet address it
/// answers with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedAddresses {
    v4: HashMap<Ipv4Addr, EthernetAddress>,
    v6: HashMap<Ipv6Addr, EthernetAddress>,
    /// Set the router flag in neighbour advertisements (Linux sets it from the interface's
    /// `forwarding` sysctl). Off by default.
    pub router: bool,
}

impl OwnedAddresses {
    /// No addresses.
    pub fn new() -> OwnedAddresses {
        OwnedAddresses::default()
    }

    /// Answers for `addr` with `mac` from now on. Returns whether `addr` was not owned before
    /// (and so is to be announced: [`gratuitous_arp`](super::gratuitous_arp) or
    /// [`unsolicited_na`](super::unsolicited_na)).
    pub fn add(&mut self, addr: IpAddr, mac: EthernetAddress) -> bool {
        match addr {
            IpAddr::V4(a) => self.v4.insert(a, mac).is_none(),
            IpAddr::V6(a) => self.v6.insert(a, mac).is_none(),
        }
    }

    /// Stops answering for `addr`; returns whether it was owned.
    pub fn remove(&mut self, addr: &IpAddr) -> bool {
        match addr {
            IpAddr::V4(a) => self.v4.remove(a).is_some(),
            IpAddr::V6(a) => self.v6.remove(a).is_some(),
        }
    }

    /// The Ethernet address to answer with for `addr`, if owned.
    pub fn mac_for(&self, addr: &IpAddr) -> Option<EthernetAddress> {
        match addr {
            IpAddr::V4(a) => self.v4.get(a).copied(),
            IpAddr::V6(a) => self.v6.get(a).copied(),
        }
    }

    /// Whether `addr` is owned.
    pub fn contains(&self, addr: &IpAddr) -> bool {
        self.mac_for(addr).is_some()
    }

    /// How many addresses are owned.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether no address is owned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

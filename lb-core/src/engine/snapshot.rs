//! The configuration as the packet path reads it: an immutable snapshot of the services,
//! their real servers (deleted ones in the trash included, for the connections that still
//! refer to them) and the settings, rebuilt and swapped in whole after every change.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use super::cell::ServiceCell;
use super::fast_hash::BuildFastHasher;
use super::packet::IPPROTO_TCP;
use super::settings::Settings;
use crate::conn::ticks;
use crate::dest::{DestId, FwdMethod, TunnelConf};
use crate::service::{Family, ServiceKey};

/// The FTP control port: its services also catch FTP data connections (spec §1.2).
pub(crate) const FTP_PORT: u16 = 21;
/// The FTP data port: never scheduled from (spec §2.2).
pub(crate) const FTP_DATA_PORT: u16 = 20;

/// A virtual service as the packet path needs it.
#[derive(Debug)]
pub(crate) struct ServiceView {
    pub key: ServiceKey,
    /// The service port (0 for firewall-mark and catch-all services).
    pub port: u16,
    /// The firewall mark (0 for address services).
    pub fwmark: u32,
    /// Persistence timeout in ticks.
    pub persistence: Option<u32>,
    /// The persistence netmask (IPv4 mask or IPv6 prefix length).
    pub netmask: u32,
    /// One-packet scheduling.
    pub one_packet: bool,
    /// Its live scheduler and counters.
    pub cell: Arc<ServiceCell>,
}

/// A real server as the packet path needs it.
#[derive(Debug)]
pub(crate) struct DestView {
    pub id: DestId,
    pub addr: IpAddr,
    pub port: u16,
    pub method: FwdMethod,
    pub tunnel: TunnelConf,
    pub weight: u32,
    /// Linked to its service (false in the trash).
    pub available: bool,
    /// The identity of its service.
    pub service_key: ServiceKey,
    /// Its service schedules one packet per connection.
    pub service_one_packet: bool,
    /// The cell of its service, where its connection counters are.
    pub cell: Arc<ServiceCell>,
}

/// One published configuration.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub settings: Settings,
    pub services: Vec<ServiceView>,
    /// Indexed by [`DestId`].
    pub dests: Vec<Option<DestView>>,
    by_addr: HashMap<AddrKey, usize, BuildFastHasher>,
    by_mark: HashMap<(Family, u32), usize, BuildFastHasher>,
    has_port_zero: bool,
    has_ftp: bool,
    /// NAT real servers by (protocol, address, port); protocol 0 for those of firewall-mark
    /// services, which answer for every protocol.
    nat_servers: HashSet<(u8, IpAddr, u16), BuildFastHasher>,
    /// Addresses of every NAT real server, deleted ones included: the only sources a NAT
    /// connection's reply can have.
    nat_addrs: AddrSet,
    /// Virtual addresses of every address service (and of those whose deleted servers are
    /// still in the trash): the sources of the replies other connections can have.
    vip_addrs: AddrSet,
    /// A firewall-mark service exists (its connections' virtual addresses are any).
    any_fwmark: bool,
}

/// The identity of an address service as two words, quick to hash and compare: the
/// address, and the family, protocol and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AddrKey(u128, u32);

impl AddrKey {
    #[inline]
    fn new(proto: u8, addr: &IpAddr, port: u16) -> AddrKey {
        let (bits, family) = match addr {
            IpAddr::V4(a) => (u128::from(u32::from(*a)), 4u32),
            IpAddr::V6(a) => (u128::from(*a), 6u32),
        };
        AddrKey(
            bits,
            (family << 24) | (u32::from(proto) << 16) | u32::from(port),
        )
    }
}

/// A set of addresses asked on every packet of unknown side. Most packets' sources are
/// not in it, so a 64-bit filter (one bit per address hash) answers them first; a short
/// list is then scanned (IPv4 addresses as plain words), a long one hashed.
#[derive(Debug)]
struct AddrSet {
    filter: u64,
    members: Members,
}

#[derive(Debug)]
enum Members {
    Few { v4: Vec<u32>, v6: Vec<u128> },
    Many(HashSet<IpAddr, BuildFastHasher>),
}

/// The filter bit of an address.
#[inline]
fn filter_bit(a: &IpAddr) -> u64 {
    let w = match a {
        IpAddr::V4(a) => u64::from(u32::from(*a)),
        IpAddr::V6(a) => {
            let v = u128::from(*a);
            (v as u64) ^ ((v >> 64) as u64)
        }
    };
    1 << (w.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

impl AddrSet {
    /// Up to this many addresses are scanned.
    const FEW: usize = 16;

    fn new(mut addrs: Vec<IpAddr>) -> AddrSet {
        addrs.sort();
        addrs.dedup();
        let filter = addrs.iter().fold(0, |f, a| f | filter_bit(a));
        let members = if addrs.len() <= Self::FEW {
            let mut v4 = Vec::new();
            let mut v6 = Vec::new();
            for a in addrs {
                match a {
                    IpAddr::V4(a) => v4.push(u32::from(a)),
                    IpAddr::V6(a) => v6.push(u128::from(a)),
                }
            }
            Members::Few { v4, v6 }
        } else {
            Members::Many(addrs.into_iter().collect())
        };
        AddrSet { filter, members }
    }

    #[inline]
    fn contains(&self, a: &IpAddr) -> bool {
        if self.filter & filter_bit(a) == 0 {
            return false;
        }
        match (&self.members, a) {
            (Members::Few { v4, .. }, IpAddr::V4(a)) => v4.contains(&u32::from(*a)),
            (Members::Few { v6, .. }, IpAddr::V6(a)) => v6.contains(&u128::from(*a)),
            (Members::Many(s), a) => s.contains(a),
        }
    }
}

/// Which kinds of connection a packet may answer, from its source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReplySources {
    /// A NAT connection (the source is a NAT real server).
    pub nat: bool,
    /// A connection of another method (the source is a virtual address).
    pub other: bool,
}

/// What a snapshot is built from.
pub(crate) struct SnapshotParts {
    pub settings: Settings,
    pub services: Vec<ServiceView>,
    pub dests: Vec<DestView>,
}

impl Snapshot {
    pub fn build(parts: SnapshotParts) -> Snapshot {
        let mut by_addr = HashMap::default();
        let mut by_mark = HashMap::default();
        let (mut has_port_zero, mut has_ftp) = (false, false);
        for (i, s) in parts.services.iter().enumerate() {
            match s.key {
                ServiceKey::Addr { proto, addr, port } => {
                    by_addr.insert(AddrKey::new(proto.number(), &addr, port), i);
                    has_port_zero |= port == 0;
                    has_ftp |= port == FTP_PORT;
                }
                ServiceKey::Fwmark { family, mark } => {
                    by_mark.insert((family, mark), i);
                }
            }
        }
        let mut nat_servers = HashSet::default();
        let mut nat_addrs = Vec::new();
        let mut vip_addrs = Vec::new();
        let mut any_fwmark = false;
        let max_id = parts
            .dests
            .iter()
            .map(|d| d.id.0 as usize)
            .max()
            .unwrap_or(0);
        let mut dests: Vec<Option<DestView>> = (0..=max_id).map(|_| None).collect();
        for d in &parts.dests {
            if d.method == FwdMethod::Masq {
                nat_addrs.push(d.addr);
            }
            match d.service_key {
                ServiceKey::Addr { addr, .. } => vip_addrs.push(addr),
                ServiceKey::Fwmark { .. } => any_fwmark = true,
            }
        }
        for d in parts.dests {
            if d.available && d.method == FwdMethod::Masq {
                let proto = match d.service_key {
                    ServiceKey::Addr { proto, .. } => proto.number(),
                    ServiceKey::Fwmark { .. } => 0,
                };
                nat_servers.insert((proto, d.addr, d.port));
            }
            let i = d.id.0 as usize;
            dests[i] = Some(d);
        }
        Snapshot {
            settings: parts.settings,
            services: parts.services,
            dests,
            by_addr,
            by_mark,
            has_port_zero,
            has_ftp,
            nat_servers,
            nat_addrs: AddrSet::new(nat_addrs),
            vip_addrs: AddrSet::new(vip_addrs),
            any_fwmark,
        }
    }

    /// The destination with id `id`.
    #[inline]
    pub fn dest(&self, id: u32) -> Option<&DestView> {
        self.dests.get(id as usize).and_then(Option::as_ref)
    }

    /// The service a packet belongs to (`ip_vs_service_find`, spec §1.2): by firewall mark
    /// first, then exactly, then the FTP service for FTP data, then the catch-all port 0.
    pub fn find_service(
        &self,
        family: Family,
        fwmark: u32,
        proto: u8,
        vaddr: IpAddr,
        vport: u16,
    ) -> Option<usize> {
        if fwmark != 0 {
            if let Some(&i) = self.by_mark.get(&(family, fwmark)) {
                return Some(i);
            }
        }
        if let Some(&i) = self.by_addr.get(&AddrKey::new(proto, &vaddr, vport)) {
            return Some(i);
        }
        if proto == IPPROTO_TCP && self.has_ftp && (vport == FTP_DATA_PORT || vport >= 1024) {
            if let Some(&i) = self.by_addr.get(&AddrKey::new(proto, &vaddr, FTP_PORT)) {
                return Some(i);
            }
        }
        if self.has_port_zero {
            return self.by_addr.get(&AddrKey::new(proto, &vaddr, 0)).copied();
        }
        None
    }

    /// True if (`addr`, `port`) is a NAT real server of a `proto` service
    /// (`ip_vs_has_real_service`).
    pub fn is_nat_server(&self, proto: u8, addr: IpAddr, port: u16) -> bool {
        self.nat_servers.contains(&(proto, addr, port))
            || self.nat_servers.contains(&(0, addr, port))
    }

    /// Which connections a packet from `src` may be the reply of: (a NAT connection,
    /// a connection of another method). Both false: no reply lookup is needed.
    #[inline]
    pub fn reply_sources(&self, src: IpAddr) -> ReplySources {
        ReplySources {
            nat: self.nat_addrs.contains(&src),
            other: self.any_fwmark || self.vip_addrs.contains(&src),
        }
    }

    /// The persistence timeout in ticks of a configuration.
    pub fn persistence_ticks(seconds: Option<u32>) -> Option<u32> {
        seconds.map(|s| ticks(std::time::Duration::from_secs(u64::from(s))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_sets_small_and_large() {
        let a = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0xc613_0000 + i));
        let few = AddrSet::new(vec![a(2), a(1), a(2)]);
        assert!(matches!(&few.members, Members::Few { v4, v6 } if v4.len() == 2 && v6.is_empty()));
        assert!(few.contains(&a(1)) && !few.contains(&a(3)));
        let many = AddrSet::new((0..40).map(a).collect());
        assert!(matches!(&many.members, Members::Many(s) if s.len() == 40));
        assert!(many.contains(&a(39)) && !many.contains(&a(40)));
    }
}

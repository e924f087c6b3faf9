//! The connection table as `ipvsadm -L -c` lists it (spec §4.5, §13.3).

use std::net::IpAddr;

use super::snapshot::Snapshot;
use super::Engine;
use crate::conn::{
    flags, remaining, tick_floor, tick_le, ticks_duration, Addr, Conn, ConnState, Entry, InShard,
    Key, Shards, NIL, V4, V6,
};
use crate::dest::{DestId, FwdMethod};
use crate::ipvsadm::ConnEntry;
use crate::time::Time;

fn method_of(code: u16) -> FwdMethod {
    match code {
        0 => FwdMethod::Masq,
        1 => FwdMethod::Local,
        2 => FwdMethod::Tunnel,
        _ => FwdMethod::Route,
    }
}

fn conn_of<A: Addr>(snap: &Snapshot, e: &Entry<A>, now: Time) -> Conn {
    let daddr = snap
        .dest(e.dest)
        .map(|d| d.addr)
        .unwrap_or_else(|| e.daddr.to_ip());
    Conn {
        protocol: e.proto,
        client: (e.caddr.to_ip(), e.cport),
        vip: (e.vaddr.to_ip(), e.vport),
        dest_addr: (daddr, e.dport),
        dest: DestId(e.dest),
        method: method_of(e.fwd()),
        state: ConnState::decode(e.proto, e.is_template(), e.state),
        flags: e.flags & !flags::LIVE & 0x7fff,
        timeout: ticks_duration(e.timeout),
        expires_in: remaining(e.expires, now),
        in_pkts: e.in_pkts,
        n_control: e.n_control,
        controlled: e.control != NIL,
    }
}

impl Engine {
    fn collect<A: InShard>(
        &self,
        shards: &Shards,
        snap: &Snapshot,
        now: Time,
        out: &mut Vec<Conn>,
    ) {
        let tick = tick_floor(now);
        for i in 0..shards.count() {
            let guard = shards.lock(i);
            let table = A::table(&guard);
            for id in table.ids() {
                if let Some(e) = table.get(id) {
                    if !tick_le(e.expires, tick) {
                        out.push(conn_of(snap, e, now));
                    }
                }
            }
        }
    }

    /// Every connection and persistence template that has not expired by `now`: IPv4
    /// connections, IPv4 templates, then the same for IPv6; in table order within each.
    pub fn connections(&self, now: Time) -> Vec<Conn> {
        let snap = self.current_snapshot();
        let mut out = Vec::new();
        self.collect::<V4>(&self.table.conns, &snap, now, &mut out);
        self.collect::<V4>(&self.table.templates, &snap, now, &mut out);
        self.collect::<V6>(&self.table.conns, &snap, now, &mut out);
        self.collect::<V6>(&self.table.templates, &snap, now, &mut out);
        out
    }

    /// What `ipvsadm -L -n -c` lists ([`crate::ipvsadm::list_connections`] prints it).
    pub fn list_entries(&self, now: Time) -> Vec<ConnEntry> {
        self.connections(now).iter().map(Conn::list_entry).collect()
    }

    /// The connection of protocol `protocol` from `client` to `vip`, if there is one that
    /// has not expired by `now`.
    pub fn connection(
        &self,
        protocol: u8,
        client: (IpAddr, u16),
        vip: (IpAddr, u16),
        now: Time,
    ) -> Option<Conn> {
        match (client.0, vip.0) {
            (IpAddr::V4(_), IpAddr::V4(_)) => {
                self.find_in::<V4>(&self.table.conns, protocol, client, vip, now)
            }
            (IpAddr::V6(_), IpAddr::V6(_)) => {
                self.find_in::<V6>(&self.table.conns, protocol, client, vip, now)
            }
            _ => None,
        }
    }

    /// The persistence template of protocol `protocol` (0 for a firewall-mark service) for
    /// client network `client` and virtual address and port `vip` (for a firewall-mark
    /// service: the mark as an address, port 0).
    pub fn template(
        &self,
        protocol: u8,
        client: IpAddr,
        vip: (IpAddr, u16),
        now: Time,
    ) -> Option<Conn> {
        match (client, vip.0) {
            (IpAddr::V4(_), IpAddr::V4(_)) => {
                self.find_in::<V4>(&self.table.templates, protocol, (client, 0), vip, now)
            }
            (IpAddr::V6(_), IpAddr::V6(_)) => {
                self.find_in::<V6>(&self.table.templates, protocol, (client, 0), vip, now)
            }
            _ => None,
        }
    }

    fn find_in<A: InShard>(
        &self,
        shards: &Shards,
        proto: u8,
        client: (IpAddr, u16),
        vip: (IpAddr, u16),
        now: Time,
    ) -> Option<Conn> {
        let key = Key {
            proto,
            caddr: A::from_ip(&client.0)?,
            cport: client.1,
            vaddr: A::from_ip(&vip.0)?,
            vport: vip.1,
        };
        let hash = shards.client_hash(proto, key.caddr, key.cport);
        let guard = shards.lock(shards.shard_of(hash));
        let table = A::table(&guard);
        let e = table.get(table.find(&key, hash)?)?;
        if tick_le(e.expires, tick_floor(now)) {
            return None;
        }
        let snap = self.current_snapshot();
        Some(conn_of(&snap, e, now))
    }
}

//! ICMP errors about connections (spec §7.6; `ip_vs_out_icmp`, `ip_vs_in_icmp`): relayed
//! along the connection they quote, with NAT's addresses swapped back.

use super::packet::{IcmpInfo, PacketMeta, Side, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use super::snapshot::{DestView, Snapshot};
use super::verdict::{DropReason, Forward, Reply, TunnelIcmp, Verdict};
use super::Engine;
use crate::conn::{tick_floor, InShard, Key, ShardTraffic};
use crate::time::Time;

/// Which way the counted bytes of a relayed error go.
#[derive(Clone, Copy)]
enum Way {
    In,
    Out,
}

impl Engine {
    pub(crate) fn icmp<A: InShard>(
        &self,
        snap: &Snapshot,
        pkt: &PacketMeta,
        info: &IcmpInfo,
        now: Time,
    ) -> Verdict {
        if !info.is_error(A::FAMILY) {
            return Verdict::Pass;
        }
        if pkt.fragment {
            return Verdict::Drop(DropReason::FragmentedIcmp);
        }
        let Some(inner) = info.inner else {
            return Verdict::Pass;
        };
        if !matches!(inner.protocol, IPPROTO_TCP | IPPROTO_UDP | IPPROTO_SCTP) || inner.fragment {
            return Verdict::Pass;
        }
        let (Some(isrc), Some(idst)) = (A::from_ip(&inner.src), A::from_ip(&inner.dst)) else {
            return Verdict::Pass;
        };
        let tick = tick_floor(now);
        let proto = inner.protocol;

        if info.tunnel {
            // An error about our tunnel packet: the quoted client packet is a request.
            let key = Key {
                proto,
                caddr: isrc,
                cport: inner.sport,
                vaddr: idst,
                vport: inner.dport,
            };
            let client = self.table.conns.client_hash(proto, isrc, inner.sport);
            let mut guard = self.table.conns.lock(self.table.conns.shard_of(client));
            let (table, traffic) = A::split(&mut guard);
            let Some(id) = self.live_or_expire(snap, table, table.find(&key, client), tick) else {
                return Verdict::Pass;
            };
            let Some(dest) = table.get(id).map(|e| e.dest) else {
                return Verdict::Pass;
            };
            return self.with_dest(snap, dest, |dv| {
                count(traffic, dv, pkt, Way::Out);
                Verdict::TunnelIcmp(TunnelIcmp {
                    client: inner.src,
                    icmp_type: info.icmp_type,
                    code: info.code,
                    dest: dv.id,
                })
            });
        }

        if pkt.side != Side::Client {
            // From a real server's side, about a packet we sent it: relay to the client.
            let client = self.table.conns.client_hash(proto, isrc, inner.sport);
            let mut guard = self.table.conns.lock(self.table.conns.shard_of(client));
            let (table, traffic) = A::split(&mut guard);
            let sources = snap.reply_sources(inner.dst);
            let found = Self::find_reply(
                table,
                sources,
                client,
                proto,
                isrc,
                inner.sport,
                idst,
                inner.dport,
            );
            if let Some(id) = self.live_or_expire(snap, table, found, tick) {
                if let Some(e) = table.get(id).copied() {
                    return self.with_dest(snap, e.dest, |dv| {
                        count(traffic, dv, pkt, Way::Out);
                        Verdict::IcmpToClient(Reply {
                            method: dv.method,
                            vaddr: e.vaddr.to_ip(),
                            vport: e.vport,
                        })
                    });
                }
            }
        }

        // From the clients' side, about a reply we sent: the quoted packet is reversed.
        let key = Key {
            proto,
            caddr: idst,
            cport: inner.dport,
            vaddr: isrc,
            vport: inner.sport,
        };
        let client = self.table.conns.client_hash(proto, idst, inner.dport);
        let mut guard = self.table.conns.lock(self.table.conns.shard_of(client));
        let (table, traffic) = A::split(&mut guard);
        let Some(id) = self.live_or_expire(snap, table, table.find(&key, client), tick) else {
            return Verdict::Pass;
        };
        let Some(e) = table.get(id).copied() else {
            return Verdict::Pass;
        };
        self.with_dest(snap, e.dest, |dv| {
            count(traffic, dv, pkt, Way::In);
            Verdict::IcmpToServer(Forward {
                method: dv.method,
                daddr: dv.addr,
                dport: e.dport,
                tunnel: dv.tunnel,
                dest: dv.id,
            })
        })
    }

    /// Runs `f` with destination `dest` from `snap` or the latest snapshot.
    pub(crate) fn with_dest(
        &self,
        snap: &Snapshot,
        dest: u32,
        f: impl FnOnce(&DestView) -> Verdict,
    ) -> Verdict {
        match snap.dest(dest) {
            Some(d) => f(d),
            None => match self.current_snapshot().dest(dest) {
                Some(d) => f(d),
                None => Verdict::Drop(DropReason::UnknownDest),
            },
        }
    }
}

/// Counts a relayed error in the connection's traffic, while its server is AVAILABLE.
fn count(traffic: &mut ShardTraffic, dv: &DestView, pkt: &PacketMeta, way: Way) {
    if !dv.available {
        return;
    }
    let bytes = u64::from(pkt.ip_len);
    match way {
        Way::In => traffic.count_in(dv.id.0, bytes),
        Way::Out => traffic.count_out(dv.id.0, bytes),
    }
}

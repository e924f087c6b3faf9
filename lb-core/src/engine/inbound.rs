//! The request path: a client's packet to a virtual service (spec §2.1, `ip_vs_in_hook`).

use super::lifecycle::{Chain, Unbinds};
use super::packet::{PacketMeta, IPPROTO_SCTP, IPPROTO_TCP};
use super::snapshot::Snapshot;
use super::verdict::{DropReason, Forward, Verdict};
use super::Engine;
use crate::conn::{flags, tick_ceil, tick_floor, Entry, InShard, Key, ShardTraffic, Table, NIL};
use crate::proto::{sctp, tcp, Direction};
use crate::time::Time;

/// True for a packet that opens a connection: a TCP SYN, an SCTP INIT (`is_new_conn`).
fn opens_connection(pkt: &PacketMeta) -> bool {
    match pkt.protocol {
        IPPROTO_TCP => pkt.tcp_flags & tcp::SYN != 0,
        IPPROTO_SCTP => pkt.sctp_chunk == Some(sctp::chunk::INIT),
        _ => false,
    }
}

/// True if an old connection hit by a new opener is to be replaced (`is_new_conn_expected`):
/// not controlled by a template, and TCP in TIME_WAIT or CLOSE (with `conn_reuse_mode` bit
/// 1 also FIN_WAIT of a connection whose replies are not seen), SCTP in CLOSED.
fn reusable<A>(e: &Entry<A>, conn_reuse_mode: u32) -> bool {
    if e.control != NIL {
        return false;
    }
    match e.proto {
        IPPROTO_TCP => {
            let s = tcp::State::from_index(usize::from(e.state));
            matches!(s, Some(tcp::State::TimeWait | tcp::State::Close))
                || (conn_reuse_mode & 2 != 0
                    && s == Some(tcp::State::FinWait)
                    && e.flags & flags::NOOUTPUT != 0)
        }
        IPPROTO_SCTP => sctp::State::from_index(usize::from(e.state)) == Some(sctp::State::Closed),
        _ => false,
    }
}

impl Engine {
    pub(crate) fn inbound<A: InShard>(
        &self,
        snap: &Snapshot,
        pkt: &PacketMeta,
        now: Time,
    ) -> Verdict {
        let (Some(caddr), Some(vaddr)) = (A::from_ip(&pkt.src), A::from_ip(&pkt.dst)) else {
            return Verdict::Pass;
        };
        let key = Key {
            proto: pkt.protocol,
            caddr,
            cport: pkt.sport,
            vaddr,
            vport: pkt.dport,
        };
        let client = self.table.conns.client_hash(key.proto, caddr, key.cport);
        let mut guard = self.table.conns.lock(self.table.conns.shard_of(client));
        let (table, traffic) = A::split(&mut guard);
        let tick = tick_floor(now);
        let mut found = self.live_or_expire(snap, table, table.find(&key, client), tick);

        let settings = &snap.settings;
        if let Some(id) = found {
            if !pkt.fragment && opens_connection(pkt) {
                let e = table.get(id).copied();
                let weight_zero = e
                    .and_then(|e| snap.dest(e.dest))
                    .is_some_and(|d| d.weight == 0);
                let resched = if settings.expire_nodest_conn && weight_zero {
                    true
                } else {
                    settings.conn_reuse_mode != 0
                        && e.is_some_and(|e| reusable(&e, settings.conn_reuse_mode))
                };
                if resched {
                    self.drop_for_reschedule(snap, table, id);
                    found = None;
                }
            }
        }
        if let Some(id) = found {
            let available = table
                .get(id)
                .and_then(|e| self.dest_available(snap, e.dest))
                .unwrap_or(false);
            if !available {
                if !settings.expire_nodest_conn {
                    return Verdict::Drop(DropReason::DestUnavailable);
                }
                self.drop_for_reschedule(snap, table, id);
                found = None;
            }
        }
        let id = match found {
            Some(id) => id,
            None => match self.try_schedule(snap, table, pkt, &key, now) {
                Ok(id) => id,
                Err(verdict) => return verdict,
            },
        };
        self.deliver(snap, table, traffic, id, pkt, now)
    }

    /// `ip_vs_conn_expire_now` of a connection that controls nothing.
    fn drop_for_reschedule<A: InShard>(&self, snap: &Snapshot, table: &mut Table<A>, id: u32) {
        if table.get(id).is_some_and(|e| e.n_control == 0) {
            let mut unbinds = Unbinds::default();
            self.remove_conn(snap, table, id, Chain::Keep, &mut unbinds);
            self.flush_unbinds(&mut unbinds);
        }
    }

    /// Whether destination `dest` is AVAILABLE (from the latest snapshot if `snap` does not
    /// know it yet).
    pub(crate) fn dest_available(&self, snap: &Snapshot, dest: u32) -> Option<bool> {
        match snap.dest(dest) {
            Some(d) => Some(d.available),
            None => self.current_snapshot().dest(dest).map(|d| d.available),
        }
    }

    /// The end of the request path for connection `id`: in-stats, the INPUT transition,
    /// the packet counter, the timer, and where the packet goes.
    fn deliver<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut Table<A>,
        traffic: &mut ShardTraffic,
        id: u32,
        pkt: &PacketMeta,
        now: Time,
    ) -> Verdict {
        let Some(e) = table.get(id).copied() else {
            return Verdict::Drop(DropReason::UnknownDest);
        };
        let latest;
        let dv = match snap.dest(e.dest) {
            Some(d) => d,
            None => {
                latest = self.current_snapshot();
                match latest.dest(e.dest) {
                    Some(d) => d,
                    None => return Verdict::Drop(DropReason::UnknownDest),
                }
            }
        };
        if dv.available {
            traffic.count_in(e.dest, u64::from(pkt.ip_len));
        }
        self.transition(snap, table, id, Direction::Input, pkt);
        let verdict = Verdict::Forward(Forward {
            method: dv.method,
            daddr: dv.addr,
            dport: e.dport,
            tunnel: dv.tunnel,
            dest: dv.id,
        });
        if e.flags & flags::ONE_PACKET != 0 {
            if e.control != NIL {
                self.count_control_packet::<A>(e.control);
            }
            let mut unbinds = Unbinds::default();
            self.remove_conn(snap, table, id, Chain::Keep, &mut unbinds);
            self.flush_unbinds(&mut unbinds);
            return verdict;
        }
        if let Some(slot) = table.get_mut(id) {
            slot.in_pkts = slot.in_pkts.wrapping_add(1);
            let expires = tick_ceil(now).wrapping_add(slot.timeout);
            table.arm(id, expires);
        }
        verdict
    }
}

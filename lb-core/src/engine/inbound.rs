//! The request path: a client's packet to a virtual service (spec §2.1, `ip_vs_in_hook`).

use super::lifecycle::{Chain, Unbinds};
use super::packet::{PacketMeta, IPPROTO_SCTP, IPPROTO_TCP};
use super::snapshot::{DestView, Snapshot};
use super::verdict::{DropReason, Forward, Verdict};
use super::Engine;
use crate::conn::{
    flags, tick_ceil, tick_floor, tick_le, Entry, InShard, Key, ShardTraffic, Table, NIL,
};
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
        let found = table.find(&key, client);
        // The common case first: a packet of a live connection that opens nothing, to an
        // available server.
        if let Some(id) = found {
            let opener = !pkt.fragment && opens_connection(pkt);
            let dv = table
                .get(id)
                .filter(|e| !opener && !tick_le(e.expires, tick))
                .and_then(|e| snap.dest(e.dest))
                .filter(|d| d.available);
            if let Some(dv) = dv {
                return self.deliver(snap, table, traffic, id, dv, pkt, now);
            }
        }
        let mut found = self.live_or_expire(snap, table, found, tick);

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
        let (latest, newer);
        if let Some(id) = found {
            let dest = table.get(id).map_or(NIL, |e| e.dest);
            let dv = match snap.dest(dest) {
                Some(d) => Some(d),
                None => {
                    latest = self.current_snapshot();
                    latest.dest(dest)
                }
            };
            match dv {
                Some(dv) if dv.available => {
                    return self.deliver(snap, table, traffic, id, dv, pkt, now);
                }
                _ => {
                    if !settings.expire_nodest_conn {
                        return Verdict::Drop(DropReason::DestUnavailable);
                    }
                    self.drop_for_reschedule(snap, table, id);
                }
            }
        }
        match self.try_schedule(snap, table, traffic, pkt, &key, now) {
            Ok(id) => {
                let dest = table.get(id).map_or(NIL, |e| e.dest);
                let dv = match snap.dest(dest) {
                    Some(d) => Some(d),
                    None => {
                        newer = self.current_snapshot();
                        newer.dest(dest)
                    }
                };
                match dv {
                    Some(dv) => self.deliver(snap, table, traffic, id, dv, pkt, now),
                    None => Verdict::Drop(DropReason::UnknownDest),
                }
            }
            Err(verdict) => verdict,
        }
    }

    /// `ip_vs_conn_expire_now` of a connection that controls nothing.
    fn drop_for_reschedule<A: InShard>(&self, snap: &Snapshot, table: &mut Table<A>, id: u32) {
        if table.get(id).is_some_and(|e| e.n_control == 0) {
            let mut unbinds = Unbinds::default();
            self.remove_conn(snap, table, id, Chain::Keep, &mut unbinds);
            self.flush_unbinds(&mut unbinds);
        }
    }

    /// The end of the request path for connection `id` to real server `dv`: in-stats, the
    /// INPUT transition, the packet counter, the timer, and where the packet goes.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn deliver<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut Table<A>,
        traffic: &mut ShardTraffic,
        id: u32,
        dv: &DestView,
        pkt: &PacketMeta,
        now: Time,
    ) -> Verdict {
        let Some(e) = table.get_mut(id) else {
            return Verdict::Drop(DropReason::UnknownDest);
        };
        if dv.available {
            traffic.count_in(e.dest, u64::from(pkt.ip_len));
        }
        let fx = self.step_entry(snap, e, Direction::Input, pkt);
        let verdict = Verdict::Forward(Forward {
            method: dv.method,
            daddr: dv.addr,
            dport: e.dport,
            tunnel: dv.tunnel,
            dest: dv.id,
        });
        if e.flags & flags::ONE_PACKET != 0 {
            let control = e.control;
            if !fx.is_none() {
                self.apply_effects::<A>(snap, fx);
            }
            if control != NIL {
                self.count_control_packet::<A>(control);
            }
            let mut unbinds = Unbinds::default();
            self.remove_conn(snap, table, id, Chain::Keep, &mut unbinds);
            self.flush_unbinds(&mut unbinds);
            return verdict;
        }
        e.in_pkts = e.in_pkts.wrapping_add(1);
        let expires = tick_ceil(now).wrapping_add(e.timeout);
        let rearmed = Table::rearm_later(e, expires);
        if !fx.is_none() {
            self.apply_effects::<A>(snap, fx);
        }
        if !rearmed {
            table.arm(id, expires);
        }
        verdict
    }
}

//! The reply path: a real server's packet back to a client (spec §2.4, `ip_vs_out_hook`).

use super::packet::{PacketMeta, IPPROTO_SCTP, IPPROTO_TCP};
use super::snapshot::{ReplySources, Snapshot};
use super::verdict::{DropReason, IcmpKind, IcmpSend, Reply, Verdict};
use super::Engine;
use crate::conn::{tick_ceil, tick_floor, InShard, Key, ReplyKey, Table};
use crate::dest::FwdMethod;
use crate::proto::{sctp, tcp, Direction};
use crate::time::Time;

impl Engine {
    /// The connection a packet from (`saddr`, `sport`) to (`caddr`, `cport`) answers
    /// (`ip_vs_conn_out_get`): a NAT connection whose real server is the source, or a
    /// connection of another method whose virtual service is the source.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn find_reply<A: InShard>(
        table: &Table<A>,
        sources: ReplySources,
        client: u64,
        proto: u8,
        caddr: A,
        cport: u16,
        saddr: A,
        sport: u16,
    ) -> Option<u32> {
        let nat = ReplyKey {
            proto,
            caddr,
            cport,
            daddr: saddr,
            dport: sport,
        };
        let found = if sources.nat {
            table.find_reply(&nat, client)
        } else {
            None
        };
        found.or_else(|| {
            if !sources.other {
                return None;
            }
            let other = Key {
                proto,
                caddr,
                cport,
                vaddr: saddr,
                vport: sport,
            };
            table.find(&other, client).filter(|&id| {
                table
                    .get(id)
                    .is_some_and(|e| e.fwd() != FwdMethod::Masq.code() as u16)
            })
        })
    }

    /// A reply of a known connection: out-stats, the OUTPUT transition, the timer. None if
    /// the packet answers no connection. `sources`: [`Snapshot::reply_sources`] of its
    /// source. Inlined: its verdict, returned through memory, was copied at other widths
    /// than it was written.
    #[inline(always)]
    pub(crate) fn reply<A: InShard>(
        &self,
        snap: &Snapshot,
        sources: ReplySources,
        pkt: &PacketMeta,
        now: Time,
    ) -> Option<Verdict> {
        if !sources.nat && !sources.other {
            return None;
        }
        let caddr = A::from_ip(&pkt.dst)?;
        let saddr = A::from_ip(&pkt.src)?;
        let client = self.table.conns.client_hash(pkt.protocol, caddr, pkt.dport);
        let mut guard = self.table.conns.lock(self.table.conns.shard_of(client));
        let (table, traffic) = A::split(&mut guard);
        let found = Self::find_reply(
            table,
            sources,
            client,
            pkt.protocol,
            caddr,
            pkt.dport,
            saddr,
            pkt.sport,
        );
        let id = self.live_or_expire(snap, table, found, tick_floor(now))?;
        let dest = table.get(id)?.dest;
        let latest;
        let dv = match snap.dest(dest) {
            Some(d) => d,
            None => {
                latest = self.current_snapshot();
                match latest.dest(dest) {
                    Some(d) => d,
                    None => return Some(Verdict::Drop(DropReason::UnknownDest)),
                }
            }
        };
        let e = table.get_mut(id)?;
        if dv.available {
            traffic.count_out(e.dest, u64::from(pkt.ip_len));
        }
        let fx = self.step_entry(snap, e, Direction::Output, pkt);
        let verdict = Verdict::Reply(Reply {
            method: dv.method,
            vaddr: e.vaddr.to_ip(),
            vport: e.vport,
        });
        let expires = tick_ceil(now).wrapping_add(e.timeout);
        let rearmed = Table::rearm_later(e, expires);
        if !fx.is_none() {
            self.apply_effects::<A>(snap, fx);
        }
        if !rearmed {
            table.arm(id, expires);
        }
        Some(verdict)
    }

    /// `nat_icmp_send`: a NAT real server's packet that answers no connection is refused
    /// with port unreachable, unless it is a TCP RST or an SCTP ABORT.
    pub(crate) fn nat_icmp_send(&self, snap: &Snapshot, pkt: &PacketMeta) -> Option<Verdict> {
        if !snap.settings.nat_icmp_send || !snap.is_nat_server(pkt.protocol, pkt.src, pkt.sport) {
            return None;
        }
        let reset = match pkt.protocol {
            IPPROTO_TCP => pkt.tcp_flags & tcp::RST != 0,
            IPPROTO_SCTP => pkt.sctp_chunk == Some(sctp::chunk::ABORT),
            _ => false,
        };
        (!reset).then_some(Verdict::SendIcmp(IcmpSend {
            kind: IcmpKind::PortUnreachable,
            to: pkt.src,
            reason: DropReason::UnknownNatReply,
        }))
    }
}

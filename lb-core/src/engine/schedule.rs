//! Opening a connection (spec §2.1 step 6, §2.2, §2.3, §6.3): the protocol's
//! `conn_schedule`, `ip_vs_schedule` with its persistence templates, and `ip_vs_leave`.

use super::model::Target;
use super::packet::{PacketMeta, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use super::snapshot::{ServiceView, Snapshot, FTP_DATA_PORT, FTP_PORT};
use super::verdict::{DropReason, IcmpKind, IcmpSend, Verdict};
use super::Engine;
use crate::conn::{
    flags, tick_ceil, tick_floor, ticks, ConnTable, Entry, InShard, Key, ShardTraffic, Table, NIL,
};
use crate::dest::{ConnKind, FwdMethod};
use crate::proto::{sctp, tcp, Direction, Timeouts};
use crate::sched::{SchedFlags, SchedInput};
use crate::service::Protocol;
use crate::time::Time;

/// Why no connection was made.
enum NoConn {
    /// The packet must not be scheduled: leave it to the host (`*ignored = 1`).
    Ignored,
    /// No real server: `ip_vs_leave` (`*ignored = 0`).
    NoDest,
    /// No memory for the entry (`*ignored = -1`): drop.
    Fatal,
}

/// The flags a new connection takes from its real server and service (`ip_vs_bind_dest`):
/// the forwarding method, INACTIVE, NOOUTPUT for every method but NAT.
fn dest_flags(method: FwdMethod) -> u16 {
    let mut f = method.code() as u16 | flags::INACTIVE;
    if method != FwdMethod::Masq {
        f |= flags::NOOUTPUT;
    }
    f
}

impl Engine {
    /// A packet without a connection: make one, or say what happens to the packet.
    pub(crate) fn try_schedule<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut Table<A>,
        traffic: &mut ShardTraffic,
        pkt: &PacketMeta,
        key: &Key<A>,
        now: Time,
    ) -> Result<u32, Verdict> {
        if pkt.fragment {
            return Err(Verdict::Pass);
        }
        let settings = &snap.settings;
        match pkt.protocol {
            IPPROTO_TCP => {
                if !tcp::creates_connection(pkt.tcp_flags, settings.sloppy_tcp) {
                    return Err(Verdict::Pass);
                }
            }
            IPPROTO_SCTP => match pkt.sctp_chunk {
                None => return Err(Verdict::Drop(DropReason::Malformed)),
                Some(c) => {
                    if !sctp::creates_connection(c, settings.sloppy_sctp) {
                        return Err(Verdict::Pass);
                    }
                }
            },
            IPPROTO_UDP => {}
            _ => return Err(Verdict::Pass),
        }
        let Some(svc) = snap
            .find_service(A::FAMILY, pkt.fwmark, pkt.protocol, pkt.dst, pkt.dport)
            .and_then(|i| snap.services.get(i))
        else {
            return Err(Verdict::Pass);
        };
        if self.defense.todrop() {
            return Err(Verdict::Drop(DropReason::DefenseDropPacket));
        }
        let made = if key.cport == FTP_DATA_PORT {
            Err(NoConn::Ignored)
        } else if svc.persistence.is_some() {
            self.schedule_persistent(snap, table, traffic, svc, pkt, key, now)
        } else {
            self.schedule_plain(table, traffic, svc, pkt, key, now)
        };
        match made {
            Ok(id) => Ok(id),
            Err(NoConn::Ignored) => Err(Verdict::Pass),
            Err(NoConn::Fatal) => Err(Verdict::Drop(DropReason::NoMemory)),
            Err(NoConn::NoDest) => Err(leave(svc, pkt)),
        }
    }

    fn sched_input<A: InShard>(svc: &ServiceView, key: &Key<A>, now: Time) -> Option<SchedInput> {
        Some(SchedInput {
            proto: match svc.key {
                crate::ServiceKey::Addr { proto, .. } => proto,
                crate::ServiceKey::Fwmark { .. } => match key.proto {
                    IPPROTO_TCP => Protocol::Tcp,
                    IPPROTO_UDP => Protocol::Udp,
                    IPPROTO_SCTP => Protocol::Sctp,
                    _ => return None,
                },
            },
            caddr: key.caddr.to_ip(),
            cport: key.cport,
            vaddr: key.vaddr.to_ip(),
            vport: key.vport,
            flags: SchedFlags::default(),
            now,
        })
    }

    /// A non-persistent service.
    fn schedule_plain<A: InShard>(
        &self,
        table: &mut Table<A>,
        traffic: &mut ShardTraffic,
        svc: &ServiceView,
        pkt: &PacketMeta,
        key: &Key<A>,
        now: Time,
    ) -> Result<u32, NoConn> {
        if svc.fwmark == 0 && key.vport != svc.port {
            // "port zero only supported in persistent services".
            return Err(NoConn::NoDest);
        }
        if !table.reserve(&self.table.budget, true) {
            return Err(NoConn::Fatal);
        }
        let input = Self::sched_input(svc, key, now).ok_or(NoConn::Ignored)?;
        let target = svc
            .cell
            .lock()
            .schedule(&input, |method| self.opening_kind(pkt, method))
            .ok_or(NoConn::NoDest)?;
        traffic.count_conn(target.id.0);
        let dport = if target.port != 0 {
            target.port
        } else {
            key.vport
        };
        let entry = self.new_entry(svc, pkt, key, &target, dport, NIL, now);
        self.insert_conn(table, entry, svc, &target, now)
    }

    /// How a connection opened by `pkt` to a server reached by `method` counts once its
    /// first packet went through the state machine (INPUT from NONE). Binding it that way at
    /// once gives the counters the kernel reaches by binding it inactive and moving it at
    /// the first transition — and takes the service's lock once instead of twice.
    fn opening_kind(&self, pkt: &PacketMeta, method: FwdMethod) -> ConnKind {
        let timeouts = Timeouts::default();
        let no_output = method != FwdMethod::Masq;
        let active = match pkt.protocol {
            IPPROTO_TCP => {
                let table = if self.defense.secure_tcp() {
                    tcp::Table::Secure
                } else {
                    tcp::Table::Normal
                };
                let first = tcp::on_packet(
                    table,
                    &timeouts,
                    Direction::Input,
                    no_output,
                    tcp::State::None,
                    pkt.tcp_flags,
                );
                first.state.is_active()
            }
            IPPROTO_SCTP => pkt.sctp_event.is_some_and(|event| {
                let first = sctp::on_packet(
                    &timeouts,
                    Direction::Input,
                    no_output,
                    sctp::State::None,
                    event,
                );
                first.state.is_active()
            }),
            _ => false,
        };
        if active {
            ConnKind::Active
        } else {
            ConnKind::Inactive
        }
    }

    /// A connection entry bound to `target`.
    #[allow(clippy::too_many_arguments)]
    fn new_entry<A: InShard>(
        &self,
        svc: &ServiceView,
        pkt: &PacketMeta,
        key: &Key<A>,
        target: &Target,
        dport: u16,
        control: u32,
        now: Time,
    ) -> Entry<A> {
        let mut f = dest_flags(target.method);
        if target.kind == ConnKind::Active {
            f &= !flags::INACTIVE;
        }
        if svc.one_packet && pkt.protocol == IPPROTO_UDP {
            f |= flags::ONE_PACKET;
        }
        let timeout = ticks(Timeouts::NEW_CONNECTION);
        Entry {
            proto: key.proto,
            caddr: key.caddr,
            cport: key.cport,
            vaddr: key.vaddr,
            vport: key.vport,
            daddr: A::from_ip(&target.addr).unwrap_or_default(),
            dport,
            flags: f,
            state: 0,
            dest: target.id.0,
            control,
            timeout,
            expires: tick_ceil(now).wrapping_add(timeout),
            ..Entry::default()
        }
    }

    /// Inserts a new connection into its reserved table.
    fn insert_conn<A: InShard>(
        &self,
        table: &mut Table<A>,
        entry: Entry<A>,
        svc: &ServiceView,
        target: &Target,
        now: Time,
    ) -> Result<u32, NoConn> {
        match table.insert(entry, tick_floor(now)) {
            Some(id) => Ok(id),
            None => {
                // Not reached: room was reserved under the same lock.
                svc.cell.lock().unbind(target.id, target.kind);
                Err(NoConn::Fatal)
            }
        }
    }

    /// A persistent service (`ip_vs_sched_persist`, spec §6.3).
    #[allow(clippy::too_many_arguments)]
    fn schedule_persistent<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut Table<A>,
        traffic: &mut ShardTraffic,
        svc: &ServiceView,
        pkt: &PacketMeta,
        key: &Key<A>,
        now: Time,
    ) -> Result<u32, NoConn> {
        let persistence = svc.persistence.unwrap_or(0);
        // The template's tuple: per port for a port service (the FTP service: per client),
        // per client for a catch-all service, per client and mark for a mark service.
        let snet = key.caddr.masked(svc.netmask);
        let (tproto, tvaddr, tvport) = if key.vport == svc.port {
            (
                key.proto,
                key.vaddr,
                if svc.port != FTP_PORT { key.vport } else { 0 },
            )
        } else if svc.fwmark != 0 {
            (0, A::from_fwmark(svc.fwmark), 0)
        } else {
            (key.proto, key.vaddr, 0)
        };
        let tkey = Key {
            proto: tproto,
            caddr: snet,
            cport: 0,
            vaddr: tvaddr,
            vport: tvport,
        };
        if !table.reserve(&self.table.budget, true) {
            return Err(NoConn::Fatal);
        }
        let input = Self::sched_input(svc, key, now).ok_or(NoConn::Ignored)?;
        let thash = self.table.templates.client_hash(tproto, snet, 0);
        let tshard = self.table.templates.shard_of(thash);
        let mut tguard = self.table.templates.lock(tshard);
        let ttable = A::table_mut(&mut tguard);
        if !ttable.reserve(&self.table.budget, false) {
            return Err(NoConn::Fatal);
        }
        let tick = tick_floor(now);
        let mut template = self.live_or_expire(snap, ttable, ttable.find(&tkey, thash), tick);

        let expire_quiescent = snap.settings.expire_quiescent_template;
        let mut m = svc.cell.lock();
        if let Some(tid) = template {
            let valid = ttable.get(tid).is_some_and(|t| {
                let dv = snap.dest(t.dest);
                dv.is_some_and(|d| m.template_dest_valid(d.id, d.addr, d.port, expire_quiescent))
            });
            if !valid {
                // Invalidate it: it never matches again and is left to expire.
                if ttable.get(tid).is_some_and(|t| t.vport != 0xffff) {
                    ttable.rekey(tid, |t| {
                        t.dport = 0xffff;
                        t.vport = 0xffff;
                        t.cport = 0;
                    });
                }
                template = None;
            }
        }
        let (tid, target) = match template {
            Some(tid) => {
                let bound = ttable
                    .get(tid)
                    .and_then(|t| snap.dest(t.dest))
                    .and_then(|d| {
                        m.bind(d.id, d.addr, d.port, |method| {
                            self.opening_kind(pkt, method)
                        })
                    });
                match bound {
                    Some(target) => (tid, target),
                    None => return Err(NoConn::NoDest),
                }
            }
            None => {
                let target = m
                    .schedule(&input, |_| ConnKind::Template)
                    .ok_or(NoConn::NoDest)?;
                let tdport = if key.vport == svc.port && svc.port != FTP_PORT {
                    target.port
                } else {
                    0
                };
                let tentry = Entry {
                    proto: tproto,
                    caddr: snet,
                    cport: 0,
                    vaddr: tvaddr,
                    vport: tvport,
                    daddr: A::from_ip(&target.addr).unwrap_or_default(),
                    dport: tdport,
                    flags: dest_flags(target.method) | flags::TEMPLATE,
                    state: 0,
                    dest: target.id.0,
                    control: NIL,
                    timeout: persistence,
                    expires: tick_ceil(now).wrapping_add(persistence),
                    ..Entry::default()
                };
                let Some(tid) = ttable.insert(tentry, tick) else {
                    m.unbind(target.id, ConnKind::Template);
                    return Err(NoConn::Fatal);
                };
                let bound = m.bind(target.id, target.addr, target.port, |method| {
                    self.opening_kind(pkt, method)
                });
                match bound {
                    Some(t) => (tid, t),
                    None => return Err(NoConn::NoDest),
                }
            }
        };
        drop(m);
        traffic.count_conn(target.id.0);
        // ip_vs_control_add, then the template's put re-arms it with its timeout.
        if let Some(t) = ttable.get_mut(tid) {
            t.n_control = t.n_control.saturating_add(1);
            let expires = tick_ceil(now).wrapping_add(t.timeout);
            ttable.arm(tid, expires);
        }
        drop(tguard);
        let dport = if key.vport == svc.port && target.port != 0 {
            target.port
        } else {
            key.vport
        };
        let control = ConnTable::template_handle(tshard, tid);
        let entry = self.new_entry(svc, pkt, key, &target, dport, control, now);
        match table.insert(entry, tick) {
            Some(id) => Ok(id),
            None => {
                // Not reached: room was reserved under the same lock.
                svc.cell.lock().unbind(target.id, target.kind);
                let mut tguard = self.table.templates.lock(tshard);
                if let Some(t) = A::table_mut(&mut tguard).get_mut(tid) {
                    t.n_control = t.n_control.saturating_sub(1);
                }
                Err(NoConn::Fatal)
            }
        }
    }
}

/// No real server for a new connection (`ip_vs_leave`, spec §2.3).
fn leave(svc: &ServiceView, pkt: &PacketMeta) -> Verdict {
    if svc.port == FTP_PORT && pkt.dport != FTP_PORT {
        return Verdict::Pass;
    }
    Verdict::SendIcmp(IcmpSend {
        kind: IcmpKind::PortUnreachable,
        to: pkt.src,
        reason: DropReason::NoServer,
    })
}

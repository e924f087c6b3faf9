//! The engine's model: the [`Ipvs`] table with its schedulers and destination counters,
//! behind one lock that the packet path takes only to schedule a new connection and to move
//! a destination's connection counters (a state change, an expiry); and the rate
//! estimators.

use std::collections::HashMap;
use std::net::IpAddr;

use super::settings::Settings;
use super::snapshot::{DestView, ServiceView, Snapshot, SnapshotParts};
use crate::dest::{ConnKind, DestId, FwdMethod};
use crate::estimator::{Estimator, Rates};
use crate::ipvs::Ipvs;
use crate::sched::SchedInput;
use crate::service::ServiceKey;
use crate::stats::Counters;

/// The real server a new connection was bound to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    pub id: DestId,
    pub addr: IpAddr,
    pub port: u16,
    pub method: FwdMethod,
    /// How the connection (or template) was bound.
    pub kind: ConnKind,
}

/// Whose rates an estimator keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum EstimatorOf {
    Total,
    Service(ServiceKey),
    Dest(DestId),
}

#[derive(Debug)]
pub(crate) struct Model {
    pub ipvs: Ipvs,
    pub settings: Settings,
    /// The service of every destination the packet path may count traffic for.
    dest_service: HashMap<DestId, ServiceKey>,
    estimators: HashMap<EstimatorOf, Estimator>,
}

impl Model {
    pub fn new(ipvs: Ipvs, settings: Settings) -> Model {
        Model {
            ipvs,
            settings,
            dest_service: HashMap::new(),
            estimators: HashMap::new(),
        }
    }

    /// Adds traffic counted by the packet path (per destination id) to the statistics of
    /// each destination, of its service and of the whole director (spec §10: the three are
    /// counted for the same packets).
    pub fn fold(&mut self, drained: &[(u32, Counters)]) {
        for (id, c) in drained {
            let Some(key) = self.dest_service.get(&DestId(*id)).copied() else {
                continue;
            };
            if let Some(s) = self.ipvs.dest_stats_mut(&key, DestId(*id)) {
                add(&mut s.total, c);
            }
            if let Some(svc) = self.ipvs.service_mut(&key) {
                add(&mut svc.stats.total, c);
            }
            add(&mut self.ipvs.stats.total, c);
        }
    }

    /// The snapshot of the current configuration.
    pub fn snapshot(&mut self) -> Snapshot {
        let mut services = Vec::new();
        let mut dests = Vec::new();
        for svc in self.ipvs.services() {
            let key = *svc.key();
            let conf = svc.conf();
            services.push(ServiceView {
                key,
                port: key.port(),
                fwmark: match key {
                    ServiceKey::Fwmark { mark, .. } => mark,
                    ServiceKey::Addr { .. } => 0,
                },
                persistence: Snapshot::persistence_ticks(conf.persistence),
                netmask: conf.netmask,
                one_packet: conf.one_packet,
            });
            for d in svc.dests().iter() {
                dests.push(DestView {
                    id: d.id(),
                    addr: d.addr(),
                    port: d.port(),
                    method: d.conf().method,
                    tunnel: d.conf().tunnel,
                    weight: d.weight(),
                    available: d.is_available(),
                    service_key: key,
                    service_one_packet: conf.one_packet,
                });
            }
        }
        for t in self.ipvs.trash() {
            let d = &t.dest;
            dests.push(DestView {
                id: d.id(),
                addr: d.addr(),
                port: d.port(),
                method: d.conf().method,
                tunnel: d.conf().tunnel,
                weight: d.weight(),
                available: false,
                service_key: t.service,
                service_one_packet: services
                    .iter()
                    .find(|s| s.key == t.service)
                    .is_some_and(|s| s.one_packet),
            });
        }
        self.dest_service = dests.iter().map(|d| (d.id, d.service_key)).collect();
        let live: Vec<EstimatorOf> = std::iter::once(EstimatorOf::Total)
            .chain(services.iter().map(|s| EstimatorOf::Service(s.key)))
            .chain(dests.iter().map(|d| EstimatorOf::Dest(d.id)))
            .collect();
        self.estimators.retain(|k, _| live.contains(k));
        Snapshot::build(SnapshotParts {
            settings: self.settings.clone(),
            services,
            dests,
        })
    }

    /// Asks the scheduler of service `key` for a real server and binds a new connection (or
    /// template) to it, counting as `kind` gives for the server's forwarding method. None:
    /// no service, or "no destination available".
    pub fn schedule(
        &mut self,
        key: &ServiceKey,
        input: &SchedInput,
        kind: impl FnOnce(FwdMethod) -> ConnKind,
    ) -> Option<Target> {
        let svc = self.ipvs.service_mut(key)?;
        let pos = svc.schedule(input)?;
        let d = svc.dests().get(pos)?;
        let method = d.conf().method;
        let target = Target {
            id: d.id(),
            addr: d.addr(),
            port: d.port(),
            method,
            kind: kind(method),
        };
        svc.bind(pos, target.kind);
        Some(target)
    }

    /// Binds a new connection to real server `id` (found at `addr`:`port`) of service
    /// `key`, if it is still linked there, counting as `kind` gives for its method.
    pub fn bind(
        &mut self,
        key: &ServiceKey,
        id: DestId,
        addr: IpAddr,
        port: u16,
        kind: impl FnOnce(FwdMethod) -> ConnKind,
    ) -> Option<Target> {
        let svc = self.ipvs.service_mut(key)?;
        let pos = svc.dests().position(addr, port)?;
        let d = svc.dests().get(pos)?;
        if d.id() != id {
            return None;
        }
        let method = d.conf().method;
        let target = Target {
            id,
            addr,
            port,
            method,
            kind: kind(method),
        };
        svc.bind(pos, target.kind);
        Some(target)
    }

    /// Counts a scheduled connection in the "conns" counters of its real server, its
    /// service and the total (`ip_vs_conn_stats`).
    pub fn count_conn(&mut self, key: &ServiceKey, id: DestId) {
        if let Some(s) = self.ipvs.dest_stats_mut(key, id) {
            s.total.conns = s.total.conns.wrapping_add(1);
        }
        if let Some(svc) = self.ipvs.service_mut(key) {
            svc.stats.total.conns = svc.stats.total.conns.wrapping_add(1);
        }
        self.ipvs.stats.total.conns = self.ipvs.stats.total.conns.wrapping_add(1);
    }

    /// Whether real server `id` of service `key` may still take a template's clients
    /// (`ip_vs_check_template`): linked (AVAILABLE) and, with
    /// `expire_quiescent_template`, of non-zero weight.
    pub fn template_dest_valid(
        &self,
        key: &ServiceKey,
        id: DestId,
        addr: IpAddr,
        port: u16,
    ) -> bool {
        let Some(svc) = self.ipvs.service(key) else {
            return false;
        };
        let Some(d) = svc
            .dests()
            .position(addr, port)
            .and_then(|p| svc.dests().get(p))
        else {
            return false;
        };
        d.id() == id
            && d.is_available()
            && !(self.settings.expire_quiescent_template && d.weight() == 0)
    }

    /// One estimator period: every stats object's rates take in their counters (fold the
    /// packet path's counts first).
    pub fn estimate(&mut self) {
        let total = self.ipvs.stats.total;
        self.estimators
            .entry(EstimatorOf::Total)
            .or_default()
            .update(&total);
        for svc in self.ipvs.services() {
            let key = *svc.key();
            self.estimators
                .entry(EstimatorOf::Service(key))
                .or_default()
                .update(&svc.stats.total);
            for d in svc.dests().iter() {
                self.estimators
                    .entry(EstimatorOf::Dest(d.id()))
                    .or_default()
                    .update(&d.stats.total);
            }
        }
        for t in self.ipvs.trash() {
            self.estimators
                .entry(EstimatorOf::Dest(t.dest.id()))
                .or_default()
                .update(&t.dest.stats.total);
        }
    }

    /// The rates of a stats object.
    pub fn rates(&self, of: EstimatorOf) -> Rates {
        self.estimators
            .get(&of)
            .map(Estimator::rates)
            .unwrap_or_default()
    }

    /// `-Z`: the estimators of `key` (and its real servers), or all, restart from zero.
    pub fn zero_estimators(&mut self, key: Option<&ServiceKey>) {
        let dests: Vec<DestId> = match key {
            Some(k) => self
                .ipvs
                .service(k)
                .map(|s| s.dests().iter().map(|d| d.id()).collect())
                .unwrap_or_default(),
            None => Vec::new(),
        };
        for (of, est) in self.estimators.iter_mut() {
            let hit = match (key, of) {
                (None, _) => true,
                (Some(k), EstimatorOf::Service(s)) => s == k,
                (Some(_), EstimatorOf::Dest(d)) => dests.contains(d),
                (Some(_), EstimatorOf::Total) => false,
            };
            if hit {
                est.zero();
            }
        }
    }
}

fn add(to: &mut Counters, c: &Counters) {
    to.inpkts = to.inpkts.wrapping_add(c.inpkts);
    to.inbytes = to.inbytes.wrapping_add(c.inbytes);
    to.outpkts = to.outpkts.wrapping_add(c.outpkts);
    to.outbytes = to.outbytes.wrapping_add(c.outbytes);
}

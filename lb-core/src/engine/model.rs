//! The engine's model: the [`Ipvs`] table that `ipvsadm` edits, lists and saves, the
//! settings, the cells that hold each service's live scheduler and counters while the
//! engine runs ([`super::cell`]), and the rate estimators. The packet path never takes its
//! lock.

use std::collections::HashMap;
use std::net::IpAddr;

use super::cell::Cells;
use super::settings::Settings;
use super::snapshot::{DestView, ServiceView, Snapshot, SnapshotParts};
use crate::dest::{ConnKind, DestId, FwdMethod};
use crate::estimator::{Estimator, Rates};
use crate::ipvs::Ipvs;
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
    /// The services' cells.
    pub cells: Cells,
}

impl Model {
    pub fn new(ipvs: Ipvs, settings: Settings) -> Model {
        Model {
            ipvs,
            settings,
            dest_service: HashMap::new(),
            estimators: HashMap::new(),
            cells: Cells::default(),
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

    /// The snapshot of the current configuration (every service checked in, every cell
    /// made: [`Cells::cover`]).
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
                cell: self.cells.get_or_make(key),
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
                    cell: self.cells.get_or_make(key),
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
                cell: self.cells.get_or_make(t.service),
                service_one_packet: services
                    .iter()
                    .find(|s| s.key == t.service)
                    .is_some_and(|s| s.one_packet),
            });
        }
        self.dest_service = dests.iter().map(|d| (d.id, d.service_key)).collect();
        let live: std::collections::HashSet<EstimatorOf> = std::iter::once(EstimatorOf::Total)
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
    to.conns = to.conns.wrapping_add(c.conns);
    to.inpkts = to.inpkts.wrapping_add(c.inpkts);
    to.inbytes = to.inbytes.wrapping_add(c.inbytes);
    to.outpkts = to.outpkts.wrapping_add(c.outpkts);
    to.outbytes = to.outbytes.wrapping_add(c.outbytes);
}

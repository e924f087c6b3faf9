//! The packet path's share of one virtual service: its live scheduler and destination
//! counters behind the service's own lock (as the kernel's per-service `sched_lock` and
//! per-destination atomic counters), so that new connections, state changes and expiries of
//! different services never wait for each other, nor for one global lock.
//!
//! While the engine runs, each service's [`Service`] value (scheduler state, destination
//! list, counters, OVERLOAD flags) lives in its cell, and the [`Ipvs`] table of the model
//! holds a hollow stand-in. An administrative operation (an `ipvsadm` edit, a listing, `-Z`,
//! the estimator, the trash timer) *checks in* every service: with the model lock held it
//! locks every cell, moves each live service back into the table, runs, and moves them out
//! again (into new cells for new services) before it lets go. `ipvsadm` therefore edits,
//! lists and saves one consistent table, while the packet path only ever holds one cell
//! lock at a time.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use super::model::Target;
use crate::dest::{ConnKind, DestId, FwdMethod};
use crate::ipvs::Ipvs;
use crate::sched::{SchedInput, SchedParams};
use crate::service::{DestList, Service, ServiceKey};

/// A counter move of a destination no longer in its service's list (deleted into the
/// trash), applied to the model at the next check-in.
#[derive(Debug, Clone, Copy)]
enum Orphan {
    Unbind(ConnKind),
    Activity(bool),
}

/// What a cell's lock guards.
#[derive(Debug, Default)]
pub(crate) struct CellState {
    /// The live service; `None` while checked in, or once the service was deleted.
    service: Option<Service>,
    /// Counter moves of destinations that were not in the list.
    orphans: Vec<(DestId, Orphan)>,
}

/// One service's cell.
#[derive(Debug)]
pub(crate) struct ServiceCell {
    key: ServiceKey,
    state: Mutex<CellState>,
}

impl ServiceCell {
    fn new(key: ServiceKey) -> ServiceCell {
        ServiceCell {
            key,
            state: Mutex::new(CellState::default()),
        }
    }

    /// Locks the cell (a poisoned lock is taken over: the state is consistent between
    /// operations).
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, CellState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CellState {
    /// Asks the service's scheduler for a real server and binds a new connection (or
    /// template) to it, counting as `kind` gives for the server's forwarding method. None:
    /// the service is gone, or "no destination available".
    pub fn schedule(
        &mut self,
        input: &SchedInput,
        kind: impl FnOnce(FwdMethod) -> ConnKind,
    ) -> Option<Target> {
        let svc = self.service.as_mut()?;
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

    /// Binds a new connection to real server `id` (found at `addr`:`port`), if it is still
    /// linked to the service, counting as `kind` gives for its method.
    pub fn bind(
        &mut self,
        id: DestId,
        addr: std::net::IpAddr,
        port: u16,
        kind: impl FnOnce(FwdMethod) -> ConnKind,
    ) -> Option<Target> {
        let svc = self.service.as_mut()?;
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

    /// Whether real server `id` (at `addr`:`port`) may still take a template's clients
    /// (`ip_vs_check_template`): linked (AVAILABLE) and, with `expire_quiescent`, of non-zero
    /// weight.
    pub fn template_dest_valid(
        &self,
        id: DestId,
        addr: std::net::IpAddr,
        port: u16,
        expire_quiescent: bool,
    ) -> bool {
        let Some(svc) = self.service.as_ref() else {
            return false;
        };
        let Some(d) = svc
            .dests()
            .position(addr, port)
            .and_then(|p| svc.dests().get(p))
        else {
            return false;
        };
        d.id() == id && d.is_available() && !(expire_quiescent && d.weight() == 0)
    }

    /// A connection (or template) leaves real server `id` (`ip_vs_unbind_dest`).
    pub fn unbind(&mut self, id: DestId, kind: ConnKind) {
        match self.position(id) {
            Some(pos) => {
                if let Some(svc) = self.service.as_mut() {
                    svc.unbind(pos, kind);
                }
            }
            None => self.orphans.push((id, Orphan::Unbind(kind))),
        }
    }

    /// A connection of real server `id` becomes active or inactive.
    pub fn set_activity(&mut self, id: DestId, now_active: bool) {
        match self.position(id) {
            Some(pos) => {
                if let Some(svc) = self.service.as_mut() {
                    svc.set_activity(pos, now_active);
                }
            }
            None => self.orphans.push((id, Orphan::Activity(now_active))),
        }
    }

    fn position(&self, id: DestId) -> Option<usize> {
        self.service.as_ref()?.dests().position_of_id(id)
    }
}

/// A hollow service left in the model's table while the live one is in its cell: same
/// identity and configuration, no destinations, a scheduler that is never asked.
fn stand_in(svc: &Service, params: &SchedParams) -> Option<Service> {
    let sched = crate::sched::new("rr", &DestList::default(), params).ok()?;
    Some(Service::new(*svc.key(), svc.conf().clone(), sched))
}

/// Every cell, by service identity: one for each service and for each identity that still
/// has destinations in the trash.
#[derive(Debug, Default)]
pub(crate) struct Cells {
    by_key: HashMap<ServiceKey, Arc<ServiceCell>>,
}

impl Cells {
    /// The cell of `key`, made if missing.
    pub fn get_or_make(&mut self, key: ServiceKey) -> Arc<ServiceCell> {
        Arc::clone(
            self.by_key
                .entry(key)
                .or_insert_with(|| Arc::new(ServiceCell::new(key))),
        )
    }

    /// Every cell, in a fixed order (the order their locks are taken in).
    pub fn all(&self) -> Vec<Arc<ServiceCell>> {
        let mut v: Vec<_> = self.by_key.values().cloned().collect();
        v.sort_by_key(|c| Arc::as_ptr(c) as usize);
        v
    }

    /// Makes sure that every service of `ipvs`, and every identity with destinations in
    /// its trash, has a cell; drops the cells of identities that have neither.
    pub fn cover(&mut self, ipvs: &Ipvs) {
        let keys: HashSet<ServiceKey> = ipvs
            .services()
            .iter()
            .map(|s| *s.key())
            .chain(ipvs.trash().iter().map(|t| t.service))
            .collect();
        for &k in &keys {
            self.get_or_make(k);
        }
        self.by_key.retain(|k, _| keys.contains(k));
    }
}

/// Moves the live services held by the (locked) cells back into `ipvs`, and applies the
/// counter moves of their orphaned destinations.
pub(crate) fn check_in<'a>(
    ipvs: &mut Ipvs,
    cells: impl Iterator<Item = (&'a ServiceCell, &'a mut CellState)>,
) {
    let mut live: HashMap<ServiceKey, Service> = HashMap::new();
    let mut orphans = Vec::new();
    for (cell, state) in cells {
        if let Some(svc) = state.service.take() {
            live.insert(cell.key, svc);
        }
        orphans.extend(state.orphans.drain(..).map(|(id, m)| (cell.key, id, m)));
    }
    for slot in ipvs.services_mut() {
        if let Some(svc) = live.remove(slot.key()) {
            *slot = svc;
        }
    }
    for (key, id, m) in orphans {
        match m {
            Orphan::Unbind(kind) => ipvs.unbind(&key, id, kind),
            Orphan::Activity(active) => ipvs.set_activity(&key, id, active),
        }
    }
}

/// Moves every service of `ipvs` out into its (locked) cell, leaving a stand-in; the cells
/// of deleted services stay empty.
pub(crate) fn check_out<'a>(
    ipvs: &mut Ipvs,
    cells: impl Iterator<Item = (&'a ServiceCell, &'a mut CellState)>,
) {
    let params = *ipvs.params();
    let mut by_key: HashMap<ServiceKey, &mut CellState> =
        cells.map(|(cell, state)| (cell.key, state)).collect();
    for slot in ipvs.services_mut() {
        let Some(state) = by_key.get_mut(slot.key()) else {
            continue;
        };
        if let Some(hollow) = stand_in(slot, &params) {
            state.service = Some(std::mem::replace(slot, hollow));
        }
    }
}

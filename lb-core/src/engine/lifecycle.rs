//! How entries leave the table, and what goes with them (spec §4.4): the destination's
//! counters, the controlling template's `n_control`, and — for explicit deletions — the
//! template itself.

use std::sync::Arc;
use std::time::Duration;

use super::cell::ServiceCell;
use super::snapshot::Snapshot;
use super::Engine;
use crate::conn::{flags, tick_le, ticks, ConnTable, Entry, InShard, Table, NIL, TEMPLATE_ASSURED};
use crate::dest::{ConnKind, DestId};

/// The 60 s an entry that still controls connections is kept when it expires
/// (`expire_later`).
pub(crate) const EXPIRE_LATER: Duration = Duration::from_secs(60);

/// How far the removal of a controlled connection reaches up to its template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chain {
    /// An expiry: the template only loses a controlled connection.
    Keep,
    /// `ip_vs_conn_del` (the `drop_entry` defense): the template goes too if it now controls
    /// nothing and is not ASSURED.
    DropUnassured,
    /// The `expire_nodest_conn` flush: the template goes if it now controls nothing.
    DropUnused,
}

/// Destination counter moves waiting for their service's lock, so that removals are not
/// made under a template shard's lock and many removals of one service take it once.
#[derive(Debug, Default)]
pub(crate) struct Unbinds {
    /// (service, server, how it counted, how many).
    jobs: Vec<(Arc<ServiceCell>, DestId, ConnKind, u32)>,
}

impl Unbinds {
    /// How many of the latest jobs a new move is merged into, when it is the same.
    const MERGE_WINDOW: usize = 8;

    /// Queues one move of server `id` of `cell`'s service, merged into a recent job for
    /// the same server and kind (many removals then share one job and one lock).
    fn push(&mut self, cell: &Arc<ServiceCell>, id: DestId, kind: ConnKind) {
        let recent = self.jobs.len().saturating_sub(Self::MERGE_WINDOW);
        let same = self.jobs[recent..]
            .iter_mut()
            .find(|(c, d, k, _)| *d == id && *k == kind && Arc::ptr_eq(c, cell));
        match same {
            Some(job) => job.3 += 1,
            None => self.jobs.push((Arc::clone(cell), id, kind, 1)),
        }
    }
}

/// How an entry counts on its destination.
pub(crate) fn conn_kind<A>(e: &Entry<A>) -> ConnKind {
    if e.flags & flags::TEMPLATE != 0 {
        ConnKind::Template
    } else if e.flags & flags::INACTIVE != 0 {
        ConnKind::Inactive
    } else {
        ConnKind::Active
    }
}

impl Engine {
    /// The cell of the service of destination `dest`, from `snap` or, if it is older than
    /// the destination, from the latest snapshot.
    pub(crate) fn dest_cell(&self, snap: &Snapshot, dest: u32) -> Option<Arc<ServiceCell>> {
        match snap.dest(dest) {
            Some(d) => Some(Arc::clone(&d.cell)),
            None => self
                .current_snapshot()
                .dest(dest)
                .map(|d| Arc::clone(&d.cell)),
        }
    }

    /// Applies the queued counter moves, each under its service's lock (taken once for a
    /// run of moves of one service).
    pub(crate) fn flush_unbinds(&self, unbinds: &mut Unbinds) {
        let mut jobs = unbinds.jobs.drain(..).peekable();
        while let Some((cell, id, kind, n)) = jobs.next() {
            let mut g = cell.lock();
            (0..n).for_each(|_| g.unbind(id, kind));
            while let Some((_, id, kind, n)) = jobs.next_if(|(c, ..)| Arc::ptr_eq(c, &cell)) {
                (0..n).for_each(|_| g.unbind(id, kind));
            }
        }
    }

    fn queue_unbind<A>(&self, snap: &Snapshot, e: &Entry<A>, unbinds: &mut Unbinds) {
        let (id, kind) = (DestId(e.dest), conn_kind(e));
        match snap.dest(e.dest) {
            Some(d) => unbinds.push(&d.cell, id, kind),
            None => {
                if let Some(cell) = self.dest_cell(snap, e.dest) {
                    unbinds.push(&cell, id, kind);
                }
            }
        }
    }

    /// Removes connection `id` from its (locked) table; its template loses it.
    pub(crate) fn remove_conn<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut Table<A>,
        id: u32,
        chain: Chain,
        unbinds: &mut Unbinds,
    ) {
        let Some(e) = table.remove(id, &self.table.budget) else {
            return;
        };
        self.queue_unbind(snap, &e, unbinds);
        if e.control != NIL {
            self.release_control::<A>(snap, e.control, chain, unbinds);
        }
    }

    /// Removes template `id` from its (locked) table.
    pub(crate) fn remove_template<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut Table<A>,
        id: u32,
        unbinds: &mut Unbinds,
    ) {
        if let Some(e) = table.remove(id, &self.table.budget) {
            self.queue_unbind(snap, &e, unbinds);
        }
    }

    /// A connection controlled by template `handle` is gone (`ip_vs_control_del`).
    fn release_control<A: InShard>(
        &self,
        snap: &Snapshot,
        handle: u32,
        chain: Chain,
        unbinds: &mut Unbinds,
    ) {
        let (shard, id) = ConnTable::template_parts(handle);
        let mut guard = self.table.templates.lock(shard);
        let table = A::table_mut(&mut guard);
        let Some(t) = table.get_mut(id) else {
            return;
        };
        t.n_control = t.n_control.saturating_sub(1);
        let drop = match chain {
            Chain::Keep => false,
            Chain::DropUnassured => t.n_control == 0 && t.state & TEMPLATE_ASSURED == 0,
            Chain::DropUnused => t.n_control == 0,
        };
        if drop {
            self.remove_template(snap, table, id, unbinds);
        }
    }

    /// Entry `id` of a (locked) table has expired by tick `now`: one that still controls
    /// connections is kept another 60 s from its expiry (and its timeout becomes 60 s, as
    /// the kernel's `expire_later` leaves it); any other is removed. True if removed.
    pub(crate) fn expire_entry<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut Table<A>,
        id: u32,
        now: u32,
        unbinds: &mut Unbinds,
    ) -> bool {
        let Some(e) = table.get_mut(id) else {
            return true;
        };
        if e.n_control > 0 {
            let later = ticks(EXPIRE_LATER);
            e.timeout = later;
            let mut expires = e.expires.wrapping_add(later);
            while tick_le(expires, now) {
                expires = expires.wrapping_add(later);
            }
            table.arm(id, expires);
            return false;
        }
        if e.flags & flags::TEMPLATE != 0 {
            self.remove_template(snap, table, id, unbinds);
        } else {
            self.remove_conn(snap, table, id, Chain::Keep, unbinds);
        }
        true
    }

    /// True if entry `id` has expired by tick `now`.
    #[inline]
    pub(crate) fn has_expired<A: InShard>(table: &Table<A>, id: u32, now: u32) -> bool {
        table.get(id).is_some_and(|e| tick_le(e.expires, now))
    }

    /// A found entry that has expired is expired on the spot (as its timer would have
    /// fired): `Some(id)` if it is still there afterwards.
    #[inline]
    pub(crate) fn live_or_expire<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut Table<A>,
        found: Option<u32>,
        now: u32,
    ) -> Option<u32> {
        let id = found?;
        if !Self::has_expired(table, id, now) {
            return Some(id);
        }
        self.expire_found(snap, table, id, now)
    }

    /// [`Engine::live_or_expire`] of an entry found expired.
    #[cold]
    fn expire_found<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut Table<A>,
        id: u32,
        now: u32,
    ) -> Option<u32> {
        let mut unbinds = Unbinds::default();
        let removed = self.expire_entry(snap, table, id, now, &mut unbinds);
        self.flush_unbinds(&mut unbinds);
        (!removed).then_some(id)
    }

    /// Marks template `handle` ASSURED (`ip_vs_control_assure_ct`).
    pub(crate) fn assure_control<A: InShard>(&self, handle: u32) {
        let (shard, id) = ConnTable::template_parts(handle);
        let mut guard = self.table.templates.lock(shard);
        if let Some(t) = A::table_mut(&mut guard).get_mut(id) {
            t.state |= TEMPLATE_ASSURED;
        }
    }

    /// Counts a one-packet connection's packet on its template instead.
    pub(crate) fn count_control_packet<A: InShard>(&self, handle: u32) {
        let (shard, id) = ConnTable::template_parts(handle);
        let mut guard = self.table.templates.lock(shard);
        if let Some(t) = A::table_mut(&mut guard).get_mut(id) {
            t.in_pkts = t.in_pkts.wrapping_add(1);
        }
    }
}

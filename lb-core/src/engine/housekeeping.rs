//! The engine's timers, driven by the time the caller passes: expiry through the timer
//! wheels, the 1-second defense update and `drop_entry` scan (spec §12), the 2-second rate
//! estimator (§10), the trash timer (§1.5) and the `expire_nodest_conn` flush.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::defense::EntryDropCounters;
use super::lifecycle::{Chain, Unbinds};
use super::packet::{IPPROTO_SCTP, IPPROTO_TCP};
use super::snapshot::Snapshot;
use super::Engine;
use crate::conn::{tick_floor, ticks, InShard, TEMPLATE_ASSURED, V4, V6};
use crate::estimator::Estimator;
use crate::proto::{sctp, tcp};
use crate::time::Time;

/// How often the defenses are re-evaluated (`DEFENSE_TIMER_PERIOD`).
const DEFENSE_PERIOD: Duration = Duration::from_secs(1);
/// How often the trash timer runs: every 60 s, at half `IP_VS_DEST_TRASH_PERIOD`, as the
/// kernel's `ip_vs_dest_trash_expire` (the schedulers' cache expiry rides on it too).
const TRASH_PERIOD: Duration = Duration::from_secs(60);
/// The `drop_entry` scan looks at 1/32 of the table each time.
const DROP_ENTRY_PARTS: usize = 32;

/// When each timer last ran.
#[derive(Debug, Default)]
pub(crate) struct Housekeeping {
    defense: Option<Time>,
    estimator: Option<Time>,
    trash: Option<Time>,
    entry_drops: EntryDropCounters,
}

fn due(last: &mut Option<Time>, now: Time, period: Duration) -> bool {
    match *last {
        Some(t) if now < t + period => false,
        _ => {
            *last = Some(now);
            true
        }
    }
}

impl Engine {
    /// Runs every timer that is due at `now`: expiry, then the defenses, the estimator and
    /// the trash timer. Call it every few tens of milliseconds.
    pub fn housekeeping(&self, now: Time) {
        self.expire(now);
        if self.nodest_flush.swap(false, Ordering::Relaxed) {
            self.flush_nodest();
        }
        let mut hk = self.housekeeping.lock().unwrap_or_else(|p| p.into_inner());
        if due(&mut hk.defense, now, DEFENSE_PERIOD) {
            let status = self.update_defense();
            if status.drop_entry {
                self.random_dropentry(now, &mut hk.entry_drops);
            }
        }
        if due(&mut hk.estimator, now, Estimator::INTERVAL) {
            self.admin(false, |m| m.estimate());
        }
        if due(&mut hk.trash, now, TRASH_PERIOD) {
            // The trash timer frees destinations (their snapshot views go) and runs the
            // schedulers' own timers: published every time, once a minute.
            self.admin(true, |m| m.ipvs.timer(now));
        }
    }

    /// Reaps every connection and template that has expired by `now`.
    pub fn expire(&self, now: Time) {
        let snap = self.current_snapshot();
        let tick = tick_floor(now);
        let mut ids = Vec::new();
        let mut unbinds = Unbinds::default();
        // Connections, then templates (a connection's expiry may release its template).
        for shards in [&self.table.conns, &self.table.templates] {
            for i in 0..shards.count() {
                let mut guard = shards.lock(i);
                self.expire_table::<V4>(
                    &snap,
                    V4::table_mut(&mut guard),
                    tick,
                    &mut ids,
                    &mut unbinds,
                );
                self.expire_table::<V6>(
                    &snap,
                    V6::table_mut(&mut guard),
                    tick,
                    &mut ids,
                    &mut unbinds,
                );
                drop(guard);
                self.flush_unbinds(&mut unbinds);
            }
        }
    }

    fn expire_table<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut crate::conn::Table<A>,
        tick: u32,
        ids: &mut Vec<u32>,
        unbinds: &mut Unbinds,
    ) {
        ids.clear();
        table.take_expired(tick, ids);
        if ids.is_empty() {
            return;
        }
        table.batch(&self.table.budget, |table| {
            for &id in ids.iter() {
                self.expire_entry(snap, table, id, tick, unbinds);
            }
        });
    }

    /// `ip_vs_random_dropentry`: looks at the next 1/32 of every table and drops
    /// connections still in their handshake, idle ones that received few packets, and
    /// templates that were never ASSURED.
    fn random_dropentry(&self, now: Time, drops: &mut EntryDropCounters) {
        let snap = self.current_snapshot();
        let tick = tick_floor(now);
        let mut unbinds = Unbinds::default();
        for i in 0..self.table.conns.count() {
            let mut guard = self.table.conns.lock(i);
            self.drop_entries::<V4>(&snap, V4::table_mut(&mut guard), tick, drops, &mut unbinds);
            self.drop_entries::<V6>(&snap, V6::table_mut(&mut guard), tick, drops, &mut unbinds);
            drop(guard);
            self.flush_unbinds(&mut unbinds);
        }
        for i in 0..self.table.templates.count() {
            let mut guard = self.table.templates.lock(i);
            self.drop_entries::<V4>(&snap, V4::table_mut(&mut guard), tick, drops, &mut unbinds);
            self.drop_entries::<V6>(&snap, V6::table_mut(&mut guard), tick, drops, &mut unbinds);
            drop(guard);
            self.flush_unbinds(&mut unbinds);
        }
    }

    fn drop_entries<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut crate::conn::Table<A>,
        tick: u32,
        drops: &mut EntryDropCounters,
        unbinds: &mut Unbinds,
    ) {
        let sixty = ticks(Duration::from_secs(60));
        for id in table.scan_window(DROP_ENTRY_PARTS) {
            let Some(e) = table.get(id).copied() else {
                continue;
            };
            if e.n_control > 0 {
                continue;
            }
            // todrop_entry: only entries idle for 60 s, at a rate set by their packets.
            let mut idle_and_rare = || {
                let armed_recently = crate::conn::tick_le(
                    tick.wrapping_add(e.timeout),
                    e.expires.wrapping_add(sixty).wrapping_sub(1),
                );
                !armed_recently && drops.take(e.in_pkts)
            };
            let drop = if e.is_template() {
                let ops = snap.dest(e.dest).is_some_and(|d| d.service_one_packet);
                if ops {
                    idle_and_rare()
                } else {
                    e.state & TEMPLATE_ASSURED == 0
                }
            } else {
                match e.proto {
                    IPPROTO_TCP => match tcp::State::from_index(usize::from(e.state)) {
                        Some(tcp::State::SynRecv | tcp::State::SynAck) => true,
                        Some(tcp::State::Established) => idle_and_rare(),
                        _ => false,
                    },
                    IPPROTO_SCTP => match sctp::State::from_index(usize::from(e.state)) {
                        Some(sctp::State::Init1 | sctp::State::Init) => true,
                        Some(sctp::State::Established) => idle_and_rare(),
                        _ => false,
                    },
                    _ => idle_and_rare(),
                }
            };
            if drop {
                if e.is_template() {
                    self.remove_template(snap, table, id, unbinds);
                } else {
                    self.remove_conn(snap, table, id, Chain::DropUnassured, unbinds);
                }
                self.defense.entries_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// `ip_vs_expire_nodest_conn_flush`: after a real server was deleted (with
    /// `expire_nodest_conn`), every entry that still points at a deleted server and
    /// controls nothing goes, and with it a template left controlling nothing.
    fn flush_nodest(&self) {
        let snap = self.current_snapshot();
        let mut unbinds = Unbinds::default();
        for (shards, templates) in [(&self.table.conns, false), (&self.table.templates, true)] {
            for i in 0..shards.count() {
                let mut guard = shards.lock(i);
                self.flush_table::<V4>(&snap, V4::table_mut(&mut guard), templates, &mut unbinds);
                self.flush_table::<V6>(&snap, V6::table_mut(&mut guard), templates, &mut unbinds);
                drop(guard);
                self.flush_unbinds(&mut unbinds);
            }
        }
    }

    fn flush_table<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut crate::conn::Table<A>,
        templates: bool,
        unbinds: &mut Unbinds,
    ) {
        let gone: Vec<u32> = table
            .ids()
            .filter(|&id| {
                table.get(id).is_some_and(|e| {
                    e.n_control == 0 && snap.dest(e.dest).is_some_and(|d| !d.available)
                })
            })
            .collect();
        for id in gone {
            if templates {
                self.remove_template(snap, table, id, unbinds);
            } else {
                self.remove_conn(snap, table, id, Chain::DropUnused, unbinds);
            }
        }
    }
}

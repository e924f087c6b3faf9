//! Running a connection's protocol state machine for one packet (spec §5): the new state,
//! the NOOUTPUT flag, the timeout, the active/inactive move of the destination's counters,
//! and the ASSURED mark of the controlling template.

use std::time::Duration;

use super::packet::{PacketMeta, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use super::snapshot::Snapshot;
use super::Engine;
use crate::conn::{flags, ticks, Entry, InShard, NIL};
use crate::dest::DestId;
use crate::proto::{activity_move, sctp, tcp, udp, ActivityMove, Direction};

/// What a transition changes, whatever the protocol.
struct Step {
    state: u8,
    active: bool,
    no_output: bool,
    timeout: Duration,
    changed: bool,
    assure: bool,
}

/// What a transition leaves to do outside the entry: a counter move of its destination,
/// the ASSURED mark of its template.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effects {
    dest: u32,
    movement: Option<ActivityMove>,
    assure_control: Option<u32>,
}

impl Effects {
    /// True when nothing is left to do (the common case: a packet that changes no state).
    #[inline]
    pub fn is_none(&self) -> bool {
        self.movement.is_none() && self.assure_control.is_none()
    }
}

impl Engine {
    /// Runs the state machine of `e` for `pkt` going `direction` (Input or Output) and
    /// writes the result into it: state, NOOUTPUT, INACTIVE, timeout. An SCTP packet whose
    /// chunks could not be read leaves the entry untouched.
    #[inline(always)]
    pub(crate) fn step_entry<A>(
        &self,
        snap: &Snapshot,
        e: &mut Entry<A>,
        direction: Direction,
        pkt: &PacketMeta,
    ) -> Effects {
        let no_output = e.flags & flags::NOOUTPUT != 0;
        let timeouts = &snap.settings.timeouts;
        let nothing = Effects {
            dest: e.dest,
            movement: None,
            assure_control: None,
        };
        let step = match e.proto {
            IPPROTO_TCP => {
                let table_kind = if self.defense.secure_tcp() {
                    tcp::Table::Secure
                } else {
                    tcp::Table::Normal
                };
                let from = tcp::State::from_index(usize::from(e.state)).unwrap_or(tcp::State::None);
                let u = tcp::on_packet(
                    table_kind,
                    timeouts,
                    direction,
                    no_output,
                    from,
                    pkt.tcp_flags,
                );
                Step {
                    state: u.state.index() as u8,
                    active: u.state.is_active(),
                    no_output: u.no_output,
                    timeout: u.timeout,
                    changed: u.changed(),
                    assure: u.assure_control,
                }
            }
            IPPROTO_SCTP => {
                let Some(event) = pkt.sctp_event else {
                    return nothing;
                };
                let from =
                    sctp::State::from_index(usize::from(e.state)).unwrap_or(sctp::State::None);
                let u = sctp::on_packet(timeouts, direction, no_output, from, event);
                Step {
                    state: u.state.index() as u8,
                    active: u.state.is_active(),
                    no_output: u.no_output,
                    timeout: u.timeout,
                    changed: u.changed(),
                    assure: u.assure_control,
                }
            }
            IPPROTO_UDP => {
                let u = udp::on_packet(timeouts, direction, no_output);
                Step {
                    state: u.state.index() as u8,
                    active: false,
                    no_output: u.no_output,
                    timeout: u.timeout,
                    changed: u.changed(),
                    assure: u.assure_control,
                }
            }
            _ => return nothing,
        };
        let inactive = e.flags & flags::INACTIVE != 0;
        let movement = if step.changed {
            activity_move(inactive, step.active)
        } else {
            None
        };
        e.state = step.state;
        e.timeout = ticks(step.timeout);
        if step.no_output {
            e.flags |= flags::NOOUTPUT;
        } else {
            e.flags &= !flags::NOOUTPUT;
        }
        match movement {
            Some(ActivityMove::ToActive) => e.flags &= !flags::INACTIVE,
            Some(ActivityMove::ToInactive) => e.flags |= flags::INACTIVE,
            None => {}
        }
        Effects {
            dest: e.dest,
            movement,
            assure_control: (step.assure && e.control != NIL).then_some(e.control),
        }
    }

    /// Carries out what a transition left to do (outside the entry's borrow; the shard
    /// lock is still held).
    #[cold]
    pub(crate) fn apply_effects<A: InShard>(&self, snap: &Snapshot, fx: Effects) {
        if let Some(m) = fx.movement {
            let active = m == ActivityMove::ToActive;
            match snap.dest(fx.dest) {
                Some(d) => d.cell.lock().set_activity(DestId(fx.dest), active),
                None => {
                    if let Some(cell) = self.dest_cell(snap, fx.dest) {
                        cell.lock().set_activity(DestId(fx.dest), active);
                    }
                }
            }
        }
        if let Some(control) = fx.assure_control {
            self.assure_control::<A>(control);
        }
    }
}

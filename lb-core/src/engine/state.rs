//! Running a connection's protocol state machine for one packet (spec §5): the new state,
//! the NOOUTPUT flag, the timeout, the active/inactive move of the destination's counters,
//! and the ASSURED mark of the controlling template.

use std::time::Duration;

use super::packet::{PacketMeta, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use super::snapshot::Snapshot;
use super::Engine;
use crate::conn::{flags, ticks, InShard, Table, NIL};
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

impl Engine {
    /// Runs the state machine of connection `id` for `pkt` going `direction` (Input or
    /// Output) and applies the result. An SCTP packet whose chunks could not be read leaves
    /// the connection untouched.
    pub(crate) fn transition<A: InShard>(
        &self,
        snap: &Snapshot,
        table: &mut Table<A>,
        id: u32,
        direction: Direction,
        pkt: &PacketMeta,
    ) {
        let Some(e) = table.get(id).copied() else {
            return;
        };
        let no_output = e.flags & flags::NOOUTPUT != 0;
        let timeouts = &snap.settings.timeouts;
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
                    return;
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
            _ => return,
        };
        let inactive = e.flags & flags::INACTIVE != 0;
        let movement = if step.changed {
            activity_move(inactive, step.active)
        } else {
            None
        };
        if let Some(slot) = table.get_mut(id) {
            slot.state = step.state;
            slot.timeout = ticks(step.timeout);
            if step.no_output {
                slot.flags |= flags::NOOUTPUT;
            } else {
                slot.flags &= !flags::NOOUTPUT;
            }
            match movement {
                Some(ActivityMove::ToActive) => slot.flags &= !flags::INACTIVE,
                Some(ActivityMove::ToInactive) => slot.flags |= flags::INACTIVE,
                None => {}
            }
        }
        if let Some(m) = movement {
            if let Some(key) = self.dest_service(snap, e.dest) {
                self.model()
                    .ipvs
                    .set_activity(&key, DestId(e.dest), m == ActivityMove::ToActive);
            }
        }
        if step.assure && e.control != NIL {
            self.assure_control::<A>(e.control);
        }
    }
}

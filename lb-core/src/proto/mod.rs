//! Protocol state machines and timeouts (spec §5): TCP, UDP and SCTP as the kernel's
//! `ip_vs_proto_tcp.c`, `ip_vs_proto_udp.c` and `ip_vs_proto_sctp.c` run them.
//!
//! Everything here is a pure function of (state, packet summary): no connection table, no
//! clock. The connection table applies what a packet does — the new state, the NOOUTPUT flag,
//! the new timeout, whether the destination's active/inactive counters move — through
//! [`Update`] and [`activity_move`].
//!
//! # How the kernel drives these machines
//!
//! - A new connection starts in state NONE (index 0) with a timeout of
//!   [`Timeouts::NEW_CONNECTION`] (3 s, set by `ip_vs_conn_new`) and its INACTIVE flag set.
//!   The first packet runs the state machine straight away, so the 3 s only lasts while no
//!   packet has gone through a transition (e.g. the first packet was dropped after the
//!   connection was made).
//! - Every packet of a connection runs the machine with its direction ([`Direction::Input`]
//!   for client → real server, [`Direction::Output`] for replies, which only NAT sees) and
//!   re-arms the connection's timer to the timeout of the state it is in afterwards — even
//!   when the state did not change.
//! - Connections to non-NAT destinations start with NOOUTPUT set: while it is set, input
//!   packets are looked up in the INPUT_ONLY table; the first output packet clears it
//!   ([`table_direction`]).
//! - On a change of state the INACTIVE flag and the destination's counters move
//!   ([`activity_move`]); for TCP and SCTP, entering ESTABLISHED marks the controlling
//!   persistence template ASSURED. For UDP an output packet does that ([`udp`]).

pub mod sctp;
pub mod tcp;
pub mod udp;

use std::time::Duration;

use thiserror::Error;

/// Which way a packet goes through a connection's state machine (the kernel's
/// `IP_VS_DIR_INPUT`, `IP_VS_DIR_OUTPUT`, `IP_VS_DIR_INPUT_ONLY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client → real server.
    Input,
    /// Real server → client (seen only by NAT).
    Output,
    /// Client → real server on a connection whose replies have not been seen (NOOUTPUT set):
    /// DR, TUN and local destinations, or a NAT connection before its first reply.
    InputOnly,
}

impl Direction {
    /// The three directions, in the order of the kernel's tables.
    pub const ALL: [Direction; 3] = [Direction::Input, Direction::Output, Direction::InputOnly];

    /// Position in the kernel's tables: INPUT 0, OUTPUT 1, INPUT_ONLY 2.
    pub const fn index(self) -> usize {
        match self {
            Direction::Input => 0,
            Direction::Output => 1,
            Direction::InputOnly => 2,
        }
    }
}

/// The NOOUTPUT rule shared by TCP and SCTP: given a packet's direction and the connection's
/// NOOUTPUT flag, the table direction to use and the NOOUTPUT flag afterwards.
///
/// While NOOUTPUT is set, any non-output packet uses [`Direction::InputOnly`] and the flag
/// stays; an output packet uses [`Direction::Output`] and clears the flag for good. Without
/// NOOUTPUT the direction is used as given.
#[inline]
pub fn table_direction(packet: Direction, no_output: bool) -> (Direction, bool) {
    match (no_output, packet) {
        (true, Direction::Output) => (Direction::Output, false),
        (true, _) => (Direction::InputOnly, true),
        (false, d) => (d, false),
    }
}

/// What one packet does to a connection's protocol state: everything the connection table
/// must apply afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update<S> {
    /// The state before the packet.
    pub from: S,
    /// The state after the packet.
    pub state: S,
    /// The connection's NOOUTPUT flag after the packet.
    pub no_output: bool,
    /// The connection's timeout from now on (the timeout of `state`).
    pub timeout: Duration,
    /// True when the controlling persistence template must be marked ASSURED
    /// (`ip_vs_control_assure_ct`): TCP/SCTP entering ESTABLISHED, a UDP output packet.
    pub assure_control: bool,
}

impl<S: PartialEq> Update<S> {
    /// True when the state changed (only then may the active/inactive counters move).
    #[inline]
    pub fn changed(&self) -> bool {
        self.from != self.state
    }
}

/// How a connection's INACTIVE flag and its destination's `activeconns`/`inactconns` move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActivityMove {
    /// Clear INACTIVE; `inactconns` −1, `activeconns` +1.
    ToActive,
    /// Set INACTIVE; `activeconns` −1, `inactconns` +1.
    ToInactive,
}

/// The kernel's counter rule on a change of state (`set_tcp_state`, `set_sctp_state`): it
/// compares the connection's INACTIVE flag — not the old state — with whether the new state
/// counts as active. Call it only when the state changed and the connection has a
/// destination.
pub fn activity_move(inactive: bool, new_state_active: bool) -> Option<ActivityMove> {
    match (inactive, new_state_active) {
        (true, true) => Some(ActivityMove::ToActive),
        (false, false) => Some(ActivityMove::ToInactive),
        _ => None,
    }
}

/// The largest timeout `ipvsadm --set` accepts: 31 days (`MAX_TIMEOUT` in ipvsadm.c).
pub const MAX_TIMEOUT_SECS: u32 = 86_400 * 31;

/// A `--set` timeout above [`MAX_TIMEOUT_SECS`]. Worded as ipvsadm words it; ipvsadm exits
/// with status 2 (its own check, made before asking the kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("invalid timeout value `{value}' specified")]
pub struct TimeoutOutOfRange {
    /// The value that was refused, in seconds.
    pub value: u32,
}

impl TimeoutOutOfRange {
    /// The exit status ipvsadm ends with for this error.
    pub fn exit_code(&self) -> i32 {
        2
    }
}

/// The three timeouts `ipvsadm --set tcp tcpfin udp` writes and `ipvsadm -L --timeout`
/// shows (the kernel's `struct ip_vs_timeout_user`), in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct UserTimeouts {
    /// TCP ESTABLISHED.
    pub tcp: u32,
    /// TCP FIN_WAIT.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// The per-state timeouts of the three protocols (the kernel keeps one copy per network
/// namespace; a director keeps one). Values are whole seconds, as `--set` takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    tcp: [u32; tcp::State::COUNT],
    udp: u32,
    sctp: [u32; sctp::State::COUNT],
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            tcp: tcp::State::ALL.map(tcp::State::default_timeout_secs),
            udp: udp::DEFAULT_TIMEOUT_SECS,
            sctp: sctp::State::ALL.map(sctp::State::default_timeout_secs),
        }
    }
}

impl Timeouts {
    /// The timeout of a connection just created, before any packet has gone through its
    /// state machine (`ip_vs_conn_new`: 3 s). Synced and template connections set their own.
    pub const NEW_CONNECTION: Duration = Duration::from_secs(3);

    /// The timeout of a TCP state.
    #[inline]
    pub fn tcp(&self, state: tcp::State) -> Duration {
        Duration::from_secs(u64::from(self.tcp[state.index()]))
    }

    /// The timeout of the UDP state.
    pub fn udp(&self) -> Duration {
        Duration::from_secs(u64::from(self.udp))
    }

    /// The timeout of an SCTP state.
    pub fn sctp(&self, state: sctp::State) -> Duration {
        Duration::from_secs(u64::from(self.sctp[state.index()]))
    }

    /// `ipvsadm --set tcp tcpfin udp`: set TCP ESTABLISHED, TCP FIN_WAIT and UDP; a value of
    /// 0 leaves that timeout unchanged. Every other state keeps its timeout. All three values
    /// are checked before any is applied: one out of range changes nothing.
    pub fn set(&mut self, values: UserTimeouts) -> Result<(), TimeoutOutOfRange> {
        for value in [values.tcp, values.tcp_fin, values.udp] {
            if value > MAX_TIMEOUT_SECS {
                return Err(TimeoutOutOfRange { value });
            }
        }
        if values.tcp != 0 {
            self.tcp[tcp::State::Established.index()] = values.tcp;
        }
        if values.tcp_fin != 0 {
            self.tcp[tcp::State::FinWait.index()] = values.tcp_fin;
        }
        if values.udp != 0 {
            self.udp = values.udp;
        }
        Ok(())
    }

    /// What `ipvsadm -L --timeout` shows: `Timeout (tcp tcpfin udp): 900 120 300` on a
    /// fresh director.
    pub fn user(&self) -> UserTimeouts {
        UserTimeouts {
            tcp: self.tcp[tcp::State::Established.index()],
            tcp_fin: self.tcp[tcp::State::FinWait.index()],
            udp: self.udp,
        }
    }
}

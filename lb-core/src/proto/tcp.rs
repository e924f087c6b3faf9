//! The TCP state machine of IPVS (spec §5.1, §5.2; `ip_vs_proto_tcp.c`).
//!
//! IPVS does not track TCP: it looks at one flag of each segment (RST before SYN before FIN
//! before ACK) and moves the connection through a fixed table, one for each direction. The
//! states are named as `ipvsadm -L -c` and `/proc/net/ip_vs_conn` print them.

use std::fmt;

use super::{table_direction, Direction, Timeouts, Update};

/// TCP header flag FIN.
pub const FIN: u8 = 0x01;
/// TCP header flag SYN.
pub const SYN: u8 = 0x02;
/// TCP header flag RST.
pub const RST: u8 = 0x04;
/// TCP header flag ACK.
pub const ACK: u8 = 0x10;

/// A TCP connection state, numbered as the kernel numbers them (`IP_VS_TCP_S_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// 0: no packet seen yet.
    None,
    /// 1: handshake complete.
    Established,
    /// 2: the real server sent a SYN (NAT only).
    SynSent,
    /// 3: the client sent a SYN.
    SynRecv,
    /// 4: one side sent a FIN.
    FinWait,
    /// 5: both sides closed.
    TimeWait,
    /// 6: reset, or a segment without SYN/FIN/ACK/RST.
    Close,
    /// 7: the client closed first (NAT).
    CloseWait,
    /// 8: waiting for the last ACK.
    LastAck,
    /// 9: expected data connection of the FTP helper.
    Listen,
    /// 10: secure_tcp only: SYN seen, the server's SYN-ACK not yet.
    SynAck,
}

impl State {
    /// How many states there are.
    pub const COUNT: usize = 11;

    /// Every state, in kernel order.
    pub const ALL: [State; State::COUNT] = [
        State::None,
        State::Established,
        State::SynSent,
        State::SynRecv,
        State::FinWait,
        State::TimeWait,
        State::Close,
        State::CloseWait,
        State::LastAck,
        State::Listen,
        State::SynAck,
    ];

    /// The kernel's number for this state (also what sync messages carry).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The state with the kernel's number `index`, if there is one.
    #[inline]
    pub fn from_index(index: usize) -> Option<State> {
        State::ALL.get(index).copied()
    }

    /// The name `ipvsadm -L -c` and `/proc/net/ip_vs_conn` print.
    pub const fn name(self) -> &'static str {
        match self {
            State::None => "NONE",
            State::Established => "ESTABLISHED",
            State::SynSent => "SYN_SENT",
            State::SynRecv => "SYN_RECV",
            State::FinWait => "FIN_WAIT",
            State::TimeWait => "TIME_WAIT",
            State::Close => "CLOSE",
            State::CloseWait => "CLOSE_WAIT",
            State::LastAck => "LAST_ACK",
            State::Listen => "LISTEN",
            State::SynAck => "SYNACK",
        }
    }

    /// The kernel's default timeout of this state, in seconds (`tcp_timeouts`).
    pub const fn default_timeout_secs(self) -> u32 {
        match self {
            State::None => 2,
            State::Established => 900,
            State::SynSent => 120,
            State::SynRecv => 60,
            State::FinWait => 120,
            State::TimeWait => 120,
            State::Close => 10,
            State::CloseWait => 60,
            State::LastAck => 30,
            State::Listen => 120,
            State::SynAck => 120,
        }
    }

    /// True for the states counted in `activeconns` (`tcp_state_active_table`):
    /// ESTABLISHED, SYN_SENT, SYN_RECV and SYNACK.
    pub const fn is_active(self) -> bool {
        matches!(
            self,
            State::Established | State::SynSent | State::SynRecv | State::SynAck
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Which transition table is in force: the `secure_tcp` defense (spec §12) swaps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Table {
    /// `tcp_states`.
    #[default]
    Normal,
    /// `tcp_states_dos`, used while secure_tcp is active.
    Secure,
}

/// The one thing of a segment the tables look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// SYN (also SYN+ACK).
    Syn,
    /// FIN without SYN or RST.
    Fin,
    /// ACK without SYN, FIN or RST.
    Ack,
    /// RST, whatever else is set.
    Rst,
}

impl Event {
    /// The events, in the order of the kernel's table rows.
    pub const ALL: [Event; 4] = [Event::Syn, Event::Fin, Event::Ack, Event::Rst];

    /// The event of a segment with these flags (`tcp_state_idx`): RST, else SYN, else FIN,
    /// else ACK. A segment with none of them has no event (its connection goes to CLOSE).
    pub const fn from_flags(flags: u8) -> Option<Event> {
        if flags & RST != 0 {
            Some(Event::Rst)
        } else if flags & SYN != 0 {
            Some(Event::Syn)
        } else if flags & FIN != 0 {
            Some(Event::Fin)
        } else if flags & ACK != 0 {
            Some(Event::Ack)
        } else {
            None
        }
    }

    const fn index(self) -> usize {
        match self {
            Event::Syn => 0,
            Event::Fin => 1,
            Event::Ack => 2,
            Event::Rst => 3,
        }
    }
}

/// One row of a table: the next state for each current state.
type Row = [State; State::COUNT];
/// A table: rows for syn, fin, ack, rst in INPUT, OUTPUT and INPUT_ONLY.
type Tables = [[Row; 4]; 3];

const ES: State = State::Established;
const SS: State = State::SynSent;
const SR: State = State::SynRecv;
const FW: State = State::FinWait;
const TW: State = State::TimeWait;
const CL: State = State::Close;
const CW: State = State::CloseWait;
const LA: State = State::LastAck;
const LI: State = State::Listen;
const SA: State = State::SynAck;

/// `tcp_states`. Columns: NO ES SS SR FW TW CL CW LA LI SA.
const NORMAL: Tables = [
    // INPUT
    [
        [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR], // syn
        [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, TW], // fin
        [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES], // ack
        [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, SR], // rst
    ],
    // OUTPUT
    [
        [SS, ES, SS, SR, SS, SS, SS, SS, SS, LI, SR], // syn
        [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW], // fin
        [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES], // ack
        [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL], // rst
    ],
    // INPUT_ONLY
    [
        [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SR], // syn
        [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW], // fin
        [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES], // ack
        [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL], // rst
    ],
];

/// `tcp_states_dos`. Columns: NO ES SS SR FW TW CL CW LA LI SA.
const SECURE: Tables = [
    // INPUT
    [
        [SR, ES, ES, SR, SR, SR, SR, SR, SR, SR, SA], // syn
        [CL, CW, SS, TW, TW, TW, CL, CW, LA, LI, SA], // fin
        [ES, ES, SS, SR, FW, TW, CL, CW, CL, LI, SA], // ack
        [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL], // rst
    ],
    // OUTPUT
    [
        [SS, ES, SS, SA, SS, SS, SS, SS, SS, LI, SA], // syn
        [TW, FW, SS, TW, FW, TW, CL, TW, LA, LI, TW], // fin
        [ES, ES, SS, ES, FW, TW, CL, CW, LA, ES, ES], // ack
        [CL, CL, SS, CL, CL, TW, CL, CL, CL, CL, CL], // rst
    ],
    // INPUT_ONLY
    [
        [SA, ES, ES, SR, SA, SA, SA, SA, SA, SA, SA], // syn
        [CL, FW, SS, TW, FW, TW, CL, CW, LA, LI, TW], // fin
        [ES, ES, SS, ES, FW, TW, CL, CW, CL, LI, ES], // ack
        [CL, CL, CL, SR, CL, CL, CL, CL, LA, LI, CL], // rst
    ],
];

/// One cell of a table: the state after `event` in `direction` from `state`.
pub fn next_state(table: Table, direction: Direction, event: Event, state: State) -> State {
    let tables = match table {
        Table::Normal => &NORMAL,
        Table::Secure => &SECURE,
    };
    tables[direction.index()][event.index()][state.index()]
}

/// The state after a segment with TCP `flags` going `direction` (already resolved for
/// NOOUTPUT, see [`table_direction`]) hits a connection in `state`. A segment with none of
/// SYN, FIN, ACK, RST sends the connection to CLOSE.
#[inline]
pub fn transition(table: Table, direction: Direction, state: State, flags: u8) -> State {
    match Event::from_flags(flags) {
        Some(event) => next_state(table, direction, event, state),
        None => State::Close,
    }
}

/// Everything one segment does to a TCP connection (`set_tcp_state`): `packet` is the raw
/// direction (Input or Output), `no_output` the connection's NOOUTPUT flag before it.
#[inline(always)]
pub fn on_packet(
    table: Table,
    timeouts: &Timeouts,
    packet: Direction,
    no_output: bool,
    state: State,
    flags: u8,
) -> Update<State> {
    let (direction, no_output) = table_direction(packet, no_output);
    let next = transition(table, direction, state, flags);
    Update {
        from: state,
        state: next,
        no_output,
        timeout: timeouts.tcp(next),
        assure_control: next != state && next == State::Established,
    }
}

/// True when a segment with these flags may create a connection (`tcp_conn_schedule`): no
/// RST, and SYN unless `sloppy_tcp` is on. Other segments without a connection are left to
/// the host (spec §16 item 11).
pub const fn creates_connection(flags: u8, sloppy_tcp: bool) -> bool {
    flags & RST == 0 && (sloppy_tcp || flags & SYN != 0)
}

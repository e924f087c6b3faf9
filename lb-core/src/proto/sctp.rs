//! The SCTP state machine of IPVS (spec §5.4; `ip_vs_proto_sctp.c`, current layout).
//!
//! Like TCP, IPVS only looks at one chunk type per packet — the first chunk's, unless an ABORT
//! is bundled right after a leading COOKIE ECHO or COOKIE ACK — and moves the association
//! through a fixed table for each direction. The states are as seen from the real server and
//! are named as `ipvsadm -L -c` and `/proc/net/ip_vs_conn` print them
//! (`sctp_state_name_table`). Only ESTABLISHED counts as active.

use std::fmt;

use super::{table_direction, Direction, Timeouts, Update};

/// SCTP chunk type numbers (RFC 9260 §3.2) that IPVS distinguishes.
pub mod chunk {
    /// DATA.
    pub const DATA: u8 = 0;
    /// INIT.
    pub const INIT: u8 = 1;
    /// INIT ACK.
    pub const INIT_ACK: u8 = 2;
    /// SACK.
    pub const SACK: u8 = 3;
    /// HEARTBEAT.
    pub const HEARTBEAT: u8 = 4;
    /// HEARTBEAT ACK.
    pub const HEARTBEAT_ACK: u8 = 5;
    /// ABORT.
    pub const ABORT: u8 = 6;
    /// SHUTDOWN.
    pub const SHUTDOWN: u8 = 7;
    /// SHUTDOWN ACK.
    pub const SHUTDOWN_ACK: u8 = 8;
    /// ERROR.
    pub const ERROR: u8 = 9;
    /// COOKIE ECHO.
    pub const COOKIE_ECHO: u8 = 10;
    /// COOKIE ACK.
    pub const COOKIE_ACK: u8 = 11;
    /// ECNE.
    pub const ECN_ECNE: u8 = 12;
    /// CWR.
    pub const ECN_CWR: u8 = 13;
    /// SHUTDOWN COMPLETE.
    pub const SHUTDOWN_COMPLETE: u8 = 14;
}

/// An SCTP association state, numbered as the kernel numbers them (`IP_VS_SCTP_S_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// 0: no packet seen yet.
    None,
    /// 1: first client INIT sent, waiting for the server's INIT ACK.
    Init1,
    /// 2: a further client INIT sent, waiting for the server's INIT ACK.
    Init,
    /// 3: server INIT ACK sent, waiting for the client's COOKIE ECHO.
    CookieSent,
    /// 4: client COOKIE ECHO sent, waiting for the server's COOKIE ACK.
    CookieReplied,
    /// 5: server INIT sent, waiting for the client's INIT ACK.
    CookieWait,
    /// 6: client INIT ACK sent, waiting for the server's COOKIE ECHO.
    Cookie,
    /// 7: server COOKIE ECHO sent, waiting for the client's COOKIE ACK.
    CookieEchoed,
    /// 8: association up.
    Established,
    /// 9: the server sent SHUTDOWN.
    ShutdownSent,
    /// 10: the client sent SHUTDOWN.
    ShutdownReceived,
    /// 11: SHUTDOWN ACK sent.
    ShutdownAckSent,
    /// 12: INIT answered with ABORT.
    Rejected,
    /// 13: association closed.
    Closed,
}

impl State {
    /// How many states there are.
    pub const COUNT: usize = 14;

    /// Every state, in kernel order.
    pub const ALL: [State; State::COUNT] = [
        State::None,
        State::Init1,
        State::Init,
        State::CookieSent,
        State::CookieReplied,
        State::CookieWait,
        State::Cookie,
        State::CookieEchoed,
        State::Established,
        State::ShutdownSent,
        State::ShutdownReceived,
        State::ShutdownAckSent,
        State::Rejected,
        State::Closed,
    ];

    /// The kernel's number for this state (also what sync messages carry).
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The state with the kernel's number `index`, if there is one.
    pub fn from_index(index: usize) -> Option<State> {
        State::ALL.get(index).copied()
    }

    /// The name `ipvsadm -L -c` and `/proc/net/ip_vs_conn` print.
    pub const fn name(self) -> &'static str {
        match self {
            State::None => "NONE",
            State::Init1 => "INIT1",
            State::Init => "INIT",
            State::CookieSent => "C-SENT",
            State::CookieReplied => "C-REPLIED",
            State::CookieWait => "C-WAIT",
            State::Cookie => "COOKIE",
            State::CookieEchoed => "C-ECHOED",
            State::Established => "ESTABLISHED",
            State::ShutdownSent => "S-SENT",
            State::ShutdownReceived => "S-RECEIVED",
            State::ShutdownAckSent => "S-ACK-SENT",
            State::Rejected => "REJECTED",
            State::Closed => "CLOSED",
        }
    }

    /// The kernel's default timeout of this state, in seconds (`sctp_timeouts`): 61 is the
    /// maximum RTO (60 s) + 1.
    pub const fn default_timeout_secs(self) -> u32 {
        match self {
            State::None => 2,
            State::Init1 | State::Rejected => 4,
            State::Established => 900,
            State::Init
            | State::CookieSent
            | State::CookieReplied
            | State::CookieWait
            | State::Cookie
            | State::CookieEchoed
            | State::ShutdownSent
            | State::ShutdownReceived
            | State::ShutdownAckSent
            | State::Closed => 61,
        }
    }

    /// True for the only state counted in `activeconns`: ESTABLISHED.
    pub const fn is_active(self) -> bool {
        matches!(self, State::Established)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// What a packet means to the tables (`enum ipvs_sctp_event_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// DATA, SACK, HEARTBEAT, HEARTBEAT ACK, ECNE, CWR, and every chunk type above 14.
    Data,
    /// INIT.
    Init,
    /// INIT ACK.
    InitAck,
    /// COOKIE ECHO.
    CookieEcho,
    /// COOKIE ACK.
    CookieAck,
    /// SHUTDOWN.
    Shutdown,
    /// SHUTDOWN ACK.
    ShutdownAck,
    /// SHUTDOWN COMPLETE.
    ShutdownComplete,
    /// ERROR.
    Error,
    /// ABORT.
    Abort,
}

impl Event {
    /// The events, in the order of the kernel's table rows.
    pub const ALL: [Event; 10] = [
        Event::Data,
        Event::Init,
        Event::InitAck,
        Event::CookieEcho,
        Event::CookieAck,
        Event::Shutdown,
        Event::ShutdownAck,
        Event::ShutdownComplete,
        Event::Error,
        Event::Abort,
    ];

    /// The event of a chunk type (`sctp_events`); unknown types count as DATA.
    pub const fn from_chunk_type(chunk_type: u8) -> Event {
        match chunk_type {
            chunk::INIT => Event::Init,
            chunk::INIT_ACK => Event::InitAck,
            chunk::ABORT => Event::Abort,
            chunk::SHUTDOWN => Event::Shutdown,
            chunk::SHUTDOWN_ACK => Event::ShutdownAck,
            chunk::ERROR => Event::Error,
            chunk::COOKIE_ECHO => Event::CookieEcho,
            chunk::COOKIE_ACK => Event::CookieAck,
            chunk::SHUTDOWN_COMPLETE => Event::ShutdownComplete,
            _ => Event::Data,
        }
    }

    /// The event of a packet, from its chunks: `chunks` are the bytes after the 12-byte SCTP
    /// common header, up to the end of the IP payload. As `set_sctp_state` picks it: the
    /// first chunk's type, except that when the first chunk is a COOKIE ECHO or COOKIE ACK
    /// with a length field of at least 4 and the chunk that follows it (at the length
    /// rounded up to 4) is an ABORT, the event is ABORT.
    ///
    /// `None` when the first chunk header (4 bytes) is not there: the kernel then leaves the
    /// connection untouched, timeout included.
    pub fn from_chunks(chunks: &[u8]) -> Option<Event> {
        let (&first_type, rest) = chunks.split_first()?;
        let length = match rest {
            [_flags, hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
            _ => return None,
        };
        let mut chunk_type = first_type;
        if (first_type == chunk::COOKIE_ECHO || first_type == chunk::COOKIE_ACK) && length >= 4 {
            let next = (usize::from(length) + 3) & !3;
            let next_header = next.checked_add(4).and_then(|end| chunks.get(next..end));
            if next_header.is_some_and(|header| header[0] == chunk::ABORT) {
                chunk_type = chunk::ABORT;
            }
        }
        Some(Event::from_chunk_type(chunk_type))
    }

    const fn index(self) -> usize {
        self as usize
    }
}

const I1: State = State::Init1;
const IN: State = State::Init;
const CS: State = State::CookieSent;
const CR: State = State::CookieReplied;
const CW: State = State::CookieWait;
const CO: State = State::Cookie;
const CE: State = State::CookieEchoed;
const ES: State = State::Established;
const SS: State = State::ShutdownSent;
const SR: State = State::ShutdownReceived;
const SA: State = State::ShutdownAckSent;
const RJ: State = State::Rejected;
const CL: State = State::Closed;

/// `sctp_states[direction][event][state]`.
/// Columns: NO I1 IN CS CR CW CO CE ES SS SR SA RJ CL.
const TABLES: [[[State; State::COUNT]; 10]; 3] = [
    // INPUT
    [
        [ES, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL], // data
        [I1, IN, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, IN, IN], // init
        [CW, CW, CW, CS, CR, CO, CO, CE, ES, SS, SR, SA, RJ, CL], // init ack
        [CR, IN, IN, CR, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL], // cookie echo
        [ES, I1, IN, CS, CR, CW, CO, ES, ES, SS, SR, SA, RJ, CL], // cookie ack
        [SR, I1, IN, CS, CR, CW, CO, CE, SR, SS, SR, SA, RJ, CL], // shutdown
        [CL, IN, IN, CS, CR, CW, CO, CE, ES, CL, SR, CL, RJ, CL], // shutdown ack
        [CL, CL, CL, CS, CR, CW, CO, CE, ES, SS, SR, CL, RJ, CL], // shutdown complete
        [CL, I1, IN, CS, CR, CW, CO, CL, ES, SS, SR, SA, RJ, CL], // error
        [CL, CL, CL, CL, CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL], // abort
    ],
    // OUTPUT
    [
        [ES, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL], // data
        [CW, CW, CW, CW, CW, CW, CW, CW, ES, CW, CW, CW, CW, CW], // init
        [CS, CS, CS, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL], // init ack
        [CE, CE, CE, CE, CE, CE, CE, CE, ES, SS, SR, SA, RJ, CL], // cookie echo
        [ES, ES, ES, ES, ES, ES, ES, ES, ES, SS, SR, SA, RJ, CL], // cookie ack
        [SS, SS, SS, SS, SS, SS, SS, SS, SS, SS, SR, SA, RJ, CL], // shutdown
        [SA, SA, SA, SA, SA, CW, CO, CE, ES, SA, SA, SA, RJ, CL], // shutdown ack
        [CL, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL], // shutdown complete
        [CL, CL, CL, CL, CL, CW, CO, CE, ES, SS, SR, SA, RJ, CL], // error
        [CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL, CL], // abort
    ],
    // INPUT_ONLY
    [
        [ES, I1, IN, CS, CR, ES, CO, CE, ES, SS, SR, SA, RJ, CL], // data
        [I1, IN, IN, IN, IN, IN, CO, CE, ES, SS, SR, SA, IN, IN], // init
        [CE, CE, CE, CE, CE, CE, CO, CE, ES, SS, SR, SA, RJ, CL], // init ack
        [ES, ES, ES, ES, ES, ES, CO, CE, ES, SS, SR, SA, RJ, CL], // cookie echo
        [ES, I1, IN, ES, ES, CW, ES, ES, ES, SS, SR, SA, RJ, CL], // cookie ack
        [SR, I1, IN, CS, CR, CW, CO, CE, SR, SS, SR, SA, RJ, CL], // shutdown
        [CL, IN, IN, CS, CR, CW, CO, CE, CL, CL, SR, CL, RJ, CL], // shutdown ack
        [CL, CL, CL, CL, CL, CW, CO, CE, ES, SS, CL, CL, RJ, CL], // shutdown complete
        [CL, I1, IN, CS, CR, CW, CO, CE, ES, SS, SR, SA, RJ, CL], // error
        [CL, CL, CL, CL, CL, RJ, CL, CL, CL, CL, CL, CL, CL, CL], // abort
    ],
];

/// The state after `event` going `direction` (already resolved for NOOUTPUT, see
/// [`table_direction`]) hits an association in `state`.
pub fn transition(direction: Direction, state: State, event: Event) -> State {
    TABLES[direction.index()][event.index()][state.index()]
}

/// Everything one packet does to an SCTP connection (`set_sctp_state`): `packet` is the raw
/// direction (Input or Output), `no_output` the connection's NOOUTPUT flag before it, `event`
/// from [`Event::from_chunks`].
pub fn on_packet(
    timeouts: &Timeouts,
    packet: Direction,
    no_output: bool,
    state: State,
    event: Event,
) -> Update<State> {
    let (direction, no_output) = table_direction(packet, no_output);
    let next = transition(direction, state, event);
    Update {
        from: state,
        state: next,
        no_output,
        timeout: timeouts.sctp(next),
        assure_control: next != state && next == State::Established,
    }
}

/// True when a packet whose first chunk has type `first_chunk_type` may create a connection
/// (`sctp_conn_schedule`): never an ABORT; an INIT, or any chunk with `sloppy_sctp` on.
pub const fn creates_connection(first_chunk_type: u8, sloppy_sctp: bool) -> bool {
    first_chunk_type != chunk::ABORT && (sloppy_sctp || first_chunk_type == chunk::INIT)
}

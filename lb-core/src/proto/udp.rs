//! UDP in IPVS (spec §5.3; `ip_vs_proto_udp.c`): one state, one timeout.
//!
//! Every packet re-arms the connection to the UDP timeout. The state never changes, so the
//! connection's INACTIVE flag is never cleared: UDP connections always count in
//! `inactconns` (spec §16 item 3). A reply (output) packet marks the controlling persistence
//! template ASSURED. The NOOUTPUT flag is neither read nor cleared.

use std::fmt;

use super::{Direction, Timeouts, Update};

/// The default UDP timeout, in seconds (`udp_timeouts`).
pub const DEFAULT_TIMEOUT_SECS: u32 = 300;

/// The single UDP state (`IP_VS_UDP_S_NORMAL`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// 0: the only state.
    #[default]
    Udp,
}

impl State {
    /// How many states there are.
    pub const COUNT: usize = 1;

    /// The kernel's number for this state.
    pub const fn index(self) -> usize {
        0
    }

    /// The name `ipvsadm -L -c` and `/proc/net/ip_vs_conn` print.
    pub const fn name(self) -> &'static str {
        "UDP"
    }

    /// UDP connections never count as active.
    pub const fn is_active(self) -> bool {
        false
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// Everything one packet does to a UDP connection (`udp_state_transition`): `packet` is the
/// raw direction, `no_output` the connection's NOOUTPUT flag, returned unchanged.
pub fn on_packet(timeouts: &Timeouts, packet: Direction, no_output: bool) -> Update<State> {
    Update {
        from: State::Udp,
        state: State::Udp,
        no_output,
        timeout: timeouts.udp(),
        assure_control: packet == Direction::Output,
    }
}

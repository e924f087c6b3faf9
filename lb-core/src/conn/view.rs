//! A connection as seen from outside the table: what `ipvsadm -L -n -c` lists (spec §4.5,
//! §13.3, Example C of §13.5) and what tests inspect.

use std::net::IpAddr;
use std::time::Duration;

use crate::dest::{DestId, FwdMethod};
use crate::ipvsadm::ConnEntry;
use crate::proto::{sctp, tcp, udp};

/// The state of a connection, by protocol; or of a persistence template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnState {
    /// A TCP connection.
    Tcp(tcp::State),
    /// A UDP connection (one state).
    Udp,
    /// An SCTP association.
    Sctp(sctp::State),
    /// A persistence template: ASSURED once a connection it controls was established (TCP,
    /// SCTP) or answered (UDP).
    Template {
        /// The kernel's `IP_VS_CTPL_S_ASSURED`.
        assured: bool,
    },
}

impl ConnState {
    /// From the stored protocol, template flag and state byte.
    pub(crate) fn decode(proto: u8, template: bool, state: u8) -> ConnState {
        if template {
            return ConnState::Template {
                assured: state & super::entry::TEMPLATE_ASSURED != 0,
            };
        }
        match proto {
            6 => ConnState::Tcp(
                tcp::State::from_index(usize::from(state)).unwrap_or(tcp::State::None),
            ),
            132 => ConnState::Sctp(
                sctp::State::from_index(usize::from(state)).unwrap_or(sctp::State::None),
            ),
            _ => ConnState::Udp,
        }
    }

    /// The name `ipvsadm -L -c` prints (`ESTABLISHED`, `UDP`, `NONE`, `ASSURED`, …).
    pub fn name(&self) -> &'static str {
        match self {
            ConnState::Tcp(s) => s.name(),
            ConnState::Udp => udp::State::Udp.name(),
            ConnState::Sctp(s) => s.name(),
            ConnState::Template { assured: true } => "ASSURED",
            ConnState::Template { assured: false } => "NONE",
        }
    }
}

/// One connection or persistence template, copied out of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conn {
    /// IP protocol number; 0 ("IP") for the template of a firewall-mark service.
    pub protocol: u8,
    /// Client address and port (a template: the client network, port 0).
    pub client: (IpAddr, u16),
    /// Virtual address and port (a firewall-mark template: the mark as an address, port 0).
    pub vip: (IpAddr, u16),
    /// Real server address and the port packets are sent to.
    pub dest_addr: (IpAddr, u16),
    /// The real server.
    pub dest: DestId,
    /// How packets reach it.
    pub method: FwdMethod,
    /// Protocol state.
    pub state: ConnState,
    /// The kernel's flag bits ([`super::flags`]).
    pub flags: u16,
    /// The timeout the entry was last armed with.
    pub timeout: Duration,
    /// Time left before it expires.
    pub expires_in: Duration,
    /// Packets received from the client.
    pub in_pkts: u32,
    /// For a template: connections it controls.
    pub n_control: u32,
    /// True when a persistence template controls this connection.
    pub controlled: bool,
}

impl Conn {
    /// True for a persistence template.
    pub fn is_template(&self) -> bool {
        self.flags & super::flags::TEMPLATE != 0
    }

    /// The line `ipvsadm -L -c` shows for it. The expiry is in whole seconds, rounded down
    /// as `/proc/net/ip_vs_conn` does.
    pub fn list_entry(&self) -> ConnEntry {
        ConnEntry {
            protocol: self.protocol,
            expire_secs: u32::try_from(self.expires_in.as_secs()).unwrap_or(u32::MAX),
            state: self.state.name().to_string(),
            client: self.client,
            vip: self.vip,
            dest: self.dest_addr,
            pe: None,
        }
    }
}

//! What to do with a packet: the engine's answer.

use std::fmt;
use std::net::IpAddr;

use crate::dest::{DestId, FwdMethod, TunnelConf};

/// Send a client's packet to a real server (spec §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Forward {
    /// How: NAT rewrites the destination to (`daddr`, `dport`); direct routing sends the
    /// packet unchanged to `daddr`'s link address; a tunnel encapsulates it to `daddr` with
    /// `tunnel`; local delivers it to the director's own stack.
    pub method: FwdMethod,
    /// The real server's address.
    pub daddr: IpAddr,
    /// The port the connection goes to on the real server (NAT rewrites to it).
    pub dport: u16,
    /// Tunnel parameters (with [`FwdMethod::Tunnel`]).
    pub tunnel: TunnelConf,
    /// The real server.
    pub dest: DestId,
}

/// Send a real server's reply on to the client (spec §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reply {
    /// The connection's method. NAT rewrites the source to (`vaddr`, `vport`); other
    /// methods forward the packet unchanged.
    pub method: FwdMethod,
    /// The virtual address.
    pub vaddr: IpAddr,
    /// The virtual port.
    pub vport: u16,
}

/// An ICMP error the director sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpKind {
    /// Destination unreachable, port unreachable (ICMPv6: type 1 code 4).
    PortUnreachable,
}

/// Answer the packet with an ICMP error, quoting it, and drop it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpSend {
    /// Which error.
    pub kind: IcmpKind,
    /// To whom (the packet's source).
    pub to: IpAddr,
    /// Why the packet is dropped (counted).
    pub reason: DropReason,
}

/// An ICMP error about one of the director's tunnel packets: the I/O layer sends an ICMP
/// error of the same type and code to the client about its original packet (for
/// "fragmentation needed", with the MTU less the tunnel overhead, and only if the client's
/// packet had DF set — spec §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TunnelIcmp {
    /// The client.
    pub client: IpAddr,
    /// ICMP type to send.
    pub icmp_type: u8,
    /// ICMP code to send.
    pub code: u8,
    /// The tunnel real server.
    pub dest: DestId,
}

/// Why a packet was dropped. Each reason has a counter ([`super::Engine::drop_counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropReason {
    /// The connection's real server was deleted and `expire_nodest_conn` is 0 (spec §2.1
    /// step 5).
    DestUnavailable,
    /// The `drop_packet` defense dropped a packet that would have opened a connection.
    DefenseDropPacket,
    /// The connection table is at its memory budget (the kernel's allocation failure).
    NoMemory,
    /// No real server could take a new connection: an ICMP port unreachable went back.
    NoServer,
    /// A reply from a NAT real server for no connection, answered with port unreachable
    /// (`nat_icmp_send`).
    UnknownNatReply,
    /// An SCTP packet without a chunk header, or a TCP/UDP/SCTP packet too short for its
    /// ports, that would have opened a connection.
    Malformed,
    /// An ICMPv6 error that is fragmented (errors never are: spec §7.6).
    FragmentedIcmp,
    /// A connection refers to a real server the engine does not know (never expected).
    UnknownDest,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 8] = [
        DropReason::DestUnavailable,
        DropReason::DefenseDropPacket,
        DropReason::NoMemory,
        DropReason::NoServer,
        DropReason::UnknownNatReply,
        DropReason::Malformed,
        DropReason::FragmentedIcmp,
        DropReason::UnknownDest,
    ];

    /// Position in [`DropReason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::DestUnavailable => "dest-unavailable",
            DropReason::DefenseDropPacket => "drop-packet",
            DropReason::NoMemory => "no-memory",
            DropReason::NoServer => "no-server",
            DropReason::UnknownNatReply => "unknown-nat-reply",
            DropReason::Malformed => "malformed",
            DropReason::FragmentedIcmp => "fragmented-icmp",
            DropReason::UnknownDest => "unknown-dest",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The engine's decision for one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// A client's packet goes to a real server.
    Forward(Forward),
    /// A real server's reply goes to the client.
    Reply(Reply),
    /// An ICMP error from the clients' side about a reply: relay it to the real server. For
    /// NAT the outer destination and the quoted source become the real server's address
    /// and port (`dport`).
    IcmpToServer(Forward),
    /// An ICMP error from a real server's side about a request: relay it to the client. For
    /// NAT the outer source and the quoted destination become (`vaddr`, `vport`).
    IcmpToClient(Reply),
    /// An ICMP error about a tunnel packet, to be turned into one for the client.
    TunnelIcmp(TunnelIcmp),
    /// Answer with an ICMP error and drop the packet.
    SendIcmp(IcmpSend),
    /// Drop the packet.
    Drop(DropReason),
    /// Not IPVS's business: leave the packet to the host.
    Pass,
}

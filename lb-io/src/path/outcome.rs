//! What the per-packet path did with a frame: the frames to send, and why nothing else.

use std::fmt;

use lb_core::engine::DropReason;
use lb_core::FwdMethod;

use super::LinkId;
use crate::rewrite::RewriteError;
use crate::wire;

/// A frame to send: its length in the buffer it lies in, and the link it leaves by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Emit {
    /// The link to send it on.
    pub link: LinkId,
    /// Its length (from the start of the buffer).
    pub len: usize,
}

/// Frames that waited for a next hop now resolved by a received ARP / neighbour-discovery
/// message, their Ethernet destination set: send each, in order, on `link`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasedFrames {
    /// The link they leave by.
    pub link: LinkId,
    /// The frames, oldest first.
    pub frames: Vec<Vec<u8>>,
}

/// What happened to a received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// A client's packet went to a real server with this method (rewritten in place for NAT
    /// and direct routing, encapsulated into the output buffer for a tunnel).
    Forwarded(FwdMethod),
    /// A real server's reply went on to the client (NAT: with the virtual address and port).
    Replied,
    /// An ICMP error about a connection was relayed to the other side.
    IcmpRelayed,
    /// An ICMP error about one of our tunnel packets was turned into one for the client
    /// (in the output buffer), or consumed when the kernel sends nothing (a
    /// fragmentation-needed about a packet without DF).
    TunnelIcmp,
    /// The packet is ready but its next hop is being resolved: it waits in the neighbour
    /// cache (a solicitation may be in the output buffer).
    Queued,
    /// An ARP or neighbour-discovery message, learnt from; answered (in the output buffer)
    /// when it asked for an address the director owns.
    Neighbour {
        /// Whether an answer was built.
        answered: bool,
    },
    /// Dropped. An ICMP error about the packet may be in the output buffer.
    Dropped(DropCause),
    /// Not the director's business: left to the host.
    Passed(PassCause),
}

/// Why a frame was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DropCause {
    /// Shorter than its headers say (Ethernet, IP, the TCP / UDP / SCTP / ICMP header).
    Truncated,
    /// A header holds a value its format does not allow (IP version, header length, an
    /// IPv6 extension header chain).
    Malformed,
    /// The IPv4 header checksum is wrong.
    BadChecksum,
    /// The checksum of an ICMP error to relay is wrong.
    BadIcmpChecksum,
    /// Received on a link the director does not have.
    UnknownLink,
    /// The engine's decision.
    Engine(DropReason),
    /// TTL / hop limit exhausted (an ICMP time exceeded may have been built).
    TtlExceeded,
    /// Too big for the route, not to be fragmented (a fragmentation-needed / packet-too-big
    /// may have been built).
    TooBig,
    /// Too big for the route and allowed to be fragmented: this director does not fragment.
    NeedsFragmenting,
    /// The tunnel MTU left is below the minimum (68, or 1280 under IPv6).
    TunnelMtuTooSmall,
    /// The rewrite needs the whole datagram (an SCTP first fragment whose port changes, an
    /// ICMP error in fragments).
    NeedsReassembly,
    /// A real server of one family for a packet of the other, outside a tunnel.
    FamilyMismatch,
    /// A rewrite refused the packet's protocol.
    Unsupported,
    /// The output buffer is too small for the frame to build.
    BufferTooSmall,
    /// No interface prefix and no gateway lead to the destination.
    NoRoute,
    /// The outgoing interface has no address of the family a tunnel or an answer needs.
    NoSourceAddress,
    /// The neighbour cache is full: the next hop cannot be resolved.
    NeighbourTableFull,
    /// An ARP or neighbour-discovery message the kernel discards.
    InvalidNeighbour,
}

impl DropCause {
    /// The causes counted before the engine's reasons.
    const BEFORE_ENGINE: [DropCause; 5] = [
        DropCause::Truncated,
        DropCause::Malformed,
        DropCause::BadChecksum,
        DropCause::BadIcmpChecksum,
        DropCause::UnknownLink,
    ];

    /// The causes counted after the engine's reasons.
    const AFTER_ENGINE: [DropCause; 12] = [
        DropCause::TtlExceeded,
        DropCause::TooBig,
        DropCause::NeedsFragmenting,
        DropCause::TunnelMtuTooSmall,
        DropCause::NeedsReassembly,
        DropCause::FamilyMismatch,
        DropCause::Unsupported,
        DropCause::BufferTooSmall,
        DropCause::NoRoute,
        DropCause::NoSourceAddress,
        DropCause::NeighbourTableFull,
        DropCause::InvalidNeighbour,
    ];

    /// How many causes there are.
    pub const COUNT: usize =
        Self::BEFORE_ENGINE.len() + DropReason::ALL.len() + Self::AFTER_ENGINE.len();

    /// Every cause, in counter order: the path's frame checks, the engine's reasons in their
    /// order, then the path's forwarding causes.
    pub const ALL: [DropCause; Self::COUNT] = {
        let mut all = [DropCause::Truncated; Self::COUNT];
        let mut i = 0;
        while i < Self::BEFORE_ENGINE.len() {
            all[i] = Self::BEFORE_ENGINE[i];
            i += 1;
        }
        let mut j = 0;
        while j < DropReason::ALL.len() {
            all[i + j] = DropCause::Engine(DropReason::ALL[j]);
            j += 1;
        }
        let mut k = 0;
        while k < Self::AFTER_ENGINE.len() {
            all[i + j + k] = Self::AFTER_ENGINE[k];
            k += 1;
        }
        all
    };

    /// Position in [`DropCause::ALL`].
    pub fn index(self) -> usize {
        const ENGINE_FIRST: usize = DropCause::BEFORE_ENGINE.len();
        const AFTER_ENGINE: usize = ENGINE_FIRST + DropReason::ALL.len();
        match self {
            DropCause::Truncated => 0,
            DropCause::Malformed => 1,
            DropCause::BadChecksum => 2,
            DropCause::BadIcmpChecksum => 3,
            DropCause::UnknownLink => 4,
            DropCause::Engine(r) => ENGINE_FIRST + r.index(),
            DropCause::TtlExceeded => AFTER_ENGINE,
            DropCause::TooBig => AFTER_ENGINE + 1,
            DropCause::NeedsFragmenting => AFTER_ENGINE + 2,
            DropCause::TunnelMtuTooSmall => AFTER_ENGINE + 3,
            DropCause::NeedsReassembly => AFTER_ENGINE + 4,
            DropCause::FamilyMismatch => AFTER_ENGINE + 5,
            DropCause::Unsupported => AFTER_ENGINE + 6,
            DropCause::BufferTooSmall => AFTER_ENGINE + 7,
            DropCause::NoRoute => AFTER_ENGINE + 8,
            DropCause::NoSourceAddress => AFTER_ENGINE + 9,
            DropCause::NeighbourTableFull => AFTER_ENGINE + 10,
            DropCause::InvalidNeighbour => AFTER_ENGINE + 11,
        }
    }

    /// A short name (the engine's reasons keep theirs).
    pub fn name(self) -> &'static str {
        match self {
            DropCause::Truncated => "truncated",
            DropCause::Malformed => "malformed-header",
            DropCause::BadChecksum => "bad-checksum",
            DropCause::BadIcmpChecksum => "bad-icmp-checksum",
            DropCause::UnknownLink => "unknown-link",
            DropCause::Engine(r) => r.name(),
            DropCause::TtlExceeded => "ttl-exceeded",
            DropCause::TooBig => "too-big",
            DropCause::NeedsFragmenting => "needs-fragmenting",
            DropCause::TunnelMtuTooSmall => "tunnel-mtu-too-small",
            DropCause::NeedsReassembly => "needs-reassembly",
            DropCause::FamilyMismatch => "family-mismatch",
            DropCause::Unsupported => "unsupported",
            DropCause::BufferTooSmall => "buffer-too-small",
            DropCause::NoRoute => "no-route",
            DropCause::NoSourceAddress => "no-source-address",
            DropCause::NeighbourTableFull => "neighbour-table-full",
            DropCause::InvalidNeighbour => "invalid-neighbour",
        }
    }

    /// The cause of a malformed frame, from the wire views' error.
    pub fn of_wire(e: wire::Error) -> DropCause {
        match e {
            wire::Error::Truncated => DropCause::Truncated,
            wire::Error::BadChecksum => DropCause::BadChecksum,
            wire::Error::Malformed | wire::Error::Unsupported => DropCause::Malformed,
        }
    }

    /// The cause of a refused rewrite.
    pub fn of_rewrite(e: RewriteError) -> DropCause {
        match e {
            RewriteError::NotIp | RewriteError::UnsupportedProtocol(_) => DropCause::Unsupported,
            RewriteError::NotRelatedIcmp => DropCause::Unsupported,
            RewriteError::Malformed(w) => DropCause::of_wire(w),
            RewriteError::BadHeaderChecksum => DropCause::BadChecksum,
            RewriteError::BadIcmpChecksum => DropCause::BadIcmpChecksum,
            RewriteError::FamilyMismatch => DropCause::FamilyMismatch,
            RewriteError::TtlExceeded => DropCause::TtlExceeded,
            RewriteError::TooBig { .. } => DropCause::TooBig,
            RewriteError::NeedsFragmenting { .. } => DropCause::NeedsFragmenting,
            RewriteError::TunnelMtuTooSmall { .. } => DropCause::TunnelMtuTooSmall,
            RewriteError::NeedsReassembly => DropCause::NeedsReassembly,
            RewriteError::BufferTooSmall { .. } => DropCause::BufferTooSmall,
        }
    }
}

impl fmt::Display for DropCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a frame was left to the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PassCause {
    /// Neither IPv4, IPv6 nor ARP (LLDP, spanning tree, …): the host's business.
    NotIp,
    /// An IP frame sent to another Ethernet address than the link's (broadcast, multicast,
    /// or another host's, seen in promiscuous mode): IPVS only takes `PACKET_HOST` frames.
    NotForUs,
    /// A non-first fragment: this director does not reassemble, and without the ports of
    /// its first fragment it cannot be matched to a connection.
    Fragment,
    /// The engine's verdict: not a virtual service's packet nor a reply of a connection.
    NotVirtual,
    /// The connection's real server is the director itself (local delivery).
    LocalDelivery,
}

impl PassCause {
    /// Every cause, in counter order.
    pub const ALL: [PassCause; 5] = [
        PassCause::NotIp,
        PassCause::NotForUs,
        PassCause::Fragment,
        PassCause::NotVirtual,
        PassCause::LocalDelivery,
    ];

    /// Position in [`PassCause::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            PassCause::NotIp => "not-ip",
            PassCause::NotForUs => "not-for-us",
            PassCause::Fragment => "fragment",
            PassCause::NotVirtual => "not-virtual",
            PassCause::LocalDelivery => "local-delivery",
        }
    }
}

impl fmt::Display for PassCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of [`Director::process`](super::Director::process) for one received frame.
///
/// Send, in this order: the received frame rewritten in place (`frame[..len]`) if
/// [`in_place`](Self::in_place) is set; the frame built in the output buffer (`out[..len]`)
/// if [`built`](Self::built) is set; then every frame of [`released`](Self::released).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What happened.
    pub action: Action,
    /// The received frame, rewritten in place, to send.
    pub in_place: Option<Emit>,
    /// A frame built in the output buffer (a tunnel packet, an ICMP error, an ARP / NDP
    /// answer or solicitation), to send.
    pub built: Option<Emit>,
    /// Frames a received ARP / NDP message released from the neighbour cache.
    pub released: Option<ReleasedFrames>,
}

impl Outcome {
    /// Nothing to send.
    pub(crate) fn just(action: Action) -> Outcome {
        Outcome {
            action,
            in_place: None,
            built: None,
            released: None,
        }
    }

    /// Dropped for `cause`, nothing to send.
    pub(crate) fn dropped(cause: DropCause) -> Outcome {
        Outcome::just(Action::Dropped(cause))
    }

    /// Passed to the host for `cause`.
    pub(crate) fn passed(cause: PassCause) -> Outcome {
        Outcome::just(Action::Passed(cause))
    }

    /// How many frames there are to send.
    #[inline]
    pub fn frames_to_send(&self) -> usize {
        usize::from(self.in_place.is_some())
            + usize::from(self.built.is_some())
            + self.released.as_ref().map_or(0, |r| r.frames.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_follow_the_order_of_all() {
        for (i, c) in DropCause::ALL.iter().enumerate() {
            assert_eq!(c.index(), i, "{c}");
        }
        for (i, c) in PassCause::ALL.iter().enumerate() {
            assert_eq!(c.index(), i, "{c}");
        }
    }

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<_> = DropCause::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DropCause::ALL.len());
    }
}

//! A received frame and what the link knows about it.

use crate::wire::VlanTag;

/// A point in time: seconds and nanoseconds since the Unix epoch. `nanos` is below
/// 1 000 000 000 in every timestamp a link produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub secs: u64,
    /// Nanoseconds past `secs`.
    pub nanos: u32,
}

impl Timestamp {
    /// The timestamp `secs` seconds and `nanos` nanoseconds after the epoch, or `None` if
    /// `nanos` is not below one second.
    pub fn new(secs: u64, nanos: u32) -> Option<Timestamp> {
        (nanos < 1_000_000_000).then_some(Timestamp { secs, nanos })
    }
}

/// To whom the frame was addressed, as the kernel classified it (`sll_pkttype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// To this host's address (PACKET_HOST).
    Host,
    /// To the broadcast address (PACKET_BROADCAST).
    Broadcast,
    /// To a multicast address (PACKET_MULTICAST).
    Multicast,
    /// To another host: seen because the interface is promiscuous, or a veth
    /// (PACKET_OTHERHOST).
    OtherHost,
    /// Sent by this host (PACKET_OUTGOING), seen unless outgoing frames are ignored.
    Outgoing,
    /// Another value.
    Other(u8),
}

impl PacketType {
    /// The type for a `sll_pkttype` value.
    pub fn from_raw(value: u8) -> PacketType {
        match value {
            libc::PACKET_HOST => PacketType::Host,
            libc::PACKET_BROADCAST => PacketType::Broadcast,
            libc::PACKET_MULTICAST => PacketType::Multicast,
            libc::PACKET_OTHERHOST => PacketType::OtherHost,
            libc::PACKET_OUTGOING => PacketType::Outgoing,
            other => PacketType::Other(other),
        }
    }
}

/// What the kernel says about the frame's transport checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RxChecksum {
    /// Nothing known: the checksum is in the frame, to be verified if needed.
    Unknown,
    /// Verified by the device or the kernel (TP_STATUS_CSUM_VALID).
    Valid,
    /// Not computed yet (TP_STATUS_CSUMNOTREADY): the frame came from a local sender
    /// (typically over a veth) with checksum offload, and the transport checksum field
    /// holds only the pseudo-header sum. Such a frame sent on unchanged is received with a
    /// bad checksum; turn transmit checksum offload off on the sender (`ethtool -K <if> tx
    /// off`) where the director must forward such frames.
    Partial,
}

/// What the link knows about a received frame besides its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RxMeta {
    /// The frame's length on the wire (without FCS), VLAN tag included when it was put
    /// back into the frame. Frames longer than the receive buffer are not delivered (they
    /// are counted in [`LinkStats::rx_truncated`](super::LinkStats::rx_truncated)), so this
    /// equals the length of the frame's bytes.
    pub wire_len: usize,
    /// When the frame was received (for pcap replay, the record's timestamp).
    pub timestamp: Timestamp,
    /// The VLAN tag the device or kernel took out of the frame (hardware VLAN
    /// acceleration; the kernel always takes the outer tag out before AF_PACKET sees a
    /// frame). Unless the link was configured otherwise, the tag has been put back into the
    /// frame's bytes, where it was on the wire.
    pub vlan: Option<VlanTag>,
    /// How the kernel classified the destination.
    pub packet_type: PacketType,
    /// The state of the transport checksum.
    pub checksum: RxChecksum,
}

impl RxMeta {
    /// The metadata of a frame of `len` bytes received at `timestamp` from a source that
    /// knows nothing more (memory, pcap): to this host, no VLAN tag taken out, checksum
    /// unknown.
    pub fn plain(len: usize, timestamp: Timestamp) -> RxMeta {
        RxMeta {
            wire_len: len,
            timestamp,
            vlan: None,
            packet_type: PacketType::Host,
            checksum: RxChecksum::Unknown,
        }
    }
}

/// A received frame, lent to a [`Link::recv_batch`](super::Link::recv_batch) handler.
#[derive(Debug)]
pub struct RxFrame<'a> {
    /// The frame's bytes (Ethernet header first, no FCS), in the link's receive buffer:
    /// rewrite them in place as needed.
    pub data: &'a mut [u8],
    /// What the link knows about the frame.
    pub meta: RxMeta,
}

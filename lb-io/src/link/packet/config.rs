//! The settings of an AF_PACKET link.

use std::time::Duration;

/// The size of one ring: how many slots, of how many bytes each.
///
/// A slot holds the kernel's 32-byte frame header, its link-layer address and the frame;
/// an RX slot of 2048 bytes takes frames of up to 1982 bytes (1518 are needed for a 1500
/// MTU with a VLAN tag), a TX slot of 2048 bytes sends frames of up to 2016 bytes. Larger
/// frames are not received (they are counted as truncated) or refused for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RingSize {
    /// Bytes per slot: a multiple of 16, at least 128.
    pub frame_size: u32,
    /// Number of slots (rounded up to fill whole memory blocks).
    pub frame_count: u32,
}

impl RingSize {
    /// A ring of `frame_count` slots of `frame_size` bytes.
    pub const fn new(frame_size: u32, frame_count: u32) -> RingSize {
        RingSize {
            frame_size,
            frame_count,
        }
    }
}

/// Membership of a PACKET_FANOUT group: the sockets of one group on one interface share
/// its frames, each flow (the kernel's flow hash, which is the same both ways of a
/// connection) always going to the same socket (PACKET_FANOUT_HASH).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fanout {
    /// The group's id, unique per network namespace; every worker of one interface uses
    /// the same.
    pub group: u16,
    /// Reassemble IPv4 fragments before hashing, so all fragments of a datagram reach the
    /// same socket (PACKET_FANOUT_FLAG_DEFRAG).
    pub defrag: bool,
}

/// How long a send waits for a free TX slot, and a flush for the kernel to take the
/// frames, when the kernel answers ENOBUFS / EAGAIN or the ring is full: up to `attempts`
/// more tries, waiting up to `wait` (for the socket to become writable) before each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxRetry {
    /// Tries after the first.
    pub attempts: u32,
    /// The longest wait before each try.
    pub wait: Duration,
}

/// The settings of a [`PacketLink`](super::PacketLink).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PacketConfig {
    /// The receive ring.
    pub rx_ring: RingSize,
    /// The transmit ring.
    pub tx_ring: RingSize,
    /// Join a PACKET_FANOUT_HASH group, for N workers on one interface.
    pub fanout: Option<Fanout>,
    /// Hand frames to the device driver directly, past the qdisc layer
    /// (PACKET_QDISC_BYPASS). The kernel then does not show them to packet sockets (other
    /// links, tcpdump) either.
    pub qdisc_bypass: bool,
    /// Do not receive frames this host sends on the interface, our own included
    /// (PACKET_IGNORE_OUTGOING).
    pub ignore_outgoing: bool,
    /// Put the interface in promiscuous mode while the link is open
    /// (PACKET_ADD_MEMBERSHIP with PACKET_MR_PROMISC; the kernel takes it back on close).
    pub promiscuous: bool,
    /// Put the VLAN tag the kernel took out of a received frame back into its bytes.
    pub restore_vlan: bool,
    /// Bounds of the waits of the transmit path.
    pub tx_retry: TxRetry,
}

impl Default for PacketConfig {
    /// 4096 RX and 1024 TX slots of 2048 bytes (10 MiB), no fanout, qdisc bypass, outgoing
    /// frames ignored, not promiscuous, VLAN tags restored, up to 64 transmit retries 100 µs
    /// apart.
    fn default() -> Self {
        PacketConfig {
            rx_ring: RingSize::new(2048, 4096),
            tx_ring: RingSize::new(2048, 1024),
            fanout: None,
            qdisc_bypass: true,
            ignore_outgoing: true,
            promiscuous: false,
            restore_vlan: true,
            tx_retry: TxRetry {
                attempts: 64,
                wait: Duration::from_micros(100),
            },
        }
    }
}

//! Why a frame could not be rewritten, or must not be sent as it is.

use thiserror::Error;

use crate::wire::{self, IpProtocol};

/// Why a rewrite did not produce a frame to send.
///
/// Some variants are not faults of the frame but decisions the kernel would take at the same
/// point, which the caller turns into an answer: [`TtlExceeded`](Self::TtlExceeded) asks for
/// an ICMP time exceeded, [`TooBig`](Self::TooBig) for a fragmentation-needed / packet-too-big
/// (see [`crate::rewrite::icmp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum RewriteError {
    /// The frame does not carry IPv4 or IPv6 (after at most two VLAN tags).
    #[error("frame does not carry IP")]
    NotIp,
    /// The frame's bytes do not hold what their headers announce.
    #[error("malformed packet: {0}")]
    Malformed(#[from] wire::Error),
    /// The IPv4 header checksum is wrong (the kernel drops such packets in `ip_rcv`).
    #[error("bad IPv4 header checksum")]
    BadHeaderChecksum,
    /// The ICMP checksum of an ICMP error to relay is wrong (spec §7.6).
    #[error("bad ICMP checksum")]
    BadIcmpChecksum,
    /// A new address is not of the packet's family.
    #[error("address family does not match the packet")]
    FamilyMismatch,
    /// NAT rewrites TCP, UDP and SCTP only (the protocols of an IPVS service).
    #[error("cannot rewrite transport protocol {0}")]
    UnsupportedProtocol(IpProtocol),
    /// TTL / hop limit ≤ 1: drop, and answer an ICMP time exceeded (spec §7.0.3).
    #[error("TTL exceeded")]
    TtlExceeded,
    /// Bigger than the MTU and not to be fragmented (IPv4 with DF, or IPv6): drop. When `icmp`
    /// is set, answer the sender with a fragmentation-needed / packet-too-big carrying `mtu`
    /// (spec §7.0.4); the kernel sends none for non-first IPv6 fragments nor for ICMP it relays.
    #[error("packet bigger than the MTU {mtu}")]
    TooBig {
        /// The MTU to report.
        mtu: u32,
        /// Whether the kernel would send an ICMP error about it.
        icmp: bool,
    },
    /// Bigger than the MTU, allowed to be fragmented (IPv4 without DF, or a tunnel with
    /// `pmtu_disc` off): the kernel fragments it on output; this crate does not, so the caller
    /// must fragment or drop it.
    #[error("packet needs fragmenting for MTU {mtu}")]
    NeedsFragmenting {
        /// The MTU the fragments must fit.
        mtu: u32,
    },
    /// A tunnel's MTU (route MTU less the outer headers) is below 68 (IPv4 outer) or 1280
    /// (IPv6 outer): the kernel drops the packet without an answer.
    #[error("tunnel MTU {mtu} too small")]
    TunnelMtuTooSmall {
        /// The tunnel MTU computed.
        mtu: u32,
    },
    /// The rewrite needs the whole datagram (an SCTP CRC over a first fragment).
    #[error("packet must be reassembled first")]
    NeedsReassembly,
    /// The output buffer cannot hold the frame.
    #[error("output buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
    },
    /// An ICMP message that is not an error IPVS relates to a connection (spec §7.6).
    #[error("ICMP message not related to a connection")]
    NotRelatedIcmp,
}

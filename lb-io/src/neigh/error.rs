//! Why an ARP or neighbour-discovery frame was not handled.

use thiserror::Error;

use crate::wire;

/// Why a neighbour frame was not answered or learnt from, or a frame not built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum NeighError {
    /// The frame's bytes do not hold what their headers announce, or the ARP is not for
    /// IPv4 over Ethernet.
    #[error("malformed neighbour frame: {0}")]
    Malformed(#[from] wire::Error),
    /// Neither ARP nor an IPv6 neighbour solicitation / advertisement.
    #[error("not ARP or neighbour discovery")]
    NotNeighbour,
    /// A neighbour-discovery message failing the validity checks of RFC 4861 §7.1 (hop
    /// limit 255, checksum, code 0, target not multicast, DAD rules), or an ARP packet the
    /// kernel discards (multicast or loopback target, multicast sender).
    #[error("invalid neighbour message: {0}")]
    Invalid(&'static str),
    /// The output buffer cannot hold the frame.
    #[error("output buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// Bytes the frame needs.
        needed: usize,
    },
    /// An address of the wrong family was given to a builder.
    #[error("address family does not fit")]
    FamilyMismatch,
}

//! Typed, zero-copy views of packet bytes, in the manner of smoltcp's `wire` module.
//!
//! Every header has a view, `XPacket<T: AsRef<[u8]>> { buffer: T }`:
//! - `new_unchecked` wraps a buffer as it is; `new_checked` first runs `check_len`, which
//!   proves that every fixed field lies inside the buffer and that the length fields are
//!   consistent with it. Once checked, **no accessor panics**: fixed fields are read at
//!   proven offsets, and everything bounded by a length field (options, payloads) is clamped
//!   to the buffer, so that even a setter changing a length field cannot cause a panic.
//! - getters return host values; setters (for `T: AsMut<[u8]>`) write them; `into_inner`
//!   gives the buffer back.
//! - where a header is worth handling as values, an `XRepr` has `parse` (view → values),
//!   `buffer_len` and `emit` (values → bytes, returning [`Error::Truncated`] rather than
//!   panicking on a short buffer).
//!
//! Transport views are given exactly the bytes of their message (the IP payload, or the
//! bytes after the IPv6 extension headers), since their checksums cover all of it; their
//! checksums take the addresses of the IP header as a [`PseudoHeader`].
//!
//! The [`checksum`] module has the Internet checksum and the RFC 1624 incremental updates NAT
//! uses; [`crc32c`] the SCTP checksum.

pub mod arp;
pub mod checksum;
pub mod crc32c;
pub mod error;
pub mod ethernet;
mod field;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod ipv6_ext;
pub mod ndp;
pub mod sctp;
pub mod tcp;
pub mod udp;

#[cfg(test)]
mod tests;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use checksum::PseudoHeader;
pub use error::{Error, Result};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, VlanStack, VlanTag};
pub use icmpv4::{Icmpv4Packet, Icmpv4Type};
pub use icmpv6::{Icmpv6Packet, Icmpv6Type};
pub use ip::IpProtocol;
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6Packet, Ipv6Repr};
pub use ipv6_ext::{Ipv6Fragment, Ipv6Transport};
pub use ndp::{NdpNeighborFlags, NdpOption, NdpOptionType, NdpOptions, NdpRepr};
pub use sctp::{SctpChunk, SctpChunkType, SctpChunks, SctpPacket};
pub use tcp::{TcpFlags, TcpPacket, TcpRepr};
pub use udp::{UdpPacket, UdpRepr};

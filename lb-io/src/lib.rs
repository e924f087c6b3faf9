//! # lb-io: bytes and links for lb
//!
//! Everything of the `lb` director that touches bytes. Today that is [`wire`]: typed,
//! zero-copy views over packet buffers (Ethernet with 802.1Q, ARP, IPv4, IPv6 with its
//! extension headers, TCP, UDP, SCTP, ICMPv4, ICMPv6 with NDP), the Internet checksum with
//! its RFC 1624 incremental updates, and CRC32c. The rewrites (NAT, direct routing,
//! tunnelling, ICMP generation) and the links (AF_PACKET rings, in-memory links) are built on
//! top of these views.
//!
//! Unsafe code is denied in the whole crate; the one exception will be a `sys` module holding
//! the system calls, each `unsafe` block with a SAFETY comment.
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod neigh;
pub mod rewrite;
pub mod wire;

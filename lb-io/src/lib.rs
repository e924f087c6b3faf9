//! # lb-io: bytes and links for lb
//!
//! Everything of the `lb` director that touches bytes. Today that is [`wire`]: typed,
//! zero-copy views over packet buffers (Ethernet with 802.1Q, ARP, IPv4, IPv6 with its
//! extension headers, TCP, UDP, SCTP, ICMPv4, ICMPv6 with NDP), the Internet checksum with
//! its RFC 1624 incremental updates, and CRC32c. The rewrites (NAT, direct routing,
//! tunnelling, ICMP generation) and the links (AF_PACKET rings, in-memory links) are built on
//! top of these views: [`link`] moves batches of frames through AF_PACKET rings, memory
//! queues or [`pcap`] files.
//!
//! Unsafe code is denied in the whole crate; the one exception is the private `sys` module
//! holding the system calls and the shared ring memory, each `unsafe` block with a SAFETY
//! comment.
#![warn(missing_docs)]
#![deny(unsafe_code)]

pub mod alloc;
pub mod link;
pub mod neigh;
pub mod path;
pub mod pcap;
pub mod rewrite;
#[allow(unsafe_code)]
mod sys;
pub mod thread;
pub mod wire;

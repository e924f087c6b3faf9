//! The system calls of lb-io, and the memory it shares with the kernel.
//!
//! This is the one module of the workspace allowed `unsafe` code. Everything it offers to
//! the rest of the crate is safe to call: each function checks what the system call needs
//! (lengths, alignment, which side owns a ring slot) before the `unsafe` block, and each
//! `unsafe` block says why it is sound in a `// SAFETY:` comment.
//!
//! - [`packet_socket`]: an AF_PACKET socket: options, bind, poll, the transmit kick,
//!   statistics, interface lookups;
//! - [`ring_map`]: the RX and TX rings mapped into our memory, with acquire / release
//!   access to the status word of each slot;
//! - [`netns`]: moving the calling thread into another network namespace;
//! - [`process`]: the effective user id, the page size, the calling thread's scheduling;
//! - [`counting_alloc`]: the system allocator with live and peak byte counters;
//! - [`poll`]: waiting on several descriptors at once, or on one socket, and its pending error;
//! - [`ifaddrs`]: the addresses of the network interfaces;
//! - [`tun`]: attaching to a TUN device (TUNSETIFF);
//! - [`raw_ip`]: raw IP sockets for one protocol;
//! - `bpf`, `xdp_socket`, `xdp_ring` (feature `xdp`): the `bpf()` commands, the AF_XDP
//!   socket, and the UMEM and rings it shares with the kernel.

#[cfg(feature = "xdp")]
pub(crate) mod bpf;
pub mod counting_alloc;
pub(crate) mod ifaddrs;
pub(crate) mod netns;
pub(crate) mod packet_socket;
pub(crate) mod poll;
pub(crate) mod process;
pub(crate) mod raw_ip;
pub(crate) mod ring_map;
pub(crate) mod tun;
#[cfg(feature = "xdp")]
pub(crate) mod xdp_ring;
#[cfg(feature = "xdp")]
pub(crate) mod xdp_socket;

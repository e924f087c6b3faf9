//! Links: where frames come in and go out, in batches, without allocating per frame.
//!
//! A worker of the director runs one loop per link (in outline):
//!
//! ```text
//! loop {
//!     link.recv_batch(64, timeout, &mut |frame, tx| {
//!         // parse frame.data, ask the engine, rewrite frame.data in place …
//!         let _ = tx.send(&frame.data[..new_len]);          // … and send it back out,
//!         // or build a new frame straight into transmit memory:
//!         let _ = tx.send_with(&mut |out| icmp_error_into(out));
//!     })?;
//!     link.flush()?;                                         // one kick for the batch
//! }
//! ```
//!
//! [`Link::recv_batch`] hands each received frame to the handler as a mutable slice of the
//! receive buffer itself (for AF_PACKET, the RX ring slot), so NAT and direct routing rewrite
//! it where it lies; [`Transmit::send`] copies it once into transmit memory (the TX ring
//! slot), and [`Transmit::send_with`] lets tunnelling and ICMP generation write straight
//! into that memory. Frames queued for sending leave at the latest with [`Link::flush`].
//! To forward from one link to another, capture the other link in the handler and call its
//! [`Transmit::send`].
//!
//! Backends:
//! - [`PacketLink`]: an AF_PACKET socket with TPACKET_V2 RX and TX rings ([`packet`]);
//! - [`MemoryLink`]: queues of frames, for tests ([`memory`]);
//! - [`PcapLink`]: frames read from one pcap file and written to another, for offline
//!   replay ([`pcap_link`]);
//! - `XdpLink` (feature `xdp`): an AF_XDP socket and the XDP program redirecting an
//!   interface queue's frames to it (`xdp`).
//!
//! [`netns`] moves a thread into a named network namespace, which the tests and the lab use
//! to open links inside namespaces. [`PollSet`] waits on several links at once;
//! [`interface_addresses`] lists the kernel's addresses of its interfaces.
//! [`tun`] and [`raw_ip`] are what a real server without the kernel's `ipip` module
//! decapsulates tunnelled packets with (a TUN device and raw IP sockets).

pub mod addresses;
pub mod error;
pub mod frame;
pub mod memory;
pub mod netns;
pub mod packet;
pub mod pcap_link;
pub mod poll;
pub mod raw_ip;
pub mod stats;
pub mod tun;
#[cfg(feature = "xdp")]
pub mod xdp;

use std::time::Duration;

pub use addresses::{interface_addresses, InterfaceAddress};
pub use error::LinkError;
pub use frame::{PacketType, RxChecksum, RxFrame, RxMeta, Timestamp};
pub use memory::MemoryLink;
pub use packet::{Fanout, PacketConfig, PacketLink, RingSize, TxRetry};
pub use pcap_link::PcapLink;
pub use poll::PollSet;
pub use stats::LinkStats;
#[cfg(feature = "xdp")]
pub use xdp::{XdpConfig, XdpLink};

/// The transmit side of a link: queues frames for sending.
///
/// Queued frames are sent at the latest when the link is flushed ([`Link::flush`]); a
/// backend may send earlier (when its queue is full, for instance).
pub trait Transmit {
    /// Queues a copy of `frame` (a whole Ethernet frame, without FCS).
    ///
    /// Errors: [`LinkError::FrameTooLarge`] if `frame` is longer than
    /// [`Transmit::max_frame_len`] or shorter than an Ethernet header;
    /// [`LinkError::TxFull`] if no transmit slot became free within the backend's bound.
    /// A refused frame is counted in the link's [`LinkStats`] and the link stays usable.
    fn send(&mut self, frame: &[u8]) -> Result<(), LinkError>;

    /// Builds a frame directly in transmit memory: `build` receives a buffer of
    /// [`Transmit::max_frame_len`] bytes (contents unspecified) and returns the length of
    /// the frame it wrote there; 0 means "nothing to send" and queues nothing. Returns the
    /// length queued. The same errors as [`Transmit::send`]; a length above the buffer's is
    /// [`LinkError::FrameTooLarge`].
    fn send_with(&mut self, build: &mut dyn FnMut(&mut [u8]) -> usize) -> Result<usize, LinkError>;

    /// The longest frame this link can send.
    fn max_frame_len(&self) -> usize;
}

/// A link: batches of frames in, frames out.
pub trait Link: Transmit {
    /// Hands up to `max` received frames, one at a time and in arrival order, to `handler`,
    /// together with this link's transmit side. When no frame is waiting, first waits up to
    /// `timeout` for one (a zero timeout never waits). Returns how many frames the handler
    /// was given; 0 when none came in time. An error the socket reports while waiting
    /// (ENETDOWN when the interface went down, for instance) is returned once; the link
    /// stays usable.
    ///
    /// The frame's bytes are the link's receive buffer: the handler may rewrite them in
    /// place, and must be done with them when it returns (the buffer is then given back).
    fn recv_batch(
        &mut self,
        max: usize,
        timeout: Duration,
        handler: &mut dyn FnMut(RxFrame<'_>, &mut dyn Transmit),
    ) -> Result<usize, LinkError>;

    /// Sends every queued frame now. For AF_PACKET, one system call for the whole batch,
    /// retried (a bounded number of times) while the kernel answers ENOBUFS or EAGAIN.
    fn flush(&mut self) -> Result<(), LinkError>;

    /// The link's counters. For AF_PACKET this also reads (and accumulates) the kernel's
    /// PACKET_STATISTICS, which the kernel clears on every read.
    fn stats(&mut self) -> Result<LinkStats, LinkError>;
}

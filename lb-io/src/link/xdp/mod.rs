//! An AF_XDP link (feature `xdp`): frames go from the driver to us, and from us to the
//! driver, without the kernel's network stack.
//!
//! An XDP program ([`XdpProgram`], assembled in [`program`](self) without a compiler) runs
//! on every frame the interface receives, before the kernel looks at it, and redirects the
//! frames of each receive queue to the AF_XDP socket registered for that queue in its
//! XSKMAP (`bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS)`). Which frames, its
//! [`XdpSteering`] says: **every** frame ([`XdpProgram::attach`], what [`XdpLink::open`]
//! uses) — ARP, IPv6 neighbour discovery, traffic for the host's own addresses included,
//! which the kernel then never sees —, or only the IPv4 / IPv6 unicast frames not for the
//! host ([`XdpProgram::attach_steering`] with [`XdpSteering::NotForTheHost`], and
//! [`XdpProgram::set_local_addresses`]), the rest going to the kernel as if no program
//! were attached (see ARCHITECTURE.md, "AF_XDP"). Frames of queues without a socket go to
//! the kernel as usual.
//!
//! The frames live in the UMEM, a memory area registered with the socket and cut into
//! buffers of [`XdpConfig::frame_size`] bytes, handed back and forth through four rings:
//! we give empty buffers on the *fill* ring, the kernel hands them back filled on the *RX*
//! ring; we queue frames to send on the *TX* ring, the kernel hands their buffers back on
//! the *completion* ring once sent. [`Link::recv_batch`] takes up to `max` frames from the
//! RX ring, lends each to the handler in place (in its buffer), and gives the buffers back
//! on the fill ring — one index update per batch for each ring. [`Transmit::send`] copies a
//! frame into a free transmit buffer and queues it on the TX ring; [`Link::flush`]
//! publishes the queue and kicks the kernel with `sendto(MSG_DONTWAIT)`, again while frames
//! leave (in copy mode the kernel sends at most 32 per kick and answers EAGAIN) and a
//! bounded number of times while the kernel answers ENOBUFS / EAGAIN / EBUSY.
//!
//! Set-up order: UMEM (anonymous memory) and socket, XDP_UMEM_REG, the four ring sizes,
//! the rings mapped, every receive buffer on the fill ring, bind to (interface, queue)
//! with XDP_USE_NEED_WAKEUP, the socket put into the program's map. Everything is undone
//! when the link is dropped: the socket leaves the map, the rings and the UMEM are
//! unmapped, and the program is detached when its last link goes.
//!
//! What AF_XDP does not say about a frame: no timestamp (the link takes one clock reading
//! per batch), no checksum state ([`RxChecksum::Unknown`]: a frame from a local sender with
//! checksum offload carries a partial checksum, as with AF_PACKET), no VLAN tag taken out
//! by the device's receive offload (such a tag is lost: turn `rx-vlan-offload` off where
//! VLANs are used). The packet type is worked out from the destination address.

mod attach;
mod config;
mod program;
mod tx;

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use attach::{receive_queues, XdpProgram, MAX_LOCAL_ADDRESSES};
pub use config::{AttachMode, XdpBind, XdpConfig, XdpMode, XdpSteering};
use tx::{TxPath, TxState};

use super::poll::wait_for_input;
use super::Transmit;
use super::{Link, LinkError, LinkStats, PacketType, RxChecksum, RxFrame, RxMeta, Timestamp};
use crate::sys::packet_socket::PacketSocket;
use crate::sys::process::page_size;
use crate::sys::xdp_ring::{Chunk, CompletionRing, FillRing, RxRing, TxRing, Umem};
use crate::sys::xdp_socket::XdpSocket;
use crate::wire::EthernetAddress;

/// The counters of an AF_XDP socket (XDP_STATISTICS), counted by the kernel since the
/// link was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct XdpStatistics {
    /// Frames dropped for another reason than a full RX ring (longer than a buffer, for
    /// instance).
    pub rx_dropped: u64,
    /// Fill-ring descriptors the kernel found invalid.
    pub rx_invalid_descs: u64,
    /// TX-ring descriptors the kernel found invalid.
    pub tx_invalid_descs: u64,
    /// Frames dropped because the RX ring was full.
    pub rx_ring_full: u64,
    /// Times the kernel found the fill ring empty.
    pub rx_fill_ring_empty_descs: u64,
    /// Times the kernel found the TX ring empty when kicked.
    pub tx_ring_empty_descs: u64,
}

/// An AF_XDP socket on one receive queue of an interface, with its UMEM and rings, and
/// the XDP program sending it the queue's frames. See the [module](self).
#[derive(Debug)]
pub struct XdpLink {
    // Field order is drop order: unmap the rings, close the socket (which leaves every
    // map), unmap the UMEM, then let go of the program.
    rx: RxRing,
    fill: FillRing,
    tx_ring: TxRing,
    completion: CompletionRing,
    socket: XdpSocket,
    umem: Umem,
    /// Receive buffers the fill ring had no room for (never, with the sizes used; kept
    /// for the next batch rather than lost).
    unfilled: Vec<Chunk>,
    tx: TxState,
    stats: LinkStats,
    program: Arc<XdpProgram>,
    queue: u32,
    mtu: u32,
    mac: EthernetAddress,
    zero_copy: bool,
}

// A worker thread owns its link: it must be able to move there.
const _: fn() = || {
    fn movable<T: Send>() {}
    movable::<XdpLink>();
};

impl XdpLink {
    /// Opens a link on receive queue `queue` of the interface named `interface` (in the
    /// calling thread's network namespace), attaching its own XDP program where
    /// `config.mode` says. Fails if another XDP program is attached to the interface; to
    /// open links on several queues of one interface, attach one [`XdpProgram`] and use
    /// [`XdpLink::open_on`]. Needs CAP_NET_ADMIN, CAP_NET_RAW and CAP_BPF (or root).
    pub fn open(interface: &str, queue: u32, config: &XdpConfig) -> Result<XdpLink, LinkError> {
        config.check(page_size())?;
        let queues = queue
            .checked_add(1)
            .ok_or(LinkError::InvalidConfig("queue out of range"))?;
        let program = XdpProgram::attach(interface, config.mode, queues)?;
        XdpLink::open_on(Arc::new(program), queue, config)
    }

    /// Opens a link on receive queue `queue` (below [`XdpProgram::queues`]) of the
    /// interface `program` is attached to, sharing that program.
    pub fn open_on(
        program: Arc<XdpProgram>,
        queue: u32,
        config: &XdpConfig,
    ) -> Result<XdpLink, LinkError> {
        config.check(page_size())?;
        if queue >= program.queues() {
            return Err(LinkError::InvalidConfig("queue beyond the program's map"));
        }
        let (mtu, mac) = interface_facts(program.interface())?;
        let (umem, mut chunks) = Umem::new(
            config.frame_size as usize,
            config.rx_frames + config.tx_frames,
        )
        .map_err(|e| LinkError::io("mmap(UMEM)", e))?;
        let socket = XdpSocket::open().map_err(|e| LinkError::io("socket(AF_XDP)", e))?;
        socket
            .set_option(libc::XDP_UMEM_REG, &umem.registration())
            .map_err(|e| LinkError::io("setsockopt(XDP_UMEM_REG)", e))?;
        for (name, size, op) in [
            (
                libc::XDP_UMEM_FILL_RING,
                config.rx_frames,
                "setsockopt(XDP_UMEM_FILL_RING)",
            ),
            (
                libc::XDP_UMEM_COMPLETION_RING,
                config.tx_frames,
                "setsockopt(XDP_UMEM_COMPLETION_RING)",
            ),
            (
                libc::XDP_RX_RING,
                config.rx_frames,
                "setsockopt(XDP_RX_RING)",
            ),
            (
                libc::XDP_TX_RING,
                config.tx_frames,
                "setsockopt(XDP_TX_RING)",
            ),
        ] {
            let size = libc::c_int::try_from(size)
                .map_err(|_| LinkError::InvalidConfig("ring too large"))?;
            socket
                .set_option(name, &size)
                .map_err(|e| LinkError::io(op, e))?;
        }
        let offsets = socket
            .mmap_offsets()
            .map_err(|e| LinkError::io("getsockopt(XDP_MMAP_OFFSETS)", e))?;
        let mut fill = FillRing::map(&socket, &offsets.fr, config.rx_frames)
            .map_err(|e| LinkError::io("mmap(fill ring)", e))?;
        let completion = CompletionRing::map(&socket, &offsets.cr, config.tx_frames)
            .map_err(|e| LinkError::io("mmap(completion ring)", e))?;
        let rx = RxRing::map(&socket, &offsets.rx, config.rx_frames)
            .map_err(|e| LinkError::io("mmap(RX ring)", e))?;
        let tx_ring = TxRing::map(&socket, &offsets.tx, config.tx_frames)
            .map_err(|e| LinkError::io("mmap(TX ring)", e))?;

        let tx_buffers = chunks.split_off(config.rx_frames as usize);
        let mut unfilled = Vec::new();
        for chunk in chunks {
            if let Err(chunk) = fill.push(&umem, chunk) {
                unfilled.push(chunk);
            }
        }
        fill.submit();

        let copy = match config.bind {
            XdpBind::Copy => true,
            XdpBind::ZeroCopy => false,
            XdpBind::Auto => program.mode() == AttachMode::Generic,
        };
        let mut flags = libc::XDP_USE_NEED_WAKEUP;
        if copy {
            flags |= libc::XDP_COPY;
        } else if config.bind == XdpBind::ZeroCopy {
            flags |= libc::XDP_ZEROCOPY;
        }
        socket
            .bind(program.ifindex(), queue, flags)
            .map_err(|e| LinkError::io("bind(AF_XDP)", e))?;
        let zero_copy = socket
            .zero_copy()
            .map_err(|e| LinkError::io("getsockopt(XDP_OPTIONS)", e))?;
        program.register(queue, &socket)?;

        let tx = TxState {
            free: tx_buffers,
            queued: 0,
            max_frame_len: tx::max_frame_len(config.frame_size as usize, mtu as usize),
            mtu: mtu as usize,
            need_wakeup: true,
            retry: config.tx_retry,
        };
        Ok(XdpLink {
            rx,
            fill,
            tx_ring,
            completion,
            socket,
            umem,
            unfilled,
            tx,
            stats: LinkStats::default(),
            program,
            queue,
            mtu,
            mac: EthernetAddress(mac),
            zero_copy,
        })
    }

    /// The interface's name.
    pub fn interface(&self) -> &str {
        self.program.interface()
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.program.ifindex()
    }

    /// The receive queue the link is bound to.
    pub fn queue(&self) -> u32 {
        self.queue
    }

    /// The interface's MTU when the link was opened.
    pub fn mtu(&self) -> u32 {
        self.mtu
    }

    /// The interface's Ethernet address when the link was opened.
    pub fn mac_address(&self) -> EthernetAddress {
        self.mac
    }

    /// Where the XDP program runs.
    pub fn attach_mode(&self) -> AttachMode {
        self.program.mode()
    }

    /// Whether frames move without copies between the driver and the UMEM.
    pub fn zero_copy(&self) -> bool {
        self.zero_copy
    }

    /// The XDP program sending this link its frames.
    pub fn program(&self) -> &Arc<XdpProgram> {
        &self.program
    }

    /// The kernel's counters of the socket.
    pub fn xdp_statistics(&self) -> Result<XdpStatistics, LinkError> {
        let s = self
            .socket
            .statistics()
            .map_err(|e| LinkError::io("getsockopt(XDP_STATISTICS)", e))?;
        Ok(XdpStatistics {
            rx_dropped: s.rx_dropped,
            rx_invalid_descs: s.rx_invalid_descs,
            tx_invalid_descs: s.tx_invalid_descs,
            rx_ring_full: s.rx_ring_full,
            rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs,
            tx_ring_empty_descs: s.tx_ring_empty_descs,
        })
    }

    fn tx_path(&mut self) -> TxPath<'_> {
        TxPath {
            umem: &self.umem,
            ring: &mut self.tx_ring,
            completion: &mut self.completion,
            socket: &self.socket,
            state: &mut self.tx,
            stats: &mut self.stats,
        }
    }

    /// Puts the receive buffers the fill ring had no room for on it, and wakes the driver
    /// up if it asks for it.
    fn feed_fill_ring(&mut self) -> Result<(), LinkError> {
        if !self.unfilled.is_empty() {
            while let Some(chunk) = self.unfilled.pop() {
                if let Err(chunk) = self.fill.push(&self.umem, chunk) {
                    self.unfilled.push(chunk);
                    break;
                }
            }
            self.fill.submit();
        }
        if self.fill.needs_wakeup() {
            match self.socket.wake_rx() {
                Ok(()) => {}
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS | libc::EINTR)
                    ) => {}
                Err(e) => return Err(LinkError::io("recvfrom(AF_XDP)", e)),
            }
        }
        Ok(())
    }
}

impl Drop for XdpLink {
    fn drop(&mut self) {
        self.program.unregister(self.queue);
    }
}

impl AsFd for XdpLink {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// The MTU and Ethernet address of interface `name`, asked through a packet socket
/// (AF_XDP sockets answer no interface ioctl).
fn interface_facts(name: &str) -> Result<(u32, [u8; 6]), LinkError> {
    let socket = PacketSocket::open().map_err(|e| LinkError::io("socket(AF_PACKET)", e))?;
    let mtu = socket
        .interface_mtu(name)
        .map_err(|e| LinkError::io("ioctl(SIOCGIFMTU)", e))?;
    let mac = socket
        .interface_hw_addr(name)
        .map_err(|e| LinkError::io("ioctl(SIOCGIFHWADDR)", e))?;
    Ok((mtu, mac))
}

/// How a frame to `dst` was addressed, seen from an interface of address `own`.
fn packet_type(dst: Option<&[u8]>, own: &EthernetAddress) -> PacketType {
    match dst {
        Some(d) if d == own.0 => PacketType::Host,
        Some(d) if d.iter().all(|&b| b == 0xff) => PacketType::Broadcast,
        Some(d) if d.first().is_some_and(|b| b & 1 == 1) => PacketType::Multicast,
        _ => PacketType::OtherHost,
    }
}

/// Now, as a [`Timestamp`].
fn now() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    Timestamp {
        secs: since.as_secs(),
        nanos: since.subsec_nanos(),
    }
}

impl Transmit for XdpLink {
    fn send(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        self.tx_path().send(frame)
    }

    fn send_with(&mut self, build: &mut dyn FnMut(&mut [u8]) -> usize) -> Result<usize, LinkError> {
        self.tx_path().send_with(build)
    }

    fn max_frame_len(&self) -> usize {
        self.tx.max_frame_len
    }
}

impl Link for XdpLink {
    fn recv_batch(
        &mut self,
        max: usize,
        timeout: Duration,
        handler: &mut dyn FnMut(RxFrame<'_>, &mut dyn Transmit),
    ) -> Result<usize, LinkError> {
        if max == 0 {
            return Ok(0);
        }
        if !self.rx.has_next() {
            self.feed_fill_ring()?;
            if timeout.is_zero() {
                return Ok(0);
            }
            wait_for_input(&self.socket, timeout)?;
        }
        let timestamp = now();
        let mut tx = TxPath {
            umem: &self.umem,
            ring: &mut self.tx_ring,
            completion: &mut self.completion,
            socket: &self.socket,
            state: &mut self.tx,
            stats: &mut self.stats,
        };
        let mut delivered = 0;
        for _ in 0..max {
            let Some(mut desc) = self.rx.pop(&self.umem) else {
                break;
            };
            let end = desc.offset.saturating_add(desc.len);
            match self
                .umem
                .chunk_mut(&mut desc.chunk)
                .and_then(|buffer| buffer.get_mut(desc.offset..end))
            {
                Some(data) => {
                    let meta = RxMeta {
                        wire_len: data.len(),
                        timestamp,
                        vlan: None,
                        packet_type: packet_type(data.get(..6), &self.mac),
                        checksum: RxChecksum::Unknown,
                    };
                    tx.stats.rx_frames += 1;
                    tx.stats.rx_bytes += data.len() as u64;
                    handler(RxFrame { data, meta }, &mut tx);
                    delivered += 1;
                }
                None => tx.stats.rx_truncated += 1,
            }
            if let Err(chunk) = self.fill.push(&self.umem, desc.chunk) {
                self.unfilled.push(chunk);
            }
        }
        self.rx.release();
        self.fill.submit();
        Ok(delivered)
    }

    fn flush(&mut self) -> Result<(), LinkError> {
        self.tx_path().flush()
    }

    /// The link's counters; `kernel_drops` is the kernel's count of frames dropped for
    /// this socket (XDP_STATISTICS `rx_dropped + rx_ring_full`; see
    /// [`XdpLink::xdp_statistics`] for the details).
    fn stats(&mut self) -> Result<LinkStats, LinkError> {
        let kernel = self.xdp_statistics()?;
        self.stats.kernel_drops = kernel.rx_dropped + kernel.rx_ring_full;
        Ok(self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packet_type_comes_from_the_destination_address() {
        let own = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
        assert_eq!(packet_type(Some(&own.0), &own), PacketType::Host);
        assert_eq!(packet_type(Some(&[0xff; 6]), &own), PacketType::Broadcast);
        assert_eq!(
            packet_type(Some(&[0x33, 0x33, 0, 0, 0, 1]), &own),
            PacketType::Multicast
        );
        assert_eq!(
            packet_type(Some(&[0x02, 0, 0, 0, 0, 0x02]), &own),
            PacketType::OtherHost
        );
        assert_eq!(packet_type(None, &own), PacketType::OtherHost);
    }
}

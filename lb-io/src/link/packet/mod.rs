//! An AF_PACKET link: TPACKET_V2 receive and transmit rings shared with the kernel.
//!
//! The RX ring is a run of slots the kernel fills with received frames; each slot's status
//! word says whose it is. [`PacketLink::recv_batch`](crate::link::Link::recv_batch) walks
//! the ring from where it stopped, loading each status with acquire ordering; a slot marked
//! `TP_STATUS_USER` holds a frame, which the handler gets as a mutable slice of the slot;
//! the slot goes back to the kernel (`TP_STATUS_KERNEL`, stored with release ordering) when
//! the handler returns. An empty ring is waited on with `poll()`.
//!
//! Sending copies the frame into the next free slot of the TX ring and marks it
//! `TP_STATUS_SEND_REQUEST` (release ordering); a flush is one `send(fd, NULL, 0,
//! MSG_DONTWAIT)` for the whole batch, retried a bounded number of times while the kernel
//! answers ENOBUFS or EAGAIN (a frame the device refused stays queued in its slot). When
//! the ring is full, a send first kicks, then waits (boundedly) for a slot to come back.
//!
//! Set-up order: socket with protocol 0 (receiving nothing yet), TPACKET_V2, PACKET_LOSS
//! (so a frame the kernel finds malformed is skipped rather than stalling the ring),
//! PACKET_QDISC_BYPASS, PACKET_IGNORE_OUTGOING, the send buffer, both rings, mmap, bind to
//! the interface with ETH_P_ALL, promiscuous membership, PACKET_FANOUT. Everything is
//! undone when the link is dropped (munmap, close).

mod config;
mod geometry;
mod rx;
mod tx;

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

pub use config::{Fanout, PacketConfig, RingSize, TxRetry};
use geometry::RingGeometry;
use rx::RxSlot;
use tx::{TxPath, TxRing};

use super::poll::wait_for_input;
use super::{Link, LinkError, LinkStats, RxFrame, Transmit};
use crate::sys::packet_socket::{self, PacketSocket};
use crate::sys::process::page_size;
use crate::sys::ring_map::{RingMap, RingView};
use crate::wire::EthernetAddress;

/// Every EtherType (ETH_P_ALL).
const ETH_P_ALL: u16 = 0x0003;

/// Our side of the RX ring.
#[derive(Debug)]
struct RxRing {
    geometry: RingGeometry,
    /// The next slot to look at.
    next: usize,
    restore_vlan: bool,
}

/// An AF_PACKET socket bound to one interface, with RX and TX rings. See the
/// [module](self) for how it works.
#[derive(Debug)]
pub struct PacketLink {
    // Field order is drop order: unmap the rings, then close the socket.
    map: RingMap,
    socket: PacketSocket,
    rx: RxRing,
    tx: TxRing,
    stats: LinkStats,
    interface: String,
    ifindex: u32,
    mtu: u32,
    mac: EthernetAddress,
}

impl PacketLink {
    /// Opens a link on the interface named `interface` (in the calling thread's network
    /// namespace), with the settings of `config`. Needs CAP_NET_RAW (and CAP_NET_ADMIN
    /// for promiscuous mode).
    pub fn open(interface: &str, config: &PacketConfig) -> Result<PacketLink, LinkError> {
        let page = page_size();
        let rx_geometry = RingGeometry::plan(config.rx_ring, page)?;
        let tx_geometry = RingGeometry::plan(config.tx_ring, page)?;
        let ifindex =
            packet_socket::interface_index(interface).map_err(|e| match e.raw_os_error() {
                Some(libc::ENODEV) | Some(libc::ENXIO) => {
                    LinkError::NoSuchInterface(interface.to_string())
                }
                _ if e.kind() == io::ErrorKind::InvalidInput => {
                    LinkError::NoSuchInterface(interface.to_string())
                }
                _ => LinkError::io("if_nametoindex", e),
            })?;
        let ifindex_c = libc::c_int::try_from(ifindex)
            .map_err(|_| LinkError::NoSuchInterface(interface.to_string()))?;

        let socket = PacketSocket::open().map_err(|e| LinkError::io("socket(AF_PACKET)", e))?;
        let packet_option = |name: libc::c_int, value: libc::c_int, op: &'static str| {
            socket
                .set_option(libc::SOL_PACKET, name, &value)
                .map_err(|e| LinkError::io(op, e))
        };
        packet_option(
            libc::PACKET_VERSION,
            libc::tpacket_versions::TPACKET_V2 as libc::c_int,
            "setsockopt(PACKET_VERSION)",
        )?;
        packet_option(libc::PACKET_LOSS, 1, "setsockopt(PACKET_LOSS)")?;
        if config.qdisc_bypass {
            packet_option(
                libc::PACKET_QDISC_BYPASS,
                1,
                "setsockopt(PACKET_QDISC_BYPASS)",
            )?;
        }
        if config.ignore_outgoing {
            packet_option(
                libc::PACKET_IGNORE_OUTGOING,
                1,
                "setsockopt(PACKET_IGNORE_OUTGOING)",
            )?;
        }
        set_send_buffer(&socket, tx_geometry.len());
        socket
            .set_option(
                libc::SOL_PACKET,
                libc::PACKET_RX_RING,
                &rx_geometry.request(),
            )
            .map_err(|e| LinkError::io("setsockopt(PACKET_RX_RING)", e))?;
        socket
            .set_option(
                libc::SOL_PACKET,
                libc::PACKET_TX_RING,
                &tx_geometry.request(),
            )
            .map_err(|e| LinkError::io("setsockopt(PACKET_TX_RING)", e))?;
        let map = RingMap::map(&socket, rx_geometry.len() + tx_geometry.len())
            .map_err(|e| LinkError::io("mmap", e))?;
        socket
            .bind(ifindex_c, ETH_P_ALL)
            .map_err(|e| LinkError::io("bind", e))?;
        if config.promiscuous {
            let membership = libc::packet_mreq {
                mr_ifindex: ifindex_c,
                mr_type: libc::PACKET_MR_PROMISC as libc::c_ushort,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            socket
                .set_option(libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &membership)
                .map_err(|e| LinkError::io("setsockopt(PACKET_ADD_MEMBERSHIP)", e))?;
        }
        if let Some(fanout) = config.fanout {
            let mut mode = libc::PACKET_FANOUT_HASH;
            if fanout.defrag {
                mode |= libc::PACKET_FANOUT_FLAG_DEFRAG;
            }
            let argument = (mode << 16 | u32::from(fanout.group)) as libc::c_int;
            packet_option(libc::PACKET_FANOUT, argument, "setsockopt(PACKET_FANOUT)")?;
        }
        let mtu = socket
            .interface_mtu(interface)
            .map_err(|e| LinkError::io("ioctl(SIOCGIFMTU)", e))?;
        let mac = socket
            .interface_hw_addr(interface)
            .map_err(|e| LinkError::io("ioctl(SIOCGIFHWADDR)", e))?;

        Ok(PacketLink {
            map,
            socket,
            rx: RxRing {
                geometry: rx_geometry,
                next: 0,
                restore_vlan: config.restore_vlan,
            },
            tx: TxRing::new(tx_geometry, mtu, config.tx_retry),
            stats: LinkStats::default(),
            interface: interface.to_string(),
            ifindex,
            mtu,
            mac: EthernetAddress(mac),
        })
    }

    /// The interface's name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The interface's MTU when the link was opened.
    pub fn mtu(&self) -> u32 {
        self.mtu
    }

    /// The interface's Ethernet address when the link was opened.
    pub fn mac_address(&self) -> EthernetAddress {
        self.mac
    }

    /// The number of slots of the RX and TX rings (the requested counts rounded up).
    pub fn ring_frames(&self) -> (usize, usize) {
        (
            self.rx.geometry.frame_count(),
            self.tx.geometry.frame_count(),
        )
    }

    /// The TX ring's view and our state of it, for one send or batch.
    fn tx_path(&mut self) -> TxPath<'_> {
        let (_, view) = self.map.split(self.rx.geometry.len());
        TxPath {
            ring: &mut self.tx,
            view,
            socket: &self.socket,
            stats: &mut self.stats,
        }
    }
}

/// The socket, to wait on it together with other descriptors
/// ([`PollSet`](crate::link::PollSet)); it is readable when a frame waits in the RX ring.
impl AsFd for PacketLink {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

// A worker thread owns its link: it must be able to move there.
const _: fn() = || {
    fn movable<T: Send>() {}
    movable::<PacketLink>();
};

/// Asks for a send buffer holding a whole TX ring of frames in flight (the kernel stops
/// taking frames from the ring when the buffer is full). SO_SNDBUFFORCE passes the system
/// limit when we may; otherwise SO_SNDBUF, capped by the system. Failing both leaves the
/// default, which only makes full-ring bursts wait more.
fn set_send_buffer(socket: &PacketSocket, ring_len: usize) {
    let size = libc::c_int::try_from(ring_len).unwrap_or(libc::c_int::MAX);
    if socket
        .set_option(libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, &size)
        .is_err()
    {
        let _ = socket.set_option(libc::SOL_SOCKET, libc::SO_SNDBUF, &size);
    }
}

/// Whether the RX slot `index` holds a frame for us.
fn rx_ready(view: &RingView<'_>, ring: &RxRing) -> bool {
    view.load_status(ring.geometry.slot_offset(ring.next))
        .is_some_and(|s| s & libc::TP_STATUS_USER != 0)
}

impl Transmit for PacketLink {
    fn send(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        self.tx_path().send(frame)
    }

    fn send_with(&mut self, build: &mut dyn FnMut(&mut [u8]) -> usize) -> Result<usize, LinkError> {
        self.tx_path().send_with(build)
    }

    fn max_frame_len(&self) -> usize {
        self.tx.max_frame_len()
    }
}

impl Link for PacketLink {
    fn recv_batch(
        &mut self,
        max: usize,
        timeout: Duration,
        handler: &mut dyn FnMut(RxFrame<'_>, &mut dyn Transmit),
    ) -> Result<usize, LinkError> {
        let (mut rx_view, tx_view) = self.map.split(self.rx.geometry.len());
        let mut tx = TxPath {
            ring: &mut self.tx,
            view: tx_view,
            socket: &self.socket,
            stats: &mut self.stats,
        };
        let rx = &mut self.rx;
        if max == 0 {
            return Ok(0);
        }
        if !rx_ready(&rx_view, rx) {
            if timeout.is_zero() {
                return Ok(0);
            }
            wait_for_input(&self.socket, timeout)?;
        }
        let frame_size = rx.geometry.frame_size;
        let mut delivered = 0;
        for _ in 0..max {
            let offset = rx.geometry.slot_offset(rx.next);
            let Some(status) = rx_view.load_status(offset) else {
                break;
            };
            if status & libc::TP_STATUS_USER == 0 {
                break;
            }
            if status & libc::TP_STATUS_LOSING != 0 {
                tx.stats.rx_losing += 1;
            }
            if let Some(body) = rx_view.slot_mut(offset, frame_size) {
                match rx::read_slot(body, status, rx.restore_vlan) {
                    RxSlot::Frame { range, meta } => {
                        if let Some(data) = body.get_mut(range) {
                            tx.stats.rx_frames += 1;
                            tx.stats.rx_bytes += data.len() as u64;
                            handler(RxFrame { data, meta }, &mut tx);
                            delivered += 1;
                        }
                    }
                    RxSlot::Truncated => tx.stats.rx_truncated += 1,
                }
            }
            rx_view.store_status(offset, libc::TP_STATUS_KERNEL);
            rx.next = rx.geometry.next(rx.next);
        }
        Ok(delivered)
    }

    fn flush(&mut self) -> Result<(), LinkError> {
        self.tx_path().flush()
    }

    fn stats(&mut self) -> Result<LinkStats, LinkError> {
        let kernel = self
            .socket
            .packet_statistics()
            .map_err(|e| LinkError::io("getsockopt(PACKET_STATISTICS)", e))?;
        self.stats.kernel_packets += u64::from(kernel.tp_packets);
        self.stats.kernel_drops += u64::from(kernel.tp_drops);
        Ok(self.stats)
    }
}

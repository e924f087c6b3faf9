//! The TX ring: filling slots, marking them for sending, and kicking the kernel.

use std::io;

use super::config::TxRetry;
use super::geometry::{RingGeometry, TX_DATA_OFFSET};
use crate::link::{LinkError, LinkStats, Transmit};
use crate::sys::packet_socket::PacketSocket;
use crate::sys::ring_map::{RingKind, RingView, STATUS_LEN};
use crate::wire::ethernet::HEADER_LEN as ETHERNET_HEADER_LEN;

/// `tp_len` of a TX slot, counted from the end of the status word.
const TP_LEN: usize = 4 - STATUS_LEN;
/// The frame of a TX slot, counted from the end of the status word.
const DATA: usize = TX_DATA_OFFSET - STATUS_LEN;
/// The 802.1Q TPID: only frames carrying it may exceed the MTU by a tag's 4 bytes.
const ETH_P_8021Q: [u8; 2] = [0x81, 0x00];
const VLAN_TAG_LEN: usize = 4;

/// Our side of the TX ring.
#[derive(Debug)]
pub(super) struct TxRing {
    pub(super) geometry: RingGeometry,
    /// The next slot to fill; the kernel takes slots in the same order.
    next: usize,
    /// The slot filled last, while the kernel may not have taken it yet.
    last_queued: Option<usize>,
    /// The interface MTU: frames may have 14 bytes more (18 with an 802.1Q tag).
    mtu: usize,
    retry: TxRetry,
}

impl TxRing {
    pub(super) fn new(geometry: RingGeometry, mtu: u32, retry: TxRetry) -> TxRing {
        TxRing {
            geometry,
            next: 0,
            last_queued: None,
            mtu: mtu as usize,
            retry,
        }
    }

    /// The longest frame a slot holds.
    fn slot_capacity(&self) -> usize {
        self.geometry.frame_size - TX_DATA_OFFSET
    }

    /// The longest frame the link sends: what a slot holds, and what the kernel lets
    /// through an interface of this MTU (an 802.1Q-tagged frame may be 4 bytes longer).
    pub(super) fn max_frame_len(&self) -> usize {
        self.slot_capacity()
            .min(self.mtu + ETHERNET_HEADER_LEN + VLAN_TAG_LEN)
    }

    /// Whether the kernel would send `frame`'s `len` bytes whose EtherType field is
    /// `ethertype`.
    fn fits(&self, len: usize, ethertype: Option<&[u8]>) -> bool {
        let untagged_max = self.mtu + ETHERNET_HEADER_LEN;
        let tagged = ethertype == Some(&ETH_P_8021Q[..]);
        len >= ETHERNET_HEADER_LEN && len <= self.max_frame_len() && (len <= untagged_max || tagged)
    }
}

/// The transmit side of an open link, borrowed for a send, a batch or a flush.
pub(super) struct TxPath<'a> {
    pub(super) ring: &'a mut TxRing,
    pub(super) view: RingView<'a>,
    pub(super) socket: &'a PacketSocket,
    pub(super) stats: &'a mut LinkStats,
}

impl TxPath<'_> {
    /// Waits (boundedly) until the next slot is ours, kicking the kernel if frames are
    /// queued. Returns the slot's offset.
    fn free_slot(&mut self) -> Result<usize, LinkError> {
        let offset = self.ring.geometry.slot_offset(self.ring.next);
        for attempt in 0..=self.ring.retry.attempts {
            let status = self
                .view
                .load_status(offset)
                .ok_or(LinkError::InvalidConfig("TX slot outside its ring"))?;
            if RingKind::Tx.owns(status) {
                return Ok(offset);
            }
            if attempt == self.ring.retry.attempts {
                break;
            }
            // The slot is still being sent, or is one of ours not yet handed over because
            // the ring went round: hand over what is queued, then wait for room.
            if self.ring.last_queued.is_some() {
                self.kick()?;
            }
            self.socket
                .wait(false, true, self.ring.retry.wait)
                .map_err(|e| LinkError::io("poll(POLLOUT)", e))?;
        }
        self.stats.tx_full += 1;
        Err(LinkError::TxFull)
    }

    /// Marks the slot at `offset`, holding a frame of `len` bytes, for sending.
    fn commit(&mut self, offset: usize, len: usize) {
        self.view.store_status(offset, libc::TP_STATUS_SEND_REQUEST);
        self.ring.last_queued = Some(offset);
        self.ring.next = self.ring.geometry.next(self.ring.next);
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += len as u64;
    }

    fn refuse_len(&mut self, len: usize) -> LinkError {
        self.stats.tx_too_large += 1;
        LinkError::FrameTooLarge {
            len,
            max: self.ring.max_frame_len(),
        }
    }

    /// One `send(fd, NULL, 0, MSG_DONTWAIT)`. Returns whether the kernel took every
    /// queued frame; ENOBUFS / EAGAIN / EINTR count as "not yet" (and as a retry).
    fn kick(&mut self) -> Result<bool, LinkError> {
        let Some(last) = self.ring.last_queued else {
            return Ok(true);
        };
        match self.socket.kick_tx() {
            Ok(_) => {}
            Err(e) if is_transient(&e) => {
                self.stats.tx_retries += 1;
                return Ok(false);
            }
            Err(e) => return Err(LinkError::io("send(TX ring)", e)),
        }
        // The kernel takes slots in order: once the last one queued is no longer a send
        // request, all are taken. It may stop early when the socket's send buffer is full.
        let taken = self.view.load_status(last) != Some(libc::TP_STATUS_SEND_REQUEST);
        if taken {
            self.ring.last_queued = None;
        }
        Ok(taken)
    }

    /// Hands every queued frame to the kernel, retrying (boundedly) while it is busy.
    pub(super) fn flush(&mut self) -> Result<(), LinkError> {
        let attempts = self.ring.retry.attempts;
        for attempt in 0..=attempts {
            if self.kick()? {
                return Ok(());
            }
            if attempt < attempts {
                self.socket
                    .wait(false, true, self.ring.retry.wait)
                    .map_err(|e| LinkError::io("poll(POLLOUT)", e))?;
            }
        }
        Err(LinkError::TxBusy {
            attempts: attempts + 1,
        })
    }
}

impl Transmit for TxPath<'_> {
    fn send(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        let len = frame.len();
        if !self.ring.fits(len, frame.get(12..14)) {
            return Err(self.refuse_len(len));
        }
        let offset = self.free_slot()?;
        let frame_size = self.ring.geometry.frame_size;
        let body = self
            .view
            .slot_mut(offset, frame_size)
            .ok_or(LinkError::TxFull)?;
        if !write_frame(body, frame) {
            return Err(self.refuse_len(len));
        }
        self.commit(offset, len);
        Ok(())
    }

    fn send_with(&mut self, build: &mut dyn FnMut(&mut [u8]) -> usize) -> Result<usize, LinkError> {
        let offset = self.free_slot()?;
        let frame_size = self.ring.geometry.frame_size;
        let max = self.ring.max_frame_len();
        let body = self
            .view
            .slot_mut(offset, frame_size)
            .ok_or(LinkError::TxFull)?;
        let Some(out) = body.get_mut(DATA..DATA + max) else {
            return Err(LinkError::TxFull);
        };
        let len = build(out);
        if len == 0 {
            return Ok(0);
        }
        let ethertype = out.get(12..14).map(|e| [e[0], e[1]]);
        if !self.ring.fits(len, ethertype.as_ref().map(|e| &e[..])) {
            return Err(self.refuse_len(len));
        }
        if !write_len(body, len) {
            return Err(self.refuse_len(len));
        }
        self.commit(offset, len);
        Ok(len)
    }

    fn max_frame_len(&self) -> usize {
        self.ring.max_frame_len()
    }
}

/// Writes `frame` and its length into the TX slot bytes `body`; false if it does not fit.
fn write_frame(body: &mut [u8], frame: &[u8]) -> bool {
    match body.get_mut(DATA..DATA + frame.len()) {
        Some(out) => {
            out.copy_from_slice(frame);
            write_len(body, frame.len())
        }
        None => false,
    }
}

/// Writes `tp_len` into the TX slot bytes `body`.
fn write_len(body: &mut [u8], len: usize) -> bool {
    match (body.get_mut(TP_LEN..TP_LEN + 4), u32::try_from(len)) {
        (Some(field), Ok(len)) => {
            field.copy_from_slice(&len.to_ne_bytes());
            true
        }
        _ => false,
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR)
    )
}

//! The transmit side: frame buffers taken from the free list (refilled from the
//! completion ring), queued on the TX ring, and the `sendto` kick.

use std::io;

use crate::link::{LinkError, LinkStats, Transmit, TxRetry};
use crate::sys::xdp_ring::{Chunk, CompletionRing, TxRing, Umem};
use crate::sys::xdp_socket::XdpSocket;
use crate::wire::ethernet::HEADER_LEN as ETHERNET_HEADER_LEN;

/// The 802.1Q TPID: only frames carrying it may exceed the MTU by a tag's 4 bytes.
const ETH_P_8021Q: [u8; 2] = [0x81, 0x00];
const VLAN_TAG_LEN: usize = 4;

/// Our transmit state besides the rings.
#[derive(Debug)]
pub(super) struct TxState {
    /// Transmit buffers that are ours (never sent, or given back by the completion ring).
    pub(super) free: Vec<Chunk>,
    /// Frames queued on the TX ring since the kernel last took them all.
    pub(super) queued: u32,
    /// The longest frame: what a buffer holds, and what the MTU lets through with an
    /// 802.1Q tag.
    pub(super) max_frame_len: usize,
    /// The interface MTU.
    pub(super) mtu: usize,
    /// Whether the socket was bound with XDP_USE_NEED_WAKEUP (so the kernel says when a
    /// kick is needed).
    pub(super) need_wakeup: bool,
    pub(super) retry: TxRetry,
}

impl TxState {
    /// Whether the kernel would send a frame of `len` bytes whose EtherType field is
    /// `ethertype`.
    fn fits(&self, len: usize, ethertype: Option<&[u8]>) -> bool {
        let untagged_max = self.mtu + ETHERNET_HEADER_LEN;
        let tagged = ethertype == Some(&ETH_P_8021Q[..]);
        len >= ETHERNET_HEADER_LEN && len <= self.max_frame_len && (len <= untagged_max || tagged)
    }
}

/// The longest frame sent through buffers of `frame_size` bytes on an interface of `mtu`.
pub(super) fn max_frame_len(frame_size: usize, mtu: usize) -> usize {
    frame_size.min(mtu + ETHERNET_HEADER_LEN + VLAN_TAG_LEN)
}

/// The transmit side of an open link, borrowed for a send, a batch or a flush.
pub(super) struct TxPath<'a> {
    pub(super) umem: &'a Umem,
    pub(super) ring: &'a mut TxRing,
    pub(super) completion: &'a mut CompletionRing,
    pub(super) socket: &'a XdpSocket,
    pub(super) state: &'a mut TxState,
    pub(super) stats: &'a mut LinkStats,
}

impl TxPath<'_> {
    /// Takes back the buffers the kernel has sent.
    fn reap(&mut self) {
        let mut any = false;
        while let Some(chunk) = self.completion.pop(self.umem) {
            self.state.free.push(chunk);
            any = true;
        }
        if any {
            self.completion.release();
        }
    }

    /// Publishes the queued frames and, when the kernel needs it, kicks it with a
    /// `sendto`. ENOBUFS / EAGAIN / EBUSY / EINTR count as a retry, not an error.
    fn kick(&mut self) -> Result<(), LinkError> {
        self.ring.submit();
        if self.state.need_wakeup && !self.ring.needs_wakeup() {
            return Ok(());
        }
        match self.socket.kick_tx() {
            Ok(()) => Ok(()),
            Err(e) if is_transient(&e) => {
                self.stats.tx_retries += 1;
                Ok(())
            }
            Err(e) => Err(LinkError::io("sendto(AF_XDP)", e)),
        }
    }

    /// A free transmit buffer, waiting (boundedly) for the kernel to give one back.
    fn take_buffer(&mut self) -> Result<Chunk, LinkError> {
        for attempt in 0..=self.state.retry.attempts {
            if let Some(chunk) = self.state.free.pop() {
                return Ok(chunk);
            }
            self.reap();
            if let Some(chunk) = self.state.free.pop() {
                return Ok(chunk);
            }
            if attempt == self.state.retry.attempts {
                break;
            }
            // Every buffer is queued or being sent: hand over what is queued, then give
            // the kernel time to complete.
            self.kick()?;
            self.reap();
            if self.state.free.is_empty() {
                self.socket
                    .wait(false, false, self.state.retry.wait)
                    .map_err(|e| LinkError::io("poll(AF_XDP)", e))?;
            }
        }
        self.stats.tx_full += 1;
        Err(LinkError::TxFull)
    }

    /// Queues the first `len` bytes of `chunk` on the TX ring.
    fn queue(&mut self, chunk: Chunk, len: usize) -> Result<(), LinkError> {
        let Ok(len32) = u32::try_from(len) else {
            self.state.free.push(chunk);
            return Err(self.refuse_len(len));
        };
        match self.ring.push(self.umem, chunk, len32) {
            Ok(()) => {
                self.state.queued += 1;
                self.stats.tx_frames += 1;
                self.stats.tx_bytes += len as u64;
                Ok(())
            }
            Err(chunk) => {
                // The ring has as many slots as there are buffers: not reached.
                self.state.free.push(chunk);
                self.stats.tx_full += 1;
                Err(LinkError::TxFull)
            }
        }
    }

    fn refuse_len(&mut self, len: usize) -> LinkError {
        self.stats.tx_too_large += 1;
        LinkError::FrameTooLarge {
            len,
            max: self.state.max_frame_len,
        }
    }

    /// Hands every queued frame to the kernel, kicking again while it makes progress and
    /// retrying (boundedly) while it is busy. The frames of a failed flush stay queued.
    pub(super) fn flush(&mut self) -> Result<(), LinkError> {
        if self.state.queued == 0 {
            self.reap();
            return Ok(());
        }
        let attempts = self.state.retry.attempts;
        let mut idle = 0;
        let mut outstanding = u32::MAX;
        loop {
            self.kick()?;
            self.reap();
            let left = self.ring.outstanding();
            if left == 0 {
                self.state.queued = 0;
                return Ok(());
            }
            // A kick sends a bounded batch (32 frames in copy mode) and says EAGAIN: go on
            // at once while frames leave; wait only when none did.
            if left < outstanding {
                outstanding = left;
                continue;
            }
            if idle == attempts {
                return Err(LinkError::TxBusy {
                    attempts: attempts + 1,
                });
            }
            idle += 1;
            self.socket
                .wait(false, true, self.state.retry.wait)
                .map_err(|e| LinkError::io("poll(POLLOUT)", e))?;
        }
    }
}

impl Transmit for TxPath<'_> {
    fn send(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        let len = frame.len();
        if !self.state.fits(len, frame.get(12..14)) {
            return Err(self.refuse_len(len));
        }
        let mut chunk = self.take_buffer()?;
        match self
            .umem
            .chunk_mut(&mut chunk)
            .and_then(|buffer| buffer.get_mut(..len))
        {
            Some(out) => out.copy_from_slice(frame),
            None => {
                self.state.free.push(chunk);
                return Err(self.refuse_len(len));
            }
        }
        self.queue(chunk, len)
    }

    fn send_with(&mut self, build: &mut dyn FnMut(&mut [u8]) -> usize) -> Result<usize, LinkError> {
        let mut chunk = self.take_buffer()?;
        let max = self.state.max_frame_len;
        let (len, ethertype) = match self
            .umem
            .chunk_mut(&mut chunk)
            .and_then(|buffer| buffer.get_mut(..max))
        {
            Some(out) => {
                let len = build(out);
                (len, out.get(12..14).map(|e| [e[0], e[1]]))
            }
            None => {
                self.state.free.push(chunk);
                return Err(LinkError::TxFull);
            }
        };
        if len == 0 {
            self.state.free.push(chunk);
            return Ok(0);
        }
        if !self.state.fits(len, ethertype.as_ref().map(|e| &e[..])) {
            self.state.free.push(chunk);
            return Err(self.refuse_len(len));
        }
        self.queue(chunk, len).map(|()| len)
    }

    fn max_frame_len(&self) -> usize {
        self.state.max_frame_len
    }
}

fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOBUFS | libc::EAGAIN | libc::EBUSY | libc::EINTR)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn frame_lengths_follow_the_mtu_and_the_buffer() {
        assert_eq!(max_frame_len(2048, 1500), 1518);
        assert_eq!(max_frame_len(2048, 9000), 2048);
        let state = TxState {
            free: Vec::new(),
            queued: 0,
            max_frame_len: max_frame_len(2048, 1500),
            mtu: 1500,
            need_wakeup: true,
            retry: TxRetry {
                attempts: 0,
                wait: Duration::ZERO,
            },
        };
        assert!(state.fits(14, Some(&[0x08, 0x00])));
        assert!(!state.fits(13, None));
        assert!(state.fits(1514, Some(&[0x08, 0x00])));
        assert!(!state.fits(1515, Some(&[0x08, 0x00])));
        assert!(state.fits(1518, Some(&ETH_P_8021Q)));
        assert!(!state.fits(1519, Some(&ETH_P_8021Q)));
    }
}

//! A link made of two queues of frames in memory, for tests.

use std::collections::VecDeque;
use std::time::Duration;

use super::{Link, LinkError, LinkStats, RxFrame, RxMeta, Timestamp, Transmit};
use crate::wire::ethernet::HEADER_LEN as ETHERNET_HEADER_LEN;

/// The longest frame a [`MemoryLink`] sends unless told otherwise (a 9000-byte jumbo frame
/// with its Ethernet header and two VLAN tags).
pub const DEFAULT_MAX_FRAME: usize = 9000 + 14 + 8;

/// A link whose received frames are pushed into a queue by the test, and whose sent frames
/// collect in another queue for the test to take.
///
/// Frames sent are *queued* until [`Link::flush`], then *sent*: [`MemoryLink::take_sent`]
/// only returns flushed frames, so a test notices a forgotten flush. At most `tx_capacity`
/// frames may be queued at once; one more is refused with [`LinkError::TxFull`], as a full
/// TX ring would.
#[derive(Debug)]
pub struct MemoryLink {
    rx: VecDeque<(Vec<u8>, RxMeta)>,
    tx: MemoryTx,
}

#[derive(Debug)]
struct MemoryTx {
    queued: Vec<Vec<u8>>,
    sent: Vec<Vec<u8>>,
    scratch: Vec<u8>,
    max_frame: usize,
    capacity: usize,
    stats: LinkStats,
}

impl Default for MemoryLink {
    fn default() -> Self {
        MemoryLink::new()
    }
}

impl MemoryLink {
    /// A link sending frames of up to [`DEFAULT_MAX_FRAME`] bytes, with no bound on the
    /// frames queued before a flush.
    pub fn new() -> MemoryLink {
        MemoryLink::with_limits(DEFAULT_MAX_FRAME, usize::MAX)
    }

    /// A link sending frames of up to `max_frame` bytes, refusing to queue more than
    /// `tx_capacity` frames between flushes.
    pub fn with_limits(max_frame: usize, tx_capacity: usize) -> MemoryLink {
        MemoryLink {
            rx: VecDeque::new(),
            tx: MemoryTx {
                queued: Vec::new(),
                sent: Vec::new(),
                scratch: Vec::new(),
                max_frame,
                capacity: tx_capacity,
                stats: LinkStats::default(),
            },
        }
    }

    /// Queues a copy of `frame` to be received, with plain metadata and timestamp 0.
    pub fn push_rx(&mut self, frame: &[u8]) {
        self.push_rx_with(
            frame.to_vec(),
            RxMeta::plain(frame.len(), Timestamp::default()),
        );
    }

    /// Queues `frame` to be received with the metadata `meta`.
    pub fn push_rx_with(&mut self, frame: Vec<u8>, meta: RxMeta) {
        self.rx.push_back((frame, meta));
    }

    /// How many frames wait to be received.
    pub fn rx_pending(&self) -> usize {
        self.rx.len()
    }

    /// How many frames are queued for sending but not flushed yet.
    pub fn tx_queued(&self) -> usize {
        self.tx.queued.len()
    }

    /// Takes the frames flushed so far, in the order they were sent.
    pub fn take_sent(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.tx.sent)
    }
}

impl MemoryTx {
    /// Checks `len` and the queue's room, counting a refusal.
    fn admit(&mut self, len: usize) -> Result<(), LinkError> {
        if !(ETHERNET_HEADER_LEN..=self.max_frame).contains(&len) {
            self.stats.tx_too_large += 1;
            return Err(LinkError::FrameTooLarge {
                len,
                max: self.max_frame,
            });
        }
        if self.queued.len() >= self.capacity {
            self.stats.tx_full += 1;
            return Err(LinkError::TxFull);
        }
        Ok(())
    }

    fn queue(&mut self, frame: Vec<u8>) {
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += frame.len() as u64;
        self.queued.push(frame);
    }
}

impl Transmit for MemoryTx {
    fn send(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        self.admit(frame.len())?;
        self.queue(frame.to_vec());
        Ok(())
    }

    fn send_with(&mut self, build: &mut dyn FnMut(&mut [u8]) -> usize) -> Result<usize, LinkError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        scratch.resize(self.max_frame, 0);
        let len = build(&mut scratch);
        if len == 0 {
            self.scratch = scratch;
            return Ok(0);
        }
        let admitted = self.admit(len);
        if admitted.is_ok() {
            scratch.truncate(len);
            self.queue(scratch);
        } else {
            self.scratch = scratch;
        }
        admitted.map(|()| len)
    }

    fn max_frame_len(&self) -> usize {
        self.max_frame
    }
}

impl Transmit for MemoryLink {
    fn send(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        self.tx.send(frame)
    }

    fn send_with(&mut self, build: &mut dyn FnMut(&mut [u8]) -> usize) -> Result<usize, LinkError> {
        self.tx.send_with(build)
    }

    fn max_frame_len(&self) -> usize {
        self.tx.max_frame
    }
}

impl Link for MemoryLink {
    /// Hands out up to `max` queued frames; never waits (`timeout` is ignored: nothing can
    /// arrive while the caller is blocked).
    fn recv_batch(
        &mut self,
        max: usize,
        _timeout: Duration,
        handler: &mut dyn FnMut(RxFrame<'_>, &mut dyn Transmit),
    ) -> Result<usize, LinkError> {
        let mut delivered = 0;
        while delivered < max {
            let Some((mut data, meta)) = self.rx.pop_front() else {
                break;
            };
            self.tx.stats.rx_frames += 1;
            self.tx.stats.rx_bytes += data.len() as u64;
            handler(
                RxFrame {
                    data: &mut data,
                    meta,
                },
                &mut self.tx,
            );
            delivered += 1;
        }
        Ok(delivered)
    }

    fn flush(&mut self) -> Result<(), LinkError> {
        self.tx.sent.append(&mut self.tx.queued);
        Ok(())
    }

    fn stats(&mut self) -> Result<LinkStats, LinkError> {
        Ok(self.tx.stats)
    }
}

//! A link replaying a pcap file: frames come in from a [`PcapReader`] and go out to a
//! [`PcapWriter`].

use std::io::{Read, Write};
use std::time::Duration;

use super::{Link, LinkError, LinkStats, RxFrame, RxMeta, Timestamp, Transmit};
use crate::pcap::{PcapReader, PcapWriter, LINKTYPE_ETHERNET, MAX_RECORD_LEN};
use crate::wire::ethernet::HEADER_LEN as ETHERNET_HEADER_LEN;

/// A link for offline replay: [`Link::recv_batch`] hands out the records of a pcap file in
/// order (each record's bytes rewritable in place), and every frame sent is written as a
/// record to another pcap file, stamped with the timestamp of the frame received last (so
/// that replaying a capture gives the same output file every time).
///
/// When the input is exhausted, [`Link::recv_batch`] returns [`LinkError::EndOfInput`]
/// (after a last call that delivered the final frames, if any). Frames are written to the
/// output as they are sent; [`Link::flush`] flushes the writer.
#[derive(Debug)]
pub struct PcapLink<R: Read, W: Write> {
    reader: PcapReader<R>,
    exhausted: bool,
    tx: PcapTx<W>,
}

#[derive(Debug)]
struct PcapTx<W: Write> {
    writer: PcapWriter<W>,
    clock: Timestamp,
    scratch: Vec<u8>,
    max_frame: usize,
    stats: LinkStats,
}

impl<R: Read, W: Write> PcapLink<R, W> {
    /// A link reading `reader`'s records and writing sent frames to `writer`. Both files
    /// must be Ethernet captures ([`LinkError::NotEthernet`] otherwise). Frames longer than
    /// the writer's snapshot length are refused with [`LinkError::FrameTooLarge`].
    pub fn new(reader: PcapReader<R>, writer: PcapWriter<W>) -> Result<PcapLink<R, W>, LinkError> {
        for linktype in [reader.header().linktype, writer.header().linktype] {
            if linktype != LINKTYPE_ETHERNET {
                return Err(LinkError::NotEthernet(linktype));
            }
        }
        let max_frame = match writer.header().snaplen {
            0 => MAX_RECORD_LEN,
            snaplen => snaplen.min(MAX_RECORD_LEN),
        } as usize;
        Ok(PcapLink {
            reader,
            exhausted: false,
            tx: PcapTx {
                writer,
                clock: Timestamp::default(),
                scratch: Vec::new(),
                max_frame,
                stats: LinkStats::default(),
            },
        })
    }

    /// The reader and the writer (not flushed).
    pub fn into_parts(self) -> (PcapReader<R>, PcapWriter<W>) {
        (self.reader, self.tx.writer)
    }
}

impl<W: Write> PcapTx<W> {
    fn check_len(&mut self, len: usize) -> Result<(), LinkError> {
        if (ETHERNET_HEADER_LEN..=self.max_frame).contains(&len) {
            Ok(())
        } else {
            self.stats.tx_too_large += 1;
            Err(LinkError::FrameTooLarge {
                len,
                max: self.max_frame,
            })
        }
    }

    fn write(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        self.writer.write_frame(self.clock, frame)?;
        self.stats.tx_frames += 1;
        self.stats.tx_bytes += frame.len() as u64;
        Ok(())
    }
}

impl<W: Write> Transmit for PcapTx<W> {
    fn send(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        self.check_len(frame.len())?;
        self.write(frame)
    }

    fn send_with(&mut self, build: &mut dyn FnMut(&mut [u8]) -> usize) -> Result<usize, LinkError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize(self.max_frame, 0);
        let len = build(&mut scratch);
        let result = if len == 0 {
            Ok(0)
        } else {
            self.check_len(len)
                .and_then(|()| self.write(scratch.get(..len).unwrap_or(&[])))
                .map(|()| len)
        };
        self.scratch = scratch;
        result
    }

    fn max_frame_len(&self) -> usize {
        self.max_frame
    }
}

impl<R: Read, W: Write> Transmit for PcapLink<R, W> {
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

impl<R: Read, W: Write> Link for PcapLink<R, W> {
    /// Hands out the next `max` records; never waits (`timeout` is ignored). A record cut
    /// short by its capture (captured length below its original length) is skipped and
    /// counted in [`LinkStats::rx_truncated`], as AF_PACKET does.
    fn recv_batch(
        &mut self,
        max: usize,
        _timeout: Duration,
        handler: &mut dyn FnMut(RxFrame<'_>, &mut dyn Transmit),
    ) -> Result<usize, LinkError> {
        if self.exhausted {
            return Err(LinkError::EndOfInput);
        }
        let mut delivered = 0;
        let mut visited = 0;
        while visited < max {
            visited += 1;
            let Some(record) = self.reader.next_record()? else {
                self.exhausted = true;
                return if delivered == 0 {
                    Err(LinkError::EndOfInput)
                } else {
                    Ok(delivered)
                };
            };
            self.tx.clock = record.timestamp;
            if (record.orig_len as usize) > record.data.len() {
                self.tx.stats.rx_truncated += 1;
                continue;
            }
            let meta = RxMeta::plain(record.data.len(), record.timestamp);
            self.tx.stats.rx_frames += 1;
            self.tx.stats.rx_bytes += record.data.len() as u64;
            handler(
                RxFrame {
                    data: record.data,
                    meta,
                },
                &mut self.tx,
            );
            delivered += 1;
        }
        Ok(delivered)
    }

    fn flush(&mut self) -> Result<(), LinkError> {
        self.tx.writer.flush()?;
        Ok(())
    }

    fn stats(&mut self) -> Result<LinkStats, LinkError> {
        Ok(self.tx.stats)
    }
}

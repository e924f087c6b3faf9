//! SCTP packets (RFC 9260): the common header, the chunk headers, and the CRC32c checksum.

use super::crc32c;
use super::error::{Error, Result};
use super::field::{read_u16, read_u32, write_u16, write_u32};

/// The length of the SCTP common header.
pub const HEADER_LEN: usize = 12;
/// The length of a chunk header.
pub const CHUNK_HEADER_LEN: usize = 4;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const VERIFICATION_TAG: usize = 4;
    pub const CHECKSUM: usize = 8;
}

/// An SCTP chunk type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SctpChunkType(pub u8);

impl SctpChunkType {
    /// Payload data.
    pub const DATA: SctpChunkType = SctpChunkType(0);
    /// Initiation.
    pub const INIT: SctpChunkType = SctpChunkType(1);
    /// Initiation acknowledgement.
    pub const INIT_ACK: SctpChunkType = SctpChunkType(2);
    /// Selective acknowledgement.
    pub const SACK: SctpChunkType = SctpChunkType(3);
    /// Heartbeat request.
    pub const HEARTBEAT: SctpChunkType = SctpChunkType(4);
    /// Heartbeat acknowledgement.
    pub const HEARTBEAT_ACK: SctpChunkType = SctpChunkType(5);
    /// Abort.
    pub const ABORT: SctpChunkType = SctpChunkType(6);
    /// Shutdown.
    pub const SHUTDOWN: SctpChunkType = SctpChunkType(7);
    /// Shutdown acknowledgement.
    pub const SHUTDOWN_ACK: SctpChunkType = SctpChunkType(8);
    /// Operation error.
    pub const ERROR: SctpChunkType = SctpChunkType(9);
    /// State cookie.
    pub const COOKIE_ECHO: SctpChunkType = SctpChunkType(10);
    /// Cookie acknowledgement.
    pub const COOKIE_ACK: SctpChunkType = SctpChunkType(11);
    /// Explicit congestion notification echo.
    pub const ECNE: SctpChunkType = SctpChunkType(12);
    /// Congestion window reduced.
    pub const CWR: SctpChunkType = SctpChunkType(13);
    /// Shutdown complete.
    pub const SHUTDOWN_COMPLETE: SctpChunkType = SctpChunkType(14);
}

/// A chunk header found in a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SctpChunk {
    /// Chunk type.
    pub chunk_type: SctpChunkType,
    /// Chunk flags.
    pub flags: u8,
    /// The chunk length field (header included, padding excluded). It may be less than 4
    /// (malformed) or run past the packet (truncated): it is reported as read.
    pub len: u16,
    /// Where the chunk starts, from the start of the SCTP header.
    pub offset: usize,
}

/// The chunk headers of a packet, in order.
///
/// Yields every chunk whose 4-byte header is in the packet. The next chunk starts at this
/// one's offset plus its length rounded up to 4 bytes; a chunk whose length is less than 4
/// is the last one yielded (the chain cannot go on from it).
#[derive(Debug, Clone)]
pub struct SctpChunks<'a> {
    data: &'a [u8],
    next: Option<usize>,
}

impl Iterator for SctpChunks<'_> {
    type Item = SctpChunk;

    fn next(&mut self) -> Option<SctpChunk> {
        let at = self.next?;
        let header = self.data.get(at..at.checked_add(CHUNK_HEADER_LEN)?)?;
        let chunk = SctpChunk {
            chunk_type: SctpChunkType(header[0]),
            flags: header[1],
            len: u16::from_be_bytes([header[2], header[3]]),
            offset: at,
        };
        let len = usize::from(chunk.len);
        self.next = if len < CHUNK_HEADER_LEN {
            None
        } else {
            Some(at + len.div_ceil(4) * 4)
        };
        Some(chunk)
    }
}

/// A view of an SCTP packet. The buffer must be exactly the packet (the IP payload): the
/// checksum covers all of it.
///
/// The checksum is CRC32c over the packet with the checksum field as zero, stored
/// little-endian (as the kernel's `sctp_compute_cksum` does); [`checksum`](Self::checksum)
/// returns it as a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SctpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> SctpPacket<T> {
    /// Wraps a buffer without checking it; the accessors may panic if it is too short.
    pub fn new_unchecked(buffer: T) -> Self {
        SctpPacket { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the common header is in the buffer.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// Verification tag.
    pub fn verification_tag(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::VERIFICATION_TAG)
    }

    /// The CRC32c in the checksum field.
    pub fn checksum(&self) -> u32 {
        let d = self.buffer.as_ref();
        let at = field::CHECKSUM;
        u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
    }

    /// The chunk headers.
    pub fn chunks(&self) -> SctpChunks<'_> {
        SctpChunks {
            data: self.buffer.as_ref(),
            next: Some(HEADER_LEN),
        }
    }

    /// The first chunk's header, if the packet has one.
    pub fn first_chunk(&self) -> Option<SctpChunk> {
        self.chunks().next()
    }

    /// The first chunk's type, if the packet has one.
    pub fn first_chunk_type(&self) -> Option<SctpChunkType> {
        self.first_chunk().map(|c| c.chunk_type)
    }

    /// The bytes after the common header (the chunks).
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// The CRC32c the packet should carry (computed with the checksum field as zero).
    pub fn compute_checksum(&self) -> u32 {
        let data = self.buffer.as_ref();
        let head = data.get(..field::CHECKSUM).unwrap_or(data);
        let tail = data.get(field::CHECKSUM + 4..).unwrap_or(&[]);
        let crc = crc32c::update(!0, head);
        let crc = crc32c::update(crc, &[0; 4]);
        !crc32c::update(crc, tail)
    }

    /// Whether the checksum field holds the right CRC32c.
    pub fn verify_checksum(&self) -> bool {
        self.compute_checksum() == self.checksum()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> SctpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT, port);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT, port);
    }

    /// Sets the verification tag.
    pub fn set_verification_tag(&mut self, tag: u32) {
        write_u32(self.buffer.as_mut(), field::VERIFICATION_TAG, tag);
    }

    /// Sets the checksum field (stored little-endian).
    pub fn set_checksum(&mut self, crc: u32) {
        let at = field::CHECKSUM;
        self.buffer.as_mut()[at..at + 4].copy_from_slice(&crc.to_le_bytes());
    }

    /// Computes the CRC32c and stores it.
    pub fn fill_checksum(&mut self) {
        let crc = self.compute_checksum();
        self.set_checksum(crc);
    }

    /// The bytes after the common header, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..)
            .unwrap_or(&mut [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An INIT with an IPv4-address parameter (127.0.0.1), all other fields zero: Scapy's
    /// regression vector, whose checksum bytes 40 2c 0b 5f Wireshark accepts.
    const INIT: [u8; 40] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x2c, 0x0b,
        0x5f, // common header
        0x01, 0x00, 0x00, 0x1c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // INIT
        0x00, 0x05, 0x00, 0x08, 0x7f, 0x00, 0x00, 0x01, // IPv4 address parameter
    ];

    /// 36412 → 38412, tag 0x01020304: a COOKIE ECHO with a 5-byte cookie (length 9, padded to
    /// 12), then an ABORT with the T bit.
    const COOKIE_ABORT: [u8; 28] = [
        0x8e, 0x3c, 0x96, 0x0c, 0x01, 0x02, 0x03, 0x04, 0, 0, 0, 0, // common header
        0x0a, 0x00, 0x00, 0x09, 0xc0, 0x0c, 0x1e, 0x00, 0x55, 0x00, 0x00, 0x00, // COOKIE ECHO
        0x06, 0x01, 0x00, 0x04, // ABORT
    ];

    #[test]
    fn init_vector() {
        let p = SctpPacket::new_checked(&INIT[..]).unwrap();
        assert_eq!(p.src_port(), 0);
        assert_eq!(p.dst_port(), 0);
        assert_eq!(p.verification_tag(), 0);
        assert_eq!(p.checksum(), 0x5f0b_2c40);
        assert_eq!(p.compute_checksum(), 0x5f0b_2c40);
        assert!(p.verify_checksum());
        assert_eq!(p.first_chunk_type(), Some(SctpChunkType::INIT));
        assert_eq!(
            p.chunks().collect::<Vec<_>>(),
            vec![SctpChunk {
                chunk_type: SctpChunkType::INIT,
                flags: 0,
                len: 28,
                offset: 12
            }]
        );
        assert_eq!(p.payload().len(), 28);
    }

    #[test]
    fn fill_checksum_is_byte_exact() {
        let mut buf = INIT;
        buf[8..12].copy_from_slice(&[0xAA; 4]);
        let mut p = SctpPacket::new_checked(&mut buf[..]).unwrap();
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert_eq!(buf, INIT);
    }

    #[test]
    fn setters_then_fill() {
        let mut buf = COOKIE_ABORT;
        let mut p = SctpPacket::new_checked(&mut buf[..]).unwrap();
        p.set_src_port(36412);
        p.set_dst_port(38412);
        p.set_verification_tag(0x0102_0304);
        p.fill_checksum();
        let crc = p.checksum();
        assert!(p.verify_checksum());
        assert_eq!(&buf[..8], &COOKIE_ABORT[..8]);
        assert_eq!(&buf[8..12], &crc.to_le_bytes());
        assert_eq!(crc, crc32c::crc32c(&COOKIE_ABORT));
    }

    #[test]
    fn chunk_chain_with_padding() {
        let p = SctpPacket::new_checked(&COOKIE_ABORT[..]).unwrap();
        assert_eq!(p.src_port(), 36412);
        assert_eq!(p.dst_port(), 38412);
        assert_eq!(p.verification_tag(), 0x0102_0304);
        assert_eq!(
            p.chunks().collect::<Vec<_>>(),
            vec![
                SctpChunk {
                    chunk_type: SctpChunkType::COOKIE_ECHO,
                    flags: 0,
                    len: 9,
                    offset: 12
                },
                SctpChunk {
                    chunk_type: SctpChunkType::ABORT,
                    flags: 1,
                    len: 4,
                    offset: 24
                },
            ]
        );
    }

    #[test]
    fn short_and_broken_chains_stop() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                SctpPacket::new_checked(&INIT[..len]).err(),
                Some(Error::Truncated)
            );
        }
        let p = SctpPacket::new_checked(&INIT[..15]).unwrap();
        assert_eq!(p.first_chunk(), None);
        // A chunk length below 4 is reported and ends the chain.
        let mut buf = COOKIE_ABORT;
        buf[15] = 2;
        let p = SctpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(
            p.chunks().collect::<Vec<_>>(),
            vec![SctpChunk {
                chunk_type: SctpChunkType::COOKIE_ECHO,
                flags: 0,
                len: 2,
                offset: 12
            }]
        );
        // A length running past the packet: the chunk is reported, nothing after it.
        buf[14] = 0xFF;
        buf[15] = 0xFF;
        let p = SctpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(p.chunks().count(), 1);
        // Cut in the middle of the second chunk header.
        let p = SctpPacket::new_checked(&COOKIE_ABORT[..27]).unwrap();
        assert_eq!(p.chunks().count(), 1);
    }
}

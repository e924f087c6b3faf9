//! TCP segments (RFC 9293).

use core::ops::{BitOr, BitOrAssign};

use super::checksum::{self, PseudoHeader};
use super::error::{Error, Result};
use super::field::{clamped, clamped_mut, read_u16, read_u32, write_u16, write_u32};
use super::ip::IpProtocol;

/// The length of a TCP header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// The longest TCP header (data offset 15).
pub const MAX_HEADER_LEN: usize = 60;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    pub const OFFSET_FLAGS: usize = 12;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
}

/// The TCP control bits (the low 9 bits of the data-offset/flags word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// Synchronise sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// Push.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// The acknowledgment number is significant.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// The urgent pointer is significant.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECN echo.
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// Congestion window reduced.
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// ECN nonce (historic, RFC 3540).
    pub const NS: TcpFlags = TcpFlags(0x100);
    /// All nine bits.
    pub const ALL: TcpFlags = TcpFlags(0x1FF);

    /// No flag set.
    pub fn empty() -> Self {
        TcpFlags(0)
    }

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    pub fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

/// A view of a TCP segment. The buffer must be exactly the segment (the IP payload): the
/// checksum covers all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps a buffer without checking it; the accessors may panic if it is too short.
    pub fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the header, options included, is in the buffer and that the data offset
    /// is at least 5 words.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < MIN_HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < header_len {
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

    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::SEQ)
    }

    /// Acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::ACK)
    }

    fn offset_flags(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::OFFSET_FLAGS)
    }

    /// Header length in bytes (data offset × 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.offset_flags() >> 12) * 4
    }

    /// Control bits.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.offset_flags() & TcpFlags::ALL.0)
    }

    /// Window size.
    pub fn window_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WINDOW)
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Urgent pointer.
    pub fn urgent_at(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT)
    }

    /// Options (the header after its first 20 bytes).
    pub fn options(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), MIN_HEADER_LEN, self.header_len())
    }

    /// Payload.
    pub fn payload(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        clamped(data, self.header_len(), data.len())
    }

    /// The checksum the segment should carry under `pseudo` (computed with the field as
    /// zero).
    pub fn compute_checksum(&self, pseudo: &PseudoHeader) -> u16 {
        checksum::transport_checksum(
            pseudo,
            IpProtocol::TCP,
            self.buffer.as_ref(),
            field::CHECKSUM,
        )
    }

    /// Whether the checksum is right under `pseudo`.
    pub fn verify_checksum(&self, pseudo: &PseudoHeader) -> bool {
        checksum::transport_is_valid(pseudo, IpProtocol::TCP, self.buffer.as_ref())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT, port);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT, port);
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::SEQ, value);
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::ACK, value);
    }

    /// Sets the header length in bytes (stored as data offset = `len` / 4), keeping the flags.
    pub fn set_header_len(&mut self, len: usize) {
        let offset = ((len / 4) & 0x0F) as u16;
        let v = (self.offset_flags() & 0x0FFF) | (offset << 12);
        write_u16(self.buffer.as_mut(), field::OFFSET_FLAGS, v);
    }

    /// Sets the control bits, keeping the data offset and the reserved bits.
    pub fn set_flags(&mut self, flags: TcpFlags) {
        let v = (self.offset_flags() & !TcpFlags::ALL.0) | (flags.0 & TcpFlags::ALL.0);
        write_u16(self.buffer.as_mut(), field::OFFSET_FLAGS, v);
    }

    /// Sets the window size.
    pub fn set_window_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::WINDOW, value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_at(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::URGENT, value);
    }

    /// Computes the checksum under `pseudo` and stores it.
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader) {
        let value = self.compute_checksum(pseudo);
        self.set_checksum(value);
    }

    /// Options, mutable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        clamped_mut(self.buffer.as_mut(), MIN_HEADER_LEN, end)
    }

    /// Payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        let data = self.buffer.as_mut();
        let len = data.len();
        clamped_mut(data, start, len)
    }
}

/// A TCP header, as values. Checksums are not part of it: the caller fills one with
/// [`TcpPacket::fill_checksum`] once the payload is in place, and checks one with
/// [`TcpPacket::verify_checksum`] when it is not left to offload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: u32,
    /// Acknowledgment number.
    pub ack_number: u32,
    /// Control bits.
    pub flags: TcpFlags,
    /// Window size.
    pub window_len: u16,
    /// Urgent pointer.
    pub urgent_at: u16,
    /// Raw options (at most 40 bytes; [`emit`](Self::emit) pads them with zeros — end of
    /// option list — to a multiple of 4).
    pub options: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Reads a checked segment's header.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &TcpPacket<&'a T>) -> Result<Self> {
        packet.check_len()?;
        let buffer: &'a T = packet.buffer;
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_at: packet.urgent_at(),
            options: clamped(buffer.as_ref(), MIN_HEADER_LEN, packet.header_len()),
        })
    }

    /// The header length: 20 plus the options rounded up to 4 bytes.
    pub fn buffer_len(&self) -> usize {
        MIN_HEADER_LEN + self.options.len().div_ceil(4) * 4
    }

    /// Writes the header with a zero checksum. [`Error::Truncated`] if it does not fit the
    /// buffer, [`Error::Malformed`] if the options exceed 40 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut TcpPacket<T>) -> Result<()> {
        let header_len = self.buffer_len();
        if header_len > MAX_HEADER_LEN {
            return Err(Error::Malformed);
        }
        if packet.buffer.as_ref().len() < header_len {
            return Err(Error::Truncated);
        }
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        write_u16(packet.buffer.as_mut(), field::OFFSET_FLAGS, 0);
        packet.set_header_len(header_len);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_checksum(0);
        packet.set_urgent_at(self.urgent_at);
        let options = packet.options_mut();
        options.fill(0);
        options[..self.options.len()].copy_from_slice(self.options);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn pseudo() -> PseudoHeader {
        PseudoHeader::v4(Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 1, 10))
    }

    /// SYN from 198.18.0.1:40000 to 198.18.1.10:80, seq 0x01020304, window 64240, options MSS
    /// 1460 + SACK-permitted + NOP NOP, "ab" as payload; checksum 0xf903.
    const SYN: [u8; 30] = [
        0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0x70, 0x02, 0xfa,
        0xf0, 0xf9, 0x03, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x01, 0x01, 0x61, 0x62,
    ];
    const SYN_CHECKSUM: u16 = 0xf903;

    #[test]
    fn parse_fields() {
        let bytes = SYN;
        let p = TcpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.src_port(), 40000);
        assert_eq!(p.dst_port(), 80);
        assert_eq!(p.seq_number(), 0x0102_0304);
        assert_eq!(p.ack_number(), 0);
        assert_eq!(p.header_len(), 28);
        assert_eq!(p.flags(), TcpFlags::SYN);
        assert_eq!(p.window_len(), 64240);
        assert_eq!(p.checksum(), SYN_CHECKSUM);
        assert_eq!(p.urgent_at(), 0);
        assert_eq!(
            p.options(),
            &[0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x01, 0x01]
        );
        assert_eq!(p.payload(), b"ab");
        assert!(p.verify_checksum(&pseudo()));
        assert_eq!(p.compute_checksum(&pseudo()), SYN_CHECKSUM);
        let repr = TcpRepr::parse(&p).unwrap();
        assert_eq!(
            repr,
            TcpRepr {
                src_port: 40000,
                dst_port: 80,
                seq_number: 0x0102_0304,
                ack_number: 0,
                flags: TcpFlags::SYN,
                window_len: 64240,
                urgent_at: 0,
                options: &[0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x01, 0x01],
            }
        );
    }

    #[test]
    fn emit_and_fill_is_byte_exact() {
        let bytes = SYN;
        let p = TcpPacket::new_checked(&bytes[..]).unwrap();
        let repr = TcpRepr::parse(&p).unwrap();
        let mut buf = [0xAAu8; 30];
        let mut out = TcpPacket::new_unchecked(&mut buf[..]);
        repr.emit(&mut out).unwrap();
        out.payload_mut().copy_from_slice(b"ab");
        out.fill_checksum(&pseudo());
        assert_eq!(buf, bytes);
    }

    #[test]
    fn emit_pads_options_and_checks_sizes() {
        let repr = TcpRepr {
            src_port: 1,
            dst_port: 2,
            seq_number: 3,
            ack_number: 4,
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window_len: 5,
            urgent_at: 6,
            options: &[0x01, 0x01, 0x01, 0x01, 0x01],
        };
        assert_eq!(repr.buffer_len(), 28);
        let mut buf = [0xFFu8; 28];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]))
            .unwrap();
        assert_eq!(
            buf,
            [
                0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x70, 0x18, 0, 5, 0, 0, 0, 6, 1, 1, 1, 1, 1, 0,
                0, 0
            ]
        );
        let mut short = [0u8; 27];
        assert_eq!(
            repr.emit(&mut TcpPacket::new_unchecked(&mut short[..])),
            Err(Error::Truncated)
        );
        let long = TcpRepr {
            options: &[1; 41],
            ..repr
        };
        let mut buf = [0u8; 64];
        assert_eq!(
            long.emit(&mut TcpPacket::new_unchecked(&mut buf[..])),
            Err(Error::Malformed)
        );
        let max = TcpRepr {
            options: &[1; 40],
            ..repr
        };
        assert_eq!(
            max.emit(&mut TcpPacket::new_unchecked(&mut buf[..])),
            Ok(())
        );
        assert_eq!(TcpPacket::new_checked(&buf[..]).unwrap().header_len(), 60);
    }

    #[test]
    fn flags_and_setters() {
        let mut bytes = SYN;
        let mut p = TcpPacket::new_checked(&mut bytes[..]).unwrap();
        p.set_flags(TcpFlags::ALL);
        assert_eq!(p.header_len(), 28);
        assert_eq!(p.flags(), TcpFlags::ALL);
        p.set_flags(TcpFlags::FIN | TcpFlags::ACK);
        assert!(p.flags().contains(TcpFlags::ACK));
        assert!(!p.flags().contains(TcpFlags::SYN | TcpFlags::ACK));
        assert!(p.flags().intersects(TcpFlags::SYN | TcpFlags::ACK));
        p.set_src_port(1);
        p.set_dst_port(2);
        p.set_seq_number(3);
        p.set_ack_number(4);
        p.set_window_len(5);
        p.set_urgent_at(6);
        p.set_header_len(20);
        assert_eq!(
            &bytes[..20],
            &[0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0x50, 0x11, 0, 5, 0xf9, 0x03, 0, 6]
        );
        let mut flags = TcpFlags::empty();
        flags |= TcpFlags::RST;
        assert_eq!(flags, TcpFlags(0x004));
    }

    #[test]
    fn truncated_and_malformed() {
        let bytes = SYN;
        for len in 0..28 {
            assert_eq!(
                TcpPacket::new_checked(&bytes[..len]).err(),
                Some(Error::Truncated)
            );
        }
        let mut bad = bytes;
        bad[12] = 0x40;
        assert_eq!(
            TcpPacket::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
        bad[12] = 0xF0;
        assert_eq!(
            TcpPacket::new_checked(&bad[..]).err(),
            Some(Error::Truncated)
        );
        let mut corrupt = bytes;
        corrupt[29] ^= 0x01;
        assert!(!TcpPacket::new_checked(&corrupt[..])
            .unwrap()
            .verify_checksum(&pseudo()));
    }
}

//! UDP datagrams (RFC 768).

use super::checksum::{self, PseudoHeader};
use super::error::{Error, Result};
use super::field::{clamped, clamped_mut, read_u16, write_u16};
use super::ip::IpProtocol;

/// The length of the UDP header.
pub const HEADER_LEN: usize = 8;

mod field {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
}

/// A view of a UDP datagram. The datagram is the first `len()` bytes of the buffer; bytes
/// after it are ignored.
///
/// Over IPv4 a checksum field of 0 means "no checksum"; a computed checksum of 0 is stored
/// as `0xFFFF` ([`checksum::udp_checksum_field`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps a buffer without checking it; the accessors may panic if it is too short.
    pub fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the header is in the buffer, that the length field covers at least the
    /// header, and that the buffer holds that many bytes.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let datagram_len = usize::from(self.len());
        if datagram_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < datagram_len {
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

    /// The length field: header plus payload.
    pub fn len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH)
    }

    /// Whether the length field says the payload is empty.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Whether the datagram carries a checksum (the field is not 0).
    pub fn has_checksum(&self) -> bool {
        checksum::udp_has_checksum(self.checksum())
    }

    /// The payload, up to the length field.
    pub fn payload(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), HEADER_LEN, usize::from(self.len()))
    }

    /// The datagram: the buffer up to the length field.
    fn datagram(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), 0, usize::from(self.len()))
    }

    /// The checksum field value the datagram should carry under `pseudo` (never 0: a
    /// computed 0 is `0xFFFF`).
    pub fn compute_checksum(&self, pseudo: &PseudoHeader) -> u16 {
        checksum::udp_checksum_field(checksum::transport_checksum(
            pseudo,
            IpProtocol::UDP,
            self.datagram(),
            field::CHECKSUM,
        ))
    }

    /// Whether the checksum is right under `pseudo`. A datagram without checksum (field 0)
    /// passes over IPv4 and fails over IPv6, where the checksum is mandatory.
    pub fn verify_checksum(&self, pseudo: &PseudoHeader) -> bool {
        if !self.has_checksum() {
            return pseudo.is_v4();
        }
        checksum::transport_is_valid(pseudo, IpProtocol::UDP, self.datagram())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT, port);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT, port);
    }

    /// Sets the length field.
    pub fn set_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH, len);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Computes the checksum under `pseudo` and stores it (a computed 0 as `0xFFFF`).
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader) {
        let value = self.compute_checksum(pseudo);
        self.set_checksum(value);
    }

    /// The payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        clamped_mut(self.buffer.as_mut(), HEADER_LEN, end)
    }
}

/// A UDP header, as values. The checksum is filled afterwards by
/// [`UdpPacket::fill_checksum`], once the payload is in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload length.
    pub payload_len: usize,
}

impl UdpRepr {
    /// Reads a checked datagram's header.
    pub fn parse<T: AsRef<[u8]>>(packet: &UdpPacket<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: usize::from(packet.len()) - HEADER_LEN,
        })
    }

    /// The header length: 8.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header with a zero checksum. [`Error::Truncated`] if the buffer is shorter
    /// than 8 bytes, [`Error::Malformed`] if the length would exceed 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut UdpPacket<T>) -> Result<()> {
        if packet.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = u16::try_from(HEADER_LEN + self.payload_len).map_err(|_| Error::Malformed)?;
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(len);
        packet.set_checksum(0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn pseudo4() -> PseudoHeader {
        PseudoHeader::v4(Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 1, 10))
    }

    fn pseudo6() -> PseudoHeader {
        PseudoHeader::v6(
            "2001:db8::1".parse::<Ipv6Addr>().unwrap(),
            "2001:db8::2".parse::<Ipv6Addr>().unwrap(),
        )
    }

    /// 198.18.0.1:5000 → 198.18.1.10:53, payload "hello", checksum 0x1b15, then 3 bytes of
    /// link padding.
    const DNS: [u8; 16] = [
        0x13, 0x88, 0x00, 0x35, 0x00, 0x0d, 0x1b, 0x15, b'h', b'e', b'l', b'l', b'o', 0, 0, 0,
    ];

    #[test]
    fn parse_fields() {
        let p = UdpPacket::new_checked(&DNS[..]).unwrap();
        assert_eq!(p.src_port(), 5000);
        assert_eq!(p.dst_port(), 53);
        assert_eq!(p.len(), 13);
        assert!(!p.is_empty());
        assert_eq!(p.checksum(), 0x1b15);
        assert!(p.has_checksum());
        assert_eq!(p.payload(), b"hello");
        assert!(p.verify_checksum(&pseudo4()));
        assert_eq!(p.compute_checksum(&pseudo4()), 0x1b15);
        assert_eq!(
            UdpRepr::parse(&p).unwrap(),
            UdpRepr {
                src_port: 5000,
                dst_port: 53,
                payload_len: 5
            }
        );
    }

    #[test]
    fn emit_and_fill_is_byte_exact() {
        let repr = UdpRepr {
            src_port: 5000,
            dst_port: 53,
            payload_len: 5,
        };
        let mut buf = [0u8; 16];
        let mut p = UdpPacket::new_unchecked(&mut buf[..]);
        repr.emit(&mut p).unwrap();
        p.payload_mut().copy_from_slice(b"hello");
        p.fill_checksum(&pseudo4());
        assert_eq!(buf, DNS);
        let mut short = [0u8; 7];
        assert_eq!(
            repr.emit(&mut UdpPacket::new_unchecked(&mut short[..])),
            Err(Error::Truncated)
        );
        let big = UdpRepr {
            payload_len: 65528,
            ..repr
        };
        assert_eq!(
            big.emit(&mut UdpPacket::new_unchecked(&mut buf[..])),
            Err(Error::Malformed)
        );
    }

    #[test]
    fn zero_checksum_means_none_over_ipv4_only() {
        let mut buf = DNS;
        buf[6..8].copy_from_slice(&[0, 0]);
        let p = UdpPacket::new_checked(&buf[..]).unwrap();
        assert!(!p.has_checksum());
        assert!(p.verify_checksum(&pseudo4()));
        assert!(!p.verify_checksum(&pseudo6()));
        // A full computation gives the real checksum back (what IPVS NAT does, spec §7.1).
        assert_eq!(p.compute_checksum(&pseudo4()), 0x1b15);
    }

    #[test]
    fn computed_zero_is_sent_as_all_ones() {
        // A source port chosen so that the datagram sums to 0xFFFF under the pseudo-header:
        // the checksum is 0, sent as 0xFFFF.
        let pseudo = pseudo4();
        let mut buf = [0u8; 8];
        let mut p = UdpPacket::new_unchecked(&mut buf[..]);
        p.set_len(8);
        p.set_dst_port(53);
        p.set_src_port(0);
        let base = !p.compute_checksum(&pseudo);
        // Adding the complement of the sum makes the total sum 0xFFFF.
        p.set_src_port(!base);
        assert_eq!(p.compute_checksum(&pseudo), 0xFFFF);
        p.fill_checksum(&pseudo);
        assert_eq!(p.checksum(), 0xFFFF);
        assert!(p.verify_checksum(&pseudo));
    }

    #[test]
    fn truncated_and_malformed() {
        for len in 0..13 {
            assert_eq!(
                UdpPacket::new_checked(&DNS[..len]).err(),
                Some(Error::Truncated)
            );
        }
        let mut bad = DNS;
        bad[5] = 7;
        assert_eq!(
            UdpPacket::new_checked(&bad[..]).err(),
            Some(Error::Malformed)
        );
        bad[5] = 17;
        assert_eq!(
            UdpPacket::new_checked(&bad[..]).err(),
            Some(Error::Truncated)
        );
        let mut corrupt = DNS;
        corrupt[8] = b'j';
        assert!(!UdpPacket::new_checked(&corrupt[..])
            .unwrap()
            .verify_checksum(&pseudo4()));
    }

    #[test]
    fn changing_the_length_after_check_never_panics() {
        let mut buf = DNS;
        let mut p = UdpPacket::new_checked(&mut buf[..]).unwrap();
        p.set_len(0xFFFF);
        assert_eq!(p.payload().len(), 8);
        assert!(!p.verify_checksum(&pseudo4()));
        p.set_len(0);
        assert!(p.is_empty());
        assert_eq!(p.payload(), &[] as &[u8]);
        assert_eq!(p.payload_mut().len(), 0);
    }
}

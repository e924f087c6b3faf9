//! ICMP for IPv6 (RFC 4443). Neighbour discovery messages are read and written by
//! [`super::ndp`].

use super::checksum::{self, PseudoHeader};
use super::error::{Error, Result};
use super::field::{read_u16, read_u32, write_u16, write_u32};
use super::ip::IpProtocol;

/// The length of the ICMPv6 header (type, code, checksum and four bytes that depend on the
/// type).
pub const HEADER_LEN: usize = 8;

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const REST: usize = 4;
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQ: usize = 6;
}

/// An ICMPv6 message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Icmpv6Type(pub u8);

impl Icmpv6Type {
    /// Destination unreachable.
    pub const DEST_UNREACHABLE: Icmpv6Type = Icmpv6Type(1);
    /// Packet too big (carries the MTU).
    pub const PACKET_TOO_BIG: Icmpv6Type = Icmpv6Type(2);
    /// Time exceeded.
    pub const TIME_EXCEEDED: Icmpv6Type = Icmpv6Type(3);
    /// Parameter problem.
    pub const PARAMETER_PROBLEM: Icmpv6Type = Icmpv6Type(4);
    /// Echo request.
    pub const ECHO_REQUEST: Icmpv6Type = Icmpv6Type(128);
    /// Echo reply.
    pub const ECHO_REPLY: Icmpv6Type = Icmpv6Type(129);
    /// Router solicitation.
    pub const ROUTER_SOLICIT: Icmpv6Type = Icmpv6Type(133);
    /// Router advertisement.
    pub const ROUTER_ADVERT: Icmpv6Type = Icmpv6Type(134);
    /// Neighbour solicitation.
    pub const NEIGHBOR_SOLICIT: Icmpv6Type = Icmpv6Type(135);
    /// Neighbour advertisement.
    pub const NEIGHBOR_ADVERT: Icmpv6Type = Icmpv6Type(136);
    /// Redirect.
    pub const REDIRECT: Icmpv6Type = Icmpv6Type(137);

    /// Whether this is an error message (types below 128), every one of which IPVS relates
    /// to connections (spec §7.6).
    pub fn is_error(self) -> bool {
        self.0 < 128
    }
}

/// Codes of [`Icmpv6Type::DEST_UNREACHABLE`] and [`Icmpv6Type::TIME_EXCEEDED`].
pub mod code {
    /// Destination unreachable: no route to destination.
    pub const NO_ROUTE: u8 = 0;
    /// Destination unreachable: administratively prohibited.
    pub const ADMIN_PROHIBITED: u8 = 1;
    /// Destination unreachable: address unreachable.
    pub const ADDRESS_UNREACHABLE: u8 = 3;
    /// Destination unreachable: port unreachable.
    pub const PORT_UNREACHABLE: u8 = 4;
    /// Time exceeded: hop limit exceeded in transit.
    pub const HOP_LIMIT_EXCEEDED: u8 = 0;
    /// Time exceeded: fragment reassembly time exceeded.
    pub const REASSEMBLY_TIME_EXCEEDED: u8 = 1;
}

/// A view of an ICMPv6 message. The buffer must be exactly the message (the upper-layer
/// payload of the IPv6 packet): the checksum covers all of it, with the IPv6 pseudo-header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wraps a buffer without checking it; the accessors may panic if it is too short.
    pub fn new_unchecked(buffer: T) -> Self {
        Icmpv6Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the 8-byte header is in the buffer.
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

    /// Message type.
    pub fn msg_type(&self) -> Icmpv6Type {
        Icmpv6Type(self.buffer.as_ref()[field::TYPE])
    }

    /// Message code.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The four type-dependent bytes after the checksum, as one number (the MTU of a packet
    /// too big, the pointer of a parameter problem, the flags of a neighbour advertisement in
    /// the top byte).
    pub fn rest_of_header(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::REST)
    }

    /// The MTU of a packet-too-big message.
    pub fn mtu(&self) -> u32 {
        self.rest_of_header()
    }

    /// Echo identifier.
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// Echo sequence number.
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQ)
    }

    /// The data after the header: for an error, as much of the offending packet as fits
    /// (read it with `Ipv6Packet::new_checked_embedded`); for neighbour discovery, the target
    /// address and the options.
    pub fn data(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// The checksum the message should carry under `pseudo` (computed with the field as
    /// zero).
    pub fn compute_checksum(&self, pseudo: &PseudoHeader) -> u16 {
        checksum::transport_checksum(
            pseudo,
            IpProtocol::ICMPV6,
            self.buffer.as_ref(),
            field::CHECKSUM,
        )
    }

    /// Whether the checksum is right under `pseudo`.
    pub fn verify_checksum(&self, pseudo: &PseudoHeader) -> bool {
        checksum::transport_is_valid(pseudo, IpProtocol::ICMPV6, self.buffer.as_ref())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, value: Icmpv6Type) {
        self.buffer.as_mut()[field::TYPE] = value.0;
    }

    /// Sets the message code.
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Sets the four type-dependent bytes.
    pub fn set_rest_of_header(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::REST, value);
    }

    /// Sets the MTU of a packet-too-big message.
    pub fn set_mtu(&mut self, value: u32) {
        self.set_rest_of_header(value);
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT, value);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQ, value);
    }

    /// Computes the checksum under `pseudo` and stores it.
    pub fn fill_checksum(&mut self, pseudo: &PseudoHeader) {
        let value = self.compute_checksum(pseudo);
        self.set_checksum(value);
    }

    /// The data after the header, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..)
            .unwrap_or(&mut [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv6::Ipv6Packet;
    use std::net::Ipv6Addr;

    fn pseudo() -> PseudoHeader {
        PseudoHeader::v6(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        )
    }

    /// Packet too big, MTU 1280, from 2001:db8::1 to 2001:db8::2, quoting the first 48 bytes
    /// of a 1400-byte TCP packet 2001:db8::2 → 2001:db8::99; checksum 0x38e3.
    fn packet_too_big() -> Vec<u8> {
        let mut m = vec![0x02, 0x00, 0x38, 0xe3, 0x00, 0x00, 0x05, 0x00];
        m.extend_from_slice(&[0x60, 0, 0, 0, 0x05, 0x50, 6, 64]);
        m.extend_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        m.extend_from_slice(&"2001:db8::99".parse::<Ipv6Addr>().unwrap().octets());
        m.extend_from_slice(&[0x00, 0x50, 0x9c, 0x40, 0, 0, 0, 7]);
        m
    }

    #[test]
    fn packet_too_big_fields() {
        let bytes = packet_too_big();
        let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv6Type::PACKET_TOO_BIG);
        assert!(p.msg_type().is_error());
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.mtu(), 1280);
        assert_eq!(p.checksum(), 0x38e3);
        assert_eq!(p.compute_checksum(&pseudo()), 0x38e3);
        assert!(p.verify_checksum(&pseudo()));
        let inner = Ipv6Packet::new_checked_embedded(p.data()).unwrap();
        assert_eq!(inner.payload_len(), 1360);
        assert_eq!(
            inner.dst_addr(),
            "2001:db8::99".parse::<Ipv6Addr>().unwrap()
        );
        let t = inner.transport().unwrap();
        assert_eq!((t.protocol, t.offset), (IpProtocol::TCP, 40));
        assert_eq!(
            inner.transport_payload(&t),
            &[0x00, 0x50, 0x9c, 0x40, 0, 0, 0, 7]
        );
    }

    #[test]
    fn build_is_byte_exact() {
        let golden = packet_too_big();
        let mut buf = vec![0u8; golden.len()];
        let mut p = Icmpv6Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Icmpv6Type::PACKET_TOO_BIG);
        p.set_msg_code(0);
        p.set_mtu(1280);
        p.data_mut().copy_from_slice(&golden[8..]);
        p.fill_checksum(&pseudo());
        assert_eq!(buf, golden);
    }

    #[test]
    fn echo_fields_and_bad_checksum() {
        let mut buf = [0x80, 0, 0, 0, 0xab, 0xcd, 0x00, 0x02, 1, 2, 3];
        let mut p = Icmpv6Packet::new_checked(&mut buf[..]).unwrap();
        p.fill_checksum(&pseudo());
        assert!(p.verify_checksum(&pseudo()));
        assert!(!p.msg_type().is_error());
        assert_eq!(p.echo_ident(), 0xabcd);
        assert_eq!(p.echo_seq_no(), 2);
        p.set_echo_seq_no(3);
        assert!(!p.verify_checksum(&pseudo()));
        let other = PseudoHeader::v6(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::3".parse().unwrap(),
        );
        p.fill_checksum(&pseudo());
        assert!(!p.verify_checksum(&other));
        p.set_echo_ident(1);
        assert_eq!(&buf[4..8], &[0, 1, 0, 3]);
    }

    #[test]
    fn truncated() {
        let bytes = packet_too_big();
        for len in 0..HEADER_LEN {
            assert_eq!(
                Icmpv6Packet::new_checked(&bytes[..len]).err(),
                Some(Error::Truncated)
            );
        }
        assert_eq!(
            Icmpv6Packet::new_checked(&bytes[..8]).unwrap().data(),
            &[] as &[u8]
        );
    }
}

//! ICMP for IPv4 (RFC 792, RFC 1191 for the next-hop MTU).

use super::checksum;
use super::error::{Error, Result};
use super::field::{read_u16, read_u32, write_u16, write_u32};

/// The length of the ICMPv4 header (type, code, checksum and four bytes that depend on the
/// type).
pub const HEADER_LEN: usize = 8;

mod field {
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: usize = 2;
    pub const REST: usize = 4;
    pub const ECHO_IDENT: usize = 4;
    pub const ECHO_SEQ: usize = 6;
    pub const NEXT_HOP_MTU: usize = 6;
}

/// An ICMPv4 message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Icmpv4Type(pub u8);

impl Icmpv4Type {
    /// Echo reply.
    pub const ECHO_REPLY: Icmpv4Type = Icmpv4Type(0);
    /// Destination unreachable.
    pub const DEST_UNREACHABLE: Icmpv4Type = Icmpv4Type(3);
    /// Source quench (deprecated).
    pub const SOURCE_QUENCH: Icmpv4Type = Icmpv4Type(4);
    /// Redirect.
    pub const REDIRECT: Icmpv4Type = Icmpv4Type(5);
    /// Echo request.
    pub const ECHO_REQUEST: Icmpv4Type = Icmpv4Type(8);
    /// Time exceeded.
    pub const TIME_EXCEEDED: Icmpv4Type = Icmpv4Type(11);
    /// Parameter problem.
    pub const PARAMETER_PROBLEM: Icmpv4Type = Icmpv4Type(12);

    /// Whether this is an error message, as the kernel's `icmp_is_err` counts them:
    /// destination unreachable, source quench, time exceeded, parameter problem. (IPVS
    /// relates only the first three to connections, spec §7.6.)
    pub fn is_error(self) -> bool {
        matches!(
            self,
            Self::DEST_UNREACHABLE
                | Self::SOURCE_QUENCH
                | Self::TIME_EXCEEDED
                | Self::PARAMETER_PROBLEM
        )
    }
}

/// Codes of [`Icmpv4Type::DEST_UNREACHABLE`] and [`Icmpv4Type::TIME_EXCEEDED`].
pub mod code {
    /// Destination unreachable: network unreachable.
    pub const NET_UNREACHABLE: u8 = 0;
    /// Destination unreachable: host unreachable.
    pub const HOST_UNREACHABLE: u8 = 1;
    /// Destination unreachable: protocol unreachable.
    pub const PROTOCOL_UNREACHABLE: u8 = 2;
    /// Destination unreachable: port unreachable.
    pub const PORT_UNREACHABLE: u8 = 3;
    /// Destination unreachable: fragmentation needed and DF set (carries the next-hop MTU).
    pub const FRAG_NEEDED: u8 = 4;
    /// Time exceeded: TTL exceeded in transit.
    pub const TTL_EXCEEDED: u8 = 0;
    /// Time exceeded: fragment reassembly time exceeded.
    pub const REASSEMBLY_TIME_EXCEEDED: u8 = 1;
}

/// A view of an ICMPv4 message. The buffer must be exactly the message (the IP payload): the
/// checksum covers all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps a buffer without checking it; the accessors may panic if it is too short.
    pub fn new_unchecked(buffer: T) -> Self {
        Icmpv4Packet { buffer }
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
    pub fn msg_type(&self) -> Icmpv4Type {
        Icmpv4Type(self.buffer.as_ref()[field::TYPE])
    }

    /// Message code.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// The four type-dependent bytes after the checksum, as one number.
    pub fn rest_of_header(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::REST)
    }

    /// Echo identifier (echo request and reply).
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT)
    }

    /// Echo sequence number (echo request and reply).
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQ)
    }

    /// Next-hop MTU (destination unreachable, fragmentation needed).
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::NEXT_HOP_MTU)
    }

    /// The data after the header: for an error, the quoted IP header and the start of its
    /// payload (read it with `Ipv4Packet::new_checked_embedded`).
    pub fn data(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// The checksum the message should carry (computed with the field as zero).
    pub fn compute_checksum(&self) -> u16 {
        !checksum::sum_without_field(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Whether the checksum is right.
    pub fn verify_checksum(&self) -> bool {
        checksum::is_valid(self.buffer.as_ref())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Sets the message type.
    pub fn set_msg_type(&mut self, value: Icmpv4Type) {
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

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT, value);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQ, value);
    }

    /// Sets the next-hop MTU (the unused half-word before it is left as it is).
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::NEXT_HOP_MTU, value);
    }

    /// Computes the checksum and stores it.
    pub fn fill_checksum(&mut self) {
        let value = self.compute_checksum();
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
    use crate::wire::ip::IpProtocol;
    use crate::wire::ipv4::Ipv4Packet;
    use std::net::Ipv4Addr;

    /// Echo request, ident 0x1234, seq 1, payload "abcd"; checksum 0x2104.
    const ECHO: [u8; 12] = [
        0x08, 0x00, 0x21, 0x04, 0x12, 0x34, 0x00, 0x01, b'a', b'b', b'c', b'd',
    ];

    /// Fragmentation needed, MTU 1400, quoting a 1500-byte TCP packet 198.18.0.1:40000 →
    /// 198.18.1.10:80 (20-byte IP header + 8 bytes of TCP); checksum 0x02de.
    const FRAG_NEEDED: [u8; 36] = [
        0x03, 0x04, 0x02, 0xde, 0x00, 0x00, 0x05, 0x78, // ICMP header
        0x45, 0x00, 0x05, 0xdc, 0x00, 0x01, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 198, 18, 0, 1, 198,
        18, 1, 10, // quoted IP header (its checksum left 0)
        0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, // quoted TCP ports and sequence
    ];

    #[test]
    fn echo_fields() {
        let p = Icmpv4Packet::new_checked(&ECHO[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv4Type::ECHO_REQUEST);
        assert!(!p.msg_type().is_error());
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x2104);
        assert_eq!(p.echo_ident(), 0x1234);
        assert_eq!(p.echo_seq_no(), 1);
        assert_eq!(p.rest_of_header(), 0x1234_0001);
        assert_eq!(p.data(), b"abcd");
        assert!(p.verify_checksum());
        assert_eq!(p.compute_checksum(), 0x2104);
    }

    #[test]
    fn frag_needed_fields_and_quoted_packet() {
        let p = Icmpv4Packet::new_checked(&FRAG_NEEDED[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv4Type::DEST_UNREACHABLE);
        assert!(p.msg_type().is_error());
        assert_eq!(p.msg_code(), code::FRAG_NEEDED);
        assert_eq!(p.next_hop_mtu(), 1400);
        assert!(p.verify_checksum());
        let inner = Ipv4Packet::new_checked_embedded(p.data()).unwrap();
        assert_eq!(inner.total_len(), 1500);
        assert_eq!(inner.protocol(), IpProtocol::TCP);
        assert_eq!(inner.src_addr(), Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(inner.dst_addr(), Ipv4Addr::new(198, 18, 1, 10));
        assert_eq!(
            inner.payload(),
            &[0x9c, 0x40, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01]
        );
    }

    #[test]
    fn build_is_byte_exact() {
        let mut buf = [0u8; 36];
        let mut p = Icmpv4Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Icmpv4Type::DEST_UNREACHABLE);
        p.set_msg_code(code::FRAG_NEEDED);
        p.set_rest_of_header(0);
        p.set_next_hop_mtu(1400);
        p.data_mut().copy_from_slice(&FRAG_NEEDED[8..]);
        p.fill_checksum();
        assert_eq!(buf, FRAG_NEEDED);

        let mut buf = [0u8; 12];
        let mut p = Icmpv4Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Icmpv4Type::ECHO_REQUEST);
        p.set_echo_ident(0x1234);
        p.set_echo_seq_no(1);
        p.data_mut().copy_from_slice(b"abcd");
        p.set_checksum(0xFFFF);
        p.fill_checksum();
        assert_eq!(buf, ECHO);
    }

    #[test]
    fn error_types() {
        let errors: Vec<u8> = (0..=255u8).filter(|&t| Icmpv4Type(t).is_error()).collect();
        assert_eq!(errors, vec![3, 4, 11, 12]);
    }

    #[test]
    fn truncated_and_bad_checksum() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Icmpv4Packet::new_checked(&ECHO[..len]).err(),
                Some(Error::Truncated)
            );
        }
        let mut bad = ECHO;
        bad[11] = b'e';
        assert!(!Icmpv4Packet::new_checked(&bad[..])
            .unwrap()
            .verify_checksum());
        let p = Icmpv4Packet::new_checked(&ECHO[..8]).unwrap();
        assert_eq!(p.data(), &[] as &[u8]);
    }
}

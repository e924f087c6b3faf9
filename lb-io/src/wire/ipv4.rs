//! IPv4 packets (RFC 791), options included.

use std::net::Ipv4Addr;

use super::checksum::{self, PseudoHeader};
use super::error::{Error, Result};
use super::field::{clamped, clamped_mut, read_array, read_u16, write_u16};
use super::ip::IpProtocol;

/// The length of an IPv4 header without options.
pub const MIN_HEADER_LEN: usize = 20;
/// The longest IPv4 header (IHL 15).
pub const MAX_HEADER_LEN: usize = 60;

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1FFF;

/// A view of an IPv4 packet.
///
/// [`new_checked`](Self::new_checked) wants the whole packet (up to its total length; bytes
/// beyond it, such as Ethernet padding, are ignored by [`payload`](Self::payload)).
/// [`new_checked_embedded`](Self::new_checked_embedded) accepts the header quoted in an ICMP
/// error, whose payload is cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checking it; the accessors may panic if it is too short.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Wraps a buffer after [`check_header_len`](Self::check_header_len): for the packet
    /// quoted in an ICMP error.
    pub fn new_checked_embedded(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_header_len()?;
        Ok(packet)
    }

    /// Checks the header as [`check_header_len`](Self::check_header_len) does, and that the
    /// buffer holds the whole packet its total length announces.
    pub fn check_len(&self) -> Result<()> {
        self.check_header_len()?;
        if self.buffer.as_ref().len() < usize::from(self.total_len()) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Checks that the version is 4, that the header (options included) is in the buffer,
    /// and that the header length is at least 20 and no more than the total length.
    pub fn check_header_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::Malformed);
        }
        let header_len = self.header_len();
        if header_len < MIN_HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len < header_len {
            return Err(Error::Truncated);
        }
        if usize::from(self.total_len()) < header_len {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version (4).
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4), options included.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0F) * 4
    }

    /// The type-of-service byte (DS field and ECN).
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// Differentiated services code point.
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// Explicit congestion notification.
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    /// Total length of the packet, header included.
    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::TOTAL_LEN)
    }

    /// Identification.
    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT)
    }

    fn flags_frag(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLAGS_FRAG)
    }

    /// Don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        self.flags_frag() & FLAG_DF != 0
    }

    /// More-fragments flag.
    pub fn more_frags(&self) -> bool {
        self.flags_frag() & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the field × 8).
    pub fn frag_offset(&self) -> u16 {
        (self.flags_frag() & FRAG_OFFSET_MASK) << 3
    }

    /// Whether this is a fragment (more fragments follow, or the offset is not zero).
    pub fn is_fragment(&self) -> bool {
        self.flags_frag() & (FLAG_MF | FRAG_OFFSET_MASK) != 0
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol of the payload.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Header checksum.
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::SRC))
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(read_array::<4>(self.buffer.as_ref(), field::DST))
    }

    /// The pseudo-header of this packet's transport checksum.
    pub fn pseudo_header(&self) -> PseudoHeader {
        PseudoHeader::v4(self.src_addr(), self.dst_addr())
    }

    /// The options (the header after its first 20 bytes).
    pub fn options(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), MIN_HEADER_LEN, self.header_len())
    }

    /// The whole header, options included.
    pub fn header(&self) -> &[u8] {
        clamped(self.buffer.as_ref(), 0, self.header_len())
    }

    /// The payload: from the end of the header to the total length (or to the end of the
    /// buffer, for an embedded packet cut short).
    pub fn payload(&self) -> &[u8] {
        clamped(
            self.buffer.as_ref(),
            self.header_len(),
            usize::from(self.total_len()),
        )
    }

    /// Whether the header checksum is right.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        let header = self.header();
        match <&[u8; MIN_HEADER_LEN]>::try_from(header) {
            // The common header without options: a fixed-size sum, no loop.
            Ok(fixed) => checksum::sum_array(fixed) == 0xFFFF,
            Err(_) => checksum::is_valid(header),
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets the version.
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0F) | (version << 4);
    }

    /// Sets the header length in bytes (stored as IHL = `len` / 4).
    pub fn set_header_len(&mut self, len: usize) {
        let ihl = ((len / 4) & 0x0F) as u8;
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xF0) | ihl;
    }

    /// Sets the type-of-service byte.
    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::TOS] = tos;
    }

    /// Sets the DSCP, keeping the ECN bits.
    pub fn set_dscp(&mut self, dscp: u8) {
        let tos = (dscp << 2) | self.ecn();
        self.set_tos(tos);
    }

    /// Sets the ECN bits, keeping the DSCP.
    pub fn set_ecn(&mut self, ecn: u8) {
        let tos = (self.tos() & 0xFC) | (ecn & 0x03);
        self.set_tos(tos);
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::TOTAL_LEN, len);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, ident: u16) {
        write_u16(self.buffer.as_mut(), field::IDENT, ident);
    }

    fn set_flags_frag(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::FLAGS_FRAG, value);
    }

    /// Sets the don't-fragment flag.
    pub fn set_dont_frag(&mut self, on: bool) {
        let v = self.flags_frag();
        self.set_flags_frag(if on { v | FLAG_DF } else { v & !FLAG_DF });
    }

    /// Sets the more-fragments flag.
    pub fn set_more_frags(&mut self, on: bool) {
        let v = self.flags_frag();
        self.set_flags_frag(if on { v | FLAG_MF } else { v & !FLAG_MF });
    }

    /// Sets the fragment offset, in bytes (a multiple of 8; lower bits are dropped).
    pub fn set_frag_offset(&mut self, offset: u16) {
        let v = (self.flags_frag() & !FRAG_OFFSET_MASK) | (offset >> 3);
        self.set_flags_frag(v);
    }

    /// Sets the time to live.
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, protocol: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = protocol.0;
    }

    /// Sets the header checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC..field::SRC + 4].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST..field::DST + 4].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum and stores it.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header = self.header();
        let value = match <&[u8; MIN_HEADER_LEN]>::try_from(header) {
            // The common header without options: a fixed-size sum, no loop.
            Ok(fixed) => !checksum::sum_array(fixed),
            Err(_) => checksum::checksum(header),
        };
        self.set_checksum(value);
    }

    /// The options, mutable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        clamped_mut(self.buffer.as_mut(), MIN_HEADER_LEN, end)
    }

    /// The payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        let end = usize::from(self.total_len());
        clamped_mut(self.buffer.as_mut(), start, end)
    }
}

/// An IPv4 header without options, as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: IpProtocol,
    /// Payload length (total length minus header length).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Type-of-service byte (DSCP and ECN).
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_frag: bool,
    /// More-fragments flag.
    pub more_frags: bool,
    /// Fragment offset in bytes.
    pub frag_offset: u16,
}

impl Ipv4Repr {
    /// Reads a checked packet's header, verifying its checksum ([`Error::BadChecksum`]).
    /// Options are skipped: they are not part of the representation.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Self> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
        })
    }

    /// The header length written by [`emit`](Self::emit): 20.
    pub fn buffer_len(&self) -> usize {
        MIN_HEADER_LEN
    }

    /// Writes a 20-byte header with its checksum. [`Error::Truncated`] if the buffer is
    /// shorter than 20 bytes, [`Error::Malformed`] if the total length would exceed 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) -> Result<()> {
        if packet.buffer.as_ref().len() < MIN_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let total_len =
            u16::try_from(MIN_HEADER_LEN + self.payload_len).map_err(|_| Error::Malformed)?;
        packet.set_version(4);
        packet.set_header_len(MIN_HEADER_LEN);
        packet.set_tos(self.tos);
        packet.set_total_len(total_len);
        packet.set_ident(self.ident);
        packet.set_flags_frag(0);
        packet.set_dont_frag(self.dont_frag);
        packet.set_more_frags(self.more_frags);
        packet.set_frag_offset(self.frag_offset);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 198.18.0.1 → 198.18.1.10, TCP, TTL 64, DF, ident 0x1c46, DSCP 46 + ECT(0), 4 bytes of
    /// payload. Checksum 0x90b0.
    const PLAIN: [u8; 24] = [
        0x45, 0xba, 0x00, 0x18, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x90, 0xb0, 198, 18, 0, 1, 198,
        18, 1, 10, 0xde, 0xad, 0xbe, 0xef,
    ];

    /// IHL 6 with a router-alert option (94 04 00 00), UDP, a fragment: MF set, offset 1480,
    /// TTL 1, then 2 payload bytes and 4 bytes of link padding. Checksum 0x77eb.
    const WITH_OPTIONS: [u8; 30] = [
        0x46, 0x00, 0x00, 0x1a, 0x00, 0x01, 0x20, 0xb9, 0x01, 0x11, 0x77, 0xeb, 198, 18, 0, 2, 198,
        18, 0, 3, 0x94, 0x04, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn parse_plain() {
        let p = Ipv4Packet::new_checked(&PLAIN[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.tos(), 0xba);
        assert_eq!(p.dscp(), 46);
        assert_eq!(p.ecn(), 2);
        assert_eq!(p.total_len(), 24);
        assert_eq!(p.ident(), 0x1c46);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert!(!p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), IpProtocol::TCP);
        assert_eq!(p.checksum(), 0x90b0);
        assert!(p.verify_checksum());
        assert_eq!(p.src_addr(), Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(198, 18, 1, 10));
        assert_eq!(p.options(), &[] as &[u8]);
        assert_eq!(p.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(
            Ipv4Repr::parse(&p).unwrap(),
            Ipv4Repr {
                src_addr: Ipv4Addr::new(198, 18, 0, 1),
                dst_addr: Ipv4Addr::new(198, 18, 1, 10),
                protocol: IpProtocol::TCP,
                payload_len: 4,
                ttl: 64,
                tos: 0xba,
                ident: 0x1c46,
                dont_frag: true,
                more_frags: false,
                frag_offset: 0,
            }
        );
    }

    #[test]
    fn parse_options_fragment_and_padding() {
        let p = Ipv4Packet::new_checked(&WITH_OPTIONS[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(p.total_len(), 26);
        assert!(!p.dont_frag());
        assert!(p.more_frags());
        assert_eq!(p.frag_offset(), 1480);
        assert!(p.is_fragment());
        assert_eq!(p.ttl(), 1);
        assert_eq!(p.protocol(), IpProtocol::UDP);
        assert!(p.verify_checksum());
        assert_eq!(p.payload(), &[0x12, 0x34]);
    }

    #[test]
    fn emit_is_byte_exact() {
        let repr = Ipv4Repr::parse(&Ipv4Packet::new_checked(&PLAIN[..]).unwrap()).unwrap();
        let mut buf = [0xFFu8; 24];
        let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut p).unwrap();
        p.payload_mut().copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(buf, PLAIN);

        let frag = Ipv4Repr {
            src_addr: Ipv4Addr::new(198, 18, 0, 2),
            dst_addr: Ipv4Addr::new(198, 18, 0, 3),
            protocol: IpProtocol::UDP,
            payload_len: 2,
            ttl: 1,
            tos: 0,
            ident: 1,
            dont_frag: false,
            more_frags: true,
            frag_offset: 1480,
        };
        let mut buf = [0u8; 20];
        frag.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        // The same header without the option: IHL 5, total 22, checksum 0x0cf4.
        assert_eq!(
            buf,
            [
                0x45, 0x00, 0x00, 0x16, 0x00, 0x01, 0x20, 0xb9, 0x01, 0x11, 0x0c, 0xf4, 198, 18, 0,
                2, 198, 18, 0, 3
            ]
        );
    }

    #[test]
    fn emit_errors() {
        let repr = Ipv4Repr::parse(&Ipv4Packet::new_checked(&PLAIN[..]).unwrap()).unwrap();
        let mut short = [0u8; 19];
        assert_eq!(
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut short[..])),
            Err(Error::Truncated)
        );
        let huge = Ipv4Repr {
            payload_len: 65516,
            ..repr
        };
        let mut buf = [0u8; 20];
        assert_eq!(
            huge.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..])),
            Err(Error::Malformed)
        );
        let max = Ipv4Repr {
            payload_len: 65515,
            ..repr
        };
        assert_eq!(
            max.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..])),
            Ok(())
        );
    }

    #[test]
    fn setters_and_fill_checksum() {
        let mut buf = PLAIN;
        let mut p = Ipv4Packet::new_checked(&mut buf[..]).unwrap();
        p.set_ttl(63);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(p.checksum(), 0x91b0);
        p.set_dscp(0);
        assert_eq!(p.tos(), 0x02);
        p.set_ecn(3);
        assert_eq!(p.tos(), 0x03);
        p.set_dont_frag(false);
        p.set_more_frags(true);
        p.set_frag_offset(16);
        assert_eq!(&buf[6..8], &[0x20, 0x02]);
    }

    #[test]
    fn bad_checksum_is_reported() {
        let mut buf = PLAIN;
        buf[11] ^= 1;
        let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(Ipv4Repr::parse(&p), Err(Error::BadChecksum));
    }

    #[test]
    fn truncated_and_malformed() {
        for len in 0..PLAIN.len() {
            assert_eq!(
                Ipv4Packet::new_checked(&PLAIN[..len]).err(),
                Some(Error::Truncated),
                "{len}"
            );
        }
        for len in 0..26 {
            assert_eq!(
                Ipv4Packet::new_checked(&WITH_OPTIONS[..len]).err(),
                Some(Error::Truncated)
            );
        }
        let mut v6 = PLAIN;
        v6[0] = 0x65;
        assert_eq!(
            Ipv4Packet::new_checked(&v6[..]).err(),
            Some(Error::Malformed)
        );
        let mut ihl4 = PLAIN;
        ihl4[0] = 0x44;
        assert_eq!(
            Ipv4Packet::new_checked(&ihl4[..]).err(),
            Some(Error::Malformed)
        );
        let mut short_total = PLAIN;
        short_total[3] = 19;
        assert_eq!(
            Ipv4Packet::new_checked(&short_total[..]).err(),
            Some(Error::Malformed)
        );
        let mut ihl15 = PLAIN;
        ihl15[0] = 0x4F;
        assert_eq!(
            Ipv4Packet::new_checked(&ihl15[..]).err(),
            Some(Error::Truncated)
        );
    }

    #[test]
    fn embedded_header_may_be_cut_short() {
        // The first 28 bytes of a 1500-byte packet, as an ICMP error quotes it.
        let mut quoted = [0u8; 28];
        quoted[..20].copy_from_slice(&PLAIN[..20]);
        quoted[2..4].copy_from_slice(&1500u16.to_be_bytes());
        quoted[20..28].copy_from_slice(&[0, 80, 0x1f, 0x90, 1, 2, 3, 4]);
        assert_eq!(
            Ipv4Packet::new_checked(&quoted[..]).err(),
            Some(Error::Truncated)
        );
        let p = Ipv4Packet::new_checked_embedded(&quoted[..]).unwrap();
        assert_eq!(p.total_len(), 1500);
        assert_eq!(p.payload(), &[0, 80, 0x1f, 0x90, 1, 2, 3, 4]);
        assert_eq!(
            Ipv4Packet::new_checked_embedded(&quoted[..19]).err(),
            Some(Error::Truncated)
        );
    }

    #[test]
    fn shrinking_fields_after_check_never_panics() {
        let mut buf = PLAIN;
        let mut p = Ipv4Packet::new_checked(&mut buf[..]).unwrap();
        p.set_header_len(60);
        assert_eq!(p.options().len(), 4);
        assert_eq!(p.payload(), &[] as &[u8]);
        p.set_header_len(0);
        p.set_total_len(0);
        assert_eq!(p.options(), &[] as &[u8]);
        assert_eq!(p.payload(), &[] as &[u8]);
        assert!(!p.verify_checksum());
        p.set_total_len(65535);
        assert_eq!(p.payload().len(), 24);
        assert_eq!(p.payload_mut().len(), 24);
    }
}

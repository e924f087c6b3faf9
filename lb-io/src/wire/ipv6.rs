//! IPv6 packets (RFC 8200). Extension headers are walked by [`Ipv6Packet::transport`].

use std::net::Ipv6Addr;

use super::checksum::PseudoHeader;
use super::error::{Error, Result};
use super::field::{clamped, clamped_mut, read_array, read_u16, read_u32, write_u16, write_u32};
use super::ip::IpProtocol;
use super::ipv6_ext::{self, Ipv6Transport};

/// The length of the fixed IPv6 header.
pub const HEADER_LEN: usize = 40;

mod field {
    pub const VER_TC_FLOW: usize = 0;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

/// A view of an IPv6 packet.
///
/// [`new_checked`](Self::new_checked) wants the whole packet (40 bytes plus the payload
/// length; bytes beyond, such as Ethernet padding, are ignored).
/// [`new_checked_embedded`](Self::new_checked_embedded) accepts the packet quoted in an
/// ICMPv6 error, whose payload is cut short. Jumbograms (payload length 0 with a jumbo
/// option) are not supported: their payload reads as empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps a buffer without checking it; the accessors may panic if it is too short.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Wraps a buffer after [`check_header_len`](Self::check_header_len): for the packet
    /// quoted in an ICMPv6 error.
    pub fn new_checked_embedded(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_header_len()?;
        Ok(packet)
    }

    /// Checks the header as [`check_header_len`](Self::check_header_len) does, and that the
    /// buffer holds the whole payload.
    pub fn check_len(&self) -> Result<()> {
        self.check_header_len()?;
        if self.buffer.as_ref().len() < HEADER_LEN + usize::from(self.payload_len()) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Checks that the 40-byte header is in the buffer and that the version is 6.
    pub fn check_header_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 6 {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn ver_tc_flow(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::VER_TC_FLOW)
    }

    /// Version (6).
    pub fn version(&self) -> u8 {
        (self.ver_tc_flow() >> 28) as u8
    }

    /// Traffic class (DSCP and ECN).
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    /// Flow label (20 bits).
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000F_FFFF
    }

    /// Payload length: everything after the fixed header, extension headers included.
    pub fn payload_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::PAYLOAD_LEN)
    }

    /// The next header after the fixed header.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[field::NEXT_HEADER])
    }

    /// Hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// Source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(read_array::<16>(self.buffer.as_ref(), field::SRC))
    }

    /// Destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(read_array::<16>(self.buffer.as_ref(), field::DST))
    }

    /// The pseudo-header of this packet's transport checksum (with the destination of the
    /// fixed header: a routing header with segments left is not taken into account).
    pub fn pseudo_header(&self) -> PseudoHeader {
        PseudoHeader::v6(self.src_addr(), self.dst_addr())
    }

    /// The payload, extension headers included: 40 bytes up to 40 + payload length (or to
    /// the end of the buffer, for an embedded packet cut short).
    pub fn payload(&self) -> &[u8] {
        clamped(
            self.buffer.as_ref(),
            HEADER_LEN,
            HEADER_LEN + usize::from(self.payload_len()),
        )
    }

    /// Walks the extension headers to the transport header (see [`ipv6_ext::walk`]); the
    /// offset returned counts from the start of the IPv6 header.
    pub fn transport(&self) -> Result<Ipv6Transport> {
        ipv6_ext::walk(self.next_header(), self.payload(), HEADER_LEN)
    }

    /// The bytes of the transport header and its payload, as found by
    /// [`transport`](Self::transport), up to the end of the IPv6 payload.
    pub fn transport_payload(&self, transport: &Ipv6Transport) -> &[u8] {
        clamped(
            self.buffer.as_ref(),
            transport.offset,
            HEADER_LEN + usize::from(self.payload_len()),
        )
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    fn set_ver_tc_flow(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::VER_TC_FLOW, value);
    }

    /// Sets the version.
    pub fn set_version(&mut self, version: u8) {
        let v = (self.ver_tc_flow() & 0x0FFF_FFFF) | (u32::from(version & 0x0F) << 28);
        self.set_ver_tc_flow(v);
    }

    /// Sets the traffic class.
    pub fn set_traffic_class(&mut self, tc: u8) {
        let v = (self.ver_tc_flow() & 0xF00F_FFFF) | (u32::from(tc) << 20);
        self.set_ver_tc_flow(v);
    }

    /// Sets the flow label (bits above the 20th are dropped).
    pub fn set_flow_label(&mut self, label: u32) {
        let v = (self.ver_tc_flow() & 0xFFF0_0000) | (label & 0x000F_FFFF);
        self.set_ver_tc_flow(v);
    }

    /// Sets the payload length.
    pub fn set_payload_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::PAYLOAD_LEN, len);
    }

    /// Sets the next header.
    pub fn set_next_header(&mut self, protocol: IpProtocol) {
        self.buffer.as_mut()[field::NEXT_HEADER] = protocol.0;
    }

    /// Sets the hop limit.
    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = hop_limit;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC..field::SRC + 16].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST..field::DST + 16].copy_from_slice(&addr.octets());
    }

    /// The payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        clamped_mut(self.buffer.as_mut(), HEADER_LEN, end)
    }

    /// The transport header and its payload, mutable (see
    /// [`transport_payload`](Self::transport_payload)).
    pub fn transport_payload_mut(&mut self, transport: &Ipv6Transport) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        clamped_mut(self.buffer.as_mut(), transport.offset, end)
    }
}

/// The fixed IPv6 header, as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header.
    pub next_header: IpProtocol,
    /// Payload length (extension headers included).
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class.
    pub traffic_class: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Reads a checked packet's fixed header.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Result<Self> {
        packet.check_len()?;
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// The header length: 40.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the fixed header. [`Error::Truncated`] if the buffer is shorter than 40 bytes,
    /// [`Error::Malformed`] if the payload length exceeds 65535 or the flow label 20 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) -> Result<()> {
        if packet.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let payload_len = u16::try_from(self.payload_len).map_err(|_| Error::Malformed)?;
        if self.flow_label > 0x000F_FFFF {
            return Err(Error::Malformed);
        }
        packet
            .set_ver_tc_flow(0x6000_0000 | (u32::from(self.traffic_class) << 20) | self.flow_label);
        packet.set_payload_len(payload_len);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv6_ext::Ipv6Fragment;

    /// 2001:db8::1 → 2001:db8::2, traffic class 0xb8, flow 0x12345, hop limit 64, a
    /// hop-by-hop header (PadN) then UDP (8 bytes: ports 53 → 5353, length 8, checksum 0),
    /// then 2 bytes of link padding.
    const WITH_HBH: [u8; 58] = [
        0x6b, 0x81, 0x23, 0x45, 0x00, 0x10, 0x00, 0x40, // ver/tc/flow, len 16, HBH, hop 64
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // src
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // dst
        17, 0, 1, 4, 0, 0, 0, 0, // hop-by-hop: next UDP, PadN
        0x00, 0x35, 0x14, 0xe9, 0x00, 0x08, 0x00, 0x00, // UDP
        0xEE, 0xEE, // padding
    ];

    fn repr() -> Ipv6Repr {
        Ipv6Repr {
            src_addr: "2001:db8::1".parse().unwrap(),
            dst_addr: "2001:db8::2".parse().unwrap(),
            next_header: IpProtocol::HOP_BY_HOP,
            payload_len: 16,
            hop_limit: 64,
            traffic_class: 0xb8,
            flow_label: 0x12345,
        }
    }

    #[test]
    fn parse_fields_and_walk() {
        let p = Ipv6Packet::new_checked(&WITH_HBH[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0xb8);
        assert_eq!(p.flow_label(), 0x12345);
        assert_eq!(p.payload_len(), 16);
        assert_eq!(p.next_header(), IpProtocol::HOP_BY_HOP);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.payload().len(), 16);
        assert_eq!(Ipv6Repr::parse(&p).unwrap(), repr());
        let t = p.transport().unwrap();
        assert_eq!(
            t,
            Ipv6Transport {
                protocol: IpProtocol::UDP,
                offset: 48,
                fragment: None
            }
        );
        assert_eq!(
            p.transport_payload(&t),
            &[0x00, 0x35, 0x14, 0xe9, 0x00, 0x08, 0x00, 0x00]
        );
        assert_eq!(
            p.pseudo_header(),
            PseudoHeader::v6(
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap()
            )
        );
    }

    #[test]
    fn emit_is_byte_exact() {
        let mut buf = [0u8; 58];
        let mut p = Ipv6Packet::new_unchecked(&mut buf[..]);
        repr().emit(&mut p).unwrap();
        p.payload_mut().copy_from_slice(&WITH_HBH[40..56]);
        buf[56..].copy_from_slice(&[0xEE, 0xEE]);
        assert_eq!(buf, WITH_HBH);
    }

    #[test]
    fn emit_errors() {
        let mut buf = [0u8; 40];
        let big = Ipv6Repr {
            payload_len: 65536,
            ..repr()
        };
        assert_eq!(
            big.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..])),
            Err(Error::Malformed)
        );
        let flow = Ipv6Repr {
            flow_label: 0x10_0000,
            ..repr()
        };
        assert_eq!(
            flow.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..])),
            Err(Error::Malformed)
        );
        let mut short = [0u8; 39];
        assert_eq!(
            repr().emit(&mut Ipv6Packet::new_unchecked(&mut short[..])),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn setters() {
        let mut buf = WITH_HBH;
        let mut p = Ipv6Packet::new_checked(&mut buf[..]).unwrap();
        p.set_traffic_class(0x01);
        p.set_flow_label(0xFFF_FFFFF);
        p.set_hop_limit(1);
        p.set_next_header(IpProtocol::UDP);
        assert_eq!(&buf[..8], &[0x60, 0x1F, 0xFF, 0xFF, 0x00, 0x10, 17, 1]);
        let mut p = Ipv6Packet::new_checked(&mut buf[..]).unwrap();
        p.set_version(4);
        assert_eq!(p.version(), 4);
        assert_eq!(p.traffic_class(), 0x01);
    }

    #[test]
    fn truncated_and_malformed() {
        for len in 0..56 {
            assert_eq!(
                Ipv6Packet::new_checked(&WITH_HBH[..len]).err(),
                Some(Error::Truncated),
                "{len}"
            );
        }
        let mut v4 = WITH_HBH;
        v4[0] = 0x4b;
        assert_eq!(
            Ipv6Packet::new_checked(&v4[..]).err(),
            Some(Error::Malformed)
        );
        // A hop-by-hop header claiming 16 bytes inside a 16-byte payload ends in nothing.
        let mut long_hbh = WITH_HBH;
        long_hbh[41] = 1;
        let p = Ipv6Packet::new_checked(&long_hbh[..]).unwrap();
        assert_eq!(p.transport().unwrap().offset, 56);
        long_hbh[41] = 2;
        let p = Ipv6Packet::new_checked(&long_hbh[..]).unwrap();
        assert_eq!(p.transport(), Err(Error::Truncated));
    }

    #[test]
    fn embedded_packet_walks_what_is_there() {
        // A quoted packet announcing 1000 bytes: the header and the walk still work.
        let mut quoted = WITH_HBH[..56].to_vec();
        quoted[4..6].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(
            Ipv6Packet::new_checked(&quoted[..]).err(),
            Some(Error::Truncated)
        );
        let p = Ipv6Packet::new_checked_embedded(&quoted[..]).unwrap();
        let t = p.transport().unwrap();
        assert_eq!(t.offset, 48);
        assert_eq!(p.transport_payload(&t).len(), 8);
        assert_eq!(
            Ipv6Packet::new_checked_embedded(&quoted[..39]).err(),
            Some(Error::Truncated)
        );
    }

    #[test]
    fn fragment_reported() {
        let mut pkt = WITH_HBH[..56].to_vec();
        pkt[6] = 44;
        pkt[40..48].copy_from_slice(&[17, 0, 0x00, 0x11, 0x00, 0x00, 0x30, 0x39]);
        let p = Ipv6Packet::new_checked(&pkt[..]).unwrap();
        let t = p.transport().unwrap();
        assert_eq!(t.protocol, IpProtocol::UDP);
        assert_eq!(t.offset, 48);
        assert_eq!(
            t.fragment,
            Some(Ipv6Fragment {
                offset: 16,
                more_frags: true,
                ident: 12345,
                header_offset: 40
            })
        );
    }
}

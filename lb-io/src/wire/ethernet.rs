//! Ethernet II frames, with up to two 802.1Q / 802.1ad VLAN tags.

use core::fmt;

use super::error::{Error, Result};
use super::field::{clamped, clamped_mut, read_array, read_u16, write_u16};

/// A 48-bit Ethernet (MAC) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xFF; 6]);
    /// `00:00:00:00:00:00` (the unknown target of an ARP request).
    pub const UNSPECIFIED: EthernetAddress = EthernetAddress([0; 6]);

    /// The address in the first six bytes of `bytes`, or `None` if there are fewer.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let six: [u8; 6] = bytes.get(..6)?.try_into().ok()?;
        Some(EthernetAddress(six))
    }

    /// The six bytes.
    pub fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Whether this is the broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Whether the group bit is set (multicast, broadcast included).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Whether this is an individual (unicast) address other than all zeros.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast() && *self != Self::UNSPECIFIED
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// An EtherType (or VLAN tag protocol identifier).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EtherType(pub u16);

impl EtherType {
    /// IPv4.
    pub const IPV4: EtherType = EtherType(0x0800);
    /// ARP.
    pub const ARP: EtherType = EtherType(0x0806);
    /// IPv6.
    pub const IPV6: EtherType = EtherType(0x86DD);
    /// 802.1Q customer VLAN tag.
    pub const VLAN: EtherType = EtherType(0x8100);
    /// 802.1ad service VLAN tag (QinQ outer tag).
    pub const QINQ: EtherType = EtherType(0x88A8);
    /// The pre-standard QinQ outer tag still used by some switches.
    pub const QINQ_LEGACY: EtherType = EtherType(0x9100);

    /// Whether this value introduces a VLAN tag.
    pub fn is_vlan_tag(self) -> bool {
        matches!(self, Self::VLAN | Self::QINQ | Self::QINQ_LEGACY)
    }
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        EtherType(value)
    }
}

/// One VLAN tag: its tag protocol identifier and its tag control information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VlanTag {
    /// The tag protocol identifier (0x8100, 0x88A8 or 0x9100).
    pub tpid: EtherType,
    /// Priority code point (3 bits).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (12 bits).
    pub vid: u16,
}

impl VlanTag {
    /// A tag from its protocol identifier and 16-bit control information.
    pub fn from_tci(tpid: EtherType, tci: u16) -> Self {
        VlanTag {
            tpid,
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0FFF,
        }
    }

    /// The 16-bit tag control information (excess bits of `pcp` and `vid` dropped).
    pub fn tci(&self) -> u16 {
        (u16::from(self.pcp & 0x07) << 13) | (u16::from(self.dei) << 12) | (self.vid & 0x0FFF)
    }
}

/// The VLAN tags of a frame, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum VlanStack {
    /// Untagged.
    #[default]
    None,
    /// One tag.
    Single(VlanTag),
    /// Two tags (QinQ).
    Double {
        /// The outer (service) tag.
        outer: VlanTag,
        /// The inner (customer) tag.
        inner: VlanTag,
    },
}

impl VlanStack {
    /// How many tags.
    pub fn len(&self) -> usize {
        match self {
            VlanStack::None => 0,
            VlanStack::Single(_) => 1,
            VlanStack::Double { .. } => 2,
        }
    }

    /// Whether the frame is untagged.
    pub fn is_empty(&self) -> bool {
        matches!(self, VlanStack::None)
    }
}

/// A view of an Ethernet II frame, VLAN tags included.
///
/// The "outer" EtherType is the field right after the source address; when it is a VLAN tag
/// protocol identifier, the tag follows, and so on for a second tag. The "inner" EtherType is
/// the one after the last tag read: the type of the payload. At most two tags are read; a
/// third one shows as an inner EtherType that is itself a VLAN identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

mod field {
    pub const DST: usize = 0;
    pub const SRC: usize = 6;
    pub const ETHERTYPE: usize = 12;
}

/// The length of an untagged Ethernet II header.
pub const HEADER_LEN: usize = 14;
/// The length of one VLAN tag.
pub const VLAN_TAG_LEN: usize = 4;
/// The most VLAN tags a frame's view reads.
pub const MAX_VLAN_TAGS: usize = 2;

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checking it; the accessors may panic if it is too short.
    pub fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the header and the VLAN tags it announces are all in the buffer.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let mut type_at = field::ETHERTYPE;
        for _ in 0..MAX_VLAN_TAGS {
            if !EtherType(read_u16(data, type_at)).is_vlan_tag() {
                break;
            }
            type_at += VLAN_TAG_LEN;
            if data.len() < type_at + 2 {
                return Err(Error::Truncated);
            }
        }
        Ok(())
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination address.
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress(read_array(self.buffer.as_ref(), field::DST))
    }

    /// Source address.
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress(read_array(self.buffer.as_ref(), field::SRC))
    }

    /// The EtherType field after the source address (a VLAN identifier on tagged frames).
    pub fn ethertype(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), field::ETHERTYPE))
    }

    /// How many VLAN tags precede the payload (0, 1 or 2).
    pub fn vlan_count(&self) -> usize {
        let data = self.buffer.as_ref();
        let mut count = 0;
        let mut type_at = field::ETHERTYPE;
        while count < MAX_VLAN_TAGS {
            let is_tag = data
                .get(type_at..type_at + 2)
                .is_some_and(|t| EtherType(u16::from_be_bytes([t[0], t[1]])).is_vlan_tag());
            // A tag counts only when the EtherType after it is in the buffer.
            if !is_tag || data.len() < type_at + VLAN_TAG_LEN + 2 {
                break;
            }
            count += 1;
            type_at += VLAN_TAG_LEN;
        }
        count
    }

    /// The VLAN tag at `index` (0 = outermost), if the frame has it.
    pub fn vlan_tag(&self, index: usize) -> Option<VlanTag> {
        if index >= self.vlan_count() {
            return None;
        }
        let data = self.buffer.as_ref();
        let at = field::ETHERTYPE + index * VLAN_TAG_LEN;
        Some(VlanTag::from_tci(
            EtherType(read_u16(data, at)),
            read_u16(data, at + 2),
        ))
    }

    /// All VLAN tags.
    pub fn vlans(&self) -> VlanStack {
        match (self.vlan_tag(0), self.vlan_tag(1)) {
            (Some(outer), Some(inner)) => VlanStack::Double { outer, inner },
            (Some(tag), None) => VlanStack::Single(tag),
            _ => VlanStack::None,
        }
    }

    /// The offset of the EtherType that describes the payload.
    fn inner_ethertype_at(&self) -> usize {
        field::ETHERTYPE + self.vlan_count() * VLAN_TAG_LEN
    }

    /// The EtherType of the payload, after the VLAN tags.
    pub fn inner_ethertype(&self) -> EtherType {
        EtherType(read_u16(self.buffer.as_ref(), self.inner_ethertype_at()))
    }

    /// Where the payload starts: 14, 18 or 22.
    pub fn payload_offset(&self) -> usize {
        self.inner_ethertype_at() + 2
    }

    /// The payload (including any padding up to the minimum frame size).
    pub fn payload(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        clamped(data, self.payload_offset(), data.len())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DST..field::DST + 6].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SRC..field::SRC + 6].copy_from_slice(&addr.0);
    }

    /// Sets the EtherType field after the source address.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        write_u16(self.buffer.as_mut(), field::ETHERTYPE, ethertype.0);
    }

    /// Rewrites the VLAN tag at `index`; [`Error::Malformed`] if the frame has no such tag.
    pub fn set_vlan_tag(&mut self, index: usize, tag: VlanTag) -> Result<()> {
        if index >= self.vlan_count() || !tag.tpid.is_vlan_tag() {
            return Err(Error::Malformed);
        }
        let at = field::ETHERTYPE + index * VLAN_TAG_LEN;
        let data = self.buffer.as_mut();
        write_u16(data, at, tag.tpid.0);
        write_u16(data, at + 2, tag.tci());
        Ok(())
    }

    /// Sets the EtherType of the payload, after the VLAN tags.
    pub fn set_inner_ethertype(&mut self, ethertype: EtherType) {
        let at = self.inner_ethertype_at();
        write_u16(self.buffer.as_mut(), at, ethertype.0);
    }

    /// The payload, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.payload_offset();
        let data = self.buffer.as_mut();
        let len = data.len();
        clamped_mut(data, start, len)
    }
}

/// The header of an Ethernet II frame, as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// Source address.
    pub src_addr: EthernetAddress,
    /// Destination address.
    pub dst_addr: EthernetAddress,
    /// VLAN tags, outermost first.
    pub vlans: VlanStack,
    /// The EtherType of the payload.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Reads the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<Self> {
        frame.check_len()?;
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            vlans: frame.vlans(),
            ethertype: frame.inner_ethertype(),
        })
    }

    /// The header length: 14 plus 4 per tag.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.vlans.len() * VLAN_TAG_LEN
    }

    /// Writes the header at the start of the frame's buffer; [`Error::Truncated`] if it does
    /// not fit, [`Error::Malformed`] if a tag's protocol identifier is not a VLAN one.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) -> Result<()> {
        if frame.buffer.as_ref().len() < self.buffer_len() {
            return Err(Error::Truncated);
        }
        let tags: &[VlanTag] = match &self.vlans {
            VlanStack::None => &[],
            VlanStack::Single(tag) => core::slice::from_ref(tag),
            VlanStack::Double { outer, inner } => &[*outer, *inner],
        };
        if tags.iter().any(|t| !t.tpid.is_vlan_tag()) {
            return Err(Error::Malformed);
        }
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        let data = frame.buffer.as_mut();
        let mut at = field::ETHERTYPE;
        for tag in tags {
            write_u16(data, at, tag.tpid.0);
            write_u16(data, at + 2, tag.tci());
            at += VLAN_TAG_LEN;
        }
        write_u16(data, at, self.ethertype.0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DST: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
    const SRC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];

    /// Untagged IPv4 frame header followed by two payload bytes.
    const UNTAGGED: [u8; 16] = [
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00, 0xAB, 0xCD,
    ];
    /// One 802.1Q tag: PCP 5, DEI 0, VID 100 (TCI 0xA064); IPv6 inside.
    const SINGLE: [u8; 20] = [
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x81, 0x00, 0xA0, 0x64, 0x86, 0xDD, 0x60,
        0x00,
    ];
    /// QinQ: 802.1ad outer VID 10 with DEI (TCI 0x100A), 802.1Q inner PCP 7 VID 4094 (0xEFFE);
    /// ARP inside.
    const DOUBLE: [u8; 23] = [
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xA8, 0x10, 0x0A, 0x81, 0x00, 0xEF,
        0xFE, 0x08, 0x06, 0x00,
    ];

    #[test]
    fn untagged_fields() {
        let f = EthernetFrame::new_checked(&UNTAGGED[..]).unwrap();
        assert_eq!(f.dst_addr(), EthernetAddress(DST));
        assert_eq!(f.src_addr(), EthernetAddress(SRC));
        assert_eq!(f.ethertype(), EtherType::IPV4);
        assert_eq!(f.vlan_count(), 0);
        assert_eq!(f.vlans(), VlanStack::None);
        assert_eq!(f.inner_ethertype(), EtherType::IPV4);
        assert_eq!(f.payload_offset(), 14);
        assert_eq!(f.payload(), &[0xAB, 0xCD]);
        assert_eq!(f.vlan_tag(0), None);
    }

    #[test]
    fn single_tag_fields() {
        let f = EthernetFrame::new_checked(&SINGLE[..]).unwrap();
        assert_eq!(f.ethertype(), EtherType::VLAN);
        assert_eq!(f.vlan_count(), 1);
        let tag = VlanTag {
            tpid: EtherType::VLAN,
            pcp: 5,
            dei: false,
            vid: 100,
        };
        assert_eq!(f.vlan_tag(0), Some(tag));
        assert_eq!(f.vlans(), VlanStack::Single(tag));
        assert_eq!(f.inner_ethertype(), EtherType::IPV6);
        assert_eq!(f.payload_offset(), 18);
        assert_eq!(f.payload(), &[0x60, 0x00]);
    }

    #[test]
    fn double_tag_fields() {
        let f = EthernetFrame::new_checked(&DOUBLE[..]).unwrap();
        let outer = VlanTag {
            tpid: EtherType::QINQ,
            pcp: 0,
            dei: true,
            vid: 10,
        };
        let inner = VlanTag {
            tpid: EtherType::VLAN,
            pcp: 7,
            dei: false,
            vid: 4094,
        };
        assert_eq!(f.vlan_count(), 2);
        assert_eq!(f.vlans(), VlanStack::Double { outer, inner });
        assert_eq!(f.inner_ethertype(), EtherType::ARP);
        assert_eq!(f.payload_offset(), 22);
        assert_eq!(f.payload(), &[0x00]);
        assert_eq!(outer.tci(), 0x100A);
        assert_eq!(inner.tci(), 0xEFFE);
    }

    #[test]
    fn emit_is_byte_exact() {
        for golden in [&UNTAGGED[..], &SINGLE[..], &DOUBLE[..]] {
            let repr = EthernetRepr::parse(&EthernetFrame::new_checked(golden).unwrap()).unwrap();
            let mut buf = vec![0u8; golden.len()];
            let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
            repr.emit(&mut frame).unwrap();
            frame
                .payload_mut()
                .copy_from_slice(&golden[repr.buffer_len()..]);
            assert_eq!(&buf[..], golden);
        }
    }

    #[test]
    fn emit_rejects_short_buffer_and_bad_tpid() {
        let repr = EthernetRepr {
            src_addr: EthernetAddress(SRC),
            dst_addr: EthernetAddress(DST),
            vlans: VlanStack::Single(VlanTag {
                tpid: EtherType::VLAN,
                pcp: 0,
                dei: false,
                vid: 1,
            }),
            ethertype: EtherType::IPV4,
        };
        assert_eq!(repr.buffer_len(), 18);
        let mut buf = [0u8; 17];
        assert_eq!(
            repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..])),
            Err(Error::Truncated)
        );
        let bad = EthernetRepr {
            vlans: VlanStack::Single(VlanTag {
                tpid: EtherType::IPV4,
                pcp: 0,
                dei: false,
                vid: 1,
            }),
            ..repr
        };
        let mut buf = [0u8; 18];
        assert_eq!(
            bad.emit(&mut EthernetFrame::new_unchecked(&mut buf[..])),
            Err(Error::Malformed)
        );
    }

    #[test]
    fn setters() {
        let mut buf = DOUBLE;
        let mut f = EthernetFrame::new_checked(&mut buf[..]).unwrap();
        f.set_dst_addr(EthernetAddress::BROADCAST);
        f.set_src_addr(EthernetAddress([1, 2, 3, 4, 5, 6]));
        let tag = VlanTag {
            tpid: EtherType::VLAN,
            pcp: 1,
            dei: false,
            vid: 0x123,
        };
        f.set_vlan_tag(1, tag).unwrap();
        assert_eq!(f.set_vlan_tag(2, tag), Err(Error::Malformed));
        f.set_inner_ethertype(EtherType::IPV4);
        assert_eq!(
            &buf[..22],
            &[
                0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4, 5, 6, 0x88, 0xA8, 0x10, 0x0A, 0x81,
                0x00, 0x21, 0x23, 0x08, 0x00
            ]
        );
    }

    #[test]
    fn truncated_prefixes() {
        for golden in [&UNTAGGED[..], &SINGLE[..], &DOUBLE[..]] {
            let need = EthernetFrame::new_checked(golden).unwrap().payload_offset();
            for len in 0..need {
                assert_eq!(
                    EthernetFrame::new_checked(&golden[..len]).err(),
                    Some(Error::Truncated)
                );
            }
            assert!(EthernetFrame::new_checked(&golden[..need]).is_ok());
        }
    }

    #[test]
    fn third_tag_is_left_as_inner_ethertype() {
        let mut frame = DOUBLE.to_vec();
        frame[20..22].copy_from_slice(&[0x81, 0x00]);
        let f = EthernetFrame::new_checked(&frame[..]).unwrap();
        assert_eq!(f.vlan_count(), 2);
        assert_eq!(f.inner_ethertype(), EtherType::VLAN);
    }

    #[test]
    fn retagging_a_checked_short_frame_does_not_panic() {
        let mut buf = [0u8; 14];
        let mut f = EthernetFrame::new_checked(&mut buf[..]).unwrap();
        f.set_ethertype(EtherType::VLAN);
        assert_eq!(f.vlan_count(), 0);
        assert_eq!(f.payload_offset(), 14);
        assert_eq!(f.payload(), &[] as &[u8]);
        assert_eq!(f.inner_ethertype(), EtherType::VLAN);
    }

    #[test]
    fn address_kinds_and_display() {
        assert!(EthernetAddress::BROADCAST.is_broadcast());
        assert!(EthernetAddress::BROADCAST.is_multicast());
        assert!(EthernetAddress([0x33, 0x33, 0, 0, 0, 1]).is_multicast());
        assert!(EthernetAddress(SRC).is_unicast());
        assert!(!EthernetAddress::UNSPECIFIED.is_unicast());
        assert_eq!(
            EthernetAddress([0x02, 0xab, 0, 0x10, 0xff, 1]).to_string(),
            "02:ab:00:10:ff:01"
        );
        assert_eq!(EthernetAddress::from_bytes(&[1, 2, 3, 4, 5]), None);
        assert_eq!(
            EthernetAddress::from_bytes(&[1, 2, 3, 4, 5, 6, 7]),
            Some(EthernetAddress([1, 2, 3, 4, 5, 6]))
        );
    }
}

//! Neighbour discovery (RFC 4861): neighbour solicitations and advertisements with their
//! Ethernet link-layer address options, read from and written into an [`Icmpv6Packet`].
//!
//! Layout after the 8-byte ICMPv6 header: the 16-byte target address, then options of
//! `[type, length in 8-byte units, value...]`. A neighbour advertisement keeps its flags in
//! the first byte after the checksum.

use std::net::Ipv6Addr;

use super::error::{Error, Result};
use super::ethernet::EthernetAddress;
use super::icmpv6::{Icmpv6Packet, Icmpv6Type, HEADER_LEN};

/// Offset of the target address in the ICMPv6 data.
const TARGET: usize = 0;
/// Offset of the options in the ICMPv6 data.
const OPTIONS: usize = 16;
/// The length of an Ethernet link-layer address option.
pub const LLADDR_OPTION_LEN: usize = 8;

/// An NDP option type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NdpOptionType(pub u8);

impl NdpOptionType {
    /// Source link-layer address (in solicitations).
    pub const SOURCE_LINK_LAYER_ADDR: NdpOptionType = NdpOptionType(1);
    /// Target link-layer address (in advertisements).
    pub const TARGET_LINK_LAYER_ADDR: NdpOptionType = NdpOptionType(2);
}

/// One NDP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NdpOption<'a> {
    /// Option type.
    pub option_type: NdpOptionType,
    /// The value: the option's bytes after its type and length.
    pub value: &'a [u8],
}

/// The options of an NDP message, in order. Yields [`Error::Malformed`] for an option of
/// length 0 and [`Error::Truncated`] for one running past the message, then stops.
#[derive(Debug, Clone)]
pub struct NdpOptions<'a> {
    rest: &'a [u8],
}

impl<'a> NdpOptions<'a> {
    /// The options in `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        NdpOptions { rest: bytes }
    }
}

impl<'a> Iterator for NdpOptions<'a> {
    type Item = Result<NdpOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let rest = core::mem::take(&mut self.rest);
        let [kind, units, ..] = *rest else {
            return Some(Err(Error::Truncated));
        };
        if units == 0 {
            return Some(Err(Error::Malformed));
        }
        let len = usize::from(units) * 8;
        let Some(option) = rest.get(..len) else {
            return Some(Err(Error::Truncated));
        };
        self.rest = &rest[len..];
        Some(Ok(NdpOption {
            option_type: NdpOptionType(kind),
            value: &option[2..],
        }))
    }
}

/// The flags of a neighbour advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NdpNeighborFlags(pub u8);

impl NdpNeighborFlags {
    /// The sender is a router.
    pub const ROUTER: NdpNeighborFlags = NdpNeighborFlags(0x80);
    /// Sent in response to a solicitation.
    pub const SOLICITED: NdpNeighborFlags = NdpNeighborFlags(0x40);
    /// Override an existing cache entry.
    pub const OVERRIDE: NdpNeighborFlags = NdpNeighborFlags(0x20);

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: NdpNeighborFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for NdpNeighborFlags {
    type Output = NdpNeighborFlags;
    fn bitor(self, rhs: NdpNeighborFlags) -> NdpNeighborFlags {
        NdpNeighborFlags(self.0 | rhs.0)
    }
}

/// A neighbour solicitation or advertisement, as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdpRepr {
    /// Who has `target_addr`?
    NeighborSolicit {
        /// The address being resolved.
        target_addr: Ipv6Addr,
        /// The sender's link-layer address (absent in duplicate address detection).
        source_lladdr: Option<EthernetAddress>,
    },
    /// `target_addr` is at `target_lladdr`.
    NeighborAdvert {
        /// Router, solicited, override.
        flags: NdpNeighborFlags,
        /// The address advertised.
        target_addr: Ipv6Addr,
        /// Its link-layer address.
        target_lladdr: Option<EthernetAddress>,
    },
}

/// The Ethernet address in the first link-layer option of `wanted` type (one of 8 bytes;
/// options of other lengths are for other link layers and are passed over).
fn find_lladdr(options: &[u8], wanted: NdpOptionType) -> Result<Option<EthernetAddress>> {
    let mut found = None;
    for option in NdpOptions::new(options) {
        let option = option?;
        if found.is_none() && option.option_type == wanted && option.value.len() == 6 {
            found = EthernetAddress::from_bytes(option.value);
        }
    }
    Ok(found)
}

impl NdpRepr {
    /// Reads a neighbour solicitation or advertisement. [`Error::Unsupported`] for other
    /// ICMPv6 types, [`Error::Malformed`] for a code other than 0 or a broken option,
    /// [`Error::Truncated`] when the target address or an option is cut short. The checksum
    /// is not checked here (see [`Icmpv6Packet::verify_checksum`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Icmpv6Packet<T>) -> Result<Self> {
        packet.check_len()?;
        let msg_type = packet.msg_type();
        if msg_type != Icmpv6Type::NEIGHBOR_SOLICIT && msg_type != Icmpv6Type::NEIGHBOR_ADVERT {
            return Err(Error::Unsupported);
        }
        if packet.msg_code() != 0 {
            return Err(Error::Malformed);
        }
        let data = packet.data();
        let target: [u8; 16] = data
            .get(TARGET..TARGET + 16)
            .and_then(|t| t.try_into().ok())
            .ok_or(Error::Truncated)?;
        let target_addr = Ipv6Addr::from(target);
        let options = data.get(OPTIONS..).unwrap_or(&[]);
        if msg_type == Icmpv6Type::NEIGHBOR_SOLICIT {
            Ok(NdpRepr::NeighborSolicit {
                target_addr,
                source_lladdr: find_lladdr(options, NdpOptionType::SOURCE_LINK_LAYER_ADDR)?,
            })
        } else {
            Ok(NdpRepr::NeighborAdvert {
                flags: NdpNeighborFlags((packet.rest_of_header() >> 24) as u8),
                target_addr,
                target_lladdr: find_lladdr(options, NdpOptionType::TARGET_LINK_LAYER_ADDR)?,
            })
        }
    }

    fn lladdr_option(&self) -> Option<(NdpOptionType, EthernetAddress)> {
        match *self {
            NdpRepr::NeighborSolicit { source_lladdr, .. } => {
                source_lladdr.map(|a| (NdpOptionType::SOURCE_LINK_LAYER_ADDR, a))
            }
            NdpRepr::NeighborAdvert { target_lladdr, .. } => {
                target_lladdr.map(|a| (NdpOptionType::TARGET_LINK_LAYER_ADDR, a))
            }
        }
    }

    /// The message length: 24, plus 8 with a link-layer address option.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN
            + OPTIONS
            + if self.lladdr_option().is_some() {
                LLADDR_OPTION_LEN
            } else {
                0
            }
    }

    /// Writes the message with a zero checksum (fill it with
    /// [`Icmpv6Packet::fill_checksum`]); [`Error::Truncated`] if it does not fit.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv6Packet<T>) -> Result<()> {
        packet.check_len()?;
        if HEADER_LEN + packet.data().len() < self.buffer_len() {
            return Err(Error::Truncated);
        }
        let (msg_type, rest, target_addr) = match *self {
            NdpRepr::NeighborSolicit { target_addr, .. } => {
                (Icmpv6Type::NEIGHBOR_SOLICIT, 0, target_addr)
            }
            NdpRepr::NeighborAdvert {
                flags, target_addr, ..
            } => (
                Icmpv6Type::NEIGHBOR_ADVERT,
                u32::from(flags.0) << 24,
                target_addr,
            ),
        };
        packet.set_msg_type(msg_type);
        packet.set_msg_code(0);
        packet.set_checksum(0);
        packet.set_rest_of_header(rest);
        let data = packet.data_mut();
        data[TARGET..TARGET + 16].copy_from_slice(&target_addr.octets());
        if let Some((kind, addr)) = self.lladdr_option() {
            let option = &mut data[OPTIONS..OPTIONS + LLADDR_OPTION_LEN];
            option[0] = kind.0;
            option[1] = 1;
            option[2..].copy_from_slice(&addr.0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::checksum::PseudoHeader;

    const MAC: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    /// Neighbour solicitation from 2001:db8::1 (02:00:00:00:00:01) for 2001:db8::10, sent to
    /// the solicited-node group ff02::1:ff00:10; checksum 0x1c0b.
    const SOLICIT: [u8; 32] = [
        0x87, 0x00, 0x1c, 0x0b, 0, 0, 0, 0, // type 135, code 0, checksum, reserved
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, // target
        0x01, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source link-layer address
    ];

    fn solicit_pseudo() -> PseudoHeader {
        PseudoHeader::v6(addr("2001:db8::1"), addr("ff02::1:ff00:10"))
    }

    #[test]
    fn parse_solicit() {
        let p = Icmpv6Packet::new_checked(&SOLICIT[..]).unwrap();
        assert!(p.verify_checksum(&solicit_pseudo()));
        assert_eq!(
            NdpRepr::parse(&p).unwrap(),
            NdpRepr::NeighborSolicit {
                target_addr: addr("2001:db8::10"),
                source_lladdr: Some(MAC)
            }
        );
    }

    #[test]
    fn emit_solicit_is_byte_exact() {
        let repr = NdpRepr::NeighborSolicit {
            target_addr: addr("2001:db8::10"),
            source_lladdr: Some(MAC),
        };
        assert_eq!(repr.buffer_len(), 32);
        let mut buf = [0xFFu8; 32];
        let mut p = Icmpv6Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut p).unwrap();
        p.fill_checksum(&solicit_pseudo());
        assert_eq!(buf, SOLICIT);
    }

    #[test]
    fn advert_round_trip_and_bytes() {
        let repr = NdpRepr::NeighborAdvert {
            flags: NdpNeighborFlags::SOLICITED | NdpNeighborFlags::OVERRIDE,
            target_addr: addr("2001:db8::10"),
            target_lladdr: Some(EthernetAddress([0x02, 0, 0, 0, 0, 0x10])),
        };
        let mut buf = [0u8; 32];
        let mut p = Icmpv6Packet::new_unchecked(&mut buf[..]);
        repr.emit(&mut p).unwrap();
        let pseudo = PseudoHeader::v6(addr("2001:db8::10"), addr("2001:db8::1"));
        p.fill_checksum(&pseudo);
        assert!(p.verify_checksum(&pseudo));
        assert_eq!(NdpRepr::parse(&p).unwrap(), repr);
        let checksum = p.checksum();
        let mut golden = vec![0x88, 0x00];
        golden.extend_from_slice(&checksum.to_be_bytes());
        golden.extend_from_slice(&[0x60, 0, 0, 0]);
        golden.extend_from_slice(&addr("2001:db8::10").octets());
        golden.extend_from_slice(&[0x02, 0x01, 0x02, 0, 0, 0, 0, 0x10]);
        assert_eq!(&buf[..], &golden[..]);
    }

    #[test]
    fn without_option_and_dad() {
        let repr = NdpRepr::NeighborSolicit {
            target_addr: addr("2001:db8::10"),
            source_lladdr: None,
        };
        assert_eq!(repr.buffer_len(), 24);
        let mut buf = [0u8; 24];
        repr.emit(&mut Icmpv6Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        assert_eq!(
            NdpRepr::parse(&Icmpv6Packet::new_checked(&buf[..]).unwrap()).unwrap(),
            repr
        );
        let mut short = [0u8; 23];
        assert_eq!(
            repr.emit(&mut Icmpv6Packet::new_unchecked(&mut short[..])),
            Err(Error::Truncated)
        );
        let with = NdpRepr::NeighborSolicit {
            target_addr: addr("2001:db8::10"),
            source_lladdr: Some(MAC),
        };
        assert_eq!(
            with.emit(&mut Icmpv6Packet::new_unchecked(&mut buf[..])),
            Err(Error::Truncated)
        );
        let mut tiny = [0u8; 4];
        assert_eq!(
            repr.emit(&mut Icmpv6Packet::new_unchecked(&mut tiny[..])),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn other_options_are_passed_over() {
        // A nonce option (type 14, 8 bytes) before the link-layer address.
        let mut bytes = SOLICIT[..24].to_vec();
        bytes.extend_from_slice(&[14, 1, 1, 2, 3, 4, 5, 6]);
        bytes.extend_from_slice(&SOLICIT[24..]);
        let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            NdpRepr::parse(&p).unwrap(),
            NdpRepr::NeighborSolicit {
                target_addr: addr("2001:db8::10"),
                source_lladdr: Some(MAC)
            }
        );
        let opts: Vec<_> = NdpOptions::new(&bytes[24..]).collect();
        assert_eq!(
            opts,
            vec![
                Ok(NdpOption {
                    option_type: NdpOptionType(14),
                    value: &[1, 2, 3, 4, 5, 6]
                }),
                Ok(NdpOption {
                    option_type: NdpOptionType(1),
                    value: &MAC.0
                }),
            ]
        );
    }

    #[test]
    fn malformed_and_truncated() {
        let mut zero_len = SOLICIT;
        zero_len[25] = 0;
        let p = Icmpv6Packet::new_checked(&zero_len[..]).unwrap();
        assert_eq!(NdpRepr::parse(&p), Err(Error::Malformed));
        let mut long = SOLICIT;
        long[25] = 2;
        let p = Icmpv6Packet::new_checked(&long[..]).unwrap();
        assert_eq!(NdpRepr::parse(&p), Err(Error::Truncated));
        let mut code = SOLICIT;
        code[1] = 1;
        assert_eq!(
            NdpRepr::parse(&Icmpv6Packet::new_checked(&code[..]).unwrap()),
            Err(Error::Malformed)
        );
        let mut echo = SOLICIT;
        echo[0] = 128;
        assert_eq!(
            NdpRepr::parse(&Icmpv6Packet::new_checked(&echo[..]).unwrap()),
            Err(Error::Unsupported)
        );
        for len in 8..24 {
            let p = Icmpv6Packet::new_checked(&SOLICIT[..len]).unwrap();
            assert_eq!(NdpRepr::parse(&p), Err(Error::Truncated), "{len}");
        }
        // A single stray byte after the target.
        let p = Icmpv6Packet::new_checked(&SOLICIT[..25]).unwrap();
        assert_eq!(NdpRepr::parse(&p), Err(Error::Truncated));
        for len in 26..32 {
            let p = Icmpv6Packet::new_checked(&SOLICIT[..len]).unwrap();
            assert_eq!(NdpRepr::parse(&p), Err(Error::Truncated), "{len}");
        }
    }
}

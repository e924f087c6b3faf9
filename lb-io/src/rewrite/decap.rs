//! Decapsulation: what a real server's kernel does with an IPIP (protocol 4) or
//! IPv6-in-IP (protocol 41) packet from a tunnelling director (spec §7.3) when it has a
//! tunnel device for it (`ipip`'s `tunl0`, `sit`, `ip6_tunnel`), for hosts without those
//! modules: the outer header is stripped and the inner packet is handed to the host's stack
//! (through a TUN device) as if received on the tunnel interface.
//!
//! As the kernel does (`ip_tunnel_rcv` → `INET_ECN_decapsulate`, RFC 6040), the outer ECN
//! field is folded into the inner packet:
//!
//! | inner \ outer | Not-ECT | ECT(0) | ECT(1) | CE                              |
//! |---------------|---------|--------|--------|---------------------------------|
//! | Not-ECT       | Not-ECT | Not-ECT| Not-ECT| dropped ([`DecapError::CongestedNotEct`]) |
//! | ECT(0)        | ECT(0)  | ECT(0) | ECT(1) | CE                              |
//! | ECT(1)        | ECT(1)  | ECT(1) | ECT(1) | CE                              |
//! | CE            | CE      | CE     | CE     | CE                              |
//!
//! An inner IPv4 header that changes gets its checksum recomputed. The inner packet is
//! otherwise unchanged (no TTL decrement: that happens when the kernel forwards it, if it
//! does). Inner packets are checked as the kernel's `ip_rcv` / `ipv6_rcv` would: the family
//! the outer protocol announces, a whole header, the length fields within the bytes, and for
//! IPv4 the header checksum; bytes after the inner packet's length are left out of its range.

use core::ops::Range;

use thiserror::Error;

use crate::wire::{self, IpProtocol, Ipv4Packet, Ipv6Packet};

/// The ECN bits of a DS field.
const ECN_MASK: u8 = 0x03;
/// ECN "not ECN-capable transport".
const ECN_NOT_ECT: u8 = 0x00;
/// ECN "ECN-capable transport (1)".
const ECN_ECT_1: u8 = 0x01;
/// ECN "ECN-capable transport (0)".
const ECN_ECT_0: u8 = 0x02;
/// ECN "congestion experienced".
const ECN_CE: u8 = 0x03;

/// Why a packet was not decapsulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum DecapError {
    /// The outer packet cannot be read (truncated, malformed, bad IPv4 header checksum, or a
    /// version other than 4 and 6).
    #[error("outer packet: {0}")]
    Outer(wire::Error),
    /// The outer packet carries neither IPIP (4) nor IPv6 (41).
    #[error("not a tunnel packet (protocol {0})")]
    NotTunnel(IpProtocol),
    /// The outer packet is a fragment: it must be reassembled first (the kernel does so
    /// before local delivery).
    #[error("outer packet is a fragment")]
    OuterFragment,
    /// The payload is not of the family the outer protocol announces (protocol 4 with no
    /// IPv4 packet inside, 41 with no IPv6 packet inside); `version` is the payload's first
    /// nibble (0 for an empty payload).
    #[error("protocol {protocol} carries an IP version {version} packet")]
    WrongFamily {
        /// The outer protocol.
        protocol: IpProtocol,
        /// The version nibble found.
        version: u8,
    },
    /// The inner packet cannot be read (truncated, malformed, bad IPv4 header checksum).
    #[error("inner packet: {0}")]
    Inner(wire::Error),
    /// The outer packet says congestion experienced (CE) but the inner packet is not
    /// ECN-capable: RFC 6040 and the kernel drop it.
    #[error("outer CE on a not-ECN-capable inner packet")]
    CongestedNotEct,
}

/// A decapsulated packet: where the inner packet lies in the buffer given.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decapsulated {
    /// The inner packet's bytes, as a range of the buffer (exactly its length).
    pub inner: Range<usize>,
    /// The tunnel protocol: [`IpProtocol::IPIP`] (IPv4 inside) or [`IpProtocol::IPV6`]
    /// (IPv6 inside).
    pub protocol: IpProtocol,
}

/// Decapsulates a whole IP packet (`packet` starts with its IPv4 or IPv6 header, as an
/// AF_INET raw socket receives it): checks the outer header, finds the payload (after any
/// IPv6 extension headers), checks the inner packet and applies the outer ECN to it in
/// place. Bytes after the outer packet's length (link padding) are ignored.
pub fn decapsulate(packet: &mut [u8]) -> Result<Decapsulated, DecapError> {
    let version = packet.first().map_or(0, |b| b >> 4);
    let (protocol, outer_tos, payload) = match version {
        4 => outer_ipv4(packet)?,
        6 => outer_ipv6(packet)?,
        _ => {
            return Err(DecapError::Outer(if packet.is_empty() {
                wire::Error::Truncated
            } else {
                wire::Error::Malformed
            }))
        }
    };
    let start = payload.start;
    let inner = packet
        .get_mut(payload)
        .ok_or(DecapError::Outer(wire::Error::Truncated))?;
    let found = decapsulate_payload(protocol, outer_tos, inner)?;
    Ok(Decapsulated {
        inner: start + found.inner.start..start + found.inner.end,
        protocol: found.protocol,
    })
}

/// Decapsulates the payload of a tunnel packet whose outer header is already gone (as an
/// AF_INET6 raw socket receives it): `protocol` is the outer protocol (4 or 41), `outer_tos`
/// the outer DS field (its ECN bits are applied; give 0 when unknown, which changes
/// nothing). Checks the inner packet and applies the ECN rule to it in place.
pub fn decapsulate_payload(
    protocol: IpProtocol,
    outer_tos: u8,
    payload: &mut [u8],
) -> Result<Decapsulated, DecapError> {
    let version = payload.first().map_or(0, |b| b >> 4);
    let len = match (protocol, version) {
        (IpProtocol::IPIP, 4) => inner_ipv4(payload, outer_tos)?,
        (IpProtocol::IPV6, 6) => inner_ipv6(payload, outer_tos)?,
        (IpProtocol::IPIP | IpProtocol::IPV6, _) => {
            return Err(DecapError::WrongFamily { protocol, version })
        }
        (other, _) => return Err(DecapError::NotTunnel(other)),
    };
    Ok(Decapsulated {
        inner: 0..len,
        protocol,
    })
}

/// The outer IPv4 header: the tunnel protocol, the TOS and where the payload lies.
fn outer_ipv4(packet: &[u8]) -> Result<(IpProtocol, u8, Range<usize>), DecapError> {
    let outer = Ipv4Packet::new_checked(packet).map_err(DecapError::Outer)?;
    if !outer.verify_checksum() {
        return Err(DecapError::Outer(wire::Error::BadChecksum));
    }
    if outer.is_fragment() {
        return Err(DecapError::OuterFragment);
    }
    let protocol = outer.protocol();
    if protocol != IpProtocol::IPIP && protocol != IpProtocol::IPV6 {
        return Err(DecapError::NotTunnel(protocol));
    }
    let range = outer.header_len()..usize::from(outer.total_len());
    Ok((protocol, outer.tos(), range))
}

/// The outer IPv6 header: the tunnel protocol (after extension headers), the traffic class
/// and where the payload lies.
fn outer_ipv6(packet: &[u8]) -> Result<(IpProtocol, u8, Range<usize>), DecapError> {
    let outer = Ipv6Packet::new_checked(packet).map_err(DecapError::Outer)?;
    let transport = outer.transport().map_err(DecapError::Outer)?;
    if transport.fragment.is_some() {
        return Err(DecapError::OuterFragment);
    }
    let protocol = transport.protocol;
    if protocol != IpProtocol::IPIP && protocol != IpProtocol::IPV6 {
        return Err(DecapError::NotTunnel(protocol));
    }
    let end = wire::ipv6::HEADER_LEN + usize::from(outer.payload_len());
    if transport.offset > end {
        return Err(DecapError::Outer(wire::Error::Malformed));
    }
    Ok((protocol, outer.traffic_class(), transport.offset..end))
}

/// Checks an inner IPv4 packet and applies the outer ECN; returns its length.
fn inner_ipv4(payload: &mut [u8], outer_tos: u8) -> Result<usize, DecapError> {
    let mut inner = Ipv4Packet::new_checked(payload).map_err(DecapError::Inner)?;
    if !inner.verify_checksum() {
        return Err(DecapError::Inner(wire::Error::BadChecksum));
    }
    let tos = inner.tos();
    let ecn = decapsulated_ecn(outer_tos & ECN_MASK, tos & ECN_MASK)?;
    if ecn != tos & ECN_MASK {
        inner.set_tos((tos & !ECN_MASK) | ecn);
        inner.fill_checksum();
    }
    Ok(usize::from(inner.total_len()))
}

/// Checks an inner IPv6 packet and applies the outer ECN; returns its length.
fn inner_ipv6(payload: &mut [u8], outer_tos: u8) -> Result<usize, DecapError> {
    let mut inner = Ipv6Packet::new_checked(payload).map_err(DecapError::Inner)?;
    let tc = inner.traffic_class();
    let ecn = decapsulated_ecn(outer_tos & ECN_MASK, tc & ECN_MASK)?;
    if ecn != tc & ECN_MASK {
        inner.set_traffic_class((tc & !ECN_MASK) | ecn);
    }
    Ok(wire::ipv6::HEADER_LEN + usize::from(inner.payload_len()))
}

/// The inner ECN field after decapsulation (RFC 6040 figure 4, as the kernel's
/// `INET_ECN_decapsulate`), given the outer and inner ECN fields.
pub fn decapsulated_ecn(outer: u8, inner: u8) -> Result<u8, DecapError> {
    let (outer, inner) = (outer & ECN_MASK, inner & ECN_MASK);
    Ok(match (outer, inner) {
        (ECN_CE, ECN_NOT_ECT) => return Err(DecapError::CongestedNotEct),
        (_, ECN_NOT_ECT) => ECN_NOT_ECT,
        (ECN_CE, _) => ECN_CE,
        (ECN_ECT_1, ECN_ECT_0) => ECN_ECT_1,
        (_, inner) => inner,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Inner IPv4: 198.18.0.1 → 198.18.0.100, UDP 40000 → 7000, TTL 64, DF, ident 0x1234,
    /// TOS 0, 4 payload bytes "ping", no UDP checksum. The header checksum is left 0 here
    /// ([`inner_v4`] fills it in: 0x9c0f with TOS 0).
    const INNER_V4: [u8; 32] = [
        0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 198, 18, 0, 1, 198,
        18, 0, 100, 0x9c, 0x40, 0x1b, 0x58, 0x00, 0x0c, 0x00, 0x00, b'p', b'i', b'n', b'g',
    ];

    /// `INNER_V4` with its IPv4 header checksum filled in and the given TOS.
    fn inner_v4(tos: u8) -> Vec<u8> {
        let mut bytes = INNER_V4.to_vec();
        let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
        packet.set_tos(tos);
        packet.fill_checksum();
        bytes
    }

    /// An outer IPv4 header 198.18.0.2 → 198.18.0.3, protocol `protocol`, TOS `tos`, TTL
    /// 63, ident 7, DF, in front of `payload`, with its checksum.
    fn outer_v4(protocol: u8, tos: u8, payload: &[u8]) -> Vec<u8> {
        let total = 20 + payload.len();
        let mut bytes = vec![
            0x45,
            tos,
            (total >> 8) as u8,
            total as u8,
            0x00,
            0x07,
            0x40,
            0x00,
            63,
            protocol,
            0,
            0,
            198,
            18,
            0,
            2,
            198,
            18,
            0,
            3,
        ];
        bytes.extend_from_slice(payload);
        Ipv4Packet::new_unchecked(&mut bytes[..]).fill_checksum();
        bytes
    }

    /// An IPv6 header 2001:db8::2 → 2001:db8::3, next header `next`, traffic class `tc`,
    /// hop limit 63, in front of `payload` (its payload length = `payload.len()`).
    fn outer_v6(next: u8, tc: u8, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut bytes = vec![
            0x60 | (tc >> 4),
            tc << 4,
            0,
            0,
            (len >> 8) as u8,
            len as u8,
            next,
            63,
        ];
        bytes.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        bytes.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        bytes.extend_from_slice(payload);
        bytes
    }

    /// Inner IPv6: 2001:db8::1 → 2001:db8::64, UDP (payload length 8), traffic class `tc`,
    /// hop limit 64, then 8 bytes of UDP header (checksum not checked here).
    fn inner_v6(tc: u8) -> Vec<u8> {
        let mut bytes = vec![0x60 | (tc >> 4), tc << 4, 0, 0, 0, 8, 17, 64];
        bytes.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        bytes.extend_from_slice(&[
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x64,
        ]);
        bytes.extend_from_slice(&[0x9c, 0x40, 0x1b, 0x58, 0x00, 0x08, 0x00, 0x00]);
        bytes
    }

    #[test]
    fn golden_ipip_packet() {
        // The whole tunnel packet, written out: outer 198.18.0.2 → 198.18.0.3 protocol 4,
        // then INNER_V4 with its checksum.
        let mut packet: [u8; 52] = [
            0x45, 0x00, 0x00, 0x34, 0x00, 0x07, 0x40, 0x00, 0x3f, 0x04, 0xaf, 0x95, 198, 18, 0, 2,
            198, 18, 0, 3, //
            0x45, 0x00, 0x00, 0x20, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x9c, 0x0f, 198, 18, 0, 1,
            198, 18, 0, 100, 0x9c, 0x40, 0x1b, 0x58, 0x00, 0x0c, 0x00, 0x00, b'p', b'i', b'n',
            b'g',
        ];
        assert_eq!(packet.to_vec(), outer_v4(4, 0, &inner_v4(0)));
        let found = decapsulate(&mut packet).unwrap();
        assert_eq!(
            found,
            Decapsulated {
                inner: 20..52,
                protocol: IpProtocol::IPIP
            }
        );
        assert_eq!(&packet[found.inner], &inner_v4(0)[..]);
    }

    /// One table row: a description, the bytes given to [`decapsulate`], and what must come
    /// out: the inner bytes, or the error.
    struct Case {
        description: &'static str,
        input: Vec<u8>,
        expected: Result<Vec<u8>, DecapError>,
    }

    fn cases() -> Vec<Case> {
        let v4 = inner_v4(0);
        let mut padded = outer_v4(4, 0, &v4);
        padded.extend_from_slice(&[0; 6]);
        let mut inner_trailer = v4.clone();
        inner_trailer.extend_from_slice(&[0xee; 3]);
        let mut bad_inner_csum = v4.clone();
        bad_inner_csum[10] ^= 0xff;
        let mut bad_outer = outer_v4(4, 0, &v4);
        bad_outer[10] ^= 0xff;
        let mut fragment = outer_v4(4, 0, &v4);
        fragment[6] = 0x20; // MF, offset 0
        Ipv4Packet::new_unchecked(&mut fragment[..]).fill_checksum();
        let mut short_inner = v4.clone();
        short_inner[3] = 0x40; // inner total length 64 > 32 bytes present
        Ipv4Packet::new_unchecked(&mut short_inner[..]).fill_checksum();
        // IPv6 with a destination options header (8 bytes, next header 4) before the IPIP
        // payload.
        let mut with_ext = vec![4, 0, 1, 4, 0, 0, 0, 0];
        with_ext.extend_from_slice(&v4);
        vec![
            Case {
                description: "IPv4 in IPv4",
                input: outer_v4(4, 0, &v4),
                expected: Ok(v4.clone()),
            },
            Case {
                description: "link padding after the outer packet is ignored",
                input: padded,
                expected: Ok(v4.clone()),
            },
            Case {
                description: "bytes after the inner packet's length are left out",
                input: outer_v4(4, 0, &inner_trailer),
                expected: Ok(v4.clone()),
            },
            Case {
                description: "IPv6 in IPv4 (protocol 41)",
                input: outer_v4(41, 0, &inner_v6(0)),
                expected: Ok(inner_v6(0)),
            },
            Case {
                description: "IPv4 in IPv6",
                input: outer_v6(4, 0, &v4),
                expected: Ok(v4.clone()),
            },
            Case {
                description: "IPv6 in IPv6",
                input: outer_v6(41, 0, &inner_v6(0)),
                expected: Ok(inner_v6(0)),
            },
            Case {
                description: "IPv4 in IPv6 behind a destination options header",
                input: outer_v6(60, 0, &with_ext),
                expected: Ok(v4.clone()),
            },
            Case {
                description: "outer CE on inner ECT(0) marks the inner CE, checksum redone",
                input: outer_v4(4, 0x03, &inner_v4(0xb8 | 0x02)),
                expected: Ok(inner_v4(0xb8 | 0x03)),
            },
            Case {
                description: "outer ECT(1) on inner ECT(0) gives ECT(1)",
                input: outer_v4(4, 0x01, &inner_v4(0x02)),
                expected: Ok(inner_v4(0x01)),
            },
            Case {
                description: "outer ECT(0) on inner not-ECT leaves it",
                input: outer_v4(4, 0x02, &v4),
                expected: Ok(v4.clone()),
            },
            Case {
                description: "outer CE on inner IPv6 ECT(1) marks it CE",
                input: outer_v4(41, 0x03, &inner_v6(0x01)),
                expected: Ok(inner_v6(0x03)),
            },
            Case {
                description: "outer CE on not-ECT inner is dropped",
                input: outer_v4(4, 0x03, &v4),
                expected: Err(DecapError::CongestedNotEct),
            },
            Case {
                description: "outer UDP is not a tunnel",
                input: outer_v4(17, 0, &v4),
                expected: Err(DecapError::NotTunnel(IpProtocol::UDP)),
            },
            Case {
                description: "protocol 4 carrying IPv6",
                input: outer_v4(4, 0, &inner_v6(0)),
                expected: Err(DecapError::WrongFamily {
                    protocol: IpProtocol::IPIP,
                    version: 6,
                }),
            },
            Case {
                description: "protocol 41 carrying IPv4",
                input: outer_v4(41, 0, &v4),
                expected: Err(DecapError::WrongFamily {
                    protocol: IpProtocol::IPV6,
                    version: 4,
                }),
            },
            Case {
                description: "empty tunnel payload",
                input: outer_v4(4, 0, &[]),
                expected: Err(DecapError::WrongFamily {
                    protocol: IpProtocol::IPIP,
                    version: 0,
                }),
            },
            Case {
                description: "outer fragment",
                input: fragment,
                expected: Err(DecapError::OuterFragment),
            },
            Case {
                description: "bad outer checksum",
                input: bad_outer,
                expected: Err(DecapError::Outer(wire::Error::BadChecksum)),
            },
            Case {
                description: "bad inner checksum",
                input: outer_v4(4, 0, &bad_inner_csum),
                expected: Err(DecapError::Inner(wire::Error::BadChecksum)),
            },
            Case {
                description: "inner length beyond the payload",
                input: outer_v4(4, 0, &short_inner),
                expected: Err(DecapError::Inner(wire::Error::Truncated)),
            },
            Case {
                description: "outer truncated",
                input: outer_v4(4, 0, &v4)[..30].to_vec(),
                expected: Err(DecapError::Outer(wire::Error::Truncated)),
            },
            Case {
                description: "empty buffer",
                input: Vec::new(),
                expected: Err(DecapError::Outer(wire::Error::Truncated)),
            },
            Case {
                description: "version 5",
                input: vec![0x55; 40],
                expected: Err(DecapError::Outer(wire::Error::Malformed)),
            },
        ]
    }

    #[test]
    fn table() {
        for case in cases() {
            let mut buffer = case.input.clone();
            let got = decapsulate(&mut buffer).map(|d| buffer[d.inner].to_vec());
            assert_eq!(got, case.expected, "{}", case.description);
        }
    }

    #[test]
    fn payload_form_matches_whole_packet_form() {
        let mut payload = inner_v4(0x02);
        let found = decapsulate_payload(IpProtocol::IPIP, 0x03, &mut payload).unwrap();
        assert_eq!(found.inner, 0..32);
        assert_eq!(payload, inner_v4(0x03));
        let mut payload = inner_v6(0);
        assert_eq!(
            decapsulate_payload(IpProtocol::UDP, 0, &mut payload),
            Err(DecapError::NotTunnel(IpProtocol::UDP))
        );
    }

    #[test]
    fn ecn_table_is_rfc6040_figure_4() {
        let names = ["Not-ECT", "ECT(1)", "ECT(0)", "CE"];
        // Rows: inner Not-ECT, ECT(1), ECT(0), CE; columns: outer Not-ECT, ECT(1), ECT(0), CE.
        let expected: [[Option<u8>; 4]; 4] = [
            [Some(0), Some(0), Some(0), None],
            [Some(1), Some(1), Some(1), Some(3)],
            [Some(2), Some(1), Some(2), Some(3)],
            [Some(3), Some(3), Some(3), Some(3)],
        ];
        for inner in 0..4u8 {
            for outer in 0..4u8 {
                let got = decapsulated_ecn(outer, inner).ok();
                assert_eq!(
                    got,
                    expected[usize::from(inner)][usize::from(outer)],
                    "inner {} outer {}",
                    names[usize::from(inner)],
                    names[usize::from(outer)]
                );
            }
        }
    }

    /// Every prefix and every single-byte corruption (three ways) of a few good packets is
    /// answered without panicking: no prefix decapsulates, and the corruptions that do are
    /// counted and pinned (they change bytes no check covers, such as the outer IPv6 header's
    /// flow label, hop limit and addresses, or the inner transport header and payload).
    #[test]
    fn malformed_inputs_are_refused_without_panic() {
        let goods = [
            outer_v4(4, 0, &inner_v4(0)),
            outer_v4(41, 0, &inner_v6(0)),
            outer_v6(4, 0, &inner_v4(0)),
        ];
        let mut prefixes_accepted = 0;
        let mut corruptions_accepted = 0;
        let mut tried = 0;
        for good in &goods {
            for len in 0..good.len() {
                let mut prefix = good[..len].to_vec();
                tried += 1;
                if decapsulate(&mut prefix).is_ok() {
                    prefixes_accepted += 1;
                }
            }
            for at in 0..good.len() {
                for flip in [0x01u8, 0x80, 0xff] {
                    let mut bytes = good.clone();
                    bytes[at] ^= flip;
                    tried += 1;
                    if let Ok(d) = decapsulate(&mut bytes) {
                        assert!(d.inner.start <= d.inner.end && d.inner.end <= bytes.len());
                        corruptions_accepted += 1;
                    }
                }
            }
        }
        assert_eq!(tried, (52 + 68 + 72) * 4);
        assert_eq!(prefixes_accepted, 0);
        assert_eq!(corruptions_accepted, ACCEPTED_CORRUPTIONS);
    }

    /// How many of the corrupted packets of
    /// [`malformed_inputs_are_refused_without_panic`] still decapsulate.
    const ACCEPTED_CORRUPTIONS: usize = 316;
}

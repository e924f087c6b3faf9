//! The walk over IPv6 extension headers to the transport header, as the kernel's
//! `ipv6_find_hdr` does it for IPVS (net/ipv6/exthdrs_core.c, called with no flags): hop-by-hop,
//! routing, destination options, fragment and authentication headers are skipped; the first
//! other next-header value (a transport protocol, ESP, or "no next header") ends the walk.
//!
//! A non-first fragment carries no transport header: the walk stops at its fragment header
//! and reports the fragment header's next-header value and the offset of the fragment data.
//! A non-first fragment whose next header is another extension header is malformed (the
//! kernel answers `-ENOENT`). Every header must lie inside the given bytes; since each one is
//! at least 8 bytes long, the walk ends after at most `len / 8` steps.

use super::error::{Error, Result};
use super::field::{read_u16, read_u32};
use super::ip::IpProtocol;

/// The length of an IPv6 fragment header.
pub const FRAGMENT_HEADER_LEN: usize = 8;

/// Whether `protocol` is an extension header the walk skips.
pub fn is_extension_header(protocol: IpProtocol) -> bool {
    matches!(
        protocol,
        IpProtocol::HOP_BY_HOP
            | IpProtocol::IPV6_ROUTING
            | IpProtocol::IPV6_FRAGMENT
            | IpProtocol::AH
            | IpProtocol::IPV6_DEST_OPTS
    )
}

/// What an IPv6 fragment header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Fragment {
    /// Offset of this fragment's data in the original payload, in bytes.
    pub offset: u16,
    /// More-fragments flag.
    pub more_frags: bool,
    /// Identification.
    pub ident: u32,
    /// Where the fragment header starts (from the start of the IPv6 header).
    pub header_offset: usize,
}

impl Ipv6Fragment {
    /// Whether this is the first fragment (offset 0), which holds the transport header.
    pub fn is_first(&self) -> bool {
        self.offset == 0
    }
}

/// Where an IPv6 packet's transport header is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Transport {
    /// The final next-header value: the transport protocol (or ESP, or "no next header").
    pub protocol: IpProtocol,
    /// Where the transport header starts, from the start of the IPv6 header. For a non-first
    /// fragment, where the fragment's data starts.
    pub offset: usize,
    /// The fragment header, if the packet is a fragment (the last one met, if several).
    pub fragment: Option<Ipv6Fragment>,
}

impl Ipv6Transport {
    /// Whether `offset` points at a transport header (not the middle of a fragmented payload).
    pub fn has_transport_header(&self) -> bool {
        self.fragment.is_none_or(|f| f.is_first())
    }
}

/// Walks the extension headers in `data` (the IPv6 payload), the first one being of type
/// `first` (the IPv6 header's next header). `base` is added to every reported offset (40 to
/// count from the IPv6 header).
///
/// [`Error::Truncated`] if a header runs past `data`; [`Error::Malformed`] for a non-first
/// fragment followed by another extension header.
pub fn walk(first: IpProtocol, data: &[u8], base: usize) -> Result<Ipv6Transport> {
    let mut next = first;
    let mut at = 0usize;
    let mut fragment = None;
    while is_extension_header(next) {
        let rest = data.get(at..).unwrap_or(&[]);
        if rest.len() < 2 {
            return Err(Error::Truncated);
        }
        let following = IpProtocol(rest[0]);
        let len = match next {
            IpProtocol::IPV6_FRAGMENT => {
                if rest.len() < FRAGMENT_HEADER_LEN {
                    return Err(Error::Truncated);
                }
                let off_flags = read_u16(rest, 2);
                let frag = Ipv6Fragment {
                    offset: off_flags & !0x7,
                    more_frags: off_flags & 0x1 != 0,
                    ident: read_u32(rest, 4),
                    header_offset: base + at,
                };
                fragment = Some(frag);
                if !frag.is_first() {
                    if is_extension_header(following) {
                        return Err(Error::Malformed);
                    }
                    return Ok(Ipv6Transport {
                        protocol: following,
                        offset: base + at + FRAGMENT_HEADER_LEN,
                        fragment,
                    });
                }
                FRAGMENT_HEADER_LEN
            }
            IpProtocol::AH => (usize::from(rest[1]) + 2) * 4,
            _ => (usize::from(rest[1]) + 1) * 8,
        };
        if rest.len() < len {
            return Err(Error::Truncated);
        }
        at += len;
        next = following;
    }
    Ok(Ipv6Transport {
        protocol: next,
        offset: base + at,
        fragment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_extension_headers() {
        let t = walk(IpProtocol::TCP, &[0; 20], 40).unwrap();
        assert_eq!(
            t,
            Ipv6Transport {
                protocol: IpProtocol::TCP,
                offset: 40,
                fragment: None
            }
        );
        assert!(t.has_transport_header());
        // The transport header itself is not checked here.
        assert_eq!(walk(IpProtocol::UDP, &[], 40).unwrap().offset, 40);
    }

    #[test]
    fn every_kind_in_a_chain() {
        let mut data = Vec::new();
        // hop-by-hop, 8 bytes: next = routing
        data.extend_from_slice(&[43, 0, 1, 4, 0, 0, 0, 0]);
        // routing, 24 bytes (len 2): next = dest opts
        data.extend_from_slice(&[60, 2, 0, 0, 0, 0, 0, 0]);
        data.extend_from_slice(&[0; 16]);
        // destination options, 8 bytes: next = AH
        data.extend_from_slice(&[51, 0, 1, 4, 0, 0, 0, 0]);
        // AH, (4 + 2) * 4 = 24 bytes: next = fragment
        data.extend_from_slice(&[44, 4, 0, 0]);
        data.extend_from_slice(&[0; 20]);
        // fragment, first, MF, ident 0xdeadbeef: next = UDP
        data.extend_from_slice(&[17, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef]);
        data.extend_from_slice(&[0; 8]);
        let t = walk(IpProtocol::HOP_BY_HOP, &data, 40).unwrap();
        assert_eq!(
            t,
            Ipv6Transport {
                protocol: IpProtocol::UDP,
                offset: 40 + 72,
                fragment: Some(Ipv6Fragment {
                    offset: 0,
                    more_frags: true,
                    ident: 0xdead_beef,
                    header_offset: 40 + 64
                }),
            }
        );
        assert!(t.has_transport_header());
        // Every strict prefix that cuts a header is truncated.
        for len in 0..72 {
            assert_eq!(
                walk(IpProtocol::HOP_BY_HOP, &data[..len], 40),
                Err(Error::Truncated),
                "{len}"
            );
        }
    }

    #[test]
    fn non_first_fragment_stops_at_its_header() {
        // offset 185 * 8 = 1480, no MF, next = TCP; the data is not a TCP header.
        let data = [6, 0, 0x05, 0xc8, 0, 0, 0, 7, 1, 2, 3, 4];
        let t = walk(IpProtocol::IPV6_FRAGMENT, &data, 40).unwrap();
        assert_eq!(
            t,
            Ipv6Transport {
                protocol: IpProtocol::TCP,
                offset: 48,
                fragment: Some(Ipv6Fragment {
                    offset: 1480,
                    more_frags: false,
                    ident: 7,
                    header_offset: 40
                }),
            }
        );
        assert!(!t.has_transport_header());
    }

    #[test]
    fn non_first_fragment_before_another_extension_is_malformed() {
        let data = [60, 0, 0x00, 0x08, 0, 0, 0, 1, 6, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            walk(IpProtocol::IPV6_FRAGMENT, &data, 40),
            Err(Error::Malformed)
        );
    }

    #[test]
    fn esp_and_no_next_header_end_the_walk() {
        let data = [50, 0, 0, 0, 0, 0, 0, 0, 0xAA];
        let t = walk(IpProtocol::IPV6_DEST_OPTS, &data, 0).unwrap();
        assert_eq!((t.protocol, t.offset), (IpProtocol::ESP, 8));
        let t = walk(IpProtocol::IPV6_NO_NEXT_HEADER, &data, 40).unwrap();
        assert_eq!(
            (t.protocol, t.offset),
            (IpProtocol::IPV6_NO_NEXT_HEADER, 40)
        );
    }

    #[test]
    fn long_chains_terminate() {
        // 1000 destination-options headers pointing at each other, then nothing.
        let mut data = Vec::new();
        for _ in 0..1000 {
            data.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
        }
        assert_eq!(
            walk(IpProtocol::IPV6_DEST_OPTS, &data, 40),
            Err(Error::Truncated)
        );
        let last = data.len() - 8;
        data[last] = 6;
        assert_eq!(
            walk(IpProtocol::IPV6_DEST_OPTS, &data, 40).unwrap().offset,
            8040
        );
    }
}

//! Direct routing (spec §7.2): only the TTL and the Ethernet addresses change. Tables of
//! {description, input, expected} with expected frames built by etherparse.

mod rewrite_support;

use lb_io::rewrite::{direct_route, RewriteError};
use rewrite_support::*;

#[test]
fn every_family_protocol_and_shape() {
    let mut count = 0;
    for family in FAMILIES {
        for l4 in [L4::Tcp, L4::Udp, L4::UdpNoCsum, L4::Sctp, L4::Echo] {
            for vlans in [Vlans::None, Vlans::Single(7), Vlans::Double(1, 2)] {
                for exts in [false, true] {
                    if exts && family == Family::V4 {
                        continue;
                    }
                    let desc = format!("DR {family:?} {l4:?} {vlans:?} exts={exts}");
                    let input = Spec {
                        vlans,
                        v6_exts: exts,
                        ..Spec::request(family, l4)
                    };
                    // Everything kept but the TTL and the Ethernet addresses; a UDP
                    // checksum of 0 stays 0.
                    let expected = Spec {
                        src_mac: DIRECTOR_MAC,
                        dst_mac: RS_MAC,
                        ttl: 63,
                        ..input.clone()
                    }
                    .build();
                    let mut frame = input.build();
                    let len = direct_route(&mut frame, &fwd(RS_MAC, 1500))
                        .unwrap_or_else(|e| panic!("{desc}: {e}"));
                    assert_frame(&desc, &frame[..len], &expected);
                    // DR forwards an IPv6 datagram without checksum as it came.
                    verify_frame(&frame[..len], l4 == L4::UdpNoCsum);
                    count += 1;
                }
            }
        }
    }
    assert_eq!(count, 45);
}

#[test]
fn transmit_preamble_errors() {
    let big = vec![0u8; 1600];
    let cases: Vec<(&str, Spec, u32, Option<RewriteError>, u8)> = vec![
        (
            "TTL 1",
            Spec {
                ttl: 1,
                ..Spec::request(Family::V4, L4::Tcp)
            },
            1500,
            Some(RewriteError::TtlExceeded),
            1,
        ),
        (
            "hop limit 0",
            Spec {
                ttl: 0,
                ..Spec::request(Family::V6, L4::Udp)
            },
            1500,
            Some(RewriteError::TtlExceeded),
            0,
        ),
        (
            "DF, too big",
            Spec {
                payload: big.clone(),
                ..Spec::request(Family::V4, L4::Udp)
            },
            1500,
            Some(RewriteError::TooBig {
                mtu: 1500,
                icmp: true,
            }),
            63,
        ),
        (
            "no DF, too big",
            Spec {
                payload: big.clone(),
                dont_frag: false,
                ..Spec::request(Family::V4, L4::Udp)
            },
            1500,
            Some(RewriteError::NeedsFragmenting { mtu: 1500 }),
            63,
        ),
        (
            "IPv6 too big",
            Spec {
                payload: big.clone(),
                ..Spec::request(Family::V6, L4::Tcp)
            },
            1500,
            Some(RewriteError::TooBig {
                mtu: 1500,
                icmp: true,
            }),
            63,
        ),
        (
            "exactly the MTU",
            Spec {
                payload: vec![0; 1500 - 20 - 8],
                ..Spec::request(Family::V4, L4::Udp)
            },
            1500,
            None,
            63,
        ),
    ];
    for (desc, spec, mtu, expected, ttl_after) in cases {
        let mut frame = spec.build();
        let got = direct_route(&mut frame, &fwd(RS_MAC, mtu));
        match expected {
            None => assert_eq!(got, Ok(frame.len()), "{desc}"),
            Some(e) => assert_eq!(got, Err(e), "{desc}"),
        }
        let ttl_at = l2_len(&frame) + if spec.family() == Family::V4 { 8 } else { 7 };
        assert_eq!(frame[ttl_at], ttl_after, "{desc}");
        verify_frame(&frame, false);
    }
}

/// ICMP errors relayed to a DR real server are never answered: too big, IPv4 ones go out
/// to be fragmented even with DF, IPv6 ones are dropped silently.
#[test]
fn relayed_icmp_errors_are_never_answered() {
    for family in FAMILIES {
        let offending = Spec {
            payload: vec![0; 1400],
            ..Spec::reply(family, L4::Tcp)
        }
        .build();
        let l3 = l2_len(&offending);
        let quoted = &offending[l3..];
        let mut frame = Vec::new();
        let client_spec = Spec::request(family, L4::Tcp);
        let eth = etherparse::PacketBuilder::ethernet2(GATEWAY_MAC, DIRECTOR_MAC);
        match (client_spec.src, client_spec.dst) {
            (std::net::IpAddr::V4(s), std::net::IpAddr::V4(d)) => eth
                .ipv4(s.octets(), d.octets(), 64)
                .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                    etherparse::icmpv4::DestUnreachableHeader::Port,
                ))
                .write(&mut frame, quoted)
                .unwrap(),
            (std::net::IpAddr::V6(s), std::net::IpAddr::V6(d)) => eth
                .ipv6(s.octets(), d.octets(), 64)
                .icmpv6(etherparse::Icmpv6Type::DestinationUnreachable(
                    etherparse::icmpv6::DestUnreachableCode::Port,
                ))
                .write(&mut frame, quoted)
                .unwrap(),
            _ => unreachable!(),
        }
        let got = direct_route(&mut frame, &fwd(RS_MAC, 1280));
        let expected = match family {
            Family::V4 => RewriteError::NeedsFragmenting { mtu: 1280 },
            Family::V6 => RewriteError::TooBig {
                mtu: 1280,
                icmp: false,
            },
        };
        assert_eq!(got, Err(expected), "{family:?}");
    }
}

/// Golden bytes: a DNS query 198.18.0.10:40000 → 198.18.1.1:53 sent to a DR real server.
#[test]
fn golden_dr_udp_v4() {
    let mut frame = Spec {
        dport: 53,
        ds: 0,
        ident: 0x0101,
        payload: b"dns".to_vec(),
        ..Spec::request(Family::V4, L4::Udp)
    }
    .build();
    let len = direct_route(&mut frame, &fwd(RS_MAC, 1500)).unwrap();
    #[rustfmt::skip]
    let golden: [u8; 45] = [
        0x02, 0x5e, 0x00, 0x00, 0x00, 0x01, 0x02, 0xd1, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
        // IPv4: length 31, ident 0x0101, DF, TTL 63, UDP, checksum 0xad9d
        0x45, 0x00, 0x00, 0x1f, 0x01, 0x01, 0x40, 0x00, 0x3f, 0x11, 0xad, 0x9d,
        198, 18, 0, 10, 198, 18, 1, 1,
        // UDP 40000 → 53, length 11, checksum 0xfec3 (unchanged), "dns"
        0x9c, 0x40, 0x00, 0x35, 0x00, 0x0b, 0xfe, 0xc3, b'd', b'n', b's',
    ];
    assert_frame("golden DR", &frame[..len], &golden);
}

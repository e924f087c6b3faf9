//! ICMP errors about NAT connections (spec §7.6): the quoted flow read for the lookup, and
//! the translation both ways. Expected frames are built with etherparse; every frame is
//! parsed again and its checksums recomputed from scratch.

mod rewrite_support;

use std::net::IpAddr;

use etherparse::{icmpv4, icmpv6, PacketBuilder};
use lb_io::rewrite::{
    icmp_embedded_flow, icmp_relay_to_client, icmp_relay_to_server, EmbeddedFlow, NatTarget,
    RewriteError,
};
use lb_io::wire::IpProtocol;
use rewrite_support::*;

/// An ICMP / ICMPv6 "destination unreachable" (IPv4 code 1 host, IPv6 code 3 address) from
/// `src` to `dst`, TTL 64, quoting `quote`, in an Ethernet frame from `eth_src` to us.
fn unreachable_frame(eth_src: [u8; 6], src: IpAddr, dst: IpAddr, quote: &[u8]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(eth_src, DIRECTOR_MAC);
    let mut out = Vec::new();
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => eth
            .ipv4(s.octets(), d.octets(), 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                icmpv4::DestUnreachableHeader::Host,
            ))
            .write(&mut out, quote)
            .unwrap(),
        (IpAddr::V6(s), IpAddr::V6(d)) => eth
            .ipv6(s.octets(), d.octets(), 64)
            .icmpv6(etherparse::Icmpv6Type::DestinationUnreachable(
                icmpv6::DestUnreachableCode::Address,
            ))
            .write(&mut out, quote)
            .unwrap(),
        _ => unreachable!(),
    }
    out
}

/// The IP packet of `spec`, cut to its headers and 8 bytes of transport (`cut`), or whole.
fn quote_of(spec: &Spec, cut: bool) -> Vec<u8> {
    let frame = spec.build();
    let l3 = l2_len(&frame);
    let l4 = transport_offset(&frame);
    if cut {
        frame[l3..l4 + 8].to_vec()
    } else {
        frame[l3..].to_vec()
    }
}

/// `new`'s quote, but with the transport checksum bytes of `old`'s (the kernel does not
/// update the quoted transport checksum).
fn with_old_l4_checksum(new: &Spec, old: &Spec, cut: bool) -> Vec<u8> {
    let mut q = quote_of(new, cut);
    let o = quote_of(old, cut);
    let l4 = transport_offset(&new.build()) - l2_len(&new.build());
    let at = l4
        + match new.l4 {
            L4::Tcp => 16,
            L4::Udp | L4::UdpNoCsum => 6,
            L4::Sctp => 8,
            L4::Echo => 2,
        };
    let width = if new.l4 == L4::Sctp { 4 } else { 2 };
    if at + width <= q.len() {
        q[at..at + width].copy_from_slice(&o[at..at + width]);
    }
    q
}

fn addrs(family: Family) -> (IpAddr, IpAddr, IpAddr) {
    match family {
        Family::V4 => (CIP4.into(), VIP4.into(), RIP4.into()),
        Family::V6 => (cip6().into(), vip6().into(), rip6().into()),
    }
}

/// From the real server's side about a client packet (client → RIP:8080 after NAT): to the
/// client, from the VIP, quoting client → VIP:80.
#[test]
fn relay_to_client_every_family_protocol_and_quote() {
    for family in FAMILIES {
        let (cip, vip, rip) = addrs(family);
        for l4 in [L4::Tcp, L4::Udp, L4::Sctp] {
            for cut in [false, true] {
                let desc = format!("to client {family:?} {l4:?} cut={cut}");
                let natted = Spec {
                    dst: rip,
                    dport: 8080,
                    ttl: 63,
                    ..Spec::request(family, l4)
                };
                let input = unreachable_frame(RS_MAC, rip, cip, &quote_of(&natted, cut));
                let original = Spec {
                    dst: vip,
                    dport: 80,
                    ..natted.clone()
                };
                let expected_quote = with_old_l4_checksum(&original, &natted, cut);
                let mut expected = unreachable_frame(DIRECTOR_MAC, vip, cip, &expected_quote);
                expected[..6].copy_from_slice(&GATEWAY_MAC);
                let ttl_at = 14 + if family == Family::V4 { 8 } else { 7 };
                expected[ttl_at] = 63;
                if family == Family::V4 {
                    expected[24..26].copy_from_slice(&[0, 0]);
                    let sum = ref_checksum(&expected[14..34]);
                    expected[24..26].copy_from_slice(&sum.to_be_bytes());
                }
                let mut frame = input.clone();
                let len = icmp_relay_to_client(
                    &mut frame,
                    NatTarget {
                        addr: vip,
                        port: 80,
                    },
                    &fwd(GATEWAY_MAC, 1500),
                )
                .unwrap_or_else(|e| panic!("{desc}: {e}"));
                assert_frame(&desc, &frame[..len], &expected);
                verify_frame(&frame[..len], false);
            }
        }
    }
}

/// From the client's side about a reply (VIP:80 → client): to the real server, quoting
/// RIP:8080 → client.
#[test]
fn relay_to_server_every_family_protocol_and_quote() {
    for family in FAMILIES {
        let (cip, vip, rip) = addrs(family);
        for l4 in [L4::Tcp, L4::Udp, L4::Sctp] {
            for cut in [false, true] {
                let desc = format!("to server {family:?} {l4:?} cut={cut}");
                let sent = Spec {
                    src: vip,
                    sport: 80,
                    ..Spec::reply(family, l4)
                };
                let input = unreachable_frame(GATEWAY_MAC, cip, vip, &quote_of(&sent, cut));
                let original = Spec {
                    src: rip,
                    sport: 8080,
                    ..sent.clone()
                };
                let expected_quote = with_old_l4_checksum(&original, &sent, cut);
                let mut expected = unreachable_frame(DIRECTOR_MAC, cip, rip, &expected_quote);
                expected[..6].copy_from_slice(&RS_MAC);
                let ttl_at = 14 + if family == Family::V4 { 8 } else { 7 };
                expected[ttl_at] = 63;
                if family == Family::V4 {
                    expected[24..26].copy_from_slice(&[0, 0]);
                    let sum = ref_checksum(&expected[14..34]);
                    expected[24..26].copy_from_slice(&sum.to_be_bytes());
                }
                let mut frame = input.clone();
                let len = icmp_relay_to_server(
                    &mut frame,
                    NatTarget {
                        addr: rip,
                        port: 8080,
                    },
                    &fwd(RS_MAC, 1500),
                )
                .unwrap_or_else(|e| panic!("{desc}: {e}"));
                assert_frame(&desc, &frame[..len], &expected);
                verify_frame(&frame[..len], false);
            }
        }
    }
}

#[test]
fn embedded_flow_of_every_family_and_protocol() {
    for family in FAMILIES {
        let (cip, vip, _) = addrs(family);
        for l4 in [L4::Tcp, L4::Udp, L4::Sctp, L4::Echo] {
            for exts in [false, true] {
                if exts && family == Family::V4 {
                    continue;
                }
                let sent = Spec {
                    src: vip,
                    sport: 80,
                    v6_exts: exts,
                    ..Spec::reply(family, l4)
                };
                let frame = unreachable_frame(GATEWAY_MAC, cip, vip, &quote_of(&sent, true));
                let (icmp_type, icmp_code, protocol) = match (family, l4) {
                    (Family::V4, L4::Tcp) => (3, 1, IpProtocol::TCP),
                    (Family::V4, L4::Udp) => (3, 1, IpProtocol::UDP),
                    (Family::V4, L4::Sctp) => (3, 1, IpProtocol::SCTP),
                    (Family::V4, _) => (3, 1, IpProtocol::ICMP),
                    (Family::V6, L4::Tcp) => (1, 3, IpProtocol::TCP),
                    (Family::V6, L4::Udp) => (1, 3, IpProtocol::UDP),
                    (Family::V6, L4::Sctp) => (1, 3, IpProtocol::SCTP),
                    (Family::V6, _) => (1, 3, IpProtocol::ICMPV6),
                };
                let ports = if l4 == L4::Echo {
                    None
                } else {
                    Some((80, 40000))
                };
                assert_eq!(
                    icmp_embedded_flow(&frame),
                    Ok(EmbeddedFlow {
                        icmp_type,
                        icmp_code,
                        icmp_info: 0,
                        protocol,
                        src_addr: vip,
                        dst_addr: cip,
                        ports,
                        dont_frag: family == Family::V4,
                    }),
                    "{family:?} {l4:?} exts={exts}"
                );
            }
        }
    }
}

#[test]
fn embedded_flow_details() {
    let (cip, vip, _) = addrs(Family::V4);
    let sent = Spec {
        src: vip,
        sport: 80,
        ..Spec::reply(Family::V4, L4::Udp)
    };
    // A frag-needed carries its MTU in the info.
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(GATEWAY_MAC, DIRECTOR_MAC)
        .ipv4(cip4_octets(cip), cip4_octets(vip), 64)
        .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
            icmpv4::DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1400 },
        ))
        .write(&mut frame, &quote_of(&sent, true))
        .unwrap();
    let flow = icmp_embedded_flow(&frame).unwrap();
    assert_eq!(
        (flow.icmp_type, flow.icmp_code, flow.icmp_info),
        (3, 4, 1400)
    );

    // A quote cut before the ports: no ports.
    let short = &quote_of(&sent, true)[..22];
    let frame = unreachable_frame(GATEWAY_MAC, cip, vip, short);
    assert_eq!(icmp_embedded_flow(&frame).unwrap().ports, None);

    // A quoted later fragment: no ports.
    let mut quote = quote_of(&sent, true);
    quote[6..8].copy_from_slice(&[0x00, 0x20]);
    let frame = unreachable_frame(GATEWAY_MAC, cip, vip, &quote);
    assert_eq!(icmp_embedded_flow(&frame).unwrap().ports, None);

    // A quote shorter than an IP header.
    let frame = unreachable_frame(GATEWAY_MAC, cip, vip, &quote_of(&sent, true)[..19]);
    assert_eq!(
        icmp_embedded_flow(&frame),
        Err(RewriteError::Malformed(lb_io::wire::Error::Truncated))
    );

    // Bad ICMP checksum.
    let mut frame = unreachable_frame(GATEWAY_MAC, cip, vip, &quote_of(&sent, true));
    frame[14 + 20 + 2] ^= 0x01;
    assert_eq!(
        icmp_embedded_flow(&frame),
        Err(RewriteError::BadIcmpChecksum)
    );
    let before = frame.clone();
    assert_eq!(
        icmp_relay_to_server(
            &mut frame,
            NatTarget {
                addr: RIP4.into(),
                port: 8080
            },
            &fwd(RS_MAC, 1500)
        ),
        Err(RewriteError::BadIcmpChecksum)
    );
    assert_eq!(frame, before);
}

fn cip4_octets(a: IpAddr) -> [u8; 4] {
    match a {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(_) => unreachable!(),
    }
}

/// Only the errors IPVS relates to connections: IPv4 unreachable, source quench, time
/// exceeded; every ICMPv6 error.
#[test]
fn related_types() {
    let (cip, vip, _) = addrs(Family::V4);
    let quote = quote_of(
        &Spec {
            src: vip,
            sport: 80,
            ..Spec::reply(Family::V4, L4::Tcp)
        },
        true,
    );
    for (t, related) in [
        (0u8, false),
        (3, true),
        (4, true),
        (5, false),
        (8, false),
        (11, true),
        (12, false),
    ] {
        let mut frame = Vec::new();
        PacketBuilder::ethernet2(GATEWAY_MAC, DIRECTOR_MAC)
            .ipv4(cip4_octets(cip), cip4_octets(vip), 64)
            .icmpv4_raw(t, 0, [0; 4])
            .write(&mut frame, &quote)
            .unwrap();
        assert_eq!(icmp_embedded_flow(&frame).is_ok(), related, "ICMP type {t}");
        if !related {
            assert_eq!(
                icmp_embedded_flow(&frame),
                Err(RewriteError::NotRelatedIcmp)
            );
        }
    }
    let (cip, vip, _) = addrs(Family::V6);
    let quote = quote_of(
        &Spec {
            src: vip,
            sport: 80,
            ..Spec::reply(Family::V6, L4::Tcp)
        },
        true,
    );
    for (t, related) in [
        (1u8, true),
        (2, true),
        (3, true),
        (4, true),
        (127, true),
        (128, false),
        (135, false),
    ] {
        let mut frame = Vec::new();
        let (IpAddr::V6(c), IpAddr::V6(v)) = (cip, vip) else {
            unreachable!()
        };
        PacketBuilder::ethernet2(GATEWAY_MAC, DIRECTOR_MAC)
            .ipv6(c.octets(), v.octets(), 64)
            .icmpv6_raw(t, 0, [0; 4])
            .write(&mut frame, &quote)
            .unwrap();
        assert_eq!(
            icmp_embedded_flow(&frame).is_ok(),
            related,
            "ICMPv6 type {t}"
        );
    }
    // Not ICMP at all.
    let tcp = Spec::request(Family::V4, L4::Tcp).build();
    assert_eq!(icmp_embedded_flow(&tcp), Err(RewriteError::NotRelatedIcmp));
}

#[test]
fn relay_errors() {
    let (cip, vip, rip) = addrs(Family::V4);
    let sent = Spec {
        src: vip,
        sport: 80,
        ..Spec::reply(Family::V4, L4::Tcp)
    };
    let frame = unreachable_frame(GATEWAY_MAC, cip, vip, &quote_of(&sent, false));
    let rs = NatTarget {
        addr: rip,
        port: 8080,
    };
    // TTL 1: untouched.
    let mut f = frame.clone();
    f[22] = 1;
    f[24..26].copy_from_slice(&[0, 0]);
    let sum = ref_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&sum.to_be_bytes());
    let before = f.clone();
    assert_eq!(
        icmp_relay_to_server(&mut f, rs, &fwd(RS_MAC, 1500)),
        Err(RewriteError::TtlExceeded)
    );
    assert_eq!(f, before);
    // Too big: relayed ICMP is never answered; over IPv4 it is to be fragmented.
    let mut f = frame.clone();
    assert_eq!(
        icmp_relay_to_server(&mut f, rs, &fwd(RS_MAC, 60)),
        Err(RewriteError::NeedsFragmenting { mtu: 60 })
    );
    let mut f = frame.clone();
    assert_eq!(
        icmp_relay_to_client(
            &mut f,
            NatTarget {
                addr: vip,
                port: 80
            },
            &fwd(GATEWAY_MAC, 60)
        ),
        Err(RewriteError::NeedsFragmenting { mtu: 60 })
    );
    assert_eq!(f, frame, "to client: checked before anything changes");
    // IPv6 too big: dropped silently.
    let (cip6, vip6, rip6) = addrs(Family::V6);
    let sent6 = Spec {
        src: vip6,
        sport: 80,
        payload: vec![0; 1200],
        ..Spec::reply(Family::V6, L4::Udp)
    };
    let mut f = unreachable_frame(GATEWAY_MAC, cip6, vip6, &quote_of(&sent6, false));
    assert_eq!(
        icmp_relay_to_server(
            &mut f,
            NatTarget {
                addr: rip6,
                port: 8080
            },
            &fwd(RS_MAC, 1280)
        ),
        Err(RewriteError::TooBig {
            mtu: 1280,
            icmp: false
        })
    );
    // Family mismatch.
    let mut f = frame.clone();
    assert_eq!(
        icmp_relay_to_server(
            &mut f,
            NatTarget {
                addr: rip6,
                port: 8080
            },
            &fwd(RS_MAC, 1500)
        ),
        Err(RewriteError::FamilyMismatch)
    );
}

/// Golden bytes: host unreachable from the client 198.18.0.10 about the reply
/// 198.18.1.1:80 → 198.18.0.10:40000 (IP header and 8 bytes quoted), relayed to the real
/// server 198.19.0.21:8080.
#[test]
fn golden_relay_to_server_v4() {
    let sent = Spec {
        src: VIP4.into(),
        sport: 80,
        ds: 0,
        ident: 0x2222,
        payload: vec![],
        ..Spec::reply(Family::V4, L4::Tcp)
    };
    let mut frame = unreachable_frame(
        GATEWAY_MAC,
        CIP4.into(),
        VIP4.into(),
        &quote_of(&sent, true),
    );
    let len = icmp_relay_to_server(
        &mut frame,
        NatTarget {
            addr: RIP4.into(),
            port: 8080,
        },
        &fwd(RS_MAC, 1500),
    )
    .unwrap();
    #[rustfmt::skip]
    let golden: [u8; 70] = [
        0x02, 0x5e, 0x00, 0x00, 0x00, 0x01, 0x02, 0xd1, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
        // outer: 198.18.0.10 → 198.19.0.21 (was the VIP), TTL 63, ICMP
        0x45, 0x00, 0x00, 0x38, 0x00, 0x00, 0x40, 0x00, 0x3f, 0x01, 0xaf, 0x80,
        198, 18, 0, 10, 198, 19, 0, 21,
        // ICMP 3/1 host unreachable, checksum recomputed
        0x03, 0x01, 0x3d, 0x28, 0x00, 0x00, 0x00, 0x00,
        // quoted: 198.19.0.21 → 198.18.0.10 (was the VIP), header checksum recomputed
        0x45, 0x00, 0x00, 0x28, 0x22, 0x22, 0x40, 0x00, 0x40, 0x06, 0x8c, 0x69,
        198, 19, 0, 21, 198, 18, 0, 10,
        // quoted TCP: 8080 (was 80) → 40000, sequence number
        0x1f, 0x90, 0x9c, 0x40, 0x01, 0x02, 0x03, 0x04,
    ];
    assert_frame("golden relay", &frame[..len], &golden);
}

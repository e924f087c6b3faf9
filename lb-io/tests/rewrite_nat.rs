//! NAT rewrites (spec §7.1), Katran style: tables of {description, input frame, expected
//! frame or error}; expected frames are built independently with etherparse, and every frame
//! emitted is parsed again with all its checksums recomputed from scratch.

mod rewrite_support;

use std::net::{IpAddr, Ipv4Addr};

use lb_io::rewrite::{nat_in, nat_out, NatTarget, RewriteError};
use lb_io::wire::Error as WireError;
use rewrite_support::*;

/// The real server a request is sent to: RIP:8080.
fn rs_target(family: Family) -> NatTarget {
    NatTarget {
        addr: match family {
            Family::V4 => IpAddr::V4(RIP4),
            Family::V6 => IpAddr::V6(rip6()),
        },
        port: 8080,
    }
}

/// The virtual service a reply comes from: VIP:80.
fn vip_target(family: Family) -> NatTarget {
    NatTarget {
        addr: match family {
            Family::V4 => IpAddr::V4(VIP4),
            Family::V6 => IpAddr::V6(vip6()),
        },
        port: 80,
    }
}

/// What a UDP packet sent without checksum looks like after NAT: with a full checksum.
fn with_checksum(l4: L4) -> L4 {
    if l4 == L4::UdpNoCsum {
        L4::Udp
    } else {
        l4
    }
}

struct Case {
    desc: String,
    input: Vec<u8>,
    expected: Result<Vec<u8>, RewriteError>,
}

fn run_in(cases: &[Case], target: impl Fn(&Case) -> NatTarget, mtu: u32) {
    for case in cases {
        let mut frame = case.input.clone();
        let got = nat_in(&mut frame, target(case), &fwd(RS_MAC, mtu));
        match &case.expected {
            Ok(want) => {
                let len = got.unwrap_or_else(|e| panic!("{}: {e}", case.desc));
                assert_frame(&case.desc, &frame[..len], want);
                verify_frame(&frame[..len], false);
            }
            Err(e) => assert_eq!(got, Err(*e), "{}", case.desc),
        }
    }
}

fn every_shape() -> Vec<(String, Vlans, bool)> {
    vec![
        ("untagged".into(), Vlans::None, false),
        ("802.1Q".into(), Vlans::Single(100), false),
        ("QinQ".into(), Vlans::Double(10, 4094), false),
        ("IPv6 extension headers".into(), Vlans::None, true),
    ]
}

#[test]
fn nat_in_every_family_protocol_and_shape() {
    let mut cases = Vec::new();
    for family in FAMILIES {
        for l4 in NAT_L4 {
            for (shape, vlans, exts) in every_shape() {
                if exts && family == Family::V4 {
                    continue;
                }
                let input = Spec {
                    vlans,
                    v6_exts: exts,
                    ..Spec::request(family, l4)
                };
                let target = rs_target(family);
                let expected = Spec {
                    src_mac: DIRECTOR_MAC,
                    dst_mac: RS_MAC,
                    dst: target.addr,
                    dport: target.port,
                    ttl: 63,
                    l4: with_checksum(l4),
                    ..input.clone()
                };
                cases.push(Case {
                    desc: format!("NAT in {family:?} {l4:?} {shape}"),
                    input: input.build(),
                    expected: Ok(expected.build()),
                });
            }
        }
    }
    assert_eq!(cases.len(), 28);
    run_in(&cases, |c| rs_target(family_of(&c.input)), 1500);
}

fn family_of(frame: &[u8]) -> Family {
    let at = l2_len(frame) - 2;
    if frame[at..at + 2] == [0x86, 0xdd] {
        Family::V6
    } else {
        Family::V4
    }
}

#[test]
fn nat_out_every_family_protocol_and_shape() {
    for family in FAMILIES {
        for l4 in NAT_L4 {
            for (shape, vlans, exts) in every_shape() {
                if exts && family == Family::V4 {
                    continue;
                }
                let desc = format!("NAT out {family:?} {l4:?} {shape}");
                let input = Spec {
                    vlans,
                    v6_exts: exts,
                    ..Spec::reply(family, l4)
                };
                let vip = vip_target(family);
                let expected = Spec {
                    src_mac: DIRECTOR_MAC,
                    dst_mac: GATEWAY_MAC,
                    src: vip.addr,
                    sport: vip.port,
                    ttl: 63,
                    l4: with_checksum(l4),
                    ..input.clone()
                }
                .build();
                let mut frame = input.build();
                let len = nat_out(&mut frame, vip, &fwd(GATEWAY_MAC, 1500))
                    .unwrap_or_else(|e| panic!("{desc}: {e}"));
                assert_frame(&desc, &frame[..len], &expected);
                verify_frame(&frame[..len], false);
            }
        }
    }
}

/// A UDP request without checksum whose real checksum, once rewritten, is 0: the kernel
/// sends it as 0xFFFF (`CSUM_MANGLED_0`).
#[test]
fn udp_without_checksum_computed_zero_is_sent_as_ffff() {
    for family in FAMILIES {
        let target = rs_target(family);
        // Build the rewritten datagram with payload word 0, sum it, and choose the word
        // that makes the one's-complement sum all ones: the checksum is then 0.
        let mut payload = vec![0u8; 8];
        let after = Spec {
            dst: target.addr,
            dport: target.port,
            l4: L4::UdpNoCsum,
            payload: payload.clone(),
            ..Spec::request(family, L4::UdpNoCsum)
        };
        let frame = after.build();
        let l4 = transport_offset(&frame);
        let udp_len = frame.len() - l4;
        let mut pseudo = Vec::new();
        match (after.src, after.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                pseudo.extend_from_slice(&s.octets());
                pseudo.extend_from_slice(&d.octets());
                pseudo.extend_from_slice(&[0, 17]);
                pseudo.extend_from_slice(&(udp_len as u16).to_be_bytes());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                pseudo.extend_from_slice(&s.octets());
                pseudo.extend_from_slice(&d.octets());
                pseudo.extend_from_slice(&(udp_len as u32).to_be_bytes());
                pseudo.extend_from_slice(&[0, 0, 0, 17]);
            }
            _ => unreachable!(),
        }
        pseudo.extend_from_slice(&frame[l4..]);
        let word = !(ref_sum(&pseudo) as u16);
        payload[0..2].copy_from_slice(&word.to_be_bytes());

        let mut frame = Spec {
            payload: payload.clone(),
            ..Spec::request(family, L4::UdpNoCsum)
        }
        .build();
        let len = nat_in(&mut frame, target, &fwd(RS_MAC, 1500)).unwrap();
        let l4 = transport_offset(&frame);
        assert_eq!(&frame[l4 + 6..l4 + 8], &[0xff, 0xff], "{family:?}");
        verify_frame(&frame[..len], false);
    }
}

/// An incremental update landing on 0 is sent as 0xFFFF too (UDP only; TCP keeps 0).
#[test]
fn udp_incremental_zero_is_sent_as_ffff_tcp_keeps_zero() {
    for family in FAMILIES {
        for l4 in [L4::Udp, L4::Tcp] {
            let target = rs_target(family);
            // Find a payload word for which the rewritten packet's checksum is 0 (sum all
            // ones), by building the rewritten packet with etherparse and reading its
            // checksum C: adding C to the word turns the checksum into 0 (for UDP 0xFFFF).
            let mut payload = vec![0u8; 8];
            let rewritten = |p: &[u8]| {
                Spec {
                    dst: target.addr,
                    dport: target.port,
                    ttl: 63,
                    payload: p.to_vec(),
                    ..Spec::request(family, l4)
                }
                .build()
            };
            let frame = rewritten(&payload);
            let at = transport_offset(&frame) + if l4 == L4::Udp { 6 } else { 16 };
            let c = u16::from_be_bytes([frame[at], frame[at + 1]]);
            payload[0..2].copy_from_slice(&c.to_be_bytes());
            let want = rewritten(&payload);
            let want_csum = u16::from_be_bytes([want[at], want[at + 1]]);
            if l4 == L4::Udp {
                assert_eq!(
                    want_csum, 0xFFFF,
                    "etherparse sends a zero UDP checksum as ffff"
                );
            } else {
                assert_eq!(want_csum, 0x0000);
            }
            let mut frame = Spec {
                payload,
                ..Spec::request(family, l4)
            }
            .build();
            nat_in(&mut frame, target, &fwd(RS_MAC, 1500)).unwrap();
            assert_eq!(
                u16::from_be_bytes([frame[at], frame[at + 1]]),
                want_csum,
                "{family:?} {l4:?}"
            );
        }
    }
}

#[test]
fn errors_leave_the_frame_as_the_kernel_would() {
    struct ErrCase {
        desc: &'static str,
        input: Spec,
        mtu: u32,
        target: Option<NatTarget>,
        expected: RewriteError,
        /// TTL of the frame after the error (the kernel decrements before its MTU check).
        ttl_after: u8,
    }
    let v4 = |l4| Spec::request(Family::V4, l4);
    let v6 = |l4| Spec::request(Family::V6, l4);
    let big = vec![0x55u8; 1500];
    let cases = vec![
        ErrCase {
            desc: "TTL 1",
            input: Spec {
                ttl: 1,
                ..v4(L4::Tcp)
            },
            mtu: 1500,
            target: None,
            expected: RewriteError::TtlExceeded,
            ttl_after: 1,
        },
        ErrCase {
            desc: "TTL 0",
            input: Spec {
                ttl: 0,
                ..v4(L4::Udp)
            },
            mtu: 1500,
            target: None,
            expected: RewriteError::TtlExceeded,
            ttl_after: 0,
        },
        ErrCase {
            desc: "hop limit 1",
            input: Spec {
                ttl: 1,
                ..v6(L4::Tcp)
            },
            mtu: 1500,
            target: None,
            expected: RewriteError::TtlExceeded,
            ttl_after: 1,
        },
        ErrCase {
            desc: "DF and bigger than the MTU",
            input: Spec {
                payload: big.clone(),
                ..v4(L4::Tcp)
            },
            mtu: 1500,
            target: None,
            expected: RewriteError::TooBig {
                mtu: 1500,
                icmp: true,
            },
            ttl_after: 63,
        },
        ErrCase {
            desc: "no DF and bigger than the MTU",
            input: Spec {
                payload: big.clone(),
                dont_frag: false,
                ..v4(L4::Udp)
            },
            mtu: 1500,
            target: None,
            expected: RewriteError::NeedsFragmenting { mtu: 1500 },
            ttl_after: 63,
        },
        ErrCase {
            desc: "IPv6 bigger than the MTU",
            input: Spec {
                payload: big.clone(),
                ..v6(L4::Udp)
            },
            mtu: 1280,
            target: None,
            expected: RewriteError::TooBig {
                mtu: 1280,
                icmp: true,
            },
            ttl_after: 63,
        },
        ErrCase {
            desc: "IPv6 real server for an IPv4 packet",
            input: v4(L4::Tcp),
            mtu: 1500,
            target: Some(rs_target(Family::V6)),
            expected: RewriteError::FamilyMismatch,
            ttl_after: 64,
        },
        ErrCase {
            desc: "ICMP echo is not NATed",
            input: v4(L4::Echo),
            mtu: 1500,
            target: None,
            expected: RewriteError::UnsupportedProtocol(lb_io::wire::IpProtocol::ICMP),
            ttl_after: 64,
        },
        ErrCase {
            desc: "ICMPv6 echo is not NATed",
            input: v6(L4::Echo),
            mtu: 1500,
            target: None,
            expected: RewriteError::UnsupportedProtocol(lb_io::wire::IpProtocol::ICMPV6),
            ttl_after: 64,
        },
    ];
    for case in cases {
        let family = case.input.family();
        let mut frame = case.input.build();
        let before = frame.clone();
        let target = case.target.unwrap_or(rs_target(family));
        let got = nat_in(&mut frame, target, &fwd(RS_MAC, case.mtu));
        assert_eq!(got, Err(case.expected), "{}", case.desc);
        let l3 = l2_len(&frame);
        let ttl_at = l3 + if family == Family::V4 { 8 } else { 7 };
        assert_eq!(frame[ttl_at], case.ttl_after, "{}: TTL", case.desc);
        if case.ttl_after == before[ttl_at] {
            assert_eq!(frame, before, "{}: untouched", case.desc);
        } else {
            // Only the TTL (and the IPv4 header checksum) changed, consistently.
            let mut expected = case.input.clone();
            expected.ttl -= 1;
            assert_frame(case.desc, &frame, &expected.build());
        }
    }
}

#[test]
fn nat_out_checks_the_mtu_before_decrementing() {
    let input = Spec {
        payload: vec![0; 1500],
        ..Spec::reply(Family::V4, L4::Tcp)
    };
    let mut frame = input.build();
    let before = frame.clone();
    let got = nat_out(&mut frame, vip_target(Family::V4), &fwd(GATEWAY_MAC, 1500));
    assert_eq!(
        got,
        Err(RewriteError::TooBig {
            mtu: 1500,
            icmp: true
        })
    );
    assert_eq!(frame, before);
}

#[test]
fn unreadable_frames() {
    let target = rs_target(Family::V4);
    let good = Spec::request(Family::V4, L4::Tcp).build();

    let mut bad_sum = good.clone();
    bad_sum[14 + 10] ^= 0x01;
    let mut truncated = good[..good.len() - 1].to_vec();
    let mut arp = good.clone();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    let mut short_tcp = Spec {
        payload: vec![],
        ..Spec::request(Family::V4, L4::Tcp)
    }
    .build();
    // Claim a 60-byte TCP header in a 20-byte segment.
    let l4 = transport_offset(&short_tcp);
    short_tcp[l4 + 12] = 0xF0;
    let cases: Vec<(&str, &mut Vec<u8>, RewriteError)> = vec![
        (
            "bad IPv4 header checksum",
            &mut bad_sum,
            RewriteError::BadHeaderChecksum,
        ),
        (
            "truncated",
            &mut truncated,
            RewriteError::Malformed(WireError::Truncated),
        ),
        ("not IP", &mut arp, RewriteError::NotIp),
        (
            "TCP header longer than the segment",
            &mut short_tcp,
            RewriteError::Malformed(WireError::Truncated),
        ),
    ];
    for (desc, frame, expected) in cases {
        let before = frame.clone();
        assert_eq!(
            nat_in(frame, target, &fwd(RS_MAC, 1500)),
            Err(expected),
            "{desc}"
        );
        assert_eq!(**frame, before, "{desc}: untouched");
    }
    let mut empty = [0u8; 0];
    assert_eq!(
        nat_in(&mut empty, target, &fwd(RS_MAC, 1500)),
        Err(RewriteError::Malformed(WireError::Truncated))
    );
}

#[test]
fn link_padding_is_not_sent() {
    let spec = Spec {
        payload: vec![],
        ..Spec::request(Family::V4, L4::Udp)
    };
    let mut frame = spec.build();
    let unpadded = frame.len();
    assert_eq!(unpadded, 42);
    frame.resize(60, 0);
    let len = nat_in(&mut frame, rs_target(Family::V4), &fwd(RS_MAC, 1500)).unwrap();
    assert_eq!(len, unpadded);
    let expected = Spec {
        src_mac: DIRECTOR_MAC,
        dst_mac: RS_MAC,
        dst: IpAddr::V4(RIP4),
        dport: 8080,
        ttl: 63,
        ..spec
    }
    .build();
    assert_frame("padded", &frame[..len], &expected);
}

/// SCTP's CRC32c does not cover addresses: with the port unchanged the kernel leaves it as
/// it is (even wrong); with the port changed it recomputes it.
#[test]
fn sctp_crc_is_recomputed_only_when_the_port_changes() {
    for family in FAMILIES {
        let mut frame = Spec::request(family, L4::Sctp).build();
        let l4 = transport_offset(&frame);
        frame[l4 + 8] ^= 0xFF; // corrupt the CRC
        let crc = frame[l4 + 8..l4 + 12].to_vec();
        let same_port = NatTarget {
            port: 80,
            ..rs_target(family)
        };
        nat_in(&mut frame, same_port, &fwd(RS_MAC, 1500)).unwrap();
        assert_eq!(&frame[l4 + 8..l4 + 12], &crc[..], "{family:?}: CRC kept");
        let len = nat_in(&mut frame, rs_target(family), &fwd(RS_MAC, 1500)).unwrap();
        verify_frame(&frame[..len], false);
    }
}

/// The IPv4 frame of `spec` cut into a first fragment holding `first_len` bytes of the
/// transport payload (a multiple of 8) and the rest, headers fixed up.
fn fragment_v4(whole: &[u8], first_len: usize) -> (Vec<u8>, Vec<u8>) {
    let l3 = l2_len(whole);
    let ihl = usize::from(whole[l3] & 0x0F) * 4;
    let l4 = l3 + ihl;
    let fix = |frame: &mut Vec<u8>, total: usize, flags_frag: u16| {
        frame[l3 + 2..l3 + 4].copy_from_slice(&(total as u16).to_be_bytes());
        frame[l3 + 6..l3 + 8].copy_from_slice(&flags_frag.to_be_bytes());
        frame[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
        let sum = ref_checksum(&frame[l3..l3 + ihl]);
        frame[l3 + 10..l3 + 12].copy_from_slice(&sum.to_be_bytes());
    };
    let mut first = whole[..l4 + first_len].to_vec();
    fix(&mut first, ihl + first_len, 0x2000);
    let mut later = whole[..l4].to_vec();
    later.extend_from_slice(&whole[l4 + first_len..]);
    let rest = whole.len() - l4 - first_len;
    fix(&mut later, ihl + rest, (first_len / 8) as u16);
    (first, later)
}

#[test]
fn ipv4_fragments() {
    let target = rs_target(Family::V4);
    for l4 in [L4::Tcp, L4::Udp, L4::UdpNoCsum] {
        let spec = Spec {
            payload: (0..64u8).collect(),
            dont_frag: false,
            ..Spec::request(Family::V4, l4)
        };
        let whole = spec.build();
        let mut rewritten = whole.clone();
        nat_in(&mut rewritten, target, &fwd(RS_MAC, 1500)).unwrap();
        let (first, later) = fragment_v4(&whole, 32);

        // The first fragment gets the port and an incrementally updated checksum: the same
        // transport header as the whole datagram gets (a datagram without checksum keeps 0,
        // which cannot be computed from one fragment).
        let mut f = first.clone();
        let len = nat_in(&mut f, target, &fwd(RS_MAC, 1500)).unwrap();
        let at = transport_offset(&first);
        let hdr = if l4 == L4::Tcp { 20 } else { 8 };
        if l4 == L4::UdpNoCsum {
            assert_eq!(&f[at..at + 6], &rewritten[at..at + 6], "{l4:?} ports");
            assert_eq!(&f[at + 6..at + 8], &[0, 0], "{l4:?} checksum left 0");
        } else {
            assert_eq!(&f[at..at + hdr], &rewritten[at..at + hdr], "{l4:?} first");
        }
        verify_frame(&f[..len], false);

        // A later fragment: addresses only.
        let mut g = later.clone();
        let len = nat_in(&mut g, target, &fwd(RS_MAC, 1500)).unwrap();
        assert_eq!(&g[at..len], &later[at..], "{l4:?} later data untouched");
        assert_eq!(&g[30..34], &RIP4.octets(), "{l4:?} later destination");
        verify_frame(&g[..len], false);
    }
    // SCTP: the CRC of a first fragment cannot be recomputed.
    let whole = Spec {
        payload: (0..64u8).collect(),
        dont_frag: false,
        ..Spec::request(Family::V4, L4::Sctp)
    }
    .build();
    let (mut first, _) = fragment_v4(&whole, 32);
    let before = first.clone();
    assert_eq!(
        nat_in(&mut first, target, &fwd(RS_MAC, 1500)),
        Err(RewriteError::NeedsReassembly)
    );
    assert_eq!(first, before);
}

/// Golden bytes: a TCP request 198.18.0.10:40000 → 198.18.1.1:80 NATed to 198.19.0.21:8080.
#[test]
fn golden_nat_in_tcp_v4() {
    let mut frame = Spec {
        payload: b"hi".to_vec(),
        ..Spec::request(Family::V4, L4::Tcp)
    }
    .build();
    let target = NatTarget {
        addr: IpAddr::V4(Ipv4Addr::new(198, 19, 0, 21)),
        port: 8080,
    };
    let len = nat_in(&mut frame, target, &fwd(RS_MAC, 1500)).unwrap();
    #[rustfmt::skip]
    let golden: [u8; 56] = [
        // Ethernet: to the real server, from the director, IPv4
        0x02, 0x5e, 0x00, 0x00, 0x00, 0x01, 0x02, 0xd1, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
        // IPv4: TOS 0x28, length 42, ident 0x1c46, DF, TTL 63 (was 64), TCP, checksum
        0x45, 0x28, 0x00, 0x2a, 0x1c, 0x46, 0x40, 0x00, 0x3f, 0x06, 0x93, 0x1b,
        198, 18, 0, 10, 198, 19, 0, 21,
        // TCP: 40000 → 8080, seq, ack, offset 5, PSH|ACK, window 64240, checksum, urgent 0
        0x9c, 0x40, 0x1f, 0x90, 0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d, 0x50, 0x18,
        0xfa, 0xf0, 0xea, 0x3c, 0x00, 0x00,
        b'h', b'i',
    ];
    assert_frame("golden", &frame[..len], &golden);
}

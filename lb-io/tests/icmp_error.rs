//! ICMP errors the director answers with (spec §2.3, §7.0): time exceeded, fragmentation
//! needed / packet too big, port unreachable, built as Linux's `__icmp_send` / `icmp6_send`.
//! Expected frames are built with etherparse; every frame is parsed again and its checksums
//! recomputed from scratch.

mod rewrite_support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    icmpv4, icmpv6, IpHeaders, Ipv4Dscp, Ipv4Ecn, Ipv4Header, Ipv6FlowLabel, Ipv6Header,
    PacketBuilder,
};
use lb_io::rewrite::icmp::{reply_forwarding, IcmpRefusal};
use lb_io::rewrite::{icmp_error, IcmpError, IcmpGenError, IcmpSource, IpIdCounter, RewriteError};
use rewrite_support::*;

const KINDS: [IcmpError; 3] = [
    IcmpError::TimeExceeded,
    IcmpError::TooBig { mtu: 1400 },
    IcmpError::PortUnreachable,
];

fn director(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
        Family::V6 => IpAddr::V6("2001:db8:c::1".parse().unwrap()),
    }
}

/// The error frame Linux sends, built with etherparse: from `src` to the offending packet's
/// source, quoting `quote`.
fn expected(offending: &Spec, kind: IcmpError, src: IpAddr, ident: u16, quote: &[u8]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(DIRECTOR_MAC, offending.src_mac);
    let mut out = Vec::new();
    match (src, offending.src) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let tos = 0xC0 | (offending.ds & 0x1E);
            let ip = IpHeaders::Ipv4(
                Ipv4Header {
                    dscp: Ipv4Dscp::try_new(tos >> 2).unwrap(),
                    ecn: Ipv4Ecn::try_new(tos & 3).unwrap(),
                    identification: ident,
                    dont_fragment: false,
                    time_to_live: 64,
                    source: s.octets(),
                    destination: d.octets(),
                    ..Default::default()
                },
                Default::default(),
            );
            let t = match kind {
                IcmpError::TimeExceeded => etherparse::Icmpv4Type::TimeExceeded(
                    icmpv4::TimeExceededCode::TtlExceededInTransit,
                ),
                IcmpError::TooBig { mtu } => etherparse::Icmpv4Type::DestinationUnreachable(
                    icmpv4::DestUnreachableHeader::FragmentationNeeded {
                        next_hop_mtu: mtu as u16,
                    },
                ),
                IcmpError::PortUnreachable => etherparse::Icmpv4Type::DestinationUnreachable(
                    icmpv4::DestUnreachableHeader::Port,
                ),
            };
            let step = match offending.vlans {
                Vlans::None => eth.ip(ip),
                Vlans::Single(v) => eth
                    .single_vlan(etherparse::VlanId::try_new(v).unwrap())
                    .ip(ip),
                Vlans::Double(..) => unimplemented!("not used"),
            };
            step.icmpv4(t).write(&mut out, quote).unwrap();
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let ip = IpHeaders::Ipv6(
                Ipv6Header {
                    traffic_class: 0,
                    flow_label: Ipv6FlowLabel::ZERO,
                    hop_limit: 64,
                    source: s.octets(),
                    destination: d.octets(),
                    ..Default::default()
                },
                Default::default(),
            );
            let t = match kind {
                IcmpError::TimeExceeded => {
                    etherparse::Icmpv6Type::TimeExceeded(icmpv6::TimeExceededCode::HopLimitExceeded)
                }
                IcmpError::TooBig { mtu } => etherparse::Icmpv6Type::PacketTooBig { mtu },
                IcmpError::PortUnreachable => etherparse::Icmpv6Type::DestinationUnreachable(
                    icmpv6::DestUnreachableCode::Port,
                ),
            };
            let step = match offending.vlans {
                Vlans::None => eth.ip(ip),
                Vlans::Single(v) => eth
                    .single_vlan(etherparse::VlanId::try_new(v).unwrap())
                    .ip(ip),
                Vlans::Double(..) => unimplemented!("not used"),
            };
            step.icmpv6(t).write(&mut out, quote).unwrap();
        }
        _ => unreachable!(),
    }
    out
}

fn generate(
    frame: &[u8],
    kind: IcmpError,
    source: IcmpSource,
    mtu: u32,
    ids: &mut IpIdCounter,
) -> Result<Vec<u8>, IcmpGenError> {
    let mut out = vec![0u8; 2048];
    let fwd = reply_forwarding(frame, mac(DIRECTOR_MAC), mtu).expect("an Ethernet frame");
    let len = icmp_error(frame, kind, source, &fwd, ids, &mut out)?;
    out.truncate(len);
    Ok(out)
}

/// Every family × error × VLAN shape, about a client's request to the VIP: Linux's source
/// choice (VIP, except IPv6 time exceeded), the whole short packet quoted.
#[test]
fn every_family_and_error_about_a_request() {
    for family in FAMILIES {
        for kind in KINDS {
            for vlans in [Vlans::None, Vlans::Single(12)] {
                let desc = format!("{family:?} {kind:?} {vlans:?}");
                let offending = Spec {
                    vlans,
                    ..Spec::request(family, L4::Tcp)
                };
                let frame = offending.build();
                let source = IcmpSource::linux(kind, family == Family::V6, true, director(family));
                let mut ids = IpIdCounter::new(0x0700);
                let got = generate(&frame, kind, source, 1500, &mut ids)
                    .unwrap_or_else(|e| panic!("{desc}: {e}"));
                let src = match (family, kind) {
                    (Family::V6, IcmpError::TimeExceeded) => director(family),
                    _ => offending.dst,
                };
                let quote = &frame[l2_len(&frame)..];
                assert_frame(&desc, &got, &expected(&offending, kind, src, 0x0700, quote));
                verify_frame(&got, false);
                let used = if family == Family::V4 { 0x0701 } else { 0x0700 };
                assert_eq!(ids.next_id(), used, "{desc}: IPv4 errors take an ident");
            }
        }
    }
}

/// About a NAT reply (addressed to a client, not to us): from the director's address.
#[test]
fn about_a_forwarded_reply_from_the_director() {
    for family in FAMILIES {
        for kind in KINDS {
            let offending = Spec::reply(family, L4::Udp);
            let frame = offending.build();
            let source = IcmpSource::linux(kind, family == Family::V6, false, director(family));
            assert!(!source.from_packet_destination);
            let got = generate(&frame, kind, source, 1500, &mut IpIdCounter::new(1)).unwrap();
            let quote = &frame[l2_len(&frame)..];
            assert_frame(
                &format!("{family:?} {kind:?}"),
                &got,
                &expected(&offending, kind, director(family), 1, quote),
            );
        }
    }
}

#[test]
fn linux_source_choice() {
    let d4 = director(Family::V4);
    let d6 = director(Family::V6);
    let table = [
        (IcmpError::PortUnreachable, false, true, true),
        (IcmpError::TimeExceeded, false, true, true),
        (IcmpError::TooBig { mtu: 1500 }, false, true, true),
        (IcmpError::PortUnreachable, true, true, true),
        (IcmpError::TimeExceeded, true, true, false),
        (IcmpError::TooBig { mtu: 1500 }, true, true, true),
        (IcmpError::PortUnreachable, false, false, false),
        (IcmpError::TimeExceeded, true, false, false),
    ];
    for (kind, v6, to_us, from_vip) in table {
        let director = if v6 { d6 } else { d4 };
        assert_eq!(
            IcmpSource::linux(kind, v6, to_us, director),
            IcmpSource {
                director_addr: director,
                from_packet_destination: from_vip,
            },
            "{kind:?} v6={v6} to_us={to_us}"
        );
    }
}

/// Quotes: IPv4 up to 576 bytes in all (548 of the packet, fewer on a smaller route MTU),
/// IPv6 up to 1280 (1232 of the packet).
#[test]
fn quote_lengths() {
    let cases = [
        (Family::V4, 1500usize, 1500u32, 548usize),
        (Family::V4, 1500, 400, 372),
        (Family::V4, 100, 1500, 100),
        (Family::V6, 1500, 1500, 1232),
        (Family::V6, 1300, 1280, 1232),
        (Family::V6, 200, 1500, 200),
    ];
    for (family, packet_len, mtu, quote_len) in cases {
        let header = if family == Family::V4 { 28 } else { 48 };
        let offending = Spec {
            payload: (0..packet_len - header).map(|i| i as u8).collect(),
            ..Spec::request(family, L4::Udp)
        };
        let frame = offending.build();
        let source = IcmpSource {
            director_addr: director(family),
            from_packet_destination: false,
        };
        let kind = IcmpError::TooBig { mtu: 1280 };
        let got = generate(&frame, kind, source, mtu, &mut IpIdCounter::new(0)).unwrap();
        let l3 = l2_len(&frame);
        let quote = &frame[l3..l3 + quote_len];
        let desc = format!("{family:?} {packet_len} mtu {mtu}");
        assert_frame(
            &desc,
            &got,
            &expected(&offending, kind, director(family), 0, quote),
        );
        verify_frame(&got, false);
    }
}

#[test]
fn refusals() {
    let src = |f| IcmpSource {
        director_addr: director(f),
        from_packet_destination: true,
    };
    let icmp_frame = |family: Family, msg: u8| {
        let offending = Spec::request(family, L4::Echo).build();
        let mut frame = offending;
        let at = transport_offset(&frame);
        frame[at] = msg;
        frame
    };
    let bcast_ip = Spec {
        dst: IpAddr::V4(Ipv4Addr::BROADCAST),
        ..Spec::request(Family::V4, L4::Udp)
    }
    .build();
    let bcast_mac = Spec {
        dst_mac: [0xff; 6],
        ..Spec::request(Family::V4, L4::Udp)
    }
    .build();
    let mut later_fragment = Spec::request(Family::V4, L4::Udp).build();
    later_fragment[14 + 6..14 + 8].copy_from_slice(&[0x00, 0x10]);
    later_fragment[14 + 10..14 + 12].copy_from_slice(&[0, 0]);
    let sum = ref_checksum(&later_fragment[14..34]);
    later_fragment[14 + 10..14 + 12].copy_from_slice(&sum.to_be_bytes());
    let zero_src = Spec {
        src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        ..Spec::request(Family::V4, L4::Udp)
    }
    .build();
    let loopback_src = Spec {
        src: IpAddr::V4(Ipv4Addr::LOCALHOST),
        ..Spec::request(Family::V4, L4::Udp)
    }
    .build();
    let unspecified6 = Spec {
        src: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ..Spec::request(Family::V6, L4::Udp)
    }
    .build();
    let multicast6 = Spec {
        dst: IpAddr::V6("ff02::1:2".parse().unwrap()),
        ..Spec::request(Family::V6, L4::Udp)
    }
    .build();
    type RefusalCase = (&'static str, Vec<u8>, IcmpError, Result<(), IcmpRefusal>);
    let cases: Vec<RefusalCase> = vec![
        (
            "about ICMP unreachable",
            icmp_frame(Family::V4, 3),
            IcmpError::TimeExceeded,
            Err(IcmpRefusal::AboutIcmpError),
        ),
        (
            "about ICMP redirect",
            icmp_frame(Family::V4, 5),
            IcmpError::TimeExceeded,
            Err(IcmpRefusal::AboutIcmpError),
        ),
        (
            "about ICMP type 19",
            icmp_frame(Family::V4, 19),
            IcmpError::TimeExceeded,
            Err(IcmpRefusal::AboutIcmpError),
        ),
        (
            "about ICMP router advertisement (9)",
            icmp_frame(Family::V4, 9),
            IcmpError::TimeExceeded,
            Err(IcmpRefusal::AboutIcmpError),
        ),
        (
            "about ICMP type 1 (unassigned)",
            icmp_frame(Family::V4, 1),
            IcmpError::TimeExceeded,
            Err(IcmpRefusal::AboutIcmpError),
        ),
        (
            "about ICMP echo reply",
            icmp_frame(Family::V4, 0),
            IcmpError::TimeExceeded,
            Ok(()),
        ),
        (
            "about ICMP address mask reply (18)",
            icmp_frame(Family::V4, 18),
            IcmpError::TimeExceeded,
            Ok(()),
        ),
        (
            "about ICMP echo",
            icmp_frame(Family::V4, 8),
            IcmpError::TimeExceeded,
            Ok(()),
        ),
        (
            "about ICMP timestamp (13)",
            icmp_frame(Family::V4, 13),
            IcmpError::TimeExceeded,
            Ok(()),
        ),
        (
            "about ICMPv6 time exceeded",
            icmp_frame(Family::V6, 3),
            IcmpError::TimeExceeded,
            Err(IcmpRefusal::AboutIcmpError),
        ),
        (
            "about ICMPv6 echo",
            icmp_frame(Family::V6, 128),
            IcmpError::TimeExceeded,
            Ok(()),
        ),
        (
            "to 255.255.255.255",
            bcast_ip,
            IcmpError::PortUnreachable,
            Err(IcmpRefusal::NotUnicast),
        ),
        (
            "to the broadcast MAC",
            bcast_mac,
            IcmpError::PortUnreachable,
            Err(IcmpRefusal::NotUnicast),
        ),
        (
            "later fragment",
            later_fragment,
            IcmpError::TimeExceeded,
            Err(IcmpRefusal::NotFirstFragment),
        ),
        (
            "from 0.0.0.0",
            zero_src,
            IcmpError::PortUnreachable,
            Err(IcmpRefusal::BadSource),
        ),
        (
            "from 127.0.0.1",
            loopback_src,
            IcmpError::PortUnreachable,
            Err(IcmpRefusal::BadSource),
        ),
        (
            "from ::",
            unspecified6,
            IcmpError::PortUnreachable,
            Err(IcmpRefusal::BadSource),
        ),
        (
            "IPv6 multicast, port unreachable",
            multicast6.clone(),
            IcmpError::PortUnreachable,
            Err(IcmpRefusal::NotUnicast),
        ),
        (
            "IPv6 multicast, too big",
            multicast6,
            IcmpError::TooBig { mtu: 1280 },
            Ok(()),
        ),
    ];
    for (desc, frame, kind, expect) in cases {
        let family = if frame[12..14] == [0x86, 0xdd] {
            Family::V6
        } else {
            Family::V4
        };
        let got = generate(&frame, kind, src(family), 1500, &mut IpIdCounter::new(0));
        match expect {
            Ok(()) => {
                let out = got.unwrap_or_else(|e| panic!("{desc}: {e}"));
                verify_frame(&out, false);
            }
            Err(why) => assert_eq!(got, Err(IcmpGenError::Refused(why)), "{desc}"),
        }
    }
    // A too-big about a multicast packet comes from the director's address.
    let frame = Spec {
        dst: IpAddr::V6("ff02::1:2".parse().unwrap()),
        ..Spec::request(Family::V6, L4::Udp)
    }
    .build();
    let out = generate(
        &frame,
        IcmpError::TooBig { mtu: 1280 },
        src(Family::V6),
        1500,
        &mut IpIdCounter::new(0),
    )
    .unwrap();
    assert_eq!(
        &out[22..38],
        &"2001:db8:c::1".parse::<Ipv6Addr>().unwrap().octets()
    );
    // No room: min(40, 576) − 28 = 12 ≤ 20.
    let frame = Spec::request(Family::V4, L4::Udp).build();
    assert_eq!(
        generate(
            &frame,
            IcmpError::TimeExceeded,
            src(Family::V4),
            48,
            &mut IpIdCounter::new(0)
        ),
        Err(IcmpGenError::Refused(IcmpRefusal::NoRoom))
    );
    assert!(generate(
        &frame,
        IcmpError::TimeExceeded,
        src(Family::V4),
        49,
        &mut IpIdCounter::new(0)
    )
    .is_ok());
}

#[test]
fn packet_errors() {
    let frame = Spec::request(Family::V4, L4::Udp).build();
    let fwd = reply_forwarding(&frame, mac(DIRECTOR_MAC), 1500).unwrap();
    let source = IcmpSource {
        director_addr: director(Family::V6),
        from_packet_destination: false,
    };
    let mut out = [0u8; 256];
    assert_eq!(
        icmp_error(
            &frame,
            IcmpError::PortUnreachable,
            source,
            &fwd,
            &mut IpIdCounter::new(0),
            &mut out
        ),
        Err(IcmpGenError::Packet(RewriteError::FamilyMismatch))
    );
    let source = IcmpSource {
        director_addr: director(Family::V4),
        from_packet_destination: true,
    };
    let needed = 14 + 20 + 8 + (frame.len() - 14);
    let mut small = vec![0u8; needed - 1];
    assert_eq!(
        icmp_error(
            &frame,
            IcmpError::PortUnreachable,
            source,
            &fwd,
            &mut IpIdCounter::new(0),
            &mut small
        ),
        Err(IcmpGenError::Packet(RewriteError::BufferTooSmall {
            needed
        }))
    );
    assert_eq!(
        icmp_error(
            &frame[..20],
            IcmpError::PortUnreachable,
            source,
            &fwd,
            &mut IpIdCounter::new(0),
            &mut out
        ),
        Err(IcmpGenError::Packet(RewriteError::Malformed(
            lb_io::wire::Error::Truncated
        )))
    );
    assert_eq!(
        reply_forwarding(&frame[..10], mac(DIRECTOR_MAC), 1500),
        None
    );
}

/// Golden bytes: port unreachable from the VIP about an empty UDP datagram
/// 198.18.0.10:40000 → 198.18.1.1:80 (TOS 0x28, TTL 64, ident 0x1c46, DF).
#[test]
fn golden_port_unreachable_v4() {
    let offending = Spec {
        payload: vec![],
        ..Spec::request(Family::V4, L4::Udp)
    };
    let frame = offending.build();
    let source = IcmpSource::linux(
        IcmpError::PortUnreachable,
        false,
        true,
        director(Family::V4),
    );
    let got = generate(
        &frame,
        IcmpError::PortUnreachable,
        source,
        1500,
        &mut IpIdCounter::new(0x0102),
    )
    .unwrap();
    #[rustfmt::skip]
    let golden: [u8; 70] = [
        // to the client's gateway, from the director
        0x02, 0x6a, 0x00, 0x00, 0x00, 0x01, 0x02, 0xd1, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
        // IPv4: TOS 0xc8 = 0xc0 | (0x28 & 0x1e), length 56, ident 0x0102, TTL 64, ICMP
        0x45, 0xc8, 0x00, 0x38, 0x01, 0x02, 0x00, 0x00, 0x40, 0x01, 0xeb, 0xcb,
        198, 18, 1, 1, 198, 18, 0, 10,
        // ICMP 3/3, checksum, unused
        0x03, 0x03, 0x8a, 0x46, 0x00, 0x00, 0x00, 0x00,
        // the quoted datagram, whole
        0x45, 0x28, 0x00, 0x1c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11, 0x91, 0x33,
        198, 18, 0, 10, 198, 18, 1, 1,
        0x9c, 0x40, 0x00, 0x50, 0x00, 0x08, 0xd6, 0x1d,
    ];
    assert_frame("golden port unreachable", &got, &golden);
}

//! Tunnelling (spec §7.3): IPIP, GUE and GRE, IPv4 or IPv6 outside either family. Expected
//! frames are built with etherparse from the outer fields the kernel writes; every frame is
//! parsed again with its checksums (outer and inner) recomputed from scratch.

mod rewrite_support;

use std::net::IpAddr;

use etherparse::{IpHeaders, IpNumber, Ipv4Dscp, Ipv4Ecn, Ipv4Header, Ipv6FlowLabel, Ipv6Header};
use lb_core::{TunnelCsum, TunnelType};
use lb_io::rewrite::{ecn_encapsulate, gue_source_port, tunnel, IpIdCounter, RewriteError, Tunnel};
use rewrite_support::*;

const GUE_PORT: u16 = 6080;

fn tun(outer: Family, kind: TunnelType, csum: TunnelCsum) -> Tunnel {
    let (src, dst) = match outer {
        Family::V4 => (IpAddr::V4(DIP4), IpAddr::V4(RIP4)),
        Family::V6 => (IpAddr::V6(dip6()), IpAddr::V6(rip6())),
    };
    Tunnel {
        kind,
        csum,
        gue_port: if kind == TunnelType::Gue { GUE_PORT } else { 0 },
        src,
        dst,
        pmtu_disc: true,
        flow_hash_seed: 0x5eed,
    }
}

const KINDS: [(TunnelType, TunnelCsum); 7] = [
    (TunnelType::Ipip, TunnelCsum::NoCsum),
    (TunnelType::Gue, TunnelCsum::NoCsum),
    (TunnelType::Gue, TunnelCsum::Csum),
    (TunnelType::Gue, TunnelCsum::RemCsum),
    (TunnelType::Gre, TunnelCsum::NoCsum),
    (TunnelType::Gre, TunnelCsum::Csum),
    (TunnelType::Gre, TunnelCsum::RemCsum),
];

/// The ECN encapsulation rule, written out: CE (3) becomes ECT(0) (2), the rest is copied.
fn outer_ds(inner: u8) -> u8 {
    match inner & 3 {
        3 => (inner & 0xFC) | 2,
        _ => inner,
    }
}

/// The frame the kernel sends for `input` through `t`, built with etherparse. `sport` is the
/// GUE source port seen (derived from a flow hash), `ident` the outer IPv4 identification.
fn expected_frame(input: &Spec, t: &Tunnel, sport: u16, ident: u16) -> Vec<u8> {
    let inner_frame = Spec {
        ttl: input.ttl - 1,
        ..input.clone()
    }
    .build();
    let inner = &inner_frame[l2_len(&inner_frame)..];
    let inner_v4 = input.family() == Family::V4;
    let ds = outer_ds(input.ds);
    let df = inner_v4 && t.pmtu_disc && input.dont_frag;
    let outer_ip = match (t.src, t.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => IpHeaders::Ipv4(
            Ipv4Header {
                dscp: Ipv4Dscp::try_new(ds >> 2).unwrap(),
                ecn: Ipv4Ecn::try_new(ds & 3).unwrap(),
                identification: if df { 0 } else { ident },
                dont_fragment: df,
                time_to_live: input.ttl - 1,
                source: s.octets(),
                destination: d.octets(),
                ..Default::default()
            },
            Default::default(),
        ),
        (IpAddr::V6(s), IpAddr::V6(d)) => IpHeaders::Ipv6(
            Ipv6Header {
                traffic_class: ds,
                flow_label: Ipv6FlowLabel::ZERO,
                hop_limit: input.ttl - 1,
                source: s.octets(),
                destination: d.octets(),
                ..Default::default()
            },
            Default::default(),
        ),
        _ => unreachable!(),
    };
    let inner_proto: u8 = if inner_v4 { 4 } else { 41 };
    let mut vlan_eth = etherparse::PacketBuilder::ethernet2(DIRECTOR_MAC, RS_MAC);
    let _ = &mut vlan_eth;
    let step = match input.vlans {
        Vlans::None => vlan_eth.ip(outer_ip),
        Vlans::Single(v) => vlan_eth
            .single_vlan(etherparse::VlanId::try_new(v).unwrap())
            .ip(outer_ip),
        Vlans::Double(a, b) => vlan_eth
            .double_vlan(
                etherparse::VlanId::try_new(a).unwrap(),
                etherparse::VlanId::try_new(b).unwrap(),
            )
            .ip(outer_ip),
    };
    let mut out = Vec::new();
    match t.kind {
        TunnelType::Ipip => step.write(&mut out, IpNumber(inner_proto), inner).unwrap(),
        TunnelType::Gue => {
            let mut payload = vec![0, inner_proto, 0, 0];
            payload.extend_from_slice(inner);
            step.udp(sport, GUE_PORT).write(&mut out, &payload).unwrap();
            if t.csum == TunnelCsum::NoCsum {
                let at = transport_offset(&out) + 6;
                out[at..at + 2].copy_from_slice(&[0, 0]);
            }
        }
        TunnelType::Gre => {
            let proto: u16 = if inner_v4 { 0x0800 } else { 0x86dd };
            let mut gre = Vec::new();
            if t.csum == TunnelCsum::Csum {
                gre.extend_from_slice(&[0x80, 0]);
                gre.extend_from_slice(&proto.to_be_bytes());
                gre.extend_from_slice(&[0, 0, 0, 0]);
                gre.extend_from_slice(inner);
                let sum = ref_checksum(&gre);
                gre[4..6].copy_from_slice(&sum.to_be_bytes());
            } else {
                gre.extend_from_slice(&[0, 0]);
                gre.extend_from_slice(&proto.to_be_bytes());
                gre.extend_from_slice(inner);
            }
            step.write(&mut out, IpNumber(47), &gre).unwrap();
        }
    }
    out
}

/// The GUE source port in a tunnelled frame.
fn gue_sport(frame: &[u8]) -> u16 {
    let at = transport_offset(frame);
    u16::from_be_bytes([frame[at], frame[at + 1]])
}

#[test]
fn every_outer_inner_kind_and_protocol() {
    let mut count = 0;
    for outer in FAMILIES {
        for inner in FAMILIES {
            for (kind, csum) in KINDS {
                for l4 in [L4::Tcp, L4::Udp, L4::Sctp] {
                    let desc = format!("{inner:?} in {outer:?} {kind:?} {csum:?} {l4:?}");
                    let t = tun(outer, kind, csum);
                    let input = Spec {
                        vlans: if count % 3 == 1 {
                            Vlans::Single(5)
                        } else {
                            Vlans::None
                        },
                        ..Spec::request(inner, l4)
                    };
                    let mut frame = input.build();
                    let mut out = vec![0u8; 2048];
                    let mut ids = IpIdCounter::new(0x4000);
                    let len = tunnel(&mut frame, &mut out, &t, &fwd(RS_MAC, 1500), &mut ids)
                        .unwrap_or_else(|e| panic!("{desc}: {e}"));
                    let sport = if kind == TunnelType::Gue {
                        let p = gue_sport(&out[..len]);
                        assert!((32768..=60998).contains(&p), "{desc}: port {p}");
                        p
                    } else {
                        0
                    };
                    let want = expected_frame(&input, &t, sport, 0x4000);
                    assert_frame(&desc, &out[..len], &want);
                    let checked = verify_frame(&out[..len], true);
                    if kind == TunnelType::Gue {
                        // The inner packet after the UDP and GUE headers.
                        verify_ip(
                            &out[checked.payload_at + 12..checked.payload_at + checked.payload_len],
                            false,
                        );
                    }
                    // The frame given has had its TTL decremented, as the kernel's skb.
                    let ttl_at = l2_len(&frame) + if inner == Family::V4 { 8 } else { 7 };
                    assert_eq!(frame[ttl_at], 63, "{desc}");
                    count += 1;
                }
            }
        }
    }
    assert_eq!(count, 84);
}

#[test]
fn ds_field_ecn_rule() {
    // inner DS → outer DS: DSCP copied, ECN copied except CE → ECT(0)
    let table = [
        (0x00, 0x00),
        (0x01, 0x01),
        (0x02, 0x02),
        (0x03, 0x02),
        (0xb8, 0xb8),
        (0xbb, 0xba),
        (0xff, 0xfe),
    ];
    for (inner, outer) in table {
        assert_eq!(ecn_encapsulate(inner), outer, "{inner:#x}");
        for inner_family in FAMILIES {
            for outer_family in FAMILIES {
                let t = tun(outer_family, TunnelType::Ipip, TunnelCsum::NoCsum);
                let input = Spec {
                    ds: inner,
                    ..Spec::request(inner_family, L4::Udp)
                };
                let mut frame = input.build();
                let mut out = [0u8; 512];
                let len = tunnel(
                    &mut frame,
                    &mut out,
                    &t,
                    &fwd(RS_MAC, 1500),
                    &mut IpIdCounter::new(9),
                )
                .unwrap();
                assert_frame(
                    &format!("ds {inner:#x} {inner_family:?} in {outer_family:?}"),
                    &out[..len],
                    &expected_frame(&input, &t, 0, 9),
                );
                let l3 = l2_len(&out);
                let got = match outer_family {
                    Family::V4 => out[l3 + 1],
                    Family::V6 => (u16::from_be_bytes([out[l3], out[l3 + 1]]) >> 4) as u8,
                };
                assert_eq!(
                    got, outer,
                    "{inner:#x} {inner_family:?} in {outer_family:?}"
                );
            }
        }
    }
}

/// Outer DF and identification: DF copied from an IPv4 inner packet when pmtu_disc is on,
/// identification 0 with DF, else the next value of the counter; never DF for IPv6 inside.
#[test]
fn outer_df_and_identification() {
    struct C {
        desc: &'static str,
        inner: Family,
        inner_df: bool,
        pmtu_disc: bool,
        outer_df: bool,
        outer_id: u16,
        counter_after: u16,
    }
    let cases = [
        C {
            desc: "IPv4 DF, pmtu_disc",
            inner: Family::V4,
            inner_df: true,
            pmtu_disc: true,
            outer_df: true,
            outer_id: 0,
            counter_after: 100,
        },
        C {
            desc: "IPv4 no DF",
            inner: Family::V4,
            inner_df: false,
            pmtu_disc: true,
            outer_df: false,
            outer_id: 100,
            counter_after: 101,
        },
        C {
            desc: "IPv4 DF, pmtu_disc off",
            inner: Family::V4,
            inner_df: true,
            pmtu_disc: false,
            outer_df: false,
            outer_id: 100,
            counter_after: 101,
        },
        C {
            desc: "IPv6 inside",
            inner: Family::V6,
            inner_df: true,
            pmtu_disc: true,
            outer_df: false,
            outer_id: 100,
            counter_after: 101,
        },
    ];
    for c in cases {
        let t = Tunnel {
            pmtu_disc: c.pmtu_disc,
            ..tun(Family::V4, TunnelType::Ipip, TunnelCsum::NoCsum)
        };
        let input = Spec {
            dont_frag: c.inner_df,
            ..Spec::request(c.inner, L4::Tcp)
        };
        let mut frame = input.build();
        let mut out = [0u8; 512];
        let mut ids = IpIdCounter::new(100);
        let len = tunnel(&mut frame, &mut out, &t, &fwd(RS_MAC, 1500), &mut ids).unwrap();
        assert_frame(
            c.desc,
            &out[..len],
            &expected_frame(&input, &t, 0, c.outer_id),
        );
        assert_eq!(out[14 + 6] & 0x40 != 0, c.outer_df, "{}: DF", c.desc);
        assert_eq!(
            u16::from_be_bytes([out[18], out[19]]),
            c.outer_id,
            "{}: ident",
            c.desc
        );
        assert_eq!(ids.next_id(), c.counter_after, "{}: counter", c.desc);
    }
}

/// The kernel's `udp_flow_src_port` mapping, values worked by hand: h ^= h << 16, then
/// ((h as u64 * 28231) >> 32) + 32768.
#[test]
fn gue_source_port_mapping() {
    assert_eq!(gue_source_port(0), 32768);
    // 0xFFFFFFFF ^ 0xFFFF0000 = 0x0000FFFF → 65535 * 28231 >> 32 = 0
    assert_eq!(gue_source_port(0xFFFF_FFFF), 32768);
    // 0x80000000 ^ 0 = 0x80000000 → 28231 / 2 = 14115
    assert_eq!(gue_source_port(0x8000_0000), 32768 + 14115);
    // 0x00010000 ^ 0 → 65536 * 28231 >> 32 = 0
    assert_eq!(gue_source_port(0x0001_0000), 32768);
    // 0xFFFF0000 ^ 0 → 0xFFFF0000 * 28231 >> 32 = 28230
    assert_eq!(gue_source_port(0xFFFF_0000), 60998);
}

/// One flow keeps one GUE source port; different flows spread over the range; fragments of
/// one datagram (no ports read) all get the same port.
#[test]
fn gue_source_port_per_flow() {
    let t = tun(Family::V4, TunnelType::Gue, TunnelCsum::NoCsum);
    let port_of = |spec: &Spec| {
        let mut frame = spec.build();
        let mut out = [0u8; 512];
        let len = tunnel(
            &mut frame,
            &mut out,
            &t,
            &fwd(RS_MAC, 1500),
            &mut IpIdCounter::new(0),
        )
        .unwrap();
        gue_sport(&out[..len])
    };
    let base = Spec::request(Family::V4, L4::Tcp);
    let p1 = port_of(&base);
    assert_eq!(
        port_of(&Spec {
            payload: b"another segment".to_vec(),
            ..base.clone()
        }),
        p1
    );
    let mut ports: Vec<u16> = (0..16)
        .map(|i| {
            port_of(&Spec {
                sport: 40000 + i,
                ..base.clone()
            })
        })
        .collect();
    ports.sort();
    ports.dedup();
    assert!(ports.len() >= 12, "16 flows on {} ports", ports.len());
    // Another seed moves the flow.
    let t2 = Tunnel {
        flow_hash_seed: 1,
        ..t
    };
    let mut frame = base.build();
    let mut out = [0u8; 512];
    let len = tunnel(
        &mut frame,
        &mut out,
        &t2,
        &fwd(RS_MAC, 1500),
        &mut IpIdCounter::new(0),
    )
    .unwrap();
    assert_ne!(gue_sport(&out[..len]), p1);
}

#[test]
fn tunnel_mtu() {
    // (outer, kind, csum, inner MTU for a 1500 route)
    let table = [
        (Family::V4, TunnelType::Ipip, TunnelCsum::NoCsum, 1480),
        (Family::V4, TunnelType::Gue, TunnelCsum::Csum, 1468),
        (Family::V4, TunnelType::Gre, TunnelCsum::NoCsum, 1476),
        (Family::V4, TunnelType::Gre, TunnelCsum::Csum, 1472),
        (Family::V6, TunnelType::Ipip, TunnelCsum::NoCsum, 1460),
        (Family::V6, TunnelType::Gue, TunnelCsum::NoCsum, 1448),
        (Family::V6, TunnelType::Gre, TunnelCsum::Csum, 1452),
    ];
    for (outer, kind, csum, mtu) in table {
        let t = tun(outer, kind, csum);
        assert_eq!(t.inner_mtu(1500), mtu);
        for inner in FAMILIES {
            let header = if inner == Family::V4 { 20 + 8 } else { 40 + 8 };
            let sized = |len: u32, df: bool| Spec {
                payload: vec![0; (len as usize) - header],
                dont_frag: df,
                ..Spec::request(inner, L4::Udp)
            };
            let run = |spec: &Spec| {
                let mut frame = spec.build();
                let mut out = vec![0u8; 2048];
                tunnel(
                    &mut frame,
                    &mut out,
                    &t,
                    &fwd(RS_MAC, 1500),
                    &mut IpIdCounter::new(0),
                )
            };
            let desc = format!("{inner:?} in {outer:?} {kind:?} {csum:?}");
            let fits = run(&sized(mtu, true)).unwrap_or_else(|e| panic!("{desc}: {e}"));
            assert_eq!(fits, 14 + 1500, "{desc}");
            let too_big = run(&sized(mtu + 1, true));
            assert_eq!(
                too_big,
                Err(RewriteError::TooBig { mtu, icmp: true }),
                "{desc}"
            );
            if inner == Family::V4 {
                assert_eq!(
                    run(&sized(mtu + 1, false)),
                    Err(RewriteError::NeedsFragmenting { mtu: 1500 }),
                    "{desc} without DF"
                );
            }
        }
    }
    // pmtu_disc off: IPv4 with DF is let through to be fragmented; IPv6 is still refused.
    let t = Tunnel {
        pmtu_disc: false,
        ..tun(Family::V4, TunnelType::Ipip, TunnelCsum::NoCsum)
    };
    for (inner, expected) in [
        (Family::V4, RewriteError::NeedsFragmenting { mtu: 1500 }),
        (
            Family::V6,
            RewriteError::TooBig {
                mtu: 1480,
                icmp: true,
            },
        ),
    ] {
        let mut frame = Spec {
            payload: vec![0; 1460],
            ..Spec::request(inner, L4::Udp)
        }
        .build();
        let mut out = vec![0u8; 2048];
        assert_eq!(
            tunnel(
                &mut frame,
                &mut out,
                &t,
                &fwd(RS_MAC, 1500),
                &mut IpIdCounter::new(0)
            ),
            Err(expected),
            "{inner:?}"
        );
    }
}

#[test]
fn tunnel_from_destination_configuration() {
    let conf = lb_core::TunnelConf {
        kind: TunnelType::Gue,
        port: 6080,
        csum: TunnelCsum::RemCsum,
    };
    let t = Tunnel::new(&conf, IpAddr::V4(DIP4), IpAddr::V4(RIP4));
    assert_eq!(
        t,
        Tunnel {
            kind: TunnelType::Gue,
            csum: TunnelCsum::RemCsum,
            gue_port: 6080,
            src: IpAddr::V4(DIP4),
            dst: IpAddr::V4(RIP4),
            pmtu_disc: true,
            flow_hash_seed: 0,
        }
    );
    assert_eq!(t.overhead(), 32);
}

#[test]
fn tunnel_errors() {
    let t4 = tun(Family::V4, TunnelType::Ipip, TunnelCsum::NoCsum);
    let t6 = tun(Family::V6, TunnelType::Gue, TunnelCsum::NoCsum);
    let input = Spec::request(Family::V4, L4::Tcp);
    let run = |spec: &Spec, t: &Tunnel, mtu: u32, out_len: usize| {
        let mut frame = spec.build();
        let mut out = vec![0u8; out_len];
        let got = tunnel(
            &mut frame,
            &mut out,
            t,
            &fwd(RS_MAC, mtu),
            &mut IpIdCounter::new(0),
        );
        (got, frame)
    };
    // Tunnel MTU below 68 (IPv4 outer) / 1280 (IPv6 outer): dropped without answer.
    assert_eq!(
        run(&input, &t4, 87, 512).0,
        Err(RewriteError::TunnelMtuTooSmall { mtu: 67 })
    );
    assert!(run(&input, &t4, 88, 512).0.is_ok());
    assert_eq!(
        run(&input, &t6, 1331, 512).0,
        Err(RewriteError::TunnelMtuTooSmall { mtu: 1279 })
    );
    assert!(run(&input, &t6, 1332, 512).0.is_ok());
    // TTL 1.
    let (got, frame) = run(
        &Spec {
            ttl: 1,
            ..input.clone()
        },
        &t4,
        1500,
        512,
    );
    assert_eq!(got, Err(RewriteError::TtlExceeded));
    assert_eq!(
        frame,
        Spec {
            ttl: 1,
            ..input.clone()
        }
        .build()
    );
    // Output buffer too small: nothing touched.
    let needed = input.build().len() + 20;
    let (got, frame) = run(&input, &t4, 1500, needed - 1);
    assert_eq!(got, Err(RewriteError::BufferTooSmall { needed }));
    assert_eq!(frame, input.build());
    // Outer addresses of two families.
    let mixed = Tunnel {
        src: IpAddr::V6(dip6()),
        ..t4
    };
    assert_eq!(
        run(&input, &mixed, 1500, 512).0,
        Err(RewriteError::FamilyMismatch)
    );
}

/// Golden bytes: an empty UDP datagram 198.18.0.10:40000 → 198.18.1.1:80 in IPIP from
/// 198.19.0.1 to 198.19.0.21, no DF on the inner packet (outer ident from the counter).
#[test]
fn golden_ipip_v4() {
    let input = Spec {
        ds: 0x03,
        dont_frag: false,
        ident: 0x0001,
        payload: vec![],
        ..Spec::request(Family::V4, L4::Udp)
    };
    let mut frame = input.build();
    let mut out = [0u8; 128];
    let len = tunnel(
        &mut frame,
        &mut out,
        &tun(Family::V4, TunnelType::Ipip, TunnelCsum::NoCsum),
        &fwd(RS_MAC, 1500),
        &mut IpIdCounter::new(0x0a0b),
    )
    .unwrap();
    #[rustfmt::skip]
    let golden: [u8; 62] = [
        0x02, 0x5e, 0x00, 0x00, 0x00, 0x01, 0x02, 0xd1, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
        // outer: TOS 0x02 (CE → ECT(0)), length 48, ident 0x0a0b, no DF, TTL 63, IPIP
        0x45, 0x02, 0x00, 0x30, 0x0a, 0x0b, 0x00, 0x00, 0x3f, 0x04, 0xe5, 0x80,
        198, 19, 0, 1, 198, 19, 0, 21,
        // inner: TOS 0x03, length 28, ident 1, TTL 63, UDP
        0x45, 0x03, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x3f, 0x11, 0xee, 0x9d,
        198, 18, 0, 10, 198, 18, 1, 1,
        // UDP 40000 → 80, length 8, checksum
        0x9c, 0x40, 0x00, 0x50, 0x00, 0x08, 0xd6, 0x1d,
    ];
    assert_frame("golden IPIP", &out[..len], &golden);
}

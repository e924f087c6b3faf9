//! IPv6 neighbour discovery for the addresses the director owns: advertisements answering
//! solicitations, unsolicited advertisements, solicitations. Expected frames are built with
//! etherparse (ICMPv6 checksum included) and every frame is verified again.

mod rewrite_support;

use std::net::{IpAddr, Ipv6Addr};

use etherparse::PacketBuilder;
use lb_io::neigh::ndp::{multicast_mac, solicited_node, ALL_NODES};
use lb_io::neigh::{
    answer_ndp, neighbour_solicitation, unsolicited_na, NeighError, OwnedAddresses,
};
use lb_io::wire::{EthernetAddress, NdpNeighborFlags, NdpRepr, VlanStack};
use rewrite_support::*;

const VIP_MAC: [u8; 6] = [0x02, 0x1b, 0, 0, 0, 0x06];

fn owned(router: bool) -> OwnedAddresses {
    let mut o = OwnedAddresses::new();
    o.add(IpAddr::V6(vip6()), mac(VIP_MAC));
    o.router = router;
    o
}

/// A neighbour-discovery frame built by etherparse: `msg_type` 135 (NS) or 136 (NA), the
/// four bytes after the checksum, the target, and an optional link-layer option.
#[allow(clippy::too_many_arguments)]
fn nd_frame(
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    msg_type: u8,
    rest: [u8; 4],
    target: Ipv6Addr,
    option: Option<(u8, [u8; 6])>,
) -> Vec<u8> {
    let mut payload = target.octets().to_vec();
    if let Some((kind, mac)) = option {
        payload.extend_from_slice(&[kind, 1]);
        payload.extend_from_slice(&mac);
    }
    let mut out = Vec::new();
    PacketBuilder::ethernet2(eth_src, eth_dst)
        .ipv6(src.octets(), dst.octets(), hop_limit)
        .icmpv6_raw(msg_type, 0, rest)
        .write(&mut out, &payload)
        .unwrap();
    out
}

fn ns(src: Ipv6Addr, dst: Ipv6Addr, target: Ipv6Addr, slla: Option<[u8; 6]>) -> Vec<u8> {
    let eth_dst = if dst.is_multicast() {
        multicast_mac(&dst).0
    } else {
        VIP_MAC
    };
    nd_frame(
        eth_dst,
        CLIENT_MAC,
        src,
        dst,
        255,
        135,
        [0; 4],
        target,
        slla.map(|m| (1, m)),
    )
}

fn na(eth_dst: [u8; 6], dst: Ipv6Addr, flags: u8, with_option: bool) -> Vec<u8> {
    nd_frame(
        eth_dst,
        VIP_MAC,
        vip6(),
        dst,
        255,
        136,
        [flags, 0, 0, 0],
        vip6(),
        with_option.then_some((2, VIP_MAC)),
    )
}

#[test]
fn addresses() {
    let a: Ipv6Addr = "2001:db8::1:2345:6789".parse().unwrap();
    assert_eq!(
        solicited_node(&a),
        "ff02::1:ff45:6789".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        multicast_mac(&solicited_node(&a)),
        EthernetAddress([0x33, 0x33, 0xff, 0x45, 0x67, 0x89])
    );
    assert_eq!(
        multicast_mac(&ALL_NODES),
        EthernetAddress([0x33, 0x33, 0, 0, 0, 1])
    );
}

#[test]
fn advertisements_answering_solicitations() {
    let group = solicited_node(&vip6());
    struct Case {
        desc: &'static str,
        input: Vec<u8>,
        router: bool,
        expected: Option<Vec<u8>>,
    }
    let cases = vec![
        Case {
            desc: "multicast NS with source option: S|O, target option, to the source option",
            input: ns(cip6(), group, vip6(), Some(CLIENT_MAC)),
            router: false,
            expected: Some(na(CLIENT_MAC, cip6(), 0x60, true)),
        },
        Case {
            desc: "router flag",
            input: ns(cip6(), group, vip6(), Some(CLIENT_MAC)),
            router: true,
            expected: Some(na(CLIENT_MAC, cip6(), 0xe0, true)),
        },
        Case {
            desc: "unicast NS (reachability probe): S only, no option",
            input: ns(cip6(), vip6(), vip6(), Some(CLIENT_MAC)),
            router: false,
            expected: Some(na(CLIENT_MAC, cip6(), 0x40, false)),
        },
        Case {
            desc: "unicast NS without source option: to the frame's source",
            input: ns(cip6(), vip6(), vip6(), None),
            router: false,
            expected: Some(na(CLIENT_MAC, cip6(), 0x40, false)),
        },
        Case {
            desc: "duplicate address detection: to all nodes, O, option",
            input: ns(Ipv6Addr::UNSPECIFIED, group, vip6(), None),
            router: false,
            expected: Some(na([0x33, 0x33, 0, 0, 0, 1], ALL_NODES, 0x20, true)),
        },
        Case {
            desc: "NS for an address not owned",
            input: ns(cip6(), solicited_node(&rip6()), rip6(), Some(CLIENT_MAC)),
            router: false,
            expected: None,
        },
        Case {
            desc: "NS for the VIP sent to another group",
            input: ns(cip6(), solicited_node(&rip6()), vip6(), Some(CLIENT_MAC)),
            router: false,
            expected: None,
        },
        Case {
            desc: "an advertisement is not answered",
            input: nd_frame(
                DIRECTOR_MAC,
                RS_MAC,
                rip6(),
                dip6(),
                255,
                136,
                [0x60, 0, 0, 0],
                rip6(),
                Some((2, RS_MAC)),
            ),
            router: false,
            expected: None,
        },
    ];
    for case in cases {
        let mut out = [0u8; 128];
        let rx = answer_ndp(&case.input, &owned(case.router), &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", case.desc));
        match (&case.expected, rx.reply_len) {
            (Some(want), Some(len)) => {
                assert!(rx.solicits_us, "{}", case.desc);
                assert_frame(case.desc, &out[..len], want);
                verify_frame(&out[..len], false);
            }
            (None, None) => assert!(!rx.solicits_us, "{}", case.desc),
            (want, got) => panic!("{}: {want:?} vs {got:?}", case.desc),
        }
    }
}

#[test]
fn what_was_received() {
    let mut out = [0u8; 128];
    let frame = ns(cip6(), solicited_node(&vip6()), vip6(), Some(CLIENT_MAC));
    let rx = answer_ndp(&frame, &owned(false), &mut out).unwrap();
    assert_eq!(rx.src_addr, cip6());
    assert!(rx.dst_multicast);
    assert_eq!(rx.frame_src, mac(CLIENT_MAC));
    assert_eq!(
        rx.message,
        NdpRepr::NeighborSolicit {
            target_addr: vip6(),
            source_lladdr: Some(mac(CLIENT_MAC)),
        }
    );
}

#[test]
fn invalid_messages() {
    let group = solicited_node(&vip6());
    let mut bad_sum = ns(cip6(), group, vip6(), Some(CLIENT_MAC));
    let last = bad_sum.len() - 1;
    bad_sum[last] ^= 0xFF;
    let mut bad_code = ns(cip6(), group, vip6(), Some(CLIENT_MAC));
    // code 1, checksum recomputed over the pseudo-header and the message
    bad_code[14 + 40 + 1] = 1;
    bad_code[56..58].copy_from_slice(&[0, 0]);
    let mut pseudo = bad_code[22..54].to_vec();
    pseudo.extend_from_slice(&((bad_code.len() - 54) as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    pseudo.extend_from_slice(&bad_code[54..]);
    let sum = ref_checksum(&pseudo);
    bad_code[56..58].copy_from_slice(&sum.to_be_bytes());
    let cases: Vec<(&str, Vec<u8>, NeighError)> = vec![
        (
            "hop limit 64",
            nd_frame(
                multicast_mac(&group).0,
                CLIENT_MAC,
                cip6(),
                group,
                64,
                135,
                [0; 4],
                vip6(),
                Some((1, CLIENT_MAC)),
            ),
            NeighError::Invalid("hop limit is not 255"),
        ),
        (
            "bad checksum",
            bad_sum,
            NeighError::Invalid("bad ICMPv6 checksum"),
        ),
        (
            "code 1",
            bad_code,
            NeighError::Malformed(lb_io::wire::Error::Malformed),
        ),
        (
            "multicast target",
            ns(cip6(), group, "ff02::1".parse().unwrap(), Some(CLIENT_MAC)),
            NeighError::Invalid("solicited target is multicast"),
        ),
        (
            "DAD with a source option",
            ns(Ipv6Addr::UNSPECIFIED, group, vip6(), Some(CLIENT_MAC)),
            NeighError::Invalid("bad duplicate address detection"),
        ),
        (
            "DAD to the unicast address",
            ns(Ipv6Addr::UNSPECIFIED, vip6(), vip6(), None),
            NeighError::Invalid("bad duplicate address detection"),
        ),
        (
            "solicited advertisement to a multicast address",
            nd_frame(
                [0x33, 0x33, 0, 0, 0, 1],
                RS_MAC,
                rip6(),
                ALL_NODES,
                255,
                136,
                [0x40, 0, 0, 0],
                rip6(),
                None,
            ),
            NeighError::Invalid("solicited advertisement is multicast"),
        ),
        (
            "ICMPv6 echo",
            Spec::request(Family::V6, L4::Echo).build(),
            NeighError::NotNeighbour,
        ),
        (
            "IPv4",
            Spec::request(Family::V4, L4::Echo).build(),
            NeighError::NotNeighbour,
        ),
    ];
    for (desc, frame, expected) in cases {
        let mut out = [0u8; 128];
        assert_eq!(
            answer_ndp(&frame, &owned(false), &mut out),
            Err(expected),
            "{desc}"
        );
    }
    let frame = ns(cip6(), group, vip6(), Some(CLIENT_MAC));
    let mut small = [0u8; 20];
    assert_eq!(
        answer_ndp(&frame, &owned(false), &mut small),
        Err(NeighError::BufferTooSmall {
            needed: 14 + 40 + 32
        })
    );
}

#[test]
fn unsolicited_advertisement() {
    let mut out = [0u8; 128];
    let len = unsolicited_na(mac(VIP_MAC), vip6(), false, VlanStack::None, &mut out).unwrap();
    assert_frame(
        "unsolicited NA",
        &out[..len],
        &na([0x33, 0x33, 0, 0, 0, 1], ALL_NODES, 0x20, true),
    );
    verify_frame(&out[..len], false);
    let len = unsolicited_na(mac(VIP_MAC), vip6(), true, VlanStack::None, &mut out).unwrap();
    assert_eq!(len, 86);
    assert_eq!(out[14 + 40 + 4], 0xa0, "router | override");
    verify_frame(&out[..len], false);
    #[rustfmt::skip]
    let golden: [u8; 86] = [
        0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x02, 0x1b, 0x00, 0x00, 0x00, 0x06, 0x86, 0xdd,
        0x60, 0x00, 0x00, 0x00, 0x00, 0x20, 0x3a, 0xff,
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x88, 0x00, 0xf9, 0x08, 0x20, 0x00, 0x00, 0x00,
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
        0x02, 0x01, 0x02, 0x1b, 0x00, 0x00, 0x00, 0x06,
    ];
    let len = unsolicited_na(mac(VIP_MAC), vip6(), false, VlanStack::None, &mut out).unwrap();
    assert_frame("golden unsolicited NA", &out[..len], &golden);
}

#[test]
fn solicitations() {
    let mut out = [0u8; 128];
    let len = neighbour_solicitation(
        mac(DIRECTOR_MAC),
        dip6(),
        rip6(),
        None,
        VlanStack::None,
        &mut out,
    )
    .unwrap();
    let group = solicited_node(&rip6());
    let want = nd_frame(
        multicast_mac(&group).0,
        DIRECTOR_MAC,
        dip6(),
        group,
        255,
        135,
        [0; 4],
        rip6(),
        Some((1, DIRECTOR_MAC)),
    );
    assert_frame("multicast NS", &out[..len], &want);
    verify_frame(&out[..len], false);

    let len = neighbour_solicitation(
        mac(DIRECTOR_MAC),
        dip6(),
        rip6(),
        Some(mac(RS_MAC)),
        VlanStack::None,
        &mut out,
    )
    .unwrap();
    let want = nd_frame(
        RS_MAC,
        DIRECTOR_MAC,
        dip6(),
        rip6(),
        255,
        135,
        [0; 4],
        rip6(),
        Some((1, DIRECTOR_MAC)),
    );
    assert_frame("unicast NS", &out[..len], &want);

    let len = neighbour_solicitation(
        mac(DIRECTOR_MAC),
        Ipv6Addr::UNSPECIFIED,
        rip6(),
        None,
        VlanStack::None,
        &mut out,
    )
    .unwrap();
    let want = nd_frame(
        multicast_mac(&group).0,
        DIRECTOR_MAC,
        Ipv6Addr::UNSPECIFIED,
        group,
        255,
        135,
        [0; 4],
        rip6(),
        None,
    );
    assert_frame("DAD NS: no source option", &out[..len], &want);

    // Our own NS is answered by a peer owning the address.
    let mut peer = OwnedAddresses::new();
    peer.add(IpAddr::V6(rip6()), mac(RS_MAC));
    let ours = nd_frame(
        multicast_mac(&group).0,
        DIRECTOR_MAC,
        dip6(),
        group,
        255,
        135,
        [0; 4],
        rip6(),
        Some((1, DIRECTOR_MAC)),
    );
    let rx = answer_ndp(&ours, &peer, &mut out).unwrap();
    let flags = NdpNeighborFlags::SOLICITED | NdpNeighborFlags::OVERRIDE;
    let len = rx.reply_len.unwrap();
    assert_eq!(out[14 + 40 + 4], flags.0);
    verify_frame(&out[..len], false);
}

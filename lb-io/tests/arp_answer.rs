//! ARP for the addresses the director owns: answers, gratuitous ARP, requests. Tables of
//! {description, input frame, expected frame or error}; Ethernet headers of expected frames
//! are built with etherparse (which has no ARP), ARP bodies written out field by field.

mod rewrite_support;

use std::net::{IpAddr, Ipv4Addr};

use etherparse::{EtherType, Ethernet2Header, SingleVlanHeader, VlanId};
use lb_core::Time;
use lb_io::neigh::{
    answer_arp, arp_request, gratuitous_arp, Handled, NeighError, NeighParams, NeighState,
    Neighbours, OwnedAddresses,
};
use lb_io::wire::{ArpOperation, Error as WireError, VlanStack, VlanTag};
use rewrite_support::*;

const VIP_MAC: [u8; 6] = [0x02, 0x1b, 0, 0, 0, 0x01];

/// An ARP frame: Ethernet (optionally one 802.1Q tag) then the 28-byte ARP body.
#[allow(clippy::too_many_arguments)]
fn arp_frame(
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    vlan: Option<u16>,
    op: u16,
    sha: [u8; 6],
    spa: Ipv4Addr,
    tha: [u8; 6],
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut out = Vec::new();
    match vlan {
        None => out.extend_from_slice(
            &Ethernet2Header {
                source: eth_src,
                destination: eth_dst,
                ether_type: EtherType::ARP,
            }
            .to_bytes(),
        ),
        Some(v) => {
            out.extend_from_slice(
                &Ethernet2Header {
                    source: eth_src,
                    destination: eth_dst,
                    ether_type: EtherType::VLAN_TAGGED_FRAME,
                }
                .to_bytes(),
            );
            out.extend_from_slice(
                &SingleVlanHeader {
                    vlan_id: VlanId::try_new(v).unwrap(),
                    ether_type: EtherType::ARP,
                    ..Default::default()
                }
                .to_bytes(),
            );
        }
    }
    out.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
    out.extend_from_slice(&op.to_be_bytes());
    out.extend_from_slice(&sha);
    out.extend_from_slice(&spa.octets());
    out.extend_from_slice(&tha);
    out.extend_from_slice(&tpa.octets());
    out
}

fn owned() -> OwnedAddresses {
    let mut o = OwnedAddresses::new();
    assert!(o.add(IpAddr::V4(VIP4), mac(VIP_MAC)));
    assert!(!o.add(IpAddr::V4(VIP4), mac(VIP_MAC)), "already owned");
    o
}

#[test]
fn answers() {
    struct Case {
        desc: &'static str,
        input: Vec<u8>,
        reply: Option<Vec<u8>>,
        request_for_us: bool,
        link_unicast: bool,
    }
    let who_has = |vlan, tpa| {
        arp_frame(
            [0xff; 6], CLIENT_MAC, vlan, 1, CLIENT_MAC, CIP4, [0; 6], tpa,
        )
    };
    let cases = vec![
        Case {
            desc: "who has the VIP",
            input: who_has(None, VIP4),
            reply: Some(arp_frame(
                CLIENT_MAC, VIP_MAC, None, 2, VIP_MAC, VIP4, CLIENT_MAC, CIP4,
            )),
            request_for_us: true,
            link_unicast: false,
        },
        Case {
            desc: "who has the VIP, VLAN 42",
            input: who_has(Some(42), VIP4),
            reply: Some(arp_frame(
                CLIENT_MAC,
                VIP_MAC,
                Some(42),
                2,
                VIP_MAC,
                VIP4,
                CLIENT_MAC,
                CIP4,
            )),
            request_for_us: true,
            link_unicast: false,
        },
        Case {
            desc: "unicast re-probe of the VIP",
            input: arp_frame(
                VIP_MAC, CLIENT_MAC, None, 1, CLIENT_MAC, CIP4, VIP_MAC, VIP4,
            ),
            reply: Some(arp_frame(
                CLIENT_MAC, VIP_MAC, None, 2, VIP_MAC, VIP4, CLIENT_MAC, CIP4,
            )),
            request_for_us: true,
            link_unicast: true,
        },
        Case {
            desc: "duplicate address probe for the VIP (sender 0.0.0.0)",
            input: arp_frame(
                [0xff; 6],
                CLIENT_MAC,
                None,
                1,
                CLIENT_MAC,
                Ipv4Addr::UNSPECIFIED,
                [0; 6],
                VIP4,
            ),
            reply: Some(arp_frame(
                CLIENT_MAC,
                VIP_MAC,
                None,
                2,
                VIP_MAC,
                VIP4,
                CLIENT_MAC,
                Ipv4Addr::UNSPECIFIED,
            )),
            request_for_us: true,
            link_unicast: false,
        },
        Case {
            desc: "who has another address",
            input: who_has(None, RIP4),
            reply: None,
            request_for_us: false,
            link_unicast: false,
        },
        Case {
            desc: "a reply for the VIP is not answered",
            input: arp_frame(
                DIRECTOR_MAC,
                CLIENT_MAC,
                None,
                2,
                CLIENT_MAC,
                CIP4,
                VIP_MAC,
                VIP4,
            ),
            reply: None,
            request_for_us: false,
            link_unicast: true,
        },
    ];
    for case in cases {
        let mut out = [0u8; 64];
        let rx = answer_arp(&case.input, &owned(), &mut out).unwrap();
        assert_eq!(rx.request_for_us, case.request_for_us, "{}", case.desc);
        assert_eq!(rx.link_unicast, case.link_unicast, "{}", case.desc);
        match (&case.reply, rx.reply_len) {
            (Some(want), Some(len)) => assert_frame(case.desc, &out[..len], want),
            (None, None) => {}
            (want, got) => panic!("{}: reply {want:?} vs {got:?}", case.desc),
        }
    }
}

#[test]
fn discarded_and_unreadable() {
    let mut out = [0u8; 64];
    let with = |op: u16, spa: Ipv4Addr, tpa: Ipv4Addr| {
        arp_frame(
            [0xff; 6], CLIENT_MAC, None, op, CLIENT_MAC, spa, [0; 6], tpa,
        )
    };
    let cases: Vec<(&str, Vec<u8>, NeighError)> = vec![
        (
            "multicast target",
            with(1, CIP4, Ipv4Addr::new(224, 0, 0, 1)),
            NeighError::Invalid("ARP target multicast or loopback"),
        ),
        (
            "loopback target",
            with(1, CIP4, Ipv4Addr::LOCALHOST),
            NeighError::Invalid("ARP target multicast or loopback"),
        ),
        (
            "multicast sender",
            with(1, Ipv4Addr::new(239, 1, 1, 1), VIP4),
            NeighError::Invalid("ARP sender multicast"),
        ),
        (
            "RARP operation",
            with(3, CIP4, VIP4),
            NeighError::Invalid("ARP operation neither request nor reply"),
        ),
        (
            "not ARP",
            Spec::request(Family::V4, L4::Udp).build(),
            NeighError::NotNeighbour,
        ),
        (
            "truncated",
            with(1, CIP4, VIP4)[..41].to_vec(),
            NeighError::Malformed(WireError::Truncated),
        ),
        (
            "not IPv4 over Ethernet",
            {
                let mut f = with(1, CIP4, VIP4);
                f[16..18].copy_from_slice(&[0x86, 0xdd]);
                f
            },
            NeighError::Malformed(WireError::Unsupported),
        ),
    ];
    for (desc, frame, expected) in cases {
        assert_eq!(
            answer_arp(&frame, &owned(), &mut out),
            Err(expected),
            "{desc}"
        );
    }
    let request = with(1, CIP4, VIP4);
    let mut small = [0u8; 41];
    assert_eq!(
        answer_arp(&request, &owned(), &mut small),
        Err(NeighError::BufferTooSmall { needed: 42 })
    );
}

#[test]
fn gratuitous_arp_golden() {
    let mut out = [0u8; 64];
    let len = gratuitous_arp(mac(VIP_MAC), VIP4, VlanStack::None, &mut out).unwrap();
    #[rustfmt::skip]
    let golden: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x1b, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
        0x02, 0x1b, 0x00, 0x00, 0x00, 0x01, 198, 18, 1, 1,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 198, 18, 1, 1,
    ];
    assert_frame("gratuitous ARP", &out[..len], &golden);
    let tag = VlanTag {
        tpid: lb_io::wire::EtherType::VLAN,
        pcp: 0,
        dei: false,
        vid: 42,
    };
    let len = gratuitous_arp(mac(VIP_MAC), VIP4, VlanStack::Single(tag), &mut out).unwrap();
    assert_frame(
        "tagged",
        &out[..len],
        &arp_frame([0xff; 6], VIP_MAC, Some(42), 1, VIP_MAC, VIP4, [0; 6], VIP4),
    );
}

#[test]
fn requests() {
    let mut out = [0u8; 64];
    let len = arp_request(
        mac(DIRECTOR_MAC),
        DIP4,
        RIP4,
        None,
        VlanStack::None,
        &mut out,
    )
    .unwrap();
    assert_frame(
        "broadcast request",
        &out[..len],
        &arp_frame(
            [0xff; 6],
            DIRECTOR_MAC,
            None,
            1,
            DIRECTOR_MAC,
            DIP4,
            [0; 6],
            RIP4,
        ),
    );
    let len = arp_request(
        mac(DIRECTOR_MAC),
        DIP4,
        RIP4,
        Some(mac(RS_MAC)),
        VlanStack::None,
        &mut out,
    )
    .unwrap();
    assert_frame(
        "unicast re-probe",
        &out[..len],
        &arp_frame(
            RS_MAC,
            DIRECTOR_MAC,
            None,
            1,
            DIRECTOR_MAC,
            DIP4,
            [0; 6],
            RIP4,
        ),
    );
    assert_eq!(
        arp_request(
            mac(DIRECTOR_MAC),
            DIP4,
            RIP4,
            None,
            VlanStack::None,
            &mut out[..10]
        ),
        Err(NeighError::BufferTooSmall { needed: 42 })
    );
}

/// The receive loop: answer, learn, release what waited, announce.
#[test]
fn neighbours_handle_frame() {
    let mut n = Neighbours::new(NeighParams::default());
    n.owned.add(IpAddr::V4(VIP4), mac(VIP_MAC));
    let t0 = Time::from_secs(100);
    let mut out = [0u8; 128];

    // A client asks for the VIP: answered, and the client learnt (stale).
    let request = arp_frame(
        [0xff; 6], CLIENT_MAC, None, 1, CLIENT_MAC, CIP4, [0; 6], VIP4,
    );
    let handled = n.handle_frame(&request, t0, &mut out).unwrap();
    assert_eq!(handled.reply_len, Some(42));
    assert_eq!(handled.released, None);
    assert_eq!(n.cache.state(&IpAddr::V4(CIP4)), Some(NeighState::Stale));
    assert_eq!(n.cache.lookup(&IpAddr::V4(CIP4)), Some(mac(CLIENT_MAC)));

    // We resolve a real server; its reply releases the queued frame.
    let queued = Spec::request(Family::V4, L4::Tcp).build();
    n.cache.resolve_or_queue(IpAddr::V4(RIP4), &queued, t0);
    let reply = arp_frame(
        DIRECTOR_MAC,
        RS_MAC,
        None,
        2,
        RS_MAC,
        RIP4,
        DIRECTOR_MAC,
        DIP4,
    );
    let handled = n.handle_frame(&reply, t0, &mut out).unwrap();
    assert_eq!(handled.reply_len, None);
    let released = handled.released.unwrap();
    assert_eq!(released.mac, mac(RS_MAC));
    assert_eq!(released.frames, vec![queued]);
    assert_eq!(
        n.cache.state(&IpAddr::V4(RIP4)),
        Some(NeighState::Reachable)
    );

    // Not a neighbour frame.
    assert_eq!(
        n.handle_frame(&Spec::request(Family::V4, L4::Udp).build(), t0, &mut out),
        Err(NeighError::NotNeighbour)
    );
    assert_eq!(
        n.handle_frame(&request[..20], t0, &mut out),
        Err(NeighError::Malformed(WireError::Truncated))
    );

    // Announcements.
    let len = n
        .announce(IpAddr::V4(VIP4), VlanStack::None, &mut out)
        .unwrap();
    assert_eq!(out[..len][20..22], ArpOperation::REQUEST.0.to_be_bytes());
    assert_eq!(&out[38..42], &VIP4.octets());
    assert_eq!(
        n.announce(IpAddr::V4(RIP4), VlanStack::None, &mut out),
        Err(NeighError::Invalid("address not owned"))
    );
    assert!(n.owned.remove(&IpAddr::V4(VIP4)));
    assert!(n.owned.is_empty());
    let handled = n.handle_frame(&request, t0, &mut out).unwrap();
    assert_eq!(handled, Handled::default());
}

//! The whole per-packet path (frame → engine → rewrite), Katran style: a table of
//! {description, input frame, action, expected frames} run in order through one director
//! and one engine, for NAT, direct routing and tunnels × TCP / UDP × IPv4 / IPv6, NAT
//! replies, port unreachable, the answers for VIPs. Expected frames are built independently
//! with etherparse; every frame sent is parsed again with every checksum recomputed.

mod path_support;
mod rewrite_support;

use std::net::IpAddr;

use lb_core::engine::DropReason;
use lb_core::{FwdMethod, Time};
use lb_io::path::{Action, DropCause, InterfaceConfig, LinkId, PassCause};
use lb_io::wire::EthernetAddress;
use path_support::*;
use rewrite_support::*;

/// The NAT'd request: to the real server's port 8080, from the director to the server.
fn nat_in_expected(input: &Spec) -> Spec {
    let (_, _, rip, _) = addrs(input.family());
    Spec {
        src_mac: DIRECTOR_MAC,
        dst_mac: RS_MAC,
        dst: rip,
        dport: 8080,
        ttl: input.ttl - 1,
        ..input.clone()
    }
}

/// The directly routed request: the same packet, TTL − 1, to the real server's MAC.
fn dr_expected(input: &Spec) -> Spec {
    Spec {
        src_mac: DIRECTOR_MAC,
        dst_mac: RS_MAC,
        ttl: input.ttl - 1,
        ..input.clone()
    }
}

/// The IPIP (or IPv6-in-IPv6) packet for the real server: outer header from the director,
/// TTL and DS field of the inner packet (no CE here), DF copied, identification 0 under DF.
fn ipip_expected(input: &Spec, syn: bool) -> Vec<u8> {
    let inner = frame_of(
        &Spec {
            ttl: input.ttl - 1,
            ..input.clone()
        },
        syn,
    );
    let inner = ip_of(&inner);
    match (addrs(input.family()).3, addrs(input.family()).2) {
        (IpAddr::V4(dip), IpAddr::V4(rip)) => frame_with(
            DIRECTOR_MAC,
            RS_MAC,
            ipv4_header(dip, rip, input.ttl - 1, input.ds, 0, input.dont_frag),
            4,
            inner,
        ),
        (IpAddr::V6(dip), IpAddr::V6(rip)) => frame_with(
            DIRECTOR_MAC,
            RS_MAC,
            ipv6_header(dip, rip, input.ttl - 1, input.ds),
            41,
            inner,
        ),
        _ => unreachable!(),
    }
}

/// The GRE packet with checksum for the real server (IPv4 outside and inside).
fn gre_csum_expected(input: &Spec) -> Vec<u8> {
    let inner = frame_of(
        &Spec {
            ttl: input.ttl - 1,
            ..input.clone()
        },
        true,
    );
    let mut gre = vec![0x80, 0x00, 0x08, 0x00, 0, 0, 0, 0];
    gre.extend_from_slice(ip_of(&inner));
    let sum = ref_checksum(&gre);
    gre[4..6].copy_from_slice(&sum.to_be_bytes());
    frame_with(
        DIRECTOR_MAC,
        RS_MAC,
        ipv4_header(DIP4, RIP4, input.ttl - 1, input.ds, 0, true),
        47,
        &gre,
    )
}

/// The NAT'd reply: from the VIP's port 80, on to the clients' gateway.
fn nat_out_expected(reply: &Spec) -> Spec {
    let (_, vip, _, _) = addrs(reply.family());
    Spec {
        src_mac: DIRECTOR_MAC,
        dst_mac: GATEWAY_MAC,
        src: vip,
        sport: 80,
        ttl: reply.ttl - 1,
        ..reply.clone()
    }
}

/// Port unreachable for `input` (a request to the VIP), from the VIP, quoting the whole
/// packet; `ident` is the IPv4 identification.
fn port_unreachable(input: &[u8], family: Family, ident: u16) -> Vec<u8> {
    let (cip, vip, _, _) = addrs(family);
    match (vip, cip) {
        (IpAddr::V4(vip), IpAddr::V4(cip)) => icmp4_frame(
            DIRECTOR_MAC,
            GATEWAY_MAC,
            ipv4_header(vip, cip, 64, 0xC0 | (0x28 & 0x1E), ident, false),
            3,
            3,
            [0; 4],
            ip_of(input),
        ),
        (IpAddr::V6(vip), IpAddr::V6(cip)) => icmp6_frame(
            DIRECTOR_MAC,
            GATEWAY_MAC,
            ipv6_header(vip, cip, 64, 0),
            1,
            4,
            [0; 4],
            ip_of(input),
        ),
        _ => unreachable!(),
    }
}

fn rows_of_family(family: Family, icmp_ident: u16) -> Vec<Case> {
    let mut cases = Vec::new();
    for l4 in [L4::Tcp, L4::Udp] {
        let name = |what: &str| format!("{family:?} {l4:?} {what}");
        let nat = request(family, l4, 80);
        cases.push(Case {
            desc: name("NAT, new connection"),
            input: frame_of(&nat, true),
            action: Action::Forwarded(FwdMethod::Masq),
            sent: vec![frame_of(&nat_in_expected(&nat), true)],
        });
        let reply = Spec::reply(family, l4);
        cases.push(Case {
            desc: name("NAT reply"),
            input: reply.build(),
            action: Action::Replied,
            sent: vec![nat_out_expected(&reply).build()],
        });
        cases.push(Case {
            desc: name("NAT, established connection"),
            input: frame_of(&nat, false),
            action: Action::Forwarded(FwdMethod::Masq),
            sent: vec![frame_of(&nat_in_expected(&nat), false)],
        });
        let dr = request(family, l4, 81);
        cases.push(Case {
            desc: name("direct routing"),
            input: frame_of(&dr, true),
            action: Action::Forwarded(FwdMethod::Route),
            sent: vec![frame_of(&dr_expected(&dr), true)],
        });
        let tun = request(family, l4, 82);
        cases.push(Case {
            desc: name("IPIP tunnel"),
            input: frame_of(&tun, true),
            action: Action::Forwarded(FwdMethod::Tunnel),
            sent: vec![ipip_expected(&tun, true)],
        });
    }
    let none = request(family, L4::Tcp, 90);
    let input = frame_of(&none, true);
    cases.push(Case {
        desc: format!("{family:?} no server: port unreachable"),
        sent: vec![port_unreachable(&input, family, icmp_ident)],
        input,
        action: Action::Dropped(DropCause::Engine(DropReason::NoServer)),
    });
    let echo = request(family, L4::Echo, 0);
    cases.push(Case {
        desc: format!("{family:?} echo request to the VIP: not IPVS's"),
        input: echo.build(),
        action: Action::Passed(PassCause::NotVirtual),
        sent: vec![],
    });
    let no_service = request(family, L4::Tcp, 8443);
    cases.push(Case {
        desc: format!("{family:?} SYN to a port without service"),
        input: frame_of(&no_service, true),
        action: Action::Passed(PassCause::NotVirtual),
        sent: vec![],
    });
    cases
}

#[test]
fn nat_dr_tun_tcp_udp_both_families() {
    let mut cases = rows_of_family(Family::V4, 0);
    cases.extend(rows_of_family(Family::V6, 0));
    let gre = request(Family::V4, L4::Tcp, 84);
    cases.push(Case {
        desc: "V4 Tcp GRE tunnel with checksum".into(),
        input: frame_of(&gre, true),
        action: Action::Forwarded(FwdMethod::Tunnel),
        sent: vec![gre_csum_expected(&gre)],
    });
    cases.push(Case {
        desc: "ARP request for the VIP".into(),
        input: arp_frame([0xff; 6], GATEWAY_MAC, 1, GATEWAY_MAC, GW4, [0; 6], VIP4),
        action: Action::Neighbour { answered: true },
        sent: vec![arp_frame(
            GATEWAY_MAC,
            DIRECTOR_MAC,
            2,
            DIRECTOR_MAC,
            VIP4,
            GATEWAY_MAC,
            GW4,
        )],
    });
    assert_eq!(cases.len(), 2 * (2 * 5 + 3) + 2);

    let (mut d, e) = (director(), engine());
    run_table(&mut d, &e, &cases);

    let c = &d.counters;
    assert_eq!(c.frames_in, cases.len() as u64);
    assert_eq!(c.frames_out, (cases.len() - 4) as u64);
    assert_eq!((c.forwarded, c.replied, c.icmp_sent), (17, 4, 2));
    assert_eq!((c.neighbour_in, c.neighbour_answered), (1, 1));
    assert_eq!(
        c.drops().collect::<Vec<_>>(),
        vec![(DropCause::Engine(DropReason::NoServer), 2)]
    );
    assert_eq!(
        c.passes().collect::<Vec<_>>(),
        vec![(PassCause::NotVirtual, 4)]
    );
    assert_eq!(
        e.drop_counts().get(DropReason::NoServer),
        2,
        "the engine counts its own"
    );
}

#[test]
fn gue_tunnel_carries_the_client_packet() {
    let (mut d, e) = (director(), engine());
    let input = request(Family::V4, L4::Tcp, 83);
    let (action, sent) = run(&mut d, &e, &frame_of(&input, true), Time::from_secs(5));
    assert_eq!(action, Action::Forwarded(FwdMethod::Tunnel));
    assert_eq!(sent.len(), 1);
    let got = &sent[0].frame;
    // The source port comes from the flow hash: read it, then check the rest exactly.
    let at = 14 + 20;
    let sport = u16::from_be_bytes([got[at], got[at + 1]]);
    assert!((32768..=60998).contains(&sport), "GUE source port {sport}");
    let inner = frame_of(
        &Spec {
            ttl: 63,
            ..input.clone()
        },
        true,
    );
    let mut payload = vec![0, 4, 0, 0];
    payload.extend_from_slice(ip_of(&inner));
    let mut want = Vec::new();
    etherparse::PacketBuilder::ethernet2(DIRECTOR_MAC, RS_MAC)
        .ip(ipv4_header(DIP4, RIP4, 63, 0x28, 0, true))
        .udp(sport, 6080)
        .write(&mut want, &payload)
        .unwrap();
    let csum = transport_offset(&want) + 6;
    want[csum..csum + 2].copy_from_slice(&[0, 0]);
    assert_frame("GUE", got, &want);
    verify_sent(&sent);
    // The same flow keeps its source port.
    let (_, again) = run(&mut d, &e, &frame_of(&input, false), Time::from_secs(6));
    assert_eq!(&again[0].frame[at..at + 2], &sport.to_be_bytes());
}

/// The NAT lab on two links: clients on link 0 (side: clients), real servers on link 1.
#[test]
fn nat_across_two_links() {
    const CLIENT_LINK_MAC: [u8; 6] = [0x02, 0xd1, 0, 0, 0, 0x10];
    let mut clients = InterfaceConfig::new(EthernetAddress(CLIENT_LINK_MAC));
    clients.addrs = vec!["198.18.0.1/24".parse().unwrap()];
    clients.side = lb_core::engine::Side::Client;
    let mut d = lb_io::path::Director::new(
        vec![clients, link_config(1500)],
        lb_io::neigh::NeighParams::default(),
    );
    d.interfaces_mut()[0]
        .neighbours
        .cache
        .insert_permanent(IpAddr::V4(CIP4), mac(CLIENT_MAC));
    d.interfaces_mut()[1]
        .neighbours
        .cache
        .insert_permanent(IpAddr::V4(RIP4), mac(RS_MAC));
    assert!(d.own(LinkId(0), IpAddr::V4(VIP4)));
    let e = engine();

    let syn = Spec {
        src_mac: CLIENT_MAC,
        dst_mac: CLIENT_LINK_MAC,
        ..request(Family::V4, L4::Tcp, 80)
    };
    let (action, sent) = run_on(&mut d, &e, LinkId(0), &frame_of(&syn, true), Time::ZERO);
    assert_eq!(action, Action::Forwarded(FwdMethod::Masq));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].link, LinkId(1));
    assert_frame(
        "request leaves by the servers' link",
        &sent[0].frame,
        &frame_of(&nat_in_expected(&syn), true),
    );

    let reply = Spec::reply(Family::V4, L4::Tcp);
    let (action, sent) = run_on(&mut d, &e, LinkId(1), &reply.build(), Time::ZERO);
    assert_eq!(action, Action::Replied);
    assert_eq!(sent[0].link, LinkId(0));
    let want = Spec {
        src_mac: CLIENT_LINK_MAC,
        dst_mac: CLIENT_MAC,
        src: IpAddr::V4(VIP4),
        sport: 80,
        ttl: 63,
        ..reply
    };
    assert_frame(
        "reply leaves by the clients' link",
        &sent[0].frame,
        &want.build(),
    );
    verify_sent(&sent);

    // The ARP for the VIP is answered on the clients' link with that link's address.
    let who_has = arp_frame([0xff; 6], CLIENT_MAC, 1, CLIENT_MAC, CIP4, [0; 6], VIP4);
    let (action, sent) = run_on(&mut d, &e, LinkId(0), &who_has, Time::ZERO);
    assert_eq!(action, Action::Neighbour { answered: true });
    assert_eq!(
        sent[0].frame,
        arp_frame(
            CLIENT_MAC,
            CLIENT_LINK_MAC,
            2,
            CLIENT_LINK_MAC,
            VIP4,
            CLIENT_MAC,
            CIP4
        )
    );
    // No route to an address outside both links, and no gateway.
    let far = Spec {
        src_mac: CLIENT_MAC,
        dst_mac: CLIENT_LINK_MAC,
        src: IpAddr::V4("198.18.200.9".parse().unwrap()),
        ..request(Family::V4, L4::Tcp, 80)
    };
    let (action, _) = run_on(&mut d, &e, LinkId(0), &frame_of(&far, true), Time::ZERO);
    assert_eq!(action, Action::Forwarded(FwdMethod::Masq));
    let back = Spec {
        dst: IpAddr::V4("198.18.200.9".parse().unwrap()),
        ..Spec::reply(Family::V4, L4::Tcp)
    };
    let (action, sent) = run_on(&mut d, &e, LinkId(1), &back.build(), Time::ZERO);
    assert_eq!(action, Action::Dropped(DropCause::NoRoute));
    assert!(sent.is_empty());
}

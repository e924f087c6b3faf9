//! Neighbours on the path: ARP and neighbour solicitations for the VIPs answered, what they
//! teach the cache, and packets waiting for an unresolved next hop — queued, solicited,
//! released by the answer, or dropped when resolution fails.

mod path_support;
mod rewrite_support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::PacketBuilder;
use lb_core::{FwdMethod, Time};
use lb_io::neigh::ndp::{multicast_mac, solicited_node};
use lb_io::path::{Action, LinkId};
use lb_io::wire::EthernetAddress;
use path_support::*;
use rewrite_support::*;

const HOST_MAC: [u8; 6] = [0x02, 0x77, 0, 0, 0, 0x77];

/// A neighbour-discovery frame: `msg_type` 135 / 136, the flags word, the target, an
/// optional link-layer option (`kind` 1 source, 2 target).
#[allow(clippy::too_many_arguments)]
fn nd_frame(
    eth_src: [u8; 6],
    eth_dst: [u8; 6],
    src: Ipv6Addr,
    dst: Ipv6Addr,
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
        .ipv6(src.octets(), dst.octets(), 255)
        .icmpv6_raw(msg_type, 0, rest)
        .write(&mut out, &payload)
        .unwrap();
    out
}

#[test]
fn arp_and_solicitations_for_the_vips_are_answered() {
    let (mut d, e) = (director(), engine());
    let host = Ipv4Addr::new(198, 19, 0, 77);
    let cases = vec![
        Case {
            desc: "ARP request for the VIP, from a host on the link".into(),
            input: arp_frame([0xff; 6], HOST_MAC, 1, HOST_MAC, host, [0; 6], VIP4),
            action: Action::Neighbour { answered: true },
            sent: vec![arp_frame(
                HOST_MAC,
                DIRECTOR_MAC,
                2,
                DIRECTOR_MAC,
                VIP4,
                HOST_MAC,
                host,
            )],
        },
        Case {
            desc: "ARP request for the director's own address: the host's kernel answers".into(),
            input: arp_frame([0xff; 6], HOST_MAC, 1, HOST_MAC, host, [0; 6], DIP4),
            action: Action::Neighbour { answered: false },
            sent: vec![],
        },
        Case {
            desc: "neighbour solicitation for the IPv6 VIP".into(),
            input: nd_frame(
                GATEWAY_MAC,
                multicast_mac(&solicited_node(&vip6())).0,
                gw6(),
                solicited_node(&vip6()),
                135,
                [0; 4],
                vip6(),
                Some((1, GATEWAY_MAC)),
            ),
            action: Action::Neighbour { answered: true },
            sent: vec![nd_frame(
                DIRECTOR_MAC,
                GATEWAY_MAC,
                vip6(),
                gw6(),
                136,
                [0x60, 0, 0, 0],
                vip6(),
                Some((2, DIRECTOR_MAC)),
            )],
        },
    ];
    run_table(&mut d, &e, &cases);
    // The requester was learnt (as the kernel does from a request for one of its
    // addresses); nothing is learnt from a request for another host's address.
    let cache = &d.interfaces()[0].neighbours.cache;
    assert_eq!(
        cache.lookup(&IpAddr::V4(host)),
        Some(EthernetAddress(HOST_MAC))
    );
    assert_eq!(
        (d.counters.neighbour_in, d.counters.neighbour_answered),
        (3, 2)
    );
}

#[test]
fn unresolved_next_hop_queues_then_releases() {
    let (mut d, e) = (director_with(1500, false), engine());
    let first = request(Family::V4, L4::Tcp, 80);
    let second = Spec {
        sport: 40001,
        ..first.clone()
    };
    let (action, sent) = run(&mut d, &e, &frame_of(&first, true), Time::from_secs(1));
    assert_eq!(action, Action::Queued);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].frame,
        arp_frame([0xff; 6], DIRECTOR_MAC, 1, DIRECTOR_MAC, DIP4, [0; 6], RIP4),
        "one broadcast ARP request for the real server"
    );
    let (action, sent) = run(&mut d, &e, &frame_of(&second, true), Time::from_secs(1));
    assert_eq!((action, sent.len()), (Action::Queued, 0));

    let answer = arp_frame(DIRECTOR_MAC, RS_MAC, 2, RS_MAC, RIP4, DIRECTOR_MAC, DIP4);
    let (action, sent) = run(&mut d, &e, &answer, Time::from_secs(1));
    assert_eq!(action, Action::Neighbour { answered: false });
    let natted = |s: &Spec| {
        frame_of(
            &Spec {
                src_mac: DIRECTOR_MAC,
                dst_mac: RS_MAC,
                dst: IpAddr::V4(RIP4),
                dport: 8080,
                ttl: 63,
                ..s.clone()
            },
            true,
        )
    };
    assert_eq!(sent.len(), 2);
    assert_frame("first released", &sent[0].frame, &natted(&first));
    assert_frame("second released", &sent[1].frame, &natted(&second));
    assert!(sent.iter().all(|s| s.link == LinkId(0)));
    verify_sent(&sent);

    let (action, sent) = run(&mut d, &e, &frame_of(&first, false), Time::from_secs(2));
    assert_eq!(action, Action::Forwarded(FwdMethod::Masq));
    assert_eq!(sent.len(), 1);
    assert_eq!(&sent[0].frame[..6], &RS_MAC);

    let c = &d.counters;
    assert_eq!((c.queued, c.queue_dropped, c.forwarded), (2, 0, 1));
    assert_eq!(c.frames_out, 4);
}

#[test]
fn unresolved_ipv6_next_hop_is_solicited() {
    let (mut d, e) = (director_with(1500, false), engine());
    let syn = request(Family::V6, L4::Tcp, 81);
    let (action, sent) = run(&mut d, &e, &frame_of(&syn, true), Time::from_secs(1));
    assert_eq!(action, Action::Queued);
    let group = solicited_node(&rip6());
    let want = nd_frame(
        DIRECTOR_MAC,
        multicast_mac(&group).0,
        dip6(),
        group,
        135,
        [0; 4],
        rip6(),
        Some((1, DIRECTOR_MAC)),
    );
    assert_eq!(sent.len(), 1);
    assert_frame("neighbour solicitation", &sent[0].frame, &want);
    verify_sent(&sent);

    let advert = nd_frame(
        RS_MAC,
        DIRECTOR_MAC,
        rip6(),
        dip6(),
        136,
        [0x60, 0, 0, 0],
        rip6(),
        Some((2, RS_MAC)),
    );
    let (action, sent) = run(&mut d, &e, &advert, Time::from_secs(1));
    assert_eq!(action, Action::Neighbour { answered: false });
    let routed = Spec {
        src_mac: DIRECTOR_MAC,
        dst_mac: RS_MAC,
        ttl: 63,
        ..syn
    };
    assert_eq!(sent.len(), 1);
    assert_frame("released", &sent[0].frame, &frame_of(&routed, true));
}

#[test]
fn failed_resolution_drops_the_queue() {
    let (mut d, e) = (director_with(1500, false), engine());
    let syn = request(Family::V4, L4::Udp, 80);
    let (action, _) = run(&mut d, &e, &syn.build(), Time::from_secs(10));
    assert_eq!(action, Action::Queued);
    let request = arp_frame([0xff; 6], DIRECTOR_MAC, 1, DIRECTOR_MAC, DIP4, [0; 6], RIP4);
    let mut polled = Vec::new();
    for at in [10_500, 11_000, 12_000, 13_000] {
        let mut sent = Vec::new();
        let n = d.poll(Time::from_millis(at), &mut |link, f| {
            sent.push((link, f.to_vec()))
        });
        assert_eq!(n, sent.len());
        polled.push(sent);
    }
    // Two more broadcasts, one second apart, then the entry fails.
    assert_eq!(polled[0], vec![]);
    assert_eq!(polled[1], vec![(LinkId(0), request.clone())]);
    assert_eq!(polled[2], vec![(LinkId(0), request)]);
    assert_eq!(polled[3], vec![]);
    assert_eq!(d.counters.queue_dropped, 1);
    assert_eq!(d.counters.frames_out, 3);
    let cache = &d.interfaces()[0].neighbours.cache;
    assert_eq!(cache.state(&IpAddr::V4(RIP4)), None);
    assert_eq!(cache.len(), 2, "the two permanent gateway entries");
}

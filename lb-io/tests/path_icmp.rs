//! ICMP through the whole path: the errors the director answers with (time exceeded,
//! fragmentation needed), the relay of errors about NAT connections both ways (spec §7.6),
//! and the errors about its own tunnel packets turned into errors for the client (§7.3).
//! Expected frames are built with etherparse; every frame sent is verified again.

mod path_support;
mod rewrite_support;

use std::net::IpAddr;

use lb_core::{FwdMethod, Time};
use lb_io::path::{Action, DropCause};
use path_support::*;
use rewrite_support::*;

/// The IPv4 header checksum of `ip` computed again.
fn refill_ipv4_checksum(ip: &mut [u8]) {
    let hl = usize::from(ip[0] & 0x0F) * 4;
    ip[10..12].copy_from_slice(&[0, 0]);
    let sum = ref_checksum(&ip[..hl]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
}

#[test]
fn ttl_exhausted_requests_get_time_exceeded() {
    let (mut d, e) = (director(), engine());
    let v4 = Spec {
        ttl: 1,
        ..request(Family::V4, L4::Tcp, 80)
    };
    let input = frame_of(&v4, true);
    let (action, sent) = run(&mut d, &e, &input, Time::from_secs(1));
    assert_eq!(action, Action::Dropped(DropCause::TtlExceeded));
    // IPv4: from the VIP the packet was sent to, quoting it as received.
    let want = icmp4_frame(
        DIRECTOR_MAC,
        GATEWAY_MAC,
        ipv4_header(VIP4, CIP4, 64, 0xC8, 0, false),
        11,
        0,
        [0; 4],
        ip_of(&input),
    );
    assert_eq!(sent.len(), 1);
    assert_frame("time exceeded, IPv4", &sent[0].frame, &want);

    let v6 = Spec {
        ttl: 1,
        ..request(Family::V6, L4::Udp, 80)
    };
    let input = frame_of(&v6, true);
    let (action, sent) = run(&mut d, &e, &input, Time::from_secs(1));
    assert_eq!(action, Action::Dropped(DropCause::TtlExceeded));
    // IPv6: from the director's own address (the output device does not hold the VIP).
    let want = icmp6_frame(
        DIRECTOR_MAC,
        GATEWAY_MAC,
        ipv6_header(dip6(), cip6(), 64, 0),
        3,
        0,
        [0; 4],
        ip_of(&input),
    );
    assert_frame("time exceeded, IPv6", &sent[0].frame, &want);
    verify_sent(&sent);
    assert_eq!(d.counters.icmp_sent, 2);
}

#[test]
fn too_big_with_df_gets_fragmentation_needed() {
    let (mut d, e) = (director_with(576, true), engine());
    let big = Spec {
        payload: vec![0x61; 600],
        ..request(Family::V4, L4::Tcp, 80)
    };
    let input = frame_of(&big, true);
    let (action, sent) = run(&mut d, &e, &input, Time::from_secs(1));
    assert_eq!(action, Action::Dropped(DropCause::TooBig));
    // NAT decrements the TTL before its MTU check: the quote shows TTL 63, and is cut to
    // 576 − 20 − 8 bytes.
    let decremented = frame_of(
        &Spec {
            ttl: 63,
            ..big.clone()
        },
        true,
    );
    let want = icmp4_frame(
        DIRECTOR_MAC,
        GATEWAY_MAC,
        ipv4_header(VIP4, CIP4, 64, 0xC8, 0, false),
        3,
        4,
        [0, 0, 0x02, 0x40],
        &ip_of(&decremented)[..548],
    );
    assert_eq!(sent.len(), 1);
    assert_frame("fragmentation needed", &sent[0].frame, &want);
    verify_sent(&sent);

    // Without DF the packet would be fragmented, which this director does not do.
    let no_df = Spec {
        dont_frag: false,
        sport: 40001,
        ..big
    };
    let (action, sent) = run(&mut d, &e, &frame_of(&no_df, true), Time::from_secs(2));
    assert_eq!(action, Action::Dropped(DropCause::NeedsFragmenting));
    assert!(sent.is_empty());
}

#[test]
fn errors_about_nat_connections_are_relayed_both_ways() {
    let (mut d, e) = (director(), engine());
    let req = request(Family::V4, L4::Udp, 80);
    let (action, sent) = run(&mut d, &e, &req.build(), Time::from_secs(1));
    assert_eq!(action, Action::Forwarded(FwdMethod::Masq));
    let natted = sent[0].frame.clone();

    // The real server refuses the datagram: its error goes to the client, as if from the
    // VIP about the datagram the client sent (quoted UDP checksum left as it was).
    let from_rs = icmp4_frame(
        RS_MAC,
        DIRECTOR_MAC,
        ipv4_header(RIP4, CIP4, 64, 0xC0, 0x1234, false),
        3,
        3,
        [0; 4],
        ip_of(&natted),
    );
    let (action, sent) = run(&mut d, &e, &from_rs, Time::from_secs(2));
    assert_eq!(action, Action::IcmpRelayed);
    let mut quote = ip_of(&natted).to_vec();
    quote[16..20].copy_from_slice(&VIP4.octets());
    refill_ipv4_checksum(&mut quote);
    quote[22..24].copy_from_slice(&80u16.to_be_bytes());
    let want = icmp4_frame(
        DIRECTOR_MAC,
        GATEWAY_MAC,
        ipv4_header(VIP4, CIP4, 63, 0xC0, 0x1234, false),
        3,
        3,
        [0; 4],
        &quote,
    );
    assert_eq!(sent.len(), 1);
    assert_frame("relayed to the client", &sent[0].frame, &want);
    verify_sent(&sent);

    // The client's side refuses a reply: the error goes to the real server, about the
    // datagram the server sent.
    let reply_as_sent = Spec {
        src: IpAddr::V4(VIP4),
        sport: 80,
        ttl: 63,
        src_mac: DIRECTOR_MAC,
        dst_mac: GATEWAY_MAC,
        ..Spec::reply(Family::V4, L4::Udp)
    }
    .build();
    let from_client = icmp4_frame(
        GATEWAY_MAC,
        DIRECTOR_MAC,
        ipv4_header(CIP4, VIP4, 60, 0, 0x99, false),
        3,
        3,
        [0; 4],
        ip_of(&reply_as_sent),
    );
    let (action, sent) = run(&mut d, &e, &from_client, Time::from_secs(3));
    assert_eq!(action, Action::IcmpRelayed);
    let mut quote = ip_of(&reply_as_sent).to_vec();
    quote[12..16].copy_from_slice(&RIP4.octets());
    refill_ipv4_checksum(&mut quote);
    quote[20..22].copy_from_slice(&8080u16.to_be_bytes());
    let want = icmp4_frame(
        DIRECTOR_MAC,
        RS_MAC,
        ipv4_header(CIP4, RIP4, 59, 0, 0x99, false),
        3,
        3,
        [0; 4],
        &quote,
    );
    assert_frame("relayed to the real server", &sent[0].frame, &want);
    verify_sent(&sent);

    // A corrupted error is dropped.
    let mut corrupt = from_rs.clone();
    corrupt[14 + 20 + 2] ^= 0x55;
    let (action, sent) = run(&mut d, &e, &corrupt, Time::from_secs(4));
    assert_eq!(action, Action::Dropped(DropCause::BadIcmpChecksum));
    assert!(sent.is_empty());
    assert_eq!(d.counters.icmp_relayed, 2);
}

#[test]
fn errors_about_tunnel_packets_go_to_the_client() {
    let (mut d, e) = (director(), engine());
    let syn = request(Family::V4, L4::Tcp, 82);
    let (action, sent) = run(&mut d, &e, &frame_of(&syn, true), Time::from_secs(1));
    assert_eq!(action, Action::Forwarded(FwdMethod::Tunnel));
    let tunnelled = sent[0].frame.clone();
    let router = |icmp_type: u8, code: u8, rest: [u8; 4], about: &[u8]| {
        icmp4_frame(
            GATEWAY_MAC,
            DIRECTOR_MAC,
            ipv4_header(GW4, DIP4, 64, 0xC0, 7, false),
            icmp_type,
            code,
            rest,
            ip_of(about),
        )
    };
    // The client's packet as it was inside the tunnel (TTL already decremented).
    let inner = &ip_of(&tunnelled)[20..];

    // Fragmentation needed, MTU 1400: the client hears 1400 − 20, from the VIP.
    let frag_needed = router(3, 4, [0, 0, 0x05, 0x78], &tunnelled);
    let (action, sent) = run(&mut d, &e, &frag_needed, Time::from_secs(2));
    assert_eq!(action, Action::TunnelIcmp);
    let want = icmp4_frame(
        DIRECTOR_MAC,
        GATEWAY_MAC,
        ipv4_header(VIP4, CIP4, 64, 0xC8, 0, false),
        3,
        4,
        [0, 0, 0x05, 0x64],
        inner,
    );
    assert_eq!(sent.len(), 1);
    assert_frame("fragmentation needed for the client", &sent[0].frame, &want);
    verify_sent(&sent);

    // A client packet without DF: the tunnel packet takes the next identification, and a
    // fragmentation-needed about it is consumed without a word to the client.
    let no_df = Spec {
        dont_frag: false,
        sport: 40001,
        ..syn.clone()
    };
    let (_, sent) = run(&mut d, &e, &frame_of(&no_df, true), Time::from_secs(3));
    let outer_ident = u16::from_be_bytes([sent[0].frame[18], sent[0].frame[19]]);
    assert_eq!(outer_ident, 1);
    let (action, sent) = run(
        &mut d,
        &e,
        &router(3, 4, [0, 0, 0x05, 0x78], &sent[0].frame),
        Time::from_secs(4),
    );
    assert_eq!((action, sent.len()), (Action::TunnelIcmp, 0));

    // Host unreachable: relayed with its type, code and the rest of its header.
    let unreachable = router(3, 1, [0; 4], &tunnelled);
    let (action, sent) = run(&mut d, &e, &unreachable, Time::from_secs(5));
    assert_eq!(action, Action::TunnelIcmp);
    let want = icmp4_frame(
        DIRECTOR_MAC,
        GATEWAY_MAC,
        ipv4_header(VIP4, CIP4, 64, 0xC8, 2, false),
        3,
        1,
        [0; 4],
        inner,
    );
    assert_frame("host unreachable for the client", &sent[0].frame, &want);
    verify_sent(&sent);
    assert_eq!(d.counters.tunnel_icmp, 3);
}

//! Frames the path refuses before the engine sees them: dropped and counted by reason
//! (truncated, bad checksum, malformed headers, invalid neighbour messages), or left to the
//! host (not IP, not for us, later fragments). Nothing is sent and the engine sees nothing.

mod path_support;
mod rewrite_support;

use etherparse::{IpFragOffset, IpHeaders, Ipv4Header};
use lb_core::Time;
use lb_io::path::{Action, DropCause, LinkId, PassCause};
use path_support::*;
use rewrite_support::*;

fn to_vip(proto: u8, payload: &[u8]) -> Vec<u8> {
    frame_with(
        GATEWAY_MAC,
        DIRECTOR_MAC,
        ipv4_header(CIP4, VIP4, 64, 0, 1, true),
        proto,
        payload,
    )
}

fn cases() -> Vec<(&'static str, Vec<u8>, Action)> {
    let drop = Action::Dropped;
    let pass = Action::Passed;
    let good = frame_of(&request(Family::V4, L4::Tcp, 80), true);
    let good6 = frame_of(&request(Family::V6, L4::Tcp, 80), true);

    let mut bad_checksum = good.clone();
    bad_checksum[14 + 10] ^= 0xFF;
    let mut version5 = good.clone();
    version5[14] = 0x55;
    let mut ihl4 = good.clone();
    ihl4[14] = 0x44;
    let mut v6_cut = good6.clone();
    v6_cut.truncate(good6.len() - 3);
    let mut hop_by_hop_cut = good6[..14].to_vec();
    hop_by_hop_cut.extend_from_slice(
        &etherparse::Ipv6Header {
            payload_length: 4,
            next_header: etherparse::IpNumber(0),
            hop_limit: 64,
            source: cip6().octets(),
            destination: vip6().octets(),
            ..Default::default()
        }
        .to_bytes(),
    );
    hop_by_hop_cut.extend_from_slice(&[6, 0, 0, 0]);
    let mut lldp = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e];
    lldp.extend_from_slice(&GATEWAY_MAC);
    lldp.extend_from_slice(&[0x88, 0xcc, 0x02, 0x07, 0x04, 0, 0, 0, 0, 0, 0]);
    let mut other_host = good.clone();
    other_host[..6].copy_from_slice(&RS_MAC);
    let later_fragment = frame_with(
        GATEWAY_MAC,
        DIRECTOR_MAC,
        IpHeaders::Ipv4(
            Ipv4Header {
                fragment_offset: IpFragOffset::try_new(100).unwrap(),
                time_to_live: 64,
                source: CIP4.octets(),
                destination: VIP4.octets(),
                ..Default::default()
            },
            Default::default(),
        ),
        6,
        &[0; 40],
    );
    let mut arp_ieee802 = arp_frame([0xff; 6], GATEWAY_MAC, 1, GATEWAY_MAC, GW4, [0; 6], VIP4);
    arp_ieee802[14..16].copy_from_slice(&[0, 6]);
    let mut arp_cut = arp_frame([0xff; 6], GATEWAY_MAC, 1, GATEWAY_MAC, GW4, [0; 6], VIP4);
    arp_cut.truncate(14 + 20);
    let arp_multicast_target = arp_frame(
        [0xff; 6],
        GATEWAY_MAC,
        1,
        GATEWAY_MAC,
        GW4,
        [0; 6],
        "224.0.0.1".parse().unwrap(),
    );

    vec![
        ("runt frame", vec![0xff; 10], drop(DropCause::Truncated)),
        (
            "IPv4 header checksum wrong",
            bad_checksum,
            drop(DropCause::BadChecksum),
        ),
        (
            "IPv4 cut short of its total length",
            good[..good.len() - 1].to_vec(),
            drop(DropCause::Truncated),
        ),
        (
            "IPv4 header only half there",
            good[..14 + 12].to_vec(),
            drop(DropCause::Truncated),
        ),
        (
            "IP version 5 under the IPv4 EtherType",
            version5,
            drop(DropCause::Malformed),
        ),
        ("IPv4 header length 16", ihl4, drop(DropCause::Malformed)),
        (
            "TCP header cut at 10 bytes",
            to_vip(6, &[0; 10]),
            drop(DropCause::Truncated),
        ),
        (
            "UDP header cut at 4 bytes",
            to_vip(17, &[0; 4]),
            drop(DropCause::Truncated),
        ),
        (
            "SCTP header cut at 8 bytes",
            to_vip(132, &[0; 8]),
            drop(DropCause::Truncated),
        ),
        (
            "ICMP header cut at 4 bytes",
            to_vip(1, &[3, 3, 0, 0]),
            drop(DropCause::Truncated),
        ),
        (
            "IPv6 cut short of its payload",
            v6_cut,
            drop(DropCause::Truncated),
        ),
        (
            "IPv6 hop-by-hop header cut",
            hop_by_hop_cut,
            drop(DropCause::Truncated),
        ),
        (
            "ARP for another hardware type",
            arp_ieee802,
            drop(DropCause::Malformed),
        ),
        ("ARP cut short", arp_cut, drop(DropCause::Truncated)),
        (
            "ARP for a multicast target",
            arp_multicast_target,
            drop(DropCause::InvalidNeighbour),
        ),
        ("LLDP", lldp, pass(PassCause::NotIp)),
        (
            "IPv4 sent to another host's MAC",
            other_host,
            pass(PassCause::NotForUs),
        ),
        (
            "IPv4 later fragment",
            later_fragment,
            pass(PassCause::Fragment),
        ),
    ]
}

#[test]
fn malformed_frames_are_dropped_and_counted_by_reason() {
    let (mut d, e) = (director(), engine());
    let cases = cases();
    for (i, (desc, input, action)) in cases.iter().enumerate() {
        let (got, sent) = run(&mut d, &e, input, Time::from_secs(i as u64));
        assert_eq!(got, *action, "{desc}");
        assert!(sent.is_empty(), "{desc}: nothing is sent");
    }
    let (got, sent) = run_on(&mut d, &e, LinkId(3), &cases[1].1, Time::ZERO);
    assert_eq!(
        (got, sent.len()),
        (Action::Dropped(DropCause::UnknownLink), 0)
    );

    let c = &d.counters;
    assert_eq!(c.frames_in, cases.len() as u64 + 1);
    assert_eq!(c.frames_out, 0);
    assert_eq!(
        c.drops().collect::<Vec<_>>(),
        vec![
            (DropCause::Truncated, 10),
            (DropCause::Malformed, 3),
            (DropCause::BadChecksum, 1),
            (DropCause::UnknownLink, 1),
            (DropCause::InvalidNeighbour, 1),
        ]
    );
    assert_eq!(
        c.passes().collect::<Vec<_>>(),
        vec![
            (PassCause::NotIp, 1),
            (PassCause::NotForUs, 1),
            (PassCause::Fragment, 1),
        ]
    );
    assert_eq!((c.dropped_total(), c.passed_total()), (16, 3));
    assert_eq!(e.drop_counts().total(), 0, "the engine saw none of them");
    assert_eq!(e.entry_counts(), (0, 0));
}

/// The same frames one byte shorter at a time: never a panic, never a frame sent that
/// does not parse.
#[test]
fn every_prefix_of_every_frame_is_handled() {
    let (mut d, e) = (director(), engine());
    let mut inputs: Vec<Vec<u8>> = cases().into_iter().map(|(_, f, _)| f).collect();
    for family in FAMILIES {
        for l4 in [L4::Tcp, L4::Udp, L4::Sctp, L4::Echo] {
            for dport in [80, 81, 82, 83, 84, 90] {
                inputs.push(frame_of(&request(family, l4, dport), true));
            }
        }
    }
    let mut sent_total = 0;
    for input in &inputs {
        for len in 0..=input.len() {
            let (_, sent) = run(&mut d, &e, &input[..len], Time::from_secs(1));
            verify_sent(&sent);
            sent_total += sent.len();
        }
    }
    assert!(sent_total > 0);
    assert_eq!(
        d.counters.frames_in,
        inputs.iter().map(|f| f.len() as u64 + 1).sum::<u64>()
    );
}

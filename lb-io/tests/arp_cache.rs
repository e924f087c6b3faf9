//! The neighbour cache: resolution and its queue, timers, and the kernel's learning rules
//! for ARP and neighbour discovery. Time is passed in; every step asserts the exact state.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use lb_core::Time;
use lb_io::neigh::{
    ArpReceived, NdpReceived, NeighEvent, NeighParams, NeighState, NeighbourCache, Probe, Released,
    Resolution,
};
use lb_io::wire::{ArpOperation, ArpRepr, EthernetAddress, NdpNeighborFlags, NdpRepr};

const A: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0xaa]);
const B: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0xbb]);
const OURS: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 19, 0, last))
}

fn ip6(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 5, 0, 0, 0, 0, last))
}

fn ms(t: u64) -> Time {
    Time::from_millis(t)
}

fn v4(addr: IpAddr) -> Ipv4Addr {
    match addr {
        IpAddr::V4(a) => a,
        IpAddr::V6(_) => unreachable!(),
    }
}

fn v6(addr: IpAddr) -> Ipv6Addr {
    match addr {
        IpAddr::V6(a) => a,
        IpAddr::V4(_) => unreachable!(),
    }
}

/// An ARP reply from `addr` at `mac` (to us, unicast unless `broadcast`).
fn reply(addr: IpAddr, mac: EthernetAddress, broadcast: bool) -> ArpReceived {
    ArpReceived {
        packet: ArpRepr {
            operation: ArpOperation::REPLY,
            sender_hardware_addr: mac,
            sender_protocol_addr: v4(addr),
            target_hardware_addr: OURS,
            target_protocol_addr: Ipv4Addr::new(198, 19, 0, 1),
        },
        link_unicast: !broadcast,
        request_for_us: false,
        reply_len: None,
    }
}

/// An ARP request from `addr` at `mac` for `target` (ours or not).
fn request(addr: IpAddr, mac: EthernetAddress, for_us: bool) -> ArpReceived {
    ArpReceived {
        packet: ArpRepr {
            operation: ArpOperation::REQUEST,
            sender_hardware_addr: mac,
            sender_protocol_addr: v4(addr),
            target_hardware_addr: EthernetAddress::UNSPECIFIED,
            target_protocol_addr: Ipv4Addr::new(198, 19, 0, 1),
        },
        link_unicast: false,
        request_for_us: for_us,
        reply_len: None,
    }
}

/// A gratuitous ARP request from `addr` at `mac`.
fn garp(addr: IpAddr, mac: EthernetAddress) -> ArpReceived {
    let mut r = request(addr, mac, false);
    r.packet.target_protocol_addr = v4(addr);
    r
}

fn advert(addr: IpAddr, mac: Option<EthernetAddress>, flags: NdpNeighborFlags) -> NdpReceived {
    NdpReceived {
        src_addr: v6(addr),
        dst_multicast: false,
        frame_src: mac.unwrap_or(A),
        message: NdpRepr::NeighborAdvert {
            flags,
            target_addr: v6(addr),
            target_lladdr: mac,
        },
        solicits_us: false,
        reply_len: None,
    }
}

fn solicit(addr: IpAddr, mac: Option<EthernetAddress>, for_us: bool) -> NdpReceived {
    NdpReceived {
        src_addr: v6(addr),
        dst_multicast: true,
        frame_src: mac.unwrap_or(A),
        message: NdpRepr::NeighborSolicit {
            target_addr: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1),
            source_lladdr: mac,
        },
        solicits_us: for_us,
        reply_len: None,
    }
}

fn broadcast_probe(addr: IpAddr) -> NeighEvent {
    NeighEvent::Probe(Probe {
        target: addr,
        unicast_to: None,
    })
}

/// Resolution of an address nobody answers: a solicitation at once, two more a second
/// apart, then failure one second after the third, queued frames dropped.
#[test]
fn unanswered_resolution_fails_after_three_solicitations() {
    let mut c = NeighbourCache::new(NeighParams::default());
    assert_eq!(
        c.resolve_or_queue(ip(21), b"frame-1", ms(0)),
        Resolution::Pending {
            probe: Some(Probe {
                target: ip(21),
                unicast_to: None
            }),
            dropped: 0
        }
    );
    assert_eq!(c.state(&ip(21)), Some(NeighState::Incomplete));
    assert_eq!(
        c.resolve_or_queue(ip(21), b"frame-2", ms(10)),
        Resolution::Pending {
            probe: None,
            dropped: 0
        }
    );
    assert_eq!(c.next_deadline(), Some(ms(1000)));
    assert_eq!(c.poll(ms(999)), vec![]);
    assert_eq!(c.poll(ms(1000)), vec![broadcast_probe(ip(21))]);
    assert_eq!(c.poll(ms(1999)), vec![]);
    assert_eq!(c.poll(ms(2000)), vec![broadcast_probe(ip(21))]);
    assert_eq!(
        c.poll(ms(3000)),
        vec![NeighEvent::Failed {
            addr: ip(21),
            dropped: 2
        }]
    );
    assert_eq!(c.state(&ip(21)), None);
    assert!(c.is_empty());
    // A new packet starts over.
    assert!(matches!(
        c.resolve(ip(21), ms(3001)),
        Resolution::Pending { probe: Some(_), .. }
    ));
}

#[test]
fn answered_resolution_releases_the_queue_in_order() {
    let mut c = NeighbourCache::new(NeighParams::default());
    c.resolve_or_queue(ip(21), b"one", ms(0));
    c.resolve_or_queue(ip(21), b"two", ms(5));
    assert_eq!(
        c.learn_arp(&reply(ip(21), A, false), ms(400)),
        Some(Released {
            addr: ip(21),
            mac: A,
            frames: vec![b"one".to_vec(), b"two".to_vec()],
        })
    );
    assert_eq!(c.state(&ip(21)), Some(NeighState::Reachable));
    assert_eq!(c.resolve(ip(21), ms(500)), Resolution::Ready(A));
    assert_eq!(c.lookup(&ip(21)), Some(A));
    // Nothing queued any more: another reply releases nothing.
    assert_eq!(c.learn_arp(&reply(ip(21), A, false), ms(600)), None);
}

#[test]
fn queue_limit_drops_the_oldest() {
    let params = NeighParams {
        queue_bytes: 100,
        ..NeighParams::default()
    };
    let mut c = NeighbourCache::new(params);
    let frame = |n: u8| vec![n; 40];
    assert!(matches!(
        c.resolve_or_queue(ip(21), &frame(1), ms(0)),
        Resolution::Pending { dropped: 0, .. }
    ));
    assert!(matches!(
        c.resolve_or_queue(ip(21), &frame(2), ms(0)),
        Resolution::Pending { dropped: 0, .. }
    ));
    assert_eq!(
        c.resolve_or_queue(ip(21), &frame(3), ms(0)),
        Resolution::Pending {
            probe: None,
            dropped: 1
        }
    );
    // A frame bigger than the whole limit flushes everything, itself included.
    let huge = vec![9u8; 101];
    assert_eq!(
        c.resolve_or_queue(ip(22), &huge, ms(0)),
        Resolution::Pending {
            probe: Some(Probe {
                target: ip(22),
                unicast_to: None
            }),
            dropped: 1
        }
    );
    let released = c.learn_arp(&reply(ip(21), A, false), ms(1)).unwrap();
    assert_eq!(released.frames, vec![frame(2), frame(3)]);
    let released = c.learn_arp(&reply(ip(22), B, false), ms(1)).unwrap();
    assert_eq!(released.frames, Vec::<Vec<u8>>::new());
}

/// Reachable for 30 s after a confirmation, then stale; a used stale entry waits 5 s in
/// delay, then is probed by unicast three times a second apart, then fails.
#[test]
fn reachability_timers() {
    let mut c = NeighbourCache::new(NeighParams::default());
    c.resolve(ip(21), ms(0));
    c.learn_arp(&reply(ip(21), A, false), ms(0));
    assert_eq!(c.next_deadline(), Some(ms(30_000)));
    assert_eq!(c.poll(ms(29_999)), vec![]);
    assert_eq!(c.state(&ip(21)), Some(NeighState::Reachable));
    assert_eq!(c.poll(ms(30_000)), vec![]);
    assert_eq!(c.state(&ip(21)), Some(NeighState::Stale));
    // Stale still sends, and enters delay.
    assert_eq!(c.resolve(ip(21), ms(40_000)), Resolution::Ready(A));
    assert_eq!(c.state(&ip(21)), Some(NeighState::Delay));
    assert_eq!(c.poll(ms(44_999)), vec![]);
    let unicast = NeighEvent::Probe(Probe {
        target: ip(21),
        unicast_to: Some(A),
    });
    assert_eq!(c.poll(ms(45_000)), vec![unicast.clone()]);
    assert_eq!(c.state(&ip(21)), Some(NeighState::Probe));
    assert_eq!(c.resolve(ip(21), ms(45_100)), Resolution::Ready(A));
    assert_eq!(c.poll(ms(46_000)), vec![unicast.clone()]);
    assert_eq!(c.poll(ms(47_000)), vec![unicast]);
    assert_eq!(
        c.poll(ms(48_000)),
        vec![NeighEvent::Failed {
            addr: ip(21),
            dropped: 0
        }]
    );
    assert_eq!(c.state(&ip(21)), None);
}

/// A reachable entry used just before it expires goes to delay, not stale; a confirmation
/// during delay makes it reachable without probing.
#[test]
fn confirmation_during_delay() {
    let mut c = NeighbourCache::new(NeighParams::default());
    c.resolve(ip(21), ms(0));
    c.learn_arp(&reply(ip(21), A, false), ms(0));
    assert_eq!(c.resolve(ip(21), ms(27_000)), Resolution::Ready(A));
    assert_eq!(c.poll(ms(30_000)), vec![]);
    assert_eq!(c.state(&ip(21)), Some(NeighState::Delay));
    // Traffic from it (on-link) confirms it.
    assert_eq!(c.learn_from_frame(ip(21), A, ms(31_000)), None);
    assert_eq!(c.state(&ip(21)), Some(NeighState::Reachable));
    assert_eq!(c.poll(ms(35_000)), vec![]);
    assert_eq!(c.state(&ip(21)), Some(NeighState::Reachable));
    assert_eq!(c.next_deadline(), Some(ms(61_000)));
}

#[test]
fn stale_entries_unused_for_a_minute_are_collected() {
    let mut c = NeighbourCache::new(NeighParams::default());
    c.learn_arp(&request(ip(30), A, true), ms(0));
    assert_eq!(c.state(&ip(30)), Some(NeighState::Stale));
    assert_eq!(c.poll(ms(59_999)), vec![]);
    assert_eq!(c.len(), 1);
    assert_eq!(c.poll(ms(60_000)), vec![]);
    assert_eq!(c.len(), 0);
}

/// ARP learning (`arp_process`, `arp_accept` = 0).
#[test]
fn arp_learning_rules() {
    let mut c = NeighbourCache::new(NeighParams::default());
    // A request for us creates a stale entry; one for another address creates nothing.
    c.learn_arp(&request(ip(30), A, true), ms(0));
    assert_eq!(
        (c.state(&ip(30)), c.lookup(&ip(30))),
        (Some(NeighState::Stale), Some(A))
    );
    c.learn_arp(&request(ip(31), A, false), ms(0));
    assert_eq!(c.state(&ip(31)), None);
    // An unsolicited reply for an unknown address creates nothing either.
    c.learn_arp(&reply(ip(32), A, false), ms(0));
    assert_eq!(c.state(&ip(32)), None);
    // A gratuitous ARP neither.
    c.learn_arp(&garp(ip(33), A), ms(0));
    assert_eq!(c.state(&ip(33)), None);

    // Within locktime (1 s) a different address is refused, after it taken.
    c.learn_arp(&reply(ip(30), B, false), ms(1000));
    assert_eq!(c.lookup(&ip(30)), Some(A), "locked");
    c.learn_arp(&reply(ip(30), B, false), ms(1001));
    assert_eq!(c.lookup(&ip(30)), Some(B));
    assert_eq!(c.state(&ip(30)), Some(NeighState::Reachable));
    // A gratuitous ARP overrides within locktime.
    c.learn_arp(&garp(ip(30), A), ms(1002));
    assert_eq!(
        (c.state(&ip(30)), c.lookup(&ip(30))),
        (Some(NeighState::Stale), Some(A))
    );
    // A broadcast reply does not prove reachability.
    c.learn_arp(&reply(ip(30), A, true), ms(5000));
    assert_eq!(c.state(&ip(30)), Some(NeighState::Stale));
    // Same address, a request: a reachable entry stays reachable.
    c.learn_arp(&reply(ip(30), A, false), ms(6000));
    assert_eq!(c.state(&ip(30)), Some(NeighState::Reachable));
    c.learn_arp(&request(ip(30), A, true), ms(7000));
    assert_eq!(c.state(&ip(30)), Some(NeighState::Reachable));
    // Unusable senders are ignored.
    c.learn_arp(
        &request(IpAddr::V4(Ipv4Addr::UNSPECIFIED), A, true),
        ms(7000),
    );
    c.learn_arp(&request(ip(40), EthernetAddress::BROADCAST, true), ms(7000));
    assert_eq!(c.len(), 1);
}

/// Neighbour discovery learning (`ndisc_recv_ns` / `ndisc_recv_na`, accept_untracked_na = 0).
#[test]
fn ndp_learning_rules() {
    let mut c = NeighbourCache::new(NeighParams::default());
    let solicited = NdpNeighborFlags::SOLICITED;
    let s_o = NdpNeighborFlags::SOLICITED | NdpNeighborFlags::OVERRIDE;
    // An advertisement for an unknown address creates nothing.
    c.learn_ndp(&advert(ip6(21), Some(A), s_o), ms(0));
    assert_eq!(c.state(&ip6(21)), None);
    // Resolution answered by a solicited advertisement.
    c.resolve_or_queue(ip6(21), b"q", ms(0));
    assert_eq!(
        c.learn_ndp(&advert(ip6(21), None, s_o), ms(1)),
        None,
        "no option: nothing"
    );
    assert_eq!(
        c.learn_ndp(&advert(ip6(21), Some(A), s_o), ms(2)),
        Some(Released {
            addr: ip6(21),
            mac: A,
            frames: vec![b"q".to_vec()]
        })
    );
    assert_eq!(c.state(&ip6(21)), Some(NeighState::Reachable));
    // Without override, another address makes a reachable entry stale, keeping the old.
    c.learn_ndp(&advert(ip6(21), Some(B), solicited), ms(3));
    assert_eq!(
        (c.state(&ip6(21)), c.lookup(&ip6(21))),
        (Some(NeighState::Stale), Some(A))
    );
    // ... and is ignored by a stale one.
    c.learn_ndp(&advert(ip6(21), Some(B), solicited), ms(4));
    assert_eq!(c.lookup(&ip6(21)), Some(A));
    // With override it is taken; unsolicited → stale.
    c.learn_ndp(&advert(ip6(21), Some(B), NdpNeighborFlags::OVERRIDE), ms(5));
    assert_eq!(
        (c.state(&ip6(21)), c.lookup(&ip6(21))),
        (Some(NeighState::Stale), Some(B))
    );
    // Solicited without option confirms the known address.
    c.learn_ndp(&advert(ip6(21), None, solicited), ms(6));
    assert_eq!(c.state(&ip6(21)), Some(NeighState::Reachable));

    // A solicitation for us with a source option creates a stale entry; without option, or
    // not for us, nothing.
    c.learn_ndp(&solicit(ip6(30), Some(A), true), ms(0));
    assert_eq!(
        (c.state(&ip6(30)), c.lookup(&ip6(30))),
        (Some(NeighState::Stale), Some(A))
    );
    c.learn_ndp(&solicit(ip6(31), None, true), ms(0));
    c.learn_ndp(&solicit(ip6(32), Some(A), false), ms(0));
    assert_eq!((c.state(&ip6(31)), c.state(&ip6(32))), (None, None));
    assert_eq!(c.len(), 2);
}

#[test]
fn learning_from_frames() {
    let mut c = NeighbourCache::new(NeighParams::default());
    assert_eq!(c.learn_from_frame(ip(50), A, ms(0)), None);
    assert_eq!(c.state(&ip(50)), Some(NeighState::Stale));
    // Same address confirms; another address is left to ARP.
    c.learn_from_frame(ip(50), A, ms(1));
    assert_eq!(c.state(&ip(50)), Some(NeighState::Reachable));
    c.learn_from_frame(ip(50), B, ms(2));
    assert_eq!(c.lookup(&ip(50)), Some(A));
    // An incomplete entry is completed (stale) and its queue released.
    c.resolve_or_queue(ip(51), b"w", ms(0));
    assert_eq!(
        c.learn_from_frame(ip(51), B, ms(3)),
        Some(Released {
            addr: ip(51),
            mac: B,
            frames: vec![b"w".to_vec()]
        })
    );
    assert_eq!(c.state(&ip(51)), Some(NeighState::Stale));
    // Multicast sources teach nothing.
    c.learn_from_frame(ip(52), EthernetAddress::BROADCAST, ms(3));
    assert_eq!(c.state(&ip(52)), None);
}

#[test]
fn table_limit() {
    let params = NeighParams {
        max_entries: 2,
        ..NeighParams::default()
    };
    let mut c = NeighbourCache::new(params);
    c.resolve(ip(1), ms(0));
    c.learn_arp(&request(ip(2), A, true), ms(0));
    assert_eq!(c.resolve(ip(3), ms(10)), Resolution::TableFull);
    // Requests for us cannot add either.
    c.learn_arp(&request(ip(4), A, true), ms(10));
    assert_eq!(c.state(&ip(4)), None);
    // Once the stale entry is a minute unused, it makes room.
    assert!(matches!(
        c.resolve(ip(3), ms(60_000)),
        Resolution::Pending { probe: Some(_), .. }
    ));
    assert_eq!(c.state(&ip(2)), None);
    assert_eq!(c.len(), 2);
}

#[test]
fn permanent_entries() {
    let mut c = NeighbourCache::new(NeighParams::default());
    c.insert_permanent(ip(9), A);
    assert_eq!(c.resolve(ip(9), ms(0)), Resolution::Ready(A));
    c.learn_arp(&garp(ip(9), B), ms(10_000));
    c.learn_from_frame(ip(9), B, ms(10_000));
    assert_eq!(c.lookup(&ip(9)), Some(A));
    assert_eq!(c.poll(ms(1_000_000)), vec![]);
    assert_eq!(c.state(&ip(9)), Some(NeighState::Permanent));
    assert_eq!(c.next_deadline(), None);
    assert!(c.remove(&ip(9)));
    assert!(!c.remove(&ip(9)));
}

#[test]
fn events_are_ordered_by_address() {
    let mut c = NeighbourCache::new(NeighParams::default());
    for last in [7, 3, 9, 1] {
        c.resolve(ip(last), ms(0));
    }
    assert_eq!(
        c.poll(ms(1000)),
        vec![
            broadcast_probe(ip(1)),
            broadcast_probe(ip(3)),
            broadcast_probe(ip(7)),
            broadcast_probe(ip(9)),
        ]
    );
    assert_eq!(c.params().retrans_time, Duration::from_secs(1));
}

//! Traffic counters and rates through the engine (spec §10): what is counted where, the
//! 2-second estimator with the spec's test vector, `-Z`; and the sizes of the per-packet
//! types.

mod engine_support;

use engine_support::*;
use lb_core::engine::{PacketMeta, Settings, Verdict};
use lb_core::stats::Counters;

fn shown(e: &lb_core::engine::Engine) -> (Counters, Counters, Counters) {
    e.read(|ipvs, _| {
        let s = ipvs.service(&service_key("-u 198.18.0.1:53")).unwrap();
        (
            ipvs.stats.shown(),
            s.stats.shown(),
            s.dests().get(0).unwrap().stats.shown(),
        )
    })
}

#[test]
fn counters_rates_and_zero() {
    let e = engine(
        &[
            "-A -u 198.18.0.1:53 -s rr",
            "-a -u 198.18.0.1:53 -r 198.19.0.11 -m",
        ],
        Settings::default(),
    );
    e.housekeeping(at(0.0));
    // 1000 new flows of one 100-byte datagram each, and one reply.
    for p in 0..1000u16 {
        let v = e.process(
            &udp(&format!("198.18.1.1:{}", 10_000 + p), "198.18.0.1:53"),
            at(1.0),
        );
        assert!(matches!(v, Verdict::Forward(_)));
    }
    assert!(matches!(
        e.process(&udp("198.19.0.11:53", "198.18.1.1:10000"), at(1.0)),
        Verdict::Reply(_)
    ));
    let (total, svc, dest) = shown(&e);
    for c in [total, svc, dest] {
        assert_eq!(
            (c.conns, c.inpkts, c.inbytes, c.outpkts, c.outbytes),
            (1000, 1000, 100_000, 1, 100)
        );
    }
    // The estimator: 1000 connections in one 2 s interval from idle show 125 per second,
    // 94 after the next idle interval (spec §17).
    e.housekeeping(at(2.0));
    let rates = e.read(|ipvs, rates| {
        let s = ipvs.service(&service_key("-u 198.18.0.1:53")).unwrap();
        (rates(s, None), rates(s, s.dests().get(0)))
    });
    for r in [rates.0, rates.1, e.total_rates()] {
        assert_eq!(
            (r.cps, r.inpps, r.outpps, r.inbps, r.outbps),
            (125, 125, 0, 12_500, 12)
        );
    }
    e.housekeeping(at(4.0));
    assert_eq!(e.total_rates().cps, 94);
    // -Z: counters and rates start again from zero.
    e.zero(None).unwrap();
    let (total, svc, dest) = shown(&e);
    assert_eq!([total, svc, dest], [Counters::default(); 3]);
    assert_eq!(e.total_rates().cps, 0);
    // Packets after -Z count from zero.
    e.process(&udp("198.18.1.1:10000", "198.18.0.1:53"), at(5.0));
    assert_eq!(shown(&e).0.inpkts, 1);
}

#[test]
fn nothing_is_counted_for_a_deleted_server() {
    let e = engine(
        &[
            "-A -u 198.18.0.1:53 -s rr",
            "-a -u 198.18.0.1:53 -r 198.19.0.11 -m",
        ],
        Settings::default(),
    );
    e.process(&udp("198.18.1.1:1000", "198.18.0.1:53"), at(0.0));
    run(&e, &["-d -u 198.18.0.1:53 -r 198.19.0.11"]);
    // The reply is still translated, but not counted; the client's packets are dropped.
    assert!(matches!(
        e.process(&udp("198.19.0.11:53", "198.18.1.1:1000"), at(1.0)),
        Verdict::Reply(_)
    ));
    assert!(matches!(
        e.process(&udp("198.18.1.1:1000", "198.18.0.1:53"), at(1.0)),
        Verdict::Drop(_)
    ));
    let s = e.read(|ipvs, _| ipvs.stats.shown());
    assert_eq!((s.conns, s.inpkts, s.outpkts), (1, 1, 0));
}

#[test]
fn per_packet_types_are_small() {
    // Passed by reference and returned by value on the packet path.
    assert_eq!(std::mem::size_of::<PacketMeta>(), 100);
    assert_eq!(std::mem::size_of::<Verdict>(), 32);
}

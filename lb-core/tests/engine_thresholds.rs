//! Connection thresholds and OVERLOAD through the engine (spec §9): set when a connection is
//! bound at the upper threshold, cleared when one leaves below the lower one (or ¾ of the
//! upper one); persistence still sends its clients to an OVERLOADed server.

mod engine_support;

use engine_support::*;
use lb_core::engine::{DropReason, Settings, Verdict};

fn dest(v: Verdict) -> std::net::IpAddr {
    match v {
        Verdict::Forward(f) => f.daddr,
        other => panic!("{other:?}"),
    }
}

#[test]
fn upper_and_lower_thresholds_open_and_close() {
    let e = engine(
        &[
            "-A -u 198.18.0.1:53 -s wlc",
            "-a -u 198.18.0.1:53 -r 198.19.0.11 -m -x 3 -y 1",
        ],
        Settings::default(),
    );
    let svc = "-u 198.18.0.1:53";
    let rs = "198.19.0.11:53";
    let send =
        |port: u16, t: f64| e.process(&udp(&format!("198.18.1.1:{port}"), "198.18.0.1:53"), at(t));
    for (i, port) in [1u16, 2].iter().enumerate() {
        assert_eq!(dest(send(*port, i as f64)), ip("198.19.0.11"));
        assert!(!overloaded(&e, svc, rs));
    }
    // The third connection reaches the upper threshold: OVERLOAD.
    assert_eq!(dest(send(3, 2.0)), ip("198.19.0.11"));
    assert!(overloaded(&e, svc, rs));
    // No other server: new clients get port unreachable; existing ones still pass.
    assert!(matches!(send(4, 3.0), Verdict::SendIcmp(s) if s.reason == DropReason::NoServer));
    assert_eq!(dest(send(1, 3.0)), ip("198.19.0.11"));
    // Connections expire one by one (300 s after their last packet): 2 left, 1 left, both
    // above or at the lower threshold 1, OVERLOAD stays; at 0 it clears.
    e.housekeeping(at(301.0));
    assert_eq!(counts(&e, svc, rs), (0, 2, 0));
    assert!(overloaded(&e, svc, rs));
    e.housekeeping(at(302.0));
    assert_eq!(counts(&e, svc, rs), (0, 1, 0));
    assert!(overloaded(&e, svc, rs));
    e.housekeeping(at(303.0));
    assert_eq!(counts(&e, svc, rs), (0, 0, 0));
    assert!(!overloaded(&e, svc, rs));
    assert_eq!(dest(send(5, 304.0)), ip("198.19.0.11"));
}

#[test]
fn three_quarters_of_the_upper_threshold_without_a_lower_one() {
    let e = engine(
        &[
            "-A -t 198.18.0.1:80 -s wlc",
            "-a -t 198.18.0.1:80 -r 198.19.0.11 -m -x 4",
            "-a -t 198.18.0.1:80 -r 198.19.0.12 -m -w 1",
        ],
        Settings::default(),
    );
    let svc = "-t 198.18.0.1:80";
    let rs = "198.19.0.11:80";
    // wlc alternates between the two (equal weights): 8 connections fill .11 to 4.
    let mut to_11 = Vec::new();
    for p in 1..=8u16 {
        let c = format!("198.18.1.1:{p}");
        if dest(e.process(&tcp(&c, "198.18.0.1:80", SYN), at(0.0))) == ip("198.19.0.11") {
            to_11.push(c);
        }
    }
    assert_eq!(to_11.len(), 4);
    assert!(overloaded(&e, svc, rs));
    // The next ones all go to .12.
    for p in 9..=11u16 {
        assert_eq!(
            dest(e.process(
                &tcp(&format!("198.18.1.1:{p}"), "198.18.0.1:80", SYN),
                at(0.0)
            )),
            ip("198.19.0.12")
        );
    }
    // Closing: 3 left (3·4 = 12, not < 12) keeps OVERLOAD; 2 left (8 < 12) clears it.
    // (SYN_RECV ignores a client's RST; an ACK establishes first.)
    e.process(&tcp(&to_11[0], "198.18.0.1:80", ACK), at(1.0));
    e.process(&tcp(&to_11[0], "198.18.0.1:80", RST), at(1.0));
    e.process(&tcp(&to_11[1], "198.18.0.1:80", ACK), at(2.0));
    e.process(&tcp(&to_11[1], "198.18.0.1:80", RST), at(2.0));
    assert_eq!(counts(&e, svc, rs), (2, 2, 0));
    e.housekeeping(at(11.0));
    assert_eq!(counts(&e, svc, rs), (2, 1, 0));
    assert!(overloaded(&e, svc, rs));
    e.housekeeping(at(12.0));
    assert_eq!(counts(&e, svc, rs), (2, 0, 0));
    assert!(!overloaded(&e, svc, rs));
}

#[test]
fn persistence_overrides_overload() {
    let e = engine(
        &[
            "-A -t 198.18.0.1:80 -s rr -p 600",
            "-a -t 198.18.0.1:80 -r 198.19.0.11 -m -x 1",
            "-a -t 198.18.0.1:80 -r 198.19.0.12 -m",
        ],
        Settings::default(),
    );
    // rr: .12 first, then .11 (which becomes OVERLOADed at once).
    assert_eq!(
        dest(e.process(&tcp("198.18.1.1:1", "198.18.0.1:80", SYN), at(0.0))),
        ip("198.19.0.12")
    );
    assert_eq!(
        dest(e.process(&tcp("198.18.1.2:1", "198.18.0.1:80", SYN), at(0.0))),
        ip("198.19.0.11")
    );
    assert!(overloaded(&e, "-t 198.18.0.1:80", "198.19.0.11:80"));
    // The same client again: its template wins over OVERLOAD.
    assert_eq!(
        dest(e.process(&tcp("198.18.1.2:2", "198.18.0.1:80", SYN), at(1.0))),
        ip("198.19.0.11")
    );
    // A new client is not sent there.
    assert_eq!(
        dest(e.process(&tcp("198.18.1.3:1", "198.18.0.1:80", SYN), at(1.0))),
        ip("198.19.0.12")
    );
    assert_eq!(counts(&e, "-t 198.18.0.1:80", "198.19.0.11:80"), (2, 0, 1));
}

//! UDP and SCTP through `Engine::process` (spec §5.3, §5.4), one-packet scheduling, and ICMP
//! errors relayed along connections (§7.6).

mod engine_support;

use std::time::Duration;

use engine_support::*;
use lb_core::conn::ConnState;
use lb_core::dest::FwdMethod;
use lb_core::engine::{
    DropReason, IcmpInfo, IcmpKind, IcmpSend, InnerTuple, PacketMeta, Reply, Settings, Side,
    Verdict,
};
use lb_core::proto::sctp::{chunk, State};
use lb_core::proto::UserTimeouts;

#[test]
fn udp_is_always_inactive_and_rearms_on_every_packet() {
    let e = engine(
        &[
            "-A -u 198.18.0.1:53 -s rr",
            "-a -u 198.18.0.1:53 -r 198.19.0.11:5353 -m",
        ],
        Settings::default(),
    );
    let c = "198.18.1.1:5000";
    let v = "198.18.0.1:53";
    let rs = "198.19.0.11:5353";
    assert!(matches!(e.process(&udp(c, v), at(0.0)), Verdict::Forward(f) if f.dport == 5353));
    let st = |t| {
        e.connection(17, ep(c), ep(v), at(t))
            .map(|c| (c.state, c.timeout.as_secs(), c.expires_in))
    };
    assert_eq!(
        st(0.0),
        Some((ConnState::Udp, 300, Duration::from_secs(300)))
    );
    assert_eq!(counts(&e, "-u 198.18.0.1:53", rs), (0, 1, 0));
    assert_eq!(
        e.process(&udp(rs, c), at(10.0)),
        Verdict::Reply(Reply {
            method: FwdMethod::Masq,
            vaddr: ip("198.18.0.1"),
            vport: 53
        })
    );
    assert_eq!(st(10.0).map(|s| s.2), Some(Duration::from_secs(300)));
    e.set_timeouts(UserTimeouts {
        tcp: 0,
        tcp_fin: 0,
        udp: 45,
    })
    .unwrap();
    e.process(&udp(c, v), at(20.0));
    assert_eq!(
        st(20.0),
        Some((ConnState::Udp, 45, Duration::from_secs(45)))
    );
    assert_eq!(counts(&e, "-u 198.18.0.1:53", rs), (0, 1, 0));
    e.housekeeping(at(65.0));
    assert_eq!(e.entry_counts(), (0, 0));
    assert_eq!(counts(&e, "-u 198.18.0.1:53", rs), (0, 0, 0));
}

#[test]
fn one_packet_scheduling() {
    let e = engine(
        &[
            "-A -u 198.18.0.1:53 -s rr -o",
            "-a -u 198.18.0.1:53 -r 198.19.0.11 -m",
            "-a -u 198.18.0.1:53 -r 198.19.0.12 -m",
        ],
        Settings::default(),
    );
    let d = |v: Verdict| match v {
        Verdict::Forward(f) => f.daddr,
        other => panic!("{other:?}"),
    };
    // Every datagram of the same flow is scheduled on its own: rr alternates.
    let got: Vec<_> = (0..4)
        .map(|i| d(e.process(&udp("198.18.1.1:5000", "198.18.0.1:53"), at(f64::from(i)))))
        .collect();
    assert_eq!(
        got,
        [
            ip("198.19.0.12"),
            ip("198.19.0.11"),
            ip("198.19.0.12"),
            ip("198.19.0.11")
        ]
    );
    assert_eq!(e.entry_counts(), (0, 0));
    assert_eq!(counts(&e, "-u 198.18.0.1:53", "198.19.0.11:53"), (0, 0, 0));
    let (conns, inpkts) = e.read(|ipvs, _| (ipvs.stats.shown().conns, ipvs.stats.shown().inpkts));
    assert_eq!((conns, inpkts), (4, 4));
}

#[test]
fn sctp_nat_association() {
    let e = engine(
        &[
            "-A --sctp-service 198.18.0.1:3868 -s rr",
            "-a --sctp-service 198.18.0.1:3868 -r 198.19.0.11 -m",
        ],
        Settings::default(),
    );
    let c = "198.18.1.1:3000";
    let v = "198.18.0.1:3868";
    let rs = "198.19.0.11:3868";
    let svc = "--sctp-service 198.18.0.1:3868";
    let st = |t| {
        e.connection(132, ep(c), ep(v), at(t))
            .map(|c| (c.state, c.timeout.as_secs()))
    };
    // Only an INIT opens an association.
    assert_eq!(
        e.process(&sctp_pkt(c, v, chunk::DATA), at(0.0)),
        Verdict::Pass
    );
    type Step = (bool, u8, State, u64, (u32, u32, u32));
    let steps: &[Step] = &[
        (true, chunk::INIT, State::Init1, 4, (0, 1, 0)),
        (false, chunk::INIT_ACK, State::CookieSent, 61, (0, 1, 0)),
        (
            true,
            chunk::COOKIE_ECHO,
            State::CookieReplied,
            61,
            (0, 1, 0),
        ),
        (false, chunk::COOKIE_ACK, State::Established, 900, (1, 0, 0)),
        (true, chunk::DATA, State::Established, 900, (1, 0, 0)),
        (false, chunk::SACK, State::Established, 900, (1, 0, 0)),
        (
            true,
            chunk::SHUTDOWN,
            State::ShutdownReceived,
            61,
            (0, 1, 0),
        ),
        (
            false,
            chunk::SHUTDOWN_ACK,
            State::ShutdownAckSent,
            61,
            (0, 1, 0),
        ),
        (true, chunk::SHUTDOWN_COMPLETE, State::Closed, 61, (0, 1, 0)),
    ];
    for (i, &(from_client, ch, state, timeout, cnt)) in steps.iter().enumerate() {
        let t = i as f64;
        let v2 = if from_client {
            e.process(&sctp_pkt(c, v, ch), at(t))
        } else {
            e.process(&sctp_pkt(rs, c, ch), at(t))
        };
        assert!(
            matches!(v2, Verdict::Forward(_) | Verdict::Reply(_)),
            "step {i}: {v2:?}"
        );
        assert_eq!(st(t), Some((ConnState::Sctp(state), timeout)), "step {i}");
        assert_eq!(counts(&e, svc, rs), cnt, "step {i}");
    }
    // An INIT on the CLOSED association is a new one.
    e.process(&sctp_pkt(c, v, chunk::INIT), at(20.0));
    assert_eq!(st(20.0), Some((ConnState::Sctp(State::Init1), 4)));
    let conns = e.read(|ipvs, _| ipvs.stats.shown().conns);
    assert_eq!(conns, 2);
    // No chunk header: nothing can be opened from it, the packet is dropped.
    let mut bare = sctp_pkt("198.18.1.2:3000", v, chunk::INIT);
    bare.sctp_chunk = None;
    bare.sctp_event = None;
    assert_eq!(
        e.process(&bare, at(21.0)),
        Verdict::Drop(DropReason::Malformed)
    );
}

#[test]
fn nat_icmp_send_refuses_unknown_replies() {
    let e = engine(
        &[
            "-A -t 198.18.0.1:80 -s rr",
            "-a -t 198.18.0.1:80 -r 198.19.0.11 -m",
        ],
        Settings::default(),
    );
    let stray = tcp("198.19.0.11:80", "198.18.1.9:1234", ACK);
    assert_eq!(e.process(&stray, at(0.0)), Verdict::Pass);
    e.set_settings(Settings {
        nat_icmp_send: true,
        ..Settings::default()
    });
    assert_eq!(
        e.process(&stray, at(0.0)),
        Verdict::SendIcmp(IcmpSend {
            kind: IcmpKind::PortUnreachable,
            to: ip("198.19.0.11"),
            reason: DropReason::UnknownNatReply,
        })
    );
    // Not for a reset, nor from a port that is not a real server's.
    assert_eq!(
        e.process(&tcp("198.19.0.11:80", "198.18.1.9:1234", RST), at(0.0)),
        Verdict::Pass
    );
    assert_eq!(
        e.process(&tcp("198.19.0.11:81", "198.18.1.9:1234", ACK), at(0.0)),
        Verdict::Pass
    );
}

fn icmp_about(src: &str, dst: &str, inner_src: &str, inner_dst: &str, side: Side) -> PacketMeta {
    let (isrc, isport) = ep(inner_src);
    let (idst, idport) = ep(inner_dst);
    PacketMeta::icmp(
        ip(src),
        ip(dst),
        IcmpInfo {
            icmp_type: 3,
            code: 4,
            inner: Some(InnerTuple {
                protocol: 6,
                src: isrc,
                dst: idst,
                sport: isport,
                dport: idport,
                fragment: false,
            }),
            tunnel: false,
        },
        56,
    )
    .from_side(side)
}

#[test]
fn icmp_errors_follow_their_connection() {
    let e = engine(
        &[
            "-A -t 198.18.0.1:80 -s rr",
            "-a -t 198.18.0.1:80 -r 198.19.0.11:8080 -m",
        ],
        Settings::default(),
    );
    let c = "198.18.1.1:40000";
    e.process(&tcp(c, "198.18.0.1:80", SYN), at(0.0));
    // A router on the server's side reports our forwarded packet (client → RS:8080).
    let v = e.process(
        &icmp_about(
            "198.19.0.1",
            "198.18.1.1",
            c,
            "198.19.0.11:8080",
            Side::Unknown,
        ),
        at(1.0),
    );
    assert_eq!(
        v,
        Verdict::IcmpToClient(Reply {
            method: FwdMethod::Masq,
            vaddr: ip("198.18.0.1"),
            vport: 80
        })
    );
    // The client's side reports our reply (VIP:80 → client).
    let v = e.process(
        &icmp_about(
            "198.18.1.254",
            "198.18.0.1",
            "198.18.0.1:80",
            c,
            Side::Client,
        ),
        at(1.0),
    );
    match v {
        Verdict::IcmpToServer(f) => assert_eq!(
            (f.method, f.daddr, f.dport),
            (FwdMethod::Masq, ip("198.19.0.11"), 8080)
        ),
        other => panic!("{other:?}"),
    }
    // Informational messages and errors about unknown flows are left to the host.
    let mut echo = icmp_about("198.18.1.1", "198.18.0.1", c, "198.18.0.1:80", Side::Client);
    echo.icmp = echo.icmp.map(|i| IcmpInfo { icmp_type: 8, ..i });
    assert_eq!(e.process(&echo, at(1.0)), Verdict::Pass);
    let unknown = icmp_about(
        "198.18.1.254",
        "198.18.0.1",
        "198.18.0.1:80",
        "198.18.1.1:1",
        Side::Client,
    );
    assert_eq!(e.process(&unknown, at(1.0)), Verdict::Pass);
    // ICMP errors neither change the state nor re-arm the timer.
    let conn = e
        .connection(6, ep(c), ep("198.18.0.1:80"), at(1.0))
        .unwrap();
    assert_eq!(conn.expires_in, Duration::from_secs(59));
    // Counted: the SYN and the client-side error in, the server-side error out.
    let s = e.read(|ipvs, _| ipvs.stats.shown());
    assert_eq!(
        (s.inpkts, s.inbytes, s.outpkts, s.outbytes),
        (2, 116, 1, 56)
    );
}

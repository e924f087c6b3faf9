//! Whole TCP conversations through `Engine::process`, NAT and direct routing, checking every
//! state, timeout, verdict and counter against spec §5.2, §2 and §10.

mod engine_support;

use std::time::Duration;

use engine_support::*;
use lb_core::conn::ConnState;
use lb_core::dest::{DestId, FwdMethod, TunnelConf};
use lb_core::engine::{DropReason, Forward, IcmpKind, IcmpSend, Reply, Settings, Verdict};
use lb_core::proto::tcp::State;
use lb_core::proto::UserTimeouts;

const VIP: &str = "198.18.0.1:80";
const CLIENT: &str = "198.18.1.1:40000";

fn nat() -> lb_core::engine::Engine {
    engine(
        &[
            "-A -t 198.18.0.1:80 -s rr",
            "-a -t 198.18.0.1:80 -r 198.19.0.11:8080 -m",
        ],
        Settings::default(),
    )
}

fn nat_forward() -> Verdict {
    Verdict::Forward(Forward {
        method: FwdMethod::Masq,
        daddr: ip("198.19.0.11"),
        dport: 8080,
        tunnel: TunnelConf::default(),
        dest: DestId(1),
    })
}

fn nat_reply() -> Verdict {
    Verdict::Reply(Reply {
        method: FwdMethod::Masq,
        vaddr: ip("198.18.0.1"),
        vport: 80,
    })
}

/// (state, timeout, time left) of the client's connection.
fn conn(e: &lb_core::engine::Engine, now: f64) -> Option<(ConnState, u64, Duration)> {
    e.connection(6, ep(CLIENT), ep(VIP), at(now))
        .map(|c| (c.state, c.timeout.as_secs(), c.expires_in))
}

const RS: &str = "198.19.0.11:8080";

#[test]
fn nat_client_closes_first() {
    let e = nat();
    let svc = "-t 198.18.0.1:80";
    assert_eq!(e.process(&tcp(CLIENT, VIP, SYN), at(0.0)), nat_forward());
    assert_eq!(
        conn(&e, 0.0),
        Some((ConnState::Tcp(State::SynRecv), 60, Duration::from_secs(60)))
    );
    assert_eq!(counts(&e, svc, RS), (1, 0, 0));

    // The server's SYN-ACK keeps SYN_RECV.
    assert_eq!(e.process(&tcp(RS, CLIENT, SYN | ACK), at(0.5)), nat_reply());
    assert_eq!(
        conn(&e, 0.5),
        Some((ConnState::Tcp(State::SynRecv), 60, Duration::from_secs(60)))
    );

    // The client's ACK establishes it: 900 s.
    assert_eq!(e.process(&tcp(CLIENT, VIP, ACK), at(1.0)), nat_forward());
    assert_eq!(
        conn(&e, 1.0),
        Some((
            ConnState::Tcp(State::Established),
            900,
            Duration::from_secs(900)
        ))
    );
    assert_eq!(conn(&e, 301.0).map(|c| c.2), Some(Duration::from_secs(600)));
    assert_eq!(counts(&e, svc, RS), (1, 0, 0));

    // Data both ways re-arms the timer.
    assert_eq!(
        e.process(&tcp(CLIENT, VIP, ACK | PSH), at(400.0)),
        nat_forward()
    );
    assert_eq!(
        e.process(&tcp(RS, CLIENT, ACK | PSH), at(401.0)),
        nat_reply()
    );
    assert_eq!(
        conn(&e, 401.0),
        Some((
            ConnState::Tcp(State::Established),
            900,
            Duration::from_secs(900)
        ))
    );

    // Client FIN: CLOSE_WAIT, 60 s, no longer active.
    assert_eq!(
        e.process(&tcp(CLIENT, VIP, FIN | ACK), at(500.0)),
        nat_forward()
    );
    assert_eq!(
        conn(&e, 500.0),
        Some((
            ConnState::Tcp(State::CloseWait),
            60,
            Duration::from_secs(60)
        ))
    );
    assert_eq!(counts(&e, svc, RS), (0, 1, 0));
    // Server FIN: TIME_WAIT, 120 s.
    assert_eq!(
        e.process(&tcp(RS, CLIENT, FIN | ACK), at(500.5)),
        nat_reply()
    );
    assert_eq!(
        conn(&e, 500.5),
        Some((
            ConnState::Tcp(State::TimeWait),
            120,
            Duration::from_secs(120)
        ))
    );
    // Last ACK keeps TIME_WAIT and re-arms it.
    assert_eq!(e.process(&tcp(CLIENT, VIP, ACK), at(501.0)), nat_forward());
    assert_eq!(
        conn(&e, 501.0),
        Some((
            ConnState::Tcp(State::TimeWait),
            120,
            Duration::from_secs(120)
        ))
    );

    // Expiry exactly 120 s later.
    e.housekeeping(at(620.99));
    assert_eq!(e.entry_counts(), (1, 0));
    assert_eq!(
        conn(&e, 620.99).map(|c| c.2),
        Some(Duration::from_millis(10))
    );
    e.housekeeping(at(621.0));
    assert_eq!(e.entry_counts(), (0, 0));
    assert_eq!(counts(&e, svc, RS), (0, 0, 0));

    // Counters: 1 connection, 5 packets in of 60 bytes, 3 replies.
    let stats = e.read(|ipvs, _| {
        let s = ipvs.service(&service_key(svc)).unwrap();
        (
            s.stats.shown(),
            s.dests().get(0).unwrap().stats.shown(),
            ipvs.stats.shown(),
        )
    });
    for c in [stats.0, stats.1, stats.2] {
        assert_eq!(
            (c.conns, c.inpkts, c.inbytes, c.outpkts, c.outbytes),
            (1, 5, 300, 3, 180)
        );
    }
    assert_eq!(e.memory_used(), 0);
}

#[test]
fn nat_server_closes_first() {
    let e = nat();
    e.process(&tcp(CLIENT, VIP, SYN), at(0.0));
    e.process(&tcp(RS, CLIENT, SYN | ACK), at(0.0));
    e.process(&tcp(CLIENT, VIP, ACK), at(0.0));
    assert_eq!(e.process(&tcp(RS, CLIENT, FIN | ACK), at(1.0)), nat_reply());
    assert_eq!(
        conn(&e, 1.0),
        Some((
            ConnState::Tcp(State::FinWait),
            120,
            Duration::from_secs(120)
        ))
    );
    assert_eq!(counts(&e, "-t 198.18.0.1:80", RS), (0, 1, 0));
    assert_eq!(
        e.process(&tcp(CLIENT, VIP, FIN | ACK), at(2.0)),
        nat_forward()
    );
    assert_eq!(
        conn(&e, 2.0),
        Some((
            ConnState::Tcp(State::TimeWait),
            120,
            Duration::from_secs(120)
        ))
    );
    // A reset from the server: OUTPUT rst in TIME_WAIT stays TIME_WAIT.
    e.process(&tcp(RS, CLIENT, RST), at(3.0));
    assert_eq!(
        conn(&e, 3.0),
        Some((
            ConnState::Tcp(State::TimeWait),
            120,
            Duration::from_secs(120)
        ))
    );
}

#[test]
fn direct_routing_trace() {
    let e = engine(
        &[
            "-A -t 198.18.0.1:80 -s wlc",
            "-a -t 198.18.0.1:80 -r 198.19.0.21 -g -w 1",
        ],
        Settings::default(),
    );
    let fwd = Verdict::Forward(Forward {
        method: FwdMethod::Route,
        daddr: ip("198.19.0.21"),
        dport: 80,
        tunnel: TunnelConf::default(),
        dest: DestId(1),
    });
    let svc = "-t 198.18.0.1:80";
    let rs = "198.19.0.21:80";
    type Step = (u8, State, u64, (u32, u32, u32));
    let steps: &[Step] = &[
        (SYN, State::SynRecv, 60, (1, 0, 0)),
        (ACK, State::Established, 900, (1, 0, 0)),
        (ACK | PSH, State::Established, 900, (1, 0, 0)),
        (FIN | ACK, State::FinWait, 120, (0, 1, 0)),
        (ACK, State::FinWait, 120, (0, 1, 0)),
        (RST, State::Close, 10, (0, 1, 0)),
    ];
    for (i, &(flags, state, timeout, c)) in steps.iter().enumerate() {
        let t = i as f64;
        assert_eq!(e.process(&tcp(CLIENT, VIP, flags), at(t)), fwd, "step {i}");
        assert_eq!(
            conn(&e, t),
            Some((ConnState::Tcp(state), timeout, Duration::from_secs(timeout))),
            "step {i}"
        );
        assert_eq!(counts(&e, svc, rs), c, "step {i}");
    }
    // No reply is ever seen: NOOUTPUT stays.
    let c = e.connection(6, ep(CLIENT), ep(VIP), at(5.0)).unwrap();
    assert_eq!(
        c.flags & lb_core::conn::flags::NOOUTPUT,
        lb_core::conn::flags::NOOUTPUT
    );
    e.housekeeping(at(15.0));
    assert_eq!(e.entry_counts(), (0, 0));
    let (conns, outpkts) = e.read(|ipvs, _| {
        let s = ipvs.service(&service_key(svc)).unwrap().stats.shown();
        (s.conns, s.outpkts)
    });
    assert_eq!((conns, outpkts), (1, 0));
}

#[test]
fn packets_without_a_connection() {
    let e = nat();
    // Not a SYN: left to the host, nothing created.
    assert_eq!(e.process(&tcp(CLIENT, VIP, ACK), at(0.0)), Verdict::Pass);
    // A SYN with RST: never creates one.
    assert_eq!(
        e.process(&tcp(CLIENT, VIP, SYN | RST), at(0.0)),
        Verdict::Pass
    );
    // No such service.
    assert_eq!(
        e.process(&tcp(CLIENT, "198.18.0.1:81", SYN), at(0.0)),
        Verdict::Pass
    );
    // Unknown protocol.
    let mut gre = tcp(CLIENT, VIP, SYN);
    gre.protocol = 47;
    assert_eq!(e.process(&gre, at(0.0)), Verdict::Pass);
    // Client port 20 (FTP data) is never scheduled.
    assert_eq!(
        e.process(&tcp("198.18.1.1:20", VIP, SYN), at(0.0)),
        Verdict::Pass
    );
    assert_eq!(e.entry_counts(), (0, 0));

    // sloppy_tcp: any non-RST segment opens a connection.
    e.set_settings(Settings {
        sloppy_tcp: true,
        ..Settings::default()
    });
    assert_eq!(e.process(&tcp(CLIENT, VIP, ACK), at(1.0)), nat_forward());
    assert_eq!(
        conn(&e, 1.0).map(|c| c.0),
        Some(ConnState::Tcp(State::Established))
    );
    assert_eq!(
        e.process(&tcp("198.18.1.2:1", VIP, RST), at(1.0)),
        Verdict::Pass
    );
}

#[test]
fn no_real_server_answers_port_unreachable() {
    let e = engine(
        &[
            "-A -t 198.18.0.1:80 -s wlc",
            "-a -t 198.18.0.1:80 -r 198.19.0.11 -m -w 0",
        ],
        Settings::default(),
    );
    let v = e.process(&tcp(CLIENT, VIP, SYN), at(0.0));
    assert_eq!(
        v,
        Verdict::SendIcmp(IcmpSend {
            kind: IcmpKind::PortUnreachable,
            to: ip("198.18.1.1"),
            reason: DropReason::NoServer,
        })
    );
    assert_eq!(e.drop_counts().get(DropReason::NoServer), 1);
    assert_eq!(e.entry_counts(), (0, 0));
    // A firewall-mark service, not persistent: a real server's port is honoured, port 0
    // keeps the packet's own port.
    let e = engine(
        &[
            "-A -f 7 -s rr",
            "-a -f 7 -r 198.19.0.11:8080 -m",
            "-a -f 7 -r 198.19.0.12 -m",
        ],
        Settings::default(),
    );
    let port = |v: Verdict| match v {
        Verdict::Forward(f) => (f.daddr, f.dport),
        other => panic!("{other:?}"),
    };
    let p1 = e.process(
        &tcp("198.18.1.1:1000", "198.18.0.9:443", SYN).with_fwmark(7),
        at(0.0),
    );
    let p2 = e.process(
        &tcp("198.18.1.1:1001", "198.18.0.9:443", SYN).with_fwmark(7),
        at(0.0),
    );
    assert_eq!(port(p1), (ip("198.19.0.12"), 443));
    assert_eq!(port(p2), (ip("198.19.0.11"), 8080));
    // Without the mark the packet is not the service's.
    assert_eq!(
        e.process(&tcp("198.18.1.1:1002", "198.18.0.9:443", SYN), at(0.0)),
        Verdict::Pass
    );
}

#[test]
fn conn_reuse_and_nodest() {
    let e = engine(
        &[
            "-A -t 198.18.0.1:80 -s rr",
            "-a -t 198.18.0.1:80 -r 198.19.0.11 -m",
            "-a -t 198.18.0.1:80 -r 198.19.0.12 -m",
        ],
        Settings::default(),
    );
    let dest_of = |v: Verdict| match v {
        Verdict::Forward(f) => f.daddr,
        other => panic!("{other:?}"),
    };
    // rr starts with the server added last.
    let first = dest_of(e.process(&tcp(CLIENT, VIP, SYN), at(0.0)));
    assert_eq!(first, ip("198.19.0.12"));
    e.process(&tcp(CLIENT, VIP, ACK), at(0.1));
    e.process(&tcp(CLIENT, VIP, RST), at(0.2));
    assert_eq!(
        conn(&e, 0.2).map(|c| c.0),
        Some(ConnState::Tcp(State::Close))
    );
    // conn_reuse_mode 1: a SYN on a CLOSE connection is a new connection, scheduled anew.
    assert_eq!(
        dest_of(e.process(&tcp(CLIENT, VIP, SYN), at(1.0))),
        ip("198.19.0.11")
    );
    assert_eq!(
        conn(&e, 1.0).map(|c| c.0),
        Some(ConnState::Tcp(State::SynRecv))
    );
    e.process(&tcp(CLIENT, VIP, RST), at(1.1));
    // conn_reuse_mode 0: the SYN reuses the old connection and its server.
    e.set_settings(Settings {
        conn_reuse_mode: 0,
        ..Settings::default()
    });
    assert_eq!(
        dest_of(e.process(&tcp(CLIENT, VIP, SYN), at(2.0))),
        ip("198.19.0.11")
    );
    assert_eq!(
        conn(&e, 2.0).map(|c| c.0),
        Some(ConnState::Tcp(State::SynRecv))
    );
    let conns = e.read(|ipvs, _| ipvs.stats.shown().conns);
    assert_eq!(conns, 2);

    // The server is deleted: its packets are dropped while the connection lives.
    run(&e, &["-d -t 198.18.0.1:80 -r 198.19.0.11"]);
    assert_eq!(
        e.process(&tcp(CLIENT, VIP, ACK), at(3.0)),
        Verdict::Drop(DropReason::DestUnavailable)
    );
    assert_eq!(e.drop_counts().get(DropReason::DestUnavailable), 1);
    // expire_nodest_conn: the connection goes and the packet is scheduled anew (a SYN).
    e.set_settings(Settings {
        expire_nodest_conn: true,
        ..Settings::default()
    });
    assert_eq!(e.process(&tcp(CLIENT, VIP, ACK), at(4.0)), Verdict::Pass);
    assert_eq!(e.entry_counts(), (0, 0));
    assert_eq!(
        dest_of(e.process(&tcp(CLIENT, VIP, SYN), at(5.0))),
        ip("198.19.0.12")
    );
    // The deleted server's counters went back to zero in the trash.
    let trashed = e.read(|ipvs, _| {
        let t = &ipvs.trash()[0].dest;
        (t.active_conns(), t.inactive_conns())
    });
    assert_eq!(trashed, (0, 0));
}

#[test]
fn conn_reuse_mode_2_fin_wait_of_direct_routing() {
    let e = engine(
        &[
            "-A -t 198.18.0.1:80 -s rr",
            "-a -t 198.18.0.1:80 -r 198.19.0.21 -g",
            "-a -t 198.18.0.1:80 -r 198.19.0.22 -g",
        ],
        Settings {
            conn_reuse_mode: 2,
            ..Settings::default()
        },
    );
    let d = |v: Verdict| match v {
        Verdict::Forward(f) => f.daddr,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        d(e.process(&tcp(CLIENT, VIP, SYN), at(0.0))),
        ip("198.19.0.22")
    );
    e.process(&tcp(CLIENT, VIP, ACK), at(0.0));
    e.process(&tcp(CLIENT, VIP, FIN | ACK), at(0.0));
    assert_eq!(
        conn(&e, 0.0).map(|c| c.0),
        Some(ConnState::Tcp(State::FinWait))
    );
    assert_eq!(
        d(e.process(&tcp(CLIENT, VIP, SYN), at(1.0))),
        ip("198.19.0.21")
    );
}

#[test]
fn set_timeouts_change_established_and_fin_wait() {
    let e = nat();
    e.set_timeouts(UserTimeouts {
        tcp: 100,
        tcp_fin: 30,
        udp: 0,
    })
    .unwrap();
    assert_eq!(
        e.settings().timeouts.user(),
        UserTimeouts {
            tcp: 100,
            tcp_fin: 30,
            udp: 300
        }
    );
    e.process(&tcp(CLIENT, VIP, SYN), at(0.0));
    // SYN_RECV is not one of the three.
    assert_eq!(conn(&e, 0.0).map(|c| c.1), Some(60));
    e.process(&tcp(RS, CLIENT, SYN | ACK), at(0.0));
    e.process(&tcp(CLIENT, VIP, ACK), at(0.0));
    assert_eq!(conn(&e, 0.0).map(|c| c.1), Some(100));
    e.process(&tcp(RS, CLIENT, FIN | ACK), at(1.0));
    assert_eq!(
        conn(&e, 1.0),
        Some((ConnState::Tcp(State::FinWait), 30, Duration::from_secs(30)))
    );
    assert!(e
        .set_timeouts(UserTimeouts {
            tcp: 2678401,
            tcp_fin: 0,
            udp: 0
        })
        .is_err());
}

#[test]
fn secure_tcp_waits_for_the_servers_syn_ack() {
    let e = nat();
    e.set_settings(Settings {
        secure_tcp: lb_core::engine::DefenseMode::Always,
        ..Settings::default()
    });
    assert!(e.defense_status().secure_tcp);
    e.process(&tcp(CLIENT, VIP, SYN), at(0.0));
    assert_eq!(
        conn(&e, 0.0).map(|c| c.0),
        Some(ConnState::Tcp(State::SynRecv))
    );
    // An ACK before the server's SYN-ACK does not establish (INPUT ack SR → SR).
    e.process(&tcp(CLIENT, VIP, ACK), at(0.1));
    assert_eq!(
        conn(&e, 0.1).map(|c| c.0),
        Some(ConnState::Tcp(State::SynRecv))
    );
    // The server's SYN-ACK: SYNACK (120 s, active). The client's ACK keeps SYNACK
    // (INPUT ack SA → SA); the server's first ACK establishes (OUTPUT ack SA → ES).
    e.process(&tcp(RS, CLIENT, SYN | ACK), at(0.2));
    assert_eq!(
        conn(&e, 0.2).map(|c| (c.0, c.1)),
        Some((ConnState::Tcp(State::SynAck), 120))
    );
    assert_eq!(counts(&e, "-t 198.18.0.1:80", RS), (1, 0, 0));
    e.process(&tcp(CLIENT, VIP, ACK), at(0.3));
    assert_eq!(
        conn(&e, 0.3).map(|c| c.0),
        Some(ConnState::Tcp(State::SynAck))
    );
    e.process(&tcp(RS, CLIENT, ACK | PSH), at(0.4));
    assert_eq!(
        conn(&e, 0.4).map(|c| (c.0, c.1)),
        Some((ConnState::Tcp(State::Established), 900))
    );
}

#[test]
fn expiry_does_not_depend_on_housekeeping() {
    let e = nat();
    e.process(&tcp(CLIENT, VIP, SYN), at(0.0));
    // 60 s later the SYN_RECV connection has expired even though nothing reaped it: a
    // non-SYN packet finds nothing and is left to the host.
    assert_eq!(e.process(&tcp(CLIENT, VIP, ACK), at(60.0)), Verdict::Pass);
    assert_eq!(counts(&e, "-t 198.18.0.1:80", RS), (0, 0, 0));
    assert_eq!(e.entry_counts(), (0, 0));
}

#[test]
fn a_direct_routing_reply_seen_by_the_director_clears_nooutput() {
    // The kernel's reply lookup also matches connections of other methods by their virtual
    // address: a DR server's answer passing through the director is counted and runs the
    // OUTPUT transition.
    let e = engine(
        &[
            "-A -t 198.18.0.1:80 -s rr",
            "-a -t 198.18.0.1:80 -r 198.19.0.21 -g",
        ],
        Settings::default(),
    );
    e.process(&tcp(CLIENT, VIP, SYN), at(0.0));
    let v = e.process(&tcp(VIP, CLIENT, SYN | ACK), at(0.1));
    assert_eq!(
        v,
        Verdict::Reply(Reply {
            method: FwdMethod::Route,
            vaddr: ip("198.18.0.1"),
            vport: 80
        })
    );
    let c = e.connection(6, ep(CLIENT), ep(VIP), at(0.1)).unwrap();
    assert_eq!(c.flags & lb_core::conn::flags::NOOUTPUT, 0);
    assert_eq!(c.state, ConnState::Tcp(State::SynRecv));
    let out = e.read(|ipvs, _| ipvs.stats.shown().outpkts);
    assert_eq!(out, 1);
    // From the clients' side the same packet is not looked up as a reply.
    let v = e.process(
        &tcp(VIP, CLIENT, ACK).from_side(lb_core::engine::Side::Client),
        at(0.2),
    );
    assert_eq!(v, Verdict::Pass);
}

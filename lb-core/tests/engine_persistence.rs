//! Persistence (spec §6): templates per port, per client (port 0), per client and firewall
//! mark; netmasks; the destination port rule; template lifetime, the 60-second re-arm,
//! ASSURED; invalidation.

mod engine_support;

use std::net::IpAddr;
use std::time::Duration;

use engine_support::*;
use lb_core::conn::ConnState;
use lb_core::engine::{Engine, Settings, Verdict};
use lb_core::ipvsadm::{self, ListFormat, NumericOnly};

fn dest(v: Verdict) -> (IpAddr, u16) {
    match v {
        Verdict::Forward(f) => (f.daddr, f.dport),
        other => panic!("{other:?}"),
    }
}

fn two_servers(svc: &str, extra: &str, method: &str) -> Engine {
    engine(
        &[
            &format!("-A {svc} -s rr {extra}"),
            &format!("-a {svc} -r 198.19.0.11 {method}"),
            &format!("-a {svc} -r 198.19.0.12 {method}"),
        ],
        Settings::default(),
    )
}

#[test]
fn port_zero_service_keeps_a_client_on_one_server_across_ports() {
    let e = two_servers("-t 198.18.0.1:0", "-p 300", "-m");
    let a1 = dest(e.process(&tcp("198.18.1.1:1000", "198.18.0.1:80", SYN), at(0.0)));
    let a2 = dest(e.process(&tcp("198.18.1.1:1001", "198.18.0.1:443", SYN), at(1.0)));
    let a3 = dest(e.process(&tcp("198.18.1.1:1002", "198.18.0.1:22", SYN), at(2.0)));
    // The server's port (0) is ignored: the packet's own port is kept.
    assert_eq!(a1, (ip("198.19.0.12"), 80));
    assert_eq!(a2, (ip("198.19.0.12"), 443));
    assert_eq!(a3, (ip("198.19.0.12"), 22));
    // Another client gets the next server.
    let b = dest(e.process(&tcp("198.18.1.2:1000", "198.18.0.1:80", SYN), at(3.0)));
    assert_eq!(b, (ip("198.19.0.11"), 80));
    // One template per client: (TCP, client, 0, VIP, 0), NONE, counting in PersistConn.
    let t = e
        .template(6, ip("198.18.1.1"), ep("198.18.0.1:0"), at(3.0))
        .unwrap();
    assert_eq!(t.state, ConnState::Template { assured: false });
    assert_eq!((t.n_control, t.dest_addr), (3, (ip("198.19.0.12"), 0)));
    // Re-armed to the full 300 s by each new connection: last at t=2.
    assert_eq!(t.expires_in, Duration::from_secs(299));
    assert_eq!(counts(&e, "-t 198.18.0.1:0", "198.19.0.12:0"), (3, 0, 1));
    assert_eq!(e.entry_counts(), (4, 2));
}

#[test]
fn firewall_mark_persistence_spans_ports_and_protocols() {
    let e = two_servers("-f 1", "-p 1800", "-g");
    let p = |pkt: lb_core::engine::PacketMeta, t| dest(e.process(&pkt.with_fwmark(1), at(t)));
    let http = p(tcp("198.18.1.5:2000", "198.18.0.1:80", SYN), 0.0);
    let https = p(tcp("198.18.1.5:2001", "198.18.0.2:443", SYN), 5.0);
    let dns = p(udp("198.18.1.5:2002", "198.18.0.1:53"), 5.0);
    assert_eq!(http, (ip("198.19.0.12"), 80));
    assert_eq!(https, (ip("198.19.0.12"), 443));
    assert_eq!(dns, (ip("198.19.0.12"), 53));
    // The template: protocol IP, the mark as the virtual address.
    let t = e
        .template(0, ip("198.18.1.5"), (ip("0.0.0.1"), 0), at(5.0))
        .unwrap();
    assert_eq!((t.protocol, t.n_control), (0, 3));
    let line = ipvsadm::list_connections(
        &[t.list_entry()],
        &ListFormat {
            numeric: true,
            ..ListFormat::default()
        },
        &NumericOnly,
    );
    assert_eq!(
        line,
        "IPVS connection entries\n\
         pro expire state       source             virtual            destination\n\
         IP  30:00  NONE        198.18.1.5:0       0.0.0.1:0          198.19.0.12:0\n"
    );
}

#[test]
fn per_port_persistence_with_a_netmask_and_the_dport_rule() {
    let e = engine(
        &[
            "-A -t 198.18.0.1:443 -s rr -p 360 -M 255.255.255.0",
            "-a -t 198.18.0.1:443 -r 198.19.0.11:8443 -m",
            "-a -t 198.18.0.1:443 -r 198.19.0.12:9443 -m",
        ],
        Settings::default(),
    );
    let a = dest(e.process(&tcp("192.168.1.5:1000", "198.18.0.1:443", SYN), at(0.0)));
    let b = dest(e.process(&tcp("192.168.1.77:1000", "198.18.0.1:443", SYN), at(0.0)));
    let c = dest(e.process(&tcp("192.168.2.5:1000", "198.18.0.1:443", SYN), at(0.0)));
    // Same /24: same server, and the real server's port is used.
    assert_eq!(a, (ip("198.19.0.12"), 9443));
    assert_eq!(b, (ip("198.19.0.12"), 9443));
    assert_eq!(c, (ip("198.19.0.11"), 8443));
    let t = e
        .template(6, ip("192.168.1.0"), ep("198.18.0.1:443"), at(0.0))
        .unwrap();
    assert_eq!((t.dest_addr, t.n_control), ((ip("198.19.0.12"), 9443), 2));
    assert_eq!(t.list_entry().expire_secs, 360);
}

#[test]
fn template_lifetime_and_the_60_second_rearm() {
    let e = two_servers("-t 198.18.0.1:80", "-p 100", "-m");
    let c = "198.18.1.1:1000";
    let vip = "198.18.0.1:80";
    let tpl = |t| e.template(6, ip("198.18.1.1"), ep(vip), at(t));
    e.process(&tcp(c, vip, SYN), at(0.0));
    e.process(&tcp("198.19.0.12:80", c, SYN | ACK), at(0.0));
    e.process(&tcp(c, vip, ACK), at(0.0));
    // Established: the template is ASSURED.
    assert_eq!(
        tpl(0.0).unwrap().state,
        ConnState::Template { assured: true }
    );
    // Packets of existing connections do not refresh it.
    e.process(&tcp(c, vip, ACK | PSH), at(50.0));
    assert_eq!(tpl(50.0).unwrap().expires_in, Duration::from_secs(50));
    // At 100 s it still controls the connection: kept 60 s more, timeout now 60 s.
    e.housekeeping(at(100.0));
    let t = tpl(100.0).unwrap();
    assert_eq!(
        (t.expires_in, t.timeout, t.n_control),
        (Duration::from_secs(60), Duration::from_secs(60), 1)
    );
    e.housekeeping(at(160.0));
    assert_eq!(tpl(160.0).unwrap().expires_in, Duration::from_secs(60));
    // A new connection through it re-arms it with its timeout — 60 s since the first
    // re-arm (the kernel sets the timeout to svc->timeout only when it creates a template).
    let d2 = dest(e.process(&tcp("198.18.1.1:1001", vip, SYN), at(170.0)));
    assert_eq!(d2, (ip("198.19.0.12"), 80));
    e.process(&tcp("198.18.1.1:1001", vip, ACK), at(170.0));
    let t = tpl(170.0).unwrap();
    assert_eq!((t.expires_in, t.n_control), (Duration::from_secs(60), 2));
    // Both connections end; the template goes when its timer runs out with nobody left.
    e.process(&tcp(c, vip, RST), at(171.0));
    e.process(&tcp("198.18.1.1:1001", vip, RST), at(171.0));
    e.housekeeping(at(181.0));
    assert_eq!(e.entry_counts(), (0, 1));
    assert_eq!(tpl(181.0).unwrap().n_control, 0);
    e.housekeeping(at(230.0));
    assert_eq!(e.entry_counts(), (0, 0));
    assert_eq!(counts(&e, "-t 198.18.0.1:80", "198.19.0.12:80"), (0, 0, 0));
    // A new client connection now is scheduled afresh (rr moves on).
    assert_eq!(
        dest(e.process(&tcp(c, vip, SYN), at(231.0))),
        (ip("198.19.0.11"), 80)
    );
}

#[test]
fn quiesced_and_deleted_servers() {
    let e = two_servers("-t 198.18.0.1:80", "-p 300", "-m");
    let vip = "198.18.0.1:80";
    assert_eq!(
        dest(e.process(&tcp("198.18.1.1:1", vip, SYN), at(0.0))).0,
        ip("198.19.0.12")
    );
    // Weight 0: persistence still wins (expire_quiescent_template is 0).
    run(&e, &["-e -t 198.18.0.1:80 -r 198.19.0.12 -m -w 0"]);
    assert_eq!(
        dest(e.process(&tcp("198.18.1.1:2", vip, SYN), at(1.0))).0,
        ip("198.19.0.12")
    );
    // With expire_quiescent_template the template is invalidated: a new one is made.
    e.set_settings(Settings {
        expire_quiescent_template: true,
        ..Settings::default()
    });
    assert_eq!(
        dest(e.process(&tcp("198.18.1.1:3", vip, SYN), at(2.0))).0,
        ip("198.19.0.11")
    );
    // The old template is disarmed (ports 0xffff), kept until it expires.
    let listing: Vec<_> = e
        .connections(at(2.0))
        .into_iter()
        .filter(|c| c.is_template())
        .map(|c| (c.vip.1, c.dest_addr, c.n_control))
        .collect();
    let mut listing = listing;
    listing.sort();
    assert_eq!(
        listing,
        [
            (80, (ip("198.19.0.11"), 80), 1),
            (65535, (ip("198.19.0.12"), 65535), 2)
        ]
    );
    // A deleted server invalidates its templates too.
    run(
        &e,
        &[
            "-e -t 198.18.0.1:80 -r 198.19.0.12 -m -w 1",
            "-d -t 198.18.0.1:80 -r 198.19.0.11",
        ],
    );
    assert_eq!(
        dest(e.process(&tcp("198.18.1.1:4", vip, SYN), at(3.0))).0,
        ip("198.19.0.12")
    );
}

#[test]
fn ipv6_prefix_persistence() {
    let e = engine(
        &[
            "-A -t [2001:db8::1]:80 -s rr -p 60 -M 64",
            "-a -t [2001:db8::1]:80 -r [2001:db8:1::11]:80 -m",
            "-a -t [2001:db8::1]:80 -r [2001:db8:1::12]:80 -m",
        ],
        Settings::default(),
    );
    let a = dest(e.process(
        &tcp("[2001:db8:5::1]:1000", "[2001:db8::1]:80", SYN),
        at(0.0),
    ));
    let b = dest(e.process(
        &tcp("[2001:db8:5::ffff]:1000", "[2001:db8::1]:80", SYN),
        at(0.0),
    ));
    let c = dest(e.process(
        &tcp("[2001:db8:6::1]:1000", "[2001:db8::1]:80", SYN),
        at(0.0),
    ));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(e
        .template(6, ip("2001:db8:5::"), ep("[2001:db8::1]:80"), at(0.0))
        .is_some());
}

//! `Engine::process_with`: a worker's own copy of the configuration follows every change
//! the engine publishes, and gives the verdicts `Engine::process` gives.

mod engine_support;

use engine_support::*;
use lb_core::engine::{Settings, SnapshotCache, Verdict};
use lb_core::{FwdMethod, Time};

/// The parts of a verdict the path uses: method, real server, port.
fn target(v: &Verdict) -> Option<(FwdMethod, std::net::IpAddr, u16)> {
    match v {
        Verdict::Forward(f) => Some((f.method, f.daddr, f.dport)),
        _ => None,
    }
}

#[test]
fn the_cached_configuration_follows_every_change() {
    let e = engine(&[], Settings::default());
    let mut cache = SnapshotCache::default();
    let syn = tcp("198.18.0.10:40000", "198.18.1.1:80", SYN);
    // No service yet: left to the host.
    assert_eq!(e.process_with(&mut cache, &syn, at(1.0)), Verdict::Pass);

    run(
        &e,
        &[
            "-A -t 198.18.1.1:80 -s rr",
            "-a -t 198.18.1.1:80 -r 198.19.0.21:8080 -m",
        ],
    );
    let v = e.process_with(&mut cache, &syn, at(2.0));
    assert_eq!(target(&v), Some((FwdMethod::Masq, ip("198.19.0.21"), 8080)));

    // The server is replaced: a new client goes to the new one.
    run(
        &e,
        &[
            "-a -t 198.18.1.1:80 -r 198.19.0.22:8080 -m",
            "-d -t 198.18.1.1:80 -r 198.19.0.21:8080",
        ],
    );
    let next = tcp("198.18.0.12:40000", "198.18.1.1:80", SYN);
    let v = e.process_with(&mut cache, &next, at(3.0));
    assert_eq!(target(&v), Some((FwdMethod::Masq, ip("198.19.0.22"), 8080)));

    // The service goes: a new client is left to the host again.
    run(&e, &["-D -t 198.18.1.1:80"]);
    let other = tcp("198.18.0.11:40000", "198.18.1.1:80", SYN);
    assert_eq!(e.process_with(&mut cache, &other, at(4.0)), Verdict::Pass);
}

#[test]
fn a_cache_moved_to_another_engine_reloads() {
    let with_service = engine(
        &[
            "-A -u 198.18.1.1:53 -s rr",
            "-a -u 198.18.1.1:53 -r 198.19.0.21:53 -m",
        ],
        Settings::default(),
    );
    // As many changes, so as many configurations published: only the engine differs.
    let other = engine(
        &[
            "-A -u 198.18.9.9:53 -s rr",
            "-a -u 198.18.9.9:53 -r 198.19.0.21:53 -m",
        ],
        Settings::default(),
    );
    let mut cache = SnapshotCache::default();
    let dns = udp("198.18.0.10:5353", "198.18.1.1:53");
    let v = with_service.process_with(&mut cache, &dns, Time::from_secs(1));
    assert_eq!(target(&v), Some((FwdMethod::Masq, ip("198.19.0.21"), 53)));
    assert_eq!(
        other.process_with(&mut cache, &dns, Time::from_secs(1)),
        Verdict::Pass
    );
    let v = with_service.process_with(&mut cache, &dns, Time::from_secs(2));
    assert_eq!(target(&v), Some((FwdMethod::Masq, ip("198.19.0.21"), 53)));
}

#[test]
fn verdicts_equal_those_of_process() {
    let commands = [
        "-A -t 198.18.1.1:80 -s wlc",
        "-a -t 198.18.1.1:80 -r 198.19.0.21:80 -g -w 2",
        "-a -t 198.18.1.1:80 -r 198.19.0.22:80 -g -w 1",
    ];
    let (a, b) = (
        engine(&commands, Settings::default()),
        engine(&commands, Settings::default()),
    );
    let mut cache = SnapshotCache::default();
    for i in 0..60u16 {
        let src = format!("198.18.0.{}:{}", 10 + i % 7, 30000 + i);
        for flags in [SYN, ACK, FIN | ACK, RST] {
            let p = tcp(&src, "198.18.1.1:80", flags);
            let now = at(f64::from(i));
            assert_eq!(a.process_with(&mut cache, &p, now), b.process(&p, now));
        }
    }
}

//! Several threads hammering one engine, NAT replies handled by other threads than their
//! requests, with a checker that no connection is lost or counted twice.

mod engine_support;

use std::net::IpAddr;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use engine_support::*;
use lb_core::conn::ConnState;
use lb_core::engine::{Engine, PacketMeta, Settings, Verdict};
use lb_core::proto::tcp::State;
use lb_core::Time;

const THREADS: usize = 4;
const FLOWS: usize = 1500;
const VIP: &str = "198.18.0.1:80";

fn client(t: usize, i: usize) -> (IpAddr, u16) {
    (
        IpAddr::from([10, t as u8, (i / 200) as u8, (i % 200) as u8]),
        1024 + i as u16,
    )
}

fn pkt(src: (IpAddr, u16), dst: (IpAddr, u16), flags: u8) -> PacketMeta {
    PacketMeta::tcp(src, dst, flags, 100)
}

#[test]
fn threads_lose_and_double_count_nothing() {
    let e = Arc::new(engine(
        &[
            "-A -t 198.18.0.1:80 -s wlc",
            "-a -t 198.18.0.1:80 -r 198.19.0.11:8080 -m",
            "-a -t 198.18.0.1:80 -r 198.19.0.12:8080 -m -w 2",
            "-a -t 198.18.0.1:80 -r 198.19.0.13:8080 -m",
        ],
        Settings::default(),
    ));
    let vip = ep(VIP);
    // Where each thread's flows went.
    let dests: Arc<Vec<Mutex<Vec<IpAddr>>>> =
        Arc::new((0..THREADS).map(|_| Mutex::new(Vec::new())).collect());
    let barrier = Arc::new(Barrier::new(THREADS + 1));
    let now = Time::from_secs(1);

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (e, dests, barrier) = (Arc::clone(&e), Arc::clone(&dests), Arc::clone(&barrier));
            thread::spawn(move || {
                // Phase 1: SYNs of my flows.
                let mut mine = Vec::with_capacity(FLOWS);
                for i in 0..FLOWS {
                    match e.process(&pkt(client(t, i), vip, SYN), now) {
                        Verdict::Forward(f) => mine.push(f.daddr),
                        other => panic!("{other:?}"),
                    }
                }
                *dests[t].lock().unwrap() = mine.clone();
                // Each phase ends with two waits: the main thread checks between them.
                barrier.wait();
                barrier.wait();
                // Phase 2: the servers' SYN-ACKs of my neighbour's flows.
                let n = (t + 1) % THREADS;
                let theirs = dests[n].lock().unwrap().clone();
                for (i, d) in theirs.iter().enumerate() {
                    let v = e.process(&pkt((*d, 8080), client(n, i), SYN | ACK), now);
                    assert!(matches!(v, Verdict::Reply(r) if r.vport == 80), "{v:?}");
                }
                barrier.wait();
                barrier.wait();
                // Phase 3: ACK and data of my flows, always to the same server.
                for (i, d) in mine.iter().enumerate() {
                    for flags in [ACK, ACK | PSH] {
                        match e.process(&pkt(client(t, i), vip, flags), now) {
                            Verdict::Forward(f) => assert_eq!(f.daddr, *d),
                            other => panic!("{other:?}"),
                        }
                    }
                }
                barrier.wait();
                barrier.wait();
                // Phase 4, no barrier between the two halves: my clients close while my
                // thread also sends the neighbour's servers' FINs; either order ends in
                // TIME_WAIT.
                for (i, their_dest) in theirs.iter().enumerate() {
                    let v = e.process(&pkt(client(t, i), vip, FIN | ACK), now);
                    assert!(matches!(v, Verdict::Forward(_)), "{v:?}");
                    let v = e.process(&pkt((*their_dest, 8080), client(n, i), FIN | ACK), now);
                    assert!(matches!(v, Verdict::Reply(_)), "{v:?}");
                }
                barrier.wait();
            })
        })
        .collect();

    let total = (THREADS * FLOWS) as u32;
    let svc = "-t 198.18.0.1:80";
    let rs = ["198.19.0.11:8080", "198.19.0.12:8080", "198.19.0.13:8080"];
    let sum = |e: &Engine| {
        rs.iter().fold((0, 0, 0), |acc, r| {
            let c = counts(e, svc, r);
            (acc.0 + c.0, acc.1 + c.1, acc.2 + c.2)
        })
    };
    barrier.wait();
    assert_eq!(e.entry_counts(), (THREADS * FLOWS, 0));
    assert_eq!(sum(&e), (total, 0, 0));
    barrier.wait();
    barrier.wait();
    assert_eq!(sum(&e), (total, 0, 0));
    barrier.wait();
    barrier.wait();
    assert_eq!(sum(&e), (total, 0, 0));
    // Every flow is ESTABLISHED.
    let conns = e.connections(now);
    assert_eq!(conns.len(), THREADS * FLOWS);
    assert!(conns
        .iter()
        .all(|c| c.state == ConnState::Tcp(State::Established)));
    // Housekeeping runs concurrently with phase 4 (nothing is due yet).
    let hk = {
        let e = Arc::clone(&e);
        thread::spawn(move || {
            for k in 0..50 {
                e.housekeeping(Time::from_millis(1000 + k));
            }
        })
    };
    barrier.wait();
    barrier.wait();
    hk.join().unwrap();
    for w in workers {
        w.join().unwrap();
    }
    let conns = e.connections(now);
    assert_eq!(conns.len(), THREADS * FLOWS);
    assert!(conns
        .iter()
        .all(|c| c.state == ConnState::Tcp(State::TimeWait)));
    assert_eq!(sum(&e), (0, total, 0));

    // Counted once each: connections, 4 packets in and 2 out per flow.
    let s = e.read(|ipvs, _| ipvs.stats.shown());
    let n = u64::from(total);
    assert_eq!(
        (s.conns, s.inpkts, s.outpkts, s.inbytes),
        (n, 4 * n, 2 * n, 400 * n)
    );
    let per_dest: u64 = e.read(|ipvs, _| {
        ipvs.service(&service_key(svc))
            .unwrap()
            .dests()
            .iter()
            .map(|d| d.stats.shown().conns)
            .sum()
    });
    assert_eq!(per_dest, n);

    // 120 s of TIME_WAIT later, everything is gone and every counter is back to zero.
    e.housekeeping(Time::from_secs(121));
    assert_eq!(e.entry_counts(), (0, 0));
    assert_eq!(sum(&e), (0, 0, 0));
    assert_eq!(e.memory_used(), 0);
}

#[test]
fn concurrent_opens_and_expiries_balance_the_counters() {
    // Threads open and close short connections on shared clients while a housekeeper
    // expires them: at the end the destination counters must be exactly zero.
    let e = Arc::new(engine(
        &[
            "-A -t 198.18.0.1:80 -s rr -p 30",
            "-a -t 198.18.0.1:80 -r 198.19.0.11 -g",
            "-a -t 198.18.0.1:80 -r 198.19.0.12 -g",
        ],
        Settings::default(),
    ));
    let vip = ep(VIP);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clock = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let workers: Vec<_> = (0..3)
        .map(|t| {
            let (e, clock) = (Arc::clone(&e), Arc::clone(&clock));
            thread::spawn(move || {
                for round in 0..400u64 {
                    let now = Time::from_millis(clock.load(std::sync::atomic::Ordering::Relaxed));
                    for c in 0..10u8 {
                        // Shared clients (same templates), ports per thread and round.
                        let src = (
                            IpAddr::from([10, 9, 0, c]),
                            1000 + (t as u16) * 500 + (round % 500) as u16,
                        );
                        for flags in [SYN, ACK, FIN | ACK, RST] {
                            let v = e.process(&pkt(src, vip, flags), now);
                            assert!(matches!(v, Verdict::Forward(_)), "{v:?}");
                        }
                    }
                }
            })
        })
        .collect();
    let hk = {
        let (e, stop, clock) = (Arc::clone(&e), Arc::clone(&stop), Arc::clone(&clock));
        thread::spawn(move || {
            // Time goes 1 ms per round, slowly enough that no flow's next packet comes
            // after its timeout, fast enough that connections and templates expire.
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = clock.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                e.housekeeping(Time::from_millis(t));
                thread::sleep(std::time::Duration::from_micros(50));
            }
        })
    };
    for w in workers {
        w.join().unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    hk.join().unwrap();
    let end = clock.load(std::sync::atomic::Ordering::Relaxed) + 200_000;
    e.housekeeping(Time::from_millis(end));
    assert_eq!(e.entry_counts(), (0, 0));
    for r in ["198.19.0.11:80", "198.19.0.12:80"] {
        assert_eq!(counts(&e, "-t 198.18.0.1:80", r), (0, 0, 0));
    }
    // Every SYN opened exactly one connection (each has its own client port).
    let conns = e.read(|ipvs, _| ipvs.stats.shown().conns);
    assert_eq!(conns, 3 * 400 * 10);
    assert_eq!(e.memory_used(), 0);
}

//! A SYN flood against a memory budget (spec §12): the table never passes the budget,
//! established connections keep being served, and the defense counters say what was
//! dropped.

mod engine_support;

use std::net::{IpAddr, Ipv4Addr};

use engine_support::*;
use lb_core::engine::{
    DefenseMode, DropReason, Engine, EngineConfig, PacketMeta, Settings, Verdict,
};
use lb_core::{ipvsadm, Ipvs, Time};

const BUDGET: usize = 8 << 20;
const THRESHOLD: usize = 2 << 20;

fn flood_engine(defenses: bool) -> Engine {
    let mode = if defenses {
        DefenseMode::Auto
    } else {
        DefenseMode::Off
    };
    let settings = Settings {
        memory_budget: BUDGET,
        amemthresh: THRESHOLD,
        drop_entry: mode,
        drop_packet: mode,
        secure_tcp: mode,
        ..Settings::default()
    };
    let e = Engine::new(
        Ipvs::new(),
        settings,
        EngineConfig {
            shard_bits: 4,
            hash_seed: 99,
        },
    );
    for line in [
        "-A -t 198.18.0.1:80 -s wlc",
        "-a -t 198.18.0.1:80 -r 198.19.0.11 -g",
        "-a -t 198.18.0.1:80 -r 198.19.0.12 -g",
    ] {
        let args: Vec<&str> = line.split(' ').collect();
        let cmd = ipvsadm::parse(&args).unwrap();
        e.configure(|ipvs| ipvsadm::apply(ipvs, &cmd)).unwrap();
    }
    e
}

/// Spoofed sources from a fixed sequence (a 32-bit LCG over 10.0.0.0/8).
fn spoofed(i: u32) -> (IpAddr, u16) {
    let x = i.wrapping_mul(2_654_435_761).wrapping_add(0x9e37);
    (
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (x >> 8))),
        1024 + (x & 0x7fff) as u16,
    )
}

struct Outcome {
    forwarded: u64,
    max_used: usize,
    saw_defenses: bool,
}

fn flood(e: &Engine, syns: u32, established: &[String]) -> Outcome {
    let vip = ep("198.18.0.1:80");
    let mut out = Outcome {
        forwarded: 0,
        max_used: 0,
        saw_defenses: false,
    };
    for i in 0..syns {
        // 10 000 SYNs a second.
        let now = Time::from_millis(10_000 + u64::from(i) / 10);
        match e.process(&PacketMeta::tcp(spoofed(i), vip, SYN, 40), now) {
            Verdict::Forward(_) => out.forwarded += 1,
            Verdict::Drop(DropReason::DefenseDropPacket | DropReason::NoMemory) => {}
            other => panic!("SYN {i}: {other:?}"),
        }
        if i % 1000 == 999 {
            e.housekeeping(now);
            let used = e.memory_used();
            assert!(used <= BUDGET, "{used} bytes used after {i} SYNs");
            out.max_used = out.max_used.max(used);
            let st = e.defense_status();
            out.saw_defenses |= st.secure_tcp && st.drop_entry && st.drop_rate > 0;
        }
        if i % 5000 == 4999 {
            for c in established {
                let v = e.process(&tcp(c, "198.18.0.1:80", ACK | PSH), now);
                assert!(
                    matches!(v, Verdict::Forward(_)),
                    "established {c} at SYN {i}: {v:?}"
                );
            }
        }
    }
    out
}

fn establish(e: &Engine, n: u16) -> Vec<String> {
    (0..n)
        .map(|p| {
            let c = format!("198.18.1.1:{}", 2000 + p);
            assert!(matches!(
                e.process(&tcp(&c, "198.18.0.1:80", SYN), at(0.0)),
                Verdict::Forward(_)
            ));
            assert!(matches!(
                e.process(&tcp(&c, "198.18.0.1:80", ACK), at(0.0)),
                Verdict::Forward(_)
            ));
            c
        })
        .collect()
}

#[test]
fn syn_flood_with_defenses() {
    let e = flood_engine(true);
    let established = establish(&e, 50);
    let syns = 200_000u32;
    let out = flood(&e, syns, &established);
    let drops = e.drop_counts();
    let status = e.defense_status();
    let by_packet = drops.get(DropReason::DefenseDropPacket);
    let by_memory = drops.get(DropReason::NoMemory);
    // Every SYN is accounted for, and each forwarded one made a connection.
    assert_eq!(out.forwarded + by_packet + by_memory, u64::from(syns));
    let conns = e.read(|ipvs, _| ipvs.stats.shown().conns);
    assert_eq!(conns, out.forwarded + 50);
    assert!(out.saw_defenses, "the defenses never engaged");
    assert!(by_packet > 0 && status.entries_dropped > 0);
    assert!(out.max_used <= BUDGET);
    println!(
        "flood with defenses: {} forwarded, {by_packet} dropped by drop_packet, {by_memory} by the budget, \
         {} entries dropped by drop_entry, peak {} bytes of {BUDGET}",
        out.forwarded, status.entries_dropped, out.max_used
    );

    // After the flood: the half-open connections time out (SYNACK 120 s under secure_tcp)
    // and the defenses stand down; the established ones are still there.
    let later = Time::from_millis(10_000 + u64::from(syns) / 10 + 121_000);
    for c in &established {
        assert!(matches!(
            e.process(&tcp(c, "198.18.0.1:80", ACK), later),
            Verdict::Forward(_)
        ));
    }
    e.housekeeping(later);
    e.housekeeping(Time::from_millis(later.as_millis() + 1000));
    assert_eq!(e.entry_counts(), (50, 0));
    let st = e.defense_status();
    assert!(!st.secure_tcp && !st.drop_entry && st.drop_rate == 0 && !st.low_memory);
    let s = e.settings();
    assert_eq!(
        (s.drop_entry, s.drop_packet, s.secure_tcp),
        (DefenseMode::Auto, DefenseMode::Auto, DefenseMode::Auto)
    );
    assert_eq!(
        counts(&e, "-t 198.18.0.1:80", "198.19.0.11:80").0
            + counts(&e, "-t 198.18.0.1:80", "198.19.0.12:80").0,
        50
    );
}

#[test]
fn syn_flood_without_defenses_stops_at_the_budget() {
    let e = flood_engine(false);
    let established = establish(&e, 50);
    let out = flood(&e, 200_000, &established);
    let drops = e.drop_counts();
    // Nothing but the budget stops the flood: the table fills up and refuses the rest.
    assert_eq!(drops.get(DropReason::DefenseDropPacket), 0);
    assert!(drops.get(DropReason::NoMemory) > 0);
    assert_eq!(out.forwarded + drops.get(DropReason::NoMemory), 200_000);
    assert!(out.max_used <= BUDGET);
    assert_eq!(e.defense_status().entries_dropped, 0);
}

//! A SYN flood from 10 million spoofed sources against a memory budget (issue 3, spec §12):
//! the engine's table must stay within the budget, the established connections must keep
//! being served, and the defenses' counters must say what was dropped.
//!
//! `cargo bench -p lb-benches --bench synflood` (`SYNFLOOD_SYNS` changes the number of SYNs).
//! It runs the flood twice, with the automatic defenses (drop_entry, drop_packet,
//! secure_tcp = 1) and with them off (only the budget stops the flood), at a simulated
//! 100 000 SYNs a second, and prints one table. Memory is read twice: the engine's own
//! budget accounting, and the allocator's live bytes (the global allocator below counts
//! them), peak over the run.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use lb_core::engine::{
    DefenseMode, DropReason, Engine, EngineConfig, PacketMeta, Settings, Side, Verdict,
};
use lb_core::proto::tcp;
use lb_core::{ipvsadm, Ipvs, Time};
use lb_io::alloc::CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

const BUDGET: usize = 256 << 20;
const AMEMTHRESH: usize = 64 << 20;
const ESTABLISHED: u16 = 1000;
const SYNS_PER_SEC: u64 = 100_000;
const VIP: (IpAddr, u16) = (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 80);

fn engine(defenses: bool) -> Engine {
    let mode = if defenses {
        DefenseMode::Auto
    } else {
        DefenseMode::Off
    };
    let settings = Settings {
        memory_budget: BUDGET,
        amemthresh: AMEMTHRESH,
        drop_entry: mode,
        drop_packet: mode,
        secure_tcp: mode,
        ..Settings::default()
    };
    let config = EngineConfig {
        hash_seed: 0x5eed,
        ..EngineConfig::default()
    };
    let e = Engine::new(Ipvs::new(), settings, config);
    for line in [
        "-A -t 198.18.0.1:80 -s wlc",
        "-a -t 198.18.0.1:80 -r 198.19.0.11 -g",
        "-a -t 198.18.0.1:80 -r 198.19.0.12 -g",
        "-a -t 198.18.0.1:80 -r 198.19.0.13 -g",
    ] {
        let args: Vec<&str> = line.split(' ').collect();
        let cmd = ipvsadm::parse(&args).expect("command");
        e.configure(|ipvs| ipvsadm::apply(ipvs, &cmd))
            .expect("applied");
    }
    e
}

/// The `i`-th spoofed source: a bijection of `i` over 10.0.0.0/8 addresses and ports, so
/// 10 million SYNs come from 10 million different (address, port) pairs.
fn spoofed(i: u32) -> (IpAddr, u16) {
    let x = i.wrapping_mul(2_654_435_761);
    (
        IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (x >> 8))),
        1024 + (x & 0xff) as u16,
    )
}

fn legit(p: u16) -> (IpAddr, u16) {
    (IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)), 2000 + p)
}

struct Run {
    defenses: bool,
    syns: u32,
    forwarded: u64,
    drop_packet: u64,
    no_memory: u64,
    entries_dropped: u64,
    peak_engine: usize,
    peak_alloc: usize,
    served: u64,
    asked: u64,
    seconds: f64,
}

fn run(defenses: bool, syns: u32) -> Run {
    let base = ALLOCATOR.live_bytes();
    ALLOCATOR.reset_peak();
    let e = engine(defenses);
    for p in 0..ESTABLISHED {
        let t = Time::ZERO;
        assert!(matches!(
            e.process(&PacketMeta::tcp(legit(p), VIP, tcp::SYN, 60), t),
            Verdict::Forward(_)
        ));
        e.process(&PacketMeta::tcp(legit(p), VIP, tcp::ACK, 52), t);
    }
    let mut r = Run {
        defenses,
        syns,
        forwarded: 0,
        drop_packet: 0,
        no_memory: 0,
        entries_dropped: 0,
        peak_engine: 0,
        peak_alloc: 0,
        served: 0,
        asked: 0,
        seconds: 0.0,
    };
    let start = Instant::now();
    for i in 0..syns {
        let now = Time::from_millis(1000 + u64::from(i) * 1000 / SYNS_PER_SEC);
        let syn = PacketMeta::tcp(spoofed(i), VIP, tcp::SYN, 60).from_side(Side::Client);
        match e.process(&syn, now) {
            Verdict::Forward(_) => r.forwarded += 1,
            Verdict::Drop(DropReason::DefenseDropPacket) => r.drop_packet += 1,
            Verdict::Drop(DropReason::NoMemory) => r.no_memory += 1,
            other => panic!("SYN {i}: {other:?}"),
        }
        if i % 10_000 == 9_999 {
            // Housekeeping ten times a (simulated) second, and the legitimate clients'
            // traffic as often.
            e.housekeeping(now);
            r.peak_engine = r.peak_engine.max(e.memory_used());
            for p in (0..ESTABLISHED).step_by(10) {
                r.asked += 1;
                let ack = PacketMeta::tcp(legit(p), VIP, tcp::ACK, 500);
                if matches!(e.process(&ack, now), Verdict::Forward(_)) {
                    r.served += 1;
                }
            }
        }
    }
    r.seconds = start.elapsed().as_secs_f64();
    r.entries_dropped = e.defense_status().entries_dropped;
    r.peak_alloc = ALLOCATOR.peak_bytes().saturating_sub(base);
    r
}

fn mib(b: usize) -> String {
    format!("{:.1}", b as f64 / (1 << 20) as f64)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: a short run.
    let benching = std::env::args().any(|a| a == "--bench");
    let syns = std::env::var("SYNFLOOD_SYNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching { 10_000_000 } else { 200_000 });
    println!(
        "SYN flood: {syns} SYNs from as many spoofed sources, {} per simulated second; budget {} MiB, amemthresh {} MiB; {ESTABLISHED} established clients\n",
        SYNS_PER_SEC,
        mib(BUDGET),
        mib(AMEMTHRESH)
    );
    println!("| defenses | forwarded | dropped by drop_packet | refused by the budget | entries dropped by drop_entry | peak table (engine) MiB | peak allocator MiB | established served | SYNs/s (wall) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for defenses in [true, false] {
        let r = run(defenses, syns);
        assert!(r.peak_engine <= BUDGET, "engine over budget");
        assert_eq!(r.forwarded + r.drop_packet + r.no_memory, u64::from(r.syns));
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {}/{} | {:.0} |",
            if r.defenses { "auto" } else { "off" },
            r.forwarded,
            r.drop_packet,
            r.no_memory,
            r.entries_dropped,
            mib(r.peak_engine),
            mib(r.peak_alloc),
            r.served,
            r.asked,
            f64::from(r.syns) / r.seconds
        );
    }
}

//! The per-packet path (parse → engine → rewrite), without sockets: nanoseconds per frame.
//!
//! - `established/nat`, `established/dr`, `established/tun`: an ACK of an established TCP
//!   connection to a NAT, direct-routing or IPIP service (no state change), rewritten in
//!   place or encapsulated into the output buffer;
//! - `established/nat_reply`: the real server's ACK back through NAT;
//! - `new_connection/nat_syn`: a SYN of a new connection (lookup miss, rr over 4 servers,
//!   connection insert, NAT rewrite), each from another client address and port.
//!
//! Every iteration first copies the 66-byte frame into the receive buffer (the rewrite
//! changes it), as a receive ring would hand a fresh frame; the SYN benchmark also writes
//! its new source address and port (with their checksum updates) into the copy. Each
//! sample of the SYN benchmark starts from an empty connection table.
//!
//! `cargo bench -p lb-benches --bench packet_path`

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::PacketBuilder;
use lb_core::engine::{Engine, EngineConfig, Settings};
use lb_core::{ipvsadm, FwdMethod, Ipvs, Time};
use lb_io::neigh::NeighParams;
use lb_io::path::{Action, Director, Gateways, InterfaceConfig, LinkId};
use lb_io::wire::{checksum, EthernetAddress};

const DIRECTOR_MAC: [u8; 6] = [0x02, 0xd1, 0, 0, 0, 0x01];
const PEER_MAC: [u8; 6] = [0x02, 0x6a, 0, 0, 0, 0x01];
const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);

const RULES: &[&str] = &[
    "-A -t 198.18.1.1:80 -s rr",
    "-a -t 198.18.1.1:80 -r 198.19.0.21:8080 -m",
    "-a -t 198.18.1.1:80 -r 198.19.0.22:8080 -m",
    "-a -t 198.18.1.1:80 -r 198.19.0.23:8080 -m",
    "-a -t 198.18.1.1:80 -r 198.19.0.24:8080 -m",
    "-A -t 198.18.1.1:81 -s rr",
    "-a -t 198.18.1.1:81 -r 198.19.0.21:81 -g",
    "-A -t 198.18.1.1:82 -s rr",
    "-a -t 198.18.1.1:82 -r 198.19.0.21:82 -i",
];

/// The time of every packet: connections never expire during a run.
const NOW: Time = Time::from_secs(1_000);

fn engine() -> Engine {
    let e = Engine::new(Ipvs::new(), Settings::default(), EngineConfig::default());
    for line in RULES {
        let args: Vec<&str> = line.split(' ').collect();
        let cmd = ipvsadm::parse(&args).expect("rule parses");
        e.configure(|ipvs| ipvsadm::apply(ipvs, &cmd))
            .expect("rule applies");
    }
    e
}

/// One link on the servers' subnet, every neighbour known, the VIP owned.
fn director() -> Director {
    let mut link = InterfaceConfig::new(EthernetAddress(DIRECTOR_MAC));
    link.addrs = vec!["198.19.0.1/24".parse().expect("prefix")];
    let mut d = Director::new(vec![link], NeighParams::default());
    d.set_gateways(Gateways {
        v4: Some(Ipv4Addr::new(198, 19, 0, 254)),
        v6: None,
    });
    let cache = &mut d.interfaces_mut()[0].neighbours.cache;
    for last in [21, 22, 23, 24, 254] {
        cache.insert_permanent(
            IpAddr::V4(Ipv4Addr::new(198, 19, 0, last)),
            EthernetAddress(PEER_MAC),
        );
    }
    d.own(LinkId(0), IpAddr::V4(VIP));
    d
}

/// A TCP segment with flags SYN or ACK, no payload (66 bytes with the Ethernet header).
fn segment(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), syn: bool) -> Vec<u8> {
    let step = PacketBuilder::ethernet2(PEER_MAC, DIRECTOR_MAC)
        .ipv4(src.0.octets(), dst.0.octets(), 64)
        .tcp(src.1, dst.1, 1000, 64240)
        .options_raw(&[1; 12])
        .expect("options");
    let step = if syn { step.syn() } else { step.ack(1) };
    let mut out = Vec::new();
    step.write(&mut out, &[]).expect("frame");
    out
}

/// Runs `frame` through the path once, as a receive ring would hand it.
fn once(d: &mut Director, e: &Engine, rx: &mut [u8], template: &[u8], out: &mut [u8]) -> Action {
    rx.copy_from_slice(template);
    d.process(e, LinkId(0), rx, NOW, out).action
}

fn established(c: &mut Criterion) {
    let mut group = c.benchmark_group("established");
    group.throughput(Throughput::Elements(1));
    let cases = [
        ("nat", 80, Action::Forwarded(FwdMethod::Masq)),
        ("dr", 81, Action::Forwarded(FwdMethod::Route)),
        ("tun", 82, Action::Forwarded(FwdMethod::Tunnel)),
    ];
    let mut out = vec![0u8; 65536 + 128];
    for (name, port, want) in cases {
        let (mut d, e) = (director(), engine());
        let syn = segment((CLIENT, 40000), (VIP, port), true);
        let mut rx = syn.clone();
        assert_eq!(once(&mut d, &e, &mut rx, &syn, &mut out), want);
        let ack = segment((CLIENT, 40000), (VIP, port), false);
        rx = ack.clone();
        assert_eq!(once(&mut d, &e, &mut rx, &ack, &mut out), want);
        group.bench_function(name, |b| {
            b.iter(|| black_box(once(&mut d, &e, &mut rx, &ack, &mut out)))
        });
    }
    let (mut d, e) = (director(), engine());
    let syn = segment((CLIENT, 40000), (VIP, 80), true);
    let mut rx = syn.clone();
    once(&mut d, &e, &mut rx, &syn, &mut out);
    // The real server the scheduler chose, from the rewritten SYN.
    let server = Ipv4Addr::new(rx[30], rx[31], rx[32], rx[33]);
    let reply = segment((server, 8080), (CLIENT, 40000), false);
    rx = reply.clone();
    assert_eq!(once(&mut d, &e, &mut rx, &reply, &mut out), Action::Replied);
    group.bench_function("nat_reply", |b| {
        b.iter(|| black_box(once(&mut d, &e, &mut rx, &reply, &mut out)))
    });
    group.finish();
}

/// The SYN template with source (`CLIENT` + `n / 50000`, port `10000 + n % 50000`), its
/// checksums updated incrementally.
fn set_source(rx: &mut [u8], template: &[u8], n: u64) {
    rx.copy_from_slice(template);
    let base = CLIENT.to_bits();
    let addr = base.wrapping_add((n / 50_000) as u32);
    let port = 10_000 + (n % 50_000) as u16;
    rx[26..30].copy_from_slice(&addr.to_be_bytes());
    rx[34..36].copy_from_slice(&port.to_be_bytes());
    let ip_sum = u16::from_be_bytes([rx[24], rx[25]]);
    let ip_sum = checksum::update_u32(ip_sum, base, addr);
    rx[24..26].copy_from_slice(&ip_sum.to_be_bytes());
    let tcp_sum = u16::from_be_bytes([rx[50], rx[51]]);
    let tcp_sum = checksum::update_u32(tcp_sum, base, addr);
    let tcp_sum = checksum::update_word(tcp_sum, 40000, port);
    rx[50..52].copy_from_slice(&tcp_sum.to_be_bytes());
}

fn new_connection(c: &mut Criterion) {
    let mut group = c.benchmark_group("new_connection");
    group.throughput(Throughput::Elements(1));
    let syn = segment((CLIENT, 40000), (VIP, 80), true);
    let mut out = vec![0u8; 65536 + 128];
    let mut rx = syn.clone();
    group.bench_function("nat_syn", |b| {
        b.iter_custom(|iters| {
            let (mut d, e) = (director(), engine());
            let start = Instant::now();
            for n in 0..iters {
                set_source(&mut rx, &syn, n);
                black_box(d.process(&e, LinkId(0), &mut rx, NOW, &mut out).action);
            }
            let elapsed = start.elapsed();
            assert_eq!(d.counters.forwarded, iters, "every SYN opened a connection");
            elapsed
        })
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = established, new_connection
}
criterion_main!(benches);

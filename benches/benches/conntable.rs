//! Connection table benchmarks: what a packet costs the engine.
//!
//! - `lookup/*`: a packet of an established connection (ACK, no state change) in a table of
//!   1 million NAT connections, 1 and 2 threads;
//! - `new/*`: a SYN of a new connection (miss, schedule with wlc, insert), 1 and 2 threads;
//! - `expiry/*`: reaping expired connections, per connection;
//! - `expiry_tick/*`: one 100 ms housekeeping pass over 1 million connections none of which
//!   is due (the timer wheel against a scan);
//!
//! each against a `HashMap` behind a `Mutex` doing the same bookkeeping in the same run.
//! Before them, `cargo bench` (not `cargo test`) builds a table of 10 million connections
//! (`CONNTABLE_MEM_CONNS` changes the number, 0 skips it) and reports the bytes per
//! connection the allocator handed out, counted by the global allocator below.
//!
//! `cargo bench -p lb-benches --bench conntable`

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkId, Criterion, SamplingMode, Throughput};
use lb_core::engine::{Engine, EngineConfig, PacketMeta, Settings, Side, Verdict};
use lb_core::proto::tcp;
use lb_core::{ipvsadm, Ipvs, Time};

/// The system allocator, counting the bytes it has handed out and not yet taken back.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// caller's obligations are exactly `System`'s; the counter is only arithmetic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see the impl).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is (see the impl).
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is (see the impl).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const VIP: (IpAddr, u16) = (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 80);
const TABLE: u32 = 1_000_000;

/// The `i`-th client (distinct for every `i` below 2^28).
fn client(i: u32) -> (IpAddr, u16) {
    (
        IpAddr::V4(Ipv4Addr::from(0x1000_0000 | (i >> 4))),
        1024 + (i & 15) as u16,
    )
}

fn engine() -> Engine {
    let e = Engine::new(Ipvs::new(), Settings::default(), EngineConfig::default());
    for line in [
        "-A -t 198.18.0.1:80 -s wlc",
        "-a -t 198.18.0.1:80 -r 198.19.0.11:8080 -m",
        "-a -t 198.18.0.1:80 -r 198.19.0.12:8080 -m",
        "-a -t 198.18.0.1:80 -r 198.19.0.13:8080 -m",
        "-a -t 198.18.0.1:80 -r 198.19.0.14:8080 -m",
    ] {
        let args: Vec<&str> = line.split(' ').collect();
        let cmd = ipvsadm::parse(&args).expect("command");
        e.configure(|ipvs| ipvsadm::apply(ipvs, &cmd))
            .expect("applied");
    }
    e
}

fn syn(i: u32) -> PacketMeta {
    PacketMeta::tcp(client(i), VIP, tcp::SYN, 60).from_side(Side::Client)
}

fn ack(i: u32) -> PacketMeta {
    PacketMeta::tcp(client(i), VIP, tcp::ACK, 1500).from_side(Side::Client)
}

/// Opens connections `from..to` (SYN) and establishes them (ACK) at time 0.
fn fill(e: &Engine, from: u32, to: u32, establish: bool) {
    for i in from..to {
        let v = e.process(&syn(i), Time::ZERO);
        assert!(matches!(v, Verdict::Forward(_)), "{v:?}");
        if establish {
            e.process(&ack(i), Time::ZERO);
        }
    }
}

/// A fixed pseudo-random visiting order of `n` flows.
fn order(n: u32, len: usize) -> Vec<u32> {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % u64::from(n)) as u32
        })
        .collect()
}

/// The same bookkeeping in a plain map: key, destination, state, expiry.
type Key = (u8, u32, u16, u32, u16);
#[derive(Clone, Copy)]
struct Val {
    dest: u32,
    state: u8,
    expires: u64,
}

fn key(i: u32) -> Key {
    let (a, p) = client(i);
    let IpAddr::V4(a) = a else {
        unreachable!("IPv4 clients")
    };
    (6, u32::from(a), p, 0xc612_0001, 80)
}

fn map_fill(m: &Mutex<HashMap<Key, Val>>, from: u32, to: u32) {
    let mut g = m.lock().expect("lock");
    for i in from..to {
        g.insert(
            key(i),
            Val {
                dest: i % 4,
                state: 1,
                expires: 900_000,
            },
        );
    }
}

fn shared_engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let e = engine();
        fill(&e, 0, TABLE, true);
        e
    })
}

fn shared_map() -> &'static Mutex<HashMap<Key, Val>> {
    static M: OnceLock<Mutex<HashMap<Key, Val>>> = OnceLock::new();
    M.get_or_init(|| {
        let m = Mutex::new(HashMap::new());
        map_fill(&m, 0, TABLE);
        m
    })
}

fn in_threads(threads: u64, iters: u64, work: impl Fn(u64, u64) + Sync) -> Duration {
    let per = iters / threads;
    let start = Instant::now();
    thread::scope(|s| {
        for t in 0..threads {
            let work = &work;
            s.spawn(move || work(t, per));
        }
    });
    start.elapsed()
}

fn lookups(c: &mut Criterion) {
    // The tables are built on first use, so that a filter that skips these benchmarks
    // does not pay for them.
    let visit = order(TABLE, 1 << 20);
    let mask = visit.len() - 1;
    let now = Time::from_secs(1);
    let mut g = c.benchmark_group("lookup");
    g.throughput(Throughput::Elements(1));
    for threads in [1u64, 2] {
        g.bench_function(BenchmarkId::new("engine", threads), |b| {
            let e = shared_engine();
            b.iter_custom(|iters| {
                in_threads(threads, iters, |t, n| {
                    for k in 0..n {
                        let i = visit[(k as usize + t as usize * 7919) & mask];
                        black_box(e.process(&ack(i), now));
                    }
                })
            })
        });
        g.bench_function(BenchmarkId::new("hashmap_mutex", threads), |b| {
            let m = shared_map();
            b.iter_custom(|iters| {
                in_threads(threads, iters, |t, n| {
                    for k in 0..n {
                        let i = visit[(k as usize + t as usize * 7919) & mask];
                        let mut g = m.lock().expect("lock");
                        if let Some(v) = g.get_mut(&key(i)) {
                            v.expires = 1000 + 900_000;
                            black_box(v.dest);
                        }
                    }
                })
            })
        });
    }
    // A director that cannot tell which side a packet came from tries the reply index first.
    g.bench_function("engine_unknown_side/1", |b| {
        let e = shared_engine();
        b.iter_custom(|iters| {
            in_threads(1, iters, |_, n| {
                for k in 0..n {
                    let i = visit[k as usize & mask];
                    black_box(e.process(&ack(i).from_side(Side::Unknown), now));
                }
            })
        })
    });
    g.finish();
}

fn new_conns(c: &mut Criterion) {
    let mut g = c.benchmark_group("new");
    g.throughput(Throughput::Elements(1));
    g.sampling_mode(SamplingMode::Flat);
    for threads in [1u64, 2] {
        g.bench_function(BenchmarkId::new("engine", threads), |b| {
            b.iter_custom(|iters| {
                let e = engine();
                let d = in_threads(threads, iters, |t, n| {
                    let base = (t * n) as u32;
                    for k in 0..n as u32 {
                        black_box(e.process(&syn(base + k), Time::ZERO));
                    }
                });
                drop(e);
                d
            })
        });
        g.bench_function(BenchmarkId::new("hashmap_mutex", threads), |b| {
            b.iter_custom(|iters| {
                let m = Mutex::new(HashMap::new());
                let rr = AtomicUsize::new(0);
                in_threads(threads, iters, |t, n| {
                    let base = (t * n) as u32;
                    for k in 0..n as u32 {
                        let mut g = m.lock().expect("lock");
                        let dest = rr.fetch_add(1, Ordering::Relaxed) as u32 % 4;
                        g.insert(
                            key(base + k),
                            Val {
                                dest,
                                state: 3,
                                expires: 60_000,
                            },
                        );
                    }
                })
            })
        });
    }
    g.finish();
}

fn expiry(c: &mut Criterion) {
    let mut g = c.benchmark_group("expiry");
    g.throughput(Throughput::Elements(1));
    g.sampling_mode(SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(1));
    g.bench_function("engine_wheel", |b| {
        b.iter_custom(|iters| {
            let e = engine();
            fill(&e, 0, iters as u32, false);
            // SYN_RECV: 60 s.
            let start = Instant::now();
            e.expire(Time::from_secs(61));
            let d = start.elapsed();
            assert_eq!(e.entry_counts(), (0, 0));
            d
        })
    });
    g.bench_function("hashmap_mutex_scan", |b| {
        b.iter_custom(|iters| {
            let m = Mutex::new(HashMap::new());
            map_fill(&m, 0, iters as u32);
            let start = Instant::now();
            m.lock()
                .expect("lock")
                .retain(|_, v: &mut Val| v.expires > 1_000_000 + u64::from(v.state));
            start.elapsed()
        })
    });
    g.finish();

    // Housekeeping every 100 ms over a table of 1 million connections of which none is
    // due: the wheel visits what is filed under 10 ticks, a scan visits everything.
    let mut g = c.benchmark_group("expiry_tick");
    g.sampling_mode(SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(1));
    let tick = std::sync::atomic::AtomicU64::new(0);
    g.bench_function("engine_wheel_1m", |b| {
        let e = engine();
        e.set_timeouts(lb_core::proto::UserTimeouts {
            tcp: 2_678_400,
            tcp_fin: 0,
            udp: 0,
        })
        .expect("timeouts");
        fill(&e, 0, TABLE, true);
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                let t = tick.fetch_add(100, Ordering::Relaxed) + 100;
                e.expire(Time::from_millis(t));
            }
            start.elapsed()
        });
        assert_eq!(e.entry_counts(), (TABLE as usize, 0));
    });
    g.bench_function("hashmap_mutex_scan_1m", |b| {
        let m = shared_map();
        b.iter_custom(|iters| {
            let start = Instant::now();
            for k in 0..iters {
                m.lock()
                    .expect("lock")
                    .retain(|_, v: &mut Val| v.expires > k);
            }
            start.elapsed()
        })
    });
    g.finish();
}

/// Builds a table of `n` established NAT connections and reports what it costs.
fn memory_report(n: u32) {
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let start = Instant::now();
    let e = engine();
    fill(&e, 0, n, true);
    let built = start.elapsed();
    let after = LIVE_BYTES.load(Ordering::Relaxed);
    let (conns, templates) = e.entry_counts();
    assert_eq!((conns, templates), (n as usize, 0));
    let per_conn = (after - before) as f64 / f64::from(n);
    let table = e.memory_used() as f64 / f64::from(n);
    println!(
        "memory: {n} established IPv4 NAT connections in {:.1} s ({:.0} ns each, SYN + ACK): \
         {} bytes allocated = {per_conn:.1} bytes/connection (the table's own account: {table:.1})",
        built.as_secs_f64(),
        built.as_nanos() as f64 / f64::from(n),
        after - before,
    );
    let start = Instant::now();
    e.expire(Time::from_secs(3600));
    println!(
        "memory: expiring all of them took {:.2} s ({:.0} ns each); {} bytes left allocated",
        start.elapsed().as_secs_f64(),
        start.elapsed().as_nanos() as f64 / f64::from(n),
        e.memory_used()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = lookups, new_conns, expiry
}

fn main() {
    if std::env::args().any(|a| a == "--bench") {
        let n = std::env::var("CONNTABLE_MEM_CONNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10_000_000u32);
        if n > 0 {
            memory_report(n);
        }
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

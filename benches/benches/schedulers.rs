//! Scheduler benchmarks: the cost of one new connection (schedule, bind, and the unbind of an
//! older connection so the load stays steady) for every scheduler at 8, 64, 1024 and 16384
//! real servers; lc/wlc/sed/nq/fo/ovf against the kernel's linear scan in the same run; and
//! the Maglev table build.
//!
//! `cargo bench -p lb-benches --bench schedulers`; `benches/report.py` turns the results into
//! the table of `docs/schedulers.md`.

use std::collections::VecDeque;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use lb_core::sched::mh::MhTable;
use lb_core::sched::{self, Fo, Lc, Nq, Ovf, Sed, Wlc};
use lb_core::{
    ConnKind, DestConf, DestList, Destination, Family, FwdMethod, Ipvs, Protocol, SchedInput,
    SchedParams, Scheduler, ServiceConf, ServiceKey, Time,
};

const SIZES: [usize; 4] = [8, 64, 1024, 16384];

fn vip() -> ServiceKey {
    ServiceKey::Addr {
        proto: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
        port: 80,
    }
}

fn server(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(
        u32::from(Ipv4Addr::new(198, 19, 0, 0)) + 1 + i as u32,
    ))
}

/// A service with `n` real servers of weights 1..=4, switched to `scheduler` once they are
/// all there (so table-building schedulers build once).
fn build(scheduler: &str, n: usize) -> Ipvs {
    let mut ipvs = Ipvs::with_params(SchedParams {
        mh_table_index: 16,
        ..SchedParams::default()
    });
    let key = vip();
    ipvs.add_service(key, ServiceConf::with_scheduler(Family::V4, "rr"))
        .unwrap();
    for i in 0..n {
        let conf = DestConf {
            method: FwdMethod::Masq,
            weight: 1 + (i % 4) as u32,
            ..DestConf::default()
        };
        ipvs.add_dest(&key, server(i), 80, conf).unwrap();
    }
    ipvs.edit_service(&key, ServiceConf::with_scheduler(Family::V4, scheduler))
        .unwrap();
    ipvs
}

/// One new connection: schedule, bind, and close the oldest open one once `open` are open.
struct Cycle {
    ipvs: Ipvs,
    ring: VecDeque<u64>,
    open: usize,
    i: u32,
}

impl Cycle {
    fn new(ipvs: Ipvs, n: usize) -> Self {
        Cycle {
            ipvs,
            ring: VecDeque::with_capacity(4 * n + 1),
            open: 4 * n,
            i: 0,
        }
    }

    fn step(&mut self) -> Option<usize> {
        self.i = self.i.wrapping_add(1);
        let client = Ipv4Addr::from(0xc612_0000 ^ self.i.wrapping_mul(2_654_435_761) >> 8);
        let input = SchedInput {
            now: Time::from_millis(self.i as u64),
            vaddr: IpAddr::V4(Ipv4Addr::from(0xc613_0000 | (self.i & 0xff))),
            ..SchedInput::tcp(
                (IpAddr::V4(client), self.i as u16),
                (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 80),
            )
        };
        let svc = self.ipvs.service_mut(&vip()).unwrap();
        let pos = svc.schedule(&input);
        if let Some(p) = pos {
            svc.bind(p, ConnKind::Active);
            self.ring.push_back(svc.dests().get(p).unwrap().link_seq());
        }
        if self.ring.len() > self.open {
            let seq = self.ring.pop_front().unwrap();
            if let Some(p) = svc.dests().position_of_seq(seq) {
                svc.unbind(p, ConnKind::Active);
            }
        }
        pos
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1200))
}

fn per_pick(c: &mut Criterion) {
    let mut g = c.benchmark_group("pick");
    for name in sched::NAMES {
        for n in SIZES {
            let mut cycle = Cycle::new(build(name, n), n);
            for _ in 0..(4 * n) {
                cycle.step();
            }
            g.bench_with_input(BenchmarkId::new(*name, n), &n, |b, _| {
                b.iter(|| black_box(cycle.step()))
            });
        }
    }
    g.finish();
}

type Linear = fn(&DestList) -> Box<dyn Scheduler>;

fn fast_vs_linear(c: &mut Criterion) {
    let oracles: [(&str, Linear); 6] = [
        ("lc", |d| Box::new(Lc::new_linear(d))),
        ("wlc", |d| Box::new(Wlc::new_linear(d))),
        ("sed", |d| Box::new(Sed::new_linear(d))),
        ("nq", |d| Box::new(Nq::new_linear(d))),
        ("fo", |d| Box::new(Fo::new_linear(d))),
        ("ovf", |d| Box::new(Ovf::new_linear(d))),
    ];
    let mut g = c.benchmark_group("linear");
    for (name, linear) in oracles {
        for n in SIZES {
            let mut ipvs = build(name, n);
            let svc = ipvs.service_mut(&vip()).unwrap();
            let s = linear(svc.dests());
            svc.set_scheduler(s);
            let mut cycle = Cycle::new(ipvs, n);
            for _ in 0..(4 * n) {
                cycle.step();
            }
            g.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
                b.iter(|| black_box(cycle.step()))
            });
        }
    }
    g.finish();
}

fn mh_build(c: &mut Criterion) {
    let mut g = c.benchmark_group("mh_build");
    for (index, servers) in [(12u8, 100usize), (16, 1000)] {
        let dests: Vec<Destination> = (0..servers)
            .map(|i| {
                Destination::detached(server(i), 80, DestConf::default(), (servers - i) as u64)
            })
            .collect();
        let list = DestList::from_list_order(dests);
        let size = MhTable::build(&list, index).unwrap().size();
        let label = format!("M{size}_N{servers}");
        g.bench_function(label, |b| {
            b.iter(|| black_box(MhTable::build(&list, index).unwrap()))
        });
    }
    g.finish();
}

criterion_group! { name = benches; config = config(); targets = per_pick, fast_vs_linear, mh_build }
criterion_main!(benches);

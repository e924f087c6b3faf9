//! Generated workloads run through several schedulers at once (`lb sim --workload`).
//!
//! One seeded list of connection arrivals (client, port, arrival time, lifetime) is replayed
//! through one independent [`Ipvs`] per scheduler, each with the same real servers, so the
//! schedulers are compared on exactly the same traffic.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr};

use lb_core::{
    ConnKind, DestConf, DestId, Family, FwdMethod, Ipvs, Protocol, SchedInput, ServiceConf,
    ServiceKey, Time,
};

use super::rng::SplitMix64;

/// What to generate and which schedulers to compare.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    /// Scheduler names, compared side by side.
    pub schedulers: Vec<String>,
    /// One weight per real server, in the order they are added (`-a`).
    pub weights: Vec<u32>,
    /// Number of distinct client addresses.
    pub clients: u32,
    /// Number of connections to generate.
    pub conns: u64,
    /// Mean arrival rate, connections per second (Poisson arrivals).
    pub rate: f64,
    /// Mean connection lifetime in seconds (exponential).
    pub mean_lifetime: f64,
    /// Seed of the generator.
    pub seed: u64,
    /// Points of the time series.
    pub samples: usize,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            schedulers: ["rr", "wrr", "lc", "wlc", "sed", "nq", "sh", "mh", "twos"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            weights: vec![3, 2, 1, 1],
            clients: 500,
            conns: 20_000,
            rate: 200.0,
            mean_lifetime: 5.0,
            seed: 1,
            samples: 100,
        }
    }
}

/// One generated connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    /// Arrival time, seconds.
    pub at: f64,
    /// Client address.
    pub client: Ipv4Addr,
    /// Client port.
    pub port: u16,
    /// How long it stays open, seconds.
    pub lifetime: f64,
}

/// Per-server outcome for one scheduler.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSummary {
    /// Real server address.
    pub addr: IpAddr,
    /// Its weight.
    pub weight: u32,
    /// Connections it was given.
    pub conns: u64,
    /// Largest number of simultaneously open connections.
    pub peak_active: u32,
    /// Mean number of open connections over the samples.
    pub mean_active: f64,
}

/// The outcome of one scheduler.
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerRun {
    /// Scheduler name.
    pub scheduler: String,
    /// One entry per server, in the order they were added.
    pub servers: Vec<ServerSummary>,
    /// Connections no server was found for.
    pub unscheduled: u64,
    /// Sample times, seconds.
    pub times: Vec<f64>,
    /// `series[s][i]`: open connections of server `i` at sample `s`.
    pub series: Vec<Vec<u32>>,
}

/// The virtual service every run uses.
pub fn vip() -> ServiceKey {
    ServiceKey::Addr {
        proto: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
        port: 80,
    }
}

/// Address of the `i`-th real server (0-based).
pub fn server_addr(i: usize) -> IpAddr {
    let n = 11 + i as u32;
    IpAddr::V4(Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 19, 0, 0)) + n))
}

/// Generates the arrivals of a spec (the same for every scheduler).
pub fn generate(spec: &WorkloadSpec) -> Vec<Arrival> {
    let mut rng = SplitMix64::new(spec.seed);
    let base = u32::from(Ipv4Addr::new(198, 18, 128, 0));
    let mut t = 0.0;
    (0..spec.conns)
        .map(|_| {
            t += rng.exp(1.0 / spec.rate);
            let client = Ipv4Addr::from(base + rng.below(spec.clients.max(1) as u64) as u32);
            let port = 1024 + rng.below(64512) as u16;
            let lifetime = rng.exp(spec.mean_lifetime);
            Arrival {
                at: t,
                client,
                port,
                lifetime,
            }
        })
        .collect()
}

/// Runs the arrivals through one scheduler.
pub fn run_one(
    spec: &WorkloadSpec,
    scheduler: &str,
    arrivals: &[Arrival],
) -> Result<SchedulerRun, lb_core::Error> {
    let key = vip();
    let mut ipvs = Ipvs::new();
    ipvs.add_service(key, ServiceConf::with_scheduler(Family::V4, scheduler))?;
    let mut ids: Vec<DestId> = Vec::new();
    for (i, &w) in spec.weights.iter().enumerate() {
        let conf = DestConf {
            method: FwdMethod::Masq,
            weight: w,
            ..DestConf::default()
        };
        ids.push(ipvs.add_dest(&key, server_addr(i), 80, conf)?);
    }
    let n = ids.len();
    let end = arrivals.last().map_or(0.0, |a| a.at);
    let samples = spec.samples.max(2);
    let step = end / (samples - 1) as f64;
    let mut times = Vec::with_capacity(samples);
    let mut series = Vec::with_capacity(samples);
    let mut conns = vec![0u64; n];
    let mut peak = vec![0u32; n];
    let mut unscheduled = 0;
    // Departures: (time in µs, server index).
    let mut departures: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
    let micros = |s: f64| (s * 1e6) as u64;
    let mut next_sample = 0usize;

    let active = |ipvs: &Ipvs| -> Vec<u32> {
        let svc = ipvs.service(&key).expect("service exists");
        ids.iter()
            .map(|id| {
                svc.dests()
                    .position_of_id(*id)
                    .and_then(|p| svc.dests().get(p))
                    .map_or(0, |d| d.active_conns())
            })
            .collect()
    };

    for a in arrivals {
        // Close every connection that ended before this arrival, and take the samples due.
        loop {
            let sample_at = next_sample as f64 * step;
            let dep = departures.peek().map(|Reverse((t, _))| *t);
            let sample_due = next_sample < samples && sample_at <= a.at;
            match dep {
                Some(t) if t <= micros(a.at) && (!sample_due || t <= micros(sample_at)) => {
                    let Reverse((_, i)) = departures.pop().expect("peeked");
                    ipvs.unbind(&key, ids[i], ConnKind::Active);
                }
                _ if sample_due => {
                    times.push(sample_at);
                    series.push(active(&ipvs));
                    next_sample += 1;
                }
                _ => break,
            }
        }
        let svc = ipvs.service_mut(&key).expect("service exists");
        let input = SchedInput {
            now: Time::from_millis((a.at * 1000.0) as u64),
            ..SchedInput::tcp((IpAddr::V4(a.client), a.port), (key_addr(&key), 80))
        };
        match svc.schedule(&input) {
            Some(pos) => {
                svc.bind(pos, ConnKind::Active);
                let id = svc.dests().get(pos).expect("scheduled position").id();
                let i = ids.iter().position(|x| *x == id).expect("known server");
                conns[i] += 1;
                departures.push(Reverse((micros(a.at + a.lifetime), i)));
                let d = svc.dests().get(pos).expect("scheduled position");
                peak[i] = peak[i].max(d.active_conns());
            }
            None => unscheduled += 1,
        }
    }
    while next_sample < samples {
        times.push(next_sample as f64 * step);
        series.push(active(&ipvs));
        next_sample += 1;
    }
    let servers = (0..n)
        .map(|i| ServerSummary {
            addr: server_addr(i),
            weight: spec.weights[i],
            conns: conns[i],
            peak_active: peak[i],
            mean_active: series.iter().map(|s| s[i] as f64).sum::<f64>() / series.len() as f64,
        })
        .collect();
    Ok(SchedulerRun {
        scheduler: scheduler.to_string(),
        servers,
        unscheduled,
        times,
        series,
    })
}

fn key_addr(k: &ServiceKey) -> IpAddr {
    match k {
        ServiceKey::Addr { addr, .. } => *addr,
        ServiceKey::Fwmark { .. } => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

/// Runs every scheduler of the spec on the same arrivals.
pub fn run(spec: &WorkloadSpec) -> Result<Vec<SchedulerRun>, lb_core::Error> {
    let arrivals = generate(spec);
    spec.schedulers
        .iter()
        .map(|s| run_one(spec, s, &arrivals))
        .collect()
}

/// The per-server summary table, one block per scheduler.
pub fn summary_table(spec: &WorkloadSpec, runs: &[SchedulerRun]) -> String {
    let mut out = String::new();
    let weights: Vec<String> = spec.weights.iter().map(|w| w.to_string()).collect();
    out.push_str(&format!(
        "workload: {} connections from {} clients, {} conn/s, mean lifetime {} s, seed {}; weights {}\n",
        spec.conns,
        spec.clients,
        spec.rate,
        spec.mean_lifetime,
        spec.seed,
        weights.join(":")
    ));
    out.push_str(&format!(
        "{:<6} {:<16} {:>6} {:>8} {:>7} {:>7} {:>10} {:>10}\n",
        "sched", "server", "weight", "conns", "share", "ideal", "peak-open", "mean-open"
    ));
    let wsum: u64 = spec.weights.iter().map(|&w| w as u64).sum();
    for r in runs {
        let total: u64 = r.servers.iter().map(|s| s.conns).sum();
        for s in &r.servers {
            let share = if total > 0 {
                100.0 * s.conns as f64 / total as f64
            } else {
                0.0
            };
            let ideal = if wsum > 0 {
                100.0 * s.weight as f64 / wsum as f64
            } else {
                0.0
            };
            out.push_str(&format!(
                "{:<6} {:<16} {:>6} {:>8} {:>6.1}% {:>6.1}% {:>10} {:>10.1}\n",
                r.scheduler,
                format!("{}:80", s.addr),
                s.weight,
                s.conns,
                share,
                ideal,
                s.peak_active,
                s.mean_active
            ));
        }
        if r.unscheduled > 0 {
            out.push_str(&format!(
                "{:<6} {:<16} {:>6} {:>8}\n",
                r.scheduler, "(none)", "-", r.unscheduled
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> WorkloadSpec {
        WorkloadSpec {
            schedulers: vec!["rr".into(), "wrr".into(), "wlc".into()],
            weights: vec![2, 1],
            clients: 10,
            conns: 300,
            rate: 100.0,
            mean_lifetime: 0.5,
            seed: 42,
            samples: 10,
        }
    }

    #[test]
    fn same_seed_same_arrivals() {
        assert_eq!(generate(&small()), generate(&small()));
        let mut other = small();
        other.seed = 43;
        assert_ne!(generate(&small()), generate(&other));
    }

    #[test]
    fn rr_splits_evenly_and_wrr_by_weight() {
        let runs = run(&small()).unwrap();
        let rr: Vec<u64> = runs[0].servers.iter().map(|s| s.conns).collect();
        assert_eq!(rr, vec![150, 150]);
        let wrr: Vec<u64> = runs[1].servers.iter().map(|s| s.conns).collect();
        assert_eq!(wrr, vec![200, 100]);
        for r in &runs {
            assert_eq!(r.times.len(), 10);
            assert_eq!(r.series.len(), 10);
            assert_eq!(r.unscheduled, 0);
            let total: u64 = r.servers.iter().map(|s| s.conns).sum();
            assert_eq!(total, 300);
        }
    }

    #[test]
    fn every_connection_closes_by_the_end_of_the_series() {
        let spec = small();
        let runs = run(&spec).unwrap();
        for r in runs {
            for s in &r.servers {
                assert!(s.peak_active as u64 <= s.conns);
            }
        }
    }

    #[test]
    fn unknown_scheduler_is_an_error() {
        let mut spec = small();
        spec.schedulers = vec!["nope".into()];
        assert!(run(&spec).is_err());
    }
}

//! The indexed schedulers choose exactly what the kernel's linear scans choose.
//!
//! Random sequences of `ipvsadm`-like operations (add, edit and delete real servers with random
//! weights and thresholds; bind, unbind and re-activate connections; switch schedulers and
//! back) run through `Ipvs`, one service per scheduler; beside each service runs the same
//! scheduler built with `new_linear` (the kernel's walk, line for line), fed the same hooks.
//! After every step both must choose the same destination. A second property builds detached
//! lists with extreme counters (the kernel's `int` overhead wrapping) and weights.
//!
//! The indexed schedulers rebuild their index if they ever find it out of step with the list
//! and count it (`resyncs` in their `Debug` output). That safeguard would hide a wrong index
//! behind a right answer, so both properties also require that it never fired.

use std::net::{IpAddr, Ipv4Addr};

use lb_core::sched::{self, Fo, Lc, Nq, Ovf, Rr, Sed, Twos, Wlc, Wrr};
use lb_core::{
    ConnKind, DestConf, DestList, Destination, Family, Ipvs, Protocol, SchedInput, SchedParams,
    Scheduler, ServiceConf, ServiceKey,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const ALL: [&str; 9] = ["rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf", "twos"];
const SEED: u64 = 0x5eed;

/// The kernel-walk version of scheduler `name`.
fn linear(name: &str, dests: &DestList) -> Box<dyn Scheduler> {
    match name {
        "rr" => Box::new(Rr::new_linear(dests)),
        "wrr" => Box::new(Wrr::new_linear(dests)),
        "lc" => Box::new(Lc::new_linear(dests)),
        "wlc" => Box::new(Wlc::new_linear(dests)),
        "sed" => Box::new(Sed::new_linear(dests)),
        "nq" => Box::new(Nq::new_linear(dests)),
        "fo" => Box::new(Fo::new_linear(dests)),
        "ovf" => Box::new(Ovf::new_linear(dests)),
        _ => Box::new(Twos::new_linear(dests, SEED)),
    }
}

/// The kernel's scan of a stateless scheduler.
/// The always-indexed engine of the six least-connection schedulers (the registry's engine
/// scans lists as short as these tests build, and only indexes long ones).
fn indexed(name: &str, dests: &DestList) -> Option<Box<dyn Scheduler>> {
    Some(match name {
        "lc" => Box::new(Lc::new_indexed(dests)),
        "wlc" => Box::new(Wlc::new_indexed(dests)),
        "sed" => Box::new(Sed::new_indexed(dests)),
        "nq" => Box::new(Nq::new_indexed(dests)),
        "fo" => Box::new(Fo::new_indexed(dests)),
        "ovf" => Box::new(Ovf::new_indexed(dests)),
        _ => return None,
    })
}

/// Puts the always-indexed engine in the service, so the index is what is tested.
fn force_index(ipvs: &mut Ipvs, key: &ServiceKey, name: &str) {
    let svc = ipvs.service_mut(key).unwrap();
    if let Some(s) = indexed(name, svc.dests()) {
        svc.set_scheduler(s);
    }
}

fn scan(name: &str) -> Option<fn(&DestList) -> Option<usize>> {
    match name {
        "lc" => Some(Lc::scan),
        "wlc" => Some(Wlc::scan),
        "sed" => Some(Sed::scan),
        "nq" => Some(Nq::scan),
        "fo" => Some(Fo::scan),
        "ovf" => Some(Ovf::scan),
        _ => None,
    }
}

/// True if the scheduler's index ever had to be rebuilt because it was out of step.
fn resynced(s: &dyn Scheduler) -> bool {
    format!("{s:?}")
        .split("resyncs: ")
        .skip(1)
        .any(|count| !count.starts_with('0'))
}

fn params() -> SchedParams {
    SchedParams {
        seed: SEED,
        ..SchedParams::default()
    }
}

fn input() -> SchedInput {
    SchedInput::tcp(
        (IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)), 40000),
        (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 80),
    )
}

fn rip(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 19, 0, n + 1))
}

#[derive(Debug, Clone)]
enum Op {
    Add { rs: u8, conf: (u32, u32, u32) },
    Edit { rs: u8, conf: (u32, u32, u32) },
    Del { rs: u8 },
    Bind { rs: u8, kind: ConnKind, n: u8 },
    Unbind { rs: u8, kind: ConnKind },
    Activity { rs: u8, active: bool },
    Schedule { bind: Option<ConnKind> },
    Reinit,
}

fn kind() -> impl Strategy<Value = ConnKind> {
    prop_oneof![
        Just(ConnKind::Active),
        Just(ConnKind::Inactive),
        Just(ConnKind::Template)
    ]
}

/// (weight, upper threshold, lower threshold ≤ upper); even weights make GCDs above 1.
fn dest_conf() -> impl Strategy<Value = (u32, u32, u32)> {
    let weight = prop_oneof![Just(0u32), 1u32..5, Just(6), Just(8), Just(40)];
    let upper = prop_oneof![2 => Just(0u32), 3 => 1u32..4, 1 => 4u32..8];
    (weight, upper).prop_flat_map(|(w, u)| (Just(w), Just(u), 0..=u))
}

fn op() -> impl Strategy<Value = Op> {
    let rs = 0u8..6;
    prop_oneof![
        3 => (rs.clone(), dest_conf()).prop_map(|(rs, conf)| Op::Add { rs, conf }),
        2 => (rs.clone(), dest_conf()).prop_map(|(rs, conf)| Op::Edit { rs, conf }),
        1 => rs.clone().prop_map(|rs| Op::Del { rs }),
        3 => (rs.clone(), kind(), 1u8..4).prop_map(|(rs, kind, n)| Op::Bind { rs, kind, n }),
        2 => (rs.clone(), kind()).prop_map(|(rs, kind)| Op::Unbind { rs, kind }),
        1 => (rs, any::<bool>()).prop_map(|(rs, active)| Op::Activity { rs, active }),
        6 => prop::option::of(kind()).prop_map(|bind| Op::Schedule { bind }),
        1 => Just(Op::Reinit),
    ]
}

fn conf((weight, u_threshold, l_threshold): (u32, u32, u32)) -> DestConf {
    DestConf {
        weight,
        u_threshold,
        l_threshold,
        ..DestConf::default()
    }
}

/// One service per scheduler, each with its linear twin.
struct World {
    ipvs: Ipvs,
    services: Vec<(ServiceKey, &'static str, Box<dyn Scheduler>)>,
}

impl World {
    fn new() -> Self {
        let mut ipvs = Ipvs::with_params(params());
        let mut services = Vec::new();
        for (i, name) in ALL.into_iter().enumerate() {
            let key = ServiceKey::Addr {
                proto: Protocol::Tcp,
                addr: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
                port: 80 + i as u16,
            };
            ipvs.add_service(key, ServiceConf::with_scheduler(Family::V4, name))
                .unwrap();
            force_index(&mut ipvs, &key, name);
            services.push((key, name, linear(name, &DestList::default())));
        }
        World { ipvs, services }
    }

    fn apply(&mut self, op: &Op) -> Result<(), TestCaseError> {
        for (key, name, twin) in &mut self.services {
            let ipvs = &mut self.ipvs;
            let position = |ipvs: &Ipvs, rs: u8| {
                ipvs.service(key)
                    .and_then(|s| s.dests().position(rip(rs), 80))
            };
            match *op {
                Op::Add { rs, conf: c } => {
                    if ipvs.add_dest(key, rip(rs), 80, conf(c)).is_ok() {
                        twin.add_dest(ipvs.service(key).unwrap().dests(), 0);
                    }
                }
                Op::Edit { rs, conf: c } => {
                    if ipvs.edit_dest(key, rip(rs), 80, conf(c)).is_ok() {
                        let pos = position(ipvs, rs).unwrap();
                        twin.upd_dest(ipvs.service(key).unwrap().dests(), pos);
                    }
                }
                Op::Del { rs } => {
                    if let Some(old_pos) = position(ipvs, rs) {
                        ipvs.del_dest(key, rip(rs), 80).unwrap();
                        let removed = ipvs
                            .trash()
                            .iter()
                            .rev()
                            .find(|t| t.service == *key && t.dest.addr() == rip(rs))
                            .map(|t| t.dest.clone())
                            .unwrap();
                        twin.del_dest(ipvs.service(key).unwrap().dests(), &removed, old_pos);
                    }
                }
                Op::Bind { rs, kind, n } => {
                    if let Some(pos) = position(ipvs, rs) {
                        let svc = ipvs.service_mut(key).unwrap();
                        for _ in 0..n {
                            svc.bind(pos, kind);
                            twin.load_changed(svc.dests(), pos);
                        }
                    }
                }
                Op::Unbind { rs, kind } => match position(ipvs, rs) {
                    Some(pos) => {
                        let id = ipvs.service(key).unwrap().dests().get(pos).unwrap().id();
                        ipvs.unbind(key, id, kind);
                        twin.load_changed(ipvs.service(key).unwrap().dests(), pos);
                    }
                    None => {
                        let trashed = ipvs
                            .trash()
                            .iter()
                            .find(|t| t.service == *key && t.dest.addr() == rip(rs))
                            .map(|t| t.dest.id());
                        if let Some(id) = trashed {
                            ipvs.unbind(key, id, kind);
                        }
                    }
                },
                Op::Activity { rs, active } => {
                    if let Some(pos) = position(ipvs, rs) {
                        let svc = ipvs.service_mut(key).unwrap();
                        svc.set_activity(pos, active);
                        twin.load_changed(svc.dests(), pos);
                    }
                }
                Op::Schedule { bind } => {
                    let svc = ipvs.service_mut(key).unwrap();
                    let fast = svc.schedule(&input());
                    let slow = twin.schedule(svc.dests(), &input());
                    prop_assert_eq!(fast, slow, "{} on {:?}", name, svc.dests());
                    if let (Some(pos), Some(kind)) = (fast, bind) {
                        svc.bind(pos, kind);
                        twin.load_changed(svc.dests(), pos);
                    }
                }
                Op::Reinit => {
                    let other = if *name == "rr" { "wlc" } else { "rr" };
                    ipvs.edit_service(key, ServiceConf::with_scheduler(Family::V4, other))
                        .unwrap();
                    ipvs.edit_service(key, ServiceConf::with_scheduler(Family::V4, name))
                        .unwrap();
                    force_index(ipvs, key, name);
                    *twin = linear(name, ipvs.service(key).unwrap().dests());
                }
            }
            // The stateless ones can be asked at any time, without disturbing anything.
            if let Some(scan) = scan(name) {
                let svc = ipvs.service_mut(key).unwrap();
                let fast = svc.schedule(&input());
                prop_assert_eq!(
                    fast,
                    scan(svc.dests()),
                    "{} after {:?} on {:?}",
                    name,
                    op,
                    svc.dests()
                );
            }
            let svc = ipvs.service(key).unwrap();
            prop_assert!(
                !resynced(svc.scheduler()),
                "{} resynced after {:?}",
                name,
                op
            );
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn indexed_schedulers_choose_what_the_kernel_scan_chooses(ops in prop::collection::vec(op(), 1..80)) {
        let mut world = World::new();
        for op in &ops {
            world.apply(op)?;
        }
    }
}

// ------------------------------------------------------------ detached, extreme counters

/// (weight, active, inactive, overload) of one destination.
type Raw = (u32, u32, u32, bool);

fn extreme_dest() -> impl Strategy<Value = Raw> {
    let weight = prop_oneof![
        4 => 0u32..4,
        1 => Just(65535u32),
        1 => Just(i32::MAX as u32),
        1 => Just(u32::MAX),
    ];
    let active = prop_oneof![
        4 => 0u32..4,
        2 => ((1u32 << 23) - 2)..((1u32 << 23) + 2),
        1 => Just(i32::MAX as u32 - 1),
        1 => Just(i32::MAX as u32),
        1 => Just(u32::MAX),
        1 => any::<u32>(),
    ];
    let inactive = prop_oneof![3 => 0u32..300, 1 => any::<u32>()];
    (weight, active, inactive, prop::bool::weighted(0.2))
}

fn detached_list(raw: &[Raw]) -> DestList {
    DestList::from_list_order(
        raw.iter()
            .enumerate()
            .map(|(i, &(weight, active, inactive, overload))| {
                let mut d = Destination::detached(
                    rip(i as u8),
                    80,
                    DestConf {
                        weight,
                        ..DestConf::default()
                    },
                    0,
                );
                d.set_counters_for_test(active, inactive, overload);
                d
            })
            .collect(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn int_wraparound_is_reproduced(
        raw in prop::collection::vec(extreme_dest(), 0..7),
        changes in prop::collection::vec((0usize..7, extreme_dest()), 0..12),
    ) {
        let mut list = detached_list(&raw);
        // wrr's kernel walk needs O(weight) passes: its weights stay small here.
        for name in ALL.into_iter().filter(|&n| n != "wrr") {
            let mut fast = indexed(name, &list).unwrap_or_else(|| sched::new(name, &list, &params()).unwrap());
            let mut slow = linear(name, &list);
            prop_assert_eq!(fast.schedule(&list, &input()), slow.schedule(&list, &input()), "{}", name);
            for &(at, (_, active, inactive, overload)) in &changes {
                let Some(d) = list.get_mut(at) else { continue };
                d.set_counters_for_test(active, inactive, overload);
                fast.load_changed(&list, at);
                slow.load_changed(&list, at);
                let picked = fast.schedule(&list, &input());
                prop_assert_eq!(picked, slow.schedule(&list, &input()), "{} on {:?}", name, list);
                if let Some(scan) = scan(name) {
                    prop_assert_eq!(picked, scan(&list), "{}", name);
                }
            }
            prop_assert!(!resynced(fast.as_ref()), "{} resynced", name);
            list = detached_list(&raw);
        }
    }
}

/// The registry's engine switches between the scan and the index as the list grows past 128
/// destinations and shrinks under 96; its picks equal the kernel scan's all along.
#[test]
fn adaptive_engine_agrees_across_the_switch() {
    for name in ["lc", "wlc", "sed", "nq", "fo", "ovf"] {
        let key = ServiceKey::Addr {
            proto: Protocol::Tcp,
            addr: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
            port: 80,
        };
        let mut ipvs = Ipvs::with_params(params());
        ipvs.add_service(key, ServiceConf::with_scheduler(Family::V4, name))
            .unwrap();
        let scan = scan(name).unwrap();
        let mut x: u64 = 7;
        let mut step = |ipvs: &mut Ipvs| {
            let svc = ipvs.service_mut(&key).unwrap();
            let fast = svc.schedule(&input());
            assert_eq!(
                fast,
                scan(svc.dests()),
                "{name} with {} dests",
                svc.dests().len()
            );
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if let Some(p) = fast {
                svc.bind(
                    p,
                    if x >> 63 == 0 {
                        ConnKind::Active
                    } else {
                        ConnKind::Inactive
                    },
                );
            }
            let n = svc.dests().len();
            if n > 0 && (x >> 20).is_multiple_of(3) {
                let p = (x >> 33) as usize % n;
                if svc.dests().get(p).unwrap().active_conns() > 0 {
                    svc.unbind(p, ConnKind::Active);
                }
            }
        };
        for i in 0..140u32 {
            let conf = DestConf {
                weight: 1 + i % 5,
                ..DestConf::default()
            };
            let addr = IpAddr::V4(Ipv4Addr::from(0xc613_0000 + i));
            ipvs.add_dest(&key, addr, 80, conf).unwrap();
            for _ in 0..3 {
                step(&mut ipvs);
            }
        }
        for i in 0..135u32 {
            let addr = IpAddr::V4(Ipv4Addr::from(0xc613_0000 + i));
            ipvs.del_dest(&key, addr, 80).unwrap();
            for _ in 0..3 {
                step(&mut ipvs);
            }
        }
    }
}

//! Exact choices of rr, wrr, lc, wlc, sed, nq, fo, ovf and twos (spec §3.1–§3.9, §17), driven
//! through `Ipvs` and `Service` so that the scheduler hooks run as they do in the director.
//!
//! Real servers are named by letters: `A` is 198.19.0.1, `B` 198.19.0.2, … Remember that the
//! list is newest first: adding A, B, C gives the list order C, B, A.
//!
//! Every test runs twice: with the schedulers `Ipvs` builds (the indexed ones) and with the
//! kernel-walk versions (`new_linear`) put in their place, which must agree.

use std::net::{IpAddr, Ipv4Addr};

use lb_core::sched::{Fo, Lc, Nq, Ovf, Rr, Sed, Twos, Wlc, Wrr};
use lb_core::{
    ConnKind, DestConf, DestList, Family, Ipvs, Protocol, SchedInput, SchedParams, Scheduler,
    ServiceConf, ServiceKey,
};

const ALL: [&str; 9] = ["rr", "wrr", "lc", "wlc", "sed", "nq", "fo", "ovf", "twos"];

/// Which version of the schedulers a test runs with.
#[derive(Debug, Clone, Copy)]
enum Engine {
    /// As `Ipvs` builds them: O(log n) indexes.
    Indexed,
    /// The kernel's walks, line for line (`new_linear`).
    Linear,
}

const ENGINES: [Engine; 2] = [Engine::Indexed, Engine::Linear];

/// The kernel-walk version of scheduler `name`, initialised over `dests`.
fn linear(name: &str, dests: &DestList, seed: u64) -> Box<dyn Scheduler> {
    match name {
        "rr" => Box::new(Rr::new_linear(dests)),
        "wrr" => Box::new(Wrr::new_linear(dests)),
        "lc" => Box::new(Lc::new_linear(dests)),
        "wlc" => Box::new(Wlc::new_linear(dests)),
        "sed" => Box::new(Sed::new_linear(dests)),
        "nq" => Box::new(Nq::new_linear(dests)),
        "fo" => Box::new(Fo::new_linear(dests)),
        "ovf" => Box::new(Ovf::new_linear(dests)),
        "twos" => Box::new(Twos::new_linear(dests, seed)),
        other => panic!("no linear {other}"),
    }
}

/// With [`Engine::Linear`], replaces the scheduler `Ipvs` just built (over the current list)
/// by its kernel-walk version, built over the same list.
fn use_engine(ipvs: &mut Ipvs, engine: Engine) {
    if let Engine::Linear = engine {
        let seed = ipvs.params().seed;
        let svc = ipvs.service_mut(&vip()).unwrap();
        let walk = linear(&svc.conf().scheduler.clone(), svc.dests(), seed);
        svc.set_scheduler(walk);
    }
}

fn vip() -> ServiceKey {
    ServiceKey::Addr {
        proto: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
        port: 80,
    }
}

fn rip(name: char) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 19, 0, name as u8 - b'A' + 1))
}

fn name_of(addr: IpAddr) -> char {
    match addr {
        IpAddr::V4(a) => (b'A' + a.octets()[3] - 1) as char,
        IpAddr::V6(_) => '?',
    }
}

fn input() -> SchedInput {
    SchedInput::tcp(
        (IpAddr::V4(Ipv4Addr::new(198, 18, 1, 1)), 40000),
        (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), 80),
    )
}

fn weight(w: u32) -> DestConf {
    DestConf {
        weight: w,
        ..DestConf::default()
    }
}

fn thresholds(w: u32, upper: u32, lower: u32) -> DestConf {
    DestConf {
        weight: w,
        u_threshold: upper,
        l_threshold: lower,
        ..DestConf::default()
    }
}

/// A service with scheduler `sched` and the real servers added (`-a`) in the order given.
fn service(engine: Engine, sched: &str, adds: &[(char, DestConf)]) -> Ipvs {
    service_with(engine, SchedParams::default(), sched, adds)
}

/// The same, with scheduler settings.
fn service_with(
    engine: Engine,
    params: SchedParams,
    sched: &str,
    adds: &[(char, DestConf)],
) -> Ipvs {
    let mut ipvs = Ipvs::with_params(params);
    ipvs.add_service(vip(), ServiceConf::with_scheduler(Family::V4, sched))
        .unwrap();
    use_engine(&mut ipvs, engine);
    for &(name, conf) in adds {
        add(&mut ipvs, name, conf);
    }
    ipvs
}

/// Real servers added under another scheduler, then the service switched to `sched` with
/// `-E`: the scheduler starts with every destination present (the kernel's init_service).
fn switched_to(engine: Engine, sched: &str, adds: &[(char, DestConf)]) -> Ipvs {
    let mut ipvs = service(Engine::Indexed, "wlc", adds);
    ipvs.edit_service(&vip(), ServiceConf::with_scheduler(Family::V4, sched))
        .unwrap();
    use_engine(&mut ipvs, engine);
    ipvs
}

fn add(ipvs: &mut Ipvs, name: char, conf: DestConf) {
    ipvs.add_dest(&vip(), rip(name), 80, conf).unwrap();
}

fn edit(ipvs: &mut Ipvs, name: char, conf: DestConf) {
    ipvs.edit_dest(&vip(), rip(name), 80, conf).unwrap();
}

fn del(ipvs: &mut Ipvs, name: char) {
    ipvs.del_dest(&vip(), rip(name), 80).unwrap();
}

fn pos(ipvs: &Ipvs, name: char) -> usize {
    ipvs.service(&vip())
        .unwrap()
        .dests()
        .position(rip(name), 80)
        .unwrap()
}

/// Binds `n` connections of `kind` to `name`.
fn bind(ipvs: &mut Ipvs, name: char, kind: ConnKind, n: u32) {
    let p = pos(ipvs, name);
    let svc = ipvs.service_mut(&vip()).unwrap();
    for _ in 0..n {
        svc.bind(p, kind);
    }
}

/// Unbinds `n` connections of `kind` from `name`.
fn unbind(ipvs: &mut Ipvs, name: char, kind: ConnKind, n: u32) {
    let p = pos(ipvs, name);
    let svc = ipvs.service_mut(&vip()).unwrap();
    for _ in 0..n {
        svc.unbind(p, kind);
    }
}

/// One pick, as a letter; `-` for "no destination available".
fn pick(ipvs: &mut Ipvs) -> char {
    let svc = ipvs.service_mut(&vip()).unwrap();
    match svc.schedule(&input()) {
        Some(p) => name_of(svc.dests().get(p).unwrap().addr()),
        None => '-',
    }
}

/// `n` picks without binding anything.
fn picks(ipvs: &mut Ipvs, n: usize) -> String {
    (0..n).map(|_| pick(ipvs)).collect()
}

fn list_order(ipvs: &Ipvs) -> String {
    ipvs.service(&vip())
        .unwrap()
        .dests()
        .iter()
        .map(|d| name_of(d.addr()))
        .collect()
}

// ---------------------------------------------------------------------------------------- rr

#[test]
fn rr_rotates_in_list_order_from_the_newest() {
    for e in ENGINES {
        let mut ipvs = service(
            e,
            "rr",
            &[('A', weight(1)), ('B', weight(1)), ('C', weight(1))],
        );
        assert_eq!(list_order(&ipvs), "CBA");
        assert_eq!(picks(&mut ipvs, 7), "CBACBAC");

        let mut ipvs = service(
            e,
            "rr",
            &[('C', weight(1)), ('B', weight(1)), ('A', weight(1))],
        );
        assert_eq!(picks(&mut ipvs, 6), "ABCABC");
    }
}

#[test]
fn rr_ignores_weights_other_than_zero() {
    for e in ENGINES {
        let mut ipvs = service(
            e,
            "rr",
            &[('C', weight(1)), ('B', weight(7)), ('A', weight(3))],
        );
        assert_eq!(picks(&mut ipvs, 6), "ABCABC");
    }
}

#[test]
fn rr_cursor_moves_to_the_predecessor_when_its_dest_is_deleted() {
    for e in ENGINES {
        let adds = [
            ('D', weight(1)),
            ('C', weight(1)),
            ('B', weight(1)),
            ('A', weight(1)),
        ];
        let mut ipvs = service(e, "rr", &adds);
        assert_eq!(picks(&mut ipvs, 2), "AB");
        del(&mut ipvs, 'B'); // cursor B → A
        assert_eq!(picks(&mut ipvs, 5), "CDACD");

        // The cursor on the first dest goes back to the list head.
        let mut ipvs = service(e, "rr", &adds);
        assert_eq!(picks(&mut ipvs, 1), "A");
        del(&mut ipvs, 'A');
        assert_eq!(picks(&mut ipvs, 4), "BCDB");

        // The cursor on the last dest goes to the one before it.
        let mut ipvs = service(e, "rr", &adds);
        assert_eq!(picks(&mut ipvs, 4), "ABCD");
        del(&mut ipvs, 'D');
        assert_eq!(picks(&mut ipvs, 3), "ABC");

        // Deleting another dest leaves the cursor where it is.
        let mut ipvs = service(e, "rr", &adds);
        assert_eq!(picks(&mut ipvs, 2), "AB");
        del(&mut ipvs, 'C');
        assert_eq!(picks(&mut ipvs, 4), "DABD");
    }
}

#[test]
fn rr_add_leaves_the_cursor_alone() {
    for e in ENGINES {
        let mut ipvs = service(e, "rr", &[('B', weight(1)), ('A', weight(1))]);
        assert_eq!(picks(&mut ipvs, 1), "A");
        add(&mut ipvs, 'C', weight(1)); // list C, A, B; cursor still on A
        assert_eq!(list_order(&ipvs), "CAB");
        assert_eq!(picks(&mut ipvs, 4), "BCAB");
    }
}

#[test]
fn rr_skips_weight_zero_and_overload() {
    for e in ENGINES {
        let mut ipvs = service(
            e,
            "rr",
            &[
                ('D', weight(1)),
                ('C', thresholds(1, 1, 0)),
                ('B', weight(0)),
                ('A', weight(1)),
            ],
        );
        bind(&mut ipvs, 'C', ConnKind::Inactive, 1); // C reaches its upper threshold
        assert_eq!(picks(&mut ipvs, 4), "ADAD");
        unbind(&mut ipvs, 'C', ConnKind::Inactive, 1); // 0 < ¾·1: OVERLOAD cleared
        assert_eq!(picks(&mut ipvs, 5), "ACDAC");
        edit(&mut ipvs, 'A', weight(0));
        edit(&mut ipvs, 'D', weight(0));
        edit(&mut ipvs, 'C', weight(0));
        assert_eq!(picks(&mut ipvs, 2), "--");
        edit(&mut ipvs, 'B', weight(2));
        assert_eq!(picks(&mut ipvs, 2), "BB");
    }
}

#[test]
fn rr_without_dests_has_nothing() {
    for e in ENGINES {
        let mut ipvs = service(e, "rr", &[]);
        assert_eq!(picks(&mut ipvs, 2), "--");
    }
}

// --------------------------------------------------------------------------------------- wrr

/// The spec's vectors, with the weights given in list order and the state initialised over
/// all of them (`-E … -s wrr` after the adds).
fn wrr_initialised(engine: Engine, list: &[(char, u32)]) -> Ipvs {
    let adds: Vec<(char, DestConf)> = list.iter().rev().map(|&(n, w)| (n, weight(w))).collect();
    let ipvs = switched_to(engine, "wrr", &adds);
    let order: String = list.iter().map(|&(n, _)| n).collect();
    assert_eq!(list_order(&ipvs), order);
    ipvs
}

#[test]
fn wrr_vectors_with_state_initialised_over_the_dests() {
    for e in ENGINES {
        let mut ipvs = wrr_initialised(e, &[('A', 4), ('B', 3), ('C', 2)]);
        assert_eq!(picks(&mut ipvs, 18), "AABABCABC".repeat(2));
        let mut ipvs = wrr_initialised(e, &[('A', 4), ('B', 2)]);
        assert_eq!(picks(&mut ipvs, 9), "AAB".repeat(3));
        let mut ipvs = wrr_initialised(e, &[('A', 5), ('B', 1)]);
        assert_eq!(picks(&mut ipvs, 12), "AAAAAB".repeat(2));
        let mut ipvs = wrr_initialised(e, &[('A', 1), ('B', 1), ('C', 1)]);
        assert_eq!(picks(&mut ipvs, 9), "ABC".repeat(3));
    }
}

#[test]
fn wrr_built_with_adds_starts_with_a_weight_one_pass() {
    for e in ENGINES {
        let mut ipvs = service(
            e,
            "wrr",
            &[('A', weight(4)), ('B', weight(3)), ('C', weight(2))],
        );
        assert_eq!(list_order(&ipvs), "CBA");
        assert_eq!(picks(&mut ipvs, 18), "CBAABACBA".repeat(2));
    }
}

#[test]
fn wrr_edit_mid_cycle_restarts_from_the_head_keeping_cw() {
    for e in ENGINES {
        let mut ipvs = wrr_initialised(e, &[('A', 4), ('B', 3), ('C', 2)]);
        assert_eq!(picks(&mut ipvs, 4), "AABA"); // cw = 2 now
        edit(&mut ipvs, 'C', weight(4)); // cursor → head, di 1, mw 4, cw stays 2
        assert_eq!(
            picks(&mut ipvs, 17),
            "ABC".to_string() + "ABC" + "AC" + "ABC" + "ABC" + "ABC"
        );
    }
}

#[test]
fn wrr_add_mid_cycle_restarts_from_the_head_keeping_cw() {
    for e in ENGINES {
        let mut ipvs = wrr_initialised(e, &[('A', 4), ('B', 3), ('C', 2)]);
        assert_eq!(picks(&mut ipvs, 4), "AABA"); // cw = 2 now
        add(&mut ipvs, 'D', weight(6)); // list D, A, B, C; cursor → head, mw 6, cw stays 2
        let round = "D".to_string() + "D" + "DA" + "DAB" + "DABC" + "DABC";
        assert_eq!(picks(&mut ipvs, 8 + 15), "DABCDABC".to_string() + &round);
    }
}

#[test]
fn wrr_edit_with_gcd_rounds_cw_to_a_step() {
    for e in ENGINES {
        // [A6, B4] initialised: di 2, mw 5, cw 5 → A; cw 3 → A, B; cw 1 → A, B; cw 5 → …
        let mut ipvs = wrr_initialised(e, &[('A', 6), ('B', 4)]);
        assert_eq!(picks(&mut ipvs, 5), "AABAB");
        assert_eq!(picks(&mut ipvs, 2), "AA"); // cw 5 → A, cw 3 → A (cursor A, cw 3)
                                               // B → 8: di 2, mw 7; cw 3 ≤ 7 and di > 1 → cw = (3/2)·2 + 1 = 3; cursor → head.
        edit(&mut ipvs, 'B', weight(8));
        // cw 3: A, B; cw 1: A, B; cw 7: B; cw 5: A, B; cw 3: A, B; cw 1: A, B
        assert_eq!(picks(&mut ipvs, 11), "ABABBABABAB");
    }
}

#[test]
fn wrr_skips_overload_and_weight_zero() {
    for e in ENGINES {
        let mut ipvs = wrr_initialised(e, &[('A', 2), ('B', 1), ('C', 0)]);
        edit(&mut ipvs, 'A', thresholds(2, 1, 0));
        bind(&mut ipvs, 'A', ConnKind::Active, 1); // A OVERLOAD
        assert_eq!(picks(&mut ipvs, 4), "BBBB");
        edit(&mut ipvs, 'B', thresholds(1, 1, 0));
        bind(&mut ipvs, 'B', ConnKind::Active, 1); // B OVERLOAD too: only C (weight 0) left
        assert_eq!(picks(&mut ipvs, 2), "--");
        unbind(&mut ipvs, 'A', ConnKind::Active, 1);
        assert_eq!(picks(&mut ipvs, 3), "AAA");
    }
}

#[test]
fn wrr_with_everything_overloaded_fails_then_resumes_from_the_head() {
    for e in ENGINES {
        // list A(5), B(1), both with an upper threshold of 1; di 1, mw 5.
        let mut ipvs = wrr_initialised(e, &[('A', 5), ('B', 1)]);
        edit(&mut ipvs, 'A', thresholds(5, 1, 0));
        edit(&mut ipvs, 'B', thresholds(1, 1, 0));
        assert_eq!(picks(&mut ipvs, 1), "A"); // cursor A, cw 5
        bind(&mut ipvs, 'A', ConnKind::Active, 1);
        bind(&mut ipvs, 'B', ConnKind::Active, 1);
        // Passes with cw 4, 3, 2 and the last pass with cw 1 fail; the round ends with the
        // cursor at the head and cw back at 5.
        assert_eq!(picks(&mut ipvs, 2), "--");
        unbind(&mut ipvs, 'B', ConnKind::Active, 1);
        // From the head: cw 5, 4, 3, 2 find nothing, cw 1 finds B; then B each time.
        assert_eq!(picks(&mut ipvs, 3), "BBB");
        unbind(&mut ipvs, 'A', ConnKind::Active, 1);
        // Cursor B, cw 1: a new round from the head at cw 5 takes A.
        assert_eq!(picks(&mut ipvs, 7), "AAAAABA");
    }
}

#[test]
fn wrr_failing_after_its_last_pass_returns_the_cursor_to_the_head() {
    for e in ENGINES {
        // list A(1), B(5), C(1), each with an upper threshold of 1; di 1, mw 5.
        let t = |w| thresholds(w, 1, 0);
        let mut ipvs = wrr_initialised(e, &[('A', 1), ('B', 5), ('C', 1)]);
        for (n, w) in [('A', 1), ('B', 5), ('C', 1)] {
            edit(&mut ipvs, n, t(w));
        }
        assert_eq!(picks(&mut ipvs, 1), "B"); // cursor B, cw 5
        for n in ['A', 'B', 'C'] {
            bind(&mut ipvs, n, ConnKind::Active, 1);
        }
        // From B the passes with cw 4..1 fail; cw would drop to 0 right after the last pass, so
        // the pick fails with the cursor back at the head and cw at 5.
        assert_eq!(picks(&mut ipvs, 2), "--");
        unbind(&mut ipvs, 'A', ConnKind::Active, 1);
        unbind(&mut ipvs, 'C', ConnKind::Active, 1);
        // From the head: nothing until cw 1 takes A; then C; then a new round: cw 5..2 nothing,
        // the last pass (up to C) takes A.
        assert_eq!(picks(&mut ipvs, 3), "ACA");
    }
}

#[test]
fn wrr_built_with_adds_never_takes_weight_zero() {
    for e in ENGINES {
        // -A with no dests: mw = cw = 0. Adding A(0) keeps them 0; adding B(1) makes mw 1 and,
        // because cw is 0, cw = mw = 1 (not "rounded", which would leave cw 0 with di 1).
        let mut ipvs = service(e, "wrr", &[('A', weight(0)), ('B', weight(1))]);
        assert_eq!(picks(&mut ipvs, 3), "BBB");
    }
}

#[test]
fn wrr_with_every_weight_zero_has_nothing() {
    for e in ENGINES {
        let mut ipvs = service(e, "wrr", &[('A', weight(0)), ('B', weight(0))]);
        assert_eq!(picks(&mut ipvs, 2), "--");
        edit(&mut ipvs, 'A', weight(3));
        assert_eq!(picks(&mut ipvs, 2), "AA");
    }
}

// ----------------------------------------------------------------- least-connection family

#[test]
fn lc_takes_the_least_overhead_first_in_list_on_ties() {
    for e in ENGINES {
        // list A, B, C
        let mut ipvs = service(
            e,
            "lc",
            &[('C', weight(0)), ('B', weight(5)), ('A', weight(1))],
        );
        assert_eq!(pick(&mut ipvs), 'A');
        bind(&mut ipvs, 'A', ConnKind::Active, 1); // A: 256
        assert_eq!(pick(&mut ipvs), 'B');
        bind(&mut ipvs, 'B', ConnKind::Inactive, 256); // B: 256, a tie: A is first
        assert_eq!(pick(&mut ipvs), 'A');
        unbind(&mut ipvs, 'B', ConnKind::Inactive, 1); // B: 255
        assert_eq!(pick(&mut ipvs), 'B');
        // C (weight 0, no connections) is never chosen; weights play no other part.
        edit(&mut ipvs, 'B', weight(0));
        assert_eq!(pick(&mut ipvs), 'A');
        edit(&mut ipvs, 'A', weight(0));
        assert_eq!(pick(&mut ipvs), '-');
    }
}

#[test]
fn wlc_minimises_overhead_per_weight() {
    for e in ENGINES {
        // list A(1), B(2), C(0)
        let mut ipvs = service(
            e,
            "wlc",
            &[('C', weight(0)), ('B', weight(2)), ('A', weight(1))],
        );
        assert_eq!(pick(&mut ipvs), 'A');
        bind(&mut ipvs, 'A', ConnKind::Active, 1); // 256/1
        assert_eq!(pick(&mut ipvs), 'B');
        bind(&mut ipvs, 'B', ConnKind::Active, 2); // 512/2: a tie, A first
        assert_eq!(pick(&mut ipvs), 'A');
        bind(&mut ipvs, 'A', ConnKind::Inactive, 1); // 257/1 > 512/2
        assert_eq!(pick(&mut ipvs), 'B');
        bind(&mut ipvs, 'B', ConnKind::Inactive, 3); // 515/2 = 257.5 > 257
        assert_eq!(pick(&mut ipvs), 'A');
    }
}

#[test]
fn wlc_first_candidate_skips_weight_zero_and_overload() {
    for e in ENGINES {
        // list Z(0), Y(u 1, overloaded), A(1), B(1)
        let mut ipvs = service(
            e,
            "wlc",
            &[
                ('B', weight(1)),
                ('A', weight(1)),
                ('Y', thresholds(1, 1, 0)),
                ('Z', weight(0)),
            ],
        );
        bind(&mut ipvs, 'Y', ConnKind::Inactive, 1);
        bind(&mut ipvs, 'A', ConnKind::Inactive, 1);
        assert_eq!(list_order(&ipvs), "ZYAB");
        assert_eq!(pick(&mut ipvs), 'B');
        bind(&mut ipvs, 'B', ConnKind::Inactive, 1);
        assert_eq!(pick(&mut ipvs), 'A');
    }
}

#[test]
fn sed_counts_active_plus_one_per_weight() {
    for e in ENGINES {
        // list A(1), B(3)
        let mut ipvs = service(e, "sed", &[('B', weight(3)), ('A', weight(1))]);
        bind(&mut ipvs, 'B', ConnKind::Active, 2); // A 1/1, B 3/3: tie, A first
        assert_eq!(pick(&mut ipvs), 'A');
        bind(&mut ipvs, 'A', ConnKind::Inactive, 5); // inactive connections do not count
        assert_eq!(pick(&mut ipvs), 'A');
        bind(&mut ipvs, 'A', ConnKind::Active, 1); // A 2/1 > B 3/3
        assert_eq!(pick(&mut ipvs), 'B');
        edit(&mut ipvs, 'B', weight(0));
        assert_eq!(pick(&mut ipvs), 'A');
    }
}

#[test]
fn nq_takes_the_first_idle_else_sed() {
    for e in ENGINES {
        // list A(1), B(3), C(1)
        let mut ipvs = service(
            e,
            "nq",
            &[('C', weight(1)), ('B', weight(3)), ('A', weight(1))],
        );
        assert_eq!(pick(&mut ipvs), 'A');
        bind(&mut ipvs, 'A', ConnKind::Active, 1);
        bind(&mut ipvs, 'B', ConnKind::Active, 2);
        assert_eq!(pick(&mut ipvs), 'C'); // idle, though last
        bind(&mut ipvs, 'C', ConnKind::Active, 1); // A 2/1, B 3/3, C 2/1
        assert_eq!(pick(&mut ipvs), 'B');
        bind(&mut ipvs, 'B', ConnKind::Active, 3); // B 6/3 = 2: a tie with A and C, A first
        assert_eq!(pick(&mut ipvs), 'A');
        bind(&mut ipvs, 'A', ConnKind::Inactive, 9); // ignored
        assert_eq!(pick(&mut ipvs), 'A');
        unbind(&mut ipvs, 'C', ConnKind::Active, 1); // C idle again
        assert_eq!(pick(&mut ipvs), 'C');
        edit(&mut ipvs, 'C', weight(0)); // an idle weight-0 dest is not taken
        assert_eq!(pick(&mut ipvs), 'A');
    }
}

#[test]
fn fo_takes_the_heaviest_first_in_list_on_ties() {
    for e in ENGINES {
        // list A(2), B(3), C(3)
        let mut ipvs = service(
            e,
            "fo",
            &[
                ('C', weight(3)),
                ('B', thresholds(3, 1, 0)),
                ('A', weight(2)),
            ],
        );
        bind(&mut ipvs, 'C', ConnKind::Active, 50); // load plays no part
        assert_eq!(pick(&mut ipvs), 'B');
        bind(&mut ipvs, 'B', ConnKind::Active, 1); // B OVERLOAD
        assert_eq!(pick(&mut ipvs), 'C');
        edit(&mut ipvs, 'C', weight(0));
        assert_eq!(pick(&mut ipvs), 'A');
        edit(&mut ipvs, 'A', weight(0));
        assert_eq!(pick(&mut ipvs), '-');
    }
}

#[test]
fn ovf_overflows_once_active_exceeds_weight() {
    for e in ENGINES {
        // list A(2), B(3), C(3)
        let mut ipvs = service(
            e,
            "ovf",
            &[('C', weight(3)), ('B', weight(3)), ('A', weight(2))],
        );
        bind(&mut ipvs, 'B', ConnKind::Active, 3); // 3 ≤ 3: still B
        bind(&mut ipvs, 'B', ConnKind::Inactive, 10); // inactive connections do not count
        assert_eq!(pick(&mut ipvs), 'B');
        bind(&mut ipvs, 'B', ConnKind::Active, 1); // 4 > 3
        assert_eq!(pick(&mut ipvs), 'C');
        bind(&mut ipvs, 'C', ConnKind::Active, 4);
        assert_eq!(pick(&mut ipvs), 'A');
        bind(&mut ipvs, 'A', ConnKind::Active, 3);
        assert_eq!(pick(&mut ipvs), '-');
        unbind(&mut ipvs, 'C', ConnKind::Active, 1); // C back to 3 ≤ 3
        assert_eq!(pick(&mut ipvs), 'C');
    }
}

// ------------------------------------------------------------------------------------- twos

#[test]
fn twos_is_reproducible_from_its_seed() {
    for e in ENGINES {
        // Expected strings computed independently from SplitMix64 (seed 7) and §3.9's rule.
        let params = SchedParams {
            seed: 7,
            ..SchedParams::default()
        };
        let mut ipvs = service_with(e, params, "twos", &[]);
        add(&mut ipvs, 'B', weight(2));
        add(&mut ipvs, 'A', weight(1)); // list A(1), B(2)
        assert_eq!(picks(&mut ipvs, 12), "AABABBBAABAB");

        let mut ipvs = service_with(e, params, "twos", &[]);
        for n in ['C', 'B', 'A'] {
            add(&mut ipvs, n, weight(1));
        }
        bind(&mut ipvs, 'A', ConnKind::Active, 1); // overhead 256
        bind(&mut ipvs, 'C', ConnKind::Inactive, 2); // overhead 2
        assert_eq!(picks(&mut ipvs, 12), "CABABCCCABBC");
    }
}

#[test]
fn twos_draws_nothing_without_an_eligible_dest() {
    for e in ENGINES {
        let params = SchedParams {
            seed: 7,
            ..SchedParams::default()
        };
        let mut ipvs = service_with(e, params, "twos", &[]);
        add(&mut ipvs, 'B', weight(2));
        add(&mut ipvs, 'A', weight(0));
        edit(&mut ipvs, 'B', weight(0));
        assert_eq!(picks(&mut ipvs, 3), "---");
        edit(&mut ipvs, 'B', weight(2));
        edit(&mut ipvs, 'A', weight(1));
        // The same sequence as from a fresh generator.
        assert_eq!(picks(&mut ipvs, 12), "AABABBBAABAB");
    }
}

// -------------------------------------------------------------------- thresholds, all nine

/// A (weight 5, thresholds as given) and B, in list order A, B.
fn thresholds_pair(engine: Engine, sched: &str, a: DestConf, b_weight: u32) -> Ipvs {
    switched_to(engine, sched, &[('B', weight(b_weight)), ('A', a)])
}

#[test]
fn every_scheduler_skips_an_overloaded_dest() {
    for e in ENGINES {
        for sched in ALL {
            let mut ipvs = thresholds_pair(e, sched, thresholds(5, 4, 0), 1);
            bind(&mut ipvs, 'A', ConnKind::Inactive, 4); // 4 ≥ 4: OVERLOAD
            assert_eq!(picks(&mut ipvs, 3), "BBB", "{sched} {e:?}");
        }
    }
}

#[test]
fn overload_clears_below_three_quarters_of_the_upper_threshold() {
    for e in ENGINES {
        for sched in ALL {
            let mut ipvs = thresholds_pair(e, sched, thresholds(5, 4, 0), 0);
            bind(&mut ipvs, 'A', ConnKind::Inactive, 3);
            assert_eq!(pick(&mut ipvs), 'A', "{sched} {e:?}");
            bind(&mut ipvs, 'A', ConnKind::Active, 1);
            assert_eq!(pick(&mut ipvs), '-', "{sched} {e:?}");
            unbind(&mut ipvs, 'A', ConnKind::Inactive, 1); // 3·4 < 4·3 is false
            assert_eq!(pick(&mut ipvs), '-', "{sched} {e:?}");
            unbind(&mut ipvs, 'A', ConnKind::Inactive, 1); // 2·4 < 12
            assert_eq!(pick(&mut ipvs), 'A', "{sched} {e:?}");
        }
    }
}

#[test]
fn overload_clears_below_the_lower_threshold() {
    for e in ENGINES {
        for sched in ALL {
            let mut ipvs = thresholds_pair(e, sched, thresholds(5, 4, 2), 0);
            bind(&mut ipvs, 'A', ConnKind::Inactive, 4);
            assert_eq!(pick(&mut ipvs), '-', "{sched} {e:?}");
            unbind(&mut ipvs, 'A', ConnKind::Inactive, 2); // 2 < 2 is false
            assert_eq!(pick(&mut ipvs), '-', "{sched} {e:?}");
            unbind(&mut ipvs, 'A', ConnKind::Inactive, 1); // 1 < 2
            assert_eq!(pick(&mut ipvs), 'A', "{sched} {e:?}");
        }
    }
}

#[test]
fn raising_the_upper_threshold_clears_overload_at_once() {
    for e in ENGINES {
        for sched in ALL {
            let mut ipvs = thresholds_pair(e, sched, thresholds(5, 4, 0), 0);
            bind(&mut ipvs, 'A', ConnKind::Inactive, 4);
            assert_eq!(pick(&mut ipvs), '-', "{sched} {e:?}");
            edit(&mut ipvs, 'A', thresholds(5, 3, 0)); // lower: stays overloaded
            assert_eq!(pick(&mut ipvs), '-', "{sched} {e:?}");
            edit(&mut ipvs, 'A', thresholds(5, 10, 0)); // higher: cleared
            assert_eq!(pick(&mut ipvs), 'A', "{sched} {e:?}");
        }
    }
}

#[test]
fn a_revived_dest_keeps_its_counters() {
    for e in ENGINES {
        for sched in ["lc", "wlc", "sed", "nq", "ovf"] {
            // list A(1), B(1)
            let mut ipvs = service(e, sched, &[('B', weight(1)), ('A', weight(1))]);
            bind(&mut ipvs, 'A', ConnKind::Active, 2);
            del(&mut ipvs, 'A');
            add(&mut ipvs, 'A', weight(1)); // revived from the trash, at the head, 2 active
            assert_eq!(list_order(&ipvs), "AB");
            assert_eq!(pick(&mut ipvs), 'B', "{sched} {e:?}");
        }
    }
}

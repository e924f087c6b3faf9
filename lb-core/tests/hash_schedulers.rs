//! The hash and locality schedulers (sh, dh, mh, lblc, lblcr) driven through `Ipvs`, so the
//! kernel's add/delete/edit hooks run as they do under ipvsadm. Expected values are the spec's
//! §17 vectors and values computed with a separate model of the kernel code (hash_32,
//! SipHash-1-3, the Maglev population loop, lookups with fallback).

use std::net::IpAddr;

use lb_core::hash::{fold_addr, fold_addr_for};
use lb_core::sched::mh::{lookup_slot, permutation, MhTable};
use lb_core::sched::{Dh, Sh};
use lb_core::{
    ConnKind, DestConf, Family, FwdMethod, Ipvs, Protocol, SchedFlags, SchedInput, SchedParams,
    ServiceConf, ServiceKey, Time,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn weight(w: u32) -> DestConf {
    DestConf {
        weight: w,
        ..DestConf::default()
    }
}

fn tcp(vip: &str) -> ServiceKey {
    ServiceKey::Addr {
        proto: Protocol::Tcp,
        addr: ip(vip),
        port: 80,
    }
}

const FWMARK: ServiceKey = ServiceKey::Fwmark {
    family: Family::V4,
    mark: 1,
};

/// A service with scheduler `sched` and flags, its real servers added in the order given
/// (so the kernel list is the reverse).
fn service(
    ipvs: &mut Ipvs,
    key: ServiceKey,
    sched: &str,
    flags: SchedFlags,
    dests: &[(&str, u32)],
) {
    let conf = ServiceConf {
        sched_flags: flags,
        ..ServiceConf::with_scheduler(key.family(), sched)
    };
    ipvs.add_service(key, conf).unwrap();
    for &(addr, w) in dests {
        ipvs.add_dest(&key, ip(addr), 80, weight(w)).unwrap();
    }
}

fn packet(client: &str, cport: u16, vaddr: &str, now_secs: u64) -> SchedInput {
    SchedInput {
        now: Time::from_secs(now_secs),
        ..SchedInput::tcp((ip(client), cport), (ip(vaddr), 80))
    }
}

/// The address of the real server chosen for a packet, or `None`.
fn pick(ipvs: &mut Ipvs, key: &ServiceKey, input: &SchedInput) -> Option<IpAddr> {
    let svc = ipvs.service_mut(key).unwrap();
    let pos = svc.schedule(input)?;
    Some(svc.dests().get(pos).unwrap().addr())
}

fn pos_of(ipvs: &Ipvs, key: &ServiceKey, addr: &str) -> usize {
    ipvs.service(key)
        .unwrap()
        .dests()
        .position(ip(addr), 80)
        .unwrap()
}

fn bind(ipvs: &mut Ipvs, key: &ServiceKey, addr: &str, active: u32) {
    let pos = pos_of(ipvs, key, addr);
    for _ in 0..active {
        ipvs.service_mut(key).unwrap().bind(pos, ConnKind::Active);
    }
}

fn unbind(ipvs: &mut Ipvs, key: &ServiceKey, addr: &str, active: u32) {
    let pos = pos_of(ipvs, key, addr);
    for _ in 0..active {
        ipvs.service_mut(key).unwrap().unbind(pos, ConnKind::Active);
    }
}

/// For every bucket of a 256-bucket table, an IPv4 address that hashes to it.
fn one_address_per_bucket(bucket: impl Fn(u32) -> usize) -> Vec<IpAddr> {
    let mut found: Vec<Option<IpAddr>> = vec![None; 256];
    let mut a = 0xC612_0000u32; // 198.18.0.0
    while found.iter().any(Option::is_none) {
        let b = bucket(a);
        if found[b].is_none() {
            found[b] = Some(IpAddr::from(std::net::Ipv4Addr::from(a)));
        }
        a += 1;
    }
    found.into_iter().map(Option::unwrap).collect()
}

// ---------------------------------------------------------------------------------------- sh

/// 256 real servers of weight 1: bucket i holds list position i, so the position sh returns
/// is the client's bucket.
fn sh_identity_service(v6: bool, flags: SchedFlags) -> (Ipvs, ServiceKey) {
    let mut ipvs = Ipvs::new();
    let key = if v6 {
        tcp("2001:db8::100")
    } else {
        tcp("198.18.0.1")
    };
    let conf = ServiceConf {
        sched_flags: flags,
        ..ServiceConf::with_scheduler(key.family(), "sh")
    };
    ipvs.add_service(key, conf).unwrap();
    for i in 0..256u32 {
        let addr = if v6 {
            IpAddr::from(std::net::Ipv6Addr::new(
                0x2001,
                0xdb8,
                1,
                0,
                0,
                0,
                0,
                i as u16 + 1,
            ))
        } else {
            IpAddr::from(std::net::Ipv4Addr::from(0xC613_0000 + i + 1))
        };
        ipvs.add_dest(&key, addr, 80, weight(1)).unwrap();
    }
    (ipvs, key)
}

#[test]
fn sh_bucket_vectors_of_spec_17() {
    let cases = [
        ("192.168.1.5", 16, 110),
        ("10.1.2.3", 2, 97),
        ("203.0.113.7", 124, 219),
        ("2001:db8::1", 63, 157),
    ];
    for (client, plain, with_port) in cases {
        assert_eq!(
            Sh::bucket_of(fold_addr(&ip(client)), 0, 0),
            plain,
            "{client}"
        );
        assert_eq!(
            Sh::bucket_of(fold_addr(&ip(client)), 12345, 0),
            with_port,
            "{client}"
        );
        let v6 = client.contains(':');
        let vip = if v6 { "2001:db8::100" } else { "198.18.0.1" };
        let (mut ipvs, key) = sh_identity_service(v6, SchedFlags::default());
        let svc = ipvs.service_mut(&key).unwrap();
        assert_eq!(
            svc.schedule(&packet(client, 12345, vip, 0)),
            Some(plain),
            "{client}"
        );
        let (mut ipvs, key) = sh_identity_service(v6, SchedFlags::PORT);
        let svc = ipvs.service_mut(&key).unwrap();
        assert_eq!(
            svc.schedule(&packet(client, 12345, vip, 0)),
            Some(with_port),
            "{client} sh-port"
        );
    }
}

#[test]
fn sh_tiles_by_weight_from_the_list_head() {
    let mut ipvs = Ipvs::new();
    let key = tcp("198.18.0.1");
    // Added A, B, C: the list is [C(2), B(3), A(4)].
    service(
        &mut ipvs,
        key,
        "sh",
        SchedFlags::default(),
        &[("10.0.0.1", 4), ("10.0.0.2", 3), ("10.0.0.3", 2)],
    );
    let letter = |a: IpAddr| match a.to_string().as_str() {
        "10.0.0.1" => 'A',
        "10.0.0.2" => 'B',
        "10.0.0.3" => 'C',
        other => panic!("unexpected {other}"),
    };
    let clients = one_address_per_bucket(|a| Sh::bucket_of(a, 0, 0));
    let tiles: Vec<char> = clients
        .iter()
        .map(|c| {
            letter(pick(&mut ipvs, &key, &packet(&c.to_string(), 1, "198.18.0.1", 0)).unwrap())
        })
        .collect();
    let first20: String = tiles[..20].iter().collect();
    assert_eq!(first20, "CCBBBAAAACCBBBAAAACC");
    let count = |ch| tiles.iter().filter(|&&t| t == ch).count();
    assert_eq!((count('A'), count('B'), count('C')), (112, 86, 58));

    // An edit retiles at once: C to weight 4 gives C C C C B B B A A A A …
    ipvs.edit_dest(&key, ip("10.0.0.3"), 80, weight(4)).unwrap();
    let tiles: String = clients[..11]
        .iter()
        .map(|c| {
            letter(pick(&mut ipvs, &key, &packet(&c.to_string(), 1, "198.18.0.1", 0)).unwrap())
        })
        .collect();
    assert_eq!(tiles, "CCCCBBBAAAA");
}

#[test]
fn sh_unavailable_without_fallback_and_the_two_h_probe_with_it() {
    // List [D, C, B, A], weight 1 each: bucket i holds position i mod 4.
    let dests = [
        ("10.0.0.1", 1),
        ("10.0.0.2", 1),
        ("10.0.0.3", 1),
        ("10.0.0.4", 1),
    ];
    for fallback in [false, true] {
        let mut ipvs = Ipvs::new();
        let key = tcp("198.18.0.1");
        let flags = if fallback {
            SchedFlags::FALLBACK
        } else {
            SchedFlags::default()
        };
        service(&mut ipvs, key, "sh", flags, &dests);
        // 10.1.2.3 hashes to bucket 2: B (10.0.0.2).
        let p = packet("10.1.2.3", 40000, "198.18.0.1", 0);
        assert_eq!(pick(&mut ipvs, &key, &p), Some(ip("10.0.0.2")));
        // B quiesced: weight 0 keeps one bucket per cycle, but is unavailable.
        ipvs.edit_dest(&key, ip("10.0.0.2"), 80, weight(0)).unwrap();
        if !fallback {
            assert_eq!(pick(&mut ipvs, &key, &p), None);
            continue;
        }
        // The first fallback probe is bucket 2·2 + 0 = 4 (D), not bucket 3 (C).
        assert_eq!(pick(&mut ipvs, &key, &p), Some(ip("10.0.0.4")));
        // D overloaded too (upper threshold 1 reached): the next probe, bucket 5, is C.
        let overloadable = DestConf {
            u_threshold: 1,
            ..weight(1)
        };
        ipvs.edit_dest(&key, ip("10.0.0.4"), 80, overloadable)
            .unwrap();
        bind(&mut ipvs, &key, "10.0.0.4", 1);
        assert_eq!(pick(&mut ipvs, &key, &p), Some(ip("10.0.0.3")));
    }
}

#[test]
fn sh_rebuilds_when_a_destination_leaves() {
    let mut ipvs = Ipvs::new();
    let key = tcp("198.18.0.1");
    service(
        &mut ipvs,
        key,
        "sh",
        SchedFlags::default(),
        &[("10.0.0.1", 1), ("10.0.0.2", 1)],
    );
    ipvs.del_dest(&key, ip("10.0.0.2"), 80).unwrap();
    let clients = one_address_per_bucket(|a| Sh::bucket_of(a, 0, 0));
    for c in clients.iter().take(8) {
        let p = packet(&c.to_string(), 1, "198.18.0.1", 0);
        assert_eq!(pick(&mut ipvs, &key, &p), Some(ip("10.0.0.1")));
    }
    ipvs.del_dest(&key, ip("10.0.0.1"), 80).unwrap();
    assert_eq!(
        pick(&mut ipvs, &key, &packet("10.1.2.3", 1, "198.18.0.1", 0)),
        None
    );
}

// ---------------------------------------------------------------------------------------- dh

#[test]
fn dh_hashes_the_packet_destination_and_ignores_weights() {
    let mut ipvs = Ipvs::new();
    // Added A(5), B(1), C(0): list [C, B, A], one bucket each in turn.
    service(
        &mut ipvs,
        FWMARK,
        "dh",
        SchedFlags::default(),
        &[("10.0.0.1", 5), ("10.0.0.2", 1), ("10.0.0.3", 0)],
    );
    let targets = one_address_per_bucket(Dh::bucket_of);
    let expected = [None, Some("10.0.0.2"), Some("10.0.0.1")];
    for (bucket, target) in targets.iter().enumerate() {
        // Any client: only the destination address counts.
        for client in ["198.51.100.1", "198.51.100.2"] {
            let p = packet(client, 1000, &target.to_string(), 0);
            assert_eq!(
                pick(&mut ipvs, &FWMARK, &p),
                expected[bucket % 3].map(ip),
                "bucket {bucket}"
            );
        }
    }
    // OVERLOAD makes the hashed server unavailable; dh has no fallback.
    let overloadable = DestConf {
        u_threshold: 1,
        ..weight(1)
    };
    ipvs.edit_dest(&FWMARK, ip("10.0.0.2"), 80, overloadable)
        .unwrap();
    bind(&mut ipvs, &FWMARK, "10.0.0.2", 1);
    let p = packet("198.51.100.1", 1, &targets[1].to_string(), 0);
    assert_eq!(pick(&mut ipvs, &FWMARK, &p), None);
}

// ---------------------------------------------------------------------------------------- mh

const MH_THREE: [(&str, u32); 3] = [("10.0.0.1", 1), ("10.0.0.2", 1), ("10.0.0.3", 1)];

fn clients_1_to_12() -> Vec<String> {
    (1..=12).map(|i| format!("198.18.0.{i}")).collect()
}

fn picks(ipvs: &mut Ipvs, key: &ServiceKey, cport: u16) -> Vec<Option<String>> {
    clients_1_to_12()
        .iter()
        .map(|c| pick(ipvs, key, &packet(c, cport, "198.18.0.1", 0)).map(|a| a.to_string()))
        .collect()
}

fn names(v: &[&str]) -> Vec<Option<String>> {
    v.iter()
        .map(|s| (!s.is_empty()).then(|| s.to_string()))
        .collect()
}

#[test]
fn mh_permutations_and_slot_counts_of_spec_17() {
    let perms: Vec<(u32, u32)> = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
        .iter()
        .map(|a| permutation(fold_addr(&ip(a)), 80, 4093))
        .collect();
    assert_eq!(perms, vec![(3167, 700), (1231, 3544), (1631, 3453)]);

    let mut ipvs = Ipvs::new();
    let key = tcp("198.18.0.1");
    service(&mut ipvs, key, "mh", SchedFlags::default(), &MH_THREE);
    let dests = ipvs.service(&key).unwrap().dests().clone();
    let table = MhTable::build(&dests, 12).unwrap();
    let counts: Vec<(String, usize)> = table
        .slot_counts()
        .into_iter()
        .map(|(seq, n)| {
            (
                dests
                    .get(dests.position_of_seq(seq).unwrap())
                    .unwrap()
                    .addr()
                    .to_string(),
                n,
            )
        })
        .collect();
    // List order [10.0.0.3, 10.0.0.2, 10.0.0.1]: the head takes the 4093rd slot.
    assert_eq!(
        counts,
        vec![
            ("10.0.0.3".to_string(), 1365),
            ("10.0.0.2".to_string(), 1364),
            ("10.0.0.1".to_string(), 1364)
        ]
    );

    // The scheduler looks clients up in exactly that table.
    let expected = names(&[
        "10.0.0.1", "10.0.0.1", "10.0.0.3", "10.0.0.3", "10.0.0.3", "10.0.0.1", "10.0.0.1",
        "10.0.0.3", "10.0.0.2", "10.0.0.2", "10.0.0.2", "10.0.0.1",
    ]);
    assert_eq!(picks(&mut ipvs, &key, 40000), expected);
    for c in clients_1_to_12() {
        let slot = lookup_slot(fold_addr(&ip(&c)), 0, 0, 4093) as usize;
        let owner = dests.position_of_seq(table.owner(slot).unwrap()).unwrap();
        let svc = ipvs.service_mut(&key).unwrap();
        assert_eq!(svc.schedule(&packet(&c, 1, "198.18.0.1", 0)), Some(owner));
    }
}

#[test]
fn mh_port_flag_hashes_the_client_port() {
    let mut ipvs = Ipvs::new();
    let key = tcp("198.18.0.1");
    service(&mut ipvs, key, "mh", SchedFlags::PORT, &MH_THREE);
    let expected = names(&[
        "10.0.0.1", "10.0.0.1", "10.0.0.3", "10.0.0.1", "10.0.0.3", "10.0.0.3", "10.0.0.3",
        "10.0.0.3", "10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.1",
    ]);
    assert_eq!(picks(&mut ipvs, &key, 40000), expected);
}

#[test]
fn mh_equal_servers_get_floor_or_ceiling_of_m_over_n() {
    for (n, index) in [(7u32, 12u8), (100, 12), (13, 8), (1000, 16)] {
        let dests = lb_core::DestList::from_list_order(
            (0..n)
                .map(|i| {
                    let addr = IpAddr::from(std::net::Ipv4Addr::from(0xC613_0000 + i + 1));
                    lb_core::Destination::detached(addr, 80, DestConf::default(), 0)
                })
                .collect(),
        );
        let table = MhTable::build(&dests, index).unwrap();
        let m = table.size();
        let (lo, hi) = (m / n as usize, m.div_ceil(n as usize));
        let counts = table.slot_counts();
        assert_eq!(counts.len(), n as usize);
        assert!(
            counts.iter().all(|&(_, c)| c == lo || c == hi),
            "n {n} m {m}"
        );
        assert_eq!(counts.iter().map(|c| c.1).sum::<usize>(), m);
        // The remainder goes to the first destinations of the list.
        let extra = m % n as usize;
        assert!(
            counts[..extra].iter().all(|&(_, c)| c == hi)
                && counts[extra..].iter().all(|&(_, c)| c == lo)
        );
    }
}

#[test]
fn mh_weights_in_proportion() {
    let mut ipvs = Ipvs::with_params(SchedParams {
        mh_table_index: 8,
        ..SchedParams::default()
    });
    let key = tcp("198.18.0.1");
    service(
        &mut ipvs,
        key,
        "mh",
        SchedFlags::default(),
        &[("10.0.0.1", 4), ("10.0.0.2", 2), ("10.0.0.3", 1)],
    );
    let table = MhTable::build(ipvs.service(&key).unwrap().dests(), 8).unwrap();
    let counts: Vec<usize> = table.slot_counts().into_iter().map(|c| c.1).collect();
    // Turns 1, 2, 4 per round of 7 over [.3, .2, .1]; 251 = 35·7 + 6.
    assert_eq!(counts, vec![36, 72, 143]);
}

#[test]
fn mh_weight_zero_by_edit_keeps_slots_weight_zero_at_add_has_none() {
    let mut ipvs = Ipvs::new();
    let key = tcp("198.18.0.1");
    service(&mut ipvs, key, "mh", SchedFlags::default(), &MH_THREE);
    let before: Vec<Option<u64>> = MhTable::build(ipvs.service(&key).unwrap().dests(), 12)
        .unwrap()
        .owners()
        .collect();
    // Quiesce 10.0.0.2: last_weight stays 1, the table is the same, its clients get nothing.
    ipvs.edit_dest(&key, ip("10.0.0.2"), 80, weight(0)).unwrap();
    let after: Vec<Option<u64>> = MhTable::build(ipvs.service(&key).unwrap().dests(), 12)
        .unwrap()
        .owners()
        .collect();
    assert_eq!(before, after);
    let expected = names(&[
        "10.0.0.1", "10.0.0.1", "10.0.0.3", "10.0.0.3", "10.0.0.3", "10.0.0.1", "10.0.0.1",
        "10.0.0.3", "", "", "", "10.0.0.1",
    ]);
    assert_eq!(picks(&mut ipvs, &key, 40000), expected);

    // A server added with weight 0 has no slot; the others keep theirs.
    ipvs.add_dest(&key, ip("10.0.0.4"), 80, weight(0)).unwrap();
    let dests = ipvs.service(&key).unwrap().dests().clone();
    let table = MhTable::build(&dests, 12).unwrap();
    let counts: Vec<usize> = table.slot_counts().into_iter().map(|c| c.1).collect();
    assert_eq!(counts, vec![0, 1365, 1364, 1364]);
    assert_eq!(table.owners().collect::<Vec<_>>(), before);

    // Editing it to weight 2 then gives it slots (last_weight 2), and the others share the rest.
    ipvs.edit_dest(&key, ip("10.0.0.4"), 80, weight(2)).unwrap();
    let table = MhTable::build(ipvs.service(&key).unwrap().dests(), 12).unwrap();
    assert!(table.slot_counts()[0].1 > 1364);
}

#[test]
fn mh_fallback_rehashes_each_probe() {
    let mut ipvs = Ipvs::new();
    let key = tcp("198.18.0.1");
    service(&mut ipvs, key, "mh", SchedFlags::FALLBACK, &MH_THREE);
    ipvs.edit_dest(&key, ip("10.0.0.2"), 80, weight(0)).unwrap();
    let expected = names(&[
        "10.0.0.1", "10.0.0.1", "10.0.0.3", "10.0.0.3", "10.0.0.3", "10.0.0.1", "10.0.0.1",
        "10.0.0.3", "10.0.0.3", "10.0.0.1", "10.0.0.1", "10.0.0.1",
    ]);
    assert_eq!(picks(&mut ipvs, &key, 40000), expected);
    // Nobody available: no destination, after at most M probes.
    ipvs.edit_dest(&key, ip("10.0.0.1"), 80, weight(0)).unwrap();
    ipvs.edit_dest(&key, ip("10.0.0.3"), 80, weight(0)).unwrap();
    assert!(picks(&mut ipvs, &key, 40000).iter().all(Option::is_none));
}

#[test]
fn mh_refuses_more_servers_than_slots() {
    let mut ipvs = Ipvs::with_params(SchedParams {
        mh_table_index: 8,
        ..SchedParams::default()
    });
    let key = tcp("198.18.0.1");
    service(&mut ipvs, key, "wlc", SchedFlags::default(), &[]);
    for i in 0..252u32 {
        ipvs.add_dest(
            &key,
            IpAddr::from(std::net::Ipv4Addr::from(0xC613_0000 + i + 1)),
            80,
            weight(1),
        )
        .unwrap();
    }
    let conf = ServiceConf::with_scheduler(Family::V4, "mh");
    assert_eq!(ipvs.edit_service(&key, conf), Err(lb_core::Error::Invalid));
    ipvs.del_dest(&key, ip("198.19.0.1"), 80).unwrap();
    let conf = ServiceConf::with_scheduler(Family::V4, "mh");
    assert_eq!(ipvs.edit_service(&key, conf), Ok(()));
}

#[test]
fn mh_folds_ipv6_real_servers_of_an_ipv4_service_by_the_service_family() {
    let mut ipvs = Ipvs::with_params(SchedParams {
        mh_table_index: 8,
        ..SchedParams::default()
    });
    let key = tcp("198.18.0.1");
    service(
        &mut ipvs,
        key,
        "mh",
        SchedFlags::default(),
        &[("10.0.0.1", 1)],
    );
    let tunnel = DestConf {
        method: FwdMethod::Tunnel,
        ..weight(1)
    };
    ipvs.add_dest(&key, ip("2001:db8::5"), 80, tunnel).unwrap();
    let dests = ipvs.service(&key).unwrap().dests().clone();
    assert_eq!(fold_addr_for(&ip("2001:db8::5"), Family::V4), 0x2001_0db8);
    let mut by_service = MhTable::build(&dests, 8).unwrap();
    let by_own = by_service.clone();
    by_service.rebuild(&dests, Some(Family::V4)).unwrap();
    let differing = by_own
        .owners()
        .zip(by_service.owners())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differing, 86);
    let expected = names(&[
        "2001:db8::5",
        "2001:db8::5",
        "10.0.0.1",
        "10.0.0.1",
        "2001:db8::5",
        "2001:db8::5",
        "2001:db8::5",
        "10.0.0.1",
    ]);
    let got: Vec<Option<String>> = (1..=8)
        .map(|i| {
            let p = packet(&format!("198.18.0.{i}"), 1, "198.18.0.1", 0);
            pick(&mut ipvs, &key, &p).map(|a| a.to_string())
        })
        .collect();
    assert_eq!(got, expected);
}

// ------------------------------------------------------------------------------------- lblc

fn lblc_params() -> SchedParams {
    SchedParams {
        lblc_expiration: 600,
        lblcr_expiration: 600,
        ..SchedParams::default()
    }
}

/// A fwmark service (a transparent cache cluster): A(1), B(10), C(1) added in that order, so
/// the list is [C, B, A].
fn cache_cluster(sched: &str) -> Ipvs {
    let mut ipvs = Ipvs::with_params(lblc_params());
    service(
        &mut ipvs,
        FWMARK,
        sched,
        SchedFlags::default(),
        &[("10.0.0.1", 1), ("10.0.0.2", 10), ("10.0.0.3", 1)],
    );
    ipvs
}

const SITE: &str = "203.0.113.7";

fn lblc_pick(ipvs: &mut Ipvs, site: &str, client: &str, t: u64) -> Option<IpAddr> {
    pick(ipvs, &FWMARK, &packet(client, 40000, site, t))
}

#[test]
fn lblc_caches_by_destination_address_and_repicks_when_overloaded() {
    let mut ipvs = cache_cluster("lblc");
    // No entry: weighted least-connection, ties to the list head.
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0),
        Some(ip("10.0.0.3"))
    );
    // C: 2 active > weight 1, while A has 0·2 < 1: overloaded in lblc's sense → re-pick.
    bind(&mut ipvs, &FWMARK, "10.0.0.3", 2);
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.2", 0),
        Some(ip("10.0.0.2"))
    );
    // B now cached: kept while it is not overloaded, although wlc would choose A.
    bind(&mut ipvs, &FWMARK, "10.0.0.2", 3);
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.3", 0),
        Some(ip("10.0.0.2"))
    );
    // Another site has its own entry: wlc gives A.
    assert_eq!(
        lblc_pick(&mut ipvs, "203.0.113.8", "198.51.100.3", 0),
        Some(ip("10.0.0.1"))
    );
    // The OVERLOAD flag is not consulted for a cached server, only lblc's own criterion.
    let capped = DestConf {
        u_threshold: 3,
        ..weight(10)
    };
    ipvs.edit_dest(&FWMARK, ip("10.0.0.2"), 80, capped).unwrap();
    bind(&mut ipvs, &FWMARK, "10.0.0.2", 1);
    assert!(ipvs
        .service(&FWMARK)
        .unwrap()
        .dests()
        .get(1)
        .unwrap()
        .is_overloaded());
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.3", 0),
        Some(ip("10.0.0.2"))
    );
}

#[test]
fn lblc_entries_expire_at_the_full_sweep() {
    let mut ipvs = cache_cluster("lblc");
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0),
        Some(ip("10.0.0.3"))
    );
    bind(&mut ipvs, &FWMARK, "10.0.0.3", 1);
    // Still cached after 29 collector runs (no sweep yet) and used at 1799 s.
    ipvs.timer(Time::from_secs(1799));
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 1799),
        Some(ip("10.0.0.3"))
    );
    // The sweep at 1800 s keeps it (used 1 s ago)…
    ipvs.timer(Time::from_secs(1800));
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 1800),
        Some(ip("10.0.0.3"))
    );
    // …the next one, at 3600 s, removes it (unused for ≥ 600 s): wlc picks again.
    ipvs.timer(Time::from_secs(3599));
    ipvs.timer(Time::from_secs(3600));
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 3600),
        Some(ip("10.0.0.2"))
    );
}

#[test]
fn lblc_never_returns_a_deleted_server_and_trusts_a_revived_one() {
    let mut ipvs = cache_cluster("lblc");
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0),
        Some(ip("10.0.0.3"))
    );
    bind(&mut ipvs, &FWMARK, "10.0.0.3", 1);
    // Deleted and revived from the trash before any lookup: the kernel's cache holds the
    // same object, AVAILABLE again — the entry is valid (wlc alone would choose B).
    ipvs.del_dest(&FWMARK, ip("10.0.0.3"), 80).unwrap();
    ipvs.add_dest(&FWMARK, ip("10.0.0.3"), 80, weight(1))
        .unwrap();
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0),
        Some(ip("10.0.0.3"))
    );
    // Deleted: not AVAILABLE, so never returned; wlc chooses among the others.
    ipvs.del_dest(&FWMARK, ip("10.0.0.3"), 80).unwrap();
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0),
        Some(ip("10.0.0.2"))
    );
    // Weight 0 by edit: not used, the entry moves to the least loaded.
    ipvs.edit_dest(&FWMARK, ip("10.0.0.2"), 80, weight(0))
        .unwrap();
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0),
        Some(ip("10.0.0.1"))
    );
    // Nobody usable: no destination.
    ipvs.edit_dest(&FWMARK, ip("10.0.0.1"), 80, weight(0))
        .unwrap();
    assert_eq!(lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0), None);
}

// ------------------------------------------------------------------------------------ lblcr

/// R(1), Q(10), P(10) added in that order: the list is [P, Q, R]. The set for SITE is built
/// as {Q, P} (Q newest), last modified at 0, with P idle and Q at 3 active connections.
fn lblcr_two_member_set() -> Ipvs {
    let mut ipvs = Ipvs::with_params(lblc_params());
    service(
        &mut ipvs,
        FWMARK,
        "lblcr",
        SchedFlags::default(),
        &[("10.0.0.1", 1), ("10.0.0.2", 10), ("10.0.0.3", 10)],
    );
    let (p, q) = ("10.0.0.3", "10.0.0.2");
    assert_eq!(lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0), Some(ip(p)));
    // P overloaded (11 > 10 while Q has 0·2 < 10): Q chosen by wlc and added to the set.
    bind(&mut ipvs, &FWMARK, p, 11);
    assert_eq!(lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0), Some(ip(q)));
    unbind(&mut ipvs, &FWMARK, p, 11);
    bind(&mut ipvs, &FWMARK, q, 3);
    // The set's least loaded member: P (0/10 < 768/10).
    assert_eq!(lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0), Some(ip(p)));
    ipvs
}

#[test]
fn lblcr_adds_members_and_picks_the_least_loaded_one() {
    let mut ipvs = lblcr_two_member_set();
    // Q is in the set: with P quiesced, Q (3 ≤ 10, not overloaded) is used, although R is idle.
    ipvs.edit_dest(&FWMARK, ip("10.0.0.3"), 80, weight(0))
        .unwrap();
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 599),
        Some(ip("10.0.0.2"))
    );
}

#[test]
fn lblcr_drops_the_most_loaded_member_of_an_old_set() {
    let mut ipvs = lblcr_two_member_set();
    // Unchanged for more than 600 s: the most loaded member (Q) leaves the set; P is used.
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 601),
        Some(ip("10.0.0.3"))
    );
    // With P quiesced the set has no usable member: wlc over the service picks R.
    ipvs.edit_dest(&FWMARK, ip("10.0.0.3"), 80, weight(0))
        .unwrap();
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 601),
        Some(ip("10.0.0.1"))
    );
}

#[test]
fn lblcr_entries_expire_and_deleted_members_are_not_returned() {
    let mut ipvs = Ipvs::with_params(lblc_params());
    service(
        &mut ipvs,
        FWMARK,
        "lblcr",
        SchedFlags::default(),
        &[("10.0.0.2", 10), ("10.0.0.3", 10)],
    );
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 0),
        Some(ip("10.0.0.3"))
    );
    bind(&mut ipvs, &FWMARK, "10.0.0.3", 3);
    // Cached set {.3}: used although .2 is idle.
    ipvs.timer(Time::from_secs(1799));
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 1799),
        Some(ip("10.0.0.3"))
    );
    // Sweeps at 1800 s (entry used at 1799 s: kept) and 3600 s (unused for 1801 s: removed).
    ipvs.timer(Time::from_secs(1800));
    ipvs.timer(Time::from_secs(3600));
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 3600),
        Some(ip("10.0.0.2"))
    );
    // Set {.2}; .2 deleted: the member is skipped, wlc picks .3 and adds it.
    ipvs.del_dest(&FWMARK, ip("10.0.0.2"), 80).unwrap();
    assert_eq!(
        lblc_pick(&mut ipvs, SITE, "198.51.100.1", 3600),
        Some(ip("10.0.0.3"))
    );
    ipvs.del_dest(&FWMARK, ip("10.0.0.3"), 80).unwrap();
    assert_eq!(lblc_pick(&mut ipvs, SITE, "198.51.100.1", 3600), None);
}

#[test]
fn mh_keeps_its_table_when_refusing_and_never_returns_a_deleted_server() {
    let mut ipvs = Ipvs::with_params(SchedParams {
        mh_table_index: 8,
        ..SchedParams::default()
    });
    let key = tcp("198.18.0.1");
    service(&mut ipvs, key, "mh", SchedFlags::default(), &[]);
    let nth = |i: u32| IpAddr::from(std::net::Ipv4Addr::from(0xC613_0000 + i));
    for i in 1..=251 {
        ipvs.add_dest(&key, nth(i), 80, weight(1)).unwrap();
    }
    let dests = ipvs.service(&key).unwrap().dests().clone();
    let table = MhTable::build(&dests, 8).unwrap();
    let owner_addr = |slot: usize| {
        let seq = table.owner(slot).unwrap();
        dests
            .get(dests.position_of_seq(seq).unwrap())
            .unwrap()
            .addr()
    };
    // 252 and 253 servers: the kernel refuses to rebuild (EINVAL, ignored) and keeps the
    // table; deleting server 1 leaves 252, still refused, so its slots stay in the table.
    ipvs.add_dest(&key, nth(252), 80, weight(1)).unwrap();
    ipvs.add_dest(&key, nth(253), 80, weight(1)).unwrap();
    ipvs.del_dest(&key, nth(1), 80).unwrap();
    let mut orphaned = 0;
    for c in 0..2000u32 {
        let client = IpAddr::from(std::net::Ipv4Addr::from(0xC633_6400 + c));
        let slot = lookup_slot(fold_addr(&client), 0, 0, 251) as usize;
        let expected = Some(owner_addr(slot)).filter(|&a| a != nth(1));
        orphaned += usize::from(expected.is_none());
        let p = SchedInput::tcp((client, 1), (ip("198.18.0.1"), 80));
        assert_eq!(pick(&mut ipvs, &key, &p), expected, "client {client}");
    }
    assert_eq!(orphaned, 8);
    // Back to 251 servers: the rebuild succeeds, one slot each, the new servers included.
    ipvs.del_dest(&key, nth(2), 80).unwrap();
    let dests = ipvs.service(&key).unwrap().dests().clone();
    let table = MhTable::build(&dests, 8).unwrap();
    assert!(table.slot_counts().iter().all(|&(_, n)| n == 1));
    let mut newcomers = 0;
    for c in 0..2000u32 {
        let client = IpAddr::from(std::net::Ipv4Addr::from(0xC633_6400 + c));
        let slot = lookup_slot(fold_addr(&client), 0, 0, 251) as usize;
        let owner = dests
            .get(dests.position_of_seq(table.owner(slot).unwrap()).unwrap())
            .unwrap()
            .addr();
        let p = SchedInput::tcp((client, 1), (ip("198.18.0.1"), 80));
        assert_eq!(pick(&mut ipvs, &key, &p), Some(owner));
        newcomers += usize::from(owner == nth(252) || owner == nth(253));
    }
    assert!(newcomers > 0);
}

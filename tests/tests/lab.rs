//! The lab itself: what it builds goes away when dropped, also when a test panics.

use lb_bin::lab::{run, Lab, LabOptions, Mode};
use lb_tests::{lb_binary, prerequisites, PREFIX};

fn namespaces() -> String {
    run("ip", &["netns", "list"]).expect("ip netns list")
}

#[test]
fn namespaces_and_files_are_removed_on_drop_and_on_panic() {
    if !prerequisites("lab cleanup") {
        return;
    }
    let options = LabOptions {
        prefix: PREFIX.to_string(),
        mode: Mode::Tun,
        real_servers: 2,
        lb: lb_binary(),
    };
    let lab = Lab::build(&options).expect("lab");
    let mut names: Vec<String> = [&lab.client, &lab.director]
        .into_iter()
        .chain(lab.real_servers.iter().map(|s| &s.namespace))
        .map(|ns| ns.name().to_string())
        .collect();
    names.push(lab.director_interfaces[0].peer_namespace.clone());
    let dir = lab.temp_dir().to_path_buf();
    // Five namespaces (client, director, two real servers, router), each named
    // PREFIX-PID-COUNTER-ROLE.
    let pid = std::process::id();
    let roles: Vec<&str> = names
        .iter()
        .map(|n| {
            let rest = n
                .strip_prefix(&format!("{PREFIX}-{pid}-"))
                .unwrap_or_else(|| panic!("{n}"));
            rest.split_once('-').expect("COUNTER-ROLE").1
        })
        .collect();
    assert_eq!(roles, ["client", "director", "rs1", "rs2", "router"]);
    let listed = namespaces();
    for name in &names {
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(&format!("{name} ")) || l == name),
            "{name} in {listed}"
        );
    }
    // The TUN real servers run a decapsulator each.
    for server in &lab.real_servers {
        assert!(!server.namespace.pids().expect("pids").is_empty());
    }
    drop(lab);
    let listed = namespaces();
    for name in &names {
        assert!(!listed.contains(name.as_str()), "{name} still in {listed}");
    }
    assert!(!dir.exists());

    let built = std::sync::Mutex::new(Vec::new());
    let panicked = std::panic::catch_unwind(|| {
        let lab = Lab::build(&LabOptions {
            mode: Mode::Nat,
            ..options.clone()
        })
        .expect("lab");
        built
            .lock()
            .expect("names")
            .push(lab.director.name().to_string());
        panic!("a failing test");
    });
    assert!(panicked.is_err());
    let built = built.into_inner().expect("names");
    assert_eq!(built.len(), 1);
    let listed = namespaces();
    assert!(!listed.contains(built[0].as_str()), "{listed}");
}

/// On a machine without ethtool the lab leaves transmit checksum offload on (the veth
/// default): the client's and the servers' frames then reach the director with partial
/// checksums, which it completes (docs/director.md). `lb demo` relies on this.
#[test]
fn traffic_flows_with_checksum_offload_left_on() {
    if !prerequisites("lab offload on") {
        return;
    }
    let bed = lb_tests::Testbed::new("lab offload on", Mode::Nat, 2);
    if lb_bin::lab::find_program("ethtool").is_some() {
        bed.lab
            .client
            .exec("ethtool", &["-K", "eth0", "tx", "on"])
            .expect("ethtool");
        for server in &bed.lab.real_servers {
            server
                .namespace
                .exec("ethtool", &["-K", "eth0", "tx", "on"])
                .expect("ethtool");
        }
    }
    bed.add_http_service("rr", &[], &[1, 1]);
    assert_eq!(
        bed.curl_many(4),
        lb_tests::expected(&[("rs1\n", 2), ("rs2\n", 2)])
    );
    bed.finish();
}

//! IPIP tunnelling, as in the LVS-TUN tutorial: the real servers are reached by routing,
//! hold the VIP on their tunnel device and answer the client directly. This kernel has no
//! ipip module: `lb realserver setup --mode tun` starts its userspace decapsulator.

use std::net::SocketAddr;
use std::time::Duration;

use lb_bin::lab::{udp_request, Mode, UdpEcho};
use lb_tests::{expected, prerequisites, tally, Testbed};

#[test]
fn tcp_and_udp_services_through_the_tunnel() {
    if !prerequisites("tun tcp+udp") {
        return;
    }
    let bed = Testbed::new("tun tcp+udp", Mode::Tun, 2);
    bed.add_http_service("rr", &[], &[1, 1]);
    assert_eq!(bed.curl_many(10), expected(&[("rs1\n", 5), ("rs2\n", 5)]));

    // A UDP echo on each real server, bound to the VIP so that replies leave from it.
    let udp_vip = SocketAddr::from((bed.lab.vip, 7));
    let echoes: Vec<UdpEcho> = bed
        .lab
        .real_servers
        .iter()
        .map(|server| UdpEcho::start(&server.namespace, udp_vip, &server.name).expect("UDP echo"))
        .collect();
    let vip = udp_vip.to_string();
    bed.ipvsadm(&["-A", "-u", &vip, "-s", "rr"]);
    for n in 1..=2 {
        let rip = bed.rip(n, 7).to_string();
        bed.ipvsadm(&["-a", "-u", &vip, "-r", &rip, "-i", "-w", "1"]);
    }
    let replies = bed
        .lab
        .client
        .run_in(|| {
            (0..10)
                .map(|i| {
                    udp_request(udp_vip, &format!("ping {i}"), Duration::from_secs(3))
                        .map(|reply| reply.split(':').next().unwrap_or_default().to_string())
                        .unwrap_or_else(|e| panic!("{e}\ndirector log:\n{}", bed.director.log()))
                })
                .collect::<Vec<String>>()
        })
        .expect("client namespace");
    assert_eq!(tally(replies), expected(&[("rs1", 5), ("rs2", 5)]));
    assert_eq!(echoes.iter().map(UdpEcho::echoed).sum::<u64>(), 10);
    let listing = bed.ipvsadm(&["-L", "-n"]);
    assert!(
        listing.contains(
            "UDP  198.18.0.100:7 rr\n  \
             -> 198.18.3.11:7                Tunnel  1      0          5         \n  \
             -> 198.18.4.12:7                Tunnel  1      0          5         \n"
        ),
        "{listing}"
    );
    drop(echoes);
    bed.finish();
}

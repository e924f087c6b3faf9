//! NAT (masquerading), as in the LVS-NAT tutorial: the client talks to the VIP, the director
//! rewrites to the real servers (nginx), which route their replies back through it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use lb_bin::lab::Mode;
use lb_tests::{expected, prerequisites, tally, Testbed};

#[test]
fn wrr_3_2_1_splits_60_requests_30_20_10() {
    if !prerequisites("nat wrr") {
        return;
    }
    let bed = Testbed::new("nat wrr", Mode::Nat, 3);
    bed.add_http_service("wrr", &[], &[3, 2, 1]);
    assert_eq!(
        bed.curl_many(60),
        expected(&[("rs1\n", 30), ("rs2\n", 20), ("rs3\n", 10)])
    );
    assert_eq!(
        bed.ipvsadm(&["-L", "-n"]),
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port Scheduler Flags\n  \
         -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
         TCP  198.18.1.100:80 wrr\n  \
         -> 198.18.2.11:80               Masq    3      0          30        \n  \
         -> 198.18.2.12:80               Masq    2      0          20        \n  \
         -> 198.18.2.13:80               Masq    1      0          10        \n"
    );
    bed.finish();
}

#[test]
fn persistence_keeps_each_client_on_its_server() {
    if !prerequisites("nat persistence") {
        return;
    }
    let bed = Testbed::new("nat persistence", Mode::Nat, 3);
    // A second client address on the client's host.
    let second = Ipv4Addr::new(198, 18, 1, 3);
    bed.lab
        .client
        .add_address("eth0", "198.18.1.3/24")
        .expect("second client address");
    bed.add_http_service("rr", &["-p", "360"], &[1, 1, 1]);
    let first_client = tally((0..6).map(|_| bed.curl(Some(bed.lab.client_addr))));
    let second_client = tally((0..6).map(|_| bed.curl(Some(second))));
    // Without -p, rr would spread each client's six connections over all three servers.
    assert_eq!(first_client.len(), 1, "{first_client:?}");
    assert_eq!(second_client.len(), 1, "{second_client:?}");
    assert_eq!(first_client.values().sum::<usize>(), 6);
    assert_eq!(second_client.values().sum::<usize>(), 6);
    assert_ne!(
        first_client.keys().next(),
        second_client.keys().next(),
        "rr sends the second client's first connection to the next server"
    );
    let listing = bed.ipvsadm(&["-L", "-n"]);
    assert!(
        listing.contains("TCP  198.18.1.100:80 rr persistent 360\n"),
        "{listing}"
    );
    bed.finish();
}

/// One HTTP/1.1 request on an open connection; the body (nginx's `rsN\n`).
fn keepalive_request(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: lb\r\n\r\n")
        .expect("request written");
    let mut reply = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).expect("reply read");
        assert!(
            n > 0,
            "connection closed: {}",
            String::from_utf8_lossy(&reply)
        );
        reply.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&reply).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .expect("Content-Length")
                .trim()
                .parse()
                .expect("a length");
            if body.len() >= length {
                assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
                return body.to_string();
            }
        }
    }
}

#[test]
fn weight_0_takes_no_new_connections_but_an_open_one_continues() {
    if !prerequisites("nat weight 0") {
        return;
    }
    let bed = Testbed::new("nat weight 0", Mode::Nat, 3);
    bed.add_http_service("rr", &[], &[1, 1, 1]);
    let vip = SocketAddr::V4(bed.http_vip());
    bed.lab
        .client
        .run_in(|| {
            let mut stream =
                TcpStream::connect_timeout(&vip, Duration::from_secs(5)).expect("connected");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout set");
            let server = keepalive_request(&mut stream);
            let n = server.trim_end().trim_start_matches("rs");
            let n: usize = n.parse().expect("rsN");
            let rip = bed.rip(n, 80).to_string();
            bed.ipvsadm(&["-e", "-t", &vip.to_string(), "-r", &rip, "-m", "-w", "0"]);
            // New connections (curl) go to the two others only.
            let others = bed.curl_many(10);
            assert_eq!(others.len(), 2, "{others:?}");
            assert!(!others.contains_key(&server), "{others:?}");
            assert_eq!(others.values().copied().collect::<Vec<_>>(), [5, 5]);
            // The open connection still reaches its server.
            for _ in 0..3 {
                assert_eq!(keepalive_request(&mut stream), server);
            }
        })
        .expect("client namespace");
    bed.finish();
}

#[test]
fn deleting_a_server_under_traffic_moves_new_connections_to_the_others() {
    if !prerequisites("nat delete") {
        return;
    }
    let bed = Testbed::new("nat delete", Mode::Nat, 3);
    bed.add_http_service("rr", &[], &[1, 1, 1]);
    const REQUESTS: usize = 30;
    let done = AtomicUsize::new(0);
    let answers = Mutex::new(Vec::new());
    let deleted_after = std::thread::scope(|scope| {
        scope.spawn(|| {
            for index in 0..REQUESTS {
                let body = bed.curl(None);
                answers.lock().expect("answers").push((index, body));
                done.store(index + 1, Ordering::SeqCst);
            }
        });
        // Delete rs2 once a third of the traffic has gone (bounded wait).
        lb_bin::lab::wait_until("10 requests answered", Duration::from_secs(30), || {
            done.load(Ordering::SeqCst) >= 10
        })
        .expect("traffic flowing");
        let vip = bed.http_vip().to_string();
        let rip = bed.rip(2, 80).to_string();
        bed.ipvsadm(&["-d", "-t", &vip, "-r", &rip]);
        done.load(Ordering::SeqCst)
    });
    let answers = answers.into_inner().expect("answers");
    assert_eq!(answers.len(), REQUESTS, "every request answered");
    // A request that was under way while rs2 was deleted may still have gone there; every
    // later one goes to rs1 or rs3.
    let later: Vec<&String> = answers
        .iter()
        .filter(|(index, _)| *index > deleted_after)
        .map(|(_, body)| body)
        .collect();
    assert!(later.len() >= 10, "{deleted_after}");
    assert!(
        later
            .iter()
            .all(|body| *body == "rs1\n" || *body == "rs3\n"),
        "{later:?}"
    );
    let listing = bed.ipvsadm(&["-L", "-n"]);
    assert!(!listing.contains("198.18.2.12:80"), "{listing}");
    bed.finish();
}

//! `lb sim` end to end: the binary run on scripts, output and exit status checked exactly.

use std::io::Write;
use std::process::{Command, Stdio};

fn lb_sim(args: &[&str], stdin: &str) -> (String, String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lb"))
        .arg("sim")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lb runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

fn picks(out: &str) -> String {
    out.lines()
        .map(|l| match l {
            "198.19.0.1:80" => 'A',
            "198.19.0.2:80" => 'B',
            "198.19.0.3:80" => 'C',
            "-" => '-',
            other => panic!("unexpected line {other:?}"),
        })
        .collect()
}

fn connects(n: usize) -> String {
    connects_from(1000, n)
}

fn connects_from(first_port: usize, n: usize) -> String {
    (0..n)
        .map(|i| format!("connect -t 198.18.0.1:80 198.18.1.1:{}\n", first_port + i))
        .collect()
}

/// spec §17, wrr: the sequences of the kernel, from ipvsadm commands.
#[test]
fn wrr_vectors_of_section_17() {
    let add = "-A -t 198.18.0.1:80 -s wrr\n\
               -a -t 198.18.0.1:80 -r 198.19.0.1:80 -m -w 4\n\
               -a -t 198.18.0.1:80 -r 198.19.0.2:80 -m -w 3\n\
               -a -t 198.18.0.1:80 -r 198.19.0.3:80 -m -w 2\n";
    // Built with -A then -a: list order C, B, A and cw starting at 1.
    let (out, err, code) = lb_sim(&[], &format!("{add}{}", connects(18)));
    assert_eq!((err.as_str(), code), ("", 0));
    assert_eq!(picks(&out), "CBAABACBACBAABACBA");

    // State initialised with all three present (-E to wrr after the adds): with the list
    // order named A', B', C' = C, B, A this is §17's A'A'B'A'B'C'… for weights [4,3,2]
    // in list order [A(4), B(3), C(2)].
    let list_order = "-A -t 198.18.0.1:80 -s rr\n\
                      -a -t 198.18.0.1:80 -r 198.19.0.3:80 -m -w 2\n\
                      -a -t 198.18.0.1:80 -r 198.19.0.2:80 -m -w 3\n\
                      -a -t 198.18.0.1:80 -r 198.19.0.1:80 -m -w 4\n\
                      -E -t 198.18.0.1:80 -s wrr\n";
    let (out, _, code) = lb_sim(&[], &format!("{list_order}{}", connects(18)));
    assert_eq!(code, 0);
    assert_eq!(picks(&out), "AABABCABCAABABCABC");

    for (weights, expect) in [
        ("4 2", "AABAAB"),
        ("5 1", "AAAAABAAAAAB"),
        ("1 1 1", "ABCABC"),
    ] {
        let ws: Vec<&str> = weights.split(' ').collect();
        let mut s = String::from("-A -t 198.18.0.1:80 -s rr\n");
        // Add in reverse so that list order is A, B, C.
        for (i, w) in ws.iter().enumerate().rev() {
            s += &format!("-a -t 198.18.0.1:80 -r 198.19.0.{}:80 -m -w {w}\n", i + 1);
        }
        s += "-E -t 198.18.0.1:80 -s wrr\n";
        s += &connects(expect.len());
        let (out, _, code) = lb_sim(&[], &s);
        assert_eq!(code, 0);
        assert_eq!(picks(&out), expect, "weights {weights}");
    }
}

#[test]
fn rr_starts_with_the_newest_and_skips_quiesced() {
    let s = "-A -t 198.18.0.1:80 -s rr\n\
             -a -t 198.18.0.1:80 -r 198.19.0.1:80 -m\n\
             -a -t 198.18.0.1:80 -r 198.19.0.2:80 -m\n\
             -a -t 198.18.0.1:80 -r 198.19.0.3:80 -m\n"
        .to_string()
        + &connects(4)
        + "-e -t 198.18.0.1:80 -r 198.19.0.2:80 -m -w 0\n"
        + &connects_from(2000, 3)
        + "-d -t 198.18.0.1:80 -r 198.19.0.1:80\n-d -t 198.18.0.1:80 -r 198.19.0.3:80\n"
        + &connects_from(3000, 1);
    let (out, err, code) = lb_sim(&[], &s);
    assert_eq!((err.as_str(), code), ("", 0));
    assert_eq!(picks(&out), "CBACACA-");
}

#[test]
fn connect_close_and_listing() {
    let s = "\
# wlc: the second connection goes to .1 (256*1 > 0*3), the others to .2
-A -t 198.18.0.1:80 -s wlc
-a -t 198.18.0.1:80 -r 198.19.0.1:80 -m -x 2
-a -t 198.18.0.1:80 -r 198.19.0.2:80 -m -w 3
-A -u 198.18.0.1:53 -s rr
-a -u 198.18.0.1:53 -r [2001:db8::11]:53 -i
connect -t 198.18.0.1:80 198.18.1.1:1000
connect -t 198.18.0.1:80 198.18.1.1:1001
connect -t 198.18.0.1:80 198.18.1.1:1002
connect -t 198.18.0.1:80 198.18.1.1:1003
connect -t 198.18.0.1:80 198.18.1.1:1000
connect -u 198.18.0.1:53 198.18.1.1:5353
close 198.18.1.1:1001 -t 198.18.0.1:80
-L -n
-L -n --stats
";
    // The closed NAT connection stays in TIME_WAIT (inactive) until it expires. Each TCP
    // connect is SYN, ACK in (40 bytes each) and SYN-ACK out; the second connect of port
    // 1000 sends its packets along the open connection; the close is FIN, ACK in, FIN out.
    let expect = "\
198.19.0.2:80
198.19.0.1:80
198.19.0.2:80
198.19.0.2:80
198.19.0.2:80
[2001:db8::11]:53
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  198.18.0.1:80 wlc
  -> 198.19.0.1:80                Masq    1      0          1         
  -> 198.19.0.2:80                Masq    3      3          0         
UDP  198.18.0.1:53 rr
  -> [2001:db8::11]:53            Tunnel  1      0          1         
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  198.18.0.1:80                       4       12        6      480      240
  -> 198.19.0.1:80                       1        4        2      160       80
  -> 198.19.0.2:80                       3        8        4      320      160
UDP  198.18.0.1:53                       1        1        0       28        0
  -> [2001:db8::11]:53                   1        1        0       28        0
";
    assert_eq!(run_ok(s), expect);
}

fn run_ok(script: &str) -> String {
    let (out, err, code) = lb_sim(&[], script);
    assert_eq!((err.as_str(), code), ("", 0), "{script}");
    out
}

/// spec §6.2: a persistent port-0 service gives a client one server for all its ports; the
/// template outlives the client's connections by the persistence timeout, then the client
/// is scheduled afresh. A template still controlling connections is re-armed for 60 s.
#[test]
fn port_zero_persistence_and_template_expiry() {
    let s = "\
-A -t 198.18.0.1:0 -s rr -p 360
-a -t 198.18.0.1:0 -r 198.19.0.1 -g
-a -t 198.18.0.1:0 -r 198.19.0.2 -g
connect -t 198.18.0.1:80 198.18.1.1:1000
connect -t 198.18.0.1:443 198.18.1.1:1001
connect -t 198.18.0.1:80 198.18.1.2:1000
connect -t 198.18.0.1:443 198.18.1.2:1001
-L -n -c
close 198.18.1.1:1000 -t 198.18.0.1:80
close 198.18.1.1:1001 -t 198.18.0.1:443
advance 10
-L -n -c
-L -n
advance 351
-L -n -c
-L -n
connect -t 198.18.0.1:80 198.18.1.3:1000
connect -t 198.18.0.1:80 198.18.1.1:1002
";
    let expect = "\
198.19.0.2:80|
198.19.0.2:443|
198.19.0.1:80|
198.19.0.1:443|
IPVS connection entries|
pro expire state       source             virtual            destination|
TCP 06:00  ASSURED     198.18.1.1:0       198.18.0.1:0       198.19.0.2:0|
TCP 15:00  ESTABLISHED 198.18.1.1:1000    198.18.0.1:80      198.19.0.2:80|
TCP 15:00  ESTABLISHED 198.18.1.1:1001    198.18.0.1:443     198.19.0.2:443|
TCP 06:00  ASSURED     198.18.1.2:0       198.18.0.1:0       198.19.0.1:0|
TCP 15:00  ESTABLISHED 198.18.1.2:1000    198.18.0.1:80      198.19.0.1:80|
TCP 15:00  ESTABLISHED 198.18.1.2:1001    198.18.0.1:443     198.19.0.1:443|
IPVS connection entries|
pro expire state       source             virtual            destination|
TCP 05:50  ASSURED     198.18.1.1:0       198.18.0.1:0       198.19.0.2:0|
TCP 01:50  FIN_WAIT    198.18.1.1:1000    198.18.0.1:80      198.19.0.2:80|
TCP 01:50  FIN_WAIT    198.18.1.1:1001    198.18.0.1:443     198.19.0.2:443|
TCP 05:50  ASSURED     198.18.1.2:0       198.18.0.1:0       198.19.0.1:0|
TCP 14:50  ESTABLISHED 198.18.1.2:1000    198.18.0.1:80      198.19.0.1:80|
TCP 14:50  ESTABLISHED 198.18.1.2:1001    198.18.0.1:443     198.19.0.1:443|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port Scheduler Flags|
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|
TCP  198.18.0.1:0 rr persistent 360|
  -> 198.19.0.1:0                 Route   1      2          0         |
  -> 198.19.0.2:0                 Route   1      0          2         |
IPVS connection entries|
pro expire state       source             virtual            destination|
TCP 00:59  ASSURED     198.18.1.2:0       198.18.0.1:0       198.19.0.1:0|
TCP 08:59  ESTABLISHED 198.18.1.2:1000    198.18.0.1:80      198.19.0.1:80|
TCP 08:59  ESTABLISHED 198.18.1.2:1001    198.18.0.1:443     198.19.0.1:443|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port Scheduler Flags|
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|
TCP  198.18.0.1:0 rr persistent 360|
  -> 198.19.0.1:0                 Route   1      2          0         |
  -> 198.19.0.2:0                 Route   1      0          0         |
198.19.0.2:80|
198.19.0.1:80|
";
    assert_eq!(run_ok(s), expect.replace("|\n", "\n"));
}

/// spec §6.2: a persistent firewall-mark service gives a client one server across every
/// address and port carrying the mark; its template is protocol IP with the mark as the
/// virtual address.
#[test]
fn fwmark_persistence() {
    let s = "\
-A -f 1 -s rr -p 1800
-a -f 1 -r 198.19.0.1:0 -m
-a -f 1 -r 198.19.0.2:0 -m
connect -f 1 198.18.1.5:52134 198.18.0.1:80
connect -f 1 198.18.1.5:52135 198.18.0.2:443
connect -f 1 198.18.1.6:40000 198.18.0.1:80
connect -f 1 198.18.1.6:40001 198.18.0.2:443
advance 5
-L -n -c
-L -n
";
    let expect = "\
198.19.0.2:80|
198.19.0.2:443|
198.19.0.1:80|
198.19.0.1:443|
IPVS connection entries|
pro expire state       source             virtual            destination|
IP  29:55  ASSURED     198.18.1.5:0       0.0.0.1:0          198.19.0.2:0|
TCP 14:55  ESTABLISHED 198.18.1.5:52134   198.18.0.1:80      198.19.0.2:80|
TCP 14:55  ESTABLISHED 198.18.1.5:52135   198.18.0.2:443     198.19.0.2:443|
IP  29:55  ASSURED     198.18.1.6:0       0.0.0.1:0          198.19.0.1:0|
TCP 14:55  ESTABLISHED 198.18.1.6:40000   198.18.0.1:80      198.19.0.1:80|
TCP 14:55  ESTABLISHED 198.18.1.6:40001   198.18.0.2:443     198.19.0.1:443|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port Scheduler Flags|
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|
FWM  1 rr persistent 1800|
  -> 198.19.0.1:0                 Masq    1      2          0         |
  -> 198.19.0.2:0                 Masq    1      2          0         |
";
    assert_eq!(run_ok(s), expect.replace("|\n", "\n"));
}

/// spec §5.2: closing a NAT connection (the director sees both FINs) leaves it in
/// TIME_WAIT, a direct-routing one (client side only) in FIN_WAIT; SCTP's SHUTDOWN sequence
/// ends in CLOSED; UDP stays until its 300 s run out.
#[test]
fn states_and_expiry_by_forwarding_method_and_protocol() {
    let s = "\
-A -t 198.18.0.1:80 -s rr
-a -t 198.18.0.1:80 -r 198.19.0.1:8080 -m
-a -t 198.18.0.1:80 -r 198.19.0.2:80 -g
-A -u 198.18.0.1:53 -s rr
-a -u 198.18.0.1:53 -r 198.19.0.3 -i
-A --sctp-service 198.18.0.1:2905 -s rr
-a --sctp-service 198.18.0.1:2905 -r 198.19.0.1 -m
connect -t 198.18.0.1:80 198.18.1.1:1000
connect -t 198.18.0.1:80 198.18.1.1:1001
connect -u 198.18.0.1:53 198.18.1.1:5353
connect --sctp-service 198.18.0.1:2905 198.18.1.1:2905
-L -n -c
advance 30
close 198.18.1.1:1000 -t 198.18.0.1:80
close 198.18.1.1:1001 -t 198.18.0.1:80
close 198.18.1.1:2905 --sctp-service 198.18.0.1:2905
-L -n -c
-L -n
advance 61
-L -n -c
advance 59
-L -n -c
-L -n
";
    let expect = "\
198.19.0.2:80|
198.19.0.1:8080|
198.19.0.3:53|
198.19.0.1:2905|
IPVS connection entries|
pro expire state       source             virtual            destination|
TCP 15:00  ESTABLISHED 198.18.1.1:1000    198.18.0.1:80      198.19.0.2:80|
TCP 15:00  ESTABLISHED 198.18.1.1:1001    198.18.0.1:80      198.19.0.1:8080|
SCTP 15:00  ESTABLISHED 198.18.1.1:2905    198.18.0.1:2905    198.19.0.1:2905|
UDP 05:00  UDP         198.18.1.1:5353    198.18.0.1:53      198.19.0.3:53|
IPVS connection entries|
pro expire state       source             virtual            destination|
TCP 02:00  FIN_WAIT    198.18.1.1:1000    198.18.0.1:80      198.19.0.2:80|
TCP 02:00  TIME_WAIT   198.18.1.1:1001    198.18.0.1:80      198.19.0.1:8080|
SCTP 01:01  CLOSED      198.18.1.1:2905    198.18.0.1:2905    198.19.0.1:2905|
UDP 04:30  UDP         198.18.1.1:5353    198.18.0.1:53      198.19.0.3:53|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port Scheduler Flags|
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|
TCP  198.18.0.1:80 rr|
  -> 198.19.0.1:8080              Masq    1      0          1         |
  -> 198.19.0.2:80                Route   1      0          1         |
UDP  198.18.0.1:53 rr|
  -> 198.19.0.3:53                Tunnel  1      0          1         |
SCTP 198.18.0.1:2905 rr|
  -> 198.19.0.1:2905              Masq    1      0          1         |
IPVS connection entries|
pro expire state       source             virtual            destination|
TCP 00:59  FIN_WAIT    198.18.1.1:1000    198.18.0.1:80      198.19.0.2:80|
TCP 00:59  TIME_WAIT   198.18.1.1:1001    198.18.0.1:80      198.19.0.1:8080|
UDP 03:29  UDP         198.18.1.1:5353    198.18.0.1:53      198.19.0.3:53|
IPVS connection entries|
pro expire state       source             virtual            destination|
UDP 02:30  UDP         198.18.1.1:5353    198.18.0.1:53      198.19.0.3:53|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port Scheduler Flags|
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|
TCP  198.18.0.1:80 rr|
  -> 198.19.0.1:8080              Masq    1      0          0         |
  -> 198.19.0.2:80                Route   1      0          0         |
UDP  198.18.0.1:53 rr|
  -> 198.19.0.3:53                Tunnel  1      0          1         |
SCTP 198.18.0.1:2905 rr|
  -> 198.19.0.1:2905              Masq    1      0          0         |
";
    assert_eq!(run_ok(s), expect.replace("|\n", "\n"));
}

/// spec §5.1: `--set` changes the timeouts of connections entering those states from now
/// on; a connection already armed keeps its timer. Then what `connect` prints when nothing
/// is forwarded.
#[test]
fn set_timeouts_and_unforwarded_connects() {
    let s = "\
-A -t 198.18.0.1:80 -s rr
-a -t 198.18.0.1:80 -r 198.19.0.1 -g
connect -t 198.18.0.1:80 198.18.1.1:1000
-L --timeout
--set 10 5 0
-L --timeout
connect -t 198.18.0.1:80 198.18.1.1:1001
connect -t 198.18.0.1:80 198.18.1.1:1002
close 198.18.1.1:1002 -t 198.18.0.1:80
-L -n -c
advance 5
-L -n -c
advance 6
-L -n -c
-L -n
-d -t 198.18.0.1:80 -r 198.19.0.1
connect -t 198.18.0.1:80 198.18.1.1:1000
connect -t 198.18.0.1:80 198.18.1.1:1003
";
    let expect = "\
198.19.0.1:80|
Timeout (tcp tcpfin udp): 900 120 300|
Timeout (tcp tcpfin udp): 10 5 300|
198.19.0.1:80|
198.19.0.1:80|
IPVS connection entries|
pro expire state       source             virtual            destination|
TCP 15:00  ESTABLISHED 198.18.1.1:1000    198.18.0.1:80      198.19.0.1:80|
TCP 00:10  ESTABLISHED 198.18.1.1:1001    198.18.0.1:80      198.19.0.1:80|
TCP 00:05  FIN_WAIT    198.18.1.1:1002    198.18.0.1:80      198.19.0.1:80|
IPVS connection entries|
pro expire state       source             virtual            destination|
TCP 14:55  ESTABLISHED 198.18.1.1:1000    198.18.0.1:80      198.19.0.1:80|
TCP 00:05  ESTABLISHED 198.18.1.1:1001    198.18.0.1:80      198.19.0.1:80|
IPVS connection entries|
pro expire state       source             virtual            destination|
TCP 14:49  ESTABLISHED 198.18.1.1:1000    198.18.0.1:80      198.19.0.1:80|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port Scheduler Flags|
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn|
TCP  198.18.0.1:80 rr|
  -> 198.19.0.1:80                Route   1      1          0         |
- (dropped: dest-unavailable)|
-|
";
    assert_eq!(run_ok(s), expect.replace("|\n", "\n"));
}

/// spec §10: counters, the 2-second estimator's EWMA and its rounding, and -Z. 40 NAT
/// connections at time 0, each SYN + ACK in (2 x 40 bytes) and SYN-ACK out (40 bytes).
/// At 2 s: avg = 40 x 2^9 / 4 = 5120 → CPS (5120 + 511) >> 10 = 5; InPPS 10; InBPS
/// avg = 3200 x 2^4 / 4 = 12800 → (12800 + 15) >> 5 = 400. At 4 s, no traffic: each avg
/// loses a quarter: CPS (3840 + 511) >> 10 = 4, InPPS (7680 + 511) >> 10 = 7, InBPS 300.
#[test]
fn stats_rates_and_zero() {
    let mut s = String::from(
        "-A -t 198.18.0.1:80 -s rr\n\
         -a -t 198.18.0.1:80 -r 198.19.0.1:8080 -m\n\
         -a -t 198.18.0.1:80 -r 198.19.0.2:8080 -m\n",
    );
    for port in 1000..1040 {
        s += &format!("connect -t 198.18.0.1:80 198.18.1.1:{port}\n");
    }
    s += "advance 2\n-L -n --stats\n-L -n --rate\nadvance 2\n-L -n --rate\n\
          -Z\n-L -n --stats\n-L -n --rate\n\
          connect -t 198.18.0.1:80 198.18.1.1:2000\n-L -n --stats\n";
    let out = run_ok(&s);
    let picks: Vec<&str> = out.lines().take(40).collect();
    let expect_picks: Vec<&str> = (0..40)
        .map(|i| {
            if i % 2 == 0 {
                "198.19.0.2:8080"
            } else {
                "198.19.0.1:8080"
            }
        })
        .collect();
    assert_eq!(picks, expect_picks);
    let listings: Vec<&str> = out.lines().skip(40).collect();
    let expect = "\
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes|
  -> RemoteAddress:Port|
TCP  198.18.0.1:80                      40       80       40     3200     1600|
  -> 198.19.0.1:8080                    20       40       20     1600      800|
  -> 198.19.0.2:8080                    20       40       20     1600      800|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS|
  -> RemoteAddress:Port|
TCP  198.18.0.1:80                       5       10        5      400      200|
  -> 198.19.0.1:8080                     2        5        2      200      100|
  -> 198.19.0.2:8080                     2        5        2      200      100|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS|
  -> RemoteAddress:Port|
TCP  198.18.0.1:80                       4        7        4      300      150|
  -> 198.19.0.1:8080                     2        4        2      150       75|
  -> 198.19.0.2:8080                     2        4        2      150       75|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes|
  -> RemoteAddress:Port|
TCP  198.18.0.1:80                       0        0        0        0        0|
  -> 198.19.0.1:8080                     0        0        0        0        0|
  -> 198.19.0.2:8080                     0        0        0        0        0|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS|
  -> RemoteAddress:Port|
TCP  198.18.0.1:80                       0        0        0        0        0|
  -> 198.19.0.1:8080                     0        0        0        0        0|
  -> 198.19.0.2:8080                     0        0        0        0        0|
198.19.0.2:8080|
IP Virtual Server version 1.2.1 (size=4096)|
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes|
  -> RemoteAddress:Port|
TCP  198.18.0.1:80                       1        2        1       80       40|
  -> 198.19.0.1:8080                     0        0        0        0        0|
  -> 198.19.0.2:8080                     1        2        1       80       40|";
    assert_eq!(listings.join("|\n") + "|", expect);
}

/// spec §2.1: a SYN on a closed connection. NAT left it in TIME_WAIT, which IPVS replaces
/// by a newly scheduled one (`conn_reuse_mode` 1); direct routing left it in FIN_WAIT,
/// which the SYN reopens on the same server.
#[test]
fn reconnect_after_close() {
    for (method, expect) in [
        (
            "-m",
            "198.19.0.2:80|\n198.19.0.1:80|\n\
IPVS connection entries|\n\
pro expire state       source             virtual            destination|\n\
TCP 15:00  ESTABLISHED 198.18.1.1:1       198.18.0.1:80      198.19.0.1:80|\n\
TCP  198.18.0.1:80                       2        6        3      240      120|\n",
        ),
        (
            "-g",
            "198.19.0.2:80|\n198.19.0.2:80|\n\
IPVS connection entries|\n\
pro expire state       source             virtual            destination|\n\
TCP 15:00  ESTABLISHED 198.18.1.1:1       198.18.0.1:80      198.19.0.2:80|\n\
TCP  198.18.0.1:80                       1        6        0      240        0|\n",
        ),
    ] {
        let s = format!(
            "-A -t 198.18.0.1:80 -s rr\n\
             -a -t 198.18.0.1:80 -r 198.19.0.1 {method}\n\
             -a -t 198.18.0.1:80 -r 198.19.0.2 {method}\n\
             connect -t 198.18.0.1:80 198.18.1.1:1\n\
             close 198.18.1.1:1 -t 198.18.0.1:80\n\
             connect -t 198.18.0.1:80 198.18.1.1:1\n\
             -L -n -c\n\
             -L -n --stats -t 198.18.0.1:80\n"
        );
        let out = run_ok(&s);
        // The service line of the --stats listing (after its two title lines).
        let lines: Vec<&str> = out.lines().collect();
        let kept: Vec<&str> = lines[..5].iter().chain(&lines[7..8]).copied().collect();
        assert_eq!(kept.join("|\n") + "|\n", expect, "{method}");
    }
}

#[test]
fn bad_lines_stop_with_the_line_number_and_status_2() {
    for (script, msg) in [
        (
            "-A -t 198.18.0.1:80\n-A -t 198.18.0.1:80\n",
            "line 2: Service already exists",
        ),
        (
            "-A -t 198.18.0.1:0\n",
            "line 1: Zero port specified for non-persistent service",
        ),
        (
            "\n# x\n-a -t 198.18.0.1:80 -r 198.19.0.1\n",
            "line 3: Service not defined",
        ),
        (
            "-A -t 198.18.0.1:80\n-a -t 198.18.0.1:80 -r 198.19.0.1 -x 1 -y 2\n",
            "line 2: Numerical result out of range",
        ),
        (
            "-A -t 198.18.0.1:80\n-d -t 198.18.0.1:80 -r 198.19.0.1\n",
            "line 2: No such destination",
        ),
        ("-A -t 198.18.0.1:80 -w 2\n", "line 1: Illegal 'weight' option with the 'add-service' command"),
        ("connect 198.18.1.1:1\n", "line 1: usage: connect -t|-u|--sctp-service VIP:PORT CLIENT:PORT, or connect -f MARK CLIENT:PORT [DADDR:DPORT]"),
    ] {
        let (out, err, code) = lb_sim(&[], script);
        assert_eq!(code, 2, "{script}");
        assert_eq!(out, "");
        assert_eq!(err, format!("lb sim: <stdin>: {msg}\n"), "{script}");
    }
}

#[test]
fn example_scripts_run() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/sim/");
    for f in ["compare.lbsim", "persistence.lbsim", "wrr-vectors.lbsim"] {
        let (out, err, code) = lb_sim(&[&format!("{root}{f}")], "");
        assert_eq!((err.as_str(), code), ("", 0), "{f}");
        assert!(out.contains("IP Virtual Server version 1.2.1 (size=4096)\n"));
    }
}

#[test]
fn workload_compares_schedulers_and_writes_svg() {
    let dir = std::env::temp_dir().join(format!("lb-sim-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("w.svg");
    let (out, err, code) = lb_sim(
        &[
            "--workload",
            "--schedulers",
            "rr,wrr",
            "--weights",
            "2,1",
            "--conns",
            "300",
            "--svg",
            svg.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 6);
    assert!(lines[2].starts_with("rr     198.19.0.11:80        2      150   50.0%   66.7%"));
    assert!(lines[4].starts_with("wrr    198.19.0.11:80        2      200   66.7%   66.7%"));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
    let (_, err, code) = lb_sim(&["--workload", "--schedulers", "zz"], "");
    assert_eq!(code, 2);
    assert!(err.starts_with("lb sim: unknown scheduler `zz' (valid: rr wrr"));
}

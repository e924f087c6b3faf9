//! ipvsadm's command line, listings and save format against ipvsadm 1.31's exact output
//! (spec §13.5 examples, §13.6 errors, §16 quirks).

use std::net::IpAddr;

use lb_core::estimator::Rates;
use lb_core::ipvsadm::{
    self, apply, help_text, list, list_all, list_connections, list_service, parse, parse_line,
    restore, save, tokenize_line, version_text, Command, ConnEntry, DaemonConf, DaemonState,
    ListContext, ListFormat, ListOptions, ListTarget, NumericOnly, ParseError, PoptError, Resolver,
    Timeouts, WellKnownServices,
};
use lb_core::{
    ConnKind, Counters, DestConf, Destination, Error, Family, FwdMethod, Ipvs, Protocol,
    SchedFlags, Service, ServiceConf, ServiceKey, TunnelConf, TunnelCsum, TunnelType,
};

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn cmd(line: &str) -> Command {
    match parse(&words(line)) {
        Ok(c) => c,
        Err(e) => panic!("`{line}` refused: {e}"),
    }
}

fn refused(line: &str) -> (String, i32) {
    match parse(&words(line)) {
        Ok(c) => panic!("`{line}` accepted: {c:?}"),
        Err(e) => (e.to_string(), e.exit_code()),
    }
}

fn run(ipvs: &mut Ipvs, line: &str) {
    assert_eq!(apply(ipvs, &cmd(line)), Ok(true), "{line}");
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        proto: Protocol::Tcp,
        addr: ip(addr),
        port,
    }
}

fn udp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        proto: Protocol::Udp,
        addr: ip(addr),
        port,
    }
}

/// Binds connections so the destination shows `active`/`inactive`/`persist`.
fn set_conns(ipvs: &mut Ipvs, key: &ServiceKey, dest: (&str, u16), counts: (u32, u32, u32)) {
    let svc = ipvs.service_mut(key).unwrap();
    let pos = svc.dests().position(ip(dest.0), dest.1).unwrap();
    for _ in 0..counts.0 {
        svc.bind(pos, ConnKind::Active);
    }
    for _ in 0..counts.1 {
        svc.bind(pos, ConnKind::Inactive);
    }
    for _ in 0..counts.2 {
        svc.bind(pos, ConnKind::Template);
    }
}

fn set_dest_stats(ipvs: &mut Ipvs, key: &ServiceKey, dest: (&str, u16), c: [u64; 5]) {
    let svc = ipvs.service_mut(key).unwrap();
    let pos = svc.dests().position(ip(dest.0), dest.1).unwrap();
    svc.dest_stats_mut(pos).unwrap().total = counters(c);
}

fn counters(c: [u64; 5]) -> Counters {
    Counters {
        conns: c[0],
        inpkts: c[1],
        outpkts: c[2],
        inbytes: c[3],
        outbytes: c[4],
    }
}

fn numeric() -> ListFormat {
    ListFormat {
        numeric: true,
        ..ListFormat::default()
    }
}

const EXAMPLE_D: &str = "\
-A -t 192.168.1.100:80 -s wlc
-a -t 192.168.1.100:80 -r 10.0.0.1:80 -m -w 1
-a -t 192.168.1.100:80 -r 10.0.0.2:80 -m -w 3
-A -t 192.168.1.100:443 -s rr -p 360 -M 255.255.255.0
-a -t 192.168.1.100:443 -r 10.0.0.1:443 -g -w 1
-a -t 192.168.1.100:443 -r 10.0.0.2:443 -g -w 0
-A -u 192.168.1.100:53 -s sh -b sh-fallback,sh-port
-a -u 192.168.1.100:53 -r 10.0.0.3:53 -i -w 2 --tun-type ipip
-A -f 1 -s wlc -p 1800
-a -f 1 -r 10.0.0.4:0 -m -w 1
";

/// The table of Example A, built with ipvsadm commands in an order unlike the listing's.
fn example_a_table() -> Ipvs {
    let mut ipvs = Ipvs::new();
    for line in [
        "-A -f 1 -p 1800",
        "-a -f 1 -r 10.0.0.4 -m",
        "-A -u 192.168.1.100:53 -s sh -b sh-port,sh-fallback",
        "-a -u 192.168.1.100:53 -r 10.0.0.3 -i -w 2",
        "-A -t 192.168.1.100:443 -s rr -p -M 255.255.255.0",
        "-a -t 192.168.1.100:443 -r 10.0.0.2 -w 0",
        "-a -t 192.168.1.100:443 -r 10.0.0.1",
        "-A -t 192.168.1.100:80",
        "-a -t 192.168.1.100:80 -r 10.0.0.2:80 -m -w 3",
        "-a -t 192.168.1.100:80 -r 10.0.0.1:80 -m",
    ] {
        run(&mut ipvs, line);
    }
    let http = tcp("192.168.1.100", 80);
    let https = tcp("192.168.1.100", 443);
    set_conns(&mut ipvs, &http, ("10.0.0.1", 80), (12, 34, 0));
    set_conns(&mut ipvs, &http, ("10.0.0.2", 80), (40, 101, 0));
    set_conns(&mut ipvs, &https, ("10.0.0.1", 443), (5, 9, 0));
    set_conns(&mut ipvs, &https, ("10.0.0.2", 443), (2, 7, 0));
    set_conns(
        &mut ipvs,
        &udp("192.168.1.100", 53),
        ("10.0.0.3", 53),
        (0, 57, 0),
    );
    ipvs
}

#[test]
fn example_a_list_numeric() {
    let ipvs = example_a_table();
    let expected = "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.1.100:80 wlc
  -> 10.0.0.1:80                  Masq    1      12         34        
  -> 10.0.0.2:80                  Masq    3      40         101       
TCP  192.168.1.100:443 rr persistent 360 mask 255.255.255.0
  -> 10.0.0.1:443                 Route   1      5          9         
  -> 10.0.0.2:443                 Route   0      2          7         
UDP  192.168.1.100:53 sh (sh-fallback,sh-port)
  -> 10.0.0.3:53                  Tunnel  2      0          57        
FWM  1 wlc persistent 1800
  -> 10.0.0.4:0                   Masq    1      0          0         
";
    assert_eq!(
        list_all(&ipvs, &numeric(), &ListContext::default()),
        expected
    );
    // The same through the command line and the generic entry point.
    let Command::List(opts) = cmd("-Ln") else {
        panic!("-Ln is a listing")
    };
    assert_eq!(
        list(&ipvs, &opts, &ListContext::default()).unwrap(),
        expected
    );
}

#[test]
fn example_b_stats_and_rate() {
    let mut ipvs = Ipvs::new();
    run(&mut ipvs, "-A -t 192.168.1.100:80");
    run(&mut ipvs, "-a -t 192.168.1.100:80 -r 10.0.0.1:80 -m");
    run(&mut ipvs, "-a -t 192.168.1.100:80 -r 10.0.0.2:80 -m");
    let http = tcp("192.168.1.100", 80);
    ipvs.service_mut(&http).unwrap().stats.total =
        counters([1523, 48211, 39127, 4123311, 523_442_917]);
    set_dest_stats(
        &mut ipvs,
        &http,
        ("10.0.0.1", 80),
        [761, 24100, 19560, 2061600, 261_700_001],
    );
    set_dest_stats(
        &mut ipvs,
        &http,
        ("10.0.0.2", 80),
        [762, 24111, 19567, 2061711, 261_742_916],
    );
    let Command::List(opts) = cmd("-L -n --stats") else {
        panic!()
    };
    assert_eq!(
        list(&ipvs, &opts, &ListContext::default()).unwrap(),
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  192.168.1.100:80                 1523    48211    39127  4123311  523442K
  -> 10.0.0.1:80                       761    24100    19560  2061600  261700K
  -> 10.0.0.2:80                       762    24111    19567  2061711  261742K
"
    );

    run(&mut ipvs, "-d -t 192.168.1.100:80 -r 10.0.0.2:80");
    let rates = |_: &Service, d: Option<&Destination>| match d {
        None => Rates {
            cps: 12,
            inpps: 340,
            outpps: 290,
            inbps: 28123,
            outbps: 3650112,
        },
        Some(_) => Rates {
            cps: 6,
            inpps: 170,
            outpps: 145,
            inbps: 14061,
            outbps: 1825056,
        },
    };
    let ctx = ListContext {
        rates: &rates,
        ..ListContext::default()
    };
    let Command::List(opts) = cmd("-L -n --rate") else {
        panic!()
    };
    assert_eq!(
        list(&ipvs, &opts, &ctx).unwrap(),
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS
  -> RemoteAddress:Port
TCP  192.168.1.100:80                   12      340      290    28123  3650112
  -> 10.0.0.1:80                         6      170      145    14061  1825056
"
    );
    // --exact widens instead of abbreviating; the three per-second packet columns of a
    // destination are always plain `%8llu`.
    let big = |_: &Service, d: Option<&Destination>| Rates {
        cps: if d.is_some() { 123_456_789 } else { 1 },
        inpps: 2,
        outpps: 3,
        inbps: 1_234_567_890,
        outbps: 5,
    };
    let ctx = ListContext {
        rates: &big,
        ..ListContext::default()
    };
    let Command::List(opts) = cmd("-L -n --rate --exact") else {
        panic!()
    };
    assert_eq!(
        list(&ipvs, &opts, &ctx).unwrap(),
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS
  -> RemoteAddress:Port
TCP  192.168.1.100:80                    1        2        3 1234567890        5
  -> 10.0.0.1:80                  123456789        2        3 1234567890        5
"
    );
    let Command::List(opts) = cmd("-L -n --rate") else {
        panic!()
    };
    assert_eq!(
        list(&ipvs, &opts, &ctx).unwrap().lines().last().unwrap(),
        "  -> 10.0.0.1:80                  123456789        2        3    1234M        5"
    );
}

#[test]
fn example_c_connections() {
    let conn =
        |p: u8, exp: u32, st: &str, c: (&str, u16), v: (&str, u16), d: (&str, u16)| ConnEntry {
            protocol: p,
            expire_secs: exp,
            state: st.to_string(),
            client: (ip(c.0), c.1),
            vip: (ip(v.0), v.1),
            dest: (ip(d.0), d.1),
            pe: None,
        };
    let conns = [
        conn(
            6,
            893,
            "ESTABLISHED",
            ("192.168.1.5", 52134),
            ("192.168.1.100", 80),
            ("10.0.0.1", 80),
        ),
        conn(
            6,
            95,
            "FIN_WAIT",
            ("192.168.1.7", 40112),
            ("192.168.1.100", 80),
            ("10.0.0.2", 80),
        ),
        conn(
            6,
            353,
            "NONE",
            ("192.168.1.0", 0),
            ("192.168.1.100", 443),
            ("10.0.0.1", 443),
        ),
        conn(
            17,
            287,
            "UDP",
            ("192.168.1.9", 33211),
            ("192.168.1.100", 53),
            ("10.0.0.3", 53),
        ),
        conn(
            0,
            1795,
            "NONE",
            ("192.168.1.5", 0),
            ("0.0.0.1", 0),
            ("10.0.0.4", 0),
        ),
    ];
    let expected = "\
IPVS connection entries
pro expire state       source             virtual            destination
TCP 14:53  ESTABLISHED 192.168.1.5:52134  192.168.1.100:80   10.0.0.1:80
TCP 01:35  FIN_WAIT    192.168.1.7:40112  192.168.1.100:80   10.0.0.2:80
TCP 05:53  NONE        192.168.1.0:0      192.168.1.100:443  10.0.0.1:443
UDP 04:47  UDP         192.168.1.9:33211  192.168.1.100:53   10.0.0.3:53
IP  29:55  NONE        192.168.1.5:0      0.0.0.1:0          10.0.0.4:0
";
    let Command::List(opts) = cmd("-L -n -c") else {
        panic!()
    };
    assert_eq!(opts.target, ListTarget::Connections);
    let ctx = ListContext {
        conns: &conns,
        ..ListContext::default()
    };
    assert_eq!(list(&Ipvs::new(), &opts, &ctx).unwrap(), expected);

    // Without -n, ports are named (TCP/UDP/SCTP only); with --persistent-conn the PE columns.
    let mut sip = conn(
        17,
        3599,
        "UDP",
        ("198.18.1.2", 5060),
        ("198.18.0.1", 5060),
        ("198.19.0.11", 5060),
    );
    sip.pe = Some(("sip".to_string(), "a84b4c76e66710".to_string()));
    let conns = [sip, conns[0].clone()];
    let pc = ListFormat {
        persistent_conn: true,
        ..ListFormat::default()
    };
    assert_eq!(
        list_connections(&conns, &pc, &WellKnownServices),
        "\
IPVS connection entries
pro expire state       source             virtual            destination        pe name          pe_data
UDP 59:59  UDP         198.18.1.2:sip     198.18.0.1:sip     198.19.0.11:sip  sip                a84b4c76e66710
TCP 14:53  ESTABLISHED 192.168.1.5:52134  192.168.1.100:http 10.0.0.1:http
"
    );
}

#[test]
fn example_d_save_and_round_trip() {
    let ipvs = example_a_table();
    assert_eq!(save(&ipvs, true, &NumericOnly), EXAMPLE_D);
    // `-S` without -n names ports; the rules read back to the same table.
    let named = save(&ipvs, false, &WellKnownServices);
    assert_eq!(
        named.lines().take(2).collect::<Vec<_>>(),
        [
            "-A -t 192.168.1.100:http -s wlc",
            "-a -t 192.168.1.100:http -r 10.0.0.1:http -m -w 1"
        ]
    );
    for text in [EXAMPLE_D.to_string(), named] {
        let mut copy = Ipvs::new();
        let r = restore(&mut copy, &text, &WellKnownServices);
        assert_eq!((r.errors.len(), r.exit_code, r.other.len()), (0, 0, 0));
        assert_eq!(save(&copy, true, &NumericOnly), EXAMPLE_D);
        let zeroed = list_all(&copy, &numeric(), &ListContext::default());
        assert!(zeroed.contains("TCP  192.168.1.100:443 rr persistent 360 mask 255.255.255.0\n"));
        assert_eq!(copy.services().len(), 4);
    }
}

#[test]
fn save_writes_every_service_form_and_no_thresholds() {
    let mut ipvs = Ipvs::new();
    for line in [
        "-A -t [2001:db8::1]:443 -s mh -b mh-fallback -p 60 -M 64",
        "-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -i --tun-type gue --tun-port 6080 --tun-remcsum",
        "-a -t [2001:db8::1]:443 -r 198.19.0.1 -i --tun-type gre --tun-csum -x 100 -y 50",
        "-A -f 7 -6 -s sed -p",
        "-a -f 7 -6 -r 2001:db8::20 -w 9 -x 10",
        "-A --sctp-service 198.18.0.1:3868 -s rr",
        "-a --sctp-service 198.18.0.1:3868 -r 198.19.0.2:3869 -m -w 65535",
        "-A -u 198.18.0.1:5060 -s sh -b flag-3 --pe sip -p 30 -o",
        "-a -u 198.18.0.1:5060 -r 198.19.0.3 -m",
    ] {
        run(&mut ipvs, line);
    }
    // Sorted by fwmark, family, protocol number (UDP 17 before SCTP 132), address, port. An
    // sh service with only flag-3 prints an empty `-b ` (ipvsadm names no flag-3 for sh).
    let expected = "\
-A -u 198.18.0.1:5060 -s sh -p 30 --pe sip -o -b 
-a -u 198.18.0.1:5060 -r 198.19.0.3:5060 -m -w 1
-A --sctp-service 198.18.0.1:3868 -s rr
-a --sctp-service 198.18.0.1:3868 -r 198.19.0.2:3869 -m -w 65535
-A -t [2001:db8::1]:443 -s mh -p 60 -M 64 -b mh-fallback
-a -t [2001:db8::1]:443 -r 198.19.0.1:443 -i -w 1 --tun-type gre --tun-csum
-a -t [2001:db8::1]:443 -r [2001:db8::10]:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum
-A -f 7 -6 -s sed -p 360
-a -f 7 -6 -r [2001:db8::20]:0 -g -w 9
";
    assert_eq!(save(&ipvs, true, &NumericOnly), expected);
    // The listing of the same table: IPv4 services before IPv6 ones, fwmark services last.
    let listing = list_all(&ipvs, &numeric(), &ListContext::default());
    assert_eq!(
        listing,
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
UDP  198.18.0.1:5060 sh () persistent 30 pe sip ops
  -> 198.19.0.3:5060              Masq    1      0          0         
SCTP 198.18.0.1:3868 rr
  -> 198.19.0.2:3869              Masq    65535  0          0         
TCP  [2001:db8::1]:443 mh (mh-fallback) persistent 60 mask 64
  -> 198.19.0.1:443               Tunnel  1      0          0         
  -> [2001:db8::10]:443           Tunnel  1      0          0         
FWM  7 IPv6 sed persistent 360
  -> [2001:db8::20]:0             Route   9      0          0         
"
    );
    // Thresholds are lost in a save/restore cycle, as with ipvsadm.
    let mut copy = Ipvs::new();
    let r = restore(&mut copy, &expected.replace(" -b \n", "\n"), &NumericOnly);
    assert_eq!(r.errors, Vec::<String>::new());
    let key = tcp("2001:db8::1", 443);
    let svc = copy.service(&key).unwrap();
    let gre = svc
        .dests()
        .get(svc.dests().position(ip("198.19.0.1"), 443).unwrap())
        .unwrap();
    assert_eq!((gre.conf().u_threshold, gre.conf().l_threshold), (0, 0));
    let orig = ipvs.service(&key).unwrap();
    let pos = orig.dests().position(ip("198.19.0.1"), 443).unwrap();
    assert_eq!(orig.dests().get(pos).unwrap().conf().u_threshold, 100);
}

#[test]
fn sort_quirk_and_nosort() {
    let mut ipvs = Ipvs::new();
    for line in [
        "-A -t 10.0.0.1:80",
        "-A -t 10.0.0.2:80",
        "-A -t 192.168.1.1:80",
        "-a -t 10.0.0.1:80 -r 10.1.0.1",
        "-a -t 10.0.0.1:80 -r 192.168.1.1",
        "-a -t 10.0.0.1:80 -r 10.1.0.2",
    ] {
        run(&mut ipvs, line);
    }
    let sorted = list_all(&ipvs, &numeric(), &ListContext::default());
    assert_eq!(
        sorted,
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.1.1:80 wlc
TCP  10.0.0.1:80 wlc
  -> 192.168.1.1:80               Route   1      0          0         
  -> 10.1.0.1:80                  Route   1      0          0         
  -> 10.1.0.2:80                  Route   1      0          0         
TCP  10.0.0.2:80 wlc
"
    );
    // --nosort: services in the kernel's hash order (10.0.0.2:80 hashes to bucket 84,
    // 10.0.0.1:80 to 87, 192.168.1.1:80 to 87 too and was added later, so it comes first in
    // that bucket), real servers newest first.
    let nosort = ListFormat {
        numeric: true,
        nosort: true,
        ..ListFormat::default()
    };
    assert_eq!(
        list_all(&ipvs, &nosort, &ListContext::default()),
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.0.0.2:80 wlc
TCP  192.168.1.1:80 wlc
TCP  10.0.0.1:80 wlc
  -> 10.1.0.2:80                  Route   1      0          0         
  -> 192.168.1.1:80               Route   1      0          0         
  -> 10.1.0.1:80                  Route   1      0          0         
"
    );
}

#[test]
fn list_modes() {
    let mut ipvs = Ipvs::new();
    for line in [
        "-A -t 198.18.0.1:80 -s wrr",
        "-a -t 198.18.0.1:80 -r 198.19.0.1 -m -w 2 -x 100 -y 60",
        "-a -t 198.18.0.1:80 -r 198.19.0.2 -i --tun-type gue --tun-port 6080",
        "-a -t 198.18.0.1:80 -r 198.19.0.3 -i --tun-type gre --tun-csum",
        "-a -t 198.18.0.1:80 -r 198.19.0.4 -i",
    ] {
        run(&mut ipvs, line);
    }
    let key = tcp("198.18.0.1", 80);
    set_conns(&mut ipvs, &key, ("198.19.0.1", 80), (3, 4, 5));
    let ctx = ListContext::default();
    let listing = |line: &str| {
        let Command::List(opts) = cmd(line) else {
            panic!("{line}")
        };
        list(&ipvs, &opts, &ctx).unwrap()
    };
    assert_eq!(
        listing("-L -n --thresholds"),
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn 
  -> RemoteAddress:Port
TCP  198.18.0.1:80 wrr
  -> 198.19.0.1:80                100        60         3          4         
  -> 198.19.0.2:80                0          0          0          0         
  -> 198.19.0.3:80                0          0          0          0         
  -> 198.19.0.4:80                0          0          0          0         
"
    );
    assert_eq!(
        listing("-L -n --persistent-conn"),
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn 
  -> RemoteAddress:Port
TCP  198.18.0.1:80 wrr
  -> 198.19.0.1:80                2         5           3          4         
  -> 198.19.0.2:80                1         0           0          0         
  -> 198.19.0.3:80                1         0           0          0         
  -> 198.19.0.4:80                1         0           0          0         
"
    );
    assert_eq!(
        listing("-L -n --tun-info"),
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn
TCP  198.18.0.1:80 wrr
  -> 198.19.0.1:80                Masq    n/a           2      3          4         
  -> 198.19.0.2:80                Tunnel  gue:6080:-c   1      0          0         
  -> 198.19.0.3:80                Tunnel  gre:+c        1      0          0         
  -> 198.19.0.4:80                Tunnel  ipip          1      0          0         
"
    );
    // One service: no header line.
    assert_eq!(
        listing("-L -n -t 198.18.0.1:80 --stats"),
        "\
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  198.18.0.1:80                       0        0        0        0        0
  -> 198.19.0.1:80                       0        0        0        0        0
  -> 198.19.0.2:80                       0        0        0        0        0
  -> 198.19.0.3:80                       0        0        0        0        0
  -> 198.19.0.4:80                       0        0        0        0        0
"
    );
    let Command::List(opts) = cmd("-L -t 198.18.0.1:81") else {
        panic!()
    };
    let e = list(&ipvs, &opts, &ctx).unwrap_err();
    assert_eq!(
        (e.to_string(), e.exit_code()),
        ("No such service".to_string(), 1)
    );
    assert_eq!(
        list_service(&ipvs, &key, &ListFormat::default(), &ctx)
            .unwrap()
            .lines()
            .nth(2),
        Some("TCP  198.18.0.1:80 wrr")
    );

    // --timeout and --daemon.
    assert_eq!(
        listing("-L --timeout"),
        "Timeout (tcp tcpfin udp): 900 120 300\n"
    );
    let ctx2 = ListContext {
        timeouts: Timeouts {
            tcp: 7200,
            tcp_fin: 0,
            udp: 10,
        },
        ..ListContext::default()
    };
    let Command::List(opts) = cmd("--list --timeout") else {
        panic!()
    };
    assert_eq!(
        list(&ipvs, &opts, &ctx2).unwrap(),
        "Timeout (tcp tcpfin udp): 7200 0 10\n"
    );
    assert_eq!(listing("-L --daemon"), "");
    let daemons = [
        DaemonConf {
            sync_maxlen: 1472,
            mcast_group: Some(ip("224.0.0.81")),
            mcast_port: 8848,
            mcast_ttl: 1,
            ..DaemonConf::new(DaemonState::Master)
        },
        DaemonConf {
            mcast_ifn: "eth1".to_string(),
            syncid: 7,
            ..DaemonConf::new(DaemonState::Backup)
        },
    ];
    let ctx3 = ListContext {
        daemons: &daemons,
        ..ListContext::default()
    };
    let Command::List(opts) = cmd("-L --daemon") else {
        panic!()
    };
    assert_eq!(
        list(&ipvs, &opts, &ctx3).unwrap(),
        "master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n\
         backup sync daemon (mcast=eth1, syncid=7)\n"
    );
}

struct LongNames;

impl Resolver for LongNames {
    fn addr_to_host(&self, addr: IpAddr) -> Option<String> {
        match addr {
            IpAddr::V4(_) => Some("a-very-long-hostname.example.org".to_string()),
            IpAddr::V6(_) => None,
        }
    }
    fn port_to_service(&self, port: u16, proto: Protocol) -> Option<String> {
        WellKnownServices.port_to_service(port, proto)
    }
}

#[test]
fn names_ipv6_and_truncation() {
    let mut ipvs = Ipvs::new();
    for line in [
        "-A -t 198.18.0.1:80 -s rr",
        "-a -t 198.18.0.1:80 -r 198.19.0.1 -m",
        "-a -t 198.18.0.1:80 -r 2001:db8:1234:5678:9abc:def0:1234:5678 -i",
        "-A -t [2001:db8:1234:5678:9abc:def0:1234:5678]:443",
        "-a -t [2001:db8:1234:5678:9abc:def0:1234:5678]:443 -r [2001:db8::10]:8443 -m",
    ] {
        run(&mut ipvs, line);
    }
    let ctx = ListContext {
        names: &LongNames,
        ..ListContext::default()
    };
    assert_eq!(
        list_all(&ipvs, &ListFormat::default(), &ctx),
        "\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  a-very-long-hostname.example rr
  -> a-very-long-hostname.example Masq    1      0          0         
  -> [2001:db8:1234:5678:9abc:def0:1234:5678]:http Tunnel  1      0          0         
TCP  [2001:db8:1234:5678:9abc:def0:1234:5678]:https wlc
  -> [2001:db8::10]:8443          Masq    1      0          0         
"
    );
    assert_eq!(
        save(&ipvs, false, &LongNames).lines().next(),
        Some("-A -t a-very-long-hostname.example.org:http -s rr")
    );
}

#[test]
fn edit_is_full_replacement() {
    let mut ipvs = Ipvs::new();
    run(
        &mut ipvs,
        "-A -t 198.18.0.1:80 -s sh -b sh-port -p 600 -M 255.255.0.0",
    );
    run(
        &mut ipvs,
        "-a -t 198.18.0.1:80 -r 198.19.0.1:8080 -m -w 3 -x 50 -y 10",
    );
    // -e with only a weight: forwarding back to DR, thresholds gone; DR forces the port to
    // the service port, so the NAT server on 8080 is no longer the one named.
    assert_eq!(
        apply(
            &mut ipvs,
            &cmd("-e -t 198.18.0.1:80 -r 198.19.0.1:8080 -w 5")
        ),
        Err(Error::NoSuchDest)
    );
    run(
        &mut ipvs,
        "-a -t 198.18.0.1:80 -r 198.19.0.2 -m -w 3 -x 50 -y 10",
    );
    run(&mut ipvs, "-e -t 198.18.0.1:80 -r 198.19.0.2 -w 5");
    let key = tcp("198.18.0.1", 80);
    let svc = ipvs.service(&key).unwrap();
    let d = svc
        .dests()
        .get(svc.dests().position(ip("198.19.0.2"), 80).unwrap())
        .unwrap();
    assert_eq!(
        *d.conf(),
        DestConf {
            method: FwdMethod::Route,
            weight: 5,
            u_threshold: 0,
            l_threshold: 0,
            tunnel: TunnelConf::default(),
        }
    );
    // -E without -s, -p, -b: wlc, not persistent, no flags (the mask is still sent).
    run(&mut ipvs, "-E -t 198.18.0.1:80");
    assert_eq!(
        *ipvs.service(&key).unwrap().conf(),
        ServiceConf::new(Family::V4)
    );
    let text = list_all(&ipvs, &numeric(), &ListContext::default());
    assert!(text.contains("\nTCP  198.18.0.1:80 wlc\n  -> 198.19.0.1:8080              Masq    3      0          0         \n  -> 198.19.0.2:80                Route   5      0          0         \n"), "{text}");
}

#[test]
fn parse_service_commands() {
    assert_eq!(
        cmd("-A -t 198.18.0.1:80"),
        Command::AddService {
            key: tcp("198.18.0.1", 80),
            conf: ServiceConf::new(Family::V4),
        }
    );
    assert_eq!(
        cmd("--add-service --udp-service=198.18.0.1:domain --scheduler=sh --sched-flags=sh-fallback --persistent=600 --netmask=255.255.255.0 --ops --pe=sip"),
        Command::AddService {
            key: udp("198.18.0.1", 53),
            conf: ServiceConf {
                scheduler: "sh".to_string(),
                sched_flags: SchedFlags::FALLBACK,
                persistence: Some(600),
                netmask: 0xffff_ff00,
                one_packet: true,
                pe: Some("sip".to_string()),
            },
        }
    );
    // -p takes an attached value or the next word unless it starts with '-'.
    let persistence = |line: &str| match cmd(line) {
        Command::AddService { conf, .. } | Command::EditService { conf, .. } => conf.persistence,
        other => panic!("{other:?}"),
    };
    assert_eq!(persistence("-A -t 198.18.0.1:80 -p"), Some(360));
    assert_eq!(persistence("-A -t 198.18.0.1:80 -p -s rr"), Some(360));
    assert_eq!(persistence("-A -t 198.18.0.1:80 -p 60"), Some(60));
    assert_eq!(persistence("-A -t 198.18.0.1:80 -p60"), Some(60));
    assert_eq!(persistence("-E -t 198.18.0.1:80 -p=2678400"), Some(2678400));
    assert_eq!(persistence("-At198.18.0.1:80"), None);
    // Port 0 needs persistence; fwmark services do not.
    assert_eq!(persistence("-A -t 198.18.0.1 -p"), Some(360));
    assert_eq!(
        cmd("-A -f 7 -6 -M 48 -s lc"),
        Command::AddService {
            key: ServiceKey::Fwmark {
                family: Family::V6,
                mark: 7,
            },
            conf: ServiceConf {
                netmask: 48,
                ..ServiceConf::with_scheduler(Family::V6, "lc")
            },
        }
    );
    assert_eq!(
        cmd("-A -f 4294967295 -o"),
        Command::AddService {
            key: ServiceKey::Fwmark {
                family: Family::V4,
                mark: u32::MAX,
            },
            conf: ServiceConf {
                one_packet: true,
                ..ServiceConf::new(Family::V4)
            },
        }
    );
    // IPv6: bracketed with a port, netmask defaults to 128; -M after it is a prefix length.
    assert_eq!(
        cmd("-A -t [2001:db8::1]:443 -p -M 64 -b flag-1,flag-3"),
        Command::AddService {
            key: tcp("2001:db8::1", 443),
            conf: ServiceConf {
                sched_flags: SchedFlags(5),
                persistence: Some(360),
                netmask: 64,
                ..ServiceConf::new(Family::V6)
            },
        }
    );
    // A scheduler name is cut to 15 characters; an unknown one is the kernel's business.
    let Command::AddService { conf, .. } = cmd("-A -t 198.18.0.1:80 -s abcdefghijklmnopq") else {
        panic!()
    };
    assert_eq!(conf.scheduler, "abcdefghijklmno");
    assert_eq!(
        apply(&mut Ipvs::new(), &cmd("-A -t 198.18.0.1:80 -s nosuch")),
        Err(Error::UnknownScheduler {
            name: "nosuch".to_string()
        })
    );
    assert_eq!(
        cmd("-D --sctp-service 198.18.0.1:3868"),
        Command::DelService {
            key: ServiceKey::Addr {
                proto: Protocol::Sctp,
                addr: ip("198.18.0.1"),
                port: 3868,
            },
        }
    );
    assert_eq!(cmd("-C"), Command::Clear);
    assert_eq!(cmd("--clear"), Command::Clear);
    assert_eq!(cmd("-Z"), Command::Zero { service: None });
    assert_eq!(cmd("-Z -t 0.0.0.0:0"), Command::Zero { service: None });
    assert_eq!(
        cmd("--zero -f 3"),
        Command::Zero {
            service: Some(ServiceKey::Fwmark {
                family: Family::V4,
                mark: 3,
            }),
        }
    );
    assert_eq!(cmd("-R"), Command::Restore);
    assert_eq!(cmd("-S"), Command::Save { numeric: false });
    assert_eq!(cmd("--save -n"), Command::Save { numeric: true });
    assert_eq!(cmd("-h"), Command::Help);
    assert_eq!(cmd("--help -Q"), Command::Help);
    assert_eq!(cmd("-v"), Command::Version);
    assert_eq!(cmd("--version"), Command::Version);
    assert_eq!(parse(&[]), Ok(Command::List(ListOptions::default())));
}

#[test]
fn parse_server_commands() {
    let dest = |line: &str| match cmd(line) {
        Command::AddDest {
            service,
            addr,
            port,
            conf,
        }
        | Command::EditDest {
            service,
            addr,
            port,
            conf,
        } => (service, addr, port, conf),
        other => panic!("{other:?}"),
    };
    let dr = DestConf::default();
    // Missing port = service port; DR/TUN force the service port.
    assert_eq!(
        dest("-a -t 198.18.0.1:80 -r 198.19.0.1"),
        (tcp("198.18.0.1", 80), ip("198.19.0.1"), 80, dr)
    );
    assert_eq!(dest("-a -t 198.18.0.1:80 -r 198.19.0.1:8080 -g").2, 80);
    assert_eq!(dest("-a -t 198.18.0.1:80 -r 198.19.0.1:8080 -i").2, 80);
    assert_eq!(dest("-a -t 198.18.0.1:80 -r 198.19.0.1:8080 -m").2, 8080);
    // ... the service port *known when -r was read*.
    assert_eq!(dest("-a -r 198.19.0.1 -m -t 198.18.0.1:80").2, 0);
    // fwmark services keep the given port, also for DR.
    assert_eq!(dest("-a -f 1 -r 198.19.0.1:8080").2, 8080);
    assert_eq!(
        dest("--add-server --tcp-service 198.18.0.1:80 --real-server 198.19.0.1:8080 --masquerading --weight 0 --u-threshold 2147483647 --l-threshold 5"),
        (
            tcp("198.18.0.1", 80),
            ip("198.19.0.1"),
            8080,
            DestConf {
                method: FwdMethod::Masq,
                weight: 0,
                u_threshold: 2147483647,
                l_threshold: 5,
                tunnel: TunnelConf::default(),
            }
        )
    );
    assert_eq!(
        dest("-e -t 198.18.0.1:80 -r 2001:db8::5 --ipip --tun-type=gue --tun-port=6080 --tun-csum")
            .3,
        DestConf {
            method: FwdMethod::Tunnel,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tunnel: TunnelConf {
                kind: TunnelType::Gue,
                port: 6080,
                csum: TunnelCsum::Csum,
            },
        }
    );
    assert_eq!(
        dest("-a -t 198.18.0.1:80 -r 198.19.0.1 -i --tun-type gre --tun-nocsum")
            .3
            .tunnel,
        TunnelConf {
            kind: TunnelType::Gre,
            port: 0,
            csum: TunnelCsum::NoCsum,
        }
    );
    assert_eq!(dest("-a -u 198.18.0.1:53 -r 198.19.0.1:domain -m").2, 53);
    assert_eq!(
        cmd("-d -t 198.18.0.1:80 -r 198.19.0.1:8080"),
        Command::DelDest {
            service: tcp("198.18.0.1", 80),
            addr: ip("198.19.0.1"),
            port: 8080,
        }
    );
    assert_eq!(
        cmd("--delete-server -f 9 -6 -r 2001:db8::9"),
        Command::DelDest {
            service: ServiceKey::Fwmark {
                family: Family::V6,
                mark: 9,
            },
            addr: ip("2001:db8::9"),
            port: 0,
        }
    );
}

#[test]
fn parse_list_timeout_and_daemon_commands() {
    let list_of = |line: &str| match cmd(line) {
        Command::List(o) => o,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        list_of("-Ln --stats --exact --nosort --sort"),
        ListOptions {
            target: ListTarget::All,
            format: ListFormat {
                numeric: true,
                stats: true,
                exact: true,
                nosort: true,
                ..ListFormat::default()
            },
        }
    );
    assert_eq!(
        list_of("-l -X --rate --tun-info -t 198.18.0.1:80").format,
        ListFormat {
            rate: true,
            exact: true,
            tun_info: true,
            ..ListFormat::default()
        }
    );
    assert_eq!(
        list_of("-L -u 198.18.0.1:53").target,
        ListTarget::Service(udp("198.18.0.1", 53))
    );
    assert_eq!(
        list_of("-L -c --persistent-conn").target,
        ListTarget::Connections
    );
    assert!(list_of("-L --thresholds").format.thresholds);
    assert_eq!(list_of("-L --daemon").target, ListTarget::Daemons);
    assert_eq!(list_of("--list --timeout").target, ListTarget::Timeouts);
    assert_eq!(
        cmd("--set 900 0 10"),
        Command::SetTimeouts(Timeouts {
            tcp: 900,
            tcp_fin: 0,
            udp: 10,
        })
    );
    assert_eq!(
        cmd("--start-daemon master"),
        Command::StartDaemon(DaemonConf::new(DaemonState::Master))
    );
    assert_eq!(
        cmd("--start-daemon=backup --mcast-interface eth1 --syncid 9 --sync-maxlen 1400 --mcast-group ff02::1:2 --mcast-port 9000 --mcast-ttl 3"),
        Command::StartDaemon(DaemonConf {
            state: DaemonState::Backup,
            mcast_ifn: "eth1".to_string(),
            syncid: 9,
            sync_maxlen: 1400,
            mcast_group: Some(ip("ff02::1:2")),
            mcast_port: 9000,
            mcast_ttl: 3,
        })
    );
    assert_eq!(
        cmd("--stop-daemon backup --syncid 4"),
        Command::StopDaemon {
            state: DaemonState::Backup,
            syncid: 4,
        }
    );
}

#[test]
fn ipvsadm_side_errors() {
    let cases: &[(&str, &str)] = &[
        ("-A -t 198.18.0.1:65536", "illegal virtual server address[:port] specified"),
        ("-A -t 80", "illegal virtual server address[:port] specified"),
        ("-A -t [::1]", "illegal virtual server address[:port] specified"),
        ("-a -t 198.18.0.1:80 -r [2001:db8::1] -i", "illegal real server address[:port] specified"),
        ("-a -t 198.18.0.1:80 -r host.invalid", "illegal real server address[:port] specified"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -w 65536", "illegal weight specified"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -x -1", "illegal u_threshold specified"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -y 2147483648", "illegal l_threshold specified"),
        ("-A -t 198.18.0.1:80 -p 0", "invalid timeout value `0' specified"),
        ("-A -t 198.18.0.1:80 -p 2678401", "invalid timeout value `2678401' specified"),
        ("--set 900 x 300", "invalid timeout value `x' specified"),
        ("-A -f 0", "invalid fwmark value `0' specified"),
        ("-A -f 4294967296", "invalid fwmark value `4294967296' specified"),
        ("-A -t 198.18.0.1:80 -p -M 255.255.255.256", "illegal virtual server persistent mask specified"),
        ("-A -t [2001:db8::1]:80 -p -M 129", "illegal ipv6 netmask specified"),
        ("-A -t 198.18.0.1", "Zero port specified for non-persistent service"),
        ("-E -t 198.18.0.1:0", "Zero port specified for non-persistent service"),
        ("-A -t 198.18.0.1:80 -o", "One-Packet Scheduling is only for UDP virtual services"),
        ("-A -t 198.18.0.1:80 -u 198.18.0.1:53", "multiple 'service-address' options specified"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -m -g", "multiple 'forwarding-method' options specified"),
        ("-L -n -n", "multiple 'numeric' options specified"),
        ("-a -t 198.18.0.1:80", "You need to supply the 'real-server' option for the 'add-server' command"),
        ("-A -s rr", "You need to supply the 'service-address' option for the 'add-service' command"),
        ("-D -t 198.18.0.1:80 -s rr", "Illegal 'scheduler' option with the 'delete-service' command"),
        ("-S -c", "Illegal 'connection' option with the 'save' command"),
        ("-C -n", "Illegal 'numeric' option with the 'flush' command"),
        ("-R -n", "Illegal 'numeric' option with the 'restore' command"),
        ("-d -t 198.18.0.1:80 -r 198.19.0.1 -w 2", "Illegal 'weight' option with the 'delete-server' command"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 --tun-info", "Illegal 'tun-info' option with the 'add-server' command"),
        ("-L -c --timeout", "The option 'timeout' conflicts with the 'connection' option in the 'list' command"),
        ("-L --daemon -t 198.18.0.1:80", "The option 'daemon' conflicts with the 'service-address' option in the 'list' command"),
        ("--set 1 2", "--set option requires 3 timeout values"),
        ("--set 1 2 3 4", "unexpected argument 4"),
        ("-C now", "unexpected argument now"),
        ("-A -t 198.18.0.1:80 -s rr -b sh-port", "incompatible scheduler flag `sh-port'"),
        ("-A -t 198.18.0.1:80 -b mh-fallback", "incompatible scheduler flag `mh-fallback'"),
        ("-A -t 198.18.0.1:80 -b flag-4", "invalid scheduler flag `flag-4'"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -i --tun-type vxlan", "illegal tunnel type specified"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -i --tun-type gue --tun-port 0", "illegal tunnel port specified"),
        ("-a -t 198.18.0.1:80 -r 2001:db8::1 -m", "Different address family is allowed only for tunneling servers"),
        ("-a -t [2001:db8::1]:80 -r 198.19.0.1", "Different address family is allowed only for tunneling servers"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -m --tun-type gue", "Tunnel options conflict with forward method"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 --tun-csum", "Tunnel options conflict with forward method"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -i --tun-type gue", "You need to supply the 'tun-port' option for the 'gue' tunnel type"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -i --tun-port 6080", "Illegal 'tun-port' option with the 'ipip' tunnel type"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -i --tun-type gre --tun-remcsum", "Illegal 'tun-remcsum' option with the 'gre' tunnel type"),
        ("-a -t 198.18.0.1:80 -r 198.19.0.1 -i --tun-type gue --tun-port 1 --tun-csum --tun-remcsum", "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type"),
        ("-L -c --stats", "options conflicts in the list command"),
        ("-L --timeout --persistent-conn", "options conflicts in the list command"),
        ("--start-daemon primary", "illegal start-daemon parameter specified"),
        ("--stop-daemon primary", "illegal start_daemon specified"),
        ("--start-daemon master --syncid 256", "illegal syncid specified"),
        ("--start-daemon master --mcast-group 198.18.0.1", "invalid IPv4 mcast-group `198.18.0.1'"),
        ("--start-daemon master --mcast-group 2001:db8::1", "invalid IPv6 mcast-group `2001:db8::1'"),
        ("--start-daemon master --mcast-port 0", "illegal mcast-port specified"),
        ("--start-daemon master --mcast-ttl 256", "illegal mcast-ttl specified"),
        ("--start-daemon master --sync-maxlen 65508", "illegal sync-maxlen specified"),
        ("-A -6 -f 1", "-6 used before -f\n"),
        // A command after the first is an "invalid option" in ipvsadm 1.31: its "multiple
        // commands specified" cannot be reached.
        ("-A -t 198.18.0.1:80 -L", "invalid option `-L'"),
        ("-Lh", "invalid option `-Lh'"),
        ("-L --start-daemon master", "invalid option `master'"),
    ];
    for (line, message) in cases {
        assert_eq!(refused(line), (message.to_string(), 2), "{line}");
    }
    // Values are checked as their options are read: the first bad one wins.
    assert_eq!(
        refused("-A -w 70000 -t 198.18.0.1"),
        ("illegal weight specified".to_string(), 2)
    );
}

#[test]
fn popt_and_usage_errors() {
    let try_help = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.".to_string();
    for line in [
        "",
        "foo",
        "-n -L",
        "-t 198.18.0.1:80 -A",
        "--bogus",
        "-Q",
        "-- -L",
    ] {
        if line.is_empty() {
            continue;
        }
        assert_eq!(refused(line), (try_help.clone(), 255), "{line}");
    }
    assert_eq!(
        ParseError::TryHelp.message("/usr/sbin/ipvsadm"),
        "Try `/usr/sbin/ipvsadm -h' or '/usr/sbin/ipvsadm --help' for more information."
    );
    assert_eq!(refused("-L -Q"), ("-Q: unknown option".to_string(), 255));
    assert_eq!(refused("-LQ"), ("-LQ: unknown option".to_string(), 255));
    assert_eq!(
        refused("-L --nosuch"),
        ("--nosuch: unknown option".to_string(), 255)
    );
    assert_eq!(refused("-A -t"), ("-t: missing argument".to_string(), 255));
    assert_eq!(refused("-At"), ("-At: missing argument".to_string(), 255));
    assert_eq!(
        parse(&["-L", "-Q"]).unwrap_err(),
        ParseError::Popt {
            option: "-Q".to_string(),
            error: PoptError::UnknownOption,
        }
    );
}

#[test]
fn kernel_side_errors_come_from_the_model() {
    let mut ipvs = Ipvs::new();
    run(&mut ipvs, "-A -t 198.18.0.1:80");
    run(&mut ipvs, "-a -t 198.18.0.1:80 -r 198.19.0.1");
    let cases: &[(&str, &str)] = &[
        ("-A -t 198.18.0.1:80", "Service already exists"),
        ("-E -t 198.18.0.2:80", "No such service"),
        ("-D -t 198.18.0.2:80", "No such service"),
        ("-Z -t 198.18.0.2:80", "No such service"),
        (
            "-A -t 198.18.0.2:80 -s fancy",
            "Scheduler or persistence engine not found",
        ),
        ("-a -t 198.18.0.2:80 -r 198.19.0.1", "Service not defined"),
        ("-e -t 198.18.0.2:80 -r 198.19.0.1", "Service not defined"),
        ("-d -t 198.18.0.2:80 -r 198.19.0.1", "Service not defined"),
        (
            "-a -t 198.18.0.1:80 -r 198.19.0.1",
            "Destination already exists",
        ),
        ("-e -t 198.18.0.1:80 -r 198.19.0.9", "No such destination"),
        ("-d -t 198.18.0.1:80 -r 198.19.0.9", "No such destination"),
        (
            "-a -t 198.18.0.1:80 -r 198.19.0.2 -x 5 -y 6",
            "Numerical result out of range",
        ),
        (
            "-a -t 198.18.0.1:80 -r 224.0.0.1",
            "Invalid operation.  Possibly wrong module version, address not unicast, ...",
        ),
    ];
    for (line, message) in cases {
        let e = apply(&mut ipvs, &cmd(line)).unwrap_err();
        assert_eq!(
            (e.to_string(), e.exit_code()),
            (message.to_string(), 255),
            "{line}"
        );
    }
    run(&mut ipvs, "-Z");
    run(&mut ipvs, "-Z -t 198.18.0.1:80");
    run(&mut ipvs, "-d -t 198.18.0.1:80 -r 198.19.0.1");
    run(&mut ipvs, "-D -t 198.18.0.1:80");
    assert!(ipvs.services().is_empty());
    assert_eq!(apply(&mut ipvs, &cmd("-L")), Ok(false));
    assert_eq!(apply(&mut ipvs, &cmd("--set 1 2 3")), Ok(false));
}

#[test]
fn restore_lines() {
    assert_eq!(
        tokenize_line("ipvsadm -A\t-t 198.18.0.1:80 \r"),
        vec!["-A", "-t", "198.18.0.1:80"]
    );
    assert_eq!(parse_line("   ", &NumericOnly), Ok(None));
    assert_eq!(parse_line("ipvsadm", &NumericOnly), Ok(None));
    assert_eq!(
        parse_line("ipvsadm -C", &NumericOnly),
        Ok(Some(Command::Clear))
    );
    assert_eq!(parse_line("-R", &NumericOnly), Err(ParseError::TryHelp));

    // A refused operation is reported and the restore goes on; the exit status is the last
    // line's. An ipvsadm-side error ends the restore.
    let mut ipvs = Ipvs::new();
    let r = restore(
        &mut ipvs,
        "-A -t 198.18.0.1:80\n-A -t 198.18.0.1:80\n\n-a -t 198.18.0.1:80 -r 198.19.0.1\n-L -n\n",
        &NumericOnly,
    );
    assert_eq!(r.errors, vec!["Service already exists".to_string()]);
    assert_eq!(r.exit_code, 0);
    assert_eq!(r.other, vec![cmd("-L -n")]);
    let r = restore(&mut ipvs, "-D -t 198.18.0.9:80\n-L -Q\n", &NumericOnly);
    assert_eq!(
        r.errors,
        vec![
            "No such service".to_string(),
            "-Q: unknown option".to_string()
        ]
    );
    assert_eq!(r.exit_code, 255);
    let r = restore(
        &mut ipvs,
        "-A -t 198.18.0.2:80\n# a comment\n-A -t 198.18.0.3:80\n",
        &NumericOnly,
    );
    assert_eq!(
        (r.errors, r.exit_code),
        (
            vec!["Try `ipvsadm -h' or 'ipvsadm --help' for more information.".to_string()],
            255
        )
    );
    assert_eq!(ipvs.services().len(), 2);
    let r = restore(
        &mut ipvs,
        "-A -t 198.18.0.4\n-A -t 198.18.0.5:80\n",
        &NumericOnly,
    );
    assert_eq!(
        (r.errors, r.exit_code),
        (
            vec!["Zero port specified for non-persistent service".to_string()],
            2
        )
    );
    assert_eq!(ipvs.services().len(), 2);
}

#[test]
fn help_and_version() {
    assert_eq!(
        version_text(),
        "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n"
    );
    let help = help_text("ipvsadm");
    let lines: Vec<&str> = help.lines().collect();
    assert_eq!(lines.len(), 82);
    assert_eq!(
        lines[0],
        "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)"
    );
    assert_eq!(lines[1], "Usage:");
    assert_eq!(
        lines[2],
        "  ipvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]"
    );
    assert_eq!(lines[14], "  ipvsadm -h");
    assert_eq!(lines[15], "");
    assert_eq!(lines[16], "Commands:");
    assert!(help.contains(
        "  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,\n                                      the default scheduler is wlc.\n"
    ));
    assert!(help.ends_with(
        "  --sched-flags  -b flags             scheduler flags (comma-separated)\nDaemon Options:\n  --syncid sid                        syncid for connection sync (default=255)\n  --sync-maxlen length                Max sync message length (default=1472)\n  --mcast-interface interface         multicast interface for connection sync\n  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)\n  --mcast-port port                   UDP port (default=8848)\n  --mcast-ttl ttl                     Multicast TTL (default=1)\n"
    ));
    assert!(help_text("/sbin/ipvsadm").contains("\n  /sbin/ipvsadm -Z [virtual-service]\n"));
    assert!(!help.contains("twos"));
}

#[test]
fn listing_a_resolver_and_the_default_parser() {
    // `parse` knows the common port names, not host names; `parse_with(NumericOnly)` neither.
    assert_eq!(
        cmd("-A -t 198.18.0.1:https"),
        Command::AddService {
            key: tcp("198.18.0.1", 443),
            conf: ServiceConf::new(Family::V4),
        }
    );
    assert_eq!(
        ipvsadm::parse_with(&["-A", "-t", "198.18.0.1:https"], &NumericOnly)
            .unwrap_err()
            .to_string(),
        "illegal virtual server address[:port] specified"
    );
    struct Hosts;
    impl Resolver for Hosts {
        fn host_to_addr(&self, name: &str) -> Option<std::net::Ipv4Addr> {
            (name == "vip.example").then(|| "198.18.0.7".parse().unwrap())
        }
    }
    assert_eq!(
        ipvsadm::parse_with(
            &["-A", "-t", "vip.example:80", "-p", "-M", "vip.example"],
            &Hosts
        ),
        Ok(Command::AddService {
            key: tcp("198.18.0.7", 80),
            conf: ServiceConf {
                persistence: Some(360),
                netmask: 0xc612_0007,
                ..ServiceConf::new(Family::V4)
            },
        })
    );
}

mod any_input {
    use super::*;
    use proptest::prelude::*;

    const TOKENS: &[&str] = &[
        "-A",
        "-E",
        "-D",
        "-C",
        "-a",
        "-e",
        "-d",
        "-L",
        "-l",
        "-Z",
        "-S",
        "-R",
        "-h",
        "-v",
        "--set",
        "--start-daemon",
        "--stop-daemon",
        "master",
        "-t",
        "-u",
        "--sctp-service",
        "-f",
        "-6",
        "-s",
        "rr",
        "sh",
        "mh",
        "wrr",
        "-p",
        "-M",
        "-r",
        "-m",
        "-i",
        "-g",
        "-w",
        "-x",
        "-y",
        "-n",
        "-c",
        "--stats",
        "--rate",
        "--thresholds",
        "--persistent-conn",
        "--tun-info",
        "--nosort",
        "-X",
        "-b",
        "sh-port,sh-fallback",
        "flag-1",
        "--tun-type",
        "gue",
        "gre",
        "--tun-port",
        "6080",
        "--tun-csum",
        "--tun-nocsum",
        "--pe",
        "sip",
        "-o",
        "198.18.0.1:80",
        "198.18.0.1",
        "198.19.0.1",
        "198.19.0.2:8080",
        "[2001:db8::1]:80",
        "2001:db8::2",
        "0",
        "1",
        "5",
        "65536",
        "255.255.0.0",
        "64",
        "-",
        "--",
        "=",
        "-p=",
        "-Ln",
        "-At",
        "--timeout",
        "--daemon",
        "--mcast-group",
        "ff02::1",
        "ipvsadm",
    ];

    fn token() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => proptest::sample::select(TOKENS).prop_map(str::to_string),
            1 => "[-:\\[\\]=.,0-9a-z]{0,8}",
        ]
    }

    const SERVICES: &[&str] = &[
        "-t 198.18.0.1:80",
        "-t 198.18.0.1:0",
        "-t 192.168.1.1:80",
        "-u 198.18.0.1:53",
        "-t [2001:db8::1]:80",
        "-f 3000000000",
        "-f 2 -6",
    ];
    const DESTS: &[&str] = &[
        "198.19.0.1",
        "198.19.0.2:8080",
        "10.0.0.1",
        "192.168.1.1:80",
        "2001:db8::10",
        "[2001:db8::11]:8080",
    ];
    const SERVICE_OPTS: &[&str] = &[
        "",
        "-s rr",
        "-s wrr",
        "-s sh -b sh-port",
        "-s mh -b mh-fallback,mh-port",
        "-s lc",
        "-p",
        "-p 60",
        "-p -M 255.255.255.0",
        "-p 10 -M 64",
        "-o",
        "-p --pe sip",
        "-b flag-2",
    ];
    const DEST_OPTS: &[&str] = &[
        "",
        "-m",
        "-g",
        "-i",
        "-m -w 0",
        "-w 7 -x 10 -y 5",
        "-i --tun-type gue --tun-port 6080",
        "-i --tun-type gre --tun-csum",
        "-i --tun-type gue --tun-port 1 --tun-remcsum",
    ];

    /// A plausible command line (mostly accepted), as words.
    fn command() -> impl Strategy<Value = Vec<String>> {
        let pick = |v: &'static [&'static str]| proptest::sample::select(v);
        (
            pick(&[
                "-A", "-A", "-A", "-E", "-D", "-a", "-a", "-a", "-a", "-a", "-e", "-d", "-Z",
            ]),
            pick(SERVICES),
            pick(SERVICE_OPTS),
            pick(DESTS),
            pick(DEST_OPTS),
        )
            .prop_map(|(c, svc, sopt, dest, dopt)| {
                let line = match c {
                    "-A" | "-E" => format!("{c} {svc} {sopt}"),
                    "-D" | "-Z" => format!("{c} {svc}"),
                    "-d" => format!("{c} {svc} -r {dest}"),
                    _ => format!("{c} {svc} -r {dest} {dopt}"),
                };
                line.split_whitespace().map(str::to_string).collect()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Any command lines: nothing panics, every listing renders, and whatever table they
        /// build saves to rules that rebuild it.
        #[test]
        fn parse_apply_list_save(lines in proptest::collection::vec(
            prop_oneof![3 => command(), 1 => proptest::collection::vec(token(), 0..9)], 1..60)
        ) {
            let mut ipvs = Ipvs::new();
            for line in &lines {
                let args: Vec<&str> = line.iter().map(String::as_str).collect();
                if let Ok(c) = parse(&args) {
                    let _ = apply(&mut ipvs, &c);
                    if let Command::List(opts) = &c {
                        let _ = list(&ipvs, opts, &ListContext::default());
                    }
                }
                let _ = parse_line(&line.join(" "), &NumericOnly);
            }
            for format in [numeric(), ListFormat { stats: true, exact: true, ..numeric() },
                           ListFormat { tun_info: true, nosort: true, ..ListFormat::default() }] {
                list_all(&ipvs, &format, &ListContext { names: &WellKnownServices, ..ListContext::default() });
            }
            let rules = save(&ipvs, true, &NumericOnly);
            let mut copy = Ipvs::new();
            let r = restore(&mut copy, &rules, &NumericOnly);
            prop_assert_eq!(r.errors, Vec::<String>::new(), "{}", rules);
            prop_assert_eq!(save(&copy, true, &NumericOnly), rules);
        }
    }
}

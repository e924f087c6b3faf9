//! The connection table as `ipvsadm -L -n -c` shows it: Example C of spec §13.5 rebuilt
//! through the engine, state names and expiry included; and the public view of an entry.

mod engine_support;

use std::time::Duration;

use engine_support::*;
use lb_core::conn::{Conn, ConnState, MemoryBudget};
use lb_core::dest::{DestId, FwdMethod};
use lb_core::engine::Settings;
use lb_core::ipvsadm::{self, ListFormat, NumericOnly};
use lb_core::proto::{sctp, tcp};

#[test]
fn example_c() {
    let e = engine(
        &[
            "-A -t 192.168.1.100:80 -s rr",
            "-a -t 192.168.1.100:80 -r 10.0.0.1:80 -m",
            "-a -t 192.168.1.100:80 -r 10.0.0.2:80 -m",
            "-A -t 192.168.1.100:443 -s rr -p 360 -M 255.255.255.0",
            "-a -t 192.168.1.100:443 -r 10.0.0.1:443 -g",
            "-A -u 192.168.1.100:53 -s sh -b sh-fallback,sh-port",
            "-a -u 192.168.1.100:53 -r 10.0.0.3:53 -i -w 2",
            "-A -f 1 -s wlc -p 1800",
            "-a -f 1 -r 10.0.0.4:0 -m",
        ],
        Settings::default(),
    );
    let web = "192.168.1.100:80";
    // 192.168.1.7 first: rr gives it 10.0.0.2 (added last); the server closes at 975 s.
    e.process(&tcp("192.168.1.7:40112", web, SYN), at(900.0));
    e.process(
        &tcp("10.0.0.2:80", "192.168.1.7:40112", SYN | ACK),
        at(900.0),
    );
    e.process(&tcp("192.168.1.7:40112", web, ACK), at(900.0));
    e.process(
        &tcp("10.0.0.2:80", "192.168.1.7:40112", FIN | ACK),
        at(975.0),
    );
    // 192.168.1.5 on 10.0.0.1, last packet at 993 s.
    e.process(&tcp("192.168.1.5:52134", web, SYN), at(990.0));
    e.process(
        &tcp("10.0.0.1:80", "192.168.1.5:52134", SYN | ACK),
        at(990.0),
    );
    e.process(&tcp("192.168.1.5:52134", web, ACK), at(993.0));
    // A persistent HTTPS client at 993 s, a DNS query at 987 s, a marked packet at 995 s.
    e.process(
        &tcp("192.168.1.5:52140", "192.168.1.100:443", SYN),
        at(993.0),
    );
    e.process(&udp("192.168.1.9:33211", "192.168.1.100:53"), at(987.0));
    e.process(
        &tcp("192.168.1.5:52200", "192.168.1.100:8080", SYN).with_fwmark(1),
        at(995.0),
    );

    let now = at(1000.0);
    let all = e.list_entries(now);
    // The table also holds the HTTPS and marked connections themselves.
    assert_eq!(all.len(), 7);
    let pick = |proto: u8, client: &str, vip: &str| {
        all.iter()
            .find(|c| c.protocol == proto && c.client == ep(client) && c.vip == ep(vip))
            .cloned()
            .unwrap_or_else(|| panic!("{client} → {vip}"))
    };
    let shown = [
        pick(6, "192.168.1.5:52134", web),
        pick(6, "192.168.1.7:40112", web),
        pick(6, "192.168.1.0:0", "192.168.1.100:443"),
        pick(17, "192.168.1.9:33211", "192.168.1.100:53"),
        pick(0, "192.168.1.5:0", "0.0.0.1:0"),
    ];
    let format = ListFormat {
        numeric: true,
        ..ListFormat::default()
    };
    assert_eq!(
        ipvsadm::list_connections(&shown, &format, &NumericOnly),
        "IPVS connection entries\n\
         pro expire state       source             virtual            destination\n\
         TCP 14:53  ESTABLISHED 192.168.1.5:52134  192.168.1.100:80   10.0.0.1:80\n\
         TCP 01:35  FIN_WAIT    192.168.1.7:40112  192.168.1.100:80   10.0.0.2:80\n\
         TCP 05:53  NONE        192.168.1.0:0      192.168.1.100:443  10.0.0.1:443\n\
         UDP 04:47  UDP         192.168.1.9:33211  192.168.1.100:53   10.0.0.3:53\n\
         IP  29:55  NONE        192.168.1.5:0      0.0.0.1:0          10.0.0.4:0\n"
    );
}

#[test]
fn state_names() {
    assert_eq!(ConnState::Tcp(tcp::State::SynAck).name(), "SYNACK");
    assert_eq!(ConnState::Udp.name(), "UDP");
    assert_eq!(
        ConnState::Sctp(sctp::State::CookieEchoed).name(),
        "C-ECHOED"
    );
    assert_eq!(ConnState::Template { assured: true }.name(), "ASSURED");
    assert_eq!(ConnState::Template { assured: false }.name(), "NONE");
}

#[test]
fn list_entry_rounds_expiry_down() {
    let c = Conn {
        protocol: 132,
        client: ep("[2001:db8::5]:5000"),
        vip: ep("[2001:db8::1]:3868"),
        dest_addr: ep("[2001:db8:1::11]:3868"),
        dest: DestId(3),
        method: FwdMethod::Masq,
        state: ConnState::Sctp(sctp::State::Established),
        flags: 0x100,
        timeout: Duration::from_secs(900),
        expires_in: Duration::from_millis(61_999),
        in_pkts: 4,
        n_control: 0,
        controlled: false,
    };
    assert!(!c.is_template());
    let entry = c.list_entry();
    assert_eq!(
        (entry.expire_secs, entry.state.as_str()),
        (61, "ESTABLISHED")
    );
    assert_eq!(
        ipvsadm::list_connections(
            &[entry],
            &ListFormat {
                numeric: true,
                ..ListFormat::default()
            },
            &NumericOnly
        )
        .lines()
        .nth(2),
        Some("SCTP 01:01  ESTABLISHED [2001:db8::5]:5000 [2001:db8::1]:3868 [2001:db8:1::11]:3868")
    );
}

#[test]
fn memory_budget_is_shared_and_observable() {
    let b = MemoryBudget::new(1000);
    assert_eq!((b.used(), b.limit(), b.available()), (0, 1000, 1000));
    b.set_limit(10);
    assert_eq!(b.available(), 10);
}

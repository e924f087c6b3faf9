//! The protocol state machines against the spec's tables (§5) and the kernel's, cell by cell,
//! and typical connections traced packet by packet.

use std::time::Duration;

use lb_core::proto::tcp::{self, ACK, FIN, RST, SYN};
use lb_core::proto::{
    activity_move, sctp, table_direction, udp, ActivityMove, Direction, TimeoutOutOfRange,
    Timeouts, UserTimeouts, MAX_TIMEOUT_SECS,
};

const PSH: u8 = 0x08;
const URG: u8 = 0x20;

// ---------------------------------------------------------------------------------------------
// TCP states (§5.1)

/// §5.1 as printed in the spec: number, name, timeout, counts as.
const TCP_STATES_SPEC: &str = "
| 0 | NONE | 2 | inactive |
| 1 | ESTABLISHED | 900 | active |
| 2 | SYN_SENT | 120 | active |
| 3 | SYN_RECV | 60 | active |
| 4 | FIN_WAIT | 120 | inactive |
| 5 | TIME_WAIT | 120 | inactive |
| 6 | CLOSE | 10 | inactive |
| 7 | CLOSE_WAIT | 60 | inactive |
| 8 | LAST_ACK | 30 | inactive |
| 9 | LISTEN | 120 | inactive |
| 10 | SYNACK | 120 | active |
";

fn cells(line: &str) -> Vec<&str> {
    line.split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn tcp_states_names_timeouts_and_activity_match_the_spec() {
    let timeouts = Timeouts::default();
    let rows: Vec<Vec<&str>> = TCP_STATES_SPEC
        .lines()
        .filter(|l| !l.is_empty())
        .map(cells)
        .collect();
    assert_eq!(rows.len(), tcp::State::COUNT);
    for row in rows {
        let index: usize = row[0].parse().unwrap();
        let state = tcp::State::from_index(index).unwrap();
        assert_eq!(state.index(), index);
        assert_eq!(state.name(), row[1]);
        assert_eq!(state.to_string(), row[1]);
        let secs: u64 = row[2].parse().unwrap();
        assert_eq!(u64::from(state.default_timeout_secs()), secs, "{}", row[1]);
        assert_eq!(timeouts.tcp(state), Duration::from_secs(secs), "{}", row[1]);
        assert_eq!(state.is_active(), row[3] == "active", "{}", row[1]);
    }
    assert_eq!(tcp::State::from_index(11), None);
    assert_eq!(format!("{:<11}|", tcp::State::Close), "CLOSE      |");
}

// ---------------------------------------------------------------------------------------------
// TCP transitions (§5.2)

/// §5.2's normal table, as printed in the spec.
const TCP_NORMAL_SPEC: &str = "
| INPUT syn | SR | ES | ES | SR | SR | SR | SR | SR | SR | SR | SR |
| INPUT fin | CL | CW | SS | TW | TW | TW | CL | CW | LA | LI | TW |
| INPUT ack | ES | ES | SS | ES | FW | TW | CL | CW | CL | LI | ES |
| INPUT rst | CL | CL | CL | SR | CL | CL | CL | CL | LA | LI | SR |
| OUTPUT syn | SS | ES | SS | SR | SS | SS | SS | SS | SS | LI | SR |
| OUTPUT fin | TW | FW | SS | TW | FW | TW | CL | TW | LA | LI | TW |
| OUTPUT ack | ES | ES | SS | ES | FW | TW | CL | CW | LA | ES | ES |
| OUTPUT rst | CL | CL | SS | CL | CL | TW | CL | CL | CL | CL | CL |
| IN_ONLY syn | SR | ES | ES | SR | SR | SR | SR | SR | SR | SR | SR |
| IN_ONLY fin | CL | FW | SS | TW | FW | TW | CL | CW | LA | LI | TW |
| IN_ONLY ack | ES | ES | SS | ES | FW | TW | CL | CW | CL | LI | ES |
| IN_ONLY rst | CL | CL | CL | SR | CL | CL | CL | CL | LA | LI | CL |
";

/// §5.2's secure_tcp table: the cells that differ from the normal one ("from→to").
const TCP_SECURE_DIFFS_SPEC: &[(&str, &str)] = &[
    ("INPUT syn", "SA→SA"),
    ("INPUT fin", "SA→SA"),
    ("INPUT ack", "SR→SR, SA→SA"),
    ("INPUT rst", "SA→CL"),
    ("OUTPUT syn", "SR→SA, SA→SA"),
    (
        "IN_ONLY syn",
        "NO→SA, FW→SA, TW→SA, CL→SA, CW→SA, LA→SA, LI→SA, SA→SA",
    ),
];

const TCP_COLUMNS: [&str; 11] = [
    "NO", "ES", "SS", "SR", "FW", "TW", "CL", "CW", "LA", "LI", "SA",
];

fn tcp_abbrev(abbrev: &str) -> tcp::State {
    let index = TCP_COLUMNS.iter().position(|c| *c == abbrev).unwrap();
    tcp::State::from_index(index).unwrap()
}

fn tcp_row_key(key: &str) -> (Direction, u8) {
    let (dir, event) = key.split_once(' ').unwrap();
    let direction = match dir {
        "INPUT" => Direction::Input,
        "OUTPUT" => Direction::Output,
        "IN_ONLY" => Direction::InputOnly,
        other => panic!("direction {other}"),
    };
    let flags = match event {
        "syn" => SYN,
        "fin" => FIN,
        "ack" => ACK,
        "rst" => RST,
        other => panic!("event {other}"),
    };
    (direction, flags)
}

/// The normal table as (row key, 11 next states).
fn tcp_normal_spec() -> Vec<(String, Vec<tcp::State>)> {
    TCP_NORMAL_SPEC
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let row = cells(line);
            (
                row[0].to_string(),
                row[1..].iter().map(|a| tcp_abbrev(a)).collect(),
            )
        })
        .collect()
}

#[test]
fn tcp_normal_table_matches_the_spec_cell_by_cell() {
    let rows = tcp_normal_spec();
    assert_eq!(rows.len(), 12);
    let mut checked = 0;
    for (key, next) in rows {
        let (direction, flags) = tcp_row_key(&key);
        assert_eq!(next.len(), tcp::State::COUNT);
        for (from, want) in tcp::State::ALL.into_iter().zip(next) {
            let got = tcp::transition(tcp::Table::Normal, direction, from, flags);
            assert_eq!(got, want, "normal {key} from {from}");
            let event = tcp::Event::from_flags(flags).unwrap();
            assert_eq!(
                tcp::next_state(tcp::Table::Normal, direction, event, from),
                want
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 132);
}

#[test]
fn tcp_secure_table_matches_the_spec_cell_by_cell() {
    let mut checked = 0;
    for (key, mut next) in tcp_normal_spec() {
        if let Some((_, diffs)) = TCP_SECURE_DIFFS_SPEC.iter().find(|(k, _)| *k == key) {
            for diff in diffs.split(", ") {
                let (from, to) = diff.split_once('→').unwrap();
                next[tcp_abbrev(from).index()] = tcp_abbrev(to);
            }
        }
        let (direction, flags) = tcp_row_key(&key);
        for (from, want) in tcp::State::ALL.into_iter().zip(next) {
            let got = tcp::transition(tcp::Table::Secure, direction, from, flags);
            assert_eq!(got, want, "secure {key} from {from}");
            checked += 1;
        }
    }
    assert_eq!(checked, 132);
}

#[test]
fn tcp_event_priority_is_rst_syn_fin_ack() {
    use tcp::Event;
    let cases: &[(u8, Option<Event>)] = &[
        (SYN, Some(Event::Syn)),
        (SYN | ACK, Some(Event::Syn)),
        (SYN | FIN, Some(Event::Syn)),
        (RST, Some(Event::Rst)),
        (RST | ACK, Some(Event::Rst)),
        (RST | SYN | FIN | ACK, Some(Event::Rst)),
        (FIN, Some(Event::Fin)),
        (FIN | ACK, Some(Event::Fin)),
        (FIN | PSH | ACK, Some(Event::Fin)),
        (ACK, Some(Event::Ack)),
        (PSH | ACK, Some(Event::Ack)),
        (URG | ACK, Some(Event::Ack)),
        (0, None),
        (PSH, None),
        (URG, None),
        (PSH | URG | 0xC0, None),
    ];
    for &(flags, want) in cases {
        assert_eq!(Event::from_flags(flags), want, "flags {flags:#04x}");
    }
}

#[test]
fn tcp_segment_without_syn_fin_ack_rst_closes_from_every_state() {
    for table in [tcp::Table::Normal, tcp::Table::Secure] {
        for direction in Direction::ALL {
            for from in tcp::State::ALL {
                for flags in [0, PSH, URG, PSH | URG] {
                    assert_eq!(
                        tcp::transition(table, direction, from, flags),
                        tcp::State::Close
                    );
                }
            }
        }
    }
}

#[test]
fn tcp_connection_creation_needs_syn_without_rst_unless_sloppy() {
    assert!(tcp::creates_connection(SYN, false));
    assert!(tcp::creates_connection(SYN | ACK, false));
    assert!(!tcp::creates_connection(ACK, false));
    assert!(!tcp::creates_connection(FIN | ACK, false));
    assert!(!tcp::creates_connection(RST | SYN, false));
    assert!(!tcp::creates_connection(0, false));
    assert!(tcp::creates_connection(ACK, true));
    assert!(tcp::creates_connection(0, true));
    assert!(!tcp::creates_connection(RST, true));
    assert!(!tcp::creates_connection(RST | ACK, true));
}

// ---------------------------------------------------------------------------------------------
// The NOOUTPUT rule and the counters

#[test]
fn direction_rule_uses_input_only_until_the_first_output_packet() {
    assert_eq!(
        table_direction(Direction::Input, true),
        (Direction::InputOnly, true)
    );
    assert_eq!(
        table_direction(Direction::Output, true),
        (Direction::Output, false)
    );
    assert_eq!(
        table_direction(Direction::InputOnly, true),
        (Direction::InputOnly, true)
    );
    assert_eq!(
        table_direction(Direction::Input, false),
        (Direction::Input, false)
    );
    assert_eq!(
        table_direction(Direction::Output, false),
        (Direction::Output, false)
    );
    assert_eq!(
        table_direction(Direction::InputOnly, false),
        (Direction::InputOnly, false)
    );
}

#[test]
fn activity_moves_follow_the_inactive_flag() {
    assert_eq!(activity_move(true, true), Some(ActivityMove::ToActive));
    assert_eq!(activity_move(false, false), Some(ActivityMove::ToInactive));
    assert_eq!(activity_move(true, false), None);
    assert_eq!(activity_move(false, true), None);
}

/// A connection as the connection table would keep it, for the traces.
struct TcpConn {
    state: tcp::State,
    no_output: bool,
    inactive: bool,
    timeout: Duration,
    assured: bool,
    active_moves: Vec<ActivityMove>,
}

impl TcpConn {
    fn new(no_output: bool) -> TcpConn {
        TcpConn {
            state: tcp::State::None,
            no_output,
            inactive: true,
            timeout: Timeouts::NEW_CONNECTION,
            assured: false,
            active_moves: Vec::new(),
        }
    }

    fn packet(&mut self, table: tcp::Table, timeouts: &Timeouts, dir: Direction, flags: u8) {
        let update = tcp::on_packet(table, timeouts, dir, self.no_output, self.state, flags);
        assert_eq!(update.from, self.state);
        if update.changed() {
            if let Some(mv) = activity_move(self.inactive, update.state.is_active()) {
                self.inactive = mv == ActivityMove::ToInactive;
                self.active_moves.push(mv);
            }
        }
        self.assured |= update.assure_control;
        self.state = update.state;
        self.no_output = update.no_output;
        self.timeout = update.timeout;
    }
}

type TcpStep = (Direction, u8, &'static str, u64, bool);

fn run_tcp_trace(table: tcp::Table, no_output: bool, steps: &[TcpStep]) -> TcpConn {
    let timeouts = Timeouts::default();
    let mut conn = TcpConn::new(no_output);
    assert_eq!(conn.timeout, Duration::from_secs(3));
    for (i, &(dir, flags, name, secs, active)) in steps.iter().enumerate() {
        conn.packet(table, &timeouts, dir, flags);
        assert_eq!(conn.state.name(), name, "step {i}");
        assert_eq!(conn.timeout, Duration::from_secs(secs), "step {i}");
        assert_eq!(!conn.inactive, active, "step {i} activity");
    }
    conn
}

const IN: Direction = Direction::Input;
const OUT: Direction = Direction::Output;

#[test]
fn tcp_trace_direct_routing() {
    let conn = run_tcp_trace(
        tcp::Table::Normal,
        true,
        &[
            (IN, SYN, "SYN_RECV", 60, true),
            (IN, ACK, "ESTABLISHED", 900, true),
            (IN, PSH | ACK, "ESTABLISHED", 900, true),
            (IN, FIN | ACK, "FIN_WAIT", 120, false),
            (IN, ACK, "FIN_WAIT", 120, false),
            (IN, ACK, "FIN_WAIT", 120, false),
            (IN, RST, "CLOSE", 10, false),
        ],
    );
    assert!(conn.no_output, "DR never sees a reply");
    assert!(conn.assured);
    assert_eq!(
        conn.active_moves,
        [ActivityMove::ToActive, ActivityMove::ToInactive]
    );
}

#[test]
fn tcp_trace_nat_client_closes_first() {
    let conn = run_tcp_trace(
        tcp::Table::Normal,
        false,
        &[
            (IN, SYN, "SYN_RECV", 60, true),
            (OUT, SYN | ACK, "SYN_RECV", 60, true),
            (IN, ACK, "ESTABLISHED", 900, true),
            (IN, PSH | ACK, "ESTABLISHED", 900, true),
            (OUT, PSH | ACK, "ESTABLISHED", 900, true),
            (IN, FIN | ACK, "CLOSE_WAIT", 60, false),
            (OUT, ACK, "CLOSE_WAIT", 60, false),
            (OUT, FIN | ACK, "TIME_WAIT", 120, false),
            (IN, ACK, "TIME_WAIT", 120, false),
        ],
    );
    assert!(!conn.no_output);
    assert!(conn.assured);
}

#[test]
fn tcp_trace_nat_server_closes_first() {
    run_tcp_trace(
        tcp::Table::Normal,
        false,
        &[
            (IN, SYN, "SYN_RECV", 60, true),
            (OUT, SYN | ACK, "SYN_RECV", 60, true),
            (IN, ACK, "ESTABLISHED", 900, true),
            (OUT, FIN | ACK, "FIN_WAIT", 120, false),
            (IN, ACK, "FIN_WAIT", 120, false),
            (IN, FIN | ACK, "TIME_WAIT", 120, false),
            (OUT, ACK, "TIME_WAIT", 120, false),
        ],
    );
}

#[test]
fn tcp_trace_nat_connection_with_noutput_set_switches_on_first_reply() {
    // NOOUTPUT set: input packets use INPUT_ONLY until the first reply, then INPUT.
    let timeouts = Timeouts::default();
    let mut conn = TcpConn::new(true);
    conn.packet(tcp::Table::Normal, &timeouts, IN, SYN);
    conn.packet(tcp::Table::Normal, &timeouts, OUT, SYN | ACK);
    assert!(!conn.no_output);
    conn.packet(tcp::Table::Normal, &timeouts, IN, ACK);
    assert_eq!(conn.state, tcp::State::Established);
    // A client FIN now goes through INPUT (→ CLOSE_WAIT), not INPUT_ONLY (→ FIN_WAIT).
    conn.packet(tcp::Table::Normal, &timeouts, IN, FIN | ACK);
    assert_eq!(conn.state, tcp::State::CloseWait);
}

#[test]
fn tcp_trace_secure_nat_needs_the_servers_synack() {
    let conn = run_tcp_trace(
        tcp::Table::Secure,
        false,
        &[
            (IN, SYN, "SYN_RECV", 60, true),
            (IN, ACK, "SYN_RECV", 60, true),
            (OUT, SYN | ACK, "SYNACK", 120, true),
            (IN, ACK, "SYNACK", 120, true),
            (OUT, PSH | ACK, "ESTABLISHED", 900, true),
            (IN, RST, "CLOSE", 10, false),
        ],
    );
    assert!(conn.assured);
}

#[test]
fn tcp_trace_secure_direct_routing_parks_syn_floods_in_synack() {
    run_tcp_trace(
        tcp::Table::Secure,
        true,
        &[
            (IN, SYN, "SYNACK", 120, true),
            (IN, SYN, "SYNACK", 120, true),
            (IN, ACK, "ESTABLISHED", 900, true),
            (IN, FIN | ACK, "FIN_WAIT", 120, false),
            (IN, SYN, "SYNACK", 120, true),
        ],
    );
}

#[test]
fn tcp_segment_without_flags_closes_and_state_change_needs_a_change() {
    let timeouts = Timeouts::default();
    let update = tcp::on_packet(
        tcp::Table::Normal,
        &timeouts,
        IN,
        false,
        tcp::State::Established,
        PSH,
    );
    assert_eq!(update.state, tcp::State::Close);
    assert_eq!(update.timeout, Duration::from_secs(10));
    assert!(update.changed());
    assert!(!update.assure_control);

    // Re-entering ESTABLISHED is no change and does not assure again.
    let update = tcp::on_packet(
        tcp::Table::Normal,
        &timeouts,
        IN,
        false,
        tcp::State::Established,
        ACK,
    );
    assert!(!update.changed());
    assert!(!update.assure_control);
    assert_eq!(update.timeout, Duration::from_secs(900));
}

#[test]
fn tcp_trace_uses_timeouts_set_with_ipvsadm_set() {
    let mut timeouts = Timeouts::default();
    timeouts
        .set(UserTimeouts {
            tcp: 3600,
            tcp_fin: 30,
            udp: 0,
        })
        .unwrap();
    let mut conn = TcpConn::new(true);
    conn.packet(tcp::Table::Normal, &timeouts, IN, SYN);
    assert_eq!(conn.timeout, Duration::from_secs(60));
    conn.packet(tcp::Table::Normal, &timeouts, IN, ACK);
    assert_eq!(conn.timeout, Duration::from_secs(3600));
    conn.packet(tcp::Table::Normal, &timeouts, IN, FIN | ACK);
    assert_eq!(conn.timeout, Duration::from_secs(30));
    conn.packet(tcp::Table::Normal, &timeouts, IN, RST);
    assert_eq!(conn.timeout, Duration::from_secs(10));
}

// ---------------------------------------------------------------------------------------------
// Timeouts and `--set`

#[test]
fn fresh_timeouts_show_900_120_300() {
    let timeouts = Timeouts::default();
    assert_eq!(
        timeouts.user(),
        UserTimeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
    assert_eq!(timeouts.udp(), Duration::from_secs(300));
    assert_eq!(Timeouts::NEW_CONNECTION, Duration::from_secs(3));
}

#[test]
fn set_changes_only_established_fin_wait_and_udp_and_zero_keeps() {
    let mut timeouts = Timeouts::default();
    timeouts
        .set(UserTimeouts {
            tcp: 7200,
            tcp_fin: 0,
            udp: 45,
        })
        .unwrap();
    assert_eq!(
        timeouts.user(),
        UserTimeouts {
            tcp: 7200,
            tcp_fin: 120,
            udp: 45
        }
    );
    timeouts
        .set(UserTimeouts {
            tcp: 0,
            tcp_fin: 15,
            udp: 0,
        })
        .unwrap();
    assert_eq!(
        timeouts.user(),
        UserTimeouts {
            tcp: 7200,
            tcp_fin: 15,
            udp: 45
        }
    );
    timeouts.set(UserTimeouts::default()).unwrap();
    assert_eq!(
        timeouts.user(),
        UserTimeouts {
            tcp: 7200,
            tcp_fin: 15,
            udp: 45
        }
    );

    let defaults = Timeouts::default();
    for state in tcp::State::ALL {
        let want = match state {
            tcp::State::Established => Duration::from_secs(7200),
            tcp::State::FinWait => Duration::from_secs(15),
            other => defaults.tcp(other),
        };
        assert_eq!(timeouts.tcp(state), want, "{state}");
    }
    for state in sctp::State::ALL {
        assert_eq!(timeouts.sctp(state), defaults.sctp(state), "{state}");
    }
    assert_eq!(
        timeouts.sctp(sctp::State::Established),
        Duration::from_secs(900)
    );
}

#[test]
fn set_refuses_more_than_31_days_and_changes_nothing() {
    assert_eq!(MAX_TIMEOUT_SECS, 2_678_400);
    let mut timeouts = Timeouts::default();
    timeouts
        .set(UserTimeouts {
            tcp: 2_678_400,
            tcp_fin: 1,
            udp: 2_678_400,
        })
        .unwrap();
    assert_eq!(
        timeouts.user(),
        UserTimeouts {
            tcp: 2_678_400,
            tcp_fin: 1,
            udp: 2_678_400
        }
    );

    let before = timeouts.clone();
    for bad in [
        UserTimeouts {
            tcp: 60,
            tcp_fin: 60,
            udp: 2_678_401,
        },
        UserTimeouts {
            tcp: 2_678_401,
            tcp_fin: 60,
            udp: 60,
        },
        UserTimeouts {
            tcp: 60,
            tcp_fin: u32::MAX,
            udp: 60,
        },
    ] {
        let err = timeouts.set(bad).unwrap_err();
        assert_eq!(timeouts, before);
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().starts_with("invalid timeout value `"));
    }
    let err = timeouts
        .set(UserTimeouts {
            tcp: 2_678_401,
            tcp_fin: 0,
            udp: 0,
        })
        .unwrap_err();
    assert_eq!(err, TimeoutOutOfRange { value: 2_678_401 });
    assert_eq!(err.to_string(), "invalid timeout value `2678401' specified");
}

// ---------------------------------------------------------------------------------------------
// UDP (§5.3)

#[test]
fn udp_has_one_inactive_state_and_output_assures() {
    let mut timeouts = Timeouts::default();
    let state = udp::State::Udp;
    assert_eq!(state.name(), "UDP");
    assert_eq!(state.to_string(), "UDP");
    assert_eq!(state.index(), 0);
    assert!(!state.is_active());
    assert_eq!(udp::DEFAULT_TIMEOUT_SECS, 300);

    let input = udp::on_packet(&timeouts, Direction::Input, true);
    assert_eq!(input.timeout, Duration::from_secs(300));
    assert!(!input.assure_control);
    assert!(!input.changed());
    assert!(input.no_output, "UDP leaves NOOUTPUT alone");

    let output = udp::on_packet(&timeouts, Direction::Output, false);
    assert!(output.assure_control);
    assert!(!output.no_output);

    timeouts
        .set(UserTimeouts {
            tcp: 0,
            tcp_fin: 0,
            udp: 20,
        })
        .unwrap();
    assert_eq!(
        udp::on_packet(&timeouts, Direction::Input, false).timeout,
        Duration::from_secs(20)
    );
}

// ---------------------------------------------------------------------------------------------
// SCTP (§5.4)

/// §5.4: "NONE 2, INIT1 4, INIT 61, C-SENT 61, C-REPLIED 61, C-WAIT 61, COOKIE 61,
/// C-ECHOED 61, ESTABLISHED 900, S-SENT 61, S-RECEIVED 61, S-ACK-SENT 61, REJECTED 4,
/// CLOSED 61", in kernel order.
const SCTP_STATES_SPEC: &str = "NONE 2, INIT1 4, INIT 61, C-SENT 61, C-REPLIED 61, C-WAIT 61, \
     COOKIE 61, C-ECHOED 61, ESTABLISHED 900, S-SENT 61, S-RECEIVED 61, S-ACK-SENT 61, \
     REJECTED 4, CLOSED 61";

#[test]
fn sctp_states_names_timeouts_and_activity() {
    let timeouts = Timeouts::default();
    let entries: Vec<&str> = SCTP_STATES_SPEC.split(", ").collect();
    assert_eq!(entries.len(), sctp::State::COUNT);
    for (index, entry) in entries.into_iter().enumerate() {
        let (name, secs) = entry.split_once(' ').unwrap();
        let secs: u64 = secs.parse().unwrap();
        let state = sctp::State::from_index(index).unwrap();
        assert_eq!(state.index(), index);
        assert_eq!(state.name(), name);
        assert_eq!(state.to_string(), name);
        assert_eq!(u64::from(state.default_timeout_secs()), secs, "{name}");
        assert_eq!(timeouts.sctp(state), Duration::from_secs(secs), "{name}");
        assert_eq!(state.is_active(), name == "ESTABLISHED", "{name}");
    }
    assert_eq!(sctp::State::from_index(14), None);
}

#[test]
fn sctp_event_of_every_chunk_type() {
    use sctp::Event;
    // sctp_events[]: chunk types 0..=14; everything else is DATA.
    let known = [
        Event::Data,             // 0 DATA
        Event::Init,             // 1 INIT
        Event::InitAck,          // 2 INIT ACK
        Event::Data,             // 3 SACK
        Event::Data,             // 4 HEARTBEAT
        Event::Data,             // 5 HEARTBEAT ACK
        Event::Abort,            // 6 ABORT
        Event::Shutdown,         // 7 SHUTDOWN
        Event::ShutdownAck,      // 8 SHUTDOWN ACK
        Event::Error,            // 9 ERROR
        Event::CookieEcho,       // 10 COOKIE ECHO
        Event::CookieAck,        // 11 COOKIE ACK
        Event::Data,             // 12 ECNE
        Event::Data,             // 13 CWR
        Event::ShutdownComplete, // 14 SHUTDOWN COMPLETE
    ];
    for chunk_type in 0..=255u8 {
        let want = known
            .get(usize::from(chunk_type))
            .copied()
            .unwrap_or(Event::Data);
        assert_eq!(
            Event::from_chunk_type(chunk_type),
            want,
            "chunk type {chunk_type}"
        );
    }
}

fn chunk(chunk_type: u8, length: u16, padded_len: usize) -> Vec<u8> {
    let mut bytes = vec![chunk_type, 0];
    bytes.extend_from_slice(&length.to_be_bytes());
    bytes.resize(padded_len, 0);
    bytes
}

#[test]
fn sctp_event_from_chunks_takes_an_abort_bundled_after_a_cookie() {
    use sctp::chunk::*;
    use sctp::Event;
    let cat = |parts: &[Vec<u8>]| parts.concat();

    // Not enough for a chunk header: no event at all.
    assert_eq!(Event::from_chunks(&[]), None);
    assert_eq!(Event::from_chunks(&[INIT, 0, 0]), None);
    // A lone chunk.
    assert_eq!(Event::from_chunks(&chunk(INIT, 20, 20)), Some(Event::Init));
    assert_eq!(Event::from_chunks(&[DATA, 3, 0, 16]), Some(Event::Data));
    // COOKIE ECHO + ABORT, COOKIE ACK + ABORT: ABORT.
    let echo_abort = cat(&[chunk(COOKIE_ECHO, 12, 12), chunk(ABORT, 4, 4)]);
    assert_eq!(Event::from_chunks(&echo_abort), Some(Event::Abort));
    let ack_abort = cat(&[chunk(COOKIE_ACK, 4, 4), chunk(ABORT, 4, 4)]);
    assert_eq!(Event::from_chunks(&ack_abort), Some(Event::Abort));
    // The next chunk starts at the length rounded up to 4.
    let padded = cat(&[chunk(COOKIE_ECHO, 13, 16), chunk(ABORT, 4, 4)]);
    assert_eq!(Event::from_chunks(&padded), Some(Event::Abort));
    let misplaced = cat(&[chunk(COOKIE_ECHO, 13, 13), chunk(ABORT, 4, 4)]);
    assert_eq!(Event::from_chunks(&misplaced), Some(Event::CookieEcho));
    // COOKIE ECHO + DATA: COOKIE ECHO.
    let echo_data = cat(&[chunk(COOKIE_ECHO, 8, 8), chunk(DATA, 20, 20)]);
    assert_eq!(Event::from_chunks(&echo_data), Some(Event::CookieEcho));
    // Only a cookie chunk looks further: SHUTDOWN + ABORT is SHUTDOWN.
    let shutdown_abort = cat(&[chunk(SHUTDOWN, 8, 8), chunk(ABORT, 4, 4)]);
    assert_eq!(Event::from_chunks(&shutdown_abort), Some(Event::Shutdown));
    // A length field below 4 stops the look-ahead.
    let short_len = cat(&[chunk(COOKIE_ACK, 3, 4), chunk(ABORT, 4, 4)]);
    assert_eq!(Event::from_chunks(&short_len), Some(Event::CookieAck));
    let zero_len = [COOKIE_ACK, 0, 0, 0, ABORT, 0, 0, 4];
    assert_eq!(Event::from_chunks(&zero_len), Some(Event::CookieAck));
    // The following chunk header must be whole (4 bytes).
    let truncated = cat(&[chunk(COOKIE_ACK, 4, 4), vec![ABORT, 0, 0]]);
    assert_eq!(Event::from_chunks(&truncated), Some(Event::CookieAck));
    // A length pointing past the end, up to the largest.
    let far = chunk(COOKIE_ECHO, u16::MAX, 8);
    assert_eq!(Event::from_chunks(&far), Some(Event::CookieEcho));
}

/// The kernel's `sctp_states` table (ip_vs_proto_sctp.c), typed out.
/// Columns: sNO sI1 sIN sCS sCR sCW sCO sCE sES sSS sSR sSA sRJ sCL.
const SCTP_KERNEL_TABLE: &str = "
INPUT d    ES I1 IN CS CR CW CO CE ES SS SR SA RJ CL
INPUT i    I1 IN IN CS CR CW CO CE ES SS SR SA IN IN
INPUT i_a  CW CW CW CS CR CO CO CE ES SS SR SA RJ CL
INPUT c_e  CR IN IN CR CR CW CO CE ES SS SR SA RJ CL
INPUT c_a  ES I1 IN CS CR CW CO ES ES SS SR SA RJ CL
INPUT s    SR I1 IN CS CR CW CO CE SR SS SR SA RJ CL
INPUT s_a  CL IN IN CS CR CW CO CE ES CL SR CL RJ CL
INPUT s_c  CL CL CL CS CR CW CO CE ES SS SR CL RJ CL
INPUT err  CL I1 IN CS CR CW CO CL ES SS SR SA RJ CL
INPUT ab   CL CL CL CL CL RJ CL CL CL CL CL CL CL CL
OUTPUT d   ES I1 IN CS CR CW CO CE ES SS SR SA RJ CL
OUTPUT i   CW CW CW CW CW CW CW CW ES CW CW CW CW CW
OUTPUT i_a CS CS CS CS CR CW CO CE ES SS SR SA RJ CL
OUTPUT c_e CE CE CE CE CE CE CE CE ES SS SR SA RJ CL
OUTPUT c_a ES ES ES ES ES ES ES ES ES SS SR SA RJ CL
OUTPUT s   SS SS SS SS SS SS SS SS SS SS SR SA RJ CL
OUTPUT s_a SA SA SA SA SA CW CO CE ES SA SA SA RJ CL
OUTPUT s_c CL I1 IN CS CR CW CO CE ES SS SR SA RJ CL
OUTPUT err CL CL CL CL CL CW CO CE ES SS SR SA RJ CL
OUTPUT ab  CL RJ CL CL CL CL CL CL CL CL CL CL CL CL
IN_ONLY d   ES I1 IN CS CR ES CO CE ES SS SR SA RJ CL
IN_ONLY i   I1 IN IN IN IN IN CO CE ES SS SR SA IN IN
IN_ONLY i_a CE CE CE CE CE CE CO CE ES SS SR SA RJ CL
IN_ONLY c_e ES ES ES ES ES ES CO CE ES SS SR SA RJ CL
IN_ONLY c_a ES I1 IN ES ES CW ES ES ES SS SR SA RJ CL
IN_ONLY s   SR I1 IN CS CR CW CO CE SR SS SR SA RJ CL
IN_ONLY s_a CL IN IN CS CR CW CO CE CL CL SR CL RJ CL
IN_ONLY s_c CL CL CL CL CL CW CO CE ES SS CL CL RJ CL
IN_ONLY err CL I1 IN CS CR CW CO CE ES SS SR SA RJ CL
IN_ONLY ab  CL CL CL CL CL RJ CL CL CL CL CL CL CL CL
";

const SCTP_COLUMNS: [&str; 14] = [
    "NO", "I1", "IN", "CS", "CR", "CW", "CO", "CE", "ES", "SS", "SR", "SA", "RJ", "CL",
];

#[test]
fn sctp_tables_match_the_kernel_cell_by_cell() {
    use sctp::Event;
    let mut checked = 0;
    for line in SCTP_KERNEL_TABLE.lines().filter(|l| !l.is_empty()) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let direction = match words[0] {
            "INPUT" => Direction::Input,
            "OUTPUT" => Direction::Output,
            "IN_ONLY" => Direction::InputOnly,
            other => panic!("direction {other}"),
        };
        let event = match words[1] {
            "d" => Event::Data,
            "i" => Event::Init,
            "i_a" => Event::InitAck,
            "c_e" => Event::CookieEcho,
            "c_a" => Event::CookieAck,
            "s" => Event::Shutdown,
            "s_a" => Event::ShutdownAck,
            "s_c" => Event::ShutdownComplete,
            "err" => Event::Error,
            "ab" => Event::Abort,
            other => panic!("event {other}"),
        };
        assert_eq!(words.len(), 2 + sctp::State::COUNT);
        for (from, abbrev) in sctp::State::ALL.into_iter().zip(&words[2..]) {
            let index = SCTP_COLUMNS.iter().position(|c| c == abbrev).unwrap();
            let want = sctp::State::from_index(index).unwrap();
            assert_eq!(
                sctp::transition(direction, from, event),
                want,
                "{line}: from {from}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 3 * 10 * 14);
}

#[test]
fn sctp_connection_creation_needs_init_unless_sloppy_and_never_abort() {
    use sctp::chunk::*;
    assert!(sctp::creates_connection(INIT, false));
    assert!(!sctp::creates_connection(DATA, false));
    assert!(!sctp::creates_connection(COOKIE_ECHO, false));
    assert!(!sctp::creates_connection(ABORT, false));
    assert!(sctp::creates_connection(DATA, true));
    assert!(sctp::creates_connection(HEARTBEAT, true));
    assert!(!sctp::creates_connection(ABORT, true));
}

type SctpStep = (Direction, u8, &'static str, u64, bool);

/// Runs packets (direction, lone chunk type) and checks state, timeout and activity after each.
fn run_sctp_trace(no_output: bool, steps: &[SctpStep]) -> (bool, bool) {
    let timeouts = Timeouts::default();
    let mut state = sctp::State::None;
    let mut no_out = no_output;
    let mut inactive = true;
    let mut assured = false;
    for (i, &(dir, chunk_type, name, secs, active)) in steps.iter().enumerate() {
        let event = sctp::Event::from_chunks(&chunk(chunk_type, 16, 16)).unwrap();
        let update = sctp::on_packet(&timeouts, dir, no_out, state, event);
        if update.changed() {
            if let Some(mv) = activity_move(inactive, update.state.is_active()) {
                inactive = mv == ActivityMove::ToInactive;
            }
        }
        assured |= update.assure_control;
        state = update.state;
        no_out = update.no_output;
        assert_eq!(state.name(), name, "step {i}");
        assert_eq!(update.timeout, Duration::from_secs(secs), "step {i}");
        assert_eq!(!inactive, active, "step {i} activity");
    }
    (no_out, assured)
}

#[test]
fn sctp_trace_nat_setup_and_client_shutdown() {
    use sctp::chunk::*;
    let (no_output, assured) = run_sctp_trace(
        false,
        &[
            (IN, INIT, "INIT1", 4, false),
            (OUT, INIT_ACK, "C-SENT", 61, false),
            (IN, COOKIE_ECHO, "C-REPLIED", 61, false),
            (OUT, COOKIE_ACK, "ESTABLISHED", 900, true),
            (IN, DATA, "ESTABLISHED", 900, true),
            (OUT, SACK, "ESTABLISHED", 900, true),
            (OUT, HEARTBEAT, "ESTABLISHED", 900, true),
            (IN, SHUTDOWN, "S-RECEIVED", 61, false),
            (OUT, SHUTDOWN_ACK, "S-ACK-SENT", 61, false),
            (IN, SHUTDOWN_COMPLETE, "CLOSED", 61, false),
        ],
    );
    assert!(!no_output);
    assert!(assured);
}

#[test]
fn sctp_trace_nat_setup_with_retransmitted_init_and_server_shutdown() {
    use sctp::chunk::*;
    run_sctp_trace(
        false,
        &[
            (IN, INIT, "INIT1", 4, false),
            (IN, INIT, "INIT", 61, false),
            (OUT, INIT_ACK, "C-SENT", 61, false),
            (IN, COOKIE_ECHO, "C-REPLIED", 61, false),
            (OUT, COOKIE_ACK, "ESTABLISHED", 900, true),
            (OUT, SHUTDOWN, "S-SENT", 61, false),
            (IN, SHUTDOWN_ACK, "CLOSED", 61, false),
            (OUT, SHUTDOWN_COMPLETE, "CLOSED", 61, false),
        ],
    );
}

#[test]
fn sctp_trace_nat_init_rejected_with_abort() {
    use sctp::chunk::*;
    run_sctp_trace(
        false,
        &[
            (IN, INIT, "INIT1", 4, false),
            (OUT, ABORT, "REJECTED", 4, false),
        ],
    );
}

#[test]
fn sctp_trace_direct_routing_setup_and_shutdown() {
    use sctp::chunk::*;
    let (no_output, assured) = run_sctp_trace(
        true,
        &[
            (IN, INIT, "INIT1", 4, false),
            (IN, COOKIE_ECHO, "ESTABLISHED", 900, true),
            (IN, DATA, "ESTABLISHED", 900, true),
            (IN, SACK, "ESTABLISHED", 900, true),
            (IN, SHUTDOWN, "S-RECEIVED", 61, false),
            (IN, SHUTDOWN_COMPLETE, "CLOSED", 61, false),
        ],
    );
    assert!(no_output, "DR never sees a reply");
    assert!(assured);
}

#[test]
fn sctp_trace_direct_routing_with_retransmitted_init() {
    use sctp::chunk::*;
    run_sctp_trace(
        true,
        &[
            (IN, INIT, "INIT1", 4, false),
            (IN, INIT, "INIT", 61, false),
            (IN, COOKIE_ECHO, "ESTABLISHED", 900, true),
            (IN, ABORT, "CLOSED", 61, false),
        ],
    );
}

#[test]
fn sctp_cookie_echo_with_bundled_abort_closes() {
    use sctp::chunk::*;
    let timeouts = Timeouts::default();
    let packet = [chunk(COOKIE_ECHO, 12, 12), chunk(ABORT, 4, 4)].concat();
    let event = sctp::Event::from_chunks(&packet).unwrap();
    let update = sctp::on_packet(&timeouts, IN, false, sctp::State::CookieSent, event);
    assert_eq!(update.state, sctp::State::Closed);
    assert_eq!(update.timeout, Duration::from_secs(61));
    // The same cookie alone moves the association on.
    let event = sctp::Event::from_chunks(&chunk(COOKIE_ECHO, 12, 12)).unwrap();
    let update = sctp::on_packet(&timeouts, IN, false, sctp::State::CookieSent, event);
    assert_eq!(update.state, sctp::State::CookieReplied);
}

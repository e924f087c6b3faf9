//! `lb sim SCRIPT`: ipvsadm commands plus `connect`, `close` and `advance` lines, run
//! against lb-core's [`Engine`] on a simulated clock.
//!
//! ipvsadm lines go through [`Engine::ipvsadm_command`], so they print and act as the
//! director's ipvsadm does. `connect` and `close` send the packets of a connection's
//! opening and closing ([`super::traffic`]) through [`Engine::process`]; `advance` moves
//! the clock and runs [`Engine::housekeeping`] at every whole second on the way, so
//! connections, persistence templates and scheduler caches expire and the rate estimator
//! runs as in the kernel.

use std::fmt;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use lb_core::engine::{Engine, EngineConfig, Settings, Verdict};
use lb_core::ipvsadm::{self, Command, ListFormat, ListTarget, WellKnownServices};
use lb_core::{Family, Ipvs, Protocol, ServiceKey, Time};

use super::traffic::{self, Flow};

/// The longest `advance` of one line: 31 days, the longest timeout ipvsadm accepts.
pub const MAX_ADVANCE_SECS: u64 = 2_678_400;

/// The name ipvsadm calls itself in its messages.
const PROGRAM: &str = "ipvsadm";

const CONNECT_USAGE: &str = "usage: connect -t|-u|--sctp-service VIP:PORT CLIENT:PORT, or connect -f MARK CLIENT:PORT [DADDR:DPORT]";
const CLOSE_USAGE: &str = "usage: close CLIENT:PORT -t|-u|--sctp-service VIP:PORT, or close CLIENT:PORT -f MARK [DADDR:DPORT]";
const ADVANCE_USAGE: &str = "usage: advance SECONDS";

/// A script line that could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimError {
    /// 1-based line number.
    pub line: usize,
    /// What went wrong, on one line.
    pub message: String,
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The simulator's state: the engine and the clock.
#[derive(Debug)]
pub struct Sim {
    engine: Engine,
    now: Time,
}

impl Default for Sim {
    fn default() -> Self {
        Sim::new()
    }
}

/// Formats a real server the way `connect` prints it: `198.19.0.11:80`, `[2001:db8::11]:80`.
pub fn server_text(addr: IpAddr, port: u16) -> String {
    SocketAddr::new(addr, port).to_string()
}

/// What `connect` prints when the engine forwards nothing: `-`, and why unless the reason
/// is the usual one (no real server could take the connection: ICMP port unreachable).
pub fn no_server_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::SendIcmp(_) => "-".to_string(),
        Verdict::Drop(reason) => format!("- (dropped: {reason})"),
        Verdict::Pass => "- (passed to the director's own stack)".to_string(),
        other => format!("- ({other:?})"),
    }
}

fn parse_sockaddr(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .map_err(|_| format!("bad address `{s}' (expected ADDR:PORT or [ADDR6]:PORT)"))
}

/// Parses `SECONDS` of `advance` (an integer or a decimal with at most 3 decimals) into
/// milliseconds.
pub fn parse_seconds(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "advance: bad number of seconds `{s}' (expected 0..{MAX_ADVANCE_SECS}, at most 3 decimals)"
        )
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || frac.len() > 3 {
        return Err(bad());
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let millis: u64 = format!("{frac:0<3}").parse().map_err(|_| bad())?;
    let total = secs
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(millis))
        .ok_or_else(bad)?;
    if total > MAX_ADVANCE_SECS * 1000 {
        return Err(bad());
    }
    Ok(total)
}

/// Parses the service part of a connect/close line: `-t|-u|--sctp-service VIP:PORT` or
/// `-f MARK` (of the client's family); returns the key and the number of words used.
fn parse_service(words: &[&str], client: &SocketAddr) -> Result<(ServiceKey, usize), String> {
    let opt = *words
        .first()
        .ok_or("missing service (-t, -u, --sctp-service or -f)")?;
    let val = *words
        .get(1)
        .ok_or_else(|| format!("option {opt} needs a value"))?;
    let proto = match opt {
        "-t" | "--tcp-service" => Protocol::Tcp,
        "-u" | "--udp-service" => Protocol::Udp,
        "--sctp-service" => Protocol::Sctp,
        "-f" | "--fwmark-service" => {
            let mark: u32 = val
                .parse()
                .ok()
                .filter(|m| *m != 0)
                .ok_or_else(|| format!("invalid fwmark value `{val}' specified"))?;
            let family = Family::of(&client.ip());
            return Ok((ServiceKey::Fwmark { family, mark }, 2));
        }
        other => return Err(format!("unknown service option `{other}'")),
    };
    let sa = parse_sockaddr(val)?;
    Ok((
        ServiceKey::Addr {
            proto,
            addr: sa.ip(),
            port: sa.port(),
        },
        2,
    ))
}

/// Where the client's packets go: the service's address and port, or for a firewall-mark
/// service the optional `DADDR:DPORT` (default the unspecified address, port 0).
fn destination(key: &ServiceKey, daddr: Option<&&str>, usage: &str) -> Result<SocketAddr, String> {
    match (key, daddr) {
        (ServiceKey::Fwmark { .. }, Some(d)) => {
            let d = parse_sockaddr(d)?;
            if Family::of(&d.ip()) != key.family() {
                return Err(format!(
                    "destination {d} is not of the client's address family"
                ));
            }
            Ok(d)
        }
        (ServiceKey::Fwmark { family, .. }, None) => Ok(SocketAddr::new(
            match family {
                Family::V4 => IpAddr::from([0u8; 4]),
                Family::V6 => IpAddr::from([0u16; 8]),
            },
            0,
        )),
        (ServiceKey::Addr { addr, port, .. }, None) => Ok(SocketAddr::new(*addr, *port)),
        (ServiceKey::Addr { .. }, Some(_)) => Err(usage.into()),
    }
}

/// The firewall mark of the client's packets to `key`.
fn mark_of(key: &ServiceKey) -> u32 {
    match key {
        ServiceKey::Fwmark { mark, .. } => *mark,
        ServiceKey::Addr { .. } => 0,
    }
}

/// The protocol of a connection to `key` (firewall-mark connections are TCP).
fn protocol_of(key: &ServiceKey) -> Protocol {
    match key {
        ServiceKey::Addr { proto, .. } => *proto,
        ServiceKey::Fwmark { .. } => Protocol::Tcp,
    }
}

impl Sim {
    /// A simulator with an empty table and default settings, its clock at 0 (where the
    /// timers start: the estimator runs at 0, 2, 4 … s, the trash timer at 0, 60 … s).
    pub fn new() -> Self {
        // One shard: the simulator is single-threaded, and `advance` runs the timers over
        // every shard once a simulated second.
        let config = EngineConfig {
            shard_bits: 0,
            ..EngineConfig::default()
        };
        let engine = Engine::new(Ipvs::new(), Settings::default(), config);
        engine.housekeeping(Time::ZERO);
        Sim {
            engine,
            now: Time::ZERO,
        }
    }

    /// Runs a whole script, writing what it prints to `out`; stops at the first bad line.
    pub fn run(&mut self, text: &str, out: &mut dyn Write) -> Result<(), SimError> {
        for (i, line) in text.lines().enumerate() {
            let printed = self.line(line).map_err(|message| SimError {
                line: i + 1,
                message,
            })?;
            out.write_all(printed.as_bytes()).map_err(|e| SimError {
                line: i + 1,
                message: format!("cannot write output: {e}"),
            })?;
        }
        Ok(())
    }

    /// Carries out one line and returns what it prints.
    pub fn line(&mut self, line: &str) -> Result<String, String> {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(String::new());
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[0] {
            "connect" => self.connect(&words[1..]),
            "close" => self.close(&words[1..]),
            "advance" => match &words[1..] {
                [secs] => {
                    self.advance(parse_seconds(secs)?);
                    Ok(String::new())
                }
                _ => Err(ADVANCE_USAGE.into()),
            },
            _ => self.ipvsadm(line),
        }
    }

    /// Moves the clock `millis` ms on, running the engine's timers at every whole second
    /// passed and at the end.
    pub fn advance(&mut self, millis: u64) {
        let end = Time::from_millis(self.now.as_millis().saturating_add(millis));
        while self.now < end {
            let next_second = Time::from_secs(self.now.as_millis() / 1000 + 1);
            self.now = next_second.min(end);
            self.engine.housekeeping(self.now);
        }
    }

    /// True when packets to `key` reach a virtual service: the service itself or, for an
    /// address and port, the port-0 service of that address (spec §1.2).
    fn has_service(&self, key: &ServiceKey) -> bool {
        let any_port = match *key {
            ServiceKey::Addr { proto, addr, .. } => ServiceKey::Addr {
                proto,
                addr,
                port: 0,
            },
            fwmark => fwmark,
        };
        self.engine
            .read(|ipvs, _| ipvs.service(key).is_some() || ipvs.service(&any_port).is_some())
    }

    fn connect(&mut self, words: &[&str]) -> Result<String, String> {
        let client = parse_sockaddr(words.get(2).ok_or(CONNECT_USAGE)?)?;
        let (key, used) = parse_service(words, &client)?;
        if words.len() > used + 2 {
            return Err(CONNECT_USAGE.into());
        }
        let vip = destination(&key, words.get(used + 1), CONNECT_USAGE)?;
        if Family::of(&client.ip()) != key.family() {
            return Err(format!(
                "client {client} is not of the service's address family"
            ));
        }
        if !self.has_service(&key) {
            return Err(format!("no service {key}"));
        }
        let steps = traffic::opening(protocol_of(&key));
        let mut flow = Flow {
            client,
            vip,
            fwmark: mark_of(&key),
            server: vip,
        };
        let Some((&opener, rest)) = steps.split_first() else {
            return Ok(String::new());
        };
        let forward = match self.engine.process(&flow.packet(opener), self.now) {
            Verdict::Forward(f) => f,
            other => return Ok(format!("{}\n", no_server_text(&other))),
        };
        flow.server = SocketAddr::new(forward.daddr, forward.dport);
        self.send(&flow, forward.method, rest);
        Ok(format!("{}\n", server_text(forward.daddr, forward.dport)))
    }

    fn close(&mut self, words: &[&str]) -> Result<String, String> {
        let client = parse_sockaddr(words.first().ok_or(CLOSE_USAGE)?)?;
        let (key, used) = parse_service(&words[1..], &client)?;
        if words.len() > used + 2 {
            return Err(CLOSE_USAGE.into());
        }
        let vip = destination(&key, words.get(used + 1), CLOSE_USAGE)?;
        let proto = protocol_of(&key);
        let conn = self
            .engine
            .connection(
                proto.number(),
                (client.ip(), client.port()),
                (vip.ip(), vip.port()),
                self.now,
            )
            .ok_or_else(|| format!("no open connection from {client} to {key}"))?;
        let steps = traffic::closing(proto).ok_or(
            "a UDP connection has no closing packets: it expires after the udp timeout (use advance)",
        )?;
        let flow = Flow {
            client,
            vip,
            fwmark: mark_of(&key),
            server: SocketAddr::new(conn.dest_addr.0, conn.dest_addr.1),
        };
        self.send(&flow, conn.method, steps);
        Ok(String::new())
    }

    /// Sends the packets of `steps` the director sees on a connection forwarded with
    /// `method`.
    fn send(&self, flow: &Flow, method: lb_core::dest::FwdMethod, steps: &[traffic::Step]) {
        for &step in steps {
            if traffic::director_sees(step.0, method) {
                self.engine.process(&flow.packet(step), self.now);
            }
        }
    }

    /// `-L -c`: the engine's connections, sorted by client, virtual address and protocol
    /// (the kernel lists its hash table in an order that depends on a random seed).
    fn list_connections(&self, format: &ListFormat) -> String {
        let mut entries = self.engine.list_entries(self.now);
        entries.sort_by(|a, b| {
            (a.client, a.vip, a.protocol, a.dest).cmp(&(b.client, b.vip, b.protocol, b.dest))
        });
        ipvsadm::list_connections(&entries, format, &WellKnownServices)
    }

    fn ipvsadm(&mut self, line: &str) -> Result<String, String> {
        let names = WellKnownServices;
        let cmd = match ipvsadm::parse_line(line, &names) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(String::new()),
            Err(e) => return Err(e.message(PROGRAM).trim_end().to_string()),
        };
        match &cmd {
            Command::Restore => return Err("-R is not available inside a script".into()),
            Command::List(opts) if opts.target == ListTarget::Connections => {
                return Ok(self.list_connections(&opts.format))
            }
            _ => {}
        }
        let done = self
            .engine
            .ipvsadm_command(&cmd, "", self.now, &names, PROGRAM);
        if done.exit_code == 0 {
            return Ok(done.stdout);
        }
        let message = done.stderr.trim_end().replace('\n', "; ");
        Err(with_scheduler_detail(message, &cmd))
    }
}

/// For a refused `-A`/`-E` naming a scheduler that does not exist, the names that do.
fn with_scheduler_detail(message: String, cmd: &Command) -> String {
    let scheduler = match cmd {
        Command::AddService { conf, .. } | Command::EditService { conf, .. } => &conf.scheduler,
        _ => return message,
    };
    if lb_core::sched::exists(scheduler) {
        return message;
    }
    let unknown = lb_core::Error::UnknownScheduler {
        name: scheduler.clone(),
    };
    match unknown.detail() {
        Some(d) if message == unknown.to_string() => format!("{message} ({d})"),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_core::engine::{DropReason, IcmpKind, IcmpSend};

    fn run(script: &str) -> Result<String, SimError> {
        let mut out = Vec::new();
        Sim::new().run(script, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn bad_line_names_its_number() {
        let e = run("-A -t 198.18.0.1:80 -s rr\n\n-A -t 198.18.0.1:80 -s rr\n").unwrap_err();
        assert_eq!(e.to_string(), "line 3: Service already exists");
        let e = run("# c\n-A -t 198.18.0.1:80 -s nope\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(
            e.message,
            format!(
                "Scheduler or persistence engine not found (no scheduler `nope'; valid schedulers: {})",
                lb_core::sched::NAMES.join(" ")
            )
        );
        let e = run("frobnicate\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = run("connect -t 198.18.0.1:80 198.18.1.1:1\n").unwrap_err();
        assert_eq!(e.to_string(), "line 1: no service -t 198.18.0.1:80");
        let e = run("-A -t 198.18.0.1:80\nclose 198.18.1.1:1 -t 198.18.0.1:80\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: no open connection from 198.18.1.1:1 to -t 198.18.0.1:80"
        );
        let e = run("advance\n").unwrap_err();
        assert_eq!(e.to_string(), "line 1: usage: advance SECONDS");
        let e = run("-A -u 198.18.0.1:53\n-a -u 198.18.0.1:53 -r 198.19.0.1\nconnect -u 198.18.0.1:53 198.18.1.1:5\nclose 198.18.1.1:5 -u 198.18.0.1:53\n").unwrap_err();
        assert_eq!(e.to_string(), "line 4: a UDP connection has no closing packets: it expires after the udp timeout (use advance)");
        let e = run("-A -f 1 -p\nconnect -f 1 198.18.1.1:5 [2001:db8::1]:80\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: destination [2001:db8::1]:80 is not of the client's address family"
        );
        let e = run("-A -t 198.18.0.1:80\nconnect -t 198.18.0.1:80 [2001:db8::1]:5\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: client [2001:db8::1]:5 is not of the service's address family"
        );
    }

    #[test]
    fn seconds_parse_to_milliseconds() {
        assert_eq!(parse_seconds("0"), Ok(0));
        assert_eq!(parse_seconds("361"), Ok(361_000));
        assert_eq!(parse_seconds("1.5"), Ok(1_500));
        assert_eq!(parse_seconds("0.001"), Ok(1));
        assert_eq!(parse_seconds(".25"), Ok(250));
        assert_eq!(parse_seconds("2."), Ok(2_000));
        assert_eq!(parse_seconds("2678400"), Ok(2_678_400_000));
        for bad in [
            "",
            ".",
            "-1",
            "1e3",
            "0.0001",
            "2678400.001",
            "99999999999999999999",
            "1,5",
            "+1",
        ] {
            assert_eq!(
                parse_seconds(bad),
                Err(format!("advance: bad number of seconds `{bad}' (expected 0..2678400, at most 3 decimals)")),
                "{bad}"
            );
        }
    }

    #[test]
    fn no_server_says_why() {
        let icmp = Verdict::SendIcmp(IcmpSend {
            kind: IcmpKind::PortUnreachable,
            to: "198.18.1.1".parse().unwrap(),
            reason: DropReason::NoServer,
        });
        assert_eq!(no_server_text(&icmp), "-");
        assert_eq!(
            no_server_text(&Verdict::Drop(DropReason::DestUnavailable)),
            "- (dropped: dest-unavailable)"
        );
        assert_eq!(
            no_server_text(&Verdict::Pass),
            "- (passed to the director's own stack)"
        );
    }

    #[test]
    fn advance_moves_the_clock_and_expires_connections() {
        let mut sim = Sim::new();
        for line in [
            "-A -u 198.18.0.1:53 -s rr",
            "-a -u 198.18.0.1:53 -r 198.19.0.1 -m",
        ] {
            assert_eq!(sim.line(line), Ok(String::new()));
        }
        assert_eq!(
            sim.line("connect -u 198.18.0.1:53 198.18.1.1:5"),
            Ok("198.19.0.1:53\n".to_string())
        );
        let client = ("198.18.1.1".parse().unwrap(), 5);
        let vip = ("198.18.0.1".parse().unwrap(), 53);
        sim.line("advance 299.999").unwrap();
        assert_eq!(sim.now, Time::from_millis(299_999));
        assert!(sim.engine.connection(17, client, vip, sim.now).is_some());
        sim.line("advance 0.001").unwrap();
        assert_eq!(sim.now, Time::from_secs(300));
        assert!(sim.engine.connection(17, client, vip, sim.now).is_none());
        // Reaped by the timers, not only hidden from look-ups.
        assert_eq!(sim.engine.entry_counts(), (0, 0));
    }
}

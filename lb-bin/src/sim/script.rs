//! `lb sim SCRIPT`: ipvsadm commands plus `connect` and `close` lines, run against an
//! [`Ipvs`] with no packets and no time.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};

use lb_core::ipvsadm::{
    self, Command, ConnEntry, ListContext, ListTarget, Timeouts, WellKnownServices,
};
use lb_core::{ConnKind, DestId, Family, Ipvs, Protocol, SchedInput, ServiceKey, Time};

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

#[derive(Debug, Clone, Copy)]
struct OpenConn {
    dest: DestId,
    kind: ConnKind,
    proto: Protocol,
    server: (IpAddr, u16),
    vip: (IpAddr, u16),
}

/// The simulator's state: the table, the open connections and the timeouts.
#[derive(Debug, Default)]
pub struct Sim {
    ipvs: Ipvs,
    conns: HashMap<(ServiceKey, SocketAddr), OpenConn>,
    timeouts: Timeouts,
}

/// Formats a real server the way `connect` prints it: `198.19.0.11:80`, `[2001:db8::11]:80`.
pub fn server_text(addr: IpAddr, port: u16) -> String {
    SocketAddr::new(addr, port).to_string()
}

fn parse_sockaddr(s: &str) -> Result<SocketAddr, String> {
    s.parse::<SocketAddr>()
        .map_err(|_| format!("bad address `{s}' (expected ADDR:PORT or [ADDR6]:PORT)"))
}

/// Parses the service part of a connect/close line: `-t|-u|--sctp-service VIP:PORT` or
/// `-f MARK`; returns the key and the number of words used.
fn parse_service(
    words: &[&str],
    client: Option<&SocketAddr>,
) -> Result<(ServiceKey, usize), String> {
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
            let family = client.map_or(Family::V4, |c| Family::of(&c.ip()));
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

impl Sim {
    /// A simulator with an empty table.
    pub fn new() -> Self {
        Sim::default()
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
            _ => self.ipvsadm(line),
        }
    }

    fn connect(&mut self, words: &[&str]) -> Result<String, String> {
        const USAGE: &str = "usage: connect -t|-u|--sctp-service VIP:PORT CLIENT:PORT, or connect -f MARK CLIENT:PORT [DADDR:DPORT]";
        let client = parse_sockaddr(words.get(2).ok_or(USAGE)?)?;
        let (key, used) = parse_service(words, Some(&client))?;
        let target = match (key, words.get(used + 1)) {
            (ServiceKey::Fwmark { .. }, Some(d)) => parse_sockaddr(d)?,
            (ServiceKey::Fwmark { family, .. }, None) => SocketAddr::new(
                match family {
                    Family::V4 => IpAddr::from([0u8; 4]),
                    Family::V6 => IpAddr::from([0u16; 8]),
                },
                0,
            ),
            (ServiceKey::Addr { addr, port, .. }, None) => SocketAddr::new(addr, port),
            (ServiceKey::Addr { .. }, Some(_)) => return Err(USAGE.into()),
        };
        if words.len() > used + 2 {
            return Err(USAGE.into());
        }
        if Family::of(&client.ip()) != key.family() {
            return Err(format!(
                "client {client} is not of the service's address family"
            ));
        }
        if let Some(c) = self.conns.get(&(key, client)) {
            // The packet belongs to an open connection: IPVS forwards it to the same server.
            return Ok(format!("{}\n", server_text(c.server.0, c.server.1)));
        }
        let svc = self
            .ipvs
            .service_mut(&key)
            .ok_or_else(|| format!("no service {key}"))?;
        let proto = key.protocol();
        let input = SchedInput {
            proto,
            caddr: client.ip(),
            cport: client.port(),
            vaddr: target.ip(),
            vport: target.port(),
            flags: Default::default(),
            now: Time::ZERO,
        };
        let Some(pos) = svc.schedule(&input) else {
            return Ok("-\n".into());
        };
        let kind = if proto == Protocol::Udp {
            ConnKind::Inactive
        } else {
            ConnKind::Active
        };
        svc.bind(pos, kind);
        svc.stats.total.conns += 1;
        if let Some(s) = svc.dest_stats_mut(pos) {
            s.total.conns += 1;
        }
        let d = svc.dests().get(pos).expect("scheduled position exists");
        // A persistent port-0 or fwmark service keeps the packet's port (spec §6.3).
        let port = if d.port() == 0 || key.port() == 0 && svc.conf().persistence.is_some() {
            target.port()
        } else {
            d.port()
        };
        let open = OpenConn {
            dest: d.id(),
            kind,
            proto,
            server: (d.addr(), port),
            vip: (target.ip(), target.port()),
        };
        self.ipvs.stats.total.conns += 1;
        self.conns.insert((key, client), open);
        Ok(format!("{}\n", server_text(open.server.0, open.server.1)))
    }

    fn close(&mut self, words: &[&str]) -> Result<String, String> {
        const USAGE: &str =
            "usage: close CLIENT:PORT -t|-u|--sctp-service VIP:PORT, or close CLIENT:PORT -f MARK";
        let client = parse_sockaddr(words.first().ok_or(USAGE)?)?;
        let (key, used) = parse_service(&words[1..], Some(&client))?;
        if words.len() != used + 1 {
            return Err(USAGE.into());
        }
        let c = self
            .conns
            .remove(&(key, client))
            .ok_or_else(|| format!("no open connection from {client} to {key}"))?;
        self.ipvs.unbind(&key, c.dest, c.kind);
        Ok(String::new())
    }

    fn conn_entries(&self) -> Vec<ConnEntry> {
        let mut v: Vec<ConnEntry> = self
            .conns
            .iter()
            .map(|((_, client), c)| {
                let (state, expire) = match c.proto {
                    Protocol::Udp => ("UDP", self.timeouts.udp),
                    _ => ("ESTABLISHED", self.timeouts.tcp),
                };
                ConnEntry {
                    protocol: c.proto.number(),
                    expire_secs: expire,
                    state: state.to_string(),
                    client: (client.ip(), client.port()),
                    vip: c.vip,
                    dest: c.server,
                    pe: None,
                }
            })
            .collect();
        v.sort_by_key(|e| (e.client, e.vip));
        v
    }

    fn ipvsadm(&mut self, line: &str) -> Result<String, String> {
        let names = WellKnownServices;
        let cmd = match ipvsadm::parse_line(line, &names) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(String::new()),
            Err(e) => return Err(e.message("ipvsadm").trim_end().to_string()),
        };
        let kernel_err = |e: lb_core::Error| match e.detail() {
            Some(d) => format!("{e} ({d})"),
            None => e.to_string(),
        };
        match &cmd {
            Command::List(opts) => {
                let conns = if opts.target == ListTarget::Connections {
                    self.conn_entries()
                } else {
                    Vec::new()
                };
                let ctx = ListContext {
                    names: &names,
                    timeouts: self.timeouts,
                    conns: &conns,
                    ..ListContext::default()
                };
                ipvsadm::list(&self.ipvs, opts, &ctx).map_err(|e| e.to_string())
            }
            Command::Save { numeric } => Ok(ipvsadm::save(&self.ipvs, *numeric, &names)),
            Command::SetTimeouts(t) => {
                for (cur, new) in [
                    (&mut self.timeouts.tcp, t.tcp),
                    (&mut self.timeouts.tcp_fin, t.tcp_fin),
                    (&mut self.timeouts.udp, t.udp),
                ] {
                    if new != 0 {
                        *cur = new;
                    }
                }
                Ok(String::new())
            }
            Command::Help => Ok(ipvsadm::help_text("ipvsadm")),
            Command::Version => Ok(format!("{}\n", ipvsadm::version_text())),
            Command::Restore => Err("-R is not available inside a script".into()),
            Command::StartDaemon(_) | Command::StopDaemon { .. } => {
                Err("connection synchronisation is not supported by lb sim".into())
            }
            Command::DelService { key } => {
                self.conns.retain(|(k, _), _| k != key);
                ipvsadm::apply(&mut self.ipvs, &cmd).map_err(kernel_err)?;
                Ok(String::new())
            }
            Command::Clear => {
                self.conns.clear();
                ipvsadm::apply(&mut self.ipvs, &cmd).map_err(kernel_err)?;
                Ok(String::new())
            }
            _ => {
                ipvsadm::apply(&mut self.ipvs, &cmd).map_err(kernel_err)?;
                Ok(String::new())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(e.message.starts_with("Scheduler or persistence engine not found (no scheduler `nope'; valid schedulers: rr wrr"));
        let e = run("frobnicate\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = run("connect -t 198.18.0.1:80 198.18.1.1:1\n").unwrap_err();
        assert_eq!(e.to_string(), "line 1: no service -t 198.18.0.1:80");
        let e = run("-A -t 198.18.0.1:80\nclose 198.18.1.1:1 -t 198.18.0.1:80\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: no open connection from 198.18.1.1:1 to -t 198.18.0.1:80"
        );
    }
}

//! `lb replay`: the director's packet path run over a capture.
//!
//! ```text
//! lb replay --rules FILE --in IN.pcap --out OUT.pcap [--config FILE] [options]
//! ```
//!
//! The rules are read in the `ipvsadm -S` format (as `ipvsadm -R` reads them); every frame
//! of IN.pcap goes through [`Director::process`] on one link, with the frame's timestamp as
//! the time; every frame the director would send is written to OUT.pcap with the timestamp
//! of the frame that caused it. The VIPs of the rules (addresses of `-t`, `-u` and
//! `--sctp-service` services) are answered for in ARP / neighbour discovery. A one-line
//! summary goes to standard output; bad input gives a one-line error and exit status 2.
//!
//! The director's link is described by options, or by a companion file of `KEY VALUE`
//! lines with the same keys (`#` starts a comment), options given on the command line
//! coming after the file's:
//!
//! ```text
//! mac 02:00:00:00:00:01          # the link's Ethernet address (required)
//! ip 198.19.0.1/24               # an address of the director and its on-link prefix
//! ip 2001:db8:5::1/64            #   (repeatable; /24 or /64 when omitted)
//! gateway 198.19.0.254           # default gateway (one per family)
//! neigh 198.19.0.21=02:00:00:00:00:15   # a neighbour's Ethernet address (repeatable)
//! mtu 1500                       # the link's MTU (default 1500)
//! ```

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use lb_core::engine::{Engine, EngineConfig, Settings};
use lb_core::ipvsadm::{restore, WellKnownServices};
use lb_core::{Ipvs, ServiceKey, Time};
use lb_io::link::{Link, LinkError, Timestamp, Transmit};
use lb_io::neigh::NeighParams;
use lb_io::path::{Director, Gateways, InterfaceConfig, IpPrefix, LinkId, PathCounters};
use lb_io::pcap::{PcapHeader, PcapReader, PcapWriter};
use lb_io::wire::EthernetAddress;

/// The options of `lb replay`.
pub const USAGE: &str = "\
Usage: lb replay --rules FILE --in IN.pcap --out OUT.pcap [--config FILE] [options]

Runs every frame of IN.pcap through the director's packet path (rules in the
'ipvsadm -S' format, the frame's timestamp as the time) and writes every frame
the director would send to OUT.pcap.

Options (also KEY VALUE lines of the --config file, without the dashes):
  --mac MAC                the director's Ethernet address (required)
  --ip ADDR[/LEN]          an address of the director with its on-link prefix
                           (repeatable; /24 or /64 when omitted)
  --gateway ADDR           the default gateway of ADDR's family
  --neigh ADDR=MAC         a neighbour's Ethernet address (repeatable)
  --mtu N                  the link's MTU (default 1500)
";

/// Interval of the engine's housekeeping, in the capture's time.
const HOUSEKEEPING_EVERY_MS: u64 = 100;
/// The output buffer: a tunnel packet or an ICMP error built from any frame fits.
const OUT_BUFFER_LEN: usize = 262_144 + 128;
/// Frames read from the capture per batch.
const BATCH: usize = 64;

/// The director's link, as the options describe it.
#[derive(Debug, Default)]
struct LinkOptions {
    mac: Option<EthernetAddress>,
    addrs: Vec<IpPrefix>,
    gateway_v4: Option<std::net::Ipv4Addr>,
    gateway_v6: Option<std::net::Ipv6Addr>,
    neighbours: Vec<(IpAddr, EthernetAddress)>,
    mtu: Option<u32>,
}

/// Everything `lb replay` was asked to do.
#[derive(Debug, Default)]
struct Options {
    rules: Option<String>,
    input: Option<String>,
    output: Option<String>,
    config: Option<String>,
    link: LinkOptions,
}

/// `lb replay ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match run(args) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("lb replay: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> Result<String, String> {
    let options = parse_args(args)?;
    let rules = options.rules.as_deref().ok_or("--rules FILE is required")?;
    let input = options.input.as_deref().ok_or("--in IN.pcap is required")?;
    let output = options
        .output
        .as_deref()
        .ok_or("--out OUT.pcap is required")?;
    let mut link = LinkOptions::default();
    if let Some(config) = &options.config {
        let text = std::fs::read_to_string(config).map_err(|e| format!("{config}: {e}"))?;
        read_config(&text, &mut link).map_err(|e| format!("{config}: {e}"))?;
    }
    link.merge(options.link);

    let ipvs = read_rules(rules)?;
    let vips: Vec<IpAddr> = ipvs
        .services()
        .iter()
        .filter_map(|s| match s.key() {
            ServiceKey::Addr { addr, .. } => Some(*addr),
            ServiceKey::Fwmark { .. } => None,
        })
        .collect();
    let engine = Engine::new(ipvs, Settings::default(), EngineConfig::default());
    let mut director = link.director()?;
    for vip in vips {
        director.own(LinkId(0), vip);
    }

    let file = File::open(input).map_err(|e| format!("{input}: {e}"))?;
    let reader = PcapReader::new(BufReader::new(file)).map_err(|e| format!("{input}: {e}"))?;
    let header = PcapHeader::ethernet(reader.header().endian, reader.header().precision);
    let file = File::create(output).map_err(|e| format!("{output}: {e}"))?;
    let writer =
        PcapWriter::new(BufWriter::new(file), header).map_err(|e| format!("{output}: {e}"))?;
    let mut pcap =
        lb_io::link::PcapLink::new(reader, writer).map_err(|e| format!("{input}: {e}"))?;

    let mut replay = Replay {
        engine,
        director,
        out: vec![0; OUT_BUFFER_LEN],
        housekept: None,
        send_error: None,
    };
    loop {
        let r = pcap.recv_batch(BATCH, Duration::ZERO, &mut |rx, tx| {
            let now = time_of(rx.meta.timestamp);
            replay.frame(rx.data, now, tx);
        });
        if let Some(e) = replay.send_error.take() {
            return Err(format!("{output}: {e}"));
        }
        match r {
            Ok(_) => {}
            Err(LinkError::EndOfInput) => break,
            Err(e) => return Err(format!("{input}: {e}")),
        }
    }
    pcap.flush().map_err(|e| format!("{output}: {e}"))?;
    let stats = pcap.stats().map_err(|e| format!("{input}: {e}"))?;
    Ok(summary(&replay.director.counters, stats.rx_truncated))
}

/// The state of a replay.
struct Replay {
    engine: Engine,
    director: Director,
    out: Vec<u8>,
    housekept: Option<Time>,
    send_error: Option<LinkError>,
}

impl Replay {
    /// One frame of the capture at `now`: the neighbour timers and the engine's
    /// housekeeping due by then, the frame itself, and everything it makes the director
    /// send.
    fn frame(&mut self, frame: &mut [u8], now: Time, tx: &mut dyn Transmit) {
        let mut send = |f: &[u8], error: &mut Option<LinkError>| {
            if let Err(e) = tx.send(f) {
                error.get_or_insert(e);
            }
        };
        let mut timer_frames = Vec::new();
        self.director
            .poll(now, &mut |_, f| timer_frames.push(f.to_vec()));
        for f in &timer_frames {
            send(f, &mut self.send_error);
        }
        let due = self
            .housekept
            .is_none_or(|t| now.since(t) >= Duration::from_millis(HOUSEKEEPING_EVERY_MS));
        if due {
            self.engine.housekeeping(now);
            self.housekept = Some(now);
        }
        let outcome = self
            .director
            .process(&self.engine, LinkId(0), frame, now, &mut self.out);
        if let Some(e) = outcome.in_place {
            send(frame.get(..e.len).unwrap_or(&[]), &mut self.send_error);
        }
        if let Some(e) = outcome.built {
            send(self.out.get(..e.len).unwrap_or(&[]), &mut self.send_error);
        }
        for f in outcome.released.iter().flat_map(|r| &r.frames) {
            send(f, &mut self.send_error);
        }
    }
}

/// A capture timestamp as the engine's time (milliseconds since the epoch).
fn time_of(ts: Timestamp) -> Time {
    Time::from_millis(
        ts.secs
            .saturating_mul(1000)
            .saturating_add(u64::from(ts.nanos / 1_000_000)),
    )
}

/// `4 frames in, 4 out, 0 queued, 1 dropped (no-server 1), 0 passed to the host`.
fn summary(c: &PathCounters, skipped: u64) -> String {
    let reasons = |list: Vec<String>| {
        if list.is_empty() {
            String::new()
        } else {
            format!(" ({})", list.join(", "))
        }
    };
    let drops = c.drops().map(|(r, n)| format!("{r} {n}")).collect();
    let passes = c.passes().map(|(r, n)| format!("{r} {n}")).collect();
    let mut line = format!(
        "{} frames in, {} out, {} queued, {} dropped{}, {} passed to the host{}",
        c.frames_in + skipped,
        c.frames_out,
        c.queued,
        c.dropped_total(),
        reasons(drops),
        c.passed_total(),
        reasons(passes),
    );
    if skipped > 0 {
        line.push_str(&format!(", {skipped} skipped (cut short by the capture)"));
    }
    line
}

/// Reads the rules file into a table, as `ipvsadm -R` would; any line it refuses is an
/// error.
fn read_rules(path: &str) -> Result<Ipvs, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut ipvs = Ipvs::new();
    let restored = restore(&mut ipvs, &text, &WellKnownServices);
    if let Some(first) = restored.errors.first() {
        let first = first.lines().next().unwrap_or("");
        return Err(format!("{path}: {first}"));
    }
    if restored.exit_code != 0 {
        return Err(format!("{path}: not a rules file"));
    }
    Ok(ipvs)
}

/// The value after option `name`.
fn value<'a>(name: &str, it: &mut impl Iterator<Item = &'a String>) -> Result<&'a str, String> {
    it.next()
        .map(String::as_str)
        .ok_or_else(|| format!("option {name} needs a value"))
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let name = arg.as_str();
        match name {
            "--rules" => o.rules = Some(value(name, &mut it)?.to_string()),
            "--in" => o.input = Some(value(name, &mut it)?.to_string()),
            "--out" => o.output = Some(value(name, &mut it)?.to_string()),
            "--config" => o.config = Some(value(name, &mut it)?.to_string()),
            _ => match name.strip_prefix("--") {
                Some(key) if LinkOptions::KEYS.contains(&key) => {
                    o.link.set(key, value(name, &mut it)?)?
                }
                _ => return Err(format!("unknown argument `{name}'; try `lb replay --help'")),
            },
        }
    }
    Ok(o)
}

/// Reads the companion file: `KEY VALUE` lines, `#` comments, blank lines.
fn read_config(text: &str, link: &mut LinkOptions) -> Result<(), String> {
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(key), Some(val), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!("line {}: expected `KEY VALUE'", n + 1));
        };
        if !LinkOptions::KEYS.contains(&key) {
            return Err(format!("line {}: unknown key `{key}'", n + 1));
        }
        link.set(key, val)
            .map_err(|e| format!("line {}: {e}", n + 1))?;
    }
    Ok(())
}

/// `02:00:00:00:00:01`.
fn parse_mac(s: &str) -> Result<EthernetAddress, String> {
    let bad = || format!("invalid Ethernet address `{s}'");
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for byte in &mut mac {
        let part = parts.next().ok_or_else(bad)?;
        if part.is_empty() || part.len() > 2 {
            return Err(bad());
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(EthernetAddress(mac))
}

fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("invalid address `{s}'"))
}

impl LinkOptions {
    const KEYS: [&'static str; 5] = ["mac", "ip", "gateway", "neigh", "mtu"];

    fn set(&mut self, key: &str, val: &str) -> Result<(), String> {
        match key {
            "mac" => self.mac = Some(parse_mac(val)?),
            "ip" => self.addrs.push(val.parse().map_err(|e| format!("{e}"))?),
            "gateway" => match parse_ip(val)? {
                IpAddr::V4(a) => self.gateway_v4 = Some(a),
                IpAddr::V6(a) => self.gateway_v6 = Some(a),
            },
            "neigh" => {
                let (addr, mac) = val
                    .split_once('=')
                    .ok_or_else(|| format!("invalid neighbour `{val}' (ADDR=MAC)"))?;
                self.neighbours.push((parse_ip(addr)?, parse_mac(mac)?));
            }
            "mtu" => {
                let mtu = val
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (68..=65535).contains(m))
                    .ok_or_else(|| format!("invalid MTU `{val}'"))?;
                self.mtu = Some(mtu);
            }
            _ => return Err(format!("unknown key `{key}'")),
        }
        Ok(())
    }

    /// The options of the command line over those of the file.
    fn merge(&mut self, later: LinkOptions) {
        self.mac = later.mac.or(self.mac);
        self.addrs.extend(later.addrs);
        self.gateway_v4 = later.gateway_v4.or(self.gateway_v4);
        self.gateway_v6 = later.gateway_v6.or(self.gateway_v6);
        self.neighbours.extend(later.neighbours);
        self.mtu = later.mtu.or(self.mtu);
    }

    /// The director of one link these options describe.
    fn director(&self) -> Result<Director, String> {
        let mac = self
            .mac
            .ok_or("the director's Ethernet address is required (--mac MAC)")?;
        let mut config = InterfaceConfig::new(mac);
        config.addrs = self.addrs.clone();
        config.mtu = self.mtu.unwrap_or(1500);
        let mut director = Director::new(vec![config], NeighParams::default());
        director.set_gateways(Gateways {
            v4: self.gateway_v4,
            v6: self.gateway_v6,
        });
        let cache = &mut director.interfaces_mut()[0].neighbours.cache;
        for (addr, mac) in &self.neighbours {
            cache.insert_permanent(*addr, *mac);
        }
        Ok(director)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_strictly() {
        assert_eq!(
            parse_mac("02:0a:00:00:ff:1"),
            Ok(EthernetAddress([2, 0x0a, 0, 0, 0xff, 1]))
        );
        for bad in [
            "02:00:00:00:00",
            "02:00:00:00:00:00:00",
            "02::00:00:00:00",
            "0g:00:00:00:00:00",
            "002:00:00:00:00:00",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_lines_and_options_combine() {
        let mut link = LinkOptions::default();
        read_config(
            "# the lab\nmac 02:00:00:00:00:01\nip 198.19.0.1/24\n\nmtu 1400 # small\nneigh 198.19.0.21=02:00:00:00:00:15\n",
            &mut link,
        )
        .unwrap();
        let args: Vec<String> = [
            "--mtu",
            "9000",
            "--ip",
            "2001:db8:5::1",
            "--gateway",
            "198.19.0.254",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        link.merge(parse_args(&args).unwrap().link);
        assert_eq!(link.mtu, Some(9000));
        assert_eq!(link.mac, Some(EthernetAddress([2, 0, 0, 0, 0, 1])));
        assert_eq!(
            link.addrs.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
            ["198.19.0.1/24", "2001:db8:5::1/64"]
        );
        assert_eq!(link.gateway_v4, Some("198.19.0.254".parse().unwrap()));
        assert_eq!(link.neighbours.len(), 1);
        assert_eq!(
            read_config("mac\n", &mut link),
            Err("line 1: expected `KEY VALUE'".to_string())
        );
        assert_eq!(
            read_config("vip 198.18.1.1\n", &mut link),
            Err("line 1: unknown key `vip'".to_string())
        );
        assert_eq!(
            read_config("mtu 12\n", &mut link),
            Err("line 1: invalid MTU `12'".to_string())
        );
    }

    #[test]
    fn summary_lists_reasons() {
        let c = PathCounters::default();
        assert_eq!(
            summary(&c, 0),
            "0 frames in, 0 out, 0 queued, 0 dropped, 0 passed to the host"
        );
        assert_eq!(
            summary(&c, 2),
            "2 frames in, 0 out, 0 queued, 0 dropped, 0 passed to the host, 2 skipped (cut short by the capture)"
        );
    }
}

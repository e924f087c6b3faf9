//! What `ipvsadm -L` prints, byte for byte (ipvsadm.c `list_all`, `print_title`,
//! `print_service_entry`, `print_largenum`, `list_timeout`, `list_daemon`, `list_conn`).

use std::net::{IpAddr, Ipv4Addr};

use super::command::{DaemonConf, ListFormat, ListOptions, ListTarget, Timeouts};
use super::names::{addrport_to_anyname, truncate_bytes, NumericOnly, Resolver};
use super::sort::{dest_listing_order, listing_order};
use crate::dest::{Destination, FwdMethod, TunnelCsum, TunnelType};
use crate::error::Error;
use crate::estimator::Rates;
use crate::ipvs::Ipvs;
use crate::sched::SchedFlags;
use crate::service::{Family, Protocol, Service, ServiceKey};

/// The kernel's connection hash table size, which the header line shows.
pub const DEFAULT_CONN_TABLE_SIZE: u32 = 4096;

/// The header line of every full listing (without its newline).
pub fn header_line(conn_table_size: u32) -> String {
    format!("IP Virtual Server version 1.2.1 (size={conn_table_size})")
}

/// One entry of the connection table as `ipvsadm -L -c` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnEntry {
    /// IP protocol number (6 TCP, 17 UDP, 132 SCTP; 0 for a fwmark persistence template).
    pub protocol: u8,
    /// Seconds until the entry expires.
    pub expire_secs: u32,
    /// State name (`ESTABLISHED`, `FIN_WAIT`, `NONE`, `UDP`, …).
    pub state: String,
    /// Client address and port.
    pub client: (IpAddr, u16),
    /// Virtual address and port (for a fwmark template, the mark as an IPv4 address, port 0).
    pub vip: (IpAddr, u16),
    /// Real server address and port.
    pub dest: (IpAddr, u16),
    /// Persistence engine name and data (`--persistent-conn` shows them), if any.
    pub pe: Option<(String, String)>,
}

/// The kernel's `ip_vs_proto_name`.
pub fn protocol_name(protocol: u8) -> String {
    match protocol {
        0 => "IP".to_string(),
        1 => "ICMP".to_string(),
        6 => "TCP".to_string(),
        17 => "UDP".to_string(),
        58 => "ICMPv6".to_string(),
        132 => "SCTP".to_string(),
        n => format!("IP_{n}"),
    }
}

fn protocol_of(protocol: u8) -> Option<Protocol> {
    match protocol {
        6 => Some(Protocol::Tcp),
        17 => Some(Protocol::Udp),
        132 => Some(Protocol::Sctp),
        _ => None,
    }
}

/// Rates of nothing: what a listing shows before the estimator has run.
pub fn no_rates(_service: &Service, _dest: Option<&Destination>) -> Rates {
    Rates::default()
}

/// Everything a listing needs besides the table.
#[derive(Clone, Copy)]
pub struct ListContext<'a> {
    /// Name look-ups for listings without `-n`.
    pub names: &'a dyn Resolver,
    /// The rates of a service (`None`) or of one of its destinations.
    pub rates: &'a dyn Fn(&Service, Option<&Destination>) -> Rates,
    /// The connection hash table size shown in the header.
    pub conn_table_size: u32,
    /// What `--timeout` shows.
    pub timeouts: Timeouts,
    /// What `--daemon` shows (at most a master and a backup).
    pub daemons: &'a [DaemonConf],
    /// What `-c` shows, in the order given.
    pub conns: &'a [ConnEntry],
}

impl Default for ListContext<'static> {
    /// Numeric names, zero rates, size 4096, the kernel's default timeouts, no daemons, no
    /// connections.
    fn default() -> Self {
        ListContext {
            names: &NumericOnly,
            rates: &no_rates,
            conn_table_size: DEFAULT_CONN_TABLE_SIZE,
            timeouts: Timeouts::default(),
            daemons: &[],
            conns: &[],
        }
    }
}

impl std::fmt::Debug for ListContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListContext")
            .field("conn_table_size", &self.conn_table_size)
            .field("timeouts", &self.timeouts)
            .field("daemons", &self.daemons)
            .field("conns", &self.conns)
            .finish_non_exhaustive()
    }
}

/// A listing that could not be made; ipvsadm prints the message and exits with status 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ListError(pub Error);

impl ListError {
    /// ipvsadm's exit status for a failed listing: 1.
    pub fn exit_code(&self) -> i32 {
        1
    }
}

/// ipvsadm's printing format flags (`FMT_*`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Fmt {
    pub numeric: bool,
    pub rule: bool,
    pub stats: bool,
    pub rate: bool,
    pub thresholds: bool,
    pub persistent_conn: bool,
    pub nosort: bool,
    pub exact: bool,
    pub tun_info: bool,
}

impl From<&ListFormat> for Fmt {
    fn from(f: &ListFormat) -> Self {
        Fmt {
            numeric: f.numeric,
            rule: false,
            stats: f.stats,
            rate: f.rate,
            thresholds: f.thresholds,
            persistent_conn: f.persistent_conn,
            nosort: f.nosort,
            exact: f.exact,
            tun_info: f.tun_info,
        }
    }
}

/// `%-Ns`: left-justified in `width` bytes.
pub(crate) fn ljust(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    for _ in s.len()..width {
        out.push(' ');
    }
}

/// `%Ns`: right-justified in `width` bytes.
pub(crate) fn rjust(out: &mut String, s: &str, width: usize) {
    for _ in s.len()..width {
        out.push(' ');
    }
    out.push_str(s);
}

/// `print_largenum`: 9 columns, in thousands (K), millions (M), billions (G) or trillions (T)
/// when it does not fit; with `--exact` every digit, at least 9 columns, else one blank more.
pub fn largenum(i: u64, exact: bool) -> String {
    let mut out = String::new();
    if exact {
        let digits = i.to_string();
        let width = if digits.len() <= 8 {
            9
        } else {
            digits.len() + 1
        };
        rjust(&mut out, &digits, width);
        return out;
    }
    let (value, suffix) = if i < 100_000_000 {
        rjust(&mut out, &i.to_string(), 9);
        return out;
    } else if i < 1_000_000_000 {
        (i / 1_000, "K")
    } else if i < 100_000_000_000 {
        (i / 1_000_000, "M")
    } else if i < 100_000_000_000_000 {
        (i / 1_000_000_000, "G")
    } else {
        (i / 1_000_000_000_000, "T")
    };
    rjust(&mut out, &value.to_string(), 8);
    out.push_str(suffix);
    out
}

/// `print_title`.
fn title(f: &Fmt) -> String {
    let mut s = String::new();
    let five = |s: &mut String, cols: [&str; 5]| {
        ljust(s, "Prot LocalAddress:Port", 33);
        for c in cols {
            s.push(' ');
            rjust(s, c, 8);
        }
        s.push_str("\n  -> RemoteAddress:Port\n");
    };
    if f.stats {
        five(
            &mut s,
            ["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"],
        );
    } else if f.rate {
        five(&mut s, ["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"]);
    } else if f.thresholds {
        ljust(&mut s, "Prot LocalAddress:Port", 33);
        for c in ["Uthreshold", "Lthreshold", "ActiveConn"] {
            s.push(' ');
            ljust(&mut s, c, 10);
        }
        s.push(' ');
        ljust(&mut s, "InActConn", 10);
        s.push_str("\n  -> RemoteAddress:Port\n");
    } else if f.persistent_conn {
        ljust(&mut s, "Prot LocalAddress:Port", 33);
        s.push(' ');
        ljust(&mut s, "Weight", 9);
        s.push(' ');
        ljust(&mut s, "PersistConn", 11);
        s.push(' ');
        ljust(&mut s, "ActiveConn", 10);
        s.push(' ');
        ljust(&mut s, "InActConn", 10);
        s.push_str("\n  -> RemoteAddress:Port\n");
    } else if f.tun_info {
        s.push_str("Prot LocalAddress:Port Scheduler Flags\n");
        s.push_str(
            "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n",
        );
    } else if !f.rule {
        s.push_str("Prot LocalAddress:Port Scheduler Flags\n");
        s.push_str("  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n");
    }
    s
}

/// `print_sched_flags`: the flag names the service's scheduler knows, comma-separated.
pub(crate) fn sched_flags_text(scheduler: &str, flags: SchedFlags) -> String {
    let names: [(SchedFlags, &str); 3] = match scheduler {
        "sh" => [
            (SchedFlags::FLAG1, "sh-fallback"),
            (SchedFlags::FLAG2, "sh-port"),
            (SchedFlags(0), ""),
        ],
        "mh" => [
            (SchedFlags::FLAG1, "mh-fallback"),
            (SchedFlags::FLAG2, "mh-port"),
            (SchedFlags(0), ""),
        ],
        _ => [
            (SchedFlags::FLAG1, "flag-1"),
            (SchedFlags::FLAG2, "flag-2"),
            (SchedFlags::FLAG3, "flag-3"),
        ],
    };
    names
        .iter()
        .filter(|(bit, name)| !name.is_empty() && flags.contains(*bit))
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(",")
}

/// The option that names a protocol in a rule (`option_from_protocol`).
fn protocol_option(proto: Protocol) -> &'static str {
    match proto {
        Protocol::Tcp => "-t",
        Protocol::Udp => "-u",
        Protocol::Sctp => "--sctp-service",
    }
}

/// The service column (`svc_name` of `print_service_entry`).
pub(crate) fn service_name(key: &ServiceKey, f: &Fmt, names: &dyn Resolver) -> String {
    match key {
        ServiceKey::Fwmark { family, mark } => match (f.rule, family) {
            (true, Family::V6) => format!("-f {mark} -6"),
            (true, Family::V4) => format!("-f {mark}"),
            (false, Family::V6) => format!("FWM  {mark} IPv6"),
            (false, Family::V4) => format!("FWM  {mark}"),
        },
        ServiceKey::Addr { proto, addr, port } => {
            let vname = addrport_to_anyname(addr, *port, Some(*proto), f.numeric, names);
            if f.rule {
                format!("{} {vname}", protocol_option(*proto))
            } else {
                let mut s = String::new();
                ljust(&mut s, proto.name(), 4);
                s.push(' ');
                s.push_str(&vname);
                if addr.is_ipv4() {
                    truncate_bytes(&mut s, 33);
                }
                s
            }
        }
    }
}

/// The destination column: `addr:port`, IPv4 cut to 28 bytes in listings.
fn dest_name(svc: &Service, d: &Destination, f: &Fmt, names: &dyn Resolver) -> String {
    let proto = match svc.key() {
        ServiceKey::Addr { proto, .. } => Some(*proto),
        ServiceKey::Fwmark { .. } => None,
    };
    let mut s = addrport_to_anyname(&d.addr(), d.port(), proto, f.numeric, names);
    if !f.rule && d.addr().is_ipv4() {
        truncate_bytes(&mut s, 28);
    }
    s
}

/// ` mask …` / ` -M …` text of a persistent service, if the mask is not the full one.
fn mask_text(key: &ServiceKey, netmask: u32) -> Option<String> {
    match key.family() {
        Family::V4 if netmask != 0xffff_ffff => Some(Ipv4Addr::from(netmask).to_string()),
        Family::V6 if netmask != 128 => Some(netmask.to_string()),
        _ => None,
    }
}

/// `fwd_tun_info`.
fn tunnel_info(d: &Destination) -> Option<String> {
    let conf = d.conf();
    if conf.method != FwdMethod::Tunnel {
        return None;
    }
    let flag = match conf.tunnel.csum {
        TunnelCsum::NoCsum => "-c",
        TunnelCsum::Csum => "+c",
        TunnelCsum::RemCsum => "r+c",
    };
    Some(match conf.tunnel.kind {
        TunnelType::Ipip => "ipip".to_string(),
        TunnelType::Gue => format!("gue:{}:{flag}", conf.tunnel.port),
        TunnelType::Gre => format!("gre:{flag}"),
    })
}

/// `fwd_switch`: the option of a forwarding method in a rule.
fn fwd_switch(m: FwdMethod) -> &'static str {
    match m {
        FwdMethod::Masq => "-m",
        FwdMethod::Tunnel => "-i",
        FwdMethod::Local | FwdMethod::Route => "-g",
    }
}

fn tunnel_csum_option(c: TunnelCsum) -> &'static str {
    match c {
        TunnelCsum::NoCsum => "--tun-nocsum",
        TunnelCsum::Csum => "--tun-csum",
        TunnelCsum::RemCsum => "--tun-remcsum",
    }
}

fn push_u32_left(out: &mut String, v: impl ToString, width: usize) {
    out.push(' ');
    ljust(out, &v.to_string(), width);
}

/// `print_service_entry`: the service line and its destination lines.
pub(crate) fn service_entry(out: &mut String, svc: &Service, f: &Fmt, ctx: &ListContext<'_>) {
    let key = svc.key();
    let conf = svc.conf();
    let name = service_name(key, f, ctx.names);
    if f.rule {
        out.push_str(&format!("-A {name} -s {}", conf.scheduler));
        if let Some(t) = conf.persistence {
            out.push_str(&format!(" -p {t}"));
            if let Some(m) = mask_text(key, conf.netmask) {
                out.push_str(&format!(" -M {m}"));
            }
        }
        if let Some(pe) = &conf.pe {
            out.push_str(&format!(" --pe {pe}"));
        }
        if conf.one_packet {
            out.push_str(" -o");
        }
        if !conf.sched_flags.is_empty() {
            out.push_str(" -b ");
            out.push_str(&sched_flags_text(&conf.scheduler, conf.sched_flags));
        }
    } else if f.stats || f.rate {
        ljust(out, &name, 33);
        let values = if f.stats {
            let c = svc.stats.shown();
            [c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes]
        } else {
            let r = (ctx.rates)(svc, None);
            [r.cps, r.inpps, r.outpps, r.inbps, r.outbps]
        };
        for v in values {
            out.push_str(&largenum(v, f.exact));
        }
    } else {
        out.push_str(&format!("{name} {}", conf.scheduler));
        if !conf.sched_flags.is_empty() {
            out.push_str(" (");
            out.push_str(&sched_flags_text(&conf.scheduler, conf.sched_flags));
            out.push(')');
        }
        if let Some(t) = conf.persistence {
            out.push_str(&format!(" persistent {t}"));
            if let Some(m) = mask_text(key, conf.netmask) {
                out.push_str(&format!(" mask {m}"));
            }
            if let Some(pe) = &conf.pe {
                out.push_str(&format!(" pe {pe}"));
            }
        }
        if conf.one_packet {
            out.push_str(" ops");
        }
    }
    out.push('\n');

    for d in dest_listing_order(svc, f.nosort) {
        dest_entry(out, svc, d, &name, f, ctx);
    }
}

fn dest_entry(
    out: &mut String,
    svc: &Service,
    d: &Destination,
    svc_name: &str,
    f: &Fmt,
    ctx: &ListContext<'_>,
) {
    let dname = dest_name(svc, d, f, ctx.names);
    let conf = d.conf();
    if f.rule {
        out.push_str(&format!(
            "-a {svc_name} -r {dname} {} -w {}",
            fwd_switch(conf.method),
            conf.weight
        ));
        if conf.method == FwdMethod::Tunnel {
            match conf.tunnel.kind {
                TunnelType::Ipip => out.push_str(" --tun-type ipip"),
                TunnelType::Gue => out.push_str(&format!(
                    " --tun-type gue --tun-port {} {}",
                    conf.tunnel.port,
                    tunnel_csum_option(conf.tunnel.csum)
                )),
                TunnelType::Gre => out.push_str(&format!(
                    " --tun-type gre {}",
                    tunnel_csum_option(conf.tunnel.csum)
                )),
            }
        }
        out.push('\n');
        return;
    }
    out.push_str("  -> ");
    ljust(out, &dname, 28);
    if f.stats {
        let c = d.stats.shown();
        for v in [c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes] {
            out.push_str(&largenum(v, f.exact));
        }
    } else if f.rate {
        let r = (ctx.rates)(svc, Some(d));
        for v in [r.cps, r.inpps, r.outpps] {
            out.push(' ');
            rjust(out, &v.to_string(), 8);
        }
        out.push_str(&largenum(r.inbps, f.exact));
        out.push_str(&largenum(r.outbps, f.exact));
    } else if f.thresholds {
        push_u32_left(out, conf.u_threshold, 10);
        push_u32_left(out, conf.l_threshold, 10);
        push_u32_left(out, d.active_conns(), 10);
        push_u32_left(out, d.inactive_conns(), 10);
    } else if f.persistent_conn {
        push_u32_left(out, conf.weight, 9);
        push_u32_left(out, d.persistent_conns(), 11);
        push_u32_left(out, d.active_conns(), 10);
        push_u32_left(out, d.inactive_conns(), 10);
    } else {
        push_u32_left(out, conf.method.list_name(), 7);
        if f.tun_info {
            push_u32_left(out, tunnel_info(d).unwrap_or_else(|| "n/a".to_string()), 13);
        }
        push_u32_left(out, conf.weight, 6);
        push_u32_left(out, d.active_conns(), 10);
        push_u32_left(out, d.inactive_conns(), 10);
    }
    out.push('\n');
}

/// `ipvsadm -L` (no service named): the header, the title and every service.
pub fn list_all(ipvs: &Ipvs, format: &ListFormat, ctx: &ListContext<'_>) -> String {
    let f = Fmt::from(format);
    let mut out = header_line(ctx.conn_table_size);
    out.push('\n');
    out.push_str(&title(&f));
    for svc in listing_order(ipvs.services(), f.nosort) {
        service_entry(&mut out, svc, &f, ctx);
    }
    out
}

/// `ipvsadm -L -t VIP:PORT` (or `-u`, `--sctp-service`, `-f`): the title and that service,
/// without the header line. An unknown service is "No such service" (exit status 1).
pub fn list_service(
    ipvs: &Ipvs,
    key: &ServiceKey,
    format: &ListFormat,
    ctx: &ListContext<'_>,
) -> Result<String, ListError> {
    let svc = ipvs.service(key).ok_or(ListError(Error::NoSuchService))?;
    let f = Fmt::from(format);
    let mut out = title(&f);
    service_entry(&mut out, svc, &f, ctx);
    Ok(out)
}

/// `ipvsadm -L --timeout`.
pub fn list_timeouts(t: &Timeouts) -> String {
    format!(
        "Timeout (tcp tcpfin udp): {} {} {}\n",
        t.tcp, t.tcp_fin, t.udp
    )
}

/// `ipvsadm -L --daemon`: one line per running daemon; nothing when none runs.
pub fn list_daemons(daemons: &[DaemonConf]) -> String {
    let mut out = String::new();
    for d in daemons {
        out.push_str(&format!(
            "{} sync daemon (mcast={}, syncid={}",
            d.state.name(),
            d.mcast_ifn,
            d.syncid
        ));
        if d.sync_maxlen != 0 {
            out.push_str(&format!(", maxlen={}", d.sync_maxlen));
        }
        if let Some(g) = &d.mcast_group {
            out.push_str(&format!(", group={}", super::names::inet_ntop(g)));
        }
        if d.mcast_port != 0 {
            out.push_str(&format!(", port={}", d.mcast_port));
        }
        if d.mcast_ttl != 0 {
            out.push_str(&format!(", ttl={}", d.mcast_ttl));
        }
        out.push_str(")\n");
    }
    out
}

/// `ipvsadm -L -c`: the connection table. Only `numeric` and `persistent_conn` of the
/// format matter.
pub fn list_connections(conns: &[ConnEntry], format: &ListFormat, names: &dyn Resolver) -> String {
    let mut out = String::from("IPVS connection entries\n");
    out.push_str("pro expire ");
    ljust(&mut out, "state", 11);
    out.push(' ');
    ljust(&mut out, "source", 18);
    out.push(' ');
    ljust(&mut out, "virtual", 18);
    out.push(' ');
    if format.persistent_conn {
        ljust(&mut out, "destination", 18);
        out.push(' ');
        ljust(&mut out, "pe name", 16);
        out.push_str(" pe_data\n");
    } else {
        out.push_str("destination\n");
    }
    for c in conns {
        let proto = protocol_of(c.protocol);
        let name = |a: &(IpAddr, u16)| addrport_to_anyname(&a.0, a.1, proto, format.numeric, names);
        let expire = format!("{:02}:{:02}", c.expire_secs / 60, c.expire_secs % 60);
        ljust(&mut out, &protocol_name(c.protocol), 3);
        out.push(' ');
        ljust(&mut out, &expire, 6);
        out.push(' ');
        ljust(&mut out, &c.state, 11);
        out.push(' ');
        ljust(&mut out, &name(&c.client), 18);
        out.push(' ');
        ljust(&mut out, &name(&c.vip), 18);
        out.push(' ');
        match (&c.pe, format.persistent_conn) {
            (Some((pe_name, pe_data)), true) => {
                ljust(&mut out, &name(&c.dest), 16);
                out.push(' ');
                ljust(&mut out, pe_name, 18);
                out.push(' ');
                out.push_str(pe_data);
            }
            _ => out.push_str(&name(&c.dest)),
        }
        out.push('\n');
    }
    out
}

/// Any `-L` listing, as the command asks.
pub fn list(ipvs: &Ipvs, opts: &ListOptions, ctx: &ListContext<'_>) -> Result<String, ListError> {
    Ok(match &opts.target {
        ListTarget::All => list_all(ipvs, &opts.format, ctx),
        ListTarget::Service(key) => list_service(ipvs, key, &opts.format, ctx)?,
        ListTarget::Connections => list_connections(ctx.conns, &opts.format, ctx.names),
        ListTarget::Timeouts => list_timeouts(&ctx.timeouts),
        ListTarget::Daemons => list_daemons(ctx.daemons),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largenum_rule() {
        assert_eq!(largenum(0, false), "        0");
        assert_eq!(largenum(99_999_999, false), " 99999999");
        assert_eq!(largenum(100_000_000, false), "  100000K");
        assert_eq!(largenum(523_442_999, false), "  523442K");
        assert_eq!(largenum(1_000_000_000, false), "    1000M");
        assert_eq!(largenum(99_999_999_999, false), "   99999M");
        assert_eq!(largenum(100_000_000_000, false), "     100G");
        assert_eq!(largenum(100_000_000_000_000, false), "     100T");
        assert_eq!(largenum(u64::MAX, false), "18446744T");
        assert_eq!(largenum(12, true), "       12");
        assert_eq!(largenum(123_456_789, true), " 123456789");
    }

    #[test]
    fn flags_text() {
        assert_eq!(sched_flags_text("sh", SchedFlags(3)), "sh-fallback,sh-port");
        assert_eq!(sched_flags_text("sh", SchedFlags(4)), "");
        assert_eq!(sched_flags_text("mh", SchedFlags(2)), "mh-port");
        assert_eq!(
            sched_flags_text("wlc", SchedFlags(7)),
            "flag-1,flag-2,flag-3"
        );
    }
}

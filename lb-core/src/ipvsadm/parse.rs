//! ipvsadm's command line: `parse_options` and `process_options` of ipvsadm.c, step by step.
//!
//! Options are taken in the order they appear, as ipvsadm takes them: a bad value is reported
//! when its option is read, before any later problem; values that depend on earlier options
//! depend on them the same way (the port of `-r` without a port is the service port *given so
//! far*; `-M` is read as an IPv6 prefix length only when an IPv6 service came before it).
//! Then come the legality table of commands × options, ipvsadm's own consistency checks, and
//! its defaults.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use super::command::{
    Command, DaemonConf, DaemonState, ListFormat, ListOptions, ListTarget, Timeouts,
};
use super::legality::{generic_opt_check, opt, tunnel_opt_check, Cmd, CMD_NAMES, TUN_NAMES};
use super::names::{truncate_bytes, Resolver};
use super::popt::{Popt, PoptError, Tag};
use super::values::{
    atoi, inet_pton4, inet_pton6, parse_fwmark, parse_netmask, parse_service, string_to_number,
};
use crate::dest::{DestConf, FwdMethod, TunnelConf, TunnelCsum, TunnelType};
use crate::sched::SchedFlags;
use crate::service::{Family, Protocol, ServiceConf, ServiceKey};

/// Longest timeout ipvsadm accepts: 31 days.
pub const MAX_TIMEOUT: u32 = 86400 * 31;
/// The persistence timeout `-p` without a value gives (libipvs `IPVS_SVC_PERSISTENT_TIMEOUT`).
pub const DEFAULT_PERSISTENCE: u32 = 360;

/// Why a command line was refused, and what ipvsadm prints and exits with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// ipvsadm's own check (`fail()`): the message on stderr, exit status 2. The text is
    /// ipvsadm's to the byte; one message ("-6 used before -f") ends with a newline of its
    /// own, so ipvsadm prints an empty line after it.
    Fail(String),
    /// popt could not read an option: `<option>: <reason>` on stderr, exit status 255.
    Popt {
        /// The argument being read (`poptBadOption`).
        option: String,
        /// What was wrong.
        error: PoptError,
    },
    /// No command, or an unknown one first: "Try `ipvsadm -h' or 'ipvsadm --help' for more
    /// information." on stderr, exit status 255.
    TryHelp,
}

impl ParseError {
    /// The exit status ipvsadm ends with: 2 for its own checks, 255 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            ParseError::Fail(_) => 2,
            ParseError::Popt { .. } | ParseError::TryHelp => 255,
        }
    }

    /// The line ipvsadm prints on stderr (without the final newline), naming itself
    /// `program` (its `argv[0]`) where it does.
    pub fn message(&self, program: &str) -> String {
        match self {
            ParseError::Fail(m) => m.clone(),
            ParseError::Popt { option, error } => format!("{option}: {}", error.message()),
            ParseError::TryHelp => {
                format!("Try `{program} -h' or '{program} --help' for more information.")
            }
        }
    }

    /// True when ipvsadm exits at once, also in the middle of `-R`; false for a popt error,
    /// after which `-R` goes on with the next line.
    pub fn ends_restore(&self) -> bool {
        !matches!(self, ParseError::Popt { .. })
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message("ipvsadm"))
    }
}

impl std::error::Error for ParseError {}

fn fail<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError::Fail(msg.into()))
}

const SVC_F_PERSISTENT: u32 = 0x1;
const SVC_F_ONEPACKET: u32 = 0x4;
const SVC_F_SCHED1: u32 = 0x8;
const SVC_F_SCHED2: u32 = 0x10;
const SVC_F_SCHED3: u32 = 0x20;
const SVC_F_SCHED_MASK: u32 = SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3;

const TUN_F_CSUM: u16 = 1;
const TUN_F_REMCSUM: u16 = 2;

/// ipvsadm's `struct ipvs_command_entry` plus its option bits and format flags.
struct Entry {
    cmd: Cmd,
    options: u64,
    format: ListFormat,
    // the virtual service
    svc_family: Option<Family>,
    svc_proto: Option<Protocol>,
    svc_addr: Option<IpAddr>,
    svc_port: u16,
    fwmark: u32,
    sched_name: String,
    flags: u32,
    timeout: u32,
    netmask: u32,
    pe_name: String,
    // the real server
    dest_addr: Option<IpAddr>,
    dest_port: u16,
    fwd: FwdMethod,
    weight: u32,
    u_threshold: u32,
    l_threshold: u32,
    tun_type: usize,
    tun_port: u16,
    tun_flags: u16,
    // timeouts and daemons
    timeouts: Timeouts,
    daemon_state: DaemonState,
    mcast_ifn: String,
    syncid: u32,
    sync_maxlen: u16,
    mcast_group: Option<IpAddr>,
    mcast_port: u16,
    mcast_ttl: u8,
}

impl Entry {
    fn new(cmd: Cmd) -> Self {
        Entry {
            cmd,
            options: 0,
            format: ListFormat::default(),
            svc_family: None,
            svc_proto: None,
            svc_addr: None,
            svc_port: 0,
            fwmark: 0,
            sched_name: String::new(),
            flags: 0,
            timeout: 0,
            netmask: 0xffff_ffff,
            pe_name: String::new(),
            dest_addr: None,
            dest_port: 0,
            fwd: FwdMethod::Route,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tun_type: 0,
            tun_port: 0,
            tun_flags: 0,
            timeouts: Timeouts {
                tcp: 0,
                tcp_fin: 0,
                udp: 0,
            },
            daemon_state: DaemonState::Master,
            mcast_ifn: String::new(),
            syncid: 0,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
        }
    }

    fn has(&self, o: usize) -> bool {
        self.options & (1u64 << o) != 0
    }

    /// `set_option`: each option at most once.
    fn set_option(&mut self, o: usize) -> Result<(), ParseError> {
        if self.has(o) {
            return fail(format!("multiple '{}' options specified", opt::NAMES[o]));
        }
        self.options |= 1u64 << o;
        Ok(())
    }

    /// The service named on the command line, if any.
    fn service_key(&self) -> Option<ServiceKey> {
        if self.fwmark != 0 {
            return Some(ServiceKey::Fwmark {
                family: self.svc_family.unwrap_or(Family::V4),
                mark: self.fwmark,
            });
        }
        Some(ServiceKey::Addr {
            proto: self.svc_proto?,
            addr: self.svc_addr?,
            port: self.svc_port,
        })
    }

    fn required_service_key(&self) -> Result<ServiceKey, ParseError> {
        self.service_key().ok_or_else(|| {
            ParseError::Fail(format!(
                "You need to supply the 'service-address' option for the '{}' command",
                CMD_NAMES[self.cmd as usize]
            ))
        })
    }

    fn required_dest(&self) -> Result<IpAddr, ParseError> {
        self.dest_addr.ok_or_else(|| {
            ParseError::Fail(format!(
                "You need to supply the 'real-server' option for the '{}' command",
                CMD_NAMES[self.cmd as usize]
            ))
        })
    }

    fn service_conf(&self) -> ServiceConf {
        let scheduler = if self.sched_name.is_empty() {
            "wlc".to_string()
        } else {
            self.sched_name.clone()
        };
        ServiceConf {
            scheduler,
            sched_flags: SchedFlags(((self.flags & SVC_F_SCHED_MASK) >> 3) as u8),
            persistence: (self.flags & SVC_F_PERSISTENT != 0).then_some(self.timeout),
            netmask: self.netmask,
            one_packet: self.flags & SVC_F_ONEPACKET != 0,
            pe: (!self.pe_name.is_empty()).then(|| self.pe_name.clone()),
        }
    }

    fn dest_conf(&self) -> DestConf {
        let kind = match self.tun_type {
            1 => TunnelType::Gue,
            2 => TunnelType::Gre,
            _ => TunnelType::Ipip,
        };
        let csum = if self.tun_flags & TUN_F_REMCSUM != 0 {
            TunnelCsum::RemCsum
        } else if self.tun_flags & TUN_F_CSUM != 0 {
            TunnelCsum::Csum
        } else {
            TunnelCsum::NoCsum
        };
        DestConf {
            method: self.fwd,
            weight: self.weight,
            u_threshold: self.u_threshold,
            l_threshold: self.l_threshold,
            tunnel: TunnelConf {
                kind,
                port: self.tun_port,
                csum,
            },
        }
    }
}

/// `parse_timeout`: no value means the default persistence timeout.
fn parse_timeout(value: Option<&str>, min: u32) -> Result<u32, ParseError> {
    let Some(v) = value else {
        return Ok(DEFAULT_PERSISTENCE);
    };
    match string_to_number(v, i64::from(min), i64::from(MAX_TIMEOUT)) {
        Some(n) => Ok(n as u32),
        None => fail(format!("invalid timeout value `{v}' specified")),
    }
}

fn number(value: &str, min: i64, max: i64, what: &str) -> Result<i64, ParseError> {
    string_to_number(value, min, max)
        .ok_or_else(|| ParseError::Fail(format!("illegal {what} specified")))
}

/// What `strncpy` keeps of `value` in a C buffer: at most `keep` bytes.
fn c_string(value: &str, keep: usize) -> String {
    let mut s = value.to_string();
    truncate_bytes(&mut s, keep);
    s
}

/// `parse_sched_flags`.
fn parse_sched_flags(sched: &str, arg: &str) -> Result<u32, ParseError> {
    let sched = if sched.is_empty() { "wlc" } else { sched };
    let mut flags = 0;
    let mut any = false;
    for flag in arg.split(',').filter(|f| !f.is_empty()) {
        any = true;
        let (bit, only_for) = match flag {
            "flag-1" => (SVC_F_SCHED1, None),
            "flag-2" => (SVC_F_SCHED2, None),
            "flag-3" => (SVC_F_SCHED3, None),
            "sh-fallback" => (SVC_F_SCHED1, Some("sh")),
            "sh-port" => (SVC_F_SCHED2, Some("sh")),
            "mh-fallback" => (SVC_F_SCHED1, Some("mh")),
            "mh-port" => (SVC_F_SCHED2, Some("mh")),
            _ => return fail(format!("invalid scheduler flag `{flag}'")),
        };
        if let Some(s) = only_for {
            if s != sched {
                return fail(format!("incompatible scheduler flag `{flag}'"));
            }
        }
        flags |= bit;
    }
    if !any {
        // ipvsadm 1.31 dereferences a null token here (a crash); refuse instead.
        return fail("invalid scheduler flag `'");
    }
    Ok(flags)
}

fn is_ipv6_multicast(a: &Ipv6Addr) -> bool {
    a.octets()[0] == 0xff
}

/// One option after the command (the `while` loop of `parse_options`).
fn take_option(
    ce: &mut Entry,
    tag: Tag,
    value: Option<&str>,
    names: &dyn Resolver,
    popt: &Popt<'_>,
    sched_flags_arg: &mut String,
) -> Result<(), ParseError> {
    let arg = value.unwrap_or("");
    match tag {
        Tag::TcpService | Tag::UdpService | Tag::SctpService => {
            ce.set_option(opt::SERVICE)?;
            let proto = match tag {
                Tag::TcpService => Protocol::Tcp,
                Tag::UdpService => Protocol::Udp,
                _ => Protocol::Sctp,
            };
            ce.svc_proto = Some(proto);
            let Some(hp) = parse_service(arg, Some(proto), names) else {
                return fail("illegal virtual server address[:port] specified");
            };
            ce.svc_family = Some(Family::of(&hp.addr));
            ce.svc_addr = Some(hp.addr);
            if hp.addr.is_ipv6() {
                ce.netmask = 128;
            }
            if let Some(p) = hp.port {
                ce.svc_port = p;
            }
        }
        Tag::FwmarkService => {
            ce.set_option(opt::SERVICE)?;
            ce.svc_family = Some(Family::V4);
            ce.svc_proto = Some(Protocol::Tcp);
            ce.fwmark = match parse_fwmark(arg) {
                Some(m) => m,
                None => return fail(format!("invalid fwmark value `{arg}' specified")),
            };
        }
        Tag::Scheduler => {
            ce.set_option(opt::SCHEDULER)?;
            ce.sched_name = c_string(arg, 15);
        }
        Tag::Persistent => {
            ce.set_option(opt::PERSISTENT)?;
            ce.flags |= SVC_F_PERSISTENT;
            ce.timeout = parse_timeout(value, 1)?;
        }
        Tag::Netmask => {
            ce.set_option(opt::NETMASK)?;
            if ce.svc_family != Some(Family::V6) {
                match parse_netmask(arg, names) {
                    Some(m) => ce.netmask = u32::from(m),
                    None => return fail("illegal virtual server persistent mask specified"),
                }
            } else {
                let plen = atoi(arg);
                if !(1..=128).contains(&plen) {
                    return fail("illegal ipv6 netmask specified");
                }
                ce.netmask = plen as u32;
            }
        }
        Tag::RealServer => {
            ce.set_option(opt::SERVER)?;
            let Some(hp) = parse_service(arg, ce.svc_proto, names) else {
                return fail("illegal real server address[:port] specified");
            };
            ce.dest_addr = Some(hp.addr);
            ce.dest_port = hp.port.unwrap_or(ce.svc_port);
        }
        Tag::Ipip | Tag::Gatewaying | Tag::Masquerading => {
            ce.set_option(opt::FORWARD)?;
            ce.fwd = match tag {
                Tag::Ipip => FwdMethod::Tunnel,
                Tag::Gatewaying => FwdMethod::Route,
                _ => FwdMethod::Masq,
            };
        }
        Tag::Weight => {
            ce.set_option(opt::WEIGHT)?;
            ce.weight = number(arg, 0, 65535, "weight")? as u32;
        }
        Tag::UThreshold => {
            ce.set_option(opt::UTHRESHOLD)?;
            ce.u_threshold = number(arg, 0, i64::from(i32::MAX), "u_threshold")? as u32;
        }
        Tag::LThreshold => {
            ce.set_option(opt::LTHRESHOLD)?;
            ce.l_threshold = number(arg, 0, i64::from(i32::MAX), "l_threshold")? as u32;
        }
        Tag::Connection => ce.set_option(opt::CONNECTION)?,
        Tag::Numeric => {
            ce.set_option(opt::NUMERIC)?;
            ce.format.numeric = true;
        }
        Tag::McastInterface => {
            ce.set_option(opt::MCAST)?;
            ce.mcast_ifn = c_string(arg, 15);
        }
        Tag::SyncId => {
            ce.set_option(opt::SYNCID)?;
            ce.syncid = number(arg, 0, 255, "syncid")? as u32;
        }
        Tag::Timeout => ce.set_option(opt::TIMEOUT)?,
        Tag::Daemon => ce.set_option(opt::DAEMON)?,
        Tag::Stats => {
            ce.set_option(opt::STATS)?;
            ce.format.stats = true;
        }
        Tag::Rate => {
            ce.set_option(opt::RATE)?;
            ce.format.rate = true;
        }
        Tag::Thresholds => {
            ce.set_option(opt::THRESHOLDS)?;
            ce.format.thresholds = true;
        }
        Tag::PersistentConn => {
            ce.set_option(opt::PERSISTENTCONN)?;
            ce.format.persistent_conn = true;
        }
        Tag::NoSort => {
            ce.set_option(opt::NOSORT)?;
            ce.format.nosort = true;
        }
        Tag::Sort => {}
        Tag::Exact => {
            ce.set_option(opt::EXACT)?;
            ce.format.exact = true;
        }
        Tag::Ipv6 => {
            if ce.fwmark != 0 {
                ce.svc_family = Some(Family::V6);
                ce.netmask = 128;
            } else {
                return fail("-6 used before -f\n");
            }
        }
        Tag::Ops => {
            ce.set_option(opt::ONEPACKET)?;
            ce.flags |= SVC_F_ONEPACKET;
        }
        Tag::Pe => {
            ce.set_option(opt::PERSISTENCE_ENGINE)?;
            ce.pe_name = c_string(arg, 16);
        }
        Tag::SchedFlags => {
            ce.set_option(opt::SCHED_FLAGS)?;
            *sched_flags_arg = c_string(arg, 127);
        }
        Tag::McastGroup => {
            ce.set_option(opt::MCAST_GROUP)?;
            if arg.contains(':') {
                match inet_pton6(arg) {
                    Some(a) if is_ipv6_multicast(&a) => ce.mcast_group = Some(IpAddr::V6(a)),
                    _ => return fail(format!("invalid IPv6 mcast-group `{arg}'")),
                }
            } else {
                match inet_pton4(arg) {
                    Some(a) if a.is_multicast() => ce.mcast_group = Some(IpAddr::V4(a)),
                    _ => return fail(format!("invalid IPv4 mcast-group `{arg}'")),
                }
            }
        }
        Tag::McastPort => {
            ce.set_option(opt::MCAST_PORT)?;
            ce.mcast_port = number(arg, 1, 65535, "mcast-port")? as u16;
        }
        Tag::McastTtl => {
            ce.set_option(opt::MCAST_TTL)?;
            ce.mcast_ttl = number(arg, 1, 255, "mcast-ttl")? as u8;
        }
        Tag::SyncMaxlen => {
            ce.set_option(opt::SYNC_MAXLEN)?;
            ce.sync_maxlen = number(arg, 1, 65535 - 20 - 8, "sync-maxlen")? as u16;
        }
        Tag::TunInfo => {
            ce.set_option(opt::TUN_INFO)?;
            ce.format.tun_info = true;
        }
        Tag::TunType => {
            ce.set_option(opt::TUN_TYPE)?;
            ce.tun_type = match TUN_NAMES.iter().position(|n| *n == arg) {
                Some(t) => t,
                None => return fail("illegal tunnel type specified"),
            };
        }
        Tag::TunPort => {
            ce.set_option(opt::TUN_PORT)?;
            ce.tun_port = number(arg, 1, 65535, "tunnel port")? as u16;
        }
        Tag::TunNocsum => ce.set_option(opt::TUN_NOCSUM)?,
        Tag::TunCsum => {
            ce.set_option(opt::TUN_CSUM)?;
            ce.tun_flags |= TUN_F_CSUM;
        }
        Tag::TunRemcsum => {
            ce.set_option(opt::TUN_REMCSUM)?;
            ce.tun_flags |= TUN_F_REMCSUM;
        }
        Tag::AddService
        | Tag::EditService
        | Tag::DelService
        | Tag::Clear
        | Tag::List
        | Tag::Zero
        | Tag::AddServer
        | Tag::EditServer
        | Tag::DelServer
        | Tag::Set
        | Tag::Help
        | Tag::Version
        | Tag::Restore
        | Tag::Save
        | Tag::StartDaemon
        | Tag::StopDaemon => {
            return fail(format!("invalid option `{}'", popt.bad_option()));
        }
    }
    Ok(())
}

fn daemon_state(arg: &str, err: &str) -> Result<DaemonState, ParseError> {
    match arg {
        "master" => Ok(DaemonState::Master),
        "backup" => Ok(DaemonState::Backup),
        _ => fail(err),
    }
}

/// One ipvsadm invocation (`process_options`); `in_restore` is true for a line read by `-R`.
pub(crate) fn parse_invocation(
    args: &[&str],
    names: &dyn Resolver,
    in_restore: bool,
) -> Result<Command, ParseError> {
    let mut popt = Popt::new(args);
    let (first, first_arg) = match popt.next_opt() {
        Ok(Some(o)) => o,
        Ok(None) | Err(_) => return Err(ParseError::TryHelp),
    };
    let mut ce = match first {
        Tag::AddService => Entry::new(Cmd::Add),
        Tag::EditService => Entry::new(Cmd::Edit),
        Tag::DelService => Entry::new(Cmd::Del),
        Tag::AddServer => Entry::new(Cmd::AddDest),
        Tag::EditServer => Entry::new(Cmd::EditDest),
        Tag::DelServer => Entry::new(Cmd::DelDest),
        Tag::Clear => Entry::new(Cmd::Flush),
        Tag::List => Entry::new(Cmd::List),
        Tag::Zero => Entry::new(Cmd::Zero),
        Tag::Set => Entry::new(Cmd::Timeout),
        Tag::Restore => Entry::new(Cmd::Restore),
        Tag::Save => Entry::new(Cmd::Save),
        Tag::StartDaemon => {
            let mut ce = Entry::new(Cmd::StartDaemon);
            ce.daemon_state = daemon_state(
                first_arg.unwrap_or(""),
                "illegal start-daemon parameter specified",
            )?;
            ce
        }
        Tag::StopDaemon => {
            let mut ce = Entry::new(Cmd::StopDaemon);
            ce.daemon_state =
                daemon_state(first_arg.unwrap_or(""), "illegal start_daemon specified")?;
            ce
        }
        Tag::Help => return Ok(Command::Help),
        Tag::Version => return Ok(Command::Version),
        _ => return Err(ParseError::TryHelp),
    };

    let mut sched_flags_arg = String::new();
    loop {
        match popt.next_opt() {
            Ok(Some((tag, value))) => {
                take_option(&mut ce, tag, value, names, &popt, &mut sched_flags_arg)?
            }
            Ok(None) => break,
            Err(error) => {
                return Err(ParseError::Popt {
                    option: popt.bad_option().to_string(),
                    error,
                })
            }
        }
    }

    if ce.cmd == Cmd::Timeout {
        let (Some(a), Some(b), Some(c)) = (popt.next_arg(), popt.next_arg(), popt.next_arg())
        else {
            return fail("--set option requires 3 timeout values");
        };
        ce.timeouts = Timeouts {
            tcp: parse_timeout(Some(a), 0)?,
            tcp_fin: parse_timeout(Some(b), 0)?,
            udp: parse_timeout(Some(c), 0)?,
        };
    }
    if let Some(extra) = popt.next_arg() {
        return fail(format!("unexpected argument {extra}"));
    }
    if !sched_flags_arg.is_empty() {
        ce.flags &= !SVC_F_SCHED_MASK;
        ce.flags |= parse_sched_flags(&ce.sched_name, &sched_flags_arg)?;
    }

    generic_opt_check(ce.cmd, ce.options)?;

    if matches!(ce.cmd, Cmd::Add | Cmd::Edit) {
        if ce.fwmark == 0 && ce.svc_port == 0 && ce.flags & SVC_F_PERSISTENT == 0 {
            return fail("Zero port specified for non-persistent service");
        }
        if ce.flags & SVC_F_ONEPACKET != 0 && ce.fwmark == 0 && ce.svc_proto != Some(Protocol::Udp)
        {
            return fail("One-Packet Scheduling is only for UDP virtual services");
        }
    }
    if matches!(ce.cmd, Cmd::AddDest | Cmd::EditDest) {
        if ce.fwmark == 0 && matches!(ce.fwd, FwdMethod::Tunnel | FwdMethod::Route) {
            ce.dest_port = ce.svc_port;
        }
        let dest_family = ce.dest_addr.as_ref().map(Family::of);
        if dest_family != ce.svc_family && ce.fwd != FwdMethod::Tunnel {
            return fail("Different address family is allowed only for tunneling servers");
        }
        let tunnel_options = [
            opt::TUN_TYPE,
            opt::TUN_PORT,
            opt::TUN_NOCSUM,
            opt::TUN_CSUM,
            opt::TUN_REMCSUM,
        ];
        if tunnel_options.iter().any(|o| ce.has(*o)) && ce.fwd != FwdMethod::Tunnel {
            return fail("Tunnel options conflict with forward method");
        }
        tunnel_opt_check(ce.tun_type, ce.options)?;
    }

    Ok(match ce.cmd {
        Cmd::Add => Command::AddService {
            key: ce.required_service_key()?,
            conf: ce.service_conf(),
        },
        Cmd::Edit => Command::EditService {
            key: ce.required_service_key()?,
            conf: ce.service_conf(),
        },
        Cmd::Del => Command::DelService {
            key: ce.required_service_key()?,
        },
        Cmd::Flush => Command::Clear,
        Cmd::AddDest => Command::AddDest {
            service: ce.required_service_key()?,
            addr: ce.required_dest()?,
            port: ce.dest_port,
            conf: ce.dest_conf(),
        },
        Cmd::EditDest => Command::EditDest {
            service: ce.required_service_key()?,
            addr: ce.required_dest()?,
            port: ce.dest_port,
            conf: ce.dest_conf(),
        },
        Cmd::DelDest => Command::DelDest {
            service: ce.required_service_key()?,
            addr: ce.required_dest()?,
            port: ce.dest_port,
        },
        Cmd::Zero => {
            // libipvs zeroes everything when the service has no mark, a zero address and a
            // zero port, whether or not one was named.
            let everything = ce.fwmark == 0
                && ce.svc_addr.is_none_or(|a| a.is_unspecified())
                && ce.svc_port == 0;
            Command::Zero {
                service: if everything { None } else { ce.service_key() },
            }
        }
        Cmd::List => {
            let conflicting_view =
                ce.has(opt::CONNECTION) || ce.has(opt::TIMEOUT) || ce.has(opt::DAEMON);
            let counters = ce.has(opt::STATS) || ce.has(opt::RATE) || ce.has(opt::THRESHOLDS);
            if (conflicting_view && counters)
                || ((ce.has(opt::TIMEOUT) || ce.has(opt::DAEMON)) && ce.has(opt::PERSISTENTCONN))
            {
                return fail("options conflicts in the list command");
            }
            let target = if ce.has(opt::CONNECTION) {
                ListTarget::Connections
            } else if ce.has(opt::SERVICE) {
                ListTarget::Service(ce.required_service_key()?)
            } else if ce.has(opt::TIMEOUT) {
                ListTarget::Timeouts
            } else if ce.has(opt::DAEMON) {
                ListTarget::Daemons
            } else {
                ListTarget::All
            };
            Command::List(ListOptions {
                target,
                format: ce.format,
            })
        }
        Cmd::Save => Command::Save {
            numeric: ce.format.numeric,
        },
        Cmd::Restore => {
            if in_restore {
                return Err(ParseError::TryHelp);
            }
            Command::Restore
        }
        Cmd::Timeout => Command::SetTimeouts(ce.timeouts),
        Cmd::StartDaemon => Command::StartDaemon(DaemonConf {
            state: ce.daemon_state,
            mcast_ifn: if ce.mcast_ifn.is_empty() {
                "eth0".to_string()
            } else {
                ce.mcast_ifn.clone()
            },
            syncid: ce.syncid,
            sync_maxlen: ce.sync_maxlen,
            mcast_group: ce.mcast_group,
            mcast_port: ce.mcast_port,
            mcast_ttl: ce.mcast_ttl,
        }),
        Cmd::StopDaemon => Command::StopDaemon {
            state: ce.daemon_state,
            syncid: ce.syncid,
        },
    })
}

/// Parses one ipvsadm invocation: `args` is its argument vector without the program name.
/// An empty vector is `ipvsadm` alone, which lists the table. Port names are looked up in
/// [`super::WellKnownServices`]; host names are not resolved (see [`parse_with`]).
pub fn parse(args: &[&str]) -> Result<Command, ParseError> {
    parse_with(args, &super::names::WellKnownServices)
}

/// [`parse`] with the caller's name look-ups.
pub fn parse_with(args: &[&str], names: &dyn Resolver) -> Result<Command, ParseError> {
    if args.is_empty() {
        return Ok(Command::List(ListOptions::default()));
    }
    parse_invocation(args, names, false)
}

//! The director's settings: the config file, the command-line flags over it, and the
//! defaults under both (the contract in `docs/director.md`).
//!
//! ```text
//! interface eth0 role client                          # role client, server or both (default)
//! interface eth1 role server address 198.18.2.1/24    # addresses instead of the kernel's
//! gateway 198.18.1.254                                # one per family
//! workers 2
//! control /run/lb/control.sock
//! rules /etc/lb/rules
//! log-level info
//! host-check refuse
//! link packet                                         # or xdp (AF_XDP)
//! xdp-mode auto                                       # or native, generic (link xdp)
//! worker-priority 50                                  # SCHED_FIFO 1..99; 0: normal (default)
//! ```
//!
//! A bad line is reported as `FILE: line N: MESSAGE` (the caller adds `lb director: `).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use lb_io::path::IpPrefix;

use super::log::Level;

/// Where the control socket is when nothing says otherwise.
pub const DEFAULT_CONTROL: &str = "/run/lb/control.sock";
/// Where the rules are when nothing says otherwise.
pub const DEFAULT_RULES: &str = "/etc/lb/rules";
/// The most workers.
pub const MAX_WORKERS: usize = 64;
/// The highest worker priority (SCHED_FIFO's highest).
pub const MAX_WORKER_PRIORITY: u8 = 99;

/// What an interface faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Only clients: the VIPs are answered for here, and only requests are looked for.
    Client,
    /// Only real servers: no VIP is answered for here.
    Server,
    /// Both (the default): VIPs answered for, requests and replies looked for.
    Both,
}

impl Role {
    /// The role named `name`.
    pub fn from_name(name: &str) -> Result<Role, String> {
        match name {
            "client" => Ok(Role::Client),
            "server" => Ok(Role::Server),
            "both" => Ok(Role::Both),
            _ => Err(format!("invalid role `{name}' (client, server or both)")),
        }
    }

    /// The role's name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Server => "server",
            Role::Both => "both",
        }
    }

    /// Whether the VIPs are answered for (ARP / NDP) on an interface of this role.
    pub fn answers_for_vips(self) -> bool {
        matches!(self, Role::Client | Role::Both)
    }
}

/// What to do when the host would interfere with the director.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostCheck {
    /// Refuse to start (exit status 1).
    Refuse,
    /// Log warnings and run anyway.
    Warn,
}

impl HostCheck {
    /// The mode named `name`.
    pub fn from_name(name: &str) -> Result<HostCheck, String> {
        match name {
            "refuse" => Ok(HostCheck::Refuse),
            "warn" => Ok(HostCheck::Warn),
            _ => Err(format!("invalid host check `{name}' (refuse or warn)")),
        }
    }
}

/// What the workers receive and send on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// AF_PACKET sockets with TPACKET_V2 rings (the default).
    Packet,
    /// AF_XDP sockets, an XDP program steering the frames not for the host to them
    /// (cargo feature `xdp`).
    Xdp,
}

impl LinkKind {
    /// The kind named `name`.
    pub fn from_name(name: &str) -> Result<LinkKind, String> {
        match name {
            "packet" => Ok(LinkKind::Packet),
            "xdp" => Ok(LinkKind::Xdp),
            _ => Err(format!("invalid link `{name}' (packet or xdp)")),
        }
    }

    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            LinkKind::Packet => "packet",
            LinkKind::Xdp => "xdp",
        }
    }
}

/// Where the XDP program runs (`link xdp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XdpModeSetting {
    /// In the driver where it can, else in the kernel's generic path (the default).
    Auto,
    /// In the driver only.
    Native,
    /// In the kernel's generic path.
    Generic,
}

impl XdpModeSetting {
    /// The mode named `name`.
    pub fn from_name(name: &str) -> Result<XdpModeSetting, String> {
        match name {
            "auto" => Ok(XdpModeSetting::Auto),
            "native" => Ok(XdpModeSetting::Native),
            "generic" => Ok(XdpModeSetting::Generic),
            _ => Err(format!(
                "invalid XDP mode `{name}' (auto, native or generic)"
            )),
        }
    }

    /// The mode's name.
    pub fn name(self) -> &'static str {
        match self {
            XdpModeSetting::Auto => "auto",
            XdpModeSetting::Native => "native",
            XdpModeSetting::Generic => "generic",
        }
    }
}

/// One interface the director works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceSpec {
    /// The kernel's name of the interface.
    pub name: String,
    /// What it faces.
    pub role: Role,
    /// The director's addresses on it; empty: the kernel's.
    pub addresses: Vec<IpPrefix>,
}

/// Settings given in one place (the file, or the flags); `None` / empty where not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// Interfaces, in order.
    pub interfaces: Vec<InterfaceSpec>,
    /// IPv4 default gateway.
    pub gateway_v4: Option<Ipv4Addr>,
    /// IPv6 default gateway.
    pub gateway_v6: Option<Ipv6Addr>,
    /// Number of worker threads.
    pub workers: Option<usize>,
    /// Path of the control socket.
    pub control: Option<PathBuf>,
    /// Path of the rules file.
    pub rules: Option<PathBuf>,
    /// Log level.
    pub log_level: Option<Level>,
    /// Host-check mode.
    pub host_check: Option<HostCheck>,
    /// Link kind.
    pub link: Option<LinkKind>,
    /// XDP mode.
    pub xdp_mode: Option<XdpModeSetting>,
    /// The workers' SCHED_FIFO priority (0: normal scheduling).
    pub worker_priority: Option<u8>,
}

/// The command line of `lb director`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// Every other flag.
    pub settings: Settings,
}

/// The settings the director runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The config file read, if any.
    pub config_file: Option<PathBuf>,
    /// Interfaces, in order (their [`LinkId`](lb_io::path::LinkId)s).
    pub interfaces: Vec<InterfaceSpec>,
    /// IPv4 default gateway (else the kernel's default route).
    pub gateway_v4: Option<Ipv4Addr>,
    /// IPv6 default gateway (else the kernel's default route).
    pub gateway_v6: Option<Ipv6Addr>,
    /// Number of worker threads.
    pub workers: usize,
    /// Path of the control socket.
    pub control: PathBuf,
    /// Path of the rules file.
    pub rules: PathBuf,
    /// Log level.
    pub log_level: Level,
    /// Host-check mode.
    pub host_check: HostCheck,
    /// What the workers receive and send on.
    pub link: LinkKind,
    /// Where the XDP program runs (`link xdp`).
    pub xdp_mode: XdpModeSetting,
    /// The workers' realtime (SCHED_FIFO) priority, 1 to [`MAX_WORKER_PRIORITY`]; 0: the
    /// workers are scheduled like ordinary processes (the default).
    pub worker_priority: u8,
}

/// A refused config file or command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, when the problem is in one.
    pub file: Option<String>,
    /// The line of the file (1-based).
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn flag(message: String) -> ConfigError {
        ConfigError {
            file: None,
            line: None,
            message,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}: ")?;
        }
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        f.write_str(&self.message)
    }
}

fn parse_workers(value: &str) -> Result<usize, String> {
    value
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=MAX_WORKERS).contains(n))
        .ok_or_else(|| format!("invalid number of workers `{value}' (1 to {MAX_WORKERS})"))
}

fn parse_worker_priority(value: &str) -> Result<u8, String> {
    value
        .parse::<u8>()
        .ok()
        .filter(|p| *p <= MAX_WORKER_PRIORITY)
        .ok_or_else(|| {
            format!(
                "invalid worker priority `{value}' (1 to {MAX_WORKER_PRIORITY} for SCHED_FIFO, \
                 0 for normal scheduling)"
            )
        })
}

fn parse_level(value: &str) -> Result<Level, String> {
    Level::from_name(value)
        .ok_or_else(|| format!("invalid log level `{value}' (error, warn, info or debug)"))
}

fn parse_path(key: &str, value: &str) -> Result<PathBuf, String> {
    if value.is_empty() {
        Err(format!("empty {key} path"))
    } else {
        Ok(PathBuf::from(value))
    }
}

fn check_interface_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c == '=' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!("invalid interface name `{name}'"))
    }
}

impl Settings {
    /// Sets the gateway of `addr`'s family; a second one of a family is refused.
    fn set_gateway(&mut self, value: &str) -> Result<(), String> {
        let addr: IpAddr = value
            .parse()
            .map_err(|_| format!("invalid gateway address `{value}'"))?;
        match addr {
            IpAddr::V4(a) => match self.gateway_v4 {
                Some(before) => Err(format!(
                    "a second IPv4 gateway `{a}' ({before} was given before)"
                )),
                None => {
                    self.gateway_v4 = Some(a);
                    Ok(())
                }
            },
            IpAddr::V6(a) => match self.gateway_v6 {
                Some(before) => Err(format!(
                    "a second IPv6 gateway `{a}' ({before} was given before)"
                )),
                None => {
                    self.gateway_v6 = Some(a);
                    Ok(())
                }
            },
        }
    }

    /// One `KEY VALUE…` line of the file.
    fn set_line(&mut self, key: &str, values: &[&str]) -> Result<(), String> {
        if key == "interface" {
            return self.set_interface_line(values);
        }
        let value = match values {
            [] => return Err(format!("`{key}' needs a value")),
            [v] => *v,
            [_, extra, ..] => return Err(format!("`{key}' takes one value, not `{extra}'")),
        };
        match key {
            "gateway" => self.set_gateway(value)?,
            "workers" => self.workers = Some(parse_workers(value)?),
            "control" => self.control = Some(parse_path(key, value)?),
            "rules" => self.rules = Some(parse_path(key, value)?),
            "log-level" => self.log_level = Some(parse_level(value)?),
            "host-check" => self.host_check = Some(HostCheck::from_name(value)?),
            "link" => self.link = Some(LinkKind::from_name(value)?),
            "xdp-mode" => self.xdp_mode = Some(XdpModeSetting::from_name(value)?),
            "worker-priority" => self.worker_priority = Some(parse_worker_priority(value)?),
            _ => return Err(format!("unknown key `{key}'")),
        }
        Ok(())
    }

    /// `interface NAME [role ROLE] [address ADDR/LEN]…`.
    fn set_interface_line(&mut self, words: &[&str]) -> Result<(), String> {
        let Some((name, mut rest)) = words.split_first() else {
            return Err("`interface' needs a name".to_string());
        };
        check_interface_name(name)?;
        if self.interfaces.iter().any(|i| i.name == *name) {
            return Err(format!("interface `{name}' given twice"));
        }
        let mut spec = InterfaceSpec {
            name: name.to_string(),
            role: Role::Both,
            addresses: Vec::new(),
        };
        while let Some((word, after)) = rest.split_first() {
            let Some((value, after)) = after.split_first() else {
                return Err(match *word {
                    "role" | "address" => format!("`{word}' needs a value"),
                    _ => format!("unknown interface setting `{word}' (role or address)"),
                });
            };
            match *word {
                "role" => spec.role = Role::from_name(value)?,
                "address" => spec
                    .addresses
                    .push(value.parse().map_err(|e| format!("{e}"))?),
                _ => {
                    return Err(format!(
                        "unknown interface setting `{word}' (role or address)"
                    ))
                }
            }
            rest = after;
        }
        self.interfaces.push(spec);
        Ok(())
    }

    /// `--interface NAME[=ROLE]`: a later one of the same name replaces the earlier.
    fn set_interface_flag(&mut self, value: &str) -> Result<(), String> {
        let (name, role) = match value.split_once('=') {
            Some((n, r)) => (n, Role::from_name(r)?),
            None => (value, Role::Both),
        };
        check_interface_name(name)?;
        self.interfaces.retain(|i| i.name != name);
        self.interfaces.push(InterfaceSpec {
            name: name.to_string(),
            role,
            addresses: Vec::new(),
        });
        Ok(())
    }
}

/// Reads the text of a config file; `Err((line, message))` for the first bad line.
pub fn parse_file(text: &str) -> Result<Settings, (usize, String)> {
    let mut settings = Settings::default();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((key, values)) = words.split_first() else {
            continue;
        };
        settings
            .set_line(key, values)
            .map_err(|message| (index + 1, message))?;
    }
    Ok(settings)
}

/// Reads the config file at `path`.
pub fn read_file(path: &std::path::Path) -> Result<Settings, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: Some(file.clone()),
        line: None,
        message: super::io_reason(&e),
    })?;
    parse_file(&text).map_err(|(line, message)| ConfigError {
        file: Some(file),
        line: Some(line),
        message,
    })
}

/// Reads the command line (without `director`).
pub fn parse_flags(args: &[String]) -> Result<Flags, ConfigError> {
    let mut flags = Flags::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let known = [
            "--config",
            "--interface",
            "--workers",
            "--control",
            "--rules",
            "--gateway",
            "--log-level",
            "--host-check",
            "--link",
            "--xdp-mode",
            "--worker-priority",
        ];
        if !known.contains(&name) {
            return Err(ConfigError::flag(format!(
                "unknown option `{arg}'; try `lb director --help'"
            )));
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .cloned()
                .ok_or_else(|| ConfigError::flag(format!("option `{name}' needs a value")))?,
        };
        let s = &mut flags.settings;
        let set = match name {
            "--config" => parse_path("config", &value).map(|p| flags.config = Some(p)),
            "--interface" => s.set_interface_flag(&value),
            "--workers" => parse_workers(&value).map(|n| s.workers = Some(n)),
            "--control" => parse_path("control", &value).map(|p| s.control = Some(p)),
            "--rules" => parse_path("rules", &value).map(|p| s.rules = Some(p)),
            "--gateway" => s.set_gateway(&value),
            "--log-level" => parse_level(&value).map(|l| s.log_level = Some(l)),
            "--link" => LinkKind::from_name(&value).map(|k| s.link = Some(k)),
            "--xdp-mode" => XdpModeSetting::from_name(&value).map(|m| s.xdp_mode = Some(m)),
            "--worker-priority" => {
                parse_worker_priority(&value).map(|p| s.worker_priority = Some(p))
            }
            _ => HostCheck::from_name(&value).map(|h| s.host_check = Some(h)),
        };
        set.map_err(ConfigError::flag)?;
    }
    Ok(flags)
}

/// The settings of `file` with `flags` over them, and the defaults under both.
pub fn merge(config_file: Option<PathBuf>, file: Settings, flags: &Settings) -> Config {
    let mut interfaces = file.interfaces;
    for spec in &flags.interfaces {
        match interfaces.iter_mut().find(|i| i.name == spec.name) {
            Some(existing) => existing.role = spec.role,
            None => interfaces.push(spec.clone()),
        }
    }
    Config {
        config_file,
        interfaces,
        gateway_v4: flags.gateway_v4.or(file.gateway_v4),
        gateway_v6: flags.gateway_v6.or(file.gateway_v6),
        workers: flags.workers.or(file.workers).unwrap_or(1),
        control: flags
            .control
            .clone()
            .or(file.control)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_CONTROL)),
        rules: flags
            .rules
            .clone()
            .or(file.rules)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_RULES)),
        log_level: flags.log_level.or(file.log_level).unwrap_or(Level::Info),
        host_check: flags
            .host_check
            .or(file.host_check)
            .unwrap_or(HostCheck::Refuse),
        link: flags.link.or(file.link).unwrap_or(LinkKind::Packet),
        xdp_mode: flags
            .xdp_mode
            .or(file.xdp_mode)
            .unwrap_or(XdpModeSetting::Auto),
        worker_priority: flags.worker_priority.or(file.worker_priority).unwrap_or(0),
    }
}

/// The configuration `flags` describe: their file read, merged, checked for an interface.
pub fn load(flags: &Flags) -> Result<Config, ConfigError> {
    let file = match &flags.config {
        Some(path) => read_file(path)?,
        None => Settings::default(),
    };
    let config = merge(flags.config.clone(), file, &flags.settings);
    if config.interfaces.is_empty() {
        return Err(ConfigError::flag(
            "no interface: give --interface NAME[=ROLE] or an `interface' line in the config file"
                .to_string(),
        ));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn err(text: &str) -> String {
        let (line, message) = parse_file(text).unwrap_err();
        format!("line {line}: {message}")
    }

    #[test]
    fn the_contract_example_reads() {
        let text = "\
interface eth0 role client                # VIPs are answered (ARP/NDP) on client and both roles
interface eth1 role server address 198.18.2.1/24   # optional address overrides
gateway 198.18.1.254                      # default gateway (one per family, optional)
workers 2
control /run/lb/control.sock

rules /etc/lb/rules                       # ipvsadm -S format
log-level info
host-check refuse                         # or warn
";
        let s = parse_file(text).unwrap();
        assert_eq!(
            s.interfaces,
            [
                InterfaceSpec {
                    name: "eth0".into(),
                    role: Role::Client,
                    addresses: vec![]
                },
                InterfaceSpec {
                    name: "eth1".into(),
                    role: Role::Server,
                    addresses: vec!["198.18.2.1/24".parse().unwrap()]
                },
            ]
        );
        assert_eq!(s.gateway_v4, Some(Ipv4Addr::new(198, 18, 1, 254)));
        assert_eq!(s.gateway_v6, None);
        assert_eq!(s.workers, Some(2));
        assert_eq!(s.control, Some(PathBuf::from("/run/lb/control.sock")));
        assert_eq!(s.rules, Some(PathBuf::from("/etc/lb/rules")));
        assert_eq!(s.log_level, Some(Level::Info));
        assert_eq!(s.host_check, Some(HostCheck::Refuse));
        assert_eq!((s.link, s.xdp_mode), (None, None));
    }

    #[test]
    fn the_link_and_xdp_mode_read_from_the_file_and_the_flags() {
        let file = parse_file("interface eth0\nlink xdp\nxdp-mode generic\n").unwrap();
        assert_eq!(
            (file.link, file.xdp_mode),
            (Some(LinkKind::Xdp), Some(XdpModeSetting::Generic))
        );
        let c = merge(None, file.clone(), &Settings::default());
        assert_eq!(
            (c.link, c.xdp_mode),
            (LinkKind::Xdp, XdpModeSetting::Generic)
        );
        let flags = parse_flags(&args(&["--link", "packet", "--xdp-mode=native"])).unwrap();
        let c = merge(None, file, &flags.settings);
        assert_eq!(
            (c.link, c.xdp_mode),
            (LinkKind::Packet, XdpModeSetting::Native)
        );
        let bare = load(&parse_flags(&args(&["--interface", "eth0"])).unwrap()).unwrap();
        assert_eq!(
            (bare.link, bare.xdp_mode),
            (LinkKind::Packet, XdpModeSetting::Auto)
        );
        assert_eq!(
            err("link dpdk\n"),
            "line 1: invalid link `dpdk' (packet or xdp)"
        );
        assert_eq!(
            err("xdp-mode offload\n"),
            "line 1: invalid XDP mode `offload' (auto, native or generic)"
        );
        assert_eq!(
            parse_flags(&args(&["--link=af_xdp"]))
                .unwrap_err()
                .to_string(),
            "invalid link `af_xdp' (packet or xdp)"
        );
        for kind in [LinkKind::Packet, LinkKind::Xdp] {
            assert_eq!(LinkKind::from_name(kind.name()), Ok(kind));
        }
        for mode in [
            XdpModeSetting::Auto,
            XdpModeSetting::Native,
            XdpModeSetting::Generic,
        ] {
            assert_eq!(XdpModeSetting::from_name(mode.name()), Ok(mode));
        }
    }

    #[test]
    fn the_worker_priority_reads_from_the_file_and_the_flags() {
        let file = parse_file("interface eth0\nworker-priority 50\n").unwrap();
        assert_eq!(file.worker_priority, Some(50));
        assert_eq!(
            merge(None, file.clone(), &Settings::default()).worker_priority,
            50
        );
        let flags = parse_flags(&args(&["--worker-priority", "0"])).unwrap();
        assert_eq!(merge(None, file, &flags.settings).worker_priority, 0);
        let flags = parse_flags(&args(&["--worker-priority=99"])).unwrap();
        assert_eq!(flags.settings.worker_priority, Some(99));
        let bare = load(&parse_flags(&args(&["--interface", "eth0"])).unwrap()).unwrap();
        assert_eq!(bare.worker_priority, 0);
        assert_eq!(
            err("worker-priority 100\n"),
            "line 1: invalid worker priority `100' (1 to 99 for SCHED_FIFO, 0 for normal \
             scheduling)"
        );
        assert_eq!(
            parse_flags(&args(&["--worker-priority", "high"]))
                .unwrap_err()
                .to_string(),
            "invalid worker priority `high' (1 to 99 for SCHED_FIFO, 0 for normal scheduling)"
        );
    }

    #[test]
    fn bad_lines_give_exact_messages() {
        assert_eq!(err("\n\nvip 198.18.0.1\n"), "line 3: unknown key `vip'");
        assert_eq!(
            err("workers 0\n"),
            "line 1: invalid number of workers `0' (1 to 64)"
        );
        assert_eq!(
            err("workers 65\n"),
            "line 1: invalid number of workers `65' (1 to 64)"
        );
        assert_eq!(err("workers\n"), "line 1: `workers' needs a value");
        assert_eq!(
            err("workers 2 3\n"),
            "line 1: `workers' takes one value, not `3'"
        );
        assert_eq!(
            err("log-level loud\n"),
            "line 1: invalid log level `loud' (error, warn, info or debug)"
        );
        assert_eq!(
            err("host-check maybe\n"),
            "line 1: invalid host check `maybe' (refuse or warn)"
        );
        assert_eq!(
            err("gateway 198.18.1\n"),
            "line 1: invalid gateway address `198.18.1'"
        );
        assert_eq!(
            err("gateway 198.18.1.1\ngateway 2001:db8::1\ngateway 198.18.1.2\n"),
            "line 3: a second IPv4 gateway `198.18.1.2' (198.18.1.1 was given before)"
        );
        assert_eq!(err("interface\n"), "line 1: `interface' needs a name");
        assert_eq!(
            err("interface eth0 role dmz\n"),
            "line 1: invalid role `dmz' (client, server or both)"
        );
        assert_eq!(err("interface eth0 role\n"), "line 1: `role' needs a value");
        assert_eq!(
            err("interface eth0 mtu 9000\n"),
            "line 1: unknown interface setting `mtu' (role or address)"
        );
        assert_eq!(
            err("interface eth0 address 198.18.2.1/33\n"),
            "line 1: invalid address or prefix `198.18.2.1/33'"
        );
        assert_eq!(
            err("interface eth0\ninterface eth0 role client\n"),
            "line 2: interface `eth0' given twice"
        );
        assert_eq!(
            err("interface a/b\n"),
            "line 1: invalid interface name `a/b'"
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let dir = std::env::temp_dir().join(format!("lb-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("director.conf");
        std::fs::write(&path, "# lab\nworkers two\n").unwrap();
        let flags = parse_flags(&args(&["--config", path.to_str().unwrap()])).unwrap();
        let e = load(&flags).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: line 2: invalid number of workers `two' (1 to 64)",
                path.display()
            )
        );
        let missing = dir.join("missing.conf");
        let flags = parse_flags(&args(&["--config", missing.to_str().unwrap()])).unwrap();
        assert_eq!(
            load(&flags).unwrap_err().to_string(),
            format!("{}: No such file or directory", missing.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flags_override_the_file_and_defaults_fill_the_rest() {
        let file = parse_file(
            "interface eth0 role client\ninterface eth1 role server address 198.18.2.1/24\n\
             workers 2\ngateway 198.18.1.254\nlog-level debug\n",
        )
        .unwrap();
        let flags = parse_flags(&args(&[
            "--interface",
            "eth1=both",
            "--interface=eth2",
            "--workers=3",
            "--gateway",
            "2001:db8::1",
            "--host-check",
            "warn",
            "--control",
            "/tmp/c.sock",
        ]))
        .unwrap();
        let c = merge(Some(PathBuf::from("f")), file, &flags.settings);
        let roles: Vec<_> = c
            .interfaces
            .iter()
            .map(|i| (i.name.as_str(), i.role, i.addresses.len()))
            .collect();
        assert_eq!(
            roles,
            [
                ("eth0", Role::Client, 0),
                ("eth1", Role::Both, 1),
                ("eth2", Role::Both, 0)
            ]
        );
        assert_eq!(c.workers, 3);
        assert_eq!(c.gateway_v4, Some(Ipv4Addr::new(198, 18, 1, 254)));
        assert_eq!(c.gateway_v6, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(c.control, PathBuf::from("/tmp/c.sock"));
        assert_eq!(c.rules, PathBuf::from(DEFAULT_RULES));
        assert_eq!(c.log_level, Level::Debug);
        assert_eq!(c.host_check, HostCheck::Warn);

        let bare = load(&parse_flags(&args(&["--interface", "eth0"])).unwrap()).unwrap();
        assert_eq!(bare.workers, 1);
        assert_eq!(bare.control, PathBuf::from(DEFAULT_CONTROL));
        assert_eq!(bare.log_level, Level::Info);
        assert_eq!(bare.host_check, HostCheck::Refuse);
        assert_eq!(bare.gateway_v4, None);
    }

    #[test]
    fn bad_flags_give_exact_messages() {
        let e = |a: &[&str]| parse_flags(&args(a)).unwrap_err().to_string();
        assert_eq!(
            e(&["--verbose"]),
            "unknown option `--verbose'; try `lb director --help'"
        );
        assert_eq!(e(&["--workers"]), "option `--workers' needs a value");
        assert_eq!(
            e(&["--interface", "eth0=dmz"]),
            "invalid role `dmz' (client, server or both)"
        );
        assert_eq!(
            e(&["--log-level=quiet"]),
            "invalid log level `quiet' (error, warn, info or debug)"
        );
        assert_eq!(
            load(&parse_flags(&[]).unwrap()).unwrap_err().to_string(),
            "no interface: give --interface NAME[=ROLE] or an `interface' line in the config file"
        );
    }
}

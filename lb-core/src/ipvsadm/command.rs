//! One ipvsadm invocation as a value, and how the table-editing ones act on an [`Ipvs`].

use std::net::IpAddr;

use crate::dest::DestConf;
use crate::error::Error;
use crate::ipvs::Ipvs;
use crate::service::{ServiceConf, ServiceKey};

/// One ipvsadm command, with every value ipvsadm would send to the kernel already filled in
/// (defaults included), so that `-E` and `-e` carry the complete replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `-A`: add a virtual service.
    AddService {
        /// Its identity.
        key: ServiceKey,
        /// Its configuration (ipvsadm's defaults for whatever was not given).
        conf: ServiceConf,
    },
    /// `-E`: replace a virtual service's configuration.
    EditService {
        /// Its identity.
        key: ServiceKey,
        /// The whole new configuration.
        conf: ServiceConf,
    },
    /// `-D`: delete a virtual service.
    DelService {
        /// Its identity.
        key: ServiceKey,
    },
    /// `-C`: delete every virtual service.
    Clear,
    /// `-a`: add a real server.
    AddDest {
        /// The virtual service.
        service: ServiceKey,
        /// Real server address.
        addr: IpAddr,
        /// Real server port (after ipvsadm's defaulting and forcing).
        port: u16,
        /// Its configuration.
        conf: DestConf,
    },
    /// `-e`: replace a real server's configuration.
    EditDest {
        /// The virtual service.
        service: ServiceKey,
        /// Real server address.
        addr: IpAddr,
        /// Real server port.
        port: u16,
        /// The whole new configuration.
        conf: DestConf,
    },
    /// `-d`: delete a real server.
    DelDest {
        /// The virtual service.
        service: ServiceKey,
        /// Real server address.
        addr: IpAddr,
        /// Real server port.
        port: u16,
    },
    /// `-Z`: zero the counters of one service, or of everything.
    Zero {
        /// The service, or `None` for all.
        service: Option<ServiceKey>,
    },
    /// `-L`/`-l` (and `ipvsadm` without arguments): a listing.
    List(ListOptions),
    /// `-S`: print the table as `-R` input.
    Save {
        /// `-n`: numeric addresses and ports.
        numeric: bool,
    },
    /// `-R`: read commands from standard input (see [`super::restore`]).
    Restore,
    /// `--set tcp tcpfin udp`: set the three timeouts (0 = leave unchanged).
    SetTimeouts(Timeouts),
    /// `--start-daemon master|backup`.
    StartDaemon(DaemonConf),
    /// `--stop-daemon master|backup`.
    StopDaemon {
        /// Which daemon.
        state: DaemonState,
        /// `--syncid` (0 when not given).
        syncid: u32,
    },
    /// `-h`/`--help` as the first option: print [`super::help_text`], exit 0.
    Help,
    /// `-v`/`--version` as the first option: print [`super::version_text`], exit 0.
    Version,
}

/// What a listing shows and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListOptions {
    /// What is listed.
    pub target: ListTarget,
    /// How.
    pub format: ListFormat,
}

/// What `-L` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListTarget {
    /// The whole table.
    #[default]
    All,
    /// One service (`-L -t VIP:PORT`).
    Service(ServiceKey),
    /// The connection table (`-c`).
    Connections,
    /// The timeouts (`--timeout`).
    Timeouts,
    /// The sync daemons (`--daemon`).
    Daemons,
}

/// The listing flags of `-L`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListFormat {
    /// `-n`: numeric addresses and ports.
    pub numeric: bool,
    /// `--stats`: counters.
    pub stats: bool,
    /// `--rate`: rates.
    pub rate: bool,
    /// `--thresholds`: thresholds.
    pub thresholds: bool,
    /// `--persistent-conn`: persistent connections (and PE data with `-c`).
    pub persistent_conn: bool,
    /// `--nosort`: kernel order.
    pub nosort: bool,
    /// `--exact` (`-X`): exact numbers with `--stats`/`--rate`.
    pub exact: bool,
    /// `--tun-info`: tunnel column.
    pub tun_info: bool,
}

/// The three connection timeouts of `--set` and `-L --timeout`, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP ESTABLISHED.
    pub tcp: u32,
    /// TCP FIN_WAIT.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

impl Default for Timeouts {
    /// The kernel's defaults: 900, 120, 300.
    fn default() -> Self {
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300,
        }
    }
}

/// A sync daemon's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonState {
    /// Sends connection updates.
    Master,
    /// Receives them.
    Backup,
}

impl DaemonState {
    /// `master` or `backup`.
    pub fn name(self) -> &'static str {
        match self {
            DaemonState::Master => "master",
            DaemonState::Backup => "backup",
        }
    }
}

/// A sync daemon as `--start-daemon` configures it and `-L --daemon` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConf {
    /// Master or backup.
    pub state: DaemonState,
    /// `--mcast-interface` (ipvsadm sends `eth0` when not given).
    pub mcast_ifn: String,
    /// `--syncid`.
    pub syncid: u32,
    /// `--sync-maxlen`; 0 = not set.
    pub sync_maxlen: u16,
    /// `--mcast-group`; `None` = not set.
    pub mcast_group: Option<IpAddr>,
    /// `--mcast-port`; 0 = not set.
    pub mcast_port: u16,
    /// `--mcast-ttl`; 0 = not set.
    pub mcast_ttl: u8,
}

impl DaemonConf {
    /// ipvsadm's defaults for a daemon of this role: interface `eth0`, nothing else set.
    pub fn new(state: DaemonState) -> Self {
        DaemonConf {
            state,
            mcast_ifn: "eth0".to_string(),
            syncid: 0,
            sync_maxlen: 0,
            mcast_group: None,
            mcast_port: 0,
            mcast_ttl: 0,
        }
    }
}

/// Executes a command that edits the table (`-A -E -D -C -a -e -d -Z`) on `ipvs`, as the
/// kernel would. Returns `Ok(true)` when it did; `Ok(false)` for every other command
/// (listings, save, restore, timeouts, daemons, help, version), which the caller handles.
/// Errors are the kernel's refusals, worded as ipvsadm prints them (exit status 255).
pub fn apply(ipvs: &mut Ipvs, cmd: &Command) -> Result<bool, Error> {
    match cmd {
        Command::AddService { key, conf } => ipvs.add_service(*key, conf.clone())?,
        Command::EditService { key, conf } => ipvs.edit_service(key, conf.clone())?,
        Command::DelService { key } => ipvs.del_service(key)?,
        Command::Clear => ipvs.clear(),
        Command::AddDest {
            service,
            addr,
            port,
            conf,
        } => {
            ipvs.add_dest(service, *addr, *port, *conf)?;
        }
        Command::EditDest {
            service,
            addr,
            port,
            conf,
        } => ipvs.edit_dest(service, *addr, *port, *conf)?,
        Command::DelDest {
            service,
            addr,
            port,
        } => ipvs.del_dest(service, *addr, *port)?,
        Command::Zero { service } => ipvs.zero(service.as_ref())?,
        Command::List(_)
        | Command::Save { .. }
        | Command::Restore
        | Command::SetTimeouts(_)
        | Command::StartDaemon(_)
        | Command::StopDaemon { .. }
        | Command::Help
        | Command::Version => return Ok(false),
    }
    Ok(true)
}

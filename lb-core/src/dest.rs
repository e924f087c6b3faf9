//! Real servers ("destinations") of a virtual service (spec §1.3, §9).

use std::net::IpAddr;

use crate::stats::Stats;

/// How packets reach a real server (the kernel's `IP_VS_CONN_F_FWD_MASK` codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FwdMethod {
    /// NAT (`-m`): destination address and port rewritten, replies come back through the director.
    Masq,
    /// Local node: the real server is the director itself.
    Local,
    /// IP tunnelling (`-i`): the packet is encapsulated to the real server.
    Tunnel,
    /// Direct routing (`-g`, ipvsadm's default): only the link-layer destination changes.
    #[default]
    Route,
}

impl FwdMethod {
    /// The kernel's numeric code (MASQ 0, LOCALNODE 1, TUNNEL 2, DROUTE 3).
    pub fn code(self) -> u32 {
        match self {
            FwdMethod::Masq => 0,
            FwdMethod::Local => 1,
            FwdMethod::Tunnel => 2,
            FwdMethod::Route => 3,
        }
    }

    /// The name `ipvsadm -L` prints in its Forward column.
    pub fn list_name(self) -> &'static str {
        match self {
            FwdMethod::Masq => "Masq",
            FwdMethod::Local => "Local",
            FwdMethod::Tunnel => "Tunnel",
            FwdMethod::Route => "Route",
        }
    }
}

/// Encapsulation used for a tunnelled real server (`--tun-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelType {
    /// IP in IP (protocol 4, or 41 for IPv6 inside).
    #[default]
    Ipip,
    /// Generic UDP Encapsulation; needs a destination port.
    Gue,
    /// Generic Routing Encapsulation.
    Gre,
}

/// Checksum option of a GUE or GRE tunnel (`--tun-nocsum`, `--tun-csum`, `--tun-remcsum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TunnelCsum {
    /// No checksum (the default).
    #[default]
    NoCsum,
    /// Checksum on the outer header.
    Csum,
    /// Remote checksum offload (GUE only).
    RemCsum,
}

/// Tunnel parameters of a destination; meaningful only with [`FwdMethod::Tunnel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TunnelConf {
    /// Encapsulation.
    pub kind: TunnelType,
    /// UDP destination port for GUE (0 otherwise).
    pub port: u16,
    /// Checksum option.
    pub csum: TunnelCsum,
}

/// What an operator sets on a real server (`-a`/`-e`): everything `-e` replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DestConf {
    /// Forwarding method.
    pub method: FwdMethod,
    /// Weight, 0..=65535 (0 = quiesced: no new connections).
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub u_threshold: u32,
    /// Lower connection threshold (0 = none).
    pub l_threshold: u32,
    /// Tunnel parameters (with [`FwdMethod::Tunnel`]).
    pub tunnel: TunnelConf,
}

impl Default for DestConf {
    /// ipvsadm's defaults: direct routing, weight 1, no thresholds.
    fn default() -> Self {
        DestConf {
            method: FwdMethod::Route,
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tunnel: TunnelConf::default(),
        }
    }
}

/// A stable identity of a destination object: it survives edits and a revival from the trash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestId(pub u32);

/// A real server of a virtual service, with its counters.
#[derive(Debug, Clone)]
pub struct Destination {
    pub(crate) id: DestId,
    /// Position key of the kernel's list: higher = linked later = nearer the head.
    pub(crate) link_seq: u64,
    addr: IpAddr,
    port: u16,
    conf: DestConf,
    last_weight: u32,
    pub(crate) active: u32,
    pub(crate) inactive: u32,
    pub(crate) persist: u32,
    pub(crate) available: bool,
    pub(crate) overload: bool,
    /// Traffic counters.
    pub stats: Stats,
}

impl Destination {
    pub(crate) fn new(id: DestId, addr: IpAddr, port: u16, conf: DestConf) -> Self {
        Destination {
            id,
            link_seq: 0,
            addr,
            port,
            conf,
            last_weight: conf.weight,
            active: 0,
            inactive: 0,
            persist: 0,
            available: true,
            overload: false,
            stats: Stats::default(),
        }
    }

    /// Builds a free-standing destination, for driving a scheduler directly (benchmarks,
    /// embedding without [`crate::Ipvs`]). `link_seq` orders the list: higher is nearer the head.
    pub fn detached(addr: IpAddr, port: u16, conf: DestConf, link_seq: u64) -> Self {
        let mut d = Destination::new(DestId(link_seq as u32), addr, port, conf);
        d.link_seq = link_seq;
        d
    }

    /// Stable identity of this destination object.
    pub fn id(&self) -> DestId {
        self.id
    }
    /// Real server address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }
    /// Real server port (0 for fwmark and port-0 services).
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The configuration set by `-a`/`-e`.
    pub fn conf(&self) -> &DestConf {
        &self.conf
    }
    /// Current weight.
    pub fn weight(&self) -> u32 {
        self.conf.weight
    }
    /// Last non-zero weight set by an edit, or the weight given at add (used by mh).
    pub fn last_weight(&self) -> u32 {
        self.last_weight
    }
    /// Active connections (ActiveConn).
    pub fn active_conns(&self) -> u32 {
        self.active
    }
    /// Inactive connections (InActConn).
    pub fn inactive_conns(&self) -> u32 {
        self.inactive
    }
    /// Persistence templates pointing here (PersistConn).
    pub fn persistent_conns(&self) -> u32 {
        self.persist
    }
    /// `activeconns * 256 + inactconns`, the load every least-connection scheduler compares.
    pub fn overhead(&self) -> u64 {
        ((self.active as u64) << 8) + self.inactive as u64
    }
    /// Connections counted against the thresholds (active + inactive).
    pub fn total_conns(&self) -> u64 {
        self.active as u64 + self.inactive as u64
    }
    /// AVAILABLE: linked to its service (cleared when deleted into the trash).
    pub fn is_available(&self) -> bool {
        self.available
    }
    /// OVERLOAD: the upper threshold was reached and the lower one not yet passed back.
    pub fn is_overloaded(&self) -> bool {
        self.overload
    }
    /// Order key of the service's list: the destination with the highest value is first.
    pub fn link_seq(&self) -> u64 {
        self.link_seq
    }

    /// Replaces the configuration as `-e` does (also used when reviving from the trash).
    pub(crate) fn set_conf(&mut self, conf: DestConf) {
        // spec §1.5/§9: OVERLOAD is cleared when the new upper threshold is 0 or larger.
        if conf.u_threshold == 0 || conf.u_threshold > self.conf.u_threshold {
            self.overload = false;
        }
        if conf.weight != 0 {
            self.last_weight = conf.weight;
        }
        self.conf = conf;
    }

    /// Revival from the trash: like an edit, but an add always sets `last_weight` (spec §3.12).
    pub(crate) fn revive(&mut self, conf: DestConf) {
        self.set_conf(conf);
        self.last_weight = conf.weight;
        self.available = true;
    }

    /// A connection or template is bound here (kernel `ip_vs_bind_dest`).
    pub(crate) fn bind(&mut self, kind: ConnKind) {
        match kind {
            ConnKind::Template => self.persist += 1,
            ConnKind::Inactive => self.inactive += 1,
            ConnKind::Active => self.active += 1,
        }
        if self.conf.u_threshold != 0 && self.total_conns() >= self.conf.u_threshold as u64 {
            self.overload = true;
        }
    }

    /// A connection or template leaves (kernel `ip_vs_unbind_dest`).
    pub(crate) fn unbind(&mut self, kind: ConnKind) {
        match kind {
            ConnKind::Template => self.persist = self.persist.saturating_sub(1),
            ConnKind::Inactive => self.inactive = self.inactive.saturating_sub(1),
            ConnKind::Active => self.active = self.active.saturating_sub(1),
        }
        let total = self.total_conns();
        let (u, l) = (self.conf.u_threshold as u64, self.conf.l_threshold as u64);
        if l != 0 {
            if total < l {
                self.overload = false;
            }
        } else if u != 0 {
            if total * 4 < u * 3 {
                self.overload = false;
            }
        } else {
            self.overload = false;
        }
    }

    /// A connection moves between active and inactive (a state-machine transition).
    pub(crate) fn set_activity(&mut self, now_active: bool) {
        if now_active {
            self.inactive = self.inactive.saturating_sub(1);
            self.active += 1;
        } else {
            self.active = self.active.saturating_sub(1);
            self.inactive += 1;
        }
    }

    /// For tests and simulations: sets the counters directly.
    pub fn set_counters_for_test(&mut self, active: u32, inactive: u32, overload: bool) {
        self.active = active;
        self.inactive = inactive;
        self.overload = overload;
    }
}

/// How a bound connection counts on its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnKind {
    /// In ActiveConn (TCP ESTABLISHED, SYN_SENT, SYN_RECV, SYNACK; SCTP ESTABLISHED).
    Active,
    /// In InActConn (every other state; every UDP connection).
    Inactive,
    /// A persistence template: in PersistConn only.
    Template,
}

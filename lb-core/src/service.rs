//! Virtual services and their destination lists (spec §1.2, §1.4, §9).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use crate::dest::{ConnKind, DestConf, DestId, Destination};
use crate::error::Error;
use crate::sched::{SchedFlags, SchedInput, SchedParams, Scheduler};
use crate::stats::Stats;

/// Transport protocol of a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// SCTP (132).
    Sctp,
}

impl Protocol {
    /// IP protocol number.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }
    /// The name ipvsadm prints (`TCP`, `UDP`, `SCTP`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// Address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (AF_INET).
    V4,
    /// IPv6 (AF_INET6).
    V6,
}

impl Family {
    /// The family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// The identity of a virtual service: protocol, address and port, or a firewall mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKey {
    /// `-t`, `-u` or `--sctp-service ADDR:PORT`.
    Addr {
        /// Protocol.
        proto: Protocol,
        /// Virtual address.
        addr: IpAddr,
        /// Virtual port (0 = every port, persistent services only).
        port: u16,
    },
    /// `-f MARK` (with `-6` for IPv6).
    Fwmark {
        /// Address family of the packets carrying the mark.
        family: Family,
        /// The firewall mark, non-zero.
        mark: u32,
    },
}

impl ServiceKey {
    /// Address family of the service.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
    /// The service port (0 for fwmark services).
    pub fn port(&self) -> u16 {
        match self {
            ServiceKey::Addr { port, .. } => *port,
            ServiceKey::Fwmark { .. } => 0,
        }
    }
    /// Protocol (fwmark services are TCP inside the kernel).
    pub fn protocol(&self) -> Protocol {
        match self {
            ServiceKey::Addr { proto, .. } => *proto,
            ServiceKey::Fwmark { .. } => Protocol::Tcp,
        }
    }
    /// True for a firewall-mark service.
    pub fn is_fwmark(&self) -> bool {
        matches!(self, ServiceKey::Fwmark { .. })
    }
}

impl fmt::Display for ServiceKey {
    /// As ipvsadm names a service on its command line: `-t 198.18.0.1:80`, `-f 1 -6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { proto, addr, port } => {
                let opt = match proto {
                    Protocol::Tcp => "-t",
                    Protocol::Udp => "-u",
                    Protocol::Sctp => "--sctp-service",
                };
                match addr {
                    IpAddr::V4(a) => write!(f, "{opt} {a}:{port}"),
                    IpAddr::V6(a) => write!(f, "{opt} [{a}]:{port}"),
                }
            }
            ServiceKey::Fwmark { family, mark } => match family {
                Family::V4 => write!(f, "-f {mark}"),
                Family::V6 => write!(f, "-f {mark} -6"),
            },
        }
    }
}

/// What `-A`/`-E` set on a service: everything `-E` replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceConf {
    /// Scheduler name (`-s`; ipvsadm's default is wlc).
    pub scheduler: String,
    /// Scheduler flags (`-b`).
    pub sched_flags: SchedFlags,
    /// Persistence timeout in seconds (`-p`); `None` = not persistent.
    pub persistence: Option<u32>,
    /// Persistence netmask (`-M`): for IPv4 the mask as a number (0xffffffff by default), for
    /// IPv6 the prefix length (128 by default).
    pub netmask: u32,
    /// One-packet scheduling (`-o`).
    pub one_packet: bool,
    /// Persistence engine (`--pe`).
    pub pe: Option<String>,
}

impl ServiceConf {
    /// ipvsadm's defaults for a service of this family: wlc, not persistent, full mask.
    pub fn new(family: Family) -> Self {
        ServiceConf {
            scheduler: "wlc".to_string(),
            sched_flags: SchedFlags::default(),
            persistence: None,
            netmask: match family {
                Family::V4 => 0xffff_ffff,
                Family::V6 => 128,
            },
            one_packet: false,
            pe: None,
        }
    }
    /// Same, with another scheduler.
    pub fn with_scheduler(family: Family, scheduler: &str) -> Self {
        ServiceConf {
            scheduler: scheduler.to_string(),
            ..ServiceConf::new(family)
        }
    }
}

/// The destinations of a service, in the kernel's list order: newest first (spec §1.4).
///
/// Position 0 is the list head, the destination added (or revived) last. Adding is O(1),
/// finding by address and port is O(1), deleting is O(n).
#[derive(Debug, Clone, Default)]
pub struct DestList {
    /// Stored oldest first, so that prepending to the list is a push.
    v: Vec<Destination>,
    by_addr: HashMap<(IpAddr, u16), u64>,
}

impl DestList {
    /// Number of destinations.
    pub fn len(&self) -> usize {
        self.v.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }
    /// The destination at list position `pos` (0 = head).
    pub fn get(&self, pos: usize) -> Option<&Destination> {
        let n = self.v.len();
        if pos < n {
            Some(&self.v[n - 1 - pos])
        } else {
            None
        }
    }
    /// Destinations in list order, head first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Destination> + ExactSizeIterator {
        self.v.iter().rev()
    }
    /// List position of the destination linked with `link_seq` (O(log n)).
    pub fn position_of_seq(&self, link_seq: u64) -> Option<usize> {
        let i = self
            .v
            .binary_search_by_key(&link_seq, |d| d.link_seq)
            .ok()?;
        Some(self.v.len() - 1 - i)
    }
    /// List position of the destination with this address and port.
    pub fn position(&self, addr: IpAddr, port: u16) -> Option<usize> {
        let seq = *self.by_addr.get(&(addr, port))?;
        self.position_of_seq(seq)
    }
    /// List position of the destination with this identity (O(n)).
    pub fn position_of_id(&self, id: DestId) -> Option<usize> {
        let n = self.v.len();
        self.v.iter().rposition(|d| d.id == id).map(|i| n - 1 - i)
    }
    /// Builds a list from destinations given head first (for driving schedulers directly).
    /// Their `link_seq`s are rewritten to match the order.
    pub fn from_list_order(dests: Vec<Destination>) -> Self {
        let mut l = DestList::default();
        let n = dests.len() as u64;
        for (i, mut d) in dests.into_iter().rev().enumerate() {
            d.link_seq = i as u64 + 1;
            debug_assert!(d.link_seq <= n);
            l.push_head(d);
        }
        l
    }
    pub(crate) fn push_head(&mut self, d: Destination) {
        debug_assert!(self.v.last().is_none_or(|l| l.link_seq < d.link_seq));
        self.by_addr.insert((d.addr(), d.port()), d.link_seq);
        self.v.push(d);
    }
    pub(crate) fn remove(&mut self, pos: usize) -> Destination {
        let n = self.v.len();
        let d = self.v.remove(n - 1 - pos);
        self.by_addr.remove(&(d.addr(), d.port()));
        d
    }
    /// Mutable access at list position `pos`.
    pub fn get_mut(&mut self, pos: usize) -> Option<&mut Destination> {
        let n = self.v.len();
        if pos < n {
            Some(&mut self.v[n - 1 - pos])
        } else {
            None
        }
    }
}

/// A virtual service: its configuration, its destinations and its scheduler.
#[derive(Debug)]
pub struct Service {
    key: ServiceKey,
    conf: ServiceConf,
    dests: DestList,
    sched: Box<dyn Scheduler>,
    /// Traffic counters of the whole service.
    pub stats: Stats,
}

impl Service {
    pub(crate) fn new(key: ServiceKey, conf: ServiceConf, sched: Box<dyn Scheduler>) -> Self {
        Service {
            key,
            conf,
            dests: DestList::default(),
            sched,
            stats: Stats::default(),
        }
    }
    /// The service's identity.
    pub fn key(&self) -> &ServiceKey {
        &self.key
    }
    /// The service's configuration.
    pub fn conf(&self) -> &ServiceConf {
        &self.conf
    }
    /// Its destinations in list order.
    pub fn dests(&self) -> &DestList {
        &self.dests
    }
    /// The scheduler in use.
    pub fn scheduler(&self) -> &dyn Scheduler {
        self.sched.as_ref()
    }

    /// Asks the scheduler for a destination for a new connection; returns its list position.
    /// Nothing is bound: call [`Service::bind`] when the connection is created.
    pub fn schedule(&mut self, input: &SchedInput) -> Option<usize> {
        let mut input = *input;
        input.flags = self.conf.sched_flags;
        let pos = self.sched.schedule(&self.dests, &input)?;
        // A scheduler must only ever return a linked destination.
        (pos < self.dests.len()).then_some(pos)
    }

    /// A connection (or template) is bound to the destination at `pos`: counters and OVERLOAD
    /// move as in the kernel's `ip_vs_bind_dest`.
    pub fn bind(&mut self, pos: usize, kind: ConnKind) {
        if let Some(d) = self.dests.get_mut(pos) {
            d.bind(kind);
            self.sched.load_changed(&self.dests, pos);
        }
    }
    /// A connection (or template) leaves the destination at `pos` (`ip_vs_unbind_dest`).
    pub fn unbind(&mut self, pos: usize, kind: ConnKind) {
        if let Some(d) = self.dests.get_mut(pos) {
            d.unbind(kind);
            self.sched.load_changed(&self.dests, pos);
        }
    }
    /// A connection of the destination at `pos` becomes active or inactive.
    pub fn set_activity(&mut self, pos: usize, now_active: bool) {
        if let Some(d) = self.dests.get_mut(pos) {
            d.set_activity(now_active);
            self.sched.load_changed(&self.dests, pos);
        }
    }

    /// The traffic counters of the destination at list position `pos`, to count into.
    pub fn dest_stats_mut(&mut self, pos: usize) -> Option<&mut Stats> {
        self.dests.get_mut(pos).map(|d| &mut d.stats)
    }

    /// Replaces the scheduler with one built outside the registry (a scheduler of your own,
    /// or a linear-scan oracle of [`crate::sched`]). The service's configuration then names
    /// it by [`Scheduler::name`]. The scheduler must have been built over this service's
    /// current destination list.
    pub fn set_scheduler(&mut self, sched: Box<dyn Scheduler>) {
        self.conf.scheduler = sched.name().to_string();
        self.sched = sched;
    }

    pub(crate) fn set_conf(&mut self, conf: ServiceConf, sched: Option<Box<dyn Scheduler>>) {
        self.conf = conf;
        if let Some(s) = sched {
            self.sched = s;
        }
    }
    pub(crate) fn link_dest(&mut self, d: Destination) {
        self.dests.push_head(d);
        self.sched.add_dest(&self.dests, 0);
    }
    pub(crate) fn edit_dest(&mut self, pos: usize, conf: DestConf) {
        if let Some(d) = self.dests.get_mut(pos) {
            d.set_conf(conf);
            self.sched.upd_dest(&self.dests, pos);
        }
    }
    pub(crate) fn unlink_dest(&mut self, pos: usize) -> Destination {
        let mut d = self.dests.remove(pos);
        d.available = false;
        self.sched.del_dest(&self.dests, &d, pos);
        d
    }
    pub(crate) fn take_dests(&mut self) -> Vec<Destination> {
        let mut out = Vec::with_capacity(self.dests.len());
        while !self.dests.is_empty() {
            let mut d = self.dests.remove(0);
            d.available = false;
            out.push(d);
        }
        out
    }
    pub(crate) fn dests_mut(&mut self) -> &mut DestList {
        &mut self.dests
    }
    pub(crate) fn expire_sched(&mut self, now: crate::Time) {
        self.sched.timer(&self.dests, now);
    }
    pub(crate) fn new_scheduler(
        &self,
        name: &str,
        params: &SchedParams,
    ) -> Result<Box<dyn Scheduler>, Error> {
        crate::sched::new(name, &self.dests, params)
    }
}

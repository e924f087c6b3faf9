//! The whole configuration of a director: its virtual services, their real servers and the
//! trash of deleted real servers (spec §1, §9, §13.2).

use std::net::IpAddr;
use std::time::Duration;

use crate::dest::{ConnKind, DestConf, DestId, Destination, FwdMethod, TunnelConf, TunnelType};
use crate::error::Error;
use crate::sched::{SchedParams, Scheduler};
use crate::service::{Family, Service, ServiceConf, ServiceKey};
use crate::stats::Stats;
use crate::time::Time;

/// How long a deleted, unreferenced destination stays in the trash (IP_VS_DEST_TRASH_PERIOD).
pub const DEST_TRASH_PERIOD: Duration = Duration::from_secs(120);

/// A deleted destination, kept while connections may still refer to it (spec §1.5).
#[derive(Debug, Clone)]
pub struct Trashed {
    /// Identity of the service it belonged to.
    pub service: ServiceKey,
    /// The destination, AVAILABLE cleared, counters as they are.
    pub dest: Destination,
    /// When the trash timer first saw it unreferenced.
    idle_start: Option<Time>,
}

/// The director's table of virtual services: every `ipvsadm` command that changes the
/// configuration is a method here.
///
/// ```
/// use lb_core::{Ipvs, ServiceKey, ServiceConf, Protocol, Family, DestConf, FwdMethod, SchedInput};
/// let mut ipvs = Ipvs::new();
/// let vip = ServiceKey::Addr { proto: Protocol::Tcp, addr: "198.18.0.1".parse().unwrap(), port: 80 };
/// ipvs.add_service(vip, ServiceConf::with_scheduler(Family::V4, "rr")).unwrap();
/// let nat = DestConf { method: FwdMethod::Masq, ..DestConf::default() };
/// ipvs.add_dest(&vip, "198.19.0.11".parse().unwrap(), 80, nat).unwrap();
/// ipvs.add_dest(&vip, "198.19.0.12".parse().unwrap(), 80, nat).unwrap();
/// let svc = ipvs.service_mut(&vip).unwrap();
/// let input = SchedInput::tcp(("198.18.1.1".parse().unwrap(), 40000), ("198.18.0.1".parse().unwrap(), 80));
/// // rr starts with the head of the list: the server added last.
/// let pos = svc.schedule(&input).unwrap();
/// assert_eq!(svc.dests().get(pos).unwrap().addr().to_string(), "198.19.0.12");
/// ```
#[derive(Debug, Default)]
pub struct Ipvs {
    services: Vec<Service>,
    trash: Vec<Trashed>,
    next_dest_id: u32,
    next_link_seq: u64,
    params: SchedParams,
    /// Director-wide traffic counters.
    pub stats: Stats,
}

fn is_unicast(addr: &IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
        IpAddr::V6(a) => {
            !(a.is_unspecified() || a.is_multicast() || (a.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

impl Ipvs {
    /// An empty table with default scheduler settings.
    pub fn new() -> Self {
        Ipvs::default()
    }
    /// An empty table with the given scheduler settings.
    pub fn with_params(params: SchedParams) -> Self {
        Ipvs {
            params,
            ..Ipvs::default()
        }
    }
    /// The scheduler settings.
    pub fn params(&self) -> &SchedParams {
        &self.params
    }
    /// Every service, in the order they were added.
    pub fn services(&self) -> &[Service] {
        &self.services
    }
    /// Every service, to change in place (the engine moves their live state in and out).
    pub(crate) fn services_mut(&mut self) -> &mut [Service] {
        &mut self.services
    }
    /// The service with this identity.
    pub fn service(&self, key: &ServiceKey) -> Option<&Service> {
        self.services.iter().find(|s| s.key() == key)
    }
    /// The service with this identity, for scheduling and counting.
    pub fn service_mut(&mut self, key: &ServiceKey) -> Option<&mut Service> {
        self.services.iter_mut().find(|s| s.key() == key)
    }
    /// Deleted destinations still kept.
    pub fn trash(&self) -> &[Trashed] {
        &self.trash
    }

    fn check_service_conf(key: &ServiceKey, conf: &ServiceConf) -> Result<(), Error> {
        if let ServiceKey::Addr { port: 0, .. } = key {
            if conf.persistence.is_none() {
                return Err(Error::ZeroPort);
            }
        }
        if conf.one_packet {
            if let ServiceKey::Addr { proto, .. } = key {
                if *proto != crate::Protocol::Udp {
                    return Err(Error::OnePacketNotUdp);
                }
            }
        }
        Ok(())
    }

    fn check_netmask(key: &ServiceKey, conf: &ServiceConf) -> Result<(), Error> {
        if key.family() == Family::V6 && !(1..=128).contains(&conf.netmask) {
            return Err(Error::Invalid);
        }
        Ok(())
    }

    /// `-A`: adds a virtual service.
    pub fn add_service(&mut self, key: ServiceKey, conf: ServiceConf) -> Result<(), Error> {
        Self::check_service_conf(&key, &conf)?;
        if self.service(&key).is_some() {
            return Err(Error::ServiceExists);
        }
        if let ServiceKey::Fwmark { mark: 0, .. } = key {
            return Err(Error::Invalid);
        }
        let sched = crate::sched::new(&conf.scheduler, &Default::default(), &self.params)?;
        Self::check_netmask(&key, &conf)?;
        // Destinations parked in the trash for this identity stay there until re-added (§1.5).
        self.services.push(Service::new(key, conf, sched));
        Ok(())
    }

    /// `-E`: replaces a service's configuration. The same scheduler name keeps the scheduler's
    /// state; another name starts the new scheduler with the current destinations.
    pub fn edit_service(&mut self, key: &ServiceKey, conf: ServiceConf) -> Result<(), Error> {
        Self::check_service_conf(key, &conf)?;
        let params = self.params;
        let svc = self.service_mut(key).ok_or(Error::NoSuchService)?;
        let sched: Option<Box<dyn Scheduler>> = if svc.conf().scheduler != conf.scheduler {
            Some(svc.new_scheduler(&conf.scheduler, &params)?)
        } else {
            None
        };
        Self::check_netmask(key, &conf)?;
        svc.set_conf(conf, sched);
        Ok(())
    }

    /// `-D`: deletes a service; its destinations go to the trash.
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), Error> {
        let i = self
            .services
            .iter()
            .position(|s| s.key() == key)
            .ok_or(Error::NoSuchService)?;
        let mut svc = self.services.remove(i);
        for dest in svc.take_dests() {
            self.trash.push(Trashed {
                service: *key,
                dest,
                idle_start: None,
            });
        }
        Ok(())
    }

    /// `-C`: deletes every service.
    pub fn clear(&mut self) {
        let keys: Vec<ServiceKey> = self.services.iter().map(|s| *s.key()).collect();
        for k in keys {
            let _ = self.del_service(&k);
        }
    }

    fn check_dest(key: &ServiceKey, addr: &IpAddr, conf: &DestConf) -> Result<(), Error> {
        if conf.weight > 65535 {
            return Err(Error::OutOfRange);
        }
        if Family::of(addr) != key.family() && conf.method != FwdMethod::Tunnel {
            return Err(Error::MixedFamily);
        }
        if conf.method != FwdMethod::Tunnel && conf.tunnel != TunnelConf::default() {
            return Err(Error::TunnelOptionsConflict);
        }
        if conf.l_threshold > conf.u_threshold {
            return Err(Error::OutOfRange);
        }
        if conf.method == FwdMethod::Tunnel
            && conf.tunnel.kind == TunnelType::Gue
            && conf.tunnel.port == 0
        {
            return Err(Error::Invalid);
        }
        Ok(())
    }

    /// `-a`: adds a real server to a service, reviving it from the trash if it was deleted
    /// from a service of the same identity and is still kept (spec §1.5).
    pub fn add_dest(
        &mut self,
        key: &ServiceKey,
        addr: IpAddr,
        port: u16,
        conf: DestConf,
    ) -> Result<DestId, Error> {
        let i = self
            .services
            .iter()
            .position(|s| s.key() == key)
            .ok_or(Error::ServiceNotDefined)?;
        Self::check_dest(key, &addr, &conf)?;
        if self.services[i].dests().position(addr, port).is_some() {
            return Err(Error::DestExists);
        }
        self.next_link_seq += 1;
        let seq = self.next_link_seq;
        let revived = self
            .trash
            .iter()
            .position(|t| t.service == *key && t.dest.addr() == addr && t.dest.port() == port);
        let dest = match revived {
            Some(t) => {
                let mut d = self.trash.remove(t).dest;
                d.revive(conf);
                d
            }
            None => {
                if !is_unicast(&addr) {
                    return Err(Error::Invalid);
                }
                self.next_dest_id += 1;
                Destination::new(DestId(self.next_dest_id), addr, port, conf)
            }
        };
        let id = dest.id();
        let mut dest = dest;
        dest.link_seq = seq;
        self.services[i].link_dest(dest);
        Ok(id)
    }

    /// `-e`: replaces a real server's configuration (unspecified fields take ipvsadm's
    /// defaults at the caller, spec §13.2).
    pub fn edit_dest(
        &mut self,
        key: &ServiceKey,
        addr: IpAddr,
        port: u16,
        conf: DestConf,
    ) -> Result<(), Error> {
        let svc = self.service_mut(key).ok_or(Error::ServiceNotDefined)?;
        Self::check_dest(key, &addr, &conf)?;
        let pos = svc.dests().position(addr, port).ok_or(Error::NoSuchDest)?;
        svc.edit_dest(pos, conf);
        Ok(())
    }

    /// `-d`: deletes a real server; it goes to the trash.
    pub fn del_dest(&mut self, key: &ServiceKey, addr: IpAddr, port: u16) -> Result<(), Error> {
        let svc = self.service_mut(key).ok_or(Error::ServiceNotDefined)?;
        let pos = svc.dests().position(addr, port).ok_or(Error::NoSuchDest)?;
        let dest = svc.unlink_dest(pos);
        self.trash.push(Trashed {
            service: *key,
            dest,
            idle_start: None,
        });
        Ok(())
    }

    /// `-Z`: zeroes the counters of one service (and its destinations), or of everything.
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), Error> {
        let zero_svc = |s: &mut Service| {
            s.stats.zero();
            let n = s.dests().len();
            for p in 0..n {
                if let Some(d) = s.dests_mut().get_mut(p) {
                    d.stats.zero();
                }
            }
        };
        match key {
            Some(k) => zero_svc(self.service_mut(k).ok_or(Error::NoSuchService)?),
            None => {
                self.services.iter_mut().for_each(zero_svc);
                self.stats.zero();
            }
        }
        Ok(())
    }

    /// Unbinds a connection from destination `id` of service `key`, wherever the destination
    /// now is: in the service's list or in the trash.
    pub fn unbind(&mut self, key: &ServiceKey, id: DestId, kind: ConnKind) {
        if let Some(svc) = self.service_mut(key) {
            if let Some(pos) = svc.dests().position_of_id(id) {
                svc.unbind(pos, kind);
                return;
            }
        }
        if let Some(t) = self.trash.iter_mut().find(|t| t.dest.id() == id) {
            t.dest.unbind(kind);
        }
    }

    /// A connection of destination `id` of service `key` becomes active or inactive (a
    /// state-machine transition), wherever the destination now is: in the service's list or
    /// in the trash.
    pub fn set_activity(&mut self, key: &ServiceKey, id: DestId, now_active: bool) {
        if let Some(svc) = self.service_mut(key) {
            if let Some(pos) = svc.dests().position_of_id(id) {
                svc.set_activity(pos, now_active);
                return;
            }
        }
        if let Some(t) = self.trash.iter_mut().find(|t| t.dest.id() == id) {
            t.dest.set_activity(now_active);
        }
    }

    /// The traffic counters of destination `id` of service `key`, in the service's list or
    /// in the trash.
    pub fn dest_stats_mut(&mut self, key: &ServiceKey, id: DestId) -> Option<&mut Stats> {
        let in_list = self
            .services
            .iter()
            .position(|s| s.key() == key)
            .and_then(|i| Some((i, self.services[i].dests().position_of_id(id)?)));
        match in_list {
            Some((i, pos)) => self.services[i].dest_stats_mut(pos),
            None => self
                .trash
                .iter_mut()
                .find(|t| t.dest.id() == id)
                .map(|t| &mut t.dest.stats),
        }
    }

    /// The trash timer (every 60 s in the kernel): frees destinations unreferenced for
    /// [`DEST_TRASH_PERIOD`]; and the schedulers' own timers (lblc/lblcr cache expiry).
    pub fn timer(&mut self, now: Time) {
        self.trash.retain_mut(|t| {
            let refs = t.dest.total_conns() + t.dest.persistent_conns() as u64;
            if refs > 0 {
                return true;
            }
            match t.idle_start {
                None => {
                    t.idle_start = Some(now);
                    true
                }
                Some(start) => now < start + DEST_TRASH_PERIOD,
            }
        });
        for s in &mut self.services {
            s.expire_sched(now);
        }
    }
}

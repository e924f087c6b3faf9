//! The VIPs: the addresses of the virtual services (`-t`, `-u`, `--sctp-service`; fwmark
//! services have none). After every change of the table the control side publishes them
//! ([`Board`]); each worker then owns them on its `client` and `both` links (answers ARP /
//! neighbour solicitations for them) and drops the ones gone, and one worker announces
//! each new one (a gratuitous ARP, or an unsolicited neighbour advertisement).

use std::net::IpAddr;

use lb_core::engine::Engine;
use lb_core::ServiceKey;
use lb_io::path::{Director, LinkId};
use lb_io::wire::VlanStack;

use super::board::Board;
use super::config::Role;

/// The VIPs of `engine`'s table: sorted, each once.
pub fn vips_of(engine: &Engine) -> Vec<IpAddr> {
    let mut vips: Vec<IpAddr> = engine.read(|ipvs, _| {
        ipvs.services()
            .iter()
            .filter_map(|s| match s.key() {
                ServiceKey::Addr { addr, .. } => Some(*addr),
                ServiceKey::Fwmark { .. } => None,
            })
            .collect()
    });
    vips.sort_unstable();
    vips.dedup();
    vips
}

/// What changed between two sorted lists of VIPs: (added, removed).
pub fn diff(old: &[IpAddr], new: &[IpAddr]) -> (Vec<IpAddr>, Vec<IpAddr>) {
    let added = new.iter().filter(|v| !old.contains(v)).copied().collect();
    let removed = old.iter().filter(|v| !new.contains(v)).copied().collect();
    (added, removed)
}

/// A worker's side of the VIPs: what it owns, and the generation it last applied.
#[derive(Debug, Default)]
pub struct VipFollower {
    seen: u64,
    owned: Vec<IpAddr>,
}

/// Room for a gratuitous ARP or an unsolicited neighbour advertisement.
const ANNOUNCEMENT_MAX_LEN: usize = 128;

impl VipFollower {
    /// Nothing owned yet.
    pub fn new() -> VipFollower {
        VipFollower::default()
    }

    /// Follows `board` if it changed: owns the new VIPs on the links whose role answers for
    /// VIPs (`roles[i]` for link `i`), gives up the removed ones, and if `announce`, passes
    /// each link's announcement of each new VIP to `send`. Returns the VIPs added, or
    /// `None` when nothing changed.
    pub fn follow(
        &mut self,
        board: &Board<Vec<IpAddr>>,
        director: &mut Director,
        roles: &[Role],
        announce: bool,
        send: &mut dyn FnMut(LinkId, &[u8]),
    ) -> Option<Vec<IpAddr>> {
        let (generation, vips) = board.changed_since(self.seen)?;
        self.seen = generation;
        let (added, removed) = diff(&self.owned, &vips);
        let mut buf = [0u8; ANNOUNCEMENT_MAX_LEN];
        for (i, iface) in director.interfaces_mut().iter_mut().enumerate() {
            if !roles.get(i).is_some_and(|r| r.answers_for_vips()) {
                continue;
            }
            for vip in &removed {
                iface.neighbours.owned.remove(vip);
            }
            let mac = iface.config.mac;
            for vip in &added {
                iface.neighbours.owned.add(*vip, mac);
                if announce {
                    if let Ok(len) = iface.neighbours.announce(*vip, VlanStack::None, &mut buf) {
                        send(LinkId(i), buf.get(..len).unwrap_or(&[]));
                    }
                }
            }
        }
        self.owned = vips.to_vec();
        Some(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_core::engine::{EngineConfig, Settings};
    use lb_core::ipvsadm::NumericOnly;
    use lb_core::{Ipvs, Time};
    use lb_io::neigh::NeighParams;
    use lb_io::path::InterfaceConfig;
    use lb_io::wire::EthernetAddress;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn vips_are_the_service_addresses() {
        let engine = Engine::new(Ipvs::new(), Settings::default(), EngineConfig::default());
        let rules = "-A -t 198.18.0.10:80\n-A -u 198.18.0.10:53\n-A -t 198.18.0.9:443\n\
                     -A -f 3\n-A --sctp-service [2001:db8::10]:9\n";
        let r = engine.ipvsadm(&["-R"], rules, Time::ZERO, &NumericOnly, "ipvsadm");
        assert_eq!(r.exit_code, 0);
        assert_eq!(
            vips_of(&engine),
            [ip("198.18.0.9"), ip("198.18.0.10"), ip("2001:db8::10")]
        );
        assert_eq!(
            diff(
                &[ip("198.18.0.9"), ip("198.18.0.10")],
                &[ip("198.18.0.10"), ip("198.18.0.11")]
            ),
            (vec![ip("198.18.0.11")], vec![ip("198.18.0.9")])
        );
    }

    #[test]
    fn workers_own_and_announce_on_client_links_only() {
        let client_mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let server_mac = EthernetAddress([2, 0, 0, 0, 0, 2]);
        let mut director = Director::new(
            vec![
                InterfaceConfig::new(client_mac),
                InterfaceConfig::new(server_mac),
            ],
            NeighParams::default(),
        );
        let roles = [Role::Client, Role::Server];
        let board = Board::new(Vec::new());
        let mut follower = VipFollower::new();
        let sent: std::cell::RefCell<Vec<(LinkId, Vec<u8>)>> = Default::default();
        let mut send = |l: LinkId, f: &[u8]| sent.borrow_mut().push((l, f.to_vec()));
        assert_eq!(
            follower.follow(&board, &mut director, &roles, true, &mut send),
            Some(vec![])
        );
        assert_eq!(
            follower.follow(&board, &mut director, &roles, true, &mut send),
            None
        );
        board.publish(vec![ip("198.18.0.10")]);
        assert_eq!(
            follower.follow(&board, &mut director, &roles, true, &mut send),
            Some(vec![ip("198.18.0.10")])
        );
        let sent = sent.borrow().clone();
        assert_eq!(sent.len(), 1);
        let (link, frame) = &sent[0];
        assert_eq!(*link, LinkId(0));
        // A gratuitous ARP: broadcast, from the link's address, sender = target = the VIP.
        assert_eq!(&frame[0..6], &[0xff; 6]);
        assert_eq!(&frame[6..12], &client_mac.0);
        assert_eq!(&frame[12..14], &[0x08, 0x06]);
        assert_eq!(&frame[28..32], &[198, 18, 0, 10]);
        assert_eq!(&frame[38..42], &[198, 18, 0, 10]);
        assert!(director.interfaces()[0]
            .neighbours
            .owned
            .contains(&ip("198.18.0.10")));
        assert!(!director.interfaces()[1]
            .neighbours
            .owned
            .contains(&ip("198.18.0.10")));

        board.publish(vec![]);
        assert_eq!(
            follower.follow(&board, &mut director, &roles, true, &mut send),
            Some(vec![])
        );
        assert!(director.interfaces()[0].neighbours.owned.is_empty());
        assert!(follower.owned.is_empty());
    }
}

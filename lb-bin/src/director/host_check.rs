//! The conditions under which the host's kernel would answer or forward the director's
//! traffic itself (design notes, "Living beside the host's kernel"): a kernel RST or ICMP
//! error reaching a client, or a packet forwarded twice, is a bug. Checked at start (refuse
//! or warn) and whenever a new VIP appears (warn).

use std::fmt;
use std::net::IpAddr;

use super::kernel::HostFacts;

/// A condition that lets the kernel interfere, with what to change.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Problem {
    /// `net.ipv4.ip_forward=1`: the kernel forwards VIP traffic and NAT replies itself.
    Ipv4Forwarding,
    /// IPv6 forwarding on while an IPv6 VIP exists.
    Ipv6Forwarding {
        /// The first IPv6 VIP.
        vip: IpAddr,
    },
    /// A VIP is an address of a kernel interface: the kernel answers ARP / NDP for it and
    /// takes its traffic as its own (RSTs, port unreachables).
    VipOnInterface {
        /// The VIP.
        vip: IpAddr,
        /// The interface holding it.
        interface: String,
        /// Its prefix length there.
        prefix_len: u8,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Ipv4Forwarding => write!(
                f,
                "IPv4 forwarding is on: set net.ipv4.ip_forward=0 (sysctl -w net.ipv4.ip_forward=0); \
                 the kernel would forward the virtual services' packets and the NAT replies itself"
            ),
            Problem::Ipv6Forwarding { vip } => write!(
                f,
                "IPv6 forwarding is on and {vip} is an IPv6 VIP: set net.ipv6.conf.all.forwarding=0 \
                 (sysctl -w net.ipv6.conf.all.forwarding=0)"
            ),
            Problem::VipOnInterface {
                vip,
                interface,
                prefix_len,
            } => write!(
                f,
                "VIP {vip} is an address of interface {interface}: remove it \
                 (ip addr del {vip}/{prefix_len} dev {interface}); the director answers ARP / \
                 neighbour solicitations for its VIPs itself"
            ),
        }
    }
}

/// The problems of `facts` for the VIPs `vips`, in this order: IPv4 forwarding, IPv6
/// forwarding, each VIP held by an interface (in the order of `vips`).
pub fn check(facts: &HostFacts, vips: &[IpAddr]) -> Vec<Problem> {
    let mut problems = Vec::new();
    if facts.ipv4_forwarding {
        problems.push(Problem::Ipv4Forwarding);
    }
    if facts.ipv6_forwarding {
        if let Some(vip) = vips.iter().find(|v| v.is_ipv6()) {
            problems.push(Problem::Ipv6Forwarding { vip: *vip });
        }
    }
    for vip in vips {
        for a in facts.addresses.iter().filter(|a| a.addr == *vip) {
            problems.push(Problem::VipOnInterface {
                vip: *vip,
                interface: a.interface.clone(),
                prefix_len: a.prefix_len,
            });
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_io::link::InterfaceAddress;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_quiet_host_has_no_problem() {
        let facts = HostFacts {
            ipv4_forwarding: false,
            ipv6_forwarding: true,
            addresses: vec![InterfaceAddress {
                interface: "eth0".into(),
                addr: ip("198.18.0.2"),
                prefix_len: 24,
            }],
        };
        assert_eq!(check(&facts, &[ip("198.18.0.10")]), []);
    }

    #[test]
    fn each_problem_is_one_line_saying_what_to_change() {
        let facts = HostFacts {
            ipv4_forwarding: true,
            ipv6_forwarding: true,
            addresses: vec![InterfaceAddress {
                interface: "lo".into(),
                addr: ip("198.18.0.10"),
                prefix_len: 32,
            }],
        };
        let lines: Vec<String> = check(&facts, &[ip("198.18.0.10"), ip("2001:db8::10")])
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(
            lines,
            [
                "IPv4 forwarding is on: set net.ipv4.ip_forward=0 (sysctl -w net.ipv4.ip_forward=0); \
                 the kernel would forward the virtual services' packets and the NAT replies itself",
                "IPv6 forwarding is on and 2001:db8::10 is an IPv6 VIP: set \
                 net.ipv6.conf.all.forwarding=0 (sysctl -w net.ipv6.conf.all.forwarding=0)",
                "VIP 198.18.0.10 is an address of interface lo: remove it (ip addr del \
                 198.18.0.10/32 dev lo); the director answers ARP / neighbour solicitations for \
                 its VIPs itself",
            ]
        );
    }
}

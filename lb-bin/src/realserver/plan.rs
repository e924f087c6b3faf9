//! What a prepared real server looks like: the plan `setup` carries out, `check` compares
//! with what it finds, and `teardown` undoes. Pure: built from the options and a few facts
//! about the host.

use std::fmt;
use std::net::IpAddr;

use super::args::{Mode, Options, DEFAULT_TUN_DEV};

/// The kernel's fallback IPIP device, present in every namespace once `ipip` is loaded.
pub const KERNEL_TUN_DEV: &str = "tunl0";

/// Who takes the outer header off tunnelled packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decap {
    /// Nobody: direct routing.
    None,
    /// The kernel's `ipip` module, on `tunl0`.
    Kernel,
    /// `lb realserver decap`, writing to a TUN device.
    Userspace,
}

/// One `/proc/sys/net/ipv4/conf/<conf>/<name>` setting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SysctlKey {
    /// `all`, `default` or an interface name.
    pub conf: String,
    /// The setting: `arp_ignore`, `arp_announce`, `rp_filter`.
    pub name: String,
}

impl SysctlKey {
    /// The key of `net.ipv4.conf.<conf>.<name>`.
    pub fn new(conf: &str, name: &str) -> SysctlKey {
        SysctlKey {
            conf: conf.to_string(),
            name: name.to_string(),
        }
    }

    /// The file under /proc/sys.
    pub fn path(&self) -> String {
        format!("/proc/sys/net/ipv4/conf/{}/{}", self.conf, self.name)
    }
}

impl fmt::Display for SysctlKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "net.ipv4.conf.{}.{}", self.conf, self.name)
    }
}

/// A setting and the value the plan wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysctl {
    /// Which setting.
    pub key: SysctlKey,
    /// Its wanted value.
    pub value: u32,
}

/// Facts about the host a plan depends on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostFacts {
    /// Whether the kernel has IPIP (`tunl0` exists in this namespace).
    pub kernel_ipip: bool,
    /// The interfaces other than `lo` holding an IPv4 address (where tunnel packets may
    /// arrive), in `ip addr` order.
    pub ipv4_interfaces: Vec<String>,
}

/// The prepared state of a real server for one VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// DR or TUN.
    pub mode: Mode,
    /// The VIP.
    pub vip: IpAddr,
    /// The device holding the VIP.
    pub dev: String,
    /// Who decapsulates.
    pub decap: Decap,
    /// The settings, in the order they are written.
    pub sysctls: Vec<Sysctl>,
}

impl Plan {
    /// The VIP's prefix length on its device: /32 or /128.
    pub fn prefix_len(&self) -> u8 {
        match self.vip {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }

    /// Whether the device is a tunnel device the plan brings up (and may take down).
    pub fn is_tunnel(&self) -> bool {
        self.decap != Decap::None
    }
}

/// The plan for `options` on a host with `facts`.
///
/// - DR: the VIP on `--dev` (default `lo`).
/// - TUN: the kernel's `tunl0` where it has IPIP and the VIP is IPv4 (`tunl0` decapsulates
///   IPv4 inside only); otherwise a TUN device (`--dev`, default `lbtun0`) served by the
///   userspace decapsulator.
/// - IPv4 VIPs: `arp_ignore`=1 and `arp_announce`=2 on `all` and `lo` (and on the VIP's
///   device if that is another one), so that the host neither answers ARP for the VIP nor
///   uses it as the source of its own ARP requests. TUN adds `rp_filter`=0 on `all`, the
///   tunnel device and every interface holding an IPv4 address (where tunnel packets may
///   arrive). IPv6 VIPs need none of these (neighbour discovery answers only for addresses
///   of the receiving interface; IPv6 has no rp_filter).
pub fn plan(options: &Options, facts: &HostFacts) -> Plan {
    let decap = match (options.mode, options.vip) {
        (Mode::Dr, _) => Decap::None,
        (Mode::Tun, IpAddr::V4(_)) if facts.kernel_ipip && options.dev.is_none() => Decap::Kernel,
        (Mode::Tun, IpAddr::V4(_))
            if facts.kernel_ipip && options.dev.as_deref() == Some(KERNEL_TUN_DEV) =>
        {
            Decap::Kernel
        }
        (Mode::Tun, _) => Decap::Userspace,
    };
    let dev = match (&options.dev, decap) {
        (Some(dev), _) => dev.clone(),
        (None, Decap::None) => "lo".to_string(),
        (None, Decap::Kernel) => KERNEL_TUN_DEV.to_string(),
        (None, Decap::Userspace) => DEFAULT_TUN_DEV.to_string(),
    };
    let mut sysctls = Vec::new();
    if options.vip.is_ipv4() {
        let mut arp_confs = vec!["all", "lo"];
        if dev != "lo" {
            arp_confs.push(&dev);
        }
        for name in ["arp_ignore", "arp_announce"] {
            for conf in &arp_confs {
                let value = if name == "arp_ignore" { 1 } else { 2 };
                sysctls.push(Sysctl {
                    key: SysctlKey::new(conf, name),
                    value,
                });
            }
        }
        if options.mode == Mode::Tun {
            let mut rp_confs = vec!["all".to_string(), dev.clone()];
            for iface in &facts.ipv4_interfaces {
                if iface != "lo" && !rp_confs.contains(iface) {
                    rp_confs.push(iface.clone());
                }
            }
            for conf in rp_confs {
                sysctls.push(Sysctl {
                    key: SysctlKey::new(&conf, "rp_filter"),
                    value: 0,
                });
            }
        }
    }
    Plan {
        mode: options.mode,
        vip: options.vip,
        dev,
        decap,
        sysctls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(plan: &Plan) -> Vec<String> {
        plan.sysctls
            .iter()
            .map(|s| format!("{}={}", s.key, s.value))
            .collect()
    }

    fn options(mode: Mode, vip: &str, dev: Option<&str>) -> Options {
        Options {
            mode,
            vip: vip.parse().unwrap(),
            dev: dev.map(str::to_string),
        }
    }

    #[test]
    fn dr_ipv4() {
        let p = plan(
            &options(Mode::Dr, "198.18.0.100", None),
            &HostFacts::default(),
        );
        assert_eq!(
            (p.dev.as_str(), p.decap, p.prefix_len()),
            ("lo", Decap::None, 32)
        );
        assert_eq!(
            keys(&p),
            [
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.lo.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
                "net.ipv4.conf.lo.arp_announce=2",
            ]
        );
    }

    #[test]
    fn dr_on_another_device_and_ipv6() {
        let p = plan(
            &options(Mode::Dr, "198.18.0.100", Some("dummy0")),
            &HostFacts::default(),
        );
        assert_eq!(
            keys(&p),
            [
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.lo.arp_ignore=1",
                "net.ipv4.conf.dummy0.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
                "net.ipv4.conf.lo.arp_announce=2",
                "net.ipv4.conf.dummy0.arp_announce=2",
            ]
        );
        let p = plan(
            &options(Mode::Dr, "2001:db8::64", None),
            &HostFacts::default(),
        );
        assert_eq!((p.dev.as_str(), p.prefix_len()), ("lo", 128));
        assert!(p.sysctls.is_empty());
    }

    #[test]
    fn tun_userspace_and_kernel() {
        let facts = HostFacts {
            kernel_ipip: false,
            ipv4_interfaces: vec!["veth0".into(), "lbtun0".into(), "eth1".into()],
        };
        let p = plan(&options(Mode::Tun, "198.18.0.100", None), &facts);
        assert_eq!((p.dev.as_str(), p.decap), ("lbtun0", Decap::Userspace));
        assert_eq!(
            keys(&p),
            [
                "net.ipv4.conf.all.arp_ignore=1",
                "net.ipv4.conf.lo.arp_ignore=1",
                "net.ipv4.conf.lbtun0.arp_ignore=1",
                "net.ipv4.conf.all.arp_announce=2",
                "net.ipv4.conf.lo.arp_announce=2",
                "net.ipv4.conf.lbtun0.arp_announce=2",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.lbtun0.rp_filter=0",
                "net.ipv4.conf.veth0.rp_filter=0",
                "net.ipv4.conf.eth1.rp_filter=0",
            ]
        );
        let kernel = HostFacts {
            kernel_ipip: true,
            ipv4_interfaces: vec![],
        };
        let p = plan(&options(Mode::Tun, "198.18.0.100", None), &kernel);
        assert_eq!((p.dev.as_str(), p.decap), ("tunl0", Decap::Kernel));
        // tunl0 carries IPv4 only: an IPv6 VIP, or another device, is served in userspace.
        let p = plan(&options(Mode::Tun, "2001:db8::64", None), &kernel);
        assert_eq!((p.dev.as_str(), p.decap), ("lbtun0", Decap::Userspace));
        assert!(p.sysctls.is_empty());
        let p = plan(&options(Mode::Tun, "198.18.0.100", Some("tun7")), &kernel);
        assert_eq!((p.dev.as_str(), p.decap), ("tun7", Decap::Userspace));
    }
}

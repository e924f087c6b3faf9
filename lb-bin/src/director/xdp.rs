//! `link xdp`: the workers on AF_XDP links (cargo feature `xdp`).
//!
//! Per interface: one XDP program ([`XdpSteering::NotForTheHost`]) with room for one
//! socket per worker, worker `w` bound to receive queue `w`; the program's map of host
//! addresses filled with every address of the namespace's interfaces (and the IPv4
//! subnet broadcasts, and the configured `address`es), re-read on SIGHUP. Frames for the
//! host (ARP, VLAN-tagged, multicast — IPv6 neighbour discovery among them —, to a host
//! address) go to the kernel, which answers its own ARP and takes its own traffic; worker
//! 0's AF_PACKET link per interface (its *kernel side*) sees them too and runs them through
//! the packet path as in `link packet` mode, so the VIPs are answered for and neighbours
//! learnt. The rest (VIP traffic, NAT replies) goes to the AF_XDP sockets.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use lb_io::link::xdp::{receive_queues, XdpConfig, XdpLink, XdpMode, XdpProgram, XdpSteering};
use lb_io::link::{LinkError, PacketConfig, PacketLink};
use lb_io::path::IpPrefix;

use super::config::{Config, XdpModeSetting};
use super::log;

/// The links of `link xdp`, opened.
#[derive(Debug)]
pub struct XdpLinks {
    /// `per_worker[w][i]`: worker `w`'s link on queue `w` of interface `i`.
    pub per_worker: Vec<Vec<XdpLink>>,
    /// Worker 0's kernel side: one AF_PACKET link per interface.
    pub kernel_side: Vec<PacketLink>,
    /// The host addresses the programs leave to the kernel.
    pub host: HostAddresses,
}

/// The programs' maps of host addresses, and what they are made of.
#[derive(Debug)]
pub struct HostAddresses {
    programs: Vec<Arc<XdpProgram>>,
    configured: Vec<IpPrefix>,
}

impl HostAddresses {
    /// Reads the kernel's addresses again and gives them to every program; returns how
    /// many addresses the programs now leave to the kernel.
    pub fn refresh(&self) -> Result<usize, String> {
        let kernel = lb_io::link::interface_addresses()
            .map_err(|e| format!("reading the interfaces' addresses: {e}"))?;
        let prefixes: Vec<IpPrefix> = kernel
            .iter()
            .map(|a| IpPrefix::new(a.addr, a.prefix_len))
            .chain(self.configured.iter().copied())
            .collect();
        let addrs = host_addresses(&prefixes);
        for program in &self.programs {
            program
                .set_local_addresses(&addrs)
                .map_err(|e| format!("interface {}: {}", program.interface(), reason(&e)))?;
        }
        Ok(addrs.len())
    }
}

/// The addresses the kernel must keep: each prefix's address, and the broadcast address
/// of each IPv4 prefix shorter than /31; sorted, each once.
pub fn host_addresses(prefixes: &[IpPrefix]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for p in prefixes {
        out.push(p.addr);
        if let IpAddr::V4(a) = p.addr {
            if p.len < 31 {
                let host_bits = u32::MAX.checked_shr(u32::from(p.len)).unwrap_or(0);
                out.push(IpAddr::V4(Ipv4Addr::from(u32::from(a) | host_bits)));
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A link error in one line, without Rust's "(os error N)".
fn reason(e: &LinkError) -> String {
    match e {
        LinkError::Io { op, source } => format!("{op}: {}", super::io_reason(source)),
        other => other.to_string(),
    }
}

fn xdp_mode(setting: XdpModeSetting) -> XdpMode {
    match setting {
        XdpModeSetting::Auto => XdpMode::Auto,
        XdpModeSetting::Native => XdpMode::Native,
        XdpModeSetting::Generic => XdpMode::Generic,
    }
}

/// What to say when interface `name` has `queues` receive queues and `workers` are asked
/// for: an error when it has fewer (a worker would have no queue), a warning when it has
/// more (the frames of the extra queues reach the director only through the kernel side).
pub fn check_queues(name: &str, queues: u32, workers: usize) -> Result<Option<String>, String> {
    let w = workers as u64;
    let q = u64::from(queues);
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if q < w {
        return Err(format!(
            "interface {name} has {}, fewer than the {} (worker N uses queue N): \
             give it {w} (ethtool -L {name} combined {w}; a veth: ethtool -L {name} rx {w} tx {w}, \
             created with numrxqueues {w} numtxqueues {w}) or run with --workers {q}",
            plural(q, "receive queue"),
            plural(w, "worker"),
        ));
    }
    if q > w {
        return Ok(Some(format!(
            "interface {name} has {} and {}: frames of queues {w} to {} reach the \
             director only through the kernel (slowly); ethtool -L {name} combined {w} \
             (a veth: rx {w} tx {w}) sends them all to the workers",
            plural(q, "receive queue"),
            plural(w, "worker"),
            q - 1,
        )));
    }
    Ok(None)
}

/// Opens the links of `link xdp`: per interface, attaches the program, fills its host
/// addresses, opens one AF_XDP link per worker and the kernel-side AF_PACKET link. An
/// error is one line naming the interface.
pub fn open(config: &Config) -> Result<XdpLinks, String> {
    let queues = u32::try_from(config.workers).map_err(|_| "too many workers".to_string())?;
    let mode = xdp_mode(config.xdp_mode);
    let link_config = XdpConfig {
        mode,
        ..XdpConfig::default()
    };
    let mut kernel_side = Vec::new();
    let mut programs = Vec::new();
    let mut per_worker: Vec<Vec<XdpLink>> = (0..config.workers).map(|_| Vec::new()).collect();
    for spec in &config.interfaces {
        let name = &spec.name;
        match receive_queues(name) {
            Some(q) => {
                if let Some(warning) = check_queues(name, q, config.workers)? {
                    log::warning!("{warning}");
                }
            }
            None => log::debug!("interface {name}: the driver does not say how many queues it has"),
        }
        // Opened first: it sees what the kernel receives from now on.
        let kernel = PacketLink::open(name, &PacketConfig::default())
            .map_err(|e| format!("interface {name}: {}", reason(&e)))?;
        let program = XdpProgram::attach_steering(name, mode, queues, XdpSteering::NotForTheHost)
            .map_err(|e| {
            format!(
                "interface {name}: cannot attach the XDP program ({}); run with --link packet",
                reason(&e)
            )
        })?;
        let program = Arc::new(program);
        for (w, links) in per_worker.iter_mut().enumerate() {
            let link =
                XdpLink::open_on(Arc::clone(&program), w as u32, &link_config).map_err(|e| {
                    format!(
                        "interface {name}: cannot open an AF_XDP socket on queue {w} ({}); \
                         run with --link packet",
                        reason(&e)
                    )
                })?;
            if w == 0 {
                log::info!(
                    "interface {name}: AF_XDP, program in {} mode, {}, {}",
                    match link.attach_mode() {
                        lb_io::link::xdp::AttachMode::Native => "native",
                        lb_io::link::xdp::AttachMode::Generic => "generic",
                    },
                    if link.zero_copy() {
                        "zero-copy"
                    } else {
                        "copy"
                    },
                    if queues == 1 {
                        "queue 0".to_string()
                    } else {
                        format!("queues 0 to {}", queues - 1)
                    }
                );
            }
            links.push(link);
        }
        kernel_side.push(kernel);
        programs.push(program);
    }
    let host = HostAddresses {
        programs,
        configured: config
            .interfaces
            .iter()
            .flat_map(|s| s.addresses.iter().copied())
            .collect(),
    };
    let n = host.refresh()?;
    log::info!("{n} host addresses left to the kernel");
    Ok(XdpLinks {
        per_worker,
        kernel_side,
        host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_host_keeps_its_addresses_and_ipv4_broadcasts() {
        let prefixes: Vec<IpPrefix> = [
            "198.18.1.1/24",
            "198.18.2.1/24",
            "127.0.0.1/8",
            "198.19.0.1/32",
            "198.19.1.0/31",
            "2001:db8::1/64",
            "198.18.1.1/24",
        ]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
        assert_eq!(
            host_addresses(&prefixes),
            [
                ip("127.0.0.1"),
                ip("127.255.255.255"),
                ip("198.18.1.1"),
                ip("198.18.1.255"),
                ip("198.18.2.1"),
                ip("198.18.2.255"),
                ip("198.19.0.1"),
                ip("198.19.1.0"),
                ip("2001:db8::1"),
            ]
        );
        let zero: IpPrefix = "198.18.0.1/0".parse().unwrap();
        assert_eq!(
            host_addresses(&[zero]),
            [ip("198.18.0.1"), ip("255.255.255.255")]
        );
    }

    #[test]
    fn queues_and_workers_must_match() {
        assert_eq!(check_queues("d0", 2, 2), Ok(None));
        assert_eq!(
            check_queues("d0", 1, 2),
            Err(
                "interface d0 has 1 receive queue, fewer than the 2 workers (worker N uses \
                 queue N): give it 2 (ethtool -L d0 combined 2; a veth: ethtool -L d0 rx 2 tx 2, \
                 created with numrxqueues 2 numtxqueues 2) or run with --workers 1"
                    .to_string()
            )
        );
        assert_eq!(
            check_queues("eth0", 4, 1),
            Ok(Some(
                "interface eth0 has 4 receive queues and 1 worker: frames of queues 1 to 3 \
                 reach the director only through the kernel (slowly); ethtool -L eth0 combined 1 \
                 (a veth: rx 1 tx 1) sends them all to the workers"
                    .to_string()
            ))
        );
    }
}

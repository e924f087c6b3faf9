//! The links the workers receive and send on: AF_PACKET (`link packet`, the default) or
//! AF_XDP (`link xdp`, cargo feature `xdp`, see [`xdp`](super::xdp)).
//!
//! A worker is generic over its links' type ([`WorkerLink`]), so a frame costs the same
//! static calls whichever the backend.

use std::os::fd::AsFd;

use lb_io::link::{Fanout, Link, PacketConfig, PacketLink};
use lb_io::wire::EthernetAddress;

use super::config::Config;

/// What a worker needs of a link besides [`Link`]: a descriptor to poll, and the facts
/// of its interface.
pub trait WorkerLink: Link + AsFd + Send + std::fmt::Debug + 'static {
    /// The interface's name.
    fn interface_name(&self) -> &str;
    /// The interface's Ethernet address.
    fn mac(&self) -> EthernetAddress;
    /// The interface's MTU.
    fn interface_mtu(&self) -> u32;
}

impl WorkerLink for PacketLink {
    fn interface_name(&self) -> &str {
        self.interface()
    }
    fn mac(&self) -> EthernetAddress {
        self.mac_address()
    }
    fn interface_mtu(&self) -> u32 {
        self.mtu()
    }
}

#[cfg(feature = "xdp")]
impl WorkerLink for lb_io::link::XdpLink {
    fn interface_name(&self) -> &str {
        self.interface()
    }
    fn mac(&self) -> EthernetAddress {
        self.mac_address()
    }
    fn interface_mtu(&self) -> u32 {
        self.mtu()
    }
}

/// The fanout group of interface `i` (unique per network namespace, so made of the
/// process id).
pub fn fanout_group(i: usize) -> u16 {
    (std::process::id() as u16)
        .wrapping_mul(64)
        .wrapping_add(i as u16)
}

/// Opens every worker's AF_PACKET links: `links[w][i]` is worker `w`'s link on interface
/// `i`; with several workers, each interface's links share one fanout group. An error
/// names the interface.
pub fn open_packet(config: &Config) -> Result<Vec<Vec<PacketLink>>, String> {
    let mut all = Vec::new();
    for _ in 0..config.workers {
        let mut mine = Vec::new();
        for (i, spec) in config.interfaces.iter().enumerate() {
            let link_config = PacketConfig {
                fanout: (config.workers > 1).then(|| Fanout {
                    group: fanout_group(i),
                    defrag: true,
                }),
                ..PacketConfig::default()
            };
            let link = PacketLink::open(&spec.name, &link_config)
                .map_err(|e| format!("interface {}: {e}", spec.name))?;
            mine.push(link);
        }
        all.push(mine);
    }
    Ok(all)
}

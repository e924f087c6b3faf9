//! The addresses the kernel has on its network interfaces (`getifaddrs(3)`), which the
//! director reads at start: its own addresses on each link (unless configured), and the
//! check that no VIP is held by a kernel interface.

use std::io;
use std::net::IpAddr;

use crate::sys;

/// One address of one kernel interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InterfaceAddress {
    /// The interface's name (`eth0`).
    pub interface: String,
    /// The address.
    pub addr: IpAddr,
    /// The length of its on-link prefix.
    pub prefix_len: u8,
}

/// Every IPv4 and IPv6 address of every interface, in the calling thread's network
/// namespace, in the kernel's order.
pub fn interface_addresses() -> io::Result<Vec<InterfaceAddress>> {
    Ok(sys::ifaddrs::interface_addresses()?
        .into_iter()
        .map(|a| InterfaceAddress {
            interface: a.interface,
            addr: a.addr,
            prefix_len: a.prefix_len,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_address_is_listed_with_its_prefix() {
        let all = interface_addresses().unwrap();
        let lo = all
            .iter()
            .find(|a| a.addr == IpAddr::from([127, 0, 0, 1]))
            .expect("127.0.0.1 on some interface");
        assert_eq!((lo.interface.as_str(), lo.prefix_len), ("lo", 8));
    }
}

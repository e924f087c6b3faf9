//! The addresses of the network interfaces, as `getifaddrs(3)` lists them.

use std::ffi::CStr;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One address of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IfAddr {
    /// The interface's name.
    pub(crate) interface: String,
    /// The address.
    pub(crate) addr: IpAddr,
    /// The length of its on-link prefix (the leading ones of its netmask).
    pub(crate) prefix_len: u8,
}

/// The list `getifaddrs` returned, given back with `freeifaddrs` on drop.
struct IfAddrList(*mut libc::ifaddrs);

impl Drop for IfAddrList {
    fn drop(&mut self) {
        // SAFETY: the pointer came from a successful getifaddrs and is freed only here, once.
        unsafe { libc::freeifaddrs(self.0) };
    }
}

/// Every IPv4 and IPv6 address of every interface in the calling thread's network
/// namespace, in the order the kernel lists them.
pub(crate) fn interface_addresses() -> io::Result<Vec<IfAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: `head` is a live pointer variable the call writes the list's address into.
    let rc = unsafe { libc::getifaddrs(&mut head) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let list = IfAddrList(head);
    let mut out = Vec::new();
    let mut node = list.0;
    while !node.is_null() {
        // SAFETY: `node` is a non-null element of the list getifaddrs built, alive until
        // `list` is dropped at the end of this function.
        let entry = unsafe { &*node };
        node = entry.ifa_next;
        if entry.ifa_addr.is_null() || entry.ifa_name.is_null() {
            continue;
        }
        // SAFETY: `ifa_name` is a non-null NUL-terminated string owned by the list.
        let interface = unsafe { CStr::from_ptr(entry.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: `ifa_addr` is non-null and points at a sockaddr of the list.
        let family = libc::c_int::from(unsafe { (*entry.ifa_addr).sa_family });
        let (addr, prefix_len) = match family {
            libc::AF_INET => {
                // SAFETY: a sockaddr of family AF_INET is a sockaddr_in.
                let sin = unsafe { &*entry.ifa_addr.cast::<libc::sockaddr_in>() };
                let addr = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                let len = if entry.ifa_netmask.is_null() {
                    32
                } else {
                    // SAFETY: the netmask of an AF_INET address is a sockaddr_in.
                    let mask = unsafe { &*entry.ifa_netmask.cast::<libc::sockaddr_in>() };
                    u32::from_be(mask.sin_addr.s_addr).leading_ones() as u8
                };
                (IpAddr::V4(addr), len)
            }
            libc::AF_INET6 => {
                // SAFETY: a sockaddr of family AF_INET6 is a sockaddr_in6.
                let sin6 = unsafe { &*entry.ifa_addr.cast::<libc::sockaddr_in6>() };
                let addr = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
                let len = if entry.ifa_netmask.is_null() {
                    128
                } else {
                    // SAFETY: the netmask of an AF_INET6 address is a sockaddr_in6.
                    let mask = unsafe { &*entry.ifa_netmask.cast::<libc::sockaddr_in6>() };
                    u128::from_be_bytes(mask.sin6_addr.s6_addr).leading_ones() as u8
                };
                (IpAddr::V6(addr), len)
            }
            _ => continue,
        };
        out.push(IfAddr {
            interface,
            addr,
            prefix_len,
        });
    }
    Ok(out)
}

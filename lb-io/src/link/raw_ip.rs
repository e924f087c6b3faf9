//! Raw IP sockets for one IP protocol: what a userspace IPIP decapsulator receives with, and
//! what a test sends tunnelled packets with.
//!
//! A raw socket `socket(AF_INET, SOCK_RAW, IPPROTO_IPIP)` gets a copy of every IPv4 packet
//! of that protocol the kernel delivers locally (addressed to one of this host's
//! addresses, reassembled), outer IPv4 header included. While one is open, the kernel also
//! stops answering such packets with ICMP protocol-unreachable when it has no handler of its
//! own for the protocol (no `ipip` module). An AF_INET6 raw socket gets the payload after
//! the IPv6 header and its extension headers, without them.
//!
//! Sending without IP_HDRINCL, the kernel writes the IP header itself (protocol = the
//! socket's, source by routing): [`RawIpSocket::send_to`] sends an inner packet as an IPIP
//! tunnel packet.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::sys;
use crate::wire::IpProtocol;

/// The address family of a raw socket, which is the family of the *outer* header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawIpFamily {
    /// AF_INET: received packets start with their IPv4 header.
    V4,
    /// AF_INET6: received packets start with the payload (no IPv6 header).
    V6,
}

/// An open raw IP socket for one protocol, closed on drop.
#[derive(Debug)]
pub struct RawIpSocket {
    fd: OwnedFd,
    family: RawIpFamily,
    protocol: IpProtocol,
}

impl RawIpSocket {
    /// Opens a raw socket of `family` for `protocol` (needs CAP_NET_RAW).
    pub fn open(family: RawIpFamily, protocol: IpProtocol) -> io::Result<RawIpSocket> {
        let domain = match family {
            RawIpFamily::V4 => libc::AF_INET,
            RawIpFamily::V6 => libc::AF_INET6,
        };
        let fd = sys::raw_ip::open(domain, protocol.0)?;
        Ok(RawIpSocket {
            fd,
            family,
            protocol,
        })
    }

    /// The socket's family.
    pub fn family(&self) -> RawIpFamily {
        self.family
    }

    /// The socket's protocol.
    pub fn protocol(&self) -> IpProtocol {
        self.protocol
    }

    /// Receives one packet into `buf` without waiting: `Ok(None)` when none is queued.
    /// Otherwise the packet's full length, which is more than `buf.len()` when the packet
    /// did not fit (only `buf.len()` bytes of it were kept).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        sys::raw_ip::recv(self.fd.as_fd(), buf)
    }

    /// Sends `payload` to `dst` under a header the kernel writes (protocol = the socket's).
    /// `dst` must be of the socket's family. Returns the bytes of `payload` sent.
    pub fn send_to(&self, payload: &[u8], dst: IpAddr) -> io::Result<usize> {
        let matches = matches!(
            (self.family, dst),
            (RawIpFamily::V4, IpAddr::V4(_)) | (RawIpFamily::V6, IpAddr::V6(_))
        );
        if !matches {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "destination of another family than the socket",
            ));
        }
        sys::raw_ip::send_to(self.fd.as_fd(), payload, dst)
    }
}

impl AsFd for RawIpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

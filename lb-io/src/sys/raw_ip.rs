//! Raw IP sockets (AF_INET / AF_INET6, SOCK_RAW) for one IP protocol.

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use libc::{c_int, c_void, socklen_t};

/// Opens `socket(domain, SOCK_RAW | SOCK_CLOEXEC, protocol)`: `domain` is AF_INET or
/// AF_INET6, `protocol` an IP protocol number.
pub(crate) fn open(domain: c_int, protocol: u8) -> io::Result<OwnedFd> {
    // SAFETY: socket takes three integers and returns a new descriptor or -1.
    let fd = unsafe {
        libc::socket(
            domain,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            c_int::from(protocol),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket, is open, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Receives one datagram into `buf` without waiting (MSG_DONTWAIT). `Ok(None)` when none is
/// queued. A datagram longer than `buf` is cut to its length (and the rest discarded); the
/// returned length is then the datagram's full length (MSG_TRUNC), so a caller can tell.
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: `buf` is live and writable for `buf.len()` bytes for the call; the kernel
    // writes at most that many bytes into it.
    let rc = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr().cast::<c_void>(),
            buf.len(),
            libc::MSG_DONTWAIT | libc::MSG_TRUNC,
        )
    };
    if rc < 0 {
        let err = io::Error::last_os_error();
        return match err.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
            _ => Err(err),
        };
    }
    Ok(Some(rc.unsigned_abs()))
}

/// Sends `data` to `dst` with `sendto`. For a raw socket without IP_HDRINCL the kernel
/// writes the IP header itself, with the socket's protocol. Returns the bytes sent.
pub(crate) fn send_to(fd: BorrowedFd<'_>, data: &[u8], dst: IpAddr) -> io::Result<usize> {
    let rc = match dst {
        IpAddr::V4(addr) => {
            let sa = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(SocketAddrV4::new(addr, 0).ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `data` is live for `data.len()` bytes and `sa` is a fully initialised
            // sockaddr_in of the given length, both borrowed for the call and only read.
            unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    data.as_ptr().cast::<c_void>(),
                    data.len(),
                    0,
                    (&sa as *const libc::sockaddr_in).cast::<libc::sockaddr>(),
                    size_of::<libc::sockaddr_in>() as socklen_t,
                )
            }
        }
        IpAddr::V6(addr) => {
            let sa = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr {
                    s6_addr: SocketAddrV6::new(addr, 0, 0, 0).ip().octets(),
                },
                sin6_scope_id: 0,
            };
            // SAFETY: `data` is live for `data.len()` bytes and `sa` is a fully initialised
            // sockaddr_in6 of the given length, both borrowed for the call and only read.
            unsafe {
                libc::sendto(
                    fd.as_raw_fd(),
                    data.as_ptr().cast::<c_void>(),
                    data.len(),
                    0,
                    (&sa as *const libc::sockaddr_in6).cast::<libc::sockaddr>(),
                    size_of::<libc::sockaddr_in6>() as socklen_t,
                )
            }
        }
    };
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc.unsigned_abs())
    }
}

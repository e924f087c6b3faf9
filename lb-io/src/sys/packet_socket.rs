//! An AF_PACKET socket of type SOCK_RAW, and the system calls a link makes on it.

use std::ffi::CString;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use libc::{c_int, c_void, socklen_t};

use super::poll::wait_one;
use super::poll::Readiness;

/// An open AF_PACKET / SOCK_RAW socket, closed on drop.
#[derive(Debug)]
pub(crate) struct PacketSocket {
    fd: OwnedFd,
}

impl PacketSocket {
    /// Opens a socket with protocol 0: it receives nothing until [`PacketSocket::bind`]
    /// names a protocol, so frames of other interfaces never reach it while it is being set
    /// up.
    pub(crate) fn open() -> io::Result<PacketSocket> {
        // SAFETY: socket takes three integers and returns a new descriptor or -1.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket, is open, and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(PacketSocket { fd })
    }

    fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// `setsockopt(level, name)` with the bytes of `value`.
    pub(crate) fn set_option<T: Copy>(
        &self,
        level: c_int,
        name: c_int,
        value: &T,
    ) -> io::Result<()> {
        let len = socklen_t::try_from(size_of::<T>())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `value` is a live, initialised `T` of exactly `len` bytes, borrowed for the
        // call; the kernel only reads it.
        let rc = unsafe {
            libc::setsockopt(
                self.raw(),
                level,
                name,
                (value as *const T).cast::<c_void>(),
                len,
            )
        };
        check(rc).map(drop)
    }

    /// Binds the socket to interface `ifindex`, receiving frames of EtherType `protocol`
    /// (host order; `ETH_P_ALL` for every frame).
    pub(crate) fn bind(&self, ifindex: c_int, protocol: u16) -> io::Result<()> {
        let addr = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as u16,
            sll_protocol: protocol.to_be(),
            sll_ifindex: ifindex,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        let len = size_of::<libc::sockaddr_ll>() as socklen_t;
        // SAFETY: `addr` is a fully initialised sockaddr_ll of `len` bytes, borrowed for the
        // call; the kernel only reads it.
        let rc = unsafe {
            libc::bind(
                self.raw(),
                (&addr as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
                len,
            )
        };
        check(rc).map(drop)
    }

    /// Reads and clears the kernel's counters (PACKET_STATISTICS): frames the socket took
    /// (dropped ones included) and frames it dropped, since the previous call.
    pub(crate) fn packet_statistics(&self) -> io::Result<libc::tpacket_stats> {
        let mut stats = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = size_of::<libc::tpacket_stats>() as socklen_t;
        // SAFETY: `stats` and `len` are live and writable for the call; the kernel writes at
        // most `len` bytes into `stats` and the written length into `len`.
        let rc = unsafe {
            libc::getsockopt(
                self.raw(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut stats as *mut libc::tpacket_stats).cast::<c_void>(),
                &mut len,
            )
        };
        check(rc).map(|_| stats)
    }

    /// Waits up to `timeout` until the socket is readable (if `read`) or writable (if
    /// `write`), or has an error. An interrupted wait reports nothing ready.
    pub(crate) fn wait(&self, read: bool, write: bool, timeout: Duration) -> io::Result<Readiness> {
        wait_one(self.raw(), read, write, timeout)
    }

    /// Asks the kernel to transmit the TX ring's frames marked for sending:
    /// `send(fd, NULL, 0, MSG_DONTWAIT)`. Returns the bytes it sent.
    pub(crate) fn kick_tx(&self) -> io::Result<usize> {
        // SAFETY: a null buffer of length 0 is never read; with a TX ring the kernel takes
        // the frames from the ring instead.
        let rc = unsafe { libc::send(self.raw(), std::ptr::null(), 0, libc::MSG_DONTWAIT) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(rc.unsigned_abs())
        }
    }

    /// The MTU of interface `name`, in the socket's network namespace (SIOCGIFMTU).
    pub(crate) fn interface_mtu(&self, name: &str) -> io::Result<u32> {
        let mut req = interface_request(name)?;
        self.interface_ioctl(libc::SIOCGIFMTU, &mut req)?;
        // SAFETY: SIOCGIFMTU succeeded, so the kernel filled the union's `ifru_mtu` member,
        // a plain integer.
        let mtu = unsafe { req.ifr_ifru.ifru_mtu };
        u32::try_from(mtu).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
    }

    /// The Ethernet address of interface `name`, in the socket's network namespace
    /// (SIOCGIFHWADDR).
    pub(crate) fn interface_hw_addr(&self, name: &str) -> io::Result<[u8; 6]> {
        let mut req = interface_request(name)?;
        self.interface_ioctl(libc::SIOCGIFHWADDR, &mut req)?;
        // SAFETY: SIOCGIFHWADDR succeeded, so the kernel filled the union's `ifru_hwaddr`
        // member, a plain sockaddr.
        let addr = unsafe { req.ifr_ifru.ifru_hwaddr };
        let mut mac = [0u8; 6];
        for (out, byte) in mac.iter_mut().zip(addr.sa_data.iter()) {
            *out = *byte as u8;
        }
        Ok(mac)
    }

    fn interface_ioctl(&self, request: libc::c_ulong, req: &mut libc::ifreq) -> io::Result<()> {
        // SAFETY: `req` is a live, initialised ifreq borrowed mutably for the call, which is
        // what the SIOCGIF* requests read the interface name from and write their answer to.
        let rc =
            unsafe { libc::ioctl(self.raw(), request as libc::Ioctl, req as *mut libc::ifreq) };
        check(rc).map(drop)
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The index of interface `name` in the calling thread's network namespace
/// (`if_nametoindex`).
pub(crate) fn interface_index(name: &str) -> io::Result<u32> {
    let c_name = interface_name(name)?;
    // SAFETY: `c_name` is a NUL-terminated string that lives for the call; the function
    // only reads it.
    let index = unsafe { libc::if_nametoindex(c_name.as_ptr()) };
    if index == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(index)
    }
}

/// `name` as a C string, checked to fit an interface name (IFNAMSIZ with its NUL).
fn interface_name(name: &str) -> io::Result<CString> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// An `ifreq` naming interface `name`, its union zeroed.
fn interface_request(name: &str) -> io::Result<libc::ifreq> {
    let c_name = interface_name(name)?;
    let mut ifr_name = [0 as libc::c_char; libc::IFNAMSIZ];
    for (out, byte) in ifr_name.iter_mut().zip(c_name.as_bytes()) {
        *out = *byte as libc::c_char;
    }
    let zero = libc::sockaddr {
        sa_family: 0,
        sa_data: [0; 14],
    };
    Ok(libc::ifreq {
        ifr_name,
        ifr_ifru: libc::__c_anonymous_ifr_ifru { ifru_hwaddr: zero },
    })
}

/// The result of a system call returning -1 on error.
fn check(rc: c_int) -> io::Result<c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

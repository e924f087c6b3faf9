//! An AF_XDP socket, and the system calls a link makes on it.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use libc::{c_int, c_void, socklen_t};

use super::poll::{wait_one, Readiness};

/// An open AF_XDP socket, closed on drop (which also takes it out of every XSKMAP).
#[derive(Debug)]
pub(crate) struct XdpSocket {
    fd: OwnedFd,
}

impl XdpSocket {
    /// Opens an AF_XDP socket: it receives nothing until bound to a queue of an interface.
    pub(crate) fn open() -> io::Result<XdpSocket> {
        // SAFETY: socket takes three integers and returns a new descriptor or -1.
        let fd = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by socket, is open, and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(XdpSocket { fd })
    }

    fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// `setsockopt(SOL_XDP, name)` with the bytes of `value`.
    pub(crate) fn set_option<T: Copy>(&self, name: c_int, value: &T) -> io::Result<()> {
        let len = socklen_t::try_from(size_of::<T>())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `value` is a live, initialised `T` of exactly `len` bytes, borrowed for the
        // call; the kernel only reads it.
        let rc = unsafe {
            libc::setsockopt(
                self.raw(),
                libc::SOL_XDP,
                name,
                (value as *const T).cast::<c_void>(),
                len,
            )
        };
        check(rc).map(drop)
    }

    /// `getsockopt(SOL_XDP, name)` into a `T`; fails unless the kernel wrote exactly
    /// `size_of::<T>()` bytes (an older layout of the structure).
    fn get_option<T: Copy>(&self, name: c_int, mut value: T) -> io::Result<T> {
        let want = socklen_t::try_from(size_of::<T>())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let mut len = want;
        // SAFETY: `value` and `len` are live and writable for the call; the kernel writes at
        // most `len` bytes into `value` (a plain-data struct, any bytes valid) and the
        // written length into `len`.
        let rc = unsafe {
            libc::getsockopt(
                self.raw(),
                libc::SOL_XDP,
                name,
                (&mut value as *mut T).cast::<c_void>(),
                &mut len,
            )
        };
        check(rc)?;
        if len != want {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "the kernel's AF_XDP structures are of an older layout",
            ));
        }
        Ok(value)
    }

    /// Where the producer, consumer, flags and descriptors of each ring lie in its mapping
    /// (XDP_MMAP_OFFSETS).
    pub(crate) fn mmap_offsets(&self) -> io::Result<libc::xdp_mmap_offsets> {
        let zero = libc::xdp_ring_offset {
            producer: 0,
            consumer: 0,
            desc: 0,
            flags: 0,
        };
        self.get_option(
            libc::XDP_MMAP_OFFSETS,
            libc::xdp_mmap_offsets {
                rx: zero,
                tx: zero,
                fr: zero,
                cr: zero,
            },
        )
    }

    /// The socket's counters (XDP_STATISTICS), counted since it was opened.
    pub(crate) fn statistics(&self) -> io::Result<libc::xdp_statistics> {
        self.get_option(
            libc::XDP_STATISTICS,
            libc::xdp_statistics {
                rx_dropped: 0,
                rx_invalid_descs: 0,
                tx_invalid_descs: 0,
                rx_ring_full: 0,
                rx_fill_ring_empty_descs: 0,
                tx_ring_empty_descs: 0,
            },
        )
    }

    /// Whether the socket was bound in zero-copy mode (XDP_OPTIONS).
    pub(crate) fn zero_copy(&self) -> io::Result<bool> {
        let options = self.get_option(libc::XDP_OPTIONS, libc::xdp_options { flags: 0 })?;
        Ok(options.flags & libc::XDP_OPTIONS_ZEROCOPY != 0)
    }

    /// Binds the socket to receive queue `queue` of interface `ifindex`, with the
    /// `XDP_*` bind `flags`.
    pub(crate) fn bind(&self, ifindex: u32, queue: u32, flags: u16) -> io::Result<()> {
        let addr = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: flags,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: queue,
            sxdp_shared_umem_fd: 0,
        };
        let len = size_of::<libc::sockaddr_xdp>() as socklen_t;
        // SAFETY: `addr` is a fully initialised sockaddr_xdp of `len` bytes, borrowed for the
        // call; the kernel only reads it.
        let rc = unsafe {
            libc::bind(
                self.raw(),
                (&addr as *const libc::sockaddr_xdp).cast::<libc::sockaddr>(),
                len,
            )
        };
        check(rc).map(drop)
    }

    /// Asks the kernel to send what the TX ring holds: `sendto(fd, NULL, 0,
    /// MSG_DONTWAIT, NULL, 0)`.
    pub(crate) fn kick_tx(&self) -> io::Result<()> {
        // SAFETY: a null buffer of length 0 and a null address are never read; an AF_XDP
        // socket takes its frames from the TX ring.
        let rc = unsafe {
            libc::sendto(
                self.raw(),
                std::ptr::null(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null(),
                0,
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Wakes the driver up to fill the RX ring (when the fill ring asks for it):
    /// `recvfrom(fd, NULL, 0, MSG_DONTWAIT, NULL, NULL)`.
    pub(crate) fn wake_rx(&self) -> io::Result<()> {
        // SAFETY: a null buffer of length 0 is never written; null address pointers ask for
        // no address.
        let rc = unsafe {
            libc::recvfrom(
                self.raw(),
                std::ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Waits up to `timeout` until the RX ring has a frame (if `read`) or the TX ring
    /// room (if `write`), or the socket an error. An interrupted wait reports nothing ready.
    pub(crate) fn wait(&self, read: bool, write: bool, timeout: Duration) -> io::Result<Readiness> {
        wait_one(self.raw(), read, write, timeout)
    }
}

impl AsFd for XdpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// `ETHTOOL_GCHANNELS`: read the channel counts of an interface.
const ETHTOOL_GCHANNELS: u32 = 0x3c;
/// `SIOCETHTOOL`.
const SIOCETHTOOL: libc::c_ulong = 0x8946;

/// `struct ethtool_channels` (include/uapi/linux/ethtool.h).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct EthtoolChannels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}

/// How many receive queues interface `name` (in the calling thread's network namespace)
/// has in use: its combined channels plus its receive-only ones (ETHTOOL_GCHANNELS, what
/// `ethtool -l` shows under "Current hardware settings"). Fails with EOPNOTSUPP for a
/// driver that does not tell.
pub(crate) fn receive_queue_count(name: &str) -> io::Result<u32> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('\0') {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    let mut ifr_name = [0 as libc::c_char; libc::IFNAMSIZ];
    for (out, byte) in ifr_name.iter_mut().zip(name.as_bytes()) {
        *out = *byte as libc::c_char;
    }
    let mut channels = EthtoolChannels {
        cmd: ETHTOOL_GCHANNELS,
        ..EthtoolChannels::default()
    };
    let mut req = libc::ifreq {
        ifr_name,
        ifr_ifru: libc::__c_anonymous_ifr_ifru {
            ifru_data: (&mut channels as *mut EthtoolChannels).cast::<libc::c_char>(),
        },
    };
    // SAFETY: socket takes three integers and returns a new descriptor or -1.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket, is open, and nothing else owns it.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `req` is a live, initialised ifreq naming the interface (NUL-terminated: the
    // name is shorter than IFNAMSIZ), whose `ifru_data` points at `channels`, a live
    // `struct ethtool_channels` borrowed mutably for the call: SIOCETHTOOL reads the
    // command from it and writes the counts back, nothing beyond it.
    let rc = unsafe {
        libc::ioctl(
            socket.as_raw_fd(),
            SIOCETHTOOL as libc::Ioctl,
            &mut req as *mut libc::ifreq,
        )
    };
    check(rc)?;
    Ok(channels.combined_count.saturating_add(channels.rx_count))
}

/// The result of a system call returning -1 on error.
fn check(rc: c_int) -> io::Result<c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_structure_has_the_kernel_layout() {
        assert_eq!(size_of::<EthtoolChannels>(), 36);
    }

    #[test]
    fn bad_names_are_refused_before_the_call() {
        for name in ["", "a_name_of_sixteen", "a\0b"] {
            assert_eq!(
                receive_queue_count(name).unwrap_err().kind(),
                io::ErrorKind::InvalidInput,
                "{name:?}"
            );
        }
        assert_eq!(
            receive_queue_count("lbx-nosuch0")
                .unwrap_err()
                .raw_os_error(),
            Some(libc::ENODEV)
        );
    }
}

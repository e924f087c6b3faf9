//! TUN devices: a network interface whose packets are read and written by a process.
//!
//! What a process writes to a [`TunDevice`] the kernel receives on the interface, as if it
//! had arrived from a wire: a packet for one of the host's addresses is delivered locally.
//! What the kernel routes out of the interface, the process reads. Each read or write is one
//! bare IP packet (IFF_NO_PI); the kernel takes the family from the version nibble.
//!
//! The interface has carrier only while some process holds it open, so `ip link show`
//! saying NO-CARRIER on an up TUN device means nobody serves it.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use crate::sys;

/// An open TUN device, detached (and, if not persistent, deleted) on drop.
#[derive(Debug)]
pub struct TunDevice {
    file: File,
    name: String,
}

impl TunDevice {
    /// Attaches to the TUN device `name`, or creates a non-persistent one of that name
    /// (which disappears on drop) if there is none. A persistent device made by `ip tuntap
    /// add dev NAME mode tun` stays, with its addresses, when this is dropped. Needs
    /// CAP_NET_ADMIN; fails with EBUSY if another process has the device open.
    pub fn open(name: &str) -> io::Result<TunDevice> {
        let (file, name) = sys::tun::attach(name)?;
        Ok(TunDevice { file, name })
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Hands one IP packet (IPv4 or IPv6, no link header) to the kernel, as received on
    /// this interface. The kernel refuses (EINVAL) a packet whose first nibble is neither 4
    /// nor 6.
    pub fn write_packet(&self, packet: &[u8]) -> io::Result<()> {
        let written = (&self.file).write(packet)?;
        if written == packet.len() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "TUN device took part of a packet",
            ))
        }
    }

    /// Reads one IP packet the kernel sent out of this interface into `buf`, waiting for
    /// one. Returns its length (a longer packet is cut to `buf.len()`).
    pub fn read_packet(&self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.file).read(buf)
    }
}

impl AsFd for TunDevice {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

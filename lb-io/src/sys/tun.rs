//! Attaching to a TUN device: `/dev/net/tun` and the TUNSETIFF ioctl.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

/// The clone device every TUN descriptor is opened from.
const CLONE_DEVICE: &str = "/dev/net/tun";

/// Opens `/dev/net/tun` and attaches the descriptor to the TUN device `name` (IFF_TUN,
/// IFF_NO_PI: each read or write is one bare IP packet), creating a non-persistent device
/// of that name if none exists. Returns the open descriptor as a file and the name the
/// kernel gave the device.
pub(crate) fn attach(name: &str) -> io::Result<(File, String)> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad interface name (1 to 15 bytes, no NUL)",
        ));
    }
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(CLONE_DEVICE)?;
    let mut ifr_name = [0 as libc::c_char; libc::IFNAMSIZ];
    for (out, byte) in ifr_name.iter_mut().zip(name.as_bytes()) {
        *out = *byte as libc::c_char;
    }
    let flags = libc::IFF_TUN | libc::IFF_NO_PI;
    let mut request = libc::ifreq {
        ifr_name,
        ifr_ifru: libc::__c_anonymous_ifr_ifru {
            ifru_flags: flags as libc::c_short,
        },
    };
    // SAFETY: `request` is a live, initialised ifreq (name NUL-terminated: at most 15 bytes
    // were copied into 16 zeroed ones) borrowed mutably for the call; TUNSETIFF reads it and
    // writes the device's name back into it, within its size. The descriptor is open
    // because `file` is borrowed.
    let rc = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            libc::TUNSETIFF,
            &mut request as *mut libc::ifreq,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    let given: Vec<u8> = request
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Ok((file, String::from_utf8_lossy(&given).into_owned()))
}

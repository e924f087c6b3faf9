//! The XDP program on an interface: its XSKMAP, the program, and the BPF link that keeps
//! it attached.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use super::config::{AttachMode, XdpMode};
use super::program;
use crate::link::LinkError;
use crate::sys::bpf;
use crate::sys::packet_socket;
use crate::sys::xdp_socket::XdpSocket;

/// `XDP_FLAGS_SKB_MODE`.
const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
/// `XDP_FLAGS_DRV_MODE`.
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
/// Room for the verifier's explanation of a refusal.
const VERIFIER_LOG_LEN: usize = 16 * 1024;

/// The XDP program of one interface, redirecting the frames of each receive queue to the
/// AF_XDP socket registered for it (frames of a queue without one go to the kernel).
///
/// Attached through a BPF link: it is detached when this is dropped (when the last
/// [`XdpLink`](super::XdpLink) sharing it through an `Arc` is), and also when the process
/// dies, so a crashed director leaves no program behind.
#[derive(Debug)]
pub struct XdpProgram {
    // Field order is drop order: detach, then close the program, then the map. The BPF
    // link and the program are only held open.
    _link: OwnedFd,
    _prog: OwnedFd,
    map: OwnedFd,
    interface: String,
    ifindex: u32,
    queues: u32,
    mode: AttachMode,
}

impl XdpProgram {
    /// Attaches a program to the interface named `interface` (in the calling thread's
    /// network namespace) where `mode` says, with room for sockets on queues `0..queues`.
    /// Fails if another XDP program is attached there. Needs CAP_NET_ADMIN and CAP_BPF
    /// (or CAP_SYS_ADMIN).
    pub fn attach(interface: &str, mode: XdpMode, queues: u32) -> Result<XdpProgram, LinkError> {
        if queues == 0 {
            return Err(LinkError::InvalidConfig(
                "an XDP program needs at least one queue",
            ));
        }
        let ifindex = interface_index(interface)?;
        let map = bpf::create_map_u32(bpf::BPF_MAP_TYPE_XSKMAP, queues, "lb_xsks")
            .map_err(|e| LinkError::io("bpf(BPF_MAP_CREATE, XSKMAP)", e))?;
        let prog = load(map.as_raw_fd())?;
        let (link, mode) = match mode {
            XdpMode::Native => (
                attach_in(&prog, ifindex, XDP_FLAGS_DRV_MODE)?,
                AttachMode::Native,
            ),
            XdpMode::Generic => (
                attach_in(&prog, ifindex, XDP_FLAGS_SKB_MODE)?,
                AttachMode::Generic,
            ),
            XdpMode::Auto => match attach_in(&prog, ifindex, XDP_FLAGS_DRV_MODE) {
                Ok(link) => (link, AttachMode::Native),
                Err(LinkError::Io { source, .. }) if driver_cannot(&source) => (
                    attach_in(&prog, ifindex, XDP_FLAGS_SKB_MODE)?,
                    AttachMode::Generic,
                ),
                Err(e) => return Err(e),
            },
        };
        Ok(XdpProgram {
            _link: link,
            _prog: prog,
            map,
            interface: interface.to_string(),
            ifindex,
            queues,
            mode,
        })
    }

    /// The interface's name.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The interface's index.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The number of queues sockets can be registered for.
    pub fn queues(&self) -> u32 {
        self.queues
    }

    /// Where the program was attached.
    pub fn mode(&self) -> AttachMode {
        self.mode
    }

    /// Sends the frames of `queue` to `socket` from now on.
    pub(super) fn register(&self, queue: u32, socket: &XdpSocket) -> Result<(), LinkError> {
        let fd = u32::try_from(socket.as_fd().as_raw_fd())
            .map_err(|_| LinkError::InvalidConfig("socket descriptor out of range"))?;
        bpf::map_update_u32(self.map.as_fd(), queue, fd)
            .map_err(|e| LinkError::io("bpf(BPF_MAP_UPDATE_ELEM, XSKMAP)", e))
    }

    /// Sends the frames of `queue` to the kernel again.
    pub(super) fn unregister(&self, queue: u32) {
        // The kernel also removes a socket from every map when it is closed: failing here
        // (ENOENT) changes nothing.
        let _ = bpf::map_delete_u32(self.map.as_fd(), queue);
    }
}

/// Loads the redirect program for the map of descriptor `map_fd`; on refusal, loads it
/// again with the verifier's log to say why.
fn load(map_fd: i32) -> Result<OwnedFd, LinkError> {
    let insns = program::redirect_to_xsk_map(map_fd);
    let name = "lb_xsk_redirect";
    match bpf::load_program(bpf::BPF_PROG_TYPE_XDP, &insns, program::LICENSE, name, None) {
        Ok(fd) => Ok(fd),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EACCES)) => {
            let mut log = vec![0u8; VERIFIER_LOG_LEN];
            let again = bpf::load_program(
                bpf::BPF_PROG_TYPE_XDP,
                &insns,
                program::LICENSE,
                name,
                Some(&mut log),
            );
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]).trim().to_string();
            match again {
                Ok(fd) => Ok(fd),
                Err(e) => Err(LinkError::io(
                    "bpf(BPF_PROG_LOAD)",
                    io::Error::new(e.kind(), format!("{e}; verifier: {text}")),
                )),
            }
        }
        Err(e) => Err(LinkError::io("bpf(BPF_PROG_LOAD)", e)),
    }
}

fn attach_in(prog: &OwnedFd, ifindex: u32, flags: u32) -> Result<OwnedFd, LinkError> {
    let op = if flags == XDP_FLAGS_DRV_MODE {
        "bpf(BPF_LINK_CREATE, XDP native)"
    } else {
        "bpf(BPF_LINK_CREATE, XDP generic)"
    };
    bpf::create_link(prog.as_fd(), ifindex, bpf::BPF_XDP, flags).map_err(|e| LinkError::io(op, e))
}

/// Whether a native attach failed because the driver cannot run XDP (rather than because
/// a program is there already, or we may not).
fn driver_cannot(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EOPNOTSUPP | libc::EINVAL | libc::ERANGE)
    )
}

/// The index of interface `name`.
pub(super) fn interface_index(name: &str) -> Result<u32, LinkError> {
    packet_socket::interface_index(name).map_err(|e| match e.raw_os_error() {
        Some(libc::ENODEV) | Some(libc::ENXIO) => LinkError::NoSuchInterface(name.to_string()),
        _ if e.kind() == io::ErrorKind::InvalidInput => {
            LinkError::NoSuchInterface(name.to_string())
        }
        _ => LinkError::io("if_nametoindex", e),
    })
}

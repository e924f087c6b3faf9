//! The XDP program on an interface: its maps (the XSKMAP, and the host's addresses when it
//! steers), the program, and the BPF link that keeps it attached.

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard};

use super::config::{AttachMode, XdpMode, XdpSteering};
use super::program::{self, SteeringMaps};
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
/// The most host addresses of each family the steering program knows.
pub const MAX_LOCAL_ADDRESSES: u32 = 1024;
/// The value stored for each host address (the program only asks whether it is there).
const PRESENT: [u8; 1] = [1];

/// The maps of the host's addresses, and what they hold.
#[derive(Debug)]
struct LocalMaps {
    v4: bpf::Map,
    v6: bpf::Map,
    /// The addresses in the maps, sorted.
    held: Mutex<Vec<IpAddr>>,
}

impl LocalMaps {
    fn create() -> Result<LocalMaps, LinkError> {
        let create = |key_size, name| {
            bpf::Map::create(
                bpf::BPF_MAP_TYPE_HASH,
                key_size,
                1,
                MAX_LOCAL_ADDRESSES,
                name,
            )
            .map_err(|e| LinkError::io("bpf(BPF_MAP_CREATE, HASH)", e))
        };
        Ok(LocalMaps {
            v4: create(4, "lb_local4")?,
            v6: create(16, "lb_local6")?,
            held: Mutex::new(Vec::new()),
        })
    }

    fn held(&self) -> MutexGuard<'_, Vec<IpAddr>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, addr: IpAddr) -> io::Result<()> {
        match addr {
            IpAddr::V4(a) => self.v4.update(&a.octets(), &PRESENT),
            IpAddr::V6(a) => self.v6.update(&a.octets(), &PRESENT),
        }
    }

    fn remove(&self, addr: IpAddr) -> io::Result<()> {
        match addr {
            IpAddr::V4(a) => self.v4.delete(&a.octets()).map(drop),
            IpAddr::V6(a) => self.v6.delete(&a.octets()).map(drop),
        }
    }

    fn contains(&self, addr: IpAddr) -> io::Result<bool> {
        let mut value = [0u8; 1];
        match addr {
            IpAddr::V4(a) => self.v4.lookup(&a.octets(), &mut value),
            IpAddr::V6(a) => self.v6.lookup(&a.octets(), &mut value),
        }
    }
}

/// The XDP program of one interface, redirecting the frames of each receive queue to the
/// AF_XDP socket registered for it (frames of a queue without one go to the kernel) —
/// every frame, or only those not for the host ([`XdpSteering`]).
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
    map: bpf::Map,
    local: Option<LocalMaps>,
    interface: String,
    ifindex: u32,
    queues: u32,
    mode: AttachMode,
}

impl XdpProgram {
    /// Attaches a program to the interface named `interface` (in the calling thread's
    /// network namespace) where `mode` says, with room for sockets on queues `0..queues`.
    /// Fails if another XDP program is attached there. Needs CAP_NET_ADMIN and CAP_BPF
    /// (or CAP_SYS_ADMIN). Every frame of those queues goes to their sockets
    /// ([`XdpSteering::Everything`]).
    pub fn attach(interface: &str, mode: XdpMode, queues: u32) -> Result<XdpProgram, LinkError> {
        XdpProgram::attach_steering(interface, mode, queues, XdpSteering::Everything)
    }

    /// [`XdpProgram::attach`] with the program `steering` says. With
    /// [`XdpSteering::NotForTheHost`] the program starts knowing no host address (every
    /// unicast IP frame is redirected) until [`XdpProgram::set_local_addresses`] gives
    /// them.
    pub fn attach_steering(
        interface: &str,
        mode: XdpMode,
        queues: u32,
        steering: XdpSteering,
    ) -> Result<XdpProgram, LinkError> {
        if queues == 0 {
            return Err(LinkError::InvalidConfig(
                "an XDP program needs at least one queue",
            ));
        }
        let ifindex = interface_index(interface)?;
        let map = bpf::Map::create(bpf::BPF_MAP_TYPE_XSKMAP, 4, 4, queues, "lb_xsks")
            .map_err(|e| LinkError::io("bpf(BPF_MAP_CREATE, XSKMAP)", e))?;
        let (prog, local) = match steering {
            XdpSteering::Everything => (
                load(&program::redirect_to_xsk_map(map.fd().as_raw_fd()))?,
                None,
            ),
            XdpSteering::NotForTheHost => {
                let local = LocalMaps::create()?;
                let insns = program::redirect_not_for_the_host(SteeringMaps {
                    xsks: map.fd().as_raw_fd(),
                    local4: local.v4.fd().as_raw_fd(),
                    local6: local.v6.fd().as_raw_fd(),
                })
                .ok_or(LinkError::InvalidConfig("the XDP program did not assemble"))?;
                (load(&insns)?, Some(local))
            }
        };
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
            local,
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

    /// Which frames the program redirects.
    pub fn steering(&self) -> XdpSteering {
        match self.local {
            Some(_) => XdpSteering::NotForTheHost,
            None => XdpSteering::Everything,
        }
    }

    /// Makes `addrs` the host's addresses the program leaves to the kernel (a program of
    /// [`XdpSteering::NotForTheHost`]): adds those it did not know, forgets the others.
    /// Safe to call while frames flow (each address is one map update). Errors:
    /// [`LinkError::InvalidConfig`] for a program that steers [`XdpSteering::Everything`]
    /// or more than [`MAX_LOCAL_ADDRESSES`] of a family; a failed map update (the maps
    /// then hold what was done before it).
    pub fn set_local_addresses(&self, addrs: &[IpAddr]) -> Result<(), LinkError> {
        let Some(local) = &self.local else {
            return Err(LinkError::InvalidConfig(
                "this XDP program redirects every frame: it has no host addresses",
            ));
        };
        let mut wanted = addrs.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let v4 = wanted.iter().filter(|a| a.is_ipv4()).count();
        if v4 > MAX_LOCAL_ADDRESSES as usize || wanted.len() - v4 > MAX_LOCAL_ADDRESSES as usize {
            return Err(LinkError::InvalidConfig("too many host addresses"));
        }
        let mut held = local.held();
        for gone in held.iter().filter(|a| wanted.binary_search(a).is_err()) {
            local
                .remove(*gone)
                .map_err(|e| LinkError::io("bpf(BPF_MAP_DELETE_ELEM, HASH)", e))?;
        }
        held.retain(|a| wanted.binary_search(a).is_ok());
        for new in &wanted {
            if held.binary_search(new).is_err() {
                local
                    .insert(*new)
                    .map_err(|e| LinkError::io("bpf(BPF_MAP_UPDATE_ELEM, HASH)", e))?;
                if let Err(at) = held.binary_search(new) {
                    held.insert(at, *new);
                }
            }
        }
        Ok(())
    }

    /// The host's addresses the program leaves to the kernel, sorted (none for a program
    /// that redirects everything).
    pub fn local_addresses(&self) -> Vec<IpAddr> {
        self.local
            .as_ref()
            .map(|l| l.held().clone())
            .unwrap_or_default()
    }

    /// Whether the program's map holds `addr` as a host address (asked of the kernel).
    pub fn knows_local_address(&self, addr: IpAddr) -> Result<bool, LinkError> {
        match &self.local {
            Some(local) => local
                .contains(addr)
                .map_err(|e| LinkError::io("bpf(BPF_MAP_LOOKUP_ELEM, HASH)", e)),
            None => Ok(false),
        }
    }

    /// Sends the frames of `queue` to `socket` from now on.
    pub(super) fn register(&self, queue: u32, socket: &XdpSocket) -> Result<(), LinkError> {
        let fd = u32::try_from(socket.as_fd().as_raw_fd())
            .map_err(|_| LinkError::InvalidConfig("socket descriptor out of range"))?;
        self.map
            .update(&queue.to_ne_bytes(), &fd.to_ne_bytes())
            .map_err(|e| LinkError::io("bpf(BPF_MAP_UPDATE_ELEM, XSKMAP)", e))
    }

    /// Sends the frames of `queue` to the kernel again.
    pub(super) fn unregister(&self, queue: u32) {
        // The kernel also removes a socket from every map when it is closed: failing here
        // (ENOENT) changes nothing.
        let _ = self.map.delete(&queue.to_ne_bytes());
    }
}

/// Loads the XDP program `insns`; on refusal, loads it again with the verifier's log to
/// say why.
fn load(insns: &[[u8; 8]]) -> Result<OwnedFd, LinkError> {
    let name = "lb_xsk_redirect";
    match bpf::load_program(bpf::BPF_PROG_TYPE_XDP, insns, program::LICENSE, name, None) {
        Ok(fd) => Ok(fd),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EACCES)) => {
            let mut log = vec![0u8; VERIFIER_LOG_LEN];
            let again = bpf::load_program(
                bpf::BPF_PROG_TYPE_XDP,
                insns,
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

/// How many receive queues interface `name` (in the calling thread's network namespace)
/// has in use: its combined plus receive-only channels, as `ethtool -l` shows them. An
/// AF_XDP socket can be bound to queues `0..` that. None when the driver does not say
/// (ETHTOOL_GCHANNELS unsupported) or there is no such interface.
pub fn receive_queues(name: &str) -> Option<u32> {
    crate::sys::xdp_socket::receive_queue_count(name).ok()
}

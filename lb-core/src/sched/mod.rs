//! The schedulers of IPVS (spec §3), one file each, behind one trait.
//!
//! Every scheduler chooses exactly the destination the kernel's `ip_vs_<name>.c` would choose
//! for the same list, counters and packet — list order (newest first), tie-breaks, weight 0,
//! OVERLOAD and its reaction to destination changes included.

use std::fmt;
use std::net::IpAddr;

use crate::dest::Destination;
use crate::error::Error;
use crate::service::{DestList, Protocol};
use crate::time::Time;

mod dh;
mod fo;
mod lblc;
mod lblcr;
mod lc;
mod load;
pub mod mh;
mod nq;
mod ovf;
mod rr;
mod sed;
mod sh;
mod twos;
mod wlc;
mod wrr;

pub use dh::Dh;
pub use fo::Fo;
pub use lblc::Lblc;
pub use lblcr::Lblcr;
pub use lc::Lc;
pub use mh::Mh;
pub use nq::Nq;
pub use ovf::Ovf;
pub use rr::Rr;
pub use sed::Sed;
pub use sh::Sh;
pub use twos::Twos;
pub use wlc::Wlc;
pub use wrr::Wrr;

/// The names of every scheduler, in the order ipvsadm's help lists them (twos last).
pub const NAMES: &[&str] = &[
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

/// Scheduler flags of a service (`-b`): the kernel's SCHED1..SCHED3 service flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SchedFlags(pub u8);

impl SchedFlags {
    /// `flag-1` (IP_VS_SVC_F_SCHED1); `sh-fallback`, `mh-fallback`.
    pub const FLAG1: SchedFlags = SchedFlags(1);
    /// `flag-2` (IP_VS_SVC_F_SCHED2); `sh-port`, `mh-port`.
    pub const FLAG2: SchedFlags = SchedFlags(2);
    /// `flag-3` (IP_VS_SVC_F_SCHED3).
    pub const FLAG3: SchedFlags = SchedFlags(4);
    /// sh/mh: fall back to another destination when the hashed one is unavailable.
    pub const FALLBACK: SchedFlags = SchedFlags::FLAG1;
    /// sh/mh: hash the client port too.
    pub const PORT: SchedFlags = SchedFlags::FLAG2;

    /// True if every bit of `other` is set.
    pub fn contains(self, other: SchedFlags) -> bool {
        self.0 & other.0 == other.0
    }
    /// True when no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::BitOr for SchedFlags {
    type Output = SchedFlags;
    fn bitor(self, o: SchedFlags) -> SchedFlags {
        SchedFlags(self.0 | o.0)
    }
}

/// What a scheduler sees of the packet that opens a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedInput {
    /// Protocol of the packet.
    pub proto: Protocol,
    /// Client (source) address.
    pub caddr: IpAddr,
    /// Client (source) port.
    pub cport: u16,
    /// Packet's destination address (the VIP, or for fwmark services whatever was marked).
    pub vaddr: IpAddr,
    /// Packet's destination port.
    pub vport: u16,
    /// The service's scheduler flags ([`crate::Service::schedule`] fills them in).
    pub flags: SchedFlags,
    /// Current time (lblc/lblcr caches).
    pub now: Time,
}

impl SchedInput {
    /// A TCP packet from `client` to `vip`, at time zero, without flags.
    pub fn tcp(client: (IpAddr, u16), vip: (IpAddr, u16)) -> Self {
        SchedInput {
            proto: Protocol::Tcp,
            caddr: client.0,
            cport: client.1,
            vaddr: vip.0,
            vport: vip.1,
            flags: SchedFlags::default(),
            now: Time::ZERO,
        }
    }
}

/// Director-wide scheduler settings (the kernel's Kconfig values and sysctls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedParams {
    /// Maglev table size index 8..=17 (`IP_VS_MH_TAB_INDEX`): 12 gives 4093 slots.
    pub mh_table_index: u8,
    /// Seed of the twos scheduler's random numbers (the kernel's `get_random_u32`).
    pub seed: u64,
    /// `lblc_expiration` in seconds (default 86400).
    pub lblc_expiration: u32,
    /// `lblcr_expiration` in seconds (default 86400).
    pub lblcr_expiration: u32,
}

impl Default for SchedParams {
    fn default() -> Self {
        SchedParams {
            mh_table_index: 12,
            seed: 0x6c62_5f74_776f_7321,
            lblc_expiration: 86400,
            lblcr_expiration: 86400,
        }
    }
}

/// A scheduling algorithm with the state it keeps between picks.
///
/// Positions are list positions in the [`DestList`] passed in (0 = head, newest). The list
/// passed to every call is the service's current one; the hooks are called after the list
/// changed, mirroring the kernel's `add_dest`, `del_dest` and `upd_dest` callbacks, plus
/// `load_changed` whenever a destination's counters or OVERLOAD flag moved (for the indexed
/// least-connection schedulers).
pub trait Scheduler: Send + Sync + fmt::Debug {
    /// The scheduler's name (`rr`, `wlc`, …).
    fn name(&self) -> &'static str;
    /// Chooses a destination for a new connection, or `None` ("no destination available").
    fn schedule(&mut self, dests: &DestList, input: &SchedInput) -> Option<usize>;
    /// A destination was linked at `pos` (always the head).
    fn add_dest(&mut self, dests: &DestList, pos: usize) {
        let _ = (dests, pos);
    }
    /// `removed` was unlinked from position `old_pos`; `dests` no longer holds it.
    fn del_dest(&mut self, dests: &DestList, removed: &Destination, old_pos: usize) {
        let _ = (dests, removed, old_pos);
    }
    /// The destination at `pos` was edited (weight, thresholds, method).
    fn upd_dest(&mut self, dests: &DestList, pos: usize) {
        let _ = (dests, pos);
    }
    /// The counters or the OVERLOAD flag of the destination at `pos` changed.
    fn load_changed(&mut self, dests: &DestList, pos: usize) {
        let _ = (dests, pos);
    }
    /// Periodic housekeeping (lblc/lblcr cache expiry); call at least every 60 s of `now`.
    fn timer(&mut self, dests: &DestList, now: Time) {
        let _ = (dests, now);
    }
}

/// Creates the scheduler called `name` for a service whose list is `dests` (the kernel's
/// `init_service`).
pub fn new(
    name: &str,
    dests: &DestList,
    params: &SchedParams,
) -> Result<Box<dyn Scheduler>, Error> {
    Ok(match name {
        "rr" => Box::new(Rr::new(dests)),
        "wrr" => Box::new(Wrr::new(dests)),
        "lc" => Box::new(Lc::new(dests)),
        "wlc" => Box::new(Wlc::new(dests)),
        "sed" => Box::new(Sed::new(dests)),
        "nq" => Box::new(Nq::new(dests)),
        "fo" => Box::new(Fo::new(dests)),
        "ovf" => Box::new(Ovf::new(dests)),
        "twos" => Box::new(Twos::new(dests, params.seed)),
        "sh" => Box::new(Sh::new(dests)),
        "dh" => Box::new(Dh::new(dests)),
        "mh" => Box::new(Mh::new(dests, params.mh_table_index)?),
        "lblc" => Box::new(Lblc::new(dests, params.lblc_expiration)),
        "lblcr" => Box::new(Lblcr::new(dests, params.lblcr_expiration)),
        _ => {
            return Err(Error::UnknownScheduler {
                name: name.to_string(),
            })
        }
    })
}

/// True if `name` is a scheduler lb knows.
pub fn exists(name: &str) -> bool {
    NAMES.contains(&name)
}

/// True if the destination may receive new connections from a scheduler: weight > 0 and no
/// OVERLOAD (the common eligibility rule of spec §3).
#[inline]
pub fn eligible(d: &Destination) -> bool {
    d.weight() > 0 && !d.is_overloaded()
}

//! Neighbours: answering ARP and IPv6 neighbour solicitations for the addresses the director
//! owns (its VIPs, which no kernel interface holds), announcing them, and resolving next hops
//! with a neighbour cache of the director's own.
//!
//! - [`answer_arp`], [`gratuitous_arp`], [`arp_request`] ([`arp`](mod@arp));
//! - [`answer_ndp`], [`unsolicited_na`], [`neighbour_solicitation`] ([`ndp`]);
//! - [`NeighbourCache`] ([`cache`]);
//! - [`Neighbours`] ties them together for a receive loop.

pub mod arp;
pub mod cache;
pub mod error;
pub mod ndp;
pub mod owned;

pub use arp::{answer_arp, arp_request, gratuitous_arp, ArpReceived};
pub use cache::{NeighEvent, NeighParams, NeighState, NeighbourCache, Probe, Released, Resolution};
pub use error::NeighError;
pub use ndp::{answer_ndp, neighbour_solicitation, unsolicited_na, NdpReceived};
pub use owned::OwnedAddresses;

use std::net::IpAddr;

use lb_core::Time;

use crate::wire::VlanStack;

/// What [`Neighbours::handle_frame`] did with a frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Handled {
    /// The length of the answer written to the output buffer, if one was.
    pub reply_len: Option<usize>,
    /// Frames whose next hop this frame resolved.
    pub released: Option<Released>,
}

/// The owned addresses and the neighbour cache of one link.
#[derive(Debug, Clone, Default)]
pub struct Neighbours {
    /// The addresses answered for.
    pub owned: OwnedAddresses,
    /// The cache of next hops.
    pub cache: NeighbourCache,
}

impl Neighbours {
    /// No owned address, an empty cache with `params`.
    pub fn new(params: NeighParams) -> Neighbours {
        Neighbours {
            owned: OwnedAddresses::new(),
            cache: NeighbourCache::new(params),
        }
    }

    /// Handles an ARP or neighbour-discovery frame: answers it into `out` if it solicits an
    /// owned address, and learns from it. [`NeighError::NotNeighbour`] for other frames.
    pub fn handle_frame(
        &mut self,
        frame: &[u8],
        now: Time,
        out: &mut [u8],
    ) -> Result<Handled, NeighError> {
        match answer_arp(frame, &self.owned, out) {
            Ok(rx) => {
                return Ok(Handled {
                    reply_len: rx.reply_len,
                    released: self.cache.learn_arp(&rx, now),
                })
            }
            Err(NeighError::NotNeighbour) => {}
            Err(e) => return Err(e),
        }
        let rx = answer_ndp(frame, &self.owned, out)?;
        Ok(Handled {
            reply_len: rx.reply_len,
            released: self.cache.learn_ndp(&rx, now),
        })
    }

    /// Builds the announcement of an owned address coming up: a gratuitous ARP, or an
    /// unsolicited neighbour advertisement. [`NeighError::Invalid`] if `addr` is not owned.
    pub fn announce(
        &self,
        addr: IpAddr,
        vlans: VlanStack,
        out: &mut [u8],
    ) -> Result<usize, NeighError> {
        let mac = self
            .owned
            .mac_for(&addr)
            .ok_or(NeighError::Invalid("address not owned"))?;
        match addr {
            IpAddr::V4(ip) => gratuitous_arp(mac, ip, vlans, out),
            IpAddr::V6(ip) => unsolicited_na(mac, ip, self.owned.router, vlans, out),
        }
    }
}

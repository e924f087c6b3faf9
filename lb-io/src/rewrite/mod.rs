//! The packet rewrites of the forwarding methods (spec §7), the ICMP errors the director
//! answers with, and the relay of ICMP errors through NAT — all on Ethernet frames, with no
//! allocation per packet.
//!
//! - [`nat_in`] / [`nat_out`] rewrite a NAT request / reply in place ([`nat`]);
//! - [`decap::decapsulate`] takes the inner packet out of an IPIP / IPv6-in-IP packet, as
//!   a real server's tunnel device does ([`decap`]);
//! - [`direct_route`] forwards in place with a new Ethernet destination ([`dr`]);
//! - [`tunnel()`] encapsulates into a caller's buffer: IPIP, GUE or GRE, IPv4 or IPv6 outside
//!   either family ([`tunnel`](mod@tunnel));
//! - [`icmp::icmp_error`] builds the time-exceeded, fragmentation-needed / packet-too-big and
//!   port-unreachable answers ([`icmp`]);
//! - [`icmp_relay_to_client`] / [`icmp_relay_to_server`] translate ICMP errors about NAT
//!   connections, and [`icmp_embedded_flow`] reads the connection an ICMP error is about
//!   ([`icmp_relay`]).
//!
//! Every forwarding function runs the kernel's transmit preamble (spec §7.0): the TTL check
//! ([`RewriteError::TtlExceeded`]) and decrement, and the MTU check against the route MTU
//! given in [`Forwarding`] ([`RewriteError::TooBig`], [`RewriteError::NeedsFragmenting`]).
//! Inputs are small values a caller fills from the engine's verdict and its routing; outputs
//! are frame lengths. VLAN tags of the received frame are kept.

pub mod decap;
pub mod dr;
pub mod error;
pub(crate) mod frame;
pub mod icmp;
pub mod icmp_relay;
pub mod nat;
mod transport;
pub mod tunnel;

pub use dr::direct_route;
pub(crate) use dr::direct_route_parsed;
pub use error::RewriteError;
pub use icmp::{icmp_error, reply_forwarding, IcmpError, IcmpGenError, IcmpRefusal, IcmpSource};
pub use icmp_relay::{
    icmp_embedded_flow, icmp_relay_to_client, icmp_relay_to_server, EmbeddedFlow,
};
pub use nat::{nat_in, nat_out, NatTarget};
pub(crate) use nat::{nat_in_parsed, nat_out_parsed};
pub(crate) use tunnel::tunnel_parsed;
pub use tunnel::{ecn_encapsulate, gue_source_port, tunnel, IpIdCounter, Tunnel};

use crate::wire::EthernetAddress;

/// Where a forwarded frame goes next: its new Ethernet addresses and the MTU of the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Forwarding {
    /// Our Ethernet address on the outgoing link.
    pub src_mac: EthernetAddress,
    /// The next hop's Ethernet address (a real server's, or the clients' gateway).
    pub dst_mac: EthernetAddress,
    /// The MTU of the route to the next hop (for tunnels, before the outer headers).
    pub mtu: u32,
}

//! NAT / masquerading (spec §7.1): requests get the real server's address and port, replies
//! the virtual service's, in place.
//!
//! The transport checksum follows both the port and the address (which TCP and UDP cover
//! through their pseudo-header), as the kernel's `tcp_/udp_/sctp_{s,d}nat_handler` do:
//! - TCP: RFC 1624 incremental update;
//! - UDP: incremental update; a datagram sent without checksum (0) gets a full checksum, a
//!   computed 0 being sent as `0xFFFF` (quirk 21); the first fragment of a datagram without
//!   checksum keeps 0, since it cannot be summed whole;
//! - SCTP: its CRC32c does not cover addresses and is recomputed over the packet only when
//!   the port really changes; a first fragment whose port changes cannot be rewritten
//!   ([`RewriteError::NeedsReassembly`]);
//! - a non-first fragment has no transport header: only its address changes.
//!
//! Other transport protocols are refused ([`RewriteError::UnsupportedProtocol`]).

use std::net::IpAddr;

use super::error::RewriteError;
use super::frame::{set_macs, IpFrame};
use super::transport::{self, PortSide};
use super::Forwarding;

/// An address and port NAT writes into a packet: the real server's for a request
/// ([`nat_in`]), the virtual service's for a reply ([`nat_out`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NatTarget {
    /// The new address (same family as the packet).
    pub addr: IpAddr,
    /// The new port.
    pub port: u16,
}

/// Rewrites a client's request to a NAT real server, in place (`ip_vs_nat_xmit`): TTL / hop
/// limit − 1, then the MTU check, then destination address → `target.addr` and destination
/// port → `target.port` with the checksum rules of the [module](self), the IPv4 header
/// checksum updated, and the Ethernet addresses of `fwd`.
///
/// Returns the length of the frame to send (the Ethernet header and the IP packet, without
/// link padding). On [`RewriteError::TooBig`] the TTL has already been decremented, as in the
/// kernel, whose ICMP error quotes the packet at that point; on every other error the frame
/// is untouched.
pub fn nat_in(
    frame: &mut [u8],
    target: NatTarget,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    let ip = IpFrame::parse(frame)?;
    nat_in_parsed(frame, &ip, target, fwd)
}

/// [`nat_in`] of a frame already parsed into `ip` (by the packet path, which read it).
pub(crate) fn nat_in_parsed(
    frame: &mut [u8],
    ip: &IpFrame,
    target: NatTarget,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    let ip = *ip;
    ip.check_family(&target.addr)?;
    transport::check(frame, &ip, PortSide::Dst, target.port)?;
    ip.check_ttl(frame)?;
    ip.decrement_ttl(frame);
    ip.check_mtu(frame, fwd.mtu, false)?;
    let old = ip.dst_addr(frame);
    ip.set_dst_addr(frame, target.addr);
    transport::rewrite(frame, &ip, PortSide::Dst, target.port, &old, &target.addr);
    set_macs(frame, fwd.src_mac, fwd.dst_mac);
    Ok(ip.end())
}

/// Rewrites a NAT real server's reply to the client, in place (`handle_response` after the
/// kernel's `ip_forward`): the TTL check, the MTU check, TTL / hop limit − 1, then source
/// address → `vip.addr` and source port → `vip.port` with the same checksum rules as
/// [`nat_in`], and the Ethernet addresses of `fwd`.
///
/// The order is the forwarding path's, so on [`RewriteError::TooBig`] the frame is untouched
/// (the kernel's ICMP error then quotes the TTL as received); on every error the frame is
/// untouched.
pub fn nat_out(frame: &mut [u8], vip: NatTarget, fwd: &Forwarding) -> Result<usize, RewriteError> {
    let ip = IpFrame::parse(frame)?;
    nat_out_parsed(frame, &ip, vip, fwd)
}

/// [`nat_out`] of a frame already parsed into `ip` (by the packet path, which read it).
pub(crate) fn nat_out_parsed(
    frame: &mut [u8],
    ip: &IpFrame,
    vip: NatTarget,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    let ip = *ip;
    ip.check_family(&vip.addr)?;
    transport::check(frame, &ip, PortSide::Src, vip.port)?;
    ip.check_ttl(frame)?;
    ip.check_mtu(frame, fwd.mtu, false)?;
    ip.decrement_ttl(frame);
    let old = ip.src_addr(frame);
    ip.set_src_addr(frame, vip.addr);
    transport::rewrite(frame, &ip, PortSide::Src, vip.port, &old, &vip.addr);
    set_macs(frame, fwd.src_mac, fwd.dst_mac);
    Ok(ip.end())
}

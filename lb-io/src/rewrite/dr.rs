//! Direct routing (spec §7.2): the IP packet is forwarded unchanged but for its TTL; only the
//! Ethernet destination changes, to the real server's address.

use super::error::RewriteError;
use super::frame::{set_macs, IpFrame};
use super::Forwarding;

/// Forwards a frame to a direct-routing real server, in place (`ip_vs_dr_xmit`): TTL / hop
/// limit − 1 with the IPv4 header checksum updated incrementally, the MTU check, then the
/// Ethernet source and destination of `fwd` (ours, and the real server's). Any transport
/// protocol; ICMP errors relayed to a real server (spec §7.6) go through here too.
///
/// Returns the length of the frame to send (without link padding). On
/// [`RewriteError::TooBig`] the TTL has already been decremented, as in the kernel; on every
/// other error the frame is untouched.
pub fn direct_route(frame: &mut [u8], fwd: &Forwarding) -> Result<usize, RewriteError> {
    let ip = IpFrame::parse(frame)?;
    direct_route_parsed(frame, &ip, fwd)
}

/// [`direct_route`] of a frame already parsed into `ip` (by the packet path, which read it).
pub(crate) fn direct_route_parsed(
    frame: &mut [u8],
    ip: &IpFrame,
    fwd: &Forwarding,
) -> Result<usize, RewriteError> {
    ip.check_ttl(frame)?;
    ip.decrement_ttl(frame);
    if ip.ip_len as u64 > u64::from(fwd.mtu) {
        // Whether it is an ICMP error only matters to a packet too big.
        ip.check_mtu(frame, fwd.mtu, ip.is_related_icmp_error(frame))?;
    }
    set_macs(frame, fwd.src_mac, fwd.dst_mac);
    Ok(ip.end())
}

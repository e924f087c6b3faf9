//! The transport half of NAT: one port changes, and the checksum follows both the port and
//! the address changed in the IP header (which the TCP and UDP checksums cover through their
//! pseudo-header), as the kernel's `tcp_/udp_/sctp_{s,d}nat_handler` do it.
//!
//! - TCP: RFC 1624 incremental update for the address and the port.
//! - UDP: incremental update; a checksum of 0 ("none") is replaced by a full checksum of the
//!   datagram, and a computed 0 is sent as `0xFFFF` (spec §7.1, quirk 21). A first fragment
//!   cannot be summed whole: its 0 is left as it is (valid over IPv4).
//! - SCTP: the CRC32c does not cover addresses; it is recomputed over the whole packet only
//!   when the port really changes (the kernel's "only update csum if we really have to").
//! - A non-first fragment has no transport header: nothing to do.

use std::net::IpAddr;

use super::error::RewriteError;
use super::frame::{get_u16, put_u16, Fragment, IpFrame, IpVersion};
use crate::wire::checksum::{self, PseudoHeader};
use crate::wire::{sctp, tcp, udp, IpProtocol, SctpPacket, TcpPacket};

/// Which port NAT changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortSide {
    /// The source port (replies: real server port → virtual port).
    Src,
    /// The destination port (requests: virtual port → real server port).
    Dst,
}

impl PortSide {
    #[inline]
    fn offset(self) -> usize {
        match self {
            PortSide::Src => 0,
            PortSide::Dst => 2,
        }
    }
}

const TCP_CHECKSUM_AT: usize = 16;
const UDP_CHECKSUM_AT: usize = 6;

/// Checks, before anything is written, that the transport header NAT must edit is there and
/// that the rewrite can be done on this piece of datagram.
#[inline]
pub(crate) fn check(
    frame: &[u8],
    ip: &IpFrame,
    side: PortSide,
    new_port: u16,
) -> Result<(), RewriteError> {
    if ip.fragment == Fragment::Later {
        return Ok(());
    }
    let data = ip.transport(frame);
    match ip.protocol {
        IpProtocol::TCP => {
            TcpPacket::new_checked(data)?;
            Ok(())
        }
        IpProtocol::UDP if data.len() < udp::HEADER_LEN => {
            Err(crate::wire::Error::Truncated.into())
        }
        IpProtocol::UDP => Ok(()),
        IpProtocol::SCTP => {
            SctpPacket::new_checked(data)?;
            let port_changes = get_u16(data, side.offset()) != Some(new_port);
            if port_changes && ip.fragment == Fragment::First {
                Err(RewriteError::NeedsReassembly)
            } else {
                Ok(())
            }
        }
        other => Err(RewriteError::UnsupportedProtocol(other)),
    }
}

/// The pseudo-header of the packet as it is now in `frame`.
fn pseudo_header(frame: &[u8], ip: &IpFrame) -> Option<PseudoHeader> {
    match (ip.version, ip.src_addr(frame), ip.dst_addr(frame)) {
        (IpVersion::V4, IpAddr::V4(s), IpAddr::V4(d)) => Some(PseudoHeader::v4(s, d)),
        (IpVersion::V6, IpAddr::V6(s), IpAddr::V6(d)) => Some(PseudoHeader::v6(s, d)),
        _ => None,
    }
}

/// The checksum `hc` after the pseudo-header address `old` became `new`.
#[inline]
fn update_addr(hc: u16, old: &IpAddr, new: &IpAddr) -> u16 {
    match (old, new) {
        (IpAddr::V4(o), IpAddr::V4(n)) => checksum::update_ipv4_addr(hc, *o, *n),
        (IpAddr::V6(o), IpAddr::V6(n)) => checksum::update_ipv6_addr(hc, o, n),
        _ => hc,
    }
}

/// Sets the port and fixes the checksum, the IP header already holding the new address
/// (`old_addr` → `new_addr`). Call after [`check`] succeeded.
#[inline]
pub(crate) fn rewrite(
    frame: &mut [u8],
    ip: &IpFrame,
    side: PortSide,
    new_port: u16,
    old_addr: &IpAddr,
    new_addr: &IpAddr,
) {
    if ip.fragment == Fragment::Later {
        return;
    }
    if ip.protocol == IpProtocol::TCP {
        // `check` saw the whole header: fixed offsets in a 20-byte view.
        if let Some(h) = ip
            .transport_mut(frame)
            .first_chunk_mut::<{ tcp::MIN_HEADER_LEN }>()
        {
            let at = side.offset();
            let old_port = u16::from_be_bytes([h[at], h[at + 1]]);
            h[at..at + 2].copy_from_slice(&new_port.to_be_bytes());
            let hc = u16::from_be_bytes([h[TCP_CHECKSUM_AT], h[TCP_CHECKSUM_AT + 1]]);
            let hc = update_addr(hc, old_addr, new_addr);
            let hc = checksum::update_word(hc, old_port, new_port);
            h[TCP_CHECKSUM_AT..TCP_CHECKSUM_AT + 2].copy_from_slice(&hc.to_be_bytes());
        }
        return;
    }
    // The pseudo-header is only needed to checksum a UDP datagram sent without one.
    let pseudo = match ip.protocol {
        IpProtocol::UDP => pseudo_header(frame, ip),
        _ => None,
    };
    let fragment = ip.fragment;
    let data = ip.transport_mut(frame);
    let Some(old_port) = get_u16(data, side.offset()) else {
        return;
    };
    match ip.protocol {
        IpProtocol::UDP => {
            put_u16(data, side.offset(), new_port);
            let field = get_u16(data, UDP_CHECKSUM_AT).unwrap_or(0);
            let value = if field != 0 {
                let hc = update_addr(field, old_addr, new_addr);
                checksum::udp_checksum_field(checksum::update_word(hc, old_port, new_port))
            } else if fragment == Fragment::Whole {
                match pseudo {
                    Some(p) => checksum::udp_checksum_field(checksum::transport_checksum(
                        &p,
                        IpProtocol::UDP,
                        data,
                        UDP_CHECKSUM_AT,
                    )),
                    None => 0,
                }
            } else {
                0
            };
            put_u16(data, UDP_CHECKSUM_AT, value);
        }
        IpProtocol::SCTP if old_port != new_port && data.len() >= sctp::HEADER_LEN => {
            put_u16(data, side.offset(), new_port);
            SctpPacket::new_unchecked(data).fill_checksum();
        }
        _ => {}
    }
}

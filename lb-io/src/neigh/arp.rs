//! ARP (RFC 826) as Linux's `arp_process` answers it for the addresses it owns, and the ARP
//! frames the director sends: gratuitous ARP when a VIP comes up, requests to resolve a
//! next hop.
//!
//! Frames are not padded to Ethernet's 60-byte minimum: like the kernel, this leaves padding
//! to the driver.

use std::net::{IpAddr, Ipv4Addr};

use super::error::NeighError;
use super::owned::OwnedAddresses;
use crate::wire::{
    arp, ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
    VlanStack,
};

/// An ARP packet received, and the reply built for it if the director owns its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpReceived {
    /// The ARP packet.
    pub packet: ArpRepr,
    /// Whether the frame was sent to a unicast Ethernet address — ours, since a socket that
    /// is not promiscuous receives no other (the kernel's `PACKET_HOST`): only a unicast
    /// reply proves reachability.
    pub link_unicast: bool,
    /// Whether the packet is a request for an address the director owns.
    pub request_for_us: bool,
    /// The length of the reply written to the output buffer, if one was.
    pub reply_len: Option<usize>,
}

/// Writes an Ethernet header (with `vlans`) and an ARP packet into `out`; returns the frame
/// length.
fn emit_arp_frame(
    dst: EthernetAddress,
    src: EthernetAddress,
    vlans: VlanStack,
    packet: &ArpRepr,
    out: &mut [u8],
) -> Result<usize, NeighError> {
    let eth = EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        vlans,
        ethertype: EtherType::ARP,
    };
    let needed = eth.buffer_len() + arp::PACKET_LEN;
    let Some(out) = out.get_mut(..needed) else {
        return Err(NeighError::BufferTooSmall { needed });
    };
    eth.emit(&mut EthernetFrame::new_unchecked(&mut *out))?;
    packet.emit(&mut ArpPacket::new_unchecked(&mut out[eth.buffer_len()..]))?;
    Ok(needed)
}

/// Reads an ARP frame and, when it is a request for an address in `owned`, writes the reply
/// into `out`: from the owned address's Ethernet address, to the requester's hardware
/// address (as `arp_send(ARPOP_REPLY, …, sha, dev_addr, sha)`), in the request's VLAN. A
/// duplicate-address probe (sender address 0.0.0.0) is answered too, as Linux does, with
/// target address 0.0.0.0.
///
/// Fails with [`NeighError::NotNeighbour`] for a frame that is not ARP, and
/// [`NeighError::Invalid`] for a packet the kernel discards: target multicast or loopback,
/// sender multicast, an operation other than request or reply.
pub fn answer_arp(
    frame: &[u8],
    owned: &OwnedAddresses,
    out: &mut [u8],
) -> Result<ArpReceived, NeighError> {
    let eth = EthernetFrame::new_checked(frame)?;
    if eth.inner_ethertype() != EtherType::ARP {
        return Err(NeighError::NotNeighbour);
    }
    let packet = ArpRepr::parse(&ArpPacket::new_checked(eth.payload())?)?;
    if packet.operation != ArpOperation::REQUEST && packet.operation != ArpOperation::REPLY {
        return Err(NeighError::Invalid(
            "ARP operation neither request nor reply",
        ));
    }
    let tip = packet.target_protocol_addr;
    if tip.is_multicast() || tip.is_loopback() {
        return Err(NeighError::Invalid("ARP target multicast or loopback"));
    }
    if packet.sender_protocol_addr.is_multicast() {
        return Err(NeighError::Invalid("ARP sender multicast"));
    }
    let mac = owned.mac_for(&IpAddr::V4(tip));
    let request_for_us = packet.operation == ArpOperation::REQUEST && mac.is_some();
    let reply_len = match mac {
        Some(mac) if request_for_us => {
            let reply = ArpRepr {
                operation: ArpOperation::REPLY,
                sender_hardware_addr: mac,
                sender_protocol_addr: tip,
                target_hardware_addr: packet.sender_hardware_addr,
                target_protocol_addr: packet.sender_protocol_addr,
            };
            Some(emit_arp_frame(
                packet.sender_hardware_addr,
                mac,
                eth.vlans(),
                &reply,
                out,
            )?)
        }
        _ => None,
    };
    Ok(ArpReceived {
        packet,
        link_unicast: eth.dst_addr().is_unicast(),
        request_for_us,
        reply_len,
    })
}

/// Builds the gratuitous ARP Linux sends when an address comes up (`arp_send(ARPOP_REQUEST,
/// …, ip, dev, ip, NULL, dev_addr, NULL)`): a broadcast request from `mac` for `ip` itself,
/// target hardware address zero. Returns the frame length.
pub fn gratuitous_arp(
    mac: EthernetAddress,
    ip: Ipv4Addr,
    vlans: VlanStack,
    out: &mut [u8],
) -> Result<usize, NeighError> {
    let packet = ArpRepr {
        operation: ArpOperation::REQUEST,
        sender_hardware_addr: mac,
        sender_protocol_addr: ip,
        target_hardware_addr: EthernetAddress::UNSPECIFIED,
        target_protocol_addr: ip,
    };
    emit_arp_frame(EthernetAddress::BROADCAST, mac, vlans, &packet, out)
}

/// Builds an ARP request for `target` from our `src_mac` / `src_ip` (`arp_solicit`):
/// broadcast, or sent to `unicast_to` when re-probing a known neighbour; target hardware
/// address zero either way. Returns the frame length.
pub fn arp_request(
    src_mac: EthernetAddress,
    src_ip: Ipv4Addr,
    target: Ipv4Addr,
    unicast_to: Option<EthernetAddress>,
    vlans: VlanStack,
    out: &mut [u8],
) -> Result<usize, NeighError> {
    let packet = ArpRepr {
        operation: ArpOperation::REQUEST,
        sender_hardware_addr: src_mac,
        sender_protocol_addr: src_ip,
        target_hardware_addr: EthernetAddress::UNSPECIFIED,
        target_protocol_addr: target,
    };
    let dst = unicast_to.unwrap_or(EthernetAddress::BROADCAST);
    emit_arp_frame(dst, src_mac, vlans, &packet, out)
}

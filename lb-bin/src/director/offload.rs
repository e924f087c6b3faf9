//! Frames a local sender handed over with their transport checksum not yet computed.
//!
//! A sender in another network namespace of the same host (a veth peer) with transmit
//! checksum offload on leaves the TCP / UDP checksum to "the device": the field holds only
//! the pseudo-header's sum, and the kernel marks the frame TP_STATUS_CSUMNOTREADY. Sent on
//! as it is, the frame would arrive with a bad checksum; so the director completes the
//! checksum of such frames before it processes them (only those: the link tells which, see
//! [`RxChecksum::Partial`](lb_io::link::RxChecksum::Partial)).

use lb_io::wire::{
    EtherType, EthernetFrame, IpProtocol, Ipv4Packet, Ipv6Packet, PseudoHeader, SctpPacket,
    TcpPacket, UdpPacket,
};

/// Computes and stores the transport checksum of the TCP, UDP or SCTP packet in `frame`
/// (an Ethernet frame, VLAN tags allowed). Returns whether it did; fragments, other
/// protocols and malformed frames are left as they are.
pub fn complete_checksum(frame: &mut [u8]) -> bool {
    let Ok(eth) = EthernetFrame::new_checked(&frame[..]) else {
        return false;
    };
    let (ip_at, ethertype) = (eth.payload_offset(), eth.inner_ethertype());
    let Some(ip) = frame.get_mut(ip_at..) else {
        return false;
    };
    let (protocol, pseudo, start, end) = match ethertype {
        EtherType::IPV4 => {
            let Ok(packet) = Ipv4Packet::new_checked(&ip[..]) else {
                return false;
            };
            if packet.is_fragment() {
                return false;
            }
            (
                packet.protocol(),
                packet.pseudo_header(),
                packet.header_len(),
                usize::from(packet.total_len()),
            )
        }
        EtherType::IPV6 => {
            let Ok(packet) = Ipv6Packet::new_checked(&ip[..]) else {
                return false;
            };
            let Ok(transport) = packet.transport() else {
                return false;
            };
            if transport.fragment.is_some() {
                return false;
            }
            (
                transport.protocol,
                packet.pseudo_header(),
                transport.offset,
                40 + usize::from(packet.payload_len()),
            )
        }
        _ => return false,
    };
    match ip.get_mut(start..end) {
        Some(segment) => fill(protocol, &pseudo, segment),
        None => false,
    }
}

fn fill(protocol: IpProtocol, pseudo: &PseudoHeader, segment: &mut [u8]) -> bool {
    match protocol {
        IpProtocol::TCP => TcpPacket::new_checked(segment)
            .map(|mut p| p.fill_checksum(pseudo))
            .is_ok(),
        IpProtocol::UDP => UdpPacket::new_checked(segment)
            .map(|mut p| p.fill_checksum(pseudo))
            .is_ok(),
        IpProtocol::SCTP => SctpPacket::new_checked(segment)
            .map(|mut p| p.fill_checksum())
            .is_ok(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use lb_io::wire::checksum;

    const A: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const B: [u8; 6] = [2, 0, 0, 0, 0, 2];

    /// The frame as a sender with checksum offload hands it over: the field holds the
    /// (uncomplemented) pseudo-header sum.
    fn partial(mut frame: Vec<u8>, field_at: usize, pseudo_sum: u16) -> Vec<u8> {
        frame[field_at..field_at + 2].copy_from_slice(&pseudo_sum.to_be_bytes());
        frame
    }

    #[test]
    fn udp_and_tcp_over_both_families_are_completed() {
        let payload = b"hello, director";
        let mut v4udp = Vec::new();
        PacketBuilder::ethernet2(A, B)
            .ipv4([198, 18, 0, 1], [198, 18, 0, 10], 64)
            .udp(40000, 5353)
            .write(&mut v4udp, payload)
            .unwrap();
        let mut v6tcp = Vec::new();
        PacketBuilder::ethernet2(A, B)
            .ipv6(
                "2001:db8::1"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets(),
                "2001:db8::10"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets(),
                64,
            )
            .tcp(40000, 80, 7, 1000)
            .syn()
            .write(&mut v6tcp, payload)
            .unwrap();
        let pseudo4 = PseudoHeader::v4([198, 18, 0, 1].into(), [198, 18, 0, 10].into());
        let pseudo6 = PseudoHeader::v6(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::10".parse().unwrap(),
        );
        let udp_len = 8 + payload.len() as u32;
        let tcp_len = 20 + payload.len() as u32;
        for (good, field_at, sum) in [
            (&v4udp, 14 + 20 + 6, pseudo4.sum(IpProtocol::UDP, udp_len)),
            (&v6tcp, 14 + 40 + 16, pseudo6.sum(IpProtocol::TCP, tcp_len)),
        ] {
            let mut frame = partial(good.clone(), field_at, sum);
            assert_ne!(&frame, good);
            assert!(complete_checksum(&mut frame));
            assert_eq!(&frame, good);
        }
        // The sum used above is what a sender leaves: a complete checksum is its
        // complement over the whole segment.
        assert_ne!(checksum::sum(&v4udp[34..]), 0);
    }

    #[test]
    fn other_frames_are_left_alone() {
        let mut icmp = Vec::new();
        PacketBuilder::ethernet2(A, B)
            .ipv4([198, 18, 0, 1], [198, 18, 0, 10], 64)
            .icmpv4_echo_request(1, 1)
            .write(&mut icmp, b"ping")
            .unwrap();
        let before = icmp.clone();
        assert!(!complete_checksum(&mut icmp));
        assert_eq!(icmp, before);
        let mut short = icmp[..20].to_vec();
        assert!(!complete_checksum(&mut short));
        let mut arp = vec![0xff; 42];
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert!(!complete_checksum(&mut arp));
    }
}

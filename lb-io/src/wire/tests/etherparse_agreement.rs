//! Every checksum computed here equals etherparse's from-scratch computation on random
//! packets built with etherparse's builder, and so do incremental updates after random NAT
//! rewrites.

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{
    IpAuthHeader, IpFragOffset, IpHeaders, IpNumber, Ipv4Dscp, Ipv4Ecn, Ipv4Header, Ipv4Options,
    Ipv6Extensions, Ipv6FlowLabel, Ipv6FragmentHeader, Ipv6Header, Ipv6RawExtHeader,
    Ipv6RoutingExtensions, NetHeaders, PacketBuilder, PacketBuilderStep, PacketHeaders,
    TransportHeader, VlanId,
};

use super::rng::Rng;
use crate::wire::checksum;
use crate::wire::{
    EtherType, EthernetFrame, Icmpv4Packet, Icmpv6Packet, IpProtocol, Ipv4Packet, Ipv6Packet,
    PseudoHeader, TcpFlags, TcpPacket, UdpPacket,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum L4 {
    Tcp,
    Udp,
    Icmp,
}

const ALL_L4: [L4; 3] = [L4::Tcp, L4::Udp, L4::Icmp];

fn random_ipv6_extensions(rng: &mut Rng) -> Ipv6Extensions {
    let mut exts = Ipv6Extensions::default();
    let raw = |rng: &mut Rng| {
        let len = 6 + 8 * rng.below(3);
        Ipv6RawExtHeader::new_raw(IpNumber(0), &rng.bytes(len)).unwrap()
    };
    if rng.bool() {
        exts.hop_by_hop_options = Some(raw(rng));
    }
    if rng.bool() {
        exts.destination_options = Some(raw(rng));
    }
    if rng.bool() {
        let final_destination_options = if rng.bool() { Some(raw(rng)) } else { None };
        exts.routing = Some(Ipv6RoutingExtensions {
            routing: raw(rng),
            final_destination_options,
        });
    }
    if rng.bool() {
        // Offset 0 without more-fragments: etherparse still decodes the transport header.
        exts.fragment = Some(Ipv6FragmentHeader::new(
            IpNumber(0),
            IpFragOffset::ZERO,
            false,
            rng.u32(),
        ));
    }
    if rng.bool() {
        let icv_len = 4 * rng.below(4);
        let icv = rng.bytes(icv_len);
        exts.auth = Some(IpAuthHeader::new(IpNumber(0), rng.u32(), rng.u32(), &icv).unwrap());
    }
    exts
}

fn random_ip_headers(rng: &mut Rng, v6: bool) -> IpHeaders {
    if v6 {
        let header = Ipv6Header {
            traffic_class: rng.u8(),
            flow_label: Ipv6FlowLabel::try_new(rng.u32() & 0xF_FFFF).unwrap(),
            hop_limit: rng.u8(),
            source: rng.array(),
            destination: rng.array(),
            ..Default::default()
        };
        let exts = if rng.bool() {
            random_ipv6_extensions(rng)
        } else {
            Ipv6Extensions::default()
        };
        IpHeaders::Ipv6(header, exts)
    } else {
        let mut header = Ipv4Header {
            dscp: Ipv4Dscp::try_new(rng.u8() & 0x3F).unwrap(),
            ecn: Ipv4Ecn::try_new(rng.u8() & 0x03).unwrap(),
            identification: rng.u16(),
            dont_fragment: rng.bool(),
            time_to_live: rng.u8(),
            source: rng.array(),
            destination: rng.array(),
            ..Default::default()
        };
        let options_len = 4 * rng.below(11);
        header.options = Ipv4Options::try_from(&rng.bytes(options_len)[..]).unwrap();
        IpHeaders::Ipv4(header, Default::default())
    }
}

/// A random Ethernet frame (0, 1 or 2 VLAN tags) carrying `l4` over IPv4 or IPv6.
fn random_frame(rng: &mut Rng, v6: bool, l4: L4) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(rng.array(), rng.array());
    let ip = random_ip_headers(rng, v6);
    let vid = |rng: &mut Rng| VlanId::try_new(rng.u16() & 0x0FFF).unwrap();
    let step: PacketBuilderStep<IpHeaders> = match rng.below(3) {
        0 => eth.ip(ip),
        1 => eth.single_vlan(vid(rng)).ip(ip),
        _ => eth.double_vlan(vid(rng), vid(rng)).ip(ip),
    };
    let payload_len = rng.below(300);
    let payload = rng.bytes(payload_len);
    let mut out = Vec::new();
    match l4 {
        L4::Tcp => {
            let mut tcp = step.tcp(rng.u16(), rng.u16(), rng.u32(), rng.u16());
            if rng.bool() {
                tcp = tcp.syn();
            }
            if rng.bool() {
                tcp = tcp.ack(rng.u32());
            }
            if rng.bool() {
                tcp = tcp.fin();
            }
            if rng.bool() {
                let options_len = 4 * rng.below(11);
                tcp = tcp.options_raw(&rng.bytes(options_len)).unwrap();
            }
            tcp.write(&mut out, &payload).unwrap();
        }
        L4::Udp => step
            .udp(rng.u16(), rng.u16())
            .write(&mut out, &payload)
            .unwrap(),
        L4::Icmp if v6 => {
            let msg_type = [1u8, 2, 3, 4, 128, 129][rng.below(6)];
            step.icmpv6_raw(msg_type, rng.u8(), rng.array())
                .write(&mut out, &payload)
                .unwrap();
        }
        L4::Icmp => {
            let msg_type = [0u8, 3, 4, 8, 11, 12][rng.below(6)];
            step.icmpv4_raw(msg_type, rng.u8(), rng.array())
                .write(&mut out, &payload)
                .unwrap();
        }
    }
    out
}

/// Where our views find the layers of a frame.
#[derive(Debug, Clone, Copy)]
struct Layers {
    l3: usize,
    l4: usize,
    end: usize,
    pseudo: PseudoHeader,
    protocol: IpProtocol,
}

fn locate(frame: &[u8]) -> Layers {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    let l3 = eth.payload_offset();
    match eth.inner_ethertype() {
        EtherType::IPV4 => {
            let ip = Ipv4Packet::new_checked(&frame[l3..]).unwrap();
            Layers {
                l3,
                l4: l3 + ip.header_len(),
                end: l3 + usize::from(ip.total_len()),
                pseudo: ip.pseudo_header(),
                protocol: ip.protocol(),
            }
        }
        EtherType::IPV6 => {
            let ip = Ipv6Packet::new_checked(&frame[l3..]).unwrap();
            let t = ip.transport().unwrap();
            Layers {
                l3,
                l4: l3 + t.offset,
                end: l3 + 40 + usize::from(ip.payload_len()),
                pseudo: ip.pseudo_header(),
                protocol: t.protocol,
            }
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// The ICMP header fields as etherparse's "unknown type" (which keeps all eight header bytes:
/// a decoded type may drop unused ones) and the message body.
fn raw_icmp(frame: &[u8]) -> (u8, u8, [u8; 4], &[u8]) {
    let l4 = locate(frame).l4;
    let end = locate(frame).end;
    let h = &frame[l4..l4 + 8];
    (h[0], h[1], [h[4], h[5], h[6], h[7]], &frame[l4 + 8..end])
}

/// The transport checksum etherparse computes from scratch for a frame, and the IPv4 header
/// checksum if it is IPv4.
fn etherparse_checksums(frame: &[u8]) -> (u16, Option<u16>) {
    let headers = PacketHeaders::from_ethernet_slice(frame).unwrap();
    let payload = headers.payload.slice();
    match (headers.net.unwrap(), headers.transport.unwrap()) {
        (NetHeaders::Ipv4(ip, _), transport) => {
            let l4 = match transport {
                TransportHeader::Tcp(h) => h.calc_checksum_ipv4(&ip, payload).unwrap(),
                TransportHeader::Udp(h) => h.calc_checksum_ipv4(&ip, payload).unwrap(),
                TransportHeader::Icmpv4(_) => {
                    let (type_u8, code_u8, bytes5to8, body) = raw_icmp(frame);
                    etherparse::Icmpv4Type::Unknown {
                        type_u8,
                        code_u8,
                        bytes5to8,
                    }
                    .calc_checksum(body)
                }
                TransportHeader::Icmpv6(_) => panic!("ICMPv6 over IPv4"),
            };
            (l4, Some(ip.calc_header_checksum()))
        }
        (NetHeaders::Ipv6(ip, _), transport) => {
            let l4 = match transport {
                TransportHeader::Tcp(h) => h.calc_checksum_ipv6(&ip, payload).unwrap(),
                TransportHeader::Udp(h) => h.calc_checksum_ipv6(&ip, payload).unwrap(),
                TransportHeader::Icmpv6(_) => {
                    let (type_u8, code_u8, bytes5to8, body) = raw_icmp(frame);
                    etherparse::Icmpv6Type::Unknown {
                        type_u8,
                        code_u8,
                        bytes5to8,
                    }
                    .calc_checksum(ip.source, ip.destination, body)
                    .unwrap()
                }
                TransportHeader::Icmpv4(_) => panic!("ICMPv4 over IPv6"),
            };
            (l4, None)
        }
    }
}

/// Our from-scratch transport checksum of the segment at `layers`, and whether the checksum
/// field verifies.
fn our_transport_checksum(frame: &[u8], layers: &Layers) -> (u16, bool) {
    let seg = &frame[layers.l4..layers.end];
    let pseudo = &layers.pseudo;
    match layers.protocol {
        IpProtocol::TCP => {
            let p = TcpPacket::new_checked(seg).unwrap();
            (p.compute_checksum(pseudo), p.verify_checksum(pseudo))
        }
        IpProtocol::UDP => {
            let p = UdpPacket::new_checked(seg).unwrap();
            (p.compute_checksum(pseudo), p.verify_checksum(pseudo))
        }
        IpProtocol::ICMP => {
            let p = Icmpv4Packet::new_checked(seg).unwrap();
            (p.compute_checksum(), p.verify_checksum())
        }
        IpProtocol::ICMPV6 => {
            let p = Icmpv6Packet::new_checked(seg).unwrap();
            (p.compute_checksum(pseudo), p.verify_checksum(pseudo))
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn checksums_match_etherparse_on_random_packets() {
    let mut rng = Rng::new(1);
    for round in 0..600 {
        let v6 = round % 2 == 1;
        let l4 = ALL_L4[(round / 2) % 3];
        let frame = random_frame(&mut rng, v6, l4);
        let layers = locate(&frame);
        assert_eq!(layers.end, frame.len(), "round {round}");
        let (theirs, their_ip) = etherparse_checksums(&frame);
        let (ours, valid) = our_transport_checksum(&frame, &layers);
        assert_eq!(ours, theirs, "round {round}: {l4:?} v6={v6}");
        assert!(valid, "round {round}");
        if let Some(their_ip) = their_ip {
            let ip = Ipv4Packet::new_checked(&frame[layers.l3..]).unwrap();
            assert!(ip.verify_checksum());
            assert_eq!(ip.checksum(), their_ip);
            let mut copy = frame[layers.l3..].to_vec();
            let mut ip = Ipv4Packet::new_checked(&mut copy[..]).unwrap();
            ip.set_checksum(!their_ip);
            ip.fill_checksum();
            assert_eq!(ip.checksum(), their_ip);
        }
    }
}

#[test]
fn fields_match_etherparse_on_random_packets() {
    let mut rng = Rng::new(2);
    for round in 0..300 {
        let v6 = round % 2 == 1;
        let l4 = ALL_L4[(round / 2) % 3];
        let frame = random_frame(&mut rng, v6, l4);
        let headers = PacketHeaders::from_ethernet_slice(&frame).unwrap();
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        let their_eth = headers.link.clone().unwrap().ethernet2().unwrap();
        assert_eq!(eth.src_addr().0, their_eth.source);
        assert_eq!(eth.dst_addr().0, their_eth.destination);
        let their_vlans = match &headers.vlan {
            None => vec![],
            Some(etherparse::VlanHeader::Single(s)) => vec![s.vlan_id.value()],
            Some(etherparse::VlanHeader::Double(d)) => {
                vec![d.outer.vlan_id.value(), d.inner.vlan_id.value()]
            }
        };
        let our_vlans: Vec<u16> = (0..eth.vlan_count())
            .map(|i| eth.vlan_tag(i).unwrap().vid)
            .collect();
        assert_eq!(our_vlans, their_vlans);
        let layers = locate(&frame);
        match headers.net.as_ref().unwrap() {
            NetHeaders::Ipv4(ip, _) => {
                let ours = Ipv4Packet::new_checked(&frame[layers.l3..]).unwrap();
                assert_eq!(ours.src_addr(), Ipv4Addr::from(ip.source));
                assert_eq!(ours.dst_addr(), Ipv4Addr::from(ip.destination));
                assert_eq!(ours.ttl(), ip.time_to_live);
                assert_eq!(ours.ident(), ip.identification);
                assert_eq!(ours.dont_frag(), ip.dont_fragment);
                assert_eq!(ours.dscp(), ip.dscp.value());
                assert_eq!(ours.ecn(), ip.ecn.value());
                assert_eq!(ours.options(), ip.options.as_slice());
                assert_eq!(ours.protocol().0, ip.protocol.0);
                assert_eq!(ours.total_len(), ip.total_len);
            }
            NetHeaders::Ipv6(ip, exts) => {
                let ours = Ipv6Packet::new_checked(&frame[layers.l3..]).unwrap();
                assert_eq!(ours.src_addr(), Ipv6Addr::from(ip.source));
                assert_eq!(ours.dst_addr(), Ipv6Addr::from(ip.destination));
                assert_eq!(ours.hop_limit(), ip.hop_limit);
                assert_eq!(ours.traffic_class(), ip.traffic_class);
                assert_eq!(ours.flow_label(), ip.flow_label.value());
                assert_eq!(ours.payload_len(), ip.payload_length);
                let t = ours.transport().unwrap();
                assert_eq!(t.offset, 40 + exts.header_len());
                assert_eq!(
                    t.fragment.map(|f| (f.offset, f.more_frags, f.ident)),
                    exts.fragment.as_ref().map(|f| (
                        f.fragment_offset.byte_offset(),
                        f.more_fragments,
                        f.identification
                    ))
                );
            }
        }
        let seg = &frame[layers.l4..layers.end];
        match headers.transport.as_ref().unwrap() {
            TransportHeader::Tcp(h) => {
                let ours = TcpPacket::new_checked(seg).unwrap();
                assert_eq!(ours.src_port(), h.source_port);
                assert_eq!(ours.dst_port(), h.destination_port);
                assert_eq!(ours.seq_number(), h.sequence_number);
                assert_eq!(ours.ack_number(), h.acknowledgment_number);
                assert_eq!(ours.window_len(), h.window_size);
                assert_eq!(ours.header_len(), h.header_len());
                assert_eq!(ours.options(), h.options.as_slice());
                assert_eq!(ours.flags().contains(TcpFlags::SYN), h.syn);
                assert_eq!(ours.flags().contains(TcpFlags::ACK), h.ack);
                assert_eq!(ours.flags().contains(TcpFlags::FIN), h.fin);
                assert_eq!(ours.payload(), headers.payload.slice());
            }
            TransportHeader::Udp(h) => {
                let ours = UdpPacket::new_checked(seg).unwrap();
                assert_eq!(ours.src_port(), h.source_port);
                assert_eq!(ours.dst_port(), h.destination_port);
                assert_eq!(ours.len(), h.length);
                assert_eq!(ours.payload(), headers.payload.slice());
            }
            TransportHeader::Icmpv4(h) => {
                let ours = Icmpv4Packet::new_checked(seg).unwrap();
                let bytes = h.to_bytes();
                assert_eq!(ours.msg_type().0, bytes[0]);
                assert_eq!(ours.msg_code(), bytes[1]);
                assert_eq!(ours.checksum(), h.checksum);
                assert_eq!(ours.data().len(), seg.len() - 8);
            }
            TransportHeader::Icmpv6(h) => {
                let ours = Icmpv6Packet::new_checked(seg).unwrap();
                assert_eq!(ours.msg_type().0, h.icmp_type.type_u8());
                assert_eq!(ours.msg_code(), h.icmp_type.code_u8());
                assert_eq!(ours.checksum(), h.checksum);
                assert_eq!(ours.data().len(), seg.len() - 8);
            }
        }
    }
}

/// Offsets of the address and port fields a NAT rewrite touches.
struct Rewrite {
    /// Rewrite the destination (inbound NAT) or the source (replies).
    destination: bool,
}

fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

/// Rewrites one address and one port of the frame in place, updating every checksum with
/// RFC 1624 only, as NAT will.
fn rewrite_incrementally(frame: &mut [u8], layers: &Layers, how: &Rewrite, rng: &mut Rng) {
    let port_at = layers.l4 + if how.destination { 2 } else { 0 };
    let checksum_at = layers.l4
        + if layers.protocol == IpProtocol::TCP {
            16
        } else {
            6
        };
    let udp = layers.protocol == IpProtocol::UDP;
    let old_port = read_u16(frame, port_at);
    let new_port = rng.u16();
    write_u16(frame, port_at, new_port);
    let mut l4_sum = read_u16(frame, checksum_at);
    l4_sum = if udp {
        checksum::udp_update_word(l4_sum, old_port, new_port)
    } else {
        checksum::update_word(l4_sum, old_port, new_port)
    };
    match layers.pseudo {
        PseudoHeader::V4 { .. } => {
            let addr_at = layers.l3 + if how.destination { 16 } else { 12 };
            let old: [u8; 4] = frame[addr_at..addr_at + 4].try_into().unwrap();
            let (old, new) = (Ipv4Addr::from(old), Ipv4Addr::from(rng.array::<4>()));
            frame[addr_at..addr_at + 4].copy_from_slice(&new.octets());
            let ip_sum = checksum::update_ipv4_addr(read_u16(frame, layers.l3 + 10), old, new);
            write_u16(frame, layers.l3 + 10, ip_sum);
            l4_sum = if udp {
                checksum::udp_update_ipv4_addr(l4_sum, old, new)
            } else {
                checksum::update_ipv4_addr(l4_sum, old, new)
            };
        }
        PseudoHeader::V6 { .. } => {
            let addr_at = layers.l3 + if how.destination { 24 } else { 8 };
            let old: [u8; 16] = frame[addr_at..addr_at + 16].try_into().unwrap();
            let (old, new) = (Ipv6Addr::from(old), Ipv6Addr::from(rng.array::<16>()));
            frame[addr_at..addr_at + 16].copy_from_slice(&new.octets());
            l4_sum = if udp {
                checksum::udp_update_ipv6_addr(l4_sum, &old, &new)
            } else {
                checksum::update_ipv6_addr(l4_sum, &old, &new)
            };
        }
    }
    write_u16(frame, checksum_at, l4_sum);
}

#[test]
fn incremental_rewrites_equal_full_recompute() {
    let mut rng = Rng::new(3);
    for round in 0..800 {
        let v6 = round % 2 == 1;
        let l4 = if (round / 2) % 2 == 0 {
            L4::Tcp
        } else {
            L4::Udp
        };
        let mut frame = random_frame(&mut rng, v6, l4);
        let layers = locate(&frame);
        let how = Rewrite {
            destination: rng.bool(),
        };
        // Several rewrites in a row, as a connection's packets go back and forth.
        for _ in 0..3 {
            rewrite_incrementally(&mut frame, &layers, &how, &mut rng);
        }
        let layers = locate(&frame);
        let (theirs, their_ip) = etherparse_checksums(&frame);
        let field_at = layers.l4 + if l4 == L4::Tcp { 16 } else { 6 };
        assert_eq!(
            read_u16(&frame, field_at),
            theirs,
            "round {round} {l4:?} v6={v6}"
        );
        assert!(our_transport_checksum(&frame, &layers).1);
        if let Some(their_ip) = their_ip {
            assert_eq!(read_u16(&frame, layers.l3 + 10), their_ip, "round {round}");
        }
    }
}

#[test]
fn ttl_decrement_updates_ipv4_checksum() {
    let mut rng = Rng::new(4);
    for _ in 0..200 {
        let mut frame = random_frame(&mut rng, false, L4::Udp);
        let layers = locate(&frame);
        let ip = &mut frame[layers.l3..];
        let old_word = read_u16(ip, 8);
        let ttl = ip[8].wrapping_sub(1);
        ip[8] = ttl;
        let new_word = read_u16(ip, 8);
        let updated = checksum::update_word(read_u16(ip, 10), old_word, new_word);
        write_u16(ip, 10, updated);
        let (_, their_ip) = etherparse_checksums(&frame);
        assert_eq!(updated, their_ip.unwrap());
    }
}

#[test]
fn udp_without_checksum_stays_without_or_gets_a_full_one() {
    let mut rng = Rng::new(5);
    for _ in 0..200 {
        let mut frame = random_frame(&mut rng, false, L4::Udp);
        let layers = locate(&frame);
        write_u16(&mut frame, layers.l4 + 6, 0);
        rewrite_incrementally(
            &mut frame,
            &layers,
            &Rewrite { destination: true },
            &mut rng,
        );
        assert_eq!(
            read_u16(&frame, layers.l4 + 6),
            0,
            "no checksum stays no checksum"
        );
        let layers = locate(&frame);
        let seg = &mut frame[layers.l4..layers.end];
        let mut udp = UdpPacket::new_checked(seg).unwrap();
        assert!(udp.verify_checksum(&layers.pseudo));
        // What IPVS does (spec §7.1): compute a full checksum; a computed 0 goes out as FFFF.
        udp.fill_checksum(&layers.pseudo);
        let (theirs, _) = etherparse_checksums(&frame);
        assert_eq!(read_u16(&frame, layers.l4 + 6), theirs);
        assert_ne!(theirs, 0);
    }
}

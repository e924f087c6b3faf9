//! Whole frames through the whole stack of views: known-good frames parse to exact
//! summaries, every prefix of them is reported truncated, and thousands of corrupted
//! variants are read without a panic.

use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{
    IpFragOffset, IpHeaders, IpNumber, Ipv6FragmentHeader, Ipv6Header, PacketBuilder, VlanId,
};

use super::rng::Rng;
use crate::wire::{
    sctp, ArpOperation, ArpPacket, ArpRepr, Error, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, Icmpv4Packet, Icmpv6Packet, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet,
    Ipv6Repr, NdpOptions, NdpRepr, PseudoHeader, Result, SctpPacket, TcpPacket, UdpPacket,
    VlanStack,
};

const MAC_A: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const V4_A: [u8; 4] = [198, 18, 0, 1];
const V4_B: [u8; 4] = [198, 18, 1, 10];

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// What the stack of views finds in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Summary {
    vlans: usize,
    ethertype: EtherType,
    /// The transport protocol (for ICMP errors: of the quoted packet).
    protocol: Option<IpProtocol>,
    /// Where the transport header starts in the frame.
    l4_offset: usize,
    /// Transport ports (for ICMP errors: the quoted packet's).
    ports: Option<(u16, u16)>,
    /// Whether every checksum met verifies.
    checksums_ok: bool,
}

fn ports_of(l4: &[u8]) -> Option<(u16, u16)> {
    let p = l4.get(..4)?;
    Some((
        u16::from_be_bytes([p[0], p[1]]),
        u16::from_be_bytes([p[2], p[3]]),
    ))
}

/// What the transport layer says: its protocol and ports (for ICMP errors, the quoted
/// packet's), and whether its checksum verifies.
struct Transport(Option<IpProtocol>, Option<(u16, u16)>, bool);

fn parse_transport(protocol: IpProtocol, seg: &[u8], pseudo: &PseudoHeader) -> Result<Transport> {
    match protocol {
        IpProtocol::TCP => {
            let p = TcpPacket::new_checked(seg)?;
            Ok(Transport(
                Some(protocol),
                Some((p.src_port(), p.dst_port())),
                p.verify_checksum(pseudo),
            ))
        }
        IpProtocol::UDP => {
            let p = UdpPacket::new_checked(seg)?;
            Ok(Transport(
                Some(protocol),
                Some((p.src_port(), p.dst_port())),
                p.verify_checksum(pseudo),
            ))
        }
        IpProtocol::SCTP => {
            let p = SctpPacket::new_checked(seg)?;
            Ok(Transport(
                Some(protocol),
                Some((p.src_port(), p.dst_port())),
                p.verify_checksum(),
            ))
        }
        IpProtocol::ICMP => {
            let p = Icmpv4Packet::new_checked(seg)?;
            if !p.msg_type().is_error() {
                return Ok(Transport(Some(protocol), None, p.verify_checksum()));
            }
            let inner = Ipv4Packet::new_checked_embedded(p.data())?;
            Ok(Transport(
                Some(inner.protocol()),
                ports_of(inner.payload()),
                p.verify_checksum(),
            ))
        }
        IpProtocol::ICMPV6 => {
            let p = Icmpv6Packet::new_checked(seg)?;
            let ok = p.verify_checksum(pseudo);
            if p.msg_type().is_error() {
                let inner = Ipv6Packet::new_checked_embedded(p.data())?;
                let t = inner.transport()?;
                return Ok(Transport(
                    Some(t.protocol),
                    ports_of(inner.transport_payload(&t)),
                    ok,
                ));
            }
            match NdpRepr::parse(&p) {
                Ok(_) | Err(Error::Unsupported) => Ok(Transport(Some(protocol), None, ok)),
                Err(e) => Err(e),
            }
        }
        _ => Ok(Transport(Some(protocol), None, true)),
    }
}

fn parse_frame(frame: &[u8]) -> Result<Summary> {
    let eth = EthernetFrame::new_checked(frame)?;
    EthernetRepr::parse(&eth)?;
    let l3 = eth.payload_offset();
    let vlans = eth.vlan_count();
    let ethertype = eth.inner_ethertype();
    let summary = |protocol, l4_offset, ports, checksums_ok| Summary {
        vlans,
        ethertype,
        protocol,
        l4_offset,
        ports,
        checksums_ok,
    };
    match ethertype {
        EtherType::ARP => {
            ArpRepr::parse(&ArpPacket::new_checked(eth.payload())?)?;
            Ok(summary(None, l3, None, true))
        }
        EtherType::IPV4 => {
            let ip = Ipv4Packet::new_checked(eth.payload())?;
            let l4 = l3 + ip.header_len();
            if ip.frag_offset() != 0 {
                return Ok(summary(Some(ip.protocol()), l4, None, ip.verify_checksum()));
            }
            let Transport(protocol, ports, ok) =
                parse_transport(ip.protocol(), ip.payload(), &ip.pseudo_header())?;
            Ok(summary(protocol, l4, ports, ok && ip.verify_checksum()))
        }
        EtherType::IPV6 => {
            let ip = Ipv6Packet::new_checked(eth.payload())?;
            let t = ip.transport()?;
            if !t.has_transport_header() {
                return Ok(summary(Some(t.protocol), l3 + t.offset, None, true));
            }
            let seg = ip.transport_payload(&t);
            let Transport(protocol, ports, ok) =
                parse_transport(t.protocol, seg, &ip.pseudo_header())?;
            Ok(summary(protocol, l3 + t.offset, ports, ok))
        }
        _ => Err(Error::Unsupported),
    }
}

/// The first 28 bytes of a 1500-byte IPv4 TCP packet 198.18.0.1:40000 → 198.18.1.10:80.
fn quoted_ipv4_tcp() -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv4(V4_A, V4_B, 64)
        .tcp(40000, 80, 1, 64240)
        .write(&mut out, &[0x55; 1460])
        .unwrap();
    out.truncate(28);
    out
}

/// The first 48 bytes of a 1400-byte IPv6 UDP packet [2001:db8::1]:5353 → [2001:db8::2]:53.
fn quoted_ipv6_udp() -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ipv6(v6("2001:db8::1").octets(), v6("2001:db8::2").octets(), 64)
        .udp(5353, 53)
        .write(&mut out, &[0x33; 1352])
        .unwrap();
    out.truncate(48);
    out
}

/// Ethernet + IPv4 header + `l4`, built with our own emitters.
fn ipv4_frame(protocol: IpProtocol, l4: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; 14 + 20 + l4.len()];
    let eth = EthernetRepr {
        src_addr: EthernetAddress(MAC_A),
        dst_addr: EthernetAddress(MAC_B),
        vlans: VlanStack::None,
        ethertype: EtherType::IPV4,
    };
    eth.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]))
        .unwrap();
    let ip = Ipv4Repr {
        src_addr: Ipv4Addr::from(V4_A),
        dst_addr: Ipv4Addr::from(V4_B),
        protocol,
        payload_len: l4.len(),
        ttl: 64,
        tos: 0,
        ident: 7,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[14..]))
        .unwrap();
    frame[34..].copy_from_slice(l4);
    frame
}

/// The known-good frames, with what the views must find in each.
fn golden_frames() -> Vec<(&'static str, Vec<u8>, Summary)> {
    let mut frames = Vec::new();

    let mut f = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(V4_A, V4_B, 64)
        .tcp(40000, 80, 0x0102_0304, 64240)
        .syn()
        .write(&mut f, b"GET / HTTP/1.0\r\n\r\n")
        .unwrap();
    let s = Summary {
        vlans: 0,
        ethertype: EtherType::IPV4,
        protocol: Some(IpProtocol::TCP),
        l4_offset: 34,
        ports: Some((40000, 80)),
        checksums_ok: true,
    };
    frames.push(("ipv4 tcp", f, s));

    let mut f = Vec::new();
    let exts = etherparse::Ipv6Extensions {
        hop_by_hop_options: Some(
            etherparse::Ipv6RawExtHeader::new_raw(IpNumber(0), &[1, 4, 0, 0, 0, 0]).unwrap(),
        ),
        fragment: Some(Ipv6FragmentHeader::new(
            IpNumber(0),
            IpFragOffset::ZERO,
            false,
            99,
        )),
        ..Default::default()
    };
    let ip6 = Ipv6Header {
        hop_limit: 64,
        source: v6("2001:db8::1").octets(),
        destination: v6("2001:db8::2").octets(),
        ..Default::default()
    };
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .single_vlan(VlanId::try_new(100).unwrap())
        .ip(IpHeaders::Ipv6(ip6, exts))
        .udp(5353, 53)
        .write(&mut f, b"query")
        .unwrap();
    let s = Summary {
        vlans: 1,
        ethertype: EtherType::IPV6,
        protocol: Some(IpProtocol::UDP),
        l4_offset: 18 + 40 + 8 + 8,
        ports: Some((5353, 53)),
        checksums_ok: true,
    };
    frames.push(("vlan ipv6 hop-by-hop fragment udp", f, s));

    let mut f = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .double_vlan(VlanId::try_new(10).unwrap(), VlanId::try_new(20).unwrap())
        .ipv4(V4_B, V4_A, 255)
        .icmpv4_raw(3, 4, [0, 0, 0x05, 0x78])
        .write(&mut f, &quoted_ipv4_tcp())
        .unwrap();
    let s = Summary {
        vlans: 2,
        ethertype: EtherType::IPV4,
        protocol: Some(IpProtocol::TCP),
        l4_offset: 22 + 20,
        ports: Some((40000, 80)),
        checksums_ok: true,
    };
    frames.push(("qinq ipv4 icmp frag-needed", f, s));

    let mut f = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(v6("2001:db8::ff").octets(), v6("2001:db8::1").octets(), 64)
        .icmpv6_raw(2, 0, 1280u32.to_be_bytes())
        .write(&mut f, &quoted_ipv6_udp())
        .unwrap();
    let s = Summary {
        vlans: 0,
        ethertype: EtherType::IPV6,
        protocol: Some(IpProtocol::UDP),
        l4_offset: 54,
        ports: Some((5353, 53)),
        checksums_ok: true,
    };
    frames.push(("ipv6 icmpv6 packet-too-big", f, s));

    // Neighbour solicitation, built with our emitters.
    let ns = NdpRepr::NeighborSolicit {
        target_addr: v6("2001:db8::10"),
        source_lladdr: Some(EthernetAddress(MAC_A)),
    };
    let mut f = vec![0u8; 14 + 40 + ns.buffer_len()];
    EthernetRepr {
        src_addr: EthernetAddress(MAC_A),
        dst_addr: EthernetAddress([0x33, 0x33, 0xff, 0, 0, 0x10]),
        vlans: VlanStack::None,
        ethertype: EtherType::IPV6,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]))
    .unwrap();
    let ip6 = Ipv6Repr {
        src_addr: v6("2001:db8::1"),
        dst_addr: v6("ff02::1:ff00:10"),
        next_header: IpProtocol::ICMPV6,
        payload_len: ns.buffer_len(),
        hop_limit: 255,
        traffic_class: 0,
        flow_label: 0,
    };
    ip6.emit(&mut Ipv6Packet::new_unchecked(&mut f[14..]))
        .unwrap();
    let mut icmp = Icmpv6Packet::new_unchecked(&mut f[54..]);
    ns.emit(&mut icmp).unwrap();
    icmp.fill_checksum(&PseudoHeader::v6(ip6.src_addr, ip6.dst_addr));
    let s = Summary {
        vlans: 0,
        ethertype: EtherType::IPV6,
        protocol: Some(IpProtocol::ICMPV6),
        l4_offset: 54,
        ports: None,
        checksums_ok: true,
    };
    frames.push(("ipv6 neighbour solicitation", f, s));

    // SCTP: an INIT chunk, then a 6-byte DATA chunk padded to 8, built by hand.
    let mut l4 = vec![0x8e, 0x3c, 0x0b, 0x59, 0, 0, 0, 0, 0, 0, 0, 0];
    l4.extend_from_slice(&[
        0x01, 0x00, 0x00, 0x14, 0, 0, 0, 1, 0, 1, 0, 0, 0, 4, 0, 4, 0, 0, 0, 9,
    ]);
    l4.extend_from_slice(&[0x00, 0x0c, 0x00, 0x06, 0x00, 0x05, 0x00, 0x00]);
    let mut f = ipv4_frame(IpProtocol::SCTP, &l4);
    SctpPacket::new_unchecked(&mut f[34..]).fill_checksum();
    let s = Summary {
        vlans: 0,
        ethertype: EtherType::IPV4,
        protocol: Some(IpProtocol::SCTP),
        l4_offset: 34,
        ports: Some((36412, 2905)),
        checksums_ok: true,
    };
    frames.push(("ipv4 sctp init", f, s));

    let mut f = vec![0u8; 14 + 28];
    EthernetRepr {
        src_addr: EthernetAddress(MAC_A),
        dst_addr: EthernetAddress::BROADCAST,
        vlans: VlanStack::None,
        ethertype: EtherType::ARP,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]))
    .unwrap();
    ArpRepr {
        operation: ArpOperation::REQUEST,
        sender_hardware_addr: EthernetAddress(MAC_A),
        sender_protocol_addr: Ipv4Addr::from(V4_A),
        target_hardware_addr: EthernetAddress::UNSPECIFIED,
        target_protocol_addr: Ipv4Addr::from(V4_B),
    }
    .emit(&mut ArpPacket::new_unchecked(&mut f[14..]))
    .unwrap();
    let s = Summary {
        vlans: 0,
        ethertype: EtherType::ARP,
        protocol: None,
        l4_offset: 14,
        ports: None,
        checksums_ok: true,
    };
    frames.push(("arp request", f, s));

    // A non-first IPv6 fragment: no transport header to read.
    let mut f = Vec::new();
    let exts = etherparse::Ipv6Extensions {
        fragment: Some(Ipv6FragmentHeader::new(
            IpNumber(0),
            IpFragOffset::try_new(185).unwrap(),
            false,
            99,
        )),
        ..Default::default()
    };
    let ip6 = Ipv6Header {
        hop_limit: 64,
        source: v6("2001:db8::1").octets(),
        destination: v6("2001:db8::2").octets(),
        next_header: IpNumber::UDP,
        ..Default::default()
    };
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ip(IpHeaders::Ipv6(ip6, exts))
        .write(&mut f, IpNumber::UDP, &[7; 24])
        .unwrap();
    let s = Summary {
        vlans: 0,
        ethertype: EtherType::IPV6,
        protocol: Some(IpProtocol::UDP),
        l4_offset: 14 + 40 + 8,
        ports: None,
        checksums_ok: true,
    };
    frames.push(("ipv6 non-first fragment", f, s));

    frames
}

#[test]
fn golden_frames_parse_exactly() {
    for (name, frame, expected) in golden_frames() {
        assert_eq!(parse_frame(&frame), Ok(expected), "{name}");
    }
}

#[test]
fn every_prefix_of_a_golden_frame_is_truncated() {
    for (name, frame, _) in golden_frames() {
        for len in 0..frame.len() {
            assert_eq!(
                parse_frame(&frame[..len]),
                Err(Error::Truncated),
                "{name} cut at {len}"
            );
        }
    }
}

#[test]
fn a_flipped_bit_is_caught_by_a_checksum() {
    for (name, frame, _) in golden_frames() {
        if name == "arp request" || name == "ipv6 non-first fragment" {
            continue;
        }
        let l4 = parse_frame(&frame).unwrap().l4_offset;
        for at in l4..frame.len() {
            let mut bad = frame.clone();
            bad[at] ^= 0x10;
            // Either the view rejects the bytes, or a checksum does.
            if let Ok(s) = parse_frame(&bad) {
                assert!(!s.checksums_ok, "{name}: flip at {at} not caught");
            }
        }
    }
}

#[test]
fn malformed_fields_are_errors() {
    let frames = golden_frames();
    let tcp = &frames[0].1;
    let mut bad = tcp.clone();
    bad[14] = 0x44; // IHL 4
    assert_eq!(parse_frame(&bad), Err(Error::Malformed));
    let mut bad = tcp.clone();
    bad[14 + 20 + 12] = 0x30; // TCP data offset 3
    assert_eq!(parse_frame(&bad), Err(Error::Malformed));
    let mut bad = tcp.clone();
    bad[14] = 0x65; // version 6 in an IPv4 frame
    assert_eq!(parse_frame(&bad), Err(Error::Malformed));
    let udp = &frames[1].1;
    let mut bad = udp.clone();
    let len_at = 18 + 40 + 16 + 4;
    bad[len_at..len_at + 2].copy_from_slice(&4u16.to_be_bytes()); // UDP length below 8
    assert_eq!(parse_frame(&bad), Err(Error::Malformed));
    let ns = &frames[4].1;
    let mut bad = ns.clone();
    bad[54 + 24 + 1] = 0; // NDP option length 0
    assert_eq!(parse_frame(&bad), Err(Error::Malformed));
    let frag = &frames[7].1;
    let mut bad = frag.clone();
    bad[54] = 60; // non-first fragment followed by destination options
    assert_eq!(parse_frame(&bad), Err(Error::Malformed));
}

/// Reads every field of every view that accepts `bytes`, then changes length fields to
/// random values and reads again: nothing may panic.
fn poke_every_view(bytes: &[u8], rng: &mut Rng) {
    let mut scratch = bytes.to_vec();
    if let Ok(mut f) = EthernetFrame::new_checked(&mut scratch[..]) {
        let _ = (
            f.dst_addr(),
            f.src_addr(),
            f.ethertype(),
            f.vlans(),
            f.inner_ethertype(),
            f.payload().len(),
        );
        f.set_ethertype(EtherType::VLAN);
        f.set_inner_ethertype(EtherType::QINQ);
        let _ = (
            f.vlans(),
            f.payload_offset(),
            f.payload_mut().len(),
            f.set_vlan_tag(1, crate::wire::VlanTag::from_tci(EtherType::VLAN, 1)),
        );
    }
    let mut scratch = bytes.to_vec();
    if let Ok(mut p) = Ipv4Packet::new_checked_embedded(&mut scratch[..]) {
        let _ = (
            p.options().len(),
            p.payload().len(),
            p.verify_checksum(),
            p.frag_offset(),
        );
        p.set_header_len(rng.below(64));
        p.set_total_len(rng.u16());
        let _ = (
            p.options().len(),
            p.payload().len(),
            p.verify_checksum(),
            p.header().len(),
        );
        p.fill_checksum();
        let _ = (p.options_mut().len(), p.payload_mut().len());
    }
    let mut scratch = bytes.to_vec();
    if let Ok(mut p) = Ipv6Packet::new_checked_embedded(&mut scratch[..]) {
        let _ = (p.payload().len(), p.transport());
        p.set_payload_len(rng.u16());
        p.set_next_header(IpProtocol(rng.u8()));
        if let Ok(t) = p.transport() {
            let _ = (
                p.transport_payload(&t).len(),
                p.transport_payload_mut(&t).len(),
            );
        }
        let _ = p.payload_mut().len();
    }
    let pseudo = PseudoHeader::v4(Ipv4Addr::from(V4_A), Ipv4Addr::from(V4_B));
    let mut scratch = bytes.to_vec();
    if let Ok(mut p) = TcpPacket::new_checked(&mut scratch[..]) {
        let _ = (
            p.options().len(),
            p.payload().len(),
            p.flags(),
            p.verify_checksum(&pseudo),
        );
        p.set_header_len(rng.below(64));
        let _ = (
            p.options().len(),
            p.payload().len(),
            p.compute_checksum(&pseudo),
        );
        let _ = (p.options_mut().len(), p.payload_mut().len());
    }
    let mut scratch = bytes.to_vec();
    if let Ok(mut p) = UdpPacket::new_checked(&mut scratch[..]) {
        p.set_len(rng.u16());
        let _ = (
            p.payload().len(),
            p.verify_checksum(&pseudo),
            p.payload_mut().len(),
        );
        p.fill_checksum(&pseudo);
    }
    let mut scratch = bytes.to_vec();
    if let Ok(mut p) = SctpPacket::new_checked(&mut scratch[..]) {
        let _ = (
            p.chunks().count(),
            p.first_chunk_type(),
            p.verify_checksum(),
        );
        p.fill_checksum();
        let _ = p.payload_mut().len();
    }
    if let Ok(p) = Icmpv4Packet::new_checked(bytes) {
        let _ = (p.next_hop_mtu(), p.data().len(), p.verify_checksum());
    }
    if let Ok(p) = Icmpv6Packet::new_checked(bytes) {
        let _ = (p.mtu(), NdpRepr::parse(&p), p.verify_checksum(&pseudo));
        let _ = NdpOptions::new(p.data()).count();
    }
    if let Ok(p) = ArpPacket::new_checked(bytes) {
        let _ = ArpRepr::parse(&p);
    }
    let _ = sctp::SctpChunkType::ABORT;
}

#[test]
fn corrupted_frames_never_panic() {
    let mut rng = Rng::new(6);
    let frames = golden_frames();
    let mut parsed = 0usize;
    for round in 0..12_000 {
        let (_, golden, _) = &frames[round % frames.len()];
        let mut frame = golden.clone();
        for _ in 0..=rng.below(4) {
            // Mostly the header bytes, where the structure is.
            let at = rng.below(frame.len().min(90));
            frame[at] = rng.u8();
        }
        if rng.below(4) == 0 {
            frame.truncate(rng.below(frame.len() + 1));
        }
        if let Ok(s) = parse_frame(&frame) {
            assert!(s.l4_offset <= frame.len());
            parsed += 1;
        }
        for start in [0, 14, 18, 22, 34, 42, 54, 62] {
            if let Some(rest) = frame.get(start..) {
                poke_every_view(rest, &mut rng);
            }
        }
    }
    // Some mutants still parse (a changed port, payload byte or address), most do not
    // verify; both paths were taken.
    assert!(parsed > 1000 && parsed < 12_000, "{parsed}");
}

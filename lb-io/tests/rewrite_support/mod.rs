//! Shared by the rewrite, ICMP and ARP tests: frames built with etherparse (an independent
//! builder), and a verifier that parses every emitted frame again with etherparse and checks
//! that every checksum in it equals one computed from scratch (etherparse's for IPv4, TCP,
//! UDP, ICMP and ICMPv6; small reference implementations here for SCTP's CRC32c and GRE).
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    Icmpv4Header, Icmpv4Type, Icmpv6Header, Icmpv6Type, IpFragOffset, IpHeaders, IpNumber, IpSlice,
    Ipv4Dscp, Ipv4Ecn, Ipv4Header, Ipv6Extensions, Ipv6FlowLabel, Ipv6FragmentHeader, Ipv6Header,
    Ipv6RawExtHeader, PacketBuilder, PacketBuilderStep, SlicedPacket, TcpHeader, UdpHeader, VlanId,
};
use lb_io::rewrite::Forwarding;
use lb_io::wire::EthernetAddress;

pub const CLIENT_MAC: [u8; 6] = [0x02, 0xc1, 0, 0, 0, 0x01];
pub const DIRECTOR_MAC: [u8; 6] = [0x02, 0xd1, 0, 0, 0, 0x01];
pub const RS_MAC: [u8; 6] = [0x02, 0x5e, 0, 0, 0, 0x01];
pub const GATEWAY_MAC: [u8; 6] = [0x02, 0x6a, 0, 0, 0, 0x01];

pub const CIP4: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
pub const VIP4: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
pub const RIP4: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 21);
pub const DIP4: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);

pub fn cip6() -> Ipv6Addr {
    "2001:db8:c::10".parse().unwrap()
}
pub fn vip6() -> Ipv6Addr {
    "2001:db8:1::1".parse().unwrap()
}
pub fn rip6() -> Ipv6Addr {
    "2001:db8:5::21".parse().unwrap()
}
pub fn dip6() -> Ipv6Addr {
    "2001:db8:5::1".parse().unwrap()
}

pub fn mac(b: [u8; 6]) -> EthernetAddress {
    EthernetAddress(b)
}

/// Forwarding from the director to `dst_mac` on a route of MTU `mtu`.
pub fn fwd(dst_mac: [u8; 6], mtu: u32) -> Forwarding {
    Forwarding {
        src_mac: mac(DIRECTOR_MAC),
        dst_mac: mac(dst_mac),
        mtu,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

pub const FAMILIES: [Family; 2] = [Family::V4, Family::V6];

/// The transport of a test packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L4 {
    Tcp,
    Udp,
    /// UDP sent without checksum (field 0).
    UdpNoCsum,
    Sctp,
    /// ICMP / ICMPv6 echo request.
    Echo,
}

pub const NAT_L4: [L4; 4] = [L4::Tcp, L4::Udp, L4::UdpNoCsum, L4::Sctp];

/// VLAN tags of a test frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vlans {
    None,
    Single(u16),
    Double(u16, u16),
}

/// Everything a test frame is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub src_mac: [u8; 6],
    pub dst_mac: [u8; 6],
    pub vlans: Vlans,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub l4: L4,
    pub ttl: u8,
    /// IPv4 TOS / IPv6 traffic class.
    pub ds: u8,
    pub dont_frag: bool,
    pub ident: u16,
    pub flow_label: u32,
    /// Add a hop-by-hop and a destination-options header (IPv6 only).
    pub v6_exts: bool,
    pub payload: Vec<u8>,
}

impl Spec {
    /// A client's request to the VIP, `family`, `l4`, TTL 64.
    pub fn request(family: Family, l4: L4) -> Spec {
        let (src, dst) = match family {
            Family::V4 => (IpAddr::V4(CIP4), IpAddr::V4(VIP4)),
            Family::V6 => (IpAddr::V6(cip6()), IpAddr::V6(vip6())),
        };
        Spec {
            src_mac: GATEWAY_MAC,
            dst_mac: DIRECTOR_MAC,
            vlans: Vlans::None,
            src,
            dst,
            sport: 40000,
            dport: 80,
            l4,
            ttl: 64,
            ds: 0x28,
            dont_frag: true,
            ident: 0x1c46,
            flow_label: 0x12345,
            v6_exts: false,
            payload: b"GET / HTTP/1.0\r\n\r\n".to_vec(),
        }
    }

    /// A NAT real server's reply to the client, `family`, `l4`, TTL 64.
    pub fn reply(family: Family, l4: L4) -> Spec {
        let (src, dst) = match family {
            Family::V4 => (IpAddr::V4(RIP4), IpAddr::V4(CIP4)),
            Family::V6 => (IpAddr::V6(rip6()), IpAddr::V6(cip6())),
        };
        Spec {
            src_mac: RS_MAC,
            dst_mac: DIRECTOR_MAC,
            src,
            dst,
            sport: 8080,
            dport: 40000,
            payload: b"HTTP/1.0 200 OK\r\n\r\n".to_vec(),
            ..Spec::request(family, l4)
        }
    }

    pub fn family(&self) -> Family {
        match self.src {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }

    /// The frame, built by etherparse.
    pub fn build(&self) -> Vec<u8> {
        build(self)
    }
}

fn ip_headers(spec: &Spec) -> IpHeaders {
    match (spec.src, spec.dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => IpHeaders::Ipv4(
            Ipv4Header {
                dscp: Ipv4Dscp::try_new(spec.ds >> 2).unwrap(),
                ecn: Ipv4Ecn::try_new(spec.ds & 3).unwrap(),
                identification: spec.ident,
                dont_fragment: spec.dont_frag,
                time_to_live: spec.ttl,
                source: s.octets(),
                destination: d.octets(),
                ..Default::default()
            },
            Default::default(),
        ),
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            let mut exts = Ipv6Extensions::default();
            if spec.v6_exts {
                exts.hop_by_hop_options =
                    Some(Ipv6RawExtHeader::new_raw(IpNumber(0), &[1, 4, 0, 0, 0, 0]).unwrap());
                exts.destination_options =
                    Some(Ipv6RawExtHeader::new_raw(IpNumber(0), &[1, 4, 0, 0, 0, 0]).unwrap());
            }
            IpHeaders::Ipv6(
                Ipv6Header {
                    traffic_class: spec.ds,
                    flow_label: Ipv6FlowLabel::try_new(spec.flow_label).unwrap(),
                    hop_limit: spec.ttl,
                    source: s.octets(),
                    destination: d.octets(),
                    ..Default::default()
                },
                exts,
            )
        }
        _ => panic!("mixed families"),
    }
}

fn ip_step(spec: &Spec) -> PacketBuilderStep<IpHeaders> {
    let eth = PacketBuilder::ethernet2(spec.src_mac, spec.dst_mac);
    let ip = ip_headers(spec);
    match spec.vlans {
        Vlans::None => eth.ip(ip),
        Vlans::Single(v) => eth.single_vlan(VlanId::try_new(v).unwrap()).ip(ip),
        Vlans::Double(a, b) => eth
            .double_vlan(VlanId::try_new(a).unwrap(), VlanId::try_new(b).unwrap())
            .ip(ip),
    }
}

/// An SCTP packet: common header, one DATA chunk carrying `payload`, CRC32c.
pub fn sctp_packet(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
    p.extend_from_slice(&[0; 4]);
    let chunk_len = 16 + payload.len();
    p.extend_from_slice(&[0, 0x03]);
    p.extend_from_slice(&(chunk_len as u16).to_be_bytes());
    p.extend_from_slice(&1u32.to_be_bytes()); // TSN
    p.extend_from_slice(&[0, 1, 0, 0]); // stream 1, sequence 0
    p.extend_from_slice(&0u32.to_be_bytes()); // PPID
    p.extend_from_slice(payload);
    while p.len() % 4 != 0 {
        p.push(0);
    }
    let crc = ref_crc32c(&p);
    p[8..12].copy_from_slice(&crc.to_le_bytes());
    p
}

fn build(spec: &Spec) -> Vec<u8> {
    let mut out = Vec::new();
    let step = ip_step(spec);
    match spec.l4 {
        L4::Tcp => step
            .tcp(spec.sport, spec.dport, 0x0102_0304, 64240)
            .ack(0x0a0b_0c0d)
            .psh()
            .write(&mut out, &spec.payload)
            .unwrap(),
        L4::Udp | L4::UdpNoCsum => step
            .udp(spec.sport, spec.dport)
            .write(&mut out, &spec.payload)
            .unwrap(),
        L4::Sctp => step
            .write(
                &mut out,
                IpNumber(132),
                &sctp_packet(spec.sport, spec.dport, &spec.payload),
            )
            .unwrap(),
        L4::Echo => match spec.family() {
            Family::V4 => step
                .icmpv4_echo_request(0x4242, 7)
                .write(&mut out, &spec.payload)
                .unwrap(),
            Family::V6 => step
                .icmpv6_echo_request(0x4242, 7)
                .write(&mut out, &spec.payload)
                .unwrap(),
        },
    }
    if spec.l4 == L4::UdpNoCsum {
        let at = transport_offset(&out) + 6;
        out[at..at + 2].copy_from_slice(&[0, 0]);
    }
    out
}

/// The length of the Ethernet header and VLAN tags.
pub fn l2_len(frame: &[u8]) -> usize {
    let mut at = 12;
    while matches!(
        u16::from_be_bytes([frame[at], frame[at + 1]]),
        0x8100 | 0x88a8 | 0x9100
    ) {
        at += 4;
    }
    at + 2
}

/// Where the transport header of a frame starts (via etherparse).
pub fn transport_offset(frame: &[u8]) -> usize {
    let l3 = l2_len(frame);
    let ip = IpSlice::from_slice(&frame[l3..]).unwrap();
    let payload = ip.payload().payload;
    payload.as_ptr() as usize - frame.as_ptr() as usize
}

/// Reference Internet checksum (RFC 1071), one word at a time.
pub fn ref_sum(data: &[u8]) -> u32 {
    let mut acc: u32 = 0;
    for pair in data.chunks(2) {
        acc += u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0));
    }
    while acc > 0xFFFF {
        acc = (acc & 0xFFFF) + (acc >> 16);
    }
    acc
}

pub fn ref_checksum(data: &[u8]) -> u16 {
    !(ref_sum(data) as u16)
}

/// Reference CRC32c, bit by bit (reflected polynomial 0x82F63B78), with the checksum field
/// (bytes 8..12) taken as zero.
pub fn ref_crc32c(sctp: &[u8]) -> u32 {
    let mut crc = !0u32;
    for (i, &byte) in sctp.iter().enumerate() {
        let b = if (8..12).contains(&i) { 0 } else { byte };
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// What [`verify_frame`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// Offset of the IP header.
    pub l3: usize,
    /// The IP protocol / last next header.
    pub protocol: u8,
    /// Offset and length of the IP payload (after extension headers).
    pub payload_at: usize,
    pub payload_len: usize,
}

/// Parses `frame` with etherparse and asserts that every checksum in it equals one
/// recomputed from scratch; for IPIP and GRE, the inner packet too. UDP checksum 0 is
/// accepted over IPv4, and over IPv6 only if `zero_udp6` (tunnels, RFC 6935).
pub fn verify_frame(frame: &[u8], zero_udp6: bool) -> Checked {
    let sliced = SlicedPacket::from_ethernet(frame).expect("etherparse parses the frame");
    assert!(sliced.net.is_some(), "no IP layer");
    let l3 = l2_len(frame);
    let (protocol, at, len) = verify_ip(&frame[l3..], zero_udp6);
    Checked {
        l3,
        protocol,
        payload_at: l3 + at,
        payload_len: len,
    }
}

/// Verifies an IP packet; returns the protocol, offset and length of its payload.
pub fn verify_ip(ip: &[u8], zero_udp6: bool) -> (u8, usize, usize) {
    let slice = IpSlice::from_slice(ip).expect("etherparse parses the IP packet");
    let payload = slice.payload();
    let data = payload.payload;
    let at = data.as_ptr() as usize - ip.as_ptr() as usize;
    let proto = payload.ip_number;
    let (src, dst): (IpAddr, IpAddr) = match &slice {
        IpSlice::Ipv4(v4) => {
            let h = v4.header().to_header();
            assert_eq!(
                h.header_checksum,
                h.calc_header_checksum(),
                "IPv4 header checksum"
            );
            (
                Ipv4Addr::from(h.source).into(),
                Ipv4Addr::from(h.destination).into(),
            )
        }
        IpSlice::Ipv6(v6) => {
            let h = v6.header().to_header();
            (
                Ipv6Addr::from(h.source).into(),
                Ipv6Addr::from(h.destination).into(),
            )
        }
    };
    if payload.fragmented {
        return (proto.0, at, data.len());
    }
    match proto.0 {
        6 => {
            let (h, rest) = TcpHeader::from_slice(data).unwrap();
            let want = match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    h.calc_checksum_ipv4_raw(s.octets(), d.octets(), rest)
                }
                (IpAddr::V6(s), IpAddr::V6(d)) => {
                    h.calc_checksum_ipv6_raw(s.octets(), d.octets(), rest)
                }
                _ => unreachable!(),
            }
            .unwrap();
            assert_eq!(h.checksum, want, "TCP checksum");
        }
        17 => {
            let (h, rest) = UdpHeader::from_slice(data).unwrap();
            assert_eq!(usize::from(h.length), data.len(), "UDP length");
            let allowed_zero = matches!(src, IpAddr::V4(_)) || zero_udp6;
            if !(h.checksum == 0 && allowed_zero) {
                let want = match (src, dst) {
                    (IpAddr::V4(s), IpAddr::V4(d)) => {
                        h.calc_checksum_ipv4_raw(s.octets(), d.octets(), rest)
                    }
                    (IpAddr::V6(s), IpAddr::V6(d)) => {
                        h.calc_checksum_ipv6_raw(s.octets(), d.octets(), rest)
                    }
                    _ => unreachable!(),
                }
                .unwrap();
                assert_eq!(h.checksum, want, "UDP checksum");
            }
        }
        1 => {
            let (h, rest) = Icmpv4Header::from_slice(data).unwrap();
            assert_eq!(h.checksum, h.icmp_type.calc_checksum(rest), "ICMP checksum");
        }
        58 => {
            let (h, rest) = Icmpv6Header::from_slice(data).unwrap();
            let (IpAddr::V6(s), IpAddr::V6(d)) = (src, dst) else {
                unreachable!()
            };
            let want = h
                .icmp_type
                .calc_checksum(s.octets(), d.octets(), rest)
                .unwrap();
            assert_eq!(h.checksum, want, "ICMPv6 checksum");
        }
        132 => {
            let stored = u32::from_le_bytes([data[8], data[9], data[10], data[11]]);
            assert_eq!(stored, ref_crc32c(data), "SCTP CRC32c");
        }
        4 | 41 => {
            verify_ip(data, zero_udp6);
        }
        47 => {
            let flags = u16::from_be_bytes([data[0], data[1]]);
            let inner = if flags & 0x8000 != 0 {
                assert_eq!(ref_sum(data), 0xFFFF, "GRE checksum");
                &data[8..]
            } else {
                &data[4..]
            };
            verify_ip(inner, zero_udp6);
        }
        _ => {}
    }
    (proto.0, at, data.len())
}

/// A frame's bytes as a hex string with a space every 2 bytes, for readable failures.
pub fn hex(data: &[u8]) -> String {
    data.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join("")
}

/// Asserts two frames are equal, printing both in hex when not.
#[track_caller]
pub fn assert_frame(desc: &str, got: &[u8], want: &[u8]) {
    assert_eq!(
        hex(got),
        hex(want),
        "{desc}: frame differs (got, then expected)"
    );
}

/// An IPv6 fragment header (for tests that fragment).
pub fn v6_fragment(offset_units: u16, more: bool, ident: u32) -> Ipv6FragmentHeader {
    Ipv6FragmentHeader::new(
        IpNumber(0),
        IpFragOffset::try_new(offset_units).unwrap(),
        more,
        ident,
    )
}

/// The ICMPv4 type of an echo request, for builder use.
pub fn echo4() -> Icmpv4Type {
    Icmpv4Type::EchoRequest(etherparse::IcmpEchoHeader { id: 1, seq: 1 })
}

/// The ICMPv6 type of an echo request, for builder use.
pub fn echo6() -> Icmpv6Type {
    Icmpv6Type::EchoRequest(etherparse::IcmpEchoHeader { id: 1, seq: 1 })
}

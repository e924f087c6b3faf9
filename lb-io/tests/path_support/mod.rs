//! Shared by the per-packet path tests: the director and engine under test, running frames
//! through them, and expected frames built with etherparse.
//!
//! The lab: one link, the director at 198.19.0.1 / 2001:db8:5::1 (MAC `DIRECTOR_MAC`) on
//! the real servers' subnet, the real server 198.19.0.21 / 2001:db8:5::21 (`RS_MAC`), the
//! clients (198.18.0.10 / 2001:db8:c::10) behind the gateway 198.19.0.254 / 2001:db8:5::fe
//! (`GATEWAY_MAC`); the VIPs 198.18.1.1 / 2001:db8:1::1 are owned by the director.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    EtherType, Ethernet2Header, IpHeaders, IpNumber, Ipv4Dscp, Ipv4Ecn, Ipv4Header, Ipv6FlowLabel,
    Ipv6Header, PacketBuilder,
};
use lb_core::engine::{Engine, EngineConfig, Settings};
use lb_core::{ipvsadm, Ipvs, Time};
use lb_io::neigh::NeighParams;
use lb_io::path::{Action, Director, Gateways, InterfaceConfig, LinkId};

use crate::rewrite_support::*;

pub const GW4: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 254);

pub fn gw6() -> Ipv6Addr {
    "2001:db8:5::fe".parse().unwrap()
}

/// The services of the lab: per family, TCP and UDP on port 80 by NAT to port 8080, on
/// port 81 by direct routing, on port 82 by IPIP; TCP 83 by GUE, 84 by GRE with checksum;
/// TCP 90 whose only server has weight 0 (no server: port unreachable).
pub fn rules() -> Vec<String> {
    let mut lines = Vec::new();
    for (vip, rip) in [
        ("198.18.1.1", "198.19.0.21"),
        ("[2001:db8:1::1]", "[2001:db8:5::21]"),
    ] {
        for proto in ["-t", "-u"] {
            lines.push(format!("-A {proto} {vip}:80 -s rr"));
            lines.push(format!("-a {proto} {vip}:80 -r {rip}:8080 -m"));
            lines.push(format!("-A {proto} {vip}:81 -s rr"));
            lines.push(format!("-a {proto} {vip}:81 -r {rip}:81 -g"));
            lines.push(format!("-A {proto} {vip}:82 -s rr"));
            lines.push(format!("-a {proto} {vip}:82 -r {rip}:82 -i"));
        }
        lines.push(format!("-A -t {vip}:83 -s rr"));
        lines.push(format!(
            "-a -t {vip}:83 -r {rip}:83 -i --tun-type gue --tun-port 6080"
        ));
        lines.push(format!("-A -t {vip}:84 -s rr"));
        lines.push(format!(
            "-a -t {vip}:84 -r {rip}:84 -i --tun-type gre --tun-csum"
        ));
        lines.push(format!("-A -t {vip}:90 -s rr"));
        lines.push(format!("-a -t {vip}:90 -r {rip}:8080 -m -w 0"));
    }
    lines
}

/// An engine configured with `lines` (ipvsadm arguments).
pub fn engine_with(lines: &[String]) -> Engine {
    let e = Engine::new(Ipvs::new(), Settings::default(), EngineConfig::default());
    for line in lines {
        let args: Vec<&str> = line.split_whitespace().collect();
        let cmd = ipvsadm::parse(&args).unwrap_or_else(|err| panic!("{line}: {err:?}"));
        e.configure(|ipvs| ipvsadm::apply(ipvs, &cmd))
            .unwrap_or_else(|err| panic!("{line}: {err}"));
    }
    e
}

/// The lab's engine.
pub fn engine() -> Engine {
    engine_with(&rules())
}

/// The link of the lab, with MTU `mtu`.
pub fn link_config(mtu: u32) -> InterfaceConfig {
    let mut config = InterfaceConfig::new(mac(DIRECTOR_MAC));
    config.mtu = mtu;
    config.addrs = vec![
        "198.19.0.1/24".parse().unwrap(),
        "2001:db8:5::1/64".parse().unwrap(),
    ];
    config
}

/// The lab's director: the VIPs owned; the gateway and, if `rs_known`, the real server
/// configured as permanent neighbours.
pub fn director_with(mtu: u32, rs_known: bool) -> Director {
    let mut d = Director::new(vec![link_config(mtu)], NeighParams::default());
    d.set_gateways(Gateways {
        v4: Some(GW4),
        v6: Some(gw6()),
    });
    d.flow_hash_seed = 0x5eed;
    let cache = &mut d.interfaces_mut()[0].neighbours.cache;
    cache.insert_permanent(IpAddr::V4(GW4), mac(GATEWAY_MAC));
    cache.insert_permanent(IpAddr::V6(gw6()), mac(GATEWAY_MAC));
    if rs_known {
        cache.insert_permanent(IpAddr::V4(RIP4), mac(RS_MAC));
        cache.insert_permanent(IpAddr::V6(rip6()), mac(RS_MAC));
    }
    assert!(d.own(LinkId(0), IpAddr::V4(VIP4)));
    assert!(d.own(LinkId(0), IpAddr::V6(vip6())));
    d
}

/// The lab's director, MTU 1500, every neighbour known.
pub fn director() -> Director {
    director_with(1500, true)
}

/// A frame sent by the director.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub link: LinkId,
    pub frame: Vec<u8>,
}

/// Runs `input` (received on `rx` at `now`) through the path; returns the action and every
/// frame to send, in the order the outcome gives them.
pub fn run_on(
    d: &mut Director,
    e: &Engine,
    rx: LinkId,
    input: &[u8],
    now: Time,
) -> (Action, Vec<Sent>) {
    let mut frame = input.to_vec();
    let mut out = vec![0u8; 65536 + 128];
    let o = d.process(e, rx, &mut frame, now, &mut out);
    let count = o.frames_to_send();
    let mut sent = Vec::new();
    if let Some(emit) = o.in_place {
        sent.push(Sent {
            link: emit.link,
            frame: frame[..emit.len].to_vec(),
        });
    }
    if let Some(emit) = o.built {
        sent.push(Sent {
            link: emit.link,
            frame: out[..emit.len].to_vec(),
        });
    }
    if let Some(r) = o.released {
        for f in r.frames {
            sent.push(Sent {
                link: r.link,
                frame: f,
            });
        }
    }
    assert_eq!(sent.len(), count);
    (o.action, sent)
}

/// Runs `input` received on link 0.
pub fn run(d: &mut Director, e: &Engine, input: &[u8], now: Time) -> (Action, Vec<Sent>) {
    run_on(d, e, LinkId(0), input, now)
}

/// Checks every IP frame sent with etherparse, checksums recomputed (ARP frames are
/// compared byte for byte by the callers).
pub fn verify_sent(sent: &[Sent]) {
    for s in sent {
        let ethertype = u16::from_be_bytes([s.frame[12], s.frame[13]]);
        // GUE under IPv6 may go without UDP checksum (RFC 6935 zero-checksum tunnels).
        let gue6 = ethertype == 0x86dd
            && s.frame.get(14 + 6) == Some(&17)
            && s.frame.get(14 + 42..14 + 44) == Some(&6080u16.to_be_bytes()[..]);
        if ethertype != 0x0806 {
            verify_frame(&s.frame, gue6);
        }
    }
}

/// A table row: a frame in, what the path does, the frames out (all on link 0).
pub struct Case {
    pub desc: String,
    pub input: Vec<u8>,
    pub action: Action,
    pub sent: Vec<Vec<u8>>,
}

/// Runs the rows in order through one director and engine, one second apart.
pub fn run_table(d: &mut Director, e: &Engine, cases: &[Case]) {
    for (i, case) in cases.iter().enumerate() {
        let now = Time::from_secs(100 + i as u64);
        let (action, sent) = run(d, e, &case.input, now);
        assert_eq!(action, case.action, "{}: action", case.desc);
        assert_eq!(sent.len(), case.sent.len(), "{}: frames sent", case.desc);
        for (got, want) in sent.iter().zip(&case.sent) {
            assert_eq!(got.link, LinkId(0), "{}: link", case.desc);
            assert_frame(&case.desc, &got.frame, want);
        }
        verify_sent(&sent);
    }
}

/// The IPv4 header etherparse writes for the given fields.
#[allow(clippy::too_many_arguments)]
pub fn ipv4_header(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    tos: u8,
    ident: u16,
    df: bool,
) -> IpHeaders {
    IpHeaders::Ipv4(
        Ipv4Header {
            dscp: Ipv4Dscp::try_new(tos >> 2).unwrap(),
            ecn: Ipv4Ecn::try_new(tos & 3).unwrap(),
            identification: ident,
            dont_fragment: df,
            time_to_live: ttl,
            source: src.octets(),
            destination: dst.octets(),
            ..Default::default()
        },
        Default::default(),
    )
}

/// The IPv6 header etherparse writes for the given fields.
pub fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8, traffic_class: u8) -> IpHeaders {
    IpHeaders::Ipv6(
        Ipv6Header {
            traffic_class,
            flow_label: Ipv6FlowLabel::ZERO,
            hop_limit,
            source: src.octets(),
            destination: dst.octets(),
            ..Default::default()
        },
        Default::default(),
    )
}

/// The IP packet of a frame (after its 14-byte untagged Ethernet header).
pub fn ip_of(frame: &[u8]) -> &[u8] {
    &frame[l2_len(frame)..]
}

/// A frame from `eth_src` to `eth_dst` carrying `ip` with protocol `proto` over an IP
/// header `outer`.
pub fn frame_with(
    eth_src: [u8; 6],
    eth_dst: [u8; 6],
    outer: IpHeaders,
    proto: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(eth_src, eth_dst)
        .ip(outer)
        .write(&mut out, IpNumber(proto), payload)
        .unwrap();
    out
}

/// An ICMPv4 error frame: `icmp_type` / `code` / the four bytes after the checksum, quoting
/// `quote`, over `ip`.
pub fn icmp4_frame(
    eth_src: [u8; 6],
    eth_dst: [u8; 6],
    ip: IpHeaders,
    icmp_type: u8,
    code: u8,
    rest: [u8; 4],
    quote: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(eth_src, eth_dst)
        .ip(ip)
        .icmpv4_raw(icmp_type, code, rest)
        .write(&mut out, quote)
        .unwrap();
    out
}

/// An ICMPv6 frame (see [`icmp4_frame`]).
pub fn icmp6_frame(
    eth_src: [u8; 6],
    eth_dst: [u8; 6],
    ip: IpHeaders,
    icmp_type: u8,
    code: u8,
    rest: [u8; 4],
    quote: &[u8],
) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(eth_src, eth_dst)
        .ip(ip)
        .icmpv6_raw(icmp_type, code, rest)
        .write(&mut out, quote)
        .unwrap();
    out
}

/// An ARP frame (untagged): Ethernet header from etherparse, the 28-byte body field by
/// field.
pub fn arp_frame(
    eth_dst: [u8; 6],
    eth_src: [u8; 6],
    op: u16,
    sha: [u8; 6],
    spa: Ipv4Addr,
    tha: [u8; 6],
    tpa: Ipv4Addr,
) -> Vec<u8> {
    let mut out = Ethernet2Header {
        source: eth_src,
        destination: eth_dst,
        ether_type: EtherType::ARP,
    }
    .to_bytes()
    .to_vec();
    out.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
    out.extend_from_slice(&op.to_be_bytes());
    out.extend_from_slice(&sha);
    out.extend_from_slice(&spa.octets());
    out.extend_from_slice(&tha);
    out.extend_from_slice(&tpa.octets());
    out
}

/// `frame` (a TCP frame without padding) with its TCP flags set to `flags` and its TCP
/// checksum computed again by etherparse.
pub fn with_tcp_flags(mut frame: Vec<u8>, flags: u8) -> Vec<u8> {
    let at = transport_offset(&frame);
    frame[at + 13] = flags;
    let l3 = l2_len(&frame);
    let (src, dst): (IpAddr, IpAddr) = match etherparse::IpSlice::from_slice(&frame[l3..]).unwrap()
    {
        etherparse::IpSlice::Ipv4(v4) => {
            let h = v4.header();
            (h.source_addr().into(), h.destination_addr().into())
        }
        etherparse::IpSlice::Ipv6(v6) => {
            let h = v6.header();
            (h.source_addr().into(), h.destination_addr().into())
        }
    };
    let (h, rest) = etherparse::TcpHeader::from_slice(&frame[at..]).unwrap();
    let sum = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => h.calc_checksum_ipv4_raw(s.octets(), d.octets(), rest),
        (IpAddr::V6(s), IpAddr::V6(d)) => h.calc_checksum_ipv6_raw(s.octets(), d.octets(), rest),
        _ => unreachable!(),
    }
    .unwrap();
    frame[at + 16..at + 18].copy_from_slice(&sum.to_be_bytes());
    frame
}

/// TCP SYN.
pub const SYN: u8 = 0x02;

/// The frame of `spec`, a SYN if `syn` and it is TCP.
pub fn frame_of(spec: &Spec, syn: bool) -> Vec<u8> {
    let f = spec.build();
    if syn && spec.l4 == L4::Tcp {
        with_tcp_flags(f, SYN)
    } else {
        f
    }
}

/// The addresses of a family: (client, VIP, real server, director).
pub fn addrs(family: Family) -> (IpAddr, IpAddr, IpAddr, IpAddr) {
    match family {
        Family::V4 => (CIP4.into(), VIP4.into(), RIP4.into(), DIP4.into()),
        Family::V6 => (cip6().into(), vip6().into(), rip6().into(), dip6().into()),
    }
}

/// A client's request to the VIP on `dport`.
pub fn request(family: Family, l4: L4, dport: u16) -> Spec {
    Spec {
        dport,
        ..Spec::request(family, l4)
    }
}

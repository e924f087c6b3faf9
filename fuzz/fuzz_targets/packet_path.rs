//! Any byte string as a received frame through the director's per-packet path (parse →
//! engine → rewrite): it never panics, and every frame it sends parses again with lb-io's
//! own views — an Ethernet header, then a whole IPv4 packet with a correct header checksum,
//! a whole IPv6 packet whose extension headers lead to a transport header, or an ARP packet.
//!
//! The first byte shapes the rest: 0 sends it as it is; 1 and 2 put it behind a valid
//! Ethernet + IPv4 / IPv6 header between the lab's addresses (so that the transport and
//! ICMP parsing, the engine and the rewrites are reached); 3 behind an ARP header. One
//! director and one engine live across inputs, their clock advancing 37 ms per input, so
//! that connections, neighbour entries and their timers build up and expire.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, OnceLock};

use lb_core::engine::{Engine, EngineConfig, Settings};
use lb_core::{ipvsadm, Ipvs, Time};
use lb_io::neigh::NeighParams;
use lb_io::path::{Director, Gateways, InterfaceConfig, LinkId};
use lb_io::wire::{
    ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, IpProtocol, Ipv4Packet,
    Ipv4Repr, Ipv6Packet, Ipv6Repr,
};
use libfuzzer_sys::fuzz_target;

const DIRECTOR_MAC: [u8; 6] = [0x02, 0xd1, 0, 0, 0, 0x01];
const PEER_MAC: [u8; 6] = [0x02, 0x6a, 0, 0, 0, 0x01];

const RULES: &[&str] = &[
    "-A -t 198.18.1.1:80 -s rr",
    "-a -t 198.18.1.1:80 -r 198.19.0.21:8080 -m",
    "-A -u 198.18.1.1:80 -s wlc",
    "-a -u 198.18.1.1:80 -r 198.19.0.21:8080 -m",
    "-A --sctp-service 198.18.1.1:80 -s rr",
    "-a --sctp-service 198.18.1.1:80 -r 198.19.0.21:8080 -m",
    "-A -t 198.18.1.1:81 -s sh -p 30",
    "-a -t 198.18.1.1:81 -r 198.19.0.21:81 -g",
    "-A -u 198.18.1.1:82 -s rr",
    "-a -u 198.18.1.1:82 -r 198.19.0.21:82 -i --tun-type gue --tun-port 6080",
    "-A -t 198.18.1.1:83 -s rr",
    "-a -t 198.18.1.1:83 -r 198.19.0.21:83 -i --tun-type gre --tun-csum",
    "-A -t 198.18.1.1:84 -s rr",
    "-a -t 198.18.1.1:84 -r [2001:db8:5::21]:84 -i",
    "-A -t 198.18.1.1:90 -s rr",
    "-a -t 198.18.1.1:90 -r 198.19.0.21:8080 -m -w 0",
    "-A -t [2001:db8:1::1]:80 -s rr",
    "-a -t [2001:db8:1::1]:80 -r [2001:db8:5::21]:8080 -m",
    "-A -u [2001:db8:1::1]:81 -s rr",
    "-a -u [2001:db8:1::1]:81 -r [2001:db8:5::21]:81 -g",
    "-A -t [2001:db8:1::1]:82 -s rr",
    "-a -t [2001:db8:1::1]:82 -r 198.19.0.21:82 -i",
];

/// The lab's addresses, as the templates pick them: client, VIP, real server, director.
const V4: [Ipv4Addr; 4] = [
    Ipv4Addr::new(198, 18, 0, 10),
    Ipv4Addr::new(198, 18, 1, 1),
    Ipv4Addr::new(198, 19, 0, 21),
    Ipv4Addr::new(198, 19, 0, 1),
];

fn v6(i: usize) -> Ipv6Addr {
    let all: [Ipv6Addr; 4] = [
        "2001:db8:c::10".parse().unwrap(),
        "2001:db8:1::1".parse().unwrap(),
        "2001:db8:5::21".parse().unwrap(),
        "2001:db8:5::1".parse().unwrap(),
    ];
    all[i % 4]
}

struct World {
    engine: Engine,
    director: Director,
    now_ms: u64,
    frame: Vec<u8>,
    out: Vec<u8>,
}

fn world() -> &'static Mutex<World> {
    static WORLD: OnceLock<Mutex<World>> = OnceLock::new();
    WORLD.get_or_init(|| {
        let settings = Settings {
            nat_icmp_send: true,
            memory_budget: 64 << 20,
            ..Settings::default()
        };
        let engine = Engine::new(Ipvs::new(), settings, EngineConfig::default());
        for line in RULES {
            let args: Vec<&str> = line.split(' ').collect();
            let cmd = ipvsadm::parse(&args).expect("rule parses");
            engine
                .configure(|ipvs| ipvsadm::apply(ipvs, &cmd))
                .expect("rule applies");
        }
        let mut link = InterfaceConfig::new(EthernetAddress(DIRECTOR_MAC));
        link.addrs = vec![
            "198.19.0.1/24".parse().unwrap(),
            "2001:db8:5::1/64".parse().unwrap(),
        ];
        link.mtu = 1400;
        let mut director = Director::new(vec![link], NeighParams::default());
        director.set_gateways(Gateways {
            v4: Some(Ipv4Addr::new(198, 19, 0, 254)),
            v6: Some("2001:db8:5::fe".parse().unwrap()),
        });
        let cache = &mut director.interfaces_mut()[0].neighbours.cache;
        cache.insert_permanent(
            IpAddr::V4(Ipv4Addr::new(198, 19, 0, 254)),
            EthernetAddress(PEER_MAC),
        );
        cache.insert_permanent(IpAddr::V4(V4[2]), EthernetAddress(PEER_MAC));
        director.own(LinkId(0), IpAddr::V4(V4[1]));
        director.own(LinkId(0), IpAddr::V6(v6(1)));
        Mutex::new(World {
            engine,
            director,
            now_ms: 1_000,
            frame: Vec::new(),
            out: vec![0; 65536 + 128],
        })
    })
}

/// An Ethernet header from the peer to the director.
fn ethernet(frame: &mut Vec<u8>, ethertype: EtherType) {
    frame.extend_from_slice(&DIRECTOR_MAC);
    frame.extend_from_slice(&PEER_MAC);
    frame.extend_from_slice(&ethertype.0.to_be_bytes());
}

/// Builds the received frame from the input.
fn shape(data: &[u8], frame: &mut Vec<u8>) {
    frame.clear();
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 4 {
        1 if rest.len() >= 3 => {
            ethernet(frame, EtherType::IPV4);
            let (head, payload) = rest.split_at(3);
            let ip = Ipv4Repr {
                src_addr: V4[usize::from(head[1] & 3)],
                dst_addr: V4[usize::from((head[1] >> 2) & 3)],
                protocol: IpProtocol(head[0]),
                payload_len: payload.len().min(65000),
                ttl: head[2],
                tos: head[1] & 0xF0,
                ident: 1,
                dont_frag: head[1] & 0x10 != 0,
                more_frags: false,
                frag_offset: 0,
            };
            let at = frame.len();
            frame.resize(at + 20, 0);
            let _ = ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[at..]));
            frame.extend_from_slice(&payload[..ip.payload_len]);
        }
        2 if rest.len() >= 3 => {
            ethernet(frame, EtherType::IPV6);
            let (head, payload) = rest.split_at(3);
            let ip = Ipv6Repr {
                src_addr: v6(usize::from(head[1] & 3)),
                dst_addr: v6(usize::from((head[1] >> 2) & 3)),
                next_header: IpProtocol(head[0]),
                payload_len: payload.len().min(65000),
                hop_limit: head[2],
                traffic_class: head[1] & 0xF0,
                flow_label: 0,
            };
            let at = frame.len();
            frame.resize(at + 40, 0);
            let _ = ip.emit(&mut Ipv6Packet::new_unchecked(&mut frame[at..]));
            frame.extend_from_slice(&payload[..ip.payload_len]);
        }
        3 => {
            ethernet(frame, EtherType::ARP);
            frame.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]);
            frame.extend_from_slice(rest);
        }
        _ => frame.extend_from_slice(rest),
    }
}

/// Every frame the director sends parses with lb-io's views.
fn assert_parses(frame: &[u8]) {
    let eth = EthernetFrame::new_checked(frame).expect("an Ethernet header");
    let payload = eth.payload();
    match eth.inner_ethertype() {
        EtherType::IPV4 => {
            let ip = Ipv4Packet::new_checked(payload).expect("a whole IPv4 packet");
            assert!(ip.verify_checksum(), "IPv4 header checksum");
            assert_eq!(
                payload.len(),
                usize::from(ip.total_len()),
                "no trailing bytes"
            );
        }
        EtherType::IPV6 => {
            let ip = Ipv6Packet::new_checked(payload).expect("a whole IPv6 packet");
            ip.transport()
                .expect("extension headers lead to a transport header");
            assert_eq!(
                payload.len(),
                40 + usize::from(ip.payload_len()),
                "no trailing bytes"
            );
        }
        EtherType::ARP => {
            let arp = ArpPacket::new_checked(payload).expect("an ARP packet");
            ArpRepr::parse(&arp).expect("an IPv4-over-Ethernet ARP packet");
        }
        other => panic!("sent a frame of EtherType {:#06x}", other.0),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut guard = world().lock().unwrap_or_else(|p| p.into_inner());
    let w = &mut *guard;
    w.now_ms += 37;
    let now = Time::from_millis(w.now_ms);
    if w.now_ms % 1000 < 37 {
        w.engine.housekeeping(now);
        w.director.poll(now, &mut |_, f| assert_parses(f));
    }
    shape(data, &mut w.frame);
    let outcome = w
        .director
        .process(&w.engine, LinkId(0), &mut w.frame, now, &mut w.out);
    if let Some(e) = outcome.in_place {
        assert_parses(&w.frame[..e.len]);
    }
    if let Some(e) = outcome.built {
        assert_parses(&w.out[..e.len]);
    }
    for f in outcome.released.iter().flat_map(|r| &r.frames) {
        assert_parses(f);
    }
});

//! Nothing panics on any input: every rewrite, ICMP and neighbour entry point is fed every
//! truncation of valid frames and seeded random corruptions of them, with output buffers of
//! every size class; whatever succeeds must report a length inside its buffer and produce a
//! frame that parses again.

mod rewrite_support;

use std::net::IpAddr;

use lb_core::{Time, TunnelCsum, TunnelType};
use lb_io::neigh::{NeighParams, Neighbours};
use lb_io::rewrite::{
    direct_route, icmp_embedded_flow, icmp_error, icmp_relay_to_client, icmp_relay_to_server,
    nat_in, nat_out, tunnel, IcmpError, IcmpSource, IpIdCounter, NatTarget, Tunnel,
};
use rewrite_support::*;

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for family in FAMILIES {
        for l4 in [L4::Tcp, L4::Udp, L4::UdpNoCsum, L4::Sctp, L4::Echo] {
            frames.push(
                Spec {
                    v6_exts: family == Family::V6,
                    vlans: Vlans::Single(3),
                    ..Spec::request(family, l4)
                }
                .build(),
            );
            frames.push(Spec::reply(family, l4).build());
        }
    }
    // ICMP errors quoting packets, through the generator itself.
    for family in FAMILIES {
        let offending = Spec::reply(family, L4::Tcp).build();
        let director = match family {
            Family::V4 => IpAddr::V4(DIP4),
            Family::V6 => IpAddr::V6(dip6()),
        };
        let mut out = vec![0u8; 2048];
        let len = icmp_error(
            &offending,
            IcmpError::PortUnreachable,
            IcmpSource {
                director_addr: director,
                from_packet_destination: false,
            },
            &fwd(GATEWAY_MAC, 1500),
            &mut IpIdCounter::new(0),
            &mut out,
        )
        .unwrap();
        frames.push(out[..len].to_vec());
    }
    // ARP and neighbour discovery.
    let mut out = [0u8; 128];
    let len = lb_io::neigh::arp_request(
        mac(CLIENT_MAC),
        CIP4,
        VIP4,
        None,
        lb_io::wire::VlanStack::None,
        &mut out,
    )
    .unwrap();
    frames.push(out[..len].to_vec());
    let len = lb_io::neigh::neighbour_solicitation(
        mac(CLIENT_MAC),
        cip6(),
        vip6(),
        None,
        lb_io::wire::VlanStack::None,
        &mut out,
    )
    .unwrap();
    frames.push(out[..len].to_vec());
    frames
}

/// Runs every entry point on `frame`; checks reported lengths.
fn exercise(frame: &[u8], out_len: usize, neighbours: &mut Neighbours) {
    let mut out = vec![0u8; out_len];
    let check = |r: Result<usize, _>, buf_len: usize| {
        if let Ok(len) = r {
            assert!(len <= buf_len);
        }
    };
    for addr in [IpAddr::V4(RIP4), IpAddr::V6(rip6())] {
        let target = NatTarget { addr, port: 8080 };
        let mut f = frame.to_vec();
        check(nat_in(&mut f, target, &fwd(RS_MAC, 1500)), f.len());
        let mut f = frame.to_vec();
        check(nat_out(&mut f, target, &fwd(RS_MAC, 1500)), f.len());
        let mut f = frame.to_vec();
        check(
            icmp_relay_to_client(&mut f, target, &fwd(RS_MAC, 1500)),
            f.len(),
        );
        let mut f = frame.to_vec();
        check(
            icmp_relay_to_server(&mut f, target, &fwd(RS_MAC, 1500)),
            f.len(),
        );
        for (kind, csum) in [
            (TunnelType::Ipip, TunnelCsum::NoCsum),
            (TunnelType::Gue, TunnelCsum::Csum),
            (TunnelType::Gre, TunnelCsum::Csum),
        ] {
            let src = match addr {
                IpAddr::V4(_) => IpAddr::V4(DIP4),
                IpAddr::V6(_) => IpAddr::V6(dip6()),
            };
            let t = Tunnel {
                kind,
                csum,
                gue_port: 6080,
                src,
                dst: addr,
                pmtu_disc: true,
                flow_hash_seed: 1,
            };
            let mut f = frame.to_vec();
            let r = tunnel(
                &mut f,
                &mut out,
                &t,
                &fwd(RS_MAC, 1500),
                &mut IpIdCounter::new(0),
            );
            check(r, out.len());
        }
        for kind in [
            IcmpError::TimeExceeded,
            IcmpError::TooBig { mtu: 1280 },
            IcmpError::PortUnreachable,
        ] {
            let source = IcmpSource {
                director_addr: addr,
                from_packet_destination: true,
            };
            for mtu in [0, 68, 1500] {
                let r = icmp_error(
                    frame,
                    kind,
                    source,
                    &fwd(GATEWAY_MAC, mtu),
                    &mut IpIdCounter::new(0),
                    &mut out,
                );
                if let Ok(len) = r {
                    assert!(len <= out.len());
                    verify_frame(&out[..len], false);
                }
            }
        }
    }
    let mut f = frame.to_vec();
    check(direct_route(&mut f, &fwd(RS_MAC, 1500)), f.len());
    let _ = icmp_embedded_flow(frame);
    if let Ok(handled) = neighbours.handle_frame(frame, Time::from_secs(1), &mut out) {
        if let Some(len) = handled.reply_len {
            assert!(len <= out.len());
        }
    }
}

#[test]
fn truncations_never_panic() {
    let mut neighbours = Neighbours::new(NeighParams::default());
    neighbours.owned.add(IpAddr::V4(VIP4), mac(DIRECTOR_MAC));
    neighbours.owned.add(IpAddr::V6(vip6()), mac(DIRECTOR_MAC));
    for frame in seeds() {
        for len in 0..=frame.len() {
            exercise(&frame[..len], 2048, &mut neighbours);
        }
    }
}

#[test]
fn corruptions_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut neighbours = Neighbours::new(NeighParams::default());
    neighbours.owned.add(IpAddr::V4(VIP4), mac(DIRECTOR_MAC));
    neighbours.owned.add(IpAddr::V6(vip6()), mac(DIRECTOR_MAC));
    let seeds = seeds();
    for round in 0..3000 {
        let mut frame = seeds[round % seeds.len()].clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(frame.len());
            frame[at] = rng.next() as u8;
        }
        let out_len = [0, 40, 90, 2048][rng.below(4)];
        exercise(&frame, out_len, &mut neighbours);
    }
}

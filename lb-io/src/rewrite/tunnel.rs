//! Tunnelling (spec §7.3, `ip_vs_tunnel_xmit` / `ip_vs_tunnel_xmit_v6`): the packet, its TTL
//! decremented, is put whole inside a new IP header (IPv4 or IPv6 outer, either inner), bare
//! (IPIP: protocol 4 for IPv4 inside, 41 for IPv6), behind UDP and a GUE header, or behind
//! GRE.
//!
//! The outer header follows the kernel:
//! - TOS / traffic class: the inner DS field with the ECN encapsulation rule of
//!   `INET_ECN_encapsulate` — DSCP copied, ECN copied except CE, which becomes ECT(0);
//! - IPv4 DF: the inner DF when `pmtu_disc` is on and the inner packet is IPv4, else clear
//!   (`ip_vs_prepare_tunneled_skb` reports no DF for IPv6 inside);
//! - IPv4 identification: 0 when DF is set, as `ip_select_ident` gives a forwarded packet
//!   without a socket; otherwise the next value of the caller's [`IpIdCounter`];
//! - TTL / hop limit: the inner one after the decrement; IPv6 flow label 0;
//! - GUE: UDP from a port chosen by [`gue_source_port`] from a flow hash of the inner packet,
//!   to the configured port, then 4 bytes: version 0, no flags, `proto_ctype` = 4 or 41. The
//!   UDP checksum is 0 unless the checksum option (`--tun-csum` or `--tun-remcsum`) is set,
//!   over IPv6 too (RFC 6935 zero-checksum tunnels). Remote checksum offload adds its private
//!   option only for packets whose checksum is left to offload (`CHECKSUM_PARTIAL`), which a
//!   received frame never is: here it is the same as `--tun-csum`;
//! - GRE: 4 bytes (flags 0, protocol 0x0800 / 0x86DD), or 8 with `--tun-csum` (C bit, and
//!   the Internet checksum of the GRE header and payload). `--tun-remcsum` means nothing to
//!   GRE in the kernel and gives no checksum.

use std::net::IpAddr;

use lb_core::{TunnelConf, TunnelCsum, TunnelType};

use super::error::RewriteError;
use super::frame::{put_u16, set_macs, Fragment, IpFrame, IpVersion};
use super::Forwarding;
use crate::wire::checksum::{self, PseudoHeader};
use crate::wire::{EtherType, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr};

/// The length of the UDP header of a GUE tunnel.
const UDP_LEN: usize = 8;
/// The length of the GUE header (no options).
const GUE_LEN: usize = 4;
/// The length of the GRE base header.
const GRE_LEN: usize = 4;
/// The length of the GRE header with its checksum field.
const GRE_CSUM_LEN: usize = 8;
/// The GRE C (checksum present) flag.
const GRE_FLAG_CSUM: u16 = 0x8000;
/// The smallest tunnel MTU the kernel accepts under an IPv4 outer header.
const MIN_TUNNEL_MTU_V4: u32 = 68;
/// The smallest tunnel MTU the kernel accepts under an IPv6 outer header (`IPV6_MIN_MTU`).
const MIN_TUNNEL_MTU_V6: u32 = 1280;
/// The ephemeral port range of `net.ipv4.ip_local_port_range`'s default, from which the
/// kernel's `udp_flow_src_port` picks GUE source ports.
const LOCAL_PORT_MIN: u32 = 32768;
const LOCAL_PORT_MAX: u32 = 60999;

/// The tunnel to a real server: what its destination configuration (`--tun-type`,
/// `--tun-port`, `--tun-*csum`) and the route to it say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tunnel {
    /// IPIP, GUE or GRE.
    pub kind: TunnelType,
    /// Checksum option (GUE: UDP checksum; GRE: GRE checksum).
    pub csum: TunnelCsum,
    /// GUE's UDP destination port (`--tun-port`); ignored by IPIP and GRE.
    pub gue_port: u16,
    /// Outer source: the director's address toward the real server (the route's preferred
    /// source in the kernel).
    pub src: IpAddr,
    /// Outer destination: the real server.
    pub dst: IpAddr,
    /// The `pmtu_disc` sysctl (default on): copy the inner DF and refuse DF packets that do
    /// not fit; off lets every IPv4 packet through, to be fragmented.
    pub pmtu_disc: bool,
    /// Seed of the flow hash from which GUE source ports are drawn (the kernel's is random
    /// per boot; any fixed value keeps each flow on one port).
    pub flow_hash_seed: u32,
}

impl Tunnel {
    /// The tunnel to a destination configured with `conf`, from our address `src` to the
    /// real server `dst`, with `pmtu_disc` on and flow hash seed 0.
    pub fn new(conf: &TunnelConf, src: IpAddr, dst: IpAddr) -> Tunnel {
        Tunnel {
            kind: conf.kind,
            csum: conf.csum,
            gue_port: conf.port,
            src,
            dst,
            pmtu_disc: true,
            flow_hash_seed: 0,
        }
    }

    fn outer_version(&self) -> IpVersion {
        IpVersion::of(&self.dst)
    }

    fn outer_ip_len(&self) -> usize {
        match self.outer_version() {
            IpVersion::V4 => crate::wire::ipv4::MIN_HEADER_LEN,
            IpVersion::V6 => crate::wire::ipv6::HEADER_LEN,
        }
    }

    fn gre_csum(&self) -> bool {
        self.csum == TunnelCsum::Csum
    }

    fn gue_csum(&self) -> bool {
        matches!(self.csum, TunnelCsum::Csum | TunnelCsum::RemCsum)
    }

    /// The bytes between the outer IP header and the inner packet.
    fn encap_len(&self) -> usize {
        match self.kind {
            TunnelType::Ipip => 0,
            TunnelType::Gue => UDP_LEN + GUE_LEN,
            TunnelType::Gre if self.gre_csum() => GRE_CSUM_LEN,
            TunnelType::Gre => GRE_LEN,
        }
    }

    /// Every byte the tunnel adds in front of the inner packet: the outer IP header and the
    /// GUE / GRE headers (what the kernel takes off the route MTU, spec §7.0.4).
    pub fn overhead(&self) -> usize {
        self.outer_ip_len() + self.encap_len()
    }

    /// The MTU inner packets must fit: the route MTU less [`overhead`](Self::overhead).
    pub fn inner_mtu(&self, route_mtu: u32) -> u32 {
        route_mtu.saturating_sub(self.overhead() as u32)
    }
}

/// The identification of IPv4 headers the director builds itself (tunnel outer headers,
/// ICMP errors): a wrapping counter the caller keeps, one per sender as it sees fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpIdCounter {
    next: u16,
}

impl IpIdCounter {
    /// A counter whose first identification is `first`.
    pub fn new(first: u16) -> IpIdCounter {
        IpIdCounter { next: first }
    }

    /// The next identification.
    pub fn next_id(&mut self) -> u16 {
        let id = self.next;
        self.next = self.next.wrapping_add(1);
        id
    }
}

/// The GUE source port the kernel's `udp_flow_src_port` derives from a flow hash: the hash,
/// folded as `h ^ (h << 16)`, scaled into the default ephemeral range 32768..=60998.
pub fn gue_source_port(flow_hash: u32) -> u16 {
    let h = flow_hash ^ (flow_hash << 16);
    let span = u64::from(LOCAL_PORT_MAX - LOCAL_PORT_MIN);
    ((u64::from(h) * span) >> 32) as u16 + LOCAL_PORT_MIN as u16
}

/// One round of MurmurHash3's 32-bit block mix.
fn murmur_round(h: u32, word: u32) -> u32 {
    let k = word
        .wrapping_mul(0xcc9e_2d51)
        .rotate_left(15)
        .wrapping_mul(0x1b87_3593);
    (h ^ k)
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

/// MurmurHash3's 32-bit finaliser.
fn murmur_finish(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// A seeded hash of an inner packet's flow: addresses and protocol, and the ports of a TCP,
/// UDP or SCTP packet that is not a fragment (the kernel's flow dissector does not read the
/// ports of fragments either, so all pieces of a datagram hash alike).
fn flow_hash(frame: &[u8], ip: &IpFrame, seed: u32) -> u32 {
    let mut h = seed;
    let mut words = 0u32;
    let mut add = |h: &mut u32, w: u32| {
        *h = murmur_round(*h, w);
        words += 1;
    };
    for addr in [ip.src_addr(frame), ip.dst_addr(frame)] {
        match addr {
            IpAddr::V4(a) => add(&mut h, a.to_bits()),
            IpAddr::V6(a) => {
                for chunk in a.octets().chunks_exact(4) {
                    add(
                        &mut h,
                        u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]),
                    );
                }
            }
        }
    }
    add(&mut h, u32::from(ip.protocol.0));
    let has_ports = matches!(
        ip.protocol,
        IpProtocol::TCP | IpProtocol::UDP | IpProtocol::SCTP
    );
    if has_ports && ip.fragment == Fragment::Whole {
        if let Some(ports) = ip.transport(frame).get(..4) {
            add(
                &mut h,
                u32::from_be_bytes([ports[0], ports[1], ports[2], ports[3]]),
            );
        }
    }
    murmur_finish(h ^ (words * 4))
}

/// The ECN encapsulation rule (`INET_ECN_encapsulate`): the DS field copied, except that a
/// CE mark becomes ECT(0) outside.
pub fn ecn_encapsulate(ds_field: u8) -> u8 {
    if ds_field & 0x03 == 0x03 {
        (ds_field & !0x03) | 0x02
    } else {
        ds_field
    }
}

/// The kernel's MTU checks for a tunnelled packet: the tunnel MTU must be at least 68 (IPv4
/// outer) / 1280 (IPv6 outer); then IPv6 inside must fit it; IPv4 inside must fit it when it
/// has DF and `pmtu_disc` is on, and otherwise is let through for the outer packet to be
/// fragmented.
fn check_tunnel_mtu(
    frame: &[u8],
    ip: &IpFrame,
    tun: &Tunnel,
    route_mtu: u32,
) -> Result<(), RewriteError> {
    let mtu = tun.inner_mtu(route_mtu);
    let min = match tun.outer_version() {
        IpVersion::V4 => MIN_TUNNEL_MTU_V4,
        IpVersion::V6 => MIN_TUNNEL_MTU_V6,
    };
    if mtu < min {
        return Err(RewriteError::TunnelMtuTooSmall { mtu });
    }
    let outer_payload = tun.encap_len() + ip.ip_len;
    let outer_limit = match tun.outer_version() {
        IpVersion::V4 => usize::from(u16::MAX) - tun.outer_ip_len(),
        IpVersion::V6 => usize::from(u16::MAX),
    };
    if outer_payload > outer_limit {
        return Err(RewriteError::NeedsFragmenting { mtu: route_mtu });
    }
    if ip.ip_len as u64 <= u64::from(mtu) {
        return Ok(());
    }
    let relaying = ip.is_related_icmp_error(frame);
    match ip.version {
        IpVersion::V4 if tun.pmtu_disc && ip.dont_frag(frame) && !relaying => {
            Err(RewriteError::TooBig { mtu, icmp: true })
        }
        IpVersion::V4 => Err(RewriteError::NeedsFragmenting { mtu: route_mtu }),
        IpVersion::V6 => ip.check_mtu(frame, mtu, relaying),
    }
}

/// Encapsulates a frame's IP packet for a tunnelled real server: TTL / hop limit − 1 in
/// `frame` (as the kernel does to the packet before wrapping it), the MTU checks, then into
/// `out`: the Ethernet header of `frame` (its VLAN tags kept) with the addresses of `fwd` and
/// the outer family's EtherType, the outer IP header, the GUE / GRE headers, the packet.
/// `fwd.mtu` is the route MTU toward the real server; packets are checked against it less
/// [`Tunnel::overhead`].
///
/// Returns the length of the frame written to `out`. On [`RewriteError::TooBig`] the TTL in
/// `frame` has already been decremented, as in the kernel; on other errors `frame` is
/// untouched. What `out` holds after an error is meaningless.
pub fn tunnel(
    frame: &mut [u8],
    out: &mut [u8],
    tun: &Tunnel,
    fwd: &Forwarding,
    ids: &mut IpIdCounter,
) -> Result<usize, RewriteError> {
    let ip = IpFrame::parse(frame)?;
    tunnel_parsed(frame, &ip, out, tun, fwd, ids)
}

/// [`tunnel`] of a frame already parsed into `ip` (by the packet path, which read it).
#[inline(always)]
pub(crate) fn tunnel_parsed(
    frame: &mut [u8],
    ip: &IpFrame,
    out: &mut [u8],
    tun: &Tunnel,
    fwd: &Forwarding,
    ids: &mut IpIdCounter,
) -> Result<usize, RewriteError> {
    match ipip_v4(frame, ip, out, tun, fwd, ids) {
        Some(done) => done,
        None => tunnel_general(frame, ip, out, tun, fwd, ids),
    }
}

/// TTL − 1 in an IPv4 header whose TTL is above 1, its checksum updated.
#[inline(always)]
fn decrement_ttl(header: &mut [u8; crate::wire::ipv4::MIN_HEADER_LEN]) {
    let (ttl, proto) = (header[8], u16::from(header[9]));
    let checksum_in = u16::from_be_bytes([header[10], header[11]]);
    let c = checksum::update_word(
        checksum_in,
        (u16::from(ttl) << 8) | proto,
        (u16::from(ttl.wrapping_sub(1)) << 8) | proto,
    );
    header[8] = ttl.wrapping_sub(1);
    header[10..12].copy_from_slice(&c.to_be_bytes());
}

/// The tunnel of the common case, an IPv4 packet in a bare IPIP tunnel over IPv4, in one
/// pass over fixed-size views of the headers: the same checks in the same order as the
/// general path (the output buffer, the TTL, then the tunnel MTU, whose refusals it leaves
/// to [`check_tunnel_mtu`]), then into `out` the Ethernet header (its VLAN tags kept), the
/// packet, and the outer header with [`Ipv4Repr::emit`]'s values written as five words; the
/// TTL and its checksum are updated in the copy and in `frame`. `None` for any other tunnel
/// or packet (or a frame whose header is not where the parse put it, which does not
/// happen), left to the general path; `frame` is untouched then.
#[inline(always)]
fn ipip_v4(
    frame: &mut [u8],
    ip: &IpFrame,
    out: &mut [u8],
    tun: &Tunnel,
    fwd: &Forwarding,
    ids: &mut IpIdCounter,
) -> Option<Result<usize, RewriteError>> {
    const OUTER_LEN: usize = crate::wire::ipv4::MIN_HEADER_LEN;
    // Matched in place: a copy of both addresses would read what was just written.
    let (&IpAddr::V4(src), &IpAddr::V4(dst)) = (&tun.src, &tun.dst) else {
        return None;
    };
    if tun.kind != TunnelType::Ipip || ip.version != IpVersion::V4 {
        return None;
    }
    let needed = ip.l3 + OUTER_LEN + ip.ip_len;
    if out.len() < needed {
        return Some(Err(RewriteError::BufferTooSmall { needed }));
    }
    // Every view taken before anything is written: from here on, no way back.
    let (out_head, out_rest) = out.get_mut(..needed)?.split_at_mut_checked(ip.l3)?;
    let (outer, inner) = out_rest.split_first_chunk_mut::<OUTER_LEN>()?;
    let (head, packet) = frame.get_mut(..ip.end())?.split_at_mut_checked(ip.l3)?;
    let (ethertype_at, tags) = (out_head.len().checked_sub(2)?, head.get(12..)?);
    if inner.len() != packet.len() {
        return None;
    }
    let header = packet.first_chunk::<OUTER_LEN>()?;

    let ttl = header[8];
    if ttl <= 1 {
        return Some(Err(RewriteError::TtlExceeded));
    }
    let mtu = fwd.mtu.saturating_sub(OUTER_LEN as u32);
    let fits = mtu >= MIN_TUNNEL_MTU_V4
        && ip.ip_len as u64 <= u64::from(mtu)
        && ip.ip_len <= usize::from(u16::MAX) - OUTER_LEN;
    if !fits {
        // The refusal (too big, to fragment, MTU too small), as the general path says it,
        // after the TTL's decrement in `frame` as there.
        decrement_ttl(packet.first_chunk_mut::<OUTER_LEN>()?);
        return Some(
            check_tunnel_mtu(frame, ip, tun, fwd.mtu)
                .and(Err(RewriteError::NeedsFragmenting { mtu: fwd.mtu })),
        );
    }
    let tos = ecn_encapsulate(header[1]);
    let dont_frag = tun.pmtu_disc && header[6] & 0x40 != 0;

    // Ethernet: the addresses of `fwd`, the tags as received, IPv4 (it was already).
    out_head[..6].copy_from_slice(&fwd.dst_mac.0);
    out_head[6..12].copy_from_slice(&fwd.src_mac.0);
    out_head[12..].copy_from_slice(tags);
    out_head[ethertype_at..].copy_from_slice(&EtherType::IPV4.0.to_be_bytes());

    // The packet is copied before its TTL is decremented (in the copy and in `frame`, as
    // the general path leaves it): a wide load of bytes just written by narrow stores
    // would wait for them.
    inner.copy_from_slice(packet);
    decrement_ttl(inner.first_chunk_mut::<OUTER_LEN>()?);
    decrement_ttl(packet.first_chunk_mut::<OUTER_LEN>()?);

    // The outer header as five 32-bit words, its checksum summed from them rather than
    // read back from the bytes just written.
    let ident = if dont_frag { 0 } else { ids.next_id() };
    let total_len = (OUTER_LEN + ip.ip_len) as u32;
    let flags = if dont_frag { 0x4000u32 } else { 0 };
    let words = [
        0x4500_0000 | u32::from(tos) << 16 | total_len,
        u32::from(ident) << 16 | flags,
        u32::from(ttl - 1) << 24 | u32::from(IpProtocol::IPIP.0) << 16,
        src.to_bits(),
        dst.to_bits(),
    ];
    let sum = !checksum::sum_words(&words);
    let words = [
        words[0],
        words[1],
        words[2] | u32::from(sum),
        words[3],
        words[4],
    ];
    for (bytes, word) in outer.as_chunks_mut::<4>().0.iter_mut().zip(words) {
        *bytes = word.to_be_bytes();
    }
    Some(Ok(needed))
}

/// [`tunnel_parsed`] for any packet and tunnel, one step at a time.
fn tunnel_general(
    frame: &mut [u8],
    ip: &IpFrame,
    out: &mut [u8],
    tun: &Tunnel,
    fwd: &Forwarding,
    ids: &mut IpIdCounter,
) -> Result<usize, RewriteError> {
    let ip = *ip;
    if IpVersion::of(&tun.src) != tun.outer_version() {
        return Err(RewriteError::FamilyMismatch);
    }
    let inner_at = ip.l3 + tun.overhead();
    let needed = inner_at + ip.ip_len;
    if out.len() < needed {
        return Err(RewriteError::BufferTooSmall { needed });
    }
    ip.check_ttl(frame)?;
    ip.decrement_ttl(frame);
    check_tunnel_mtu(frame, &ip, tun, fwd.mtu)?;

    let ttl = ip.ttl(frame);
    let ds_field = ecn_encapsulate(ip.ds_field(frame));
    let dont_frag = ip.version == IpVersion::V4 && tun.pmtu_disc && ip.dont_frag(frame);
    let (inner_proto, inner_ethertype) = match ip.version {
        IpVersion::V4 => (IpProtocol::IPIP, EtherType::IPV4),
        IpVersion::V6 => (IpProtocol::IPV6, EtherType::IPV6),
    };

    let (head, rest) = out.split_at_mut(ip.l3);
    head.copy_from_slice(frame.get(..ip.l3).unwrap_or(&[]));
    set_macs(head, fwd.src_mac, fwd.dst_mac);
    // The payload's EtherType is the last field before the IP header (after the VLAN tags
    // copied with the header).
    if let Some(ethertype) = head.last_chunk_mut::<2>() {
        *ethertype = tun.outer_version().ethertype().0.to_be_bytes();
    }

    let rest = &mut rest[..needed - ip.l3];
    let outer_len = tun.outer_ip_len();
    let (outer, encap_and_inner) = rest.split_at_mut(outer_len);
    encap_and_inner[tun.encap_len()..].copy_from_slice(ip.packet(frame));

    let outer_proto = match tun.kind {
        TunnelType::Ipip => inner_proto,
        TunnelType::Gue => {
            let sport = gue_source_port(flow_hash(frame, &ip, tun.flow_hash_seed));
            let udp_len = encap_and_inner.len() as u16;
            put_u16(encap_and_inner, 0, sport);
            put_u16(encap_and_inner, 2, tun.gue_port);
            put_u16(encap_and_inner, 4, udp_len);
            put_u16(encap_and_inner, 6, 0);
            encap_and_inner[UDP_LEN..UDP_LEN + GUE_LEN].copy_from_slice(&[0, inner_proto.0, 0, 0]);
            IpProtocol::UDP
        }
        TunnelType::Gre => {
            let flags = if tun.gre_csum() { GRE_FLAG_CSUM } else { 0 };
            put_u16(encap_and_inner, 0, flags);
            put_u16(encap_and_inner, 2, inner_ethertype.0);
            if tun.gre_csum() {
                put_u16(encap_and_inner, 4, 0);
                put_u16(encap_and_inner, 6, 0);
                let sum = checksum::checksum(encap_and_inner);
                put_u16(encap_and_inner, 4, sum);
            }
            IpProtocol::GRE
        }
    };

    let payload_len = encap_and_inner.len();
    let pseudo = match (tun.src, tun.dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            let ident = if dont_frag { 0 } else { ids.next_id() };
            Ipv4Repr {
                src_addr: src,
                dst_addr: dst,
                protocol: outer_proto,
                payload_len,
                ttl,
                tos: ds_field,
                ident,
                dont_frag,
                more_frags: false,
                frag_offset: 0,
            }
            .emit(&mut Ipv4Packet::new_unchecked(&mut *outer))?;
            PseudoHeader::v4(src, dst)
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            Ipv6Repr {
                src_addr: src,
                dst_addr: dst,
                next_header: outer_proto,
                payload_len,
                hop_limit: ttl,
                traffic_class: ds_field,
                flow_label: 0,
            }
            .emit(&mut Ipv6Packet::new_unchecked(&mut *outer))?;
            PseudoHeader::v6(src, dst)
        }
        _ => return Err(RewriteError::FamilyMismatch),
    };

    if tun.kind == TunnelType::Gue && tun.gue_csum() {
        let sum = checksum::transport_checksum(&pseudo, IpProtocol::UDP, encap_and_inner, 6);
        put_u16(encap_and_inner, 6, checksum::udp_checksum_field(sum));
    }
    Ok(needed)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::wire::EthernetAddress;

    /// An Ethernet frame (with one 802.1Q tag if `vlan`) holding an IPv4 packet with
    /// `options` bytes of options, of `protocol` (6: a TCP-like payload; 1: an ICMP
    /// destination unreachable), `payload` bytes after the header, its header checksum
    /// right, then 4 bytes of link padding.
    fn frame(vlan: bool, ttl: u8, tos: u8, flags: u16, options: usize, protocol: u8) -> Vec<u8> {
        frame_of(vlan, ttl, tos, flags, options, protocol, 28)
    }

    fn frame_of(
        vlan: bool,
        ttl: u8,
        tos: u8,
        flags: u16,
        options: usize,
        protocol: u8,
        payload: usize,
    ) -> Vec<u8> {
        let l3 = if vlan { 18 } else { 14 };
        let header_len = 20 + options;
        let total = header_len + payload;
        let mut f = vec![0u8; l3 + total + 4];
        f[..12].copy_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
        if vlan {
            f[12..16].copy_from_slice(&[0x81, 0x00, 0x20, 0x07]);
        }
        f[l3 - 2..l3].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[l3..l3 + total];
        ip[0] = 0x40 | (header_len / 4) as u8;
        ip[1] = tos;
        ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&0x1234u16.to_be_bytes());
        ip[6..8].copy_from_slice(&flags.to_be_bytes());
        ip[8] = ttl;
        ip[9] = protocol;
        ip[12..16].copy_from_slice(&[198, 18, 0, 10]);
        ip[16..20].copy_from_slice(&[198, 18, 1, 1]);
        for (i, b) in ip[20..].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(29).wrapping_add(3);
        }
        if protocol == 1 {
            ip[header_len] = 3;
        }
        let sum = checksum::checksum(&ip[..header_len]);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f
    }

    fn ipip(pmtu_disc: bool) -> Tunnel {
        let conf = TunnelConf {
            kind: TunnelType::Ipip,
            port: 0,
            csum: TunnelCsum::NoCsum,
        };
        Tunnel {
            pmtu_disc,
            ..Tunnel::new(
                &conf,
                IpAddr::V4(Ipv4Addr::new(198, 19, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(198, 19, 0, 21)),
            )
        }
    }

    /// Runs both paths on copies of `original`; asserts the same result, the same frame,
    /// output buffer and identification counter after.
    fn same(original: &[u8], tun: &Tunnel, mtu: u32, out_len: usize, what: &str) {
        let fwd = Forwarding {
            src_mac: EthernetAddress([2, 0xd1, 0, 0, 0, 1]),
            dst_mac: EthernetAddress([2, 0x6a, 0, 0, 0, 9]),
            mtu,
        };
        let ip = IpFrame::parse(original).unwrap();
        let (mut fa, mut fb) = (original.to_vec(), original.to_vec());
        let (mut oa, mut ob) = (vec![0xa5u8; out_len], vec![0xa5u8; out_len]);
        let (mut ia, mut ib) = (IpIdCounter::new(0xfffe), IpIdCounter::new(0xfffe));
        let fast = ipip_v4(&mut fa, &ip, &mut oa, tun, &fwd, &mut ia);
        let general = tunnel_general(&mut fb, &ip, &mut ob, tun, &fwd, &mut ib);
        assert_eq!(fast, Some(general), "{what}");
        assert_eq!(fa, fb, "frame, {what}");
        assert_eq!(oa, ob, "output, {what}");
        assert_eq!(ia, ib, "identification, {what}");
    }

    /// The one-pass IPIP tunnel gives what the step-by-step path gives — result, every byte
    /// of the frame and of the output buffer, the identification counter — for TTLs around
    /// the limit, DF on and off (with `pmtu_disc` on and off), first fragments, ECN CE and
    /// other DS fields, IP options, a VLAN tag, relayed ICMP errors, route MTUs below the
    /// tunnel minimum and on both sides of the packet's size, and output buffers one byte
    /// short.
    #[test]
    fn one_pass_ipip_equals_the_general_path() {
        let mut cases = 0;
        for vlan in [false, true] {
            for ttl in [0, 1, 2, 64] {
                for tos in [0x00, 0x03, 0xb9] {
                    for flags in [0x0000, 0x4000, 0x2000] {
                        for options in [0, 4] {
                            for protocol in [6, 1] {
                                let original = frame(vlan, ttl, tos, flags, options, protocol);
                                let l3 = if vlan { 18 } else { 14 };
                                let ip_len = 20 + options + 28;
                                let needed = l3 + 20 + ip_len;
                                let mtus =
                                    [40, 87, 88, 100, ip_len as u32 + 19, ip_len as u32 + 20];
                                for mtu in mtus.into_iter().chain([1500]) {
                                    for pmtu_disc in [true, false] {
                                        for out_len in [needed - 1, needed, 2048] {
                                            let what = format!(
                                                "{vlan} {ttl} {tos:#x} {flags:#x} {options} \
                                                 {protocol} {mtu} {pmtu_disc} {out_len}"
                                            );
                                            same(&original, &ipip(pmtu_disc), mtu, out_len, &what);
                                            cases += 1;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(cases, 2 * 4 * 3 * 3 * 2 * 2 * 7 * 2 * 3);
        // Packets too long for an outer IPv4 header.
        for payload in [65_535 - 20 - 20, 65_535 - 20 - 20 + 1, 65_535 - 20] {
            let original = frame_of(false, 64, 0, 0x4000, 0, 6, payload);
            same(
                &original,
                &ipip(true),
                70_000,
                70_000,
                &format!("{payload}"),
            );
        }
    }

    /// Tunnels and packets the one-pass path does not take: GUE and GRE, an IPv6 outer
    /// header or source, an IPv6 packet.
    #[test]
    fn one_pass_ipip_leaves_others_to_the_general_path() {
        let fwd = Forwarding {
            src_mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
            mtu: 1500,
        };
        let mut out = vec![0u8; 2048];
        let mut ids = IpIdCounter::default();
        let original = frame(false, 64, 0, 0, 0, 6);
        let ip = IpFrame::parse(&original).unwrap();
        let v6: IpAddr = "2001:db8::21".parse().unwrap();
        let others = [
            Tunnel {
                kind: TunnelType::Gue,
                ..ipip(true)
            },
            Tunnel {
                kind: TunnelType::Gre,
                ..ipip(true)
            },
            Tunnel {
                dst: v6,
                ..ipip(true)
            },
            Tunnel {
                src: v6,
                ..ipip(true)
            },
        ];
        for tun in others {
            let mut f = original.clone();
            assert_eq!(ipip_v4(&mut f, &ip, &mut out, &tun, &fwd, &mut ids), None);
            assert_eq!(f, original);
        }
        let mut v6_frame = vec![0u8; 14 + 40 + 8];
        v6_frame[..12].copy_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
        v6_frame[12..14].copy_from_slice(&[0x86, 0xdd]);
        v6_frame[14] = 0x60;
        v6_frame[18..20].copy_from_slice(&8u16.to_be_bytes());
        v6_frame[20] = 17;
        v6_frame[21] = 64;
        let ip = IpFrame::parse(&v6_frame).unwrap();
        let before = v6_frame.clone();
        let tun = ipip(true);
        assert_eq!(
            ipip_v4(&mut v6_frame, &ip, &mut out, &tun, &fwd, &mut ids),
            None
        );
        assert_eq!(v6_frame, before);
        assert_eq!(ids, IpIdCounter::default());
    }
}

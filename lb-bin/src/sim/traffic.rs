//! The packets `connect` and `close` send through the engine: a TCP handshake and its
//! close, one UDP datagram, an SCTP association set up and shut down.
//!
//! Each exchange lists every packet of both ends. The director sees a real server's packets
//! only for a NAT connection (spec §7.1); with direct routing, tunnelling and local delivery
//! the server answers the client directly, so the engine only sees the client's side and
//! runs its INPUT_ONLY tables (spec §5.2).

use std::net::{IpAddr, SocketAddr};

use lb_core::dest::FwdMethod;
use lb_core::engine::{PacketMeta, Side};
use lb_core::proto::{sctp::chunk, tcp};
use lb_core::Protocol;

/// Which end sends a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The client, to the virtual address.
    Client,
    /// The real server, to the client.
    Server,
}

/// What a packet is, for the protocol's state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// A TCP segment with these flags and no payload.
    Tcp(u8),
    /// A UDP datagram with no payload.
    Udp,
    /// An SCTP packet whose (only) chunk has this type.
    Sctp(u8),
}

/// One packet of an exchange.
pub type Step = (Sender, Segment);

/// TCP's three-way handshake: SYN, SYN-ACK, ACK.
const TCP_OPEN: [Step; 3] = [
    (Sender::Client, Segment::Tcp(tcp::SYN)),
    (Sender::Server, Segment::Tcp(tcp::SYN | tcp::ACK)),
    (Sender::Client, Segment::Tcp(tcp::ACK)),
];

/// The client closes first: its FIN, the server's FIN (acknowledging the client's), the
/// client's last ACK.
const TCP_CLOSE: [Step; 3] = [
    (Sender::Client, Segment::Tcp(tcp::FIN | tcp::ACK)),
    (Sender::Server, Segment::Tcp(tcp::FIN | tcp::ACK)),
    (Sender::Client, Segment::Tcp(tcp::ACK)),
];

/// One datagram.
const UDP_OPEN: [Step; 1] = [(Sender::Client, Segment::Udp)];

/// SCTP's four-way handshake: INIT, INIT ACK, COOKIE ECHO, COOKIE ACK.
const SCTP_OPEN: [Step; 4] = [
    (Sender::Client, Segment::Sctp(chunk::INIT)),
    (Sender::Server, Segment::Sctp(chunk::INIT_ACK)),
    (Sender::Client, Segment::Sctp(chunk::COOKIE_ECHO)),
    (Sender::Server, Segment::Sctp(chunk::COOKIE_ACK)),
];

/// The client shuts the association down: SHUTDOWN, SHUTDOWN ACK, SHUTDOWN COMPLETE.
const SCTP_CLOSE: [Step; 3] = [
    (Sender::Client, Segment::Sctp(chunk::SHUTDOWN)),
    (Sender::Server, Segment::Sctp(chunk::SHUTDOWN_ACK)),
    (Sender::Client, Segment::Sctp(chunk::SHUTDOWN_COMPLETE)),
];

/// The packets that open a connection of `proto`; the first one is the client's opener
/// (the packet that gets scheduled).
pub fn opening(proto: Protocol) -> &'static [Step] {
    match proto {
        Protocol::Tcp => &TCP_OPEN,
        Protocol::Udp => &UDP_OPEN,
        Protocol::Sctp => &SCTP_OPEN,
    }
}

/// The packets that end a connection of `proto`; `None` for UDP, which has no end: a UDP
/// connection only expires.
pub fn closing(proto: Protocol) -> Option<&'static [Step]> {
    match proto {
        Protocol::Tcp => Some(&TCP_CLOSE),
        Protocol::Udp => None,
        Protocol::Sctp => Some(&SCTP_CLOSE),
    }
}

/// True when the director sees packets that `sender` sends on a connection forwarded with
/// `method`: always the client's; the server's only through NAT.
pub fn director_sees(sender: Sender, method: FwdMethod) -> bool {
    sender == Sender::Client || method == FwdMethod::Masq
}

/// Bytes of the IP header of a packet from `addr`.
fn ip_header(addr: IpAddr) -> u32 {
    match addr {
        IpAddr::V4(_) => 20,
        IpAddr::V6(_) => 40,
    }
}

/// The IP length of a packet: headers only (TCP 20 bytes, UDP 8, SCTP a 12-byte common
/// header and a 20-byte chunk).
pub fn ip_len(segment: Segment, from: IpAddr) -> u32 {
    ip_header(from)
        + match segment {
            Segment::Tcp(_) => 20,
            Segment::Udp => 8,
            Segment::Sctp(_) => 32,
        }
}

/// The two ends of a connection as its packets carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// The client's address and port.
    pub client: SocketAddr,
    /// Where the client sends: the virtual address and port (for a firewall-mark service,
    /// whatever destination the marked packets have).
    pub vip: SocketAddr,
    /// The firewall mark of the client's packets (0: none).
    pub fwmark: u32,
    /// The real server's address and the port it answers from.
    pub server: SocketAddr,
}

impl Flow {
    /// The packet `step` of this flow, as the engine is given it.
    pub fn packet(&self, step: Step) -> PacketMeta {
        let (sender, segment) = step;
        let (src, dst) = match sender {
            Sender::Client => (self.client, self.vip),
            Sender::Server => (self.server, self.client),
        };
        let (s, d) = ((src.ip(), src.port()), (dst.ip(), dst.port()));
        let len = ip_len(segment, src.ip());
        let pkt = match segment {
            Segment::Tcp(flags) => PacketMeta::tcp(s, d, flags, len),
            Segment::Udp => PacketMeta::udp(s, d, len),
            Segment::Sctp(chunk_type) => PacketMeta::sctp(s, d, chunk_type, len),
        };
        match sender {
            // A client's packet is known to come from the clients' side.
            Sender::Client => pkt.with_fwmark(self.fwmark).from_side(Side::Client),
            // A server's packet is first looked up as a reply, as at LOCAL_IN (§2.4).
            Sender::Server => pkt.from_side(Side::Unknown),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchanges() {
        assert_eq!(
            opening(Protocol::Tcp),
            &[
                (Sender::Client, Segment::Tcp(0x02)),
                (Sender::Server, Segment::Tcp(0x12)),
                (Sender::Client, Segment::Tcp(0x10)),
            ]
        );
        assert_eq!(
            closing(Protocol::Tcp).unwrap(),
            &[
                (Sender::Client, Segment::Tcp(0x11)),
                (Sender::Server, Segment::Tcp(0x11)),
                (Sender::Client, Segment::Tcp(0x10)),
            ]
        );
        assert_eq!(opening(Protocol::Udp), &[(Sender::Client, Segment::Udp)]);
        assert_eq!(closing(Protocol::Udp), None);
        let sctp: Vec<u8> = opening(Protocol::Sctp)
            .iter()
            .map(|(_, s)| match s {
                Segment::Sctp(c) => *c,
                _ => 0xff,
            })
            .collect();
        assert_eq!(sctp, [1, 2, 10, 11]);
        let sctp: Vec<u8> = closing(Protocol::Sctp)
            .unwrap()
            .iter()
            .map(|(_, s)| match s {
                Segment::Sctp(c) => *c,
                _ => 0xff,
            })
            .collect();
        assert_eq!(sctp, [7, 8, 14]);
    }

    #[test]
    fn only_nat_shows_the_server_side() {
        assert!(director_sees(Sender::Client, FwdMethod::Route));
        assert!(director_sees(Sender::Server, FwdMethod::Masq));
        for m in [FwdMethod::Route, FwdMethod::Tunnel, FwdMethod::Local] {
            assert!(!director_sees(Sender::Server, m));
        }
    }

    #[test]
    fn packets_carry_both_ends_sizes_and_mark() {
        let flow = Flow {
            client: "198.18.1.1:1000".parse().unwrap(),
            vip: "198.18.0.1:80".parse().unwrap(),
            fwmark: 7,
            server: "198.19.0.1:8080".parse().unwrap(),
        };
        let syn = flow.packet((Sender::Client, Segment::Tcp(tcp::SYN)));
        assert_eq!(
            (
                syn.src.to_string(),
                syn.sport,
                syn.dst.to_string(),
                syn.dport
            ),
            ("198.18.1.1".to_string(), 1000, "198.18.0.1".to_string(), 80)
        );
        assert_eq!(
            (syn.tcp_flags, syn.ip_len, syn.fwmark, syn.side),
            (0x02, 40, 7, Side::Client)
        );
        let synack = flow.packet((Sender::Server, Segment::Tcp(tcp::SYN | tcp::ACK)));
        assert_eq!(
            (
                synack.src.to_string(),
                synack.sport,
                synack.dst.to_string(),
                synack.dport
            ),
            (
                "198.19.0.1".to_string(),
                8080,
                "198.18.1.1".to_string(),
                1000
            )
        );
        assert_eq!((synack.fwmark, synack.side), (0, Side::Unknown));
        assert_eq!(ip_len(Segment::Udp, "::1".parse().unwrap()), 48);
        assert_eq!(ip_len(Segment::Sctp(1), "10.0.0.1".parse().unwrap()), 52);
        let init = flow.packet((Sender::Client, Segment::Sctp(chunk::INIT)));
        assert_eq!(init.sctp_chunk, Some(chunk::INIT));
        assert_eq!(init.protocol, 132);
    }
}

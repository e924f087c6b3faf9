//! `lb replay` end to end: a capture of a TCP handshake to a NAT VIP, built with
//! etherparse, replayed by the binary; the output capture is read back record by record
//! (by a small reader here, not lb-io's) and every frame compared with one built
//! independently, its checksums recomputed by etherparse.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;

use etherparse::{IpSlice, PacketBuilder, SlicedPacket, TcpHeader, TransportSlice};

const DIRECTOR_MAC: [u8; 6] = [0x02, 0xd1, 0, 0, 0, 0x01];
const RS_MAC: [u8; 6] = [0x02, 0x5e, 0, 0, 0, 0x01];
const GATEWAY_MAC: [u8; 6] = [0x02, 0x6a, 0, 0, 0, 0x01];
const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 10);
const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
const RIP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 21);
const DIP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
const GATEWAY: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 254);

const RULES: &str = "-A -t 198.18.1.1:80 -s rr\n-a -t 198.18.1.1:80 -r 198.19.0.21:8080 -m -w 1\n";

/// A scratch directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("lb-replay-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Which TCP flags a segment has.
#[derive(Clone, Copy)]
enum Flags {
    Syn,
    SynAck,
    Ack,
}

/// A TCP segment in a frame, built by etherparse (TTL 64, DF, identification 7).
#[allow(clippy::too_many_arguments)]
fn tcp_frame(
    eth: ([u8; 6], [u8; 6]),
    src: (Ipv4Addr, u16),
    dst: (Ipv4Addr, u16),
    ttl: u8,
    seq: u32,
    ack: u32,
    flags: Flags,
) -> Vec<u8> {
    let ip = etherparse::Ipv4Header {
        identification: 7,
        dont_fragment: true,
        time_to_live: ttl,
        source: src.0.octets(),
        destination: dst.0.octets(),
        ..Default::default()
    };
    let step = PacketBuilder::ethernet2(eth.0, eth.1)
        .ip(etherparse::IpHeaders::Ipv4(ip, Default::default()))
        .tcp(src.1, dst.1, seq, 64240);
    let step = match flags {
        Flags::Syn => step.syn(),
        Flags::SynAck => step.syn().ack(ack),
        Flags::Ack => step.ack(ack),
    };
    let mut out = Vec::new();
    step.write(&mut out, &[]).unwrap();
    out
}

/// The handshake as the director receives it: (timestamp seconds, microseconds, frame).
fn handshake_in() -> Vec<(u32, u32, Vec<u8>)> {
    vec![
        (
            1_700_000_000,
            250_000,
            tcp_frame(
                (GATEWAY_MAC, DIRECTOR_MAC),
                (CLIENT, 40000),
                (VIP, 80),
                64,
                1000,
                0,
                Flags::Syn,
            ),
        ),
        (
            1_700_000_000,
            250_700,
            tcp_frame(
                (RS_MAC, DIRECTOR_MAC),
                (RIP, 8080),
                (CLIENT, 40000),
                64,
                5000,
                1001,
                Flags::SynAck,
            ),
        ),
        (
            1_700_000_000,
            251_300,
            tcp_frame(
                (GATEWAY_MAC, DIRECTOR_MAC),
                (CLIENT, 40000),
                (VIP, 80),
                64,
                1001,
                5001,
                Flags::Ack,
            ),
        ),
    ]
}

/// What the director sends for each: the NAT'd segments, TTL − 1.
fn handshake_out() -> Vec<(u32, u32, Vec<u8>)> {
    vec![
        (
            1_700_000_000,
            250_000,
            tcp_frame(
                (DIRECTOR_MAC, RS_MAC),
                (CLIENT, 40000),
                (RIP, 8080),
                63,
                1000,
                0,
                Flags::Syn,
            ),
        ),
        (
            1_700_000_000,
            250_700,
            tcp_frame(
                (DIRECTOR_MAC, GATEWAY_MAC),
                (VIP, 80),
                (CLIENT, 40000),
                63,
                5000,
                1001,
                Flags::SynAck,
            ),
        ),
        (
            1_700_000_000,
            251_300,
            tcp_frame(
                (DIRECTOR_MAC, RS_MAC),
                (CLIENT, 40000),
                (RIP, 8080),
                63,
                1001,
                5001,
                Flags::Ack,
            ),
        ),
    ]
}

/// A little-endian microsecond pcap file of `records`.
fn pcap_bytes(records: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 65535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (secs, micros, frame) in records {
        for v in [*secs, *micros, frame.len() as u32, frame.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(frame);
    }
    out
}

/// Reads back a little-endian microsecond Ethernet pcap file.
fn read_pcap(bytes: &[u8]) -> Vec<(u32, u32, Vec<u8>)> {
    let le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(le(0), 0xa1b2_c3d4, "magic: little-endian, microseconds");
    assert_eq!(le(20), 1, "link type Ethernet");
    let mut at = 24;
    let mut records = Vec::new();
    while at < bytes.len() {
        let (secs, micros, incl, orig) = (le(at), le(at + 4), le(at + 8), le(at + 12));
        assert_eq!(incl, orig, "whole frames");
        let start = at + 16;
        records.push((secs, micros, bytes[start..start + incl as usize].to_vec()));
        at = start + incl as usize;
    }
    records
}

/// Checks the IPv4 and TCP checksums of a frame against etherparse's computation.
fn assert_checksums(frame: &[u8]) {
    let sliced = SlicedPacket::from_ethernet(frame).expect("frame parses");
    let Some(etherparse::NetSlice::Ipv4(ip)) = &sliced.net else {
        panic!("not IPv4")
    };
    let h = ip.header().to_header();
    assert_eq!(h.header_checksum, h.calc_header_checksum(), "IPv4 checksum");
    let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
        panic!("not TCP")
    };
    let ip_slice = IpSlice::from_slice(&frame[14..]).unwrap();
    let (header, payload) = TcpHeader::from_slice(ip_slice.payload().payload).unwrap();
    let want = header
        .calc_checksum_ipv4_raw(h.source, h.destination, payload)
        .unwrap();
    assert_eq!(tcp.checksum(), want, "TCP checksum");
}

fn lb_replay(args: &[&Path], extra: &[&str]) -> (String, String, i32) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lb"));
    cmd.arg("replay");
    for (flag, path) in ["--rules", "--in", "--out"].iter().zip(args) {
        cmd.arg(flag).arg(path);
    }
    let out = cmd.args(extra).output().expect("lb runs");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        out.status.code().unwrap_or(-1),
    )
}

const LINK_OPTIONS: [&str; 10] = [
    "--mac",
    "02:d1:00:00:00:01",
    "--ip",
    "198.19.0.1/24",
    "--gateway",
    "198.19.0.254",
    "--neigh",
    "198.19.0.254=02:6a:00:00:00:01",
    "--neigh",
    "198.19.0.21=02:5e:00:00:00:01",
];

#[test]
fn a_nat_handshake_is_rewritten_frame_by_frame() {
    let dir = Scratch::new("handshake");
    let (rules, input, output) = (dir.path("rules"), dir.path("in.pcap"), dir.path("out.pcap"));
    std::fs::write(&rules, RULES).unwrap();
    std::fs::write(&input, pcap_bytes(&handshake_in())).unwrap();

    let (stdout, stderr, code) = lb_replay(&[&rules, &input, &output], &LINK_OPTIONS);
    assert_eq!((stderr.as_str(), code), ("", 0));
    assert_eq!(
        stdout,
        "3 frames in, 3 out, 0 queued, 0 dropped, 0 passed to the host\n"
    );
    let got = read_pcap(&std::fs::read(&output).unwrap());
    let want = handshake_out();
    assert_eq!(got.len(), want.len());
    for (i, ((gs, gu, gf), (ws, wu, wf))) in got.iter().zip(&want).enumerate() {
        assert_eq!((gs, gu), (ws, wu), "frame {i}: timestamp");
        assert_eq!(gf, wf, "frame {i}: bytes");
        assert_checksums(gf);
    }
}

#[test]
fn config_file_arp_and_unresolved_neighbours() {
    let dir = Scratch::new("config");
    let (rules, input, output, config) = (
        dir.path("rules"),
        dir.path("in.pcap"),
        dir.path("out.pcap"),
        dir.path("director.conf"),
    );
    std::fs::write(&rules, RULES).unwrap();
    std::fs::write(
        &config,
        "# the NAT lab\nmac 02:d1:00:00:00:01\nip 198.19.0.1/24\ngateway 198.19.0.254\n\
         neigh 198.19.0.254=02:6a:00:00:00:01\n",
    )
    .unwrap();
    // Who has the VIP? Then the SYN, whose real server is not known yet: it waits while
    // the director asks; the server's answer releases it. Then a frame of another protocol.
    let mut arp = vec![0xff; 6];
    arp.extend_from_slice(&GATEWAY_MAC);
    arp.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    arp.extend_from_slice(&GATEWAY_MAC);
    arp.extend_from_slice(&GATEWAY.octets());
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&VIP.octets());
    let mut answer = DIRECTOR_MAC.to_vec();
    answer.extend_from_slice(&RS_MAC);
    answer.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    answer.extend_from_slice(&RS_MAC);
    answer.extend_from_slice(&RIP.octets());
    answer.extend_from_slice(&DIRECTOR_MAC);
    answer.extend_from_slice(&DIP.octets());
    let syn = handshake_in().remove(0).2;
    let mut lldp = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e];
    lldp.extend_from_slice(&GATEWAY_MAC);
    lldp.extend_from_slice(&[0x88, 0xcc, 0, 0]);
    std::fs::write(
        &input,
        pcap_bytes(&[
            (10, 0, arp.clone()),
            (10, 100, syn),
            (10, 900, answer),
            (11, 0, lldp),
        ]),
    )
    .unwrap();

    let (stdout, stderr, code) = lb_replay(
        &[&rules, &input, &output],
        &["--config", config.to_str().unwrap()],
    );
    assert_eq!((stderr.as_str(), code), ("", 0));
    assert_eq!(
        stdout,
        "4 frames in, 3 out, 1 queued, 0 dropped, 1 passed to the host (not-ip 1)\n"
    );
    let got = read_pcap(&std::fs::read(&output).unwrap());
    let mut arp_reply = GATEWAY_MAC.to_vec();
    arp_reply.extend_from_slice(&DIRECTOR_MAC);
    arp_reply.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2]);
    arp_reply.extend_from_slice(&DIRECTOR_MAC);
    arp_reply.extend_from_slice(&VIP.octets());
    arp_reply.extend_from_slice(&GATEWAY_MAC);
    arp_reply.extend_from_slice(&GATEWAY.octets());
    let mut who_has_rs = vec![0xff; 6];
    who_has_rs.extend_from_slice(&DIRECTOR_MAC);
    who_has_rs.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    who_has_rs.extend_from_slice(&DIRECTOR_MAC);
    who_has_rs.extend_from_slice(&DIP.octets());
    who_has_rs.extend_from_slice(&[0; 6]);
    who_has_rs.extend_from_slice(&RIP.octets());
    let natted_syn = handshake_out().remove(0).2;
    assert_eq!(
        got,
        vec![
            (10, 0, arp_reply),
            (10, 100, who_has_rs),
            (10, 900, natted_syn.clone())
        ]
    );
    assert_checksums(&natted_syn);
}

#[test]
fn bad_input_is_a_one_line_error() {
    let dir = Scratch::new("errors");
    let (rules, input, output) = (dir.path("rules"), dir.path("in.pcap"), dir.path("out.pcap"));
    std::fs::write(&rules, RULES).unwrap();
    std::fs::write(&input, pcap_bytes(&handshake_in())).unwrap();
    let missing = dir.path("missing.pcap");

    let cases: Vec<(Vec<&Path>, Vec<&str>, String)> = vec![
        (
            vec![&rules, &missing, &output],
            LINK_OPTIONS.to_vec(),
            format!(
                "lb replay: {}: No such file or directory (os error 2)\n",
                missing.display()
            ),
        ),
        (
            vec![&rules, &input, &output],
            vec![],
            "lb replay: the director's Ethernet address is required (--mac MAC)\n".into(),
        ),
        (
            vec![&rules, &input],
            LINK_OPTIONS.to_vec(),
            "lb replay: --out OUT.pcap is required\n".into(),
        ),
        (
            vec![&rules, &input, &output],
            vec!["--mac", "02:d1:00:00:00"],
            "lb replay: invalid Ethernet address `02:d1:00:00:00'\n".into(),
        ),
        (
            vec![&rules, &input, &output],
            vec!["--bogus"],
            "lb replay: unknown argument `--bogus'; try `lb replay --help'\n".into(),
        ),
        (
            vec![&rules, &rules, &output],
            LINK_OPTIONS.to_vec(),
            format!(
                "lb replay: {}: not a pcap file (magic 0x2d41202d)\n",
                rules.display()
            ),
        ),
    ];
    for (paths, extra, want) in cases {
        let (stdout, stderr, code) = lb_replay(&paths, &extra);
        assert_eq!(
            (stdout.as_str(), stderr.as_str(), code),
            ("", want.as_str(), 2)
        );
    }

    std::fs::write(&rules, "-A -t 198.18.1.1:80 -s nosuch\n").unwrap();
    let (_, stderr, code) = lb_replay(&[&rules, &input, &output], &LINK_OPTIONS);
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("lb replay: {}: ", rules.display())),
        "{stderr}"
    );
}

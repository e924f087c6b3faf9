//! The AF_XDP link on one end of a veth pair, an AF_PACKET link on the other, each end in
//! a network namespace of its own made for each test (`lbx-<pid>-<n>-a` / `-b`, both
//! removed when the test ends, also on failure). Frames are UDP between addresses of
//! 198.18.0.0/15 and ARP; every wait is bounded. Each test runs with the XDP program in
//! the driver (native, which veth has) and in the kernel's generic path.
//!
//! The steering program ([`XdpSteering::NotForTheHost`]) is tested with the kernels of
//! both namespaces in the game: `va` holds 198.18.0.2/24 (the director's own address, a
//! "DIP"), `vb` 198.18.0.1/24; ARP for the DIP and datagrams to it must reach the kernel
//! of `a`, frames to other addresses the link. (Crafted IPv6 frames use 2001:db8::/32 and
//! ff02::/16; no interface holds an IPv6 address.)
//!
//! These tests need root; without it they print why and pass without running.
#![cfg(feature = "xdp")]

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etherparse::PacketBuilder;
use lb_io::link::xdp::{
    receive_queues, AttachMode, XdpConfig, XdpLink, XdpMode, XdpProgram, XdpSteering,
};
use lb_io::link::{
    netns, Link, LinkError, PacketConfig, PacketLink, PacketType, RingSize, Transmit,
};
use lb_io::wire::EthernetAddress;

const SRC_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
const DST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const SRC_IP: [u8; 4] = [198, 18, 0, 1];
const DST_IP: [u8; 4] = [198, 19, 0, 1];
/// How long a test waits for its frames.
const DEADLINE: Duration = Duration::from_secs(5);

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// Two network namespaces, `a` holding `va` and `b` holding `vb`, the two ends of a veth
/// pair, both up, IPv6 off (so the kernels send nothing of their own). Removed on drop.
struct Lab {
    a: String,
    b: String,
}

impl Lab {
    fn new() -> Lab {
        let base = format!(
            "lbx-{}-{}",
            std::process::id(),
            NEXT_LAB.fetch_add(1, Ordering::Relaxed)
        );
        let lab = Lab {
            a: format!("{base}-a"),
            b: format!("{base}-b"),
        };
        run("ip", &["netns", "add", &lab.a]);
        run("ip", &["netns", "add", &lab.b]);
        for ns in [&lab.a, &lab.b] {
            for key in ["all", "default"] {
                run(
                    "ip",
                    &[
                        "netns",
                        "exec",
                        ns,
                        "sysctl",
                        "-qw",
                        &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
                    ],
                );
            }
        }
        run(
            "ip",
            &[
                "-n", &lab.a, "link", "add", "va", "type", "veth", "peer", "name", "vb", "netns",
                &lab.b,
            ],
        );
        run("ip", &["-n", &lab.a, "link", "set", "va", "up"]);
        run("ip", &["-n", &lab.b, "link", "set", "vb", "up"]);
        lab.wait_carrier(&lab.a, "va");
        lab.wait_carrier(&lab.b, "vb");
        lab
    }

    fn show(&self, ns: &str, interface: &str) -> String {
        run("ip", &["-n", ns, "link", "show", interface])
    }

    fn wait_carrier(&self, ns: &str, interface: &str) {
        let start = Instant::now();
        loop {
            let show = self.show(ns, interface);
            if show.contains("LOWER_UP") && show.contains("state UP") {
                break;
            }
            assert!(start.elapsed() < DEADLINE, "{interface} is not up");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Runs `f` on a thread inside namespace `ns`, passing its panics on. Links opened
    /// there stay in that namespace when they are moved out.
    fn inside<T: Send>(&self, ns: &str, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                netns::enter_named(ns).expect("setns");
                f()
            });
            worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// The XDP link on `va`, with small rings.
    fn xdp_link(&self, mode: XdpMode) -> XdpLink {
        self.inside(&self.a, || {
            XdpLink::open("va", 0, &small_config(mode)).expect("XdpLink::open")
        })
    }

    /// The AF_PACKET link on `vb`.
    fn peer_link(&self) -> PacketLink {
        self.inside(&self.b, || {
            PacketLink::open(
                "vb",
                &PacketConfig {
                    rx_ring: RingSize::new(2048, 1024),
                    tx_ring: RingSize::new(2048, 256),
                    ..PacketConfig::default()
                },
            )
            .expect("PacketLink::open")
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Runs a command, panicking with its output if it fails; returns its stdout.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether the test may run; prints why not.
fn privileged(test: &str) -> bool {
    let root = netns::running_as_root();
    if !root {
        let _ = writeln!(
            std::io::stderr(),
            "skipping {test}: XDP programs, AF_XDP sockets and network namespaces need root"
        );
    }
    root
}

/// 256 receive buffers (room for every burst of the tests) and 32 transmit buffers:
/// sending more than 32 frames needs buffers back from the completion ring.
fn small_config(mode: XdpMode) -> XdpConfig {
    XdpConfig {
        rx_frames: 256,
        tx_frames: 32,
        mode,
        ..XdpConfig::default()
    }
}

/// UDP frame number `seq` with `extra` payload bytes after the sequence number.
fn udp_frame(seq: u32, extra: usize) -> Vec<u8> {
    let mut payload = seq.to_be_bytes().to_vec();
    payload.extend((0..extra).map(|i| (i as u8) ^ (seq as u8)));
    let mut out = Vec::new();
    PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .ipv4(SRC_IP, DST_IP, 64)
        .udp(4000, 9)
        .write(&mut out, &payload)
        .unwrap();
    out
}

/// A broadcast ARP request from `SRC_MAC` / `SRC_IP` for `DST_IP`.
fn arp_request() -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&SRC_MAC);
    f.extend_from_slice(&[0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    f.extend_from_slice(&SRC_MAC);
    f.extend_from_slice(&SRC_IP);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&DST_IP);
    f
}

/// `count` frames of lengths spread from 42 to 1514 bytes, an ARP request first.
fn frames(count: u32) -> Vec<Vec<u8>> {
    let mut all = vec![arp_request()];
    all.extend((1..count).map(|seq| udp_frame(seq, (seq as usize * 97) % 1472)));
    all
}

/// Receives from `link` until `want` frames with source `SRC_MAC` have come, or
/// [`DEADLINE`]; returns them with their packet type.
fn collect(link: &mut dyn Link, want: usize) -> Vec<(Vec<u8>, PacketType)> {
    collect_within(link, want, DEADLINE)
}

/// [`collect`] with a deadline of `limit`.
fn collect_within(link: &mut dyn Link, want: usize, limit: Duration) -> Vec<(Vec<u8>, PacketType)> {
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < want && start.elapsed() < limit {
        link.recv_batch(64, Duration::from_millis(5), &mut |rx, _| {
            if rx.data.get(6..12) == Some(&SRC_MAC[..]) {
                assert_eq!(rx.meta.wire_len, rx.data.len());
                got.push((rx.data.to_vec(), rx.meta.packet_type));
            }
        })
        .expect("recv_batch");
    }
    got
}

fn mode_shown(mode: AttachMode) -> &'static str {
    match mode {
        AttachMode::Native => " xdp ",
        AttachMode::Generic => " xdpgeneric ",
    }
}

fn frames_from_the_peer_arrive_byte_exact(mode: XdpMode, attached: AttachMode) {
    let lab = Lab::new();
    let mut xdp = lab.xdp_link(mode);
    assert_eq!(xdp.attach_mode(), attached);
    assert!(!xdp.zero_copy(), "veth has no zero-copy");
    assert!(
        lab.show(&lab.a, "va").contains(mode_shown(attached)),
        "{}",
        lab.show(&lab.a, "va")
    );
    let mut peer = lab.peer_link();

    let sent = frames(200);
    for frame in &sent {
        peer.send(frame).expect("peer send");
    }
    peer.flush().expect("peer flush");

    let got = collect(&mut xdp, sent.len());
    let bytes: Vec<Vec<u8>> = got.iter().map(|(f, _)| f.clone()).collect();
    assert_eq!(bytes.len(), sent.len());
    assert!(bytes == sent, "frames differ");
    let types: Vec<PacketType> = got.iter().map(|(_, t)| *t).collect();
    let mut expected = vec![PacketType::Broadcast];
    expected.extend(std::iter::repeat_n(PacketType::OtherHost, sent.len() - 1));
    assert_eq!(types, expected);

    let stats = xdp.stats().expect("stats");
    assert_eq!(stats.rx_frames, sent.len() as u64);
    assert_eq!(
        stats.rx_bytes,
        sent.iter().map(|f| f.len() as u64).sum::<u64>()
    );
    assert_eq!(stats.kernel_drops, 0);
    let kernel = xdp.xdp_statistics().expect("xdp statistics");
    assert_eq!((kernel.rx_dropped, kernel.rx_ring_full), (0, 0));
}

#[test]
fn frames_from_the_peer_arrive_byte_exact_native() {
    if privileged("frames_from_the_peer_arrive_byte_exact_native") {
        frames_from_the_peer_arrive_byte_exact(XdpMode::Native, AttachMode::Native);
    }
}

#[test]
fn frames_from_the_peer_arrive_byte_exact_generic() {
    if privileged("frames_from_the_peer_arrive_byte_exact_generic") {
        frames_from_the_peer_arrive_byte_exact(XdpMode::Generic, AttachMode::Generic);
    }
}

fn frames_sent_arrive_at_the_peer_byte_exact(mode: XdpMode) {
    let lab = Lab::new();
    let mut xdp = lab.xdp_link(mode);
    let mut peer = lab.peer_link();
    assert_eq!(xdp.max_frame_len(), 1518);

    // 300 frames through 32 transmit buffers: the completion ring must give them back.
    let sent = frames(300);
    for (i, frame) in sent.iter().enumerate() {
        if i % 2 == 0 {
            xdp.send(frame).expect("send");
        } else {
            let len = xdp
                .send_with(&mut |out| {
                    out[..frame.len()].copy_from_slice(frame);
                    frame.len()
                })
                .expect("send_with");
            assert_eq!(len, frame.len());
        }
    }
    assert_eq!(xdp.send_with(&mut |_| 0).expect("nothing to send"), 0);
    let too_long = vec![0u8; 1515];
    assert!(matches!(
        xdp.send(&too_long),
        Err(LinkError::FrameTooLarge {
            len: 1515,
            max: 1518
        })
    ));
    assert!(matches!(
        xdp.send(&[0u8; 13]),
        Err(LinkError::FrameTooLarge { len: 13, .. })
    ));
    xdp.flush().expect("flush");

    let got = collect(&mut peer, sent.len());
    let bytes: Vec<Vec<u8>> = got.into_iter().map(|(f, _)| f).collect();
    assert_eq!(bytes.len(), sent.len());
    assert!(bytes == sent, "frames differ");

    let stats = xdp.stats().expect("stats");
    assert_eq!(stats.tx_frames, sent.len() as u64);
    assert_eq!(
        stats.tx_bytes,
        sent.iter().map(|f| f.len() as u64).sum::<u64>()
    );
    assert_eq!((stats.tx_too_large, stats.tx_full), (2, 0));
    assert_eq!(
        xdp.xdp_statistics().expect("statistics").tx_invalid_descs,
        0
    );
}

#[test]
fn frames_sent_arrive_at_the_peer_byte_exact_native() {
    if privileged("frames_sent_arrive_at_the_peer_byte_exact_native") {
        frames_sent_arrive_at_the_peer_byte_exact(XdpMode::Native);
    }
}

#[test]
fn frames_sent_arrive_at_the_peer_byte_exact_generic() {
    if privileged("frames_sent_arrive_at_the_peer_byte_exact_generic") {
        frames_sent_arrive_at_the_peer_byte_exact(XdpMode::Generic);
    }
}

/// Frames received are answered from inside the handler, through the link's own transmit
/// side (the way the director forwards): every one comes back to the peer, addresses
/// swapped.
fn frames_are_answered_from_the_handler(mode: XdpMode) {
    let lab = Lab::new();
    let mut xdp = lab.xdp_link(mode);
    let mut peer = lab.peer_link();
    let sent: Vec<Vec<u8>> = (0..100).map(|seq| udp_frame(seq, 64)).collect();
    for frame in &sent {
        peer.send(frame).expect("peer send");
    }
    peer.flush().expect("peer flush");

    let mut answered = 0;
    let start = Instant::now();
    while answered < sent.len() && start.elapsed() < DEADLINE {
        answered += xdp
            .recv_batch(16, Duration::from_millis(5), &mut |rx, tx| {
                let (dst, src) = rx.data.split_at_mut(6);
                dst.swap_with_slice(&mut src[..6]);
                tx.send(rx.data).expect("answer");
            })
            .expect("recv_batch");
        xdp.flush().expect("flush");
    }
    assert_eq!(answered, sent.len());

    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < sent.len() && start.elapsed() < DEADLINE {
        peer.recv_batch(64, Duration::from_millis(5), &mut |rx, _| {
            if rx.data.get(..6) == Some(&SRC_MAC[..]) {
                got.push(rx.data.to_vec());
            }
        })
        .expect("peer recv_batch");
    }
    let expected: Vec<Vec<u8>> = sent
        .iter()
        .map(|f| {
            let mut f = f.clone();
            let (dst, src) = f.split_at_mut(6);
            dst.swap_with_slice(&mut src[..6]);
            f
        })
        .collect();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "answers differ");
}

#[test]
fn frames_are_answered_from_the_handler_native() {
    if privileged("frames_are_answered_from_the_handler_native") {
        frames_are_answered_from_the_handler(XdpMode::Native);
    }
}

#[test]
fn frames_are_answered_from_the_handler_generic() {
    if privileged("frames_are_answered_from_the_handler_generic") {
        frames_are_answered_from_the_handler(XdpMode::Generic);
    }
}

/// A burst longer than the RX ring: what does not fit is dropped by the kernel, and
/// counted.
fn a_burst_beyond_the_rings_is_counted(mode: XdpMode) {
    let lab = Lab::new();
    let mut xdp = lab.inside(&lab.a, || {
        let config = XdpConfig {
            rx_frames: 64,
            ..small_config(mode)
        };
        XdpLink::open("va", 0, &config).expect("XdpLink::open")
    });
    let mut peer = lab.peer_link();
    let sent = frames(200);
    for frame in &sent {
        peer.send(frame).expect("peer send");
    }
    peer.flush().expect("peer flush");
    // Let the kernel finish with the burst before the ring is drained.
    std::thread::sleep(Duration::from_millis(200));
    let got = collect_within(&mut xdp, sent.len(), Duration::from_millis(500));
    assert_eq!(got.len(), 64);
    assert!(got.iter().map(|(f, _)| f).eq(sent[..64].iter()));
    let kernel = xdp.xdp_statistics().expect("statistics");
    let stats = xdp.stats().expect("stats");
    assert_eq!(stats.kernel_drops, 136, "{kernel:?}");
}

#[test]
fn a_burst_beyond_the_rings_is_counted_native() {
    if privileged("a_burst_beyond_the_rings_is_counted_native") {
        a_burst_beyond_the_rings_is_counted(XdpMode::Native);
    }
}

#[test]
fn a_burst_beyond_the_rings_is_counted_generic() {
    if privileged("a_burst_beyond_the_rings_is_counted_generic") {
        a_burst_beyond_the_rings_is_counted(XdpMode::Generic);
    }
}

#[test]
fn one_program_per_interface_detached_with_its_last_link() {
    if !privileged("one_program_per_interface_detached_with_its_last_link") {
        return;
    }
    let lab = Lab::new();
    let first = lab.xdp_link(XdpMode::Generic);
    assert!(lab.show(&lab.a, "va").contains(" xdpgeneric "));
    let second = lab.inside(&lab.a, || {
        XdpLink::open("va", 0, &small_config(XdpMode::Generic))
    });
    assert!(
        matches!(&second, Err(LinkError::Io { source, .. }) if source.raw_os_error() == Some(libc_ebusy())),
        "{second:?}"
    );
    let program = Arc::clone(first.program());
    assert!(matches!(
        XdpLink::open_on(Arc::clone(&program), 1, &small_config(XdpMode::Generic)),
        Err(LinkError::InvalidConfig(_))
    ));
    drop(first);
    assert!(
        lab.show(&lab.a, "va").contains(" xdpgeneric "),
        "the program stays while shared"
    );
    drop(program);
    let show = lab.show(&lab.a, "va");
    assert!(!show.contains("xdp"), "{show}");

    // The interface is free again, in the other mode too.
    let again = lab.inside(&lab.a, || {
        let program = XdpProgram::attach("va", XdpMode::Native, 1).expect("attach");
        assert_eq!(program.mode(), AttachMode::Native);
        assert_eq!((program.interface(), program.queues()), ("va", 1));
        XdpLink::open_on(Arc::new(program), 0, &small_config(XdpMode::Native)).expect("open_on")
    });
    assert_eq!(again.mac_address(), lab_mac(&lab.show(&lab.a, "va")));
    assert_eq!(
        (again.mtu(), again.queue(), again.interface()),
        (1500, 0, "va")
    );
    assert!(lab.show(&lab.a, "va").contains(" xdp "));
}

/// EBUSY: what BPF_LINK_CREATE says when a program is attached already.
fn libc_ebusy() -> i32 {
    16
}

/// The Ethernet address in `ip link show` output.
fn lab_mac(show: &str) -> EthernetAddress {
    let text = show
        .split("link/ether ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("link/ether");
    let bytes: Vec<u8> = text
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    EthernetAddress(bytes.try_into().unwrap())
}

#[test]
fn a_missing_interface_is_named() {
    let missing = XdpLink::open("lbx-nosuch0", 0, &XdpConfig::default());
    assert!(
        matches!(&missing, Err(LinkError::NoSuchInterface(name)) if name == "lbx-nosuch0"),
        "{missing:?}"
    );
    let bad = XdpConfig {
        frame_size: 1000,
        ..XdpConfig::default()
    };
    assert!(matches!(
        XdpLink::open("lo", 0, &bad),
        Err(LinkError::InvalidConfig(_))
    ));
}

const DIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A UDP frame from the peer's (`SRC_MAC`) to `dst_mac`, for `dst` (IPv4 or IPv6, the
/// source of the same family), port 9, payload `payload`.
fn udp_to(dst_mac: [u8; 6], dst: IpAddr, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let eth = PacketBuilder::ethernet2(SRC_MAC, dst_mac);
    match dst {
        IpAddr::V4(d) => eth
            .ipv4(PEER.octets(), d.octets(), 64)
            .udp(4000, 9)
            .write(&mut out, payload),
        IpAddr::V6(d) => eth
            .ipv6(
                "2001:db8::1"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets(),
                d.octets(),
                64,
            )
            .udp(4000, 9)
            .write(&mut out, payload),
    }
    .unwrap();
    out
}

/// With the steering program, the kernel keeps what is its own (ARP, its address,
/// multicast, other frame types) and the link gets the rest.
fn the_host_keeps_what_is_its_own(mode: XdpMode) {
    let lab = Lab::new();
    run(
        "ip",
        &["-n", &lab.a, "addr", "add", "198.18.0.2/24", "dev", "va"],
    );
    run(
        "ip",
        &["-n", &lab.b, "addr", "add", "198.18.0.1/24", "dev", "vb"],
    );
    let va_mac = lab_mac(&lab.show(&lab.a, "va"));
    let host_socket = lab.inside(&lab.a, || {
        let s = UdpSocket::bind((DIP, 9)).expect("bind in a");
        s.set_read_timeout(Some(DEADLINE)).unwrap();
        s
    });
    let mut xdp = lab.inside(&lab.a, || {
        assert_eq!(receive_queues("va"), Some(1));
        let program =
            XdpProgram::attach_steering("va", mode, 1, XdpSteering::NotForTheHost).expect("attach");
        program
            .set_local_addresses(&[IpAddr::V4(DIP), ip("198.18.0.255")])
            .expect("local addresses");
        XdpLink::open_on(Arc::new(program), 0, &small_config(mode)).expect("open_on")
    });
    let program = Arc::clone(xdp.program());
    assert_eq!(program.steering(), XdpSteering::NotForTheHost);
    assert_eq!(
        program.local_addresses(),
        [IpAddr::V4(DIP), ip("198.18.0.255")]
    );
    assert!(program.knows_local_address(IpAddr::V4(DIP)).unwrap());
    assert!(!program.knows_local_address(ip("198.19.0.1")).unwrap());

    // The peer's kernel resolves the DIP (the kernel of `a` answers its ARP request) and
    // its datagram reaches the socket of `a`.
    let peer_socket = lab.inside(&lab.b, || UdpSocket::bind((PEER, 4000)).expect("bind in b"));
    peer_socket.send_to(b"to the host", (DIP, 9)).unwrap();
    let mut buf = [0u8; 2048];
    let (n, from) = host_socket
        .recv_from(&mut buf)
        .expect("datagram to the DIP");
    assert_eq!(
        (&buf[..n], from),
        (&b"to the host"[..], (PEER, 4000).into())
    );
    let neigh = run(
        "ip",
        &["-n", &lab.b, "neigh", "show", "198.18.0.2", "dev", "vb"],
    );
    assert!(
        neigh.contains(&format!("lladdr {}", va_mac)),
        "{neigh} (va is {va_mac})"
    );

    // Crafted frames: only the unicast IP ones for other addresses reach the link.
    let mut peer = lab.peer_link();
    let to_other = udp_to(va_mac.0, ip("198.19.0.1"), b"to the director");
    let to_other6 = udp_to(va_mac.0, ip("2001:db8::2"), b"to the director, v6");
    let sent = [
        to_other.clone(),
        udp_to(va_mac.0, IpAddr::V4(DIP), b"crafted to the host"),
        udp_to(
            [0x01, 0x00, 0x5e, 0, 0, 0xfb],
            ip("224.0.0.251"),
            b"multicast",
        ),
        udp_to([0xff; 6], ip("198.18.0.255"), b"subnet broadcast"),
        udp_to([0x33, 0x33, 0, 0, 0, 1], ip("ff02::1"), b"all nodes"),
        arp_request(),
        to_other6.clone(),
        udp_to(va_mac.0, IpAddr::V4(DIP), b"again to the host")[..30].to_vec(),
    ];
    for frame in &sent {
        peer.send(frame).expect("peer send");
    }
    peer.flush().expect("peer flush");
    let (n, _) = host_socket.recv_from(&mut buf).expect("crafted datagram");
    assert_eq!(&buf[..n], b"crafted to the host");
    let got = collect_within(&mut xdp, 3, Duration::from_millis(500));
    let bytes: Vec<Vec<u8>> = got.into_iter().map(|(f, _)| f).collect();
    assert!(bytes == [to_other, to_other6], "{bytes:?}");
    let kernel = xdp.xdp_statistics().expect("statistics");
    assert_eq!((kernel.rx_dropped, kernel.rx_ring_full), (0, 0));

    // The addresses follow what they are set to.
    program
        .set_local_addresses(&[ip("198.19.0.1"), IpAddr::V4(DIP), IpAddr::V4(DIP)])
        .unwrap();
    assert_eq!(
        program.local_addresses(),
        [IpAddr::V4(DIP), ip("198.19.0.1")]
    );
    assert!(!program.knows_local_address(ip("198.18.0.255")).unwrap());
    assert!(program.knows_local_address(ip("198.19.0.1")).unwrap());
    peer.send(&udp_to(va_mac.0, ip("198.19.0.1"), b"now local"))
        .unwrap();
    peer.send(&udp_to(va_mac.0, ip("198.19.0.3"), b"still not"))
        .unwrap();
    peer.flush().unwrap();
    let got = collect_within(&mut xdp, 2, Duration::from_millis(500));
    let payloads: Vec<&[u8]> = got.iter().map(|(f, _)| &f[42..]).collect();
    assert_eq!(payloads, [&b"still not"[..]]);
}

#[test]
fn the_host_keeps_what_is_its_own_native() {
    if privileged("the_host_keeps_what_is_its_own_native") {
        the_host_keeps_what_is_its_own(XdpMode::Native);
    }
}

#[test]
fn the_host_keeps_what_is_its_own_generic() {
    if privileged("the_host_keeps_what_is_its_own_generic") {
        the_host_keeps_what_is_its_own(XdpMode::Generic);
    }
}

#[test]
fn a_program_that_redirects_everything_has_no_host_addresses() {
    if !privileged("a_program_that_redirects_everything_has_no_host_addresses") {
        return;
    }
    let lab = Lab::new();
    let program = lab.inside(&lab.a, || {
        XdpProgram::attach("va", XdpMode::Generic, 1).expect("attach")
    });
    assert_eq!(program.steering(), XdpSteering::Everything);
    assert!(matches!(
        program.set_local_addresses(&[IpAddr::V4(DIP)]),
        Err(LinkError::InvalidConfig(_))
    ));
    assert!(program.local_addresses().is_empty());
    assert!(!program.knows_local_address(IpAddr::V4(DIP)).unwrap());
}

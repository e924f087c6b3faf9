//! AF_PACKET links on the two ends of a veth pair, inside a network namespace made for
//! each test (`lbt-<pid>-<n>`, removed when the test ends, also on failure). Frames are
//! UDP between addresses of 198.18.0.0/15, sent through one link's TX ring and received
//! through another's RX ring; every wait is bounded.
//!
//! These tests need root; without it they print why and pass without running.

use std::io::{self, Write};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use etherparse::{PacketBuilder, VlanId};
use lb_io::link::{
    netns, Fanout, Link, LinkError, PacketConfig, PacketLink, PacketType, RingSize, RxMeta,
    Transmit,
};
use lb_io::wire::{EtherType, EthernetAddress, VlanTag};

const SRC_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
const DST_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const SRC_IP: [u8; 4] = [198, 18, 0, 1];
const DST_IP: [u8; 4] = [198, 19, 0, 1];
/// How long a test waits for its frames.
const DEADLINE: Duration = Duration::from_secs(5);

static NEXT_LAB: AtomicU32 = AtomicU32::new(0);

/// A network namespace with a veth pair `va` ─ `vb`, both up, IPv6 off (so the kernel
/// sends nothing of its own). Removed on drop.
struct Lab {
    name: String,
}

impl Lab {
    fn new() -> Lab {
        let name = format!(
            "lbt-{}-{}",
            std::process::id(),
            NEXT_LAB.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name]);
        let lab = Lab { name };
        for key in ["all", "default"] {
            lab.exec(&[
                "sysctl",
                "-qw",
                &format!("net.ipv6.conf.{key}.disable_ipv6=1"),
            ]);
        }
        lab.ip(&["link", "add", "va", "type", "veth", "peer", "name", "vb"]);
        lab.ip(&["link", "set", "va", "up"]);
        lab.ip(&["link", "set", "vb", "up"]);
        lab.wait_carrier("va");
        lab.wait_carrier("vb");
        lab
    }

    fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    fn exec(&self, args: &[&str]) -> String {
        let mut all = vec!["netns", "exec", &self.name];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    fn wait_carrier(&self, interface: &str) {
        let start = Instant::now();
        // LOWER_UP: carrier; "state UP": the kernel's link watch has run, and attached the
        // qdisc that frames not bypassing it go through.
        loop {
            let show = self.ip(&["link", "show", interface]);
            if show.contains("LOWER_UP") && show.contains("state UP") {
                break;
            }
            assert!(start.elapsed() < DEADLINE, "{interface} is not up");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The Ethernet address `ip link` shows for `interface`.
    fn mac(&self, interface: &str) -> EthernetAddress {
        let out = self.ip(&["link", "show", interface]);
        let text = out
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

    /// Runs `f` on a thread inside the namespace, passing its panics on.
    fn inside<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                netns::enter_named(&self.name).expect("setns");
                f()
            });
            worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
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
        // Straight to stderr, past the test harness's capture, so that the skip shows.
        let _ = writeln!(
            std::io::stderr(),
            "skipping {test}: AF_PACKET links and network namespaces need root"
        );
    }
    root
}

/// UDP frame number `seq` of flow `flow` (the source port), optionally VLAN-tagged, with
/// `extra` payload bytes after the sequence number.
fn udp_frame(flow: u16, seq: u32, vlan: Option<u16>, extra: usize) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(SRC_MAC, DST_MAC);
    let mut payload = seq.to_be_bytes().to_vec();
    payload.extend((0..extra).map(|i| (i as u8) ^ (seq as u8)));
    let mut out = Vec::new();
    match vlan {
        Some(vid) => eth
            .single_vlan(VlanId::try_new(vid).unwrap())
            .ipv4(SRC_IP, DST_IP, 64)
            .udp(flow, 9)
            .write(&mut out, &payload)
            .unwrap(),
        None => eth
            .ipv4(SRC_IP, DST_IP, 64)
            .udp(flow, 9)
            .write(&mut out, &payload)
            .unwrap(),
    }
    out
}

fn small_rings() -> PacketConfig {
    PacketConfig {
        rx_ring: RingSize::new(2048, 1024),
        tx_ring: RingSize::new(2048, 128),
        ..PacketConfig::default()
    }
}

/// Receives from `links` (in turn) until `want` of our frames (source MAC `SRC_MAC`) have
/// come, or [`DEADLINE`]. Returns them per link, with their metadata.
fn collect(links: &mut [&mut PacketLink], want: usize) -> Vec<Vec<(Vec<u8>, RxMeta)>> {
    collect_within(links, want, DEADLINE)
}

/// [`collect`] with a deadline of `limit`.
fn collect_within(
    links: &mut [&mut PacketLink],
    want: usize,
    limit: Duration,
) -> Vec<Vec<(Vec<u8>, RxMeta)>> {
    let mut got: Vec<Vec<(Vec<u8>, RxMeta)>> = links.iter().map(|_| Vec::new()).collect();
    let start = Instant::now();
    while got.iter().map(Vec::len).sum::<usize>() < want && start.elapsed() < limit {
        for (link, out) in links.iter_mut().zip(got.iter_mut()) {
            link.recv_batch(64, Duration::from_millis(5), &mut |rx, _| {
                if rx.data.get(6..12) == Some(&SRC_MAC[..]) {
                    out.push((rx.data.to_vec(), rx.meta));
                }
            })
            .unwrap();
        }
    }
    got
}

#[test]
fn a_thousand_frames_go_through_the_tx_ring_and_come_back_through_the_rx_ring() {
    if !privileged("a_thousand_frames_go_through_the_tx_ring_and_come_back_through_the_rx_ring") {
        return;
    }
    let lab = Lab::new();
    let mac_b = lab.mac("vb");
    lab.inside(|| {
        let mut tx_link = PacketLink::open("va", &small_rings()).unwrap();
        let mut rx_link = PacketLink::open("vb", &small_rings()).unwrap();
        assert_eq!((tx_link.interface(), tx_link.mtu()), ("va", 1500));
        assert_eq!(rx_link.mac_address(), mac_b);
        assert_eq!(tx_link.ring_frames(), (1024, 128));
        assert_eq!(tx_link.max_frame_len(), 1518);

        let frames: Vec<Vec<u8>> = (0..1000)
            .map(|seq| udp_frame(4000, seq, None, (seq % 1400) as usize))
            .collect();
        let mut received = Vec::new();
        // 1000 frames through a ring of 128: sends wait for slots the kernel gives back.
        for chunk in frames.chunks(250) {
            for frame in chunk {
                tx_link.send(frame).unwrap();
            }
            tx_link.flush().unwrap();
            received.extend(collect(&mut [&mut rx_link], chunk.len()).remove(0));
        }
        assert_eq!(received.len(), 1000, "every frame arrives");
        for (seq, ((data, meta), sent)) in received.iter().zip(&frames).enumerate() {
            assert_eq!(data, sent, "frame {seq}: same bytes, same order");
            assert_eq!(meta.wire_len, sent.len());
            assert_eq!(meta.vlan, None);
            assert_eq!(
                meta.packet_type,
                PacketType::OtherHost,
                "to a MAC that is not vb's"
            );
        }

        let sent_bytes: u64 = frames.iter().map(|f| f.len() as u64).sum();
        let tx_stats = tx_link.stats().unwrap();
        assert_eq!(
            (tx_stats.tx_frames, tx_stats.tx_bytes, tx_stats.tx_full),
            (1000, sent_bytes, 0)
        );
        let rx_stats = rx_link.stats().unwrap();
        assert_eq!(
            (rx_stats.rx_frames, rx_stats.rx_bytes),
            (1000, sent_bytes),
            "nothing else arrived"
        );
        assert_eq!(
            (
                rx_stats.kernel_packets,
                rx_stats.kernel_drops,
                rx_stats.rx_truncated
            ),
            (1000, 0, 0)
        );
        assert_eq!(
            rx_link.stats().unwrap().kernel_packets,
            1000,
            "kernel counters accumulate across reads"
        );

        // Our own transmissions are not received back (PACKET_IGNORE_OUTGOING).
        let echoed = collect_within(&mut [&mut tx_link], 1, Duration::from_millis(200)).remove(0);
        assert!(echoed.is_empty(), "{} frames came back", echoed.len());
    });
}

#[test]
fn vlan_tags_outgoing_frames_and_size_limits() {
    if !privileged("vlan_tags_outgoing_frames_and_size_limits") {
        return;
    }
    let lab = Lab::new();
    lab.inside(|| {
        // Frames bypassing the qdisc are not shown to other packet sockets: go through it
        // here, so that `watch_out` sees them.
        let mut tx_link = PacketLink::open(
            "va",
            &PacketConfig {
                qdisc_bypass: false,
                ..small_rings()
            },
        )
        .unwrap();
        let mut restored = PacketLink::open("vb", &small_rings()).unwrap();
        let mut stripped = PacketLink::open(
            "vb",
            &PacketConfig {
                restore_vlan: false,
                ..small_rings()
            },
        )
        .unwrap();
        let mut watch_out = PacketLink::open(
            "va",
            &PacketConfig {
                ignore_outgoing: false,
                promiscuous: true,
                ..small_rings()
            },
        )
        .unwrap();

        let tagged: Vec<Vec<u8>> = (0..10)
            .map(|seq| udp_frame(5000, seq, Some(100), 16))
            .collect();
        // The largest frames the link sends: MTU + 14, and + 4 more when tagged.
        let full = udp_frame(5001, 10, None, 1500 - 20 - 8 - 4);
        let full_tagged = udp_frame(5001, 11, Some(7), 1500 - 20 - 8 - 4);
        assert_eq!((full.len(), full_tagged.len()), (1514, 1518));
        for frame in tagged.iter().chain([&full, &full_tagged]) {
            tx_link.send(frame).unwrap();
        }
        let too_long = udp_frame(5001, 12, None, 1500 - 20 - 8 - 4 + 1);
        assert!(matches!(
            tx_link.send(&too_long),
            Err(LinkError::FrameTooLarge {
                len: 1515,
                max: 1518
            })
        ));
        assert!(matches!(
            tx_link.send(&too_long[..13]),
            Err(LinkError::FrameTooLarge { len: 13, .. })
        ));
        // A frame built in the TX slot itself.
        let built = udp_frame(5002, 13, None, 3);
        let len = tx_link
            .send_with(&mut |out| {
                out[..built.len()].copy_from_slice(&built);
                built.len()
            })
            .unwrap();
        assert_eq!(len, built.len());
        tx_link.flush().unwrap();
        let stats = tx_link.stats().unwrap();
        assert_eq!((stats.tx_frames, stats.tx_too_large), (13, 2));

        let mut expected = tagged.clone();
        expected.extend([full.clone(), full_tagged.clone(), built.clone()]);
        let got = collect(&mut [&mut restored, &mut stripped, &mut watch_out], 3 * 13);
        let [restored_got, stripped_got, outgoing] = [&got[0], &got[1], &got[2]];

        let bytes: Vec<&Vec<u8>> = restored_got.iter().map(|(data, _)| data).collect();
        assert_eq!(
            bytes,
            expected.iter().collect::<Vec<_>>(),
            "tags put back where they were"
        );
        let tag100 = VlanTag::from_tci(EtherType::VLAN, 100);
        assert!(restored_got[..10]
            .iter()
            .all(|(d, m)| m.vlan == Some(tag100) && m.wire_len == d.len()));
        assert_eq!(
            restored_got[11].1.vlan,
            Some(VlanTag::from_tci(EtherType::VLAN, 7))
        );
        assert_eq!(restored_got[12].1.vlan, None);

        // Without restoring, the frame is as the kernel left it: untagged, tag in the metadata.
        assert_eq!(stripped_got.len(), 13);
        for ((data, meta), sent) in stripped_got[..10].iter().zip(&tagged) {
            let mut untagged = sent[..12].to_vec();
            untagged.extend_from_slice(&sent[16..]);
            assert_eq!(data, &untagged);
            assert_eq!((meta.vlan, meta.wire_len), (Some(tag100), untagged.len()));
        }

        // Outgoing frames are seen where not ignored.
        assert_eq!(outgoing.len(), 13);
        assert!(outgoing
            .iter()
            .all(|(_, m)| m.packet_type == PacketType::Outgoing));
        assert_eq!(
            outgoing.iter().map(|(d, _)| d).collect::<Vec<_>>(),
            expected.iter().collect::<Vec<_>>()
        );
    });
}

#[test]
fn a_fanout_group_splits_flows_between_its_sockets() {
    if !privileged("a_fanout_group_splits_flows_between_its_sockets") {
        return;
    }
    let lab = Lab::new();
    lab.inside(|| {
        let fanout = PacketConfig {
            fanout: Some(Fanout {
                group: (std::process::id() & 0xFFFF) as u16,
                defrag: false,
            }),
            ..small_rings()
        };
        let mut first = PacketLink::open("vb", &fanout).unwrap();
        let mut second = PacketLink::open("vb", &fanout).unwrap();
        let mut tx_link = PacketLink::open("va", &small_rings()).unwrap();

        const FLOWS: u16 = 64;
        const PER_FLOW: u32 = 8;
        let mut sent = Vec::new();
        for seq in 0..PER_FLOW {
            for flow in 0..FLOWS {
                sent.push(udp_frame(6000 + flow, seq, None, 32));
            }
        }
        let mut got = vec![Vec::new(), Vec::new()];
        for chunk in sent.chunks(128) {
            for frame in chunk {
                tx_link.send(frame).unwrap();
            }
            tx_link.flush().unwrap();
            let part = collect(&mut [&mut first, &mut second], chunk.len());
            for (all, new) in got.iter_mut().zip(part) {
                all.extend(new.into_iter().map(|(data, _)| data));
            }
        }

        // The union is everything sent, each frame once.
        let mut union: Vec<Vec<u8>> = got.concat();
        let mut all = sent.clone();
        union.sort();
        all.sort();
        assert_eq!(union, all);

        // Each flow went to one socket only, whole and in order.
        let flow_of = |frame: &Vec<u8>| u16::from_be_bytes([frame[34], frame[35]]);
        let flows: Vec<Vec<u16>> = got
            .iter()
            .map(|frames| {
                let mut f: Vec<u16> = frames.iter().map(flow_of).collect();
                f.sort();
                f.dedup();
                f
            })
            .collect();
        assert!(
            flows[0].iter().all(|f| !flows[1].contains(f)),
            "disjoint flows: {flows:?}"
        );
        assert!(
            !flows[0].is_empty() && !flows[1].is_empty(),
            "both sockets got flows: {flows:?}"
        );
        assert_eq!(flows[0].len() + flows[1].len(), usize::from(FLOWS));
        for frames in &got {
            for flow in frames.iter().map(flow_of) {
                let seqs: Vec<u32> = frames
                    .iter()
                    .filter(|f| flow_of(f) == flow)
                    .map(|f| u32::from_be_bytes([f[42], f[43], f[44], f[45]]))
                    .collect();
                assert_eq!(seqs, (0..PER_FLOW).collect::<Vec<_>>(), "flow {flow}");
            }
        }
    });
}

#[test]
fn a_full_rx_ring_drops_frames_and_counts_them() {
    if !privileged("a_full_rx_ring_drops_frames_and_counts_them") {
        return;
    }
    let lab = Lab::new();
    lab.inside(|| {
        let mut tx_link = PacketLink::open("va", &small_rings()).unwrap();
        let tiny = PacketConfig {
            rx_ring: RingSize::new(2048, 16),
            ..small_rings()
        };
        let mut rx_link = PacketLink::open("vb", &tiny).unwrap();
        let mut send = |seqs: std::ops::Range<u32>| {
            for seq in seqs {
                tx_link.send(&udp_frame(8000, seq, None, 8)).unwrap();
            }
            tx_link.flush().unwrap();
            std::thread::sleep(Duration::from_millis(50));
        };
        let seqs = |got: Vec<(Vec<u8>, RxMeta)>| -> Vec<u32> {
            got.iter()
                .map(|(f, _)| u32::from_be_bytes([f[42], f[43], f[44], f[45]]))
                .collect()
        };

        // 100 frames into 16 slots nobody empties: the first 16 stay, 84 are dropped.
        send(0..100);
        assert_eq!(
            seqs(collect(&mut [&mut rx_link], 16).remove(0)),
            (0..16).collect::<Vec<_>>()
        );
        assert!(collect_within(&mut [&mut rx_link], 1, Duration::from_millis(50))[0].is_empty());
        // Until the statistics are read, the kernel flags every new frame as "losing".
        send(100..105);
        assert_eq!(
            seqs(collect(&mut [&mut rx_link], 5).remove(0)),
            (100..105).collect::<Vec<_>>()
        );
        let stats = rx_link.stats().unwrap();
        assert_eq!((stats.rx_frames, stats.rx_losing), (21, 5));
        assert_eq!(
            (stats.kernel_packets, stats.kernel_drops),
            (105, 84),
            "packets count the dropped ones"
        );
        // Reading them cleared the kernel's counters and the flag.
        send(105..108);
        assert_eq!(
            seqs(collect(&mut [&mut rx_link], 3).remove(0)),
            (105..108).collect::<Vec<_>>()
        );
        let stats = rx_link.stats().unwrap();
        assert_eq!((stats.rx_frames, stats.rx_losing), (24, 5));
        assert_eq!((stats.kernel_packets, stats.kernel_drops), (108, 84));
    });
}

#[test]
fn frames_queued_while_the_interface_is_down_leave_when_it_is_back() {
    if !privileged("frames_queued_while_the_interface_is_down_leave_when_it_is_back") {
        return;
    }
    let lab = Lab::new();
    lab.inside(|| {
        let mut tx_link = PacketLink::open("va", &small_rings()).unwrap();
        let mut rx_link = PacketLink::open("vb", &small_rings()).unwrap();
        lab.ip(&["link", "set", "va", "down"]);
        let frames: Vec<Vec<u8>> = (0..5).map(|seq| udp_frame(7000, seq, None, 8)).collect();
        for frame in &frames {
            tx_link.send(frame).unwrap();
        }
        match tx_link.flush() {
            Err(LinkError::Io { op, source }) => {
                assert_eq!(
                    (op, source.kind()),
                    ("send(TX ring)", io::ErrorKind::NetworkDown)
                );
            }
            other => panic!("flush on a down interface: {other:?}"),
        }
        // The socket's pending error shows once, on the next receive.
        match tx_link.recv_batch(8, Duration::from_millis(50), &mut |_, _| {}) {
            Err(LinkError::Io { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::NetworkDown)
            }
            other => panic!("receive after the interface went down: {other:?}"),
        }
        assert_eq!(
            tx_link
                .recv_batch(8, Duration::ZERO, &mut |_, _| {})
                .unwrap(),
            0
        );

        lab.ip(&["link", "set", "va", "up"]);
        lab.wait_carrier("va");
        lab.wait_carrier("vb");
        tx_link.flush().unwrap();
        let got: Vec<Vec<u8>> = collect(&mut [&mut rx_link], 5)
            .remove(0)
            .into_iter()
            .map(|(d, _)| d)
            .collect();
        assert_eq!(got, frames);
    });
}

#[test]
fn opening_a_missing_interface_is_an_error() {
    if !privileged("opening_a_missing_interface_is_an_error") {
        return;
    }
    let lab = Lab::new();
    lab.inside(|| {
        let err = PacketLink::open("nosuch0", &small_rings()).unwrap_err();
        assert!(
            matches!(&err, LinkError::NoSuchInterface(name) if name == "nosuch0"),
            "{err}"
        );
        let bad = PacketConfig {
            rx_ring: RingSize::new(2047, 8),
            ..small_rings()
        };
        assert!(matches!(
            PacketLink::open("va", &bad),
            Err(LinkError::InvalidConfig(_))
        ));
    });
}

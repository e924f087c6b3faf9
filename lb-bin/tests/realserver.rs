//! `lb realserver` in network namespaces (root only): a TUN real server served by the
//! userspace decapsulator answers a UDP request that reaches it inside an IPIP packet, from
//! the VIP, without the kernel answering ICMP protocol-unreachable; then a DR real server is
//! set up, checked and torn down.
//!
//! Two namespaces joined by a veth pair: the sender (198.18.1.1/24, playing the director)
//! and the real server (198.18.1.2/24, VIP 198.18.0.100). Every wait is bounded.

use std::fs;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use lb_io::link::netns;
use lb_io::link::raw_ip::{RawIpFamily, RawIpSocket};
use lb_io::wire::IpProtocol;

const LB: &str = env!("CARGO_BIN_EXE_lb");
const SENDER_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 1);
const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 2);
const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
const ECHO_PORT: u16 = 7000;
const SENDER_PORT: u16 = 40000;
/// The longest any one wait of the test lasts.
const WAIT: Duration = Duration::from_secs(3);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The two namespaces, removed on drop (after a teardown, so that no decapsulator stays).
struct Lab {
    sender: String,
    server: String,
    veth_sender: String,
    veth_server: String,
}

impl Lab {
    fn new() -> Lab {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let id = format!("{}-{n}", std::process::id());
        let lab = Lab {
            sender: format!("lbrs-s-{id}"),
            server: format!("lbrs-r-{id}"),
            veth_sender: format!("lbrs{n}a{}", std::process::id() % 100_000),
            veth_server: format!("lbrs{n}b{}", std::process::id() % 100_000),
        };
        run("ip", &["netns", "add", &lab.sender]);
        run("ip", &["netns", "add", &lab.server]);
        run(
            "ip",
            &[
                "link",
                "add",
                &lab.veth_sender,
                "netns",
                &lab.sender,
                "type",
                "veth",
                "peer",
                "name",
                &lab.veth_server,
                "netns",
                &lab.server,
            ],
        );
        let sender_cidr = format!("{SENDER_ADDR}/24");
        let server_cidr = format!("{SERVER_ADDR}/24");
        lab.ip(
            &lab.sender,
            &["addr", "add", &sender_cidr, "dev", &lab.veth_sender],
        );
        lab.ip(
            &lab.server,
            &["addr", "add", &server_cidr, "dev", &lab.veth_server],
        );
        for (ns, dev) in [
            (&lab.sender, &lab.veth_sender),
            (&lab.server, &lab.veth_server),
        ] {
            lab.ip(ns, &["link", "set", "dev", dev, "up"]);
            lab.ip(ns, &["link", "set", "dev", "lo", "up"]);
        }
        // A namespace inode can be reused: forget files an earlier namespace of the same
        // inode left in /run/lb.
        let inode = fs::metadata(format!("/run/netns/{}", lab.server))
            .expect("server namespace file")
            .ino();
        if let Ok(entries) = fs::read_dir("/run/lb") {
            let prefix = format!("realserver-net{inode}");
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(&format!("{prefix}."))
                    || name.starts_with(&format!("{prefix}-"))
                {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        lab
    }

    fn ip(&self, ns: &str, args: &[&str]) {
        let mut all = vec!["-n", ns];
        all.extend_from_slice(args);
        run("ip", &all);
    }

    /// Runs `lb realserver ARGS` in the server namespace.
    fn realserver(&self, args: &[&str]) -> Output {
        let mut all = vec!["netns", "exec", &self.server, LB, "realserver"];
        all.extend_from_slice(args);
        Command::new("ip").args(&all).output().expect("run lb")
    }

    /// Writes a setting in the server namespace.
    fn sysctl(&self, conf: &str, name: &str, value: u32) {
        let path = format!("/proc/sys/net/ipv4/conf/{conf}/{name}");
        let script = format!("echo {value} > {path}");
        run("ip", &["netns", "exec", &self.server, "sh", "-c", &script]);
    }

    /// The server namespace's count of ICMP destination-unreachable messages sent.
    fn out_dest_unreachs(&self) -> u64 {
        let out = run(
            "ip",
            &["netns", "exec", &self.server, "cat", "/proc/net/snmp"],
        );
        let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("Icmp:")).collect();
        let (names, values) = (lines[0], lines[1]);
        let index = names
            .split_whitespace()
            .position(|n| n == "OutDestUnreachs")
            .expect("OutDestUnreachs column");
        values
            .split_whitespace()
            .nth(index)
            .unwrap()
            .parse()
            .unwrap()
    }

    /// Waits (bounded) until the server has sent `want` destination-unreachables, and
    /// returns the count at the end of the wait.
    fn wait_dest_unreachs(&self, want: u64) -> u64 {
        let deadline = Instant::now() + WAIT;
        loop {
            let now = self.out_dest_unreachs();
            if now >= want || Instant::now() >= deadline {
                return now;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for mode in ["tun", "dr"] {
            let _ = self.realserver(&["teardown", "--mode", mode, "--vip", "198.18.0.100"]);
        }
        for ns in [&self.sender, &self.server] {
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
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// An IPv4 UDP datagram SENDER_ADDR:SENDER_PORT → VIP:ECHO_PORT carrying `payload`.
fn inner_datagram(payload: &[u8]) -> Vec<u8> {
    let builder = etherparse::PacketBuilder::ipv4(SENDER_ADDR.octets(), VIP.octets(), 64)
        .udp(SENDER_PORT, ECHO_PORT);
    let mut bytes = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut bytes, payload).expect("build datagram");
    bytes
}

/// From the sender namespace: sends `payload` to the VIP inside an IPIP packet for the
/// server's address, and returns the reply received (source and bytes), if one comes
/// within `wait`.
fn send_tunnelled(
    lab: &Lab,
    payload: &'static [u8],
    wait: Duration,
) -> Option<(SocketAddr, Vec<u8>)> {
    let ns = lab.sender.clone();
    thread::spawn(move || {
        netns::enter_named(&ns).expect("enter sender namespace");
        let reply_socket =
            UdpSocket::bind((SENDER_ADDR, SENDER_PORT)).expect("bind the sender's UDP socket");
        reply_socket.set_read_timeout(Some(wait)).unwrap();
        let raw = RawIpSocket::open(RawIpFamily::V4, IpProtocol::IPIP).expect("raw IPIP socket");
        let inner = inner_datagram(payload);
        let sent = raw
            .send_to(&inner, IpAddr::V4(SERVER_ADDR))
            .expect("send IPIP");
        assert_eq!(sent, inner.len());
        let mut buf = [0u8; 1500];
        reply_socket
            .recv_from(&mut buf)
            .ok()
            .map(|(len, from)| (from, buf[..len].to_vec()))
    })
    .join()
    .expect("sender thread")
}

/// In the server namespace: answers one datagram on VIP:ECHO_PORT with the same bytes
/// (waiting at most 2 × [`WAIT`]). Returns once the socket is bound.
fn start_echo(lab: &Lab) -> thread::JoinHandle<Option<Vec<u8>>> {
    let ns = lab.server.clone();
    let (bound_tx, bound_rx) = std::sync::mpsc::channel();
    let handle = thread::spawn(move || {
        netns::enter_named(&ns).expect("enter server namespace");
        let socket = UdpSocket::bind((VIP, ECHO_PORT)).expect("bind the echo socket to the VIP");
        socket.set_read_timeout(Some(WAIT * 2)).unwrap();
        let _ = bound_tx.send(());
        let mut buf = [0u8; 1500];
        let (len, from) = socket.recv_from(&mut buf).ok()?;
        socket.send_to(&buf[..len], from).ok()?;
        Some(buf[..len].to_vec())
    });
    bound_rx.recv_timeout(WAIT).expect("echo server bound");
    handle
}

fn is_gone(pid: &str) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

#[test]
fn tun_and_dr_real_servers() {
    if !netns::running_as_root() {
        let _ = writeln!(
            std::io::stderr(),
            "skipping tun_and_dr_real_servers: network namespaces need root"
        );
        return;
    }
    let started = Instant::now();
    let lab = Lab::new();
    // Known starting values, all of which setup must change and teardown restore.
    for (conf, name, value) in [
        ("all", "arp_ignore", 0),
        ("lo", "arp_ignore", 0),
        ("all", "arp_announce", 0),
        ("lo", "arp_announce", 0),
        ("default", "arp_ignore", 0),
        ("default", "arp_announce", 0),
        ("all", "rp_filter", 1),
        ("default", "rp_filter", 1),
    ] {
        lab.sysctl(conf, name, value);
    }
    lab.sysctl(&lab.veth_server, "rp_filter", 1);

    // Without a decapsulator, this kernel (no ipip module) answers an IPIP packet with an
    // ICMP protocol-unreachable: the counter the test relies on below works.
    let before = lab.out_dest_unreachs();
    assert_eq!(
        send_tunnelled(&lab, b"too early", Duration::from_millis(300)),
        None
    );
    assert_eq!(lab.wait_dest_unreachs(before + 1), before + 1);

    let tun_args = ["--mode", "tun", "--vip", "198.18.0.100"];
    let setup = lab.realserver(&[&["setup"][..], &tun_args].concat());
    assert!(
        setup.status.success(),
        "setup: {}",
        String::from_utf8_lossy(&setup.stderr)
    );
    let mut lines = stdout_lines(&setup);
    let started_line = lines.pop().expect("setup output");
    let veth = &lab.veth_server;
    assert_eq!(
        lines,
        [
            "created TUN device lbtun0".to_string(),
            "brought lbtun0 up".to_string(),
            "set net.ipv4.conf.all.arp_ignore=1 (was 0)".to_string(),
            "set net.ipv4.conf.lo.arp_ignore=1 (was 0)".to_string(),
            "set net.ipv4.conf.lbtun0.arp_ignore=1 (was 0)".to_string(),
            "set net.ipv4.conf.all.arp_announce=2 (was 0)".to_string(),
            "set net.ipv4.conf.lo.arp_announce=2 (was 0)".to_string(),
            "set net.ipv4.conf.lbtun0.arp_announce=2 (was 0)".to_string(),
            "set net.ipv4.conf.all.rp_filter=0 (was 1)".to_string(),
            "set net.ipv4.conf.lbtun0.rp_filter=0 (was 1)".to_string(),
            format!("set net.ipv4.conf.{veth}.rp_filter=0 (was 1)"),
            "added 198.18.0.100/32 to lbtun0".to_string(),
        ]
    );
    let pid = started_line
        .strip_prefix("started decapsulator for lbtun0 (pid ")
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("unexpected last setup line: {started_line}"))
        .to_string();
    assert!(!is_gone(&pid), "decapsulator {pid} not running");

    let check = lab.realserver(&[&["check"][..], &tun_args].concat());
    assert_eq!(
        stdout_lines(&check),
        ["ok: tun real server, VIP 198.18.0.100/32 on lbtun0, userspace decapsulator running"]
    );
    assert_eq!(check.status.code(), Some(0));

    // Setting up again changes nothing.
    let again = lab.realserver(&[&["setup"][..], &tun_args].concat());
    let again_lines = stdout_lines(&again);
    assert_eq!(again_lines.len(), 11, "{again_lines:?}");
    assert!(
        again_lines[..9].iter().all(|l| l.ends_with(" already")),
        "{again_lines:?}"
    );
    assert_eq!(again_lines[9], "198.18.0.100 already on lbtun0");
    assert_eq!(
        again_lines[10],
        format!("decapsulator for lbtun0 already running (pid {pid})")
    );

    // The tunnelled request reaches the echo server; the reply comes from the VIP; the
    // kernel sent no protocol-unreachable.
    let before = lab.out_dest_unreachs();
    let echo = start_echo(&lab);
    let reply = send_tunnelled(&lab, b"ping through the tunnel", WAIT);
    assert_eq!(
        echo.join().expect("echo thread"),
        Some(b"ping through the tunnel".to_vec())
    );
    assert_eq!(
        reply,
        Some((
            SocketAddr::from((VIP, ECHO_PORT)),
            b"ping through the tunnel".to_vec()
        ))
    );
    assert_eq!(lab.out_dest_unreachs(), before);

    let teardown = lab.realserver(&[&["teardown"][..], &tun_args].concat());
    assert!(teardown.status.success());
    assert_eq!(
        stdout_lines(&teardown),
        [
            "removed 198.18.0.100/32 from lbtun0".to_string(),
            format!("stopped decapsulator for lbtun0 (pid {pid})"),
            "deleted TUN device lbtun0".to_string(),
            "restored net.ipv4.conf.all.arp_ignore=0".to_string(),
            "restored net.ipv4.conf.lo.arp_ignore=0".to_string(),
            "restored net.ipv4.conf.all.arp_announce=0".to_string(),
            "restored net.ipv4.conf.lo.arp_announce=0".to_string(),
            "restored net.ipv4.conf.all.rp_filter=1".to_string(),
            format!("restored net.ipv4.conf.{veth}.rp_filter=1"),
        ]
    );
    assert!(is_gone(&pid), "decapsulator {pid} still running");
    let check = lab.realserver(&[&["check"][..], &tun_args].concat());
    assert_eq!(
        stdout_lines(&check),
        [
            "tunnel device lbtun0 missing".to_string(),
            "VIP 198.18.0.100 missing on lbtun0".to_string(),
            "net.ipv4.conf.all.arp_ignore is 0, not 1".to_string(),
            "net.ipv4.conf.lo.arp_ignore is 0, not 1".to_string(),
            "net.ipv4.conf.lbtun0.arp_ignore unreadable, should be 1".to_string(),
            "net.ipv4.conf.all.arp_announce is 0, not 2".to_string(),
            "net.ipv4.conf.lo.arp_announce is 0, not 2".to_string(),
            "net.ipv4.conf.lbtun0.arp_announce unreadable, should be 2".to_string(),
            "net.ipv4.conf.all.rp_filter is 1, not 0".to_string(),
            "net.ipv4.conf.lbtun0.rp_filter unreadable, should be 0".to_string(),
            format!("net.ipv4.conf.{veth}.rp_filter is 1, not 0"),
            "decapsulator for lbtun0 not running".to_string(),
        ]
    );
    assert_eq!(check.status.code(), Some(1));

    // Direct routing: check, setup, check, teardown, check.
    let dr_args = ["--mode", "dr", "--vip", "198.18.0.100"];
    let dr_problems = [
        "VIP 198.18.0.100 missing on lo",
        "net.ipv4.conf.all.arp_ignore is 0, not 1",
        "net.ipv4.conf.lo.arp_ignore is 0, not 1",
        "net.ipv4.conf.all.arp_announce is 0, not 2",
        "net.ipv4.conf.lo.arp_announce is 0, not 2",
    ];
    let check = lab.realserver(&[&["check"][..], &dr_args].concat());
    assert_eq!(stdout_lines(&check), dr_problems);
    assert_eq!(check.status.code(), Some(1));
    let setup = lab.realserver(&[&["setup"][..], &dr_args].concat());
    assert_eq!(
        stdout_lines(&setup),
        [
            "set net.ipv4.conf.all.arp_ignore=1 (was 0)",
            "set net.ipv4.conf.lo.arp_ignore=1 (was 0)",
            "set net.ipv4.conf.all.arp_announce=2 (was 0)",
            "set net.ipv4.conf.lo.arp_announce=2 (was 0)",
            "added 198.18.0.100/32 to lo",
        ]
    );
    let check = lab.realserver(&[&["check"][..], &dr_args].concat());
    assert_eq!(
        stdout_lines(&check),
        ["ok: dr real server, VIP 198.18.0.100/32 on lo"]
    );
    assert_eq!(check.status.code(), Some(0));
    let teardown = lab.realserver(&[&["teardown"][..], &dr_args].concat());
    assert_eq!(
        stdout_lines(&teardown),
        [
            "removed 198.18.0.100/32 from lo",
            "restored net.ipv4.conf.all.arp_ignore=0",
            "restored net.ipv4.conf.lo.arp_ignore=0",
            "restored net.ipv4.conf.all.arp_announce=0",
            "restored net.ipv4.conf.lo.arp_announce=0",
        ]
    );
    let check = lab.realserver(&[&["check"][..], &dr_args].concat());
    assert_eq!(stdout_lines(&check), dr_problems);
    assert_eq!(check.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(30));
}

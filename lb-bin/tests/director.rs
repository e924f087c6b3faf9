//! The director daemon, as an operator runs it: the real `lb director` binary in a lab of
//! three network namespaces, configured with `lb ipvsadm`, forwarding UDP between a client
//! and a real server with NAT.
//!
//! ```text
//!  client ns            director ns (ip_forward=0)            server ns
//!  c0 198.18.1.2/24 ─── d0 198.18.1.1/24 (client)
//!                       d1 198.18.2.1/24 (server) ─────────── s0 198.18.2.2/24, via 198.18.2.1
//!  VIP 198.18.1.10 (on no interface: the director answers ARP for it)
//! ```
//!
//! The same lab runs the director with `--link xdp` (AF_XDP links, the XDP program in the
//! driver and in the generic path), its veths made with two queues for two workers.
//!
//! The namespaces are named `lbd-<pid>-<n>-{c,d,s}` and removed when the test ends, also on
//! failure; every wait is bounded. The lab tests need root and say so when skipped; the
//! others run anywhere.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

use lb_io::link::netns;

const LB: &str = env!("CARGO_BIN_EXE_lb");
const VIP: &str = "198.18.1.10";
const SERVER: &str = "198.18.2.2";
const PORT: u16 = 5353;
/// The longest wait for anything.
const DEADLINE: Duration = Duration::from_secs(10);

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("lb-director-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
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

/// `lb ipvsadm ARGS` against the control socket `control`.
fn ipvsadm(control: &Path, args: &[&str]) -> Output {
    Command::new(LB)
        .arg("ipvsadm")
        .args(args)
        .env("LB_CONTROL", control)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The three namespaces and their veths. Removed on drop.
struct Lab {
    names: [String; 3],
}

impl Lab {
    fn client(&self) -> &str {
        &self.names[0]
    }
    fn director(&self) -> &str {
        &self.names[1]
    }
    fn server(&self) -> &str {
        &self.names[2]
    }

    fn new() -> Lab {
        Lab::with_queues(1)
    }

    /// The lab with veths of `queues` receive and transmit queues each.
    fn with_queues(queues: u32) -> Lab {
        let queues = queues.to_string();
        let q = ["numrxqueues", &queues, "numtxqueues", &queues];
        let base = format!(
            "lbd-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let names = ["c", "d", "s"].map(|r| format!("{base}-{r}"));
        let mut lab = Lab {
            names: Default::default(),
        };
        for (slot, name) in lab.names.iter_mut().zip(&names) {
            run("ip", &["netns", "add", name]);
            *slot = name.clone();
        }
        for ns in &names {
            for key in ["all", "default"] {
                let sysctl = format!("net.ipv6.conf.{key}.disable_ipv6=1");
                run("ip", &["netns", "exec", ns, "sysctl", "-qw", &sysctl]);
            }
            run("ip", &["-n", ns, "link", "set", "lo", "up"]);
        }
        let (c, d, s) = (lab.client(), lab.director(), lab.server());
        for (end, ns, peer) in [("c0", c, "d0"), ("s0", s, "d1")] {
            let mut args = vec!["link", "add", end];
            args.extend(q);
            args.extend(["netns", ns, "type", "veth", "peer", "name", peer]);
            args.extend(q);
            args.extend(["netns", d]);
            run("ip", &args);
        }
        for (ns, dev, addr) in [
            (c, "c0", "198.18.1.2/24"),
            (d, "d0", "198.18.1.1/24"),
            (d, "d1", "198.18.2.1/24"),
            (s, "s0", "198.18.2.2/24"),
        ] {
            run("ip", &["-n", ns, "addr", "add", addr, "dev", dev]);
            run("ip", &["-n", ns, "link", "set", dev, "up"]);
        }
        run(
            "ip",
            &["-n", s, "route", "add", "default", "via", "198.18.2.1"],
        );
        for (ns, dev) in [(c, "c0"), (d, "d0"), (d, "d1"), (s, "s0")] {
            lab.wait_up(ns, dev);
        }
        lab
    }

    fn wait_up(&self, ns: &str, dev: &str) {
        let start = Instant::now();
        loop {
            let show = run("ip", &["-n", ns, "link", "show", dev]);
            if show.contains("LOWER_UP") && show.contains("state UP") {
                return;
            }
            assert!(start.elapsed() < DEADLINE, "{ns}/{dev} is not up");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn sysctl(&self, ns: &str, setting: &str) {
        run("ip", &["netns", "exec", ns, "sysctl", "-qw", setting]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for name in self.names.iter().filter(|n| !n.is_empty()) {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

/// A running `lb director`, killed (by its process id) on drop if still running.
struct Daemon {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Daemon {
    /// Starts `lb director ARGS` in namespace `ns` (`ip netns exec` executes the binary
    /// itself, so the child is the director).
    fn start(ns: &str, args: &[&str]) -> Daemon {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, LB, "director"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for the line `want` on its stderr; false if it did not come in time (or the
    /// director ended first).
    fn wait_line(&mut self, want: &str) -> bool {
        let start = Instant::now();
        while let Some(left) = DEADLINE.checked_sub(start.elapsed()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line == want;
                    self.seen.push(line);
                    if found {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Waits for it to end; its status and every stderr line.
    fn wait_exit(&mut self) -> (ExitStatus, Vec<String>) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(start.elapsed() < DEADLINE, "the director did not stop");
            std::thread::sleep(Duration::from_millis(10));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
            self.seen.push(line);
        }
        (status, self.seen.clone())
    }

    fn terminate(&mut self) {
        run("kill", &["-TERM", &self.child.id().to_string()]);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `f` on a thread inside namespace `ns`.
fn inside<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let ns = ns.to_string();
    std::thread::spawn(move || {
        netns::enter_named(&ns).expect("setns");
        f()
    })
}

/// Echoes `count` datagrams on SERVER:PORT in namespace `ns`, or stops after DEADLINE.
fn echo_server(ns: &str, count: usize) -> std::thread::JoinHandle<usize> {
    let (ready_tx, ready_rx) = channel();
    let handle = inside(ns, move || {
        let socket = UdpSocket::bind((SERVER, PORT)).unwrap();
        socket.set_read_timeout(Some(DEADLINE)).unwrap();
        ready_tx.send(()).unwrap();
        let mut echoed = 0;
        let mut buf = [0u8; 2048];
        while echoed < count {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                break;
            };
            socket.send_to(&buf[..n], from).unwrap();
            echoed += 1;
        }
        echoed
    });
    ready_rx.recv_timeout(DEADLINE).expect("echo server up");
    handle
}

/// Sends `payloads` one by one from the client namespace to VIP:PORT, each waiting (up to
/// 3 s) for its echo; returns each echo, its source and its round-trip time.
fn send_datagrams(ns: &str, payloads: Vec<String>) -> Vec<Option<(String, SocketAddr, Duration)>> {
    inside(ns, move || {
        let socket = UdpSocket::bind(("198.18.1.2", 40000)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        payloads
            .iter()
            .map(|p| {
                let start = Instant::now();
                socket.send_to(p.as_bytes(), (VIP, PORT)).unwrap();
                let mut buf = [0u8; 2048];
                socket
                    .recv_from(&mut buf)
                    .ok()
                    .map(|(n, from)| (text(&buf[..n]), from, start.elapsed()))
            })
            .collect()
    })
    .join()
    .unwrap()
}

fn root(test: &str) -> bool {
    let root = netns::running_as_root();
    if !root {
        let _ = writeln!(
            std::io::stderr(),
            "skipping {test}: network namespaces and AF_PACKET links need root"
        );
    }
    root
}

#[test]
fn the_director_forwards_udp_with_nat_and_keeps_its_rules() {
    if !root("the_director_forwards_udp_with_nat_and_keeps_its_rules") {
        return;
    }
    let t0 = Instant::now();
    let lab = Lab::new();
    let dir = TempDir::new("lab");
    let control = dir.0.join("control.sock");
    let rules = dir.0.join("rules");
    let control_s = control.to_str().unwrap().to_string();
    let rules_s = rules.to_str().unwrap().to_string();
    let args = [
        "--interface",
        "d0=client",
        "--interface",
        "d1=server",
        "--workers",
        "2",
        "--control",
        &control_s,
        "--rules",
        &rules_s,
    ];
    let lab_ready = t0.elapsed();

    // With forwarding on, the director refuses to start and says what to change.
    lab.sysctl(lab.director(), "net.ipv4.ip_forward=1");
    let mut refused = Daemon::start(lab.director(), &args);
    let (status, lines) = refused.wait_exit();
    assert_eq!(status.code(), Some(1), "{lines:?}");
    assert_eq!(
        lines,
        [
            "lb director: no rules at ".to_string() + &rules_s + ": starting with an empty table",
            "lb director: error: IPv4 forwarding is on: set net.ipv4.ip_forward=0 (sysctl -w \
             net.ipv4.ip_forward=0); the kernel would forward the virtual services' packets and \
             the NAT replies itself"
                .to_string(),
            "lb director: error: refusing to start (--host-check warn or `host-check warn' runs \
             anyway)"
                .to_string(),
        ]
    );
    lab.sysctl(lab.director(), "net.ipv4.ip_forward=0");

    let started = Instant::now();
    let mut daemon = Daemon::start(lab.director(), &args);
    assert!(daemon.wait_line("lb director: ready"), "{:?}", daemon.seen);
    let to_ready = started.elapsed();

    for cmd in [
        &["-A", "-u", "198.18.1.10:5353", "-s", "rr"][..],
        &["-a", "-u", "198.18.1.10:5353", "-r", "198.18.2.2", "-m"][..],
    ] {
        let out = ipvsadm(&control, cmd);
        assert_eq!(
            (out.status.code(), text(&out.stdout), text(&out.stderr)),
            (Some(0), String::new(), String::new()),
            "{cmd:?}"
        );
    }
    let out = ipvsadm(&control, &["-A", "-u", "198.18.1.10:5353"]);
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (Some(255), "Service already exists\n".to_string())
    );

    let server = echo_server(lab.server(), 5);
    let payloads: Vec<String> = (0..5).map(|i| format!("datagram {i}")).collect();
    let echoes = send_datagrams(lab.client(), payloads.clone());
    assert_eq!(server.join().unwrap(), 5);
    let vip: SocketAddr = format!("{VIP}:{PORT}").parse().unwrap();
    for (echo, sent) in echoes.iter().zip(&payloads) {
        let (data, from, _) = echo.as_ref().expect("an echo");
        assert_eq!((data, *from), (sent, vip));
    }
    let rtts: Vec<Duration> = echoes.iter().flatten().map(|e| e.2).collect();

    let out = ipvsadm(&control, &["-L", "-n", "--stats"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  \
         -> RemoteAddress:Port\n\
         UDP  198.18.1.10:5353                    1        5        5      190      190\n  \
         -> 198.18.2.2:5353                     1        5        5      190      190\n"
    );

    let stop = Instant::now();
    daemon.terminate();
    let (status, lines) = daemon.wait_exit();
    let to_stop = stop.elapsed();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("lb director: stopped")
    );
    assert!(!control.exists(), "the control socket is removed");
    let saved = "-A -u 198.18.1.10:5353 -s rr\n-a -u 198.18.1.10:5353 -r 198.18.2.2:5353 -m -w 1\n";
    assert_eq!(std::fs::read_to_string(&rules).unwrap(), saved);

    // A new director loads the rules back, and forwards with them.
    let mut again = Daemon::start(lab.director(), &args);
    assert!(again.wait_line("lb director: ready"), "{:?}", again.seen);
    assert!(again
        .seen
        .contains(&format!("lb director: 2 rules loaded from {rules_s}")));
    let out = ipvsadm(&control, &["-S", "-n"]);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), saved.to_string())
    );
    let server = echo_server(lab.server(), 1);
    let echoes = send_datagrams(lab.client(), vec!["after restart".to_string()]);
    assert_eq!(server.join().unwrap(), 1);
    let (data, from, _) = echoes[0].clone().expect("an echo after the restart");
    assert_eq!((data.as_str(), from), ("after restart", vip));
    again.terminate();
    let (status, lines) = again.wait_exit();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    assert_eq!(std::fs::read_to_string(&rules).unwrap(), saved);

    eprintln!(
        "director lab: namespaces {lab_ready:?}, start to ready {to_ready:?}, echo round trips {rtts:?}, \
         SIGTERM to exit {to_stop:?}, whole test {:?}",
        t0.elapsed()
    );
}

#[test]
fn without_a_director_the_client_says_so() {
    let dir = TempDir::new("none");
    let control = dir.0.join("none.sock");
    let out = ipvsadm(&control, &["-L", "-n"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        format!(
            "Can't initialize ipvs: no lb director is running ({}: No such file or directory)\n\
             Start one with 'lb director'.\n",
            control.display()
        )
    );
}

#[test]
fn usage_errors_help_and_version_need_no_director() {
    let dir = TempDir::new("usage");
    let control = dir.0.join("none.sock");
    let out = ipvsadm(
        &control,
        &[
            "-a",
            "-t",
            "198.18.1.10:80",
            "-r",
            "198.18.2.2",
            "-w",
            "70000",
        ],
    );
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (Some(2), "illegal weight specified\n".to_string())
    );
    let out = ipvsadm(&control, &["-n"]);
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (
            Some(255),
            "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n".to_string()
        )
    );
    let out = ipvsadm(&control, &["-v"]);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (
            Some(0),
            "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n".to_string()
        )
    );
    let out = ipvsadm(&control, &["-h"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with(
        "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\nUsage:\n  ipvsadm -A|E"
    ));

    // Started under the name `ipvsadm`, the binary is the client, naming itself as called.
    let link = dir.0.join("ipvsadm");
    std::os::unix::fs::symlink(LB, &link).unwrap();
    let out = Command::new(&link)
        .arg("-n")
        .env("LB_CONTROL", &control)
        .output()
        .unwrap();
    assert_eq!(
        (out.status.code(), text(&out.stderr)),
        (
            Some(255),
            format!(
                "Try `{0} -h' or '{0} --help' for more information.\n",
                link.display()
            )
        )
    );
    let out = Command::new(&link)
        .args(["-L", "-n"])
        .env("LB_CONTROL", &control)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_bad_config_line_is_named_with_its_file_and_line() {
    let dir = TempDir::new("config");
    let config = dir.0.join("director.conf");
    std::fs::write(&config, "interface d0 role client\nvip 198.18.1.10\n").unwrap();
    let out = Command::new(LB)
        .args(["director", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!(
            "lb director: {}: line 2: unknown key `vip'\n",
            config.display()
        )
    );
    let out = Command::new(LB)
        .args(["director", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("Usage: lb director [--config FILE]"));
}

/// The NAT echo of the first test with `--link xdp`: two workers on two queues of each
/// veth. The real server's ARP for its gateway (the director's address 198.18.2.1) is
/// answered by the director's kernel while the XDP programs are attached, and a datagram
/// to that address reaches a socket of that kernel.
fn the_director_forwards_udp_with_nat_over_xdp(mode: &str) {
    let lab = Lab::with_queues(2);
    // AF_XDP says nothing of a frame's checksum state: the senders must complete their
    // checksums themselves (docs/director.md, "What a lab needs").
    for (ns, dev) in [(lab.client(), "c0"), (lab.server(), "s0")] {
        run(
            "ip",
            &["netns", "exec", ns, "ethtool", "-K", dev, "tx", "off"],
        );
    }
    let dir = TempDir::new("xdp");
    let control = dir.0.join("control.sock");
    let rules = dir.0.join("rules");
    std::fs::write(
        &rules,
        "-A -u 198.18.1.10:5353 -s rr\n-a -u 198.18.1.10:5353 -r 198.18.2.2:5353 -m -w 1\n",
    )
    .unwrap();
    let control_s = control.to_str().unwrap().to_string();
    let rules_s = rules.to_str().unwrap().to_string();
    let mut args = vec![
        "--interface",
        "d0=client",
        "--interface",
        "d1=server",
        "--workers",
        "2",
        "--control",
        &control_s,
        "--rules",
        &rules_s,
        "--link",
        "xdp",
        "--xdp-mode",
        mode,
    ];

    // Three workers, two queues: refused, saying what to change.
    args[5] = "3";
    let mut refused = Daemon::start(lab.director(), &args);
    let (status, lines) = refused.wait_exit();
    assert_eq!(status.code(), Some(1), "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some(
            "lb director: error: interface d0 has 2 receive queues, fewer than the 3 workers \
             (worker N uses queue N): give it 3 (ethtool -L d0 combined 3; a veth: ethtool -L d0 \
             rx 3 tx 3, created with numrxqueues 3 numtxqueues 3) or run with --workers 2"
        )
    );
    args[5] = "2";

    let mut daemon = Daemon::start(lab.director(), &args);
    assert!(daemon.wait_line("lb director: ready"), "{:?}", daemon.seen);
    for dev in ["d0", "d1"] {
        let shown = format!(
            "lb director: interface {dev}: AF_XDP, program in {mode} mode, copy, queues 0 to 1"
        );
        assert!(daemon.seen.contains(&shown), "{:?}", daemon.seen);
        let link = run("ip", &["-n", lab.director(), "link", "show", dev]);
        let attached = if mode == "native" {
            " xdp "
        } else {
            " xdpgeneric "
        };
        assert!(link.contains(attached), "{link}");
    }

    let server = echo_server(lab.server(), 5);
    let payloads: Vec<String> = (0..5).map(|i| format!("datagram {i}")).collect();
    let echoes = send_datagrams(lab.client(), payloads.clone());
    assert_eq!(server.join().unwrap(), 5);
    let vip: SocketAddr = format!("{VIP}:{PORT}").parse().unwrap();
    for (echo, sent) in echoes.iter().zip(&payloads) {
        let (data, from, _) = echo.as_ref().expect("an echo");
        assert_eq!((data, *from), (sent, vip));
    }
    let out = ipvsadm(&control, &["-L", "-n", "--stats"]);
    assert_eq!(
        text(&out.stdout),
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n  \
         -> RemoteAddress:Port\n\
         UDP  198.18.1.10:5353                    1        5        5      190      190\n  \
         -> 198.18.2.2:5353                     1        5        5      190      190\n"
    );

    // The director's own address stays the kernel's: its ARP answer is in the server's
    // table (it routes its echoes through it), and a datagram to it reaches a socket.
    let neigh = run("ip", &["-n", lab.server(), "neigh", "show", "198.18.2.1"]);
    let d1 = run("ip", &["-n", lab.director(), "link", "show", "d1"]);
    let d1_mac = d1
        .split("link/ether ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap();
    assert!(neigh.contains(&format!("lladdr {d1_mac}")), "{neigh}");
    let host = inside(lab.director(), || {
        let socket = UdpSocket::bind(("198.18.2.1", 7)).unwrap();
        socket.set_read_timeout(Some(DEADLINE)).unwrap();
        socket
    })
    .join()
    .unwrap();
    inside(lab.server(), || {
        let socket = UdpSocket::bind((SERVER, 0)).unwrap();
        socket
            .send_to(b"to the director's kernel", ("198.18.2.1", 7))
            .unwrap();
    })
    .join()
    .unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = host.recv_from(&mut buf).expect("a datagram to 198.18.2.1");
    assert_eq!(
        (&buf[..n], from.ip().to_string()),
        (&b"to the director's kernel"[..], SERVER.to_string())
    );

    daemon.terminate();
    let (status, lines) = daemon.wait_exit();
    assert_eq!(status.code(), Some(0), "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("lb director: stopped")
    );
    for dev in ["d0", "d1"] {
        let link = run("ip", &["-n", lab.director(), "link", "show", dev]);
        assert!(!link.contains("xdp"), "the program is gone: {link}");
    }
}

#[test]
fn the_director_forwards_udp_with_nat_over_xdp_native() {
    if root("the_director_forwards_udp_with_nat_over_xdp_native") {
        the_director_forwards_udp_with_nat_over_xdp("native");
    }
}

#[test]
fn the_director_forwards_udp_with_nat_over_xdp_generic() {
    if root("the_director_forwards_udp_with_nat_over_xdp_generic") {
        the_director_forwards_udp_with_nat_over_xdp("generic");
    }
}

#[test]
fn an_interface_that_refuses_xdp_is_named_in_one_line() {
    if !root("an_interface_that_refuses_xdp_is_named_in_one_line") {
        return;
    }
    // The loopback device has no XDP in its driver.
    let lab = Lab::new();
    let dir = TempDir::new("noxdp");
    let control = dir.0.join("control.sock");
    let rules = dir.0.join("rules");
    let args = [
        "--interface",
        "lo",
        "--control",
        control.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--link",
        "xdp",
        "--xdp-mode",
        "native",
    ];
    let mut refused = Daemon::start(lab.director(), &args);
    let (status, lines) = refused.wait_exit();
    assert_eq!(status.code(), Some(1), "{lines:?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some(
            "lb director: error: interface lo: cannot attach the XDP program \
             (bpf(BPF_LINK_CREATE, XDP native): Operation not supported); run with --link packet"
        )
    );
    assert!(!control.exists());
}

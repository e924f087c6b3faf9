//! `lb realserver decap`: the userspace decapsulator, doing what the kernel's `tunl0` does
//! where the kernel has no `ipip` module.
//!
//! It opens raw sockets for protocols 4 (IPv4 in IP) and 41 (IPv6 in IP), over IPv4 and
//! (where the host has IPv6) over IPv6, and attaches to the TUN device. The kernel hands
//! each raw socket a copy of every tunnel packet addressed to one of this host's addresses;
//! an open raw socket also keeps the kernel, which has no handler of its own for these
//! protocols, from answering each one with an ICMP protocol-unreachable. Each packet's
//! outer header is taken off ([`lb_io::rewrite::decap`]) and the inner packet written to
//! the TUN device, where the kernel receives it as from a wire: a packet for a VIP on the
//! device is delivered locally, and the reply leaves by normal routing with the VIP as its
//! source.
//!
//! It runs until killed, or until the named network namespace it was started in is
//! deleted (so that a test's namespace does not outlive the test because of it).

use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use lb_io::link::poll::PollSet;
use lb_io::link::raw_ip::{RawIpFamily, RawIpSocket};
use lb_io::link::tun::TunDevice;
use lb_io::rewrite::decap::{decapsulate, decapsulate_payload, DecapError};
use lb_io::wire::{IpProtocol, Ipv4Packet, Ipv6Packet};

use super::args::DecapOptions;
use super::daemon;
use super::system::{netns_id, netns_name};

/// The largest packet received (an IPv4 packet can be 65535 bytes long).
const BUFFER_LEN: usize = 65536;
/// The most packets taken from one socket before looking at the others.
const BATCH: usize = 64;
/// How long one wait lasts before the namespace is looked at again.
const WAIT: Duration = Duration::from_secs(1);
/// How often the process checks that its network namespace still exists.
const NETNS_CHECK: Duration = Duration::from_secs(1);

/// What the decapsulator did, for its log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Counters {
    /// Tunnel packets received.
    received: u64,
    /// Inner packets written to the TUN device.
    delivered: u64,
    /// Packets refused by [`decapsulate`] (malformed, not a tunnel, wrong family, …).
    malformed: u64,
    /// Outer CE on a not-ECN-capable inner packet (dropped, as the kernel does).
    congested: u64,
    /// Inner packets not addressed to one of `--vip`.
    not_for_vip: u64,
    /// Packets longer than the receive buffer.
    truncated: u64,
    /// Inner packets the TUN device refused.
    write_errors: u64,
}

impl std::fmt::Display for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "received {}, delivered {}, malformed {}, congested {}, not for a VIP {}, truncated {}, write errors {}",
            self.received,
            self.delivered,
            self.malformed,
            self.congested,
            self.not_for_vip,
            self.truncated,
            self.write_errors
        )
    }
}

/// Runs the decapsulator in the foreground.
pub fn run(options: &DecapOptions) -> Result<()> {
    if let Some(pid) = daemon::running(&options.dev) {
        bail!(
            "a decapsulator for {} already runs (pid {pid})",
            options.dev
        );
    }
    let tun = TunDevice::open(&options.dev)
        .with_context(|| format!("cannot attach to TUN device {}", options.dev))?;
    let sockets = open_sockets()?;
    let netns = netns_id()?;
    let netns_name = netns_name(netns);
    let pid_path = daemon::write_pid_file(&options.dev)?;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", daemon::READY_LINE);
    let _ = out.flush();
    eprintln!(
        "lb realserver decap: pid {} serving {} (pid file {}){}",
        std::process::id(),
        tun.name(),
        pid_path.display(),
        netns_name
            .as_deref()
            .map(|n| format!(", in network namespace {n}"))
            .unwrap_or_default()
    );
    let result = serve(&tun, &sockets, options, netns, netns_name.as_deref());
    daemon::remove_own_pid_file(&options.dev);
    result
}

/// The raw sockets: IPv4 outer always, IPv6 outer where the host has IPv6.
fn open_sockets() -> Result<Vec<RawIpSocket>> {
    let mut sockets = Vec::new();
    for protocol in [IpProtocol::IPIP, IpProtocol::IPV6] {
        sockets.push(
            RawIpSocket::open(RawIpFamily::V4, protocol).with_context(|| {
                format!("cannot open a raw IPv4 socket for protocol {protocol}")
            })?,
        );
    }
    if std::path::Path::new("/proc/sys/net/ipv6").exists() {
        for protocol in [IpProtocol::IPIP, IpProtocol::IPV6] {
            sockets.push(
                RawIpSocket::open(RawIpFamily::V6, protocol).with_context(|| {
                    format!("cannot open a raw IPv6 socket for protocol {protocol}")
                })?,
            );
        }
    }
    Ok(sockets)
}

/// The receive loop.
fn serve(
    tun: &TunDevice,
    sockets: &[RawIpSocket],
    options: &DecapOptions,
    netns: u64,
    netns_name: Option<&str>,
) -> Result<()> {
    let mut set = PollSet::new();
    for socket in sockets {
        set.add(socket);
    }
    let mut buffer = vec![0u8; BUFFER_LEN];
    let mut counters = Counters::default();
    let mut last_report = Instant::now();
    let mut reported = counters.clone();
    // When the namespace was last seen still named: a stat(2) on every wake-up would be
    // one more system call for every packet of a request-response exchange.
    let mut netns_checked: Option<Instant> = None;
    loop {
        let check_due = netns_checked.is_none_or(|t| t.elapsed() >= NETNS_CHECK);
        if let Some(name) = netns_name.filter(|_| check_due) {
            netns_checked = Some(Instant::now());
            if !netns_still_named(name, netns) {
                eprintln!(
                    "lb realserver decap: network namespace {name} deleted, exiting; {counters}"
                );
                // Nobody can tear this namespace down any more: its files go with it.
                daemon::remove_namespace_files(&options.dev);
                return Ok(());
            }
        }
        set.wait(WAIT).context("waiting for tunnel packets")?;
        for (i, socket) in sockets.iter().enumerate() {
            if !set.is_ready(i) {
                continue;
            }
            for _ in 0..BATCH {
                let Some(len) = socket
                    .recv(&mut buffer)
                    .context("receiving tunnel packets")?
                else {
                    break;
                };
                counters.received += 1;
                handle(socket, &mut buffer, len, tun, options, &mut counters);
            }
        }
        if last_report.elapsed() >= Duration::from_secs(60) && counters != reported {
            eprintln!("lb realserver decap: {counters}");
            reported = counters.clone();
            last_report = Instant::now();
        }
    }
}

/// Decapsulates one received packet and writes its inner packet to the TUN device.
fn handle(
    socket: &RawIpSocket,
    buffer: &mut [u8],
    len: usize,
    tun: &TunDevice,
    options: &DecapOptions,
    counters: &mut Counters,
) {
    let Some(packet) = buffer.get_mut(..len) else {
        counters.truncated += 1;
        return;
    };
    let found = match socket.family() {
        RawIpFamily::V4 => decapsulate(packet),
        RawIpFamily::V6 => decapsulate_payload(socket.protocol(), 0, packet),
    };
    let inner = match found {
        Ok(found) => &packet[found.inner],
        Err(DecapError::CongestedNotEct) => {
            counters.congested += 1;
            return;
        }
        Err(_) => {
            counters.malformed += 1;
            return;
        }
    };
    if !options.vips.is_empty()
        && !inner_destination(inner).is_some_and(|d| options.vips.contains(&d))
    {
        counters.not_for_vip += 1;
        return;
    }
    match tun.write_packet(inner) {
        Ok(()) => counters.delivered += 1,
        Err(err) => {
            if counters.write_errors == 0 {
                eprintln!("lb realserver decap: writing to {}: {err}", tun.name());
            }
            counters.write_errors += 1;
        }
    }
}

/// The destination address of a checked inner packet.
fn inner_destination(inner: &[u8]) -> Option<IpAddr> {
    match inner.first()? >> 4 {
        4 => Some(Ipv4Packet::new_checked(inner).ok()?.dst_addr().into()),
        6 => Some(Ipv6Packet::new_checked(inner).ok()?.dst_addr().into()),
        _ => None,
    }
}

/// Whether `/run/netns/<name>` is still the namespace `id`.
fn netns_still_named(name: &str, id: u64) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("{}/{name}", lb_io::link::netns::NETNS_RUN_DIR))
        .is_ok_and(|m| m.ino() == id)
}

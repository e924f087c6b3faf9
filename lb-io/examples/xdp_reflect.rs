//! A throwaway forwarder for a speed check: receives batches of frames on one interface,
//! swaps their Ethernet addresses and sends them back out of the same interface, through
//! an AF_XDP link or an AF_PACKET link, for a given time; then prints the rates.
//!
//! ```text
//! xdp_reflect <xdp|packet> <interface> <seconds> [auto|native|generic]
//! ```
//!
//! Run it as root, in the network namespace of the interface (`ip netns exec`), with a
//! traffic generator (trafgen) sending into the interface from its peer.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use lb_io::link::xdp::{XdpConfig, XdpLink, XdpMode};
use lb_io::link::{Link, LinkError, PacketConfig, PacketLink};

/// Swaps the destination and source Ethernet addresses of `frame` in place.
fn swap_macs(frame: &mut [u8]) {
    if frame.len() >= 12 {
        for i in 0..6 {
            frame.swap(i, i + 6);
        }
    }
}

/// Counts of one run.
#[derive(Debug, Default)]
struct Counts {
    received: u64,
    sent: u64,
    refused: u64,
    flush_errors: u64,
}

fn reflect(link: &mut dyn Link, seconds: u64) -> Result<(Counts, Duration), LinkError> {
    let mut counts = Counts::default();
    let deadline = Duration::from_secs(seconds);
    // The clock starts with the first frame, so start-up does not count.
    let mut started: Option<Instant> = None;
    loop {
        if started.is_some_and(|s| s.elapsed() >= deadline) {
            break;
        }
        let (mut received, mut sent, mut refused) = (0u64, 0u64, 0u64);
        let n = link.recv_batch(64, Duration::from_millis(10), &mut |frame, tx| {
            received += 1;
            swap_macs(frame.data);
            match tx.send(frame.data) {
                Ok(()) => sent += 1,
                Err(_) => refused += 1,
            }
        })?;
        if n > 0 && started.is_none() {
            started = Some(Instant::now());
        }
        counts.received += received;
        counts.sent += sent;
        counts.refused += refused;
        if link.flush().is_err() {
            counts.flush_errors += 1;
        }
        if started.is_none() && counts.received == 0 {
            // Nothing yet: keep waiting (the caller's generator may start late), but not
            // for ever.
            static WAIT: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            if WAIT.get_or_init(Instant::now).elapsed() > Duration::from_secs(30) {
                break;
            }
        }
    }
    Ok((counts, started.map_or(Duration::ZERO, |s| s.elapsed())))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(backend), Some(interface), Some(seconds)) = (
        args.get(1),
        args.get(2),
        args.get(3).and_then(|s| s.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: xdp_reflect <xdp|packet> <interface> <seconds> [auto|native|generic]");
        return ExitCode::from(2);
    };
    let mode = match args.get(4).map(String::as_str) {
        None | Some("auto") => XdpMode::Auto,
        Some("native") => XdpMode::Native,
        Some("generic") => XdpMode::Generic,
        Some(other) => {
            eprintln!("unknown mode {other:?}");
            return ExitCode::from(2);
        }
    };
    let result = match backend.as_str() {
        "xdp" => {
            let config = XdpConfig {
                mode,
                ..XdpConfig::default()
            };
            XdpLink::open(interface, 0, &config).and_then(|mut link| {
                let label = format!(
                    "xdp {:?}{}",
                    link.attach_mode(),
                    if link.zero_copy() {
                        " zero-copy"
                    } else {
                        " copy"
                    }
                );
                let (counts, elapsed) = reflect(&mut link, seconds)?;
                Ok((label, counts, elapsed, link.stats()?))
            })
        }
        "packet" => PacketLink::open(interface, &PacketConfig::default()).and_then(|mut link| {
            let (counts, elapsed) = reflect(&mut link, seconds)?;
            Ok(("packet".to_string(), counts, elapsed, link.stats()?))
        }),
        other => {
            eprintln!("unknown backend {other:?}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok((label, counts, elapsed, stats)) => {
            let secs = elapsed.as_secs_f64().max(1e-9);
            println!(
                "{label}: {} received, {} sent, {} refused, {} failed flushes in {:.2} s: \
                 {:.0} pps received, {:.0} pps sent; kernel drops {}",
                counts.received,
                counts.sent,
                counts.refused,
                counts.flush_errors,
                secs,
                counts.received as f64 / secs,
                counts.sent as f64 / secs,
                stats.kernel_drops,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xdp_reflect: {e}");
            ExitCode::FAILURE
        }
    }
}

//! Watching what the director sends: `tcpdump` on the veth ends facing the director's
//! interfaces (in the client, switch or router namespaces), keeping only frames whose
//! Ethernet source is the director's interface, then counting TCP resets and ICMP among
//! them. The director sends with PACKET_QDISC_BYPASS, so a capture inside its own namespace
//! would not see its frames; its peers see everything it puts on the wire, its own
//! transmissions and its kernel's alike.

use std::path::PathBuf;
use std::time::Duration;

use lb_io::pcap::PcapReader;
use lb_io::wire::{
    EtherType, EthernetFrame, Icmpv4Packet, IpProtocol, Ipv4Packet, TcpFlags, TcpPacket,
};

use super::command::require_program;
use super::error::{LabError, Result};
use super::process::LabProcess;
use super::topology::Lab;

/// How long tcpdump may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the last frames may take to reach tcpdump's file.
pub const SETTLE: Duration = Duration::from_millis(200);

/// Running captures, one per director interface; [`finish`](Capture::finish) stops them
/// and counts.
#[derive(Debug)]
pub struct Capture {
    taps: Vec<Tap>,
}

#[derive(Debug)]
struct Tap {
    place: String,
    process: LabProcess,
    file: PathBuf,
}

/// What the director's interfaces sent while the capture ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureSummary {
    /// Frames with the director's Ethernet source address.
    pub frames: u64,
    /// Of them, IPv4-in-IPv4 packets (TUN); what they carry is counted too.
    pub tunnelled: u64,
    /// Of them, IPv4 TCP segments (also inside IPIP).
    pub tcp: u64,
    /// Of them, TCP segments with RST set (also inside IPIP).
    pub tcp_rst: u64,
    /// Of them, ICMP messages (also inside IPIP).
    pub icmp: u64,
    /// One line per TCP RST or ICMP frame: where it was seen and what it was.
    pub offending: Vec<String>,
}

impl Capture {
    /// Starts tcpdump on the peer of each of the director's interfaces and returns once
    /// every one listens.
    pub fn start(lab: &Lab) -> Result<Capture> {
        let tcpdump = require_program("tcpdump")?;
        let mut taps = Vec::new();
        for (index, interface) in lab.director_interfaces.iter().enumerate() {
            let file = lab.temp_path(&format!("director-{index}.pcap"));
            let mut command = lab
                .namespace_by_name(&interface.peer_namespace)?
                .command(&tcpdump);
            command
                .args([
                    "-i",
                    &interface.peer_device,
                    "-n",
                    "--immediate-mode",
                    "-U",
                    "-Z",
                    "root",
                    "-w",
                ])
                .arg(&file)
                .args(["ether", "src", &interface.mac]);
            let place = format!(
                "{}:{} (facing the director's {})",
                interface.peer_namespace, interface.peer_device, interface.device
            );
            let mut process = LabProcess::spawn(&format!("tcpdump on {place}"), command)?;
            process.wait_for_stderr("listening on", START_TIMEOUT)?;
            taps.push(Tap {
                place,
                process,
                file,
            });
        }
        Ok(Capture { taps })
    }

    /// Stops the captures (after [`SETTLE`], so that the last frames are written) and
    /// counts what they saw.
    pub fn finish(self) -> Result<CaptureSummary> {
        std::thread::sleep(SETTLE);
        let mut summary = CaptureSummary::default();
        for tap in self.taps {
            let label = tap.process.label().to_string();
            let stopped = tap.process.stop()?;
            let bytes = std::fs::read(&tap.file).map_err(|e| {
                LabError::new(format!(
                    "{label}: reading {}: {e}; tcpdump printed:\n{}",
                    tap.file.display(),
                    stopped.stderr
                ))
            })?;
            count_frames(&bytes, &tap.place, &mut summary)?;
        }
        Ok(summary)
    }
}

/// Adds the frames of a pcap file to `summary`.
pub fn count_frames(pcap: &[u8], place: &str, summary: &mut CaptureSummary) -> Result<()> {
    let bad = |e: lb_io::pcap::PcapError| LabError::new(format!("{place}: {e}"));
    let mut reader = PcapReader::new(pcap).map_err(bad)?;
    while let Some(record) = reader.next_record().map_err(bad)? {
        summary.frames += 1;
        if let Some(what) = classify(record.data, summary) {
            summary.offending.push(format!("{place}: {what}"));
        }
    }
    Ok(())
}

/// Counts one frame; a description when it is a TCP RST or an ICMP message.
fn classify(frame: &[u8], summary: &mut CaptureSummary) -> Option<String> {
    let ethernet = EthernetFrame::new_checked(frame).ok()?;
    if ethernet.ethertype() != EtherType::IPV4 {
        return None;
    }
    classify_ipv4(ethernet.payload(), summary, "")
}

/// Counts one IPv4 packet, looking into IPv4-in-IPv4 once (`inside` then names the
/// tunnel).
fn classify_ipv4(packet: &[u8], summary: &mut CaptureSummary, inside: &str) -> Option<String> {
    let ip = Ipv4Packet::new_checked_embedded(packet).ok()?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    match ip.protocol() {
        IpProtocol::TCP => {
            summary.tcp += 1;
            let tcp = TcpPacket::new_checked(ip.payload()).ok()?;
            if !tcp.flags().contains(TcpFlags::RST) {
                return None;
            }
            summary.tcp_rst += 1;
            Some(format!(
                "TCP RST {src}:{} > {dst}:{}{inside}",
                tcp.src_port(),
                tcp.dst_port()
            ))
        }
        IpProtocol::ICMP => {
            summary.icmp += 1;
            let what = Icmpv4Packet::new_checked(ip.payload())
                .map(|icmp| format!("type {} code {}", icmp.msg_type().0, icmp.msg_code()))
                .unwrap_or_else(|_| "truncated".to_string());
            Some(format!("ICMP {src} > {dst} {what}{inside}"))
        }
        IpProtocol::IPIP if inside.is_empty() => {
            summary.tunnelled += 1;
            classify_ipv4(ip.payload(), summary, &format!(" (in IPIP {src} > {dst})"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;
    use lb_io::pcap::{Endian, PcapHeader, PcapWriter, Precision};

    const DIRECTOR: [u8; 6] = [2, 0, 0, 0, 0, 1];
    const PEER: [u8; 6] = [2, 0, 0, 0, 0, 2];

    fn tcp(flags_rst: bool) -> Vec<u8> {
        let builder = PacketBuilder::ethernet2(DIRECTOR, PEER)
            .ipv4([198, 18, 1, 100], [198, 18, 1, 2], 64)
            .tcp(80, 40000, 1, 1000);
        let builder = if flags_rst {
            builder.rst()
        } else {
            builder.ack(5)
        };
        let mut frame = Vec::new();
        builder.write(&mut frame, b"").unwrap();
        frame
    }

    fn icmp() -> Vec<u8> {
        let mut frame = Vec::new();
        PacketBuilder::ethernet2(DIRECTOR, PEER)
            .ipv4([198, 18, 1, 1], [198, 18, 1, 2], 64)
            .icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::Port,
            ))
            .write(&mut frame, &[0u8; 28])
            .unwrap();
        frame
    }

    /// An IPIP packet from the director to a real server carrying `inner` (an IPv4 packet).
    fn ipip(inner: &[u8]) -> Vec<u8> {
        let mut frame = Vec::new();
        PacketBuilder::ethernet2(DIRECTOR, PEER)
            .ipv4([198, 18, 2, 2], [198, 18, 3, 11], 64)
            .write(&mut frame, etherparse::IpNumber::IPV4, inner)
            .unwrap();
        frame
    }

    fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
        let header = PcapHeader::ethernet(Endian::Little, Precision::Micros);
        let mut writer = PcapWriter::new(Vec::new(), header).unwrap();
        for frame in frames {
            writer
                .write_frame(lb_io::link::Timestamp::default(), frame)
                .unwrap();
        }
        writer.into_inner()
    }

    #[test]
    fn resets_and_icmp_are_counted_and_described() {
        let inner_rst = tcp(true)[14..].to_vec();
        let file = pcap(&[
            tcp(false),
            tcp(true),
            icmp(),
            ipip(&inner_rst),
            ipip(&tcp(false)[14..]),
        ]);
        let mut summary = CaptureSummary::default();
        count_frames(&file, "sw:p-dir", &mut summary).unwrap();
        assert_eq!(
            summary,
            CaptureSummary {
                frames: 5,
                tunnelled: 2,
                tcp: 4,
                tcp_rst: 2,
                icmp: 1,
                offending: vec![
                    "sw:p-dir: TCP RST 198.18.1.100:80 > 198.18.1.2:40000".to_string(),
                    "sw:p-dir: ICMP 198.18.1.1 > 198.18.1.2 type 3 code 3".to_string(),
                    "sw:p-dir: TCP RST 198.18.1.100:80 > 198.18.1.2:40000 (in IPIP 198.18.2.2 > 198.18.3.11)".to_string(),
                ],
            }
        );
    }

    #[test]
    fn a_file_that_is_not_pcap_is_an_error() {
        let mut summary = CaptureSummary::default();
        let error = count_frames(&[0u8; 30], "x", &mut summary).unwrap_err();
        assert!(error.message().starts_with("x: not a pcap file"), "{error}");
    }
}

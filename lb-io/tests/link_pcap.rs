//! Offline replay: a link reading one pcap file and writing another.

use std::time::Duration;

use lb_io::link::{Link, LinkError, LinkStats, PcapLink, Timestamp, Transmit};
use lb_io::pcap::{Endian, PcapHeader, PcapReader, PcapWriter, Precision};

/// A 20-byte frame whose destination MAC ends in `n`.
fn frame(n: u8) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, n, 0x02, 0, 0, 0, 0, 0xAA, 0x08, 0x00];
    f.extend_from_slice(&[n; 6]);
    f
}

/// A little-endian microsecond file: frames 1, 2 (a record cut to 16 of its 20 bytes)
/// and 3, at 10.000001 s, 11.000002 s and 12.000003 s.
fn input() -> Vec<u8> {
    let mut w = PcapWriter::new(
        Vec::new(),
        PcapHeader::ethernet(Endian::Little, Precision::Micros),
    )
    .unwrap();
    w.write_frame(
        Timestamp {
            secs: 10,
            nanos: 1_000,
        },
        &frame(1),
    )
    .unwrap();
    w.write_record(
        Timestamp {
            secs: 11,
            nanos: 2_000,
        },
        20,
        &frame(2)[..16],
    )
    .unwrap();
    w.write_frame(
        Timestamp {
            secs: 12,
            nanos: 3_000,
        },
        &frame(3),
    )
    .unwrap();
    w.into_inner()
}

fn new_link(input: &[u8]) -> PcapLink<&[u8], Vec<u8>> {
    let reader = PcapReader::new(input).unwrap();
    let writer = PcapWriter::new(
        Vec::new(),
        PcapHeader::ethernet(Endian::Big, Precision::Nanos),
    )
    .unwrap();
    PcapLink::new(reader, writer).unwrap()
}

#[test]
fn replays_records_rewritten_in_place_into_a_new_file() {
    let input = input();
    let mut link = new_link(&input);
    let mut stamps = Vec::new();
    let mut handler = |rx: lb_io::link::RxFrame<'_>, tx: &mut dyn Transmit| {
        stamps.push(rx.meta.timestamp);
        rx.data[0] = 0x04;
        tx.send(rx.data).unwrap();
    };
    assert_eq!(
        link.recv_batch(2, Duration::ZERO, &mut handler).unwrap(),
        1,
        "the cut record is skipped"
    );
    assert_eq!(link.recv_batch(2, Duration::ZERO, &mut handler).unwrap(), 1);
    assert!(matches!(
        link.recv_batch(2, Duration::ZERO, &mut handler),
        Err(LinkError::EndOfInput)
    ));
    assert!(matches!(
        link.recv_batch(2, Duration::ZERO, &mut handler),
        Err(LinkError::EndOfInput)
    ));
    assert_eq!(
        stamps,
        [
            Timestamp {
                secs: 10,
                nanos: 1_000
            },
            Timestamp {
                secs: 12,
                nanos: 3_000
            }
        ]
    );
    link.flush().unwrap();
    assert_eq!(
        link.stats().unwrap(),
        LinkStats {
            rx_frames: 2,
            rx_bytes: 40,
            rx_truncated: 1,
            tx_frames: 2,
            tx_bytes: 40,
            ..LinkStats::default()
        }
    );

    let (_, writer) = link.into_parts();
    let mut expected = PcapHeader::ethernet(Endian::Big, Precision::Nanos)
        .to_bytes()
        .to_vec();
    for (secs, nanos, n) in [(10u32, 1_000u32, 1u8), (12, 3_000, 3)] {
        expected.extend_from_slice(&secs.to_be_bytes());
        expected.extend_from_slice(&nanos.to_be_bytes());
        expected.extend_from_slice(&20u32.to_be_bytes());
        expected.extend_from_slice(&20u32.to_be_bytes());
        let mut f = frame(n);
        f[0] = 0x04;
        expected.extend_from_slice(&f);
    }
    assert_eq!(writer.into_inner(), expected);
}

#[test]
fn frames_built_in_place_are_written_with_the_last_receive_time() {
    let input = input();
    let mut link = new_link(&input);
    link.recv_batch(1, Duration::ZERO, &mut |_, tx| {
        let len = tx
            .send_with(&mut |out| {
                out[..20].copy_from_slice(&frame(7));
                20
            })
            .unwrap();
        assert_eq!(len, 20);
    })
    .unwrap();
    assert!(matches!(
        link.send(&[0; 10]),
        Err(LinkError::FrameTooLarge {
            len: 10,
            max: 262_144
        })
    ));
    let (_, writer) = link.into_parts();
    let out = writer.into_inner();
    assert_eq!(out.len(), 24 + 16 + 20);
    assert_eq!(
        &out[24..32],
        &[0, 0, 0, 10, 0, 0, 0x03, 0xE8],
        "10 s, 1000 ns"
    );
    assert_eq!(&out[40..], &frame(7)[..]);
}

#[test]
fn only_ethernet_captures_are_replayed() {
    let mut header = PcapHeader::ethernet(Endian::Little, Precision::Micros);
    header.linktype = 101;
    let raw_ip = PcapWriter::new(Vec::new(), header).unwrap().into_inner();
    let reader = PcapReader::new(&raw_ip[..]).unwrap();
    let writer = PcapWriter::new(
        Vec::new(),
        PcapHeader::ethernet(Endian::Little, Precision::Micros),
    )
    .unwrap();
    assert!(matches!(
        PcapLink::new(reader, writer),
        Err(LinkError::NotEthernet(101))
    ));
}

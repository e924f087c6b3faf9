//! The pcap reader and writer against hand-assembled files: both byte orders, both
//! timestamp precisions, and files that are cut short or are not pcap at all.

use lb_io::link::Timestamp;
use lb_io::pcap::{
    Endian, PcapError, PcapHeader, PcapReader, PcapWriter, Precision, MAX_RECORD_LEN,
};

const TS: Timestamp = Timestamp {
    secs: 1_700_000_000,
    nanos: 123_456_789,
};
const DATA: [u8; 4] = [0xDE, 0xAD, 0xBE, 0xEF];

/// A little-endian microsecond file: header, then one record of `DATA` at `TS`.
#[rustfmt::skip]
const LE_MICROS: [u8; 44] = [
    0xD4, 0xC3, 0xB2, 0xA1, // magic a1b2c3d4, little-endian
    0x02, 0x00, 0x04, 0x00, // version 2.4
    0x00, 0x00, 0x00, 0x00, // thiszone
    0x00, 0x00, 0x00, 0x00, // sigfigs
    0x00, 0x00, 0x04, 0x00, // snaplen 262144
    0x01, 0x00, 0x00, 0x00, // linktype 1 (Ethernet)
    0x00, 0xF1, 0x53, 0x65, // ts_sec 1700000000
    0x40, 0xE2, 0x01, 0x00, // ts_usec 123456
    0x04, 0x00, 0x00, 0x00, // incl_len 4
    0x04, 0x00, 0x00, 0x00, // orig_len 4
    0xDE, 0xAD, 0xBE, 0xEF,
];

#[rustfmt::skip]
const BE_MICROS: [u8; 44] = [
    0xA1, 0xB2, 0xC3, 0xD4,
    0x00, 0x02, 0x00, 0x04,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x04, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01,
    0x65, 0x53, 0xF1, 0x00,
    0x00, 0x01, 0xE2, 0x40,
    0x00, 0x00, 0x00, 0x04,
    0x00, 0x00, 0x00, 0x04,
    0xDE, 0xAD, 0xBE, 0xEF,
];

#[rustfmt::skip]
const LE_NANOS: [u8; 44] = [
    0x4D, 0x3C, 0xB2, 0xA1, // magic a1b23c4d, little-endian
    0x02, 0x00, 0x04, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x04, 0x00,
    0x01, 0x00, 0x00, 0x00,
    0x00, 0xF1, 0x53, 0x65,
    0x15, 0xCD, 0x5B, 0x07, // ts_nsec 123456789
    0x04, 0x00, 0x00, 0x00,
    0x04, 0x00, 0x00, 0x00,
    0xDE, 0xAD, 0xBE, 0xEF,
];

#[rustfmt::skip]
const BE_NANOS: [u8; 44] = [
    0xA1, 0xB2, 0x3C, 0x4D,
    0x00, 0x02, 0x00, 0x04,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00,
    0x00, 0x04, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01,
    0x65, 0x53, 0xF1, 0x00,
    0x07, 0x5B, 0xCD, 0x15,
    0x00, 0x00, 0x00, 0x04,
    0x00, 0x00, 0x00, 0x04,
    0xDE, 0xAD, 0xBE, 0xEF,
];

fn write_one(endian: Endian, precision: Precision) -> Vec<u8> {
    let mut writer = PcapWriter::new(Vec::new(), PcapHeader::ethernet(endian, precision)).unwrap();
    writer.write_frame(TS, &DATA).unwrap();
    writer.into_inner()
}

/// Reads the one record of `file`, then checks the file ends there.
fn read_one(file: &[u8]) -> (PcapHeader, Timestamp, u32, Vec<u8>) {
    let mut reader = PcapReader::new(file).unwrap();
    let header = *reader.header();
    let record = reader.next_record().unwrap().expect("one record");
    let got = (
        header,
        record.timestamp,
        record.orig_len,
        record.data.to_vec(),
    );
    assert!(reader.next_record().unwrap().is_none(), "one record only");
    got
}

#[test]
fn writes_the_golden_bytes_in_both_byte_orders_and_precisions() {
    assert_eq!(write_one(Endian::Little, Precision::Micros), LE_MICROS);
    assert_eq!(write_one(Endian::Big, Precision::Micros), BE_MICROS);
    assert_eq!(write_one(Endian::Little, Precision::Nanos), LE_NANOS);
    assert_eq!(write_one(Endian::Big, Precision::Nanos), BE_NANOS);
}

#[test]
fn reads_the_golden_bytes_in_both_byte_orders_and_precisions() {
    let micros = Timestamp {
        secs: 1_700_000_000,
        nanos: 123_456_000,
    };
    for (file, endian, precision, ts) in [
        (&LE_MICROS, Endian::Little, Precision::Micros, micros),
        (&BE_MICROS, Endian::Big, Precision::Micros, micros),
        (&LE_NANOS, Endian::Little, Precision::Nanos, TS),
        (&BE_NANOS, Endian::Big, Precision::Nanos, TS),
    ] {
        let (header, timestamp, orig_len, data) = read_one(file);
        assert_eq!(header, PcapHeader::ethernet(endian, precision));
        assert_eq!(header.snaplen, 262_144);
        assert_eq!((timestamp, orig_len, data.as_slice()), (ts, 4, &DATA[..]));
    }
}

#[test]
fn round_trips_many_records_and_cuts_them_to_the_snapshot_length() {
    let mut header = PcapHeader::ethernet(Endian::Big, Precision::Nanos);
    header.snaplen = 6;
    header.thiszone = -3600;
    header.sigfigs = 7;
    let mut writer = PcapWriter::new(Vec::new(), header).unwrap();
    let frames: Vec<Vec<u8>> = (0u8..5).map(|i| (0..(3 + 2 * i)).collect()).collect();
    for (i, frame) in frames.iter().enumerate() {
        writer
            .write_frame(
                Timestamp {
                    secs: i as u64,
                    nanos: 999_999_999,
                },
                frame,
            )
            .unwrap();
    }
    let file = writer.into_inner();
    assert_eq!(
        &file[8..12],
        &[0xFF, 0xFF, 0xF1, 0xF0],
        "thiszone -3600, big-endian"
    );

    let mut reader = PcapReader::new(&file[..]).unwrap();
    assert_eq!(*reader.header(), header);
    for (i, frame) in frames.iter().enumerate() {
        let record = reader.next_record().unwrap().unwrap();
        assert_eq!(
            record.timestamp,
            Timestamp {
                secs: i as u64,
                nanos: 999_999_999
            }
        );
        assert_eq!(record.orig_len as usize, frame.len());
        assert_eq!(record.data, &frame[..frame.len().min(6)]);
    }
    assert!(reader.next_record().unwrap().is_none());
}

#[test]
fn record_data_is_rewritable_in_place() {
    let mut reader = PcapReader::new(&LE_MICROS[..]).unwrap();
    let record = reader.next_record().unwrap().unwrap();
    record.data[0] = 0x00;
    assert_eq!(record.data, &[0x00, 0xAD, 0xBE, 0xEF]);
}

#[test]
fn microseconds_of_a_second_or_more_carry_into_the_seconds() {
    let mut file = LE_MICROS;
    file[28..32].copy_from_slice(&2_500_000u32.to_le_bytes());
    let (_, timestamp, _, _) = read_one(&file);
    assert_eq!(
        timestamp,
        Timestamp {
            secs: 1_700_000_002,
            nanos: 500_000_000
        }
    );
}

#[test]
fn files_cut_short_are_errors() {
    for len in [0, 1, 23] {
        match PcapReader::new(&LE_MICROS[..len]) {
            Err(PcapError::TruncatedHeader { got }) => assert_eq!(got, len),
            other => panic!("{len}: {other:?}"),
        }
    }
    // The header alone is an empty capture.
    assert!(PcapReader::new(&LE_MICROS[..24])
        .unwrap()
        .next_record()
        .unwrap()
        .is_none());
    for (len, want_got) in [(25, 1), (39, 15)] {
        let mut reader = PcapReader::new(&LE_MICROS[..len]).unwrap();
        match reader.next_record() {
            Err(PcapError::TruncatedRecordHeader { got }) => assert_eq!(got, want_got),
            other => panic!("{len}: {other:?}"),
        }
    }
    for (len, want_got) in [(40, 0), (42, 2), (43, 3)] {
        let mut reader = PcapReader::new(&BE_NANOS[..len]).unwrap();
        match reader.next_record() {
            Err(PcapError::TruncatedRecord { expected, got }) => {
                assert_eq!((expected, got), (4, want_got))
            }
            other => panic!("{len}: {other:?}"),
        }
    }
}

#[test]
fn other_files_are_refused() {
    let mut pcapng = LE_MICROS;
    pcapng[..4].copy_from_slice(&[0x0A, 0x0D, 0x0D, 0x0A]);
    assert!(matches!(
        PcapReader::new(&pcapng[..]),
        Err(PcapError::BadMagic(0x0A0D_0D0A))
    ));

    let mut version1 = LE_MICROS;
    version1[4] = 1;
    assert!(matches!(
        PcapReader::new(&version1[..]),
        Err(PcapError::UnsupportedVersion { major: 1, minor: 4 })
    ));

    let mut huge = LE_MICROS;
    huge[32..36].copy_from_slice(&(MAX_RECORD_LEN + 1).to_le_bytes());
    let mut reader = PcapReader::new(&huge[..]).unwrap();
    assert!(matches!(
        reader.next_record(),
        Err(PcapError::RecordTooLarge {
            len: 262_145,
            max: 262_144
        })
    ));
}

#[test]
fn timestamps_the_format_cannot_hold_are_refused() {
    let mut writer = PcapWriter::new(
        Vec::new(),
        PcapHeader::ethernet(Endian::Little, Precision::Nanos),
    )
    .unwrap();
    for ts in [
        Timestamp {
            secs: 1 << 32,
            nanos: 0,
        },
        Timestamp {
            secs: 0,
            nanos: 1_000_000_000,
        },
    ] {
        assert!(matches!(
            writer.write_frame(ts, &DATA),
            Err(PcapError::TimestampOutOfRange { secs, nanos }) if (secs, nanos) == (ts.secs, ts.nanos)
        ));
    }
    assert_eq!(
        writer.into_inner().len(),
        24,
        "nothing written for refused records"
    );
}

/// Reads `file` to its end or first error, with a bound on the records.
fn read_all(file: &[u8]) -> usize {
    let Ok(mut reader) = PcapReader::new(file) else {
        return 0;
    };
    let mut records = 0;
    while records < 1000 {
        match reader.next_record() {
            Ok(Some(_)) => records += 1,
            Ok(None) | Err(_) => break,
        }
    }
    records
}

#[test]
fn never_panics_on_damaged_or_random_input() {
    // Every prefix and every single-byte corruption of a two-record file.
    let mut file = LE_MICROS.to_vec();
    file.extend_from_slice(&LE_MICROS[24..]);
    assert_eq!(read_all(&file), 2);
    for len in 0..file.len() {
        read_all(&file[..len]);
    }
    for at in 0..file.len() {
        for value in [0x00, 0x7F, 0x80, 0xFF] {
            let mut damaged = file.clone();
            damaged[at] = value;
            read_all(&damaged);
        }
    }
    // Random bytes behind each valid magic.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..2000 {
        let magic = [LE_MICROS, BE_MICROS, LE_NANOS, BE_NANOS][round % 4];
        let len = 24 + (round * 7) % 200;
        let mut bytes = magic[..8].to_vec();
        while bytes.len() < len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.push(state as u8);
        }
        read_all(&bytes);
    }
}

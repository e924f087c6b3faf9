//! The classic libpcap capture file format: a streaming reader and writer.
//!
//! A file is a 24-byte header followed by records, each a 16-byte header and the captured
//! bytes:
//!
//! ```text
//! file header:   magic u32 | version_major u16 | version_minor u16 | thiszone i32 |
//!                sigfigs u32 | snaplen u32 | linktype u32
//! record header: ts_sec u32 | ts_frac u32 | incl_len u32 | orig_len u32
//! ```
//!
//! The magic number, written in the file's byte order, gives both that order and the
//! timestamps' precision: `a1b2c3d4` for microseconds, `a1b23c4d` for nanoseconds; read in
//! the other byte order they show as `d4c3b2a1` / `4d3cb2a1`. Both orders and both
//! precisions are read and written. Link type 1 is Ethernet.
//!
//! Reading never panics: a bad magic number, a version other than 2, a file or record cut
//! short, or a record longer than [`MAX_RECORD_LEN`] are errors. The reader reuses one
//! buffer for every record, so reading allocates only when a record is longer than every
//! one before it.

use std::io::{self, Read, Write};

use crate::link::Timestamp;

/// Link type of Ethernet frames (LINKTYPE_ETHERNET).
pub const LINKTYPE_ETHERNET: u32 = 1;
/// The longest record the reader accepts, whatever the file's snapshot length says
/// (libpcap's MAXIMUM_SNAPLEN).
pub const MAX_RECORD_LEN: u32 = 262_144;
/// The length of the file header.
pub const FILE_HEADER_LEN: usize = 24;
/// The length of a record header.
pub const RECORD_HEADER_LEN: usize = 16;

const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
const MAGIC_NANOS: u32 = 0xA1B2_3C4D;
const NANOS_PER_MICRO: u32 = 1_000;
const MICROS_PER_SEC: u32 = 1_000_000;
const NANOS_PER_SEC: u32 = 1_000_000_000;

/// An error reading or writing a pcap file.
#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    /// The underlying reader or writer failed.
    #[error("pcap I/O: {0}")]
    Io(#[from] io::Error),
    /// The file does not start with a pcap magic number (given as its 4 bytes, big-endian).
    #[error("not a pcap file (magic {0:#010x})")]
    BadMagic(u32),
    /// The file's major version is not 2.
    #[error("unsupported pcap version {major}.{minor}")]
    UnsupportedVersion {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// The file ends inside its header.
    #[error("pcap file header cut short ({got} of 24 bytes)")]
    TruncatedHeader {
        /// The bytes there were.
        got: usize,
    },
    /// The file ends inside a record header.
    #[error("pcap record header cut short ({got} of 16 bytes)")]
    TruncatedRecordHeader {
        /// The bytes there were.
        got: usize,
    },
    /// The file ends inside a record's data.
    #[error("pcap record cut short ({got} of {expected} bytes)")]
    TruncatedRecord {
        /// The record's captured length.
        expected: u32,
        /// The bytes there were.
        got: usize,
    },
    /// A record claims more than [`MAX_RECORD_LEN`] captured bytes.
    #[error("pcap record of {len} bytes is longer than {max}")]
    RecordTooLarge {
        /// The record's captured length.
        len: u32,
        /// The longest record accepted.
        max: u32,
    },
    /// A timestamp to write has nanoseconds of a second or more, or seconds past what the
    /// format holds (`u32`).
    #[error("timestamp {secs}.{nanos:09} cannot be written to a pcap file")]
    TimestampOutOfRange {
        /// Seconds.
        secs: u64,
        /// Nanoseconds.
        nanos: u32,
    },
}

/// The byte order of a pcap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first (magic bytes `d4 c3 b2 a1`).
    Little,
    /// Most significant byte first (magic bytes `a1 b2 c3 d4`).
    Big,
}

impl Endian {
    fn u16(self, bytes: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(bytes),
            Endian::Big => u16::from_be_bytes(bytes),
        }
    }

    fn u32(self, bytes: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(bytes),
            Endian::Big => u32::from_be_bytes(bytes),
        }
    }

    fn u16_bytes(self, value: u16) -> [u8; 2] {
        match self {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        }
    }

    fn u32_bytes(self, value: u32) -> [u8; 4] {
        match self {
            Endian::Little => value.to_le_bytes(),
            Endian::Big => value.to_be_bytes(),
        }
    }
}

/// The precision of a pcap file's timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Precision {
    /// Microseconds (magic `a1b2c3d4`).
    Micros,
    /// Nanoseconds (magic `a1b23c4d`).
    Nanos,
}

impl Precision {
    fn magic(self) -> u32 {
        match self {
            Precision::Micros => MAGIC_MICROS,
            Precision::Nanos => MAGIC_NANOS,
        }
    }
}

/// The header of a pcap file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PcapHeader {
    /// Byte order of every field.
    pub endian: Endian,
    /// Timestamp precision.
    pub precision: Precision,
    /// Major version (2).
    pub version_major: u16,
    /// Minor version (4).
    pub version_minor: u16,
    /// Offset of local time from UTC, in seconds (0 in practice).
    pub thiszone: i32,
    /// Accuracy of timestamps (0 in practice).
    pub sigfigs: u32,
    /// The longest record of the capture (records are cut to it when written; 0 means no
    /// limit).
    pub snaplen: u32,
    /// The link type of every record ([`LINKTYPE_ETHERNET`]).
    pub linktype: u32,
}

impl PcapHeader {
    /// The header of a version 2.4 Ethernet capture with snapshot length
    /// [`MAX_RECORD_LEN`].
    pub fn ethernet(endian: Endian, precision: Precision) -> PcapHeader {
        PcapHeader {
            endian,
            precision,
            version_major: 2,
            version_minor: 4,
            thiszone: 0,
            sigfigs: 0,
            snaplen: MAX_RECORD_LEN,
            linktype: LINKTYPE_ETHERNET,
        }
    }

    /// Reads a header from its 24 bytes.
    pub fn parse(bytes: &[u8; FILE_HEADER_LEN]) -> Result<PcapHeader, PcapError> {
        let magic_bytes = [bytes[0], bytes[1], bytes[2], bytes[3]];
        let (endian, precision) = match (
            u32::from_be_bytes(magic_bytes),
            u32::from_le_bytes(magic_bytes),
        ) {
            (MAGIC_MICROS, _) => (Endian::Big, Precision::Micros),
            (MAGIC_NANOS, _) => (Endian::Big, Precision::Nanos),
            (_, MAGIC_MICROS) => (Endian::Little, Precision::Micros),
            (_, MAGIC_NANOS) => (Endian::Little, Precision::Nanos),
            (other, _) => return Err(PcapError::BadMagic(other)),
        };
        let u16_at = |at: usize| endian.u16([bytes[at], bytes[at + 1]]);
        let u32_at =
            |at: usize| endian.u32([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let header = PcapHeader {
            endian,
            precision,
            version_major: u16_at(4),
            version_minor: u16_at(6),
            thiszone: u32_at(8) as i32,
            sigfigs: u32_at(12),
            snaplen: u32_at(16),
            linktype: u32_at(20),
        };
        if header.version_major != 2 {
            return Err(PcapError::UnsupportedVersion {
                major: header.version_major,
                minor: header.version_minor,
            });
        }
        Ok(header)
    }

    /// The header's 24 bytes.
    pub fn to_bytes(&self) -> [u8; FILE_HEADER_LEN] {
        let e = self.endian;
        let mut out = [0u8; FILE_HEADER_LEN];
        out[0..4].copy_from_slice(&e.u32_bytes(self.precision.magic()));
        out[4..6].copy_from_slice(&e.u16_bytes(self.version_major));
        out[6..8].copy_from_slice(&e.u16_bytes(self.version_minor));
        out[8..12].copy_from_slice(&e.u32_bytes(self.thiszone as u32));
        out[12..16].copy_from_slice(&e.u32_bytes(self.sigfigs));
        out[16..20].copy_from_slice(&e.u32_bytes(self.snaplen));
        out[20..24].copy_from_slice(&e.u32_bytes(self.linktype));
        out
    }
}

/// One record read from a pcap file; its bytes live in the reader's buffer until the next
/// read.
#[derive(Debug)]
pub struct PcapRecord<'a> {
    /// When the frame was captured.
    pub timestamp: Timestamp,
    /// The frame's length on the wire (at least `data.len()` in a well-formed file).
    pub orig_len: u32,
    /// The captured bytes, which the caller may modify in place.
    pub data: &'a mut [u8],
}

/// Reads records one at a time from a pcap file.
#[derive(Debug)]
pub struct PcapReader<R> {
    inner: R,
    header: PcapHeader,
    buf: Vec<u8>,
}

impl<R: Read> PcapReader<R> {
    /// Reads the file header.
    pub fn new(mut inner: R) -> Result<PcapReader<R>, PcapError> {
        let mut bytes = [0u8; FILE_HEADER_LEN];
        let got = read_full(&mut inner, &mut bytes)?;
        if got < FILE_HEADER_LEN {
            return Err(PcapError::TruncatedHeader { got });
        }
        let header = PcapHeader::parse(&bytes)?;
        Ok(PcapReader {
            inner,
            header,
            buf: Vec::new(),
        })
    }

    /// The file's header.
    pub fn header(&self) -> &PcapHeader {
        &self.header
    }

    /// The next record, or `None` at the end of the file (when it ends between records).
    /// Microsecond timestamps are turned into nanoseconds; a fraction of a second or more
    /// is carried into the seconds.
    pub fn next_record(&mut self) -> Result<Option<PcapRecord<'_>>, PcapError> {
        let mut head = [0u8; RECORD_HEADER_LEN];
        let got = read_full(&mut self.inner, &mut head)?;
        if got == 0 {
            return Ok(None);
        }
        if got < RECORD_HEADER_LEN {
            return Err(PcapError::TruncatedRecordHeader { got });
        }
        let e = self.header.endian;
        let field = |at: usize| e.u32([head[at], head[at + 1], head[at + 2], head[at + 3]]);
        let (secs, frac, incl_len, orig_len) = (field(0), field(4), field(8), field(12));
        if incl_len > MAX_RECORD_LEN {
            return Err(PcapError::RecordTooLarge {
                len: incl_len,
                max: MAX_RECORD_LEN,
            });
        }
        let len = incl_len as usize;
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        let data = &mut self.buf[..len];
        let got = read_full(&mut self.inner, data)?;
        if got < len {
            return Err(PcapError::TruncatedRecord {
                expected: incl_len,
                got,
            });
        }
        let timestamp = match self.header.precision {
            Precision::Micros => Timestamp {
                secs: u64::from(secs) + u64::from(frac / MICROS_PER_SEC),
                nanos: (frac % MICROS_PER_SEC) * NANOS_PER_MICRO,
            },
            Precision::Nanos => Timestamp {
                secs: u64::from(secs) + u64::from(frac / NANOS_PER_SEC),
                nanos: frac % NANOS_PER_SEC,
            },
        };
        Ok(Some(PcapRecord {
            timestamp,
            orig_len,
            data,
        }))
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

/// Writes a pcap file: its header when created, then one record per call.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    inner: W,
    header: PcapHeader,
}

impl<W: Write> PcapWriter<W> {
    /// Writes `header` and returns the writer for the records.
    pub fn new(mut inner: W, header: PcapHeader) -> Result<PcapWriter<W>, PcapError> {
        inner.write_all(&header.to_bytes())?;
        Ok(PcapWriter { inner, header })
    }

    /// The file's header.
    pub fn header(&self) -> &PcapHeader {
        &self.header
    }

    /// Writes a record of a frame `orig_len` bytes long on the wire whose captured bytes
    /// are `data`, cut to the header's snapshot length (and to [`MAX_RECORD_LEN`]).
    /// Microsecond files keep the timestamp's whole microseconds.
    pub fn write_record(
        &mut self,
        timestamp: Timestamp,
        orig_len: u32,
        data: &[u8],
    ) -> Result<(), PcapError> {
        let out_of_range = || PcapError::TimestampOutOfRange {
            secs: timestamp.secs,
            nanos: timestamp.nanos,
        };
        let secs = u32::try_from(timestamp.secs).map_err(|_| out_of_range())?;
        if timestamp.nanos >= NANOS_PER_SEC {
            return Err(out_of_range());
        }
        let frac = match self.header.precision {
            Precision::Micros => timestamp.nanos / NANOS_PER_MICRO,
            Precision::Nanos => timestamp.nanos,
        };
        let limit = match self.header.snaplen {
            0 => MAX_RECORD_LEN,
            snaplen => snaplen.min(MAX_RECORD_LEN),
        };
        let incl_len = u32::try_from(data.len()).unwrap_or(u32::MAX).min(limit);
        let e = self.header.endian;
        let mut head = [0u8; RECORD_HEADER_LEN];
        head[0..4].copy_from_slice(&e.u32_bytes(secs));
        head[4..8].copy_from_slice(&e.u32_bytes(frac));
        head[8..12].copy_from_slice(&e.u32_bytes(incl_len));
        head[12..16].copy_from_slice(&e.u32_bytes(orig_len));
        self.inner.write_all(&head)?;
        self.inner
            .write_all(data.get(..incl_len as usize).unwrap_or(data))?;
        Ok(())
    }

    /// Writes a record of the whole frame `data`.
    pub fn write_frame(&mut self, timestamp: Timestamp, data: &[u8]) -> Result<(), PcapError> {
        let orig_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.write_record(timestamp, orig_len, data)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> Result<(), PcapError> {
        self.inner.flush()?;
        Ok(())
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The underlying writer (not flushed).
    pub fn into_inner(self) -> W {
        self.inner
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(inner: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match inner.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n.min(buf.len() - filled),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

//! What can be wrong with the bytes of a packet.

use thiserror::Error;

/// Why a buffer could not be read as a packet of some kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum Error {
    /// The buffer ends before the header, or before a length field says it should.
    #[error("truncated packet")]
    Truncated,
    /// A field holds a value the format does not allow (a version, a header length shorter
    /// than the fixed header, a length field shorter than its header, a broken option chain).
    #[error("malformed packet")]
    Malformed,
    /// The checksum does not match the contents.
    #[error("bad checksum")]
    BadChecksum,
    /// A well-formed packet of a kind this module does not handle (ARP for another hardware or
    /// protocol type, an ICMPv6 message that is not neighbour discovery).
    #[error("unsupported packet")]
    Unsupported,
}

/// The result of reading or writing a packet.
pub type Result<T> = core::result::Result<T, Error>;

//! The errors of links.

use std::io;

use crate::pcap::PcapError;

/// An error of a link.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A system call failed.
    #[error("{op}: {source}")]
    Io {
        /// The call, with the option or request it was about.
        op: &'static str,
        /// The error the system returned.
        #[source]
        source: io::Error,
    },
    /// No interface has that name (in the calling thread's network namespace).
    #[error("no interface named {0:?}")]
    NoSuchInterface(String),
    /// A configuration value the kernel would refuse, with the reason.
    #[error("invalid link configuration: {0}")]
    InvalidConfig(&'static str),
    /// A frame to send is longer than the link can send, or shorter than an Ethernet
    /// header.
    #[error("frame of {len} bytes cannot be sent (at most {max})")]
    FrameTooLarge {
        /// The frame's length.
        len: usize,
        /// The longest frame the link sends.
        max: usize,
    },
    /// No transmit slot became free within the retry bound; the frame was not queued.
    #[error("transmit queue full")]
    TxFull,
    /// A transmit kick still failed with ENOBUFS / EAGAIN after every retry; the frames
    /// stay queued and go with the next flush.
    #[error("transmit still busy after {attempts} attempts")]
    TxBusy {
        /// How many kicks were tried.
        attempts: u32,
    },
    /// A replayed input has no more frames.
    #[error("end of input")]
    EndOfInput,
    /// A pcap file could not be read or written.
    #[error(transparent)]
    Pcap(#[from] PcapError),
    /// A pcap input's link type is not Ethernet.
    #[error("pcap link type {0} is not Ethernet (1)")]
    NotEthernet(u32),
}

impl LinkError {
    /// A failed system call `op`.
    pub(crate) fn io(op: &'static str, source: io::Error) -> LinkError {
        LinkError::Io { op, source }
    }
}

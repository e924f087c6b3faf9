//! The counters of a link.

/// Counters of a link since it was opened. Fields a backend has no use for stay 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LinkStats {
    /// Frames handed to a receive handler.
    pub rx_frames: u64,
    /// Bytes of the frames handed to a receive handler.
    pub rx_bytes: u64,
    /// Frames longer than a receive buffer (TP_STATUS_COPY, or a snapshot shorter than
    /// the frame): not delivered.
    pub rx_truncated: u64,
    /// Received frames flagged TP_STATUS_LOSING: the kernel had dropped frames for this
    /// socket since its statistics were last read.
    pub rx_losing: u64,
    /// Frames the kernel passed to the socket, dropped ones included (PACKET_STATISTICS
    /// `tp_packets`, accumulated).
    pub kernel_packets: u64,
    /// Frames the kernel dropped because the RX ring was full (PACKET_STATISTICS
    /// `tp_drops`, accumulated).
    pub kernel_drops: u64,
    /// Frames queued for sending.
    pub tx_frames: u64,
    /// Bytes of the frames queued for sending.
    pub tx_bytes: u64,
    /// Frames refused because no transmit slot became free in time.
    pub tx_full: u64,
    /// Frames refused because too long (or shorter than an Ethernet header).
    pub tx_too_large: u64,
    /// Transmit kicks retried after ENOBUFS or EAGAIN.
    pub tx_retries: u64,
}

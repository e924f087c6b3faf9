//! The settings of an AF_XDP link.

use std::time::Duration;

use crate::link::{LinkError, TxRetry};

/// The largest ring accepted (descriptors per ring).
const MAX_RING: u32 = 1 << 16;

/// Where the XDP program runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XdpMode {
    /// In the driver if it supports XDP (native), else in the kernel's generic receive
    /// path.
    Auto,
    /// In the driver only (XDP_FLAGS_DRV_MODE); opening fails where the driver cannot.
    Native,
    /// In the kernel's generic receive path (XDP_FLAGS_SKB_MODE): works on every
    /// interface, after the kernel has built its socket buffer for the frame.
    Generic,
}

/// Which frames the XDP program sends to the AF_XDP sockets (the rest go to the kernel's
/// network stack as if no program were attached).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XdpSteering {
    /// Every frame of a queue with a socket: the kernel sees none of them (no ARP, no
    /// traffic to its own addresses).
    Everything,
    /// Only the IPv4 and IPv6 frames that are not for the host: frames of other types
    /// (ARP, VLAN-tagged frames, …), multicast and broadcast packets (IPv6 neighbour
    /// discovery among them) and packets to one of the host's addresses (those given with
    /// [`XdpProgram::set_local_addresses`](super::XdpProgram::set_local_addresses)) go to
    /// the kernel.
    NotForTheHost,
}

/// Where the program was attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttachMode {
    /// In the driver.
    Native,
    /// In the kernel's generic receive path.
    Generic,
}

/// Whether frames are copied between the driver and the UMEM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XdpBind {
    /// Zero-copy where the driver offers it, copy otherwise (and always copy when the
    /// program runs in generic mode).
    Auto,
    /// Copy (XDP_COPY).
    Copy,
    /// Zero-copy only (XDP_ZEROCOPY); opening fails where the driver cannot.
    ZeroCopy,
}

/// The settings of an [`XdpLink`](super::XdpLink).
///
/// The UMEM holds `rx_frames + tx_frames` frames of `frame_size` bytes: `rx_frames` go
/// round between the fill and RX rings (both of `rx_frames` slots), `tx_frames` between
/// the TX and completion rings (both of `tx_frames` slots). A received frame starts 256
/// bytes into its frame buffer (the kernel's XDP headroom), so frames of up to
/// `frame_size - 256` bytes are received; longer ones are dropped by the kernel (counted in
/// [`XdpStatistics::rx_dropped`](super::XdpStatistics::rx_dropped)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct XdpConfig {
    /// Bytes per frame buffer: a power of two from 2048 to the page size.
    pub frame_size: u32,
    /// Receive buffers, and slots of the fill and RX rings: a power of two.
    pub rx_frames: u32,
    /// Transmit buffers, and slots of the TX and completion rings: a power of two.
    pub tx_frames: u32,
    /// Where the program runs (ignored by [`XdpLink::open_on`](super::XdpLink::open_on),
    /// whose program is attached already).
    pub mode: XdpMode,
    /// Copy or zero-copy.
    pub bind: XdpBind,
    /// Bounds of the waits of the transmit path.
    pub tx_retry: TxRetry,
}

impl Default for XdpConfig {
    /// 4096 receive and 1024 transmit buffers of 2048 bytes (10 MiB), native mode where
    /// the driver has it, zero-copy where it has it, up to 64 transmit retries 100 µs apart.
    fn default() -> Self {
        XdpConfig {
            frame_size: 2048,
            rx_frames: 4096,
            tx_frames: 1024,
            mode: XdpMode::Auto,
            bind: XdpBind::Auto,
            tx_retry: TxRetry {
                attempts: 64,
                wait: Duration::from_micros(100),
            },
        }
    }
}

impl XdpConfig {
    /// Checks the sizes against what the kernel accepts on a machine of `page_size`-byte
    /// pages.
    pub(super) fn check(&self, page_size: usize) -> Result<(), LinkError> {
        let frame = self.frame_size as usize;
        if !frame.is_power_of_two() || frame < 2048 || frame > page_size.max(2048) {
            return Err(LinkError::InvalidConfig(
                "frame_size must be a power of two from 2048 to the page size",
            ));
        }
        for ring in [self.rx_frames, self.tx_frames] {
            if !ring.is_power_of_two() || ring > MAX_RING {
                return Err(LinkError::InvalidConfig(
                    "rx_frames and tx_frames must be powers of two up to 65536",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_the_kernel_refuses_are_refused() {
        assert!(XdpConfig::default().check(4096).is_ok());
        let with = |frame_size, rx_frames, tx_frames| XdpConfig {
            frame_size,
            rx_frames,
            tx_frames,
            ..XdpConfig::default()
        };
        assert!(with(4096, 64, 1).check(4096).is_ok());
        for bad in [
            with(1024, 64, 64),
            with(3072, 64, 64),
            with(8192, 64, 64),
            with(2048, 0, 64),
            with(2048, 100, 64),
            with(2048, 64, 1 << 17),
        ] {
            assert!(
                matches!(bad.check(4096), Err(LinkError::InvalidConfig(_))),
                "{bad:?}"
            );
        }
        assert!(with(8192, 64, 64).check(16384).is_ok());
    }
}

//! Where the slots of a TPACKET_V2 ring lie in its memory.

use super::config::RingSize;
use crate::link::LinkError;

/// The length of a TPACKET_V2 slot's header: `struct tpacket2_hdr` aligned to 16 bytes (32)
/// and the `struct sockaddr_ll` after it (20). Received frames start after it; frames to
/// send start at [`TX_DATA_OFFSET`].
pub(super) const TPACKET2_HDRLEN: usize = 52;
/// Where a frame to send starts in a TX slot: the header without the sockaddr_ll.
pub(super) const TX_DATA_OFFSET: usize = 32;
/// The smallest slot accepted.
const MIN_FRAME_SIZE: usize = 128;
/// The largest memory block asked of the kernel (bigger blocks need higher-order
/// allocations).
const MAX_BLOCK_SIZE: usize = 128 * 1024;
/// The largest ring accepted (the kernel refuses more than 4 GiB).
const MAX_RING_LEN: usize = 1 << 31;

/// The layout of a ring: `block_count` blocks of `block_size` bytes, back to back, each
/// holding `frames_per_block` slots of `frame_size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RingGeometry {
    pub(super) frame_size: usize,
    frames_per_block: usize,
    block_size: usize,
    block_count: usize,
}

impl RingGeometry {
    /// Lays out `size` in blocks of whole pages of `page_size` bytes: the smallest block
    /// holding whole slots without waste when that is at most 128 KiB, else the slot
    /// rounded up to pages. The slot count is rounded up to fill the last block.
    pub(super) fn plan(size: RingSize, page_size: usize) -> Result<RingGeometry, LinkError> {
        let frame_size = size.frame_size as usize;
        let wanted = size.frame_count as usize;
        if frame_size < MIN_FRAME_SIZE {
            return Err(LinkError::InvalidConfig("ring frame_size below 128"));
        }
        if !frame_size.is_multiple_of(16) {
            return Err(LinkError::InvalidConfig(
                "ring frame_size not a multiple of 16",
            ));
        }
        if wanted == 0 {
            return Err(LinkError::InvalidConfig("ring frame_count is 0"));
        }
        let page_size = page_size.max(1);
        let lcm = frame_size / gcd(frame_size, page_size) * page_size;
        let block_size = if lcm <= MAX_BLOCK_SIZE {
            lcm
        } else {
            frame_size.div_ceil(page_size) * page_size
        };
        let frames_per_block = block_size / frame_size;
        let block_count = wanted.div_ceil(frames_per_block);
        let geometry = RingGeometry {
            frame_size,
            frames_per_block,
            block_size,
            block_count,
        };
        match block_size.checked_mul(block_count) {
            Some(len) if len <= MAX_RING_LEN => Ok(geometry),
            _ => Err(LinkError::InvalidConfig("ring larger than 2 GiB")),
        }
    }

    /// The number of slots.
    pub(super) fn frame_count(&self) -> usize {
        self.frames_per_block * self.block_count
    }

    /// The ring's length in bytes.
    pub(super) fn len(&self) -> usize {
        self.block_size * self.block_count
    }

    /// Where slot `index` (below [`RingGeometry::frame_count`]) starts.
    pub(super) fn slot_offset(&self, index: usize) -> usize {
        (index / self.frames_per_block) * self.block_size
            + (index % self.frames_per_block) * self.frame_size
    }

    /// The slot after `index`, wrapping around.
    pub(super) fn next(&self, index: usize) -> usize {
        if index + 1 >= self.frame_count() {
            0
        } else {
            index + 1
        }
    }

    /// The request for PACKET_RX_RING / PACKET_TX_RING.
    pub(super) fn request(&self) -> libc::tpacket_req {
        // Every value fits: the ring is at most 2 GiB.
        libc::tpacket_req {
            tp_block_size: self.block_size as u32,
            tp_block_nr: self.block_count as u32,
            tp_frame_size: self.frame_size as u32,
            tp_frame_nr: self.frame_count() as u32,
        }
    }
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_of_2048_bytes_pack_two_per_page() {
        let g = RingGeometry::plan(RingSize::new(2048, 5), 4096).unwrap();
        assert_eq!(g.frame_count(), 6);
        assert_eq!(g.len(), 3 * 4096);
        assert_eq!(
            (0..6).map(|i| g.slot_offset(i)).collect::<Vec<_>>(),
            vec![0, 2048, 4096, 6144, 8192, 10240]
        );
        let req = g.request();
        assert_eq!(
            (
                req.tp_block_size,
                req.tp_block_nr,
                req.tp_frame_size,
                req.tp_frame_nr
            ),
            (4096, 3, 2048, 6)
        );
        assert_eq!((g.next(4), g.next(5)), (5, 0));
    }

    #[test]
    fn odd_slot_sizes_share_a_block_without_waste() {
        let g = RingGeometry::plan(RingSize::new(3072, 8), 4096).unwrap();
        assert_eq!(g.request().tp_block_size, 12288);
        assert_eq!(g.frame_count(), 8);
        assert_eq!(g.slot_offset(4), 12288);
        assert_eq!(g.slot_offset(5), 12288 + 3072);
    }

    #[test]
    fn slot_sizes_without_a_small_common_block_are_rounded_to_pages() {
        // 16 * 1001: the common multiple with 4096 is far above 128 KiB.
        let g = RingGeometry::plan(RingSize::new(16016, 3), 4096).unwrap();
        assert_eq!(g.request().tp_block_size, 16384);
        assert_eq!(g.slot_offset(2), 2 * 16384);
    }

    #[test]
    fn bad_sizes_are_refused() {
        for size in [
            RingSize::new(100, 8),
            RingSize::new(2050, 8),
            RingSize::new(2048, 0),
        ] {
            assert!(
                matches!(
                    RingGeometry::plan(size, 4096),
                    Err(LinkError::InvalidConfig(_))
                ),
                "{size:?}"
            );
        }
        assert!(RingGeometry::plan(RingSize::new(65536, 40_000), 4096).is_err());
    }
}

//! Reading one slot of the RX ring: the TPACKET_V2 header, the frame, and the VLAN tag the
//! kernel took out of it.
//!
//! Offsets here count from the end of the status word (the slot bytes the ring hands out),
//! so a field at byte `n` of `struct tpacket2_hdr` is at `n - 4`.

use std::ops::Range;

use super::geometry::TPACKET2_HDRLEN;
use crate::link::{PacketType, RxChecksum, RxMeta, Timestamp};
use crate::sys::ring_map::STATUS_LEN;
use crate::wire::{EtherType, VlanTag};

const TP_LEN: usize = 4 - STATUS_LEN;
const TP_SNAPLEN: usize = 8 - STATUS_LEN;
const TP_MAC: usize = 12 - STATUS_LEN;
const TP_SEC: usize = 16 - STATUS_LEN;
const TP_NSEC: usize = 20 - STATUS_LEN;
const TP_VLAN_TCI: usize = 24 - STATUS_LEN;
const TP_VLAN_TPID: usize = 26 - STATUS_LEN;
/// `sll_pkttype` of the sockaddr_ll at byte 32 of the slot.
const SLL_PKTTYPE: usize = 32 + 10 - STATUS_LEN;
/// The end of the header: a restored VLAN tag must not reach below it.
const HEADER_END: usize = TPACKET2_HDRLEN - STATUS_LEN;
/// Destination and source addresses: what moves when a VLAN tag is put back.
const MAC_ADDRESSES_LEN: usize = 12;
const VLAN_TAG_LEN: usize = 4;

/// What a filled RX slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RxSlot {
    /// A whole frame at `range` of the slot bytes.
    Frame {
        /// Where the frame's bytes are.
        range: Range<usize>,
        /// What the kernel said about it.
        meta: RxMeta,
    },
    /// A frame longer than the slot (or a header that makes no sense): not delivered.
    Truncated,
}

/// Reads the slot bytes `body` whose status is `status`, putting a VLAN tag taken out by
/// the kernel back into the frame if `restore_vlan`.
pub(super) fn read_slot(body: &mut [u8], status: u32, restore_vlan: bool) -> RxSlot {
    let (Some(wire_len), Some(snaplen), Some(mac)) = (
        u32_at(body, TP_LEN),
        u32_at(body, TP_SNAPLEN),
        u16_at(body, TP_MAC),
    ) else {
        return RxSlot::Truncated;
    };
    let (wire_len, snaplen) = (wire_len as usize, snaplen as usize);
    let Some(mac) = usize::from(mac).checked_sub(STATUS_LEN) else {
        return RxSlot::Truncated;
    };
    let end = mac.saturating_add(snaplen);
    if status & libc::TP_STATUS_COPY != 0
        || snaplen < wire_len
        || mac < HEADER_END
        || end > body.len()
    {
        return RxSlot::Truncated;
    }
    let timestamp = Timestamp {
        secs: u64::from(u32_at(body, TP_SEC).unwrap_or(0)),
        nanos: u32_at(body, TP_NSEC).unwrap_or(0).min(999_999_999),
    };
    let vlan = (status & libc::TP_STATUS_VLAN_VALID != 0).then(|| {
        let tpid = if status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
            EtherType(u16_at(body, TP_VLAN_TPID).unwrap_or(0x8100))
        } else {
            EtherType::VLAN
        };
        VlanTag::from_tci(tpid, u16_at(body, TP_VLAN_TCI).unwrap_or(0))
    });
    let checksum = if status & libc::TP_STATUS_CSUMNOTREADY != 0 {
        RxChecksum::Partial
    } else if status & libc::TP_STATUS_CSUM_VALID != 0 {
        RxChecksum::Valid
    } else {
        RxChecksum::Unknown
    };
    let packet_type = PacketType::from_raw(body.get(SLL_PKTTYPE).copied().unwrap_or(0));
    let mut meta = RxMeta {
        wire_len,
        timestamp,
        vlan,
        packet_type,
        checksum,
    };
    let mut start = mac;
    if let Some(tag) = vlan.filter(|_| restore_vlan) {
        if let Some(tagged_start) = restore_vlan_tag(body, mac, end, tag) {
            start = tagged_start;
            meta.wire_len += VLAN_TAG_LEN;
        }
    }
    RxSlot::Frame {
        range: start..end,
        meta,
    }
}

/// Puts `tag` back after the addresses of the frame at `body[mac..end]`, moving the
/// addresses 4 bytes down into the free space before the frame. Returns the frame's new
/// start, or `None` (frame untouched) without the room or the addresses.
fn restore_vlan_tag(body: &mut [u8], mac: usize, end: usize, tag: VlanTag) -> Option<usize> {
    let start = mac.checked_sub(VLAN_TAG_LEN).filter(|&s| s >= HEADER_END)?;
    if end < mac + MAC_ADDRESSES_LEN {
        return None;
    }
    body.copy_within(mac..mac + MAC_ADDRESSES_LEN, start);
    let at = start + MAC_ADDRESSES_LEN;
    body.get_mut(at..at + 2)?
        .copy_from_slice(&tag.tpid.0.to_be_bytes());
    body.get_mut(at + 2..at + 4)?
        .copy_from_slice(&tag.tci().to_be_bytes());
    Some(start)
}

fn u32_at(body: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(body.get(at..at + 4)?.try_into().ok()?))
}

fn u16_at(body: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(body.get(at..at + 2)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Slot bytes (after the status word) as the kernel fills them for an Ethernet frame:
    /// tp_mac 66, the frame after it.
    fn slot(frame: &[u8], wire_len: u32, vlan: Option<(u16, u16)>, pkttype: u8) -> Vec<u8> {
        let mut body = vec![0xEEu8; 2048 - 4];
        body[TP_LEN..TP_LEN + 4].copy_from_slice(&wire_len.to_ne_bytes());
        body[TP_SNAPLEN..TP_SNAPLEN + 4].copy_from_slice(&(frame.len() as u32).to_ne_bytes());
        body[TP_MAC..TP_MAC + 2].copy_from_slice(&66u16.to_ne_bytes());
        body[TP_SEC..TP_SEC + 4].copy_from_slice(&1_700_000_000u32.to_ne_bytes());
        body[TP_NSEC..TP_NSEC + 4].copy_from_slice(&123_456_789u32.to_ne_bytes());
        if let Some((tpid, tci)) = vlan {
            body[TP_VLAN_TCI..TP_VLAN_TCI + 2].copy_from_slice(&tci.to_ne_bytes());
            body[TP_VLAN_TPID..TP_VLAN_TPID + 2].copy_from_slice(&tpid.to_ne_bytes());
        }
        body[SLL_PKTTYPE] = pkttype;
        body[62..62 + frame.len()].copy_from_slice(frame);
        body
    }

    fn frame() -> Vec<u8> {
        let mut f = vec![1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0x08, 0x00];
        f.extend_from_slice(&[0x45; 20]);
        f
    }

    #[test]
    fn a_plain_frame_is_found_after_the_header() {
        let f = frame();
        let mut body = slot(&f, f.len() as u32, None, libc::PACKET_OTHERHOST);
        let RxSlot::Frame { range, meta } = read_slot(
            &mut body,
            libc::TP_STATUS_USER | libc::TP_STATUS_CSUM_VALID,
            true,
        ) else {
            panic!("not a frame")
        };
        assert_eq!(range, 62..62 + 34);
        assert_eq!(&body[range], &f[..]);
        assert_eq!(
            meta,
            RxMeta {
                wire_len: 34,
                timestamp: Timestamp {
                    secs: 1_700_000_000,
                    nanos: 123_456_789
                },
                vlan: None,
                packet_type: PacketType::OtherHost,
                checksum: RxChecksum::Valid,
            }
        );
    }

    #[test]
    fn a_vlan_tag_taken_out_by_the_kernel_is_put_back() {
        let f = frame();
        let status =
            libc::TP_STATUS_USER | libc::TP_STATUS_VLAN_VALID | libc::TP_STATUS_VLAN_TPID_VALID;
        let mut body = slot(
            &f,
            f.len() as u32,
            Some((0x88A8, 0x2064)),
            libc::PACKET_HOST,
        );
        let RxSlot::Frame { range, meta } = read_slot(&mut body, status, true) else {
            panic!("not a frame")
        };
        let mut tagged = f[..12].to_vec();
        tagged.extend_from_slice(&[0x88, 0xA8, 0x20, 0x64]);
        tagged.extend_from_slice(&f[12..]);
        assert_eq!(&body[range], &tagged[..]);
        assert_eq!(meta.wire_len, 38);
        assert_eq!(meta.vlan, Some(VlanTag::from_tci(EtherType::QINQ, 0x2064)));

        let mut body = slot(&f, f.len() as u32, Some((0, 0x0005)), libc::PACKET_HOST);
        let RxSlot::Frame { range, meta } = read_slot(
            &mut body,
            libc::TP_STATUS_USER | libc::TP_STATUS_VLAN_VALID,
            false,
        ) else {
            panic!("not a frame")
        };
        assert_eq!(&body[range], &f[..], "left out when not restoring");
        assert_eq!(meta.vlan, Some(VlanTag::from_tci(EtherType::VLAN, 5)));
        assert_eq!(meta.wire_len, 34);
    }

    #[test]
    fn truncated_frames_and_nonsense_headers_are_not_delivered() {
        let f = frame();
        let mut body = slot(&f, 1500, None, 0);
        assert_eq!(
            read_slot(&mut body, libc::TP_STATUS_USER, true),
            RxSlot::Truncated
        );
        let mut body = slot(&f, f.len() as u32, None, 0);
        assert_eq!(
            read_slot(&mut body, libc::TP_STATUS_USER | libc::TP_STATUS_COPY, true),
            RxSlot::Truncated
        );
        let mut body = slot(&f, f.len() as u32, None, 0);
        body[TP_SNAPLEN..TP_SNAPLEN + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        body[TP_LEN..TP_LEN + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(
            read_slot(&mut body, libc::TP_STATUS_USER, true),
            RxSlot::Truncated
        );
        let mut body = slot(&f, f.len() as u32, None, 0);
        body[TP_MAC..TP_MAC + 2].copy_from_slice(&10u16.to_ne_bytes());
        assert_eq!(
            read_slot(&mut body, libc::TP_STATUS_USER, true),
            RxSlot::Truncated
        );
        assert_eq!(
            read_slot(&mut [0u8; 7], libc::TP_STATUS_USER, true),
            RxSlot::Truncated
        );
    }
}

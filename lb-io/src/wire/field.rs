//! Byte-level access shared by the views: big-endian fields at fixed offsets, and slices
//! clamped to the buffer.
//!
//! The fixed-offset readers index directly: a view calls them only for offsets its
//! `check_len` has proven to lie inside the buffer. Anything whose bounds come from a field
//! that a setter may change afterwards (a header length, a length field) goes through
//! [`clamped`] / [`clamped_mut`], so that no accessor can panic on a checked view.

pub(crate) fn read_u16(data: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([data[at], data[at + 1]])
}

pub(crate) fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

pub(crate) fn write_u16(data: &mut [u8], at: usize, value: u16) {
    data[at..at + 2].copy_from_slice(&value.to_be_bytes());
}

pub(crate) fn write_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

pub(crate) fn read_array<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&data[at..at + N]);
    out
}

/// `data[start..end]`, cut to what the buffer holds (empty when `start` is past its end).
pub(crate) fn clamped(data: &[u8], start: usize, end: usize) -> &[u8] {
    let end = end.min(data.len());
    data.get(start..end).unwrap_or(&[])
}

/// Mutable [`clamped`].
pub(crate) fn clamped_mut(data: &mut [u8], start: usize, end: usize) -> &mut [u8] {
    let end = end.min(data.len());
    if start > end {
        return &mut [];
    }
    &mut data[start..end]
}

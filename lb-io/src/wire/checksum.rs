//! The Internet checksum (RFC 1071): the one's-complement sum of 16-bit big-endian words,
//! complemented. Used by IPv4, TCP, UDP, ICMPv4 and ICMPv6.
//!
//! - [`sum`] adds up a buffer eight bytes at a time in a `u64` and folds once at the end;
//!   [`combine`] adds partial sums (a pseudo-header's and a segment's), [`checksum`] finishes.
//! - [`PseudoHeader`] is the IPv4 / IPv6 pseudo-header that TCP, UDP and ICMPv6 cover.
//! - `update_*` apply RFC 1624 eqn. 3, `HC' = ~(~HC + ~m + m')`, for one 16-bit word, a 32-bit
//!   value (an IPv4 address), or an IPv6 address: what NAT uses to rewrite addresses and ports
//!   without summing the payload again.
//! - `udp_*` carry UDP's special case: over IPv4 a checksum field of 0 means "no checksum"; a
//!   computed checksum of 0 is sent as `0xFFFF`.
//!
//! Sums are kept "folded": a `u16` in which `0xFFFF` and `0` both stand for zero. The sum of
//! any buffer holding a non-zero byte is never `0`.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::ip::IpProtocol;

/// Folds a wide one's-complement accumulator into 16 bits (end-around carry).
///
/// Two rotate-and-add steps (as Linux's `csum_fold`): adding a value to itself rotated by
/// half its width leaves in the upper half the sum of both halves with the end-around
/// carry of the lower half, 64 → 32 bits, then 32 → 16 bits. Every step keeps the value
/// modulo `0xFFFF` (`0xFFFF_FFFF`) and keeps it non-zero when it was, so the result is the
/// one a fold to a fixed point gives: `0` only for `0`, else the representative of `acc`
/// modulo `0xFFFF` in `1..=0xFFFF`.
#[inline(always)]
fn fold(acc: u64) -> u16 {
    let acc = (acc.wrapping_add(acc.rotate_right(32)) >> 32) as u32;
    (acc.wrapping_add(acc.rotate_right(16)) >> 16) as u16
}

/// The one's-complement sum of `data` read as big-endian 16-bit words, an odd last byte
/// padded with a zero byte.
///
/// Eight bytes are added at a time, in native byte order with end-around carry, and the
/// result is byte-swapped once at the end (RFC 1071 §2(B): the sum is byte-order
/// independent).
pub fn sum(data: &[u8]) -> u16 {
    let (words, tail) = data.as_chunks::<8>();
    let mut acc: u64 = 0;
    for word in words {
        let (s, carry) = acc.overflowing_add(u64::from_ne_bytes(*word));
        acc = s + u64::from(carry);
    }
    if !tail.is_empty() {
        // Zero padding on the right keeps every byte in its place within its 16-bit word.
        let mut last = [0u8; 8];
        last[..tail.len()].copy_from_slice(tail);
        let (s, carry) = acc.overflowing_add(u64::from_ne_bytes(last));
        acc = s + u64::from(carry);
    }
    u16::from_be(fold(acc))
}

/// The one's-complement sum of a buffer of fixed length `N` (an IPv4 header without
/// options: `N` = 20), the same as [`sum`] of it: big-endian 32-bit words added in a
/// `u64`, an odd last byte padded with a zero byte. With `N` known the loop unrolls into
/// straight-line code without bounds checks.
#[inline]
pub fn sum_array<const N: usize>(data: &[u8; N]) -> u16 {
    let (words, tail) = data.as_chunks::<4>();
    let mut acc: u64 = 0;
    for word in words {
        acc += u64::from(u32::from_be_bytes(*word));
    }
    let mut last = [0u8; 4];
    last[..tail.len()].copy_from_slice(tail);
    acc += u64::from(u32::from_be_bytes(last));
    fold(acc)
}

/// The one's-complement sum of 32-bit words (each the big-endian value of four bytes of
/// the data): [`sum_array`] of their bytes, without the bytes.
#[inline(always)]
pub fn sum_words<const N: usize>(words: &[u32; N]) -> u16 {
    fold(words.iter().map(|&w| u64::from(w)).sum())
}

/// Adds two folded one's-complement sums.
#[inline]
pub fn combine(a: u16, b: u16) -> u16 {
    fold(u64::from(a) + u64::from(b))
}

/// The Internet checksum of `data`: the complement of its one's-complement sum.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// Whether a buffer that contains its own checksum field sums to zero (all ones).
#[inline]
pub fn is_valid(data: &[u8]) -> bool {
    sum(data) == 0xFFFF
}

/// The one's-complement sum of a 32-bit value as two 16-bit words.
#[inline]
fn sum_u32(value: u32) -> u64 {
    u64::from(value >> 16) + u64::from(value & 0xFFFF)
}

/// The one's-complement sum (unfolded) of a 128-bit value as eight 16-bit words.
#[inline]
fn sum_u128(value: u128) -> u64 {
    sum_u32((value >> 96) as u32)
        + sum_u32((value >> 64) as u32)
        + sum_u32((value >> 32) as u32)
        + sum_u32(value as u32)
}

/// The addresses of the pseudo-header that the TCP, UDP and ICMPv6 checksums cover. The
/// protocol and the length are the transport view's own, and are added by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PseudoHeader {
    /// IPv4 source and destination (RFC 793 §3.1, RFC 768).
    V4 {
        /// Source address.
        src: Ipv4Addr,
        /// Destination address.
        dst: Ipv4Addr,
    },
    /// IPv6 source and destination (RFC 8200 §8.1).
    V6 {
        /// Source address.
        src: Ipv6Addr,
        /// Final destination address.
        dst: Ipv6Addr,
    },
}

impl PseudoHeader {
    /// The pseudo-header of an IPv4 packet.
    pub fn v4(src: Ipv4Addr, dst: Ipv4Addr) -> Self {
        PseudoHeader::V4 { src, dst }
    }

    /// The pseudo-header of an IPv6 packet.
    pub fn v6(src: Ipv6Addr, dst: Ipv6Addr) -> Self {
        PseudoHeader::V6 { src, dst }
    }

    /// The folded one's-complement sum of the pseudo-header for `protocol` and an upper-layer
    /// length of `len` bytes. For IPv4 the length is a 16-bit field; for IPv6 a 32-bit one —
    /// both sum the same for lengths below 65536.
    pub fn sum(&self, protocol: IpProtocol, len: u32) -> u16 {
        let mut acc = u64::from(protocol.0) + sum_u32(len);
        match self {
            PseudoHeader::V4 { src, dst } => {
                acc += sum_u32(src.to_bits()) + sum_u32(dst.to_bits());
            }
            PseudoHeader::V6 { src, dst } => {
                for word in src.segments().into_iter().chain(dst.segments()) {
                    acc += u64::from(word);
                }
            }
        }
        fold(acc)
    }

    /// Whether this is an IPv4 pseudo-header (where a UDP checksum of 0 means "none").
    pub fn is_v4(&self) -> bool {
        matches!(self, PseudoHeader::V4 { .. })
    }
}

/// The one's-complement sum of `data` as if the 16-bit field at the even offset `at` (a
/// checksum field) held zero.
pub fn sum_without_field(data: &[u8], at: usize) -> u16 {
    let head = data.get(..at).unwrap_or(data);
    let tail = data.get(at + 2..).unwrap_or(&[]);
    combine(sum(head), sum(tail))
}

/// The checksum an upper-layer message (`data`) should carry under `pseudo`, its checksum
/// field (at the even offset `checksum_at`) taken as zero.
pub fn transport_checksum(
    pseudo: &PseudoHeader,
    protocol: IpProtocol,
    data: &[u8],
    checksum_at: usize,
) -> u16 {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    !combine(
        pseudo.sum(protocol, len),
        sum_without_field(data, checksum_at),
    )
}

/// Whether an upper-layer message (`data`, its checksum field included) sums to zero under
/// `pseudo`.
pub fn transport_is_valid(pseudo: &PseudoHeader, protocol: IpProtocol, data: &[u8]) -> bool {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    combine(pseudo.sum(protocol, len), sum(data)) == 0xFFFF
}

/// RFC 1624 eqn. 3 for several words: `HC' = ~(~HC + Σ~m + Σm')`, the words given as their
/// 16-bit one's-complement sums (unfolded; any sum congruent to them modulo `0xFFFF`, and
/// zero only when they are, gives the same result).
#[inline(always)]
fn update(hc: u16, removed: u64, added: u64) -> u16 {
    !fold(u64::from(!hc) + removed + added)
}

/// The checksum after one 16-bit word of the covered data (a port, a TTL/protocol pair)
/// changed from `old` to `new`.
#[inline]
pub fn update_word(hc: u16, old: u16, new: u16) -> u16 {
    update(hc, u64::from(!old), u64::from(new))
}

/// The checksum after a 16-bit word (a port, a TTL/protocol pair) changed from `old_word`
/// to `new_word` and a 32-bit value at an even offset (an IPv4 address) from `old_u32` to
/// `new_u32`, in one RFC 1624 sum: the same value as [`update_word`] then
/// [`update_u32`] (one's-complement addition is associative, and a 32-bit value sums as
/// its two halves modulo `0xFFFF`).
#[inline(always)]
pub fn update_word_and_u32(
    hc: u16,
    (old_word, new_word): (u16, u16),
    (old_u32, new_u32): (u32, u32),
) -> u16 {
    update(
        hc,
        u64::from(!old_word) + u64::from(!old_u32),
        u64::from(new_word) + u64::from(new_u32),
    )
}

/// The checksum after a 32-bit value at an even offset of the covered data changed from
/// `old` to `new`.
#[inline]
pub fn update_u32(hc: u16, old: u32, new: u32) -> u16 {
    update(hc, sum_u32(!old), sum_u32(new))
}

/// The checksum after an IPv4 address in the covered data (or pseudo-header) changed.
#[inline]
pub fn update_ipv4_addr(hc: u16, old: Ipv4Addr, new: Ipv4Addr) -> u16 {
    update_u32(hc, old.to_bits(), new.to_bits())
}

/// The checksum after an IPv6 address in the covered data (or pseudo-header) changed.
#[inline]
pub fn update_ipv6_addr(hc: u16, old: &Ipv6Addr, new: &Ipv6Addr) -> u16 {
    update(hc, sum_u128(!old.to_bits()), sum_u128(new.to_bits()))
}

/// The UDP checksum field for a computed checksum: a computed `0` is sent as `0xFFFF`, since
/// `0` in the field means "no checksum" (RFC 768).
#[inline]
pub fn udp_checksum_field(computed: u16) -> u16 {
    if computed == 0 {
        0xFFFF
    } else {
        computed
    }
}

/// Whether a UDP checksum field carries a checksum (over IPv4 `0` means none).
#[inline]
pub fn udp_has_checksum(field: u16) -> bool {
    field != 0
}

/// [`update_word`] for a UDP checksum field: "no checksum" (`0`) stays `0`, a result of `0`
/// becomes `0xFFFF`. IPVS itself computes a full checksum when the field was `0` (spec §7.1);
/// this is for rewriters that keep the sender's choice.
pub fn udp_update_word(field: u16, old: u16, new: u16) -> u16 {
    if udp_has_checksum(field) {
        udp_checksum_field(update_word(field, old, new))
    } else {
        0
    }
}

/// [`update_ipv4_addr`] for a UDP checksum field, with the rules of [`udp_update_word`].
pub fn udp_update_ipv4_addr(field: u16, old: Ipv4Addr, new: Ipv4Addr) -> u16 {
    if udp_has_checksum(field) {
        udp_checksum_field(update_ipv4_addr(field, old, new))
    } else {
        0
    }
}

/// [`update_ipv6_addr`] for a UDP checksum field, with the rules of [`udp_update_word`].
pub fn udp_update_ipv6_addr(field: u16, old: &Ipv6Addr, new: &Ipv6Addr) -> u16 {
    if udp_has_checksum(field) {
        udp_checksum_field(update_ipv6_addr(field, old, new))
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain RFC 1071 loop, one big-endian word at a time.
    fn reference_sum(data: &[u8]) -> u16 {
        let mut acc: u64 = 0;
        for pair in data.chunks(2) {
            let hi = u64::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u64::from(b));
            acc += hi | lo;
        }
        fold(acc)
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(&data), 0xddf2);
        assert_eq!(checksum(&data), 0x220d);
    }

    #[test]
    fn sum_matches_reference_for_every_length_and_alignment() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 97 + 13) as u8).collect();
        for start in 0..9 {
            for end in start..data.len() {
                assert_eq!(
                    sum(&data[start..end]),
                    reference_sum(&data[start..end]),
                    "{start}..{end}"
                );
            }
        }
    }

    #[test]
    fn sum_of_all_ones_and_zeros() {
        assert_eq!(sum(&[]), 0);
        assert_eq!(sum(&[0; 40]), 0);
        assert_eq!(sum(&[0xFF; 1500]), 0xFFFF);
        assert_eq!(sum(&[0xFF]), 0xFF00);
        assert_eq!(checksum(&[0xFF; 64]), 0);
    }

    #[test]
    fn sum_without_field_skips_two_bytes() {
        let data = [0x12, 0x34, 0xAB, 0xCD, 0x56, 0x78, 0x9A];
        assert_eq!(
            sum_without_field(&data, 2),
            sum(&[0x12, 0x34, 0, 0, 0x56, 0x78, 0x9A])
        );
        assert_eq!(
            sum_without_field(&data, 6),
            sum(&[0x12, 0x34, 0xAB, 0xCD, 0x56, 0x78])
        );
        assert_eq!(sum_without_field(&data, 8), sum(&data));
    }

    #[test]
    fn combine_is_ones_complement_addition() {
        assert_eq!(combine(0xFFFF, 0x0001), 0x0001);
        assert_eq!(combine(0x8000, 0x8000), 0x0001);
        assert_eq!(combine(0x1234, 0x0000), 0x1234);
        assert_eq!(combine(0xFFFE, 0x0001), 0xFFFF);
    }

    #[test]
    fn pseudo_header_sums() {
        let v4 = PseudoHeader::v4(Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 1, 2));
        // c612 + 0001 + c612 + 0102 + 0006 + 0014 = 18d41 → 8d42
        assert_eq!(v4.sum(IpProtocol::TCP, 20), 0x8d42);
        let v6 = PseudoHeader::v6(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        );
        // 2001+0db8+0001 + 2001+0db8+0002 + 003a + 0020 = 5bcf
        assert_eq!(v6.sum(IpProtocol::ICMPV6, 32), 0x5bcf);
        assert!(v4.is_v4());
        assert!(!v6.is_v4());
    }

    #[test]
    fn incremental_word_update_equals_recompute() {
        let data: Vec<u8> = (0..64u32).map(|i| (i * 31 + 7) as u8).collect();
        for (old, new) in [(0x0102u16, 0xFFFFu16), (0x0000, 0x1234), (0xFFFF, 0x0000)] {
            let mut d = data.clone();
            d[20..22].copy_from_slice(&old.to_be_bytes());
            let before = checksum(&d);
            d[20..22].copy_from_slice(&new.to_be_bytes());
            let after = checksum(&d);
            assert_eq!(update_word(before, old, new), after, "{old:#x}->{new:#x}");
        }
    }

    /// The straight-line fold equals folding to a fixed point, at the edges of each step.
    #[test]
    fn fold_equals_the_loop() {
        fn loop_fold(mut acc: u64) -> u16 {
            while acc > 0xFFFF {
                acc = (acc & 0xFFFF) + (acc >> 16);
            }
            acc as u16
        }
        let mut values = vec![0, 1, 0xFFFE, 0xFFFF, 0x1_0000, 0x1_FFFE, 0x1_FFFF, u64::MAX];
        for shift in [16, 17, 31, 32, 33, 48, 63] {
            let v = 1u64 << shift;
            values.extend([v - 1, v, v + 1, v | 0xFFFF]);
        }
        values.extend((0..2000u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        for v in values {
            assert_eq!(fold(v), loop_fold(v), "{v:#x}");
        }
    }

    #[test]
    fn sum_array_equals_sum() {
        let data: Vec<u8> = (0..64u32).map(|i| (i * 89 + 5) as u8).collect();
        for start in 0..40 {
            let a20: &[u8; 20] = data[start..start + 20].try_into().unwrap();
            assert_eq!(sum_array(a20), sum(a20), "{start}");
            let a7: &[u8; 7] = data[start..start + 7].try_into().unwrap();
            assert_eq!(sum_array(a7), sum(a7), "{start}");
        }
        assert_eq!(sum_array(&[0u8; 20]), 0);
        assert_eq!(sum_array(&[0xFFu8; 20]), 0xFFFF);
        // RFC 1071 §3 again.
        assert_eq!(
            sum_array(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    /// One sum for a word and a 32-bit value equals the two updates one after the other,
    /// and a recomputation.
    #[test]
    fn word_and_u32_update_equals_two_updates() {
        let words = [0x0000u16, 0x0001, 0x7FFF, 0xFFFE, 0xFFFF];
        let longs = [0u32, 1, 0xFFFF, 0x1_0000, 0xC612_0001, 0xFFFF_FFFF];
        for hc in [0x0000u16, 0x0001, 0x8000, 0xFFFE, 0xFFFF] {
            for (&ow, &nw) in words.iter().zip(words.iter().rev()) {
                for &ol in &longs {
                    for &nl in &longs {
                        let two = update_u32(update_word(hc, ow, nw), ol, nl);
                        let one = update_word_and_u32(hc, (ow, nw), (ol, nl));
                        assert_eq!(one, two, "{hc:#x} {ow:#x}->{nw:#x} {ol:#x}->{nl:#x}");
                    }
                }
            }
        }
        let mut d: Vec<u8> = (0..40u32).map(|i| (i * 53 + 1) as u8).collect();
        let before = checksum(&d);
        let (ow, ol) = (u16::from_be_bytes([d[8], d[9]]), 0xC612_0001u32);
        d[20..24].copy_from_slice(&ol.to_be_bytes());
        let before_l = checksum(&d);
        assert_ne!(before, before_l);
        d[8..10].copy_from_slice(&0x3f06u16.to_be_bytes());
        d[20..24].copy_from_slice(&0xC613_0015u32.to_be_bytes());
        assert_eq!(
            update_word_and_u32(before_l, (ow, 0x3f06), (ol, 0xC613_0015)),
            checksum(&d)
        );
    }

    #[test]
    fn ipv6_addr_update_equals_recompute() {
        let old: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let new: Ipv6Addr = "fe80::ffff:ffff:ffff:0".parse().unwrap();
        let mut d = vec![0x5a; 48];
        d[8..24].copy_from_slice(&old.octets());
        let before = checksum(&d);
        d[8..24].copy_from_slice(&new.octets());
        assert_eq!(update_ipv6_addr(before, &old, &new), checksum(&d));
    }

    #[test]
    fn rfc1624_example() {
        // RFC 1624 §4: HC = 0xdd2f, m = 0x5555 → m' = 0x3285 gives HC' = 0x0000.
        assert_eq!(update_word(0xdd2f, 0x5555, 0x3285), 0x0000);
    }

    #[test]
    fn udp_field_rules() {
        assert_eq!(udp_checksum_field(0), 0xFFFF);
        assert_eq!(udp_checksum_field(0x1234), 0x1234);
        assert!(!udp_has_checksum(0));
        assert!(udp_has_checksum(0xFFFF));
        assert_eq!(udp_update_word(0, 80, 8080), 0);
        let a = Ipv4Addr::new(198, 18, 0, 1);
        let b = Ipv4Addr::new(198, 18, 0, 2);
        assert_eq!(udp_update_ipv4_addr(0, a, b), 0);
        // 0x0001 - 1 would be 0x0000 (negative zero 0xFFFF sum): must be sent as 0xFFFF.
        assert_eq!(update_word(0xFFFE, 0x0000, 0x0001), 0xFFFD);
        assert_eq!(udp_update_word(0x0001, 0x0000, 0x0001), 0xFFFF);
        let x: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let y: Ipv6Addr = "2001:db8::2".parse().unwrap();
        assert_eq!(udp_update_ipv6_addr(0, &x, &y), 0);
        assert_eq!(udp_update_ipv6_addr(0x0002, &x, &y), 0x0001);
    }
}

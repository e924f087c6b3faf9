//! The kernel's hashes, bit for bit, as IPVS's hashing schedulers use them (spec §3.10–§3.14).
//!
//! Using the same functions with the same constants as the kernel is what lets a userspace
//! director and a kernel director, given the same servers, send the same client to the same
//! server: sh, dh, lblc and lblcr use [`hash_32`] of a folded address, mh uses [`hsiphash`]
//! (SipHash-1-3, as 64-bit kernels compute `hsiphash`) with fixed keys.
//!
//! [`FastHasher`] is not the kernel's: an unkeyed multiply-fold hasher for maps keyed by
//! configuration (services, next hops) on the packet path.

pub use crate::engine::{BuildFastHasher, FastHasher};

use std::net::IpAddr;

use crate::service::Family;

/// The multiplier of `hash_32` (include/linux/hash.h `GOLDEN_RATIO_32`).
pub const GOLDEN_RATIO_32: u32 = 0x61C8_8647;

/// `hash_32(val, bits)` of include/linux/hash.h: the high `bits` bits of `val · 0x61C88647`
/// (32-bit wrapping product). `bits` is 1..=32; 0 gives 0 and values above 32 act as 32.
///
/// ```
/// // spec §17: 192.168.1.5 lands in sh bucket 16 of 256.
/// assert_eq!(lb_core::hash::hash_32(0xC0A8_0105, 8), 16);
/// ```
#[inline]
pub fn hash_32(v: u32, bits: u32) -> u32 {
    let product = v.wrapping_mul(GOLDEN_RATIO_32);
    match bits {
        0 => 0,
        1..=31 => product >> (32 - bits),
        _ => product,
    }
}

/// An address folded to 32 bits as every IPVS hashing scheduler does before hashing
/// (`addr_fold` in `ip_vs_sh_hashkey`, `ip_vs_dh_hashkey`, `ip_vs_mh_hashkey`,
/// `ip_vs_lblc_hashkey`, `ip_vs_lblcr_hashkey`), in its own family: an IPv4 address as a
/// number (192.168.1.5 = 0xC0A80105), an IPv6 address as the XOR of its four 32-bit words
/// taken as numbers (the kernel XORs the big-endian words, then converts with `ntohl`).
#[inline]
pub fn fold_addr(addr: &IpAddr) -> u32 {
    match addr {
        IpAddr::V4(a) => u32::from(*a),
        IpAddr::V6(a) => {
            let x = u128::from(*a);
            (x as u32) ^ ((x >> 32) as u32) ^ ((x >> 64) as u32) ^ ((x >> 96) as u32)
        }
    }
}

/// An address folded as the kernel folds it for a *service* of family `family`: the kernel
/// chooses the fold by `svc->af`, not by the address. For an IPv6 real server of an IPv4
/// service (a mixed-family tunnel) that is the address's first 32-bit word; for an IPv4 real
/// server of an IPv6 service it is the IPv4 address (the other words of the kernel's
/// zero-filled `nf_inet_addr` are 0). Otherwise the same as [`fold_addr`].
#[inline]
pub fn fold_addr_for(addr: &IpAddr, family: Family) -> u32 {
    match (addr, family) {
        (IpAddr::V6(a), Family::V4) => (u128::from(*a) >> 96) as u32,
        _ => fold_addr(addr),
    }
}

/// A key of the kernel's `hsiphash_key_t` on a 64-bit kernel (`unsigned long key[2]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HsipKey(pub [u64; 2]);

/// The first key of ip_vs_mh.c (`generate_hash_secret`, `hash1`): slot preference offsets and
/// lookups.
pub const MH_KEY1: HsipKey = HsipKey([2_654_435_761, 2_654_435_761]);
/// The second key of ip_vs_mh.c (`hash2`): permutation skips.
pub const MH_KEY2: HsipKey = HsipKey([2_654_446_892, 2_654_446_892]);

const SIPHASH_CONST: [u64; 4] = [
    0x736f_6d65_7073_6575,
    0x646f_7261_6e64_6f6d,
    0x6c79_6765_6e65_7261,
    0x7465_6462_7974_6573,
];

/// One SipHash round (`SIPHASH_PERMUTATION` of include/linux/siphash.h).
#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-c-d over whole 64-bit little-endian message words plus a final word already holding
/// the length byte and the tail bytes (lib/siphash.c `PREAMBLE`/`POSTAMBLE` with `c`
/// compression and `d` finalisation rounds).
#[inline(always)]
fn siphash_words(key: &HsipKey, words: &[u64], last: u64, c: u32, d: u32) -> u64 {
    let mut v = [
        SIPHASH_CONST[0] ^ key.0[0],
        SIPHASH_CONST[1] ^ key.0[1],
        SIPHASH_CONST[2] ^ key.0[0],
        SIPHASH_CONST[3] ^ key.0[1],
    ];
    for &m in words.iter().chain(std::iter::once(&last)) {
        v[3] ^= m;
        for _ in 0..c {
            sip_round(&mut v);
        }
        v[0] ^= m;
    }
    v[2] ^= 0xff;
    for _ in 0..d {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

/// `hsiphash(&v, 4, key)` as a 64-bit Linux kernel computes it — what ip_vs_mh.c's
/// `ip_vs_mh_hashkey` calls on the host-order `u32` `v`.
///
/// On 64-bit kernels lib/siphash.c makes hsiphash SipHash-1-3 (one compression round, three
/// finalisation rounds) over 64-bit state, returning the low 32 bits of `v0^v1^v2^v3`. A
/// 4-byte input is the single final message word `(4 << 56) | v` (the bytes of `v` loaded
/// little-endian, as on x86-64: `__hsiphash_unaligned`, equal to `hsiphash_1u32(v)`).
/// 32-bit kernels compute HalfSipHash-1-3 instead and choose other servers; lb follows
/// 64-bit kernels.
///
/// ```
/// use lb_core::hash::{hsiphash, MH_KEY1};
/// // spec §17: 10.0.0.1:80 starts its Maglev permutation at slot 3167 of 4093.
/// assert_eq!(hsiphash(0x0A00_0001 + 80, &MH_KEY1) % 4093, 3167);
/// ```
#[inline]
pub fn hsiphash(v: u32, key: &HsipKey) -> u32 {
    siphash_words(key, &[], (4u64 << 56) | u64::from(v), 1, 3) as u32
}

/// The value ip_vs_mh.c hashes for an address, port and probe offset
/// (`v = offset + ntohs(port) + ntohl(addr_fold)`, wrapping).
#[inline]
pub fn mh_value(addr_fold: u32, port: u16, offset: u32) -> u32 {
    offset.wrapping_add(u32::from(port)).wrapping_add(addr_fold)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SipHash-2-4 over a byte string, built from the same round and finalisation code.
    fn siphash24(key: &HsipKey, msg: &[u8]) -> u64 {
        let whole = msg.len() / 8;
        let words: Vec<u64> = (0..whole)
            .map(|i| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&msg[i * 8..i * 8 + 8]);
                u64::from_le_bytes(b)
            })
            .collect();
        let mut last = (msg.len() as u64) << 56;
        for (i, &byte) in msg[whole * 8..].iter().enumerate() {
            last |= u64::from(byte) << (8 * i);
        }
        siphash_words(key, &words, last, 2, 4)
    }

    #[test]
    fn rounds_match_the_siphash_paper_vectors() {
        // Key 00..0f; vectors of the SipHash reference implementation (vectors.h).
        let key = HsipKey([0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908]);
        assert_eq!(siphash24(&key, &[]), 0x726f_db47_dd0e_0e31);
        let msg: Vec<u8> = (0u8..15).collect();
        assert_eq!(siphash24(&key, &msg), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn hash_32_takes_the_high_bits() {
        assert_eq!(hash_32(1, 32), GOLDEN_RATIO_32);
        assert_eq!(hash_32(1, 8), GOLDEN_RATIO_32 >> 24);
        assert_eq!(hash_32(0xffff_ffff, 0), 0);
        assert_eq!(hash_32(0x0A01_0203, 8), 2);
    }

    #[test]
    fn ipv6_fold_is_the_xor_of_the_words() {
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(fold_addr(&a), 0x2001_0db8 ^ 1);
        assert_eq!(fold_addr_for(&a, Family::V4), 0x2001_0db8);
        assert_eq!(fold_addr_for(&a, Family::V6), 0x2001_0db8 ^ 1);
        let b: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(fold_addr_for(&b, Family::V6), 0x0A00_0001);
    }

    #[test]
    fn mh_keys_give_the_spec_permutations() {
        let v = mh_value(0x0A00_0002, 80, 0);
        assert_eq!(hsiphash(v, &MH_KEY1) % 4093, 1231);
        assert_eq!(hsiphash(v, &MH_KEY2) % 4092 + 1, 3544);
    }
}

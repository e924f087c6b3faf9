//! A fast, unkeyed hasher for the packet path's lookups of configuration (services by
//! address or mark, next hops in lb-io's neighbour cache): SipHash, the standard maps' default, costs more than the rest of such
//! a lookup. The keys are the operator's own (services), so no seed is needed against
//! crafted collisions; a packet only chooses which key is asked for.

use std::hash::{BuildHasher, Hasher};

/// Builds [`FastHasher`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildFastHasher;

/// A multiply-fold hasher of a few words.
#[derive(Debug, Clone, Copy)]
pub struct FastHasher(u64);

impl FastHasher {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    #[inline]
    fn mix(&mut self, w: u64) {
        let p = u128::from(self.0 ^ w).wrapping_mul(u128::from(Self::K));
        self.0 = (p as u64) ^ ((p >> 64) as u64);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for c in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            self.mix(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.mix(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.mix(i);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.mix(i as u64);
        self.mix((i >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.mix(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl BuildHasher for BuildFastHasher {
    type Hasher = FastHasher;
    #[inline]
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0x243f_6a88_85a3_08d3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::net::IpAddr;

    #[test]
    fn distinct_keys_spread_and_are_found() {
        let b = BuildFastHasher;
        let key = |i: u32| {
            (
                6u8,
                IpAddr::from(std::net::Ipv4Addr::from(0xc612_0000 + i)),
                80u16,
            )
        };
        assert_ne!(b.hash_one(key(1)), b.hash_one(key(2)));
        assert_ne!(
            b.hash_one((6u8, key(1).1, 80u16)),
            b.hash_one((6u8, key(1).1, 81u16))
        );
        let mut m: HashMap<_, u32, BuildFastHasher> = HashMap::default();
        for i in 0..1000 {
            m.insert(key(i), i);
        }
        assert!((0..1000).all(|i| m.get(&key(i)) == Some(&i)));
        assert_eq!(m.get(&key(1000)), None);
    }
}

//! Keyed hashing of connection tuples.
//!
//! The kernel hashes (protocol, client address, client port) with Jenkins' hash and a random
//! seed, so that the reply of a NAT connection — whose destination is the client — lands in
//! the same bucket as its request (spec §4.1). lb does the same to choose a shard: both
//! directions of a connection, and its reply index entry, live behind one lock. Inside a
//! shard the index hashes the whole tuple. The mixing step is a folded 64×64→128-bit
//! multiply, keyed by a seed the caller chooses (a random one in the director, so that
//! nobody outside can aim many flows at one probe sequence).

use super::addr::Addr;

/// `(a × b)` on 128 bits, folded back to 64 by XOR of the halves.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a).wrapping_mul(u128::from(b));
    (p as u64) ^ ((p >> 64) as u64)
}

/// The four secret words of a table's hash functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TupleHasher {
    k: [u64; 4],
}

impl TupleHasher {
    /// Keys derived from one seed (splitmix64 steps, so nearby seeds give unrelated keys).
    pub(crate) fn new(seed: u64) -> TupleHasher {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        TupleHasher {
            k: [next() | 1, next() | 1, next() | 1, next() | 1],
        }
    }

    #[inline]
    fn addr<A: Addr>(&self, a: A) -> u64 {
        let (hi, lo) = a.words();
        if lo == 0 && hi >> 32 == 0 {
            hi
        } else {
            fold_mul(hi ^ self.k[2], lo ^ self.k[3])
        }
    }

    /// The hash of (protocol, client address, client port): it chooses the shard, and every
    /// other hash of the connection starts from it.
    #[inline]
    pub(crate) fn client<A: Addr>(&self, proto: u8, caddr: A, cport: u16) -> u64 {
        let tail = (u64::from(cport) << 8) | u64::from(proto);
        fold_mul(self.addr(caddr) ^ self.k[0], tail ^ self.k[1])
    }

    /// The hash of a whole tuple given the client hash: (virtual address and port) for the
    /// primary index, (real server address and port) for the reply index.
    #[inline]
    pub(crate) fn tuple<A: Addr>(&self, client: u64, addr: A, port: u16) -> u64 {
        fold_mul(
            client ^ self.addr(addr),
            (u64::from(port) << 17) ^ self.k[2] ^ client.rotate_left(29),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::addr::{V4, V6};
    use super::*;

    #[test]
    fn seeds_change_hashes() {
        let a = TupleHasher::new(1);
        let b = TupleHasher::new(2);
        assert_ne!(
            a.client(6, V4(0x0a00_0001), 1000),
            b.client(6, V4(0x0a00_0001), 1000)
        );
        assert_eq!(
            a.client(6, V4(0x0a00_0001), 1000),
            a.client(6, V4(0x0a00_0001), 1000)
        );
    }

    #[test]
    fn every_field_counts() {
        let h = TupleHasher::new(7);
        let base = h.client(6, V4(0x0a00_0001), 1000);
        assert_ne!(base, h.client(17, V4(0x0a00_0001), 1000));
        assert_ne!(base, h.client(6, V4(0x0a00_0002), 1000));
        assert_ne!(base, h.client(6, V4(0x0a00_0001), 1001));
        assert_ne!(h.tuple(base, V4(1), 80), h.tuple(base, V4(1), 81));
        assert_ne!(h.tuple(base, V4(1), 80), h.tuple(base, V4(2), 80));
        let v6 = h.client(6, V6([0x2001_0db8, 0, 0, 1]), 1000);
        assert_ne!(v6, h.client(6, V6([0x2001_0db8, 0, 0, 2]), 1000));
    }

    #[test]
    fn low_bits_spread() {
        // Sequential client ports must fill buckets evenly: no bucket of 256 gets more than
        // twice its share of 64k ports.
        let h = TupleHasher::new(42);
        let mut buckets = [0u32; 256];
        for port in 0..65536u32 {
            let c = h.client(6, V4(0xc612_0001), port as u16);
            buckets[(h.tuple(c, V4(0xc612_0101), 80) >> 32) as usize & 255] += 1;
        }
        assert!(buckets.iter().all(|&n| n < 512 && n > 128), "{buckets:?}");
    }
}

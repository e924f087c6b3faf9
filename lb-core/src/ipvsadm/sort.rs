//! The order of a listing.
//!
//! The kernel hands services over in its hash-table order and destinations in list order
//! (newest first); ipvsadm then sorts both with glibc's `qsort` — a merge sort — and
//! comparators that subtract addresses as unsigned 32-bit numbers and read the difference as
//! a signed `int`. Two addresses 2^31 or more apart therefore compare backwards (192.168.1.1
//! comes before 10.0.0.1), and the comparison is not transitive, so the result also depends
//! on the order the merge sort met the entries in. Both steps are reproduced here exactly.

use std::net::IpAddr;

use crate::dest::Destination;
use crate::service::{Service, ServiceKey};

/// glibc's `msort_with_tmp`: halves of `n/2` and `n - n/2`, merged taking the left element
/// while `cmp(left, right) <= 0`. `cmp` returns a C comparator's `int`.
pub(crate) fn merge_sort<T: Clone>(v: &mut [T], cmp: &dyn Fn(&T, &T) -> i32) {
    let mut tmp = Vec::with_capacity(v.len());
    merge_sort_with_tmp(v, &mut tmp, cmp);
}

fn merge_sort_with_tmp<T: Clone>(b: &mut [T], tmp: &mut Vec<T>, cmp: &dyn Fn(&T, &T) -> i32) {
    let n = b.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    {
        let (b1, b2) = b.split_at_mut(n1);
        merge_sort_with_tmp(b1, tmp, cmp);
        merge_sort_with_tmp(b2, tmp, cmp);
    }
    tmp.clear();
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&b[i], &b[j]) <= 0 {
            tmp.push(b[i].clone());
            i += 1;
        } else {
            tmp.push(b[j].clone());
            j += 1;
        }
    }
    tmp.extend_from_slice(&b[i..n1]);
    // What is left of the right half is already in place at the end.
    let k = tmp.len();
    b[..k].clone_from_slice(tmp);
}

/// An address as the four host-order words of the kernel's `union nf_inet_addr` (an IPv4
/// address fills the first word, the rest is zero).
fn words(addr: &IpAddr) -> [u32; 4] {
    match addr {
        IpAddr::V4(a) => [u32::from(*a), 0, 0, 0],
        IpAddr::V6(a) => {
            let o = a.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// `AF_INET` or `AF_INET6`.
fn af_number(v6: bool) -> i32 {
    if v6 {
        10
    } else {
        2
    }
}

/// A C `int` from an unsigned 32-bit difference.
fn wrap_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// The address part of libipvs' comparators: four words for IPv6 (by the first entry's
/// family), else the first word only.
fn addr_diff(first_is_v6: bool, a: &[u32; 4], b: &[u32; 4]) -> i32 {
    if first_is_v6 {
        let mut r = 0;
        for i in 0..4 {
            r = wrap_diff(a[i], b[i]);
            if r != 0 {
                break;
            }
        }
        r
    } else {
        wrap_diff(a[0], b[0])
    }
}

/// What libipvs sees of a service: fwmark services come with protocol, address and port 0.
#[derive(Debug, Clone, Copy)]
struct ServiceView {
    fwmark: u32,
    v6: bool,
    proto: i32,
    words: [u32; 4],
    port: i32,
}

fn service_view(key: &ServiceKey) -> ServiceView {
    match key {
        ServiceKey::Addr { proto, addr, port } => ServiceView {
            fwmark: 0,
            v6: addr.is_ipv6(),
            proto: i32::from(proto.number()),
            words: words(addr),
            port: i32::from(*port),
        },
        ServiceKey::Fwmark { family, mark } => ServiceView {
            fwmark: *mark,
            v6: *family == crate::service::Family::V6,
            proto: 0,
            words: [0; 4],
            port: 0,
        },
    }
}

/// libipvs `ipvs_cmp_services`, quirks included.
pub fn cmp_services(a: &ServiceKey, b: &ServiceKey) -> i32 {
    let (s1, s2) = (service_view(a), service_view(b));
    let r = wrap_diff(s1.fwmark, s2.fwmark);
    if r != 0 {
        return r;
    }
    let r = af_number(s1.v6) - af_number(s2.v6);
    if r != 0 {
        return r;
    }
    let r = s1.proto - s2.proto;
    if r != 0 {
        return r;
    }
    let r = addr_diff(s1.v6, &s1.words, &s2.words);
    if r != 0 {
        return r;
    }
    s1.port - s2.port
}

/// libipvs `ipvs_cmp_dests`, quirks included.
pub fn cmp_dests(a: (&IpAddr, u16), b: (&IpAddr, u16)) -> i32 {
    let r = addr_diff(a.0.is_ipv6(), &words(a.0), &words(b.0));
    if r != 0 {
        return r;
    }
    i32::from(a.1) - i32::from(b.1)
}

/// The kernel's service-table bucket (`ip_vs_svc_hashkey`, `ip_vs_svc_fwm_hashkey`), with the
/// per-namespace pointer salt taken as 0. Fwmark services live in a second table.
fn kernel_bucket(key: &ServiceKey) -> (bool, u32) {
    match key {
        ServiceKey::Addr { proto, addr, port } => {
            let w = words(addr);
            let fold = match addr {
                IpAddr::V4(_) => w[0],
                IpAddr::V6(_) => w[0] ^ w[1] ^ w[2] ^ w[3],
            };
            let porth = u32::from(*port);
            let hash = u32::from(proto.number()) ^ fold ^ (porth >> 8) ^ porth;
            (false, hash & 0xff)
        }
        ServiceKey::Fwmark { mark, .. } => (true, mark & 0xff),
    }
}

/// The services in the order the kernel dumps them: the address table's 256 buckets, then the
/// fwmark table's, each bucket newest first. The kernel salts its hash with an address of its
/// own; this order is the one of a salt of 0.
pub fn kernel_order(services: &[Service]) -> Vec<&Service> {
    let mut v: Vec<(usize, &Service)> = services.iter().enumerate().collect();
    v.sort_by(|(ia, a), (ib, b)| {
        let ka = kernel_bucket(a.key());
        let kb = kernel_bucket(b.key());
        ka.cmp(&kb).then_with(|| ib.cmp(ia))
    });
    v.into_iter().map(|(_, s)| s).collect()
}

/// The services as `ipvsadm -L` lists them: sorted as ipvsadm sorts, unless `nosort`.
pub fn listing_order(services: &[Service], nosort: bool) -> Vec<&Service> {
    let mut v = kernel_order(services);
    if !nosort {
        merge_sort(&mut v, &|a: &&Service, b: &&Service| {
            cmp_services(a.key(), b.key())
        });
    }
    v
}

/// The destinations of a service as `ipvsadm -L` lists them: list order (newest first),
/// sorted as ipvsadm sorts unless `nosort`.
pub fn dest_listing_order(service: &Service, nosort: bool) -> Vec<&Destination> {
    let mut v: Vec<&Destination> = service.dests().iter().collect();
    if !nosort {
        merge_sort(&mut v, &|a: &&Destination, b: &&Destination| {
            cmp_dests((&a.addr(), a.port()), (&b.addr(), b.port()))
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sort_is_glibc_msort() {
        // A comparator that is not an order exposes the merge pattern: "0 < 1 < 2 < 0".
        let cyc = |a: &u32, b: &u32| -> i32 {
            let (x, y) = (a % 3, b % 3);
            if x == y {
                0
            } else if (x + 1) % 3 == y {
                -1
            } else {
                1
            }
        };
        let mut v = vec![2u32, 0, 1, 2, 0];
        merge_sort(&mut v, &cyc);
        // Halves [2,0] and [1,2,0]. [2]+[0]: cmp(2,0) = -1 -> [2,0]. [1]+[2,0]: cmp(1,2) = -1
        // -> [1,2,0]. Merge [2,0] with [1,2,0]: cmp(2,1) = 1 take 1; cmp(2,2) = 0 take 2;
        // cmp(0,2) = 1 take 2; cmp(0,0) = 0 take 0; the right 0 stays in place.
        assert_eq!(v, vec![1, 2, 2, 0, 0]);
        let mut w: Vec<u32> = (0..100).rev().collect();
        merge_sort(&mut w, &|a: &u32, b: &u32| (*a as i32) - (*b as i32));
        assert_eq!(w, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn address_quirk() {
        let a: IpAddr = "192.168.1.1".parse().unwrap();
        let b: IpAddr = "10.0.0.1".parse().unwrap();
        assert!(cmp_dests((&a, 80), (&b, 80)) < 0);
        assert!(cmp_dests((&b, 80), (&a, 80)) > 0);
        let c: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(cmp_dests((&b, 80), (&c, 80)) < 0);
        assert_eq!(cmp_dests((&b, 80), (&b, 81)), -1);
    }
}

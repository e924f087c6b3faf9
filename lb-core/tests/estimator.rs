//! The rate estimator against the spec's vectors (§10, §17) and the kernel's arithmetic.

use std::time::Duration;

use lb_core::estimator::{Estimator, Rates};
use lb_core::Counters;

fn conns(n: u64) -> Counters {
    Counters {
        conns: n,
        ..Counters::default()
    }
}

#[test]
fn interval_is_two_seconds() {
    assert_eq!(Estimator::INTERVAL, Duration::from_secs(2));
}

#[test]
fn spec_vector_1000_connections_then_idle() {
    let mut est = Estimator::new();
    assert_eq!(est.rates(), Rates::default());
    est.update(&conns(1000));
    assert_eq!(est.scaled().cps, 128_000);
    assert_eq!(est.rates().cps, 125);
    est.update(&conns(1000));
    assert_eq!(est.scaled().cps, 96_000);
    assert_eq!(est.rates().cps, 94);
    assert_eq!(
        est.rates(),
        Rates {
            cps: 94,
            ..Rates::default()
        }
    );
}

#[test]
fn bytes_per_second_converge_with_rounding() {
    // 1000 bytes every 2 s (500 B/s): scaled by 2^5 the average approaches 16000.
    let mut est = Estimator::new();
    // 2000 bytes every 2 s out: the flooring makes it more than twice the inbound average.
    let want = [
        (4000, 125),
        (7000, 219),
        (9250, 289),
        (10937, 342),
        (12202, 381),
        (13151, 411),
    ];
    let want_out = [8000, 14000, 18500, 21875, 24406, 26304];
    for (i, (&(scaled, shown), &scaled_out)) in want.iter().zip(&want_out).enumerate() {
        let total = 1000 * (i as u64 + 1);
        est.update(&Counters {
            inbytes: total,
            outbytes: 2 * total,
            ..Counters::default()
        });
        assert_eq!(est.scaled().inbps, scaled, "interval {i}");
        assert_eq!(est.rates().inbps, shown, "interval {i}");
        assert_eq!(est.scaled().outbps, scaled_out, "interval {i}");
    }
}

#[test]
fn read_out_rounds_half_down() {
    // One update from idle keeps 4·Δ (bytes) or 128·Δ (packets): Δ/8 per second, shown
    // rounded to nearest with a half rounded down.
    let cases: &[(u64, u64)] = &[(3, 0), (4, 0), (5, 1), (12, 1), (13, 2), (8, 1)];
    for &(delta, shown) in cases {
        let mut est = Estimator::new();
        est.update(&Counters {
            inpkts: delta,
            outpkts: delta,
            inbytes: delta,
            ..Counters::default()
        });
        assert_eq!(est.scaled().inbps, 4 * delta);
        assert_eq!(est.rates().inbps, shown, "bytes Δ {delta}");
        assert_eq!(est.scaled().inpps, 128 * delta);
        assert_eq!(est.rates().inpps, shown, "packets Δ {delta}");
        assert_eq!(est.rates().outpps, shown, "packets Δ {delta}");
    }
}

#[test]
fn average_decays_to_zero_through_the_flooring_shift() {
    // (sample − avg) >> 2 floors toward −∞: the average reaches 0 exactly (a truncating
    // division would stick at 3).
    let mut est = Estimator::new();
    est.update(&conns(1));
    assert_eq!(est.scaled().cps, 128);
    let mut seen = Vec::new();
    for _ in 0..16 {
        est.update(&conns(1));
        seen.push(est.scaled().cps);
    }
    assert_eq!(
        seen,
        [96, 72, 54, 40, 30, 22, 16, 12, 9, 6, 4, 3, 2, 1, 0, 0]
    );
}

#[test]
fn each_counter_has_its_own_average() {
    let mut est = Estimator::new();
    est.update(&Counters {
        conns: 2,
        inpkts: 20,
        outpkts: 10,
        inbytes: 3000,
        outbytes: 9000,
    });
    assert_eq!(
        est.scaled(),
        Rates {
            cps: 256,
            inpps: 2560,
            outpps: 1280,
            inbps: 12_000,
            outbps: 36_000
        }
    );
    assert_eq!(
        est.rates(),
        Rates {
            cps: 0,
            inpps: 2,
            outpps: 1,
            inbps: 375,
            outbps: 1125
        }
    );
    assert_eq!(
        est.last_counters(),
        Counters {
            conns: 2,
            inpkts: 20,
            outpkts: 10,
            inbytes: 3000,
            outbytes: 9000
        }
    );
}

#[test]
fn zeroing_drops_the_averages_and_keeps_the_last_snapshot() {
    let mut est = Estimator::new();
    est.update(&conns(1000));
    est.update(&conns(3000));
    // Δ 2000: 128000 + (1024000 − 128000) / 4.
    assert_eq!(est.scaled().cps, 352_000);
    assert_eq!(est.rates().cps, 344);
    est.zero();
    assert_eq!(est.scaled(), Rates::default());
    assert_eq!(est.rates(), Rates::default());
    assert_eq!(est.last_counters(), conns(3000));
    // Nothing new since the last update: still zero.
    est.update(&conns(3000));
    assert_eq!(est.rates().cps, 0);
    // 1000 more: as from idle.
    est.update(&conns(4000));
    assert_eq!(est.scaled().cps, 128_000);
    assert_eq!(est.rates().cps, 125);
}

#[test]
fn counters_going_backwards_wrap_as_the_kernel_does() {
    let mut est = Estimator::new();
    est.update(&conns(1000));
    // Δ = −1000 (mod 2^64): sample −512000, avg 128000 − 160000 = −32000 (mod 2^64).
    est.update(&conns(0));
    assert_eq!(est.scaled().cps, 0u64.wrapping_sub(32_000));
    assert_eq!(est.rates().cps, (1u64 << 54) - 31);
}

#[test]
fn huge_counters_do_not_panic() {
    let mut est = Estimator::new();
    let max = Counters {
        conns: u64::MAX,
        inpkts: u64::MAX,
        outpkts: u64::MAX,
        inbytes: u64::MAX,
        outbytes: u64::MAX,
    };
    est.update(&max);
    // Δ = 2^64 − 1: << 9 is −512 (mod 2^64), the average −128.
    assert_eq!(est.scaled().cps, 0u64.wrapping_sub(128));
    assert_eq!(est.rates().cps, 0);
    assert_eq!(est.scaled().inbps, 0u64.wrapping_sub(4));
    assert_eq!(est.rates().inbps, 0);
    est.update(&Counters::default());
    assert_eq!(est.last_counters(), Counters::default());
}

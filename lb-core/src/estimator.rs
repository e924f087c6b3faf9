//! The rate estimator of IPVS (spec §10; `ip_vs_est.c`).
//!
//! Every 2 seconds ([`Estimator::INTERVAL`]) the kernel reads each stats object's cumulative
//! counters and folds the change since the last reading into five moving averages: new
//! connections, packets in and out per second (kept ×2^10) and bytes in and out per second
//! (kept ×2^5). An [`Estimator`] is that state for one stats object (a destination, a
//! service, the whole director); its owner calls [`Estimator::update`] every 2 s with the
//! current counters — or stops calling it, which is what `run_estimation = 0` does: the rates
//! freeze.
//!
//! The arithmetic is the kernel's exactly: for each counter,
//! `sample = Δ << 9` (Δ over 2 s, so ×2^10 per second; `Δ << 4` for bytes, ×2^5),
//! `avg += (sample − avg) >> 2` computed as a signed 64-bit difference with an arithmetic
//! (flooring) shift, and read out rounded: `(avg + 0x1FF) >> 10`, `(avg + 0xF) >> 5`.
//! All of it wraps on 64 bits as the kernel's `u64`/`s64` arithmetic does; nothing panics.

use std::time::Duration;

use crate::stats::Counters;

/// The five rates `ipvsadm -L --rate` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    /// New connections per second.
    pub cps: u64,
    /// Packets per second, client → real server.
    pub inpps: u64,
    /// Packets per second, real server → client.
    pub outpps: u64,
    /// Bytes per second, client → real server.
    pub inbps: u64,
    /// Bytes per second, real server → client.
    pub outbps: u64,
}

/// The moving averages of one stats object, and the counters they were last fed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Estimator {
    last: Counters,
    scaled: Rates,
}

impl Estimator {
    /// How often the kernel feeds every estimator: 2 s.
    pub const INTERVAL: Duration = Duration::from_secs(2);

    /// An estimator for a new stats object: counters and averages at zero (the kernel's
    /// zeroed allocation).
    pub fn new() -> Estimator {
        Estimator::default()
    }

    /// Feed the current cumulative counters (once per [`Estimator::INTERVAL`]).
    pub fn update(&mut self, counters: &Counters) {
        let last = self.last;
        let avg = &mut self.scaled;
        avg.cps = ewma(avg.cps, counters.conns.wrapping_sub(last.conns) << 9);
        avg.inpps = ewma(avg.inpps, counters.inpkts.wrapping_sub(last.inpkts) << 9);
        avg.outpps = ewma(avg.outpps, counters.outpkts.wrapping_sub(last.outpkts) << 9);
        avg.inbps = ewma(avg.inbps, counters.inbytes.wrapping_sub(last.inbytes) << 4);
        avg.outbps = ewma(
            avg.outbps,
            counters.outbytes.wrapping_sub(last.outbytes) << 4,
        );
        self.last = *counters;
    }

    /// The rates as ipvsadm shows them (`ip_vs_read_estimator`): rounded to nearest.
    pub fn rates(&self) -> Rates {
        let avg = &self.scaled;
        Rates {
            cps: avg.cps.wrapping_add(0x1FF) >> 10,
            inpps: avg.inpps.wrapping_add(0x1FF) >> 10,
            outpps: avg.outpps.wrapping_add(0x1FF) >> 10,
            inbps: avg.inbps.wrapping_add(0xF) >> 5,
            outbps: avg.outbps.wrapping_add(0xF) >> 5,
        }
    }

    /// The averages as kept: cps and pps ×2^10, bps ×2^5.
    pub fn scaled(&self) -> Rates {
        self.scaled
    }

    /// The counters of the last [`Estimator::update`]. The kernel (`kstats`) shows the
    /// `--stats` counters from this snapshot and takes it as the new zero point on `-Z`.
    pub fn last_counters(&self) -> Counters {
        self.last
    }

    /// `-Z` (`ip_vs_zero_estimator`): the averages drop to zero; the next update measures
    /// from the counters of the last update, as the kernel measures from its last snapshot.
    pub fn zero(&mut self) {
        self.scaled = Rates::default();
    }
}

/// One step of the kernel's average: `avg += ((s64)sample − (s64)avg) >> 2`.
fn ewma(avg: u64, sample: u64) -> u64 {
    let step = (sample as i64).wrapping_sub(avg as i64) >> 2;
    avg.wrapping_add(step as u64)
}

//! Traffic counters of a destination, a service and the whole director (spec §10).

/// The five counters ipvsadm shows with `--stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets client → real server.
    pub inpkts: u64,
    /// Packets real server → client (NAT only).
    pub outpkts: u64,
    /// Bytes client → real server (IP length as received).
    pub inbytes: u64,
    /// Bytes real server → client.
    pub outbytes: u64,
}

impl Counters {
    /// Field-wise wrapping difference `self − base`.
    pub fn since(&self, base: &Counters) -> Counters {
        Counters {
            conns: self.conns.wrapping_sub(base.conns),
            inpkts: self.inpkts.wrapping_sub(base.inpkts),
            outpkts: self.outpkts.wrapping_sub(base.outpkts),
            inbytes: self.inbytes.wrapping_sub(base.inbytes),
            outbytes: self.outbytes.wrapping_sub(base.outbytes),
        }
    }
}

/// Counters with the zero point that `-Z` moves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Running totals since creation.
    pub total: Counters,
    /// The totals when last zeroed.
    pub zero_base: Counters,
}

impl Stats {
    /// What ipvsadm shows: totals since the last `-Z`.
    pub fn shown(&self) -> Counters {
        self.total.since(&self.zero_base)
    }
    /// `-Z`: the current totals become the new zero point.
    pub fn zero(&mut self) {
        self.zero_base = self.total;
    }
}

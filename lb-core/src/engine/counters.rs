//! Dropped packets per reason, counted by every worker thread.

use std::sync::atomic::{AtomicU64, Ordering};

use super::verdict::DropReason;

/// Dropped packets, by reason.
#[derive(Debug, Default)]
pub(crate) struct DropCounters {
    counts: [AtomicU64; DropReason::ALL.len()],
}

impl DropCounters {
    #[inline]
    pub fn count(&self, reason: DropReason) {
        self.counts[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> DropCounts {
        DropCounts {
            counts: std::array::from_fn(|i| self.counts[i].load(Ordering::Relaxed)),
        }
    }
}

/// How many packets were dropped, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropCounts {
    counts: [u64; DropReason::ALL.len()],
}

impl DropCounts {
    /// Packets dropped for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason.index()]
    }
    /// Every packet dropped.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// The non-zero counters, in reason order.
    pub fn nonzero(&self) -> Vec<(DropReason, u64)> {
        DropReason::ALL
            .iter()
            .map(|&r| (r, self.get(r)))
            .filter(|&(_, n)| n != 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_by_reason() {
        let d = DropCounters::default();
        d.count(DropReason::NoServer);
        d.count(DropReason::NoServer);
        d.count(DropReason::NoMemory);
        let s = d.snapshot();
        assert_eq!(s.get(DropReason::NoServer), 2);
        assert_eq!(s.total(), 3);
        assert_eq!(
            s.nonzero(),
            vec![(DropReason::NoMemory, 1), (DropReason::NoServer, 2)]
        );
    }
}

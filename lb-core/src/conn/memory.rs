//! The connection table's own memory account: every allocation the table makes (entry
//! chunks, index arrays, timer wheels) is taken from a budget first and given back when
//! freed, so the table knows its use to the byte and never grows past the limit. The
//! defenses of spec §12 read it where the kernel reads the free memory of the machine.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes in use and the limit they may not pass.
#[derive(Debug)]
pub struct MemoryBudget {
    used: AtomicUsize,
    limit: AtomicUsize,
}

impl MemoryBudget {
    /// A budget of `limit` bytes (`usize::MAX`: no limit).
    pub fn new(limit: usize) -> MemoryBudget {
        MemoryBudget {
            used: AtomicUsize::new(0),
            limit: AtomicUsize::new(limit),
        }
    }
    /// Bytes the table has allocated.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }
    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit.load(Ordering::Relaxed)
    }
    /// Changes the limit. Memory above a lowered limit stays until freed; no new
    /// allocation is made until use is back under it.
    pub fn set_limit(&self, limit: usize) {
        self.limit.store(limit, Ordering::Relaxed);
    }
    /// Bytes left before the limit.
    pub fn available(&self) -> usize {
        self.limit().saturating_sub(self.used())
    }
    /// Takes `bytes` if they fit under the limit.
    pub(crate) fn try_take(&self, bytes: usize) -> bool {
        let limit = self.limit();
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                u.checked_add(bytes).filter(|&n| n <= limit)
            })
            .is_ok()
    }
    /// Gives `bytes` back.
    pub(crate) fn give(&self, bytes: usize) {
        let _ = self
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(bytes))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_passes_the_limit() {
        let b = MemoryBudget::new(100);
        assert!(b.try_take(60));
        assert!(!b.try_take(41));
        assert!(b.try_take(40));
        assert_eq!(b.used(), 100);
        assert_eq!(b.available(), 0);
        b.give(30);
        assert_eq!(b.available(), 30);
        b.set_limit(50);
        assert!(!b.try_take(1));
        assert_eq!(b.available(), 0);
    }
}

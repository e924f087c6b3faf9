//! A value the control side publishes and the workers follow without a lock on their
//! path: a generation number each worker compares once per wake-up (an atomic load), and
//! the value itself, fetched under a lock only when the generation moved.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// A published value and its generation.
#[derive(Debug)]
pub struct Board<T> {
    generation: AtomicU64,
    value: Mutex<Arc<T>>,
}

impl<T> Board<T> {
    /// A board showing `value`, at generation 1.
    pub fn new(value: T) -> Board<T> {
        Board {
            generation: AtomicU64::new(1),
            value: Mutex::new(Arc::new(value)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Arc<T>> {
        self.value.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Shows `value` from now on.
    pub fn publish(&self, value: T) {
        let mut slot = self.lock();
        *slot = Arc::new(value);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The current generation (cheap: one atomic load).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The value and its generation.
    pub fn read(&self) -> (u64, Arc<T>) {
        let slot = self.lock();
        (self.generation.load(Ordering::Acquire), Arc::clone(&slot))
    }

    /// The value if its generation is not `seen` any more, with the new generation.
    pub fn changed_since(&self, seen: u64) -> Option<(u64, Arc<T>)> {
        if self.generation() == seen {
            None
        } else {
            Some(self.read())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn followers_see_each_change_once() {
        let board = Board::new(vec![1]);
        let (seen, v) = board.read();
        assert_eq!((seen, v.as_slice()), (1, &[1][..]));
        assert!(board.changed_since(seen).is_none());
        board.publish(vec![1, 2]);
        let (seen, v) = board.changed_since(seen).unwrap();
        assert_eq!((seen, v.as_slice()), (2, &[1, 2][..]));
        assert!(board.changed_since(seen).is_none());
    }
}

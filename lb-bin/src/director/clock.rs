//! The director's time: a monotonic clock read as [`lb_core::Time`] (milliseconds since
//! the director started), the same for every thread.

use std::time::Instant;

use lb_core::Time;

/// Milliseconds since the director started, from a monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock whose zero is now.
    pub fn start() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    /// The time now.
    pub fn now(&self) -> Time {
        let ms = self.start.elapsed().as_millis();
        Time::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
    }
}

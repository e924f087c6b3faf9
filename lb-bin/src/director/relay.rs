//! Sharing what one worker hears from its neighbours with the others.
//!
//! Each worker has its own neighbour cache, but the kernel's fanout hands an ARP reply or
//! neighbour advertisement to one worker only — maybe not the one whose packets wait for
//! it. So the worker that receives an ARP / neighbour-discovery frame posts a copy to every
//! other worker's inbox and wakes it; they learn from it (and release what waited) at
//! once. Only neighbour frames go through here, never the data path's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use lb_io::path::LinkId;

use super::waker::Waker;

/// The most frames waiting in one inbox; more are dropped (the neighbour protocols retry).
pub const INBOX_LIMIT: usize = 256;

#[derive(Debug, Default)]
struct Inbox {
    pending: AtomicBool,
    frames: Mutex<Vec<(LinkId, Vec<u8>)>>,
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, Vec<(LinkId, Vec<u8>)>> {
        self.frames.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One inbox per worker, and the wakers to tell them.
#[derive(Debug)]
pub struct NeighbourRelay {
    inboxes: Vec<Inbox>,
    wakers: Vec<Waker>,
}

impl NeighbourRelay {
    /// A relay between the workers woken by `wakers` (one each, in worker order).
    pub fn new(wakers: Vec<Waker>) -> NeighbourRelay {
        NeighbourRelay {
            inboxes: wakers.iter().map(|_| Inbox::default()).collect(),
            wakers,
        }
    }

    /// How many workers it connects.
    pub fn workers(&self) -> usize {
        self.inboxes.len()
    }

    /// Wakes every worker.
    pub fn wake_all(&self) {
        for w in &self.wakers {
            w.wake();
        }
    }

    /// Gives a copy of `frame`, received by worker `from` on `link`, to every other worker.
    pub fn post(&self, from: usize, link: LinkId, frame: &[u8]) {
        for (i, (inbox, waker)) in self.inboxes.iter().zip(&self.wakers).enumerate() {
            if i == from {
                continue;
            }
            let mut frames = inbox.lock();
            if frames.len() < INBOX_LIMIT {
                frames.push((link, frame.to_vec()));
                inbox.pending.store(true, Ordering::Release);
                drop(frames);
                waker.wake();
            }
        }
    }

    /// The frames posted to worker `to` since it last took them (an atomic load when there
    /// are none).
    pub fn take(&self, to: usize) -> Vec<(LinkId, Vec<u8>)> {
        match self.inboxes.get(to) {
            Some(inbox) if inbox.pending.swap(false, Ordering::Acquire) => {
                std::mem::take(&mut *inbox.lock())
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::director::waker;

    #[test]
    fn a_frame_reaches_every_other_worker_once() {
        let (w0, r0) = waker::pair().unwrap();
        let (w1, r1) = waker::pair().unwrap();
        let (w2, r2) = waker::pair().unwrap();
        let relay = NeighbourRelay::new(vec![w0, w1, w2]);
        relay.post(1, LinkId(0), b"arp");
        assert!(relay.take(1).is_empty());
        assert!(!r1.drain());
        for (i, r) in [(0, &r0), (2, &r2)] {
            assert!(r.drain());
            assert_eq!(relay.take(i), [(LinkId(0), b"arp".to_vec())]);
            assert!(relay.take(i).is_empty());
        }
        assert!(relay.take(7).is_empty());
    }
}

//! Waking a thread that waits in `poll(2)`: a connected pair of Unix datagram sockets, the
//! receiving end in the thread's [`PollSet`](lb_io::link::PollSet).

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixDatagram;

/// The sending end: [`Waker::wake`] makes the [`Wakeup`] readable.
#[derive(Debug)]
pub struct Waker(UnixDatagram);

/// The receiving end, waited on with the thread's other descriptors.
#[derive(Debug)]
pub struct Wakeup(UnixDatagram);

/// A new pair.
pub fn pair() -> io::Result<(Waker, Wakeup)> {
    let (a, b) = UnixDatagram::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    Ok((Waker(a), Wakeup(b)))
}

impl Waker {
    /// Wakes the thread (a full queue already will).
    pub fn wake(&self) {
        let _ = self.0.send(&[1]);
    }
}

impl Wakeup {
    /// Takes every pending wake-up; returns whether there was one.
    pub fn drain(&self) -> bool {
        let mut buf = [0u8; 16];
        let mut any = false;
        while self.0.recv(&mut buf).is_ok() {
            any = true;
        }
        any
    }
}

impl AsFd for Wakeup {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_is_seen_once() {
        let (waker, wakeup) = pair().unwrap();
        assert!(!wakeup.drain());
        waker.wake();
        waker.wake();
        assert!(wakeup.drain());
        assert!(!wakeup.drain());
    }
}

//! Waiting for any of several links (or other descriptors) to have something to read.
//!
//! A worker of the director receives on one [`PacketLink`](super::PacketLink) per
//! interface; [`PollSet`] waits on all of them at once (one `poll(2)`), together with
//! anything else that can wake the worker (the read end of a pipe, for instance).
//!
//! ```no_run
//! use std::time::Duration;
//! use lb_io::link::{PacketConfig, PacketLink, PollSet};
//! let links = [
//!     PacketLink::open("eth0", &PacketConfig::default()).unwrap(),
//!     PacketLink::open("eth1", &PacketConfig::default()).unwrap(),
//! ];
//! let mut set = PollSet::new();
//! for link in &links {
//!     set.add(link);
//! }
//! set.wait(Duration::from_millis(50)).unwrap();
//! for (i, _) in links.iter().enumerate() {
//!     if set.is_ready(i) { /* receive a batch on links[i] */ }
//! }
//! ```

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use super::LinkError;
use crate::sys;

/// Waits up to `timeout` for input on `socket` (a link's socket); a pending socket error
/// (an interface gone down, for instance) is read, which clears it, and returned.
pub(crate) fn wait_for_input(socket: &impl AsFd, timeout: Duration) -> Result<(), LinkError> {
    let fd = socket.as_fd().as_raw_fd();
    let readiness = sys::poll::wait_one(fd, true, false, timeout)
        .map_err(|e| LinkError::io("poll(POLLIN)", e))?;
    if readiness.error {
        if let Some(e) = sys::poll::take_socket_error(fd)
            .map_err(|e| LinkError::io("getsockopt(SO_ERROR)", e))?
        {
            return Err(LinkError::io("poll(POLLIN)", e));
        }
    }
    Ok(())
}

/// A fixed set of descriptors waited on for input, built once and reused for every wait
/// (nothing is allocated per wait).
///
/// The set keeps only descriptor numbers: the caller keeps the descriptors open for as
/// long as it waits on them (a closed one is reported ready, with an error, by the kernel).
#[derive(Debug, Clone, Default)]
pub struct PollSet {
    fds: Vec<libc::pollfd>,
}

impl PollSet {
    /// An empty set.
    pub fn new() -> PollSet {
        PollSet::default()
    }

    /// Adds `source` to the set, waited on for input; returns its position (the index
    /// [`PollSet::is_ready`] takes).
    pub fn add(&mut self, source: &impl AsFd) -> usize {
        self.fds.push(libc::pollfd {
            fd: source.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        self.fds.len() - 1
    }

    /// How many descriptors the set holds.
    pub fn len(&self) -> usize {
        self.fds.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.fds.is_empty()
    }

    /// Waits up to `timeout` (rounded up to a whole millisecond) until some descriptor of
    /// the set has input, an error or a hang-up. Returns how many have; 0 when the time ran
    /// out or a signal interrupted the wait.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<usize> {
        for fd in &mut self.fds {
            fd.revents = 0;
        }
        sys::poll::poll(&mut self.fds, timeout)
    }

    /// Whether the descriptor at `index` had input (or an error, or a hang-up) at the last
    /// [`PollSet::wait`]; false for an index out of the set.
    pub fn is_ready(&self, index: usize) -> bool {
        self.fds.get(index).is_some_and(|fd| fd.revents != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_pipe_wakes_the_set_and_a_quiet_one_does_not() {
        let (quiet_reader, _quiet_writer) = std::io::pipe().unwrap();
        let (reader, mut writer) = std::io::pipe().unwrap();
        let mut set = PollSet::new();
        assert_eq!(set.add(&quiet_reader), 0);
        assert_eq!(set.add(&reader), 1);
        assert_eq!(set.len(), 2);
        assert_eq!(set.wait(Duration::from_millis(1)).unwrap(), 0);
        assert!(!set.is_ready(1));
        writer.write_all(b"x").unwrap();
        assert_eq!(set.wait(Duration::from_secs(5)).unwrap(), 1);
        assert!(!set.is_ready(0));
        assert!(set.is_ready(1));
        assert!(!set.is_ready(2));
    }
}

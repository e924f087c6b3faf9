//! Moving the calling thread into a network namespace.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// Moves the calling thread (only it) into the network namespace `ns`, an open namespace
/// file such as `/run/netns/<name>` or `/proc/<pid>/ns/net`. Sockets the thread creates
/// afterwards belong to that namespace; sockets it already has keep theirs.
pub(crate) fn enter(ns: &File) -> io::Result<()> {
    // SAFETY: setns reads only its two integer arguments; the descriptor is open for the
    // duration of the call because `ns` is borrowed.
    let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

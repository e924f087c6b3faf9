//! Waiting on several descriptors at once: `poll(2)`.

use std::io;
use std::time::Duration;

/// Waits up to `timeout` (rounded up to a millisecond; at most `i32::MAX` ms) until one of
/// `fds` has one of its `events`; the kernel fills each `revents`. Returns how many have
/// some; 0 on timeout or when a signal interrupted the wait.
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<usize> {
    let count = libc::nfds_t::try_from(fds.len())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut ms = timeout.as_millis();
    if Duration::from_millis(ms as u64) < timeout {
        ms += 1;
    }
    let ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fds` is a live, initialised slice of exactly `count` pollfd structures,
    // borrowed mutably for the call, in which the kernel writes only the `revents` fields.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), count, ms) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        return if err.kind() == io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(err)
        };
    }
    Ok(usize::try_from(rc).unwrap_or(0))
}

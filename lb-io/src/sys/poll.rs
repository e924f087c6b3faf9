//! Waiting on several descriptors at once (`poll(2)`), or on one socket (`ppoll(2)`), and a
//! socket's pending error (`SO_ERROR`): what the AF_PACKET and AF_XDP sockets share.

use std::io;
use std::mem::size_of;
use std::os::fd::RawFd;
use std::time::Duration;

use libc::{c_int, c_void, socklen_t};

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

/// What a wait on one socket found ([`wait_one`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Readiness {
    /// Readable: a frame waits in the RX ring (POLLIN).
    pub(crate) readable: bool,
    /// Writable: the TX ring has room (POLLOUT).
    pub(crate) writable: bool,
    /// The socket has a pending error (POLLERR), to be read with [`take_socket_error`].
    pub(crate) error: bool,
}

/// Waits up to `timeout` until socket `fd` is readable (if `read`) or writable (if
/// `write`), or has an error. An interrupted wait reports nothing ready.
pub(crate) fn wait_one(
    fd: RawFd,
    read: bool,
    write: bool,
    timeout: Duration,
) -> io::Result<Readiness> {
    let mut events: libc::c_short = 0;
    if read {
        events |= libc::POLLIN;
    }
    if write {
        events |= libc::POLLOUT;
    }
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos().min(999_999_999) as i32),
    };
    // SAFETY: `pfd` is one live pollfd and `ts` a live timespec, both borrowed for the
    // call; a null signal mask leaves the mask unchanged.
    let rc = unsafe { libc::ppoll(&mut pfd, 1, &ts, std::ptr::null()) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        return if err.kind() == io::ErrorKind::Interrupted {
            Ok(Readiness::default())
        } else {
            Err(err)
        };
    }
    Ok(Readiness {
        readable: pfd.revents & libc::POLLIN != 0,
        writable: pfd.revents & libc::POLLOUT != 0,
        error: pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0,
    })
}

/// Takes socket `fd`'s pending error (SO_ERROR), if there is one.
pub(crate) fn take_socket_error(fd: RawFd) -> io::Result<Option<io::Error>> {
    let mut code: c_int = 0;
    let mut len = size_of::<c_int>() as socklen_t;
    // SAFETY: `code` and `len` are live and writable for the call; the kernel writes at
    // most `len` bytes into `code`.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            (&mut code as *mut c_int).cast::<c_void>(),
            &mut len,
        )
    };
    check(rc)?;
    Ok((code != 0).then(|| io::Error::from_raw_os_error(code)))
}

/// The result of a system call returning -1 on error.
fn check(rc: c_int) -> io::Result<c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

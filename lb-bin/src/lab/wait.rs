//! Bounded waits: for a TCP port to accept inside a namespace, for a unix socket to accept,
//! for any condition.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use super::error::{LabError, Result};
use super::namespace::Namespace;

/// How long to sleep between two looks.
const POLL: Duration = Duration::from_millis(20);

/// Calls `ready` until it returns true; an error saying `what` did not happen when
/// `timeout` passes first.
pub fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    loop {
        if ready() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(LabError::new(format!("{what}: not within {timeout:?}")));
        }
        std::thread::sleep(POLL);
    }
}

/// Waits until a TCP connection to `addr` from inside `namespace` succeeds (and closes it).
pub fn wait_for_tcp(namespace: &Namespace, addr: SocketAddr, timeout: Duration) -> Result<()> {
    namespace.run_in(|| {
        wait_until(
            &format!("{}: {addr} accepting TCP connections", namespace.name()),
            timeout,
            || TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok(),
        )
    })?
}

/// Waits until a connection to the unix stream socket at `path` succeeds (and closes it).
pub fn wait_for_unix_socket(path: &Path, timeout: Duration) -> Result<()> {
    wait_until(
        &format!("{} accepting connections", path.display()),
        timeout,
        || UnixStream::connect(path).is_ok(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn wait_until_is_bounded() {
        let start = Instant::now();
        let error = wait_until("never", Duration::from_millis(100), || false).unwrap_err();
        assert_eq!(error.message(), "never: not within 100ms");
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn wait_until_returns_once_ready() {
        let mut calls = 0;
        wait_until("third call", Duration::from_secs(5), || {
            calls += 1;
            calls == 3
        })
        .unwrap();
        assert_eq!(calls, 3);
    }

    #[test]
    fn unix_sockets_are_waited_for() {
        let dir = super::super::TempDir::new("lbwait").unwrap();
        let path = dir.path().join("sock");
        assert!(wait_for_unix_socket(&path, Duration::from_millis(100)).is_err());
        let _listener = UnixListener::bind(&path).unwrap();
        wait_for_unix_socket(&path, Duration::from_secs(5)).unwrap();
    }
}

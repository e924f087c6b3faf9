//! The control socket: a Unix stream socket (mode 0600) on which `lb ipvsadm` sends one
//! invocation per connection ([`protocol`](super::protocol)). One thread serves the
//! connections one after the other, so invocations never interleave.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lb_io::link::PollSet;

use super::log;
use super::protocol::{read_request, write_response, Request, Response};
use super::waker::Wakeup;

/// How long a client may take to send its request or read the answer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait between two looks at the stop flag.
const TICK: Duration = Duration::from_millis(500);

/// A listening control socket; its file is removed on drop.
#[derive(Debug)]
pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
}

fn in_use() -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        "another director is listening there",
    )
}

impl ControlServer {
    /// Listens at `path` (its directory created if missing), mode 0600. A stale socket
    /// file (nobody listening) is replaced; a live one, or another kind of file, is an
    /// error.
    pub fn bind(path: &Path) -> io::Result<ControlServer> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&dir)?;
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => {
                if UnixStream::connect(path).is_ok() {
                    return Err(in_use());
                }
            }
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "exists and is not a socket",
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        // Bound under a private name and renamed once it is 0600: nobody can connect
        // through a wider mode in between.
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let _ = fs::remove_file(&tmp);
        let listener = UnixListener::bind(&tmp)?;
        let placed = fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))
            .and_then(|()| fs::rename(&tmp, path));
        if let Err(e) = placed {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        listener.set_nonblocking(true)?;
        Ok(ControlServer {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves connections until `stop` is set (looked at after every connection, every
    /// wake-up and at least twice a second), answering each request with `handle`.
    pub fn serve(
        &self,
        stop: &AtomicBool,
        wakeup: &Wakeup,
        handle: &mut dyn FnMut(Request) -> Response,
    ) {
        let mut set = PollSet::new();
        let listener_at = set.add(&self.listener);
        set.add(wakeup);
        while !stop.load(Ordering::Acquire) {
            if let Err(e) = set.wait(TICK) {
                log::error!("control socket: poll: {e}");
                std::thread::sleep(TICK);
                continue;
            }
            wakeup.drain();
            if !set.is_ready(listener_at) {
                continue;
            }
            loop {
                match self.listener.accept() {
                    Ok((stream, _)) => serve_one(stream, handle),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        log::error!("control socket: accept: {e}");
                        break;
                    }
                }
                if stop.load(Ordering::Acquire) {
                    break;
                }
            }
        }
    }
}

/// One connection: a request read, answered.
fn serve_one(mut stream: UnixStream, handle: &mut dyn FnMut(Request) -> Response) {
    let setup = stream
        .set_nonblocking(false)
        .and_then(|()| stream.set_read_timeout(Some(CLIENT_TIMEOUT)))
        .and_then(|()| stream.set_write_timeout(Some(CLIENT_TIMEOUT)));
    if let Err(e) = setup {
        log::warning!("control socket: {e}");
        return;
    }
    let request = match read_request(&mut stream) {
        Ok(r) => r,
        Err(e) => {
            log::debug!("control socket: a bad request: {e}");
            return;
        }
    };
    let response = handle(request);
    if let Err(e) = write_response(&mut stream, &response) {
        log::debug!("control socket: the client left before the answer: {e}");
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

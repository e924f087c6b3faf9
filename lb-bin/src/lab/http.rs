//! A minimal HTTP/1.0 responder and client, so that the demo needs no web server and no
//! curl: the responder answers every request with `200 OK` and a fixed body (naming its
//! server); the client sends one `GET /` per connection and reads the reply to the end.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::error::{LabError, Result};
use super::namespace::Namespace;

/// The most request bytes read before the responder gives up on a request.
const MAX_REQUEST: usize = 16 * 1024;
/// How long either side waits for the other's bytes.
const IO_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the responder looks at its stop flag while no connection arrives.
const ACCEPT_POLL: Duration = Duration::from_millis(10);

/// An HTTP responder on a thread inside a namespace; stops when dropped.
#[derive(Debug)]
pub struct HttpResponder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    served: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl HttpResponder {
    /// Listens on `addr` inside `namespace` (returns once the socket listens) and answers
    /// each request with `HTTP/1.0 200 OK` and `body`.
    pub fn start(namespace: &Namespace, addr: SocketAddr, body: &str) -> Result<HttpResponder> {
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let name = namespace.name().to_string();
        let response = response_bytes(body);
        let (stop_flag, count) = (Arc::clone(&stop), Arc::clone(&served));
        let thread = namespace.serve_in(
            move || {
                let listener =
                    TcpListener::bind(addr).map_err(|e| format!("{name}: binding {addr}: {e}"))?;
                listener
                    .set_nonblocking(true)
                    .map_err(|e| format!("{name}: {e}"))?;
                Ok(listener)
            },
            move |listener| serve(&listener, &response, &stop_flag, &count),
            || format!("HTTP responder for {addr} died"),
        )?;
        Ok(HttpResponder {
            addr,
            stop,
            served,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many requests it has answered.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::Relaxed)
    }
}

impl Drop for HttpResponder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The bytes of the one response: status line, headers, body.
fn response_bytes(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn serve(listener: &TcpListener, response: &[u8], stop: &AtomicBool, served: &AtomicU64) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                if answer(stream, response).is_ok() {
                    served.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(ACCEPT_POLL);
            }
            Err(_) => std::thread::sleep(ACCEPT_POLL),
        }
    }
}

/// Reads one request's head (up to the blank line), writes the response and closes. The
/// whole request is read first, so that closing does not reset the connection.
fn answer(mut stream: TcpStream, response: &[u8]) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut request = Vec::new();
    let mut chunk = [0u8; 2048];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk)?;
        if n == 0 || request.len() + n > MAX_REQUEST {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "incomplete request",
            ));
        }
        request.extend_from_slice(&chunk[..n]);
    }
    stream.write_all(response)?;
    stream.shutdown(std::net::Shutdown::Write)?;
    // Wait for the client's close, so that the server's FIN is acknowledged before the
    // socket goes away.
    let _ = stream.read(&mut chunk);
    Ok(())
}

/// An HTTP reply: the status code and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The status code (200, …).
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

/// Sends `GET /` to `addr` on a new connection and reads the reply to its end (the server
/// closes). Connecting, and each read and write, are bounded by `timeout`. Call it from a
/// thread inside the client's namespace.
pub fn http_get(addr: SocketAddr, timeout: Duration) -> Result<HttpReply> {
    let io = |e: std::io::Error| LabError::new(format!("GET http://{addr}/: {e}"));
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(io)?;
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let request = format!("GET / HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: lb-demo\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut reply = Vec::new();
    stream
        .take(MAX_REQUEST as u64)
        .read_to_end(&mut reply)
        .map_err(io)?;
    parse_reply(&reply).map_err(|e| LabError::new(format!("GET http://{addr}/: {e}")))
}

/// Parses an HTTP/1.x response: status line, headers, blank line, body.
pub fn parse_reply(bytes: &[u8]) -> Result<HttpReply> {
    let text = String::from_utf8_lossy(bytes);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| LabError::new(format!("incomplete reply ({} bytes)", bytes.len())))?;
    let status_line = head.lines().next().unwrap_or_default();
    let mut words = status_line.split_whitespace();
    let status = match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => code.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| LabError::new(format!("bad status line `{status_line}'")))?;
    Ok(HttpReply {
        status,
        body: body.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_parsed() {
        assert_eq!(
            parse_reply(b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nrs1\n").unwrap(),
            HttpReply {
                status: 200,
                body: "rs1\n".to_string()
            }
        );
        assert_eq!(
            parse_reply(b"HTTP/1.1 404 Not Found\r\n\r\n").unwrap(),
            HttpReply {
                status: 404,
                body: String::new()
            }
        );
        assert_eq!(
            parse_reply(b"HTTP/1.0 200 OK\r\n").unwrap_err().message(),
            "incomplete reply (17 bytes)"
        );
        assert_eq!(
            parse_reply(b"SSH-2.0\r\n\r\n").unwrap_err().message(),
            "bad status line `SSH-2.0'"
        );
    }

    #[test]
    fn the_response_names_its_length() {
        assert_eq!(
            response_bytes("rs2 198.18.2.12\n"),
            b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\nrs2 198.18.2.12\n"
        );
    }

    #[test]
    fn responder_and_client_talk_over_loopback() {
        // Without root there is no namespace to make: run the responder loop in this
        // namespace on an ephemeral port.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicU64::new(0));
        let server = {
            let (stop, served) = (Arc::clone(&stop), Arc::clone(&served));
            std::thread::spawn(move || serve(&listener, &response_bytes("rs1\n"), &stop, &served))
        };
        for _ in 0..3 {
            let reply = http_get(addr, Duration::from_secs(3)).unwrap();
            assert_eq!(
                reply,
                HttpReply {
                    status: 200,
                    body: "rs1\n".to_string()
                }
            );
        }
        stop.store(true, Ordering::Relaxed);
        server.join().unwrap();
        assert_eq!(served.load(Ordering::Relaxed), 3);
    }
}

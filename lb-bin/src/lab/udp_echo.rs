//! A UDP echo on a thread inside a namespace: each datagram comes back prefixed with the
//! server's name (`rs1: hello`), so a client sees which real server answered.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::error::{LabError, Result};
use super::namespace::Namespace;

/// How long one receive waits before the stop flag is looked at again.
const RECV_POLL: Duration = Duration::from_millis(20);

/// A UDP echo server; stops when dropped.
#[derive(Debug)]
pub struct UdpEcho {
    stop: Arc<AtomicBool>,
    echoed: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl UdpEcho {
    /// Binds `addr` inside `namespace` (returns once bound) and echoes every datagram
    /// prefixed with `NAME: `. Bind the address clients send to (the VIP for DR and TUN),
    /// so that replies leave from it.
    pub fn start(namespace: &Namespace, addr: SocketAddr, name: &str) -> Result<UdpEcho> {
        let stop = Arc::new(AtomicBool::new(false));
        let echoed = Arc::new(AtomicU64::new(0));
        let ns = namespace.name().to_string();
        let prefix = format!("{name}: ").into_bytes();
        let (stop_flag, count) = (Arc::clone(&stop), Arc::clone(&echoed));
        let thread = namespace.serve_in(
            move || {
                let socket =
                    UdpSocket::bind(addr).map_err(|e| format!("{ns}: binding udp {addr}: {e}"))?;
                socket
                    .set_read_timeout(Some(RECV_POLL))
                    .map_err(|e| format!("{ns}: {e}"))?;
                Ok(socket)
            },
            move |socket| echo(&socket, &prefix, &stop_flag, &count),
            || format!("UDP echo on {addr} died"),
        )?;
        Ok(UdpEcho {
            stop,
            echoed,
            thread: Some(thread),
        })
    }

    /// How many datagrams it has answered.
    pub fn echoed(&self) -> u64 {
        self.echoed.load(Ordering::Relaxed)
    }
}

impl Drop for UdpEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn echo(socket: &UdpSocket, prefix: &[u8], stop: &AtomicBool, echoed: &AtomicU64) {
    let mut buf = [0u8; 2048];
    while !stop.load(Ordering::Relaxed) {
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let mut reply = prefix.to_vec();
            reply.extend_from_slice(&buf[..n]);
            if socket.send_to(&reply, from).is_ok() {
                echoed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Sends `payload` to `addr` from a new socket (a new source port, so a new connection
/// for the director) and returns the reply as text; bounded by `timeout`. Call it from a
/// thread inside the client's namespace.
pub fn udp_request(addr: SocketAddr, payload: &str, timeout: Duration) -> Result<String> {
    let io = |e: std::io::Error| LabError::new(format!("udp {addr}: {e}"));
    let socket = UdpSocket::bind("0.0.0.0:0").map_err(io)?;
    socket.connect(addr).map_err(io)?;
    socket.set_read_timeout(Some(timeout)).map_err(io)?;
    socket.send(payload.as_bytes()).map_err(io)?;
    let mut buf = [0u8; 2048];
    let n = socket.recv(&mut buf).map_err(io)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_come_back_prefixed() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(RECV_POLL)).unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let echoed = Arc::new(AtomicU64::new(0));
        let server = {
            let (stop, echoed) = (Arc::clone(&stop), Arc::clone(&echoed));
            std::thread::spawn(move || echo(&socket, b"rs2: ", &stop, &echoed))
        };
        assert_eq!(
            udp_request(addr, "hello", Duration::from_secs(3)).unwrap(),
            "rs2: hello"
        );
        assert_eq!(
            udp_request(addr, "again", Duration::from_secs(3)).unwrap(),
            "rs2: again"
        );
        stop.store(true, Ordering::Relaxed);
        server.join().unwrap();
        assert_eq!(echoed.load(Ordering::Relaxed), 2);
    }
}

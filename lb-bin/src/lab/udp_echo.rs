//! A UDP echo on a thread inside a namespace: each datagram comes back prefixed with the
//! server's name (`rs1: hello`), so a client sees which real server answered.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use lb_io::link::netns;

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
        let (bound_tx, bound_rx) = mpsc::channel();
        let ns = namespace.name().to_string();
        let prefix = format!("{name}: ").into_bytes();
        let thread = {
            let (stop, echoed) = (Arc::clone(&stop), Arc::clone(&echoed));
            std::thread::spawn(move || {
                let socket = netns::enter_named(&ns)
                    .map_err(|e| format!("entering namespace {ns}: {e}"))
                    .and_then(|()| {
                        UdpSocket::bind(addr).map_err(|e| format!("{ns}: binding udp {addr}: {e}"))
                    })
                    .and_then(|socket| {
                        socket
                            .set_read_timeout(Some(RECV_POLL))
                            .map(|()| socket)
                            .map_err(|e| format!("{ns}: {e}"))
                    });
                match socket {
                    Ok(socket) => {
                        let _ = bound_tx.send(Ok(()));
                        echo(&socket, &prefix, &stop, &echoed);
                    }
                    Err(message) => {
                        let _ = bound_tx.send(Err(message));
                    }
                }
            })
        };
        match bound_rx.recv() {
            Ok(Ok(())) => Ok(UdpEcho {
                stop,
                echoed,
                thread: Some(thread),
            }),
            Ok(Err(message)) => {
                let _ = thread.join();
                Err(LabError::new(message))
            }
            Err(_) => {
                let _ = thread.join();
                Err(LabError::new(format!("UDP echo on {addr} died")))
            }
        }
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

//! A TCP proxy's accept loop that picks its backend with IPVS's wlc scheduler.
//!
//! Run it with `cargo run -p lb-core --example proxy_accept`. It starts two backends on
//! loopback (weights 2 and 1), a proxy in front of them, and twelve clients that each hold
//! their connection open for a moment; then it prints which backend served each client and
//! the counters. The proxy tells lb-core when a connection opens (`bind`) and when it closes
//! (`unbind`), so wlc sees the real load, exactly as kernel IPVS would.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use lb_core::{
    ConnKind, DestConf, Family, FwdMethod, Ipvs, Protocol, SchedInput, ServiceConf, ServiceKey,
};

/// A backend that answers every connection with its own name, after a short pause.
fn backend(name: &'static str) -> std::io::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let addr = l.local_addr()?;
    thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                let _ = s.write_all(name.as_bytes());
            });
        }
    });
    Ok(addr)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a = backend("backend-a (weight 2)")?;
    let b = backend("backend-b (weight 1)")?;
    let proxy = TcpListener::bind("127.0.0.1:0")?;
    let vip = proxy.local_addr()?;

    // The IPVS model: one TCP service with wlc, two real servers.
    let key = ServiceKey::Addr {
        proto: Protocol::Tcp,
        addr: vip.ip(),
        port: vip.port(),
    };
    let mut ipvs = Ipvs::new();
    ipvs.add_service(key, ServiceConf::with_scheduler(Family::V4, "wlc"))?;
    for (addr, weight) in [(a, 2), (b, 1)] {
        let conf = DestConf {
            method: FwdMethod::Masq,
            weight,
            ..DestConf::default()
        };
        ipvs.add_dest(&key, addr.ip(), addr.port(), conf)?;
    }
    let ipvs = Arc::new(Mutex::new(ipvs));

    const CLIENTS: usize = 12;
    let proxy_ipvs = Arc::clone(&ipvs);
    let accept_loop = thread::spawn(move || {
        for _ in 0..CLIENTS {
            let Ok((mut client, peer)) = proxy.accept() else {
                continue;
            };
            // Pick a backend and count the connection on it.
            let (backend, id) = {
                let mut ipvs = proxy_ipvs.lock().unwrap();
                let svc = ipvs.service_mut(&key).unwrap();
                let input = SchedInput::tcp((peer.ip(), peer.port()), (vip.ip(), vip.port()));
                let Some(pos) = svc.schedule(&input) else {
                    continue;
                };
                svc.bind(pos, ConnKind::Active);
                let d = svc.dests().get(pos).unwrap();
                (SocketAddr::new(d.addr(), d.port()), d.id())
            };
            let ipvs = Arc::clone(&proxy_ipvs);
            thread::spawn(move || {
                if let Ok(mut up) = TcpStream::connect(backend) {
                    let mut reply = Vec::new();
                    let _ = up.read_to_end(&mut reply);
                    let _ = client.write_all(&reply);
                }
                // The connection is over: tell the scheduler.
                ipvs.lock().unwrap().unbind(&key, id, ConnKind::Active);
            });
        }
    });

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            thread::sleep(Duration::from_millis(5));
            thread::spawn(move || {
                let mut s = TcpStream::connect(vip).unwrap();
                let mut reply = String::new();
                s.read_to_string(&mut reply).unwrap();
                (i, reply)
            })
        })
        .collect();
    for c in clients {
        let (i, reply) = c.join().unwrap();
        println!("client {i:2} served by {reply}");
    }
    accept_loop.join().unwrap();
    thread::sleep(Duration::from_millis(20));
    let ipvs = ipvs.lock().unwrap();
    for d in ipvs.service(&key).unwrap().dests().iter() {
        println!(
            "{}: active {} inactive {}",
            SocketAddr::new(d.addr(), d.port()),
            d.active_conns(),
            d.inactive_conns()
        );
    }
    Ok(())
}

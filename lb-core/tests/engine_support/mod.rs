//! Helpers shared by the engine tests: building an engine from ipvsadm command lines,
//! packets, times.
#![allow(dead_code)]

use std::net::IpAddr;

use lb_core::engine::{Engine, EngineConfig, PacketMeta, Settings};
use lb_core::proto::tcp;
use lb_core::{ipvsadm, Ipvs, Time};

/// An engine configured by `ipvsadm` command lines (without the program name).
pub fn engine(commands: &[&str], settings: Settings) -> Engine {
    let e = Engine::new(Ipvs::new(), settings, EngineConfig::default());
    run(&e, commands);
    e
}

/// Applies `ipvsadm` command lines to a running engine.
pub fn run(e: &Engine, commands: &[&str]) {
    for line in commands {
        let args: Vec<&str> = line.split_whitespace().collect();
        let cmd = ipvsadm::parse(&args).unwrap_or_else(|err| panic!("{line}: {err:?}"));
        e.configure(|ipvs| ipvsadm::apply(ipvs, &cmd))
            .unwrap_or_else(|err| panic!("{line}: {err}"));
    }
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

pub fn ep(s: &str) -> (IpAddr, u16) {
    let sa: std::net::SocketAddr = s.parse().unwrap();
    (sa.ip(), sa.port())
}

pub fn at(secs: f64) -> Time {
    Time::from_millis((secs * 1000.0).round() as u64)
}

pub const SYN: u8 = tcp::SYN;
pub const ACK: u8 = tcp::ACK;
pub const FIN: u8 = tcp::FIN;
pub const RST: u8 = tcp::RST;
pub const PSH: u8 = 0x08;

pub fn tcp(src: &str, dst: &str, flags: u8) -> PacketMeta {
    PacketMeta::tcp(ep(src), ep(dst), flags, 60)
}

pub fn udp(src: &str, dst: &str) -> PacketMeta {
    PacketMeta::udp(ep(src), ep(dst), 100)
}

pub fn sctp_pkt(src: &str, dst: &str, chunk: u8) -> PacketMeta {
    PacketMeta::sctp(ep(src), ep(dst), chunk, 80)
}

/// (ActiveConn, InActConn, PersistConn) of real server `rs` (addr:port) of service `svc`
/// (an ipvsadm service option pair such as "-t 198.18.0.1:80").
pub fn counts(e: &Engine, svc: &str, rs: &str) -> (u32, u32, u32) {
    let key = service_key(svc);
    let (addr, port) = ep(rs);
    e.read(|ipvs, _| {
        let s = ipvs.service(&key).expect("service");
        let d = s
            .dests()
            .iter()
            .find(|d| d.addr() == addr && d.port() == port)
            .expect("dest");
        (d.active_conns(), d.inactive_conns(), d.persistent_conns())
    })
}

/// Whether real server `rs` of service `svc` is OVERLOADed.
pub fn overloaded(e: &Engine, svc: &str, rs: &str) -> bool {
    let key = service_key(svc);
    let (addr, port) = ep(rs);
    e.read(|ipvs, _| {
        let s = ipvs.service(&key).expect("service");
        s.dests()
            .iter()
            .find(|d| d.addr() == addr && d.port() == port)
            .expect("dest")
            .is_overloaded()
    })
}

/// The service key of "-t ADDR:PORT", "-u …", "--sctp-service …" or "-f MARK".
pub fn service_key(svc: &str) -> lb_core::ServiceKey {
    let mut args: Vec<&str> = vec!["-D"];
    args.extend(svc.split_whitespace());
    match ipvsadm::parse(&args).unwrap() {
        ipvsadm::Command::DelService { key } => key,
        other => panic!("{other:?}"),
    }
}

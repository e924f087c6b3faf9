//! The test lab of design.md: hosts made of network namespaces and veth pairs, addresses
//! from 198.18.0.0/15 only, everything removed when dropped (also when a test panics), and
//! every wait bounded in time.
//!
//! - [`Namespace`]: a uniquely named network namespace (`PREFIX-PID-COUNTER-ROLE`);
//!   commands inside it, threads inside it, sysctls, addresses, routes; [`veth`] pairs.
//! - [`LabProcess`]: a child process (in a namespace or not) whose output is collected and
//!   which is ended with SIGTERM, then SIGKILL, on drop.
//! - [`Lab`]: the NAT, DR and TUN topologies with a client, a director and real servers.
//! - [`Director`]: `lb director` in a lab, and `lb ipvsadm` aimed at it.
//! - [`Capture`]: tcpdump on the veth ends facing the director, counting the TCP resets
//!   and ICMP messages it sends.
//! - [`HttpResponder`], [`http_get`], [`UdpEcho`], [`udp_request`]: built-in servers and
//!   clients (the demo needs no web server and no curl).
//! - [`wait_until`], [`wait_for_tcp`], [`wait_for_unix_socket`]: bounded waits.
//!
//! Everything here needs root (see [`running_as_root`]).

pub mod capture;
pub mod command;
pub mod director;
pub mod error;
pub mod http;
pub mod namespace;
pub mod process;
pub mod realserver;
pub mod tempdir;
pub mod topology;
pub mod udp_echo;
pub mod wait;

pub use capture::{Capture, CaptureSummary};
pub use command::{find_program, require_program, run};
pub use director::{Director, IpvsadmOutput};
pub use error::{LabError, Result};
pub use http::{http_get, HttpReply, HttpResponder};
pub use namespace::{sweep_stale, veth, Namespace};
pub use process::{LabProcess, Stopped};
pub use tempdir::TempDir;
pub use topology::{DirectorInterface, Lab, LabOptions, Mode, RealServer};
pub use udp_echo::{udp_request, UdpEcho};
pub use wait::{wait_for_tcp, wait_for_unix_socket, wait_until};

/// Whether the process runs as root, which building a lab needs.
pub fn running_as_root() -> bool {
    lb_io::link::netns::running_as_root()
}

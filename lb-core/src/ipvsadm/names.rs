//! Host and service names, and how ipvsadm writes addresses.
//!
//! ipvsadm resolves names with the C library (`gethostbyname`, `getservbyname`,
//! `gethostbyaddr`, `getservbyport`). lb-core does no I/O, so those four look-ups go through
//! [`Resolver`], which a caller implements (with a DNS client, `/etc/hosts`, …) or not:
//! [`NumericOnly`] knows no name at all, [`WellKnownServices`] knows the port names of the
//! common services and no host names.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::service::Protocol;

/// The four name look-ups ipvsadm makes. Every method defaults to "not found".
pub trait Resolver {
    /// `gethostbyname`: the first IPv4 address of a host name (used when parsing).
    fn host_to_addr(&self, name: &str) -> Option<Ipv4Addr> {
        let _ = name;
        None
    }
    /// `getservbyname`: the port of a service name for a protocol (used when parsing).
    fn service_to_port(&self, name: &str, proto: Protocol) -> Option<u16> {
        let _ = (name, proto);
        None
    }
    /// `gethostbyaddr`: the name of an address (used by listings without `-n`).
    fn addr_to_host(&self, addr: IpAddr) -> Option<String> {
        let _ = addr;
        None
    }
    /// `getservbyport`: the name of a port for a protocol (used by listings without `-n`).
    fn port_to_service(&self, port: u16, proto: Protocol) -> Option<String> {
        let _ = (port, proto);
        None
    }
}

/// Knows no name: listings without `-n` come out numeric, and only numeric hosts and ports
/// are accepted on a command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NumericOnly;

impl Resolver for NumericOnly {}

/// Knows the names of common ports, as Debian's `/etc/services` (netbase) has them, and no
/// host names. [`super::parse`] uses it, so `-t 198.18.0.1:http` is accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WellKnownServices;

/// (official name, port, tcp, udp, sctp, aliases), in `/etc/services` order.
type ServiceEntry = (&'static str, u16, bool, bool, bool, &'static [&'static str]);

const SERVICES: &[ServiceEntry] = &[
    ("ftp-data", 20, true, false, false, &[]),
    ("ftp", 21, true, false, false, &[]),
    ("ssh", 22, true, false, false, &[]),
    ("telnet", 23, true, false, false, &[]),
    ("smtp", 25, true, false, false, &["mail"]),
    ("domain", 53, true, true, false, &[]),
    ("tftp", 69, false, true, false, &[]),
    ("http", 80, true, false, false, &["www"]),
    (
        "kerberos",
        88,
        true,
        true,
        false,
        &["kerberos5", "krb5", "kerberos-sec"],
    ),
    ("pop3", 110, true, false, false, &["pop-3"]),
    ("sunrpc", 111, true, true, false, &["portmapper"]),
    ("ntp", 123, false, true, false, &[]),
    ("imap2", 143, true, false, false, &["imap"]),
    ("snmp", 161, false, true, false, &[]),
    ("ldap", 389, true, false, false, &[]),
    ("https", 443, true, true, false, &[]),
    ("syslog", 514, false, true, false, &[]),
    ("submission", 587, true, false, false, &[]),
    ("ldaps", 636, true, false, false, &[]),
    ("imaps", 993, true, false, false, &[]),
    ("pop3s", 995, true, false, false, &[]),
    ("openvpn", 1194, true, true, false, &[]),
    ("mysql", 3306, true, false, false, &[]),
    ("sip", 5060, true, true, false, &[]),
    ("sip-tls", 5061, true, true, false, &[]),
    ("postgresql", 5432, true, false, false, &["postgres"]),
    ("redis", 6379, true, false, false, &[]),
    ("http-alt", 8080, true, false, false, &["webcache"]),
];

fn serves(entry: &ServiceEntry, proto: Protocol) -> bool {
    match proto {
        Protocol::Tcp => entry.2,
        Protocol::Udp => entry.3,
        Protocol::Sctp => entry.4,
    }
}

impl Resolver for WellKnownServices {
    fn service_to_port(&self, name: &str, proto: Protocol) -> Option<u16> {
        SERVICES
            .iter()
            .find(|e| serves(e, proto) && (e.0 == name || e.5.contains(&name)))
            .map(|e| e.1)
    }
    fn port_to_service(&self, port: u16, proto: Protocol) -> Option<String> {
        SERVICES
            .iter()
            .find(|e| serves(e, proto) && e.1 == port)
            .map(|e| e.0.to_string())
    }
}

/// glibc `inet_ntop(AF_INET6, …)`: the longest run (the first of equal runs) of two or more
/// zero groups becomes `::`; IPv4-compatible (`::a.b.c.d`) and IPv4-mapped
/// (`::ffff:a.b.c.d`) addresses end in dotted decimal.
pub fn inet_ntop6(addr: &Ipv6Addr) -> String {
    let words = addr.segments();
    let (mut best_base, mut best_len) = (None::<usize>, 0usize);
    let (mut cur_base, mut cur_len) = (None::<usize>, 0usize);
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            if cur_base.is_none() {
                cur_base = Some(i);
                cur_len = 1;
            } else {
                cur_len += 1;
            }
        } else if let Some(b) = cur_base {
            if best_base.is_none() || cur_len > best_len {
                best_base = Some(b);
                best_len = cur_len;
            }
            cur_base = None;
        }
    }
    if let Some(b) = cur_base {
        if best_base.is_none() || cur_len > best_len {
            best_base = Some(b);
            best_len = cur_len;
        }
    }
    if best_len < 2 {
        best_base = None;
    }
    let mut out = String::new();
    let octets = addr.octets();
    for (i, w) in words.iter().enumerate() {
        if let Some(b) = best_base {
            if i >= b && i < b + best_len {
                if i == b {
                    out.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6
            && best_base == Some(0)
            && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))
        {
            out.push_str(
                &Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]).to_string(),
            );
            return out;
        }
        out.push_str(&format!("{w:x}"));
    }
    if let Some(b) = best_base {
        if b + best_len == 8 {
            out.push(':');
        }
    }
    out
}

/// `inet_ntop` for either family.
pub fn inet_ntop(addr: &IpAddr) -> String {
    match addr {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => inet_ntop6(a),
    }
}

/// The length of ipvsadm's `addrport_to_anyname` buffer, less its terminating NUL.
const ANYNAME_MAX: usize = 59;

/// Cuts `s` to at most `max` bytes (at a character boundary), as a C buffer cut would.
pub(crate) fn truncate_bytes(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// ipvsadm's `addrport_to_anyname`: `addr:port`, IPv6 in brackets; without `numeric` the
/// host and the port are named through `names` where they can be (ports only for TCP, UDP
/// and SCTP, i.e. when `proto` is known).
pub fn addrport_to_anyname(
    addr: &IpAddr,
    port: u16,
    proto: Option<Protocol>,
    numeric: bool,
    names: &dyn Resolver,
) -> String {
    let (open, close) = match addr {
        IpAddr::V4(_) => ("", ""),
        IpAddr::V6(_) => ("[", "]"),
    };
    let mut s = if numeric {
        format!("{open}{}{close}:{port}", inet_ntop(addr))
    } else {
        let host = names.addr_to_host(*addr).unwrap_or_else(|| inet_ntop(addr));
        let service = proto
            .and_then(|p| names.port_to_service(port, p))
            .unwrap_or_else(|| port.to_string());
        format!("{open}{host}{close}:{service}")
    };
    truncate_bytes(&mut s, ANYNAME_MAX);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntop6_like_glibc() {
        let f = |s: &str| inet_ntop6(&s.parse().unwrap());
        assert_eq!(f("::"), "::");
        assert_eq!(f("::1"), "::1");
        assert_eq!(f("::2"), "::2");
        assert_eq!(f("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(f("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(f("2001:db8::1"), "2001:db8::1");
        assert_eq!(f("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
        assert_eq!(f("2001:0:0:1:0:0:1:1"), "2001::1:0:0:1:1");
        assert_eq!(f("1:0:2:0:3:0:4:0"), "1:0:2:0:3:0:4:0");
        assert_eq!(f("fe80::"), "fe80::");
    }

    #[test]
    fn well_known_ports() {
        let w = WellKnownServices;
        assert_eq!(w.service_to_port("http", Protocol::Tcp), Some(80));
        assert_eq!(w.service_to_port("www", Protocol::Tcp), Some(80));
        assert_eq!(w.service_to_port("http", Protocol::Udp), None);
        assert_eq!(w.service_to_port("domain", Protocol::Udp), Some(53));
        assert_eq!(
            w.port_to_service(443, Protocol::Tcp).as_deref(),
            Some("https")
        );
        assert_eq!(w.port_to_service(81, Protocol::Tcp), None);
        assert_eq!(NumericOnly.service_to_port("http", Protocol::Tcp), None);
    }

    #[test]
    fn anyname() {
        let a: IpAddr = "198.18.0.1".parse().unwrap();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let w = WellKnownServices;
        assert_eq!(
            addrport_to_anyname(&a, 80, Some(Protocol::Tcp), true, &w),
            "198.18.0.1:80"
        );
        assert_eq!(
            addrport_to_anyname(&a, 80, Some(Protocol::Tcp), false, &w),
            "198.18.0.1:http"
        );
        assert_eq!(
            addrport_to_anyname(&a, 80, None, false, &w),
            "198.18.0.1:80"
        );
        assert_eq!(
            addrport_to_anyname(&b, 443, Some(Protocol::Tcp), false, &w),
            "[2001:db8::1]:https"
        );
    }
}

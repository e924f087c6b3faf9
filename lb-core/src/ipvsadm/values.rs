//! The C library conversions ipvsadm applies to its option values, reproduced exactly:
//! `strtol` (`string_to_number`, `parse_fwmark`), `atoi`, `inet_aton`, and ipvsadm's own
//! `parse_service` for `host[:port]` arguments.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::names::Resolver;
use crate::service::Protocol;

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// glibc `strtol(s, &end, 10)` on a 64-bit `long`: `Some((value, rest_is_empty))` when at
/// least one digit was read, `None` when no number was found or it overflowed (ERANGE).
fn strtol10(s: &str) -> Option<(i64, bool)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        negative = b[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while i < b.len() && b[i].is_ascii_digit() {
        let d = u64::from(b[i] - b'0');
        match magnitude.checked_mul(10).and_then(|m| m.checked_add(d)) {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start {
        return None;
    }
    let limit = if negative {
        i64::MAX as u64 + 1
    } else {
        i64::MAX as u64
    };
    if overflow || magnitude > limit {
        return None;
    }
    let value = if negative {
        (magnitude as i64).wrapping_neg()
    } else {
        magnitude as i64
    };
    Some((value, i == b.len()))
}

/// ipvsadm's `string_to_number`: the whole string must be a decimal number (leading blanks
/// and a sign allowed, as `strtol` takes them) within `min..=max`.
pub(crate) fn string_to_number(s: &str, min: i64, max: i64) -> Option<i64> {
    match strtol10(s) {
        Some((n, true)) if (min..=max).contains(&n) => Some(n),
        _ => None,
    }
}

/// ipvsadm's `parse_fwmark`: a decimal number in 1..=4294967295.
pub(crate) fn parse_fwmark(s: &str) -> Option<u32> {
    match strtol10(s) {
        Some((n, true)) if n >= 1 && n <= i64::from(u32::MAX) => Some(n as u32),
        _ => None,
    }
}

/// C's `atoi` on x86-64: `(int) strtol(s, NULL, 10)`, 0 when there is no number; an
/// overflowing value saturates to `LONG_MIN`/`LONG_MAX` before the truncation to `int`.
pub(crate) fn atoi(s: &str) -> i32 {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        negative = b[i] == b'-';
        i += 1;
    }
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while i < b.len() && b[i].is_ascii_digit() {
        let d = u64::from(b[i] - b'0');
        match magnitude.checked_mul(10).and_then(|m| m.checked_add(d)) {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
        i += 1;
    }
    let long = if negative {
        if overflow || magnitude > i64::MAX as u64 + 1 {
            i64::MIN
        } else {
            (magnitude as i64).wrapping_neg()
        }
    } else if overflow || magnitude > i64::MAX as u64 {
        i64::MAX
    } else {
        magnitude as i64
    };
    long as i32
}

/// One `strtoul(cp, &end, 0)` as glibc's `inet_aton` uses it: C number syntax (`0x` hex,
/// leading `0` octal, else decimal). Returns the value (saturated) and the bytes consumed.
fn strtoul_c(b: &[u8]) -> (u64, usize) {
    let (base, mut i) =
        if b.len() >= 3 && b[0] == b'0' && (b[1] | 0x20) == b'x' && b[2].is_ascii_hexdigit() {
            (16, 2)
        } else if !b.is_empty() && b[0] == b'0' {
            (8, 0)
        } else {
            (10, 0)
        };
    let mut v: u64 = 0;
    while i < b.len() {
        let d = match (b[i] as char).to_digit(base) {
            Some(d) => d,
            None => break,
        };
        v = v
            .saturating_mul(u64::from(base))
            .saturating_add(u64::from(d));
        i += 1;
    }
    (v, i)
}

/// glibc `inet_aton`: `a`, `a.b`, `a.b.c` or `a.b.c.d`, each part in C number syntax, the
/// last part filling the remaining bytes; anything after the number must start with a blank
/// (and is then ignored).
pub(crate) fn inet_aton(s: &str) -> Option<Ipv4Addr> {
    const MAX: [u64; 4] = [0xffff_ffff, 0x00ff_ffff, 0xffff, 0xff];
    let b = s.as_bytes();
    let mut bytes = [0u8; 4];
    let mut parts = 0usize;
    let mut i = 0;
    let last;
    loop {
        if i >= b.len() || !b[i].is_ascii_digit() {
            return None;
        }
        let (v, used) = strtoul_c(&b[i..]);
        if v > 0xffff_ffff {
            return None;
        }
        i += used;
        if i < b.len() && b[i] == b'.' {
            if parts > 2 || v > 0xff {
                return None;
            }
            bytes[parts] = v as u8;
            parts += 1;
            i += 1;
        } else {
            last = v;
            break;
        }
    }
    if i < b.len() && !is_c_space(b[i]) {
        return None;
    }
    if last > MAX[parts] {
        return None;
    }
    let word = u32::from_be_bytes(bytes) | last as u32;
    Some(Ipv4Addr::from(word))
}

/// glibc `inet_pton(AF_INET6, …)`.
pub(crate) fn inet_pton6(s: &str) -> Option<Ipv6Addr> {
    s.parse().ok()
}

/// glibc `inet_pton(AF_INET, …)`: exactly four decimal parts, no leading zeros.
pub(crate) fn inet_pton4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

/// What `parse_service` found in a `host[:port]` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HostPort {
    /// The address.
    pub addr: IpAddr,
    /// The port, when one was given.
    pub port: Option<u16>,
}

/// ipvsadm's `parse_service`: `[v6addr]:port`, a bare IPv6 address (no port), or
/// `v4host[:port]` where the host is `inet_aton` syntax or a name resolved through `names`
/// (IPv4 only), and the port a number 0..=65535 or a service name of protocol `proto`.
/// A string of digits only (or an empty string) is refused, as ipvsadm refuses it.
pub(crate) fn parse_service(
    buf: &str,
    proto: Option<Protocol>,
    names: &dyn Resolver,
) -> Option<HostPort> {
    if buf.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // `host` is the text before the port; `port_text` is what follows the separating colon.
    let mut host: &str = buf;
    let mut port_text: Option<&str> = None;
    if let Some(inner) = buf.strip_prefix('[') {
        let close = inner.find(']')?;
        let after = &inner[close + 1..];
        let p = after.strip_prefix(':')?;
        host = &inner[..close];
        port_text = Some(p);
    }
    let addr = if let Some(a6) = inet_pton6(host) {
        IpAddr::V6(a6)
    } else {
        // ipvsadm looks for the last colon again, in what is left of the buffer: for a
        // bracketed IPv4 address the port found above is lost (the buffer was cut at `]`).
        port_text = None;
        if let Some(colon) = host.rfind(':') {
            port_text = Some(&host[colon + 1..]);
            host = &host[..colon];
        }
        match inet_aton(host) {
            Some(a) => IpAddr::V4(a),
            None => IpAddr::V4(names.host_to_addr(host)?),
        }
    };
    let port = match port_text {
        None => None,
        Some(p) => match string_to_number(p, 0, 65535) {
            Some(n) => Some(n as u16),
            None => Some(names.service_to_port(p, proto?)?),
        },
    };
    Some(HostPort { addr, port })
}

/// ipvsadm's `parse_netmask` for IPv4: `inet_aton` syntax or a host name.
pub(crate) fn parse_netmask(buf: &str, names: &dyn Resolver) -> Option<Ipv4Addr> {
    inet_aton(buf).or_else(|| names.host_to_addr(buf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvsadm::names::NumericOnly;

    #[test]
    fn strtol_rules() {
        assert_eq!(string_to_number(" 42", 0, 100), Some(42));
        assert_eq!(string_to_number("+7", 0, 100), Some(7));
        assert_eq!(string_to_number("-0", 0, 100), Some(0));
        assert_eq!(string_to_number("", 0, 100), None);
        assert_eq!(string_to_number("4x", 0, 100), None);
        assert_eq!(string_to_number("101", 0, 100), None);
        assert_eq!(string_to_number("99999999999999999999", 0, 100), None);
        assert_eq!(parse_fwmark("4294967295"), Some(u32::MAX));
        assert_eq!(parse_fwmark("4294967296"), None);
        assert_eq!(parse_fwmark("0"), None);
        assert_eq!(parse_fwmark("-1"), None);
        assert_eq!(atoi("64abc"), 64);
        assert_eq!(atoi("x"), 0);
        assert_eq!(atoi(" -3"), -3);
        assert_eq!(atoi("99999999999999999999"), -1);
    }

    #[test]
    fn inet_aton_forms() {
        let a = |s: &str| inet_aton(s).map(|a| a.to_string());
        assert_eq!(a("10.1"), Some("10.0.0.1".into()));
        assert_eq!(a("64"), Some("0.0.0.64".into()));
        assert_eq!(a("1.2.3"), Some("1.2.0.3".into()));
        assert_eq!(a("0x7f.1"), Some("127.0.0.1".into()));
        assert_eq!(a("010.0.0.1"), Some("8.0.0.1".into()));
        assert_eq!(a("1.2.3.4 junk"), Some("1.2.3.4".into()));
        assert_eq!(a("08.1.1.1"), None);
        assert_eq!(a("1.2.3.4.5"), None);
        assert_eq!(a("256.1.1.1"), None);
        assert_eq!(a("1.2.3.256"), None);
        assert_eq!(a("1.2.65536"), None);
        assert_eq!(a("1."), None);
        assert_eq!(a(" 1.2.3.4"), None);
        assert_eq!(a("0x"), None);
    }

    #[test]
    fn parse_service_forms() {
        let p = |s: &str| parse_service(s, Some(Protocol::Tcp), &NumericOnly);
        let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
        let v6 = |s: &str| IpAddr::V6(s.parse().unwrap());
        assert_eq!(
            p("1.2.3.4:80"),
            Some(HostPort {
                addr: v4("1.2.3.4"),
                port: Some(80)
            })
        );
        assert_eq!(
            p("1.2.3.4"),
            Some(HostPort {
                addr: v4("1.2.3.4"),
                port: None
            })
        );
        assert_eq!(
            p("[::1]:443"),
            Some(HostPort {
                addr: v6("::1"),
                port: Some(443)
            })
        );
        assert_eq!(
            p("2001:db8::1:80"),
            Some(HostPort {
                addr: v6("2001:db8::1:80"),
                port: None
            })
        );
        assert_eq!(
            p("[1.2.3.4]:80"),
            Some(HostPort {
                addr: v4("1.2.3.4"),
                port: None
            })
        );
        assert_eq!(p("[::1]"), None);
        assert_eq!(p("[::1]:"), None);
        assert_eq!(p("1.2.3.4:"), None);
        assert_eq!(p("1.2.3.4:65536"), None);
        assert_eq!(p("80"), None);
        assert_eq!(p(""), None);
        assert_eq!(p("1.2.3.4:http"), None);
        assert_eq!(p("somehost:80"), None);
    }
}

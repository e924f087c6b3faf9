//! The host side: running `ip`, reading and writing /proc/sys, and observing what
//! [`super::check`] reasons about.

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::check::Observed;
use super::daemon;
use super::plan::{HostFacts, Plan, SysctlKey, KERNEL_TUN_DEV};

/// Runs `ip ARGS`; its standard output, or an error naming the command and the first line
/// `ip` printed on standard error.
pub fn ip(args: &[&str]) -> Result<String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .context("cannot run `ip' (is iproute2 installed?)")?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let reason = stderr.lines().next().unwrap_or("failed").trim();
    bail!("ip {}: {reason}", args.join(" "))
}

/// The value of a setting, `None` if it cannot be read (no such interface, for instance).
pub fn read_sysctl(key: &SysctlKey) -> Option<u32> {
    fs::read_to_string(key.path()).ok()?.trim().parse().ok()
}

/// Writes a setting.
pub fn write_sysctl(key: &SysctlKey, value: u32) -> Result<()> {
    fs::write(key.path(), format!("{value}\n")).with_context(|| format!("cannot set {key}={value}"))
}

/// An address of an interface, as `ip -o addr` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    /// The interface.
    pub dev: String,
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// Its scope (`global`, `host`, `link`).
    pub scope: String,
}

/// Reads `ip -o addr show` output (one address per line:
/// `2: eth0    inet 198.18.0.2/24 brd … scope global eth0\ …`).
pub fn parse_addresses(text: &str) -> Vec<InterfaceAddress> {
    let mut found = Vec::new();
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (Some(dev), Some(family), Some(cidr)) = (words.get(1), words.get(2), words.get(3))
        else {
            continue;
        };
        if *family != "inet" && *family != "inet6" {
            continue;
        }
        let Some((addr, prefix)) = cidr.split_once('/') else {
            continue;
        };
        let (Ok(addr), Ok(prefix_len)) = (addr.parse(), prefix.parse()) else {
            continue;
        };
        let scope = words
            .iter()
            .position(|w| *w == "scope")
            .and_then(|i| words.get(i + 1))
            .map_or("global", |s| s);
        found.push(InterfaceAddress {
            dev: dev.split('@').next().unwrap_or(dev).to_string(),
            addr,
            prefix_len,
            scope: scope.to_string(),
        });
    }
    found
}

/// The addresses of `dev` (empty if it does not exist).
pub fn addresses_of(dev: &str) -> Vec<InterfaceAddress> {
    ip(&["-o", "addr", "show", "dev", dev])
        .map(|text| parse_addresses(&text))
        .unwrap_or_default()
}

/// Reads the flags of `ip -o link show` output: `Some(up)` for the first link listed.
pub fn parse_link_up(text: &str) -> Option<bool> {
    let line = text.lines().next()?;
    let start = line.find('<')?;
    let end = line[start..].find('>')? + start;
    Some(line[start + 1..end].split(',').any(|flag| flag == "UP"))
}

/// Whether `dev` exists (`Some`) and is administratively up.
pub fn link_up(dev: &str) -> Option<bool> {
    parse_link_up(&ip(&["-o", "link", "show", "dev", dev]).ok()?)
}

/// Whether the kernel has an IPIP device in this namespace (`tunl0` in /proc/net/dev).
pub fn kernel_ipip() -> bool {
    fs::read_to_string("/proc/net/dev").is_ok_and(|text| {
        text.lines()
            .any(|line| line.trim_start().starts_with(&format!("{KERNEL_TUN_DEV}:")))
    })
}

/// The facts a plan depends on.
pub fn host_facts() -> HostFacts {
    let mut ipv4_interfaces: Vec<String> = Vec::new();
    if let Ok(text) = ip(&["-o", "-4", "addr", "show"]) {
        for address in parse_addresses(&text) {
            if address.dev != "lo" && !ipv4_interfaces.contains(&address.dev) {
                ipv4_interfaces.push(address.dev);
            }
        }
    }
    HostFacts {
        kernel_ipip: kernel_ipip(),
        ipv4_interfaces,
    }
}

/// What `check` compares with the plan.
pub fn observe(plan: &Plan) -> Observed {
    Observed {
        dev_up: link_up(&plan.dev),
        vip_present: addresses_of(&plan.dev).iter().any(|a| a.addr == plan.vip),
        sysctls: plan.sysctls.iter().map(|s| read_sysctl(&s.key)).collect(),
        decap_running: daemon::running(&plan.dev).is_some(),
    }
}

/// An identity of the network namespace this process is in: the inode of its nsfs file,
/// which `/run/netns/<name>` (a bind mount of the same file) shares.
pub fn netns_id() -> Result<u64> {
    Ok(fs::metadata("/proc/self/ns/net")
        .context("cannot read /proc/self/ns/net")?
        .ino())
}

/// The name `ip netns` gives the namespace `id`, if any.
pub fn netns_name(id: u64) -> Option<String> {
    let entries = fs::read_dir(lb_io::link::netns::NETNS_RUN_DIR).ok()?;
    for entry in entries.flatten() {
        if fs::metadata(entry.path()).is_ok_and(|m| m.ino() == id) {
            return entry.file_name().to_str().map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_addr_output() {
        let text = "\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet 198.18.0.100/32 scope global lo\\       valid_lft forever preferred_lft forever
5: veth1@if4    inet 198.18.0.3/24 brd 198.18.0.255 scope global veth1\\       valid_lft forever
1: lo    inet6 ::1/128 scope host noprefixroute \\       valid_lft forever preferred_lft forever
7: lbtun0    inet6 fe80::1/64 scope link stable-privacy \\       valid_lft forever
garbage
";
        let found = parse_addresses(text);
        let summary: Vec<String> = found
            .iter()
            .map(|a| format!("{} {}/{} {}", a.dev, a.addr, a.prefix_len, a.scope))
            .collect();
        assert_eq!(
            summary,
            [
                "lo 127.0.0.1/8 host",
                "lo 198.18.0.100/32 global",
                "veth1 198.18.0.3/24 global",
                "lo ::1/128 host",
                "lbtun0 fe80::1/64 link",
            ]
        );
    }

    #[test]
    fn parses_link_flags() {
        assert_eq!(
            parse_link_up("7: lbtun0: <NO-CARRIER,POINTOPOINT,MULTICAST,NOARP,UP> mtu 1500 qdisc"),
            Some(true)
        );
        assert_eq!(
            parse_link_up("7: lbtun0: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 qdisc noop"),
            Some(false)
        );
        assert_eq!(parse_link_up("7: x: <LOWER_UP> mtu"), Some(false));
        assert_eq!(parse_link_up(""), None);
    }
}

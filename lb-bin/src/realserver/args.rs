//! The command line of `lb realserver`.

use std::net::IpAddr;

/// The forwarding method the real server is prepared for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Direct routing (`ipvsadm -g`): the VIP on a non-ARPing device (`lo`).
    Dr,
    /// IPIP tunnelling (`ipvsadm -i`): the VIP on the tunnel device.
    Tun,
}

impl Mode {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Dr => "dr",
            Mode::Tun => "tun",
        }
    }
}

/// What `setup`, `check` and `teardown` are given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// DR or TUN.
    pub mode: Mode,
    /// The virtual address.
    pub vip: IpAddr,
    /// The device to hold the VIP (`--dev`), if given.
    pub dev: Option<String>,
}

/// What `decap` is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecapOptions {
    /// The TUN device to write inner packets to.
    pub dev: String,
    /// When not empty, only inner packets to these addresses are passed on.
    pub vips: Vec<IpAddr>,
}

/// The default TUN device of the userspace decapsulator.
pub const DEFAULT_TUN_DEV: &str = "lbtun0";

/// Parses `--mode dr|tun --vip ADDR [--dev NAME]`.
pub fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut mode = None;
    let mut vip = None;
    let mut dev = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("option {name} needs a value"))
        };
        match arg.as_str() {
            "--mode" => {
                mode = Some(match value("--mode")?.as_str() {
                    "dr" => Mode::Dr,
                    "tun" => Mode::Tun,
                    other => return Err(format!("unknown mode `{other}' (dr or tun)")),
                })
            }
            "--vip" => vip = Some(parse_vip(&value("--vip")?)?),
            "--dev" => dev = Some(parse_dev(&value("--dev")?)?),
            other => return Err(format!("unknown argument `{other}'")),
        }
    }
    Ok(Options {
        mode: mode.ok_or("--mode dr|tun is required")?,
        vip: vip.ok_or("--vip ADDR is required")?,
        dev,
    })
}

/// Parses `[--dev NAME] [--vip ADDR]...`.
pub fn parse_decap_options(args: &[String]) -> Result<DecapOptions, String> {
    let mut dev = DEFAULT_TUN_DEV.to_string();
    let mut vips = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("option {name} needs a value"))
        };
        match arg.as_str() {
            "--vip" => vips.push(parse_vip(&value("--vip")?)?),
            "--dev" => dev = parse_dev(&value("--dev")?)?,
            other => return Err(format!("unknown argument `{other}'")),
        }
    }
    Ok(DecapOptions { dev, vips })
}

/// A VIP: a unicast IPv4 or IPv6 address.
fn parse_vip(text: &str) -> Result<IpAddr, String> {
    let addr: IpAddr = text
        .parse()
        .map_err(|_| format!("`{text}' is not an IP address"))?;
    let unicast = match addr {
        IpAddr::V4(a) => !(a.is_unspecified() || a.is_multicast() || a.is_broadcast()),
        IpAddr::V6(a) => !(a.is_unspecified() || a.is_multicast()),
    };
    if unicast {
        Ok(addr)
    } else {
        Err(format!("`{text}' is not a unicast address"))
    }
}

/// An interface name as the kernel accepts it (1 to 15 bytes; no '/', ':', whitespace).
fn parse_dev(text: &str) -> Result<String, String> {
    let valid = !text.is_empty()
        && text.len() < 16
        && text != "."
        && text != ".."
        && !text
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0');
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!("`{text}' is not a valid interface name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_options() {
        assert_eq!(
            parse_options(&strings(&["--mode", "tun", "--vip", "198.18.0.100"])),
            Ok(Options {
                mode: Mode::Tun,
                vip: "198.18.0.100".parse().unwrap(),
                dev: None
            })
        );
        assert_eq!(
            parse_options(&strings(&[
                "--vip",
                "2001:db8::1",
                "--mode",
                "dr",
                "--dev",
                "dummy0"
            ])),
            Ok(Options {
                mode: Mode::Dr,
                vip: "2001:db8::1".parse().unwrap(),
                dev: Some("dummy0".to_string())
            })
        );
    }

    #[test]
    fn refuses_bad_options() {
        let cases: [(&[&str], &str); 8] = [
            (&["--vip", "198.18.0.1"], "--mode dr|tun is required"),
            (&["--mode", "dr"], "--vip ADDR is required"),
            (
                &["--mode", "nat", "--vip", "1.2.3.4"],
                "unknown mode `nat' (dr or tun)",
            ),
            (
                &["--mode", "dr", "--vip", "host"],
                "`host' is not an IP address",
            ),
            (
                &["--mode", "dr", "--vip", "224.0.0.1"],
                "`224.0.0.1' is not a unicast address",
            ),
            (&["--mode", "dr", "--vip"], "option --vip needs a value"),
            (
                &["--mode", "dr", "--vip", "1.2.3.4", "--dev", "a/b"],
                "`a/b' is not a valid interface name",
            ),
            (
                &["--mode", "dr", "--vip", "1.2.3.4", "-x"],
                "unknown argument `-x'",
            ),
        ];
        for (args, error) in cases {
            assert_eq!(
                parse_options(&strings(args)),
                Err(error.to_string()),
                "{args:?}"
            );
        }
    }

    #[test]
    fn parses_decap_options() {
        assert_eq!(
            parse_decap_options(&[]),
            Ok(DecapOptions {
                dev: "lbtun0".to_string(),
                vips: vec![]
            })
        );
        assert_eq!(
            parse_decap_options(&strings(&[
                "--vip",
                "198.18.0.100",
                "--dev",
                "t1",
                "--vip",
                "2001:db8::5"
            ])),
            Ok(DecapOptions {
                dev: "t1".to_string(),
                vips: vec![
                    "198.18.0.100".parse().unwrap(),
                    "2001:db8::5".parse().unwrap()
                ]
            })
        );
    }
}

//! What each real server of a lab needs besides its address, per forwarding method: nothing
//! for NAT (it routes through the director); for DR the VIP on `lo` with `arp_ignore=1`,
//! `arp_announce=2`; for TUN the VIP on a tunnel device and, without the kernel's `ipip`
//! module, the userspace decapsulator. DR and TUN are done by `lb realserver setup` (the
//! helper a user runs on a real server) and undone by `lb realserver teardown`, which also
//! stops the decapsulator.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use super::command::run_command;
use super::error::Result;
use super::namespace::Namespace;
use super::topology::Mode;

/// Sets the real servers of one lab up and undoes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealServerSetup {
    lb: PathBuf,
    mode: Mode,
    vip: Ipv4Addr,
}

impl RealServerSetup {
    /// For the lab of `mode` with `vip`, using the `lb` binary at `lb`.
    pub fn new(lb: &Path, mode: Mode, vip: Ipv4Addr) -> RealServerSetup {
        RealServerSetup {
            lb: lb.to_path_buf(),
            mode,
            vip,
        }
    }

    /// The `lb realserver` arguments for `action` (`setup`, `check`, `teardown`), or none
    /// for NAT, where a real server needs nothing.
    pub fn args(&self, action: &str) -> Option<Vec<String>> {
        let mode = match self.mode {
            Mode::Nat => return None,
            Mode::Dr => "dr",
            Mode::Tun => "tun",
        };
        Some(
            [
                "realserver",
                action,
                "--mode",
                mode,
                "--vip",
                &self.vip.to_string(),
            ]
            .map(str::to_string)
            .to_vec(),
        )
    }

    /// Runs `lb realserver setup` inside `namespace`; what it printed.
    pub fn apply(&self, namespace: &Namespace) -> Result<String> {
        self.run(namespace, "setup")
    }

    /// Runs `lb realserver check` inside `namespace`; what it printed (`ok`).
    pub fn check(&self, namespace: &Namespace) -> Result<String> {
        self.run(namespace, "check")
    }

    /// Runs `lb realserver teardown` inside `namespace` (stopping its decapsulator).
    pub fn undo(&self, namespace: &Namespace) -> Result<String> {
        self.run(namespace, "teardown")
    }

    fn run(&self, namespace: &Namespace, action: &str) -> Result<String> {
        match self.args(action) {
            None => Ok(String::new()),
            Some(args) => run_command(namespace.command(&self.lb).args(args)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_per_mode() {
        let vip = Ipv4Addr::new(198, 18, 1, 100);
        let lb = Path::new("/x/lb");
        assert_eq!(RealServerSetup::new(lb, Mode::Nat, vip).args("setup"), None);
        assert_eq!(
            RealServerSetup::new(lb, Mode::Dr, vip)
                .args("setup")
                .unwrap(),
            [
                "realserver",
                "setup",
                "--mode",
                "dr",
                "--vip",
                "198.18.1.100"
            ]
        );
        assert_eq!(
            RealServerSetup::new(lb, Mode::Tun, vip)
                .args("teardown")
                .unwrap(),
            [
                "realserver",
                "teardown",
                "--mode",
                "tun",
                "--vip",
                "198.18.1.100"
            ]
        );
    }
}

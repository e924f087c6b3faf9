//! Network namespaces with unique names (`PREFIX-PID-COUNTER-ROLE`), removed on drop.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use lb_io::link::netns;

use super::command::{run, run_command};
use super::error::{LabError, Result};

/// Counter making namespace names unique within the process.
static NEXT_NAMESPACE: AtomicU32 = AtomicU32::new(0);

/// How long a new interface may take to come up.
const LINK_UP_TIMEOUT: Duration = Duration::from_secs(5);

/// A network namespace made with `ip netns add`, deleted (with whatever interfaces it
/// holds) when dropped — also when a test panics. Its name is `PREFIX-PID-COUNTER-ROLE`, so
/// two labs never collide and [`sweep_stale`] can find what a killed process left behind.
/// IPv6 is off inside (the kernel then sends nothing of its own) and `lo` is up.
#[derive(Debug)]
pub struct Namespace {
    name: String,
}

impl Namespace {
    /// Makes a namespace named `PREFIX-PID-COUNTER-ROLE`. `prefix` and `role` should be
    /// short words of letters and digits.
    pub fn new(prefix: &str, role: &str) -> Result<Namespace> {
        let name = format!(
            "{prefix}-{}-{}-{role}",
            std::process::id(),
            NEXT_NAMESPACE.fetch_add(1, Ordering::Relaxed)
        );
        run("ip", &["netns", "add", &name])?;
        let namespace = Namespace { name };
        namespace.sysctl("net.ipv6.conf.all.disable_ipv6", "1")?;
        namespace.sysctl("net.ipv6.conf.default.disable_ipv6", "1")?;
        namespace.ip(&["link", "set", "lo", "up"])?;
        Ok(namespace)
    }

    /// The name `ip netns` knows it by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `ip -n NAME ARGS…`; its standard output.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// A command that runs `program` inside the namespace (`ip netns exec NAME program`);
    /// add arguments, environment and standard streams as for any [`Command`].
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", self.name.as_str()])
            .arg(program);
        command
    }

    /// Runs `program ARGS…` inside the namespace to completion; its standard output.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String> {
        run_command(self.command(program).args(args))
    }

    /// Runs `f` on a new thread that has entered the namespace, and returns what it
    /// returns; a panic in `f` is passed on.
    pub fn run_in<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                netns::enter_named(&self.name)
                    .map_err(|e| LabError::new(format!("entering namespace {}: {e}", self.name)))
                    .map(|()| f())
            });
            worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Starts a server on a thread of its own inside the namespace: `bind` makes its socket
    /// there (its error a whole message), then `serve` runs with it until it returns.
    /// Returns once the socket is bound, or with `bind`'s error (the thread ended); `died`
    /// says what failed if the thread ends without a word.
    pub fn serve_in<S>(
        &self,
        bind: impl FnOnce() -> std::result::Result<S, String> + Send + 'static,
        serve: impl FnOnce(S) + Send + 'static,
        died: impl FnOnce() -> String,
    ) -> Result<std::thread::JoinHandle<()>> {
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let name = self.name.clone();
        let thread = std::thread::spawn(move || {
            let bound = netns::enter_named(&name)
                .map_err(|e| format!("entering namespace {name}: {e}"))
                .and_then(|()| bind());
            match bound {
                Ok(socket) => {
                    let _ = bound_tx.send(Ok(()));
                    serve(socket);
                }
                Err(message) => {
                    let _ = bound_tx.send(Err(message));
                }
            }
        });
        match bound_rx.recv() {
            Ok(Ok(())) => Ok(thread),
            Ok(Err(message)) => {
                let _ = thread.join();
                Err(LabError::new(message))
            }
            Err(_) => {
                let _ = thread.join();
                Err(LabError::new(died()))
            }
        }
    }

    /// Sets a sysctl of the namespace (`net.ipv4.ip_forward`, …) by writing its
    /// `/proc/sys` file from a thread inside (no `sysctl` program needed). Keys name
    /// interfaces without dots.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.run_in(|| std::fs::write(&path, value))?
            .map_err(|e| LabError::new(format!("{}: setting {key}={value}: {e}", self.name)))
    }

    /// Reads a sysctl of the namespace (without the trailing newline).
    pub fn read_sysctl(&self, key: &str) -> Result<String> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.run_in(|| std::fs::read_to_string(&path))?
            .map(|text| text.trim_end().to_string())
            .map_err(|e| LabError::new(format!("{}: reading {key}: {e}", self.name)))
    }

    /// Brings an interface up and waits (bounded) until it has carrier and is "UP" (a
    /// veth has carrier once both ends are up: see [`veth`]).
    pub fn link_up(&self, device: &str) -> Result<()> {
        self.ip(&["link", "set", device, "up"])?;
        self.wait_up(device)
    }

    /// Waits (bounded) until an interface has carrier and is "UP".
    pub fn wait_up(&self, device: &str) -> Result<()> {
        let start = Instant::now();
        loop {
            let show = self.ip(&["link", "show", device])?;
            // LOWER_UP: carrier; "state UP": the kernel's link watch has run and attached
            // the qdisc.
            if show.contains("LOWER_UP") && show.contains("state UP") {
                return Ok(());
            }
            if start.elapsed() > LINK_UP_TIMEOUT {
                return Err(LabError::new(format!(
                    "{}: {device} did not come up within {LINK_UP_TIMEOUT:?}: {}",
                    self.name,
                    show.trim_end()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Adds an address (`198.18.1.1/24`) to an interface.
    pub fn add_address(&self, device: &str, cidr: &str) -> Result<()> {
        self.ip(&["addr", "add", cidr, "dev", device]).map(drop)
    }

    /// Adds a route to `destination` (`198.18.0.0/24`, `default`) through `gateway`.
    pub fn add_route(&self, destination: &str, gateway: Ipv4Addr) -> Result<()> {
        self.ip(&["route", "add", destination, "via", &gateway.to_string()])
            .map(drop)
    }

    /// The interface's Ethernet address as `ip link` prints it (`aa:bb:cc:dd:ee:ff`).
    pub fn mac(&self, device: &str) -> Result<String> {
        let show = self.ip(&["link", "show", device])?;
        show.split("link/ether ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
            .ok_or_else(|| {
                LabError::new(format!("{}: {device} has no Ethernet address", self.name))
            })
    }

    /// Turns transmit checksum offload off on an interface (`ethtool -K DEV tx off`), so
    /// that frames leave it with complete checksums (and unsegmented).
    pub fn tx_checksum_off(&self, device: &str) -> Result<()> {
        self.exec("ethtool", &["-K", device, "tx", "off"]).map(drop)
    }

    /// The ids of the processes whose network namespace this is (`ip netns pids`).
    pub fn pids(&self) -> Result<Vec<u32>> {
        let out = run("ip", &["netns", "pids", &self.name])?;
        Ok(out
            .split_whitespace()
            .filter_map(|word| word.parse().ok())
            .collect())
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // A process still inside (one a test forgot, or one that ignored SIGTERM) would
        // keep the namespace alive after its name is gone: it was started in this
        // uniquely named namespace, so it is ours to end.
        if let Ok(pids) = self.pids() {
            for pid in pids.into_iter().filter(|&pid| pid != std::process::id()) {
                let _ = super::process::send_signal(pid, rustix::process::Signal::KILL);
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Makes a veth pair: `a_device` in namespace `a`, `b_device` in namespace `b`, both up.
pub fn veth(a: &Namespace, a_device: &str, b: &Namespace, b_device: &str) -> Result<()> {
    run(
        "ip",
        &[
            "link",
            "add",
            a_device,
            "netns",
            a.name(),
            "type",
            "veth",
            "peer",
            "name",
            b_device,
            "netns",
            b.name(),
        ],
    )?;
    a.ip(&["link", "set", a_device, "up"])?;
    b.ip(&["link", "set", b_device, "up"])?;
    a.wait_up(a_device)?;
    b.wait_up(b_device)
}

/// Removes namespaces named `PREFIX-PID-…` whose process `PID` no longer runs (left behind
/// by a lab killed with SIGKILL). Returns the names removed.
pub fn sweep_stale(prefix: &str) -> Result<Vec<String>> {
    let list = run("ip", &["netns", "list"])?;
    let mut removed = Vec::new();
    for name in list
        .lines()
        .filter_map(|line| line.split_whitespace().next())
    {
        let Some(pid) = owner_pid(name, prefix) else {
            continue;
        };
        if std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        run("ip", &["netns", "del", name])?;
        removed.push(name.to_string());
    }
    Ok(removed)
}

/// The PID in a name `PREFIX-PID-…`, if it has that shape.
fn owner_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('-')?;
    let (pid, _) = rest.split_once('-')?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_pid_reads_the_second_field() {
        assert_eq!(owner_pid("lbdemo-1234-0-client", "lbdemo"), Some(1234));
        assert_eq!(owner_pid("lbdemo-x-0-client", "lbdemo"), None);
        assert_eq!(owner_pid("lbdemox-1234-0-client", "lbdemo"), None);
        assert_eq!(owner_pid("other-1234-0-client", "lbdemo"), None);
        assert_eq!(owner_pid("lbdemo-1234", "lbdemo"), None);
    }
}

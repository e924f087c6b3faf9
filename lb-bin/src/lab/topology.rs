//! The three labs of design.md ("The test lab"): a client, a director and real servers in
//! network namespaces, wired for NAT, direct routing or tunnelling. Addresses come from
//! 198.18.0.0/15 only.
//!
//! ```text
//! NAT   client 198.18.1.2 ── 198.18.1.1 director 198.18.2.1 ── switch ── rsN 198.18.2.(10+N)
//!       VIP 198.18.1.100 (answered by the director); real servers route via 198.18.2.1
//!
//! DR    switch ── client 198.18.1.2, director 198.18.1.1, rsN 198.18.1.(10+N)
//!       VIP 198.18.1.100 on the real servers' lo (arp_ignore=1, arp_announce=2)
//!
//! TUN   client 198.18.1.2 ── router ── director 198.18.2.2 (gateway 198.18.2.1)
//!                              └──── rsN 198.18.(2+N).(10+N) (gateway 198.18.(2+N).1)
//!       VIP 198.18.0.100 routed to the director; on the real servers' tunnel device,
//!       decapsulated by `lb realserver`
//! ```

use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::command::find_program;
use super::error::{LabError, Result};
use super::namespace::{veth, Namespace};
use super::realserver::RealServerSetup;
use super::tempdir::TempDir;

/// How the director forwards to the real servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Masquerading (`-m`): the director rewrites addresses both ways.
    Nat,
    /// Direct routing (`-g`): the director rewrites the Ethernet destination only.
    Dr,
    /// IPIP tunnelling (`-i`).
    Tun,
}

impl Mode {
    /// The ipvsadm option selecting this forwarding method for a real server.
    pub fn ipvsadm_flag(self) -> &'static str {
        match self {
            Mode::Nat => "-m",
            Mode::Dr => "-g",
            Mode::Tun => "-i",
        }
    }

    /// The lower-case name (`nat`, `dr`, `tun`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Nat => "nat",
            Mode::Dr => "dr",
            Mode::Tun => "tun",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = LabError;
    fn from_str(text: &str) -> Result<Mode> {
        match text {
            "nat" => Ok(Mode::Nat),
            "dr" => Ok(Mode::Dr),
            "tun" => Ok(Mode::Tun),
            other => Err(LabError::new(format!(
                "unknown mode `{other}' (expected nat, dr or tun)"
            ))),
        }
    }
}

/// What to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabOptions {
    /// The first word of every namespace and temporary directory name (`lbdemo`, `lbt`).
    pub prefix: String,
    /// The forwarding method the lab is wired for.
    pub mode: Mode,
    /// How many real servers (1 to 9).
    pub real_servers: usize,
    /// The `lb` binary, which sets the real servers up (`lb realserver`).
    pub lb: PathBuf,
}

/// A real server of the lab.
#[derive(Debug)]
pub struct RealServer {
    /// `rs1`, `rs2`, …
    pub name: String,
    /// Its address (the RIP).
    pub addr: Ipv4Addr,
    /// Its namespace.
    pub namespace: Namespace,
}

/// One of the director's interfaces and the veth end facing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorInterface {
    /// The interface in the director's namespace (`eth0`).
    pub device: String,
    /// Its role for `lb director --interface NAME=ROLE` (`client`, `server`, `both`).
    pub role: String,
    /// Its Ethernet address.
    pub mac: String,
    /// The namespace holding the other end of the veth pair.
    pub peer_namespace: String,
    /// The other end's name.
    pub peer_device: String,
}

/// A built lab. Dropping it undoes the real servers' setup (stopping TUN decapsulators),
/// then removes its namespaces and its temporary directory (drop the director and anything
/// else running inside first).
#[derive(Debug)]
pub struct Lab {
    /// How the real servers were set up (undone on drop).
    setup: RealServerSetup,
    /// The forwarding method it is wired for.
    pub mode: Mode,
    /// The virtual service address.
    pub vip: Ipv4Addr,
    /// The client's address.
    pub client_addr: Ipv4Addr,
    /// The client's namespace.
    pub client: Namespace,
    /// The director's namespace.
    pub director: Namespace,
    /// The real servers.
    pub real_servers: Vec<RealServer>,
    /// The director's interfaces with their roles and the veth ends facing them.
    pub director_interfaces: Vec<DirectorInterface>,
    /// The director's default gateway, where it has one.
    pub director_gateway: Option<Ipv4Addr>,
    /// Switches and routers.
    network: Vec<Namespace>,
    /// Configuration files, sockets, captures.
    dir: TempDir,
}

impl Lab {
    /// Builds the lab `options` describe. Needs root.
    pub fn build(options: &LabOptions) -> Result<Lab> {
        if !(1..=9).contains(&options.real_servers) {
            return Err(LabError::new(format!(
                "a lab has 1 to 9 real servers, not {}",
                options.real_servers
            )));
        }
        let prefix = options.prefix.as_str();
        let dir = TempDir::new(prefix)?;
        let client = Namespace::new(prefix, "client")?;
        let director = Namespace::new(prefix, "director")?;
        let mut real_servers = Vec::new();
        for n in 1..=options.real_servers {
            real_servers.push(RealServer {
                name: format!("rs{n}"),
                addr: real_server_addr(options.mode, n),
                namespace: Namespace::new(prefix, &format!("rs{n}"))?,
            });
        }
        let mut lab = Lab {
            setup: RealServerSetup::new(&options.lb, options.mode, vip(options.mode)),
            mode: options.mode,
            vip: vip(options.mode),
            client_addr: Ipv4Addr::new(198, 18, 1, 2),
            client,
            director,
            real_servers,
            director_interfaces: Vec::new(),
            director_gateway: None,
            network: Vec::new(),
            dir,
        };
        lab.director.sysctl("net.ipv4.ip_forward", "0")?;
        match options.mode {
            Mode::Nat => lab.wire_nat(prefix)?,
            Mode::Dr => lab.wire_dr(prefix)?,
            Mode::Tun => lab.wire_tun(prefix)?,
        }
        lab.checksum_offload_off()?;
        for server in &lab.real_servers {
            lab.setup
                .apply(&server.namespace)
                .map_err(|e| LabError::new(format!("setting up {}: {e}", server.name)))?;
        }
        Ok(lab)
    }

    /// A path in the lab's private temporary directory.
    pub fn temp_path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The lab's private temporary directory.
    pub fn temp_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The `--interface NAME=ROLE` and `--gateway ADDR` arguments of `lb director` for
    /// this lab.
    pub fn director_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for interface in &self.director_interfaces {
            args.push("--interface".to_string());
            args.push(format!("{}={}", interface.device, interface.role));
        }
        if let Some(gateway) = self.director_gateway {
            args.push("--gateway".to_string());
            args.push(gateway.to_string());
        }
        args
    }

    /// Every namespace of the lab, by name (client, director, real servers, network).
    pub fn namespace_by_name(&self, name: &str) -> Result<&Namespace> {
        std::iter::once(&self.client)
            .chain(std::iter::once(&self.director))
            .chain(self.real_servers.iter().map(|s| &s.namespace))
            .chain(self.network.iter())
            .find(|ns| ns.name() == name)
            .ok_or_else(|| LabError::new(format!("no namespace {name} in this lab")))
    }

    /// What `lb realserver check` says on each real server (`rs1: ok`), for diagnostics.
    pub fn check_real_servers(&self) -> String {
        self.real_servers
            .iter()
            .map(|server| match self.setup.check(&server.namespace) {
                Ok(out) => format!("{}: {}\n", server.name, out.trim_end()),
                Err(e) => format!("{}: {e}\n", server.name),
            })
            .collect()
    }

    fn add_director_interface(
        &mut self,
        device: &str,
        role: &str,
        peer: (&str, &str),
    ) -> Result<()> {
        let mac = self.director.mac(device)?;
        self.director_interfaces.push(DirectorInterface {
            device: device.to_string(),
            role: role.to_string(),
            mac,
            peer_namespace: peer.0.to_string(),
            peer_device: peer.1.to_string(),
        });
        Ok(())
    }

    /// NAT: client ─ director (eth0, client side), director (eth1) ─ switch ─ servers.
    fn wire_nat(&mut self, prefix: &str) -> Result<()> {
        veth(&self.client, "eth0", &self.director, "eth0")?;
        self.client.add_address("eth0", "198.18.1.2/24")?;
        self.director.add_address("eth0", "198.18.1.1/24")?;
        self.client
            .add_route("default", Ipv4Addr::new(198, 18, 1, 1))?;

        let switch = switch(prefix)?;
        veth(&self.director, "eth1", &switch, "p-dir")?;
        attach(&switch, "p-dir")?;
        self.director.add_address("eth1", "198.18.2.1/24")?;
        for server in &self.real_servers {
            let port = format!("p-{}", server.name);
            veth(&server.namespace, "eth0", &switch, &port)?;
            attach(&switch, &port)?;
            server
                .namespace
                .add_address("eth0", &format!("{}/24", server.addr))?;
            server
                .namespace
                .add_route("default", Ipv4Addr::new(198, 18, 2, 1))?;
        }
        let client_name = self.client.name().to_string();
        let switch_name = switch.name().to_string();
        self.network.push(switch);
        self.add_director_interface("eth0", "client", (&client_name, "eth0"))?;
        self.add_director_interface("eth1", "server", (&switch_name, "p-dir"))
    }

    /// DR: client, director and servers on one switch.
    fn wire_dr(&mut self, prefix: &str) -> Result<()> {
        let switch = switch(prefix)?;
        veth(&self.client, "eth0", &switch, "p-client")?;
        attach(&switch, "p-client")?;
        self.client.add_address("eth0", "198.18.1.2/24")?;
        veth(&self.director, "eth0", &switch, "p-dir")?;
        attach(&switch, "p-dir")?;
        self.director.add_address("eth0", "198.18.1.1/24")?;
        for server in &self.real_servers {
            let port = format!("p-{}", server.name);
            veth(&server.namespace, "eth0", &switch, &port)?;
            attach(&switch, &port)?;
            server
                .namespace
                .add_address("eth0", &format!("{}/24", server.addr))?;
        }
        let switch_name = switch.name().to_string();
        self.network.push(switch);
        self.add_director_interface("eth0", "both", (&switch_name, "p-dir"))
    }

    /// TUN: a router joins the client, the director and each real server.
    fn wire_tun(&mut self, prefix: &str) -> Result<()> {
        let router = Namespace::new(prefix, "router")?;
        router.sysctl("net.ipv4.ip_forward", "1")?;
        // Replies leave the real servers from the VIP, which the router routes towards
        // the director: reverse-path filtering would drop them.
        router.sysctl("net.ipv4.conf.all.rp_filter", "0")?;
        router.sysctl("net.ipv4.conf.default.rp_filter", "0")?;

        veth(&self.client, "eth0", &router, "r-client")?;
        router.add_address("r-client", "198.18.1.1/24")?;
        self.client.add_address("eth0", "198.18.1.2/24")?;
        self.client
            .add_route("default", Ipv4Addr::new(198, 18, 1, 1))?;

        veth(&self.director, "eth0", &router, "r-dir")?;
        router.add_address("r-dir", "198.18.2.1/24")?;
        self.director.add_address("eth0", "198.18.2.2/24")?;
        router.add_route(&format!("{}/32", self.vip), Ipv4Addr::new(198, 18, 2, 2))?;
        self.director_gateway = Some(Ipv4Addr::new(198, 18, 2, 1));

        for (index, server) in self.real_servers.iter().enumerate() {
            let subnet = u8::try_from(3 + index).unwrap_or(u8::MAX);
            let port = format!("r-{}", server.name);
            veth(&server.namespace, "eth0", &router, &port)?;
            router.add_address(&port, &format!("198.18.{subnet}.1/24"))?;
            router.sysctl(&format!("net.ipv4.conf.{port}.rp_filter"), "0")?;
            server
                .namespace
                .add_address("eth0", &format!("{}/24", server.addr))?;
            server
                .namespace
                .add_route("default", Ipv4Addr::new(198, 18, subnet, 1))?;
        }
        for port in ["r-client", "r-dir"] {
            router.sysctl(&format!("net.ipv4.conf.{port}.rp_filter"), "0")?;
        }
        let router_name = router.name().to_string();
        self.network.push(router);
        self.add_director_interface("eth0", "both", (&router_name, "r-dir"))
    }

    /// Turns transmit checksum offload off on every veth of the lab (when `ethtool` is
    /// installed), so that frames reach the director with complete checksums and
    /// unsegmented.
    fn checksum_offload_off(&self) -> Result<()> {
        if find_program("ethtool").is_none() {
            return Ok(());
        }
        let mut ends: Vec<(&Namespace, String)> = vec![(&self.client, "eth0".to_string())];
        for interface in &self.director_interfaces {
            ends.push((&self.director, interface.device.clone()));
            ends.push((
                self.namespace_by_name(&interface.peer_namespace)?,
                interface.peer_device.clone(),
            ));
        }
        for server in &self.real_servers {
            ends.push((&server.namespace, "eth0".to_string()));
        }
        for (namespace, device) in ends {
            namespace.tx_checksum_off(&device)?;
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for server in &self.real_servers {
            let _ = self.setup.undo(&server.namespace);
        }
    }
}

/// The VIP of each lab.
pub fn vip(mode: Mode) -> Ipv4Addr {
    match mode {
        Mode::Nat | Mode::Dr => Ipv4Addr::new(198, 18, 1, 100),
        Mode::Tun => Ipv4Addr::new(198, 18, 0, 100),
    }
}

/// The address of real server `n` (from 1).
pub fn real_server_addr(mode: Mode, n: usize) -> Ipv4Addr {
    let n = u8::try_from(n).unwrap_or(u8::MAX);
    match mode {
        Mode::Nat => Ipv4Addr::new(198, 18, 2, 10 + n),
        Mode::Dr => Ipv4Addr::new(198, 18, 1, 10 + n),
        Mode::Tun => Ipv4Addr::new(198, 18, 2 + n, 10 + n),
    }
}

/// A namespace holding a bridge `br0` (no STP, no forwarding delay).
fn switch(prefix: &str) -> Result<Namespace> {
    let switch = Namespace::new(prefix, "switch")?;
    switch.ip(&[
        "link",
        "add",
        "br0",
        "type",
        "bridge",
        "stp_state",
        "0",
        "forward_delay",
        "0",
    ])?;
    // No port yet: it has no carrier to wait for.
    switch.ip(&["link", "set", "br0", "up"])?;
    Ok(switch)
}

/// Makes `port` a port of the switch's bridge.
fn attach(switch: &Namespace, port: &str) -> Result<()> {
    switch.ip(&["link", "set", port, "master", "br0"]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        for (text, mode, flag) in [
            ("nat", Mode::Nat, "-m"),
            ("dr", Mode::Dr, "-g"),
            ("tun", Mode::Tun, "-i"),
        ] {
            assert_eq!(text.parse::<Mode>().unwrap(), mode);
            assert_eq!(mode.to_string(), text);
            assert_eq!(mode.ipvsadm_flag(), flag);
        }
        assert_eq!(
            "fullnat".parse::<Mode>().unwrap_err().message(),
            "unknown mode `fullnat' (expected nat, dr or tun)"
        );
    }

    #[test]
    fn addresses_stay_in_the_benchmarking_range() {
        for mode in [Mode::Nat, Mode::Dr, Mode::Tun] {
            let mut all = vec![vip(mode)];
            all.extend((1..=9).map(|n| real_server_addr(mode, n)));
            for addr in all {
                let [a, b, _, _] = addr.octets();
                assert!(a == 198 && (b == 18 || b == 19), "{addr}");
            }
        }
        assert_eq!(
            real_server_addr(Mode::Nat, 3),
            Ipv4Addr::new(198, 18, 2, 13)
        );
        assert_eq!(real_server_addr(Mode::Dr, 1), Ipv4Addr::new(198, 18, 1, 11));
        assert_eq!(
            real_server_addr(Mode::Tun, 2),
            Ipv4Addr::new(198, 18, 4, 12)
        );
    }
}

//! Support for the end-to-end tests in `tests/tests/`: a [`Testbed`] is a lab of network
//! namespaces (see `lb_bin::lab`) with the `lb` director running in it, real nginx
//! instances as real servers, real curl as the client, and tcpdump watching what the
//! director puts on the wire. These tests mirror the LVS tutorials (NAT, DR, TUN).
//!
//! They need root: without it each test prints why and passes without running. As root
//! they fail, saying which, when nginx, curl or tcpdump is missing (`.ci/run` installs
//! them).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lb_bin::lab::{
    find_program, running_as_root, wait_for_tcp, Capture, Director, Lab, LabOptions, LabProcess,
    Mode,
};

/// The programs the end-to-end tests run.
pub const TOOLS: [&str; 3] = ["nginx", "curl", "tcpdump"];

/// The first word of the tests' namespace names.
pub const PREFIX: &str = "lbt";

/// How long nginx may take to listen.
const NGINX_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes a line straight to standard error, past the test harness's capture, so that it
/// shows in `cargo test` output.
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Whether the test may run: false (after saying why) when not root. As root, panics naming
/// the missing programs when nginx, curl or tcpdump is not installed.
pub fn prerequisites(test: &str) -> bool {
    if !running_as_root() {
        say(&format!(
            "{test}: skipped: not root (the end-to-end tests create network namespaces)"
        ));
        return false;
    }
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|tool| find_program(tool).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "{test}: running as root but {} not installed (.ci/run installs nginx-light, curl, tcpdump)",
        missing.join(", ")
    );
    true
}

/// The `lb` binary cargo built beside the test executables: `target/<profile>/lb` (a test
/// runs as `target/<profile>/deps/<name>-<hash>`).
pub fn lb_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let lb = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("lb"))
        .expect("the test executable has no grandparent directory");
    assert!(
        lb.is_file(),
        "the lb binary is not at {} (build it first: `cargo build -p lb-bin`, or run the whole \
         suite with `cargo test --workspace`)",
        lb.display()
    );
    lb
}

/// A lab with a director, nginx on every real server and captures on the director's
/// peers. Fields drop in order: captures, nginx, director, then the lab itself.
pub struct Testbed {
    test: String,
    started: Instant,
    capture: Option<Capture>,
    nginx: Vec<LabProcess>,
    /// The running director.
    pub director: Director,
    /// The namespaces and their addresses.
    pub lab: Lab,
}

impl Testbed {
    /// Builds the lab for `mode` with `servers` real servers, starts nginx on each (its
    /// body `rsN\n`), the director, and the captures.
    pub fn new(test: &str, mode: Mode, servers: usize) -> Testbed {
        let started = Instant::now();
        let lb = lb_binary();
        let lab = Lab::build(&LabOptions {
            prefix: PREFIX.to_string(),
            mode,
            real_servers: servers,
            lb: lb.clone(),
        })
        .unwrap_or_else(|e| panic!("{test}: building the {mode} lab: {e}"));
        let mut nginx = Vec::new();
        for index in 0..servers {
            nginx.push(start_nginx(&lab, index));
        }
        let director = Director::start(&lab, &lb, &[])
            .unwrap_or_else(|e| panic!("{test}: starting the director: {e}"));
        let capture =
            Capture::start(&lab).unwrap_or_else(|e| panic!("{test}: starting tcpdump: {e}"));
        Testbed {
            test: test.to_string(),
            started,
            capture: Some(capture),
            nginx,
            director,
            lab,
        }
    }

    /// The VIP with port 80.
    pub fn http_vip(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.lab.vip, 80)
    }

    /// The address of real server `n` (from 1) with `port`.
    pub fn rip(&self, n: usize, port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(self.lab.real_servers[n - 1].addr, port)
    }

    /// Runs `lb ipvsadm ARGS…` against the director; its standard output. Panics (with the
    /// director's log) when it fails.
    pub fn ipvsadm(&self, args: &[&str]) -> String {
        self.director.ipvsadm_ok(args).unwrap_or_else(|e| {
            panic!("{}: {e}\ndirector log:\n{}", self.test, self.director.log())
        })
    }

    /// Adds the TCP service VIP:80 with `scheduler` (and `extra` options such as `-p`),
    /// and real server N on port 80 with weight `weights[N-1]`, forwarding per the lab.
    pub fn add_http_service(&self, scheduler: &str, extra: &[&str], weights: &[u32]) {
        let vip = self.http_vip().to_string();
        let mut add = vec!["-A", "-t", &vip, "-s", scheduler];
        add.extend_from_slice(extra);
        self.ipvsadm(&add);
        for (index, weight) in weights.iter().enumerate() {
            let rip = self.rip(index + 1, 80).to_string();
            let weight = weight.to_string();
            self.ipvsadm(&[
                "-a",
                "-t",
                &vip,
                "-r",
                &rip,
                self.lab.mode.ipvsadm_flag(),
                "-w",
                &weight,
            ]);
        }
    }

    /// `curl -s --max-time 5 http://VIP/` from the client (from `source` when given); the
    /// body. Panics, with the director's log, when curl fails.
    pub fn curl(&self, source: Option<Ipv4Addr>) -> String {
        let url = format!("http://{}/", self.http_vip());
        let mut args = vec!["-s", "--max-time", "5"];
        let source = source.map(|s| s.to_string());
        if let Some(source) = &source {
            args.extend_from_slice(&["--interface", source]);
        }
        args.push(&url);
        self.lab.client.exec("curl", &args).unwrap_or_else(|e| {
            panic!(
                "{}: curl {url}: {e}\ndirector log:\n{}{}",
                self.test,
                self.director.log(),
                self.nginx_output()
            )
        })
    }

    /// What the nginx instances printed (their errors), one block per real server.
    pub fn nginx_output(&self) -> String {
        self.nginx
            .iter()
            .map(|p| format!("--- {}\n{}{}", p.label(), p.stdout(), p.stderr()))
            .collect()
    }

    /// `count` curl requests; how many each body got.
    pub fn curl_many(&self, count: usize) -> BTreeMap<String, usize> {
        tally((0..count).map(|_| self.curl(None)))
    }

    /// Stops the captures and asserts that the director sent frames, and not one TCP RST
    /// or ICMP message; prints how long the test took.
    pub fn finish(mut self) {
        let capture = self.capture.take().expect("captures running");
        let summary = capture
            .finish()
            .unwrap_or_else(|e| panic!("{}: reading the captures: {e}", self.test));
        assert!(
            summary.tcp > 0,
            "{}: the captures saw no TCP from the director ({summary:?})",
            self.test
        );
        assert_eq!(
            (summary.tcp_rst, summary.icmp),
            (0, 0),
            "{}: the director sent TCP RST or ICMP:\n{}\ndirector log:\n{}",
            self.test,
            summary.offending.join("\n"),
            self.director.log()
        );
        say(&format!(
            "{}: ok in {:.2} s (director sent {} frames, {} TCP, 0 RST, 0 ICMP)",
            self.test,
            self.started.elapsed().as_secs_f64(),
            summary.frames,
            summary.tcp
        ));
    }
}

/// How many times each item occurs.
pub fn tally(items: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for item in items {
        *counts.entry(item).or_insert(0) += 1;
    }
    counts
}

/// `[("rs1\n", 30), …]` as a map, for comparing with [`tally`].
pub fn expected(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The nginx configuration of real server `name`: one server on `listen` answering every
/// request with `NAME\n`; pid, logs and temporary files under `dir`; in the foreground,
/// one process.
pub fn nginx_config(name: &str, listen: SocketAddr, dir: &str) -> String {
    format!(
        "daemon off;
master_process off;
worker_processes 1;
pid {dir}/{name}.pid;
error_log {dir}/{name}-error.log warn;
events {{
    worker_connections 256;
}}
http {{
    access_log off;
    client_body_temp_path {dir}/{name}-body;
    proxy_temp_path {dir}/{name}-proxy;
    keepalive_timeout 30s;
    server {{
        listen {listen};
        location / {{
            default_type text/plain;
            return 200 \"{name}\\n\";
        }}
    }}
}}
"
    )
}

/// Starts nginx in real server `index`'s namespace, listening where the director's
/// packets arrive (its address for NAT, the VIP for DR and TUN), and waits until it
/// accepts.
fn start_nginx(lab: &Lab, index: usize) -> LabProcess {
    let server = &lab.real_servers[index];
    let listen_addr = match lab.mode {
        Mode::Nat => server.addr,
        Mode::Dr | Mode::Tun => lab.vip,
    };
    let listen = SocketAddr::from((listen_addr, 80));
    let dir = lab.temp_dir().to_string_lossy().into_owned();
    let config = lab.temp_path(&format!("{}-nginx.conf", server.name));
    std::fs::write(&config, nginx_config(&server.name, listen, &dir))
        .unwrap_or_else(|e| panic!("writing {}: {e}", config.display()));
    let nginx = find_program("nginx").expect("nginx installed");
    let mut command = server.namespace.command(nginx);
    command
        .arg("-p")
        .arg(lab.temp_dir())
        .arg("-e")
        .arg(lab.temp_path(&format!("{}-error.log", server.name)))
        .arg("-c")
        .arg(&config);
    let process = LabProcess::spawn(&format!("nginx on {}", server.name), command)
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = wait_for_tcp(&server.namespace, listen, NGINX_TIMEOUT) {
        let log = std::fs::read_to_string(lab.temp_path(&format!("{}-error.log", server.name)))
            .unwrap_or_default();
        panic!(
            "{e}\nnginx printed:\n{}{}\nerror log:\n{log}",
            process.stdout(),
            process.stderr()
        );
    }
    process
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts() {
        let counts = tally(["rs1\n", "rs2\n", "rs1\n"].map(str::to_string));
        assert_eq!(counts, expected(&[("rs1\n", 2), ("rs2\n", 1)]));
    }

    #[test]
    fn nginx_config_names_the_server() {
        let config = nginx_config("rs2", "198.18.2.12:80".parse().unwrap(), "/tmp/x");
        assert!(config.contains("listen 198.18.2.12:80;\n"), "{config}");
        assert!(config.contains("return 200 \"rs2\\n\";\n"), "{config}");
        assert!(config.contains("pid /tmp/x/rs2.pid;\n"), "{config}");
        assert!(
            config.starts_with("daemon off;\nmaster_process off;\n"),
            "{config}"
        );
    }
}

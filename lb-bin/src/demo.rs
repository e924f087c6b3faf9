//! `lb demo`: builds a small lab of network namespaces (a client, a director and three real
//! servers), starts `lb director` in it, configures a virtual service with `lb ipvsadm`,
//! sends a few HTTP requests and shows which real server answered each, then ipvsadm's
//! statistics; and removes everything again, also on Ctrl-C. It needs root and iproute2
//! only: the real servers and the client are built in.

use std::net::{SocketAddr, SocketAddrV4};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use lb_bin::lab::{
    http_get, running_as_root, sweep_stale, Director, HttpResponder, Lab, LabError, LabOptions,
    Mode,
};

const USAGE: &str = "\
Usage: lb demo [--mode nat|dr|tun] [-s SCHEDULER] [--requests N]

Builds a lab of network namespaces (a client, a director and three real servers,
addresses in 198.18.0.0/15), runs 'lb director' in it, adds a virtual service on
port 80 with 'lb ipvsadm', sends N HTTP requests from the client and prints which
real server answered each, then 'ipvsadm -L -n --stats'. Everything is removed at
the end, also on Ctrl-C. Needs root; the real servers and the client are built in.

Options:
  --mode nat|dr|tun   forwarding method: masquerading (default), direct routing
                      or IPIP tunnelling
  -s, --scheduler S   scheduler (default rr); with wrr the servers weigh 3, 2, 1
  --requests N        requests to send, 1 to 1000 (default 12)
  -h, --help          this text
";

/// The first word of the demo's namespace names.
const PREFIX: &str = "lbdemo";
/// How many real servers the demo has.
const REAL_SERVERS: usize = 3;
/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DemoOptions {
    mode: Mode,
    scheduler: String,
    requests: u32,
}

/// What the command line said.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    Run(DemoOptions),
    Help,
}

/// Runs `lb demo ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    let options = match parse(args) {
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Parsed::Run(options)) => options,
        Err(message) => {
            eprintln!("lb demo: {message}");
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if !running_as_root() {
        eprintln!("lb demo: must run as root (it creates network namespaces)");
        return ExitCode::from(1);
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&interrupted)) {
            eprintln!("lb demo: cannot handle signal {signal}: {e}");
            return ExitCode::from(1);
        }
    }
    let lb = match std::env::current_exe() {
        Ok(path) => path,
        Err(e) => {
            eprintln!("lb demo: cannot find the lb executable: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = run(&options, &lb, &interrupted);
    // Everything the run built is dropped (removed) by now.
    match outcome {
        Ok(Outcome::Done { failures: 0 }) => {
            println!("lab removed");
            ExitCode::SUCCESS
        }
        Ok(Outcome::Done { failures }) => {
            println!("lab removed");
            eprintln!(
                "lb demo: {failures} of {} requests failed",
                options.requests
            );
            ExitCode::from(1)
        }
        Ok(Outcome::Interrupted) => {
            eprintln!("lb demo: interrupted; lab removed");
            ExitCode::from(130)
        }
        Err(e) => {
            eprintln!("lb demo: {e}");
            eprintln!("lb demo: lab removed");
            ExitCode::from(1)
        }
    }
}

/// How a run ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Every request was sent; this many failed.
    Done { failures: u32 },
    /// SIGINT or SIGTERM arrived.
    Interrupted,
}

fn parse(args: &[String]) -> Result<Parsed, String> {
    let mut options = DemoOptions {
        mode: Mode::Nat,
        scheduler: "rr".to_string(),
        requests: 12,
    };
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .cloned()
                .ok_or_else(|| format!("option {name} needs a value"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--mode" => options.mode = value(arg)?.parse().map_err(|e: LabError| e.to_string())?,
            "-s" | "--scheduler" => {
                let name = value(arg)?;
                if name.is_empty()
                    || name.len() > 15
                    || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(format!("bad scheduler name `{name}'"));
                }
                options.scheduler = name;
            }
            "--requests" => {
                let text = value(arg)?;
                options.requests = text
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| format!("--requests takes 1 to 1000, not `{text}'"))?;
            }
            other => return Err(format!("unknown option `{other}'")),
        }
    }
    Ok(Parsed::Run(options))
}

/// The weight of real server `n` (from 1): 3, 2, 1 under wrr, else 1.
fn weight(scheduler: &str, n: usize) -> u32 {
    if scheduler == "wrr" {
        u32::try_from(REAL_SERVERS + 1 - n).unwrap_or(1)
    } else {
        1
    }
}

/// The `ipvsadm` invocations configuring the lab's service.
fn service_commands(
    lab_vip: SocketAddrV4,
    servers: &[SocketAddrV4],
    options: &DemoOptions,
) -> Vec<Vec<String>> {
    let vip = lab_vip.to_string();
    let mut commands = vec![vec![
        "-A".to_string(),
        "-t".to_string(),
        vip.clone(),
        "-s".to_string(),
        options.scheduler.clone(),
    ]];
    for (index, server) in servers.iter().enumerate() {
        commands.push(vec![
            "-a".to_string(),
            "-t".to_string(),
            vip.clone(),
            "-r".to_string(),
            server.to_string(),
            options.mode.ipvsadm_flag().to_string(),
            "-w".to_string(),
            weight(&options.scheduler, index + 1).to_string(),
        ]);
    }
    commands
}

/// Returns early with [`Outcome::Interrupted`] once a signal has arrived.
macro_rules! bail_if_interrupted {
    ($flag:expr) => {
        if $flag.load(Ordering::Relaxed) {
            return Ok(Outcome::Interrupted);
        }
    };
}

fn run(options: &DemoOptions, lb: &Path, interrupted: &AtomicBool) -> Result<Outcome, LabError> {
    // Namespaces a killed demo left behind.
    for name in sweep_stale(PREFIX)? {
        println!("removed namespace {name} left by an earlier demo");
    }
    println!(
        "building the {} lab: a client, a director and {REAL_SERVERS} real servers in network namespaces",
        options.mode.name().to_uppercase()
    );
    let lab = Lab::build(&LabOptions {
        prefix: PREFIX.to_string(),
        mode: options.mode,
        real_servers: REAL_SERVERS,
        lb: lb.to_path_buf(),
    })?;
    describe_lab(&lab);
    bail_if_interrupted!(interrupted);

    let mut responders = Vec::new();
    for server in &lab.real_servers {
        let body = format!("{} {}\n", server.name, server.addr);
        let any = SocketAddr::from(([0, 0, 0, 0], 80));
        responders.push(HttpResponder::start(&server.namespace, any, &body)?);
    }

    println!(
        "+ ip netns exec {} lb director {}",
        lab.director.name(),
        lab.director_args().join(" ")
    );
    let director = Director::start(&lab, lb, &[])?;
    bail_if_interrupted!(interrupted);

    let vip = SocketAddrV4::new(lab.vip, 80);
    let servers: Vec<SocketAddrV4> = lab
        .real_servers
        .iter()
        .map(|s| SocketAddrV4::new(s.addr, 80))
        .collect();
    for command in service_commands(vip, &servers, options) {
        println!("+ ipvsadm {}", command.join(" "));
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        print!("{}", director.ipvsadm_ok(&args)?);
    }
    bail_if_interrupted!(interrupted);

    println!(
        "sending {} requests from the client ({}) to http://{vip}/",
        options.requests, lab.client_addr
    );
    let failures = lab.client.run_in(|| -> Result<Option<u32>, LabError> {
        let mut failures = 0;
        for request in 1..=options.requests {
            if interrupted.load(Ordering::Relaxed) {
                return Ok(None);
            }
            match http_get(SocketAddr::V4(vip), REQUEST_TIMEOUT) {
                Ok(reply) if reply.status == 200 => {
                    println!(
                        "request {request:>3}: answered by {}",
                        reply.body.trim_end()
                    );
                }
                Ok(reply) => {
                    failures += 1;
                    println!("request {request:>3}: HTTP status {}", reply.status);
                }
                Err(e) => {
                    failures += 1;
                    println!("request {request:>3}: failed: {e}");
                }
            }
        }
        Ok(Some(failures))
    })??;
    let Some(failures) = failures else {
        return Ok(Outcome::Interrupted);
    };

    println!("+ ipvsadm -L -n --stats");
    print!("{}", director.ipvsadm_ok(&["-L", "-n", "--stats"])?);
    println!("removing the lab");
    drop(director);
    drop(responders);
    drop(lab);
    Ok(Outcome::Done { failures })
}

fn describe_lab(lab: &Lab) {
    println!(
        "  client    {}  (namespace {})",
        lab.client_addr,
        lab.client.name()
    );
    println!(
        "  director  VIP {}  (namespace {})",
        lab.vip,
        lab.director.name()
    );
    for server in &lab.real_servers {
        println!(
            "  {}       {}  (namespace {})",
            server.name,
            server.addr,
            server.namespace.name()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn defaults() {
        assert_eq!(
            parse(&[]).unwrap(),
            Parsed::Run(DemoOptions {
                mode: Mode::Nat,
                scheduler: "rr".to_string(),
                requests: 12
            })
        );
    }

    #[test]
    fn every_option() {
        assert_eq!(
            parse(&args(&["--mode", "dr", "-s", "wrr", "--requests", "60"])).unwrap(),
            Parsed::Run(DemoOptions {
                mode: Mode::Dr,
                scheduler: "wrr".to_string(),
                requests: 60
            })
        );
        assert_eq!(parse(&args(&["--help"])).unwrap(), Parsed::Help);
    }

    #[test]
    fn bad_options_are_explained() {
        assert_eq!(
            parse(&args(&["--mode", "fullnat"])).unwrap_err(),
            "unknown mode `fullnat' (expected nat, dr or tun)"
        );
        assert_eq!(
            parse(&args(&["--requests", "0"])).unwrap_err(),
            "--requests takes 1 to 1000, not `0'"
        );
        assert_eq!(
            parse(&args(&["-s"])).unwrap_err(),
            "option -s needs a value"
        );
        assert_eq!(
            parse(&args(&["-s", "w r r"])).unwrap_err(),
            "bad scheduler name `w r r'"
        );
        assert_eq!(parse(&args(&["-x"])).unwrap_err(), "unknown option `-x'");
    }

    #[test]
    fn wrr_weighs_three_two_one() {
        let options = DemoOptions {
            mode: Mode::Nat,
            scheduler: "wrr".to_string(),
            requests: 12,
        };
        let vip = "198.18.1.100:80".parse().unwrap();
        let servers: Vec<SocketAddrV4> = ["198.18.2.11:80", "198.18.2.12:80", "198.18.2.13:80"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let lines: Vec<String> = service_commands(vip, &servers, &options)
            .iter()
            .map(|c| c.join(" "))
            .collect();
        assert_eq!(
            lines,
            [
                "-A -t 198.18.1.100:80 -s wrr",
                "-a -t 198.18.1.100:80 -r 198.18.2.11:80 -m -w 3",
                "-a -t 198.18.1.100:80 -r 198.18.2.12:80 -m -w 2",
                "-a -t 198.18.1.100:80 -r 198.18.2.13:80 -m -w 1",
            ]
        );
        let rr = DemoOptions {
            mode: Mode::Tun,
            scheduler: "rr".to_string(),
            requests: 12,
        };
        assert_eq!(
            service_commands(vip, &servers[..1], &rr)[1].join(" "),
            "-a -t 198.18.1.100:80 -r 198.18.2.11:80 -i -w 1"
        );
    }
}

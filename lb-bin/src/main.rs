//! `lb`: a userspace IP Virtual Server.
//!
//! Subcommands: `director` (the daemon), `ipvsadm` (the admin client; also when started
//! under the name `ipvsadm`), `realserver` (a real server's set-up and the userspace IPIP
//! decapsulator), `demo` (a lab in network namespaces), `sim` (the scheduler simulator),
//! `replay` (a capture run through the packet path).

use std::process::ExitCode;

mod demo;
mod director;
mod ipvsadm_client;
mod realserver;
mod replay;
mod sim;

const USAGE: &str = "\
lb: Linux IP Virtual Server in userspace

Usage:
  lb sim [SCRIPT]          run a script of ipvsadm commands and connect/close/advance
                           lines against the engine on a simulated clock
                           (SCRIPT omitted or '-': read standard input)
  lb sim --workload [OPTIONS]
                           generate a seeded workload, run it through several
                           schedulers at once, print a per-server table
  lb replay --rules FILE --in IN.pcap --out OUT.pcap [--config FILE] [OPTIONS]
                           run a capture through the director's packet path and
                           write what it sends (see 'lb replay --help')
  lb realserver setup|check|teardown --mode dr|tun --vip ADDR [--dev NAME]
                           prepare, check or undo a real server (see 'lb realserver help')
  lb director [OPTIONS]    run the director daemon (see 'lb director --help')
  lb ipvsadm ARGS...       send an ipvsadm command to the running director
                           (also: this binary started under the name 'ipvsadm')
  lb demo [--mode nat|dr|tun] [-s SCHED] [--requests N]
                           build a lab of network namespaces, run a director in it
                           and show which real server answers (needs root)
  lb help                  this text

Workload options:
  --schedulers LIST        comma-separated (default rr,wrr,lc,wlc,sed,nq,sh,mh,twos)
  --weights LIST           one weight per real server (default 3,2,1,1)
  --clients N              distinct client addresses (default 500)
  --conns N                connections to generate (default 20000)
  --rate R                 mean arrivals per second (default 200)
  --lifetime S             mean connection lifetime in seconds (default 5)
  --seed N                 generator seed (default 1)
  --samples N              points of the time series (default 100)
  --svg FILE               also write the plot as SVG to FILE

Script lines (see docs/sim.md):
  any ipvsadm command as 'ipvsadm -R' reads it (-A -E -D -C -a -e -d -Z --set -L/-l -S)
  connect -t|-u|--sctp-service VIP:PORT CLIENT:PORT
                           open a connection (TCP handshake, UDP datagram, SCTP
                           INIT...COOKIE ACK); prints the real server or '-'
  connect -f MARK CLIENT:PORT [DADDR:DPORT]
  close CLIENT:PORT -t|-u|--sctp-service VIP:PORT   (or -f MARK [DADDR:DPORT])
                           TCP FIN exchange, SCTP SHUTDOWN exchange (not UDP)
  advance SECONDS          move the clock on (connections, templates expire,
                           the rate estimator runs)
  # comments and blank lines
";

fn main() -> ExitCode {
    let argv0 = std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if std::path::Path::new(&argv0).file_name() == Some(std::ffi::OsStr::new("ipvsadm")) {
        return ipvsadm_client::main(&argv0, &args);
    }
    match args.first().map(String::as_str) {
        Some("director") => director::main(&args[1..]),
        Some("ipvsadm") => ipvsadm_client::main("ipvsadm", &args[1..]),
        Some("sim") => sim::main(&args[1..]),
        Some("replay") => replay::main(&args[1..]),
        Some("realserver") => realserver::main(&args[1..]),
        Some("demo") => demo::main(&args[1..]),
        Some("help") | Some("-h") | Some("--help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("lb: unknown command `{other}'; try `lb help'");
            ExitCode::from(2)
        }
        None => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

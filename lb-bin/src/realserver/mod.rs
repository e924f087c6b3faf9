//! `lb realserver`: prepares a host to be a real server behind a DR or TUN director, as the
//! LVS tutorials' real-server scripts do, checks it, and undoes it; and, where the kernel
//! has no `ipip` module, decapsulates tunnelled packets in userspace (see
//! docs/realserver.md).
//!
//! - [`args`]: the command line;
//! - [`plan`]: what a prepared real server looks like (pure);
//! - [`check`]: what is wrong, from the plan and what was observed (pure);
//! - [`system`]: `ip`, /proc/sys, and observing the host;
//! - [`setup`] / [`teardown`]: carrying out and undoing the plan;
//! - [`state`]: what `setup` changed, for `teardown` to restore;
//! - [`daemon`]: the decapsulator in the background: pid file, start, stop;
//! - [`decap`]: the decapsulator itself.

mod args;
mod check;
mod daemon;
mod decap;
mod plan;
mod setup;
mod state;
mod system;
mod teardown;

use std::process::ExitCode;

use args::Options;

const USAGE: &str = "\
Usage:
  lb realserver setup    --mode dr|tun --vip ADDR [--dev NAME]
  lb realserver check    --mode dr|tun --vip ADDR [--dev NAME]
  lb realserver teardown --mode dr|tun --vip ADDR [--dev NAME]
  lb realserver decap    [--dev NAME] [--vip ADDR]...

  setup     put the VIP on lo (dr) or on the tunnel device (tun), set arp_ignore=1,
            arp_announce=2 (and rp_filter=0 for tun); without the kernel's ipip module,
            create TUN device NAME (default lbtun0) and start the decapsulator
  check     print each thing that is not so, one per line (exit 1), or one 'ok' line
  teardown  undo setup for this VIP (settings restored with the last VIP)
  decap     run the userspace decapsulator in the foreground (what setup starts)
";

/// Runs `lb realserver ARGS`.
pub fn main(args: &[String]) -> ExitCode {
    let Some(command) = args.first().map(String::as_str) else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    if matches!(command, "help" | "-h" | "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if !matches!(command, "setup" | "check" | "teardown" | "decap") {
        eprintln!("lb realserver: unknown command `{command}'");
        eprint!("{USAGE}");
        return ExitCode::from(2);
    }
    if command != "check" && !lb_io::link::netns::running_as_root() {
        eprintln!(
            "lb realserver {command}: must run as root (it changes addresses, devices and /proc/sys/net settings)"
        );
        return ExitCode::from(1);
    }
    if command == "decap" {
        return match args::parse_decap_options(rest) {
            Err(message) => usage_error(command, &message),
            Ok(options) => finish(command, decap::run(&options).map(|()| Vec::new())),
        };
    }
    let options = match args::parse_options(rest) {
        Ok(options) => options,
        Err(message) => return usage_error(command, &message),
    };
    let plan = plan_for(&options);
    match command {
        "setup" => finish(command, setup::run(&plan)),
        "teardown" => finish(command, teardown::run(&plan)),
        _ => run_check(&plan),
    }
}

/// The plan for `options` on this host. Without `--dev`, a VIP that `setup` recorded keeps
/// the device it was set up on.
fn plan_for(options: &Options) -> plan::Plan {
    let mut options = options.clone();
    if options.dev.is_none() {
        if let Ok(saved) = state::load() {
            options.dev = saved
                .vips
                .iter()
                .find(|(mode, addr, _)| mode == options.mode.name() && *addr == options.vip)
                .map(|(_, _, dev)| dev.clone());
        }
    }
    plan::plan(&options, &system::host_facts())
}

/// `check`: the problems, one per line, or the ok line.
fn run_check(plan: &plan::Plan) -> ExitCode {
    let problems = check::problems(plan, &system::observe(plan));
    if problems.is_empty() {
        println!("{}", check::ok_line(plan));
        ExitCode::SUCCESS
    } else {
        for problem in problems {
            println!("{problem}");
        }
        ExitCode::from(1)
    }
}

/// Prints what a command did, or its error.
fn finish(command: &str, result: anyhow::Result<Vec<String>>) -> ExitCode {
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("lb realserver {command}: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn usage_error(command: &str, message: &str) -> ExitCode {
    eprintln!("lb realserver {command}: {message}");
    eprint!("{USAGE}");
    ExitCode::from(2)
}

//! `lb ipvsadm ARGS` (also the binary started as `ipvsadm`): one ipvsadm invocation, sent
//! to the running director over its control socket (`LB_CONTROL`, else
//! `/run/lb/control.sock`); its output printed, its exit status returned.
//!
//! The command line is first read here, with the same parser the director uses, so that a
//! usage error is reported (with ipvsadm's words and exit status) without a director, and
//! `-h` / `-v` are answered here. `-R` sends standard input along.

use std::io::{Read, Write};
use std::process::ExitCode;

use lb_core::ipvsadm::{help_text, parse_with, version_text, Command, WellKnownServices};

use crate::director::protocol::{call, CallError, Request};
use crate::director::{control_path, io_reason};

/// The exit status for `code` (ipvsadm's -1 is 255).
fn exit(code: i32) -> ExitCode {
    ExitCode::from((code & 0xff) as u8)
}

/// Runs `program ARGS` (`program`: the name ipvsadm calls itself in its messages).
pub fn main(program: &str, args: &[String]) -> ExitCode {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let command = match parse_with(&argv, &WellKnownServices) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}", e.message(program));
            return exit(e.exit_code());
        }
    };
    match command {
        Command::Help => {
            print!("{}", help_text(program));
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            print!("{}", version_text());
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let mut stdin = String::new();
    if matches!(command, Command::Restore) {
        let mut bytes = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
            eprintln!("{program}: reading standard input: {}", io_reason(&e));
            return ExitCode::from(2);
        }
        stdin = String::from_utf8_lossy(&bytes).into_owned();
    }
    let request = Request {
        program: program.to_string(),
        args: args.to_vec(),
        stdin,
    };
    let path = control_path();
    match call(&path, &request) {
        Ok(response) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(response.stdout.as_bytes());
            let _ = out.flush();
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(response.stderr.as_bytes());
            exit(response.exit_code)
        }
        Err(CallError::Connect(e)) => {
            eprintln!(
                "Can't initialize ipvs: no lb director is running ({}: {})",
                path.display(),
                io_reason(&e)
            );
            eprintln!("Start one with 'lb director'.");
            ExitCode::from(2)
        }
        Err(CallError::Exchange(e)) => {
            eprintln!(
                "Can't initialize ipvs: the lb director at {} did not answer ({})",
                path.display(),
                io_reason(&e)
            );
            ExitCode::from(2)
        }
    }
}

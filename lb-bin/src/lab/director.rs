//! `lb director` running in a lab's director namespace, and `lb ipvsadm` talking to it over
//! its control socket.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::command::{describe, output_of};
use super::error::{LabError, Result};
use super::process::{LabProcess, Stopped};
use super::topology::Lab;

/// How long the director may take to print `lb director: ready`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// The line the director prints on standard error once it serves.
pub const READY_LINE: &str = "lb director: ready";

/// A running director; stopped (SIGTERM) when dropped. Drop it before its [`Lab`].
#[derive(Debug)]
pub struct Director {
    process: LabProcess,
    lb: PathBuf,
    control: PathBuf,
}

/// What one `lb ipvsadm` invocation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsadmOutput {
    /// Its exit code (-1 when killed by a signal).
    pub code: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Director {
    /// Starts `LB director` in the lab's director namespace with the lab's interfaces,
    /// gateway, a control socket and a rules file in the lab's temporary directory, plus
    /// `extra` arguments; returns once it has printed that it is ready.
    pub fn start(lab: &Lab, lb: &Path, extra: &[&str]) -> Result<Director> {
        let control = lab.temp_path("control.sock");
        let rules = lab.temp_path("rules");
        let mut command = lab.director.command(lb);
        command
            .arg("director")
            .args(lab.director_args())
            .arg("--control")
            .arg(&control)
            .arg("--rules")
            .arg(&rules)
            .args(extra);
        let mut process = LabProcess::spawn("lb director", command)?;
        process.wait_for_stderr(READY_LINE, READY_TIMEOUT)?;
        Ok(Director {
            process,
            lb: lb.to_path_buf(),
            control,
        })
    }

    /// Its control socket.
    pub fn control(&self) -> &Path {
        &self.control
    }

    /// What it has printed on standard error (its log).
    pub fn log(&self) -> String {
        self.process.stderr()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.process.exited().is_none()
    }

    /// The command `lb ipvsadm ARGS…` aimed at this director (`LB_CONTROL` set).
    pub fn ipvsadm_command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.lb);
        command
            .arg("ipvsadm")
            .args(args)
            .env("LB_CONTROL", &self.control);
        command
    }

    /// Runs `lb ipvsadm ARGS…` against this director, whatever its exit code.
    pub fn ipvsadm(&self, args: &[&str]) -> Result<IpvsadmOutput> {
        let output = output_of(&mut self.ipvsadm_command(args))?;
        Ok(IpvsadmOutput {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Runs `lb ipvsadm ARGS…`; its standard output, or an error with what it printed when
    /// the exit code is not 0.
    pub fn ipvsadm_ok(&self, args: &[&str]) -> Result<String> {
        let output = self.ipvsadm(args)?;
        if output.code == 0 {
            Ok(output.stdout)
        } else {
            Err(LabError::new(format!(
                "{}: exit {}: {}{}",
                describe(&self.ipvsadm_command(args)),
                output.code,
                output.stdout,
                output.stderr
            )))
        }
    }

    /// Stops it (SIGTERM; SIGKILL after a bound) and returns how it ended.
    pub fn stop(self) -> Result<Stopped> {
        self.process.stop()
    }
}

//! Child processes of the lab (the director, nginx, tcpdump, …): their output collected as
//! they run, waits on it bounded in time, and an end on drop — SIGTERM, then SIGKILL when
//! the process has not exited within a bound.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

use super::command::describe;
use super::error::{LabError, Result};

/// How long a process may take to exit after SIGTERM before it gets SIGKILL.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(3);

/// How long the output readers may take to reach the end after the process exited.
const READER_TIMEOUT: Duration = Duration::from_secs(1);

/// What a process printed so far.
#[derive(Debug, Default)]
struct Printed {
    stdout: String,
    stderr: String,
}

/// A running child process whose standard output and error are collected by two threads.
/// Dropping it ends the process (see [`LabProcess::stop`]).
#[derive(Debug)]
pub struct LabProcess {
    label: String,
    child: Child,
    printed: Arc<Mutex<Printed>>,
    readers: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
}

/// How a stopped process ended and everything it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// Its exit status.
    pub status: ExitStatus,
    /// Whether it had to be killed with SIGKILL (it ignored SIGTERM for [`STOP_TIMEOUT`]).
    pub killed: bool,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl LabProcess {
    /// Starts `command` (standard input empty, output collected). `label` names it in
    /// errors.
    /// The process leads a new process group; signals go to the whole group, so that
    /// what it started itself ends with it.
    pub fn spawn(label: &str, mut command: Command) -> Result<LabProcess> {
        use std::os::unix::process::CommandExt;
        let mut child = command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| LabError::new(format!("{label}: starting {}: {e}", describe(&command))))?;
        let printed = Arc::new(Mutex::new(Printed::default()));
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let printed = Arc::clone(&printed);
            readers.push(std::thread::spawn(move || {
                collect(stdout, |line| lock(&printed).stdout.push_str(line))
            }));
        }
        if let Some(stderr) = child.stderr.take() {
            let printed = Arc::clone(&printed);
            readers.push(std::thread::spawn(move || {
                collect(stderr, |line| lock(&printed).stderr.push_str(line))
            }));
        }
        Ok(LabProcess {
            label: label.to_string(),
            child,
            printed,
            readers,
            status: None,
        })
    }

    /// The name given at [`spawn`](LabProcess::spawn).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it printed on standard output so far.
    pub fn stdout(&self) -> String {
        lock(&self.printed).stdout.clone()
    }

    /// What it printed on standard error so far.
    pub fn stderr(&self) -> String {
        lock(&self.printed).stderr.clone()
    }

    /// Its exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits until its standard error contains `needle`; an error (with what it printed)
    /// when it exits first or `timeout` passes.
    pub fn wait_for_stderr(&mut self, needle: &str, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        loop {
            if self.stderr().contains(needle) {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                // The readers may still hold the last lines.
                std::thread::sleep(Duration::from_millis(50));
                if self.stderr().contains(needle) {
                    return Ok(());
                }
                return Err(LabError::new(format!(
                    "{} exited ({status}) before printing `{needle}'; it printed:\n{}{}",
                    self.label,
                    self.stdout(),
                    self.stderr()
                )));
            }
            if start.elapsed() > timeout {
                return Err(LabError::new(format!(
                    "{} did not print `{needle}' within {timeout:?}; it printed:\n{}{}",
                    self.label,
                    self.stdout(),
                    self.stderr()
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal to its process group (no effect once it has exited).
    pub fn signal(&mut self, signal: Signal) -> Result<()> {
        if self.exited().is_some() {
            return Ok(());
        }
        send_group_signal(self.pid(), signal)
            .map_err(|e| LabError::new(format!("{}: sending {signal:?}: {e}", self.label)))
    }

    /// Ends it: SIGTERM, then SIGKILL if it has not exited within [`STOP_TIMEOUT`]; returns
    /// how it ended and all it printed.
    pub fn stop(mut self) -> Result<Stopped> {
        self.end()
    }

    fn end(&mut self) -> Result<Stopped> {
        let mut killed = false;
        if self.exited().is_none() {
            // It may exit between the check and the signal; a failed signal is then fine.
            let _ = send_group_signal(self.pid(), Signal::TERM);
            let start = Instant::now();
            while self.exited().is_none() && start.elapsed() < STOP_TIMEOUT {
                std::thread::sleep(Duration::from_millis(10));
            }
            if self.exited().is_none() {
                killed = true;
                let _ = send_group_signal(self.pid(), Signal::KILL);
                let _ = self.child.kill();
            }
        }
        let status = match self.status {
            Some(status) => status,
            None => self
                .child
                .wait()
                .map_err(|e| LabError::new(format!("{}: waiting: {e}", self.label)))?,
        };
        self.status = Some(status);
        // Something the process left behind may hold its output open: wait for the
        // readers a bounded time only.
        let start = Instant::now();
        while self.readers.iter().any(|r| !r.is_finished()) && start.elapsed() < READER_TIMEOUT {
            std::thread::sleep(Duration::from_millis(5));
        }
        for reader in self.readers.drain(..) {
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        Ok(Stopped {
            status,
            killed,
            stdout: self.stdout(),
            stderr: self.stderr(),
        })
    }
}

impl Drop for LabProcess {
    fn drop(&mut self) {
        let _ = self.end();
    }
}

/// Sends `signal` to process `pid`.
pub fn send_signal(pid: u32, signal: Signal) -> std::io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad pid"))?;
    rustix::process::kill_process(pid, signal).map_err(std::io::Error::from)
}

/// Sends `signal` to the process group led by `pid`.
pub fn send_group_signal(pid: u32, signal: Signal) -> std::io::Result<()> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad pid"))?;
    rustix::process::kill_process_group(pid, signal).map_err(std::io::Error::from)
}

/// Reads `stream` to its end, handing each line (with its newline) to `sink`.
fn collect(stream: impl Read, mut sink: impl FnMut(&str)) {
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => sink(&String::from_utf8_lossy(&line)),
        }
    }
}

fn lock(printed: &Mutex<Printed>) -> std::sync::MutexGuard<'_, Printed> {
    printed
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn output_is_collected_and_waited_for() {
        let mut process =
            LabProcess::spawn("talker", shell("echo out; echo ready >&2; sleep 30")).unwrap();
        process
            .wait_for_stderr("ready", Duration::from_secs(5))
            .unwrap();
        let stopped = process.stop().unwrap();
        assert_eq!(stopped.stdout, "out\n");
        assert_eq!(stopped.stderr, "ready\n");
        assert!(!stopped.killed);
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&stopped.status),
            Some(15)
        );
    }

    #[test]
    fn a_process_ignoring_sigterm_is_killed() {
        let mut process = LabProcess::spawn(
            "stubborn",
            shell("trap '' TERM; echo trapped >&2; while :; do sleep 1; done"),
        )
        .unwrap();
        process
            .wait_for_stderr("trapped", Duration::from_secs(5))
            .unwrap();
        let stopped = process.stop().unwrap();
        assert!(stopped.killed);
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&stopped.status),
            Some(9)
        );
    }

    #[test]
    fn waiting_reports_an_early_exit() {
        let mut process = LabProcess::spawn("quitter", shell("echo bye >&2; exit 4")).unwrap();
        let error = process
            .wait_for_stderr("ready", Duration::from_secs(5))
            .unwrap_err();
        assert_eq!(
            error.message(),
            "quitter exited (exit status: 4) before printing `ready'; it printed:\nbye\n"
        );
    }

    #[test]
    fn waiting_is_bounded() {
        let mut process = LabProcess::spawn("sleeper", shell("sleep 30")).unwrap();
        let start = Instant::now();
        let error = process
            .wait_for_stderr("ready", Duration::from_millis(200))
            .unwrap_err();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(
            error.message(),
            "sleeper did not print `ready' within 200ms; it printed:\n"
        );
    }
}

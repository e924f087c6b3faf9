//! The userspace decapsulator as a background process: where its pid file is, starting it,
//! finding it, stopping it.
//!
//! The pid file is `/run/lb/realserver-net<ID>-<DEV>.pid`, where ID is the inode of the
//! network namespace (`stat -L -c %i /proc/self/ns/net`), so that decapsulators of devices
//! of the same name in different namespaces (as in the test lab) do not meet. Its standard
//! error goes to the `.log` file beside it. The decapsulator writes the pid file itself
//! once it serves the device; a pid file counts only while its process is alive, is an
//! `lb realserver decap`, and is in this namespace.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use lb_bin::lab::process::send_signal;
use rustix::process::Signal;

use super::system::netns_id;

/// The directory of the pid and log files.
pub const RUN_DIR: &str = "/run/lb";

/// What the decapsulator prints on its standard output once it serves the device.
pub const READY_LINE: &str = "ready";

/// How long `setup` waits for the decapsulator to be ready.
const START_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `teardown` waits for it to exit after SIGTERM, then after SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the wait for an exit looks.
const STOP_POLL: Duration = Duration::from_millis(20);

/// The pid file of the decapsulator of `dev` in this namespace.
pub fn pid_file(dev: &str) -> Result<PathBuf> {
    Ok(PathBuf::from(format!(
        "{RUN_DIR}/realserver-net{}-{dev}.pid",
        netns_id()?
    )))
}

/// The log file of the decapsulator of `dev` in this namespace.
pub fn log_file(dev: &str) -> Result<PathBuf> {
    Ok(PathBuf::from(format!(
        "{RUN_DIR}/realserver-net{}-{dev}.log",
        netns_id()?
    )))
}

/// The pid of the running decapsulator of `dev` in this namespace, if there is one.
pub fn running(dev: &str) -> Option<u32> {
    let text = fs::read_to_string(pid_file(dev).ok()?).ok()?;
    let pid: u32 = text.trim().parse().ok()?;
    is_decapsulator(pid).then_some(pid)
}

/// Whether `pid` is alive (not a zombie), runs `lb realserver decap`, and is in this
/// network namespace.
fn is_decapsulator(pid: u32) -> bool {
    if !is_alive(pid) {
        return false;
    }
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let is_decap = args
        .windows(2)
        .any(|w| w[0] == b"realserver" && w[1] == b"decap");
    let same_netns = fs::metadata(format!("/proc/{pid}/ns/net"))
        .is_ok_and(|m| netns_id().is_ok_and(|id| id == m.ino()));
    is_decap && same_netns
}

/// Whether `pid` exists and has not exited (a zombie has).
fn is_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) S …": the state follows the last ')'.
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next());
    !matches!(state, Some("Z") | Some("X") | None)
}

/// Starts `lb realserver decap --dev DEV` in the background (its own process group,
/// standard input and output closed once it is ready, standard error to the log file) and
/// waits until it says it serves the device. Returns its pid.
pub fn start(dev: &str) -> Result<u32> {
    fs::create_dir_all(RUN_DIR).with_context(|| format!("cannot create {RUN_DIR}"))?;
    let log_path = log_file(dev)?;
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let exe = std::env::current_exe().context("cannot find the lb executable")?;
    let mut child = Command::new(exe)
        .args(["realserver", "decap", "--dev", dev])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("cannot start the decapsulator")?;
    let pid = child.id();
    let stdout = child.stdout.take().context("decapsulator has no stdout")?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.recv_timeout(START_TIMEOUT) {
        Ok(line) if line.trim() == READY_LINE => Ok(pid),
        Ok(_) => {
            let _ = child.wait();
            bail!(
                "decapsulator for {dev} failed to start: {}",
                last_line(&log_path)
            )
        }
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "decapsulator for {dev} not ready after {} s (see {})",
                START_TIMEOUT.as_secs(),
                log_path.display()
            )
        }
    }
}

/// The last non-empty line of a file, or a note that there is none.
fn last_line(path: &std::path::Path) -> String {
    fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(str::to_string)
        })
        .unwrap_or_else(|| format!("no message in {}", path.display()))
}

/// Stops the decapsulator of `dev` if one runs: SIGTERM, up to 3 s to exit, then SIGKILL and
/// up to 3 s more. Removes the pid file. Returns the pid it stopped.
pub fn stop(dev: &str) -> Result<Option<u32>> {
    let path = pid_file(dev)?;
    let Some(pid) = running(dev) else {
        let _ = fs::remove_file(&path);
        return Ok(None);
    };
    for signal in [Signal::TERM, Signal::KILL] {
        // A failure (the process exited meanwhile) shows in the wait below.
        let _ = send_signal(pid, signal);
        let deadline = Instant::now() + STOP_TIMEOUT;
        while is_alive(pid) && Instant::now() < deadline {
            thread::sleep(STOP_POLL);
        }
        if !is_alive(pid) {
            let _ = fs::remove_file(&path);
            return Ok(Some(pid));
        }
    }
    bail!("decapsulator for {dev} (pid {pid}) did not exit")
}

/// Writes this process's pid into the pid file of `dev`.
pub fn write_pid_file(dev: &str) -> Result<PathBuf> {
    fs::create_dir_all(RUN_DIR).with_context(|| format!("cannot create {RUN_DIR}"))?;
    let path = pid_file(dev)?;
    fs::write(&path, format!("{}\n", std::process::id()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Removes the pid file of `dev` if it names this process.
pub fn remove_own_pid_file(dev: &str) {
    if let Ok(path) = pid_file(dev) {
        let ours = fs::read_to_string(&path)
            .is_ok_and(|text| text.trim() == std::process::id().to_string());
        if ours {
            let _ = fs::remove_file(path);
        }
    }
}

/// Removes the log file of `dev`'s decapsulator.
pub fn remove_log(dev: &str) {
    if let Ok(path) = log_file(dev) {
        let _ = fs::remove_file(path);
    }
}

/// Removes every file this namespace has in [`RUN_DIR`]: the pid and log files of `dev`
/// and the state file. For a decapsulator whose namespace has been deleted.
pub fn remove_namespace_files(dev: &str) {
    remove_own_pid_file(dev);
    remove_log(dev);
    if let Ok(path) = super::state::path() {
        let _ = fs::remove_file(path);
    }
}

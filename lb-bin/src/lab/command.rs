//! Running the helper programs the lab drives (`ip`, `ethtool`, `tcpdump`, …) and finding
//! them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::error::{LabError, Result};

/// Directories searched after `PATH`: a non-root `PATH` often lacks the `sbin` ones, where
/// `ip`, `ethtool`, `nginx` and `tcpdump` live.
const EXTRA_DIRS: [&str; 4] = ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin"];

/// Where `program` is: itself when it contains a `/`, else the first executable file of that
/// name in `PATH` or in the usual `sbin` directories.
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return is_executable(&path).then_some(path);
    }
    let path_var = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path_var)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// Like [`find_program`], with an error naming the program when it is missing.
pub fn require_program(program: &str) -> Result<PathBuf> {
    find_program(program)
        .ok_or_else(|| LabError::new(format!("`{program}' is not installed (not found in PATH)")))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs `program args…` to completion; its standard output on success, else an error with
/// the command line, the exit status and the standard error.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    let mut command = Command::new(program);
    command.args(args);
    run_command(&mut command)
}

/// Runs a prepared command to completion (standard input empty); its standard output on
/// success, else an error describing the command and what it printed.
pub fn run_command(command: &mut Command) -> Result<String> {
    let output = output_of(command)?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(LabError::new(format!(
            "{}: {}: {}",
            describe(command),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        )))
    }
}

/// Runs a prepared command to completion (standard input empty) and returns everything it
/// did, whatever its exit status; an error only when it could not be started.
pub fn output_of(command: &mut Command) -> Result<Output> {
    command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LabError::new(format!("{}: {e}", describe(command))))
}

/// A command line as a shell user would type it (arguments separated by spaces).
pub fn describe(command: &Command) -> String {
    let mut words = vec![command.get_program().to_string_lossy().into_owned()];
    words.extend(command.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_returns_standard_output() {
        assert_eq!(run("echo", &["a", "b"]).unwrap(), "a b\n");
    }

    #[test]
    fn a_failing_command_is_described() {
        let error = run("sh", &["-c", "echo oops >&2; exit 3"]).unwrap_err();
        assert_eq!(
            error.message(),
            "sh -c echo oops >&2; exit 3: exit status: 3: oops"
        );
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let error = run("lb-no-such-program", &[]).unwrap_err();
        assert!(
            error
                .message()
                .starts_with("lb-no-such-program: No such file or directory"),
            "{error}"
        );
        assert_eq!(find_program("lb-no-such-program"), None);
        assert_eq!(
            require_program("lb-no-such-program").unwrap_err().message(),
            "`lb-no-such-program' is not installed (not found in PATH)"
        );
    }

    #[test]
    fn programs_are_found_in_path() {
        let sh = find_program("sh").unwrap();
        assert!(sh.ends_with("sh"), "{}", sh.display());
        assert_eq!(find_program("/bin/sh"), Some(PathBuf::from("/bin/sh")));
    }
}

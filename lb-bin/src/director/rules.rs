//! The rules file: the virtual-service table in the `ipvsadm -S -n` format, read at start
//! as `ipvsadm -R` reads it, and written again, atomically, after every change.
//!
//! A missing file is an empty table; the file is created at the first change. Writing goes
//! to a temporary file beside it (`.NAME.tmp`), which is flushed to disk and renamed over
//! the old one, so a crash leaves either the old rules or the new, never half of them.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use lb_core::engine::Engine;
use lb_core::ipvsadm::NumericOnly;
use lb_core::Time;

/// Why the rules file could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// It could not be read.
    Read(io::Error),
    /// `ipvsadm -R` refused some of it: what it printed on standard error.
    Refused(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Read(e) => f.write_str(&super::io_reason(e)),
            LoadError::Refused(stderr) => {
                let lines: Vec<&str> = stderr.lines().filter(|l| !l.is_empty()).collect();
                write!(f, "not accepted by ipvsadm -R: {}", lines.join("; "))
            }
        }
    }
}

/// Loads the rules at `path` into `engine` (which should be empty) at `now`; returns how
/// many lines were read (0 for a missing file).
pub fn load(engine: &Engine, path: &Path, now: Time) -> Result<usize, LoadError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(LoadError::Read(e)),
    };
    let restored = engine.ipvsadm(&["-R"], &text, now, &NumericOnly, "ipvsadm");
    if restored.exit_code != 0 || !restored.stderr.is_empty() {
        return Err(LoadError::Refused(restored.stderr));
    }
    Ok(text.lines().filter(|l| !l.trim().is_empty()).count())
}

/// The rules of `engine` as `ipvsadm -S -n` prints them.
pub fn render(engine: &Engine, now: Time) -> String {
    engine
        .ipvsadm(&["-S", "-n"], "", now, &NumericOnly, "ipvsadm")
        .stdout
}

/// Writes the rules of `engine` to `path`, atomically.
pub fn save(engine: &Engine, path: &Path, now: Time) -> io::Result<()> {
    write_atomically(path, render(engine, now).as_bytes())
}

/// The temporary file beside `path`.
fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rules".to_string());
    path.with_file_name(format!(".{name}.tmp"))
}

/// Writes `bytes` to a temporary file in `path`'s directory (created if missing), syncs it,
/// renames it to `path` and syncs the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let tmp = temporary(path);
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
        return written;
    }
    // The rename is durable once the directory is.
    File::open(&dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lb_core::engine::{EngineConfig, Settings};
    use lb_core::Ipvs;

    fn engine() -> Engine {
        Engine::new(Ipvs::new(), Settings::default(), EngineConfig::default())
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lb-rules-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    const RULES: &str = "\
-A -t 198.18.0.10:80 -s rr
-a -t 198.18.0.10:80 -r 198.19.0.11:8080 -m -w 1
-a -t 198.18.0.10:80 -r 198.19.0.12:8080 -m -w 3
-A -u 198.18.0.10:53 -s sh -b sh-port
-a -u 198.18.0.10:53 -r 198.19.0.11:53 -g -w 1
-A -f 7 -s wlc -p 1800
";

    #[test]
    fn saved_rules_load_back_identical() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("etc/lb/rules");
        let first = engine();
        let r = first.ipvsadm(&["-R"], RULES, Time::ZERO, &NumericOnly, "ipvsadm");
        assert_eq!((r.exit_code, r.stderr.as_str()), (0, ""));
        save(&first, &path, Time::ZERO).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), RULES);
        assert!(!temporary(&path).exists());

        let second = engine();
        assert_eq!(load(&second, &path, Time::ZERO).unwrap(), 6);
        assert_eq!(render(&second, Time::ZERO), RULES);

        // A later save replaces the file whole.
        let r = second.ipvsadm(
            &["-D", "-u", "198.18.0.10:53"],
            "",
            Time::ZERO,
            &NumericOnly,
            "ipvsadm",
        );
        assert_eq!(r.exit_code, 0);
        save(&second, &path, Time::ZERO).unwrap();
        let expected: String = RULES
            .lines()
            .filter(|l| !l.contains(":53"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(fs::read_to_string(&path).unwrap(), expected);
        let names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["rules"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_is_an_empty_table_and_a_bad_one_is_refused() {
        let dir = temp_dir("bad");
        let e = engine();
        assert_eq!(load(&e, &dir.join("none"), Time::ZERO).unwrap(), 0);
        assert_eq!(render(&e, Time::ZERO), "");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rules");
        fs::write(
            &path,
            "-A -t 198.18.0.10:80 -s rr\n-a -t 198.18.0.11:80 -r 198.19.0.1 -m\n",
        )
        .unwrap();
        let err = load(&engine(), &path, Time::ZERO).unwrap_err();
        assert_eq!(
            err.to_string(),
            "not accepted by ipvsadm -R: Service not defined"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}

//! A private temporary directory (configuration files, sockets, captures), removed with
//! everything in it on drop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::error::{LabError, Result};

static NEXT_DIR: AtomicU32 = AtomicU32::new(0);

/// A directory `TMPDIR/PREFIX-PID-COUNTER`, mode 0700, removed recursively on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Makes a new, empty directory.
    pub fn new(prefix: &str) -> Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
        for _ in 0..100 {
            let path = std::env::temp_dir().join(format!(
                "{prefix}-{}-{}",
                std::process::id(),
                NEXT_DIR.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(TempDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(LabError::new(format!("creating {}: {e}", path.display())));
                }
            }
        }
        Err(LabError::new(format!(
            "no free temporary directory name for {prefix}"
        )))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes a file inside it; its path.
    pub fn write(&self, name: &str, contents: &str) -> Result<PathBuf> {
        let path = self.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| LabError::new(format!("writing {}: {e}", path.display())))?;
        Ok(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_goes_away_with_its_contents() {
        let dir = TempDir::new("lbtemp").unwrap();
        let other = TempDir::new("lbtemp").unwrap();
        assert_ne!(dir.path(), other.path());
        let file = dir.write("a.conf", "x\n").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "x\n");
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists());
    }
}

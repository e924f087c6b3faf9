//! The signals the director obeys: SIGTERM and SIGINT stop it, SIGHUP re-reads its config
//! file. They are caught from the start (one arriving during start-up is acted on once the
//! director is ready) and waited for on the main thread.

use std::io;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// Stop cleanly (the signal's name).
    Stop(&'static str),
    /// Re-read the config file.
    Reload,
}

/// The signals caught.
pub struct Caught(Signals);

impl std::fmt::Debug for Caught {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Caught(SIGTERM, SIGINT, SIGHUP)")
    }
}

impl Caught {
    /// Catches SIGTERM, SIGINT and SIGHUP from now on.
    pub fn register() -> io::Result<Caught> {
        Signals::new([SIGTERM, SIGINT, SIGHUP]).map(Caught)
    }

    /// Waits for the next signal.
    pub fn wait(&mut self) -> Request {
        loop {
            match self.0.forever().next() {
                Some(SIGHUP) => return Request::Reload,
                Some(SIGINT) => return Request::Stop("SIGINT"),
                Some(SIGTERM) => return Request::Stop("SIGTERM"),
                Some(_) => continue,
                // The iterator ends only when closed, which nothing does: stop.
                None => return Request::Stop("closed signal iterator"),
            }
        }
    }
}

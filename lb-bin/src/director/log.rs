//! The director's log: leveled lines on standard error, each starting `lb director: `.
//!
//! `error` and `warn` lines say so (`lb director: error: …`, `lb director: warning: …`);
//! `info` lines carry nothing more (`lb director: ready`); `debug` lines say `debug: `.
//! The level is one number shared by every thread, changed at start and on SIGHUP.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};

/// How much the director says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Only what stops something from working.
    Error = 0,
    /// Also what works but should be looked at.
    Warn = 1,
    /// Also starts, stops, reloads and changes (the default).
    Info = 2,
    /// Also details of the set-up.
    Debug = 3,
}

impl Level {
    /// The level named `name` (`error`, `warn`, `info`, `debug`).
    pub fn from_name(name: &str) -> Option<Level> {
        match name {
            "error" => Some(Level::Error),
            "warn" => Some(Level::Warn),
            "info" => Some(Level::Info),
            "debug" => Some(Level::Debug),
            _ => None,
        }
    }

    /// The level's name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Info => "info",
            Level::Debug => "debug",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Level::Error => "error: ",
            Level::Warn => "warning: ",
            Level::Info => "",
            Level::Debug => "debug: ",
        }
    }
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Sets the level of the lines written from now on.
pub fn set_level(level: Level) {
    LEVEL.store(level as u8, Ordering::Relaxed);
}

/// Whether lines of `level` are written.
pub fn enabled(level: Level) -> bool {
    level as u8 <= LEVEL.load(Ordering::Relaxed)
}

/// The line for `message` at `level`.
pub fn line(level: Level, message: fmt::Arguments<'_>) -> String {
    format!("lb director: {}{message}\n", level.prefix())
}

/// Writes `message` at `level`, in one write so that threads' lines do not mix.
pub fn write(level: Level, message: fmt::Arguments<'_>) {
    if enabled(level) {
        let _ = std::io::stderr()
            .lock()
            .write_all(line(level, message).as_bytes());
    }
}

/// Logs at level error.
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::director::log::write($crate::director::log::Level::Error, format_args!($($arg)*))
    };
}

/// Logs at level warn.
macro_rules! warning {
    ($($arg:tt)*) => {
        $crate::director::log::write($crate::director::log::Level::Warn, format_args!($($arg)*))
    };
}

/// Logs at level info.
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::director::log::write($crate::director::log::Level::Info, format_args!($($arg)*))
    };
}

/// Logs at level debug.
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::director::log::write($crate::director::log::Level::Debug, format_args!($($arg)*))
    };
}

pub(crate) use {debug, error, info, warning};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_carry_their_level() {
        assert_eq!(
            line(Level::Info, format_args!("ready")),
            "lb director: ready\n"
        );
        assert_eq!(
            line(Level::Warn, format_args!("x {}", 1)),
            "lb director: warning: x 1\n"
        );
        assert_eq!(
            line(Level::Error, format_args!("y")),
            "lb director: error: y\n"
        );
        assert_eq!(
            line(Level::Debug, format_args!("z")),
            "lb director: debug: z\n"
        );
        for l in [Level::Error, Level::Warn, Level::Info, Level::Debug] {
            assert_eq!(Level::from_name(l.name()), Some(l));
        }
        assert_eq!(Level::from_name("loud"), None);
    }
}

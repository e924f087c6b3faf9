//! The lab's one error type: a sentence saying what failed, with the command and its output
//! where a command failed.

use std::fmt;

/// Something the lab could not do (a command that failed, a wait that timed out, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabError {
    message: String,
}

impl LabError {
    /// An error saying `message`.
    pub fn new(message: impl Into<String>) -> LabError {
        LabError {
            message: message.into(),
        }
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LabError {}

impl From<std::io::Error> for LabError {
    fn from(error: std::io::Error) -> LabError {
        LabError::new(error.to_string())
    }
}

/// The lab's result type.
pub type Result<T> = std::result::Result<T, LabError>;

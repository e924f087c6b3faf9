//! `ipvsadm -R`: commands read from a text, one invocation per line.
//!
//! ipvsadm splits each line at blanks (space, tab, carriage return) and drops every word that
//! is exactly `ipvsadm`, so `ipvsadm -A -t …` and `-A -t …` are the same line. It has no
//! comments: a `#` line reaches the option parser, which finds no command and ends the
//! restore ("Try `ipvsadm -h' …"); the `ipvsadm-restore` script filters such lines out first.

use super::command::{apply, Command};
use super::names::Resolver;
use super::parse::{parse_invocation, ParseError};
use crate::ipvs::Ipvs;

/// The words of one `-R` line (config_stream.c): split at spaces, tabs and carriage returns,
/// every `ipvsadm` word dropped.
pub fn tokenize_line(line: &str) -> Vec<&str> {
    line.split([' ', '\t', '\r', '\n'])
        .filter(|w| !w.is_empty() && *w != "ipvsadm")
        .collect()
}

/// Parses one `-R` line: `Ok(None)` for a line without words (skipped), otherwise the
/// command, as if its words were ipvsadm's arguments — except that `-R` is refused.
pub fn parse_line(line: &str, names: &dyn Resolver) -> Result<Option<Command>, ParseError> {
    let words = tokenize_line(line);
    if words.is_empty() {
        return Ok(None);
    }
    parse_invocation(&words, names, true).map(Some)
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The lines ipvsadm would have printed on stderr, in order.
    pub errors: Vec<String>,
    /// Commands that parsed but do not edit the table (listings, save, timeouts, daemons,
    /// help, version), in order, for the caller to carry out.
    pub other: Vec<Command>,
    /// ipvsadm's exit status: that of the last line processed (0, or 255 after a refused
    /// operation or a popt error), or 2/255 for a line that ended the restore.
    pub exit_code: i32,
}

/// `ipvsadm -R` with `text` as standard input: applies every line to `ipvs` as ipvsadm
/// would. A line the kernel refuses is reported and the restore goes on; a line ipvsadm
/// itself refuses (see [`ParseError::ends_restore`]) ends it, after the lines before it took
/// effect; `-h` and `-v` end it too (with status 0). Commands that do not edit the table are
/// collected in [`Restored::other`], not interleaved with the edits: a caller that needs a
/// listing in the middle of a script drives [`parse_line`] and [`apply`] itself.
pub fn restore(ipvs: &mut Ipvs, text: &str, names: &dyn Resolver) -> Restored {
    let mut out = Restored {
        errors: Vec::new(),
        other: Vec::new(),
        exit_code: 0,
    };
    for line in text.split('\n') {
        let cmd = match parse_line(line, names) {
            Ok(None) => continue,
            Ok(Some(cmd)) => cmd,
            Err(e) => {
                out.errors.push(e.to_string());
                out.exit_code = e.exit_code();
                if e.ends_restore() {
                    return out;
                }
                continue;
            }
        };
        match apply(ipvs, &cmd) {
            Ok(true) => out.exit_code = 0,
            Ok(false) => {
                out.exit_code = 0;
                let ends = matches!(cmd, Command::Help | Command::Version);
                out.other.push(cmd);
                if ends {
                    // ipvsadm prints the text and exits with 0 there and then.
                    return out;
                }
            }
            Err(e) => {
                out.errors.push(e.to_string());
                out.exit_code = e.exit_code();
            }
        }
    }
    out
}

//! One `ipvsadm` invocation against a running engine: what it prints and its exit status
//! (spec §13). The director's control socket and `lb sim` both go through here, so the
//! admin client's output is byte for byte what [`crate::ipvsadm`] renders.

use super::Engine;
use crate::ipvsadm::{self, Command, ListContext, ListTarget, ParseError, Resolver, Timeouts};
use crate::proto::UserTimeouts;
use crate::time::Time;

/// What one `ipvsadm` invocation printed, and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invocation {
    /// Its standard output.
    pub stdout: String,
    /// Its standard error (whole lines).
    pub stderr: String,
    /// Its exit status (§13.6: 0, 1 for a failed listing, 2 for ipvsadm's own checks, 255
    /// for the kernel's refusals).
    pub exit_code: i32,
    /// True when the virtual-service table was edited (a director then saves its rules).
    pub changed: bool,
}

/// The message an invocation of the connection-synchronisation daemon gets: lb has none yet.
pub const SYNC_NOT_SUPPORTED: &str =
    "Connection synchronisation (--start-daemon / --stop-daemon) is not supported by lb yet";

impl Invocation {
    fn out(text: String) -> Invocation {
        Invocation {
            stdout: text,
            ..Invocation::default()
        }
    }

    fn err(message: &str, exit_code: i32) -> Invocation {
        let mut stderr = message.to_string();
        stderr.push('\n');
        Invocation {
            stderr,
            exit_code,
            ..Invocation::default()
        }
    }

    fn parse_error(e: &ParseError, program: &str) -> Invocation {
        Invocation::err(&e.message(program), e.exit_code())
    }
}

impl Engine {
    /// Runs `ipvsadm ARGS` (without the program name) against this engine at `now`; `stdin`
    /// is what `-R` reads. `program` is the name ipvsadm calls itself in its messages.
    ///
    /// ```
    /// use lb_core::engine::{Engine, EngineConfig, Settings};
    /// use lb_core::ipvsadm::NumericOnly;
    /// use lb_core::{Ipvs, Time};
    /// let engine = Engine::new(Ipvs::new(), Settings::default(), EngineConfig::default());
    /// let run = |args: &[&str]| engine.ipvsadm(args, "", Time::ZERO, &NumericOnly, "ipvsadm");
    /// assert_eq!(run(&["-A", "-t", "198.18.0.1:80", "-s", "rr"]).exit_code, 0);
    /// let again = run(&["-A", "-t", "198.18.0.1:80"]);
    /// assert_eq!((again.stderr.as_str(), again.exit_code), ("Service already exists\n", 255));
    /// assert_eq!(run(&["-S", "-n"]).stdout, "-A -t 198.18.0.1:80 -s rr\n");
    /// ```
    pub fn ipvsadm(
        &self,
        args: &[&str],
        stdin: &str,
        now: Time,
        names: &dyn Resolver,
        program: &str,
    ) -> Invocation {
        match ipvsadm::parse_with(args, names) {
            Ok(cmd) => self.ipvsadm_command(&cmd, stdin, now, names, program),
            Err(e) => Invocation::parse_error(&e, program),
        }
    }

    /// Carries out one parsed `ipvsadm` command; see [`Engine::ipvsadm`].
    pub fn ipvsadm_command(
        &self,
        cmd: &Command,
        stdin: &str,
        now: Time,
        names: &dyn Resolver,
        program: &str,
    ) -> Invocation {
        match cmd {
            Command::List(opts) => {
                let conns = if opts.target == ListTarget::Connections {
                    self.list_entries(now)
                } else {
                    Vec::new()
                };
                let timeouts = self.user_timeouts();
                self.read(|ipvs, rates| {
                    let ctx = ListContext {
                        names,
                        rates,
                        timeouts,
                        conns: &conns,
                        ..ListContext::default()
                    };
                    match ipvsadm::list(ipvs, opts, &ctx) {
                        Ok(text) => Invocation::out(text),
                        Err(e) => Invocation::err(&e.to_string(), e.exit_code()),
                    }
                })
            }
            Command::Save { numeric } => {
                Invocation::out(self.read(|ipvs, _| ipvsadm::save(ipvs, *numeric, names)))
            }
            Command::Restore => self.restore(stdin, now, names, program),
            Command::SetTimeouts(t) => {
                let user = UserTimeouts {
                    tcp: t.tcp,
                    tcp_fin: t.tcp_fin,
                    udp: t.udp,
                };
                match self.set_timeouts(user) {
                    Ok(()) => Invocation::default(),
                    // The kernel's ERANGE, as strerror words it.
                    Err(_) => Invocation::err("Numerical result out of range", 255),
                }
            }
            Command::Zero { service } => match self.zero(service.as_ref()) {
                Ok(()) => Invocation::default(),
                Err(e) => Invocation::err(&e.to_string(), e.exit_code()),
            },
            Command::Help => Invocation::out(ipvsadm::help_text(program)),
            Command::Version => Invocation::out(ipvsadm::version_text()),
            Command::StartDaemon(_) | Command::StopDaemon { .. } => {
                Invocation::err(SYNC_NOT_SUPPORTED, 255)
            }
            Command::AddService { .. }
            | Command::EditService { .. }
            | Command::DelService { .. }
            | Command::Clear
            | Command::AddDest { .. }
            | Command::EditDest { .. }
            | Command::DelDest { .. } => match self.configure(|ipvs| ipvsadm::apply(ipvs, cmd)) {
                Ok(_) => Invocation {
                    changed: true,
                    ..Invocation::default()
                },
                Err(e) => Invocation::err(&e.to_string(), e.exit_code()),
            },
        }
    }

    /// `-R`: every line of `stdin` in turn, as ipvsadm reads them (a refused edit is
    /// reported and the rest goes on; a line ipvsadm itself refuses ends the restore).
    fn restore(&self, stdin: &str, now: Time, names: &dyn Resolver, program: &str) -> Invocation {
        let mut total = Invocation::default();
        for line in stdin.split('\n') {
            let cmd = match ipvsadm::parse_line(line, names) {
                Ok(None) => continue,
                Ok(Some(cmd)) => cmd,
                Err(e) => {
                    let r = Invocation::parse_error(&e, program);
                    total.stderr.push_str(&r.stderr);
                    total.exit_code = r.exit_code;
                    if e.ends_restore() {
                        return total;
                    }
                    continue;
                }
            };
            let r = self.ipvsadm_command(&cmd, "", now, names, program);
            total.stdout.push_str(&r.stdout);
            total.stderr.push_str(&r.stderr);
            total.exit_code = r.exit_code;
            total.changed |= r.changed;
            if matches!(cmd, Command::Help | Command::Version) {
                return total;
            }
        }
        total
    }

    /// The three timeouts `--set` changes, as `-L --timeout` shows them.
    fn user_timeouts(&self) -> Timeouts {
        let t = self.settings().timeouts.user();
        Timeouts {
            tcp: t.tcp,
            tcp_fin: t.tcp_fin,
            udp: t.udp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineConfig, Settings};
    use crate::ipvsadm::NumericOnly;
    use crate::Ipvs;

    fn engine() -> Engine {
        Engine::new(Ipvs::new(), Settings::default(), EngineConfig::default())
    }

    fn run(e: &Engine, line: &str) -> Invocation {
        let args: Vec<&str> = line.split(' ').collect();
        e.ipvsadm(&args, "", Time::ZERO, &NumericOnly, "ipvsadm")
    }

    #[test]
    fn parse_errors_keep_ipvsadm_words_and_codes() {
        let e = engine();
        let r = run(&e, "-A -t 198.18.0.1:80 -w 5");
        assert_eq!(
            (r.stderr.as_str(), r.exit_code, r.changed),
            (
                "Illegal 'weight' option with the 'add-service' command\n",
                2,
                false
            )
        );
        let r = run(&e, "-x");
        assert_eq!(r.exit_code, 255);
    }

    #[test]
    fn edits_mark_the_table_changed_and_refusals_do_not() {
        let e = engine();
        assert!(run(&e, "-A -u 198.18.0.1:53 -s wrr").changed);
        let r = run(&e, "-d -u 198.18.0.1:53 -r 198.19.0.1");
        assert_eq!(
            (r.stderr.as_str(), r.exit_code, r.changed),
            ("No such destination\n", 255, false)
        );
        assert_eq!(run(&e, "-L -t 198.18.0.9:80").exit_code, 1);
    }

    #[test]
    fn timeouts_set_listed_and_refused_beyond_31_days() {
        let e = engine();
        assert_eq!(run(&e, "--set 100 0 20").exit_code, 0);
        assert_eq!(
            run(&e, "-L --timeout").stdout,
            "Timeout (tcp tcpfin udp): 100 120 20\n"
        );
        let r = run(&e, "--set 3000000 0 0");
        assert_eq!(
            (r.stderr.as_str(), r.exit_code),
            ("invalid timeout value `3000000' specified\n", 2)
        );
        assert_eq!(
            run(&e, "-L --timeout").stdout,
            "Timeout (tcp tcpfin udp): 100 120 20\n"
        );
    }

    #[test]
    fn restore_applies_lines_and_goes_on_after_a_refusal() {
        let e = engine();
        let text = "-A -t 198.18.0.1:80 -s rr\n-A -t 198.18.0.1:80 -s rr\n-a -t 198.18.0.1:80 -r 198.19.0.1:80 -g\n";
        let r = e.ipvsadm(&["-R"], text, Time::ZERO, &NumericOnly, "ipvsadm");
        assert_eq!(
            (r.stderr.as_str(), r.exit_code, r.changed),
            ("Service already exists\n", 0, true)
        );
        assert_eq!(
            run(&e, "-S -n").stdout,
            "-A -t 198.18.0.1:80 -s rr\n-a -t 198.18.0.1:80 -r 198.19.0.1:80 -g -w 1\n"
        );
    }

    #[test]
    fn version_is_one_line() {
        let r = run(&engine(), "-v");
        assert_eq!(
            r.stdout,
            "ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n"
        );
    }

    #[test]
    fn sync_daemon_is_refused_clearly() {
        let e = engine();
        let r = run(&e, "--start-daemon master");
        assert_eq!(r.stderr, format!("{SYNC_NOT_SUPPORTED}\n"));
        assert_eq!(r.exit_code, 255);
    }
}

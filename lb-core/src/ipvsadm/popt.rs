//! The part of libpopt ipvsadm relies on: how an argument vector becomes options, option
//! arguments and leftover arguments (`poptGetNextOpt`, `poptGetArg`, `poptBadOption`).
//!
//! Rules reproduced: `--long` and `--long=value` (exact names only); `-abc` bundles of short
//! options, where an option that takes an argument takes the rest of the bundle (`-p300`,
//! and `-p=300` as popt skips one `=`), or else the next argument whatever it looks like —
//! except for an optional argument (`-p`), which is not taken when the next argument starts
//! with `-`; a single-dash word is always a bundle (ipvsadm has no one-dash long options);
//! `-` alone and any word not starting with `-` are leftovers; `--` makes everything after it
//! a leftover.

/// What an option is for ipvsadm (its `val` in the popt table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    AddService,
    EditService,
    DelService,
    Clear,
    List,
    Zero,
    AddServer,
    EditServer,
    DelServer,
    Set,
    Help,
    Version,
    Restore,
    Save,
    StartDaemon,
    StopDaemon,
    TcpService,
    UdpService,
    SctpService,
    FwmarkService,
    Scheduler,
    Persistent,
    Netmask,
    RealServer,
    Masquerading,
    Ipip,
    Gatewaying,
    Weight,
    UThreshold,
    LThreshold,
    Numeric,
    Connection,
    McastInterface,
    SyncId,
    Timeout,
    Daemon,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    NoSort,
    Sort,
    Exact,
    Ipv6,
    Ops,
    Pe,
    SchedFlags,
    McastGroup,
    McastPort,
    McastTtl,
    SyncMaxlen,
    TunInfo,
    TunType,
    TunPort,
    TunNocsum,
    TunCsum,
    TunRemcsum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Arg {
    None,
    Required,
    Optional,
}

struct OptDef {
    long: &'static str,
    short: Option<u8>,
    arg: Arg,
    tag: Tag,
}

const fn o(long: &'static str, short: Option<u8>, arg: Arg, tag: Tag) -> OptDef {
    OptDef {
        long,
        short,
        arg,
        tag,
    }
}

/// ipvsadm's option table, in its order (the first match wins).
const OPTIONS: &[OptDef] = &[
    o("add-service", Some(b'A'), Arg::None, Tag::AddService),
    o("edit-service", Some(b'E'), Arg::None, Tag::EditService),
    o("delete-service", Some(b'D'), Arg::None, Tag::DelService),
    o("clear", Some(b'C'), Arg::None, Tag::Clear),
    o("list", Some(b'L'), Arg::None, Tag::List),
    o("list", Some(b'l'), Arg::None, Tag::List),
    o("zero", Some(b'Z'), Arg::None, Tag::Zero),
    o("add-server", Some(b'a'), Arg::None, Tag::AddServer),
    o("edit-server", Some(b'e'), Arg::None, Tag::EditServer),
    o("delete-server", Some(b'd'), Arg::None, Tag::DelServer),
    o("set", None, Arg::None, Tag::Set),
    o("help", Some(b'h'), Arg::None, Tag::Help),
    o("version", Some(b'v'), Arg::None, Tag::Version),
    o("restore", Some(b'R'), Arg::None, Tag::Restore),
    o("save", Some(b'S'), Arg::None, Tag::Save),
    o("start-daemon", None, Arg::Required, Tag::StartDaemon),
    o("stop-daemon", None, Arg::Required, Tag::StopDaemon),
    o("tcp-service", Some(b't'), Arg::Required, Tag::TcpService),
    o("udp-service", Some(b'u'), Arg::Required, Tag::UdpService),
    o("sctp-service", None, Arg::Required, Tag::SctpService),
    o(
        "fwmark-service",
        Some(b'f'),
        Arg::Required,
        Tag::FwmarkService,
    ),
    o("scheduler", Some(b's'), Arg::Required, Tag::Scheduler),
    o("persistent", Some(b'p'), Arg::Optional, Tag::Persistent),
    o("netmask", Some(b'M'), Arg::Required, Tag::Netmask),
    o("real-server", Some(b'r'), Arg::Required, Tag::RealServer),
    o("masquerading", Some(b'm'), Arg::None, Tag::Masquerading),
    o("ipip", Some(b'i'), Arg::None, Tag::Ipip),
    o("gatewaying", Some(b'g'), Arg::None, Tag::Gatewaying),
    o("weight", Some(b'w'), Arg::Required, Tag::Weight),
    o("u-threshold", Some(b'x'), Arg::Required, Tag::UThreshold),
    o("l-threshold", Some(b'y'), Arg::Required, Tag::LThreshold),
    o("numeric", Some(b'n'), Arg::None, Tag::Numeric),
    o("connection", Some(b'c'), Arg::None, Tag::Connection),
    o("mcast-interface", None, Arg::Required, Tag::McastInterface),
    o("syncid", None, Arg::Required, Tag::SyncId),
    o("timeout", None, Arg::None, Tag::Timeout),
    o("daemon", None, Arg::None, Tag::Daemon),
    o("stats", None, Arg::None, Tag::Stats),
    o("rate", None, Arg::None, Tag::Rate),
    o("thresholds", None, Arg::None, Tag::Thresholds),
    o("persistent-conn", None, Arg::None, Tag::PersistentConn),
    o("nosort", None, Arg::None, Tag::NoSort),
    o("sort", None, Arg::None, Tag::Sort),
    o("exact", Some(b'X'), Arg::None, Tag::Exact),
    o("ipv6", Some(b'6'), Arg::None, Tag::Ipv6),
    o("ops", Some(b'o'), Arg::None, Tag::Ops),
    o("pe", None, Arg::Required, Tag::Pe),
    o("sched-flags", Some(b'b'), Arg::Required, Tag::SchedFlags),
    o("mcast-group", None, Arg::Required, Tag::McastGroup),
    o("mcast-port", None, Arg::Required, Tag::McastPort),
    o("mcast-ttl", None, Arg::Required, Tag::McastTtl),
    o("sync-maxlen", None, Arg::Required, Tag::SyncMaxlen),
    o("tun-info", None, Arg::None, Tag::TunInfo),
    o("tun-type", None, Arg::Required, Tag::TunType),
    o("tun-port", None, Arg::Required, Tag::TunPort),
    o("tun-nocsum", None, Arg::None, Tag::TunNocsum),
    o("tun-csum", None, Arg::None, Tag::TunCsum),
    o("tun-remcsum", None, Arg::None, Tag::TunRemcsum),
];

/// A popt error code, with popt's own wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoptError {
    /// POPT_ERROR_BADOPT.
    UnknownOption,
    /// POPT_ERROR_NOARG.
    MissingArgument,
}

impl PoptError {
    /// `poptStrerror`.
    pub fn message(self) -> &'static str {
        match self {
            PoptError::UnknownOption => "unknown option",
            PoptError::MissingArgument => "missing argument",
        }
    }
}

/// A popt context over one argument vector (without the program name).
pub(crate) struct Popt<'a> {
    args: &'a [&'a str],
    next: usize,
    /// The rest of a short-option bundle still to be read (may be empty after `-x=`).
    pending: Option<&'a str>,
    rest_leftover: bool,
    leftovers: Vec<&'a str>,
    next_leftover: usize,
}

impl<'a> Popt<'a> {
    pub(crate) fn new(args: &'a [&'a str]) -> Self {
        Popt {
            args,
            next: 0,
            pending: None,
            rest_leftover: false,
            leftovers: Vec::new(),
            next_leftover: 0,
        }
    }

    /// `poptGetNextOpt`: the next option and its argument, `Ok(None)` at the end.
    pub(crate) fn next_opt(&mut self) -> Result<Option<(Tag, Option<&'a str>)>, PoptError> {
        loop {
            if self.pending.is_none() && self.next == self.args.len() {
                return Ok(None);
            }
            let mut long_arg: Option<&'a str> = None;
            let mut found: Option<&'static OptDef> = None;
            if self.pending.is_none() {
                let word = self.args[self.next];
                self.next += 1;
                if self.rest_leftover || !word.starts_with('-') || word == "-" {
                    self.leftovers.push(word);
                    continue;
                }
                if word == "--" {
                    self.rest_leftover = true;
                    continue;
                }
                if let Some(body) = word.strip_prefix("--") {
                    let (name, value) = match body.find('=') {
                        Some(eq) => (&body[..eq], Some(&body[eq + 1..])),
                        None => (body, None),
                    };
                    let opt = OPTIONS
                        .iter()
                        .find(|d| d.long == name)
                        .ok_or(PoptError::UnknownOption)?;
                    found = Some(opt);
                    long_arg = value;
                } else {
                    self.pending = Some(&word[1..]);
                }
            }
            if let Some(bundle) = self.pending.take() {
                let c = *bundle.as_bytes().first().ok_or(PoptError::UnknownOption)?;
                let opt = OPTIONS
                    .iter()
                    .find(|d| d.short == Some(c))
                    .ok_or(PoptError::UnknownOption)?;
                // Short option names are ASCII, so byte 1 is a character boundary.
                let rest = &bundle[1..];
                if !rest.is_empty() {
                    self.pending = Some(rest.strip_prefix('=').unwrap_or(rest));
                }
                found = Some(opt);
            }
            let Some(opt) = found else {
                return Err(PoptError::UnknownOption);
            };
            let value = match opt.arg {
                Arg::None => None,
                Arg::Required | Arg::Optional => {
                    if long_arg.is_some() {
                        long_arg
                    } else if let Some(rest) = self.pending.take() {
                        Some(rest)
                    } else if self.next == self.args.len() {
                        if opt.arg == Arg::Required {
                            return Err(PoptError::MissingArgument);
                        }
                        None
                    } else if opt.arg == Arg::Optional && self.args[self.next].starts_with('-') {
                        None
                    } else {
                        let v = self.args[self.next];
                        self.next += 1;
                        Some(v)
                    }
                }
            };
            return Ok(Some((opt.tag, value)));
        }
    }

    /// `poptGetArg`: the next leftover argument.
    pub(crate) fn next_arg(&mut self) -> Option<&'a str> {
        let a = self.leftovers.get(self.next_leftover).copied();
        if a.is_some() {
            self.next_leftover += 1;
        }
        a
    }

    /// `poptBadOption(…, POPT_BADOPTION_NOALIAS)`: the argument last read.
    pub(crate) fn bad_option(&self) -> &'a str {
        match self.next.checked_sub(1) {
            Some(i) => self.args.get(i).copied().unwrap_or(""),
            None => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option read, how the reading ended, and the leftover arguments.
    type Parsed = (
        Vec<(Tag, Option<String>)>,
        Result<(), PoptError>,
        Vec<String>,
    );

    fn all(args: &[&str]) -> Parsed {
        let mut p = Popt::new(args);
        let mut out = Vec::new();
        let res = loop {
            match p.next_opt() {
                Ok(Some((t, a))) => out.push((t, a.map(str::to_string))),
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        let mut left = Vec::new();
        while let Some(a) = p.next_arg() {
            left.push(a.to_string());
        }
        (out, res, left)
    }

    #[test]
    fn bundles_and_arguments() {
        let (o, r, l) = all(&[
            "-Ln",
            "--stats",
            "x",
            "-p300",
            "-p=5",
            "-p",
            "-n",
            "--weight=7",
            "-",
            "--",
            "-A",
        ]);
        assert_eq!(r, Ok(()));
        assert_eq!(
            o,
            vec![
                (Tag::List, None),
                (Tag::Numeric, None),
                (Tag::Stats, None),
                (Tag::Persistent, Some("300".into())),
                (Tag::Persistent, Some("5".into())),
                (Tag::Persistent, None),
                (Tag::Numeric, None),
                (Tag::Weight, Some("7".into())),
            ]
        );
        assert_eq!(l, vec!["x", "-", "-A"]);
    }

    #[test]
    fn required_argument_takes_next_word() {
        let (o, r, _) = all(&["-s", "-t"]);
        assert_eq!(r, Ok(()));
        assert_eq!(o, vec![(Tag::Scheduler, Some("-t".into()))]);
        let (o, r, _) = all(&["-At1.2.3.4:80"]);
        assert_eq!(r, Ok(()));
        assert_eq!(
            o,
            vec![
                (Tag::AddService, None),
                (Tag::TcpService, Some("1.2.3.4:80".into()))
            ]
        );
    }

    #[test]
    fn errors() {
        let mut p = Popt::new(&["-LQ"]);
        assert_eq!(p.next_opt(), Ok(Some((Tag::List, None))));
        assert_eq!(p.next_opt(), Err(PoptError::UnknownOption));
        assert_eq!(p.bad_option(), "-LQ");
        let mut p = Popt::new(&["-A", "-t"]);
        assert_eq!(p.next_opt(), Ok(Some((Tag::AddService, None))));
        assert_eq!(p.next_opt(), Err(PoptError::MissingArgument));
        assert_eq!(p.bad_option(), "-t");
        let mut p = Popt::new(&["--lis"]);
        assert_eq!(p.next_opt(), Err(PoptError::UnknownOption));
        let mut p = Popt::new(&["-L="]);
        assert_eq!(p.next_opt(), Ok(Some((Tag::List, None))));
        assert_eq!(p.next_opt(), Err(PoptError::UnknownOption));
        assert_eq!(p.bad_option(), "-L=");
    }
}

//! ipvsadm's legality tables: which options each command takes or needs, and which options
//! each tunnel type takes or needs (`commands_v_options`, `tunnel_types_v_options`,
//! `generic_opt_check`, `tunnel_opt_check`), with their messages.

use super::parse::ParseError;

fn fail<T>(msg: String) -> Result<T, ParseError> {
    Err(ParseError::Fail(msg))
}

/// ipvsadm's commands, in the order of its legality table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    Add,
    Edit,
    Del,
    Flush,
    List,
    AddDest,
    DelDest,
    EditDest,
    Timeout,
    StartDaemon,
    StopDaemon,
    Restore,
    Save,
    Zero,
}

pub(crate) const CMD_NAMES: [&str; 14] = [
    "add-service",
    "edit-service",
    "delete-service",
    "flush",
    "list",
    "add-server",
    "delete-server",
    "edit-server",
    "set",
    "start-daemon",
    "stop-daemon",
    "restore",
    "save",
    "zero",
];

/// Option bits (ipvsadm's OPTC_* indexes) and their names in messages.
pub(crate) mod opt {
    pub const NUMERIC: usize = 0;
    pub const CONNECTION: usize = 1;
    pub const SERVICE: usize = 2;
    pub const SCHEDULER: usize = 3;
    pub const PERSISTENT: usize = 4;
    pub const NETMASK: usize = 5;
    pub const SERVER: usize = 6;
    pub const FORWARD: usize = 7;
    pub const WEIGHT: usize = 8;
    pub const UTHRESHOLD: usize = 9;
    pub const LTHRESHOLD: usize = 10;
    pub const MCAST: usize = 11;
    pub const TIMEOUT: usize = 12;
    pub const DAEMON: usize = 13;
    pub const STATS: usize = 14;
    pub const RATE: usize = 15;
    pub const THRESHOLDS: usize = 16;
    pub const PERSISTENTCONN: usize = 17;
    pub const NOSORT: usize = 18;
    pub const SYNCID: usize = 19;
    pub const EXACT: usize = 20;
    pub const ONEPACKET: usize = 21;
    pub const PERSISTENCE_ENGINE: usize = 22;
    pub const SCHED_FLAGS: usize = 23;
    pub const MCAST_GROUP: usize = 24;
    pub const MCAST_PORT: usize = 25;
    pub const MCAST_TTL: usize = 26;
    pub const SYNC_MAXLEN: usize = 27;
    pub const TUN_INFO: usize = 28;
    pub const TUN_TYPE: usize = 29;
    pub const TUN_PORT: usize = 30;
    pub const TUN_NOCSUM: usize = 31;
    pub const TUN_CSUM: usize = 32;
    pub const TUN_REMCSUM: usize = 33;
    pub const COUNT: usize = 34;

    pub const NAMES: [&str; COUNT] = [
        "numeric",
        "connection",
        "service-address",
        "scheduler",
        "persistent",
        "netmask",
        "real-server",
        "forwarding-method",
        "weight",
        "u-threshold",
        "l-threshold",
        "mcast-interface",
        "timeout",
        "daemon",
        "stats",
        "rate",
        "thresholds",
        "persistent-conn",
        "nosort",
        "syncid",
        "exact",
        "ops",
        "pe",
        "sched-flags",
        "mcast-group",
        "mcast-port",
        "mcast-ttl",
        "sync-maxlen",
        "tun-info",
        "tun-type",
        "tun-port",
        "tun-nocsum",
        "tun-csum",
        "tun-remcsum",
    ];
}

/// ipvsadm's table of legal command × option combinations, one row per command, one column
/// per option: `+` compulsory, `x` illegal, `1` at most one of these, ` ` optional.
const COMMANDS_V_OPTIONS: [&[u8; opt::COUNT]; 14] = [
    b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx", // add-service
    b"xx+   xxxxxxxxxxxxxxx   xxxxxxxxxx", // edit-service
    b"xx+xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-service
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // flush
    b" 11xxxxxxxxx11       xxxxxxx xxxxx", // list
    b"xx+xxx+    xxxxxxxxxxxxxxxxxx     ", // add-server
    b"xx+xxx+xxxxxxxxxxxxxxxxxxxxxxxxxxx", // delete-server
    b"xx+xxx+    xxxxxxxxxxxxxxxxxx     ", // edit-server
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // set
    b"xxxxxxxxxxx xxxxxxx xxxx    xxxxxx", // start-daemon
    b"xxxxxxxxxxxxxxxxxxx xxxxxxxxxxxxxx", // stop-daemon
    b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // restore
    b" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // save
    b"xx xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", // zero
];

pub(crate) const TUN_NAMES: [&str; 3] = ["ipip", "gue", "gre"];
/// The options checked per tunnel type: tun-port, tun-nocsum, tun-csum, tun-remcsum.
const TUN_OPTS: [usize; 4] = [
    opt::TUN_PORT,
    opt::TUN_NOCSUM,
    opt::TUN_CSUM,
    opt::TUN_REMCSUM,
];
const TUNNEL_TYPES_V_OPTIONS: [&[u8; 4]; 3] = [b"xxxx", b"+111", b"x11x"];

/// `generic_opt_check`.
pub(crate) fn generic_opt_check(cmd: Cmd, options: u64) -> Result<(), ParseError> {
    let row = COMMANDS_V_OPTIONS[cmd as usize];
    let cmd_name = CMD_NAMES[cmd as usize];
    let mut first_exclusive: Option<usize> = None;
    for (j, rule) in row.iter().enumerate() {
        if options & (1u64 << j) == 0 {
            if *rule == b'+' {
                return fail(format!(
                    "You need to supply the '{}' option for the '{cmd_name}' command",
                    opt::NAMES[j]
                ));
            }
        } else {
            if *rule == b'x' {
                return fail(format!(
                    "Illegal '{}' option with the '{cmd_name}' command",
                    opt::NAMES[j]
                ));
            }
            if *rule == b'1' {
                match first_exclusive {
                    None => first_exclusive = Some(j),
                    Some(last) => {
                        return fail(format!(
                            "The option '{}' conflicts with the '{}' option in the '{cmd_name}' command",
                            opt::NAMES[j],
                            opt::NAMES[last]
                        ))
                    }
                }
            }
        }
    }
    Ok(())
}

/// `tunnel_opt_check`.
pub(crate) fn tunnel_opt_check(tun_type: usize, options: u64) -> Result<(), ParseError> {
    let row = TUNNEL_TYPES_V_OPTIONS[tun_type];
    let tun_name = TUN_NAMES[tun_type];
    let mut first_exclusive: Option<usize> = None;
    for (j, rule) in row.iter().enumerate() {
        let k = TUN_OPTS[j];
        if options & (1u64 << k) == 0 {
            if *rule == b'+' {
                return fail(format!(
                    "You need to supply the '{}' option for the '{tun_name}' tunnel type",
                    opt::NAMES[k]
                ));
            }
        } else {
            if *rule == b'x' {
                return fail(format!(
                    "Illegal '{}' option with the '{tun_name}' tunnel type",
                    opt::NAMES[k]
                ));
            }
            if *rule == b'1' {
                match first_exclusive {
                    None => first_exclusive = Some(k),
                    Some(last) => {
                        return fail(format!(
                            "The option '{}' conflicts with the '{}' option in the '{tun_name}' tunnel type",
                            opt::NAMES[k],
                            opt::NAMES[last]
                        ))
                    }
                }
            }
        }
    }
    Ok(())
}

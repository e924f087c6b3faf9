//! The engine's tunables: the sysctls of `/proc/sys/net/ipv4/vs/` that change what happens to
//! packets (spec §12), the protocol timeouts (§5), and the memory budget that stands for the
//! machine's free memory in the defenses.

use thiserror::Error;

use crate::proto::Timeouts;

/// A defense sysctl's mode (`drop_entry`, `drop_packet`, `secure_tcp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DefenseMode {
    /// 0: off.
    #[default]
    Off,
    /// 1: automatic, currently inactive: becomes [`DefenseMode::AutoActive`] when memory is
    /// low.
    Auto,
    /// 2: automatic, currently active: back to [`DefenseMode::Auto`] when memory is no
    /// longer low.
    AutoActive,
    /// 3: always on.
    Always,
}

/// A sysctl value out of its range (the kernel answers EINVAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("Invalid argument")]
pub struct InvalidSetting;

impl DefenseMode {
    /// The mode of the sysctl value `v` (0..=3).
    pub fn from_value(v: u32) -> Result<DefenseMode, InvalidSetting> {
        Ok(match v {
            0 => DefenseMode::Off,
            1 => DefenseMode::Auto,
            2 => DefenseMode::AutoActive,
            3 => DefenseMode::Always,
            _ => return Err(InvalidSetting),
        })
    }
    /// The sysctl value.
    pub fn value(self) -> u32 {
        self as u32
    }
}

/// Default low-memory threshold: the kernel's 1024 pages of 4 KiB.
pub const DEFAULT_AMEMTHRESH: usize = 1024 * 4096;

/// The engine's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `conn_reuse_mode` (default 1): bit 0 reschedules a SYN that finds an uncontrolled
    /// TIME_WAIT/CLOSE connection, bit 1 also a FIN_WAIT one of a DR/TUN server; 0 reuses.
    pub conn_reuse_mode: u32,
    /// `expire_nodest_conn`: packets of connections whose server was deleted expire them and
    /// are scheduled anew instead of dropped.
    pub expire_nodest_conn: bool,
    /// `expire_quiescent_template`: a persistence template pointing at a weight-0 server is
    /// invalidated when next used.
    pub expire_quiescent_template: bool,
    /// `sloppy_tcp`: any non-RST segment may open a TCP connection.
    pub sloppy_tcp: bool,
    /// `sloppy_sctp`: any non-ABORT chunk may open an SCTP connection.
    pub sloppy_sctp: bool,
    /// `nat_icmp_send`: answer a NAT real server's packet for no connection with port
    /// unreachable.
    pub nat_icmp_send: bool,
    /// `drop_entry` defense.
    pub drop_entry: DefenseMode,
    /// `drop_packet` defense.
    pub drop_packet: DefenseMode,
    /// `secure_tcp` defense.
    pub secure_tcp: DefenseMode,
    /// `amemthresh`, in bytes: memory is low when less than this is left of the budget.
    pub amemthresh: usize,
    /// `am_droprate`: in `drop_packet` mode 3, drop 1 of every this many packets.
    pub am_droprate: u32,
    /// The connection table's memory budget in bytes (`usize::MAX`: none). The table never
    /// allocates past it.
    pub memory_budget: usize,
    /// Protocol timeouts (`ipvsadm --set`).
    pub timeouts: Timeouts,
}

impl Default for Settings {
    /// The kernel's defaults, and no memory budget.
    fn default() -> Self {
        Settings {
            conn_reuse_mode: 1,
            expire_nodest_conn: false,
            expire_quiescent_template: false,
            sloppy_tcp: false,
            sloppy_sctp: false,
            nat_icmp_send: false,
            drop_entry: DefenseMode::Off,
            drop_packet: DefenseMode::Off,
            secure_tcp: DefenseMode::Off,
            amemthresh: DEFAULT_AMEMTHRESH,
            am_droprate: 10,
            memory_budget: usize::MAX,
            timeouts: Timeouts::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for v in 0..4 {
            assert_eq!(DefenseMode::from_value(v).unwrap().value(), v);
        }
        assert_eq!(DefenseMode::from_value(4), Err(InvalidSetting));
    }
}

//! The path's counters: frames in and out, and every drop and pass by its cause.

use super::outcome::{Action, DropCause, PassCause};

/// What the path did, counted since the director was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathCounters {
    /// Frames received.
    pub frames_in: u64,
    /// Frames sent (in place, built, released from the neighbour cache, solicitations of
    /// the timers).
    pub frames_out: u64,
    /// Client packets forwarded to real servers.
    pub forwarded: u64,
    /// Replies sent on to clients.
    pub replied: u64,
    /// ICMP errors relayed along a connection.
    pub icmp_relayed: u64,
    /// ICMP errors about tunnel packets handled.
    pub tunnel_icmp: u64,
    /// ICMP errors built about dropped packets (port unreachable, time exceeded, too big).
    pub icmp_sent: u64,
    /// ARP / neighbour-discovery messages received.
    pub neighbour_in: u64,
    /// ARP / neighbour-discovery answers built for owned addresses.
    pub neighbour_answered: u64,
    /// Packets queued to wait for a next hop's resolution.
    pub queued: u64,
    /// Queued packets dropped: pushed out of a full queue, or their resolution failed.
    pub queue_dropped: u64,
    dropped: [u64; DropCause::COUNT],
    passed: [u64; PassCause::ALL.len()],
}

impl Default for PathCounters {
    fn default() -> Self {
        PathCounters {
            frames_in: 0,
            frames_out: 0,
            forwarded: 0,
            replied: 0,
            icmp_relayed: 0,
            tunnel_icmp: 0,
            icmp_sent: 0,
            neighbour_in: 0,
            neighbour_answered: 0,
            queued: 0,
            queue_dropped: 0,
            dropped: [0; DropCause::COUNT],
            passed: [0; PassCause::ALL.len()],
        }
    }
}

impl PathCounters {
    /// Frames dropped for `cause`.
    pub fn dropped(&self, cause: DropCause) -> u64 {
        self.dropped.get(cause.index()).copied().unwrap_or(0)
    }

    /// Frames left to the host for `cause`.
    pub fn passed(&self, cause: PassCause) -> u64 {
        self.passed.get(cause.index()).copied().unwrap_or(0)
    }

    /// Frames dropped, all causes.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    /// Frames left to the host, all causes.
    pub fn passed_total(&self) -> u64 {
        self.passed.iter().sum()
    }

    /// The drop causes counted at least once, in [`DropCause::ALL`] order.
    pub fn drops(&self) -> impl Iterator<Item = (DropCause, u64)> + '_ {
        DropCause::ALL
            .iter()
            .map(|&c| (c, self.dropped(c)))
            .filter(|&(_, n)| n > 0)
    }

    /// The pass causes counted at least once, in [`PassCause::ALL`] order.
    pub fn passes(&self) -> impl Iterator<Item = (PassCause, u64)> + '_ {
        PassCause::ALL
            .iter()
            .map(|&c| (c, self.passed(c)))
            .filter(|&(_, n)| n > 0)
    }

    /// Counts one processed frame: what happened to it, and the frames it sends in place
    /// or built (the frames a resolution released are counted where they are).
    #[inline(always)]
    pub(crate) fn record(&mut self, action: Action, in_place: bool, built: bool) {
        self.frames_in += 1;
        self.frames_out += u64::from(in_place) + u64::from(built);
        match action {
            Action::Forwarded(_) => self.forwarded += 1,
            Action::Replied => self.replied += 1,
            Action::IcmpRelayed => self.icmp_relayed += 1,
            Action::TunnelIcmp => self.tunnel_icmp += 1,
            Action::Queued => self.queued += 1,
            Action::Neighbour { answered } => {
                self.neighbour_in += 1;
                self.neighbour_answered += u64::from(answered);
            }
            Action::Dropped(cause) => {
                if let Some(n) = self.dropped.get_mut(cause.index()) {
                    *n += 1;
                }
                self.icmp_sent += u64::from(built);
            }
            Action::Passed(cause) => {
                if let Some(n) = self.passed.get_mut(cause.index()) {
                    *n += 1;
                }
            }
        }
    }
}

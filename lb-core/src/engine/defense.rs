//! The defenses against floods (spec §12; `ip_vs_ctl.c update_defense_level`,
//! `ip_vs_todrop`, `ip_vs_conn.c todrop_entry`), driven by the connection table's memory
//! budget where the kernel reads the machine's free memory: memory is "low" when less than
//! `amemthresh` bytes of the budget are left.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use super::settings::{DefenseMode, Settings};

/// The state the packet path reads, and what the once-a-second update keeps.
#[derive(Debug, Default)]
pub(crate) struct Defense {
    /// `drop_rate`: drop one of every this many new-connection packets (0: none).
    drop_rate: AtomicI64,
    drop_counter: AtomicI64,
    /// The secure TCP state table is in force.
    secure_tcp: AtomicBool,
    /// `drop_entry` is active: the periodic scan drops entries.
    drop_entry: AtomicBool,
    /// The kernel's `old_secure_tcp`.
    old_secure_tcp: AtomicU64,
    /// Entries removed by `drop_entry`.
    pub entries_dropped: AtomicU64,
}

/// What [`super::Engine::defense_status`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DefenseStatus {
    /// Memory is low (less than `amemthresh` of the budget left) at the last update.
    pub low_memory: bool,
    /// `drop_packet` drops one of every this many new-connection packets (0: off).
    pub drop_rate: u64,
    /// The secure TCP state table is in force.
    pub secure_tcp: bool,
    /// `drop_entry` scans the table.
    pub drop_entry: bool,
    /// Entries `drop_entry` has removed.
    pub entries_dropped: u64,
}

/// `todrop_entry`'s per-`in_pkts` rates and counters (the kernel's static arrays).
#[derive(Debug, Default)]
pub(crate) struct EntryDropCounters {
    counter: [i8; 9],
}

impl EntryDropCounters {
    /// True if an idle entry that received `in_pkts` packets is to be dropped now: entries
    /// with 1 packet always, with 2 every second one, … with 8 every eighth; never with 0 or
    /// more than 8.
    pub fn take(&mut self, in_pkts: u32) -> bool {
        let i = in_pkts as usize;
        if i > 8 || i == 0 {
            return false;
        }
        let rate = i as i8;
        self.counter[i] -= 1;
        if self.counter[i] > 0 {
            return false;
        }
        self.counter[i] = rate;
        true
    }
}

impl Defense {
    /// `ip_vs_todrop`: true for the packet `drop_packet` drops.
    #[inline]
    pub fn todrop(&self) -> bool {
        let rate = self.drop_rate.load(Ordering::Relaxed);
        if rate == 0 {
            return false;
        }
        if self.drop_counter.fetch_sub(1, Ordering::Relaxed) - 1 > 0 {
            return false;
        }
        self.drop_counter.store(rate, Ordering::Relaxed);
        true
    }

    /// True while the secure TCP table is in force.
    #[inline]
    pub fn secure_tcp(&self) -> bool {
        self.secure_tcp.load(Ordering::Relaxed)
    }

    /// True while `drop_entry` is active.
    pub fn drop_entry_active(&self) -> bool {
        self.drop_entry.load(Ordering::Relaxed)
    }

    /// `update_defense_level`, with `available` bytes left of the budget. The automatic modes
    /// of `settings` move between 1 and 2 as the kernel moves its sysctls.
    pub fn update(&self, settings: &mut Settings, available: usize) -> DefenseStatus {
        let amemthresh = settings.amemthresh;
        let nomem = available < amemthresh;

        let drop_entry = match settings.drop_entry {
            DefenseMode::Off => false,
            DefenseMode::Auto => {
                if nomem {
                    settings.drop_entry = DefenseMode::AutoActive;
                }
                nomem
            }
            DefenseMode::AutoActive => {
                if !nomem {
                    settings.drop_entry = DefenseMode::Auto;
                }
                nomem
            }
            DefenseMode::Always => true,
        };
        self.drop_entry.store(drop_entry, Ordering::Relaxed);

        // amemthresh / (amemthresh - availmem): how far into the threshold memory is.
        let nomem_rate = || (amemthresh / amemthresh.saturating_sub(available).max(1)) as i64;
        let rate = match settings.drop_packet {
            DefenseMode::Off => 0,
            DefenseMode::Auto => {
                if nomem {
                    settings.drop_packet = DefenseMode::AutoActive;
                    let r = nomem_rate();
                    self.drop_counter.store(r, Ordering::Relaxed);
                    r
                } else {
                    0
                }
            }
            DefenseMode::AutoActive => {
                if nomem {
                    let r = nomem_rate();
                    self.drop_counter.store(r, Ordering::Relaxed);
                    r
                } else {
                    settings.drop_packet = DefenseMode::Auto;
                    0
                }
            }
            DefenseMode::Always => i64::from(settings.am_droprate),
        };
        self.drop_rate.store(rate, Ordering::Relaxed);

        let old = self.old_secure_tcp.load(Ordering::Relaxed);
        let mut to_change: Option<bool> = None;
        match settings.secure_tcp {
            DefenseMode::Off => {
                if old >= 2 {
                    to_change = Some(false);
                }
            }
            DefenseMode::Auto => {
                if nomem {
                    if old < 2 {
                        to_change = Some(true);
                    }
                    settings.secure_tcp = DefenseMode::AutoActive;
                } else if old >= 2 {
                    to_change = Some(false);
                }
            }
            DefenseMode::AutoActive => {
                if nomem {
                    if old < 2 {
                        to_change = Some(true);
                    }
                } else {
                    if old >= 2 {
                        to_change = Some(false);
                    }
                    settings.secure_tcp = DefenseMode::Auto;
                }
            }
            DefenseMode::Always => {
                if old < 2 {
                    to_change = Some(true);
                }
            }
        }
        let now = u64::from(settings.secure_tcp.value());
        self.old_secure_tcp.store(now, Ordering::Relaxed);
        if to_change.is_some() {
            self.secure_tcp.store(now > 1, Ordering::Relaxed);
        }

        DefenseStatus {
            low_memory: nomem,
            drop_rate: rate.max(0) as u64,
            secure_tcp: self.secure_tcp(),
            drop_entry,
            entries_dropped: self.entries_dropped.load(Ordering::Relaxed),
        }
    }

    /// The current state, without an update.
    pub fn status(&self, low_memory: bool) -> DefenseStatus {
        DefenseStatus {
            low_memory,
            drop_rate: self.drop_rate.load(Ordering::Relaxed).max(0) as u64,
            secure_tcp: self.secure_tcp(),
            drop_entry: self.drop_entry_active(),
            entries_dropped: self.entries_dropped.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_packet_auto_follows_memory() {
        let d = Defense::default();
        let mut s = Settings {
            drop_packet: DefenseMode::Auto,
            amemthresh: 1000,
            ..Settings::default()
        };
        assert_eq!(d.update(&mut s, 5000).drop_rate, 0);
        assert_eq!(s.drop_packet, DefenseMode::Auto);
        // 250 left of a 1000 threshold: 1000 / 750 = 1, drop every packet.
        assert_eq!(d.update(&mut s, 250).drop_rate, 1);
        assert_eq!(s.drop_packet, DefenseMode::AutoActive);
        assert!(d.todrop());
        assert!(d.todrop());
        // 600 left: 1000 / 400 = 2, every second packet.
        assert_eq!(d.update(&mut s, 600).drop_rate, 2);
        assert_eq!(
            [d.todrop(), d.todrop(), d.todrop(), d.todrop()],
            [false, true, false, true]
        );
        assert_eq!(d.update(&mut s, 1000).drop_rate, 0);
        assert_eq!(s.drop_packet, DefenseMode::Auto);
        assert!(!d.todrop());
    }

    #[test]
    fn drop_packet_always_uses_am_droprate() {
        let d = Defense::default();
        let mut s = Settings {
            drop_packet: DefenseMode::Always,
            am_droprate: 3,
            ..Settings::default()
        };
        assert_eq!(d.update(&mut s, usize::MAX).drop_rate, 3);
        // The counter starts at 0: the first packet is dropped, then every third.
        let seq: Vec<bool> = (0..7).map(|_| d.todrop()).collect();
        assert_eq!(seq, [true, false, false, true, false, false, true]);
    }

    #[test]
    fn secure_tcp_and_drop_entry_modes() {
        let d = Defense::default();
        let mut s = Settings {
            secure_tcp: DefenseMode::Auto,
            drop_entry: DefenseMode::Auto,
            amemthresh: 100,
            ..Settings::default()
        };
        let st = d.update(&mut s, 1000);
        assert!(!st.secure_tcp && !st.drop_entry && !st.low_memory);
        let st = d.update(&mut s, 10);
        assert!(st.secure_tcp && st.drop_entry && st.low_memory);
        assert_eq!(
            (s.secure_tcp, s.drop_entry),
            (DefenseMode::AutoActive, DefenseMode::AutoActive)
        );
        let st = d.update(&mut s, 1000);
        assert!(!st.secure_tcp && !st.drop_entry);
        assert_eq!(
            (s.secure_tcp, s.drop_entry),
            (DefenseMode::Auto, DefenseMode::Auto)
        );
        s.secure_tcp = DefenseMode::Always;
        assert!(d.update(&mut s, 1000).secure_tcp);
        s.secure_tcp = DefenseMode::Off;
        assert!(!d.update(&mut s, 1000).secure_tcp);
    }

    #[test]
    fn entry_drop_rates() {
        let mut c = EntryDropCounters::default();
        assert!(!c.take(0));
        assert!(!c.take(9));
        assert_eq!((0..4).map(|_| c.take(1)).collect::<Vec<_>>(), [true; 4]);
        assert_eq!(
            (0..6).map(|_| c.take(3)).collect::<Vec<_>>(),
            [true, false, false, true, false, false]
        );
    }
}

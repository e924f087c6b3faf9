//! The scheduling of the calling thread: its policy (normal time sharing, or the realtime
//! SCHED_FIFO class) and static priority.
//!
//! The director's workers can run in SCHED_FIFO so that a worker woken by a frame runs at
//! once, rather than after the time slice of whatever ordinary process holds the CPU (up
//! to a timer tick: 4 ms at 250 Hz) — the way the kernel's own packet processing in
//! soft-interrupt context runs before every process. A new thread inherits its creator's
//! scheduling, so a thread can put itself in SCHED_FIFO, start threads that are to run
//! that way, and go back (see [`Scheduling::of_this_thread`]).

use std::io;

use crate::sys::process::{set_thread_scheduling, thread_scheduling};

/// The highest SCHED_FIFO priority Linux has.
pub const MAX_FIFO_PRIORITY: u8 = 99;

/// A scheduling policy with its static priority, as `sched_getscheduler(2)` and
/// `sched_getparam(2)` report them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scheduling {
    policy: i32,
    priority: i32,
}

impl Scheduling {
    /// Ordinary time sharing (SCHED_OTHER), what threads start with.
    pub const fn normal() -> Scheduling {
        Scheduling {
            policy: libc::SCHED_OTHER,
            priority: 0,
        }
    }

    /// The realtime SCHED_FIFO class at `priority` (1 to [`MAX_FIFO_PRIORITY`]; the kernel
    /// refuses other values).
    pub const fn fifo(priority: u8) -> Scheduling {
        Scheduling {
            policy: libc::SCHED_FIFO,
            priority: priority as i32,
        }
    }

    /// The calling thread's scheduling now.
    pub fn of_this_thread() -> io::Result<Scheduling> {
        let (policy, priority) = thread_scheduling()?;
        Ok(Scheduling { policy, priority })
    }

    /// Gives the calling thread this scheduling (threads it starts afterwards inherit it).
    /// SCHED_FIFO needs CAP_SYS_NICE (or an RLIMIT_RTPRIO at least the priority).
    pub fn apply_to_this_thread(&self) -> io::Result<()> {
        set_thread_scheduling(self.policy, self.priority)
    }

    /// Whether this is SCHED_FIFO.
    pub fn is_fifo(&self) -> bool {
        self.policy == libc::SCHED_FIFO
    }

    /// The static priority (0 outside the realtime classes).
    pub fn priority(&self) -> i32 {
        self.priority
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_thread_is_normal_and_bad_fifo_priorities_are_refused() {
        std::thread::spawn(|| {
            assert_eq!(Scheduling::of_this_thread().unwrap(), Scheduling::normal());
            Scheduling::normal().apply_to_this_thread().unwrap();
            for bad in [0, MAX_FIFO_PRIORITY + 1] {
                let e = Scheduling::fifo(bad).apply_to_this_thread().unwrap_err();
                assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "priority {bad}");
            }
            assert_eq!(Scheduling::of_this_thread().unwrap(), Scheduling::normal());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn fifo_is_taken_inherited_and_given_back() {
        std::thread::spawn(|| {
            if Scheduling::fifo(1).apply_to_this_thread().is_err() {
                eprintln!("skipping: SCHED_FIFO needs CAP_SYS_NICE");
                return;
            }
            let now = Scheduling::of_this_thread().unwrap();
            assert!(now.is_fifo());
            assert_eq!(now.priority(), 1);
            let child = std::thread::spawn(|| Scheduling::of_this_thread().unwrap())
                .join()
                .unwrap();
            assert_eq!(child, Scheduling::fifo(1));
            Scheduling::normal().apply_to_this_thread().unwrap();
            assert_eq!(Scheduling::of_this_thread().unwrap(), Scheduling::normal());
        })
        .join()
        .unwrap();
    }
}

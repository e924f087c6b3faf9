//! Facts about the running process.

/// The effective user id of the process.
pub(crate) fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory of ours and cannot fail.
    unsafe { libc::geteuid() }
}

/// The size of a memory page, in bytes (4096 where the system will not say).
pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf takes a plain integer and returns a plain integer.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

/// The calling thread's scheduling policy (without SCHED_RESET_ON_FORK) and static
/// priority.
pub(crate) fn thread_scheduling() -> std::io::Result<(i32, i32)> {
    // SAFETY: pid 0 names the calling thread; no memory of ours is touched.
    let policy = unsafe { libc::sched_getscheduler(0) };
    if policy < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid, writable sched_param that outlives the call.
    if unsafe { libc::sched_getparam(0, &mut param) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((policy & !libc::SCHED_RESET_ON_FORK, param.sched_priority))
}

/// Sets the calling thread's scheduling policy and static priority (sched_setscheduler).
pub(crate) fn set_thread_scheduling(policy: i32, priority: i32) -> std::io::Result<()> {
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: pid 0 names the calling thread; `param` is a valid sched_param that outlives
    // the call and is only read.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

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

//! Network namespaces for the lab: moving a thread into one, and whether we may.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::sys;

/// Where `ip netns add <name>` leaves the namespace file.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// Moves the calling thread (only it) into the network namespace `ip netns` knows as
/// `name`. Interfaces the thread looks up and sockets it opens afterwards (a
/// [`PacketLink`](super::PacketLink) for instance) are the namespace's; other threads stay
/// where they are. Use a dedicated thread: the only way back is entering the original
/// namespace's file (`/proc/thread-self/ns/net`, opened before).
pub fn enter_named(name: &str) -> io::Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad network namespace name",
        ));
    }
    enter(&Path::new(NETNS_RUN_DIR).join(name))
}

/// Moves the calling thread (only it) into the network namespace of the file `path`
/// (`/run/netns/<name>`, `/proc/<pid>/ns/net`, …).
pub fn enter(path: &Path) -> io::Result<()> {
    let file = File::open(path)?;
    sys::netns::enter(&file)
}

/// Whether the process runs as root (effective user id 0), which opening AF_PACKET
/// sockets and making namespaces need.
pub fn running_as_root() -> bool {
    sys::process::effective_uid() == 0
}

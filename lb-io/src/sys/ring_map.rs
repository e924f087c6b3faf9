//! The RX and TX rings of an AF_PACKET socket, mapped into our memory.
//!
//! The kernel and we hand each ring slot back and forth through the 32-bit status word at
//! the start of the slot (`tp_status` of `struct tpacket2_hdr`). The status word is only
//! ever accessed atomically: a load with *acquire* ordering before we read a slot the kernel
//! filled, a store with *release* ordering after we filled or finished with a slot. The
//! rest of a slot is handed out as a plain byte slice, and only while the slot is ours: an
//! RX slot whose status has `TP_STATUS_USER`, a TX slot whose status is
//! `TP_STATUS_AVAILABLE` (or `TP_STATUS_WRONG_FORMAT`, which the kernel leaves alone). The
//! kernel touches neither until we store a new status, and a [`RingView`] cannot store a
//! status while a slice of it is borrowed.

use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

use super::packet_socket::PacketSocket;

/// The size of the status word at the start of every slot.
pub(crate) const STATUS_LEN: usize = 4;

/// Which ring a view is of; it decides which statuses make a slot ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RingKind {
    /// The receive ring: a slot is ours while its status has `TP_STATUS_USER`.
    Rx,
    /// The transmit ring: a slot is ours while its status is `TP_STATUS_AVAILABLE` or
    /// `TP_STATUS_WRONG_FORMAT`.
    Tx,
}

impl RingKind {
    /// Whether a slot with this status belongs to us rather than to the kernel.
    pub(crate) fn owns(self, status: u32) -> bool {
        match self {
            RingKind::Rx => status & libc::TP_STATUS_USER != 0,
            RingKind::Tx => {
                status == libc::TP_STATUS_AVAILABLE || status & libc::TP_STATUS_WRONG_FORMAT != 0
            }
        }
    }
}

/// The shared memory of a socket's rings (RX first, then TX), unmapped on drop.
#[derive(Debug)]
pub(crate) struct RingMap {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: RingMap owns its mapping like a Box owns its allocation; nothing in it is tied to
// the thread that created it, so moving it to another thread is sound.
unsafe impl Send for RingMap {}

impl RingMap {
    /// Maps `len` bytes of `socket`'s rings (set up before with PACKET_RX_RING and
    /// PACKET_TX_RING), shared with the kernel.
    pub(crate) fn map(socket: &PacketSocket, len: usize) -> io::Result<RingMap> {
        if len == 0 {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        // SAFETY: a fresh mapping at an address the kernel chooses (null hint) cannot
        // overlap any memory Rust knows about; the descriptor is open for the call.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                socket.as_fd().as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::from(io::ErrorKind::Other))?;
        Ok(RingMap { base, len })
    }

    /// The two rings: bytes `[0, at)` (RX) and `[at, len)` (TX). `at` is clamped to the
    /// mapping.
    pub(crate) fn split(&mut self, at: usize) -> (RingView<'_>, RingView<'_>) {
        let at = at.min(self.len);
        let rx = RingView {
            base: self.base,
            len: at,
            kind: RingKind::Rx,
            _map: PhantomData,
        };
        let tx_ptr = self.base.as_ptr().wrapping_add(at);
        // SAFETY: `at <= len`, so `tx_ptr` lies inside (or one past the end of) the mapping,
        // which does not wrap around the address space: it is not null.
        let tx_base = unsafe { NonNull::new_unchecked(tx_ptr) };
        let tx = RingView {
            base: tx_base,
            len: self.len - at,
            kind: RingKind::Tx,
            _map: PhantomData,
        };
        (rx, tx)
    }
}

impl Drop for RingMap {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` are exactly what mmap returned and were given; every
        // RingView borrows the RingMap, so none outlives this unmapping.
        unsafe {
            libc::munmap(self.base.as_ptr().cast::<libc::c_void>(), self.len);
        }
    }
}

/// One ring of a [`RingMap`]: a run of slots, each beginning with its status word.
#[derive(Debug)]
pub(crate) struct RingView<'a> {
    base: NonNull<u8>,
    len: usize,
    kind: RingKind,
    _map: PhantomData<&'a mut [u8]>,
}

impl RingView<'_> {
    /// The status word of the slot at `offset`, or `None` if `offset` is not a 4-aligned
    /// position with 4 bytes inside the ring.
    fn status_word(&self, offset: usize) -> Option<&AtomicU32> {
        let end = offset.checked_add(STATUS_LEN)?;
        if end > self.len || !offset.is_multiple_of(STATUS_LEN) {
            return None;
        }
        let ptr = self.base.as_ptr().wrapping_add(offset).cast::<u32>();
        // SAFETY: the 4 bytes at `ptr` lie inside the mapping (checked above), which lives
        // as long as `self` borrows it. The mapping is page-aligned and `offset` a multiple
        // of 4, so `ptr` is aligned for a u32. Status words are only ever accessed
        // atomically (by us here, by the kernel with its own barriers), never through the
        // byte slices `slot_mut` hands out, which start after them.
        Some(unsafe { AtomicU32::from_ptr(ptr) })
    }

    /// The status of the slot at `offset`, loaded with acquire ordering: what the kernel
    /// wrote into the slot before it published this status is visible afterwards.
    pub(crate) fn load_status(&self, offset: usize) -> Option<u32> {
        self.status_word(offset)
            .map(|word| word.load(Ordering::Acquire))
    }

    /// Stores `status` into the slot at `offset` with release ordering: what we wrote into
    /// the slot before is visible to the kernel once it sees the new status. Returns whether
    /// `offset` was a valid slot position.
    pub(crate) fn store_status(&self, offset: usize, status: u32) -> bool {
        match self.status_word(offset) {
            Some(word) => {
                word.store(status, Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// The bytes of the slot at `offset` after its status word, up to `offset + len`, if the
    /// slot lies inside the ring and belongs to us now. `None` otherwise.
    pub(crate) fn slot_mut(&mut self, offset: usize, len: usize) -> Option<&mut [u8]> {
        let status = self.load_status(offset)?;
        if !self.kind.owns(status) {
            return None;
        }
        let end = offset.checked_add(len)?;
        if end > self.len || len < STATUS_LEN {
            return None;
        }
        let start = offset + STATUS_LEN;
        let ptr = self.base.as_ptr().wrapping_add(start);
        // SAFETY: `[start, end)` lies inside the mapping, which outlives the borrow of
        // `self`. The slot belongs to us (its status says so, read with acquire ordering),
        // so the kernel neither reads nor writes it until we store a new status, which needs
        // `&self` and so cannot happen while this `&mut` borrow of `self` lives. The slice
        // leaves out the status word, so it never overlaps an atomic access.
        Some(unsafe { std::slice::from_raw_parts_mut(ptr, end - start) })
    }
}

//! The memory an AF_XDP socket shares with the kernel: the UMEM (the frames) and the four
//! rings of descriptors (fill, completion, RX, TX).
//!
//! The UMEM is cut into chunks of equal size. Who may touch a chunk is tracked by a
//! [`Chunk`] token: one per chunk, made when the UMEM is, neither `Clone` nor `Copy`,
//! consumed when the chunk is handed to the kernel (pushed on the fill or TX ring) and made
//! again when the kernel hands the chunk back (popped from the RX or completion ring). The
//! bytes of a chunk can only be had by borrowing its token mutably, so the kernel never
//! holds a chunk we are reading or writing, and no two slices of one chunk exist at once.
//!
//! Each ring is a power-of-two array of descriptors with a producer and a consumer index
//! (free-running `u32`s). The side producing writes descriptors, then stores the producer
//! index with *release* ordering; the side consuming loads it with *acquire* ordering,
//! reads the descriptors, then stores the consumer index with *release* ordering, which
//! the producer loads with *acquire* ordering before it writes over them. Both indices are
//! only ever accessed atomically; descriptors are read and written through raw pointers,
//! only in the part of the ring the indices give to us.

use std::io;
use std::marker::PhantomData;
use std::mem::{align_of, size_of};
use std::os::fd::{AsFd, AsRawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::xdp_socket::XdpSocket;

/// Hands out a distinct id to every UMEM, so a chunk of one is never taken for another's.
static NEXT_UMEM_ID: AtomicU64 = AtomicU64::new(1);

/// A frame buffer shared with the kernel, unmapped on drop.
#[derive(Debug)]
pub(crate) struct Umem {
    base: NonNull<u8>,
    len: usize,
    chunk_size: usize,
    chunk_count: u32,
    id: u64,
}

// SAFETY: Umem owns its mapping like a Box owns its allocation; nothing in it is tied to a
// thread. Shared use (`&Umem`) only ever reaches the bytes of a chunk through a mutable
// borrow of that chunk's unique token, so two threads never reach the same bytes.
unsafe impl Send for Umem {}
// SAFETY: as above: `&Umem` gives no access to bytes without a chunk's unique token.
unsafe impl Sync for Umem {}

/// The right to one chunk of a [`Umem`]: whoever holds it may read and write the chunk.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    umem: u64,
    index: u32,
}

impl Umem {
    /// Maps `chunk_count` chunks of `chunk_size` bytes (a power of two, 2048 to the page
    /// size, as the kernel's aligned mode wants), and returns the token of each.
    pub(crate) fn new(chunk_size: usize, chunk_count: u32) -> io::Result<(Umem, Vec<Chunk>)> {
        let len = chunk_size
            .checked_mul(chunk_count as usize)
            .filter(|&l| l > 0)
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a fresh anonymous mapping at an address the kernel chooses (null hint)
        // cannot overlap any memory Rust knows about.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::from(io::ErrorKind::Other))?;
        let id = NEXT_UMEM_ID.fetch_add(1, Ordering::Relaxed);
        let umem = Umem {
            base,
            len,
            chunk_size,
            chunk_count,
            id,
        };
        let chunks = (0..chunk_count)
            .map(|index| Chunk { umem: id, index })
            .collect();
        Ok((umem, chunks))
    }

    /// What XDP_UMEM_REG registers: the whole area, no headroom.
    pub(crate) fn registration(&self) -> libc::xdp_umem_reg {
        libc::xdp_umem_reg {
            addr: self.base.as_ptr() as u64,
            len: self.len as u64,
            chunk_size: self.chunk_size as u32,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        }
    }

    /// The bytes of `chunk`, or `None` if it is a chunk of another UMEM.
    pub(crate) fn chunk_mut<'a>(&'a self, chunk: &'a mut Chunk) -> Option<&'a mut [u8]> {
        if chunk.umem != self.id || chunk.index >= self.chunk_count {
            return None;
        }
        let start = chunk.index as usize * self.chunk_size;
        let ptr = self.base.as_ptr().wrapping_add(start);
        // SAFETY: `[start, start + chunk_size)` lies inside the mapping (index below the
        // count), which lives as long as `self`. The token is unique for its chunk (made
        // once, moved around, never copied; checked to be this UMEM's) and borrowed
        // mutably for as long as the slice lives, so no other slice of these bytes exists;
        // the kernel does not touch the chunk while we hold its token (it gave it back
        // through the RX or completion ring, or never had it).
        Some(unsafe { std::slice::from_raw_parts_mut(ptr, self.chunk_size) })
    }

    /// The address (offset in the UMEM) of `chunk`'s first byte, if it is ours.
    fn addr_of(&self, chunk: &Chunk) -> Option<u64> {
        (chunk.umem == self.id && chunk.index < self.chunk_count)
            .then(|| u64::from(chunk.index) * self.chunk_size as u64)
    }

    /// The chunk holding UMEM address `addr`, and where in it `addr` is.
    fn chunk_at(&self, addr: u64) -> Option<(Chunk, usize)> {
        let size = self.chunk_size as u64;
        let index = u32::try_from(addr / size)
            .ok()
            .filter(|&i| i < self.chunk_count)?;
        Some((
            Chunk {
                umem: self.id,
                index,
            },
            (addr % size) as usize,
        ))
    }
}

impl Drop for Umem {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` are exactly what mmap returned and were given; every
        // slice of a chunk borrows the Umem, so none outlives this unmapping.
        unsafe {
            libc::munmap(self.base.as_ptr().cast::<libc::c_void>(), self.len);
        }
    }
}

/// One ring's mapping, unmapped on drop.
#[derive(Debug)]
struct RingMap {
    base: NonNull<u8>,
    len: usize,
}

impl RingMap {
    /// Maps `len` bytes of `socket` at page offset `pgoff` (one of the `XDP_*_PGOFF_*`).
    fn map(socket: &XdpSocket, pgoff: u64, len: usize) -> io::Result<RingMap> {
        let offset = libc::off_t::try_from(pgoff)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a fresh mapping at an address the kernel chooses (null hint) cannot
        // overlap any memory Rust knows about; the descriptor is open for the call.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                socket.as_fd().as_raw_fd(),
                offset,
            )
        };
        Self::from_mmap(ptr, len)
    }

    /// Anonymous memory laid out like a ring, for tests playing the kernel's part.
    #[cfg(test)]
    fn anonymous(len: usize) -> io::Result<RingMap> {
        // SAFETY: a fresh anonymous mapping (null hint) overlaps nothing Rust knows about.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        Self::from_mmap(ptr, len)
    }

    fn from_mmap(ptr: *mut libc::c_void, len: usize) -> io::Result<RingMap> {
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::from(io::ErrorKind::Other))?;
        Ok(RingMap { base, len })
    }
}

impl Drop for RingMap {
    fn drop(&mut self) {
        // SAFETY: `base` and `len` are exactly what mmap returned and were given; the ring
        // owning this map hands out no reference into it.
        unsafe {
            libc::munmap(self.base.as_ptr().cast::<libc::c_void>(), self.len);
        }
    }
}

/// A ring of descriptors of type `D`, with our cached copies of both indices.
#[derive(Debug)]
struct Ring<D> {
    producer: NonNull<u32>,
    consumer: NonNull<u32>,
    flags: NonNull<u32>,
    descs: NonNull<D>,
    mask: u32,
    size: u32,
    /// Our producer index (a producer ring: descriptors written up to here), or the
    /// kernel's last seen (a consumer ring).
    cached_prod: u32,
    /// Our consumer index (a consumer ring: descriptors read up to here), or the kernel's
    /// last seen (a producer ring).
    cached_cons: u32,
    _descs: PhantomData<D>,
    // Last: unmapped after everything pointing into it is gone.
    _map: RingMap,
}

// SAFETY: a Ring owns its mapping and points only into it; nothing is tied to a thread.
unsafe impl<D: Send> Send for Ring<D> {}

impl<D: Copy> Ring<D> {
    /// Maps the ring of `size` descriptors (a power of two) at page offset `pgoff` of
    /// `socket`, laid out as `offsets` says.
    fn map(
        socket: &XdpSocket,
        pgoff: u64,
        offsets: &libc::xdp_ring_offset,
        size: u32,
    ) -> io::Result<Ring<D>> {
        let len = ring_len::<D>(offsets, size)?;
        Ring::new(RingMap::map(socket, pgoff, len)?, offsets, size)
    }

    /// The ring in `map`, checking that `offsets` put every part inside it, aligned.
    fn new(map: RingMap, offsets: &libc::xdp_ring_offset, size: u32) -> io::Result<Ring<D>> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "AF_XDP ring layout");
        if !size.is_power_of_two() || ring_len::<D>(offsets, size)? > map.len {
            return Err(bad());
        }
        let word = |offset: u64| -> io::Result<NonNull<u32>> {
            let offset = usize::try_from(offset).map_err(|_| bad())?;
            if offset % align_of::<u32>() != 0 || offset + size_of::<u32>() > map.len {
                return Err(bad());
            }
            NonNull::new(map.base.as_ptr().wrapping_add(offset).cast::<u32>()).ok_or_else(bad)
        };
        let producer = word(offsets.producer)?;
        let consumer = word(offsets.consumer)?;
        let flags = word(offsets.flags)?;
        let desc = usize::try_from(offsets.desc).map_err(|_| bad())?;
        if desc % align_of::<D>() != 0 {
            return Err(bad());
        }
        let descs =
            NonNull::new(map.base.as_ptr().wrapping_add(desc).cast::<D>()).ok_or_else(bad)?;
        let mut ring = Ring {
            producer,
            consumer,
            flags,
            descs,
            mask: size - 1,
            size,
            cached_prod: 0,
            cached_cons: 0,
            _descs: PhantomData,
            _map: map,
        };
        ring.cached_prod = ring.load(ring.producer);
        ring.cached_cons = ring.load(ring.consumer);
        Ok(ring)
    }

    fn atomic(&self, word: NonNull<u32>) -> &AtomicU32 {
        // SAFETY: `word` is one of the ring's index or flag words: checked at construction
        // to lie inside the mapping and be aligned for a u32; the mapping lives as long as
        // `self`. These words are only ever accessed atomically, by us here and by the
        // kernel with its own barriers.
        unsafe { AtomicU32::from_ptr(word.as_ptr()) }
    }

    fn load(&self, word: NonNull<u32>) -> u32 {
        self.atomic(word).load(Ordering::Acquire)
    }

    fn store(&self, word: NonNull<u32>, value: u32) {
        self.atomic(word).store(value, Ordering::Release);
    }

    /// Whether the kernel asks to be woken up (XDP_RING_NEED_WAKEUP).
    fn needs_wakeup(&self) -> bool {
        self.load(self.flags) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    fn slot(&self, index: u32) -> *mut D {
        // In bounds: `index & mask` is below `size`, and the descriptors' `size` entries
        // were checked to lie inside the mapping.
        self.descs
            .as_ptr()
            .wrapping_add((index & self.mask) as usize)
    }

    // Producer side.

    /// How many descriptors can be written now, asking the kernel how far it read when
    /// the ring looks full.
    fn free(&mut self) -> u32 {
        let mut free = self.size - self.cached_prod.wrapping_sub(self.cached_cons);
        if free == 0 {
            self.cached_cons = self.load(self.consumer);
            free = self.size - self.cached_prod.wrapping_sub(self.cached_cons);
        }
        free
    }

    /// Writes `desc` into the next slot, if there is room; visible to the kernel after
    /// [`Ring::submit`].
    fn push(&mut self, desc: D) -> bool {
        if self.free() == 0 {
            return false;
        }
        // SAFETY: the slot lies inside the mapping (see `slot`) and is aligned (checked at
        // construction). It is ours: between the kernel's consumer index (loaded with
        // acquire ordering, so the kernel has finished reading it) and a full ring ahead.
        // Written through a raw pointer; no reference to ring memory is ever made.
        unsafe { self.slot(self.cached_prod).write(desc) };
        self.cached_prod = self.cached_prod.wrapping_add(1);
        true
    }

    /// Publishes the descriptors written so far.
    fn submit(&self) {
        self.store(self.producer, self.cached_prod);
    }

    /// How many descriptors written the kernel has not read yet.
    fn unread(&mut self) -> u32 {
        self.cached_cons = self.load(self.consumer);
        self.cached_prod.wrapping_sub(self.cached_cons)
    }

    // Consumer side.

    /// Whether a descriptor is waiting, asking the kernel when we have read all we knew of.
    fn has_next(&mut self) -> bool {
        if self.cached_cons == self.cached_prod {
            self.cached_prod = self.load(self.producer);
        }
        self.cached_cons != self.cached_prod
    }

    /// Reads the next descriptor, if one is waiting; its slot goes back to the kernel
    /// with [`Ring::release`].
    fn pop(&mut self) -> Option<D> {
        if !self.has_next() {
            return None;
        }
        // SAFETY: the slot lies inside the mapping and is aligned; the kernel published it
        // (producer index loaded with acquire ordering) and will not write it again before
        // we move the consumer index past it. Read through a raw pointer.
        let desc = unsafe { self.slot(self.cached_cons).read() };
        self.cached_cons = self.cached_cons.wrapping_add(1);
        Some(desc)
    }

    /// Gives the slots read so far back to the kernel.
    fn release(&self) {
        self.store(self.consumer, self.cached_cons);
    }
}

/// The bytes of a ring of `size` descriptors of type `D` laid out as `offsets` says.
fn ring_len<D>(offsets: &libc::xdp_ring_offset, size: u32) -> io::Result<usize> {
    usize::try_from(offsets.desc)
        .ok()
        .and_then(|d| d.checked_add((size as usize).checked_mul(size_of::<D>())?))
        .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))
}

/// The fill ring: chunks we give the kernel to receive into.
#[derive(Debug)]
pub(crate) struct FillRing(Ring<u64>);

impl FillRing {
    /// Maps the fill ring of `socket` (its size set with XDP_UMEM_FILL_RING).
    pub(crate) fn map(
        socket: &XdpSocket,
        offsets: &libc::xdp_ring_offset,
        size: u32,
    ) -> io::Result<FillRing> {
        Ring::map(socket, libc::XDP_UMEM_PGOFF_FILL_RING, offsets, size).map(FillRing)
    }

    /// Queues `chunk` for the kernel to receive into; gives it back when the ring is full
    /// or the chunk is not of `umem`.
    pub(crate) fn push(&mut self, umem: &Umem, chunk: Chunk) -> Result<(), Chunk> {
        match umem.addr_of(&chunk) {
            Some(addr) if self.0.push(addr) => Ok(()),
            _ => Err(chunk),
        }
    }

    /// Hands the queued chunks to the kernel.
    pub(crate) fn submit(&self) {
        self.0.submit();
    }

    /// Whether the driver must be woken up to take the chunks.
    pub(crate) fn needs_wakeup(&self) -> bool {
        self.0.needs_wakeup()
    }
}

/// The completion ring: chunks the kernel has sent, given back.
#[derive(Debug)]
pub(crate) struct CompletionRing(Ring<u64>);

impl CompletionRing {
    /// Maps the completion ring of `socket` (its size set with XDP_UMEM_COMPLETION_RING).
    pub(crate) fn map(
        socket: &XdpSocket,
        offsets: &libc::xdp_ring_offset,
        size: u32,
    ) -> io::Result<CompletionRing> {
        Ring::map(socket, libc::XDP_UMEM_PGOFF_COMPLETION_RING, offsets, size).map(CompletionRing)
    }

    /// The next chunk sent. An address outside `umem` (which the kernel never gives) is
    /// skipped.
    pub(crate) fn pop(&mut self, umem: &Umem) -> Option<Chunk> {
        while let Some(addr) = self.0.pop() {
            if let Some((chunk, _)) = umem.chunk_at(addr) {
                return Some(chunk);
            }
        }
        None
    }

    /// Gives the slots read back to the kernel.
    pub(crate) fn release(&self) {
        self.0.release();
    }
}

/// A received frame: the chunk it is in, where in the chunk, and how long.
#[derive(Debug)]
pub(crate) struct RxDesc {
    /// The chunk.
    pub(crate) chunk: Chunk,
    /// Where the frame starts in the chunk.
    pub(crate) offset: usize,
    /// The frame's length.
    pub(crate) len: usize,
}

/// The RX ring: frames the kernel received.
#[derive(Debug)]
pub(crate) struct RxRing(Ring<libc::xdp_desc>);

impl RxRing {
    /// Maps the RX ring of `socket` (its size set with XDP_RX_RING).
    pub(crate) fn map(
        socket: &XdpSocket,
        offsets: &libc::xdp_ring_offset,
        size: u32,
    ) -> io::Result<RxRing> {
        Ring::map(socket, libc::XDP_PGOFF_RX_RING as u64, offsets, size).map(RxRing)
    }

    /// Whether a frame is waiting.
    pub(crate) fn has_next(&mut self) -> bool {
        self.0.has_next()
    }

    /// The next received frame. A descriptor outside `umem` (which the kernel never
    /// gives) is skipped.
    pub(crate) fn pop(&mut self, umem: &Umem) -> Option<RxDesc> {
        while let Some(desc) = self.0.pop() {
            if let Some((chunk, offset)) = umem.chunk_at(desc.addr) {
                return Some(RxDesc {
                    chunk,
                    offset,
                    len: desc.len as usize,
                });
            }
        }
        None
    }

    /// Gives the slots read back to the kernel.
    pub(crate) fn release(&self) {
        self.0.release();
    }
}

/// The TX ring: frames for the kernel to send.
#[derive(Debug)]
pub(crate) struct TxRing(Ring<libc::xdp_desc>);

impl TxRing {
    /// Maps the TX ring of `socket` (its size set with XDP_TX_RING).
    pub(crate) fn map(
        socket: &XdpSocket,
        offsets: &libc::xdp_ring_offset,
        size: u32,
    ) -> io::Result<TxRing> {
        Ring::map(socket, libc::XDP_PGOFF_TX_RING as u64, offsets, size).map(TxRing)
    }

    /// Queues the first `len` bytes of `chunk` for sending; gives the chunk back when the
    /// ring is full or the chunk is not of `umem`.
    pub(crate) fn push(&mut self, umem: &Umem, chunk: Chunk, len: u32) -> Result<(), Chunk> {
        match umem.addr_of(&chunk) {
            Some(addr)
                if self.0.push(libc::xdp_desc {
                    addr,
                    len,
                    options: 0,
                }) =>
            {
                Ok(())
            }
            _ => Err(chunk),
        }
    }

    /// Publishes the queued frames.
    pub(crate) fn submit(&self) {
        self.0.submit();
    }

    /// How many published frames the kernel has not taken yet.
    pub(crate) fn outstanding(&mut self) -> u32 {
        self.0.unread()
    }

    /// Whether the kernel must be woken up (a `sendto`) to send.
    pub(crate) fn needs_wakeup(&self) -> bool {
        self.0.needs_wakeup()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of 4 descriptors laid out as the kernel does: producer, consumer, flags on
    /// their own cache lines, descriptors after.
    fn test_ring<D: Copy>() -> Ring<D> {
        let offsets = libc::xdp_ring_offset {
            producer: 0,
            consumer: 64,
            desc: 192,
            flags: 128,
        };
        let map = RingMap::anonymous(4096).unwrap();
        Ring::new(map, &offsets, 4).unwrap()
    }

    #[test]
    fn a_producer_ring_fills_up_and_frees_as_the_kernel_reads() {
        let mut ring = test_ring::<u64>();
        for v in 10..14 {
            assert!(ring.push(v));
        }
        assert!(!ring.push(14), "full");
        assert_eq!(ring.load(ring.producer), 0, "nothing published yet");
        ring.submit();
        assert_eq!(ring.load(ring.producer), 4);
        // SAFETY (test): reading back what we wrote, as the kernel would.
        let seen: Vec<u64> = (0..4).map(|i| unsafe { ring.slot(i).read() }).collect();
        assert_eq!(seen, vec![10, 11, 12, 13]);
        assert_eq!(ring.unread(), 4);
        // The kernel read three: three slots are free again.
        ring.store(ring.consumer, 3);
        for v in 14..17 {
            assert!(ring.push(v));
        }
        assert!(!ring.push(17));
        ring.submit();
        // SAFETY (test): slots 4..7 wrap onto slots 0..3.
        let seen: Vec<u64> = (4..7).map(|i| unsafe { ring.slot(i).read() }).collect();
        assert_eq!(seen, vec![14, 15, 16]);
        assert_eq!(
            unsafe { ring.slot(3).read() },
            13,
            "the unread slot is left alone"
        );
        ring.store(ring.consumer, 7);
        assert_eq!(ring.unread(), 0);
    }

    #[test]
    fn a_consumer_ring_reads_what_the_kernel_published_and_wraps() {
        let mut ring = test_ring::<u64>();
        assert_eq!(ring.pop(), None);
        for (i, v) in [7u64, 8, 9].iter().enumerate() {
            // SAFETY (test): playing the kernel's part on our own memory.
            unsafe { ring.slot(i as u32).write(*v) };
        }
        ring.store(ring.producer, 2);
        assert_eq!(
            (ring.pop(), ring.pop(), ring.pop()),
            (Some(7), Some(8), None)
        );
        ring.release();
        assert_eq!(ring.load(ring.consumer), 2);
        // The indices run freely past the ring size (and past u32::MAX).
        for i in 2..6u32 {
            // SAFETY (test): as above.
            unsafe { ring.slot(i).write(u64::from(i) * 100) };
        }
        ring.store(ring.producer, 6);
        let got: Vec<u64> = std::iter::from_fn(|| ring.pop()).collect();
        assert_eq!(got, vec![200, 300, 400, 500]);
    }

    #[test]
    fn indices_wrap_around_u32() {
        let mut ring = test_ring::<u64>();
        ring.store(ring.producer, u32::MAX - 1);
        ring.store(ring.consumer, u32::MAX - 1);
        ring.cached_prod = u32::MAX - 1;
        ring.cached_cons = u32::MAX - 1;
        for v in 0..4 {
            assert!(ring.push(v));
        }
        assert!(!ring.push(4));
        ring.submit();
        assert_eq!(ring.load(ring.producer), 2);
    }

    #[test]
    fn a_bad_layout_is_refused() {
        let offsets = libc::xdp_ring_offset {
            producer: 0,
            consumer: 62,
            desc: 192,
            flags: 128,
        };
        assert!(Ring::<u64>::new(RingMap::anonymous(4096).unwrap(), &offsets, 4).is_err());
        let offsets = libc::xdp_ring_offset {
            producer: 0,
            consumer: 64,
            desc: 192,
            flags: 128,
        };
        assert!(Ring::<u64>::new(RingMap::anonymous(4096).unwrap(), &offsets, 3).is_err());
        assert!(Ring::<u64>::new(RingMap::anonymous(4096).unwrap(), &offsets, 1024).is_err());
    }

    #[test]
    fn chunks_map_to_addresses_and_back() {
        let (umem, mut chunks) = Umem::new(2048, 4).unwrap();
        let (other, mut foreign) = Umem::new(2048, 4).unwrap();
        assert_eq!(chunks.len(), 4);
        assert_eq!(umem.addr_of(&chunks[3]), Some(3 * 2048));
        assert_eq!(umem.addr_of(&foreign[0]), None);
        assert!(umem.chunk_mut(&mut foreign[0]).is_none());
        assert_eq!(
            other.chunk_mut(&mut foreign[1]).map(|c| c.len()),
            Some(2048)
        );
        let (chunk, offset) = umem.chunk_at(2 * 2048 + 256).unwrap();
        assert_eq!((chunk.index, offset), (2, 256));
        assert!(umem.chunk_at(4 * 2048).is_none());
        umem.chunk_mut(&mut chunks[1]).unwrap()[..3].copy_from_slice(b"abc");
        let (mut again, _) = umem.chunk_at(2048).unwrap();
        assert_eq!(&umem.chunk_mut(&mut again).unwrap()[..3], b"abc");
        assert_eq!(umem.registration().len, 4 * 2048);
    }
}

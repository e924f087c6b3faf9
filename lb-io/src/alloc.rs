//! Memory accounting from the allocator's own figures, for benchmarks and for a director
//! that reports what it holds.
//!
//! Install [`CountingAllocator`] as the program's global allocator; it forwards to the
//! system allocator and keeps the live and peak byte counts.
//!
//! ```
//! use lb_io::alloc::CountingAllocator;
//! static COUNTED: CountingAllocator = CountingAllocator::new();
//! // In a program: #[global_allocator] static A: CountingAllocator = CountingAllocator::new();
//! assert_eq!(COUNTED.live_bytes(), 0);
//! ```

pub use crate::sys::counting_alloc::CountingAllocator;

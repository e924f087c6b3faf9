//! No allocation per packet: once a connection exists and its next hop is known, running
//! its packets through the whole path (parse → engine → rewrite) allocates nothing — NAT
//! both ways, direct routing, IPIP; nor does a refused or ignored frame.

mod path_support;
mod rewrite_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use lb_core::{FwdMethod, Time};
use lb_io::path::{Action, DropCause, LinkId, PassCause};
use path_support::*;
use rewrite_support::*;

/// The system allocator, counting the allocations of the calling thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// caller's obligations are exactly `System`'s; counting touches no memory of the caller.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded as is (see the impl).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn established_flows_allocate_nothing() {
    let (mut d, e) = (director(), engine());
    let mut out = vec![0u8; 65536 + 128];
    let mut frames: Vec<(Vec<u8>, Action)> = Vec::new();
    for family in FAMILIES {
        for (dport, method) in [
            (80, FwdMethod::Masq),
            (81, FwdMethod::Route),
            (82, FwdMethod::Tunnel),
        ] {
            let spec = request(family, L4::Tcp, dport);
            let mut syn = frame_of(&spec, true);
            let o = d.process(&e, LinkId(0), &mut syn, Time::from_secs(1), &mut out);
            assert_eq!(o.action, Action::Forwarded(method));
            frames.push((frame_of(&spec, false), Action::Forwarded(method)));
        }
        frames.push((Spec::reply(family, L4::Tcp).build(), Action::Replied));
    }
    let mut bad = frames[0].0.clone();
    bad[14 + 10] ^= 1;
    frames.push((bad, Action::Dropped(DropCause::BadChecksum)));
    let mut lldp = frames[0].0.clone();
    lldp[12..14].copy_from_slice(&[0x88, 0xcc]);
    frames.push((lldp, Action::Passed(PassCause::NotIp)));

    let mut rx: Vec<Vec<u8>> = frames.iter().map(|(f, _)| f.clone()).collect();
    let mut actions = Vec::with_capacity(frames.len() * 100);
    let before = allocations();
    for round in 0..100u64 {
        for (buf, (template, _)) in rx.iter_mut().zip(&frames) {
            buf.copy_from_slice(template);
            let now = Time::from_millis(2_000 + round);
            actions.push(d.process(&e, LinkId(0), buf, now, &mut out).action);
        }
    }
    let during = allocations() - before;
    assert_eq!(
        during,
        0,
        "allocations while processing {} frames",
        actions.len()
    );
    for (i, action) in actions.iter().enumerate() {
        assert_eq!(*action, frames[i % frames.len()].1, "frame {i}");
    }
}

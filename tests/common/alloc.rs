//! A counting global allocator: live and peak heap bytes requested by the
//! whole process (allocator rounding not included).
//!
//! One module for the memory tests (`common::alloc`) and the memory
//! examples (`#[path = "../tests/common/alloc.rs"] mod alloc;`). Install
//! with `#[global_allocator] static GLOBAL: Counting = Counting;`. Tests
//! using it must run in their own test binary and serialize on
//! `ALLOC_LOCK`, because the count is process-wide.

#![allow(dead_code, unreachable_pub)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;

/// Counts live and peak requested bytes of the whole process.
pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

/// Serializes tests that read the process-wide count.
pub static ALLOC_LOCK: Mutex<()> = Mutex::new(());

/// Adds `delta` to the live count and raises the peak to it.
fn count(delta: isize) {
    let now = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
    // Read first: the shared line is written only when the peak moves.
    if now > PEAK.load(Ordering::Relaxed) {
        PEAK.fetch_max(now, Ordering::Relaxed);
    }
}

// SAFETY: forwards every call to `System` unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which is ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with this layout (we allocate nowhere else).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// How far above a new empty map a map may stay after giving memory back.
pub const SLACK: isize = 64 * 1024;

/// Live heap bytes of the process now.
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// The most live heap bytes since the start or the last [`reset_peak`].
pub fn peak_bytes() -> isize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak from the live bytes now.
pub fn reset_peak() {
    PEAK.store(live_bytes(), Ordering::Relaxed);
}

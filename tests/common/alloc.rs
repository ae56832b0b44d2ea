//! A counting global allocator: live heap bytes of the whole test process.
//! Tests using it must run in their own test binary and serialize on
//! `ALLOC_LOCK`, because the count is process-wide.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;

pub struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

/// Serializes tests that read the process-wide count.
pub static ALLOC_LOCK: Mutex<()> = Mutex::new(());

// SAFETY: forwards to `System` unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// How far above a new empty map a map may stay after giving memory back.
pub const SLACK: isize = 64 * 1024;

/// Live heap bytes of the process now.
pub fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

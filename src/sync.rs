//! The one switch between `std` and loom.
//!
//! Every atomic, `Arc` handed to deferred closures, and epoch type the crate
//! uses comes through this module. Under `cfg(loom)` (built with
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom"`) the atomics are loom's and
//! crossbeam-epoch is built with its `loom` feature, so the model checker sees
//! every shared access, the epoch's own included. No other file may import
//! `std::sync::atomic` or `loom` directly.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
/// Per-thread state (loom's own under `cfg(loom)`, where model threads
/// share one OS thread).
#[cfg(not(loom))]
pub(crate) use std::thread_local;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::thread_local;

pub(crate) use crossbeam_epoch::{Atomic, Guard, Shared};
pub(crate) use crossbeam_utils::CachePadded;

/// Pins the current thread to the global epoch collector.
#[inline]
pub(crate) fn pin() -> Guard {
    crossbeam_epoch::pin()
}

/// A small per-thread number used to pick a counter stripe.
///
/// Threads get consecutive numbers on first use, so up to `stripes` threads
/// never share a stripe. Under loom there is one stripe and this returns 0.
#[cfg(not(loom))]
#[inline]
pub(crate) fn thread_stripe_hint() -> usize {
    use std::cell::Cell;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;
    static NEXT: StdAtomicUsize = StdAtomicUsize::new(0);
    thread_local! {
        static HINT: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    HINT.try_with(|hint| {
        let mut h = hint.get();
        if h == usize::MAX {
            h = NEXT.fetch_add(1, Ordering::Relaxed);
            hint.set(h);
        }
        h
    })
    .unwrap_or(0)
}

#[cfg(loom)]
#[inline]
pub(crate) fn thread_stripe_hint() -> usize {
    0
}

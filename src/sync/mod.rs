//! The one switch between `std` and loom, and the atomic word type of the
//! core.
//!
//! Every atomic, `Arc` handed to deferred closures, and epoch type the crate
//! uses comes through this module. Under `cfg(loom)` (built with
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom"`) the atomics are loom's and
//! crossbeam-epoch is built with its `loom` feature, so the model checker sees
//! every shared access, the epoch's own included. No other file may import
//! `std::sync::atomic`, `loom` or `crossbeam_epoch` directly.
//!
//! ## Chaos mode (`chaos.rs`)
//! Under `cfg(splitmap_chaos)` (`RUSTFLAGS="--cfg splitmap_chaos"`) every
//! atomic operation of the core first passes a [`chaos`] point that now and
//! then yields the thread or spins a little, so stress tests see
//! interleavings a quiet 2-core machine rarely produces (`.ci/chaos.sh`).
//! The wrappers forward to the std atomics with the same orderings, so the
//! algorithm under test is unchanged.
//!
//! With the feature `internal-test-hooks` (on in `cargo test
//! --all-features`) the same wrappers are built but pass straight through
//! until a test switches them on for the whole process
//! (`splitmap::set_chaos(true)`): `tests/chaos_short.rs` runs short chaos
//! rounds inside the ordinary test command, and `.ci/chaos.sh` the long
//! ones with the cfg.
//!
//! ## [`AtomicWord`] (`word.rs`)
//! The list's links (a node's `next`, a directory slot) and the directory's
//! level pointers are tagged words: a pointer with tag bits in its low
//! (alignment) bits, or a plain number (a sentinel reference, see
//! `raw/node.rs`). It is stored as an `AtomicPtr<u8>` so that a pointer
//! keeps its provenance through the tag arithmetic (`wrapping_*` moves an
//! address without making a new pointer from an integer); numbers are
//! pointers without provenance and are never dereferenced.
//!
//! ## What this module must never do
//! Hold algorithm logic: it only switches implementations (std, loom,
//! chaos) and, in `word.rs`, gives the tagged word its bit operations. And
//! chaos mode must never change an operation's ordering or result, only its
//! timing.

#[cfg(not(any(loom, splitmap_chaos, feature = "internal-test-hooks")))]
pub(crate) use std::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64, AtomicUsize};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64, AtomicUsize};

#[cfg(all(feature = "internal-test-hooks", not(loom)))]
pub(crate) use chaos::{set_enabled as set_chaos, yields as chaos_yields};
#[cfg(all(any(splitmap_chaos, feature = "internal-test-hooks"), not(loom)))]
pub(crate) use chaos::{AtomicIsize, AtomicPtr, AtomicU64, AtomicUsize};

/// Counters that only steer a heuristic (the cache's frequency sketch):
/// std's atomics under every mode, never modeled by loom nor delayed by
/// chaos. No correctness argument reads them (a lost or stale count only
/// changes which entry a full cache evicts), and a sketch of thousands of
/// modeled words would add a scheduling point to every access of every
/// cache model.
pub(crate) use std::sync::atomic::AtomicU64 as HeuristicU64;

#[cfg(loom)]
pub(crate) use loom::thread_local;
/// Per-thread state (loom's own under `cfg(loom)`, where model threads
/// share one OS thread).
#[cfg(not(loom))]
pub(crate) use std::thread_local;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::Ordering;
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::Ordering;
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::sync::{Condvar, Mutex};
/// The one place the crate blocks: the cache's de-duplicated loading, whose
/// waiters (callers of the same key only) wait for the loader's value.
#[cfg(not(loom))]
pub(crate) use std::sync::{Condvar, Mutex};

pub(crate) use crossbeam_epoch::Guard;
pub(crate) use crossbeam_utils::CachePadded;

mod word;
pub(crate) use word::{AtomicWord, Word};

/// Asks the memory system to bring the cache line at `p` into the cache,
/// for a load the caller expects to make soon. A hint only: it reads no
/// value, never faults whatever `p` is (stale, freed or dangling), and
/// compiles to nothing off x86-64 and under loom.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(all(target_arch = "x86_64", not(loom)))]
    // SAFETY: `prefetcht0` is an architectural hint: it performs no access
    // the memory model sees and raises no fault for any address; SSE is in
    // every x86-64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(all(target_arch = "x86_64", not(loom))))]
    let _ = p;
}

/// Pins the current thread to the global epoch collector.
#[inline]
pub(crate) fn pin() -> Guard {
    crossbeam_epoch::pin()
}

/// A guard for exclusive access (`&mut self`, `Drop`), where no other
/// thread can reach the structure.
///
/// # Safety
/// The caller must have exclusive access to everything it reads through
/// the returned guard, and must not retire anything through it.
#[inline]
pub(crate) unsafe fn unprotected() -> &'static Guard {
    // SAFETY: `crossbeam_epoch::unprotected`'s contract (no concurrent
    // access to what is read through it, nothing retired through it) is
    // ours, passed to our caller.
    unsafe { crossbeam_epoch::unprotected() }
}

/// The pointer in an `AtomicPtr`, through exclusive access (loom's has no
/// `get_mut`).
#[inline]
pub(crate) fn atomic_ptr_get_mut<T>(a: &mut AtomicPtr<T>) -> *mut T {
    #[cfg(not(loom))]
    {
        *a.get_mut()
    }
    #[cfg(loom)]
    {
        a.with_mut(|p| *p)
    }
}

/// How many stripes a striped counter gets: the machine's parallelism,
/// rounded up to a power of two, between 2 and 64 (1 under loom).
///
/// Computed once per process: `available_parallelism` reads cgroup files on
/// Linux each time it is called (14% of the CPU time of the fuzz runs, which
/// build a map per input), and a service that builds small maps per request
/// would pay it as often.
#[cfg(not(loom))]
pub(crate) fn stripe_count() -> usize {
    use std::sync::OnceLock;
    static STRIPES: OnceLock<usize> = OnceLock::new();
    *STRIPES.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(4, |n| n.get())
            .next_power_of_two()
            .clamp(2, 64)
    })
}

#[cfg(loom)]
pub(crate) fn stripe_count() -> usize {
    1
}

/// A small per-thread number used to pick a counter stripe.
///
/// Threads get consecutive numbers on first use, so up to `stripes` threads
/// never share a stripe. Under loom there is one stripe and this returns 0.
/// Once the thread's thread-locals are destroyed (a map used from a
/// thread-local destructor) it returns 0: that thread shares stripe 0.
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

#[cfg(all(any(splitmap_chaos, feature = "internal-test-hooks"), not(loom)))]
mod chaos;

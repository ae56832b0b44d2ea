//! Chaos mode (`cfg(splitmap_chaos)`, or switched on at run time with the
//! `internal-test-hooks` feature): atomics that yield or spin at random
//! before each operation, with the std atomics' orderings and results (see
//! `sync/mod.rs`).
//!
//! ## What this module must never do
//! Change an operation's ordering or result: only its timing.

use std::cell::Cell;
use std::sync::atomic::{self, Ordering};

/// Whether chaos points act (always under `cfg(splitmap_chaos)`).
static ENABLED: atomic::AtomicBool = atomic::AtomicBool::new(cfg!(splitmap_chaos));
/// Chaos points that yielded the thread, process-wide.
static YIELDS: atomic::AtomicU64 = atomic::AtomicU64::new(0);

/// Switches chaos on or off for the whole process.
#[allow(dead_code)]
pub(crate) fn set_enabled(on: bool) {
    ENABLED.store(on || cfg!(splitmap_chaos), Ordering::SeqCst);
}

/// How many chaos points have yielded the thread so far.
#[allow(dead_code)]
pub(crate) fn yields() -> u64 {
    YIELDS.load(Ordering::Relaxed)
}

/// One chaos point: about one operation in 16 yields the thread, one in
/// 16 spins for up to 256 iterations, the rest pass straight through.
#[inline]
pub(crate) fn point() {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    thread_local! {
        static RNG: Cell<u64> = const { Cell::new(0) };
    }
    let r = RNG
        .try_with(|rng| {
            let mut x = rng.get();
            if x == 0 {
                // Seed from the thread-local's address: distinct per thread.
                x = (rng as *const Cell<u64> as u64) | 1;
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            rng.set(x);
            x
        })
        // Thread-locals destroyed (a thread-local destructor): pass
        // straight through (1 spins for 0 iterations).
        .unwrap_or(1);
    match r & 15 {
        0 => {
            YIELDS.fetch_add(1, Ordering::Relaxed);
            std::thread::yield_now()
        }
        1 => {
            for _ in 0..((r >> 8) & 255) {
                std::hint::spin_loop();
            }
        }
        _ => {}
    }
}

/// Read-modify-write methods `$op(&self, v, o)`, each after a chaos point.
macro_rules! chaos_fetch {
    ($int:ty: $($op:ident),*) => {
        $(
            pub(crate) fn $op(&self, v: $int, o: Ordering) -> $int {
                point();
                self.0.$op(v, o)
            }
        )*
    };
}

macro_rules! chaos_int {
    ($name:ident, $std:ty, $int:ty) => {
        #[derive(Debug, Default)]
        #[repr(transparent)]
        pub(crate) struct $name($std);

        #[allow(dead_code)]
        impl $name {
            pub(crate) const fn new(v: $int) -> Self {
                $name(<$std>::new(v))
            }
            pub(crate) fn load(&self, o: Ordering) -> $int {
                point();
                self.0.load(o)
            }
            pub(crate) fn store(&self, v: $int, o: Ordering) {
                point();
                self.0.store(v, o)
            }
            pub(crate) fn swap(&self, v: $int, o: Ordering) -> $int {
                point();
                self.0.swap(v, o)
            }
            chaos_fetch!($int: fetch_add, fetch_sub, fetch_max, fetch_min, fetch_and, fetch_or);
            pub(crate) fn compare_exchange(
                &self,
                c: $int,
                n: $int,
                s: Ordering,
                f: Ordering,
            ) -> Result<$int, $int> {
                point();
                self.0.compare_exchange(c, n, s, f)
            }
            pub(crate) fn compare_exchange_weak(
                &self,
                c: $int,
                n: $int,
                s: Ordering,
                f: Ordering,
            ) -> Result<$int, $int> {
                point();
                self.0.compare_exchange_weak(c, n, s, f)
            }
            pub(crate) fn fetch_update(
                &self,
                s: Ordering,
                f: Ordering,
                u: impl FnMut($int) -> Option<$int>,
            ) -> Result<$int, $int> {
                point();
                self.0.fetch_update(s, f, u)
            }
            pub(crate) fn get_mut(&mut self) -> &mut $int {
                self.0.get_mut()
            }
        }
    };
}

chaos_int!(AtomicUsize, atomic::AtomicUsize, usize);
chaos_int!(AtomicIsize, atomic::AtomicIsize, isize);
chaos_int!(AtomicU64, atomic::AtomicU64, u64);

#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct AtomicPtr<T>(atomic::AtomicPtr<T>);

impl<T> AtomicPtr<T> {
    pub(crate) const fn new(p: *mut T) -> Self {
        AtomicPtr(atomic::AtomicPtr::new(p))
    }
    pub(crate) fn load(&self, o: Ordering) -> *mut T {
        point();
        self.0.load(o)
    }
    pub(crate) fn store(&self, p: *mut T, o: Ordering) {
        point();
        self.0.store(p, o)
    }
    pub(crate) fn swap(&self, p: *mut T, o: Ordering) -> *mut T {
        point();
        self.0.swap(p, o)
    }
    pub(crate) fn compare_exchange(
        &self,
        c: *mut T,
        n: *mut T,
        s: Ordering,
        f: Ordering,
    ) -> Result<*mut T, *mut T> {
        point();
        self.0.compare_exchange(c, n, s, f)
    }
    pub(crate) fn get_mut(&mut self) -> &mut *mut T {
        self.0.get_mut()
    }
}

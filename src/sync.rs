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
//! ## Chaos mode
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
//! ## [`AtomicWord`]
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
//! chaos) and gives the tagged word its bit operations. And chaos mode must
//! never change an operation's ordering or result, only its timing.

#[cfg(not(any(loom, splitmap_chaos, feature = "internal-test-hooks")))]
pub(crate) use std::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64, AtomicUsize};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicIsize, AtomicPtr, AtomicU64, AtomicUsize};

#[cfg(all(feature = "internal-test-hooks", not(loom)))]
pub(crate) use chaos::{set_enabled as set_chaos, yields as chaos_yields};
#[cfg(all(any(splitmap_chaos, feature = "internal-test-hooks"), not(loom)))]
pub(crate) use chaos::{AtomicIsize, AtomicPtr, AtomicU64, AtomicUsize};

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

pub(crate) use crossbeam_epoch::Guard;
pub(crate) use crossbeam_utils::CachePadded;

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
    // SAFETY: forwarded contract.
    unsafe { crossbeam_epoch::unprotected() }
}

/// A tagged word: a pointer with tag bits in its low bits, or a plain
/// number. See the module docs; what the bits mean is up to the user
/// (`raw/node.rs` for list links, `raw/directory.rs` for level pointers).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Word(*mut u8);

// SAFETY: a `Word` is a value (an address or a number); sending or sharing
// it does nothing by itself. Dereferencing what it points to is unsafe and
// argued where it happens.
unsafe impl Send for Word {}
// SAFETY: as above.
unsafe impl Sync for Word {}

impl core::fmt::Debug for Word {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Word({:#x})", self.bits())
    }
}

impl Word {
    /// A word holding a plain number (no pointer provenance).
    #[inline]
    pub(crate) const fn from_bits(bits: usize) -> Word {
        Word(core::ptr::null_mut::<u8>().wrapping_add(bits))
    }

    /// A word holding `ptr` (tag bits clear if `ptr` is aligned).
    #[inline]
    pub(crate) fn from_ptr<T>(ptr: *const T) -> Word {
        Word(ptr as *mut u8)
    }

    /// The word's bits.
    #[inline]
    pub(crate) fn bits(self) -> usize {
        self.0 as usize
    }

    /// The same pointer (or number) with the bits in `mask` replaced by
    /// `value & mask`; keeps the provenance of a pointer.
    #[inline]
    pub(crate) fn with_bits(self, mask: usize, value: usize) -> Word {
        let old = self.bits() & mask;
        let new = value & mask;
        Word(self.0.wrapping_sub(old).wrapping_add(new))
    }

    /// The bits in `mask` set.
    #[inline]
    pub(crate) fn or(self, bits: usize) -> Word {
        self.with_bits(bits, bits)
    }

    /// The bits in `mask` cleared.
    #[inline]
    pub(crate) fn clear(self, bits: usize) -> Word {
        self.with_bits(bits, 0)
    }

    /// The pointer with the low bits in `tag_mask` cleared.
    #[inline]
    pub(crate) fn ptr<T>(self, tag_mask: usize) -> *mut T {
        self.clear(tag_mask).0 as *mut T
    }
}

/// An atomic [`Word`]. Under loom it is loom's `AtomicPtr`; under chaos
/// mode every operation passes a chaos point first.
#[repr(transparent)]
pub(crate) struct AtomicWord(AtomicPtr<u8>);

impl AtomicWord {
    #[inline]
    pub(crate) fn new(w: Word) -> Self {
        AtomicWord(AtomicPtr::new(w.0))
    }

    #[inline]
    pub(crate) fn load(&self, order: Ordering) -> Word {
        Word(self.0.load(order))
    }

    #[inline]
    pub(crate) fn store(&self, w: Word, order: Ordering) {
        self.0.store(w.0, order)
    }

    /// Compare-and-swap; `Err` carries the value found.
    #[inline]
    pub(crate) fn compare_exchange(
        &self,
        current: Word,
        new: Word,
        success: Ordering,
        failure: Ordering,
    ) -> Result<Word, Word> {
        self.0
            .compare_exchange(current.0, new.0, success, failure)
            .map(Word)
            .map_err(Word)
    }

    /// Sets `bits` (a CAS loop: `AtomicPtr` has no `fetch_or` on stable,
    /// and loom's has none). Returns the previous value. Used only off the
    /// hot paths (sentinel state changes).
    #[inline]
    pub(crate) fn fetch_or(&self, bits: usize, order: Ordering) -> Word {
        self.update(order, |w| w.or(bits))
    }

    /// Clears `bits` (a CAS loop, as [`AtomicWord::fetch_or`]). Returns
    /// the previous value.
    #[inline]
    pub(crate) fn fetch_clear(&self, bits: usize, order: Ordering) -> Word {
        self.update(order, |w| w.clear(bits))
    }

    fn update(&self, order: Ordering, f: impl Fn(Word) -> Word) -> Word {
        let mut cur = self.load(Ordering::Relaxed);
        loop {
            let new = f(cur);
            if new == cur {
                // Nothing to change; an acquire load keeps `order`'s promise
                // for the reading half.
                return self.load(load_part(order));
            }
            match self.compare_exchange(cur, new, order, Ordering::Relaxed) {
                Ok(prev) => return prev,
                Err(actual) => cur = actual,
            }
        }
    }

    /// The word, through exclusive access.
    #[inline]
    pub(crate) fn get_mut(&mut self) -> Word {
        #[cfg(not(loom))]
        {
            Word(*self.0.get_mut())
        }
        #[cfg(loom)]
        {
            Word(self.0.with_mut(|p| *p))
        }
    }
}

/// The load half of an ordering (for a CAS loop that may end without
/// writing).
#[inline]
fn load_part(order: Ordering) -> Ordering {
    match order {
        Ordering::Release | Ordering::Relaxed => Ordering::Relaxed,
        Ordering::SeqCst => Ordering::SeqCst,
        _ => Ordering::Acquire,
    }
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

/// Chaos mode (`cfg(splitmap_chaos)`, or switched on at run time with the
/// `internal-test-hooks` feature): atomics that yield or spin at random
/// before each operation. See the module docs.
#[cfg(all(any(splitmap_chaos, feature = "internal-test-hooks"), not(loom)))]
mod chaos {
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
}

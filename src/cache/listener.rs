//! Why an entry left the cache, and how the eviction listener hears of it.
//!
//! Every entry that leaves is reported once, by the thread whose atomic step
//! removed it, right after that step:
//! - an operation's own removal (`remove`, `retain`, `clear`: `Removed`;
//!   `insert` over a live key: `Replaced`) is reported by that operation
//!   after its CAS, before it returns;
//! - an entry marked dead in a walk (an expired entry a write or a sweep
//!   meets: `Expired`; a victim of the size bound's sweep: `Size`) is
//!   reported by the thread whose CAS marked it, from inside that walk
//!   (`RawEntry::on_dead_marked`).
//!
//! The entry is logically gone when the listener runs (no read returns it),
//! and still allocated (it is freed after an epoch grace period), so the
//! listener gets `&K` and `&V`.
//!
//! ## A panicking listener
//! Each call runs under `catch_unwind`. A panic is parked in a thread-local
//! slot and the operation goes on: the entry stays removed, the remaining
//! notifications of the operation are delivered, the walk finishes. When
//! the public method returns, the first parked panic is resumed
//! (`resume_unwind`) on the caller; later ones from the same method are
//! dropped. So a panic never unwinds through the lock-free core (whose
//! try-flags and counters assume it does not), and no notification is lost.
//!
//! ## From a thread-local destructor
//! A cache method may run while the thread's thread-locals are being
//! destroyed (a per-thread session whose `Drop` writes to a global cache),
//! and the panic slot may be gone by then. Every access to it is a
//! `try_with`, never a `with` (which would panic inside the destructor, and
//! the runtime aborts the process on that). Without the slot a listener
//! panic is caught and dropped instead of parked (the panic hook has
//! already printed it): resuming it could only unwind out of a thread-local
//! destructor, which aborts. Every notification is still delivered.

use core::any::Any;
use core::cell::RefCell;
use core::fmt;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// Why an entry left a [`SplitCache`](crate::SplitCache).
///
/// # Examples
/// ```
/// use splitmap::SplitCache;
/// use splitmap::cache::RemovalCause;
/// use std::sync::{Arc, Mutex};
///
/// let causes = Arc::new(Mutex::new(Vec::new()));
/// let log = Arc::clone(&causes);
/// let cache: SplitCache<u32, u32> = SplitCache::builder()
///     .eviction_listener(move |_k, _v, cause| log.lock().unwrap().push(cause))
///     .build();
/// cache.insert(1, 1);
/// cache.insert(1, 2);
/// cache.remove(&1);
/// assert_eq!(*causes.lock().unwrap(), [RemovalCause::Replaced, RemovalCause::Removed]);
/// assert!(RemovalCause::Expired.was_evicted() && !RemovalCause::Removed.was_evicted());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RemovalCause {
    /// Its deadline (time to live, time to idle, or its own TTL) passed.
    Expired,
    /// Chosen by the size bound ([`max_capacity`](crate::cache::CacheBuilder::max_capacity)).
    Size,
    /// Removed by hand: `remove`, `retain` or `clear`.
    Removed,
    /// Its key was written again: the old value left.
    Replaced,
}

impl RemovalCause {
    /// `true` for the causes the cache chose itself (`Expired`, `Size`).
    ///
    /// # Examples
    /// ```
    /// assert!(splitmap::cache::RemovalCause::Size.was_evicted());
    /// assert!(!splitmap::cache::RemovalCause::Replaced.was_evicted());
    /// ```
    pub fn was_evicted(self) -> bool {
        matches!(self, RemovalCause::Expired | RemovalCause::Size)
    }
}

/// The user's listener.
pub(crate) type Listener<K, V> = Box<dyn Fn(&K, &V, RemovalCause) + Send + Sync>;

type Payload = Box<dyn Any + Send>;

crate::sync::thread_local! {
    /// The first listener panic of the public method running on this thread.
    // Not `const`-initialized: loom's `thread_local!` does not take it.
    #[allow(clippy::missing_const_for_thread_local)]
    static PARKED: RefCell<Option<Payload>> = RefCell::new(None);
}

/// Calls `listener`, parking a panic instead of unwinding (dropping it if
/// the slot is gone: see "From a thread-local destructor").
pub(crate) fn notify<K, V>(listener: &Listener<K, V>, key: &K, value: &V, cause: RemovalCause) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| listener(key, value, cause))) {
        let mut payload = Some(payload);
        let _ = PARKED.try_with(|slot| {
            let mut slot = slot.borrow_mut();
            if slot.is_none() {
                *slot = payload.take();
            }
        });
        // Not parked: a second panic in one method (the first one is
        // resumed), or no slot any more.
        drop(payload);
    }
}

/// Opened by every public method that may notify: keeps the panics of a
/// nested method (a listener that calls into a cache) apart from this
/// one's, and resumes this method's first panic when it returns.
#[must_use]
pub(crate) struct PanicScope {
    outer: Option<Payload>,
}

impl PanicScope {
    pub(crate) fn enter() -> Self {
        PanicScope {
            outer: PARKED
                .try_with(|slot| slot.borrow_mut().take())
                .ok()
                .flatten(),
        }
    }

    /// Ends the method: restores the enclosing method's parked panic, then
    /// resumes this method's own, if any (none without the slot).
    pub(crate) fn finish(mut self) {
        let outer = self.outer.take();
        let mine = PARKED
            .try_with(|slot| core::mem::replace(&mut *slot.borrow_mut(), outer))
            .ok()
            .flatten();
        core::mem::forget(self);
        if let Some(payload) = mine {
            resume_unwind(payload);
        }
    }
}

impl Drop for PanicScope {
    /// Left without `finish` (the method itself panicked): drop this
    /// method's parked panic, the one already unwinding wins.
    fn drop(&mut self) {
        let outer = self.outer.take();
        let _ = PARKED.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = outer;
            }
        });
    }
}

impl fmt::Debug for PanicScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicScope").finish_non_exhaustive()
    }
}

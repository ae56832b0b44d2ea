//! The thread-local state every walk of a cache reads: the running
//! operation's clock reading and its eviction budget (`evict.rs` sets the
//! budget; the entry kind's `is_dead`, deep inside the raw sweep, reads it
//! and spends it).
//!
//! It sits below both the entry kind and the eviction step and knows
//! neither: a cache is named by its context's address (`owner`), so a walk
//! of one cache never reads another's state (a listener may call into a
//! second cache from inside a walk).
//!
//! ## From a thread-local destructor
//! The sweep state is a thread-local, and a cache method may run while the
//! thread's thread-locals are being destroyed. Every access is a
//! `try_with` (a `with` would panic there, and the runtime aborts). Where
//! the state is gone, a walk uses a fresh clock reading and no budget, so
//! expired entries are still purged, but an eviction step evicts nothing:
//! an insert made then may leave the cache over its bound, by one entry per
//! such insert, until the next insert of a thread that still has its state
//! evicts the excess. (With std's native thread-locals, where a value
//! without a destructor, like this one, is never destroyed, this does not
//! happen; it can where thread-locals are heap-allocated per key.)
//!
//! ## What this module must never do
//! Import the cache's other modules, or wait.

use core::cell::Cell;

/// What the running cache operation tells the walks it causes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SweepState {
    /// The cache (`CacheCtx::id`, its context's address) this state
    /// belongs to; 0 for none.
    owner: usize,
    /// The operation's clock reading.
    pub(crate) now: u64,
    /// Victims still wanted by this thread's eviction step.
    pub(crate) budget: usize,
    /// Take any live entry, whatever its frequency.
    pub(crate) force: bool,
    /// Note every entry the walk leaves in the cache's deadline floor (a
    /// recording walk: `clock::DeadlineFloor`).
    pub(crate) record_floor: bool,
    /// Admission: a live entry is a victim only if its key's frequency
    /// estimate is below this (the new entry's).
    pub(crate) admit_below: u64,
    /// The address of the entry the step admits (never its own victim); 0
    /// for none.
    pub(crate) spare: usize,
}

const IDLE: SweepState = SweepState {
    owner: 0,
    now: 0,
    budget: 0,
    force: false,
    record_floor: false,
    admit_below: 0,
    spare: 0,
};

crate::sync::thread_local! {
    // Not `const`-initialized: loom's `thread_local!` does not take it.
    #[allow(clippy::missing_const_for_thread_local)]
    static SWEEP: Cell<SweepState> = Cell::new(IDLE);
}

/// The state for a walk of the cache `owner` on this thread: the running
/// operation's, or (a walk outside any operation of this cache, or no state
/// any more: see the module docs) a fresh clock reading and no budget.
#[inline]
pub(crate) fn state(owner: usize, now: impl FnOnce() -> u64) -> SweepState {
    match SWEEP.try_with(Cell::get) {
        Ok(s) if s.owner == owner => s,
        _ => SweepState {
            owner,
            now: now(),
            ..IDLE
        },
    }
}

/// Victims this thread's eviction step for `owner` still wants.
pub(crate) fn budget_left(owner: usize) -> usize {
    match SWEEP.try_with(Cell::get) {
        Ok(s) if s.owner == owner => s.budget,
        _ => 0,
    }
}

/// Changes this thread's state if it is `owner`'s (a no-op without state).
pub(crate) fn update(owner: usize, f: impl FnOnce(&mut SweepState)) {
    let _ = SWEEP.try_with(|cell| {
        let mut s = cell.get();
        if s.owner == owner {
            f(&mut s);
            cell.set(s);
        }
    });
}

/// A victim of `owner`'s eviction step was marked: one less wanted.
pub(crate) fn spend_one(owner: usize) {
    update(owner, |s| s.budget = s.budget.saturating_sub(1));
}

/// Installs the sweep state of one operation of the cache `owner` on this
/// thread for as long as it lives, and restores the enclosing one's (a
/// listener calling into a cache) when dropped.
#[must_use]
#[derive(Debug)]
pub(crate) struct SweepScope {
    outer: SweepState,
}

impl SweepScope {
    pub(crate) fn begin(owner: usize, now: u64) -> Self {
        let mine = SweepState { owner, now, ..IDLE };
        SweepScope {
            outer: SWEEP.try_with(|cell| cell.replace(mine)).unwrap_or(IDLE),
        }
    }
}

impl Drop for SweepScope {
    fn drop(&mut self) {
        let outer = self.outer;
        let _ = SWEEP.try_with(|cell| cell.set(outer));
    }
}

//! The size bound: CLOCK-style second chance over the list, from the core's
//! rotating sweep cursor, and the thread-local state every walk of a cache
//! reads (the operation's clock reading and its eviction budget).
//!
//! ## The eviction step
//! An insert that adds an entry and finds `len() > max_capacity` runs one
//! eviction step before it returns. It sets a budget of
//! `len - max_capacity + batch` victims (`batch = min(32, max_capacity /
//! 64)`, so the inserts right after a step find room and run none) and
//! sweeps bounded stretches of the list (128 nodes each, from the core's
//! round-robin bucket cursor):
//! - rounds 1-2 give a second chance: an entry whose reference bit is set
//!   (read since the hand last passed) has it cleared and stays; one whose
//!   bit is clear is a victim;
//! - rounds 3-4 take any live entry;
//! - if the budget is still not spent and the cache is still over its
//!   bound, one full walk takes any live entry (only a cache whose list is
//!   shorter than the stretches' reach, or one being emptied concurrently,
//!   gets here).
//!
//! Expired entries the stretches meet are purged on the way and count
//! toward the bound, not the budget. The step stops as soon as the budget
//! is spent or `len() <= max_capacity`.
//!
//! A victim is evicted by the sweep's own mark CAS on its node (the same CAS
//! that purges an expired entry), so it is exactly that node, and a race
//! with a `remove` or a replace of the same key has one winner and one
//! notification.
//!
//! ## The bound
//! Each insert that took the cache over `max_capacity` evicts its own excess
//! before returning, so `len() <= max_capacity + T`, where `T` is the number
//! of inserts in progress at that moment (each adds at most one entry before
//! its step runs), and the excess lasts for the duration of those inserts.
//! An insert evicts at most `len - max_capacity + batch` entries, so the
//! cache dips at most `batch` (per concurrent step) below the bound.
//! `len()` counts expired entries not yet purged, so they never make room
//! for more live ones than the bound allows. It is the cache's one shared
//! count (`stats.rs`), not the map's per-thread stripes: a sum of stripes
//! read by a thread that is preempted midway misses every write made
//! meanwhile, and the step would then chase (or the bound would report) an
//! excess that does not exist.
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

use super::entry::{CacheCtx, CacheEntry};
use crate::ops::Core;
use crate::sync::Guard;
use core::cell::Cell;

/// Bounded stretches per eviction step before the full walk.
const ROUNDS: usize = 4;
/// The first rounds give a second chance; later ones take any live entry.
const SECOND_CHANCE_ROUNDS: usize = 2;

/// Victims an eviction step takes beyond the excess.
pub(crate) fn batch(max_capacity: usize) -> usize {
    (max_capacity / 64).min(32)
}

/// What the running cache operation tells the walks it causes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SweepState {
    /// The cache (`CacheCtx::id`) this state belongs to; 0 for none.
    owner: usize,
    /// The operation's clock reading.
    pub(crate) now: u64,
    /// Victims still wanted by this thread's eviction step.
    pub(crate) budget: usize,
    /// Take any live entry, without a second chance.
    pub(crate) force: bool,
}

const IDLE: SweepState = SweepState {
    owner: 0,
    now: 0,
    budget: 0,
    force: false,
};

crate::sync::thread_local! {
    // Not `const`-initialized: loom's `thread_local!` does not take it.
    #[allow(clippy::missing_const_for_thread_local)]
    static SWEEP: Cell<SweepState> = Cell::new(IDLE);
}

/// The state for a walk of `ctx`'s cache on this thread: the running
/// operation's, or (a walk outside any operation of this cache, or no state
/// any more: see the module docs) a fresh clock reading and no budget.
#[inline]
pub(crate) fn state<K, V>(ctx: &CacheCtx<K, V>) -> SweepState {
    match SWEEP.try_with(Cell::get) {
        Ok(s) if s.owner == ctx.id() => s,
        _ => SweepState {
            owner: ctx.id(),
            now: ctx.clock.now(),
            ..IDLE
        },
    }
}

/// Changes this thread's state if it is `ctx`'s (a no-op without state).
fn update<K, V>(ctx: &CacheCtx<K, V>, f: impl FnOnce(&mut SweepState)) {
    let _ = SWEEP.try_with(|cell| {
        let mut s = cell.get();
        if s.owner == ctx.id() {
            f(&mut s);
            cell.set(s);
        }
    });
}

/// A victim was marked: one less wanted.
pub(crate) fn spend_one<K, V>(ctx: &CacheCtx<K, V>) {
    update(ctx, |s| s.budget = s.budget.saturating_sub(1));
}

/// The sweep state of one cache operation on this thread, restored to the
/// enclosing one's (a listener calling into a cache) when dropped.
#[must_use]
#[derive(Debug)]
pub(crate) struct Operation {
    outer: SweepState,
}

impl Operation {
    pub(crate) fn begin<K, V>(ctx: &CacheCtx<K, V>, now: u64) -> Self {
        let mine = SweepState {
            owner: ctx.id(),
            now,
            ..IDLE
        };
        Operation {
            outer: SWEEP.try_with(|cell| cell.replace(mine)).unwrap_or(IDLE),
        }
    }
}

impl Drop for Operation {
    fn drop(&mut self) {
        let outer = self.outer;
        let _ = SWEEP.try_with(|cell| cell.set(outer));
    }
}

/// The eviction step (see the module docs). Call inside an [`Operation`]
/// of this cache, after an insert that added an entry.
pub(crate) fn enforce_bound<K, V, S>(
    core: &Core<CacheEntry<K, V>, S, CacheCtx<K, V>>,
    guard: &Guard,
) where
    K: Eq + Send + 'static,
    V: Send + 'static,
{
    let ctx = core.ctx();
    let cap = ctx.max_capacity;
    let len = ctx.counters.live();
    if len <= cap {
        return;
    }
    let want = len - cap + batch(cap);
    update(ctx, |s| {
        s.budget = want;
        s.force = false;
    });
    let left = |ctx| state(ctx).budget;
    for round in 0..ROUNDS {
        if round == SECOND_CHANCE_ROUNDS {
            update(ctx, |s| s.force = true);
        }
        core.sweep_some(guard);
        if left(ctx) == 0 || ctx.counters.live() <= cap {
            break;
        }
    }
    if left(ctx) > 0 && ctx.counters.live() > cap {
        update(ctx, |s| s.force = true);
        core.compact_in(guard);
    }
    update(ctx, |s| {
        s.budget = 0;
        s.force = false;
    });
}

//! Resize policy: when to grow and when to shrink, `reserve` and
//! `shrink_to_fit`.
//!
//! Growth only publishes a larger bucket count (the directory adds levels
//! lazily; sentinels are linked by the first write to their bucket). A
//! shrink publishes a smaller count, waits for a grace period without
//! blocking, then writes help unlink the dropped levels' sentinels in
//! chunks (`shrink_work.rs`; `directory/shrink.rs` explains the protocol
//! and why a preempted helper cannot hold it up). Entry kinds that can die
//! purge before they grow (`compact.rs`).
//!
//! ## What this module must never do
//! Wait: every step here is a try-step that an operation skips when
//! another thread holds it or its time has not come. It never walks the
//! list itself: walks are `compact.rs`'s and `shrink_work.rs`'s.

use super::directory::DirState;
#[cfg(not(loom))]
use super::shrink_work::collector_step;
use super::split_order::MAX_LOG2;
use super::{RawEntry, RawMap, DEFAULT_MIN_LOG2};
use crate::sync::{pin, AtomicUsize, Guard, Ordering};

/// Grow/shrink checks read every counter stripe, so they run on one insert
/// (or remove) in `CHECK_EVERY` per stripe once the map is not tiny.
#[cfg(not(loom))]
const CHECK_EVERY: usize = 8;
#[cfg(loom)]
const CHECK_EVERY: usize = 1;
const _: () = assert!(CHECK_EVERY.is_power_of_two());

/// Whether `n` is a multiple of `every`, a power of two. A function rather
/// than `n % CHECK_EVERY` or an inline mask: under loom `CHECK_EVERY` is 1,
/// and clippy rejects both a modulo by one and a mask with zero.
#[inline]
fn multiple_of_pow2(n: usize, every: usize) -> bool {
    n & (every - 1) == 0
}
const ALWAYS_CHECK_BELOW_LOG2: u32 = 6;

/// Raises a high-water mark. Read first: the mark is shared by all
/// threads, and an RMW on every check would bounce its cache line.
#[inline]
fn raise_to(mark: &AtomicUsize, value: usize) {
    if value > mark.load(Ordering::Relaxed) {
        mark.fetch_max(value, Ordering::Relaxed);
    }
}

/// Entries `1 << log2` buckets hold at `load_factor` (saturating).
#[inline]
pub(super) fn threshold(log2: u32, load_factor: usize) -> usize {
    (1usize << log2).saturating_mul(load_factor)
}

/// Smallest `log2` whose bucket count holds `len` entries at `load_factor`
/// (at most `usize::BITS - 1`; callers cap it).
pub(super) fn log2_for(len: usize, load_factor: usize) -> u32 {
    let buckets = len.div_ceil(load_factor.max(1)).max(1);
    buckets
        .checked_next_power_of_two()
        .map_or(usize::BITS - 1, usize::trailing_zeros)
}

impl<E, C> RawMap<E, C> {
    /// The `log2` needed to hold `capacity` entries without growing.
    ///
    /// # Panics
    /// If that needs more than `2^MAX_LOG2` buckets ("capacity overflow",
    /// as std's `HashMap` says), rather than failing an enormous directory
    /// allocation later.
    pub(crate) fn log2_for_capacity(capacity: usize, load_factor: usize) -> u32 {
        let log2 = log2_for(capacity, load_factor);
        assert!(log2 <= MAX_LOG2, "capacity overflow");
        log2.max(DEFAULT_MIN_LOG2)
    }

    /// Entries the current bucket count holds before the next growth.
    pub(crate) fn capacity(&self) -> usize {
        threshold(self.dir.state().log2(), self.load_factor)
    }

    /// Lets automatic shrinking go down to `1 << log2` buckets again (for
    /// maps pre-sized for a bulk build, which promise nothing about later).
    pub(crate) fn lower_shrink_floor(&self, log2: u32) {
        self.dir.set_floor_log2(log2);
    }
}

impl<E: RawEntry + Send + 'static> RawMap<E, E::Ctx> {
    /// Sampled growth check after an insert (`n`: this stripe's insert count).
    pub(super) fn after_insert(&self, n: usize, state: DirState, guard: &Guard) {
        if !multiple_of_pow2(n, CHECK_EVERY) && state.log2() >= ALWAYS_CHECK_BELOW_LOG2 {
            return;
        }
        let len = self.counters.len();
        raise_to(&self.peak_len, len);
        let threshold = threshold(state.log2(), self.load_factor);
        if len > threshold {
            let want = if E::CAN_DIE {
                self.purge_before_grow(len, state, guard)
            } else {
                Some(log2_for(len, self.load_factor))
            };
            if let Some(want) = want {
                self.grow_to(want, guard);
            }
        }
        if multiple_of_pow2(n, CHECK_EVERY * 8) {
            raise_to(&self.peak_bytes, self.heap_bytes());
        }
    }

    /// Publishes at least `1 << want` buckets. A shrink whose chunks are
    /// being unlinked is in the way: help it end, redoing a chunk another
    /// thread claimed if none is left, or ending it for a preempted ender
    /// (`directory/shrink.rs`), then grow. (It may also have ended just
    /// now: grow then.)
    fn grow_to(&self, want: u32, guard: &Guard) {
        if self.dir.try_grow_to(want) {
            return;
        }
        let now = self.dir.state();
        if now.log2() < want {
            if now.shrink_pending() {
                self.help_shrink_work(now, true, guard);
            }
            self.dir.try_grow_to(want);
        }
    }

    /// Sampled shrink check after a remove (`n`: this stripe's remove count),
    /// plus a bounded sweep now and then for entries that can die.
    pub(super) fn after_remove(&self, n: usize, guard: &Guard) {
        if E::CAN_DIE {
            self.sweep_now_and_then(n, guard);
        }
        let state = self.dir.state();
        if !multiple_of_pow2(n, CHECK_EVERY) && state.log2() >= ALWAYS_CHECK_BELOW_LOG2 {
            return;
        }
        self.maybe_begin_shrink(state, self.dir.floor_log2(), guard);
    }

    /// Starts a shrink if the map holds under a quarter of its capacity.
    /// The target leaves it half full, so growth and shrink cannot flap.
    /// The thread that starts one also flushes its retire batch: the map is
    /// emptying, and its garbage should go back now.
    pub(super) fn maybe_begin_shrink(&self, state: DirState, floor: u32, guard: &Guard) -> bool {
        if state.shrink_pending() || state.log2() <= floor {
            return false;
        }
        let len = self.counters.len();
        if len >= threshold(state.log2(), self.load_factor) / 4 {
            return false;
        }
        let target = log2_for(len.saturating_mul(2), self.load_factor).max(floor);
        let begun = target < state.log2() && self.dir.try_begin_shrink(state, target, guard);
        // The grace closure sits in this thread's epoch bag: push it to the
        // global queue now (sealing an open batch does), or it waits for
        // this thread's next writes (other threads' collector steps cannot
        // reach it).
        if begun && !self.flush_local_batch(guard) {
            #[cfg(not(loom))]
            collector_step(guard);
        }
        begun
    }

    /// Grows so that `additional` more entries fit, and keeps automatic
    /// shrinking from undoing it.
    ///
    /// A shrink whose chunks are being unlinked holds growth off; `reserve`
    /// then carries that shrink to its end itself (redoing claimed chunks
    /// and ending it for a preempted ender, as a blocked insert does, but
    /// all of it), so the capacity is there when it returns. Bounded: it
    /// gives up after one pass over the shrink's chunks (a shrink being
    /// published right now, its cursor not yet stored, is the one case it
    /// cannot help), leaving the raised floor to take effect later.
    pub(crate) fn reserve(&self, additional: usize) {
        let want = Self::log2_for_capacity(self.len().saturating_add(additional), self.load_factor);
        self.dir.raise_floor_log2(want);
        let guard = pin();
        let mut tries = self.dir.state().shrink_chunks_bound() + 2;
        while !self.dir.try_grow_to(want) && tries > 0 {
            let now = self.dir.state();
            if now.log2() >= want {
                return;
            }
            if now.shrink_pending() {
                self.help_shrink_work(now, true, &guard);
            }
            tries -= 1;
        }
    }

    /// Compacts, lowers the shrink floor to the default, and shrinks the
    /// directory as far as the contents allow. Pushes the epoch along to end
    /// the grace period, but gives up after a bounded number of tries
    /// (a thread pinned for long holds it) and leaves the shrink pending, to
    /// be finished by later writes.
    pub(crate) fn shrink_to_fit(&self) {
        self.dir.set_floor_log2(DEFAULT_MIN_LOG2);
        {
            let guard = pin();
            self.compact(&guard);
        }
        for _ in 0..64 {
            let state = self.dir.state();
            if !state.shrink_pending() {
                let guard = pin();
                if !self.maybe_begin_shrink(state, DEFAULT_MIN_LOG2, &guard) {
                    return;
                }
                continue;
            }
            // Free what is queued first: a compaction that emptied a big
            // map (a purge of dead keys, a clear) queues many deferred frees
            // ahead of the shrink's grace closure.
            self.reclaim();
            let guard = pin();
            while self.help_shrink_work(self.dir.state(), true, &guard) {}
        }
        // The last try may have ended a shrink that could go further: start
        // the next one, so the map is left as small as its contents allow
        // or with a shrink pending, never in between.
        let state = self.dir.state();
        if !state.shrink_pending() {
            let guard = pin();
            self.maybe_begin_shrink(state, DEFAULT_MIN_LOG2, &guard);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn log2_for_never_overflows() {
        assert_eq!(log2_for(0, 1), 0);
        assert_eq!(log2_for(1, 1), 0);
        assert_eq!(log2_for(3, 1), 2);
        assert_eq!(log2_for(5, 2), 2);
        assert_eq!(log2_for(usize::MAX, 1), usize::BITS - 1);
        assert_eq!(threshold(40, usize::MAX), usize::MAX);
    }

    #[test]
    #[should_panic(expected = "capacity overflow")]
    fn huge_capacity_panics_with_a_clear_message() {
        RawMap::<u64>::log2_for_capacity(usize::MAX, 1);
    }
}

//! Resize policy and the work that carries resizes out: when to grow and
//! when to shrink, helping a pending shrink unlink its sentinels, and the
//! compaction walk (explicit, and bounded on the write path).
//!
//! Growth only publishes a larger bucket count (the directory adds levels
//! lazily; sentinels are linked by the first write to their bucket). A
//! shrink publishes a smaller count, waits for a grace period without
//! blocking, then every write helps with one chunk of the dropped levels'
//! sentinels (`directory.rs` explains the protocol and why a preempted
//! helper cannot hold it up).
//!
//! ## What this module must never do
//! Wait: every step here is a try-step that an operation skips when
//! another thread holds it or its time has not come.

use super::directory::{self, DirState, ShrinkWork};
use super::list::{mark_sentinel, search_hinted, set_unlinked, sweep, Match};
use super::node::is_linked;
use super::split_order::{parent_bucket, sentinel_so_key};
use super::{CountDead, RawEntry, RawMap, DEFAULT_MIN_LOG2};
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

/// Every `SWEEP_EVERY` removes (per stripe), for entry types that can die,
/// the remover also sweeps a bounded stretch of the list.
const SWEEP_EVERY: usize = 256;
/// Nodes one bounded write-path sweep visits.
const SWEEP_BUDGET: usize = 128;

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
fn threshold(log2: u32, load_factor: usize) -> usize {
    (1usize << log2).saturating_mul(load_factor)
}

/// Smallest `log2` whose bucket count holds `len` entries at `load_factor`
/// (at most `usize::BITS - 1`; callers cap it).
fn log2_for(len: usize, load_factor: usize) -> u32 {
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
        assert!(log2 <= directory::MAX_LOG2, "capacity overflow");
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

    /// For entry types that can die, growth is due (`len` entries counted,
    /// over the threshold of `state`): first purge dead entries with one
    /// full walk. Returns the `log2` to grow to, if any.
    ///
    /// One thread walks at a time (a try-flag); the walker grows after its
    /// walk if the map is still over three quarters of its threshold, so
    /// each walk either purges a quarter of the threshold or is followed by
    /// a doubling (amortized O(1) per insert), and it sizes the growth by
    /// the count after the walk, not before.
    ///
    /// Growth never waits for the walk: a thread that finds another one
    /// walking grows by itself once the map is a whole doubling past due
    /// (over twice its threshold), so a walker that is preempted, or slow
    /// on a long list, holds the load factor at most at twice its setting
    /// (issue 17: it used to hold growth off for every thread for as long
    /// as it walked).
    fn purge_before_grow(&self, len: usize, state: DirState, guard: &Guard) -> Option<u32> {
        let threshold = threshold(state.log2(), self.load_factor);
        if self
            .purging
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return (len / 2 > threshold).then(|| log2_for(len, self.load_factor));
        }
        self.sweep_counting_dead(guard);
        self.purging.store(0, Ordering::Release);
        let len = self.counters.len();
        (len.saturating_mul(4) > threshold.saturating_mul(3))
            .then(|| log2_for(len, self.load_factor).max(state.log2() + 1))
    }

    /// One full walk from the head (see `sweep`) that returns how many dead
    /// entries this walk marked itself.
    fn sweep_counting_dead(&self, guard: &Guard) -> usize {
        let hooks = CountDead {
            map: self,
            dead: core::cell::Cell::new(0),
        };
        // SAFETY: the head is never marked; nodes are `Node<E>`.
        unsafe { sweep::<E, _>(self.dir.head(guard), usize::MAX, &hooks, guard) };
        hooks.dead.get()
    }

    /// Sampled shrink check after a remove (`n`: this stripe's remove count),
    /// plus a bounded sweep now and then for entries that can die.
    pub(super) fn after_remove(&self, n: usize, guard: &Guard) {
        if E::CAN_DIE && n % SWEEP_EVERY == 0 {
            self.sweep_some(guard);
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
    fn maybe_begin_shrink(&self, state: DirState, floor: u32, guard: &Guard) -> bool {
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

    /// Helps a pending shrink: takes fresh chunks if its grace period has
    /// elapsed, else helps the epoch get there. Never waits. Returns true if
    /// it did any shrink work.
    ///
    /// How much: in proportion to what the pending shrink costs this write.
    /// Until the dropped sentinels are unlinked, a write's walk passes the
    /// strays in its bucket, about `shrink_span() / 2` of them; a write that
    /// only did one chunk would make a shrink of many levels (a delete-all)
    /// quadratic in the strays (`docs/decisions.md`). So a write does about
    /// one chunk (64 sentinels) per 128 strays it may pass, and while the
    /// grace period runs, one collector step (a few bags of deferred frees)
    /// per 4,096: each stays within a small multiple of the walk it pays
    /// anyway, and a shrink of one level still costs one chunk per write.
    #[inline]
    pub(super) fn help_pending_shrink(&self, state: DirState, guard: &Guard) -> bool {
        if !state.shrink_pending() {
            return false;
        }
        if self.help_shrink_work(state, false, guard) {
            for _ in 0..state.shrink_span() / 128 {
                if !self.help_shrink_work(self.dir.state(), false, guard) {
                    break;
                }
            }
            return true;
        }
        // Only for shrinks of many levels, whose strays make walks long (a
        // shrink of a few levels ends its grace period soon enough by
        // itself). Not under loom: the models end grace periods through
        // their own hook, and the extra loads would only widen their state
        // space.
        #[cfg(not(loom))]
        if state.shrink_span() >= GRACE_HELP_MIN_SPAN && self.dir.shrink_grace_running(state) {
            self.help_grace(state, guard);
        }
        false
    }

    /// Collector steps for a pending shrink whose grace period is running
    /// (see [`collector_step`]), until it has elapsed or this write's share is
    /// done.
    ///
    /// A step pushes this thread's epoch bag to the global queue, a bag
    /// node of ~2 KiB even when it holds one deferred free. While a pinned
    /// thread holds the epoch no step can make progress, and a step per
    /// write would only multiply those bag nodes; so writes back off
    /// (help one write in 2, 4, ... 64) while the steps free nothing, and
    /// help every write again as soon as one does.
    #[cfg(not(loom))]
    #[cold]
    #[inline(never)]
    fn help_grace(&self, state: DirState, guard: &Guard) {
        let help = &self.grace_help;
        let tick = help.writes.fetch_add(1, Ordering::Relaxed);
        if tick & help.skip_mask.load(Ordering::Relaxed) != 0 {
            return;
        }
        let freed = || self.counters.sum(|s| s.freed.load(Ordering::Relaxed));
        let freed_before = freed();
        for _ in 0..=state.shrink_span() / 4096 {
            collector_step(guard);
            if !self.dir.shrink_grace_running(self.dir.state()) {
                break;
            }
        }
        let progress = freed() != freed_before || !self.dir.shrink_grace_running(self.dir.state());
        let mask = help.skip_mask.load(Ordering::Relaxed);
        let next = if progress {
            0
        } else {
            (mask << 1 | 1).min(GRACE_HELP_MAX_SKIP)
        };
        help.skip_mask.store(next, Ordering::Relaxed);
    }

    /// Does one chunk of a pending shrink whose grace period has elapsed: a
    /// fresh one, or (with `redo_claimed`, once none is left) the first
    /// unfinished one, which another thread claimed. Never waits. Returns
    /// true if it did any work.
    fn help_shrink_work(&self, state: DirState, redo_claimed: bool, guard: &Guard) -> bool {
        if !state.shrink_pending() {
            return false;
        }
        let Some(work) = self.dir.try_take_shrink_work(redo_claimed) else {
            // Every chunk finished, but whoever finished the last one has
            // not ended the shrink yet: end it for them.
            return redo_claimed && self.dir.help_end_shrink(guard);
        };
        self.unlink_shrink_chunk(work, guard);
        true
    }

    /// Unlinks the sentinels of one chunk of a shrink and advances the
    /// shrink's done prefix.
    fn unlink_shrink_chunk(&self, work: ShrinkWork, guard: &Guard) {
        let new_mask = (1usize << work.to) - 1;
        for bucket in work.buckets.clone() {
            let Some(slot) = work.slot(bucket, guard) else {
                break; // level never allocated
            };
            // After the grace period no operation uses this sentinel as a
            // start or links it, and growth is held off until the shrink
            // ends, so it is an ordinary node to delete: mark, then unlink
            // by a search from its bucket's sentinel in the smaller
            // directory. Redoing this for a sentinel another thread is on
            // is harmless (directory.rs).
            if !mark_sentinel(slot) {
                continue; // never linked, or already unlinked
            }
            let start = self.write_start(bucket & new_mask, guard);
            // The parent sentinel, if it is in a dropped level too, is
            // usually still linked (chunks go top level first), with only
            // data nodes between it and `slot`: start there if it still is.
            // Only a linked parent may serve: a sentinel that is not linked
            // is not in the list (or is being linked by someone else).
            let hint = match parent_bucket(bucket) {
                p if p > new_mask => self
                    .dir
                    .slot(p, guard)
                    .map(|(parent, _)| parent)
                    .filter(|parent| is_linked(parent.load(Ordering::Acquire)))
                    .unwrap_or(start),
                _ => start,
            };
            // SAFETY: `start` is a sentinel of a level that stays; `hint` is
            // a linked sentinel between `start` and `slot` in split order.
            // The search passes `slot`'s key and unlinks the marked slot.
            unsafe {
                search_hinted::<E, _>(
                    hint,
                    start,
                    sentinel_so_key(bucket),
                    &mut |_| Match::NotEqual,
                    self,
                    guard,
                )
            };
            // The search passed the place of `slot`'s key with an unmarked
            // predecessor: `slot` is no longer linked.
            if set_unlinked(slot) {
                self.counters
                    .local()
                    .sentinels_unlinked
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        self.dir.advance_shrink(work, guard);
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

    /// One bounded stretch of the compaction walk, from the next bucket in
    /// round-robin order.
    pub(crate) fn sweep_some(&self, guard: &Guard) {
        let state = self.dir.state();
        let bucket =
            self.sweep_cursor.fetch_add(1, Ordering::Relaxed) & ((1usize << state.log2()) - 1);
        let start = self.write_start(bucket, guard);
        // SAFETY: a bucket start of the current state; nodes are `Node<E>`.
        unsafe { sweep::<E, _>(start, SWEEP_BUDGET, self, guard) };
    }

    /// The full compaction walk: finishes what it can of a pending shrink,
    /// unlinks every marked node, dead entry and stray sentinel in one pass
    /// from the head, flushes the retire batches, and starts a shrink if the
    /// map is under its low watermark. Lock-free: concurrent operations
    /// proceed meanwhile. Returns the number of dead entries this walk
    /// purged (entries other threads purged meanwhile are not counted;
    /// always 0 for strong keys).
    pub(crate) fn compact(&self, guard: &Guard) -> usize {
        while self.help_shrink_work(self.dir.state(), true, guard) {}
        let dead = self.sweep_counting_dead(guard);
        self.compactions.fetch_add(1, Ordering::Relaxed);
        self.flush_batches(guard);
        self.maybe_begin_shrink(self.dir.state(), self.dir.floor_log2(), guard);
        dead
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

    /// Advances a pending shrink by one chunk if its grace period is over.
    /// Returns true if it did any work.
    pub(crate) fn help_shrink(&self, guard: &Guard) -> bool {
        self.help_pending_shrink(self.dir.state(), guard)
    }
}

/// Shrinks spanning fewer old buckets per surviving bucket than this get
/// no collector steps from writes (their walks pass few strays).
#[cfg(not(loom))]
const GRACE_HELP_MIN_SPAN: usize = 64;

/// The longest back-off of grace-period help: one write in 64.
#[cfg(not(loom))]
const GRACE_HELP_MAX_SKIP: usize = 63;

/// Per-map state of the writes' help with a long shrink's grace period.
#[cfg(not(loom))]
#[derive(Default)]
pub(crate) struct GraceHelp {
    /// Writes that met such a grace period (wrapping).
    writes: AtomicUsize,
    /// Writes whose count has any of these bits set skip helping.
    skip_mask: AtomicUsize,
}

/// One collector step, to help a shrink's grace period along: flushes this
/// thread's deferred work and lets the epoch collector run a step (advance the epoch if it
/// can, run a few expired bags).
///
/// Why: the grace closure is queued behind every deferred free of the
/// removals that made the map shrink. The collector drains a few bags per
/// step and steps only every so many pins, so after a delete-all of a big
/// map the grace period lasts tens of thousands of operations, each of which
/// walks past the stray sentinels the shrink will unlink (quadratic work;
/// `docs/decisions.md`). A write that finds the grace period running pays
/// one collector step instead, which drains the queue in proportion to the
/// work that made it. This changes only how soon the epoch advances, never
/// what is sound.
#[cfg(not(loom))]
#[inline]
fn collector_step(guard: &Guard) {
    guard.flush();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::node::is_marked;
    use super::super::{Action, Outcome};
    use super::*;

    /// A key that is its own hash.
    struct Key(u64);

    impl RawEntry for Key {
        type Ctx = ();

        fn same_key(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }

    /// A key that can die (so the map purges before it grows), but never
    /// does.
    struct Mortal(u64);

    impl RawEntry for Mortal {
        type Ctx = ();
        const CAN_DIE: bool = true;

        fn same_key(&self, other: &Self) -> bool {
            self.0 == other.0
        }
    }

    /// Issue 17, defect 5: while one thread runs the purge-before-grow walk
    /// (here: holds its flag, as a purger preempted mid-walk would), the
    /// others used to skip growth altogether, so the map's lists grew
    /// without bound. Now they grow once the map is a doubling past due.
    #[test]
    fn growth_does_not_wait_for_a_preempted_purger() {
        let map = RawMap::<Mortal>::new(2, 1, ());
        map.purging.store(1, Ordering::Relaxed);
        let guard = pin();
        let n = 4096u64;
        for key in 0..n {
            let outcome = map.compute(
                key,
                &mut |e: &Mortal, _| {
                    if e.0 == key {
                        Match::Equal
                    } else {
                        Match::NotEqual
                    }
                },
                &mut |_, pending| Action::Put(pending.unwrap_or(Mortal(key))),
                &guard,
            );
            assert!(matches!(outcome, Outcome::Inserted(_)));
        }
        let log2 = map.dir.state().log2();
        assert!(
            threshold(log2, 1) * 2 >= n as usize,
            "{n} entries in 2^{log2} buckets while a purger held its flag"
        );
        map.purging.store(0, Ordering::Relaxed);
    }

    fn matcher(key: u64) -> impl FnMut(&Key, Option<&Key>) -> Match {
        move |e: &Key, _| {
            if e.0 == key {
                Match::Equal
            } else {
                Match::NotEqual
            }
        }
    }

    fn insert(map: &RawMap<Key>, key: u64, guard: &Guard) {
        let outcome = map.compute(
            key,
            &mut matcher(key),
            &mut |_, pending| Action::Put(pending.unwrap_or(Key(key))),
            guard,
        );
        assert!(matches!(outcome, Outcome::Inserted(_)), "key {key} was new");
    }

    fn remove(map: &RawMap<Key>, key: u64, guard: &Guard) {
        let outcome = map.compute(key, &mut matcher(key), &mut |_, _| Action::Remove, guard);
        assert!(
            matches!(outcome, Outcome::Removed(_)),
            "key {key} was there"
        );
    }

    fn contains(map: &RawMap<Key>, key: u64, guard: &Guard) -> bool {
        let mut m = matcher(key);
        map.get(key, &mut |e: &Key| m(e, None), guard).is_some()
    }

    /// Issue 17, defect 1: a helper that read a pending shrink's state and
    /// was preempted before loading the cursor must not claim a chunk once
    /// that shrink has ended. A shrink can end with its cursor short of the
    /// last chunk (the done prefix passes chunks whose slots are all
    /// unclaimed, or whose level was never allocated); if the map regrew
    /// meanwhile, the late claim captured the new level array and marked a
    /// live sentinel.
    ///
    /// Setup as the review found it: a 2^10 -> 2^2 shrink whose only linked
    /// dropped sentinel is 512 (level 10, chunk 0), so one chunk is handed
    /// out and the shrink ends with the cursor at 1; then the map regrows
    /// and bucket 600 (level 10, chunk 1) gets a live sentinel.
    #[test]
    fn a_stale_helper_claims_nothing_after_its_shrink_ended() {
        let map = RawMap::<Key>::new(2, 1, ());
        map.reserve(1024);
        assert_eq!(map.dir.state().log2(), 10);
        let guard = pin();
        insert(&map, 512, &guard);
        remove(&map, 512, &guard);
        map.lower_shrink_floor(2);
        let pending = map.dir.state();
        assert!(map.maybe_begin_shrink(pending, 2, &guard));
        drop(guard);
        // Let the grace period elapse (other tests of this binary pin only
        // briefly).
        while map.dir.shrink_grace_running(map.dir.state()) {
            pin().flush();
        }

        // The preempted helper reads the state here...
        let stale = map.dir.state();
        assert!(stale.shrink_pending() && stale.log2() == 2);
        // ...while others finish the shrink with one chunk handed out...
        let guard = pin();
        assert!(map.help_shrink_work(map.dir.state(), false, &guard));
        assert!(!map.dir.state().shrink_pending(), "the shrink ended");
        // ...and the map regrows, linking a live sentinel in chunk 1.
        map.reserve(1024);
        assert_eq!(map.dir.state().log2(), 10);
        insert(&map, 600, &guard);
        let (slot, _) = map.dir.slot(600, &guard).expect("level 10 allocated");
        assert!(is_linked(slot.load(Ordering::Acquire)));

        // The helper wakes up and runs the rest of its claim.
        let late = map.dir.take_shrink_work_as_of(stale, false);
        let claimed = late.is_some();
        if let Some(work) = late {
            map.unlink_shrink_chunk(work, &guard);
        }
        let w = slot.load(Ordering::Acquire);
        assert!(
            !claimed && is_linked(w) && !is_marked(w),
            "a stale helper claimed a chunk of an ended shrink \
             (claimed: {claimed}, sentinel 600 word {w:?})"
        );
        assert!(contains(&map, 600, &guard));
        insert(&map, 600 + 1024, &guard);
        remove(&map, 600, &guard);
        assert!(contains(&map, 600 + 1024, &guard));
    }

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

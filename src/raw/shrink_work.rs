//! Carrying a published shrink out: writes help its grace period along
//! and unlink the dropped levels' sentinels, one chunk at a time.
//!
//! `directory/shrink.rs` hands out the chunks and verifies them; this
//! module does the unlinking (through `list.rs`) and decides how much a
//! write helps: in proportion to what the pending shrink costs its walk
//! (`docs/decisions.md`, "Writes help a pending shrink in proportion to its
//! span").
//!
//! ## What this module must never do
//! Wait for another thread (a chunk someone else claimed is redone, never
//! waited for), or begin or cancel a shrink (`resize.rs` decides those).

use super::directory::{DirState, ShrinkWork};
use super::list::{mark_sentinel, search_hinted, set_unlinked, Match};
use super::node::is_linked;
use super::split_order::{bucket_mask, parent_sentinel, sentinel_at};
use super::{RawEntry, RawMap};
#[cfg(not(loom))]
use crate::sync::AtomicUsize;
use crate::sync::{Guard, Ordering};

impl<E: RawEntry + Send + 'static> RawMap<E, E::Ctx> {
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
            self.step_collector_for_grace(state, guard);
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
    fn step_collector_for_grace(&self, state: DirState, guard: &Guard) {
        let backoff = &self.collector_backoff;
        let tick = backoff.writes.fetch_add(1, Ordering::Relaxed);
        if tick & backoff.skip_mask.load(Ordering::Relaxed) != 0 {
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
        let mask = backoff.skip_mask.load(Ordering::Relaxed);
        let next = if progress {
            0
        } else {
            (mask << 1 | 1).min(GRACE_HELP_MAX_SKIP)
        };
        backoff.skip_mask.store(next, Ordering::Relaxed);
    }

    /// Does one chunk of a pending shrink whose grace period has elapsed: a
    /// fresh one, or (with `redo_claimed`, once none is left) the first
    /// unfinished one, which another thread claimed. Never waits. Returns
    /// true if it did any work.
    pub(super) fn help_shrink_work(
        &self,
        state: DirState,
        redo_claimed: bool,
        guard: &Guard,
    ) -> bool {
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
        let new_mask = bucket_mask(u64::from(work.to));
        for idx in work.slots.clone() {
            let Some(slot) = work.slot(idx, guard) else {
                break; // level never allocated
            };
            let s = sentinel_at(work.level, idx);
            // After the grace period no operation uses this sentinel as a
            // start or links it, and growth is held off until the shrink
            // ends, so it is an ordinary node to delete: mark, then unlink
            // by a search from its bucket's sentinel in the smaller
            // directory. Redoing this for a sentinel another thread is on
            // is harmless (`directory/shrink.rs`).
            if !mark_sentinel(slot) {
                continue; // never linked, or already unlinked
            }
            let start = self.write_start(s & new_mask, guard);
            // The parent sentinel, if it is in a dropped level too, is
            // usually still linked (chunks go top level first), with only
            // data nodes between it and `slot`: start there if it still is.
            // Only a linked parent may serve: a sentinel that is not linked
            // is not in the list (or is being linked by someone else).
            let hint = match parent_sentinel(s) {
                // In a dropped level: bits below the smaller directory's.
                p if p & !new_mask != 0 => self
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
            unsafe { search_hinted::<E, _>(hint, start, s, &mut |_| Match::NotEqual, self, guard) };
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

/// Per-map back-off of the collector steps writes take while a long
/// shrink's grace period runs (`step_collector_for_grace`).
#[cfg(not(loom))]
#[derive(Default)]
pub(crate) struct CollectorBackoff {
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
pub(super) fn collector_step(guard: &Guard) {
    guard.flush();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::node::is_marked;
    use super::super::split_order::hash_at_reversed_position;
    use super::super::{Action, Outcome};
    use super::*;
    use crate::sync::pin;

    /// A key that is its own hash.
    struct Key(u64);

    impl RawEntry for Key {
        type Ctx = ();
        type Death = ();

        fn same_key(&self, other: &Self) -> bool {
            self.0 == other.0
        }
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

    /// Keys are placed as the bit-reversed split order placed a key whose
    /// hash is the key itself: key `b < 2^L` is in the bucket whose
    /// sentinel key is `b` reversed.
    fn hash(key: u64) -> u64 {
        hash_at_reversed_position(key)
    }

    fn insert(map: &RawMap<Key>, key: u64, guard: &Guard) {
        let outcome = map.compute(
            hash(key),
            &mut matcher(key),
            &mut |_, pending| Action::Put(pending.unwrap_or(Key(key))),
            guard,
        );
        assert!(matches!(outcome, Outcome::Inserted(_)), "key {key} was new");
    }

    fn remove(map: &RawMap<Key>, key: u64, guard: &Guard) {
        let outcome = map.compute(
            hash(key),
            &mut matcher(key),
            &mut |_, _| Action::Remove,
            guard,
        );
        assert!(
            matches!(outcome, Outcome::Removed(_)),
            "key {key} was there"
        );
    }

    fn contains(map: &RawMap<Key>, key: u64, guard: &Guard) -> bool {
        let mut m = matcher(key);
        map.get(hash(key), &mut |e: &Key| m(e, None), guard)
            .is_some()
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
        let sentinel_600 = 600u64.reverse_bits();
        let (slot, _) = map
            .dir
            .slot(sentinel_600, &guard)
            .expect("level 10 allocated");
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
}

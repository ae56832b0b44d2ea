//! The compaction walk: one pass over the list that unlinks every marked
//! node, dead entry and stray sentinel it meets; in full (`compact`, and
//! the purge before a map of mortal entries grows) or in bounded stretches
//! on the write path (`sweep_some`).
//!
//! ## What this module must never do
//! Wait, or decide a resize: the walks report what they purged and
//! `resize.rs` decides. The purge before growth is a try-flag that other
//! threads skip (and grow anyway once a doubling is past due).

use super::directory::DirState;
use super::list::{sweep, ListHooks};
use super::node::Node;
use super::resize::{log2_for, threshold};
use super::{RawEntry, RawMap};
use crate::raw::directory::Directory;
use crate::sync::{Guard, Ordering};

/// Every `SWEEP_EVERY` removes (per stripe), for entry types that can die,
/// the remover also sweeps a bounded stretch of the list.
const SWEEP_EVERY: usize = 256;
/// Nodes one bounded write-path sweep visits.
const SWEEP_BUDGET: usize = 128;

impl<E: RawEntry + Send + 'static> RawMap<E, E::Ctx> {
    /// Every [`SWEEP_EVERY`] removes of a stripe (`n`: its remove count), a
    /// bounded sweep: entry kinds that can die are purged by the writes
    /// even where no write meets them.
    pub(super) fn sweep_now_and_then(&self, n: usize, guard: &Guard) {
        if n % SWEEP_EVERY == 0 {
            self.sweep_some(SWEEP_BUDGET, guard);
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
    pub(super) fn purge_before_grow(
        &self,
        len: usize,
        state: DirState,
        guard: &Guard,
    ) -> Option<u32> {
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

    /// One bounded stretch of the compaction walk, from the next bucket of
    /// the cursor's turn. Consecutive turns start far apart: turn `t`
    /// starts at the bucket whose number is `t`'s low bits reversed (the
    /// first two turns at the list's start and middle, the next two at its
    /// quarters, ...), so stretches of [`SWEEP_BUDGET`] nodes rarely
    /// overlap. (Numbering buckets in list order with `t` itself made each
    /// stretch start one bucket after the last and cover nearly the same
    /// nodes: a bounded cache's eviction step then took its victims from a
    /// narrow window, and passed every hot entry twice; measured in
    /// `docs/decisions.md`, issue 18.)
    pub(crate) fn sweep_some(&self, nodes: usize, guard: &Guard) {
        let log2 = self.dir.state().log2();
        let turn = self.sweep_cursor.fetch_add(1, Ordering::Relaxed) as u64;
        // The bucket's sentinel key: its number in the top `log2` bits.
        let s = turn.reverse_bits() & !(u64::MAX >> log2);
        let start = self.write_start(s, guard);
        // SAFETY: a bucket start of the current state; nodes are `Node<E>`.
        unsafe { sweep::<E, _>(start, nodes, self, guard) };
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
}

/// Hooks that forward to the map and count the dead entries marked.
struct CountDead<'a, E: RawEntry> {
    map: &'a RawMap<E, E::Ctx>,
    dead: core::cell::Cell<usize>,
}

impl<E: RawEntry + Send + 'static> ListHooks<E> for CountDead<'_, E> {
    fn dir(&self) -> &Directory {
        &self.map.dir
    }

    unsafe fn retire(&self, node: *const Node<E>, guard: &Guard) {
        // SAFETY: `ListHooks::retire`'s contracts 1-3 are `retire_node`'s,
        // and our caller keeps them.
        unsafe { self.map.retire(node, guard) }
    }

    fn is_dead(&self, entry: &E) -> Option<E::Death> {
        self.map.is_dead(entry)
    }

    fn dead_marked(&self, entry: &E, death: E::Death) {
        self.dead.set(self.dead.get() + 1);
        self.map.dead_marked(entry, death);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::list::Match;
    use super::super::{Action, Outcome};
    use super::*;
    use crate::sync::pin;

    /// A key that can die (so the map purges before it grows), but never
    /// does.
    struct Mortal(u64);

    impl RawEntry for Mortal {
        type Ctx = ();
        type Death = ();
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
}

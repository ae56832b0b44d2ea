//! `RawMap`: the unsafe core every entry kind shares (`SplitMap`'s, the
//! weak maps', the cache's), and its single-key operations (`get`,
//! `compute`) and whole-map walks (`retain`, `iter`).
//!
//! It combines the list (`list.rs`), the directory (`directory/`) and the
//! counters (`counter.rs`) into operations on entries of a type `E` that it
//! knows nothing about except [`RawEntry`]: callers hash, and pass a matcher
//! closure that says whether an entry holds the key they look for. So
//! strong keys, weak keys and expiring entries run the same code.
//!
//! The other jobs live next door: bucket starts and sentinel linking in
//! `buckets.rs`, resize policy in `resize.rs`, carrying a shrink out in
//! `shrink_work.rs`, the compaction walk in `compact.rs`, retirement,
//! reclamation and teardown in `reclaim.rs`.
//!
//! ## Values: immutable nodes
//! A data node never changes after it is published. Replacing a value is one
//! CAS on the old node's word that at once marks it deleted and links the
//! new node carrying the new value (`old.next = new | MARK`, `new.next` = the
//! old successor). A reader that reaches the old node unmarked returns the
//! old value (it linearized before the replace); one that finds it marked
//! steps to its successor, the replacement. A concurrent remove of the same
//! key either marks the old node first (the replace CAS then fails and
//! re-searches) or fails on the marked node and re-searches to find the
//! replacement. Reads cost no extra allocation or pointer hop; each update
//! allocates one node. Chosen over a value pointer for the read path and the
//! bytes per entry (`docs/decisions.md`, "Values: immutable nodes": 72 vs
//! 104 B/entry).
//!
//! ## What this module must never do
//! Wait for another thread: every loop here retries only after a CAS failed
//! because another thread made progress (or a shrink moved the directory).
//! Shrinking and growing are try-steps that operations skip when someone
//! else holds them. It never touches a link word except through `list.rs`.

pub(crate) mod counter;
pub(crate) mod directory;
pub(crate) mod iter;
pub(crate) mod list;
pub(crate) mod node;
pub(crate) mod split_order;

mod buckets;
mod compact;
mod reclaim;
mod resize;
mod shrink_work;

use crate::sync::{unprotected, AtomicUsize, Guard, Ordering, Word};
use core::marker::PhantomData;
use counter::Counters;
pub(crate) use counter::RawStats;
use directory::Directory;
pub(crate) use iter::{PinnedWalk, RawIter, RawIterMut};
use list::{insert_at, lookup, search, try_mark, try_replace, Position, Restart};
pub(crate) use list::{ListHooks, Match, RawEntry};
use node::{is_linked, is_marked, node_word, relink, Node, MARK};
use split_order::{data_so_key, sentinel_of};

/// What a `compute` closure decides for the key.
pub(crate) enum Action<E> {
    /// Leave the map as it is.
    Keep,
    /// Insert this entry, or replace the current one with it.
    Put(E),
    /// Remove the current entry (no-op if absent).
    Remove,
}

/// What `compute` did. References live as long as the guard.
pub(crate) enum Outcome<'g, E> {
    Unchanged(Option<&'g E>),
    Inserted(&'g E),
    Replaced { old: &'g E, new: &'g E },
    Removed(&'g E),
}

/// Default entries per bucket before the directory doubles.
pub(crate) const DEFAULT_LOAD_FACTOR: usize = 1;
/// Default smallest bucket count (`1 << 2`).
pub(crate) const DEFAULT_MIN_LOG2: u32 = 2;

pub(crate) struct RawMap<E, C = ()> {
    dir: Directory,
    counters: Counters,
    load_factor: usize,
    /// Sampled high-water marks (updated on the grow checks and by `stats`).
    peak_len: AtomicUsize,
    peak_bytes: AtomicUsize,
    compactions: AtomicUsize,
    /// Next bucket a write-path sweep starts from (round robin).
    sweep_cursor: AtomicUsize,
    /// Try-flag (0 or 1) for the purge-before-grow walk of entry types that
    /// can die: one thread runs it, the others skip it (never wait).
    purging: AtomicUsize,
    /// Writes that met a long shrink's grace period, and the mask of them
    /// that skip helping it while the collector makes no progress
    /// (`shrink_work.rs`, `step_collector_for_grace`).
    #[cfg(not(loom))]
    collector_backoff: shrink_work::CollectorBackoff,
    /// The entry kind's context (`RawEntry::Ctx`), handed to its `is_dead`
    /// and `on_dead_marked`; `()` for kinds that need none.
    ctx: C,
    /// `RawMap` owns the `Node<E>`s linked in its list.
    _owns: PhantomData<Box<Node<E>>>,
}

impl<E, C> RawMap<E, C> {
    /// A map with `1 << log2` initial buckets (also the automatic-shrink
    /// floor), `load_factor` entries per bucket before growth, and the
    /// entry kind's context.
    pub(crate) fn new(log2: u32, load_factor: usize, ctx: C) -> Self {
        assert!(load_factor >= 1, "load factor must be at least 1");
        RawMap {
            dir: Directory::new(log2),
            counters: Counters::new(),
            load_factor,
            peak_len: AtomicUsize::new(0),
            peak_bytes: AtomicUsize::new(0),
            compactions: AtomicUsize::new(0),
            sweep_cursor: AtomicUsize::new(0),
            #[cfg(not(loom))]
            collector_backoff: shrink_work::CollectorBackoff::default(),
            purging: AtomicUsize::new(0),
            ctx,
            _owns: PhantomData,
        }
    }

    /// The entry kind's context.
    pub(crate) fn ctx(&self) -> &C {
        &self.ctx
    }

    pub(crate) fn len(&self) -> usize {
        self.counters.len()
    }

    /// Heap bytes the map holds now: linked nodes, directory levels,
    /// retired nodes not yet freed, and the fixed overhead.
    pub(crate) fn heap_bytes(&self) -> usize {
        let s = self.raw_stats();
        s.node_bytes + s.directory_bytes + s.retired_bytes + s.fixed_bytes
    }

    /// Loom-only hook: see `Directory::loom_end_shrink_grace`.
    #[cfg(loom)]
    pub(crate) fn loom_end_shrink_grace(&self) -> bool {
        self.dir.loom_end_shrink_grace()
    }

    /// O(stripes) figures from the counters.
    pub(crate) fn raw_stats(&self) -> RawStats {
        let state = self.dir.state();
        self.counters.stats(counter::StatsInputs {
            node_size: Node::<E>::SIZE,
            buckets: 1usize << state.log2(),
            directory_slots: self.dir.allocated_slots(),
            directory_bytes: self.dir.slot_bytes(),
            compactions: self.compactions.load(Ordering::Relaxed),
            shrinks: self.dir.shrinks.load(Ordering::Relaxed),
            shrink_pending: state.shrink_pending(),
            peak_len: self.peak_len.load(Ordering::Relaxed),
            peak_bytes: self.peak_bytes.load(Ordering::Relaxed),
        })
    }
}

impl<E: RawEntry + Send + 'static> RawMap<E, E::Ctx> {
    /// Lookup. Writes to shared memory only to link the key's bucket
    /// sentinel, the first time a read finds it unlinked (`buckets.rs`).
    /// Always inlined: it is a few dozen instructions, and a call's register
    /// saves would be a fifth of them.
    #[inline(always)]
    pub(crate) fn get<'g>(
        &'g self,
        hash: u64,
        matcher: &mut impl FnMut(&E) -> Match<E::Death>,
        guard: &'g Guard,
    ) -> Option<&'g E> {
        let so_key = data_so_key(hash);
        loop {
            let own = self.dir.own_start(so_key, guard);
            let start = if is_linked(own) {
                own
            } else {
                self.read_start_unlinked(so_key, guard)
            };
            // SAFETY: `start` was read from a linked sentinel of this map's
            // list that precedes the key, whose data nodes are `Node<E>`.
            match unsafe { lookup(&self.dir, start, so_key, matcher, guard) } {
                Ok(found) => return found,
                Err(Restart) => continue, // a shrink ended under the walk
            }
        }
    }

    /// The one write primitive: looks up the key, asks `decide` what to do
    /// with the current entry (`None` if absent) and does it atomically.
    ///
    /// `decide` may run more than once: after a CAS lost to a concurrent
    /// change of this key it runs again on the new current entry. Its second
    /// argument hands back the entry of a `Put` that could not be published
    /// (the *pending* entry), so it can be reused instead of rebuilt. The
    /// matcher gets the pending entry too, so a caller whose key moved into
    /// it can still match on it.
    #[inline]
    pub(crate) fn compute<'g>(
        &'g self,
        hash: u64,
        matcher: &mut impl FnMut(&E, Option<&E>) -> Match<E::Death>,
        decide: &mut impl FnMut(Option<&'g E>, Option<E>) -> Action<E>,
        guard: &'g Guard,
    ) -> Outcome<'g, E> {
        self.compute_at(data_so_key(hash), matcher, decide, guard)
    }

    /// [`RawMap::compute`] for the data key `so_key` (a hash already
    /// spread and placed).
    fn compute_at<'g>(
        &'g self,
        so_key: u64,
        matcher: &mut impl FnMut(&E, Option<&E>) -> Match<E::Death>,
        decide: &mut impl FnMut(Option<&'g E>, Option<E>) -> Action<E>,
        guard: &'g Guard,
    ) -> Outcome<'g, E> {
        let mut spare: Option<E> = None;
        'retry: loop {
            let state = self.dir.state();
            self.help_pending_shrink(state, guard);
            let start = self.write_start(sentinel_of(so_key, state.log2()), guard);
            // SAFETY: `start` is a linked sentinel for the current state (so
            // never marked while we are pinned); data nodes are `Node<E>`.
            let pos = unsafe {
                search(
                    start,
                    so_key,
                    &mut |e: &E| matcher(e, spare.as_ref()),
                    self,
                    guard,
                )
            };
            if !pos.found {
                let entry = match decide(None, spare.take()) {
                    Action::Keep | Action::Remove => return Outcome::Unchanged(None),
                    Action::Put(entry) => entry,
                };
                let new = Node::alloc(so_key, entry, relink(Word::from_bits(0), pos.pred_next));
                // Counted before it can be found, so `len()` never sees its
                // removal without it (counter.rs).
                let n = self.counters.count_insert();
                // SAFETY: `new` is unpublished and holds `pos`'s successor.
                match unsafe { insert_at(&pos, new) } {
                    Ok(()) => {
                        self.after_insert(n, state, guard);
                        // SAFETY: published under `guard`; freed only after
                        // being unlinked and a grace period.
                        return Outcome::Inserted(unsafe { Node::entry(new) });
                    }
                    Err(()) => {
                        self.counters.uncount_insert();
                        // SAFETY: the CAS failed, so `new` was never shared.
                        spare = Some(unsafe { Node::unpublish(new) });
                        continue 'retry;
                    }
                }
            }

            let node = pos.node();
            // SAFETY: found under `guard`, so live; a data node of this map.
            let (link, current) = unsafe { (Node::link(node), Node::entry(node)) };
            match decide(Some(current), spare.take()) {
                Action::Keep => return Outcome::Unchanged(Some(current)),
                Action::Remove => {
                    let mut next = link.next.load(Ordering::Acquire);
                    loop {
                        if is_marked(next) {
                            continue 'retry; // removed or replaced meanwhile
                        }
                        match try_mark(link, next) {
                            Ok(()) => {
                                let n = self.counters.count_remove();
                                // SAFETY: we marked `pos`'s node.
                                unsafe {
                                    self.unlink_marked(start, so_key, &pos, next.or(MARK), guard)
                                };
                                self.after_remove(n, guard);
                                return Outcome::Removed(current);
                            }
                            Err(actual) => next = actual,
                        }
                    }
                }
                Action::Put(entry) => {
                    let mut next = link.next.load(Ordering::Acquire);
                    let new = Node::alloc(so_key, entry, relink(Word::from_bits(0), next));
                    loop {
                        if is_marked(next) {
                            // SAFETY: never published.
                            spare = Some(unsafe { Node::unpublish(new) });
                            continue 'retry;
                        }
                        // SAFETY: `new` is unpublished until the CAS succeeds.
                        unsafe { Node::link(new) }
                            .next
                            .store(relink(Word::from_bits(0), next), Ordering::Relaxed);
                        // One CAS: mark the old node and make the new one its
                        // successor.
                        // SAFETY: `new` is unpublished and holds `next`'s
                        // successor.
                        match unsafe { try_replace(link, next, new) } {
                            Ok(()) => {
                                self.counters
                                    .local()
                                    .replaces
                                    .fetch_add(1, Ordering::Relaxed);
                                // SAFETY: we marked `pos`'s node.
                                unsafe {
                                    self.unlink_marked(
                                        start,
                                        so_key,
                                        &pos,
                                        node_word(new).or(MARK),
                                        guard,
                                    )
                                };
                                return Outcome::Replaced {
                                    old: current,
                                    // SAFETY: published under `guard`.
                                    new: unsafe { Node::entry(new) },
                                };
                            }
                            // The old node is still current unless the failure
                            // shows a mark: retry the CAS without re-deciding.
                            Err(actual) => next = actual,
                        }
                    }
                }
            }
        }
    }

    /// After this thread marked `pos`'s node (its word now `marked`),
    /// swings `pos.pred` past it; if `pred` changed meanwhile, a search over
    /// the key's run unlinks it.
    ///
    /// # Safety
    /// This thread's CAS marked `pos.node()`; `start` is the sentinel `pos`
    /// was searched from.
    unsafe fn unlink_marked<'g>(
        &'g self,
        start: &'g crate::sync::AtomicWord,
        so_key: u64,
        pos: &Position<'g, E>,
        marked: Word,
        guard: &'g Guard,
    ) {
        if list::try_unlink_at(pos, marked) {
            // SAFETY: our CAS unlinked the marked data node `pos.node()`.
            unsafe { self.retire(pos.node(), guard) };
        } else {
            // SAFETY: `search`'s contract:
            // 1. `start` is the bucket start `pos` was searched from (our
            //    contract), linked and never marked while we are pinned;
            // 2. this map's data nodes are `Node<E>`.
            // The search passes every node of `so_key` and unlinks the
            // marked ones.
            unsafe { search::<E, _>(start, so_key, &mut |_| Match::NotEqual, self, guard) };
        }
    }

    /// Walks the whole list and removes every entry `keep` rejects. Each
    /// removal is linearizable on its own; the walk as a whole is not atomic.
    /// Returns the number removed.
    pub(crate) fn retain<'g>(
        &'g self,
        mut keep: impl FnMut(&'g E) -> bool,
        guard: &'g Guard,
    ) -> usize {
        let mut removed = 0;
        self.help_shrink(guard);
        for (link, entry) in self.iter(guard) {
            if keep(entry) {
                continue;
            }
            let mut next = link.next.load(Ordering::Acquire);
            loop {
                if is_marked(next) {
                    // Removed or replaced since the walk yielded it. A
                    // replacement sits after it, where the walk will not go:
                    // decide on the current entry for this key instead.
                    removed += self.remove_current_if(link.so_key, entry, &mut keep, guard);
                    break;
                }
                match try_mark(link, next) {
                    Ok(()) => {
                        removed += 1;
                        let n = self.counters.count_remove();
                        let state = self.dir.state();
                        let start = self.write_start(sentinel_of(link.so_key, state.log2()), guard);
                        // SAFETY: a current bucket start; unlinks the node
                        // we just marked.
                        unsafe {
                            search::<E, _>(
                                start,
                                link.so_key,
                                &mut |_| Match::NotEqual,
                                self,
                                guard,
                            )
                        };
                        self.after_remove(n, guard);
                        break;
                    }
                    Err(actual) => next = actual,
                }
            }
        }
        removed
    }

    /// `retain`'s answer to losing its node to a concurrent replace: looks
    /// up the current entry for `entry`'s key and removes it if `keep`
    /// rejects it (so `keep` may run more than once for a key). Returns 1 if
    /// it removed an entry.
    fn remove_current_if<'g>(
        &'g self,
        so_key: u64,
        entry: &'g E,
        keep: &mut impl FnMut(&'g E) -> bool,
        guard: &'g Guard,
    ) -> usize {
        let outcome = self.compute_at(
            so_key,
            &mut |e: &E, _| {
                if e.same_key(entry) {
                    Match::Equal
                } else {
                    Match::NotEqual
                }
            },
            &mut |cur, _| match cur {
                Some(cur) if !keep(cur) => Action::Remove,
                _ => Action::Keep,
            },
            guard,
        );
        usize::from(matches!(outcome, Outcome::Removed(_)))
    }
}

/// Walks that only read: no bound on the entry beyond what the list needs.
impl<E: RawEntry, C> RawMap<E, C> {
    /// Iterates live entries in split order under `guard`.
    pub(crate) fn iter<'g>(&'g self, guard: &'g Guard) -> RawIter<'g, E> {
        // SAFETY: this map's directory; its data nodes are `Node<E>`.
        unsafe { RawIter::new(&self.dir, guard) }
    }

    /// Iterates live entries under a pin the walk owns.
    pub(crate) fn pinned_walk(&self) -> PinnedWalk<'_, E> {
        // SAFETY: this map's directory; its data nodes are `Node<E>`.
        unsafe { PinnedWalk::new(&self.dir, crate::sync::pin()) }
    }

    /// Share `share` of `shares` (a power of two) of a walk over the live
    /// entries, under a pin the walk owns: the entries whose `so_key` has
    /// `share` in its top bits. The shares together yield what one walk
    /// would.
    #[cfg(feature = "rayon")]
    pub(crate) fn pinned_walk_share(&self, share: usize, shares: usize) -> PinnedWalk<'_, E> {
        assert!(shares.is_power_of_two() && share < shares);
        let bits = shares.trailing_zeros();
        let (lo, until) = if bits == 0 {
            (0, u64::MAX)
        } else {
            let lo = (share as u64) << (64 - bits);
            (lo, lo | (u64::MAX >> bits))
        };
        // SAFETY: this map's directory; its data nodes are `Node<E>`.
        unsafe { PinnedWalk::range(&self.dir, crate::sync::pin(), lo, until) }
    }

    /// Iterates live entries mutably (exclusive access: no reader can
    /// exist, so an entry may change in place).
    pub(crate) fn iter_mut(&mut self) -> RawIterMut<'_, E> {
        // SAFETY: exclusive access; nothing is retired through this guard.
        let guard = unsafe { unprotected() };
        let head = self.dir.head(guard).load(Ordering::Relaxed);
        // SAFETY: this map's directory, borrowed exclusively; `head` is its
        // list's first word.
        unsafe { RawIterMut::new(&self.dir, head, u64::MAX) }
    }

    /// The live entry `matcher` finds among the keys hashing to `hash`,
    /// mutably (exclusive access).
    pub(crate) fn get_mut(
        &mut self,
        hash: u64,
        matcher: &mut impl FnMut(&E) -> Match<E::Death>,
    ) -> Option<&mut E> {
        let so_key = data_so_key(hash);
        // SAFETY: exclusive access; nothing is retired through this guard.
        let guard = unsafe { unprotected() };
        // Nothing changes the list under `&mut self`: the start precedes
        // the key, and every reference on the way leads to an installed
        // level (a pending shrink's sentinels are still linked).
        let (start, _) = self.dir.read_start(so_key, guard);
        // SAFETY: this map's directory, borrowed exclusively; `start` was
        // read from a linked sentinel of its list.
        let walk = unsafe { RawIterMut::new(&self.dir, start, so_key) };
        walk.filter(|(key, _)| *key == so_key)
            .map(|(_, entry)| entry)
            .find(|entry| matches!(matcher(entry), Match::Equal))
    }
}

impl<E: RawEntry + Send + 'static> ListHooks<E> for RawMap<E, E::Ctx> {
    fn dir(&self) -> &Directory {
        &self.dir
    }

    unsafe fn retire(&self, node: *const Node<E>, guard: &Guard) {
        // SAFETY: `ListHooks::retire`'s contracts 1-3 are `retire_node`'s,
        // and our caller keeps them.
        unsafe { self.retire_node(node, guard) }
    }

    fn is_dead(&self, entry: &E) -> Option<E::Death> {
        entry.is_dead(&self.ctx)
    }

    fn dead_marked(&self, entry: &E, death: E::Death) {
        self.counters.local().purged.fetch_add(1, Ordering::Release);
        entry.on_dead_marked(&self.ctx, death);
    }
}

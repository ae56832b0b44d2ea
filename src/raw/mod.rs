//! `RawMap`: the unsafe core both public maps share.
//!
//! It combines the list (`list.rs`), the directory (`directory.rs`) and the
//! counters (`counter.rs`) into operations on entries of a type `E` that it
//! knows nothing about except [`RawEntry`]: callers hash, and pass a matcher
//! closure that says whether an entry holds the key they look for. So
//! `SplitMap` (strong keys) and `WeakKeyMap` (weak keys) run the same code.
//!
//! ## Values: immutable nodes (DESIGN.md §3, option b)
//! A data node never changes after it is published. Replacing a value is one
//! CAS on the old node's `next` that at once marks it deleted and links the
//! new node carrying the new value (`old.next = new | MARK`, `new.next` = the
//! old successor). A reader that reaches the old node unmarked returns the
//! old value (it linearized before the replace); one that finds it marked
//! steps to its successor, the replacement. A concurrent remove of the same
//! key either marks the old node first (the replace CAS then fails and
//! re-searches) or fails on the marked node and re-searches to find the
//! replacement. Reads cost no extra allocation or pointer hop; each update
//! allocates one node. Chosen over a value pointer for the read path and the
//! bytes per entry (DESIGN.md measurements: 72 vs 104 B/entry).
//!
//! ## What this module must never do
//! Wait for another thread: every loop here retries only after a CAS failed
//! because another thread made progress. Shrinking and growing are
//! try-steps that operations skip when someone else holds them.

pub(crate) mod counter;
pub(crate) mod directory;
pub(crate) mod list;
pub(crate) mod node;
pub(crate) mod split_order;

use crate::sync::{pin, AtomicUsize, Guard, Ordering, Shared};
use core::marker::PhantomData;
use counter::Counters;
use directory::{DirState, Directory};
use list::{lookup, search, search_hinted, sweep, Position};
pub(crate) use list::{ListHooks, Match, RawEntry, RawIter};
use node::{Link, Node, MARK, SENTINEL_CLAIMED, SENTINEL_LINKED};
use split_order::{bucket_of, data_so_key, parent_bucket};

/// Counter figures for `stats()`; see `MapStats` for their meaning.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawStats {
    pub(crate) len: usize,
    pub(crate) buckets: usize,
    pub(crate) linked_sentinels: usize,
    pub(crate) directory_slots: usize,
    pub(crate) directory_bytes: usize,
    pub(crate) node_bytes: usize,
    pub(crate) marked_linked: usize,
    pub(crate) retired_awaiting: usize,
    pub(crate) retired_bytes: usize,
    pub(crate) fixed_bytes: usize,
    pub(crate) inserts: usize,
    pub(crate) removes: usize,
    pub(crate) purged: usize,
    pub(crate) replaces: usize,
    pub(crate) compactions: usize,
    pub(crate) shrinks: usize,
    pub(crate) shrink_pending: bool,
    pub(crate) peak_len: usize,
    pub(crate) peak_bytes: usize,
}

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
pub(crate) const DEFAULT_LOAD_FACTOR: usize = 2;
/// Default smallest bucket count (`1 << 2`).
pub(crate) const DEFAULT_MIN_LOG2: u32 = 2;

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
    /// The entry kind's context (`RawEntry::Ctx`), handed to its `is_dead`
    /// and `on_dead_marked`; `()` for kinds that need none.
    ctx: C,
    /// `RawMap` owns the `Node<E>`s linked in its list.
    _owns: PhantomData<Box<Node<E>>>,
}

/// Raises a high-water mark. Read first: the mark is shared by all
/// threads, and an RMW on every check would bounce its cache line.
#[inline]
fn raise_to(mark: &AtomicUsize, value: usize) {
    if value > mark.load(Ordering::Relaxed) {
        mark.fetch_max(value, Ordering::Relaxed);
    }
}

/// Smallest `log2` whose bucket count holds `len` entries at `load_factor`.
fn log2_for(len: usize, load_factor: usize) -> u32 {
    let buckets = len.div_ceil(load_factor.max(1)).max(1);
    buckets.next_power_of_two().trailing_zeros()
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
            purging: AtomicUsize::new(0),
            ctx,
            _owns: PhantomData,
        }
    }

    /// The entry kind's context.
    pub(crate) fn ctx(&self) -> &C {
        &self.ctx
    }

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

    pub(crate) fn len(&self) -> usize {
        self.counters.len()
    }

    /// Lets automatic shrinking go down to `1 << log2` buckets again (for
    /// maps pre-sized for a bulk build, which promise nothing about later).
    pub(crate) fn lower_shrink_floor(&self, log2: u32) {
        self.dir.set_floor_log2(log2);
    }

    /// Entries the current bucket count holds before the next growth.
    pub(crate) fn capacity(&self) -> usize {
        (1usize << self.dir.state().log2()) * self.load_factor
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

    /// O(1) figures from the counters.
    pub(crate) fn raw_stats(&self) -> RawStats {
        let c = &self.counters;
        let load =
            |f: fn(&counter::Stripe) -> &AtomicUsize| c.sum(|s| f(s).load(Ordering::Relaxed));
        let inserts = load(|s| &s.inserts);
        let removes = load(|s| &s.removes);
        let purged = load(|s| &s.purged);
        let replaces = load(|s| &s.replaces);
        let retired = load(|s| &s.retired);
        let len = inserts.saturating_sub(removes.wrapping_add(purged));
        let marked_linked = removes
            .wrapping_add(purged)
            .wrapping_add(replaces)
            .saturating_sub(retired);
        let awaiting = c.awaiting_reclaim();
        let node = Node::<E>::SIZE;
        let state = self.dir.state();
        RawStats {
            len,
            buckets: 1usize << state.log2(),
            linked_sentinels: 1 + load(|s| &s.sentinels_linked)
                .saturating_sub(load(|s| &s.sentinels_unlinked)),
            directory_slots: self.dir.allocated_slots(),
            directory_bytes: self.dir.slot_bytes(),
            node_bytes: (len + marked_linked) * node,
            marked_linked,
            retired_awaiting: awaiting,
            retired_bytes: awaiting * node,
            fixed_bytes: c.heap_bytes(),
            inserts,
            removes,
            purged,
            replaces,
            compactions: self.compactions.load(Ordering::Relaxed),
            shrinks: self.dir.shrinks.load(Ordering::Relaxed),
            shrink_pending: state.shrink_pending(),
            peak_len: self.peak_len.load(Ordering::Relaxed).max(len),
            peak_bytes: self.peak_bytes.load(Ordering::Relaxed),
        }
    }
}

/// Reads: they never write shared memory, retire or drop an entry, so they
/// need no `Send`/`'static` bound on the entry.
impl<E: RawEntry, C> RawMap<E, C> {
    /// Read-only lookup. Never writes to shared memory.
    #[inline]
    pub(crate) fn get<'g>(
        &'g self,
        hash: u64,
        matcher: &mut impl FnMut(&E) -> Match,
        guard: &'g Guard,
    ) -> Option<&'g E> {
        let start = self.read_start(hash, guard);
        // SAFETY: `start` is a linked sentinel of this map's list, whose data
        // nodes are all `Node<E>`.
        unsafe { lookup(start, data_so_key(hash), matcher, guard) }
    }

    /// The start node for a read of `hash`: its bucket's sentinel if linked,
    /// else the nearest linked ancestor. Never allocates or links.
    #[inline]
    fn read_start<'g>(&'g self, hash: u64, guard: &'g Guard) -> &'g Link {
        let mut bucket = bucket_of(hash, self.dir.state().log2());
        loop {
            if let Some(slot) = self.dir.slot(bucket, guard) {
                if slot.next.load(Ordering::Acquire, guard).tag() & SENTINEL_LINKED != 0 {
                    return slot;
                }
            }
            bucket = parent_bucket(bucket); // bucket 0 is always linked
        }
    }

    /// Iterates live entries in split order under `guard`.
    pub(crate) fn iter<'g>(&'g self, guard: &'g Guard) -> RawIter<'g, E> {
        // SAFETY: the head of this map's list; its data nodes are `Node<E>`.
        unsafe { RawIter::new(self.dir.head(guard), guard) }
    }
}

impl<E: RawEntry + Send + 'static> RawMap<E, E::Ctx> {
    /// The one write primitive: looks up the key, asks `decide` what to do
    /// with the current entry (`None` if absent) and does it atomically.
    ///
    /// `decide` may run more than once: after a CAS lost to a concurrent
    /// change of this key it runs again on the new current entry. Its second
    /// argument hands back the entry of a `Put` that could not be published
    /// (the *pending* entry), so it can be reused instead of rebuilt. The
    /// matcher gets the pending entry too, so a caller whose key moved into
    /// it can still match on it.
    pub(crate) fn compute<'g>(
        &'g self,
        hash: u64,
        matcher: &mut impl FnMut(&E, Option<&E>) -> Match,
        decide: &mut impl FnMut(Option<&'g E>, Option<E>) -> Action<E>,
        guard: &'g Guard,
    ) -> Outcome<'g, E> {
        let so_key = data_so_key(hash);
        let mut spare: Option<E> = None;
        'retry: loop {
            let state = self.dir.state();
            self.help_pending_shrink(state, guard);
            let start = self.write_start(bucket_of(hash, state.log2()), guard);
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
                let new = Node::alloc(so_key, entry);
                // SAFETY: `new` is ours until the CAS below publishes it.
                unsafe { (*new).link.next.store(pos.curr(), Ordering::Relaxed) };
                let new_shared = Shared::from(new as *const Link).with_tag(pos.pred_next.tag());
                match pos.pred.next.compare_exchange(
                    pos.pred_next,
                    new_shared,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                    guard,
                ) {
                    Ok(_) => {
                        let stripe = self.counters.local();
                        let n = stripe.inserts.fetch_add(1, Ordering::Relaxed) + 1;
                        self.after_insert(n, state, guard);
                        // SAFETY: published under `guard`; freed only after
                        // being unlinked and a grace period.
                        return Outcome::Inserted(unsafe { &(*new).entry });
                    }
                    Err(_) => {
                        // SAFETY: the CAS failed, so `new` was never shared.
                        spare = Some(unsafe { Node::unpublish(new) });
                        continue 'retry;
                    }
                }
            }

            let node_shared = pos.curr();
            // SAFETY: found under `guard`, so live; a data node of this map.
            let node = unsafe { node_shared.deref() };
            // SAFETY: as above.
            let current: &'g E = unsafe { node.entry::<E>() };
            match decide(Some(current), spare.take()) {
                Action::Keep => return Outcome::Unchanged(Some(current)),
                Action::Remove => {
                    let mut next = node.next.load(Ordering::Acquire, guard);
                    loop {
                        if next.tag() & MARK != 0 {
                            continue 'retry; // removed or replaced meanwhile
                        }
                        match node.next.compare_exchange(
                            next,
                            next.with_tag(MARK),
                            Ordering::AcqRel,
                            Ordering::Acquire,
                            guard,
                        ) {
                            Ok(_) => {
                                let stripe = self.counters.local();
                                let n = stripe.removes.fetch_add(1, Ordering::Relaxed) + 1;
                                self.unlink_marked(start, so_key, &pos, next, guard);
                                self.after_remove(n, guard);
                                return Outcome::Removed(current);
                            }
                            Err(e) => next = e.current,
                        }
                    }
                }
                Action::Put(entry) => {
                    let new = Node::alloc(so_key, entry);
                    let new_link = Shared::from(new as *const Link);
                    let mut next = node.next.load(Ordering::Acquire, guard);
                    loop {
                        if next.tag() & MARK != 0 {
                            // SAFETY: never published.
                            spare = Some(unsafe { Node::unpublish(new) });
                            continue 'retry;
                        }
                        // SAFETY: `new` is unpublished until the CAS succeeds.
                        unsafe { (*new).link.next.store(next, Ordering::Relaxed) };
                        // One CAS: mark the old node and make the new one its
                        // successor.
                        match node.next.compare_exchange(
                            next,
                            new_link.with_tag(MARK),
                            Ordering::AcqRel,
                            Ordering::Acquire,
                            guard,
                        ) {
                            Ok(_) => {
                                self.counters
                                    .local()
                                    .replaces
                                    .fetch_add(1, Ordering::Relaxed);
                                self.unlink_marked(start, so_key, &pos, new_link, guard);
                                return Outcome::Replaced {
                                    old: current,
                                    // SAFETY: published under `guard`.
                                    new: unsafe { &(*new).entry },
                                };
                            }
                            // The old node is still current unless the failure
                            // shows a mark: retry the CAS without re-deciding.
                            Err(e) => next = e.current,
                        }
                    }
                }
            }
        }
    }

    /// After marking `pos.curr()`, swings `pos.pred` past it to `succ`; if
    /// `pred` changed meanwhile, a search over the key's run unlinks it.
    fn unlink_marked<'g>(
        &'g self,
        start: &'g Link,
        so_key: u64,
        pos: &Position<'g>,
        succ: Shared<'g, Link>,
        guard: &'g Guard,
    ) {
        let desired = succ.with_tag(pos.pred_next.tag());
        match pos.pred.next.compare_exchange(
            pos.pred_next,
            desired,
            Ordering::AcqRel,
            Ordering::Acquire,
            guard,
        ) {
            // SAFETY: our CAS unlinked the marked data node `pos.curr()`.
            Ok(_) => unsafe { self.retire(pos.curr().as_raw(), guard) },
            Err(_) => {
                // SAFETY: as in `compute`; the search passes every node of
                // `so_key` and unlinks the marked ones.
                unsafe { search::<E, _>(start, so_key, &mut |_| Match::NotEqual, self, guard) };
            }
        }
    }

    /// The start node for a write to `bucket`: its sentinel, linked first if
    /// needed. If another thread has claimed the sentinel and is still
    /// linking it, starts from the nearest linked ancestor instead of
    /// waiting.
    fn write_start<'g>(&'g self, bucket: usize, guard: &'g Guard) -> &'g Link {
        let slot = self.dir.slot_or_alloc(bucket, guard);
        let next = slot.next.load(Ordering::Acquire, guard);
        if next.tag() & SENTINEL_LINKED != 0 {
            return slot;
        }
        if bucket == 0 {
            unreachable!("bucket 0 is linked from birth");
        }
        if next.tag() & SENTINEL_CLAIMED != 0
            || slot
                .next
                .compare_exchange(
                    Shared::null(),
                    Shared::null().with_tag(SENTINEL_CLAIMED),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                    guard,
                )
                .is_err()
        {
            return self.write_start(parent_bucket(bucket), guard);
        }
        // We own the claim: only we write `slot.next` until it is reachable.
        let parent = self.write_start(parent_bucket(bucket), guard);
        loop {
            // SAFETY: `parent` is a linked sentinel of the current state.
            let pos = unsafe {
                search::<E, _>(parent, slot.so_key, &mut |_| Match::NotEqual, self, guard)
            };
            slot.next
                .store(pos.curr().with_tag(SENTINEL_CLAIMED), Ordering::Relaxed);
            let me = Shared::from(slot as *const Link).with_tag(pos.pred_next.tag());
            if pos
                .pred
                .next
                .compare_exchange(
                    pos.pred_next,
                    me,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                    guard,
                )
                .is_ok()
            {
                break;
            }
        }
        slot.next.fetch_or(SENTINEL_LINKED, Ordering::AcqRel, guard);
        self.counters
            .local()
            .sentinels_linked
            .fetch_add(1, Ordering::Relaxed);
        slot
    }

    /// Sampled growth check after an insert (`n`: this stripe's insert count).
    fn after_insert(&self, n: usize, state: DirState, guard: &Guard) {
        if !multiple_of_pow2(n, CHECK_EVERY) && state.log2() >= ALWAYS_CHECK_BELOW_LOG2 {
            return;
        }
        let len = self.counters.len();
        raise_to(&self.peak_len, len);
        if len > (1usize << state.log2()) * self.load_factor
            && (!E::CAN_DIE || self.purge_before_grow(guard))
        {
            self.dir.try_grow_to(log2_for(len, self.load_factor));
        }
        if multiple_of_pow2(n, CHECK_EVERY * 8) {
            raise_to(&self.peak_bytes, self.heap_bytes());
        }
    }

    /// For entry types that can die, growth is due: first purge dead entries
    /// with one full walk (one thread at a time; the others skip growth this
    /// time and let that thread decide). Returns whether to grow anyway: yes
    /// if the map is still over three quarters of its threshold, so each walk
    /// either purges a quarter of the threshold or is followed by a doubling
    /// (amortized O(1) per insert).
    fn purge_before_grow(&self, guard: &Guard) -> bool {
        if self
            .purging
            .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        self.sweep_counting_dead(guard);
        self.purging.store(0, Ordering::Release);
        let threshold = (1usize << self.dir.state().log2()) * self.load_factor;
        self.counters.len().saturating_mul(4) > threshold.saturating_mul(3)
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
    fn after_remove(&self, n: usize, guard: &Guard) {
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
    fn maybe_begin_shrink(&self, state: DirState, floor: u32, guard: &Guard) -> bool {
        if state.shrink_pending() || state.log2() <= floor {
            return false;
        }
        let len = self.counters.len();
        let capacity = (1usize << state.log2()) * self.load_factor;
        if len >= capacity / 4 {
            return false;
        }
        let target = log2_for(len.saturating_mul(2), self.load_factor).max(floor);
        target < state.log2() && self.dir.try_begin_shrink(state, target, guard)
    }

    /// Does one bounded chunk of a pending shrink whose grace period has
    /// elapsed. Never waits. Returns true if it did any work.
    fn help_pending_shrink(&self, state: DirState, guard: &Guard) -> bool {
        if !state.shrink_pending() {
            return false;
        }
        let Some(chunk) = self.dir.try_claim_shrink_chunk() else {
            return false;
        };
        let new_mask = (1usize << chunk.to) - 1;
        for bucket in chunk.buckets.clone() {
            let Some(slot) = self.dir.slot(bucket, guard) else {
                continue; // level never allocated
            };
            let next = slot.next.load(Ordering::Acquire, guard);
            if next.tag() & SENTINEL_LINKED == 0 {
                debug_assert_eq!(
                    next.tag() & SENTINEL_CLAIMED,
                    0,
                    "claim outlived its grace period"
                );
                continue;
            }
            // After the grace period no operation uses this sentinel as a
            // start, and growth is held off until the shrink ends, so it is
            // an ordinary node to delete: mark, then unlink by a search from
            // its bucket's sentinel in the smaller directory.
            slot.next.fetch_or(MARK, Ordering::AcqRel, guard);
            self.counters
                .local()
                .sentinels_unlinked
                .fetch_add(1, Ordering::Relaxed);
            let start = self.write_start(bucket & new_mask, guard);
            // The parent sentinel, if it is in a dropped level too, is
            // usually still linked (chunks go top level first), with only
            // data nodes between it and `slot`: start there if it still is.
            // Only a linked parent may serve: a never-linked slot is not in
            // the list, and a search from it would return without reaching
            // (and unlinking) `slot`. (After the grace period a linked child
            // implies a linked parent, but the check keeps this local.)
            let hint = match parent_bucket(bucket) {
                p if p > new_mask => self
                    .dir
                    .slot(p, guard)
                    .filter(|parent| {
                        parent.next.load(Ordering::Acquire, guard).tag() & SENTINEL_LINKED != 0
                    })
                    .unwrap_or(start),
                _ => start,
            };
            // SAFETY: `start` is a sentinel of a level that stays; `hint` is
            // a sentinel of a level retired only after this chunk is done,
            // between `start` and `slot`. The search passes `slot.so_key`
            // and unlinks the marked slot.
            unsafe {
                search_hinted::<E, _>(
                    hint,
                    start,
                    slot.so_key,
                    &mut |_| Match::NotEqual,
                    self,
                    guard,
                )
            };
        }
        self.dir.finish_shrink_chunk(chunk, guard);
        true
    }

    /// Grows so that `additional` more entries fit, and keeps automatic
    /// shrinking from undoing it.
    pub(crate) fn reserve(&self, additional: usize) {
        let want = Self::log2_for_capacity(self.len().saturating_add(additional), self.load_factor);
        self.dir.raise_floor_log2(want);
        self.dir.try_grow_to(want);
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
    /// from the head, and starts a shrink if the map is under its low
    /// watermark. Lock-free: concurrent operations proceed meanwhile.
    /// Returns the number of dead entries this walk purged (entries other
    /// threads purged meanwhile are not counted; always 0 for strong keys).
    pub(crate) fn compact(&self, guard: &Guard) -> usize {
        while self.help_pending_shrink(self.dir.state(), guard) {}
        let dead = self.sweep_counting_dead(guard);
        self.compactions.fetch_add(1, Ordering::Relaxed);
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
            // Free what is queued first: a compaction that emptied a big map
            // (a purge of dead keys, a clear) queues many deferred frees
            // ahead of the shrink's grace closure.
            self.reclaim();
            let guard = pin();
            while self.help_pending_shrink(self.dir.state(), &guard) {}
        }
    }

    /// Pushes reclamation along: pins and flushes this thread's deferred
    /// work until the count of retired-but-unfreed nodes stops falling
    /// (bounded). Also helps a pending shrink. Returns that count.
    pub(crate) fn reclaim(&self) -> usize {
        let mut best = usize::MAX;
        let mut stalled = 0;
        loop {
            {
                let guard = pin();
                guard.flush();
                self.help_pending_shrink(self.dir.state(), &guard);
            }
            let now = self.counters.awaiting_reclaim();
            if now == 0 && !self.dir.state().shrink_pending() {
                return 0;
            }
            if now < best {
                best = now;
                stalled = 0;
            } else {
                stalled += 1;
                if stalled > 32 {
                    return now;
                }
            }
        }
    }

    /// Advances a pending shrink by one chunk if its grace period is over.
    /// Returns true if it did any work.
    pub(crate) fn help_shrink(&self, guard: &Guard) -> bool {
        self.help_pending_shrink(self.dir.state(), guard)
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
        let _ = self.help_shrink(guard);
        // SAFETY: the head of this map's list.
        let iter = unsafe { RawIter::<E>::new(self.dir.head(guard), guard) };
        for (link, entry) in iter {
            if keep(entry) {
                continue;
            }
            let mut next = link.next.load(Ordering::Acquire, guard);
            if next.tag() & MARK != 0 {
                // Removed or replaced since the walk yielded it. A
                // replacement sits after it, where the walk will not go:
                // decide on the current entry for this key instead.
                removed += self.remove_current_if(link.so_key, entry, &mut keep, guard);
                continue;
            }
            while next.tag() & MARK == 0 {
                match link.next.compare_exchange(
                    next,
                    next.with_tag(MARK),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                    guard,
                ) {
                    Ok(_) => {
                        removed += 1;
                        let n = self
                            .counters
                            .local()
                            .removes
                            .fetch_add(1, Ordering::Relaxed)
                            + 1;
                        let state = self.dir.state();
                        let bucket = bucket_of(link.so_key.reverse_bits(), state.log2());
                        let start = self.write_start(bucket, guard);
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
                    Err(e) if e.current.tag() & MARK != 0 => {
                        removed += self.remove_current_if(link.so_key, entry, &mut keep, guard);
                        break;
                    }
                    Err(e) => next = e.current,
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
        // `so_key` is the hash reversed with bit 0 forced to 1; reversing it
        // back gives a hash with the same split-order key, and the same
        // bucket at any size below 2^63 buckets.
        let hash = so_key.reverse_bits();
        let outcome = self.compute(
            hash,
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

/// Hooks that forward to the map and count the dead entries marked.
struct CountDead<'a, E: RawEntry> {
    map: &'a RawMap<E, E::Ctx>,
    dead: core::cell::Cell<usize>,
}

impl<E: RawEntry + Send + 'static> ListHooks<E> for CountDead<'_, E> {
    unsafe fn retire(&self, node: *const Link, guard: &Guard) {
        // SAFETY: forwarded unchanged; our caller keeps `retire`'s contract.
        unsafe { self.map.retire(node, guard) }
    }

    fn is_dead(&self, entry: &E) -> bool {
        self.map.is_dead(entry)
    }

    fn dead_marked(&self, entry: &E) {
        self.dead.set(self.dead.get() + 1);
        self.map.dead_marked(entry);
    }
}

impl<E: RawEntry + Send + 'static> ListHooks<E> for RawMap<E, E::Ctx> {
    unsafe fn retire(&self, node: *const Link, guard: &Guard) {
        let stripe = self.counters.local().clone();
        stripe.retired.fetch_add(1, Ordering::Relaxed);
        stripe.awaiting_reclaim.fetch_add(1, Ordering::Relaxed);
        let addr = node as usize;
        // SAFETY: the caller unlinked `node` (a `Node<E>` from `Node::alloc`)
        // and retires it once; no new reference to it can be made, and the
        // epoch runs this after every thread that might hold one unpins.
        // The closure owns what it touches (an address and an `Arc`), and
        // `E: Send + 'static`, so it may run on any thread after the map is
        // gone.
        unsafe {
            guard.defer_unchecked(move || {
                Node::<E>::free(addr as *mut Node<E>);
                stripe.awaiting_reclaim.fetch_sub(1, Ordering::Relaxed);
            })
        };
    }

    fn is_dead(&self, entry: &E) -> bool {
        entry.is_dead(&self.ctx)
    }

    fn dead_marked(&self, entry: &E) {
        self.counters.local().purged.fetch_add(1, Ordering::Relaxed);
        entry.on_dead_marked(&self.ctx);
    }
}

impl<E, C> RawMap<E, C> {
    /// Moves every live entry out of the list (exclusive access), leaving an
    /// empty list; marked nodes still linked are freed.
    ///
    /// The detached sentinels keep their LINKED tags, so the map must not be
    /// used afterwards except to drop it (its only caller is `into_iter`).
    pub(crate) fn take_all(&mut self) -> Vec<E> {
        let mut out = Vec::with_capacity(self.counters.len());
        // SAFETY: `&mut self`: no other thread can reach the list. Each data
        // node is unlinked (the whole chain is detached from the head below)
        // and consumed exactly once; sentinels stay in their levels.
        unsafe {
            let guard = crossbeam_epoch::unprotected();
            let head = self.dir.head(guard);
            let mut curr = head.next.load(Ordering::Relaxed, guard);
            while let Some(link) = curr.with_tag(0).as_ref() {
                let next = link.next.load(Ordering::Relaxed, guard);
                // Sentinels of levels past the bucket count may still be
                // linked; detach every sentinel so the list is left empty.
                link.next.store(
                    Shared::null().with_tag(next.tag() & !MARK),
                    Ordering::Relaxed,
                );
                if !link.is_sentinel() {
                    let node = Box::from_raw(curr.with_tag(0).as_raw() as *mut Node<E>);
                    if next.tag() & MARK == 0 {
                        out.push(node.entry);
                    }
                }
                curr = next;
            }
            head.next
                .store(Shared::null().with_tag(SENTINEL_LINKED), Ordering::Relaxed);
        }
        self.counters.reset_len();
        out
    }
}

impl<E, C> Drop for RawMap<E, C> {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no thread can reach the list any more. Nodes
        // unlinked earlier were retired to the epoch and are not reachable
        // from the head; every node still linked (marked or not) is freed
        // here exactly once. Sentinels belong to the directory's levels.
        unsafe {
            let guard = crossbeam_epoch::unprotected();
            let mut curr = self.dir.head(guard).next.load(Ordering::Relaxed, guard);
            while let Some(link) = curr.with_tag(0).as_ref() {
                let next = link.next.load(Ordering::Relaxed, guard);
                if !link.is_sentinel() {
                    Node::<E>::free(curr.with_tag(0).as_raw() as *mut Node<E>);
                }
                curr = next;
            }
        }
    }
}

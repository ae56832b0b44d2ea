//! Retirement and reclamation of data nodes, and teardown.
//!
//! A node unlinked by this thread's CAS is retired into the thread's stripe
//! batch (`counter.rs`); a full batch becomes one deferred closure of the
//! epoch, which frees its nodes after a grace period and counts them freed.
//! So retiring a node costs a try-flag CAS and two stores, not an `Arc`
//! clone, two counter RMWs and a deferred closure per node. A batch is
//! flushed when it is full, when its thread starts a shrink (the map is
//! emptying), and by `compact()` / `reclaim()`; after flushing a batch the
//! thread also pushes its epoch bag to the global queue (`Guard::flush`),
//! so a batch waits for two epoch advances, not for the bag to fill.
//!
//! Promptness: a partly filled batch waits for its stripe's next removals
//! (at most `BATCH - 1` nodes per stripe), a shrink, or an explicit call.
//! Small maps (under `1 << BATCH_FROM_LOG2` buckets) do not batch: their
//! nodes go to the epoch one by one as before, so a removed value is
//! dropped as soon as the epoch allows (after the removing thread's epoch
//! bag is flushed, as with any crossbeam-epoch garbage).
//!
//! A destructor that runs inside the epoch's deferred work runs on whatever
//! thread happens to collect, inside an unrelated operation. If a value's
//! `Drop` panics there, the panic is caught, the node is freed all the
//! same and the batch goes on: letting it unwind through the epoch's
//! collector would leak the rest of the bag and surface in an operation
//! that has nothing to do with the value.
//!
//! Teardown (`take_all`, `Drop`; exclusive access) first *detaches* the
//! whole chain of data nodes from the list and resets the directory, and
//! only then drops entries, through a chain that frees the rest even if a
//! value's `Drop` panics: unwinding never walks freed nodes.
//!
//! ## What this module must never do
//! Free a node that some thread may still reach: only nodes whose unlinking
//! CAS this thread won are retired, and only the epoch frees them, except
//! under exclusive access.

use super::counter::{Batch, SharedStripe, Stripe, BATCH};
use super::node::{is_end, is_marked, is_ref, node_word, relink, succ_node, Node, END};
use super::RawMap;
use crate::sync::{pin, unprotected, Arc, Guard, Ordering};
use core::ptr;

/// Maps with fewer buckets than `1 << BATCH_FROM_LOG2` retire nodes one
/// by one: a batch would hold a large part of their memory (and a removed
/// value's drop) for long, and they retire too little to gain from it.
const BATCH_FROM_LOG2: u32 = 6;

impl<E: Send + 'static, C> RawMap<E, C> {
    /// Retires a data node this thread unlinked: into the stripe's batch,
    /// or on its own if another thread holds the batch.
    ///
    /// # Safety
    /// 1. `node` is a data node of this map;
    /// 2. the calling thread's CAS unlinked it;
    /// 3. it has not been retired before.
    pub(super) unsafe fn retire_node(&self, node: *const Node<E>, guard: &Guard) {
        let stripe = self.counters.local();
        let small = self.dir.state().log2() < BATCH_FROM_LOG2;
        let Some(held) = (!small).then(|| Stripe::try_batch(stripe)).flatten() else {
            // SAFETY: `retire_alone`'s contracts 1-3 are ours.
            return unsafe { retire_alone(node, stripe, guard) };
        };
        let mut open = stripe.open.load(Ordering::Relaxed);
        if open.is_null() {
            let spare = stripe
                .spare_boxes
                .iter()
                .map(|slot| slot.swap(ptr::null_mut(), Ordering::Acquire))
                .find(|spare| !spare.is_null())
                .unwrap_or(ptr::null_mut());
            open = if spare.is_null() {
                stripe.batches_live.fetch_add(1, Ordering::Relaxed);
                Box::into_raw(Box::new(Batch {
                    len: 0,
                    nodes: [ptr::null_mut(); BATCH],
                    stripe: Some(Arc::clone(stripe)),
                }))
            } else {
                // SAFETY: an emptied box handed back by `free_batch`; the
                // swap made it ours alone.
                unsafe { (*spare).stripe = Some(Arc::clone(stripe)) };
                spare
            };
            stripe.open.store(open, Ordering::Relaxed);
        }
        // SAFETY: while we hold the flag, the open batch is ours alone.
        let batch = unsafe { &mut *open };
        batch.nodes[batch.len] = node as *mut u8;
        batch.len += 1;
        // The flag makes us the only writer of `batched`.
        let batched = stripe.batched.load(Ordering::Relaxed);
        stripe.batched.store(batched + 1, Ordering::Relaxed);
        if batch.len == BATCH {
            stripe.open.store(ptr::null_mut(), Ordering::Relaxed);
            drop(held);
            // SAFETY: a full batch of this map's retired `Node<E>`s, no
            // longer reachable through the stripe.
            unsafe { seal::<E>(open, guard) };
        }
    }

    /// Hands the calling thread's open batch to the epoch. Returns whether
    /// there was one (sealing it also pushed this thread's epoch bag to the
    /// global queue).
    pub(super) fn flush_local_batch(&self, guard: &Guard) -> bool {
        flush_stripe::<E>(self.counters.local(), guard)
    }

    /// Hands every open batch whose flag is free to the epoch.
    pub(super) fn flush_batches(&self, guard: &Guard) {
        for stripe in self.counters.stripes() {
            flush_stripe::<E>(stripe, guard);
        }
    }

    /// Pushes reclamation along: flushes the retire batches, then pins and
    /// flushes this thread's deferred work until the count of
    /// retired-but-unfreed nodes stops falling (bounded). Also helps a
    /// pending shrink. Returns that count.
    pub(crate) fn reclaim(&self) -> usize
    where
        E: super::RawEntry<Ctx = C>,
    {
        let mut best = usize::MAX;
        let mut stalled = 0;
        loop {
            {
                let guard = pin();
                self.flush_batches(&guard);
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
}

/// Seals `stripe`'s open batch, if any and if its flag is free.
fn flush_stripe<E: Send + 'static>(stripe: &SharedStripe, guard: &Guard) -> bool {
    let Some(held) = Stripe::try_batch(stripe) else {
        return false; // its thread is filling it; it will be flushed when full
    };
    let open = stripe.open.load(Ordering::Relaxed);
    if open.is_null() {
        return false;
    }
    stripe.open.store(ptr::null_mut(), Ordering::Relaxed);
    drop(held);
    // SAFETY: a batch of retired `Node<E>`s of the map `stripe` belongs
    // to, taken out of the stripe under its flag.
    unsafe { seal::<E>(open, guard) };
    true
}

/// Defers freeing a batch after a grace period.
///
/// # Safety
/// 1. `batch` came from `retire_node` and is referenced from nowhere else;
/// 2. it holds only `Node<E>`s that were unlinked and are retired through
///    it alone (never otherwise retired).
unsafe fn seal<E: Send + 'static>(batch: *mut Batch, guard: &Guard) {
    // SAFETY: every node in the batch was unlinked before it was retired,
    // so no new reference to it can be made; the epoch runs this after
    // every thread that might hold one has unpinned. The closure owns the
    // batch (and, through it, the stripe `Arc`), and `E: Send + 'static`,
    // so it may run on any thread after the map is gone.
    unsafe { guard.defer_unchecked(move || free_batch::<E>(batch)) };
    // Hand the bag to the global queue now, so the batch is freed after two
    // epoch advances. (Not under loom: the epoch's collection code would
    // multiply every model's interleavings; models free at the end.)
    #[cfg(not(loom))]
    guard.flush();
}

/// Frees a sealed batch's nodes, and hands the emptied box back to its
/// stripe for the next batch (or frees it if the stripe has one already).
///
/// # Safety
/// 1. and 2. as for [`seal`];
/// 3. no thread can still hold a reference to its nodes (a grace period
///    has passed since they were unlinked).
unsafe fn free_batch<E>(batch: *mut Batch) {
    // SAFETY: contract 1: the box is ours alone.
    let mut batch = unsafe { Box::from_raw(batch) };
    for &node in &batch.nodes[..batch.len] {
        // SAFETY: `Node::free`'s contract: the node came from `Node::alloc`,
        // is unreachable (unlinked, contract 2) and unreferenced (contract
        // 3), and is freed once (retired through this batch alone).
        unsafe { free_catching::<E>(node as *mut Node<E>) };
    }
    let stripe = batch
        .stripe
        .take()
        .expect("a sealed batch names its stripe");
    stripe.freed.fetch_add(batch.len, Ordering::Release);
    batch.len = 0;
    let emptied = Box::into_raw(batch);
    let handed_back = stripe.spare_boxes.iter().any(|slot| {
        slot.compare_exchange(
            ptr::null_mut(),
            emptied,
            Ordering::AcqRel,
            Ordering::Relaxed,
        )
        .is_ok()
    });
    if !handed_back {
        // SAFETY: the box is ours (the CAS did not publish it).
        drop(unsafe { Box::from_raw(emptied) });
        stripe.batches_live.fetch_sub(1, Ordering::Relaxed);
    }
    // Dropping `stripe` may free it (the map is gone): its `Drop` frees the
    // box we just handed back.
}

/// Retires one node on its own (the stripe's batch is taken).
///
/// # Safety
/// 1. `node` is a data node of the map `stripe` belongs to;
/// 2. the calling thread's CAS unlinked it;
/// 3. it has not been retired before.
unsafe fn retire_alone<E: Send + 'static>(
    node: *const Node<E>,
    stripe: &SharedStripe,
    guard: &Guard,
) {
    stripe.retired_alone.fetch_add(1, Ordering::Relaxed);
    let stripe = Arc::clone(stripe);
    let node = node as *mut Node<E>;
    // SAFETY: `defer_unchecked`'s contract: the closure may run on any
    // thread at any later time. It owns what it touches (the node's address
    // and an `Arc` of the stripe), `E: Send + 'static`, and the node is
    // freed only after every thread that could reach it has unpinned: it
    // was unlinked (contract 2) before being deferred, once (contract 3).
    unsafe {
        guard.defer_unchecked(move || {
            free_catching(node);
            stripe.freed.fetch_add(1, Ordering::Release);
        })
    };
}

/// Frees a node, catching a panic of its entry's `Drop` (module docs).
///
/// # Safety
/// `Node::free`'s: 1. `node` came from `Node::alloc`; 2. it is unreachable;
/// 3. no thread can still hold a reference to it.
unsafe fn free_catching<E>(node: *mut Node<E>) {
    // SAFETY: `Node::free`'s contracts 1-3 are ours. The box is deallocated
    // even if the entry's `Drop` panics.
    let _ = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| unsafe {
        Node::free(node)
    }));
}

// ---- teardown (exclusive access) ----

/// Data nodes detached from the list, chained through their words (owner
/// bits kept: a marked node's entry was removed). Dropping it frees every
/// node left, and keeps going if an entry's `Drop` panics.
struct Detached<E> {
    next: *mut Node<E>,
}

impl<E> Detached<E> {
    /// The next node, owned, and whether it was marked.
    fn pop(&mut self) -> Option<(Box<Node<E>>, bool)> {
        if self.next.is_null() {
            return None;
        }
        let node = self.next;
        // SAFETY: the chain owns its nodes (`detach_nodes`).
        let w = unsafe { (*node).link.next.load(Ordering::Relaxed) };
        self.next = if is_ref(w) {
            ptr::null_mut()
        } else {
            succ_node::<E>(w) as *mut Node<E>
        };
        // SAFETY: the chain owns its nodes (`detach_nodes`), each
        // allocated by `Node::alloc`, and each is popped once (`next`
        // moves past it first).
        Some((unsafe { Box::from_raw(node) }, is_marked(w)))
    }
}

impl<E> Drop for Detached<E> {
    fn drop(&mut self) {
        /// Keeps freeing if one `Drop` panics (a second panic aborts, as
        /// with std's collections).
        struct Rest<'a, E>(&'a mut Detached<E>);
        impl<E> Drop for Rest<'_, E> {
            fn drop(&mut self) {
                while let Some(node) = self.0.pop() {
                    drop(node);
                }
            }
        }
        let rest = Rest(self);
        while let Some(node) = rest.0.pop() {
            drop(node);
        }
        core::mem::forget(rest);
    }
}

impl<E, C> RawMap<E, C> {
    /// Detaches every data node from the list and leaves the list empty and
    /// the directory's slots unclaimed (exclusive access). Drops nothing.
    fn detach_nodes(&mut self) -> Detached<E> {
        // SAFETY: `&mut self`: no other thread can reach the list; nothing
        // is retired through this guard.
        let guard = unsafe { unprotected() };
        let mut w = self.dir.head(guard).load(Ordering::Relaxed);
        let mut first: *mut Node<E> = ptr::null_mut();
        let mut last: *mut Node<E> = ptr::null_mut();
        loop {
            if is_ref(w) {
                if is_end(w) {
                    break;
                }
                let slot = self
                    .dir
                    .follow(w, guard)
                    .expect("a linked sentinel's level is installed");
                w = slot.load(Ordering::Relaxed);
                continue;
            }
            let node = succ_node::<E>(w) as *mut Node<E>;
            // SAFETY: a linked node, owned by the map; we have exclusive
            // access. Its word is read before anything rewrites it.
            let next = unsafe { (*node).link.next.load(Ordering::Relaxed) };
            if last.is_null() {
                first = node;
            } else {
                // SAFETY: `last` is a linked node the walk passed, owned by
                // the map, with exclusive access (no other thread reads it);
                // chain it to `node`, keeping its mark.
                let last_word = unsafe { &(*last).link.next };
                last_word.store(
                    relink(last_word.load(Ordering::Relaxed), node_word(node)),
                    Ordering::Relaxed,
                );
            }
            last = node;
            w = next;
        }
        if !last.is_null() {
            // SAFETY: `last` is the last linked node the walk passed, owned
            // by the map, with exclusive access.
            let last_word = unsafe { &(*last).link.next };
            last_word.store(
                relink(last_word.load(Ordering::Relaxed), END),
                Ordering::Relaxed,
            );
        }
        self.dir.reset_slots();
        Detached { next: first }
    }

    /// Frees the nodes in open retire batches (exclusive access: no thread
    /// can hold a reference to a node of this map).
    fn free_open_batches(&mut self) {
        for stripe in self.counters.stripes() {
            let open = stripe.open.load(Ordering::Relaxed);
            if !open.is_null() {
                stripe.open.store(ptr::null_mut(), Ordering::Relaxed);
                // SAFETY: exclusive access; the batch holds retired nodes.
                unsafe { free_batch::<E>(open) };
            }
        }
    }

    /// Moves every live entry out of the list (exclusive access), leaving
    /// an empty map; marked nodes still linked are freed.
    pub(crate) fn take_all(&mut self) -> Vec<E> {
        let mut detached = self.detach_nodes();
        let mut out = Vec::with_capacity(self.counters.len());
        let mut freed_marked = 0;
        while let Some((node, marked)) = detached.pop() {
            let Node { entry, .. } = *node;
            if marked {
                freed_marked += 1;
                drop(entry);
            } else {
                out.push(entry);
            }
        }
        self.counters.record_take_all(out.len(), freed_marked);
        out
    }
}

impl<E, C> Drop for RawMap<E, C> {
    fn drop(&mut self) {
        self.free_open_batches();
        drop(self.detach_nodes());
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::list::try_mark;
    use super::super::{Action, Match, RawEntry, RawMap};
    use crate::sync::{pin, AtomicUsize, Guard, Ordering};
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::Arc as StdArc;

    /// An entry that counts its drops; the one with `panics` set panics in
    /// `Drop` (after counting).
    struct Bomb {
        key: u64,
        panics: bool,
        drops: StdArc<AtomicUsize>,
    }

    impl Drop for Bomb {
        fn drop(&mut self) {
            self.drops.fetch_add(1, Ordering::SeqCst);
            if self.panics {
                panic!("Bomb::drop");
            }
        }
    }

    impl RawEntry for Bomb {
        type Ctx = ();
        type Death = ();

        fn same_key(&self, other: &Self) -> bool {
            self.key == other.key
        }
    }

    fn insert(map: &RawMap<Bomb>, entry: Bomb, guard: &Guard) {
        let key = entry.key;
        let mut entry = Some(entry);
        map.compute(
            key, // the key is its own hash
            &mut |e: &Bomb, _| {
                if e.key == key {
                    Match::Equal
                } else {
                    Match::NotEqual
                }
            },
            &mut |_, pending| Action::Put(pending.or_else(|| entry.take()).expect("one entry")),
            guard,
        );
    }

    /// A lookup never returns a removed entry: a node marked but still
    /// linked (as a remover that lost its unlinking CAS leaves it, until a
    /// write's search unlinks it) is skipped by the read path's walk, which
    /// does not unlink. (A plant that let the walk match marked nodes
    /// survived the linearizability runs, where such a node lives for a
    /// few instructions: `scripts/plants.sh`.)
    #[test]
    fn a_lookup_skips_a_marked_node_still_linked() {
        let drops = StdArc::new(AtomicUsize::new(0));
        let map = RawMap::<Bomb>::new(2, 1, ());
        let guard = pin();
        for key in 0..64u64 {
            let drops = StdArc::clone(&drops);
            insert(
                &map,
                Bomb {
                    key,
                    panics: false,
                    drops,
                },
                &guard,
            );
        }
        let is = |key: u64| {
            move |e: &Bomb| {
                if e.key == key {
                    Match::Equal
                } else {
                    Match::NotEqual
                }
            }
        };
        assert!(map.get(40, &mut is(40), &guard).is_some());
        let (link, _) = map
            .iter(&guard)
            .find(|(_, e)| e.key == 40)
            .expect("key 40 present");
        let next = link.next.load(Ordering::Acquire);
        assert!(try_mark(link, next).is_ok());
        assert!(
            map.get(40, &mut is(40), &guard).is_none(),
            "a removed entry was returned"
        );
        assert!(
            map.get(41, &mut is(41), &guard).is_some(),
            "the walk goes on past it"
        );
    }

    /// Issue 12 §3: `take_all` used to free nodes while the list head still
    /// led into the chain, so a marked node's entry whose `Drop` panicked
    /// sent the unwinding `Drop` through freed nodes. Now the chain is
    /// detached first: every entry is dropped once, and the map is left
    /// empty and safe to drop (ASan run: `.ci/asan.sh`).
    #[test]
    fn take_all_survives_a_panicking_marked_node() {
        let drops = StdArc::new(AtomicUsize::new(0));
        let mut map = RawMap::<Bomb>::new(2, 1, ());
        let n = 200u64;
        {
            let guard = pin();
            for key in 0..n {
                let panics = key == 100;
                let drops = StdArc::clone(&drops);
                insert(&map, Bomb { key, panics, drops }, &guard);
            }
            // Mark key 100's node without unlinking it, as a remover that
            // lost its unlinking CAS would leave it.
            let (link, _) = map
                .iter(&guard)
                .find(|(_, e)| e.key == 100)
                .expect("key 100 present");
            let next = link.next.load(Ordering::Acquire);
            assert!(try_mark(link, next).is_ok());
        }
        let taken = catch_unwind(AssertUnwindSafe(|| map.take_all()));
        assert!(taken.is_err(), "the marked entry's panic propagates");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            n as usize,
            "each entry dropped once"
        );
        assert_eq!(map.iter(&pin()).count(), 0, "left empty");
        drop(map);
        assert_eq!(drops.load(Ordering::SeqCst), n as usize);
    }
}

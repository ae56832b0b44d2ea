//! `RawIter`: the iteration walk over the whole list (snapshots, `retain`,
//! teardown-free reads of every entry), and `PinnedWalk`, the same walk
//! owning its pin; `RawIterMut`: the same walk over a
//! map borrowed exclusively, handing out `&mut` entries (`get_mut`,
//! `iter_mut`).
//!
//! Guarantees (the README's "Consistency guarantees"): never a key twice,
//! every key present for the whole walk, never blocks writers or waits for a resize. It reads only;
//! it never unlinks, marks or links anything (`list.rs` owns every write),
//! and `RawIterMut` writes only inside entries, never to a link word.

use crate::raw::directory::Directory;
use crate::raw::list::RawEntry;
use crate::raw::node::{is_end, is_marked, is_ref, ref_so_key, succ_node, Link, Node};
use crate::sync::{unprotected, Guard, Ordering, Word};
use core::marker::PhantomData;

/// A forward walk over the whole list yielding each live data node once,
/// under a guard it borrows.
///
/// A node is yielded if its word was unmarked when the walk reached it.
/// A replaced value's new node follows its old one, so within a run of equal
/// `so_key` the walk remembers what it yielded and skips a second node for
/// the same key. If a shrink ends under the walk (a sentinel's level is
/// gone), it resumes from a fresh start at the `so_key` it had reached,
/// skipping what it already passed.
pub(crate) struct RawIter<'g, E> {
    dir: &'g Directory,
    guard: &'g Guard,
    walk: Walk<E>,
    _yields: PhantomData<&'g E>,
}

impl<'g, E: RawEntry> RawIter<'g, E> {
    /// # Safety
    /// `dir` is the directory of a map whose data nodes are `Node<E>`.
    pub(crate) unsafe fn new(dir: &'g Directory, guard: &'g Guard) -> Self {
        RawIter {
            dir,
            guard,
            walk: Walk::new(dir, guard),
            _yields: PhantomData,
        }
    }
}

impl<'g, E: RawEntry> Iterator for RawIter<'g, E> {
    /// The node's header (for its `so_key`) and the entry.
    type Item = (&'g Link, &'g E);

    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY:
        // 1. `dir` is this map's directory, the same at every step
        //    (constructor's contract, and the field never changes);
        // 2. `guard` is borrowed for `'g`, so this thread has stayed pinned
        //    since the walk began, and every step passes it.
        unsafe { self.walk.step(self.dir, self.guard) }
    }
}

/// The same walk owning its pin, for an iterator that outlives no guard of
/// its caller (`SplitMap::iter`). It hands each entry to a closure that
/// cannot keep a reference to it (the closure's result may not borrow the
/// entry), since the pin goes with the walk.
pub(crate) struct PinnedWalk<'m, E> {
    dir: &'m Directory,
    guard: Guard,
    walk: Walk<E>,
}

impl<'m, E: RawEntry> PinnedWalk<'m, E> {
    /// # Safety
    /// `dir` is the directory of a map whose data nodes are `Node<E>`.
    pub(crate) unsafe fn new(dir: &'m Directory, guard: Guard) -> Self {
        let walk = Walk::new(dir, &guard);
        PinnedWalk { dir, guard, walk }
    }

    /// The same walk over the `so_key` range `lo..=until` only (one share
    /// of a parallel iteration).
    ///
    /// # Safety
    /// As for [`PinnedWalk::new`].
    #[cfg(feature = "rayon")]
    pub(crate) unsafe fn range(dir: &'m Directory, guard: Guard, lo: u64, until: u64) -> Self {
        let walk = Walk::range(dir, &guard, lo, until);
        PinnedWalk { dir, guard, walk }
    }

    /// The next live entry, as `f` sees it.
    pub(crate) fn next_with<R>(&mut self, f: impl FnOnce(&E) -> R) -> Option<R> {
        // SAFETY:
        // 1. `dir` is this map's directory, the same at every step
        //    (constructor's contract, and the field never changes);
        // 2. `guard` was pinned before the walk began (the constructor takes
        //    it already pinned) and is owned by `self`, so it is held for
        //    every step.
        let (_, entry) = unsafe { self.walk.step(self.dir, &self.guard) }?;
        Some(f(entry))
    }
}

/// The state of the whole-list walk between two steps, apart from the
/// directory and the guard it walks under (`RawIter` borrows the guard,
/// `PinnedWalk` owns it).
struct Walk<E> {
    next: Word,
    /// The largest `so_key` the walk yields (`u64::MAX`: to the end).
    until: u64,
    /// The largest `so_key` passed; after a resume, nodes below it are
    /// skipped (in a forward walk keys never decrease, so this never skips
    /// anything otherwise).
    reached: u64,
    run_so_key: u64,
    /// The entries of the current run of equal `so_key` already yielded.
    run_yielded: Vec<*const E>,
}

impl<E: RawEntry> Walk<E> {
    fn new(dir: &Directory, guard: &Guard) -> Self {
        Walk {
            next: dir.head(guard).load(Ordering::Acquire),
            until: u64::MAX,
            reached: 0,
            run_so_key: 0, // a sentinel key: no data node has it
            run_yielded: Vec::new(),
        }
    }

    /// A walk over the keys `lo..=until`: it starts where a read of `lo`
    /// would (the bucket's sentinel, or a linked ancestor's), skips the
    /// keys below `lo` and stops past `until`.
    #[cfg(feature = "rayon")]
    fn range(dir: &Directory, guard: &Guard, lo: u64, until: u64) -> Self {
        Walk {
            // The start of `lo`'s bucket precedes it (as for the resume in
            // `step`).
            next: dir.read_start(lo, guard).0,
            until,
            reached: lo,
            run_so_key: 0,
            run_yielded: Vec::new(),
        }
    }

    /// The next live data node.
    ///
    /// # Safety
    /// 1. `dir` is the directory of a map whose data nodes are `Node<E>`,
    ///    the one the walk was created with;
    /// 2. the calling thread has stayed pinned since the walk was created,
    ///    and `guard` is (a reference to) a guard of that pin: every word
    ///    the walk kept from an earlier step still points to live memory.
    unsafe fn step<'g>(
        &mut self,
        dir: &'g Directory,
        guard: &'g Guard,
    ) -> Option<(&'g Link, &'g E)> {
        loop {
            super::list::count_step();
            if is_ref(self.next) {
                if is_end(self.next) || ref_so_key(self.next) > self.until {
                    return None;
                }
                self.reached = self.reached.max(ref_so_key(self.next));
                super::list::prefetch_ahead::<E>(dir, ref_so_key(self.next), guard);
                self.next = match dir.follow(self.next, guard) {
                    Some(slot) => slot.load(Ordering::Acquire),
                    // Resume from the start of `reached`'s bucket, which
                    // precedes it.
                    None => dir.read_start(self.reached, guard).0,
                };
                continue;
            }
            let node = succ_node::<E>(self.next);
            // SAFETY: reached from the head under a pin held since the walk
            // began (contract 2), so live.
            let link = unsafe { Node::link(node) };
            if link.so_key > self.until {
                return None;
            }
            let next = link.next.load(Ordering::Acquire);
            self.next = next;
            if is_marked(next) || link.so_key < self.reached {
                continue;
            }
            self.reached = link.so_key;
            // SAFETY: a live data node of this map (contracts 1 and 2).
            let entry = unsafe { Node::entry(node) };
            if link.so_key == self.run_so_key {
                // SAFETY: entries yielded earlier in this walk, reached
                // under the same pin (contract 2), so still allocated.
                if self
                    .run_yielded
                    .iter()
                    .any(|&seen| unsafe { &*seen }.same_key(entry))
                {
                    continue;
                }
            } else {
                self.run_so_key = link.so_key;
                self.run_yielded.clear();
            }
            self.run_yielded.push(entry);
            return Some((link, entry));
        }
    }
}

/// A walk over the live data nodes of a map borrowed exclusively
/// (`&mut RawMap`), handing out `&mut` entries.
///
/// With the map borrowed mutably no other thread can reach its list: no
/// operation is in flight, so at most one unmarked node per key exists and
/// no node is unlinked or freed under the walk. Marked nodes still linked
/// (a remover that lost its unlinking CAS leaves one for the next search)
/// are skipped. It stops at the end of the list or before the first node
/// or sentinel whose `so_key` is above `until`.
pub(crate) struct RawIterMut<'a, E> {
    dir: &'a Directory,
    next: Word,
    until: u64,
    _entries: PhantomData<&'a mut E>,
}

impl<'a, E> RawIterMut<'a, E> {
    /// # Safety
    /// `dir` is the directory of a map whose data nodes are `Node<E>`, that
    /// map is borrowed exclusively for `'a`, and `start` is a word read from
    /// its list (its head, or a linked sentinel).
    pub(crate) unsafe fn new(dir: &'a Directory, start: Word, until: u64) -> Self {
        RawIterMut {
            dir,
            next: start,
            until,
            _entries: PhantomData,
        }
    }
}

impl<'a, E> Iterator for RawIterMut<'a, E> {
    /// The node's `so_key` and its entry.
    type Item = (u64, &'a mut E);

    fn next(&mut self) -> Option<Self::Item> {
        // SAFETY: exclusive access (constructor's contract): nothing is
        // retired or freed while `'a` lasts, so no epoch protection is
        // needed.
        let guard = unsafe { unprotected() };
        loop {
            if is_ref(self.next) {
                if is_end(self.next) || ref_so_key(self.next) > self.until {
                    return None;
                }
                super::list::prefetch_ahead::<E>(self.dir, ref_so_key(self.next), guard);
                let slot = self
                    .dir
                    .follow(self.next, guard)
                    .expect("a linked sentinel's level is installed");
                self.next = slot.load(Ordering::Relaxed);
                continue;
            }
            let node = succ_node::<E>(self.next) as *mut Node<E>;
            // SAFETY: a linked node of this map, live for `'a` (exclusive
            // access); the header is read through the node pointer, and no
            // `&mut` to it is ever handed out.
            let (so_key, next) = unsafe {
                let link = &(*node).link;
                (link.so_key, link.next.load(Ordering::Relaxed))
            };
            if so_key > self.until {
                return None;
            }
            self.next = next;
            if is_marked(next) {
                continue;
            }
            // SAFETY: the pointer in the word was made from the node's
            // allocation (write provenance); the map is borrowed exclusively
            // for `'a`, each node is visited once (keys only grow along the
            // list), and the header, which the walk keeps reading, is a
            // different field: this is the only reference to the entry.
            let entry = unsafe { &mut (*node).entry };
            return Some((so_key, entry));
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::super::list::try_mark;
    use super::super::{Action, Match, RawEntry, RawMap};
    use crate::sync::{pin, Guard, Ordering};

    struct Pair {
        key: u64,
        value: u64,
    }

    impl RawEntry for Pair {
        type Ctx = ();
        type Death = ();

        fn same_key(&self, other: &Self) -> bool {
            self.key == other.key
        }
    }

    fn key_is(key: u64) -> impl FnMut(&Pair) -> Match {
        move |e| {
            if e.key == key {
                Match::Equal
            } else {
                Match::NotEqual
            }
        }
    }

    fn insert(map: &RawMap<Pair>, key: u64, hash: u64, guard: &Guard) {
        let mut entry = Some(Pair { key, value: key });
        let mut matcher = key_is(key);
        map.compute(
            hash,
            &mut |e: &Pair, _| matcher(e),
            &mut |_, pending| Action::Put(pending.or_else(|| entry.take()).expect("one entry")),
            guard,
        );
    }

    /// A node marked but still linked (a remover that lost its unlinking
    /// CAS leaves one for the next search) is skipped by the exclusive walk
    /// and by `get_mut`; keys sharing a hash are told apart by the matcher.
    #[test]
    fn exclusive_walk_skips_marked_nodes() {
        let mut map = RawMap::<Pair>::new(1, 1, ());
        {
            let guard = pin();
            for key in 0..64 {
                insert(&map, key, key % 8, &guard); // eight keys per hash
            }
            let (link, _) = map
                .iter(&guard)
                .find(|(_, e)| e.key == 21)
                .expect("key 21 present");
            let next = link.next.load(Ordering::Acquire);
            assert!(try_mark(link, next).is_ok());
        }
        let mut keys: Vec<u64> = map.iter_mut().map(|(_, e)| e.key).collect();
        keys.sort_unstable();
        let want: Vec<u64> = (0..64).filter(|&k| k != 21).collect();
        assert_eq!(keys, want);
        assert!(map.get_mut(21 % 8, &mut key_is(21)).is_none());
        let entry = map.get_mut(29 % 8, &mut key_is(29)).expect("key 29");
        entry.value = 1000;
        let guard = pin();
        let found = map.get(29 % 8, &mut key_is(29), &guard).map(|e| e.value);
        assert_eq!(found, Some(1000));
    }
}

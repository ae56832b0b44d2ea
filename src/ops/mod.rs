//! The operations core: the raw map plus the hasher, and every std-like
//! operation (`get`, `insert`, `remove`, `update`, `compute`, ...) written
//! once for every entry kind.
//!
//! One floor above `raw/`: the raw map knows nodes, buckets and one write
//! primitive (`RawMap::compute`: find, decide, CAS); this module turns that
//! primitive into the operations users know, generic over the entry kind
//! ([`entry_kind::Entry`]) and over how the key is named ([`entry_kind::Probe`] for a
//! borrowed key, [`entry_kind::OwnedKey`] for one the caller hands over). Every
//! public type (`SplitMap`, `MapRef`, `Snapshot`, the weak maps and their
//! pinned handles) forwards here and adds only hashing, the choice of probe
//! and the shape of what it returns.
//!
//! What this module must never do: touch a raw pointer (it has no `unsafe`),
//! import a public map type, or pin the epoch inside a single-key operation
//! (callers pass the guard, so the pinned layer pins once for many
//! operations; only the whole-map maintenance calls pin for themselves).

pub(crate) mod entry_kind;

use crate::raw::node::Node;
/// The raw map's figures, as `Core::figures` returns them; the public
/// layers build their own report types from them (`stats.rs`).
pub(crate) use crate::raw::RawStats as CoreFigures;
use crate::raw::{Action, Outcome, RawMap, DEFAULT_LOAD_FACTOR, DEFAULT_MIN_LOG2};
pub(crate) use crate::raw::{PinnedWalk, RawIter, RawIterMut};
use crate::sync::{pin, Guard};
use core::cell::RefCell;
use core::hash::{BuildHasher, Hash};
use entry_kind::{Entry, OwnedKey, Probe, Rebuild};

/// A raw map and the hasher that places its keys. `C` is the entry kind's
/// context (`RawEntry::Ctx`, held by the raw map); `()` for most kinds.
///
/// Sealed: the public layers reach the raw map only through the methods
/// below, and get raw figures, never raw types, back.
pub(crate) struct Core<E, S, C = ()> {
    raw: RawMap<E, C>,
    hasher: S,
}

impl<E, S, C> Core<E, S, C> {
    /// Heap bytes of one node of this entry kind.
    pub(crate) const NODE_BYTES: usize = Node::<E>::SIZE;

    /// The default layout: the smallest directory, the default load factor.
    pub(crate) fn with_hasher(hasher: S) -> Self
    where
        C: Default,
    {
        Self::with_layout(DEFAULT_MIN_LOG2, DEFAULT_LOAD_FACTOR, hasher)
    }

    /// `1 << log2` initial buckets (also the automatic-shrink floor) and
    /// `load_factor` entries per bucket before growth.
    pub(crate) fn with_layout(log2: u32, load_factor: usize, hasher: S) -> Self
    where
        C: Default,
    {
        Self::with_layout_and_ctx(log2, load_factor, hasher, C::default())
    }

    /// [`with_layout`](Self::with_layout) with the entry kind's context.
    pub(crate) fn with_layout_and_ctx(log2: u32, load_factor: usize, hasher: S, ctx: C) -> Self {
        Core {
            raw: RawMap::new(log2, load_factor, ctx),
            hasher,
        }
    }

    /// Room for `capacity` entries before growing, and automatic shrinking
    /// never below that (the contract of `with_capacity`).
    ///
    /// # Panics
    /// If that needs more than 2^40 buckets ("capacity overflow").
    pub(crate) fn with_capacity(capacity: usize, hasher: S) -> Self
    where
        C: Default,
    {
        let log2 = RawMap::<E, C>::log2_for_capacity(capacity, DEFAULT_LOAD_FACTOR);
        Self::with_layout(log2, DEFAULT_LOAD_FACTOR, hasher)
    }

    /// Room for `capacity` entries before growing, but free to shrink below
    /// it: for maps built in bulk (`collect`, `From`, `clone`, deserialize),
    /// whose starting size is not a promise about their future.
    pub(crate) fn for_bulk_build(capacity: usize, hasher: S) -> Self
    where
        C: Default,
    {
        let core = Self::with_capacity(capacity, hasher);
        core.raw.lower_shrink_floor(DEFAULT_MIN_LOG2);
        core
    }

    /// [`for_bulk_build`](Self::for_bulk_build) with the entry kind's context.
    pub(crate) fn for_bulk_build_with_ctx(capacity: usize, hasher: S, ctx: C) -> Self {
        let log2 = RawMap::<E, C>::log2_for_capacity(capacity, DEFAULT_LOAD_FACTOR);
        let core = Self::with_layout_and_ctx(log2, DEFAULT_LOAD_FACTOR, hasher, ctx);
        core.raw.lower_shrink_floor(DEFAULT_MIN_LOG2);
        core
    }

    /// The entry kind's context.
    #[inline]
    pub(crate) fn ctx(&self) -> &C {
        self.raw.ctx()
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.raw.len()
    }

    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// The raw map's counters and sizes, O(stripes).
    pub(crate) fn figures(&self) -> CoreFigures {
        self.raw.raw_stats()
    }

    /// The hasher that places keys.
    #[inline]
    pub(crate) fn hasher(&self) -> &S {
        &self.hasher
    }

    /// Takes every live entry out, leaving the map empty (exclusive
    /// access: no reader can exist).
    pub(crate) fn take_all(&mut self) -> Vec<E> {
        self.raw.take_all()
    }

    /// Loom-only hook: see `Directory::loom_end_shrink_grace`.
    #[cfg(loom)]
    pub(crate) fn loom_end_shrink_grace(&self) -> bool {
        self.raw.loom_end_shrink_grace()
    }

    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64
    where
        S: BuildHasher,
    {
        self.hasher.hash_one(key)
    }
}

/// Walks: they never write, so no `Send`/`'static` bound.
impl<E: Entry, S, C> Core<E, S, C> {
    /// Live entries in split order (see `RawIter` for the guarantees).
    #[inline]
    pub(crate) fn iter<'g>(&'g self, guard: &'g Guard) -> RawIter<'g, E> {
        self.raw.iter(guard)
    }

    /// The same walk, pinning for its own life.
    pub(crate) fn pinned_walk(&self) -> PinnedWalk<'_, E> {
        self.raw.pinned_walk()
    }

    /// Share `share` of `shares` (a power of two) of that walk; the shares
    /// together yield what one walk would (for parallel iteration).
    #[cfg(feature = "rayon")]
    pub(crate) fn pinned_walk_share(&self, share: usize, shares: usize) -> PinnedWalk<'_, E> {
        self.raw.pinned_walk_share(share, shares)
    }
}

/// Exclusive access (`&mut`): no reader can exist, so entries may change
/// in place; nothing is unlinked or retired.
impl<E: Entry, S, C> Core<E, S, C> {
    /// The entry `probe` matches, mutably.
    pub(crate) fn get_mut(&mut self, hash: u64, probe: &mut impl Probe<E>) -> Option<&mut E> {
        self.raw.get_mut(hash, &mut |e| probe.probe(e))
    }

    /// Live entries in split order, mutably.
    pub(crate) fn iter_mut(&mut self) -> RawIterMut<'_, E> {
        self.raw.iter_mut()
    }
}

/// Single-key operations, lookups included: a removed or replaced entry is
/// dropped by whichever thread runs the epoch's deferred destructor, so
/// entries must be `Send + 'static`. A lookup needs it too: the first one
/// to reach an unlinked bucket links its sentinel, and that search unlinks
/// (and retires) deleted nodes on its way.
impl<E: Entry + Send + 'static, S> Core<E, S, E::Ctx> {
    /// The entry `probe` matches.
    #[inline]
    pub(crate) fn get<'g>(
        &'g self,
        hash: u64,
        probe: &mut impl Probe<E>,
        guard: &'g Guard,
    ) -> Option<&'g E> {
        self.raw.get(hash, &mut |e| probe.probe(e), guard)
    }

    /// Inserts or replaces (value and stored key); returns the entry it
    /// replaced.
    pub(crate) fn insert<'g>(
        &'g self,
        hash: u64,
        key: &mut impl OwnedKey<E>,
        value: E::Value,
        guard: &'g Guard,
    ) -> Option<&'g E> {
        let key = RefCell::new(key);
        let mut value = Some(value);
        let outcome = self.raw.compute(
            hash,
            &mut |e, pending| key.borrow_mut().probe(e, pending),
            &mut |_, pending| {
                Action::Put(pending.unwrap_or_else(|| {
                    key.borrow_mut()
                        .make(value.take().expect("the value goes into one entry"))
                }))
            },
            guard,
        );
        match outcome {
            Outcome::Replaced { old, .. } => Some(old),
            _ => None,
        }
    }

    /// Inserts only if the key is absent: `Ok(inserted)`, or
    /// `Err((current, value))` handing the value back.
    pub(crate) fn try_insert<'g>(
        &'g self,
        hash: u64,
        key: &mut impl OwnedKey<E>,
        value: E::Value,
        guard: &'g Guard,
    ) -> Result<&'g E, (&'g E, E::Value)> {
        let key = RefCell::new(key);
        let mut value = Some(value);
        let outcome = self.raw.compute(
            hash,
            &mut |e, pending| key.borrow_mut().probe(e, pending),
            &mut |cur, pending| match cur {
                Some(_) => {
                    if let Some(p) = pending {
                        value = Some(key.borrow_mut().restore(p));
                    }
                    Action::Keep
                }
                None => Action::Put(pending.unwrap_or_else(|| {
                    key.borrow_mut()
                        .make(value.take().expect("the value goes into one entry"))
                })),
            },
            guard,
        );
        match outcome {
            Outcome::Inserted(e) => Ok(e),
            Outcome::Unchanged(Some(current)) => {
                Err((current, value.expect("a kept value stays with the caller")))
            }
            _ => unreachable!("try_insert only inserts or keeps"),
        }
    }

    /// Removes the entry `probe` matches if `pred` accepts it; returns it.
    pub(crate) fn remove_if<'g>(
        &'g self,
        hash: u64,
        probe: &mut impl Probe<E>,
        mut pred: impl FnMut(&E) -> bool,
        guard: &'g Guard,
    ) -> Option<&'g E> {
        let outcome = self.raw.compute(
            hash,
            &mut |e, _| probe.probe(e),
            &mut |cur, _| match cur {
                Some(e) if pred(e) => Action::Remove,
                _ => Action::Keep,
            },
            guard,
        );
        match outcome {
            Outcome::Removed(e) => Some(e),
            _ => None,
        }
    }

    /// Replaces the value of an existing entry with `f(&old)`, keeping its
    /// key; returns the new entry, or `None` if absent. `f` may run more
    /// than once.
    pub(crate) fn update<'g>(
        &'g self,
        hash: u64,
        probe: &mut impl Probe<E>,
        mut f: impl FnMut(&E::Value) -> E::Value,
        guard: &'g Guard,
    ) -> Option<&'g E>
    where
        E: Rebuild,
    {
        let outcome = self.raw.compute(
            hash,
            &mut |e, _| probe.probe(e),
            &mut |cur, _| match cur {
                Some(e) => Action::Put(e.rebuild(f(e.value()))),
                None => Action::Keep,
            },
            guard,
        );
        match outcome {
            Outcome::Replaced { new, .. } => Some(new),
            _ => None,
        }
    }

    /// Stores `f(&old)` if the key is present, else `value`; the entry
    /// takes the caller's key either way (as `insert` does). Returns the
    /// entry stored. `f` may run more than once.
    pub(crate) fn update_or_insert<'g>(
        &'g self,
        hash: u64,
        key: &mut impl OwnedKey<E>,
        mut f: impl FnMut(&E::Value) -> E::Value,
        value: E::Value,
        guard: &'g Guard,
    ) -> &'g E {
        let key = RefCell::new(key);
        let mut value = Some(value);
        let outcome = self.raw.compute(
            hash,
            &mut |e, pending| key.borrow_mut().probe(e, pending),
            &mut |cur, pending| {
                let mut key = key.borrow_mut();
                if let Some(p) = pending {
                    let carried = key.restore(p);
                    // The pending entry carried `value` if that was taken,
                    // else an earlier `f` result, which is stale now.
                    if value.is_none() {
                        value = Some(carried);
                    }
                }
                Action::Put(match cur {
                    Some(e) => key.make(f(e.value())),
                    None => key.make(value.take().expect("the value goes into one entry")),
                })
            },
            guard,
        );
        match outcome {
            Outcome::Inserted(e) | Outcome::Replaced { new: e, .. } => e,
            _ => unreachable!("update_or_insert always stores"),
        }
    }

    /// The entry for the key, inserting `make()` first if absent. `make`
    /// runs at most once, and only if the key was absent when looked at.
    pub(crate) fn get_or_insert_with<'g>(
        &'g self,
        hash: u64,
        key: &mut impl OwnedKey<E>,
        make: impl FnOnce() -> E::Value,
        guard: &'g Guard,
    ) -> &'g E {
        let key = RefCell::new(key);
        let mut make = Some(make);
        let outcome = self.raw.compute(
            hash,
            &mut |e, pending| key.borrow_mut().probe(e, pending),
            &mut |cur, pending| match cur {
                Some(_) => {
                    // Lost to another insert: our value is dropped.
                    if let Some(p) = pending {
                        drop(key.borrow_mut().restore(p));
                    }
                    Action::Keep
                }
                None => Action::Put(pending.unwrap_or_else(|| {
                    let value = (make.take().expect("make runs at most once"))();
                    key.borrow_mut().make(value)
                })),
            },
            guard,
        );
        match outcome {
            Outcome::Unchanged(Some(e)) | Outcome::Inserted(e) => e,
            _ => unreachable!("get_or_insert_with only keeps or inserts"),
        }
    }

    /// Stores `f(current)`: `Some(v)` inserts or replaces, `None` removes
    /// (or leaves absent). Returns the entry stored afterwards. `f` may run
    /// more than once.
    pub(crate) fn compute<'g>(
        &'g self,
        hash: u64,
        key: &mut impl OwnedKey<E>,
        mut f: impl FnMut(Option<&E::Value>) -> Option<E::Value>,
        guard: &'g Guard,
    ) -> Option<&'g E> {
        let key = RefCell::new(key);
        let outcome = self.raw.compute(
            hash,
            &mut |e, pending| key.borrow_mut().probe(e, pending),
            &mut |cur, pending| {
                let mut key = key.borrow_mut();
                if let Some(p) = pending {
                    drop(key.restore(p)); // an earlier run's result, stale now
                }
                match f(cur.map(Entry::value)) {
                    Some(value) => Action::Put(key.make(value)),
                    None if cur.is_some() => Action::Remove,
                    None => Action::Keep,
                }
            },
            guard,
        );
        match outcome {
            Outcome::Inserted(e) | Outcome::Replaced { new: e, .. } => Some(e),
            Outcome::Unchanged(current) => current,
            Outcome::Removed(_) => None,
        }
    }

    /// Removes every entry `keep` rejects, each removal atomic on its own;
    /// returns how many were removed.
    pub(crate) fn retain<'g>(&'g self, keep: impl FnMut(&'g E) -> bool, guard: &'g Guard) -> usize {
        self.raw.retain(keep, guard)
    }

    /// The compaction walk; returns the dead entries it purged. If the walk
    /// left a shrink pending (it emptied the map, say), this also pushes
    /// reclamation along: everything the walk unlinked is queued in the
    /// epoch ahead of the shrink's grace closure, and ordinary operations
    /// drain that queue only a few bags at a time and unlink one chunk of
    /// the shrink each (200k purged dead keys kept 2 MiB of directory for
    /// thousands of operations). Once the grace period is over, the walk's
    /// caller finishes the shrink itself (bounded by the dropped levels).
    pub(crate) fn compact(&self) -> usize {
        let dead = {
            let guard = pin();
            self.raw.compact(&guard)
        };
        if self.raw.raw_stats().shrink_pending {
            self.raw.reclaim();
            let guard = pin();
            while self.raw.help_shrink(&guard) {}
        }
        dead
    }

    /// One bounded stretch of the compaction walk (from the next bucket in
    /// round-robin order) under the caller's guard: unlinks marked nodes
    /// and purges dead entries it meets.
    pub(crate) fn sweep_some(&self, nodes: usize, guard: &Guard) {
        self.raw.sweep_some(nodes, guard);
    }

    /// The compaction walk under the caller's guard (no reclamation push);
    /// returns the dead entries it purged.
    pub(crate) fn compact_in(&self, guard: &Guard) -> usize {
        self.raw.compact(guard)
    }

    pub(crate) fn reserve(&self, additional: usize) {
        self.raw.reserve(additional);
    }

    pub(crate) fn reclaim(&self) -> usize {
        self.raw.reclaim()
    }

    /// Compacts and shrinks the directory as far as the contents allow
    /// (bounded; never waits on another thread).
    pub(crate) fn shrink_to_fit(&self) {
        self.raw.shrink_to_fit();
    }
}

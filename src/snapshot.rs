//! `Snapshot`: a live, weakly consistent walk over the map under one epoch
//! guard (RCU-style: readers never block writers), and the iterators built
//! on it.
//!
//! It is not a frozen copy. A walk follows the single split-ordered list
//! from its head, so it never waits for a resize (growth and shrink never
//! move nodes) and never blocks a writer. Guarantees of [`Snapshot::iter`]:
//! - no key is yielded twice (a replaced value's new node follows the old
//!   one; the walk remembers the keys of the current equal-`so_key` run);
//! - every key present for the whole walk is yielded;
//! - keys inserted or removed during the walk may or may not be seen.
//!
//! This module reads only; it never unlinks or frees anything.

use crate::entry::MapEntry;
use crate::ops::{Core, PinnedWalk, RawIter};
use crate::sync::Guard;
use core::fmt;
use core::hash::{BuildHasher, Hash};

/// A live, weakly consistent view of a [`SplitMap`](crate::SplitMap) for
/// iteration; see [`SplitMap::snapshot`](crate::SplitMap::snapshot).
///
/// Not a copy: each walk ([`iter`](Self::iter), [`len`](Self::len), ...)
/// reads the map as it is while it walks. Every key present for the whole
/// walk is seen exactly once; keys written during it may or may not be.
/// While it lives, nothing removed from any map can be freed (it holds an
/// epoch pin), so iterate and drop it. It is not `Send`.
pub struct Snapshot<'m, K, V, S> {
    core: &'m Core<MapEntry<K, V>, S>,
    guard: Guard,
}

impl<K, V, S> fmt::Debug for Snapshot<'_, K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Snapshot").finish_non_exhaustive()
    }
}

impl<'m, K, V, S> Snapshot<'m, K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    pub(crate) fn new(core: &'m Core<MapEntry<K, V>, S>, guard: Guard) -> Self {
        Snapshot { core, guard }
    }

    /// The map this snapshot walks (for the parallel walks, whose tasks
    /// pin on their own threads).
    #[cfg(feature = "rayon")]
    pub(crate) fn core(&self) -> &'m Core<MapEntry<K, V>, S> {
        self.core
    }

    /// Iterates `(&key, &value)` in split order.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, u32> = (0..4).map(|i| (i, i * i)).collect();
    /// let snap = map.snapshot();
    /// let mut pairs: Vec<_> = snap.iter().map(|(k, v)| (*k, *v)).collect();
    /// pairs.sort();
    /// assert_eq!(pairs, [(0, 0), (1, 1), (2, 4), (3, 9)]);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter::new(self.core.iter(&self.guard))
    }

    /// Iterates the keys.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, ()> = (0..3).map(|i| (i, ())).collect();
    /// assert_eq!(map.snapshot().keys().count(), 3);
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Iterates the values.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, u32> = (0..3).map(|i| (i, 1)).collect();
    /// assert_eq!(map.snapshot().values().sum::<u32>(), 3);
    /// ```
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    /// The number of entries a walk yields: `self.iter().count()`, so it
    /// agrees with `iter()` (exact for a quiescent map; under concurrent
    /// writes, what that walk saw). O(n); for the O(1) counter use
    /// [`SplitMap::len`](crate::SplitMap::len).
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, u32> = (0..5).map(|i| (i, i)).collect();
    /// assert_eq!(map.snapshot().len(), 5);
    /// ```
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// `true` if a walk finds no entry.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, u32> = splitmap::SplitMap::new();
    /// assert!(map.snapshot().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

impl<'a, K, V, S> IntoIterator for &'a Snapshot<'_, K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

/// Iterator over `(&K, &V)`; see [`Snapshot::iter`].
pub struct Iter<'g, K, V> {
    raw: RawIter<'g, MapEntry<K, V>>,
}

impl<'g, K: Eq, V> Iter<'g, K, V> {
    pub(crate) fn new(raw: RawIter<'g, MapEntry<K, V>>) -> Self {
        Iter { raw }
    }
}

impl<'g, K: Eq, V> Iterator for Iter<'g, K, V> {
    type Item = (&'g K, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        self.raw.next().map(|(_, e)| (&e.key, &e.value))
    }
}

impl<K, V> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").finish_non_exhaustive()
    }
}

/// Iterator over clones of the entries, holding one epoch pin for its own
/// life; see [`SplitMap::iter`](crate::SplitMap::iter).
///
/// The same walk as [`Snapshot::iter`] (the same guarantees), but it owns
/// its pin, so it needs no snapshot to borrow from; it hands out clones
/// because a reference could outlive the pin. Not `Send` (a pin belongs to
/// its thread); while it lives, nothing removed from any map can be freed.
pub struct ClonedIter<'m, K, V> {
    walk: PinnedWalk<'m, MapEntry<K, V>>,
}

impl<'m, K: Eq, V> ClonedIter<'m, K, V> {
    pub(crate) fn new(walk: PinnedWalk<'m, MapEntry<K, V>>) -> Self {
        ClonedIter { walk }
    }

    /// Share `share` of `shares` (a power of two) of the walk, pinning for
    /// its own life: the shares together yield what one walk would (one
    /// task of a parallel iteration).
    #[cfg(feature = "rayon")]
    pub(crate) fn share<S>(core: &'m Core<MapEntry<K, V>, S>, share: usize, shares: usize) -> Self {
        ClonedIter {
            walk: core.pinned_walk_share(share, shares),
        }
    }
}

/// Calls `f` on every entry of share `share` of `shares` of a walk (one
/// task of a parallel walk), under a pin of the calling thread held for
/// the share: the references `f` gets do not outlive the call.
#[cfg(feature = "rayon")]
pub(crate) fn for_each_in_share<K: Eq, V, S>(
    core: &Core<MapEntry<K, V>, S>,
    share: usize,
    shares: usize,
    f: &(impl Fn(&K, &V) + ?Sized),
) {
    let mut walk = core.pinned_walk_share(share, shares);
    while walk.next_with(|e| f(&e.key, &e.value)).is_some() {}
}

impl<K: Eq + Clone, V: Clone> Iterator for ClonedIter<'_, K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        self.walk.next_with(|e| (e.key.clone(), e.value.clone()))
    }
}

impl<K, V> fmt::Debug for ClonedIter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClonedIter").finish_non_exhaustive()
    }
}

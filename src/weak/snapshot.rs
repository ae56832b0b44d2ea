//! `WeakSnapshot`: a live, weakly consistent walk over a weak map under one
//! epoch guard, and its iterator yielding `(Arc<K>, &V)` for live entries.
//!
//! The walk is the raw list walk (never blocks writers, never waits for a
//! resize). On top of it, this iterator upgrades each key (dead entries are
//! skipped) and removes duplicates within a run of equal split-order keys
//! using the map's own key comparison, so a replacement node holding an
//! equal-but-distinct key is not yielded after the node it replaced.

use super::entry::WeakEntry;
use super::mode::KeyMode;
use crate::ops::{Core, RawIter};
use crate::sync::Guard;
use core::fmt;
use core::marker::PhantomData;
use std::sync::Arc;

/// A live, weakly consistent view of a [`WeakMap`](crate::weak::WeakMap) for
/// iteration; see [`WeakMap::snapshot`](crate::weak::WeakMap::snapshot). Like
/// [`Snapshot`](crate::Snapshot), it is not a copy: each walk reads the map
/// as it is while it walks.
///
/// While it lives, nothing removed from any map can be freed, so iterate and
/// drop it. It is not `Send`.
pub struct WeakSnapshot<'m, K, V, S, M> {
    core: &'m Core<WeakEntry<K, V>, S>,
    guard: Guard,
    _mode: PhantomData<M>,
}

impl<K, V, S, M> fmt::Debug for WeakSnapshot<'_, K, V, S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSnapshot").finish_non_exhaustive()
    }
}

impl<'m, K, V, S, M: KeyMode<K>> WeakSnapshot<'m, K, V, S, M> {
    pub(crate) fn new(core: &'m Core<WeakEntry<K, V>, S>, guard: Guard) -> Self {
        WeakSnapshot {
            core,
            guard,
            _mode: PhantomData,
        }
    }

    /// Iterates `(key, &value)` for the live entries, in split order. Each
    /// key comes back as a strong `Arc`: while you hold it, that entry stays
    /// live. Dead entries are skipped (not purged: a snapshot only reads).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let a = Arc::new("a");
    /// map.insert(Arc::clone(&a), 1);
    /// map.insert(Arc::new("gone"), 2); // its only Arc drops right away
    /// let snap = map.snapshot();
    /// let live: Vec<_> = snap.iter().map(|(k, v)| (*k, *v)).collect();
    /// assert_eq!(live, [("a", 1)]);
    /// ```
    pub fn iter(&self) -> WeakIter<'_, K, V, M> {
        WeakIter {
            raw: self.core.iter(&self.guard),
            run_so_key: 0, // a sentinel key: no data node has it
            run: Vec::new(),
            _mode: PhantomData,
        }
    }

    /// Live entries a walk yields: `self.iter().count()` (exact for a
    /// quiescent map). O(n).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let kept = Arc::new(0);
    /// map.insert(Arc::clone(&kept), ());
    /// map.insert(Arc::new(1), ()); // dead at once
    /// assert_eq!(map.len(), 2); // upper bound: the dead entry is not purged yet
    /// assert_eq!(map.snapshot().len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// `true` if the walk finds no live entry (stops at the first one).
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::WeakKeyMap<u32, u32> = splitmap::WeakKeyMap::new();
    /// assert!(map.snapshot().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

/// Iterator over `(Arc<K>, &V)` for live entries; see
/// [`WeakSnapshot::iter`].
pub struct WeakIter<'g, K, V, M> {
    raw: RawIter<'g, WeakEntry<K, V>>,
    run_so_key: u64,
    /// Keys yielded in the current run of equal `so_key`.
    run: Vec<Arc<K>>,
    _mode: PhantomData<M>,
}

impl<'g, K, V, M: KeyMode<K>> Iterator for WeakIter<'g, K, V, M> {
    type Item = (Arc<K>, &'g V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (link, entry) = self.raw.next()?;
            let Some(key) = entry.key.upgrade() else {
                continue;
            };
            if link.so_key == self.run_so_key {
                if self.run.iter().any(|seen| M::same_key(seen, &key)) {
                    continue;
                }
            } else {
                self.run_so_key = link.so_key;
                self.run.clear();
            }
            self.run.push(Arc::clone(&key));
            return Some((key, &entry.value));
        }
    }
}

impl<K, V, M> fmt::Debug for WeakIter<'_, K, V, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakIter").finish_non_exhaustive()
    }
}

impl<'a, K, V, S, M: KeyMode<K>> IntoIterator for &'a WeakSnapshot<'_, K, V, S, M> {
    type Item = (Arc<K>, &'a V);
    type IntoIter = WeakIter<'a, K, V, M>;

    fn into_iter(self) -> WeakIter<'a, K, V, M> {
        self.iter()
    }
}

//! `MapRef`: the pinned layer. One epoch pin for many operations, and
//! results borrowed from the map (`&V`) instead of cloned.
//!
//! References returned by a `MapRef` stay valid while the `MapRef` lives,
//! even if the entry is removed or replaced meanwhile: a removed node is
//! freed only after every pinned thread has unpinned. This module adds no
//! logic of its own; it forwards to the `*_in` operations of `map.rs`.

use crate::map::SplitMap;
use crate::snapshot::Iter;
use crate::sync::Guard;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};

/// A pinned handle to a [`SplitMap`]; see [`SplitMap::pin`].
///
/// While it lives, nothing the map removes can be freed (map-wide, and for
/// every map sharing the global epoch), so hold it for a batch of work, not
/// indefinitely.
pub struct MapRef<'m, K, V, S> {
    map: &'m SplitMap<K, V, S>,
    guard: Guard,
}

impl<K, V, S> fmt::Debug for MapRef<'_, K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapRef").finish_non_exhaustive()
    }
}

impl<'m, K, V, S> MapRef<'m, K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    pub(crate) fn new(map: &'m SplitMap<K, V, S>, guard: Guard) -> Self {
        MapRef { map, guard }
    }

    /// The value for `key`.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 2);
    /// assert_eq!(m.get(&1), Some(&2));
    /// ```
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.get_in(key, &self.guard).map(|e| &e.value)
    }

    /// The stored key and value for `key`.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert("a".to_string(), 2);
    /// assert_eq!(m.get_key_value("a"), Some((&"a".to_string(), &2)));
    /// ```
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map
            .get_in(key, &self.guard)
            .map(|e| (&e.key, &e.value))
    }

    /// `true` if the map holds `key`.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, ());
    /// assert!(m.contains_key(&1));
    /// ```
    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Inserts `key -> value`; returns the value it replaced.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// assert_eq!(m.insert(1, 'a'), None);
    /// assert_eq!(m.insert(1, 'b'), Some(&'a'));
    /// ```
    pub fn insert(&self, key: K, value: V) -> Option<&V> {
        self.map.insert_in(key, value, &self.guard)
    }

    /// Removes `key`; returns its value.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 'a');
    /// assert_eq!(m.remove(&1), Some(&'a'));
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.remove_in(key, &self.guard).map(|e| &e.value)
    }

    /// Removes `key`; returns the stored key and value.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 'a');
    /// assert_eq!(m.remove_entry(&1), Some((&1, &'a')));
    /// ```
    pub fn remove_entry<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map
            .remove_in(key, &self.guard)
            .map(|e| (&e.key, &e.value))
    }

    /// Replaces the value of an existing key with `f(&old)`; returns the new
    /// value. `f` may run more than once. See [`SplitMap::update`].
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 1);
    /// assert_eq!(m.update(&1, |v| v * 10), Some(&10));
    /// ```
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Option<&V>
    where
        K: Borrow<Q> + Clone,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        self.map.update_in(key, f, &self.guard)
    }

    /// The value for `key`, inserting `f()` first if absent.
    /// See [`SplitMap::get_or_insert_with`].
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// assert_eq!(m.get_or_insert_with(1, || 'x'), &'x');
    /// ```
    pub fn get_or_insert_with<F>(&self, key: K, f: F) -> &V
    where
        F: FnOnce() -> V,
    {
        self.map.get_or_insert_with_in(key, f, &self.guard)
    }

    /// Computes the entry for `key`; see [`SplitMap::compute`]. Returns the
    /// value stored afterwards.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// assert_eq!(m.compute(1, |v| Some(v.copied().unwrap_or(0) + 1)), Some(&1));
    /// ```
    pub fn compute<F>(&self, key: K, f: F) -> Option<&V>
    where
        F: FnMut(Option<&V>) -> Option<V>,
    {
        self.map.compute_in(key, f, &self.guard)
    }

    /// Removes every entry for which `keep` is false; see
    /// [`SplitMap::retain`].
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 1);
    /// m.insert(2, 2);
    /// assert_eq!(m.retain(|k, _| *k == 1), 1);
    /// ```
    pub fn retain<F>(&self, mut keep: F) -> usize
    where
        F: FnMut(&K, &V) -> bool,
    {
        self.map.raw.retain(|e| keep(&e.key, &e.value), &self.guard)
    }

    /// Removes every entry; see [`SplitMap::clear`].
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 1);
    /// m.clear();
    /// assert!(m.is_empty());
    /// ```
    pub fn clear(&self) {
        self.retain(|_, _| false);
    }

    /// See [`SplitMap::len`].
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 1);
    /// assert_eq!(m.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// See [`SplitMap::is_empty`].
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u8, u8> = splitmap::SplitMap::new();
    /// assert!(map.pin().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Iterates the entries in split order; same guarantees as
    /// [`Snapshot::iter`](crate::Snapshot::iter).
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 1);
    /// m.insert(2, 2);
    /// assert_eq!(m.iter().count(), 2);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter::new(self.map.raw.iter(&self.guard))
    }
}

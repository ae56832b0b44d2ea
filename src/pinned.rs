//! `MapRef`: the pinned layer. One epoch pin for many operations, and
//! results borrowed from the map (`&V`) instead of cloned or guarded.
//!
//! References returned by a `MapRef` stay valid while the `MapRef` lives,
//! even if the entry is removed or replaced meanwhile: a removed node is
//! freed only after every pinned thread has unpinned. This module adds no
//! logic of its own; it hashes, picks the probe, and forwards to the
//! operations core (`ops/`).

use crate::entry::{BorrowedKey, MapEntry, StrongKey};
use crate::occupied::OccupiedError;
use crate::ops::entry_kind::Entry;
use crate::ops::Core;
use crate::snapshot::Iter;
use crate::sync::Guard;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};

/// A pinned handle to a [`SplitMap`](crate::SplitMap); see
/// [`SplitMap::pin`](crate::SplitMap::pin).
///
/// While it lives, nothing the map removes can be freed (map-wide, and for
/// every map sharing the global epoch), so hold it for a batch of work, not
/// indefinitely. It is not `Send`: an epoch pin belongs to its thread (in
/// async code, do not hold one across an `.await`).
pub struct MapRef<'m, K, V, S> {
    core: &'m Core<MapEntry<K, V>, S>,
    guard: Guard,
}

impl<K, V, S> fmt::Debug for MapRef<'_, K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapRef").finish_non_exhaustive()
    }
}

impl<'m, K, V, S> MapRef<'m, K, V, S> {
    pub(crate) fn new(core: &'m Core<MapEntry<K, V>, S>, guard: Guard) -> Self {
        MapRef { core, guard }
    }

    /// See [`SplitMap::len`](crate::SplitMap::len).
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 1);
    /// assert_eq!(m.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// See [`SplitMap::is_empty`](crate::SplitMap::is_empty).
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u8, u8> = splitmap::SplitMap::new();
    /// assert!(map.pin().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Lookups (`Send + 'static`, as for writes: a lookup may link its bucket's
/// sentinel, unlinking deleted nodes on the way; see `SplitMap::get`).
impl<'m, K, V, S> MapRef<'m, K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    #[inline]
    fn find<Q>(&self, key: &Q) -> Option<&MapEntry<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.core.hash(key);
        self.core.get(hash, &mut BorrowedKey(key), &self.guard)
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
        self.find(key).map(|e| &e.value)
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
        self.find(key).map(|e| (&e.key, &e.value))
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
        self.find(key).is_some()
    }
}

/// Walks (they never write: no bound beyond `Hash + Eq`).
impl<'m, K, V, S> MapRef<'m, K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// Iterates the entries in split order; same guarantees as
    /// [`Snapshot::iter`](crate::Snapshot::iter). `for (k, v) in &m` does
    /// the same.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 1);
    /// m.insert(2, 2);
    /// assert_eq!(m.iter().count(), 2);
    /// assert_eq!((&m).into_iter().count(), 2);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter::new(self.core.iter(&self.guard))
    }

    /// Iterates the keys; see [`iter`](Self::iter).
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, ()> = (0..3).map(|i| (i, ())).collect();
    /// let mut keys: Vec<u32> = map.pin().keys().copied().collect();
    /// keys.sort();
    /// assert_eq!(keys, [0, 1, 2]);
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    /// Iterates the values; see [`iter`](Self::iter).
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, u32> = (0..3).map(|i| (i, 1)).collect();
    /// assert_eq!(map.pin().values().sum::<u32>(), 3);
    /// ```
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }
}

impl<'a, K, V, S> IntoIterator for &'a MapRef<'_, K, V, S>
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

/// Writes (removed entries are dropped later on any thread: `Send +
/// 'static`).
impl<'m, K, V, S> MapRef<'m, K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
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
        let hash = self.core.hash(&key);
        self.core
            .insert(hash, &mut StrongKey::new(key), value, &self.guard)
            .map(Entry::value)
    }

    /// Inserts only if `key` is absent; see
    /// [`SplitMap::try_insert`](crate::SplitMap::try_insert).
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// assert_eq!(m.try_insert(1, 'a').ok(), Some(&'a'));
    /// let err = m.try_insert(1, 'b').unwrap_err();
    /// assert_eq!((err.current, err.value), (&'a', 'b'));
    /// ```
    pub fn try_insert(&self, key: K, value: V) -> Result<&V, OccupiedError<&V, V>> {
        let hash = self.core.hash(&key);
        self.core
            .try_insert(hash, &mut StrongKey::new(key), value, &self.guard)
            .map(Entry::value)
            .map_err(|(current, value)| OccupiedError {
                current: current.value(),
                value,
            })
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
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Removes `key` if `pred(&key, &value)` holds; see
    /// [`SplitMap::remove_if`](crate::SplitMap::remove_if).
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, 0);
    /// assert_eq!(m.remove_if(&1, |_, v| *v > 0), None);
    /// assert_eq!(m.remove_if(&1, |_, v| *v == 0), Some(&0));
    /// ```
    pub fn remove_if<Q>(&self, key: &Q, mut pred: impl FnMut(&K, &V) -> bool) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.core.hash(key);
        self.core
            .remove_if(
                hash,
                &mut BorrowedKey(key),
                |e| pred(&e.key, &e.value),
                &self.guard,
            )
            .map(Entry::value)
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
        let hash = self.core.hash(key);
        self.core
            .remove_if(hash, &mut BorrowedKey(key), |_| true, &self.guard)
            .map(|e| (&e.key, &e.value))
    }

    /// Replaces the value of an existing key with `f(&old)`; returns the new
    /// value. `f` may run more than once. See
    /// [`SplitMap::update`](crate::SplitMap::update).
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
        let hash = self.core.hash(key);
        self.core
            .update(hash, &mut BorrowedKey(key), f, &self.guard)
            .map(Entry::value)
    }

    /// Stores `f(&old)` if `key` is present, else `value`; returns the value
    /// stored. See [`SplitMap::update_or_insert`](crate::SplitMap::update_or_insert).
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// assert_eq!(m.update_or_insert("a", |n| n + 1, 1), &1);
    /// assert_eq!(m.update_or_insert("a", |n| n + 1, 1), &2);
    /// ```
    pub fn update_or_insert<F>(&self, key: K, f: F, value: V) -> &V
    where
        F: FnMut(&V) -> V,
    {
        let hash = self.core.hash(&key);
        self.core
            .update_or_insert(hash, &mut StrongKey::new(key), f, value, &self.guard)
            .value()
    }

    /// The value for `key`, inserting `f()` first if absent.
    /// See [`SplitMap::get_or_insert_with`](crate::SplitMap::get_or_insert_with).
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
        let hash = self.core.hash(&key);
        self.core
            .get_or_insert_with(hash, &mut StrongKey::new(key), f, &self.guard)
            .value()
    }

    /// Computes the entry for `key`; see
    /// [`SplitMap::compute`](crate::SplitMap::compute). Returns the value
    /// stored afterwards.
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
        let hash = self.core.hash(&key);
        self.core
            .compute(hash, &mut StrongKey::new(key), f, &self.guard)
            .map(Entry::value)
    }

    /// Removes every entry for which `keep` is false; see
    /// [`SplitMap::retain`](crate::SplitMap::retain).
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
        self.core.retain(|e| keep(&e.key, &e.value), &self.guard)
    }

    /// Removes every entry; see [`SplitMap::clear`](crate::SplitMap::clear).
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
}

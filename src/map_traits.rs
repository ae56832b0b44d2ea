//! The std traits and conversions of `SplitMap`: `Default`, `Debug`,
//! `Clone`, `PartialEq`/`Eq`, `FromIterator`, `Extend`, `From`, owned
//! `IntoIterator`. All of them are built on the public API (snapshot walks
//! and the pinned layer) or, for the owning ones, on exclusive access.
//! This module adds no algorithm.

use crate::map::SplitMap;
use crate::snapshot::ClonedIter;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use std::collections::hash_map::RandomState;

/// Any default-constructible hasher, as std's `HashMap` allows.
///
/// # Examples
/// ```
/// use std::hash::BuildHasherDefault;
/// use std::collections::hash_map::DefaultHasher;
/// let map: splitmap::SplitMap<u8, u8, BuildHasherDefault<DefaultHasher>> = Default::default();
/// assert!(map.is_empty());
/// ```
impl<K, V, S: Default> Default for SplitMap<K, V, S> {
    fn default() -> Self {
        Self::with_hasher(S::default())
    }
}

/// `for (k, v) in &map` yields clones of the entries, as
/// [`SplitMap::iter`] does; for references, iterate a
/// [`snapshot`](SplitMap::snapshot) or a [`pin`](SplitMap::pin)ned handle.
///
/// # Examples
/// ```
/// let map: splitmap::SplitMap<u32, String> = (0..3).map(|i| (i, i.to_string())).collect();
/// let mut total = 0;
/// for (k, v) in &map {
///     total += k + v.parse::<u32>().unwrap();
/// }
/// assert_eq!(total, 6);
/// ```
impl<'m, K, V, S> IntoIterator for &'m SplitMap<K, V, S>
where
    K: Hash + Eq + Clone,
    V: Clone,
    S: BuildHasher,
{
    type Item = (K, V);
    type IntoIter = ClonedIter<'m, K, V>;

    fn into_iter(self) -> ClonedIter<'m, K, V> {
        self.iter()
    }
}

impl<K, V, S> fmt::Debug for SplitMap<K, V, S>
where
    K: Hash + Eq + fmt::Debug,
    V: fmt::Debug,
    S: BuildHasher,
{
    /// The entries of one snapshot walk.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_map().entries(snapshot.iter()).finish()
    }
}

impl<K, V, S> Clone for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + 'static + Clone,
    V: Send + 'static + Clone,
    S: BuildHasher + Clone,
{
    /// Copies the entries of a snapshot walk into a new map, sized for them
    /// but free to shrink (no `with_capacity` floor).
    fn clone(&self) -> Self {
        let new = SplitMap::for_bulk_build(self.len(), self.hasher().clone());
        {
            let snapshot = self.snapshot();
            let target = new.pin();
            for (k, v) in snapshot.iter() {
                target.insert(k.clone(), v.clone());
            }
        }
        new
    }
}

impl<K, V, S> PartialEq for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: PartialEq + Send + 'static,
    S: BuildHasher,
{
    /// Equal if both hold the same keys with equal values, comparing one
    /// snapshot of each (exact when neither map is being written).
    fn eq(&self, other: &Self) -> bool {
        let mine = self.snapshot();
        let theirs = other.pin();
        let mut count = 0usize;
        for (k, v) in mine.iter() {
            count += 1;
            if theirs.get(k) != Some(v) {
                return false;
            }
        }
        count == other.snapshot().len()
    }
}

impl<K, V, S> Eq for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Eq + Send + 'static,
    S: BuildHasher,
{
}

impl<K, V, S> FromIterator<(K, V)> for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
    S: BuildHasher + Default,
{
    /// Sized for the iterator's lower size bound, without a shrink floor.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let map = SplitMap::for_bulk_build(iter.size_hint().0, S::default());
        (&map).extend(iter);
        map
    }
}

impl<K, V, S> Extend<(K, V)> for &SplitMap<K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        let m = self.pin();
        for (k, v) in iter {
            m.insert(k, v);
        }
    }
}

impl<K, V, S> Extend<(K, V)> for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        (&*self).extend(iter);
    }
}

impl<K, V, const N: usize> From<[(K, V); N]> for SplitMap<K, V, RandomState>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
{
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K, V, S> From<std::collections::HashMap<K, V, S>> for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
    S: BuildHasher + Clone,
{
    /// Moves the entries over, keeping the `HashMap`'s hasher; sized for
    /// them without a shrink floor.
    fn from(map: std::collections::HashMap<K, V, S>) -> Self {
        let new = SplitMap::for_bulk_build(map.len(), map.hasher().clone());
        (&new).extend(map);
        new
    }
}

/// The owning iterator of a `SplitMap`, in split order.
pub struct IntoIter<K, V> {
    entries: std::vec::IntoIter<(K, V)>,
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);
    fn next(&mut self) -> Option<(K, V)> {
        self.entries.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl<K, V> ExactSizeIterator for IntoIter<K, V> {}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for IntoIter<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries.as_slice()).finish()
    }
}

impl<K: Eq, V, S> IntoIterator for SplitMap<K, V, S> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    /// Moves every entry out (exclusive access: no other thread can hold the
    /// map).
    fn into_iter(mut self) -> IntoIter<K, V> {
        let entries: Vec<(K, V)> = self
            .core
            .take_all()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect();
        IntoIter {
            entries: entries.into_iter(),
        }
    }
}

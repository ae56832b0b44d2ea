//! What `&mut SplitMap` allows: `get_mut`, `iter_mut` and `values_mut`,
//! changing values in place.
//!
//! Holding the map mutably proves that no other reference to it exists, so
//! no thread is reading or writing it: an entry may change in place with
//! no pin and no new node (the concurrent API replaces a value by linking a
//! new node; here the old one is simply written). This module owns only the
//! public shape of those methods; the walk is `RawIterMut` in `raw/iter.rs`.
//! It must never offer a `&mut` to a key (the key decides a node's place in
//! the list) or anything on `&self`.

use crate::entry::{BorrowedKey, MapEntry};
use crate::map::SplitMap;
use crate::ops::RawIterMut;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};

impl<K, V, S> SplitMap<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// A mutable reference to the value for `key`. Needs `&mut self`, so no
    /// other thread can be using the map: the value changes in place.
    ///
    /// # Examples
    /// ```
    /// let mut map = splitmap::SplitMap::new();
    /// map.insert("hits", 1);
    /// if let Some(hits) = map.get_mut("hits") {
    ///     *hits += 1;
    /// }
    /// assert_eq!(map.get("hits"), Some(2));
    /// assert!(map.get_mut("misses").is_none());
    /// ```
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.core.hash(key);
        self.core
            .get_mut(hash, &mut BorrowedKey(key))
            .map(|entry| &mut entry.value)
    }

    /// Iterates the entries with mutable references to the values, in split
    /// order (no order a user can rely on). Needs `&mut self`: every key
    /// present is visited exactly once.
    ///
    /// # Examples
    /// ```
    /// let mut map: splitmap::SplitMap<u32, u32> = (0..10).map(|k| (k, k)).collect();
    /// for (k, v) in map.iter_mut() {
    ///     *v += k;
    /// }
    /// assert_eq!(map.get(&7), Some(14));
    /// ```
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        IterMut {
            walk: self.core.iter_mut(),
        }
    }

    /// Iterates mutable references to the values (see
    /// [`iter_mut`](Self::iter_mut)).
    ///
    /// # Examples
    /// ```
    /// let mut map: splitmap::SplitMap<u32, String> =
    ///     [(1, "a".to_string()), (2, "b".to_string())].into_iter().collect();
    /// for v in map.values_mut() {
    ///     v.push('!');
    /// }
    /// assert_eq!(map.get(&2).as_deref(), Some("b!"));
    /// ```
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.iter_mut().map(|(_, v)| v)
    }
}

/// The iterator of [`SplitMap::iter_mut`]: `(&K, &mut V)` for each entry.
pub struct IterMut<'a, K, V> {
    walk: RawIterMut<'a, MapEntry<K, V>>,
}

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        let (_, entry) = self.walk.next()?;
        Some((&entry.key, &mut entry.value))
    }
}

impl<K, V> fmt::Debug for IterMut<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IterMut").finish_non_exhaustive()
    }
}

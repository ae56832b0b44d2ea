//! Equality mode ([`ByValue`]): the operations that take a borrowed key
//! `&Q` (where `K: Borrow<Q>`), for the guard-free map and its pinned
//! handle. Each hashes `&Q`, builds a value probe (which upgrades stored keys
//! and holds them until the operation is done) and forwards to the shared
//! probed operations (`map.rs`, `pinned.rs`).

use super::entry::ValueProbe;
use super::map::live_pred;
use super::mode::ByValue;
use super::{WeakMap, WeakMapRef};
use crate::guarded::Guarded;
use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use std::sync::Arc;

impl<K, V, S> WeakMap<K, V, S, ByValue>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    /// Returns a clone of the value for a live key equal to `key`.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new("k".to_string());
    /// map.insert(Arc::clone(&k), 1);
    /// assert_eq!(map.get("k"), Some(1));
    /// assert_eq!(map.get("missing"), None);
    /// ```
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.get_with(key, V::clone)
    }

    /// Calls `f` on the value for a live key equal to `key` (no clone) and
    /// returns its result. The key stays alive while `f` runs.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), vec![1, 2, 3]);
    /// assert_eq!(map.get_with(&1, |v| v.len()), Some(3));
    /// ```
    #[inline]
    pub fn get_with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_with_probe(self.core().hash(key), ValueProbe::borrowed(key), f)
    }

    /// `true` if a live key equal to `key` is in the map.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), ());
    /// assert!(map.contains_key(&1));
    /// drop(k);
    /// assert!(!map.contains_key(&1));
    /// ```
    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_with(key, |_| ()).is_some()
    }

    /// Removes a live key equal to `key`; returns its value through a
    /// [`Guarded`] (no clone).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), 5);
    /// assert_eq!(map.remove(&1).as_deref(), Some(&5));
    /// assert!(map.remove(&1).is_none());
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<Guarded<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_with_probe(self.core().hash(key), ValueProbe::borrowed(key), |_| true)
    }

    /// Removes a live key equal to `key` if `pred(&key, &value)` holds
    /// (atomically); returns the removed value.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), 0);
    /// assert!(map.remove_if(&1, |_, v| *v > 0).is_none());
    /// assert_eq!(map.remove_if(&1, |_, v| *v == 0).as_deref(), Some(&0));
    /// ```
    pub fn remove_if<Q>(
        &self,
        key: &Q,
        mut pred: impl FnMut(&K, &V) -> bool,
    ) -> Option<Guarded<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_with_probe(self.core().hash(key), ValueProbe::borrowed(key), |e| {
            live_pred(e, &mut pred)
        })
    }

    /// Removes a live key equal to `key`; returns the stored key and the
    /// value.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new("a".to_string());
    /// map.insert(Arc::clone(&k), 1);
    /// let (key, value) = map.remove_entry("a").unwrap();
    /// assert!(Arc::ptr_eq(&key, &k));
    /// assert_eq!(*value, 1);
    /// ```
    pub fn remove_entry<Q>(&self, key: &Q) -> Option<(Arc<K>, Guarded<'_, V>)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_entry_with_probe(self.core().hash(key), ValueProbe::borrowed(key))
    }

    /// Replaces the value of a live key equal to `key` with `f(&old)`;
    /// returns the new value, or `None` (and does nothing) if absent or
    /// dead. The stored key is kept. `f` may run more than once under
    /// contention; only its last result is stored.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new("hits");
    /// map.insert(Arc::clone(&k), 1);
    /// assert_eq!(map.update("hits", |v| v + 1).as_deref(), Some(&2));
    /// assert!(map.update("misses", |v| v + 1).is_none());
    /// ```
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Option<Guarded<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        self.update_with_probe(self.core().hash(key), ValueProbe::borrowed(key), f)
    }
}

impl<K, V, S> WeakMapRef<'_, K, V, S, ByValue>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    /// The value for a live key equal to `key`.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let key = Arc::new(1u32);
    /// map.insert(Arc::clone(&key), 'a');
    /// assert_eq!(map.pin().get(&1), Some(&'a'));
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get_with_probe(self.core().hash(key), ValueProbe::borrowed(key))
    }

    /// `true` if a live key equal to `key` is in the map.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let key = Arc::new(1u32);
    /// map.insert(Arc::clone(&key), ());
    /// assert!(map.pin().contains_key(&1));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// Removes a live key equal to `key`; returns its value.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let key = Arc::new(1u32);
    /// map.insert(Arc::clone(&key), 'a');
    /// assert_eq!(map.pin().remove(&1), Some(&'a'));
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_with_probe(self.core().hash(key), ValueProbe::borrowed(key), |_| true)
    }

    /// Removes a live key equal to `key` if `pred(&key, &value)` holds;
    /// returns its value.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let key = Arc::new(1u32);
    /// map.insert(Arc::clone(&key), 'a');
    /// assert_eq!(map.pin().remove_if(&1, |_, v| *v == 'b'), None);
    /// ```
    pub fn remove_if<Q>(&self, key: &Q, mut pred: impl FnMut(&K, &V) -> bool) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_with_probe(self.core().hash(key), ValueProbe::borrowed(key), |e| {
            live_pred(e, &mut pred)
        })
    }

    /// Replaces the value of a live key with `f(&old)`; returns the new
    /// value. `f` may run more than once.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let key = Arc::new(1u32);
    /// map.insert(Arc::clone(&key), 1);
    /// assert_eq!(map.pin().update(&1, |v| v + 1), Some(&2));
    /// ```
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        self.update_with_probe(self.core().hash(key), ValueProbe::borrowed(key), f)
    }
}

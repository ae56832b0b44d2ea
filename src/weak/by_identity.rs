//! Identity mode ([`ByIdentity`]): the operations that take the key as
//! `&Arc<K>` (an entry matches only that very allocation), for the
//! guard-free map and its pinned handle. Each hashes the address, builds an
//! identity probe (one pointer compare, no upgrade) and forwards to the
//! shared probed operations (`map.rs`, `pinned.rs`).

use super::entry::IdentityProbe;
use super::map::live_pred;
use super::mode::{ByIdentity, KeyMode};
use super::{WeakMap, WeakMapRef};
use crate::guarded::Guarded;
use core::hash::BuildHasher;
use std::sync::Arc;

impl<K, V, S> WeakMap<K, V, S, ByIdentity>
where
    K: Send + Sync + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    #[inline]
    fn hash_identity(&self, key: &Arc<K>) -> u64 {
        ByIdentity::hash_key(self.hasher(), key)
    }

    /// Returns a clone of the value for `key` (this very allocation).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new("k");
    /// map.insert(Arc::clone(&k), 1);
    /// assert_eq!(map.get(&k), Some(1));
    /// assert_eq!(map.get(&Arc::new("k")), None); // equal, not the same
    /// ```
    #[inline]
    pub fn get(&self, key: &Arc<K>) -> Option<V>
    where
        V: Clone,
    {
        self.get_with(key, V::clone)
    }

    /// Calls `f` on the value for `key` (no clone) and returns its result.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), vec![1, 2, 3]);
    /// assert_eq!(map.get_with(&k, |v| v.len()), Some(3));
    /// ```
    #[inline]
    pub fn get_with<R>(&self, key: &Arc<K>, f: impl FnOnce(&V) -> R) -> Option<R> {
        self.get_with_probe(self.hash_identity(key), IdentityProbe::new(key), f)
    }

    /// `true` if `key` (this very allocation) is in the map.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), ());
    /// assert!(map.contains_key(&k));
    /// assert!(!map.contains_key(&Arc::new(1)));
    /// ```
    #[inline]
    pub fn contains_key(&self, key: &Arc<K>) -> bool {
        self.get_with(key, |_| ()).is_some()
    }

    /// Removes `key`; returns its value through a [`Guarded`] (no clone).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), 5);
    /// assert_eq!(map.remove(&k).as_deref(), Some(&5));
    /// assert!(map.remove(&k).is_none());
    /// ```
    pub fn remove(&self, key: &Arc<K>) -> Option<Guarded<'_, V>> {
        self.remove_with_probe(self.hash_identity(key), IdentityProbe::new(key), |_| true)
    }

    /// Removes `key` if `pred(&key, &value)` holds (atomically); returns the
    /// removed value.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), 0);
    /// assert!(map.remove_if(&k, |_, v| *v > 0).is_none());
    /// assert_eq!(map.remove_if(&k, |_, v| *v == 0).as_deref(), Some(&0));
    /// ```
    pub fn remove_if(
        &self,
        key: &Arc<K>,
        mut pred: impl FnMut(&K, &V) -> bool,
    ) -> Option<Guarded<'_, V>> {
        self.remove_with_probe(self.hash_identity(key), IdentityProbe::new(key), |e| {
            live_pred(e, &mut pred)
        })
    }

    /// Removes `key`; returns the stored key and the value.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), 'a');
    /// let (key, value) = map.remove_entry(&k).unwrap();
    /// assert!(Arc::ptr_eq(&key, &k));
    /// assert_eq!(*value, 'a');
    /// ```
    pub fn remove_entry(&self, key: &Arc<K>) -> Option<(Arc<K>, Guarded<'_, V>)> {
        self.remove_entry_with_probe(self.hash_identity(key), IdentityProbe::new(key))
    }

    /// Replaces the value of `key` with `f(&old)`; returns the new value, or
    /// `None` (and does nothing) if absent. `f` may run more than once under
    /// contention; only its last result is stored.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(());
    /// map.insert(Arc::clone(&k), 1);
    /// assert_eq!(map.update(&k, |v| v + 1).as_deref(), Some(&2));
    /// ```
    pub fn update<F>(&self, key: &Arc<K>, f: F) -> Option<Guarded<'_, V>>
    where
        F: FnMut(&V) -> V,
    {
        self.update_with_probe(self.hash_identity(key), IdentityProbe::new(key), f)
    }
}

impl<K, V, S> WeakMapRef<'_, K, V, S, ByIdentity>
where
    K: Send + Sync + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    #[inline]
    fn hash_identity(&self, key: &Arc<K>) -> u64 {
        ByIdentity::hash_key(self.core().hasher(), key)
    }

    /// The value for `key` (this very allocation).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let key = Arc::new(1u32);
    /// map.insert(Arc::clone(&key), 'a');
    /// assert_eq!(map.pin().get(&key), Some(&'a'));
    /// assert_eq!(map.pin().get(&Arc::new(1u32)), None); // equal, not the same
    /// ```
    pub fn get(&self, key: &Arc<K>) -> Option<&V> {
        self.get_with_probe(self.hash_identity(key), IdentityProbe::new(key))
    }

    /// `true` if `key` (this very allocation) is in the map.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let key = Arc::new(1u32);
    /// map.insert(Arc::clone(&key), ());
    /// assert!(map.pin().contains_key(&key));
    /// ```
    pub fn contains_key(&self, key: &Arc<K>) -> bool {
        self.get(key).is_some()
    }

    /// Removes `key`; returns its value.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let key = Arc::new(1u32);
    /// map.insert(Arc::clone(&key), 'a');
    /// assert_eq!(map.pin().remove(&key), Some(&'a'));
    /// ```
    pub fn remove(&self, key: &Arc<K>) -> Option<&V> {
        self.remove_with_probe(self.hash_identity(key), IdentityProbe::new(key), |_| true)
    }

    /// Removes `key` if `pred(&key, &value)` holds; returns its value.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let key = Arc::new(1u32);
    /// map.insert(Arc::clone(&key), 'a');
    /// assert_eq!(map.pin().remove_if(&key, |k, _| *k == 1), Some(&'a'));
    /// ```
    pub fn remove_if(&self, key: &Arc<K>, mut pred: impl FnMut(&K, &V) -> bool) -> Option<&V> {
        self.remove_with_probe(self.hash_identity(key), IdentityProbe::new(key), |e| {
            live_pred(e, &mut pred)
        })
    }

    /// Replaces the value of `key` with `f(&old)`; returns the new value.
    /// `f` may run more than once.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let key = Arc::new(1u32);
    /// map.insert(Arc::clone(&key), 1);
    /// assert_eq!(map.pin().update(&key, |v| v * 10), Some(&10));
    /// ```
    pub fn update<F>(&self, key: &Arc<K>, f: F) -> Option<&V>
    where
        F: FnMut(&V) -> V,
    {
        self.update_with_probe(self.hash_identity(key), IdentityProbe::new(key), f)
    }
}

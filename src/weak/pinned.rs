//! The pinned layer of the weak-key maps: `pin()` returns a handle that
//! pins the epoch once for many operations and hands out `&V` instead of
//! clones, like `SplitMap::pin`. It forwards to `WeakCore`; it adds no logic.
//!
//! Keys a lookup had to upgrade are released before a method returns (so a
//! key whose last `Arc` the lookup held dies inside the call, after the
//! list operation); the returned `&V` stays valid while the handle lives
//! either way, because a dead or removed entry is freed only after every
//! pinned thread has unpinned.

use super::entry::{ByIdentity, ByValue};
use super::{WeakIdentityMap, WeakKeyMap};
use crate::sync::Guard;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use std::sync::Arc;

/// A pinned handle to a [`WeakKeyMap`]; see [`WeakKeyMap::pin`].
pub struct WeakKeyMapRef<'m, K, V, S> {
    map: &'m WeakKeyMap<K, V, S>,
    guard: Guard,
}

/// A pinned handle to a [`WeakIdentityMap`]; see [`WeakIdentityMap::pin`].
pub struct WeakIdentityMapRef<'m, K, V, S> {
    map: &'m WeakIdentityMap<K, V, S>,
    guard: Guard,
}

impl<K, V, S> fmt::Debug for WeakKeyMapRef<'_, K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakKeyMapRef").finish_non_exhaustive()
    }
}

impl<K, V, S> fmt::Debug for WeakIdentityMapRef<'_, K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakIdentityMapRef").finish_non_exhaustive()
    }
}

impl<K, V, S> WeakKeyMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// Pins the epoch once and returns a handle whose operations return
    /// references (no clones), valid while the handle lives. Hold it for a
    /// batch of work: while it lives nothing removed can be freed.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let key = Arc::new("k".to_string());
    /// let m = map.pin();
    /// m.insert(Arc::clone(&key), vec![1, 2]);
    /// assert_eq!(m.get("k").map(Vec::len), Some(2));
    /// ```
    pub fn pin(&self) -> WeakKeyMapRef<'_, K, V, S> {
        WeakKeyMapRef {
            map: self,
            guard: crate::sync::pin(),
        }
    }
}

impl<K, V, S> WeakKeyMapRef<'_, K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
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
        let hash = self.map.hash(key);
        let mut probe = ByValue::borrowed(key);
        self.map
            .core
            .get_in(hash, &mut probe, &self.guard)
            .map(|e| &e.value)
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

    /// Inserts `key -> value` (replacing value and stored key of a live
    /// equal key); returns the value it replaced.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let key = Arc::new(1u32);
    /// let m = map.pin();
    /// assert_eq!(m.insert(Arc::clone(&key), 'a'), None);
    /// assert_eq!(m.insert(Arc::clone(&key), 'b'), Some(&'a'));
    /// ```
    pub fn insert(&self, key: Arc<K>, value: V) -> Option<&V> {
        let hash = self.map.hash(&*key);
        let mut probe = ByValue::owned(&key);
        self.map
            .core
            .insert_in(hash, &key, value, &mut probe, &self.guard)
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
        let hash = self.map.hash(key);
        let mut probe = ByValue::borrowed(key);
        self.map
            .core
            .remove_in(hash, &mut probe, &self.guard)
            .map(|e| &e.value)
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
        let hash = self.map.hash(key);
        let mut probe = ByValue::borrowed(key);
        self.map.core.update_in(hash, &mut probe, f, &self.guard)
    }

    /// The value for `key`, inserting `f()` first if no live equal key is
    /// present. `f` runs at most once.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let key = Arc::new(1u32);
    /// assert_eq!(map.pin().get_or_insert_with(Arc::clone(&key), || 'x'), &'x');
    /// ```
    pub fn get_or_insert_with<F>(&self, key: Arc<K>, f: F) -> &V
    where
        F: FnOnce() -> V,
    {
        let hash = self.map.hash(&*key);
        let mut probe = ByValue::owned(&key);
        self.map
            .core
            .get_or_insert_with_in(hash, &key, &mut probe, f, &self.guard)
    }
}

impl<K, V, S> WeakIdentityMap<K, V, S>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// Pins the epoch once and returns a handle whose operations return
    /// references (no clones), valid while the handle lives.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let key = Arc::new(());
    /// let m = map.pin();
    /// m.insert(Arc::clone(&key), 5);
    /// assert_eq!(m.get(&key), Some(&5));
    /// ```
    pub fn pin(&self) -> WeakIdentityMapRef<'_, K, V, S> {
        WeakIdentityMapRef {
            map: self,
            guard: crate::sync::pin(),
        }
    }
}

impl<K, V, S> WeakIdentityMapRef<'_, K, V, S>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
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
        let hash = self.map.hash(key);
        self.map
            .core
            .get_in(hash, &mut ByIdentity::new(key), &self.guard)
            .map(|e| &e.value)
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

    /// Inserts `key -> value`; returns the value it replaced.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let key = Arc::new(1u32);
    /// let m = map.pin();
    /// assert_eq!(m.insert(Arc::clone(&key), 'a'), None);
    /// assert_eq!(m.insert(Arc::clone(&key), 'b'), Some(&'a'));
    /// ```
    pub fn insert(&self, key: Arc<K>, value: V) -> Option<&V> {
        let hash = self.map.hash(&key);
        self.map
            .core
            .insert_in(hash, &key, value, &mut ByIdentity::new(&key), &self.guard)
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
        let hash = self.map.hash(key);
        self.map
            .core
            .remove_in(hash, &mut ByIdentity::new(key), &self.guard)
            .map(|e| &e.value)
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
        let hash = self.map.hash(key);
        self.map
            .core
            .update_in(hash, &mut ByIdentity::new(key), f, &self.guard)
    }

    /// The value for `key`, inserting `f()` first if absent. `f` runs at
    /// most once.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let key = Arc::new(1u32);
    /// assert_eq!(map.pin().get_or_insert_with(Arc::clone(&key), || 'x'), &'x');
    /// ```
    pub fn get_or_insert_with<F>(&self, key: Arc<K>, f: F) -> &V
    where
        F: FnOnce() -> V,
    {
        let hash = self.map.hash(&key);
        self.map
            .core
            .get_or_insert_with_in(hash, &key, &mut ByIdentity::new(&key), f, &self.guard)
    }
}

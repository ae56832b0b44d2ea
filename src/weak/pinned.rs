//! The pinned layer of the weak maps: `pin()` returns a handle that pins the
//! epoch once for many operations and hands out `&V` instead of clones or
//! guarded references, like `SplitMap::pin`. One handle type for every mode;
//! the borrowed-key lookups, whose signatures differ by mode, are in
//! `by_value.rs` and `by_identity.rs`. Forwards to the operations core.
//!
//! Keys a lookup had to upgrade are released before a method returns (so a
//! key whose last `Arc` the lookup held dies inside the call, after the
//! list operation); the returned `&V` stays valid while the handle lives
//! either way, because a dead or removed entry is freed only after every
//! pinned thread has unpinned.

use super::entry::WeakProbe;
use super::entry::{WeakEntry, WeakOwnedKey};
use super::map::retain_live;
use super::mode::KeyMode;
use super::WeakMap;
use crate::occupied::OccupiedError;
use crate::ops::entry_kind::Entry;
use crate::ops::Core;
use crate::sync::{pin, Guard};
use core::fmt;
use core::hash::BuildHasher;
use core::marker::PhantomData;
use std::sync::Arc;

/// A pinned handle to a [`WeakMap`]; see [`WeakMap::pin`].
///
/// While it lives, nothing removed from any map can be freed, so hold it for
/// a batch of work. It is not `Send`.
pub struct WeakMapRef<'m, K, V, S, M> {
    core: &'m Core<WeakEntry<K, V>, S>,
    guard: Guard,
    _mode: PhantomData<M>,
}

impl<K, V, S, M> fmt::Debug for WeakMapRef<'_, K, V, S, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakMapRef").finish_non_exhaustive()
    }
}

impl<K, V, S, M> WeakMap<K, V, S, M> {
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
    pub fn pin(&self) -> WeakMapRef<'_, K, V, S, M> {
        WeakMapRef {
            core: self.core(),
            guard: pin(),
            _mode: PhantomData,
        }
    }
}

impl<'m, K, V, S, M> WeakMapRef<'m, K, V, S, M> {
    pub(super) fn core(&self) -> &'m Core<WeakEntry<K, V>, S> {
        self.core
    }
}

/// The borrowed-key operations once for every mode (see `map.rs`).
impl<K, V, S, M> WeakMapRef<'_, K, V, S, M>
where
    K: Send + Sync + 'static,
    V: Send + 'static,
{
    pub(super) fn get_with_probe(&self, hash: u64, mut probe: impl WeakProbe<K>) -> Option<&V> {
        self.core
            .get(hash, &mut probe, &self.guard)
            .map(Entry::value)
    }

    pub(super) fn remove_with_probe(
        &self,
        hash: u64,
        mut probe: impl WeakProbe<K>,
        pred: impl FnMut(&WeakEntry<K, V>) -> bool,
    ) -> Option<&V> {
        self.core
            .remove_if(hash, &mut probe, pred, &self.guard)
            .map(Entry::value)
    }

    pub(super) fn update_with_probe(
        &self,
        hash: u64,
        mut probe: impl WeakProbe<K>,
        f: impl FnMut(&V) -> V,
    ) -> Option<&V> {
        self.core
            .update(hash, &mut probe, f, &self.guard)
            .map(Entry::value)
    }
}

impl<K, V, S, M> WeakMapRef<'_, K, V, S, M>
where
    K: Send + Sync + 'static,
    V: Send + 'static,
    S: BuildHasher,
    M: KeyMode<K>,
{
    /// Inserts `key -> value`; returns the value it replaced. See
    /// [`WeakMap::insert`].
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
        let hash = M::hash_key(self.core.hasher(), &key);
        let mut owned = WeakOwnedKey::new(&key, M::owned_probe(&key));
        self.core
            .insert(hash, &mut owned, value, &self.guard)
            .map(Entry::value)
    }

    /// Inserts only if no live key matching `key` is present; see
    /// [`WeakMap::try_insert`].
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let key = Arc::new(1u32);
    /// let m = map.pin();
    /// assert_eq!(m.try_insert(Arc::clone(&key), 'a').ok(), Some(&'a'));
    /// assert_eq!(m.try_insert(Arc::clone(&key), 'b').unwrap_err().current, &'a');
    /// ```
    pub fn try_insert(&self, key: Arc<K>, value: V) -> Result<&V, OccupiedError<&V, V>> {
        let hash = M::hash_key(self.core.hasher(), &key);
        let mut owned = WeakOwnedKey::new(&key, M::owned_probe(&key));
        self.core
            .try_insert(hash, &mut owned, value, &self.guard)
            .map(Entry::value)
            .map_err(|(current, value)| OccupiedError {
                current: current.value(),
                value,
            })
    }

    /// The value for `key`, inserting `f()` first if no live matching key
    /// is present. `f` runs at most once. See [`WeakMap::get_or_insert_with`].
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
        let hash = M::hash_key(self.core.hasher(), &key);
        let mut owned = WeakOwnedKey::new(&key, M::owned_probe(&key));
        self.core
            .get_or_insert_with(hash, &mut owned, f, &self.guard)
            .value()
    }

    /// Stores `f(&old)` if a live key matching `key` is present, else
    /// `value`; returns the value stored. See [`WeakMap::update_or_insert`].
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let key = Arc::new(());
    /// let m = map.pin();
    /// m.update_or_insert(Arc::clone(&key), |n| n + 1, 1);
    /// assert_eq!(m.update_or_insert(Arc::clone(&key), |n| n + 1, 1), &2);
    /// ```
    pub fn update_or_insert<F>(&self, key: Arc<K>, f: F, value: V) -> &V
    where
        F: FnMut(&V) -> V,
    {
        let hash = M::hash_key(self.core.hasher(), &key);
        let mut owned = WeakOwnedKey::new(&key, M::owned_probe(&key));
        self.core
            .update_or_insert(hash, &mut owned, f, value, &self.guard)
            .value()
    }

    /// Computes the entry for `key`; see [`WeakMap::compute`].
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let key = Arc::new(1u32);
    /// let m = map.pin();
    /// assert_eq!(m.compute(Arc::clone(&key), |n| Some(n.copied().unwrap_or(0) + 1)), Some(&1));
    /// ```
    pub fn compute<F>(&self, key: Arc<K>, f: F) -> Option<&V>
    where
        F: FnMut(Option<&V>) -> Option<V>,
    {
        let hash = M::hash_key(self.core.hasher(), &key);
        let mut owned = WeakOwnedKey::new(&key, M::owned_probe(&key));
        self.core
            .compute(hash, &mut owned, f, &self.guard)
            .map(Entry::value)
    }

    /// Removes every live entry `keep` rejects, and every dead entry it
    /// walks past; see [`WeakMap::retain`].
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let keys: Vec<_> = (0..4).map(Arc::new).collect();
    /// let m = map.pin();
    /// for k in &keys {
    ///     m.insert(Arc::clone(k), **k);
    /// }
    /// assert_eq!(m.retain(|_, v| *v < 2), 2);
    /// ```
    pub fn retain<F>(&self, mut keep: F) -> usize
    where
        F: FnMut(&K, &V) -> bool,
    {
        retain_live(self.core, &mut keep, &self.guard)
    }
}

//! `WeakIdentityMap`: weak keys with identity semantics (the same `Arc`
//! allocation; no upgrade on lookup).

use super::entry::{ByIdentity, WeakEntry};
use super::ops::WeakCore;
use super::snapshot::WeakSnapshot;
use super::WeakStats;
use crate::raw::{RawMap, DEFAULT_LOAD_FACTOR, DEFAULT_MIN_LOG2};
use crate::stats::MapStats;
use crate::sync::pin;
use core::fmt;
use core::hash::BuildHasher;
use std::collections::hash_map::RandomState;
use std::sync::Arc;

/// A lock-free concurrent map whose entries vanish when their key's last
/// `Arc` drops, with **identity** semantics: an entry matches only the very
/// `Arc` allocation it was inserted with (`Arc::ptr_eq`), whatever `K`'s
/// `Eq` says. `K` needs neither `Hash` nor `Eq` (the address is hashed).
///
/// This is the side-table map: data attached to *this* object (a session,
/// a connection, a handle), gone when the object is. Lookups take the
/// `&Arc<K>` and cost one pointer compare: no `upgrade()` (no atomic RMW on
/// the key's counts), so it is the faster of the two weak maps. Use
/// [`WeakKeyMap`](crate::WeakKeyMap) when lookups come with an equal value
/// instead of the `Arc`; its docs compare the two and describe purging,
/// `len()` and the bytes dead entries pin, which apply here unchanged.
///
/// - A dead entry never matches: while you hold an `Arc`, no dead entry can
///   have its address (the map's `Weak` keeps a dead key's allocation, so
///   the address is not reused until the entry is purged).
/// - Two equal but distinct `Arc`s are two keys with two entries.
/// - Inserting the same `Arc` again replaces the value.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use splitmap::WeakIdentityMap;
///
/// struct Session {
///     user: String,
/// }
/// let bytes_sent: WeakIdentityMap<Session, u64> = WeakIdentityMap::new();
/// let s = Arc::new(Session { user: "ann".into() });
/// bytes_sent.insert(Arc::clone(&s), 0);
/// bytes_sent.update(&s, |n| n + 512);
/// assert_eq!(bytes_sent.get(&s), Some(512));
/// assert_eq!(s.user, "ann");
/// drop(s); // the session ends: its entry is dead
/// assert_eq!(bytes_sent.live_len(), 0);
/// assert_eq!(bytes_sent.purge_dead(), 1);
/// ```
pub struct WeakIdentityMap<K, V, S = RandomState> {
    pub(super) core: WeakCore<K, V, S>,
}

impl<K, V> WeakIdentityMap<K, V, RandomState> {
    /// Creates an empty map.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::WeakIdentityMap<String, u32> = splitmap::WeakIdentityMap::new();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }

    /// Creates an empty map that holds `capacity` entries before growing.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::WeakIdentityMap<u64, u64> =
    ///     splitmap::WeakIdentityMap::with_capacity(1000);
    /// assert!(map.capacity() >= 1000);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_hasher(capacity, RandomState::new())
    }
}

impl<K, V, S> WeakIdentityMap<K, V, S> {
    /// Creates an empty map using `hasher` to hash key addresses.
    ///
    /// # Examples
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let map: splitmap::WeakIdentityMap<u64, u64> =
    ///     splitmap::WeakIdentityMap::with_hasher(RandomState::new());
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn with_hasher(hasher: S) -> Self {
        Self::with_layout(DEFAULT_MIN_LOG2, DEFAULT_LOAD_FACTOR, hasher)
    }

    /// Creates an empty map for `capacity` entries using `hasher`.
    ///
    /// # Examples
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let map: splitmap::WeakIdentityMap<u64, u64> =
    ///     splitmap::WeakIdentityMap::with_capacity_and_hasher(64, RandomState::new());
    /// assert!(map.capacity() >= 64);
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        let log2 = RawMap::<WeakEntry<K, V>>::log2_for_capacity(capacity, DEFAULT_LOAD_FACTOR);
        Self::with_layout(log2, DEFAULT_LOAD_FACTOR, hasher)
    }

    /// Test constructor: `1 << min_buckets_log2` initial buckets and
    /// `load_factor` entries per bucket. Not part of the stable API.
    ///
    /// # Panics
    /// If `load_factor` is 0.
    #[doc(hidden)]
    pub fn with_layout(min_buckets_log2: u32, load_factor: usize, hasher: S) -> Self {
        WeakIdentityMap {
            core: WeakCore::new(min_buckets_log2, load_factor, hasher),
        }
    }

    /// Entries inserted and not yet removed or purged: an **upper bound** on
    /// live entries (dead ones count until purged). O(1). For the exact
    /// live count, use [`live_len`](Self::live_len).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), ());
    /// drop(k);
    /// assert_eq!(map.len(), 1); // dead, not yet purged
    /// map.purge_dead();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.core.raw.len()
    }

    /// Entries the current directory holds before it next doubles.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::WeakIdentityMap<u8, u8> = splitmap::WeakIdentityMap::with_capacity(100);
    /// assert!(map.capacity() >= 100);
    /// ```
    pub fn capacity(&self) -> usize {
        self.core.raw.capacity()
    }

    /// The map's hasher.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::WeakIdentityMap<u8, u8> = splitmap::WeakIdentityMap::new();
    /// let _hasher = map.hasher();
    /// ```
    pub fn hasher(&self) -> &S {
        &self.core.hasher
    }

    /// Counter figures, O(1); `len` counts dead entries not yet purged. See
    /// [`WeakKeyMap::stats`](crate::WeakKeyMap::stats) and, for exact dead
    /// figures, [`weak_stats`](Self::weak_stats).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// map.insert(Arc::new(1), ()); // dies at once
    /// map.purge_dead();
    /// let s = map.stats();
    /// assert_eq!((s.len, s.inserts, s.purged), (0, 1, 1));
    /// ```
    pub fn stats(&self) -> MapStats {
        self.core.raw.raw_stats().into()
    }
}

impl<K, V, S> WeakIdentityMap<K, V, S>
where
    K: Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    #[inline]
    pub(super) fn hash(&self, key: &Arc<K>) -> u64 {
        self.core.hasher.hash_one(Arc::as_ptr(key) as usize)
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
    /// assert_eq!(map.get(&Arc::new("k")), None); // equal, but another key
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
        let hash = self.hash(key);
        let guard = pin();
        self.core
            .get_in(hash, &mut ByIdentity::new(key), &guard)
            .map(|e| f(&e.value))
    }

    /// `true` if the map holds `key`.
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

    /// Inserts `key -> value`; returns a clone of the value it replaced (if
    /// this same `Arc` was already a key).
    ///
    /// The map keeps only a `Weak` of `key`: keep an `Arc` of it yourself,
    /// or the entry is dead as soon as this returns.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(());
    /// assert_eq!(map.insert(Arc::clone(&k), 'a'), None);
    /// assert_eq!(map.insert(Arc::clone(&k), 'b'), Some('a'));
    /// ```
    pub fn insert(&self, key: Arc<K>, value: V) -> Option<V>
    where
        V: Clone,
    {
        let hash = self.hash(&key);
        let guard = pin();
        self.core
            .insert_in(hash, &key, value, &mut ByIdentity::new(&key), &guard)
            .cloned()
    }

    /// Removes `key`; returns a clone of its value.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), 5);
    /// assert_eq!(map.remove(&k), Some(5));
    /// assert_eq!(map.remove(&k), None);
    /// ```
    pub fn remove(&self, key: &Arc<K>) -> Option<V>
    where
        V: Clone,
    {
        let hash = self.hash(key);
        let guard = pin();
        self.core
            .remove_in(hash, &mut ByIdentity::new(key), &guard)
            .map(|e| e.value.clone())
    }

    /// Replaces the value of `key` with `f(&old)`; returns a clone of the new
    /// value, or `None` (and does nothing) if absent. `f` may run more than
    /// once under contention; only its last result is stored.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new("hits");
    /// map.insert(Arc::clone(&k), 1);
    /// assert_eq!(map.update(&k, |v| v + 1), Some(2));
    /// ```
    pub fn update<F>(&self, key: &Arc<K>, f: F) -> Option<V>
    where
        F: FnMut(&V) -> V,
        V: Clone,
    {
        let hash = self.hash(key);
        let guard = pin();
        self.core
            .update_in(hash, &mut ByIdentity::new(key), f, &guard)
            .cloned()
    }

    /// Returns a clone of the value for `key`, first inserting `key -> f()`
    /// if absent. `f` runs at most once, and only if the key was absent when
    /// looked at.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(7);
    /// assert_eq!(map.get_or_insert_with(Arc::clone(&k), || 10), 10);
    /// assert_eq!(map.get_or_insert_with(Arc::clone(&k), || 20), 10);
    /// ```
    pub fn get_or_insert_with<F>(&self, key: Arc<K>, f: F) -> V
    where
        F: FnOnce() -> V,
        V: Clone,
    {
        let hash = self.hash(&key);
        let guard = pin();
        self.core
            .get_or_insert_with_in(hash, &key, &mut ByIdentity::new(&key), f, &guard)
            .clone()
    }

    /// Removes every live entry for which `keep(&k, &v)` is false, and every
    /// dead entry it walks past. Returns how many were removed.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let keys: Vec<_> = (0..10).map(Arc::new).collect();
    /// for k in &keys {
    ///     map.insert(Arc::clone(k), **k);
    /// }
    /// assert_eq!(map.retain(|_, v| v % 2 == 0), 5);
    /// assert_eq!(map.live_len(), 5);
    /// ```
    pub fn retain<F>(&self, keep: F) -> usize
    where
        F: FnMut(&K, &V) -> bool,
    {
        let guard = pin();
        self.core.retain(keep, &guard)
    }

    /// Removes every entry the walk reaches. Not atomic as a whole.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), ());
    /// map.clear();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn clear(&self) {
        self.retain(|_, _| false);
    }

    /// Live entries, counted exactly by a walk over the list (O(n)).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let kept = Arc::new(1);
    /// map.insert(Arc::clone(&kept), ());
    /// map.insert(Arc::new(2), ()); // dead at once
    /// assert_eq!((map.len(), map.live_len()), (2, 1));
    /// ```
    pub fn live_len(&self) -> usize {
        self.snapshot().len()
    }

    /// `true` if the map holds no live entry (walks to the first live one).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// map.insert(Arc::new(1), ()); // dead at once
    /// assert!(map.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.snapshot().is_empty()
    }

    /// Takes a read view for iteration over live entries, yielding
    /// `(Arc<K>, &V)`; see [`WeakSnapshot`].
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let (a, b) = (Arc::new(1), Arc::new(1)); // equal, distinct keys
    /// map.insert(Arc::clone(&a), 10);
    /// map.insert(Arc::clone(&b), 20);
    /// let sum: i32 = map.snapshot().iter().map(|(_k, v)| *v).sum();
    /// assert_eq!(sum, 30);
    /// ```
    pub fn snapshot(&self) -> WeakSnapshot<'_, K, V> {
        WeakSnapshot::new(&self.core.raw, pin(), |a, b| core::ptr::eq(a, b))
    }

    /// Exact live and dead counts and the bytes dead entries still pin,
    /// from one walk (O(n)); see [`WeakStats`].
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// map.insert(Arc::new([0u8; 100]), ()); // dead at once
    /// assert_eq!(map.weak_stats().dead, 1);
    /// map.purge_dead();
    /// assert_eq!(map.weak_stats().dead, 0);
    /// ```
    pub fn weak_stats(&self) -> WeakStats {
        let guard = pin();
        self.core.weak_stats(&guard)
    }

    /// Purges every dead entry with one walk; returns how many this walk
    /// purged. See [`WeakKeyMap::purge_dead`](crate::WeakKeyMap::purge_dead).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// for i in 0..10 {
    ///     map.insert(Arc::new(i), i); // each key dies at once
    /// }
    /// map.purge_dead(); // inserts may have purged some already
    /// assert_eq!(map.stats().purged, 10);
    /// ```
    pub fn purge_dead(&self) -> usize {
        let guard = pin();
        self.core.raw.compact(&guard)
    }

    /// Purges dead entries and shrinks the directory as far as the contents
    /// allow; see [`SplitMap::shrink_to_fit`](crate::SplitMap::shrink_to_fit).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// for i in 0..10_000 {
    ///     map.insert(Arc::new(i), ());
    /// }
    /// map.shrink_to_fit();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn shrink_to_fit(&self) {
        self.core.shrink_to_fit();
    }

    /// Pushes reclamation along, as [`SplitMap::reclaim`](crate::SplitMap::reclaim).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// map.insert(Arc::new(1), ());
    /// map.purge_dead();
    /// map.reclaim();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn reclaim(&self) -> usize {
        self.core.raw.reclaim()
    }
}

impl<K, V> Default for WeakIdentityMap<K, V, RandomState> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V, S> fmt::Debug for WeakIdentityMap<K, V, S>
where
    K: Send + Sync + 'static + fmt::Debug,
    V: Send + Sync + 'static + fmt::Debug,
    S: BuildHasher,
{
    /// The live entries of one snapshot walk.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_map().entries(snapshot.iter()).finish()
    }
}

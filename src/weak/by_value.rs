//! `WeakKeyMap`: weak keys with equality semantics (`upgrade()`, then `==`).

use super::entry::{ByValue, WeakEntry};
use super::ops::WeakCore;
use super::snapshot::WeakSnapshot;
use super::WeakStats;
use crate::raw::{RawMap, DEFAULT_LOAD_FACTOR, DEFAULT_MIN_LOG2};
use crate::stats::MapStats;
use crate::sync::pin;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use std::collections::hash_map::RandomState;
use std::sync::Arc;

/// A lock-free concurrent map whose entries vanish when their key's last
/// `Arc` drops, with **equality** semantics: a lookup by any `&Q` equal to a
/// live stored key finds it.
///
/// - `insert(Arc<K>, V)` stores a `Weak<K>`; the map never keeps a key
///   alive. Pass a clone of an `Arc` you keep: a temporary `Arc` dies when
///   `insert` returns, and so does its entry.
/// - Inserting a key equal to a live stored one replaces the value **and
///   the stored key**: the entry then lives as long as the new `Arc`, not the
///   old one.
/// - A dead entry never matches; inserting an equal key adds a fresh entry
///   (the dead one is purged on the way, never revived).
/// - `len()` is an upper bound until dead entries are purged;
///   [`live_len`](Self::live_len) counts exactly with a walk.
///
/// Every single-key operation is linearizable and lock-free, as for
/// [`SplitMap`](crate::SplitMap).
///
/// # Choosing `WeakKeyMap` or `WeakIdentityMap`
/// Both run on the same raw core as [`SplitMap`](crate::SplitMap) (same
/// list, directory, counters and reclamation; only the entry type differs):
///
/// | | `WeakKeyMap` | [`WeakIdentityMap`](crate::WeakIdentityMap) |
/// |---|---|---|
/// | an entry matches a key that is | equal (`==`, like `HashMap`) | the same allocation (`Arc::ptr_eq`) |
/// | look up with | any `&Q` where `K: Borrow<Q>` | the `&Arc<K>` itself |
/// | `K` needs | `Hash + Eq` | nothing (the address is hashed) |
/// | a lookup costs | an `upgrade()` (two atomic RMWs on the key's counts) and `==` | one pointer compare, no RMW |
/// | like | Java's `WeakHashMap` | Caffeine's / Guava's `weakKeys()` |
///
/// Use [`WeakIdentityMap`](crate::WeakIdentityMap) for side tables keyed by objects (sessions,
/// connections, handles: "data attached to *this* object"), which is the
/// common case and the faster one. Use `WeakKeyMap` when lookups come with
/// a value that is not the `Arc` (a name, an id) and equal keys are the same
/// key, as in an interner or a canonicalizing cache.
///
/// # Liveness and purging
/// An entry holds a `Weak<K>` and is *dead* once every `Arc<K>` is gone. A
/// dead entry never matches a lookup (even if an equal key is inserted later:
/// it is never revived). It stays linked until someone purges it:
/// - a write (insert, remove, update, get_or_insert_with) that meets it in
///   its key's run marks and unlinks it;
/// - before the directory grows, one inserting thread walks the list and
///   purges every dead entry, and grows only if the map is still over three
///   quarters full (so dead entries do not make the directory grow);
/// - every 256 removes (per thread stripe), a bounded stretch is swept;
/// - `purge_dead()` and `shrink_to_fit()` walk the whole list.
///
/// Until purged, a dead entry counts in `len()` (an upper bound on live
/// entries) and keeps two allocations: its list node, and the `Arc<K>`
/// allocation (`K`'s bytes plus two counters; `K`'s destructor has run, but
/// the allocation is freed only when the last `Weak` goes). Nothing tells the
/// map when a key dies, so no O(1) count of dead entries exists:
/// `stats()` is O(1) and cannot separate them, `weak_stats()` walks the list
/// and gives exact live and dead counts and bytes; `live_len()` is the walk's
/// live count.
///
/// # Keys' destructors
/// A lookup that upgrades a stored key may end up holding its last `Arc`
/// (another thread dropped its own meanwhile). The map keeps such `Arc`s
/// until the operation is done with the entry (after its atomic step and
/// after cloning the value or running your closure) and drops them then, on
/// the calling thread, so `K::drop` never runs inside a list traversal.
///
/// # A value that holds its own key
/// An entry whose value holds an `Arc` of its own key (directly or through a
/// cycle) keeps that key alive, so the entry never dies, exactly like Java's
/// `WeakHashMap`. Hold a `Weak<K>` in the value instead, or remove the entry
/// explicitly.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use splitmap::WeakKeyMap;
///
/// let names: WeakKeyMap<String, u32> = WeakKeyMap::new();
/// let alice = Arc::new("alice".to_string());
/// names.insert(Arc::clone(&alice), 1);
/// assert_eq!(names.get("alice"), Some(1)); // look up by &str
/// drop(alice); // last Arc: the entry is dead
/// assert_eq!(names.get("alice"), None);
/// assert_eq!(names.purge_dead(), 1);
/// assert_eq!(names.len(), 0);
/// ```
pub struct WeakKeyMap<K, V, S = RandomState> {
    pub(super) core: WeakCore<K, V, S>,
}

impl<K, V> WeakKeyMap<K, V, RandomState> {
    /// Creates an empty map.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::WeakKeyMap<String, u32> = splitmap::WeakKeyMap::new();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }

    /// Creates an empty map that holds `capacity` entries before growing.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::WeakKeyMap<u64, u64> = splitmap::WeakKeyMap::with_capacity(1000);
    /// assert!(map.capacity() >= 1000);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_hasher(capacity, RandomState::new())
    }
}

impl<K, V, S> WeakKeyMap<K, V, S> {
    /// Creates an empty map using `hasher` to hash keys.
    ///
    /// # Examples
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let map: splitmap::WeakKeyMap<u64, u64> =
    ///     splitmap::WeakKeyMap::with_hasher(RandomState::new());
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
    /// let map: splitmap::WeakKeyMap<u64, u64> =
    ///     splitmap::WeakKeyMap::with_capacity_and_hasher(64, RandomState::new());
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
        WeakKeyMap {
            core: WeakCore::new(min_buckets_log2, load_factor, hasher),
        }
    }

    /// Entries inserted and not yet removed or purged: an **upper bound** on
    /// live entries, since entries whose key died count until purged. O(1).
    /// For the exact live count, use [`live_len`](Self::live_len).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
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
    /// let map: splitmap::WeakKeyMap<u8, u8> = splitmap::WeakKeyMap::with_capacity(100);
    /// assert!(map.capacity() >= 100);
    /// ```
    pub fn capacity(&self) -> usize {
        self.core.raw.capacity()
    }

    /// The map's hasher.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::WeakKeyMap<u8, u8> = splitmap::WeakKeyMap::new();
    /// let _hasher = map.hasher();
    /// ```
    pub fn hasher(&self) -> &S {
        &self.core.hasher
    }

    /// Counter figures, O(1), as for [`SplitMap::stats`](crate::SplitMap::stats).
    /// `len` counts dead entries not yet purged (no O(1) figure can tell
    /// them apart: nothing notifies the map when a key dies); `purged`
    /// counts dead entries purged so far. For exact dead counts and the
    /// bytes they pin, use [`weak_stats`](Self::weak_stats).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// map.insert(Arc::new(1), ()); // dies at once
    /// map.purge_dead();
    /// let s = map.stats();
    /// assert_eq!((s.len, s.inserts, s.purged), (0, 1, 1));
    /// ```
    pub fn stats(&self) -> MapStats {
        self.core.raw.raw_stats().into()
    }
}

impl<K, V, S> WeakKeyMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    #[inline]
    pub(super) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.core.hasher.hash_one(key)
    }

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

    /// Calls `f` on the value for `key` (no clone) and returns its result.
    /// The key stays alive while `f` runs.
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
        let hash = self.hash(key);
        let guard = pin();
        let mut probe = ByValue::borrowed(key);
        let result = self
            .core
            .get_in(hash, &mut probe, &guard)
            .map(|e| f(&e.value));
        drop(probe); // upgraded keys die (if they must) only now
        result
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

    /// Inserts `key -> value`; returns a clone of the value it replaced
    /// (the value of a live equal key). Replacing also replaces the stored
    /// key: the entry now dies with `key`, not with the old `Arc`.
    ///
    /// The map keeps only a `Weak` of `key`: keep an `Arc` of it yourself,
    /// or the entry is dead as soon as this returns.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k1 = Arc::new("k".to_string());
    /// let k2 = Arc::new("k".to_string()); // equal, distinct allocation
    /// assert_eq!(map.insert(Arc::clone(&k1), 1), None);
    /// assert_eq!(map.insert(Arc::clone(&k2), 2), Some(1));
    /// drop(k2); // the stored key was k2: the entry dies with it
    /// assert_eq!(map.get("k"), None);
    /// ```
    pub fn insert(&self, key: Arc<K>, value: V) -> Option<V>
    where
        V: Clone,
    {
        let hash = self.hash(&*key);
        let guard = pin();
        let mut probe = ByValue::owned(&key);
        let old = self
            .core
            .insert_in(hash, &key, value, &mut probe, &guard)
            .cloned();
        drop(probe);
        old
    }

    /// Removes a live key equal to `key`; returns a clone of its value.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), 5);
    /// assert_eq!(map.remove(&1), Some(5));
    /// assert_eq!(map.remove(&1), None);
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        let hash = self.hash(key);
        let guard = pin();
        let mut probe = ByValue::borrowed(key);
        let old = self
            .core
            .remove_in(hash, &mut probe, &guard)
            .map(|e| e.value.clone());
        drop(probe);
        old
    }

    /// Replaces the value of a live `key` with `f(&old)`; returns a clone of
    /// the new value, or `None` (and does nothing) if absent or dead. The
    /// stored key is kept. `f` may run more than once under contention; only
    /// its last result is stored.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new("hits");
    /// map.insert(Arc::clone(&k), 1);
    /// assert_eq!(map.update("hits", |v| v + 1), Some(2));
    /// assert_eq!(map.update("misses", |v| v + 1), None);
    /// ```
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
        V: Clone,
    {
        let hash = self.hash(key);
        let guard = pin();
        let mut probe = ByValue::borrowed(key);
        let new = self.core.update_in(hash, &mut probe, f, &guard).cloned();
        drop(probe);
        new
    }

    /// Returns a clone of the value for a live key equal to `key`, first
    /// inserting `key -> f()` if there is none. `f` runs at most once, and
    /// only if the key was absent when looked at. An existing entry keeps
    /// its stored key.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new(7);
    /// assert_eq!(map.get_or_insert_with(Arc::clone(&k), || 10), 10);
    /// assert_eq!(map.get_or_insert_with(Arc::clone(&k), || 20), 10);
    /// ```
    pub fn get_or_insert_with<F>(&self, key: Arc<K>, f: F) -> V
    where
        F: FnOnce() -> V,
        V: Clone,
    {
        let hash = self.hash(&*key);
        let guard = pin();
        let mut probe = ByValue::owned(&key);
        let value = self
            .core
            .get_or_insert_with_in(hash, &key, &mut probe, f, &guard)
            .clone();
        drop(probe);
        value
    }

    /// Removes every live entry for which `keep(&k, &v)` is false, and every
    /// dead entry it walks past. Each removal is atomic on its own. Returns
    /// how many were removed (dead ones included).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
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
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new(1);
    /// map.insert(Arc::clone(&k), ());
    /// map.clear();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn clear(&self) {
        self.retain(|_, _| false);
    }

    /// Live entries, counted exactly by a walk over the list (O(n)); exact
    /// for a quiescent map. See [`len`](Self::len) for the O(1) bound.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let kept = Arc::new(1);
    /// map.insert(Arc::clone(&kept), ());
    /// map.insert(Arc::new(2), ()); // dead at once
    /// assert_eq!((map.len(), map.live_len()), (2, 1));
    /// ```
    pub fn live_len(&self) -> usize {
        self.snapshot().len()
    }

    /// `true` if the map holds no live entry. Walks until the first live
    /// entry (O(dead entries before it)).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
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
    /// let map = splitmap::WeakKeyMap::new();
    /// let (a, b) = (Arc::new(1), Arc::new(2));
    /// map.insert(Arc::clone(&a), 10);
    /// map.insert(Arc::clone(&b), 20);
    /// let sum: i32 = map.snapshot().iter().map(|(_k, v)| *v).sum();
    /// assert_eq!(sum, 30);
    /// ```
    pub fn snapshot(&self) -> WeakSnapshot<'_, K, V> {
        WeakSnapshot::new(&self.core.raw, pin(), |a, b| a == b)
    }

    /// Exact live and dead counts and the bytes dead entries still pin,
    /// from one walk over the list (O(n)); see [`WeakStats`].
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// map.insert(Arc::new([0u8; 100]), ()); // dead at once
    /// let w = map.weak_stats();
    /// assert_eq!(w.dead, 1);
    /// assert!(w.dead_key_bytes >= 100);
    /// map.purge_dead();
    /// assert_eq!(map.weak_stats().dead, 0);
    /// ```
    pub fn weak_stats(&self) -> WeakStats {
        let guard = pin();
        self.core.weak_stats(&guard)
    }

    /// Walks the whole list and purges (marks and unlinks) every dead entry;
    /// returns how many this walk purged. Also runs the rest of the
    /// compaction walk (see [`SplitMap::compact`](crate::SplitMap::compact)),
    /// so a map left nearly empty starts shrinking. Purged nodes are freed
    /// after an epoch grace period ([`reclaim`](Self::reclaim) hurries it).
    /// Lock-free: other operations proceed meanwhile.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// for i in 0..10 {
    ///     map.insert(Arc::new(i), i); // each key dies at once
    /// }
    /// map.purge_dead(); // inserts may have purged some already
    /// assert_eq!(map.stats().purged, 10);
    /// assert_eq!(map.len(), 0);
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
    /// let map = splitmap::WeakKeyMap::new();
    /// for i in 0..10_000 {
    ///     map.insert(Arc::new(i), ());
    /// }
    /// map.shrink_to_fit();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn shrink_to_fit(&self) {
        self.core.shrink_to_fit();
    }

    /// Pushes reclamation along, as [`SplitMap::reclaim`](crate::SplitMap::reclaim);
    /// returns the count of removed nodes not yet freed.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// map.insert(Arc::new(1), ());
    /// map.purge_dead();
    /// map.reclaim();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn reclaim(&self) -> usize {
        self.core.raw.reclaim()
    }
}

impl<K, V> Default for WeakKeyMap<K, V, RandomState> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V, S> fmt::Debug for WeakKeyMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static + fmt::Debug,
    V: Send + Sync + 'static + fmt::Debug,
    S: BuildHasher,
{
    /// The live entries of one snapshot walk.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_map().entries(snapshot.iter()).finish()
    }
}

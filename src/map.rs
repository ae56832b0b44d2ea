//! `SplitMap`: the safe, std-like, guard-free API.
//!
//! Every method pins the epoch at most once and returns owned data (clones),
//! so no borrow outlives the call. The operations themselves are written
//! once, as `*_in(&self, .., guard)` helpers that the pinned layer
//! (`pinned.rs`) shares; this file adds the hashing, the key matching and the
//! cloning. It never touches a raw pointer.

use crate::entry::MapEntry;
use crate::pinned::MapRef;
use crate::raw::{Action, Match, Outcome, RawMap, DEFAULT_LOAD_FACTOR, DEFAULT_MIN_LOG2};
use crate::snapshot::Snapshot;
use crate::stats::MapStats;
use crate::sync::{pin, Guard};
use core::borrow::Borrow;
use core::cell::RefCell;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use std::collections::hash_map::RandomState;

/// A lock-free concurrent hash map that gives memory back.
///
/// See the [crate documentation](crate) for the guarantees. All methods take
/// `&self`; share the map by reference or in an `Arc`.
///
/// # Examples
/// ```
/// use splitmap::SplitMap;
///
/// let map = SplitMap::new();
/// map.insert("apple", 3);
/// assert_eq!(map.get("apple"), Some(3));
/// assert_eq!(map.remove("apple"), Some(3));
/// assert!(map.is_empty());
/// ```
pub struct SplitMap<K, V, S = RandomState> {
    pub(crate) raw: RawMap<MapEntry<K, V>>,
    hasher: S,
}

// `SplitMap` is `Send`/`Sync` by the auto traits of its fields: the raw map
// owns `Node<MapEntry<K, V>>`s (`PhantomData<Box<..>>`), so it is `Send` when
// `K, V: Send` and `Sync` when `K, V: Sync`. Every method that can move or
// drop a key or value on another thread (insert, remove, the epoch's deferred
// destructors) additionally requires `K, V: Send + Sync + 'static`, so a
// shared `&SplitMap` can never move a `!Send` value across threads.

impl<K, V> SplitMap<K, V, RandomState> {
    /// Creates an empty map.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u64, String> = splitmap::SplitMap::new();
    /// assert!(map.is_empty());
    /// ```
    pub fn new() -> Self {
        Self::with_hasher(RandomState::new())
    }

    /// Creates an empty map that holds `capacity` entries before growing.
    /// Automatic shrinking never goes below this; `shrink_to_fit` may.
    ///
    /// # Panics
    /// If `capacity` needs more than 2^40 buckets ("capacity overflow").
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u64, u64> = splitmap::SplitMap::with_capacity(1000);
    /// assert!(map.capacity() >= 1000);
    /// ```
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_hasher(capacity, RandomState::new())
    }
}

impl<K, V, S> SplitMap<K, V, S> {
    /// Creates an empty map using `hasher` to hash keys.
    ///
    /// # Examples
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let map: splitmap::SplitMap<u64, u64> = splitmap::SplitMap::with_hasher(RandomState::new());
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
    /// let map: splitmap::SplitMap<u64, u64> =
    ///     splitmap::SplitMap::with_capacity_and_hasher(64, RandomState::new());
    /// assert!(map.capacity() >= 64);
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        let log2 = RawMap::<MapEntry<K, V>>::log2_for_capacity(capacity, DEFAULT_LOAD_FACTOR);
        Self::with_layout(log2, DEFAULT_LOAD_FACTOR, hasher)
    }

    /// Test and model-checking constructor: `1 << min_buckets_log2` initial
    /// buckets and `load_factor` entries per bucket before growth (at least
    /// 1). Tiny values make every operation cross bucket init, growth and
    /// shrink. Not part of the stable API.
    ///
    /// # Panics
    /// If `load_factor` is 0.
    #[doc(hidden)]
    pub fn with_layout(min_buckets_log2: u32, load_factor: usize, hasher: S) -> Self {
        SplitMap {
            raw: RawMap::new(min_buckets_log2, load_factor),
            hasher,
        }
    }

    /// The number of entries. Exact when no operation is in flight; under
    /// concurrent writes, a value the length had at some recent moment.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1, 1);
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// `true` if [`len`](Self::len) is 0.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u8, u8> = splitmap::SplitMap::new();
    /// assert!(map.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries the map holds before its directory next doubles.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u8, u8> = splitmap::SplitMap::with_capacity(100);
    /// assert!(map.capacity() >= 100);
    /// ```
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// The map's hasher.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u8, u8> = splitmap::SplitMap::new();
    /// let _hasher = map.hasher();
    /// ```
    pub fn hasher(&self) -> &S {
        &self.hasher
    }
}

impl<K, V, S> SplitMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    #[inline]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    // ---- the operations, written once for both layers ----

    #[inline]
    pub(crate) fn get_in<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<&'g MapEntry<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let mut m = matcher(key);
        self.raw.get(hash, &mut |e| m(e, None), guard)
    }

    pub(crate) fn insert_in<'g>(&'g self, key: K, value: V, guard: &'g Guard) -> Option<&'g V> {
        let hash = self.hash(&key);
        // The entry stays here until `decide` moves it into a node; after a
        // failed publication the raw map holds it and passes it to the matcher.
        let home = RefCell::new(Some(MapEntry { key, value }));
        let outcome = self.raw.compute(
            hash,
            &mut |e: &MapEntry<K, V>, pending: Option<&MapEntry<K, V>>| match pending {
                Some(p) => key_match(&e.key, &p.key),
                None => key_match(&e.key, &home.borrow().as_ref().expect("entry at home").key),
            },
            &mut |_, pending| {
                Action::Put(
                    pending.unwrap_or_else(|| home.borrow_mut().take().expect("entry moved once")),
                )
            },
            guard,
        );
        match outcome {
            Outcome::Replaced { old, .. } => Some(&old.value),
            _ => None,
        }
    }

    pub(crate) fn remove_in<'g, Q>(
        &'g self,
        key: &Q,
        guard: &'g Guard,
    ) -> Option<&'g MapEntry<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let outcome = self.raw.compute(
            hash,
            &mut matcher(key),
            &mut |cur, _| {
                if cur.is_some() {
                    Action::Remove
                } else {
                    Action::Keep
                }
            },
            guard,
        );
        match outcome {
            Outcome::Removed(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn update_in<'g, Q, F>(
        &'g self,
        key: &Q,
        mut f: F,
        guard: &'g Guard,
    ) -> Option<&'g V>
    where
        K: Borrow<Q> + Clone,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        let hash = self.hash(key);
        let outcome = self.raw.compute(
            hash,
            &mut matcher(key),
            &mut |cur, _| match cur {
                Some(e) => Action::Put(MapEntry {
                    key: e.key.clone(),
                    value: f(&e.value),
                }),
                None => Action::Keep,
            },
            guard,
        );
        match outcome {
            Outcome::Replaced { new, .. } => Some(&new.value),
            _ => None,
        }
    }

    pub(crate) fn get_or_insert_with_in<'g, F>(&'g self, key: K, f: F, guard: &'g Guard) -> &'g V
    where
        F: FnOnce() -> V,
    {
        let hash = self.hash(&key);
        let mut make = Some(f);
        let home = RefCell::new(Some(key));
        let outcome = self.raw.compute(
            hash,
            &mut owned_key_matcher(&home),
            &mut |cur, pending| match cur {
                Some(_) => Action::Keep,
                None => Action::Put(pending.unwrap_or_else(|| MapEntry {
                    key: home.borrow_mut().take().expect("key moved once"),
                    value: (make.take().expect("called once"))(),
                })),
            },
            guard,
        );
        match outcome {
            Outcome::Unchanged(Some(e)) | Outcome::Inserted(e) => &e.value,
            _ => unreachable!("get_or_insert_with neither found nor inserted"),
        }
    }

    pub(crate) fn compute_in<'g, F>(&'g self, key: K, mut f: F, guard: &'g Guard) -> Option<&'g V>
    where
        F: FnMut(Option<&V>) -> Option<V>,
    {
        let hash = self.hash(&key);
        let home = RefCell::new(Some(key));
        let outcome = self.raw.compute(
            hash,
            &mut owned_key_matcher(&home),
            &mut |cur, pending| {
                let key = match pending {
                    Some(p) => p.key,
                    None => home.borrow_mut().take().expect("key at home"),
                };
                match f(cur.map(|e| &e.value)) {
                    Some(value) => Action::Put(MapEntry { key, value }),
                    None => {
                        *home.borrow_mut() = Some(key);
                        if cur.is_some() {
                            Action::Remove
                        } else {
                            Action::Keep
                        }
                    }
                }
            },
            guard,
        );
        match outcome {
            Outcome::Inserted(e) | Outcome::Replaced { new: e, .. } => Some(&e.value),
            Outcome::Unchanged(cur) => cur.map(|e| &e.value),
            Outcome::Removed(_) => None,
        }
    }
}

/// The matcher for an owned key that is either at `home` or already moved
/// into the pending entry.
#[inline]
fn owned_key_matcher<'h, K: Eq, V>(
    home: &'h RefCell<Option<K>>,
) -> impl FnMut(&MapEntry<K, V>, Option<&MapEntry<K, V>>) -> Match + 'h {
    move |e, pending| match pending {
        Some(p) => key_match(&e.key, &p.key),
        None => key_match(&e.key, home.borrow().as_ref().expect("key at home")),
    }
}

/// The matcher for a borrowed key.
#[inline]
fn matcher<'q, K, V, Q>(
    key: &'q Q,
) -> impl FnMut(&MapEntry<K, V>, Option<&MapEntry<K, V>>) -> Match + 'q
where
    K: Borrow<Q>,
    Q: Eq + ?Sized,
{
    move |e, _| key_match(e.key.borrow(), key)
}

#[inline]
fn key_match<Q: Eq + ?Sized>(a: &Q, b: &Q) -> Match {
    if a == b {
        Match::Equal
    } else {
        Match::NotEqual
    }
}

impl<K, V, S> SplitMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    /// Pins the epoch once and returns a handle whose operations return
    /// references into the map (no cloning) valid while the handle lives.
    /// The fast path for loops: one pin for many operations.
    ///
    /// Holding a `MapRef` for long delays reclamation of removed entries
    /// (map-wide), so keep it to a batch of work.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, "one".to_string());
    /// assert_eq!(m.get(&1).map(String::as_str), Some("one"));
    /// ```
    pub fn pin(&self) -> MapRef<'_, K, V, S> {
        MapRef::new(self, pin())
    }

    /// Takes a read view for iteration; see [`Snapshot`].
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1, 10);
    /// map.insert(2, 20);
    /// let mut sum = 0;
    /// for (_k, v) in map.snapshot().iter() {
    ///     sum += v;
    /// }
    /// assert_eq!(sum, 30);
    /// ```
    pub fn snapshot(&self) -> Snapshot<'_, K, V, S> {
        Snapshot::new(self, pin())
    }

    /// Returns a clone of the value for `key`.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert("k".to_string(), 1);
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
        let guard = pin();
        self.get_in(key, &guard).map(|e| e.value.clone())
    }

    /// Calls `f` on the value for `key` (no clone) and returns its result.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1, vec![1, 2, 3]);
    /// assert_eq!(map.get_with(&1, |v| v.len()), Some(3));
    /// ```
    #[inline]
    pub fn get_with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = pin();
        self.get_in(key, &guard).map(|e| f(&e.value))
    }

    /// Returns clones of the stored key and value for `key`.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1, 'a');
    /// assert_eq!(map.get_key_value(&1), Some((1, 'a')));
    /// ```
    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q> + Clone,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        let guard = pin();
        self.get_in(key, &guard)
            .map(|e| (e.key.clone(), e.value.clone()))
    }

    /// `true` if the map holds `key`.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1, ());
    /// assert!(map.contains_key(&1));
    /// assert!(!map.contains_key(&2));
    /// ```
    #[inline]
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let guard = pin();
        self.get_in(key, &guard).is_some()
    }

    /// Inserts `key -> value`; returns a clone of the value it replaced.
    /// Replacing also replaces the stored key (like `HashMap::insert` it
    /// keeps neither the old key nor the old value in the map).
    ///
    /// For values that are not `Clone`, use [`pin`](Self::pin)`().insert`.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// assert_eq!(map.insert(1, "a"), None);
    /// assert_eq!(map.insert(1, "b"), Some("a"));
    /// assert_eq!(map.get(&1), Some("b"));
    /// ```
    pub fn insert(&self, key: K, value: V) -> Option<V>
    where
        V: Clone,
    {
        let guard = pin();
        self.insert_in(key, value, &guard).cloned()
    }

    /// Removes `key`; returns a clone of its value.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1, 5);
    /// assert_eq!(map.remove(&1), Some(5));
    /// assert_eq!(map.remove(&1), None);
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        let guard = pin();
        self.remove_in(key, &guard).map(|e| e.value.clone())
    }

    /// Removes `key`; returns clones of the stored key and value.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert("a".to_string(), 1);
    /// assert_eq!(map.remove_entry("a"), Some(("a".to_string(), 1)));
    /// ```
    pub fn remove_entry<Q>(&self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q> + Clone,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        let guard = pin();
        self.remove_in(key, &guard)
            .map(|e| (e.key.clone(), e.value.clone()))
    }

    /// Replaces the value of an existing `key` with `f(&old)`; returns a
    /// clone of the new value, or `None` (and does nothing) if absent.
    ///
    /// `f` may run more than once if the value changes concurrently; only
    /// the result of its last run is stored. Concurrent updates of one key
    /// never lose each other's effect.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert("hits", 1);
    /// assert_eq!(map.update("hits", |v| v + 1), Some(2));
    /// assert_eq!(map.update("misses", |v| v + 1), None);
    /// ```
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Option<V>
    where
        K: Borrow<Q> + Clone,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
        V: Clone,
    {
        let guard = pin();
        self.update_in(key, f, &guard).cloned()
    }

    /// Returns a clone of the value for `key`, inserting `f()` first if the
    /// key is absent. `f` runs at most once, and only if the key was absent
    /// when looked at (its value is dropped if another thread inserted the
    /// key first).
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// assert_eq!(map.get_or_insert_with(1, || 10), 10);
    /// assert_eq!(map.get_or_insert_with(1, || 20), 10);
    /// ```
    pub fn get_or_insert_with<F>(&self, key: K, f: F) -> V
    where
        F: FnOnce() -> V,
        V: Clone,
    {
        let guard = pin();
        self.get_or_insert_with_in(key, f, &guard).clone()
    }

    /// Computes the entry for `key` from its current value: `f(None)` if
    /// absent, `f(Some(&v))` if present. `Some(new)` stores `new`, `None`
    /// removes the key (or leaves it absent). Returns a clone of the value
    /// stored afterwards. Atomic for this key.
    ///
    /// `f` may run more than once under contention; only its last result
    /// takes effect.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// // Count words: insert 1 or add 1.
    /// for w in ["a", "b", "a"] {
    ///     map.compute(w, |n| Some(n.copied().unwrap_or(0) + 1));
    /// }
    /// assert_eq!(map.get("a"), Some(2));
    /// // Remove when the count reaches zero.
    /// assert_eq!(map.compute("b", |n| n.copied().filter(|&n| n > 1)), None);
    /// assert!(!map.contains_key("b"));
    /// ```
    pub fn compute<F>(&self, key: K, f: F) -> Option<V>
    where
        F: FnMut(Option<&V>) -> Option<V>,
        V: Clone,
    {
        let guard = pin();
        self.compute_in(key, f, &guard).cloned()
    }

    /// Removes every entry for which `keep(&k, &v)` is false. Each removal is
    /// atomic on its own; entries inserted during the walk may or may not be
    /// visited. Returns how many were removed.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
    /// assert_eq!(map.retain(|_, v| v % 2 == 0), 5);
    /// assert_eq!(map.len(), 5);
    /// ```
    pub fn retain<F>(&self, mut keep: F) -> usize
    where
        F: FnMut(&K, &V) -> bool,
    {
        let guard = pin();
        self.raw.retain(|e| keep(&e.key, &e.value), &guard)
    }

    /// Removes every entry present when the walk reaches it. Not atomic as a
    /// whole: concurrent inserts may survive.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, u32> = (0..10).map(|i| (i, i)).collect();
    /// map.clear();
    /// assert!(map.is_empty());
    /// ```
    pub fn clear(&self) {
        self.retain(|_, _| false);
    }

    /// Grows the directory so that `additional` more entries fit without
    /// further growth, and keeps automatic shrinking from going below that.
    ///
    /// # Panics
    /// If that needs more than 2^40 buckets ("capacity overflow").
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, u32> = splitmap::SplitMap::new();
    /// map.reserve(10_000);
    /// assert!(map.capacity() >= 10_000);
    /// ```
    pub fn reserve(&self, additional: usize) {
        self.raw.reserve(additional);
    }

    /// Runs the compaction walk now: one lock-free pass that unlinks
    /// deleted entries still linked, advances a pending directory shrink,
    /// and starts one if the map is under a quarter of its capacity. Memory
    /// also comes back without calling this (writes do bounded pieces of
    /// the same work); call it to hurry.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u64, u64> = (0..1000).map(|i| (i, i)).collect();
    /// map.clear();
    /// map.compact();
    /// assert_eq!(map.stats().compactions, 1);
    /// ```
    pub fn compact(&self) {
        let guard = pin();
        let _ = self.raw.compact(&guard);
    }

    /// Compacts and shrinks the directory as far as the contents allow,
    /// dropping any floor set by `with_capacity`/`reserve`. Pushes the epoch
    /// along to finish the shrink, but never waits on another thread: if one
    /// stays pinned, the shrink stays pending and later writes finish it.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u64, u64> = (0..10_000).map(|i| (i, i)).collect();
    /// let big = map.stats().directory_bytes;
    /// map.clear();
    /// map.shrink_to_fit();
    /// assert!(map.stats().directory_bytes < big);
    /// ```
    pub fn shrink_to_fit(&self) {
        self.raw.shrink_to_fit();
    }

    /// Pushes reclamation along: pins and flushes this thread's deferred
    /// frees until the count of removed-but-not-yet-freed nodes stops
    /// falling (bounded), and helps a pending shrink. Returns that count.
    /// Nodes retired by other threads that are not pinning any more may
    /// stay queued until those threads run again or exit.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u64, u64> = (0..1000).map(|i| (i, i)).collect();
    /// map.clear();
    /// map.reclaim();
    /// assert_eq!(map.len(), 0);
    /// ```
    pub fn reclaim(&self) -> usize {
        self.raw.reclaim()
    }
}

impl<K, V, S> SplitMap<K, V, S> {
    /// Counters describing contents, memory and history; O(1).
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1u8, 1u8);
    /// map.remove(&1);
    /// let s = map.stats();
    /// assert_eq!((s.len, s.inserts, s.removes), (0, 1, 1));
    /// ```
    pub fn stats(&self) -> MapStats {
        self.raw.raw_stats().into()
    }
}

#[cfg(loom)]
impl<K, V, S> SplitMap<K, V, S> {
    /// Model-checking hook, compiled only under `cfg(loom)`: marks the
    /// pending directory shrink's grace period as elapsed without waiting
    /// for the epoch. Sound only when no operation that read the bucket
    /// count before the shrink was published is still running (see
    /// `loom-tests/tests/shrink.rs`). Returns false if no shrink is pending.
    #[doc(hidden)]
    pub fn loom_end_shrink_grace(&self) -> bool {
        self.raw.loom_end_shrink_grace()
    }
}

impl<K, V, S> SplitMap<K, V, S>
where
    K: Eq,
{
    /// Takes every entry out of the map, exclusively.
    fn drain_exclusive(&mut self) -> Vec<(K, V)> {
        self.raw
            .take_all()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()
    }
}

impl<K, V> Default for SplitMap<K, V, RandomState> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, V, S> fmt::Debug for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static + fmt::Debug,
    V: Send + Sync + 'static + fmt::Debug,
    S: BuildHasher,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_map().entries(snapshot.iter()).finish()
    }
}

impl<K, V, S> Clone for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static + Clone,
    V: Send + Sync + 'static + Clone,
    S: BuildHasher + Clone,
{
    /// Copies the entries of a snapshot walk into a new map.
    fn clone(&self) -> Self {
        let new = SplitMap::with_capacity_and_hasher(self.len(), self.hasher.clone());
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
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static + PartialEq,
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
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static + Eq,
    S: BuildHasher,
{
}

impl<K, V, S> FromIterator<(K, V)> for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Default,
{
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let map = SplitMap::with_capacity_and_hasher(iter.size_hint().0, S::default());
        (&map).extend(iter);
        map
    }
}

impl<K, V, S> Extend<(K, V)> for &SplitMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
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
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher,
{
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        (&*self).extend(iter);
    }
}

impl<K, V, const N: usize> From<[(K, V); N]> for SplitMap<K, V, RandomState>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
{
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl<K, V, S> From<std::collections::HashMap<K, V, S>> for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Clone,
{
    /// Moves the entries over, keeping the `HashMap`'s hasher.
    fn from(map: std::collections::HashMap<K, V, S>) -> Self {
        let new = SplitMap::with_capacity_and_hasher(map.len(), map.hasher().clone());
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
        IntoIter {
            entries: self.drain_exclusive().into_iter(),
        }
    }
}

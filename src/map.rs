//! `SplitMap`: the safe, std-like, guard-free API.
//!
//! Every method pins the epoch at most once and forwards to the operations
//! core (`ops/`); this file adds the hashing, the choice of probe and the
//! shape of the result: a clone (`get`), a closure's result (`get_with`), or
//! a [`Guarded`] reference that carries its own pin (`insert`, `remove`,
//! ...), so values need not be `Clone`. It never touches a raw pointer except
//! to hand a reference to `Guarded`. Conversions and std traits are in
//! `map_traits.rs`.
//!
//! Why over 600 lines: about 400 of them are the docs and examples of the
//! public methods (one doctest each); the code is ~320 lines of forwarding.

use crate::entry::{BorrowedKey, MapEntry, StrongKey};
use crate::guarded::Guarded;
use crate::occupied::OccupiedError;
use crate::ops::Core;
use crate::pinned::MapRef;
use crate::snapshot::{ClonedIter, Snapshot};
use crate::stats::MapStats;
use crate::sync::{pin, Guard};
use core::borrow::Borrow;
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
/// assert_eq!(map.remove("apple").as_deref(), Some(&3));
/// assert!(map.is_empty());
/// ```
pub struct SplitMap<K, V, S = RandomState> {
    pub(crate) core: Core<MapEntry<K, V>, S>,
}

// `SplitMap` is `Send`/`Sync` by the auto traits of its fields: the raw map
// owns `Node<MapEntry<K, V>>`s (`PhantomData<Box<..>>`), so it is `Send` when
// `K, V: Send` and `Sync` when `K, V: Sync`. Every method that can hand an
// entry to another thread to drop (a removal or replacement: the epoch runs
// the deferred destructor on whichever thread collects it) additionally
// requires `K, V: Send + 'static`.

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
        SplitMap {
            core: Core::with_hasher(hasher),
        }
    }

    /// Creates an empty map for `capacity` entries using `hasher`; automatic
    /// shrinking never goes below `capacity`.
    ///
    /// # Panics
    /// If `capacity` needs more than 2^40 buckets ("capacity overflow").
    ///
    /// # Examples
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let map: splitmap::SplitMap<u64, u64> =
    ///     splitmap::SplitMap::with_capacity_and_hasher(64, RandomState::new());
    /// assert!(map.capacity() >= 64);
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        SplitMap {
            core: Core::with_capacity(capacity, hasher),
        }
    }

    /// A map sized for `capacity` entries that may still shrink below it
    /// (bulk builds: `collect`, `From`, `clone`, deserialize).
    pub(crate) fn for_bulk_build(capacity: usize, hasher: S) -> Self {
        SplitMap {
            core: Core::for_bulk_build(capacity, hasher),
        }
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
            core: Core::with_layout(min_buckets_log2, load_factor, hasher),
        }
    }

    /// The number of entries. Exact when no write is in flight. Under
    /// concurrent writes it is approximate: it sums per-thread counters one
    /// after another, so it may be off by the number of writes that ran
    /// during the call (many, if this thread is preempted midway). O(number
    /// of counter stripes), never a walk.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1, 1);
    /// assert_eq!(map.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.core.len()
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
        self.core.capacity()
    }

    /// The map's hasher.
    ///
    /// # Examples
    /// ```
    /// use std::hash::BuildHasher;
    /// let map: splitmap::SplitMap<u8, u8> = splitmap::SplitMap::new();
    /// let h = map.hasher();
    /// assert_eq!(h.hash_one(7u8), h.hash_one(7u8)); // the map's own placement
    /// ```
    pub fn hasher(&self) -> &S {
        self.core.hasher()
    }

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
        self.core.figures().into()
    }
}

impl<K, V, S> SplitMap<K, V, S> {
    /// The operations core (for the parallel walks, `rayon_impl.rs`).
    #[cfg(feature = "rayon")]
    pub(crate) fn core(&self) -> &Core<MapEntry<K, V>, S> {
        &self.core
    }
}

/// Handles and walks: no bound beyond what finding a key needs (iteration
/// never writes).
impl<K, V, S> SplitMap<K, V, S>
where
    K: Hash + Eq,
    S: BuildHasher,
{
    /// Pins the epoch once and returns a handle whose operations return
    /// references into the map (no cloning) valid while the handle lives.
    /// The fast path for loops: one pin for many operations.
    ///
    /// Holding a `MapRef` for long delays reclamation of removed entries
    /// (map-wide), so keep it to a batch of work. It is not `Send`: see the
    /// crate docs on async code.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// let m = map.pin();
    /// m.insert(1, "one".to_string());
    /// assert_eq!(m.get(&1).map(String::as_str), Some("one"));
    /// ```
    #[doc(alias = "guard")]
    #[doc(alias = "lock")]
    pub fn pin(&self) -> MapRef<'_, K, V, S> {
        MapRef::new(&self.core, pin())
    }

    /// A live walk over the map for iteration; see [`Snapshot`] (it is not
    /// a frozen copy: entries written during the walk may or may not
    /// appear).
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1, 10);
    /// map.insert(2, 20);
    /// let mut sum = 0;
    /// for (_k, v) in &map.snapshot() {
    ///     sum += v;
    /// }
    /// assert_eq!(sum, 30);
    /// ```
    #[doc(alias = "keys")]
    #[doc(alias = "values")]
    #[doc(alias = "read")]
    pub fn snapshot(&self) -> Snapshot<'_, K, V, S> {
        Snapshot::new(&self.core, pin())
    }

    /// Iterates clones of the entries, pinning the epoch for the
    /// iterator's life (the same live walk as a [`snapshot`](Self::snapshot):
    /// entries written during it may or may not appear, none twice). For
    /// references instead of clones, iterate a snapshot or a
    /// [`pin`](Self::pin)ned handle: `for (k, v) in &map.snapshot()`.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u32, u32> = (0..4).map(|i| (i, i * 10)).collect();
    /// let mut pairs: Vec<(u32, u32)> = map.iter().collect();
    /// pairs.sort();
    /// assert_eq!(pairs, [(0, 0), (1, 10), (2, 20), (3, 30)]);
    /// ```
    pub fn iter(&self) -> ClonedIter<'_, K, V>
    where
        K: Clone,
        V: Clone,
    {
        ClonedIter::new(self.core.pinned_walk())
    }
}

/// Lookups: the first lookup to reach a bucket whose sentinel is not
/// linked yet links it, and that search unlinks (and retires) deleted nodes
/// on its way, which the epoch may drop on another thread: so `K` and `V`
/// must be `Send + 'static` here as for writes.
impl<K, V, S> SplitMap<K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    #[inline]
    fn find<'g, Q>(&'g self, key: &Q, guard: &'g Guard) -> Option<&'g MapEntry<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.core.hash(key);
        self.core.get(hash, &mut BorrowedKey(key), guard)
    }

    /// Returns a clone of the value for `key`. For values that are not
    /// `Clone`, use [`get_with`](Self::get_with) or the pinned layer.
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
        self.find(key, &guard).map(|e| e.value.clone())
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
        self.find(key, &guard).map(|e| f(&e.value))
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
        self.find(key, &guard)
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
        self.find(key, &guard).is_some()
    }
}

/// Writes: a removed or replaced entry is dropped later, by whichever thread
/// runs the epoch's deferred destructor, so keys and values must be `Send +
/// 'static`.
impl<K, V, S> SplitMap<K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    /// Inserts `key -> value`; returns the value it replaced, readable
    /// through the returned [`Guarded`] (no clone; `V` need not be `Clone`).
    /// Replacing also replaces the stored key, as `HashMap::insert` keeps
    /// neither the old key nor the old value in the map.
    ///
    /// The replaced value is dropped after an epoch grace period, not at
    /// once (see the crate docs, "Memory").
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// assert!(map.insert(1, "a").is_none());
    /// assert_eq!(map.insert(1, "b").as_deref(), Some(&"a"));
    /// assert_eq!(map.get(&1), Some("b"));
    /// ```
    pub fn insert(&self, key: K, value: V) -> Option<Guarded<'_, V>> {
        let hash = self.core.hash(&key);
        Guarded::pin(&self.core, |core, guard| {
            core.insert(hash, &mut StrongKey::new(key), value, guard)
        })
    }

    /// Inserts `key -> value` only if `key` is absent: returns the inserted
    /// value, or an [`OccupiedError`] with the current value and the value
    /// handed back.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// assert_eq!(*map.try_insert(1, 'a').unwrap(), 'a');
    /// let err = map.try_insert(1, 'b').unwrap_err();
    /// assert_eq!((*err.current, err.value), ('a', 'b'));
    /// ```
    pub fn try_insert(
        &self,
        key: K,
        value: V,
    ) -> Result<Guarded<'_, V>, OccupiedError<Guarded<'_, V>, V>> {
        let hash = self.core.hash(&key);
        let stored = Guarded::pin_with(&self.core, |core, guard| {
            match core.try_insert(hash, &mut StrongKey::new(key), value, guard) {
                Ok(inserted) => Some((inserted, None)),
                Err((current, value)) => Some((current, Some(value))),
            }
        });
        match stored {
            Some((inserted, None)) => Ok(inserted),
            Some((current, Some(value))) => Err(OccupiedError { current, value }),
            None => unreachable!("try_insert returns an entry either way"),
        }
    }

    /// Removes `key`; returns its value through a [`Guarded`] (no clone).
    ///
    /// The value is dropped after an epoch grace period, not by `remove`: a
    /// value that owns a resource (a channel sender, a file) keeps it open
    /// until then. To release it at once, take it out of the value (for
    /// instance store `Mutex<Option<T>>` and `take()` it from the returned
    /// reference), or call [`reclaim`](Self::reclaim). See the crate docs,
    /// "Recipes".
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert(1, 5);
    /// assert_eq!(map.remove(&1).as_deref(), Some(&5));
    /// assert!(map.remove(&1).is_none());
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<Guarded<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_if(key, |_, _| true)
    }

    /// Removes `key` if `pred(&key, &value)` holds (atomically: no write to
    /// the key can come between the test and the removal); returns the
    /// removed value.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert("job", 3);
    /// assert!(map.remove_if("job", |_, left| *left == 0).is_none());
    /// map.insert("job", 0);
    /// assert_eq!(map.remove_if("job", |_, left| *left == 0).as_deref(), Some(&0));
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
        let hash = self.core.hash(key);
        Guarded::pin(&self.core, |core, guard| {
            core.remove_if(
                hash,
                &mut BorrowedKey(key),
                |e| pred(&e.key, &e.value),
                guard,
            )
        })
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
        let hash = self.core.hash(key);
        let guard = pin();
        self.core
            .remove_if(hash, &mut BorrowedKey(key), |_| true, &guard)
            .map(|e| (e.key.clone(), e.value.clone()))
    }

    /// Replaces the value of an existing `key` with `f(&old)`; returns the
    /// new value, or `None` (and does nothing) if absent.
    ///
    /// `f` may run more than once if the value changes concurrently; only
    /// the result of its last run is stored. Concurrent updates of one key
    /// never lose each other's effect. Needs `K: Clone`: the new value goes
    /// into a new node, which carries its own copy of the key (use
    /// [`update_or_insert`](Self::update_or_insert) or
    /// [`compute`](Self::compute), which take the key by value, otherwise).
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// map.insert("hits", 1);
    /// assert_eq!(map.update("hits", |v| v + 1).as_deref(), Some(&2));
    /// assert!(map.update("misses", |v| v + 1).is_none());
    /// ```
    pub fn update<Q, F>(&self, key: &Q, f: F) -> Option<Guarded<'_, V>>
    where
        K: Borrow<Q> + Clone,
        Q: Hash + Eq + ?Sized,
        F: FnMut(&V) -> V,
    {
        let hash = self.core.hash(key);
        Guarded::pin(&self.core, |core, guard| {
            core.update(hash, &mut BorrowedKey(key), f, guard)
        })
    }

    /// Stores `f(&old)` if `key` is present, else `value`; returns the value
    /// stored. `f` may run more than once under contention (only its last
    /// result is stored). The stored key becomes `key`, as with `insert`.
    ///
    /// # Examples
    /// ```
    /// let hits = splitmap::SplitMap::new();
    /// for page in ["/", "/about", "/"] {
    ///     hits.update_or_insert(page, |n| n + 1, 1);
    /// }
    /// assert_eq!(hits.get("/"), Some(2));
    /// ```
    pub fn update_or_insert<F>(&self, key: K, f: F, value: V) -> Guarded<'_, V>
    where
        F: FnMut(&V) -> V,
    {
        let hash = self.core.hash(&key);
        Guarded::pin_entry(&self.core, |core, guard| {
            core.update_or_insert(hash, &mut StrongKey::new(key), f, value, guard)
        })
    }

    /// Returns the value for `key`, inserting `f()` first if the key is
    /// absent. `f` runs at most once, and only if the key was absent when
    /// looked at (its value is dropped if another thread inserted the key
    /// first). `.clone()` on the result clones the value.
    ///
    /// # Examples
    /// ```
    /// let map = splitmap::SplitMap::new();
    /// assert_eq!(*map.get_or_insert_with(1, || 10), 10);
    /// assert_eq!(*map.get_or_insert_with(1, || 20), 10);
    /// let owned: i32 = map.get_or_insert_with(1, || 30).clone();
    /// assert_eq!(owned, 10);
    /// ```
    pub fn get_or_insert_with<F>(&self, key: K, f: F) -> Guarded<'_, V>
    where
        F: FnOnce() -> V,
    {
        let hash = self.core.hash(&key);
        Guarded::pin_entry(&self.core, |core, guard| {
            core.get_or_insert_with(hash, &mut StrongKey::new(key), f, guard)
        })
    }

    /// Computes the entry for `key` from its current value: `f(None)` if
    /// absent, `f(Some(&v))` if present. `Some(new)` stores `new`, `None`
    /// removes the key (or leaves it absent). Returns the value stored
    /// afterwards. Atomic for this key.
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
    /// assert!(map.compute("b", |n| n.copied().filter(|&n| n > 1)).is_none());
    /// assert!(!map.contains_key("b"));
    /// ```
    pub fn compute<F>(&self, key: K, f: F) -> Option<Guarded<'_, V>>
    where
        F: FnMut(Option<&V>) -> Option<V>,
    {
        let hash = self.core.hash(&key);
        Guarded::pin(&self.core, |core, guard| {
            core.compute(hash, &mut StrongKey::new(key), f, guard)
        })
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
        self.core.retain(|e| keep(&e.key, &e.value), &guard)
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
        self.core.reserve(additional);
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
        self.core.compact();
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
        self.core.shrink_to_fit();
    }

    /// Pushes reclamation along: pins and flushes this thread's deferred
    /// frees until the count of removed-but-not-yet-freed nodes stops
    /// falling (bounded), and helps a pending shrink. Returns that count:
    /// 0 when everything this map removed has been freed. Nodes retired by
    /// other threads that are not pinning any more may stay queued until
    /// those threads run again or exit.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::SplitMap<u64, u64> = (0..1000).map(|i| (i, i)).collect();
    /// map.clear();
    /// let left = map.reclaim();
    /// assert_eq!(left, map.stats().retired_awaiting);
    /// assert_eq!(left, 0); // this thread retired them all, and nobody is pinned
    /// ```
    pub fn reclaim(&self) -> usize {
        self.core.reclaim()
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
        self.core.loom_end_shrink_grace()
    }
}

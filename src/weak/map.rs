//! What every weak map shares whatever its key mode: constructors, the O(1)
//! figures, the writes that take an owned `Arc<K>` (hashed and compared by
//! the mode), the walks (`retain`, `snapshot`, `weak_stats`, purging) and the
//! std traits. Forwards to the operations core; no algorithm of its own.
//!
//! Why over 600 lines: about 320 of them are the public methods' docs and
//! examples; one file keeps the weak map's whole public surface together.

use super::entry::WeakProbe;
use super::entry::{arc_allocation_bytes, WeakEntry, WeakOwnedKey};
use super::mode::KeyMode;
use super::snapshot::WeakSnapshot;
use super::{WeakMap, WeakStats};
use crate::guarded::Guarded;
use crate::occupied::OccupiedError;
use crate::ops::Core;
use crate::stats::MapStats;
use crate::sync::pin;
use core::fmt;
use core::hash::BuildHasher;
use core::marker::PhantomData;
use std::collections::hash_map::RandomState;
use std::sync::Arc;

impl<K, V, M> WeakMap<K, V, RandomState, M> {
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

    /// Creates an empty map that holds `capacity` entries before growing;
    /// automatic shrinking never goes below this.
    ///
    /// # Panics
    /// If `capacity` needs more than 2^40 buckets ("capacity overflow").
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

impl<K, V, S, M> WeakMap<K, V, S, M> {
    fn from_core(core: Core<WeakEntry<K, V>, S>) -> Self {
        WeakMap {
            core,
            _mode: PhantomData,
        }
    }

    pub(super) fn core(&self) -> &Core<WeakEntry<K, V>, S> {
        &self.core
    }

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
        Self::from_core(Core::with_hasher(hasher))
    }

    /// Creates an empty map for `capacity` entries using `hasher`.
    ///
    /// # Panics
    /// If `capacity` needs more than 2^40 buckets ("capacity overflow").
    ///
    /// # Examples
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let map: splitmap::WeakIdentityMap<u64, u64> =
    ///     splitmap::WeakIdentityMap::with_capacity_and_hasher(64, RandomState::new());
    /// assert!(map.capacity() >= 64);
    /// ```
    pub fn with_capacity_and_hasher(capacity: usize, hasher: S) -> Self {
        Self::from_core(Core::with_capacity(capacity, hasher))
    }

    /// Test constructor: `1 << min_buckets_log2` initial buckets and
    /// `load_factor` entries per bucket. Not part of the stable API.
    ///
    /// # Panics
    /// If `load_factor` is 0.
    #[doc(hidden)]
    pub fn with_layout(min_buckets_log2: u32, load_factor: usize, hasher: S) -> Self {
        Self::from_core(Core::with_layout(min_buckets_log2, load_factor, hasher))
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
        self.core.len()
    }

    /// Entries the current directory holds before it next doubles.
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::WeakKeyMap<u8, u8> = splitmap::WeakKeyMap::with_capacity(100);
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
    /// let map: splitmap::WeakKeyMap<u8, u8> = splitmap::WeakKeyMap::new();
    /// let h = map.hasher();
    /// assert_eq!(h.hash_one(3u8), h.hash_one(3u8));
    /// ```
    pub fn hasher(&self) -> &S {
        self.core.hasher()
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
        self.core.figures().into()
    }
}

/// Walks and whole-map writes: the same for every mode.
impl<K, V, S, M> WeakMap<K, V, S, M>
where
    K: Send + Sync + 'static,
    V: Send + 'static,
    M: KeyMode<K>,
{
    /// A live walk over the live entries, yielding `(Arc<K>, &V)`; see
    /// [`WeakSnapshot`].
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
    pub fn snapshot(&self) -> WeakSnapshot<'_, K, V, S, M> {
        WeakSnapshot::new(&self.core, pin())
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
        let (mut live, mut dead) = (0, 0);
        for (_, e) in self.core.iter(&guard) {
            if e.key.strong_count() == 0 {
                dead += 1;
            } else {
                live += 1;
            }
        }
        WeakStats {
            stats: self.core.figures().into(),
            live,
            dead,
            dead_node_bytes: dead * Core::<WeakEntry<K, V>, S>::NODE_BYTES,
            dead_key_bytes: dead * arc_allocation_bytes::<K>(),
        }
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
    pub fn retain<F>(&self, mut keep: F) -> usize
    where
        F: FnMut(&K, &V) -> bool,
    {
        let guard = pin();
        retain_live(&self.core, &mut keep, &guard)
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

    /// Walks the whole list and purges (marks and unlinks) every dead entry;
    /// returns how many this walk purged. Also runs the rest of the
    /// compaction walk (see [`SplitMap::compact`](crate::SplitMap::compact)):
    /// a purge is a removal like any other, so a map it leaves nearly empty
    /// starts shrinking its directory. Purged nodes are freed after an epoch
    /// grace period ([`reclaim`](Self::reclaim) hurries it). Lock-free:
    /// other operations proceed meanwhile.
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
        self.core.compact()
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
    /// assert!(map.capacity() < 100);
    /// ```
    pub fn shrink_to_fit(&self) {
        self.core.shrink_to_fit();
    }

    /// Grows the directory so that `additional` more entries fit without
    /// further growth; see [`SplitMap::reserve`](crate::SplitMap::reserve).
    ///
    /// # Examples
    /// ```
    /// let map: splitmap::WeakIdentityMap<u32, u32> = splitmap::WeakIdentityMap::new();
    /// map.reserve(10_000);
    /// assert!(map.capacity() >= 10_000);
    /// ```
    pub fn reserve(&self, additional: usize) {
        self.core.reserve(additional);
    }

    /// Pushes reclamation along, as [`SplitMap::reclaim`](crate::SplitMap::reclaim);
    /// returns the count of removed nodes not yet freed.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// map.insert(Arc::new(1), ()); // dead at once
    /// map.purge_dead();
    /// assert_eq!(map.reclaim(), 0); // the purged node is freed
    /// assert_eq!(map.stats().retired_awaiting, 0);
    /// ```
    pub fn reclaim(&self) -> usize {
        self.core.reclaim()
    }
}

/// Writes that take an owned `Arc<K>`: hashed and compared by the mode.
impl<K, V, S, M> WeakMap<K, V, S, M>
where
    K: Send + Sync + 'static,
    V: Send + 'static,
    S: BuildHasher,
    M: KeyMode<K>,
{
    #[inline]
    pub(super) fn hash_owned(&self, key: &Arc<K>) -> u64 {
        M::hash_key(self.core.hasher(), key)
    }

    /// Inserts `key -> value`; returns the value it replaced (the value of a
    /// live key matching `key` in this mode), readable through a
    /// [`Guarded`]. Replacing also replaces the stored key: the entry now
    /// dies with `key`, not with the old `Arc`.
    ///
    /// The map keeps only a `Weak` of `key`: keep an `Arc` of it yourself,
    /// or the entry is dead as soon as this returns.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new("k".to_string());
    /// assert!(map.insert(Arc::clone(&k), 1).is_none());
    /// assert_eq!(map.insert(Arc::clone(&k), 2).as_deref(), Some(&1));
    /// ```
    pub fn insert(&self, key: Arc<K>, value: V) -> Option<Guarded<'_, V>> {
        let hash = self.hash_owned(&key);
        Guarded::pin(&self.core, |core, guard| {
            let mut owned = WeakOwnedKey::new(&key, M::owned_probe(&key));
            let old = core.insert(hash, &mut owned, value, guard);
            drop(owned); // upgraded keys die (if they must) only now
            old
        })
    }

    /// Inserts only if no live key matching `key` is present; see
    /// [`SplitMap::try_insert`](crate::SplitMap::try_insert).
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let k = Arc::new(());
    /// assert!(map.try_insert(Arc::clone(&k), 1).is_ok());
    /// assert_eq!(map.try_insert(Arc::clone(&k), 2).unwrap_err().value, 2);
    /// ```
    pub fn try_insert(
        &self,
        key: Arc<K>,
        value: V,
    ) -> Result<Guarded<'_, V>, OccupiedError<Guarded<'_, V>, V>> {
        let hash = self.hash_owned(&key);
        let stored = Guarded::pin_with(&self.core, |core, guard| {
            let mut owned = WeakOwnedKey::new(&key, M::owned_probe(&key));
            let result = core.try_insert(hash, &mut owned, value, guard);
            drop(owned);
            match result {
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

    /// Returns the value for a live key matching `key`, first inserting
    /// `key -> f()` if there is none. `f` runs at most once, and only if the
    /// key was absent when looked at. An existing entry keeps its stored
    /// key.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let k = Arc::new(7);
    /// assert_eq!(*map.get_or_insert_with(Arc::clone(&k), || 10), 10);
    /// assert_eq!(*map.get_or_insert_with(Arc::clone(&k), || 20), 10);
    /// ```
    pub fn get_or_insert_with<F>(&self, key: Arc<K>, f: F) -> Guarded<'_, V>
    where
        F: FnOnce() -> V,
    {
        let hash = self.hash_owned(&key);
        Guarded::pin_entry(&self.core, |core, guard| {
            let mut owned = WeakOwnedKey::new(&key, M::owned_probe(&key));
            let stored = core.get_or_insert_with(hash, &mut owned, f, guard);
            drop(owned);
            stored
        })
    }

    /// Stores `f(&old)` if a live key matching `key` is present, else
    /// `value`; returns the value stored. The stored key becomes `key`, as
    /// with `insert`. `f` may run more than once.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakIdentityMap::new();
    /// let conn = Arc::new("conn");
    /// map.update_or_insert(Arc::clone(&conn), |n| n + 1, 1);
    /// map.update_or_insert(Arc::clone(&conn), |n| n + 1, 1);
    /// assert_eq!(map.get(&conn), Some(2));
    /// ```
    pub fn update_or_insert<F>(&self, key: Arc<K>, f: F, value: V) -> Guarded<'_, V>
    where
        F: FnMut(&V) -> V,
    {
        let hash = self.hash_owned(&key);
        Guarded::pin_entry(&self.core, |core, guard| {
            let mut owned = WeakOwnedKey::new(&key, M::owned_probe(&key));
            let stored = core.update_or_insert(hash, &mut owned, f, value, guard);
            drop(owned);
            stored
        })
    }

    /// Computes the entry for `key` from its current value (`None` if
    /// absent or dead); `Some(new)` stores `new` (with `key` as the stored
    /// key), `None` removes. Returns the value stored afterwards. `f` may
    /// run more than once.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// let map = splitmap::WeakKeyMap::new();
    /// let word = Arc::new("a".to_string());
    /// for _ in 0..3 {
    ///     map.compute(Arc::clone(&word), |n| Some(n.copied().unwrap_or(0) + 1));
    /// }
    /// assert_eq!(map.get("a"), Some(3));
    /// assert!(map.compute(Arc::clone(&word), |_| None).is_none());
    /// assert!(!map.contains_key("a"));
    /// ```
    pub fn compute<F>(&self, key: Arc<K>, f: F) -> Option<Guarded<'_, V>>
    where
        F: FnMut(Option<&V>) -> Option<V>,
    {
        let hash = self.hash_owned(&key);
        Guarded::pin(&self.core, |core, guard| {
            let mut owned = WeakOwnedKey::new(&key, M::owned_probe(&key));
            let stored = core.compute(hash, &mut owned, f, guard);
            drop(owned);
            stored
        })
    }
}

/// Any default-constructible hasher, as std's `HashMap` allows.
impl<K, V, S: Default, M> Default for WeakMap<K, V, S, M> {
    fn default() -> Self {
        Self::with_hasher(S::default())
    }
}

impl<K, V, S, M> fmt::Debug for WeakMap<K, V, S, M>
where
    K: Send + Sync + 'static + fmt::Debug,
    V: Send + 'static + fmt::Debug,
    M: KeyMode<K>,
{
    /// The live entries of one snapshot walk.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_map().entries(snapshot.iter()).finish()
    }
}

impl<K, V, S, M> FromIterator<(Arc<K>, V)> for WeakMap<K, V, S, M>
where
    K: Send + Sync + 'static,
    V: Send + 'static,
    S: BuildHasher + Default,
    M: KeyMode<K>,
{
    /// Sized for the iterator's lower size bound, without a shrink floor.
    /// Each key lives only as long as an `Arc` of it is held elsewhere.
    fn from_iter<I: IntoIterator<Item = (Arc<K>, V)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let map = Self::from_core(Core::for_bulk_build(iter.size_hint().0, S::default()));
        (&map).extend(iter);
        map
    }
}

impl<K, V, S, M> Extend<(Arc<K>, V)> for &WeakMap<K, V, S, M>
where
    K: Send + Sync + 'static,
    V: Send + 'static,
    S: BuildHasher,
    M: KeyMode<K>,
{
    fn extend<I: IntoIterator<Item = (Arc<K>, V)>>(&mut self, iter: I) {
        let m = self.pin();
        for (k, v) in iter {
            m.insert(k, v);
        }
    }
}

impl<K, V, S, M> Extend<(Arc<K>, V)> for WeakMap<K, V, S, M>
where
    K: Send + Sync + 'static,
    V: Send + 'static,
    S: BuildHasher,
    M: KeyMode<K>,
{
    fn extend<I: IntoIterator<Item = (Arc<K>, V)>>(&mut self, iter: I) {
        (&*self).extend(iter);
    }
}

/// The borrowed-key operations, once for every mode: the mode files
/// (`by_value.rs`, `by_identity.rs`) only hash the key and build the probe.
/// Each drops the probe (and so any key it upgraded) after it is done with
/// the entry.
impl<K, V, S, M> WeakMap<K, V, S, M>
where
    K: Send + Sync + 'static,
    V: Send + 'static,
{
    pub(super) fn get_with_probe<R>(
        &self,
        hash: u64,
        mut probe: impl WeakProbe<K>,
        f: impl FnOnce(&V) -> R,
    ) -> Option<R> {
        let guard = pin();
        let result = self.core.get(hash, &mut probe, &guard).map(|e| f(&e.value));
        drop(probe);
        result
    }

    pub(super) fn remove_with_probe(
        &self,
        hash: u64,
        mut probe: impl WeakProbe<K>,
        mut pred: impl FnMut(&WeakEntry<K, V>) -> bool,
    ) -> Option<Guarded<'_, V>> {
        Guarded::pin(&self.core, |core, guard| {
            let removed = core.remove_if(hash, &mut probe, &mut pred, guard);
            drop(probe);
            removed
        })
    }

    pub(super) fn remove_entry_with_probe(
        &self,
        hash: u64,
        mut probe: impl WeakProbe<K>,
    ) -> Option<(Arc<K>, Guarded<'_, V>)> {
        let (value, key) = Guarded::pin_with(&self.core, |core, guard| {
            let removed = core
                .remove_if(hash, &mut probe, |e| e.key.strong_count() > 0, guard)
                .and_then(|e| Some((e, e.key.upgrade()?)));
            drop(probe);
            removed
        })?;
        Some((key, value))
    }

    pub(super) fn update_with_probe(
        &self,
        hash: u64,
        mut probe: impl WeakProbe<K>,
        f: impl FnMut(&V) -> V,
    ) -> Option<Guarded<'_, V>> {
        Guarded::pin(&self.core, |core, guard| {
            let new = core.update(hash, &mut probe, f, guard);
            drop(probe);
            new
        })
    }
}

/// `pred` on a live entry (its key upgraded for the call); a key that died
/// since the lookup matched it is not removed.
pub(super) fn live_pred<K, V>(e: &WeakEntry<K, V>, pred: &mut impl FnMut(&K, &V) -> bool) -> bool {
    match e.key.upgrade() {
        Some(k) => pred(&k, &e.value),
        None => false,
    }
}

/// `retain` over live entries: dead ones are removed, live ones are kept if
/// `keep` says so. Each upgraded key is held until `keep` has been asked
/// about the next entry, so a key whose last `Arc` we hold dies after we are
/// done with its entry, never inside the removal of it.
pub(super) fn retain_live<K, V, S>(
    core: &Core<WeakEntry<K, V>, S>,
    keep: &mut impl FnMut(&K, &V) -> bool,
    guard: &crate::sync::Guard,
) -> usize
where
    K: Send + Sync + 'static,
    V: Send + 'static,
{
    let mut held: Option<Arc<K>> = None;
    let removed = core.retain(
        |e| match e.key.upgrade() {
            None => false,
            Some(k) => {
                let kept = keep(&k, &e.value);
                held = Some(k);
                kept
            }
        },
        guard,
    );
    drop(held);
    removed
}

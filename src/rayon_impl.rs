//! rayon support (feature `rayon`): parallel walks over a `SplitMap` and
//! parallel bulk inserts.
//!
//! A walk is split into `shares` (a power of two) by the top bits of the
//! split-order key, so each share is one stretch of the list, and each
//! rayon task walks its share under a pin of its own thread (an epoch pin
//! belongs to its thread, so the caller's cannot serve). Because a task's
//! pin ends with its share, what a parallel walk hands out must not borrow
//! the map: [`SplitMap::par_iter`] yields clones, and
//! [`Snapshot::par_for_each`] lends references to a closure for the length
//! of the call. The shares together have the guarantees of one walk (no
//! key twice, every key present for the whole walk).
//!
//! This module only orchestrates: the share walks are `snapshot.rs`'s.
//! It must never reach into the core.

use crate::map::SplitMap;
use crate::snapshot::{for_each_in_share, ClonedIter, Snapshot};
use core::hash::{BuildHasher, Hash};
use rayon::iter::{FromParallelIterator, IntoParallelIterator, ParallelExtend, ParallelIterator};

/// How many shares a parallel walk is cut into: four per rayon thread, a
/// power of two (at most 4,096).
fn shares() -> usize {
    (rayon::current_num_threads() * 4)
        .next_power_of_two()
        .min(1 << 12)
}

impl<K, V, S> SplitMap<K, V, S>
where
    K: Hash + Eq + Clone + Send + Sync,
    V: Clone + Send + Sync,
    S: BuildHasher + Sync,
{
    /// A parallel iterator over clones of the entries (feature `rayon`),
    /// the parallel [`iter`](SplitMap::iter): each rayon task walks a
    /// share of the map under its own pin.
    ///
    /// # Examples
    /// ```
    /// use rayon::prelude::*;
    /// let map: splitmap::SplitMap<u64, u64> = (0..1000).map(|i| (i, i)).collect();
    /// let sum: u64 = map.par_iter().map(|(_, v)| v).sum();
    /// assert_eq!(sum, 999 * 1000 / 2);
    /// ```
    pub fn par_iter(&self) -> impl ParallelIterator<Item = (K, V)> + '_ {
        let core = self.core();
        let shares = shares();
        (0..shares)
            .into_par_iter()
            .flat_map_iter(move |share| ClonedIter::share(core, share, shares))
    }
}

impl<K, V, S> Snapshot<'_, K, V, S>
where
    K: Hash + Eq + Send + Sync,
    V: Send + Sync,
    S: BuildHasher + Sync,
{
    /// Calls `f` on every entry, in parallel (feature `rayon`): a snapshot
    /// walk cut into shares, each walked by a rayon task under its own pin.
    /// The references `f` gets are valid for the call only (a task's pin
    /// ends with its share); clone what you keep, or use
    /// [`SplitMap::par_iter`].
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let map: splitmap::SplitMap<u64, u64> = (0..1000).map(|i| (i, 2 * i)).collect();
    /// let total = AtomicU64::new(0);
    /// map.snapshot().par_for_each(|_, v| {
    ///     total.fetch_add(*v, Ordering::Relaxed);
    /// });
    /// assert_eq!(total.into_inner(), 999 * 1000);
    /// ```
    pub fn par_for_each(&self, f: impl Fn(&K, &V) + Sync + Send) {
        let core = self.core();
        let shares = shares();
        (0..shares)
            .into_par_iter()
            .for_each(|share| for_each_in_share(core, share, shares, &f));
    }
}

/// Inserts in parallel (feature `rayon`); a later value for the same key
/// replaces an earlier one, in whatever order the tasks run.
///
/// # Examples
/// ```
/// use rayon::prelude::*;
/// let mut map = splitmap::SplitMap::new();
/// map.par_extend((0..1000u64).into_par_iter().map(|i| (i, i * i)));
/// assert_eq!(map.len(), 1000);
/// assert_eq!(map.get(&30), Some(900));
/// ```
impl<K, V, S> ParallelExtend<(K, V)> for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Sync,
{
    fn par_extend<I: IntoParallelIterator<Item = (K, V)>>(&mut self, iter: I) {
        (&*self).par_extend(iter);
    }
}

/// Inserts in parallel through a shared reference (feature `rayon`).
impl<K, V, S> ParallelExtend<(K, V)> for &SplitMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Sync,
{
    fn par_extend<I: IntoParallelIterator<Item = (K, V)>>(&mut self, iter: I) {
        let map: &SplitMap<K, V, S> = self;
        iter.into_par_iter().for_each(|(k, v)| {
            map.insert(k, v);
        });
    }
}

/// Collects in parallel (feature `rayon`).
///
/// # Examples
/// ```
/// use rayon::prelude::*;
/// let map: splitmap::SplitMap<u64, u64> = (0..100u64).into_par_iter().map(|i| (i, i)).collect();
/// assert_eq!(map.len(), 100);
/// ```
impl<K, V, S> FromParallelIterator<(K, V)> for SplitMap<K, V, S>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Send + Sync + 'static,
    S: BuildHasher + Default + Sync,
{
    fn from_par_iter<I: IntoParallelIterator<Item = (K, V)>>(iter: I) -> Self {
        let map = SplitMap::with_hasher(S::default());
        (&map).par_extend(iter);
        map
    }
}

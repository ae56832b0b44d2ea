//! Iteration over a cache's live entries.
//!
//! The walk is the map's own (`Core::pinned_walk`: the list in split order,
//! each key once, concurrent writes may or may not be seen), filtered by one
//! clock reading taken when the iterator is made: an entry expired at that
//! reading is skipped. Iterating is not reading: no idle time is refreshed,
//! no frequency counted, no hit counted, and nothing is purged.

use super::entry::CacheEntry;
use super::SplitCache;
use crate::ops::PinnedWalk;
use core::fmt;

/// An iterator over the live entries of a [`SplitCache`], yielding clones
/// of each key and value; see [`SplitCache::iter`].
pub struct Iter<'c, K, V> {
    walk: PinnedWalk<'c, CacheEntry<K, V>>,
    now: u64,
    tti: u64,
}

impl<K: Eq + Clone, V: Clone> Iterator for Iter<'_, K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        let (now, tti) = (self.now, self.tti);
        loop {
            let live = self
                .walk
                .next_with(|e| (!e.expired(now, tti)).then(|| (e.key.clone(), e.value.clone())))?;
            if let Some(kv) = live {
                return Some(kv);
            }
        }
    }
}

impl<K, V> fmt::Debug for Iter<'_, K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<K, V, S> SplitCache<K, V, S> {
    /// Clones of the live entries' keys and values, in hash (split) order:
    /// those not expired when the iterator was made. Concurrent writes may
    /// or may not be seen; no key is yielded twice. Not a read: no idle
    /// time refreshed, no hit counted. The iterator holds an epoch pin for
    /// its life (drop it before long waits).
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u32, &str> = splitmap::SplitCache::new(10);
    /// cache.insert(1, "a");
    /// cache.insert(2, "b");
    /// let mut all: Vec<_> = cache.iter().collect();
    /// all.sort();
    /// assert_eq!(all, [(1, "a"), (2, "b")]);
    /// ```
    pub fn iter(&self) -> Iter<'_, K, V>
    where
        K: Eq,
    {
        let ctx = self.core.ctx();
        Iter {
            walk: self.core.pinned_walk(),
            now: ctx.clock.now(),
            tti: ctx.tti,
        }
    }
}

impl<'c, K: Eq + Clone, V: Clone, S> IntoIterator for &'c SplitCache<K, V, S> {
    type Item = (K, V);
    type IntoIter = Iter<'c, K, V>;

    fn into_iter(self) -> Iter<'c, K, V> {
        self.iter()
    }
}

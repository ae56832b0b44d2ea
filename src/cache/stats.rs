//! What a cache has done: hits, misses, insertions and departures by cause,
//! counted per thread stripe (so readers on different threads never write
//! the same cache line), plus the map's own memory figures.

use super::listener::RemovalCause;
use crate::stats::MapStats;
use crate::sync::{
    stripe_count, thread_stripe_hint, AtomicIsize, AtomicU64, CachePadded, Ordering,
};

/// One stripe of event counts. Only ever moved by atomic add.
#[derive(Default)]
struct Stripe {
    hits: AtomicU64,
    misses: AtomicU64,
    insertions: AtomicU64,
    /// Departures, indexed by `cause_index`.
    left: [AtomicU64; 4],
}

/// Striped event counters of one cache, and its one shared count.
pub(crate) struct Counters {
    stripes: Box<[CachePadded<Stripe>]>,
    /// Entries in the cache: +1 after an insert's link CAS, -1 after the
    /// CAS that took an entry out (any cause but `Replaced`). One shared
    /// line, on purpose: the size bound needs a count that is never off by
    /// more than the operations in flight (at most one per thread), and a
    /// sum of per-thread stripes is not (a reader preempted between two
    /// stripes misses every write made meanwhile: 5,700 over a bound of
    /// 200 was seen on 2 cores).
    live: CachePadded<AtomicIsize>,
    /// The weight of the entries in the cache, kept only with a weigher
    /// (the same argument as `live`: one shared count).
    weight: Option<CachePadded<AtomicIsize>>,
}

fn cause_index(cause: RemovalCause) -> usize {
    match cause {
        RemovalCause::Expired => 0,
        RemovalCause::Size => 1,
        RemovalCause::Removed => 2,
        RemovalCause::Replaced => 3,
    }
}

impl Counters {
    /// Counters of a cache; `weighted`: keep the weight too.
    pub(crate) fn new(weighted: bool) -> Self {
        let n = stripe_count();
        Counters {
            stripes: (0..n)
                .map(|_| CachePadded::new(Stripe::default()))
                .collect(),
            live: CachePadded::new(AtomicIsize::new(0)),
            weight: weighted.then(|| CachePadded::new(AtomicIsize::new(0))),
        }
    }

    /// Adds (or takes back) weight, with a weigher.
    #[inline]
    fn add_weight(&self, delta: isize) {
        if let Some(w) = &self.weight {
            w.fetch_add(delta, Ordering::Relaxed);
        }
    }

    /// The weight of the entries in the cache (0 without a weigher); off
    /// like `live` by the writes in flight.
    #[inline]
    pub(crate) fn weight(&self) -> usize {
        self.weight
            .as_ref()
            .map_or(0, |w| w.load(Ordering::Relaxed).max(0) as usize)
    }

    /// A value of weight `weight` replaced a live one (whose departure
    /// takes its own weight back).
    #[inline]
    pub(crate) fn replaced_by(&self, weight: u32) {
        self.add_weight(weight as isize);
    }

    #[inline]
    fn local(&self) -> &Stripe {
        &self.stripes[thread_stripe_hint() & (self.stripes.len() - 1)]
    }

    #[inline]
    pub(crate) fn hit(&self) {
        self.local().hits.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn miss(&self) {
        self.local().misses.fetch_add(1, Ordering::Relaxed);
    }

    #[inline]
    pub(crate) fn inserted(&self, weight: u32) {
        self.local().insertions.fetch_add(1, Ordering::Relaxed);
        self.live.fetch_add(1, Ordering::Relaxed);
        self.add_weight(weight as isize);
    }

    #[inline]
    pub(crate) fn count_departure(&self, cause: RemovalCause, weight: u32) {
        self.local().left[cause_index(cause)].fetch_add(1, Ordering::Relaxed);
        if cause != RemovalCause::Replaced {
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
        self.add_weight(-(weight as isize));
    }

    /// Entries in the cache (expired ones not yet purged included); off by
    /// at most the inserts and removals in flight (a removal may be counted
    /// before the insert it undoes, so a transient negative reads as 0).
    #[inline]
    pub(crate) fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed).max(0) as usize
    }

    fn sum(&self, f: impl Fn(&Stripe) -> &AtomicU64) -> u64 {
        self.stripes
            .iter()
            .map(|s| f(s).load(Ordering::Relaxed))
            .fold(0, u64::wrapping_add)
    }

    /// The totals, with the map's figures.
    pub(crate) fn report(&self, map: MapStats, entry_bytes: usize) -> CacheStats {
        let left = |cause| self.sum(|s| &s.left[cause_index(cause)]);
        CacheStats {
            hits: self.sum(|s| &s.hits),
            misses: self.sum(|s| &s.misses),
            insertions: self.sum(|s| &s.insertions),
            expired: left(RemovalCause::Expired),
            evicted_size: left(RemovalCause::Size),
            removed: left(RemovalCause::Removed),
            replaced: left(RemovalCause::Replaced),
            entry_bytes,
            map,
            weighted_size: self.weight.as_ref().map(|_| self.weight() as u64),
            loads_in_progress: 0,
            load_waiters: 0,
        }
    }
}

/// A point-in-time report of a [`SplitCache`](crate::SplitCache): its
/// event counts and its memory.
///
/// Counts are read from per-thread stripes without stopping anyone, so under
/// concurrent operations each is a recent value, not one consistent cut.
/// Departures are counted when they are reported to the listener (once per
/// entry, whether or not a listener is set).
///
/// # Examples
/// ```
/// let cache: splitmap::SplitCache<u32, u32> = splitmap::SplitCache::builder().build();
/// cache.insert(1, 10);
/// assert_eq!(cache.get(&1), Some(10));
/// assert_eq!(cache.get(&2), None);
/// cache.remove(&1);
/// let s = cache.stats();
/// assert_eq!((s.hits, s.misses, s.insertions, s.removed), (1, 1, 1, 1));
/// assert_eq!(s.hit_ratio(), 0.5);
/// assert_eq!(s.map.len, 0);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CacheStats {
    /// Reads (`get`, `with_value`, `get_or_insert_with`, the loads of `get_with` and its kin) that found a live
    /// entry. `contains_key` is not a read here: it counts nothing and
    /// refreshes no idle time.
    pub hits: u64,
    /// Reads that found none (absent or expired).
    pub misses: u64,
    /// Entries added for a key that had no live entry (a write over a live
    /// key is a replacement, counted in `replaced`).
    pub insertions: u64,
    /// Entries that left because their deadline passed.
    pub expired: u64,
    /// Entries evicted by the size bound.
    pub evicted_size: u64,
    /// Entries removed by `remove`, `retain` or `clear`.
    pub removed: u64,
    /// Values replaced by a write to their key.
    pub replaced: u64,
    /// Heap bytes of one entry's node (list header, key, value, deadline
    /// and access word), as requested from the allocator.
    pub entry_bytes: usize,
    /// The underlying map's figures (length, memory, history); see
    /// [`MapStats`]. `map.len` counts expired entries not yet purged.
    pub map: MapStats,
    /// With a weigher: the weight of the entries in the cache (what
    /// `max_capacity` bounds); `None` without one.
    pub weighted_size: Option<u64>,
    /// Loads of [`get_with`](crate::SplitCache::get_with) and its kin in
    /// progress: keys whose loader runs (0 once every load has ended,
    /// panicked or failed).
    pub loads_in_progress: usize,
    /// Callers waiting for another caller's load of their key now.
    pub load_waiters: usize,
}

impl CacheStats {
    /// `hits / (hits + misses)`, or 0 before the first read.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder().build();
    /// assert_eq!(cache.stats().hit_ratio(), 0.0);
    /// ```
    pub fn hit_ratio(&self) -> f64 {
        let reads = self.hits + self.misses;
        if reads == 0 {
            0.0
        } else {
            self.hits as f64 / reads as f64
        }
    }

    /// Entries that left for any reason.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder().build();
    /// cache.insert(1, 1);
    /// cache.clear();
    /// assert_eq!(cache.stats().departures(), 1);
    /// ```
    pub fn departures(&self) -> u64 {
        self.expired + self.evicted_size + self.removed + self.replaced
    }
}

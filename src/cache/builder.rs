//! `CacheBuilder`: how a `SplitCache` is configured, in the style of moka's
//! and Caffeine's builders.

use super::clock::{duration_nanos, Clock, ClockSource, CoarseClock, DeadlineFloor, Expiry};
use super::entry::{CacheCtx, Weigher, NEVER};
use super::listener::{Listener, RemovalCause};
use super::loader::Loads;
use super::stats::Counters;
use super::SplitCache;
use crate::ops::Core;
use core::fmt;
use core::time::Duration;
use std::collections::hash_map::RandomState;
use std::sync::Arc;

/// Configures a [`SplitCache`]; start with [`SplitCache::builder`].
///
/// Nothing is required: a cache built with no setting keeps entries until
/// they are removed, like a [`SplitMap`](crate::SplitMap) with listener and
/// statistics.
///
/// # Examples
/// ```
/// use splitmap::SplitCache;
/// use std::time::Duration;
///
/// let cache: SplitCache<String, Vec<u8>> = SplitCache::builder()
///     .max_capacity(10_000)
///     .time_to_live(Duration::from_secs(300))
///     .time_to_idle(Duration::from_secs(60))
///     .eviction_listener(|key, _value, cause| eprintln!("{key} left: {cause:?}"))
///     .build();
/// cache.insert("k".to_string(), vec![1]);
/// assert!(cache.contains_key("k"));
/// ```
pub struct CacheBuilder<K, V> {
    ttl: Option<Duration>,
    tti: Option<Duration>,
    max_capacity: usize,
    initial_capacity: usize,
    layout: Option<(u32, usize)>,
    clock: ClockSource,
    listener: Option<Listener<K, V>>,
    weigher: Option<Weigher<K, V>>,
    expiry: Option<Box<dyn Expiry<K, V>>>,
}

impl<K, V> CacheBuilder<K, V> {
    pub(crate) fn new() -> Self {
        CacheBuilder {
            ttl: None,
            tti: None,
            max_capacity: usize::MAX,
            initial_capacity: 0,
            layout: None,
            clock: ClockSource::Coarse(CoarseClock::new()),
            listener: None,
            weigher: None,
            expiry: None,
        }
    }

    /// Every entry expires `ttl` after it was written (inserted or
    /// replaced), read or not. [`SplitCache::insert_with_ttl`] sets its
    /// own per entry.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let clock = splitmap::cache::MockClock::new();
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder()
    ///     .time_to_live(Duration::from_secs(10))
    ///     .clock(clock.clone())
    ///     .build();
    /// cache.insert(1, 1);
    /// clock.advance(Duration::from_secs(10));
    /// assert_eq!(cache.get(&1), None);
    /// ```
    ///
    /// Any duration is taken and reported back as given
    /// ([`SplitCache::time_to_live`]); one beyond the cache's time range
    /// ([`MAX_CACHE_TIME`](crate::cache::MAX_CACHE_TIME), 146 years) means
    /// entries never reach it.
    pub fn time_to_live(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Every entry expires `tti` after it was last read or written.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let clock = splitmap::cache::MockClock::new();
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder()
    ///     .time_to_idle(Duration::from_secs(10))
    ///     .clock(clock.clone())
    ///     .build();
    /// cache.insert(1, 1);
    /// clock.advance(Duration::from_secs(9));
    /// assert_eq!(cache.get(&1), Some(1)); // read: idle time starts again
    /// clock.advance(Duration::from_secs(9));
    /// assert_eq!(cache.get(&1), Some(1));
    /// clock.advance(Duration::from_secs(10));
    /// assert_eq!(cache.get(&1), None);
    /// ```
    ///
    /// Like the time to live, any duration is taken and reported back as
    /// given ([`SplitCache::time_to_idle`]).
    pub fn time_to_idle(mut self, tti: Duration) -> Self {
        self.tti = Some(tti);
        self
    }

    /// Bounds the number of entries: an insert that takes the cache over
    /// `n` evicts entries whose keys were asked for less often than the new
    /// one's before it returns, or refuses the new entry if there are none
    /// (TinyLFU admission). See [`SplitCache`], "Size bound", for the
    /// policy and the exact slack.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u32, u32> =
    ///     splitmap::SplitCache::builder().max_capacity(100).build();
    /// for i in 0..1000 {
    ///     cache.insert(i, i);
    /// }
    /// assert!(cache.len() <= 100);
    /// assert!(cache.stats().evicted_size >= 900);
    /// ```
    pub fn max_capacity(mut self, n: usize) -> Self {
        self.max_capacity = n;
        self
    }

    /// Weighs entries: `max_capacity` is then a bound on the sum of
    /// `weigher(&key, &value)` over the entries in the cache, not on their
    /// number (moka's `weigher`). The weigher runs once per entry, when the
    /// entry is built; its answer is kept in the entry (4 bytes), so a
    /// departure takes back exactly what the entry added.
    ///
    /// **The bound's slack, in weight:** `weighted_size <= max_capacity +
    /// W`, where `W` is the total weight of the writes in progress (each is
    /// over by at most its own entry's weight, for its own duration); an
    /// eviction step stops as soon as the weight is within the bound, so the
    /// cache dips below it by less than one victim's weight per concurrent
    /// step. An entry heavier than `max_capacity` is evicted again at once
    /// (with others it may have pushed out first). A replacement that
    /// weighs more runs an eviction step too.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u32, String> = splitmap::SplitCache::builder()
    ///     .max_capacity(100) // bytes of values
    ///     .weigher(|_k, v: &String| v.len() as u32)
    ///     .build();
    /// for i in 0..50 {
    ///     cache.insert(i, "x".repeat(10));
    /// }
    /// assert!(cache.stats().weighted_size.unwrap() <= 100);
    /// assert!(cache.len() <= 10);
    /// ```
    pub fn weigher(mut self, weigher: impl Fn(&K, &V) -> u32 + Send + Sync + 'static) -> Self {
        self.weigher = Some(Box::new(weigher));
        self
    }

    /// A per-entry expiry policy: how long each entry lives after it is
    /// created, read or updated ([`Expiry`], moka's trait of the same
    /// name), capped by the time to live; the time to idle applies besides.
    ///
    /// # Examples
    /// ```
    /// use splitmap::cache::{Expiry, MockClock};
    /// use std::time::Duration;
    /// /// Each read grants ten more seconds.
    /// struct Sliding;
    /// impl Expiry<u8, u8> for Sliding {
    ///     fn expire_after_create(&self, _: &u8, _: &u8) -> Option<Duration> {
    ///         Some(Duration::from_secs(10))
    ///     }
    ///     fn expire_after_read(&self, _: &u8, _: &u8, _: Option<Duration>) -> Option<Duration> {
    ///         Some(Duration::from_secs(10))
    ///     }
    /// }
    /// let clock = MockClock::new();
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder()
    ///     .expire_after(Sliding)
    ///     .clock(clock.clone())
    ///     .build();
    /// cache.insert(1, 1);
    /// clock.advance(Duration::from_secs(9));
    /// assert_eq!(cache.get(&1), Some(1)); // ten more seconds
    /// clock.advance(Duration::from_secs(9));
    /// assert_eq!(cache.get(&1), Some(1));
    /// clock.advance(Duration::from_secs(10));
    /// assert_eq!(cache.get(&1), None);
    /// ```
    pub fn expire_after(mut self, policy: impl Expiry<K, V> + 'static) -> Self {
        self.expiry = Some(Box::new(policy));
        self
    }

    /// Room for `n` entries before the directory first grows (it still
    /// shrinks below that when the cache empties).
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u32, u32> =
    ///     splitmap::SplitCache::builder().initial_capacity(1000).build();
    /// assert!(cache.stats().map.buckets >= 500);
    /// ```
    pub fn initial_capacity(mut self, n: usize) -> Self {
        self.initial_capacity = n;
        self
    }

    /// Called once for every entry that leaves the cache, with its key, its
    /// value and why ([`RemovalCause`]), on the thread whose operation
    /// removed it, before that operation returns. See [`SplitCache`],
    /// "Eviction listener", for panics and what the listener may do.
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let replaced = Arc::new(AtomicUsize::new(0));
    /// let r = Arc::clone(&replaced);
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder()
    ///     .eviction_listener(move |_, _, cause| {
    ///         if cause == splitmap::cache::RemovalCause::Replaced {
    ///             r.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .build();
    /// cache.insert(1, 1);
    /// cache.insert(1, 2);
    /// assert_eq!(replaced.load(Ordering::Relaxed), 1);
    /// ```
    pub fn eviction_listener(
        mut self,
        listener: impl Fn(&K, &V, RemovalCause) + Send + Sync + 'static,
    ) -> Self {
        self.listener = Some(Box::new(listener));
        self
    }

    /// The cache's time source (default: [`CoarseClock`]). Tests pass a
    /// [`MockClock`](crate::cache::MockClock) and advance it by hand.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder()
    ///     .clock(splitmap::cache::StdClock::new()) // precise, 25-38 ns per reading
    ///     .build();
    /// cache.insert(1, 1);
    /// assert_eq!(cache.get(&1), Some(1));
    /// ```
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = ClockSource::Custom(Arc::new(clock));
        self
    }

    /// Test constructor: `1 << min_buckets_log2` initial buckets and
    /// `load_factor` entries per bucket. Not part of the stable API.
    #[doc(hidden)]
    pub fn layout(mut self, min_buckets_log2: u32, load_factor: usize) -> Self {
        self.layout = Some((min_buckets_log2, load_factor));
        self
    }

    /// Builds the cache with the default hasher (`RandomState`).
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder().build();
    /// assert!(cache.is_empty());
    /// ```
    pub fn build(self) -> SplitCache<K, V> {
        self.build_with_hasher(RandomState::new())
    }

    /// Builds the cache with `hasher`.
    ///
    /// # Examples
    /// ```
    /// use std::collections::hash_map::RandomState;
    /// let cache: splitmap::SplitCache<u8, u8> =
    ///     splitmap::SplitCache::builder().build_with_hasher(RandomState::new());
    /// assert_eq!(cache.len(), 0);
    /// ```
    pub fn build_with_hasher<S>(self, hasher: S) -> SplitCache<K, V, S> {
        let nanos = |d: Option<Duration>| d.map_or(NEVER, duration_nanos);
        let (ttl, tti) = (nanos(self.ttl), nanos(self.tti));
        let ctx = CacheCtx {
            clock: self.clock.start(),
            ttl,
            tti,
            ttl_set: self.ttl,
            tti_set: self.tti,
            max_capacity: self.max_capacity,
            track_access: tti != NEVER,
            listener: self.listener,
            counters: Counters::new(
                self.weigher.is_some(),
                (self.max_capacity != usize::MAX).then_some(self.max_capacity),
            ),
            weigher: self.weigher,
            expiry: self.expiry,
            floor: DeadlineFloor::new(),
        };
        let core = match self.layout {
            Some((log2, load_factor)) => Core::with_layout_and_ctx(log2, load_factor, hasher, ctx),
            None => Core::for_bulk_build_with_ctx(self.initial_capacity, hasher, ctx),
        };
        SplitCache {
            core,
            loads: Loads::new(),
        }
    }
}

impl<K, V> fmt::Debug for CacheBuilder<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheBuilder")
            .field("time_to_live", &self.ttl)
            .field("time_to_idle", &self.tti)
            .field(
                "max_capacity",
                &(self.max_capacity != usize::MAX).then_some(self.max_capacity),
            )
            .field("initial_capacity", &self.initial_capacity)
            .field("clock", &self.clock)
            .field("eviction_listener", &self.listener.is_some())
            .field("weigher", &self.weigher.is_some())
            .field("expire_after", &self.expiry.is_some())
            .finish()
    }
}

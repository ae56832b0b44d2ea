//! The expiring cache: [`SplitCache`], its builder, its clocks and what it
//! reports.
//!
//! A [`SplitCache`] is a lock-free, bounded, expiring cache on the same
//! core as [`SplitMap`](crate::SplitMap): time to live, time to idle and
//! per-entry TTLs, an entry-count bound, an eviction listener that hears
//! why every entry left ([`RemovalCause`]), [`CacheStats`], and no
//! background thread and no lock. Build one with [`SplitCache::builder`]
//! ([`CacheBuilder`]); tests drive time with a [`MockClock`].
//!
//! ```
//! use splitmap::cache::{MockClock, RemovalCause, SplitCache};
//! use std::time::Duration;
//!
//! let clock = MockClock::new();
//! let cache: SplitCache<u32, &str> = SplitCache::builder()
//!     .time_to_live(Duration::from_secs(60))
//!     .max_capacity(1000)
//!     .clock(clock.clone())
//!     .build();
//! cache.insert(1, "one");
//! clock.advance(Duration::from_secs(60));
//! assert_eq!(cache.get(&1), None); // expired at its deadline
//! let s = cache.stats();
//! assert_eq!((s.expired, s.misses), (1, 1)); // the read met it and purged it
//! assert!(RemovalCause::Expired.was_evicted());
//! ```

// Files: `builder.rs` the configuration; `entry.rs` the entry kind (an
// expired entry is dead to the list) and its probes; `clock.rs` the time
// sources; `evict.rs` the size bound's eviction step; `sweep.rs` the
// per-thread sweep state the step hands its budget through; `listener.rs`
// the causes and panic-safe notification; `stats.rs` the counters. This
// file is the public layer: it reads the clock once per operation,
// forwards to the core and reports what left.
//
// Why over 600 lines: most of them are docs and examples (expiry
// precision, the size bound's slack, weak keys); the code is ~300 lines.

mod builder;
mod clock;
mod compute;
mod entry;
mod evict;
mod iter;
mod listener;
mod loader;
mod stats;
mod sweep;

pub use builder::CacheBuilder;
pub use clock::{Clock, CoarseClock, Expiry, MockClock, StdClock, MAX_CACHE_TIME};
pub use compute::{CompResult, Op};
pub use iter::Iter;
pub use listener::RemovalCause;
pub use stats::CacheStats;

use crate::guarded::Guarded;
use crate::ops::entry_kind::Entry;
use crate::ops::Core;
use crate::sync::pin;
use clock::duration_nanos;
use core::borrow::Borrow;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;
use entry::{CacheCtx, CacheEntry, CacheKey, CacheProbe, StoredKeyProbe};
use listener::PanicScope;
use loader::{Claim, LoadGuard, Loads, Outcome as LoadOutcome};
use std::collections::hash_map::RandomState;
use sweep::SweepScope;

/// A lock-free concurrent cache whose memory follows its contents: entries
/// expire by time (to live, to idle, or per entry), the entry count is
/// bounded, and an eviction listener hears why each entry left. No
/// background thread and no lock: expired entries are purged by the walks
/// the map already does.
///
/// # Usage
/// ```
/// use splitmap::SplitCache;
/// use splitmap::cache::RemovalCause;
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let expired = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&expired);
/// let clock = splitmap::cache::MockClock::new(); // tests drive time by hand
/// let sessions: SplitCache<u64, String> = SplitCache::builder()
///     .time_to_live(Duration::from_secs(30 * 60))
///     .time_to_idle(Duration::from_secs(5 * 60))
///     .max_capacity(100_000)
///     .eviction_listener(move |_id, _user, cause| {
///         if cause == RemovalCause::Expired {
///             counter.fetch_add(1, Ordering::Relaxed);
///         }
///     })
///     .clock(clock.clone())
///     .build();
/// sessions.insert(7, "ann".to_string());
/// assert_eq!(sessions.get(&7).as_deref(), Some("ann"));
/// clock.advance(Duration::from_secs(5 * 60)); // idle for five minutes
/// assert_eq!(sessions.get(&7), None); // this read purged it, too
/// assert_eq!(expired.load(Ordering::Relaxed), 1);
/// assert_eq!(sessions.len(), 0);
/// ```
///
/// Reads return clones (`get`), a closure's result (`with_value`) or nothing
/// (`contains_key`); `get_with` loads a missing value once for all callers; writes that hand a value back return a [`Guarded`]
/// reference, so values need not be `Clone` (as in
/// [`SplitMap`](crate::SplitMap)).
///
/// # Expiry
/// An entry expires at its deadline: `time_to_live` after it was written,
/// `time_to_idle` after it was last read or written, or the duration given
/// to [`insert_with_ttl`](Self::insert_with_ttl) (which replaces the time to
/// live for that entry; the time to idle still applies), whichever comes
/// first. Exactly at the deadline counts as expired.
///
/// - **Invisible at once.** Every operation reads the clock once; an entry
///   whose deadline is at or before that reading is invisible to it (reads
///   miss, `insert` inserts afresh, `remove` finds nothing).
/// - **Precision is the clock's resolution.** The default [`CoarseClock`]
///   ticks every 4 ms on the development VM (it costs 3-4 ns per reading
///   instead of 25-38 ns for `Instant::now()`), so an entry may stay
///   readable up to one tick after its deadline. [`StdClock`] is precise;
///   [`MockClock`] is for tests.
/// - **Time range.** A cache counts time from its clock's first reading and
///   holds [`MAX_CACHE_TIME`] (146 years) of it, whatever the clock's
///   origin; see [`Clock`], "Range".
/// - **Memory comes back without a call.** An expired entry is *dead* to
///   the map, exactly like a weak-map entry whose key died: a write that
///   meets it marks and unlinks it; a read that misses because of it purges
///   it; before the directory grows, one inserting thread sweeps the whole
///   list and purges every expired entry (so steady TTL traffic keeps the
///   map the size of what is alive, plus at most the growth slack); every
///   256th explicit removal (`remove`, `retain`, `clear`; counted per
///   thread stripe of the cache's counters) also sweeps a bounded stretch
///   of 128 nodes; the size bound's eviction step purges the expired
///   entries it passes.
///   [`purge_expired`](Self::purge_expired) and
///   [`run_pending_tasks`](Self::run_pending_tasks) purge all of them now.
/// - **A background thread, if you want one**, is a loop you own:
///   `std::thread::spawn(move || loop { cache.run_pending_tasks(); sleep(period) })`
///   with the cache in an `Arc`. It is never required.
///
/// # Size bound
/// With [`max_capacity(n)`](CacheBuilder::max_capacity), an insert that
/// adds an entry and finds more than `n` runs an eviction step before it
/// returns, chosen by **admission** (TinyLFU, as in moka and Caffeine): a
/// frequency sketch counts how often each key was asked for lately (reads,
/// hits and misses, and writes); victims are entries whose keys were asked
/// for less often than the new entry's, and if there are none **the new
/// entry is refused** (not stored, or removed again, and reported as
/// `Size`). So a stream of
/// one-time keys cannot push out the keys that are asked for again; see
/// `evict.rs` and `docs/results.md` (hit ratios against moka and
/// quick_cache). The sketch takes 8-16 bytes per entry of the bound (at least
/// 32 KiB, at most 32 MiB); [`CacheStats::sketch_bytes`] reports it.
/// **Expired entries make room first**: if any entry may have expired at the
/// insert's clock reading (a lower bound on all deadlines, kept without a
/// walk, says so), one walk purges every expired entry before a live one
/// is chosen; see `evict.rs`.
/// So `len() <= n + T` at all times, where `T` is the number of inserts in
/// progress (each is over by at most its own entry, for its own duration),
/// and an insert evicts at most its excess plus `min(32, n / 64)`, so the
/// cache dips at most that far below `n` per concurrent step. `len()`
/// counts expired entries not yet purged, so the bound holds for memory.
///
/// # Eviction listener
/// [`eviction_listener`](CacheBuilder::eviction_listener) is called
/// **exactly once** for every entry that leaves, with its [`RemovalCause`]:
/// `Expired`, `Size`, `Removed` (`remove`, `retain`, `clear`) or `Replaced`
/// (a write to a live key). It runs on the thread whose operation removed
/// the entry, before that operation returns, after the atomic step that
/// removed it (no read can return the entry any more; it is freed later).
/// No lock is held (there is none). It is not called for entries still in
/// the cache when the cache is dropped.
///
/// - **Panics**: each call is caught. The cache stays consistent (the entry
///   is gone, and counted), the operation delivers every other notification
///   it owes, and the first panic is resumed when the public method
///   returns (its return value is lost). Called from a thread-local
///   destructor, once the cache's own thread-locals are gone, a listener
///   panic is dropped instead (resuming it there would abort the process).
///   **A listener that panicked stays installed** and hears the next
///   departure (moka disables it instead): the promise is one
///   notification per entry, and a listener that fails on one value (a
///   full channel, a bad record) should not silently lose every later one.
///   Each panic reaches the caller of the operation it happened in, so it
///   is never silent either. To stop after the first panic, keep a flag in
///   the listener: `if disabled.load(Relaxed) { return; }`, set it with
///   `catch_unwind` around your body, or before a panic you raise.
/// - **Re-entry**: the listener may call any cache method, this cache's
///   included (it may run inside a walk of the list, which is safe for a
///   lock-free list: a nested operation is like another thread's).
/// - **Cost**: expiry and size evictions are reported from inside the walk
///   that found them, so a slow listener slows that operation, not others.
///
/// # From a thread-local destructor
/// Every method may be called while the calling thread's thread-locals are
/// being destroyed (a per-thread session whose `Drop` removes itself from a
/// global cache): none panics for want of its own thread-locals. Where they
/// are gone, listener panics are dropped (above), and on platforms whose
/// thread-locals are heap-allocated an insert there runs no eviction step
/// (the next insert elsewhere evicts the excess; see `evict.rs`).
///
/// # Statistics
/// [`stats`](Self::stats) reports hits, misses, insertions and departures
/// by cause (counted per thread stripe, no shared write on reads) and the
/// map's memory figures ([`MapStats`](crate::MapStats)). One entry is one
/// list node: 16 bytes of list header, the key, the value, and 16 bytes of
/// deadline and access word (48 bytes for `u64 → u64`, against 32 in a
/// [`SplitMap`](crate::SplitMap)); [`CacheStats::entry_bytes`] says it.
///
/// # Weak keys
/// There is no weak-key cache: a [`WeakKeyMap`](crate::WeakKeyMap) entry
/// holds `Weak<K>` and is found by upgrade probes, a cache entry holds `K`
/// and a deadline, and the two would need an entry kind generic over how it
/// holds its key (the probes, `same_key` and liveness checks of both) for
/// a case that has a simple alternative: key the cache by an id the object
/// carries (`SplitCache<ObjectId, V>` with a time to idle), or keep the
/// deadline in a weak map's value and `retain` expired entries now and
/// then. Both keep memory bounded; neither needs a new kind.
///
/// # Examples
/// ```
/// let cache: splitmap::SplitCache<&str, u32> = splitmap::SplitCache::new(2);
/// cache.insert("a", 1);
/// cache.insert("b", 2);
/// assert_eq!(cache.get("a"), Some(1)); // "a" is asked for twice now
/// cache.insert("c", 3); // over the bound: "b" or "c" goes, never "a"
/// assert_eq!(cache.len(), 2);
/// assert_eq!(cache.get("a"), Some(1));
/// assert_eq!(cache.stats().evicted_size, 1);
/// ```
pub struct SplitCache<K, V, S = RandomState> {
    core: Core<CacheEntry<K, V>, S, CacheCtx<K, V>>,
    /// Loads in progress (`get_with` and its kin; `loader.rs`).
    loads: Loads<K, V>,
}

/// One public method's run: its clock reading, the sweep state its walks
/// read, and the panic scope of the listener (only a cache with a listener
/// opens one: without a listener nothing of this cache can panic into it).
struct CacheOperation {
    now: u64,
    sweep: SweepScope,
    panics: Option<PanicScope>,
}

impl CacheOperation {
    /// Ends the operation; resumes a listener panic it caught.
    fn finish(self) {
        drop(self.sweep);
        if let Some(panics) = self.panics {
            panics.finish();
        }
    }
}

impl<K, V> SplitCache<K, V, RandomState> {
    /// A builder for a cache with the settings you choose.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder()
    ///     .max_capacity(10)
    ///     .build();
    /// assert!(cache.is_empty());
    /// ```
    pub fn builder() -> CacheBuilder<K, V> {
        CacheBuilder::new()
    }

    /// A cache bounded to `max_capacity` entries, with no expiry.
    ///
    /// # Examples
    /// ```
    /// let cache = splitmap::SplitCache::new(1);
    /// cache.insert(1, 'a');
    /// cache.insert(2, 'b');
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn new(max_capacity: usize) -> Self {
        Self::builder().max_capacity(max_capacity).build()
    }
}

impl<K, V, S> SplitCache<K, V, S> {
    /// Entries inserted and not yet removed, evicted or purged: an **upper
    /// bound** on live entries, since expired entries count until purged.
    /// O(1) in the entries: a bounded cache reads its one count, an
    /// unbounded one sums the map's per-thread stripes (as `SplitMap::len`).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let clock = splitmap::cache::MockClock::new();
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder()
    ///     .time_to_live(Duration::from_secs(1))
    ///     .clock(clock.clone())
    ///     .build();
    /// cache.insert(1, 1);
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!(cache.len(), 1); // expired, not yet purged
    /// cache.purge_expired();
    /// assert_eq!(cache.len(), 0);
    /// ```
    #[doc(alias = "entry_count")]
    pub fn len(&self) -> usize {
        // A bounded cache's one shared count (see `stats.rs`); an unbounded
        // one keeps none, and answers with the map's striped count.
        self.core
            .ctx()
            .counters
            .live()
            .unwrap_or_else(|| self.core.len())
    }

    /// `true` if [`len`](Self::len) is 0.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::new(10);
    /// assert!(cache.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hits, misses, insertions, departures by cause and memory; see
    /// [`CacheStats`]. O(stripes).
    ///
    /// # Examples
    /// ```
    /// let cache = splitmap::SplitCache::new(1);
    /// cache.insert(1, 1);
    /// cache.insert(2, 2);
    /// let s = cache.stats();
    /// assert_eq!((s.insertions, s.evicted_size), (2, 1));
    /// assert_eq!(s.map.len, 1);
    /// assert!(s.entry_bytes >= 32);
    /// ```
    pub fn stats(&self) -> CacheStats {
        let ctx = self.core.ctx();
        let mut stats = ctx.counters.report(
            self.core.figures().into(),
            Core::<CacheEntry<K, V>, S, CacheCtx<K, V>>::NODE_BYTES,
        );
        stats.loads_in_progress = self.loads.len();
        stats.load_waiters = self.loads.waiting();
        stats
    }

    /// The configured bound, if any.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(splitmap::SplitCache::<u8, u8>::new(5).max_capacity(), Some(5));
    /// ```
    pub fn max_capacity(&self) -> Option<usize> {
        let cap = self.core.ctx().max_capacity;
        (cap != usize::MAX).then_some(cap)
    }

    /// The configured time to live, if any.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder()
    ///     .time_to_live(Duration::from_secs(3))
    ///     .build();
    /// assert_eq!(cache.time_to_live(), Some(Duration::from_secs(3)));
    /// assert_eq!(cache.time_to_idle(), None);
    /// ```
    pub fn time_to_live(&self) -> Option<Duration> {
        self.core.ctx().ttl_set
    }

    /// The configured time to idle, if any.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let cache: splitmap::SplitCache<u8, u8> = splitmap::SplitCache::builder()
    ///     .time_to_idle(Duration::from_secs(3))
    ///     .build();
    /// assert_eq!(cache.time_to_idle(), Some(Duration::from_secs(3)));
    /// ```
    pub fn time_to_idle(&self) -> Option<Duration> {
        self.core.ctx().tti_set
    }

    /// Starts an operation: one clock reading for all of it.
    fn begin(&self) -> CacheOperation {
        let ctx = self.core.ctx();
        let now = ctx.clock.now();
        CacheOperation {
            now,
            sweep: SweepScope::begin(ctx.id(), now),
            panics: ctx.listener.is_some().then(PanicScope::enter),
        }
    }
}

/// Everything that reads or writes entries. A read that meets an expired
/// entry purges it (a write), so reads share the writes' bounds: a removed
/// entry is dropped later by whichever thread runs the epoch's deferred
/// destructor.
impl<K, V, S> SplitCache<K, V, S>
where
    K: Hash + Eq + Send + 'static,
    V: Send + 'static,
    S: BuildHasher,
{
    /// Returns a clone of the live value for `key`, refreshing its idle time
    /// and counting the read in the frequency sketch. For values that are not `Clone`, use
    /// [`with_value`](Self::with_value). (To load a value on a miss, once
    /// for all callers, use [`get_with`](Self::get_with).)
    ///
    /// # Examples
    /// ```
    /// let cache = splitmap::SplitCache::new(10);
    /// cache.insert("k".to_string(), 1);
    /// assert_eq!(cache.get("k"), Some(1));
    /// assert_eq!(cache.get("missing"), None);
    /// ```
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.with_value(key, V::clone)
    }

    /// Calls `f` on the live value for `key` (no clone) and returns its
    /// result; counts as a read (idle time, frequency, hit or miss).
    /// (Before issue 19 this was `get_with`, a name moka gives to loading:
    /// see [`get_with`](Self::get_with).)
    ///
    /// # Examples
    /// ```
    /// let cache = splitmap::SplitCache::new(10);
    /// cache.insert(1, vec![1, 2, 3]);
    /// assert_eq!(cache.with_value(&1, |v| v.len()), Some(3));
    /// ```
    pub fn with_value<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.read(self.core.hash(key), key, true, f)
    }

    /// A read of `key` (with its `hash`): `f` of the live value. `counted`
    /// reads count a hit or a miss and refresh the entry.
    fn read<Q, R>(&self, hash: u64, key: &Q, counted: bool, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let ctx = self.core.ctx();
        let guard = pin();
        // The clock is read only if needed: an entry of the key that can
        // expire, a time to idle to refresh, or an expiry policy to ask.
        let mut probe = CacheProbe::with_clock(key, &ctx.clock, ctx.tti);
        if counted {
            ctx.counters.prefetch_sketch(entry::fingerprint(hash));
        }
        if let Some(e) = self.core.get(hash, &mut probe, &guard) {
            if counted {
                self.was_read(e, || probe.now());
            }
            return Some(f(e.value()));
        }
        if counted {
            ctx.counters.miss();
            ctx.counters.read_missed(entry::fingerprint(hash));
        }
        if probe.met_expired {
            drop(guard);
            self.purge_key(hash, key);
        }
        None
    }

    /// Returns the value for `key`, loading it with `init` on a miss, **once
    /// for all callers**: while one caller's `init` runs, other callers of
    /// the same key wait for its value instead of running theirs (moka's
    /// `get_with`). Callers of other keys never wait.
    ///
    /// The loaded value is inserted with the cache's time to live (unless
    /// the key got a live value meanwhile, by `insert` say: then everyone
    /// gets that one), and may evict. If `init` panics, the panic reaches
    /// its caller, the waiters wake and start again (one of them runs its
    /// own `init`), and nothing is left behind. See also
    /// [`try_get_with`](Self::try_get_with) (errors go to every waiter,
    /// nothing is cached) and [`optionally_get_with`](Self::optionally_get_with).
    ///
    /// Waiting is the point of this method, and the one place the cache
    /// blocks: a waiter holds no pin and no lock of the cache while it
    /// waits, and every other operation goes on lock-free.
    ///
    /// # Examples
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let cache: splitmap::SplitCache<u32, String> = splitmap::SplitCache::new(100);
    /// let loads = AtomicUsize::new(0);
    /// std::thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| {
    ///             let v = cache.get_with(7, || {
    ///                 loads.fetch_add(1, Ordering::Relaxed);
    ///                 std::thread::sleep(std::time::Duration::from_millis(20));
    ///                 "seven".to_string()
    ///             });
    ///             assert_eq!(v, "seven");
    ///         });
    ///     }
    /// });
    /// // One load, unless a thread came so late that the value had been
    /// // evicted again (it was not: 100 entries of room).
    /// assert_eq!(loads.load(Ordering::Relaxed), 1);
    /// ```
    pub fn get_with(&self, key: K, init: impl FnOnce() -> V) -> V
    where
        K: Clone,
        V: Clone,
    {
        match self.load(
            key,
            || Ok::<_, core::convert::Infallible>(Some(init())),
            false,
        ) {
            Ok(Some(v)) => v,
            Ok(None) => unreachable!("this loader always has a value"),
            Err(e) => match *e {},
        }
    }

    /// [`get_with`](Self::get_with) with a loader that may fail: an error
    /// is returned to the loader's caller and to every waiter of the same
    /// error type (as one `Arc<E>`), and nothing is cached; the next call
    /// loads again. Waiters of another kind (`get_with`, another `E`) start
    /// again instead.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u32, u32> = splitmap::SplitCache::new(10);
    /// let r = cache.try_get_with(1, || "db down".parse::<u32>());
    /// assert!(r.is_err());
    /// assert!(!cache.contains_key(&1)); // nothing cached
    /// assert_eq!(cache.try_get_with(1, || "5".parse::<u32>()), Ok(5));
    /// ```
    pub fn try_get_with<E>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, std::sync::Arc<E>>
    where
        K: Clone,
        V: Clone,
        E: Send + Sync + 'static,
    {
        match self.load(key, || init().map(Some), false) {
            Ok(Some(v)) => Ok(v),
            Ok(None) => unreachable!("this loader always has a value or an error"),
            Err(e) => Err(e),
        }
    }

    /// [`get_with`](Self::get_with) with a loader that may find nothing:
    /// `None` is returned to the loader's caller and to every waiter of the
    /// optional kind, and nothing is cached.
    ///
    /// # Examples
    /// ```
    /// let cache: splitmap::SplitCache<u32, u32> = splitmap::SplitCache::new(10);
    /// assert_eq!(cache.optionally_get_with(1, || None), None);
    /// assert!(cache.is_empty());
    /// assert_eq!(cache.optionally_get_with(1, || Some(3)), Some(3));
    /// assert_eq!(cache.get(&1), Some(3));
    /// ```
    pub fn optionally_get_with(&self, key: K, init: impl FnOnce() -> Option<V>) -> Option<V>
    where
        K: Clone,
        V: Clone,
    {
        match self.load(key, || Ok::<_, core::convert::Infallible>(init()), true) {
            Ok(v) => v,
            Err(e) => match *e {},
        }
    }

    /// The de-duplicated load (`loader.rs` has the protocol). `optional`:
    /// the caller takes `None` from another's load.
    fn load<E>(
        &self,
        key: K,
        init: impl FnOnce() -> Result<Option<V>, E>,
        optional: bool,
    ) -> Result<Option<V>, std::sync::Arc<E>>
    where
        K: Clone,
        V: Clone,
        E: Send + Sync + 'static,
    {
        let hash = self.core.hash(&key);
        loop {
            if let Some(v) = self.read(hash, &key, true, V::clone) {
                return Ok(Some(v));
            }
            match self.loads.claim(hash, key.clone()) {
                Claim::Theirs(slot) => match self.loads.wait(&slot) {
                    LoadOutcome::Value(v) => return Ok(Some(v)),
                    LoadOutcome::Nothing if optional => return Ok(None),
                    LoadOutcome::Error(e) => match e.downcast::<E>() {
                        Ok(e) => return Err(e),
                        Err(_) => continue, // another kind's error: load again
                    },
                    // Abandoned (the loader panicked), or `None` for a
                    // caller that needs a value: load again.
                    _ => continue,
                },
                Claim::Mine(slot) => {
                    let guard = LoadGuard {
                        loads: &self.loads,
                        hash,
                        key: &key,
                        slot: Some(slot),
                    };
                    // A load that ended after our read left its value.
                    if let Some(v) = self.read(hash, &key, false, V::clone) {
                        guard.end(LoadOutcome::Value(v.clone()));
                        return Ok(Some(v));
                    }
                    return match init() {
                        Ok(Some(v)) => {
                            let v = self.insert_loaded(hash, key.clone(), v);
                            guard.end(LoadOutcome::Value(v.clone()));
                            Ok(Some(v))
                        }
                        Ok(None) => {
                            guard.end(LoadOutcome::Nothing);
                            Ok(None)
                        }
                        Err(e) => {
                            let e = std::sync::Arc::new(e);
                            guard.end(LoadOutcome::Error(e.clone()));
                            Err(e)
                        }
                    };
                }
            }
        }
    }

    /// Stores a loaded value unless the key has a live one by now; returns
    /// a clone of what the key holds after.
    fn insert_loaded(&self, hash: u64, key: K, value: V) -> V
    where
        V: Clone,
    {
        let op = self.begin();
        let ctx = self.core.ctx();
        let stored = {
            let guard = pin();
            let mut owned = CacheKey::new(key, hash, ctx, op.now, ctx.ttl);
            match self.core.try_insert(hash, &mut owned, value, &guard) {
                Ok(e) => {
                    ctx.floor.note(owned.made_deadline());
                    ctx.counters.inserted(owned.made_weight());
                    let v = e.value.clone();
                    evict::enforce_bound(&self.core, &guard, Some((e, hash)));
                    v
                }
                Err((current, _loaded)) => current.value.clone(),
            }
        };
        op.finish();
        stored
    }

    /// `true` if `key` has a live entry. Does not count as a read (no
    /// refresh, no hit or miss).
    ///
    /// # Examples
    /// ```
    /// let cache = splitmap::SplitCache::new(10);
    /// cache.insert(1, ());
    /// assert!(cache.contains_key(&1));
    /// assert!(!cache.contains_key(&2));
    /// ```
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let ctx = self.core.ctx();
        let hash = self.core.hash(key);
        let guard = pin();
        let mut probe = CacheProbe::with_clock(key, &ctx.clock, ctx.tti);
        self.core.get(hash, &mut probe, &guard).is_some()
    }

    /// A counted read found `e`: a hit; refreshes its idle time, counts it
    /// in the frequency sketch, and asks the expiry policy. `now` gives the
    /// read's clock reading, called only if there is a time to idle or a
    /// policy.
    #[inline]
    fn was_read(&self, e: &CacheEntry<K, V>, now: impl FnOnce() -> u64) {
        let ctx = self.core.ctx();
        if ctx.track_access || ctx.expiry.is_some() {
            let now = now();
            if ctx.track_access {
                e.touch(now);
            }
            if let Some(deadline) = ctx.read_deadline(e, now) {
                e.set_deadline(deadline);
                ctx.floor.note(deadline);
            }
        }
        ctx.counters.hit();
        ctx.counters.accessed(e.fp);
    }

    /// Marks and unlinks the expired entries of `key` (a read met one).
    fn purge_key<Q>(&self, hash: u64, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let op = self.begin();
        let guard = pin();
        let mut probe = CacheProbe::new(key, op.now, self.core.ctx().tti);
        self.core.remove_if(hash, &mut probe, |_| false, &guard);
        drop(guard);
        op.finish();
    }

    /// Inserts `key -> value` with the cache's time to live; returns the
    /// value it replaced (reported to the listener as `Replaced`), readable
    /// through the returned [`Guarded`]. May evict (see "Size bound").
    ///
    /// # Examples
    /// ```
    /// let cache = splitmap::SplitCache::new(10);
    /// assert!(cache.insert(1, "a").is_none());
    /// assert_eq!(cache.insert(1, "b").as_deref(), Some(&"a"));
    /// assert_eq!(cache.get(&1), Some("b"));
    /// ```
    pub fn insert(&self, key: K, value: V) -> Option<Guarded<'_, V>> {
        self.put(key, value, self.core.ctx().ttl)
    }

    /// Inserts `key -> value` expiring `ttl` from now, instead of after the
    /// cache's time to live (the time to idle still applies).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let clock = splitmap::cache::MockClock::new();
    /// let cache: splitmap::SplitCache<&str, u8> = splitmap::SplitCache::builder()
    ///     .time_to_live(Duration::from_secs(60))
    ///     .clock(clock.clone())
    ///     .build();
    /// cache.insert_with_ttl("short", 1, Duration::from_secs(1));
    /// cache.insert("long", 2);
    /// clock.advance(Duration::from_secs(1));
    /// assert_eq!((cache.get("short"), cache.get("long")), (None, Some(2)));
    /// ```
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) -> Option<Guarded<'_, V>> {
        self.put(key, value, duration_nanos(ttl))
    }

    fn put(&self, key: K, value: V, ttl: u64) -> Option<Guarded<'_, V>> {
        let ctx = self.core.ctx();
        let hash = self.core.hash(&key);
        let fp = entry::fingerprint(hash);
        // The write is counted in the sketch after the map's walk (or before
        // admission, which reads it), its line loaded meanwhile.
        ctx.counters.prefetch_sketch(fp);
        let op = self.begin();
        let old = Guarded::pin(&self.core, |core, guard| {
            // A full bounded cache weighs a fresh key before publishing it
            // (`evict::admit`); a live key is replaced below regardless. So
            // a replace in a full bounded cache searches three times (this
            // lookup, `try_insert`, `insert`): a cost left for issue 19 §2.
            let full = ctx.max_capacity != usize::MAX && ctx.used() >= ctx.max_capacity;
            if full {
                ctx.counters.written(fp);
            }
            if full
                && core
                    .get(hash, &mut CacheProbe::new(&key, op.now, ctx.tti), guard)
                    .is_none()
                && !evict::admit(core, guard, fp)
            {
                ctx.report_refused(&key, &value);
                return None;
            }
            let mut owned = CacheKey::new(key, hash, ctx, op.now, ttl);
            // Bounded: a fresh key first (the common case, and admission
            // needs the new entry); a live key is then replaced below, at
            // the cost of a second search (issue 19 §2). Unbounded: one
            // insert that replaces or adds.
            let value = if ctx.max_capacity == usize::MAX {
                value
            } else {
                let tried = core.try_insert(hash, &mut owned, value, guard);
                if !full {
                    ctx.counters.written(fp);
                }
                match tried {
                    Ok(new) => {
                        ctx.floor.note(owned.made_deadline());
                        ctx.counters.inserted(owned.made_weight());
                        evict::enforce_bound(core, guard, Some((new, hash)));
                        return None;
                    }
                    Err((_live, value)) => value,
                }
            };
            // (No count here: only a bounded cache keeps a sketch, and its
            // write was counted above.)
            let old = core.insert(hash, &mut owned, value, guard);
            ctx.floor.note(owned.made_deadline());
            match old {
                Some(old) => {
                    ctx.counters.replaced_by(owned.made_weight());
                    ctx.report_departure(old, RemovalCause::Replaced);
                    if ctx.weigher.is_some() {
                        evict::enforce_bound(core, guard, None); // it may weigh more
                    }
                }
                None => {
                    // Unbounded, or the live entry left in between.
                    ctx.counters.inserted(owned.made_weight());
                    evict::enforce_bound(core, guard, None);
                }
            }
            old
        });
        op.finish();
        old
    }

    /// Returns the live value for `key`, inserting `f()` first if there is
    /// none (with the cache's time to live). `f` runs at most once, and only
    /// if the key had no live entry when looked at. A hit counts as a read;
    /// an insert may evict.
    ///
    /// # Examples
    /// ```
    /// let cache = splitmap::SplitCache::new(10);
    /// assert_eq!(*cache.get_or_insert_with(1, || 10), 10);
    /// assert_eq!(*cache.get_or_insert_with(1, || 20), 10);
    /// let s = cache.stats();
    /// assert_eq!((s.hits, s.misses, s.insertions), (1, 1, 1));
    /// ```
    pub fn get_or_insert_with(&self, key: K, f: impl FnOnce() -> V) -> Guarded<'_, V> {
        let op = self.begin();
        let ctx = self.core.ctx();
        let hash = self.core.hash(&key);
        ctx.counters.prefetch_sketch(entry::fingerprint(hash)); // counted below
        let stored = Guarded::pin_entry(&self.core, |core, guard| {
            let mut owned = CacheKey::new(key, hash, ctx, op.now, ctx.ttl);
            let e = core.get_or_insert_with(hash, &mut owned, f, guard);
            if owned.moved() {
                ctx.floor.note(owned.made_deadline());
                ctx.counters.miss();
                ctx.counters.accessed(e.fp);
                ctx.counters.inserted(owned.made_weight());
                evict::enforce_bound(core, guard, Some((e, hash)));
            } else {
                self.was_read(e, || op.now);
            }
            e
        });
        op.finish();
        stored
    }

    /// Removes `key`'s live entry (reported as `Removed`); returns its value
    /// through a [`Guarded`].
    ///
    /// # Examples
    /// ```
    /// let cache = splitmap::SplitCache::new(10);
    /// cache.insert(1, 5);
    /// assert_eq!(cache.remove(&1).as_deref(), Some(&5));
    /// assert!(cache.remove(&1).is_none());
    /// ```
    #[doc(alias = "invalidate")]
    pub fn remove<Q>(&self, key: &Q) -> Option<Guarded<'_, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let op = self.begin();
        let ctx = self.core.ctx();
        let hash = self.core.hash(key);
        let old = Guarded::pin(&self.core, |core, guard| {
            let mut probe = CacheProbe::new(key, op.now, ctx.tti);
            let old = core.remove_if(hash, &mut probe, |_| true, guard);
            if let Some(e) = old {
                ctx.report_departure(e, RemovalCause::Removed);
            }
            old
        });
        op.finish();
        old
    }

    /// Removes every live entry for which `keep(&k, &v)` is false (each
    /// reported as `Removed`); each removal is atomic on its own. Expired
    /// entries are not shown to `keep`. Returns how many were removed.
    ///
    /// Entries are visited, and the listener hears of them, in the order
    /// of the map's list: hash order (split order), not insertion order.
    ///
    /// # Examples
    /// ```
    /// let cache = splitmap::SplitCache::new(100);
    /// for i in 0..10 {
    ///     cache.insert(i, i);
    /// }
    /// assert_eq!(cache.retain(|_, v| v % 2 == 0), 5);
    /// assert_eq!(cache.len(), 5);
    /// ```
    #[doc(alias = "invalidate_entries_if")]
    pub fn retain(&self, mut keep: impl FnMut(&K, &V) -> bool) -> usize {
        let op = self.begin();
        let ctx = self.core.ctx();
        let guard = pin();
        let mut removed = 0;
        for (_, e) in self.core.iter(&guard) {
            if e.expired(op.now, ctx.tti) || keep(&e.key, &e.value) {
                continue;
            }
            let hash = self.core.hash(&e.key);
            let mut probe = StoredKeyProbe::new(e, op.now, ctx.tti);
            // The entry may have been replaced since the walk saw it:
            // decide again on the current one.
            let gone = self.core.remove_if(
                hash,
                &mut probe,
                |cur| core::ptr::eq(cur, e) || !keep(&cur.key, &cur.value),
                &guard,
            );
            if let Some(gone) = gone {
                ctx.report_departure(gone, RemovalCause::Removed);
                removed += 1;
            }
        }
        drop(guard);
        op.finish();
        removed
    }

    /// Removes every entry: live ones are reported as `Removed`, expired
    /// ones as `Expired`. Not atomic as a whole: concurrent inserts may
    /// survive. The listener hears of them in hash order (split order),
    /// live ones first, then the expired ones.
    ///
    /// # Examples
    /// ```
    /// let cache = splitmap::SplitCache::new(100);
    /// for i in 0..10 {
    ///     cache.insert(i, i);
    /// }
    /// cache.clear();
    /// assert!(cache.is_empty());
    /// assert_eq!(cache.stats().removed, 10);
    /// ```
    #[doc(alias = "invalidate_all")]
    pub fn clear(&self) {
        self.retain(|_, _| false);
        self.purge_expired();
    }

    /// Purges every expired entry now (one walk over the list; reported as
    /// `Expired`) and returns how many this walk purged. Also unlinks
    /// removed entries still linked and advances a directory shrink.
    /// Never needed for memory to come back; see "Expiry".
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let clock = splitmap::cache::MockClock::new();
    /// let cache: splitmap::SplitCache<u32, u32> = splitmap::SplitCache::builder()
    ///     .time_to_live(Duration::from_secs(1))
    ///     .clock(clock.clone())
    ///     .build();
    /// for i in 0..10 {
    ///     cache.insert(i, i);
    /// }
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(cache.purge_expired(), 10);
    /// assert_eq!(cache.stats().expired, 10);
    /// ```
    pub fn purge_expired(&self) -> usize {
        let op = self.begin();
        let purged = evict::purge_walk(self.core.ctx(), || self.core.compact());
        op.finish();
        purged
    }

    /// Does now everything the cache otherwise does as it goes: purges
    /// expired entries, enforces the size bound, and pushes the epoch's
    /// reclamation along so purged entries' memory is freed. Call it from
    /// your own timer thread if you want one.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let clock = splitmap::cache::MockClock::new();
    /// let cache: splitmap::SplitCache<u32, u32> = splitmap::SplitCache::builder()
    ///     .time_to_live(Duration::from_secs(1))
    ///     .clock(clock.clone())
    ///     .build();
    /// cache.insert(1, 1);
    /// clock.advance(Duration::from_secs(1));
    /// cache.run_pending_tasks();
    /// let s = cache.stats();
    /// assert_eq!((s.expired, s.map.len, s.map.retired_awaiting), (1, 0, 0));
    /// ```
    pub fn run_pending_tasks(&self) {
        let op = self.begin();
        evict::purge_walk(self.core.ctx(), || self.core.compact());
        {
            let guard = pin();
            evict::enforce_bound(&self.core, &guard, None);
        }
        self.core.reclaim();
        op.finish();
    }
}

impl<K, V, S> fmt::Debug for SplitCache<K, V, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SplitCache")
            .field("len", &self.len())
            .field("max_capacity", &self.max_capacity())
            .field("time_to_live", &self.time_to_live())
            .field("time_to_idle", &self.time_to_idle())
            .field("clock", &self.core.ctx().clock)
            .finish_non_exhaustive()
    }
}

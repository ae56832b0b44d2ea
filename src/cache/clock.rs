//! Where a cache's time comes from: the [`Clock`] trait, the default coarse
//! clock, a precise one, and a [`MockClock`] that tests advance by hand.
//!
//! A cache reads its clock once per operation (never per node of a walk:
//! walks reuse the operation's reading) and compares the reading, in
//! nanoseconds, with each entry's deadline. Expiry precision is the clock's
//! resolution: an entry whose deadline has passed is invisible to every read
//! whose clock reading has reached the deadline.
//!
//! The default is [`CoarseClock`]: on Linux it reads `CLOCK_MONOTONIC_COARSE`
//! (the time of the last kernel tick, from the vDSO page; no hardware clock
//! read). Measured on the 2-core development VM (20M calls, 3 rounds):
//! 2.8-4.0 ns per call against 25-38 ns for `Instant::now()` and 9-14 ns for
//! a bare `rdtsc`, at a resolution of 4 ms (`clock_getres`, one kernel tick
//! at HZ=250). A guard-free cache read costs 95 ns (hot zipf keys,
//! `examples/cache_vs_moka.rs`) to about 200 ns (random keys of a large
//! map), so `Instant::now()` would add 12-40% to every read; the coarse
//! clock adds 2-4%. The price is precision: an entry may stay readable for up to
//! one tick (4 ms here) after its deadline. Use [`StdClock`] where that
//! matters; elsewhere than Linux [`CoarseClock`] falls back to `Instant`.

use crate::sync::{AtomicU64, Ordering};
use core::fmt;
use core::time::Duration;
use std::sync::Arc;
use std::time::Instant;

/// A monotonic time source for [`SplitCache`](crate::SplitCache).
///
/// # Examples
/// ```
/// use splitmap::SplitCache;
/// use splitmap::cache::Clock;
/// use std::time::Duration;
///
/// /// A clock that always says the same time: nothing ever expires.
/// struct Frozen;
/// impl Clock for Frozen {
///     fn now_nanos(&self) -> u64 {
///         0
///     }
/// }
///
/// let cache: SplitCache<u32, u32> = SplitCache::builder()
///     .time_to_live(Duration::from_nanos(1))
///     .clock(Frozen)
///     .build();
/// cache.insert(1, 1);
/// assert_eq!(cache.get(&1), Some(1));
/// ```
///
/// # Range
/// A cache counts time from its clock's first reading (taken when the
/// cache is built), so any origin works, `u64::MAX - 5` included. It holds
/// [`MAX_CACHE_TIME`] (2^62 ns, about 146 years) of it: past that, the
/// cache's time stands still at that reading (entries stop expiring, and
/// nothing breaks). A reading below the first one counts as the first.
pub trait Clock: Send + Sync + 'static {
    /// Nanoseconds since an origin of this clock's choosing. Must never
    /// decrease.
    fn now_nanos(&self) -> u64;
}

/// A per-entry expiry policy (moka's `Expiry`): how long an entry lives
/// after it is created, read or updated. Set it with
/// [`CacheBuilder::expire_after`](crate::cache::CacheBuilder::expire_after).
///
/// Each method returns the entry's time to live *from now*: `Some(d)` (it
/// expires `d` from now), or `None` (no limit from the policy). The
/// default methods keep what the entry has: no limit at creation, the time
/// left at a read or an update.
///
/// **With the cache's other limits.** An entry keeps one deadline: what the
/// policy returns, capped by the cache's time to live counted from the last
/// write (or `insert_with_ttl`'s); the time to idle applies besides.
/// `remaining` is the time until that deadline (`None`: none). So an
/// update under the default `expire_after_update` keeps the deadline the
/// entry had, whichever limit set it (moka would renew the time to live
/// there); return `None` from it to renew.
///
/// Called on the thread of the operation: creation and update while the
/// new entry is built (for a write that races another write of its key,
/// as of the write's first look at the key), a read after the hit. Keep
/// the methods quick and free of cache calls.
///
/// # Examples
/// ```
/// use splitmap::SplitCache;
/// use splitmap::cache::{Expiry, MockClock};
/// use std::time::Duration;
///
/// /// Errors are cached for 1 s, values for a minute.
/// struct ByKind;
/// impl Expiry<u32, Result<String, String>> for ByKind {
///     fn expire_after_create(&self, _k: &u32, v: &Result<String, String>) -> Option<Duration> {
///         Some(if v.is_ok() { Duration::from_secs(60) } else { Duration::from_secs(1) })
///     }
/// }
///
/// let clock = MockClock::new();
/// let cache: SplitCache<u32, Result<String, String>> = SplitCache::builder()
///     .expire_after(ByKind)
///     .clock(clock.clone())
///     .build();
/// cache.insert(1, Ok("one".into()));
/// cache.insert(2, Err("timeout".into()));
/// clock.advance(Duration::from_secs(1));
/// assert!(cache.contains_key(&1));
/// assert!(!cache.contains_key(&2));
/// ```
pub trait Expiry<K, V>: Send + Sync {
    /// The time to live of a new entry (the key had no live entry).
    fn expire_after_create(&self, key: &K, value: &V) -> Option<Duration> {
        let _ = (key, value);
        None
    }

    /// The time to live after a read that found the entry (`get`,
    /// `with_value`, a hit of `get_with` or `get_or_insert_with`).
    fn expire_after_read(
        &self,
        key: &K,
        value: &V,
        remaining: Option<Duration>,
    ) -> Option<Duration> {
        let _ = (key, value);
        remaining
    }

    /// The time to live of a value that replaced a live one (`insert` over
    /// a live key, `compute`, `update`); `remaining` is the old entry's.
    fn expire_after_update(
        &self,
        key: &K,
        value: &V,
        remaining: Option<Duration>,
    ) -> Option<Duration> {
        let _ = (key, value);
        remaining
    }
}

/// How much time a cache holds, from its clock's first reading: 2^62 ns
/// minus one (about 146 years). Later readings are held at this value; see
/// [`Clock`], "Range". (The two bits above it hold an entry's access
/// flags, next to its last access time.)
pub const MAX_CACHE_TIME: Duration = Duration::from_nanos(MAX_READING);

/// [`MAX_CACHE_TIME`] in nanoseconds.
pub(crate) const MAX_READING: u64 = (1 << 62) - 1;

/// The default clock: cheap, with the resolution of the kernel's tick.
///
/// On Linux, `CLOCK_MONOTONIC_COARSE` (3-4 ns per reading, 4 ms resolution
/// on the development VM; see the module docs of `cache::clock`); elsewhere
/// `Instant::now()`.
///
/// # Examples
/// ```
/// use splitmap::cache::{Clock, CoarseClock};
/// let clock = CoarseClock::new();
/// let a = clock.now_nanos();
/// std::thread::sleep(std::time::Duration::from_millis(20));
/// assert!(clock.now_nanos() > a);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CoarseClock {
    #[cfg(not(target_os = "linux"))]
    origin: Instant,
}

impl CoarseClock {
    /// A coarse clock.
    ///
    /// # Examples
    /// ```
    /// use splitmap::cache::Clock;
    /// assert!(splitmap::cache::CoarseClock::new().now_nanos() > 0 || cfg!(not(target_os = "linux")));
    /// ```
    pub fn new() -> Self {
        CoarseClock {
            #[cfg(not(target_os = "linux"))]
            origin: Instant::now(),
        }
    }
}

impl Default for CoarseClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for CoarseClock {
    #[cfg(target_os = "linux")]
    #[inline]
    fn now_nanos(&self) -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable `timespec` for the call's
        // duration, and CLOCK_MONOTONIC_COARSE is a clock id every Linux
        // since 2.6.32 supports; the call writes only `ts`.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        debug_assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC_COARSE) failed");
        (ts.tv_sec as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(ts.tv_nsec as u64)
    }

    #[cfg(not(target_os = "linux"))]
    #[inline]
    fn now_nanos(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

/// A precise clock: `Instant::now()` on every reading (25-38 ns on the
/// development VM). Expiry precision is then the platform's monotonic clock.
///
/// # Examples
/// ```
/// use splitmap::cache::{Clock, StdClock};
/// let clock = StdClock::new();
/// let a = clock.now_nanos();
/// assert!(clock.now_nanos() >= a);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct StdClock {
    origin: Instant,
}

impl StdClock {
    /// A clock whose origin is now.
    ///
    /// # Examples
    /// ```
    /// use splitmap::cache::Clock;
    /// assert!(splitmap::cache::StdClock::new().now_nanos() < 1_000_000_000);
    /// ```
    pub fn new() -> Self {
        StdClock {
            origin: Instant::now(),
        }
    }
}

impl Default for StdClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for StdClock {
    #[inline]
    fn now_nanos(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }
}

/// A clock that moves only when told to: for tests (no sleeping) and
/// simulations. Clones share the same time.
///
/// # Examples
/// ```
/// use splitmap::SplitCache;
/// use splitmap::cache::MockClock;
/// use std::time::Duration;
///
/// let clock = MockClock::new();
/// let cache: SplitCache<&str, u32> = SplitCache::builder()
///     .time_to_live(Duration::from_secs(60))
///     .clock(clock.clone())
///     .build();
/// cache.insert("a", 1);
/// clock.advance(Duration::from_secs(59));
/// assert_eq!(cache.get("a"), Some(1));
/// clock.advance(Duration::from_secs(1)); // exactly at the deadline
/// assert_eq!(cache.get("a"), None);
/// ```
#[derive(Clone)]
pub struct MockClock {
    nanos: Arc<AtomicU64>,
}

impl MockClock {
    /// A clock at time zero.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(splitmap::cache::MockClock::new().now(), std::time::Duration::ZERO);
    /// ```
    pub fn new() -> Self {
        MockClock {
            nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Moves the clock (and every clone of it) forward by `by`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let clock = splitmap::cache::MockClock::new();
    /// clock.advance(Duration::from_millis(5));
    /// assert_eq!(clock.now(), Duration::from_millis(5));
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = duration_nanos(by);
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
    }

    /// The time since the clock's origin.
    ///
    /// # Examples
    /// ```
    /// let clock = splitmap::cache::MockClock::new();
    /// clock.advance(std::time::Duration::from_secs(2));
    /// assert_eq!(clock.now().as_secs(), 2);
    /// ```
    pub fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

impl Default for MockClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MockClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockClock")
            .field("now", &self.now())
            .finish()
    }
}

impl Clock for MockClock {
    #[inline]
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::SeqCst)
    }
}

/// A `Duration` in nanoseconds, saturating at `u64::MAX` (584 years).
pub(crate) fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The clock a cache reads: the default without a virtual call, or the
/// user's.
#[derive(Clone)]
pub(crate) enum ClockSource {
    Coarse(CoarseClock),
    Custom(Arc<dyn Clock>),
}

impl ClockSource {
    #[inline]
    fn read(&self) -> u64 {
        match self {
            ClockSource::Coarse(c) => c.now_nanos(),
            ClockSource::Custom(c) => c.now_nanos(),
        }
    }

    /// The cache's clock: readings from now on, counted from this one.
    pub(crate) fn start(self) -> CacheClock {
        let origin = self.read();
        CacheClock {
            source: self,
            origin,
        }
    }
}

/// A cache's time: its clock's readings less the first one, held at
/// [`MAX_READING`] (see [`Clock`], "Range"). Every deadline and access time
/// of the cache is on this scale, so it fits the access word's 62 bits.
pub(crate) struct CacheClock {
    source: ClockSource,
    origin: u64,
}

impl CacheClock {
    /// The cache's time now, in ns since its first reading.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.source
            .read()
            .saturating_sub(self.origin)
            .min(MAX_READING)
    }
}

impl fmt::Debug for CacheClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.source, f)
    }
}

/// A lower bound on the deadline of every entry of a cache, so the size
/// bound's eviction step knows when no entry can have expired and a live
/// entry may go (`evict.rs`), without walking the list each time.
///
/// Two slots, each a `fetch_min` of deadlines:
/// - a writer that published an entry, or moved an entry's deadline
///   earlier, *notes* the deadline in both slots (a load each; a write
///   only when it is lower than what a slot holds, so uniform TTL traffic
///   writes nothing here);
/// - a *recording walk* (one at a time: a try-flag) resets one slot, the
///   two in turn, then walks the whole list and notes the deadline of
///   every entry it leaves in place.
///
/// Why the minimum of the two slots is a lower bound at every moment: the
/// slot no walk is filling was last reset by a walk that has ended, and
/// every entry alive now was either seen by that walk (published before
/// the reset) or noted itself after the reset; so that slot alone covers
/// every entry, and the other can only be lower. A reader that loads the
/// two slots while a walk ends and the next one resets the other slot
/// could combine two partial slots: the walk counter `seq`, read before
/// and after, catches that, and the reader then answers "may have
/// expired" (the safe answer: the caller walks).
///
/// The ordering argument: a writer's note (SeqCst loads) follows its
/// publishing CAS; a walker's reset (a SeqCst swap) precedes its walk. A
/// note that read the slot before the reset therefore follows a publish
/// the walk sees. This relies on a SeqCst load not being reordered before
/// the AcqRel CAS that precedes it, which holds for the code Rust emits on
/// x86-64 (locked instructions) and AArch64 (LDAR after a release store),
/// though the C++ model alone does not promise it without a fence.
/// The answer is also off for writes in progress (an entry whose note has
/// not landed yet), like every figure of the cache.
pub(crate) struct DeadlineFloor {
    slots: [AtomicU64; 2],
    /// Recording walks begun plus walks ended (odd while one runs).
    seq: AtomicU64,
    /// Try-flag: 1 while a recording walk runs.
    walking: AtomicU64,
}

impl DeadlineFloor {
    pub(crate) fn new() -> Self {
        DeadlineFloor {
            slots: [AtomicU64::new(u64::MAX), AtomicU64::new(u64::MAX)],
            seq: AtomicU64::new(0),
            walking: AtomicU64::new(0),
        }
    }

    /// An entry now alive has a deadline no earlier than `deadline`.
    #[inline]
    pub(crate) fn note(&self, deadline: u64) {
        for slot in &self.slots {
            if deadline < slot.load(Ordering::SeqCst) {
                slot.fetch_min(deadline, Ordering::SeqCst);
            }
        }
    }

    /// `false` only if no entry (but those being written now) can have
    /// expired at `now`.
    #[inline]
    pub(crate) fn may_have_expired(&self, now: u64) -> bool {
        let before = self.seq.load(Ordering::SeqCst);
        let floor = self.slots[0]
            .load(Ordering::SeqCst)
            .min(self.slots[1].load(Ordering::SeqCst));
        let after = self.seq.load(Ordering::SeqCst);
        before != after || floor <= now
    }

    /// Starts a recording walk unless one runs: resets the slot whose turn
    /// it is. The caller walks the whole list, noting every entry it
    /// leaves, then calls [`end_walk`](Self::end_walk).
    pub(crate) fn begin_walk(&self) -> bool {
        if self
            .walking
            .compare_exchange(0, 1, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        self.slots[((seq / 2) & 1) as usize].swap(u64::MAX, Ordering::SeqCst);
        true
    }

    /// Ends the walk [`begin_walk`](Self::begin_walk) started.
    pub(crate) fn end_walk(&self) {
        self.seq.fetch_add(1, Ordering::SeqCst);
        self.walking.store(0, Ordering::SeqCst);
    }
}

impl fmt::Debug for ClockSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClockSource::Coarse(_) => f.write_str("CoarseClock"),
            ClockSource::Custom(_) => f.write_str("custom clock"),
        }
    }
}

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
pub trait Clock: Send + Sync + 'static {
    /// Nanoseconds since an origin of this clock's choosing. Must never
    /// decrease.
    fn now_nanos(&self) -> u64;
}

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
    pub(crate) fn now(&self) -> u64 {
        match self {
            ClockSource::Coarse(c) => c.now_nanos(),
            ClockSource::Custom(c) => c.now_nanos(),
        }
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

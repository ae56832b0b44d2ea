//! The defects that running moka's own sync-cache tests against
//! `SplitCache` found (issue 19 §4), each held by a check that failed
//! before its fix:
//! - expired entries make room before any live entry is evicted (small
//!   scenario repeated over random hash orders, and at scale);
//! - durations beyond the clock's range are reported back as configured;
//! - time to idle works at any clock origin (readings near `u64::MAX`),
//!   and a cache older than its time range stands still instead of
//!   breaking.

use splitmap::cache::{Clock, MockClock, RemovalCause, MAX_CACHE_TIME};
use splitmap::SplitCache;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Heard = Arc<Mutex<Vec<(u64, RemovalCause)>>>;

fn recording(cap: usize, ttl: Duration, clock: &MockClock) -> (SplitCache<u64, u64>, Heard) {
    let heard: Heard = Arc::default();
    let h = Arc::clone(&heard);
    let cache = SplitCache::builder()
        .max_capacity(cap)
        .time_to_live(ttl)
        .clock(clock.clone())
        .eviction_listener(move |k, _v, cause| h.lock().unwrap().push((*k, cause)))
        .build();
    (cache, heard)
}

/// moka's scenario: capacity 2, `a` and `b` expired, insert `c`. Before the
/// fix the eviction step could meet `c` first in hash order and evict it as
/// `Size` (then purge `a` and `b`): 150 of 2,000 rounds failed (each round
/// has a new `RandomState`, so a new hash order).
#[test]
fn expired_entries_make_room_before_a_fresh_insert_is_evicted() {
    let mut failed = Vec::new();
    for round in 0..2000 {
        let clock = MockClock::new();
        let (cache, heard) = recording(2, Duration::from_secs(10), &clock);
        cache.insert(1, 1);
        cache.insert(2, 2);
        clock.advance(Duration::from_secs(10));
        cache.insert(3, 3);
        let mut events = heard.lock().unwrap().clone();
        events.sort();
        if events != [(1, RemovalCause::Expired), (2, RemovalCause::Expired)]
            || cache.get(&3) != Some(3)
            || cache.len() != 1
        {
            failed.push((round, events, cache.len()));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of 2000 rounds evicted a live entry: first {:?}",
        failed.len(),
        failed.first()
    );
}

/// At scale: 640 expired entries, 100 fresh inserts. Before the fix 11-14
/// live entries were evicted as `Size` while ~510 expired ones remained.
#[test]
fn at_scale_no_live_entry_goes_while_expired_ones_remain() {
    for seed in 0..5 {
        let clock = MockClock::new();
        let (cache, heard) = recording(640, Duration::from_secs(10), &clock);
        for k in 0..640 {
            cache.insert(k + seed * 10_000, k);
        }
        clock.advance(Duration::from_secs(10));
        for k in 1000..1100 {
            cache.insert(k + seed * 10_000, k);
        }
        let s = cache.stats();
        assert_eq!(
            s.evicted_size,
            0,
            "live entries evicted as Size while expired ones remained: {:?}",
            heard
                .lock()
                .unwrap()
                .iter()
                .filter(|e| e.1 == RemovalCause::Size)
                .collect::<Vec<_>>()
        );
        for k in 1000..1100 {
            assert_eq!(cache.get(&(k + seed * 10_000)), Some(k));
        }
        assert!(cache.len() <= 640);
    }
}

/// With no entry expired the bound still evicts live entries (the floor
/// does not stop eviction), and entries that expire later are still found
/// first: the floor follows deadlines after a walk reset it.
#[test]
fn the_floor_follows_deadlines_across_walks() {
    let clock = MockClock::new();
    let (cache, heard) = recording(100, Duration::from_secs(10), &clock);
    for round in 0..20u64 {
        // 100 fresh entries per second: the cache is always full of live
        // entries, and every 10 s the oldest expire.
        for k in 0..100 {
            cache.insert(round * 1000 + k, k);
        }
        clock.advance(Duration::from_secs(1));
        assert!(cache.len() <= 100);
    }
    let s = cache.stats();
    assert!(s.evicted_size > 0, "the bound evicted nothing: {s:?}");
    // Now everything expires at once; fresh inserts evict nothing live.
    clock.advance(Duration::from_secs(10));
    heard.lock().unwrap().clear();
    for k in 0..100 {
        cache.insert(1_000_000 + k, k);
    }
    assert!(heard
        .lock()
        .unwrap()
        .iter()
        .all(|e| e.1 == RemovalCause::Expired));
    assert_eq!(cache.len(), 100);
}

/// `time_to_live(1000 years)` used to be reported back as `None` (the
/// nanoseconds saturated to the "never" marker).
#[test]
fn durations_beyond_the_range_are_reported_as_configured() {
    let forever = Duration::from_secs(1000 * 365 * 24 * 3600);
    let cache: SplitCache<u8, u8> = SplitCache::builder()
        .time_to_live(forever)
        .time_to_idle(forever)
        .build();
    assert_eq!(cache.time_to_live(), Some(forever));
    assert_eq!(cache.time_to_idle(), Some(forever));
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), Some(1));
    let unset: SplitCache<u8, u8> = SplitCache::builder().build();
    assert_eq!((unset.time_to_live(), unset.time_to_idle()), (None, None));
}

/// A clock whose origin is near the top of `u64`.
#[derive(Clone)]
struct HighClock(Arc<AtomicU64>);

impl Clock for HighClock {
    fn now_nanos(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Time to idle with readings at and above 2^63: the access word kept
/// `now << 1` and dropped the top bit, so a fresh entry looked idle for
/// ages and was invisible right after `insert`.
#[test]
fn time_to_idle_works_at_any_clock_origin() {
    for origin in [1u64 << 63, u64::MAX - 1_000_000_000_000, (1 << 62) + 7] {
        let now = Arc::new(AtomicU64::new(origin));
        let cache: SplitCache<u8, u8> = SplitCache::builder()
            .time_to_idle(Duration::from_secs(10))
            .max_capacity(10)
            .clock(HighClock(Arc::clone(&now)))
            .build();
        cache.insert(1, 1);
        assert_eq!(cache.get(&1), Some(1), "fresh entry invisible at {origin}");
        now.fetch_add(9_000_000_000, Ordering::SeqCst);
        assert_eq!(cache.get(&1), Some(1), "idle 9 s of 10 at {origin}");
        now.fetch_add(10_000_000_000, Ordering::SeqCst);
        assert_eq!(cache.get(&1), None, "idle 10 s at {origin}");
    }
}

/// Past the cache's time range its time stands still: nothing breaks,
/// entries written then stay readable.
#[test]
fn a_cache_older_than_its_range_holds_its_time() {
    let clock = MockClock::new();
    let cache: SplitCache<u8, u8> = SplitCache::builder()
        .time_to_idle(Duration::from_secs(10))
        .clock(clock.clone())
        .build();
    clock.advance(MAX_CACHE_TIME + Duration::from_secs(1));
    clock.advance(Duration::from_secs(1 << 40)); // far past: held
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), Some(1));
    clock.advance(Duration::from_secs(100));
    assert_eq!(cache.get(&1), Some(1), "time stands still past the range");
}

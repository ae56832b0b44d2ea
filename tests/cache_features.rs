//! What moka users reach for (issue 19 §3), besides loading
//! (`tests/cache_loader.rs`): iteration over live entries, `compute` and
//! `update`, a weigher with its bound in weight, and a per-entry expiry
//! policy. A mock clock drives time; nothing is timed.

use splitmap::cache::{CompResult, Expiry, MockClock, Op, RemovalCause};
use splitmap::SplitCache;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Heard = Arc<Mutex<Vec<(u64, u64, RemovalCause)>>>;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn listener(heard: &Heard) -> impl Fn(&u64, &u64, RemovalCause) + Send + Sync + 'static {
    let h = Arc::clone(heard);
    move |k, v, cause| h.lock().unwrap().push((*k, *v, cause))
}

#[test]
fn iteration_yields_live_entries_only_and_is_not_a_read() {
    let clock = MockClock::new();
    let cache: SplitCache<u64, u64> = SplitCache::builder()
        .time_to_idle(secs(10))
        .clock(clock.clone())
        .build();
    for k in 0..100 {
        cache.insert(k, k * 2);
    }
    clock.advance(secs(5));
    for k in 0..50 {
        assert_eq!(cache.get(&k), Some(k * 2)); // refreshed: idle from t = 5
    }
    let hits_before = cache.stats().hits;
    let mut all: Vec<(u64, u64)> = cache.iter().collect();
    all.sort();
    assert_eq!(all, (0..100).map(|k| (k, k * 2)).collect::<Vec<_>>());
    assert_eq!(cache.stats().hits, hits_before, "iteration counted hits");
    clock.advance(secs(5)); // 50..100 idle for 10 s: expired
    let mut live: Vec<u64> = (&cache).into_iter().map(|(k, _)| k).collect();
    live.sort();
    assert_eq!(live, (0..50).collect::<Vec<_>>());
    // Iterating refreshed nothing: 0..50 expire 10 s after their last read.
    clock.advance(secs(5));
    assert_eq!(cache.iter().count(), 0);
}

#[test]
fn compute_applies_each_decision_and_reports_what_left() {
    let heard: Heard = Arc::default();
    let cache: SplitCache<u64, u64> = SplitCache::builder()
        .eviction_listener(listener(&heard))
        .build();
    assert!(matches!(
        cache.compute(1, |_| Op::Nop),
        CompResult::StillNone
    ));
    assert!(matches!(
        cache.compute(1, |_| Op::Remove),
        CompResult::StillNone
    ));
    assert!(
        matches!(cache.compute(1, |v| { assert!(v.is_none()); Op::Put(10) }), CompResult::Inserted(v) if *v == 10)
    );
    assert!(matches!(cache.compute(1, |_| Op::Nop), CompResult::Unchanged(v) if *v == 10));
    assert!(
        matches!(cache.compute(1, |v| Op::Put(v.unwrap() + 1)), CompResult::ReplacedWith(v) if *v == 11)
    );
    assert!(matches!(cache.compute(1, |_| Op::Remove), CompResult::Removed(v) if *v == 11));
    assert_eq!(cache.get(&1), None);
    assert_eq!(
        *heard.lock().unwrap(),
        [
            (1, 10, RemovalCause::Replaced),
            (1, 11, RemovalCause::Removed)
        ]
    );
    cache.insert(2, 5);
    assert_eq!(cache.update(&2, |v| v * 3).as_deref(), Some(&15));
    assert!(cache.update(&3, |v| v * 3).is_none());
    assert_eq!(cache.get(&2), Some(15));
    let s = cache.stats();
    assert_eq!((s.insertions, s.replaced, s.removed), (2, 2, 1));
    assert_eq!(cache.len(), 1);
}

/// Four threads add to one key with `compute` and `update`: no update is
/// lost. Planted bug (the replacement not conditional on the entry the
/// closure saw: `.only(old)` taken out): a stale decision met a newer entry
/// and the "decided twice" check fired within the first run.
#[test]
fn concurrent_computes_lose_no_update() {
    let heard: Heard = Arc::default();
    let cache: SplitCache<u64, u64> = SplitCache::builder()
        .eviction_listener(listener(&heard))
        .build();
    cache.insert(0, 0);
    std::thread::scope(|s| {
        for t in 0..4 {
            let cache = &cache;
            s.spawn(move || {
                // The closures yield, so other threads write between a
                // closure's read and its CAS.
                let bump = |v: Option<&u64>| {
                    std::thread::yield_now();
                    Op::Put(v.map_or(1, |n| n + 1))
                };
                for _ in 0..500 {
                    if t % 2 == 0 {
                        cache.compute(0, bump);
                    } else {
                        cache.update(&0, |n| {
                            std::thread::yield_now();
                            n + 1
                        });
                    }
                    cache.compute(0, bump);
                }
            });
        }
    });
    assert_eq!(cache.get(&0), Some(4000));
    // Every value but the last left once, as Replaced.
    let mut gone: Vec<u64> = heard.lock().unwrap().iter().map(|h| h.1).collect();
    gone.sort();
    assert_eq!(gone, (0..4000).collect::<Vec<_>>());
}

/// The weighted bound after every insert (one thread: no write in flight,
/// so no slack), replacements that weigh more included, and every departure
/// giving back its entry's weight.
#[test]
fn the_weighted_bound_holds_after_every_insert() {
    let heard: Heard = Arc::default();
    let cache: SplitCache<u64, u64> = SplitCache::builder()
        .max_capacity(1000)
        .weigher(|_k, v| (*v % 97) as u32 + 1)
        .eviction_listener(listener(&heard))
        .build();
    let mut model: HashMap<u64, u64> = HashMap::new();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..20_000u64 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let k = rng % 300;
        let v = i;
        cache.insert(k, v);
        let w = cache.stats().weighted_size.expect("weighted");
        assert!(w <= 1000, "weight {w} over the bound after insert {i}");
        model.insert(k, v);
    }
    // Exactly once, with the weights adding up.
    let heard = heard.lock().unwrap();
    let inserted: u64 = (0..20_000u64).map(|v| v % 97 + 1).sum();
    let departed: u64 = heard.iter().map(|h| h.1 % 97 + 1).sum();
    let left: u64 = cache.iter().map(|(_, v)| v % 97 + 1).sum();
    assert_eq!(inserted, departed + left);
    assert_eq!(cache.stats().weighted_size, Some(left));
    let mut values: Vec<u64> = heard.iter().map(|h| h.1).collect();
    values.extend(cache.iter().map(|(_, v)| v));
    values.sort();
    assert_eq!(values, (0..20_000).collect::<Vec<_>>(), "every value once");
}

#[test]
fn an_entry_heavier_than_the_bound_does_not_stay() {
    let cache: SplitCache<u64, u64> = SplitCache::builder()
        .max_capacity(10)
        .weigher(|_k, v| *v as u32)
        .build();
    cache.insert(1, 3);
    cache.insert(2, 3);
    cache.insert(3, 50);
    assert!(cache.stats().weighted_size.unwrap() <= 10);
    assert!(!cache.contains_key(&3));
    // A replacement that weighs more evicts too.
    cache.insert(4, 2);
    cache.insert(1, 9);
    assert!(cache.stats().weighted_size.unwrap() <= 10);
}

/// A policy: values ≥ 100 live 100 s, others 10 s; a read grants 20 s
/// more; an update keeps the time left (the default).
struct Policy;

impl Expiry<u64, u64> for Policy {
    fn expire_after_create(&self, _k: &u64, v: &u64) -> Option<Duration> {
        Some(secs(if *v >= 100 { 100 } else { 10 }))
    }
    fn expire_after_read(&self, _k: &u64, _v: &u64, _left: Option<Duration>) -> Option<Duration> {
        Some(secs(20))
    }
}

#[test]
fn the_expiry_policy_sets_deadlines_at_create_read_and_update() {
    let heard: Heard = Arc::default();
    let clock = MockClock::new();
    let cache: SplitCache<u64, u64> = SplitCache::builder()
        .expire_after(Policy)
        .time_to_live(secs(50)) // caps the policy's 100 s
        .eviction_listener(listener(&heard))
        .clock(clock.clone())
        .build();
    cache.insert(1, 5); // 10 s
    cache.insert(2, 500); // 100 s, capped at 50 s
    cache.insert(3, 5); // 10 s, then read at 9 s: 20 s from then
    clock.advance(secs(9));
    assert_eq!(cache.get(&3), Some(5));
    cache.insert(1, 6); // update at 9 s: keeps 1 s left
    clock.advance(secs(1)); // t = 10
    assert_eq!(cache.get(&1), None, "the update kept the time left");
    assert!(cache.contains_key(&3));
    clock.advance(secs(18)); // t = 28: 3 was read at 9, +20 = 29
    assert!(cache.contains_key(&3));
    clock.advance(secs(1)); // t = 29
    assert!(!cache.contains_key(&3));
    assert!(cache.contains_key(&2));
    clock.advance(secs(21)); // t = 50: the time to live caps the policy
    assert!(!cache.contains_key(&2));
    cache.purge_expired();
    let mut heard = heard.lock().unwrap().clone();
    heard.sort();
    assert_eq!(
        heard,
        [
            (1, 5, RemovalCause::Replaced),
            (1, 6, RemovalCause::Expired),
            (2, 500, RemovalCause::Expired),
            (3, 5, RemovalCause::Expired),
        ]
    );
}

/// A policy's deadline that moves *earlier* at a read still lets expired
/// entries make room before live ones (the read notes it in the floor).
struct Shorten;

impl Expiry<u64, u64> for Shorten {
    fn expire_after_read(&self, _k: &u64, _v: &u64, _left: Option<Duration>) -> Option<Duration> {
        Some(secs(1))
    }
}

#[test]
fn a_deadline_moved_earlier_by_a_read_is_found_before_live_entries() {
    let clock = MockClock::new();
    let cache: SplitCache<u64, u64> = SplitCache::builder()
        .expire_after(Shorten)
        .max_capacity(10)
        .clock(clock.clone())
        .build();
    for k in 0..10 {
        cache.insert(k, k);
    }
    // Make sure the floor has been raised by a walk first.
    cache.purge_expired();
    assert_eq!(cache.get(&7), Some(7)); // expires 1 s from now
    clock.advance(secs(1));
    cache.insert(100, 100);
    let s = cache.stats();
    assert_eq!((s.expired, s.evicted_size), (1, 0));
    assert_eq!(cache.len(), 10);
}

/// A clock that counts its readings (and says a time the test sets).
#[derive(Clone, Default)]
struct CountingClock {
    readings: Arc<AtomicUsize>,
    now: Arc<AtomicU64>,
}

impl splitmap::cache::Clock for CountingClock {
    fn now_nanos(&self) -> u64 {
        self.readings.fetch_add(1, Ordering::Relaxed);
        self.now.load(Ordering::Relaxed)
    }
}

/// A read of a cache without expiry never reads the clock (hit or miss);
/// with a time to live, a hit reads it and still sees the deadline.
#[test]
fn reads_take_a_clock_reading_only_when_an_entry_can_expire() {
    let clock = CountingClock::default();
    let cache: SplitCache<u64, u64> = SplitCache::builder()
        .max_capacity(100)
        .clock(clock.clone())
        .build();
    cache.insert(1, 10);
    let before = clock.readings.load(Ordering::Relaxed);
    assert_eq!(cache.get(&1), Some(10));
    assert_eq!(cache.get(&2), None);
    assert!(cache.contains_key(&1));
    assert_eq!(
        clock.readings.load(Ordering::Relaxed),
        before,
        "no expiry, no reading"
    );

    // An entry with a deadline: the read takes a reading and honours it.
    cache.insert_with_ttl(3, 30, Duration::from_secs(1));
    let before = clock.readings.load(Ordering::Relaxed);
    assert_eq!(cache.get(&3), Some(30));
    assert_eq!(clock.readings.load(Ordering::Relaxed), before + 1);
    clock.now.store(2_000_000_000, Ordering::Relaxed);
    assert_eq!(cache.get(&3), None, "expired at the new reading");
    assert_eq!(cache.get(&1), Some(10), "never expires");
}

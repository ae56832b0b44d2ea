//! `SplitCache` under four threads mixing reads, writes, removals, expiry
//! (one thread advances the test clock) and eviction (a small bound), with
//! a listener that counts per cause and marks every value it is told about.
//! By the end every value inserted has been reported gone exactly once, the
//! per-cause counts agree with `stats()`, the bound held within its stated
//! slack after every insert, and every value is dropped exactly once.
//!
//! Ops per thread: `SPLITMAP_CACHE_STRESS_OPS` (default 20,000; `.ci/cache.sh`
//! runs 400,000).

mod common;

use common::tracked::{Ledger, Tracked};
use common::{flush_epoch, scaled, with_each_config, Config, TestHasher};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use splitmap::{MockClock, RemovalCause, SplitCache};
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const THREADS: usize = 4;
const CAP: usize = 200;
const KEYS: u64 = 1000;

fn ops_per_thread() -> usize {
    std::env::var("SPLITMAP_CACHE_STRESS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| scaled(20_000))
}

/// What the listener heard: per value id, how many reports; per cause, how
/// many.
struct Heard {
    per_value: Vec<AtomicU8>,
    per_cause: [AtomicUsize; 4],
}

fn cause_index(c: RemovalCause) -> usize {
    match c {
        RemovalCause::Expired => 0,
        RemovalCause::Size => 1,
        RemovalCause::Removed => 2,
        RemovalCause::Replaced => 3,
    }
}

fn run(config: &Config, seed: u64) {
    let ops = ops_per_thread();
    let max_values = THREADS * ops + 1;
    let heard = Arc::new(Heard {
        per_value: (0..max_values).map(|_| AtomicU8::new(0)).collect(),
        per_cause: Default::default(),
    });
    let ledger = Ledger::new();
    let clock = MockClock::new();
    let h = Arc::clone(&heard);
    let cache: SplitCache<u64, Tracked, TestHasher> = SplitCache::builder()
        .layout(config.min_log2, config.load_factor)
        .clock(clock.clone())
        .time_to_live(Duration::from_millis(50))
        .time_to_idle(Duration::from_millis(20))
        .max_capacity(CAP)
        .eviction_listener(move |_k, v: &Tracked, cause| {
            let n = h.per_value[v.value as usize].fetch_add(1, Ordering::Relaxed);
            assert_eq!(n, 0, "value {} reported twice ({cause:?})", v.value);
            h.per_cause[cause_index(cause)].fetch_add(1, Ordering::Relaxed);
        })
        .build_with_hasher(TestHasher(config.mode));
    let next_value = AtomicU64::new(0);
    let max_len = AtomicUsize::new(0);
    // Values a get_or_insert_with made and then dropped unpublished (it
    // lost the key to a concurrent insert): never in the cache.
    let lost = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (cache, ledger, clock, next_value, max_len, lost) =
                (&cache, &ledger, &clock, &next_value, &max_len, &lost);
            s.spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed * 100 + t as u64);
                for _ in 0..ops {
                    let k = rng.gen_range(0..KEYS);
                    match rng.gen_range(0..100) {
                        0..=44 => {
                            let _ = cache.get_with(&k, |v| v.value);
                        }
                        45..=74 => {
                            let v = next_value.fetch_add(1, Ordering::Relaxed);
                            let value = Tracked::new(v, ledger);
                            if rng.gen_bool(0.1) {
                                cache.insert_with_ttl(k, value, Duration::from_millis(5));
                            } else {
                                cache.insert(k, value);
                            }
                            let len = cache.len();
                            max_len.fetch_max(len, Ordering::Relaxed);
                            assert!(len <= CAP + THREADS, "len {len} over {CAP} + {THREADS}");
                        }
                        75..=84 => {
                            let _ = cache.remove(&k);
                        }
                        85..=89 => {
                            let v = next_value.fetch_add(1, Ordering::Relaxed);
                            let mut made = false;
                            let got = cache
                                .get_or_insert_with(k, || {
                                    made = true;
                                    Tracked::new(v, ledger)
                                })
                                .value;
                            if made && got != v {
                                lost.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        90 => {
                            cache.retain(|k, _| k % 7 != 0);
                        }
                        91 => {
                            cache.purge_expired();
                        }
                        _ => {
                            if t == 0 {
                                clock.advance(Duration::from_millis(1));
                            }
                        }
                    }
                }
            });
        }
    });
    cache.clear();
    let created = next_value.load(Ordering::Relaxed) as usize;
    // get_or_insert_with may draw a value id and not use it, or make a
    // value and lose the key to a concurrent insert.
    let values_made = ledger.created() - lost.load(Ordering::Relaxed);
    let mut reported = 0;
    for v in 0..created {
        reported += heard.per_value[v].load(Ordering::Relaxed) as usize;
    }
    assert_eq!(
        reported, values_made,
        "every value made is reported gone exactly once"
    );
    let s = cache.stats();
    let by_cause: Vec<u64> = heard
        .per_cause
        .iter()
        .map(|c| c.load(Ordering::Relaxed) as u64)
        .collect();
    assert_eq!(by_cause, [s.expired, s.evicted_size, s.removed, s.replaced]);
    assert_eq!(s.departures(), s.insertions + s.replaced);
    assert!(
        by_cause.iter().all(|&n| n > 0),
        "every cause exercised: {by_cause:?}"
    );
    assert_eq!(cache.len(), 0);
    eprintln!(
        "{}: {values_made} values, causes {by_cause:?}, max len {}",
        config.name,
        max_len.load(Ordering::Relaxed)
    );
    drop(cache);
    for round in 0..2000 {
        if ledger.alive() == 0 {
            break;
        }
        flush_epoch();
        if round > 16 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(ledger.alive(), 0, "values dropped exactly once");
}

#[test]
fn four_threads_every_value_reported_once() {
    with_each_config(|config| run(config, 1));
}

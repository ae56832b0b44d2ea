//! De-duplicated loading (`get_with`, `try_get_with`, `optionally_get_with`;
//! issue 19 §3): one loader per key at a time, its value (or error, or
//! `None`) handed to the callers that waited, nothing left behind by a
//! failing or panicking loader, and other keys never waiting.
//!
//! No timing: each loader blocks until the cache reports the expected
//! number of waiters (`CacheStats::load_waiters`), so the waiting is
//! certain, not likely.

use splitmap::SplitCache;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// Spins (yielding) until `cond` holds; panics after a generous bound so a
/// broken protocol fails instead of hanging the suite.
fn until(what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "gave up waiting for {what}"
        );
        std::thread::yield_now();
    }
}

const THREADS: usize = 4;

/// moka's `get_with` scenario: four threads on a cold key ran the loader
/// four times before (each `get_or_insert_with` ran its own); now one load
/// runs and all four get its value. Planted bug (every caller claims the
/// load as its own): no caller ever waited, every loader gave up waiting
/// for the other three, and this test and four others failed (the race
/// test with "two loads of key k at once").
#[test]
fn concurrent_callers_of_one_key_share_one_load() {
    for _ in 0..20 {
        let cache: SplitCache<u32, String> = SplitCache::new(100);
        let runs = AtomicUsize::new(0);
        let results: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        cache.get_with(7, || {
                            runs.fetch_add(1, Ordering::SeqCst);
                            until("the other callers to wait", || {
                                cache.stats().load_waiters == THREADS - 1
                            });
                            "seven".to_string()
                        })
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(results.iter().all(|v| v == "seven"));
        let s = cache.stats();
        assert_eq!((s.loads_in_progress, s.load_waiters), (0, 0));
        assert_eq!(s.insertions, 1);
        assert_eq!(cache.get(&7).as_deref(), Some("seven"));
    }
}

/// A failing loader: its caller and every waiter get the same error (one
/// `Arc`), nothing is cached, the placeholder is gone, the next call loads
/// again.
#[test]
fn a_failing_loader_hands_its_error_to_every_waiter_and_caches_nothing() {
    let cache: SplitCache<u32, u32> = SplitCache::new(100);
    let runs = AtomicUsize::new(0);
    let results: Vec<Result<u32, Arc<String>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    cache.try_get_with(1, || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        until("the waiters", || cache.stats().load_waiters == THREADS - 1);
                        Err("backend down".to_string())
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let errors: Vec<Arc<String>> = results
        .into_iter()
        .map(|r| r.expect_err("every caller gets the error"))
        .collect();
    assert!(errors.iter().all(|e| Arc::ptr_eq(e, &errors[0])));
    assert_eq!(*errors[0], "backend down");
    assert!(!cache.contains_key(&1));
    let s = cache.stats();
    assert_eq!(
        (s.loads_in_progress, s.load_waiters, s.insertions),
        (0, 0, 0)
    );
    assert_eq!(cache.try_get_with(1, || Ok::<_, String>(5)), Ok(5));
}

/// A waiter of another kind (`get_with`, which needs a value) does not take
/// another's error: it loads again with its own loader.
#[test]
fn a_waiter_of_another_kind_loads_again() {
    let cache: SplitCache<u32, u32> = SplitCache::new(100);
    std::thread::scope(|s| {
        let failing = s.spawn(|| {
            cache.try_get_with(1, || {
                until("the waiter", || cache.stats().load_waiters == 1);
                Err(())
            })
        });
        until("the failing load to start", || {
            cache.stats().loads_in_progress == 1
        });
        let v = cache.get_with(1, || 9);
        assert_eq!(v, 9);
        assert_eq!(failing.join().unwrap(), Err(Arc::new(())));
    });
    assert_eq!(cache.get(&1), Some(9));
    assert_eq!(cache.stats().loads_in_progress, 0);
}

/// A panicking loader: the panic reaches its caller, the waiters wake and
/// one of them loads (once) for the others, and no placeholder is left.
/// Planted bug (the drop guard ending nothing): the waiters never woke and
/// the test failed at its 60 s bound ("never returned").
#[test]
fn a_panicking_loader_wakes_its_waiters_and_leaves_nothing_behind() {
    // The scenario runs on its own thread, so waiters that never wake fail
    // the test (after a generous bound) instead of hanging the suite.
    let (done, report) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(panicking_loader_scenario());
    });
    let (panics, ok, second_runs, s, after) = report
        .recv_timeout(Duration::from_secs(60))
        .expect("the waiters of the panicking loader never returned");
    assert_eq!(panics, 1, "only the loader's caller sees its panic");
    assert!(ok.iter().all(|&v| v == 33), "{ok:?}");
    assert_eq!(ok.len(), THREADS - 1);
    assert_eq!(second_runs, 1, "one load after the panic");
    assert_eq!((s.loads_in_progress, s.load_waiters), (0, 0));
    assert_eq!(after, Some(33));
}

type PanicReport = (
    usize,
    Vec<u32>,
    usize,
    splitmap::cache::CacheStats,
    Option<u32>,
);

fn panicking_loader_scenario() -> PanicReport {
    let cache: SplitCache<u32, u32> = SplitCache::new(100);
    let second_runs = AtomicUsize::new(0);
    let panicked = AtomicBool::new(false);
    let go = Barrier::new(THREADS);
    let results: Vec<std::thread::Result<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    go.wait();
                    catch_unwind(AssertUnwindSafe(|| {
                        cache.get_with(3, || {
                            if !panicked.swap(true, Ordering::SeqCst) {
                                until("the waiters", || cache.stats().load_waiters == THREADS - 1);
                                panic!("loader failed hard");
                            }
                            second_runs.fetch_add(1, Ordering::SeqCst);
                            33
                        })
                    }))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let panics = results.iter().filter(|r| r.is_err()).count();
    let ok = results.into_iter().filter_map(Result::ok).collect();
    (
        panics,
        ok,
        second_runs.load(Ordering::SeqCst),
        cache.stats(),
        cache.get(&3),
    )
}

/// The optional form: `None` goes to the waiters of the optional kind and
/// caches nothing.
#[test]
fn an_optional_loader_hands_none_to_its_waiters() {
    let cache: SplitCache<u32, u32> = SplitCache::new(100);
    let runs = AtomicUsize::new(0);
    let results: Vec<Option<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    cache.optionally_get_with(2, || {
                        runs.fetch_add(1, Ordering::SeqCst);
                        until("the waiters", || cache.stats().load_waiters == THREADS - 1);
                        None
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(results.iter().all(Option::is_none));
    assert!(cache.is_empty());
    assert_eq!(cache.stats().loads_in_progress, 0);
}

/// Other keys never wait: while key 1's loader blocks, loads and every
/// other operation on other keys complete.
#[test]
fn other_keys_never_wait() {
    let cache: SplitCache<u32, u32> = SplitCache::new(1000);
    let others_done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let slow = s.spawn(|| {
            cache.get_with(1, || {
                until("the other keys' operations", || {
                    others_done.load(Ordering::SeqCst)
                });
                1
            })
        });
        until("key 1's load to start", || {
            cache.stats().loads_in_progress == 1
        });
        for k in 2..200 {
            assert_eq!(cache.get_with(k, || k * 10), k * 10);
            assert_eq!(cache.try_get_with(k + 1000, || Ok::<_, ()>(k)), Ok(k));
        }
        cache.insert(5000, 1);
        assert_eq!(cache.remove(&5000).as_deref(), Some(&1));
        others_done.store(true, Ordering::SeqCst);
        assert_eq!(slow.join().unwrap(), 1);
    });
    assert_eq!(cache.stats().loads_in_progress, 0);
}

/// A value in the cache is returned without a load (a hit); a value that
/// appears while a load runs (an `insert`) is everyone's answer.
#[test]
fn a_live_value_wins_over_a_load() {
    let cache: SplitCache<u32, u32> = SplitCache::new(100);
    cache.insert(1, 10);
    assert_eq!(
        cache.get_with(1, || unreachable!("a hit loads nothing")),
        10
    );
    let v = cache.get_with(2, || {
        cache.insert(2, 20); // a writer got there first
        99
    });
    assert_eq!(v, 20);
    assert_eq!(cache.get(&2), Some(20));
    let s = cache.stats();
    assert_eq!((s.hits, s.misses), (2, 1));
}

/// Many threads, many keys, loads racing removals, expiry and eviction:
/// every call returns a value its key's loader produced, no placeholder is
/// left, and each key's loads never overlap.
#[test]
fn loads_race_removals_and_eviction() {
    let cache: SplitCache<u64, u64> = SplitCache::builder().max_capacity(32).build();
    let in_load: Vec<AtomicUsize> = (0..64).map(|_| AtomicUsize::new(0)).collect();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (cache, in_load) = (&cache, &in_load);
            s.spawn(move || {
                for i in 0..4000u64 {
                    let k = (i * 7 + t * 13) % 64;
                    match i % 5 {
                        0 => {
                            cache.remove(&k);
                        }
                        1 => {
                            cache.insert(k, k * 1000 + 1);
                        }
                        _ => {
                            let v = cache.get_with(k, || {
                                let before = in_load[k as usize].fetch_add(1, Ordering::SeqCst);
                                assert_eq!(before, 0, "two loads of key {k} at once");
                                std::thread::yield_now();
                                in_load[k as usize].fetch_sub(1, Ordering::SeqCst);
                                k * 1000
                            });
                            assert!(v == k * 1000 || v == k * 1000 + 1, "key {k}: {v}");
                        }
                    }
                }
            });
        }
    });
    let s = cache.stats();
    assert_eq!((s.loads_in_progress, s.load_waiters), (0, 0));
    assert!(cache.len() <= 32);
}

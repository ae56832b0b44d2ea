//! `SplitCache` with a weigher under four threads mixing de-duplicated
//! loads (`get_with`, a failing `try_get_with`), inserts, `compute`,
//! removals, reads and expiry (thread 0 advances the test clock). Every
//! value is a unique id, weighing `id % 13 + 1`. Checks:
//!
//! - each value that entered the cache is reported exactly once, and no
//!   other value is (a loaded value that lost to a concurrent write, a
//!   failed load: never);
//! - per value, the cause fits what the threads did: `Replaced` exactly for
//!   the values a write replaced (`insert` handed it back, or `compute`
//!   replaced the value its closure saw), `Removed` only for values a
//!   `remove` or `compute` took out or the final clear removed, otherwise
//!   `Expired` or `Size`;
//! - no two loads of one key overlap, and every load's caller and waiters
//!   get a value of their key;
//! - the weighted bound after every write: `weighted_size <= cap + THREADS
//!   * 13` (each write in flight is over by at most its own weight);
//! - at the end: no load in progress, no weight left.
//!
//! Ops per thread: `SPLITMAP_CACHE_STRESS_OPS` (default 20,000).

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use splitmap::cache::{CompResult, MockClock, Op, RemovalCause};
use splitmap::SplitCache;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const THREADS: usize = 4;
const CAP: usize = 600;
const KEYS: u64 = 400;
const MAX_W: usize = 13;

fn ops_per_thread() -> usize {
    std::env::var("SPLITMAP_CACHE_STRESS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

fn weight(v: u64) -> u32 {
    (v % MAX_W as u64) as u32 + 1
}

const PUBLISHED: u8 = 1;
const REPLACED: u8 = 2;
const REMOVED: u8 = 4;

struct Records {
    key: Vec<AtomicU64>,
    did: Vec<AtomicU8>,
    reports: Vec<AtomicU8>,
    cause: Vec<AtomicU8>,
    in_clear: Vec<AtomicBool>,
    clearing: AtomicBool,
}

fn code(c: RemovalCause) -> u8 {
    match c {
        RemovalCause::Expired => 1,
        RemovalCause::Size => 2,
        RemovalCause::Removed => 3,
        RemovalCause::Replaced => 4,
    }
}

impl Records {
    fn new(n: usize) -> Self {
        let v = |x: u8| (0..n).map(|_| AtomicU8::new(x)).collect();
        Records {
            key: (0..n).map(|_| AtomicU64::new(u64::MAX)).collect(),
            did: v(0),
            reports: v(0),
            cause: v(0),
            in_clear: (0..n).map(|_| AtomicBool::new(false)).collect(),
            clearing: AtomicBool::new(false),
        }
    }
    fn set(&self, v: u64, bit: u8) {
        self.did[v as usize].fetch_or(bit, Ordering::Relaxed);
    }
    fn check_key(&self, v: u64, k: u64, what: &str) {
        assert_eq!(
            self.key[v as usize].load(Ordering::Relaxed),
            k,
            "{what} of key {k} gave value {v}, made for another key"
        );
    }
}

fn run(seed: u64) {
    let ops = ops_per_thread();
    let n = THREADS * ops * 2 + 1;
    let rec = Arc::new(Records::new(n));
    let clock = MockClock::new();
    let r2 = Arc::clone(&rec);
    let cache: SplitCache<u64, u64> = SplitCache::builder()
        .max_capacity(CAP)
        .weigher(|_k, v| weight(*v))
        .time_to_live(Duration::from_millis(50))
        .clock(clock.clone())
        .eviction_listener(move |_k, v, cause| {
            let i = *v as usize;
            let before = r2.reports[i].fetch_add(1, Ordering::Relaxed);
            assert_eq!(before, 0, "value {v} reported twice ({cause:?})");
            r2.cause[i].store(code(cause), Ordering::Relaxed);
            r2.in_clear[i].store(r2.clearing.load(Ordering::Relaxed), Ordering::Relaxed);
        })
        .build();
    let next = AtomicU64::new(0);
    let in_load: Vec<AtomicUsize> = (0..KEYS).map(|_| AtomicUsize::new(0)).collect();
    let fresh = |k: u64| {
        let v = next.fetch_add(1, Ordering::Relaxed);
        rec.key[v as usize].store(k, Ordering::Relaxed);
        v
    };
    let bound = |what: &str| {
        let w = cache.stats().weighted_size.expect("weighted") as usize;
        assert!(w <= CAP + THREADS * MAX_W, "weight {w} after {what}");
    };
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (cache, rec, clock, in_load) = (&cache, &*rec, &clock, &in_load);
            let (fresh, bound) = (&fresh, &bound);
            s.spawn(move || {
                let mut rng = StdRng::seed_from_u64(seed * 100 + t as u64);
                for _ in 0..ops {
                    let k = rng.random_range(0..KEYS);
                    match rng.random_range(0..100) {
                        0..=34 => {
                            if let Some(v) = cache.get(&k) {
                                rec.check_key(v, k, "get");
                            }
                        }
                        35..=54 => {
                            let v = fresh(k);
                            rec.set(v, PUBLISHED);
                            if let Some(o) = cache.insert(k, v).map(|o| *o) {
                                rec.check_key(o, k, "insert");
                                rec.set(o, REPLACED);
                            }
                            bound("insert");
                        }
                        55..=74 => {
                            let mut made = None;
                            let got = cache.get_with(k, || {
                                let before = in_load[k as usize].fetch_add(1, Ordering::SeqCst);
                                assert_eq!(before, 0, "two loads of key {k} at once");
                                std::thread::yield_now();
                                in_load[k as usize].fetch_sub(1, Ordering::SeqCst);
                                let v = fresh(k);
                                made = Some(v);
                                v
                            });
                            rec.check_key(got, k, "get_with");
                            if made == Some(got) {
                                rec.set(got, PUBLISHED);
                            }
                            bound("get_with");
                        }
                        75..=79 => {
                            let r = cache.try_get_with(k, || {
                                let before = in_load[k as usize].fetch_add(1, Ordering::SeqCst);
                                assert_eq!(before, 0, "two loads of key {k} at once");
                                in_load[k as usize].fetch_sub(1, Ordering::SeqCst);
                                Err(k)
                            });
                            match r {
                                Ok(v) => rec.check_key(v, k, "try_get_with"),
                                Err(e) => assert_eq!(*e, k),
                            }
                        }
                        80..=87 => {
                            let v = fresh(k);
                            let mut saw = None;
                            let r = cache.compute(k, |cur| {
                                saw = cur.copied();
                                match cur {
                                    Some(c) if c % 3 == 0 => Op::Remove,
                                    _ => Op::Put(v),
                                }
                            });
                            match r {
                                CompResult::Inserted(n) => {
                                    assert_eq!(*n, v);
                                    rec.set(v, PUBLISHED);
                                }
                                CompResult::ReplacedWith(n) => {
                                    assert_eq!(*n, v);
                                    rec.set(v, PUBLISHED);
                                    rec.set(saw.expect("replaced a value"), REPLACED);
                                }
                                CompResult::Removed(o) => {
                                    assert_eq!(Some(*o), saw);
                                    rec.set(*o, REMOVED);
                                }
                                other => panic!("compute: {other:?}"),
                            }
                            bound("compute");
                        }
                        88..=94 => {
                            if let Some(o) = cache.remove(&k).map(|o| *o) {
                                rec.check_key(o, k, "remove");
                                rec.set(o, REMOVED);
                            }
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
    clock.advance(Duration::from_millis(5));
    rec.clearing.store(true, Ordering::Relaxed);
    cache.clear();
    let s = cache.stats();
    assert_eq!((cache.len(), s.weighted_size), (0, Some(0)));
    assert_eq!((s.loads_in_progress, s.load_waiters), (0, 0));
    let created = next.load(Ordering::Relaxed) as usize;
    let mut causes = [0usize; 5];
    for v in 0..created {
        let did = rec.did[v].load(Ordering::Relaxed);
        let reports = rec.reports[v].load(Ordering::Relaxed);
        assert_eq!(
            reports,
            u8::from(did & PUBLISHED != 0),
            "value {v} (did {did:#b}) reported {reports} times"
        );
        if reports == 0 {
            continue;
        }
        let cause = rec.cause[v].load(Ordering::Relaxed);
        causes[cause as usize] += 1;
        let in_clear = rec.in_clear[v].load(Ordering::Relaxed);
        let what = format!("value {v} (did {did:#b}, cause {cause}, in clear {in_clear})");
        assert_eq!(
            cause == code(RemovalCause::Replaced),
            did & REPLACED != 0,
            "{what}: Replaced exactly when a write replaced it"
        );
        if did & REMOVED != 0 {
            assert_eq!(cause, code(RemovalCause::Removed), "{what}");
        }
        if cause == code(RemovalCause::Removed) {
            assert!(did & REMOVED != 0 || in_clear, "{what}");
        }
        if did & (REPLACED | REMOVED) == 0 && !in_clear {
            assert!(
                cause == code(RemovalCause::Expired) || cause == code(RemovalCause::Size),
                "{what}"
            );
        }
    }
    eprintln!("{created} value ids; causes (expired, size, removed, replaced) {causes:?}");
    assert!(
        causes[1..].iter().all(|&n| n > 0),
        "every cause: {causes:?}"
    );
}

#[test]
fn loads_and_weights_every_value_reported_once_with_its_cause() {
    run(1);
}

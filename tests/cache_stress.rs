//! `SplitCache` under four threads mixing reads, writes, removals, expiry
//! (one thread advances the test clock) and eviction (a small bound), with
//! a listener that re-enters the cache. Every value has a unique id; the
//! threads record what they did with each (its key, when it was inserted,
//! whether an insert or a remove handed it back, whether a `retain`
//! rejected it), and the listener records how it was reported (how often,
//! why, on which thread). The checks hold the two against each other:
//!
//! - each value that entered the cache is reported exactly once, and no
//!   other value is;
//! - per value, the cause fits what the threads did: a value an insert
//!   returned is `Replaced`, and only those are; a value a `remove` returned
//!   is `Removed`; a `Removed` value was returned by a `remove`, rejected by
//!   a `retain`, or left at the final clear; a value no thread removed can
//!   only be `Expired` or `Size`; `Expired` only once the clock reached its
//!   insert time plus the shortest life it had; `Size` only on a thread
//!   running an insert (the only operations here that run an eviction
//!   step); the final clear reports only `Removed` and `Expired`;
//! - per cause, the listener's counts equal the threads' own (returned
//!   values, `retain`'s counts), and so do `stats()`'s;
//! - a value handed back by `insert` or `remove` was reported on that
//!   thread, before the call returned;
//! - every value a read returned is of the key read;
//! - the listener's re-entrant read of the key it is told about never
//!   returns the departing value, and its re-entrant removes (a concurrent
//!   writer's view) are accounted like any other;
//! - the bound held within its slack after every insert (`len()`), and at
//!   checkpoints where all threads wait, the list's own entry count (the
//!   raw map's, not the cache's counter) is within the bound and equal to
//!   `len()`;
//! - every value is dropped exactly once.
//!
//! Ops per thread: `SPLITMAP_CACHE_STRESS_OPS` (default 20,000; `.ci/cache.sh`
//! runs 400,000).

mod common;

use common::tracked::{Ledger, Tracked};
use common::{flush_epoch, scaled, with_each_config, Config, TestHasher};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use splitmap::cache::{MockClock, RemovalCause};
use splitmap::SplitCache;
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

const THREADS: usize = 4;
const CAP: usize = 200;
const KEYS: u64 = 1000;
/// Times the threads stop together for the node count check.
const CHECKPOINTS: usize = 8;
const TTL: Duration = Duration::from_millis(50);
const TTI: Duration = Duration::from_millis(20);
const SHORT_TTL: Duration = Duration::from_millis(5);

type Cache = SplitCache<u64, Tracked, TestHasher>;

fn ops_per_thread() -> usize {
    std::env::var("SPLITMAP_CACHE_STRESS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| scaled(20_000))
}

std::thread_local! {
    /// This thread's number (`THREADS` for the main thread).
    static ME: Cell<u8> = const { Cell::new(THREADS as u8) };
    /// Set while this thread runs an insert (the only operations of this
    /// test that run an eviction step).
    static INSERTING: Cell<bool> = const { Cell::new(false) };
}

fn me() -> u8 {
    ME.with(Cell::get)
}

/// Runs `f` (an insert) with `INSERTING` set.
fn inserting<R>(f: impl FnOnce() -> R) -> R {
    INSERTING.with(|i| i.set(true));
    let r = f();
    INSERTING.with(|i| i.set(false));
    r
}

// What the threads did with a value (bits of `Records::did`).
/// It went into the cache.
const PUBLISHED: u8 = 1;
/// An insert handed it back (it replaced it).
const RETURNED_BY_INSERT: u8 = 2;
/// A remove handed it back.
const RETURNED_BY_REMOVE: u8 = 4;
/// A `retain` rejected it.
const REJECTED_BY_RETAIN: u8 = 8;

/// Per value id: what the threads recorded and what the listener heard.
struct Records {
    key: Vec<AtomicU64>,
    /// Clock reading (ns) taken before the value's insert.
    born: Vec<AtomicU64>,
    /// The shortest life it was given (its TTL or the TTI), in ns.
    min_life: Vec<AtomicU64>,
    did: Vec<AtomicU8>,
    /// Listener: reports, the cause (`cause_code`), the reporting thread,
    /// whether it came during the final clear.
    reports: Vec<AtomicU8>,
    cause: Vec<AtomicU8>,
    reporter: Vec<AtomicU8>,
    in_clear: Vec<AtomicBool>,
    /// Removed by `retain` calls, as their return values say.
    retained_away: AtomicUsize,
    clearing: AtomicBool,
}

fn cause_code(c: RemovalCause) -> u8 {
    match c {
        RemovalCause::Expired => 1,
        RemovalCause::Size => 2,
        RemovalCause::Removed => 3,
        RemovalCause::Replaced => 4,
    }
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos() as u64
}

fn atomics<T>(n: usize, f: impl Fn() -> T) -> Vec<T> {
    (0..n).map(|_| f()).collect()
}

impl Records {
    fn new(n: usize) -> Self {
        Records {
            key: atomics(n, || AtomicU64::new(u64::MAX)),
            born: atomics(n, || AtomicU64::new(0)),
            min_life: atomics(n, || AtomicU64::new(0)),
            did: atomics(n, || AtomicU8::new(0)),
            reports: atomics(n, || AtomicU8::new(0)),
            cause: atomics(n, || AtomicU8::new(0)),
            reporter: atomics(n, || AtomicU8::new(0)),
            in_clear: atomics(n, || AtomicBool::new(false)),
            retained_away: AtomicUsize::new(0),
            clearing: AtomicBool::new(false),
        }
    }

    /// A value id about to be written for `k` at `now` with `ttl`.
    fn make(&self, v: u64, k: u64, now: u64, ttl: Duration) {
        let v = v as usize;
        self.key[v].store(k, Ordering::Relaxed);
        self.born[v].store(now, Ordering::Relaxed);
        self.min_life[v].store(nanos(ttl.min(TTI)), Ordering::Relaxed);
    }

    fn set(&self, v: u64, bit: u8) {
        self.did[v as usize].fetch_or(bit, Ordering::Relaxed);
    }

    /// A value read for key `k` must be one made for `k`.
    fn check_key(&self, v: u64, k: u64, what: &str) {
        assert_eq!(
            self.key[v as usize].load(Ordering::Relaxed),
            k,
            "{what} of key {k} returned value {v}, made for another key"
        );
    }

    /// An insert or remove on this thread handed back `v`: it was reported,
    /// once, on this thread, before the call returned.
    fn check_reported_here(&self, v: u64, what: &str) {
        let v = v as usize;
        assert_eq!(
            self.reports[v].load(Ordering::Relaxed),
            1,
            "value {v} handed back by {what} but not reported before it returned"
        );
        assert_eq!(
            self.reporter[v].load(Ordering::Relaxed),
            me(),
            "value {v} handed back by {what} on thread {} but reported on another",
            me()
        );
    }
}

/// A reusable meeting point of all threads that gives up when one of them
/// has panicked (a `Barrier` would hang the test instead of failing it).
#[derive(Default)]
struct Rendezvous {
    arrived: AtomicUsize,
    failed: AtomicBool,
}

impl Rendezvous {
    /// Waits for every thread's `n`-th arrival (from 1); true for the last
    /// to arrive.
    fn wait(&self, n: usize) -> bool {
        let me = self.arrived.fetch_add(1, Ordering::SeqCst) + 1;
        while self.arrived.load(Ordering::SeqCst) < n * THREADS {
            assert!(!self.failed.load(Ordering::SeqCst), "another thread failed");
            std::thread::yield_now();
        }
        me == n * THREADS
    }
}

/// Tells the other threads that this one panicked.
struct FailOnPanic<'a>(&'a AtomicBool);

impl Drop for FailOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}

fn build(config: &Config, clock: &MockClock, rec: &Arc<Records>) -> Arc<Cache> {
    Arc::new_cyclic(|weak: &Weak<Cache>| {
        let (weak, rec, clock2) = (weak.clone(), Arc::clone(rec), clock.clone());
        SplitCache::builder()
            .layout(config.min_log2, config.load_factor)
            .clock(clock.clone())
            .time_to_live(TTL)
            .time_to_idle(TTI)
            .max_capacity(CAP)
            .eviction_listener(move |k, v: &Tracked, cause| {
                listener(&rec, &weak, &clock2, *k, v.value, cause)
            })
            .build_with_hasher(TestHasher(config.mode))
    })
}

/// Records the report; for some values the cache chose to drop, re-enters
/// the cache: a read of the key (which must not return this value) and a
/// remove of the key's current value (a write from inside a walk).
fn listener(
    rec: &Records,
    cache: &Weak<Cache>,
    clock: &MockClock,
    k: u64,
    v: u64,
    c: RemovalCause,
) {
    let i = v as usize;
    let n = rec.reports[i].fetch_add(1, Ordering::Relaxed);
    assert_eq!(n, 0, "value {v} reported twice ({c:?})");
    rec.cause[i].store(cause_code(c), Ordering::Relaxed);
    rec.reporter[i].store(me(), Ordering::Relaxed);
    rec.in_clear[i].store(rec.clearing.load(Ordering::Relaxed), Ordering::Relaxed);
    if c == RemovalCause::Size {
        assert!(
            INSERTING.with(Cell::get),
            "value {v} evicted for size outside an insert"
        );
    }
    if c == RemovalCause::Expired {
        let now = nanos(clock.now());
        let due = rec.born[i].load(Ordering::Relaxed) + rec.min_life[i].load(Ordering::Relaxed);
        assert!(
            now >= due,
            "value {v} reported expired at {now}, before {due}"
        );
    }
    if c.was_evicted() && v % 8 == 0 {
        let Some(cache) = cache.upgrade() else { return };
        let got = cache.with_value(&k, |x| x.value);
        assert_ne!(
            got,
            Some(v),
            "a read inside the listener returned the departing value"
        );
        if let Some(o) = got {
            rec.check_key(o, k, "a re-entrant get");
        }
        if let Some(o) = cache.remove(&k).map(|o| o.value) {
            rec.check_key(o, k, "a re-entrant remove");
            rec.set(o, RETURNED_BY_REMOVE);
            rec.check_reported_here(o, "a re-entrant remove");
        }
    }
}

fn run(config: &Config, seed: u64) {
    let ops = ops_per_thread();
    let max_values = THREADS * ops + 1;
    let rec = Arc::new(Records::new(max_values));
    let ledger = Ledger::new();
    let clock = MockClock::new();
    let cache = build(config, &clock, &rec);
    let next_value = AtomicU64::new(0);
    let max_len = AtomicUsize::new(0);
    let meet = Rendezvous::default();
    let every = (ops / CHECKPOINTS).max(1);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (cache, rec, ledger, clock) = (&*cache, &*rec, &ledger, &clock);
            let (next_value, max_len, meet) = (&next_value, &max_len, &meet);
            s.spawn(move || {
                let _fail = FailOnPanic(&meet.failed);
                ME.with(|m| m.set(t as u8));
                let mut met = 0;
                let mut rng = StdRng::seed_from_u64(seed * 100 + t as u64);
                for op in 0..ops {
                    if op % every == every - 1 {
                        // All threads stop: no insert is in progress.
                        met += 2;
                        if meet.wait(met - 1) {
                            check_nodes(cache);
                        }
                        meet.wait(met);
                    }
                    let k = rng.random_range(0..KEYS);
                    let now = nanos(clock.now());
                    match rng.random_range(0..100) {
                        0..=44 => {
                            if let Some(v) = cache.with_value(&k, |v| v.value) {
                                rec.check_key(v, k, "get");
                            }
                        }
                        45..=74 => {
                            let v = next_value.fetch_add(1, Ordering::Relaxed);
                            let short = rng.random_bool(0.1);
                            rec.make(v, k, now, if short { SHORT_TTL } else { TTL });
                            rec.set(v, PUBLISHED);
                            let value = Tracked::new(v, ledger);
                            let old = inserting(|| {
                                if short {
                                    cache.insert_with_ttl(k, value, SHORT_TTL)
                                } else {
                                    cache.insert(k, value)
                                }
                            });
                            if let Some(o) = old.map(|o| o.value) {
                                rec.check_key(o, k, "insert");
                                rec.set(o, RETURNED_BY_INSERT);
                                rec.check_reported_here(o, "insert");
                            }
                            let len = cache.len();
                            max_len.fetch_max(len, Ordering::Relaxed);
                            assert!(len <= CAP + THREADS, "len {len} over {CAP} + {THREADS}");
                        }
                        75..=84 => {
                            if let Some(o) = cache.remove(&k).map(|o| o.value) {
                                rec.check_key(o, k, "remove");
                                rec.set(o, RETURNED_BY_REMOVE);
                                rec.check_reported_here(o, "remove");
                            }
                        }
                        85..=89 => {
                            let v = next_value.fetch_add(1, Ordering::Relaxed);
                            rec.make(v, k, now, TTL);
                            let mut made = false;
                            let got = inserting(|| {
                                cache
                                    .get_or_insert_with(k, || {
                                        made = true;
                                        Tracked::new(v, ledger)
                                    })
                                    .value
                            });
                            rec.check_key(got, k, "get_or_insert_with");
                            if made && got == v {
                                rec.set(v, PUBLISHED);
                            }
                            // Else the id went unused, or the value was made
                            // and lost the key to a concurrent insert: never
                            // in the cache.
                        }
                        90 => {
                            let n = cache.retain(|k, v| {
                                let keep = k % 7 != 0;
                                if !keep {
                                    rec.set(v.value, REJECTED_BY_RETAIN);
                                }
                                keep
                            });
                            rec.retained_away.fetch_add(n, Ordering::Relaxed);
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
    check_nodes(&cache);
    // Past every short TTL and some idle times: the final clear both
    // removes (live entries) and purges (expired ones).
    clock.advance(Duration::from_millis(15));
    rec.clearing.store(true, Ordering::Relaxed);
    let cleared = cache.retain(|_, _| false);
    cache.purge_expired();
    assert_eq!(cache.len(), 0);
    let created = next_value.load(Ordering::Relaxed) as usize;
    check_records(&rec, &cache, created, cleared);
    let st = cache.stats();
    eprintln!(
        "{}: {created} value ids; expired {}, size {}, removed {}, replaced {}; max len {}",
        config.name,
        st.expired,
        st.evicted_size,
        st.removed,
        st.replaced,
        max_len.load(Ordering::Relaxed),
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

/// With no operation in progress (`T = 0`): the entries the list holds, by
/// the raw map's own count, are within the bound and agree with `len()`.
fn check_nodes(cache: &Cache) {
    let s = cache.stats();
    assert!(
        s.map.len <= CAP,
        "{} entries in the list, bound {CAP} (len() says {})",
        s.map.len,
        cache.len()
    );
    assert_eq!(s.map.len, cache.len(), "the list's count and len() differ");
}

fn check_records(rec: &Records, cache: &Cache, created: usize, cleared: usize) {
    // Per cause: what the listener heard against what the threads saw.
    let mut heard = [0u64; 5];
    let (mut returned_by_insert, mut returned_by_remove) = (0u64, 0u64);
    for v in 0..created {
        heard[rec.cause[v].load(Ordering::Relaxed) as usize] +=
            u64::from(rec.reports[v].load(Ordering::Relaxed));
        let did = rec.did[v].load(Ordering::Relaxed);
        returned_by_insert += u64::from(did & RETURNED_BY_INSERT != 0);
        returned_by_remove += u64::from(did & RETURNED_BY_REMOVE != 0);
    }
    let [_, expired, size, removed, replaced] = heard;
    let retained = rec.retained_away.load(Ordering::Relaxed) as u64;
    assert_eq!(
        replaced, returned_by_insert,
        "Replaced reports against values inserts handed back"
    );
    assert_eq!(
        removed,
        returned_by_remove + retained + cleared as u64,
        "Removed reports against values removes handed back, plus retain's counts"
    );
    let s = cache.stats();
    assert_eq!(
        (s.expired, s.evicted_size, s.removed, s.replaced),
        (expired, size, removed, replaced),
        "stats against the listener"
    );
    assert_eq!(s.departures(), s.insertions + s.replaced);
    assert!(
        expired > 0 && size > 0 && removed > 0 && replaced > 0,
        "every cause exercised: {heard:?}"
    );

    // Per value: reported once if it entered the cache, else never, and
    // with a cause that fits what the threads did.
    let mut clear_causes = [0usize; 5];
    for v in 0..created {
        let did = rec.did[v].load(Ordering::Relaxed);
        let reports = rec.reports[v].load(Ordering::Relaxed);
        let want = u8::from(did & PUBLISHED != 0);
        assert_eq!(
            reports, want,
            "value {v} (did {did:#b}) reported {reports} times"
        );
        if reports == 0 {
            continue;
        }
        let cause = rec.cause[v].load(Ordering::Relaxed);
        let in_clear = rec.in_clear[v].load(Ordering::Relaxed);
        let what = format!("value {v} (did {did:#b}, cause code {cause}, in clear {in_clear})");
        assert_eq!(
            cause == cause_code(RemovalCause::Replaced),
            did & RETURNED_BY_INSERT != 0,
            "{what}: Replaced exactly when an insert handed it back"
        );
        if did & RETURNED_BY_REMOVE != 0 {
            assert_eq!(
                cause,
                cause_code(RemovalCause::Removed),
                "{what}: a remove got it"
            );
        }
        if cause == cause_code(RemovalCause::Removed) {
            assert!(
                did & (RETURNED_BY_REMOVE | REJECTED_BY_RETAIN) != 0 || in_clear,
                "{what}: Removed, yet no remove got it, no retain rejected it, no clear"
            );
        }
        if did & (RETURNED_BY_INSERT | RETURNED_BY_REMOVE | REJECTED_BY_RETAIN) == 0 && !in_clear {
            assert!(
                cause == cause_code(RemovalCause::Expired)
                    || cause == cause_code(RemovalCause::Size),
                "{what}: no thread removed it, so it expired or was evicted"
            );
        }
        if in_clear {
            clear_causes[cause as usize] += 1;
            assert!(
                cause == cause_code(RemovalCause::Removed)
                    || cause == cause_code(RemovalCause::Expired),
                "{what}: the final clear removes or purges"
            );
        }
    }
    assert!(
        clear_causes[cause_code(RemovalCause::Expired) as usize] > 0
            && clear_causes[cause_code(RemovalCause::Removed) as usize] > 0,
        "the final clear both purged and removed: {clear_causes:?}"
    );
}

#[test]
fn four_threads_every_value_reported_once_with_its_cause() {
    with_each_config(|config| run(config, 1));
}

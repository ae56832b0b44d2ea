//! Model 10: the expiring cache (`SplitCache`), where the clock and the
//! size bound race the writes.
//!
//! - An entry expiring while it is replaced: thread 1 moves the (mock)
//!   clock past the entry's deadline and purges; thread 2 writes the key
//!   again. The old value is reported exactly once, either `Replaced` (the
//!   write found it live and returned it) or `Expired` (the write found it
//!   dead, purged it on the way, and inserted afresh).
//! - An eviction racing a remove of the same key: the cache holds one entry
//!   (bound 1); thread 1 inserts a second key, whose eviction step's sweep
//!   meets the first entry first; thread 2 removes the first key. One
//!   notification, one cause: `Size` (and the remove finds nothing) or
//!   `Removed` (and the step takes another victim or none).
//! - Admission refusing a new entry while its key is removed: the cache
//!   holds one entry asked for twice (bound 1); thread 1 inserts a key
//!   asked for once, which admission refuses (before publishing it, or, if
//!   the count dropped meanwhile, by removing exactly that entry again);
//!   thread 2 removes the same key. The new value is
//!   reported exactly once: `Size` (refused; the remove finds nothing) or
//!   `Removed` (the remove returned it). The resident stays, unless the
//!   step ran while the remove had marked the new entry but not yet taken
//!   it off the count: the step then sees the cache over its bound and
//!   takes any live entry (the slack the cache docs state: a step may dip
//!   below the bound); then it is reported once, as `Size`.
//!
//! The listener's log is the checker's bookkeeping (a std `Mutex`, not
//! modeled); the cache's own atomics, the clock's and the epoch's are.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::cache::{MockClock, RemovalCause};
use splitmap::SplitCache;
use splitmap_loom_tests::{spawn, IdHash};
use std::sync::{Arc as StdArc, Mutex};
use std::time::Duration;

type Cache = SplitCache<u64, u64, IdHash>;
type Log = StdArc<Mutex<Vec<(u64, RemovalCause)>>>;

fn cache(
    clock: &MockClock,
    log: &Log,
    setup: impl FnOnce(
        splitmap::cache::CacheBuilder<u64, u64>,
    ) -> splitmap::cache::CacheBuilder<u64, u64>,
) -> Arc<Cache> {
    let log = StdArc::clone(log);
    let builder = SplitCache::builder()
        .layout(0, 4)
        .clock(clock.clone())
        .eviction_listener(move |_k, v, cause| log.lock().unwrap().push((*v, cause)));
    Arc::new(setup(builder).build_with_hasher(IdHash::default()))
}

/// How often, and why, value `v` was reported.
fn reports(log: &Log, v: u64) -> Vec<RemovalCause> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|e| e.0 == v)
        .map(|e| e.1)
        .collect()
}

const K: u64 = 2;

#[test]
fn expiry_races_replace() {
    loom::model(|| {
        let clock = MockClock::new();
        let log: Log = StdArc::default();
        let c = cache(&clock, &log, |b| b.time_to_live(Duration::from_nanos(10)));
        assert!(c.insert(K, 0).is_none());
        let (c1, clock1) = (c.clone(), clock.clone());
        let t1 = spawn(move || {
            clock1.advance(Duration::from_nanos(10));
            c1.purge_expired();
        });
        let c2 = c.clone();
        let t2 = spawn(move || c2.insert(K, 1).map(|old| *old));
        t1.join().unwrap();
        let old = t2.join().unwrap();
        match (old, reports(&log, 0).as_slice()) {
            (Some(0), [RemovalCause::Replaced]) => {}
            (None, [RemovalCause::Expired]) => {}
            other => panic!(
                "value 0: insert returned {:?}, reports {:?}",
                other.0, other.1
            ),
        }
        // Value 1 may have been written before the clock moved (then it
        // expired too, and was purged or will be now) or after.
        clock.advance(Duration::from_nanos(100));
        c.purge_expired();
        assert_eq!(reports(&log, 1), [RemovalCause::Expired]);
        assert_eq!(reports(&log, 0).len(), 1, "value 0 reported again");
        assert_eq!(c.len(), 0);
        let s = c.stats();
        assert_eq!(s.departures(), 2);
    });
}

#[test]
fn eviction_races_remove() {
    loom::model(|| {
        let clock = MockClock::new();
        let log: Log = StdArc::default();
        let c = cache(&clock, &log, |b| b.max_capacity(1));
        // Key 0 sorts first in the only bucket: the sweep meets it first.
        const A: u64 = 0;
        const B: u64 = 1;
        assert!(c.insert(A, 0).is_none());
        let c1 = c.clone();
        let t1 = spawn(move || assert!(c1.insert(B, 1).is_none()));
        let c2 = c.clone();
        let t2 = spawn(move || c2.remove(&A).map(|v| *v));
        t1.join().unwrap();
        let removed = t2.join().unwrap();
        match (removed, reports(&log, 0).as_slice()) {
            (Some(0), [RemovalCause::Removed]) => {}
            (None, [RemovalCause::Size]) => {}
            other => panic!(
                "value 0: remove returned {:?}, reports {:?}",
                other.0, other.1
            ),
        }
        assert!(c.len() <= 1, "bound not restored: len {}", c.len());
        assert!(
            reports(&log, 1).iter().all(|&r| r == RemovalCause::Size),
            "value 1: {:?}",
            reports(&log, 1)
        );
        c.clear();
        assert_eq!(reports(&log, 0).len(), 1);
        assert_eq!(reports(&log, 1).len(), 1);
        assert_eq!(c.stats().departures(), 2);
    });
}

#[test]
fn refusal_races_remove() {
    loom::model(|| {
        let clock = MockClock::new();
        let log: Log = StdArc::default();
        let c = cache(&clock, &log, |b| b.max_capacity(1));
        const A: u64 = 0;
        const B: u64 = 1;
        assert!(c.insert(A, 0).is_none());
        assert_eq!(c.get(&A), Some(0)); // A asked for twice, B once
        let c1 = c.clone();
        let t1 = spawn(move || assert!(c1.insert(B, 1).is_none()));
        let c2 = c.clone();
        let t2 = spawn(move || c2.remove(&B).map(|v| *v));
        t1.join().unwrap();
        let removed = t2.join().unwrap();
        match (removed, reports(&log, 1).as_slice()) {
            (Some(1), [RemovalCause::Removed]) => {}
            (None, [RemovalCause::Size]) => {}
            other => panic!(
                "value 1: remove returned {:?}, reports {:?}",
                other.0, other.1
            ),
        }
        match reports(&log, 0).as_slice() {
            [] => assert_eq!(c.get(&A), Some(0)),
            [RemovalCause::Size] => assert_eq!(c.len(), 0),
            other => panic!("value 0: reports {other:?}"),
        }
        assert_eq!(c.stats().departures() as usize, 2 - c.len());
    });
}

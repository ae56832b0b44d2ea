//! Model 11: the cache's de-duplicated loading (`get_with`), where the
//! loader's placeholder races other callers of its key, a remove and an
//! expiry.
//!
//! - Two loads of one key: thread 1 and thread 2 both call `get_with`. The
//!   loader runs once; both get its value; no placeholder is left. (The
//!   second caller may wait on the first's slot, which is modeled: the
//!   slot's `Mutex` and `Condvar` are loom's under `cfg(loom)`; or it may
//!   come after the load ended and read the value; or claim between the
//!   value's store and the placeholder's removal and find the value on its
//!   re-read.) Planted bug (the owner's re-read before loading taken out):
//!   loom found "the loader ran twice" (the second caller's read missed
//!   before the value was stored, its claim came after the placeholder was
//!   gone). Runs in ~10 s; the expiry model in ~2 min.
//! - A load racing a remove: thread 1 loads key K, thread 2 removes K. The
//!   remove finds the loaded value (reported `Removed`) or nothing (then
//!   the value stays); the load returns its value either way; no
//!   placeholder is left.
//! - A load racing an expiry: the loaded value has a 10 ns TTL; thread 2
//!   moves the clock past it and purges. The load returns its value; the
//!   value is reported `Expired` exactly once (now or at the final purge);
//!   no placeholder is left.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::cache::{MockClock, RemovalCause};
use splitmap::SplitCache;
use splitmap_loom_tests::{spawn, IdHash};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc as StdArc, Mutex};
use std::time::Duration;

type Cache = SplitCache<u64, u64, IdHash>;
type Log = StdArc<Mutex<Vec<(u64, RemovalCause)>>>;

fn cache(clock: &MockClock, log: &Log, ttl: Option<Duration>) -> Arc<Cache> {
    let log = StdArc::clone(log);
    let mut builder = SplitCache::builder()
        .layout(0, 4)
        .clock(clock.clone())
        .eviction_listener(move |_k, v, cause| log.lock().unwrap().push((*v, cause)));
    if let Some(ttl) = ttl {
        builder = builder.time_to_live(ttl);
    }
    Arc::new(builder.build_with_hasher(IdHash::default()))
}

const K: u64 = 2;

#[test]
fn two_loads_of_one_key_run_one_loader() {
    loom::model(|| {
        let clock = MockClock::new();
        let log: Log = StdArc::default();
        let c = cache(&clock, &log, None);
        // The checker's count (std atomic: bookkeeping, not modeled).
        let runs = StdArc::new(AtomicUsize::new(0));
        let load = |c: Arc<Cache>, runs: StdArc<AtomicUsize>| {
            move || {
                c.get_with(K, || {
                    runs.fetch_add(1, Ordering::SeqCst);
                    7
                })
            }
        };
        let t1 = spawn(load(c.clone(), runs.clone()));
        let t2 = spawn(load(c.clone(), runs.clone()));
        assert_eq!(t1.join().unwrap(), 7);
        assert_eq!(t2.join().unwrap(), 7);
        assert_eq!(runs.load(Ordering::SeqCst), 1, "the loader ran twice");
        let s = c.stats();
        assert_eq!((s.loads_in_progress, s.load_waiters), (0, 0));
        assert_eq!(s.insertions, 1);
    });
}

#[test]
fn a_load_races_a_remove() {
    loom::model(|| {
        let clock = MockClock::new();
        let log: Log = StdArc::default();
        let c = cache(&clock, &log, None);
        let c1 = c.clone();
        let t1 = spawn(move || c1.get_with(K, || 5));
        let c2 = c.clone();
        let t2 = spawn(move || c2.remove(&K).map(|v| *v));
        assert_eq!(t1.join().unwrap(), 5);
        let removed = t2.join().unwrap();
        let reported: Vec<_> = log.lock().unwrap().clone();
        match removed {
            Some(5) => {
                assert_eq!(reported, [(5, RemovalCause::Removed)]);
                assert_eq!(c.get(&K), None);
            }
            None => {
                assert!(reported.is_empty(), "{reported:?}");
                assert_eq!(c.get(&K), Some(5));
            }
            other => panic!("remove returned {other:?}"),
        }
        assert_eq!(c.stats().loads_in_progress, 0);
    });
}

#[test]
fn a_load_races_an_expiry() {
    loom::model(|| {
        let clock = MockClock::new();
        let log: Log = StdArc::default();
        let c = cache(&clock, &log, Some(Duration::from_nanos(10)));
        let c1 = c.clone();
        let t1 = spawn(move || c1.get_with(K, || 5));
        let (c2, clock2) = (c.clone(), clock.clone());
        let t2 = spawn(move || {
            clock2.advance(Duration::from_nanos(10));
            c2.purge_expired();
        });
        assert_eq!(t1.join().unwrap(), 5);
        t2.join().unwrap();
        clock.advance(Duration::from_nanos(100));
        c.purge_expired();
        let reported: Vec<_> = log.lock().unwrap().clone();
        assert_eq!(reported, [(5, RemovalCause::Expired)]);
        assert_eq!(c.stats().loads_in_progress, 0);
        assert!(c.is_empty());
    });
}

//! `SplitCache` races between a thread that removes and one that reads.
//!
//! - Clock readings that differ: a reader whose reading is older than the
//!   purging thread's touches an entry that the purging thread has just
//!   found expired. The entry must still be reported `Expired` (the
//!   decision that made it dead), never `Size` (a cache with no bound has
//!   no size evictions). The clock is per thread (`ThreadClock`): each
//!   thread sets its own reading, which never decreases on that thread.
//!   That is what any clock looks like to a thread preempted between its
//!   reading and its touch.
//! - A reader on another thread while the listener runs: it must not find
//!   the departing entry, whatever the cause, and the listener runs on the
//!   thread whose operation removed the entry.

use splitmap::cache::{Clock, RemovalCause};
use splitmap::SplitCache;
use std::cell::Cell;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

std::thread_local! {
    static NOW: Cell<u64> = const { Cell::new(0) };
}

/// A clock whose reading is the calling thread's own [`set_now`].
struct ThreadClock;

impl Clock for ThreadClock {
    fn now_nanos(&self) -> u64 {
        NOW.with(Cell::get)
    }
}

fn set_now(t: u64) {
    NOW.with(|n| n.set(t));
}

type Cache = SplitCache<u64, u64>;

const KEYS: u64 = 512;
const TTI: u64 = 10;
const ROUNDS: u64 = 2_000;

/// How the purging thread finds the expired entries.
#[derive(Clone, Copy, Debug)]
enum Purge {
    /// `purge_expired`: the sweep's `is_dead`.
    Sweep,
    /// `get` of each key: the read misses, and its purge's probe answers
    /// `Dead`.
    Probe,
}

/// Each round: the owner inserts `KEYS` entries at `base` (time to idle
/// 10 ns, no bound); then, at once, a reader at `base + 5` reads every key
/// (refreshing it to expire at `base + 15`) while the owner at `base + 12`
/// purges. Each entry is reported at most once, and only as `Expired`.
fn expired_entries_are_reported_expired(purge: Purge) {
    let heard: Arc<Mutex<Vec<(u64, RemovalCause)>>> = Arc::default();
    // The round both threads are in; spun on, not slept on, so the
    // reader's pass and the purge overlap.
    let start = Arc::new(AtomicU64::new(u64::MAX));
    let done = Arc::new(Barrier::new(2));
    // This round's cache, handed to the reader.
    let slot: Arc<Mutex<Option<Arc<Cache>>>> = Arc::default();
    let reader = {
        let (start, done, slot) = (Arc::clone(&start), Arc::clone(&done), Arc::clone(&slot));
        std::thread::spawn(move || {
            for round in 0..ROUNDS {
                while start.load(Ordering::Acquire) != round {
                    std::hint::spin_loop();
                }
                let cache = slot.lock().unwrap().clone().expect("a cache this round");
                set_now(round * 100 + 5);
                for k in 0..KEYS {
                    let _ = cache.get(&k);
                }
                drop(cache);
                done.wait();
            }
        })
    };
    for round in 0..ROUNDS {
        let base = round * 100;
        set_now(base);
        let h = Arc::clone(&heard);
        let cache: Arc<SplitCache<u64, u64>> = Arc::new(
            SplitCache::builder()
                .time_to_idle(Duration::from_nanos(TTI))
                .clock(ThreadClock)
                .eviction_listener(move |k, _v, cause| h.lock().unwrap().push((*k, cause)))
                .build(),
        );
        for k in 0..KEYS {
            cache.insert(k, k);
        }
        *slot.lock().unwrap() = Some(Arc::clone(&cache));
        start.store(round, Ordering::Release);
        set_now(base + 12);
        match purge {
            Purge::Sweep => {
                cache.purge_expired();
            }
            Purge::Probe => {
                for k in 0..KEYS {
                    let _ = cache.get(&k);
                }
            }
        }
        done.wait();
        *slot.lock().unwrap() = None;
        let heard = std::mem::take(&mut *heard.lock().unwrap());
        let s = cache.stats();
        let mut keys: Vec<u64> = heard.iter().map(|h| h.0).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(
            keys.len(),
            heard.len(),
            "round {round}: a key reported twice"
        );
        let wrong: Vec<_> = heard
            .iter()
            .filter(|h| h.1 != RemovalCause::Expired)
            .collect();
        assert!(
            wrong.is_empty(),
            "round {round} ({purge:?}): an expiry reported as {wrong:?} in a cache with no bound"
        );
        assert_eq!(
            s.evicted_size, 0,
            "round {round}: stats count a size eviction"
        );
        assert_eq!(s.expired as usize, heard.len());
    }
    reader.join().unwrap();
}

#[test]
fn an_expiry_found_by_a_sweep_is_never_reported_as_size() {
    expired_entries_are_reported_expired(Purge::Sweep);
}

#[test]
fn an_expiry_found_by_a_probe_is_never_reported_as_size() {
    expired_entries_are_reported_expired(Purge::Probe);
}

/// What one report saw: (key, value, cause, reporting thread is the one
/// that ran the operation, the listener's own read of the key, another
/// thread's read of the key made while the listener waited).
type Seen = (u64, u64, RemovalCause, bool, Option<u64>, Option<u64>);

/// The listener runs on the thread whose operation removed the entry, and
/// when it runs no read can return the entry: neither a read from the
/// listener itself nor one from another thread, which it asks for and
/// waits on, for every cause.
#[test]
fn the_listener_runs_when_no_read_can_return_the_entry() {
    use splitmap::cache::MockClock;
    use std::sync::mpsc;

    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let clock = MockClock::new();
    let (ask, asked) = mpsc::channel::<u64>();
    let (tell, told) = mpsc::channel::<Option<u64>>();
    let (ask, told) = (Mutex::new(ask), Mutex::new(told));
    let owner = std::thread::current().id();
    let cache: Arc<SplitCache<u64, u64>> =
        Arc::new_cyclic(|weak: &std::sync::Weak<SplitCache<u64, u64>>| {
            let (weak, seen) = (std::sync::Weak::clone(weak), Arc::clone(&seen));
            SplitCache::builder()
                .clock(clock.clone())
                .time_to_live(Duration::from_secs(10))
                .max_capacity(16)
                .eviction_listener(move |&k, &v, cause| {
                    let here = std::thread::current().id() == owner;
                    let Some(cache) = weak.upgrade() else { return };
                    let own = cache.get(&k);
                    // Another thread's read, made while this listener runs.
                    let other = if here {
                        ask.lock().unwrap().send(k).unwrap();
                        told.lock().unwrap().recv().unwrap()
                    } else {
                        None
                    };
                    seen.lock().unwrap().push((k, v, cause, here, own, other));
                })
                .build()
        });
    let reader = {
        // Weak: the reader stops when the cache (which holds the asking
        // end of the channel) is dropped.
        let cache = Arc::downgrade(&cache);
        std::thread::spawn(move || {
            for k in asked {
                let cache = cache.upgrade().expect("asked from inside the cache");
                tell.send(cache.get(&k)).unwrap();
            }
        })
    };
    let mut v = 0u64;
    let mut put = |k: u64| {
        v += 1;
        cache.insert(k, v);
    };
    for k in 0..16 {
        put(k);
    }
    put(0); // Replaced
    cache.remove(&1); // Removed
    cache.retain(|k, _| *k != 2); // Removed
    for k in 100..110 {
        put(k); // Size
    }
    clock.advance(Duration::from_secs(10));
    for k in 200..205 {
        put(k);
    }
    let _ = cache.get(&3); // Expired (a read's purge)
    cache.purge_expired(); // Expired (a sweep)
    cache.clear(); // Removed
    drop(cache);
    reader.join().unwrap();
    let seen = seen.lock().unwrap();
    let mut causes = HashSet::new();
    for &(k, v, cause, here, own, other) in seen.iter() {
        causes.insert(cause);
        assert!(here, "({k}, {v}) {cause:?} reported on another thread");
        assert_ne!(
            own,
            Some(v),
            "the listener read its departing ({k}, {v}) {cause:?}"
        );
        assert_ne!(
            other,
            Some(v),
            "another thread read the departing ({k}, {v}) {cause:?}"
        );
    }
    assert_eq!(causes.len(), 4, "every cause: {causes:?}");
    assert_eq!(seen.len() as u64, v, "every value reported");
}

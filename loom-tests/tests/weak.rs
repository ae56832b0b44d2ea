//! Model 8: a weak key whose last `Arc` drops during a lookup, and during
//! an insert of an equal key (`WeakKeyMap`, equality semantics).
//!
//! Keys are `std::sync::Arc<u64>` (the map's API takes std's `Arc`), so
//! loom does not see the key's reference counts: dropping the last `Arc`
//! is not a branch point of its own. The thread that drops it does little
//! else (in `key_dies_during_get` it raises a flag before and after the
//! drop), so loom still runs that drop at every point between two atomic
//! accesses of the other thread that the preemption bound allows: before
//! the lookup, between its load of the entry's node and the `upgrade()`
//! that follows it, between the `upgrade()` and the CAS that acts on its
//! result, and after. The map's own atomics (list, counters, epoch) are
//! modeled as usual.
#![cfg(loom)]

use loom::sync::atomic::AtomicBool;
use loom::sync::Arc;
use splitmap::WeakKeyMap;
use splitmap_loom_tests::{check_weak_drops, spawn, DropLog, IdHash, Tracked};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::Arc as KeyArc;

type Map = WeakKeyMap<u64, Tracked, IdHash>;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

const K: u64 = 7;

/// Key 7 (its only `Arc` returned) with value 0.
fn prefilled(log: &std::sync::Arc<DropLog>) -> (Arc<Map>, KeyArc<u64>) {
    let map = Arc::new(WeakKeyMap::with_layout(0, 4, IdHash::default()));
    let key = KeyArc::new(K);
    assert!(map
        .pin()
        .insert(KeyArc::clone(&key), log.value(0))
        .is_none());
    (map, key)
}

/// Executions in which the get found the value, and missed it.
static FOUND: AtomicUsize = AtomicUsize::new(0);
static MISSED: AtomicUsize = AtomicUsize::new(0);

/// The get races the drop of the key's last `Arc`. What it may answer
/// depends on the interleaving, and the model checks exactly that: the
/// dropping thread raises `dropping` before the drop and `dropped` after
/// it; a get that began after `dropped` was raised must miss, and a get
/// that ended before `dropping` was raised must find value 0. Over all
/// executions both answers must occur (else the drop never raced the get).
/// The dead entry stays until purged, then is retired once.
///
/// (Loom frees nothing inside a model: retired nodes are freed when the
/// execution ends, so "never reads a freed value" is ASan's to check, in
/// `.ci/asan.sh`, not this model's.)
#[test]
fn key_dies_during_get() {
    loom::model(|| {
        let log = DropLog::new(1);
        let (map, key) = prefilled(&log);
        let dropping = Arc::new(AtomicBool::new(false));
        let dropped = Arc::new(AtomicBool::new(false));
        let (d1, d2) = (dropping.clone(), dropped.clone());
        let t1 = spawn(move || {
            d1.store(true, SeqCst);
            drop(key);
            d2.store(true, SeqCst);
        });
        let (m2, d1, d2) = (map.clone(), dropping.clone(), dropped.clone());
        let t2 = spawn(move || {
            // Read-modify-writes, not loads: they read the latest value
            // (loom may hand a plain load an older one, even under SeqCst).
            let dead_before = d2.fetch_or(false, SeqCst);
            let got = m2.pin().get(&K).map(Tracked::id);
            let drop_began = d1.fetch_or(false, SeqCst);
            (dead_before, got, drop_began)
        });
        t1.join().unwrap();
        let (dead_before, got, drop_began) = t2.join().unwrap();
        if dead_before {
            assert_eq!(got, None, "the key was dead before the get began");
        }
        if !drop_began {
            assert_eq!(got, Some(0), "the get ended before the key's drop began");
        }
        assert!(got.is_none() || got == Some(0), "get: {got:?}");
        if got.is_some() {
            FOUND.fetch_add(1, Relaxed);
        } else {
            MISSED.fetch_add(1, Relaxed);
        }
        assert!(map.pin().get(&K).is_none(), "dead key still matches");
        let w = map.weak_stats();
        assert_eq!((w.live, w.dead), (0, 1), "a get never purges");
        assert_eq!(map.purge_dead(), 1);
        assert_eq!(map.len(), 0);
        check_weak_drops(unwrap(map), &log, &[]);
    });
    let (found, missed) = (FOUND.load(Relaxed), MISSED.load(Relaxed));
    eprintln!("get found the value in {found} executions, missed it in {missed}");
    assert!(
        found > 0 && missed > 0,
        "found in {found} executions, missed in {missed}: the drop never raced the get"
    );
}

/// Thread 2 inserts an equal key (a new `Arc`) while thread 1 drops the old
/// one's last `Arc`. Either the insert upgraded the old key first and
/// replaced the entry's value and key (returns value 0), or it found the
/// entry dead: then it must not revive it (returns nothing), purges it on
/// the way and links a fresh entry. Either way exactly one entry, holding
/// the new key and value 1, is left, and value 0 is retired exactly once.
#[test]
fn key_dies_during_equal_insert() {
    loom::model(|| {
        let log = DropLog::new(2);
        let (map, key) = prefilled(&log);
        let t1 = spawn(move || drop(key));
        let (m2, v1) = (map.clone(), log.value(1));
        let t2 = spawn(move || {
            let new_key = KeyArc::new(K);
            let m = m2.pin();
            let old = m.insert(KeyArc::clone(&new_key), v1).map(Tracked::id);
            let now = m.get(&K).map(Tracked::id);
            drop(m);
            (old, now, new_key)
        });
        t1.join().unwrap();
        let (old, now, new_key) = t2.join().unwrap();
        assert_eq!(now, Some(1), "the insert's own value not visible");
        let s = map.stats();
        match old {
            // Replaced while the old key was alive.
            Some(0) => assert_eq!((s.replaces, s.purged, s.inserts), (1, 0, 1)),
            // Found dead: purged, never revived; a fresh entry.
            None => assert_eq!((s.replaces, s.purged, s.inserts), (0, 1, 2)),
            other => panic!("insert returned {other:?}"),
        }
        assert_eq!(map.pin().get(&K).map(Tracked::id), Some(1));
        let w = map.weak_stats();
        assert_eq!((w.live, w.dead), (1, 0), "one live entry, no dead one");
        assert_eq!(map.len(), 1);
        check_weak_drops(unwrap(map), &log, &[1]);
        drop(new_key);
    });
}

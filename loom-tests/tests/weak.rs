//! Model 8: a weak key whose last `Arc` drops during a lookup, and during
//! an insert of an equal key (`WeakKeyMap`, equality semantics).
//!
//! Keys are `std::sync::Arc<u64>` (the map's API takes std's `Arc`), so
//! loom does not see the key's reference counts: dropping the last `Arc`
//! is not a branch point of its own. The thread that drops it does nothing
//! else, so loom still runs that drop at every point between two atomic
//! accesses of the other thread that the preemption bound allows: before
//! the lookup, between its load of the entry's node and the `upgrade()`
//! that follows it, between the `upgrade()` and the CAS that acts on its
//! result, and after. The map's own atomics (list, counters, epoch) are
//! modeled as usual.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::WeakKeyMap;
use splitmap_loom_tests::{check_weak_drops, spawn, DropLog, IdHash, Tracked};
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

/// The get sees the value (it ran, or upgraded the key, before the key
/// died) or nothing; it never reads a freed value (`Tracked::id` checks),
/// and the dead entry stays until purged, then is retired once.
#[test]
fn key_dies_during_get() {
    loom::model(|| {
        let log = DropLog::new(1);
        let (map, key) = prefilled(&log);
        let t1 = spawn(move || drop(key));
        let m2 = map.clone();
        let t2 = spawn(move || m2.pin().get(&K).map(Tracked::id));
        t1.join().unwrap();
        let got = t2.join().unwrap();
        assert!(matches!(got, Some(0) | None), "get: {got:?}");
        assert!(map.pin().get(&K).is_none(), "dead key still matches");
        let w = map.weak_stats();
        assert_eq!((w.live, w.dead), (0, 1), "a get never purges");
        assert_eq!(map.purge_dead(), 1);
        assert_eq!(map.len(), 0);
        check_weak_drops(unwrap(map), &log, &[]);
    });
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

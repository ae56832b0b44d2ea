//! Model 4: replace racing remove on one key (immutable nodes: a replace
//! is one CAS marking the old node and linking the new one after it).
//!
//! - `update` vs `remove`: either the update wins (the remove returns the
//!   updated value: no lost update) or the remove wins (the update sees the
//!   key absent). Never both values, and the key never comes back.
//! - `insert` over an existing key vs `remove`.
//! - `update` vs `update`: both increments survive (each update sees the
//!   other's value or the first; the key ends at 2).
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

const K: u64 = 2;

fn prefilled(log: &std::sync::Arc<DropLog>) -> Arc<Map> {
    let map = Arc::new(SplitMap::with_layout(0, 4, IdHash::default()));
    assert!(map.pin().insert(K, log.value(0)).is_none());
    map
}

#[test]
fn update_vs_remove() {
    loom::model(|| {
        let log = DropLog::new(2);
        let map = prefilled(&log);
        let (m1, l1) = (map.clone(), log.clone());
        let t1 = spawn(move || m1.pin().update(&K, |_| l1.value(1)).map(Tracked::id));
        let m2 = map.clone();
        let t2 = spawn(move || m2.pin().remove(&K).map(Tracked::id));
        let updated = t1.join().unwrap();
        let removed = t2.join().unwrap();
        match (updated, removed) {
            (Some(1), Some(1)) => {} // update, then remove took it
            (None, Some(0)) => {}    // remove first; update missed
            other => panic!("lost update or resurrection: {other:?}"),
        }
        assert!(map.pin().get(&K).is_none(), "removed key came back");
        assert_eq!(map.len(), 0);
        // The update closure may run more than once but builds value 1 only
        // when it runs; a value it built and never published is dropped.
        let live: [usize; 0] = [];
        if updated.is_none() {
            // value 1 may never have been created: count it as dropped.
            if log.drops(1) == 0 {
                drop(log.value(1));
            }
        }
        check_drops(unwrap(map), &log, &live);
    });
}

#[test]
fn insert_existing_vs_remove() {
    loom::model(|| {
        let log = DropLog::new(2);
        let map = prefilled(&log);
        let (m1, v1) = (map.clone(), log.value(1));
        let t1 = spawn(move || m1.pin().insert(K, v1).map(Tracked::id));
        let m2 = map.clone();
        let t2 = spawn(move || m2.pin().remove(&K).map(Tracked::id));
        let inserted = t1.join().unwrap();
        let removed = t2.join().unwrap();
        let last = map.pin().get(&K).map(Tracked::id);
        match (inserted, removed, last) {
            (Some(0), Some(1), None) => {} // replace, then remove
            (None, Some(0), Some(1)) => {} // remove, then insert
            other => panic!("not linearizable: {other:?}"),
        }
        let live: Vec<usize> = last.into_iter().collect();
        check_drops(unwrap(map), &log, &live);
    });
}

/// Two increments race: the one whose replace CAS wins first stores 1, the
/// other (its CAS failed on the marked node, so it re-reads) stores 2. A
/// lost update would leave 1, or have both return 1.
#[test]
fn update_vs_update() {
    loom::model(|| {
        // Id 0: the initial value (counter 0). Ids 1..=4: what the update
        // closures build; each of them runs at most twice (once more after
        // losing its CAS to the other update).
        let log = DropLog::new(5);
        let map = Arc::new(SplitMap::with_layout(0, 4, IdHash::default()));
        assert!(map.pin().insert(K, log.value_with(0, 0)).is_none());
        let increment = |map: Arc<Map>, log: std::sync::Arc<DropLog>| {
            spawn(move || {
                map.pin()
                    .update(&K, |v| log.fresh(v.payload() + 1))
                    .map(Tracked::payload)
            })
        };
        let t1 = increment(map.clone(), log.clone());
        let t2 = increment(map.clone(), log.clone());
        let mut results = [t1.join().unwrap(), t2.join().unwrap()];
        results.sort_unstable();
        assert_eq!(results, [Some(1), Some(2)], "lost update");
        let m = map.pin();
        let last = m.get(&K).expect("the key stays");
        assert_eq!(last.payload(), 2, "an increment was lost");
        let live = [last.id()];
        drop(m);
        log.settle_unused_fresh(1);
        check_drops(unwrap(map), &log, &live);
    });
}

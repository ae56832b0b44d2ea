//! Model 1: two operations on the same key, all in one bucket.
//!
//! - insert / insert: exactly one sees the key absent, the other replaces
//!   that value; the map ends with the second writer's value.
//! - insert / remove on an absent key: either the remove misses and the
//!   insert stays, or the remove takes the inserted value.
//! - remove / remove on a present key: exactly one wins.
//!
//! Every value is accounted for exactly once (`check_drops`).
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

/// One bucket, no growth in these models.
fn tiny_map() -> Arc<Map> {
    Arc::new(SplitMap::with_layout(0, 4, IdHash::default()))
}

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

const K: u64 = 2;

#[test]
fn insert_insert_same_key() {
    loom::model(|| {
        let log = DropLog::new(2);
        let map = tiny_map();
        let (m1, v1) = (map.clone(), log.value(0));
        let t1 = spawn(move || m1.pin().insert(K, v1).map(Tracked::id));
        let (m2, v2) = (map.clone(), log.value(1));
        let t2 = spawn(move || m2.pin().insert(K, v2).map(Tracked::id));
        let r1 = t1.join().unwrap();
        let r2 = t2.join().unwrap();
        let last = map.pin().get(&K).map(Tracked::id);
        match (r1, r2) {
            // t1 first, t2 replaced it.
            (None, Some(0)) => assert_eq!(last, Some(1)),
            // t2 first, t1 replaced it.
            (Some(1), None) => assert_eq!(last, Some(0)),
            other => panic!("not linearizable: insert results {other:?}"),
        }
        assert_eq!(map.len(), 1);
        check_drops(unwrap(map), &log, &[last.unwrap()]);
    });
}

#[test]
fn insert_remove_absent_key() {
    loom::model(|| {
        let log = DropLog::new(1);
        let map = tiny_map();
        let (m1, v0) = (map.clone(), log.value(0));
        let t1 = spawn(move || m1.pin().insert(K, v0).map(Tracked::id));
        let m2 = map.clone();
        let t2 = spawn(move || m2.pin().remove(&K).map(Tracked::id));
        let inserted = t1.join().unwrap();
        let removed = t2.join().unwrap();
        assert_eq!(inserted, None, "the key was absent");
        let last = map.pin().get(&K).map(Tracked::id);
        match removed {
            None => assert_eq!(last, Some(0)), // remove ran first
            Some(0) => assert_eq!(last, None), // remove took the insert
            other => panic!("remove returned {other:?}"),
        }
        assert_eq!(map.len(), usize::from(last.is_some()));
        let live: Vec<usize> = last.into_iter().collect();
        check_drops(unwrap(map), &log, &live);
    });
}

#[test]
fn remove_remove_same_key() {
    loom::model(|| {
        let log = DropLog::new(1);
        let map = tiny_map();
        assert!(map.pin().insert(K, log.value(0)).is_none());
        let m1 = map.clone();
        let t1 = spawn(move || m1.pin().remove(&K).map(Tracked::id));
        let m2 = map.clone();
        let t2 = spawn(move || m2.pin().remove(&K).map(Tracked::id));
        let r1 = t1.join().unwrap();
        let r2 = t2.join().unwrap();
        assert!(
            matches!((r1, r2), (Some(0), None) | (None, Some(0))),
            "exactly one remove must win: {r1:?} {r2:?}"
        );
        assert!(map.pin().get(&K).is_none());
        assert_eq!(map.len(), 0);
        check_drops(unwrap(map), &log, &[]);
    });
}

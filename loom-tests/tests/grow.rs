//! Model 3: an insert racing another insert that triggers growth.
//!
//! One bucket, load factor 1: with key 0 present, the second entry pushes
//! the count past the threshold and its insert doubles the directory, so
//! the other insert (key 1, bucket 1 after growth) may run against either
//! bucket count and may initialize bucket 1. Both inserts must land, the
//! stable key stays readable, and a walk yields each key once.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

#[test]
fn insert_racing_growth() {
    loom::model(|| {
        let log = DropLog::new(3);
        let map = Arc::new(SplitMap::with_layout(0, 1, IdHash::default()));
        assert!(map.pin().insert(0, log.value(0)).is_none());
        let (m1, v1) = (map.clone(), log.value(1));
        let t1 = spawn(move || m1.pin().insert(2, v1).map(Tracked::id));
        let (m2, v2) = (map.clone(), log.value(2));
        let t2 = spawn(move || {
            let m = m2.pin();
            let r = m.insert(1, v2).map(Tracked::id);
            (r, m.get(&0).map(Tracked::id))
        });
        assert_eq!(t1.join().unwrap(), None);
        assert_eq!(t2.join().unwrap(), (None, Some(0)));
        assert!(map.capacity() >= 2, "the directory never grew");
        let m = map.pin();
        for (k, id) in [(0, 0), (2, 1), (1, 2)] {
            assert_eq!(m.get(&k).map(Tracked::id), Some(id), "key {k}");
        }
        let mut keys: Vec<u64> = m.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        assert_eq!(keys, [0, 1, 2]);
        drop(m);
        assert_eq!(map.len(), 3);
        check_drops(unwrap(map), &log, &[0, 1, 2]);
    });
}

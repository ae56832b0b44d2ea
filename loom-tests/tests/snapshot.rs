//! Model 9: snapshot iteration racing remove and insert.
//!
//! Keys 0 and 2 are stable (2 is replaced by an `insert` during the walk:
//! its new node follows the old one, and the walk must not yield it twice);
//! key 4 is removed and key 6 inserted during the walk. The walk yields no
//! key twice and every stable key once.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

#[test]
fn snapshot_vs_remove_and_replace() {
    loom::model(|| {
        let log = DropLog::new(4);
        let map = Arc::new(SplitMap::with_layout(0, 4, IdHash::default()));
        for (k, id) in [(0, 0), (4, 1), (2, 2)] {
            assert!(map.pin().insert(k, log.value(id)).is_none());
        }
        let m1 = map.clone();
        let walker = spawn(move || m1.snapshot().iter().map(|(k, _)| *k).collect::<Vec<u64>>());
        let (m2, v3) = (map.clone(), log.value(3));
        let writer = spawn(move || {
            let m = m2.pin();
            assert_eq!(m.remove(&4).map(Tracked::id), Some(1));
            assert_eq!(m.insert(2, v3).map(Tracked::id), Some(2));
        });
        writer.join().unwrap();
        let mut seen = walker.join().unwrap();
        seen.sort_unstable();
        let before = seen.len();
        seen.dedup();
        assert_eq!(seen.len(), before, "a key was yielded twice");
        assert!(
            seen.contains(&0) && seen.contains(&2),
            "stable key missing: {seen:?}"
        );
        assert!(
            seen.iter().all(|k| [0, 2, 4].contains(k)),
            "unknown key: {seen:?}"
        );
        check_drops(unwrap(map), &log, &[0, 3]);
    });
}

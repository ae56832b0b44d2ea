//! Model 7: the compaction walk racing remove and insert.
//!
//! One bucket (load factor 4, so no growth and no shrink: the bucket count
//! is at its floor) holding keys 4 and 2 (split order: 4, then 2; key 6
//! sorts after 2). `compact()` walks the whole list from the head and
//! unlinks every marked node it meets, while the other thread marks nodes
//! (remove, replace) and links new ones next to them. Exactly one thread
//! may unlink and retire each marked node (a double retire or a leak
//! breaks `check_drops`), the walk must not lose a node linked behind it,
//! and the single-key operations keep their sequential results.
#![cfg(loom)]

use loom::sync::Arc;
use splitmap::SplitMap;
use splitmap_loom_tests::{check_drops, spawn, DropLog, IdHash, Tracked};

type Map = SplitMap<u64, Tracked, IdHash>;

fn unwrap(map: Arc<Map>) -> Map {
    Arc::try_unwrap(map).unwrap_or_else(|_| panic!("model threads joined"))
}

/// Keys 4 (value 0) and 2 (value 1) in one bucket.
fn prefilled(log: &std::sync::Arc<DropLog>) -> Arc<Map> {
    let map = Arc::new(SplitMap::with_layout(0, 4, IdHash::default()));
    assert!(map.pin().insert(4, log.value(0)).is_none());
    assert!(map.pin().insert(2, log.value(1)).is_none());
    map
}

fn keys(map: &Map) -> Vec<u64> {
    let mut keys: Vec<u64> = map.pin().iter().map(|(k, _)| *k).collect();
    keys.sort_unstable();
    keys
}

/// Thread 1 compacts, then reads key 2; thread 2 removes key 2 (mark, then
/// unlink: the walk may unlink it first) and inserts key 6 right after it.
/// The read sees key 2 (before the remove) or nothing (after).
#[test]
fn compact_vs_remove_and_insert() {
    loom::model(|| {
        let log = DropLog::new(3);
        let map = prefilled(&log);
        let m1 = map.clone();
        let t1 = spawn(move || {
            m1.compact();
            m1.pin().get(&2).map(Tracked::id)
        });
        let (m2, v2) = (map.clone(), log.value(2));
        let t2 = spawn(move || {
            let m = m2.pin();
            let removed = m.remove(&2).map(Tracked::id);
            (removed, m.insert(6, v2).map(Tracked::id))
        });
        let read = t1.join().unwrap();
        assert_eq!(t2.join().unwrap(), (Some(1), None));
        assert!(matches!(read, Some(1) | None), "read of key 2: {read:?}");
        let s = map.stats();
        assert_eq!((s.compactions, s.len, s.shrinks), (1, 2, 0));
        assert_eq!(keys(&map), [4, 6]);
        assert_eq!(map.pin().get(&6).map(Tracked::id), Some(2));
        check_drops(unwrap(map), &log, &[0, 2]);
    });
}

/// Thread 1 compacts; thread 2 replaces key 2's value (one CAS marks the
/// old node and links the new one after it; the walk may unlink the old
/// node before thread 2 does) and removes key 4, the old node's
/// predecessor. The replacement must survive the walk; a read after the
/// walk sees key 2's old or new value, or key 4 still present or gone, in
/// an order consistent with thread 2's program order.
#[test]
fn compact_vs_replace_and_remove() {
    loom::model(|| {
        let log = DropLog::new(3);
        let map = prefilled(&log);
        let m1 = map.clone();
        let t1 = spawn(move || {
            m1.compact();
            let m = m1.pin();
            (m.get(&4).map(Tracked::id), m.get(&2).map(Tracked::id))
        });
        let (m2, v2) = (map.clone(), log.value(2));
        let t2 = spawn(move || {
            let m = m2.pin();
            let old = m.insert(2, v2).map(Tracked::id);
            (old, m.remove(&4).map(Tracked::id))
        });
        let read = t1.join().unwrap();
        assert_eq!(t2.join().unwrap(), (Some(1), Some(0)));
        // Reads of key 4 then key 2. Key 2's replace comes before key 4's
        // remove, so having seen key 4 gone, the read of 2 must see the
        // new value.
        assert!(
            matches!(
                read,
                (Some(0), Some(1)) | (Some(0), Some(2)) | (None, Some(2))
            ),
            "reads (key 4, key 2): {read:?}"
        );
        let s = map.stats();
        assert_eq!((s.compactions, s.len, s.replaces), (1, 1, 1));
        assert_eq!(keys(&map), [2]);
        assert_eq!(map.pin().get(&2).map(Tracked::id), Some(2));
        check_drops(unwrap(map), &log, &[2]);
    });
}
